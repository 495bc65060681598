"""Upstream path: common_device_type of torch's private testing package (same public names)."""

from testing._core.instantiate import DeviceTypeTestBase, device_base, instantiate_device_type_tests

CPUTestBase = device_base("cpu")
CUDATestBase = device_base("cuda")
XPUTestBase = device_base("xpu")
HPUTestBase = device_base("hpu")
MPSTestBase = device_base("mps")

__all__ = [
    "instantiate_device_type_tests", "DeviceTypeTestBase", "CPUTestBase", "CUDATestBase",
    "XPUTestBase", "HPUTestBase", "MPSTestBase",
]
