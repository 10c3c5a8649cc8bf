"""``causal-influence graph PATH --out DIR``: the influence graph as GraphML and JSON
node-link, node measures, and optionally time-windowed graphs (:mod:`analysis.graph`).

Examples
--------
>>> import argparse
>>> sub = argparse.ArgumentParser().add_subparsers(dest="command")
>>> ns = add_parser(sub).parse_args(["shards/", "--out", "graph/", "--window", "100"])
>>> ns.window, ns.stride, ns.alpha
(100, None, 0.05)
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from analysis.commands.options import (
    Formatter,
    add_data_options,
    add_overwrite_option,
    check_output,
    check_stored_fields,
    data_source,
    positive_int,
)
from causal_influence.errors import CausalInfluenceError, FileFormatError
from causal_influence.io import atomic_directory, atomic_write

__all__ = ["NAME", "add_parser", "run"]

#: The subcommand's name on the command line.
NAME = "graph"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``graph`` subcommand and its options to ``subparsers``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME,
        help="influence graph files (GraphML, JSON node-link) and node measures",
        description=(
            "Build the influence graph and write DIR/influence_graph.graphml, "
            "DIR/influence_graph.json and DIR/node_measures.csv. With stored influence an edge "
            "k -> j is the influence test: the interval of k's influence on j over episodes "
            "lies above --min-effect (weight, interval and n on the edge). Without it, the "
            "graph is that of an observational measure, the coordination of --variable "
            "(messages: symbol/action, actions: action/action; default messages when there "
            "are any), edges at q <= --alpha with a value >= --min-effect. With --window, "
            "also one graph per window of steps within the episode under DIR/windows/ (needs "
            "stored influence)."
        ),
        formatter_class=Formatter,
    )
    add_data_options(parser)
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="output directory (missing or empty)"
    )
    add_overwrite_option(parser)
    parser.add_argument(
        "--window",
        type=positive_int,
        default=None,
        metavar="STEPS",
        help="also write time-windowed graphs of the mean influence over windows of this many "
        "steps within the episode (needs stored influence; edges where the window's mean "
        "influence is at least --min-effect)",
    )
    parser.add_argument(
        "--stride",
        type=positive_int,
        default=None,
        metavar="STEPS",
        help="distance between window starts (default: the window, i.e. disjoint windows)",
    )
    return parser


def run(ns: argparse.Namespace) -> int:
    """Write the graph files of ``ns.path`` into ``ns.out`` and print one summary line."""
    from analysis.dataset import summarize
    from analysis.graph import influence_graph, node_measures, write_graph

    if ns.stride is not None and ns.window is None:
        raise CausalInfluenceError("--stride: sets the distance between windows; add --window")
    out = check_output(ns.out, overwrite=ns.overwrite, inputs=(ns.path,))
    check_stored_fields(ns)
    source = data_source(ns)
    summary = summarize(
        source,
        lag=ns.lag,
        alignment=ns.alignment,
        variable=ns.variable,
        max_units=ns.max_units,
        visible_only=ns.visible_only,
        progress=not ns.no_progress,
    )
    if ns.window is not None and not summary.has_influence:  # before anything is written
        raise CausalInfluenceError(
            f"--window {ns.window}: time-windowed graphs are built from the stored influence "
            f"tensor (T, N, N), and {ns.path} has none; record it (Trajectory(influence=...), "
            f"e.g. from causal_influence.pairwise_influence or the reward helper) or drop "
            f"--window for the graph of the whole data"
        )
    table, weight, name = _edge_table(summary, ns)
    graph = influence_graph(
        table,
        weight=weight,
        alpha=ns.alpha if ns.permutations > 0 else None,
        min_effect=0.0 if summary.has_influence else ns.min_effect,
        nodes=list(summary.agent_ids),
        name=name,
    )
    with atomic_directory(out, overwrite=ns.overwrite, written_by="graph") as stage:
        files = write_graph(graph, stage / "influence_graph")
        with atomic_write(stage / "node_measures.csv") as (tmp,):
            node_measures(graph).to_csv(tmp)
        written = [files["graphml"], files["json"], stage / "node_measures.csv"]
        if ns.window is not None:
            written.extend(_write_windows(summary, ns, stage, source))
    print(
        f"graph: {graph.number_of_nodes()} agents, {graph.number_of_edges()} edges; wrote "
        f"{len(written)} files under {out}"
    )
    return 0


def _edge_table(summary: Any, ns: argparse.Namespace) -> tuple[Any, str, str]:
    """(table, weight column, graph name): the influence test with stored influence, else
    the coordination of the chosen variable (an observational measure)."""
    from analysis.coordination import observational_kind, over_all_steps
    from analysis.stats import coordination_table, influence_table

    common: dict[str, Any] = {
        "n_bootstrap": ns.bootstrap,
        "n_permutations": ns.permutations,
        "confidence_level": ns.confidence,
        "rng": ns.seed,
        "progress": not ns.no_progress,
    }
    if summary.has_influence:
        table = influence_table(summary, min_effect=ns.min_effect, **common)
        return table, "influence", "influence (interval above the minimum effect)"
    kind = observational_kind(summary)
    table = over_all_steps(coordination_table(summary, **common), kind)
    return table, "value", f"{kind} coordination (observational, q <= {ns.alpha})"


def _write_windows(summary: Any, ns: argparse.Namespace, out: Path, source: Any) -> list[Path]:
    """One graph per window of steps within the episode, under ``out/windows``."""
    from analysis.dataset import valid_influence_steps
    from analysis.graph import windowed_graphs, write_graph
    from analysis.sources import as_trajectory, iter_trajectories
    from causal_influence.noise import noise_floor
    from causal_influence.validation import episode_numbers

    parts, episodes, valid = [], [], []
    offset = 0
    for item in iter_trajectories(source):
        traj = as_trajectory(item)
        if traj.influence is None:
            raise FileFormatError("the first trajectory had influence but a later one has none")
        parts.append(traj.influence)
        episodes.append(episode_numbers(traj.episode_starts) + offset)  # numbered over shards
        valid.append(valid_influence_steps(traj, summary.influence_lag))
        offset += traj.num_episodes
    windows = windowed_graphs(
        np.concatenate(parts),
        window=ns.window,
        stride=ns.stride,
        episode_ids=np.concatenate(episodes),
        valid=np.concatenate(valid),
        agent_ids=list(summary.agent_ids),
        min_effect=ns.min_effect,
        floor=max(noise_floor(p.dtype) for p in parts),
    )
    written = []
    for start, stop, g in windows:
        files = write_graph(g, out / "windows" / f"influence_graph_{start:06d}_{stop:06d}")
        written.extend([files["graphml"], files["json"]])
    return written
