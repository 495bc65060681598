"""Parametrization and the names it gives tests.

A parametrize decorator never wraps the test: it attaches a ``parametrize_fn`` generator to it.
Because ``functools.wraps`` copies ``__dict__``, outer decorators (with_comms, skip_if_lt_x_gpu)
carry that attribute outward, and the instantiators call it on the outermost wrapper. A
parametrize_fn takes ``(test, generic_cls, device_cls)`` and yields
``(test_fn, name_suffix, param_kwargs, decorator_fn)``. The names must equal upstream's exactly,
since test ids are how forks track upstream results.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Optional

import torch

ParamTuple = tuple[Callable, str, dict, Callable[[dict], list]]
ParametrizeFn = Callable[[Callable, type, Optional[type]], Iterator[ParamTuple]]


def short_id(test: Any) -> str:
    """``Class.test_name`` of a test case or a full test id (``module.Class.test_name``): the id upstream
    prints with ``--discover-tests`` and that every report of this harness uses."""
    test_id = test if isinstance(test, str) else test.id()
    return ".".join(test_id.split(".")[-2:])


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.float32`` -> ``"float32"``."""
    return str(dtype).split(".")[1]


def dtype_suffix(dtype_kwarg: Any) -> str:
    """Suffix that follows the device part of a test name for its ``dtype``/``dtypes`` argument."""
    if dtype_kwarg is None:
        return ""
    if isinstance(dtype_kwarg, (list, tuple)):
        return "_" + "_".join(dtype_name(d) for d in dtype_kwarg)
    return "_" + dtype_name(dtype_kwarg)


def format_value(index: int, arg_name: str, value: Any) -> str:
    """One argument's part of a generated name, as upstream renders it."""
    if isinstance(value, torch.dtype):
        return dtype_name(value)
    if isinstance(value, torch.device):
        return str(value)
    if type(value).__name__ in ("OpInfo", "ModuleInfo"):
        return value.formatted_name
    if isinstance(value, (int, float, str)):  # bool is an int
        return f"{arg_name}_{str(value).replace('.', '_')}"
    return f"{arg_name}{index}"


def no_decorators(_param_kwargs: dict) -> list:
    return []


def default_parametrize_fn(test: Callable, generic_cls: type, device_cls: Optional[type]) -> Iterator[ParamTuple]:
    yield (test, "", {}, no_decorators)


def join_names(outer: str, inner: str) -> str:
    return f"{outer}{'_' if outer and inner else ''}{inner}"


def compose_parametrize_fns(old: ParametrizeFn, new: ParametrizeFn) -> ParametrizeFn:
    """Stack two parametrizations: ``old`` is nearer the function, ``new`` is the decorator above.

    Names read top decorator first (``<new>_<old>``); values of ``old`` vary slowest.
    """

    def composite(test: Callable, generic_cls: type, device_cls: Optional[type]) -> Iterator[ParamTuple]:
        for old_test, old_name, old_kwargs, old_decorators in list(old(test, generic_cls, device_cls)):
            for new_test, new_name, new_kwargs, new_decorators in new(old_test, generic_cls, device_cls):
                repeated = set(old_kwargs) & set(new_kwargs)
                if repeated:
                    raise RuntimeError(
                        "Parametrization over the same parameter by multiple parametrization decorators "
                        f'is not supported. For test "{test.__name__}", the following parameters are '
                        f"handled multiple times: {repeated}"
                    )

                def decorators(param_kwargs: dict, first=old_decorators, second=new_decorators) -> list:
                    return list(first(param_kwargs)) + list(second(param_kwargs))

                yield (new_test, join_names(new_name, old_name), {**old_kwargs, **new_kwargs}, decorators)

    return composite


