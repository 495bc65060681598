"""Upstream path: distributed/checkpoint_utils of torch's private testing package (with_temp_dir)."""

from testing._helpers.tempdir import with_temp_dir

__all__ = ["with_temp_dir"]
