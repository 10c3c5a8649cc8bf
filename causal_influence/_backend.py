"""Array-backend kernels: numpy in gives numpy out, torch in gives torch out.

Private module. The core never imports torch eagerly for numpy users: an input can only be a
torch tensor if torch is already imported, so :func:`is_torch` looks in ``sys.modules``. The
rules that check and convert user input live in :mod:`causal_influence.validation`.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

__all__ = [
    "Array",
    "as_float64",
    "cast_to",
    "is_torch",
    "log_softmax",
    "logsumexp",
    "result_dtype",
]

Array = Any  # numpy.ndarray or torch.Tensor


def is_torch(x: object) -> bool:
    """True when ``x`` is a ``torch.Tensor`` (without importing torch)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def logsumexp(x: Array, axis: int = -1, keepdims: bool = False) -> Array:
    """Stable log-sum-exp along ``axis``; rows of all ``-inf`` give ``-inf``."""
    if is_torch(x):
        import torch

        # Slices of all -inf give -inf with a zero (not NaN) gradient.
        dead = torch.isneginf(x).all(dim=axis, keepdim=True)
        safe = torch.where(dead, torch.zeros_like(x), x)
        out = torch.where(
            dead,
            torch.full_like(dead, -math.inf, dtype=x.dtype),
            safe.logsumexp(dim=axis, keepdim=True),
        )
        return out if keepdims else out.squeeze(axis)
    m = np.max(x, axis=axis, keepdims=True)
    m_safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - m_safe), axis=axis, keepdims=True)) + m_safe
    return out if keepdims else np.squeeze(out, axis=axis)


def log_softmax(x: Array, axis: int = -1) -> Array:
    """Stable log-softmax along ``axis``; ``-inf`` entries stay ``-inf`` (masked actions)."""
    if is_torch(x):
        return x.log_softmax(dim=axis)
    return x - logsumexp(x, axis=axis, keepdims=True)


def result_dtype(*inputs: Any) -> Any:
    """The float dtype results computed from ``inputs`` are returned in.

    Torch tensors decide when there are any (their promoted float dtype; integer tensors count
    as torch's default dtype), else numpy float arrays (promoted); anything else (lists,
    integers) counts as float64. Computations themselves run in float64
    (:func:`as_float64`) and are cast back with :func:`cast_to`.
    """
    tensors = [x for x in inputs if is_torch(x)]
    if tensors:
        import torch

        out = None
        for x in tensors:
            dt = x.dtype if x.is_floating_point() else torch.get_default_dtype()
            out = dt if out is None else torch.promote_types(out, dt)
        return out
    out_np = None
    for x in inputs:
        dt = x.dtype if isinstance(x, (np.ndarray, np.generic)) and x.dtype.kind == "f" else None
        dt = np.dtype(np.float64) if dt is None else dt
        out_np = dt if out_np is None else np.promote_types(out_np, dt)
    return np.dtype(np.float64) if out_np is None else out_np


def as_float64(x: Array) -> Array:
    """``x`` (numpy or torch) in float64; a torch tensor keeps its device and its graph."""
    if is_torch(x):
        import torch

        return x.to(torch.float64)
    return np.asarray(x, dtype=np.float64)


def cast_to(values: Array, dtype: Any) -> Array:
    """``values`` in ``dtype`` (torch: differentiable; numpy: no copy when it already is)."""
    if is_torch(values):
        return values.to(dtype)
    return np.asarray(values).astype(dtype, copy=False)
