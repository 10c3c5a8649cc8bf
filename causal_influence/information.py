r"""Information measures from discrete samples, with bias corrections and significance.

Inputs are integer labels (actions, symbols, states), one sample per position. Results are in
nats unless ``base`` is given (``base=2`` for bits).

Estimators (METRICS.md section 4):

- ``"plugin"``: maximum-likelihood (plug-in) estimate from the contingency table. Biased
  upward for MI: about :math:`(k_x-1)(k_y-1)/(2N)` nats under independence.
- ``"miller_madow"``: each entropy gets :math:`+(\hat k - 1)/(2N)`, :math:`\hat k` = number of
  non-empty bins; for MI this adds :math:`(k_x + k_y - k_{xy} - 1)/(2N)`.
- ``"shuffle"``: plug-in minus the exact mean of the plug-in MI under random pairings (the
  hypergeometric permutation null with fixed margins, as used by adjusted MI); for conditional
  MI the null permutes within each stratum of the condition.

Significance: :func:`permutation_test` draws permutation-null contingency tables directly from
their hypergeometric distribution (sequential conditional draws), which is exactly the
distribution of the table of a randomly permuted pairing, at a cost independent of the number
of samples. :func:`bootstrap_ci` resamples whole episodes when given ``groups``.

Examples
--------
>>> from causal_influence.information import mutual_information
>>> x = [0, 0, 0, 0, 1, 1, 1, 1]
>>> y = [0, 0, 0, 1, 0, 1, 1, 1]
>>> round(float(mutual_information(x, y)), 6)
0.130812
>>> round(float(mutual_information(x, y, base=2)), 6)
0.188722
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from causal_influence._backend import log_base, to_int
from causal_influence.errors import (
    ConfigError,
    DTypeError,
    FewSamplesWarning,
    ShapeError,
    describe,
)

__all__ = [
    "ESTIMATORS",
    "BootstrapResult",
    "GTestResult",
    "PermutationResult",
    "bootstrap_ci",
    "conditional_mutual_information",
    "contingency_table",
    "entropy",
    "expected_mutual_information",
    "g_test",
    "mutual_information",
    "mutual_information_from_counts",
    "normalized_mutual_information",
    "permutation_test",
    "resolve_rng",
    "uncertainty_coefficient",
    "variation_of_information",
]

#: Estimators accepted by the ``estimator=`` option.
ESTIMATORS: tuple[str, ...] = ("plugin", "miller_madow", "shuffle")


# --------------------------------------------------------------------------- helpers


def resolve_rng(rng: Any) -> np.random.Generator:
    """A numpy Generator from ``int | numpy.random.Generator | torch.Generator | None``.

    A torch generator seeds a numpy generator from its ``initial_seed()``; global RNG state is
    never touched.

    Examples
    --------
    >>> bool(resolve_rng(0).integers(10) == resolve_rng(0).integers(10))
    True
    """
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    if hasattr(rng, "initial_seed"):
        return np.random.default_rng(int(rng.initial_seed()))
    raise DTypeError(
        f"rng: expected an int seed, numpy.random.Generator, torch.Generator or None; got "
        f"{describe(rng)}"
    )


def _scale(base: float | None) -> float:
    return log_base(base)


def _labels(x: Any, name: str) -> np.ndarray:
    arr = to_int(x, name)
    arr = np.asarray(arr)
    if arr.ndim != 1:
        raise ShapeError(
            f"{name}: expected a 1-D array of labels (one per sample); got {describe(arr)}; "
            f"flatten it or select one agent's column"
        )
    if arr.size == 0:
        raise ShapeError(f"{name}: expected at least one sample; got an empty array")
    if arr.min() < 0:
        raise DTypeError(
            f"{name}: expected non-negative integer labels; got minimum {int(arr.min())}; "
            f"relabel with numpy.unique(x, return_inverse=True)[1]"
        )
    return arr


def _same_length(**arrays: np.ndarray) -> int:
    lengths = {k: v.shape[0] for k, v in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ShapeError(
            f"expected samples of equal length; got lengths {lengths}; pair each sample of one "
            f"variable with one sample of the other"
        )
    return next(iter(lengths.values()))


def _combine(*labels: np.ndarray) -> np.ndarray:
    """Dense joint codes of several label arrays."""
    code = np.zeros_like(labels[0])
    for lab in labels:
        _, inv = np.unique(lab, return_inverse=True)
        code = code * (int(inv.max()) + 1) + inv
    return np.unique(code, return_inverse=True)[1]


def _entropy_counts(counts: np.ndarray, axis: int = -1) -> np.ndarray:
    """Plug-in entropy (nats) of count arrays along ``axis``; 0 for empty rows."""
    counts = np.asarray(counts, dtype=np.float64)
    n = counts.sum(axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = special.xlogy(counts, counts).sum(axis=axis)
        h = np.where(n > 0, np.log(np.where(n > 0, n, 1.0)) - s / np.where(n > 0, n, 1.0), 0.0)
    return h


def _check_estimator(estimator: str) -> None:
    if estimator not in ESTIMATORS:
        raise ConfigError(f"estimator: expected one of {ESTIMATORS}; got {estimator!r}")


def _warn_sparse(n: int, cells: int) -> None:
    if n < cells:
        warnings.warn(
            f"{n} samples for a table of {cells} cells: the plug-in estimate is strongly biased "
            f"upward; use estimator='miller_madow' or 'shuffle' and a permutation test",
            FewSamplesWarning,
            stacklevel=3,
        )


# --------------------------------------------------------------------------- tables


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
    xa = _labels(x, "x")
    ya = _labels(y, "y")
    _same_length(x=xa, y=ya)
    nx = int(xa.max()) + 1 if num_x is None else int(num_x)
    ny = int(ya.max()) + 1 if num_y is None else int(num_y)
    if xa.max() >= nx or ya.max() >= ny:
        raise ShapeError(
            f"labels exceed the table size: max x = {int(xa.max())} with num_x = {nx}, max y = "
            f"{int(ya.max())} with num_y = {ny}; increase num_x / num_y"
        )
    return np.bincount(xa * ny + ya, minlength=nx * ny).reshape(nx, ny)


def mutual_information_from_counts(
    counts: Any, *, estimator: str = "plugin", base: float | None = None
) -> np.ndarray:
    """Mutual information of one or many contingency tables.

    Parameters
    ----------
    counts : array_like, shape (..., X, Y)
        Non-negative counts; leading dimensions are independent tables.
    estimator : {"plugin", "miller_madow", "shuffle"}
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
    _check_estimator(estimator)
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim < 2:
        raise ShapeError(f"counts: expected shape (..., X, Y); got {describe(c)}")
    n = c.sum(axis=(-2, -1))
    hx = _entropy_counts(c.sum(axis=-1))
    hy = _entropy_counts(c.sum(axis=-2))
    hxy = _entropy_counts(c.reshape(*c.shape[:-2], -1))
    mi = hx + hy - hxy
    if estimator == "miller_madow":
        kx = (c.sum(axis=-1) > 0).sum(axis=-1)
        ky = (c.sum(axis=-2) > 0).sum(axis=-1)
        kxy = (c > 0).sum(axis=(-2, -1))
        with np.errstate(divide="ignore", invalid="ignore"):
            mi = mi + (kx + ky - kxy - 1) / (2.0 * n)
    elif estimator == "shuffle":
        flat = c.reshape(-1, c.shape[-2], c.shape[-1])
        emi = np.array([_emi_counts(t) for t in flat]).reshape(c.shape[:-2])
        mi = mi - emi
    mi = np.where(n > 0, np.maximum(mi, 0.0) if estimator == "plugin" else mi, np.nan)
    return mi / _scale(base)


