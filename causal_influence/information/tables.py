"""Samples of discrete labels and their contingency tables."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from causal_influence.errors import FewSamplesWarning, ShapeError
from causal_influence.validation import as_labels, check_same_length, to_numpy

__all__ = ["contingency_table", "joint_codes", "sample_labels", "warn_sparse"]


def sample_labels(x: Any, name: str) -> np.ndarray:
    """``x`` as a non-empty 1-D numpy array of non-negative integer labels, one per sample.

    Raises
    ------
    DTypeError
        As :func:`causal_influence.validation.as_labels`.
    ShapeError
        When ``x`` is not 1-D or is empty.

    Examples
    --------
    >>> sample_labels([2, 0.0], "x")
    array([2, 0])
    """
    labels = to_numpy(as_labels(x, name, ndim=1))
    if labels.size == 0:
        raise ShapeError(f"{name}: expected at least one sample; got an empty array")
    return labels


def joint_codes(*labels: np.ndarray) -> np.ndarray:
    """Dense codes 0..k-1 of the joint values of several label arrays (first value first).

    Examples
    --------
    >>> joint_codes(np.array([5, 5, 7]), np.array([0, 1, 0]))
    array([0, 1, 2])
    """
    code = np.zeros_like(labels[0])
    for lab in labels:
        _, inv = np.unique(lab, return_inverse=True)
        code = code * (int(inv.max()) + 1) + inv
    return np.unique(code, return_inverse=True)[1]


def warn_sparse(n: int, cells: int) -> None:
    """Warn (:class:`FewSamplesWarning`) when ``n`` samples fall into more than ``n`` cells."""
    if n < cells:
        warnings.warn(
            f"{n} samples for a table of {cells} cells: the plug-in estimate is strongly biased "
            f"upward; use estimator='miller_madow' or 'shuffle' and a permutation test",
            FewSamplesWarning,
            stacklevel=3,
        )


def _table_iv(
    x: Any, y: Any, num_x: int | None, num_y: int | None
) -> tuple[np.ndarray, np.ndarray, int, int]:
    xa, ya = sample_labels(x, "x"), sample_labels(y, "y")
    check_same_length(x=xa, y=ya)
    nx = int(xa.max()) + 1 if num_x is None else int(num_x)
    ny = int(ya.max()) + 1 if num_y is None else int(num_y)
    if xa.max() >= nx or ya.max() >= ny:
        raise ShapeError(
            f"labels exceed the table size: max x = {int(xa.max())} with num_x = {nx}, max y = "
            f"{int(ya.max())} with num_y = {ny}; increase num_x / num_y"
        )
    return xa, ya, nx, ny


def contingency_table(
    x: Any, y: Any, *, num_x: int | None = None, num_y: int | None = None
) -> np.ndarray:
    """Counts of each (x, y) pair.

    Parameters
    ----------
    x, y : array_like of int, shape (n,)
        Non-negative labels.
    num_x, num_y : int, optional
        Number of rows / columns (defaults: largest label + 1).

    Returns
    -------
    numpy.ndarray of int64, shape (num_x, num_y)

    Examples
    --------
    >>> contingency_table([0, 0, 1], [1, 1, 0])
    array([[0, 2],
           [1, 0]])
    """
    xa, ya, nx, ny = _table_iv(x, y, num_x, num_y)
    return np.bincount(xa * ny + ya, minlength=nx * ny).reshape(nx, ny)
