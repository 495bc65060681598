"""common_fsdp's patching helpers (swap a collective or an FSDP2 hook for the duration of a block),
``reduce_scatter_with_assert``, ``check_sharded_parity`` and ``compiled_fsdp_test``.

Each patch reads the original, then barriers, and barriers again before restoring it, as
upstream: under a threaded process group every rank must see the same original and use the patched
value for the whole block. Ranks are processes here, so the barriers only keep the ranks in step,
which tests counting calls between them rely on.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from enum import Enum, auto
from functools import wraps
from typing import Any, no_type_check

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.fsdp._fully_shard import _fsdp_param_group
from torch.distributed.fsdp._fully_shard._fsdp_param_group import FSDPParamGroup, RegisterPostBackwardFunction
from torch.distributed.tensor import DTensor, Shard, distribute_tensor
from torch.utils._triton import has_triton


@contextlib.contextmanager
def _patched(owner: Any, name: str, new: Callable) -> Iterator[None]:
    original = getattr(owner, name)
    dist.barrier()
    setattr(owner, name, new)
    try:
        yield
    finally:
        dist.barrier()
        setattr(owner, name, original)


@contextlib.contextmanager
def patch_all_gather(new_all_gather_into_tensor: Callable) -> Iterator[None]:
    with _patched(dist, "all_gather_single", new_all_gather_into_tensor):
        yield


@contextlib.contextmanager
def patch_foreach_all_gather(new_foreach_all_gather: Callable) -> Iterator[None]:
    with _patched(_fsdp_param_group, "foreach_all_gather", new_foreach_all_gather):
        yield


@contextlib.contextmanager
def patch_foreach_reduce(new_foreach_reduce: Callable) -> Iterator[None]:
    with _patched(_fsdp_param_group, "foreach_reduce", new_foreach_reduce):
        yield


@contextlib.contextmanager
def patch_reduce_scatter(new_reduce_scatter_tensor: Callable) -> Iterator[None]:
    with _patched(dist, "reduce_scatter_single", new_reduce_scatter_tensor):
        yield


@contextlib.contextmanager
def patch_all_reduce(new_all_reduce: Callable) -> Iterator[None]:
    with _patched(dist, "all_reduce", new_all_reduce):
        yield


@no_type_check
@contextlib.contextmanager
def patch_unshard(new_unshard: Callable) -> Iterator[None]:
    with _patched(FSDPParamGroup, "unshard", new_unshard):
        yield


@no_type_check
@contextlib.contextmanager
def patch_reshard(new_reshard: Callable) -> Iterator[None]:
    with _patched(FSDPParamGroup, "reshard", new_reshard):
        yield


@no_type_check
@contextlib.contextmanager
def patch_post_backward(new_post_backward: Callable) -> Iterator[None]:
    with _patched(FSDPParamGroup, "post_backward", new_post_backward):
        yield


@no_type_check
@contextlib.contextmanager
def patch_register_post_backward_hook_backward(new_backward: Callable) -> Iterator[None]:
    with _patched(RegisterPostBackwardFunction, "backward", new_backward):
        yield


def reduce_scatter_with_assert(cls: Any, orig_reduce_scatter: Callable, assert_fn: Callable, *args: Any,
                               **kwargs: Any) -> Any:
    """Call ``assert_fn(output)`` on the reduce-scatter's output tensor, then the original."""
    if len(args) > 0:
        output = args[0]
    elif "output" in kwargs:
        output = kwargs["output"]
    else:
        raise AssertionError(f"Cannot get reduce-scatter output from\nargs: {args}\nkwargs: {kwargs}")
    assert_fn(output)
    return orig_reduce_scatter(*args, **kwargs)


def check_sharded_parity(cls: Any, replicated_module: nn.Module, sharded_module: nn.Module,
                         prefixes_to_ignore: tuple[str, ...] = ()) -> None:
    """Assert that every DTensor parameter (and gradient) of ``sharded_module`` is the sharding of
    the corresponding parameter (and gradient) of ``replicated_module``."""
    for (replicated_name, replicated_param), (sharded_name, sharded_param) in zip(
        replicated_module.named_parameters(), sharded_module.named_parameters(), strict=True
    ):
        clean_sharded_name = sharded_name
        for prefix in prefixes_to_ignore:
            clean_sharded_name = clean_sharded_name.replace(prefix, "")
        cls.assertEqual(replicated_name, clean_sharded_name)
        cls.assertIsInstance(sharded_param, DTensor)
        if not isinstance(sharded_param, DTensor):
            raise AssertionError("Expected sharded_param to be a DTensor")
        mesh, placements = sharded_param.device_mesh, sharded_param.placements
        if tuple(placements) == (Shard(0), Shard(0)):
            raise AssertionError(
                "FSDP's (Shard(0), Shard(0)) layout differs from distribute_tensor(), "
                "so we cannot check for equality using it"
            )
        sharded_ref_param = distribute_tensor(replicated_param, mesh, placements)
        cls.assertEqual(sharded_param.to_local(), sharded_ref_param.to_local())
        if replicated_param.grad is None:
            cls.assertIsNone(sharded_param.grad)
            continue
        cls.assertIsNotNone(sharded_param.grad)
        sharded_ref_grad = distribute_tensor(replicated_param.grad, mesh, placements)
        cls.assertIsInstance(sharded_param.grad, DTensor)
        if not isinstance(sharded_param.grad, DTensor):
            raise AssertionError("Expected sharded_param.grad to be a DTensor")
        cls.assertEqual(sharded_param.grad.to_local(), sharded_ref_grad.to_local())


def compiled_fsdp_test(compile_compute_on_module: type | None = None) -> Callable:
    """Run the test twice: with ``fully_shard`` as it is, then with each sharded module compiled
    (skipped, with upstream's warning, when triton is missing)."""

    def fully_shard_with_compiled_compute(*args: Any, **kwargs: Any) -> None:
        torch.distributed.fsdp.fully_shard(*args, **kwargs)
        if compile_compute_on_module is None or isinstance(args[0], compile_compute_on_module):
            args[0].compile()

    class FullyShardMode(Enum):
        EAGER = auto()
        COMPILED_COMPUTE = auto()

    def decorator(func: Callable) -> Callable:
        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> None:
            original_fully_shard: Any = torch.distributed.fsdp.fully_shard
            for mode in FullyShardMode:
                if mode != FullyShardMode.EAGER and not has_triton():
                    warnings.warn("Inductor on GPU needs Triton and recent GPU arch", stacklevel=2)
                    continue
                original_compile_threads = torch._inductor.config.compile_threads
                torch.distributed.barrier()  # every rank reads the same original
                if mode == FullyShardMode.EAGER:
                    fully_shard_patch = original_fully_shard
                elif mode == FullyShardMode.COMPILED_COMPUTE:
                    torch._inductor.config.compile_threads = 1
                    fully_shard_patch = fully_shard_with_compiled_compute
                else:
                    raise NotImplementedError(f"Need to implement FullyShardMode={mode}")
                # the test module imported fully_shard as a global (`from ... import fully_shard`)
                func.__globals__[original_fully_shard.__name__] = fully_shard_patch
                func(*args, **kwargs)
                torch.distributed.barrier()  # no rank restores while another still uses the patch
                func.__globals__[original_fully_shard.__name__] = original_fully_shard
                torch._inductor.config.compile_threads = original_compile_threads

        return wrapper

    return decorator
