"""Influence rewards of the three settings of Jaques et al. 2019, computed with the core.

The networks of :mod:`agents.networks` return counterfactual logits in a layout that suits
each setting. The functions here rearrange them into the common pairwise layout
``cf (..., N, N, K, A)`` (row = influencer k, column = influencee j, K counterfactual values of
k's variable, A actions of j) with k's policy over its variable as the prior, and evaluate every
pair in one call of :func:`causal_influence.influence.influence`. No divergence or marginal is
computed here: the formulas live in the core.

Time alignment (METRICS.md, Conventions):

- basic influence is same-step: ``a^k_t -> a^j_t``, credited to t;
- messages are next-step: ``m^k_t -> a^j_{t+1}``; the counterfactual pass runs at t+1 and its
  value is credited back to t (:func:`agents.sampler.rollout_influence`); nothing is credited
  across an episode end;
- MOA is next-step, ``a^k_t -> a^j_{t+1}``, but k's MOA already *predicts* t+1 from the
  information of step t, so the value is computed and credited at t (the reference computes it
  one step late and shifts it back, which gives the same alignment).

Examples
--------
>>> import torch
>>> from agents.influence_reward import influence_weight, shaped_influence
>>> influence_weight(5e7, coef=2.0, schedule_steps=(0, 1e7, 1e8), schedule_weights=(0, 0, 1))
0.888...
>>> shaped_influence(torch.tensor([0.5, 20.0]), clip=10.0, weight=0.1)
tensor([0.0500, 1.0000])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from causal_influence.divergences import DIVERGENCES
from causal_influence.errors import ConfigError, ShapeError, describe
from causal_influence.influence import influence
from causal_influence.rewards import reward_from_pairwise

__all__ = [
    "CounterfactualSet",
    "basic_counterfactuals",
    "influence_weight",
    "message_counterfactuals",
    "moa_counterfactuals",
    "other_slot",
    "pairwise_from_counterfactuals",
    "per_agent_influence",
    "shaped_influence",
]


def other_slot(num_agents: int) -> Tensor:
    """Position of agent y among the others of agent x (index order, x skipped).

    Returns
    -------
    int64 tensor of shape (N, N)
        ``slot[x, y] = y if y < x else y - 1``; the diagonal is 0 (a placeholder, never used).

    Examples
    --------
    >>> other_slot(3)
    tensor([[0, 0, 1],
            [0, 0, 1],
            [0, 1, 0]])
    """
    x = torch.arange(num_agents).reshape(-1, 1)
    y = torch.arange(num_agents).reshape(1, -1)
    slot = torch.where(y < x, y, y - 1)
    return slot.fill_diagonal_(0)


@dataclass
class CounterfactualSet:
    """Counterfactual logits of the P (influencer, influencee) pairs of a setting.

    Attributes
    ----------
    cf_logits : tensor of shape (..., P, K, A)
        ``cf_logits[..., p, c]``: logits of influencee ``influencees[p]``'s action (or of the
        influencer's MOA's prediction of it) when influencer ``influencers[p]``'s variable takes
        the value c, everything else as observed.
    prior_logits : tensor of shape (..., P, K)
        The influencer's policy over its variable (action or message) when it chose it.
    actual : int64 tensor of shape (..., P)
        The value the influencer actually took.
    influencers, influencees : int64 tensors of shape (P,)
        Row k and column j of each pair in the (N, N) pairwise tensor.
    num_agents : int
    valid : bool tensor of shape (..., P), optional
        False where the influencer's variable has nothing to influence (e.g. a message nobody
        hears because the episode ended); such pairs give 0.
    """

    cf_logits: Tensor
    prior_logits: Tensor
    actual: Tensor
    influencers: Tensor
    influencees: Tensor
    num_agents: int
    valid: Tensor | None = None

    def dense(self) -> Tensor:
        """The counterfactual logits in the (..., N, N, K, A) layout (zeros off the pairs)."""
        lead = self.cf_logits.shape[:-3]
        n = self.num_agents
        out = self.cf_logits.new_zeros((*lead, n, n, *self.cf_logits.shape[-2:]))
        out[..., self.influencers, self.influencees, :, :] = self.cf_logits
        return out


def _off_diagonal(n: int) -> tuple[Tensor, Tensor]:
    k, j = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    keep = k != j
    return k[keep], j[keep]


def basic_counterfactuals(
    cf_logits: Tensor, logits: Tensor, actions: Tensor, *, num_influencers: int
) -> CounterfactualSet:
    """Pairs of basic (same-step, centralised) influence: influencers x influencees.

    Parameters
    ----------
    cf_logits : tensor of shape (..., N-I, I, A, A)
        Influencee ``I + j``'s policy logits with influencer i's current action replaced by
        each value (``ActOutput.cf_logits`` of setting "basic"); influencers are agents
        ``0 .. I-1``, influencees ``I .. N-1``.
    logits : tensor of shape (..., N, A)
        Every agent's policy logits at the same step (the prior of influencer k).
    actions : int64 tensor of shape (..., N)
    num_influencers : int
    """
    n, ni = logits.shape[-2], num_influencers
    if tuple(cf_logits.shape[-4:-2]) != (n - ni, ni):
        raise ShapeError(
            f"cf_logits: expected shape (..., N-I={n - ni}, I={ni}, A, A); got "
            f"{describe(cf_logits)}"
        )
    k, j = torch.meshgrid(torch.arange(ni), torch.arange(ni, n), indexing="ij")
    k, j = k.reshape(-1), j.reshape(-1)
    return CounterfactualSet(
        cf_logits[..., j - ni, k, :, :], logits[..., k, :], actions[..., k], k, j, n
    )


def message_counterfactuals(
    cf_logits: Tensor, message_logits: Tensor, messages: Tensor, *, valid: Tensor | None = None
) -> CounterfactualSet:
    """Pairs of the influence of messages (next step): every speaker k to every listener j != k.

    Parameters
    ----------
    cf_logits : tensor of shape (..., N, N-1, M, A)
        Listener j's policy logits at step t+1 with the message of step t of the other agent in
        slot s (index order, j skipped) replaced by each symbol (``ActOutput.cf_logits`` of
        setting "comm" at t+1).
    message_logits : tensor of shape (..., N, M)
        Each speaker's message logits at t (the policy its message was drawn from).
    messages : int64 tensor of shape (..., N)
        The messages sent at t.
    valid : bool tensor of shape (..., N), optional
        False where the speaker's message is never heard (episode end after t).
    """
    n = message_logits.shape[-2]
    if tuple(cf_logits.shape[-4:-2]) != (n, n - 1):
        raise ShapeError(
            f"cf_logits: expected shape (..., N={n}, N-1={n - 1}, M, A); got {describe(cf_logits)}"
        )
    k, j = _off_diagonal(n)
    slot = other_slot(n)[j, k]  # position of k among j's others
    return CounterfactualSet(
        cf_logits[..., j, slot, :, :],
        message_logits[..., k, :],
        messages[..., k],
        k,
        j,
        n,
        None if valid is None else valid[..., k],
    )


def moa_counterfactuals(
    cf_logits: Tensor, logits: Tensor, actions: Tensor, *, valid: Tensor | None = None
) -> CounterfactualSet:
    """Pairs of influence through a model of other agents (MOA): every k to every j != k.

    Parameters
    ----------
    cf_logits : tensor of shape (..., N, A, N-1, A)
        Agent k's MOA prediction of each other agent's action at t+1 when k's action at t is
        replaced by each value (``ActOutput.cf_logits`` of setting "moa").
    logits : tensor of shape (..., N, A)
        k's policy logits at t (the distribution its action was drawn from).
    actions : int64 tensor of shape (..., N)
        Actions at t.
    valid : bool tensor of shape (..., N), optional
        False where there is no step t+1 (episode end).
    """
    n = logits.shape[-2]
    if cf_logits.shape[-4] != n or cf_logits.shape[-2] != n - 1:
        raise ShapeError(
            f"cf_logits: expected shape (..., N={n}, A, N-1={n - 1}, A); got {describe(cf_logits)}"
        )
    k, j = _off_diagonal(n)
    slot = other_slot(n)[k, j]  # position of j among k's others
    by_other = cf_logits.transpose(-3, -2)  # (..., N, N-1, K, A)
    return CounterfactualSet(
        by_other[..., k, slot, :, :],
        logits[..., k, :],
        actions[..., k],
        k,
        j,
        n,
        None if valid is None else valid[..., k],
    )


def pairwise_from_counterfactuals(
    cset: CounterfactualSet,
    *,
    divergence: str = "kl",
    influencee_action: Tensor | None = None,
    base: float | None = None,
) -> Tensor:
    """Per-step influence of every pair, by the core's ``causal_influence.influence.influence``.

    Parameters
    ----------
    cset : CounterfactualSet
    divergence : {"kl", "jsd", "pmi", "tv"}
    influencee_action : int64 tensor of shape (..., N), optional
        The action each influencee j actually took at the step the counterfactuals describe;
        required by ``"pmi"``.
    base : float, optional
        Logarithm base (None = nats).

    Returns
    -------
    tensor of shape (..., N, N)
        Row = influencer k, column = influencee j; 0 for pairs that do not exist in the setting
        and for invalid ones.
    """
    if divergence not in DIVERGENCES:
        raise ConfigError(f"divergence: expected one of {DIVERGENCES}; got {divergence!r}")
    k_vals = cset.cf_logits.shape[-2]
    actual = cset.actual
    valid = (actual >= 0) & (actual < k_vals)
    if cset.valid is not None:
        valid = valid & cset.valid
    actual = torch.where(valid, actual, torch.zeros_like(actual))
    kwargs = {}
    if divergence == "pmi":
        if influencee_action is None:
            raise ConfigError(
                "divergence='pmi' needs influencee_action (the action each influencee took)"
            )
        kwargs["influencee_action"] = influencee_action[..., cset.influencees]
    values = influence(
        cset.cf_logits, cset.prior_logits, actual, divergence=divergence, base=base, **kwargs
    )
    values = torch.where(valid, values, torch.zeros_like(values))
    n = cset.num_agents
    out = values.new_zeros((*values.shape[:-1], n, n))
    out[..., cset.influencers, cset.influencees] = values
    return out


def per_agent_influence(
    pairwise: Tensor, *, visible: Tensor | None = None, influencee_reward: bool = False
) -> Tensor:
    """Influence of each agent: the sum over its influencees (row sums), optionally masked.

    The core's :func:`causal_influence.rewards.reward_from_pairwise` (one implementation of the
    sum for online and offline use).

    Parameters
    ----------
    pairwise : tensor of shape (..., N, N)
        Row = influencer k, column = influencee j.
    visible : tensor of shape (..., N, N), optional
        ``visible[..., k, j]`` = 1 if j was in k's view when k acted; the influence on agents
        out of view is dropped.
    influencee_reward : bool
        Also give each influencee the influence it received (column sums; Jaques et al. 2019,
        basic setting variant).

    Returns
    -------
    tensor of shape (..., N)
    """
    out: Tensor = reward_from_pairwise(
        pairwise, visible=visible, influencee_reward=influencee_reward
    )
    return out


def shaped_influence(raw: Tensor, *, clip: float, weight: float) -> Tensor:
    """``weight * clip(raw, -clip, clip)``: the influence part of the reward."""
    if clip <= 0:
        raise ConfigError(f"influence clip must be positive; got {clip}")
    return weight * raw.clamp(-clip, clip)


def influence_weight(
    step: float,
    *,
    coef: float,
    schedule_steps: Sequence[float] = (),
    schedule_weights: Sequence[float] = (),
) -> float:
    """Scheduled influence weight ``coef * interp(step, schedule_steps, schedule_weights)``.

    Piecewise linear between the given points and constant beyond them (``numpy.interp``), as in
    the reference. Without a schedule the weight is ``coef``. A linear curriculum over C steps
    is ``schedule_steps=(0, C), schedule_weights=(0, 1)``.
    """
    if len(schedule_steps) != len(schedule_weights):
        raise ConfigError(
            f"influence schedule: expected as many steps as weights; got {len(schedule_steps)} "
            f"steps and {len(schedule_weights)} weights"
        )
    if not schedule_steps:
        return float(coef)
    if np.any(np.diff(np.asarray(schedule_steps, dtype=float)) < 0):
        raise ConfigError(f"influence schedule steps must be increasing; got {schedule_steps}")
    return float(coef * np.interp(step, schedule_steps, schedule_weights))
