"""Upstream path: triton_utils of torch's private testing package (its skip decorators only)."""

from testing._helpers.compile_env import (
    HAS_CUDA_AND_TRITON,
    HAS_GPU,
    HAS_XPU_AND_TRITON,
    requires_cuda_and_triton,
    requires_gpu_and_triton,
    requires_xpu_and_triton,
)
from testing._helpers.compile_env import requires_gpu_decorator as requires_gpu

__all__ = ["HAS_CUDA_AND_TRITON", "HAS_GPU", "HAS_XPU_AND_TRITON", "requires_cuda_and_triton",
           "requires_gpu", "requires_gpu_and_triton", "requires_xpu_and_triton"]
