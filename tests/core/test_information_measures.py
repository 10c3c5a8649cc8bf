"""Information measures and communication metrics against closed forms (docs/metrics.md),
scikit-learn and SciPy oracles, and hypothesis properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import mutual_info_score, normalized_mutual_info_score
from sklearn.metrics.cluster import _expected_mutual_info_fast

from causal_influence.communication import (
    causal_influence_of_communication,
    context_independence,
    influential_moments,
    instantaneous_coordination,
    lagged_pairs,
    speaker_consistency,
)
from causal_influence.errors import (
    ConfigError,
    DTypeError,
    FewSamplesWarning,
    InvalidDistributionError,
    ShapeError,
    UndefinedConditionalWarning,
)
from causal_influence.information import (
    bootstrap_ci,
    conditional_mutual_information,
    contingency_table,
    entropy,
    expected_mutual_information,
    g_test,
    mutual_information,
    normalized_mutual_information,
    permutation_test,
)
from causal_influence.information.significance import _random_tables

LN2 = math.log(2)
X3 = np.array([0, 0, 0, 0, 1, 1, 1, 1])
Y3 = np.array([0, 0, 0, 1, 0, 1, 1, 1])


# --------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize(("base", "expected"), [(None, 0.130812), (2, 0.188722)])
def test_case3_sample_oracle(base: float | None, expected: float) -> None:
    assert mutual_information(X3, Y3, base=base) == pytest.approx(expected, abs=1e-6)
    assert mutual_information(X3, Y3) == pytest.approx(mutual_info_score(X3, Y3), abs=1e-12)


def test_case8_conditioning_on_state() -> None:
    s = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    ak = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    aj_b = np.array([0, 0, 1, 1, 1, 1, 0, 0])
    assert conditional_mutual_information(ak, aj_b, s, base=2) == pytest.approx(1.0, abs=1e-12)
    assert conditional_mutual_information(ak, aj_b, s) == pytest.approx(LN2, abs=1e-12)
    assert mutual_information(ak, aj_b) == pytest.approx(0.0, abs=1e-12)
    # 8a with exact frequencies: copy in A, independent in B.
    s_a = np.repeat([0, 1], 8)
    k_a = np.tile([0, 0, 1, 1], 4)
    j_a = np.concatenate([k_a[:8], np.tile([0, 1], 4)])
    assert conditional_mutual_information(k_a, j_a, s_a) == pytest.approx(0.346574, abs=1e-6)
    assert conditional_mutual_information(k_a, j_a, s_a, base=2) == pytest.approx(0.5, abs=1e-9)
    assert mutual_information(k_a, j_a) == pytest.approx(0.130812, abs=1e-6)


def case9_samples() -> tuple[list[int], list[int]]:
    m = [0] * 5 + [1] * 5
    a = [0, 0, 0, 0, 1, 1, 1, 1, 1, 0]
    return m, a


def test_case9_speaker_consistency_all_definitions() -> None:
    m, a = case9_samples()
    assert speaker_consistency(m, a, definition="jaques_literal") == pytest.approx(
        0.556144, abs=1e-6
    )
    assert speaker_consistency(m, a, definition="jaques") == pytest.approx(0.278072, abs=1e-6)
    assert speaker_consistency(m, a, definition="mi") == pytest.approx(0.192745, abs=1e-6)
    assert speaker_consistency(m, a, definition="mi", base=2) == pytest.approx(0.278072, abs=1e-6)
    one_to_one = [0, 1, 2] * 4
    assert speaker_consistency(one_to_one, one_to_one, definition="jaques_literal") == 3.0
    assert speaker_consistency(one_to_one, one_to_one, definition="jaques") == 1.0
    mi_ind = [0, 0, 1, 1]
    ai_ind = [0, 1, 0, 1]
    assert speaker_consistency(mi_ind, ai_ind, definition="jaques") == pytest.approx(0.0, abs=1e-12)


def test_speaker_consistency_needs_a_definition_and_handles_agents() -> None:
    m, a = case9_samples()
    with pytest.raises(ConfigError, match="jaques_literal"):
        speaker_consistency(m, a)
    with pytest.raises(ConfigError, match="definition"):
        speaker_consistency(m, a, definition="lowe")
    two = np.stack([m, [0, 1] * 5], axis=1)
    acts = np.stack([a, [0, 1] * 5], axis=1)
    per_agent = speaker_consistency(two, acts, definition="mi")
    assert per_agent.shape == (2,)
    assert per_agent[1] == pytest.approx(LN2)
    lit = speaker_consistency(two, acts, definition="jaques_literal")
    assert lit == pytest.approx(0.556144 + 2.0, abs=1e-6)  # sums over agents
    assert speaker_consistency(two, acts, definition="jaques") == pytest.approx(
        (0.278072 + 1.0) / 2, abs=1e-6
    )
    with pytest.warns(UndefinedConditionalWarning):
        speaker_consistency([0, 0, 1, 1], [0, 1, 0, 1], definition="jaques", num_symbols=3)


def test_case10_cic() -> None:
    uniform = np.full(4, 0.25)
    ignore = np.full((4, 2), 0.5)
    assert float(causal_influence_of_communication(ignore, uniform)) == pytest.approx(
        0.0, abs=1e-12
    )
    assert float(causal_influence_of_communication(ignore, uniform, lowe_compat=True)) == (
        pytest.approx(math.log(4), abs=1e-9)
    )
    copy = np.eye(4)
    assert float(causal_influence_of_communication(copy, uniform)) == pytest.approx(math.log(4))
    assert float(causal_influence_of_communication(copy, uniform, base=2)) == pytest.approx(2.0)
    assert float(causal_influence_of_communication(copy, uniform, lowe_compat=True)) == (
        pytest.approx(2 * math.log(4))
    )
    assert float(causal_influence_of_communication(copy, np.eye(4)[2])) == pytest.approx(0.0)
    contexts = np.stack([copy, np.full((4, 4), 0.25)])
    per = causal_influence_of_communication(contexts, np.stack([uniform, uniform]), reduce=False)
    assert per == pytest.approx([math.log(4), 0.0])
    with pytest.raises(InvalidDistributionError, match="sum to 1"):
        causal_influence_of_communication(copy * 2, uniform)
    with pytest.raises(ShapeError):
        causal_influence_of_communication(copy, np.full(3, 1 / 3))


def test_case11_influential_moments_masking() -> None:
    m_t = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    a_next = np.array([0, 1, 0, 1, 0, 0, 0, 0])
    c_t = np.array([2, 2, 2, 2, 0, 0, 0, 0])
    mask = influential_moments(c_t)
    assert mask.tolist() == [True] * 4 + [False] * 4
    for base, scale in [(None, 1.0), (2, LN2)]:
        assert mutual_information(m_t, a_next, base=base) == pytest.approx(
            0.215762 / scale, abs=1e-6
        )
        assert mutual_information(m_t[mask], a_next[mask], base=base) == pytest.approx(LN2 / scale)
    # The same through instantaneous_coordination with lag 1.
    src = np.stack([np.append(m_t, 0), np.zeros(9, int)], axis=1)
    act = np.stack([np.zeros(9, int), np.insert(a_next, 0, 0)], axis=1)
    keep = np.stack([np.append(mask, False), np.ones(9, bool)], axis=1)
    res = instantaneous_coordination(src, act, mask=keep, base=2)
    assert res.matrix[0, 1] == pytest.approx(1.0)
    assert res.argmax == (0, 1)
    assert np.isnan(res.matrix[0, 0])


def test_instantaneous_coordination_matches_pairwise_loop_and_respects_episodes() -> None:
    rng = np.random.default_rng(5)
    t_steps, n = 400, 3
    msgs = rng.integers(0, 4, size=(t_steps, n))
    acts = rng.integers(0, 3, size=(t_steps, n))
    acts[1:, 2] = msgs[:-1, 0] % 3  # agent 2 listens to agent 0
    episodes = np.repeat(np.arange(4), 100)
    res = instantaneous_coordination(msgs, acts, episode_ids=episodes)
    for k in range(n):
        for j in range(n):
            if k == j:
                continue
            xs, ys = [], []
            for t in range(t_steps - 1):
                if episodes[t] == episodes[t + 1]:
                    xs.append(msgs[t, k])
                    ys.append(acts[t + 1, j])
            assert res.matrix[k, j] == pytest.approx(mutual_info_score(xs, ys), abs=1e-12)
            assert res.counts[k, j] == len(xs) == 396
    assert res.argmax == (0, 2)
    assert lagged_pairs(6, 2, [0, 0, 0, 1, 1, 1]).tolist() == [0, 3]


def test_case15_bias_oracle_and_exact_emi() -> None:
    rng = np.random.default_rng(5)
    x = rng.integers(0, 4, size=64)
    y = rng.integers(0, 2, size=64)
    table = contingency_table(x, y)
    sk_emi = _expected_mutual_info_fast.expected_mutual_information(table, 64)
    assert expected_mutual_information(x, y) == pytest.approx(sk_emi, abs=1e-12)
    shuffle = mutual_information(x, y, estimator="shuffle")
    assert shuffle == pytest.approx(mutual_information(x, y) - sk_emi, abs=1e-12)
    # Mean over many samples: plug-in ~0.0245 nats, Miller-Madow ~0.001.
    reps = 2000
    xs = rng.integers(0, 4, size=(reps, 64))
    ys = rng.integers(0, 2, size=(reps, 64))
    plug = np.mean([mutual_information(a, b) for a, b in zip(xs, ys, strict=True)])
    mm = np.mean(
        [mutual_information(a, b, estimator="miller_madow") for a, b in zip(xs, ys, strict=True)]
    )
    assert plug == pytest.approx(0.0245, abs=0.002)
    assert abs(mm) < 0.004


# --------------------------------------------------------------------------- library oracles


def test_against_sklearn_on_random_labels() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        x = rng.integers(0, 5, size=300)
        y = (x + rng.integers(0, 3, size=300)) % 4
        assert mutual_information(x, y) == pytest.approx(mutual_info_score(x, y), abs=1e-12)
        for method in ("arithmetic", "geometric", "min", "max"):
            assert normalized_mutual_information(x, y, average_method=method) == pytest.approx(
                normalized_mutual_info_score(x, y, average_method=method), abs=1e-12
            )
    assert normalized_mutual_information([1, 1], [2, 2]) == 1.0
    assert normalized_mutual_information([1, 1], [0, 2]) == 0.0


def test_g_test_identity_matches_scipy() -> None:
    table = contingency_table(X3, Y3)
    scipy_g = stats.chi2_contingency(table, correction=False, lambda_="log-likelihood")
    ours = g_test(X3, Y3)
    assert ours.statistic == pytest.approx(scipy_g.statistic, abs=1e-12)
    assert ours.pvalue == pytest.approx(scipy_g.pvalue, abs=1e-12)
    assert ours.statistic == pytest.approx(2 * 8 * mutual_information(X3, Y3), abs=1e-12)


def test_permutation_pvalue_matches_scipy_permutation_test() -> None:
    rng = np.random.default_rng(7)
    x = rng.integers(0, 4, size=64)
    y = np.where(rng.random(64) < 0.25, x % 2, rng.integers(0, 2, size=64))
    b = 2000
    ours = permutation_test(x, y, n_resamples=b, rng=1)
    ref = stats.permutation_test(
        (x, y),
        lambda a, c: mutual_info_score(a, c),
        permutation_type="pairings",
        alternative="greater",
        n_resamples=b,
        rng=np.random.default_rng(2),
    )
    tol = 4 * math.sqrt(ref.pvalue * (1 - ref.pvalue) / b) + 2 / b
    assert abs(ours.pvalue - ref.pvalue) < tol
    assert ours.statistic == pytest.approx(ref.statistic, abs=1e-12)
    assert ours.null_mean == pytest.approx(
        expected_mutual_information(x, y), abs=4 * ours.null_std / math.sqrt(b)
    )


def test_random_tables_follow_the_permutation_distribution() -> None:
    rng = np.random.default_rng(3)
    rows = np.array([5, 3, 2])
    cols = np.array([4, 4, 2])
    sims = _random_tables(rows, cols, 20000, rng)
    assert (sims.sum(axis=2) == rows).all()
    assert (sims.sum(axis=1) == cols).all()
    # Compare the mean table with explicit permutations.
    x = np.repeat(np.arange(3), rows)
    y = np.repeat(np.arange(3), cols)
    perm_tables = np.array(
        [contingency_table(x, rng.permutation(y), num_x=3, num_y=3) for _ in range(20000)]
    )
    assert sims.mean(axis=0) == pytest.approx(perm_tables.mean(axis=0), abs=0.05)
    assert sims.var(axis=0) == pytest.approx(perm_tables.var(axis=0), abs=0.05)


def test_conditional_permutation_test_detects_conditional_dependence() -> None:
    s = np.repeat([0, 1], 100)
    rng = np.random.default_rng(0)
    ak = rng.integers(0, 2, size=200)
    aj = np.where(s == 0, ak, 1 - ak)
    assert permutation_test(ak, aj, n_resamples=200, rng=0).pvalue > 0.05
    r = permutation_test(ak, aj, z=s, n_resamples=200, rng=0)
    assert r.pvalue == pytest.approx(1 / 201)
    assert r.statistic == pytest.approx(conditional_mutual_information(ak, aj, s), abs=1e-12)
    assert r.statistic > 0.68


def test_bootstrap_resamples_whole_episodes() -> None:
    # Each episode holds a constant value; a resample of whole episodes only ever contains
    # complete blocks of 10 equal values.
    values = np.repeat(np.arange(12.0), 10)
    groups = np.repeat(np.arange(12), 10)
    seen_block_sizes: set[int] = set()

    def stat(v: np.ndarray) -> float:
        _, counts = np.unique(v, return_counts=True)
        seen_block_sizes.update(int(c) % 10 for c in counts)
        return float(v.mean())

    r = bootstrap_ci(stat, values, groups=groups, n_resamples=300, rng=0)
    assert seen_block_sizes == {0}
    assert r.low <= r.estimate <= r.high
    assert r.n_groups == 12
    r2 = bootstrap_ci(stat, values, groups=groups, n_resamples=300, rng=0)
    assert (r.low, r.high) == (r2.low, r2.high)
    with pytest.warns(FewSamplesWarning):
        bootstrap_ci(np.mean, values[:30], groups=groups[:30], n_resamples=10, rng=0)


def test_basic_bootstrap_reflects_the_percentile_interval_and_corrects_mi_bias() -> None:
    # Independent labels: the plug-in MI is biased up, and its bootstrap distribution is
    # shifted up again (fewer distinct samples per resample), so the percentile interval lies
    # above the estimate; the basic interval reflects it about the estimate.
    rng = np.random.default_rng(3)
    x, y = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    groups = np.repeat(np.arange(30), 10)

    def mi(a: np.ndarray, b: np.ndarray) -> float:
        return float(mutual_information(a, b))

    perc = bootstrap_ci(mi, x, y, groups=groups, n_resamples=400, rng=1)
    basic = bootstrap_ci(mi, x, y, groups=groups, n_resamples=400, rng=1, method="basic")
    assert basic.estimate == perc.estimate
    assert basic.low == pytest.approx(2 * perc.estimate - perc.high, abs=1e-15)
    assert basic.high == pytest.approx(2 * perc.estimate - perc.low, abs=1e-15)
    # The bootstrap bias estimate is positive and about the first-order plug-in bias,
    # (|X| - 1)(|Y| - 1) / (2 n) nats (docs/metrics.md, "Information estimators").
    assert perc.bias > 0
    assert perc.bias == pytest.approx(9 / 600, rel=0.5)
    assert (perc.low + perc.high) / 2 > perc.estimate  # the shift the percentile inherits
    assert (basic.low + basic.high) / 2 < basic.estimate  # ... and the basic interval undoes
    assert basic.low < perc.estimate - perc.bias < basic.high
    assert (basic.method, perc.method) == ("basic", "percentile")
    with pytest.raises(ConfigError, match="method"):
        bootstrap_ci(mi, x, y, n_resamples=10, method="bca")


@pytest.mark.slow
def test_permutation_pvalues_are_uniform_under_the_null() -> None:
    rng = np.random.default_rng(11)
    ps = [
        permutation_test(
            rng.integers(0, 3, 80), rng.integers(0, 3, 80), n_resamples=199, rng=i
        ).pvalue
        for i in range(400)
    ]
    assert stats.kstest(ps, "uniform").pvalue > 0.001


# --------------------------------------------------------------------------- errors


def test_bad_inputs_raise_typed_errors() -> None:
    with pytest.raises(ShapeError, match="equal length"):
        mutual_information([0, 1], [0, 1, 1])
    with pytest.raises(DTypeError, match="non-negative"):
        entropy([-1, 0])
    with pytest.raises(DTypeError, match="integer"):
        entropy([0.5, 1.0])
    with pytest.raises(ShapeError, match="empty"):
        entropy([])
    with pytest.raises(ShapeError, match="1-D"):
        entropy(np.zeros((2, 2), int))
    with pytest.raises(ConfigError, match="estimator"):
        mutual_information([0, 1], [0, 1], estimator="nsb")
    with pytest.raises(ConfigError, match="base"):
        entropy([0, 1], base=1)
    with pytest.warns(FewSamplesWarning):
        mutual_information([0, 1, 2], [0, 1, 2])


# --------------------------------------------------------------------------- properties

labels = st.lists(st.integers(0, 4), min_size=10, max_size=60)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_property_mi_symmetric_nonnegative_bounded(data: st.DataObject) -> None:
    x = np.array(data.draw(labels))
    y = np.array(data.draw(st.lists(st.integers(0, 3), min_size=len(x), max_size=len(x))))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewSamplesWarning)
        ixy = mutual_information(x, y)
        iyx = mutual_information(y, x)
        hx, hy = entropy(x), entropy(y)
        cmi = conditional_mutual_information(x, y, (x + y) % 2)
    assert ixy == pytest.approx(iyx, abs=1e-12)
    assert -1e-12 <= ixy <= min(hx, hy) + 1e-12
    assert cmi >= -1e-12


def test_property_cmi_is_zero_in_expectation_for_conditionally_independent_samples() -> None:
    rng = np.random.default_rng(4)
    mm, sh, plug = [], [], []
    for _ in range(300):
        z = rng.integers(0, 3, size=300)
        x = (z + rng.integers(0, 2, size=300)) % 3  # depends on z
        y = (2 * z + rng.integers(0, 2, size=300)) % 3  # depends on z, not on x given z
        plug.append(conditional_mutual_information(x, y, z))
        mm.append(conditional_mutual_information(x, y, z, estimator="miller_madow"))
        sh.append(conditional_mutual_information(x, y, z, estimator="shuffle"))
    assert np.mean(plug) > 0.003  # the plug-in bias is visible
    assert abs(np.mean(mm)) < 0.0015
    assert abs(np.mean(sh)) < 0.0015


def test_case12_context_independence() -> None:
    one_to_one = [0, 1, 2, 3] * 5
    assert context_independence(one_to_one, [3, 2, 1, 0] * 5) == 1.0
    # Independent uniform with exact frequencies: |M| = 4, |A| = 2.
    m = np.repeat(np.arange(4), 2)
    a = np.tile([0, 1], 4)
    assert context_independence(m, a) == pytest.approx(0.125)
    with pytest.warns(UndefinedConditionalWarning):
        context_independence([0, 1], [0, 0], num_actions=2)
