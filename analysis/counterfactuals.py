r"""What stored counterfactual logits add to a dataset summary (:func:`analysis.dataset.summarize`).

With ``counterfactual_logits`` (T, N, N, K, A) and the influencer's policy, every valid step
and ordered pair gets the causal influence of communication (CIC, the expected influence under
k's own policy, :func:`causal_influence.expected_influence`), its ``lowe_compat`` form and the
interventional responsiveness (:func:`causal_influence.interventional_responsiveness`), summed
per resampling unit (:func:`add_counterfactual_sums`). The same pass gives the KL influence k
would have under each of its K values, from which the moments of high influence are selected;
:func:`add_moment_null` re-selects them under within-episode permutations of k's variable (the
null of the comparison at moments of high influence, ``high_null``), so that selection alone
cannot produce significance.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable

import numpy as np

from causal_influence.communication import influential_moments
from causal_influence.counterfactual import (
    expected_influence,
    influence,
    interventional_responsiveness,
)
from causal_influence.errors import FileFormatError, ShapeError
from causal_influence.noise import NOISE_FLOOR_NATS
from causal_influence.trajectory import Trajectory
from causal_influence.trajectory.influence_spec import fill_absent

__all__ = ["add_counterfactual_sums", "add_moment_null", "taken_influence"]

_CIC_BLOCK = 1024  # rows per block for CIC (the per-row tensors are N * N * K * A)
_NULL_CELLS = 4_000_000  # codes per chunk of null permutations (bounds the temporary memory)


def add_counterfactual_sums(
    traj: Trajectory,
    rows: np.ndarray,
    unit: np.ndarray,
    *,
    variable: str | None,
    visible_only: bool,
    intervention: np.ndarray | None,
    add: Callable[[str, np.ndarray, np.ndarray], None],
) -> np.ndarray:
    """CIC, its ``lowe_compat`` form and the responsiveness of every valid step and pair.

    Each block of steps is handed to ``add(name, values (B, N, N), units (B,))`` for the
    per-unit sums ``cic_sum``, ``cic_compat_sum`` and ``responsiveness_sum``. Returns the KL
    influence k would have on all influencees under each of its K values, summed over
    influencees, shape (len(rows), N, K).
    """
    n = traj.num_agents
    cf = traj.counterfactual_logits
    prior_name = "message_logits" if variable == "messages" else "logits"
    prior = traj.message_logits if variable == "messages" else traj.logits
    if cf is None or prior is None:
        raise FileFormatError(
            f"counterfactual_logits need the influencer's policy ({prior_name}) for the "
            f"CIC weights; one of them is missing"
        )
    num_values = cf.shape[3]
    if prior.shape[-1] != num_values:
        raise ShapeError(
            f"counterfactual_logits has K = {num_values} counterfactual values but "
            f"{prior_name} has {prior.shape[-1]}"
        )
    off = ~np.eye(n, dtype=bool)
    weight = off.astype(np.float64)
    if visible_only and traj.visible is not None:
        weight = np.where(traj.visible[rows], weight, 0.0)  # (R, N, N)
    else:
        weight = np.broadcast_to(weight, (rows.size, n, n))
    if intervention is not None and intervention.shape[-1] != num_values:
        raise ShapeError(
            f"intervention: expected probabilities over the K = {num_values} values of "
            f"the influencer's variable; got shape {intervention.shape}"
        )
    by_value = np.zeros((rows.size, n, num_values))
    values = np.arange(num_values)
    for start in range(0, rows.size, _CIC_BLOCK):
        r = rows[start : start + _CIC_BLOCK]
        block = np.array(fill_absent(cf[r]), dtype=np.float64)
        block[:, ~off] = 0.0  # the diagonal is never used: a valid (uniform) placeholder
        log_prior = np.asarray(fill_absent(prior[r]), dtype=np.float64)[:, :, None, :]
        cic = np.where(off, expected_influence(block, log_prior), 0.0)
        resp = interventional_responsiveness(block, intervention=intervention)
        add("cic_sum", cic, unit[r])
        # The released code's marginal is a mean over the K values: + ln K per step.
        add("cic_compat_sum", np.where(off, cic + np.log(num_values), 0.0), unit[r])
        add("responsiveness_sum", np.where(off, resp, 0.0), unit[r])
        kl = influence(block[..., None, :, :], log_prior[..., None, :], values)  # (B,N,N,K)
        w = weight[start : start + _CIC_BLOCK]
        by_value[start : start + r.size] = (kl * w[..., None]).sum(axis=2)
    return by_value


def taken_influence(by_value: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The influence of the values k took: ``by_value[..., t, k, values[..., t, k]]``, 0 where
    k has no value (-1: no message).

    ``by_value`` (P, N, K) is from :func:`add_counterfactual_sums`; ``values`` (..., P, N) are
    k's values at those steps (permuted copies stacked in front for the moments null).
    """
    table = by_value.reshape((1,) * (values.ndim - 2) + by_value.shape)
    chosen = np.take_along_axis(table, np.clip(values, 0, None)[..., None], axis=-1)[..., 0]
    return np.where(values >= 0, chosen, 0.0)


