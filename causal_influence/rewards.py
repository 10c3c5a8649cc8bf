r"""Influence rewards for any training loop: a batch of arrays in, rewards per step and agent out.

Most multi-agent codebases already collect, for every step of a batch, each agent's policy
logits and action. :func:`influence_reward` turns them, together with the counterfactual
logits of the influencees (from re-running their policies with the influencer's action
replaced, or from a model of other agents), into the social-influence reward of Jaques et al.
2019, **credited to the step whose action caused it** and ready to be added to the extrinsic
rewards before advantages are computed:

.. math:: r^k_t \mathrel{+}= \beta \sum_{j \ne k} D\big[p(a^j \mid a^k_t, \cdot) \,\big\|\,
          \textstyle\sum_{c} \pi^k(c \mid \cdot)\, p(a^j \mid c, \cdot)\big]

Nothing is computed here that the core does not already compute: the arrays are arranged as a
table-backed :class:`~causal_influence.models.JointPolicyModel` and evaluated by
:func:`causal_influence.engine.pairwise_influence` (one vectorised call for the whole batch,
every environment of the batch and every pair), so training rewards and offline analysis use
the same formula and the same time alignment.

Layout
------
Time-major, agent second, with any number of batch dimensions ``B`` (parallel environments)
between them, e.g. ``(T, N, ...)`` for one environment or ``(T, B, N, ...)`` for B:

=========================  ========================  ============================================
argument                   shape                     meaning
=========================  ========================  ============================================
``counterfactual_logits``  (T, *B, N, N, K, A)       ``[t, ..., k, j, c]``: logits of influencee
                           or (T+1, *B, N, N, K, A)  j's action when influencer k's value is c
``logits``                 (T, *B, N, K)             each agent's policy over its own value (its
                                                     action logits, or message logits)
``actions``                (T, *B, N) int            the value each agent took, in [0, K)
``dones``                  (T, *B) bool              True where step t ends an episode
``episode_starts``         (T, *B) bool              True where step t begins one (alternative)
``visible``                (T, *B, N, N) bool        j visible to k when k acted at step t
=========================  ========================  ============================================

Time alignment (``docs/metrics.md``, section "Time alignment")
----------------------------------------
``alignment="same_step"``
    Centralised basic influence, ``a^k_t -> a^j_t``: row t of the counterfactual logits is the
    influencees' policy at t, with the influencer's action of step t replaced.
``alignment="next_step"``, ``predicts_next_step=False``
    Messages (or actions seen by others one step later), ``m^k_t -> a^j_{t+1}``: row t holds
    the influencees' policy at step t (whose input carries the values of step t-1). The value
    is measured at t+1 and **credited back to t**, the reference's one-step shift. The last
    step of each episode gets 0 (nobody acts on its value). The last step of the batch needs
    the influencees' policy at the step after the batch: pass T+1 rows (row T = that policy,
    computed anyway for the value bootstrap), else it gets 0.
``alignment="next_step"``, ``predicts_next_step=True``
    A model of other agents (MOA): row t is k's prediction of j's action at t+1 made from k's
    action at t; credited to t, 0 at the last step of each episode.

Whether the batch's last step ends an episode is read from ``dones``; with ``episode_starts``
(or no boundaries at all) the episode is taken to continue after the batch.

Examples
--------
Two agents, three steps; agent 1 copies agent 0's action at the same step and agent 0 plays
uniformly, so agent 0 earns ln 2 at every step:

>>> import numpy as np
>>> from causal_influence.rewards import influence_reward
>>> cf = np.zeros((3, 2, 2, 2, 2))                       # (T, N, N, K, A)
>>> cf[:, 0, 1] = [[0.0, -np.inf], [-np.inf, 0.0]]       # j = 1 copies k = 0
>>> influence_reward(cf, np.zeros((3, 2, 2)), [[0, 1], [1, 1], [1, 0]],
...                  alignment="same_step").round(6)
array([[0.693147, 0.      ],
       [0.693147, 0.      ],
       [0.693147, 0.      ]])

A model of other agents (next step) over four steps with an episode ending at step 1: the
last step of that episode earns nothing, the batch's last step earns its influence because
its episode goes on:

>>> moa = np.zeros((4, 2, 2, 2, 2))
>>> moa[:, 0, 1] = np.log([[0.9, 0.1], [0.1, 0.9]])     # k = 0's MOA of j = 1's next action
>>> influence_reward(moa, np.zeros((4, 2, 2)), np.zeros((4, 2), int), alignment="next_step",
...                  predicts_next_step=True, dones=[False, True, False, False])[:, 0].round(4)
array([0.3681, 0.    , 0.3681, 0.3681])
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from causal_influence._backend import Array, is_torch
from causal_influence.divergences import Divergence, DivergenceLike, resolve_divergence
from causal_influence.engine import ALIGNMENT_HINT, ALIGNMENTS, pairwise_influence
from causal_influence.errors import ConfigError, ShapeError, describe
from causal_influence.models import TabularModel
from causal_influence.validation import (
    as_agent_indices,
    as_backend,
    as_episode_starts,
    as_float,
    as_index,
    as_mask,
    check_choice,
    check_finite,
    check_logits,
    log_base,
)

__all__ = ["credited_influence", "influence_reward", "reward_from_pairwise"]


# --------------------------------------------------------------------------------------------
# validation


class _Batch(NamedTuple):
    """The checked arrays of a batch, on one backend (torch tensors detached)."""

    divergence: Divergence
    cf: Array  # (T or T + 1, *B, N, N, K, A)
    prior: Array  # (T, *B, N, K)
    values: Array  # (T, *B, N) in [0, K)
    acts: Array | None  # (T or T + 1, *B, N), for divergences evaluated at the realised action
    batch: tuple[int, ...]  # B
    starts: np.ndarray  # (T, *B) episode starts
    last_done: np.ndarray  # (*B,) whether the batch's last step ends its episode
    influencers: list[int]
    influencees: list[int]
    visible: np.ndarray | None  # (T, *B, N, N)
    influencee_reward: bool

    @property
    def num_steps(self) -> int:
        return int(self.prior.shape[0])

    @property
    def use_torch(self) -> bool:
        return is_torch(self.cf)


def _credited_iv(
    *,
    counterfactual_logits: Any,
    logits: Any,
    actions: Any,
    alignment: str,
    predicts_next_step: bool,
    divergence: DivergenceLike,
    dones: Any,
    episode_starts: Any,
    influencers: Sequence[int] | None,
    influencees: Sequence[int] | None,
    influencee_actions: Any,
    base: float | None,
    visible: Any = None,
    influencee_reward: bool = False,
) -> _Batch:
    """The arguments of :func:`credited_influence` and :func:`influence_reward`, checked."""
    check_choice("alignment", alignment, ALIGNMENTS, hint=ALIGNMENT_HINT)
    entry = resolve_divergence(divergence)
    log_base(base)
    if predicts_next_step and alignment == "same_step":
        raise ConfigError(
            "predicts_next_step=True (a model of other agents) needs alignment='next_step'; "
            "got alignment='same_step'"
        )
    cf, prior, values = _arrays_iv(counterfactual_logits, logits, actions)
    t, n, batch = int(prior.shape[0]), int(prior.shape[-2]), tuple(prior.shape[1:-2])
    _rows_iv(cf, t, batch, alignment, predicts_next_step)
    acts = None
    if entry.needs_actual:
        acts = _influencee_actions_iv(influencee_actions, entry, cf, (t, *batch, n), alignment)
    starts = as_episode_starts((t, *batch), episode_starts=episode_starts, dones=dones)
    last = np.zeros(batch, dtype=bool)
    if dones is not None:
        last = as_mask(dones, "dones", (t, *batch), dims="(T, *B)")[-1]
    if visible is not None:
        visible = as_mask(visible, "visible", (t, *batch, n, n), dims="(T, *B, N, N)")
    return _Batch(
        entry,
        cf,
        prior,
        values,
        acts,
        batch,
        starts,
        last,
        as_agent_indices(influencers, n, "influencers"),
        as_agent_indices(influencees, n, "influencees"),
        visible,
        bool(influencee_reward),
    )


def _arrays_iv(counterfactual_logits: Any, logits: Any, actions: Any) -> tuple[Any, Any, Any]:
    """Counterfactual logits, policy logits and actions, on one backend, their shapes matched.

    The counterfactual logits (the large array) are checked as logits once, by the engine
    (errors name them ``cf_logits``); the small arrays here, under their own names.
    """
    use_torch = any(is_torch(x) for x in (counterfactual_logits, logits, actions))
    cf = as_float(_detached(counterfactual_logits, use_torch), "counterfactual_logits")
    prior = check_logits(as_backend(_detached(logits, use_torch), cf), "logits", min_ndim=3)
    prior = prior.to(cf.dtype) if use_torch else prior
    t, n, k = int(prior.shape[0]), int(prior.shape[-2]), int(prior.shape[-1])
    batch = tuple(int(s) for s in prior.shape[1:-2])
    if t < 1 or n < 1:
        raise ShapeError(f"logits: expected at least one step and one agent; got {describe(prior)}")
    values = as_index(
        _detached(actions, use_torch),
        "actions",
        k,
        like=cf,
        expected=f"values in [0, K={k}) (K = last axis of logits)",
        hint="pass the index of the value each agent took",
    )
    if tuple(values.shape) != (t, *batch, n):
        raise ShapeError(
            f"actions: expected shape (T, *B, N) = {(t, *batch, n)} to match logits "
            f"{tuple(prior.shape)}; got {describe(values)}"
        )
    if cf.ndim != prior.ndim + 2 or tuple(cf.shape[-4:-1]) != (n, n, k):
        raise ShapeError(
            f"counterfactual_logits: expected shape (T, *B, N, N, K, A) = "
            f"(T, {', '.join(map(str, (*batch, n, n, k)))}, A) to match logits "
            f"{tuple(prior.shape)} (row k = influencer, column j = influencee, K values of k); "
            f"got {describe(cf)}"
        )
    return cf, prior, values


def _detached(x: Any, use_torch: bool) -> Any:
    """``x`` as a detached tensor (``use_torch``) or as it is."""
    if not use_torch:
        return x
    import torch

    return x.detach() if is_torch(x) else torch.as_tensor(np.asarray(x))


def _rows_iv(
    cf: Any, t: int, batch: tuple[int, ...], alignment: str, predicts_next_step: bool
) -> None:
    """The counterfactual logits have T rows, or T + 1 (a bootstrap row) for a next-step
    policy, and the batch dimensions of the logits."""
    rows = int(cf.shape[0])
    if tuple(cf.shape[1 : 1 + len(batch)]) != batch or rows not in (t, t + 1):
        raise ShapeError(
            f"counterfactual_logits: expected T = {t} rows (or T + 1 with a bootstrap row) "
            f"and batch dimensions {batch} as in logits; got {describe(cf)}"
        )
    if rows == t + 1 and (alignment == "same_step" or predicts_next_step):
        raise ShapeError(
            f"counterfactual_logits: T + 1 = {rows} rows (a bootstrap row) only apply to "
            f"alignment='next_step' with a policy (predicts_next_step=False); got "
            f"alignment={alignment!r}, predicts_next_step={predicts_next_step}; pass T = "
            f"{t} rows"
        )


def _influencee_actions_iv(
    influencee_actions: Any, entry: Divergence, cf: Any, shape: tuple[int, ...], alignment: str
) -> Any:
    """The influencees' realised actions, T rows (or T + 1 for next-step alignment)."""
    entry.check_actual(
        influencee_actions,
        "influencee_actions",
        "an int array of shape (T, *B, N), or (T + 1, *B, N) with the actions of the step after "
        "the batch for alignment='next_step'",
    )
    t = shape[0]
    acts = as_index(_detached(influencee_actions, is_torch(cf)), "influencee_actions", None)
    acts = as_backend(acts, cf)
    rows_ok = (t,) if alignment == "same_step" else (t, t + 1)
    if int(acts.shape[0]) not in rows_ok or tuple(acts.shape[1:]) != shape[1:]:
        raise ShapeError(
            f"influencee_actions: expected shape (T, *B, N) = {shape}"
            + (" or with T + 1 rows" if alignment == "next_step" else "")
            + f"; got {describe(acts)}"
        )
    return acts


