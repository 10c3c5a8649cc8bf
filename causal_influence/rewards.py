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

Time alignment (METRICS.md, Conventions)
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

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from causal_influence._backend import Array, is_torch, to_float, to_int, validate_logits
from causal_influence.divergences import DIVERGENCES
from causal_influence.engine import ALIGNMENTS, pairwise_influence
from causal_influence.errors import ConfigError, DTypeError, ShapeError, describe
from causal_influence.models import TabularModel

__all__ = ["credited_influence", "influence_reward", "reward_from_pairwise"]


# --------------------------------------------------------------------------------------------
# backend-neutral array plumbing


def _as_backend(x: Any, use_torch: bool, like: Any = None) -> Any:
    """``x`` as a torch tensor (on ``like``'s device) or a numpy array."""
    if use_torch:
        import torch

        if is_torch(x):
            return x.detach()
        device = like.device if like is not None else None
        return torch.as_tensor(np.asarray(x), device=device)
    if is_torch(x):
        return np.asarray(x.detach().cpu().numpy())
    return np.asarray(x)


def _bool_rows(x: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """A (T, *B) boundary mask as a numpy bool array."""
    arr = np.asarray(x.detach().cpu().numpy()) if is_torch(x) else np.asarray(x)
    if arr.ndim == len(shape) + 1 and arr.shape[-1] == 1:  # trailing singleton (TorchRL style)
        arr = arr[..., 0]
    if arr.shape != shape:
        raise ShapeError(
            f"{name}: expected a bool array of shape (T, *B) = {shape}, one entry per step and "
            f"environment; got {describe(arr)}"
        )
    if arr.dtype.kind not in "bui":
        raise DTypeError(f"{name}: expected booleans (or 0/1); got {describe(arr)}")
    return arr.astype(bool)


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


# --------------------------------------------------------------------------------------------
# public functions


def credited_influence(
    counterfactual_logits: Any,
    logits: Any,
    actions: Any,
    *,
    alignment: str,
    predicts_next_step: bool = False,
    divergence: str = "kl",
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
    if alignment not in ALIGNMENTS:
        raise ConfigError(
            f"alignment: expected one of {ALIGNMENTS}; got {alignment!r}; use 'same_step' for "
            f"a^k_t -> a^j_t and 'next_step' for messages and MOA (a^k_t -> a^j_(t+1))"
        )
    if divergence not in DIVERGENCES:
        raise ConfigError(f"divergence: expected one of {DIVERGENCES}; got {divergence!r}")
    if predicts_next_step and alignment == "same_step":
        raise ConfigError(
            "predicts_next_step=True (a model of other agents) needs alignment='next_step'; "
            "got alignment='same_step'"
        )
    if dones is not None and episode_starts is not None:
        raise ConfigError(
            "dones and episode_starts: pass one of them (dones[t] True = step t ends an "
            "episode; episode_starts[t] True = step t begins one)"
        )
    use_torch = any(is_torch(x) for x in (counterfactual_logits, logits, actions))
    if use_torch:
        import torch

        grad_guard: Any = torch.no_grad()
    else:
        import contextlib

        grad_guard = contextlib.nullcontext()
    with grad_guard:
        return _credited(
            counterfactual_logits,
            logits,
            actions,
            use_torch=use_torch,
            alignment=alignment,
            predicts_next_step=bool(predicts_next_step),
            divergence=divergence,
            dones=dones,
            episode_starts=episode_starts,
            influencers=influencers,
            influencees=influencees,
            influencee_actions=influencee_actions,
            base=base,
        )


def _credited(
    counterfactual_logits: Any,
    logits: Any,
    actions: Any,
    *,
    use_torch: bool,
    alignment: str,
    predicts_next_step: bool,
    divergence: str,
    dones: Any,
    episode_starts: Any,
    influencers: Sequence[int] | None,
    influencees: Sequence[int] | None,
    influencee_actions: Any,
    base: float | None,
) -> Array:
    # The counterfactual logits (the large array) are validated once, by the core's influence
    # (errors name them ``cf_logits``); the small ones here, under their own names.
    cf = to_float(_as_backend(counterfactual_logits, use_torch), "counterfactual_logits")
    prior = validate_logits(_as_backend(logits, use_torch, cf), "logits", min_ndim=3)
    if use_torch:
        prior = prior.to(cf.dtype)
    values = to_int(_as_backend(actions, use_torch, cf), "actions")

    # ---- shapes
    t_len, n, k = int(prior.shape[0]), int(prior.shape[-2]), int(prior.shape[-1])
    batch = tuple(int(s) for s in prior.shape[1:-2])
    nb = len(batch)
    if t_len < 1 or n < 1:
        raise ShapeError(f"logits: expected at least one step and one agent; got {describe(prior)}")
    if tuple(values.shape) != (t_len, *batch, n):
        raise ShapeError(
            f"actions: expected shape (T, *B, N) = {(t_len, *batch, n)} to match logits "
            f"{tuple(prior.shape)}; got {describe(values)}"
        )
    if bool(((values < 0) | (values >= k)).any()):
        raise ShapeError(
            f"actions: expected values in [0, K={k}) (K = last axis of logits); got values "
            f"outside that range; pass the index of the value each agent took"
        )
    expected_cf = (n, n, k)
    if cf.ndim != prior.ndim + 2 or tuple(cf.shape[-4:-1]) != expected_cf:
        raise ShapeError(
            f"counterfactual_logits: expected shape (T, *B, N, N, K, A) = "
            f"(T, {', '.join(map(str, (*batch, n, n, k)))}, A) to match logits "
            f"{tuple(prior.shape)} (row k = influencer, column j = influencee, K values of k); "
            f"got {describe(cf)}"
        )
    cf_rows = int(cf.shape[0])
    bootstrap = cf_rows == t_len + 1
    if tuple(cf.shape[1 : 1 + nb]) != batch or cf_rows not in (t_len, t_len + 1):
        raise ShapeError(
            f"counterfactual_logits: expected T = {t_len} rows (or T + 1 with a bootstrap row) "
            f"and batch dimensions {batch} as in logits; got {describe(cf)}"
        )
    if bootstrap and (alignment == "same_step" or predicts_next_step):
        raise ShapeError(
            f"counterfactual_logits: T + 1 = {cf_rows} rows (a bootstrap row) only apply to "
            f"alignment='next_step' with a policy (predicts_next_step=False); got "
            f"alignment={alignment!r}, predicts_next_step={predicts_next_step}; pass T = "
            f"{t_len} rows"
        )
    acts = None
    if divergence == "pmi":
        if influencee_actions is None:
            raise ConfigError(
                "divergence='pmi' is evaluated at each influencee's realised action; pass "
                "influencee_actions (T, *B, N), or (T+1, *B, N) with the actions of the step "
                "after the batch for alignment='next_step'"
            )
        acts = to_int(_as_backend(influencee_actions, use_torch, cf), "influencee_actions")
        rows_ok = (t_len,) if alignment == "same_step" else (t_len, t_len + 1)
        if int(acts.shape[0]) not in rows_ok or tuple(acts.shape[1:]) != (*batch, n):
            raise ShapeError(
                f"influencee_actions: expected shape (T, *B, N) = {(t_len, *batch, n)}"
                + (" or with T + 1 rows" if alignment == "next_step" else "")
                + f"; got {describe(acts)}"
            )

    # ---- episode boundaries, one block of rows per environment
    if alignment == "same_step":
        rows = t_len
        starts = np.zeros((t_len, *batch), dtype=bool)
    else:
        # One extra row per block, so that the last step of the batch is paired with the step
        # after it: the bootstrap policy, or (MOA) nothing at all beyond knowing that the
        # episode goes on.
        rows = t_len + 1
        starts = np.zeros((rows, *batch), dtype=bool)
        continues = predicts_next_step or bootstrap
        if acts is not None and int(acts.shape[0]) == t_len:
            continues = False  # the influencee's action after the batch is unknown
        starts[t_len] = not continues
    if dones is not None:
        d = _bool_rows(dones, "dones", (t_len, *batch))
        starts[1:t_len] = d[:-1]
        if rows > t_len:
            starts[t_len] |= d[-1]
    elif episode_starts is not None:
        starts[:t_len] = _bool_rows(episode_starts, "episode_starts", (t_len, *batch))
    starts[0] = True

    cf = _pad_last_row(cf, rows)
    prior = _pad_last_row(prior, rows)
    values = _pad_last_row(values, rows)
    if acts is not None:
        acts = _fold(_pad_last_row(acts, rows), nb)
    model = TabularModel(
        _fold(cf, nb),
        _fold(prior, nb),
        _fold(values, nb),
        predicts_next_step=predicts_next_step,
    )
    result = pairwise_influence(
        model,
        alignment=alignment,
        divergence=divergence,
        influencers=influencers,
        influencees=influencees,
        episode_starts=_fold(starts, nb),
        influencee_actions=acts,
        base=base,
    )
    return _unfold(result.influence, batch, rows, t_len)


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
    if getattr(pairwise, "ndim", 0) < 2 or pairwise.shape[-1] != pairwise.shape[-2]:
        raise ShapeError(
            f"pairwise: expected an array of shape (..., N, N), row = influencer, column = "
            f"influencee; got {describe(pairwise)}"
        )
    values: Any = pairwise if is_torch(pairwise) else np.asarray(pairwise)
    if visible is not None:
        mask = _as_backend(visible, is_torch(values), values if is_torch(values) else None)
        if tuple(mask.shape) != tuple(values.shape):
            raise ShapeError(
                f"visible: expected the shape of pairwise, {tuple(values.shape)}; got "
                f"{describe(mask)}"
            )
        if is_torch(values):
            import torch

            values = torch.where(mask.bool(), values, torch.zeros_like(values))
        else:
            values = np.where(mask.astype(bool), values, 0.0)
    out = values.sum(-1)
    if influencee_reward:
        out = out + values.sum(-2)
    return out


def influence_reward(
    counterfactual_logits: Any,
    logits: Any,
    actions: Any,
    *,
    alignment: str,
    predicts_next_step: bool = False,
    divergence: str = "kl",
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
    credited to the step t at which k chose its value (the reference's one-step credit shift
    for next-step influence), with nothing credited across an episode boundary. Numpy in gives
    numpy out; torch in gives torch out, without gradient (a reward is a constant for the
    policy gradient).

    Parameters
    ----------
    counterfactual_logits : array of shape (T, *B, N, N, K, A), or T + 1 rows
        ``[t, ..., k, j, c]``: logits of influencee j's action with influencer k's value
        replaced by c, everything else as observed: the influencees' policies re-run on the
        K values (centralised), or k's model of other agents. Entries outside the computed
        pairs (the diagonal, pairs not requested) are ignored but must be valid logits, e.g.
        zeros. The row meaning depends on ``alignment`` (module docstring); an extra row T,
        the policies at the step after the batch, lets the last step of a next-step batch be
        credited.
    logits : array of shape (T, *B, N, K)
        Each agent's policy over its own value at the step it chose it: action logits, or
        message logits when the influence of messages is measured. These weight the
        counterfactual marginal.
    actions : int array of shape (T, *B, N)
        The value each agent took (its action, or its message), in [0, K).
    alignment : {"same_step", "next_step"}
        Required; see the module docstring.
    predicts_next_step : bool, default False
        True when row t of the counterfactual logits predicts the influencees' actions at t+1
        (a model of other agents); requires ``alignment="next_step"``.
    divergence : {"kl", "jsd", "pmi", "tv"}, default "kl"
    dones : bool array of shape (T, *B), optional
        True where step t ends an episode (terminated or truncated). A trailing axis of size 1
        is accepted.
    episode_starts : bool array of shape (T, *B), optional
        Alternative to ``dones``: True where step t begins an episode (what CleanRL's
        ``dones`` buffer holds).
    visible : bool array of shape (T, *B, N, N), optional
        ``visible[t, ..., k, j]``: j was in k's view when k acted at step t; influence on
        agents out of view is not rewarded.
    influencee_reward : bool, default False
        Also reward each influencee with the influence it received.
    influencers, influencees : sequence of int, optional
        Subsets of agents (default: all); e.g. ``influencers=[0]`` when only agent 0 acts
        first in the basic setting.
    influencee_actions : int array of shape (T, *B, N), optional
        The influencees' realised actions, required by ``"pmi"`` (T + 1 rows for next-step
        alignment to cover the last step of the batch).
    base : float, optional
        None for nats (default), 2 for bits.

    Returns
    -------
    numpy.ndarray or torch.Tensor of shape (T, *B, N)
        Unweighted and unclipped; multiply by the influence coefficient before adding it.

    Raises
    ------
    ShapeError
        Arrays whose shapes do not match each other, actions out of range.
    ConfigError
        Unknown alignment or divergence, both ``dones`` and ``episode_starts``, ``"pmi"``
        without ``influencee_actions``, bad agent subsets.
    InvalidDistributionError
        NaN or ``+inf`` logits, or rows of all ``-inf``.

    Examples
    --------
    In a CleanRL-style PPO loop the buffers are time-major, ``(num_steps, num_agents, ...)``;
    the influence reward goes into ``rb_rewards`` before the advantage loop. Here agent 0
    acts first and the other agents' policies read its action, so ``rb_cf_logits[t, 0, j, c]``
    is agent j's policy re-run with agent 0's action set to c::

        rb_rewards += influence_coef * influence_reward(
            rb_cf_logits, rb_logits, rb_actions,
            alignment="same_step", influencers=[0], dones=rb_terms | rb_truncs,
        )
        # ... then the usual GAE loop over rb_rewards, rb_values, rb_terms

    A runnable version with torch buffers: agent 1's policy follows agent 0's action with
    probability 0.9, agent 0 is uniform, so agent 0 earns ``ln 2 - H_b(0.9) = 0.368`` nats
    per step:

    >>> import torch
    >>> rb_logits = torch.zeros(4, 2, 2)                       # (T, N, A)
    >>> rb_actions = torch.tensor([[0, 0], [1, 1], [0, 1], [1, 1]])
    >>> rb_cf_logits = torch.zeros(4, 2, 2, 2, 2)             # (T, N, N, K, A)
    >>> rb_cf_logits[:, 0, 1] = torch.log(torch.tensor([[0.9, 0.1], [0.1, 0.9]]))
    >>> rb_rewards = torch.ones(4, 2)
    >>> rb_rewards += 0.5 * influence_reward(rb_cf_logits, rb_logits, rb_actions,
    ...                                      alignment="same_step", influencers=[0])
    >>> rb_rewards
    tensor([[1.1840, 1.0000],
            [1.1840, 1.0000],
            [1.1840, 1.0000],
            [1.1840, 1.0000]])
    """
    pairwise = credited_influence(
        counterfactual_logits,
        logits,
        actions,
        alignment=alignment,
        predicts_next_step=predicts_next_step,
        divergence=divergence,
        dones=dones,
        episode_starts=episode_starts,
        influencers=influencers,
        influencees=influencees,
        influencee_actions=influencee_actions,
        base=base,
    )
    if visible is not None:
        expected = tuple(pairwise.shape)
        got = tuple(getattr(visible, "shape", np.shape(visible)))
        if got != expected:
            raise ShapeError(
                f"visible: expected a bool array of shape (T, *B, N, N) = {expected}; got "
                f"{describe(visible)}"
            )
    return reward_from_pairwise(pairwise, visible=visible, influencee_reward=influencee_reward)
