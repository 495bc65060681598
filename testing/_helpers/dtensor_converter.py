"""DTensorConverter (common_dtensor): every way to place an op's tensor arguments on a mesh.

Iterating it yields ``(args, kwargs)`` with each tensor argument turned into a DTensor, once per
combination of placements: Replicate, or Shard(d) for each dimension the mesh size divides evenly
(bool tensors stay replicated, scalars are always replicated). ``successful()`` says whether every
tensor could be converted (sparse, quantized, nested, conjugated ... tensors cannot). Upstream's
order of combinations, so an op test visits the same placements under both harnesses.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

import torch
import torch.nn as nn
from torch.distributed._local_tensor import LocalTensor
from torch.distributed.tensor import DeviceMesh, Placement, Replicate, Shard, distribute_tensor
from torch.utils._pytree import tree_flatten, tree_unflatten


class DTensorConverter:
    def __init__(self, mesh: DeviceMesh, args: tuple[object, ...], kwargs: dict[str, object],
                 replicate_only: bool = False) -> None:
        self.hit = 0
        self.miss = 0
        self.mesh = mesh
        self.args = args
        self.kwargs = kwargs
        self.replicate_only = replicate_only
        self.flatten_args, self.flatten_args_spec = tree_flatten(args)
        self.flatten_kwargs, self.flatten_kwargs_spec = tree_flatten(kwargs)
        tensors = [a for a in self.flatten_args + self.flatten_kwargs if isinstance(a, torch.Tensor)]
        choices = [self.gen_sharding_choices_for_arg(t) for t in tensors]
        self.sharding_combs: Iterator[Sequence[Placement]] = iter(itertools.product(*choices))

    def successful(self) -> bool:
        return self.hit > 0 and self.miss == 0

    def is_supported_tensor(self, t: torch.Tensor) -> bool:
        return not any([
            t.is_sparse_csr, t.is_sparse, t.is_mkldnn, t.is_quantized, t.is_nested,
            torch._is_functional_tensor(t), t.is_neg(), t.is_conj(), t.device.type in ("lazy", "meta"),
        ])

    def gen_sharding_choices_for_arg(self, arg: torch.Tensor) -> Sequence[Placement]:
        if self.replicate_only:
            return [Replicate()]
        mesh_size = self.mesh.size()
        choices: list[Placement] = [Replicate()]
        if arg.dtype != torch.bool:  # c10d collectives take no bool tensors: those stay replicated
            choices += [Shard(i) for i, s in enumerate(arg.shape) if s > 1 and s % mesh_size == 0]
        return choices

    def __iter__(self) -> DTensorConverter:
        return self

    def __next__(self) -> tuple[tuple[object, ...], dict[str, object]]:
        placements = next(self.sharding_combs)  # StopIteration ends the iteration
        index = 0

        def convert(flat: list) -> list:
            nonlocal index
            out = []
            for arg in flat:
                if isinstance(arg, torch.Tensor):
                    out.append(self.to_dist_tensor(arg, self.mesh, [placements[index]]))
                    index += 1
                else:
                    out.append(arg)
            return out

        new_args = convert(self.flatten_args)
        new_kwargs = convert(self.flatten_kwargs)
        return (tree_unflatten(new_args, self.flatten_args_spec),
                tree_unflatten(new_kwargs, self.flatten_kwargs_spec))

    def to_dist_tensor(self, t: torch.Tensor, mesh: DeviceMesh, placements: list[Placement]) -> torch.Tensor:
        if type(t) is torch.Tensor or type(t) is nn.Parameter or type(t) is LocalTensor:
            if not self.is_supported_tensor(t):
                self.miss += 1
                return t
            self.hit += 1
            # a scalar tensor is replicated whatever the choice
            r = distribute_tensor(t, mesh, [Replicate()] * mesh.ndim if t.ndim == 0 else placements)
            if isinstance(t, nn.Parameter):
                r = nn.Parameter(r, requires_grad=r.requires_grad)
            return r
        if torch.overrides.is_tensor_like(t):  # tensor subclasses are not wrapped in DTensor
            self.miss += 1
            return t
        raise RuntimeError(f"Trying to convert to DTensor, but got {type(t)}")
