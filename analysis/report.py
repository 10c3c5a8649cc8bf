"""A self-contained HTML report of an analysis (figures embedded as base64 PNG).

:func:`write_report` takes an :class:`~analysis.stats.AnalysisResult` and writes
``report.html`` (no external files: styles inline, figures as ``data:image/png;base64``), and
next to it the tables as CSV files and the influence graph as GraphML and JSON node-link.

The report holds: the dataset and options; the influence heatmap (row = influencer, column =
influencee, diagonal masked) and graph (curved edges, significant edges only); influence over
time with the moments of high influence marked; the pairwise influence table; speaker
consistency and instantaneous coordination with intervals and q-values; CIC; social outcomes.

Examples
--------
>>> import numpy as np, tempfile, pathlib
>>> from analysis.stats import analyze
>>> from analysis.report import write_report
>>> rng = np.random.default_rng(0)
>>> data = {"actions": rng.integers(0, 3, size=(600, 3)),
...         "episode_ids": np.repeat(np.arange(12), 50)}
>>> result = analyze(data, n_bootstrap=50, n_permutations=50, rng=0)
>>> path = write_report(result, pathlib.Path(tempfile.mkdtemp()) / "out")
>>> path.name, "data:image/png;base64," in path.read_text()
('report.html', True)
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import os
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from analysis.graph import influence_graph, node_measures, write_graph
from analysis.plots import (
    draw_influence_graph,
    figure_to_png,
    plot_coordination,
    plot_influence_heatmap,
    plot_influence_over_time,
)
from analysis.stats import AnalysisResult
from causal_influence.io import atomic_directory, atomic_write

__all__ = ["graph_of", "matrix_of", "write_report", "write_report_files"]

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; }
table.data { border-collapse: collapse; font-size: .82em; margin: .6em 0 1.4em; }
table.data th, table.data td { border: 1px solid #ddd; padding: .25em .5em; text-align: right; }
table.data th { background: #f2f4f7; }
table.data td:first-child, table.data th:first-child { text-align: left; }
figure { margin: 1em 0; } figcaption { font-size: .85em; color: #555; }
.note { font-size: .88em; color: #444; background: #f7f7f2; padding: .6em .9em;
        border-left: 3px solid #c9c29a; }
.grid { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
"""


def _img(fig: Any, caption: str) -> str:
    data = base64.b64encode(figure_to_png(fig)).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _table(frame: pd.DataFrame, *, max_rows: int = 200) -> str:
    shown = frame.head(max_rows)
    body = shown.to_html(
        index=False,
        na_rep="–",
        float_format=lambda x: f"{x:.4g}",
        classes="data",
        border=0,
        escape=True,
    )
    if len(frame) > max_rows:
        body += f"<p class='note'>First {max_rows} of {len(frame)} rows (all rows in the CSV).</p>"
    return body


def matrix_of(table: pd.DataFrame, agent_ids: list[str], value: str) -> np.ndarray:
    """(N, N) matrix of a per-pair table column (row = influencer, column = influencee).

    Examples
    --------
    >>> t = pd.DataFrame({"k": [0, 1], "j": [1, 0], "mean": [0.5, 0.1]})
    >>> matrix_of(t, ["a", "b"], "mean")
    array([[nan, 0.5],
           [0.1, nan]])
    """
    n = len(agent_ids)
    m = np.full((n, n), np.nan)
    m[table["k"].to_numpy(dtype=int), table["j"].to_numpy(dtype=int)] = table[value].to_numpy(
        dtype=float
    )
    return m


def _ic_all(result: AnalysisResult, kind: str) -> pd.DataFrame:
    c = result.coordination
    return c[(c["kind"] == kind) & (c["subset"] == "all")]


def graph_of(
    result: AnalysisResult, *, alpha: float | None = 0.05, min_effect: float = 0.0
) -> nx.DiGraph:
    """The influence graph of an analysis: stored influence when there is some, else
    action/action instantaneous coordination; significant edges (BH q <= ``alpha``) of at
    least ``min_effect``.
    """
    ids = list(result.summary.agent_ids)
    if result.influence is not None:
        table = result.influence
        weight, name = "mean", "influence"
    else:
        table = _ic_all(result, "action/action")
        weight, name = "value", "action/action coordination"
    if alpha is not None and not np.isfinite(table["q_value"].to_numpy(dtype=float)).any():
        alpha = None  # the tests were skipped
    return influence_graph(
        table, weight=weight, alpha=alpha, min_effect=min_effect, nodes=ids, name=name
    )


