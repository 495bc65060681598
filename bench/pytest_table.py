#!/usr/bin/env python3
"""pytest against run_test.py on unmodified upstream files: the same ids and outcomes?

Per file and device selection: ``python -m pytest FILE --redirect-upstream [--device D]
[--map-cuda] --junitxml`` and ``python run_test.py [--device D] [--map-cuda] FILE --xml``, then
each JUnit file read as
{(class, test): passed | failure | error | skipped}. Prints one markdown row per file and
selection (docs/pytest.md has the last output).

usage: python bench/pytest_table.py [--device cpu] [--device none] [--map-cuda] FILE...
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def env() -> dict:
    e = {k: v for k, v in os.environ.items() if not k.startswith("TESTING_")}
    e["PYTHONPATH"] = str(ROOT) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    return e


def junit_kinds(paths: list[Path]) -> dict[tuple[str, str], str]:
    found = {}
    for path in paths:
        for case in ET.parse(path).getroot().iter("testcase"):
            kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
            key = (case.get("classname", "").rsplit(".", 1)[-1], case.get("name", ""))
            if _load_error(case):  # a file that does not import: one entry per runner, named differently
                key = ("<file>", "does not load")
            found[key] = kinds[0] if kinds else "passed"
    return found


def _load_error(case: ET.Element) -> bool:
    """pytest writes a module that fails to import as a "collection failure" entry named for the
    module; run_test.py as the test ``<FILE>``."""
    error = case.find("error")
    return (error is not None and error.get("message") == "collection failure") or "<" in case.get("classname", "") + case.get("name", "")


def counts(kinds: dict) -> str:
    if not kinds:
        return "0 tests"
    tally = collections.Counter(kinds.values())
    return f"{len(kinds)}: " + ", ".join(f"{n} {kind}" for kind, n in sorted(tally.items()))


def compare(path: Path, device: str | None, map_cuda: bool = False, name: str = "") -> str:
    flags = (["--device", device] if device else []) + (["--map-cuda"] if map_cuda else [])
    with tempfile.TemporaryDirectory() as work:
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path), "--redirect-upstream",
                        *flags, "--junitxml", f"{work}/pytest.xml"], cwd=work, env=env(), capture_output=True, timeout=3600)
        subprocess.run([sys.executable, str(ROOT / "run_test.py"), *flags, str(path), "--xml", f"{work}/xml"],
                       cwd=work, env=env(), capture_output=True, timeout=3600)
        ours = junit_kinds([Path(work) / "pytest.xml"])
        runner = junit_kinds(sorted((Path(work) / "xml").glob("*.xml")))
    same = "yes" if ours == runner else "NO: " + "; ".join(
        f"{k[0]}.{k[1]} pytest {ours.get(k, '-')} run_test {runner.get(k, '-')}"
        for k in sorted(set(ours) | set(runner)) if ours.get(k) != runner.get(k))
    selection = (device or "(none)") + (" --map-cuda" if map_cuda else "")
    return f"| {name or path.name} | {selection} | {counts(ours)} | {counts(runner)} | {same} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--device", action="append", help="a device selection; 'none' for none (default: cpu)")
    parser.add_argument("--map-cuda", action="store_true", help="give both runners --map-cuda (needs a device selection)")
    args = parser.parse_args()
    if args.map_cuda and "none" in (args.device or []):
        print("pytest_table.py: error: --map-cuda needs a device selection, not --device none", file=sys.stderr)
        return 2
    missing = [f for f in args.files if not Path(f).is_file()]
    if missing:
        print(f"pytest_table.py: error: no such file: {missing[0]}", file=sys.stderr)
        return 2
    print("| file | --device | pytest --redirect-upstream | run_test.py | same ids and outcomes |")
    print("|---|---|---|---|---|")
    for file in args.files:
        for device in args.device or ["cpu"]:
            # the name as given: two revisions of one file differ by folder, not by name
            print(compare(Path(file).resolve(), None if device == "none" else device, args.map_cuda, file), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
