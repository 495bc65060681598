#!/usr/bin/env python3
"""Speed and memory of this harness against torch's own, measured back to back in one run.

Prints these figures:
1. the seed module on 4 CPU ranks: upstream's harness running the upstream file with only the three
   CPU edits, against this harness running the ported file with --device cpu (wall time, ratio);
2. per-test overhead: a generated module of empty @with_comms tests on 4 ranks (median per test);
3. import time of common_dtensor, each harness in a fresh interpreter (median, ratio);
4. growth: 1, 15 and 60 tests (the seed module; 60 = the module run 4 times with --repeat);
5. peak memory (PSS of the whole process tree) of the seed module, both harnesses;
6. suites of small files (one trivial 4-rank @with_comms test each): 1 and 10 files against torch's
   harness running them one by one; 1, 10 and 40 files with run_test.py serial (warm workers), with
   -j 2, and in the previous mode (a fresh interpreter per file); per-file overhead.

usage: python bench/bench_harness.py [--runs N] [--upstream-runs N] [--skip-upstream] [--only suite|seed]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "test/distributed/fsdp/test_fsdp_dtensor_state_dict.py"
UPSTREAM = ROOT / "upstream/test/distributed/fsdp/test_fsdp_dtensor_state_dict.py"


def env() -> dict:
    e = {k: v for k, v in os.environ.items() if not k.startswith("TESTING_")}
    e["PYTHONPATH"] = str(ROOT)
    return e


def timed(cmd: list[str], **kw) -> tuple[float, subprocess.CompletedProcess]:
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env(), cwd=ROOT, **kw)
    return time.monotonic() - start, proc


def upstream_cpu_copy(directory: Path) -> Path:
    """The upstream file with only the three CPU edits."""
    text = UPSTREAM.read_text()
    edits = [
        ('devices = ("cuda", "hpu", "xpu")', 'devices = ("cuda", "hpu", "xpu", "cpu")'),
        ("@skip_if_lt_x_gpu(2)", "@skip_if_lt_x_gpu(2, allow_cpu=True)"),
        ("@skip_if_lt_x_gpu(4)", "@skip_if_lt_x_gpu(4, allow_cpu=True)"),
        ("FSDP(dummy_model.to(device_type), device_mesh=device_mesh)",
         'FSDP(dummy_model.to(device_type), device_mesh=device_mesh, device_id=torch.device("cpu"))'),
    ]
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path = directory / "test_fsdp_dtensor_state_dict_upstream_cpu.py"
    path.write_text(text)
    return path


def check(proc: subprocess.CompletedProcess, expect: str) -> None:
    if expect not in proc.stderr + proc.stdout:
        sys.exit(f"benchmark run did not pass:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")


def empty_tests_module(directory: Path, count: int) -> Path:
    body = "\n".join(f"    @with_comms\n    def test_empty_{i:03d}(self):\n        pass\n" for i in range(count))
    path = directory / "test_empty_comms.py"
    path.write_text(
        "from testing.common_device_type import instantiate_device_type_tests\n"
        "from testing.distributed._tensor.common_dtensor import DTensorTestBase, with_comms\n\n\n"
        f"class TestEmpty(DTensorTestBase):\n{body}\n\n"
        "instantiate_device_type_tests(TestEmpty, globals(), only_for=('cpu',))\n"
    )
    return path


SMALL_FILE = """{imports}


class TestSmall{index}(DTensorTestBase):
    @with_comms
    def test_all_reduce(self):
        t = torch.ones(2)
        dist.all_reduce(t)
        self.assertEqual(t, torch.full((2,), 4.0))


instantiate_device_type_tests(TestSmall{index}, globals(), only_for=("cpu",))

if __name__ == "__main__":
    run_tests()
