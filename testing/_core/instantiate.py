"""Turning a generic test class into per-device classes (and parametrized tests into methods).

``instantiate_device_type_tests`` follows upstream step by step (the generic class leaves the
scope first and always; only its own ``test*`` members are instantiated; the device base comes
first in the MRO; names are ``<test>_<params>_<device><dtype>``), with the device selection of
``testing._core.config`` deciding which device classes exist:

* no selection: upstream's rule, device types present here that the module allows;
* ``--device NAME``: only that type, when the module allows it;
* ``--device cpu``: also accelerator-only modules get a CPU class, run emulated on CPU ranks.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, Optional, Union

from testing._core import cuda_mapping as _cuda_mapping
from testing._core import devices as _devices
from testing._core import notices

from testing._core import naming as _naming
from testing._core.case import TestCase
from testing._core.config import get_config
from testing._core.device_test_configs import DeviceTestConfigs

DeviceFilter = Optional[Union[str, Iterable[str]]]


class DeviceTypeTestBase(DeviceTestConfigs, TestCase):
    """Base of the per-device bases (CPUTestBase, CUDATestBase, ...); a fork's knobs in DeviceTestConfigs."""

    device_type: str = "generic_device_type"
    _stop_test_suite = False
    emulated = False
    """True for a CPU class generated only because ``--device cpu`` emulates accelerators."""

    @classmethod
    def get_primary_device(cls) -> str:
        if cls.device_type == "cpu":
            return "cpu"
        module = getattr(__import__("torch"), cls.device_type, None)
        index = module.current_device() if module is not None and hasattr(module, "current_device") else 0
        return f"{cls.device_type}:{index}"

    @classmethod
    def get_all_devices(cls) -> list[str]:
        primary = cls.get_primary_device()
        row = _devices.lookup(cls.device_type)
        count = row.count() if row is not None and row.accelerator else 1
        prefix = f"{cls.device_type}:"
        return [primary] + [f"{prefix}{i}" for i in range(count) if f"{prefix}{i}" != primary]

    @classmethod
    def _init_and_get_primary_device(cls) -> str:
        try:
            return cls.get_primary_device()
        except Exception:  # upstream: a base whose primary device is set in setUpClass (PrivateUse1TestBase)
            if hasattr(cls, "setUpClass"):
                cls.setUpClass()
            return cls.get_primary_device()

    @classmethod
    def distributed_backend(cls) -> str:
        return get_config().backend_for(cls.device_type)

    def _should_stop_test_suite(self) -> bool:
        return False

    @classmethod
    def _get_dtypes(cls, test: Callable) -> Optional[list]:
        table = getattr(test, "dtypes", None)
        if table is None:
            return None
        own = cls.device_type if cls.device_type in table else _cuda_mapping.as_cuda(cls.device_type, table)
        if "all" not in table and own not in table:
            raise AssertionError(f"@dtypes is mandatory when using @dtypesIf however '{test.__name__}' didn't specify it")
        return table.get(own, table.get("all"))

    @classmethod
    def instantiate_test(cls, name: str, test: Callable, *, generic_cls: Optional[type] = None) -> None:
        parametrize_fn = getattr(test, "parametrize_fn", _naming.default_parametrize_fn)
        dtypes = cls._get_dtypes(test)
        if dtypes is not None:

            def dtype_parametrize_fn(test, generic_cls, device_cls, dtypes=dtypes):
                for dtype in dtypes:
                    kwargs: dict = {}
                    _naming.update_param_kwargs(kwargs, "dtype", dtype)
                    # empty name: the dtype goes after the device part of the name
                    yield (test, "", kwargs, _naming.no_decorators)

            parametrize_fn = _naming.compose_parametrize_fns(dtype_parametrize_fn, parametrize_fn)

        for fn, suffix, param_kwargs, decorator_fn in parametrize_fn(test, generic_cls, cls):
            dtype_kwarg = param_kwargs.get("dtypes", param_kwargs.get("dtype"))
            test_name = (
                f"{name}{'_' + suffix if suffix else ''}_{cls.device_type}{_naming.dtype_suffix(dtype_kwarg)}"
            )
            cls._install_test(test_name, fn, param_kwargs, decorator_fn)

    @classmethod
    def _install_test(cls, test_name: str, fn: Callable, param_kwargs: dict, decorator_fn: Callable) -> None:
        parameters = inspect.signature(fn).parameters  # follows __wrapped__, as upstream does
        if "device" in parameters or "devices" in parameters:
            device_arg: Any = cls._init_and_get_primary_device()
            if hasattr(fn, "num_required_devices"):
                device_arg = cls.get_all_devices()
            _naming.update_param_kwargs(param_kwargs, "device", device_arg)
        for decorator in decorator_fn(param_kwargs):
            fn = decorator(fn)

        @functools.wraps(fn)
        def instantiated_test(self, param_kwargs=param_kwargs):
            saved = (self.precision, self.rel_tol)
            try:
                _apply_precision_overrides(self, fn, param_kwargs)
                return fn(self, **param_kwargs)
            finally:
                self.precision, self.rel_tol = saved

        if hasattr(cls, test_name):
            raise AssertionError(f"Redefinition of test {test_name}")
        setattr(cls, test_name, instantiated_test)


