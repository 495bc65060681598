"""Run one test file in its own subprocess (``python -m testing._runner.worker``) and stream its reports."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Optional

from testing._runner.result import TestReport


@dataclasses.dataclass
class FileRun:
    file: str
    """The file as the summary shows it (relative to the working directory)."""
    path: Path = Path()
    """The file as discovered."""
    reports: list[TestReport] = dataclasses.field(default_factory=list)
    collected: Optional[int] = None
    returncode: Optional[int] = None
    wall: float = 0.0
    log: str = ""
    timed_out: bool = False

    @property
    def tests(self) -> list[TestReport]:
        return [r for r in self.reports if r.outcome not in ("collected", "listed")]


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM first (the worker unwinds and stops its ranks), then SIGKILL the whole group."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_file(
    file: Path,
    env: dict,
    patterns: list[str],
    names: list[str],
    file_timeout: float,
    on_report: Callable[[TestReport], None],
    list_only: bool = False,
    expectations: Optional[str] = None,
) -> FileRun:
    display = os.path.relpath(file)
    run = FileRun(display, Path(file))
    with tempfile.TemporaryDirectory(prefix="testing-run-") as tmp:
        report_path = Path(tmp) / "reports.jsonl"
        log_path = Path(tmp) / "output.log"
        report_path.touch()
        command = [sys.executable, "-m", "testing._runner.worker", str(file), *names, "--report", str(report_path)]
        command += [f"-k{p}" for p in patterns] + (["--list"] if list_only else [])
        command += ["--expectations", expectations] if expectations else []
        started = time.monotonic()
        with open(log_path, "w") as log, open(report_path) as reports:
            proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                buffered = ""
                while True:
                    finished = proc.poll() is not None
                    buffered += reports.read()
                    *lines, buffered = buffered.split("\n")
                    for line in lines:
                        if line.strip():
                            report = TestReport.from_json(line)
                            if report.outcome == "collected":
                                run.collected = int(report.message)
                            run.reports.append(report)
                            on_report(report)
                    if finished:
                        break
                    if time.monotonic() - started > file_timeout:
                        run.timed_out = True
                        _stop(proc)
                        break
                    time.sleep(0.05)
            except BaseException:
                _stop(proc)
                raise
            run.returncode = proc.wait()
        run.wall = time.monotonic() - started
        run.log = log_path.read_text(errors="replace")
    if run.timed_out:
        report = TestReport(f"<{display}>", "error", run.wall, f"file exceeded its wall limit of {file_timeout:g} s", run.log[-5000:], display)
        run.reports.append(report)
        on_report(report)
    elif run.returncode not in (0, 1) or (run.returncode == 1 and not any(r.is_failure for r in run.tests)):
        why = f"worker exited with code {run.returncode} without reporting a failure"
        report = TestReport(f"<{display}>", "error", run.wall, why, run.log[-5000:], display)
        run.reports.append(report)
        on_report(report)
    return run
