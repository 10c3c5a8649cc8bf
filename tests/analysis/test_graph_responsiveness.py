"""Influence graphs with the responsiveness test: a listener that follows a near-deterministic
speaker gets its edge (the paper's influence is ~0, the responsiveness is not), a common cause
gets none (analysis.cases)."""

from __future__ import annotations

import networkx as nx
import pytest

from analysis import cases
from analysis.report import graph_of, write_report
from analysis.stats import analyze

FAST = {"n_bootstrap": 100, "n_permutations": 100, "rng": 0, "progress": False}


def test_a_listener_copying_a_near_deterministic_speaker_gets_a_responsiveness_edge(
    tmp_path,
) -> None:
    traj, _truth = cases.copying_listener(episodes=20, length=300, q=0.999, rng=1)
    result = analyze(traj, **FAST)
    row = result.influence.query("influencer == 'speaker' and influencee == 'listener'").iloc[0]
    assert not row["influence_above_min_effect"]  # the paper's influence is ~0 ...
    assert row["responsiveness_above_min_effect"]  # ... the listener responds
    graph = graph_of(result)
    assert set(graph.edges) == {("speaker", "listener")}
    edge = graph.edges["speaker", "listener"]
    assert edge["measure"] == "responsiveness"
    assert edge["weight"] == pytest.approx(row["responsiveness"])
    assert edge["ci_low"] == pytest.approx(row["responsiveness_ci_low"])
    assert edge["influence"] == pytest.approx(row["influence"])
    assert "responsiveness interval" in edge["test"]
    assert graph.graph["rule"].startswith("influence or responsiveness interval")
    write_report(result, tmp_path)
    saved = nx.read_graphml(tmp_path / "influence_graph.graphml")
    assert saved.edges["speaker", "listener"]["measure"] == "responsiveness"
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "influence or responsiveness interval over episodes" in html  # the caption
    # A higher minimum effect than the responsiveness removes the edge again.
    assert graph_of(result, min_effect=2.0).number_of_edges() == 0


def test_a_common_cause_gets_no_edge() -> None:
    traj, _truth = cases.common_cause(episodes=20, length=300, rng=2)
    result = analyze(traj, **FAST)
    assert graph_of(result).number_of_edges() == 0
