"""MultiProcessTestCase: a test method runs in ``world_size`` rank processes.

The parent's test method is a "join" wrapper: ``setUp`` starts the ranks, the method waits for
them and turns what they reported into the test's outcome. Ranks run the real method (no
setUp/tearDown, as upstream) and report through a channel; exit codes follow upstream's protocol
(10 = exception, TEST_SKIPS codes = skips), so subclasses written for upstream keep working.

Outcome over all ranks (upstream looks at rank 0 only):
* any rank raised -> ERROR with every failing rank's traceback, labelled;
* timeout -> ERROR naming the timeout and its source, with every live rank's stacks;
* a rank killed by a signal or exiting without a result -> FAIL naming the rank and the signal;
* every rank skipped -> SKIP with the ranks' own reason; some skipped, others passed -> FAIL.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import time
import traceback
import types
import unittest
from collections.abc import Callable
from typing import Any, Optional

import torch.distributed as dist

from testing._ranks import engine as _engine

from testing._core import signals
from testing._core import skips as _skips
from testing._core.case import TestCase, set_rng_seed
from testing._core.config import get_config

DEFAULT_WORLD_SIZE = 4
TIMEOUT_OVERRIDE: dict[str, int] = {"test_ddp_uneven_inputs": 400, "test_DistributedDataParallel": 500}


def get_timeout(test_id: str) -> float:
    return timeout_and_source(test_id)[0]


def timeout_and_source(test_id: str) -> tuple[float, str]:
    name = test_id.split(".")[-1]
    if name in TIMEOUT_OVERRIDE:
        return float(TIMEOUT_OVERRIDE[name]), f"TIMEOUT_OVERRIDE[{name!r}]"
    config = get_config()
    return config.timeout, config.timeout_source


class MultiProcessTestCase(TestCase):
    MAIN_PROCESS_RANK = -1
    TEST_ERROR_EXIT_CODE = 10

    @property
    def world_size(self) -> int:
        return get_config().world_size or DEFAULT_WORLD_SIZE

    @property
    def destroy_pg_upon_exit(self) -> bool:
        return True

    @property
    def is_master(self) -> bool:
        return self.rank == 0

    def __init__(self, method_name: str = "runTest", methodName: str = "runTest") -> None:
        if methodName != "runTest":
            method_name = methodName
        super().__init__(method_name)
        self.rank = self.MAIN_PROCESS_RANK
        self.processes: list = []
        self._rank_group: Optional[_engine.RankGroup] = None
        self._workdir: Optional[str] = None
        try:
            fn = getattr(self, method_name)
            setattr(self, method_name, self.join_or_run(fn))
        except AttributeError as exc:
            if method_name != "runTest":
                raise ValueError(f"no such test method in {self.__class__}: {method_name}") from exc

    def join_or_run(self, fn: Callable) -> Callable:
        # wraps: unittest reads skip and expected-failure marks off the bound test method
        @functools.wraps(fn)
        def wrapper(self):
            if self.rank == self.MAIN_PROCESS_RANK:
                self._join_processes(fn)
            else:
                fn()

        return types.MethodType(wrapper, self)

    def _current_test_name(self) -> str:
        return self.id().split(".")[-1]

    def setUp(self) -> None:
        super().setUp()
        self.skip_return_code_checks: list = []
        self.special_return_code_checks: dict = {}
        self.processes = []
        self.rank = self.MAIN_PROCESS_RANK
        self.pid_to_pipe: dict = {}
        self._workdir = tempfile.mkdtemp(prefix="testing-ranks-")
        self.file_name = os.path.join(self._workdir, "store")
        open(self.file_name, "w").close()

    def tearDown(self) -> None:
        super().tearDown()
        self._stop_ranks()

    def _stop_ranks(self) -> None:
        # an interrupt must not land halfway through the clean-up; it is delivered right after
        with signals.interrupts_deferred():
            try:
                if self._rank_group is not None:
                    group, self._rank_group = self._rank_group, None
                    group.stop()
            finally:
                self.processes = []
                if self._workdir is not None:
                    shutil.rmtree(self._workdir, ignore_errors=True)
                    self._workdir = None

    # -- parent side -----------------------------------------------------------------------
    def _spawn_processes(self) -> None:
        self._start_processes()

    def _start_processes(self, proc: Any = None) -> None:
        kwargs = {"fake_pg": getattr(self, "fake_pg", False)} if getattr(self, "fake_pg", False) else {}
        try:
            self._rank_group = _engine.RankGroup(
                type(self), self._current_test_name(), self.file_name, self._workdir, int(self.world_size), kwargs
            )
        except BaseException:
            # an interrupt here skips tearDown and unittest's cleanups: remove the workdir now
            self._stop_ranks()
            raise
        self.processes = self._rank_group.processes
        self.pid_to_pipe = {p.pid: p.channel for p in self.processes}

    def _join_processes(self, fn: Callable) -> None:
        if self._rank_group is None:
            self._check_return_codes(fn, 0.0)
            return
        timeout, source = getattr(self, "_testing_timeout", None) or timeout_and_source(self.id())
        try:
            self._rank_run = self._rank_group.wait(timeout, source)
        finally:
            self._stop_ranks()
        self._check_return_codes(fn, self._rank_run.elapsed)

    def _check_return_codes(self, fn: Callable, elapsed_time: float) -> None:
        # upstream's signature: subclasses written for upstream override it with these arguments
        run: Optional[_engine.RankRun] = getattr(self, "_rank_run", None)
        if run is None or not run.reports:
            return  # nothing was started: the test was skipped before its ranks existed
        verdict(run, expected_code=self.special_return_code_checks.get(fn, 0),
                check_codes=fn not in self.skip_return_code_checks)

    # -- rank side -------------------------------------------------------------------------
    def _rank_setup(self) -> None:
        """Runs in each rank before the test body (bases that create the process group override it)."""

    @classmethod
    def _run(cls, rank: int, test_name: str, file_name: str, parent_pipe: Any, **kwargs: Any) -> None:
        self = cls(test_name)
        self.rank = rank
        self.file_name = file_name
        self.run_test(test_name, parent_pipe)

    def run_test(self, test_name: str, parent_pipe: Any) -> None:
        set_rng_seed()
        config = get_config()
        if config.emulating:
            from testing._ranks import emulation as _emulation

            _emulation.apply()
        try:
            self._rank_setup()
            getattr(self, test_name)()
        except unittest.SkipTest as exc:
            reason = str(exc)
            code = next((s.exit_code for s in _skips.TEST_SKIPS.values() if s.message == reason),
                        _skips.TEST_SKIPS["generic"].exit_code)
            _leave_together()
            parent_pipe.send({"status": "skip", "detail": reason})
            raise SystemExit(code) from None
        except SystemExit as exc:
            skip = _skips.skip_for_exit(exc.code)
            if skip:
                _leave_together()
            parent_pipe.send({"status": "skip", "detail": skip.message} if skip else {"status": "exit", "detail": str(exc.code)})
            raise
        except Exception:
            parent_pipe.send({"status": "error", "detail": traceback.format_exc()})
            raise SystemExit(self.TEST_ERROR_EXIT_CODE) from None
        if self.destroy_pg_upon_exit:
            try:
                if dist.is_initialized():
                    dist.destroy_process_group()
            except (AssertionError, ValueError):
                pass
        parent_pipe.send({"status": "pass"})


SKIP_SYNC_S = 10.0


def _leave_together() -> None:
    """A rank skipping with a live process group waits (bounded) until every rank has got here.

    Skips after init_pg (with_comms then skip_if_lt_x_gpu) happen on every rank; a rank that leaves
    while a peer is still completing gloo's connection set-up makes that peer fail with
    "Connection reset by peer". If some rank never skips, the wait ends and the ranks' disagreement
    is reported.
    """
    if not dist.is_initialized():
        return
    try:
        store = dist.distributed_c10d._get_default_store()
        world_size = dist.get_world_size()
        store.add("testing/skipped_ranks", 1)
        deadline = time.monotonic() + SKIP_SYNC_S
        while store.add("testing/skipped_ranks", 0) < world_size and time.monotonic() < deadline:
            time.sleep(0.01)
        dist.destroy_process_group()
    except Exception:  # a broken group must not hide the skip
        pass


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.rstrip().splitlines())


def describe_rank(report: _engine.RankReport) -> str:
    """One rank's state, for a failure message."""
    if report.stopped == "timeout":
        state = "still running at the timeout"
    elif report.stopped == "peer-fault":
        state = "stopped by the harness after another rank failed"
    elif report.status == "error":
        state = "raised an exception"
    elif report.signal_name:
        state = f"was killed by {report.signal_name}"
    elif report.status is None:
        state = f"exited with code {report.exitcode} without reporting a result"
    elif report.status == "skip":
        state = f"skipped: {report.detail}"
    else:
        state = f"{report.status} (exit code {report.exitcode})"
    text = f"Rank {report.rank} (pid {report.pid}) {state}"
    if report.stacks:
        text += "\n" + _indent(report.stacks)
    return text


