"""Conclusions you can trust (issue 11): ground-truth cases with closed-form answers, each
checked for its conclusion word and for the figures behind it.

The cases (analysis.cases): a listener copying a near-deterministic grounded speaker
(communicates), a common cause (common cause suspected), a listener whose response depends on
its own observation (influences, which the observational test misses), independent agents
(nothing detectable, calibrated p-values) and exact zeros through the whole pipeline.
"""

from __future__ import annotations

import dataclasses
import math

import networkx as nx
import numpy as np
import pytest
from scipy import stats

from analysis import cases
from analysis.cli import main
from analysis.conclusions import CONCLUSIONS
from analysis.dataset import summarize
from analysis.plots import plot_influence_heatmap
from analysis.report import graph_of, write_report
from analysis.stats import (
    analyze,
    conditional_coordination_table,
    coordination_table,
    grounding_table,
    influence_table,
)
from causal_influence import io as ci_io
from causal_influence.information import permutation_test_counts

FAST = {"n_bootstrap": 300, "n_permutations": 200, "rng": 0}


def pair(frame, k="speaker", j="listener"):
    sel = (frame["influencer"] == k) & (frame["influencee"] == j)
    assert sel.sum() == 1
    return frame[sel].iloc[0]


def words(result) -> dict[tuple[str, str], str]:
    table = result.conclusions()
    assert set(table["conclusion"]) <= set(CONCLUSIONS)
    return {(r.influencer, r.influencee): r.conclusion for r in table.itertuples()}


def covers(low: float, high: float, value: float, slack: float = 0.0) -> None:
    assert low - slack <= value <= high + slack, (low, high, value)


# --------------------------------------------------------------------------- the cases


@pytest.fixture(scope="module")
def copying():
    traj, truth = cases.copying_listener(episodes=20, length=500, q=0.999, rng=1)
    return traj, truth, analyze(traj, **FAST)


def test_copying_listener_communicates(copying) -> None:
    _traj, truth, result = copying
    assert words(result) == truth["conclusions"]
    infl = pair(result.influence)
    # The paper's influence is the information beyond the speaker's state: ~0 (H(pi) = 0.009),
    # below the minimum effect, although the listener copies every message...
    assert infl["influence"] < 0.05
    assert pair(result.cic)["cic"] == pytest.approx(truth["cic"], abs=1e-12)  # exact, per step
    # ...and the responsiveness shows that the listener does respond: ln 4, exactly.
    assert infl["responsiveness"] == pytest.approx(truth["responsiveness"], abs=1e-12)
    assert infl["responsiveness_above_min_effect"]
    ground = result.grounding.set_index("agent").loc["speaker"]
    covers(ground["ci_low"], ground["ci_high"], truth["grounded_information"])
    assert ground["q_value"] <= 0.05
    ic = result.coordination
    sym = ic[(ic["kind"] == "symbol/action") & (ic["subset"] == "all")]
    row = pair(sym)
    covers(row["ci_low"], row["ci_high"], truth["coordination"], slack=1e-3)
    line = pair(result.conclusions())["evidence"]
    assert "responsiveness 1.39" in line
    assert "grounded information" in line


@pytest.fixture(scope="module")
def common():
    traj, truth = cases.common_cause(episodes=20, length=300, rng=2)
    return traj, truth, analyze(traj, **FAST)


def test_common_cause_is_not_communication(common) -> None:
    _traj, truth, result = common
    assert words(result) == truth["conclusions"]
    infl = pair(result.influence)
    assert infl["influence"] == 0.0  # exactly: the listener's rows are equal
    assert infl["responsiveness"] == 0.0
    assert pair(result.cic)["cic"] == 0.0
    assert not infl["influence_above_min_effect"]
    # The observational test reads the common cause as dependence...
    assert infl["observational_q_value"] <= 0.05
    ic = result.coordination
    row = pair(ic[(ic["kind"] == "symbol/action") & (ic["subset"] == "all")])
    covers(row["ci_low"], row["ci_high"], truth["coordination"], slack=5e-3)
    # ...the message is grounded, but given the context nothing is left.
    ground = result.grounding.set_index("agent").loc["speaker"]
    covers(ground["ci_low"], ground["ci_high"], truth["grounded_information"])
    cond = pair(result.conditional_coordination)
    assert cond["q_value"] > 0.05
    covers(cond["ci_low"], cond["ci_high"], truth["conditional_coordination"])
    assert "the context explains it" in pair(result.conclusions())["evidence"]


def test_common_cause_without_counterfactuals_or_context(common) -> None:
    traj, _, _ = common
    # Context only: the context explains the dependence.
    no_cf = traj.replace(counterfactual_logits=None, influence=None)
    assert words(analyze(no_cf, **FAST))[("speaker", "listener")] == "common cause suspected"
    # Neither: an association whose cause the data cannot tell.
    bare = no_cf.replace(context=None)
    result = analyze(bare, **FAST)
    assert words(result)[("speaker", "listener")] == "associated (cause unknown)"


