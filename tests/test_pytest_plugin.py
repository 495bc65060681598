"""pytest over unmodified upstream files (docs/pytest.md): with --redirect-upstream they run on this
harness with run_test.py's ids and outcomes, JUnit failure vs error agrees with run_test.py --xml,
a rank failure's report leads with the headline; without it, one warning line names the option."""

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from helpers import FIXTURES, ROOT, clean_env

SAMPLE = FIXTURES / "pytest" / "upstream_pytest_sample.py"
# (class, test) -> JUnit kind ("" = passed), the same under both runners
EXPECTED = {
    ("TestPlainSample", "test_square_n_1"): "",
    ("TestPlainSample", "test_square_n_2"): "",
    ("TestPlainSample", "test_assertion"): "failure",
    ("TestPlainSample", "test_raises"): "error",
    ("TestPlainSample", "test_skip"): "skipped",
    ("TestDeviceSampleCPU", "test_ones_cpu"): "",
    ("TestRanksSample", "test_all_reduce"): "",
    ("TestRanksSample", "test_rank_asserts"): "failure",
    ("TestRanksSample", "test_rank_raises"): "error",
    ("TestRanksSample", "test_rank_exits_early"): "failure",
}


def run(cwd, *args, timeout=300, **env):
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, env=clean_env(**env))


