"""RLlib plug point (new API stack): record multi-agent episodes, add the influence reward.

RLlib's env runners store, for every agent and step of a ``MultiAgentEpisode``, the action, the
reward and every extra output of the agent's ``RLModule`` forward pass: PPO's modules write
their policy logits under ``"action_dist_inputs"``. A module that can also tell how its logits
would change had another agent's value been different writes them under
``"counterfactual_logits"``, one array per step of shape ``(N, K, A_j)``::

    out["counterfactual_logits"][k, c, :] = this agent j's logits had agent k's value been c

with agents ``k`` in the episode's agent order (or ``agent_ids``), ``K`` at least the number
of values of each agent the module reads (rows past an agent's count are ignored) and zeros
for agents whose value it does not read. RLlib agents act simultaneously, so an agent's module
sees the others' values of the *previous* step in its observation: these are next-step
counterfactuals (``alignment="next_step"``, ``docs/metrics.md``, "Time alignment"): row t is
j's policy at t with k's value of t-1 replaced, credited to t-1.

Three pieces, none of which this package's core imports:

:func:`influence_recorder`
    An ``RLlibCallback`` class whose ``on_episode_end`` turns each finished episode (all its
    chunks) into a :class:`~causal_influence.Trajectory` with the policies' logits, the
    counterfactual logits and the pairwise influence computed from them, kept in memory or
    saved as one Parquet file per episode for :mod:`analysis`.
:func:`influence_reward_connector`
    A learner ``ConnectorV2`` piece adding ``influence_coef`` times the influence reward to
    the episodes' rewards. Custom learner connectors run at the start of the learner pipeline,
    after PPO's ``AddOneTsToEpisodesAndTruncate`` and before the batch is built and GAE runs,
    so the advantages see the shaped rewards; it runs on the learner for every episode of the
    train batch whatever the number of env runners, and it never changes the returns that the
    env runners log (they stay extrinsic). A callback on the sampled batch
    (``on_sample_end``) would also land before the advantages, but it would change the
    episodes the env runners also use for their metrics.
:func:`read_episodes`
    Episodes RLlib gave you or saved: ``MultiAgentEpisode`` objects, or their
    ``get_state()`` dicts (what RLlib serialises), to one :class:`~causal_influence.Trajectory`.

Agents with different action counts (a speaker with 3 symbols, a listener with 5 moves) are
laid side by side with their logits padded by ``-inf`` (a padded value has probability 0).

Examples
--------
>>> import numpy as np
>>> from ray.rllib.env.multi_agent_episode import MultiAgentEpisode
>>> from agents.rllib import episode_arrays, read_episodes
>>> heard = np.full((2, 3, 5), 0.0)
>>> heard[0] = np.where(np.eye(3, 5) > 0, 0.0, -np.inf)  # the listener goes where it is told
>>> ep = MultiAgentEpisode()
>>> ep.add_env_reset(observations={"speaker": 0, "listener": 0})
>>> for t, said in enumerate([0, 2, 1]):
...     ep.add_env_step(
...         observations={"speaker": 0, "listener": 0},
...         actions={"speaker": said, "listener": [0, 0, 2][t]},
...         rewards={"speaker": 0.0, "listener": 0.0},
...         terminateds={"__all__": t == 2},
...         extra_model_outputs={
...             "speaker": {"action_dist_inputs": np.zeros(3)},
...             "listener": {"action_dist_inputs": np.zeros(5), "counterfactual_logits": heard},
...         })
>>> episode_arrays(ep)["logits"]["listener"].shape
(3, 5)
>>> traj = read_episodes([ep])
>>> traj.influence[:, 0, 1].round(4)  # speaker -> listener: ln 3 for each message heard
array([1.0986, 1.0986, 0.    ])
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from causal_influence.errors import ConfigError, ShapeError, describe
from causal_influence.rewards import credited_influence
from causal_influence.trajectory import InfluenceSpec, Trajectory, concat, stored_counterfactuals

__all__ = [
    "COUNTERFACTUAL_LOGITS",
    "LOGITS",
    "episode_arrays",
    "episode_influence",
    "episodes_to_trajectory",
    "influence_recorder",
    "influence_reward_connector",
    "read_episodes",
]

LOGITS = "action_dist_inputs"  # ray.rllib.core.columns.Columns.ACTION_DIST_INPUTS
COUNTERFACTUAL_LOGITS = "counterfactual_logits"


def _as_episode(episode: Any) -> Any:
    if isinstance(episode, Mapping):  # a get_state() dict
        from ray.rllib.env.multi_agent_episode import MultiAgentEpisode

        return MultiAgentEpisode.from_state(dict(episode))
    if not hasattr(episode, "agent_episodes"):
        raise ConfigError(
            f"episode: expected a ray.rllib MultiAgentEpisode or its get_state() dict; got "
            f"{describe(episode)}; single-agent episodes have no influence to measure"
        )
    return episode


def episode_arrays(
    episode: Any,
    *,
    agent_ids: Sequence[str] | None = None,
    logits_key: str = LOGITS,
    counterfactual_key: str = COUNTERFACTUAL_LOGITS,
    drop_last: bool = False,
) -> dict[str, Any]:
    """The per-agent arrays of one RLlib multi-agent episode (or episode chunk).

    Parameters
    ----------
    episode : ray.rllib.env.multi_agent_episode.MultiAgentEpisode or dict
        The episode, or its ``get_state()`` dict. Every agent must act at every step (a
        parallel env).
    agent_ids : sequence of str, optional
        Agents and their order (default: the order in which they joined the episode).
    logits_key, counterfactual_key : str
        Extra model outputs holding each agent's logits (``(A_i,)`` per step) and its
        counterfactual logits (``(N, K, A_i)`` per step, optional; module docstring).
    drop_last : bool, default False
        Drop each agent's last step (the bootstrap step RLlib's learner pipeline appends).

    Returns
    -------
    dict
        ``agent_ids`` (list), ``actions``, ``rewards`` and ``logits`` (dicts of per-agent
        arrays of shapes (T,), (T,), (T, A_i)), ``counterfactual_logits`` (dict of
        (T, N, K, A_i) for the agents whose module wrote them), ``terminated`` (bool).

    Raises
    ------
    ConfigError
        Unknown agent ids, or agents with different numbers of steps (turn-based envs).
    """
    episode = _as_episode(episode)
    present = list(episode.agent_episodes)
    ids = present if agent_ids is None else [str(a) for a in agent_ids]
    missing = [a for a in ids if a not in episode.agent_episodes]
    if missing:
        raise ConfigError(
            f"agent_ids: expected agents of the episode {present}; got unknown {missing}"
        )
    out: dict[str, Any] = {
        "agent_ids": ids,
        "actions": {},
        "rewards": {},
        "logits": {},
        "counterfactual_logits": {},
        "terminated": bool(episode.is_terminated),
    }
    lengths = {}
    for aid in ids:
        sa = episode.agent_episodes[aid]
        stop = len(sa) - 1 if drop_last else len(sa)
        lengths[aid] = stop
        out["actions"][aid] = np.asarray(sa.get_actions(), dtype=np.int64).reshape(-1)[:stop]
        out["rewards"][aid] = np.asarray(sa.get_rewards(), dtype=np.float64)[:stop]
        keys = set(sa.extra_model_outputs)
        if logits_key not in keys:
            raise ConfigError(
                f"episode: expected the logits of agent {aid!r} under extra model output "
                f"{logits_key!r}; got outputs {sorted(keys)}; return them from the RLModule's "
                f"forward pass (PPO's modules do) or pass logits_key="
            )
        out["logits"][aid] = np.asarray(sa.get_extra_model_outputs(logits_key), dtype=np.float64)[
            :stop
        ]
        if counterfactual_key in keys:
            out["counterfactual_logits"][aid] = np.asarray(
                sa.get_extra_model_outputs(counterfactual_key), dtype=np.float64
            )[:stop]
    if len(set(lengths.values())) > 1:
        raise ConfigError(
            f"episode: expected every agent to act at every step (a parallel env); got steps "
            f"per agent {lengths}; turn-based episodes are not supported"
        )
    return out


def _stacked(arrays: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Padded logits (T, N, K), actions (T, N) and counterfactual logits (T, N, N, K, A)."""
    ids = list(arrays["agent_ids"])
    n = len(ids)
    t = len(arrays["actions"][ids[0]])
    widths = [int(arrays["logits"][a].shape[-1]) for a in ids]
    k = max(widths)
    logits = np.full((t, n, k), -np.inf)
    for i, a in enumerate(ids):
        logits[:, i, : widths[i]] = arrays["logits"][a].reshape(t, widths[i])
    actions = np.stack([arrays["actions"][a] for a in ids], axis=1)
    given = arrays["counterfactual_logits"]
    if not given:
        return logits, actions, None
    a_max = max(int(v.shape[-1]) for v in given.values())
    cf = np.zeros((t, n, n, k, a_max))
    for j, a in enumerate(ids):
        if a not in given:
            continue
        value = given[a]
        if value.ndim != 4 or value.shape[:2] != (t, n):
            raise ShapeError(
                f"counterfactual logits of agent {a!r}: expected per step an array of shape "
                f"(N={n}, K, A) ([k, c, :]: {a!r}'s logits had agent k's value been c); got "
                f"{describe(value)} over {t} steps"
            )
        kc, width = int(value.shape[2]), int(value.shape[3])
        cf[:, :, j, :, width:] = -np.inf  # this influencee's padded actions
        for i in range(n):
            if widths[i] <= kc:
                cf[:, i, j, : widths[i], :width] = value[:, i, : widths[i]]
            elif np.any(value[:, i] != 0):
                raise ShapeError(
                    f"counterfactual logits of agent {a!r}: expected rows for each of the "
                    f"{widths[i]} values of agent {ids[i]!r} (K >= {widths[i]}), or zeros when "
                    f"{a!r} does not read its value; got K = {kc}"
                )
    return logits, actions, cf


