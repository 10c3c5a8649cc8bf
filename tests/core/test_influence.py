"""Array-level counterfactual influence (causal_influence.counterfactual).

Oracles: the closed-form cases 1-7 and 14 of docs/metrics.md, a plain-loop mutual
information of the joint table pi(k) p(a|k) kept here, SciPy's ``rel_entr``, and hypothesis
properties. Units are stated per test: nats unless ``base=2`` (bits).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_influence.counterfactual import expected_influence, influence, marginal_policy
from causal_influence.divergences import DIVERGENCES
from causal_influence.errors import ConfigError, DTypeError, InvalidDistributionError, ShapeError

LN2 = math.log(2.0)
NINF = -math.inf
TOL = 1e-9
BASES = [None, 2]


def log_probs(p: object) -> np.ndarray:
    """Natural log of probabilities, zeros becoming -inf."""
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(p, dtype=float))


def in_units(nats: float, base: float | None) -> float:
    return nats if base is None else nats / math.log(base)


def loop_mutual_information(prior: list[float], cond: list[list[float]]) -> float:
    """I(A_k; A_j) in nats from pi(k) and p(a|k) by plain loops over the joint table."""
    num_values, num_actions = len(cond), len(cond[0])
    joint = [[prior[k] * cond[k][a] for a in range(num_actions)] for k in range(num_values)]
    p_j = [sum(joint[k][a] for k in range(num_values)) for a in range(num_actions)]
    total = 0.0
    for k in range(num_values):
        for a in range(num_actions):
            if joint[k][a] > 0.0:
                total += joint[k][a] * math.log(joint[k][a] / (prior[k] * p_j[a]))
    return total


def entropy(p: list[float]) -> float:
    return -sum(x * math.log(x) for x in p if x > 0.0)


def noisy_copy(n: int, p: float) -> np.ndarray:
    """j copies k with probability p, otherwise plays uniformly: (K = n, A = n) logits."""
    return log_probs(p * np.eye(n) + (1.0 - p) / n)


# ------------------------------------------------------------------ closed forms (METRICS §5)


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("kind", DIVERGENCES)
def test_case1_independence_gives_zero(base: float | None, kind: str) -> None:
    cf = log_probs([[0.3, 0.7], [0.3, 0.7]])
    prior = log_probs([0.6, 0.4])
    actual = np.array([0, 1, 0, 1])
    acts_j = np.array([0, 0, 1, 1])
    out = influence(cf, prior, actual, divergence=kind, influencee_action=acts_j, base=base)
    np.testing.assert_allclose(out, 0.0, atol=1e-12)
    assert abs(float(expected_influence(cf, prior, divergence=kind, base=base))) <= 1e-12


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize(
    ("n", "nats", "bits"),
    [
        (2, 0.693147, 1.0),
        (3, 1.098612, 1.584963),
        (4, 1.386294, 2.0),
        (5, 1.609438, 2.321928),
        (8, 2.079442, 3.0),
        (9, 2.197225, 3.169925),
    ],
)
def test_case2_deterministic_copy_uniform(
    n: int, nats: float, bits: float, base: float | None
) -> None:
    cf = log_probs(np.eye(n))
    prior = np.zeros(n)
    want = in_units(math.log(n), base)
    out = influence(cf, prior, np.arange(n), base=base)
    np.testing.assert_allclose(out, want, rtol=0, atol=TOL)
    assert float(expected_influence(cf, prior, base=base)) == pytest.approx(want, abs=TOL)
    assert want == pytest.approx(nats if base is None else bits, abs=1e-6)


@pytest.mark.parametrize("base", BASES)
def test_case2_deterministic_copy_nonuniform_is_surprisal(base: float | None) -> None:
    cf = log_probs(np.eye(2))
    prior = log_probs([0.75, 0.25])
    out = influence(cf, prior, [0, 1], base=base)
    np.testing.assert_allclose(
        out, [in_units(-math.log(0.75), base), in_units(-math.log(0.25), base)], atol=TOL
    )
    h = in_units(entropy([0.75, 0.25]), base)
    assert float(expected_influence(cf, prior, base=base)) == pytest.approx(h, abs=TOL)
    assert h == pytest.approx(0.562335 if base is None else 0.811278, abs=1e-6)


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize(
    ("n", "p", "nats", "bits"),
    [
        (2, 0.5, 0.130812, 0.188722),
        (2, 0.8, 0.368064, 0.531004),
        (2, 0.0, 0.0, 0.0),
        (2, 1.0, 0.693147, 1.0),
        (4, 0.5, 0.312752, 0.451205),
        (5, 0.9, 1.219765, 1.759749),
    ],
)
def test_case3_noisy_copy(n: int, p: float, nats: float, bits: float, base: float | None) -> None:
    q, o = p + (1 - p) / n, (1 - p) / n
    closed = math.log(n) + q * math.log(q) + ((n - 1) * o * math.log(o) if o > 0 else 0.0)
    want = in_units(closed, base)
    cf, prior = noisy_copy(n, p), np.zeros(n)
    # pi uniform => marginal uniform => every per-step reward equals the MI.
    np.testing.assert_allclose(influence(cf, prior, np.arange(n), base=base), want, atol=TOL)
    assert float(expected_influence(cf, prior, base=base)) == pytest.approx(want, abs=TOL)
    assert want == pytest.approx(nats if base is None else bits, abs=1e-6)


@pytest.mark.parametrize("base", BASES)
def test_case4_z_channel(base: float | None) -> None:
    cf = log_probs([[0.5, 0.5], [0.0, 1.0]])
    prior = log_probs([0.5, 0.5])
    np.testing.assert_allclose(np.exp(marginal_policy(cf, prior)), [0.25, 0.75], rtol=0, atol=1e-15)
    r0, r1 = influence(cf, prior, [0, 1], base=base)
    assert r0 == pytest.approx(in_units(0.5 * math.log(4 / 3), base), abs=TOL)
    assert r1 == pytest.approx(in_units(math.log(4 / 3), base), abs=TOL)
    mi = entropy([0.75, 0.25]) - 0.5 * LN2
    assert float(expected_influence(cf, prior, base=base)) == pytest.approx(
        in_units(mi, base), abs=TOL
    )
    assert (r0 + r1) / 2 == pytest.approx(in_units(mi, base), abs=TOL)
    assert in_units(mi, base) == pytest.approx(0.215762 if base is None else 0.311278, abs=1e-6)


@pytest.mark.parametrize("base", BASES)
def test_case5_wrong_marginal_weights_give_cross_entropy(base: float | None) -> None:
    cf = log_probs(np.eye(2))
    true_pi = [0.5, 0.5]
    wrong_w = log_probs([0.9, 0.1])
    r = influence(cf, wrong_w, [0, 1], base=base)
    np.testing.assert_allclose(
        r, [in_units(-math.log(0.9), base), in_units(-math.log(0.1), base)], atol=TOL
    )
    cross_entropy = -(0.5 * math.log(0.9) + 0.5 * math.log(0.1))
    assert float(np.dot(true_pi, r)) == pytest.approx(in_units(cross_entropy, base), abs=TOL)
    assert in_units(cross_entropy, base) == pytest.approx(
        1.203973 if base is None else 1.736966, abs=1e-6
    )
    # Weighted by the influencer's own policy, the expectation is the MI (ln 2), not H(pi, w).
    correct = float(expected_influence(cf, log_probs(true_pi), base=base))
    assert correct == pytest.approx(in_units(LN2, base), abs=TOL)


@pytest.mark.parametrize("base", BASES)
def test_case6_sum_over_influencees(base: float | None) -> None:
    # Influencee axis as a batch dimension: j1 copies k, j2 ignores k (both binary).
    cf = np.stack([log_probs(np.eye(2)), log_probs([[0.3, 0.7], [0.3, 0.7]])])  # (J, K, A)
    prior = np.zeros(2)  # k uniform, shared by both influencees
    for k in (0, 1):
        per_pair = influence(cf, prior, np.array([k, k]), base=base)
        assert per_pair.shape == (2,)
        assert per_pair[1] == pytest.approx(0.0, abs=1e-12)
        assert float(per_pair.sum()) == pytest.approx(in_units(LN2, base), abs=TOL)


@pytest.mark.parametrize("base", BASES)
def test_case7_jsd_and_pmi_influence(base: float | None) -> None:
    # The binary uniform copy has a uniform marginal, so each step is JSD(delta_k || uniform).
    copy = log_probs(np.eye(2))
    jsd = influence(copy, np.zeros(2), [0, 1], divergence="jsd", base=base)
    want_jsd = in_units(entropy([0.75, 0.25]) - 0.5 * LN2, base)
    np.testing.assert_allclose(jsd, want_jsd, atol=TOL)
    # PMI for the noisy copy with p = 0.5: agree ln 1.5, disagree -ln 2.
    cf = noisy_copy(2, 0.5)
    k = np.array([0, 0, 1, 1])
    a_j = np.array([0, 1, 0, 1])
    pmi = influence(cf, np.zeros(2), k, divergence="pmi", influencee_action=a_j, base=base)
    agree, disagree = in_units(math.log(1.5), base), in_units(-LN2, base)
    np.testing.assert_allclose(pmi, [agree, disagree, disagree, agree], atol=TOL)
    # E_joint[PMI] = MI; the joint weights pi(k) p(a_j|k) of the four cells.
    joint = np.array([0.5 * 0.75, 0.5 * 0.25, 0.5 * 0.25, 0.5 * 0.75])
    mi = in_units(loop_mutual_information([0.5, 0.5], [[0.75, 0.25], [0.25, 0.75]]), base)
    assert float(joint @ pmi) == pytest.approx(mi, abs=TOL)
    assert float(expected_influence(cf, np.zeros(2), divergence="pmi", base=base)) == (
        pytest.approx(mi, abs=TOL)
    )
    assert mi == pytest.approx(0.130812 if base is None else 0.188722, abs=1e-6)


def test_case14_monte_carlo_consistency() -> None:
    # Sampling a_k ~ pi for the Z-channel and averaging per-step rewards converges to the MI.
    cf = log_probs([[0.5, 0.5], [0.0, 1.0]])
    prior = log_probs([0.5, 0.5])
    exact = float(expected_influence(cf, prior))
    rng = np.random.default_rng(20190614)
    n = 200_000
    a_k = rng.integers(0, 2, size=n)
    rewards = influence(cf, prior, a_k)
    assert rewards.shape == (n,)
    mean = float(rewards.mean())
    se = float(rewards.std(ddof=1)) / math.sqrt(n)
    assert se == pytest.approx(0.00016, rel=0.05)  # the spread quoted in docs/metrics.md
    assert abs(mean - exact) < 5 * se
    # A marginal built from K *sampled* counterfactuals is wrong: infinite whenever the sample
    # misses the support (a_k = 0 but only value 1 sampled), biased upward otherwise.
    for draws, p_inf in ((1, 0.25), (4, 0.5 * 0.5**4)):
        counts = rng.multinomial(draws, [0.5, 0.5], size=n)
        sampled = influence(cf, log_probs(counts), a_k)
        frac_inf = float(np.isinf(sampled).mean())
        assert abs(frac_inf - p_inf) < 5 * math.sqrt(p_inf * (1 - p_inf) / n)
        finite = sampled[np.isfinite(sampled)]
        assert float(finite.mean()) > exact + 5 * se


# ---------------------------------------------------------------- plain-loop references


def test_marginal_policy_matches_weighted_mixture_loop() -> None:
    rng = np.random.default_rng(21)
    t, n, k_vals, a_vals = 4, 3, 5, 6
    cond = rng.dirichlet(np.ones(a_vals), size=(t, n, k_vals))
    cond[cond < 0.05] = 0.0
    cond /= cond.sum(-1, keepdims=True)
    pi = rng.dirichlet(np.ones(k_vals), size=(t, n))
    pi[:, :, 0] = 0.0  # a value the influencer never takes
    pi /= pi.sum(-1, keepdims=True)
    out = marginal_policy(log_probs(cond) + 2.5, log_probs(pi) - 1.0)  # unnormalised logits
    assert out.shape == (t, n, a_vals)
    for i in range(t):
        for j in range(n):
            mix = [
                sum(pi[i, j, k] * cond[i, j, k, a] for k in range(k_vals)) for a in range(a_vals)
            ]
            np.testing.assert_allclose(np.exp(out[i, j]), mix, rtol=1e-12, atol=1e-15)
            assert np.array_equal(np.isneginf(out[i, j]), np.asarray(mix) == 0.0)
    # Log-probabilities: each row sums to 1.
    np.testing.assert_allclose(scipy.special.logsumexp(out, axis=-1), 0.0, atol=1e-12)


@pytest.mark.parametrize("base", BASES)
def test_batched_influence_matches_rel_entr_loop(base: float | None) -> None:
    rng = np.random.default_rng(22)
    t, n, k_vals, a_vals = 5, 4, 3, 4
    cond = rng.dirichlet(np.ones(a_vals), size=(t, n, k_vals))
    pi = rng.dirichlet(np.ones(k_vals), size=(t, n))
    actual = rng.integers(0, k_vals, size=(t, n))
    out = influence(log_probs(cond), log_probs(pi), actual, base=base)
    assert out.shape == (t, n)
    scale = 1.0 if base is None else LN2
    for i in range(t):
        for j in range(n):
            marg = pi[i, j] @ cond[i, j]
            want = scipy.special.rel_entr(cond[i, j, actual[i, j]], marg).sum() / scale
            assert out[i, j] == pytest.approx(want, rel=1e-10, abs=1e-13)


def test_broadcast_actual_and_prior_as_the_engine_uses_them() -> None:
    # cf (T, I, J, K, A), prior (T, I, 1, K) and actual (T, I, 1): one influencer value shared
    # by all J influencees.
    rng = np.random.default_rng(23)
    t, i_n, j_n, k_vals, a_vals = 3, 2, 4, 3, 5
    cf = rng.normal(size=(t, i_n, j_n, k_vals, a_vals))
    prior = rng.normal(size=(t, i_n, 1, k_vals))
    actual = rng.integers(0, k_vals, size=(t, i_n, 1))
    out = influence(cf, prior, actual, divergence="jsd")
    assert out.shape == (t, i_n, j_n)
    full = influence(
        cf,
        np.broadcast_to(prior, (t, i_n, j_n, k_vals)),
        np.broadcast_to(actual, (t, i_n, j_n)),
        divergence="jsd",
    )
    np.testing.assert_allclose(out, full, rtol=0, atol=0)
    # A single (K, A) table against many actual values broadcasts to one value per step.
    many = influence(cf[0, 0, 0], prior[0, 0, 0], np.array([0, 1, 2, 1]))
    assert many.shape == (4,)
    np.testing.assert_allclose(many[[1, 3]], many[1], rtol=0, atol=0)


@pytest.mark.parametrize("kind", DIVERGENCES)
def test_expected_influence_is_prior_weighted_average_of_influence(kind: str) -> None:
    rng = np.random.default_rng(24)
    cf = rng.normal(size=(6, 3, 4)) * 3
    prior = rng.normal(size=(6, 3))
    pi = scipy.special.softmax(prior, axis=-1)
    got = expected_influence(cf, prior, divergence=kind, base=2)
    if kind == "pmi":
        # Expectation over the joint pi(k) p(a|k) of the pointwise term.
        cond = scipy.special.softmax(cf, axis=-1)
        want = np.zeros(6)
        for k in range(3):
            for a in range(4):
                idx = np.full(6, k)
                acts = np.full(6, a)
                term = influence(cf, prior, idx, divergence="pmi", influencee_action=acts, base=2)
                want += pi[:, k] * cond[:, k, a] * term
    else:
        want = sum(
            pi[:, k] * influence(cf, prior, np.full(6, k), divergence=kind, base=2)
            for k in range(3)
        )
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)


def test_zero_probability_values_contribute_nothing() -> None:
    # Value 2 has prior 0 and opens action 2, which no possible value allows: its own KL to the
    # marginal is +inf, yet the expectation ignores it and equals the MI over values 0 and 1.
    cf = log_probs([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    prior = log_probs([0.5, 0.5, 0.0])
    per_step = influence(cf, prior, [0, 1, 2])
    np.testing.assert_allclose(per_step[:2], LN2, atol=TOL)
    assert per_step[2] == math.inf  # the influencer did something it could not do
    assert float(influence(cf, prior, 2, divergence="jsd")) <= LN2
    assert float(expected_influence(cf, prior)) == pytest.approx(LN2, abs=TOL)
    assert float(expected_influence(cf, prior, divergence="pmi")) == pytest.approx(LN2, abs=TOL)
    # Torch: value and gradients finite.
    tcf = torch.tensor(cf, requires_grad=True)
    tprior = torch.tensor(prior, requires_grad=True)
    value = expected_influence(tcf, tprior)
    value.backward()
    assert float(value.detach()) == pytest.approx(LN2, abs=TOL)
    assert tcf.grad is not None
    assert tprior.grad is not None
    assert torch.isfinite(tcf.grad).all()
    assert torch.isfinite(tprior.grad).all()


# ------------------------------------------------------------------- backends, stability


@pytest.mark.parametrize("kind", DIVERGENCES)
def test_numpy_and_torch_agree(kind: str) -> None:
    rng = np.random.default_rng(25)
    cf = rng.normal(size=(7, 4, 3)) * 2
    cf[rng.random(cf.shape) < 0.2] = NINF
    cf[..., 0] = np.where(np.isneginf(cf).all(-1), 0.0, cf[..., 0])
    prior = rng.normal(size=(7, 4))
    actual = rng.integers(0, 4, size=7)
    # A realised influencee action that the actual counterfactual allows.
    probs = scipy.special.softmax(cf[np.arange(7), actual], axis=-1)
    acts_j = np.array([rng.choice(3, p=row) for row in probs])
    ref = influence(cf, prior, actual, divergence=kind, influencee_action=acts_j)
    ref_e = expected_influence(cf, prior, divergence=kind)
    tcf = torch.tensor(cf)
    out = influence(
        tcf,
        torch.tensor(prior),
        torch.tensor(actual),
        divergence=kind,
        influencee_action=torch.tensor(acts_j),
    )
    out_e = expected_influence(tcf, torch.tensor(prior), divergence=kind)
    assert isinstance(ref, np.ndarray)
    assert isinstance(out, torch.Tensor)
    assert isinstance(out_e, torch.Tensor)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out_e.numpy(), ref_e, rtol=1e-12, atol=1e-12)
    # Mixed backends give torch.
    mixed = marginal_policy(tcf, prior)
    assert isinstance(mixed, torch.Tensor)
    np.testing.assert_allclose(mixed.numpy(), marginal_policy(cf, prior), atol=1e-12)


@pytest.mark.parametrize("kind", DIVERGENCES)
def test_torch_gradients_finite_with_masks_and_extreme_logits(kind: str) -> None:
    cf = torch.tensor(
        [
            [[1e4, -1e4, NINF], [0.0, 0.0, 0.0], [NINF, NINF, 5.0]],
            [[0.3, NINF, -0.2], [NINF, 1e4, 0.0], [-1e4, 0.0, 1e4]],
        ],
        dtype=torch.float64,
        requires_grad=True,
    )
    prior = torch.tensor([[0.0, NINF, 1e4], [-1e4, 0.5, NINF]], dtype=torch.float64)
    prior.requires_grad_(True)
    actual = torch.tensor([1, 2])  # both values have prior probability 0 (or ~0)
    acts_j = torch.tensor([2, 1])
    value = influence(cf, prior, actual, divergence=kind, influencee_action=acts_j)
    total = value.sum() + expected_influence(cf, prior, divergence=kind).sum()
    total.backward()
    assert cf.grad is not None
    assert prior.grad is not None
    assert torch.isfinite(cf.grad).all()
    assert torch.isfinite(prior.grad).all()


@pytest.mark.parametrize("kind", ["kl", "jsd", "tv", "pmi"])
def test_torch_gradient_matches_finite_differences(kind: str) -> None:
    gen = torch.Generator().manual_seed(5)
    cf = torch.randn(2, 3, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    prior = torch.randn(2, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    actual = torch.tensor([0, 2])
    acts_j = torch.tensor([3, 1])

    def both(c: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        step = influence(c, p, actual, divergence=kind, influencee_action=acts_j, base=2)
        return step + expected_influence(c, p, divergence=kind, base=2)

    assert torch.autograd.gradcheck(both, (cf, prior))


def test_large_logits_are_stable() -> None:
    # Logit gaps of 1e4 are deterministic in float64: the copy gives ln 2 exactly.
    cf = np.array([[1e4, -1e4], [-1e4, 1e4]])
    prior = np.array([1e4, 1e4])
    np.testing.assert_allclose(influence(cf, prior, [0, 1]), LN2, atol=TOL)
    assert float(expected_influence(cf, prior, base=2)) == pytest.approx(1.0, abs=TOL)
    t = influence(torch.tensor(cf, dtype=torch.float32), torch.tensor(prior).float(), [0, 1])
    assert t.dtype == torch.float32
    np.testing.assert_allclose(t.numpy(), LN2, atol=1e-6)
    # A near-zero-probability influencer value (logit -1e4 below) does not break anything.
    skewed = influence(cf, np.array([0.0, -1e4]), [0, 1])
    assert np.isfinite(skewed).all()
    assert skewed[0] == pytest.approx(0.0, abs=1e-12)
    assert skewed[1] == pytest.approx(1e4, rel=1e-12)


# ------------------------------------------------------------------------------- errors


def test_invalid_inputs_raise_typed_errors() -> None:
    cf = np.zeros((3, 2))
    prior = np.zeros(3)
    with pytest.raises(ShapeError, match="at least 2"):
        influence(np.zeros(2), np.zeros(1), 0)
    with pytest.raises(ShapeError, match="K=3"):
        marginal_policy(cf, np.zeros(2))
    with pytest.raises(ShapeError, match="broadcast"):
        expected_influence(np.zeros((4, 3, 2)), np.zeros((5, 3)))
    with pytest.raises(ShapeError, match=r"\[0, 3\)"):
        influence(cf, prior, 3)
    with pytest.raises(ShapeError, match=r"\[0, 3\)"):
        influence(cf, prior, [-1, 0])
    with pytest.raises(ShapeError, match=r"\[0, 3\)"):
        influence(torch.zeros(3, 2), torch.zeros(3), torch.tensor([0, 3]))
    with pytest.raises(ShapeError, match="does not broadcast"):
        influence(np.zeros((4, 3, 2)), prior, np.zeros(5, dtype=int))
    with pytest.raises(DTypeError, match="integer"):
        influence(cf, prior, np.array([0.5]))
    with pytest.raises(InvalidDistributionError, match="NaN"):
        influence(np.array([[0.0, np.nan], [0.0, 0.0], [0.0, 0.0]]), prior, 0)
    with pytest.raises(InvalidDistributionError, match=r"\+inf"):
        expected_influence(cf, np.array([0.0, math.inf, 0.0]))
    with pytest.raises(InvalidDistributionError, match="masked"):
        influence(cf, np.full(3, NINF), 0)
    with pytest.raises(InvalidDistributionError, match="masked"):
        marginal_policy(np.array([[0.0, 0.0], [NINF, NINF], [0.0, 0.0]]), prior)
    with pytest.raises(ConfigError, match="expected one of"):
        influence(cf, prior, 0, divergence="hellinger")
    with pytest.raises(ConfigError, match="expected one of"):
        expected_influence(cf, prior, divergence="KL")
    with pytest.raises(ConfigError, match="influencee_action"):
        influence(cf, prior, 0, divergence="pmi")
    with pytest.raises(ShapeError, match=r"influencee_action: expected .*\[0, 2\)"):
        influence(cf, prior, 0, divergence="pmi", influencee_action=2)
    with pytest.raises(DTypeError, match="influencee_action"):
        influence(cf, prior, 0, divergence="pmi", influencee_action=0.5)
    with pytest.raises(ConfigError, match="base"):
        expected_influence(cf, prior, base=1)


# ---------------------------------------------------------------------- hypothesis properties

LOGIT = st.one_of(st.floats(-30.0, 30.0, allow_nan=False), st.just(NINF))


@st.composite
def tables(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """cf logits (K, A) and prior logits (K,), -inf allowed, every row keeps one finite entry."""
    k_vals = draw(st.integers(1, 5))
    a_vals = draw(st.integers(1, 5))
    flat = draw(st.lists(LOGIT, min_size=k_vals * a_vals, max_size=k_vals * a_vals))
    cf = np.array(flat).reshape(k_vals, a_vals)
    for k in range(k_vals):
        if np.isneginf(cf[k]).all():
            cf[k, draw(st.integers(0, a_vals - 1))] = 0.0
    prior = np.array(draw(st.lists(LOGIT, min_size=k_vals, max_size=k_vals)))
    if np.isneginf(prior).all():
        prior[draw(st.integers(0, k_vals - 1))] = 0.0
    return cf, prior


@settings(max_examples=150, deadline=None)
@given(tables())
def test_property_nonnegative_for_kl_jsd_tv(tab: tuple[np.ndarray, np.ndarray]) -> None:
    cf, prior = tab
    possible = np.flatnonzero(np.isfinite(prior))  # values the influencer can take
    for kind in ("kl", "jsd", "tv"):
        step = influence(cf, prior, possible, divergence=kind)
        assert np.all(step >= 0.0)
        assert np.isfinite(step).all()
        assert float(expected_influence(cf, prior, divergence=kind)) >= 0.0
    assert np.all(influence(cf, prior, possible, divergence="jsd") <= LN2 + 1e-12)
    assert np.all(influence(cf, prior, possible, divergence="tv") <= 1.0 + 1e-12)


@settings(max_examples=150, deadline=None)
@given(tables(), st.integers(1, 4))
def test_property_zero_when_influencee_ignores_k(
    tab: tuple[np.ndarray, np.ndarray], copies: int
) -> None:
    cf, prior = tab
    row = cf[:1] + 0.0
    same = np.repeat(row, cf.shape[0], axis=0) + np.arange(cf.shape[0])[:, None] * 0.5
    # Rows shifted by a constant are the same distribution.
    allowed = int(np.flatnonzero(np.isfinite(row[0]))[0])
    for kind in DIVERGENCES:
        step = influence(
            same,
            prior,
            np.arange(cf.shape[0]),
            divergence=kind,
            influencee_action=allowed,
        )
        np.testing.assert_allclose(step, 0.0, atol=1e-12)
        assert abs(float(expected_influence(same, prior, divergence=kind))) <= 1e-12
    # Batched copies of the table give batched zeros of the right shape.
    batch = np.broadcast_to(same, (copies, *same.shape))
    assert expected_influence(batch, prior).shape == (copies,)


@settings(max_examples=150, deadline=None)
@given(tables())
def test_property_expected_kl_and_pmi_equal_loop_mutual_information(
    tab: tuple[np.ndarray, np.ndarray],
) -> None:
    cf, prior = tab
    pi = scipy.special.softmax(prior).tolist()
    cond = scipy.special.softmax(cf, axis=-1).tolist()
    mi = loop_mutual_information(pi, cond)
    kl = float(expected_influence(cf, prior))
    pmi = float(expected_influence(cf, prior, divergence="pmi"))
    assert kl == pytest.approx(mi, rel=1e-9, abs=1e-12)
    assert pmi == pytest.approx(kl, rel=1e-12, abs=1e-15)
    assert float(expected_influence(cf, prior, base=2)) == pytest.approx(
        mi / LN2, rel=1e-9, abs=1e-12
    )
    # Bounded by both marginal entropies: I <= min(H(pi), ln A).
    assert kl <= min(entropy(pi), math.log(cf.shape[1])) + 1e-9


@settings(max_examples=100, deadline=None)
@given(tables())
def test_property_torch_matches_numpy_with_finite_gradients(
    tab: tuple[np.ndarray, np.ndarray],
) -> None:
    cf, prior = tab
    for kind in ("kl", "jsd", "tv"):
        tcf = torch.tensor(cf, requires_grad=True)
        tprior = torch.tensor(prior, requires_grad=True)
        value = expected_influence(tcf, tprior, divergence=kind)
        ref = float(expected_influence(cf, prior, divergence=kind))
        assert float(value.detach()) == pytest.approx(ref, rel=1e-10, abs=1e-12)
        value.backward()
        assert tcf.grad is not None
        assert tprior.grad is not None
        assert torch.isfinite(tcf.grad).all()
        assert torch.isfinite(tprior.grad).all()
