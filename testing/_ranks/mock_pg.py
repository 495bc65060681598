"""A mock process group for tests that only query the world (upstream's ``distributed_utils``):
``with_fake_comms`` / ``with_dist`` initialise c10d in-process with a group that does no
communication, over a HashStore."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Optional

import torch.distributed as dist
import torch.distributed.distributed_c10d as c10d

BACKEND_NAME = "mock_process_group"


class MockProcessGroup(dist.ProcessGroup):
    def getBackendName(self) -> str:  # noqa: N802  (torch's name)
        return BACKEND_NAME


def create_mock_pg(prefix_store: Any, rank: int, world_size: int, timeout: Any) -> MockProcessGroup:
    return MockProcessGroup(rank, world_size)


if BACKEND_NAME not in dist.Backend.backend_list:  # upstream's module may have registered it
    dist.Backend.register_backend(BACKEND_NAME, create_mock_pg)


def mock_init_dist(rank: int, world_size: int) -> None:
    if dist.is_initialized():
        raise AssertionError("Expected dist to not be initialized")
    store = dist.HashStore()
    # the store-based barrier of group 0 believes every other rank has checked in
    store.add(f"{c10d.STORE_BASED_BARRIER_PREFIX}:0", world_size - 1)
    dist.init_process_group(backend=BACKEND_NAME, rank=rank, world_size=world_size, store=store,
                            group_name="fake", timeout=timedelta(seconds=1))


@contextmanager
def with_dist(rank: int = 0, world_size: int = 2) -> Iterator[None]:
    """c10d initialised with the mock process group for the block."""
    mock_init_dist(rank=rank, world_size=world_size)
    try:
        yield
    finally:
        dist.destroy_process_group()


def with_fake_comms(func: Optional[Callable] = None, rank: int = 0, world_size: int = 2) -> Callable:
    """Run the test with the mock process group (only world queries work)."""
    if func is None:
        return functools.partial(with_fake_comms, rank=rank, world_size=world_size)

    @functools.wraps(func)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
        with with_dist(rank, world_size):
            func(self, *args, **kwargs)

    return wrapper