def episode_influence(
    episode: Any,
    *,
    alignment: str = "next_step",
    divergence: str = "kl",
    influencers: Sequence[int] | None = None,
    base: float | None = None,
    **options: Any,
) -> np.ndarray | None:
    """Pairwise influence of one episode from the counterfactual logits its modules wrote.

    Parameters
    ----------
    episode : MultiAgentEpisode, its state dict, or the dict of :func:`episode_arrays`
    alignment : {"next_step", "same_step"}, default "next_step"
        RLlib modules see the others' previous values: next step (module docstring).
    divergence, influencers, base
        As in :func:`causal_influence.rewards.credited_influence`.
    **options
        Passed to :func:`episode_arrays` (``agent_ids``, keys, ``drop_last``).

    Returns
    -------
    numpy.ndarray of shape (T, N, N) or None
        ``[t, k, j]``: influence of k's value at t on j, credited to t (0 at the chunk's last
        step); None when no module wrote counterfactual logits.
    """
    arrays = (
        episode
        if isinstance(episode, Mapping) and "agent_ids" in episode
        else episode_arrays(episode, **options)
    )
    logits, actions, cf = _stacked(arrays)
    if cf is None:
        return None
    out: np.ndarray = credited_influence(
        cf,
        logits,
        actions,
        alignment=alignment,
        divergence=divergence,
        influencers=influencers,
        base=base,
    )
    return out


