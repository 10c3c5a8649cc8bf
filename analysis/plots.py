"""Figures of influence and communication statistics (matplotlib, Agg canvas, no pyplot state).

Every function returns a :class:`matplotlib.figure.Figure` built directly (not through
``pyplot``), rendered by the Agg canvas, so nothing depends on a display or on global figure
state; :func:`figure_to_png` turns a figure into PNG bytes (what the HTML report embeds).

Conventions (docs/metrics.md, section "Figures"): the heatmap has one row per influencer k and
one column per influencee j with the diagonal masked; the graph draws k -> j and j -> k as two
curved edges (``connectionstyle="arc3,rad=..."``) so they never overlap.

Examples
--------
>>> import numpy as np
>>> from analysis.plots import figure_to_png, plot_influence_heatmap
>>> fig = plot_influence_heatmap(np.array([[0.0, 0.4], [0.1, 0.0]]), ["a", "b"])
>>> figure_to_png(fig)[:4]
b'\\x89PNG'
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from matplotlib import cm, colormaps, colors
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from causal_influence.errors import ShapeError, describe
from causal_influence.noise import NOISE_FLOOR_NATS

__all__ = [
    "draw_influence_graph",
    "figure_to_png",
    "plot_coordination",
    "plot_influence_heatmap",
    "plot_influence_over_time",
]


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_to_png(fig: Figure, *, dpi: int = 110) -> bytes:
    """Render ``fig`` with the Agg canvas and return the PNG bytes."""
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def plot_influence_heatmap(
    matrix: Any,
    agent_ids: Sequence[str],
    *,
    significant: Any = None,
    title: str = "Mean pairwise influence",
    unit: str = "nats",
    annotate: bool = True,
    floor: float = NOISE_FLOOR_NATS,
    scale_min: float = 0.0,
) -> Figure:
    """N x N heatmap of pairwise influence, row = influencer k, column = influencee j.

    The colour scale starts at 0 and has a floor at the noise level: values whose magnitude
    is below ``floor`` are drawn (and written) as exactly 0, and the top of the scale is at
    least ``scale_min`` (e.g. the minimum effect), so a matrix of zeros, or of rounding
    residue, looks like zeros instead of being stretched to full colour.

    Parameters
    ----------
    matrix : array_like of shape (N, N)
        Values; the diagonal is masked (an agent does not influence itself).
    agent_ids : sequence of N str
    significant : array_like of bool, shape (N, N), optional
        Cells marked with an asterisk (e.g. an influence test that holds).
    title, unit : str
    annotate : bool
        Write the value in each cell.
    floor : float
        Noise floor (default :data:`causal_influence.NOISE_FLOOR_NATS`).
    scale_min : float
        Smallest top of the colour scale (default 0: the largest value).

    Returns
    -------
    matplotlib.figure.Figure
        Its image's colour limits are ``(0, max(largest value, scale_min))``, or (0, 1) when
        both are 0.

    Examples
    --------
    >>> fig = plot_influence_heatmap(np.array([[0.0, 2.5e-17], [1e-17, 0.0]]), ["a", "b"],
    ...                              scale_min=0.01)
    >>> fig.axes[0].images[0].get_clim(), float(fig.axes[0].images[0].get_array().max())
    ((0.0, 0.01), 0.0)
    """
    m = np.asarray(matrix, dtype=np.float64)
    n = len(agent_ids)
    if m.shape != (n, n):
        raise ShapeError(f"matrix: expected shape ({n}, {n}); got {describe(m)}")
    m = np.where(np.abs(m) < floor, 0.0, m)
    masked = np.ma.masked_array(m, mask=np.eye(n, dtype=bool) | ~np.isfinite(m))
    fig = _figure(max(4.2, 1.2 + 0.75 * n), max(3.2, 0.9 + 0.65 * n))
    ax = fig.add_subplot()
    cmap = colormaps["viridis"].with_extremes(bad="#dddddd")
    finite = m[~masked.mask] if masked.count() else np.zeros(1)
    top = max(float(finite.max()) if finite.size else 0.0, float(scale_min))
    vmax = top if top > 0 else 1.0
    image = ax.imshow(masked, cmap=cmap, vmin=0.0, vmax=vmax)
    ax.set_xticks(range(n), labels=list(agent_ids), rotation=45, ha="right")
    ax.set_yticks(range(n), labels=list(agent_ids))
    ax.set_xlabel("influencee j")
    ax.set_ylabel("influencer k")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label=unit, shrink=0.85)
    if annotate:
        sig = None if significant is None else np.asarray(significant, dtype=bool)
        _annotate(ax, m, sig, vmax)
    return fig


def _annotate(ax: Any, m: np.ndarray, sig: np.ndarray | None, vmax: float) -> None:
    """Write each off-diagonal finite value in its cell (with an asterisk where ``sig``), in
    black on light cells and white on dark ones."""
    n = m.shape[0]
    for k in range(n):
        for j in range(n):
            if k == j or not np.isfinite(m[k, j]):
                continue
            star = "*" if sig is not None and sig[k, j] else ""
            shade = m[k, j] / vmax if vmax else 0.0
            ax.text(
                j,
                k,
                f"{'0' if m[k, j] == 0 else f'{m[k, j]:.3g}'}{star}",
                ha="center",
                va="center",
                fontsize=8,
                color="black" if shade > 0.6 else "white",
            )


# Long: docstring of 20 lines (the drawing's encodings and options); code 69 lines.
def draw_influence_graph(
    graph: nx.DiGraph,
    *,
    title: str = "Influence graph",
    unit: str = "nats",
    rad: float = 0.18,
    seed: int = 0,
) -> Figure:
    """Draw an influence graph: circular layout, curved edges, width and colour by weight.

    Edges k -> j and j -> k bend to opposite sides (``connectionstyle="arc3,rad=rad"``), so
    both directions stay visible. Node size grows with out-strength.

    Parameters
    ----------
    graph : networkx.DiGraph
        Edge attribute ``weight`` (and optionally ``measure``: an edge weighted by the
        responsiveness is labelled "resp."); with at most 12 edges each carries its weight.
    title, unit : str
    rad : float
        Curvature of the edges.
    seed : int
        Seed of the spring layout used for more than 12 nodes (circular otherwise).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = _figure(5.2, 4.6)
    ax = fig.add_subplot()
    ax.set_title(title)
    ax.set_axis_off()
    if graph.number_of_nodes() == 0:
        return fig
    pos = (
        nx.circular_layout(graph)
        if graph.number_of_nodes() <= 12
        else nx.spring_layout(graph, seed=seed)
    )
    weights = np.array([w for _, _, w in graph.edges(data="weight", default=0.0)], dtype=float)
    strength = dict(graph.out_degree(weight="weight"))
    top = max(strength.values()) if strength and max(strength.values()) > 0 else 1.0
    sizes = [600 + 1400 * strength[v] / top for v in graph.nodes]
    nx.draw_networkx_nodes(
        graph, pos, ax=ax, node_size=sizes, node_color="#cfe2f3", edgecolors="#3d6b99"
    )
    nx.draw_networkx_labels(graph, pos, ax=ax, font_size=9)
    if weights.size:
        vmax = float(weights.max()) if weights.max() > 0 else 1.0
        norm = colors.Normalize(vmin=0.0, vmax=vmax)
        cmap = colormaps["viridis"]
        nx.draw_networkx_edges(
            graph,
            pos,
            ax=ax,
            node_size=sizes,
            width=1.0 + 5.0 * weights / vmax,
            edge_color=[cmap(norm(w)) for w in weights],
            arrows=True,
            arrowstyle="-|>",
            arrowsize=16,
            connectionstyle=f"arc3,rad={rad}",
            min_source_margin=8,
            min_target_margin=12,
        )
        measures = {m for _, _, m in graph.edges(data="measure", default="influence")}
        if graph.number_of_edges() <= 12:  # the figure of each edge, beside it
            labels = {
                (k, j): f"{d['weight']:.3g}"
                + (" resp." if d.get("measure") == "responsiveness" else "")
                for k, j, d in graph.edges(data=True)
            }
            nx.draw_networkx_edge_labels(
                graph,
                pos,
                edge_labels=labels,
                ax=ax,
                font_size=8,
                connectionstyle=f"arc3,rad={rad}",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
            )
        what = "mean influence" if measures == {"influence"} else "mean influence or responsiveness"
        mappable = cm.ScalarMappable(norm=norm, cmap=cmap)
        fig.colorbar(mappable, ax=ax, label=f"{what} ({unit})", shrink=0.8)
    ax.margins(0.15)
    ys = [float(p[1]) for p in pos.values()]
    if max(ys) - min(ys) < 1e-6:  # nodes on one line (two agents): centre it vertically
        ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    return fig


