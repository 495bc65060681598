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
import time
import traceback
import types
import unittest
from collections.abc import Callable
from typing import Any, Optional

import torch.distributed as dist

from testing._ranks import engine as _engine
from testing._ranks.verdict import verdict
from testing._ranks.world_source import world_size_source

from testing._core import notices, signals, tempfiles, warnings_log
from testing._core import skips as _skips
from testing._core.case import TestCase, set_rng_seed
from testing._core.config import DEFAULT_WORLD_SIZE, get_config
from testing._core.naming import short_id

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
        with signals.interrupts_deferred():  # made and named at once: nothing an interrupt could orphan
            self._workdir = tempfiles.make("ranks")
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
                    tempfiles.remove(self._workdir)
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
        if not self._rank_group.processes:  # world size 0: upstream's outcome (a pass), marked
            self._testing_zero_ranks = world_size_source(self)
            notices.notice(f"{self.id()} ran on 0 ranks: world size 0 from {self._testing_zero_ranks}")
        timeout, source = getattr(self, "_testing_timeout", None) or timeout_and_source(self.id())
        try:
            self._rank_run = self._rank_group.wait(timeout, source)
        finally:
            self._stop_ranks()
        for report in self._rank_run.reports:
            warnings_log.from_ranks(report.warnings, short_id(self))
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
            if config.map_cuda:
                _emulation.apply_device_ids()
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
            parent_pipe.send({"status": "error", "detail": traceback.format_exc(), "time": time.time()})
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
