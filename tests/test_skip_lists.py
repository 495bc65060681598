"""The skip lists fork teams keep (torch-xpu-ops skip_dict modules, upstream's disabled-tests JSON)
as --expectations files: read, matched, applied, reported stale, converted to TOML."""

import dataclasses
import subprocess
import sys
import types
import xml.etree.ElementTree as ET

import junitparser
import pytest

from helpers import FIXTURES, ROOT, clean_env

from testing import expectations as door
from testing._fork import expectation_files, expectations, skip_lists, upstream_match

LISTS = FIXTURES / "skip_lists"
SKIP_DICT = LISTS / "skip_list_dist.py"
DISABLED = LISTS / "disabled-tests.json"


def test_skip_dict_entries_are_names_in_a_file_matched_by_their_test_suffix():
    entries = skip_lists.load_skip_dict(str(SKIP_DICT))
    assert [(e.kind, e.id, e.file, e.line) for e in entries] == [
        ("name", "test_fail", "test/distributed/test_alpha.py", 4),
        ("name", "test_removed_upstream", "test/distributed/test_alpha.py", 4),
        ("file", "test/distributed/test_beta.py", "test/distributed/test_beta.py", 8),
        ("file", "test/distributed/test_gone.py", "test/distributed/test_gone.py", 9),
    ]
    here = "/ci/pytorch/test/distributed/test_alpha.py"
    assert expectations.matching(entries, "TestAlpha.test_fail", "cpu", "2.13.0", here) is entries[0]
    assert expectations.matching(entries, "AnyClass.test_fail", "xpu", "2.13.0", here) is entries[0]
    assert expectations.matching(entries, "TestAlpha.test_fail", "cpu", "2.13.0", "/ci/other/test_alpha.py") is None
    # a whole-file entry applies nothing
    assert expectations.matching(entries, "TestBeta.test_x", "cpu", "2.13.0", "/x/test/distributed/test_beta.py") is None


def test_disabled_json_matches_as_upstreams_check_if_enable():
    entries = skip_lists.load_disabled_json(str(DISABLED))
    first = entries[0]
    assert first.kind == "disabled" and first.link == "https://github.com/pytorch/pytorch/issues/101"
    assert first.reason.startswith("Test is disabled because an issue exists disabling it: 101 for allplatform(s)")
    # class name prefix (TestAlpha disables TestAlphaCPU); the name with its device/dtype suffixes removed
    assert first.names("TestAlphaCPU.test_subtests") and first.names("TestAlpha.test_subtests_cpu_float32")
    assert not first.names("TestAlph.test_subtests") and not first.names("TestAlpha.test_subtests_more")
    # platforms: empty = all; 'win' does not hold on linux; the selected device holds
    assert expectations.matching(entries, "TestAlpha.test_pass", "cpu", "2.13.0", None) is None
    assert upstream_match.platforms_hold(("xpu",), "xpu") and not upstream_match.platforms_hold(("hpu",), "cpu")
    assert upstream_match.platforms_hold(("no-such-platform",), "cpu")  # upstream drops unknown names: all


