"""What a run prints (fixtures/output_sample.py, 2 CPU ranks): each distinct warning once in a
warnings summary with its count, ranks and tests; one repro line that, run, reruns the failed test
on the same device; interrupt counts that include the running file; bad world sizes refused at once.
"""

import os
import shlex
import signal
import subprocess
import sys
import time
import unittest
from pathlib import Path
import uuid
import warnings

import pytest

from helpers import FIXTURES, ROOT, as_from_a_terminal, clean_env, processes_with_env, run_module

SAMPLE = FIXTURES / "output_sample.py"
WARNING_LINE = "output_sample.py:22: UserWarning: wombat warning from every rank"
COUNT_LINE = "  2 times, ranks 0-1, in TestOutput.test_a_warns"


def run(argv, cwd):
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=cwd, env=clean_env())


def as_argv(command):
    """A printed ``python3 ...`` command (the interpreter's own name), run with this interpreter."""
    argv = shlex.split(command)
    assert argv[0] == os.path.basename(sys.executable), command
    return [sys.executable, *argv[1:]]


def summary_entry(text):
    """The warnings summary's lines about the sample's warning, and every line naming it."""
    lines = text.splitlines()
    naming = [i for i, line in enumerate(lines) if "wombat warning from every rank" in line]
    return lines, naming


@pytest.fixture(scope="module")
def direct():
    return run_module(SAMPLE, "--device", "cpu", "TestOutput.test_a_warns", "TestOutput.test_b_fails", timeout=300)


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("output")
    proc = run([sys.executable, str(ROOT / "run_test.py"), "--device", "cpu", str(SAMPLE), "-k", "test_a_warns",
                "-k", "test_b_fails"], cwd)
    return proc, cwd


def test_a_direct_run_reports_a_rank_warning_once_with_its_count(direct):
    assert direct.returncode == 1, direct.stderr[-3000:]
    lines, naming = summary_entry(direct.stderr)
    assert len(naming) == 1 and lines[naming[0]].endswith(WARNING_LINE), direct.stderr[-3000:]
    assert lines[naming[0] + 1] == COUNT_LINE
    assert "warnings summary" in lines[naming[0] - 1]
    ran = next(i for i, line in enumerate(lines) if line.startswith("Ran 2 tests"))
    assert naming[0] < ran  # after the failures, before unittest's closing lines


def test_the_runner_reports_a_rank_warning_once_after_the_results(runner):
    proc, _ = runner
    lines, naming = summary_entry(proc.stdout)
    assert len(naming) == 1 and lines[naming[0]].endswith(WARNING_LINE), proc.stdout[-3000:]
    assert lines[naming[0] + 1] == COUNT_LINE
    assert lines[-1] == "1 passed, 1 failed, 0 skipped"


def test_the_direct_runs_repro_line_reruns_the_test_on_the_same_device(direct):
    lines = direct.stderr.splitlines()
    hints = [i for i, line in enumerate(lines) if line.startswith("To execute this test, run the following")]
    assert len(hints) == 1, direct.stderr[-3000:]  # from the failing rank only; no second, different line
    command = lines[hints[0] + 1].strip()
    assert command == f"{os.path.basename(sys.executable)} tests/fixtures/output_sample.py --device cpu TestOutput.test_b_fails"
    again = run(as_argv(command), ROOT)
    assert "Ran 1 test" in again.stderr and "ValueError: quokka on device cpu" in again.stderr, again.stderr[-3000:]
    assert command in again.stderr


def test_the_runner_prints_one_repro_line_its_own(runner):
    """Workers leave the repro line to the runner's ``rerun:`` (the same function builds both; the
    direct run's line is the one run again above, the runner's command is checked in-process below)."""
    proc, _ = runner
    reruns = [line for line in proc.stdout.splitlines() if line.startswith("rerun: ")]
    assert len(reruns) == 1 and "To execute this test" not in proc.stdout, proc.stdout[-3000:]
    assert reruns[0] == f"rerun: {os.path.basename(sys.executable)} {shlex.quote(str(ROOT / 'run_test.py'))} --device cpu {SAMPLE} -k TestOutput.test_b_fails"


