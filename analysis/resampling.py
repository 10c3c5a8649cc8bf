"""Resampling steps shared by the tables of :mod:`analysis.stats` and :mod:`analysis.means`.

Bootstrap intervals over resampling units and permutation tests of pooled contingency tables,
both driven by one generator in the order the tables call them (so the same ``rng`` gives the
same tables), Benjamini-Hochberg q-values across the pairs of a table, and the ordered pairs
every per-pair table iterates over.

Examples
--------
>>> list(ordered_pairs(3))
[(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)]
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from causal_influence.errors import ConfigError
from causal_influence.information import bootstrap_ci, permutation_test_counts

__all__ = [
    "NAN",
    "benjamini_hochberg",
    "bootstrap",
    "check_resampling",
    "ordered_pairs",
    "pair_columns",
    "permutation",
    "progress_bar",
    "ratio",
    "unit_scale",
    "with_q_values",
]

#: Missing value of a statistic that was not computed (a skipped interval or test).
NAN = float("nan")


def benjamini_hochberg(pvalues: Any) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) controlling the false discovery rate.

    A thin NaN-aware wrapper of :func:`scipy.stats.false_discovery_control`: NaN entries
    (tests that were not run) stay NaN and do not count as hypotheses.

    Parameters
    ----------
    pvalues : array_like of float
        p-values in [0, 1] (any shape).

    Returns
    -------
    numpy.ndarray
        q-values of the same shape; reject at FDR level alpha where ``q <= alpha``.

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.2, float("nan")]).round(4)
    array([0.04  , 0.0533, 0.0533, 0.2   ,    nan])
    """
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    if finite.any():
        values = p[finite]
        if values.min() < 0 or values.max() > 1:
            raise ConfigError(
                f"pvalues: expected values in [0, 1]; got the range [{values.min()}, "
                f"{values.max()}]"
            )
        out[finite] = sps.false_discovery_control(values, method="bh")
    return out


def with_q_values(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The rows as a frame with a ``q_value`` column (BH over all of them)."""
    frame = pd.DataFrame(rows)
    frame["q_value"] = benjamini_hochberg(frame["p_value"].to_numpy())
    return frame


def pair_columns(agent_ids: tuple[str, ...], k: int, j: int) -> dict[str, Any]:
    """The columns that name an ordered pair in every per-pair table."""
    return {
        "influencer": agent_ids[k],
        "influencee": agent_ids[j],
        "k": k,
        "j": j,
    }


def permutation(
    table: np.ndarray, n_permutations: int, gen: np.random.Generator
) -> tuple[float, float]:
    """(p-value, null mean in nats) of the permutation test of a pooled table.

    :func:`~causal_influence.information.permutation_test` of the pairs behind the table,
    computed from the table itself (same draws, same result), so neither the time nor the
    memory grows with the number of steps.
    """
    if n_permutations <= 0 or table.sum() == 0:
        return NAN, NAN
    res = permutation_test_counts(table, n_resamples=n_permutations, rng=gen)
    return res.pvalue, res.null_mean


def bootstrap(
    statistic: Callable[..., float],
    arrays: tuple[np.ndarray, ...],
    n_bootstrap: int,
    confidence_level: float,
    gen: np.random.Generator,
    *,
    quiet: tuple[type[Warning], ...] = (),
    information: bool = False,
) -> tuple[float, float, float]:
    """Bootstrap interval over resampling units (rows of ``arrays``).

    Means use the percentile interval. Plug-in information measures (``information=True``)
    use the basic (reverse percentile) interval, floored at 0: their bootstrap distribution is
    shifted above the estimate by the plug-in bias, which a percentile interval inherits (it
    can even exclude the estimate; docs/metrics.md, "Significance and intervals"). Returns
    (low, high, bootstrap estimate of the bias).
    """
    if n_bootstrap <= 0 or arrays[0].shape[0] == 0:
        return NAN, NAN, NAN

    def stat(*resampled: np.ndarray) -> float:
        with warnings.catch_warnings():
            for category in quiet:
                warnings.simplefilter("ignore", category)
            return float(statistic(*resampled))

    res = bootstrap_ci(
        stat,
        *arrays,
        n_resamples=n_bootstrap,
        confidence_level=confidence_level,
        rng=gen,
        method="basic" if information else "percentile",
    )
    if information:
        return max(res.low, 0.0), max(res.high, 0.0), res.bias
    return res.low, res.high, res.bias


def ratio(sums: np.ndarray, counts: np.ndarray) -> float:
    """``sums.sum() / counts.sum()``, NaN without counts."""
    total = counts.sum()
    return float(sums.sum() / total) if total > 0 else NAN


def ordered_pairs(n: int) -> Iterator[tuple[int, int]]:
    """Every ordered pair (k, j) of n agents with k != j, k-major."""
    for k in range(n):
        for j in range(n):
            if k != j:
                yield k, j


def progress_bar(total: int, desc: str, enabled: bool) -> Any:
    """A tqdm bar on stderr (silent unless ``enabled``)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, leave=False, delay=0.5)


def check_resampling(n_bootstrap: int, n_permutations: int, confidence_level: float) -> None:
    """ConfigError for negative resample counts or a level outside (0, 1)."""
    if n_bootstrap < 0 or n_permutations < 0:
        raise ConfigError(
            f"n_bootstrap and n_permutations: expected non-negative integers (0 skips the "
            f"intervals / tests); got {n_bootstrap} and {n_permutations}"
        )
    if not 0 < confidence_level < 1:
        raise ConfigError(f"confidence_level: expected a value in (0, 1); got {confidence_level}")


def unit_scale(base: float | None) -> float:
    """Divide nats by this for information in log ``base`` (1 for nats)."""
    return 1.0 if base is None else float(np.log(base))
