r"""Array-level counterfactual influence (Jaques et al. 2019).

For an influencer k and an influencee j at one step, the inputs are

- ``cf_logits`` of shape (..., K, A): row ``c`` holds j's action logits had k's action (or
  message) been ``c``, every other input held at its observed value (the counterfactuals are
  enumerated, never sampled);
- ``prior_logits`` of shape (..., K): k's own policy over its K values, the distribution its
  actual value was drawn from (the marginalisation weights);
- ``actual`` of shape (...): the value k actually took.

The influencee's **marginal policy** is the mixture over k's alternatives weighted by k's
policy (Jaques et al. Eq. 1, second slot):

.. math:: p(a^j \mid z) = \sum_{\tilde a} p(a^j \mid \tilde a, z)\, \pi^k(\tilde a \mid z)

The **influence** of k's actual value on j (Eq. 1; Eq. 2 for messages, where the influencee's
policy is read one step later) is

.. math:: c^{kj} = D\big[p(a^j \mid a^k, z) \,\|\, p(a^j \mid z)\big]

with D the KL divergence by default. Its expectation under k's policy is the conditional mutual
information (Eq. 5):

.. math:: I(A^k; A^j \mid z) = \sum_{a^k} \pi^k(a^k \mid z)\,
          \mathrm{KL}\big[p(a^j \mid a^k, z) \,\|\, p(a^j \mid z)\big]

All functions are batched over the leading dimensions, accept numpy or torch (torch stays
differentiable) and return nats unless ``base`` is given.

Examples
--------
Deterministic copy: j copies k, k is uniform over two actions; every per-step influence is
ln 2 and so is the mutual information.

>>> import numpy as np
>>> from causal_influence.influence import influence, expected_influence
>>> cf = np.array([[0.0, -np.inf], [-np.inf, 0.0]])  # rows: k's value; columns: j's action
>>> prior = np.log([0.5, 0.5])
>>> round(float(influence(cf, prior, 1)), 6)
0.693147
>>> round(float(expected_influence(cf, prior, base=2)), 6)
1.0
"""

from __future__ import annotations

from typing import Any

import numpy as np

from causal_influence._backend import (
    Array,
    index_in_range,
    is_torch,
    log_softmax,
    logsumexp,
    validate_logits,
)
from causal_influence.divergences import DIVERGENCES
from causal_influence.divergences import divergence as _divergence
from causal_influence.errors import ConfigError, ShapeError, describe

__all__ = ["expected_influence", "influence", "marginal_policy"]


def _inputs(cf_logits: Any, prior_logits: Any) -> tuple[Array, Array]:
    """Validate ``cf_logits (..., K, A)`` and ``prior_logits (..., K)``; same backend out."""
    cf = validate_logits(cf_logits, "cf_logits", min_ndim=2)
    prior = validate_logits(prior_logits, "prior_logits", min_ndim=1)
    if is_torch(cf) != is_torch(prior):
        import torch

        if is_torch(cf):
            prior = torch.as_tensor(prior, dtype=cf.dtype, device=cf.device)
        else:
            cf = torch.as_tensor(cf, dtype=prior.dtype, device=prior.device)
    num_values = cf.shape[-2]
    if prior.shape[-1] != num_values:
        raise ShapeError(
            f"prior_logits must have one entry per counterfactual value: cf_logits has "
            f"K={num_values} rows (axis -2) but prior_logits has {prior.shape[-1]} entries "
            f"(axis -1); got cf_logits {describe(cf)} and prior_logits {describe(prior)}"
        )
    try:
        np.broadcast_shapes(tuple(cf.shape[:-2]), tuple(prior.shape[:-1]))
    except ValueError as err:
        raise ShapeError(
            f"the leading dimensions of cf_logits {tuple(cf.shape[:-2])} and prior_logits "
            f"{tuple(prior.shape[:-1])} do not broadcast; both must be batched the same way"
        ) from err
    return cf, prior


