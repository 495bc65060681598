"""common_fsdp's init-mode enums, the FSDPTestModel interface and its models built for FSDP (v1)
wrapping: TransformerWithSharedParams and the NestedWrappedModule family.

Parameter shapes, creation order, seeds and wrapping are upstream's: tests compare an FSDP copy
against a DDP copy made from the same seed, and address submodules and parameters by name.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from enum import Enum, auto
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
from torch.distributed.fsdp import ShardingStrategy
from torch.distributed.fsdp.wrap import ModuleWrapPolicy, always_wrap_policy
from torch.nn import TransformerDecoderLayer, TransformerEncoderLayer

from testing._helpers.fsdp_utils import DEVICE_TYPE, _move_to_device


class FSDPInitMode(Enum):
    NO_FSDP = auto()  # no FSDP wrapping
    RECURSIVE = auto()  # FSDP recursive wrapping


class DEVICEInitMode(Enum):
    DEVICE_BEFORE = auto()  # move the model to the device before the FSDP constructor
    DEVICE_AFTER = auto()  # move it after the FSDP constructor
    DEVICE_NEVER = auto()  # keep it on the CPU


class FSDPTestModel(nn.Module, ABC):
    """The interface of the models FSDP unit tests train (``FSDPTest._test_fsdp_parity``)."""

    @abstractmethod
    def get_input(self, device: Any) -> tuple[torch.Tensor, ...]:
        """An input for the model, as a tuple."""

    @abstractmethod
    def get_loss(self, input: Any, output: Any) -> torch.Tensor:
        """The loss given the input and output."""

    @abstractmethod
    def run_backward(self, loss: torch.Tensor) -> None:
        """The backward pass (e.g. ``loss.backward()``)."""

    @staticmethod
    @abstractmethod
    def init(*args: Any, **kwargs: Any) -> nn.Module:
        """An instance of this model."""


class TransformerWithSharedParams(FSDPTestModel):
    def __init__(self, group: dist.ProcessGroup, device_init_mode: DEVICEInitMode, add_bn: bool,
                 deterministic: bool) -> None:
        super().__init__()
        self.rank = group.rank()
        self.world_size = group.size()
        if deterministic:
            torch.manual_seed(0)
        d_vocab = 23
        d_model = 16
        self.embed_tokens = nn.Embedding(d_vocab, d_model)
        self.transformer = nn.Transformer(d_model=d_model, num_encoder_layers=2, num_decoder_layers=2,
                                          dim_feedforward=8, dropout=0.1)
        self.output_proj = nn.Linear(d_model, d_vocab)
        # share the embedding and output projection weights
        self.output_proj.weight = self.embed_tokens.weight
        self.register_buffer("vocab_bias", self.embed_tokens.weight.new_ones((d_model,)))
        self.register_buffer("long_buffer", torch.zeros_like(self.vocab_bias, dtype=torch.long))
        self.bs = 2
        self.bn = torch.nn.BatchNorm1d(self.bs) if add_bn else torch.nn.Identity()
        if device_init_mode == DEVICEInitMode.DEVICE_BEFORE:
            self = self.to(DEVICE_TYPE)
        if deterministic:
            self.eval()

    def get_input(self, device: Any) -> tuple[torch.Tensor, torch.Tensor]:
        torch.manual_seed(1 + self.rank)  # keep everything deterministic
        src = torch.arange(12, device=device).view(6, self.bs)  # T x B
        tgt = torch.arange(self.bs * 4, device=device).view(4, self.bs)  # T x B
        return (src, tgt)

    def forward(self, src_ids: torch.Tensor, tgt_ids: torch.Tensor) -> torch.Tensor:
        src = self.embed_tokens(src_ids)
        src = src + self.vocab_bias + self.long_buffer.type_as(src)
        tgt = self.embed_tokens(tgt_ids)
        tgt = self.bn(tgt)
        x = self.transformer(src, tgt)
        return self.output_proj(x)

    def get_loss(self, input: Any, output: torch.Tensor) -> torch.Tensor:
        _, tgt = input
        return nn.functional.cross_entropy(output.view(-1, output.size(-1)), tgt.view(-1), reduction="sum")

    def run_backward(self, loss: torch.Tensor) -> None:
        loss.backward()

    @staticmethod
    def init(group: Any, fsdp_init_mode: FSDPInitMode, device_init_mode: DEVICEInitMode,
             fsdp_kwargs: dict[str, Any] | None = None, deterministic: bool = False,
             add_bn: bool = True) -> nn.Module:
        """``NO_FSDP``: the bare model; ``RECURSIVE``: wrapped in a top-level FSDP whose auto wrap
        policy is a ``ModuleWrapPolicy`` over the encoder and decoder layers unless ``fsdp_kwargs``
        names another. ``group`` may be a (transformer group, FSDP group) pair for hybrid sharding."""
        if fsdp_kwargs is None:
            fsdp_kwargs = {}
        if fsdp_init_mode == FSDPInitMode.NO_FSDP:
            pg = group[0] if isinstance(group, tuple) else group
            return TransformerWithSharedParams(pg, device_init_mode, add_bn, deterministic)
        if fsdp_init_mode == FSDPInitMode.RECURSIVE:
            if "auto_wrap_policy" not in fsdp_kwargs:
                auto_wrap_policy = ModuleWrapPolicy({TransformerEncoderLayer, TransformerDecoderLayer})
            else:
                auto_wrap_policy = fsdp_kwargs.pop("auto_wrap_policy")
            hybrid = {ShardingStrategy.HYBRID_SHARD, ShardingStrategy._HYBRID_SHARD_ZERO2}
            if fsdp_kwargs.get("sharding_strategy") in hybrid and not isinstance(group, tuple):
                fsdp_pg = None
            else:
                fsdp_pg = group
            tformer_pg = group[0] if isinstance(group, tuple) else group
            m = TransformerWithSharedParams(tformer_pg, device_init_mode, add_bn, deterministic)
            fsdp_model = FSDP(m, fsdp_pg, auto_wrap_policy=auto_wrap_policy, **fsdp_kwargs)
            if device_init_mode == DEVICEInitMode.DEVICE_AFTER:
                fsdp_model = fsdp_model.to(DEVICE_TYPE)
            return fsdp_model
        raise ValueError(f"Unsupported FSDP init mode: {fsdp_init_mode}")

    def get_ignored_modules(self) -> list[nn.Module]:
        return [self.transformer]


class NestedWrappedModule(FSDPTestModel):
    def __init__(self, group: dist.ProcessGroup, wrap_fsdp: bool, device_init_mode: DEVICEInitMode,
                 deterministic: bool, **fsdp_kwargs: Any) -> None:
        super().__init__()
        self._build(group, wrap_fsdp, device_init_mode, deterministic, fsdp_kwargs, grouped_tail=False)

    def _build(self, group: dist.ProcessGroup, wrap_fsdp: bool, device_init_mode: DEVICEInitMode,
               deterministic: bool, fsdp_kwargs: dict, grouped_tail: bool) -> None:
        """Upstream's layer stack; ``grouped_tail`` wraps the last two linears in one unit
        (NonUniformReqGradNWM's layout)."""
        self.rank = group.rank()
        self.world_size = group.size()
        move_to_device = device_init_mode == DEVICEInitMode.DEVICE_BEFORE

        def _maybe_wrap(layer: nn.Module) -> nn.Module:
            return FSDP(layer, group, **fsdp_kwargs) if wrap_fsdp else layer

        def linear(i: int, o: int) -> nn.Module:
            return _move_to_device(nn.Linear(i, o), move_to_device)

        if deterministic:
            torch.manual_seed(0)
        head = [linear(8, 4), _maybe_wrap(nn.Sequential(_maybe_wrap(linear(4, 16)), linear(16, 16)))]
        tail = ([_maybe_wrap(nn.Sequential(linear(16, 4), linear(4, 8)))] if grouped_tail
                else [_maybe_wrap(linear(16, 4)), linear(4, 8)])
        self.module = nn.Sequential(*head, *tail)

    def get_input(self, device: Any) -> tuple[torch.Tensor]:
        torch.manual_seed(1 + self.rank)  # keep everything deterministic
        return (torch.rand(4, 8, device=device),)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x)

    def get_loss(self, input: Any, output: torch.Tensor) -> torch.Tensor:
        return output.sum()

    def run_backward(self, loss: torch.Tensor) -> None:
        loss.backward()

    @staticmethod
    def init(group: dist.ProcessGroup, fsdp_init_mode: FSDPInitMode, device_init_mode: DEVICEInitMode,
             fsdp_kwargs: dict[str, Any] | None = None, deterministic: bool = False) -> nn.Module:
        """``NO_FSDP``: no wrapping; ``RECURSIVE``: some nested modules wrapped with FSDP, not the
        top-level module (a test may wrap that itself)."""
        if fsdp_kwargs is None:
            fsdp_kwargs = {}
        if fsdp_init_mode == FSDPInitMode.NO_FSDP:
            return NestedWrappedModule(group, wrap_fsdp=False, device_init_mode=device_init_mode,
                                       deterministic=deterministic)
        if fsdp_init_mode == FSDPInitMode.RECURSIVE:
            fsdp_model = NestedWrappedModule(group, wrap_fsdp=True, device_init_mode=device_init_mode,
                                             deterministic=deterministic, **fsdp_kwargs)
            if device_init_mode == DEVICEInitMode.DEVICE_AFTER:
                fsdp_model = fsdp_model.to(DEVICE_TYPE)
            return fsdp_model
        raise ValueError(f"Unsupported FSDP init mode: {fsdp_init_mode}")


