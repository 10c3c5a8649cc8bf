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

__all__ = ["gini", "social_outcomes"]


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
    collective = returns.sum(axis=1)
    timed_out = np.zeros(num_episodes)
    np.add.at(timed_out, inv, timeouts.sum(axis=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EstimatorWarning)
        g = np.atleast_1d(gini(returns, axis=1))
    if np.any(collective <= 0):
        warnings.warn(
            "equality is undefined (NaN) for episodes whose collective return is <= 0",
            EstimatorWarning,
            stacklevel=2,
        )
    frame = pd.DataFrame(
        {
            "episode": episodes,
            "length": counts,
            "collective_return": collective,
            "utilitarian": collective / counts,
            "equality": 1.0 - g,
            "sustainability": _sustainability(r, inv, counts, one_based_time),
            "peace": (n * counts - timed_out) / counts,
        }
    )
    for i in range(n):
        frame[f"return_{i}"] = returns[:, i]
    return frame


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


def _sustainability(
    r: np.ndarray, inv: np.ndarray, counts: np.ndarray, one_based_time: bool
) -> np.ndarray:
    """Per episode, the mean over rewarded agents of the mean time step of a positive reward
    (time restarts at 0, or 1, in each episode; steps in their given order)."""
    order = np.argsort(inv, kind="stable")
    rank = np.empty(inv.size, dtype=np.int64)
    rank[order] = np.arange(inv.size) - np.repeat(np.cumsum(counts) - counts, counts)
    t_in = rank + (1 if one_based_time else 0)
    positive = r > 0
    t_sum = np.zeros((counts.size, r.shape[1]))
    t_cnt = np.zeros((counts.size, r.shape[1]))
    np.add.at(t_sum, inv, positive * t_in[:, None])
    np.add.at(t_cnt, inv, positive)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_t = np.where(t_cnt > 0, t_sum / np.where(t_cnt > 0, t_cnt, 1), np.nan)
        rewarded = (t_cnt > 0).sum(axis=1)
        return np.where(rewarded > 0, np.nansum(mean_t, axis=1) / np.maximum(rewarded, 1), np.nan)
