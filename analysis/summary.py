"""The summary of a dataset of trajectories: the tables and sums the statistics need.

:class:`DatasetSummary` is what :func:`analysis.dataset.summarize` accumulates in one pass and
:func:`analysis.shards.merge_summaries` joins; the tables of :mod:`analysis.stats` are computed
from it. Arrays indexed by resampling unit have a leading unit axis; count tables over two
alphabets (actions, symbols, or the influencer's variable) have them as their trailing axes.

Examples
--------
>>> import numpy as np
>>> from analysis.dataset import summarize
>>> summary = summarize({"actions": np.array([[0, 1], [1, 0], [1, 1]])})
>>> summary.num_agents, summary.num_units, summary.ic_action.shape
(2, 1, (1, 2, 2, 2, 2))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from causal_influence.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ALPHABET_AXES", "UNIT_TABLES", "DatasetSummary", "alphabet_axes", "pad_to"]


@dataclass(frozen=True, eq=False)
class DatasetSummary:
    """Accumulated tables and sums of a dataset of trajectories (see the module docstring).

    Arrays indexed by unit have a leading dimension U = :attr:`num_units`. Tables are int64
    counts; ``(k, j)`` = (influencer, influencee); the diagonal of pairwise tables is filled
    but never reported.

    Attributes
    ----------
    agent_ids : tuple of str
    num_actions, num_symbols : int
        Alphabet sizes |A| and |M| (``num_symbols`` is 0 without messages).
    num_contexts : int
        Number of context labels G (0 without a recorded context).
    lag : int
        Lag of the coordination tables.
    alignment : str or None
        Time alignment of the stored influence ("same_step" or "next_step"); None without one.
    variable : str or None
        The influencer's variable of the stored influence: "actions" or "messages".
    influence_lag : int or None
        0 for same-step, 1 for next-step influence.
    num_steps, num_episodes : int
    unit_episodes, unit_steps : numpy.ndarray of shape (U,)
    ic_action, ic_action_high : numpy.ndarray of shape (U, N, N, A, A)
        Action/action tables, over all steps and over k's moments of high influence (None
        without influence).
    ic_message, ic_message_high : numpy.ndarray of shape (U, N, N, M, A) or None
    sc : numpy.ndarray of shape (U, N, M, A) or None
    influence_sum : numpy.ndarray of shape (U, N, N) or None
    influence_count : numpy.ndarray of shape (U,) or None
        Valid influence steps per unit.
    dependence : numpy.ndarray of shape (U, N, N, K, A) or None
        Counts of (k's variable at t, j's action at t + influence_lag).
    high_steps : numpy.ndarray of shape (N,) or None
        Number of moments of high influence of each agent.
    high_null : numpy.ndarray of shape (B, N, N, K, A) or None
        With counterfactual logits: the tables of (k's variable, j's action at t + lag) at the
        moments of high influence re-selected under each of B within-episode permutations of
        k's variable (the null of the ``high_influence`` comparison of :attr:`high_null_kind`).
    high_null_kind : str or None
        The coordination family the null is for (``"symbol/action"`` when the influence is of
        messages, ``"action/action"`` when of actions).
    influence_floor : float
        Noise floor of the stored influence (:func:`causal_influence.noise_floor` of its dtype;
        values computed here from counterfactual logits have the float64 floor).
    cic_sum, cic_compat_sum : numpy.ndarray of shape (U, N, N) or None
        Sums over valid steps of the per-step CIC (nats), correct and ``lowe_compat`` forms.
    responsiveness_sum : numpy.ndarray of shape (U, N, N) or None
        Sums over valid steps of the interventional responsiveness (nats,
        :func:`causal_influence.interventional_responsiveness`).
    cic_count : numpy.ndarray of shape (U,) or None
    profile_sum : numpy.ndarray of shape (L, N) or None
        Sum of each agent's influence reward (summed over influencees) at each step within
        the episode; ``profile_count`` (L,) the number of episodes contributing.
    example_reward, example_moments : numpy.ndarray of shape (T0, N) or None
        Influence reward of the first episode read, and its moments of high influence.
    grounding : numpy.ndarray of shape (U, N, M, G) or None
        With messages and a context: counts of each agent's own (message, context) pairs.
    cond_coord : numpy.ndarray of shape (U, N, N, G, M, A) or None
        With messages and a context: counts of (g^k_t, m^k_t, a^j_{t+lag}) per ordered pair.
    social : pandas.DataFrame or None
        One row per episode (:func:`causal_influence.social.social_outcomes`), ``episode`` the
        running episode number and ``episode_id`` the id within its trajectory.
    metadata : dict
        Metadata of the first trajectory.
    """

    agent_ids: tuple[str, ...]
    num_actions: int
    num_symbols: int
    lag: int
    alignment: str | None
    variable: str | None
    influence_lag: int | None
    num_steps: int
    num_episodes: int
    unit_episodes: np.ndarray
    unit_steps: np.ndarray
    ic_action: np.ndarray
    ic_action_high: np.ndarray | None = None
    ic_message: np.ndarray | None = None
    ic_message_high: np.ndarray | None = None
    sc: np.ndarray | None = None
    influence_sum: np.ndarray | None = None
    influence_count: np.ndarray | None = None
    dependence: np.ndarray | None = None
    high_steps: np.ndarray | None = None
    high_null: np.ndarray | None = None
    high_null_kind: str | None = None
    influence_floor: float = 1e-10
    cic_sum: np.ndarray | None = None
    cic_compat_sum: np.ndarray | None = None
    responsiveness_sum: np.ndarray | None = None
    cic_count: np.ndarray | None = None
    num_contexts: int = 0
    grounding: np.ndarray | None = None
    cond_coord: np.ndarray | None = None
    profile_sum: np.ndarray | None = None
    profile_count: np.ndarray | None = None
    example_reward: np.ndarray | None = None
    example_moments: np.ndarray | None = None
    social: pd.DataFrame | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def num_agents(self) -> int:
        """N, the number of agents."""
        return len(self.agent_ids)

    @property
    def num_units(self) -> int:
        """U, the number of bootstrap resampling units."""
        return int(self.unit_episodes.shape[0])

    @property
    def has_messages(self) -> bool:
        """Whether the trajectories carried messages."""
        return self.ic_message is not None

    @property
    def has_influence(self) -> bool:
        """Whether the trajectories carried a pairwise influence tensor."""
        return self.influence_sum is not None

    @property
    def has_cic(self) -> bool:
        """Whether counterfactual logits were stored (so CIC could be computed)."""
        return self.cic_sum is not None

    @property
    def has_context(self) -> bool:
        """Whether the trajectories carried messages and a context (grounding tables)."""
        return self.grounding is not None

    def mean_influence(self) -> np.ndarray:
        """Mean influence of each ordered pair over all valid steps, shape (N, N).

        Raises
        ------
        ConfigError
            Without stored influence.
        """
        if self.influence_sum is None or self.influence_count is None:
            raise ConfigError("the trajectories carry no pairwise influence tensor")
        total = int(self.influence_count.sum())
        if total == 0:
            return np.full((self.num_agents, self.num_agents), np.nan)
        return np.asarray(self.influence_sum.sum(axis=0) / total)


#: Fields of :class:`DatasetSummary` with a leading resampling-unit axis (U, ...).
UNIT_TABLES: tuple[str, ...] = (
    "unit_episodes",
    "unit_steps",
    "ic_action",
    "ic_action_high",
    "ic_message",
    "ic_message_high",
    "sc",
    "influence_sum",
    "influence_count",
    "dependence",
    "cic_sum",
    "cic_compat_sum",
    "responsiveness_sum",
    "cic_count",
    "grounding",
    "cond_coord",
)

#: Tables whose trailing axes are alphabets: name -> (axes, alphabets), where "a" is the
#: actions, "m" the symbols, "k" the influencer's variable of the stored influence and "g" the
#: context labels.
ALPHABET_AXES: dict[str, tuple[tuple[int, ...], str]] = {
    "ic_action": ((3, 4), "aa"),
    "ic_action_high": ((3, 4), "aa"),
    "ic_message": ((3, 4), "ma"),
    "ic_message_high": ((3, 4), "ma"),
    "dependence": ((3, 4), "ka"),
    "sc": ((2, 3), "ma"),
    "high_null": ((3, 4), "ka"),
    "grounding": ((2, 3), "mg"),
    "cond_coord": ((3, 4, 5), "gma"),
}


def alphabet_axes(
    name: str, a: int, m: int, k: int, g: int = 0
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(axes, sizes) of the alphabet axes of table ``name``; empty for tables without any.

    ``a``, ``m``, ``k`` and ``g`` are the sizes of the actions, the symbols, the influencer's
    variable and the context labels.

    Examples
    --------
    >>> alphabet_axes("sc", 5, 3, 5), alphabet_axes("influence_sum", 5, 3, 5)
    (((2, 3), (3, 5)), ((), ()))
    >>> alphabet_axes("cond_coord", 5, 3, 5, 2)
    ((3, 4, 5), (2, 3, 5))
    """
    if name not in ALPHABET_AXES:
        return (), ()
    axes, letters = ALPHABET_AXES[name]
    size = {"a": a, "m": m, "k": k, "g": g}
    return axes, tuple(size[letter] for letter in letters)


def pad_to(arr: np.ndarray, axes: tuple[int, ...], sizes: tuple[int, ...]) -> np.ndarray:
    """``arr`` zero-padded at the end of each of ``axes`` to at least ``sizes``.

    Examples
    --------
    >>> pad_to(np.ones((1, 2), int), (1,), (3,))
    array([[1, 1, 0]])
    """
    widths = [(0, 0)] * arr.ndim
    for ax, size in zip(axes, sizes, strict=True):
        widths[ax] = (0, max(0, size - arr.shape[ax]))
    return np.pad(arr, widths) if any(w[1] for w in widths) else arr
