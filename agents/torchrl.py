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

Several agent groups
--------------------
Agents whose names are not ``<str>_<int>`` of one prefix land in several groups: MPE's
``simple_speaker_listener`` gives ``{"speaker": ["speaker_0"], "listener": ["listener_0"]}``,
with different observation and action sizes. Pass ``groups=["speaker", "listener"]``: the
agents of the groups, in that order, are the agents ``0 .. N-1`` of the influence computation
(group ``g``'s agents keep their order inside it), each group's logits are padded with
``-inf`` to the widest group (a padded value has probability 0), and the counterfactual logits
of a pair of groups live in the influencer's group, keyed by the influencee's group::

    (g_k, "counterfactual_logits", g_j)   [*B, T, N_k, N_j, K_k, A_j]
        [..., k, j, c, :] = logits of agent j (of group g_j) had agent k (of g_k) taken c

(within a group, ``(g, "counterfactual_logits")`` may stay a plain tensor as above). A pair of
groups without an entry gets no influence. The rewards come back per group and go to
``("next", g, "reward")``; influencers and influencees may be named by group::

    add_influence_reward(batch, influence_coef=0.1, alignment="next_step",
                         groups=["speaker", "listener"], influencers=["speaker"])

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
AgentRef = int | str


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
    dones = None
    if done_key is not None:
        dones = _episode_ends(td, _key(done_key)).movedim(td_dim, 0)
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


def _episode_ends(td: TensorDictBase, key: tuple[str, ...]) -> Tensor:
    """Done flags of shape [*B, T] from [*B, T], [*B, T, 1] or per agent [*B, T, N, 1]."""
    done = _get(td, key, "the done flags")
    lead = tuple(td.batch_size)
    if done.ndim == len(lead) + 2 and done.shape[-1] == 1:
        done = done[..., 0].any(-1)  # per agent: the episode ends when any agent is done
    elif done.ndim == len(lead) + 1 and done.shape[-1] == 1:
        done = done[..., 0]
    if tuple(done.shape) != lead:
        raise ShapeError(
            f"tensordict{list(key)}: expected done flags of shape {list(lead)} "
            f"(+ [1]) or per agent {[*lead, 'N', 1]}; got {describe(done)}"
        )
    return done


class _Groups:
    """Several agent groups laid side by side as agents 0 .. N-1 (padded to common widths)."""

    def __init__(
        self,
        td: TensorDictBase,
        groups: Sequence[str],
        *,
        counterfactual_key: NestedKey,
        logits_key: NestedKey,
        action_key: NestedKey,
    ) -> None:
        if isinstance(groups, str) or len(groups) == 0 or len(set(groups)) != len(groups):
            raise ConfigError(
                f"groups: expected a non-empty sequence of distinct group names, e.g. "
                f"['speaker', 'listener'] (TorchRL's env.group_map keys); got {groups!r}"
            )
        self.groups = list(groups)
        self.lead = tuple(td.batch_size)
        nb = len(self.lead)
        logits: dict[str, Tensor] = {}
        for g in self.groups:
            value = _get(td, _key(g, logits_key), f"the policy logits of group {g!r}")
            if value.ndim != nb + 2 or tuple(value.shape[:nb]) != self.lead:
                raise ShapeError(
                    f"tensordict[{g!r}, {logits_key!r}]: expected logits of shape "
                    f"{[*self.lead, 'N_g', 'K_g']} (one row per agent of the group); got "
                    f"{describe(value)}"
                )
            logits[g] = value
        self.sizes = {g: int(v.shape[-2]) for g, v in logits.items()}
        self.widths = {g: int(v.shape[-1]) for g, v in logits.items()}
        self.offsets: dict[str, int] = {}
        n = 0
        for g in self.groups:
            self.offsets[g] = n
            n += self.sizes[g]
        self.n = n
        k = max(self.widths.values())
        ref = next(iter(logits.values()))
        self.logits = ref.new_full((*self.lead, n, k), -torch.inf)
        actions = []
        for g in self.groups:
            self.logits[..., self._slice(g), : self.widths[g]] = logits[g]
            a = _get(td, _key(g, action_key), f"the actions of group {g!r}")
            if a.ndim == nb + 2:  # one-hot actions (categorical_actions=False)
                a = a.argmax(-1)
            if tuple(a.shape) != (*self.lead, self.sizes[g]):
                raise ShapeError(
                    f"tensordict[{g!r}, {action_key!r}]: expected actions of shape "
                    f"{[*self.lead, self.sizes[g]]} (or one-hot with a trailing "
                    f"{self.widths[g]}); got {describe(a)}"
                )
            actions.append(a.long())
        self.actions = torch.cat(actions, dim=-1)
        self.cf = self._counterfactuals(td, counterfactual_key)

    def _slice(self, g: str) -> slice:
        return slice(self.offsets[g], self.offsets[g] + self.sizes[g])

    def _counterfactuals(self, td: TensorDictBase, counterfactual_key: NestedKey) -> Tensor:
        from tensordict import TensorDictBase as _TD  # the extra is installed when td exists

        blocks: list[tuple[str, str, Tensor]] = []
        for gk in self.groups:
            entry = td.get(_key(gk, counterfactual_key), None)
            if entry is None:
                continue
            if isinstance(entry, Tensor):
                blocks.append((gk, gk, entry))
                continue
            if not isinstance(entry, _TD):
                raise DTypeError(
                    f"tensordict[{gk!r}, {counterfactual_key!r}]: expected a tensor or a "
                    f"tensordict keyed by influencee group; got {describe(entry)}"
                )
            # iterating a TensorDict walks its batch, not its keys
            unknown = sorted(str(key) for key in entry.keys() if key not in self.groups)  # noqa: SIM118
            if unknown:
                raise ConfigError(
                    f"tensordict[{gk!r}, {counterfactual_key!r}]: expected keys naming "
                    f"influencee groups among {self.groups}; got {unknown}; add the group "
                    f"to groups= or drop the entry"
                )
            for gj in self.groups:
                value = entry.get(gj, None)
                if value is not None:
                    blocks.append((gk, gj, value))
        if not blocks:
            raise ConfigError(
                f"tensordict: expected counterfactual logits under (group, "
                f"{counterfactual_key!r}, influencee group) for at least one of the groups "
                f"{self.groups}; found none; write them from your policy module (module "
                f"docstring, 'Several agent groups')"
            )
        nb = len(self.lead)
        for gk, gj, value in blocks:
            expected = (*self.lead, self.sizes[gk], self.sizes[gj], self.widths[gk])
            if value.ndim != nb + 4 or tuple(value.shape[:-1]) != expected:
                raise ShapeError(
                    f"tensordict[{gk!r}, {counterfactual_key!r}, {gj!r}]: expected "
                    f"counterfactual logits of shape {[*expected, 'A_j']} ([..., k, j, c, :]: "
                    f"logits of {gj!r} agent j had {gk!r} agent k taken value c); got "
                    f"{describe(value)}"
                )
        a = max(int(v.shape[-1]) for _, _, v in blocks)
        cf = self.logits.new_zeros((*self.lead, self.n, self.n, self.logits.shape[-1], a))
        for gk, gj, value in blocks:
            block = cf[..., self._slice(gk), self._slice(gj), :, :]  # a view
            block[..., value.shape[-1] :] = -torch.inf  # the influencee's padded actions
            block[..., : self.widths[gk], : value.shape[-1]] = value.to(cf.dtype)
        return cf

    def indices(self, refs: Sequence[AgentRef] | None, name: str) -> list[int] | None:
        """Global agent indices of ints and group names."""
        if refs is None:
            return None
        if isinstance(refs, (str, int)):
            refs = [refs]
        out: list[int] = []
        for ref in refs:
            if isinstance(ref, str):
                if ref not in self.offsets:
                    raise ConfigError(
                        f"{name}: expected agent indices or names of the groups {self.groups}; "
                        f"got {ref!r}"
                    )
                out.extend(range(self.offsets[ref], self.offsets[ref] + self.sizes[ref]))
            else:
                out.append(int(ref))
        return out

    def split(self, reward: Tensor) -> dict[str, Tensor]:
        return {g: reward[..., self._slice(g)] for g in self.groups}


# Long: docstring of 71 lines (every key and option, a worked example of two agent groups);
# code 40 lines.
def influence_reward_from_tensordict(
    tensordict: TensorDictBase,
    *,
    alignment: str,
    group: str = "agent",
    groups: Sequence[str] | None = None,
    counterfactual_key: NestedKey = "counterfactual_logits",
    logits_key: NestedKey = "logits",
    action_key: NestedKey = "action",
    done_key: NestedKey | None = ("next", "done"),
    visible_key: NestedKey | None = None,
    predicts_next_step: bool = False,
    divergence: str = "kl",
    influencee_reward: bool = False,
    influencers: Sequence[AgentRef] | None = None,
    influencees: Sequence[AgentRef] | None = None,
    base: float | None = None,
    time_dim: int | None = None,
) -> Any:
    """Influence reward of every agent at every step of a TorchRL batch (not yet weighted).

    Parameters
    ----------
    tensordict : tensordict.TensorDictBase
        A collected batch with batch size ``[*B, T]`` (module docstring for the layout).
    alignment : {"same_step", "next_step"}
        As in :func:`causal_influence.rewards.influence_reward`.
    group : str, default "agent"
        The agent group (TorchRL's default group name for ``agent_<i>`` agents).
    groups : sequence of str, optional
        Several agent groups (e.g. ``["speaker", "listener"]``), taken together as agents
        ``0 .. N-1`` in this order; replaces ``group``. Layout of the counterfactual logits
        between groups: module docstring, "Several agent groups".
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
        One group only.
    predicts_next_step, divergence, influencee_reward, base
        As in :func:`causal_influence.rewards.influence_reward`.
    influencers, influencees : sequence of int or str, optional
        Subsets of agents (default: all): indices, and with ``groups`` also group names
        standing for all the agents of the group.
    time_dim : int, optional
        Batch dimension of time (default: the one named ``"time"``, else the last).

    Returns
    -------
    torch.Tensor of shape ``[*B, T, N]``, or with ``groups`` a dict of them per group
        ``{g: [*B, T, N_g]}``. Without gradient.

    Raises
    ------
    ConfigError
        A key is missing (the message lists the keys present), an unknown group name.
    ShapeError
        Entries whose shapes do not match (see
        :func:`causal_influence.rewards.influence_reward`).

    Examples
    --------
    A speaker group (3 symbols) and a listener group (5 actions): the listener moves to the
    landmark the speaker named one step earlier, so each message is worth ln 3 nats:

    >>> import torch
    >>> from tensordict import TensorDict
    >>> T = 4
    >>> heard = torch.full((3, 5), -torch.inf)
    >>> heard[range(3), range(3)] = 0.0  # listener's logits under each symbol heard: go there
    >>> batch = TensorDict({
    ...     "speaker": {"logits": torch.zeros(T, 1, 3), "action": torch.zeros(T, 1, dtype=int),
    ...                 "counterfactual_logits": {"listener": heard.expand(T, 1, 1, 3, 5)}},
    ...     "listener": {"logits": heard[0].expand(T, 1, 5),
    ...                  "action": torch.zeros(T, 1, dtype=int)},
    ...     "next": {"done": torch.tensor([[False], [False], [False], [True]])},
    ... }, batch_size=[T])
    >>> r = influence_reward_from_tensordict(
    ...     batch, alignment="next_step", groups=["speaker", "listener"], influencers=["speaker"])
    >>> r["speaker"][:, 0]  # the last message of the episode is heard by nobody
    tensor([1.0986, 1.0986, 1.0986, 0.0000])
    >>> r["listener"][:, 0]
    tensor([0., 0., 0., 0.])
    """
    td_dim = _time_dim(tensordict, time_dim)
    options: dict[str, Any] = {
        "alignment": alignment,
        "predicts_next_step": predicts_next_step,
        "divergence": divergence,
        "influencee_reward": influencee_reward,
        "base": base,
    }
    keys = (counterfactual_key, logits_key, action_key)
    if groups is None:
        ids = (_ints(influencers, "influencers"), _ints(influencees, "influencees"))
        inputs = _time_first_inputs(tensordict, td_dim, group, *keys, done_key, visible_key)
        return _group_reward(inputs, td_dim, ids, options)
    if visible_key is not None:
        raise ConfigError(
            "visible_key: expected None with groups= (visibility is read inside one group); "
            "got a key; compute the reward per group or mask the counterfactual logits"
        )
    return _groups_reward(
        tensordict, td_dim, groups, keys, done_key, influencers, influencees, options
    )


def _group_reward(
    inputs: tuple[Tensor, Tensor, Tensor, Tensor | None, Tensor | None],
    td_dim: int,
    ids: tuple[list[int] | None, list[int] | None],
    options: dict[str, Any],
) -> Tensor:
    """The reward of one agent group from its time-first (counterfactual logits, logits,
    actions, dones, visibility) and (influencer, influencee) indices, with time moved back to
    ``td_dim``."""
    cf, logits, actions, dones, visible = inputs
    reward = influence_reward(
        cf,
        logits,
        actions,
        dones=dones,
        visible=visible,
        influencers=ids[0],
        influencees=ids[1],
        **options,
    )
    out: Tensor = reward.movedim(0, td_dim)
    return out


def _groups_reward(
    tensordict: TensorDictBase,
    td_dim: int,
    groups: Sequence[str],
    keys: tuple[NestedKey, NestedKey, NestedKey],
    done_key: NestedKey | None,
    influencers: Sequence[AgentRef] | None,
    influencees: Sequence[AgentRef] | None,
    options: dict[str, Any],
) -> dict[str, Tensor]:
    """The reward of several agent groups taken together, split back per group."""
    joint = _Groups(
        tensordict,
        groups,
        counterfactual_key=keys[0],
        logits_key=keys[1],
        action_key=keys[2],
    )
    dones = None if done_key is None else _episode_ends(tensordict, _key(done_key))
    reward = influence_reward(
        joint.cf.movedim(td_dim, 0),
        joint.logits.movedim(td_dim, 0),
        joint.actions.movedim(td_dim, 0),
        dones=None if dones is None else dones.movedim(td_dim, 0),
        influencers=joint.indices(influencers, "influencers"),
        influencees=joint.indices(influencees, "influencees"),
        **options,
    )
    return joint.split(reward.movedim(0, td_dim))


def _ints(refs: Sequence[AgentRef] | None, name: str) -> list[int] | None:
    if refs is None:
        return None
    bad = [r for r in refs if isinstance(r, str)]
    if bad:
        raise ConfigError(
            f"{name}: expected agent indices for one group; got names {bad}; group names "
            f"select agents only with groups=[...]"
        )
    return [int(r) for r in refs]


def add_influence_reward(
    tensordict: TensorDictBase,
    *,
    influence_coef: float,
    alignment: str,
    group: str = "agent",
    groups: Sequence[str] | None = None,
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
    groups : sequence of str, optional
        Several agent groups (module docstring, "Several agent groups"); each group's reward
        gets its agents' influence.
    reward_key : str or tuple of str, optional
        Default ``("next", group, "reward")``, of shape ``[*B, T, N, 1]`` (or ``[*B, T, N]``).
        With ``groups``: the key inside ``("next", g)``, default ``"reward"``.
    out_key : str or tuple of str, optional
        Where the unweighted influence reward is stored, shaped like the reward; default
        ``("next", group, "influence_reward")`` (with ``groups``: inside ``("next", g)``).
    **options
        Passed to :func:`influence_reward_from_tensordict` (keys, ``predicts_next_step``,
        ``divergence``, ``visible_key``, ``influencers``, ...).

    Returns
    -------
    tensordict.TensorDictBase
        The same tensordict.
    """
    if groups is None:
        influence = influence_reward_from_tensordict(
            tensordict, alignment=alignment, group=group, **options
        )
        reward_key_t = _key("next", group, "reward") if reward_key is None else _key(reward_key)
        out_key_t = _key("next", group, "influence_reward") if out_key is None else _key(out_key)
        _add(tensordict, influence, influence_coef, reward_key_t, out_key_t)
        return tensordict
    per_group = influence_reward_from_tensordict(
        tensordict, alignment=alignment, groups=groups, **options
    )
    for g, influence in per_group.items():
        _add(
            tensordict,
            influence,
            influence_coef,
            _key("next", g, "reward" if reward_key is None else reward_key),
            _key("next", g, "influence_reward" if out_key is None else out_key),
        )
    return tensordict


def _add(
    td: TensorDictBase,
    influence: Tensor,
    influence_coef: float,
    reward_key: tuple[str, ...],
    out_key: tuple[str, ...],
) -> None:
    reward = _get(td, reward_key, "the reward")
    if reward.shape == (*influence.shape, 1):
        influence = influence.unsqueeze(-1)
    if reward.shape != influence.shape:
        raise ShapeError(
            f"tensordict{list(reward_key)}: expected a reward of shape {list(influence.shape)} "
            f"or {[*influence.shape, 1]} (one per step and agent); got {describe(reward)}"
        )
    influence = influence.to(device=reward.device, dtype=reward.dtype)
    with torch.no_grad():
        td.set(reward_key, reward + influence_coef * influence)
        td.set(out_key, influence)
