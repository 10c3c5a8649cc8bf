"""Divergences between categorical distributions given as logits (causal_influence.divergences).

Oracles: closed-form case 7 of docs/metrics.md, SciPy (``rel_entr``, ``jensenshannon``),
plain probability-space loops kept here, and hypothesis properties. Units are stated per test:
nats unless ``base=2`` (bits).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon

from causal_influence.divergences import (
    DIVERGENCES,
    divergence,
    js_divergence,
    kl_divergence,
    pointwise_mutual_information,
    total_variation,
)
from causal_influence.errors import ConfigError, DTypeError, InvalidDistributionError, ShapeError

LN2 = math.log(2.0)
NINF = -math.inf
TOL = 1e-9


def log_probs(p: object) -> np.ndarray:
    """Natural log of probabilities, zeros becoming -inf (masked actions)."""
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(p, dtype=float))


def in_units(nats: float, base: float | None) -> float:
    return nats if base is None else nats / math.log(base)


def random_simplex(rng: np.random.Generator, shape: tuple[int, ...], zeros: float) -> np.ndarray:
    """Random distributions along the last axis with a fraction of exact zeros (each row keeps
    at least one positive entry)."""
    p = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    mask = rng.random(shape) < zeros
    mask[..., 0] &= ~mask.all(axis=-1)  # never mask a whole row
    p = np.where(mask, 0.0, p)
    return p / p.sum(axis=-1, keepdims=True)


# ------------------------------------------------------------------ closed forms (METRICS §5)


@pytest.mark.parametrize("base", [None, 2])
def test_case7_jsd_of_point_mass_and_uniform(base: float | None) -> None:
    # m = (3/4, 1/4): JSD = 1/2 ln(4/3) + 1/2 [1/2 ln(2/3) + 1/2 ln 2] = H_b(3/4) - 1/2 ln 2.
    by_hand = 0.5 * math.log(4 / 3) + 0.25 * math.log(2 / 3) + 0.25 * LN2
    h_b = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert by_hand == pytest.approx(h_b - 0.5 * LN2, abs=1e-15)
    got = float(js_divergence([0.0, NINF], [0.0, 0.0], base=base))
    assert got == pytest.approx(in_units(by_hand, base), abs=TOL)
    # The figures printed in docs/metrics.md (6 decimals).
    assert got == pytest.approx(0.215762 if base is None else 0.311278, abs=1e-6)
    # Symmetric.
    assert float(js_divergence([0.0, 0.0], [0.0, NINF], base=base)) == pytest.approx(got, abs=TOL)


@pytest.mark.parametrize("base", [None, 2])
def test_case7_pmi_of_noisy_copy(base: float | None) -> None:
    # Noisy copy p = 0.5, binary uniform: p(a_j | a_k = 0) = (3/4, 1/4); marginal uniform.
    cond = log_probs([0.75, 0.25])
    marg = log_probs([0.5, 0.5])
    agree = float(pointwise_mutual_information(cond, marg, 0, base=base))
    disagree = float(pointwise_mutual_information(cond, marg, 1, base=base))
    assert agree == pytest.approx(in_units(math.log(1.5), base), abs=TOL)
    assert disagree == pytest.approx(in_units(-LN2, base), abs=TOL)
    assert agree == pytest.approx(0.405465 if base is None else 0.584963, abs=1e-6)
    assert disagree == pytest.approx(-0.693147 if base is None else -1.0, abs=1e-6)
    # Expectation under the conditional is the KL, the per-step influence of Eq. 1.
    mean = 0.75 * agree + 0.25 * disagree
    assert mean == pytest.approx(float(kl_divergence(cond, marg, base=base)), abs=TOL)


@pytest.mark.parametrize("n", [2, 3, 4, 5, 8, 9])
@pytest.mark.parametrize("base", [None, 2])
def test_kl_of_point_mass_from_uniform_is_log_n(n: int, base: float | None) -> None:
    point = np.full(n, NINF)
    point[n - 1] = 3.0  # any finite logit: the mass is all on one action
    got = float(kl_divergence(point, np.zeros(n), base=base))
    assert got == pytest.approx(in_units(math.log(n), base), abs=TOL)
    assert float(divergence(point, np.zeros(n), kind="kl", base=base)) == got


def test_known_values_kl_tv_and_bits() -> None:
    p, q = log_probs([0.5, 0.5]), log_probs([0.9, 0.1])
    kl = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    assert float(kl_divergence(p, q)) == pytest.approx(kl, abs=TOL)
    assert float(kl_divergence(p, q, base=2)) == pytest.approx(kl / LN2, abs=TOL)
    assert float(kl_divergence(p, q, base=math.e)) == pytest.approx(kl, abs=TOL)
    assert float(total_variation(p, q)) == pytest.approx(0.4, abs=TOL)
    # Logits need not be normalised: shifting a row changes nothing.
    assert float(kl_divergence(p + 7.0, q - 3.0)) == pytest.approx(kl, abs=TOL)


def test_kl_infinite_exactly_on_support_mismatch() -> None:
    # q gives zero probability to an action p can take -> +inf; JSD and TV stay finite.
    assert float(kl_divergence([0.0, 0.0], [0.0, NINF])) == math.inf
    assert float(kl_divergence([0.0, -700.0], [0.0, NINF])) == math.inf  # tiny mass still counts
    assert math.isfinite(float(js_divergence([0.0, 0.0], [0.0, NINF])))
    assert float(total_variation([0.0, 0.0], [0.0, NINF])) == pytest.approx(0.5, abs=TOL)
    # p without mass where q is zero: 0 log 0 = 0, finite.
    assert float(kl_divergence([0.0, NINF], [0.0, NINF])) == 0.0
    assert float(kl_divergence([0.0, NINF, 1.0], [0.0, NINF, 1.0])) == 0.0
    # Only the affected rows of a batch are infinite.
    batch = kl_divergence(np.array([[0.0, 0.0], [0.0, NINF]]), np.array([0.0, NINF]))
    assert batch[0] == math.inf
    assert batch[1] == 0.0


def test_pmi_signs_and_zero_probability_conventions() -> None:
    # p(a) = 0 < q(a): -inf; q(a) = 0 < p(a): +inf; both zero: 0 (zero joint weight).
    assert float(pointwise_mutual_information([0.0, NINF], [0.0, 0.0], 1)) == -math.inf
    assert float(pointwise_mutual_information([0.0, 0.0], [0.0, NINF], 1)) == math.inf
    assert float(pointwise_mutual_information([0.0, NINF], [0.0, NINF], 1)) == 0.0
    t = pointwise_mutual_information(
        torch.tensor([0.0, NINF], dtype=torch.float64), torch.tensor([0.0, NINF]), 1
    )
    assert float(t) == 0.0


# ------------------------------------------------------------------------ SciPy oracles


@pytest.mark.parametrize("base", [None, 2])
def test_kl_matches_scipy_rel_entr(base: float | None) -> None:
    rng = np.random.default_rng(11)
    p = random_simplex(rng, (200, 6), zeros=0.3)
    q = random_simplex(rng, (200, 6), zeros=0.0)
    expected = scipy.special.rel_entr(p, q).sum(axis=-1) / (1.0 if base is None else LN2)
    got = kl_divergence(log_probs(p), log_probs(q), base=base)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    # With zeros in q as well: SciPy also gives +inf exactly where q = 0 < p.
    q0 = random_simplex(rng, (200, 6), zeros=0.3)
    expected0 = scipy.special.rel_entr(p, q0).sum(axis=-1)
    got0 = kl_divergence(log_probs(p), log_probs(q0))
    assert np.array_equal(np.isinf(got0), np.isinf(expected0))
    assert np.isinf(got0).any()
    assert (~np.isinf(got0)).any()
    finite = ~np.isinf(expected0)
    np.testing.assert_allclose(got0[finite], expected0[finite], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("base", [None, 2])
def test_jsd_matches_scipy_jensenshannon_squared(base: float | None) -> None:
    rng = np.random.default_rng(12)
    p = random_simplex(rng, (200, 5), zeros=0.3)
    q = random_simplex(rng, (200, 5), zeros=0.3)
    expected = jensenshannon(p, q, base=base, axis=-1) ** 2
    got = js_divergence(log_probs(p), log_probs(q), base=base)
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-12)


def test_tv_and_pmi_match_probability_space_loops() -> None:
    rng = np.random.default_rng(13)
    p = random_simplex(rng, (50, 4), zeros=0.25)
    q = random_simplex(rng, (50, 4), zeros=0.0)
    acts = rng.integers(0, 4, size=50)
    tv = total_variation(log_probs(p), log_probs(q))
    pmi = pointwise_mutual_information(log_probs(p), log_probs(q), acts, base=2)
    for i in range(50):
        loop_tv = 0.5 * sum(abs(x - y) for x, y in zip(p[i], q[i], strict=True))
        assert tv[i] == pytest.approx(loop_tv, abs=TOL)
        a = acts[i]
        want = -math.inf if p[i, a] == 0 else math.log2(p[i, a] / q[i, a])
        assert pmi[i] == pytest.approx(want, abs=TOL)


# ------------------------------------------------------------------- batching, backends


@pytest.mark.parametrize("kind", DIVERGENCES)
def test_broadcasting_over_leading_dims_matches_loop(kind: str) -> None:
    rng = np.random.default_rng(14)
    p = log_probs(random_simplex(rng, (3, 1, 5), zeros=0.2))
    q = log_probs(random_simplex(rng, (4, 5), zeros=0.0))
    acts = rng.integers(0, 5, size=(1, 4))
    out = divergence(p, q, kind=kind, actual=acts, base=2)
    assert isinstance(out, np.ndarray)
    assert out.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            single = divergence(p[i, 0], q[j], kind=kind, actual=acts[0, j], base=2)
            assert out[i, j] == pytest.approx(float(single), abs=1e-12)


@pytest.mark.parametrize("kind", DIVERGENCES)
def test_numpy_and_torch_agree_and_keep_their_type(kind: str) -> None:
    rng = np.random.default_rng(15)
    p = log_probs(random_simplex(rng, (6, 7, 4), zeros=0.25))
    q = log_probs(random_simplex(rng, (6, 7, 4), zeros=0.0))
    acts = rng.integers(0, 4, size=(6, 7))
    ref = divergence(p, q, kind=kind, actual=acts)
    assert isinstance(ref, np.ndarray)
    assert ref.shape == (6, 7)
    out = divergence(torch.from_numpy(p), torch.from_numpy(q), kind=kind, actual=acts)
    assert isinstance(out, torch.Tensor)
    assert out.dtype == torch.float64
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12, atol=1e-12)
    # Mixed backends give torch; torch indices work with numpy logits.
    mixed = divergence(p, torch.from_numpy(q), kind=kind, actual=torch.from_numpy(acts))
    assert isinstance(mixed, torch.Tensor)
    np.testing.assert_allclose(mixed.numpy(), ref, rtol=1e-12, atol=1e-12)
    np_with_torch_idx = divergence(p, q, kind=kind, actual=torch.from_numpy(acts))
    assert isinstance(np_with_torch_idx, np.ndarray)
    np.testing.assert_allclose(np_with_torch_idx, ref, rtol=1e-12, atol=1e-12)
    # float32 stays float32 and close to the float64 result.
    out32 = divergence(
        torch.from_numpy(p).float(), torch.from_numpy(q).float(), kind=kind, actual=acts
    )
    assert out32.dtype == torch.float32
    np.testing.assert_allclose(out32.numpy(), ref, rtol=1e-4, atol=1e-5)


def test_large_and_masked_logits_are_finite_and_correct() -> None:
    # p ~ point mass on 0, q ~ point mass on 1 (logit gap 1e4), action 2 masked in both.
    p = np.array([1e4, 0.0, NINF])
    q = np.array([0.0, 1e4, NINF])
    assert float(kl_divergence(p, q)) == pytest.approx(1e4, rel=1e-12)
    assert float(js_divergence(p, q)) == pytest.approx(LN2, abs=TOL)
    assert float(js_divergence(p, q, base=2)) == pytest.approx(1.0, abs=TOL)
    assert float(total_variation(p, q)) == pytest.approx(1.0, abs=TOL)
    assert float(pointwise_mutual_information(p, q, 0)) == pytest.approx(1e4, rel=1e-12)
    # Huge common offsets change nothing.
    base_p, base_q = np.array([0.3, -0.2, 1.1]), np.array([-0.5, 0.4, 0.0])
    for offset in (-1e4, 1e4):
        for fn in (kl_divergence, js_divergence, total_variation):
            shifted = float(fn(base_p + offset, base_q - offset))
            assert shifted == pytest.approx(float(fn(base_p, base_q)), abs=1e-9)
    # The same in float32 torch: finite, right magnitude.
    tp, tq = torch.tensor(p, dtype=torch.float32), torch.tensor(q, dtype=torch.float32)
    for kind in DIVERGENCES:
        assert torch.isfinite(divergence(tp, tq, kind=kind, actual=1)).all()


def _grads(kind: str, p: torch.Tensor, q: torch.Tensor, actual: object) -> list[torch.Tensor]:
    p = p.clone().requires_grad_(True)
    q = q.clone().requires_grad_(True)
    divergence(p, q, kind=kind, actual=actual).sum().backward()
    assert p.grad is not None
    assert q.grad is not None
    return [p.grad, q.grad]


@pytest.mark.parametrize("kind", DIVERGENCES)
def test_torch_gradients_finite_with_masks_large_logits_and_infinite_kl(kind: str) -> None:
    p = torch.tensor(
        [[0.2, NINF, 1e4, -1e4], [NINF, 0.0, 0.0, NINF], [0.0, 0.0, 0.0, 0.0], [1.0, 2.0, NINF, 3]],
        dtype=torch.float64,
    )
    q = torch.tensor(
        [[-1e4, NINF, 0.5, 1e4], [NINF, 1.0, NINF, 0.0], [0.0, 0.0, NINF, 0.0], [1.0, 2.0, 0.5, 3]],
        dtype=torch.float64,
    )
    # Row 1 and 2: q = 0 < p somewhere, so KL = +inf there; gradients must still be finite.
    actual = torch.tensor([2, 1, 2, 2])
    for grad in _grads(kind, p, q, actual):
        assert torch.isfinite(grad).all(), (kind, grad)
    # Masked entries get no gradient.
    g_p, g_q = _grads(kind, p, q, actual)
    assert g_p[0, 1] == 0.0
    assert g_q[1, 2] == 0.0


@pytest.mark.parametrize("kind", ["kl", "jsd", "tv", "pmi"])
def test_torch_gradient_matches_finite_differences(kind: str) -> None:
    gen = torch.Generator().manual_seed(3)
    p = torch.randn(5, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    q = torch.randn(5, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    actual = torch.tensor([0, 1, 2, 3, 0])
    assert torch.autograd.gradcheck(
        lambda a, b: divergence(a, b, kind=kind, actual=actual, base=2), (p, q)
    )


def test_kl_gradient_is_analytic_score() -> None:
    # d KL(p||q) / d q_logits = q - p (probabilities), a standard identity.
    p = torch.tensor([0.4, -1.0, 2.0], dtype=torch.float64)
    q = torch.tensor([1.0, 0.0, -0.5], dtype=torch.float64, requires_grad=True)
    kl_divergence(p, q).backward()
    assert q.grad is not None
    expected = torch.softmax(q.detach(), -1) - torch.softmax(p, -1)
    torch.testing.assert_close(q.grad, expected, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------- errors


def test_invalid_logits_raise_invalid_distribution_error() -> None:
    good = np.zeros((2, 3))
    with pytest.raises(InvalidDistributionError, match="NaN"):
        kl_divergence(np.array([[0.0, np.nan, 0.0], [0, 0, 0]]), good)
    with pytest.raises(InvalidDistributionError, match=r"\+inf"):
        js_divergence(good, np.array([0.0, math.inf, 0.0]))
    with pytest.raises(InvalidDistributionError, match="masked"):
        total_variation(np.array([[0.0, 0.0, 0.0], [NINF, NINF, NINF]]), good)
    with pytest.raises(InvalidDistributionError, match="NaN"):
        kl_divergence(torch.tensor([0.0, math.nan]), torch.zeros(2))
    with pytest.raises(InvalidDistributionError, match="masked"):
        pointwise_mutual_information(torch.zeros(2), torch.full((2,), NINF), 0)


def test_bad_shapes_raise_shape_error() -> None:
    with pytest.raises(ShapeError, match="same number of actions"):
        kl_divergence(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ShapeError, match="broadcast"):
        js_divergence(np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(ShapeError, match="expected logits with at least 1"):
        total_variation(1.0, 2.0)
    with pytest.raises(ShapeError, match="non-empty"):
        kl_divergence(np.zeros((2, 0)), np.zeros((2, 0)))
    with pytest.raises(ShapeError, match=r"got numpy.ndarray of shape \(3,\)"):
        pointwise_mutual_information(np.zeros((2, 4)), np.zeros(4), np.zeros(3, dtype=int))


def test_bad_actions_kinds_and_bases_raise_typed_errors() -> None:
    with pytest.raises(ShapeError, match=r"\[0, 3\)"):
        pointwise_mutual_information(np.zeros(3), np.zeros(3), 3)
    with pytest.raises(ShapeError, match=r"\[0, 3\)"):
        pointwise_mutual_information(np.zeros(3), np.zeros(3), -1)
    with pytest.raises(ShapeError, match=r"\[0, 3\)"):
        pointwise_mutual_information(torch.zeros(3), torch.zeros(3), torch.tensor([0, 5]))
    with pytest.raises(DTypeError, match="integer"):
        pointwise_mutual_information(np.zeros(3), np.zeros(3), 1.5)
    with pytest.raises(ConfigError, match="expected one of") as info:
        divergence(np.zeros(2), np.zeros(2), kind="hellinger")
    assert "got 'hellinger'" in str(info.value)
    with pytest.raises(ConfigError, match="actual"):
        divergence(np.zeros(2), np.zeros(2), kind="pmi")
    for bad in (0, 1, -2.0, "2"):
        with pytest.raises(ConfigError, match="base"):
            kl_divergence(np.zeros(2), np.zeros(2), base=bad)  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="base"):
            divergence(np.zeros(2), np.zeros(2), kind="tv", base=bad)  # type: ignore[arg-type]
    # Typed errors are still ValueErrors for callers that do not know this package.
    with pytest.raises(ValueError, match="same number of actions"):
        kl_divergence(np.zeros(2), np.zeros(3))


def test_error_messages_say_expected_and_got() -> None:
    cases = [
        lambda: kl_divergence(np.zeros((2, 3)), np.zeros((2, 4))),
        lambda: kl_divergence(0.0, 0.0),
        lambda: pointwise_mutual_information(np.zeros(3), np.zeros(3), [4]),
        lambda: divergence(np.zeros(2), np.zeros(2), kind="l2"),
        lambda: kl_divergence([0.0, np.nan], [0.0, 0.0]),
    ]
    for case in cases:
        with pytest.raises(ValueError, match="expected") as info:
            case()
        assert "got" in str(info.value)


# ---------------------------------------------------------------------- hypothesis properties

LOGIT = st.one_of(
    st.floats(-40.0, 40.0, allow_nan=False),
    st.sampled_from([NINF, -1e4, 1e4]),
)


@st.composite
def logit_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Two logit rows over the same A actions, -inf allowed, never a whole row of -inf."""
    a = draw(st.integers(1, 6))
    rows = []
    for _ in range(2):
        row = np.array(draw(st.lists(LOGIT, min_size=a, max_size=a)))
        if np.isneginf(row).all():
            row[draw(st.integers(0, a - 1))] = 0.0
        rows.append(row)
    return rows[0], rows[1]


