"""Skips that cross the process boundary: upstream's TEST_SKIPS exit codes and the decorators using them.

A rank that must skip calls ``sys.exit(code)``; the code maps back to a message through
``TEST_SKIPS``. Messages and codes are upstream's verbatim, as the installed torch's harness has
them (versions.TABLE): up to 2.14 the device-count skips are ``multi-gpu-N`` "Need at least N CUDA
devices" on every device, from 2.15 ``multi-device-N`` "Need at least N accelerator devices".
"""

from __future__ import annotations

import functools
import sys
import unittest
from collections.abc import Callable
from typing import NamedTuple, Optional

from testing._core import devices as _devices
from testing._core import versions as _versions
from testing._core.config import get_config


class TestSkip(NamedTuple):
    exit_code: int
    message: str


# the device-count skips: key prefix and wording follow the installed torch's harness
_DEVICE_KEY: str = _versions.current("skip_device_key")  # "multi-gpu" (<= 2.14) or "multi-device"
_DEVICE_WORD: str = _versions.current("skip_device_word")  # "CUDA" (<= 2.14) or "accelerator"
_DEVICE_CODES = {1: 75, 2: 77, 3: 80, 4: 81, 5: 82, 6: 83, 7: 84, 8: 85}  # the same in every release


def multi_device_key(n: int) -> str:
    """The TEST_SKIPS key of "needs ``n`` devices": ``multi-gpu-N`` up to torch 2.14, ``multi-device-N`` from 2.15."""
    return f"{_DEVICE_KEY}-{n}"


TEST_SKIPS: dict[str, TestSkip] = {
    "backend_unavailable": TestSkip(72, "Skipped because distributed backend is not available."),
    "small_worldsize": TestSkip(73, "Skipped due to small world size."),
    "odd_worldsize": TestSkip(87, "Skipped due to odd world size."),
    "no_cuda": TestSkip(74, "CUDA is not available."),
    **{multi_device_key(n): TestSkip(code, f"Need at least {n} {_DEVICE_WORD} device{'s' if n > 1 else ''}")
       for n, code in _DEVICE_CODES.items()},
    "nccl": TestSkip(76, "c10d not compiled with NCCL support"),
    "skipIfRocm": TestSkip(78, "Test skipped for ROCm"),
    "no_peer_access": TestSkip(79, "Test skipped because no GPU peer access"),
    "generic": TestSkip(86, "Test skipped at subprocess level, look at subprocess log for skip reason"),
    "importerror": TestSkip(88, "Test skipped due to missing import"),
    "no_accelerator": TestSkip(89, "accelerator is not available."),
}

SKIP_BY_EXIT_CODE: dict[int, TestSkip] = {skip.exit_code: skip for skip in TEST_SKIPS.values()}

# Skips caused by missing hardware, reported apart from other skips by the runner.
DEVICE_SKIP_CODES = frozenset(
    list(_DEVICE_CODES.values())
    + [TEST_SKIPS[k].exit_code for k in ("no_cuda", "no_accelerator", "nccl", "no_peer_access")]
)


def multi_device_skip(n: int) -> TestSkip:
    """The skip of a rank that needs ``n`` devices (``TEST_SKIPS[multi_device_key(n)]``)."""
    return TEST_SKIPS[multi_device_key(n)]


def is_device_skip(reason: str) -> bool:
    return any(SKIP_BY_EXIT_CODE[code].message == reason for code in DEVICE_SKIP_CODES)


def skip_for_exit(code: object) -> Optional[TestSkip]:
    return SKIP_BY_EXIT_CODE.get(code) if isinstance(code, int) else None


def _accelerator_count() -> int:
    """Devices a multi-device test may use, as upstream counts them (cuda, hpu, xpu)."""
    return _devices.max_accelerator_count()


