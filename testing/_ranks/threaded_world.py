"""``spawn_threads_and_init_comms``: run one function on ``world_size`` ranks, each with the
process group already initialised, and turn what the ranks did into one outcome.

Upstream runs the ranks as threads of the calling process over its "threaded" process group
(torch's private harness). Here they are processes forked from the caller at the call, so the
decorated function, its closure and ``self`` are there as they are (a function nested in a test
works too), over the CPU backend of the device table (gloo), one intra-op thread each (upstream's
threads share one pool). What a rank changes in ``self`` or in module state stays in that rank,
as it would not upstream; collectives, ranks and outcomes are upstream's:

* every rank returns -> the call returns None;
* a rank raises -> RuntimeError with ``Thread N exited with exception:`` and its traceback for each
  failing rank (upstream's text); its peers are stopped a moment later, not left in a collective;
  a rank that is done keeps its process group up until every rank is (a gloo peer still
  connecting would otherwise fail with "Connection closed by peer");
* a rank does not finish within the timeout -> RuntimeError ``Thread N terminated or timed out
  after T seconds``;
* a rank raises SkipTest -> SkipTest with TEST_SKIPS["generic"]'s message; a rank's
  ``sys.exit(code)`` with a TEST_SKIPS code -> that skip (upstream's mapping).
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import select
import shutil
import signal
import sys
import time
import traceback
import unittest
from collections.abc import Callable
from typing import Any, Optional

from testing._core import signals, tempfiles
from testing._core import skips as _skips
from testing._core.config import DEFAULT_WORLD_SIZE, get_config
from testing._ranks.zygote import WARM_MODULES

PEER_GRACE_S = 1.0
"""After a rank fails, how long its peers may still report before they are stopped (upstream wakes
them with an error from the threaded group; a gloo peer would wait in its collective)."""


def _rank_main(rank: int, world_size: int, store_path: str, write_fd: int, callback: Callable[[], Any]) -> None:
    """A forked rank: its own process group (none inherited from the caller), the callback, a verdict."""
    import torch
    import torch.distributed as dist

    signals.as_rank()
    signals.die_with_parent()
    torch.set_num_threads(1)  # the caller may have used intra-op threads; a fork must not rely on them
    c10d = dist.distributed_c10d
    c10d._world = c10d._World()  # the caller's group (if any) belongs to the caller, as upstream's per-thread world
    record: dict[str, Any]
    store = None
    try:
        store = dist.FileStore(store_path, world_size)
        dist.init_process_group(get_config().backend_for("cpu"), rank=rank, world_size=world_size, store=store)
        callback()
        record = {"status": "pass"}
    except unittest.SkipTest as exc:
        record = {"status": "skip", "detail": str(exc)}
    except SystemExit as exc:
        record = {"status": "exit", "code": exc.code if isinstance(exc.code, int) else None}
    except BaseException:
        record = {"status": "error", "detail": traceback.format_exc()}
    out = os.fdopen(write_fd, "w")
    out.write(json.dumps(record) + "\n")  # a line: the caller has the verdict before the rank exits
    out.flush()
    if store is not None:
        _leave_together(store, world_size)
    os._exit(0)


def _leave_together(store: Any, world_size: int) -> None:
    """Keep this rank's process group up until every rank is done with the callback: a peer that is
    still connecting (gloo connects lazily) fails with "Connection closed by peer" when a rank that
    finished first exits. Ranks stuck elsewhere are stopped by the caller, which has every verdict."""
    try:
        store.add("testing/threaded_world/done", 1)
        while store.add("testing/threaded_world/done", 0) < world_size:
            time.sleep(0.01)
    except Exception:  # a store whose peers are gone: nothing left to wait for
        pass


def _start(world_size: int, store_path: str, callback: Callable[[], Any]) -> dict[int, tuple[int, int]]:
    """rank -> (pid, read end of its result pipe)."""
    ranks: dict[int, tuple[int, int]] = {}
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    for rank in range(world_size):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            for _, other_read in ranks.values():
                os.close(other_read)
            try:
                _rank_main(rank, world_size, store_path, write_fd, callback)
            finally:
                os._exit(1)  # never return into the caller's test in a forked rank
        os.close(write_fd)
        ranks[rank] = (pid, read_fd)
    return ranks


def _collect(ranks: dict[int, tuple[int, int]], timeout: float) -> tuple[dict[int, dict], list[int]]:
    """Each rank's record; the ranks that did not finish (timed out, or stopped after a peer failed)."""
    buffers = {rank: b"" for rank in ranks}
    open_fds = {fd: rank for rank, (_, fd) in ranks.items()}
    deadline = time.monotonic() + timeout
    while open_fds and time.monotonic() < deadline:
        ready, _, _ = select.select(list(open_fds), [], [], min(0.2, max(0.0, deadline - time.monotonic())))
        for fd in ready:
            chunk = os.read(fd, 65536)
            buffers[open_fds[fd]] += chunk
            if not chunk or chunk.endswith(b"\n"):  # the verdict line is in, or the rank died without one
                del open_fds[fd]
        finished = [data for rank, data in buffers.items() if rank not in open_fds.values()]
        if open_fds and any(not data.startswith((b'{"status": "pass"', b'{"status": "skip"')) for data in finished):
            deadline = min(deadline, time.monotonic() + PEER_GRACE_S)
    unfinished = sorted(open_fds.values())
    for _, fd in ranks.values():
        os.close(fd)
    records = {}
    for rank, data in buffers.items():
        if rank in unfinished:
            continue
        try:
            records[rank] = json.loads(data.decode() or "null") or {"status": "died"}
        except ValueError:
            records[rank] = {"status": "died"}
    return records, unfinished


