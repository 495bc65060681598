"""``--map-cuda`` put in place in a process: the torch.cuda stand-in, the device-argument rewriting,
and the one line that says so. Called once the configuration is read, before test modules import."""

from __future__ import annotations

from typing import Any, Optional

from testing._core import cuda_calls, cuda_devices, cuda_mapping, notices
from testing._core.cuda_mapping import CudaTarget

_announced_cuda = False


def install(config: Any) -> Optional[CudaTarget]:
    """Put the mapping ``config`` asks for in place in this process (once; forked ranks inherit it,
    spawned ones install it again when they read their configuration)."""
    global _announced_cuda
    if cuda_mapping.active() is not None or not config.map_cuda:
        return cuda_mapping.active()
    in_rank = notices.in_rank_process()
    mapping = cuda_mapping.target_for(config)
    if mapping is None:
        if config.device == cuda_mapping.CUDA and not _announced_cuda and not in_rank:
            _announced_cuda = True
            notices.notice(cuda_mapping.NO_EFFECT)
        return None
    cuda_mapping.activate(mapping)
    cuda_calls.install(mapping)
    cuda_devices.install(mapping)
    if not in_rank:
        notices.notice(mapping.describe())
    return mapping
