"""Measures named by what they mean (issue 11, item 2): interventional responsiveness,
grounded information and conditional coordination, against closed forms and plain loops."""

from __future__ import annotations

import math

import numpy as np
import pytest

import causal_influence as ci
from causal_influence.errors import DTypeError, InvalidDistributionError, ShapeError
from causal_influence.grounding import (
    conditional_coordination_counts,
    grounding_counts,
)
from causal_influence.information import permutation_test, permutation_test_counts

COPY4 = np.where(np.eye(4, dtype=bool), 0.0, -np.inf)  # j plays k's symbol


def speaker_policy(q: float, target: int = 0, n: int = 4) -> np.ndarray:
    """Sends the target with probability q, each other symbol with (1 - q) / (n - 1)."""
    p = np.full(n, (1 - q) / (n - 1))
    p[target] = q
    return p


@pytest.mark.parametrize(
    ("q", "paper"),
    [(0.9, 0.4350), (0.99, 0.0670), (0.999, 0.0090)],
)
def test_perfect_language_influence_is_the_speaker_entropy_responsiveness_is_ln4(
    q: float, paper: float
) -> None:
    """The issue's worked case: a listener that copies every message. The paper's influence is
    I(m; a | state) = H(pi) (information beyond the speaker's state), small for a nearly
    deterministic speaker; the responsiveness is ln 4 whatever the speaker does."""
    pi = speaker_policy(q)
    entropy = -float(np.sum(pi * np.log(pi)))
    value = float(ci.expected_influence(COPY4, np.log(pi)))
    assert value == pytest.approx(entropy, abs=1e-12)
    assert value == pytest.approx(paper, abs=5e-4)
    assert float(ci.interventional_responsiveness(COPY4)) == pytest.approx(math.log(4), abs=1e-12)


def test_responsiveness_is_expected_influence_under_the_intervention() -> None:
    rng = np.random.default_rng(0)
    cf = rng.normal(size=(6, 5, 3)) * 2
    uniform = ci.expected_influence(cf, np.zeros(5))
    np.testing.assert_allclose(ci.interventional_responsiveness(cf), uniform, rtol=1e-12)
    w = rng.dirichlet(np.ones(5), size=6)
    np.testing.assert_allclose(
        ci.interventional_responsiveness(cf, intervention=w),
        ci.expected_influence(cf, np.log(w)),
        rtol=1e-12,
    )
    # A plain loop of the interventional MI with the uniform intervention.
    p = np.exp(cf - np.log(np.exp(cf).sum(-1, keepdims=True)))
    marg = p.mean(axis=1)
    loop = [
        sum(p[b, c, a] / 5 * math.log(p[b, c, a] / marg[b, a]) for c in range(5) for a in range(3))
        for b in range(6)
    ]
    np.testing.assert_allclose(ci.interventional_responsiveness(cf), loop, rtol=1e-10)
    # Noisy copy (docs/metrics.md, closed-form cases), n = 4, p = 0.5: 0.312752 nats.
    noisy = np.log(0.5 * np.eye(4) + 0.5 / 4)
    assert float(ci.interventional_responsiveness(noisy)) == pytest.approx(0.312752, abs=1e-6)
    # A point-mass intervention moves nothing: 0 exactly.
    assert float(ci.interventional_responsiveness(COPY4, intervention=[0, 0, 1, 0])) == 0.0


def test_responsiveness_errors_and_bits() -> None:
    assert float(ci.interventional_responsiveness(COPY4, base=2)) == pytest.approx(2.0)
    with pytest.raises(ShapeError, match="K=4"):
        ci.interventional_responsiveness(COPY4, intervention=[0.5, 0.5])
    with pytest.raises(InvalidDistributionError):
        ci.interventional_responsiveness(COPY4, intervention=[0.5, 0.5, 0.5, 0.5])


# --------------------------------------------------------------------------- grounding


def test_grounded_information_skips_missing_and_matches_mi() -> None:
    rng = np.random.default_rng(1)
    t = 3000
    target = rng.integers(0, 3, t)
    noisy = np.where(rng.random(t) < 0.8, target, rng.integers(0, 3, t))
    messages = np.stack([noisy, rng.integers(0, 3, t), np.full(t, -1)], axis=1)
    context = np.stack([target, target, target], axis=1)
    context[::7, 0] = -1  # steps at which the speaker saw nothing
    messages[::11, 0] = -1  # and steps at which it said nothing
    got = ci.grounded_information(messages, context)
    keep = (messages[:, 0] >= 0) & (context[:, 0] >= 0)
    assert got[0] == pytest.approx(ci.mutual_information(noisy[keep], target[keep]), abs=1e-12)
    assert got[1] == pytest.approx(ci.mutual_information(messages[:, 1], target), abs=1e-12)
    assert got[1] < 0.01  # a babbling speaker
    assert np.isnan(got[2])  # never speaks
    counts = grounding_counts(messages, context, num_symbols=3, num_contexts=3)
    assert counts.shape == (3, 3, 3)
    assert counts[0].sum() == keep.sum()
    assert counts[2].sum() == 0


