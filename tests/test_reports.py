"""Failure reports lead with the root cause (fixtures/root_cause_sample.py, 4 CPU ranks): the
headline names the rank at fault and its own exception in the progress line, the summary, JUnit,
pytest and a direct run; the failures section shows its traceback; a killed or interrupted runner
leaves nothing behind."""

import os
import signal
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET

import pytest

from helpers import FIXTURES, ROOT, as_from_a_terminal, clean_env, processes_with_env, reports

SAMPLE = FIXTURES / "root_cause_sample.py"
HEADLINES = {
    "test_assert_after_collective": "rank 2: AssertionError: Tensor-likes are not close!",
    "test_raise_before_collective": "rank 2: ValueError: wombat before all_reduce",
    "test_hang_in_python": "timed out after 10 s (--timeout); rank 1 at root_cause_sample.py:35 in test_hang_in_python; "
                           "ranks 0,2,3 in all_reduce",
    "test_segfault": "rank 3: killed by SIGSEGV",
    "test_early_exit": "rank 1: exited early with status 0",
}


def runner(cwd, *args, timeout=600, **env):
    return subprocess.run([sys.executable, str(ROOT / "run_test.py"), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, env=clean_env(**env))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rootcause")
    proc = runner(tmp, "--device", "cpu", SAMPLE, "--timeout", "10", "--xml", tmp / "xml")
    return proc, tmp


def test_headline_names_the_rank_at_fault_everywhere(run):
    proc, tmp = run
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    for test, headline in HEADLINES.items():
        progress = [line for line in lines if f"TestRootCause.{test} (" in line and line.startswith(("ERROR", "FAILED"))]
        assert progress and progress[0].endswith("  " + headline), (test, progress)
        summary = [line for line in lines if line.strip().endswith(f"::TestRootCause.{test} - {headline}")]
        assert summary, (test, proc.stdout[-3000:])
    (xml,) = (tmp / "xml").iterdir()
    cases = {case.get("name"): case for case in ET.parse(xml).getroot().iter("testcase")}
    for test, headline in HEADLINES.items():
        result = cases[test].find("error")
        result = result if result is not None else cases[test].find("failure")
        assert result.get("message") == headline
        assert result.text.startswith(headline) and "Process " in result.text  # upstream's text below it
    assert "Connection closed by peer" not in "".join(HEADLINES.values())


def test_failures_section_shows_the_root_cause_traceback_and_a_rerun_command(run):
    proc, _ = run
    section = proc.stdout.split("=" * 30 + " failures " + "=" * 30, 1)[1]
    block = section.split("::TestRootCause.test_raise_before_collective _____\n", 1)[1].split("\n_____ ", 1)[0]
    assert 'root_cause_sample.py", line' in block and 'raise ValueError("wombat before all_reduce")' in block
    assert "testing/_ranks/multiprocess.py" not in block  # harness frames trimmed (--tb=short)
    assert "rank 0 (knock-on): RuntimeError:" in block
    assert f"rerun: {os.path.basename(sys.executable)} " in block and "-k TestRootCause.test_raise_before_collective" in block
    assert proc.stdout.rstrip().splitlines()[-1] == "1 passed, 5 failed, 0 skipped"


def test_the_other_ranks_are_echoes_stopped_before_tear_down():
    result = reports(SAMPLE, "-k", "raise_before", "-k", "assert_after", TESTING_DEVICE="cpu")
    for report in result.values():
        root = [r for r in report["ranks"] if r["root_cause"]]
        assert [r["rank"] for r in root] == [2]
        for rank in report["ranks"]:
            if not rank["root_cause"]:
                assert rank["status"] in ("knock-on", "stopped"), rank
                assert "destroy_pg" not in rank["traceback"]  # not left to fail in with_comms' tear-down
                assert rank["failed_at"] is not None


@pytest.mark.parametrize("style", ["short", "long", "line", "no"])
def test_tb_styles(tmp_path, style):
    proc = runner(tmp_path, "--device", "cpu", SAMPLE, "-k", "raise_before", "--tb", style)
    assert proc.returncode == 1
    out = proc.stdout
    if style == "no":
        assert " failures " not in out
        return
    section = out.split(" failures ", 1)[1]
    if style == "line":
        assert section.splitlines()[1].endswith("TestRootCause.test_raise_before_collective: " + HEADLINES["test_raise_before_collective"])
        assert "Traceback" not in section
    else:
        assert ("testing/_ranks/multiprocess.py" in section) == (style == "long")
        assert 'raise ValueError("wombat before all_reduce")' in section


def test_pytest_and_a_direct_run_show_the_same_headline(tmp_path):
    pytest_run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(SAMPLE), "-k", "raise_before or segfault"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=clean_env(TESTING_DEVICE="cpu"))
    lines = pytest_run.stdout.splitlines()  # pytest's report leads with the headline (the plugin)
    assert HEADLINES["test_raise_before_collective"] in lines and HEADLINES["test_segfault"] in lines, pytest_run.stdout
    direct = subprocess.run([sys.executable, str(SAMPLE), "--device", "cpu", "TestRootCause.test_raise_before_collective"],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path, env=clean_env())
    assert "RuntimeError: " + HEADLINES["test_raise_before_collective"] in direct.stderr