class AlwaysWrapNestedWrappedModule(NestedWrappedModule):
    @staticmethod
    def init(group: dist.ProcessGroup, fsdp_init_mode: FSDPInitMode, device_init_mode: DEVICEInitMode,
             fsdp_kwargs: dict[str, Any] | None = None, deterministic: bool = False) -> nn.Module:
        """As NestedWrappedModule.init, but ``RECURSIVE`` wraps with a top-level FSDP and
        ``always_wrap_policy``."""
        model = super(AlwaysWrapNestedWrappedModule, AlwaysWrapNestedWrappedModule).init(
            group=group, fsdp_init_mode=FSDPInitMode.NO_FSDP, device_init_mode=device_init_mode,
            fsdp_kwargs=fsdp_kwargs, deterministic=deterministic)
        if fsdp_init_mode == FSDPInitMode.NO_FSDP:
            return model
        if fsdp_init_mode == FSDPInitMode.RECURSIVE:
            fsdp_kwargs = fsdp_kwargs or {}
            fsdp_model = FSDP(model, auto_wrap_policy=always_wrap_policy, **fsdp_kwargs)
            if device_init_mode == DEVICEInitMode.DEVICE_AFTER:
                fsdp_model = fsdp_model.to(DEVICE_TYPE)
            return fsdp_model
        return None  # upstream falls through for an unknown mode