def _methods(result: AnalysisResult) -> str:
    o = result.options
    unit = o["unit"]
    level = round(100 * o["confidence_level"])
    return (
        "<div class='note'>"
        f"Intervals: {level}% bootstrap ({o['n_bootstrap']} resamples) over whole "
        f"episodes ({o['num_units']} resampling units): percentile intervals for means, basic "
        f"(reverse percentile) intervals floored at 0 for plug-in information measures, whose "
        f"bootstrap distribution is shifted up by the plug-in bias. p-values: permutation "
        f"tests of "
        f"independence ({o['n_permutations']} resamples, statistic plug-in MI); q-values: "
        f"Benjamini-Hochberg within each table family. Information in {html.escape(unit)}; "
        f"coordination estimator {html.escape(str(o['estimator']))}, lag {o['lag']}. "
        "Moments of high influence: steps where an agent's influence (summed over influencees) "
        "is at least its mean over the episode (Jaques et al. 2019, section 5.1). Speaker "
        "consistency: 'jaques' = Eq. 8 normalised to [0, 1], 'jaques_literal' = Eq. 8 as "
        "printed, 'mi' = I(m; a) of Lowe et al. 2019 (different quantities sharing a name)."
        "</div>"
    )


def _influence_unit(metadata: dict[str, Any]) -> str:
    """Unit of the stored influence, from the trajectory metadata when it names one."""
    unit = metadata.get("influence_unit")
    if isinstance(unit, str) and unit:
        return unit
    divergence = metadata.get("divergence")
    # The units of the divergences: to be read from the core's DIVERGENCES registry entries
    # (which carry their unit) once the core has them; today it has only the list of names.
    if divergence == "tv":
        return "total variation"
    if divergence in ("kl", "jsd", "pmi"):
        return "nats"
    return "unit as stored"


def write_report(
    result: AnalysisResult,
    out_dir: str | os.PathLike[str],
    *,
    title: str | None = None,
    alpha: float = 0.05,
    min_effect: float = 0.0,
    source: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``report.html`` (self-contained), the tables as CSV and the graph files.

    The directory is written as a unit (:func:`causal_influence.io.atomic_directory`): into
    a hidden staging directory beside it, with a ``MANIFEST.json``, then swapped in, so an
    interrupted write leaves the earlier report or the new one, never a mixture.

    Parameters
    ----------
    result : AnalysisResult
        From :func:`analysis.stats.analyze`.
    out_dir : str or path-like
        Missing or empty (or an earlier output, with ``overwrite``). Receives ``report.html``,
        ``<table>.csv`` for every table, ``node_measures.csv`` and
        ``influence_graph.graphml`` / ``influence_graph.json``.
    title : str, optional
    alpha : float
        FDR level of the graph's edges and of the heatmap's asterisks.
    min_effect : float
        Smallest edge weight drawn in the graph.
    source : str, optional
        Where the data came from (shown in the header).
    overwrite : bool
        Replace an earlier output in ``out_dir`` as a whole; files causal-influence did not
        write are never deleted (:func:`causal_influence.io.check_output_directory`).

    Returns
    -------
    pathlib.Path
        The path of ``report.html``.

    Raises
    ------
    FileExistsError
        ``out_dir`` holds files (without ``overwrite``, or files it did not write).
    """
    out = Path(out_dir)
    with atomic_directory(out, overwrite=overwrite, written_by="write_report") as stage:
        write_report_files(
            result, stage, title=title, alpha=alpha, min_effect=min_effect, source=source
        )
    return out / "report.html"


def write_report_files(
    result: AnalysisResult,
    directory: str | os.PathLike[str],
    *,
    title: str | None = None,
    alpha: float = 0.05,
    min_effect: float = 0.0,
    source: str | None = None,
) -> Path:
    """The files of :func:`write_report`, written into ``directory``, which the caller owns
    (e.g. the staging directory of an :func:`causal_influence.io.atomic_directory` that also
    receives other files, as the demos do). Each file is written atomically; text that is not
    valid Unicode (a file name that is not UTF-8) is written with backslash escapes.

    Returns
    -------
    pathlib.Path
        The path of ``report.html``.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    source = None if source is None else _printable(source)
    heading = _printable(title or "Influence and communication report")
    graph = graph_of(result, alpha=alpha, min_effect=min_effect)
    write_graph(graph, out / "influence_graph")
    measures = node_measures(graph).reset_index()
    parts = [
        f"<h1>{html.escape(heading)}</h1>",
        _dataset_section(result, source),
        _methods(result),
        *_influence_section(result, graph, measures, alpha=alpha, min_effect=min_effect),
        *_over_time_section(result),
        *_communication_sections(result),
    ]
    page = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(heading)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>\n"
    )
    texts = {f"{name}.csv": frame.to_csv(index=False) for name, frame in result.tables().items()}
    texts["node_measures.csv"] = measures.to_csv(index=False)
    texts["report.html"] = page
    names = list(texts)
    with atomic_write(*(out / name for name in names)) as temps:
        for name, tmp in zip(names, temps, strict=True):
            tmp.write_text(texts[name], encoding="utf-8", errors="backslashreplace")
    return out / "report.html"


