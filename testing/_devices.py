"""Deprecated path of the device plug-in API: import ``testing.devices`` instead (kept for one release)."""

import warnings

from testing._core.devices import DeviceType, device_table, register_device

warnings.warn("testing._devices is deprecated; import DeviceType and register_device from testing.devices",
              DeprecationWarning, stacklevel=2)

__all__ = ["DeviceType", "device_table", "register_device"]