# --------------------------------------------------------------------------- EMI


def _emi_counts(table: np.ndarray) -> float:
    """Exact expected plug-in MI (nats) under random pairings with the table's margins."""
    a = table.sum(axis=1)
    b = table.sum(axis=0)
    a = a[a > 0].astype(np.int64)
    b = b[b > 0].astype(np.int64)
    n = int(a.sum())
    if n == 0:
        return 0.0
    lg_a = special.gammaln(a + 1)
    lg_na = special.gammaln(n - a + 1)
    lg_b = special.gammaln(b + 1)
    lg_nb = special.gammaln(n - b + 1)
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
    return total


def expected_mutual_information(x: Any, y: Any, *, base: float | None = None) -> float:
    """Exact mean of the plug-in MI of ``x`` and a random permutation of ``y``.

    This is the permutation-null (fixed-margins, hypergeometric) expectation that adjusted MI
    subtracts; the ``"shuffle"`` estimator is the plug-in MI minus this value.

    Examples
    --------
    >>> round(expected_mutual_information([0, 0, 1, 1], [0, 1, 0, 1]), 6)
    0.231049
    """
    xa = _labels(x, "x")
    ya = _labels(y, "y")
    _same_length(x=xa, y=ya)
    return _emi_counts(contingency_table(xa, ya)) / _scale(base)


