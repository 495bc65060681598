"""The warnings summary a run prints after its results, as pytest's: each distinct warning once, with
how many times it was raised, by which ranks and in which tests.

It reads `WarningRecord`s (testing._core.warnings_log); the direct run (module_cli) and run_test.py
(terminal) print the same lines.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from testing._core.warnings_log import TEST_PROCESS, WarningRecord, merged

def short_path(filename: str) -> str:
    """A warning's file as people read it: relative to here when under it, else from the package
    directory on (``torch/distributed/fsdp/_optim_utils.py``)."""
    absolute = os.path.abspath(filename)
    here = os.getcwd() + os.sep
    if absolute.startswith(here):
        return absolute[len(here):]
    for marker in (f"{os.sep}site-packages{os.sep}", f"{os.sep}dist-packages{os.sep}"):
        if marker in absolute:
            return absolute.split(marker, 1)[1]
    return filename


def _spans(numbers: list[int]) -> str:
    """``0-3,5``."""
    spans: list[list[int]] = []
    for n in sorted(numbers):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def where(record: WarningRecord) -> str:
    """``ranks 0-3``, ``rank 2``, ``the test process``, or both."""
    ranks = [r for r in record.ranks if r != TEST_PROCESS]
    parts = ["the test process"] if TEST_PROCESS in record.ranks else []
    if ranks:
        parts.append(f"rank{'s' if len(ranks) > 1 else ''} {_spans(ranks)}")
    return " and ".join(parts)


def _tests(record: WarningRecord) -> str:
    tests = record.tests
    if not tests:
        return "outside any test"
    if len(tests) == 1:
        return f"in {tests[0]}"
    return f"in {len(tests)} tests, first {tests[0]}"  # parametrized names are long: one is named


def entry_lines(record: WarningRecord) -> list[str]:
    category = record.category.rsplit(".", 1)[-1]
    first, *rest = record.message.strip().splitlines() or [""]
    lines = [f"{short_path(record.filename)}:{record.lineno}: {category}: {first}"]
    lines += ["    " + line for line in rest]
    times = f"{record.count} time{'s' if record.count != 1 else ''}"
    lines.append(f"  {times}, {where(record)}, {_tests(record)}")
    return lines


def summary_lines(records: Iterable[WarningRecord], verbose: bool = False) -> list[str]:
    """The section, or nothing when no warning was raised."""
    records = merged(records)
    if not records:
        return []
    lines = ["", "=" * 30 + " warnings summary " + "=" * 30]
    for record in records:
        lines += entry_lines(record)
    total = sum(r.count for r in records)
    hint = "" if verbose else "; -v prints each as it happens"
    lines.append(f"{total} warning{'s' if total != 1 else ''}, {len(records)} distinct{hint}")
    return lines
