"""What a run marks beside outcomes: tests that ran on no rank, and files whose missing upstream
names imported as placeholders. Read from the reports (TestReport.zero_ranks, FileRun.unsupported);
the terminal summary, JUnit and ``--fail-on-empty`` all take them from here."""

from __future__ import annotations

from testing._runner.execute import FileRun
from testing._runner.result import TestReport


def zero_rank_tests(runs: list[FileRun]) -> list[TestReport]:
    return [r for run in runs for r in run.tests if r.zero_ranks]


def zero_rank_lines(runs: list[FileRun]) -> list[str]:
    """``N tests ran on 0 ranks: world size 0 from SOURCE``, one line per source, then their ids."""
    by_source: dict[str, list[TestReport]] = {}
    for report in zero_rank_tests(runs):
        by_source.setdefault(report.zero_ranks, []).append(report)
    lines = []
    for source, reports in by_source.items():
        lines.append(f"{len(reports)} test{'s' if len(reports) != 1 else ''} ran on 0 ranks: world size 0 from {source}")
        lines.extend(f"  {r.file}::{r.id}" for r in reports)
    return lines


def unsupported_lines(runs: list[FileRun]) -> list[str]:
    return [f"UNSUPPORTED: {run.file}: the tests that use these upstream names error: {run.unsupported}"
            for run in runs if run.unsupported]