def episodes_to_trajectory(
    episodes: Iterable[Any],
    *,
    agent_ids: Sequence[str] | None = None,
    alignment: str = "next_step",
    logits_key: str = LOGITS,
    counterfactual_key: str = COUNTERFACTUAL_LOGITS,
    **meta: Any,
) -> Trajectory:
    """Chunks of one episode, in order, to a :class:`~causal_influence.Trajectory`.

    Parameters
    ----------
    episodes : iterable of MultiAgentEpisode or state dicts
        The chunks of one episode (``[*prev_episode_chunks, episode]`` in ``on_episode_end``).
    agent_ids, logits_key, counterfactual_key
        As in :func:`episode_arrays`.
    alignment : {"next_step", "same_step"}
        Of the counterfactual logits (module docstring).
    **meta
        Trajectory metadata (``env_name=...``, ``seed=...``).

    Returns
    -------
    causal_influence.Trajectory
        Logits padded with -inf to the widest agent; ``counterfactual_logits`` and
        ``influence`` when the modules wrote counterfactual logits.
    """
    parts = [
        episode_arrays(
            ep, agent_ids=agent_ids, logits_key=logits_key, counterfactual_key=counterfactual_key
        )
        for ep in episodes
    ]
    if not parts:
        raise ConfigError("episodes: expected at least one episode chunk; got none")
    ids = parts[0]["agent_ids"]
    stacked = [_stacked(p) for p in parts]
    logits = np.concatenate([s[0] for s in stacked])
    actions = np.concatenate([s[1] for s in stacked])
    rewards = np.concatenate([np.stack([p["rewards"][a] for a in ids], axis=1) for p in parts])
    data: dict[str, Any] = {"actions": actions, "rewards": rewards, "logits": logits}
    cfs = [s[2] for s in stacked]
    if all(cf is not None for cf in cfs):
        widths = {cf.shape[-1] for cf in cfs if cf is not None}
        if len(widths) == 1:
            cf_all = np.concatenate([cf for cf in cfs if cf is not None])
            # stored layout: row t is the influencer's value at t (next-step rows move back)
            data["counterfactual_logits"] = stored_counterfactuals(cf_all, alignment=alignment)
            data["influence"] = credited_influence(cf_all, logits, actions, alignment=alignment)
            meta.setdefault("influence_spec", InfluenceSpec(alignment=alignment))
    meta.setdefault("agent_ids", tuple(ids))
    meta.setdefault("num_actions", int(logits.shape[-1]))
    return Trajectory.from_arrays(data, **meta)


def read_episodes(episodes: Iterable[Any] | Any, **options: Any) -> Trajectory:
    """Episodes RLlib gave you or saved, to one trajectory (one episode id per episode).

    Parameters
    ----------
    episodes : MultiAgentEpisode, state dict, or an iterable of them
        Whole episodes (chunks of one episode: :func:`episodes_to_trajectory`).
    **options
        As in :func:`episodes_to_trajectory`.

    Returns
    -------
    causal_influence.Trajectory
    """
    if isinstance(episodes, Mapping) or hasattr(episodes, "agent_episodes"):
        episodes = [episodes]
    trajs = [episodes_to_trajectory([ep], **options) for ep in episodes]
    if not trajs:
        raise ConfigError("episodes: expected at least one episode; got none")
    return concat(trajs, renumber=True)


