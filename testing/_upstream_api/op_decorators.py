"""common_device_type's OpInfo-side names: precision and tolerance overrides, the linear-algebra
library skips, and ``ops`` / ``OpDTypes``, which expand a test over an OpInfo list.

torch's OpInfo database (loaded from the installed torch, testing/_fork/suites.py) decorates its
entries with these; a test file's ``@ops(op_db)`` expands through the same parametrize protocol as
``@parametrize`` (testing._core.naming), so names are upstream's ``<test>_<op>_<device>_<dtype>``.
"""

from __future__ import annotations

import copy
import unittest
from collections import namedtuple
from collections.abc import Sequence
from enum import Enum
from functools import partial, wraps
from typing import Any, Callable, Optional, Union

import torch

from testing._core.config import env_value
from testing._core.naming import update_param_kwargs
from testing._upstream_api.device_decorators import skipCPUIf, skipCUDAIf, skipXPUIf
from testing._upstream_api.flags import IS_WINDOWS, TEST_WITH_ROCM
from testing._upstream_api.opinfo_support import clear_tracked_input, get_tracked_input
from testing._upstream_api.upstream_utils import TEST_WITH_TORCHINDUCTOR, skipIfTorchDynamo

tol = namedtuple("tol", ["atol", "rtol"])


class precisionOverride:  # noqa: N801  (upstream's name)
    """Per-dtype ``self.precision`` for a device-type test: ``@precisionOverride({torch.half: 1e-2})``."""

    def __init__(self, d: dict) -> None:
        if not isinstance(d, dict):
            raise AssertionError("precisionOverride not given a dtype : precision dict!")
        for dtype in d:
            if not isinstance(dtype, torch.dtype):
                raise AssertionError(f"precisionOverride given unknown dtype {dtype}")
        self.d = d

    def __call__(self, fn: Callable) -> Callable:
        fn.precision_overrides = self.d
        return fn


class toleranceOverride:  # noqa: N801
    """Per-dtype ``tol(atol, rtol)``; wins over precisionOverride."""

    def __init__(self, d: dict) -> None:
        if not isinstance(d, dict):
            raise AssertionError("toleranceOverride not given a dtype : tol dict!")
        for dtype, prec in d.items():
            if not isinstance(dtype, torch.dtype):
                raise AssertionError(f"toleranceOverride given unknown dtype {dtype}")
            if not isinstance(prec, tol):
                raise AssertionError("toleranceOverride not given a dtype : tol dict!")
        self.d = d

    def __call__(self, fn: Callable) -> Callable:
        fn.tolerance_overrides = self.d
        return fn


def has_cusolver() -> bool:
    return not TEST_WITH_ROCM


def has_hipsolver() -> bool:
    return TEST_WITH_ROCM


def skipCPUIfNoFFT(fn: Callable) -> Callable:  # noqa: N802
    return skipCPUIf(not torch._C.has_spectral, "PyTorch is built without FFT support")(fn)


def skipCPUIfNoLapack(fn: Callable) -> Callable:  # noqa: N802
    return skipCPUIf(not torch._C.has_lapack, "PyTorch compiled without Lapack")(fn)


def skipCPUIfNoMklSparse(fn: Callable) -> Callable:  # noqa: N802
    return skipCPUIf(IS_WINDOWS or not torch.backends.mkl.is_available(), "PyTorch is built without MKL support")(fn)


def skipCUDAIfNoMagma(fn: Callable) -> Callable:  # noqa: N802
    fn._do_cuda_non_default_stream = False  # upstream's skipCUDANonDefaultStreamIf(True)
    return skipCUDAIf("no_magma", "no MAGMA library detected")(fn)


def skipCUDAIfNoCusolver(fn: Callable) -> Callable:  # noqa: N802
    return skipCUDAIf(not has_cusolver() and not has_hipsolver(), "cuSOLVER not available")(fn)