# --------------------------------------------------------------------------- entropies


def entropy(x: Any, *, estimator: str = "plugin", base: float | None = None) -> float:
    r"""Entropy :math:`H(X) = -\sum_x p(x)\log p(x)` of discrete samples.

    Parameters
    ----------
    x : array_like of int, shape (n,)
        Labels.
    estimator : {"plugin", "miller_madow"}
        Plug-in, or plug-in plus :math:`(\hat k - 1)/(2n)`.
    base : float, optional
        None for nats, 2 for bits.

    Examples
    --------
    >>> entropy([0, 1, 2, 3], base=2)
    2.0
    """
    if estimator not in ("plugin", "miller_madow"):
        raise ConfigError(f"estimator: expected 'plugin' or 'miller_madow'; got {estimator!r}")
    xa = _labels(x, "x")
    counts = np.bincount(xa)
    h = float(_entropy_counts(counts))
    if estimator == "miller_madow":
        h += (int((counts > 0).sum()) - 1) / (2.0 * xa.size)
    return h / _scale(base)


def mutual_information(
    x: Any, y: Any, *, estimator: str = "plugin", base: float | None = None
) -> float:
    r"""Mutual information :math:`I(X;Y) = H(X) + H(Y) - H(X,Y)` of paired samples.

    Parameters
    ----------
    x, y : array_like of int, shape (n,)
        Paired labels.
    estimator : {"plugin", "miller_madow", "shuffle"}
        See the module docstring; only ``"plugin"`` is guaranteed to be ``>= 0``.
    base : float, optional
        None for nats, 2 for bits.

    Returns
    -------
    float

    Warns
    -----
    FewSamplesWarning
        When there are fewer samples than cells in the observed table (the plug-in bias is
        then of the order of the estimate itself).

    Examples
    --------
    >>> mutual_information([0, 1, 0, 1], [1, 0, 1, 0], base=2)
    1.0
    """
    _check_estimator(estimator)
    xa = _labels(x, "x")
    ya = _labels(y, "y")
    n = _same_length(x=xa, y=ya)
    table = contingency_table(_combine(xa), _combine(ya))
    _warn_sparse(n, table.size)
    return float(mutual_information_from_counts(table, estimator=estimator, base=base))


def conditional_mutual_information(
    x: Any, y: Any, z: Any, *, estimator: str = "plugin", base: float | None = None
) -> float:
    r"""Conditional mutual information :math:`I(X;Y\mid Z) = \sum_z p(z)\, I(X;Y\mid Z=z)`.

    Computed as :math:`H(X,Z) + H(Y,Z) - H(X,Y,Z) - H(Z)`. With ``"miller_madow"`` each entropy
    is corrected; with ``"shuffle"`` the exact within-stratum permutation mean is subtracted.

    Parameters
    ----------
    x, y, z : array_like of int, shape (n,)
        Labels; ``z`` is the condition (a state or context).
    estimator : {"plugin", "miller_madow", "shuffle"}
    base : float, optional
        None for nats, 2 for bits.

    Examples
    --------
    Copy in context 0, anti-copy in context 1 (METRICS.md case 8b): the pooled MI is 0 but the
    conditional MI is 1 bit.

    >>> s = [0, 0, 0, 0, 1, 1, 1, 1]
    >>> a = [0, 0, 1, 1, 0, 0, 1, 1]
    >>> b = [0, 0, 1, 1, 1, 1, 0, 0]
    >>> conditional_mutual_information(a, b, s, base=2)
    1.0
    """
    _check_estimator(estimator)
    xa = _labels(x, "x")
    ya = _labels(y, "y")
    za = _labels(z, "z")
    n = _same_length(x=xa, y=ya, z=za)
    zc = _combine(za)
    xc = _combine(xa)
    yc = _combine(ya)
    nz, nx, ny = int(zc.max()) + 1, int(xc.max()) + 1, int(yc.max()) + 1
    tables = np.bincount((zc * nx + xc) * ny + yc, minlength=nz * nx * ny).reshape(nz, nx, ny)
    _warn_sparse(n, nx * ny * nz)
    weights = tables.sum(axis=(1, 2)) / n
    per = mutual_information_from_counts(tables, estimator=estimator)
    per = np.where(weights > 0, per, 0.0)
    if estimator == "miller_madow":
        # Corrections of H(X,Z) + H(Y,Z) - H(X,Y,Z) - H(Z) pooled over strata.
        k_xz = int((tables.sum(axis=2) > 0).sum())
        k_yz = int((tables.sum(axis=1) > 0).sum())
        k_xyz = int((tables > 0).sum())
        k_z = int((tables.sum(axis=(1, 2)) > 0).sum())
        plug = np.where(weights > 0, mutual_information_from_counts(tables), 0.0)
        value = float((weights * plug).sum()) + (k_xz + k_yz - k_xyz - k_z) / (2.0 * n)
    else:
        value = float((weights * per).sum())
    return value / _scale(base)


