"""The runner's command line, one parser family: the module's device flags (from the configuration)
plus file selection and reports. The runner (`cli`) parses with it, and so does each file's worker
(`worker`), which adds its own hidden options; neither imports the other for it."""

from __future__ import annotations

import argparse

from testing._core import config as _config
from testing._runner import failures


def build_parser(prog: str = "run_test.py") -> argparse.ArgumentParser:
    """The runner's command line: the module's device flags (shared parent) plus file selection and reports."""
    p = argparse.ArgumentParser(prog=prog, parents=[_config.harness_flags()],
                                description="Run test files, each in its own process, on one device type.")
    p.add_argument("paths", nargs="*", help="test files or directories (default: test/)")
    p.add_argument("-i", "--include", nargs="+", default=[], metavar="TEST", help="only these files (path, module prefix or glob)")
    p.add_argument("-x", "--exclude", nargs="+", default=[], metavar="TEST", help="skip these files (path, module prefix or glob)")
    p.add_argument("-k", dest="patterns", action="append", default=[], metavar="PATTERN", help="unittest -k: substring or glob over test ids")
    p.add_argument("--list", action="store_true", help="print the test ids that would run, per file, and exit")
    p.add_argument("--fail-on-empty", action="store_true", help="fail when a file instantiates no test, every test lacks devices, or a test ran on 0 ranks")
    p.add_argument("--xml", metavar="DIR", help="write JUnit XML, one file per test file")
    p.add_argument("--timeout", type=float, help="per-test timeout in seconds (overrides DISTRIBUTED_TESTS_DEFAULT_TIMEOUT)")
    p.add_argument("--file-timeout", type=float, default=3600.0, help="wall limit per file in seconds (default 3600)")
    p.add_argument("--continue-through-error", "--keep-going", action="store_true", help="run every file even after one fails")
    p.add_argument("--shard", nargs=2, type=int, metavar=("WHICH", "TOTAL"), help="run shard WHICH of TOTAL")
    p.add_argument("--rerun-failed", action="store_true", help="run only what failed last time; a pass then is reported as flaky")
    p.add_argument("--expectations", metavar="FILE", action="append",
                   help="known skips/xfails/timeouts: this harness's TOML, a torch-xpu-ops skip_dict module (.py) "
                        "or upstream's disabled-tests JSON (.json); may be given several times")
    p.add_argument("-j", "--jobs", default="1", metavar="N", help="run N files at once (or 'auto'); each gets a share of the devices or cores")
    p.add_argument("--worker-start", choices=("warm", "fresh"), default="warm",
                   help="warm: files fork from this process after it imported torch once (default); fresh: a new interpreter per file")
    p.add_argument("--tb", choices=failures.TB_STYLES, default="short",
                   help="failures section after the summary: short (test frames), long, line, no")
    p.add_argument("-v", "--verbose", action="store_true", help="stream each file's own output as it runs")
    return p
