"""TorchRL adapter: the influence reward from a TensorDict, added to the reward before GAE.

TorchRL's PettingZoo wrapper (``torchrl.envs.PettingZooWrapper``) puts agents named
``agent_0 ... agent_{N-1}`` in one group (``"agent"``) and lays a collected batch out as

=====================================  =========================  =============================
key                                    shape                      what
=====================================  =========================  =============================
``(group, "logits")``                  ``[*B, T, N, K]``          policy output (written by you)
``(group, "action")``                  ``[*B, T, N]``             actions taken (or one-hot)
``(group, "counterfactual_logits")``   ``[*B, T, N, N, K, A]``    written by your policy or MOA
``("next", group, "reward")``          ``[*B, T, N, 1]``          the env's reward
``("next", "done")``                   ``[*B, T, 1]``             True where step t ends an
                                                                  episode
=====================================  =========================  =============================

with time as the last batch dimension (or the one named ``"time"``). Your policy module writes
the counterfactual logits next to its logits: ``[..., k, j, c, :]`` are the logits of agent
j's action with agent k's action replaced by c (re-running j's policy, or k's model of other
agents). :func:`add_influence_reward` then computes the influence reward with the core's
:func:`causal_influence.rewards.influence_reward` (the same function as in any other training
loop), adds ``influence_coef`` times it to ``("next", group, "reward")`` in place and stores the
unweighted value under ``("next", group, "influence_reward")``. Call it once per collected
batch, after the collector and before the advantage module (``GAE`` / ``MultiAgentGAE``)::

    for batch in collector:
        add_influence_reward(batch, influence_coef=0.1, alignment="same_step", influencers=[0])
        loss_module.value_estimator(batch, params=..., target_params=...)   # GAE
        ...

The TorchRL extra is only needed to build the TensorDicts: this module imports nothing from
TorchRL and works on any TensorDict with that layout (``pip install causal-influence[torchrl]``).

With ``alignment="next_step"`` and a policy (``predicts_next_step=False``) the last step of
each collected batch gets 0 unless its episode ended: its influence is measured at the next
step, which belongs to the next batch. A model of other agents (``predicts_next_step=True``)
credits every step.

Examples
--------
>>> import torch
>>> from tensordict import TensorDict
>>> from agents.torchrl import add_influence_reward
>>> T, N, A = 3, 2, 2
>>> cf = torch.zeros(T, N, N, A, A)
>>> cf[:, 0, 1] = torch.log(torch.tensor([[0.9, 0.1], [0.1, 0.9]]))  # 1 follows 0
>>> batch = TensorDict({
...     "agent": {"logits": torch.zeros(T, N, A), "action": torch.zeros(T, N, dtype=torch.long),
...               "counterfactual_logits": cf},
...     "next": {"agent": {"reward": torch.ones(T, N, 1)},
...              "done": torch.tensor([[False], [False], [True]])},
... }, batch_size=[T])
>>> _ = add_influence_reward(batch, influence_coef=0.5, alignment="same_step", influencers=[0])
>>> batch["next", "agent", "reward"][..., 0]
tensor([[1.1840, 1.0000],
        [1.1840, 1.0000],
        [1.1840, 1.0000]])
>>> batch["next", "agent", "influence_reward"][0, :, 0]
tensor([0.3681, 0.0000])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from causal_influence.errors import ConfigError, DTypeError, ShapeError, describe
from causal_influence.rewards import influence_reward

if TYPE_CHECKING:
    from tensordict import TensorDictBase

__all__ = ["add_influence_reward", "influence_reward_from_tensordict"]

NestedKey = str | tuple[str, ...]


def _key(*parts: NestedKey) -> tuple[str, ...]:
    out: list[str] = []
    for p in parts:
        out.extend((p,) if isinstance(p, str) else p)
    return tuple(out)


def _get(td: TensorDictBase, key: tuple[str, ...], what: str) -> Tensor:
    value = td.get(key, None)
    if value is None:
        leaves = sorted(str(k) for k in td.keys(include_nested=True, leaves_only=True))
        raise ConfigError(
            f"tensordict: expected {what} under key {key}; it is missing. Leaf keys present: "
            f"{leaves[:12]}{' ...' if len(leaves) > 12 else ''}; write it from your policy "
            f"module or pass the right key"
        )
    if not isinstance(value, Tensor):
        raise DTypeError(f"tensordict{list(key)}: expected a tensor; got {describe(value)}")
    return value


def _time_dim(td: TensorDictBase, time_dim: int | None) -> int:
    ndim = int(td.batch_dims)
    if ndim < 1:
        raise ShapeError(
            f"tensordict: expected a batch of steps (batch_size [*B, T]); got batch_size "
            f"{list(td.batch_size)}; pass the collected batch, not a single step"
        )
    if time_dim is None:
        try:
            names = list(td.names)
        except (RuntimeError, ValueError):  # tensordicts without dimension names
            names = []
        return names.index("time") if "time" in names else ndim - 1
    if not -ndim <= time_dim < ndim:
        raise ConfigError(
            f"time_dim: expected a batch dimension in [{-ndim}, {ndim}); got {time_dim}"
        )
    return time_dim % ndim


def _time_first_inputs(
    td: TensorDictBase,
    td_dim: int,
    group: str,
    counterfactual_key: NestedKey,
    logits_key: NestedKey,
    action_key: NestedKey,
    done_key: NestedKey | None,
    visible_key: NestedKey | None,
) -> tuple[Tensor, Tensor, Tensor, Tensor | None, Tensor | None]:
    """Counterfactual logits, logits, actions, dones and visibility of a batch, time first."""
    cf = _get(td, _key(group, counterfactual_key), "counterfactual logits")
    logits = _get(td, _key(group, logits_key), "the policy logits")
    actions = _get(td, _key(group, action_key), "the actions")
    if actions.ndim == logits.ndim:  # one-hot actions (categorical_actions=False)
        actions = actions.argmax(-1)
    n = int(logits.shape[-2]) if logits.ndim >= 2 else 0
    dones = None
    if done_key is not None:
        dones = _episode_ends(td, _key(done_key), n).movedim(td_dim, 0)
    visible = None
    if visible_key is not None:
        visible = _get(td, _key(group, visible_key), "the visibility").movedim(td_dim, 0).bool()
    return (
        cf.movedim(td_dim, 0),
        logits.movedim(td_dim, 0),
        actions.movedim(td_dim, 0),
        dones,
        visible,
    )


def _episode_ends(td: TensorDictBase, key: tuple[str, ...], n: int) -> Tensor:
    """Done flags of shape [*B, T] from [*B, T], [*B, T, 1] or per agent [*B, T, N, 1]."""
    done = _get(td, key, "the done flags")
    lead = tuple(td.batch_size)
    if done.ndim == len(lead) + 2 and tuple(done.shape[len(lead) :]) == (n, 1):
        done = done[..., 0].any(-1)  # per agent: the episode ends when any agent is done
    elif done.ndim == len(lead) + 1 and done.shape[-1] == 1:
        done = done[..., 0]
    if tuple(done.shape) != lead:
        raise ShapeError(
            f"tensordict{list(key)}: expected done flags of shape {list(lead)} "
            f"(+ [1]) or per agent {[*lead, n, 1]}; got {describe(done)}"
        )
    return done


def influence_reward_from_tensordict(
    tensordict: TensorDictBase,
    *,
    alignment: str,
    group: str = "agent",
    counterfactual_key: NestedKey = "counterfactual_logits",
    logits_key: NestedKey = "logits",
    action_key: NestedKey = "action",
    done_key: NestedKey | None = ("next", "done"),
    visible_key: NestedKey | None = None,
    predicts_next_step: bool = False,
    divergence: str = "kl",
    influencee_reward: bool = False,
    influencers: Sequence[int] | None = None,
    influencees: Sequence[int] | None = None,
    base: float | None = None,
    time_dim: int | None = None,
) -> Tensor:
    """Influence reward of every agent at every step of a TorchRL batch (not yet weighted).

    Parameters
    ----------
    tensordict : tensordict.TensorDictBase
        A collected batch with batch size ``[*B, T]`` (module docstring for the layout).
    alignment : {"same_step", "next_step"}
        As in :func:`causal_influence.rewards.influence_reward`.
    group : str, default "agent"
        The agent group (TorchRL's default group name for ``agent_<i>`` agents).
    counterfactual_key, logits_key, action_key : str or tuple of str
        Keys inside the group: counterfactual logits ``[*B, T, N, N, K, A]``, each agent's
        policy logits over its own value ``[*B, T, N, K]`` and the values taken ``[*B, T, N]``
        (or one-hot ``[*B, T, N, K]``). For the influence of messages, point them at the
        message logits and messages.
    done_key : str or tuple of str, optional
        Absolute key of the episode ends (``[*B, T]`` or ``[*B, T, 1]``, or per agent
        ``[*B, T, N, 1]``: an episode ends when any agent is done). None: one episode.
    visible_key : str or tuple of str, optional
        Key inside the group of the visibility ``[*B, T, N, N]`` (j in k's view at t), e.g.
        ``("observation", "visible")`` for the Harvest and Cleanup envs of this package.
    predicts_next_step, divergence, influencee_reward, influencers, influencees, base
        As in :func:`causal_influence.rewards.influence_reward`.
    time_dim : int, optional
        Batch dimension of time (default: the one named ``"time"``, else the last).

    Returns
    -------
    torch.Tensor of shape ``[*B, T, N]``
        Without gradient.

    Raises
    ------
    ConfigError
        A key is missing (the message lists the keys present).
    ShapeError
        Entries whose shapes do not match (see
        :func:`causal_influence.rewards.influence_reward`).
    """
    td_dim = _time_dim(tensordict, time_dim)
    cf, logits, actions, dones, visible = _time_first_inputs(
        tensordict, td_dim, group, counterfactual_key, logits_key, action_key, done_key, visible_key
    )
    reward = influence_reward(
        cf,
        logits,
        actions,
        alignment=alignment,
        predicts_next_step=predicts_next_step,
        divergence=divergence,
        dones=dones,
        visible=visible,
        influencee_reward=influencee_reward,
        influencers=influencers,
        influencees=influencees,
        base=base,
    )
    out: Tensor = reward.movedim(0, td_dim)
    return out


def add_influence_reward(
    tensordict: TensorDictBase,
    *,
    influence_coef: float,
    alignment: str,
    group: str = "agent",
    reward_key: NestedKey | None = None,
    out_key: NestedKey | None = None,
    **options: Any,
) -> TensorDictBase:
    """Add ``influence_coef`` times the influence reward to the reward of a TorchRL batch.

    Parameters
    ----------
    tensordict : tensordict.TensorDictBase
        A collected batch ``[*B, T]``; modified in place and returned.
    influence_coef : float
        Weight of the influence reward (beta of Jaques et al. 2019).
    alignment : {"same_step", "next_step"}
    group : str, default "agent"
    reward_key : str or tuple of str, optional
        Default ``("next", group, "reward")``, of shape ``[*B, T, N, 1]`` (or ``[*B, T, N]``).
    out_key : str or tuple of str, optional
        Where the unweighted influence reward is stored, shaped like the reward; default
        ``("next", group, "influence_reward")``.
    **options
        Passed to :func:`influence_reward_from_tensordict` (keys, ``predicts_next_step``,
        ``divergence``, ``visible_key``, ``influencers``, ...).

    Returns
    -------
    tensordict.TensorDictBase
        The same tensordict.
    """
    reward_key_t = _key("next", group, "reward") if reward_key is None else _key(reward_key)
    out_key_t = _key("next", group, "influence_reward") if out_key is None else _key(out_key)
    reward = _get(tensordict, reward_key_t, "the reward")
    influence = influence_reward_from_tensordict(
        tensordict, alignment=alignment, group=group, **options
    )
    if reward.shape == (*influence.shape, 1):
        influence = influence.unsqueeze(-1)
    if reward.shape != influence.shape:
        raise ShapeError(
            f"tensordict{list(reward_key_t)}: expected a reward of shape {list(influence.shape)} "
            f"or {[*influence.shape, 1]} (one per step and agent); got {describe(reward)}"
        )
    influence = influence.to(device=reward.device, dtype=reward.dtype)
    with torch.no_grad():
        tensordict.set(reward_key_t, reward + influence_coef * influence)
        tensordict.set(out_key_t, influence)
    return tensordict
