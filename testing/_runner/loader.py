"""Finding the tests of one file and selecting among them: one loader for the module command line,
the runner's worker and ``--list``.

``-k`` is unittest's own ``testNamePatterns`` (a substring, or a glob when it has ``*``, over
``module.Class.test``), which is also upstream's meaning; test names select by ``Class`` or
``Class.test``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import unittest
from collections.abc import Iterable, Iterator
from types import ModuleType

from testing._core.naming import short_id


def load_module(path: str) -> ModuleType:
    """Import a test file under its own name (not ``__main__``), so its ``run_tests()`` block does not run."""
    path = os.path.abspath(path)
    directory, name = os.path.split(path)
    name = os.path.splitext(name)[0]
    if directory not in sys.path:
        sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before executing: rank processes resolve classes by module name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def iter_tests(suite: Iterable) -> Iterator[unittest.TestCase]:
    """Every test case of a (nested) suite, in order."""
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from iter_tests(item)
        else:
            yield item


def _patterns(patterns: list[str]) -> list[str]:
    # unittest.main's conversion of -k: a plain word matches as a substring
    return [p if "*" in p else f"*{p}*" for p in patterns]


def select(module: ModuleType, patterns: list[str] = (), names: list[str] = ()) -> list[unittest.TestCase]:
    """The module's tests, filtered by ``-k`` patterns and by ``Class`` / ``Class.test`` names."""
    loader = unittest.TestLoader()
    loader.testNamePatterns = _patterns(list(patterns)) or None
    tests = list(iter_tests(loader.loadTestsFromModule(module)))
    if names:
        tests = [t for t in tests if any(short_id(t) == n or short_id(t).startswith(n + ".") for n in names)]
    return tests
