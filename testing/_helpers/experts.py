"""The mixture-of-experts pieces of upstream's toy Transformer, and the styles that parallelize them.

A dense mixture: every token goes through every expert and the outputs are averaged (no router),
so a parallel copy can be compared with a single-device copy made from the same seed. Parameter
names, shapes and creation order are upstream's (``w1``: experts x hidden x dim, ``w2``: experts x
dim x hidden, both normal(0, 0.02), w1 first), since tests address them and seed them.

Parallel styles:
* TensorParallelForExpert: w1 split on its hidden dim, w2 on its hidden dim; each rank's output
  is a partial sum, reduced to ``output_layouts`` (Replicate by default).
* ExpertParallel: experts split across ranks; tokens are all-gathered before and reduce-scattered
  (summed) after, so each rank gets its own tokens back.
* ExpertParallelWithTP: both, on the 2-D (ep, tp) mesh.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import nn
from torch.distributed._functional_collectives import all_gather_single_autograd, reduce_scatter_single_autograd
from torch.distributed.tensor import DeviceMesh, DTensor, Partial, Replicate, Shard, distribute_module, distribute_tensor
from torch.distributed.tensor.parallel import ParallelStyle

INIT_STD = 0.02


def _local(weight: torch.Tensor) -> torch.Tensor:
    return weight.to_local() if isinstance(weight, DTensor) else weight


class Experts(nn.Module):
    def __init__(self, dim: int, hidden_dim: int, num_experts: int) -> None:
        super().__init__()
        self.num_experts = num_experts
        self.w1 = nn.Parameter(torch.empty(num_experts, hidden_dim, dim))
        self.w2 = nn.Parameter(torch.empty(num_experts, dim, hidden_dim))
        self.reset_parameters()
        self.gelu = nn.GELU()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.w1, std=INIT_STD)
        nn.init.normal_(self.w2, std=INIT_STD)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        # the styles hand over plain token tensors and shard the weights: compute on local shards
        w1, w2 = _local(self.w1), _local(self.w2)
        per_expert = tokens.unsqueeze(0).expand(w1.shape[0], -1, -1)
        hidden = self.gelu(torch.bmm(per_expert, w1.transpose(-2, -1)))
        return torch.bmm(hidden, w2.transpose(-2, -1)).sum(dim=0)


class ExpertLayer(nn.Module):
    def __init__(self, num_experts: int, dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.num_experts = num_experts
        self.experts = Experts(dim=dim, hidden_dim=hidden_dim, num_experts=num_experts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, dim = x.shape
        mixed = self.experts(x.view(-1, dim)) / self.num_experts
        return mixed.view(batch, length, dim)


def _gather_tokens(tokens: torch.Tensor, mesh: DeviceMesh) -> torch.Tensor:
    gathered = all_gather_single_autograd(tokens, gather_dim=0, group=mesh.get_group())
    return torch.ops._c10d_functional.wait_tensor(gathered)


def _scatter_sum(outputs: torch.Tensor, mesh: DeviceMesh) -> torch.Tensor:
    scattered = reduce_scatter_single_autograd(outputs, "sum", scatter_dim=0, group=mesh.get_group())
    return torch.ops._c10d_functional.wait_tensor(scattered)


def _reduce_partial(outputs: torch.Tensor, mesh: DeviceMesh, layout: Any) -> torch.Tensor:
    return DTensor.from_local(outputs, mesh, [Partial()]).redistribute(mesh, [layout]).to_local()


# which dimension of each expert weight tensor parallelism splits (the hidden one)
_TP_DIM = {"w1": 1, "w2": 2}


class TensorParallelForExpert(ParallelStyle):
    """TP inside each expert; with ``input_layouts=Shard(0), output_layouts=Shard(0)`` tokens are
    gathered before and reduce-scattered after (sequence parallel)."""

    def __init__(self, *, input_layouts: Optional[Any] = None, output_layouts: Optional[Any] = None) -> None:
        super().__init__()
        self.input_layouts = input_layouts
        self.output_layouts = output_layouts or Replicate()

    def _partition_fn(self, name: str, module: nn.Module, mesh: DeviceMesh) -> None:
        for param_name, param in list(module.named_parameters(recurse=False)):
            if param_name in _TP_DIM:
                sharded = distribute_tensor(param, mesh, [Shard(_TP_DIM[param_name])])
                module.register_parameter(param_name, nn.Parameter(sharded))

    def _input_fn(self, module: nn.Module, inputs: tuple, mesh: DeviceMesh) -> tuple:
        if self.input_layouts is None:
            return inputs
        tokens = DTensor.from_local(inputs[0], mesh, [self.input_layouts]).redistribute(mesh, [Replicate()])
        return (tokens.to_local(),)

    def _output_fn(self, module: nn.Module, outputs: torch.Tensor, mesh: DeviceMesh) -> torch.Tensor:
        return _reduce_partial(outputs, mesh, self.output_layouts)

    def _apply(self, module: nn.Module, device_mesh: DeviceMesh) -> nn.Module:
        return distribute_module(module, device_mesh, partition_fn=self._partition_fn,
                                 input_fn=self._input_fn, output_fn=self._output_fn)


class ExpertParallel(ParallelStyle):
    """Experts split across ranks (Shard(0) of every parameter); all tokens visit every rank."""

    def _partition_fn(self, name: str, module: nn.Module, mesh: DeviceMesh) -> None:
        for param_name, param in list(module.named_parameters(recurse=False)):
            module.register_parameter(param_name, nn.Parameter(distribute_tensor(param, mesh, [Shard(0)])))

    def _apply(self, module: nn.Module, device_mesh: DeviceMesh) -> nn.Module:
        return distribute_module(
            module, device_mesh, partition_fn=self._partition_fn,
            input_fn=lambda mod, inputs, mesh: (_gather_tokens(inputs[0], mesh),),
            output_fn=lambda mod, outputs, mesh: _scatter_sum(outputs, mesh),
        )


class ExpertParallelWithTP(ParallelStyle):
    """Applied to an ExpertLayer: experts over ``ep_mesh``, each expert's hidden dim over ``tp_mesh``.

    Order in forward: EP gather (on the layer), TP input, experts, TP reduce (on the experts),
    EP reduce-scatter (on the layer).
    """

    def __init__(self, ep_mesh: DeviceMesh, tp_mesh: DeviceMesh) -> None:
        super().__init__()
        self.ep_mesh = ep_mesh
        self.tp_mesh = tp_mesh
        self.ep_tp_mesh = DeviceMesh._concatenate([ep_mesh, tp_mesh])

    def _apply(self, module: nn.Module, device_mesh: DeviceMesh) -> nn.Module:
        experts = module.experts
        for param_name, param in list(experts.named_parameters(recurse=False)):
            if param_name in _TP_DIM:
                placements = [Shard(0), Shard(_TP_DIM[param_name])]
                experts.register_parameter(param_name, nn.Parameter(distribute_tensor(param, self.ep_tp_mesh, placements)))
        ep_mesh, tp_mesh = self.ep_mesh, self.tp_mesh
        module.register_forward_pre_hook(lambda mod, inputs: (_gather_tokens(inputs[0], ep_mesh),))
        module.register_forward_hook(lambda mod, inputs, output: _scatter_sum(output, ep_mesh))

        def replicate_with_partial_grad(mod: nn.Module, inputs: tuple) -> tuple:
            # forward: the same tokens on every TP rank; backward: their gradients are summed
            tokens = DTensor.from_local(inputs[0], tp_mesh, [Replicate()])
            return (tokens.to_local(grad_placements=[Partial()]),)

        experts.register_forward_pre_hook(replicate_with_partial_grad)
        experts.register_forward_hook(lambda mod, inputs, output: _reduce_partial(output, tp_mesh, Replicate()))
        return module
