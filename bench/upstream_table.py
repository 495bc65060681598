#!/usr/bin/env python3
"""Build the table of upstream files run on this harness, from local copies (public code stays
out of the repo). MANIFEST is a TSV: upstream path, repository, commit, local copy, note.

    python bench/upstream_table.py docs/upstream_manifest.tsv --copies COPIES_DIR

For each file: torch's own harness (the oracle), this harness with the same (absent) device
selection, this harness with --device cpu, and with --device cpu --map-cuda; counts per outcome,
and whether ids and outcomes agree with the oracle. Prints a markdown table; --details FILE also
writes every test's outcome and message per run (JSON), to classify the failures.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(path: Path, *flags: str, timeout: float, **env: str) -> dict[str, tuple[str, str]]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TESTING_")}
    environment.update(env, PYTHONPATH=str(ROOT))
    try:
        proc = subprocess.run([sys.executable, "-m", "testing._runner.worker", str(path), *flags], capture_output=True,
                              text=True, timeout=timeout, env=environment, cwd=path.parent)
    except subprocess.TimeoutExpired:
        return {"<timeout>": ("error", f"over {timeout:g} s")}
    result = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            report = json.loads(line)
            if "control" not in report:
                result[report["id"]] = (report["outcome"], report["message"])
    return result


_SITE_PACKAGES = re.compile(r"(?:/[^/\s'\"()]+)+/(?:site|dist)-packages/")


def shorten(text: str, copies: Path) -> str:
    """Messages quote where modules were loaded from; the table is read on other machines, so an
    install path becomes ``<site-packages>/`` (or ``<python>``), the copies folder ``<copies>/``
    and this repository's own paths relative ones."""
    text = _SITE_PACKAGES.sub("<site-packages>/", text)
    for folder, short in ((ROOT, ""), (copies.resolve(), "<copies>/"), (copies, "<copies>/")):
        text = text.replace(f"{folder}/", short)
    for prefix in {sys.prefix, sys.base_prefix}:
        text = text.replace(f"{prefix}/", "<python>/")
    return text


def summary(result: dict[str, tuple[str, str]], copies: Path) -> str:
    result = {k: (outcome, shorten(message, copies)) for k, (outcome, message) in result.items()}
    if len(result) == 1 and next(iter(result)).startswith("<"):
        outcome, message = next(iter(result.values()))
        return f"does not load: {message[:140]}"
    if not result:
        return "0 tests"
    counts = collections.Counter(outcome for outcome, _ in result.values())
    text = f"{len(result)} tests: " + ", ".join(f"{n} {o}" for o, n in sorted(counts.items()))
    problems = sorted({message.splitlines()[0][:100] for outcome, message in result.values()
                       if outcome in ("error", "failed") and message})
    if problems:  # what went wrong, once per distinct first line
        text += " (" + "; ".join(problems[:2]) + ("; ..." if len(problems) > 2 else "") + ")"
    return text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--copies", type=Path, required=True, help="folder holding the local copies")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds for one file under one harness")
    parser.add_argument("--rank-timeout", type=float, default=900,
                        help="DISTRIBUTED_TESTS_DEFAULT_TIMEOUT for both harnesses: some upstream tests "
                             "(test_convolution_ops' depthwise case) need minutes on CPU ranks")
    parser.add_argument("--details", type=Path, help="write each run's per-test outcome and message here (JSON)")
    args = parser.parse_args()
    details = {}
    rank_timeout = {"DISTRIBUTED_TESTS_DEFAULT_TIMEOUT": f"{args.rank_timeout:g}"}
    print("| upstream file | repo @ commit | torch's harness | this harness | same ids and outcomes "
          "| this harness, --device cpu | this harness, --device cpu --map-cuda | note |")
    print("|---|---|---|---|---|---|---|---|")
    for line in args.manifest.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        upstream_path, repo, commit, local, note = (line.split("\t") + [""] * 5)[:5]
        path = args.copies / local
        oracle = run(path, "--upstream-harness", timeout=args.timeout, **rank_timeout)
        ours = run(path, timeout=args.timeout, **rank_timeout)
        emulated = run(path, timeout=args.timeout, TESTING_DEVICE="cpu", **rank_timeout)
        mapped = run(path, timeout=args.timeout, TESTING_DEVICE="cpu", TESTING_MAP_CUDA="1", **rank_timeout)
        same = "yes" if {k: v[0] for k, v in oracle.items()} == {k: v[0] for k, v in ours.items()} else "no"
        print(f"| {upstream_path} | {repo} @ {commit[:10]} | {summary(oracle, args.copies)} | {summary(ours, args.copies)} "
              f"| {same} | {summary(emulated, args.copies)} | {summary(mapped, args.copies)} | {note} |", flush=True)
        if args.details:
            details[local] = {"oracle": oracle, "this harness": ours, "--device cpu": emulated,
                              "--device cpu --map-cuda": mapped}
            args.details.write_text(json.dumps(details, indent=1))


if __name__ == "__main__":
    main()
