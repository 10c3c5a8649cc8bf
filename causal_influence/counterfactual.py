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
differentiable) and return nats unless ``base`` is given. They compute in float64 and return
the inputs' float dtype; when every counterfactual row of positive weight is the same
distribution, the marginal *is* that row, so the influence is exactly 0 (not a rounding
residue of 1e-16; see :mod:`causal_influence.noise` for the floor of what remains).
``docs/metrics.md`` (section "Influence") gives the definitions and the closed-form cases
the examples use.

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
from typing import Any, NamedTuple

import numpy as np

from causal_influence._backend import (
    Array,
    as_float64,
    cast_to,
    is_torch,
    log_softmax,
    logsumexp,
    result_dtype,
)
from causal_influence.divergences import (
    DIVERGENCES,
    Divergence,
    DivergenceLike,
    resolve_divergence,
)
from causal_influence.errors import ConfigError, ShapeError, describe
from causal_influence.validation import (
    as_backend,
    as_index,
    check_logits,
    check_probabilities,
    log_base,
    to_numpy,
)

__all__ = [
    "expected_influence",
    "influence",
    "interventional_responsiveness",
    "marginal_policy",
]

# --------------------------------------------------------------------------- validation


class _Logs(NamedTuple):
    log_cf: Array  # (..., K, A) float64 log-probabilities
    log_prior: Array  # (..., K)
    dtype: Any  # the float dtype of the inputs, in which results are returned


def _counterfactual_iv(cf_logits: Any, prior_logits: Any) -> _Logs:
    """Check ``cf_logits (..., K, A)`` and ``prior_logits (..., K)``; float64
    log-probabilities out, with the dtype of the results."""
    dtype = result_dtype(cf_logits, prior_logits)
    cf = check_logits(cf_logits, "cf_logits", min_ndim=2)
    prior = check_logits(prior_logits, "prior_logits", min_ndim=1)
    if is_torch(cf) and not is_torch(prior):
        prior = as_backend(prior, cf)
    elif is_torch(prior) and not is_torch(cf):
        cf = as_backend(cf, prior)
    cf, prior = as_float64(cf), as_float64(prior)
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
    return _Logs(log_softmax(cf), log_softmax(prior), dtype)


class _InfluenceArgs(NamedTuple):
    divergence: Divergence
    log_cf: Array  # (..., K, A) float64
    log_prior: Array  # (..., K)
    actual: Array  # (...) indices in [0, K)
    lead: tuple[int, ...]  # the broadcast batch shape
    influencee_action: Array | None  # (...) indices in [0, A), for divergences that need it
    dtype: Any  # of the results


def _influence_iv(
    cf_logits: Any,
    prior_logits: Any,
    actual: Any,
    divergence: DivergenceLike,
    influencee_action: Any,
    base: float | None,
) -> _InfluenceArgs:
    entry = resolve_divergence(divergence)
    log_base(base)
    entry.check_actual(influencee_action, "influencee_action", "one action index per step")
    logs = _counterfactual_iv(cf_logits, prior_logits)
    num_values, num_actions = logs.log_cf.shape[-2:]
    idx = as_index(
        actual,
        "actual",
        num_values,
        like=logs.log_cf,
        expected=f"the influencer's values in [0, {num_values}) (K = rows of cf_logits)",
        hint="pass the index of the value k took",
    )
    batch = (tuple(logs.log_cf.shape[:-2]), tuple(logs.log_prior.shape[:-1]))
    try:
        lead = tuple(np.broadcast_shapes(*batch, tuple(idx.shape)))
    except ValueError as err:
        raise ShapeError(
            f"actual: expected one influencer value per step, a shape that broadcasts with "
            f"the batch shapes {batch[0]} of cf_logits and {batch[1]} of prior_logits; got "
            f"{describe(idx)}, which does not broadcast; pass an array shaped like "
            f"cf_logits.shape[:-2]"
        ) from err
    action = None
    if entry.needs_actual:
        action = as_index(
            influencee_action,
            "influencee_action",
            num_actions,
            like=logs.log_cf,
            expected=f"the influencee's actions in [0, {num_actions}) (A = last axis of cf_logits)",
            hint="pass the index of the action j took",
        )
        try:
            np.broadcast_shapes(lead, tuple(action.shape))
        except ValueError as err:
            raise ShapeError(
                f"influencee_action: expected one action index per step, a shape that "
                f"broadcasts with {lead}; got {describe(action)}"
            ) from err
    return _InfluenceArgs(entry, logs.log_cf, logs.log_prior, idx, lead, action, logs.dtype)