# --------------------------------------------------------------------------------------------
# one block of rows per environment


def _pad_last_row(x: Any, rows: int) -> Any:
    """Append copies of the last row along axis 0 until ``x`` has ``rows`` rows."""
    missing = rows - int(x.shape[0])
    if missing <= 0:
        return x
    if is_torch(x):
        import torch

        return torch.cat([x, x[-1:].expand(missing, *x.shape[1:])], dim=0)
    return np.concatenate([x, np.repeat(x[-1:], missing, axis=0)], axis=0)


def _fold(x: Any, num_batch: int) -> Any:
    """(R, *B, ...) -> (prod(B) * R, ...): each environment's rows in one contiguous block."""
    if num_batch == 0:
        return x
    moved = x.movedim(0, num_batch) if is_torch(x) else np.moveaxis(x, 0, num_batch)
    lead = math.prod(int(s) for s in moved.shape[: num_batch + 1])
    return moved.reshape(lead, *moved.shape[num_batch + 1 :])


def _unfold(x: Any, batch: tuple[int, ...], rows: int, keep: int) -> Any:
    """Inverse of :func:`_fold`, keeping the first ``keep`` of ``rows`` rows per block."""
    x = x.reshape(*batch, rows, *x.shape[1:])
    nb = len(batch)
    if is_torch(x):
        return x.narrow(nb, 0, keep).movedim(nb, 0)
    return np.moveaxis(np.take(x, np.arange(keep), axis=nb), nb, 0)


