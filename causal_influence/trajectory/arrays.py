"""Array conversion and checks for trajectory fields, and episode-start helpers.

Everything here works on one array at a time and knows nothing of the :class:`Trajectory`
type: conversion of user input (numpy, torch, nested lists) to numpy arrays of one kind,
shape, range and logits checks, and the conversions between episode ids, episode starts and
steps within an episode. Errors are *located*: they remember the field and the array index
they are about (:func:`located_error`, read back with :func:`error_location`), so the file
readers can name the column or array and the row.

Examples
--------
>>> import numpy as np
>>> from causal_influence.errors import ShapeError
>>> from causal_influence.trajectory.arrays import check_range, error_location
>>> try:
...     check_range(np.array([[0, 1], [3, 0]]), "actions", 3, "num_actions", ("a", "b"))
... except ShapeError as err:
...     print(err)
...     print(error_location(err))
actions: expected values in [0, num_actions=3); got 3 at step 1, agent 0 (a); ...
('actions', (1, 0))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from causal_influence._backend import is_torch
from causal_influence.errors import (
    CausalInfluenceError,
    DTypeError,
    InvalidDistributionError,
    ShapeError,
    describe,
)

__all__ = [
    "bool_array",
    "check_logits",
    "check_range",
    "check_shape",
    "describe_index",
    "error_location",
    "first_true",
    "float_array",
    "ids_from_starts",
    "int_array",
    "located_error",
    "numeric_array",
    "shares_memory",
    "starts_from_dones",
    "starts_from_ids",
    "t_from_starts",
    "to_numpy",
]


# --------------------------------------------------------------------------------------------
# errors that remember where they happened (the file readers turn the index into a row)


def located_error(
    cls: type[CausalInfluenceError], field_name: str, message: str, index: Any = None
) -> CausalInfluenceError:
    """An error of class ``cls`` that also records the field and array index it is about.

    Read the location back with :func:`error_location`.
    """
    err = cls(message)
    err.__dict__.update(ci_field=field_name, ci_index=None if index is None else tuple(index))
    return err


def error_location(err: BaseException) -> tuple[str | None, tuple[int, ...] | None]:
    """The ``(field, index)`` recorded by :func:`located_error`, or ``(None, None)``.

    ``index`` is the array index of the first offending entry of the field, (step, agent,
    ...) for per-agent fields, or None when the error is about the whole array.
    """
    return err.__dict__.get("ci_field"), err.__dict__.get("ci_index")


def describe_index(index: Sequence[int], agent_ids: Sequence[str] | None = None) -> str:
    """Human description of an array index of a (T, N, ...) field.

    Examples
    --------
    >>> describe_index((4, 1, 2), ("red", "blue"))
    'step 4, agent 1 (blue), entry (2,)'
    """
    parts = [f"step {int(index[0])}"]
    if len(index) > 1:
        a = int(index[1])
        name = f" ({agent_ids[a]})" if agent_ids is not None and 0 <= a < len(agent_ids) else ""
        parts.append(f"agent {a}{name}")
    if len(index) > 2:
        parts.append(f"entry {tuple(int(i) for i in index[2:])}")
    return ", ".join(parts)


def first_true(mask: Any) -> tuple[int, ...] | None:
    """Index of the first True entry of ``mask`` (C order), or None."""
    flat = np.flatnonzero(mask)
    if flat.size == 0:
        return None
    return tuple(int(i) for i in np.unravel_index(int(flat[0]), mask.shape))


# --------------------------------------------------------------------------------------------
# conversion


def shares_memory(arr: np.ndarray, source: Any) -> bool:
    """Whether ``arr`` may share memory with the caller's input ``source``."""
    if source is None or isinstance(source, (list, tuple)):
        return False
    if is_torch(source):
        source = source.detach()
        if source.device.type != "cpu":
            return False
        source = source.numpy()
    base = source if isinstance(source, np.ndarray) else np.asarray(source)
    return bool(np.may_share_memory(arr, base))


