r"""Estimators of entropy and mutual information from counts, and their registry.

An :class:`Estimator` is the plug-in (maximum-likelihood) estimate plus at most two
corrections: one added to every entropy (Miller-Madow), one added to a mutual information
(the permutation-null mean subtracted by ``"shuffle"``). Entropy, mutual information and
conditional mutual information are all computed from these two, so a new estimator is one
:func:`register_estimator` call here. ``docs/metrics.md``, section "Information estimators",
gives the bias each one removes.

Examples
--------
>>> from causal_influence.information.estimators import ESTIMATORS
>>> list(ESTIMATORS)
['plugin', 'miller_madow', 'shuffle']
>>> round(float(ESTIMATORS["miller_madow"].mutual_information([[5, 0], [0, 5]])), 6)
0.743147
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from causal_influence.errors import ShapeError, describe
from causal_influence.registry import Registry
from causal_influence.validation import log_base

__all__ = [
    "ESTIMATORS",
    "Estimator",
    "conditional_mutual_information_from_counts",
    "entropy_from_counts",
    "expected_mutual_information_from_counts",
    "mutual_information_from_counts",
    "register_estimator",
]


def entropy_from_counts(counts: Any, axis: int = -1) -> np.ndarray:
    """Plug-in entropy (nats) of count arrays along ``axis``; 0 for empty rows, exactly 0
    for a single occupied bin, never negative.

    Examples
    --------
    >>> round(float(entropy_from_counts([1, 1])), 6)
    0.693147
    >>> float(entropy_from_counts([0, 7, 0]))
    0.0
    """
    counts = np.asarray(counts, dtype=np.float64)
    n = np.expand_dims(counts.sum(axis=axis), axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n > 0, counts / np.where(n > 0, n, 1.0), 0.0)
        h = -special.xlogy(p, p).sum(axis=axis)
    return np.maximum(h, 0.0)


def _plugin_mutual_information(tables: np.ndarray) -> np.ndarray:
    """Plug-in MI of tables (..., X, Y): sum_xy (n_xy / n) log(n_xy n / (n_x n_y)).

    The ratio is formed from integer products (exact in float64 below 2**53), so a table
    whose cells all equal n_x n_y / n (independence, exactly) gives exactly 0; the result is
    clamped at 0 against rounding.
    """
    n = tables.sum(axis=(-2, -1), keepdims=True)
    nx = tables.sum(axis=-1, keepdims=True)
    ny = tables.sum(axis=-2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log(tables * n) - np.log(nx * ny)
        terms = np.where(tables > 0, tables * ratio, 0.0)
        mi = terms.sum(axis=(-2, -1)) / np.where(n[..., 0, 0] > 0, n[..., 0, 0], 1.0)
    return np.maximum(mi, 0.0)


@dataclass(frozen=True)
class Estimator:
    """An entry of :data:`ESTIMATORS`.

    Attributes
    ----------
    name : str
        The name accepted by ``estimator=``.
    description : str
        One line for help texts and reports.
    entropy_correction : callable or None
        ``f(counts)`` -> nats added to the plug-in entropy of count arrays (..., bins), one
        value per array (Miller-Madow: :math:`(\\hat k - 1)/(2N)`). Applied to every entropy of
        a mutual information, so it corrects MI and conditional MI consistently.
    mi_correction : callable or None
        ``f(tables)`` -> nats added to the plug-in mutual information of contingency tables
        (..., X, Y), one value per table (``"shuffle"``: minus the permutation-null mean). An
        estimator with only this correction has no entropy form.
    """

    name: str
    description: str
    entropy_correction: Callable[[np.ndarray], np.ndarray] | None = None
    mi_correction: Callable[[np.ndarray], np.ndarray] | None = None

    @property
    def corrects_entropy(self) -> bool:
        """True when the estimator has an entropy form (no correction, or an entropy one)."""
        return self.mi_correction is None

    def entropy(self, counts: Any) -> np.ndarray:
        """Entropy (nats) of count arrays (..., bins); 0 for empty ones."""
        c = np.asarray(counts, dtype=np.float64)
        h = entropy_from_counts(c)
        if self.entropy_correction is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                h = np.where(c.sum(axis=-1) > 0, h + self.entropy_correction(c), h)
        return h

    def mutual_information(self, tables: Any) -> np.ndarray:
        """Mutual information (nats) of contingency tables (..., X, Y); NaN for empty ones."""
        c = np.asarray(tables, dtype=np.float64)
        mi = _plugin_mutual_information(c)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.entropy_correction is not None:
                fix = self.entropy_correction
                mi = mi + fix(c.sum(axis=-1)) + fix(c.sum(axis=-2))
                mi = mi - fix(c.reshape(*c.shape[:-2], -1))
            if self.mi_correction is not None:
                mi = mi + self.mi_correction(c)
        return np.where(c.sum(axis=(-2, -1)) > 0, mi, np.nan)

    def conditional_mutual_information(self, tables: Any) -> float:
        r"""Conditional mutual information (nats) from per-stratum tables (Z, X, Y).

        :math:`\sum_z p(z) I(X;Y \mid z)`, each stratum's MI with the MI correction; the
        entropy correction is applied to :math:`H(X,Z) + H(Y,Z) - H(X,Y,Z) - H(Z)` pooled over
        the strata.
        """
        c = np.asarray(tables, dtype=np.float64)
        weights = c.sum(axis=(1, 2)) / c.sum()
        per = _plugin_mutual_information(c)
        if self.mi_correction is not None:
            per = per + self.mi_correction(c)
        value = float((weights * np.where(weights > 0, per, 0.0)).sum())
        if self.entropy_correction is not None:
            fix = self.entropy_correction
            value += float(
                fix(c.sum(axis=2).ravel())
                + fix(c.sum(axis=1).ravel())
                - fix(c.ravel())
                - fix(c.sum(axis=(1, 2)))
            )
        return value


def _miller_madow(counts: np.ndarray) -> np.ndarray:
    """(k - 1) / (2 N): k non-empty bins, N samples, along the last axis."""
    occupied = (counts > 0).sum(axis=-1)
    return (occupied - 1) / (2.0 * counts.sum(axis=-1))


def expected_mutual_information_from_counts(table: Any, *, base: float | None = None) -> float:
    """Exact mean of the plug-in MI under random pairings with the margins of ``table`` (X, Y).

    The permutation-null (fixed-margins, hypergeometric) expectation that adjusted MI
    subtracts and the ``"shuffle"`` estimator subtracts from the plug-in MI.

    Examples
    --------
    >>> round(expected_mutual_information_from_counts([[1, 1], [1, 1]]), 6)
    0.231049
    """
    counts = np.asarray(table)
    a = counts.sum(axis=1)
    b = counts.sum(axis=0)
    a = a[a > 0].astype(np.int64)
    b = b[b > 0].astype(np.int64)
    n = int(a.sum())
    if n == 0:
        return 0.0
    lg_a, lg_na = special.gammaln(a + 1), special.gammaln(n - a + 1)
    lg_b, lg_nb = special.gammaln(b + 1), special.gammaln(n - b + 1)
    lg_n = special.gammaln(n + 1)
    total = 0.0
    for i, ai in enumerate(a):
        for j, bj in enumerate(b):
            lo = max(1, int(ai + bj - n))
            hi = int(min(ai, bj))
            if hi < lo:
                continue
            nij = np.arange(lo, hi + 1, dtype=np.float64)
            log_p = (
                lg_a[i]
                + lg_b[j]
                + lg_na[i]
                + lg_nb[j]
                - lg_n
                - special.gammaln(nij + 1)
                - special.gammaln(ai - nij + 1)
                - special.gammaln(bj - nij + 1)
                - special.gammaln(n - ai - bj + nij + 1)
            )
            term = nij / n * (np.log(n * nij) - math.log(ai * bj))
            total += float(np.sum(np.exp(log_p) * term))
    return total / log_base(base)


def _minus_null_mean(tables: np.ndarray) -> np.ndarray:
    flat = tables.reshape(-1, tables.shape[-2], tables.shape[-1])
    null = np.array([expected_mutual_information_from_counts(t) for t in flat])
    return -null.reshape(tables.shape[:-2])


#: Estimators accepted by ``estimator=``, by name (see :class:`Estimator`).
ESTIMATORS: Registry[Estimator] = Registry("estimator")


def register_estimator(
    name: str,
    description: str,
    *,
    entropy_correction: Callable[[np.ndarray], np.ndarray] | None = None,
    mi_correction: Callable[[np.ndarray], np.ndarray] | None = None,
    replace: bool = False,
) -> Estimator:
    """Make ``name`` a value of ``estimator=`` everywhere (the fields of :class:`Estimator`).

    Examples
    --------
    A Miller-Madow correction counting every bin of the table, occupied or not:

    >>> import numpy as np
    >>> def all_bins(counts):
    ...     return (counts.shape[-1] - 1) / (2.0 * counts.sum(axis=-1))
    >>> _ = register_estimator("mm_all_bins", "Miller-Madow over all bins",
    ...                        entropy_correction=all_bins)
    >>> round(float(mutual_information_from_counts([[5, 0], [0, 5]], estimator="mm_all_bins")), 6)
    0.643147
    >>> _ = ESTIMATORS.unregister("mm_all_bins")
    """
    entry = Estimator(name, description, entropy_correction, mi_correction)
    return ESTIMATORS.register(entry, replace=replace)


register_estimator("plugin", "plug-in (maximum-likelihood) estimate; biased upward for MI")
register_estimator(
    "miller_madow",
    "Miller-Madow: each entropy gets + (k - 1) / (2N), k = non-empty bins",
    entropy_correction=_miller_madow,
)
register_estimator(
    "shuffle",
    "plug-in minus the exact permutation-null mean (as adjusted MI)",
    mi_correction=_minus_null_mean,
)


def mutual_information_from_counts(
    counts: Any, *, estimator: str = "plugin", base: float | None = None
) -> np.ndarray:
    """Mutual information of one or many contingency tables.

    Parameters
    ----------
    counts : array_like, shape (..., X, Y)
        Non-negative counts; leading dimensions are independent tables.
    estimator : str, default "plugin"
        A name of :data:`ESTIMATORS` (``"plugin"``, ``"miller_madow"``, ``"shuffle"``).
    base : float, optional
        None for nats, 2 for bits.

    Returns
    -------
    numpy.ndarray of shape (...)
        NaN for empty tables.

    Examples
    --------
    >>> float(mutual_information_from_counts([[5, 0], [0, 5]], base=2))
    1.0
    """
    est = ESTIMATORS.lookup(estimator)
    scale = log_base(base)
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim < 2:
        raise ShapeError(f"counts: expected shape (..., X, Y); got {describe(c)}")
    return est.mutual_information(c) / scale


def conditional_mutual_information_from_counts(
    counts: Any, *, estimator: str = "plugin", base: float | None = None
) -> np.ndarray:
    r"""Conditional mutual information :math:`I(X;Y \mid Z)` of one or many stratified tables.

    Parameters
    ----------
    counts : array_like, shape (..., Z, X, Y)
        Non-negative counts; ``counts[..., z, x, y]`` is the number of samples with condition z
        and pair (x, y). Leading dimensions are independent tables.
    estimator : str, default "plugin"
        A name of :data:`ESTIMATORS`
        (:meth:`Estimator.conditional_mutual_information`).
    base : float, optional
        None for nats, 2 for bits.

    Returns
    -------
    numpy.ndarray of shape (...)
        NaN for empty tables; the plug-in estimate is exactly 0 when every stratum is exactly
        independent.

    Examples
    --------
    Copy under z = 0, anti-copy under z = 1 (pooled MI 0, conditional MI 1 bit):

    >>> float(conditional_mutual_information_from_counts(
    ...     [[[2, 0], [0, 2]], [[0, 2], [2, 0]]], base=2))
    1.0
    """
    est = ESTIMATORS.lookup(estimator)
    scale = log_base(base)
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim < 3 or (c.size and c.min() < 0):
        raise ShapeError(
            f"counts: expected non-negative counts of shape (..., Z, X, Y); got {describe(c)}"
        )
    flat = c.reshape(-1, *c.shape[-3:])
    out = np.array([est.conditional_mutual_information(t) if t.sum() > 0 else np.nan for t in flat])
    return out.reshape(c.shape[:-3]) / scale
