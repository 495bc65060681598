"""get_devtype(): the torch.device FSDP tests build on (common_fsdp's DEVICE_TYPE)."""

import torch

from testing._upstream_api.flags import FSDP_DEVICE_TYPE


def get_devtype() -> torch.device:
    return torch.device(FSDP_DEVICE_TYPE)
