"""Upstream's check, before ``run_tests()`` runs a module, that every test class extends
``common_utils.TestCase`` (``lint_test_case_extension``, 2.13 on, whatever the environment):
each class that does not is printed on a line of its own, and the module exits 1 without running.

A plain ``unittest.TestCase`` misses what the harness's TestCase gives every test (the seed,
``assertEqual``'s tolerances, the disabled and slow lists, the per-device instantiation), so upstream
refuses it rather than run it differently.
"""

from __future__ import annotations

import unittest
from typing import Any

from testing._core.case import TestCase

MESSAGE = "This test class should extend from torch.testing._internal.common_utils.TestCase but it doesn't."


def lint_test_case_extension(suite: Any) -> bool:
    """Upstream's walk, as it is: the first test of each class's suite is checked (a suite whose
    first member is a suite is walked instead of the rest); each failing class prints its line."""
    succeed = True
    for test_case_or_suite in suite:
        test_case = test_case_or_suite
        if isinstance(test_case_or_suite, unittest.TestSuite):
            first = test_case_or_suite._tests[0] if test_case_or_suite._tests else None
            if first is not None and isinstance(first, unittest.TestSuite):
                return succeed and lint_test_case_extension(test_case_or_suite)
            test_case = first
        if test_case is not None and not isinstance(test_case, TestCase):
            test_class = test_case.id().split(".", 1)[1].split(".")[0]
            print(f"{test_class} - failed. {MESSAGE}")
            succeed = False
    return succeed
