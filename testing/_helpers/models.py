"""Small models that upstream's DTensor / tensor-parallel tests build on.

Module and parameter names (``tok_embeddings``, ``layers.0.attention.wq``, ...) and the order in
which parameters are created are upstream's: tests address submodules by name in parallelize plans
and compare a parallel copy against a single-device copy made from the same seed. With
``num_experts > 0`` each block's feed-forward is a dense mixture of experts (``_experts``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import nn

from testing._helpers.experts import ExpertLayer, ExpertParallel, ExpertParallelWithTP, TensorParallelForExpert


class RMSNormPython(nn.Module):
    """RMSNorm in plain PyTorch ops (so DTensor sees every op)."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def _norm(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._norm(x) * self.weight


@dataclasses.dataclass
class ModelArgs:
    n_layers: int = 2
    vocab_size: int = 8
    max_seq_len: int = 16
    dim: int = 16
    n_heads: int = 4
    dropout_p: float = 0.1
    use_attn_mask: bool = True
    weight_tying: bool = True
    checkpoint_activations: bool = False
    num_experts: int = 0


class Attention(nn.Module):
    def __init__(self, args: ModelArgs) -> None:
        super().__init__()
        if args.dim % args.n_heads:
            raise AssertionError(f"Expected args.dim % args.n_heads == 0, got {args.dim} % {args.n_heads}")
        self.head_dim = args.dim // args.n_heads
        self.n_heads = args.n_heads
        self.dropout_p = args.dropout_p
        self.resid_dropout = nn.Dropout(args.dropout_p)
        self.use_attn_mask = args.use_attn_mask
        for name in ("wq", "wk", "wv", "wo"):
            setattr(self, name, nn.Linear(args.dim, args.dim, bias=False))

    def _heads(self, x: torch.Tensor, batch: int, length: int) -> torch.Tensor:
        # n_heads may have been divided by the TP degree after parallelize(local_output_for_attn=True)
        return x.view(batch, length, self.n_heads, self.head_dim).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.size()
        q, k, v = (self._heads(proj(x), batch, length) for proj in (self.wq, self.wk, self.wv))
        out = F.scaled_dot_product_attention(q, k, v, None, self.dropout_p if self.training else 0, self.use_attn_mask)
        return self.resid_dropout(self.wo(out.transpose(1, 2).reshape(batch, length, -1)))


