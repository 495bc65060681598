"""What the runner prints: a line per finished test, then the summary and the closing line."""

from __future__ import annotations

import sys
from typing import TextIO

from testing._core.warnings_log import WarningRecord
from testing._runner.result import Control, TestReport, tally
from testing._runner.warnings_summary import summary_lines

from . import classify, marks
from .execute import FileRun

LABELS = {
    "passed": "PASSED", "failed": "FAILED", "error": "ERROR", "skipped": "SKIPPED",
    "xfail": "XFAIL", "xpass": "XPASS", "flaky": "FLAKY", "unexpected-pass": "UNEXPECTED-PASS",
}


def label_of(report: TestReport) -> str:
    """FAILED or ERROR as the JUnit file says it (a rank's AssertionError fails the test, though the
    test process saw a RuntimeError), else the outcome's label."""
    if report.outcome in ("failed", "error"):
        return "FAILED" if classify.kind_of_outcome(report.outcome, report.ranks) == classify.FAILURE else "ERROR"
    return LABELS.get(report.outcome, report.outcome.upper())


class TerminalReporter:
    """Progress: a line per finished test, with the file and running counts. A test's subtests count
    under their test, so ``3/5`` means three of the file's five tests are done."""

    def __init__(self, stream: TextIO = sys.stdout, verbose: bool = False) -> None:
        self.stream = stream
        self.verbose = verbose
        self.done = 0
        self.seen: dict[str, set[str]] = {}
        self.totals: dict[str, int] = {}
        self.running: dict[str, str] = {}
        """file -> the id of its last started-and-not-finished test, for the interrupt line."""
        self.reports: list[TestReport] = []
        """Every outcome printed so far, the running files' included (the interrupt line counts them)."""

    def write(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def start_file(self, file: str, index: int, count: int, share: str = "") -> None:
        self.seen[file] = set()
        self.write(f"=== {file} [{index}/{count}]{' on ' + share if share else ''}")

    def control(self, record: Control) -> None:
        if record.control == "collected":
            self.totals[record.file] = record.count
        elif record.control == "started":
            self.running[record.file] = record.id
        elif record.control == "listed":
            self.write(f"{record.file}::{record.id}")

    def output(self, file: str, text: str) -> None:
        """``-v``: a file's own output as it arrives, each line marked with the file."""
        for line in text.rstrip("\n").splitlines():
            self.write(f"  [{file}] {line}")

    def report(self, report: TestReport) -> None:
        self.reports.append(report)
        seen = self.seen.setdefault(report.file, set())
        key = report.subtest_of or report.id
        if self.running.get(report.file) == report.id:  # it has finished: no longer "was running"
            self.running.pop(report.file)
        if key not in seen:
            seen.add(key)
            self.done += 1
        total = self.totals.get(report.file)
        of = f"/{total}" if total is not None else ""
        label = "SKIPPED(device)" if report.device_skip else label_of(report)
        tail = f"  {report.message}" if report.outcome != "passed" and report.message else ""
        self.write(f"{label:<8} {report.id} ({report.duration:.2f}s) [{report.file} {len(seen)}{of}, {self.done} done]{tail}")

    def interrupted_text(self) -> str:
        """``interrupted: 3 passed, ... so far; FILE::TEST was running``: what was printed counts."""
        done = tally(self.reports)
        return (f"interrupted: {done['passed']} passed, {done['failed'] + done['errors']} failed, "
                f"{done['skipped']} skipped so far{self.running_text()}")

    def running_text(self) -> str:
        return "".join(f"; {file}::{test_id} was running" for file, test_id in self.running.items())

    def file_log(self, run: FileRun) -> None:
        self.running.pop(run.file, None)
        if not self.verbose and run.returncode not in (0, 1) and run.log:
            self.write(f"--- output of {run.file} (last 60 lines)")
            self.write("\n".join(run.log.rstrip().splitlines()[-60:]))


def summary(reporter: TerminalReporter, runs: list[FileRun], empty_files: list[tuple[str, str]], wall: float,
            stale: list = ()) -> None:
    w = reporter.write
    all_tests = [r for run in runs for r in run.tests]
    w("")
    w("=" * 30 + " summary " + "=" * 30)
    width = max([60, *(len(run.file) for run in runs)])  # long paths keep the columns aligned
    w(f"{'file':<{width}} {'passed':>6} {'failed':>6} {'skipped':>7} {'errors':>6} {'time':>8}")
    for run in runs:
        t = tally(run.tests)
        w(f"{run.file:<{width}} {t['passed']:>6} {t['failed']:>6} {t['skipped']:>7} {t['errors']:>6} {run.wall:>7.1f}s")
    slowest = sorted((r for r in all_tests if r.duration), key=lambda r: -r.duration)[:5]
    if slowest:
        w("slowest tests:")
        for r in slowest:
            w(f"  {r.duration:7.2f}s  {r.file}::{r.id}")
    totals = tally(all_tests)
    if totals["device_skips"]:
        w(f"skipped for lack of devices: {totals['device_skips']} (other skips: {totals['skipped'] - totals['device_skips']})")
    for file, why in empty_files:
        w(f"EMPTY: {file}: {why}")
    for line in (*marks.zero_rank_lines(runs), *marks.unsupported_lines(runs)):
        w(line)
    flaky = [r for r in all_tests if r.outcome == "flaky"]
    if flaky:
        w("flaky (failed, then passed on rerun):")
        for r in flaky:
            w(f"  {r.file}::{r.id}")
    surprises = [r for r in all_tests if r.outcome == "unexpected-pass"]
    if surprises:
        w("unexpected passes (xfail expectations that may be stale):")
        for r in surprises:
            w(f"  {r.file}::{r.id} - {r.expectation_reason}")
    applied = [r for r in all_tests if r.expectation]
    if applied:
        w("expectations applied:")
        for r in applied:
            w(f"  {r.expectation:<12} {r.file}::{r.id} (from {r.expectation_source})")
    for entry in stale:
        w(f"STALE expectation: {entry.id} ({entry.where}) matched no {'file' if entry.kind == 'file' else 'collected test'} - {entry.reason}")
    failures = [r for r in all_tests if r.is_failure]
    if failures:
        w("failures:")
        for r in failures:
            w(f"  {label_of(r)} {r.file}::{r.id} - {r.message}")
    w(f"wall time {wall:.1f}s")


def warnings_section(reporter: TerminalReporter, runs: list[FileRun]) -> None:
    """Each distinct warning of the run once, after the failures (testing._runner.warnings_summary)."""
    records = [WarningRecord.from_dict(w) for run in runs for w in run.warnings]
    for line in summary_lines(records, verbose=reporter.verbose):
        reporter.write(line)


def closing_line(reporter: TerminalReporter, totals: dict[str, int]) -> None:
    """The last line, the one CI dashboards read."""
    reporter.write(f"{totals['passed']} passed, {totals['failed'] + totals['errors']} failed, {totals['skipped']} skipped")
