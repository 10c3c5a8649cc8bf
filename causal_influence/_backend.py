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

__all__ = ["Array", "is_torch", "log_softmax", "logsumexp"]

Array = Any  # numpy.ndarray or torch.Tensor


def is_torch(x: object) -> bool:
    """True when ``x`` is a ``torch.Tensor`` (without importing torch)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def logsumexp(x: Array, axis: int = -1, keepdims: bool = False) -> Array:
    """Stable log-sum-exp along ``axis``; rows of all ``-inf`` give ``-inf``."""
    if is_torch(x):
        import torch

        if not (x.requires_grad and torch.is_grad_enabled()):
            return x.logsumexp(dim=axis, keepdim=keepdims)  # all -inf slices give -inf
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
        # x - logsumexp(x) is as accurate as torch's log_softmax and several times faster on
        # the short last axes (actions) of large counterfactual batches.
        return x - x.logsumexp(dim=axis, keepdim=True)
    return x - logsumexp(x, axis=axis, keepdims=True)
