"""ShardedTensorTestBase and its with_comms: rank processes with a process group (and RPC) for
``torch.distributed._shard`` tests.

Upstream hard-wires nccl and CUDA: ``with_comms`` defaults to nccl and skips ("Need at least N CUDA
devices") unless the current accelerator's default backend is the one asked for and has a device
per rank. Here the accelerator and its backend come from the device table, so xpu/xccl or a plug-in
behave as cuda/nccl do; under ``--device cpu`` an accelerator backend becomes the CPU backend (gloo),
nothing skips for lack of devices, and RPC gets no device map: the test runs on CPU ranks.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, Optional

import torch
import torch.distributed as dist

from testing._core import devices as _devices
from testing._core.config import get_config
from testing._upstream_api.dist_utils import tp_transports
from testing._core.skips import TEST_SKIPS, multi_device_key
from testing._ranks.multiprocess import MultiProcessTestCase

TEST_GPU_NUM = 4

# upstream's accepted backends, plus every backend the device table names
_UPSTREAM_BACKENDS = ("nccl", "gloo", "mpi", "hccl", "xccl")


def _known_backends() -> set[str]:
    rows = _devices.device_table().values()
    return {*_UPSTREAM_BACKENDS, *(r.backend for r in rows), *(a for r in rows for a in r.backend_aliases)}


def _current_accelerator() -> Optional[_devices.DeviceType]:
    """The accelerator ranks bind to (upstream: torch.accelerator.current_accelerator()), if any."""
    present = [row for row in _devices.accelerators() if row.present()]
    return present[0] if present else None


def _binds_device(backend: str) -> bool:
    """Whether a rank using ``backend`` binds to device ``rank`` (upstream: nccl and xccl)."""
    return any(row.set_device and row.accelerator and backend in (row.backend, *row.backend_aliases)
               for row in _devices.device_table().values())


class ShardedTensorTestBase(MultiProcessTestCase):
    @property
    def world_size(self) -> int:
        return get_config().world_size or TEST_GPU_NUM

    def init_pg(self, backend: str = "nccl") -> None:
        if backend not in _known_backends():
            raise RuntimeError(f"Backend {backend} not supported!")
        config = get_config()
        if config.emulating:
            from testing._ranks import emulation as _emulation

            backend = _emulation.cpu_backend(backend, config.backend_for("cpu"))
        dist.init_process_group(
            backend=backend, world_size=self.world_size, rank=self.rank, init_method=f"file://{self.file_name}")
        if _binds_device(backend):  # collectives of this backend need each rank on its own device
            torch.accelerator.set_device_index(self.rank)

    def init_rpc(self) -> None:
        from torch.distributed import rpc

        options = rpc.TensorPipeRpcBackendOptions(_transports=tp_transports())
        options.init_method = f"file://{self.file_name}"
        if not get_config().emulating:  # CPU ranks have no devices to map
            for rank in range(self.world_size):
                options.set_device_map(f"worker{rank}", {rank: self.rank, self.rank: rank})
        rpc.init_rpc(name=f"worker{self.rank:d}", rank=self.rank, world_size=self.world_size, rpc_backend_options=options)

    def init_comms(self, init_rpc: bool = True, backend: str = "nccl") -> None:
        if init_rpc:
            self.init_rpc()
        self.init_pg(backend=backend)

    def destroy_comms(self, destroy_rpc: bool = True) -> None:
        dist.barrier()  # every rank reaches here before shutdown starts
        if destroy_rpc:
            from torch.distributed import rpc

            rpc.shutdown()
        dist.destroy_process_group()

    def setUp(self) -> None:
        super().setUp()
        self._spawn_processes()

    def assert_sharded_tensor_equal(self, st1: Any, st2: Any) -> None:
        st1_local_shards, st2_local_shards = st1.local_shards(), st2.local_shards()
        self.assertEqual(len(st1_local_shards), len(st2_local_shards))
        for i, st1_local_shard in enumerate(st1_local_shards):
            self.assertEqual(st1_local_shard.tensor, st2_local_shards[i].tensor)
            self.assertEqual(st1_local_shard.metadata, st2_local_shards[i].metadata)
        self.assertEqual(st1.metadata(), st2.metadata())
        self.assertEqual(st1.sharding_spec(), st2.sharding_spec())
        self.assertEqual(len(st1.remote_shards()), len(st2.remote_shards()))


def _lacks_devices(backend: str, world_size: int) -> bool:
    """Upstream's check before an accelerator backend: the current accelerator must use it by default
    and have a device per rank. Never under ``--device cpu``, where ranks are the devices."""
    config = get_config()
    if config.emulating or backend not in _devices.accelerator_backends():
        return False
    row = _current_accelerator()
    if config.device is not None:
        row = _devices.lookup(config.device)
    return row is None or backend != config.backend_for(row.name) or row.count() < world_size


def with_comms(func: Optional[Callable] = None, init_rpc: bool = True, backend: str = "nccl") -> Callable:
    """Initialise the process group (and RPC, unless ``init_rpc=False``) around a test."""
    if func is None:
        return functools.partial(with_comms, init_rpc=init_rpc, backend=backend)

    @functools.wraps(func)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
        if _lacks_devices(backend, self.world_size):
            sys.exit(TEST_SKIPS[multi_device_key(self.world_size)].exit_code)
        self.init_comms(init_rpc=init_rpc, backend=backend)
        func(self, *args, **kwargs)
        self.destroy_comms(destroy_rpc=init_rpc)

    return wrapper
