"""Warnings as data: each distinct warning (category, message, location) kept once, with a count and
the ranks and tests that raised it, instead of one stderr line per rank per test.

The warnings machinery is left to decide *whether* a warning is shown (``-W``, ``PYTHONWARNINGS``,
``filterwarnings``, a test's own ``catch_warnings``; ``-W error`` still raises); only the showing
is replaced: `collect` installs a ``warnings.showwarning`` that records instead of printing (and
prints too when warnings stream, ``-v``). Ranks send their records to the test process with their
result; the test process keeps them here until a reporter prints the summary. Where nothing in the
test process collects (pytest, another runner), rank warnings are warned again there
(`warnings.warn_explicit`), so that runner's own warnings handling sees them.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
import warnings
from collections.abc import Iterable
from typing import Any, Optional

TEST_PROCESS = -1
"""The rank number of the test process itself (upstream's MAIN_PROCESS_RANK)."""


@dataclasses.dataclass
class WarningRecord:
    category: str
    """Qualified class name: ``UserWarning``, ``torch.jit.TracerWarning``."""
    message: str
    filename: str
    lineno: int
    count: int = 1
    ranks: list[int] = dataclasses.field(default_factory=list)
    """Ranks that raised it; TEST_PROCESS (-1) for the test process."""
    tests: list[str] = dataclasses.field(default_factory=list)
    """Tests (``Class.test``) during which it was raised."""

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.category, self.message, self.filename, self.lineno)

    def merge(self, other: "WarningRecord") -> None:
        self.count += other.count
        self.ranks = sorted(set(self.ranks) | set(other.ranks))
        self.tests = list(dict.fromkeys([*self.tests, *other.tests]))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "WarningRecord":
        return cls(**data)


def merged(records: Iterable[WarningRecord]) -> list[WarningRecord]:
    """One record per distinct warning, in the order each was first seen."""
    out: dict[tuple, WarningRecord] = {}
    for record in records:
        if record.key in out:
            out[record.key].merge(record)
        else:
            out[record.key] = dataclasses.replace(record, ranks=list(record.ranks), tests=list(record.tests))
    return list(out.values())


# -- this process's collector -------------------------------------------------------------------
_pending: dict[tuple, WarningRecord] = {}
_collecting = False
_stream = False
_rank = TEST_PROCESS
_test: Optional[str] = None
_original_showwarning = warnings.showwarning


def _category_name(category: type) -> str:
    module = getattr(category, "__module__", "builtins")
    return category.__qualname__ if module == "builtins" else f"{module}.{category.__qualname__}"


def _show(message: Any, category: type, filename: str, lineno: int, file: Any = None, line: Optional[str] = None) -> None:
    if _stream or file not in (None, sys.stderr, sys.__stderr__):  # a caller's own stream gets it as before
        _original_showwarning(message, category, filename, lineno, file, line)
    if file not in (None, sys.stderr, sys.__stderr__):
        return
    add(WarningRecord(_category_name(category), str(message), filename, lineno,
                      ranks=[_rank], tests=[_test] if _test else []))


def collect(stream: bool = False, rank: int = TEST_PROCESS) -> None:
    """From now on this process records the warnings it would print (and prints them too with
    ``stream``); what a forked parent had recorded is dropped (it is the parent's to report)."""
    global _collecting, _stream, _rank, _test
    _pending.clear()
    _collecting, _stream, _rank, _test = True, stream, rank, None
    warnings.showwarning = _show


def stop_collecting() -> None:
    """Print warnings again (a helper process whose warnings nobody would report)."""
    global _collecting
    _collecting = False
    _pending.clear()
    if warnings.showwarning is _show:
        warnings.showwarning = _original_showwarning


def collecting() -> bool:
    return _collecting and warnings.showwarning is _show


def set_test(test_id: Optional[str]) -> None:
    """The test now running in this process (its warnings are attributed to it)."""
    global _test
    _test = test_id


def add(record: WarningRecord) -> None:
    if record.key in _pending:
        _pending[record.key].merge(record)
    else:
        _pending[record.key] = record


def take() -> list[WarningRecord]:
    """The records gathered since the last take, and forget them."""
    records = list(_pending.values())
    _pending.clear()
    return records


def peek() -> list[WarningRecord]:
    return list(_pending.values())


def _category(name: str) -> type:
    module, _, qualname = name.rpartition(".")
    try:
        found: Any = importlib.import_module(module or "builtins")
        for part in qualname.split("."):
            found = getattr(found, part)
        if isinstance(found, type) and issubclass(found, Warning):
            return found
    except Exception:
        pass
    return UserWarning


def from_ranks(records: Iterable[WarningRecord], test_id: Optional[str]) -> None:
    """Warnings a test's ranks sent back: kept here when this process collects, else warned again
    here (once per time a rank raised it) for whatever handles this process's warnings."""
    for record in records:
        if test_id and test_id not in record.tests:
            record.tests.append(test_id)
        if collecting():
            add(record)
            continue
        category = _category(record.category)
        for _ in range(record.count):
            warnings.warn_explicit(record.message, category, record.filename, record.lineno, registry={})
