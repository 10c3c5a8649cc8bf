"""Extension by registration: a divergence or an estimator added in one call is used everywhere.

Oracles are plain loops over steps, agent pairs and actions written with ``math``; values are
in nats unless a test says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest
import torch

import causal_influence as ci
from causal_influence.divergences import DIVERGENCES, register_divergence
from causal_influence.information import (
    ESTIMATORS,
    conditional_mutual_information,
    mutual_information,
    register_estimator,
)

T, N, K = 5, 3, 3


def softmax(row: np.ndarray) -> list[float]:
    m = max(float(x) for x in row if math.isfinite(x))
    e = [math.exp(float(x) - m) if math.isfinite(x) else 0.0 for x in row]
    return [x / sum(e) for x in e]


def hellinger2(p: list[float], q: list[float]) -> float:
    """Squared Hellinger distance 1 - sum sqrt(p q), in [0, 1]."""
    return 1.0 - sum(math.sqrt(a * b) for a, b in zip(p, q, strict=True))


def renyi2(p: list[float], q: list[float]) -> float:
    """Renyi divergence of order 2, log sum p^2 / q (nats)."""
    return math.log(sum(a * a / b for a, b in zip(p, q, strict=True) if a > 0))


def plain_pairwise(cf, prior, values, score) -> np.ndarray:
    """influence[t, k, j] = score(p(.|actual), marginal) by loops (same-step alignment)."""
    out = np.zeros((T, N, N))
    for t in range(T):
        for k in range(N):
            pi = softmax(prior[t, k])
            for j in range(N):
                if j == k:
                    continue
                rows = [softmax(cf[t, k, j, c]) for c in range(K)]
                marg = [sum(pi[c] * rows[c][a] for c in range(K)) for a in range(K)]
                out[t, k, j] = score(rows[int(values[t, k])], marg)
    return out


@pytest.fixture
def batch() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    cf = rng.normal(size=(T, N, N, K, K)) * 1.5
    prior = rng.normal(size=(T, N, K))
    values = rng.integers(0, K, size=(T, N))
    return cf, prior, values


@pytest.fixture
def hellinger() -> Iterator[str]:
    """The squared Hellinger distance, registered for one test: ONE call in ONE place."""

    def squared_hellinger(log_p, log_q):
        both = 0.5 * (log_p + log_q)
        if isinstance(both, torch.Tensor):
            return 1.0 - both.exp().sum(-1)
        return 1.0 - np.exp(both).sum(-1)

    register_divergence(
        "hellinger2_test",
        squared_hellinger,
        unit="probability",
        value_range="[0, 1]",
        description="squared Hellinger distance",
    )
    yield "hellinger2_test"
    DIVERGENCES.unregister("hellinger2_test")


def test_registered_divergence_is_used_by_the_engine_and_the_reward(batch, hellinger) -> None:
    cf, prior, values = batch
    expected = plain_pairwise(cf, prior, values, hellinger2)
    model = ci.TabularModel(cf, prior, values)
    result = ci.pairwise_influence(model, alignment="same_step", divergence=hellinger, base=2)
    np.testing.assert_allclose(result.influence, expected, atol=1e-12)  # base: unit-free
    assert result.divergence == hellinger
    reward = ci.influence_reward(cf, prior, values, alignment="same_step", divergence=hellinger)
    np.testing.assert_allclose(reward, expected.sum(-1), atol=1e-12)
    torch_reward = ci.influence_reward(
        torch.tensor(cf),
        torch.tensor(prior),
        torch.tensor(values),
        alignment="same_step",
        divergence=hellinger,
    )
    np.testing.assert_allclose(torch_reward.numpy(), expected.sum(-1), atol=1e-12)
    assert DIVERGENCES[hellinger].unit_label(2) == "probability"


def test_unknown_name_lists_the_registered_ones(hellinger) -> None:
    with pytest.raises(ci.ConfigError, match=r"\['kl', 'jsd', 'pmi', 'tv', 'hellinger2_test'\]"):
        ci.influence(np.zeros((2, 2)), np.zeros(2), 0, divergence="hellinger")


def test_callable_divergence_matches_a_plain_loop(batch) -> None:
    """A user's function f(log_p, log_q) -> values, passed as divergence=, no registration."""
    cf, prior, values = batch

    def renyi_order_2(log_p, log_q):
        return np.log(np.exp(2.0 * log_p - log_q).sum(-1))

    expected = plain_pairwise(cf, prior, values, renyi2)
    model = ci.TabularModel(cf, prior, values)
    result = ci.pairwise_influence(model, alignment="same_step", divergence=renyi_order_2)
    np.testing.assert_allclose(result.influence, expected, rtol=1e-12, atol=1e-12)
    assert result.divergence == "renyi_order_2"
    reward = ci.influence_reward(cf, prior, values, alignment="same_step", divergence=renyi_order_2)
    np.testing.assert_allclose(reward, expected.sum(-1), rtol=1e-12)
    one = ci.influence(cf[0, 0, 1], prior[0, 0], values[0, 0], divergence=renyi_order_2)
    assert float(one) == pytest.approx(expected[0, 0, 1], rel=1e-12)
    # The values are used as returned: base= does not rescale a callable's values.
    in_bits = ci.influence(cf[0, 0, 1], prior[0, 0], values[0, 0], divergence=renyi_order_2, base=2)
    assert float(in_bits) == pytest.approx(expected[0, 0, 1], rel=1e-12)


