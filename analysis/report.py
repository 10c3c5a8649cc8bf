"""A self-contained HTML report of an analysis (figures embedded as base64 PNG).

:func:`write_report` takes an :class:`~analysis.stats.AnalysisResult` and writes
``report.html`` (no external files: styles inline, figures as ``data:image/png;base64``), and
next to it the tables as CSV files and the influence graph as GraphML and JSON node-link.

The report opens with its conclusions, one line per ordered pair (influences / responds /
communicates (grounded) / common cause suspected / ... / nothing detectable, with the figures
behind each word: :func:`analysis.conclusions.conclusions`). Then: the dataset and options;
the influence heatmap (row = influencer, column = influencee, diagonal masked, colour floor at
the noise level) and graph (edges where the influence test holds); the influence measures side
by side (the paper's influence, the interventional responsiveness, the observational test);
influence over time with the moments of high influence marked; grounded information and
conditional coordination (with a context); speaker consistency and instantaneous coordination
with intervals, q-values and the test of each row; CIC; social outcomes.

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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from analysis.alphabets import speaking_agents
from analysis.conclusions import CONCLUSIONS
from analysis.coordination import observational_kind, over_all_steps
from analysis.decisions import above_min_effect, effective_min_effect
from analysis.graph import (
    DECISION_COLUMN,
    RESPONSIVENESS_COLUMN,
    influence_graph,
    node_measures,
    write_graph,
)
from analysis.plots import (
    draw_influence_graph,
    figure_to_png,
    plot_coordination,
    plot_influence_heatmap,
    plot_influence_over_time,
)
from analysis.stats import AnalysisResult
from causal_influence.divergences import DIVERGENCES
from causal_influence.io import atomic_directory, atomic_write
from causal_influence.noise import NOISE_FLOOR_NATS, snap_to_zero
from causal_influence.trajectory import InfluenceSpec

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
ul.conclusions { list-style: none; padding-left: 0; }
ul.conclusions li { margin: .35em 0; padding: .35em .6em; border-left: 4px solid #bbb;
                    background: #fafafa; }
ul.conclusions li b { font-size: 1.02em; }
ul.conclusions li.strong { border-left-color: #2e7d32; }
ul.conclusions li.weak { border-left-color: #ef6c00; }
ul.conclusions li.none { border-left-color: #9e9e9e; }
.evidence { color: #444; font-size: .9em; }
.tablewrap { overflow-x: auto; max-width: 100%; }
.grid figure { flex: 1 1 320px; max-width: 540px; }
.grid figure img { max-width: 100%; height: auto; }
"""

#: Colour class of each conclusion word in the report.
_WORD_CLASS = {
    "communicates (grounded)": "strong",
    "influences": "strong",
    "responds": "strong",
    "common cause suspected": "weak",
    "associated (cause unknown)": "weak",
    "nothing detectable": "none",
}


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
    body = f"<div class='tablewrap'>{body}</div>"
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


def _decided(table: pd.DataFrame, min_effect: float, floor: float) -> pd.DataFrame:
    """The influence table with its influence and responsiveness tests re-decided at
    ``min_effect``."""
    threshold = effective_min_effect(min_effect, floor)
    out = table.copy()
    out[DECISION_COLUMN] = [
        above_min_effect(low, mean, threshold)[0]
        for low, mean in zip(out["influence_ci_low"], out["influence"], strict=True)
    ]
    if RESPONSIVENESS_COLUMN in out.columns:
        resp_threshold = effective_min_effect(min_effect, NOISE_FLOOR_NATS)
        out[RESPONSIVENESS_COLUMN] = [
            None if not np.isfinite(float(mean)) else above_min_effect(low, mean, resp_threshold)[0]
            for low, mean in zip(out["responsiveness_ci_low"], out["responsiveness"], strict=True)
        ]
    out["min_effect"] = threshold
    return out


