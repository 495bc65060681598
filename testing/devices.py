"""The public door for device plug-ins: add a row to the device table without editing the harness.

    from testing.devices import DeviceType, register_device
    register_device(DeviceType("fakedev", "gloo", count_fn))

This path stays put when the private layout behind it changes.
"""

from testing._core.devices import DeviceType, device_table, register_device

__all__ = ["DeviceType", "device_table", "register_device"]
