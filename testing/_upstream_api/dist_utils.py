"""The long tail of upstream's ``common_distributed``: decorators, probes and small helpers.

Upstream's messages and exit codes; device counts come from the device table (``at_least_x_gpu``,
``init_multigpu_helper`` count the table's accelerators, or the rank processes under ``--device cpu``).
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import operator
import subprocess
import sys
import unittest
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, Optional

import torch
import torch.distributed as c10d

from testing._core.config import env_value, scoped_env, set_env
from testing._core import devices as _devices
from testing._core.config import get_config
from testing._upstream_api.flags import CUDA_PRESENT, TEST_HPU, TEST_WITH_ROCM, TEST_XPU
from testing._core.lazyval import LazyVal
from testing._core.skips import TEST_SKIPS, multi_device_key, skip_but_pass_in_sandcastle, skip_but_pass_in_sandcastle_if
from testing._upstream_api.upstream_utils import find_free_port, retry_on_connect_failures

logger = logging.getLogger("torch.testing._internal.common_distributed")


class DistTestCases:
    skip_collective = {
        "allgather_coalesced": {"nccl", "mpi", "ucc", "xccl"},
        "reduce": set(),
        "sendrecv anysource": {"nccl", "ucc", "xccl"},
        "cpu barrier": {"nccl", "ucc", "xccl"},
    }
    backend_feature = {
        "gpu": {"nccl", "gloo", "ucc"}, "cuda": {"nccl", "gloo", "ucc"}, "ddp": {"nccl", "gloo", "ucc"},
        "subgroup": {"nccl", "gloo", "ucc"}, "plugin": set(),
        **({"hpu": {"hccl"}} if TEST_HPU else {}), **({"xpu": {"xccl"}} if TEST_XPU else {}),
    }


def _usable_accelerators() -> int:
    """Devices a multi-device test may use: the selected device's, ranks when emulating, else the largest."""
    config = get_config()
    if config.emulating:
        return config.world_size or 0
    if config.device is not None:
        return _devices.lookup(config.device).count()
    return _devices.max_accelerator_count()


def at_least_x_gpu(x: int) -> bool:
    config = get_config()
    if config.emulating:  # the ranks are the devices; a test gets the ranks it needs
        return (config.world_size or x) >= x
    return _usable_accelerators() >= x


def requires_ddp_rank(device: str) -> bool:
    row = _devices.lookup(device)
    return bool(row is not None and row.accelerator and row.set_device)


