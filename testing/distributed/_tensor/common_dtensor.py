"""Upstream path: distributed/_tensor/common_dtensor of torch's private testing package."""

from testing._ranks.dtensor import (
    DEVICE_TYPE,
    NUM_DEVICES,
    PG_BACKEND,
    DTensorContinuousTestBase,
    DTensorOpTestBase,
    DTensorTestBase,
    DTensorTestMixin,
    MLPModule,
    MLPStacked,
    run_subtests,
    skip_unless_torch_gpu,
    with_comms,
)
from testing._ranks.autocomms import MultiProcContinuousTest, MultiThreadedTestCase
from testing._ranks.localtensor import (
    LocalDTensorContinuousTestBase,
    LocalDTensorOpTestBase,
    LocalDTensorTestBase,
    create_local_tensor_test_class,
    make_wrapped,
    map_local_for_rank,
    map_local_tensor_for_rank,
    reduce_local_int,
)
from testing._helpers.dtensor_converter import DTensorConverter
from testing._helpers.experts import (
    ExpertLayer,
    ExpertParallel,
    ExpertParallelWithTP,
    Experts,
    TensorParallelForExpert,
)
from testing._helpers.models import (
    Attention,
    FeedForward,
    ModelArgs,
    RMSNormPython,
    Transformer,
    TransformerBlock,
)
from testing._ranks.multiprocess import MultiProcessTestCase
from testing._helpers.sharding import (
    generate_shard_orders,
    make_full_tensor,
    op_strategy_context,
    patched_distribute_tensor,
    redistribute,
    shard_order_to_placement,
    validate_sharding_rule_sample,
    validate_sharding_rule_sample_backward,
)
from testing._core.skips import TEST_SKIPS, skip_if_lt_x_gpu

__all__ = [
    "DTensorTestBase", "DTensorConverter", "DTensorTestMixin", "with_comms", "skip_if_lt_x_gpu", "skip_unless_torch_gpu",
    "DEVICE_TYPE", "NUM_DEVICES", "PG_BACKEND", "MLPModule", "MLPStacked", "run_subtests",
    "TEST_SKIPS", "MultiProcessTestCase", "DTensorOpTestBase", "DTensorContinuousTestBase",
    "MultiThreadedTestCase", "MultiProcContinuousTest", "LocalDTensorTestBase", "LocalDTensorOpTestBase", "LocalDTensorContinuousTestBase",
    "create_local_tensor_test_class", "make_wrapped", "map_local_for_rank", "map_local_tensor_for_rank",
    "reduce_local_int", "ModelArgs", "Transformer", "TransformerBlock", "Attention", "FeedForward",
    "RMSNormPython", "Experts", "ExpertLayer", "ExpertParallel", "ExpertParallelWithTP", "TensorParallelForExpert",
    "generate_shard_orders", "make_full_tensor", "op_strategy_context", "patched_distribute_tensor", "redistribute",
    "shard_order_to_placement", "validate_sharding_rule_sample", "validate_sharding_rule_sample_backward",
]
