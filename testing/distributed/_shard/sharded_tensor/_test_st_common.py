"""Upstream path: distributed/_shard/sharded_tensor/_test_st_common of torch's private testing package."""

from testing._helpers.sharded_tensor import (
    DEFAULT_GPU_NUM,
    PLACEMENTS,
    MyShardedModel1,
    MyShardedModel2,
    _chunk_sharding_specs_list_for_test,
)

__all__ = ["DEFAULT_GPU_NUM", "PLACEMENTS", "MyShardedModel1", "MyShardedModel2", "_chunk_sharding_specs_list_for_test"]
