"""The fork workflow: port/sync tool, expectations file, plug-in (PrivateUse1) devices."""

import subprocess
import sys
import xml.etree.ElementTree as ET

import junitparser
import pytest

from helpers import FIXTURES, ROOT, clean_env, reports

UPSTREAM_SAMPLE = FIXTURES / "upstream_dist_sample.py"
SUITE = FIXTURES / "suite"
PLUGIN = FIXTURES / "plugin"


def port(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "testing.port", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=clean_env(), timeout=120)


def runner(tmp_path, *args, **env):
    return subprocess.run([sys.executable, str(ROOT / "run_test.py"), *map(str, args)], capture_output=True,
                          text=True, cwd=tmp_path, env=clean_env(**env), timeout=600)


# -- 1. port / sync ---------------------------------------------------------------------------
def test_port_rewrites_only_imports_and_check_accepts_it(tmp_path):
    dest = tmp_path / "test_port.py"
    assert port(UPSTREAM_SAMPLE, "-o", dest).returncode == 0
    text = dest.read_text()
    assert "torch.testing._internal" not in text
    assert "from testing.common_device_type import instantiate_device_type_tests" in text
    original = UPSTREAM_SAMPLE.read_text().splitlines()
    changed = [i for i, (a, b) in enumerate(zip(original, text.splitlines())) if a != b]
    assert changed and all("import" in original[i] or original[i].startswith("    ") for i in changed)
    check = port(UPSTREAM_SAMPLE, "--check", dest)
    assert check.returncode == 0 and "a clean port of upstream" in check.stdout


def test_check_catches_hand_edits_and_private_imports(tmp_path):
    dest = tmp_path / "test_port.py"
    port(UPSTREAM_SAMPLE, "-o", dest)
    dest.write_text(dest.read_text().replace("return 2", "return 4"))
    edited = port(UPSTREAM_SAMPLE, "--check", dest)
    assert edited.returncode == 1
    assert "-        return 2" in edited.stdout and "+        return 4" in edited.stdout
    assert f"differs from the port of {UPSTREAM_SAMPLE} (2 lines)" in edited.stdout
    # an edit inside the import block is drift too, even one that imports only harness names
    seed_original = ROOT / "upstream/test/distributed/fsdp/test_fsdp_dtensor_state_dict.py"
    seed = tmp_path / "test_seed.py"
    port(seed_original, "-o", seed)
    text = seed.read_text()
    anchor = "from testing.common_utils import"
    injected = 'from testing.common_utils import TestCase as _T; import os; os.environ["SKIP_EVERYTHING"] = "1"\n'
    seed.write_text(text.replace(anchor, injected + anchor, 1))
    drift = port(seed_original, "--check", seed)
    assert drift.returncode == 1, drift.stdout
    assert "+" + injected.strip() in drift.stdout.splitlines()
    assert "(1 lines)" in drift.stdout
    stale = port(UPSTREAM_SAMPLE, "--check", UPSTREAM_SAMPLE)
    assert stale.returncode == 1 and "still imports torch.testing._internal" in stale.stdout
    missing = port(tmp_path / "nope.py", "--check", dest)
    assert missing.returncode == 2 and missing.stderr.strip() == f"testing.port: error: no such file: {tmp_path / 'nope.py'}"


def test_every_port_in_the_manifest_is_clean():
    """upstream/MANIFEST.toml: each in-tree port checks clean against its in-repo original."""
    import tomllib

    manifest = tomllib.loads((ROOT / "upstream/MANIFEST.toml").read_text())
    assert manifest["module"], "the manifest lists no module"
    for module in manifest["module"]:
        assert module["repository"] and module["path"] and module["commit"]
        result = port(ROOT / "upstream" / module["original"], "--check", ROOT / module["ported"])
        assert result.returncode == 0, result.stdout


# -- 2. expectations --------------------------------------------------------------------------
EXPECTATIONS = '''
[[expectation]]
id = "TestAlpha.test_fail"
mode = "xfail"
reason = "1 is not 2 on this device"
link = "https://example.com/issues/1"

[[expectation]]
id = "TestAlpha.test_pass"
mode = "xfail"
reason = "was broken, maybe fixed"

[[expectation]]
id = "TestBetaCPU.test_all_reduce_cpu"
device = "cpu"
mode = "skip"
reason = "gloo all_reduce is slow on this CI"

[[expectation]]
id = "TestBetaCPU.test_needs_eight_cpu"
device = ["xpu", "hpu"]
mode = "skip"
reason = "only for xpu and hpu"

[[expectation]]
id = "TestAlpha.test_subtests"
torch = "<2.0"
mode = "skip"
reason = "old torch only"

[[expectation]]
id = "TestAlpha.test_gone"
mode = "xfail"
reason = "this test was removed upstream"
'''


