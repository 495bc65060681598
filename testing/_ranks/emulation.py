"""``--device cpu``: what rank processes change so accelerator-only tests run on CPU ranks.

Only what the test module cannot be asked to change: FSDP (v1) refuses to run without an
accelerator unless it is given a CPU ``device_id``, so FSDP built without one gets the CPU.
Everything else (the CPU device class, gloo, skip_if_lt_x_gpu counting ranks) follows from the
device selection elsewhere. Applied in rank processes only, never in the test process.
"""

from __future__ import annotations

import functools
import inspect

import torch

_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    _applied = True
    from torch.distributed.fsdp import FullyShardedDataParallel

    original = FullyShardedDataParallel.__init__
    # device_id's place among the positional parameters after (self, module)
    position = list(inspect.signature(original).parameters).index("device_id") - 2

    @functools.wraps(original)
    def init_on_cpu(self, module, *args, **kwargs):
        if kwargs.get("device_id") is None and len(args) <= position:
            kwargs["device_id"] = torch.device("cpu")
        original(self, module, *args, **kwargs)

    FullyShardedDataParallel.__init__ = init_on_cpu


_ddp_applied = False


def apply_device_ids() -> None:
    """``--map-cuda`` on CPU ranks: ``device_ids=[torch.cuda.current_device()]`` names a rank, not a
    device; DDP (and ``replicate``) given it for a module on the CPU gets None, which is what CPU
    modules take (DDP refuses device_ids for them otherwise)."""
    global _ddp_applied
    if _ddp_applied:
        return
    _ddp_applied = True
    from torch.nn.parallel import DistributedDataParallel

    original = DistributedDataParallel.__init__

    @functools.wraps(original)
    def init_on_cpu(self, module, *args, **kwargs):
        on_cpu = all(p.device.type == "cpu" for p in module.parameters())
        if on_cpu and not args and kwargs.get("device_ids") is not None:
            kwargs["device_ids"] = None
            kwargs["output_device"] = None
        original(self, module, *args, **kwargs)

    DistributedDataParallel.__init__ = init_on_cpu


def cpu_backend(backend: str, cpu: str = "gloo") -> str:
    """The backend a class's own choice becomes on CPU ranks.

    A composite string keeps its CPU part ("cpu:gloo,cuda:nccl" -> "gloo"); an accelerator
    backend, or one the device table names for an accelerator, becomes the CPU backend; anything
    else (gloo, mpi, fake, a CPU-capable plug-in backend) is left as it is.
    """
    from testing._core import devices as _devices

    if "," in backend or ":" in backend:
        parts = dict(part.split(":", 1) for part in backend.split(",") if ":" in part)
        return parts.get("cpu", cpu)
    return cpu if backend in _devices.accelerator_backends() else backend
