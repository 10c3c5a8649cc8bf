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
    DTypeError,
    InvalidDistributionError,
    ShapeError,
    describe,
    error_location,
    located_error,
)
from causal_influence.validation import (
    as_bool,
    as_episode_starts,
    as_index,
    episode_numbers,
    logits_problem,
    steps_in_episode,
    to_numpy,
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
# errors that remember where they happened (the file readers turn the index into a row):
# :func:`located_error` and :func:`error_location` live in :mod:`causal_influence.errors`.


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


def int_array(x: Any, name: str) -> np.ndarray:
    """``x`` as int64 labels under the project's one rule
    (:func:`causal_influence.validation.as_index`): integer dtypes, or floats whose values are
    all integral (3.0); non-integral floats, NaN, ``inf`` and booleans raise a located
    :class:`~causal_influence.errors.DTypeError`. Negative values pass (range checks are the
    caller's). An empty bool array, as some readers produce for an empty column, is accepted.
    """
    arr = to_numpy(x, name)
    if arr.size == 0 and arr.dtype.kind == "b":
        return arr.astype(np.int64)
    return np.asarray(as_index(arr, name, None))


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
    """``x`` as a bool array, integers 0 or 1 (:func:`causal_influence.validation.as_bool`)."""
    return as_bool(x, name)


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
    arr: np.ndarray,
    name: str,
    size: int,
    size_name: str,
    agent_ids: Sequence[str],
    *,
    low: int = 0,
) -> None:
    """Raise a located ShapeError unless every label of ``arr`` lies in [low, size)
    (``low=-1`` admits -1 as "no label")."""
    if arr.size == 0:
        return
    if int(arr.min()) >= low and int(arr.max()) < size:
        return
    idx = first_true((arr < low) | (arr >= size))
    if idx is None:
        return
    missing = " (-1 = no label)" if low == -1 else ""
    raise located_error(
        ShapeError,
        name,
        f"{name}: expected values in [{low}, {size_name}={size}){missing}; got {int(arr[idx])} "
        f"at {describe_index(idx, agent_ids)}; check the data or set {size_name}",
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
    """No NaN or +inf; with ``rows``, no distribution whose entries are all -inf (the rule of
    :func:`causal_influence.validation.logits_problem`).

    Raises a located :class:`~causal_influence.errors.InvalidDistributionError` at the first
    offending entry (or row).
    """
    if arr.size == 0:
        return
    found, idx = logits_problem(arr, rows=rows)
    if found is None:
        return
    where = describe_index(idx, agent_ids)
    if found == "-inf row":
        message = f"{name}: every entry is -inf (all actions masked) at {where}, which is not a "
        message += "distribution"
    else:
        fix = "check the model output for NaN" if found == "NaN" else "clip the logits"
        message = f"{name}: expected finite logits (or -inf for masked actions); got {found} at "
        message += f"{where}; {fix}"
    raise located_error(InvalidDistributionError, name, message, idx)


# --------------------------------------------------------------------------------------------
# episode starts: the rules live in :mod:`causal_influence.validation`


def starts_from_ids(ids: np.ndarray) -> np.ndarray:
    """Bool (T,): True where a contiguous block of equal episode ids begins.

    Examples
    --------
    >>> starts_from_ids(np.array([4, 4, 1, 1, 1, 4]))
    array([ True, False,  True, False, False,  True])
    """
    return as_episode_starts(ids.shape[0], episode_ids=ids)


def starts_from_dones(dones: np.ndarray) -> np.ndarray:
    """Bool (T,): True on step 0 and on every step after a done (the last step of an episode).

    Examples
    --------
    >>> starts_from_dones(np.array([False, True, False, True]))
    array([ True, False,  True, False])
    """
    return as_episode_starts(dones.shape[0], dones=dones)


#: int64 (T,): episode ids 0, 1, ... counted from the episode starts.
ids_from_starts = episode_numbers

#: int64 (T,): step within the episode, 0 on every episode start.
t_from_starts = steps_in_episode