def _expected_iv(
    cf_logits: Any,
    prior_logits: Any,
    divergence: DivergenceLike,
    base: float | None,
    *,
    prior_matches: bool = True,
) -> tuple[Divergence, _Logs]:
    entry = resolve_divergence(divergence)
    log_base(base)
    if entry.needs_actual:
        if entry.expectation is None:
            raise ConfigError(
                f"expected_influence: divergence {entry.name!r} is evaluated at the realised "
                f"action and its registry entry names no expectation; register it with "
                f"expectation=<a divergence whose policy-weighted mean equals its expectation>"
            )
        entry = DIVERGENCES.lookup(entry.expectation)
    if not prior_matches:  # the weights are checked by the caller
        dtype = result_dtype(cf_logits)
        cf = as_float64(check_logits(cf_logits, "cf_logits", min_ndim=2))
        return entry, _Logs(log_softmax(cf), None, dtype)
    return entry, _counterfactual_iv(cf_logits, prior_logits)


# --------------------------------------------------------------------------- formulas


def _marginal_from_logs(log_cf: Array, log_prior: Array) -> Array:
    """log sum_c pi(c) p(a|c) from log-probabilities (..., K, A) and (..., K).

    Where every row of positive weight is the same distribution (bit for bit), the marginal
    is that row itself, so that a divergence from it is exactly 0: the mixture of equal rows
    is the row mathematically, but ``logsumexp`` leaves a rounding residue.
    """
    mixed = logsumexp(log_prior[..., :, None] + log_cf, axis=-2)
    if is_torch(log_cf):
        import torch

        cf, prior = torch.broadcast_tensors(log_cf, log_prior[..., :, None])
        possible = torch.isfinite(prior)  # (..., K, A), constant along A
        first = possible[..., 0].long().argmax(dim=-1)  # the first value of positive weight
        at = first[..., None, None].expand(*first.shape, 1, cf.shape[-1])
        ref = cf.gather(-2, at)  # (..., 1, A)
        same = ((cf == ref) | ~possible).all(dim=-1).all(dim=-1)
        return torch.where(same[..., None], ref[..., 0, :], mixed)
    cf, prior = np.broadcast_arrays(log_cf, log_prior[..., :, None])
    possible = np.isfinite(prior)
    first = np.argmax(possible[..., 0], axis=-1)
    ref = np.take_along_axis(cf, first[..., None, None], axis=-2)
    same = ((cf == ref) | ~possible).all(axis=(-2, -1))
    return np.where(same[..., None], ref[..., 0, :], mixed)


def _row(log_cf: Array, index: Array, lead: tuple[int, ...]) -> Array:
    """``log_cf[..., index, :]``: the row of the value taken, shape (*lead, A)."""
    num_values, num_actions = log_cf.shape[-2:]
    if is_torch(log_cf):
        rows = log_cf.expand(*lead, num_values, num_actions)
        at = index.expand(lead)[..., None, None].expand(*lead, 1, num_actions)
        return rows.gather(-2, at).squeeze(-2)
    rows = np.broadcast_to(log_cf, (*lead, num_values, num_actions))
    at = np.broadcast_to(index, lead)[..., None, None]
    return np.take_along_axis(rows, at, axis=-2)[..., 0, :]


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
    args = _counterfactual_iv(cf_logits, prior_logits)
    return cast_to(_marginal_from_logs(args.log_cf, args.log_prior), args.dtype)