class PrivateUse1TestBase(DeviceTypeTestBase):
    """Upstream's base for the PrivateUse1 backend: its primary device and module are found in setUpClass."""

    primary_device: str
    device_mod: Any = None
    device_type = "privateuse1"
    bypass_device_restrictions = False

    @classmethod
    def get_primary_device(cls) -> str:
        return cls.primary_device

    @classmethod
    def get_all_devices(cls) -> list[str]:
        primary = cls.get_primary_device()
        index = int(primary.split(":")[1])
        return [primary] + [f"{cls.device_type}:{i}" for i in range(cls.device_mod.device_count()) if i != index]

    @classmethod
    def setUpClass(cls) -> None:
        cls.device_type = _devices.privateuse1_name()
        cls.device_mod = getattr(__import__("torch"), cls.device_type, None)
        if cls.device_mod is None:
            raise AssertionError(f"torch has no module of `{cls.device_type}`, you should register "
                                 "a module by `torch._register_device_module`.")
        cls.primary_device = f"{cls.device_type}:{cls.device_mod.current_device()}"


def _apply_precision_overrides(test_case: TestCase, fn: Callable, param_kwargs: dict) -> None:
    """Upstream's precisionOverride / toleranceOverride (the latter wins) for the test's dtype."""
    dtype = param_kwargs.get("dtypes", param_kwargs.get("dtype"))
    if not dtype:
        return
    test_case.precision = getattr(fn, "precision_overrides", {}).get(dtype, test_case.precision)
    overrides = getattr(fn, "tolerance_overrides", None)
    if overrides is not None and dtype in overrides:
        test_case.precision, test_case.rel_tol = overrides[dtype]


def _make_base(row: _devices.DeviceType) -> type:
    # the PrivateUse1 backend's rows stand on upstream's PrivateUse1TestBase, named for the backend
    parent = PrivateUse1TestBase if row.name == _devices.privateuse1_name() else DeviceTypeTestBase
    return type(row.test_base_name, (parent,), {"device_type": row.name, "__module__": __name__})


_bases: dict[str, type] = {}


def device_base(name: str) -> type:
    """The per-device base class for a table row (created once, then shared)."""
    if name not in _bases:
        row = _devices.lookup(name)
        if row is None:
            raise KeyError(f"unknown device type {name!r}")
        _bases[name] = _make_base(row)
    return _bases[name]


# upstream's module-level base classes of the built-in device types
CPUTestBase = device_base("cpu")
CUDATestBase = device_base("cuda")
XPUTestBase = device_base("xpu")
HPUTestBase = device_base("hpu")
MPSTestBase = device_base("mps")


def _matches(device: str, selection: DeviceFilter) -> bool:
    """Upstream's membership test: a str means substring, a collection means exact membership."""
    return device in selection  # type: ignore[operator]


def _check_filters(only_for: DeviceFilter, except_for: DeviceFilter) -> None:
    if only_for and except_for:
        both = set(except_for) & set(only_for)  # per character for strings, as upstream
        if both:
            raise AssertionError(f"device ({both}) appeared in both except_for and only_for")


def _allowed(device: str, only_for: DeviceFilter, except_for: DeviceFilter) -> bool:
    if except_for and _matches(device, except_for):
        return False
    if only_for and not _matches(device, only_for):
        return False
    return True


def allowed_devices(only_for: DeviceFilter, except_for: DeviceFilter, opt_ins: dict[str, bool]) -> list[str]:
    """Device types a module permits, present here or not (used for the 'nothing ran' note)."""
    return [
        row.name
        for row in _devices.device_table().values()
        if (row.opt_in is None or opt_ins.get(row.opt_in)) and _allowed(row.name, only_for, except_for)
    ]


def desired_device_types(
    only_for: DeviceFilter, except_for: DeviceFilter, opt_ins: dict[str, bool], include_lazy: bool = False
) -> tuple[list[str], bool]:
    """(device types to instantiate, whether the CPU one is an emulation of accelerators)."""
    config = get_config()
    _check_filters(only_for, except_for)
    _check_filters(config.only_for, config.except_for)
    permitted = allowed_devices(only_for, except_for, opt_ins)
    emulated = False
    if config.device is None:
        chosen = [name for name in permitted if _devices.lookup(name).present()]
        if include_lazy:
            chosen.append("lazy")
        # upstream's custom list re-adds types the arguments filtered out
        chosen += [
            name
            for name in config.for_custom
            if name not in chosen and _devices.lookup(name) is not None and _devices.lookup(name).present()
        ]
    elif config.device in permitted:
        chosen = [config.device]
    elif config.emulating and any(_devices.lookup(name).accelerator for name in permitted):
        chosen, emulated = ["cpu"], True
    else:
        chosen = []
    chosen = [
        name
        for name in chosen
        if (not config.only_for or name in config.only_for) and name not in config.except_for
    ]
    return chosen, emulated