def _episode_rngs(
    seed: int | None, src: np.ndarray, actions: np.ndarray, ids: np.ndarray, bounds: list[int]
) -> list[np.random.Generator]:
    """One generator per episode block, seeded by the analysis seed and the episode's
    content (its id and data), so that every reading of the same episode (one process or
    one Ray task per shard) draws the same permutations."""
    gens = []
    for a, b in itertools.pairwise(bounds):
        digest = hashlib.blake2b(digest_size=16)
        digest.update(np.int64(ids[a]).tobytes())
        digest.update(np.ascontiguousarray(src[a:b]).tobytes())
        digest.update(np.ascontiguousarray(actions[a:b]).tobytes())
        words = np.frombuffer(digest.digest(), dtype=np.uint32).tolist()
        gens.append(np.random.default_rng(np.random.SeedSequence([seed or 0, *words])))
    return gens


def add_moment_null(
    null: np.ndarray,
    by_value: np.ndarray,
    src: np.ndarray,
    rows: np.ndarray,
    ids: np.ndarray,
    actions: np.ndarray,
    pairs: np.ndarray,
    *,
    lag: int,
    seed: int | None,
    floor: float = NOISE_FLOOR_NATS,
) -> None:
    """Add into ``null`` (B, N, N, K, A) the tables of (k's permuted variable, j's action at
    t + lag) at the moments re-selected under each of B within-episode permutations of k's
    variable (the selection is repeated on the permuted data: selection alone cannot produce
    significance).

    ``by_value`` (P, N, K) is the influence of every value of k's variable at the valid steps
    ``rows`` (P,), from :func:`add_counterfactual_sums`; ``src`` and ``actions`` (T, N) are k's
    variable and the actions, ``ids`` (T,) the episode ids, ``pairs`` the steps t whose
    t + lag lies in the same episode. ``floor``: the noise floor the observed moments were
    selected with (below it, every step is a moment).
    """
    b_total, n, _, k_size, a_size = null.shape
    p = rows.size
    if p == 0:
        return
    ep = ids[rows]
    bounds = [*np.flatnonzero(np.r_[True, ep[1:] != ep[:-1]]).tolist(), p]
    gens = _episode_rngs(seed, src[rows], actions[rows], ep, bounds)
    pair_ok = np.zeros(src.shape[0], dtype=bool)
    pair_ok[pairs] = True
    ok = pair_ok[rows]
    y = actions[np.minimum(rows + lag, src.shape[0] - 1)]  # (P, N) listener at t + lag
    src_rows = src[rows]
    chunk = max(1, _NULL_CELLS // max(1, p * n * n))
    kk, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    for first in range(0, b_total, chunk):
        c = min(chunk, b_total - first)
        perm = np.empty((c, p), dtype=np.int64)
        for (a, b), gen in zip(itertools.pairwise(bounds), gens, strict=True):
            perm[:, a:b] = a + gen.permuted(np.tile(np.arange(b - a), (c, 1)), axis=1)
        v = src_rows[perm]  # (c, P, N): k's variable, permuted within episodes
        has = v >= 0
        vv = np.clip(v, 0, None)
        value = taken_influence(by_value, v)
        flat = value.transpose(1, 0, 2).reshape(p, c * n)
        mom = influential_moments(flat, episode_ids=ep, floor=floor)  # as the observed moments
        mom = mom.reshape(p, c, n).transpose(1, 0, 2) & has & ok[None, :, None]
        bidx = (first + np.arange(c))[:, None, None, None]
        code = (((bidx * n + kk) * n + jj) * k_size + vv[..., :, None]) * a_size
        code = code + y[None, :, None, :]
        keep = np.broadcast_to(mom[..., None], code.shape)
        null.reshape(-1)[...] += np.bincount(code[keep], minlength=null.size)
