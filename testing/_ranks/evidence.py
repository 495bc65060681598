"""What each rank of a test did, as data, and the headline that leads with the root cause.

The engine records per rank what it saw (exit code, what the rank reported, stacks, when it ended);
`rank_results` turns that into one `RankResult` per rank with a status every reader understands:

    passed, skipped, failed (raised its own exception), knock-on (raised because a peer was gone),
    killed (by a signal), exited-early (ended without a result), hung (running at the timeout),
    stopped (killed by the harness after another rank failed)

The headline names the rank that failed first in time with its own exception
(``rank 2: AssertionError: ... quokka mismatch``); a peer's "Connection closed by peer" is a
knock-on, listed after it. Reporters (terminal, JUnit, pytest, the last-run cache) read these
fields; none of them re-parses a message.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Optional

FAILING = ("failed", "killed", "exited-early")
"""Statuses that can be a root cause."""

# What a rank raises when a peer died or left: gloo, NCCL/XCCL/HCCL and c10d's own wording.
_KNOCK_ON = re.compile(
    r"Connection closed by peer|Connection reset by peer|Broken pipe|remote process exited|"
    r"peer process|aborted|abort(ing)? (the )?(communicator|process group)|NCCL communicator was aborted|"
    r"Socket Timeout|Timed out waiting .* for (the )?(store|peer)|Watchdog caught collective operation timeout|"
    r"ProcessGroup.*(shut down|destroyed)|DistNetworkError|DistBackendError",
    re.IGNORECASE,
)

# Python functions a rank sits in while it waits for its peers.
COLLECTIVES = frozenset({
    "all_reduce", "all_gather", "all_gather_into_tensor", "all_gather_object", "all_to_all",
    "all_to_all_single", "barrier", "monitored_barrier", "broadcast", "broadcast_object_list", "reduce",
    "reduce_scatter", "reduce_scatter_tensor", "gather", "gather_object", "scatter", "scatter_object_list",
    "send", "recv", "isend", "irecv", "wait", "batch_isend_irecv", "_wait_tensor", "wait_tensor",
    "init_process_group", "new_group", "rendezvous",
})

_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<func>\S+)')


@dataclasses.dataclass
class RankResult:
    rank: int
    status: str
    pid: int = 0
    exit_code: Optional[int] = None
    signal: Optional[str] = None
    exc_type: str = ""
    exc_message: str = ""
    """The exception's first line (without its type)."""
    traceback: str = ""
    failed_at: Optional[float] = None
    """Seconds after the test's ranks started when the rank failed or ended."""
    stacks: str = ""
    """Python stacks of every thread (faulthandler), for hung, stopped and crashed ranks."""
    where: str = ""
    """For a hung or stopped rank: ``in all_reduce`` or ``at test_x.py:37 in test_y``."""
    root_cause: bool = False

    def summary(self) -> str:
        """``AssertionError: quokka mismatch`` / ``killed by SIGSEGV`` / ``exited early with status 0``."""
        if self.status in ("failed", "knock-on"):
            return f"{self.exc_type}: {self.exc_message}" if self.exc_message else self.exc_type
        if self.status == "killed":
            return f"killed by {self.signal}"
        if self.status == "exited-early":
            return f"exited early with status {self.exit_code}"
        if self.status in ("hung", "stopped"):
            verb = "still running at the timeout" if self.status == "hung" else "stopped by the harness"
            return f"{verb}{' ' + self.where if self.where else ''}"
        return self.status

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def exception_parts(traceback_text: str) -> tuple[str, str]:
    """(type, first line of the message) of the last exception in a formatted traceback."""
    lines = traceback_text.rstrip().splitlines()
    # the exception line is the last line not indented, after the last frame
    last_frame = max((i for i, line in enumerate(lines) if _FRAME.match(line)), default=-1)
    for line in lines[last_frame + 1:]:
        if line and not line.startswith((" ", "\t")) and not line.startswith("Traceback"):
            kind, sep, message = line.partition(": ")
            if re.fullmatch(r"[A-Za-z_][\w.]*", kind):
                return kind.rsplit(".", 1)[-1] if kind.startswith("torch.") else kind, message.strip() if sep else ""
    return "Exception", (lines[-1].strip() if lines else "")


