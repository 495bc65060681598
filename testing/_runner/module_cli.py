"""run_tests(): a test module's command line (unittest's, the harness's flags, and upstream's
run_tests() flags of the installed torch release, see `run_tests_flags`)."""

from __future__ import annotations

import atexit
import os
import sys
import unittest
from typing import Any, Optional

from testing._core import config as _config
from testing._core import cuda_mapping, signals
from testing._core import warnings_log
from testing._core.case import set_rng_seed
from testing._core.naming import short_id
from testing._ranks import engine as _engine
from testing._runner import class_lint, module_launch, module_xml, run_tests_flags, upstream_selection
from testing._runner.loader import iter_tests
from testing._runner.warnings_summary import summary_lines

class _Stream:
    """unittest's output stream, remembering whether a line is open (dots, ``test ... ``), so that
    the interrupt line starts on a line of its own."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.line_open = False

    def write(self, text: str) -> Any:
        if text:
            self.line_open = not text.endswith("\n")
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _Result(unittest.TextTestResult):
    """unittest's result, plus the test running now and the warnings summary after the failures."""

    running: Optional[str] = None
    """The test started and not yet given an outcome (unittest calls stopTest even when an
    interrupt cut the test short, so stopTest alone does not say it finished)."""
    _ended = False

    def startTest(self, test: unittest.TestCase) -> None:  # noqa: N802
        self.running, self._ended = short_id(test), False
        super().startTest(test)

    def stopTest(self, test: unittest.TestCase) -> None:  # noqa: N802
        super().stopTest(test)
        if self._ended:
            self.running = None

    def _end(self, add: Any, *args: Any) -> None:
        self._ended = True
        add(*args)

    def addSuccess(self, test: Any) -> None:  # noqa: N802
        self._end(super().addSuccess, test)

    def addError(self, test: Any, err: Any) -> None:  # noqa: N802
        self._end(super().addError, test, err)

    def addFailure(self, test: Any, err: Any) -> None:  # noqa: N802
        self._end(super().addFailure, test, err)

    def addSkip(self, test: Any, reason: str) -> None:  # noqa: N802
        self._end(super().addSkip, test, reason)

    def addExpectedFailure(self, test: Any, err: Any) -> None:  # noqa: N802
        self._end(super().addExpectedFailure, test, err)

    def addUnexpectedSuccess(self, test: Any) -> None:  # noqa: N802
        self._end(super().addUnexpectedSuccess, test)

    def _exc_info_to_string(self, err: Any, test: Any) -> str:
        text = super()._exc_info_to_string(err, test)
        hint = cuda_mapping.hint_for(text, _config.get_config())
        # a distributed test's exception already carries it (testing._ranks.verdict)
        return text if not hint or hint in text else f"{text.rstrip()}\n{hint}\n"

    def printErrors(self) -> None:  # noqa: N802
        super().printErrors()
        for line in summary_lines(warnings_log.take(), verbose=_config.get_config().show_warnings):
            self.stream.writeln(line)


