"""``Capability`` and ``requires_capabilities`` (upstream's common_device_type, torch 2.15+).

A device test class declares what its device supports through ``_capabilities()`` (a map from
capability to a callable answering it); ``get_capabilities()`` evaluates the map. Classes that
declare nothing get the map upstream gives their device type (cpu, cuda, mps, xpu).
"""

from __future__ import annotations

import functools
import unittest
from collections.abc import Callable
from typing import Any


class Capability:
    """Device capability identifiers, ``"<category>.<name>"`` strings grouped by category."""

    class dtype:  # noqa: N801  (upstream's names)
        fp8 = "dtype.fp8"
        bf16 = "dtype.bf16"

    class attention:  # noqa: N801
        flash_attention = "attention.flash_attention"
        mem_efficient_attention = "attention.mem_efficient_attention"


def _cuda_flag(name: str) -> Callable[[], bool]:
    def probe() -> bool:
        from testing._upstream_api import cuda_flags

        return bool(getattr(cuda_flags, name, False))

    return probe


def _defaults(device_type: str) -> dict[str, Callable[[], bool]]:
    """Upstream's per-device-type ``_capabilities()`` maps."""
    if device_type == "cpu":
        return {Capability.dtype.fp8: lambda: True, Capability.dtype.bf16: lambda: True,
                Capability.attention.flash_attention: lambda: True,
                Capability.attention.mem_efficient_attention: lambda: False}
    if device_type == "cuda":
        return {Capability.dtype.fp8: _cuda_flag("PLATFORM_SUPPORTS_FP8"), Capability.dtype.bf16: _cuda_flag("SM80OrLater"),
                Capability.attention.flash_attention: _cuda_flag("PLATFORM_SUPPORTS_FLASH_ATTENTION"),
                Capability.attention.mem_efficient_attention: _cuda_flag("PLATFORM_SUPPORTS_MEM_EFF_ATTENTION")}
    if device_type == "mps":
        return {Capability.dtype.fp8: lambda: False, Capability.dtype.bf16: lambda: True,
                Capability.attention.flash_attention: lambda: False,
                Capability.attention.mem_efficient_attention: lambda: False}
    if device_type == "xpu":
        return {Capability.dtype.fp8: lambda: True, Capability.dtype.bf16: lambda: True,
                Capability.attention.flash_attention: lambda: False,
                Capability.attention.mem_efficient_attention: lambda: True}
    return {}


def get_capabilities(cls: type) -> dict[str, bool]:
    """The class's own ``get_capabilities()`` when it has one, else its device type's map."""
    own = getattr(cls, "get_capabilities", None)
    if callable(own):
        return dict(own())
    declared = getattr(cls, "_capabilities", None)
    table = declared() if callable(declared) else _defaults(getattr(cls, "device_type", ""))
    return {k: bool(fn()) for k, fn in table.items()}


def requires_capabilities(*caps: str) -> Callable:
    """Skip unless the test's device supports every capability; an undeclared one is an error."""
    wanted = set(caps)

    def decorator(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            device_caps = get_capabilities(type(self))
            missing = {c for c in wanted if c not in device_caps}
            unsupported = {c for c in wanted if c in device_caps and not device_caps[c]}
            if missing:
                raise AssertionError(
                    f"Device '{type(self).device_type}' has not declared capabilities: "
                    f"{', '.join(sorted(missing))}. Add them to {type(self).__name__}._capabilities().")
            if unsupported:
                raise unittest.SkipTest(
                    f"Device '{type(self).device_type}' has unsupported capabilities: {', '.join(sorted(unsupported))}")
            return fn(self, *args, **kwargs)

        return wrapper

    return decorator
