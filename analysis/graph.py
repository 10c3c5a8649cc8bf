"""Influence graphs: agents as nodes, an edge k -> j where k measurably influences j.

From :func:`analysis.stats.influence_table` an edge is the **influence test**: the interval
of k's influence on j over episodes lies above the minimum effect (the table's
``influence_above_min_effect``); it carries ``weight`` (the mean influence), ``ci_low``,
``ci_high``, ``n`` and ``test``. With counterfactual logits the table also holds the
**responsiveness test** (``responsiveness_above_min_effect``: j's policy moves with k's value
set at random), and a pair that passes only that one gets an edge too, weighted by the mean
responsiveness (a listener that follows a near-deterministic speaker: the paper's influence is
~0, the responsiveness is not); ``measure`` names the quantity of each edge. From any other
per-pair table (an observational measure such as :func:`analysis.stats.coordination_table`
rows, or a table with ``mean`` / ``value``, ``p_value`` / ``q_value`` columns) edges are
thresholded by significance (q- or p-value) and by effect size. Graphs are also built per
time window, summarised by node measures (out- and in-strength, PageRank) and exported to
GraphML and JSON node-link files that networkx reads back unchanged.

Missing statistics (NaN, e.g. tests that were skipped) are left off the edge rather than
stored as NaN, so the exports stay valid (JSON has no NaN) and round-trip exactly.

Examples
--------
>>> import pandas as pd
>>> from analysis.graph import influence_graph, node_measures
>>> table = pd.DataFrame({
...     "influencer": ["a", "b", "a"], "influencee": ["b", "a", "c"],
...     "mean": [0.5, 0.01, 0.2], "ci_low": [0.4, 0.0, 0.1], "ci_high": [0.6, 0.02, 0.3],
...     "p_value": [0.001, 0.6, 0.002], "q_value": [0.003, 0.6, 0.003], "n": [100, 100, 100]})
>>> g = influence_graph(table, alpha=0.05)
>>> sorted(g.edges(data="weight"))
[('a', 'b', 0.5), ('a', 'c', 0.2)]
>>> float(node_measures(g).loc["a", "out_strength"])
0.7
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from causal_influence.errors import ConfigError, FileFormatError, ShapeError, describe
from causal_influence.io import atomic_write
from causal_influence.io.limits import read_json
from causal_influence.noise import NOISE_FLOOR_NATS
from causal_influence.validation import (
    as_episode_starts,
    check_number,
    check_shape,
    steps_in_episode,
)

__all__ = [
    "DECISION_COLUMN",
    "EDGE_ATTRIBUTES",
    "RESPONSIVENESS_COLUMN",
    "graph_from_matrix",
    "influence_graph",
    "node_measures",
    "read_graph_json",
    "windowed_graphs",
    "write_graph",
]

#: Edge attributes copied from a table (when the column exists and the value is finite).
EDGE_ATTRIBUTES: tuple[str, ...] = ("ci_low", "ci_high", "p_value", "q_value", "n", "test")

#: Column of an influence table holding the influence test (the decision of an edge).
DECISION_COLUMN = "influence_above_min_effect"

#: Column of an influence table holding the responsiveness test (an edge where the influence
#: test fails but j responds to k's value set at random).
RESPONSIVENESS_COLUMN = "responsiveness_above_min_effect"

#: Edge attributes of an influence table: attribute -> column.
_INFLUENCE_ATTRIBUTES = {
    "ci_low": "influence_ci_low",
    "ci_high": "influence_ci_high",
    "n": "n",
}


def _python(value: Any) -> Any:
    """A JSON/GraphML-friendly Python scalar, or None for missing values."""
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if value is None or (isinstance(value, str)):
        return value
    return str(value)


# Long: docstring of 47 lines (the two edge rules, the options, the graph attributes); code
# 35 lines.
def influence_graph(
    table: pd.DataFrame,
    *,
    weight: str | None = None,
    alpha: float | None = 0.05,
    use_q: bool = True,
    min_effect: float = 0.0,
    nodes: Sequence[str] | None = None,
    name: str = "influence",
) -> nx.DiGraph:
    """Directed influence graph from a per-pair table.

    With an influence table (:func:`analysis.stats.influence_table`, which has the column
    ``influence_above_min_effect``) an edge k -> j is drawn exactly where that **influence
    test** holds: the interval of the influence over episodes lies above the table's minimum
    effect (``alpha`` and ``use_q`` do not apply: the observational p-values of that table do
    not test influence), and, when the table has the responsiveness test (counterfactual
    logits), also where only that one holds (edge ``measure`` "responsiveness", weighted by the
    mean responsiveness). With any other table, edges are thresholded by significance and size.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per ordered pair with columns ``influencer``, ``influencee`` and ``weight``;
        optionally ``ci_low``, ``ci_high``, ``p_value``, ``q_value``, ``n``, ``test``
        (:func:`analysis.stats.coordination_table` rows of one kind and subset work with
        ``weight="value"``).
    weight : str, optional
        Column giving the edge weight (default ``"influence"`` for an influence table, else
        ``"mean"`` or, failing that, ``"value"``).
    alpha : float or None
        Other tables: keep edges whose q-value (``use_q``) or p-value is at most ``alpha``;
        None keeps every edge regardless of significance.
    use_q : bool
        Threshold on the Benjamini-Hochberg q-value (default) rather than the raw p-value.
    min_effect : float
        Keep edges whose weight is at least this (effect-size threshold; an influence table's
        own decision already holds its minimum effect).
    nodes : sequence of str, optional
        Every agent, so that agents without edges still appear (default: the agents named in
        the table).
    name : str
        Graph name (``G.graph["name"]``).

    Returns
    -------
    networkx.DiGraph
        Node attribute ``label``; edge attributes ``weight`` and those of
        :data:`EDGE_ATTRIBUTES` present and finite (``test`` names the decision). Graph
        attributes ``name``, ``weight`` (the column used), ``rule`` (how edges were decided),
        ``alpha`` (absent when None), ``use_q``, ``min_effect``.

    Raises
    ------
    ConfigError
        When a needed column is missing or ``alpha`` is out of range.
    """
    min_effect = check_number("min_effect", min_effect)
    if alpha is not None:  # checked even where the influence test decides the edges
        alpha = check_number("alpha", alpha, low=0, high=1)
    if DECISION_COLUMN in table.columns:
        return _decided_graph(table, weight or "influence", min_effect, nodes, name)
    if weight is None:
        weight = "mean" if "mean" in table.columns or "value" not in table.columns else "value"
    test_col = "q_value" if use_q else "p_value"
    _check_table(table, weight, alpha, test_col)
    graph = nx.DiGraph(name=name, weight=weight, use_q=bool(use_q), min_effect=float(min_effect))
    graph.graph["rule"] = (
        f"{test_col} <= {alpha} and {weight} >= {min_effect}"
        if alpha is not None
        else f"{weight} >= {min_effect}"
    )
    if alpha is not None:  # GraphML has no None: leave the attribute out instead
        graph.graph["alpha"] = float(alpha)
    for node in _all_nodes(table, nodes):
        graph.add_node(node, label=node)
    for row in table.to_dict("records"):
        if _kept(row, weight, min_effect, alpha, test_col):
            k, j = str(row["influencer"]), str(row["influencee"])
            if k != j:
                graph.add_edge(k, j, **_edge_attributes(row, weight))
    return graph


def _all_nodes(table: pd.DataFrame, nodes: Sequence[str] | None) -> list[str]:
    if nodes is not None:
        return [str(v) for v in nodes]
    return [str(v) for v in dict.fromkeys([*table["influencer"], *table["influencee"]])]


def _decided_graph(
    table: pd.DataFrame,
    weight: str,
    min_effect: float,
    nodes: Sequence[str] | None,
    name: str,
) -> nx.DiGraph:
    """The graph of an influence table: edges where its influence test holds, and where only
    its responsiveness test holds (when the table has one)."""
    for col in ("influencer", "influencee", weight):
        if col not in table.columns:
            raise ConfigError(
                f"influence_graph: the table needs a column {col!r}; got columns "
                f"{list(table.columns)}"
            )
    threshold = float(table["min_effect"].max()) if "min_effect" in table.columns else 0.0
    rule = f"influence interval over episodes above the minimum effect {threshold:.3g} nats"
    responds = {"responsiveness", RESPONSIVENESS_COLUMN} <= set(table.columns)
    responds_rule = (
        f"responsiveness interval over episodes above the minimum effect {threshold:.3g} "
        f"(j's policy moves with k's value set at random; the influence is below it)"
    )
    graph = nx.DiGraph(name=name, weight=weight, use_q=False, min_effect=float(min_effect))
    graph.graph["rule"] = (
        f"influence or responsiveness interval over episodes above the minimum effect "
        f"{threshold:.3g} nats"
        if responds
        else rule
    )
    graph.graph["threshold"] = threshold
    for node in _all_nodes(table, nodes):
        graph.add_node(node, label=node)
    for row in table.to_dict("records"):
        k, j = str(row["influencer"]), str(row["influencee"])
        if k == j:
            continue
        if _holds(row[DECISION_COLUMN]) and _at_least(row[weight], min_effect):
            attrs: dict[str, Any] = {"weight": float(row[weight]), "test": rule}
            attrs["measure"] = "influence"
            columns = _INFLUENCE_ATTRIBUTES
        elif responds and _holds(row[RESPONSIVENESS_COLUMN]):
            if not _at_least(row["responsiveness"], min_effect):
                continue
            attrs = {"weight": float(row["responsiveness"]), "test": responds_rule}
            attrs["measure"] = "responsiveness"
            columns = {
                "ci_low": "responsiveness_ci_low",
                "ci_high": "responsiveness_ci_high",
                "n": "n",
            }
        else:
            continue
        for attr, col in columns.items():
            value = _python(row.get(col))
            if value is not None:
                attrs[attr] = value
        for col in ("influence", "responsiveness"):
            value = _python(row.get(col))
            if value is not None:
                attrs[col] = value
        graph.add_edge(k, j, **attrs)
    return graph


def _holds(decided: Any) -> bool:
    """Whether a test column's entry is True (None / NaN / False are not)."""
    return decided is True or decided is np.True_


