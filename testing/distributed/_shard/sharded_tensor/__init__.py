"""Upstream path: distributed/_shard/sharded_tensor of torch's private testing package."""

from testing._ranks.sharded_tensor import TEST_GPU_NUM, ShardedTensorTestBase, with_comms

__all__ = ["TEST_GPU_NUM", "ShardedTensorTestBase", "with_comms"]