def plot_influence_over_time(
    reward: Any,
    moments: Any,
    agent_ids: Sequence[str],
    *,
    profile: Any = None,
    unit: str = "nats",
) -> Figure:
    """Influence over time with the moments of high influence marked.

    Parameters
    ----------
    reward : array_like of shape (T, N)
        Each agent's influence (summed over influencees) at each step of one episode.
    moments : array_like of bool, shape (T, N)
        Moments of high influence (marked with dots).
    agent_ids : sequence of N str
    profile : array_like of shape (L, N), optional
        Mean influence by step within the episode over all episodes (second panel).
    unit : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    r = np.asarray(reward, dtype=np.float64)
    mk = np.asarray(moments, dtype=bool)
    if r.ndim != 2 or mk.shape != r.shape or r.shape[1] != len(agent_ids):
        raise ShapeError(
            f"reward and moments: expected equal shapes (T, N) with N = {len(agent_ids)}; got "
            f"{describe(r)} and {describe(mk)}"
        )
    panels = 2 if profile is not None else 1
    fig = _figure(8.0, 2.8 * panels)
    axes = fig.subplots(panels, 1, squeeze=False)[:, 0]
    steps = np.arange(r.shape[0])
    for i, name in enumerate(agent_ids):
        line = axes[0].plot(steps, r[:, i], lw=0.9, label=name)[0]
        hit = mk[:, i]
        axes[0].plot(steps[hit], r[hit, i], "o", ms=3, color=line.get_color())
    axes[0].set_title("Influence reward in the first episode (dots: moments of high influence)")
    axes[0].set_xlabel("step")
    axes[0].set_ylabel(f"influence ({unit})")
    axes[0].legend(fontsize=7, ncol=min(len(agent_ids), 5), loc="upper right")
    if profile is not None:
        p = np.asarray(profile, dtype=np.float64)
        for i, name in enumerate(agent_ids):
            axes[1].plot(np.arange(p.shape[0]), p[:, i], lw=0.9, label=name)
        axes[1].set_title("Mean influence reward by step within the episode (all episodes)")
        axes[1].set_xlabel("step within episode")
        axes[1].set_ylabel(f"influence ({unit})")
    return fig


def plot_coordination(table: pd.DataFrame, *, unit: str = "nats", top: int = 12) -> Figure:
    """Instantaneous coordination of the strongest pairs, all steps vs high influence.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`analysis.stats.coordination_table`.
    unit : str
    top : int
        Number of pairs shown per kind (largest all-steps values).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per kind, bars with the bootstrap intervals as error bars.
    """
    kinds = list(dict.fromkeys(table["kind"]))
    fig = _figure(8.0, 2.9 * max(1, len(kinds)))
    axes = fig.subplots(max(1, len(kinds)), 1, squeeze=False)[:, 0]
    for ax, kind in zip(axes, kinds, strict=False):
        sub = table[table["kind"] == kind]
        base = sub[sub["subset"] == "all"].nlargest(top, "value")
        labels = [f"{a}->{b}" for a, b in zip(base["influencer"], base["influencee"], strict=True)]
        x = np.arange(len(base))
        subsets = [s for s in ("all", "high_influence") if (sub["subset"] == s).any()]
        width = 0.8 / len(subsets)
        for i, subset in enumerate(subsets):
            part = sub[sub["subset"] == subset].set_index(["influencer", "influencee"])
            keys = list(zip(base["influencer"], base["influencee"], strict=True))
            vals = part.reindex(keys)
            v = vals["value"].to_numpy(dtype=float)
            lo = np.clip(v - vals["ci_low"].to_numpy(dtype=float), 0, None)
            hi = np.clip(vals["ci_high"].to_numpy(dtype=float) - v, 0, None)
            err = None if np.isnan(lo).all() else np.nan_to_num(np.vstack([lo, hi]))
            ax.bar(x + i * width, v, width, yerr=err, capsize=2, label=subset.replace("_", " "))
        ax.set_xticks(x + width * (len(subsets) - 1) / 2, labels=labels, rotation=45, ha="right")
        ax.set_ylabel(f"IC ({unit})")
        ax.set_title(f"Instantaneous coordination, {kind}")
        ax.legend(fontsize=8)
    return fig