def _thresholds(
    result: AnalysisResult, alpha: float | None, min_effect: float | None
) -> tuple[float, float]:
    """(alpha, min_effect): as given, else the analysis's."""
    a = result.options.get("alpha", 0.05) if alpha is None else alpha
    m = result.options.get("min_effect", 0.01) if min_effect is None else min_effect
    return float(a), float(m)


def graph_of(
    result: AnalysisResult, *, alpha: float | None = None, min_effect: float | None = None
) -> nx.DiGraph:
    """The influence graph of an analysis.

    With stored influence, an edge k -> j where the influence test holds (the interval of the
    influence over episodes above ``min_effect``, never below the noise floor). Without it,
    the observational coordination of the analysis's variable (symbol/action with messages),
    edges at BH q <= ``alpha`` with a value of at least ``min_effect``. Thresholds default to
    those of the analysis.
    """
    ids = list(result.summary.agent_ids)
    alpha, min_effect = _thresholds(result, alpha, min_effect)
    if result.influence is not None:
        table = _decided(result.influence, min_effect, result.summary.influence_floor)
        return influence_graph(table, nodes=ids, name="influence")
    kind = observational_kind(result.summary)
    table = over_all_steps(result.coordination, kind)
    test_alpha: float | None = alpha
    if not np.isfinite(table["q_value"].to_numpy(dtype=float)).any():
        test_alpha = None  # the tests were skipped
    return influence_graph(
        table,
        weight="value",
        alpha=test_alpha,
        min_effect=min_effect,
        nodes=ids,
        name=f"{kind} coordination (observational)",
    )


def _methods(result: AnalysisResult, alpha: float, min_effect: float) -> str:
    o = result.options
    unit = o["unit"]
    level = round(100 * o["confidence_level"])
    floor = result.summary.influence_floor
    return (
        "<div class='note'>"
        f"<b>Influence test</b>: an influence (or responsiveness) counts when the lower end of "
        f"its {level}% bootstrap interval over whole episodes ({o['n_bootstrap']} resamples, "
        f"{o['num_units']} resampling units) lies above the minimum effect "
        f"{effective_min_effect(min_effect, floor):.3g} nats (never below the noise floor: "
        f"{floor:.2g} nats for the stored influence, {NOISE_FLOOR_NATS:.0e} for values "
        f"computed here; values below the floor are shown as 0). These are properties of the "
        f"policies on the visited states, not tested by permutations. "
        f"<b>Observational tests</b> (coordination, grounded information, conditional "
        f"coordination): permutation tests of independence ({o['n_permutations']} resamples, "
        f"statistic plug-in MI; the conditional test permutes within each context), "
        f"Benjamini-Hochberg q-values within each table family, level {alpha:g}; basic "
        f"(reverse percentile) intervals floored at 0. Each row names its test. "
        f"<b>Moments of high influence</b>: steps where an agent's influence (summed over "
        f"influencees) is at least its mean over the episode (Jaques et al. 2019, section "
        f"5.1; below the floor every step is a moment). Their comparison is tested against a "
        f"null that re-selects the moments under within-episode permutations of the "
        f"influencer's variable, when counterfactual logits allow it. "
        f"Information in {html.escape(unit)}; coordination estimator "
        f"{html.escape(str(o['estimator']))}, lag {o['lag']}. Speaker consistency: 'jaques' = "
        "Eq. 8 normalised to [0, 1], 'jaques_literal' = Eq. 8 as printed, 'mi' = I(m; a) of "
        "Lowe et al. 2019 (different quantities sharing a name)."
        "</div>"
    )