class _Runner(unittest.TextTestRunner):
    resultclass = _Result
    last: Optional[_Result] = None
    """The result of the run in progress (for the interrupt line)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tracked = _Stream(self.stream.stream)
        self.stream.stream = self.tracked

    def _makeResult(self) -> _Result:  # noqa: N802
        _Runner.last = super()._makeResult()
        _Runner.last.tracked_stream = self.tracked
        return _Runner.last


def interrupted_line(result: Optional[_Result]) -> str:
    """``testing: interrupted: 3 passed, 0 failed, 1 skipped so far; TestX.test_y was running``."""
    if result is None:
        return signals.INTERRUPTED_EARLY
    running = result.running
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = max(0, result.testsRun - (running is not None) - failed - skipped)
    tail = f"; {running} was running" if running else ""
    return f"testing: interrupted: {passed} passed, {failed} failed, {skipped} skipped so far{tail}"


def end_interrupted(result: Optional[_Result]) -> None:
    """Ctrl-C or SIGTERM: one line, exit 130, no traceback (ranks are stopped and their files removed
    by the clean-up the interrupt unwound through, and by the engine's shutdown)."""
    try:
        _engine.shutdown()
    finally:
        stream = getattr(result, "tracked_stream", None)
        prefix = "\n" if stream is not None and stream.line_open else ""
        print(prefix + interrupted_line(result), file=sys.stderr, flush=True)
        sys.exit(signals.INTERRUPTED_EXIT)


def print_help(argv: list[str]) -> None:
    """Upstream prints unittest's help, then its own parser's; here the harness's flags are in the latter."""
    try:
        unittest.main(module=None, argv=[argv[0], "--help"], exit=False)
    except SystemExit:
        pass
    print()
    print(run_tests_flags.run_tests_parser(prog=os.path.basename(argv[0])).format_help())


def run_tests(argv: Optional[list[str]] = None) -> None:
    """Run the calling module's tests: ``python test_x.py [--device NAME] [upstream flags] [unittest args]``."""
    _config.get_config()  # strips --device & co. from the command line, exports them, validates them
    argv = list(_config.module_argv() if argv is None else argv)
    if "-h" in argv or "--help" in argv:
        print_help(argv)
        sys.exit(0)
    options, rest = run_tests_flags.run_tests_parser().parse_known_args(argv[1:])
    if options.accept:
        import expecttest

        expecttest.ACCEPT = True
    set_rng_seed()
    selection = upstream_selection.Selection(
        disabled=upstream_selection.read_list(options.import_disabled_tests, "disabled", "DISABLED_TESTS_FILE"),
        slow=upstream_selection.read_list(options.import_slow_tests, "slow", "SLOW_TESTS_FILE"),
        rerun_disabled=options.rerun_disabled_tests,
        hw_classification=set(getattr(options, "hw_classification", None) or ()) or None)
    main_module = sys.modules["__main__"]
    if options.discover_tests:
        for test in iter_tests(unittest.TestLoader().loadTestsFromModule(main_module)):
            print(short_id(test))
        return
    if not class_lint.lint_test_case_extension(unittest.TestLoader().loadTestsFromModule(main_module)):
        sys.exit(1)  # upstream's check that every test class extends TestCase
    unittest_argv = [argv[0]] + rest
    if options.showlocals:
        unittest_argv[1:1] = ["--showlocals", "--tb=long", "--color=yes"] if options.use_pytest else ["--locals"]
    loader = upstream_selection.RunTestsLoader(selection)
    names = lambda: [short_id(t) for t in iter_tests(loader.loadTestsFromModule(main_module))]  # noqa: E731
    if options.subprocess:
        other = [flag for flag, on in (("--import-disabled-tests", options.import_disabled_tests),
                                       ("--import-slow-tests", options.import_slow_tests),
                                       ("--use-pytest", options.use_pytest),
                                       ("--rerun-disabled-tests", options.rerun_disabled_tests)) if on]
        other += ["--save-xml", options.save_xml] if options.save_xml else []
        other += ["--hw-classification", *sorted(selection.hw_classification)] if selection.hw_classification else []
        module_launch.each_in_subprocess(unittest_argv, names(), other, options.rerun_disabled_tests)
        return
    if options.run_parallel > 1:
        module_launch.in_parallel(unittest_argv, names(), options.run_parallel)
        return
    if options.use_pytest:
        junit = None
        if options.save_xml:
            where = module_xml.report_dir(options.save_xml.replace("python-unittest", "python-pytest"), options.log_suffix, argv[0])
            where.mkdir(parents=True, exist_ok=True)
            junit = str(where / f"{where.name}-{os.urandom(8).hex()}.xml")
        code = module_launch.under_pytest(unittest_argv, options.pytest_single_test, junit, selection)
        if junit and os.path.exists(junit):
            module_xml.sanitize_pytest_xml(junit)
        sys.exit(code)
    signals.interrupt_on_sigterm()
    if "-v" in rest or "--verbose" in rest:
        _config.enable_warning_stream()
    warnings_log.collect(stream=_config.get_config().show_warnings)
    atexit.register(_engine.shutdown)
    runner: type = _Runner
    if options.save_xml:
        directory = module_xml.report_dir(options.save_xml, options.log_suffix, argv[0])
        if "-v" in argv or "--verbose" in argv:
            print(f"Test results will be stored in {directory}")
        runner = module_xml.saving_runner(directory, "__main__", _Runner)
    try:
        _engine.prestart("__main__")
        for _ in range(max(options.repeat, 1) - 1):
            program = unittest.main(module="__main__", argv=unittest_argv, exit=False, testLoader=loader, testRunner=runner)
            if not program.result.wasSuccessful():
                sys.exit(-1)
        program = unittest.main(module="__main__", argv=unittest_argv, exit=False, testLoader=loader, testRunner=runner)
    except KeyboardInterrupt:
        end_interrupted(_Runner.last)
    if program.result.testsRun == 0:
        print("testing: no test ran in this module", file=sys.stderr)
    _engine.shutdown()
    sys.exit(0 if program.result.wasSuccessful() else 1)