def skipCUDAIfNoMagmaAndNoCusolver(fn: Callable) -> Callable:  # noqa: N802
    return fn if has_cusolver() else skipCUDAIfNoMagma(fn)


def skipCUDAIfNoMagmaAndNoLinalgsolver(fn: Callable) -> Callable:  # noqa: N802
    return fn if has_cusolver() or has_hipsolver() else skipCUDAIfNoMagma(fn)


def skipCUDAIfRocm(func: Optional[Callable] = None, *, msg: str = "test doesn't currently work on the ROCm stack") -> Any:  # noqa: N802
    def dec_fn(fn: Callable) -> Callable:
        return skipCUDAIf(TEST_WITH_ROCM, reason=f"skipCUDAIfRocm: {msg}")(fn)

    return dec_fn(func) if func else dec_fn


def skipXPU(fn: Callable) -> Callable:  # noqa: N802
    return skipXPUIf(True, "test doesn't work on XPU backend")(fn)


def disablecuDNN(fn: Callable) -> Callable:  # noqa: N802
    @wraps(fn)
    def disable_cudnn(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.device_type == "cuda" and self.has_cudnn():
            with torch.backends.cudnn.flags(enabled=False):
                return fn(self, *args, **kwargs)
        return fn(self, *args, **kwargs)

    return disable_cudnn


class OpDTypes(Enum):
    supported = 0  # every dtype the op supports (the default)
    unsupported = 1
    supported_backward = 2
    unsupported_backward = 3
    any_one = 4  # one supported dtype, forward and backward if possible
    none = 5  # no dtype variants
    any_common_cpu_cuda_one = 6


ANY_DTYPE_ORDER = (
    torch.float32, torch.float64, torch.complex64, torch.complex128, torch.float16, torch.bfloat16,
    torch.long, torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool, torch.float8_e4m3fn,
    torch.float8_e5m2,
)


def _all_dtypes() -> list:
    """common_dtype's get_all_dtypes() with its defaults: ints, floats, half, bfloat16, bool, complex."""
    return [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.float32, torch.float64,
            torch.float16, torch.bfloat16, torch.bool, torch.complex64, torch.complex128]


def _dtypes_for(op: Any, choice: Union[OpDTypes, Sequence], device_type: str) -> set:
    if isinstance(choice, Sequence):
        return set(choice)
    if choice == OpDTypes.unsupported_backward:
        return set(_all_dtypes()).difference(op.supported_backward_dtypes(device_type))
    if choice == OpDTypes.supported_backward:
        return op.supported_backward_dtypes(device_type)
    if choice == OpDTypes.unsupported:
        return set(_all_dtypes()).difference(op.supported_dtypes(device_type))
    if choice == OpDTypes.supported:
        return set(op.supported_dtypes(device_type))
    if choice == OpDTypes.any_one:
        supported = set(op.supported_dtypes(device_type))
        both = supported.intersection(op.supported_backward_dtypes(device_type))
        pool = both if both else supported
        return next(({d} for d in ANY_DTYPE_ORDER if d in pool), set())
    if choice == OpDTypes.any_common_cpu_cuda_one:
        common = set(op.dtypes).intersection(op.dtypesIfCUDA)
        return next(({d} for d in ANY_DTYPE_ORDER if d in common), set())
    if choice == OpDTypes.none:
        return {None}
    raise RuntimeError(f"Unknown OpDType: {choice}")


def _apply_op_overrides(device_cls: type, op_list: list, test: Callable) -> list:
    """Upstream's class-level ``op_overrides`` and the test's ``_op_overrides`` (skipOps) as decorators."""
    class_overrides = getattr(device_cls, "op_overrides", None) or {}
    test_overrides = getattr(test, "_op_overrides", {})
    if not class_overrides and not test_overrides:
        return op_list
    op_dict = {op.full_name: op for op in copy.deepcopy(op_list)}
    for op_name, decorators in class_overrides.items():
        for decorator in decorators:
            decorator.device_type = device_cls.device_type
            if op_name in op_dict:
                op_dict[op_name].decorators += (decorator,)
    for op_name, decorators in test_overrides.items():
        for decorator in decorators:
            if op_name in op_dict:
                op_dict[op_name].decorators += (decorator,)
    return list(op_dict.values())


class ops:  # noqa: N801
    """``@ops(op_list, dtypes=..., allowed_dtypes=...)``: one test per OpInfo and dtype, named
    ``<test>_<op.formatted_name>_<device>_<dtype>``, each with the OpInfo's own decorators."""

    def __init__(self, op_list: Any, *, dtypes: Union[OpDTypes, Sequence] = OpDTypes.supported,
                 allowed_dtypes: Optional[Sequence] = None, skip_if_dynamo: bool = True) -> None:
        self.op_list = list(op_list)
        self.opinfo_dtypes = dtypes
        self.allowed_dtypes = set(allowed_dtypes) if allowed_dtypes is not None else None
        self.skip_if_dynamo = skip_if_dynamo

    def __call__(self, fn: Callable) -> Callable:
        if hasattr(fn, "parametrize_fn"):
            from testing._core.naming import compose_parametrize_fns

            fn.parametrize_fn = compose_parametrize_fns(self._parametrize_test, fn.parametrize_fn)
        else:
            fn.parametrize_fn = self._parametrize_test
        return fn

    def _parametrize_test(self, test: Callable, generic_cls: Any, device_cls: Any):
        if device_cls is None:
            raise RuntimeError(
                "The @ops decorator is only intended to be used in a device-specific "
                "context; use it with instantiate_device_type_tests() instead of "
                "instantiate_parametrized_tests()")
        allowlist = getattr(device_cls, "op_allowlist", None)
        if allowlist is not None:
            self.op_list = [op for op in self.op_list if op.full_name in set(allowlist)]
        self.op_list = _apply_op_overrides(device_cls, self.op_list, test)
        if not self.op_list:
            if env_value("OPINFO_RESTRICT_TO_DSL"):
                return
            raise ValueError("An empty op_list was passed to @ops. "
                             "Note that this may result from reuse of a generator.")
        for op in self.op_list:
            dtypes = _dtypes_for(op, self.opinfo_dtypes, device_cls.device_type)
            if self.allowed_dtypes is not None:
                dtypes = dtypes.intersection(self.allowed_dtypes)
            for dtype in dtypes:
                param_kwargs: dict = {"op": op}
                update_param_kwargs(param_kwargs, "dtype", dtype)
                test_wrapper = _tracked(test)
                if self.skip_if_dynamo and not TEST_WITH_TORCHINDUCTOR:
                    test_wrapper = skipIfTorchDynamo("Policy: we don't run OpInfo tests w/ Dynamo")(test_wrapper)
                test.tracked_input = None
                decorator_fn = partial(op.get_decorators, generic_cls.__name__, test.__name__,
                                       device_cls.device_type, dtype)
                yield (test_wrapper, op.formatted_name, param_kwargs, decorator_fn)


def _tracked(test: Callable) -> Callable:
    """The test, with the last sample input named in its failure (upstream's repro text)."""

    @wraps(test)
    def test_wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return test(*args, **kwargs)
        except unittest.SkipTest:
            raise
        except Exception as e:
            tracked = get_tracked_input()
            if tracked is not None and env_value("PYTORCH_PRINT_REPRO_ON_FAILURE", "1") == "1":
                summary = tracked.val.summary() if getattr(tracked.val, "summary", None) is not None else str(tracked.val)
                e_tracked = Exception(f"{e}\n\nCaused by {tracked.type_desc} at index {tracked.index}: {summary}")
                e_tracked._tracked_input = tracked
                raise e_tracked from e
            raise
        finally:
            clear_tracked_input()

    return test_wrapper
