"""``python run_test.py [paths] [--device NAME] ...``: the command line downstream CI calls."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Optional

from testing._core import config as _config
from testing._core import cuda_mapping
from testing._core import devices as _devices
from testing._core import repro
from testing._core import signals
from testing._core import tempfiles

from testing._fork import expectation_files
from testing._fork import expectations as _expectations
from testing._runner.result import TestReport, tally

from . import cache, discovery, failures, junit, marks

from testing._ranks.zygote import fork_is_safe

from .options import build_parser
from .execute import FileJob, FileRun, prewarm, run_jobs, shares, worker_args
from .terminal import TerminalReporter, closing_line, summary, warnings_section


def selection(args: argparse.Namespace) -> _config.Config:
    """The run's configuration: this process's environment with the command line's flags on top."""
    flags = {name: getattr(args, flag[2:].replace("-", "_")) for flag, name in _config.MODULE_FLAGS.items()}
    flags = {name: value for name, value in flags.items() if value is not None}
    if args.timeout is not None:
        flags.update(DISTRIBUTED_TESTS_DEFAULT_TIMEOUT=str(args.timeout), TESTING_TIMEOUT_SOURCE="--timeout")
    flags["TESTING_RUNNER"] = runner_command()  # workers leave the repro line to this runner's rerun:
    if args.verbose:
        flags["TESTING_SHOW_WARNINGS"] = "1"
    return _config.from_environment({**_config.process_environment(), **flags})


