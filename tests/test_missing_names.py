"""A missing upstream name costs only the tests that use it (testing._fork.placeholders)."""

import ast
import subprocess
import sys
import xml.etree.ElementTree as ET

import junitparser
import pytest

from helpers import FIXTURES, ROOT, clean_env

from testing._fork import redirect
from testing._fork.placeholders import Placeholder, UnsupportedUpstreamAPI, blocking_uses

HELPER = "torch.testing._internal.common_distributed.fictional_world_helper"
DECORATOR = "torch.testing._internal.common_utils.fictional_skip_decorator"


def test_file_with_missing_names_runs_its_other_tests(tmp_path):
    """One runner run: the two tests that use a missing name error with its report; the others pass;
    the summary and the JUnit testsuite name the missing names once."""
    proc = subprocess.run([sys.executable, str(ROOT / "run_test.py"), str(FIXTURES / "upstream_missing_name.py"),
                           "--xml", str(tmp_path / "xml")], capture_output=True, text=True, cwd=tmp_path,
                          env=clean_env(), timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()

    def line_of(test):
        return next(line for line in lines if f" TestMissingName.{test} " in line)

    assert line_of("test_plain").startswith("PASSED") and line_of("test_also_plain").startswith("PASSED")
    assert line_of("test_calls_missing_name").startswith("ERROR")
    assert line_of("test_calls_missing_name").endswith(f"UnsupportedUpstreamAPI: unsupported upstream API: {HELPER}")
    assert line_of("test_decorated_with_missing_name").endswith(f"unsupported upstream API: {DECORATOR}")
    notice = [line for line in lines if line.startswith("UNSUPPORTED: ")]
    assert len(notice) == 1 and notice[0].endswith(f"the tests that use these upstream names error: {HELPER}, {DECORATOR}")
    assert "2 passed, 2 failed, 0 skipped" in proc.stdout
    xml_path = next((tmp_path / "xml").iterdir())
    junitparser.JUnitXml.fromfile(str(xml_path))  # a standard consumer loads the suite's properties
    suite = ET.parse(xml_path).getroot().find("testsuite")
    properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert properties == {"unsupported_upstream_api": f"{HELPER}, {DECORATOR}"}
    assert len(suite.findall("testcase")) == 4 and len(suite.findall("testcase/error")) == 2


def _uses(source: str, names: set) -> dict:
    return blocking_uses(ast.parse(source), names)


def test_only_test_bodies_and_function_decorators_defer_a_missing_name():
    deferred = (
        "@m\ndef f(): pass\n"
        "class T:\n    @m(world_size=4)\n    def test_a(self):\n        m()\n        m.x\n"
        "    @other\n    @m\n    def test_b(self): pass\n"
    )
    assert _uses(deferred, {"m"}) == {}
    blocking = {
        "class T(m): pass": 1,                          # a base class
        "m()": 1,                                        # a module-level call
        "x = 1\nclass T:\n    size = m": 3,            # a class-level value
        "@m\nclass T: pass": 1,                          # a class decorator
        "@parametrize('x', m)\ndef f(x): pass": 1,       # an argument of another decorator
        "def f(x=m): pass": 1,                           # a default argument
        "@m.attr\ndef f(): pass": 1,                     # an attribute of it as decorator
    }
    for source, line in blocking.items():
        assert _uses(source, {"m"}) == {"m": line}, source


def test_placeholder_refuses_every_use_but_decorating_at_import_time():
    placeholder = Placeholder(HELPER)
    with pytest.raises(UnsupportedUpstreamAPI, match=f"^unsupported upstream API: {HELPER}$"):
        placeholder()  # called from a function: a test body
    with pytest.raises(UnsupportedUpstreamAPI):
        exec("class T(m): pass", {"m": placeholder})  # a base class: __mro_entries__
    for use in (bool, iter, lambda p: p.anything):
        with pytest.raises(UnsupportedUpstreamAPI):
            use(placeholder)
    namespace = {"m": placeholder}
    exec("class T:\n    @m\n    def test_a(self): pass\n    @m(world_size=4)\n    def test_b(self): pass\n", namespace)
    for name in ("test_a", "test_b"):
        test = getattr(namespace["T"], name)
        assert test.__name__ == name
        with pytest.raises(UnsupportedUpstreamAPI, match=HELPER):
            test(None)


def test_a_name_needed_to_define_the_file_still_fails_it_naming_everything_missing(tmp_path):
    path = tmp_path / "upstream_base.py"
    path.write_text("from torch.testing._internal.common_utils import TestCase, fictional_base, fictional_deco\n"
                    "class T(fictional_base):\n    @fictional_deco\n    def test_x(self): pass\n")
    with pytest.raises(UnsupportedUpstreamAPI) as info:
        redirect.check_file(str(path))
    assert str(info.value).startswith("unsupported upstream API: torch.testing._internal.common_utils.fictional_base, "
                                      "torch.testing._internal.common_utils.fictional_deco (not provided by testing")
    assert redirect.check_file(str(FIXTURES / "upstream_missing_name.py")) == [HELPER, DECORATOR]
