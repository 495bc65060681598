"""Upstream path: common_distributed of torch's private testing package (same public names)."""

from testing._core.flags import ACCELERATOR_DIST_BACKENDS, DDP_RANK_DEVICES, HAS_ACCELERATOR, TIMEOUT_DEFAULT
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

__all__ = [
    "MultiProcessTestCase", "TEST_SKIPS", "TestSkip", "skip_if_lt_x_gpu", "skip_if_no_gpu",
    "requires_world_size", "TIMEOUT_DEFAULT", "TIMEOUT_OVERRIDE", "get_timeout", "DEFAULT_WORLD_SIZE",
    "run_subtests", "MultiThreadedTestCase", "MultiProcContinuousTest", "ACCELERATOR_DIST_BACKENDS", "DDP_RANK_DEVICES", "HAS_ACCELERATOR",
    "requires_nccl", "requires_gloo", "requires_ucc", "requires_mpi", "requires_accelerator_dist_backend",
]
