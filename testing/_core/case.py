"""TestCase: expecttest's TestCase plus upstream's seeding, assertEqual and failure hints."""

from __future__ import annotations

import contextlib
import functools
import random
import re
import sys
import types
import unittest
import warnings
from collections.abc import Callable, Iterator
from typing import Any, Optional

import expecttest
import numpy as np
import torch

from testing._core import compare as _compare
from testing._core.case_members import UpstreamMembers

from testing._core import repro as _repro
from testing._core import skips as _skips
from testing._core import warnings_log as _warnings_log
from testing._core.config import get_config, module_argv
from testing._core.naming import short_id

SEED = 1234


def set_rng_seed(seed: Optional[int] = None) -> None:
    """Seed torch, random and numpy (upstream: 1234 in setUp, in run_tests and in every rank)."""
    seed = SEED if seed is None else seed
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)


def defining_file(test: unittest.TestCase) -> str:
    """The file that defines ``test`` (the script for ``__main__``)."""
    module = sys.modules.get(type(test).__module__)
    return getattr(module, "__file__", None) or module_argv()[0]


def _append_hint(error: BaseException, hint: str) -> None:
    if error.args and isinstance(error.args[0], str):
        error.args = (error.args[0] + hint, *error.args[1:])
    elif not error.args:
        error.args = (hint,)


@contextlib.contextmanager
def _warn_always() -> Iterator[None]:
    previous = torch.is_warn_always_enabled()
    torch.set_warn_always(True)
    try:
        yield
    finally:
        torch.set_warn_always(previous)


class TestCase(UpstreamMembers, expecttest.TestCase):
    """Base of every harness test class; mirrors upstream's common_utils.TestCase where tests see it.

    Upstream members this harness lacks raise "unsupported upstream API: common_utils.TestCase.NAME"
    (``UpstreamMembers.__getattr__``, from the member list in ``case_members``)."""

    _precision: float = 0
    _rel_tol: float = 0
    maxDiff = None
    _diffThreshold = sys.maxsize

    def __init__(self, method_name: str = "runTest", methodName: str = "runTest") -> None:
        if methodName != "runTest":
            method_name = methodName
        super().__init__(method_name)
        test_method = getattr(self, method_name, None)
        if test_method is not None and method_name != "runTest":
            setattr(self, method_name, self._wrap_method(test_method))

    def _wrap_method(self, method: Callable) -> Callable:
        """Turn a device-skip exit into a skip, and add upstream's repro hint to a failure."""
        config = get_config()
        # under run_test.py the runner prints the rerun line itself, built by the same function
        print_repro = config.print_repro and not config.runner

        @functools.wraps(method)
        def wrapper(_self, *args, **kwargs):
            _warnings_log.set_test(short_id(self))
            try:
                return method(*args, **kwargs)
            except SystemExit as exc:
                skip = _skips.skip_for_exit(exc.code)
                if skip is None:
                    raise
                raise unittest.SkipTest(skip.message) from None
            except unittest.SkipTest:
                raise
            except Exception as exc:
                if print_repro:
                    _append_hint(exc, _repro.hint(config, defining_file(self), short_id(self)))
                raise
            finally:
                _warnings_log.set_test(None)

        # a bound method, as upstream installs: unittest's loader treats a plain function differently
        return types.MethodType(wrapper, self)

    @property
    def precision(self) -> float:
        return self._precision

    @precision.setter
    def precision(self, value: float) -> None:
        self._precision = value

    @property
    def rel_tol(self) -> float:
        return self._rel_tol

    @rel_tol.setter
    def rel_tol(self, value: float) -> None:
        self._rel_tol = value

    def _should_stop_test_suite(self) -> bool:
        return False

    def setUp(self) -> None:
        super().setUp()
        set_rng_seed()

    def assertEqual(self, x: Any, y: Any, msg: Any = None, *, atol: Optional[float] = None, rtol: Optional[float] = None, **kwargs: Any) -> None:  # noqa: N802
        __tracebackhide__ = True
        _compare.assert_equal(
            x,
            y,
            msg,
            atol=atol,
            rtol=rtol,
            rtol_override=self.rel_tol,
            atol_override=self.precision,
            long_message=self.longMessage,
            **kwargs,
        )

    def assertNotEqual(self, x: Any, y: Any, msg: Any = None, *, atol: Optional[float] = None, rtol: Optional[float] = None, **kwargs: Any) -> None:  # noqa: N802
        with self.assertRaises(AssertionError, msg=msg):
            self.assertEqual(x, y, msg, atol=atol, rtol=rtol, **kwargs)

    def assertEqualIgnoreType(self, *args: Any, **kwargs: Any) -> None:  # noqa: N802
        self.assertEqual(*args, exact_dtype=False, **kwargs)

    def assertNotWarn(self, callable: Callable[[], Any], msg: str = "") -> None:  # noqa: N802
        """Call ``callable``; fail if it warns (torch's warn-once warnings included)."""
        with warnings.catch_warnings(record=True) as caught, _warn_always():
            warnings.simplefilter("always")
            callable()
        self.assertTrue(len(caught) == 0, msg)

    @contextlib.contextmanager
    def assertWarnsOnceRegex(self, category: type, regex: str = "") -> Iterator[None]:  # noqa: N802
        """The block must warn ``category`` matching ``regex``, even a TORCH_WARN_ONCE already seen."""
        pattern = re.compile(regex)
        with warnings.catch_warnings(record=True) as caught, _warn_always():
            warnings.simplefilter("always")
            yield
        if not caught:
            self.fail("no warning caught")
        self.assertTrue(any(type(w.message) is category for w in caught))
        self.assertTrue(any(re.match(pattern, str(w.message)) for w in caught),
                        f"{pattern}, {[w.message for w in caught if type(w.message) is category]}")
