"""Where a test's world size came from, in words, for tests that ran on no rank.

A class whose ``world_size`` is ``min(4, torch.cuda.device_count())`` starts no rank on a machine
without CUDA, and upstream's harness passes such a test having checked nothing. The outcome stays
upstream's; reports say that it ran on 0 ranks and name the definition that gave the 0.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any, Optional


def _returned_expression(fget: Any) -> Optional[str]:
    """The source of a property's last ``return`` expression (``min(4, torch.cuda.device_count())``)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fget)))
    except (OSError, TypeError, SyntaxError):
        return None
    returns = [node for node in ast.walk(tree) if isinstance(node, ast.Return) and node.value is not None]
    return ast.unparse(returns[-1].value) if returns else None


def world_size_source(test: Any) -> str:
    """``TestX.world_size (min(4, torch.cuda.device_count()))``, ``TestX.world_size = 0``, ..."""
    if "world_size" in vars(test):
        return f"{type(test).__name__}: the test's world_size attribute"
    for klass in type(test).__mro__:
        if "world_size" in vars(klass):
            value = vars(klass)["world_size"]
            name = f"{klass.__name__}.world_size"
            if isinstance(value, property):
                expression = _returned_expression(value.fget)
                return f"{name} ({expression})" if expression else f"{name} (a property)"
            return f"{name} = {value!r}"
    return "world_size"