def test_callable_agrees_with_the_registered_kl(batch) -> None:
    cf, prior, values = batch

    def kl(log_p, log_q):
        return (np.exp(log_p) * (log_p - log_q)).sum(-1)

    model = ci.TabularModel(cf, prior, values)
    ours = ci.pairwise_influence(model, alignment="next_step", divergence=kl).influence
    built_in = ci.pairwise_influence(model, alignment="next_step", divergence="kl").influence
    np.testing.assert_allclose(ours, built_in, atol=1e-12)


def test_registered_divergence_at_the_realised_action(batch) -> None:
    """A divergence that needs the influencee's action gets it from influencee_actions."""
    cf, prior, values = batch
    rng = np.random.default_rng(3)
    acted = rng.integers(0, K, size=(T, N))

    def squared_log_ratio(log_p, log_q, actual):
        shape = np.broadcast_shapes(log_p.shape, log_q.shape)
        at = np.broadcast_to(actual, shape[:-1])[..., None]
        lp = np.take_along_axis(np.broadcast_to(log_p, shape), at, -1)[..., 0]
        lq = np.take_along_axis(np.broadcast_to(log_q, shape), at, -1)[..., 0]
        return (lp - lq) ** 2

    register_divergence("sq_log_ratio_test", squared_log_ratio, needs_actual=True)
    try:
        model = ci.TabularModel(cf, prior, values)
        with pytest.raises(ci.ConfigError, match="influencee_actions"):
            ci.pairwise_influence(model, alignment="same_step", divergence="sq_log_ratio_test")
        result = ci.pairwise_influence(
            model, alignment="same_step", divergence="sq_log_ratio_test", influencee_actions=acted
        )
        pmi = ci.pairwise_influence(
            model, alignment="same_step", divergence="pmi", influencee_actions=acted
        )
        np.testing.assert_allclose(result.influence, pmi.influence**2, atol=1e-12)
    finally:
        DIVERGENCES.unregister("sq_log_ratio_test")


def test_registered_estimator_is_used_by_every_measure() -> None:
    """An estimator with an entropy correction corrects MI and conditional MI consistently."""

    def all_bins(counts):  # Miller-Madow counting every bin of the table, occupied or not
        return (counts.shape[-1] - 1) / (2.0 * counts.sum(axis=-1))

    register_estimator(
        "mm_all_bins_test", "Miller-Madow over all bins", entropy_correction=all_bins
    )
    try:
        x = np.tile([0, 0, 1, 1, 2, 2, 0, 1], 2)
        y = np.tile([0, 1, 1, 1, 0, 0, 0, 1], 2)
        z = np.tile([0, 0, 0, 0, 1, 1, 1, 1], 2)
        n = x.size
        plug = mutual_information(x, y)
        # 3 x 2 table: corrections (3-1) + (2-1) - (6-1) over 2n
        assert mutual_information(x, y, estimator="mm_all_bins_test") == pytest.approx(
            plug + (2 + 1 - 5) / (2 * n), abs=1e-12
        )
        # Pooled entropies over 2 strata: XZ 6 bins, YZ 4, XYZ 12, Z 2
        cmi = conditional_mutual_information(x, y, z)
        got = conditional_mutual_information(x, y, z, estimator="mm_all_bins_test")
        assert got == pytest.approx(cmi + (5 + 3 - 11 - 1) / (2 * n), abs=1e-12)
        ic = ci.instantaneous_coordination(
            np.stack([x, y], 1), np.stack([y, x], 1), lag=0, estimator="mm_all_bins_test"
        )
        assert np.isfinite(ic.matrix[0, 1])
        assert "mm_all_bins_test" in ESTIMATORS
    finally:
        ESTIMATORS.unregister("mm_all_bins_test")
    with pytest.raises(ci.ConfigError, match="mm_all_bins_test"):
        mutual_information([0, 1], [0, 1], estimator="mm_all_bins_test")


def test_registry_entries_carry_units_and_ranges() -> None:
    assert list(DIVERGENCES) == ["kl", "jsd", "pmi", "tv"]
    assert [DIVERGENCES[k].unit_label() for k in DIVERGENCES] == [
        "nats",
        "nats",
        "nats",
        "probability",
    ]
    assert DIVERGENCES["jsd"].unit_label(2) == "bits"
    assert DIVERGENCES["pmi"].needs_actual
    assert DIVERGENCES["pmi"].expectation == "kl"
    assert DIVERGENCES["jsd"].value_range == "[0, ln 2]"
    assert list(ESTIMATORS) == ["plugin", "miller_madow", "shuffle"]
    assert not ESTIMATORS["shuffle"].corrects_entropy
    assert str(ESTIMATORS) == "['plugin', 'miller_madow', 'shuffle']"
    with pytest.raises(ci.ConfigError, match="already registered"):
        register_divergence("tv", lambda log_p, log_q: log_p.sum(-1))
