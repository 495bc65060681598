"""Outcomes as plain data: one result object records them, every reporter reads them.

`TestReport` is what crosses the process boundary (JSON lines from a worker to the runner);
`ReportingResult` is the unittest result that produces them and hands each one to listeners.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
import traceback
import unittest
from collections.abc import Callable
from typing import Any, Optional

from testing._core import skips as _skips
from testing._core import warnings_log
from testing._core.naming import short_id
from testing._runner import classify


@dataclasses.dataclass
class TestReport:
    id: str
    """``Class.test`` (a subtest adds `` [params]``); for a file that could not load, ``<file>``."""
    outcome: str
    duration: float = 0.0
    message: str = ""
    """First line of the failure, or the skip reason."""
    details: str = ""
    """Full failure text (every rank's traceback for a distributed test)."""
    file: str = ""
    device_skip: bool = False
    """Skipped for lack of devices (TEST_SKIPS multi-gpu-N, no accelerator)."""
    subtest_of: Optional[str] = None
    expectation: str = ""
    """Mode of the expectations-file entry applied to this test (skip, xfail, strict-xfail, timeout)."""
    expectation_reason: str = ""
    expectation_link: str = ""
    expectation_source: str = ""
    """The expectations file (and line) the applied entry came from."""
    ranks: list = dataclasses.field(default_factory=list)
    """A distributed test's per-rank results (testing._ranks.evidence.RankResult as dicts); the
    message is then the headline, naming the rank at fault."""
    zero_ranks: str = ""
    """For a distributed test that started no rank (world size 0): where the 0 came from. Its
    outcome stays upstream's (passed); reporters mark it."""
    warnings: list = dataclasses.field(default_factory=list)
    """The warnings raised while it ran, in its ranks and in the test process (WarningRecord dicts)."""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, line: str) -> "TestReport":
        return cls(**json.loads(line))

    @property
    def is_failure(self) -> bool:
        return self.outcome in ("failed", "error", "xpass")


@dataclasses.dataclass
class Control:
    """A worker's record that is not a test outcome: how many tests it collected, a listed id, and
    the final ``done`` (a worker that ends without it died: its file is an error entry)."""

    control: str
    count: int = 0
    id: str = ""
    file: str = ""
    text: str = ""
    """``unsupported``: the upstream names the file imports as placeholders, comma-separated."""
    warnings: list = dataclasses.field(default_factory=list)
    """``warnings``: those raised outside any test (importing the file), as WarningRecord dicts."""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))


def parse_record(line: str) -> "TestReport | Control":
    data = json.loads(line)
    return Control(**data) if "control" in data else TestReport(**data)


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*: ")


def first_line(text: str) -> str:
    """The line that says what went wrong: the last ``SomeError: ...`` line of a traceback."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if _EXCEPTION_LINE.match(line):
            return line.strip()[:300]
    return (lines[-1] if lines else "").strip()[:300]


def tally(reports: list[TestReport]) -> dict[str, int]:
    """Counts of a run's reports; errors count as failed and expected failures as passed in the closing line."""
    counts = {"passed": 0, "failed": 0, "skipped": 0, "errors": 0, "device_skips": 0, "flaky": 0}
    for r in reports:
        if r.outcome in ("passed", "xfail"):
            counts["passed"] += 1
        elif r.outcome in ("flaky", "unexpected-pass"):
            counts["passed"] += 1
            counts["flaky"] += int(r.outcome == "flaky")
        elif r.outcome == "xpass":
            counts["failed"] += 1
        elif r.outcome in ("failed", "error"):  # as the JUnit file counts it (classify's rule)
            counts["failed" if classify.kind_of_outcome(r.outcome, r.ranks) == classify.FAILURE else "errors"] += 1
        elif r.outcome == "skipped":
            counts["skipped"] += 1
            counts["device_skips"] += int(r.device_skip)
    return counts


