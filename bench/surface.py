#!/usr/bin/env python3
"""How much of upstream's harness surface, as current distributed tests import it, testing provides.

Reads an imports census (default docs/census/distributed_imports.json): one record per upstream
test/distributed file with the (module, name) pairs it imports from torch.testing._internal.
Keeps the current files (not legacy_path, old_version or scratch_or_helper), then:

* an "upstream" subprocess imports each module from the installed torch's own harness and records
  which pairs exist there; a file with a pair the installed torch lacks needs another torch release
  and is left out of the share;
* a "testing" subprocess does the same against ``testing.<module>``, and against the suite modules
  that ship in torch (testing/_fork/suites.py) as the redirect serves them: loaded from the installed
  torch's source, their harness imports served by testing; a name that is only a stub raising
  "unsupported" counts as missing.

A module that cannot be imported because a package is not installed (torchcomms, say) is reported
with that package, and the files that need it are listed apart rather than counted as missing.

The two run in separate interpreters: torch's harness and testing (which has an import redirect)
never share one. Prints the share of eligible files whose every import testing provides, the 40
most-missed names (files needing each) and per-module counts.

Beyond module names, the same probes count members: every public member of the harness classes a
fork builds on (``CLASSES``: DeviceTypeTestBase, PrivateUse1TestBase, TestCase, MultiProcessTestCase
...) that upstream's class has and testing's lacks, and every flag of upstream's ``run_tests()``
on the installed release (read from its common_utils source) that testing's module command line lacks.

    python bench/surface.py [CENSUS] [--json OUT] [--files]
"""

from __future__ import annotations

import argparse
import collections
import importlib
import inspect
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CENSUS = ROOT / "docs/census/distributed_imports.json"
PREFIX = {"upstream": "torch.testing._internal.", "testing": "testing."}
MODULE = "<module>"
Pair = tuple[str, str]
# the classes whose members a fork's tests and configuration use ("module:Class")
CLASSES = ("common_device_type:DeviceTypeTestBase", "common_device_type:PrivateUse1TestBase",
           "common_utils:TestCase", "common_distributed:MultiProcessTestCase",
           "common_distributed:MultiProcContinuousTest", "distributed._tensor.common_dtensor:DTensorTestBase",
           "common_fsdp:FSDPTest")


def _is_unsupported_stub(obj: Any) -> bool:
    """A short function or class in testing whose body only raises an "unsupported" error."""
    ours = getattr(obj, "__module__", None) or ""
    if not (inspect.isfunction(obj) or inspect.isclass(obj)) or not ours.startswith("testing"):
        return False
    try:
        source = inspect.getsource(obj)
    except (OSError, TypeError):
        return False
    return len(source.splitlines()) <= 8 and "raise" in source and "unsupported" in source.lower()


def _has(module: Any, fullname: str, name: str, side: str) -> bool:
    """``from <fullname> import <name>`` would give a usable object (an attribute or a submodule)."""
    try:
        obj = getattr(module, name)
    except Exception:
        try:
            obj = importlib.import_module(f"{fullname}.{name}")
        except BaseException:
            return False
    return not (side == "testing" and _is_unsupported_stub(obj))


def _probe_name(side: str, module_name: str) -> str:
    """The module to import for a census module: testing's own, or a suite module from torch through
    the redirect (installed in the testing probe's interpreter before the first import)."""
    if side == "testing":
        from testing._fork import suites

        if suites.suite_name(PREFIX["upstream"] + module_name):
            return PREFIX["upstream"] + module_name
    return PREFIX[side] + module_name


def _missing_package(exc: BaseException) -> str:
    """The top-level package a ModuleNotFoundError names, when it is neither torch nor the harness."""
    name = (getattr(exc, "name", None) or "").split(".")[0] if isinstance(exc, ModuleNotFoundError) else ""
    return "" if name in ("", "torch", "testing") else name