def normalized_mutual_information(x: Any, y: Any, *, average_method: str = "arithmetic") -> float:
    r"""Normalised mutual information :math:`I(X;Y) / f(H(X), H(Y))`, unit-free.

    ``average_method`` picks f: ``"arithmetic"`` (mean), ``"geometric"``, ``"min"``,
    ``"max"``, or ``"joint"`` (:math:`H(X,Y)`). Degenerate cases follow scikit-learn: both
    variables constant gives 1.0, one constant gives 0.0.

    Examples
    --------
    >>> normalized_mutual_information([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    """
    methods = ("arithmetic", "geometric", "min", "max", "joint")
    if average_method not in methods:
        raise ConfigError(f"average_method: expected one of {methods}; got {average_method!r}")
    xa = _labels(x, "x")
    ya = _labels(y, "y")
    _same_length(x=xa, y=ya)
    table = contingency_table(_combine(xa), _combine(ya))
    if table.shape[0] == 1 and table.shape[1] == 1:
        return 1.0
    if table.shape[0] == 1 or table.shape[1] == 1:
        return 0.0
    mi = float(mutual_information_from_counts(table))
    hx = float(_entropy_counts(table.sum(1)))
    hy = float(_entropy_counts(table.sum(0)))
    norm = {
        "arithmetic": (hx + hy) / 2,
        "geometric": math.sqrt(hx * hy),
        "min": min(hx, hy),
        "max": max(hx, hy),
        "joint": float(_entropy_counts(table.ravel())),
    }[average_method]
    return mi / norm


def uncertainty_coefficient(x: Any, y: Any) -> float:
    r"""Uncertainty coefficient :math:`U(Y \mid X) = I(X;Y)/H(Y)`: the fraction of Y's entropy
    explained by X (directional, in [0, 1]; 0 when Y is constant).

    Examples
    --------
    >>> uncertainty_coefficient([0, 1, 2, 3] * 2, [0, 0, 1, 1] * 2)
    1.0
    """
    hy = entropy(y)
    return 0.0 if hy == 0 else mutual_information(x, y) / hy


def variation_of_information(x: Any, y: Any, *, base: float | None = None) -> float:
    r"""Variation of information :math:`H(X,Y) - I(X;Y)`, a metric between labelings.

    Examples
    --------
    >>> variation_of_information([0, 0, 1, 1], [1, 1, 0, 0])
    0.0
    """
    xa = _labels(x, "x")
    ya = _labels(y, "y")
    _same_length(x=xa, y=ya)
    table = contingency_table(_combine(xa), _combine(ya))
    hxy = float(_entropy_counts(table.ravel()))
    return (hxy - float(mutual_information_from_counts(table))) / _scale(base)


# --------------------------------------------------------------------------- tests


@dataclass(frozen=True)
class GTestResult:
    """Likelihood-ratio (G) test of independence: ``statistic = 2 N I`` (I in nats)."""

    statistic: float
    pvalue: float
    dof: int


def g_test(x: Any, y: Any) -> GTestResult:
    r"""G-test of independence: :math:`G = 2 N \hat I` (nats), asymptotically
    :math:`\chi^2` with :math:`(k_x - 1)(k_y - 1)` degrees of freedom (occupied rows/columns).

    Examples
    --------
    >>> r = g_test([0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 1, 0, 1, 1, 1])
    >>> round(r.statistic, 6), r.dof
    (2.092993, 1)
    """
    xa = _labels(x, "x")
    ya = _labels(y, "y")
    n = _same_length(x=xa, y=ya)
    table = contingency_table(_combine(xa), _combine(ya))
    g = 2.0 * n * float(mutual_information_from_counts(table))
    dof = (table.shape[0] - 1) * (table.shape[1] - 1)
    p = float(stats.chi2.sf(g, dof)) if dof > 0 else 1.0
    return GTestResult(statistic=g, pvalue=p, dof=dof)


