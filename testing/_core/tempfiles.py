"""The harness's temp directories: named after the process that owns them, so a later run can remove
what a run that ended without cleaning up (``kill -9``, a crash) left behind.

``testing-<kind>-<pid>-XXXX`` in the system temp directory; `sweep_orphans` removes those whose
owner is gone.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile

from testing._core import signals

_NAME = re.compile(r"^testing-(run|ranks)-(\d+)-")


_made: dict[str, str] = {}
"""path -> kind of the directories this process made and has not yet removed."""


def make(kind: str) -> str:
    """A new temp directory owned by this process (``kind``: "run" for a runner's file, "ranks" for a test's ranks)."""
    path = tempfile.mkdtemp(prefix=f"testing-{kind}-{os.getpid()}-")
    _made[path] = kind
    return path


def remove_made(kind: str) -> None:
    """Remove what this process made of ``kind`` and still exists: the backstop for an interrupt that
    landed where no ``finally`` could remove a test's directory (between setUp and the test body)."""
    for path, made_kind in list(_made.items()):
        if made_kind == kind and _owner(path) == os.getpid():  # not a forked parent's
            remove(path)


def remove(path: str) -> None:
    """Remove a directory `make` returned."""
    shutil.rmtree(path, ignore_errors=True)
    _made.pop(path, None)


def _owner(path: str) -> int:
    match = _NAME.match(os.path.basename(path))
    return int(match.group(2)) if match else -1


def remove_owned_by(pid: int, directory: str | None = None) -> None:
    """Remove the temp directories of a process the caller has just stopped (a worker killed at its
    wall limit or by an interrupt cannot remove its own)."""
    directory = directory or tempfile.gettempdir()
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    for name in entries:
        match = _NAME.match(name)
        if match and int(match.group(2)) == pid:
            shutil.rmtree(os.path.join(directory, name), ignore_errors=True)


def sweep_orphans(directory: str | None = None) -> list[str]:
    """Remove the harness temp directories whose owning process no longer exists; return their names."""
    directory = directory or tempfile.gettempdir()
    removed = []
    try:
        entries = os.listdir(directory)
    except OSError:
        return removed
    for name in entries:
        match = _NAME.match(name)
        if match and not signals.pid_alive(int(match.group(2))):
            shutil.rmtree(os.path.join(directory, name), ignore_errors=True)
            removed.append(name)
    return removed


def sweep_note(removed: list[str]) -> str:
    """One line saying what `sweep_orphans` removed. Its owner is known only to be gone (killed, crashed,
    or any run on the machine, not necessarily the user's), so the line says no more than that."""
    count = f"{len(removed)} temp director{'y' if len(removed) == 1 else 'ies'}"
    names = ", ".join(sorted(removed)[:3]) + (", ..." if len(removed) > 3 else "")
    return f"removed {count} left by harness processes that ended without cleaning up: {names}"
