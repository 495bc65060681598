#!/usr/bin/env python3
"""pytest against run_test.py on one unmodified upstream file, timed back to back in one run.

Both run the upstream original of the seed (upstream/test/distributed/fsdp/
test_fsdp_dtensor_state_dict.py) on CPU ranks on this harness: ``python -m pytest FILE
--redirect-upstream --device cpu`` and ``python run_test.py --device cpu FILE``. Prints each wall
time (the median of --runs), the tests each reported, and the ratio pytest / run_test.py.

usage: python bench/pytest_vs_runner.py [--runs N] [FILE]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "upstream/test/distributed/fsdp/test_fsdp_dtensor_state_dict.py"


def env() -> dict:
    e = {k: v for k, v in os.environ.items() if not k.startswith("TESTING_")}
    e["PYTHONPATH"] = str(ROOT) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    return e


def timed(command: list[str], cwd: str) -> tuple[float, str, int]:
    start = time.monotonic()
    proc = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env(), timeout=1800)
    return time.monotonic() - start, proc.stdout + proc.stderr, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default=str(DEFAULT))
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    path = Path(args.file).resolve()
    if not path.is_file():
        print(f"pytest_vs_runner.py: error: no such file: {args.file}", file=sys.stderr)
        return 2
    if args.runs < 1:
        print(f"pytest_vs_runner.py: error: --runs must be at least 1, got {args.runs}", file=sys.stderr)
        return 2
    ways = {
        "pytest": [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path),
                   "--redirect-upstream", "--device", "cpu"],
        "run_test.py": [sys.executable, str(ROOT / "run_test.py"), "--device", "cpu", str(path)],
    }
    walls: dict[str, list[float]] = {name: [] for name in ways}
    last: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as cwd:
        for _ in range(args.runs):
            for name, command in ways.items():  # interleaved, so load drifts hit both alike
                wall, output, rc = timed(command, cwd)
                walls[name].append(wall)
                last[name] = f"rc {rc}: " + next((line for line in reversed(output.splitlines())
                                                  if re.search(r"\d+ (passed|failed)", line)), "no summary")
    for name in ways:
        print(f"{name:12s} {statistics.median(walls[name]):7.2f} s  (runs: {', '.join(f'{w:.2f}' for w in walls[name])})"
              f"  {last[name]}")
    ratio = statistics.median(walls["pytest"]) / statistics.median(walls["run_test.py"])
    print(f"ratio pytest / run_test.py: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