def _marginal_from_logs(log_cf: Array, log_prior: Array) -> Array:
    """log sum_k pi(k) p(a|k) from log-probabilities (..., K, A) and (..., K)."""
    return logsumexp(log_prior[..., :, None] + log_cf, axis=-2)


def marginal_policy(cf_logits: Any, prior_logits: Any) -> Array:
    r"""The influencee's marginal policy :math:`\sum_c \pi^k(c)\, p(a^j \mid c)`.

    Parameters
    ----------
    cf_logits : array_like or torch.Tensor of shape (..., K, A)
        Influencee logits under each of the K counterfactual values of the influencer.
    prior_logits : array_like or torch.Tensor of shape (..., K)
        The influencer's policy logits over its K values (marginalisation weights).

    Returns
    -------
    numpy.ndarray or torch.Tensor of shape (..., A)
        Log-probabilities of the marginal policy (valid logits; ``-inf`` for actions that no
        counterfactual allows).

    Examples
    --------
    >>> import numpy as np
    >>> cf = np.array([[0.0, -np.inf], [0.0, 0.0]])  # logits
    >>> np.exp(marginal_policy(cf, np.log([0.5, 0.5]))).round(4)
    array([0.75, 0.25])
    """
    cf, prior = _inputs(cf_logits, prior_logits)
    return _marginal_from_logs(log_softmax(cf), log_softmax(prior))


def _check_kind(kind: str) -> None:
    if kind not in DIVERGENCES:
        raise ConfigError(f"divergence: expected one of {DIVERGENCES}; got {kind!r}")


def influence(
    cf_logits: Any,
    prior_logits: Any,
    actual: Any,
    *,
    divergence: str = "kl",
    influencee_action: Any = None,
    base: float | None = None,
) -> Array:
    r"""Per-step influence of the influencer's actual value on the influencee.

    .. math:: c = D\big[p(a^j \mid a^k_{\mathrm{actual}}, z) \,\|\,
              \textstyle\sum_c \pi^k(c \mid z)\, p(a^j \mid c, z)\big]

    Jaques et al. 2019, Eq. 1 (actions, same step) and Eq. 2 (messages, read at the next
    step); summing it over influencees gives an influencer's reward.

    Parameters
    ----------
    cf_logits : array_like or torch.Tensor of shape (..., K, A)
        Influencee logits under each counterfactual value of the influencer.
    prior_logits : array_like or torch.Tensor of shape (..., K)
        The influencer's policy logits (marginalisation weights; its actual value was drawn
        from this distribution).
    actual : array_like of int, shape (...)
        The value the influencer actually took, in ``[0, K)``.
    divergence : {"kl", "jsd", "pmi", "tv"}
        ``"kl"`` (default), Jensen-Shannon, pointwise mutual information at the influencee's
        realised action (may be negative) or total variation.
    influencee_action : array_like of int, shape (...), optional
        The influencee's realised action; required for ``"pmi"``.
    base : float, optional
        None for nats (default), 2 for bits.

    Returns
    -------
    numpy.ndarray or torch.Tensor of shape (...)
        Influence per step, ``>= 0`` except for ``"pmi"``; exactly 0 when all rows of
        ``cf_logits`` describe the same distribution (the influencee ignores k).

    Raises
    ------
    ShapeError
        On mismatched shapes or ``actual`` outside ``[0, K)``.
    InvalidDistributionError
        On NaN, ``+inf`` or all-``-inf`` logits.
    ConfigError
        On an unknown divergence or ``"pmi"`` without ``influencee_action``.

    Examples
    --------
    Z-channel (METRICS.md case 4): j copies action 1, plays uniformly after action 0.

    >>> import numpy as np
    >>> cf = np.array([[0.0, 0.0], [-np.inf, 0.0]])
    >>> prior = np.log([0.5, 0.5])
    >>> influence(cf, prior, [0, 1]).round(6)
    array([0.143841, 0.287682])
    """
    _check_kind(divergence)
    cf, prior = _inputs(cf_logits, prior_logits)
    num_values = cf.shape[-2]
    idx = index_in_range(
        actual,
        num_values,
        cf,
        f"actual: expected the influencer's values in [0, {num_values}) (K = rows of "
        f"cf_logits); got values outside that range",
    )
    lead = tuple(cf.shape[:-2])
    try:
        lead = tuple(np.broadcast_shapes(lead, tuple(prior.shape[:-1]), tuple(idx.shape)))
    except ValueError as err:
        raise ShapeError(
            f"actual of shape {tuple(idx.shape)} does not broadcast with the batch shape "
            f"{lead} of cf_logits; pass one value per step"
        ) from err
    log_cf = log_softmax(cf)
    log_marg = _marginal_from_logs(log_cf, log_softmax(prior))
    num_actions = cf.shape[-1]
    if is_torch(cf):
        log_cf_b = log_cf.expand(*lead, num_values, num_actions)
        gather = idx.expand(lead)[..., None, None].expand(*lead, 1, num_actions)
        cond = log_cf_b.gather(-2, gather).squeeze(-2)
    else:
        log_cf_b = np.broadcast_to(log_cf, (*lead, num_values, num_actions))
        gather = np.broadcast_to(idx, lead)[..., None, None]
        cond = np.take_along_axis(log_cf_b, gather, axis=-2)[..., 0, :]
    return _divergence(cond, log_marg, kind=divergence, actual=influencee_action, base=base)


