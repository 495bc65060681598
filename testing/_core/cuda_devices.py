"""``--map-cuda``: device arguments naming CUDA, rewritten to the device CUDA is mapped to.

A torch-function mode, pushed once for the process (forked ranks inherit it), sees every call to a
torch function or a ``Tensor`` method. It rewrites ``device="cuda:1"`` and ``torch.device("cuda")``
arguments, and turns ``Tensor.cuda(i)`` into ``Tensor.to(<device>)``; ``Module.cuda()`` and
``Module.to("cuda")`` reach it through their tensors; building ``torch.device("cuda", 1)`` (or
``torch.device(0)``) gives the mapped device. ``torch.load(map_location=...)`` is not a torch
function and is wrapped on its own.

Results are the selected device's: ``t.is_cuda`` stays False. A device object built before the mode
was installed (above the harness imports of a file run directly) still says cuda, though torch
calls given it are rewritten; constructors that are not torch functions (``torch.Generator``,
``torch.Stream``) are not seen (docs/cuda-mapping.md, "Limits"); ``torch.autocast("cuda")`` is
mapped on its own.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from testing._core.cuda_mapping import CUDA, CudaTarget, device_index, map_device

# Keyword arguments that carry a device in torch's functions and Tensor methods.
_DEVICE_KEYWORDS = ("device",)


class CudaDeviceMode(TorchFunctionMode):
    """Rewrites CUDA device arguments of every torch call to the mapped device."""

    def __init__(self, target: CudaTarget) -> None:
        super().__init__()
        self.target = target

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func is torch.Tensor.cuda:
            return self._cuda(*args, **kwargs)
        if func is torch.device:
            return self._device(*args, **kwargs)
        args = tuple(map_device(a) if isinstance(a, (str, torch.device)) else a for a in args)
        for key in _DEVICE_KEYWORDS:
            if key in kwargs:
                kwargs[key] = self._keyword_device(kwargs[key])
        return func(*args, **kwargs)

    def _device(self, type: Any = None, index: Any = None) -> torch.device:  # noqa: A002  (torch's names)
        # torch.device(0): device 0 of the current accelerator, which CUDA names stand for here
        if isinstance(type, int) and not isinstance(type, bool):
            return self.target.device(type)
        if type == CUDA and index is not None:
            return self.target.device(index)
        mapped = map_device(type)
        if isinstance(mapped, torch.device):
            return mapped
        return torch.device(type) if index is None else torch.device(type, index)

    def _keyword_device(self, value: Any) -> Any:
        # device=1 names CUDA device 1 in a CUDA build; here it names the mapped device's index
        if isinstance(value, int) and not isinstance(value, bool):
            return self.target.device(value)
        return map_device(value)

    def _cuda(self, tensor: torch.Tensor, device: Any = None, non_blocking: bool = False, **kwargs: Any) -> torch.Tensor:
        index = device_index(device if isinstance(device, (int, type(None))) else map_device(device))
        if index is None and self.target.indexed:
            index = torch.cuda.current_device()  # .cuda() means the current device, as CUDA's does
        return tensor.to(self.target.device(index), non_blocking=non_blocking, **kwargs)


def _map_location(location: Any) -> Any:
    if isinstance(location, dict):
        return {k: map_device(v) for k, v in location.items()}
    return map_device(location)


_mode: CudaDeviceMode | None = None


def install(target: CudaTarget) -> None:
    global _mode
    if _mode is not None:
        return
    _mode = CudaDeviceMode(target)
    _mode.__enter__()  # for the life of the process: every test, every rank forked from here

    original_load = torch.load

    @functools.wraps(original_load)
    def load(f: Any, map_location: Any = None, *args: Any, **kwargs: Any) -> Any:
        return original_load(f, _map_location(map_location), *args, **kwargs)

    torch.load = load

    # autocast is a context manager, not a torch function: torch.autocast("cuda") would cast only
    # CUDA ops, a silent no-op on the selected device (torch.cuda.amp.autocast comes through here too)
    autocast = torch.amp.autocast_mode.autocast
    original_init = autocast.__init__

    @functools.wraps(original_init)
    def init(self: Any, device_type: str, *args: Any, **kwargs: Any) -> None:
        original_init(self, target.device_type if device_type == CUDA else device_type, *args, **kwargs)

    autocast.__init__ = init