_emulation_announced = False


def _announce_emulation(generic_cls: type) -> None:
    global _emulation_announced
    if _emulation_announced or notices.in_rank_process():
        return
    _emulation_announced = True
    try:
        world_size = getattr(object.__new__(generic_cls), "world_size")
    except Exception:
        world_size = get_config().world_size or "N"
    world_size = get_config().world_size or world_size
    notices.notice(
        f"accelerator-only tests run emulated on {world_size} CPU ranks "
        f"({get_config().backend_for('cpu')}); skip_if_lt_x_gpu counts ranks as devices")


def _announce_nothing(generic_cls: type, permitted: list[str]) -> None:
    if notices.in_rank_process():
        return
    config = get_config()
    selected = f"selected device {config.device!r}" if config.device else "no --device given"
    notices.notice(
        f"{generic_cls.__name__} instantiated no tests: it allows "
        f"{', '.join(permitted) or 'no device type'}; present here: {', '.join(_devices.present_devices())}; "
        f"{selected}." + ("" if config.device else
                          " To run accelerator-only tests on CPU ranks pass --device cpu (or TESTING_DEVICE=cpu)."))


def instantiate_device_type_tests(
    generic_test_class: type,
    scope: dict,
    except_for: DeviceFilter = None,
    only_for: DeviceFilter = None,
    include_lazy: bool = False,
    allow_mps: bool = False,
    allow_xpu: bool = False,
) -> None:
    """Replace ``generic_test_class`` in ``scope`` by one class per selected device type."""
    del scope[generic_test_class.__name__]  # first and unconditionally, as upstream
    opt_ins = {"allow_mps": allow_mps, "allow_xpu": allow_xpu}
    chosen, emulated = desired_device_types(only_for, except_for, opt_ins, include_lazy)
    members = set(generic_test_class.__dict__)
    tests = {name for name in members if name.startswith("test")}

    for device in chosen:
        base = device_base(device)
        excluded = base._get_test_exclusions(generic_test_class.__name__)
        if "*" in excluded:  # upstream's test: a list holding "*", or the string "*"
            continue
        suffix = _devices.lookup(device).class_suffix
        device_cls = type(generic_test_class.__name__ + suffix, (base, generic_test_class), {})
        device_cls.emulated = emulated
        _chain_class_fixtures(device_cls, base, generic_test_class)
        for name in members:
            if name in tests:
                if name not in excluded:
                    device_cls.instantiate_test(
                        name, copy.deepcopy(getattr(generic_test_class, name)), generic_cls=generic_test_class
                    )
            elif name not in device_cls.__dict__:
                # the raw descriptor, so static and class methods stay what they were
                setattr(device_cls, name, generic_test_class.__dict__[name])
        device_cls.__module__ = generic_test_class.__module__
        scope[device_cls.__name__] = device_cls

    for name in tests:
        delattr(generic_test_class, name)

    if emulated:
        _announce_emulation(generic_test_class)
    if not chosen and tests:
        _announce_nothing(generic_test_class, allowed_devices(only_for, except_for, opt_ins))


def _chain_class_fixtures(device_cls: type, base: type, generic: type) -> None:
    def set_up_class(cls):
        base.setUpClass()
        generic.setUpClass.__func__(cls)

    def tear_down_class(cls):
        generic.tearDownClass.__func__(cls)
        base.tearDownClass()

    device_cls.setUpClass = classmethod(set_up_class)
    device_cls.tearDownClass = classmethod(tear_down_class)


def instantiate_parametrized_tests(generic_cls: type) -> type:
    """Expand every parametrized test of a (non-device) class in place; usable as a class decorator."""
    for attr_name in tuple(dir(generic_cls)):
        test = getattr(generic_cls, attr_name)
        if not hasattr(test, "parametrize_fn"):
            continue
        delattr(generic_cls, attr_name)
        for fn, suffix, param_kwargs, decorator_fn in test.parametrize_fn(test, generic_cls=generic_cls, device_cls=None):
            name = f"{fn.__name__}_{suffix}"
            for decorator in decorator_fn(param_kwargs):
                fn = decorator(fn)

            @functools.wraps(fn)
            def instantiated_test(self, fn=fn, param_kwargs=param_kwargs):
                fn(self, **param_kwargs)

            if hasattr(generic_cls, name):
                raise AssertionError(f"Redefinition of test {name}")
            setattr(generic_cls, name, instantiated_test)
    return generic_cls
