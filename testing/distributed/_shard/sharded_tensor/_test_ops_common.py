"""Upstream path: distributed/_shard/sharded_tensor/_test_ops_common of torch's private testing package."""

from testing._helpers.sharded_tensor import (
    clone_module_parameter,
    gen_binary_op_func,
    generate_chunk_sharding_specs_for_test,
    generate_enumerable_sharding_specs_for_test,
    generate_local_weight_sharding_params_for_test,
)

__all__ = [
    "clone_module_parameter", "gen_binary_op_func", "generate_chunk_sharding_specs_for_test",
    "generate_enumerable_sharding_specs_for_test", "generate_local_weight_sharding_params_for_test",
]