@settings(max_examples=150, deadline=None)
@given(logit_pairs())
def test_property_ranges(pair: tuple[np.ndarray, np.ndarray]) -> None:
    p, q = pair
    kl = float(kl_divergence(p, q))
    jsd = float(js_divergence(p, q))
    tv = float(total_variation(p, q))
    assert kl >= 0.0
    assert 0.0 <= jsd <= LN2 + 1e-12
    assert 0.0 <= tv <= 1.0 + 1e-12
    # Symmetry of JSD and TV; KL(p||p) = JSD(p||p) = TV(p,p) = 0.
    assert float(js_divergence(q, p)) == pytest.approx(jsd, abs=1e-12)
    assert float(total_variation(q, p)) == pytest.approx(tv, abs=1e-12)
    assert float(kl_divergence(p, p)) == pytest.approx(0.0, abs=1e-12)
    assert float(js_divergence(p, p)) == pytest.approx(0.0, abs=1e-12)
    # Pinsker: TV <= sqrt(KL / 2); JSD <= TV * ln 2 (both standard bounds).
    # KL carries an absolute rounding error of ~1e-16 (sums of O(1) terms), which the square
    # root turns into ~1e-8 when the distributions nearly coincide.
    assert tv <= math.sqrt(kl / 2.0 + 1e-15) + 1e-9
    assert jsd <= tv * LN2 + 1e-9
    # KL is infinite exactly on a support mismatch.
    mismatch = bool((np.isfinite(p) & np.isneginf(q)).any())
    assert math.isinf(kl) == mismatch
    # Bits are nats / ln 2.
    if math.isfinite(kl):
        assert float(kl_divergence(p, q, base=2)) == pytest.approx(kl / LN2, rel=1e-12, abs=1e-15)
    assert float(js_divergence(p, q, base=2)) == pytest.approx(jsd / LN2, rel=1e-12, abs=1e-15)


@settings(max_examples=100, deadline=None)
@given(logit_pairs())
def test_property_torch_matches_numpy_and_gradients_are_finite(
    pair: tuple[np.ndarray, np.ndarray],
) -> None:
    p, q = pair
    for kind in DIVERGENCES:
        tp = torch.tensor(p, requires_grad=True)
        tq = torch.tensor(q, requires_grad=True)
        out = divergence(tp, tq, kind=kind, actual=0)
        ref = float(divergence(p, q, kind=kind, actual=0))
        value = float(out.detach())
        if math.isinf(ref):
            assert value == ref
        else:
            assert value == pytest.approx(ref, rel=1e-9, abs=1e-11)
        out.backward()
        assert tp.grad is not None
        assert tq.grad is not None
        assert torch.isfinite(tp.grad).all()
        assert torch.isfinite(tq.grad).all()