def test_print_repro_switch_turns_the_repro_line_off():
    """Upstream's PYTORCH_PRINT_REPRO_ON_FAILURE=0: no hint in a direct run, no rerun: line in the runner's."""
    from testing._core.case import TestCase
    from testing._core.config import Config, reset_config
    from testing._runner.failures import write_failures
    from testing._runner.result import TestReport

    class Failing(TestCase):
        def test_fails(self):
            raise ValueError("numbat")

    for print_repro in (True, False):
        try:
            reset_config(Config(device="cpu", print_repro=print_repro))
            result = unittest.TestResult()
            Failing("test_fails").run(result)
            lines: list[str] = []
            write_failures(lines.append, [TestReport("Failing.test_fails", "failed", file="t.py")], "short",
                           Config(device="cpu", print_repro=print_repro, runner="python run_test.py"))
        finally:
            reset_config(None)
        hint = "--device cpu Failing.test_fails" in result.errors[0][1]
        assert hint == print_repro and ("rerun: python run_test.py --device cpu t.py -k Failing.test_fails" in lines) == print_repro


def test_interrupting_the_runner_counts_the_running_files_finished_tests(tmp_path):
    marker = uuid.uuid4().hex
    proc = subprocess.Popen([sys.executable, str(ROOT / "run_test.py"), "--device", "cpu", str(SAMPLE), "-k", "test_a_warns",
                             "-k", "test_c_hangs"], env=clean_env(TMPDIR=str(tmp_path), TESTING_FAULT_MARK=marker),
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=as_from_a_terminal)
    out = []
    try:
        for line in proc.stdout:  # the file's first test has passed and its second one has started
            out.append(line)
            if line.startswith("PASSED") and "test_a_warns" in line:
                break
        deadline = time.monotonic() + 60
        while len(processes_with_env(marker)) < 4 and time.monotonic() < deadline:  # runner, worker, zygote, rank 1
            time.sleep(0.2)
        time.sleep(2)  # the first test's ranks may still be exiting: let the hanging test's start be recorded
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    text = "".join(out) + rest
    assert proc.returncode == 130, text
    assert text.rstrip().splitlines()[-1].startswith("interrupted: 1 passed, 0 failed, 0 skipped so far; "), text
    assert text.rstrip().endswith("TestOutput.test_c_hangs was running")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("testing-")] == []


