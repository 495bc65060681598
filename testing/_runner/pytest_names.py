"""pytest names a unittest class after the module attribute that holds it; ``run_test.py``, like
upstream's unittest runner, after the class itself. Upstream files bind generated classes to names
of their own (``instantiate_device_type_tests = create_local_tensor_test_class(TestX)``), which
gave the same test two ids. Such a class is collected under its own name, so ``-k``, ``--lf`` and
JUnit agree with ``run_test.py``."""

from __future__ import annotations

import functools
import inspect
import unittest
from typing import Any

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: Any, name: str, obj: object) -> Any:
    if not (inspect.isclass(obj) and issubclass(obj, unittest.TestCase)) or inspect.isabstract(obj):
        return None
    own = obj.__name__
    if name == own or getattr(collector.obj, own, None) is obj:
        return None  # pytest's own naming (a class also held under its own name is collected there)
    item = _own_named().from_parent(collector, name=own, obj=obj)
    item.held = obj
    return item


@functools.cache
def _own_named() -> type:
    """What pytest's unittest plugin builds, except that the class is the one held, not the module's
    attribute of that name (pytest looks the class up again by name)."""
    from _pytest.unittest import UnitTestCase

    class OwnNamedUnitTestCase(UnitTestCase):
        def _getobj(self) -> Any:
            return self.held

    return OwnNamedUnitTestCase
