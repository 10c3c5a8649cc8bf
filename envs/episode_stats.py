"""Episode statistics: per-agent counters and the social outcomes of each episode.

The social-outcome formulas (utilitarian, equality, sustainability, peace) live in
:mod:`causal_influence.social`; this module records what they need while envs run and adds the
event counters (apples eaten, FIRE uses, hits taken and given, cells cleaned, timeouts). When
episodes end, the outcomes of every finished environment are computed in one call of
:func:`causal_influence.social.episode_outcomes` on the recorded arrays (no pandas on the
stepping path).

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
from causal_influence.social import OUTCOMES, OutcomeSums, episode_outcomes
from envs.grid_rules import EVENT_NAMES

__all__ = ["EpisodeBuffer", "EpisodeRecorder", "episode_statistics"]


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
    if r.ndim != 2 or r.shape[0] == 0:
        raise ShapeError(f"rewards: expected shape (T, N); got {describe(r)}")
    events = events or {}
    arrays = {}
    for name, values in events.items():
        arr = np.asarray(values)
        if arr.shape != r.shape:
            raise ShapeError(f"events[{name!r}]: expected shape {r.shape}; got {describe(arr)}")
        arrays[name] = arr
    timeouts = arrays.get("timeout")
    with warnings.catch_warnings():
        # A collective return <= 0 (fines) leaves equality undefined: reported as NaN.
        warnings.simplefilter("ignore", EstimatorWarning)
        values = episode_outcomes(
            r[None],
            timeouts=None if timeouts is None else timeouts[None],
            one_based_time=one_based_time,
        )
    return _as_dicts(values, {name: arr.sum(axis=0)[None] for name, arr in arrays.items()})[0]


def _as_dicts(values: dict[str, np.ndarray], totals: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """One statistics dict per episode from :func:`causal_influence.social.episode_outcomes`'
    arrays and the event totals (E, N) by name."""
    columns = {name: values[name].tolist() for name in OUTCOMES}
    returns = values["returns"].tolist()
    counts = {name: np.asarray(arr).astype(int).tolist() for name, arr in totals.items()}
    out = []
    for e, length in enumerate(values["length"].tolist()):
        stats: dict[str, Any] = {name: columns[name][e] for name in OUTCOMES}
        stats["length"] = int(length)
        stats["returns"] = returns[e]
        for name, per_episode in counts.items():
            stats[name] = per_episode[e]
        out.append(stats)
    return out


class EpisodeRecorder:
    """Accumulates rewards and events of B environments until their episodes end.

    Nothing is stored per step: each step adds to running sums (per-agent returns, event
    totals and the sums the social outcomes need, :class:`causal_influence.social.OutcomeSums`),
    so recording costs a few element-wise operations on (B, N) arrays and finishing an
    episode is O(N).

    Parameters
    ----------
    num_envs, num_agents : int
    max_steps : int, optional
        The longest episode. Not needed any more (nothing is buffered per step); accepted so
        that existing calls keep working.
    event_names : sequence of str
        Names of the engine's event counters, in the order of its ``event_array`` (default:
        the gridworld counters of :data:`envs.grid_rules.EVENT_NAMES`); ``"timeout"`` feeds the
        peace metric.

    Attributes
    ----------
    lengths : numpy.ndarray of int64, shape (B,)
        Steps recorded in each env's current episode; setting an entry to 0 starts that env's
        episode afresh at its next step.

    Examples
    --------
    >>> import numpy as np
    >>> rec = EpisodeRecorder(2, 2, event_names=("apples",))
    >>> rec.add(np.array([[1.0, 0.0], [0.0, 0.0]]), np.array([[[1, 0]], [[0, 0]]]))
    >>> rec.add(np.array([[0.0, 1.0], [1.0, 1.0]]), np.array([[[0, 1]], [[1, 1]]]))
    >>> [(s["utilitarian"], s["apples"]) for s in rec.finish_many([0, 1])]
    [(1.0, [1, 1]), (1.0, [1, 1])]
    """

    def __init__(
        self,
        num_envs: int,
        num_agents: int,
        max_steps: int | None = None,
        *,
        event_names: Sequence[str] = EVENT_NAMES,
    ) -> None:
        self.names = tuple(event_names)
        self.max_steps = max_steps
        self._sums = OutcomeSums(num_envs, num_agents)
        self.lengths = self._sums.lengths
        self._totals = np.zeros((num_envs, len(self.names), num_agents), dtype=np.int64)
        self._timeout = self.names.index("timeout") if "timeout" in self.names else None

    def add(self, extrinsic: np.ndarray, event_array: np.ndarray) -> None:
        """Record one step of every environment (``extrinsic`` (B, N), ``event_array`` of
        shape (B, E, N))."""
        if not self.lengths.all():
            self._totals[self.lengths == 0] = 0
        self._totals += event_array
        timeouts = None if self._timeout is None else event_array[:, self._timeout]
        self._sums.add(extrinsic, timeouts)

    def finish(self, env_index: int) -> dict[str, Any]:
        """Statistics of env ``env_index``'s finished episode; clears its sums."""
        return self.finish_many([env_index])[0]

    def finish_many(self, env_indices: Sequence[int] | np.ndarray) -> list[dict[str, Any]]:
        """Statistics of the finished episodes of several envs, computed in one batch; clears
        their sums.

        Parameters
        ----------
        env_indices : sequence of int

        Returns
        -------
        list of dict
            One :func:`episode_statistics` dict per env, in the order given.
        """
        ids = np.asarray(env_indices, dtype=np.int64).reshape(-1)
        if ids.size == 0:
            return []
        if np.any(self.lengths[ids] < 1):
            raise ShapeError(
                f"finish: expected environments with at least one recorded step; got lengths "
                f"{self.lengths[ids].tolist()} for environments {ids.tolist()}"
            )
        with warnings.catch_warnings():
            # A collective return <= 0 (fines) leaves equality undefined: reported as NaN.
            warnings.simplefilter("ignore", EstimatorWarning)
            values = self._sums.outcomes(ids)
        totals = self._totals[ids]
        stats = _as_dicts(values, {name: totals[:, k] for k, name in enumerate(self.names)})
        self._sums.clear(ids)
        self._totals[ids] = 0
        return stats


