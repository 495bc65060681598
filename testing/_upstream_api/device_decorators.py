"""Upstream's per-device decorators of ``common_device_type``: onlyOn/onlyCPU/onlyCUDA, skip<DEV>If,
dtypes/dtypesIf<DEV>, deviceCountAtLeast, expectedFailure<DEV>, and the float8 type constants.

They read the test's ``device_type`` (set by the device class), never a device check of their own.
Under ``--device cpu`` a CPU class generated to emulate an accelerator (``emulated``) passes
``onlyOn(<accelerator>)`` gates as upstream's ``bypass_device_restrictions`` does: the point of
emulation is to run accelerator-only tests on CPU ranks.
"""

from __future__ import annotations

import functools
import sys
import unittest
from collections.abc import Callable, Iterable
from typing import Any, Union

import torch

from testing._core import cuda_mapping as _cuda_mapping
from testing._core import devices as _devices
from testing._core.skips import IS_SANDCASTLE

_PRIVATEUSE1 = _devices.privateuse1_name()


def _emulates(slf: Any, wanted: Union[str, Iterable[str]]) -> bool:
    if not getattr(slf, "emulated", False):
        return False
    names = [wanted] if isinstance(wanted, str) else list(wanted)
    rows = [_devices.lookup(name) for name in names]
    return any(row is not None and row.accelerator for row in rows)


class onlyOn:  # noqa: N801  (upstream's name)
    def __init__(self, device_type: Union[str, list]) -> None:
        self.device_type = device_type

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def only_fn(slf: Any, *args: Any, **kwargs: Any) -> Any:
            if slf.device_type not in self.device_type:
                if (getattr(slf, "bypass_device_restrictions", False) or _emulates(slf, self.device_type)
                        or _cuda_mapping.names_device(self.device_type, slf.device_type)):
                    return fn(slf, *args, **kwargs)
                reason = f"Only runs on {self.device_type}"
                if IS_SANDCASTLE:
                    print(f"Skipping {fn.__name__} on sandcastle for following reason: {reason}", file=sys.stderr)
                    return None
                raise unittest.SkipTest(reason)
            return fn(slf, *args, **kwargs)

        return only_fn


def onlyCPU(fn: Callable) -> Callable:  # noqa: N802
    return onlyOn("cpu")(fn)


def onlyCUDA(fn: Callable) -> Callable:  # noqa: N802
    return onlyOn("cuda")(fn)


def onlyXPU(fn: Callable) -> Callable:  # noqa: N802
    return onlyOn("xpu")(fn)


def onlyHPU(fn: Callable) -> Callable:  # noqa: N802
    return onlyOn("hpu")(fn)


def onlyMPS(fn: Callable) -> Callable:  # noqa: N802
    return onlyOn("mps")(fn)


def onlyPRIVATEUSE1(fn: Callable) -> Callable:  # noqa: N802
    if getattr(torch, _PRIVATEUSE1, None) is None:
        return unittest.skip(f"Skip as torch has no module of {_PRIVATEUSE1}")(fn)
    return onlyOn(_PRIVATEUSE1)(fn)


