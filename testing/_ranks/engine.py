"""The rank-process engine: start a test's ranks, watch them, collect what each one left.

The engine knows nothing of unittest outcomes. It returns a `RankRun` (per-rank exit code,
reported status, traceback or skip reason, stack dumps) that MultiProcessTestCase turns into a
pass / fail / error / skip, and that reporters can print. Faults are handled here:

* a rank reports an error, dies from a signal or exits without reporting: the other ranks get a
  short grace to report their own errors, then their stacks are taken and they are killed;
* the timeout expires: every live rank's Python stacks (all threads) are taken with faulthandler,
  then all ranks are killed;
* whatever happens (KeyboardInterrupt included), no rank is left running when `run` returns.
"""

from __future__ import annotations

import dataclasses
import faulthandler
import functools
import os
import select
import signal
import sys
import time
from multiprocessing.connection import Connection
from typing import Any, Optional, Union

from testing._ranks import zygote as _zygote
from testing._core import tempfiles, warnings_log
from testing._core.config import get_config, process_environment

STACK_SIGNAL = signal.SIGUSR1
FAULT_GRACE_S = 1.0
"""After one rank faults, how long its peers may still report their own errors."""
STACK_WAIT_S = 3.0


@dataclasses.dataclass
class RankReport:
    rank: int
    pid: int
    exitcode: Optional[int] = None
    status: Optional[str] = None
    """What the rank itself reported: "pass", "skip", "error", "exit"; None if it reported nothing."""
    detail: str = ""
    """Traceback for "error", reason for "skip"."""
    stacks: str = ""
    """faulthandler output: a hang dump or a fatal-signal dump."""
    stopped: Optional[str] = None
    """Why the engine killed it: "timeout" or "peer-fault"; None if it ended on its own."""
    reported_at: Optional[float] = None
    """When the rank said how its test went, in seconds after the group started (its own clock)."""
    ended_at: Optional[float] = None
    """When the engine saw the rank's exit, in seconds after the group started."""
    warnings: list = dataclasses.field(default_factory=list)
    """The warnings the rank raised (warnings_log.WarningRecord), sent as it ended."""

    @property
    def signal_name(self) -> Optional[str]:
        if self.exitcode is not None and self.exitcode < 0:
            try:
                return signal.Signals(-self.exitcode).name
            except ValueError:
                return f"signal {-self.exitcode}"
        return None


@dataclasses.dataclass
class RankRun:
    reports: list[RankReport]
    elapsed: float
    timeout: float
    timeout_source: str
    timed_out: bool = False
    first_fault: Optional[int] = None


def rank_entry(cls: type, test_name: str, file_name: str, workdir: str, world_size: int, kwargs: dict,
               environment: dict, rank: int, channel: Connection) -> None:
    """What every rank runs first, whichever way it was started."""
    stacks = open(os.path.join(workdir, f"rank{rank}.stacks"), "w")
    faulthandler.enable(file=stacks, all_threads=True)
    faulthandler.register(STACK_SIGNAL, file=stacks, all_threads=True, chain=False)
    from testing._core import config, devices

    config.adopt_environment(environment)  # a zygote fork predates the test's setUp
    config.prepare_rank_environment(devices.loopback_interface())
    warnings_log.collect(stream=config.get_config().show_warnings, rank=rank)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = config.get_config().threads_per_rank(world_size, cores)
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    try:
        cls._run(rank, test_name, file_name, channel, **kwargs)
    finally:
        _send_warnings(channel)


def _send_warnings(channel: Connection) -> None:
    """The rank's warnings go to the test process as data, after its result, before it exits."""
    records = warnings_log.take()
    if records:
        try:
            channel.send({"warnings": [r.to_dict() for r in records]})
        except (OSError, ValueError):
            pass  # the test process is gone: nobody to report to


_launcher: Any = None
_fallback_warned = False


def _launcher_for(module_name: str) -> Any:
    """The process's launcher: the zygote if forking is safe and it knows the module, else spawn."""
    global _launcher, _fallback_warned
    config = get_config()
    if config.start_method == "spawn":
        if not isinstance(_launcher, _zygote.SpawnLauncher):
            _launcher = _zygote.SpawnLauncher()
        return _launcher
    if isinstance(_launcher, _zygote.Zygote) and _launcher.alive() and _launcher.knows(module_name):
        return _launcher
    safe, why = _zygote.fork_is_safe()
    if not safe:
        if not _fallback_warned:
            _fallback_warned = True
            print(f"testing: starting ranks with spawn, since forking is unsafe: {why}", file=sys.stderr)
        if not isinstance(_launcher, _zygote.SpawnLauncher):
            _close_launcher()
            _launcher = _zygote.SpawnLauncher()
        return _launcher
    _close_launcher()
    _launcher = _zygote.Zygote()
    return _launcher


def prestart(module_name: str) -> None:
    """Fork the zygote now (before any test runs), so it warms up while tests are being loaded."""
    if get_config().start_method == "zygote":
        _launcher_for(module_name)


def _close_launcher() -> None:
    global _launcher
    if _launcher is not None:
        _launcher.close()
        _launcher = None


def shutdown() -> None:
    """The test process is done: close the launcher (its ranks die with it) and remove any rank
    directory an interrupt left."""
    try:
        _close_launcher()
    finally:
        tempfiles.remove_made("ranks")


