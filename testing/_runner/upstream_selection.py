"""What upstream's ``run_tests()`` does to a module's tests before they run, from its flags.

``--import-disabled-tests`` / ``--import-slow-tests``: the JSON files upstream's CI downloads
(``{"test_name (module.Class)": ...}``), applied as ``common_utils.check_if_enable`` applies them,
with its skip messages; ``--rerun-disabled-tests`` turns that round (only disabled tests run);
``--hw-classification``: only classes whose ``hw_classification`` is requested load, with upstream's
one-line summary. The loader below applies them wherever unittest loads tests; under
``--use-pytest``, `pytest_selection` applies the same decisions to pytest's items.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import unittest
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Optional

from testing._core import config as _config
from testing._fork import upstream_match
from testing._fork.skip_lists import disabled_reason

RERUN_ONLY_DISABLED = ("Test is enabled but --rerun-disabled-tests verification mode is set, so only"
                       " disabled tests are run")
SLOW_REASON = "test is slow; run with PYTORCH_TEST_WITH_SLOW to enable test"
FAST_REASON = "test is fast; we disabled it with PYTORCH_TEST_SKIP_FAST"


@dataclasses.dataclass
class Selection:
    """run_tests()'s flags that decide which tests run and which skip."""

    disabled: dict = dataclasses.field(default_factory=dict)
    slow: dict = dataclasses.field(default_factory=dict)
    rerun_disabled: bool = False
    hw_classification: Optional[set] = None


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
    return skip_reason_for(type(test).__name__, test._testMethodName, selection)


def skip_reason_for(class_name: str, method: str, selection: Selection) -> Optional[str]:
    """check_if_enable's decision for ``class_name.method``, in its order: slow, then disabled (the
    platforms upstream knows; a name it does not know is printed and dropped), then fast. Upstream
    skips the disabled-tests check under Sandcastle, which this harness never is (IS_SANDCASTLE)."""
    slow = any(upstream_match.disabled_key_matches(key, class_name, method) for key in selection.slow)
    if slow and _config.env_value("PYTORCH_TEST_WITH_SLOW", "0") != "1":
        return SLOW_REASON
    disabled = None
    for key, (issue, platforms) in selection.disabled.items():
        if not upstream_match.disabled_key_matches(key, class_name, method):
            continue
        kept, unknown = upstream_match.known_platforms(tuple(platforms))
        if unknown:
            print(upstream_match.unrecognized_platforms_line(key, issue, unknown))
        if upstream_match.platforms_hold(tuple(kept), None, device_names=False):
            disabled = disabled_reason(issue, kept)
            break
    if disabled and not selection.rerun_disabled:
        return disabled
    if not disabled and selection.rerun_disabled:
        return RERUN_ONLY_DISABLED
    if not slow and _config.env_value("PYTORCH_TEST_SKIP_FAST", "0") == "1":
        return FAST_REASON
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


def hw_filter(items: Iterable[Any], requested: set, get_class: Callable[[Any], Optional[type]] = type) -> list:
    """Upstream's filter_by_hw_classification (2.14 on): the items whose class is classified as one
    of ``requested``, with its summary line (``no_class``: pytest items outside a class)."""
    from testing._upstream_api.release_names import HardwareClassification

    kept, total, unclassified, no_class = [], 0, 0, 0
    for item in items:
        total += 1
        cls = get_class(item)
        if cls is None:
            no_class += 1
            continue
        found = getattr(cls, "hw_classification", None)
        if found is None:
            unclassified += 1
            continue
        if not isinstance(found, HardwareClassification):
            raise TypeError(f"{cls.__module__}.{cls.__name__}.hw_classification must be a HardwareClassification")
        if found.name in requested:
            kept.append(item)
    names = sorted(requested, key=list(HardwareClassification.__members__).index)
    print(" ".join([f"HW classification mode active ({names}):", f"total={total}, passed={len(kept)},",
                    f"unclassified={unclassified},", *([f"no_class={no_class},"] if no_class else []),
                    f"mismatched={total - len(kept) - unclassified - no_class}"]))
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