class ReportingResult(unittest.TestResult):
    """A unittest result that turns each outcome into a TestReport for its listeners."""

    def __init__(self, listeners: list[Callable[[TestReport], Any]], file: str = "",
                 on_start: Optional[Callable[[str], Any]] = None, take_warnings: bool = True) -> None:
        super().__init__()
        self.take_warnings = take_warnings
        """Each report takes the warnings recorded while its test ran; False where another reader
        (a direct run's warnings summary) reports them."""
        self.on_start = on_start
        self.listeners = listeners
        self.file = file
        self.reports: list[TestReport] = []
        self._started: dict[str, float] = {}
        self._failed_subtests: set[str] = set()
        self.annotations: dict[str, dict] = {}
        """Extra report fields per test id (the expectation applied to it)."""

    def _emit(self, test: Any, outcome: str, message: str = "", details: str = "", **extra: Any) -> None:
        test_id = short_id(test) if isinstance(test, unittest.TestCase) else str(test)
        started = self._started.get(test_id)
        report = TestReport(
            id=test_id,
            outcome=outcome,
            duration=round(time.monotonic() - started, 3) if started else 0.0,
            message=message,
            details=details,
            file=self.file,
            warnings=[w.to_dict() for w in warnings_log.take()] if self.take_warnings else [],
            **{**self.annotations.get(test_id, {}), **extra},
        )
        self.reports.append(report)
        for listener in self.listeners:
            listener(report)

    def _text(self, err: Any, test: Any) -> str:
        return "".join(traceback.format_exception(*err)) if isinstance(err, tuple) else str(err)

    def startTest(self, test: unittest.TestCase) -> None:  # noqa: N802
        super().startTest(test)
        self._started[short_id(test)] = time.monotonic()
        if self.on_start is not None:
            self.on_start(short_id(test))

    def addSuccess(self, test: unittest.TestCase) -> None:  # noqa: N802
        super().addSuccess(test)
        if short_id(test) not in self._failed_subtests:
            self._emit(test, "passed", zero_ranks=getattr(test, "_testing_zero_ranks", ""))

    def _failure(self, test: Any, err: Any, outcome: str) -> None:
        exc = err[1] if isinstance(err, tuple) else None
        evidence = getattr(exc, "evidence", None)
        if evidence is not None:  # a distributed test: the ranks' results are the report
            self._emit(test, outcome, exc.headline, str(exc), ranks=[r.to_dict() for r in evidence])
            return
        details = self._text(err, test)
        self._emit(test, outcome, first_line(details), details)

    def addFailure(self, test: unittest.TestCase, err: Any) -> None:  # noqa: N802
        super().addFailure(test, err)
        self._failure(test, err, "failed")

    def addError(self, test: Any, err: Any) -> None:  # noqa: N802
        super().addError(test, err)
        self._failure(test, err, "error")

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:  # noqa: N802
        super().addSkip(test, reason)
        self._emit(test, "skipped", reason, device_skip=_skips.is_device_skip(reason))

    def addExpectedFailure(self, test: unittest.TestCase, err: Any) -> None:  # noqa: N802
        super().addExpectedFailure(test, err)
        self._emit(test, "xfail", first_line(self._text(err, test)))

    def addUnexpectedSuccess(self, test: unittest.TestCase) -> None:  # noqa: N802
        super().addUnexpectedSuccess(test)
        self._emit(test, "xpass", "unexpected success")

    def addSubTest(self, test: unittest.TestCase, subtest: Any, err: Any) -> None:  # noqa: N802
        super().addSubTest(test, subtest, err)
        parent = short_id(test)
        sub_id = f"{parent} {subtest._subDescription()}"
        if err is None:
            outcome, message, details = "passed", "", ""
        else:
            details = self._text(err, test)
            failed = issubclass(err[0], test.failureException)
            outcome, message = ("failed" if failed else "error"), first_line(details)
            self._failed_subtests.add(parent)
        report = TestReport(sub_id, outcome, message=message, details=details, file=self.file, subtest_of=parent)
        self.reports.append(report)
        for listener in self.listeners:
            listener(report)
