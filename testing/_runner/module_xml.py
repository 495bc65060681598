"""``run_tests() --save-xml [DIR]``: JUnit XML shaped as upstream's (unittest-xml-reporting's).

Upstream writes, per test class, ``DIR<log suffix>/<test file, dotted>/TEST-<module>.<Class>-<time>.xml``
with a ``<testsuite>`` root, ``classname`` the class (``__main__.`` stripped) and ``name`` the test;
failures, errors and skips are children named so, their ``type`` the exception's name. The messages
and texts inside are this harness's: a distributed test's headline (the rank at fault) and its
per-rank evidence. Outcomes come from the same TestReports the runner's JUnit reads, so ids and
outcomes agree with ``run_test.py --xml``.
"""

from __future__ import annotations

import re
import time
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from testing._runner.result import ReportingResult, TestReport

_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_EXCEPTION = re.compile(r"^(?:rank \d+: )?([A-Za-z_][\w.]*)(?::|$)")


def report_dir(save_xml: str, log_suffix: str, program: str) -> Path:
    """Upstream's get_report_path: ``DIR + suffix / program with '/' -> '.' and no .py``."""
    sanitized = re.sub("/", ".", re.sub(r".py$", "", program))
    return Path(save_xml + log_suffix) / sanitized


class ReportingTextResult(unittest.TextTestResult):
    """unittest's text result that also records each outcome as a TestReport."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recorder = ReportingResult([], take_warnings=False)  # the warnings summary reports them

    def startTest(self, test: unittest.TestCase) -> None:  # noqa: N802
        super().startTest(test)
        self.recorder.startTest(test)

    def addSuccess(self, test: unittest.TestCase) -> None:  # noqa: N802
        super().addSuccess(test)
        self.recorder.addSuccess(test)

    def addFailure(self, test: unittest.TestCase, err: Any) -> None:  # noqa: N802
        super().addFailure(test, err)
        self.recorder.addFailure(test, err)

    def addError(self, test: Any, err: Any) -> None:  # noqa: N802
        super().addError(test, err)
        self.recorder.addError(test, err)

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:  # noqa: N802
        super().addSkip(test, reason)
        self.recorder.addSkip(test, reason)

    def addExpectedFailure(self, test: unittest.TestCase, err: Any) -> None:  # noqa: N802
        super().addExpectedFailure(test, err)
        self.recorder.addExpectedFailure(test, err)

    def addUnexpectedSuccess(self, test: unittest.TestCase) -> None:  # noqa: N802
        super().addUnexpectedSuccess(test)
        self.recorder.addUnexpectedSuccess(test)

    def addSubTest(self, test: unittest.TestCase, subtest: Any, err: Any) -> None:  # noqa: N802
        super().addSubTest(test, subtest, err)
        self.recorder.addSubTest(test, subtest, err)


def saving_runner(directory: Path, module: str, base: type = unittest.TextTestRunner) -> type:
    """A runner class built on ``base`` (unittest.main instantiates it) that writes the XML when the run ends."""

    class SavingResult(ReportingTextResult, base.resultclass):
        pass

    class SavingRunner(base):
        resultclass = SavingResult

        def run(self, test: Any) -> unittest.TestResult:
            result = super().run(test)
            write(directory, module, result.recorder.reports)
            return result

    return SavingRunner


def _clean(text: str) -> str:
    return _BAD_XML.sub("?", text)


def _exception_name(report: TestReport) -> str:
    found = _EXCEPTION.match(report.message)
    return found.group(1).split(".")[-1] if found else report.outcome


def write(directory: Path, module: str, reports: list[TestReport]) -> list[Path]:
    """One upstream-shaped file per test class of ``module`` (``__main__`` for a module run directly)."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d%H%M%S")
    by_class: dict[str, list[TestReport]] = {}
    for report in reports:
        by_class.setdefault(report.id.partition(".")[0], []).append(report)
    written = []
    for class_name, found in by_class.items():
        suite_id = f"{module}.{class_name}"
        suite = ET.Element("testsuite", name=f"{suite_id}-{stamp}", tests=str(len(found)),
                           time=f"{sum(r.duration for r in found):.3f}", timestamp=time.strftime("%Y-%m-%dT%H:%M:%S"))
        counts = {"failures": 0, "errors": 0, "skipped": 0}
        for report in found:
            _, _, name = report.id.partition(".")
            classname = class_name if module == "__main__" else suite_id
            case = ET.SubElement(suite, "testcase", classname=classname, name=name or report.id,
                                 time=f"{report.duration:.3f}")
            if report.outcome in ("failed", "xpass", "error"):
                tag = "error" if report.outcome == "error" else "failure"
                counts["errors" if tag == "error" else "failures"] += 1
                kind = "UnexpectedSuccess" if report.outcome == "xpass" else _exception_name(report)
                child = ET.SubElement(case, tag, type=kind, message=_clean(report.message))
                child.text = _clean(report.details)
            elif report.outcome in ("skipped", "xfail"):
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", type="XFAIL" if report.outcome == "xfail" else "skip",
                              message=_clean(report.message))
        for key, value in counts.items():
            suite.set(key, str(value))
        path = directory / f"TEST-{suite_id}-{stamp}.xml"
        ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
        written.append(path)
    return written



def sanitize_pytest_xml(xml_file: str) -> None:
    """Upstream's sanitize_pytest_xml: pytest's ``classname="test.pkg.mod.Class"`` becomes ``Class``
    with ``file="pkg/mod.py"``, as the unittest reports read."""
    tree = ET.parse(xml_file)
    for case in tree.iter("testcase"):
        full = case.attrib.get("classname")
        found = re.search(r"^(test\.)?(?P<file>.*)\.(?P<classname>[^\.]*)$", full or "")
        if found is None:
            continue
        case.set("classname", found.group("classname"))
        case.set("file", f"{found.group('file').replace('.', '/')}.py")
    tree.write(xml_file)
