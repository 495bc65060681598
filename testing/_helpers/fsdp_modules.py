"""common_fsdp's other models: the delayed wrappers, MixtureOfExperts, DummyDDP, the FSDP2 models
(MLP, MLPStack, DoubleLinear) and the wrap-skipping models (SkipModule, NestedLinear, SkipModel).

Shapes, seeds and names are upstream's. Delays go through ``fsdp_utils.device_sleep``, which asks
the device table what a delay on the FSDP device is (upstream: cuda._sleep, else time.sleep on
hpu/xpu, none on the CPU).
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.distributed._composable import checkpoint
from torch.distributed.device_mesh import DeviceMesh
from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
from torch.distributed.fsdp import fully_shard
from torch.distributed.fsdp.wrap import wrap
from torch.distributed.tensor import Shard
from torch.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel, SequenceParallel, parallelize_module

from testing._helpers.fsdp_models import DEVICEInitMode, FSDPInitMode, FSDPTestModel, NestedWrappedModule
from testing._helpers.fsdp_utils import DEVICE_TYPE, _move_to_device, device_sleep


class ModuleWithDelay(FSDPTestModel):
    """Wraps an FSDPTestModel, optionally delaying after the loss and/or before the gradient
    reduce-scatter."""

    def __init__(self, module: nn.Module, delay_after_loss_ms: int, delay_before_reduction_ms: int) -> None:
        super().__init__()
        self.delay_after_loss_ms = delay_after_loss_ms
        self.delay_before_reduction_ms = delay_before_reduction_ms
        self.module = module

    def get_input(self, device: Any) -> Any:
        return self.module.get_input(device)

    def forward(self, x: Any) -> Any:
        return self.module(x)

    def get_loss(self, input: Any, output: Any) -> torch.Tensor:
        loss = self.module.get_loss(input, output)
        if self.delay_after_loss_ms > 0:
            device_sleep(self.delay_after_loss_ms)
        return loss

    def run_backward(self, loss: torch.Tensor) -> None:
        orig_reduce_scatter = torch.distributed.reduce_scatter_single

        def _delayed_reduce_scatter(*args: Any, **kwargs: Any) -> Any:
            if self.delay_before_reduction_ms > 0:
                device_sleep(self.delay_before_reduction_ms)
            return orig_reduce_scatter(*args, **kwargs)

        with mock.patch("torch.distributed.reduce_scatter_single", _delayed_reduce_scatter):
            self.module.run_backward(loss)

    @staticmethod
    def init(module_class: type[FSDPTestModel], *model_args: Any, delay_after_loss_ms: int,
             delay_before_reduction_ms: int, **model_kwargs: Any) -> ModuleWithDelay:
        """``module_class.init(*model_args, **model_kwargs)`` wrapped with the delays (in ms)."""
        return ModuleWithDelay(module_class.init(*model_args, **model_kwargs), delay_after_loss_ms,
                               delay_before_reduction_ms)


class NestedWrappedModuleWithDelay(ModuleWithDelay):
    @staticmethod
    def init(  # type: ignore[override]
        group: dist.ProcessGroup,
        fsdp_init_mode: FSDPInitMode,
        device_init_mode: DEVICEInitMode = DEVICEInitMode.DEVICE_AFTER,
        fsdp_kwargs: dict[str, Any] | None = None,
        deterministic: bool = False,
        delay_after_loss_ms: int = 0,
        delay_before_reduction_ms: int = 0,
    ) -> ModuleWithDelay:
        return ModuleWithDelay.init(
            NestedWrappedModule, group=group, fsdp_init_mode=fsdp_init_mode, device_init_mode=device_init_mode,
            fsdp_kwargs=fsdp_kwargs, deterministic=deterministic, delay_after_loss_ms=delay_after_loss_ms,
            delay_before_reduction_ms=delay_before_reduction_ms)


class DummyDDP(nn.Module):
    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)


class MixtureOfExperts(NestedWrappedModule):
    def __init__(self, group: dist.ProcessGroup, wrap_fsdp: bool, device_init_mode: DEVICEInitMode,
                 delay_before_free_ms: int, deterministic: bool, **fsdp_kwargs: Any) -> None:
        super().__init__(group=group, wrap_fsdp=wrap_fsdp, device_init_mode=device_init_mode,
                         deterministic=deterministic)
        self.group = group
        self.delay_before_free_ms = delay_before_free_ms
        self.wrap_fsdp = wrap_fsdp
        self.move_to_device = device_init_mode == DEVICEInitMode.DEVICE_BEFORE
        if deterministic:
            torch.manual_seed(42 + self.rank)  # each rank gets different expert parameters
        d_expert = 23
        d_shared = 12
        d_input = 8
        expert = _move_to_device(nn.Linear(d_expert, d_shared), self.move_to_device)
        self.num_expert_params = sum(p.numel() for p in expert.parameters())
        for p in expert.parameters():
            p.expert = True  # type: ignore[attr-defined]
        if deterministic:
            torch.manual_seed(0)  # every other parameter is the same on all ranks
        shared = _move_to_device(nn.Linear(d_shared, d_expert), self.move_to_device)
        if wrap_fsdp:
            # a process group of size 1 for the expert parameters: they are not sharded
            expert_group = torch.distributed.new_group([group.rank()])
            expert = FSDP(expert, expert_group, **fsdp_kwargs)
            shared = FSDP(shared, group, **fsdp_kwargs)
        self.module = nn.Sequential(
            _move_to_device(nn.Linear(d_input, d_shared), self.move_to_device),
            shared,
            expert,
            _move_to_device(nn.Linear(d_shared, d_input), self.move_to_device),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.delay_before_free_ms > 0:
            expert = self.module[2]
            if isinstance(expert, FSDP):
                orig_reshard = torch.distributed.fsdp._runtime_utils._reshard

                def _delayed_reshard(*args: Any, **kwargs: Any) -> Any:
                    device_sleep(self.delay_before_free_ms)
                    return orig_reshard(*args, **kwargs)

                # patched by name: covers any `from ... import _reshard` use as well
                with mock.patch("torch.distributed.fsdp._runtime_utils._reshard", _delayed_reshard):
                    return self.module(x)
        return self.module(x)

    def run_backward(self, loss: torch.Tensor) -> None:
        loss.backward()
        # without FSDP the shared gradients are reduced by hand; the experts' are not reduced
        if not self.wrap_fsdp:
            with torch.no_grad():
                for p in self.parameters():
                    if hasattr(p, "expert"):
                        continue
                    if p.grad is not None:
                        p.grad.div_(self.world_size)
                        torch.distributed.all_reduce(p.grad, group=self.group)

    @staticmethod
    def init(group: dist.ProcessGroup, fsdp_init_mode: FSDPInitMode, device_init_mode: DEVICEInitMode,
             fsdp_kwargs: dict[str, Any] | None = None, deterministic: bool = False,
             delay_before_free_ms: int = 0) -> nn.Module:
        """``RECURSIVE`` wraps the expert and shared layers (not the top-level module)."""
        if fsdp_kwargs is None:
            fsdp_kwargs = {}
        if fsdp_init_mode == FSDPInitMode.NO_FSDP:
            return MixtureOfExperts(group, wrap_fsdp=False, device_init_mode=device_init_mode,
                                    delay_before_free_ms=delay_before_free_ms, deterministic=deterministic)
        if fsdp_init_mode == FSDPInitMode.RECURSIVE:
            fsdp_model = MixtureOfExperts(group, wrap_fsdp=True, device_init_mode=device_init_mode,
                                          delay_before_free_ms=delay_before_free_ms, deterministic=deterministic,
                                          **fsdp_kwargs)
            if device_init_mode == DEVICEInitMode.DEVICE_AFTER:
                fsdp_model = fsdp_model.to(DEVICE_TYPE)
            return fsdp_model
        raise ValueError(f"Unsupported FSDP init mode: {fsdp_init_mode}")


class MLP(nn.Module):
    def __init__(self, dim: int, device: torch.device | None = None, *, bias: bool = True,
                 with_buffer: bool = False, dim_multiplier: int = 4) -> None:
        super().__init__()
        self.in_proj = nn.Linear(dim, dim_multiplier * dim, device=device, bias=bias)
        self.out_proj = nn.Linear(dim_multiplier * dim, dim, device=device, bias=bias)
        if with_buffer:
            self.register_buffer("buffer", torch.randn((dim,), device=device))
        else:
            self.buffer = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = F.relu(self.in_proj(x))
        z = F.relu(self.out_proj(z))
        if self.buffer is not None:
            z = z + self.buffer
        return z

    def reset_parameters(self) -> None:
        if self.buffer is not None:
            torch.nn.init.normal_(self.buffer)


class MLPStack(nn.Sequential):
    def __init__(self, mlp_dim: int, *, with_seq_parallel: bool = False) -> None:
        modules: list[nn.Module] = [
            MLP(mlp_dim, dim_multiplier=3),  # a multiplier of 3 exercises uneven sharding
            MLP(mlp_dim),
            MLP(mlp_dim, dim_multiplier=3),
        ]
        if with_seq_parallel:
            modules.append(nn.LayerNorm(mlp_dim, bias=False))
        super().__init__(*modules)
        self.with_seq_parallel = with_seq_parallel

    def parallelize(self, tp_mesh: DeviceMesh, dp_mesh: DeviceMesh, use_activation_checkpointing: bool,
                    **fsdp_kwargs: Any) -> MLPStack:
        parallelize_plan = {
            # use_local_output=False keeps DTensors, which preserve uneven activation dims
            "0.in_proj": ColwiseParallel(use_local_output=False),
            "0.out_proj": RowwiseParallel(use_local_output=False),
            "1.in_proj": ColwiseParallel(use_local_output=False),
            "1.out_proj": RowwiseParallel(use_local_output=False),
            "2.in_proj": ColwiseParallel(use_local_output=False),
            "2.out_proj": RowwiseParallel(output_layouts=Shard(1)) if self.with_seq_parallel else RowwiseParallel(),
        }
        if self.with_seq_parallel:
            parallelize_plan["3"] = SequenceParallel(sequence_dim=1)
        parallelize_module(self, device_mesh=tp_mesh, parallelize_plan=parallelize_plan)
        for module in self:
            if isinstance(module, nn.LayerNorm):
                continue
            if use_activation_checkpointing:
                checkpoint(module)
            fully_shard(module, mesh=dp_mesh, **fsdp_kwargs)
        fully_shard(self, mesh=dp_mesh, **fsdp_kwargs)
        return self


class DoubleLinear(nn.Module):
    """Multiple outputs from one module (``use_second_linear=True``), or an unused module (False)."""

    def __init__(self, dim: int, use_second_linear: bool = True) -> None:
        super().__init__()
        self.lin1 = nn.Linear(dim, dim)
        self.lin2 = nn.Linear(dim, dim)
        self.relu = nn.ReLU()
        self.use_second_linear = use_second_linear

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | torch.Tensor:
        if self.use_second_linear:
            return self.relu(self.lin1(x)), self.relu(self.lin2(x))
        return self.relu(self.lin1(x))


class SkipModule(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(10, 10, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x)


class NestedLinear(nn.Module):
    def __init__(self, fsdp_wrap: bool) -> None:
        super().__init__()
        if fsdp_wrap:
            self.nested_linear = wrap(nn.Linear(10, 10, bias=False).to(DEVICE_TYPE))
        else:
            self.nested_linear = nn.Linear(10, 10, bias=False).to(DEVICE_TYPE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nested_linear(x)


class SkipModel(nn.Module):
    def __init__(self, double_nest: bool) -> None:
        super().__init__()
        self.linear = nn.Linear(10, 10, bias=False).to(DEVICE_TYPE)
        self.linear_skip = SkipModule().to(DEVICE_TYPE)
        self.nested_linear = wrap(NestedLinear(fsdp_wrap=double_nest), device_id=DEVICE_TYPE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.linear(x)
        x = self.linear_skip(x)
        return self.nested_linear(x)
