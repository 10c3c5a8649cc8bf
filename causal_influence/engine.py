"""Pairwise influence of every influencer on every influencee, from a joint policy model.

:func:`pairwise_influence` asks a :class:`~causal_influence.models.JointPolicyModel` for the
counterfactual logits of all requested pairs in one call, computes the per-step influence of
each pair with :func:`causal_influence.counterfactual.influence` (the one implementation of
the formula) and returns an :class:`InfluenceResult`: a tensor of shape (T, N, N) with row =
influencer k and column = influencee j, agent ids, the time alignment, validity and visibility
masks, and helpers for rewards and tables.

Time alignment (``docs/metrics.md``, section "Time alignment")
----------------------------------------
``alignment="same_step"``
    ``a^k_t -> a^j_t`` (centralised basic influence; influencers act first within a step).
    Influence row t uses counterfactual row t and influencer row t. Every row is valid.
``alignment="next_step"``
    ``a^k_t`` or ``m^k_t -> a^j_{t+1}`` (messages, MOA). The value is credited to step t, where
    k acted. For a policy model (``model.predicts_next_step`` False) influence row t uses
    counterfactual row t+1 (the influencee's policy at t+1, whose input holds k's value of t);
    for a MOA (``predicts_next_step`` True) it uses counterfactual row t (the prediction of
    t+1 made at t). The last step of every episode (and the last row) has no successor: its
    influence is 0 and ``valid`` is False there.

Environment axis
----------------
A model with an integer ``num_envs`` attribute B (the torch adapters built from arrays of shape
(T, B, N, ...)) holds B environments side by side: every array it returns has the environment
axis after time, and the result has shape (T, B, N, N). Time alignment, episode boundaries
(``episode_starts`` / ``dones`` of shape (T, B)), ``visible`` (T, B, N, N) and
``influencee_actions`` (T, B, N) are then per environment: a next-step value never crosses from
one environment into another.

Examples
--------
A table: agent 1 mostly copies agent 0 at the same step.

>>> import numpy as np
>>> from causal_influence.engine import pairwise_influence
>>> from causal_influence.models import TabularModel
>>> cf = np.zeros((2, 3, 3, 2, 2))
>>> cf[:, 0, 1] = np.log([[0.9, 0.1], [0.1, 0.9]])   # agent 1 mostly copies agent 0
>>> result = pairwise_influence(TabularModel(cf, np.zeros((2, 3, 2)), np.zeros((2, 3), int)),
...                             alignment="same_step")
>>> result.reward().round(4)                           # (T, N): summed over influencees
array([[0.3681, 0.    , 0.    ],
       [0.3681, 0.    , 0.    ]])

A small centralised torch policy: agents 1 and 2 read agent 0's action (one-hot) at the same
step; agent 2 only a little.

>>> import torch
>>> from causal_influence.models import TorchModel
>>> net = torch.nn.Linear(3 * 2, 3 * 2)
>>> with torch.no_grad():
...     _ = net.weight.zero_(), net.bias.zero_()
...     net.weight[2:4, 0:2] = 4 * torch.eye(2)           # agent 1 copies agent 0
...     net.weight[4:6, 0:2] = 0.5 * torch.eye(2)         # agent 2 leans towards it
>>> def head(features, inputs):                           # inputs (B, 3, 2) one-hot
...     return net(inputs.flatten(1)).reshape(-1, 3, 2) + features[:, None]
>>> actions = torch.tensor([[0, 1, 1], [1, 1, 0]])
>>> model = TorchModel(head, torch.zeros(2, 2), actions, prior_logits=torch.zeros(2, 3, 2))
>>> result = pairwise_influence(model, alignment="same_step", influencers=[0])
>>> result.influence[0]                   # ln 2 - H_b(sigmoid(4)), ln 2 - H_b(sigmoid(0.5))
tensor([[0.0000, 0.6031, 0.0303],
        [0.0000, 0.0000, 0.0000],
        [0.0000, 0.0000, 0.0000]])
>>> result.reward()[:, 0]                             # influencer 0, summed over j
tensor([0.6334, 0.6334])
>>> result.to_dataframe().head(2)
   t influencer influencee  influence
0  0    agent_0    agent_1   0.603...
1  0    agent_0    agent_2   0.030...
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from causal_influence._backend import Array, is_torch
from causal_influence._optional import require
from causal_influence.counterfactual import influence
from causal_influence.divergences import Divergence, DivergenceLike, resolve_divergence
from causal_influence.errors import ConfigError, DTypeError, ModelError, describe
from causal_influence.models import JointPolicyModel
from causal_influence.validation import (
    as_agent_indices,
    as_backend,
    as_episode_starts,
    as_index,
    as_mask,
    check_choice,
    check_shape,
    log_base,
    next_step_valid,
    to_numpy,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ALIGNMENTS", "ALIGNMENT_HINT", "InfluenceResult", "pairwise_influence"]

#: Accepted values of ``alignment``.
ALIGNMENTS: tuple[str, ...] = ("same_step", "next_step")

#: How to choose an alignment, appended to the message of an unknown one.
ALIGNMENT_HINT = (
    "use 'same_step' for a^k_t -> a^j_t and 'next_step' for messages and MOA (a^k_t -> a^j_(t+1))"
)


@dataclass(frozen=True, eq=False)
class InfluenceResult:
    """Pairwise influence over time, with the metadata needed to read it.

    Attributes
    ----------
    influence : numpy.ndarray or torch.Tensor of shape (T, N, N), or (T, B, N, N)
        ``influence[t, k, j]``: influence of influencer k's value at step t on influencee j
        (nats unless ``base`` was given), **before** the visibility mask. 0 on the diagonal,
        for pairs that were not requested and on invalid rows. With an environment axis
        (``num_envs`` B), ``influence[t, b, k, j]`` in environment b.
    agent_ids : tuple of str
        Name of each agent index (``agent_0 ...`` by default).
    alignment : {"same_step", "next_step"}
    divergence : str
        Name of the divergence (a key of :data:`~causal_influence.divergences.DIVERGENCES`, or
        the name of a user's callable); ``DIVERGENCES[name].unit_label(base)`` is the unit.
    base : float or None
        Logarithm base of the values (None = nats).
    valid : numpy.ndarray of bool, shape (T,) or (T, B)
        False on rows without a measurable influence (next-step alignment: last step of each
        episode).
    computed : numpy.ndarray of bool, shape (N, N)
        True for the pairs (k, j), k != j, that were computed.
    visible : numpy.ndarray of bool, shape (T, N, N) or (T, B, N, N), or None
        ``visible[t, k, j]``: whether j was visible to k at step t, when k chose the value.
    num_envs : int or None
        B, the environment axis of the arrays, or None when they have none.
    """

    influence: Array
    agent_ids: tuple[str, ...]
    alignment: str
    divergence: str
    base: float | None
    valid: np.ndarray
    computed: np.ndarray
    visible: np.ndarray | None = None
    num_envs: int | None = None

    def masked(self, *, visible_only: bool = True) -> Array:
        """Influence with the visibility mask applied (when ``visible_only`` and a mask exists).

        Returns
        -------
        numpy.ndarray or torch.Tensor of shape (T, N, N)
        """
        if not visible_only or self.visible is None:
            return self.influence
        if is_torch(self.influence):
            import torch

            mask = torch.as_tensor(self.visible, device=self.influence.device)
            return torch.where(mask, self.influence, torch.zeros_like(self.influence))
        return np.where(self.visible, self.influence, 0.0)

    def reward(self, *, visible_only: bool = True) -> Array:
        """Influence reward of each influencer: the sum over influencees.

        Parameters
        ----------
        visible_only : bool, default True
            Count only influencees visible to the influencer (when a mask was given).

        Returns
        -------
        numpy.ndarray or torch.Tensor of shape (T, N), or (T, B, N)
            ``reward[t, k] = sum_j influence[t, k, j]`` (times ``visible[t, k, j]``).
        """
        return self.masked(visible_only=visible_only).sum(-1)

    def mean(self, *, visible_only: bool = True) -> Array:
        """Mean influence of each pair over the valid steps (of every environment).

        Returns
        -------
        numpy.ndarray or torch.Tensor of shape (N, N)
            NaN everywhere when no step is valid.
        """
        values = self.masked(visible_only=visible_only)
        count = int(self.valid.sum())
        if is_torch(values):
            import torch

            if count == 0:
                return torch.full(values.shape[-2:], float("nan"), dtype=values.dtype)
            rows = torch.as_tensor(self.valid, device=values.device)
            return values[rows].mean(0)
        if count == 0:
            return np.full(values.shape[-2:], np.nan)
        return values[self.valid].mean(0)

    def to_dataframe(self, *, visible_only: bool = True) -> pd.DataFrame:
        """Tidy long table: one row per valid step and computed pair.

        Returns
        -------
        pandas.DataFrame
            Columns ``t`` (int), ``env`` (int, with an environment axis only),
            ``influencer`` and ``influencee`` (agent ids), ``influence`` (float, visibility
            mask applied when ``visible_only``), and ``visible`` (bool) when a visibility mask
            was given.
        """
        require("pandas", purpose="InfluenceResult.to_dataframe")
        import pandas as pd

        values = to_numpy(self.masked(visible_only=visible_only))
        where = np.nonzero(self.valid)  # (steps,) or (steps, envs) of the valid rows
        ks, js = np.nonzero(self.computed)
        ids = np.asarray(self.agent_ids, dtype=object)
        count = len(where[0])
        frame = {"t": np.repeat(where[0], len(ks)).astype(np.int64)}
        if self.num_envs is not None:
            frame["env"] = np.repeat(where[1], len(ks)).astype(np.int64)
        frame |= {
            "influencer": np.tile(ids[ks], count),
            "influencee": np.tile(ids[js], count),
            "influence": values[where][:, ks, js].reshape(-1).astype(np.float64),
        }
        if self.visible is not None:
            frame["visible"] = self.visible[where][:, ks, js].reshape(-1)
        return pd.DataFrame(frame)


class _PairwiseArgs(NamedTuple):
    divergence: Divergence
    num_steps: int
    num_envs: int | None  # B, or None without an environment axis
    num_agents: int
    predicts_next_step: bool
    agent_ids: tuple[str, ...]
    influencers: list[int]
    influencees: list[int]
    starts: np.ndarray  # (T,) or (T, B) bool
    visible: np.ndarray | None  # (T, [B,] N, N) bool
    actions: Array | None  # (T, [B,] N) int, for divergences evaluated at the realised action

    @property
    def lead(self) -> tuple[int, ...]:
        """(T,) or (T, B): the leading dimensions of every array."""
        return (self.num_steps,) if self.num_envs is None else (self.num_steps, self.num_envs)

    @property
    def dims(self) -> str:
        """``"T"`` or ``"T, B"``, for messages."""
        return "T" if self.num_envs is None else "T, B"


def _pairwise_iv(
    *,
    model: Any,
    alignment: str,
    divergence: DivergenceLike,
    influencers: Sequence[int | str] | None,
    influencees: Sequence[int | str] | None,
    visible: Any,
    episode_starts: Any,
    dones: Any,
    agent_ids: Sequence[str] | None,
    base: float | None,
    influencee_actions: Any,
) -> _PairwiseArgs:
    check_choice("alignment", alignment, ALIGNMENTS, hint=ALIGNMENT_HINT)
    entry = resolve_divergence(divergence)
    log_base(base)
    if not isinstance(model, JointPolicyModel):
        raise DTypeError(
            f"model: expected a JointPolicyModel (num_agents, num_steps, predicts_next_step, "
            f"counterfactual_logits, influencer_logits, influencer_values); got {describe(model)}"
        )
    n, t = int(model.num_agents), int(model.num_steps)
    if n < 1 or t < 1:
        raise ModelError(f"model: expected at least one agent and one step; got N={n}, T={t}")
    predicts_next = bool(model.predicts_next_step)
    if predicts_next and alignment == "same_step":
        raise ConfigError(
            "alignment='same_step' was requested from a model whose rows predict the next "
            "step (predicts_next_step=True, e.g. a MOA); use alignment='next_step'"
        )
    ids = tuple(f"agent_{i}" for i in range(n)) if agent_ids is None else tuple(agent_ids)
    if len(ids) != n or len(set(ids)) != n or not all(isinstance(a, str) for a in ids):
        raise ConfigError(f"agent_ids: expected {n} distinct strings; got {list(ids)}")
    b = _num_envs(model)
    lead, dims = ((t,), "T") if b is None else ((t, b), "T, B")
    if episode_starts is None and dones is None:
        episode_starts = getattr(model, "episode_starts", None)
    starts = as_episode_starts(lead, episode_starts=episode_starts, dones=dones)
    vis = None
    if visible is not None:
        vis = as_mask(visible, "visible", (*lead, n, n), dims=f"({dims}, N, N)")
    actions = None
    entry.check_actual(
        influencee_actions, "influencee_actions", f"an int array of shape ({dims}, N)"
    )
    if entry.needs_actual:
        actions = as_index(influencee_actions, "influencee_actions", None)
        check_shape(actions, "influencee_actions", (*lead, n), dims=f"({dims}, N)")
    return _PairwiseArgs(
        entry,
        t,
        b,
        n,
        predicts_next,
        ids,
        as_agent_indices(influencers, ids, "influencers"),
        as_agent_indices(influencees, ids, "influencees"),
        starts,
        vis,
        actions,
    )


def _num_envs(model: Any) -> int | None:
    """The model's environment axis B (its ``num_envs`` attribute), or None without one."""
    b = getattr(model, "num_envs", None)
    if b is None:
        return None
    if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 1:
        raise ModelError(
            f"model.num_envs: expected a positive integer (the environment axis B of its "
            f"arrays) or None; got {b!r}"
        )
    return int(b)


def _model_outputs(model: JointPolicyModel, args: _PairwiseArgs) -> tuple[Array, Array, Array]:
    """The model's counterfactual logits (T, [B,] I, J, K, A), influencer logits
    (T, [B,] I, K) and values (T, [B,] I), checked and on the backend of the counterfactual
    logits."""
    ks, js, lead, dims = args.influencers, args.influencees, args.lead, args.dims
    cf = model.counterfactual_logits(ks, js)
    prior = model.influencer_logits(ks)
    values = model.influencer_values(ks)
    hint = "check the model's layout (models.JointPolicyModel)"
    shape = (*lead, len(ks), len(js), None, None)
    check_shape(
        cf,
        "model.counterfactual_logits",
        shape,
        dims=f"({dims}, I, J, K, A)",
        hint=hint,
        error=ModelError,
    )
    num_values = int(cf.shape[-2])
    check_shape(
        prior,
        "model.influencer_logits",
        (*lead, len(ks), num_values),
        dims=f"({dims}, I, K)",
        hint=hint,
        error=ModelError,
    )
    check_shape(
        values,
        "model.influencer_values",
        (*lead, len(ks)),
        dims=f"({dims}, I)",
        hint=hint,
        error=ModelError,
    )
    values = as_index(
        values,
        "model.influencer_values",
        num_values,
        like=cf,
        expected=f"values in [0, K={num_values})",
        error=ModelError,
    )
    return cf, as_backend(prior, cf), values


# Long: docstring of 56 lines (ten options, the result, the errors, an example); code 28 lines.
def pairwise_influence(
    model: JointPolicyModel,
    *,
    alignment: str,
    divergence: DivergenceLike = "kl",
    influencers: Sequence[int | str] | None = None,
    influencees: Sequence[int | str] | None = None,
    visible: Any = None,
    episode_starts: Any = None,
    dones: Any = None,
    agent_ids: Sequence[str] | None = None,
    base: float | None = None,
    influencee_actions: Any = None,
) -> InfluenceResult:
    """Influence of every influencer's value on every influencee's action, at every step.

    ``influence[t, k, j] = D[p(a^j | k's actual value) || sum_c pi^k(c) p(a^j | c)]``, the
    counterfactual values c enumerated and weighted by k's own policy (Jaques et al. 2019,
    Eq. 1-2 and the MOA form): one call of ``model.counterfactual_logits`` for all pairs and
    one vectorised evaluation of :func:`~causal_influence.counterfactual.influence`.

    Parameters
    ----------
    model : JointPolicyModel
        A :mod:`causal_influence.models` adapter or any object with that protocol.
    alignment : {"same_step", "next_step"}
        k's value at t acts on j's action at t, or at t+1 credited to t (module docstring).
    divergence : str or callable, default "kl"
        A name of :data:`~causal_influence.divergences.DIVERGENCES` or ``f(log_p, log_q)``.
    influencers, influencees : sequence of int or agent id, optional
        Subsets of agents (default: all); other pairs are 0 and not ``computed``.
    visible : bool array of shape (T, N, N), optional
        ``visible[t, k, j]``: j in k's view when k chose its value; applied by the result's
        ``reward``, ``mean`` and ``to_dataframe`` (``visible_only=True``). (T, B, N, N) for a
        model with an environment axis (module docstring).
    episode_starts, dones : bool array of shape (T,), optional
        Episode boundaries (one of them): True at the first / last step of each episode
        ((T, B) with an environment axis). Default: the model's ``episode_starts`` attribute,
        else one episode.
    agent_ids : sequence of N str, optional
        Default ``agent_0 ... agent_{N-1}``.
    base : float, optional
        None for nats (default), 2 for bits.
    influencee_actions : int array of shape (T, N), optional
        Realised actions, required by ``"pmi"`` (read at t, or t+1 for next-step alignment);
        (T, B, N) with an environment axis.

    Returns
    -------
    InfluenceResult
        ``influence`` of shape (T, N, N) (or (T, B, N, N) for a model with ``num_envs`` B),
        numpy or torch as the model's counterfactual logits.

    Raises
    ------
    ConfigError, ShapeError, DTypeError
        Invalid options or arrays; ``tests/core/test_validation.py`` lists every message.
    ModelError
        The model returned arrays of the wrong shape or values outside ``[0, K)``.

    Examples
    --------
    >>> import numpy as np
    >>> from causal_influence.models import TabularModel
    >>> cf = np.zeros((1, 2, 2, 2, 2))
    >>> cf[:, 0, 1] = [[0.0, -np.inf], [-np.inf, 0.0]]   # agent 1 copies agent 0
    >>> model = TabularModel(cf, np.zeros((1, 2, 2)), np.zeros((1, 2), int))
    >>> float(pairwise_influence(model, alignment="same_step").influence[0, 0, 1])  # ln 2
    0.6931471805599453
    """
    args = _pairwise_iv(**locals())
    cf, prior, values = _model_outputs(model, args)
    rows, shift, valid = _rows(alignment, args)  # row r is read from counterfactual row r + shift
    pair = None
    if rows > 0:
        pair = influence(
            cf[shift : shift + rows],
            prior[:rows][..., None, :],
            values[:rows][..., None],
            divergence=args.divergence,
            influencee_action=_influencee_action(args, alignment, rows, cf),
            base=base,
        )  # (rows, [B,] I, J)
    return _result(pair, valid, alignment, base, args, like=cf)


def _rows(alignment: str, args: _PairwiseArgs) -> tuple[int, int, np.ndarray]:
    """Rows of influence, the counterfactual row each is read from (r + shift), valid rows.

    Same step: every row, unshifted. Next step: T - 1 rows, read one row later from a policy
    (none later from a MOA, whose row r already predicts r + 1); the last step of each
    episode has no successor.
    """
    t = args.num_steps
    if alignment == "same_step":
        return t, 0, np.ones(args.lead, dtype=bool)
    return t - 1, int(not args.predicts_next_step), next_step_valid(args.starts)


def _influencee_action(args: _PairwiseArgs, alignment: str, rows: int, like: Array) -> Any:
    """The influencees' realised actions (rows, [B,] 1, J) the influence is evaluated at, or
    None."""
    if args.actions is None:
        return None
    lag = 0 if alignment == "same_step" else 1
    return as_backend(args.actions[lag : lag + rows][..., args.influencees], like)[..., None, :]


def _result(
    pair: Array | None,
    valid: np.ndarray,
    alignment: str,
    base: float | None,
    args: _PairwiseArgs,
    *,
    like: Array,
) -> InfluenceResult:
    """Scatter the (rows, [B,] I, J) pair values into a (T, [B,] N, N) result, zero off the
    computed pairs and the invalid rows."""
    n, ks, js = args.num_agents, args.influencers, args.influencees
    computed = np.zeros((n, n), dtype=bool)
    computed[np.ix_(ks, js)] = True
    np.fill_diagonal(computed, False)
    keep = computed & valid[..., None, None]
    full: Any
    if is_torch(like):
        import torch

        dtype = like.dtype if like.is_floating_point() else torch.get_default_dtype()
        full = torch.zeros((*args.lead, n, n), dtype=dtype, device=like.device)
        if pair is not None:
            block = full[: pair.shape[0]]
            block[..., torch.tensor(ks)[:, None], torch.tensor(js)[None, :]] = pair.to(dtype)
        full = torch.where(torch.as_tensor(keep, device=like.device), full, torch.zeros_like(full))
    else:
        full = np.zeros((*args.lead, n, n), dtype=np.float64)
        if pair is not None:
            block = full[: pair.shape[0]]
            block[..., np.asarray(ks)[:, None], np.asarray(js)[None, :]] = pair
        full = np.where(keep, full, 0.0)
    return InfluenceResult(
        influence=full,
        agent_ids=args.agent_ids,
        alignment=alignment,
        divergence=args.divergence.name,
        base=base,
        valid=valid,
        computed=computed,
        visible=args.visible,
        num_envs=args.num_envs,
    )