def _conclusions_section(result: AnalysisResult, alpha: float, min_effect: float) -> str:
    """The opening of the report: one line per ordered pair, the word and its figures."""
    table = result.conclusions(alpha=alpha, min_effect=min_effect)
    items = []
    for r in table.itertuples():
        cls = _WORD_CLASS.get(str(r.conclusion), "none")
        items.append(
            f"<li class='{cls}'>{html.escape(str(r.influencer))} &rarr; "
            f"{html.escape(str(r.influencee))}: <b>{html.escape(str(r.conclusion))}</b>"
            f"<br><span class='evidence'>{html.escape(str(r.evidence))}</span></li>"
        )
    legend = (
        "<p class='note'>Words, strongest first: "
        + "; ".join(html.escape(w) for w in CONCLUSIONS)
        + ". <i>influences</i>: the paper's influence (information in k's choice beyond k's "
        "state) is above the minimum effect; <i>responds</i>: j's policy moves when k's "
        "value is set at random, though k's own choice adds little; <i>communicates "
        "(grounded)</i>: k's messages carry information about its context and j uses them; "
        "<i>common cause suspected</i>: dependent, but j does not respond to k or the "
        "context explains it.</p>"
    )
    return "<h2>Conclusions</h2><ul class='conclusions'>" + "".join(items) + "</ul>" + legend


def _influence_unit(metadata: dict[str, Any]) -> str:
    """Unit of the stored influence, from the trajectory metadata when it names one."""
    unit = metadata.get("influence_unit")
    if isinstance(unit, str) and unit:
        return unit
    spec = metadata.get("influence_spec")
    if isinstance(spec, Mapping):
        return InfluenceSpec.from_dict(spec).unit
    divergence = metadata.get("divergence")
    if isinstance(divergence, str) and divergence in DIVERGENCES:
        # Recorders store the influence in nats (no base); the registry entry knows the unit
        # (nats, or "probability" for a unit-free divergence such as the total variation).
        return DIVERGENCES[divergence].unit_label(None)
    return "unit as stored"


def write_report(
    result: AnalysisResult,
    out_dir: str | os.PathLike[str],
    *,
    title: str | None = None,
    alpha: float | None = None,
    min_effect: float | None = None,
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
    alpha : float, optional
        FDR level of the observational tests in the conclusions (and of the graph's edges
        without stored influence); default the analysis's.
    min_effect : float, optional
        Minimum effect (nats) of the influence test (edges, asterisks, conclusions) and the
        least top of the heatmap's colour scale; default the analysis's.
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
    alpha: float | None = None,
    min_effect: float | None = None,
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
    alpha, min_effect = _thresholds(result, alpha, min_effect)
    graph = graph_of(result, alpha=alpha, min_effect=min_effect)
    write_graph(graph, out / "influence_graph")
    measures = node_measures(graph).reset_index()
    parts = [
        f"<h1>{html.escape(heading)}</h1>",
        _conclusions_section(result, alpha, min_effect),
        _dataset_section(result, source),
        _methods(result, alpha, min_effect),
        *_influence_section(result, graph, measures, alpha=alpha, min_effect=min_effect),
        *_over_time_section(result),
        *_grounding_sections(result),
        *_communication_sections(result),
    ]
    page = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(heading)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>\n"
    )
    tables = result.tables()
    tables["conclusions"] = result.conclusions(alpha=alpha, min_effect=min_effect)
    texts = {f"{name}.csv": frame.to_csv(index=False) for name, frame in tables.items()}
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
    """Heatmap and graph of the pairwise influence (or of the observational coordination
    without stored influence), the influence measures side by side and the node measures."""
    heat = _heat_source(result, alpha=alpha, min_effect=min_effect)
    figs = _heatmaps(result, heat, min_effect)
    rule = graph.graph.get("rule", "")
    figs.append(
        _img(
            draw_influence_graph(graph, title=_graph_title(graph), unit=heat.unit),
            f"Edges k -> j: {rule}; width and colour by weight (the mean influence, or the "
            f"mean responsiveness on an edge only that test passes, labelled 'resp.'). "
            f"Communication and common causes are read in the conclusions above.",
        )
    )
    parts = ["<h2>Pairwise influence</h2>", f"<div class='grid'>{''.join(figs)}</div>"]
    if result.influence is not None:
        parts += [_INFLUENCE_NOTE, _table(heat.table.drop(columns=["k", "j"]))]
    return [*parts, "<h3>Node measures</h3>", _table(measures)]


