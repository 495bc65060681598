"""Upstream path: common_fsdp of torch's private testing package (the FSDP test bases, models and
helpers, same names)."""

from testing._upstream_api.flags import FSDP_DEVICE_COUNT as DEVICE_COUNT
from testing._upstream_api.flags import FSDP_DEVICE_TYPE as DEVICE_TYPE
from testing._upstream_api.flags import FSDP_DISTRIBUTED_BACKEND as DISTRIBUTED_BACKEND
from testing._helpers.devtype import get_devtype
from testing._helpers.fsdp_models import (
    AlwaysWrapNestedWrappedModule,
    DEVICEInitMode,
    FSDPInitMode,
    FSDPTestModel,
    NestedWrappedModule,
    NonUniformReqGradNWM,
    TransformerWithSharedParams,
)
from testing._helpers.fsdp_modules import (
    MLP,
    DoubleLinear,
    DummyDDP,
    MixtureOfExperts,
    MLPStack,
    ModuleWithDelay,
    NestedLinear,
    NestedWrappedModuleWithDelay,
    SkipModel,
    SkipModule,
)
from testing._helpers.fsdp_patches import (
    check_sharded_parity,
    compiled_fsdp_test,
    patch_all_gather,
    patch_all_reduce,
    patch_foreach_all_gather,
    patch_foreach_reduce,
    patch_post_backward,
    patch_reduce_scatter,
    patch_register_post_backward_hook_backward,
    patch_reshard,
    patch_unshard,
    reduce_scatter_with_assert,
)
from testing._helpers.fsdp_utils import (
    DummyProcessGroup,
    _assert_module_states,
    _broadcast_state_dict,
    _get_state_dict,
    _maybe_wrap_fsdp,
    _move_to_device,
    _zero_model,
    get_full_params,
    subtest_name,
)
from testing._ranks.fsdp import FSDPTest, FSDPTestContinuous, FSDPTestMixin, FSDPTestMultiThread

__all__ = [
    "DEVICE_COUNT", "DEVICE_TYPE", "DISTRIBUTED_BACKEND", "get_devtype",
    "FSDPInitMode", "DEVICEInitMode", "FSDPTestModel",
    "FSDPTest", "FSDPTestMixin", "FSDPTestMultiThread", "FSDPTestContinuous",
    "TransformerWithSharedParams", "NestedWrappedModule", "AlwaysWrapNestedWrappedModule", "NonUniformReqGradNWM",
    "ModuleWithDelay", "NestedWrappedModuleWithDelay", "DummyDDP", "MixtureOfExperts",
    "MLP", "MLPStack", "DoubleLinear", "SkipModule", "NestedLinear", "SkipModel", "DummyProcessGroup",
    "check_sharded_parity", "compiled_fsdp_test", "reduce_scatter_with_assert",
    "patch_all_gather", "patch_all_reduce", "patch_foreach_all_gather", "patch_foreach_reduce",
    "patch_post_backward", "patch_reduce_scatter", "patch_register_post_backward_hook_backward",
    "patch_reshard", "patch_unshard",
    "get_full_params", "subtest_name", "_assert_module_states", "_broadcast_state_dict", "_get_state_dict",
    "_maybe_wrap_fsdp", "_move_to_device", "_zero_model",
]
