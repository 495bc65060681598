"""run_tests()'s command line: upstream's flags of each claimed torch release with upstream's
meanings, beside the harness's own (--device ..., --timeout); --help lists both."""

import json
import os
import subprocess
import sys
import types
import unittest
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import junitparser
import pytest

from helpers import FIXTURES, ROOT, clean_env, run_module

from testing._core import config, versions
from testing._core.case import TestCase
from testing._runner import module_cli, module_launch, run_tests_flags, upstream_selection

RECORDED = json.loads((FIXTURES / "run_tests_flags.json").read_text())
# the venvs bench/torch_matrix.sh makes (VENVS, as there); tests that need one skip without it
_VENV_DIR = Path(os.environ.get("VENVS") or Path(os.environ.get("TMPDIR") or "/tmp") / "testing-venvs")
VENVS = {"2.14.1": _VENV_DIR / "t2141" / "bin" / "python", "2.15.0": _VENV_DIR / "t2150" / "bin" / "python"}
ALPHA = FIXTURES / "suite" / "test_alpha.py"


# -- which flags, per release ---------------------------------------------------------------------
@pytest.mark.parametrize("release", sorted(RECORDED))
def test_each_recorded_release_gets_exactly_its_flags(release):
    flags = RECORDED[release]
    assert list(run_tests_flags.release_flags(versions.parse(release))) == flags
    parser = run_tests_flags.run_tests_parser(release=versions.parse(release))
    for flag in ("--hw-classification", *flags):
        value = SAMPLE_VALUES.get(flag, []) if flag in flags else []
        _, rest = parser.parse_known_args([flag, *value])
        assert (rest == []) == (flag in flags), (release, flag, rest)


SAMPLE_VALUES = {"--jit-executor": ["legacy"], "--repeat": ["2"], "--log-suffix": ["_s1"], "--run-parallel": ["2"],
                 "--pytest-single-test": ["t.py::A::test"], "--hw-classification": ["generic", "CPU"]}


def test_installed_harness_has_the_recorded_flags():
    release = versions.release()
    if release not in RECORDED:
        pytest.skip(f"torch {release} is not among the recorded releases ({', '.join(RECORDED)})")
    import torch.testing._internal as internal

    source = (Path(internal.__file__).parent / "common_utils.py").read_text()
    assert run_tests_flags.flags_in_source(source) == RECORDED[release]


def test_a_flag_the_release_lacks_is_refused_as_unittest_refuses_it(capsys):
    _, rest = run_tests_flags.run_tests_parser(release=(2, 13, 0)).parse_known_args(["--hw-classification", "GENERIC"])
    with pytest.raises(SystemExit) as stopped:
        unittest.main(module=None, argv=["test_x.py", *rest], exit=False)
    assert stopped.value.code == 2
    assert "test_x.py: error: unrecognized arguments: --hw-classification" in capsys.readouterr().err


