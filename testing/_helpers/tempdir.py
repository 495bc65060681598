"""``with_temp_dir``: one temporary directory per test, shared by all its ranks.

Rank 0 creates it and broadcasts the path. Inside a rank process it is created under the test's
own work directory, which the parent removes whatever happens to the ranks; so a rank that crashes
or is killed on a timeout leaves nothing behind (upstream's lands in the system temp directory and
stays there when a rank dies first).
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections.abc import Callable
from typing import Any, Optional


def _parent_dir(test: Any) -> Optional[str]:
    store = getattr(test, "file_name", None)
    if isinstance(store, str) and os.path.isdir(os.path.dirname(store)):
        return os.path.dirname(store)
    return None


def with_temp_dir(func: Optional[Callable] = None) -> Callable:
    """Give the test ``self.temp_dir``: a fresh directory, the same path on every rank."""
    if func is None:
        raise AssertionError("Expected func to not be None")

    @functools.wraps(func)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        import torch.distributed as dist

        distributed = dist.is_available() and dist.is_initialized()
        parent = _parent_dir(self)
        if not distributed or dist.get_rank() == 0:
            temp_dir = tempfile.mkdtemp(prefix="testing-tmp-", dir=parent)
            print(f"Using temp directory: {temp_dir}")
        else:
            temp_dir = ""
        if distributed:
            shared = [temp_dir]
            dist.broadcast_object_list(shared)
            temp_dir = shared[0]
        self.temp_dir = temp_dir
        try:
            result = func(self, *args, **kwargs)
        except BaseException:
            # in a rank, the directory goes with the work directory (peers may still be using it)
            if parent is None:
                shutil.rmtree(temp_dir, ignore_errors=True)
            raise
        if distributed:
            dist.barrier()  # every rank is done with the files before rank 0 removes them
        if not distributed or dist.get_rank() == 0:
            shutil.rmtree(temp_dir, ignore_errors=True)
        return result

    return wrapper