def _row_starts(args: _Batch, alignment: str, predicts_next_step: bool) -> np.ndarray:
    """Episode starts of the rows given to the engine: (T, *B), or (T + 1, *B) for next-step
    alignment, whose extra row pairs the batch's last step with the step after it (the
    bootstrap policy or, for a MOA, only the knowledge that the episode goes on)."""
    if alignment == "same_step":
        return args.starts
    continues = predicts_next_step or int(args.cf.shape[0]) == args.num_steps + 1
    if args.acts is not None and int(args.acts.shape[0]) == args.num_steps:
        continues = False  # the influencee's action after the batch is unknown
    after = np.logical_or(not continues, args.last_done)
    return np.concatenate([args.starts, after[None]], axis=0)


def _credit(args: _Batch, alignment: str, predicts_next_step: bool, base: float | None) -> Array:
    """Pairwise influence (T, *B, N, N) of a checked batch, by the engine on a table model."""
    rows = args.num_steps + (alignment == "next_step")
    nb = len(args.batch)
    starts = _row_starts(args, alignment, predicts_next_step)
    acts = None if args.acts is None else _fold(_pad_last_row(args.acts, rows), nb)
    grad_guard: Any = contextlib.nullcontext()
    if args.use_torch:
        import torch

        grad_guard = torch.no_grad()
    with grad_guard:
        model = TabularModel(
            _fold(_pad_last_row(args.cf, rows), nb),
            _fold(_pad_last_row(args.prior, rows), nb),
            _fold(_pad_last_row(args.values, rows), nb),
            predicts_next_step=predicts_next_step,
        )
        result = pairwise_influence(
            model,
            alignment=alignment,
            divergence=args.divergence,
            influencers=args.influencers,
            influencees=args.influencees,
            episode_starts=_fold(starts, nb),
            influencee_actions=acts,
            base=base,
        )
    return _unfold(result.influence, args.batch, rows, args.num_steps)


