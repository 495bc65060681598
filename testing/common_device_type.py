"""Upstream path: common_device_type of torch's private testing package (same public names)."""

from testing._upstream_api.device_decorators import (
    E4M3_MAX_POS,
    E5M2_MAX_POS,
    deviceCountAtLeast,
    dtypes,
    dtypesIfCPU,
    dtypesIfCUDA,
    dtypesIfHPU,
    dtypesIfMPS,
    dtypesIfPRIVATEUSE1,
    dtypesIfXPU,
    e4m3_type,
    e5m2_type,
    expectedFailure,
    expectedFailureCPU,
    expectedFailureCUDA,
    expectedFailureHPU,
    expectedFailureXPU,
    onlyAccelerator,
    onlyCPU,
    onlyCUDA,
    onlyHPU,
    onlyMPS,
    onlyNativeDeviceTypes,
    onlyOn,
    onlyPRIVATEUSE1,
    onlyXPU,
    skipCPUIf,
    skipCUDAIf,
    skipHPUIf,
    skipIf,
    skipMetaIf,
    skipMPSIf,
    skipPRIVATEUSE1If,
    skipXPUIf,
)
from testing._upstream_api.memory_checks import _has_sufficient_memory, largeTensorTest  # noqa: F401
from testing._upstream_api.op_decorators import (
    OpDTypes,
    disablecuDNN,
    has_cusolver,
    has_hipsolver,
    ops,
    precisionOverride,
    skipCPUIfNoFFT,
    skipCPUIfNoLapack,
    skipCPUIfNoMklSparse,
    skipCUDAIfNoCusolver,
    skipCUDAIfNoMagma,
    skipCUDAIfNoMagmaAndNoCusolver,
    skipCUDAIfNoMagmaAndNoLinalgsolver,
    skipCUDAIfRocm,
    skipXPU,
    tol,
    toleranceOverride,
)
from testing._core.instantiate import (
    CPUTestBase,
    CUDATestBase,
    DeviceTypeTestBase,
    HPUTestBase,
    MPSTestBase,
    PrivateUse1TestBase,
    XPUTestBase,
    instantiate_device_type_tests,
)

__all__ = [
    "instantiate_device_type_tests", "DeviceTypeTestBase", "CPUTestBase", "CUDATestBase",
    "XPUTestBase", "HPUTestBase", "MPSTestBase", "PrivateUse1TestBase",
    "E4M3_MAX_POS", "E5M2_MAX_POS", "deviceCountAtLeast", "dtypes", "dtypesIfCPU", "dtypesIfCUDA", "dtypesIfHPU",
    "dtypesIfMPS", "dtypesIfPRIVATEUSE1", "dtypesIfXPU", "e4m3_type", "e5m2_type", "expectedFailure",
    "expectedFailureCPU", "expectedFailureCUDA", "expectedFailureHPU", "expectedFailureXPU", "largeTensorTest",
    "onlyAccelerator",
    "onlyCPU", "onlyCUDA", "onlyHPU", "onlyMPS", "onlyNativeDeviceTypes", "onlyOn", "onlyPRIVATEUSE1", "onlyXPU",
    "skipCPUIf", "skipCUDAIf", "skipHPUIf", "skipIf", "skipMetaIf", "skipMPSIf", "skipPRIVATEUSE1If", "skipXPUIf",
    "OpDTypes", "disablecuDNN", "has_cusolver", "has_hipsolver", "ops", "precisionOverride", "skipCPUIfNoFFT",
    "skipCPUIfNoLapack", "skipCPUIfNoMklSparse", "skipCUDAIfNoCusolver", "skipCUDAIfNoMagma",
    "skipCUDAIfNoMagmaAndNoCusolver", "skipCUDAIfNoMagmaAndNoLinalgsolver", "skipCUDAIfRocm", "skipXPU", "tol",
    "toleranceOverride",
]

# names upstream's common_device_type has only from a torch release on (testing/_core/versions.py): present
# on the releases that have them, AttributeError on the others
from testing._upstream_api.release_names import facade_getattr, facade_names  # noqa: E402

__getattr__ = facade_getattr(__name__)
__all__ += facade_names(__name__)
