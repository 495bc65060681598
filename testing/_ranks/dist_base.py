"""DistributedTestBase and the Dynamo bases: rank processes whose tests create their own group.

Upstream picks the backend from the device string (cuda -> nccl, hpu -> hccl, xpu -> xccl, else
gloo); here the device table answers, so a plug-in device gets its own backend, and under
``--device cpu`` an accelerator's backend becomes gloo and no device is bound.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Optional

import torch
import torch.distributed as c10d

from testing._core.config import scoped_env, set_env
from testing._core import devices as _devices
from testing._core.config import get_config
from testing._ranks.multiprocess import DEFAULT_WORLD_SIZE, MultiProcessTestCase


class _FakeStore(c10d.Store):
    """A store for the fake process group, which never talks to another rank (upstream's FakeStore)."""


def _device_type(device: Any) -> str:
    return torch.device(device).type if not isinstance(device, torch.device) else device.type


def _visible_devices(device: Any) -> int:
    return torch.get_device_module(_device_type(device)).device_count()


class DistributedTestBase(MultiProcessTestCase):
    def setUp(self) -> None:
        super().setUp()
        set_env("WORLD_SIZE", str(self.world_size))
        self._spawn_processes()

    def tearDown(self) -> None:
        try:
            torch.distributed.destroy_process_group()
        except (AssertionError, ValueError):
            pass
        super().tearDown()

    def backend(self, device: Any) -> str:
        config = get_config()
        backend = config.backend_for(_device_type(device))
        if config.emulating:
            from testing._ranks import emulation as _emulation

            backend = _emulation.cpu_backend(backend, config.backend_for("cpu"))
        return backend

    def create_pg(self, device: Any, world_size: Optional[int] = None) -> Any:
        world_size = self.world_size if world_size is None else world_size
        backend = self.backend(device)
        # upstream sizes the store by the visible devices; CPU ranks count themselves
        workers = world_size if get_config().emulating else _visible_devices(device)
        store = torch.distributed.FileStore(self.file_name, workers)
        torch.distributed.init_process_group(backend=backend, world_size=world_size, rank=self.rank, store=store)
        row = _devices.lookup(_device_type(device))
        binds = row is not None and row.accelerator and row.set_device and backend in (row.backend, *row.backend_aliases)
        if binds:
            accelerator = torch.accelerator.current_accelerator()
            if not accelerator:
                raise RuntimeError(
                    "Expected to find an accelerator when initializing process group"
                    f" with {backend} backend, but got None")
            bound = torch.device(f"{accelerator.type}:{self.rank}")
            torch.set_default_device(bound)
            torch.accelerator.set_device_index(bound)
        return torch.distributed.distributed_c10d._get_default_group()

    def rank_to_device(self, device: Any) -> dict[int, list[int]]:
        count = max(_visible_devices(device), 1)
        return {i: [i % count] for i in range(self.world_size)}


@contextlib.contextmanager
def _dynamo_dist_per_rank_init(rank: int, world_size: int, backend: Optional[str] = None,
                               init_pg: bool = True, fake_pg: bool = False) -> Iterator[None]:
    """Per-rank set-up of Dynamo distributed tests: bind the device, init a group (env://, or a
    fake group), and reset Dynamo before and after."""
    import torch._dynamo

    config = get_config()
    accelerator = torch.accelerator.current_accelerator() if not config.emulating else None
    if not fake_pg and accelerator is not None:
        torch.accelerator.set_device_index(rank)
    device_type = accelerator.type if accelerator is not None else "cpu"
    if backend is None:
        backend = config.backend_for(device_type)
    if config.emulating:
        from testing._ranks import emulation as _emulation

        backend = _emulation.cpu_backend(backend, config.backend_for("cpu"))
    set_env("MASTER_ADDR", "localhost")
    set_env("MASTER_PORT", "6789")
    if init_pg:
        if fake_pg:
            import torch.distributed.fsdp  # noqa: F401  (torch's own modules register the "fake" backend)

            c10d.init_process_group(backend="fake", world_size=world_size, rank=rank, store=_FakeStore())
        else:
            c10d.init_process_group(backend=backend, rank=rank, world_size=world_size)
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    try:
        yield
    finally:
        torch._dynamo.reset()
        torch._dynamo.utils.counters.clear()
        if init_pg:
            c10d.destroy_process_group()


class DynamoDistributedMultiProcTestCase(DistributedTestBase):
    """Multi-rank Dynamo tests: one rank per accelerator (per CPU rank under ``--device cpu``)."""

    @property
    def world_size(self) -> int:
        config = get_config()
        if config.emulating:
            return config.world_size or DEFAULT_WORLD_SIZE
        return _devices.max_accelerator_count()

    @classmethod
    def _run(cls, rank: int, test_name: str, file_name: str, parent_pipe: Any, **kwargs: Any) -> None:
        import logging

        from torch._logging._internal import trace_log

        trace_log.addHandler(logging.NullHandler())
        super()._run(rank, test_name, file_name, parent_pipe, **kwargs)


def _dynamo_single_proc_test_case() -> type:
    from testing._fork.torch_source import load_on_harness

    dynamo_test_case = load_on_harness("torch._dynamo.test_case").TestCase

    class DynamoDistributedSingleProcTestCase(dynamo_test_case):  # type: ignore[misc, valid-type]
        """Single-process Dynamo tests on a world of one, built in setUpClass, as upstream.

        The device is the current accelerator's (upstream: ``torch.accelerator.current_accelerator()``,
        which fails on a machine without one); under ``--device cpu`` it is the CPU, and the backend
        comes from the device table.
        """

        @classmethod
        def setUpClass(cls) -> None:
            super().setUpClass()
            cls._exit_stack.enter_context(scoped_env({"MASTER_ADDR": "localhost", "MASTER_PORT": "12355"}))
            cls.rank = 0
            config = get_config()
            device = "cpu" if config.emulating else torch.accelerator.current_accelerator().type
            cls.device = f"{device}:{cls.rank}"
            cls.device_ids = None if device in cls.device else [cls.rank]
            c10d.init_process_group(config.backend_for(device), rank=cls.rank, world_size=1)

        @classmethod
        def tearDownClass(cls) -> None:
            c10d.destroy_process_group()
            super().tearDownClass()

    DynamoDistributedSingleProcTestCase.__module__ = __name__
    DynamoDistributedSingleProcTestCase.__qualname__ = "DynamoDistributedSingleProcTestCase"
    return DynamoDistributedSingleProcTestCase


def __getattr__(name: str) -> Any:
    # built on first use: its base is torch._dynamo's TestCase, and importing torch._dynamo's test
    # case costs seconds (and loads torch's own fake_pg) that a file without it should not pay
    if name == "DynamoDistributedSingleProcTestCase":
        cls = globals()[name] = _dynamo_single_proc_test_case()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