def to_numpy(x: Any, name: str) -> np.ndarray:
    """``x`` (numpy array, torch tensor or nested lists) as a numpy array, without copying
    arrays; ragged nested lists raise :class:`~causal_influence.errors.ShapeError`."""
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


def int_array(x: Any, name: str) -> np.ndarray:
    """``x`` as int64 indices; floats (even 3.0) raise :class:`~causal_influence.errors.DTypeError`
    (an empty float array, as ``numpy.asarray([])`` makes, is accepted)."""
    arr = to_numpy(x, name)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.size == 0 and arr.dtype.kind in "fb":  # e.g. numpy.asarray([]) is float
        return arr.astype(np.int64)
    raise located_error(
        DTypeError,
        name,
        f"{name}: expected an integer array; got {describe(arr)}; convert it with "
        f".astype(int) (actions, symbols and steps are indices)",
    )


def float_array(x: Any, name: str) -> np.ndarray:
    """``x`` as a float array (float dtypes kept, integers and bools become float64)."""
    arr = to_numpy(x, name)
    if arr.dtype.kind == "f":
        return arr
    if arr.dtype.kind in "iub":
        return arr.astype(np.float64)
    raise located_error(
        DTypeError,
        name,
        f"{name}: expected a float array; got {describe(arr)}; convert it with .astype(float)",
    )


def bool_array(x: Any, name: str) -> np.ndarray:
    """``x`` as a bool array (integers must be 0 or 1)."""
    arr = to_numpy(x, name)
    if arr.dtype.kind == "b":
        return arr
    if arr.dtype.kind in "iu":
        idx = first_true((arr != 0) & (arr != 1))
        if idx is not None:
            raise located_error(
                DTypeError,
                name,
                f"{name}: expected booleans (or 0/1); got {arr[idx]} at {describe_index(idx)}",
                idx,
            )
        return arr.astype(bool)
    raise located_error(
        DTypeError,
        name,
        f"{name}: expected a bool array; got {describe(arr)}; convert it with .astype(bool)",
    )


def numeric_array(x: Any, name: str) -> np.ndarray:
    """``x`` as a numeric or bool array, its dtype kept."""
    arr = to_numpy(x, name)
    if arr.dtype.kind in "biuf":
        return arr
    raise located_error(
        DTypeError,
        name,
        f"{name}: expected a numeric or bool array; got {describe(arr)}",
    )


# --------------------------------------------------------------------------------------------
# checks


def check_shape(arr: np.ndarray, name: str, expected: tuple[Any, ...], text: str) -> None:
    """Raise a located ShapeError unless ``arr`` has shape ``expected``.

    ``expected`` holds ints or None (any size); ``text`` spells the expected shape.
    """
    ok = arr.ndim == len(expected) and all(
        e is None or s == e for s, e in zip(arr.shape, expected, strict=True)
    )
    if not ok:
        raise located_error(
            ShapeError, name, f"{name}: expected an array of shape {text}; got {describe(arr)}"
        )


def check_range(
    arr: np.ndarray, name: str, size: int, size_name: str, agent_ids: Sequence[str]
) -> None:
    """Raise a located ShapeError unless every label of ``arr`` lies in [0, size)."""
    if arr.size == 0:
        return
    if int(arr.min()) >= 0 and int(arr.max()) < size:
        return
    idx = first_true((arr < 0) | (arr >= size))
    if idx is None:
        return
    raise located_error(
        ShapeError,
        name,
        f"{name}: expected values in [0, {size_name}={size}); got {int(arr[idx])} at "
        f"{describe_index(idx, agent_ids)}; check the data or set {size_name}",
        idx,
    )


