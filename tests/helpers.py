"""Shared by the harness's own tests: run files through a harness and read their outcomes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
UPSTREAM_PREFIX = "torch.testing._internal."


def port_file(source: Path, dest: Path) -> Path:
    """The mechanical port: upstream import paths -> testing."""
    dest.write_text(source.read_text().replace(UPSTREAM_PREFIX, "testing."))
    return dest


def clean_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TESTING_", "PYTORCH_TESTING_"))}
    env.pop("DISTRIBUTED_TESTS_DEFAULT_TIMEOUT", None)
    env.pop("OMP_NUM_THREADS", None)  # the per-rank thread default is under test
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def reports(path: Path, *args: str, timeout: float = 600, upstream: bool = False, **env: str) -> dict[str, dict]:
    """{test id: report dict} for a file, via the worker: under torch's own harness with
    ``upstream=True`` (the oracle), else under this one (upstream imports redirected)."""
    flags = ["--upstream-harness"] if upstream else []
    proc = subprocess.run(
        [sys.executable, "-m", "testing._runner.worker", str(path), *flags, *args],
        capture_output=True, text=True, timeout=timeout, env=clean_env(**env), cwd=ROOT,
    )
    result = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            report = json.loads(line)
            if "control" not in report:  # collected / started / done records are not outcomes
                result[report["id"]] = report
    if not result:
        raise AssertionError(f"no reports from {path}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return result


def outcomes(path: Path, *args: str, timeout: float = 600, upstream: bool = False, **env: str) -> dict[str, tuple[str, str]]:
    """{test id: (outcome, message)}. A distributed failure's headline names the rank at fault
    (``rank 1: ValueError: ...``); upstream's message is the exception alone, so the rank prefix is
    compared apart (tests/test_faults.py) and left out here."""
    return {k: (r["outcome"], re.sub(r"^rank \d+: ", "", r["message"]))
            for k, r in reports(path, *args, timeout=timeout, upstream=upstream, **env).items()}


def as_from_a_terminal() -> None:
    """preexec_fn: the child handles Ctrl-C as a program started from a terminal does, even when this
    test run itself was started in the background (where SIGINT is inherited as ignored)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def processes_with_env(marker: str) -> list[int]:
    """Pids of live processes whose environment carries ``marker`` (what a run left behind)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def run_module(path: Path, *args: str, timeout: float = 600, **env: str) -> subprocess.CompletedProcess:
    """``python FILE ARGS`` as a user runs a test module."""
    return subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True, text=True, timeout=timeout, env=clean_env(**env), cwd=ROOT,
    )


def unittest_verdicts(stderr: str) -> dict[str, str]:
    """unittest -v's outcome per test ("Class.test" -> "ok", "ERROR", "skipped '...'"): the last line
    before the next test, so a rank's warning or C++ log line printed in between does not hide it."""
    heads = list(re.finditer(r"^\w+ \(__main__\.([\w.]+)\) \.\.\. ", stderr, re.M))
    ends = [h.start() for h in heads[1:]] + [stderr.find("\n" + "=" * 70, heads[-1].end()) if heads else 0]
    return {h.group(1): stderr[h.end():end].strip().splitlines()[-1] for h, end in zip(heads, ends)}
