"""run_tests(): a test module's command line (unittest's, the harness's flags, and upstream's
run_tests() flags of the installed torch release, see `run_tests_flags`)."""

from __future__ import annotations

import atexit
import os
import sys
import unittest
from typing import Optional

from testing._core import config as _config
from testing._core import signals
from testing._core.case import set_rng_seed
from testing._core.naming import short_id
from testing._ranks import engine as _engine
from testing._runner import module_launch, module_xml, run_tests_flags, upstream_selection
from testing._runner.loader import iter_tests


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
        hw_classification=set(getattr(options, "hw_classification", None) or ()) or None,
        device=_config.get_config().device)
    main_module = sys.modules["__main__"]
    if options.discover_tests:
        for test in iter_tests(unittest.TestLoader().loadTestsFromModule(main_module)):
            print(short_id(test))
        return
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
        code = module_launch.under_pytest(unittest_argv, options.pytest_single_test, junit)
        if junit and os.path.exists(junit):
            module_xml.sanitize_pytest_xml(junit)
        sys.exit(code)
    signals.interrupt_on_sigterm()
    atexit.register(_engine.shutdown)
    _engine.prestart("__main__")
    runner = None
    if options.save_xml:
        directory = module_xml.report_dir(options.save_xml, options.log_suffix, argv[0])
        if "-v" in argv or "--verbose" in argv:
            print(f"Test results will be stored in {directory}")
        runner = module_xml.saving_runner(directory, "__main__")
    for _ in range(max(options.repeat, 1) - 1):
        program = unittest.main(module="__main__", argv=unittest_argv, exit=False, testLoader=loader, testRunner=runner)
        if not program.result.wasSuccessful():
            sys.exit(-1)
    program = unittest.main(module="__main__", argv=unittest_argv, exit=False, testLoader=loader, testRunner=runner)
    if program.result.testsRun == 0:
        print("testing: no test ran in this module", file=sys.stderr)
    _engine.shutdown()
    sys.exit(0 if program.result.wasSuccessful() else 1)
