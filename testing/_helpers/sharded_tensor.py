"""Sharding specs, models and helpers that ``torch.distributed._shard`` tests borrow (upstream's
``_test_st_common``, ``_test_ops_common`` and ``_shard/test_common``).

Upstream's placements read ``rank:i/cuda:i``. Here the device in a placement is the device the
ranks use: the selected device (``rank:i/cpu`` under ``--device cpu``), else the first accelerator
present, else cuda as upstream, so the same specs place shards where the ranks actually are.
"""

from __future__ import annotations

import builtins
import copy
import random
from typing import Any, Optional

import torch
import torch.nn as nn

from testing._core import devices as _devices
from testing._core.config import get_config

DEFAULT_GPU_NUM = 4


def placement_device() -> str:
    """The device type the placements name."""
    config = get_config()
    if config.device is not None:
        return config.device
    present = [row.name for row in _devices.accelerators() if row.present()]
    return present[0] if present else "cuda"


def placement(rank: int) -> str:
    """``rank:R/<device>:R``, or ``rank:R/cpu`` for CPU ranks (the CPU has no device index)."""
    device = placement_device()
    row = _devices.lookup(device)
    return f"rank:{rank}/{device}" if row is not None and not row.accelerator else f"rank:{rank}/{device}:{rank}"


PLACEMENTS = [placement(r) for r in range(DEFAULT_GPU_NUM)]


def _chunk_sharding_specs_list_for_test(sharding_dims: list[int], seed: int = 0) -> list:
    """One ChunkShardingSpec per dim, over PLACEMENTS shuffled with ``seed + i`` (in place, as upstream)."""
    from torch.distributed._shard.sharding_spec import ChunkShardingSpec

    spec_list = []
    for i in range(len(sharding_dims)):
        random.Random(seed + i).shuffle(PLACEMENTS)
        spec_list.append(ChunkShardingSpec(dim=sharding_dims[i], placements=copy.deepcopy(PLACEMENTS)))
    return spec_list


class MyShardedModel2(nn.Module):
    def __init__(self, spec: Any = None, group: Any = None, init_rrefs: bool = True) -> None:
        super().__init__()
        from torch.distributed._shard import sharded_tensor

        self.sharded_tensor2 = (
            sharded_tensor.rand(spec, 10, 20, process_group=group, init_rrefs=init_rrefs) if spec is not None else None
        )
        self.random_tensor2 = nn.Parameter(torch.rand(2, 2))


class MyShardedModel1(nn.Module):
    def __init__(self, spec: Any = None, group: Any = None, init_rrefs: bool = True) -> None:
        super().__init__()
        from torch.distributed._shard import sharded_tensor

        self.sharded_tensor1 = (
            sharded_tensor.rand(spec, 10, 20, process_group=group, init_rrefs=init_rrefs) if spec is not None else None
        )
        self.random_tensor1 = nn.Parameter(torch.rand(2, 2))
        self.submodule = MyShardedModel2(spec, group, init_rrefs)


_ORDERS = ((0, 1, 2, 3), (2, 3, 0, 1), (3, 0, 1, 2))


def generate_chunk_sharding_specs_for_test(sharding_dim: int) -> list:
    """Upstream's three chunk specs over 4 ranks: natural order and two rotations."""
    from torch.distributed._shard.sharding_spec import ChunkShardingSpec

    return [ChunkShardingSpec(dim=sharding_dim, placements=[placement(r) for r in order]) for order in _ORDERS]


def generate_enumerable_sharding_specs_for_test() -> list:
    """Upstream's 10x10 grid of four 5x5 shards, one per rank."""
    from torch.distributed._shard.sharding_spec import EnumerableShardingSpec, ShardMetadata

    offsets = ([0, 0], [5, 0], [0, 5], [5, 5])
    return [EnumerableShardingSpec([
        ShardMetadata(shard_offsets=list(offset), shard_sizes=[5, 5], placement=placement(rank))
        for rank, offset in enumerate(offsets)
    ])]


def generate_local_weight_sharding_params_for_test(
    local_weight: torch.Tensor, sharded_dim: int, gpu_num: int, spec: Any, rank: int
) -> tuple[int, int]:
    """(start position, chunk size) of ``rank``'s shard of ``local_weight`` under a chunk spec."""
    from torch.distributed._shard.sharding_spec._internals import get_chunked_dim_size, get_split_size

    sharding_dim_size = local_weight.size(sharded_dim)
    split_size = get_split_size(sharding_dim_size, gpu_num)
    current_offsets = 0
    start_pos = current_offsets
    chunk_size: Optional[int] = None
    for idx, spec_placement in enumerate(spec.placements):
        chunk_size = get_chunked_dim_size(sharding_dim_size, split_size, idx)
        if rank == spec_placement.rank():
            start_pos = current_offsets
            break
        current_offsets += chunk_size
    return start_pos, chunk_size


def clone_module_parameter(module: nn.Module, param_name: str) -> nn.Parameter:
    """A detached copy of ``module.<param_name>`` as a new Parameter."""
    return nn.Parameter(getattr(module, param_name).detach().clone())


def gen_binary_op_func(python_op: str, inplace: bool = False) -> Any:
    """``f(lhs, rhs)`` applying ``python_op`` (an operator such as ``+``, or ``torch.add``)."""
    src_lines = ["def f(lhs, rhs):"]
    if "torch" in python_op:
        src_lines.append(f"  return {python_op}(lhs, rhs)\n")
    elif inplace:
        src_lines.append(f"  lhs {python_op}= rhs\n  return lhs\n")
    else:
        src_lines.append(f"  return lhs {python_op} rhs\n")
    namespace = {"torch": torch}
    builtins.exec("\n".join(src_lines), namespace)
    return namespace["f"]


class SimpleMegatronLM(nn.Module):
    """Linear-GELU-Linear, both linears on device ``rank`` of the ranks' device (upstream: ``cuda(rank)``)."""

    def __init__(self, linear_size: Any, rank: Optional[int] = None, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.fc1 = nn.Linear(*linear_size[0], dtype=dtype)
        self.gelu = nn.GELU()
        self.fc2 = nn.Linear(*linear_size[1], dtype=dtype)
        if rank is not None:
            device = placement(rank).split("/", 1)[1]
            self.fc1.to(device)
            self.fc2.to(device)

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.gelu(self.fc1(inp)))

    def get_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        from torch.distributed._shard.sharded_tensor import ShardedTensor

        return tuple(w.local_tensor() if isinstance(w, ShardedTensor) else w for w in (self.fc1.weight, self.fc2.weight))

    def get_biases(self) -> tuple[torch.Tensor, torch.Tensor]:
        return (self.fc1.bias, self.fc2.bias)

    def get_weight_grads(self) -> tuple[torch.Tensor, torch.Tensor]:
        return (self.fc1.weight.grad, self.fc2.weight.grad)

    def get_bias_grads(self) -> tuple[torch.Tensor, torch.Tensor]:
        return (self.fc1.bias.grad, self.fc2.bias.grad)
