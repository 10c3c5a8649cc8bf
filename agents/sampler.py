"""Rollouts of the batched networks in the batched envs, and their influence.

A :class:`Sampler` steps a :class:`envs.vector.VectorEnv` with a
:class:`agents.networks.MultiAgentNet` and returns time-major :class:`Rollout` fragments. At each
step it evaluates, in the same batched forward pass, the counterfactual logits of the setting.
:func:`rollout_influence` turns a fragment into the pairwise influence tensor ``(T, B, N, N)``
(row = influencer k, column = influencee j) *credited to the step where k chose its action or
message*, using the core's :func:`causal_influence.rewards.credited_influence` on the
counterfactual logits arranged by :mod:`agents.influence_reward`.

Fragments carry over: after the last step of a fragment that does not end the episode, the
sampler already evaluates the next step (its value bootstraps the returns, its counterfactual
pass measures the influence of the last messages, its actions are the MOA targets of the last
step) and starts the next fragment from that evaluation, so nothing is lost at fragment ends
(docs/envs.md, section "Agents trained on these games", fragment ends). That first step of a
fragment was therefore sampled by the policy before the last update; its recorded
log-probabilities are those of that behaviour policy (PPO's ratio accounts for it; for A2C it is
one slightly off-policy step per fragment).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from agents.influence_reward import (
    basic_counterfactuals,
    message_counterfactuals,
    moa_counterfactuals,
    population_logits,
)
from agents.losses import log_prob
from agents.networks import ActOutput, MultiAgentNet, NetSpec
from causal_influence.errors import ConfigError, ShapeError
from causal_influence.rewards import credited_influence
from causal_influence.validation import as_episode_starts, next_step_valid

__all__ = ["Rollout", "Sampler", "next_step_actions", "rollout_influence"]


@dataclass
class Rollout:
    """One fragment of T steps of B envs and N agents (time-major tensors).

    ``visible[t, b, k, j]`` is the visibility in the observation at t (j inside k's view).
    ``env_rewards`` are the env's rewards (after its collective / inequity transforms);
    ``extrinsic`` are the raw per-agent reward events. ``next_*`` describe the evaluation at the
    observation after the last step, absent (None) when the fragment ends the episode.
    ``cf_logits`` has T+1 entries along time: entry T belongs to that next evaluation (zeros
    when absent). ``context`` (T, B, N) int64 is the context label each agent is shown in the
    observation at t (-1 for none), when the game's observations carry one (``"context"``,
    e.g. the signalling game's targets); the networks never read it.
    """

    views: Tensor
    starts: Tensor
    visible: Tensor
    actions: Tensor
    logits: Tensor
    logp: Tensor
    values: Tensor
    last_values: Tensor
    env_rewards: Tensor
    extrinsic: Tensor
    dones: Tensor
    state0: dict[str, Tensor]
    next_visible: Tensor
    next_actions: Tensor | None = None
    messages_in: Tensor | None = None
    messages: Tensor | None = None
    message_logits: Tensor | None = None
    message_logp: Tensor | None = None
    message_values: Tensor | None = None
    last_message_values: Tensor | None = None
    moa_logits: Tensor | None = None
    cf_logits: Tensor | None = None
    events: dict[str, np.ndarray] = field(default_factory=dict)
    context: Tensor | None = None

    @property
    def length(self) -> int:
        """T, the number of steps."""
        return int(self.actions.shape[0])


class Sampler:
    """Step B envs with all agents' networks, keeping recurrent state across fragments.

    Parameters
    ----------
    env : envs.vector.VectorEnv
    net : MultiAgentNet
    generator : torch.Generator
        Source of the sampled actions and messages.
    counterfactuals : bool
        Evaluate the setting's counterfactual logits at every step.
    greedy : bool
        Take the most likely actions instead of sampling.
    """

    def __init__(
        self,
        env: object,
        net: MultiAgentNet,
        *,
        generator: torch.Generator,
        counterfactuals: bool = True,
        greedy: bool = False,
    ) -> None:
        self.env = env
        self.net = net
        self.generator = generator
        self.counterfactuals = counterfactuals and net.spec.setting != "none"
        self.greedy = greedy
        self.num_envs = int(env.num_envs)  # type: ignore[attr-defined]
        self.obs: dict[str, np.ndarray] | None = None
        self.state: dict[str, Tensor] = net.initial_state(self.num_envs)
        self.starts = torch.ones(self.num_envs, dtype=torch.bool)
        self.pending: ActOutput | None = None

    def reset(self, seed: int | None) -> None:
        """Start new episodes in every env (from ``seed``) with zero recurrent state."""
        self.obs = self.env.reset(seed=seed)  # type: ignore[attr-defined]
        self.state = self.net.initial_state(self.num_envs)
        self.starts = torch.ones(self.num_envs, dtype=torch.bool)
        self.pending = None

    def _messages_in(self) -> Tensor | None:
        if self.net.spec.setting != "comm":
            return None
        assert self.obs is not None
        return torch.from_numpy(np.asarray(self.obs["messages"], dtype=np.int64))

    def _act(self) -> ActOutput:
        assert self.obs is not None
        view = torch.from_numpy(np.ascontiguousarray(self.obs["view"]))
        return self.net.act(
            view,
            self.state,
            messages=self._messages_in(),
            generator=self.generator,
            counterfactuals=self.counterfactuals,
            greedy=self.greedy,
        )

    @torch.no_grad()
    def collect(self, length: int, *, ends_episode: bool = False) -> Rollout:
        """Run ``length`` steps and return the fragment.

        Parameters
        ----------
        length : int
            T.
        ends_episode : bool
            The fragment's last step ends every env's episode (the envs will be reset before
            the next fragment), so no next-step evaluation is made.
        """
        if self.obs is None:
            raise ShapeError("Sampler.collect: call reset(seed) first")
        b = self.num_envs
        view = np.asarray(self.obs["view"])
        frag = _Fragment(length, b, self.net.spec, view.shape, view.dtype)
        state0 = {k: v.clone() for k, v in self.state.items()}
        out = self.pending if self.pending is not None else self._act()
        for t in range(length):
            env_actions = frag.record_step(t, self.obs, self.starts, out)
            next_obs, rewards, terminated, truncated, info = self.env.step(env_actions)  # type: ignore[attr-defined]
            done = frag.record_outcome(t, rewards, np.logical_or(terminated, truncated), info)
            keep = (~done).to(torch.float32).reshape(1, b, 1)
            self.state = {k: v * keep for k, v in out.state.items()}
            self.starts = done.clone()
            self.obs = next_obs
            if t < length - 1 or not ends_episode:
                out = self._act()
        self.pending = None if ends_episode else out
        next_visible = torch.from_numpy(np.asarray(self.obs["visible"])).to(torch.float32)
        return frag.rollout(state0, self.pending, next_visible)


class _Fragment:
    """The time-major buffers of a fragment being collected, filled one step at a time."""

    def __init__(
        self,
        length: int,
        b: int,
        spec: NetSpec,
        view_shape: tuple[int, ...],
        view_dtype: np.dtype[Any] | None = None,
    ) -> None:
        n, a, m = spec.num_agents, spec.num_actions, spec.num_symbols
        self.b, self.n = b, n
        self.comm = spec.setting == "comm"
        # uint8 views (RGB, symbolic, codes); uint16 codes when there are more than 256.
        dtype = torch.from_numpy(np.zeros(0, dtype=view_dtype or np.uint8)).dtype
        self.views = torch.empty((length, *view_shape), dtype=dtype)
        self.starts = torch.empty((length, b), dtype=torch.bool)
        self.visible = torch.empty((length, b, n, n))
        self.actions = torch.empty((length, b, n), dtype=torch.long)
        self.logits = torch.empty((length, b, n, a))
        self.values = torch.empty((length, b, n))
        self.env_rewards = torch.empty((length, b, n))
        self.extrinsic = torch.empty((length, b, n))
        self.dones = torch.empty((length, b), dtype=torch.bool)
        comm = self.comm
        self.messages_in = torch.empty((length, b, n), dtype=torch.long) if comm else None
        self.messages = torch.empty((length, b, n), dtype=torch.long) if comm else None
        self.msg_logits = torch.empty((length, b, n, m)) if comm else None
        self.msg_values = torch.empty((length, b, n)) if comm else None
        self.moa_logits = torch.empty((length, b, n, n - 1, a)) if spec.setting == "moa" else None
        self.cf_list: list[Tensor] = []
        self.events: dict[str, list[np.ndarray]] = {}
        self.context: list[np.ndarray] = []

    def record_step(
        self, t: int, obs: dict[str, np.ndarray], starts: Tensor, out: ActOutput
    ) -> np.ndarray:
        """Store the observation and the agents' outputs at step t; returns the env's actions."""
        self.views[t] = torch.from_numpy(np.asarray(obs["view"]))
        self.visible[t] = torch.from_numpy(np.asarray(obs["visible"])).to(torch.float32)
        self.starts[t] = starts
        if "context" in obs:
            self.context.append(np.asarray(obs["context"], dtype=np.int64))
        self.actions[t] = out.actions
        self.logits[t] = out.logits
        self.values[t] = out.values
        if out.cf_logits is not None:
            self.cf_list.append(out.cf_logits)
        env_actions: np.ndarray = out.actions.numpy()
        if self.comm:
            assert self.messages_in is not None
            assert self.messages is not None
            assert self.msg_logits is not None
            assert self.msg_values is not None
            assert out.messages is not None
            assert out.message_logits is not None
            assert out.message_values is not None
            self.messages_in[t] = torch.from_numpy(np.asarray(obs["messages"], dtype=np.int64))
            self.messages[t] = out.messages
            self.msg_logits[t] = out.message_logits
            self.msg_values[t] = out.message_values
            env_actions = np.stack([env_actions, out.messages.numpy()], axis=-1)
        if self.moa_logits is not None and out.moa_logits is not None:
            self.moa_logits[t] = out.moa_logits
        return env_actions

    def record_outcome(self, t: int, rewards: Any, done: np.ndarray, info: Any) -> Tensor:
        """Store the env's rewards, events and episode ends of step t; returns ``dones[t]``."""
        self.env_rewards[t] = torch.from_numpy(np.asarray(rewards, dtype=np.float32))
        raw = info.get("extrinsic", rewards) if isinstance(info, dict) else rewards
        self.extrinsic[t] = torch.from_numpy(np.asarray(raw, dtype=np.float32))
        if isinstance(info, dict) and isinstance(info.get("events"), dict):
            for key, val in info["events"].items():
                self.events.setdefault(key, []).append(np.asarray(val))
        self.dones[t] = torch.from_numpy(done)
        return self.dones[t]

    def rollout(
        self, state0: dict[str, Tensor], pending: ActOutput | None, next_visible: Tensor
    ) -> Rollout:
        """The finished fragment; ``pending`` is the evaluation after its last step, if any."""
        b, n = self.b, self.n
        not_done = (~self.dones[-1]).to(torch.float32).reshape(b, 1)
        last_values = pending.values * not_done if pending is not None else torch.zeros(b, n)
        cf = None
        if self.cf_list:
            last_cf = pending.cf_logits if pending is not None else None
            self.cf_list.append(
                last_cf if last_cf is not None else torch.zeros_like(self.cf_list[-1])
            )
            cf = torch.stack(self.cf_list)
        rollout = Rollout(
            views=self.views,
            starts=self.starts,
            visible=self.visible,
            actions=self.actions,
            logits=self.logits,
            logp=log_prob(self.logits, self.actions),
            values=self.values,
            last_values=last_values,
            env_rewards=self.env_rewards,
            extrinsic=self.extrinsic,
            dones=self.dones,
            state0=state0,
            next_visible=next_visible,
            next_actions=None if pending is None else pending.actions,
            moa_logits=self.moa_logits,
            cf_logits=cf,
            events={k: np.stack(v) for k, v in self.events.items()},
            context=torch.from_numpy(np.stack(self.context)) if self.context else None,
        )
        if self.comm:
            assert self.msg_logits is not None
            assert self.messages is not None
            rollout.messages_in = self.messages_in
            rollout.messages = self.messages
            rollout.message_logits = self.msg_logits
            rollout.message_logp = log_prob(self.msg_logits, self.messages)
            rollout.message_values = self.msg_values
            rollout.last_message_values = (
                pending.message_values * not_done
                if pending is not None and pending.message_values is not None
                else torch.zeros(b, n)
            )
        return rollout


def next_step_actions(ro: Rollout) -> tuple[Tensor, Tensor]:
    """Actions at t+1 for every step t of a fragment, and whether they exist.

    Returns
    -------
    next_actions : int64 tensor of shape (T, B, N)
        ``actions[t+1]``, with the next evaluation's actions for the last step (0 where absent).
    exists : bool tensor of shape (T, B)
        False where the episode ends at t (or at the fragment end without a next evaluation).
    """
    t_len, b, n = ro.actions.shape
    last = ro.next_actions if ro.next_actions is not None else torch.zeros(b, n, dtype=torch.long)
    nxt = torch.cat([ro.actions[1:], last.unsqueeze(0)], dim=0)
    # The core's next-step rule on the fragment's rows, plus the next evaluation as row T
    # when there is one (then the last step has a successor unless its episode ended).
    dones = ro.dones.numpy()
    if ro.next_actions is not None:
        dones = np.concatenate([dones, np.zeros((1, b), dtype=bool)])
    valid = next_step_valid(as_episode_starts(dones.shape, dones=dones))[:t_len]
    return nxt, torch.from_numpy(valid)


# Long: docstring of 28 lines (the three settings' layouts, the options, the result); code 61
# lines.
def rollout_influence(
    ro: Rollout,
    spec: NetSpec,
    *,
    divergence: str = "kl",
    base: float | None = None,
    marginal: str = "policy",
) -> Tensor:
    """Pairwise influence of a fragment, credited to the step where k acted or spoke.

    The counterfactual logits of the setting are put in the core's pairwise layout and handed
    to :func:`causal_influence.rewards.credited_influence`, which owns the time alignment: the
    next evaluation after the fragment (row T of ``cf_logits``, its actions) serves as the
    bootstrap row of the last step, and nothing is credited at a step that ends an episode.

    Parameters
    ----------
    ro : Rollout
        Collected with counterfactuals.
    spec : NetSpec
    divergence : str or callable
        A name registered in :data:`causal_influence.divergences.DIVERGENCES` (or a callable
        ``f(log_p, log_q)``), as in :func:`causal_influence.rewards.credited_influence`.
    base : float, optional
        Logarithm base (None = nats).
    marginal : {"policy", "population"}
        Marginalisation weights: the influencer's policy at each step (the paper), or its
        policy averaged over the fragment (:func:`agents.influence_reward.population_logits`).

    Returns
    -------
    tensor of shape (T, B, N, N)
        ``out[t, b, k, j]``: basic, the influence of ``a^k_t`` on ``a^j_t``; comm, of
        ``m^k_t`` on ``a^j_{t+1}``; moa, of ``a^k_t`` on ``a^j_{t+1}`` as predicted by k's MOA.
        Not yet masked by visibility, clipped or weighted.
    """
    if ro.cf_logits is None:
        raise ShapeError("rollout_influence: the rollout was collected without counterfactuals")
    if marginal not in ("policy", "population"):
        raise ConfigError(f"marginal: expected 'policy' or 'population'; got {marginal!r}")

    def weights(logits: Tensor) -> Tensor:
        return logits if marginal == "policy" else population_logits(logits)

    t_len = ro.length
    n = spec.num_agents
    if spec.setting == "basic":
        ni = spec.num_influencers
        return credited_influence(
            basic_counterfactuals(ro.cf_logits[:t_len]),
            weights(ro.logits),
            ro.actions,
            alignment="same_step",
            divergence=divergence,
            influencers=list(range(ni)),
            influencees=list(range(ni, n)),
            influencee_actions=ro.actions,
            base=base,
        )
    if spec.setting not in ("comm", "moa"):
        raise ShapeError(f"setting {spec.setting!r} has no influence")
    nxt, has_next = next_step_actions(ro)
    # Actions by step, with the next evaluation's actions as row T (zeros when absent).
    actions_by_step = torch.cat([ro.actions[:1], nxt], dim=0)
    if spec.setting == "comm":
        assert ro.message_logits is not None
        assert ro.messages is not None
        # Row u of cf_logits is the listeners' policy at u (row T: the next evaluation).
        return credited_influence(
            message_counterfactuals(ro.cf_logits),
            weights(ro.message_logits),
            ro.messages,
            alignment="next_step",
            divergence=divergence,
            dones=~has_next,
            influencee_actions=actions_by_step,
            base=base,
        )
    return credited_influence(
        moa_counterfactuals(ro.cf_logits[:t_len]),
        weights(ro.logits),
        ro.actions,
        alignment="next_step",
        predicts_next_step=True,
        divergence=divergence,
        dones=~has_next,
        influencee_actions=actions_by_step,
        base=base,
    )
