"""The long tail of upstream's ``common_utils``: environment flags, skip/xfail decorators, ports.

Each name keeps upstream's meaning and messages. Device questions go to the device table
(``TEST_MULTIACCELERATOR`` counts the table's accelerators, ``get_cycles_per_ms`` sleeps on the named
device's module); ROCm questions go to torch (``torch.version.hip``), which on a build without ROCm
makes every ROCm skip a no-op, as upstream.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import random
import socket
import statistics
import sys
import time
import unittest
import warnings
from collections.abc import Callable
from typing import Any, Optional

import torch

from testing._core.config import env_value
from testing._core import devices as _devices
from testing._upstream_api.flags import CUDA_PRESENT, IS_WINDOWS, TEST_CUDA, TEST_WITH_ROCM, TEST_XPU
from testing._core.case_members import DeterministicGuard  # noqa: F401  (upstream's common_utils name)
from testing._core.lazyval import LazyVal
from testing._core.skips import skip_but_pass_in_sandcastle_if


def _env_flag(name: str) -> bool:
    """Upstream's TestEnvironment flags: enabled by ``VAR=1``."""
    return env_value(name, "0") == "1"


FILE_SCHEMA = "file:///" if sys.platform == "win32" else "file://"
IS_CI = bool(env_value("CI"))  # any non-empty value, as upstream
NO_MULTIPROCESSING_SPAWN = False
TEST_WITH_SLOW = _env_flag("PYTORCH_TEST_WITH_SLOW")
TEST_WITH_TORCHINDUCTOR = _env_flag("PYTORCH_TEST_WITH_INDUCTOR")
TEST_WITH_AOT_EAGER = _env_flag("PYTORCH_TEST_WITH_AOT_EAGER")
TEST_WITH_TORCHDYNAMO = _env_flag("PYTORCH_TEST_WITH_DYNAMO") or TEST_WITH_TORCHINDUCTOR or TEST_WITH_AOT_EAGER
DISABLE_RUNNING_SCRIPT_CHK = _env_flag("PYTORCH_DISABLE_RUNNING_SCRIPT_CHK")
MI300_ARCH = ("gfx942",)
MI350_ARCH = ("gfx950",)


def _present_accelerators() -> list[_devices.DeviceType]:
    return [row for row in _devices.accelerators() if row.present()]


TEST_ACCELERATOR = LazyVal(lambda: bool(_present_accelerators()))
TEST_MULTIACCELERATOR = LazyVal(lambda: _devices.max_accelerator_count() > 1)
ACCELERATOR_TYPE = LazyVal(lambda: _present_accelerators()[0].name if _present_accelerators() else None)


# -- skip and xfail decorators ---------------------------------------------------------------------

def lazy_skip_if(condition_fn: Callable[[], bool], reason: str) -> Callable:
    """Skip a test (evaluated when it runs) or a class (evaluated now) when ``condition_fn()``."""

    def decorator(fn: Any) -> Any:
        if isinstance(fn, type):
            if condition_fn():
                fn.__unittest_skip__ = True
                fn.__unittest_skip_why__ = reason
            return fn

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if condition_fn():
                raise unittest.SkipTest(reason)
            return fn(*args, **kwargs)

        return wrapper

    return decorator


def skipIfRocm(func: Optional[Callable] = None, *, msg: str = "test doesn't currently work on the ROCm stack") -> Callable:  # noqa: N802
    decorator = lazy_skip_if(lambda: TEST_WITH_ROCM, f"skipIfRocm: {msg}")
    return decorator(func) if func is not None else decorator


def skipIfXpu(func: Optional[Callable] = None, *, msg: str = "test doesn't currently work on the XPU stack") -> Callable:  # noqa: N802
    decorator = lazy_skip_if(lambda: TEST_XPU, f"skipIfXpu: {msg}")
    return decorator(func) if func is not None else decorator


