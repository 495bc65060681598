"""run_tests()'s checks as upstream's harness makes them, side by side with it: the lint that every
test class extends common_utils.TestCase, the disabled-tests platforms (``--import-disabled-tests``),
``--rerun-disabled-tests``, and ``--hw-classification`` / the lists under ``--use-pytest``."""

import subprocess
import sys
import types
import unittest
from types import SimpleNamespace

import pytest

from helpers import FIXTURES, clean_env

from testing._core.case import TestCase
from testing._fork import skip_lists, upstream_match
from testing._runner import class_lint, module_cli, pytest_selection, upstream_selection

SAMPLE = FIXTURES / "upstream_run_tests_sample.py"
DISABLED = FIXTURES / "run_tests_disabled.json"
LINT_LINE = ("TestPlain - failed. This test class should extend from torch.testing._internal.common_utils.TestCase"
             " but it doesn't.")


def _both(tmp_path, *args, **env):
    """The sample under torch's own harness and under this one (``python -m testing``), run side by
    side: {"upstream": proc, "here": proc}. CI is cleared: upstream's --save-xml default needs xmlrunner."""
    commands = {"upstream": [sys.executable, str(SAMPLE), *args],
                "here": [sys.executable, "-m", "testing", str(SAMPLE), *args]}
    started = {name: subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                                      env=clean_env(CI="", **env)) for name, cmd in commands.items()}
    done = {}
    try:
        for name, proc in started.items():
            out, err = proc.communicate(timeout=300)
            done[name] = SimpleNamespace(returncode=proc.returncode, stdout=out, stderr=err)
    finally:
        for proc in started.values():
            if proc.poll() is None:  # a hang: nothing is left running
                proc.kill()
                proc.wait()
    return done


def _skips(stderr: str) -> dict:
    """{test: skip reason} from unittest's -v lines."""
    found = {}
    for line in stderr.splitlines():
        name, _, rest = line.partition(" (__main__.")
        if " ... skipped " in rest:
            found[name] = rest.split(" ... skipped ", 1)[1].strip("'\"")
    return found


def test_disabled_platforms_as_upstreams_harness(tmp_path):
    listed = _both(tmp_path, "-v", "--import-disabled-tests", str(DISABLED))
    upstream, here = listed["upstream"], listed["here"]
    assert upstream.returncode == here.returncode == 0, here.stderr[-2000:]
    assert _skips(here.stderr) == _skips(upstream.stderr)
    assert set(_skips(upstream.stderr)) == {"test_disabled", "test_cuda_listed", "test_only_unknown"}
    unrecognized = sorted(line for line in upstream.stdout.splitlines() if "unrecognized" in line)
    assert len(unrecognized) == 2 and sorted(line for line in here.stdout.splitlines() if "unrecognized" in line) == unrecognized


def test_platform_names_upstream_does_not_know_are_dropped_for_import_disabled_tests(capsys):
    both = {"test_x (__main__.TestP)": ["7", ["cuda", "linux"]]}
    only_device = {"test_x (__main__.TestP)": ["7", ["cuda"]]}
    here = upstream_selection.Selection(disabled=only_device)
    assert upstream_selection.skip_reason_for("TestP", "test_x", here) == skip_lists.disabled_reason("7", [])
    assert "for allplatform(s) ." in skip_lists.disabled_reason("7", [])  # upstream's text, verbatim
    assert "Test test_x (__main__.TestP) is disabled for some unrecognized  platforms: [cuda]." in capsys.readouterr().out
    linux = upstream_match._upstream_platforms()["linux"]
    reason = upstream_selection.skip_reason_for("TestP", "test_x", upstream_selection.Selection(disabled=both))
    assert reason == (skip_lists.disabled_reason("7", ["linux"]) if linux else None)
    # --expectations keeps device names: an entry naming cuda applies where the run's device is cuda
    assert not upstream_match.platforms_hold(("cuda",), "cpu") and upstream_match.platforms_hold(("cuda",), "cuda")
    assert upstream_match.platforms_hold(("cuda",), "cpu", device_names=False)


def test_rerun_disabled_tests_runs_each_disabled_test_once_as_upstreams_run_tests():
    # upstream's common_utils (2.13 to 2.15) has no repeat of its own: the 50 (15 distributed) runs
    # are pytest-flakefinder's, added by upstream's CI (docs/fork-tools.md)
    runs = []

    class TestOnce(TestCase):
        def test_listed(self):
            runs.append(1)

        def test_other(self):
            runs.append(2)

    selection = upstream_selection.Selection(disabled={"test_listed (__main__.TestOnce)": ["1", []]}, rerun_disabled=True)
    loader = upstream_selection.RunTestsLoader(selection)
    result = unittest.TestResult()
    loader._apply(loader.loadTestsFromTestCase(TestOnce)).run(result)
    assert runs == [1] and [reason for _, reason in result.skipped] == [upstream_selection.RERUN_ONLY_DISABLED]


