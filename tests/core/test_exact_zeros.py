"""Exact zeros and the noise floor (issue 11, item 1).

Oracles: exact cases (identical counterfactual rows, exactly independent tables) must give
exactly 0 whatever the weights and dtypes; float32 inputs must give the float64 computation
cast to float32; decisions (moments of high influence) must not move when noise below the
floor is added.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import causal_influence as ci
from causal_influence.communication import causal_influence_of_communication
from causal_influence.errors import ConfigError, DTypeError
from causal_influence.information import (
    conditional_mutual_information_from_counts,
    entropy_from_counts,
    mutual_information_from_counts,
)

DIVERGENCES = ["kl", "jsd", "tv", "pmi"]


def identical_rows(rng: np.random.Generator, k: int, a: int, batch: int = 5) -> np.ndarray:
    row = rng.normal(size=(batch, 1, a)) * 3
    return np.repeat(row, k, axis=1)


# --------------------------------------------------------------------------- influence


@pytest.mark.parametrize("kind", DIVERGENCES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_identical_rows_give_exactly_zero(kind: str, dtype: type) -> None:
    rng = np.random.default_rng(0)
    cf = identical_rows(rng, 4, 5).astype(dtype)
    prior = np.log(rng.dirichlet(np.ones(4) * 0.3, size=5)).astype(dtype)  # far from uniform
    actual = rng.integers(0, 4, size=5)
    out = ci.influence(cf, prior, actual, divergence=kind, influencee_action=actual % 5)
    assert out.dtype == dtype
    assert (out == 0).all(), out
    expected = ci.expected_influence(cf, prior, divergence=kind)
    assert (expected == 0).all(), expected


def test_rows_of_zero_weight_do_not_count() -> None:
    """Rows the influencer never takes may differ: they are not part of the marginal."""
    cf = np.log([[0.2, 0.8], [0.2, 0.8], [0.9, 0.1]])
    prior = np.array([0.0, 0.0, -np.inf])  # value 2 has probability 0
    assert (ci.influence(cf, prior, [0, 1]) == 0).all()
    assert float(ci.expected_influence(cf, prior)) == 0.0


@settings(max_examples=60, deadline=None)
@given(
    k=st.integers(1, 6),
    a=st.integers(1, 6),
    seed=st.integers(0, 2**31 - 1),
    masked=st.booleans(),
)
def test_property_identical_rows_exact_zero(k: int, a: int, seed: int, masked: bool) -> None:
    rng = np.random.default_rng(seed)
    cf = identical_rows(rng, k, a, batch=3)
    if masked and a > 1:
        cf[..., 0] = -np.inf  # a masked action, the same in every row
    prior = rng.normal(size=(3, k)) * 4
    actual = rng.integers(0, k, size=3)
    assert (ci.influence(cf, prior, actual) == 0).all()
    assert (ci.expected_influence(cf, prior) == 0).all()
    assert (ci.interventional_responsiveness(cf) == 0).all()


def test_torch_exact_zero_keeps_dtype_and_gradient() -> None:
    rng = np.random.default_rng(1)
    cf = torch.tensor(identical_rows(rng, 3, 4), dtype=torch.float32, requires_grad=True)
    prior = torch.tensor(np.log([0.7, 0.2, 0.1]), dtype=torch.float32)
    out = ci.influence(cf, prior, torch.tensor([0, 1, 2, 0, 1]))
    assert out.dtype == torch.float32
    assert (out == 0).all()
    out.sum().backward()
    assert cf.grad is not None
    assert torch.isfinite(cf.grad).all()


@pytest.mark.parametrize("kind", ["kl", "jsd", "tv"])
def test_float32_inputs_are_computed_in_float64(kind: str) -> None:
    """The float32 result is the float64 computation on the same values, cast: no float32
    rounding bias (about 7.5e-8 nats for KL near 0) is added."""
    rng = np.random.default_rng(2)
    p = rng.normal(size=(2000, 6)).astype(np.float32)
    q = (p + rng.normal(size=p.shape) * 1e-3).astype(np.float32)  # nearly the same
    low = ci.divergence(p, q, kind=kind)
    high = ci.divergence(p.astype(np.float64), q.astype(np.float64), kind=kind)
    assert low.dtype == np.float32
    np.testing.assert_array_equal(low, high.astype(np.float32))
    tp = torch.tensor(p, requires_grad=True)
    tq = torch.tensor(q)
    out = ci.divergence(tp, tq, kind=kind)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.detach().numpy(), low, rtol=1e-6, atol=0)  # ulps apart
    out.sum().backward()
    assert tp.grad is not None
    assert torch.isfinite(tp.grad).all()


def test_float32_influence_of_near_independent_policies_has_no_bias() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(size=(4000, 1, 5))
    cf = (base + rng.normal(size=(4000, 4, 5)) * 1e-4).astype(np.float32)
    prior = np.zeros(4, dtype=np.float32)
    exact = ci.expected_influence(cf.astype(np.float64), prior.astype(np.float64))
    got = ci.expected_influence(cf, prior)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, exact, rtol=1e-6, atol=0)


# --------------------------------------------------------------------------- CIC, MI


def test_cic_of_an_ignoring_listener_is_exactly_zero() -> None:
    rng = np.random.default_rng(4)
    listener = np.broadcast_to(rng.dirichlet(np.ones(5), size=(7, 1)), (7, 4, 5))
    speaker = rng.dirichlet(np.ones(4) * 0.5, size=7)
    per = causal_influence_of_communication(listener, speaker, reduce=False)
    assert (per == 0).all()
    compat = causal_influence_of_communication(listener, speaker, lowe_compat=True)
    assert compat == pytest.approx(math.log(4), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    cond=hnp.arrays(np.float64, (3, 4), elements=st.floats(0, 1)),
    pm=hnp.arrays(np.float64, (3,), elements=st.floats(0, 1)),
)
def test_property_cic_never_negative(cond: np.ndarray, pm: np.ndarray) -> None:
    cond = cond + 1e-3
    cond = cond / cond.sum(axis=-1, keepdims=True)
    pm = (pm + 1e-3) / (pm + 1e-3).sum()
    value = float(causal_influence_of_communication(cond, pm))
    assert value >= 0.0
    loop = sum(
        pm[m] * cond[m, a] * math.log(cond[m, a] / (pm @ cond)[a])
        for m in range(3)
        for a in range(4)
    )
    assert value == pytest.approx(max(loop, 0.0), abs=1e-12)


def test_information_of_exactly_independent_tables_is_exactly_zero() -> None:
    assert float(mutual_information_from_counts([[1, 1], [1, 1]])) == 0.0
    assert float(mutual_information_from_counts([[3, 6, 9], [1, 2, 3]])) == 0.0
    assert float(mutual_information_from_counts([[7, 0], [0, 0]])) == 0.0
    assert float(entropy_from_counts([0, 13, 0])) == 0.0
    strata = [[[3, 6], [1, 2]], [[2, 2], [5, 5]]]
    assert float(conditional_mutual_information_from_counts(strata)) == 0.0
    rng = np.random.default_rng(5)
    x = rng.integers(0, 3, 600)
    assert ci.mutual_information(x, np.zeros(600, int)) == 0.0
    assert ci.entropy(np.full(9, 4)) == 0.0


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.int64, (3, 4), elements=st.integers(0, 40)))
def test_property_plugin_mi_matches_entropies_and_is_not_negative(table: np.ndarray) -> None:
    if table.sum() == 0:
        return
    mi = float(mutual_information_from_counts(table))
    hx = float(entropy_from_counts(table.sum(1)))
    hy = float(entropy_from_counts(table.sum(0)))
    hxy = float(entropy_from_counts(table.ravel()))
    assert mi >= 0.0
    assert mi == pytest.approx(max(hx + hy - hxy, 0.0), abs=1e-12)


# --------------------------------------------------------------------------- the floor


def test_noise_floor_values_and_errors() -> None:
    assert ci.NOISE_FLOOR_NATS == 1e-10
    assert ci.noise_floor() == ci.noise_floor(np.float64) == 1e-10
    assert ci.noise_floor(np.float32) == pytest.approx(64 * np.finfo(np.float32).eps)
    assert ci.noise_floor(torch.float32) == ci.noise_floor("float32")
    assert ci.noise_floor(np.float16) > ci.noise_floor(np.float32)
    with pytest.raises(DTypeError, match="floating dtype"):
        ci.noise_floor(np.int64)
    np.testing.assert_array_equal(ci.snap_to_zero([3e-11, -2e-11, 1e-3]), [0.0, 0.0, 1e-3])
    np.testing.assert_array_equal(ci.snap_to_zero([3e-6, 1e-4], floor=1e-5), [0.0, 1e-4])
    with pytest.raises(ConfigError, match="floor"):
        ci.snap_to_zero([1.0], floor=-1.0)


def test_moments_of_an_agent_that_influences_no_one_are_all_steps() -> None:
    """The issue's case: rounding residue of 1e-17..1e-16 used to select about half of the
    steps; below the floor every step counts as 0 and every step is a moment."""
    rng = np.random.default_rng(6)
    residue = rng.random((500, 2)) * 2e-16
    moments = ci.influential_moments(residue)
    assert moments.all()
    zeros = ci.influential_moments(np.zeros((500, 2)), episode_ids=np.repeat(np.arange(5), 100))
    assert zeros.all()


@settings(max_examples=80, deadline=None)
@given(
    values=hnp.arrays(
        np.float64,
        (40, 2),
        elements=st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0]),  # ties with the mean are common
    ),
    seed=st.integers(0, 2**31 - 1),
    episodes=st.booleans(),
)
def test_property_moments_unchanged_by_noise_below_the_floor(
    values: np.ndarray, seed: int, episodes: bool
) -> None:
    rng = np.random.default_rng(seed)
    ids = np.repeat(np.arange(4), 10) if episodes else None
    noise = rng.uniform(-1, 1, size=values.shape) * 1e-16
    base = ci.influential_moments(values, episode_ids=ids)
    noisy = ci.influential_moments(np.abs(values + noise), episode_ids=ids)
    np.testing.assert_array_equal(base, noisy)


def test_moments_closed_form_case_11_and_floor_option() -> None:
    c = np.array([2, 2, 2, 2, 0, 0, 0, 0], dtype=float)
    np.testing.assert_array_equal(ci.influential_moments(c), c > 1)
    tiny = np.array([3e-7, 0, 0, 0], dtype=float)  # a float32 residue, not signal
    assert ci.influential_moments(tiny).tolist() == [True, False, False, False]
    assert ci.influential_moments(tiny, floor=ci.noise_floor(np.float32)).all()
    with pytest.raises(ConfigError, match="floor"):
        ci.influential_moments(c, floor=float("nan"))
