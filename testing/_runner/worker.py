"""Run one test file and stream a TestReport per outcome as JSON lines (the runner's subprocess).

``python -m testing._runner.worker FILE [--report OUT] [--list] [-k PATTERN]... [Class[.test]]...``

The file is imported under its own name (not ``__main__``), so its ``run_tests()`` block does not
run; a file that fails to import becomes one "error" report naming the file, never a vanished file.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib.util
import os
import sys
import traceback
import unittest
from collections.abc import Iterator
from typing import Optional, TextIO

from testing._fork import redirect as _redirect
from testing._runner.result import ReportingResult, TestReport, first_line

if os.environ.get("TESTING_REDIRECT") == "1":  # a spawned rank re-imports the file: same resolution
    _redirect.install()


def load_module(path: str) -> object:
    path = os.path.abspath(path)
    directory, name = os.path.split(path)
    name = os.path.splitext(name)[0]
    if directory not in sys.path:
        sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before executing: rank processes resolve classes by module name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def iter_tests(suite: unittest.TestSuite) -> Iterator[unittest.TestCase]:
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from iter_tests(item)
        else:
            yield item


def matches(test_id: str, patterns: list[str]) -> bool:
    """unittest's -k: fnmatch when the pattern has a wildcard, else a substring of the full id."""
    return any(fnmatch.fnmatchcase(test_id, p if "*" in p else f"*{p}*") for p in patterns)


def select(module: object, patterns: list[str], names: list[str]) -> list[unittest.TestCase]:
    tests = list(iter_tests(unittest.defaultTestLoader.loadTestsFromModule(module)))
    if patterns:
        tests = [t for t in tests if matches(t.id(), patterns)]
    if names:
        short = lambda t: ".".join(t.id().split(".")[-2:])  # noqa: E731
        tests = [t for t in tests if any(short(t) == n or short(t).startswith(n + ".") for n in names)]
    return tests


def _device_of(test: unittest.TestCase) -> Optional[str]:
    device = getattr(type(test), "device_type", None)
    if isinstance(device, str):
        return device
    from testing._core.config import get_config

    return get_config().device


def apply_expectations(tests: list, path: str, file: str, result: ReportingResult) -> tuple[list, list]:
    """Mark each selected test with the expectations entry that applies to it.

    skip: not run at all (reported skipped with the entry's reason); xfail / strict-xfail: run as
    an expected failure; timeout: the rank timeout of that test becomes the entry's.
    """
    import torch

    from testing._fork import expectations as _expectations

    entries = _expectations.load(path)
    to_run, skipped = [], []
    for test in tests:
        test_id = ".".join(test.id().split(".")[-2:])
        entry = _expectations.matching(entries, test_id, _device_of(test), torch.__version__, file)
        if entry is None:
            to_run.append(test)
            continue
        result.annotations[test_id] = {"expectation": entry.mode, "expectation_reason": entry.reason,
                                       "expectation_link": entry.link}
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
    parser = argparse.ArgumentParser(prog="python -m testing._runner.worker")
    parser.add_argument("file")
    parser.add_argument("--report", help="write JSON-lines reports here (default: stdout)")
    parser.add_argument("--list", action="store_true", help="print the selected test ids and exit")
    parser.add_argument("-k", dest="patterns", action="append", default=[])
    parser.add_argument("--upstream-harness", action="store_true",
                        help="leave upstream harness imports to torch itself (conformance oracle runs)")
    parser.add_argument("--expectations", help="TOML expectations file to apply (see testing/_expectations.py)")
    parser.add_argument("names", nargs="*")
    args = parser.parse_args(argv)

    out: TextIO = open(args.report, "a", buffering=1) if args.report else sys.stdout
    display = os.path.relpath(args.file)

    def emit(report: TestReport) -> None:
        out.write(report.to_json() + "\n")
        out.flush()

    try:
        if not args.upstream_harness:
            _redirect.check_file(args.file)
            _redirect.install()
            os.environ["TESTING_REDIRECT"] = "1"
        module = load_module(args.file)
        tests = select(module, args.patterns, args.names)
    except BaseException as exc:  # an import or collection failure is an error entry for the file
        if isinstance(exc, KeyboardInterrupt):
            raise
        details = traceback.format_exc()
        emit(TestReport(f"<{display}>", "error", message=first_line(details), details=details, file=display))
        return 1
    if args.list:
        for test in tests:
            emit(TestReport(".".join(test.id().split(".")[-2:]), "listed", file=display))
        return 0
    emit(TestReport("<collected>", "collected", message=str(len(tests)), file=display))
    if "testing._ranks.multiprocess" in sys.modules:
        from testing._ranks import engine as _engine
        from testing._runner import module_cli as _main

        _main._interrupt_on_sigterm()
        _engine.prestart(module.__name__)
    result = ReportingResult([emit], file=display)
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
