"""run_tests(): a test module's command line (unittest's, plus the harness's device flags)."""

from __future__ import annotations

import atexit
import sys
import unittest
from typing import Optional

from testing._core import config as _config
from testing._core import signals
from testing._core.case import set_rng_seed
from testing._core.naming import short_id
from testing._ranks import engine as _engine
from testing._runner.loader import iter_tests


def run_tests(argv: Optional[list[str]] = None) -> None:
    """Run the calling module's tests: ``python test_x.py [--device NAME] [unittest args]``."""
    _config.get_config()  # strips --device & co. from the command line, exports them, validates them
    argv = list(_config.module_argv() if argv is None else argv)
    options, rest = _config.module_parser().parse_known_args(argv[1:])
    if options.accept:
        import expecttest

        expecttest.ACCEPT = True
    set_rng_seed()
    main_module = sys.modules["__main__"]
    if options.discover_tests:
        for test in iter_tests(unittest.TestLoader().loadTestsFromModule(main_module)):
            print(short_id(test))
        return
    signals.interrupt_on_sigterm()
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