class RankGroup:
    """The ranks of one test, from start to the last exit."""

    def __init__(self, cls: type, test_name: str, file_name: str, workdir: str, world_size: int, kwargs: Optional[dict] = None) -> None:
        limit = get_config().max_world_size
        if limit and world_size > limit:
            raise RuntimeError(f"world size {world_size} is too many ranks: at most {limit} start "
                               "(TESTING_MAX_WORLD_SIZE and the process limit, ulimit -u, set it)")
        self.workdir = workdir
        self.launcher = _launcher_for(cls.__module__)
        target = functools.partial(rank_entry, cls, test_name, file_name, workdir, world_size, kwargs or {},
                                   process_environment())
        self.processes: list[_zygote.RankProcess] = []
        self.reports: list[RankReport] = []
        self.started = time.monotonic()
        self.started_wall = time.time()  # ranks stamp their reports with the wall clock
        try:
            for rank in range(world_size):
                process = self.launcher.start(rank, target)
                self.processes.append(process)
                self.reports.append(RankReport(rank, process.pid))
        except BaseException:
            self.stop()
            raise
        self._open = {p.rank: p.channel for p in self.processes}

    # -- watching -----------------------------------------------------------------------------
    def _drain(self, wait: float) -> None:
        waitables: list[Union[int, Connection]] = list(self._open.values())
        if self.launcher.fileno() is not None:
            waitables.append(self.launcher.fileno())
        if waitables:
            try:
                select.select(waitables, [], [], wait)
            except InterruptedError:
                pass
        else:
            time.sleep(wait)
        self.launcher.poll(0.0)
        for rank, channel in list(self._open.items()):
            try:
                while channel.poll():
                    self._take(rank, channel.recv())
            except (EOFError, OSError):
                channel.close()
                del self._open[rank]
        self._note_exits()

    def _note_exits(self) -> None:
        for process, report in zip(self.processes, self.reports):
            if report.exitcode is None and process.exitcode is not None:
                report.ended_at = time.monotonic() - self.started
            report.exitcode = process.exitcode

    def _take(self, rank: int, message: Any) -> None:
        report = self.reports[rank]
        if isinstance(message, dict) and "warnings" in message and "status" not in message:
            report.warnings += [warnings_log.WarningRecord.from_dict(w) for w in message["warnings"]]
        elif isinstance(message, dict):
            report.status = message.get("status")
            report.detail = message.get("detail", "")
            if isinstance(message.get("time"), (int, float)):
                report.reported_at = message["time"] - self.started_wall
        else:  # an upstream-style subclass sending a bare traceback string
            report.status, report.detail = "error", str(message)

    def _faulted(self) -> Optional[int]:
        """First rank that went wrong; judged only once all it sent has been read."""
        for report in self.reports:
            if report.status == "error":
                return report.rank
            if report.exitcode is None or report.rank in self._open and not report.signal_name:
                continue
            if report.signal_name or report.status is None:
                return report.rank  # killed, or exited without saying how the test went
            if report.exitcode != 0 and report.status not in ("skip", "exit"):
                return report.rank
        return None

    def wait(self, timeout: float, timeout_source: str) -> RankRun:
        """Block until every rank has ended, a rank faults, or the timeout expires."""
        run = RankRun(self.reports, 0.0, timeout, timeout_source)
        grace_until = None
        try:
            while True:
                self._drain(0.05)
                if all(r.exitcode is not None for r in self.reports):
                    self._drain(0.0)
                    break
                now = time.monotonic()
                fault = self._faulted()
                if fault is not None and run.first_fault is None:
                    run.first_fault = fault
                    grace_until = now + FAULT_GRACE_S
                if grace_until is not None and now >= grace_until:
                    self._collect_stacks_and_kill("peer-fault")
                    break
                if now - self.started > timeout:
                    run.timed_out = True
                    self._collect_stacks_and_kill("timeout")
                    break
        finally:
            self.stop()
            run.elapsed = time.monotonic() - self.started
        self._read_crash_stacks()
        return run

    def _collect_stacks_and_kill(self, why: str) -> None:
        alive = [p for p in self.processes if p.exitcode is None]
        for process in alive:
            process.send_signal(STACK_SIGNAL)
        deadline = time.monotonic() + STACK_WAIT_S
        sizes: dict[int, int] = {}
        while alive and time.monotonic() < deadline:
            time.sleep(0.1)
            current = {p.rank: self._stack_size(p.rank) for p in alive}
            if all(current[r] > 0 and current[r] == sizes.get(r) for r in current):
                break
            sizes = current
        for process in alive:
            self.reports[process.rank].stopped = why
            self.reports[process.rank].stacks = self._read_stacks(process.rank)
            process.kill()

    def _stack_path(self, rank: int) -> str:
        return os.path.join(self.workdir, f"rank{rank}.stacks")

    def _stack_size(self, rank: int) -> int:
        try:
            return os.path.getsize(self._stack_path(rank))
        except OSError:
            return 0

    def _read_stacks(self, rank: int) -> str:
        try:
            with open(self._stack_path(rank), errors="replace") as f:
                return f.read().strip()
        except OSError:
            return ""

    def _read_crash_stacks(self) -> None:
        for report in self.reports:
            if report.signal_name and not report.stacks and report.stopped is None:
                report.stacks = self._read_stacks(report.rank)

    def stop(self) -> None:
        """Kill every rank still running and wait until each exit is known (bounded)."""
        for process in self.processes:
            if process.exitcode is None:
                process.kill()
        deadline = time.monotonic() + 10.0
        while any(p.exitcode is None for p in self.processes) and time.monotonic() < deadline:
            self.launcher.poll(0.05)
        self._note_exits()
        for channel in getattr(self, "_open", {}).values():
            channel.close()
        if hasattr(self, "_open"):
            self._open.clear()
