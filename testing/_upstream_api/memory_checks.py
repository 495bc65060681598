"""Upstream's memory-gated decorators of ``common_device_type``: ``largeTensorTest`` (with upstream's
``_has_sufficient_memory``) and, from torch 2.14, ``largeMPSBufferTest``.

Sizes, device defaults, skip messages and the order of the checks are upstream's. Where upstream
asks ``device_type == "cuda"``, the device table answers: a row's ``free_memory`` measures a device
(cuda, xpu) once its type is the current accelerator; ``host_memory`` rows (cpu, mps) measure the
host through psutil, as upstream does, and skip without it. Under ``--map-cuda`` a CUDA device
argument means the selected device, so ``largeTensorTest("4GB", device="cuda")`` measures the
device that runs the test and its skip names that device.
"""

from __future__ import annotations

import functools
import gc
import platform
import unittest
from collections.abc import Callable
from typing import Any, Optional, Union

import torch

from testing._core import cuda_mapping
from testing._core import devices as _devices
from testing._core import versions
from testing._upstream_api.flags import TEST_WITH_ASAN, TEST_WITH_TSAN, TEST_WITH_UBSAN
from testing._upstream_api.upstream_utils import TEST_WITH_TORCHINDUCTOR

try:
    import psutil  # optional, as upstream: without it host memory is not measured and the test skips
except ModuleNotFoundError:
    psutil = None

IS_S390X = platform.machine() == "s390x"

Size = Union[int, str, Callable[..., int]]

# upstream's skip for device types it has no memory query for (a table row may add one: free_memory)
_NO_QUERY = {"xla": "TODO: Memory availability checks for XLA?"}
_UNKNOWN_DEVICE = "Unknown device type"

# upstream's largest single buffer, for the device types that cap one (largeMPSBufferTest)
_MAX_BUFFER: dict[str, Callable[[], int]] = {"mps": lambda: torch._C._mps_maxBufferLength()}


def _cgroup_available_memory() -> Optional[int]:
    """Memory still usable inside this process's cgroup, or None if uncapped (upstream 2.15's reading:
    psutil sees the host, but a container's limit is what the OOM killer enforces)."""
    for limit_path, usage_path, stat_path, prefix in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current", "/sys/fs/cgroup/memory.stat", ""),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes",
         "/sys/fs/cgroup/memory/memory.stat", "total_"),
    ):
        try:
            with open(limit_path) as f:
                raw = f.read().strip()
            if raw == "max":  # v2's "no limit"; v1 writes a value at least the physical memory
                return None
            limit = int(raw)
            if limit >= psutil.virtual_memory().total:
                return None
            with open(usage_path) as f:
                usage = int(f.read().strip())
            stat = {}
            with open(stat_path) as f:
                for line in f:
                    key, _, value = line.partition(" ")
                    stat[key] = int(value)
        except (OSError, ValueError):
            continue
        cache = stat.get(f"{prefix}inactive_file", 0)  # page cache is reclaimed, not a kill
        return max(limit - max(usage - cache, 0), 0)
    return None


def _available_host_memory() -> int:
    available = psutil.virtual_memory().available
    if not versions.current("large_tensor_host_cgroup"):
        return available
    capped = _cgroup_available_memory()
    return available if capped is None else min(available, capped)


def _has_sufficient_memory(device: Any, size: float) -> bool:
    """Whether ``size`` bytes fit on ``device`` (upstream's answer); SkipTest where it cannot tell."""
    device_ = torch.device(cuda_mapping.map_device(device))
    row = _devices.lookup(device_.type)
    if row is not None and row.free_memory is not None:
        accelerator = torch.accelerator.current_accelerator()
        if not accelerator:  # no accelerator here at all
            return False
        if accelerator.type != device_.type:  # another accelerator's test: upstream lets it run
            return True
        if not torch.accelerator.is_available():
            return False
        gc.collect()
        torch.accelerator.empty_cache()
        if device_.index is None:
            device_ = torch.device(device_.type, 0)
        return row.free_memory(device_) >= size
    if row is None or not row.host_memory:
        raise unittest.SkipTest(_NO_QUERY.get(device_.type, _UNKNOWN_DEVICE))
    if psutil is None:
        raise unittest.SkipTest("Need psutil to determine if memory is sufficient")
    # sanitizers have large memory overheads; on s390x leave some for service processes
    effective_size = size * 10 if (TEST_WITH_ASAN or TEST_WITH_TSAN or TEST_WITH_UBSAN) else size
    if IS_S390X:
        effective_size = effective_size * 2
    if _available_host_memory() < effective_size:
        gc.collect()
        if row.accelerator and versions.current("large_tensor_host_accelerator_sync"):
            module = getattr(torch, row.name)
            module.synchronize()
            module.empty_cache()
    return _available_host_memory() >= effective_size


def _parse_size(size: Size) -> Any:
    if isinstance(size, str):
        if not size.endswith(("GB", "gb")):
            raise AssertionError(f"only bytes or GB supported, got {size!r}")
        return 1024**3 * int(size[:-2])
    return size


def _test_device(test: Any, device: Any) -> Any:
    """The device a test measures: ``device=``, else the device class's primary device."""
    if device is not None:
        return device
    if hasattr(test, "get_primary_device"):
        return test.get_primary_device()
    return test.device


def _measured_device(device: Any) -> Any:
    """``device`` as the test runs it: under --map-cuda a CUDA device is the selected one (named in
    the skip); anything else as given, so messages are upstream's."""
    mapped = cuda_mapping.map_device(device)
    return str(mapped) if mapped is not device else device


def _cpp_wrapper() -> bool:
    import torch._inductor.config

    return bool(torch._inductor.config.cpp_wrapper)


def largeTensorTest(size: Size, device: Any = None, inductor: bool = TEST_WITH_TORCHINDUCTOR) -> Callable:  # noqa: N802
    """Skip the test when its device lacks the memory: ``size`` is the test's whole footprint, in
    bytes, as ``"N GB"``, or a callable of the test's arguments. ``device=None``: the test's device."""
    size = _parse_size(size)

    def inner(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def dep_fn(self: Any, *args: Any, **kwargs: Any) -> Any:
            size_bytes = size(self, *args, **kwargs) if callable(size) else size
            _device = _measured_device(_test_device(self, device))
            # inductor's GPU cpp_wrapper autotuning makes a second array of the input's size
            if inductor and _cpp_wrapper() and _device != "cpu":
                size_bytes *= 2
            if not _has_sufficient_memory(_device, size_bytes):
                raise unittest.SkipTest(f"Insufficient {_device} memory")
            return fn(self, *args, **kwargs)

        return dep_fn

    return inner


def largeMPSBufferTest(size: Size, device: Any = None) -> Callable:  # noqa: N802
    """Skip when one buffer of ``size`` bytes exceeds the device's cap (MPS's maxBufferLength); a
    no-op elsewhere (torch 2.14+)."""
    size = _parse_size(size)

    def inner(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def dep_fn(self: Any, *args: Any, **kwargs: Any) -> Any:
            max_buffer = _MAX_BUFFER.get(torch.device(_test_device(self, device)).type)
            if max_buffer is not None:
                size_bytes = size(self, *args, **kwargs) if callable(size) else size
                if size_bytes >= max_buffer():  # the allocator's check is strict: match it with >=
                    raise unittest.SkipTest(f"Needs MPS maxBufferLength > {size_bytes} bytes")
            return fn(self, *args, **kwargs)

        return dep_fn

    return inner