def device_count_for(test_self: object) -> Optional[int]:
    """How many devices skip_if_lt_x_gpu sees for this test, under the current device selection.

    ``--device cpu`` counts the test's rank processes (with ``--map-cuda``, at least the mapped
    device count); ``--device NAME`` counts NAME's devices;
    without a selection it is upstream's count (None meaning "no accelerator at all").
    """
    config = get_config()
    if config.emulating:
        ranks = int(getattr(test_self, "world_size", None) or config.world_size or 0)
        # --map-cuda: as many devices as torch.cuda.device_count() says (a 2-rank test may need 4)
        return max(ranks, config.rank_count) if config.map_cuda else ranks
    if config.device is not None:
        return _devices.lookup(config.device).count()
    count = _accelerator_count()
    return count if count > 0 else None


def _exit_with(skip: TestSkip, args: tuple) -> None:
    if args and hasattr(args[0], "_handle_test_skip"):
        args[0]._handle_test_skip(skip.message)
        return
    sys.exit(skip.exit_code)


def skip_if_lt_x_gpu(x: int, *, allow_cpu: bool = False) -> Callable:
    """Skip (from inside the running rank) unless at least ``x`` devices are usable."""

    def decorator(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            count = device_count_for(args[0] if args else None)
            if (count is not None and count >= x) or (count is None and allow_cpu):
                return func(*args, **kwargs)
            _exit_with(multi_device_skip(x), args)

        if _versions.current("min_gpus_required_attr"):
            wrapper._min_gpus_required = x
        return wrapper

    return decorator


def skip_if_no_gpu(func: Callable) -> Callable:
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        count = device_count_for(args[0] if args else None)
        if not count:
            _exit_with(TEST_SKIPS[_versions.current("skip_if_no_gpu_key")], args)
        return func(*args, **kwargs)

    return wrapper


def requires_world_size(n: int) -> Callable:
    """Parent-side skip unless ``n`` devices are usable (ranks, under ``--device cpu``)."""

    def decorator(func: Callable) -> Callable:
        func._required_world_size = n
        config = get_config()
        # emulating, ranks are the devices: a test gets the ranks it needs unless --world-size says less
        count = (config.world_size or n) if config.emulating else (device_count_for(None) or 0)
        return unittest.skipUnless(count >= n, f"requires {n} {_versions.current('requires_world_size_noun')}, found {count}")(func)

    return decorator


# -- build-capability skips: decided once, when the test is defined ----------------------------------

IS_SANDCASTLE = False  # Meta's CI, where upstream turns skips into passes; never this harness


def skip_but_pass_in_sandcastle_if(condition: bool, reason: str) -> Callable:
    """unittest.skipIf that also works on classes, with upstream's name."""

    def decorator(obj: Callable) -> Callable:
        if condition:
            obj.__unittest_skip__ = True
            obj.__unittest_skip_why__ = reason
        return obj

    return decorator


def skip_but_pass_in_sandcastle(reason: str) -> Callable:
    return skip_but_pass_in_sandcastle_if(True, reason)


def _backend_available(name: str) -> bool:
    return _devices.backend_available(name)


def _requires_backend(name: str, label: str) -> Callable:
    return skip_but_pass_in_sandcastle_if(not _backend_available(name), f"c10d was not compiled with the {label} backend")


def requires_nccl() -> Callable:
    return _requires_backend("nccl", "NCCL")


def requires_gloo() -> Callable:
    return _requires_backend("gloo", "Gloo")


def requires_ucc() -> Callable:
    return _requires_backend("ucc", "UCC")


def requires_mpi() -> Callable:
    return _requires_backend("mpi", "MPI")


def requires_xccl() -> Callable:
    """torch 2.14+ (served by the facade from that release on, versions.TABLE)."""
    return _requires_backend("xccl", "XCCL")


def requires_accelerator_dist_backend(backends: Optional[list[str]] = None) -> Callable:
    """Skip unless one of the accelerator collective backends (nccl, xccl, hccl) is usable."""
    backends = list(backends) if backends is not None else [d.backend for d in _devices.accelerators()]
    available = any(_devices.backend_available(name) for name in backends)
    return skip_but_pass_in_sandcastle_if(not available, f"No accelerator communication backend available among {backends}")