@dataclass(frozen=True)
class PermutationResult:
    """Result of :func:`permutation_test`.

    Attributes
    ----------
    statistic : float
        Observed statistic (plug-in MI or conditional MI, in the requested unit).
    pvalue : float
        ``(1 + #{null >= observed}) / (1 + n_resamples)`` for ``alternative="greater"``.
    null_mean, null_std : float
        Mean and standard deviation of the permutation null.
    n_resamples : int
    """

    statistic: float
    pvalue: float
    null_mean: float
    null_std: float
    n_resamples: int


def _random_tables(
    row_counts: np.ndarray, col_counts: np.ndarray, size: int, rng: np.random.Generator
) -> np.ndarray:
    """``size`` contingency tables with the given margins, each distributed as the table of a
    uniformly random pairing (the permutation null). Shape (size, R, C).

    Row i takes its ``row_counts[i]`` partners from the pool of remaining column labels; the
    number drawn of column j, given what earlier columns took, is hypergeometric.
    """
    r, c = len(row_counts), len(col_counts)
    out = np.zeros((size, r, c), dtype=np.int64)
    remaining_cols = np.broadcast_to(col_counts, (size, c)).astype(np.int64).copy()
    for i in range(r - 1):
        need = np.full(size, int(row_counts[i]), dtype=np.int64)
        pool = remaining_cols.sum(axis=1)
        for j in range(c - 1):
            pool = pool - remaining_cols[:, j]
            take = rng.hypergeometric(remaining_cols[:, j], np.maximum(pool, 0), need)
            take = np.where(need > 0, take, 0)
            out[:, i, j] = take
            need = need - take
        out[:, i, c - 1] = need
        remaining_cols -= out[:, i, :]
    out[:, r - 1, :] = remaining_cols
    return out


def permutation_test(
    x: Any,
    y: Any,
    *,
    z: Any = None,
    groups: Any = None,
    n_resamples: int = 1000,
    alternative: str = "greater",
    base: float | None = None,
    rng: Any = None,
) -> PermutationResult:
    """Permutation test of independence of ``x`` and ``y`` with the plug-in MI as statistic.

    The null permutes the pairing of ``y`` with ``x``; with ``z`` (conditional test, statistic
    = conditional MI) or ``groups`` (e.g. episode ids) the permutation happens only within each
    stratum. Null tables are drawn exactly from their hypergeometric distribution, so the cost
    does not grow with the number of samples.

    Parameters
    ----------
    x, y : array_like of int, shape (n,)
        Paired labels.
    z : array_like of int, shape (n,), optional
        Condition; the statistic becomes the conditional MI I(X;Y|Z).
    groups : array_like of int, shape (n,), optional
        Permute only within groups (combined with ``z`` when both are given).
    n_resamples : int
        Number of null resamples B.
    alternative : {"greater"}
        Dependence only increases MI, so the test is one-sided.
    base : float, optional
        Unit of the reported statistic.
    rng : int, numpy.random.Generator, torch.Generator or None

    Returns
    -------
    PermutationResult

    Examples
    --------
    >>> r = permutation_test([0, 1] * 50, [0, 1] * 50, n_resamples=99, rng=0)
    >>> round(r.statistic, 6), r.pvalue
    (0.693147, 0.01)
    """
    if alternative != "greater":
        raise ConfigError(
            f"alternative: only 'greater' is meaningful for an MI statistic; got {alternative!r}"
        )
    if int(n_resamples) < 1:
        raise ConfigError(f"n_resamples: expected a positive integer; got {n_resamples!r}")
    gen = resolve_rng(rng)
    xa = _labels(x, "x")
    ya = _labels(y, "y")
    arrays = {"x": xa, "y": ya}
    strata_parts = []
    if z is not None:
        arrays["z"] = _labels(z, "z")
        strata_parts.append(arrays["z"])
    if groups is not None:
        arrays["groups"] = _labels(groups, "groups")
        strata_parts.append(arrays["groups"])
    n = _same_length(**arrays)
    xc = _combine(xa)
    yc = _combine(ya)
    nx, ny = int(xc.max()) + 1, int(yc.max()) + 1
    z_code = _combine(arrays["z"]) if z is not None else np.zeros(n, dtype=np.int64)
    strata = _combine(*strata_parts) if strata_parts else np.zeros(n, dtype=np.int64)
    ns = int(strata.max()) + 1
    tables = np.bincount((strata * nx + xc) * ny + yc, minlength=ns * nx * ny).reshape(ns, nx, ny)
    # Each stratum belongs to one value of z (z is part of the strata code when given).
    stratum_z = np.zeros(ns, dtype=np.int64)
    stratum_z[strata] = z_code
    return _permutation_null(tables, stratum_z, int(n_resamples), gen, base)


