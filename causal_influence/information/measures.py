r"""Entropy, mutual information, conditional mutual information and their normalised forms,
estimated from paired samples of discrete labels."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from causal_influence.information.estimators import (
    ESTIMATORS,
    Estimator,
    entropy_from_counts,
    expected_mutual_information_from_counts,
)
from causal_influence.information.tables import (
    contingency_table,
    joint_codes,
    sample_labels,
    warn_sparse,
)
from causal_influence.validation import check_choice, check_same_length, log_base

__all__ = [
    "NORMALIZATIONS",
    "conditional_mutual_information",
    "entropy",
    "expected_mutual_information",
    "mutual_information",
    "normalized_mutual_information",
    "uncertainty_coefficient",
    "variation_of_information",
]

#: Denominators of :func:`normalized_mutual_information`.
NORMALIZATIONS: tuple[str, ...] = ("arithmetic", "geometric", "min", "max", "joint")


class _Pair(NamedTuple):
    estimator: Estimator
    table: np.ndarray  # (X, Y) counts of the relabelled samples
    n: int
    scale: float


def _pair_iv(x: Any, y: Any, estimator: str = "plugin", base: float | None = None) -> _Pair:
    """Estimator, base and two paired label samples; their contingency table."""
    est = ESTIMATORS.lookup(estimator)
    scale = log_base(base)
    xa, ya = sample_labels(x, "x"), sample_labels(y, "y")
    n = check_same_length(x=xa, y=ya)
    return _Pair(est, contingency_table(joint_codes(xa), joint_codes(ya)), n, scale)


def entropy(x: Any, *, estimator: str = "plugin", base: float | None = None) -> float:
    r"""Entropy :math:`H(X) = -\sum_x p(x)\log p(x)` of discrete samples.

    Parameters
    ----------
    x : array_like of int, shape (n,)
        Labels.
    estimator : str, default "plugin"
        An estimator with an entropy form: ``"plugin"`` or ``"miller_madow"`` (plug-in plus
        :math:`(\hat k - 1)/(2n)`).
    base : float, optional
        None for nats, 2 for bits.

    Examples
    --------
    >>> entropy([0, 1, 2, 3], base=2)
    2.0
    """
    est, counts, scale = _entropy_iv(x, estimator, base)
    return float(est.entropy(counts)) / scale


def _entropy_iv(x: Any, estimator: str, base: float | None) -> tuple[Estimator, np.ndarray, float]:
    """Estimator (one with an entropy form), label counts and the unit."""
    with_entropy = [name for name, est in ESTIMATORS.items() if est.corrects_entropy]
    est = ESTIMATORS[check_choice("estimator", estimator, with_entropy)]
    scale = log_base(base)
    return est, np.bincount(sample_labels(x, "x")), scale


def mutual_information(
    x: Any, y: Any, *, estimator: str = "plugin", base: float | None = None
) -> float:
    r"""Mutual information :math:`I(X;Y) = H(X) + H(Y) - H(X,Y)` of paired samples.

    Parameters
    ----------
    x, y : array_like of int, shape (n,)
        Paired labels.
    estimator : str, default "plugin"
        A name of :data:`~causal_influence.information.ESTIMATORS`; only ``"plugin"`` is
        guaranteed to be ``>= 0``.
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
    args = _pair_iv(x, y, estimator, base)
    warn_sparse(args.n, args.table.size)
    return float(args.estimator.mutual_information(args.table)) / args.scale


class _Conditional(NamedTuple):
    estimator: Estimator
    tables: np.ndarray  # (Z, X, Y)
    n: int
    scale: float


def _conditional_iv(x: Any, y: Any, z: Any, estimator: str, base: float | None) -> _Conditional:
    est = ESTIMATORS.lookup(estimator)
    scale = log_base(base)
    xa, ya, za = sample_labels(x, "x"), sample_labels(y, "y"), sample_labels(z, "z")
    n = check_same_length(x=xa, y=ya, z=za)
    xc, yc, zc = joint_codes(xa), joint_codes(ya), joint_codes(za)
    nz, nx, ny = int(zc.max()) + 1, int(xc.max()) + 1, int(yc.max()) + 1
    tables = np.bincount((zc * nx + xc) * ny + yc, minlength=nz * nx * ny).reshape(nz, nx, ny)
    return _Conditional(est, tables, n, scale)


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
    estimator : str, default "plugin"
        A name of :data:`~causal_influence.information.ESTIMATORS`.
    base : float, optional
        None for nats, 2 for bits.

    Examples
    --------
    Copy in context 0, anti-copy in context 1 (``docs/metrics.md``, closed-form case 8b): the
    pooled MI is 0 but the conditional MI is 1 bit.

    >>> s = [0, 0, 0, 0, 1, 1, 1, 1]
    >>> a = [0, 0, 1, 1, 0, 0, 1, 1]
    >>> b = [0, 0, 1, 1, 1, 1, 0, 0]
    >>> conditional_mutual_information(a, b, s, base=2)
    1.0
    """
    args = _conditional_iv(x, y, z, estimator, base)
    warn_sparse(args.n, args.tables.size)
    return args.estimator.conditional_mutual_information(args.tables) / args.scale


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
    check_choice("average_method", average_method, NORMALIZATIONS)
    table = _pair_iv(x, y).table
    if table.shape[0] == 1 and table.shape[1] == 1:
        return 1.0
    if table.shape[0] == 1 or table.shape[1] == 1:
        return 0.0
    mi = float(ESTIMATORS["plugin"].mutual_information(table))
    hx = float(entropy_from_counts(table.sum(1)))
    hy = float(entropy_from_counts(table.sum(0)))
    norm = {
        "arithmetic": (hx + hy) / 2,
        "geometric": math.sqrt(hx * hy),
        "min": min(hx, hy),
        "max": max(hx, hy),
        "joint": float(entropy_from_counts(table.ravel())),
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
    args = _pair_iv(x, y)
    warn_sparse(args.n, args.table.size)
    hy = float(entropy_from_counts(args.table.sum(0)))
    return 0.0 if hy == 0 else float(args.estimator.mutual_information(args.table)) / hy


def variation_of_information(x: Any, y: Any, *, base: float | None = None) -> float:
    r"""Variation of information :math:`H(X,Y) - I(X;Y)`, a metric between labelings.

    Examples
    --------
    >>> variation_of_information([0, 0, 1, 1], [1, 1, 0, 0])
    0.0
    """
    args = _pair_iv(x, y, base=base)
    hxy = float(entropy_from_counts(args.table.ravel()))
    return (hxy - float(args.estimator.mutual_information(args.table))) / args.scale


def expected_mutual_information(x: Any, y: Any, *, base: float | None = None) -> float:
    """Exact mean of the plug-in MI of ``x`` and a random permutation of ``y``.

    This is the permutation-null (fixed-margins, hypergeometric) expectation that adjusted MI
    subtracts; the ``"shuffle"`` estimator is the plug-in MI minus this value.

    Examples
    --------
    >>> round(expected_mutual_information([0, 0, 1, 1], [0, 1, 0, 1]), 6)
    0.231049
    """
    args = _pair_iv(x, y, base=base)
    return expected_mutual_information_from_counts(args.table) / args.scale