def _at_least(value: Any, threshold: float) -> bool:
    return value is not None and math.isfinite(float(value)) and float(value) >= threshold


def _check_table(table: pd.DataFrame, weight: str, alpha: float | None, test_col: str) -> None:
    for col in ("influencer", "influencee", weight):
        if col not in table.columns:
            raise ConfigError(
                f"influence_graph: the table needs a column {col!r}; got columns "
                f"{list(table.columns)}"
            )
    if alpha is not None and test_col not in table.columns:
        raise ConfigError(
            f"influence_graph: alpha={alpha} thresholds on {test_col!r}, which the table does "
            f"not have; pass alpha=None or compute the tests"
        )


def _kept(
    row: dict[str, Any], weight: str, min_effect: float, alpha: float | None, test_col: str
) -> bool:
    """Whether a table row becomes an edge: a finite weight of at least ``min_effect`` and,
    with ``alpha``, a finite test value of at most ``alpha``."""
    w = row[weight]
    if w is None or not math.isfinite(float(w)) or float(w) < min_effect:
        return False
    if alpha is not None:
        p = row.get(test_col)
        if p is None or not math.isfinite(float(p)) or float(p) > alpha:
            return False
    return True


def _edge_attributes(row: dict[str, Any], weight: str) -> dict[str, Any]:
    """``weight`` and the statistics of :data:`EDGE_ATTRIBUTES` present and finite."""
    attrs: dict[str, Any] = {"weight": float(row[weight])}
    for col in EDGE_ATTRIBUTES:
        if col in row:
            value = _python(row[col])
            if value is not None:
                attrs[col] = value
    return attrs


