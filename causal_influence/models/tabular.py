"""Joint policy models given as explicit tables of logits or probabilities."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from causal_influence._backend import Array, is_torch
from causal_influence.errors import ConfigError, DTypeError, ShapeError, describe
from causal_influence.validation import (
    as_agent_indices,
    as_backend,
    as_index,
    as_mask,
    check_logits,
    check_probabilities,
    check_shape,
)

__all__ = ["TabularModel"]


class TabularModel:
    """A joint policy model given as explicit tables.

    Parameters
    ----------
    counterfactual_logits : array of shape (T, N, N, K, A)
        ``counterfactual_logits[t, k, j, c]``: logits of influencee j's action at row t when
        influencer k's variable takes the value c (numpy or torch). The entries with ``k == j``
        are never used. Row meaning as declared by ``predicts_next_step`` (module docstring).
    prior_logits : array of shape (T, N, K)
        Each agent's policy over its own variable at the step it chose it.
    values : integer array of shape (T, N)
        The values actually taken, in ``[0, K)``.
    predicts_next_step : bool, default False
        True when row t of the table predicts the influencee's action at t+1 (MOA layout).
    episode_starts : bool array of shape (T,), optional
        True at the first step of each episode; read by the engine when it is not given one.

    Raises
    ------
    ShapeError
        If the shapes do not match each other.
    InvalidDistributionError
        If a row of logits is NaN, ``+inf`` or all ``-inf``.

    Examples
    --------
    Agent 1 copies agent 0's binary action, agent 0 plays uniformly: the influence of 0 on 1 is
    ln 2 at every step (``docs/metrics.md``, closed-form case 2).

    >>> import numpy as np
    >>> from causal_influence.engine import pairwise_influence
    >>> copy = np.eye(2)                                        # p(a_1 | a_0 = c) = row c
    >>> cond = np.broadcast_to(np.full(2, 0.5), (4, 2, 2, 2, 2)).copy()
    >>> cond[:, 0, 1] = copy
    >>> model = TabularModel.from_probabilities(cond, np.full((4, 2, 2), 0.5),
    ...                                         np.array([[0, 0], [1, 0], [0, 1], [1, 1]]))
    >>> pairwise_influence(model, alignment="same_step").influence[:, 0, 1]
    array([0.693147, 0.693147, 0.693147, 0.693147])
    """

    def __init__(
        self,
        counterfactual_logits: Array,
        prior_logits: Array,
        values: Array,
        *,
        predicts_next_step: bool = False,
        episode_starts: Array | None = None,
    ) -> None:
        args = _tabular_iv(counterfactual_logits, prior_logits, values, episode_starts)
        self._cf, self._prior, self._values = args.cf, args.prior, args.values
        self._predicts_next_step = bool(predicts_next_step)
        self.episode_starts = args.episode_starts

    @classmethod
    def from_probabilities(
        cls,
        counterfactual_probs: Array,
        prior_probs: Array,
        values: Array,
        *,
        predicts_next_step: bool = False,
        episode_starts: Array | None = None,
    ) -> TabularModel:
        """Build the model from probabilities instead of logits (zeros become ``-inf``).

        Parameters
        ----------
        counterfactual_probs : array of shape (T, N, N, K, A)
        prior_probs : array of shape (T, N, K)
        values : integer array of shape (T, N)
        predicts_next_step, episode_starts
            As in the constructor.

        Raises
        ------
        InvalidDistributionError
            If a probability is negative or a distribution does not sum to 1 (tolerance 1e-6).
        """
        logs = [
            _log(check_probabilities(p, name))
            for name, p in (
                ("counterfactual_probs", counterfactual_probs),
                ("prior_probs", prior_probs),
            )
        ]
        return cls(
            logs[0],
            logs[1],
            values,
            predicts_next_step=predicts_next_step,
            episode_starts=episode_starts,
        )

    @property
    def num_agents(self) -> int:
        return int(self._cf.shape[1])

    @property
    def num_steps(self) -> int:
        return int(self._cf.shape[0])

    @property
    def predicts_next_step(self) -> bool:
        return self._predicts_next_step

    def counterfactual_logits(
        self, influencers: Sequence[int], influencees: Sequence[int]
    ) -> Array:
        cf = _select_agents(self._cf, influencers, self.num_agents, "influencers", axis=1)
        return _select_agents(cf, influencees, self.num_agents, "influencees", axis=2)

    def influencer_logits(self, influencers: Sequence[int]) -> Array:
        return _select_agents(self._prior, influencers, self.num_agents, "influencers", axis=1)

    def influencer_values(self, influencers: Sequence[int]) -> Array:
        return _select_agents(self._values, influencers, self.num_agents, "influencers", axis=1)


class _TabularArgs(NamedTuple):
    cf: Array
    prior: Array
    values: Array
    episode_starts: np.ndarray | None


def _tabular_iv(
    counterfactual_logits: Any, prior_logits: Any, values: Any, episode_starts: Any
) -> _TabularArgs:
    cf = check_logits(counterfactual_logits, "counterfactual_logits", min_ndim=5)
    if cf.ndim != 5 or cf.shape[1] != cf.shape[2]:
        raise ShapeError(
            f"counterfactual_logits: expected shape (T, N, N, K, A); got {describe(cf)}"
        )
    t, n, _, k, _ = cf.shape
    prior = check_logits(prior_logits, "prior_logits")
    check_shape(
        prior, "prior_logits", (t, n, k), dims="(T, N, K)", hint="match counterfactual_logits"
    )
    vals = as_index(
        values,
        "values",
        k,
        expected=f"values in [0, {k}) (one per counterfactual value K)",
        hint="check that the values index the influencer's policy logits",
        error=ConfigError,
    )
    check_shape(vals, "values", (t, n), dims="(T, N)")
    if is_torch(cf):
        prior, vals = as_backend(prior, cf).to(cf.dtype), as_backend(vals, cf)
    elif is_torch(prior) or is_torch(vals):
        raise DTypeError(
            "prior_logits / values: got torch tensors with numpy counterfactual_logits; "
            "pass all three as numpy arrays or all as torch tensors"
        )
    starts = (
        None
        if episode_starts is None
        else as_mask(episode_starts, "episode_starts", (t,), dims="(T,)")
    )
    return _TabularArgs(cf, prior, vals, starts)


def _log(p: Array) -> Array:
    """Elementwise log of probabilities; 0 becomes -inf."""
    if is_torch(p):
        return p.log()
    with np.errstate(divide="ignore"):
        return np.log(p)


def _select_agents(x: Array, agents: Sequence[int], num_agents: int, name: str, axis: int) -> Array:
    """``x`` restricted to ``agents`` along ``axis``; ``x`` itself (no copy) when they are all
    the agents in order, the usual request of a training loop."""
    index = as_agent_indices(agents, num_agents, name)
    if index == list(range(num_agents)):
        return x
    where: tuple[Any, ...] = (slice(None),) * axis + (index,)
    return x[where]