def influence(
    cf_logits: Any,
    prior_logits: Any,
    actual: Any,
    *,
    divergence: DivergenceLike = "kl",
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
        The influencer's policy logits (the weights of the marginal).
    actual : array_like of int, shape (...)
        The value the influencer took, in ``[0, K)``: one per step (any shape that broadcasts
        with the leading shape of ``cf_logits``, e.g. a column ``(T, I, 1)`` shared by J
        influencees).
    divergence : str or callable, default "kl"
        A name of :data:`~causal_influence.divergences.DIVERGENCES` (``"kl"``, ``"jsd"``,
        ``"pmi"`` at the influencee's realised action, may be negative, ``"tv"``) or a callable
        ``f(log_p, log_q) -> values``.
    influencee_action : array_like of int, shape (...), optional
        The influencee's realised action, in ``[0, A)``; required by ``"pmi"``.
    base : float, optional
        None for nats (default), 2 for bits.

    Returns
    -------
    numpy.ndarray or torch.Tensor of shape (...)
        ``>= 0`` except for ``"pmi"``; 0 when every row of ``cf_logits`` is the same
        distribution. KL is ``+inf`` only if the actual value had probability 0 and gives mass
        to an action that no value of positive probability allows.

    Raises
    ------
    ShapeError
        Mismatched shapes, ``actual`` or ``influencee_action`` out of range.
    DTypeError
        Non-integral ``actual`` or ``influencee_action``.
    InvalidDistributionError
        NaN, ``+inf`` or all-``-inf`` logits.
    ConfigError
        Unknown divergence, ``"pmi"`` without ``influencee_action``, invalid ``base``.

    Examples
    --------
    Z-channel (``docs/metrics.md``, closed-form case 4): j copies action 1 and plays uniformly
    after action 0.

    >>> import numpy as np
    >>> cf = np.array([[0.0, 0.0], [-np.inf, 0.0]])
    >>> influence(cf, np.log([0.5, 0.5]), [0, 1]).round(6)
    array([0.143841, 0.287682])
    """
    args = _influence_iv(cf_logits, prior_logits, actual, divergence, influencee_action, base)
    conditional = _row(args.log_cf, args.actual, args.lead)
    marginal = _marginal_from_logs(args.log_cf, args.log_prior)
    # Renormalised, as the divergence functions renormalise the logits they are given.
    values = args.divergence(
        log_softmax(conditional), log_softmax(marginal), args.influencee_action, base=base
    )
    return cast_to(values, args.dtype)


def expected_influence(
    cf_logits: Any,
    prior_logits: Any,
    *,
    divergence: DivergenceLike = "kl",
    base: float | None = None,
) -> Array:
    r"""Influence averaged over the influencer's policy: :math:`\sum_c \pi^k(c)\, D_c`.

    For ``"kl"`` this is the conditional mutual information :math:`I(A^k; A^j \mid z)`
    (Jaques et al. 2019, Eq. 5). For ``"pmi"`` the expectation runs over the joint
    :math:`\pi^k(c)\, p(a^j \mid c)` and equals the same mutual information (the registry
    entry's ``expectation``). Values with :math:`\pi^k(c) = 0` contribute nothing, even where
    their divergence is infinite.

    Parameters
    ----------
    cf_logits : array_like or torch.Tensor of shape (..., K, A)
        Influencee logits under each counterfactual value of the influencer.
    prior_logits : array_like or torch.Tensor of shape (..., K)
        The influencer's policy logits.
    divergence : str or callable, default "kl"
        As in :func:`influence`.
    base : float, optional
        None for nats (default), 2 for bits.

    Returns
    -------
    numpy.ndarray or torch.Tensor of shape (...)

    Examples
    --------
    Noisy copy with p = 0.5 over two actions (``docs/metrics.md``, closed-form case 3):
    I = ln 2 - H_b(0.75).

    >>> import numpy as np
    >>> cf = np.log([[0.75, 0.25], [0.25, 0.75]])
    >>> round(float(expected_influence(cf, [0.0, 0.0])), 6)
    0.130812
    """
    entry, args = _expected_iv(cf_logits, prior_logits, divergence, base)
    return cast_to(_expected(entry, args.log_cf, args.log_prior, base), args.dtype)


def _expected(entry: Divergence, log_cf: Array, log_weights: Array, base: float | None) -> Array:
    """sum_c w(c) D[p(.|c) || sum_c' w(c') p(.|c')] on float64 log-probabilities."""
    marginal = log_softmax(_marginal_from_logs(log_cf, log_weights))  # renormalised
    per_value = entry(log_softmax(log_cf), marginal[..., None, :], base=base)
    return _policy_mean(per_value, log_weights)


def interventional_responsiveness(
    cf_logits: Any,
    *,
    intervention: Any = None,
    divergence: DivergenceLike = "kl",
    base: float | None = None,
) -> Array:
    r"""How much the influencee's policy moves when the influencer's value is set at random.

    .. math:: R = \sum_c w(c)\, D\big[p(a^j \mid do(c), z) \,\|\,
              \textstyle\sum_{c'} w(c')\, p(a^j \mid do(c'), z)\big]

    The divergence of :func:`expected_influence`, with the influencer's own policy replaced by
    an *intervention distribution* w chosen by the analyst (uniform by default): the mutual
    information between an externally randomised value of k's variable and j's action, in j's
    state (Lowe et al. 2019's causal influence of communication with a choice of intervention
    distribution). Where the paper's influence asks how much information k's actual choice
    carries *beyond k's own state* (it is 0 for a deterministic influencer however closely j
    follows it), responsiveness asks whether j's policy responds to k's value *at all*,
    independently of how k chooses: ln K for a listener that copies any of K symbols, exactly
    0 for one that ignores them.

    Parameters
    ----------
    cf_logits : array_like or torch.Tensor of shape (..., K, A)
        Influencee logits under each of the K values of the influencer's variable.
    intervention : array_like of shape (..., K) or (K,), optional
        Probabilities w of the intervened values (rows summing to 1; zeros allowed). Default:
        uniform over the K values.
    divergence : str or callable, default "kl"
        As in :func:`influence`; with ``"kl"`` the result is a mutual information.
    base : float, optional
        None for nats (default), 2 for bits.

    Returns
    -------
    numpy.ndarray or torch.Tensor of shape (...)
        ``>= 0``; exactly 0 when every row of positive weight is the same distribution.

    Raises
    ------
    InvalidDistributionError
        Bad logits, or an intervention that is not a distribution.
    ShapeError
        An intervention whose last axis is not K.

    Examples
    --------
    A listener that copies the speaker's symbol (4 symbols), whatever the speaker's own policy:

    >>> import numpy as np
    >>> cf = np.where(np.eye(4, dtype=bool), 0.0, -np.inf)
    >>> round(float(interventional_responsiveness(cf)), 6)  # ln 4
    1.386294
    >>> float(interventional_responsiveness(np.zeros((4, 3))))  # a listener that ignores it
    0.0
    """
    entry, args = _expected_iv(cf_logits, None, divergence, base, prior_matches=False)
    weights = _intervention_iv(intervention, args.log_cf)
    return cast_to(_expected(entry, args.log_cf, weights, base), args.dtype)


def _intervention_iv(intervention: Any, log_cf: Array) -> Array:
    """log w of the intervention distribution, (..., K) on the backend of ``log_cf``."""
    num_values = log_cf.shape[-2]
    if intervention is None:
        w = np.full(num_values, 1.0 / num_values)
    else:
        w = to_numpy(check_probabilities(intervention, "intervention"))
        if w.ndim < 1 or w.shape[-1] != num_values:
            raise ShapeError(
                f"intervention: expected probabilities over the K={num_values} counterfactual "
                f"values (rows of cf_logits), shape (..., {num_values}); got {describe(w)}"
            )
    with np.errstate(divide="ignore"):
        log_w = np.log(np.asarray(w, dtype=np.float64))
    return as_backend(log_w, log_cf) if is_torch(log_cf) else log_w


def _policy_mean(values: Array, log_prior: Array) -> Array:
    """sum_c pi(c) values[..., c], dropping the values with pi(c) = 0 even where infinite.

    With pi(c) > 0 the marginal covers p(.|c), so D is finite there; the +inf branch only
    guards against rounding and is never reached by valid input in exact arithmetic.
    """
    if is_torch(values):
        import torch

        possible = torch.isfinite(log_prior)
        zero = torch.zeros((), dtype=values.dtype, device=values.device)
        finite = torch.where(torch.isfinite(values), values, zero)
        weight = torch.where(possible, log_prior, zero).exp()
        total = torch.where(possible, weight * finite, zero).sum(dim=-1)
        infinite = (possible & torch.isinf(values)).any(dim=-1)
        return torch.where(infinite, torch.full_like(total, math.inf), total)
    can = np.isfinite(log_prior)
    terms = np.exp(np.where(can, log_prior, 0.0)) * np.where(np.isfinite(values), values, 0.0)
    total = np.where(can, terms, 0.0).sum(axis=-1)
    return np.where(np.any(can & np.isinf(values), axis=-1), np.inf, total)
