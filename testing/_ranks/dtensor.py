"""DTensorTestBase and with_comms: rank processes with a process group over a FileStore."""

from __future__ import annotations

import functools
import itertools
import sys
from collections.abc import Callable
from typing import Any, Optional, Union

import torch
import torch.distributed as dist
from torch import nn

from testing._core import devices as _devices
from testing._core.config import get_config
from testing._ranks.autocomms import MultiProcContinuousTest, MultiThreadedTestCase
from testing._ranks.multiprocess import DEFAULT_WORLD_SIZE, MultiProcessTestCase
from testing._core.skips import TEST_SKIPS, multi_device_key, skip_if_lt_x_gpu


def _default_device_type() -> str:
    """The device DTensor tests use when no device class says otherwise."""
    config = get_config()
    if config.device is not None:
        return config.device
    for row in _devices.device_table().values():
        if row.accelerator and row.opt_in is None and row.present():
            return row.name
    xpu = _devices.lookup("xpu")
    return "xpu" if xpu is not None and xpu.present() else "cpu"


DEVICE_TYPE = _default_device_type()
PG_BACKEND = get_config().backend_for(DEVICE_TYPE)
_DEVICE_ROW = _devices.lookup(DEVICE_TYPE)
NUM_DEVICES = DEFAULT_WORLD_SIZE
if _DEVICE_ROW is not None and _DEVICE_ROW.accelerator:
    DEVICE_COUNT = _DEVICE_ROW.count()
    if DEVICE_COUNT > 1:
        NUM_DEVICES = min(NUM_DEVICES, DEVICE_COUNT)

# Backend strings upstream's init_pg accepts; a table or --backend backend is accepted as well.
_KNOWN_BACKENDS = {"nccl", "gloo", "mpi", "hccl", "xccl", "fake", "cpu:gloo,cuda:ncclx", "cuda:ncclx", "cpu:gloo,xpu:xccl"}


def _accepted_backend(backend: str, device_type: str) -> bool:
    config = get_config()
    own = {config.backend_for(device_type), f"cpu:gloo,{device_type}:{config.backend_for(device_type)}"}
    if backend in _KNOWN_BACKENDS or backend in own:
        return True
    registered = {b.lower() for b in getattr(dist.Backend, "backend_list", [])}
    parts = [part.split(":")[-1] for part in backend.split(",")]
    return all(part in registered or part in _KNOWN_BACKENDS for part in parts)


class DTensorTestMixin:
    is_local_tensor_enabled = False

    @property
    def device_type(self) -> str:
        row = _devices.lookup(DEVICE_TYPE)
        if row is None or not row.accelerator or row.count() < self.world_size:
            return "cpu"
        return DEVICE_TYPE

    def build_device_mesh(self) -> Any:
        from torch.distributed.device_mesh import init_device_mesh

        return init_device_mesh(self.device_type, (self.world_size,))

    def init_manual_seed_for_rank(self) -> None:
        torch.manual_seed(self.rank)

    def run_subtests(self, subtest_config: dict, test_fn: Callable, *test_args: Any, **test_kwargs: Any) -> None:
        run_subtests(self, subtest_config, test_fn, *test_args, **test_kwargs)


def run_subtests(cls_inst: Any, subtest_config: dict, test_fn: Callable, *test_args: Any, **test_kwargs: Any) -> None:
    """Run ``test_fn`` for every combination of the config's values, each in its own subTest."""
    keys = list(subtest_config)
    for values in itertools.product(*(subtest_config[k] for k in keys)):
        kwargs = dict(zip(keys, values))
        with cls_inst.subTest(**kwargs):
            torch._dynamo.reset()
            test_fn(*test_args, **test_kwargs, **kwargs)
            torch._dynamo.reset()
        dist.barrier()


