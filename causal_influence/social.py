r"""Social outcomes of an episode (Perolat et al. 2017; Jaques et al. 2019 Eq. 9).

With :math:`R^i = \sum_t r^i_t` the return of agent i over an episode of length T:

- utilitarian (efficiency) :math:`U = \sum_i R^i / T`;
- equality :math:`E = 1 - G`, with the Gini coefficient
  :math:`G = \sum_i\sum_j |R^i - R^j| / (2 N \sum_i R^i)`; for non-negative returns G is at most
  :math:`(N-1)/N` (one agent gets everything), not 1; it is undefined when
  :math:`\sum_i R^i \le 0` (possible with fines), reported as NaN with a warning;
- sustainability :math:`S = \frac1N \sum_i \bar t^i`, :math:`\bar t^i` the mean time step at
  which agent i received a positive reward (0-based steps by default; agents that never
  receive one are left out of the mean);
- peace :math:`P = (N T - \sum_i\sum_t \mathbb 1[\text{i timed out at t}]) / T`, the number of
  untagged agents per step (at most N).

Examples
--------
>>> from causal_influence.social import gini
>>> gini([3, 1, 0, 0])
0.625
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from causal_influence._optional import require
from causal_influence.errors import EstimatorWarning, ShapeError, describe
from causal_influence.validation import as_float, check_finite, check_shape

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["OUTCOMES", "OutcomeSums", "episode_outcomes", "gini", "social_outcomes"]

#: The social outcomes of an episode, in the order of :func:`social_outcomes`' columns.
OUTCOMES: tuple[str, ...] = (
    "collective_return",
    "utilitarian",
    "equality",
    "sustainability",
    "peace",
)


def gini(returns: Any, axis: int = -1) -> Any:
    r"""Gini coefficient of returns along ``axis``.

    Parameters
    ----------
    returns : array_like
        Returns of the N agents along ``axis``.
    axis : int
        Agent axis.

    Returns
    -------
    float or numpy.ndarray
        :math:`\sum_i\sum_j |R^i - R^j| / (2 N \sum_i R^i)`; NaN where the total is <= 0.

    Warns
    -----
    EstimatorWarning
        When a total return is <= 0 and the coefficient is undefined.

    Examples
    --------
    >>> gini([1, 0, 0, 0])  # maximum for N = 4: (N - 1) / N
    0.75
    """
    r = np.moveaxis(check_finite(as_float(returns, "returns"), "returns"), axis, -1)
    n = r.shape[-1]
    total = r.sum(axis=-1)
    diffs = np.abs(r[..., :, None] - r[..., None, :]).sum(axis=(-2, -1))
    bad = total <= 0
    if np.any(bad):
        warnings.warn(
            "the Gini coefficient is undefined when the total return is <= 0; reported as NaN",
            EstimatorWarning,
            stacklevel=2,
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(bad, np.nan, diffs / (2.0 * n * np.where(bad, 1.0, total)))
    return float(g) if g.ndim == 0 else g


def social_outcomes(
    rewards: Any,
    *,
    timeouts: Any = None,
    episode_ids: Any = None,
    one_based_time: bool = False,
) -> pd.DataFrame:
    """Social-outcome metrics per episode.

    Parameters
    ----------
    rewards : array_like of shape (T, N)
        Extrinsic rewards per step and agent.
    timeouts : array_like of bool, shape (T, N), optional
        True where an agent is timed out (removed or frozen after a hit).
    episode_ids : array_like of shape (T,), optional
        Episode of each step (default: one episode). Time restarts at 0 in each episode.
    one_based_time : bool
        Count steps from 1 for sustainability (the convention matters; default 0-based).

    Returns
    -------
    pandas.DataFrame
        One row per episode with columns ``episode``, ``length``, ``collective_return``,
        ``utilitarian``, ``equality``, ``sustainability``, ``peace`` and ``return_<i>`` for
        each agent.

    Examples
    --------
    ``docs/metrics.md``, closed-form case 13:

    >>> import numpy as np
    >>> r = np.array([[1, 0], [0, 0], [1, 0], [0, 2]])
    >>> timeouts = np.array([[0, 0], [0, 0], [1, 0], [1, 0]], bool)
    >>> df = social_outcomes(r, timeouts=timeouts)
    >>> df[["utilitarian", "equality", "sustainability", "peace"]].iloc[0].tolist()
    [1.0, 1.0, 2.0, 1.5]
    """
    require("pandas", purpose="social_outcomes (it returns a pandas DataFrame)")
    import pandas as pd

    r, timeouts, episodes, inv = _social_iv(rewards, timeouts, episode_ids)
    counts = np.bincount(inv)
    num_episodes, n = counts.size, r.shape[1]
    returns = np.zeros((num_episodes, n))
    np.add.at(returns, inv, r)
    timed_out = np.zeros(num_episodes)
    np.add.at(timed_out, inv, timeouts.sum(axis=1))
    t_sum, t_cnt = _positive_times(r, inv, counts, one_based_time)
    values = _outcomes(returns, t_sum, t_cnt, timed_out, counts)
    frame = pd.DataFrame({"episode": episodes, "length": counts, **values})
    for i in range(n):
        frame[f"return_{i}"] = returns[:, i]
    return frame


def episode_outcomes(
    rewards: Any,
    *,
    timeouts: Any = None,
    lengths: Any = None,
    one_based_time: bool = False,
) -> dict[str, np.ndarray]:
    """Social outcomes of E episodes held side by side in arrays (no pandas).

    The same formulas and numbers as :func:`social_outcomes`, for episodes stored as a batch
    (as a vectorised environment records them) rather than as one long table: environments
    call it when episodes end, without building a DataFrame.

    Parameters
    ----------
    rewards : array_like of shape (E, T, N)
        Extrinsic rewards of episode e at step t of agent i; steps from ``lengths[e]`` on are
        padding and ignored.
    timeouts : array_like of bool, shape (E, T, N), optional
        True where an agent is timed out.
    lengths : array_like of int, shape (E,), optional
        Length of each episode, in ``1 .. T`` (default: every episode has T steps).
    one_based_time : bool
        Count steps from 1 for sustainability (default 0-based).

    Returns
    -------
    dict of str to numpy.ndarray
        The :data:`OUTCOMES` (``collective_return``, ``utilitarian``, ``equality``,
        ``sustainability``, ``peace``), each of shape (E,) (``equality`` NaN where the
        collective return is <= 0, ``sustainability`` NaN where no agent was rewarded),
        ``length`` (E,) int64 and ``returns`` (E, N).

    Warns
    -----
    EstimatorWarning
        When an episode's collective return is <= 0 (equality undefined).

    Examples
    --------
    ``docs/metrics.md``, closed-form case 13, beside a second episode of two steps:

    >>> import numpy as np
    >>> r = np.zeros((2, 4, 2))
    >>> r[0] = [[1, 0], [0, 0], [1, 0], [0, 2]]
    >>> r[1, :2] = [[1, 1], [0, 1]]
    >>> timeouts = np.zeros((2, 4, 2), bool)
    >>> timeouts[0, 2:, 0] = True
    >>> out = episode_outcomes(r, timeouts=timeouts, lengths=[4, 2])
    >>> out["sustainability"].tolist(), out["peace"].tolist(), out["utilitarian"].tolist()
    ([2.0, 0.25], [1.5, 2.0], [1.0, 1.5])
    """
    r, tout, counts = _batch_iv(rewards, timeouts, lengths)
    steps = np.arange(r.shape[1])
    inside = steps[None, :] < counts[:, None]  # (E, T)
    live = inside[:, :, None]
    returns = np.where(live, r, 0.0).sum(axis=1)
    timed_out = (tout & live).sum(axis=(1, 2)).astype(np.float64)
    positive = (r > 0) & live
    t_sum = (positive * (steps + (1 if one_based_time else 0))[None, :, None]).sum(axis=1)
    t_cnt = positive.sum(axis=1).astype(np.float64)
    values = _outcomes(returns, t_sum.astype(np.float64), t_cnt, timed_out, counts)
    return {**values, "length": counts, "returns": returns}


class OutcomeSums:
    """Running sums of B episodes in progress, from which their social outcomes follow.

    For environments that step B episodes at once: :meth:`add` takes one step of every
    episode (a few element-wise operations on (B, N) arrays, nothing stored per step), and
    :meth:`outcomes` gives the :data:`OUTCOMES` of the episodes that ended, by the formulas of
    :func:`social_outcomes` (the same numbers: the sums are accumulated in step order, as there).

    Parameters
    ----------
    num_episodes : int
        B, the episodes running side by side.
    num_agents : int
        N.
    one_based_time : bool
        Count steps from 1 for sustainability (default 0-based).

    Attributes
    ----------
    lengths : numpy.ndarray of int64, shape (B,)
        Steps added to each episode since it was last cleared.
    returns : numpy.ndarray of float64, shape (B, N)

    Examples
    --------
    ``docs/metrics.md``, closed-form case 13, one step at a time:

    >>> import numpy as np
    >>> sums = OutcomeSums(1, 2)
    >>> for r, out in [([1, 0], [0, 0]), ([0, 0], [0, 0]), ([1, 0], [1, 0]), ([0, 2], [1, 0])]:
    ...     sums.add(np.array([r], float), np.array([out], bool))
    >>> values = sums.outcomes([0])
    >>> [float(values[k][0]) for k in ("utilitarian", "equality", "sustainability", "peace")]
    [1.0, 1.0, 2.0, 1.5]
    """

    def __init__(self, num_episodes: int, num_agents: int, *, one_based_time: bool = False) -> None:
        b, n = int(num_episodes), int(num_agents)
        self.one_based_time = bool(one_based_time)
        self.lengths = np.zeros(b, dtype=np.int64)
        self.returns = np.zeros((b, n))
        self._t_sum = np.zeros((b, n))
        self._t_cnt = np.zeros((b, n))
        self._timed_out = np.zeros((b, n))  # agent-steps timed out, per agent

    def add(self, rewards: np.ndarray, timeouts: np.ndarray | None = None) -> None:
        """Add one step of every episode: rewards (B, N), timeouts (B, N) bool (optional).

        An episode whose length is 0 (never started, cleared, or set to 0) starts afresh.
        """
        if not self.lengths.all():
            self.clear(np.flatnonzero(self.lengths == 0))
        positive = np.greater(rewards, 0)
        np.add(self.returns, rewards, out=self.returns)
        t = self.lengths + 1 if self.one_based_time else self.lengths
        np.add(self._t_sum, t[:, None], out=self._t_sum, where=positive)
        np.add(self._t_cnt, positive, out=self._t_cnt)
        if timeouts is not None:
            out = np.asarray(timeouts)
            np.add(self._timed_out, out if out.dtype == bool else out != 0, out=self._timed_out)
        self.lengths += 1

    def clear(self, episodes: Any = None) -> None:
        """Zero the sums of the listed episodes (default all)."""
        ids = slice(None) if episodes is None else np.asarray(episodes, dtype=np.int64)
        self.lengths[ids] = 0
        self.returns[ids] = 0.0
        self._t_sum[ids] = 0.0
        self._t_cnt[ids] = 0.0
        self._timed_out[ids] = 0.0

    def outcomes(self, episodes: Any) -> dict[str, np.ndarray]:
        """Social outcomes of the listed episodes (each with at least one step).

        Returns
        -------
        dict of str to numpy.ndarray
            As :func:`episode_outcomes`: the :data:`OUTCOMES` (E,), ``length`` (E,) and
            ``returns`` (E, N).

        Warns
        -----
        EstimatorWarning
            When an episode's collective return is <= 0 (equality undefined).
        """
        ids = np.asarray(episodes, dtype=np.int64).reshape(-1)
        counts = self.lengths[ids]
        if np.any(counts < 1):
            raise ShapeError(
                f"episodes: expected episodes with at least one step; got lengths "
                f"{counts.tolist()} for episodes {ids.tolist()}"
            )
        returns = self.returns[ids]
        values = _outcomes(
            returns, self._t_sum[ids], self._t_cnt[ids], self._timed_out[ids].sum(axis=1), counts
        )
        return {**values, "length": counts.copy(), "returns": returns}


def _outcomes(
    returns: np.ndarray,
    t_sum: np.ndarray,
    t_cnt: np.ndarray,
    timed_out: np.ndarray,
    counts: np.ndarray,
) -> dict[str, np.ndarray]:
    """The formulas of the module docstring, from per-episode sums.

    ``returns`` (E, N); ``t_sum`` / ``t_cnt`` (E, N) the sum and number of the time steps at
    which each agent received a positive reward; ``timed_out`` (E,) agent-steps timed out;
    ``counts`` (E,) episode lengths.
    """
    n = returns.shape[1]
    collective = returns.sum(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EstimatorWarning)
        g = np.atleast_1d(gini(returns, axis=1))
    if np.any(collective <= 0):
        warnings.warn(
            "equality is undefined (NaN) for episodes whose collective return is <= 0",
            EstimatorWarning,
            stacklevel=3,
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_t = np.where(t_cnt > 0, t_sum / np.where(t_cnt > 0, t_cnt, 1), np.nan)
        rewarded = (t_cnt > 0).sum(axis=1)
        sustainability = np.where(
            rewarded > 0, np.nansum(mean_t, axis=1) / np.maximum(rewarded, 1), np.nan
        )
    return {
        "collective_return": collective,
        "utilitarian": collective / counts,
        "equality": 1.0 - g,
        "sustainability": sustainability,
        "peace": (n * counts - timed_out) / counts,
    }


def _batch_iv(
    rewards: Any, timeouts: Any, lengths: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rewards (E, T, N), timeouts (E, T, N) bool and the lengths (E,) of a batch."""
    r = np.asarray(rewards, dtype=np.float64)
    if r.ndim != 3 or 0 in r.shape[:2]:
        raise ShapeError(f"rewards: expected shape (E, T, N) with E, T >= 1; got {describe(r)}")
    tout = np.zeros(r.shape, dtype=bool) if timeouts is None else np.asarray(timeouts, dtype=bool)
    check_shape(tout, "timeouts", r.shape)
    e, t = r.shape[:2]
    if lengths is None:
        return r, tout, np.full(e, t, dtype=np.int64)
    counts = np.asarray(lengths)
    check_shape(counts, "lengths", (e,))
    if counts.dtype.kind not in "iu" or np.any((counts < 1) | (counts > t)):
        raise ShapeError(
            f"lengths: expected integers in [1, T={t}] (one per episode); got {describe(counts)} "
            f"with values in [{counts.min()}, {counts.max()}]"
        )
    return r, tout, counts.astype(np.int64)


