"""Offline influence without policy access: a model of other agents fitted on saved features
and actions recovers the influence of known policies."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.offline import fit_offline_influence
from causal_influence.engine import pairwise_influence
from causal_influence.errors import ConfigError
from causal_influence.models import TabularModel

A = 3


def noisy(p: float) -> np.ndarray:
    return p * np.eye(A) + (1 - p) / A


def known_policies(episodes: int = 30, length: int = 300, seed: int = 0) -> dict:
    """Agent 0 acts on a hidden state (seen in the features), agent 1 copies agent 0's
    previous action with noise, agent 2 acts uniformly. Returns the data and the true
    next-step influence tensor computed through the engine from the true policies."""
    rng = np.random.default_rng(seed)
    total = episodes * length
    ids = np.repeat(np.arange(episodes), length)
    starts = np.zeros(total, dtype=bool)
    starts[::length] = True
    states = rng.integers(0, A, total)
    pi0 = noisy(0.6)
    follow = noisy(0.8)
    u = rng.random((total, 3))
    a0 = (u[:, 0:1] > np.cumsum(pi0[states], axis=1)).sum(axis=1)
    prev = np.roll(a0, 1)
    p1 = np.where(starts[:, None], 1.0 / A, follow[prev])
    a1 = (u[:, 1:2] > np.cumsum(p1, axis=1)).sum(axis=1)
    a2 = rng.integers(0, A, total)
    actions = np.stack([a0, a1, a2], axis=1)
    probs = np.stack([pi0[states], p1, np.full((total, A), 1.0 / A)], axis=1)  # (T, N, A)
    # Counterfactual row t: each agent's true policy at t + 1 under k's action c at t.
    nxt = np.roll(probs, -1, axis=0)
    cf = np.broadcast_to(nxt[:, None, :, None, :], (total, 3, 3, A, A)).copy()
    cf[:, 0, 1] = follow
    model = TabularModel.from_probabilities(
        cf, probs, actions, predicts_next_step=True, episode_starts=starts
    )
    truth = pairwise_influence(model, alignment="next_step")
    features = np.eye(A, dtype=np.float32)[states]
    return {
        "actions": actions,
        "episode_ids": ids,
        "features": features,
        "logits": np.log(probs),
        "truth": truth,
    }


@pytest.fixture(scope="module")
def data() -> dict:
    return known_policies()


def test_recovers_the_true_influence_without_policy_access(data) -> None:
    fit = fit_offline_influence(
        {"actions": data["actions"], "episode_ids": data["episode_ids"]},
        features=data["features"],
        hidden=32,
        epochs=30,
        num_threads=1,
        rng=0,
    )
    assert fit.prior == "fitted"
    truth = data["truth"].mean()
    estimate = np.asarray(fit.influence.mean())
    assert truth[0, 1] > 0.2
    assert estimate[0, 1] == pytest.approx(truth[0, 1], abs=0.03)
    off = ~np.eye(3, dtype=bool)
    off[0, 1] = False
    assert np.abs(estimate[off]).max() < 0.02
    assert np.array_equal(fit.influence.valid, data["truth"].valid)
    # Held out: withholding agent 0's action costs agent 1 log-likelihood; nothing else does.
    ll = fit.loglik.set_index(["k", "j"])
    assert ll.loc[(0, 1), "gain"] > 5 * ll.loc[(0, 1), "gain_se"]
    # The gain estimates the conditional MI, whose truth here is the mean influence.
    assert ll.loc[(0, 1), "gain"] == pytest.approx(truth[0, 1], abs=0.05)
    others = ll.drop(index=(0, 1))
    assert (others["gain"].abs() < 4 * others["gain_se"] + 0.005).all()
    assert set(np.concatenate([fit.train_episodes, fit.test_episodes])) == set(range(30))
    assert fit.history[-1] < fit.history[0]


def test_stored_policy_weights_and_same_step(data) -> None:
    fit = fit_offline_influence(
        {"actions": data["actions"], "episode_ids": data["episode_ids"], "logits": data["logits"]},
        features=data["features"],
        hidden=32,
        epochs=20,
        num_threads=1,
        rng=1,
    )
    assert fit.prior == "stored"
    assert float(fit.influence.mean()[0, 1]) == pytest.approx(data["truth"].mean()[0, 1], abs=0.03)
    # Same step: agent 1 copies agent 0 exactly at the same step (ln 3 nats per step).
    rng = np.random.default_rng(2)
    a0 = rng.integers(0, A, 4000)
    same = np.stack([a0, a0, rng.integers(0, A, 4000)], axis=1)
    fit = fit_offline_influence(
        {"actions": same}, alignment="same_step", hidden=16, epochs=30, num_threads=1, rng=2
    )
    mean = np.asarray(fit.influence.mean())
    assert mean[0, 1] == pytest.approx(np.log(3), abs=0.05)
    assert mean[1, 0] == pytest.approx(np.log(3), abs=0.05)
    assert mean[0, 2] < 0.02
    assert mean[2, 0] < 0.02
    with pytest.raises(ConfigError):
        fit_offline_influence({"actions": same}, alignment="later")
