"""``with_temp_dir``: one temporary directory per test, shared by all its ranks.

Rank 0 creates it and broadcasts the path. Inside a rank process it is created under the test's
own work directory, which the parent removes whatever happens to the ranks; so a rank that crashes
or is killed on a timeout leaves nothing behind (upstream's lands in the system temp directory and
stays there when a rank dies first).

The ranks meet at a barrier before rank 0 removes the directory. Up to torch 2.14 that is a
difference from upstream, whose every rank removed the directory as soon as its own body returned
(a slower rank could find it gone); torch 2.15's harness has the barrier too, and also meets there
after a failed body, which this one then does as well (versions.TABLE, ``with_temp_dir_waits_for_ranks``).
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections.abc import Callable
from typing import Any, Optional

from testing._core import versions as _versions


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
        except BaseException as failure:
            if distributed and isinstance(failure, Exception) and _versions.current("with_temp_dir_waits_for_ranks"):
                try:  # torch 2.15+: the ranks meet even after a failure, as upstream's do
                    dist.barrier()
                except Exception:  # a peer gone already: the test's own failure is the report
                    pass
                else:
                    if dist.get_rank() == 0:
                        shutil.rmtree(temp_dir, ignore_errors=True)
                    raise
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