def junit_kinds(path) -> dict:
    return {(case.get("classname").rsplit(".", 1)[-1], case.get("name")): "".join(child.tag for child in case
                                                                              if child.tag != "properties")
            for case in ET.parse(path).getroot().iter("testcase")}


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The sample (copied, so pytest's cache stays in a temp dir) under pytest and under run_test.py."""
    work = tmp_path_factory.mktemp("pytest_plugin")
    sample = shutil.copy(SAMPLE, work / "test_upstream_sample.py")
    under_pytest = run(work, "-m", "pytest", "-p", "cacheprovider", "-o", "cache_dir=cache", "--rootdir", work,
                       sample, "--redirect-upstream", "--device", "cpu", "--junitxml", work / "pytest.xml")
    under_runner = run(work, ROOT / "run_test.py", "--device", "cpu", sample, "--xml", work / "xml")
    return work, under_pytest, under_runner


def test_pytest_gives_run_tests_ids_and_junit_kinds(both):
    work, under_pytest, under_runner = both
    assert under_pytest.returncode == 1 and under_runner.returncode == 1, under_pytest.stdout[-3000:]
    assert "torch/testing/_internal" not in under_pytest.stdout  # ran on this harness, not torch's
    (runner_xml,) = (work / "xml").iterdir()
    assert junit_kinds(work / "pytest.xml") == junit_kinds(runner_xml) == EXPECTED


def test_the_runners_progress_lines_and_summary_count_as_its_junit_does(both):
    """run_test.py's FAILED/ERROR labels and its summary's failed/errors columns follow the JUnit
    kinds (a rank's AssertionError is FAILED, though the test process saw a RuntimeError)."""
    _, _, under_runner = both
    labels = {"PASSED": "", "FAILED": "failure", "ERROR": "error", "SKIPPED": "skipped"}
    progress = {tuple(m[2].split(".")): labels[m[1]] for m in
                re.finditer(r"^(PASSED|FAILED|ERROR|SKIPPED) +(([\w]+\.[\w]+)) \(", under_runner.stdout, re.M)}
    assert progress == EXPECTED, under_runner.stdout[-3000:]
    row = next(line for line in under_runner.stdout.splitlines() if line.startswith("test_upstream_sample.py "))
    passed, failed, skipped, errors = map(int, row.split()[1:5])
    assert (passed, failed, skipped, errors) == (4, 3, 1, 2), row


def test_a_rank_failure_reads_headline_traceback_then_knock_ons(both):
    _, under_pytest, _ = both
    block = under_pytest.stdout.split("_ TestRanksSample.test_rank_raises _", 1)[1].split("\n___", 1)[0]
    lines = block.strip("_ \n").splitlines()
    assert lines[0] == "rank 1: ValueError: wombat before all_reduce", block
    assert lines[1] == "Traceback (most recent call last):" and 'raise ValueError("wombat before all_reduce")' in block
    assert "testing/_ranks" not in block and "testing/_core" not in block  # harness frames hidden
    assert re.search(r"^  rank 0 \(knock-on\): RuntimeError: .*(Connection|peer)", block, re.M), block
    assert "Process 1 exited with error code" not in block  # upstream's text stays in run_test's JUnit


def test_last_failed_k_and_x_select_as_pytest_does_with_the_ini_option(both):
    work, _, _ = both
    (work / "pytest.ini").write_text("[pytest]\ntesting_redirect = true\ncache_dir = cache\n")
    proc = run(work, "-m", "pytest", "-p", "cacheprovider", "--rootdir", work, work / "test_upstream_sample.py",
               "--device", "cpu", "--lf", "-x", "-k", "TestRanksSample", "-q")
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert re.search(r"^1 failed, \d+ deselected", proc.stdout.splitlines()[-1]), proc.stdout[-2000:]
    assert "rank 1: AssertionError: Tensor-likes are not close!" in proc.stdout.splitlines()  # on this harness


def test_spawned_ranks_resolve_upstream_imports_here_and_what_the_harness_lacks_is_a_collection_error(both):
    """One session, two files: with --start-method spawn (as under pytest-xdist, where forking is
    unsafe) each rank is a fresh interpreter that re-imports the upstream file, and its harness imports
    are redirected there too; a file needing what the harness lacks is its collection error."""
    work, _, _ = both
    unsupported = shutil.copy(FIXTURES / "upstream_unsupported.py", work / "test_unsupported.py")
    proc = run(work, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", work, work / "test_upstream_sample.py",
               unsupported, "--continue-on-collection-errors", "--redirect-upstream", "--device", "cpu",
               "--start-method", "spawn", "-k", "test_all_reduce", "-q")
    assert proc.stdout.splitlines()[-1].startswith("1 passed, "), proc.stdout[-3000:]
    assert ("testing: error: unsupported upstream API: torch.testing._internal.common_distributed."
            "NoSuchTestCase, torch.testing._internal.common_utils.skipIfNoSuchThing, "
            "torch.testing._internal.hop_db (not provided by testing") in proc.stdout, proc.stdout[-2000:]


def test_without_the_redirect_one_line_names_the_option(tmp_path):
    shutil.copy(FIXTURES / "pytest" / "upstream_plain_sample.py", tmp_path / "test_upstream_sample.py")
    # a file that imports upstream's harness only inside a test (an oracle, say) is not named
    (tmp_path / "test_oracle_inside.py").write_text(
        "def test_oracle():\n    from torch.testing._internal.common_utils import TestCase\n")
    # nor one that imports both harnesses to compare them
    (tmp_path / "test_both_harnesses.py").write_text(
        "import torch.testing._internal.common_utils as upstream\nfrom testing import common_utils\n\n"
        "def test_same():\n    assert upstream.TestCase is not common_utils.TestCase\n")
    proc = run(tmp_path, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q", tmp_path)
    warnings = [line for line in proc.stdout.splitlines() if "--redirect-upstream" in line]
    assert warnings == ["testing: test_upstream_sample.py imports torch.testing._internal and runs on torch's own "
                        "harness; add --redirect-upstream (or TESTING_REDIRECT=1) to run it on this harness"], proc.stdout


def test_options_reach_the_configuration_and_bad_values_are_usage_errors(monkeypatch):
    from testing._core import config

    for name in ("TESTING_WORLD_SIZE", "DISTRIBUTED_TESTS_DEFAULT_TIMEOUT", "TESTING_TIMEOUT_SOURCE"):
        monkeypatch.setenv(name, "")  # restored after the test (adopt_flags writes the environment)
    try:
        adopted = config.adopt_flags({"--world-size": "3", "--timeout": 5.0, "--device": None}, "pytest")
        assert (adopted.world_size, adopted.timeout, adopted.timeout_source) == (3, 5.0, "pytest --timeout")
        assert config.get_config() is adopted  # ranks and spawned interpreters read the same
    finally:
        config.reset_config(None)
    with pytest.raises(config.UsageError, match="--world-size"):
        config.adopt_flags({"--world-size": "0"}, "pytest")
    with pytest.raises(config.UsageError, match="--timeout must be a positive"):
        config.adopt_flags({"--timeout": -1.0}, "pytest")


def test_a_class_bound_under_another_name_keeps_its_own_name_as_id(tmp_path):
    """As upstream's test_dtensor_fft_ops.py binds its LocalTensor twin
    (``instantiate_device_type_tests = create_local_tensor_test_class(...)``): pytest's id uses the
    class's own name, as run_test.py's does; a class held under its own name is collected once."""
    (tmp_path / "test_alias.py").write_text(
        "import unittest\n\n\nclass TestOwn(unittest.TestCase):\n    def test_a(self):\n        pass\n\n\n"
        "instantiate_device_type_tests = type('TestMade', (unittest.TestCase,), {'test_b': lambda self: None})\n"
        "again = TestOwn\n")
    collected = run(tmp_path, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "test_alias.py")
    ids = [line for line in collected.stdout.splitlines() if "::" in line]
    assert sorted(ids) == ["test_alias.py::TestMade::test_b", "test_alias.py::TestOwn::test_a",
                           "test_alias.py::again::test_a"], collected.stdout
