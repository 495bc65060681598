"""run_tests(): a test module's command line (unittest's, plus the harness's device flags)."""

from __future__ import annotations

import argparse
import atexit
import signal
import sys
import unittest
from typing import Optional

from testing._ranks import engine as _engine
from testing._core.case import set_rng_seed
from testing._core.config import get_config


def _interrupt_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so every finally block stops its ranks and removes its files."""

    def handler(signum, frame):
        raise KeyboardInterrupt(f"received {signal.Signals(signum).name}")

    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, handler)


def iter_test_ids(suite: unittest.TestSuite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from iter_test_ids(item)
        else:
            yield item.id()


def run_tests(argv: Optional[list[str]] = None) -> None:
    """Run the calling module's tests: ``python test_x.py [--device NAME] [unittest args]``."""
    get_config()  # strips --device & co. from sys.argv, exports them, validates them
    argv = list(sys.argv if argv is None else argv)
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--discover-tests", action="store_true")
    parser.add_argument("--accept", action="store_true")
    parser.add_argument("--repeat", type=int, default=1)
    options, rest = parser.parse_known_args(argv[1:])
    if options.accept:
        import expecttest

        expecttest.ACCEPT = True
    set_rng_seed()
    main_module = sys.modules["__main__"]
    if options.discover_tests:
        suite = unittest.TestLoader().loadTestsFromModule(main_module)
        for test_id in iter_test_ids(suite):
            print(".".join(test_id.split(".")[-2:]))
        return
    _interrupt_on_sigterm()
    atexit.register(_engine.shutdown)
    _engine.prestart("__main__")
    unittest_argv = [argv[0]] + rest
    for _ in range(max(options.repeat, 1) - 1):
        program = unittest.main(module="__main__", argv=unittest_argv, exit=False)
        if not program.result.wasSuccessful():
            sys.exit(-1)
    program = unittest.main(module="__main__", argv=unittest_argv, exit=False)
    if program.result.testsRun == 0:
        print("testing: no test ran in this module", file=sys.stderr)
    _engine.shutdown()
    sys.exit(0 if program.result.wasSuccessful() else 1)
