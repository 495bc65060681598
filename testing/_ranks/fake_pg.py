"""The fake process group backend and its store (upstream's ``distributed.fake_pg``): a group that
does no communication, for tests that run one rank as if it were one of many.

torch registers the "fake" backend's creator only when its own test module is imported (FSDP does
that); this module registers the same creator when nobody has, so a ported test needs nothing
from torch's private harness. ``FakeStore`` is torch's C++ store where the installed torch has it
(2.14 on), else upstream's Python class.
"""

from __future__ import annotations

from typing import Any

import torch.distributed as dist
from torch._C import _distributed_c10d as _c10d

FakeProcessGroup = _c10d.FakeProcessGroup

if hasattr(_c10d, "FakeStore"):
    FakeStore = _c10d.FakeStore
else:
    class FakeStore(dist.Store):  # type: ignore[no-redef]
        """A fake key-value store, only for initialising the fake process group (or use HashStore)."""


def _create_fake_pg(common_opts: Any, backend_opts: Any) -> Any:
    """A process group that hallucinates communication: wrong results for every collective, by design."""
    return FakeProcessGroup._create_internal(common_opts.group_rank, common_opts.group_size, backend_opts)


def register() -> None:
    if dist.Backend.FAKE.upper() not in dist.Backend._plugins:
        dist.Backend.register_backend(dist.Backend.FAKE, _create_fake_pg, extended_api=True,
                                      devices=["cpu", "cuda", "hpu", "xpu"])


register()
