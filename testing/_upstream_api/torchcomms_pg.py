"""common_distributed's torchcomms support: which torchcomms backends are built, and a process
group whose backend is a torchcomms communicator (``setup_torchcomms_pg``).

torchcomms is a separate package; torch says whether it is usable (``_TORCHCOMM_AVAILABLE``).
Without it the flags are False and ``setup_torchcomms_pg`` fails when called, as upstream's does.
"""

from __future__ import annotations

import importlib
from typing import Any

import torch
import torch.distributed as c10d
from torch.distributed.distributed_c10d import _TORCHCOMM_AVAILABLE

from testing._core.config import set_env


def _built(backend: str) -> bool:
    return bool(_TORCHCOMM_AVAILABLE and importlib.import_module("torchcomms").is_backend_built(backend))


TORCHCOMM_HAS_GLOO = _built("gloo")
TORCHCOMM_HAS_XCCL = _built("xccl")
TORCHCOMM_HAS_NCCL = _built("nccl")
TORCHCOMM_HAS_RCCL = False  # upstream declares it and never sets it
TORCHCOMM_HAS_NCCLX = _built("ncclx")
TORCHCOMM_HAS_RCCLX = _built("rcclx")


def setup_torchcomms_pg(backend: str, rank: int, world_size: int, device: torch.device, store_path: str,
                        group_name: str) -> c10d.ProcessGroup:
    """A bare ProcessGroup whose NCCL-typed backend wraps a torchcomms comm of ``backend``,
    registered in c10d's world under ``group_name`` (unique per process, as is ``store_path``)."""
    import torchcomms  # a missing package fails here, when a test calls it
    from torch.distributed.distributed_c10d import _BackendWrapper, _register_pg_in_world

    file_store = c10d.FileStore(store_path, world_size)
    set_env("TORCHCOMM_RANK", str(rank))
    set_env("TORCHCOMM_SIZE", str(world_size))
    tc_comm: Any = torchcomms.new_comm(backend, device, name=f"{group_name}_comm",
                                       store=c10d.PrefixStore(f"{group_name}_tc/", file_store),
                                       hints={"persistent_store": "true"})
    pg = c10d.ProcessGroup(c10d.PrefixStore(f"{group_name}_pg/", file_store), tc_comm.get_rank(), tc_comm.get_size())
    pg._register_backend(tc_comm.get_device(), c10d.ProcessGroup.BackendType.NCCL, _BackendWrapper(tc_comm))
    # _register_backend leaves the default backend type undefined; symmetric-memory setters need it
    pg._set_default_backend(c10d.ProcessGroup.BackendType.NCCL)
    pg._set_group_name(group_name)
    _register_pg_in_world(pg, backend_name=backend, store=file_store, group_name=group_name,
                          backend_config=backend, rank_mapping={r: r for r in range(world_size)})
    return pg