def check_finite_values(
    arr: np.ndarray, name: str, agent_ids: Sequence[str], *, unrecorded: bool = False
) -> None:
    """No NaN or infinity in a float field (rewards, influence), else a located ShapeError.

    With ``unrecorded``, an array that is NaN everywhere is accepted: it means the values were
    not recorded (e.g. rewards of actions-only data), which every consumer checks for.
    """
    if arr.size == 0 or arr.dtype.kind not in "fc":
        return
    finite = np.isfinite(arr)
    if finite.all() or (unrecorded and np.isnan(arr).all()):
        return
    idx = first_true(~finite)
    if idx is None:  # pragma: no cover - some entry is not finite
        return
    fix = (
        "leave the whole field out (or all NaN: not recorded) rather than marking single steps"
        if unrecorded
        else "drop the field or repair those steps"
    )
    raise located_error(
        ShapeError,
        name,
        f"{name}: expected finite values; got {float(arr[idx])} at "
        f"{describe_index(idx, agent_ids)}; {fix}",
        idx,
    )


def check_logits(arr: np.ndarray, name: str, agent_ids: Sequence[str], *, rows: bool) -> None:
    """No NaN or +inf; with ``rows``, no distribution whose entries are all -inf.

    Raises a located :class:`~causal_influence.errors.InvalidDistributionError` at the first
    offending entry (or row).
    """
    if arr.size == 0:
        return
    for bad, found, fix in (
        (np.isnan(arr), "NaN", "check the model output for NaN"),
        (np.isposinf(arr), "+inf", "clip the logits"),
    ):
        idx = first_true(bad) if bad.any() else None
        if idx is not None:
            raise located_error(
                InvalidDistributionError,
                name,
                f"{name}: expected finite logits (or -inf for masked actions); got {found} at "
                f"{describe_index(idx, agent_ids)}; {fix}",
                idx,
            )
    if rows:
        dead = np.isneginf(arr).all(axis=-1)
        idx = first_true(dead) if dead.any() else None
        if idx is not None:
            raise located_error(
                InvalidDistributionError,
                name,
                f"{name}: every entry is -inf (all actions masked) at "
                f"{describe_index(idx, agent_ids)}, which is not a distribution",
                idx,
            )


# --------------------------------------------------------------------------------------------
# episode starts


def starts_from_ids(ids: np.ndarray) -> np.ndarray:
    """Bool (T,): True where a contiguous block of equal episode ids begins.

    Examples
    --------
    >>> starts_from_ids(np.array([4, 4, 1, 1, 1, 4]))
    array([ True, False,  True, False, False,  True])
    """
    starts = np.empty(ids.shape[0], dtype=bool)
    starts[:1] = True
    np.not_equal(ids[1:], ids[:-1], out=starts[1:])
    return starts


def starts_from_dones(dones: np.ndarray) -> np.ndarray:
    """Bool (T,): True on step 0 and on every step after a done (the last step of an episode).

    Examples
    --------
    >>> starts_from_dones(np.array([False, True, False, True]))
    array([ True, False,  True, False])
    """
    starts = np.empty(dones.shape[0], dtype=bool)
    starts[:1] = True
    starts[1:] = dones[:-1]
    return starts


def ids_from_starts(starts: np.ndarray) -> np.ndarray:
    """int64 (T,): episode ids 0, 1, ... counted from the episode starts (step 0 always starts).

    Examples
    --------
    >>> ids_from_starts(np.array([True, False, True, True]))
    array([0, 0, 1, 2])
    """
    return np.cumsum(starts, dtype=np.int64) - 1


def t_from_starts(starts: np.ndarray) -> np.ndarray:
    """int64 (T,): step within the episode, 0 on every episode start.

    Examples
    --------
    >>> t_from_starts(np.array([True, False, False, True, False]))
    array([0, 1, 2, 0, 1])
    """
    steps = np.arange(starts.shape[0], dtype=np.int64)
    first = np.maximum.accumulate(np.where(starts, steps, 0)) if steps.size else steps
    return steps - first