class NonUniformReqGradNWM(NestedWrappedModule):
    """NestedWrappedModule whose last two linears share one FSDP unit, so all of their elements live
    on one rank; freezing everything else leaves ranks without (non-empty) shards, which
    ShardedGradScaler must accommodate."""

    def __init__(self, group: dist.ProcessGroup, wrap_fsdp: bool, device_init_mode: DEVICEInitMode,
                 deterministic: bool, **fsdp_kwargs: Any) -> None:
        super(NestedWrappedModule, self).__init__()  # upstream skips NestedWrappedModule's own layout
        self._build(group, wrap_fsdp, device_init_mode, deterministic, fsdp_kwargs, grouped_tail=True)

    @staticmethod
    def _set_nonuniform_req_grad(model: nn.Module, req_grad_mask: Any) -> None:
        for n, p in model.named_parameters():
            if not re.match(req_grad_mask, n):
                p.requires_grad_(False)

    @staticmethod
    def init(group: dist.ProcessGroup, fsdp_init_mode: FSDPInitMode, device_init_mode: DEVICEInitMode,
             fsdp_kwargs: dict[str, Any] | None = None, deterministic: bool = False) -> nn.Module:
        """Both modes freeze every parameter but those of ``module.2.1`` (with or without an
        ``_fsdp_wrapped_module`` in the name)."""
        req_grad_pattern = re.compile(r"module\.2.*\.1.*")
        if fsdp_init_mode == FSDPInitMode.NO_FSDP:
            ddp_model = NonUniformReqGradNWM(group, wrap_fsdp=False, device_init_mode=device_init_mode,
                                             deterministic=deterministic)
            NonUniformReqGradNWM._set_nonuniform_req_grad(ddp_model, req_grad_pattern)
            return ddp_model
        if fsdp_init_mode == FSDPInitMode.RECURSIVE:
            if fsdp_kwargs is None:
                fsdp_kwargs = {}
            fsdp_model = NonUniformReqGradNWM(group, wrap_fsdp=True, device_init_mode=device_init_mode,
                                              deterministic=deterministic, **fsdp_kwargs)
            if device_init_mode == DEVICEInitMode.DEVICE_AFTER:
                fsdp_model = fsdp_model.to(DEVICE_TYPE)
            NonUniformReqGradNWM._set_nonuniform_req_grad(fsdp_model, req_grad_pattern)
            return fsdp_model
        raise ValueError(f"Unsupported FSDP init mode: {fsdp_init_mode}")