@pytest.fixture(scope="module")
def noisy():
    traj, truth = cases.noisy_listener(episodes=20, length=300, p=0.8, rng=3)
    return traj, truth, analyze(traj, **FAST)


def test_noisy_listener_influences_where_the_observational_test_sees_nothing(noisy) -> None:
    _traj, truth, result = noisy
    assert words(result) == truth["conclusions"]
    infl = pair(result.influence)
    covers(infl["influence_ci_low"], infl["influence_ci_high"], truth["influence"], slack=0.02)
    assert infl["responsiveness"] == pytest.approx(truth["responsiveness"], abs=1e-12)
    assert pair(result.cic)["cic"] == pytest.approx(truth["cic"], abs=1e-12)
    assert infl["influence_above_min_effect"]
    # Pooled over the listener's observation, message and action are independent.
    assert infl["observational_q_value"] > 0.05
    assert infl["observational_mi"] < 0.01
    graph = graph_of(result)
    assert set(graph.edges) == {("speaker", "listener")}
    assert "minimum effect" in graph.edges["speaker", "listener"]["test"]


def test_independent_agents_nothing_detectable() -> None:
    traj, truth = cases.independent_agents(episodes=10, length=200, rng=4)
    result = analyze(traj, **FAST)
    assert words(result) == truth["conclusions"]
    assert (result.influence["influence"] == 0.0).all()
    assert (result.influence["responsiveness"] == 0.0).all()
    assert graph_of(result).number_of_edges() == 0


def test_independent_agents_observational_pvalues_are_calibrated() -> None:
    """One p-value per seed and test family (pairs within a dataset are dependent)."""
    rng = np.random.default_rng(5)
    p: dict[str, list[float]] = {"observational": [], "grounding": [], "conditional": []}
    for seed in range(80):
        traj, _ = cases.independent_agents(episodes=4, length=100, rng=seed)
        context = rng.integers(0, 4, size=(traj.num_steps, 2))  # a context nobody uses
        traj = traj.replace(
            context=context, metadata=dataclasses.replace(traj.metadata, num_contexts=4)
        )
        s = summarize(traj)
        k = seed % 2
        it = influence_table(s, n_bootstrap=0, n_permutations=99, rng=seed)
        assert not it["influence_above_min_effect"].any()
        p["observational"].append(float(it["observational_p_value"].iloc[k]))
        g = grounding_table(s, n_bootstrap=0, n_permutations=99, rng=seed)
        p["grounding"].append(float(g["p_value"].iloc[k]))
        c = conditional_coordination_table(s, n_bootstrap=0, n_permutations=99, rng=seed)
        p["conditional"].append(float(c["p_value"].iloc[k]))
    for name, values in p.items():
        arr = np.asarray(values)
        assert stats.kstest(arr, "uniform").pvalue > 0.001, name
        assert np.mean(arr <= 0.05) < 0.05 + 3 * math.sqrt(0.05 * 0.95 / arr.size), name


# --------------------------------------------------------------------------- exact zeros


@pytest.fixture(scope="module")
def zeros():
    traj, truth = cases.exact_zeros(episodes=10, length=100, rng=6)
    return traj, truth, analyze(traj, **FAST)


def test_exact_zeros_through_the_pipeline(zeros, tmp_path) -> None:
    traj, truth, result = zeros
    assert traj.influence.dtype == np.float32
    assert (traj.influence == 0).all()  # the core engine on identical rows, float32 stored
    assert words(result) == truth["conclusions"]
    for column in ("influence", "influence_ci_low", "influence_ci_high", "responsiveness"):
        assert (result.influence[column] == 0.0).all(), column
    assert (result.cic["cic"] == 0.0).all()
    # No value below 0 anywhere (plug-in information included).
    for name, frame in result.tables().items():
        numeric = frame.select_dtypes("number").drop(
            columns=[c for c in ("k", "j", "bias") if c in frame.columns]
        )
        assert (numeric.fillna(0.0).to_numpy() >= 0).all(), name
    # The same data through files: still exactly 0.
    back = ci_io.load(ci_io.save(traj, tmp_path / "z.parquet"))
    assert (analyze(back, **FAST).influence["influence"] == 0.0).all()


def test_moments_unchanged_by_noise_below_the_floor(zeros) -> None:
    traj, _, _ = zeros
    rng = np.random.default_rng(7)
    stored = traj.replace(counterfactual_logits=None)  # moments from the stored influence
    noisy = stored.replace(
        influence=(stored.influence + rng.random(stored.influence.shape) * 1e-16).astype(np.float32)
    )
    for a, b in [(stored, noisy), (traj, traj.replace(counterfactual_logits=_jitter(traj)))]:
        sa, sb = summarize(a), summarize(b)
        np.testing.assert_array_equal(sa.high_steps, sb.high_steps)
        np.testing.assert_array_equal(sa.ic_message_high, sb.ic_message_high)
        np.testing.assert_array_equal(sa.ic_action_high, sb.ic_action_high)
    # An agent that influences no one: every step is a moment (share 1.0, not ~0.5).
    s = summarize(noisy)
    valid = s.influence_count.sum()
    assert (s.high_steps == valid).all()
    assert (influence_table(s, n_bootstrap=0, n_permutations=0)["high_fraction"] == 1.0).all()


