"""Upstream's long tail of names, built on the kernel: module flags (``TEST_CUDA``, ``IS_LINUX``),
common_utils' helpers and decorators, common_device_type's device decorators, common_cuda's flags,
common_distributed's utilities and skips, capabilities, and the names that exist only from a torch
release on. A line belongs here when it exists because upstream's tests import it by name, and the
harness itself would run without it. It imports only ``testing._core``.
"""