def _social_iv(
    rewards: Any, timeouts: Any, episode_ids: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rewards (T, N), timeouts (T, N), the episode ids and the episode index of each step."""
    r = np.asarray(rewards, dtype=np.float64)
    if r.ndim != 2 or r.shape[0] == 0:
        raise ShapeError(f"rewards: expected shape (T, N); got {describe(r)}")
    check_finite(r, "rewards", time_major=True)
    tout = np.zeros_like(r, dtype=bool) if timeouts is None else np.asarray(timeouts, dtype=bool)
    check_shape(tout, "timeouts", r.shape)
    t_steps = r.shape[0]
    ids = np.zeros(t_steps, dtype=np.int64) if episode_ids is None else np.asarray(episode_ids)
    check_shape(ids, "episode_ids", (t_steps,))
    episodes, inv = np.unique(ids, return_inverse=True)
    return r, tout, episodes, inv


def _positive_times(
    r: np.ndarray, inv: np.ndarray, counts: np.ndarray, one_based_time: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Per episode and agent, the sum and the number of the time steps with a positive reward
    (time restarts at 0, or 1, in each episode; steps in their given order), each (E, N)."""
    order = np.argsort(inv, kind="stable")
    rank = np.empty(inv.size, dtype=np.int64)
    rank[order] = np.arange(inv.size) - np.repeat(np.cumsum(counts) - counts, counts)
    t_in = rank + (1 if one_based_time else 0)
    positive = r > 0
    t_sum = np.zeros((counts.size, r.shape[1]))
    t_cnt = np.zeros((counts.size, r.shape[1]))
    np.add.at(t_sum, inv, positive * t_in[:, None])
    np.add.at(t_cnt, inv, positive)
    return t_sum, t_cnt