# --------------------------------------------------------------------------------------------
# public functions


def credited_influence(
    counterfactual_logits: Any,
    logits: Any,
    actions: Any,
    *,
    alignment: str,
    predicts_next_step: bool = False,
    divergence: DivergenceLike = "kl",
    dones: Any = None,
    episode_starts: Any = None,
    influencers: Sequence[int] | None = None,
    influencees: Sequence[int] | None = None,
    influencee_actions: Any = None,
    base: float | None = None,
) -> Array:
    """Pairwise influence of a batch, credited to the step where the influencer acted.

    The per-pair form of :func:`influence_reward` (same parameters, see there and the module
    docstring for shapes and time alignment), before the visibility mask and the sum over
    influencees.

    Returns
    -------
    numpy.ndarray or torch.Tensor of shape (T, *B, N, N)
        ``out[t, ..., k, j]``: influence of influencer k's value at step t on influencee j
        (nats unless ``base``); 0 on the diagonal, for pairs outside ``influencers`` x
        ``influencees`` and where nothing is influenced (see the module docstring). A torch
        result carries no gradient.

    Examples
    --------
    A message sent at t is heard at t+1; the listener's policy at t+1 (row t+1 of the
    counterfactual logits) is what the message of t changes, and the value lands on row t:

    >>> import numpy as np
    >>> cf = np.zeros((3, 2, 2, 2, 2))
    >>> cf[1:, 0, 1] = [[0.0, -np.inf], [-np.inf, 0.0]]   # from t = 1 on, 1 copies 0's message
    >>> credited_influence(cf, np.zeros((3, 2, 2)), np.zeros((3, 2), int),
    ...                    alignment="next_step")[:, 0, 1].round(6)
    array([0.693147, 0.693147, 0.      ])
    """
    args = _credited_iv(**locals())
    return _credit(args, alignment, bool(predicts_next_step), base)