def influence_recorder(out_dir: str | os.PathLike[str] | None = None, **options: Any) -> type:
    """An ``RLlibCallback`` class recording every finished episode as a trajectory.

    Parameters
    ----------
    out_dir : path, optional
        Directory receiving one Parquet file per episode (works with remote env runners; the
        directory reads as one dataset in :func:`analysis.stats.analyze`). None: trajectories
        are kept in the class attribute ``trajectories`` (env runners in this process only,
        i.e. ``num_env_runners=0``).
    **options
        Passed to :func:`episodes_to_trajectory` (``agent_ids``, ``alignment``,
        ``env_name``, keys).

    Returns
    -------
    type
        A subclass of ``ray.rllib.callbacks.callbacks.RLlibCallback``, for
        ``config.callbacks(influence_recorder("episodes/"))``.
    """
    from ray.rllib.callbacks.callbacks import RLlibCallback

    directory = None if out_dir is None else Path(out_dir)

    class InfluenceRecorder(RLlibCallback):
        """Records each finished multi-agent episode (all chunks) as a Trajectory."""

        trajectories: ClassVar[list[Trajectory]] = []

        def on_episode_end(
            self,
            *,
            episode: Any,
            prev_episode_chunks: list[Any] | None = None,
            env_runner: Any = None,
            **kwargs: Any,
        ) -> None:
            chunks = [*(prev_episode_chunks or []), episode]
            traj = episodes_to_trajectory(chunks, **options)
            if directory is None:
                type(self).trajectories.append(traj)
                return
            from causal_influence.io import save

            directory.mkdir(parents=True, exist_ok=True)
            worker = getattr(env_runner, "worker_index", 0)
            save(traj, directory / f"episode_w{worker:03d}_{episode.id_}.parquet")

    return InfluenceRecorder


def add_influence_to_episode(
    episode: Any,
    *,
    influence_coef: float,
    drop_last: bool = False,
    **options: Any,
) -> np.ndarray | None:
    """Add ``influence_coef`` times each agent's influence reward to its rewards, in place.

    Returns the unweighted reward (T, N), or None when no counterfactual logits were written.
    """
    keys = {"agent_ids", "logits_key", "counterfactual_key"}
    arrays = episode_arrays(
        episode, drop_last=drop_last, **{k: v for k, v in options.items() if k in keys}
    )
    rest = {k: v for k, v in options.items() if k not in keys}
    pairwise = episode_influence(arrays, **rest)
    if pairwise is None:
        return None
    reward = pairwise.sum(axis=-1)
    for i, aid in enumerate(arrays["agent_ids"]):
        sa = episode.agent_episodes[aid]
        t = len(arrays["rewards"][aid])
        sa.set_rewards(
            new_data=arrays["rewards"][aid] + influence_coef * reward[:, i],
            at_indices=list(range(t)),
        )
    return reward


def influence_reward_connector(*, influence_coef: float, **options: Any) -> Callable[..., Any]:
    """A learner connector builder adding the influence reward before the advantages.

    Parameters
    ----------
    influence_coef : float
        Weight of the influence reward (beta of Jaques et al. 2019).
    **options
        ``agent_ids``, ``logits_key``, ``counterfactual_key``, ``alignment``,
        ``divergence``, ``influencers``, ``base`` (:func:`episode_influence`).

    Returns
    -------
    callable
        ``(observation_space, action_space) -> ConnectorV2``, for
        ``config.learners(learner_connector=influence_reward_connector(influence_coef=0.1))``.
    """
    from ray.rllib.connectors.connector_v2 import ConnectorV2

    class InfluenceRewardConnector(ConnectorV2):
        """Adds the influence reward to the episodes' rewards (module docstring)."""

        def __call__(
            self,
            *,
            rl_module: Any,
            batch: dict[str, Any],
            episodes: list[Any],
            explore: bool | None = None,
            shared_data: dict[str, Any] | None = None,
            **kwargs: Any,
        ) -> Any:
            # PPO's AddOneTsToEpisodesAndTruncate ran first: skip the bootstrap step it added.
            phantom = bool(shared_data and shared_data.get("_added_loss_mask_for_valid_episode_ts"))
            for ep in episodes:
                add_influence_to_episode(
                    ep, influence_coef=influence_coef, drop_last=phantom, **options
                )
            return batch

    def build(input_observation_space: Any = None, input_action_space: Any = None) -> Any:
        return InfluenceRewardConnector(input_observation_space, input_action_space)

    return build
