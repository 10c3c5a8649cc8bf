"""Divergences and array-level influence against closed forms (docs/metrics.md), SciPy
oracles, plain-loop references and hypothesis properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import jensenshannon

from causal_influence.counterfactual import expected_influence, influence, marginal_policy
from causal_influence.divergences import (
    divergence,
    js_divergence,
    kl_divergence,
    pointwise_mutual_information,
    total_variation,
)
from causal_influence.errors import ConfigError, DTypeError, InvalidDistributionError, ShapeError

LN2 = math.log(2.0)
NINF = -np.inf


def logs(p: np.ndarray | list) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(p, dtype=float))


def units(value_nats: float) -> list[tuple[float | None, float]]:
    """(base, expected) pairs in nats and bits."""
    return [(None, value_nats), (2, value_nats / LN2)]


# --------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("base", [None, 2])
def test_case1_independence(base: float | None) -> None:
    cf = logs([[0.3, 0.7], [0.3, 0.7]])
    prior = logs([0.6, 0.4])
    assert np.allclose(influence(cf, prior, [0, 1], base=base), 0.0, atol=1e-12)
    assert abs(float(expected_influence(cf, prior, base=base))) < 1e-12


@pytest.mark.parametrize("n", [2, 3, 4, 5, 8, 9])
def test_case2_deterministic_copy(n: int) -> None:
    cf = logs(np.eye(n))
    prior = np.zeros(n)
    for base, expected in units(math.log(n)):
        assert np.allclose(influence(cf, prior, np.arange(n), base=base), expected, atol=1e-9)
        assert float(expected_influence(cf, prior, base=base)) == pytest.approx(expected, abs=1e-9)


def test_case2_nonuniform_copy_is_surprisal() -> None:
    cf = logs(np.eye(2))
    prior = logs([0.75, 0.25])
    r = influence(cf, prior, [0, 1])
    assert r == pytest.approx([-math.log(0.75), -math.log(0.25)], abs=1e-9)
    for base, expected in units(0.562335):
        assert float(expected_influence(cf, prior, base=base)) == pytest.approx(expected, abs=1e-6)


def noisy_copy(n: int, p: float) -> np.ndarray:
    return p * np.eye(n) + (1 - p) / n


@pytest.mark.parametrize(
    ("n", "p", "nats"),
    [
        (2, 0.5, 0.130812),
        (2, 0.8, 0.368064),
        (2, 0.0, 0.0),
        (2, 1.0, LN2),
        (4, 0.5, 0.312752),
        (5, 0.9, 1.219765),
    ],
)
def test_case3_noisy_copy(n: int, p: float, nats: float) -> None:
    q = p + (1 - p) / n
    o = (1 - p) / n
    formula = math.log(n) + q * math.log(q) + ((n - 1) * o * math.log(o) if o > 0 else 0.0)
    assert formula == pytest.approx(nats, abs=1e-6)
    cf = logs(noisy_copy(n, p))
    prior = np.zeros(n)
    for base, expected in units(formula):
        per_step = influence(cf, prior, np.arange(n), base=base)
        assert np.allclose(per_step, expected, atol=1e-9)  # uniform pi: all rewards equal
        assert float(expected_influence(cf, prior, base=base)) == pytest.approx(expected, abs=1e-9)


def test_case4_z_channel() -> None:
    cf = logs([[0.5, 0.5], [0.0, 1.0]])
    prior = np.zeros(2)
    for base, scale in [(None, 1.0), (2, LN2)]:
        r = influence(cf, prior, [0, 1], base=base)
        assert r == pytest.approx(
            [0.5 * math.log(4 / 3) / scale, math.log(4 / 3) / scale], abs=1e-9
        )
        hb = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
        e = float(expected_influence(cf, prior, base=base))
        assert e == pytest.approx((hb - 0.5 * LN2) / scale, abs=1e-9)
    assert float(expected_influence(cf, prior)) == pytest.approx(0.215762, abs=1e-6)


def test_case5_wrong_marginal_weights_give_cross_entropy() -> None:
    cf = logs(np.eye(2))
    wrong = logs([0.9, 0.1])
    r = influence(cf, wrong, [0, 1])
    assert r == pytest.approx([-math.log(0.9), -math.log(0.1)], abs=1e-9)
    e_true_pi = 0.5 * r[0] + 0.5 * r[1]
    assert e_true_pi == pytest.approx(1.203973, abs=1e-6)
    assert e_true_pi / LN2 == pytest.approx(1.736966, abs=1e-6)
    # With the influencer's own policy the expectation is the MI, ln 2.
    assert float(expected_influence(cf, np.zeros(2))) == pytest.approx(LN2, abs=1e-12)


def test_case6_sum_over_influencees() -> None:
    cf = np.stack([logs(np.eye(2)), logs([[0.3, 0.7], [0.3, 0.7]])])  # (J=2, K, A)
    per_j = influence(cf, np.zeros(2), 1)
    for base, expected in units(LN2):
        total = influence(cf, np.zeros(2), 1, base=base).sum()
        assert total == pytest.approx(expected, abs=1e-12)
    assert per_j[1] == pytest.approx(0.0, abs=1e-12)


def test_case7_other_divergences() -> None:
    delta = logs([1.0, 0.0])
    uniform = np.zeros(2)
    for base, expected in units(0.215762):
        assert float(js_divergence(delta, uniform, base=base)) == pytest.approx(expected, abs=1e-6)
    cf = logs(noisy_copy(2, 0.5))
    prior = np.zeros(2)
    agree = influence(cf, prior, 0, divergence="pmi", influencee_action=0)
    disagree = influence(cf, prior, 0, divergence="pmi", influencee_action=1)
    assert float(agree) == pytest.approx(math.log(0.75 / 0.5), abs=1e-12)
    assert float(disagree) == pytest.approx(-LN2, abs=1e-12)
    assert float(influence(cf, prior, 0, divergence="pmi", influencee_action=1, base=2)) == (
        pytest.approx(-1.0, abs=1e-12)
    )
    # E_joint[PMI] = MI.
    joint = 0.5 * noisy_copy(2, 0.5)
    ks, js = np.meshgrid([0, 1], [0, 1], indexing="ij")
    pmi = influence(cf, prior, ks, divergence="pmi", influencee_action=js)
    assert float((joint * pmi).sum()) == pytest.approx(0.130812, abs=1e-6)
    assert float(expected_influence(cf, prior, divergence="pmi")) == pytest.approx(
        float(expected_influence(cf, prior)), abs=1e-12
    )


def test_case14_monte_carlo_consistency() -> None:
    rng = np.random.default_rng(14)
    cf = logs([[0.5, 0.5], [0.0, 1.0]])
    prior = np.zeros(2)
    actions = rng.integers(0, 2, size=200_000)
    rewards = influence(np.broadcast_to(cf, (actions.size, 2, 2)), prior, actions)
    se = rewards.std(ddof=1) / math.sqrt(actions.size)
    exact = float(expected_influence(cf, prior))
    assert abs(rewards.mean() - exact) < 5 * se


# --------------------------------------------------------------------------- oracles


def random_probs(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])


def test_kl_and_jsd_match_scipy() -> None:
    rng = np.random.default_rng(0)
    p = random_probs(rng, (50, 6))
    q = random_probs(rng, (50, 6))
    kl = kl_divergence(np.log(p), np.log(q))
    assert kl == pytest.approx(scipy.special.rel_entr(p, q).sum(-1), rel=1e-10)
    js = js_divergence(np.log(p), np.log(q), base=2)
    assert js == pytest.approx(jensenshannon(p, q, base=2, axis=-1) ** 2, rel=1e-8)
    tv = total_variation(np.log(p), np.log(q))
    assert tv == pytest.approx(0.5 * np.abs(p - q).sum(-1), rel=1e-10)


def plain_loop_influence(cf_p: np.ndarray, prior_p: np.ndarray, actual: int) -> float:
    """Obviously correct reference for one step: probabilities in, KL in nats out."""
    k_vals, a_vals = cf_p.shape
    marg = [sum(prior_p[c] * cf_p[c, a] for c in range(k_vals)) for a in range(a_vals)]
    total = 0.0
    for a in range(a_vals):
        p = cf_p[actual, a]
        if p > 0:
            total += p * math.log(p / marg[a])
    return total


def test_batched_influence_matches_plain_loop() -> None:
    rng = np.random.default_rng(1)
    cf_p = random_probs(rng, (7, 3, 4, 5))  # (T, J, K, A)
    prior_p = random_probs(rng, (7, 3, 4))
    actual = rng.integers(0, 4, size=(7, 3))
    got = influence(np.log(cf_p), np.log(prior_p), actual)
    for t in range(7):
        for j in range(3):
            ref = plain_loop_influence(cf_p[t, j], prior_p[t, j], int(actual[t, j]))
            assert got[t, j] == pytest.approx(ref, rel=1e-10, abs=1e-13)


def test_marginal_policy_is_weighted_mixture() -> None:
    rng = np.random.default_rng(2)
    cf_p = random_probs(rng, (4, 3, 5))
    prior_p = random_probs(rng, (4, 3))
    marg = np.exp(marginal_policy(np.log(cf_p), np.log(prior_p)))
    assert marg == pytest.approx(np.einsum("tk,tka->ta", prior_p, cf_p), rel=1e-12)


# --------------------------------------------------------------------------- stability


def test_extreme_and_masked_logits_are_finite_and_correct() -> None:
    cf = np.array([[1e4, -1e4, NINF], [-1e4, 1e4, NINF]])
    prior = np.array([1e4, 1e4])
    r = influence(cf, prior, [0, 1])
    assert np.all(np.isfinite(r))
    assert r == pytest.approx([LN2, LN2], abs=1e-9)
    assert float(kl_divergence([1e4, -1e4], [-1e4, 1e4])) == pytest.approx(2e4, rel=1e-9)
    assert np.isfinite(float(js_divergence([1e4, -1e4], [-1e4, 1e4])))


def test_kl_is_infinite_on_support_mismatch_only() -> None:
    assert float(kl_divergence([0.0, 0.0], [0.0, NINF])) == math.inf
    assert float(kl_divergence([0.0, NINF], [0.0, 0.0])) == pytest.approx(LN2)
    assert float(js_divergence([0.0, 0.0], [0.0, NINF])) < LN2


def test_zero_prior_value_does_not_poison_expectation() -> None:
    cf = np.array([[0.0, NINF], [0.0, 0.0], [NINF, 0.0]])
    prior = np.array([0.0, 0.0, NINF])
    e = expected_influence(cf, prior)
    assert np.isfinite(e)
    marg = np.array([0.75, 0.25])
    ref = 0.5 * math.log(1 / 0.75) + 0.5 * (0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25))
    assert float(e) == pytest.approx(ref, abs=1e-12)
    assert marg.sum() == 1.0


# --------------------------------------------------------------------------- torch


def test_numpy_and_torch_agree_and_types_are_kept() -> None:
    rng = np.random.default_rng(3)
    cf = rng.normal(size=(6, 4, 5)) * 3
    prior = rng.normal(size=(6, 4))
    actual = rng.integers(0, 4, size=6)
    for kind in ("kl", "jsd", "tv", "pmi"):
        extra = {"influencee_action": rng.integers(0, 5, size=6)} if kind == "pmi" else {}
        out_np = influence(cf, prior, actual, divergence=kind, **extra)
        out_t = influence(
            torch.tensor(cf),
            torch.tensor(prior),
            torch.tensor(actual),
            divergence=kind,
            **{k: torch.tensor(v) for k, v in extra.items()},
        )
        assert isinstance(out_np, np.ndarray)
        assert isinstance(out_t, torch.Tensor)
        assert out_t.numpy() == pytest.approx(out_np, rel=1e-10, abs=1e-12)
    assert isinstance(expected_influence(torch.tensor(cf), torch.tensor(prior)), torch.Tensor)


def test_torch_gradients_are_finite_with_masks_and_large_logits() -> None:
    cf = torch.tensor(
        [[[1e4, -1e4, NINF], [0.0, 1.0, NINF]], [[0.3, 0.2, 0.1], [NINF, 2.0, -1.0]]],
        requires_grad=True,
    )
    prior = torch.tensor([[0.5, -0.5], [1e4, -1e4]], requires_grad=True)
    for kind in ("kl", "jsd", "tv"):
        cf.grad = None
        prior.grad = None
        out = influence(cf, prior, torch.tensor([0, 1]), divergence=kind).sum()
        out = out + expected_influence(cf, prior, divergence=kind).sum()
        out.backward()
        assert cf.grad is not None
        assert prior.grad is not None
        assert torch.isfinite(cf.grad).all(), kind
        assert torch.isfinite(prior.grad).all(), kind


def test_torch_gradient_matches_finite_difference() -> None:
    torch.manual_seed(0)
    cf = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    prior = torch.randn(3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda c, p: expected_influence(c, p, divergence="jsd"), (cf, prior)
    )
    assert torch.autograd.gradcheck(lambda c, p: influence(c, p, torch.tensor(2)), (cf, prior))


# --------------------------------------------------------------------------- errors


def test_invalid_inputs_raise_typed_errors() -> None:
    good = np.zeros((3, 2))
    with pytest.raises(InvalidDistributionError, match="NaN"):
        kl_divergence([np.nan, 0.0], [0.0, 0.0])
    with pytest.raises(InvalidDistributionError, match=r"\+inf"):
        kl_divergence([np.inf, 0.0], [0.0, 0.0])
    with pytest.raises(InvalidDistributionError, match="all actions masked"):
        js_divergence([NINF, NINF], [0.0, 0.0])
    with pytest.raises(ShapeError, match="same number of actions"):
        kl_divergence(np.zeros(3), np.zeros(2))
    with pytest.raises(ShapeError, match="broadcast"):
        kl_divergence(np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(ShapeError, match="at least"):
        kl_divergence(0.0, 0.0)
    with pytest.raises(ShapeError, match="K=3"):
        influence(good, np.zeros(2), 0)
    with pytest.raises(ShapeError, match=r"\[0, 3\)"):
        influence(good, np.zeros(3), 3)
    with pytest.raises(ShapeError, match="does not broadcast"):
        influence(np.zeros((4, 3, 2)), np.zeros(3), [0, 1])
    with pytest.raises(DTypeError, match="integer"):
        influence(good, np.zeros(3), 0.5)
    with pytest.raises(ConfigError, match="expected one of"):
        influence(good, np.zeros(3), 0, divergence="hellinger")
    with pytest.raises(ConfigError, match="realised action"):
        influence(good, np.zeros(3), 0, divergence="pmi")
    with pytest.raises(ConfigError, match="base"):
        kl_divergence([0.0, 0.0], [0.0, 1.0], base=1)
    with pytest.raises(ShapeError, match=r"\[0, 2\)"):
        pointwise_mutual_information([0.0, 0.0], [0.0, 1.0], 2)
    with pytest.raises(ValueError, match="NaN"):  # also a builtin ValueError
        divergence([np.nan, 1.0], [0.0, 0.0])


# --------------------------------------------------------------------------- properties

logit_values = st.floats(min_value=-30, max_value=30, allow_nan=False)


@st.composite
def tables(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    k = draw(st.integers(1, 5))
    a = draw(st.integers(1, 5))
    cf = draw(arrays(np.float64, (k, a), elements=logit_values))
    prior = draw(arrays(np.float64, (k,), elements=logit_values))
    return cf, prior


@settings(max_examples=150, deadline=None)
@given(tables(), st.sampled_from(["kl", "jsd", "tv"]))
def test_property_influence_nonnegative(tab: tuple[np.ndarray, np.ndarray], kind: str) -> None:
    cf, prior = tab
    values = influence(cf, prior, np.arange(cf.shape[0]), divergence=kind)
    assert np.all(values >= -1e-12)
    if kind == "jsd":
        assert np.all(values <= LN2 + 1e-12)
    if kind == "tv":
        assert np.all(values <= 1 + 1e-12)


@settings(max_examples=100, deadline=None)
@given(tables(), st.sampled_from(["kl", "jsd", "tv"]))
def test_property_zero_when_influencee_ignores_k(
    tab: tuple[np.ndarray, np.ndarray], kind: str
) -> None:
    cf, prior = tab
    same = np.broadcast_to(cf[:1], cf.shape)
    values = influence(same, prior, np.arange(cf.shape[0]), divergence=kind)
    assert np.allclose(values, 0.0, atol=1e-12)


def mutual_information_from_joint(joint: np.ndarray) -> float:
    px = joint.sum(1)
    py = joint.sum(0)
    total = 0.0
    for i in range(joint.shape[0]):
        for j in range(joint.shape[1]):
            if joint[i, j] > 0:
                total += joint[i, j] * math.log(joint[i, j] / (px[i] * py[j]))
    return total


@settings(max_examples=150, deadline=None)
@given(tables())
def test_property_expected_kl_is_mutual_information(tab: tuple[np.ndarray, np.ndarray]) -> None:
    cf, prior = tab
    cf_p = scipy.special.softmax(cf, axis=-1)
    prior_p = scipy.special.softmax(prior)
    joint = prior_p[:, None] * cf_p
    mi = mutual_information_from_joint(joint)
    e_kl = float(expected_influence(cf, prior))
    assert e_kl == pytest.approx(mi, abs=1e-9)
    assert float(expected_influence(cf, prior, divergence="pmi")) == pytest.approx(e_kl, abs=1e-12)
    h_prior = -sum(p * math.log(p) for p in prior_p if p > 0)
    assert e_kl <= min(h_prior, math.log(cf.shape[1])) + 1e-9


@settings(max_examples=60, deadline=None)
@given(tables(), st.integers(0, 10**6))
def test_property_relabelling_values_and_actions(
    tab: tuple[np.ndarray, np.ndarray], seed: int
) -> None:
    cf, prior = tab
    rng = np.random.default_rng(seed)
    pk = rng.permutation(cf.shape[0])
    pa = rng.permutation(cf.shape[1])
    actual = np.arange(cf.shape[0])
    base_vals = influence(cf, prior, actual)
    relabelled = influence(cf[pk][:, pa], prior[pk], np.argsort(pk)[actual])
    assert relabelled == pytest.approx(base_vals, rel=1e-9, abs=1e-12)
