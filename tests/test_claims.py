"""Documented claims (README and docs/) that had no test of their own, each checked so that breaking the behaviour fails it.

Fixtures: tests/fixtures/claims/ (rank_facts.py records, in every rank, how the rank was started, its
seed and its process group's backend; setUp/tearDown leave markers named after their pid).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import junitparser
import pytest

from helpers import FIXTURES, ROOT, clean_env, reports, run_module, unittest_verdicts

CLAIMS = FIXTURES / "claims"
SUITE = FIXTURES / "suite"
RANK_FACTS = CLAIMS / "rank_facts.py"
FALLBACK_NOTICE = "testing: starting ranks with spawn, since forking is unsafe: "


def runner(cwd: Path, *args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "run_test.py"), *args],
        capture_output=True, text=True, timeout=timeout, cwd=cwd, env=clean_env(**env),
    )


def closing_line(out: str) -> str:
    return [line for line in out.splitlines() if line.endswith("skipped") and " passed, " in line][-1]


# -- rank facts: start method, seed, setUp/tearDown, backend -----------------------------------------

def run_facts(tmp_path: Path, *args: str, via_runner: bool = False, **env: str):
    """Run rank_facts.py (a 2-rank DTensorTestBase test) and return (proc, facts per rank, test pid, markers)."""
    facts_dir = tmp_path / "facts"
    facts_dir.mkdir()
    if via_runner:
        proc = runner(tmp_path, str(RANK_FACTS), "--device", "cpu", *args, FACTS_DIR=str(facts_dir), **env)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0 and closing_line(proc.stdout) == "1 passed, 0 failed, 0 skipped", out
    else:
        proc = run_module(RANK_FACTS, "--device", "cpu", *args, timeout=300, FACTS_DIR=str(facts_dir), **env)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0 and "Ran 1 test" in out, out
    facts = {r: json.loads((facts_dir / f"rank{r}.json").read_text()) for r in (0, 1)}
    test_pid = int((facts_dir / "test-process").read_text())
    markers = sorted(p.name for p in facts_dir.iterdir() if p.name.startswith(("setup-", "teardown-")))
    return proc, facts, test_pid, markers


def assert_seeded_without_setup(facts: dict, test_pid: int, markers: list) -> None:
    for rank, fact in facts.items():
        assert fact["initial_seed"] == 1234, (rank, fact)
        assert fact["torch_draw_is_seed_1234"] and fact["random_is_seed_1234"] and fact["numpy_is_seed_1234"], (rank, fact)
    # setUp and tearDown ran in the test process only, never in a rank
    assert markers == [f"setup-{test_pid}", f"teardown-{test_pid}"], (markers, test_pid, facts)
    assert {fact["pid"] for fact in facts.values()}.isdisjoint({test_pid})


def test_ranks_are_seeded_1234_and_skip_setup_and_teardown_and_fork_from_the_zygote(tmp_path):
    """docs/ranks.md "How a distributed test runs": ranks run the test without setUp/tearDown, seeded with
    1234; by default they are forked from the zygote (not children of the test process, no
    multiprocessing parent)."""
    proc, facts, test_pid, markers = run_facts(tmp_path)
    assert_seeded_without_setup(facts, test_pid, markers)
    for fact in facts.values():
        assert fact["mp_parent"] is None and fact["ppid"] != test_pid, (fact, test_pid)
    assert facts[0]["ppid"] == facts[1]["ppid"]  # one zygote forks both ranks
    assert FALLBACK_NOTICE not in proc.stderr


@pytest.mark.parametrize("omp", [None, "2"])
def test_cpu_ranks_share_the_cores_unless_omp_num_threads_is_set(tmp_path, omp):
    """docs/ranks.md "How a distributed test runs": each rank runs cores // world size intra-op threads (at
    least one), as torchrun defaults OMP_NUM_THREADS; a user's OMP_NUM_THREADS is kept."""
    env = {"OMP_NUM_THREADS": omp} if omp else {}
    _, facts, _, _ = run_facts(tmp_path, **env)
    for fact in facts.values():
        # torch caps its thread count at the cores it may use
        want = min(int(omp), fact["cores"]) if omp else max(1, fact["cores"] // 2)
        assert fact["threads"] == want, fact


@pytest.mark.parametrize("how", ["module-flag", "environment", "runner-flag"])
def test_start_method_spawn_really_spawns_the_ranks(tmp_path, how):
    """docs/ranks.md: `--start-method spawn` (module flag, runner flag) or TESTING_START_METHOD=spawn is
    upstream's way: each rank is a multiprocessing spawn child of the test process."""
    if how == "module-flag":  # --map-cuda for a notice the test process says and its ranks must not repeat
        proc, facts, test_pid, markers = run_facts(tmp_path, "--start-method", "spawn", "--map-cuda")
    elif how == "environment":
        proc, facts, test_pid, markers = run_facts(tmp_path, TESTING_START_METHOD="spawn")
    else:
        proc, facts, test_pid, markers = run_facts(tmp_path, "--start-method", "spawn", via_runner=True)
        assert "starting each file in a fresh interpreter: --start-method spawn" in proc.stdout, proc.stdout
    for fact in facts.values():
        assert fact["mp_parent"] == test_pid and fact["ppid"] == test_pid, (fact, test_pid)
    assert_seeded_without_setup(facts, test_pid, markers)
    assert FALLBACK_NOTICE not in proc.stderr  # asked for, not a fallback
    said = [line for line in proc.stderr.splitlines() if line.startswith("testing: ")]
    assert len(said) == len(set(said)), proc.stderr  # spawned ranks re-import the module silently
    assert how != "module-flag" or any("are mapped to cpu" in line for line in said), proc.stderr


def test_extra_thread_falls_back_to_spawn_with_one_notice(tmp_path):
    """docs/ranks.md: if the test process runs extra threads, the harness says so in one line and uses spawn."""
    proc, facts, test_pid, markers = run_facts(tmp_path, FACTS_EXTRA_THREAD="1")
    notices = [line for line in proc.stderr.splitlines() if line.startswith(FALLBACK_NOTICE)]
    assert len(notices) == 1 and re.fullmatch(r"\d+ threads are running in this process",
                                              notices[0][len(FALLBACK_NOTICE):]), proc.stderr
    for fact in facts.values():
        assert fact["mp_parent"] == test_pid and fact["ppid"] == test_pid, (fact, test_pid)
    assert_seeded_without_setup(facts, test_pid, markers)


@pytest.mark.parametrize("args, env, expected", [
    ((), {"TESTING_DEVICE_BACKENDS": "cpu=fake"}, "fake"),              # table override
    (("--backend", "gloo"), {"TESTING_DEVICE_BACKENDS": "cpu=fake"}, "gloo"),  # --backend wins over it
    (("--backend", "fake"), {}, "fake"),                                # module flag
    ((), {"TESTING_BACKEND": "fake"}, "fake"),                          # environment
    (("runner", "--backend", "fake"), {}, "fake"),                      # runner flag
], ids=["backends-override", "backend-flag-beats-override", "module-backend-flag", "TESTING_BACKEND", "runner-backend-flag"])
def test_backend_selection_reaches_the_ranks_process_group(tmp_path, args, env, expected):
    """docs/devices.md "The device table": TESTING_DEVICE_BACKENDS overrides a device type's backend, and
    --backend / TESTING_BACKEND forces it: dist.get_backend() inside every rank says so."""
    via_runner = bool(args) and args[0] == "runner"
    _, facts, _, _ = run_facts(tmp_path, *(args[1:] if via_runner else args), via_runner=via_runner, **env)
    assert [facts[r]["backend"] for r in (0, 1)] == [expected, expected], facts


# -- upstream's device filters -----------------------------------------------------------------------

FILTERS = CLAIMS / "filters_sample.py"
PLAIN, GENERIC, CUDA_ONLY = "Plain.test_plain", "GenericCPU.test_generic_cpu", "CudaOnlyCPU.test_cuda_only_cpu"
# What torch 2.13's own harness generates on this CPU machine (common_device_type's
# get_desired_device_type_test_bases); FOR_CUSTOM is compared with the oracle at run time as well.
FILTER_CASES = [
    ({}, (), {PLAIN, GENERIC}),
    ({"PYTORCH_TESTING_DEVICE_ONLY_FOR": "cpu"}, (), {PLAIN, GENERIC}),
    ({"PYTORCH_TESTING_DEVICE_ONLY_FOR": "cuda"}, (), {PLAIN}),
    ({"PYTORCH_TESTING_DEVICE_EXCEPT_FOR": "cpu"}, (), {PLAIN}),
    ({"PYTORCH_TESTING_DEVICE_FOR_CUSTOM": "cpu"}, (), {PLAIN, GENERIC, CUDA_ONLY}),
    ({"PYTORCH_TESTING_DEVICE_EXCEPT_FOR": "cpu"}, ("--device", "cpu"), {PLAIN}),  # they apply under --device too
]


def test_upstream_device_filter_variables_shape_the_generated_classes():
    """docs/devices.md "Choosing a device": PYTORCH_TESTING_DEVICE_ONLY_FOR / _EXCEPT_FOR / _FOR_CUSTOM still
    apply, with upstream's meaning (FOR_CUSTOM re-adds a type that only_for= filtered out)."""
    def ids(env, args, upstream=False):
        return set(reports(FILTERS, *args, upstream=upstream, timeout=300, **env))

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        ours = [pool.submit(ids, env, args) for env, args, _ in FILTER_CASES]
        oracle = pool.submit(ids, {"PYTORCH_TESTING_DEVICE_FOR_CUSTOM": "cpu"}, (), True)
        got = [f.result() for f in ours]
        theirs = oracle.result()
    for (env, args, expected), found in zip(FILTER_CASES, got):
        assert found == expected, (env, args, found)
    assert theirs == {PLAIN, GENERIC, CUDA_ONLY}


# -- the testing.devices entry-point group -----------------------------------------------------------

def test_entry_point_group_adds_device_table_rows(tmp_path):
    """docs/devices.md: a package can add rows through the entry-point group `testing.devices` (an entry point
    names a DeviceType, or a callable returning one)."""
    site = tmp_path / "site"
    info = site / "claims_epdev-1.0.dist-info"
    info.mkdir(parents=True)
    (site / "claims_epdev.py").write_text(
        "from testing.devices import DeviceType\n"
        "ROW = DeviceType('claimsdev', 'claims_ccl', lambda: 0)\n"
        "def make_row():\n"
        "    return DeviceType('claimsdev2', 'gloo', lambda: 0)\n")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: claims-epdev\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[testing.devices]\nclaimsdev = claims_epdev:ROW\nclaimsdev2 = claims_epdev:make_row\n")
    env = clean_env()
    env["PYTHONPATH"] = str(site) + os.pathsep + env["PYTHONPATH"]
    code = ("from testing.devices import device_table; t = device_table(); "
            "print(sorted(t)); print(t['claimsdev'].backend, t['claimsdev2'].backend)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    names, backends = proc.stdout.splitlines()
    assert eval(names) == sorted(["cpu", "cuda", "hpu", "mps", "xpu", "claimsdev", "claimsdev2"])
    assert backends == "claims_ccl gloo"
    # the row is a device the harness knows (here: known, not present), not an unknown name
    proc = subprocess.run([sys.executable, str(SUITE / "test_alpha.py"), "--device", "claimsdev"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and "device 'claimsdev' is not present" in proc.stderr, proc.stderr
    # without the distribution on the path there is no such row
    proc = subprocess.run([sys.executable, "-c", code.split(";")[0] + "; print(sorted(device_table()))"],
                          capture_output=True, text=True, env=clean_env(), cwd=ROOT, timeout=120)
    assert "claimsdev" not in proc.stdout


# -- notices -----------------------------------------------------------------------------------------

NOTICES = CLAIMS / "notices_sample.py"
NOTHING = ("AccelOnly instantiated no tests: it allows cuda, xpu; present here: cpu; no --device given. "
           "To run accelerator-only tests on CPU ranks pass --device cpu (or TESTING_DEVICE=cpu).")
EMULATED = "accelerator-only tests run emulated on 2 CPU ranks (gloo); skip_if_lt_x_gpu counts ranks as devices"


def test_instantiated_nothing_and_emulation_notices_in_a_module_run():
    """docs/devices.md: a module that generates nothing says why in one stderr line; --device cpu says that
    accelerator-only tests run emulated on N CPU ranks."""
    nothing = run_module(NOTICES, timeout=300)
    assert nothing.returncode == 0 and "Ran 0 tests" in nothing.stderr
    assert [l for l in nothing.stderr.splitlines() if l.startswith("testing: ") and "instantiated" in l] == [
        "testing: " + NOTHING], nothing.stderr
    emulated = run_module(NOTICES, "--device", "cpu", timeout=300)
    assert emulated.returncode == 0 and "Ran 1 test" in emulated.stderr, emulated.stderr
    assert emulated.stderr.splitlines().count("testing: " + EMULATED) == 1, emulated.stderr
    assert "instantiated no tests" not in emulated.stderr and EMULATED not in nothing.stderr


def test_notices_show_in_pytests_terminal_summary_without_dash_s(tmp_path):
    """docs/runner.md: the pytest11 plugin shows the harness's notices (a "testing notices" section) even
    when pytest captures stderr."""
    shutil.copy(NOTICES, tmp_path / "test_notices_sample.py")

    def pytest_run(**env):
        return subprocess.run([sys.executable, "-m", "pytest", "test_notices_sample.py", "-q", "-p", "no:cacheprovider"],
                              capture_output=True, text=True, cwd=tmp_path, env=clean_env(**env), timeout=300)

    for env, text, outcome in (({}, NOTHING, "no tests ran"), ({"TESTING_DEVICE": "cpu"}, EMULATED, "1 passed")):
        proc = pytest_run(**env)
        section = proc.stdout.split(" testing notices ", 1)
        assert len(section) == 2, proc.stdout
        assert text in section[1].splitlines(), proc.stdout
        assert outcome in section[1], proc.stdout


# -- continuous bases --------------------------------------------------------------------------------

def test_continuous_bases_keep_running_after_a_failure_that_is_not_the_last():
    """docs/differences.md: a failure in MultiProcContinuousTest / DTensorContinuousTestBase never
    skips the rest of the class."""
    proc = run_module(CLAIMS / "continuous_sample.py", "--device", "cpu", "-v", timeout=300)
    assert unittest_verdicts(proc.stderr) == {
        "ContinuousPlain.test_a_passes": "ok",
        "ContinuousPlain.test_b_fails": "ERROR",
        "ContinuousPlain.test_c_passes_after_failure": "ok",
        "ContinuousPlain.test_d_passes_after_failure": "ok",
        "ContinuousDTensor.test_a_fails": "ERROR",
        "ContinuousDTensor.test_b_passes_after_failure": "ok",
        "ContinuousDTensor.test_c_passes_after_failure": "ok",
    }, proc.stderr
    assert "numbat on rank" in proc.stderr and "bilby" in proc.stderr
    assert "Previous test failed" not in proc.stderr
    assert "FAILED (errors=2)" in proc.stderr and proc.returncode == 1
    # every rank fails in the body: none is caught in gloo's set-up by a peer that already left
    # (the group is made with TORCH_DIST_INIT_BARRIER=1; without it CI saw "connectFullMesh failed" here)
    assert "knock-on" not in proc.stderr and "connectFullMesh" not in proc.stderr, proc.stderr


# -- with_temp_dir after a rank dies -----------------------------------------------------------------

def test_with_temp_dir_is_removed_when_a_rank_dies(tmp_path):
    """docs/ranks.md "Temp directories": with_temp_dir's directory lives in the test's work directory, removed even when a rank
    crashes (os._exit) or is killed (SIGKILL)."""
    tmpdir, facts = tmp_path / "tmp", tmp_path / "facts"
    tmpdir.mkdir()
    facts.mkdir()
    proc = run_module(CLAIMS / "tempdir_dies.py", "--device", "cpu", timeout=300, TMPDIR=str(tmpdir), FACTS_DIR=str(facts))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "FAILED (errors=2)" in out, out
    assert "rank 1: exited early with status 7" in out and "rank 0: killed by SIGKILL" in out, out
    used = {p.name: p.read_text() for p in facts.iterdir()}
    assert sorted(used) == ["test_rank_exits-rank0", "test_rank_exits-rank1",
                            "test_rank_sigkills_itself-rank0", "test_rank_sigkills_itself-rank1"], used
    for name, path in used.items():
        assert path.startswith(str(tmpdir) + os.sep), (name, path)  # made under TMPDIR, so the check below sees it
        assert not os.path.exists(path), (name, path)
    left = sorted(p.name for p in tmpdir.iterdir() if not p.name.startswith("torchinductor_"))
    assert left == [], left


# -- a module's command line: --repeat, --accept, --discover-tests -----------------------------------

CLI = CLAIMS / "cli_sample.py"


def test_module_discover_tests_lists_class_dot_test_ids():
    proc = run_module(CLI, "--discover-tests", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["CliOther.test_other", "CliSample.test_counts", "CliSample.test_expect_file"]
    assert "Ran " not in proc.stdout + proc.stderr


def test_module_repeat_runs_the_tests_n_times(tmp_path):
    counter = tmp_path / "counter"
    proc = run_module(CLI, "--repeat", "3", "CliSample.test_counts", "CliOther", timeout=120, CLI_COUNTER=str(counter))
    assert proc.returncode == 0, proc.stderr
    assert re.findall(r"^Ran (\d+) tests?", proc.stderr, re.M) == ["2", "2", "2"], proc.stderr
    assert counter.read_text() == "xxx"


def test_module_accept_writes_and_rewrites_expect_files(tmp_path):
    """upstream's --accept (expecttest.ACCEPT): assertExpected writes expect/<Class.test>.expect, and
    rewrites it when the output changed; without --accept a mismatch fails."""
    copy = tmp_path / "cli_sample.py"
    shutil.copy(CLI, copy)
    expect = tmp_path / "expect" / "CliSample.test_expect_file.expect"

    def run(*args, **env):
        return run_module(copy, "CliSample.test_expect_file", *args, timeout=120, **env)

    first = run()
    assert first.returncode == 1 and "No expect file exists" in first.stderr and not expect.exists()
    accepted = run("--accept")
    assert accepted.returncode == 0, accepted.stderr
    assert expect.read_text() == "forty-two"
    assert run().returncode == 0
    changed = run(CLI_EXPECTED_OUTPUT="wombat")
    assert changed.returncode == 1 and expect.read_text() == "forty-two"
    assert run("--accept", CLI_EXPECTED_OUTPUT="wombat").returncode == 0
    assert expect.read_text() == "wombat"


# -- the runner's -k globs and -i module prefixes ----------------------------------------------------

def listed(proc: subprocess.CompletedProcess) -> list[str]:
    return sorted(line for line in proc.stdout.splitlines() if "::" in line)


def test_runner_k_globs_and_i_module_prefixes(tmp_path):
    """docs/runner.md: -k has unittest's meaning (substring, or a glob with *); -i selects by module prefix
    as upstream does (distributed/fsdp)."""
    for rel in ("test/distributed/fsdp/test_a.py", "test/distributed/tensor/test_b.py"):
        (tmp_path / rel).parent.mkdir(parents=True)
        shutil.copy(SUITE / "test_beta.py", tmp_path / rel)
    a = "test/distributed/fsdp/test_a.py::TestBetaCPU."
    b = "test/distributed/tensor/test_b.py::TestBetaCPU."

    def run(*args):
        return runner(tmp_path, "--device", "cpu", *args)

    proc = run("--list")
    assert listed(proc) == [a + "test_all_reduce_cpu", a + "test_needs_eight_cpu",
                            b + "test_all_reduce_cpu", b + "test_needs_eight_cpu"], proc.stdout + proc.stderr
    proc = run("--list", "-i", "distributed/fsdp")
    assert listed(proc) == [a + "test_all_reduce_cpu", a + "test_needs_eight_cpu"], proc.stdout + proc.stderr
    proc = run("--list", "-k", "*all_r*uce*")  # a glob; as a substring it would match nothing
    assert listed(proc) == [a + "test_all_reduce_cpu", b + "test_all_reduce_cpu"], proc.stdout + proc.stderr
    proc = run("--list", "-k", "*raise*")
    assert proc.returncode == 1 and listed(proc) == [] and "no test matches -k *raise*" in proc.stderr
    proc = run("--list", "-k", "all_r*uce")  # with a *, a glob over the whole id (not a substring)
    assert proc.returncode == 1 and listed(proc) == [], proc.stdout
    proc = run("-i", "distributed/fsdp", "-k", "*needs*")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert closing_line(proc.stdout) == "0 passed, 0 failed, 1 skipped", proc.stdout
    assert "test_b.py" not in proc.stdout


# -- concurrent runs ---------------------------------------------------------------------------------

def test_two_concurrent_runs_of_one_module_do_not_collide(tmp_path):
    """docs/ranks.md: ranks talk over a FileStore in a per-test temp directory; concurrent runs never collide."""
    path = tmp_path / "test_concurrent.py"
    shutil.copy(SUITE / "test_beta.py", path)
    cmd = [sys.executable, str(path), "--device", "cpu", "--repeat", "3", "-k", "all_reduce"]
    env = clean_env(DISTRIBUTED_TESTS_DEFAULT_TIMEOUT="120")  # a collision fails, never hangs the suite
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
             for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0, err[-3000:]
        assert err.count("Ran 1 test") == 3 and "FAILED" not in err, err[-3000:]


# -- -j 2 against a serial run, JUnit details, shards -------------------------------------------------

PROGRESS = re.compile(r"^(PASSED|FAILED|ERROR|SKIPPED(?:\(device\))?|XFAIL|XPASS|FLAKY|[A-Z-]+)\s+(.+?) \(\d+\.\d+s\) \[(\S+?)[ \]]")


def summary_facts(out: str) -> dict:
    tests = sorted(m.groups() for m in map(PROGRESS.match, out.splitlines()) if m)
    table = out.split(" summary ", 1)[1].split("slowest tests:", 1)[0]
    rows = sorted(re.sub(r"\s+\S+s$", "", line).split() for line in table.splitlines()[1:] if line.strip().startswith(("../", "/", "t")))
    failures = sorted(line.strip() for line in out.split("\nfailures:\n", 1)[1].split("\nwall time", 1)[0].splitlines())
    empty = sorted(line for line in out.splitlines() if line.startswith("EMPTY: "))
    return {"tests": tests, "rows": rows, "failures": failures, "empty": empty, "closing": closing_line(out)}


@pytest.fixture(scope="module")
def serial_and_parallel(tmp_path_factory):
    base = tmp_path_factory.mktemp("jobs")
    results = {}
    for name, extra in (("serial", ()), ("parallel", ("-j", "2"))):
        cwd = base / name
        cwd.mkdir()
        results[name] = (cwd, runner(cwd, str(SUITE), str(CLAIMS / "xpass"), "--device", "cpu",
                                     "--continue-through-error", "--xml", "xml", *extra))
    return results


def test_jobs_2_reports_what_a_serial_run_reports(serial_and_parallel):
    """docs/runner.md: with -j N the summary, JUnit and the closing line are the same as a serial run's."""
    (serial_dir, serial), (parallel_dir, parallel) = serial_and_parallel["serial"], serial_and_parallel["parallel"]
    assert serial.returncode == parallel.returncode == 1, serial.stdout + parallel.stdout
    s, p = summary_facts(serial.stdout), summary_facts(parallel.stdout)
    assert s["closing"] == "5 passed, 4 failed, 2 skipped", serial.stdout  # the suite's, plus the xpass
    assert len(s["tests"]) == 11 and len(s["rows"]) == 5, s
    assert s == p, (s, p)
    assert "on cores" in parallel.stdout and "on cores" not in serial.stdout  # it really ran two at once
    xml = sorted(p.name for p in (serial_dir / "xml").iterdir())
    assert xml == sorted(p.name for p in (parallel_dir / "xml").iterdir())
    assert len(xml) == 5, xml

    def cases(directory):
        found = set()
        for path in (directory / "xml").iterdir():
            for suite in junitparser.JUnitXml.fromfile(str(path)):
                for case in suite:
                    found.add((path.name, case.classname, case.name, tuple(r._tag for r in case.result)))
        return found
    assert cases(serial_dir) == cases(parallel_dir)


def test_junit_marks_device_skips_xfails_and_xpasses(serial_and_parallel):
    """docs/runner.md, --xml: a skip for lack of devices is type="device", an expected failure is
    <skipped type="xfail">, an unexpected success is <failure type="xpass">."""
    serial_dir, _ = serial_and_parallel["serial"]
    results = {}
    for path in (serial_dir / "xml").iterdir():
        for suite in junitparser.JUnitXml.fromfile(str(path)):
            for case in suite:
                results[case.name] = [(r._tag, r.type) for r in case.result]
    assert results["test_needs_eight_cpu"] == [("skipped", "device")], results
    assert results["test_skip"] == [("skipped", "skip")], results
    assert results["test_xfail"] == [("skipped", "xfail")], results
    assert results["test_passes_unexpectedly"] == [("failure", "xpass")], results
    assert results["test_pass"] == [] and results["test_all_reduce_cpu"] == [], results


def shard_files(cwd: Path, paths: list[str], total: int) -> list[list[str]]:
    shards = []
    for which in range(1, total + 1):
        proc = runner(cwd, *paths, "--device", "cpu", "--list", "--shard", str(which), str(total))
        files = {line.split("::")[0] for line in proc.stdout.splitlines() if "::" in line}
        files |= set(re.findall(r"^ERROR\s+<(\S+)>", proc.stdout, re.M))  # a file that fails to import
        files |= set(re.findall(r"^EMPTY: (\S+): ", proc.stdout, re.M))  # a file that instantiates no test
        shards.append(sorted(files))
    return shards


def assert_partition(shards: list[list[str]], every: set[str]) -> None:
    flat = [f for shard in shards for f in shard]
    assert len(flat) == len(set(flat)), shards    # disjoint
    assert set(flat) == every, (shards, every)     # complete
    assert all(shards), shards                     # every shard has work (files >= shards here)


def test_shards_cover_every_file_exactly_once(tmp_path):
    """docs/runner.md: --shard I N splits the files: by file count, or by the last run's durations."""
    # the suite: tests, an import error and an EMPTY file all show in --list
    suite_files = {"../suite/" + n for n in ("test_alpha.py", "test_beta.py", "test_broken.py", "test_empty.py")}
    work = tmp_path / "w"
    work.mkdir()
    shutil.copytree(SUITE, tmp_path / "suite")
    shards = shard_files(work, ["../suite"], 2)
    assert_partition(shards, suite_files)
    # five files that each list their tests: by count, then by the durations a run recorded
    tree = tmp_path / "five"
    tree.mkdir()
    for i in range(5):
        (tree / f"test_f{i}.py").write_text(
            "from testing.common_utils import TestCase, run_tests\n"
            f"class F{i}(TestCase):\n    def test_x(self):\n"
            f"        import time; time.sleep({0.05 * (i % 3)})\n"
            "if __name__ == '__main__':\n    run_tests()\n")
    every = {f"../five/test_f{i}.py" for i in range(5)}
    assert_partition(shard_files(work, ["../five"], 3), every)
    assert runner(work, "../five", "--device", "cpu").returncode == 0
    assert (work / ".testing-cache").is_dir()
    assert_partition(shard_files(work, ["../five"], 2), every)