def test_a_world_size_no_machine_starts_is_one_line_and_exit_2_at_once(capsys, monkeypatch):
    import resource

    from testing._runner.cli import main

    monkeypatch.setattr(resource, "getrlimit", lambda which: (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    assert main(["--device", "cpu", "--world-size", "100000", "-k", "raises"]) == 2
    err = capsys.readouterr().err
    assert err == ("run_test.py: error: --world-size (TESTING_WORLD_SIZE) 100000 is too many ranks: "
                   "the cap is 1024 (TESTING_MAX_WORLD_SIZE changes it)\n")


def test_the_world_size_cap_follows_its_variable_and_the_process_limit(monkeypatch):
    import resource

    from testing._core.config import UsageError, from_environment

    assert from_environment({"TESTING_WORLD_SIZE": "8", "TESTING_MAX_WORLD_SIZE": "8"}).world_size == 8
    with pytest.raises(UsageError, match=r"9 is too many ranks: the cap is 8 \(set by TESTING_MAX_WORLD_SIZE\)"):
        from_environment({"TESTING_WORLD_SIZE": "9", "TESTING_MAX_WORLD_SIZE": "8"})
    with pytest.raises(UsageError, match="TESTING_MAX_WORLD_SIZE must be a positive integer"):
        from_environment({"TESTING_MAX_WORLD_SIZE": "0"})
    monkeypatch.setattr(resource, "getrlimit", lambda which: (50, 50))
    with pytest.raises(UsageError, match=r"100 is too many ranks: the process limit \(ulimit -u\) is 50"):
        from_environment({"TESTING_WORLD_SIZE": "100"})


# -- in-process: the collector keeps the warnings machinery's decisions ---------------------------
@pytest.fixture
def collector():
    from testing._core import warnings_log

    warnings_log.collect()
    try:
        yield warnings_log
    finally:
        warnings_log.stop_collecting()


def test_filters_keep_their_meaning_only_the_showing_changes(collector, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.warn("ignored numbat")
    assert collector.take() == []  # a filter that ignores a warning still ignores it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning):  # -W error still errors
            warnings.warn("raised numbat")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        for _ in range(3):
            warnings.warn("counted numbat")
    (record,) = collector.take()
    assert (record.message, record.count, record.ranks) == ("counted numbat", 3, [-1])
    assert capsys.readouterr().err == ""  # collected, not printed


def test_streaming_prints_each_warning_as_it_happens_and_still_collects(monkeypatch):
    from testing._core import warnings_log

    shown = []
    monkeypatch.setattr(warnings_log, "_original_showwarning", lambda message, *args: shown.append(str(message)))
    warnings_log.collect(stream=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("streamed numbat")
        assert [r.message for r in warnings_log.take()] == ["streamed numbat"]
    finally:
        warnings_log.stop_collecting()
    assert shown == ["streamed numbat"]


def test_rank_warnings_go_to_pytests_warnings_when_nothing_here_collects():
    from testing._core import warnings_log

    record = warnings_log.WarningRecord("UserWarning", "rank numbat", "x.py", 3, count=2, ranks=[0, 1])
    with pytest.warns(UserWarning, match="rank numbat") as caught:
        warnings_log.from_ranks([record], "C.test")
    assert len(caught) == 2


def test_summary_names_count_ranks_and_tests():
    from testing._core.warnings_log import WarningRecord
    from testing._runner.warnings_summary import summary_lines

    import torch

    site = os.path.dirname(os.path.dirname(torch.__file__))  # this install's folder, shortened in the summary
    records = [WarningRecord("UserWarning", "m", f"{site}/torch/a.py", 7, 2, [0, 1], ["C.t1"]),
               WarningRecord("UserWarning", "m", f"{site}/torch/a.py", 7, 3, [2, 3, -1], ["C.t2"]),
               WarningRecord("FutureWarning", "f", f"{site}/torch/b.py", 1, 1, [2], [])]
    assert summary_lines(records)[1:] == [
        "=" * 30 + " warnings summary " + "=" * 30,
        "torch/a.py:7: UserWarning: m",
        "  5 times, the test process and ranks 0-3, in 2 tests, first C.t1",
        "torch/b.py:1: FutureWarning: f",
        "  1 time, rank 2, outside any test",
        "6 warnings, 2 distinct; -v prints each as it happens",
    ]


def test_an_interrupted_processes_rank_directories_are_removed_at_shutdown(tmp_path, monkeypatch):
    """The backstop for an interrupt between setUp and the test body, where no finally runs."""
    import tempfile

    from testing._core import tempfiles
    from testing._ranks import engine

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    kept = tempfiles.make("run")
    tempfiles.make("ranks")
    engine.shutdown()
    assert [p.name for p in tmp_path.iterdir()] == [kept.rsplit("/", 1)[1]]
    tempfiles.remove(kept)


def test_save_xml_leaves_the_warnings_to_the_summary(monkeypatch):
    """Upstream saves XML by default when CI is set; its recorder must not take the warnings the
    direct run's warnings summary prints (seen: CI=true lost the summary)."""
    import io

    from testing._core import warnings_log
    from testing._runner import module_xml

    class Sample(unittest.TestCase):
        def test_ok(self):
            pass

    monkeypatch.setattr(warnings_log, "_pending", {})
    warnings_log.add(warnings_log.WarningRecord("UserWarning", "w", "x.py", 1, 1, [0], []))
    runner = module_xml.saving_runner(Path("unused"), "__main__")
    result = runner.resultclass(unittest.runner._WritelnDecorator(io.StringIO()), True, 1)
    test = Sample("test_ok")
    result.startTest(test)
    result.addSuccess(test)
    result.stopTest(test)
    assert [r.message for r in warnings_log.peek()] == ["w"]