def graph_from_matrix(
    matrix: Any,
    *,
    agent_ids: Sequence[str] | None = None,
    min_effect: float = 0.0,
    floor: float = NOISE_FLOOR_NATS,
) -> nx.DiGraph:
    """Influence graph from an (N, N) matrix (row = influencer, column = influencee).

    Entries below ``min_effect``, entries not above the noise ``floor`` (rounding residue is
    no edge), the diagonal and NaN give no edge.

    Examples
    --------
    >>> g = graph_from_matrix([[0, 0.3], [0.0, 0]], min_effect=0.1)
    >>> list(g.edges(data="weight"))
    [('agent_0', 'agent_1', 0.3)]
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ShapeError(f"matrix: expected shape (N, N); got {describe(m)}")
    m = np.where(m > floor, m, np.nan)
    n = m.shape[0]
    ids = [f"agent_{i}" for i in range(n)] if agent_ids is None else [str(a) for a in agent_ids]
    if len(ids) != n:
        raise ShapeError(f"agent_ids: expected {n} ids; got {len(ids)}")
    rows = [
        {"influencer": ids[k], "influencee": ids[j], "mean": m[k, j]}
        for k in range(n)
        for j in range(n)
        if k != j
    ]
    table = pd.DataFrame(rows, columns=["influencer", "influencee", "mean"])
    return influence_graph(table, weight="mean", alpha=None, min_effect=min_effect, nodes=ids)


# Long: docstring of 43 lines (eight options, the result, an example); code 38 lines.
def windowed_graphs(
    influence: Any,
    *,
    window: int,
    stride: int | None = None,
    episode_ids: Any = None,
    time: Any = None,
    agent_ids: Sequence[str] | None = None,
    min_effect: float = 0.0,
    valid: Any = None,
    floor: float = NOISE_FLOOR_NATS,
) -> list[tuple[int, int, nx.DiGraph]]:
    """Influence graphs of successive time windows.

    Time is the step within the episode (so all episodes are aligned at their start) unless
    ``time`` is given (e.g. the global step of training). Each window ``[start, start +
    window)`` pools the steps whose time falls in it, and its graph carries the mean
    influence of every pair over those steps (edges below ``min_effect`` dropped) and ``n``.

    Parameters
    ----------
    influence : array_like of shape (T, N, N)
        Per-step pairwise influence, row = influencer k, column = influencee j.
    window : int
        Window length in steps.
    stride : int, optional
        Distance between window starts (default ``window``: disjoint windows).
    episode_ids : array_like of shape (T,), optional
        Episode of each step (for the step within the episode).
    time : array_like of int, shape (T,), optional
        Explicit time of each step; overrides ``episode_ids``.
    agent_ids : sequence of str, optional
    min_effect : float
    valid : array_like of bool, shape (T,), optional
        Steps to use (e.g. the engine's ``valid`` rows).
    floor : float
        Noise floor: a mean at or below it is no edge (default
        :data:`causal_influence.NOISE_FLOOR_NATS`; pass
        ``causal_influence.noise_floor(influence.dtype)`` for values stored in float32).

    Returns
    -------
    list of (start, stop, networkx.DiGraph)
        One entry per window that holds at least one step; graph attributes ``start``,
        ``stop`` and ``n``.

    Examples
    --------
    >>> import numpy as np
    >>> infl = np.zeros((4, 2, 2))
    >>> infl[2:, 0, 1] = 1.0                          # agent 0 influences 1 late in the episode
    >>> [(a, b, g.number_of_edges()) for a, b, g in windowed_graphs(infl, window=2,
    ...                                                            min_effect=0.5)]
    [(0, 2, 0), (2, 4, 1)]
    """
    c = np.asarray(influence, dtype=np.float64)
    if c.ndim != 3 or c.shape[1] != c.shape[2] or c.shape[0] == 0:
        raise ShapeError(f"influence: expected shape (T, N, N) with T > 0; got {describe(c)}")
    if window < 1 or (stride is not None and stride < 1):
        raise ConfigError(f"window and stride: expected positive integers; got {window}, {stride}")
    t_len, n = c.shape[0], c.shape[1]
    steps = _window_time(t_len, episode_ids, time)
    keep = np.ones(t_len, dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    check_shape(keep, "valid", (t_len,))
    ids_out = [f"agent_{i}" for i in range(n)] if agent_ids is None else list(agent_ids)
    step = window if stride is None else stride
    lo, hi = int(steps[keep].min()), int(steps[keep].max())
    out = []
    for start in range(lo - (lo % step), hi + 1, step):
        sel = keep & (steps >= start) & (steps < start + window)
        count = int(sel.sum())
        if count == 0:
            continue
        graph = graph_from_matrix(
            c[sel].mean(axis=0), agent_ids=ids_out, min_effect=min_effect, floor=floor
        )
        for _, _, data in graph.edges(data=True):
            data["n"] = count
        graph.graph.update(start=int(start), stop=int(start + window), n=count)
        out.append((int(start), int(start + window), graph))
    return out


def _window_time(t_len: int, episode_ids: Any, time: Any) -> np.ndarray:
    """The time of each step: ``time`` when given, else the step within its episode."""
    if time is not None:
        return np.asarray(check_shape(np.asarray(time), "time", (t_len,)))
    return steps_in_episode(as_episode_starts(t_len, episode_ids=episode_ids))


def node_measures(graph: nx.DiGraph, *, weight: str = "weight") -> pd.DataFrame:
    """Out- and in-strength, degrees and PageRank of every node.

    Parameters
    ----------
    graph : networkx.DiGraph
    weight : str
        Edge attribute used as weight.

    Returns
    -------
    pandas.DataFrame
        Indexed by node, columns ``out_strength`` (sum of outgoing weights: how much the
        agent influences others), ``in_strength`` (how much it is influenced),
        ``out_degree``, ``in_degree`` and ``pagerank`` (weighted; uniform for a graph
        without edges).
    """
    nodes = list(graph.nodes)
    if not nodes:
        return pd.DataFrame(
            columns=["out_strength", "in_strength", "out_degree", "in_degree", "pagerank"]
        )
    if graph.number_of_edges() and sum(w for _, _, w in graph.edges(data=weight, default=0)) > 0:
        rank = nx.pagerank(graph, weight=weight)
    else:
        rank = dict.fromkeys(nodes, 1.0 / len(nodes))
    out_s = dict(graph.out_degree(weight=weight))
    in_s = dict(graph.in_degree(weight=weight))
    frame = pd.DataFrame(
        {
            "out_strength": [float(out_s[v]) for v in nodes],
            "in_strength": [float(in_s[v]) for v in nodes],
            "out_degree": [int(graph.out_degree(v)) for v in nodes],
            "in_degree": [int(graph.in_degree(v)) for v in nodes],
            "pagerank": [float(rank[v]) for v in nodes],
        },
        index=pd.Index(nodes, name="agent"),
    )
    return frame


def write_graph(graph: nx.DiGraph, path: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``graph`` as GraphML (``PATH.graphml``) and JSON node-link (``PATH.json``).

    Parameters
    ----------
    graph : networkx.DiGraph
    path : str or path-like
        File stem; a ``.graphml`` or ``.json`` suffix is replaced. Parent directories are
        created. Files are written atomically.

    Returns
    -------
    dict
        ``{"graphml": Path, "json": Path}``. Read back with ``networkx.read_graphml`` and
        :func:`read_graph_json`.
    """
    stem = Path(path)
    if stem.suffix in (".graphml", ".json"):
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    graphml = stem.with_name(stem.name + ".graphml")
    js = stem.with_name(stem.name + ".json")
    data = nx.node_link_data(graph, edges="edges")
    text = json.dumps(data, indent=2, default=_python, allow_nan=False)
    with atomic_write(graphml, js) as (tmp_graphml, tmp_js):
        nx.write_graphml(graph, tmp_graphml)
        tmp_js.write_text(text + "\n", encoding="utf-8")
    return {"graphml": graphml, "json": js}


def read_graph_json(path: str | os.PathLike[str]) -> nx.DiGraph:
    """Read a JSON node-link file written by :func:`write_graph`.

    Raises
    ------
    FileFormatError
        If the file is not JSON within :mod:`causal_influence.io.limits`, or not a node-link
        graph (naming the file).
    """
    data = read_json(path, "graph file")
    try:
        graph = nx.node_link_graph(data, directed=True, multigraph=False, edges="edges")
    except (KeyError, TypeError, ValueError, AttributeError, nx.NetworkXError) as err:
        raise FileFormatError(
            f"{path}: not a node-link graph written by write_graph ({type(err).__name__}: {err})"
        ) from err
    return nx.DiGraph(graph)
