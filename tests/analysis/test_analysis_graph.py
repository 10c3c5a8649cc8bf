"""Influence graphs: thresholds, node measures, time windows, exports that reload unchanged,
and the figures (Agg)."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from analysis.graph import (
    graph_from_matrix,
    influence_graph,
    node_measures,
    read_graph_json,
    windowed_graphs,
    write_graph,
)
from analysis.plots import (
    draw_influence_graph,
    figure_to_png,
    plot_coordination,
    plot_influence_heatmap,
    plot_influence_over_time,
)
from causal_influence.errors import ConfigError, ShapeError


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "influencer": ["a", "b", "a", "c", "b", "c"],
            "influencee": ["b", "a", "c", "a", "c", "b"],
            "mean": [0.50, 0.45, 0.02, 0.30, 0.20, 0.0],
            "ci_low": [0.40, 0.30, 0.0, 0.2, 0.1, 0.0],
            "ci_high": [0.60, 0.55, 0.05, 0.4, 0.3, 0.01],
            "p_value": [0.001, 0.002, 0.01, 0.03, 0.2, float("nan")],
            "q_value": [0.006, 0.006, 0.02, 0.045, 0.24, float("nan")],
            "n": [1000] * 6,
        }
    )


def edges(g: nx.DiGraph) -> set[tuple[str, str]]:
    return set(g.edges)


def test_thresholds_by_significance_and_effect_size(table) -> None:
    assert edges(influence_graph(table, alpha=0.05)) == {
        ("a", "b"),
        ("b", "a"),
        ("a", "c"),
        ("c", "a"),
    }
    assert edges(influence_graph(table, alpha=0.01, use_q=False)) == {
        ("a", "b"),
        ("b", "a"),
        ("a", "c"),
    }
    assert edges(influence_graph(table, alpha=0.05, min_effect=0.1)) == {
        ("a", "b"),
        ("b", "a"),
        ("c", "a"),
    }
    everything = influence_graph(table, alpha=None)
    assert everything.number_of_edges() == 6
    # A missing statistic is left off the edge instead of being stored as NaN.
    assert "p_value" not in everything.edges["c", "b"]
    assert everything.edges["a", "b"] == {
        "weight": 0.5,
        "ci_low": 0.4,
        "ci_high": 0.6,
        "p_value": 0.001,
        "q_value": 0.006,
        "n": 1000,
    }
    isolated = influence_graph(table, alpha=0.0001, nodes=["a", "b", "c", "d"])
    assert set(isolated.nodes) == {"a", "b", "c", "d"}
    assert isolated.number_of_edges() == 0
    with pytest.raises(ConfigError):
        influence_graph(table.drop(columns=["q_value"]), alpha=0.05)
    with pytest.raises(ConfigError):
        influence_graph(table, weight="nope")


def test_node_measures_match_sums_and_networkx_pagerank(table) -> None:
    g = influence_graph(table, alpha=None)
    m = node_measures(g)
    t = table
    for v in ("a", "b", "c"):
        assert m.loc[v, "out_strength"] == pytest.approx(t[t.influencer == v]["mean"].sum())
        assert m.loc[v, "in_strength"] == pytest.approx(t[t.influencee == v]["mean"].sum())
    ranks = nx.pagerank(g, weight="weight")
    assert m["pagerank"].to_dict() == pytest.approx(ranks)
    assert m["pagerank"].sum() == pytest.approx(1.0)
    empty = node_measures(influence_graph(table, alpha=0.0, nodes=["a", "b"]))
    assert empty["pagerank"].tolist() == [0.5, 0.5]


def test_exports_reload_with_networkx_to_the_same_graph(table, tmp_path) -> None:
    g = influence_graph(table, alpha=0.3, name="test graph")
    files = write_graph(g, tmp_path / "sub" / "g.graphml")
    assert files["graphml"].name == "g.graphml"
    assert files["json"].name == "g.json"
    for reloaded in (nx.read_graphml(files["graphml"]), read_graph_json(files["json"])):
        assert isinstance(reloaded, nx.DiGraph)
        assert set(reloaded.nodes) == set(g.nodes)
        assert edges(reloaded) == edges(g)
        for u, v, data in g.edges(data=True):
            got = reloaded.edges[u, v]
            assert set(got) == set(data)
            for key, value in data.items():
                assert got[key] == pytest.approx(value)
                assert type(got[key]) is type(value), key
        for node, data in g.nodes(data=True):
            assert reloaded.nodes[node] == data
        extra = ("node_default", "edge_default")  # GraphML's reader adds these
        assert {k: v for k, v in reloaded.graph.items() if k not in extra} == g.graph
    # JSON is strict (no NaN), so any JSON reader accepts it.
    text = files["json"].read_text()
    assert "NaN" not in text
    assert "Infinity" not in text


def test_graph_from_matrix_and_windows() -> None:
    g = graph_from_matrix(
        np.array([[0, 0.3, 0.0], [0.1, 0, 0.0], [np.nan, 0.2, 0]]), min_effect=0.15
    )
    assert sorted(g.edges(data="weight")) == [
        ("agent_0", "agent_1", 0.3),
        ("agent_2", "agent_1", 0.2),
    ]
    with pytest.raises(ShapeError):
        graph_from_matrix(np.zeros((2, 3)))
    rng = np.random.default_rng(0)
    infl = rng.random((40, 3, 3))
    ids = np.repeat([0, 1], 20)
    wins = windowed_graphs(infl, window=5, stride=10, episode_ids=ids)
    assert [(a, b) for a, b, _ in wins] == [(0, 5), (10, 15)]
    t_in = np.tile(np.arange(20), 2)
    for start, stop, graph in wins:
        sel = (t_in >= start) & (t_in < stop)
        expected = infl[sel].mean(axis=0)
        assert graph.graph["n"] == sel.sum() == 10
        for u, v, w in graph.edges(data="weight"):
            assert w == pytest.approx(expected[int(u[-1]), int(v[-1])])
        assert graph.number_of_edges() == 6
    by_time = windowed_graphs(infl, window=20, time=np.arange(40))
    assert [(a, b) for a, b, _ in by_time] == [(0, 20), (20, 40)]
    valid = np.ones(40, dtype=bool)
    valid[:20] = False
    assert [
        (a, b) for a, b, _ in windowed_graphs(infl, window=20, time=np.arange(40), valid=valid)
    ] == [(20, 40)]


def test_figures_render_with_agg(table) -> None:
    g = influence_graph(table, alpha=None)
    pngs = [
        figure_to_png(draw_influence_graph(g)),
        figure_to_png(
            plot_influence_heatmap(
                np.array([[0, 1.0], [0.5, 0]]), ["x", "y"], significant=np.eye(2) == 0
            )
        ),
        figure_to_png(
            plot_influence_over_time(
                np.random.default_rng(0).random((50, 2)),
                np.zeros((50, 2), bool),
                ["x", "y"],
                profile=np.ones((50, 2)),
            )
        ),
        figure_to_png(
            plot_coordination(
                pd.DataFrame(
                    {
                        "kind": ["action/action"] * 4,
                        "subset": ["all", "all", "high_influence", "high_influence"],
                        "influencer": ["x", "y", "x", "y"],
                        "influencee": ["y", "x", "y", "x"],
                        "value": [0.2, 0.1, 0.3, 0.0],
                        "ci_low": [0.1, 0.0, 0.2, 0.0],
                        "ci_high": [0.3, 0.2, 0.4, math.nan],
                    }
                )
            )
        ),
        figure_to_png(draw_influence_graph(nx.DiGraph())),
    ]
    for png in pngs:
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(png) > 1000
    with pytest.raises(ShapeError):
        plot_influence_heatmap(np.zeros((2, 2)), ["only one"])
