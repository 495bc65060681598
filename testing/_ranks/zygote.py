"""Starting rank processes: a forked "zygote" (default) or multiprocessing's spawn.

Upstream spawns a fresh interpreter per rank per test, and each one imports torch and the test
module again (seconds per test). The zygote is a fork of the test process taken before any test
runs, while it has imported torch and the test modules but initialised no accelerator, started no
thread and created no process group. It pre-imports the modules tests load lazily, then forks one
child per rank per test, so every test still starts from clean processes.

Process tree and clean-up: the zygote lives in its own process group (a terminal's Ctrl-C reaches
only the test process, which stops the ranks itself) and dies with the test process
(PR_SET_PDEATHSIG); ranks die with the zygote the same way, so nothing outlives a killed run.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
import select
import signal
import socket
import struct
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Optional

from testing._core import signals, warnings_log

# Imported in the zygote after the fork: modules that ranks would otherwise import lazily in
# every test (torch.optim's first step pulls in torch._dynamo, about a second per rank).
WARM_MODULES = (
    "torch._dynamo",
    "torch.distributed.fsdp",
    "torch.distributed.tensor",
    "torch.distributed.tensor.parallel",
    "torch.distributed.checkpoint",
    "torch.distributed.device_mesh",
    "torch.distributed._shard.sharded_tensor",
    "torch.distributed.algorithms._checkpoint.checkpoint_wrapper",
    "torch.testing._comparison",
)

_HEADER = struct.Struct("!I")


def _send(sock: socket.socket, message: Any, fds: tuple[int, ...] = ()) -> None:
    data = pickle.dumps(message)
    payload = _HEADER.pack(len(data)) + data
    if fds:
        socket.send_fds(sock, [payload], list(fds))
    else:
        sock.sendall(payload)


def _read_exactly(sock: socket.socket, size: int, data: bytes = b"") -> bytes:
    while len(data) < size:
        more = sock.recv(size - len(data))
        if not more:
            raise EOFError
        data += more
    return data


def _recv(sock: socket.socket, with_fds: bool = False) -> tuple[Any, list[int]]:
    """One framed message; exact reads, so back-to-back messages are never merged."""
    fds: list[int] = []
    if with_fds:
        head, fds, _flags, _addr = socket.recv_fds(sock, _HEADER.size, 4)
        if not head:
            raise EOFError
    else:
        head = b""
    head = _read_exactly(sock, _HEADER.size, head)
    (length,) = _HEADER.unpack(head)
    return pickle.loads(_read_exactly(sock, length)), fds


class RankProcess:
    """Handle on one rank: pid, exit code once known, the result channel, and how to signal it."""

    def __init__(self, rank: int, pid: int, channel: Connection, returncode: Callable[[], Optional[int]]) -> None:
        self.rank = rank
        self.pid = pid
        self.channel = channel
        self._returncode = returncode

    @property
    def exitcode(self) -> Optional[int]:
        return self._returncode()

    def send_signal(self, signum: int) -> None:
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


RankTarget = Callable[[int, Connection], None]


class Zygote:
    """A pre-warmed fork of this process that forks rank processes on request."""

    def __init__(self) -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()  # or the child re-emits what this process buffered
            except (OSError, ValueError):
                pass
        ours, theirs = socket.socketpair()
        self._modules_at_fork = set(sys.modules)
        pid = os.fork()
        if pid == 0:  # the zygote
            ours.close()
            code = 0
            try:
                _zygote_main(theirs)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        theirs.close()
        self.pid = pid
        self.sock = ours
        self._ids = itertools.count()
        self._exit_codes: dict[int, int] = {}
        self._dead = False

    def fileno(self) -> Optional[int]:
        return None if self._dead else self.sock.fileno()

    def knows(self, module_name: str) -> bool:
        return module_name in self._modules_at_fork

    def start(self, rank: int, target: RankTarget) -> RankProcess:
        reader, writer = multiprocessing.Pipe(duplex=False)
        request_id = next(self._ids)
        try:
            _send(self.sock, ("start", request_id, rank, target), (writer.fileno(),))
            while True:
                message, _ = _recv(self.sock)
                if message[0] == "started" and message[1] == request_id:
                    pid = message[2]
                    break
                if message[0] == "failed" and message[1] == request_id:
                    raise RuntimeError(f"the zygote could not start rank {rank}: {message[2]}")
                self._record(message)
        finally:
            writer.close()
        return RankProcess(rank, pid, reader, lambda: self._exit_code(pid))

    def _record(self, message: tuple) -> None:
        if message[0] == "exited":
            self._exit_codes[message[1]] = message[2]

    def poll(self, timeout: float = 0.0) -> None:
        """Take in any exit reports the zygote has sent."""
        while not self._dead:
            ready, _, _ = select.select([self.sock], [], [], timeout)
            if not ready:
                return
            try:
                message, _ = _recv(self.sock)
            except (EOFError, OSError):
                self._dead = True  # its ranks die with it (PR_SET_PDEATHSIG)
                return
            self._record(message)
            timeout = 0.0

    def _exit_code(self, pid: int) -> Optional[int]:
        code = self._exit_codes.get(pid)
        if code is None and self._dead and not signals.pid_alive(pid):
            code = self._exit_codes[pid] = -signal.SIGKILL
        return code

    def close(self) -> None:
        try:
            self.sock.close()
        finally:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass

    def alive(self) -> bool:
        try:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            return False
        return pid == 0


def _zygote_main(sock: socket.socket) -> None:
    signals.die_with_parent()
    os.setpgid(0, 0)
    signals.as_zygote()
    warnings_log.stop_collecting()  # its own imports' warnings are nobody's test's: printed; ranks collect anew
    for name in WARM_MODULES:
        try:
            __import__(name)
        except Exception:
            pass
    children: set[int] = set()
    try:
        while True:
            ready, _, _ = select.select([sock], [], [], 0.05)
            _reap(sock, children)
            if not ready:
                continue
            try:
                message, fds = _recv(sock, with_fds=True)
            except EOFError:
                return
            _, request_id, rank, target = message
            try:
                pid = os.fork()
            except OSError as exc:
                _send(sock, ("failed", request_id, str(exc)))
                for fd in fds:
                    os.close(fd)
                continue
            if pid == 0:
                sock.close()
                _rank_main(rank, target, fds[0])
            children.add(pid)
            for fd in fds:
                os.close(fd)
            _send(sock, ("started", request_id, pid))
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _reap(sock: socket.socket, children: set[int]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        _send(sock, ("exited", pid, os.waitstatus_to_exitcode(status)))


def _rank_main(rank: int, target: RankTarget, channel_fd: int) -> None:
    """Body of a forked rank: never returns, never runs the parent's atexit handlers."""
    code = 1
    try:
        signals.die_with_parent()
        signals.as_rank()
        target(rank, Connection(channel_fd, readable=False))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)


