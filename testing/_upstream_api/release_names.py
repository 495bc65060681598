"""Upstream ``common_utils`` names that exist only from a torch release on (see versions.TABLE).

The facade serves each of them only where the installed torch's harness has it. Meanings and
messages are upstream's; device questions go to the device table rather than to torch.cuda.
"""

from __future__ import annotations

import functools
import importlib
import unittest
from collections.abc import Callable
from enum import Enum
from typing import Any, Optional

import torch

from testing._core.config import env_value
from testing._core import devices as _devices
from testing._core import versions as _versions
from testing._core.versions import facade_names  # noqa: F401  (the facades take both from here)
from testing._upstream_api.flags import IS_SANDCASTLE, TEST_MPS, TEST_XPU
from testing._upstream_api.opinfo_support import TEST_CUDA_PYTHON_BINDINGS, dsl_available
from testing._upstream_api.upstream_utils import IS_CI, TEST_ACCELERATOR, lazy_skip_if

try:
    import pytest

    _HAS_PYTEST = True
except ImportError:  # pragma: no cover - pytest is optional, as upstream
    _HAS_PYTEST = False


class HardwareClassification(Enum):
    """The kind of hardware a test class needs (``hw_classification`` class attribute; torch 2.14+)."""

    GENERIC = "generic"
    ACCELERATOR = "accelerator"
    CPU = "cpu"
    CUDA = "cuda"
    MPS = "mps"
    XPU = "xpu"


HW_CLASSIFICATION: Optional[list[HardwareClassification]] = None  # upstream's --hw-classification value

# torch 2.15+: PYTORCH_TEST_WITH_PERIODIC=1, or TEST_CONFIG=periodic
TEST_WITH_PERIODIC = env_value("PYTORCH_TEST_WITH_PERIODIC", "0") == "1" or env_value("TEST_CONFIG") == "periodic"


def _marked(fn: Any, mark: str, skip: bool, reason: str) -> Any:
    """Upstream's shape for requires_multigpu / periodic: a pytest mark (when pytest is importable)
    and a skip; a function is wrapped first so parametrized variants do not share the metadata."""
    if isinstance(fn, type):
        if _HAS_PYTEST:
            fn = getattr(pytest.mark, mark)(fn)
        return unittest.skipIf(skip, reason)(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    if _HAS_PYTEST:
        wrapper = getattr(pytest.mark, mark)(wrapper)
    return unittest.skipIf(skip, reason)(wrapper)


def requires_multigpu(fn: Callable) -> Callable:
    """Needs two or more devices of the accelerator (upstream: ``torch.cuda.device_count() >= 2``)."""
    return _marked(fn, "multigpu", _devices.max_accelerator_count() < 2, "requires >= 2 GPUs")


def periodic(fn: Callable) -> Callable:
    """Runs only in periodic mode, and only gated in CI (elsewhere the test runs normally)."""
    skip = (IS_CI or IS_SANDCASTLE) and not TEST_WITH_PERIODIC
    return _marked(fn, "periodic", skip, "test is periodic; run with PYTORCH_TEST_WITH_PERIODIC to enable test")


requires_accelerator = lazy_skip_if(lambda: not TEST_ACCELERATOR, "requires accelerator")

requires_xpu = unittest.skipUnless(TEST_XPU, "Requires XPU")

# torch 2.14+
requires_cuda_python_bindings = unittest.skipUnless(TEST_CUDA_PYTHON_BINDINGS, "requires cuda-python (cuda.bindings)")
# torch 2.15+
IS_APPLE_M1 = bool(TEST_MPS and torch.backends.mps.get_name().startswith("Apple M1"))
skipIfNoFlyDSL = unittest.skipIf(not dsl_available("flydsl"), "FlyDSL not available")  # noqa: N816


# -- the version-dependent names of the facades -----------------------------------------------------

def _load(where: str) -> Any:
    module, _, attribute = where.partition(":")
    return getattr(importlib.import_module(module), attribute)


def facade_getattr(module_name: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` for a facade: its release-dependent names, present from their release on."""
    key = _versions.facade_key(module_name)

    def __getattr__(name: str) -> Any:  # noqa: N807
        table_name = f"name:{key}.{name}"
        where = _versions.current(table_name) if table_name in _versions.TABLE_NAMES else None
        if where is None:
            suffix = f" (upstream has it from torch {_versions.entry(table_name).since} on; installed: {_versions.release()})" \
                if table_name in _versions.TABLE_NAMES else ""
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}{suffix}")
        return _load(where)

    return __getattr__
