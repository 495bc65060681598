"""Run one test file and stream a TestReport per outcome as JSON lines (the runner's subprocess).

``python -m testing._runner.worker FILE [--report OUT] [--list] [-k PATTERN]... [Class[.test]]...``

The file is imported under its own name (not ``__main__``), so its ``run_tests()`` block does not
run; a file that fails to import becomes one "error" report naming the file, never a vanished file.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
import unittest
from collections.abc import Callable
from typing import Optional, TextIO

from testing._core import config as _config
from testing._core import signals
from testing._core import warnings_log
from testing._core.naming import short_id
from testing._fork import redirect as _redirect
from testing._runner import loader
from testing._runner.options import build_parser
from testing._runner.result import Control, ReportingResult, TestReport, first_line

if _config.redirect_requested():  # a spawned rank re-imports the file: same resolution
    _redirect.install()


def _device_of(test: unittest.TestCase) -> Optional[str]:
    device = getattr(type(test), "device_type", None)
    if isinstance(device, str):
        return device
    from testing._core.config import get_config

    return get_config().device


def apply_expectations(tests: list, paths: list[str], file: str, result: ReportingResult) -> tuple[list, list]:
    """Mark each selected test with the expectations entry that applies to it.

    skip: not run at all (reported skipped with the entry's reason); xfail / strict-xfail: run as
    an expected failure; timeout: the rank timeout of that test becomes the entry's.
    """
    from testing._core import versions

    from testing._fork import expectation_files, expectations as _expectations

    entries = expectation_files.load_all(paths)
    to_run, skipped = [], []
    for test in tests:
        test_id = short_id(test)
        entry = _expectations.matching(entries, test_id, _device_of(test), versions.build(), file)
        if entry is None:
            to_run.append(test)
            continue
        result.annotations[test_id] = {"expectation": entry.mode, "expectation_reason": entry.reason,
                                       "expectation_link": entry.link, "expectation_source": entry.where}
        if entry.mode == "skip":
            skipped.append((test, f"expectation: {entry.reason}"))
            continue
        if entry.mode in ("xfail", "strict-xfail"):
            setattr(test, "__unittest_expecting_failure__", True)
        elif entry.mode == "timeout":
            test._testing_timeout = (entry.timeout, f"expectations file {entry.source}")
        to_run.append(test)
    return to_run, skipped


def main(argv: Optional[list[str]] = None) -> int:
    # the runner's own parser (paths, -k, --list, --expectations), plus what only the worker takes
    parser = build_parser(prog="python -m testing._runner.worker")
    parser.add_argument("--report", help=argparse.SUPPRESS)
    parser.add_argument("--upstream-harness", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.paths:
        parser.error("a test file is needed")
    args.file, args.names = args.paths[0], args.paths[1:]

    out: TextIO = open(args.report, "a", buffering=1) if args.report else sys.stdout

    def emit(record: "TestReport | Control") -> None:
        out.write(record.to_json() + "\n")
        out.flush()

    # a runner killed with SIGKILL takes its workers down (SIGTERM: they unwind and stop their ranks)
    signals.die_with_parent(signal.SIGTERM)
    signals.interrupt_on_sigterm()
    code = _run(args, emit)
    left = warnings_log.take()
    if left:
        emit(Control("warnings", warnings=[w.to_dict() for w in left]))
    emit(Control("done"))
    return code


def _run(args: argparse.Namespace, emit: Callable) -> int:
    display = os.path.relpath(args.file)

    placeholders: list[str] = []
    try:
        # warnings are data from here on: each test's report carries those raised while it ran
        warnings_log.collect(stream=_config.get_config().show_warnings)
        if not args.upstream_harness:
            placeholders = _redirect.activate(args.file)
        module = loader.load_module(args.file)
        tests = loader.select(module, args.patterns, args.names)
    except BaseException as exc:  # an import or collection failure is an error entry for the file
        if isinstance(exc, KeyboardInterrupt):
            raise
        details = traceback.format_exc()
        emit(TestReport(f"<{display}>", "error", message=first_line(details), details=details, file=display))
        return 1
    emit(Control("collected", count=len(tests), file=display))
    if placeholders:
        emit(Control("unsupported", file=display, text=", ".join(placeholders)))
    if args.list:
        for test in tests:
            emit(Control("listed", id=short_id(test), file=display))
        return 0
    if "testing._ranks.multiprocess" in sys.modules:
        from testing._ranks import engine as _engine

        _engine.prestart(module.__name__)
    result = ReportingResult([emit], file=display, on_start=lambda test_id: emit(Control("started", id=test_id, file=display)))
    skipped: list[tuple[unittest.TestCase, str]] = []
    if args.expectations:
        tests, skipped = apply_expectations(tests, args.expectations, args.file, result)
    try:
        for test, reason in skipped:
            result.startTest(test)
            result.addSkip(test, reason)
            result.stopTest(test)
        unittest.TestSuite(tests).run(result)
    finally:
        if "testing._ranks.engine" in sys.modules:
            sys.modules["testing._ranks.engine"].shutdown()
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
