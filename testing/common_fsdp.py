"""Upstream path: common_fsdp of torch's private testing package (the device helpers FSDP tests use)."""

from testing._core.flags import FSDP_DEVICE_COUNT as DEVICE_COUNT
from testing._core.flags import FSDP_DEVICE_TYPE as DEVICE_TYPE
from testing._core.flags import FSDP_DISTRIBUTED_BACKEND as DISTRIBUTED_BACKEND
from testing._helpers.devtype import get_devtype

__all__ = ["get_devtype", "DEVICE_TYPE", "DISTRIBUTED_BACKEND", "DEVICE_COUNT"]
