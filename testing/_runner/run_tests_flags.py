"""The command line of ``run_tests()``: upstream's flags of the installed release, beside the harness's.

Upstream's ``common_utils.parse_cmd_line_args`` parses its flags with ``parse_known_args`` and hands
the rest to ``unittest.main``; a flag the release lacks therefore ends in unittest's
``error: unrecognized arguments``. The same happens here: which flags exist on which release is read
from the versions table (entries ``run_tests_flag:--NAME``); the rest are on every claimed release.
"""

from __future__ import annotations

import argparse
import os

from testing._core import config as _config
from testing._core import versions

DEFAULT_DISABLED_TESTS_FILE = ".pytorch-disabled-tests.json"
DEFAULT_SLOW_TESTS_FILE = "slow_tests.json"
HW_CLASSIFICATIONS = ("GENERIC", "ACCELERATOR", "CPU", "CUDA", "MPS", "XPU")

# upstream's flags on every claimed release (2.13 on), as upstream spells them
COMMON_FLAGS = ("--subprocess", "--accept", "--jit-executor", "--repeat", "--test-bailouts", "--use-pytest",
                "--save-xml", "--discover-tests", "--log-suffix", "--run-parallel", "--import-slow-tests",
                "--import-disabled-tests", "--rerun-disabled-tests", "--pytest-single-test", "--showlocals")


def release_flags(release: versions.Release | None = None) -> tuple[str, ...]:
    """Upstream's run_tests() flags on the installed torch (or ``release``), in upstream's order."""
    extra = tuple(entry.name.split(":", 1)[1] for entry in versions.TABLE
                  if entry.name.startswith("run_tests_flag:") and versions.applies(entry.name, release))
    return COMMON_FLAGS + extra


def flags_in_source(source: str) -> list[str]:
    """The flags upstream's ``parse_cmd_line_args`` adds (first spelling, in order), read from common_utils' source."""
    import ast

    tree = ast.parse(source)
    function = next(node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == "parse_cmd_line_args")
    return [call.args[0].value for call in ast.walk(function)
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "add_argument"
            and call.args and isinstance(call.args[0], ast.Constant)]


def default_report_dir() -> str:
    """Upstream's ``--save-xml`` default: test-reports/python-unittest (TEST_REPORT_SOURCE_OVERRIDE renames the last part)."""
    override = _config.env_value("TEST_REPORT_SOURCE_OVERRIDE")
    return os.path.join("test-reports", override if override is not None else "python-unittest")


def run_tests_parser(prog: str | None = None, release: versions.Release | None = None) -> argparse.ArgumentParser:
    """The harness's module flags and upstream's run_tests() flags of the release, meanings upstream's."""
    from testing._upstream_api.upstream_utils import IS_CI

    parser = argparse.ArgumentParser(prog=prog, add_help=False, allow_abbrev=False,
                                     parents=[_config.harness_flags(), _config.module_timeout_flag()])
    flags = release_flags(release)
    g = parser.add_argument_group(f"upstream's run_tests() flags (torch {'.'.join(map(str, release or versions.installed()))})")
    g.add_argument("--subprocess", action="store_true", help="whether to run each test in a subprocess")
    g.add_argument("--accept", action="store_true", help="accept new expecttest output")
    g.add_argument("--jit-executor", "--jit_executor", type=str, help="accepted; TorchScript's executor has no meaning here")
    g.add_argument("--repeat", type=int, default=1, help="run the tests N times, stopping at the first failing round")
    g.add_argument("--test-bailouts", "--test_bailouts", action="store_true", help="accepted; no meaning here (TorchScript)")
    g.add_argument("--use-pytest", action="store_true", help="run the module under pytest (with this harness's plugin)")
    g.add_argument("--save-xml", nargs="?", type=str, const=default_report_dir(), default=default_report_dir() if IS_CI else None,
                   metavar="DIR", help="write JUnit XML as upstream's CI does (default DIR test-reports/python-unittest)")
    g.add_argument("--discover-tests", action="store_true", help="print the test names and exit")
    g.add_argument("--log-suffix", type=str, default="", help="appended to the --save-xml directory")
    g.add_argument("--run-parallel", type=int, default=1, metavar="N", help="run the tests in N processes")
    g.add_argument("--import-slow-tests", type=str, nargs="?", const=DEFAULT_SLOW_TESTS_FILE, metavar="FILE",
                   help=f"skip the slow tests named in FILE (default {DEFAULT_SLOW_TESTS_FILE}) unless PYTORCH_TEST_WITH_SLOW=1")
    g.add_argument("--import-disabled-tests", type=str, nargs="?", const=DEFAULT_DISABLED_TESTS_FILE, metavar="FILE",
                   help=f"skip the tests disabled in FILE (default {DEFAULT_DISABLED_TESTS_FILE})")
    g.add_argument("--rerun-disabled-tests", action="store_true", help="run only the disabled tests")
    g.add_argument("--pytest-single-test", type=str, nargs=1, metavar="NODEID", help="with --use-pytest: run this one test")
    g.add_argument("--showlocals", action=argparse.BooleanOptionalAction, default=False,
                   help="show local variables in tracebacks (unittest --locals; pytest --showlocals)")
    if "--hw-classification" in flags:
        g.add_argument("--hw-classification", nargs="+", choices=HW_CLASSIFICATIONS, type=str.upper, default=None,
                       help="run only the test classes whose hw_classification is one of these")
    return parser