def expected_influence(
    cf_logits: Any,
    prior_logits: Any,
    *,
    divergence: str = "kl",
    base: float | None = None,
) -> Array:
    r"""Influence averaged over the influencer's policy: :math:`\sum_c \pi^k(c)\, D_c`.

    For ``"kl"`` this is the conditional mutual information :math:`I(A^k; A^j \mid z)`
    (Jaques et al. 2019, Eq. 5). For ``"pmi"`` the expectation runs over the joint
    :math:`\pi^k(c)\, p(a^j \mid c)` and equals the same mutual information. Values with
    :math:`\pi^k(c) = 0` contribute nothing, even where their divergence is infinite.

    Parameters
    ----------
    cf_logits : array_like or torch.Tensor of shape (..., K, A)
        Influencee logits under each counterfactual value of the influencer.
    prior_logits : array_like or torch.Tensor of shape (..., K)
        The influencer's policy logits.
    divergence : {"kl", "jsd", "pmi", "tv"}
        Divergence between each counterfactual policy and the marginal.
    base : float, optional
        None for nats (default), 2 for bits.

    Returns
    -------
    numpy.ndarray or torch.Tensor of shape (...)

    Examples
    --------
    Noisy copy with p = 0.5 over two actions (METRICS.md case 3): I = ln 2 - H_b(0.75).

    >>> import numpy as np
    >>> cf = np.log([[0.75, 0.25], [0.25, 0.75]])
    >>> round(float(expected_influence(cf, [0.0, 0.0])), 6)
    0.130812
    """
    _check_kind(divergence)
    cf, prior = _inputs(cf_logits, prior_logits)
    log_cf = log_softmax(cf)
    log_prior = log_softmax(prior)
    log_marg = _marginal_from_logs(log_cf, log_prior)
    kind = "kl" if divergence == "pmi" else divergence
    per_value = _divergence(log_cf, log_marg[..., None, :], kind=kind, base=base)
    if is_torch(cf):
        import torch

        weight = log_prior.exp()
        finite = torch.where(torch.isfinite(per_value), per_value, torch.zeros_like(per_value))
        terms = torch.where(weight > 0, weight * finite, torch.zeros_like(finite))
        # An infinite divergence at a value k can take makes the expectation infinite.
        inf_mass = ((weight > 0) & torch.isinf(per_value)).any(dim=-1)
        out = terms.sum(dim=-1)
        return torch.where(inf_mass, torch.full_like(out, float("inf")), out)
    w = np.exp(log_prior)
    fin = np.where(np.isfinite(per_value), per_value, 0.0)
    total = np.where(w > 0, w * fin, 0.0).sum(axis=-1)
    return np.where(np.any((w > 0) & np.isinf(per_value), axis=-1), np.inf, total)