_INFLUENCE_NOTE = (
    "<p class='note'>Side by side: <b>influence</b> (the paper's measure: information "
    "in k's choice beyond what k's state fixes; 0 for a deterministic influencer "
    "however closely j follows it), <b>responsiveness</b> (the same divergence with "
    "k's value set uniformly at random: does j's policy move with it at all; needs "
    "counterfactual logits), the <b>influence test</b> "
    "(<code>influence_above_min_effect</code>: the interval above the minimum effect) "
    "and the <b>observational</b> test of k's variable against j's action "
    "(<code>observational_*</code>: misses influence that depends on j's state, reads "
    "a common cause as dependence).</p>"
)


@dataclass(frozen=True)
class _Heat:
    """What the main heatmap shows: the table and its column, the title, the unit, the noise
    floor, the legend of the asterisks and which cells get one."""

    table: pd.DataFrame
    column: str
    title: str
    unit: str
    floor: float
    star: str
    significant: np.ndarray


def _heat_source(result: AnalysisResult, *, alpha: float, min_effect: float) -> _Heat:
    """The influence test with stored influence, else the observational coordination."""
    ids = list(result.summary.agent_ids)
    if result.influence is not None:
        floor = result.summary.influence_floor
        table = _decided(result.influence, min_effect, floor)
        return _Heat(
            table,
            "influence",
            "Mean pairwise influence (paper)",
            _influence_unit(result.summary.metadata),
            floor,
            f"* = influence interval above {effective_min_effect(min_effect, floor):.3g}",
            matrix_of(table, ids, DECISION_COLUMN) > 0,
        )
    kind = observational_kind(result.summary)
    table = over_all_steps(result.coordination, kind)
    return _Heat(
        table,
        "value",
        f"{kind.capitalize()} coordination (observational; no influence stored)",
        result.options["unit"],
        NOISE_FLOOR_NATS,
        f"* = q <= {alpha} (observational)",
        matrix_of(table, ids, "q_value") <= alpha,
    )


def _heatmaps(result: AnalysisResult, heat: _Heat, min_effect: float) -> list[str]:
    """The main heatmap and, with a stored responsiveness, its heatmap on the same colour
    scale, so that their sizes compare at a glance."""
    ids = list(result.summary.agent_ids)
    table, floor = heat.table, heat.floor
    matrix = matrix_of(table, ids, heat.column)
    has_resp = result.influence is not None and bool(np.isfinite(table["responsiveness"]).any())
    scale = min_effect
    if has_resp:
        resp_matrix = matrix_of(table, ids, "responsiveness")
        scale = float(np.nanmax([min_effect, np.nanmax(matrix), np.nanmax(resp_matrix)]))
    figs = [
        _img(
            plot_influence_heatmap(
                matrix,
                ids,
                significant=heat.significant,
                title=heat.title,
                unit=heat.unit,
                floor=floor,
                scale_min=scale,
            ),
            f"{heat.title}; row = influencer k, column = influencee j; {heat.star}; values "
            f"below the noise floor ({floor:.2g}) shown as 0; colour scale up to at least "
            f"{min_effect:g}" + (", shared with the responsiveness" if has_resp else ""),
        )
    ]
    if has_resp:
        decided = table.assign(r=table["responsiveness_above_min_effect"].astype(float))
        figs.append(
            _img(
                plot_influence_heatmap(
                    resp_matrix,
                    ids,
                    significant=matrix_of(decided, ids, "r") > 0,
                    title="Responsiveness (uniform intervention)",
                    unit=result.options["unit"],
                    scale_min=scale,
                ),
                f"Interventional responsiveness: how much j's policy moves when k's value is "
                f"set at random; * = responsiveness interval above {min_effect:g}",
            )
        )
    return figs


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
    # Values below the stored influence's noise floor are rounding, not signal: drawn as 0.
    floor = s.influence_floor
    reward = snap_to_zero(s.example_reward, floor=floor)
    if profile is not None:
        profile = snap_to_zero(profile, floor=floor)
    parts = [
        "<h2>Influence over time</h2>",
        _img(
            plot_influence_over_time(reward, s.example_moments, ids, profile=profile),
            "Influence of each agent (summed over influencees); dots mark moments of high "
            f"influence; values below the noise floor ({floor:.2g} nats) are drawn as 0",
        ),
    ]
    if s.high_steps is not None and s.influence_count is not None:
        total = max(1, int(s.influence_count.sum()))
        frac = pd.DataFrame(
            {"agent": ids, "share of steps with high influence": s.high_steps / total}
        )
        parts.append(_table(frac))
    return parts


