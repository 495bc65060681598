"""common_fsdp's test bases: FSDPTest, FSDPTestMultiThread, FSDPTestContinuous (and FSDPTestMixin).

FSDPTest ranks do what upstream's ``FSDPTest._run`` does, in upstream's order: skip with
``multi-gpu-<world size>`` (2.15: ``multi-device-...``) when the FSDP device has fewer devices than ranks, join the process group
over ``init_method`` with common_fsdp's backend (or the fake backend), bind the rank's device where
the device table says ranks bind one, barrier, reset dynamo, reseed, run the test, barrier, and
destroy the group. The steps before the test run inside ``run_test`` (as ``_rank_setup``), so a skip
or an exception there is reported like one in the test body.

``--device cpu``: every base runs on CPU ranks over gloo (common_fsdp's DEVICE_TYPE is cpu there),
the rank processes count as the devices, and FSDP (v1) built without a device_id gets the CPU
(``emulation.apply``); the world size is ``--world-size`` or the emulated device count
(DEFAULT_WORLD_SIZE), as for DTensorTestBase.
"""

from __future__ import annotations

import sys
import unittest
from typing import Any, Optional

import torch
import torch.distributed as dist

from testing._core.config import set_env
from testing._core.case import set_rng_seed
from testing._core.config import get_config
from testing._upstream_api.flags import FSDP_DEVICE_COUNT as DEVICE_COUNT
from testing._upstream_api.flags import FSDP_DEVICE_TYPE as DEVICE_TYPE
from testing._upstream_api.flags import FSDP_DISTRIBUTED_BACKEND as DISTRIBUTED_BACKEND
from testing._upstream_api.flags import TEST_XPU
from testing._core.skips import TEST_SKIPS, multi_device_key
from testing._helpers.fsdp_parity import FSDPParityMixin
from testing._helpers.fsdp_utils import fsdp_device_row
from testing._ranks.autocomms import MultiProcContinuousTest, MultiThreadedTestCase
from testing._ranks.dtensor import run_subtests
from testing._ranks.multiprocess import MultiProcessTestCase

FILE_SCHEMA = "file:///" if sys.platform == "win32" else "file://"


class _FakeStore(dist.Store):
    """A store for the fake process group, which never talks to another rank (upstream's FakeStore)."""


def _fsdp_backend() -> str:
    """common_fsdp's backend; on CPU ranks its CPU counterpart."""
    config = get_config()
    if config.emulating:
        from testing._ranks import emulation as _emulation

        return _emulation.cpu_backend(DISTRIBUTED_BACKEND, config.backend_for("cpu"))
    return DISTRIBUTED_BACKEND


def _binds_device() -> bool:
    """Whether a rank binds device ``rank % DEVICE_COUNT`` (upstream: cuda, xpu), never on CPU ranks."""
    row = fsdp_device_row()
    return bool(row is not None and row.accelerator and row.set_device and not get_config().emulating)


def _device_ids(rank: int) -> Optional[list[int]]:
    """The barrier's device ids: the rank's device on an accelerator, none on CPU ranks."""
    row = fsdp_device_row()
    if row is None or not row.accelerator or get_config().emulating:
        return None
    return [rank % DEVICE_COUNT]


def _skip_unless_devices(world_size: int) -> None:
    """Upstream skips a world larger than the device count; CPU ranks are their own devices."""
    if get_config().emulating:
        return
    row = fsdp_device_row()
    count = row.count() if row is not None else 0
    if count < world_size:
        sys.exit(TEST_SKIPS[multi_device_key(world_size)].exit_code)


@unittest.skipIf(TEST_XPU, "not-support-multithread")
class FSDPTestMultiThread(MultiThreadedTestCase):
    """Upstream's ranks are threads of one process over a threaded process group, which carries
    CPU and device tensors alike, however many ranks share a device. Here they are processes: on an
    accelerator with a device per rank, each rank binds its device and joins over the device's
    backend; with more ranks than devices (the device backend refuses two ranks on one device) or
    on CPU ranks, they join over the CPU backend (gloo), bound to device ``rank % count``."""

    @property
    def world_size(self) -> int:
        return DEVICE_COUNT

    def setUp(self) -> None:
        super().setUp()
        self._spawn_threads()

    def run_subtests(self, *args: Any, **kwargs: Any) -> None:
        return run_subtests(self, *args, **kwargs)

    def perThreadSetUp(self) -> None:  # noqa: N802  (upstream's hook names)
        torch._dynamo.reset()

    def perThreadTearDown(self) -> None:  # noqa: N802
        torch._dynamo.reset()

    def _device_per_rank(self) -> bool:
        row = fsdp_device_row()
        return _binds_device() and row is not None and int(self.world_size) <= row.count()

    def _group_device(self) -> str:
        return torch.device(DEVICE_TYPE).type if self._device_per_rank() else "cpu"

    def _rank_setup(self) -> None:
        if _binds_device():
            row = fsdp_device_row()
            torch.accelerator.set_device_index(self.rank % max(row.count() if row else 1, 1))
        super()._rank_setup()