def _main_class(name, base):
    # a test class as a module run defines it (``__main__.Name``), made here so pytest does not collect it
    return type(name, (base,), {"__module__": "__main__", "__qualname__": name, "test_a": lambda self: None})


def test_lint_refuses_a_module_with_a_plain_unittest_class(capsys, monkeypatch):
    # upstream's line and exit 1 (observed under torch 2.13.0 and 2.15.0, with SANDCASTLE=1 too;
    # --discover-tests prints the names without the lint)
    loader = unittest.TestLoader()
    good, plain = _main_class("TestGood", TestCase), _main_class("TestPlain", unittest.TestCase)
    assert class_lint.lint_test_case_extension(unittest.TestSuite([loader.loadTestsFromTestCase(good)]))
    assert capsys.readouterr().out == ""
    main = types.ModuleType("__main__")
    main.TestGood, main.TestPlain = good, plain
    monkeypatch.setitem(sys.modules, "__main__", main)
    with pytest.raises(SystemExit) as stopped:
        module_cli.run_tests(["test_x.py"])
    assert stopped.value.code == 1 and capsys.readouterr().out.splitlines() == [LINT_LINE]
    module_cli.run_tests(["test_x.py", "--discover-tests"])
    assert capsys.readouterr().out.splitlines() == ["TestGood.test_a", "TestPlain.test_a"]


class _Item:
    """What the plugin reads of a pytest item: its class, its name, the marks added."""

    def __init__(self, cls, name):
        self.cls, self.name, self.marks = cls, name, []

    def add_marker(self, mark):
        self.marks.append(mark)


def test_use_pytest_gets_the_hw_filter_and_the_lists(capsys):
    from testing._upstream_api.release_names import HardwareClassification

    class TestGeneric(TestCase):
        hw_classification = HardwareClassification.GENERIC

    class TestCpu(TestCase):
        hw_classification = HardwareClassification.CPU

    class TestPlainClass(TestCase):
        pass

    items = [_Item(TestGeneric, "test_listed"), _Item(TestGeneric, "test_other"), _Item(TestCpu, "test_cpu"),
             _Item(TestPlainClass, "test_plain"), _Item(None, "test_function")]
    selection = upstream_selection.Selection(disabled={"test_listed (__main__.TestGeneric)": ["1", []]},
                                             rerun_disabled=True, hw_classification={"GENERIC"})
    pytest_selection.SelectionPlugin(selection).pytest_collection_modifyitems(items)
    # upstream's test/conftest.py line, as 2.14/2.15 print it: items outside a class are no_class
    assert capsys.readouterr().out.splitlines() == [
        "HW classification mode active (['GENERIC']): total=5, passed=2, unclassified=1, no_class=1, mismatched=1"]
    assert [item.name for item in items] == ["test_listed", "test_other"]
    assert items[0].marks == [] and items[1].marks[0].kwargs["reason"] == upstream_selection.RERUN_ONLY_DISABLED
    assert items[1].marks[0].name == "skip"


def test_use_pytest_module_run_applies_the_lists(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "testing", str(SAMPLE), "--import-disabled-tests", str(DISABLED),
                           "--rerun-disabled-tests", "--use-pytest", "-p", "no:cacheprovider", "-rs"],
                          capture_output=True, text=True, cwd=tmp_path, env=clean_env(CI=""), timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    # test_free skips with upstream's message; the three disabled tests run
    skipped = [line for line in proc.stdout.splitlines() if line.startswith("SKIPPED [1] ")]
    assert len(skipped) == 1 and skipped[0].endswith(f"upstream_run_tests_sample.py: {upstream_selection.RERUN_ONLY_DISABLED}")
    assert "3 passed, 1 skipped" in proc.stdout


def test_check_if_enable_order_slow_then_disabled_then_fast(monkeypatch):
    # PYTORCH_TEST_SKIP_FAST skips the fast tests only after the disabled list had its say, as upstream
    selection = upstream_selection.Selection(disabled={"test_x (__main__.TestP)": ["7", []]},
                                             slow={"test_s (__main__.TestP)": 60.0})
    monkeypatch.setenv("PYTORCH_TEST_SKIP_FAST", "1")
    assert upstream_selection.skip_reason_for("TestP", "test_x", selection) == skip_lists.disabled_reason("7", [])
    assert upstream_selection.skip_reason_for("TestP", "test_y", selection) == upstream_selection.FAST_REASON
    assert upstream_selection.skip_reason_for("TestP", "test_s", selection) == upstream_selection.SLOW_REASON
    monkeypatch.setenv("PYTORCH_TEST_WITH_SLOW", "1")
    assert upstream_selection.skip_reason_for("TestP", "test_s", selection) is None