@pytest.mark.parametrize("release", sorted(VENVS))
def test_hw_classification_filters_under_the_releases_that_have_it(release):
    python = VENVS[release]
    if not python.exists():
        pytest.skip(f"no torch {release} environment at {python} (bench/torch_matrix.sh makes one)")
    proc = subprocess.run([str(python), str(FIXTURES / "hw_classification_sample.py"), "--hw-classification", "generic", "cpu", "-v"],
                          capture_output=True, text=True, env=clean_env(), cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "HW classification mode active (['GENERIC', 'CPU']): total=3, passed=2, unclassified=1, mismatched=0" in proc.stdout
    assert "test_plain" not in proc.stderr and "Ran 2 tests" in proc.stderr


# -- meanings, in-process -------------------------------------------------------------------------
def _demo_class() -> type:
    # made in a function so that pytest does not collect it from this module
    class TestDisabledDemoCPU(TestCase):
        def test_listed_cpu_float32(self):
            pass

        def test_slow(self):
            pass

        def test_free(self):
            pass

    return TestDisabledDemoCPU


def _run(selection):
    loader = upstream_selection.RunTestsLoader(selection)
    suite = loader._apply(loader.loadTestsFromTestCase(_demo_class()))
    result = unittest.TestResult()
    suite.run(result)
    return {test._testMethodName: reason for test, reason in result.skipped}, result.testsRun


def test_disabled_and_slow_tests_skip_with_upstreams_reasons(monkeypatch):
    disabled = {"test_listed (__main__.TestDisabledDemo)": ["https://github.com/pytorch/pytorch/issues/9", []]}
    slow = {"test_slow (__main__.TestDisabledDemoCPU)": 120.0}
    skipped, ran = _run(upstream_selection.Selection(disabled=disabled, slow=slow))
    assert skipped == {"test_listed_cpu_float32": "Test is disabled because an issue exists disabling it: "
                       "https://github.com/pytorch/pytorch/issues/9 for allplatform(s) . If you're seeing this on your "
                       "local machine and would like to enable this test, please make sure CI is not set and you are "
                       "not using the flag --import-disabled-tests.",
                       "test_slow": "test is slow; run with PYTORCH_TEST_WITH_SLOW to enable test"} and ran == 3
    monkeypatch.setenv("PYTORCH_TEST_WITH_SLOW", "1")
    skipped, _ = _run(upstream_selection.Selection(disabled=disabled, slow=slow, rerun_disabled=True))
    assert set(skipped) == {"test_slow", "test_free"}  # --rerun-disabled-tests: only the disabled one runs
    assert skipped["test_free"] == upstream_selection.RERUN_ONLY_DISABLED
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert upstream_selection.read_list("no/such.json", "disabled", "DISABLED_TESTS_FILE") == {}
    assert str(caught[0].message) == "disabled test file provided but not found: no/such.json"


def test_subprocess_and_run_parallel_start_upstreams_commands(monkeypatch):
    started = []

    class Done:
        returncode = 0

        def __init__(self, cmd, **kwargs):
            started.append(cmd)

        def wait(self):
            return 0

    monkeypatch.setattr(module_launch.subprocess, "run", Done)
    monkeypatch.setattr(module_launch.subprocess, "Popen", Done)
    monkeypatch.setattr(config, "_config", config.Config())
    module_launch.each_in_subprocess(["t.py", "-v"], ["A.test_1", "A.test_2"], ["--import-disabled-tests"], False)
    module_launch.in_parallel(["t.py", "-v"], ["A.test_1", "A.test_2", "A.test_3"], 2)
    python = sys.executable
    assert started == [[python, "t.py", "--import-disabled-tests", "-v", "A.test_1"],
                       [python, "t.py", "--import-disabled-tests", "-v", "A.test_2"],
                       [python, "t.py", "-v", "--log-suffix=-shard-1", "A.test_1", "A.test_3"],
                       [python, "t.py", "-v", "--log-suffix=-shard-2", "A.test_2"]]
    monkeypatch.setattr(config, "_config", config.Config(redirect=True))  # python -m testing FILE stays redirected
    assert module_launch.self_command(["t.py"]) == [python, "-m", "testing", "t.py"]


def test_subprocess_retries_a_failed_child_once_as_upstream(monkeypatch, capsys):
    codes = iter([1, 0, 3, 3])  # test_1 fails, then passes; test_2 fails twice
    started = []

    def run(cmd, **kwargs):
        started.append((cmd[-1], kwargs["timeout"]))
        return types.SimpleNamespace(returncode=next(codes))

    monkeypatch.setattr(module_launch.subprocess, "run", run)
    monkeypatch.setattr(config, "_config", config.Config())
    with pytest.raises(AssertionError, match=r"^1 unit test\(s\) failed:\n\tA.test_2$"):
        module_launch.each_in_subprocess(["t.py"], ["A.test_1", "A.test_2"], [], False)
    assert started == [("A.test_1", 900), ("A.test_1", 900), ("A.test_2", 900), ("A.test_2", 900)]
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == ["Got exit code 1, retrying (retries left=1)", "Got exit code 3, retrying (retries left=1)",
                       f"Test exited with non-zero exitcode 3. Command to reproduce: {sys.executable} t.py A.test_2"]

    def hang(cmd, **kwargs):
        started.append((cmd[-1], kwargs["timeout"]))
        raise subprocess.TimeoutExpired(cmd, kwargs["timeout"])

    monkeypatch.setattr(module_launch.subprocess, "run", hang)
    assert module_launch.retry_shell(["x"], 900, 1) == 124
    assert capsys.readouterr().out.splitlines() == ["Command took >15min, retrying (retries left=1)",
                                                    "Command took >15min, returning 124"]
    started.clear()  # rerunning disabled tests: no limit and no retry, as upstream
    monkeypatch.setattr(module_launch.subprocess, "run", run)
    codes = iter([2])
    with pytest.raises(AssertionError):
        module_launch.each_in_subprocess(["t.py"], ["A.test_3"], [], True)
    assert started == [("A.test_3", None)]


def test_pytest_single_test_replaces_the_module_file_on_pytests_command_line():
    # --use-pytest itself runs in tests/test_skip_lists.py (the lists under pytest, with --save-xml)
    assert module_launch.pytest_args(["t.py", "-x"], None, "r.xml") == ["t.py", "-x", "--junitxml=r.xml"]
    assert module_launch.pytest_args(["t.py", "-x"], ["t.py::A::test_b"], None) == ["t.py::A::test_b", "-x"]


def test_help_lists_unittests_and_the_harness_flags(capsys):
    module_cli.print_help(["test_x.py"])
    out = capsys.readouterr().out
    assert out.index("usage: test_x.py [-h] [-v]") < out.index("--device DEVICE") < out.index("--timeout S")
    assert "--save-xml [DIR]" in out and "--import-disabled-tests [FILE]" in out
    assert ("--hw-classification" in out) == versions.applies("run_tests_flag:--hw-classification")


def test_module_timeout_flag_is_the_rank_timeout():
    argv = ["t.py", "--timeout", "5", "-v"]
    assert config.pop_module_flags(argv) == {"DISTRIBUTED_TESTS_DEFAULT_TIMEOUT": "5", "TESTING_TIMEOUT_SOURCE": "--timeout"}
    assert argv == ["t.py", "-v"]
    with pytest.raises(config.UsageError, match="--timeout must be positive, got 0"):
        config.pop_module_flags(["t.py", "--timeout", "0"])


# -- meanings, in a module run --------------------------------------------------------------------
def test_a_hanging_rank_fails_within_the_modules_timeout():
    proc = run_module(FIXTURES / "faults_sample.py", "--device", "cpu", "--timeout", "3", "-k", "hang_python", timeout=300)
    assert proc.returncode == 1
    assert "Timed out after 3 s (timeout from --timeout)" in proc.stderr


def test_save_xml_is_upstream_shaped_and_agrees_with_the_runners_junit(tmp_path):
    disabled = tmp_path / "disabled.json"
    disabled.write_text(json.dumps({"test_pass (__main__.TestAlpha)": ["5", []]}))
    # the module run and the runner side by side (two processes, one wait)
    module = subprocess.Popen([sys.executable, str(ALPHA), "--save-xml", "reports", "--log-suffix=-one",
                               "--import-disabled-tests", str(disabled), "--showlocals", "--jit-executor", "legacy",
                               "--test-bailouts"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=tmp_path, env=clean_env())
    try:
        subprocess.run([sys.executable, str(ROOT / "run_test.py"), str(ALPHA), "--expectations", str(disabled),
                        "--xml", "xml"], capture_output=True, text=True, cwd=tmp_path, env=clean_env(), timeout=300)
        _, module_err = module.communicate(timeout=300)
    finally:
        if module.poll() is None:  # a hang: nothing is left running
            module.kill()
            module.wait()
    assert module.returncode == 1, module_err[-2000:]
    assert "self = <test_alpha.TestAlpha" in module_err or "self = <__main__.TestAlpha" in module_err  # --locals
    written = list((tmp_path / "reports-one").rglob("*.xml"))
    sanitized = str(ALPHA).replace("/", ".")[: -len(".py")]  # upstream keeps the leading "/" as "."
    assert [p.parent.name for p in written] == [sanitized] and written[0].name.startswith("TEST-__main__.TestAlpha-")

    def cases(path):
        found = {}
        loaded = junitparser.JUnitXml.fromfile(str(path))  # a <testsuite> root (upstream's) or <testsuites>
        suites = [loaded] if isinstance(loaded, junitparser.TestSuite) else list(loaded)
        for case in (case for suite in suites for case in suite):
            outcome = type(case.result[0]).__name__ if case.result else "Passed"
            found[(case.classname.split(".")[-1], case.name)] = outcome
        return found

    upstream_shaped = cases(written[0])
    assert upstream_shaped == cases(next((tmp_path / "xml").glob("*.xml")))
    assert upstream_shaped[("TestAlpha", "test_pass")] == "Skipped" and upstream_shaped[("TestAlpha", "test_fail")] == "Failure"
    case = next(c for c in ET.parse(written[0]).iter("testcase") if c.get("name") == "test_fail")
    assert case.get("classname") == "TestAlpha"  # upstream's xmlrunner strips "__main__."
    failure = case.find("failure")
    assert failure.get("type") == "AssertionError" and "Expected 2 but got 1" in failure.text