class FSDPTestMixin(FSDPParityMixin):
    """What FSDPTest and FSDPTestContinuous share: ``run_subtests`` and the parity helpers."""

    def run_subtests(self, *args: Any, **kwargs: Any) -> None:
        return run_subtests(self, *args, **kwargs)


class FSDPTest(FSDPTestMixin, MultiProcessTestCase):
    def setUp(self) -> None:
        super().setUp()
        # NCCL's workCleanupLoop() makes tests flaky: https://github.com/pytorch/pytorch/issues/90848
        set_env("TORCH_NCCL_DESYNC_DEBUG", "0")
        self._spawn_processes()

    @property
    def world_size(self) -> int:
        return get_config().world_size or DEVICE_COUNT

    @property
    def process_group(self) -> dist.ProcessGroup:
        return dist.distributed_c10d._get_default_group()

    @property
    def destroy_pg_upon_exit(self) -> bool:
        return False  # _run destroys it, after the closing barrier

    @property
    def init_method(self) -> str:
        return f"{FILE_SCHEMA}{self.file_name}"

    @classmethod
    def _run(cls, rank: int, test_name: str, file_name: str, parent_pipe: Any, **kwargs: Any) -> None:
        self = cls(test_name)
        self.rank = rank
        self.file_name = file_name
        self._fake_pg = kwargs.get("fake_pg", False)
        self.run_test(test_name, parent_pipe)  # raises SystemExit unless the test passed
        torch._dynamo.reset()
        if dist.is_initialized():  # a test may have destroyed the group itself
            dist.barrier(device_ids=_device_ids(self.rank))
            dist.destroy_process_group()

    def _rank_setup(self) -> None:
        world_size = int(self.world_size)
        _skip_unless_devices(world_size)
        try:
            if getattr(self, "_fake_pg", False):
                dist.init_process_group(backend="fake", world_size=world_size, rank=self.rank, store=_FakeStore())
            else:
                dist.init_process_group(init_method=self.init_method, backend=_fsdp_backend(),
                                        world_size=world_size, rank=self.rank)
        except RuntimeError as e:
            if e.args and "recompile" in str(e.args[0]):
                sys.exit(TEST_SKIPS["backend_unavailable"].exit_code)
            raise
        if _binds_device():
            torch.accelerator.set_device_index(self.rank % DEVICE_COUNT)
        # every rank has finished initialising before a test that skips at once can leave
        dist.barrier(device_ids=_device_ids(self.rank))
        torch._dynamo.reset()
        set_rng_seed()


class FSDPTestContinuous(FSDPTestMixin, MultiProcContinuousTest):
    """Upstream keeps one pool of ranks per class and one process group across its tests; here each
    test gets fresh ranks with the group already up (see testing._ranks.autocomms)."""

    world_size: int = DEVICE_COUNT

    @classmethod
    def backend_str(cls) -> str:
        return _fsdp_backend()

    @classmethod
    def device_type(cls) -> str:
        return DEVICE_TYPE

    @classmethod
    def _init_pg(cls, rank: int, world_size: int, rdvz_file: str) -> None:
        set_env("TORCH_NCCL_DESYNC_DEBUG", "0")  # see FSDPTest.setUp
        _skip_unless_devices(world_size)
        if _binds_device():
            torch.accelerator.set_device_index(rank % DEVICE_COUNT)
        super()._init_pg(rank, world_size, rdvz_file)

    def _group_device(self) -> str:
        return torch.device(DEVICE_TYPE).type

    def _rank_setup(self) -> None:
        super()._rank_setup()
        # upstream's setUp on the workers: every rank starts the test together
        dist.barrier()
        torch._dynamo.reset()
        set_rng_seed()

    @property
    def process_group(self) -> dist.ProcessGroup:
        return dist.distributed_c10d._get_default_group()


__all__ = ["FSDPTest", "FSDPTestMixin", "FSDPTestMultiThread", "FSDPTestContinuous", "FILE_SCHEMA"]