def _printable(text: str) -> str:
    """``text`` as valid Unicode: characters that are not (the undecodable bytes of a file name
    that is not UTF-8) become backslash escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _dataset_section(result: AnalysisResult, source: str | None) -> str:
    """The table of the dataset and the options."""
    s = result.summary
    info = {
        "source": source or "(in memory)",
        "agents": ", ".join(s.agent_ids),
        "steps": s.num_steps,
        "episodes": s.num_episodes,
        "actions |A|": s.num_actions,
        "symbols |M|": s.num_symbols or "no messages",
        "influence": f"{s.alignment}, of {s.variable}" if s.has_influence else "not stored",
        "counterfactual logits": "stored (CIC below)" if s.has_cic else "not stored",
        "generated": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    return _table(pd.DataFrame({"": list(info), "value": [str(v) for v in info.values()]}))


def _influence_section(
    result: AnalysisResult,
    graph: nx.DiGraph,
    measures: pd.DataFrame,
    *,
    alpha: float,
    min_effect: float,
) -> list[str]:
    """Heatmap and graph of the pairwise influence (or of action/action coordination without
    stored influence), its table and the node measures."""
    ids = list(result.summary.agent_ids)
    if result.influence is not None:
        table, column = result.influence, "mean"
        heat_title = "Mean pairwise influence"
        heat_unit = _influence_unit(result.summary.metadata)
    else:
        table, column = _ic_all(result, "action/action"), "value"
        heat_title = "Action/action coordination (no influence stored)"
        heat_unit = result.options["unit"]
    matrix = matrix_of(table, ids, column)
    sig = matrix_of(table, ids, "q_value") <= alpha
    figs = [
        _img(
            plot_influence_heatmap(matrix, ids, significant=sig, title=heat_title, unit=heat_unit),
            f"{heat_title}; row = influencer k, column = influencee j; * = q <= {alpha}",
        ),
        _img(
            draw_influence_graph(graph, title=graph.graph.get("name", "graph"), unit=heat_unit),
            f"Edges k -> j with q <= {alpha} and weight >= {min_effect}; width and colour by "
            "weight",
        ),
    ]
    parts = ["<h2>Pairwise influence</h2>", f"<div class='grid'>{''.join(figs)}</div>"]
    if result.influence is not None:
        parts.append(_table(result.influence.drop(columns=["k", "j"])))
    return [*parts, "<h3>Node measures</h3>", _table(measures)]


def _over_time_section(result: AnalysisResult) -> list[str]:
    """Influence over time with its moments of high influence (needs stored influence)."""
    s = result.summary
    if s.example_reward is None or s.example_moments is None:
        return []
    ids = list(s.agent_ids)
    profile = None
    if s.profile_sum is not None and s.profile_count is not None and s.profile_count.size:
        with np.errstate(invalid="ignore", divide="ignore"):
            profile = s.profile_sum / s.profile_count[:, None]
    parts = [
        "<h2>Influence over time</h2>",
        _img(
            plot_influence_over_time(s.example_reward, s.example_moments, ids, profile=profile),
            "Influence of each agent (summed over influencees); dots mark moments of high "
            "influence",
        ),
    ]
    if s.high_steps is not None and s.influence_count is not None:
        total = max(1, int(s.influence_count.sum()))
        frac = pd.DataFrame(
            {"agent": ids, "share of steps with high influence": s.high_steps / total}
        )
        parts.append(_table(frac))
    return parts


def _communication_sections(result: AnalysisResult) -> list[str]:
    """Speaker consistency, instantaneous coordination, CIC and social outcomes."""
    parts = []
    if result.speaker_consistency is not None:
        parts += ["<h2>Speaker consistency</h2>", _table(result.speaker_consistency)]
    unit = result.options["unit"]
    parts += [
        "<h2>Instantaneous coordination</h2>",
        _img(plot_coordination(result.coordination, unit=unit), "IC with intervals"),
        _table(result.coordination.drop(columns=["k", "j"])),
    ]
    if result.cic is not None:
        parts += [
            "<h2>Causal influence of communication (CIC)</h2>",
            _table(result.cic.drop(columns=["k", "j"])),
        ]
    if result.social_summary is not None and result.social is not None:
        parts += [
            "<h2>Social outcomes</h2>",
            _table(result.social_summary),
            "<h3>Per episode</h3>",
            _table(result.social, max_rows=50),
        ]
    return parts