class EpisodeBuffer:
    """The steps of ONE episode in progress, kept as rows, for single-environment wrappers.

    :class:`EpisodeRecorder` keeps running sums of B episodes (a handful of NumPy calls per
    step, whatever B); with B = 1 those calls are most of a PettingZoo step's cost. This buffer
    copies each step's rewards and event counters into a preallocated row instead (two slice
    assignments) and computes the episode's statistics once, when it ends, with
    :func:`episode_statistics`: the same formulas and the same numbers (sums in step order).
    Rows double when an episode outgrows them.

    Parameters
    ----------
    num_agents : int
    event_names : sequence of str
    capacity : int
        Rows allocated up front (grown on demand).

    Examples
    --------
    >>> import numpy as np
    >>> buf = EpisodeBuffer(2, ("apples",))
    >>> buf.add(np.array([1.0, 0.0]), np.array([[1, 0]]))
    >>> buf.add(np.array([0.0, 1.0]), np.array([[0, 1]]))
    >>> stats = buf.finish()
    >>> stats["utilitarian"], stats["apples"], len(buf)
    (1.0, [1, 1], 0)
    """

    def __init__(self, num_agents: int, event_names: Sequence[str], capacity: int = 1024) -> None:
        self.names = tuple(event_names)
        self._length = 0
        self._rewards = np.zeros((max(int(capacity), 1), int(num_agents)), dtype=np.float64)
        self._events = np.zeros(
            (self._rewards.shape[0], len(self.names), int(num_agents)), dtype=np.int64
        )

    def __len__(self) -> int:
        return self._length

    def clear(self) -> None:
        """Forget the episode in progress."""
        self._length = 0

    def add(self, extrinsic: np.ndarray, events: np.ndarray) -> None:
        """Record one step: ``extrinsic`` (N,) rewards, ``events`` (E, N) counters."""
        t = self._length
        if t == self._rewards.shape[0]:
            self._rewards = np.concatenate([self._rewards, np.zeros_like(self._rewards)])
            self._events = np.concatenate([self._events, np.zeros_like(self._events)])
        self._rewards[t] = extrinsic
        self._events[t] = events
        self._length = t + 1

    def finish(self) -> dict[str, Any]:
        """Statistics of the episode (as :func:`episode_statistics`); clears the buffer."""
        t = self._length
        if t < 1:
            raise ShapeError("finish: expected an episode with at least one recorded step; got 0")
        events = {name: self._events[:t, k] for k, name in enumerate(self.names)}
        stats = episode_statistics(self._rewards[:t], events)
        self._length = 0
        return stats
