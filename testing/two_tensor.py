"""Upstream path: two_tensor of torch's private testing package (same public names)."""

from testing._helpers.two_tensor import TwoTensor, TwoTensorMode

__all__ = ["TwoTensor", "TwoTensorMode"]
