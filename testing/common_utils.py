"""Upstream path: common_utils of torch's private testing package (same public names)."""

import sys as _sys

import torch as _torch

from testing._core import devices as _devices
from testing._core.config import get_config as _get_config
from testing._core.case import SEED, TestCase, set_rng_seed
from testing._core.instantiate import instantiate_parametrized_tests
from testing._runner.module_cli import run_tests
from testing._core.naming import compose_parametrize_fns, dtype_name, parametrize, subtest
from testing._core.skips import IS_SANDCASTLE, skip_but_pass_in_sandcastle, skip_but_pass_in_sandcastle_if

IS_LINUX = _sys.platform.startswith("linux")
IS_WINDOWS = _sys.platform == "win32"
IS_MACOS = _sys.platform == "darwin"
IS_FBCODE = False
TEST_WITH_ROCM = False
TEST_WITH_ASAN = "ASAN" in _get_config().sanitizers
TEST_WITH_DEV_DBG_ASAN = "DEV_DBG_ASAN" in _get_config().sanitizers
TEST_WITH_TSAN = "TSAN" in _get_config().sanitizers
TEST_WITH_UBSAN = "UBSAN" in _get_config().sanitizers
TEST_CUDA = _devices.lookup("cuda").present()
TEST_XPU = _devices.lookup("xpu").present()
TEST_HPU = _devices.lookup("hpu").present()
TEST_MPS = _devices.lookup("mps").present()
TEST_MULTIGPU = TEST_CUDA and _torch.cuda.device_count() >= 2
TEST_PRIVATEUSE1_DEVICE_TYPE = _torch._C._get_privateuse1_backend_name()
def skipIfHpu(fn):  # noqa: N802  (upstream's name)
    """Skip on HPU hosts, as upstream (the reason is upstream's)."""
    import unittest

    return unittest.skipIf(TEST_HPU, "test doesn't currently work with HPU")(fn)


NATIVE_DEVICES = ("cpu", "cuda", "xpu", "meta", "mps", "mtia", TEST_PRIVATEUSE1_DEVICE_TYPE)

__all__ = [
    "SEED", "TestCase", "run_tests", "parametrize", "subtest", "instantiate_parametrized_tests",
    "set_rng_seed", "compose_parametrize_fns", "dtype_name", "TEST_CUDA", "TEST_XPU", "TEST_HPU",
    "TEST_MPS", "IS_LINUX", "NATIVE_DEVICES", "skipIfHpu", "TEST_WITH_ASAN", "TEST_WITH_DEV_DBG_ASAN",
    "TEST_WITH_TSAN", "TEST_WITH_UBSAN", "TEST_WITH_ROCM", "IS_SANDCASTLE", "skip_but_pass_in_sandcastle",
    "skip_but_pass_in_sandcastle_if",
]