def test_expectations_applied_reported_and_recorded(tmp_path):
    (tmp_path / "exp.toml").write_text(EXPECTATIONS)
    proc = runner(tmp_path, SUITE / "test_alpha.py", SUITE / "test_beta.py", "--device", "cpu",
                  "--continue-through-error", "--expectations", "exp.toml", "--xml", "xml")
    out = proc.stdout
    assert "XFAIL    TestAlpha.test_fail" in out
    assert "UNEXPECTED-PASS TestAlpha.test_pass" in out and "unexpected passes" in out
    assert "SKIPPED  TestBetaCPU.test_all_reduce_cpu" in out and "expectation: gloo all_reduce is slow" in out
    assert "SKIPPED(device) TestBetaCPU.test_needs_eight_cpu" in out  # xpu/hpu entry not applied on cpu
    assert "STALE expectation: TestAlpha.test_gone (exp.toml) matched no collected test" in out
    assert "old torch only" not in out  # the <2.0 entry does not apply to this torch
    # only the failing subtest remains a failure
    assert out.splitlines()[-1] == "5 passed, 1 failed, 3 skipped"  # test_skip, the skip entry, the device skip
    xml_path = next((tmp_path / "xml").glob("*test_alpha*.xml"))
    junitparser.JUnitXml.fromfile(str(xml_path))  # a standard consumer loads it
    case = next(c for c in ET.parse(xml_path).iter("testcase") if c.get("name") == "test_fail")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props == {"expectation": "xfail", "expectation_reason": "1 is not 2 on this device",
                     "expectation_link": "https://example.com/issues/1", "expectation_source": "exp.toml"}


def test_strict_xfail_unexpected_pass_fails_the_run(tmp_path):
    (tmp_path / "exp.toml").write_text('[[expectation]]\nid = "TestAlpha.test_pass"\nmode = "strict-xfail"\nreason = "must fail"\n')
    proc = runner(tmp_path, SUITE / "test_alpha.py", "-k", "test_pass", "--expectations", "exp.toml")
    assert proc.returncode == 1
    assert "XPASS" in proc.stdout and "unexpected pass of a strict-xfail expectation: must fail" in proc.stdout


def test_timeout_expectation_overrides_the_rank_timeout(tmp_path):
    (tmp_path / "exp.toml").write_text('[[expectation]]\nid = "TestFaults.test_hang_python"\nmode = "timeout"\ntimeout = 2\nreason = "hangs on this device"\n')
    result = reports(FIXTURES / "faults_sample.py", "-k", "hang_python", "--expectations", str(tmp_path / "exp.toml"))
    report = result["TestFaults.test_hang_python"]
    assert report["outcome"] == "error" and report["duration"] < 8
    assert f"Timed out after 2 s (timeout from expectations file {tmp_path / 'exp.toml'})" in report["details"]


@pytest.mark.parametrize(
    "text, message",
    [
        ('[[expectation]]\nid = "A.b"\nmode = "sometimes"\nreason = "r"\n', "mode 'sometimes' is not one of skip, xfail, strict-xfail, timeout"),
        ('[[expectation]]\nid = "A.b"\nmode = "skip"\n', "'reason' is required"),
        ('[[expectation]]\nid = "test_b"\nmode = "skip"\nreason = "r"\n', "is not an exact Class.test id"),
        ('[[expectation]]\nid = "A.b"\nmode = "timeout"\nreason = "r"\n', "needs a positive 'timeout'"),
        ('[[expectation]]\nid = "A.b"\nmode = "skip"\nreason = "r"\ntorch = "about 2.13"\n', "bad torch version clause"),
        ("[[expectation\n", "not valid TOML"),
    ],
)
def test_bad_expectations_file_is_one_line_and_exit_2(tmp_path, text, message):
    (tmp_path / "exp.toml").write_text(text)
    proc = runner(tmp_path, SUITE / "test_alpha.py", "--expectations", "exp.toml")
    assert proc.returncode == 2 and message in proc.stderr and proc.stderr.count("\n") == 1


# -- 3. plug-in devices -----------------------------------------------------------------------
def test_plugin_device_joins_the_table_without_editing_the_harness(tmp_path):
    env = {"PYTHONPATH": f"{ROOT}:{PLUGIN}", "TESTING_DEVICE_PLUGINS": "fake_device_plugin"}
    proc = runner(tmp_path, PLUGIN, "--device", "fakedev", **env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASSED   TestPluginPRIVATEUSE1.test_collective_fakedev" in proc.stdout  # backend gloo, 2 devices
    assert "SKIPPED(device) TestPluginPRIVATEUSE1.test_needs_three_fakedev" in proc.stdout
    plain = runner(tmp_path, PLUGIN, "--device", "fakedev")
    assert plain.returncode == 2 and "unknown device 'fakedev'" in plain.stderr
    broken = runner(tmp_path, PLUGIN, "--device", "fakedev", TESTING_DEVICE_PLUGINS="no_such_plugin")
    assert broken.returncode == 2 and "device plug-in 'no_such_plugin' failed to import" in broken.stderr


def test_parallel_files_get_a_share_of_the_devices_and_a_file_that_needs_more_runs_alone(tmp_path):
    """-j 2 over two files on a 2-device plug-in: each file sees one device (its share, through the
    row's visibility variable), so the 2-device test skips there, and the file then runs alone on
    both devices: the final counts are a serial run's."""
    for name in ("test_p1.py", "test_p2.py"):
        (tmp_path / name).write_text((PLUGIN / "test_plugin_device.py").read_text())
    env = {"PYTHONPATH": f"{ROOT}:{PLUGIN}", "TESTING_DEVICE_PLUGINS": "visible_device_plugin"}
    proc = runner(tmp_path, tmp_path, "--device", "fakedev", "-j", "2", "--continue-through-error", **env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "on FAKEDEV_VISIBLE_DEVICES=0" in proc.stdout and "on FAKEDEV_VISIBLE_DEVICES=1" in proc.stdout
    assert proc.stdout.count("alone: it needs more devices than its share") == 2
    assert proc.stdout.rstrip().splitlines()[-1] == "2 passed, 0 failed, 2 skipped"
