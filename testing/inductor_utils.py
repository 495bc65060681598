"""Upstream path: inductor_utils of torch's private testing package (the machine flags compile tests read)."""

from testing._helpers.compile_env import (
    GPU_TYPE,
    GPU_TYPES,
    HAS_CUDA_AND_TRITON,
    HAS_GPU,
    HAS_GPU_AND_TRITON,
    HAS_MPS,
    HAS_TRITON,
    HAS_XPU_AND_TRITON,
    requires_triton,
)
from testing._helpers.compile_env import requires_gpu_factory as requires_gpu

__all__ = ["GPU_TYPE", "GPU_TYPES", "HAS_CUDA_AND_TRITON", "HAS_GPU", "HAS_GPU_AND_TRITON", "HAS_MPS",
           "HAS_TRITON", "HAS_XPU_AND_TRITON", "requires_gpu", "requires_triton"]
