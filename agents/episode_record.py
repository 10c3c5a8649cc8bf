"""Episodes of trained agents, recorded as :class:`EpisodeRecord` arrays and as trajectories.

A recording runs whole episodes of B envs with the agents' batched networks, evaluating the
setting's counterfactuals at every step, and returns one trajectory per env episode with the
actions, messages, rewards, policy and message logits, visibility, and the per-step pairwise
influence tensor ``(T, N, N)`` (row = influencer k, column = influencee j) credited to the
step where k acted or spoke, exactly as used for the training reward (before visibility
masking, clipping and weighting). Counterfactual logits in the core's pairwise layout
``(T, N, N, K, A)`` are included on request.

Trained agents come from a :class:`agents.trainer.TrainResult`, a network with its config, or a
checkpoint file or run directory (:func:`load_agents`, through :mod:`agents.checkpoint`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from agents.checkpoint import find_checkpoint, load_checkpoint
from agents.config import TrainConfig
from agents.influence_reward import (
    basic_counterfactuals,
    message_counterfactuals,
    moa_counterfactuals,
)
from agents.networks import MultiAgentNet
from agents.sampler import Rollout, Sampler, rollout_influence
from agents.trainer import TrainResult, episode_seed, make_net
from causal_influence.errors import ConfigError
from causal_influence.trajectory import InfluenceSpec
from envs.vector import VectorEnv

__all__ = ["EpisodeRecord", "load_agents", "record", "record_episodes", "save_recording"]


def load_agents(source: str | Path) -> tuple[MultiAgentNet, TrainConfig]:
    """The trained network and config from a checkpoint file or a run directory.

    A directory means its ``final.pt`` (else its latest ``checkpoints/ckpt_*.pt``).

    Raises
    ------
    ConfigError
        A directory without checkpoints.
    FileFormatError
        A missing or unusable checkpoint file (:func:`agents.checkpoint.load_checkpoint`).
    """
    state = load_checkpoint(find_checkpoint(source, prefer="final"))
    config = TrainConfig.from_json(state["config"])
    shape = tuple(int(s) for s in state["view_shape"])
    net = make_net(config, (shape[0], shape[1], shape[2]), int(state["num_actions"]))
    net.load_state_dict(state["model"])
    return net, config


def _cf_pairwise(ro: Rollout, net: MultiAgentNet) -> np.ndarray:
    """Counterfactual logits in the stored pairwise layout, (T, B, N, N, K, A).

    Row t is credited to the step of the influencer's value
    (:mod:`causal_influence.trajectory.influence_spec`): the same step for the basic setting;
    the influencees' policy at t + 1 for messages (the rollout's row t + 1) and the model of
    other agents' prediction of t + 1 made at t. The rollout covers one whole episode, so
    with next-step alignment its last row has no t + 1: absent (-inf).
    """
    assert ro.cf_logits is not None
    spec = net.spec
    t_len = ro.length
    if spec.setting == "basic":
        return basic_counterfactuals(ro.cf_logits[:t_len]).numpy()
    if spec.setting == "comm":
        pairwise = message_counterfactuals(ro.cf_logits[1 : t_len + 1]).numpy()
    else:
        pairwise = moa_counterfactuals(ro.cf_logits[:t_len]).numpy()
    pairwise[-1] = -np.inf
    return pairwise


@dataclass
class EpisodeRecord:
    """One recorded episode as plain arrays (time-major, agent second).

    Attributes
    ----------
    arrays : dict of numpy.ndarray
        ``actions`` (T, N) int64, ``rewards`` (T, N) float32 (the env's rewards), ``extrinsic``
        (T, N) float32 (raw reward events), ``logits`` (T, N, A), ``visible`` (T, N, N) bool
        (visibility in the observation at t), and when present ``context`` (T, N) int64 (the
        label each agent is shown at t, -1 for none: the signalling game's targets),
        ``messages`` (T, N),
        ``message_logits`` (T, N, M), ``moa_logits`` (T, N, N-1, A), ``influence`` (T, N, N)
        (row = influencer k, column = influencee j, credited to the step where k acted or
        spoke, nats unless the divergence is TV), ``counterfactual_logits`` (T, N, N, K, A).
    metadata : dict
        ``agent_ids``, ``action_names``, ``env``, ``map``, ``seed``, ``episode``, ``setting``
        and, with a context, ``num_contexts`` and ``context_names`` (from the game's
        configuration), and, in the settings with influence, ``influence_spec``
        (:class:`~causal_influence.trajectory.InfluenceSpec`: same-step influence of actions
        for "basic", next-step influence of messages for "comm" and of actions for "moa",
        with the recording's divergence, in nats).
    """

    arrays: dict[str, np.ndarray]
    metadata: dict[str, Any]


def _resolve(
    source: TrainResult | MultiAgentNet | str | Path, config: TrainConfig | None
) -> tuple[MultiAgentNet, TrainConfig]:
    if isinstance(source, TrainResult):
        return source.net, source.config
    if isinstance(source, MultiAgentNet):
        if config is None:
            raise ConfigError("record: pass the run's TrainConfig together with a network")
        return source, config
    return load_agents(source)


def record_episodes(
    source: TrainResult | MultiAgentNet | str | Path,
    config: TrainConfig | None = None,
    *,
    episodes: int = 1,
    seed: int = 0,
    greedy: bool = False,
    divergence: str | None = None,
    counterfactual_logits: bool = False,
) -> list[EpisodeRecord]:
    """Run ``episodes`` whole episodes of the trained agents side by side and record them.

    Parameters
    ----------
    source : TrainResult, MultiAgentNet, str or pathlib.Path
        The agents: a training result, a network (then ``config`` is required), or a
        checkpoint file / run directory.
    config : TrainConfig, optional
        The run's config (taken from ``source`` when it carries one).
    episodes : int
        Number of episodes, run in that many envs at once.
    seed : int
        Seeds the envs and the action sampling.
    greedy : bool
        Most likely actions and messages instead of samples.
    divergence : str, optional
        Divergence of the recorded influence, a name registered in
        :data:`causal_influence.divergences.DIVERGENCES` (default: the run's).
    counterfactual_logits : bool
        Also store the counterfactual logits in the core's pairwise layout.

    Returns
    -------
    list of EpisodeRecord
        One per episode, each of length ``config.env.max_cycles``.
    """
    net, config = _resolve(source, config)
    if episodes < 1:
        raise ConfigError(f"record: episodes must be positive; got {episodes}")
    env = VectorEnv(config.env, episodes, seed=episode_seed(seed, 0))
    sampler = Sampler(
        env,
        net,
        generator=torch.Generator().manual_seed(int(seed)),
        counterfactuals=net.spec.setting != "none",
        greedy=greedy,
    )
    sampler.reset(episode_seed(seed, 0))
    ro = sampler.collect(config.env.max_cycles, ends_episode=True)
    div = divergence or config.divergence
    pairwise = cf = None
    if net.spec.setting != "none":
        pairwise = rollout_influence(ro, net.spec, divergence=div).numpy()
        if counterfactual_logits:
            cf = _cf_pairwise(ro, net)
    records = [
        EpisodeRecord(
            _episode_arrays(ro, b, pairwise, cf),
            _episode_metadata(config, seed=seed, episode=b, divergence=div),
        )
        for b in range(episodes)
    ]
    if ro.context is not None:
        contexts = _context_metadata(config, ro.context)
        for rec in records:
            rec.metadata.update(contexts)
    return records


def _context_metadata(config: TrainConfig, context: torch.Tensor) -> dict[str, Any]:
    """``num_contexts`` and ``context_names`` of a recording with a context: the game's
    (its configuration's ``num_contexts`` / ``context_names``), else the labels seen + 1.

    Raises
    ------
    ConfigError
        When the game's configuration declares fewer labels than the context holds.
    """
    seen = int(context.max()) + 1 if context.numel() else 0
    names = getattr(config.env, "context_names", None)
    count = getattr(config.env, "num_contexts", None)
    if count is None:
        count = len(names) if names is not None else seen
    if seen > int(count):
        raise ConfigError(
            f"record: the game's observations hold context labels up to {seen - 1}, but its "
            f"configuration declares num_contexts={count}"
        )
    out: dict[str, Any] = {"num_contexts": int(count)}
    if names is not None:
        out["context_names"] = list(names)
    return out


def _episode_arrays(
    ro: Rollout, b: int, pairwise: np.ndarray | None, cf: np.ndarray | None
) -> dict[str, np.ndarray]:
    """The arrays of env ``b``'s episode in a whole-episode fragment (see EpisodeRecord)."""
    arrays: dict[str, np.ndarray] = {
        "actions": ro.actions[:, b].numpy(),
        "rewards": ro.env_rewards[:, b].numpy(),
        "extrinsic": ro.extrinsic[:, b].numpy(),
        "logits": ro.logits[:, b].numpy(),
        "visible": ro.visible[:, b].numpy().astype(bool),
    }
    if ro.context is not None:
        arrays["context"] = ro.context[:, b].numpy()
    if ro.messages is not None and ro.message_logits is not None:
        arrays["messages"] = ro.messages[:, b].numpy()
        arrays["message_logits"] = ro.message_logits[:, b].numpy()
    if ro.moa_logits is not None:
        arrays["moa_logits"] = ro.moa_logits[:, b].numpy()
    if pairwise is not None:
        arrays["influence"] = pairwise[:, b]
    if cf is not None:
        arrays["counterfactual_logits"] = cf[:, b]
    return arrays


#: (alignment, variable) of the influence each setting records.
_INFLUENCE = {
    "basic": ("same_step", "actions"),
    "comm": ("next_step", "messages"),
    "moa": ("next_step", "actions"),
}


def _episode_metadata(
    config: TrainConfig, *, seed: int, episode: int, divergence: str
) -> dict[str, Any]:
    """The metadata of one recorded episode (see EpisodeRecord)."""
    meta: dict[str, Any] = {
        "agent_ids": [f"agent_{i}" for i in range(config.env.num_agents)],
        "action_names": list(config.env.action_names),
        "env": config.env.game,
        "map": getattr(config.env, "map_name", None),  # gridworld games only
        "seed": int(seed),
        "episode": episode,
        "setting": config.setting,
    }
    if config.setting in _INFLUENCE:
        alignment, variable = _INFLUENCE[config.setting]
        meta["influence_spec"] = InfluenceSpec(
            alignment=alignment, variable=variable, divergence=divergence
        )
    return meta


def record(
    source: TrainResult | MultiAgentNet | str | Path,
    config: TrainConfig | None = None,
    *,
    episodes: int = 1,
    seed: int = 0,
    greedy: bool = False,
    divergence: str | None = None,
    counterfactual_logits: bool = False,
) -> list[Any]:
    """Record episodes of the trained agents as ``causal_influence.trajectory.Trajectory``.

    Same parameters as :func:`record_episodes`; each :class:`EpisodeRecord` becomes one
    Trajectory built from its arrays and metadata.
    """
    from causal_influence.trajectory import Trajectory

    records = record_episodes(
        source,
        config,
        episodes=episodes,
        seed=seed,
        greedy=greedy,
        divergence=divergence,
        counterfactual_logits=counterfactual_logits,
    )
    out = []
    for rec in records:
        arrays = {k: v for k, v in rec.arrays.items() if k not in ("extrinsic", "moa_logits")}
        # Episode b of the batch keeps its own id, so the files concatenate without renumbering.
        ids = np.full(len(rec.arrays["actions"]), rec.metadata["episode"], dtype=np.int64)
        out.append(
            Trajectory(**cast("dict[str, Any]", arrays), episode_ids=ids, metadata=rec.metadata)
        )
    return out


def save_recording(
    trajectories: Sequence[Any], directory: str | Path, *, fmt: str = "npz"
) -> list[Path]:
    """Save trajectories with :mod:`causal_influence.io`, one file per episode."""
    import causal_influence.io as ci_io

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, traj in enumerate(trajectories):
        path = directory / f"episode_{i:04d}.{fmt}"
        ci_io.save(traj, path)
        paths.append(path)
    return paths