class DTensorTestBase(DTensorTestMixin, MultiProcessTestCase):
    @property
    def world_size(self) -> int:
        return get_config().world_size or NUM_DEVICES

    @property
    def backend(self) -> str:
        return get_config().backend_for(self.device_type)

    def setUp(self) -> None:
        super().setUp()
        self._spawn_processes()

    def init_pg(self, eager_init: bool = False, backend: Optional[str] = None) -> None:
        backend = backend or self.backend
        config = get_config()
        if config.emulating:
            from testing._ranks import emulation as _emulation

            backend = _emulation.cpu_backend(backend, config.backend_for("cpu"))
        row = _devices.lookup(self.device_type)
        wants_accelerator = any(b in backend for b in _devices.accelerator_backends()) or (
            row is not None and row.accelerator and backend == row.backend
        )
        if wants_accelerator and self._usable_devices() < self.world_size:
            sys.exit(TEST_SKIPS[multi_device_key(self.world_size)].exit_code)
        if not _accepted_backend(backend, self.device_type):
            raise RuntimeError(f"Backend {backend} not supported!")
        device_id = None
        if row is not None and row.accelerator and row.set_device and backend != "gloo":
            torch.accelerator.set_device_index(self.rank)
            if eager_init:
                device_id = torch.device(f"{self.device_type}:{self.rank}")
        dist.init_process_group(
            backend=backend,
            world_size=self.world_size,
            rank=self.rank,
            init_method=f"file://{self.file_name}",
            device_id=device_id,
        )

    def _usable_devices(self) -> int:
        row = _devices.lookup(self.device_type)
        return row.count() if row is not None else 0

    def destroy_pg(self, device_id: Optional[int] = None) -> None:
        if device_id is None:
            device_id = _devices.current_device(self.device_type, self.rank)
        row = _devices.lookup(self.device_type)
        if self.device_type == "cpu" or (row is not None and not row.set_device):
            dist.barrier()
        else:
            dist.barrier(device_ids=[device_id])
        dist.destroy_process_group()


class DTensorOpTestBase(MultiThreadedTestCase):
    """Op tests: ranks with a process group already up; ``with_comms`` is a pass-through here."""

    @property
    def world_size(self) -> int:
        return get_config().world_size or NUM_DEVICES

    @property
    def device_type(self) -> str:
        return DEVICE_TYPE

    def _group_device(self) -> str:
        return DEVICE_TYPE

    def build_device_mesh(self) -> Any:
        from torch.distributed.device_mesh import init_device_mesh

        return init_device_mesh(self.device_type, (self.world_size,))

    def setUp(self) -> None:
        super().setUp()
        self._spawn_threads()


class DTensorContinuousTestBase(DTensorTestMixin, MultiProcContinuousTest):
    @classmethod
    def backend_str(cls) -> str:
        return get_config().backend_for(DEVICE_TYPE)

    @classmethod
    def _init_pg(cls, rank: int, world_size: int, rdvz_file: str) -> None:
        # too few accelerators skip, as upstream; otherwise each rank binds to its device
        row = _devices.lookup(DEVICE_TYPE)
        if row is not None and row.accelerator and not get_config().emulating:
            if world_size > row.count():
                sys.exit(TEST_SKIPS[multi_device_key(world_size)].exit_code)
            if row.set_device:
                torch.accelerator.set_device_index(rank)
        super()._init_pg(rank, world_size, rdvz_file)


def with_comms(eager_init: Union[bool, Callable] = False, backend: Optional[str] = None) -> Callable:
    """Initialise the process group around a test (``@with_comms`` or ``@with_comms(...)``)."""

    def decorator(func: Callable, eager_init: bool = False, backend: Optional[str] = None) -> Callable:
        @functools.wraps(func)
        def wrapper(self, *args: Any, **kwargs: Any) -> None:
            if not hasattr(self, "init_pg"):
                func(self, *args, **kwargs)
                return
            self.init_pg(eager_init, backend)
            try:
                func(self, *args, **kwargs)
            except Exception:
                dist.destroy_process_group()
                raise
            self.destroy_pg()

        return wrapper

    if callable(eager_init):
        return decorator(eager_init)
    return functools.partial(decorator, eager_init=eager_init, backend=backend)


def skip_unless_torch_gpu(method: Callable) -> Callable:
    return skip_if_lt_x_gpu(NUM_DEVICES)(method)


class MLPModule(nn.Module):
    def __init__(self, device: Any, bias: bool = True) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.net1 = nn.Linear(10, 16, bias=bias, device=device)
        self.relu = nn.ReLU()
        self.net2 = nn.Linear(16, 10, bias=bias, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net2(self.relu(self.net1(x)))

    def reset_parameters(self) -> None:
        self.net1.reset_parameters()
        self.net2.reset_parameters()


class MLPStacked(nn.Module):
    def __init__(self, device: Any, n_layers: int = 2) -> None:
        super().__init__()
        self.layers = nn.ModuleList([MLPModule(device) for _ in range(n_layers)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x