def test_a_worker_that_dies_silently_is_an_error_entry(tmp_path):
    proc = runner(tmp_path, "--device", "cpu", FIXTURES / "silent", FIXTURES / "suite" / "test_beta.py",
                  "--continue-through-error")
    assert proc.returncode == 1
    assert "without its final record" in proc.stdout
    assert proc.stdout.rstrip().splitlines()[-1].startswith("1 passed, 1 failed")


def _wait_for(marker, count, limit=120):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and len(processes_with_env(marker)) < count:
        time.sleep(0.2)
    return len(processes_with_env(marker))


def test_kill_9_of_the_runner_takes_every_process_with_it_and_a_later_run_cleans_up(tmp_path):
    marker = uuid.uuid4().hex
    env = clean_env(TMPDIR=str(tmp_path), TESTING_FAULT_MARK=marker)
    proc = subprocess.Popen([sys.executable, str(ROOT / "run_test.py"), str(FIXTURES / "faults_sample.py"),
                             "-k", "hang_python"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    assert _wait_for(marker, 4) >= 4  # runner, worker, zygote, the hung rank 1
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    time.sleep(4)
    assert processes_with_env(marker) == []
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith("testing-")]
    later = subprocess.run([sys.executable, str(ROOT / "run_test.py"), "--device", "cpu", str(FIXTURES / "suite" / "test_beta.py")],
                           capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert later.returncode == 0
    assert "temp director" not in later.stdout  # the sweep is news only under -v (tests/test_runner.py)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("testing-")] == []


def test_stopping_a_file_takes_what_its_worker_already_reported():
    """An interrupt can land before the runner's last poll has read the worker's "started" record
    (seen on a loaded machine): stopping the file reads it first, so the interrupt line still names
    the test that was running."""
    from testing._runner.execute import FileJob, worker_args

    marker = uuid.uuid4().hex
    controls = []
    job = FileJob(FIXTURES / "faults_sample.py", worker_args(FIXTURES / "faults_sample.py", ["hang_python"], [], False, None),
                  clean_env(TESTING_FAULT_MARK=marker), False, 300, lambda report: None, controls.append)
    job.start()
    try:
        deadline = time.monotonic() + 120
        while '"started"' not in job.report_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert controls == []  # nothing polled yet: the record is only in the worker's report file
    finally:
        job.stop()
    assert [c.id.split(".")[-1] for c in controls if c.control == "started"] == ["test_hang_python"], controls
    assert job.proc.poll() is not None and not job.tmp.exists()
    time.sleep(1)
    assert processes_with_env(marker) == []


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_interrupting_the_runner_prints_counts_and_leaves_nothing(tmp_path, how):
    marker = uuid.uuid4().hex
    env = clean_env(TMPDIR=str(tmp_path), TESTING_FAULT_MARK=marker)
    proc = subprocess.Popen([sys.executable, str(ROOT / "run_test.py"), str(FIXTURES / "faults_sample.py"),
                             "-k", "hang_python"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            preexec_fn=as_from_a_terminal,
                            stderr=subprocess.STDOUT, text=True)
    assert _wait_for(marker, 4) >= 4
    proc.send_signal(getattr(signal, how))
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130, out
    assert "interrupted: 0 passed, 0 failed, 0 skipped so far; " in out and "TestFaults.test_hang_python was running" in out
    time.sleep(1)
    assert processes_with_env(marker) == []
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("testing-")] == []
