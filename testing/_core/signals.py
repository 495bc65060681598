"""Interrupts in one place: SIGTERM unwinds like Ctrl-C, clean-up is not cut in half, children die
with their parent.

The test process turns SIGTERM into KeyboardInterrupt so every ``finally`` block stops its ranks
and removes its files; the zygote ignores Ctrl-C (its parent decides when it ends); rank processes
get the default handlers back, and every helper process dies when its parent does.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading
from collections.abc import Iterator

_PR_SET_PDEATHSIG = 1

INTERRUPTED_EXIT = 130
"""Exit status of a run ended by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it)."""
INTERRUPTED_EARLY = "testing: interrupted before any test ran"


def interrupt_on_sigterm() -> None:
    """SIGTERM raises KeyboardInterrupt in the main thread (unless someone else handles it)."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"received {signal.Signals(signum).name}")

    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, handler)


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM while a clean-up runs; they are delivered right after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def as_zygote() -> None:
    """The zygote ignores Ctrl-C (the process group gets it; its parent closes it) and dies on SIGTERM."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def as_rank() -> None:
    """Rank processes end at once on SIGTERM or SIGINT: the test process reports for them."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def die_with_parent(signum: int = signal.SIGKILL) -> None:
    """Linux: this process gets ``signum`` when its parent exits, so a killed runner leaves no child."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (ours or not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
