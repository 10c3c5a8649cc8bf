"""Episode statistics: per-agent counters and the social outcomes of each episode.

The social-outcome formulas (utilitarian, equality, sustainability, peace) live in
:mod:`causal_influence.social`; this module records what they need while envs run and adds the
event counters (apples eaten, FIRE uses, hits taken and given, cells cleaned, timeouts).

Examples
--------
>>> import numpy as np
>>> from envs.episode_stats import episode_statistics
>>> rewards = np.array([[1.0, 0.0], [0.0, 1.0]])
>>> stats = episode_statistics(rewards, {"apples": np.array([[1, 0], [0, 1]])})
>>> stats["collective_return"], stats["apples"]
(2.0, [1, 1])
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from causal_influence.errors import EstimatorWarning, ShapeError, describe
from causal_influence.social import social_outcomes
from envs.grid_rules import EVENT_NAMES

__all__ = ["EpisodeRecorder", "episode_statistics"]

OUTCOMES = ("collective_return", "utilitarian", "equality", "sustainability", "peace")


def episode_statistics(
    rewards: Any, events: dict[str, Any] | None = None, *, one_based_time: bool = False
) -> dict[str, Any]:
    """Statistics of one recorded episode.

    Parameters
    ----------
    rewards : array_like of shape (T, N)
        Extrinsic rewards per step and agent.
    events : dict of str to array_like of shape (T, N), optional
        Event counters per step (as in ``StepResult.events``); ``"timeout"`` feeds the peace
        metric.
    one_based_time : bool
        Time convention of the sustainability metric.

    Returns
    -------
    dict
        The social outcomes (floats; ``equality`` is NaN when the collective return is <= 0),
        ``returns`` (list per agent) and, per event name, the
        per-agent totals (lists).
    """
    r = np.asarray(rewards, dtype=np.float64)
    if r.ndim != 2:
        raise ShapeError(f"rewards: expected shape (T, N); got {describe(r)}")
    events = events or {}
    timeouts = events.get("timeout")
    with warnings.catch_warnings():
        # A collective return <= 0 (fines) leaves equality undefined: reported as NaN.
        warnings.simplefilter("ignore", EstimatorWarning)
        row = social_outcomes(r, timeouts=timeouts, one_based_time=one_based_time).iloc[0]
    out: dict[str, Any] = {name: float(row[name]) for name in OUTCOMES}
    out["length"] = int(r.shape[0])
    out["returns"] = r.sum(axis=0).tolist()
    for name, values in events.items():
        arr = np.asarray(values)
        if arr.shape != r.shape:
            raise ShapeError(f"events[{name!r}]: expected shape {r.shape}; got {describe(arr)}")
        out[name] = arr.sum(axis=0).astype(int).tolist()
    return out


class EpisodeRecorder:
    """Accumulates rewards and events of B environments until their episodes end.

    Parameters
    ----------
    num_envs, num_agents : int
    max_steps : int
        Longest episode (the buffer length).
    event_names : sequence of str
        Names of the engine's event counters, in the order of its ``event_array`` (default:
        the gridworld counters of :data:`envs.grid_rules.EVENT_NAMES`).
    """

    def __init__(
        self,
        num_envs: int,
        num_agents: int,
        max_steps: int,
        *,
        event_names: Sequence[str] = EVENT_NAMES,
    ) -> None:
        self.names = tuple(event_names)
        self.rewards = np.zeros((num_envs, max_steps, num_agents), dtype=np.float64)
        self.events = np.zeros((num_envs, max_steps, len(self.names), num_agents), np.int32)
        self.lengths = np.zeros(num_envs, dtype=np.int64)
        self.max_steps = max_steps
        self._idx = np.arange(num_envs)

    def add(self, extrinsic: np.ndarray, event_array: np.ndarray) -> None:
        """Record one step of every environment (``event_array`` of shape (B, E, N))."""
        t = np.minimum(self.lengths, self.max_steps - 1)
        self.rewards[self._idx, t] = extrinsic
        self.events[self._idx, t] = event_array
        self.lengths += 1

    def finish(self, env_index: int) -> dict[str, Any]:
        """Statistics of env ``env_index``'s finished episode; clears its buffer."""
        return self.finish_many([env_index])[0]

    def finish_many(self, env_indices: Sequence[int]) -> list[dict[str, Any]]:
        """Statistics of several finished episodes, in the order given; clears their buffers.

        The same dicts as :func:`episode_statistics` of each episode, computed in one pass
        (one call of :func:`causal_influence.social.social_outcomes` for all of them: batched
        envs of short episodes finish together, and one call per env cost a sixth of a
        training update on the signalling game).
        """
        ids = [int(b) for b in env_indices]
        if not ids:
            return []
        lengths = [int(min(self.lengths[b], self.max_steps)) for b in ids]
        if min(lengths) == 0:
            raise ShapeError(f"finish_many: an episode of env(s) {ids} has no step recorded")
        rewards = np.concatenate([self.rewards[b, :t] for b, t in zip(ids, lengths, strict=True)])
        episode_ids = np.repeat(np.arange(len(ids)), lengths)
        timeouts = None
        if "timeout" in self.names:
            k = self.names.index("timeout")
            timeouts = np.concatenate(
                [self.events[b, :t, k] for b, t in zip(ids, lengths, strict=True)]
            )
        with warnings.catch_warnings():
            # A collective return <= 0 (fines) leaves equality undefined: reported as NaN.
            warnings.simplefilter("ignore", EstimatorWarning)
            frame = social_outcomes(rewards, timeouts=timeouts, episode_ids=episode_ids)
        out = []
        for row, b, t in zip(frame.itertuples(index=False), ids, lengths, strict=True):
            stats: dict[str, Any] = {name: float(getattr(row, name)) for name in OUTCOMES}
            stats["length"] = t
            stats["returns"] = self.rewards[b, :t].sum(axis=0).tolist()
            for k, name in enumerate(self.names):
                stats[name] = self.events[b, :t, k].sum(axis=0).astype(int).tolist()
            out.append(stats)
            self.lengths[b] = 0
        return out
