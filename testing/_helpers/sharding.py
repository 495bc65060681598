"""Helpers of upstream's DTensor sharding tests: shard orders, and checking a sharding rule by example.

* A shard order says, per tensor dim, which mesh dims shard it and in what order (DTensor's
  ``ShardOrderEntry``). `generate_shard_orders` lists every one for a mesh and a tensor rank, in
  upstream's order; `redistribute` / `patched_distribute_tensor` / `make_full_tensor` move a
  DTensor to a given order through DTensor's own local redistribution.
* `validate_sharding_rule_sample(_backward)` run an op on full tensors and on shards placed as a
  rule says, and compare (forward results; gradients).
* `op_strategy_context` swaps an op's sharding strategy for the length of a block.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
from collections.abc import Callable, Iterator
from typing import Any, Optional

import torch
from torch.distributed.tensor import DTensor, Replicate, Shard, distribute_tensor
from torch.distributed.tensor._dtensor_spec import ShardOrderEntry
from torch.distributed.tensor._redistribute import redistribute_local_tensor
from torch.utils import _pytree as pytree


def shard_order_to_placement(shard_order: Any, mesh: Any) -> tuple:
    """Placements (Shard / Replicate only) that a shard order describes on ``mesh``."""
    placements: list[Any] = [Replicate()] * mesh.ndim
    for entry in shard_order or ():
        for mesh_dim in entry.mesh_dims:
            placements[mesh_dim] = Shard(entry.tensor_dim)
    return tuple(placements)


def generate_shard_orders(mesh: Any, tensor_rank: int) -> Iterator[tuple]:
    """Every shard order of a rank-``tensor_rank`` tensor on ``mesh`` (duplicates included, as upstream).

    For each ordering of the mesh dims, cut it into 1..ndim contiguous runs and give the runs, in
    turn, to each increasing choice of as many tensor dims.
    """
    ndim = mesh.ndim
    for mesh_order in itertools.permutations(range(ndim)):
        for runs in range(1, ndim + 1):
            for cuts in itertools.combinations(range(1, ndim), runs - 1):
                bounds = (0, *cuts, ndim)
                segments = [mesh_order[start:stop] for start, stop in itertools.pairwise(bounds)]
                for tensor_dims in itertools.combinations(range(tensor_rank), runs):
                    yield tuple(ShardOrderEntry(tensor_dim=dim, mesh_dims=tuple(segment))
                                for dim, segment in zip(tensor_dims, segments))


def redistribute(dtensor_input: DTensor, device_mesh: Any, placements: Any, shard_order: Any,
                 use_graph_based_transform: bool = True) -> DTensor:
    """``dtensor_input`` moved to ``placements`` in ``shard_order`` (forward only)."""
    if placements is None:
        placements = shard_order_to_placement(shard_order, device_mesh)
    source = dtensor_input._spec
    target = copy.deepcopy(source)
    target.placements = tuple(placements)
    target.shard_order = shard_order if shard_order is not None else ()
    if target == source:
        return dtensor_input
    local = redistribute_local_tensor(dtensor_input.to_local(), source, target,
                                      use_graph_based_transform=use_graph_based_transform)
    moved = DTensor.from_local(local, device_mesh)
    moved._spec = copy.deepcopy(target)
    return moved


def patched_distribute_tensor(input_tensor: torch.Tensor, device_mesh: Any, placements: Any, shard_order: Any,
                              use_graph_based_transform: bool = True, src_data_rank: Optional[int] = 0) -> DTensor:
    """distribute_tensor, then the shard order asked for (strided shards do not express one here)."""
    if placements is None:
        placements = shard_order_to_placement(shard_order, device_mesh)
    placements = tuple(placements)
    distributed = distribute_tensor(input_tensor, device_mesh, placements, src_data_rank=src_data_rank)
    distributed._spec.use_strided_shard_as_shard_order = False
    distributed._spec.__post_init__()
    return redistribute(distributed, device_mesh, placements, shard_order, use_graph_based_transform)


def make_full_tensor(dtensor_input: DTensor) -> torch.Tensor:
    """The whole tensor, whatever the shard order."""
    return redistribute(dtensor_input, dtensor_input.device_mesh, placements=None, shard_order=()).to_local()


def _tensor_leaves(*trees: Any) -> list[torch.Tensor]:
    return [leaf for tree in trees for leaf in pytree.tree_leaves(tree) if isinstance(leaf, torch.Tensor)]


def _substitute(args: Any, kwargs: Any, replacements: list[Any]) -> tuple[Any, Any]:
    """(args, kwargs) with their tensors replaced, in leaf order."""
    pending = iter(replacements)
    return pytree.tree_map(lambda leaf: next(pending) if isinstance(leaf, torch.Tensor) else leaf, (args, kwargs))


def validate_sharding_rule_sample(op: Callable, full_args: Any, full_kwargs: Any, input_placements: Any,
                                  output_placements: Any, device_mesh: Any) -> bool:
    """Whether running ``op`` on shards placed as ``input_placements`` gives outputs that, read as
    ``output_placements``, equal ``op`` on the full tensors (1-D mesh)."""
    inputs = _tensor_leaves(full_args, full_kwargs)
    shards = [distribute_tensor(t, device_mesh, (p,)).to_local() for t, p in zip(inputs, input_placements)]
    local_args, local_kwargs = _substitute(full_args, full_kwargs, shards)
    expected = _tensor_leaves(op(*full_args, **full_kwargs))
    produced = _tensor_leaves(op(*local_args, **local_kwargs))
    for reference, local, placement in zip(expected, produced, output_placements):
        whole = DTensor.from_local(local, device_mesh, (placement,)).redistribute(device_mesh, (Replicate(),)).to_local()
        if reference.shape != whole.shape or not torch.allclose(reference, whole, atol=1e-5, rtol=1e-5, equal_nan=True):
            return False
    return True


# DTensor errors that mean "no backward rule to check", not "a wrong rule"
_NO_BACKWARD_RULE = ("does not have a sharding strategy registered", "got mixed torch.Tensor and DTensor")


def _with_grad(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    copies = [t.detach().clone() for t in tensors]
    for copy_ in copies:
        if copy_.is_floating_point():
            copy_.requires_grad_(True)
    return copies


def _backward(output: Any) -> bool:
    """Sum the differentiable outputs and backprop; False if there is none."""
    differentiable = [t for t in _tensor_leaves(output) if t.is_floating_point() and t.requires_grad]
    if not differentiable:
        return False
    sum(t.sum() for t in differentiable).backward()
    return True


def validate_sharding_rule_sample_backward(op: Callable, full_args: Any, full_kwargs: Any, input_placements: Any,
                                           device_mesh: Any) -> Optional[bool]:
    """Gradients through DTensor with ``input_placements`` against plain tensors: True if equal,
    False if not, None when there is nothing to compare (no float input, no differentiable
    output, or no backward sharding rule)."""
    inputs = _tensor_leaves(full_args, full_kwargs)
    if not any(t.is_floating_point() for t in inputs):
        return None
    reference = _with_grad(inputs)
    ref_args, ref_kwargs = _substitute(full_args, full_kwargs, reference)
    try:
        if not _backward(op(*ref_args, **ref_kwargs)):
            return None
    except RuntimeError:
        return None
    if len(input_placements) != len(inputs):
        raise AssertionError(f"placement/tensor count mismatch: {len(input_placements)} vs {len(inputs)}")
    distributed = [distribute_tensor(t, device_mesh, (p,)) for t, p in zip(_with_grad(inputs), input_placements)]
    args, kwargs = _substitute(full_args, full_kwargs, distributed)
    try:
        if not _backward(op(*args, **kwargs)):
            return None
    except Exception as exc:
        if any(text in str(exc) for text in _NO_BACKWARD_RULE):
            return None
        raise
    for plain, sharded in zip(reference, distributed):
        if not plain.is_floating_point() or plain.grad is None:
            continue
        if sharded.grad is None:
            return False
        grad = sharded.grad.full_tensor() if isinstance(sharded.grad, DTensor) else sharded.grad
        if plain.grad.shape != grad.shape or not torch.allclose(plain.grad, grad, atol=1e-5, rtol=1.3e-6, equal_nan=True):
            return False
    return True


@contextlib.contextmanager
def op_strategy_context(op_overload: Any, strategy_func: Callable, schema_info: Any = None) -> Iterator[None]:
    """``strategy_func`` is ``op_overload``'s sharding strategy inside the block; the previous one
    (or none) after it, with the sharding propagation cache cleared."""
    from torch.distributed.tensor._ops.utils import register_op_strategy
    from torch.distributed.tensor.debug import _clear_sharding_prop_cache

    propagator = DTensor._op_dispatcher.sharding_propagator
    saved = {table: getattr(propagator, table).pop(op_overload, None)
             for table in ("op_strategy_funcs", "op_to_schema_info")}
    try:
        register_op_strategy(op_overload, schema_info=schema_info)(strategy_func)
        yield
    finally:
        for table, previous in saved.items():
            entries = getattr(propagator, table)
            if previous is None:
                entries.pop(op_overload, None)
            else:
                entries[op_overload] = previous
        _clear_sharding_prop_cache()
