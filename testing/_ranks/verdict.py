"""A test's outcome from every rank's result (upstream looks at rank 0's exit code only).

* a rank raised -> ERROR (RuntimeError, as upstream), headed by the rank that failed first;
* the timeout expired -> ERROR naming the timeout, its source, and where each rank was;
* a rank killed by a signal or ending without a result -> FAIL (AssertionError, as upstream);
* every rank skipped -> SKIP with the ranks' own reason; some skipped, others passed -> FAIL.

The raised exception's first line is the headline; below it, upstream's per-process text
("Process N exited with error code 10 and exception: ...") so tools that grep for it still work.
The exception carries the `RankResult`s (``.evidence``) for reporters to read as data.
"""

from __future__ import annotations

import unittest

from testing._core import cuda_mapping
from testing._core.config import get_config
from testing._ranks import engine as _engine
from testing._ranks.evidence import RankResult, exception_parts, headline, is_knock_on, knock_on_lines, location, root_cause

TEST_ERROR_EXIT_CODE = 10


class RankEvidence:
    """Mixed into the exceptions a distributed test raises: the per-rank results behind it."""

    evidence: list[RankResult]
    headline: str


class RankError(RankEvidence, RuntimeError):
    pass


class RankFailure(RankEvidence, AssertionError):
    pass


# Tracebacks, unittest and pytest print these as upstream's types ("RuntimeError: rank 2: ..."), so
# what people and their log scrapers look for is where it always was; isinstance checks still work.
for _cls, _shown in ((RankError, "RuntimeError"), (RankFailure, "AssertionError")):
    _cls.__module__, _cls.__qualname__ = "builtins", _shown


def _status(report: _engine.RankReport, expected_code: int, check_codes: bool) -> str:
    if report.stopped == "timeout":
        return "hung"
    if report.stopped == "peer-fault":
        return "stopped"
    if report.status == "error":
        return "knock-on" if is_knock_on(report.detail) else "failed"
    if report.signal_name:
        return "killed" if check_codes else "passed"
    if report.status == "skip":
        return "skipped"
    if report.status is None or (report.status == "exit" and report.exitcode != expected_code):
        return "exited-early" if check_codes else "passed"
    return "passed"


def rank_results(run: _engine.RankRun, expected_code: int = 0, check_codes: bool = True) -> list[RankResult]:
    results = []
    for report in run.reports:
        status = _status(report, expected_code, check_codes)
        exc_type, exc_message = exception_parts(report.detail) if report.status == "error" else ("", "")
        when = report.reported_at if report.status == "error" and report.reported_at is not None else report.ended_at
        results.append(RankResult(
            rank=report.rank, status=status, pid=report.pid, exit_code=report.exitcode, signal=report.signal_name,
            exc_type=exc_type, exc_message=exc_message, traceback=report.detail if report.status == "error" else "",
            failed_at=round(when, 3) if when is not None and status not in ("passed", "skipped") else None,
            stacks=report.stacks, where=location(report.stacks) if status in ("hung", "stopped") else "",
        ))
    cause = None if run.timed_out else root_cause(results)
    if cause is not None:
        cause.root_cause = True
    return results


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.rstrip().splitlines())


def _describe(result: RankResult) -> str:
    """One rank's state and evidence, for the full text below the headline."""
    text = f"Rank {result.rank} (pid {result.pid}) {result.status}: {result.summary()}"
    if result.stacks:
        text += "\n" + _indent(result.stacks)
    return text


def _raise(cls: type, results: list[RankResult], head: str, body: str) -> None:
    echoes = knock_on_lines(results)
    hint = cuda_mapping.hint_for(body, get_config())
    text = (head + ("\n" + "\n".join("  " + line for line in echoes) if echoes else "")
            + (f"\n{hint}" if hint else "") + "\n\n" + body)
    exc = cls(text)
    exc.evidence, exc.headline = results, head
    raise exc


def verdict(run: _engine.RankRun, expected_code: int = 0, check_codes: bool = True) -> None:
    """Raise what the test's outcome is, from every rank's result (returns on a pass)."""
    results = rank_results(run, expected_code, check_codes)
    head = headline(results, run.timed_out, run.timeout, run.timeout_source)
    errors = [(r, rep) for r, rep in zip(results, run.reports) if rep.status == "error"]
    others = [_describe(r) for r in results if r.status not in ("failed", "knock-on", "passed")]
    if errors and not run.timed_out:
        body = "".join(f"Process {r.rank} exited with error code {TEST_ERROR_EXIT_CODE} and exception:\n{rep.detail}\n"
                       for r, rep in errors)
        if others:
            body += "\nOther ranks:\n" + "\n".join(others)
        _raise(RankError, results, head, body)
    if run.timed_out:
        live = [r for r in results if r.status == "hung"]
        body = "".join(f"Process {r.rank} terminated or timed out after {run.elapsed:.2f} seconds\n" for r in live)
        body += (f"Timed out after {run.timeout:g} s (timeout from {run.timeout_source}); "
                 "stacks of the ranks still running:\n" + "\n".join(_describe(r) for r in results))
        _raise(RankError, results, head, body)
    bad = [r for r in results if r.status in ("killed", "exited-early")]
    if bad:
        first = min(bad, key=lambda r: (r.failed_at if r.failed_at is not None else float("inf"), r.rank))
        body = f"Expected exit code {expected_code} but got {first.exit_code} for pid: {first.pid}\n"
        body += "\n".join(_describe(r) for r in results if r.status != "passed")
        _raise(RankFailure, results, head, body)
    skipped = [r for r, rep in zip(results, run.reports) if r.status == "skipped"]
    if skipped and len(skipped) < len(results):
        reasons = {r.rank: rep.detail for r, rep in zip(results, run.reports)}
        text = "Ranks disagree: " + "; ".join(
            f"rank {r.rank} {'skipped (' + reasons[r.rank] + ')' if r.status == 'skipped' else r.status}" for r in results)
        exc = RankFailure(text)
        exc.evidence, exc.headline = results, text
        raise exc
    if skipped:
        reasons = sorted({rep.detail for rep in run.reports if rep.status == "skip"})
        raise unittest.SkipTest(reasons[0] if len(reasons) == 1 else "; ".join(
            f"rank {rep.rank}: {rep.detail}" for rep in run.reports if rep.status == "skip"))
