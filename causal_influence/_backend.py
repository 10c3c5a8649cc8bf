"""Array-backend kernels: numpy in gives numpy out, torch in gives torch out.

Private module. The core never imports torch eagerly for numpy users: an input can only be a
torch tensor if torch is already imported, so :func:`is_torch` looks in ``sys.modules``. The
conversions between backends (:func:`to_numpy`, :func:`as_float`, :func:`as_backend`) are
public through :mod:`causal_influence.validation`, which holds the rules that check user input.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from causal_influence.errors import DTypeError, ShapeError, describe

__all__ = [
    "Array",
    "as_backend",
    "as_float",
    "as_float64",
    "cast_to",
    "is_torch",
    "log_softmax",
    "logsumexp",
    "result_dtype",
    "to_numpy",
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


# --------------------------------------------------------------------------- conversion


def to_numpy(x: Any, name: str = "x") -> np.ndarray:
    """``x`` as a numpy array, without copying arrays; a torch tensor is detached and copied to
    the CPU.

    Raises
    ------
    ShapeError
        When nested lists are ragged (``name`` is the argument named in the message).

    Examples
    --------
    >>> to_numpy([1, 2]).tolist()
    [1, 2]
    """
    if is_torch(x):
        return np.asarray(x.detach().cpu().numpy())
    if isinstance(x, np.ndarray):
        return x
    try:
        return np.asarray(x)
    except ValueError as err:
        raise ShapeError(
            f"{name}: could not read the input as a rectangular array ({err}); "
            f"pass a numpy array of the documented shape"
        ) from err


def as_float(x: Any, name: str) -> Array:
    """``x`` as a floating array: a torch tensor keeps its float dtype (integer tensors take
    torch's default dtype); anything else becomes a float64 numpy array.

    Raises
    ------
    DTypeError
        If ``x`` cannot be read as numbers.

    Examples
    --------
    >>> as_float([1, 2], "x").dtype
    dtype('float64')
    """
    if is_torch(x):
        if not x.is_floating_point():
            import torch

            return x.to(torch.get_default_dtype())
        return x
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DTypeError(
            f"{name}: expected an array of numbers (numpy, torch or nested lists); got "
            f"{describe(x)}; convert it with numpy.asarray(..., dtype=float)"
        ) from err


def as_backend(x: Any, like: Any) -> Array:
    """``x`` on the backend of ``like``.

    With a torch ``like``: ``x`` as a tensor on ``like``'s device (a numpy float array takes
    ``like``'s float dtype; a tensor keeps its dtype). Otherwise ``x`` as a numpy array.

    Examples
    --------
    >>> import numpy as np
    >>> as_backend([1.0, 2.0], np.zeros(2)).tolist()
    [1.0, 2.0]
    """
    if not is_torch(like):
        return to_numpy(x)
    import torch

    if is_torch(x):
        return x.to(like.device)
    arr = np.asarray(x)
    floating = arr.dtype.kind == "f" and like.is_floating_point()
    return torch.as_tensor(arr, dtype=like.dtype if floating else None, device=like.device)


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