def _env_skip(key: str, condition: Callable[[], bool]) -> Callable:
    def decorator(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if condition():
                sys.exit(TEST_SKIPS[key].exit_code)
            return func(*args, **kwargs)

        return wrapper

    return decorator


skip_if_small_worldsize = _env_skip(
    "small_worldsize", lambda: env_value("BACKEND") != "mpi" and int(env_value("WORLD_SIZE")) < 8)
skip_if_odd_worldsize = _env_skip(
    "odd_worldsize", lambda: env_value("BACKEND") != "mpi" and int(env_value("WORLD_SIZE")) % 2 == 1)


def require_n_gpus_for_nccl_backend(n: int, backend: str) -> Callable:
    """Skip (in the rank) when ``backend`` is an accelerator backend and fewer than ``n`` devices exist."""
    accelerator = backend in _devices.accelerator_backends() and not get_config().emulating
    return _env_skip(multi_device_key(n), lambda: accelerator and _usable_accelerators() < n)


def nccl_skip_if_lt_x_gpu(backend: str, x: int) -> Callable:
    return require_n_gpus_for_nccl_backend(x, backend)


def import_transformers_or_skip() -> Callable:
    def decorator(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                from transformers import AutoModelForMaskedLM, BertConfig  # noqa: F401
            except ImportError:
                sys.exit(TEST_SKIPS["importerror"].exit_code)
            return func(*args, **kwargs)

        return wrapper

    return decorator


def get_required_world_size(obj: Any, default: int) -> int:
    """The world size ``@requires_world_size(n)`` asked for on the running test, else ``default``."""
    try:
        name = obj._current_test_name() if callable(getattr(obj, "_current_test_name", None)) else obj._testMethodName
        return int(getattr(obj, name)._required_world_size)
    except Exception:
        return default


def verify_ddp_error_logged(model_ddp: Any, err_substr: str) -> None:
    data = model_ddp._get_ddp_logging_data()
    for key in ("iteration", "has_error", "error"):
        if key not in data:
            raise AssertionError(f"Expected '{key}' in ddp_logging_data")
    actual = err_substr.split("\nException raised from ")[0]
    if actual not in data["error"]:
        raise AssertionError(f"Did not find expected {actual} in ddp logging data error: {data['error']}")


def _with_env(updates: dict[str, Optional[str]], func: Callable) -> Callable:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with scoped_env(updates):
            return func(*args, **kwargs)

    return wrapper


def with_nccl_blocking_wait(func: Callable) -> Callable:
    """Run with TORCH_NCCL_BLOCKING_WAIT=1 and TORCH_NCCL_ASYNC_ERROR_HANDLING unset (restored after)."""
    return _with_env({"TORCH_NCCL_ASYNC_ERROR_HANDLING": None, "TORCH_NCCL_BLOCKING_WAIT": "1"}, func)


def with_dist_debug_levels(levels: list[str]) -> Callable:
    """Run the test once per TORCH_DISTRIBUTED_DEBUG level, with a barrier after each."""

    def decorator(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            old_level = env_value("TORCH_DISTRIBUTED_DEBUG")
            ret = None
            for level in levels:
                set_env("TORCH_DISTRIBUTED_DEBUG", level)
                c10d.set_debug_level_from_env()
                ret = func(*args, **kwargs)
                c10d.barrier()
                if old_level is not None:
                    set_env("TORCH_DISTRIBUTED_DEBUG", old_level)
            return ret

        return wrapper

    return decorator


def _nccl_version() -> tuple[int, ...]:
    return torch.cuda.nccl.version()


def requires_nccl_version(version: tuple[int, ...], msg: str) -> Callable:
    if not CUDA_PRESENT:
        return lambda f: f
    if not _devices.backend_available("nccl"):
        return skip_but_pass_in_sandcastle("c10d was not compiled with the NCCL backend")
    found = _nccl_version()
    return skip_but_pass_in_sandcastle_if(
        found < version, f"Requires NCCL version greater than or equal to: {version}, found: {found}, reason: {msg}")


def requires_nccl_shrink() -> Callable:
    return requires_nccl_version((2, 27), "Need NCCL 2.27+ for shrink_group")


def requires_multicast_support() -> Callable:
    supported = False
    if CUDA_PRESENT:
        from torch._C._autograd import DeviceType
        from torch._C._distributed_c10d import _SymmetricMemory

        supported = _SymmetricMemory.has_multicast_support(DeviceType.CUDA, 0)
    return skip_but_pass_in_sandcastle_if(not supported, "multicast support is not available")


def _symm_mem_supported() -> bool:
    if not CUDA_PRESENT:
        return False
    if TEST_WITH_ROCM:
        return any(arch in torch.cuda.get_device_properties(0).gcnArchName for arch in ("gfx942", "gfx950"))
    return True


PLATFORM_SUPPORTS_SYMM_MEM = LazyVal(_symm_mem_supported)


def skip_if_rocm_multiprocess(func: Callable) -> Callable:
    return unittest.skipIf(TEST_WITH_ROCM, TEST_SKIPS["skipIfRocm"].message)(func)


def skip_if_rocm_arch_multiprocess(arch: tuple[str, ...]) -> Callable:
    def decorator(func: Callable) -> Callable:
        reason = None
        if TEST_WITH_ROCM and torch.cuda.get_device_properties(0).gcnArchName.split(":")[0] in arch:
            reason = f"skip_if_rocm_arch_multiprocess: test skipped on {arch}"
        return unittest.skipIf(reason is not None, reason)(func)

    return decorator


def skip_if_rocm_ver_lessthan_multiprocess(version: Optional[tuple] = None) -> Callable:
    def decorator(func: Callable) -> Callable:
        reason = None
        if TEST_WITH_ROCM:
            found = tuple(int(x) for x in str(torch.version.hip).split("-", maxsplit=1)[0].split("."))
            if version is None or found < tuple(version):
                reason = f"skip_if_rocm_ver_lessthan_multiprocess: ROCm {found} is available but {version} required"
        return unittest.skipIf(reason is not None, reason)(func)

    return decorator


def skip_if_win32() -> Callable:
    return skip_but_pass_in_sandcastle_if(sys.platform == "win32", "This unit test case is not supported on Windows platform")


def sm_is_or_higher_than(device: torch.device, major: int, minor: int) -> bool:
    """CUDA compute capability >= (major, minor); True for non-CUDA devices, False on ROCm."""
    if device.type != "cuda":
        return True
    if torch.version.hip is not None:
        return False
    return torch.cuda.get_device_capability(device) >= (major, minor)


@retry_on_connect_failures
def create_tcp_store(addr: str = "localhost", world_size: int = 1, is_master: bool = True,
                     timeout: timedelta = timedelta(minutes=5), wait_for_workers: bool = True,
                     jit_class: bool = False, use_libuv: bool = True) -> Any:
    port = find_free_port()
    if jit_class:
        return torch.classes.dist_c10d.TCPStore(addr, port, world_size, is_master, int(timeout / timedelta(milliseconds=1)))
    return c10d.TCPStore(addr, port, world_size, is_master, wait_for_workers=wait_for_workers, use_libuv=use_libuv)


def create_device(interface: Optional[str] = None, lazy_init: bool = False) -> Any:
    """A gloo device on loopback (127.0.0.1), or on the named interface."""
    if sys.platform == "win32" or interface is None:
        return c10d.ProcessGroupGloo.create_device(hostname="127.0.0.1", lazy_init=lazy_init)
    return c10d.ProcessGroupGloo.create_device(interface=interface, lazy_init=lazy_init)


@contextlib.contextmanager
def captured_output() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    new_out, new_err = io.StringIO(), io.StringIO()
    old_out, old_err = sys.stdout, sys.stderr
    try:
        sys.stdout, sys.stderr = new_out, new_err
        yield sys.stdout, sys.stderr
    finally:
        sys.stdout, sys.stderr = old_out, old_err


def simple_sparse_reduce_tests(rank: int, world_size: int, num_inputs: int = 1) -> list:
    """Sparse all-reduce cases: (inputs for this rank, expected sums), upstream's six shapes."""

    def generate(rank: int, world_size: int, sparse_dims: int = 1, dense_dims: int = 0) -> torch.Tensor:
        indices = torch.reshape(torch.arange(rank + 1), (1, rank + 1))
        shape = [world_size] + [2 for _ in range(dense_dims)]
        for _ in range(sparse_dims - 1):
            indices = torch.cat((indices, torch.zeros(1, rank + 1)))
            shape.append(world_size)
        values = torch.ones([rank + 1] + [2 for _ in range(dense_dims)])
        return torch.sparse_coo_tensor(indices, values, shape)

    def compute_sum(fn: Callable, world_size: int) -> torch.Tensor:
        return functools.reduce(operator.add, [fn(r, world_size) for r in range(world_size)])

    fns = [functools.partial(generate, sparse_dims=d) for d in (1, 2, 3)]
    fns += [functools.partial(generate, dense_dims=d) for d in (1, 2, 3)]
    return [
        ([fn(num_inputs * rank + i, num_inputs * world_size) for i in range(num_inputs)],
         [compute_sum(fn, num_inputs * world_size) for _ in range(num_inputs)])
        for fn in fns
    ]


def init_multigpu_helper(world_size: int, backend: str) -> dict[int, list[int]]:
    """Split the visible devices evenly among ``world_size`` ranks: {rank: [device indices]}."""
    device = get_config().device  # the selected type's devices (none for cpu ranks), else upstream's count
    n_devices = _devices.lookup(device).count() if device is not None else _devices.max_accelerator_count()
    visible = range(n_devices)
    per_process = n_devices // world_size if world_size > n_devices else 1
    return {i: list(visible[i * per_process : (i + 1) * per_process]) for i in range(world_size)}


def has_efa() -> bool:
    try:
        return subprocess.run(["fi_info", "-p", "efa", "-t", "FI_EP_RDM"], check=False).returncode == 0
    except FileNotFoundError:
        return False


def tp_transports() -> Optional[list[str]]:
    """TensorPipe transports: shm and uv on EFA hosts (InfiniBand fails there), else TensorPipe's default."""
    return ["shm", "uv"] if has_efa() else None
