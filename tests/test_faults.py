"""Every fault a rank can have ends as a prompt, clear failure with that rank's evidence, and
leaves no process and no temp file behind (fixtures/faults_sample.py, 2 ranks, 5 s timeout)."""

import signal
import subprocess
import sys
import time
import uuid

import pytest

from helpers import FIXTURES, ROOT, as_from_a_terminal, clean_env, processes_with_env, reports

FAULTS = FIXTURES / "faults_sample.py"


def leftovers(tmp):
    """Temp entries a run left, except torch's own compile cache (created by ``import torch._dynamo``
    in any process, reused across runs, not per test)."""
    return sorted(p.name for p in tmp.iterdir() if not p.name.startswith("torchinductor_"))
ID = "TestFaults.test_"


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("faults-tmp")
    marker = f"TESTING_FAULT_MARK={uuid.uuid4().hex}"
    started = time.monotonic()
    result = reports(FAULTS, timeout=300, TMPDIR=str(tmp), DISTRIBUTED_TESTS_DEFAULT_TIMEOUT="5",
                     TESTING_FAULT_MARK=marker.split("=")[1])
    wall = time.monotonic() - started
    time.sleep(0.5)
    return result, wall, tmp, marker


def test_rank_exception_is_reported_at_once_with_its_traceback(fault_run):
    result, *_ = fault_run
    report = result[ID + "raise"]
    assert report["outcome"] == "error"
    assert "Process 1 exited with error code 10 and exception" in report["details"]
    assert "ValueError: boom on rank one" in report["details"]
    assert report["message"] == "rank 1: ValueError: boom on rank one"  # the headline names the rank at fault
    rank0, rank1 = report["ranks"]
    assert (rank1["status"], rank1["exc_type"], rank1["root_cause"]) == ("failed", "ValueError", True)
    assert rank0["status"] == "stopped" and rank0["where"].startswith("at faults_sample.py:") and "test_raise" in rank0["where"]
    assert "Rank 0 (pid" in report["details"] and "stopped by the harness at faults_sample.py" in report["details"]
    assert report["duration"] < 4.5  # rank 0 sleeps 60 s; it is stopped long before the 5 s timeout


@pytest.mark.parametrize("name, frame", [("hang_python", "time.sleep"), ("hang_collective", "barrier")])
def test_hang_fails_at_timeout_with_every_live_rank_stack(fault_run, name, frame):
    result, *_ = fault_run
    report = result[ID + name]
    assert report["outcome"] == "error"
    details = report["details"]
    assert "Timed out after 5 s (timeout from DISTRIBUTED_TESTS_DEFAULT_TIMEOUT)" in details
    assert "still running at the timeout" in details
    assert "thread 0x" in details.lower() and "faults_sample.py" in details  # faulthandler dump, per thread
    assert report["message"].startswith("timed out after 5 s (DISTRIBUTED_TESTS_DEFAULT_TIMEOUT); rank 1 at faults_sample.py:")
    if name == "hang_collective":
        assert report["message"].endswith("; rank 0 in barrier")  # the rank waiting in a collective is named apart
        assert "Rank 0 (pid" in details and "in barrier" in details
    assert 5 <= report["duration"] < 15


@pytest.mark.parametrize(
    "name, rank, signal_name",
    [("segfault", 1, "SIGSEGV"), ("sigkill", 0, "SIGKILL"), ("abort", 1, "SIGABRT")],
)
def test_rank_killed_by_signal_names_rank_and_signal(fault_run, name, rank, signal_name):
    result, *_ = fault_run
    report = result[ID + name]
    assert report["outcome"] == "failed"
    assert report["message"] == f"rank {rank}: killed by {signal_name}"
    assert f"Rank {rank} (pid" in report["details"] and f"killed by {signal_name}" in report["details"]
    if signal_name != "SIGKILL":
        assert "Fatal Python error" in report["details"]  # the crashing rank's own stack
    assert report["duration"] < 4.5


def test_early_exit_with_status_zero_is_a_failure(fault_run):
    result, *_ = fault_run
    report = result[ID + "early_exit"]
    assert report["outcome"] == "failed"
    assert report["message"] == "rank 1: exited early with status 0"
    assert "Rank 1 (pid" in report["details"] and "exited-early" in report["details"]


def test_skips_keep_the_ranks_reason_and_disagreement_fails(fault_run):
    result, *_ = fault_run
    assert (result[ID + "all_skip"]["outcome"], result[ID + "all_skip"]["message"]) == ("skipped", "my own skip reason")
    disagree = result[ID + "disagree"]
    assert disagree["outcome"] == "failed"
    assert "Ranks disagree: rank 0 skipped (only rank zero skips); rank 1 pass" in disagree["message"]


def test_next_test_runs_normally_and_nothing_is_left(fault_run):
    result, wall, tmp, marker = fault_run
    assert result[ID + "zz_after_faults"]["outcome"] == "passed"
    assert processes_with_env(marker) == []
    assert leftovers(tmp) == []


@pytest.mark.parametrize("how,door", [("SIGTERM", []), ("SIGINT", ["-m", "testing"])])
def test_interrupting_a_module_leaves_nothing_behind(tmp_path, how, door):
    """A module run directly, or through ``python -m testing``, ends on an interrupt with one line, 130."""
    marker = uuid.uuid4().hex
    env = clean_env(TMPDIR=str(tmp_path), TESTING_FAULT_MARK=marker)
    proc = subprocess.Popen([sys.executable, *door, str(FAULTS), "TestFaults.test_hang_python"], env=env, cwd=ROOT,
                            preexec_fn=as_from_a_terminal,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(processes_with_env(marker)) < 3:  # test, zygote, hung rank 1
        time.sleep(0.2)
    assert len(processes_with_env(marker)) >= 3
    sent = time.monotonic()
    proc.send_signal(getattr(signal, how))
    out, _ = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 5
    assert proc.returncode == 130 and "Traceback" not in out, out
    assert out.strip().splitlines() == [
        "testing: interrupted: 0 passed, 0 failed, 0 skipped so far; TestFaults.test_hang_python was running"]
    time.sleep(0.5)
    assert processes_with_env(marker) == []
    assert leftovers(tmp_path) == []


def test_ranks_listen_on_loopback_only():
    """Gloo binds the loopback interface; the fixture asserts on the rank's own LISTEN sockets."""
    result = reports(FIXTURES / "loopback_sample.py")
    assert result["TestLoopbackCPU.test_ranks_listen_on_loopback_only_cpu"]["outcome"] == "passed"


def test_timeout_sources_are_named():
    from testing._core.config import Config, reset_config
    from testing._ranks.multiprocess import TIMEOUT_OVERRIDE, timeout_and_source

    try:
        reset_config(Config(timeout=42.0, timeout_source="DISTRIBUTED_TESTS_DEFAULT_TIMEOUT"))
        assert timeout_and_source("m.C.test_x") == (42.0, "DISTRIBUTED_TESTS_DEFAULT_TIMEOUT")
        # upstream matches overrides by bare method name, so suffixed names do not match
        assert timeout_and_source("m.C.test_ddp_uneven_inputs") == (400.0, "TIMEOUT_OVERRIDE['test_ddp_uneven_inputs']")
        assert timeout_and_source("m.C.test_ddp_uneven_inputs_cpu")[0] == 42.0
        assert TIMEOUT_OVERRIDE["test_DistributedDataParallel"] == 500
    finally:
        reset_config(None)