def child_env(config: _config.Config) -> dict:
    """A worker's environment: this process's, with the run's configuration and this package importable."""
    env = {**_config.process_environment(), **config.to_environment()}
    root = str(Path(__file__).resolve().parent.parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def runner_command() -> str:
    """How this runner was started, for repro hints: ``python3 run_test.py`` (relative to here) or ``testing-run``."""
    program = _config.module_argv()[0]
    if os.path.basename(program) == "run_test.py":
        return f"{repro.python_command()} {repro.display_path(program)}"
    return "testing-run"


def start_mode(config: _config.Config, requested: str = "warm") -> tuple[bool, str]:
    """(warm, why not): workers fork from this warmed process unless a file must start fresh."""
    if requested == "fresh":
        return False, "--worker-start fresh"
    if config.start_method == "spawn":
        return False, "--start-method spawn"
    if config.plugins:
        return False, f"device plug-in {', '.join(config.plugins)} initialises in each file's own process"
    if not hasattr(os, "fork"):
        return False, "this platform has no fork"
    return True, ""


def device_shares(parallel: int, config: _config.Config) -> list:
    """What each of ``parallel`` concurrent files gets: a slice of the selected accelerator's devices
    (through the table's visibility variable), else of the CPU cores."""
    row = _devices.lookup(config.device or "cpu")
    accelerator = row is not None and row.accelerator
    return shares(parallel, row.visible_env if accelerator else None, row.count() if accelerator else 0)


def jobs_count(value: str, config: _config.Config) -> int:
    """``-j N`` or ``-j auto``: one file per two CPU cores, or per two devices of the selected accelerator."""
    if value == "auto":
        row = _devices.lookup(config.device) if config.device else None
        if row is not None and row.accelerator:
            return max(1, row.count() // 2)
        return max(1, len(os.sched_getaffinity(0)) // 2 if hasattr(os, "sched_getaffinity") else 1)
    if not value.isdigit() or int(value) < 1:
        raise _config.UsageError(f"-j needs a positive number or 'auto', got {value!r}")
    return int(value)


def fail(message: str) -> int:
    print(f"run_test.py: error: {message}", file=sys.stderr)
    return 2


def _empty_reason(run: FileRun) -> Optional[str]:
    tests = run.tests
    if run.collected == 0 and not tests:
        return "instantiated no test (no permitted device present; try --device cpu)"
    if tests and all(r.outcome == "skipped" and r.device_skip for r in tests):
        return "every test skipped for lack of devices"
    return None


def stale_entries(entries: list, runs: list[FileRun], device: Optional[str]) -> list:
    """Entries for this device and torch that matched no collected test of the files that ran."""
    from testing._core import versions

    collected = {os.path.abspath(run.file): {r.id for r in run.tests} for run in runs}
    return _expectations.stale(entries, collected, device, versions.build())


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.timeout is not None and args.timeout <= 0:
        return fail(f"--timeout must be positive, got {args.timeout:g}")
    try:
        config = selection(args)
        _config.load_plugins(config)
        _config.validate_device(config)
        env = child_env(config)
        files = discovery.discover(args.paths, Path("test"))
        files = discovery.apply_filters(files, Path("test"), args.include, args.exclude)
        if args.shard:
            files = discovery.shard(files, args.shard[0], args.shard[1], cache.durations())
        entries = expectation_files.load_all(args.expectations or [])
        jobs_count(args.jobs, config)
    except (_config.UsageError, discovery.DiscoveryError, _expectations.ExpectationError) as exc:
        return fail(str(exc))
    rerun: dict[str, list[str]] = {}
    if args.rerun_failed:
        rerun = cache.last_failed()
        files = [f for f in files if os.path.relpath(f) in rerun]
        if not files:
            return fail("--rerun-failed: nothing failed in the last run")
    if not files:
        return fail("no test file selected")
    module_names = discovery.report_names(files, args.paths or ["test"])

    signals.interrupt_on_sigterm()  # SIGTERM unwinds like Ctrl-C: workers are stopped, counts printed
    reporter = TerminalReporter(verbose=args.verbose)
    runs: list[FileRun] = []
    empty: list[tuple[str, str]] = []
    started = time.monotonic()
    stopped_early = False
    removed = tempfiles.sweep_orphans()
    if removed and args.verbose:  # housekeeping, often of another user's run: news only under -v
        reporter.write(tempfiles.sweep_note(removed))
    warm, why_fresh = start_mode(config, args.worker_start)
    if warm:
        prewarm()
        warm, why_fresh = fork_is_safe()  # nothing it imported started a thread or a device runtime
    if why_fresh and not args.list:
        reporter.write(f"starting each file in a fresh interpreter: {why_fresh}")
    if config.map_cuda and not args.list:
        reporter.write(cuda_mapping.announcement(config))
    parallel = jobs_count(args.jobs, config)
    slots = device_shares(parallel, config)

    def on_report(report: TestReport) -> None:
        if args.rerun_failed and report.outcome == "passed":
            report.outcome, report.message = "flaky", "failed last run, passed on rerun"
        if report.outcome == "xpass" and report.expectation:
            if report.expectation == "xfail":  # not strict: reported, not failed
                report.outcome = "unexpected-pass"
                report.message = f"unexpected pass of an xfail expectation: {report.expectation_reason}"
            else:
                report.message = f"unexpected pass of a strict-xfail expectation: {report.expectation_reason}"
        reporter.report(report)

    def job(file: Path) -> FileJob:
        args_for = worker_args(file, args.patterns, rerun.get(os.path.relpath(file), []), args.list, args.expectations)
        output = (lambda text, f=os.path.relpath(file): reporter.output(f, text)) if args.verbose else None
        return FileJob(file, args_for, env, warm, args.file_timeout, on_report, reporter.control, output)

    order = {f: i for i, f in enumerate(files, 1)}

    def on_start(job: FileJob) -> None:
        if not args.list:
            reporter.start_file(os.path.relpath(job.file), order[job.file], len(files), job.share)

    def on_finish(run: FileRun) -> bool:
        nonlocal stopped_early
        if args.list:
            return False
        reporter.file_log(run)
        if any(r.is_failure for r in run.reports) and not args.continue_through_error and len(runs_done) + 1 < len(files):
            reporter.write(f"stopping after the first failing file ({run.file}); pass --continue-through-error to run the rest")
            stopped_early = True
        runs_done.append(run)
        return stopped_early

    runs_done: list[FileRun] = []
    try:
        runs = run_jobs([job(f) for f in files], parallel, slots, on_start, on_finish)
        if parallel > 1 and slots[0][0] and not stopped_early:
            # a file that lacked devices on its share runs again alone, on all of them
            alone = [i for i, run in enumerate(runs) if any(r.device_skip for r in run.tests)]
            for i in alone:
                reporter.write(f"rerunning {runs[i].file} alone: it needs more devices than its share")
                runs[i] = run_jobs([job(runs[i].path)], 1, [({}, None, "")], on_start, lambda run: False)[0]
    except KeyboardInterrupt:
        reporter.write(reporter.interrupted_text())
        return 130
    for run in runs:
        why = _empty_reason(run)
        if why and not args.patterns:
            empty.append((run.file, why))
    if args.list:
        for file, why in empty:
            reporter.write(f"EMPTY: {file}: {why}")
        if args.patterns and not any(run.listed for run in runs):
            print(f"run_test.py: error: no test matches -k {' -k '.join(args.patterns)}", file=sys.stderr)
            return 1
        return 1 if any(r.is_failure for run in runs for r in run.tests) else 0

    wall = time.monotonic() - started
    stale = [] if (args.patterns or args.shard or args.rerun_failed or stopped_early) else stale_entries(entries, runs, config.device)
    summary(reporter, runs, empty, wall, stale)
    failures.write_failures(reporter.write, [r for run in runs for r in run.tests if r.is_failure], args.tb, config)
    warnings_section(reporter, runs)
    totals = tally([r for run in runs for r in run.tests])
    closing_line(reporter, totals)
    if args.xml:
        write_junit(Path(args.xml), runs, module_names, cuda_mapping.junit_properties(config))
    save_cache(runs)
    return exit_status(args, totals, empty, stopped_early, len(marks.zero_rank_tests(runs)))


def write_junit(directory: Path, runs: list[FileRun], module_names: dict[Path, str], suite_properties: Optional[dict] = None) -> None:
    for run in runs:
        properties = {r.id: {"expectation": r.expectation, "expectation_reason": r.expectation_reason,
                             "expectation_link": r.expectation_link, "expectation_source": r.expectation_source,
                             "zero_ranks": f"world size 0 from {r.zero_ranks}" if r.zero_ranks else ""}
                      for r in run.tests if r.expectation or r.zero_ranks}
        suite = {**(suite_properties or {}), **({"unsupported_upstream_api": run.unsupported} if run.unsupported else {})}
        junit.write(directory, module_names[run.path], run.tests, run.wall, properties, suite)


def save_cache(runs: list[FileRun]) -> None:
    """Durations (for --shard) and what failed (for --rerun-failed)."""
    cache.save_durations({os.path.relpath(run.path): run.wall for run in runs})
    failed = {run.file: [r.id for r in run.tests if r.is_failure and not r.id.startswith("<")] for run in runs}
    cache.save_last_failed({k: v for k, v in failed.items() if v})


def exit_status(args: argparse.Namespace, totals: dict[str, int], empty: list, stopped_early: bool,
                zero_rank: int = 0) -> int:
    """0 only when something ran and nothing failed; each other case says why in one line."""
    ran = sum(totals.values()) - totals["device_skips"] - totals["flaky"]
    if args.patterns and ran == 0:
        print(f"run_test.py: error: no test matches -k {' -k '.join(args.patterns)}", file=sys.stderr)
        return 1
    if totals["failed"] or totals["errors"]:
        return 1
    if args.fail_on_empty and empty:
        print(f"run_test.py: error: {len(empty)} file(s) ran no test: {', '.join(f for f, _ in empty)}", file=sys.stderr)
        return 1
    if args.fail_on_empty and zero_rank:
        print(f"run_test.py: error: {zero_rank} test(s) ran on 0 ranks (see the summary)", file=sys.stderr)
        return 1
    if ran == 0:
        print("run_test.py: error: no test ran", file=sys.stderr)
        return 1
    return 0 if not stopped_early else 1