def onlyAccelerator(fn: Callable) -> Callable:  # noqa: N802
    @functools.wraps(fn)
    def only_fn(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.device_type in ("cpu", "meta") and not getattr(self, "emulated", False):
            raise unittest.SkipTest("onlyAccelerator: doesn't run on CPU or meta devices")
        return fn(self, *args, **kwargs)

    return only_fn


def onlyNativeDeviceTypes(fn: Callable) -> Callable:  # noqa: N802
    @functools.wraps(fn)
    def only_fn(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.device_type not in _devices.native_devices():
            raise unittest.SkipTest(f"onlyNativeDeviceTypes: doesn't run on {self.device_type}")
        return fn(self, *args, **kwargs)

    return only_fn


class skipIf:  # noqa: N801
    """Skip when ``dep`` holds (a bool, or the name of a test attribute) on ``device_type`` (None: all)."""

    def __init__(self, dep: Union[bool, str], reason: str, device_type: Any = None) -> None:
        self.dep = dep
        self.reason = reason
        self.device_type = device_type

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def dep_fn(slf: Any, *args: Any, **kwargs: Any) -> Any:
            wanted = self.device_type
            if wanted is None or wanted == slf.device_type or (
                isinstance(wanted, Iterable) and slf.device_type in wanted
            ) or _cuda_mapping.names_device(wanted, slf.device_type):
                if (isinstance(self.dep, str) and getattr(slf, self.dep, True)) or (
                    isinstance(self.dep, bool) and self.dep
                ):
                    raise unittest.SkipTest(self.reason)
            return fn(slf, *args, **kwargs)

        return dep_fn


def _skip_if_on(device_type: str) -> type:
    class _SkipOn(skipIf):
        def __init__(self, dep: Union[bool, str], reason: str) -> None:
            super().__init__(dep, reason, device_type=device_type)

    return _SkipOn


skipCPUIf = _skip_if_on("cpu")  # noqa: N816
skipCUDAIf = _skip_if_on("cuda")  # noqa: N816
skipXPUIf = _skip_if_on("xpu")  # noqa: N816
skipHPUIf = _skip_if_on("hpu")  # noqa: N816
skipMPSIf = _skip_if_on("mps")  # noqa: N816
skipMetaIf = _skip_if_on("meta")  # noqa: N816
skipPRIVATEUSE1If = _skip_if_on(_PRIVATEUSE1)  # noqa: N816
for _name, _cls in (("skipCPUIf", skipCPUIf), ("skipCUDAIf", skipCUDAIf), ("skipXPUIf", skipXPUIf),
                    ("skipHPUIf", skipHPUIf), ("skipMPSIf", skipMPSIf), ("skipMetaIf", skipMetaIf),
                    ("skipPRIVATEUSE1If", skipPRIVATEUSE1If)):
    _cls.__name__ = _cls.__qualname__ = _name


class dtypes:  # noqa: N801
    """Instantiate the test once per dtype (or per tuple of dtypes), for ``device_type`` or all."""

    def __init__(self, *args: Any, device_type: str = "all") -> None:
        if len(args) > 0 and isinstance(args[0], (list, tuple)):
            for arg in args:
                if not isinstance(arg, (list, tuple)):
                    raise AssertionError(
                        "When one dtype variant is a tuple or list, all dtype variants must be. "
                        f"Received non-list non-tuple dtype {str(arg)}")
                if not all(isinstance(dtype, torch.dtype) for dtype in arg):
                    raise AssertionError(f"Unknown dtype in {str(arg)}")
        elif not all(isinstance(arg, torch.dtype) for arg in args):
            raise AssertionError(f"Unknown dtype in {str(args)}")
        self.args = args
        self.device_type = device_type

    def __call__(self, fn: Callable) -> Callable:
        table = getattr(fn, "dtypes", {})
        if self.device_type in table:
            raise AssertionError(f"dtypes redefinition for {self.device_type}")
        table[self.device_type] = self.args
        fn.dtypes = table
        return fn


def _dtypes_if(device_type: str, name: str) -> type:
    def __init__(self: dtypes, *args: Any) -> None:
        dtypes.__init__(self, *args, device_type=device_type)

    return type(name, (dtypes,), {"__init__": __init__})


dtypesIfCPU = _dtypes_if("cpu", "dtypesIfCPU")  # noqa: N816
dtypesIfCUDA = _dtypes_if("cuda", "dtypesIfCUDA")  # noqa: N816
dtypesIfXPU = _dtypes_if("xpu", "dtypesIfXPU")  # noqa: N816
dtypesIfHPU = _dtypes_if("hpu", "dtypesIfHPU")  # noqa: N816
dtypesIfMPS = _dtypes_if("mps", "dtypesIfMPS")  # noqa: N816
dtypesIfPRIVATEUSE1 = _dtypes_if(_PRIVATEUSE1, "dtypesIfPRIVATEUSE1")  # noqa: N816


class deviceCountAtLeast:  # noqa: N801
    """Give the test every device of its type (``devices``); skip when there are fewer than ``n``."""

    def __init__(self, num_required_devices: int) -> None:
        self.num_required_devices = num_required_devices

    def __call__(self, fn: Callable) -> Callable:
        if hasattr(fn, "num_required_devices"):
            raise AssertionError(f"deviceCountAtLeast redefinition for {fn.__name__}")
        fn.num_required_devices = self.num_required_devices

        @functools.wraps(fn)
        def multi_fn(slf: Any, devices: list, *args: Any, **kwargs: Any) -> Any:
            if len(devices) < self.num_required_devices:
                reason = f"fewer than {self.num_required_devices} devices detected"
                if IS_SANDCASTLE:
                    print(f"Skipping {fn.__name__} on sandcastle for following reason: {reason}", file=sys.stderr)
                    return None
                raise unittest.SkipTest(reason)
            return fn(slf, devices, *args, **kwargs)

        return multi_fn


class expectedFailure:  # noqa: N801
    """The test must fail on ``device_type`` (and ``dtype``, if given); elsewhere it runs normally."""

    def __init__(self, device_type: Any, dtype: Any = None) -> None:
        self.device_type = device_type
        self.dtype = dtype

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def efail_fn(slf: Any, *args: Any, **kwargs: Any) -> Any:
            if not hasattr(slf, "device_type") and isinstance(getattr(slf, "device", None), str):
                target_device_type = slf.device
            else:
                target_device_type = slf.device_type
            target_dtype = kwargs.get("dtype", getattr(slf, "dtype", None))
            if (self.device_type is None or self.device_type == target_device_type) and (
                self.dtype is None or self.dtype == target_dtype
            ):
                try:
                    fn(slf, *args, **kwargs)
                except Exception:
                    return None
                slf.fail("expected test to fail, but it passed")
            return fn(slf, *args, **kwargs)

        return efail_fn


def expectedFailureCPU(fn: Callable) -> Callable:  # noqa: N802
    return expectedFailure("cpu")(fn)


def expectedFailureCUDA(fn: Callable) -> Callable:  # noqa: N802
    return expectedFailure("cuda")(fn)


def expectedFailureXPU(fn: Callable) -> Callable:  # noqa: N802
    return expectedFailure("xpu")(fn)


def expectedFailureHPU(fn: Callable) -> Callable:  # noqa: N802
    return expectedFailure("hpu")(fn)


def _float8_types() -> tuple[torch.dtype, torch.dtype]:
    """ROCm MI300 (gfx94x) uses the fnuz float8 variants; everything else the OCP ones (upstream's rule)."""
    cuda = _devices.lookup("cuda")
    if torch.version.hip and cuda is not None and cuda.present() and (
        "gfx94" in torch.cuda.get_device_properties(0).gcnArchName
    ):
        return torch.float8_e4m3fnuz, torch.float8_e5m2fnuz
    return torch.float8_e4m3fn, torch.float8_e5m2


e4m3_type, e5m2_type = _float8_types()
E4M3_MAX_POS = torch.finfo(e4m3_type).max
E5M2_MAX_POS = torch.finfo(e5m2_type).max