def _pairwise_reward_iv(pairwise: Any, visible: Any) -> tuple[Any, Any]:
    """Pairwise influence (..., N, N) and the visibility mask of its shape on its backend."""
    if getattr(pairwise, "ndim", 0) < 2 or pairwise.shape[-1] != pairwise.shape[-2]:
        raise ShapeError(
            f"pairwise: expected an array of shape (..., N, N), row = influencer, column = "
            f"influencee; got {describe(pairwise)}"
        )
    values: Any = check_finite(pairwise if is_torch(pairwise) else np.asarray(pairwise), "pairwise")
    if visible is None:
        return values, None
    mask = as_backend(_detached(visible, is_torch(values)), values)
    if tuple(mask.shape) != tuple(values.shape):
        raise ShapeError(
            f"visible: expected the shape of pairwise, {tuple(values.shape)}; got {describe(mask)}"
        )
    return values, mask.bool() if is_torch(mask) else mask.astype(bool)


def reward_from_pairwise(
    pairwise: Any, *, visible: Any = None, influencee_reward: bool = False
) -> Array:
    """Influence reward of each agent from pairwise influence: the sum over its influencees.

    Parameters
    ----------
    pairwise : numpy.ndarray or torch.Tensor of shape (..., N, N)
        Row = influencer k, column = influencee j (e.g. :func:`credited_influence`).
    visible : bool array of shape (..., N, N), optional
        ``visible[..., k, j]``: j was visible to k when k acted; influence on agents out of
        view is dropped (Jaques et al. 2019, MOA setting).
    influencee_reward : bool, default False
        Also give each influencee the influence it received (column sums; the "influencee
        reward" variant of the basic setting).

    Returns
    -------
    numpy.ndarray or torch.Tensor of shape (..., N)
        ``sum_j visible[k, j] * pairwise[k, j]`` (plus ``sum_i visible[i, k] * pairwise[i, k]``).

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([[0.0, 0.5, 0.25], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    >>> reward_from_pairwise(p)
    array([0.75, 1.  , 0.  ])
    >>> reward_from_pairwise(p, visible=np.eye(3, k=1, dtype=bool), influencee_reward=True)
    array([0.5, 1.5, 1. ])
    """
    values, mask = _pairwise_reward_iv(pairwise, visible)
    if mask is not None and is_torch(values):
        import torch

        values = torch.where(mask, values, torch.zeros_like(values))
    elif mask is not None:
        values = np.where(mask, values, 0.0)
    out = values.sum(-1)
    return out + values.sum(-2) if influencee_reward else out


