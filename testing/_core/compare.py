"""``assertEqual``'s comparison, on torch's comparison framework (``torch.testing._comparison``).

Upstream's TestCase.assertEqual is permissive in documented ways: python numbers compare without
type checks and against one-element tensors, sequences against tensors, strings/sets/types/objects
through unittest's own equality. The pair classes below give those relaxations; tolerances, dtype
strictness and messages come from torch's framework, so they stay what upstream prints.
"""

from __future__ import annotations

import enum
import unittest
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Optional, Union

import numpy as np
import torch
from torch.testing._comparison import (
    BooleanPair,
    NonePair,
    NumberPair,
    Pair,
    TensorLikePair,
    not_close_error_metas,
)

try:  # torch >= 2.10 compares DTensors placement- and mesh-aware at the top level
    from torch.testing._comparison import _unwrap_dtensor_for_comparison
except ImportError:  # pragma: no cover - older torch

    def _unwrap_dtensor_for_comparison(actual: Any, expected: Any) -> tuple[Any, Any]:
        return actual, expected


_TENSOR_OR_ARRAY = (torch.Tensor, np.ndarray)


def _single_item(value: Any, what: str, fail: Callable) -> Any:
    numel = value.numel() if isinstance(value, torch.Tensor) else value.size
    if numel > 1:
        fail(ValueError, f"Only single element tensor-likes can be compared against a {what}. Got {numel} elements instead.")
    return value.item()


def _require_one_side(pair: Pair, actual: Any, expected: Any, also: tuple) -> None:
    """The relaxed pairs take a value of their own type against their own type or one of ``also``."""
    own = pair._supported_types
    others = (*own, *also)
    if not ((isinstance(actual, own) and isinstance(expected, others))
            or (isinstance(expected, own) and isinstance(actual, others))):
        pair._inputs_not_supported()


class RelaxedBooleanPair(BooleanPair):
    """A bool against a bool, a number, or a one-element tensor/array."""

    def _process_inputs(self, actual, expected, *, id):
        _require_one_side(self, actual, expected, (*NumberPair(0, 0)._supported_types, *_TENSOR_OR_ARRAY))
        return [self._as_bool(value, id=id) for value in (actual, expected)]

    def _as_bool(self, value, *, id):
        if isinstance(value, np.number):
            return bool(value.item())
        if isinstance(value, _TENSOR_OR_ARRAY):
            return bool(_single_item(value, "boolean", lambda t, m: self._fail(t, m, id=id)))
        if type(value) in NumberPair(0, 0)._supported_types:
            return bool(value)
        return super()._to_bool(value, id=id)


class RelaxedNumberPair(NumberPair):
    """Numbers without type checks, against one-element tensors or enums; float32 tolerances for floats."""

    _TYPE_TO_DTYPE = {int: torch.int64, float: torch.float32, complex: torch.complex64}

    def __init__(self, actual, expected, *, rtol_override=0.0, atol_override=0.0, check_dtype=None, **kwargs):
        super().__init__(actual, expected, check_dtype=False, **kwargs)
        self.rtol = max(self.rtol, rtol_override)
        self.atol = max(self.atol, atol_override)

    def _process_inputs(self, actual, expected, *, id):
        _require_one_side(self, actual, expected, _TENSOR_OR_ARRAY)
        return [self._as_number(value, id=id) for value in (actual, expected)]

    def _as_number(self, value, *, id):
        if isinstance(value, _TENSOR_OR_ARRAY):
            number = _single_item(value, "number", lambda t, m: self._fail(t, m, id=id))
            return int(number) if isinstance(number, bool) else number
        if isinstance(value, enum.Enum):
            return int(value)
        number = super()._to_number(value, id=id)
        if type(number) not in self._TYPE_TO_DTYPE:
            self._inputs_not_supported()
        return number


class TensorOrArrayPair(TensorLikePair):
    """Tensors and numpy arrays only (either side may be either), with tolerance overrides."""

    def __init__(self, actual, expected, *, rtol_override=0.0, atol_override=0.0, **kwargs):
        super().__init__(actual, expected, **kwargs)
        self.rtol = max(self.rtol, rtol_override)
        self.atol = max(self.atol, atol_override)

    def _process_inputs(self, actual, expected, *, id, allow_subclasses):
        self._check_inputs_isinstance(actual, expected, cls=_TENSOR_OR_ARRAY)
        actual, expected = (self._to_tensor(value) for value in (actual, expected))
        for tensor in (actual, expected):
            self._check_supported(tensor, id=id)
        return actual, expected


