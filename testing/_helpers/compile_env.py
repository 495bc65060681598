"""What compile tests ask of the machine: is triton there, which GPU type inductor would target.

Upstream keeps these in its inductor and triton helper modules; the DTensor and FSDP compile tests
import a handful of them. Presence comes from the device table, like everything else here.
"""

from __future__ import annotations

import functools
import unittest

from torch.utils._triton import has_triton

from testing._core import devices as _devices

GPU_TYPES = tuple(_devices.triton_targets())  # the device types inductor generates triton code for


def _present(name: str) -> bool:
    row = _devices.lookup(name)
    return bool(row is not None and row.present())


HAS_TRITON = has_triton()
HAS_CUDA_AND_TRITON = _present("cuda") and HAS_TRITON
HAS_XPU_AND_TRITON = _present("xpu") and HAS_TRITON
HAS_MPS = _present("mps")
HAS_GPU = HAS_CUDA_AND_TRITON or HAS_XPU_AND_TRITON
HAS_GPU_AND_TRITON = HAS_GPU
# inductor's choice: the one GPU type present, "cuda" when there is none
GPU_TYPE = next((name for name in GPU_TYPES if _present(name)), "cuda")

# upstream has two requires_gpu: inductor's is a skipIf factory (call it), triton's a decorator
requires_gpu_factory = functools.partial(unittest.skipIf, not (HAS_GPU or HAS_MPS), "requires gpu")
requires_triton = functools.partial(unittest.skipIf, not HAS_TRITON, "requires triton")
requires_gpu_decorator = unittest.skipUnless(HAS_GPU, "requires gpu")
requires_cuda_and_triton = unittest.skipUnless(HAS_CUDA_AND_TRITON, "requires cuda and triton")
requires_xpu_and_triton = unittest.skipUnless(HAS_XPU_AND_TRITON, "requires xpu and triton")
requires_gpu_and_triton = unittest.skipUnless(HAS_XPU_AND_TRITON or HAS_CUDA_AND_TRITON, "requires gpu and triton")