def influence_reward(
    counterfactual_logits: Any,
    logits: Any,
    actions: Any,
    *,
    alignment: str,
    predicts_next_step: bool = False,
    divergence: DivergenceLike = "kl",
    dones: Any = None,
    episode_starts: Any = None,
    visible: Any = None,
    influencee_reward: bool = False,
    influencers: Sequence[int] | None = None,
    influencees: Sequence[int] | None = None,
    influencee_actions: Any = None,
    base: float | None = None,
) -> Array:
    r"""Social-influence reward of every agent at every step of a batch, ready to add.

    ``reward[t, ..., k] = sum_j D[p(a^j | k's value at t) || sum_c pi^k(c) p(a^j | c)]``,
    credited to the step t at which k chose its value, never across an episode boundary.
    Numpy in gives numpy out; torch in gives torch out, without gradient. Shapes and time
    alignment: the module docstring ("Layout", "Time alignment").

    Parameters
    ----------
    counterfactual_logits : array of shape (T, *B, N, N, K, A), or T + 1 rows
        ``[t, ..., k, j, c]``: influencee j's logits with k's value replaced by c (policies
        re-run, or k's model of other agents); entries outside the computed pairs must be
        valid logits (e.g. zeros). Row T (next-step policies) credits the batch's last step.
    logits : array of shape (T, *B, N, K)
        Each agent's policy over its own value (action or message logits): the weights.
    actions : int array of shape (T, *B, N)
        The value each agent took, in [0, K).
    alignment : {"same_step", "next_step"}
    predicts_next_step : bool, default False
        Row t predicts the influencees' actions at t+1 (a model of other agents).
    divergence : str or callable, default "kl"
        A name of :data:`~causal_influence.divergences.DIVERGENCES` or ``f(log_p, log_q)``.
    dones, episode_starts : bool array of shape (T, *B), optional
        Episode boundaries, one of them: True where step t ends (``dones``, a trailing axis of
        size 1 accepted) or begins (``episode_starts``, CleanRL's ``dones``) an episode.
    visible : bool array of shape (T, *B, N, N), optional
        j in k's view when k acted at step t; influence out of view is not rewarded.
    influencee_reward : bool, default False
        Also reward each influencee with the influence it received.
    influencers, influencees : sequence of int, optional
        Subsets of agents (default: all), e.g. ``influencers=[0]`` when agent 0 acts first.
    influencee_actions : int array of shape (T, *B, N), optional
        Realised actions, required by ``"pmi"`` (T + 1 rows cover a next-step batch's end).
    base : float, optional
        None for nats (default), 2 for bits.

    Returns
    -------
    numpy.ndarray or torch.Tensor of shape (T, *B, N)
        Unweighted and unclipped: multiply by the influence coefficient before adding it.

    Examples
    --------
    Agent 1 follows agent 0's action with probability 0.9, agent 0 is uniform, so agent 0
    earns ``ln 2 - H_b(0.9) = 0.368`` nats per step (torch buffers, as in a PPO loop):

    >>> import torch
    >>> rb_cf_logits = torch.zeros(4, 2, 2, 2, 2)             # (T, N, N, K, A)
    >>> rb_cf_logits[:, 0, 1] = torch.log(torch.tensor([[0.9, 0.1], [0.1, 0.9]]))
    >>> rb_actions = torch.tensor([[0, 0], [1, 1], [0, 1], [1, 1]])
    >>> influence_reward(rb_cf_logits, torch.zeros(4, 2, 2), rb_actions,
    ...                  alignment="same_step", influencers=[0])[:, 0]
    tensor([0.3681, 0.3681, 0.3681, 0.3681])
    """
    args = _credited_iv(**locals())
    pairwise = _credit(args, alignment, bool(predicts_next_step), base)
    return reward_from_pairwise(
        pairwise, visible=args.visible, influencee_reward=args.influencee_reward
    )
