"""Run test files, each in a worker process of its own, and stream their records to the runner.

Two ways to start a worker:

* warm (the default): the runner imports torch and the modules every file needs once, then forks a
  worker per file. The fork imports the test module itself and becomes that file's zygote, so no
  test module, process group or device state is ever shared between files; only the imported
  torch is.
* fresh: a new interpreter per file (``python -m testing._runner.worker``), when forking is not
  right: ``--start-method spawn``, a device plug-in that must initialise first, or a platform
  without fork.

``-j N`` runs N files at once; each gets its share of devices (through the device table's
visibility variable) or of CPU cores, its own temp directory and its own report file.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Optional

from testing._core import tempfiles
from testing._runner.result import Control, TestReport, parse_record

WORKER = "testing._runner.worker"


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
    listed: list[str] = dataclasses.field(default_factory=list)
    done: bool = False
    """The worker sent its final record (it did not die on the way)."""
    share: str = ""
    """The devices or cores this file ran on, when it ran beside others (``-j``)."""
    unsupported: str = ""
    """Upstream names the file imported as placeholders (the tests using them error)."""
    warnings: list = dataclasses.field(default_factory=list)
    """Every warning the file's tests and ranks raised (WarningRecord dicts), for the summary."""

    @property
    def tests(self) -> list[TestReport]:
        return self.reports


# -- starting workers ---------------------------------------------------------------------------
class _Forked:
    """A worker forked from the warm runner."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: Optional[int] = None

    def poll(self) -> Optional[int]:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: Optional[float] = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(WORKER, timeout)
            time.sleep(0.02)
        return self.returncode


def prewarm() -> None:
    """Import what every worker needs (torch and the modules ranks use) once, before forking workers.

    Only torch's own modules: the harness's modules read the run's configuration when imported, so
    each worker imports them after its environment is set.
    """
    import importlib

    from testing._ranks.zygote import WARM_MODULES

    for name in ("torch", "torch.distributed", *WARM_MODULES):
        try:
            importlib.import_module(name)
        except Exception:  # a module this torch lacks is imported (and reported) by the test that needs it
            pass


def _child_setup(cores: Optional[list[int]]) -> None:
    os.setsid()
    if cores:
        os.sched_setaffinity(0, cores)


def _start_forked(args: list[str], env: dict, log_path: Path, cores: Optional[list[int]]) -> _Forked:
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    pid = os.fork()
    if pid:
        return _Forked(pid)
    code = 1
    try:
        _child_setup(cores)
        fd = os.open(log_path, os.O_WRONLY | os.O_APPEND)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        from testing._core import config

        config.become_worker(env, [WORKER, *args])
        from testing._runner import worker

        code = worker.main(args)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _start_fresh(args: list[str], env: dict, log_path: Path, cores: Optional[list[int]]) -> subprocess.Popen:
    log = open(log_path, "a")
    try:
        return subprocess.Popen([sys.executable, "-m", WORKER, *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                preexec_fn=(lambda: os.sched_setaffinity(0, cores)) if cores else None)
    finally:
        log.close()


def _stop(proc) -> None:
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


# -- one file -----------------------------------------------------------------------------------
@dataclasses.dataclass
class FileJob:
    """One file's worker: started, read while it runs, finished into a FileRun."""

    file: Path
    args: list[str]
    env: dict
    warm: bool
    file_timeout: float
    on_report: Callable[[TestReport], None]
    on_control: Callable[[Control], None]
    on_output: Optional[Callable[[str], None]] = None
    cores: Optional[list[int]] = None
    share: str = ""

    def start(self) -> None:
        self.run = FileRun(os.path.relpath(self.file), Path(self.file), share=self.share)
        self.tmp = Path(tempfiles.make("run"))
        self.report_path, self.log_path = self.tmp / "reports.jsonl", self.tmp / "output.log"
        self.report_path.touch()
        self.log_path.touch()
        args = [*self.args, "--report", str(self.report_path)]
        start = _start_forked if self.warm else _start_fresh
        self.started = time.monotonic()
        self.proc = start(args, self.env, self.log_path, self.cores)
        self._reports = open(self.report_path)
        self._log = open(self.log_path, errors="replace")
        self._buffered = ""

    def _read(self) -> None:
        self._buffered += self._reports.read()
        *lines, self._buffered = self._buffered.split("\n")
        for line in lines:
            if line.strip():
                self._take(parse_record(line))
        if self.on_output is not None:
            text = self._log.read()
            if text:
                self.on_output(text)

    def _take(self, record: "TestReport | Control") -> None:
        run = self.run
        if isinstance(record, Control):
            if record.control == "collected":
                run.collected = record.count
            elif record.control == "listed":
                run.listed.append(record.id)
            elif record.control == "unsupported":
                run.unsupported = record.text
            run.done = run.done or record.control == "done"
            run.warnings += record.warnings
            self.on_control(record)
        else:
            run.reports.append(record)
            run.warnings += record.warnings
            self.on_report(record)

    def poll(self) -> bool:
        """Read what arrived; True once the worker has ended (or was stopped at its wall limit)."""
        finished = self.proc.poll() is not None
        self._read()
        if finished:
            return True
        if time.monotonic() - self.started > self.file_timeout:
            self.run.timed_out = True
            self._stop_worker()
            return True
        return False

    def stop(self) -> None:
        # take what the worker reported up to now first: an interrupt that lands before the last
        # poll read the "started" record must still name the test that was running
        try:
            self._read()
        finally:
            self._stop_worker()
            self._close()

    def _stop_worker(self) -> None:
        # a worker killed before its clean-up ran (SIGKILL after the grace) leaves its ranks' directories
        try:
            _stop(self.proc)
        finally:
            tempfiles.remove_owned_by(self.proc.pid)

    def _close(self) -> None:
        for stream in (self._reports, self._log):
            stream.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def finish(self) -> FileRun:
        run = self.run
        run.returncode = self.proc.wait()
        self._read()
        run.wall = time.monotonic() - self.started
        run.log = self.log_path.read_text(errors="replace")
        self._close()
        display = run.file
        why = None
        if run.timed_out:
            why = f"file exceeded its wall limit of {self.file_timeout:g} s"
        elif not run.done:
            why = f"the worker for {display} ended (exit status {run.returncode}) without its final record"
        elif run.returncode not in (0, 1) or (run.returncode == 1 and not any(r.is_failure for r in run.tests)):
            why = f"worker exited with code {run.returncode} without reporting a failure"
        if why:
            report = TestReport(f"<{display}>", "error", run.wall, why, run.log[-5000:], display)
            run.reports.append(report)
            self.on_report(report)
        return run


