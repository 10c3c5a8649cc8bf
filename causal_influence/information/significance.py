"""Tests of independence for discrete samples: the G-test and exact permutation tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy import stats

from causal_influence.errors import ShapeError, describe
from causal_influence.information.estimators import ESTIMATORS
from causal_influence.information.tables import (
    contingency_table,
    joint_codes,
    sample_labels,
)
from causal_influence.validation import (
    check_choice,
    check_positive_int,
    check_same_length,
    log_base,
    resolve_rng,
)

__all__ = [
    "GTestResult",
    "PermutationResult",
    "g_test",
    "permutation_test",
    "permutation_test_counts",
]


def _pair_iv(x: Any, y: Any) -> tuple[np.ndarray, int]:
    """The contingency table of two paired label samples and their number."""
    xa, ya = sample_labels(x, "x"), sample_labels(y, "y")
    n = check_same_length(x=xa, y=ya)
    return contingency_table(joint_codes(xa), joint_codes(ya)), n


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
    table, n = _pair_iv(x, y)
    g = 2.0 * n * float(ESTIMATORS["plugin"].mutual_information(table))
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
    args = _permutation_iv(x, y, z, groups, n_resamples, alternative, base, rng)
    return _permutation_null(args.tables, args.stratum_z, args.n_resamples, args.rng, base)


class _PermutationArgs(NamedTuple):
    tables: np.ndarray  # (strata, X, Y) counts
    stratum_z: np.ndarray  # (strata,) the value of z of each stratum
    n_resamples: int
    rng: np.random.Generator


def _permutation_iv(
    x: Any,
    y: Any,
    z: Any,
    groups: Any,
    n_resamples: int,
    alternative: str,
    base: float | None,
    rng: Any,
) -> _PermutationArgs:
    """Options and labels of :func:`permutation_test`; the per-stratum tables."""
    check_choice(
        "alternative", alternative, ("greater",), hint="dependence only increases an MI statistic"
    )
    resamples = check_positive_int("n_resamples", n_resamples)
    log_base(base)
    gen = resolve_rng(rng)
    arrays = {"x": sample_labels(x, "x"), "y": sample_labels(y, "y")}
    for name, given in (("z", z), ("groups", groups)):
        if given is not None:
            arrays[name] = sample_labels(given, name)
    n = check_same_length(**arrays)
    xc, yc = joint_codes(arrays["x"]), joint_codes(arrays["y"])
    nx, ny = int(xc.max()) + 1, int(yc.max()) + 1
    z_code = joint_codes(arrays["z"]) if z is not None else np.zeros(n, dtype=np.int64)
    parts = [arrays[k] for k in ("z", "groups") if k in arrays]
    strata = joint_codes(*parts) if parts else np.zeros(n, dtype=np.int64)
    ns = int(strata.max()) + 1
    tables = np.bincount((strata * nx + xc) * ny + yc, minlength=ns * nx * ny).reshape(ns, nx, ny)
    # Each stratum belongs to one value of z (z is part of the strata code when given).
    stratum_z = np.zeros(ns, dtype=np.int64)
    stratum_z[strata] = z_code
    return _PermutationArgs(tables, stratum_z, resamples, gen)


def permutation_test_counts(
    counts: Any, *, n_resamples: int = 1000, base: float | None = None, rng: Any = None
) -> PermutationResult:
    """:func:`permutation_test` of the pairs whose contingency table is ``counts`` (X, Y).

    The same result, draw for draw, as ``permutation_test(x, y)`` on labels with that table
    (empty rows and columns are dropped as the relabelling of the labels drops them), at a
    cost independent of the number of samples: the labels are never materialised. For callers
    that hold counts already (streamed datasets, shards). A stratified table (Z, X, Y) gives
    the conditional test ``permutation_test(x, y, z=z)``: statistic I(X;Y|Z), pairings
    permuted within each stratum z.

    Parameters
    ----------
    counts : array_like of int, shape (X, Y) or (Z, X, Y)
        Non-negative counts of each (x, y) pair (per stratum z).
    n_resamples : int
        Number of null resamples B.
    base : float, optional
        Unit of the reported statistic.
    rng : int, numpy.random.Generator, torch.Generator or None

    Returns
    -------
    PermutationResult

    Examples
    --------
    >>> r = permutation_test_counts([[50, 0], [0, 50]], n_resamples=99, rng=0)
    >>> round(r.statistic, 6), r.pvalue
    (0.693147, 0.01)

    A common cause: x and y both copy z; given z nothing is left.

    >>> r = permutation_test_counts([[[30, 0], [0, 0]], [[0, 0], [0, 30]]], n_resamples=99,
    ...                             rng=0)
    >>> r.statistic, r.pvalue
    (0.0, 1.0)
    """
    tables, resamples, gen = _counts_iv(counts, n_resamples, base, rng)
    strata = np.arange(tables.shape[0], dtype=np.int64)
    return _permutation_null(tables, strata, resamples, gen, base)


def _counts_iv(
    counts: Any, n_resamples: int, base: float | None, rng: Any
) -> tuple[np.ndarray, int, np.random.Generator]:
    """The tables (Z, X, Y) without empty strata and empty pooled rows and columns, the number
    of resamples and the generator."""
    resamples = check_positive_int("n_resamples", n_resamples)
    log_base(base)
    table = np.asarray(counts)
    if (
        table.ndim not in (2, 3)
        or table.dtype.kind not in "iub"
        or (table.size and table.min() < 0)
    ):
        raise ShapeError(
            f"counts: expected a (X, Y) or (Z, X, Y) table of non-negative integer counts; got "
            f"{describe(table)}"
        )
    if table.sum() == 0:
        raise ShapeError("counts: expected at least one sample; got an empty table")
    tables = table.astype(np.int64, copy=False).reshape(-1, *table.shape[-2:])
    tables = tables[tables.sum(axis=(1, 2)) > 0]
    pooled = tables.sum(axis=0)
    tables = tables[:, pooled.sum(axis=1) > 0][:, :, pooled.sum(axis=0) > 0]
    return tables, resamples, resolve_rng(rng)


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
        mi = ESTIMATORS["plugin"].mutual_information(per_z)
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
    scale = log_base(base)
    return PermutationResult(
        statistic=observed / scale,
        pvalue=p,
        null_mean=float(null.mean()) / scale,
        null_std=float(null.std()) / scale,
        n_resamples=n_resamples,
    )
