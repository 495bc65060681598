"""common_utils' matrix makers that torch's OpInfo database builds linear-algebra samples with.

Upstream's recipes, so a sample drawn under the same seed is the same matrix as under torch's harness.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.testing import make_tensor


def random_well_conditioned_matrix(*shape: int, dtype: torch.dtype, device: Any, mean: float = 1.0,
                                   sigma: float = 0.001) -> torch.Tensor:
    """A matrix (batch) whose singular values are drawn from N(mean, sigma)."""
    primitive_dtype = {torch.float: torch.float, torch.double: torch.double,
                       torch.cfloat: torch.float, torch.cdouble: torch.double}
    x = torch.rand(shape, dtype=dtype, device=device)
    m, n = x.size(-2), x.size(-1)
    u, _, vh = torch.linalg.svd(x, full_matrices=False)
    s = (torch.randn(*(shape[:-2] + (min(m, n),)), dtype=primitive_dtype[dtype], device=device) * sigma + mean) \
        .sort(-1, descending=True).values.to(dtype)
    return (u * s.unsqueeze(-2)) @ vh


def noncontiguous_like(t: torch.Tensor) -> torch.Tensor:
    """The same shape and values, with the innermost elements spaced by a value never read."""
    if not t.is_contiguous():
        return t
    if t.dtype.is_floating_point or t.dtype.is_complex:
        value: Any = math.nan
    elif t.dtype == torch.bool:
        value = True
    else:
        value = 12
    result = t.new_empty(t.shape + (2,))
    result[..., 0] = value
    result[..., 1] = t.detach()
    result = result[..., 1]
    result.requires_grad_(t.requires_grad)
    return result


def random_symmetric_pd_matrix(matrix_size: int, *batch_dims: int, **kwargs: Any) -> torch.Tensor:
    dtype = kwargs.get("dtype", torch.double)
    device = kwargs.get("device", "cpu")
    a = torch.randn(*(batch_dims + (matrix_size, matrix_size)), dtype=dtype, device=device)
    return torch.matmul(a, a.mT) + torch.eye(matrix_size, dtype=dtype, device=device) * 1e-5


def random_hermitian_pd_matrix(matrix_size: int, *batch_dims: int, dtype: torch.dtype, device: Any) -> torch.Tensor:
    a = torch.randn(*(batch_dims + (matrix_size, matrix_size)), dtype=dtype, device=device)
    return a @ a.mH + torch.eye(matrix_size, dtype=dtype, device=device)


def make_fullrank_matrices_with_distinct_singular_values(*shape: int, device: Any, dtype: torch.dtype,
                                                         requires_grad: bool = False) -> torch.Tensor:
    """Singular values 1 + 1/s for s = 2, -3, 4, ...: distinct, in [2/3, 3/2] (condition number 9/4)."""
    with torch.no_grad():
        t = make_tensor(shape, device=device, dtype=dtype)
        u, _, vh = torch.linalg.svd(t, full_matrices=False)
        real_dtype = t.real.dtype if t.dtype.is_complex else t.dtype
        k = min(shape[-1], shape[-2])
        s = torch.arange(2, k + 2, dtype=real_dtype, device=device)
        s[1::2] *= -1.0
        s.reciprocal_().add_(1.0)
        x = (u * s.to(u.dtype)) @ vh
    x.requires_grad_(requires_grad)
    return x