def _permutation_test_counts(
    counts: Any, *, n_resamples: int = 1000, base: float | None = None, rng: Any = None
) -> PermutationResult:
    """:func:`permutation_test` of the pairs whose contingency table is ``counts`` (X, Y).

    The same result, draw for draw, as ``permutation_test(x, y)`` on labels with that table
    (empty rows and columns are dropped as the relabelling of the labels drops them), at a
    cost independent of the number of samples: the labels are never materialised.

    Examples
    --------
    >>> r = _permutation_test_counts([[50, 0], [0, 50]], n_resamples=99, rng=0)
    >>> round(r.statistic, 6), r.pvalue
    (0.693147, 0.01)
    """
    if int(n_resamples) < 1:
        raise ConfigError(f"n_resamples: expected a positive integer; got {n_resamples!r}")
    table = np.asarray(counts)
    if table.ndim != 2 or table.dtype.kind not in "iub" or (table.size and table.min() < 0):
        raise ShapeError(
            f"counts: expected a 2-D table of non-negative integer counts; got {describe(table)}"
        )
    if table.sum() == 0:
        raise ShapeError("counts: expected at least one sample; got an empty table")
    table = table.astype(np.int64, copy=False)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    return _permutation_null(
        table[None], np.zeros(1, dtype=np.int64), int(n_resamples), resolve_rng(rng), base
    )


