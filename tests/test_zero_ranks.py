"""A distributed test that ran on no rank keeps upstream's outcome and is marked everywhere."""

import importlib.util
import subprocess
import sys
import unittest
import xml.etree.ElementTree as ET

from helpers import FIXTURES, ROOT, clean_env, port_file
from oracle import upstream_outcomes

SOURCE = "ZeroRankSample.world_size (min(4, torch.cuda.device_count()))"


def test_zero_rank_test_keeps_upstreams_outcome_is_marked_and_fails_fail_on_empty(tmp_path):
    """One runner run: outcomes are the oracle's; the summary, JUnit and --fail-on-empty mark the test."""
    proc = subprocess.run([sys.executable, str(ROOT / "run_test.py"), str(FIXTURES / "upstream_zero_rank_sample.py"),
                           "--fail-on-empty", "--xml", str(tmp_path / "xml")],
                          capture_output=True, text=True, cwd=tmp_path, env=clean_env(), timeout=300)
    lines = proc.stdout.splitlines()
    for test, (outcome, _) in upstream_outcomes("upstream_zero_rank_sample.py").items():
        assert any(line.startswith(f"{outcome.upper():<8} {test} ") for line in lines), (test, outcome, proc.stdout)
    assert f"1 test ran on 0 ranks: world size 0 from {SOURCE}" in lines
    assert lines[-1] == "2 passed, 0 failed, 0 skipped"
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == "run_test.py: error: 1 test(s) ran on 0 ranks (see the summary)"
    cases = {c.get("name"): c for c in ET.parse(next((tmp_path / "xml").iterdir())).getroot().iter("testcase")}
    assert {p.get("name"): p.get("value") for p in cases["test_checks_nothing"].find("properties")} == \
        {"zero_ranks": f"world size 0 from {SOURCE}"}
    assert cases["test_runs_on_two_ranks"].find("properties") is None


def test_zero_rank_test_is_a_notice_in_pytests_summary(tmp_path):
    """In the test process (as under pytest): the notice is kept for the plugin's terminal summary."""
    from testing._runner import pytest_plugin

    ported = port_file(FIXTURES / "upstream_zero_rank_sample.py", tmp_path / "zero_rank_ported.py")
    spec = importlib.util.spec_from_file_location("zero_rank_ported", ported)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from testing._ranks import engine

    result = unittest.TestResult()
    try:
        module.ZeroRankSample("test_checks_nothing").run(result)
    finally:
        engine.shutdown()  # the rank launcher it may have started
    assert result.wasSuccessful() and result.testsRun == 1

    written = []

    class Reporter:
        def section(self, title):
            written.append(f"== {title}")

        def write_line(self, line):
            written.append(line)

    pytest_plugin.pytest_terminal_summary(Reporter())
    assert "== testing notices" in written
    assert f"zero_rank_ported.ZeroRankSample.test_checks_nothing ran on 0 ranks: world size 0 from {SOURCE}" in written