def worker_args(file: Path, patterns: list[str], names: list[str], list_only: bool,
                expectations: Optional[list[str]]) -> list[str]:
    args = [str(file), *names, *[f"-k{p}" for p in patterns]]
    args += ["--list"] if list_only else []
    args += [arg for path in expectations or [] for arg in ("--expectations", path)]
    return args


# -- shares for files that run side by side -------------------------------------------------------
def shares(parallel: int, visible_env: Optional[str], device_count: int) -> list[tuple[dict, Optional[list[int]], str]]:
    """(extra env, cores, label) for each of ``parallel`` slots: a slice of the devices through the
    device table's visibility variable, or of this process's cores for CPU ranks."""
    if parallel <= 1:
        return [({}, None, "")]
    if visible_env and device_count >= parallel:
        ids = list(range(device_count))
        per = device_count // parallel
        return [({visible_env: ",".join(map(str, ids[i * per:(i + 1) * per]))}, None,
                 f"{visible_env}={','.join(map(str, ids[i * per:(i + 1) * per]))}") for i in range(parallel)]
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cores) >= parallel:
        per = len(cores) // parallel
        return [({}, cores[i * per:(i + 1) * per], f"cores {cores[i * per]}-{cores[(i + 1) * per - 1]}")
                for i in range(parallel)]
    return [({}, None, "") for _ in range(parallel)]


def run_jobs(jobs: list[FileJob], parallel: int, slots: list[tuple[dict, Optional[list[int]], str]],
             on_start: Callable[[FileJob], None], on_finish: Callable[[FileRun], bool]) -> list[FileRun]:
    """Run the jobs, ``parallel`` at a time; results come back in the jobs' order. ``on_finish``
    returning True stops the run (no new file starts; running ones finish)."""
    pending = list(enumerate(jobs))
    running: dict[int, tuple[FileJob, int]] = {}
    free = list(range(max(parallel, 1)))
    finished: dict[int, FileRun] = {}
    stopping = False
    try:
        while pending or running:
            while pending and free and not stopping:
                index, job = pending.pop(0)
                slot = free.pop(0)
                extra_env, cores, label = slots[slot % len(slots)]
                job.env = {**job.env, **extra_env}
                job.cores, job.share = cores, label
                on_start(job)
                job.start()
                running[index] = (job, slot)
            if stopping and not running:
                break
            for index, (job, slot) in list(running.items()):
                if job.poll():
                    finished[index] = job.finish()
                    del running[index]
                    free.append(slot)
                    stopping = on_finish(finished[index]) or stopping
            if running:
                time.sleep(0.05)
    except BaseException:
        try:
            for job, _ in running.values():
                job.stop()
        finally:
            tempfiles.remove_made("run")  # a job the interrupt caught halfway through its start
        raise
    return [finished[i] for i in sorted(finished)]