class FeedForward(nn.Module):
    def __init__(self, dim: int, hidden_dim: int, dropout_p: float) -> None:
        super().__init__()
        self.w1 = nn.Linear(dim, hidden_dim)
        self.gelu = nn.GELU()
        self.w2 = nn.Linear(hidden_dim, dim)
        self.resid_dropout = nn.Dropout(dropout_p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.resid_dropout(self.w2(self.gelu(self.w1(x))))


class TransformerBlock(nn.Module):
    def __init__(self, args: ModelArgs) -> None:
        super().__init__()
        self.attention_norm = nn.LayerNorm(args.dim)
        self.attention = Attention(args)
        self.ffn_norm = nn.LayerNorm(args.dim)
        self.has_experts = args.num_experts > 0
        if self.has_experts:
            self.expert_layer = ExpertLayer(args.num_experts, dim=args.dim, hidden_dim=4 * args.dim)
        else:
            self.feed_forward = FeedForward(args.dim, hidden_dim=4 * args.dim, dropout_p=args.dropout_p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x + self.attention(self.attention_norm(x))
        mlp = self.expert_layer if self.has_experts else self.feed_forward
        return h + mlp(self.ffn_norm(h))


class Transformer(nn.Module):
    """A toy decoder (nanoGPT-like): embeddings, blocks, norm, output head (tied by default)."""

    def __init__(self, args: ModelArgs) -> None:
        super().__init__()
        if args.vocab_size is None or args.max_seq_len is None:
            raise AssertionError("Expected args.vocab_size and args.max_seq_len to be set")
        self.model_args = args
        self.max_seq_len = args.max_seq_len
        self.tok_embeddings = nn.Embedding(args.vocab_size, args.dim)
        self.pos_embeddings = nn.Embedding(args.max_seq_len, args.dim)
        self.dropout = nn.Dropout(args.dropout_p)
        self.layers = nn.ModuleList(TransformerBlock(args) for _ in range(args.n_layers))
        self.norm = nn.LayerNorm(args.dim)
        self.output = nn.Linear(args.dim, args.vocab_size, bias=False)
        if args.weight_tying:
            self.output.weight = self.tok_embeddings.weight
        self.checkpoint_activations = args.checkpoint_activations

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        _, length = tokens.size()
        if length > self.max_seq_len:
            raise AssertionError(f"Expected seq_len <= max_seq_len, got {length} > {self.max_seq_len}")
        h = self.tok_embeddings(tokens) + self.pos_embeddings(torch.arange(0, length, device=tokens.device))
        h = self.dropout(h)
        for layer in self.layers:
            h = torch.utils.checkpoint.checkpoint(layer, h, use_reentrant=False) if self.checkpoint_activations else layer(h)
        return self.output(self.norm(h)).float()

    @staticmethod
    def parallelize(module: "Transformer", tp_mesh: Optional[Any], use_seq_parallel: bool,
                    local_output_for_attn: bool = False, ep_mesh: Optional[Any] = None) -> nn.Module:
        """Tensor (and sequence) parallelism over ``tp_mesh`` and expert parallelism over ``ep_mesh``,
        as upstream's plan lays them out."""
        from torch.distributed.tensor import Replicate, Shard
        from torch.distributed.tensor.parallel import (
            ColwiseParallel,
            PrepareModuleInput,
            RowwiseParallel,
            SequenceParallel,
            parallelize_module,
        )

        if not isinstance(module, Transformer):
            raise AssertionError(f"Requires Transformer but got {module}")
        if tp_mesh is None and ep_mesh is None:
            raise ValueError("At least one of tp_mesh or ep_mesh must be provided")
        sequence = Shard(1) if use_seq_parallel else Replicate()

        def rowwise() -> RowwiseParallel:
            return RowwiseParallel(output_layouts=Shard(1)) if use_seq_parallel else RowwiseParallel()

        if tp_mesh is not None:
            root = {
                "tok_embeddings": RowwiseParallel(input_layouts=Replicate(), output_layouts=sequence),
                "pos_embeddings": RowwiseParallel(input_layouts=Replicate(),
                                                  output_layouts=Shard(0) if use_seq_parallel else Replicate()),
            }
            if use_seq_parallel:
                root["norm"] = SequenceParallel()
            parallelize_module(module, tp_mesh, root)

        for layer in module.layers:
            if tp_mesh is not None:
                plan: dict[str, Any] = {}
                if use_seq_parallel:
                    plan["attention"] = PrepareModuleInput(input_layouts=Shard(1), desired_input_layouts=Replicate())
                    plan["attention_norm"] = SequenceParallel()
                    plan["ffn_norm"] = SequenceParallel()
                for name in ("wq", "wk", "wv"):
                    plan[f"attention.{name}"] = ColwiseParallel(use_local_output=local_output_for_attn)
                plan["attention.wo"] = rowwise()
                if not layer.has_experts:
                    plan["feed_forward.w1"] = ColwiseParallel(input_layouts=Shard(1)) if use_seq_parallel else ColwiseParallel()
                    plan["feed_forward.w2"] = rowwise()
                elif ep_mesh is None:  # experts get tensor parallelism only
                    plan["expert_layer.experts"] = (
                        TensorParallelForExpert(input_layouts=Shard(0), output_layouts=Shard(0)) if use_seq_parallel
                        else TensorParallelForExpert())
                parallelize_module(layer, tp_mesh, plan)
            if ep_mesh is not None and layer.has_experts:
                if tp_mesh is not None:
                    parallelize_module(layer.expert_layer, ep_mesh, ExpertParallelWithTP(ep_mesh, tp_mesh))
                else:
                    parallelize_module(layer.expert_layer.experts, ep_mesh, ExpertParallel())

        if tp_mesh is not None:
            output_plan = (ColwiseParallel(input_layouts=Shard(1), output_layouts=Replicate()) if use_seq_parallel
                           else ColwiseParallel(output_layouts=Replicate()))
            parallelize_module(module.output, tp_mesh, output_plan)
            if local_output_for_attn:
                for layer in module.layers:
                    layer.attention.n_heads = module.model_args.n_heads // tp_mesh.size()
            if module.model_args.weight_tying:  # keep parameter and gradient shared after sharding
                module.output.weight = module.tok_embeddings.weight
        return module