def _silent_agents(result: AnalysisResult) -> list[str]:
    """Ids of the agents without a message in data that has messages."""
    s = result.summary
    if not s.has_messages:
        return []
    speakers = set(speaking_agents(s))
    return [a for k, a in enumerate(s.agent_ids) if k not in speakers]


def _graph_title(graph: nx.DiGraph) -> str:
    """The graph's title: what an edge means."""
    name = str(graph.graph.get("name", "graph"))
    if "threshold" in graph.graph:
        what = "Influence"
        if str(graph.graph.get("rule", "")).startswith("influence or responsiveness"):
            what = "Influence and responsiveness"
        return f"{what} edges\n(interval > {graph.graph['threshold']:.3g} nats)"
    return name


def _grounding_sections(result: AnalysisResult) -> list[str]:
    """Grounded information and conditional coordination (messages and a context)."""
    parts: list[str] = []
    if result.grounding is not None:
        parts += [
            "<h2>Grounded information</h2>",
            "<p class='note'>I(m^k; g^k): does agent k's message say something about the "
            "context k sees? (observational; steps without a message or a context are "
            "skipped)</p>",
            _table(result.grounding.drop(columns=["k"])),
        ]
    if result.conditional_coordination is not None:
        parts += [
            "<h2>Conditional coordination</h2>",
            "<p class='note'>I(m^k_t; a^j_t+lag | g^k_t): is j's action related to k's message "
            "beyond what k's context explains? 0 for a common cause (j sees the context "
            "itself); the test permutes within each context.</p>",
            _table(result.conditional_coordination.drop(columns=["k", "j"])),
        ]
    return parts


def _communication_sections(result: AnalysisResult) -> list[str]:
    """Speaker consistency, instantaneous coordination, CIC and social outcomes."""
    parts = []
    if result.speaker_consistency is not None:
        parts += ["<h2>Speaker consistency</h2>", _table(result.speaker_consistency)]
    silent = _silent_agents(result)
    if silent:
        parts.append(
            f"<p class='note'>Not applicable to {html.escape(', '.join(silent))}: "
            f"{'this agent' if len(silent) == 1 else 'these agents'} sent no message, so "
            f"speaker consistency and measures of their symbols are left out of the tables.</p>"
        )
    unit = result.options["unit"]
    parts += [
        "<h2>Instantaneous coordination</h2>",
        _img(plot_coordination(result.coordination, unit=unit), "IC with intervals"),
        _table(result.coordination.drop(columns=["k", "j"])),
    ]
    if result.cic is not None:
        parts += [
            "<h2>Causal influence of communication (CIC)</h2>",
            "<p class='note'>Lowe et al. 2019: the interventional MI of k's variable, drawn "
            "from k's own policy, and j's action, per step from the counterfactual logits. "
            "Weighted by k's policy like the paper's influence (its expectation): information "
            "beyond k's state. <code>cic_lowe_compat</code> reproduces the released code "
            "(+ ln K).</p>",
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
