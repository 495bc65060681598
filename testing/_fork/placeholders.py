"""Upstream names the harness lacks, imported as placeholders so that only the tests using them fail.

An unmodified upstream file may import a name that ``testing`` does not provide. Whether that
costs the whole file or only some tests depends on where the file uses it, which is read from its
source before it runs (`blocking_uses`):

* only inside test bodies, or as a decorator of a function (``@name`` or ``@name(args)``): the
  name imports as a `Placeholder`. A test that calls it, or that it decorates, errors with
  ``unsupported upstream API: <module>.<name>``; the file's other tests run.
* anywhere else at import time (a base class, a module-level call or assignment, a class-level
  value, a class decorator, an argument of another decorator): the file cannot be defined without
  it, so it fails as one error entry, as before.

The placeholder enforces the same rule while the file runs: called from a function (a test body)
it raises; as a decorator at class or module level it returns a stand-in that raises when the test
runs. Any other use (attributes, truth value, iteration, subclassing) raises at once.
"""

from __future__ import annotations

import ast
import functools
import inspect
import sys
from typing import Any, Callable, Iterator


class UnsupportedUpstreamAPI(ImportError):
    """An upstream harness module or name that this harness does not provide."""


# users meet it as the redirect's error (its name in tracebacks and reports since it was defined there)
UnsupportedUpstreamAPI.__module__ = "testing._fork.redirect"


def report(qualified_name: str) -> str:
    """The one-line message of a missing name (``torch.testing._internal.common_x.name``)."""
    return f"unsupported upstream API: {qualified_name}"


def _at_import_time(frame: Any) -> bool:
    """Whether ``frame`` runs a module or class body (decorators are applied there), not a function."""
    return not (frame.f_code.co_flags & inspect.CO_NEWLOCALS)


def _decorating(args: tuple, kwargs: dict) -> bool:
    return len(args) == 1 and not kwargs and inspect.isfunction(args[0])


def _raising_test(qualified_name: str, fn: Callable) -> Callable:
    """What a decorated test becomes: the same name and marks, raising the report when run."""

    @functools.wraps(fn)
    def unsupported(*args: Any, **kwargs: Any) -> Any:
        if _at_import_time(sys._getframe(1)) and _decorating(args, kwargs):
            return _raising_test(qualified_name, args[0])  # ``@name(fn_arg)`` applied to the test
        raise UnsupportedUpstreamAPI(report(qualified_name), name=qualified_name)

    return unsupported


class Placeholder:
    """Stands for an upstream name this harness lacks; see the module docstring for what it allows."""

    def __init__(self, qualified_name: str) -> None:
        object.__setattr__(self, "_qualified_name", qualified_name)

    def _refuse(self) -> UnsupportedUpstreamAPI:
        name = object.__getattribute__(self, "_qualified_name")
        return UnsupportedUpstreamAPI(report(name), name=name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = object.__getattribute__(self, "_qualified_name")
        if not _at_import_time(sys._getframe(1)):
            raise self._refuse()
        if _decorating(args, kwargs):
            return _raising_test(name, args[0])
        return _DecoratorFactory(name)  # ``@name(args)``: what it returns decorates the test

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__") and attribute.endswith("__"):
            raise AttributeError(attribute)  # protocols probed by tools (copy, pickle, pytest) stay ordinary
        raise self._refuse()

    def __setattr__(self, attribute: str, value: Any) -> None:
        raise self._refuse()

    def __mro_entries__(self, bases: tuple) -> tuple:
        raise self._refuse()

    def __bool__(self) -> bool:
        raise self._refuse()

    def __iter__(self) -> Iterator:
        raise self._refuse()

    def __repr__(self) -> str:
        return f"<{report(object.__getattribute__(self, '_qualified_name'))}>"


class _DecoratorFactory(Placeholder):
    """The result of ``name(args)`` at import time: accepted only as a function's decorator."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _at_import_time(sys._getframe(1)) and _decorating(args, kwargs):
            return _raising_test(object.__getattribute__(self, "_qualified_name"), args[0])
        raise self._refuse()


def _is_name(node: ast.AST, names: set[str]) -> bool:
    return isinstance(node, ast.Name) and node.id in names


def blocking_uses(tree: ast.AST, names: set[str]) -> dict[str, int]:
    """Of ``names`` (as the file binds them), those used at import time other than as a function's
    decorator, with the line of the first such use."""
    found: dict[str, int] = {}
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                if _is_name(decorator, names):
                    continue
                if isinstance(decorator, ast.Call) and _is_name(decorator.func, names):
                    stack.extend([*decorator.args, *decorator.keywords])
                    continue
                stack.append(decorator)
            stack.extend([*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)])
            continue  # the body runs when the test runs
        if isinstance(node, ast.Lambda):
            stack.extend([*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)])
            continue
        if isinstance(node, ast.Name) and node.id in names and isinstance(node.ctx, ast.Load):
            found[node.id] = min(found.get(node.id, node.lineno), node.lineno)
        stack.extend(ast.iter_child_nodes(node))
    return found