def loop_conditional_coordination(m, a, g, k, j, lag, ids):
    xs, ys, zs = [], [], []
    for t in range(len(m) - lag):
        if ids[t] != ids[t + lag] or m[t, k] < 0 or g[t, k] < 0:
            continue
        xs.append(m[t, k])
        ys.append(a[t + lag, j])
        zs.append(g[t, k])
    return ci.conditional_mutual_information(xs, ys, zs)


def test_conditional_coordination_against_a_loop_and_the_common_cause() -> None:
    rng = np.random.default_rng(2)
    t = 2400
    ids = np.repeat(np.arange(12), 200)
    target = rng.integers(0, 4, t)
    m0 = np.where(rng.random(t) < 0.9, target, rng.integers(0, 4, t))
    m0[rng.random(t) < 0.05] = -1
    msgs = np.stack([m0, np.full(t, -1), rng.integers(0, 4, t)], axis=1)
    ctx = np.stack([target, target, np.full(t, -1)], axis=1)
    acts = rng.integers(0, 4, (t, 3))
    acts[1:, 1] = target[:-1]  # agent 1 follows the target it sees: a common cause
    res = ci.conditional_coordination(msgs, acts, ctx, lag=1, episode_ids=ids)
    assert res.matrix[0, 1] == 0.0  # exactly: given the target the action is fixed
    ic = ci.instantaneous_coordination(np.maximum(msgs, 0), acts, lag=1, episode_ids=ids)
    assert ic.matrix[0, 1] > 0.8  # pooled coordination reads as communication
    for k, j in [(0, 1), (0, 2), (1, 0), (2, 1)]:
        loop = (
            loop_conditional_coordination(msgs, acts, ctx, k, j, 1, ids)
            if (msgs[:, k] >= 0).any() and (ctx[:, k] >= 0).any()
            else np.nan
        )
        if np.isnan(loop):
            assert np.isnan(res.matrix[k, j])
        else:
            assert res.matrix[k, j] == pytest.approx(loop, abs=1e-12)
    assert np.isnan(res.matrix.diagonal()).all()
    counts = conditional_coordination_counts(msgs, acts, ctx, lag=1, episode_ids=ids)
    assert counts.shape == (3, 3, 4, 4, 4)
    assert res.counts[0, 1] == counts[0, 1].sum()


def test_conditional_coordination_of_a_listener_acting_on_the_message() -> None:
    """Message grounded with noise, listener copies the message: given the target the
    message still varies (noise), and the listener follows it: conditional coordination
    equals the closed form sum_g p(g) I(m; a | g)."""
    rng = np.random.default_rng(3)
    t = 40000
    target = rng.integers(0, 4, t)
    m = np.where(rng.random(t) < 0.7, target, rng.integers(0, 4, t))
    msgs = np.stack([m, np.full(t, -1)], axis=1)
    ctx = np.stack([target, np.full(t, -1)], axis=1)
    acts = np.stack([np.zeros(t, int), np.r_[0, m[:-1]]], axis=1)
    res = ci.conditional_coordination(msgs, acts, ctx, lag=1)
    # Given g the listener's action is the message itself: I(m; a | g) = H(m | g).
    q, o = 0.7 + 0.3 / 4, 0.3 / 4
    expected = -(q * math.log(q) + 3 * o * math.log(o))
    assert res.matrix[0, 1] == pytest.approx(expected, abs=0.01)


def test_grounding_input_errors() -> None:
    with pytest.raises(DTypeError, match="-1"):
        ci.grounded_information([[0, -2]], [[0, 0]])
    with pytest.raises(ShapeError, match="same shape"):
        ci.grounded_information([[0, 1]], [[0]])
    with pytest.raises(ShapeError, match="no missing"):
        ci.conditional_coordination([[0]], [[-1]], [[0]])
    with pytest.raises(ShapeError, match="alphabet size"):
        ci.grounded_information([[3]], [[0]], num_symbols=2)


def test_conditional_permutation_test_from_counts_equals_the_label_test() -> None:
    rng = np.random.default_rng(4)
    z = rng.integers(0, 3, 500)
    x = (z + rng.integers(0, 2, 500)) % 4
    y = np.where(rng.random(500) < 0.3, x, (2 * z + rng.integers(0, 2, 500)) % 4)
    from_labels = permutation_test(x, y, z=z, n_resamples=199, rng=7)
    tables = np.zeros((3, 4, 4), dtype=np.int64)
    np.add.at(tables, (z, x, y), 1)
    from_counts = permutation_test_counts(tables, n_resamples=199, rng=7)
    assert from_counts == from_labels
    assert from_counts.pvalue < 0.01
    assert from_counts.statistic == pytest.approx(ci.conditional_mutual_information(x, y, z))
