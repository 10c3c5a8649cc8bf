"""Array-backend helpers: numpy in gives numpy out, torch in gives torch out.

Private module. The core never imports torch eagerly for numpy users: an input can only be a
torch tensor if torch is already imported, so :func:`is_torch` looks in ``sys.modules``.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from causal_influence.errors import (
    ConfigError,
    DTypeError,
    InvalidDistributionError,
    ShapeError,
    describe,
)

__all__ = [
    "Array",
    "index_in_range",
    "is_torch",
    "log_base",
    "log_softmax",
    "logsumexp",
    "to_float",
    "to_int",
    "validate_logits",
]

Array = Any  # numpy.ndarray or torch.Tensor


def is_torch(x: object) -> bool:
    """True when ``x`` is a ``torch.Tensor`` (without importing torch)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def to_float(x: object, name: str) -> Array:
    """Return ``x`` as a floating array: torch tensors keep their float dtype, anything else
    becomes a float64 numpy array.

    Raises
    ------
    DTypeError
        If ``x`` cannot be read as numbers.
    """
    if is_torch(x):
        t: Any = x
        if not t.is_floating_point():
            import torch

            t = t.to(torch.get_default_dtype())
        return t
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DTypeError(
            f"{name}: expected an array of numbers (numpy, torch or nested lists); got "
            f"{describe(x)}; convert it with numpy.asarray(..., dtype=float)"
        ) from err
    return arr


def to_int(x: object, name: str) -> Array:
    """Return ``x`` as an integer array (int64); floats must be whole numbers.

    Raises
    ------
    DTypeError
        If ``x`` holds non-integral values.
    """
    if is_torch(x):
        t: Any = x
        if t.is_floating_point() and not bool((t == t.round()).all()):
            raise DTypeError(
                f"{name}: expected integer indices; got a float tensor with fractional "
                f"values; pass the index of the realised action (e.g. tensor.long())"
            )
        return t.long()
    arr = np.asarray(x)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "b":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        return arr.astype(np.int64)
    raise DTypeError(
        f"{name}: expected integer indices; got {describe(arr)}; pass integer action or "
        f"symbol indices (e.g. numpy.asarray(x, dtype=int))"
    )


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


def validate_logits(logits: Array, name: str, *, min_ndim: int = 1) -> Array:
    """Check that ``logits`` describe categorical distributions along the last axis.

    Finite values and ``-inf`` (a masked action) are allowed; NaN, ``+inf`` and rows whose
    entries are all ``-inf`` are not.

    Returns
    -------
    Array
        ``logits`` as a floating array (numpy float64 or the tensor's float dtype).

    Raises
    ------
    ShapeError
        If ``logits`` has fewer than ``min_ndim`` dimensions or an empty last axis.
    InvalidDistributionError
        On NaN, ``+inf`` or an all-``-inf`` row.
    """
    arr = to_float(logits, name)
    if arr.ndim < min_ndim or (arr.ndim >= 1 and arr.shape[-1] == 0):
        raise ShapeError(
            f"{name}: expected logits with at least {min_ndim} dimension(s) and a non-empty "
            f"last axis (one entry per action); got {describe(arr)}"
        )
    if is_torch(arr):
        import torch

        with torch.no_grad():
            nan = bool(torch.isnan(arr).any())
            posinf = bool(torch.isposinf(arr).any())
            dead = bool(torch.isneginf(arr).all(dim=-1).any())
    else:
        nan = bool(np.isnan(arr).any())
        posinf = bool(np.isposinf(arr).any())
        dead = bool(np.isneginf(arr).all(axis=-1).any())
    if nan:
        raise InvalidDistributionError(
            f"{name}: expected finite logits (or -inf for masked actions); got NaN values; "
            f"check the model output for NaN before computing influence"
        )
    if posinf:
        raise InvalidDistributionError(
            f"{name}: expected finite logits (or -inf for masked actions); got +inf; "
            f"clip the logits or give the action a large finite logit instead"
        )
    if dead:
        raise InvalidDistributionError(
            f"{name}: every entry of at least one distribution is -inf (all actions masked), "
            f"which is not a distribution; leave at least one action unmasked per row"
        )
    return arr


def log_base(base: float | None) -> float:
    """Natural log of a logarithm base (1.0 for None = nats); validates ``base``."""
    if base is None:
        return 1.0
    if not isinstance(base, (int, float)) or base <= 0 or base == 1:
        raise ConfigError(
            f"base: expected a positive number other than 1 (2 for bits, None or e for nats); "
            f"got {base!r}"
        )
    return math.log(base)


def index_in_range(
    index: object, size: int, like: Array, message: str, *, name: str = "actual"
) -> Array:
    """``index`` as integers on ``like``'s backend, checked to lie in ``[0, size)``.

    ``name`` is the argument name used in the dtype error message.

    Raises
    ------
    DTypeError
        When ``index`` holds non-integral values.
    ShapeError
        With ``message`` when a value is out of range.
    """
    idx = to_int(index, name)
    if is_torch(like):
        import torch

        idx = torch.as_tensor(idx, device=like.device)
        bad = bool(((idx < 0) | (idx >= size)).any())
    else:
        if is_torch(idx):  # torch indices for numpy logits: the logits choose the backend
            idx = idx.detach().cpu().numpy()
        bad = bool(np.any((idx < 0) | (idx >= size)))
    if bad:
        raise ShapeError(message)
    return idx