@pytest.mark.parametrize("name, text, message", [
    ("s.py", "skip_dict = {\n  'test/a.py': ('x',),\n  'test/b.py': 'test_y',\n}\n",
     "s.py:3: skip_dict value for 'test/b.py' is not None or a tuple of test names"),
    ("s.py", "skip_dict = {\n  'test/a.py': (\n", "s.py:2: not valid Python"),
    ("s.py", "skips = {}\n", "s.py:1: no 'skip_dict = {...}' assignment"),
    ("d.json", '{\n "test_a (m.C)": ["1", []],\n "test_b": ["2", []]\n}\n', "d.json:3: 'test_b' is not 'test_name (module.ClassName)'"),
    ("d.json", '{\n "test_a (m.C)": ["1", "linux"]\n}\n', "d.json:2: value for 'test_a (m.C)' is not [issue, [platform, ...]]"),
    ("d.json", '{\n "test_a (m.C)": ["1", []]\n', "d.json:3: not valid JSON"),
])
def test_malformed_list_is_an_error_naming_file_and_line(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(expectations.ExpectationError) as caught:
        expectation_files.load(str(tmp_path / name))
    assert str(caught.value) == f"{tmp_path / name}:{message.split(':', 1)[1]}" or str(caught.value).startswith(
        f"{tmp_path}/{message}")


def test_convert_writes_toml_that_loads_to_the_same_entries(tmp_path, capsys):
    for source in (SKIP_DICT, DISABLED):
        out = tmp_path / "fork.toml"
        assert door.main(["convert", str(source), "-o", str(out)]) == 0
        plain = lambda es: [dataclasses.replace(e, source="", line=0, exists=True) for e in es if e.kind != "file"]
        assert plain(expectations.load(str(out))) == plain(expectation_files.load(str(source)))
    assert "# test/distributed/test_gone.py: the whole file runs" in (door.main(["convert", str(SKIP_DICT)]) or capsys.readouterr().out)
    assert door.main(["convert", str(tmp_path / "missing.py")]) == 2
    assert "cannot read expectations file" in capsys.readouterr().err


def _tree(tmp_path):
    """An upstream-shaped checkout: test/distributed/test_alpha.py, and the lists in third_party/x/test/xpu/."""
    (tmp_path / "test" / "distributed").mkdir(parents=True)
    (tmp_path / "test" / "distributed" / "test_alpha.py").write_text((FIXTURES / "suite" / "test_alpha.py").read_text())
    (tmp_path / "test" / "distributed" / "test_beta.py").write_text("")  # listed whole (None), not run here
    lists = tmp_path / "third_party" / "x" / "test" / "xpu"
    lists.mkdir(parents=True)
    for source in (SKIP_DICT, DISABLED):
        (lists / source.name).write_text(source.read_text())
    return lists


def test_runner_applies_both_lists_reports_their_files_and_stale_entries(tmp_path):
    lists = _tree(tmp_path)
    proc = subprocess.run([sys.executable, str(ROOT / "run_test.py"), "test/distributed/test_alpha.py", "--device", "cpu",
                           "--expectations", str(lists / SKIP_DICT.name), "--expectations", str(lists / DISABLED.name),
                           "--xml", "xml"], capture_output=True, text=True, cwd=tmp_path, env=clean_env(), timeout=300)
    out = proc.stdout
    assert "SKIPPED  TestAlpha.test_fail" in out and "expectation: listed in skip_list_dist.py" in out
    assert "SKIPPED  TestAlpha.test_subtests" in out and "Test is disabled because an issue exists disabling it: 101" in out
    assert f"  skip         test/distributed/test_alpha.py::TestAlpha.test_fail (from {lists / SKIP_DICT.name}:4)" in out
    assert f"TestAlpha.test_subtests (from {lists / DISABLED.name}:2)" in out
    stale = [line for line in out.splitlines() if line.startswith("STALE")]
    assert len(stale) == 3, out
    assert stale[0].startswith(f"STALE expectation: test_removed_upstream ({lists / SKIP_DICT.name}:4) matched no collected test")
    assert stale[1].startswith(f"STALE expectation: test/distributed/test_gone.py ({lists / SKIP_DICT.name}:9) matched no file")
    assert stale[2].startswith("STALE expectation: test_no_longer_here (__main__.TestAlpha)")
    assert proc.returncode == 0 and out.splitlines()[-1] == "2 passed, 0 failed, 3 skipped"  # test_pass: 'win' only
    xml_path = next((tmp_path / "xml").glob("*.xml"))
    junitparser.JUnitXml.fromfile(str(xml_path))
    case = next(c for c in ET.parse(xml_path).iter("testcase") if c.get("name") == "test_subtests")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["expectation"] == "skip" and props["expectation_source"] == f"{lists / DISABLED.name}:2"
    assert props["expectation_link"] == "https://github.com/pytorch/pytorch/issues/101"


def test_pytest_takes_the_same_lists_also_through_run_tests_use_pytest(tmp_path):
    """``python FILE --use-pytest`` hands the module to pytest (upstream's meaning), with this harness's
    plugin: pytest's --expectations, its summary, and --save-xml's upstream-sanitized JUnit."""
    lists = _tree(tmp_path)
    proc = subprocess.run([sys.executable, "test/distributed/test_alpha.py", "--use-pytest", "--save-xml", "-rs",
                           "--expectations", str(lists / SKIP_DICT.name), "--expectations", str(lists / DISABLED.name)],
                          capture_output=True, text=True, cwd=tmp_path, env=clean_env(TESTING_DEVICE="cpu"), timeout=300)
    out = proc.stdout
    assert "expectation: listed in skip_list_dist.py" in out and "disabling it: 101" in out
    assert f"skip         test/distributed/test_alpha.py::TestAlpha::test_fail (from {lists / SKIP_DICT.name}:4)" in out
    assert sum(line.startswith("STALE expectation") for line in out.splitlines()) == 3, out
    assert "1 passed, 3 skipped, 1 xfailed" in out.splitlines()[-1] and proc.returncode == 0
    xml = next((tmp_path / "test-reports" / "python-pytest").rglob("*.xml"))  # upstream's directory for pytest
    case = next(c for c in ET.parse(xml).iter("testcase") if c.get("name") == "test_fail")
    assert case.get("classname") == "TestAlpha"  # sanitized as upstream's sanitize_pytest_xml
    assert {p.get("name"): p.get("value") for p in case.iter("property")}["expectation_source"] == f"{lists / SKIP_DICT.name}:4"


def test_malformed_list_under_pytest_is_one_line_and_exit_2(tmp_path):
    from _pytest.outcomes import Exit

    from testing._runner import pytest_expectations

    (tmp_path / "bad.json").write_text('{"x": 1}')
    config = types.SimpleNamespace(getoption=lambda name: [str(tmp_path / "bad.json")], stash={})
    with pytest.raises(Exit) as stopped:
        pytest_expectations.pytest_configure(config)
    assert stopped.value.returncode == 2
    assert stopped.value.msg == f"testing: error: {tmp_path / 'bad.json'}:1: 'x' is not 'test_name (module.ClassName)'"