def probe(side: str, pairs: list[Pair]) -> dict[str, Any]:
    """Run in a subprocess: "module:name" -> provided (one import per module), import errors, and the
    packages (not installed) that modules need."""
    modules: dict[str, Any] = {}
    result: dict[str, bool] = {}
    errors: dict[str, str] = {}
    packages: dict[str, str] = {}
    if side == "testing":
        from testing._fork import redirect

        redirect.install()  # suite modules load through it, as under `python -m testing FILE`
    for module_name, name in pairs:
        fullname = _probe_name(side, module_name)
        if module_name not in modules:
            try:
                modules[module_name] = importlib.import_module(fullname)
            except BaseException as exc:  # ImportError, unsupported-API errors, SystemExit from module code
                modules[module_name] = None
                absent = isinstance(exc, ModuleNotFoundError) and fullname.startswith(exc.name or "?")
                if _missing_package(exc):
                    packages[module_name] = _missing_package(exc)
                elif not absent:  # the module exists but broke on import: worth a line in the report
                    errors[module_name] = f"{type(exc).__name__}: {exc}"[:200]
        module = modules[module_name]
        result[f"{module_name}:{name}"] = module is not None and (name == MODULE or _has(module, fullname, name, side))
    return {"present": result, "import_errors": errors, "missing_packages": packages, "members": class_members(side)}


def class_members(side: str) -> dict[str, list[str]]:
    """"module:Class" -> its public members (no leading underscore) beyond unittest.TestCase's (absent class: no entry)."""
    import unittest

    found = {}
    for entry in CLASSES:
        module_name, class_name = entry.split(":")
        try:
            cls = getattr(importlib.import_module(PREFIX[side] + module_name), class_name)
        except BaseException:
            continue
        found[entry] = sorted(n for n in dir(cls) if not n.startswith("_") and n not in dir(unittest.TestCase))
    return found


def run_tests_flags(side: str) -> list[str]:
    """The flags run_tests() takes on the installed torch: testing's from its table; upstream's read from
    its common_utils source (found, not imported, so that this probe never loads the other harness)."""
    import importlib.util

    from testing._runner.run_tests_flags import flags_in_source, release_flags

    if side == "testing":
        return list(release_flags())
    torch_dir = Path(importlib.util.find_spec("torch").submodule_search_locations[0])
    return flags_in_source((torch_dir / "testing" / "_internal" / "common_utils.py").read_text())


