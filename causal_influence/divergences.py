r"""Divergences between categorical distributions given as logits.

Every function takes logits along the last axis and is batched over any leading dimensions
(``p`` and ``q`` broadcast against each other). numpy in gives numpy out; torch in gives torch
out, differentiable. Everything is computed in log space, so any finite logits (``±1e4``
included) and ``-inf`` entries (masked actions) give finite, correct results. Results are in
nats unless ``base`` is given (``base=2`` for bits).

Conventions: :math:`0 \log 0 = 0`; :math:`\mathrm{KL}(p\|q) = +\infty` exactly when ``q`` gives
zero probability (a ``-inf`` logit) to an action on which ``p`` has mass. The Jensen-Shannon
divergence and the total variation are always finite.

Examples
--------
>>> import numpy as np
>>> from causal_influence.divergences import kl_divergence, js_divergence
>>> p = np.log([0.5, 0.5]); q = np.log([0.9, 0.1])
>>> round(float(kl_divergence(p, q)), 6)
0.510826
>>> round(float(js_divergence([0.0, -np.inf], [0.0, 0.0], base=2)), 6)
0.311278
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from causal_influence._backend import (
    Array,
    index_in_range,
    is_torch,
    log_base,
    log_softmax,
    logsumexp,
    validate_logits,
)
from causal_influence.errors import ConfigError, ShapeError, describe

__all__ = [
    "DIVERGENCES",
    "divergence",
    "js_divergence",
    "kl_divergence",
    "pointwise_mutual_information",
    "total_variation",
]

#: Names accepted by :func:`divergence` (and by the ``divergence=`` option of influence).
DIVERGENCES: tuple[str, ...] = ("kl", "jsd", "pmi", "tv")


def _pair(p_logits: object, q_logits: object) -> tuple[Array, Array]:
    """Validate two logit arrays and return their log-probabilities (same backend)."""
    p = validate_logits(p_logits, "p_logits")
    q = validate_logits(q_logits, "q_logits")
    if is_torch(p) != is_torch(q):
        import torch

        if is_torch(p):
            q = torch.as_tensor(q, dtype=p.dtype, device=p.device)
        else:
            p = torch.as_tensor(p, dtype=q.dtype, device=q.device)
    if p.shape[-1] != q.shape[-1]:
        raise ShapeError(
            f"p_logits and q_logits: expected the same number of actions (last axis); got "
            f"{describe(p)} and {describe(q)}; pass both distributions over the same action set"
        )
    try:
        np.broadcast_shapes(tuple(p.shape), tuple(q.shape))
    except ValueError as err:
        raise ShapeError(
            f"p_logits and q_logits: expected leading dimensions that broadcast against each "
            f"other; got {describe(p)} and {describe(q)}; add singleton axes (e.g. "
            f"x[:, None]) where one batch dimension should be shared"
        ) from err
    return log_softmax(p), log_softmax(q)


def _kl_from_logp(logp: Array, logq: Array) -> Array:
    """KL(p||q) from log-probabilities (..., A), broadcasting; 0 where p = 0, +inf where
    q = 0 < p.

    Every intermediate is finite: the infinite case is detected by a mask and written in at the
    end, so neither the value nor a torch gradient ever sees ``inf - inf`` or ``0 * inf`` (the
    gradient of an infinite entry is 0, never NaN). Rounding can leave a KL of about
    ``-1e-17`` for equal distributions; the result is clamped at 0.
    """
    if is_torch(logp):
        import torch

        mass = torch.isfinite(logp)
        q_zero = torch.isneginf(logq)
        infinite = mass & q_zero
        zero = torch.zeros((), dtype=logp.dtype, device=logp.device)
        safe_p = torch.where(mass, logp, zero)
        safe_q = torch.where(q_zero, zero, logq)
        ratio = torch.where(mass & ~q_zero, safe_p - safe_q, zero)
        total = (safe_p.exp() * ratio).sum(dim=-1).clamp_min(0.0)
        return torch.where(infinite.any(dim=-1), torch.full_like(total, math.inf), total)
    p_mass = np.isfinite(logp)
    q_none = np.isneginf(logq)
    p_log = np.where(p_mass, logp, 0.0)
    q_log = np.where(q_none, 0.0, logq)
    terms = np.exp(p_log) * np.where(p_mass & ~q_none, p_log - q_log, 0.0)
    kl = np.maximum(terms.sum(axis=-1), 0.0)
    return np.where((p_mass & q_none).any(axis=-1), np.inf, kl)


def _finish(x: Array, scale: float) -> Array:
    if scale == 1.0:
        return x
    return x / scale


def kl_divergence(p_logits: Any, q_logits: Any, *, base: float | None = None) -> Array:
    r"""Kullback-Leibler divergence :math:`\mathrm{KL}(p\|q) = \sum_a p(a)\log(p(a)/q(a))`.

    Parameters
    ----------
    p_logits, q_logits : array_like or torch.Tensor of shape (..., A)
        Logits (unnormalised log-probabilities) of the two distributions; ``-inf`` marks an
        impossible action. Leading dimensions broadcast.
    base : float, optional
        Logarithm base of the result: None for nats (default), 2 for bits.

    Returns
    -------
    numpy.ndarray or torch.Tensor of shape (...)
        The divergence, ``>= 0``; ``+inf`` where ``q`` has zero probability on an action that
        ``p`` can take.

    Raises
    ------
    InvalidDistributionError
        On NaN, ``+inf`` or all-``-inf`` logits.
    ShapeError
        When the action counts differ or the leading dimensions do not broadcast.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(kl_divergence([0.0, -np.inf], [0.0, 0.0])), 6)  # ln 2
    0.693147
    >>> float(kl_divergence([0.0, 0.0], [0.0, -np.inf]))
    inf
    """
    logp, logq = _pair(p_logits, q_logits)
    return _finish(_kl_from_logp(logp, logq), log_base(base))


def js_divergence(p_logits: Any, q_logits: Any, *, base: float | None = None) -> Array:
    r"""Jensen-Shannon divergence :math:`\tfrac12\mathrm{KL}(p\|m) + \tfrac12\mathrm{KL}(q\|m)`.

    With :math:`m = (p + q)/2`. Symmetric, finite and bounded by :math:`\ln 2` nats (1 bit).

    Parameters
    ----------
    p_logits, q_logits : array_like or torch.Tensor of shape (..., A)
        Logits of the two distributions; leading dimensions broadcast.
    base : float, optional
        None for nats (default), 2 for bits.

    Returns
    -------
    numpy.ndarray or torch.Tensor of shape (...)

    Examples
    --------
    >>> import numpy as np
    >>> round(float(js_divergence([0.0, -np.inf], [0.0, 0.0])), 6)
    0.215762
    """
    logp, logq = _pair(p_logits, q_logits)
    if is_torch(logp):
        import torch

        logp, logq = torch.broadcast_tensors(logp, logq)
        # logsumexp of the pair keeps a zero gradient where both are -inf (logaddexp gives NaN).
        logm = logsumexp(torch.stack([logp, logq], dim=-1), axis=-1) - math.log(2.0)
    else:
        logp, logq = np.broadcast_arrays(logp, logq)
        logm = np.logaddexp(logp, logq) - math.log(2.0)
    out = 0.5 * _kl_from_logp(logp, logm) + 0.5 * _kl_from_logp(logq, logm)
    return _finish(out, log_base(base))


def total_variation(p_logits: Any, q_logits: Any) -> Array:
    r"""Total variation distance :math:`\tfrac12\sum_a |p(a) - q(a)|`, in [0, 1].

    Parameters
    ----------
    p_logits, q_logits : array_like or torch.Tensor of shape (..., A)
        Logits of the two distributions; leading dimensions broadcast.

    Returns
    -------
    numpy.ndarray or torch.Tensor of shape (...)

    Examples
    --------
    >>> import numpy as np
    >>> float(total_variation(np.log([0.5, 0.5]), np.log([0.9, 0.1])))
    0.4
    """
    logp, logq = _pair(p_logits, q_logits)
    if is_torch(logp):
        return 0.5 * (logp.exp() - logq.exp()).abs().sum(dim=-1)
    return 0.5 * np.abs(np.exp(logp) - np.exp(logq)).sum(axis=-1)


def pointwise_mutual_information(
    p_logits: Any, q_logits: Any, actual: Any, *, base: float | None = None
) -> Array:
    r"""Pointwise log-ratio :math:`\log p(a) - \log q(a)` at the realised action ``a``.

    In influence terms (Jaques et al. 2019, Eq. 7; local information flow of Lizier and
    Prokopenko 2010) ``p`` is the influencee's policy given the influencer's actual action,
    ``q`` its marginal policy and ``a`` the action the influencee actually took. It can be
    negative; its expectation under the joint distribution is the mutual information.

    Parameters
    ----------
    p_logits, q_logits : array_like or torch.Tensor of shape (..., A)
        Logits; leading dimensions broadcast.
    actual : array_like of int, shape (...)
        Index of the realised action, in ``[0, A)``; broadcast with the leading dimensions.
    base : float, optional
        None for nats (default), 2 for bits.

    Returns
    -------
    numpy.ndarray or torch.Tensor of shape (...)
        ``-inf`` where only ``p(a)`` is zero, ``+inf`` where only ``q(a)`` is zero, and 0
        where both are zero (such a cell has zero weight under any joint distribution, so the
        convention keeps the expectation equal to the mutual information).

    Examples
    --------
    >>> import numpy as np
    >>> round(float(pointwise_mutual_information(np.log([0.75, 0.25]), [0.0, 0.0], 0)), 6)
    0.405465
    """
    scale = log_base(base)
    logp, logq = _pair(p_logits, q_logits)
    num_actions = logp.shape[-1]
    idx = index_in_range(
        actual,
        num_actions,
        logp,
        f"actual: expected action indices in [0, {num_actions}); got values outside that "
        f"range; pass the index of the influencee's realised action",
    )
    try:
        lead = np.broadcast_shapes(tuple(logp.shape[:-1]), tuple(logq.shape[:-1]), tuple(idx.shape))
    except ValueError as err:
        raise ShapeError(
            f"actual: expected one action index per distribution, i.e. a shape that broadcasts "
            f"with the leading dimensions {tuple(logp.shape[:-1])} of p_logits and "
            f"{tuple(logq.shape[:-1])} of q_logits; got {describe(idx)}"
        ) from err
    if is_torch(logp):
        import torch

        gather_idx = idx.expand(lead).unsqueeze(-1)
        lp = logp.expand(*lead, num_actions).gather(-1, gather_idx).squeeze(-1)
        lq = logq.expand(*lead, num_actions).gather(-1, gather_idx).squeeze(-1)
        both_zero = torch.isneginf(lp) & torch.isneginf(lq)
        zero = torch.zeros((), dtype=lp.dtype, device=lp.device)
        # Both -inf would give inf - inf = NaN: replace them by 0 - 0 (gradient 0, not NaN).
        out: Array = torch.where(both_zero, zero, lp) - torch.where(both_zero, zero, lq)
    else:
        at = np.broadcast_to(idx, lead)[..., None]
        log_pa = np.take_along_axis(np.broadcast_to(logp, (*lead, num_actions)), at, -1)
        log_qa = np.take_along_axis(np.broadcast_to(logq, (*lead, num_actions)), at, -1)
        neither = np.isneginf(log_pa) & np.isneginf(log_qa)
        out = (np.where(neither, 0.0, log_pa) - np.where(neither, 0.0, log_qa))[..., 0]
    return _finish(out, scale)


def divergence(
    p_logits: Any,
    q_logits: Any,
    *,
    kind: str = "kl",
    actual: Any = None,
    base: float | None = None,
) -> Array:
    """Dispatch to one of the divergences by name.

    Parameters
    ----------
    p_logits, q_logits : array_like or torch.Tensor of shape (..., A)
        Logits; leading dimensions broadcast.
    kind : {"kl", "jsd", "pmi", "tv"}
        ``"kl"`` :func:`kl_divergence` (default, as Jaques et al.), ``"jsd"``
        :func:`js_divergence`, ``"pmi"`` :func:`pointwise_mutual_information` (needs
        ``actual``), ``"tv"`` :func:`total_variation` (unit-free; ``base`` is ignored).
    actual : array_like of int, optional
        Realised action, required for ``"pmi"``.
    base : float, optional
        None for nats, 2 for bits.

    Returns
    -------
    numpy.ndarray or torch.Tensor of shape (...)
        The chosen divergence, on the backend of the inputs.

    Raises
    ------
    ConfigError
        On an unknown ``kind``, an invalid ``base``, or ``"pmi"`` without ``actual``.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(divergence([0.0, -np.inf], [0.0, 0.0], kind="kl", base=2)), 6)
    1.0
    >>> float(divergence(np.log([0.5, 0.5]), np.log([0.9, 0.1]), kind="tv"))
    0.4
    """
    if kind not in DIVERGENCES:
        raise ConfigError(
            f"divergence: expected one of {DIVERGENCES}; got {kind!r}; use 'kl' for the "
            f"divergence of Jaques et al. 2019"
        )
    log_base(base)  # validated for every kind, also "tv" which ignores it
    if kind == "kl":
        return kl_divergence(p_logits, q_logits, base=base)
    if kind == "jsd":
        return js_divergence(p_logits, q_logits, base=base)
    if kind == "tv":
        return total_variation(p_logits, q_logits)
    if actual is None:  # kind == "pmi"
        raise ConfigError(
            "divergence 'pmi' is evaluated at the influencee's realised action; expected "
            "actual= (or influencee_action= to influence()) with its action indices; got None"
        )
    return pointwise_mutual_information(p_logits, q_logits, actual, base=base)
