"""Influence rewards of the three settings of Jaques et al. 2019, computed with the core.

The networks of :mod:`agents.networks` return counterfactual logits in a layout that suits
each setting. The functions here rearrange them into the core's pairwise layout
``cf (..., N, N, K, A)`` (row = influencer k, column = influencee j, K counterfactual values of
k's variable, A actions of j), which :func:`causal_influence.rewards.credited_influence`
scores and aligns in time (:func:`agents.sampler.rollout_influence`). No divergence or marginal
is computed here: the formulas live in the core.

Time alignment (docs/metrics.md, section "Time alignment"):

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

import numpy as np
import torch
from torch import Tensor

from causal_influence.errors import ConfigError, ShapeError, describe
from causal_influence.rewards import reward_from_pairwise

__all__ = [
    "basic_counterfactuals",
    "influence_weight",
    "message_counterfactuals",
    "moa_counterfactuals",
    "other_slot",
    "per_agent_influence",
    "population_logits",
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


def _pairwise(values: Tensor, k: Tensor, j: Tensor, n: int) -> Tensor:
    """Scatter per-pair logits (..., P, K, A) into (..., N, N, K, A), zeros off the pairs."""
    out = values.new_zeros((*values.shape[:-3], n, n, *values.shape[-2:]))
    out[..., k, j, :, :] = values
    return out


def _off_diagonal(n: int) -> tuple[Tensor, Tensor]:
    k, j = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    keep = k != j
    return k[keep], j[keep]


def basic_counterfactuals(cf_logits: Tensor) -> Tensor:
    """Pairwise layout of basic (same-step, centralised) influence: influencers x influencees.

    Parameters
    ----------
    cf_logits : tensor of shape (..., N-I, I, A, A)
        Influencee ``I + j``'s policy logits with influencer i's current action replaced by
        each value (``ActOutput.cf_logits`` of setting "basic"); influencers are agents
        ``0 .. I-1``, influencees ``I .. N-1``.

    Returns
    -------
    tensor of shape (..., N, N, A, A)
        Zeros except rows ``0 .. I-1`` x columns ``I .. N-1``.
    """
    if cf_logits.ndim < 4:
        raise ShapeError(
            f"cf_logits: expected shape (..., N-I, I, A, A); got {describe(cf_logits)}"
        )
    ni = int(cf_logits.shape[-3])
    n = int(cf_logits.shape[-4]) + ni
    k, j = torch.meshgrid(torch.arange(ni), torch.arange(ni, n), indexing="ij")
    k, j = k.reshape(-1), j.reshape(-1)
    return _pairwise(cf_logits[..., j - ni, k, :, :], k, j, n)


def message_counterfactuals(cf_logits: Tensor) -> Tensor:
    """Pairwise layout of the influence of messages (next step): every speaker k to every
    listener j != k.

    Parameters
    ----------
    cf_logits : tensor of shape (..., N, N-1, M, A)
        Listener j's policy logits at step t+1 with the message of step t of the other agent in
        slot s (index order, j skipped) replaced by each symbol (``ActOutput.cf_logits`` of
        setting "comm" at t+1).

    Returns
    -------
    tensor of shape (..., N, N, M, A)
        Row k = speaker, column j = listener; zeros on the diagonal.
    """
    if cf_logits.ndim < 4 or cf_logits.shape[-3] != cf_logits.shape[-4] - 1:
        raise ShapeError(
            f"cf_logits: expected shape (..., N, N-1, M, A); got {describe(cf_logits)}"
        )
    n = int(cf_logits.shape[-4])
    k, j = _off_diagonal(n)
    slot = other_slot(n)[j, k]  # position of k among j's others
    return _pairwise(cf_logits[..., j, slot, :, :], k, j, n)


def moa_counterfactuals(cf_logits: Tensor) -> Tensor:
    """Pairwise layout of influence through a model of other agents (MOA): every k to every
    j != k.

    Parameters
    ----------
    cf_logits : tensor of shape (..., N, A, N-1, A)
        Agent k's MOA prediction of each other agent's action at t+1 when k's action at t is
        replaced by each value (``ActOutput.cf_logits`` of setting "moa").

    Returns
    -------
    tensor of shape (..., N, N, A, A)
        Row k = influencer, column j = predicted agent; zeros on the diagonal.
    """
    if cf_logits.ndim < 4 or cf_logits.shape[-2] != cf_logits.shape[-4] - 1:
        raise ShapeError(
            f"cf_logits: expected shape (..., N, A, N-1, A); got {describe(cf_logits)}"
        )
    n = int(cf_logits.shape[-4])
    k, j = _off_diagonal(n)
    slot = other_slot(n)[k, j]  # position of j among k's others
    by_other = cf_logits.transpose(-3, -2)  # (..., N, N-1, K, A)
    return _pairwise(by_other[..., k, slot, :, :], k, j, n)


def population_logits(logits: Tensor) -> Tensor:
    """Log of the policy averaged over steps and envs, broadcast back to every step.

    The marginalisation weights of ``TrainConfig(influence_marginal="population")``: each
    influencer's policy averaged over a fragment, what an influencee that cannot see the
    influencer's state expects of it. With them the expected influence reward is the mutual
    information between the influencer's value and the influencee's action (what
    instantaneous coordination estimates), instead of the information beyond the influencer's
    state. No gradient flows through them.

    Parameters
    ----------
    logits : tensor of shape (T, B, N, K)
        Each influencer's policy (or message-policy) logits at every step.

    Returns
    -------
    tensor of shape (T, B, N, K)
        ``log mean_{t, b} softmax(logits[t, b, k])`` for every t and b.

    Examples
    --------
    >>> import torch
    >>> honest = torch.log(torch.eye(2).clamp_min(1e-30)).reshape(2, 1, 1, 2)  # says the target
    >>> population_logits(honest).exp()[0, 0, 0]
    tensor([0.5000, 0.5000])
    """
    if not isinstance(logits, Tensor) or logits.ndim != 4:
        raise ShapeError(f"logits: expected a tensor of shape (T, B, N, K); got {describe(logits)}")
    mean = torch.softmax(logits.detach(), dim=-1).mean(dim=(0, 1), keepdim=True)
    return torch.log(mean).expand_as(logits)


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