def is_knock_on(traceback_text: str) -> bool:
    return bool(_KNOCK_ON.search(traceback_text))


def _frames(stacks: str) -> list[tuple[str, int, str]]:
    """Frames of the main (current) thread of a faulthandler dump, innermost first."""
    blocks, current = [], None
    for line in stacks.splitlines():
        if line.startswith(("Thread 0x", "Current thread 0x")):
            current = (line.startswith("Current thread"), [])
            blocks.append(current)
        elif current is not None:
            match = _FRAME.match(line)
            if match:
                current[1].append((match["file"], int(match["line"]), match["func"]))
    if not blocks:
        return []
    chosen = next((frames for is_current, frames in blocks if is_current), blocks[0][1])
    return chosen


_HARNESS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def location(stacks: str) -> str:
    """``in all_reduce`` when the rank waits in a collective, else ``at FILE:LINE in FUNC`` of the
    innermost frame outside torch and the harness; "" when there are no stacks."""
    frames = _frames(stacks)
    for file, _, func in frames:
        if func in COLLECTIVES and f"{os.sep}torch{os.sep}" in file:
            return f"in {func}"
    for file, line, func in frames:
        if f"{os.sep}torch{os.sep}" not in file and not file.startswith(_HARNESS_DIR) and "<frozen" not in file:
            return f"at {os.path.basename(file)}:{line} in {func}"
    if frames:
        file, line, func = frames[0]
        return f"at {os.path.basename(file)}:{line} in {func}"
    return ""


def _ranks_text(results: list[RankResult]) -> str:
    numbers = [str(r.rank) for r in results]
    return f"rank{'s' if len(numbers) > 1 else ''} {','.join(numbers)}"


def root_cause(results: list[RankResult]) -> Optional[RankResult]:
    """The rank that failed first in time with its own fault; a knock-on only if nothing else failed."""
    def when(r: RankResult) -> float:
        return r.failed_at if r.failed_at is not None else float("inf")

    own = sorted((r for r in results if r.status in FAILING), key=lambda r: (when(r), r.rank))
    if own:
        return own[0]
    echoes = sorted((r for r in results if r.status == "knock-on"), key=lambda r: (when(r), r.rank))
    return echoes[0] if echoes else None


def headline(results: list[RankResult], timed_out: bool, timeout: float, source: str) -> str:
    """One line that names what went wrong and where."""
    if timed_out:
        hung = [r for r in results if r.status == "hung"]
        # the rank at fault is the one not waiting in a collective, when the stacks tell
        waiting = [r for r in hung if r.where.startswith("in ")]
        elsewhere = [r for r in hung if not r.where.startswith("in ")]
        parts = [f"timed out after {timeout:g} s ({source})"]
        for r in elsewhere:
            parts.append(f"rank {r.rank} {r.where}" if r.where else f"rank {r.rank} still running")
        by_place: dict[str, list[RankResult]] = {}
        for r in waiting:
            by_place.setdefault(r.where, []).append(r)
        parts += [f"{_ranks_text(rs)} {where}" for where, rs in by_place.items()]
        return "; ".join(parts)
    cause = root_cause(results)
    if cause is None:
        return ""
    return f"rank {cause.rank}: {cause.summary()}"


def knock_on_lines(results: list[RankResult]) -> list[str]:
    """One line per rank that is not the root cause and did not pass: what happened to it."""
    return [f"rank {r.rank} ({r.status}): {r.summary()}" for r in results
            if not r.root_cause and r.status not in ("passed", "skipped")]
