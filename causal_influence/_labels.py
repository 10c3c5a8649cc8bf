"""Integer labels and indices, under one rule (re-exported by :mod:`causal_influence.validation`).

Integer dtypes are accepted; floats only when every value is integral (``3.0``); non-integral
floats, NaN and ``inf`` raise a :class:`~causal_influence.errors.DTypeError` naming the first
bad index; booleans are rejected (a mask is not a label). :func:`as_labels` and
:func:`as_index` convert, :func:`as_label_matrix` gives the (T, N) labels of the communication
measures and :func:`alphabet_size` the size of their alphabet.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from causal_influence._backend import Array, as_backend, is_torch, to_numpy
from causal_influence._options import check_count
from causal_influence.errors import (
    CausalInfluenceError,
    DTypeError,
    ShapeError,
    describe,
    located_error,
)

__all__ = [
    "alphabet_size",
    "as_index",
    "as_label_matrix",
    "as_labels",
    "first_true",
    "where_text",
]


def where_text(where: tuple[int, ...]) -> str:
    """ " at index i" (or "(i, j, ...)") for the messages, "" for a scalar."""
    if not where:
        return ""
    return f" at index {where[0]}" if len(where) == 1 else f" at index {where}"


def first_true(mask: Any) -> tuple[int, ...]:
    """Index of the first True entry of a numpy or torch boolean array."""
    if is_torch(mask):
        return tuple(int(i) for i in mask.nonzero()[0])
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _kind(x: Any) -> str:
    """``"i"`` integers, ``"f"`` floats, ``"b"`` booleans, ``"o"`` anything else."""
    if is_torch(x):
        if x.dtype.is_floating_point:
            return "f"
        if x.dtype.is_complex:
            return "o"
        return "b" if str(x.dtype) == "torch.bool" else "i"
    kind = x.dtype.kind
    return "i" if kind in "iu" else kind if kind in "fb" else "o"


def _integers(x: Any, name: str) -> Array:
    """``x`` as int64 on its own backend under the one label rule (see the module docstring).

    Errors are located (:func:`~causal_influence.errors.error_location` gives ``name`` and the
    index of the first bad entry), so that the file readers can name the row.
    """
    arr: Any = x if is_torch(x) else to_numpy(x, name)
    kind = _kind(arr)
    cast = "tensor.long()" if is_torch(arr) else "numpy.asarray(x, dtype=int)"
    if kind == "f":
        with np.errstate(invalid="ignore"):  # NaN or inf (x - x is NaN), a fraction
            bad = ((arr - arr) != 0) | (arr != arr.round())
        if bool(bad.any()):
            where = first_true(bad)
            raise located_error(
                DTypeError,
                name,
                f"{name}: expected integer labels (whole floats such as 3.0 are accepted); got "
                f"{float(arr[where])!r}{where_text(where)} in {describe(arr)}; pass whole numbers "
                f"(e.g. {cast})",
                where,
            )
    elif kind != "i":
        hint = (
            f"booleans are masks, not labels: convert them explicitly "
            f"({'tensor.long()' if is_torch(arr) else 'x.astype(int)'}) if they are labels"
            if kind == "b"
            else "pass integer labels (e.g. numpy.asarray(x, dtype=int), or relabel with "
            "numpy.unique(x, return_inverse=True)[1])"
        )
        raise located_error(
            DTypeError, name, f"{name}: expected integer labels; got {describe(arr)}; {hint}"
        )
    return arr.long() if is_torch(arr) else arr.astype(np.int64, copy=False)


def as_labels(x: Any, name: str, *, ndim: int | None = None, missing: bool = False) -> Array:
    """``x`` as non-negative integer labels (int64; a torch tensor stays a torch tensor).

    Integer dtypes are accepted; floats only when every value is integral (``3.0``).

    ``name`` is the argument name used in messages; ``ndim`` a required number of dimensions;
    ``missing=True`` also admits -1, the label of a missing value (an agent that sent no
    message, saw no context), which the measures that accept it skip.

    Raises
    ------
    DTypeError
        Booleans, non-numeric values, non-integral floats, NaN or ``inf`` (the message names
        the first bad index), or a negative label.
    ShapeError
        When ``x`` does not have ``ndim`` dimensions.

    Examples
    --------
    >>> as_labels([1, 0, 3.0], "x")
    array([1, 0, 3])
    >>> as_labels([1, 0.5], "x")
    Traceback (most recent call last):
    ...
    causal_influence.errors.DTypeError: x: expected integer labels (whole floats such as 3.0 are accepted); got 0.5 at index 1 in numpy.ndarray of shape (2,) and dtype float64; pass whole numbers (e.g. numpy.asarray(x, dtype=int))
    """  # noqa: E501
    labels = _integers(x, name)
    if ndim is not None and labels.ndim != ndim:
        raise ShapeError(
            f"{name}: expected a {ndim}-D array of labels; got {describe(labels)}"
            + ("; flatten it or select one agent's column" if ndim == 1 else "")
        )
    negative = labels < (-1 if missing else 0)
    if bool(negative.any()):
        where = first_true(negative)
        allowed = (
            "non-negative integer labels or -1 (missing)"
            if missing
            else ("non-negative integer labels")
        )
        raise DTypeError(
            f"{name}: expected {allowed}; got {int(labels[where])}"
            f"{where_text(where)}; relabel with numpy.unique(x, return_inverse=True)[1]"
        )
    return labels


def as_index(
    x: Any,
    name: str,
    size: int | None,
    *,
    like: Any = None,
    expected: str | None = None,
    hint: str = "",
    error: type[CausalInfluenceError] = ShapeError,
) -> Array:
    """``x`` as integer indices in ``[0, size)``, on the backend (and device) of ``like``.

    The dtype rule is that of :func:`as_labels`; ``size=None`` skips the range check. An
    out-of-range value raises ``error`` (default :class:`ShapeError`) with the message
    ``"{name}: expected {expected}; got ..."`` (``expected`` defaults to
    ``"indices in [0, size)"``) followed by ``hint``.

    Examples
    --------
    >>> as_index([2, 0], "actual", 3)
    array([2, 0])
    """
    idx = _integers(x, name)
    if like is not None:
        idx = as_backend(idx, like)
    if size is None:
        return idx
    bad = (idx < 0) | (idx >= size)
    if bool(bad.any()):
        where = first_true(bad)
        raise error(
            f"{name}: expected {expected or f'indices in [0, {size})'}; got {int(idx[where])}"
            f"{where_text(where)}, outside that range" + (f"; {hint}" if hint else "")
        )
    return idx


def as_label_matrix(x: Any, name: str, *, missing: bool = False) -> np.ndarray:
    """Labels of shape (T,) or (T, N) as a (T, N) int64 numpy array with T >= 1 (one column
    per agent; a 1-D input is one agent).

    ``missing=True`` admits -1 (no value at that step), as :func:`as_labels`.

    Raises
    ------
    ShapeError
        Another number of dimensions, or no steps.
    DTypeError
        As :func:`as_labels`.
    """
    arr = to_numpy(as_labels(x, name, missing=missing))
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0:
        missing_text = ", -1 for a missing value" if missing else ""
        raise ShapeError(
            f"{name}: expected labels of shape (T,) or (T, N) (time-major, agent second)"
            f"{missing_text}; got {describe(arr)}"
        )
    return arr


def alphabet_size(
    labels: np.ndarray, given: int | None, name: str, *, option: str, minimum: int = 1
) -> int:
    """The alphabet size of ``labels`` (>= 0, -1 for missing): ``given`` (the option named
    ``option``, an integer >= ``minimum`` and above every label), or the largest label + 1
    (at least 1).

    Raises
    ------
    ConfigError
        ``given`` is not an integer >= ``minimum``.
    ShapeError
        A label is not below ``given``.
    """
    top = int(labels.max()) + 1 if labels.size else 0
    if given is None:
        return max(top, 1)
    given = check_count(option, given, minimum=minimum)
    if top > given:
        raise ShapeError(
            f"{name}: found label {top - 1} but the alphabet size is {given}; pass the right "
            f"size or fix the labels"
        )
    return given