def _permutation_null(
    tables: np.ndarray,
    stratum_z: np.ndarray,
    n_resamples: int,
    gen: np.random.Generator,
    base: float | None,
) -> PermutationResult:
    """Permutation test from per-stratum tables (ns, nx, ny) with no empty row or column in
    the pooled margins; ``stratum_z[s]`` is the value of z of stratum s."""
    ns, nx, ny = tables.shape
    n = int(tables.sum())
    nz = int(stratum_z.max()) + 1

    to_z = np.zeros((ns, nz))
    to_z[np.arange(ns), stratum_z] = 1.0

    def statistic(tabs: np.ndarray) -> np.ndarray:
        """Weighted MI of tables (B, ns, nx, ny) pooled per value of z -> (B,)."""
        per_z = np.einsum("bsxy,sz->bzxy", tabs, to_z)
        weights = per_z.sum(axis=(-2, -1)) / n
        mi = mutual_information_from_counts(per_z)
        return np.where(weights > 0, weights * np.nan_to_num(mi), 0.0).sum(axis=-1)

    observed = float(statistic(tables[None])[0])
    null = np.zeros(n_resamples)
    chunk = max(1, min(n_resamples, 2_000_000 // max(1, ns * nx * ny)))
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        sims = np.zeros((size, ns, nx, ny), dtype=np.int64)
        for s in range(ns):
            rows = tables[s].sum(axis=1)
            cols = tables[s].sum(axis=0)
            if rows.sum() == 0:
                continue
            sims[:, s] = _random_tables(rows, cols, size, gen)
        null[start : start + size] = statistic(sims)
    tol = 1e-12 * max(1.0, abs(observed))
    p = (1.0 + float(np.sum(null >= observed - tol))) / (1.0 + null.size)
    scale = _scale(base)
    return PermutationResult(
        statistic=observed / scale,
        pvalue=p,
        null_mean=float(null.mean()) / scale,
        null_std=float(null.std()) / scale,
        n_resamples=n_resamples,
    )


#: Interval methods of :func:`bootstrap_ci`.
BOOTSTRAP_METHODS: tuple[str, ...] = ("percentile", "basic")


@dataclass(frozen=True)
class BootstrapResult:
    """Result of :func:`bootstrap_ci`: point estimate, interval, standard error."""

    estimate: float
    low: float
    high: float
    standard_error: float
    confidence_level: float
    n_resamples: int
    n_groups: int
    method: str = "percentile"
    bias: float = float("nan")


def bootstrap_ci(
    statistic: Callable[..., float],
    *arrays: Any,
    groups: Any = None,
    n_resamples: int = 1000,
    confidence_level: float = 0.95,
    rng: Any = None,
    method: str = "percentile",
) -> BootstrapResult:
    r"""Bootstrap confidence interval (percentile or basic), resampling whole episodes when
    ``groups`` is given.

    Steps within an episode are dependent, so resampling single steps understates the
    uncertainty; with ``groups`` (one id per sample, e.g. the episode) each resample draws
    episodes with replacement and concatenates all their samples.

    Parameters
    ----------
    statistic : callable
        ``statistic(*arrays_resampled) -> float``.
    *arrays : array_like, each of shape (n, ...)
        Data, resampled along the first axis together.
    groups : array_like of shape (n,), optional
        Resampling unit (episode or seed id). Without it, samples are resampled.
    n_resamples : int
    confidence_level : float in (0, 1)
    rng : int, numpy.random.Generator, torch.Generator or None
    method : {"percentile", "basic"}
        ``"percentile"``: the quantiles of the resampled statistic. ``"basic"`` (reverse
        percentile): :math:`[2\hat\theta - q_{1-\alpha/2}, 2\hat\theta - q_{\alpha/2}]`, which
        undoes a shift of the bootstrap distribution. Use it for plug-in information measures:
        their bootstrap distribution sits *above* the estimate (the plug-in bias grows as the
        resample has fewer distinct samples), so a percentile interval can exclude the
        estimate itself (METRICS.md section 4.3). The same draws give both.

    Returns
    -------
    BootstrapResult
        ``bias`` is the bootstrap estimate of the statistic's bias (mean of the resamples minus
        the estimate).

    Warns
    -----
    FewSamplesWarning
        When fewer than 10 groups (or samples) are available.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.repeat(np.arange(20.0), 5)
    >>> r = bootstrap_ci(np.mean, x, groups=np.repeat(np.arange(20), 5), rng=0)
    >>> r.low < 9.5 < r.high
    True
    """
    if not arrays:
        raise ShapeError("bootstrap_ci: pass at least one data array after the statistic")
    if not 0 < confidence_level < 1:
        raise ConfigError(f"confidence_level: expected a value in (0, 1); got {confidence_level}")
    if method not in BOOTSTRAP_METHODS:
        raise ConfigError(f"method: expected one of {BOOTSTRAP_METHODS}; got {method!r}")
    gen = resolve_rng(rng)
    data = [np.asarray(a) for a in arrays]
    n = _same_length(**{f"array {i}": a for i, a in enumerate(data)})
    if groups is None:
        members: Sequence[np.ndarray] = [np.array([i]) for i in range(n)]
        flat_index = None
    else:
        g = np.asarray(groups)
        if g.shape != (n,):
            raise ShapeError(f"groups: expected shape ({n},), one id per sample; got {describe(g)}")
        _, inv = np.unique(g, return_inverse=True)
        order = np.argsort(inv, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(np.bincount(inv))])
        members = [order[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]
        flat_index = order
    n_groups = len(members)
    if n_groups < 10:
        warnings.warn(
            f"only {n_groups} resampling units: bootstrap intervals are unreliable",
            FewSamplesWarning,
            stacklevel=2,
        )
    estimate = float(statistic(*data))
    values = np.empty(int(n_resamples))
    if flat_index is None:
        for b in range(int(n_resamples)):
            idx = gen.integers(0, n, size=n)
            values[b] = statistic(*(a[idx] for a in data))
    else:
        for b in range(int(n_resamples)):
            chosen = gen.integers(0, n_groups, size=n_groups)
            idx = np.concatenate([members[c] for c in chosen])
            values[b] = statistic(*(a[idx] for a in data))
    alpha = (1 - confidence_level) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    if method == "basic":
        low, high = 2.0 * estimate - high, 2.0 * estimate - low
    return BootstrapResult(
        estimate=estimate,
        low=float(low),
        high=float(high),
        standard_error=float(values.std(ddof=1)) if values.size > 1 else float("nan"),
        confidence_level=confidence_level,
        n_resamples=int(n_resamples),
        n_groups=n_groups,
        method=method,
        bias=float(values.mean() - estimate) if values.size else float("nan"),
    )