class _TestParametrizer:
    """Base of parametrizing decorators: attaches (or stacks) a parametrize_fn on the test."""

    def _parametrize_test(self, test: Callable, generic_cls: type, device_cls: Optional[type]) -> Iterator[ParamTuple]:
        raise NotImplementedError

    def __call__(self, fn: Callable) -> Callable:
        existing = getattr(fn, "parametrize_fn", None)
        fn.parametrize_fn = (
            compose_parametrize_fns(existing, self._parametrize_test) if existing else self._parametrize_test
        )
        return fn


class subtest:  # noqa: N801  (upstream's name)
    """One explicit set of values for @parametrize, with an optional name and decorators."""

    __slots__ = ["arg_values", "name", "decorators"]

    def __init__(self, arg_values: Any, name: Optional[str] = None, decorators: Optional[list] = None) -> None:
        self.arg_values = arg_values
        self.name = name
        self.decorators = decorators if decorators else []


class parametrize(_TestParametrizer):  # noqa: N801
    """``@parametrize("x,y", [(1, 2), subtest((3, 4), name="big")], name_fn=None)``."""

    def __init__(self, arg_str: str, arg_values: Iterable, name_fn: Optional[Callable[..., str]] = None) -> None:
        self.arg_names = [name.strip() for name in arg_str.split(",") if name != ""]
        self.arg_values = arg_values
        self.name_fn = name_fn

    def _name_for(self, index: int, values: list, explicit: Optional[str]) -> str:
        if explicit:
            return explicit
        if self.name_fn:
            return self.name_fn(*values)
        return "_".join(format_value(index, name, value) for name, value in zip(self.arg_names, values))

    def _parametrize_test(self, test: Callable, generic_cls: type, device_cls: Optional[type]) -> Iterator[ParamTuple]:
        if not self.arg_names:
            yield (test, "", {}, no_decorators)
            return
        produced = False
        for index, values in enumerate(self.arg_values):
            produced = True
            explicit_name, decorators, generated = None, [], test
            if isinstance(values, subtest):
                explicit_name, decorators, values = values.name, values.decorators, values.arg_values
                # a fresh function object, so the subtest's decorators do not mark its siblings
                generated = functools.wraps(test)(lambda *args, _test=test, **kwargs: _test(*args, **kwargs))
            values = list(values) if len(self.arg_names) > 1 else [values]
            if len(values) != len(self.arg_names):
                raise RuntimeError(
                    f"Expected # values == # arg names, but got: {len(values)} values and "
                    f'{len(self.arg_names)} names for test "{test.__name__}"'
                )

            def decorator_fn(_param_kwargs: dict, chosen=decorators) -> list:
                return chosen

            yield (generated, self._name_for(index, values, explicit_name), dict(zip(self.arg_names, values)), decorator_fn)
        if not produced:
            raise ValueError(
                f"{test}: An empty arg_values was passed to @parametrize. "
                "Note that this may result from reuse of a generator."
            )


class reparametrize(_TestParametrizer):  # noqa: N801
    """Rewrite the values of an existing parametrization (upstream's ``reparametrize``)."""

    def __init__(self, parametrizer: Any, generator: Callable, skip_on_empty: bool = False) -> None:
        self.parametrizer = parametrizer
        self.generator = generator
        self.skip_on_empty = skip_on_empty

    def _parametrize_test(self, test: Callable, generic_cls: type, device_cls: Optional[type]) -> Iterator[ParamTuple]:
        for gen_test, name, kwargs, decorator_fn in self.parametrizer._parametrize_test(test, generic_cls, device_cls):
            for new_name, new_kwargs in self.generator(name, kwargs):
                yield (gen_test, new_name, new_kwargs, decorator_fn)


def update_param_kwargs(param_kwargs: dict, name: str, value: Any) -> None:
    """Set ``name`` (or its plural for a list/tuple value) in param_kwargs, dropping the other form."""
    plural = f"{name}s"
    param_kwargs.pop(name, None)
    param_kwargs.pop(plural, None)
    if isinstance(value, (list, tuple)):
        param_kwargs[plural] = value
    elif value is not None:
        param_kwargs[name] = value
