"""Upstream path: distributed/_shard/test_common of torch's private testing package."""

from testing._helpers.sharded_tensor import SimpleMegatronLM

__all__ = ["SimpleMegatronLM"]
