"""Upstream's ``common_cuda`` flags, answered from the device table and torch.

Which devices exist comes from the table (``TEST_CUDA``, ``TEST_MULTIGPU``: the cuda row's count);
what a present CUDA device can do (capability, cuDNN, ROCm arch) is asked of torch, lazily, as
upstream does, so importing this module never initialises an accelerator runtime. On a machine
without CUDA every CUDA capability flag is False, as upstream's are. Flags that upstream makes true
for other devices (XPU for flash/mem-efficient attention and bf16, CPU for FP8) keep that meaning.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import torch

from testing._core.config import env_value
from testing._core import devices as _devices
from testing._upstream_api.flags import CUDA_PRESENT, IS_WINDOWS, TEST_CUDA, TEST_MULTIGPU, TEST_WITH_ROCM, TEST_XPU
from testing._core.lazyval import LazyVal

__all__ = [
    "TEST_CUDA", "TEST_MULTIGPU", "TEST_CUDNN", "TEST_CUDNN_VERSION", "CUDA_DEVICE", "ROCM_VERSION",
    "CUDA_ALREADY_INITIALIZED_ON_IMPORT", "SM53OrLater", "SM60OrLater", "SM70OrLater", "SM75OrLater",
    "SM80OrLater", "SM89OrLater", "SM90OrLater", "SM100OrLater", "SM120OrLater", "IS_SM89", "IS_SM90",
    "IS_SM100", "IS_JETSON", "PLATFORM_SUPPORTS_FLASH_ATTENTION", "PLATFORM_SUPPORTS_MEM_EFF_ATTENTION",
    "PLATFORM_SUPPORTS_CUDNN_ATTENTION", "PLATFORM_SUPPORTS_FUSED_ATTENTION", "PLATFORM_SUPPORTS_FUSED_SDPA",
    "PLATFORM_SUPPORTS_BF16", "PLATFORM_SUPPORTS_FP8", "PLATFORM_SUPPORTS_MX_GEMM", "TEST_NUMBA_CUDA",
    "initialize_cuda_context_rng", "tf32_off", "tf32_on", "with_tf32_off", "_get_torch_cuda_version",
    "_get_torch_rocm_version", "_get_magma_version", "CDNA2OrLater", "CDNA3OrLater", "xfailIfSM89", "xfailIfSM90",
]

_CUDA = _devices.lookup("cuda")

CUDA_ALREADY_INITIALIZED_ON_IMPORT = bool(_CUDA and _CUDA.runtime_initialized())
CUDA_DEVICE = torch.device("cuda:0") if TEST_CUDA else None


def _capability() -> tuple[int, int]:
    """The current CUDA device's compute capability; (0, 0) when the table has no CUDA device."""
    if not (_CUDA and _CUDA.present()):
        return (0, 0)
    return tuple(torch.cuda.get_device_capability())


def _at_least(major: int, minor: int) -> LazyVal:
    return LazyVal(lambda: TEST_CUDA and _capability() >= (major, minor))


def _exactly(major: int, minor: int) -> LazyVal:
    return LazyVal(lambda: TEST_CUDA and _capability() == (major, minor))


def _cudnn_usable() -> bool:
    if not TEST_CUDA:
        return False
    if TEST_WITH_ROCM:
        return True
    return bool(torch.backends.cudnn.is_acceptable(torch.tensor(1.0, device=CUDA_DEVICE)))


TEST_CUDNN = LazyVal(_cudnn_usable)
TEST_CUDNN_VERSION = LazyVal(lambda: torch.backends.cudnn.version() if TEST_CUDNN else 0)
ROCM_VERSION = LazyVal(lambda: tuple(int(v) for v in torch.version.hip.split(".")[:2]) if torch.version.hip else (0, 0))

SM53OrLater = _at_least(5, 3)
SM60OrLater = _at_least(6, 0)
SM70OrLater = _at_least(7, 0)
SM75OrLater = _at_least(7, 5)
SM80OrLater = _at_least(8, 0)
SM89OrLater = _at_least(8, 9)
SM90OrLater = _at_least(9, 0)
SM100OrLater = _at_least(10, 0)
SM120OrLater = _at_least(12, 0)
IS_SM89 = _exactly(8, 9)
IS_SM90 = _exactly(9, 0)
IS_SM100 = _exactly(10, 0)
IS_JETSON = LazyVal(lambda: TEST_CUDA and _capability() in [(7, 2), (8, 7)])


def _gfx_arch_within(arch_list: list[str]) -> bool:
    if not TEST_CUDA:
        return False
    name = torch.cuda.get_device_properties("cuda").gcnArchName
    effective = env_value("PYTORCH_DEBUG_FLASH_ATTENTION_GCN_ARCH_OVERRIDE", name)
    return any(arch in effective for arch in arch_list)


def CDNA3OrLater() -> bool:  # noqa: N802  (upstream's name)
    return _gfx_arch_within(["gfx942", "gfx950"])


def CDNA2OrLater() -> bool:  # noqa: N802
    return _gfx_arch_within(["gfx90a", "gfx942", "gfx950"])


_ROCM_ATTENTION_ARCHS = ["gfx90a", "gfx942", "gfx1100", "gfx1201", "gfx950"]


def _rocm_attention_archs() -> list[str]:
    archs = list(_ROCM_ATTENTION_ARCHS)
    if env_value("TORCH_ROCM_AOTRITON_ENABLE_EXPERIMENTAL", "0") != "0":
        archs += ["gfx1101", "gfx1102", "gfx1150", "gfx1151", "gfx1200"]
    return archs