def skipIfWindows(func: Optional[Callable] = None, *, msg: str = "test doesn't currently work on the Windows stack") -> Callable:  # noqa: N802
    decorator = lazy_skip_if(lambda: IS_WINDOWS, f"skipIfWindows: {msg}")
    return decorator(func) if func is not None else decorator


def getRocmArchName(device_index: int = 0) -> str:  # noqa: N802
    return torch.cuda.get_device_properties(device_index).gcnArchName


def isRocmArchAnyOf(arch: tuple[str, ...]) -> bool:  # noqa: N802
    if not torch.version.hip:
        return False
    name = getRocmArchName()
    return any(x in name for x in arch)


def skipIfRocmArch(arch: tuple[str, ...]) -> Callable:  # noqa: N802
    return lazy_skip_if(lambda: TEST_WITH_ROCM and isRocmArchAnyOf(arch), f"skipIfRocm: test skipped on {arch}")


def runOnRocmArch(arch: tuple[str, ...]) -> Callable:  # noqa: N802
    def dec_fn(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrap_fn(self: Any, *args: Any, **kwargs: Any) -> Any:
            if TEST_WITH_ROCM and not isRocmArchAnyOf(arch):
                raise unittest.SkipTest(f"skipIfRocm: test only runs on {arch}")
            return fn(self, *args, **kwargs)

        return wrap_fn

    return dec_fn


def getRocmVersion() -> tuple[int, int]:  # noqa: N802
    from testing._upstream_api.cuda_flags import _get_torch_rocm_version

    version = _get_torch_rocm_version()
    return (version[0], version[1])


def skipIfRocmVersionLessThan(version: Optional[tuple] = None) -> Callable:  # noqa: N802
    def should_skip() -> bool:
        if not TEST_WITH_ROCM:
            return False
        found = getRocmVersion()
        return found is None or version is None or found < tuple(version)

    return lazy_skip_if(should_skip, f"ROCm version less than {version} required")


def skipIfTorchDynamo(msg: str = "test doesn't currently work with dynamo") -> Callable:  # noqa: N802
    if not isinstance(msg, str):
        raise AssertionError("Are you using skipIfTorchDynamo correctly?")

    def decorator(fn: Any) -> Any:
        if not isinstance(fn, type):
            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> None:
                if TEST_WITH_TORCHDYNAMO:
                    raise unittest.SkipTest(msg)
                fn(*args, **kwargs)

            return wrapper
        if TEST_WITH_TORCHDYNAMO:
            fn.__unittest_skip__ = True
            fn.__unittest_skip_why__ = msg
        return fn

    return decorator


def xfailIf(condition: bool) -> Callable:  # noqa: N802
    return lambda func: unittest.expectedFailure(func) if condition else func


def xfailIfTorchDynamo(func: Callable) -> Callable:  # noqa: N802
    return unittest.expectedFailure(func) if TEST_WITH_TORCHDYNAMO else func


requires_cuda = unittest.skipUnless(TEST_CUDA, "Requires CUDA")


def requires_cuda_p2p_access() -> Callable:
    available = CUDA_PRESENT and torch.cuda.get_device_capability() >= (8, 0) and torch.cuda.device_count() >= 2
    count = torch.cuda.device_count() if CUDA_PRESENT else 0
    for i in range(count - 1):
        if not available:
            break
        for j in range(i + 1, count):
            if not torch.cuda.can_device_access_peer(i, j):
                available = False
                break
    return skip_but_pass_in_sandcastle_if(not available, "cuda p2p access is not available")


def suppress_warnings(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn(*args, **kwargs)

    return wrapper


# -- guards ------------------------------------------------------------------------------------------

class SwapTensorsGuard:
    def __init__(self, use_swap_tensors: Optional[bool]) -> None:
        self.use_swap_tensors = use_swap_tensors

    def __enter__(self) -> None:
        self.swap_tensors_restore = torch.__future__.get_swap_module_params_on_conversion()
        if self.use_swap_tensors is not None:
            torch.__future__.set_swap_module_params_on_conversion(self.use_swap_tensors)

    def __exit__(self, *exc: Any) -> None:
        torch.__future__.set_swap_module_params_on_conversion(self.swap_tensors_restore)


def wrapSwapTensorsTest(swap: Optional[bool] = None) -> Callable:  # noqa: N802
    def dec_fn(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> None:
            with SwapTensorsGuard(swap):
                fn(*args, **kwargs)

        return wrapper

    return dec_fn


# -- ports and connections ---------------------------------------------------------------------------

ADDRESS_IN_USE = "Address already in use"
CONNECT_TIMEOUT = "connect() timed out."


def find_free_port() -> int:
    """A port that is free now (use with retry_on_connect_failures: it may be taken before use)."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


def retry_on_connect_failures(func: Optional[Callable] = None, connect_errors: Any = (ADDRESS_IN_USE)) -> Callable:
    """Rerun (up to 10 times) when a RuntimeError's text contains one of ``connect_errors``.

    Upstream's default is the string ``ADDRESS_IN_USE`` itself (the parentheses make no tuple), so
    its characters are matched one by one; kept as upstream has it.
    """
    if func is None:
        return functools.partial(retry_on_connect_failures, connect_errors=connect_errors)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        n_retries = tries_remaining = 10
        while True:
            try:
                return func(*args, **kwargs)
            except RuntimeError as error:
                if any(connect_error in str(error) for connect_error in connect_errors):
                    tries_remaining -= 1
                    if tries_remaining == 0:
                        raise RuntimeError(f"Failing after {n_retries} retries with error: {error}") from error
                    time.sleep(random.random())
                    continue
                raise

    return wrapper


# -- timing ------------------------------------------------------------------------------------------

def _cpu_sleep(cycles: int) -> None:
    for _ in range(cycles):
        pass


@functools.lru_cache
def get_cycles_per_ms(device: str = "cuda") -> float:
    """Approximate ``_sleep`` cycles per millisecond on a device type (``"cpu"`` spins in Python)."""
    test_cycles = 1000000

    if device == "cpu":
        def measure() -> float:
            start = time.perf_counter()
            _cpu_sleep(test_cycles)
            elapsed_ms = (time.perf_counter() - start) * 1000
            return test_cycles / elapsed_ms if elapsed_ms > 0 else 1000000
    else:
        module = torch.get_device_module(device)

        def measure() -> float:
            start, end = module.Event(enable_timing=True), module.Event(enable_timing=True)
            start.record()
            module._sleep(test_cycles)
            end.record()
            end.synchronize()
            return test_cycles / start.elapsed_time(end)

    values = sorted(measure() for _ in range(10))
    return statistics.mean(values[2:8])


# -- load_tests --------------------------------------------------------------------------------------

def _running_script() -> Optional[str]:
    """The test script being run; None when a runner (this harness's worker, pytest) is __main__."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path or not path.endswith(".py"):
        return None
    path = os.path.abspath(os.path.realpath(path))
    harness = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return None if path.startswith(harness + os.sep) else path


def load_tests(loader: unittest.TestLoader, tests: unittest.TestSuite, pattern: Optional[str]) -> unittest.TestSuite:
    """Upstream's module hook: drop empty groups, refuse test classes not defined in the running script."""
    running = _running_script()
    suite = unittest.TestSuite()
    for group in tests:
        if not DISABLE_RUNNING_SCRIPT_CHK and running is not None:
            for test in group:
                defined_in = os.path.abspath(os.path.realpath(inspect.getfile(test.__class__)))
                if defined_in != running:
                    raise AssertionError(
                        f'Class of loaded TestCase "{test.id()}" is not defined in the running script "{running}", '
                        f'but in "{defined_in}". Did you accidentally import a unittest.TestCase from another file?')
        if group._tests:
            suite.addTest(group)
    return suite
