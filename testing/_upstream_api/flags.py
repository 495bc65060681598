"""Upstream's module-level flags (``TEST_CUDA``, ``IS_LINUX``, ``TEST_WITH_ASAN`` ...), computed once.

They come from the device table and the configuration, never from ``if device == ...`` chains, so a
plug-in device or ``--device`` changes them the same way it changes everything else.
"""

from __future__ import annotations

import sys
import unittest
from typing import Callable

from testing._core import cuda_mapping, devices
from testing._core.config import DEFAULT_WORLD_SIZE, get_config
from testing._core.skips import IS_SANDCASTLE  # noqa: F401  (re-exported)


def _present(name: str) -> bool:
    row = devices.lookup(name)
    return bool(row is not None and row.present())


def _count(name: str) -> int:
    row = devices.lookup(name)
    return row.count() if row is not None else 0


IS_LINUX = sys.platform.startswith("linux")
IS_WINDOWS = sys.platform == "win32"
IS_MACOS = sys.platform == "darwin"
IS_FBCODE = False
TEST_WITH_ROCM = False
TEST_WITH_ASAN = "ASAN" in get_config().sanitizers
TEST_WITH_DEV_DBG_ASAN = "DEV_DBG_ASAN" in get_config().sanitizers
TEST_WITH_TSAN = "TSAN" in get_config().sanitizers
TEST_WITH_UBSAN = "UBSAN" in get_config().sanitizers
CUDA_PRESENT = _present("cuda")
"""A real CUDA device is here (under --map-cuda, TEST_CUDA answers for the mapped device instead):
what only CUDA hardware has (capabilities, NCCL, symmetric memory) asks this."""
TEST_CUDA = CUDA_PRESENT or cuda_mapping.active() is not None
TEST_XPU = _present("xpu")
TEST_HPU = _present("hpu")
TEST_MPS = _present("mps")
TEST_MULTIGPU = TEST_CUDA and cuda_mapping.cuda_count(_count("cuda")) >= 2
TEST_PRIVATEUSE1_DEVICE_TYPE = devices.privateuse1_name()
NATIVE_DEVICES = devices.native_devices()

# common_distributed
TIMEOUT_DEFAULT = int(get_config().timeout)
ACCELERATOR_DIST_BACKENDS = [d.backend for d in devices.accelerators()]
DDP_RANK_DEVICES = [d.name for d in devices.accelerators() if d.set_device]
HAS_ACCELERATOR = any(d.present() for d in devices.accelerators())


def _fsdp_device() -> tuple[str, str, int]:
    """common_fsdp's (DEVICE_TYPE, DISTRIBUTED_BACKEND, DEVICE_COUNT): the selected device, else the
    first accelerator present in upstream's order, else cpu."""
    config = get_config()
    if config.emulating:  # CPU ranks stand in for devices: as many as the world has ranks
        return "cpu", config.backend_for("cpu"), config.world_size or DEFAULT_WORLD_SIZE
    rows = [devices.lookup(config.device)] if config.device else devices.by_detection_order([d for d in devices.accelerators() if d.present()])
    for row in rows:
        if row is not None and row.accelerator:
            count = DEFAULT_WORLD_SIZE if row.fsdp_device else row.count()
            return row.fsdp_device or row.name, config.backend_for(row.name), count
    return "cpu", config.backend_for("cpu"), 1


FSDP_DEVICE_TYPE, FSDP_DISTRIBUTED_BACKEND, FSDP_DEVICE_COUNT = _fsdp_device()


def skipIfHpu(fn: Callable) -> Callable:  # noqa: N802  (upstream's name)
    """Skip on HPU hosts, as upstream (the reason is upstream's)."""
    return unittest.skipIf(TEST_HPU, "test doesn't currently work with HPU")(fn)
