"""What upstream's ``run_tests()`` does to a module's tests before they run, from its flags.

``--import-disabled-tests`` / ``--import-slow-tests``: the JSON files upstream's CI downloads
(``{"test_name (module.Class)": ...}``), applied as ``common_utils.check_if_enable`` applies them,
with its skip messages; ``--rerun-disabled-tests`` turns that round (only disabled tests run);
``--hw-classification``: only classes whose ``hw_classification`` is requested load, with upstream's
one-line summary. The loader below applies them wherever unittest loads tests.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import unittest
import warnings
from collections.abc import Iterable, Iterator
from typing import Any, Optional

from testing._core import config as _config
from testing._fork import upstream_match
from testing._fork.skip_lists import DISABLED_REASON

RERUN_ONLY_DISABLED = ("Test is enabled but --rerun-disabled-tests verification mode is set, so only"
                       " disabled tests are run")
SLOW_REASON = "test is slow; run with PYTORCH_TEST_WITH_SLOW to enable test"
FAST_REASON = "test is fast; we disabled it with PYTORCH_TEST_SKIP_FAST"


@dataclasses.dataclass
class Selection:
    disabled: dict = dataclasses.field(default_factory=dict)
    slow: dict = dataclasses.field(default_factory=dict)
    rerun_disabled: bool = False
    hw_classification: Optional[set] = None
    device: Optional[str] = None


def read_list(path: Optional[str], kind: str, env_name: str) -> dict:
    """Upstream's reading: a missing file is a warning, not an error; a found one is exported for ranks."""
    if not path:
        return {}
    if not os.path.exists(path):
        warnings.warn(f"{kind} test file provided but not found: {path}", stacklevel=3)
        return {}
    with open(path) as fp:
        found = json.load(fp)
    _config.set_env(env_name, path)
    return found


def skip_reason(test: unittest.TestCase, selection: Selection) -> Optional[str]:
    """Why upstream's check_if_enable would skip ``test`` (None: it runs)."""
    class_name, method = type(test).__name__, test._testMethodName
    if any(upstream_match.disabled_key_matches(key, class_name, method) for key in selection.slow):
        if _config.env_value("PYTORCH_TEST_WITH_SLOW", "0") != "1":
            return SLOW_REASON
    elif _config.env_value("PYTORCH_TEST_SKIP_FAST", "0") == "1":
        return FAST_REASON
    disabled = None
    for key, (issue, platforms) in selection.disabled.items():
        if upstream_match.disabled_key_matches(key, class_name, method) and \
                upstream_match.platforms_hold(tuple(platforms), selection.device):
            disabled = DISABLED_REASON.format(issue=issue, all="all " if not platforms else "", platforms=", ".join(platforms))
            break
    if disabled and not selection.rerun_disabled:
        return disabled
    if not disabled and selection.rerun_disabled:
        return RERUN_ONLY_DISABLED
    return None


def _skipped(test: unittest.TestCase, reason: str) -> unittest.TestCase:
    # the instance's method is replaced by a skipped one: unittest skips it before setUp, so a
    # distributed test starts no rank (upstream raises SkipTest in setUp, before its ranks start)
    method = getattr(test, test._testMethodName)
    setattr(test, test._testMethodName, unittest.skip(reason)(functools.wraps(method)(lambda *a, **k: method(*a, **k))))
    return test


def _cases(suite: Any) -> Iterator[unittest.TestCase]:
    if isinstance(suite, unittest.TestCase):
        yield suite
        return
    for item in suite:
        yield from _cases(item)


def hw_filter(tests: Iterable[unittest.TestCase], requested: set) -> list[unittest.TestCase]:
    """Upstream's filter_by_hw_classification, with its summary line."""
    from testing._upstream_api.release_names import HardwareClassification

    kept, total, unclassified = [], 0, 0
    for test in tests:
        total += 1
        found = getattr(type(test), "hw_classification", None)
        if found is None:
            unclassified += 1
            continue
        if not isinstance(found, HardwareClassification):
            raise TypeError(f"{type(test).__module__}.{type(test).__name__}.hw_classification must be a HardwareClassification")
        if found.name in requested:
            kept.append(test)
    print(f"HW classification mode active ({sorted(requested, key=list(HardwareClassification.__members__).index)}): "
          f"total={total}, passed={len(kept)}, unclassified={unclassified}, mismatched={total - len(kept) - unclassified}")
    return kept


class RunTestsLoader(unittest.TestLoader):
    """unittest's loader, with the selection applied to whatever it loads."""

    def __init__(self, selection: Selection) -> None:
        super().__init__()
        self.selection = selection

    def _apply(self, suite: unittest.TestSuite) -> unittest.TestSuite:
        tests = list(_cases(suite))
        if any(isinstance(t, unittest.loader._FailedTest) for t in tests):
            return suite  # unittest's own "no such test" error, as upstream keeps it
        if self.selection.hw_classification is not None:
            tests = hw_filter(tests, self.selection.hw_classification)
        for test in tests:
            reason = skip_reason(test, self.selection)
            if reason:
                _skipped(test, reason)
        return unittest.TestSuite(tests)

    def loadTestsFromModule(self, module: Any, *args: Any, **kwargs: Any) -> unittest.TestSuite:  # noqa: N802
        return self._apply(super().loadTestsFromModule(module, *args, **kwargs))

    def loadTestsFromName(self, name: str, module: Any = None) -> unittest.TestSuite:  # noqa: N802
        return self._apply(super().loadTestsFromName(name, module))
