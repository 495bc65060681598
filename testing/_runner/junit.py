"""JUnit XML from TestReports: one file per test file, one <testcase> per test id or subtest.

Mapping: passed -> bare testcase; failed or error -> <failure> or <error> as `classify` says (an
assertion, a crash or an early exit fails, any other exception errs); skipped -> <skipped>;
expected failure -> <skipped type="xfail">; unexpected success -> <failure type="xpass">;
a file that could not be imported -> one testcase named after the file with an <error>.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from testing._runner import classify
from testing._runner.result import TestReport

_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _clean(text: str) -> str:
    return _BAD_XML.sub("?", text)


def write(directory: Path, module: str, reports: list[TestReport], wall: float, extra: dict | None = None,
          suite_properties: dict | None = None) -> Path:
    """Write ``DIR/<module>.xml`` for one file; ``module`` is its dotted report name (``distributed.tensor.test_x``).
    ``extra``: per test id, properties of its testcase; ``suite_properties``: properties of the file's
    testsuite (what holds for the whole run, such as ``map_cuda``, and for the file)."""
    directory.mkdir(parents=True, exist_ok=True)
    suite = ET.Element("testsuite", name=module)
    if suite_properties:
        props = ET.SubElement(suite, "properties")
        for key, value in suite_properties.items():
            ET.SubElement(props, "property", name=key, value=_clean(str(value)))
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for report in reports:
        if report.outcome in ("listed", "collected"):
            continue
        counts["tests"] += 1
        # a file-level error ("<path/to/file.py>") has no class: its dots are the path's
        class_name, _, name = ("", "", "") if report.id.startswith("<") else report.id.partition(".")
        classname = f"{module}.{class_name}" if name else module
        case = ET.SubElement(suite, "testcase", classname=classname, name=name or report.id,
                             time=f"{report.duration:.3f}")
        if report.outcome == "xpass":
            counts["failures"] += 1
            child = ET.SubElement(case, "failure", message=_clean(report.message), type="xpass")
            child.text = _clean(report.details)
        elif report.outcome in ("failed", "error"):  # failure or error by classify's rule, as pytest's JUnit
            kind = classify.kind_of_outcome(report.outcome, report.ranks)
            counts["failures" if kind == classify.FAILURE else "errors"] += 1
            child = ET.SubElement(case, kind, message=_clean(report.message), type=kind)
            child.text = _clean(report.details)
        elif report.outcome in ("skipped", "xfail"):
            counts["skipped"] += 1
            kind = "xfail" if report.outcome == "xfail" else ("device" if report.device_skip else "skip")
            ET.SubElement(case, "skipped", message=_clean(report.message), type=kind)
        for key, value in (extra or {}).get(report.id, {}).items():
            if not value:
                continue
            props = case.find("properties")
            if props is None:
                props = ET.SubElement(case, "properties")
            ET.SubElement(props, "property", name=key, value=str(value))
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", f"{wall:.3f}")
    root = ET.Element("testsuites")
    root.append(suite)
    for key, value in counts.items():
        root.set(key, str(value))
    path = directory / (re.sub(r"[^\w.-]", "_", module).lstrip(".") + ".xml")
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path
