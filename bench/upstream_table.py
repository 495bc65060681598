#!/usr/bin/env python3
"""Build the table of upstream files run on this harness, from local copies (public code stays
out of the repo). MANIFEST is a TSV: upstream path, repository, commit, local copy, note.

    python bench/upstream_table.py docs/upstream_manifest.tsv --copies /tmp/upstream_copies

For each file: torch's own harness (the oracle), this harness with the same (absent) device
selection, and this harness with --device cpu; counts per outcome, and whether ids and outcomes
agree with the oracle. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(path: Path, *flags: str, timeout: float, **env: str) -> dict[str, tuple[str, str]]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TESTING_")}
    environment.update(env, PYTHONPATH=str(ROOT))
    try:
        proc = subprocess.run([sys.executable, "-m", "testing._worker", str(path), *flags], capture_output=True,
                              text=True, timeout=timeout, env=environment, cwd=path.parent)
    except subprocess.TimeoutExpired:
        return {"<timeout>": ("error", f"over {timeout:g} s")}
    result = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            report = json.loads(line)
            if report["outcome"] != "collected":
                result[report["id"]] = (report["outcome"], report["message"])
    return result


def summary(result: dict[str, tuple[str, str]]) -> str:
    if len(result) == 1 and next(iter(result)).startswith("<"):
        outcome, message = next(iter(result.values()))
        return f"does not load: {message[:140]}"
    counts = collections.Counter(outcome for outcome, _ in result.values())
    return f"{len(result)} tests: " + ", ".join(f"{n} {o}" for o, n in sorted(counts.items())) if result else "0 tests"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--copies", type=Path, required=True, help="folder holding the local copies")
    parser.add_argument("--timeout", type=float, default=1200)
    args = parser.parse_args()
    print("| upstream file | repo @ commit | torch's harness | this harness | same ids and outcomes | this harness, --device cpu | note |")
    print("|---|---|---|---|---|---|---|")
    for line in args.manifest.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        upstream_path, repo, commit, local, note = (line.split("\t") + [""] * 5)[:5]
        path = args.copies / local
        oracle = run(path, "--upstream-harness", timeout=args.timeout)
        ours = run(path, timeout=args.timeout)
        emulated = run(path, timeout=args.timeout, TESTING_DEVICE="cpu")
        same = "yes" if {k: v[0] for k, v in oracle.items()} == {k: v[0] for k, v in ours.items()} else "no"
        print(f"| {upstream_path} | {repo} @ {commit[:10]} | {summary(oracle)} | {summary(ours)} | {same} | {summary(emulated)} | {note} |")


if __name__ == "__main__":
    main()
