"""``--expectations FILE`` (given once or more): each file read by its format, entries in order.

``.py``: a torch-xpu-ops-style ``skip_dict`` module; ``.json``: upstream's disabled-tests file;
anything else: this harness's TOML (see `expectations`). Where two files name the same test, the
first file given wins, as the first matching entry of one file does.
"""

from __future__ import annotations

from collections.abc import Iterable

from testing._fork import expectations, skip_lists
from testing._fork.expectations import Expectation


def load(path: str) -> list[Expectation]:
    """One file's entries, by its format."""
    found = skip_lists.read_any(path)
    return expectations.load(path) if found is None else found


def load_all(paths: Iterable[str]) -> list[Expectation]:
    """The entries of every file given, in the order given."""
    return [entry for path in paths for entry in load(path)]
