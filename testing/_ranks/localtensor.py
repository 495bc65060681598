"""In-process twins of the DTensor bases: every rank at once, under LocalTensorMode.

``create_local_tensor_test_class(Cls)`` makes ``ClsWithLocalTensor``: the same tests, run in the
test process over a "fake" process group, with each tensor holding one value per rank
(torch.distributed._local_tensor). Skips that would exit a rank become ``skipTest``.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import types
from collections.abc import Callable, Iterable
from typing import Any, Optional

import torch
import torch.distributed as dist
from torch.distributed._local_tensor import (
    LocalIntNode,
    LocalTensorMode,
    maybe_disable_local_tensor_mode,
    maybe_run_for_local_tensor,
)

from testing._ranks.dtensor import NUM_DEVICES, DTensorContinuousTestBase, DTensorOpTestBase, DTensorTestBase


class _LocalRanks:
    """What both in-process bases share: no rank processes, a fake group, a symbolic rank."""

    @property
    def is_local_tensor_enabled(self) -> bool:
        return True

    def _handle_test_skip(self, msg: str) -> None:
        self.skipTest(msg)

    def _get_local_tensor_mode(self) -> LocalTensorMode:
        return LocalTensorMode(frozenset(range(self.world_size)))

    def setUp(self) -> None:
        super().setUp()
        torch.autograd._enable_record_function(False)

    def tearDown(self) -> None:
        from torch.distributed.tensor import _random

        _random._rng_tracker = None  # a tracker made under LocalTensorMode must not leak
        super().tearDown()
        torch.autograd._enable_record_function(True)

    @property
    def rank(self) -> Any:
        return torch.SymInt(LocalIntNode({r: r for r in range(self.world_size)}))

    @rank.setter
    def rank(self, rank: Any) -> None:
        pass

    def join_or_run(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(self):
            fn()

        return types.MethodType(wrapper, self)

    def build_device_mesh(self) -> Any:
        with maybe_disable_local_tensor_mode():
            return super().build_device_mesh()

    def init_pg(self, eager_init: bool = False, backend: Optional[str] = None) -> None:
        dist.init_process_group("fake", rank=0, world_size=self.world_size)
        self._pg = dist.distributed_c10d._get_default_group()

    def destroy_pg(self, device_id: Optional[int] = None) -> None:
        dist.destroy_process_group(self._pg)
        self._pg = None

    def _spawn_processes(self) -> None:
        pass

    def _spawn_threads(self) -> None:
        pass

    def init_manual_seed_for_rank(self) -> None:
        torch.manual_seed(0)


class LocalDTensorTestBase(_LocalRanks, DTensorTestBase):
    pass


class LocalDTensorOpTestBase(_LocalRanks, DTensorOpTestBase):
    pass


class LocalDTensorContinuousTestBase(_LocalRanks, DTensorContinuousTestBase):
    """The continuous base's twin: tests carry no @with_comms, so the fake group is made around each."""

    @classmethod
    def _resolve_world_size(cls, device_type: str) -> int:
        # in process there are no devices to count: -2 means upstream's NUM_DEVICES
        if inspect.getattr_static(cls, "world_size", None) == -2:
            return NUM_DEVICES
        return super()._resolve_world_size(device_type)

    def setUp(self) -> None:
        super().setUp()
        self.init_pg()

    def tearDown(self) -> None:
        if dist.is_initialized():
            self.destroy_pg()
        super().tearDown()


def make_wrapped(fn: Callable, ctxs: Iterable[Any]) -> Callable:
    """Run ``fn`` inside the given contexts (a callable context is called with the test first)."""

    @functools.wraps(fn)
    def wrapped(self):
        torch._dynamo.reset()
        with contextlib.ExitStack() as stack:
            for ctx in ctxs:
                stack.enter_context(ctx(self) if callable(ctx) else ctx)
            return fn(self)

    return wrapped


def create_local_tensor_test_class(orig_cls: type, skipped_tests: Optional[list] = None,
                                   base_class: type = LocalDTensorTestBase) -> type:
    """``<Name>WithLocalTensor``: ``orig_cls``'s tests under LocalTensorMode, in process."""
    skipped = set(skipped_tests or ())
    members = dict(orig_cls.__dict__)
    for name, member in list(members.items()):
        if not callable(member):
            continue
        if name in skipped:
            members[name] = lambda self: self.skipTest("Skipped test")
        elif name.startswith("test_"):
            members[name] = make_wrapped(member, [lambda test: test._get_local_tensor_mode()])
    return type(orig_cls.__name__ + "WithLocalTensor", (base_class,) + orig_cls.__bases__, members)


@maybe_run_for_local_tensor
def map_local_tensor_for_rank(tensor: Any, rank: Any, func: Callable) -> Any:
    return func(tensor, rank)


@maybe_run_for_local_tensor
def map_local_for_rank(rank: Any, func: Callable) -> Any:
    return func(rank)


def reduce_local_int(val: Any, func: Callable) -> Any:
    return func(val.node._local_ints)
