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
        t = int(min(self.lengths[env_index], self.max_steps))
        stats = episode_statistics(
            self.rewards[env_index, :t],
            {name: self.events[env_index, :t, k] for k, name in enumerate(self.names)},
        )
        self.lengths[env_index] = 0
        return stats
