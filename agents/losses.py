"""Returns, advantages and losses shared by A2C and PPO (written once, tested against loops).

Layout is time-major: ``rewards (T, B, N)`` for T steps of B envs and N agents. Per-agent
losses are means over that agent's entries; the total loss is the **sum over agents**, so with
independent weights every agent's gradient is exactly the gradient of its own loss.

Examples
--------
>>> import torch
>>> from agents.losses import gae
>>> adv, ret = gae(torch.tensor([1.0, 1.0]), torch.zeros(2), torch.tensor(0.0),
...                torch.tensor([False, False]), gamma=0.5, lam=1.0)
>>> adv.tolist(), ret.tolist()
([1.5, 1.0], [1.5, 1.0])
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn

from causal_influence.errors import ConfigError, ShapeError, describe

__all__ = [
    "agent_sum_of_means",
    "clip_grad_norm_per_agent",
    "entropy",
    "gae",
    "log_prob",
    "moa_cross_entropy",
    "policy_loss",
    "value_loss",
]


def gae(
    rewards: Tensor,
    values: Tensor,
    last_values: Tensor,
    dones: Tensor,
    *,
    gamma: float,
    lam: float,
) -> tuple[Tensor, Tensor]:
    """Generalised advantage estimation (Schulman et al. 2016) over a fragment.

    ``delta_t = r_t + gamma * (1 - d_t) * V_{t+1} - V_t`` and
    ``A_t = delta_t + gamma * lam * (1 - d_t) * A_{t+1}``, with ``V_T = last_values``. ``lam=1``
    gives n-step returns bootstrapped at the fragment end (the A3C target); ``lam=0`` gives
    one-step TD errors. An episode end at t (``d_t`` True) cuts both the bootstrap and the
    recursion.

    Parameters
    ----------
    rewards : tensor of shape (T, ...)
    values : tensor of shape (T, ...)
        Value estimates of the states of each step.
    last_values : tensor of shape (...)
        Value of the state after the last step (ignored where ``dones[-1]``).
    dones : bool tensor of shape (T, ...) or broadcastable to it (e.g. (T, B, 1))
        True where the episode ended with step t.
    gamma, lam : float
        Discount and GAE parameter, in [0, 1].

    Returns
    -------
    advantages, returns : tensors of shape (T, ...)
        ``returns = advantages + values`` (the value-function target).

    Notes
    -----
    The backward recursion loops over the T steps with every other axis vectorised; it is the
    only sequential part and costs T small tensor operations per update.
    """
    if not (0.0 <= gamma <= 1.0 and 0.0 <= lam <= 1.0):
        raise ConfigError(f"gamma and lam must lie in [0, 1]; got gamma={gamma}, lam={lam}")
    if rewards.shape != values.shape or rewards.shape[1:] != last_values.shape:
        raise ShapeError(
            f"gae: expected rewards and values of shape (T, ...) and last_values of shape (...); "
            f"got {describe(rewards)}, {describe(values)}, {describe(last_values)}"
        )
    with torch.no_grad():
        not_done = (~dones.bool()).to(rewards.dtype).expand_as(rewards)
        next_values = torch.cat([values[1:], last_values.unsqueeze(0)], dim=0)
        deltas = rewards + gamma * not_done * next_values - values
        decay = gamma * lam * not_done
        advantages = torch.empty_like(rewards)
        running = torch.zeros_like(last_values)
        for t in range(rewards.shape[0] - 1, -1, -1):
            running = deltas[t] + decay[t] * running
            advantages[t] = running
    return advantages, advantages + values


def log_prob(logits: Tensor, actions: Tensor) -> Tensor:
    """Log-probability of ``actions (...)`` under categorical ``logits (..., A)``."""
    return torch.log_softmax(logits, dim=-1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)


def entropy(logits: Tensor) -> Tensor:
    """Entropy in nats of categorical ``logits (..., A)``, shape (...)."""
    logp = torch.log_softmax(logits, dim=-1)
    return -(logp.exp() * logp).sum(-1)


def agent_sum_of_means(x: Tensor, agent_dim: int = 2, mask: Tensor | None = None) -> Tensor:
    """Mean over every axis but ``agent_dim`` (weighted by ``mask``), summed over agents.

    With a mask the denominator is the number of unmasked entries per agent (at least 1).

    Examples
    --------
    >>> agent_sum_of_means(torch.tensor([[[1.0, 2.0]], [[3.0, 6.0]]]))
    tensor(6.)
    """
    dims = [d for d in range(x.ndim) if d != agent_dim % x.ndim]
    if mask is None:
        return x.mean(dim=dims).sum()
    m = mask.to(x.dtype).expand_as(x)
    return ((x * m).sum(dim=dims) / m.sum(dim=dims).clamp_min(1.0)).sum()


def policy_loss(
    logp: Tensor,
    advantages: Tensor,
    *,
    old_logp: Tensor | None = None,
    clip: float | None = None,
    mask: Tensor | None = None,
) -> Tensor:
    """Policy-gradient loss, per-agent mean, summed over agents (agent axis 2).

    Without ``clip``: the A2C loss ``-logp * A``. With ``clip`` (PPO): the clipped surrogate
    ``-min(rho * A, clip(rho, 1-eps, 1+eps) * A)`` with ``rho = exp(logp - old_logp)``.
    """
    advantages = advantages.detach()
    if clip is None:
        per = -logp * advantages
    else:
        if old_logp is None:
            raise ConfigError("policy_loss: the clipped (PPO) loss needs old_logp")
        ratio = torch.exp(logp - old_logp.detach())
        per = -torch.minimum(ratio * advantages, ratio.clamp(1.0 - clip, 1.0 + clip) * advantages)
    return agent_sum_of_means(per, mask=mask)


def value_loss(values: Tensor, returns: Tensor, *, mask: Tensor | None = None) -> Tensor:
    """``0.5 * (V - R)^2``, per-agent mean, summed over agents (agent axis 2)."""
    return agent_sum_of_means(0.5 * (values - returns.detach()).pow(2), mask=mask)


def moa_cross_entropy(
    moa_logits: Tensor, targets: Tensor, mask: Tensor, valid: Tensor | None = None
) -> Tensor:
    """Cross-entropy of the MOA's predictions of the others' next actions.

    Parameters
    ----------
    moa_logits : tensor of shape (T, B, N, N-1, A)
        Agent k's prediction, made at t, of the action at t+1 of each other agent (index order).
    targets : int64 tensor of shape (T, B, N, N-1)
        The others' actions at t+1 (any valid index where masked).
    mask : tensor of shape (T, B, N, N-1)
        1 for an entry that counts, 0 for one masked by visibility.
    valid : bool tensor of shape (T, B), optional
        False for steps without a next step (episode end): those are left out entirely.

    Returns
    -------
    Tensor
        Scalar: for each agent, the masked cross-entropy averaged over all its (step, other)
        entries of valid steps, *entries masked by visibility included in the denominator*
        (the reference's choice, docs/envs.md section "Agents trained on these games");
        summed over agents.

    Examples
    --------
    >>> logits = torch.zeros(1, 1, 2, 1, 2)
    >>> moa_cross_entropy(logits, torch.zeros(1, 1, 2, 1, dtype=torch.long), torch.ones(1, 1, 2, 1))
    tensor(1.3863)
    """
    ce = -log_prob(moa_logits, targets) * mask.to(moa_logits.dtype)
    t_len, b, _, others = ce.shape
    if valid is None:
        return ce.sum(dim=(0, 1, 3)).div(t_len * b * others).sum()
    v = valid.to(ce.dtype).reshape(t_len, b, 1, 1)
    count = (v.sum() * others).clamp_min(1.0)
    return ((ce * v).sum(dim=(0, 1, 3)) / count).sum()


def clip_grad_norm_per_agent(
    parameters: Iterable[nn.Parameter], max_norm: float, groups: int
) -> Tensor:
    """Clip gradients to ``max_norm`` separately for every agent's slice of the parameters.

    Every parameter has a leading group axis of size ``groups`` (one weight set per agent, or 1
    when shared), so clipping per slice keeps independent agents independent: one agent's
    large gradient never shrinks another agent's update.

    Returns
    -------
    Tensor of shape (groups,)
        The per-agent gradient norms before clipping.
    """
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.zeros(groups)
    sq = torch.zeros(groups)
    for g in grads:
        if g.shape[0] != groups:
            raise ShapeError(
                f"expected every parameter to have a leading agent axis of size {groups}; got a "
                f"gradient of shape {tuple(g.shape)}"
            )
        sq = sq + g.reshape(groups, -1).pow(2).sum(1)
    norms = sq.sqrt()
    scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(scale.reshape(groups, *([1] * (g.ndim - 1))))
    return norms