class SpawnLauncher:
    """Upstream's way: a fresh interpreter per rank (slow; for when forking is unsafe)."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._procs: dict[int, Any] = {}

    def fileno(self) -> Optional[int]:
        return None

    def start(self, rank: int, target: RankTarget) -> RankProcess:
        reader, writer = self._context.Pipe(duplex=False)
        # the target goes pickled, so the child unpickles it (importing the test's module) only
        # after _spawned_rank has set up how upstream harness imports resolve there
        pickled = multiprocessing.reduction.ForkingPickler.dumps(target)
        process = self._context.Process(target=_spawned_rank, args=(rank, bytes(pickled), writer), name=f"process {rank}")
        process.start()
        writer.close()
        self._procs[process.pid] = process
        return RankProcess(rank, process.pid, reader, lambda: process.exitcode)

    def poll(self, timeout: float = 0.0) -> None:
        if timeout:
            import time

            time.sleep(min(timeout, 0.05))

    def close(self) -> None:
        for process in self._procs.values():
            if process.exitcode is None:
                process.kill()
            process.join(5)
        self._procs.clear()


def _spawned_rank(rank: int, pickled_target: bytes, channel: Connection) -> None:
    signals.die_with_parent()
    from testing._core import config
    from testing._fork import redirect

    if config.redirect_requested():  # an unmodified upstream file (pytest, python -m testing): as in the parent
        redirect.install()
    target: RankTarget = pickle.loads(pickled_target)
    target(rank, channel)


def accelerator_initialized() -> bool:
    """Whether this process has touched an accelerator runtime (forking it would be unsafe)."""
    from testing._core import devices

    return devices.runtime_initialized()


def fork_is_safe() -> tuple[bool, str]:
    if not hasattr(os, "fork") or not hasattr(socket, "send_fds"):
        return False, "this platform has no fork with fd passing"
    if accelerator_initialized():
        return False, "an accelerator runtime is already initialised in this process"
    if threading.active_count() > 1:
        return False, f"{threading.active_count()} threads are running in this process"
    return True, ""

