"""run_test.py: each flag and each error, on the small suite in fixtures/suite."""

import os
import subprocess
import sys
import time

import junitparser
import pytest

from helpers import FIXTURES, ROOT, clean_env

SUITE = FIXTURES / "suite"


def runner(tmp_path, *args, timeout=300, **env):
    return subprocess.run(
        [sys.executable, str(ROOT / "run_test.py"), *args],
        capture_output=True, text=True, timeout=timeout, cwd=tmp_path, env=clean_env(**env),
    )


def orphan_dir(parent, suffix="abcd"):
    """A harness temp directory whose owning process is gone, as a run killed with -9 leaves it."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    path = parent / f"testing-ranks-{gone.pid}-{suffix}"
    path.mkdir(parents=True)
    (path / "rank-0.json").write_text("{}")
    return path


def closing_line(out):
    return [line for line in out.splitlines() if line.endswith("skipped") and " passed, " in line][-1]


def test_full_run_counts_xml_and_closing_line(tmp_path):
    proc = runner(tmp_path, str(SUITE), "--device", "cpu", "--continue-through-error", "--xml", str(tmp_path / "xml"))
    assert proc.returncode == 1, proc.stdout  # test_fail, a failing subtest and the broken file
    # alpha: pass, xfail, subtests i=0, i=1 pass; beta: all_reduce passes -> 5 passed
    # failed: test_fail, subtest i=2, broken import -> 3; skipped: test_skip, needs_eight -> 2
    assert closing_line(proc.stdout) == "5 passed, 3 failed, 2 skipped", proc.stdout
    assert "skipped for lack of devices: 1 (other skips: 1)" in proc.stdout
    assert "EMPTY: " in proc.stdout and "test_empty.py" in proc.stdout
    assert "FAILED test" not in proc.stdout  # failures are listed with their label and file
    assert "ERROR " in proc.stdout and "test_broken.py" in proc.stdout and "no_such_name" in proc.stdout
    # progress counts: a test's subtests count under it, so no file shows more done than it collected
    import re

    counts = [tuple(map(int, m.groups())) for m in re.finditer(r"\.py (\d+)/(\d+), \d+ done\]", proc.stdout)]
    assert counts and all(done <= total for done, total in counts), counts
    assert ("test_alpha.py 4/5, " in proc.stdout) and "test_alpha.py 5/5, " in proc.stdout  # subtests i=0..2 all at 4/5

    alpha = junitparser.JUnitXml.fromfile(str(tmp_path / "xml" / next(
        p.name for p in (tmp_path / "xml").iterdir() if "test_alpha" in p.name)))
    suite = next(iter(alpha))
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (7, 2, 0, 2)
    names = {case.name for case in suite}
    assert "test_subtests (i=2)" in names and "test_xfail" in names
    broken = [p for p in (tmp_path / "xml").iterdir() if "test_broken" in p.name][0]
    suite = next(iter(junitparser.JUnitXml.fromfile(str(broken))))
    assert suite.errors == 1 and "no_such_name" in next(iter(suite)).result[0].message
    case = next(iter(suite))  # named after the file, whole (its path's dots do not split it)
    assert case.classname == suite.name and case.name.startswith("<") and case.name.endswith("test_broken.py>"), case


def test_the_temp_sweep_removes_only_directories_whose_owner_is_gone(tmp_path):
    from testing._core import tempfiles

    orphans = [orphan_dir(tmp_path, f"abc{i}") for i in range(4)]
    mine = tmp_path / f"testing-run-{os.getpid()}-wxyz"
    mine.mkdir()
    (tmp_path / "testing-notes").mkdir()
    removed = tempfiles.sweep_orphans(str(tmp_path))
    assert sorted(removed) == sorted(p.name for p in orphans)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["testing-notes", mine.name]
    note = tempfiles.sweep_note(removed)
    assert note.startswith("removed 4 temp directories left by harness processes that ended without cleaning up: ")
    assert note.endswith(", ...") and note.count("testing-ranks-") == 3


def test_stops_at_first_failing_file_by_default(tmp_path):
    proc = runner(tmp_path, str(SUITE), "--device", "cpu")
    assert proc.returncode == 1
    assert "stopping after the first failing file" in proc.stdout
    assert "test_beta.py" not in proc.stdout.split("stopping")[0]


def test_list_k_include_exclude(tmp_path):
    proc = runner(tmp_path, str(SUITE), "--device", "cpu", "--list", "-x", "test_broken", "-k", "needs")
    assert proc.returncode == 0, proc.stderr
    listed = [l for l in proc.stdout.splitlines() if "::" in l]
    assert [l.split("::")[1] for l in listed] == ["TestBetaCPU.test_needs_eight_cpu"]
    proc = runner(tmp_path, str(SUITE), "--list", "-i", "*alpha*")
    assert {l.split("::")[1] for l in proc.stdout.splitlines() if "::" in l} == {
        "TestAlpha.test_fail", "TestAlpha.test_pass", "TestAlpha.test_skip", "TestAlpha.test_subtests", "TestAlpha.test_xfail"}


def test_k_matching_nothing_fails(tmp_path):
    proc = runner(tmp_path, str(SUITE / "test_alpha.py"), "-k", "zzz_nothing")
    assert proc.returncode == 1
    assert "no test matches -k zzz_nothing" in proc.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--device", "bogus"], "unknown device 'bogus'"),
        (["--device", "cuda"], "device 'cuda' is not present"),
        (["does/not/exist.py"], "path does not exist: does/not/exist.py"),
        (["--shard", "3", "2"], "--shard needs 1 <= WHICH <= TOTAL"),
        (["--world-size", "0"], "--world-size (TESTING_WORLD_SIZE) must be a positive integer, got '0'"),
        (["--timeout", "-1"], "--timeout must be positive"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(tmp_path, args, message):
    proc = runner(tmp_path, str(SUITE / "test_alpha.py"), *args) if "exist" not in message else runner(tmp_path, *args)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and message in proc.stderr


def test_fail_on_empty_and_passing_file(tmp_path):
    proc = runner(tmp_path, str(SUITE / "test_beta.py"), str(SUITE / "test_empty.py"), "--device", "cpu")
    assert proc.returncode == 0, proc.stdout
    assert closing_line(proc.stdout) == "1 passed, 0 failed, 1 skipped"
    proc = runner(tmp_path, str(SUITE / "test_beta.py"), str(SUITE / "test_empty.py"), "--device", "cpu", "--fail-on-empty")
    assert proc.returncode == 1 and "ran no test: " in proc.stderr


def test_rerun_failed_reports_flaky_and_shard(tmp_path):
    flaky = tmp_path / "test_flaky.py"
    flaky.write_text(
        "import os\nfrom testing.common_utils import TestCase\n"
        "class TestFlaky(TestCase):\n"
        "    def test_once(self):\n"
        "        marker = os.path.join(os.path.dirname(__file__), 'seen')\n"
        "        first = not os.path.exists(marker)\n"
        "        open(marker, 'w').close()\n"
        "        self.assertFalse(first, 'fails the first time only')\n"
        "    def test_ok(self):\n        pass\n"
    )
    first = runner(tmp_path, str(flaky))
    assert first.returncode == 1 and closing_line(first.stdout) == "1 passed, 1 failed, 0 skipped"
    again = runner(tmp_path, str(flaky), "--rerun-failed")
    assert again.returncode == 0, again.stdout
    assert "FLAKY" in again.stdout and "TestFlaky.test_once" in again.stdout
    assert closing_line(again.stdout) == "1 passed, 0 failed, 0 skipped"  # only the failed id reran

    ones = runner(tmp_path, str(SUITE), "--device", "cpu", "--list", "--shard", "1", "2")
    twos = runner(tmp_path, str(SUITE), "--device", "cpu", "--list", "--shard", "2", "2")
    files = lambda p: {l.split("::")[0] for l in p.stdout.splitlines() if "::" in l}  # noqa: E731
    assert files(ones) and files(twos) and not files(ones) & files(twos)


def test_pytest_collects_same_ids_and_outcomes_as_runner(tmp_path):
    env = clean_env(TESTING_DEVICE="cpu")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(SUITE / "test_beta.py"), "-v", "-p", "no:cacheprovider"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300,
    )
    assert "test_beta.py::TestBetaCPU::test_all_reduce_cpu PASSED" in proc.stdout
    assert "test_beta.py::TestBetaCPU::test_needs_eight_cpu SKIPPED" in proc.stdout
    ran = runner(tmp_path, str(SUITE / "test_beta.py"), "--device", "cpu")
    assert "PASSED   TestBetaCPU.test_all_reduce_cpu" in ran.stdout
    assert "SKIPPED(device) TestBetaCPU.test_needs_eight_cpu" in ran.stdout


def test_timeout_flag_and_file_wall_limit(tmp_path):
    faults = FIXTURES / "faults_sample.py"
    proc = runner(tmp_path, faults, "-k", "hang_python", "--timeout", "2", "--xml", tmp_path / "xml")
    assert proc.returncode == 1
    assert "  timed out after 2 s (--timeout); rank 1 at faults_sample.py:" in proc.stdout  # the headline
    xml = next((tmp_path / "xml").iterdir()).read_text()
    assert "Timed out after 2 s (timeout from --timeout)" in xml and "test_hang_python" in xml
    started = time.monotonic()
    walled = runner(tmp_path, faults, "-k", "hang_python", "--timeout", "60", "--file-timeout", "4")
    assert time.monotonic() - started < 40
    assert walled.returncode == 1 and "file exceeded its wall limit of 4 s" in walled.stdout


def test_world_size_and_backend_reach_the_ranks(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    env = clean_env(EXPECT_WORLD_SIZE="3", EXPECT_BACKEND="fake", EXPECT_DIR=str(marks))
    proc = subprocess.run([sys.executable, str(ROOT / "run_test.py"), str(FIXTURES / "world"), "--device", "cpu",
                           "--world-size", "3", "--backend", "fake"], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout
    assert sorted(p.name for p in marks.iterdir()) == ["rank0", "rank1", "rank2"]  # three ranks ran it


def test_shard_balances_by_last_durations():
    from pathlib import Path

    from testing._runner.discovery import shard

    files = [Path(f"t{i}.py") for i in range(4)]
    durations = {"t0.py": 100.0, "t1.py": 10.0, "t2.py": 10.0, "t3.py": 70.0}
    one, two = shard(files, 1, 2, durations), shard(files, 2, 2, durations)
    assert sorted(one + two) == files and not set(one) & set(two)
    assert {str(f) for f in one} == {"t0.py"} and {str(f) for f in two} == {"t1.py", "t2.py", "t3.py"}
    assert shard(files, 2, 2, None) == [Path("t1.py"), Path("t3.py")]  # no durations: round robin


def test_junit_names_read_like_upstream_module_paths_outside_the_working_directory(tmp_path):
    """Files outside the working directory, two of them with the same base name: visible, unique
    .xml files named by their module path, and classnames without '..'."""
    tree = tmp_path / "checkout"
    for sub in ("pytorch/test/distributed/tensor", "pytorch/test/distributed/fsdp", "other/a", "other/b"):
        (tree / sub).mkdir(parents=True)
    source = (SUITE / "test_beta.py").read_text()
    for sub in ("pytorch/test/distributed/tensor", "pytorch/test/distributed/fsdp", "other/a", "other/b"):
        (tree / sub / "test_beta.py").write_text(source)
    work = tmp_path / "work"
    work.mkdir()
    proc = runner(work, "../checkout/pytorch/test/distributed", "../checkout/other", "--device", "cpu",
                  "--continue-through-error", "--xml", "reports")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    files = sorted(p.name for p in (work / "reports").iterdir())
    assert files == ["a.test_beta.xml", "b.test_beta.xml", "distributed.fsdp.test_beta.xml",
                     "distributed.tensor.test_beta.xml"]
    for name in files:
        suite = next(iter(junitparser.JUnitXml.fromfile(str(work / "reports" / name))))
        assert suite.name == name[: -len(".xml")]
        assert {case.classname for case in suite} == {f"{suite.name}.TestBetaCPU"}


def test_list_gives_the_empty_hint_and_a_k_that_matches_nothing_fails(tmp_path):
    empty = runner(tmp_path, str(SUITE / "test_empty.py"), "--list")
    assert empty.returncode == 0
    assert "EMPTY: " in empty.stdout and "instantiated no test (no permitted device present; try --device cpu)" in empty.stdout
    nomatch = runner(tmp_path, str(SUITE / "test_beta.py"), "--device", "cpu", "--list", "-k", "no_such_test")
    assert nomatch.returncode == 1 and "no test matches -k no_such_test" in nomatch.stderr
    listed = runner(tmp_path, str(SUITE / "test_beta.py"), "--device", "cpu", "--list")
    assert listed.returncode == 0
    assert sorted(line.split("::")[1] for line in listed.stdout.splitlines() if "::" in line) == [
        "TestBetaCPU.test_all_reduce_cpu", "TestBetaCPU.test_needs_eight_cpu"]


def test_verbose_streams_each_files_output_as_it_runs(tmp_path):
    orphan = orphan_dir(tmp_path / "tmp")
    proc = runner(tmp_path, str(SUITE / "test_beta.py"), "--device", "cpu", "-v", TMPDIR=str(tmp_path / "tmp"))
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    # the sweep of what ended runs left is news only under -v, and says no more than it knows
    assert not orphan.exists()
    assert lines[0] == ("removed 1 temp directory left by harness processes that ended without cleaning up: "
                        f"{orphan.name}")
    notice = next(i for i, line in enumerate(lines) if "] testing: accelerator-only tests run emulated" in line)
    first_result = next(i for i, line in enumerate(lines) if line.startswith(("PASSED", "SKIPPED")))
    assert notice < first_result  # streamed while the file ran, not dumped after it