"""
SMALL_IMPORTS = """import torch
import torch.distributed as dist
from {pkg}.common_device_type import instantiate_device_type_tests
from {pkg}.common_utils import run_tests
from {pkg}.distributed._tensor.common_dtensor import DTensorTestBase, with_comms"""


def small_files(directory: Path, count: int, pkg: str) -> Path:
    """``count`` files of one trivial 4-rank test each, importing the harness from ``pkg``."""
    directory.mkdir(parents=True)
    for i in range(count):
        (directory / f"test_small_{i:02d}.py").write_text(SMALL_FILE.format(imports=SMALL_IMPORTS.format(pkg=pkg), index=i))
    return directory


def suite_figures(tmp: Path, skip_upstream: bool) -> None:

    runner = [sys.executable, str(ROOT / "run_test.py"), "--device", "cpu"]
    ours: dict[tuple[int, str], float] = {}
    for count in (1, 10, 40):
        directory = small_files(tmp / f"ours{count}", count, "testing")
        for mode, extra in (("serial", []), ("-j 2", ["-j", "2"]), ("fresh", ["--worker-start", "fresh"])):
            seconds, proc = timed([*runner, str(directory), *extra])
            check(proc, f"{count} passed, 0 failed")
            ours[count, mode] = seconds
        print(f"SUITE {count} files, this harness: serial {ours[count, 'serial']:.1f} s, -j 2 {ours[count, '-j 2']:.1f} s, "
              f"fresh interpreter per file {ours[count, 'fresh']:.1f} s; per file {ours[count, 'serial'] / count:.2f} s")
        print(f"RATIO {count} files serial against a fresh interpreter per file: {ours[count, 'serial'] / ours[count, 'fresh']:.3f}; "
              f"-j 2 against serial: {ours[count, '-j 2'] / ours[count, 'serial']:.3f}")
    if skip_upstream:
        return
    for count in (1, 10):
        directory = small_files(tmp / f"theirs{count}", count, "torch.testing._internal")
        started = time.monotonic()
        for file in sorted(directory.iterdir()):
            proc = subprocess.run([sys.executable, str(file)], capture_output=True, text=True, env=env(), cwd=directory)
            check(proc, "OK")
        theirs = time.monotonic() - started
        print(f"SUITE {count} files, torch's harness one by one: {theirs:.1f} s")
        print(f"RATIO {count} files serial against torch's harness (target <= 0.08 for 10): {ours[count, 'serial'] / theirs:.3f}; "
              f"-j 2: {ours[count, '-j 2'] / theirs:.3f}")


def import_time(module: str, runs: int) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    return statistics.median(float(timed([sys.executable, "-c", code])[1].stdout) for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5, help="runs of each of this harness's figures (median)")
    parser.add_argument("--upstream-runs", type=int, default=1, help="runs of upstream's seed module (about 2.5 min each)")
    parser.add_argument("--skip-upstream", action="store_true")
    parser.add_argument("--only", choices=("suite", "seed"), help="only the small-file suites, or only the seed figures")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.only != "seed":
            suite_figures(tmp, args.skip_upstream)
        if args.only == "suite":
            return
        from pss import run_with_peak_pss

        seconds, proc, peak = run_with_peak_pss([sys.executable, str(SEED), "--device", "cpu"], env=env(), cwd=ROOT)
        check(proc, "Ran 15 tests")
        print(f"MEMORY seed module, peak PSS of the process tree, this harness: {peak / 2**30:.2f} GB ({seconds:.1f} s)")
        if not args.skip_upstream:
            upstream_file = upstream_cpu_copy(tmp)
            seconds, proc, theirs_peak = run_with_peak_pss([sys.executable, str(upstream_file)], env=env(), cwd=ROOT)
            check(proc, "Ran 15 tests")
            print(f"MEMORY seed module, torch's harness: {theirs_peak / 2**30:.2f} GB ({seconds:.1f} s)")
            print(f"RATIO peak PSS (target <= 0.45): {peak / theirs_peak:.3f}")
        ours = []
        for _ in range(args.runs):
            seconds, proc = timed([sys.executable, str(SEED), "--device", "cpu"])
            check(proc, "Ran 15 tests")
            ours.append(seconds)
        ours_s = statistics.median(ours)
        print(f"seed module, 4 CPU ranks, this harness: {ours_s:.1f} s (runs: {', '.join(f'{s:.1f}' for s in ours)})")
        if not args.skip_upstream:
            upstream_file = upstream_cpu_copy(tmp)
            theirs = []
            for _ in range(args.upstream_runs):
                seconds, proc = timed([sys.executable, str(upstream_file)])
                check(proc, "Ran 15 tests")
                theirs.append(seconds)
            theirs_s = statistics.median(theirs)
            print(f"seed module, 4 CPU ranks, torch's harness: {theirs_s:.1f} s")
            print(f"RATIO seed wall time (target <= 0.08): {ours_s / theirs_s:.3f}")

        module = empty_tests_module(tmp, 40)
        medians = []
        for _ in range(args.runs):
            proc = subprocess.run([sys.executable, "-m", "testing._runner.worker", str(module)], capture_output=True,
                                  text=True, env=env(), cwd=ROOT)
            durations = [json.loads(l)["duration"] for l in proc.stdout.splitlines()
                         if l.startswith("{") and json.loads(l).get("outcome") == "passed"]
            if len(durations) != 40:
                sys.exit(f"empty-test module did not pass:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
            medians.append(statistics.median(durations))
        print(f"OVERHEAD per empty @with_comms test on 4 ranks, median (target <= 0.3 s): {statistics.median(medians):.3f} s")

        mine = import_time("testing.distributed._tensor.common_dtensor", args.runs)
        upstream_import = import_time("torch.testing._internal.distributed._tensor.common_dtensor", args.runs)
        torch_alone = import_time("torch", args.runs)
        print(f"import common_dtensor: this harness {mine:.2f} s, torch's {upstream_import:.2f} s "
              f"(import torch alone: {torch_alone:.2f} s; harness on top of it: {mine - torch_alone:+.2f} s "
              f"against {upstream_import - torch_alone:+.2f} s)")
        print(f"RATIO import time (target <= 0.5): {mine / upstream_import:.3f}")

        for label, extra in (("1 test", ["-k", "test_raises_warning_or_errors"]), ("15 tests", []), ("60 tests", ["--repeat", "4"])):
            seconds, proc = timed([sys.executable, str(SEED), "--device", "cpu", *extra])
            if proc.returncode != 0:
                sys.exit(f"growth run failed:\n{proc.stderr[-2000:]}")
            print(f"GROWTH {label}: {seconds:.1f} s")


if __name__ == "__main__":
    main()