def verdict(run: _engine.RankRun, expected_code: int = 0, check_codes: bool = True) -> None:
    """Raise what the test's outcome is, from every rank's report (returns on a pass)."""
    reports = run.reports
    errors = [r for r in reports if r.status == "error"]
    if errors:
        text = "".join(
            f"Process {r.rank} exited with error code {MultiProcessTestCase.TEST_ERROR_EXIT_CODE} and exception:\n{r.detail}\n"
            for r in errors
        )
        others = [describe_rank(r) for r in reports if r.status != "error" and r.status != "pass"]
        if others:
            text += "\nOther ranks:\n" + "\n".join(others)
        raise RuntimeError(text)
    if run.timed_out:
        live = [r for r in reports if r.stopped == "timeout"]
        head = "".join(f"Process {r.rank} terminated or timed out after {run.elapsed:.2f} seconds\n" for r in live)
        raise RuntimeError(
            f"{head}Timed out after {run.timeout:g} s (timeout from {run.timeout_source}); "
            "stacks of the ranks still running:\n" + "\n".join(describe_rank(r) for r in reports)
        )
    if not check_codes:
        return
    bad = [
        r for r in reports
        if r.signal_name or r.status is None or (r.status == "exit" and r.exitcode != expected_code)
    ]
    if bad:
        lines = [describe_rank(r) for r in bad]
        first = bad[0]
        raise AssertionError(
            f"Expected exit code {expected_code} but got {first.exitcode} for pid: {first.pid}\n" + "\n".join(lines)
        )
    skipped = [r for r in reports if r.status == "skip"]
    if skipped and len(skipped) < len(reports):
        raise AssertionError(
            "Ranks disagree: " + "; ".join(
                f"rank {r.rank} {'skipped (' + r.detail + ')' if r.status == 'skip' else r.status}" for r in reports
            )
        )
    if skipped:
        reasons = sorted({r.detail for r in skipped})
        raise unittest.SkipTest(reasons[0] if len(reasons) == 1 else "; ".join(
            f"rank {r.rank}: {r.detail}" for r in skipped))