class _UnittestPair(Pair):
    """Non-numeric values, compared (and described) by unittest's own assertEqual."""

    CLS: Union[type, tuple[type, ...]] = object
    TYPE_NAME: Optional[str] = None

    def __init__(self, actual, expected, **kwargs):
        self._check_inputs_isinstance(actual, expected, cls=self.CLS)
        super().__init__(actual, expected, **kwargs)

    def compare(self) -> None:
        checker = unittest.TestCase()
        try:
            checker.assertEqual(self.actual, self.expected)
            return
        except checker.failureException as error:
            message = str(error)
        name = self.TYPE_NAME or (self.CLS if isinstance(self.CLS, type) else self.CLS[0]).__name__
        self._fail(AssertionError, f"{name.title()} comparison failed: {message}")


class StringPair(_UnittestPair):
    CLS = (str, bytes)
    TYPE_NAME = "string"


class SetPair(_UnittestPair):
    CLS = set


class TypePair(_UnittestPair):
    CLS = type


class ObjectPair(_UnittestPair):
    CLS = object


PAIR_TYPES = (
    NonePair,
    RelaxedBooleanPair,
    RelaxedNumberPair,
    TensorOrArrayPair,
    StringPair,
    SetPair,
    TypePair,
    ObjectPair,
)


def _container_types() -> tuple[tuple[type, ...], tuple[type, ...]]:
    from torch import nn

    sequences = (Sequence, nn.Sequential, nn.ModuleList, nn.ParameterList, torch.utils.data.dataset.Subset)
    mappings = (Mapping, nn.ModuleDict, nn.ParameterDict)
    return sequences, mappings


def _torch_has_dtype(dtype: np.dtype) -> bool:
    try:
        torch.from_numpy(np.empty(0, dtype=dtype))
        return True
    except TypeError:
        return False


def assert_equal(
    x: Any,
    y: Any,
    msg: Union[str, Callable[[str], str], None] = None,
    *,
    atol: Optional[float] = None,
    rtol: Optional[float] = None,
    equal_nan: bool = True,
    exact_dtype: bool = True,
    exact_device: bool = False,
    exact_layout: bool = False,
    exact_stride: bool = False,
    exact_is_coalesced: bool = False,
    rtol_override: float = 0.0,
    atol_override: float = 0.0,
    long_message: bool = True,
) -> None:
    """Raise the comparison's error when ``x`` and ``y`` differ (upstream TestCase.assertEqual)."""
    __tracebackhide__ = True
    if any(isinstance(v, np.ndarray) and not _torch_has_dtype(v.dtype) for v in (x, y)):
        x, y = (v.tolist() if isinstance(v, _TENSOR_OR_ARRAY) else list(v) for v in (x, y))
    elif isinstance(x, torch.Tensor) and isinstance(y, Sequence):
        y = torch.as_tensor(y, dtype=x.dtype, device=x.device)
    elif isinstance(x, Sequence) and isinstance(y, torch.Tensor):
        x = torch.as_tensor(x, dtype=y.dtype, device=y.device)
    x, y = (v.unbind() if isinstance(v, torch.Tensor) and v.is_nested and v.layout == torch.strided else v for v in (x, y))
    x, y = _unwrap_dtensor_for_comparison(x, y)

    sequences, mappings = _container_types()
    metas = not_close_error_metas(
        x,
        y,
        pair_types=PAIR_TYPES,
        sequence_types=sequences,
        mapping_types=mappings,
        rtol=rtol,
        rtol_override=rtol_override,
        atol=atol,
        atol_override=atol_override,
        equal_nan=equal_nan,
        check_device=exact_device,
        check_dtype=exact_dtype,
        check_layout=exact_layout,
        check_stride=exact_stride,
        check_is_coalesced=exact_is_coalesced,
    )
    if metas:
        if isinstance(msg, str) and long_message:
            text = msg
            msg = lambda generated: f"{generated}\n{text}"  # noqa: E731  (unittest's longMessage)
        raise metas[0].to_error(msg)