def _jitter(traj):
    """Counterfactual logits changed by relative 1e-15: rows no longer equal bit for bit."""
    cf = traj.counterfactual_logits.astype(np.float64)
    noise = np.random.default_rng(8).uniform(-1, 1, cf.shape) * 1e-15
    return cf * (1.0 + noise)


def test_heatmap_of_zeros_and_of_rounding_residue_looks_like_zeros() -> None:
    residue = np.array([[0.0, 2.55e-17], [1e-17, 0.0]])
    fig = plot_influence_heatmap(residue, ["a", "b"], scale_min=0.01)
    image = fig.axes[0].images[0]
    assert float(np.ma.filled(image.get_array(), 0).max()) == 0.0
    assert image.get_clim() == (0.0, 0.01)  # zeros sit at the bottom of a scale to 0.01
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["0", "0"]
    # float32 residue of 1e-7 is below the float32 floor.
    fig = plot_influence_heatmap(
        np.array([[0.0, 3e-7], [0.0, 0.0]]), ["a", "b"], floor=7.6e-6, scale_min=0.01
    )
    assert float(np.ma.filled(fig.axes[0].images[0].get_array(), 0).max()) == 0.0


# --------------------------------------------------------------------------- moments


def test_selection_alone_does_not_make_moments_significant() -> None:
    """A wrong policy model selects moments where the message matches the listener's
    preferred action: coordination at those moments is large by selection alone. A naive
    permutation test of the selected pairs is fooled; the null that re-selects is not."""
    naive, reselected = [], []
    for seed in range(12):
        traj, _ = cases.misleading_moments(episodes=10, length=150, rng=seed)
        s = summarize(traj, moment_permutations=99, seed=seed)
        table = coordination_table(s, n_bootstrap=0, n_permutations=99, rng=seed)
        high = pair(
            table[(table["kind"] == "symbol/action") & (table["subset"] == "high_influence")]
        )
        assert high["test"] == "observational: permutation re-selecting moments"
        assert high["value"] > 0.1  # large, by selection
        observed = s.ic_message_high[:, 0, 1].sum(axis=0)
        naive.append(permutation_test_counts(observed, n_resamples=99, rng=seed).pvalue)
        reselected.append(float(high["p_value"]))
    assert max(naive) <= 0.01
    assert np.mean(np.asarray(reselected) <= 0.05) <= 0.25
    assert np.median(reselected) > 0.2


def test_high_influence_without_counterfactuals_has_no_pvalue(noisy) -> None:
    traj, _, _ = noisy
    result = analyze(traj.replace(counterfactual_logits=None), **FAST)
    high = result.coordination[result.coordination["subset"] == "high_influence"]
    assert high["p_value"].isna().all()
    assert high["test"].str.startswith("not run: a null that repeats the selection").all()


# --------------------------------------------------------------------------- report, CLI


@pytest.mark.parametrize("make", [cases.copying_listener, cases.common_cause, cases.noisy_listener])
def test_report_opens_with_the_conclusions(make, tmp_path) -> None:
    traj, truth = make(episodes=10, length=150, rng=9)
    result = analyze(traj, n_bootstrap=100, n_permutations=100, rng=0)
    text = write_report(result, tmp_path).read_text(encoding="utf-8")
    first = text.index("<h2>")
    assert text[first:].startswith("<h2>Conclusions</h2>")
    assert f"speaker &rarr; listener: <b>{truth['conclusion']}</b>" in text
    conclusions = (tmp_path / "conclusions.csv").read_text()
    assert truth["conclusion"] in conclusions


def test_graph_command_variable_messages_and_window(tmp_path, capsys) -> None:
    traj, _ = cases.common_cause(episodes=6, length=150, rng=10)
    bare = traj.replace(counterfactual_logits=None, influence=None, context=None)
    path = ci_io.save(bare, tmp_path / "bare.npz")
    args = ["--bootstrap", "50", "--permutations", "200", "--no-progress"]
    assert (
        main(["graph", str(path), "--out", str(tmp_path / "g"), "--variable", "messages", *args])
        == 0
    )
    graph = nx.read_graphml(tmp_path / "g" / "influence_graph.graphml")
    assert set(graph.edges) == {("speaker", "listener")}  # symbol/action coordination
    assert "symbol/action" in graph.graph["name"]
    assert (
        main(["graph", str(path), "--out", str(tmp_path / "a"), "--variable", "actions", *args])
        == 0
    )
    assert (
        "action/action" in nx.read_graphml(tmp_path / "a" / "influence_graph.graphml").graph["name"]
    )
    capsys.readouterr()
    out = tmp_path / "w"
    assert main(["graph", str(path), "--out", str(out), "--window", "50", *args]) == 2
    err = capsys.readouterr().err
    assert "--window" in err
    assert "stored influence" in err
    assert "influence" in err
    assert not out.exists()  # failed before writing anything
