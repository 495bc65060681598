"""``run_tests()``'s other ways to run a module, upstream's meanings: ``--subprocess`` (each test in
its own process), ``--run-parallel N`` (N processes, each a share of the tests) and ``--use-pytest``
(pytest over the module, with this harness's plugin loaded as pytest's entry point).

A child process re-runs the module as this one was started (``python -m testing FILE`` keeps the
redirect); the harness's device flags reach it through the environment (`config.to_environment`).
"""

from __future__ import annotations

import subprocess
import sys
from typing import Optional

from testing._core import config as _config
from testing._runner import upstream_selection

SUBPROCESS_TIMEOUT = 15 * 60  # upstream's per-test limit under --subprocess


def self_command(argv: list[str]) -> list[str]:
    """The command that runs this module again with ``argv[1:]``."""
    head = [sys.executable, "-m", "testing"] if _config.get_config().redirect else [sys.executable]
    return head + argv


def retry_shell(cmd: list[str], timeout: Optional[float], retries: int) -> int:
    """Upstream's retry_shell: a failed or timed-out child runs again while retries are left, with
    upstream's lines; a last timeout is exit 124."""
    while True:
        try:
            code = subprocess.run(cmd, timeout=timeout).returncode
            if code == 0 or retries == 0:
                return code
            print(f"Got exit code {code}, retrying (retries left={retries})", flush=True)
        except subprocess.TimeoutExpired:
            minutes = int(timeout or 0) // 60
            if retries == 0:
                print(f"Command took >{minutes}min, returning 124", flush=True)
                return 124
            print(f"Command took >{minutes}min, retrying (retries left={retries})", flush=True)
        retries -= 1


def each_in_subprocess(argv: list[str], test_names: list[str], other_args: list[str], rerun_disabled: bool) -> None:
    """Upstream's TEST_IN_SUBPROCESS: one process per test, retried once (not when rerunning
    disabled tests); a failure names the command to repeat it."""
    failed = []
    for name in test_names:
        cmd = self_command([argv[0], *other_args, *argv[1:], name])
        code = retry_shell(cmd, None if rerun_disabled else SUBPROCESS_TIMEOUT, 0 if rerun_disabled else 1)
        if code != 0:
            print(f"Test exited with non-zero exitcode {code}. Command to reproduce: {' '.join(cmd)}")
            failed.append(name)
    if failed:
        raise AssertionError("{} unit test(s) failed:\n\t{}".format(len(failed), "\n\t".join(failed)))


def in_parallel(argv: list[str], test_names: list[str], count: int) -> None:
    """Upstream's RUN_PARALLEL: ``count`` processes, test i in shard i % count, each its own log suffix."""
    batches = [test_names[i::count] for i in range(count)]
    processes = [subprocess.Popen(self_command([*argv, f"--log-suffix=-shard-{i + 1}", *batches[i]]))
                 for i in range(count)]
    failed = False
    for process in processes:
        try:
            failed |= process.wait() != 0
        except BaseException:
            for other in processes:
                other.kill()
                other.wait()
            raise
    if failed:
        raise AssertionError("Some test shards have failed")


def pytest_args(argv: list[str], single_test: Optional[list[str]], junit_path: Optional[str]) -> list[str]:
    """pytest's command line for the module: its file (or ``--pytest-single-test``'s node id) and the rest."""
    args = list(argv) + ([f"--junitxml={junit_path}"] if junit_path else [])
    return single_test + args[1:] if single_test else args


def under_pytest(argv: list[str], single_test: Optional[list[str]], junit_path: Optional[str],
                 selection: Optional[upstream_selection.Selection] = None) -> int:
    """Upstream's USE_PYTEST: pytest over the module file (exit 5, nothing collected, counts as 0),
    with run_tests()'s selection (lists, --rerun-disabled-tests, --hw-classification) applied to what
    pytest collects, as upstream's TestCase.setUp and its test/conftest.py apply them there."""
    import pytest

    from testing._runner import pytest_selection

    if junit_path:
        print(f"Test results will be stored in {junit_path}")
    _config.set_env("NO_COLOR", "1")
    plugins = [pytest_selection.SelectionPlugin(selection)] if selection is not None else []
    code = pytest.main(args=pytest_args(argv, single_test, junit_path), plugins=plugins)
    return 0 if code == 5 else int(code)
