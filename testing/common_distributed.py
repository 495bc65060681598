"""Upstream path: common_distributed of torch's private testing package (same public names)."""

from testing._upstream_api.flags import ACCELERATOR_DIST_BACKENDS, DDP_RANK_DEVICES, HAS_ACCELERATOR, TIMEOUT_DEFAULT
from testing._ranks.autocomms import MultiProcContinuousTest, MultiThreadedTestCase
from testing._ranks.dtensor import run_subtests
from testing._ranks.multiprocess import (
    DEFAULT_WORLD_SIZE,
    TIMEOUT_OVERRIDE,
    MultiProcessTestCase,
    get_timeout,
)
from testing._core.skips import (
    TEST_SKIPS,
    TestSkip,
    requires_accelerator_dist_backend,
    requires_gloo,
    requires_mpi,
    requires_nccl,
    requires_ucc,
    requires_world_size,
    skip_if_lt_x_gpu,
    skip_if_no_gpu,
)
from testing._core.skips import skip_but_pass_in_sandcastle_if
from testing._upstream_api.dist_utils import (
    PLATFORM_SUPPORTS_SYMM_MEM,
    DistTestCases,
    at_least_x_gpu,
    captured_output,
    create_device,
    create_tcp_store,
    get_required_world_size,
    has_efa,
    import_transformers_or_skip,
    init_multigpu_helper,
    logger,
    nccl_skip_if_lt_x_gpu,
    require_n_gpus_for_nccl_backend,
    requires_ddp_rank,
    requires_multicast_support,
    requires_nccl_shrink,
    requires_nccl_version,
    simple_sparse_reduce_tests,
    skip_if_odd_worldsize,
    skip_if_rocm_arch_multiprocess,
    skip_if_rocm_multiprocess,
    skip_if_rocm_ver_lessthan_multiprocess,
    skip_if_small_worldsize,
    skip_if_win32,
    sm_is_or_higher_than,
    tp_transports,
    verify_ddp_error_logged,
    with_dist_debug_levels,
    with_nccl_blocking_wait,
)
from testing._upstream_api.suite_tempdirs import cleanup_temp_dir, initialize_temp_directories
from testing._upstream_api.torchcomms_pg import (
    TORCHCOMM_HAS_GLOO,
    TORCHCOMM_HAS_NCCL,
    TORCHCOMM_HAS_NCCLX,
    TORCHCOMM_HAS_RCCL,
    TORCHCOMM_HAS_RCCLX,
    TORCHCOMM_HAS_XCCL,
    setup_torchcomms_pg,
)
from testing._helpers.composable import SaveForwardInputsModel, SaveForwardInputsModule
from testing._ranks.dist_base import (
    DistributedTestBase,
    DynamoDistributedMultiProcTestCase,
    _dynamo_dist_per_rank_init,
)
from testing._ranks.threaded_world import spawn_threads_and_init_comms

__all__ = [
    "MultiProcessTestCase", "TEST_SKIPS", "TestSkip", "skip_if_lt_x_gpu", "skip_if_no_gpu",
    "requires_world_size", "TIMEOUT_DEFAULT", "TIMEOUT_OVERRIDE", "get_timeout", "DEFAULT_WORLD_SIZE",
    "run_subtests", "MultiThreadedTestCase", "MultiProcContinuousTest", "ACCELERATOR_DIST_BACKENDS", "DDP_RANK_DEVICES", "HAS_ACCELERATOR",
    "requires_nccl", "requires_gloo", "requires_ucc", "requires_mpi", "requires_accelerator_dist_backend",
    "skip_but_pass_in_sandcastle_if", "PLATFORM_SUPPORTS_SYMM_MEM", "DistTestCases", "at_least_x_gpu",
    "captured_output", "create_device", "create_tcp_store", "get_required_world_size", "has_efa",
    "import_transformers_or_skip", "init_multigpu_helper", "logger", "nccl_skip_if_lt_x_gpu",
    "require_n_gpus_for_nccl_backend", "requires_ddp_rank", "requires_multicast_support", "requires_nccl_shrink",
    "requires_nccl_version", "simple_sparse_reduce_tests", "skip_if_odd_worldsize", "skip_if_rocm_arch_multiprocess",
    "skip_if_rocm_multiprocess", "skip_if_rocm_ver_lessthan_multiprocess", "skip_if_small_worldsize", "skip_if_win32",
    "sm_is_or_higher_than", "tp_transports", "verify_ddp_error_logged", "with_dist_debug_levels",
    "with_nccl_blocking_wait", "SaveForwardInputsModel", "SaveForwardInputsModule", "DistributedTestBase",
    "DynamoDistributedMultiProcTestCase", "_dynamo_dist_per_rank_init", "spawn_threads_and_init_comms", "cleanup_temp_dir",
    "initialize_temp_directories", "TORCHCOMM_HAS_GLOO", "TORCHCOMM_HAS_NCCL", "TORCHCOMM_HAS_NCCLX",
    "TORCHCOMM_HAS_RCCL", "TORCHCOMM_HAS_RCCLX", "TORCHCOMM_HAS_XCCL", "setup_torchcomms_pg",
]

# names upstream's common_distributed has only from a torch release on (testing/_core/versions.py): present
# on the releases that have them, AttributeError on the others
from testing._upstream_api.release_names import facade_getattr, facade_names  # noqa: E402

__getattr__ = facade_getattr(__name__)
__all__ += facade_names(__name__)
