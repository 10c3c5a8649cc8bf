r"""Counterfactual influence from arrays of logits (Jaques et al. 2019): the formula itself.

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
>>> from causal_influence.counterfactual import influence, expected_influence
>>> cf = np.array([[0.0, -np.inf], [-np.inf, 0.0]])  # rows: k's value; columns: j's action
>>> prior = np.log([0.5, 0.5])
>>> round(float(influence(cf, prior, 1)), 6)
0.693147
>>> round(float(expected_influence(cf, prior, base=2)), 6)
1.0
"""

from __future__ import annotations

import math
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
            f"prior_logits: expected one entry per counterfactual value, K={num_values} (the "
            f"rows of cf_logits, axis -2); got prior_logits {describe(prior)} with "
            f"{prior.shape[-1]} entries for cf_logits {describe(cf)}; pass the influencer's "
            f"policy logits over the same K values, shape (..., K)"
        )
    try:
        np.broadcast_shapes(tuple(cf.shape[:-2]), tuple(prior.shape[:-1]))
    except ValueError as err:
        raise ShapeError(
            f"cf_logits and prior_logits: expected leading dimensions that broadcast; got "
            f"cf_logits.shape[:-2] = {tuple(cf.shape[:-2])} and prior_logits.shape[:-1] = "
            f"{tuple(prior.shape[:-1])}, which do not broadcast; batch both the same way"
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
        raise ConfigError(
            f"divergence: expected one of {DIVERGENCES}; got {kind!r}; use 'kl' for the "
            f"influence of Jaques et al. 2019"
        )


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
        The value the influencer actually took, in ``[0, K)``: one per step, i.e. the leading
        shape of ``cf_logits`` (any shape that broadcasts with it is accepted, e.g. a column
        ``(T, I, 1)`` shared by J influencees).
    divergence : {"kl", "jsd", "pmi", "tv"}
        ``"kl"`` (default), Jensen-Shannon, pointwise mutual information
        :math:`\log p(a^j \mid a^k, z) - \log p(a^j \mid z)` at the influencee's realised
        action (Jaques et al. Eq. 7; may be negative) or total variation (unit-free).
    influencee_action : array_like of int, shape (...), optional
        The influencee's realised action, in ``[0, A)``; required for ``"pmi"``, ignored
        otherwise.
    base : float, optional
        None for nats (default), 2 for bits.

    Returns
    -------
    numpy.ndarray or torch.Tensor of shape (...)
        Influence per step, ``>= 0`` except for ``"pmi"``; exactly 0 when all rows of
        ``cf_logits`` describe the same distribution (the influencee ignores k). Finite
        whenever k's actual value has positive probability under ``prior_logits``; KL is
        ``+inf`` only if the actual value had probability 0 and gives mass to an action that
        no value of positive probability allows.

    Raises
    ------
    ShapeError
        On mismatched shapes, ``actual`` outside ``[0, K)`` or ``influencee_action`` outside
        ``[0, A)``.
    DTypeError
        When ``actual`` or ``influencee_action`` holds non-integral values.
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
    if divergence == "pmi" and influencee_action is None:
        raise ConfigError(
            "influence: divergence 'pmi' is evaluated at the influencee's realised action; "
            "expected influencee_action (one action index per step); got None"
        )
    cf, prior = _inputs(cf_logits, prior_logits)
    num_values = cf.shape[-2]
    idx = index_in_range(
        actual,
        num_values,
        cf,
        f"actual: expected the influencer's values in [0, {num_values}) (K = rows of "
        f"cf_logits); got values outside that range; pass the index of the value k took",
    )
    lead = tuple(cf.shape[:-2])
    try:
        lead = tuple(np.broadcast_shapes(lead, tuple(prior.shape[:-1]), tuple(idx.shape)))
    except ValueError as err:
        raise ShapeError(
            f"actual: expected one influencer value per step, a shape that broadcasts with "
            f"the batch shapes {lead} of cf_logits and {tuple(prior.shape[:-1])} of "
            f"prior_logits; got {describe(idx)}, which does not broadcast; pass an array "
            f"shaped like cf_logits.shape[:-2]"
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
    if divergence == "pmi":
        influencee_action = index_in_range(
            influencee_action,
            num_actions,
            cf,
            f"influencee_action: expected the influencee's actions in [0, {num_actions}) "
            f"(A = last axis of cf_logits); got values outside that range; pass the index of "
            f"the action j took",
            name="influencee_action",
        )
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
    # Terms with pi(c) = 0 (a -inf prior logit) are dropped even where D is infinite. With
    # pi(c) > 0 the marginal covers p(.|c), so D is finite there; the +inf branch only guards
    # against rounding and is never reached by valid input in exact arithmetic.
    if is_torch(cf):
        import torch

        possible = torch.isfinite(log_prior)
        zero = torch.zeros((), dtype=per_value.dtype, device=per_value.device)
        finite = torch.where(torch.isfinite(per_value), per_value, zero)
        weight = torch.where(possible, log_prior, zero).exp()
        terms = torch.where(possible, weight * finite, zero)
        inf_mass = (possible & torch.isinf(per_value)).any(dim=-1)
        out = terms.sum(dim=-1)
        return torch.where(inf_mass, torch.full_like(out, math.inf), out)
    np_possible = np.isfinite(log_prior)
    fin = np.where(np.isfinite(per_value), per_value, 0.0)
    np_weight = np.exp(np.where(np_possible, log_prior, 0.0))
    total = np.where(np_possible, np_weight * fin, 0.0).sum(axis=-1)
    return np.where(np.any(np_possible & np.isinf(per_value), axis=-1), np.inf, total)
