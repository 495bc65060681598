"""Test bases whose ranks get a process group before the test body runs.

Upstream has two such families, built on machinery of their own:
* MultiThreadedTestCase / DTensorOpTestBase run the ranks as threads of the test process over a
  "threaded" process group;
* MultiProcContinuousTest / DTensorContinuousTestBase keep one pool of rank processes per class,
  and after a failure skip every later test of the class ("Previous test failed").

Here both run on the rank-process engine: fresh ranks per test (forked, so cheap), a process group
initialised in each rank before the test and destroyed after it. Test ids and outcomes of correct
tests are upstream's; ranks are processes rather than threads; a failure never skips the tests
after it. A rank's ``skipTest`` is a skip here on every release; upstream's pool reported it as an
ERROR up to torch 2.13 and as a skip from 2.14 on (versions.TABLE, ``continuous_rank_skip_is_skip``).
"""

from __future__ import annotations

import inspect
import unittest
from datetime import timedelta
from typing import Any, Optional

import torch
import torch.distributed as dist

from testing._core import versions as _versions
from testing._core.config import get_config, scoped_env
from testing._ranks.multiprocess import DEFAULT_WORLD_SIZE, MultiProcessTestCase


def init_together(backend: Optional[str], **kwargs: Any) -> None:
    """init_process_group that returns on no rank before every rank has finished it (torch's own
    store barrier, ``TORCH_DIST_INIT_BARRIER=1``, for this call only).

    These bases start fresh ranks per test where upstream keeps a pool: a rank whose test ends right
    after the group exists (a failure, a trivial pass) would leave while a peer is still in gloo's
    connectFullMesh, and that peer would fail with "Connection closed by peer". Only here, where the
    store is this harness's FileStore: a test's own store (upstream's FakeStore) may not have ``add``.
    """
    with scoped_env({"TORCH_DIST_INIT_BARRIER": "1"}):
        dist.init_process_group(backend, **kwargs)


class _AutoCommsTestCase(MultiProcessTestCase):
    """Ranks start in setUp; each rank joins a process group over the test's FileStore first."""

    def setUp(self) -> None:
        super().setUp()
        self._spawn_processes()

    def _group_device(self) -> str:
        return "cpu"

    def _group_backend(self) -> Optional[str]:
        return get_config().backend_for(self._group_device())

    def _rank_setup(self) -> None:
        store = dist.FileStore(self.file_name, int(self.world_size))
        init_together(self._group_backend(), rank=self.rank, world_size=int(self.world_size), store=store)


class MultiThreadedTestCase(_AutoCommsTestCase):
    """Upstream's thread-based ranks, run as processes (``_spawn_threads`` starts them)."""

    MAIN_THREAD_RANK = -1

    def setUp(self) -> None:
        MultiProcessTestCase.setUp(self)  # subclasses call _spawn_threads(), as upstream

    def _spawn_threads(self) -> None:
        self._spawn_processes()

    def perThreadSetUp(self) -> None:  # noqa: N802  (upstream's hook names)
        pass

    def perThreadTearDown(self) -> None:  # noqa: N802
        pass

    def _rank_setup(self) -> None:
        super()._rank_setup()
        self.perThreadSetUp()

    def assertEqualOnRank(self, x: Any, y: Any, msg: Any = None, *, rank: int = 0) -> None:  # noqa: N802
        if self.rank == rank:
            self.assertEqual(x, y, msg)

    def assertNotEqualOnRank(self, x: Any, y: Any, msg: Any = None, *, rank: int = 0) -> None:  # noqa: N802
        if self.rank == rank:
            self.assertNotEqual(x, y, msg)


class MultiProcContinuousTest(_AutoCommsTestCase):
    """``world_size`` is a class attribute (or property); -2 means the device count."""

    world_size: int = -2
    timeout = timedelta(seconds=120)

    @classmethod
    def backend_str(cls) -> Optional[str]:
        return None

    @classmethod
    def device_type(cls) -> str:
        accelerator = torch.accelerator.current_accelerator()
        return accelerator.type if accelerator is not None else "cpu"

    @classmethod
    def opts(cls, high_priority_stream: bool = False) -> Any:
        return None

    @classmethod
    def _resolve_world_size(cls, device_type: str) -> int:
        attribute = inspect.getattr_static(cls, "world_size", None)
        size = attribute.fget(object.__new__(cls)) if isinstance(attribute, property) else attribute
        if size == -2:
            size = get_config().world_size or torch.get_device_module(device_type).device_count()
            if size == 0:
                raise unittest.SkipTest(f"No {device_type} devices available")
        return int(size)

    def _device(self) -> str:
        device = self.device_type
        return device() if callable(device) else device

    def _fix_world_size(self) -> None:
        size = self._resolve_world_size(self._device())
        if not isinstance(inspect.getattr_static(type(self), "world_size", None), property):
            self.world_size = size

    @classmethod
    def _check_backend(cls) -> None:
        """Upstream's class set-up check: an unavailable backend skips every test of the class. Up to
        torch 2.14 only nccl, gloo, mpi and xccl are checked; from 2.15 any backend name."""
        backend = cls.backend_str() if callable(cls.backend_str) else cls.backend_str
        if backend is None:
            return
        if _versions.current("continuous_checks_any_backend"):
            try:
                available = dist.is_backend_available(backend)
            except Exception:
                available = False
        else:
            check = {"nccl": dist.is_nccl_available, "gloo": dist.is_gloo_available,
                     "mpi": dist.is_mpi_available, "xccl": getattr(dist, "is_xccl_available", lambda: False)}.get(backend)
            available = check is None or check()
        if not available:
            raise unittest.SkipTest(f"Backend '{backend}' is not available")

    def setUp(self) -> None:
        self._fix_world_size()
        self._check_backend()
        super().setUp()

    def _group_device(self) -> str:
        return self._device()

    @classmethod
    def _init_pg(cls, rank: int, world_size: int, rdvz_file: str) -> None:
        store = dist.FileStore(rdvz_file, world_size)
        init_together(cls.backend_str(), rank=rank, world_size=world_size, store=store,
                      timeout=cls.timeout, pg_options=cls.opts())

    def _rank_setup(self) -> None:
        self._fix_world_size()  # ranks run no setUp: resolve -2 here too
        type(self)._init_pg(self.rank, int(self.world_size), self.file_name)


__all__ = ["MultiThreadedTestCase", "MultiProcContinuousTest", "DEFAULT_WORLD_SIZE"]