def _reap(ranks: dict[int, tuple[int, int]]) -> dict[int, int]:
    """Kill what still runs and wait for every rank; rank -> exit code (negative: signal)."""
    codes = {}
    for rank, (pid, _) in ranks.items():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _, status = os.waitpid(pid, 0)
        codes[rank] = os.waitstatus_to_exitcode(status)
    return codes


def _verdict(records: dict[int, dict], unfinished: list[int], codes: dict[int, int], timeout: float,
             failed_peer: bool) -> None:
    """Upstream's ``MultiThreadedTestCase._check_return_codes`` over the ranks' records."""
    error_msg = ""
    skip_code = -1
    for rank in sorted(set(records) | set(unfinished)):
        record = records.get(rank)
        if record is None:
            if failed_peer:
                continue  # stopped in a collective after a peer failed: that peer's error is the report
            raise RuntimeError(f"Thread {rank} terminated or timed out after {timeout} seconds\n")
        status = record["status"]
        if status == "skip" and skip_code < 0:
            skip_code = _skips.TEST_SKIPS["generic"].exit_code
        elif status == "error":
            error_msg += f"Thread {rank} exited with exception:\n{record['detail']}\n"
        elif status == "died":
            error_msg += f"Thread {rank} exited with exception:\nrank process ended with exit code {codes.get(rank)} without a result\n"
        elif status == "exit" and isinstance(record.get("code"), int) and skip_code < 0:
            skip_code = record["code"]
    if error_msg:
        raise RuntimeError(error_msg)
    if skip_code > 0:
        for skip in _skips.TEST_SKIPS.values():
            if skip_code == skip.exit_code:
                raise unittest.SkipTest(skip.message)


_warmed = False


def _warm_up() -> None:
    """Import once, before the first fork, what ranks would each import lazily (assertEqual's first
    call alone imports torch.distributed.tensor, about 2 s a rank): upstream's threads share one
    interpreter's imports, and forked ranks share the caller's."""
    global _warmed
    if not _warmed:
        for name in WARM_MODULES:
            try:
                importlib.import_module(name)
            except Exception:  # a module this torch lacks is imported (and reported) by the rank that needs it
                pass
        _warmed = True


def run_on_ranks(world_size: int, callback: Callable[[], Any], timeout: Optional[float] = None) -> None:
    """Run ``callback`` on ``world_size`` forked ranks with a process group; raise as upstream's
    threaded world does when a rank fails, times out or skips."""
    timeout = get_config().timeout if timeout is None else timeout
    _warm_up()
    workdir = tempfiles.make("ranks")
    ranks: dict[int, tuple[int, int]] = {}
    try:
        with signals.interrupts_deferred():
            ranks = _start(world_size, os.path.join(workdir, "store"), callback)
        records, unfinished = _collect(ranks, timeout)
    finally:
        codes = _reap(ranks)
        shutil.rmtree(workdir, ignore_errors=True)
    failed_peer = any(r["status"] in ("error", "died") for r in records.values())
    _verdict(records, unfinished, codes, timeout, failed_peer)


def spawn_threads_and_init_comms(func: Optional[Callable] = None, timeout: Optional[float] = None,
                                 world_size: int = DEFAULT_WORLD_SIZE) -> Callable:
    """Upstream's decorator: the test method runs on ``world_size`` ranks with the process group
    initialised (``@spawn_threads_and_init_comms`` or ``@spawn_threads_and_init_comms(world_size=4)``).
    Upstream ignores ``timeout`` (its join uses TIMEOUT_DEFAULT); here too the run's timeout applies."""
    if func is None:
        return functools.partial(spawn_threads_and_init_comms, timeout=timeout, world_size=world_size)

    @functools.wraps(func)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
        run_on_ranks(world_size, lambda: func(self, *args, **kwargs))

    return wrapper


__all__ = ["spawn_threads_and_init_comms", "run_on_ranks"]
