"""Peak memory of a command's whole process tree, as PSS (proportional set size): a page shared by
forked processes counts once in total, split between them, so forked ranks are not over-counted.

    seconds, proc, peak_bytes = run_with_peak_pss(command, env=..., cwd=...)
"""

from __future__ import annotations

import os
import subprocess
import time


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return found


def _tree(pid: int) -> list[int]:
    pids, stack = [], [pid]
    while stack:
        current = stack.pop()
        pids.append(current)
        stack.extend(_children(current))
    return pids


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_with_peak_pss(command: list[str], interval: float = 0.05, **kwargs) -> tuple[float, subprocess.CompletedProcess, int]:
    """Run ``command`` (capturing its output), sampling its tree's total PSS; (seconds, result, peak bytes)."""
    started = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    peak = 0
    import threading

    def sample() -> None:
        nonlocal peak
        while proc.poll() is None:
            peak = max(peak, sum(_pss(p) for p in _tree(proc.pid)))
            time.sleep(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    sampler.join()
    seconds = time.monotonic() - started
    return seconds, subprocess.CompletedProcess(command, proc.returncode, out, err), peak