def _flash_attention() -> bool:
    if TEST_WITH_ROCM:
        return _gfx_arch_within(_rocm_attention_archs())
    if TEST_CUDA:
        return not IS_WINDOWS and bool(SM80OrLater)
    return TEST_XPU


def _efficient_attention() -> bool:
    if TEST_WITH_ROCM:
        return _gfx_arch_within(_rocm_attention_archs())
    return TEST_CUDA or TEST_XPU


def _cudnn_attention() -> bool:
    return (not TEST_WITH_ROCM) and bool(SM80OrLater) and TEST_CUDNN_VERSION >= 90000


def _bf16() -> bool:
    if torch.version.cuda:
        return bool(SM80OrLater)
    return bool(torch.version.hip) or TEST_XPU


def _fp8() -> bool:
    if TEST_CUDA:
        if torch.version.hip:
            archs = ["gfx94"] + (["gfx120"] if ROCM_VERSION >= (6, 3) else []) + (["gfx95"] if ROCM_VERSION >= (6, 5) else [])
            return any(arch in torch.cuda.get_device_properties(0).gcnArchName for arch in archs)
        return bool(SM90OrLater) or _capability() == (8, 9)
    return True  # xpu, and the CPU, which supports FP8 and is always there (upstream's reasoning)


def _mx_gemm() -> bool:
    if not TEST_CUDA:
        return False
    if torch.version.hip:
        return ROCM_VERSION >= (7, 0) and "gfx950" in torch.cuda.get_device_properties(0).gcnArchName
    return bool(SM100OrLater)


PLATFORM_SUPPORTS_FLASH_ATTENTION = LazyVal(_flash_attention)
PLATFORM_SUPPORTS_MEM_EFF_ATTENTION = LazyVal(_efficient_attention)
PLATFORM_SUPPORTS_CUDNN_ATTENTION = LazyVal(_cudnn_attention)
PLATFORM_SUPPORTS_FUSED_ATTENTION = LazyVal(
    lambda: bool(PLATFORM_SUPPORTS_FLASH_ATTENTION or PLATFORM_SUPPORTS_CUDNN_ATTENTION or PLATFORM_SUPPORTS_MEM_EFF_ATTENTION))
PLATFORM_SUPPORTS_FUSED_SDPA = CUDA_PRESENT and not TEST_WITH_ROCM
PLATFORM_SUPPORTS_BF16 = LazyVal(_bf16)
PLATFORM_SUPPORTS_FP8 = LazyVal(_fp8)
PLATFORM_SUPPORTS_MX_GEMM = LazyVal(_mx_gemm)
TEST_NUMBA_CUDA = False  # numba's CUDA target is not used by distributed tests; upstream: False without numba


_context_rng_initialized = False


def initialize_cuda_context_rng() -> None:
    """Initialise the CUDA context and RNG on every CUDA device (upstream's precondition for leak checks)."""
    global _context_rng_initialized
    if not TEST_CUDA:
        raise AssertionError("CUDA must be available when calling initialize_cuda_context_rng")
    if not _context_rng_initialized:
        for i in range(torch.cuda.device_count()):
            torch.randn(1, device=f"cuda:{i}")
        _context_rng_initialized = True


@contextlib.contextmanager
def tf32_off() -> Iterator[None]:
    old = torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = False
        with torch.backends.cudnn.flags(enabled=None, benchmark=None, deterministic=None, allow_tf32=False):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old


@contextlib.contextmanager
def tf32_on(self: Any, tf32_precision: float = 1e-5) -> Iterator[None]:
    old, old_precision = torch.backends.cuda.matmul.allow_tf32, self.precision
    try:
        torch.backends.cuda.matmul.allow_tf32 = True
        self.precision = tf32_precision
        with torch.backends.cudnn.flags(enabled=None, benchmark=None, deterministic=None, allow_tf32=True):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old
        self.precision = old_precision


def with_tf32_off(f: Callable) -> Callable:
    import functools

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with tf32_off():
            return f(*args, **kwargs)

    return wrapped


def _get_torch_cuda_version() -> tuple[int, ...]:
    if torch.version.cuda is None:
        return (0, 0)
    return tuple(int(x) for x in str(torch.version.cuda).split("."))


def _get_magma_version() -> tuple[int, ...]:
    """MAGMA's version from torch's build configuration; (0, 0) without MAGMA."""
    config = torch.__config__.show()
    if "Magma" not in config:
        return (0, 0)
    version = config[config.find("Magma ") + len("Magma "):].split("\n")[0]
    return tuple(int(x) for x in version.split("."))


def _get_torch_rocm_version() -> tuple[int, ...]:
    if not TEST_WITH_ROCM or torch.version.hip is None:
        return (0, 0)
    version = str(torch.version.hip).split("-", maxsplit=1)[0]
    return tuple(int(x) for x in version.split("."))


def _xfail_if(condition: LazyVal) -> Callable:
    import unittest

    return lambda func: unittest.expectedFailure(func) if condition else func


def xfailIfSM89(func: Callable) -> Callable:  # noqa: N802
    return _xfail_if(IS_SM89)(func)


def xfailIfSM90(func: Callable) -> Callable:  # noqa: N802
    return _xfail_if(IS_SM90)(func)
