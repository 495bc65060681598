"""common_fsdp's small state helpers: zeroing, gathering and comparing module states, moving to the
FSDP device, device-side delays, and the dummy process group.

``DEVICE_TYPE`` is common_fsdp's device (``testing._upstream_api.flags.FSDP_DEVICE_TYPE``): the selected
device, else the first accelerator present, else cpu; under ``--device cpu`` it is cpu.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext
from copy import deepcopy
from typing import Any, cast
from unittest import mock

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

from testing._core import devices as _devices
from testing._upstream_api.flags import FSDP_DEVICE_TYPE as DEVICE_TYPE


def fsdp_device_row() -> _devices.DeviceType | None:
    """The device-table row of common_fsdp's device (``hpu:0`` is the hpu row)."""
    return _devices.lookup(torch.device(DEVICE_TYPE).type)


def _assert_module_states(model: nn.Module, process_group: dist.ProcessGroup, assert_fn: Callable) -> None:
    """All-gather the module states and call ``assert_fn`` on each pair of rank 0's and another
    rank's corresponding states (``assert_fn=self.assertEqual`` checks that all ranks agree)."""
    named_module_states = [(name, param.detach().cpu()) for name, param in model.named_parameters()]
    named_module_states += [(name, buffer.detach().cpu()) for name, buffer in model.named_buffers()]
    world_size = dist.get_world_size(process_group)
    olist: list[Any] = [None for _ in range(world_size)]
    dist.all_gather_object(olist, named_module_states, group=process_group)
    rank0_states = olist[0]
    if rank0_states is None:
        raise AssertionError("Expected rank0_states to not be None")
    for state in olist[1:]:
        if state is None:
            raise AssertionError("Expected state to not be None")
        for (_, p1), (_, p2) in zip(rank0_states, state, strict=True):
            assert_fn(p1, p2)


def _zero_model(model: nn.Module, zero_buffers: bool = False, summon_full: bool = True) -> None:
    """Zero the parameters (and optionally the buffers) of ``model`` in place."""
    ctx = FSDP.summon_full_params(model) if summon_full else nullcontext()
    with ctx:
        for param in model.parameters():
            with torch.no_grad():
                param.zero_()
        if zero_buffers:
            for buffer in model.buffers():
                with torch.no_grad():
                    buffer.zero_()


def _get_state_dict(model: nn.Module, cpu_offload: bool = False, half: bool = False) -> dict[str, Any]:
    if not cpu_offload:
        model = model.to(DEVICE_TYPE)
    if half:
        model.half()
    return model.state_dict()


def subtest_name(test_name_mapping: dict[str, str], *args: Any) -> str:
    return "_".join([test_name_mapping[str(s)] if s is not None else "none" for s in args])


def _broadcast_state_dict(rank: int, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # rank 0's state may live on the device; broadcast_object_list pickles, so go through the CPU
    for name, param in state_dict.items():
        if param.device != torch.device("cpu"):
            state_dict[name] = param.cpu()
    olist = [state_dict if rank == 0 else None]
    dist.broadcast_object_list(olist)
    state_dict = cast(dict[str, torch.Tensor], olist[0])
    for name in state_dict:
        state_dict[name] = state_dict[name].to(DEVICE_TYPE)
    return state_dict


def get_full_params(model: nn.Module, recurse: bool = True) -> list[nn.Parameter]:
    """The full unsharded parameters of an FSDP (v1) ``model``, copied."""
    with FSDP.summon_full_params(model, recurse=recurse):
        return deepcopy(list(model.parameters()))


def _move_to_device(model: nn.Module, move_to_device: bool) -> nn.Module:
    return model.to(DEVICE_TYPE) if move_to_device else model


def _maybe_wrap_fsdp(model: nn.Module, wrap_fsdp: bool, *args: Any, **kwargs: Any) -> nn.Module:
    return model if not wrap_fsdp else FSDP(model, *args, **kwargs)


class DummyProcessGroup:
    """A stand-in process group: rank/size, and an all-reduce that completes at once."""

    def __init__(self, rank: int, size: int) -> None:
        self._rank = rank
        self._size = size

    def rank(self) -> int:
        return self._rank

    def size(self) -> int:
        return self._size

    def allreduce(self, *args: Any, **kwargs: Any) -> Any:
        dist_wait = mock.Mock()

        def get_future() -> torch.futures.Future:
            future: torch.futures.Future = torch.futures.Future()
            future.set_result(1)
            return future

        dist_wait.get_future = get_future
        return dist_wait


@functools.lru_cache(maxsize=None)
def _cycles_per_ms(device_type: str) -> float:
    """Cycles of ``torch.<device>._sleep`` per millisecond (median of 10 timed runs, as upstream)."""
    module = torch.get_device_module(device_type)
    cycles = 1_000_000

    def measure() -> float:
        start, end = module.Event(enable_timing=True), module.Event(enable_timing=True)
        start.record()
        module._sleep(cycles)
        end.record()
        end.synchronize()
        return cycles / start.elapsed_time(end)

    return statistics.median(measure() for _ in range(10))


def device_sleep(ms: float) -> None:
    """Delay the FSDP device's stream by ``ms`` (upstream's ModuleWithDelay/MixtureOfExperts delays).

    A device whose runtime has a stream-side ``_sleep`` (cuda) sleeps on the device, as upstream;
    another accelerator sleeps on the host (upstream: hpu, xpu); the CPU is not delayed (upstream).
    """
    row = fsdp_device_row()
    if row is None or not row.accelerator or ms <= 0:
        return
    module = getattr(torch, row.name, None)
    if module is not None and hasattr(module, "_sleep") and hasattr(module, "Event"):
        module._sleep(int(ms * _cycles_per_ms(row.name)))
    else:
        time.sleep(ms / 1000)
