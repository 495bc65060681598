"""Upstream path: common_fsdp of torch's private testing package (the device helpers FSDP tests use)."""

import torch

from testing._core import devices as _devices
from testing._core.config import get_config
from testing._ranks.multiprocess import DEFAULT_WORLD_SIZE


def _pick() -> tuple[str, str, int]:
    """(DEVICE_TYPE, DISTRIBUTED_BACKEND, DEVICE_COUNT), upstream's priority: cuda, hpu, xpu, cpu."""
    config = get_config()
    if config.device is not None:
        names = [config.device]
    else:
        names = [n for n in ("cuda", "hpu", "xpu") if _devices.lookup(n).present()]
    for name in names:
        row = _devices.lookup(name)
        if row.accelerator:
            count = DEFAULT_WORLD_SIZE if name == "hpu" else row.count()
            return ("hpu:0" if name == "hpu" else name), config.backend_for(name), count
    return "cpu", config.backend_for("cpu"), 1


DEVICE_TYPE, DISTRIBUTED_BACKEND, DEVICE_COUNT = _pick()


def get_devtype() -> torch.device:
    return torch.device(DEVICE_TYPE)


__all__ = ["get_devtype", "DEVICE_TYPE", "DISTRIBUTED_BACKEND", "DEVICE_COUNT"]
