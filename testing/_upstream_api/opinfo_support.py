"""common_utils names that torch's OpInfo database and the suites shipped in torch import.

``common_methods_invocations``, ``opinfo`` and the RPC suites load from the installed torch
(testing/_fork/suites.py) and take these from ``common_utils``: platform flags, the numpy/torch
dtype maps, the sample-input tracker, and a few decorators. Upstream's semantics and messages.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import inspect
import platform
import tempfile
import unittest
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import wraps
from typing import Any, Optional

import numpy as np
import torch

from testing._core.case import SEED, set_rng_seed
from testing._core.config import env_value
from testing._upstream_api.upstream_utils import TEST_WITH_SLOW

IS_PPC = platform.machine() == "ppc64le"
IS_ARM64 = platform.machine() in ("arm64", "aarch64", "ARM64")
MACOS_VERSION = float(".".join(platform.mac_ver()[0].split(".")[:2]) or -1)
TEST_SCIPY = importlib.util.find_spec("scipy") is not None
USE_PYTEST = False  # upstream sets it from --use-pytest; this harness's runner is its own
TEST_WITH_CROSSREF = env_value("PYTORCH_TEST_WITH_CROSSREF", "0") == "1"
TEST_WITH_SLOW_GRADCHECK = env_value("PYTORCH_TEST_WITH_SLOW_GRADCHECK", "0") == "1"
_sample_index = env_value("PYTORCH_OPINFO_SAMPLE_INPUT_INDEX")
OPINFO_SAMPLE_INPUT_INDEX: Optional[int] = None if _sample_index is None else int(_sample_index)
GRADCHECK_NONDET_TOL = 1e-12

skipIfSlowGradcheckEnv = unittest.skipIf(  # noqa: N816  (upstream's name)
    TEST_WITH_SLOW_GRADCHECK, "Tests that don't use gradcheck don't need to run on slow_gradcheck CI"
)


def dsl_available(name: str) -> bool:
    """Whether torch's native DSL registry has ``name`` (triton, cutedsl, flydsl)."""
    try:
        from torch._native.dsl_registry import dsl_registry
    except ImportError:
        return False
    return dsl_registry.is_dsl_available(name)


skipIfNoTritonDSL = unittest.skipIf(not dsl_available("triton"), "Triton DSL not available")  # noqa: N816
skipIfNoCuteDSL = unittest.skipIf(not dsl_available("cutedsl"), "CuTeDSL not available")  # noqa: N816


def slowTest(fn: Callable) -> Callable:  # noqa: N802
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        if not TEST_WITH_SLOW:
            raise unittest.SkipTest("test is slow; run with PYTORCH_TEST_WITH_SLOW to enable test")
        fn(*args, **kwargs)

    wrapper.__dict__["slow_test"] = True
    return wrapper


@contextlib.contextmanager
def TemporaryFileName(*args: Any, **kwargs: Any) -> Iterator[str]:  # noqa: N802
    with tempfile.NamedTemporaryFile(*args, **kwargs) as f:
        yield f.name


numpy_to_torch_dtype_dict = {
    np.bool_: torch.bool, np.uint8: torch.uint8, np.uint16: torch.uint16, np.uint32: torch.uint32,
    np.uint64: torch.uint64, np.int8: torch.int8, np.int16: torch.int16, np.int32: torch.int32,
    np.int64: torch.int64, np.float16: torch.float16, np.float32: torch.float32, np.float64: torch.float64,
    np.complex64: torch.complex64, np.complex128: torch.complex128,
}
torch_to_numpy_dtype_dict = {value: key for key, value in numpy_to_torch_dtype_dict.items()}
torch_to_numpy_dtype_dict.update({torch.bfloat16: np.float32, torch.complex32: np.complex64})


def numpy_to_torch_dtype(np_dtype: Any) -> torch.dtype:
    """np.float64 and np.dtype("float64") alike."""
    try:
        return numpy_to_torch_dtype_dict[np_dtype]
    except KeyError:
        return numpy_to_torch_dtype_dict[np_dtype.type]


