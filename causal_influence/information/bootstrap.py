"""Bootstrap confidence intervals that resample whole episodes."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from causal_influence.errors import ConfigError, FewSamplesWarning, ShapeError, describe
from causal_influence.validation import (
    check_choice,
    check_finite,
    check_positive_int,
    check_same_length,
    resolve_rng,
)

__all__ = ["BOOTSTRAP_METHODS", "BootstrapResult", "bootstrap_ci"]


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
        estimate itself (``docs/metrics.md``, section "Significance and intervals"). The same
        draws give both.

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
    args = _bootstrap_iv(arrays, groups, n_resamples, confidence_level, rng, method)
    if args.n_units < 10:
        warnings.warn(
            f"only {args.n_units} resampling units: bootstrap intervals are unreliable",
            FewSamplesWarning,
            stacklevel=2,
        )
    estimate = float(statistic(*args.data))
    values = _resample(statistic, args)
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
        n_resamples=args.n_resamples,
        n_groups=args.n_units,
        method=method,
        bias=float(values.mean() - estimate) if values.size else float("nan"),
    )


class _BootstrapArgs(NamedTuple):
    data: list[np.ndarray]
    units: list[np.ndarray] | None  # the sample indices of each group; None: single samples
    n: int
    n_resamples: int
    rng: np.random.Generator

    @property
    def n_units(self) -> int:
        """Number of resampling units: groups, or samples without groups."""
        return self.n if self.units is None else len(self.units)


def _bootstrap_iv(
    arrays: tuple[Any, ...],
    groups: Any,
    n_resamples: int,
    confidence_level: float,
    rng: Any,
    method: str,
) -> _BootstrapArgs:
    if not arrays:
        raise ShapeError("bootstrap_ci: pass at least one data array after the statistic")
    if not 0 < confidence_level < 1:
        raise ConfigError(f"confidence_level: expected a value in (0, 1); got {confidence_level}")
    check_choice("method", method, BOOTSTRAP_METHODS)
    resamples = check_positive_int("n_resamples", n_resamples)
    gen = resolve_rng(rng)
    data = [np.asarray(a) for a in arrays]
    n = check_same_length(**{f"array {i}": a for i, a in enumerate(data)})
    if n == 0:
        raise ShapeError("bootstrap_ci: expected at least one sample; got arrays of length 0")
    for i, a in enumerate(data):
        check_finite(a, f"array {i}")
    if groups is None:
        return _BootstrapArgs(data, None, n, resamples, gen)
    g = check_finite(np.asarray(groups), "groups")
    if g.shape != (n,):
        raise ShapeError(f"groups: expected shape ({n},), one id per sample; got {describe(g)}")
    _, inv = np.unique(g, return_inverse=True)
    order = np.argsort(inv, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(inv))])
    units = [order[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]
    return _BootstrapArgs(data, units, n, resamples, gen)


def _resample(statistic: Callable[..., float], args: _BootstrapArgs) -> np.ndarray:
    """The statistic on ``n_resamples`` resamples of the samples (or of the groups)."""
    values = np.empty(args.n_resamples)
    for b in range(args.n_resamples):
        if args.units is None:
            idx = args.rng.integers(0, args.n, size=args.n)
        else:
            chosen = args.rng.integers(0, args.n_units, size=args.n_units)
            idx = np.concatenate([args.units[c] for c in chosen])
        values[b] = statistic(*(a[idx] for a in args.data))
    return values
