"""What upstream's ``DeviceTypeTestBase`` gives a fork to shape its device's tests (common_device_type).

A backend sets these on its device's test base (``PrivateUse1TestBase.set_test_configs(...)``):

* ``test_exclusions``: ``{"TestClass": ["test_a", ...]}`` leaves those generic tests out of the
  device's class, ``{"TestClass": "*"}`` the whole class (read by `instantiate`);
* ``op_allowlist`` / ``op_overrides``: which ops an ``@ops`` test expands to, and the decorators
  (skips, expected failures) added to some of them; applied to an ``ops`` object's ``op_list``;
* ``bypass_device_restrictions``: ``@onlyOn(...)``-style decorators do not skip on this device.

Members, defaults and checks are upstream's (2.13 on: the same on every claimed release).
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from typing import Any, ClassVar, Optional


class DeviceTestConfigs:
    """Mixed into DeviceTypeTestBase: the configuration fields and the class methods that apply them."""

    device_type: str = "generic_device_type"
    bypass_device_restrictions: bool = False
    op_overrides: Optional[dict[str, list]] = None
    """Keys are ``OpInfo.full_name``; values lists of DecorateInfo added to that op's decorators."""
    op_allowlist: Optional[Collection[str]] = None
    """When set, only ops whose ``full_name`` is listed generate tests."""
    test_exclusions: ClassVar[Optional[dict[str, Collection[str]]]] = None

    @classmethod
    def set_test_configs(cls, *, op_overrides: Optional[dict] = None, op_allowlist: Optional[Collection[str]] = None,
                         test_exclusions: Optional[dict] = None) -> None:
        """A full replacement, as upstream's: called without arguments it resets all three to None."""
        cls.op_overrides = op_overrides
        cls.op_allowlist = op_allowlist
        cls.test_exclusions = test_exclusions

    @classmethod
    def _get_test_exclusions(cls, test_class_name: str) -> Collection[str]:
        found = getattr(cls, "test_exclusions", None)
        if found is not None and test_class_name in found:
            return found[test_class_name]
        return []

    @classmethod
    def _apply_op_allowlist(cls, ops: Any) -> None:
        if cls.op_allowlist is None:
            return
        allowed = set(cls.op_allowlist)
        ops.op_list = [op for op in ops.op_list if op.full_name in allowed]

    @classmethod
    def _apply_op_overrides(cls, ops: Any, test: Any = None) -> None:
        class_overrides = cls.op_overrides or {}
        test_overrides = {} if test is None else getattr(test, "_op_overrides", {})
        if not class_overrides and not test_overrides:
            return
        from testing._core import devices as _devices

        op_dict = {op.full_name: op for op in copy.deepcopy(ops.op_list)}
        for op_name, decorators in class_overrides.items():
            for decorator in decorators:
                decorator.device_type = _devices.privateuse1_name() if cls.device_type == "privateuse1" else cls.device_type
                if op_name in op_dict:  # @ops may list fewer ops than the overrides name
                    op_dict[op_name].decorators += (decorator,)
        for op_name, decorators in test_overrides.items():
            for decorator in decorators:
                if op_name in op_dict:
                    op_dict[op_name].decorators += (decorator,)
        ops.op_list = list(op_dict.values())