def is_iterable_of_tensors(iterable: Any, include_empty: bool = False) -> bool:
    """True for a non-tensor iterable whose items are all tensors (an empty one: ``include_empty``)."""
    if isinstance(iterable, torch.Tensor):
        return False
    try:
        if len(iterable) == 0:
            return include_empty
        return all(isinstance(t, torch.Tensor) for t in iter(iterable))
    except TypeError:
        return False


def extract_test_fn() -> Optional[Callable]:
    """The running test's function, found by walking the stack (None outside a test)."""
    try:
        for frame_info in inspect.stack():
            self_val = frame_info.frame.f_locals.get("self")
            if isinstance(self_val, unittest.TestCase):
                *_, cls_name, test_name = self_val.id().rsplit(".", 2)
                if cls_name == type(self_val).__name__ and test_name.startswith("test"):
                    return getattr(self_val, test_name).__func__
    except Exception:
        pass
    return None


@dataclass
class TrackedInput:
    index: int
    val: Any
    type_desc: str


def get_tracked_input() -> Optional[TrackedInput]:
    test_fn = extract_test_fn()
    return None if test_fn is None else getattr(test_fn, "tracked_input", None)


def clear_tracked_input() -> None:
    test_fn = extract_test_fn()
    if test_fn is not None and hasattr(test_fn, "tracked_input"):
        test_fn.tracked_input = None


class TrackedInputIter:
    """Iterates sample inputs, reseeding before each from the test's name, and records the last one
    on the test function (for the repro line of a failure)."""

    def __init__(self, child_iter: Any, input_type_desc: str, item_callback: Optional[Callable] = None,
                 track_callback: Optional[Callable] = None, set_seed: bool = True,
                 restrict_to_index: Optional[int] = None) -> None:
        self.child_iter = enumerate(child_iter)
        self.input_type_desc = input_type_desc
        self.item_callback = item_callback or (lambda x, i: x)
        self.track_callback = track_callback or (lambda x: x)
        self.test_fn = extract_test_fn()
        self.set_seed = set_seed
        self.restrict_to_index = restrict_to_index

    def __iter__(self) -> TrackedInputIter:
        return self

    def __next__(self) -> Any:
        while True:
            if self.set_seed:
                seed = (int.from_bytes(hashlib.sha256(self.test_fn.__qualname__.encode("utf-8")).digest()[:4], "little")
                        if self.test_fn is not None else SEED)
                set_rng_seed(seed)
            input_idx, input_val = next(self.child_iter)
            if self.restrict_to_index is None or input_idx == self.restrict_to_index:
                break
        if self.test_fn is not None and hasattr(self.test_fn, "tracked_input"):
            self.test_fn.tracked_input = TrackedInput(input_idx, self.track_callback(input_val), self.input_type_desc)
        return self.item_callback(input_val, input_idx)


def markDynamoStrictTest(cls_or_func: Any = None, nopython: bool = False) -> Any:  # noqa: N802
    """Marks a class (attributes) or a test (reset dynamo around it, errors not suppressed) as strict."""

    def decorator(cls_or_func: Any) -> Any:
        if inspect.isclass(cls_or_func):
            cls_or_func.dynamo_strict = True
            cls_or_func.dynamo_strict_nopython = nopython
            return cls_or_func
        fn = cls_or_func

        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> None:
            import unittest.mock

            import torch._dynamo

            torch._dynamo.reset()
            with unittest.mock.patch("torch._dynamo.config.suppress_errors", False):
                fn(*args, **kwargs)
            torch._dynamo.reset()

        return wrapper

    return decorator if cls_or_func is None else decorator(cls_or_func)


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # a dotted name whose parent package is absent
        return False


MI200_ARCH = ("gfx90a",)
TEST_NVMATH = _module_exists("nvmath.bindings") and torch.version.cuda is not None
skipIfNoNvmath = unittest.skipIf(not TEST_NVMATH, "nvmath-python not available")  # noqa: N816

# cuda-python's bindings on a CUDA build (2.15 also accepts hip-python's on ROCm, which this harness
# does not check)
TEST_CUDA_PYTHON_BINDINGS = _module_exists("cuda.bindings") and torch.version.cuda is not None