def run_probe(side: str, pairs: list[Pair]) -> dict[str, Any]:
    """Run `probe` for one side in a fresh interpreter, in a scratch directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESTING_")}
    env["PYTHONPATH"] = str(ROOT) if side == "testing" else ""
    for key, value in (("BACKEND", "gloo"), ("WORLD_SIZE", "2")):  # upstream's distributed_test reads both
        env.setdefault(key, value)                                  # at import; its runner sets them
    with tempfile.TemporaryDirectory() as scratch:
        pairs_file, out_file = Path(scratch, "pairs.json"), Path(scratch, "out.json")
        pairs_file.write_text(json.dumps(pairs))
        command = [sys.executable, str(Path(__file__).resolve()), "--probe", side, str(pairs_file), str(out_file)]
        proc = subprocess.run(command, cwd=scratch, env=env, capture_output=True, text=True, timeout=900)
        if not out_file.exists():
            sys.exit(f"surface: the {side} probe failed (rc {proc.returncode}):\n{proc.stderr[-3000:]}")
        return json.loads(out_file.read_text())


def label(pair: Pair) -> str:
    return pair[0] if pair[1] == MODULE else f"{pair[0]}.{pair[1]}"


def measure(census: dict[str, Any]) -> dict[str, Any]:
    files = [f for f in census["files"] if not (f["legacy_path"] or f["old_version"] or f["scratch_or_helper"])]
    needs: dict[str, list[Pair]] = {f["path"]: sorted({(m, n) for m, n in f["pairs"]}) for f in files}
    every = sorted({p for pairs in needs.values() for p in pairs})
    probes = {side: run_probe(side, every) for side in PREFIX}
    sys.path.insert(0, str(ROOT))  # this process reads both sides' flags, importing neither harness's facades
    flags = {side: run_tests_flags(side) for side in PREFIX}
    upstream, ours = probes["upstream"]["present"], probes["testing"]["present"]
    packages = {**probes["upstream"]["missing_packages"], **probes["testing"]["missing_packages"]}
    need_package = {path: sorted({packages[m] for m, _ in pairs if m in packages})
                    for path, pairs in needs.items() if any(m in packages for m, _ in pairs)}
    needs = {path: pairs for path, pairs in needs.items() if path not in need_package}
    eligible = {path: pairs for path, pairs in needs.items() if all(upstream[f"{m}:{n}"] for m, n in pairs)}
    missing = {path: [p for p in pairs if not ours[f"{p[0]}:{p[1]}"]] for path, pairs in eligible.items()}
    satisfied = [path for path, miss in missing.items() if not miss]
    missed = collections.Counter(label(p) for miss in missing.values() for p in miss)
    per_module: dict[str, dict[str, Any]] = {}
    for path, pairs in eligible.items():
        for module in sorted({m for m, _ in pairs}):
            row = per_module.setdefault(module, {"files": 0, "satisfied": 0, "missing": collections.Counter()})
            gaps = [n for m, n in missing[path] if m == module]
            row["files"] += 1
            row["satisfied"] += not gaps
            row["missing"].update(gaps)
    return {
        "current_files": len(files),
        "eligible_files": len(eligible),
        "satisfied_files": len(satisfied),
        "share_percent": round(100 * len(satisfied) / len(eligible), 1) if eligible else 0.0,
        "top_missed": missed.most_common(40),
        "per_module": {m: {**r, "missing": dict(r["missing"].most_common())}
                       for m, r in sorted(per_module.items(), key=lambda kv: -kv[1]["files"])},
        "unsatisfied_files": {path: [label(p) for p in miss] for path, miss in sorted(missing.items()) if miss},
        "needs_other_torch_release": {path: [label(p) for p in pairs if not upstream[f"{p[0]}:{p[1]}"]]
                                      for path, pairs in sorted(needs.items()) if path not in eligible},
        "import_errors": {side: probes[side]["import_errors"] for side in PREFIX},
        "members": {cls: {"upstream": len(names), "missing": [n for n in names if n not in probes["testing"]["members"].get(cls, [])]}
                    for cls, names in probes["upstream"]["members"].items()},
        "run_tests_flags": {"upstream": flags["upstream"], "missing": [f for f in flags["upstream"] if f not in flags["testing"]]},
        "needs_missing_package": need_package,
    }


def report(r: dict[str, Any], list_files: bool) -> None:
    print(f"current files: {r['current_files']}")
    print(f"  with every import present in the installed torch's harness: {r['eligible_files']} "
          f"({len(r['needs_other_torch_release'])} need another torch release)")
    print(f"  of those, every import provided by testing (suites shipped in torch included): "
          f"{r['satisfied_files']} = {r['share_percent']}%")
    for path, names in r["needs_missing_package"].items():
        print(f"  needs a package that is not installed: {path} ({', '.join(names)})")
    for side, errors in r["import_errors"].items():
        for module, error in errors.items():
            print(f"  {side} module does not import: {module} ({error})")
    print(f"\ntop {len(r['top_missed'])} missing names (files needing each):")
    for name, count in r["top_missed"]:
        print(f"  {count:4d}  {name}")
    flags = r["run_tests_flags"]
    print(f"\nrun_tests() flags: {len(flags['upstream']) - len(flags['missing'])} of {len(flags['upstream'])} provided"
          + (f" (missing: {', '.join(flags['missing'])})" if flags["missing"] else ""))
    print("class members (upstream's public members beyond unittest.TestCase's):")
    for cls, row in r["members"].items():
        print(f"  {cls:<58} {row['upstream'] - len(row['missing']):>4} of {row['upstream']:>4}"
              + (f"  missing: {', '.join(row['missing'][:8])}{' ...' if len(row['missing']) > 8 else ''}" if row["missing"] else ""))
    print(f"\n{'module':<52} {'files':>5} {'full':>5} {'names missing':>13}")
    for module, row in r["per_module"].items():
        print(f"{module:<52} {row['files']:>5} {row['satisfied']:>5} {len(row['missing']):>13}")
    if list_files:
        print(f"\nunsatisfied files ({len(r['unsatisfied_files'])}):")
        for path, names in r["unsatisfied_files"].items():
            print(f"  {path}: {', '.join(names)}")


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--probe":
        pairs = [tuple(p) for p in json.loads(Path(sys.argv[3]).read_text())]
        Path(sys.argv[4]).write_text(json.dumps(probe(sys.argv[2], pairs)))
        os._exit(0)  # skip interpreter teardown: harness modules may leave threads or atexit hooks
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("census", nargs="?", type=Path, default=CENSUS)
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the results as JSON")
    parser.add_argument("--files", action="store_true", help="list each unsatisfied file with its missing names")
    args = parser.parse_args()
    result = measure(json.loads(args.census.read_text()))
    report(result, args.files)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
