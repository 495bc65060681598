"""LazyVal: a value computed on first use (upstream's ``common_utils.LazyVal``).

Flags such as ``SM80OrLater`` or ``TEST_MULTIACCELERATOR`` query the accelerator runtime; doing that
at import time would initialise it in the test process (and make forking rank processes unsafe), so
they are lazy as upstream's are: evaluated by the first ``bool()``, comparison or arithmetic.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

_OPERATORS = (
    "add", "sub", "mul", "truediv", "floordiv", "mod", "divmod", "pow", "lshift", "rshift", "and", "or",
    "xor", "neg", "pos", "abs", "invert", "eq", "ne", "lt", "le", "gt", "ge", "bool", "int", "index",
)


class LazyVal:
    def __init__(self, cb: Callable[[], Any]) -> None:
        self._cb = cb
        self._value: Any = None

    def _get(self) -> Any:
        if self._cb is not None:
            self._value = self._cb()
            self._cb = None
        return self._value

    def __repr__(self) -> str:
        return f"LazyVal({self._get()!r})"

    def __hash__(self) -> int:
        return hash(self._get())


def _forward(basename: str) -> Callable:
    name = f"__{basename}__"
    builtin = {"bool": bool, "int": int, "divmod": divmod}.get(basename)

    def wrapped(self: LazyVal, *args: Any, **kwargs: Any) -> Any:
        value = self._get()
        if builtin is not None:
            return builtin(value, *args, **kwargs)
        return getattr(operator, name)(value, *args, **kwargs)

    wrapped.__name__ = name
    return wrapped


for _basename in _OPERATORS:
    setattr(LazyVal, f"__{_basename}__", _forward(_basename))
