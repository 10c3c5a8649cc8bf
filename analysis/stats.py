r"""Dataset statistics as tidy pandas DataFrames, built on the core's measures.

Every table is computed from a :class:`~analysis.dataset.DatasetSummary` (one streaming pass
over the trajectories, :func:`analysis.dataset.summarize`); :func:`analyze` does both steps.
The tables of means (influence, CIC, social outcomes) live in :mod:`analysis.means` and the
resampling steps in :mod:`analysis.resampling`; this module re-exports them.
The measures themselves come from :mod:`causal_influence`: mutual information
(:func:`~causal_influence.information.mutual_information_from_counts`), speaker consistency
(:func:`~causal_influence.communication.speaker_consistency`), permutation tests
(:func:`~causal_influence.information.permutation_test`), bootstrap intervals
(:func:`~causal_influence.information.bootstrap_ci`), CIC and social outcomes.

Conventions
-----------
- Pairs are ordered: ``influencer`` k, ``influencee`` j (k != j); agent ids as stored.
- Intervals are bootstrap intervals that resample whole episodes (or fixed groups of whole
  episodes beyond ``max_units``, see :mod:`analysis.dataset`); steps within an episode are
  dependent, so resampling steps would understate the uncertainty. Means (influence, CIC,
  social outcomes) get percentile intervals; plug-in information measures (coordination,
  speaker consistency) get basic (reverse percentile) intervals floored at 0, which correct
  the upward shift of their bootstrap distribution.
- p-values are permutation tests of independence (statistic: plug-in MI; null: random
  re-pairing of the two variables), ``(1 + #{null >= observed}) / (1 + B)``. The test depends
  only on the pooled contingency table, so it is run on the accumulated table.
- q-values control the false discovery rate across the pairs of one table family
  (Benjamini-Hochberg, :func:`benjamini_hochberg`).
- Information is in nats unless ``base`` is given (2 for bits). The stored influence keeps the
  unit it was recorded in.

Influence p-values
------------------
The stored influence of k on j is a divergence computed from a policy model; its mean over
steps estimates the conditional mutual information between k's variable and j's action. The
p-value of a pair tests the observable null behind it: j's action (at the influence's
alignment, same or next step) is independent of k's variable (action or message). Under that
null the influence of an exact model is zero.

Examples
--------
>>> import numpy as np
>>> from analysis.stats import analyze
>>> rng = np.random.default_rng(0)
>>> actions = rng.integers(0, 2, size=(2000, 2))
>>> actions[1:, 1] = actions[:-1, 0]                 # agent 1 repeats agent 0's last action
>>> result = analyze({"actions": actions, "episode_ids": np.repeat(np.arange(20), 100)},
...                  n_bootstrap=200, n_permutations=200, rng=0)
>>> row = result.coordination.query("influencer == 'agent_0' and influencee == 'agent_1'")
>>> round(float(row["value"].iloc[0]), 2), round(float(row["p_value"].iloc[0]), 3)
(0.69, 0.005)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.alphabets import agent_alphabets, applicable_pairs, pair_table, speaking_agents
from analysis.dataset import DEFAULT_MAX_UNITS, summarize
from analysis.means import SOCIAL_METRICS, cic_table, influence_table, social_summary
from analysis.resampling import (
    NAN,
    benjamini_hochberg,
    bootstrap,
    check_resampling,
    pair_columns,
    permutation,
    progress_bar,
    unit_scale,
    with_q_values,
)
from analysis.summary import DatasetSummary
from causal_influence.communication import SC_DEFINITIONS, speaker_consistency_from_counts
from causal_influence.errors import ConfigError, ShapeError, UndefinedConditionalWarning
from causal_influence.information import ESTIMATORS, mutual_information_from_counts
from causal_influence.validation import resolve_rng

__all__ = [
    "SOCIAL_METRICS",
    "AnalysisResult",
    "analyze",
    "benjamini_hochberg",
    "cic_table",
    "coordination_table",
    "influence_table",
    "social_summary",
    "speaker_consistency_table",
]


# ------------------------------------------------------------------------------ helpers


def _speaker_consistency_counts(
    tables: np.ndarray, definition: str, m: int, a: int, base: float | None
) -> float:
    """Speaker consistency of the (message, action) pairs behind ``tables`` ((M, A) for one
    agent, (N, M, A) for all) with the core's counts-based form, so its cost does not grow with
    the number of steps; ``"mi"`` gives the first (or only) table's value."""
    if tables.shape[-2:] != (m, a):
        raise ShapeError(f"tables: expected (..., {m}, {a}); got shape {tables.shape}")
    value = speaker_consistency_from_counts(tables, definition=definition, base=base)
    return float(value[0]) if definition == "mi" else float(value)


# ------------------------------------------------------------------------------ tables


def coordination_table(
    summary: DatasetSummary,
    *,
    estimator: str = "plugin",
    n_bootstrap: int = 1000,
    n_permutations: int = 1000,
    confidence_level: float = 0.95,
    base: float | None = None,
    rng: Any = None,
    progress: bool = False,
) -> pd.DataFrame:
    r"""Instantaneous coordination of every ordered pair (Jaques et al. 2019, section 5.1).

    Symbol/action IC :math:`I(m^k_t; a^j_{t+\mathrm{lag}})` (with messages) and action/action
    IC :math:`I(a^k_t; a^j_{t+\mathrm{lag}})`, each over all steps and (with stored influence)
    over k's moments of high influence only (steps where k's influence reward, summed over
    influencees, is at least its mean over the episode).

    Parameters
    ----------
    summary : DatasetSummary
    estimator : str
        Estimator of the ``value`` column and of its interval: a name registered in
        :data:`causal_influence.information.ESTIMATORS` (``"plugin"``, ``"miller_madow"``,
        ``"shuffle"``, ...).
    n_bootstrap, n_permutations, confidence_level, base, rng, progress
        As in :func:`influence_table`.

    Returns
    -------
    pandas.DataFrame
        One row per (``kind``, ``subset``, ordered pair): ``kind`` in {"symbol/action",
        "action/action"}, ``subset`` in {"all", "high_influence"}, ``influencer``,
        ``influencee``, ``k``, ``j``, ``value``, ``ci_low``, ``ci_high`` (basic bootstrap,
        floored at 0), ``bias`` (bootstrap estimate of the bias of ``value``), ``null_mean``
        (mean plug-in MI under the permutation null, the bias of an independent pair),
        ``p_value``,
        ``q_value`` (BH within each kind and subset), ``n`` (pooled pairs), ``estimator``,
        ``lag``.
    """
    check_resampling(n_bootstrap, n_permutations, confidence_level)
    ESTIMATORS.lookup(estimator)  # a ConfigError listing the registered estimators
    gen = resolve_rng(rng)
    families = _coordination_families(summary)
    actions, symbols = agent_alphabets(summary)
    n = summary.num_agents
    bar = progress_bar(len(families) * n * (n - 1), "coordination", progress)
    frames = []
    for kind, subset, tables in families:
        rows = []
        symbol = kind == "symbol/action"
        # a non-speaker's symbol pairs do not apply: left out
        for k, j in applicable_pairs(summary, "messages" if symbol else "actions"):
            size = symbols[k] if symbol else actions[k]
            row = _coordination_pair(
                pair_table(tables, k, j, size, actions[j]),
                estimator=estimator,
                base=base,
                n_bootstrap=n_bootstrap,
                n_permutations=n_permutations,
                confidence_level=confidence_level,
                gen=gen,
            )
            rows.append(
                {"kind": kind, "subset": subset, **pair_columns(summary.agent_ids, k, j), **row}
            )
            bar.update()
        if rows:
            frames.append(with_q_values(rows))
    bar.close()
    out = pd.concat(frames, ignore_index=True)
    out["estimator"] = estimator
    out["lag"] = summary.lag
    return out


def _coordination_families(summary: DatasetSummary) -> list[tuple[str, str, np.ndarray]]:
    """(kind, subset, per-unit tables) of every coordination family the summary has."""
    families: list[tuple[str, str, np.ndarray]] = []
    if summary.ic_message is not None:
        families.append(("symbol/action", "all", summary.ic_message))
    families.append(("action/action", "all", summary.ic_action))
    if summary.ic_message_high is not None:
        families.append(("symbol/action", "high_influence", summary.ic_message_high))
    if summary.ic_action_high is not None:
        families.append(("action/action", "high_influence", summary.ic_action_high))
    return families


def _coordination_pair(
    tables: np.ndarray,
    *,
    estimator: str,
    base: float | None,
    n_bootstrap: int,
    n_permutations: int,
    confidence_level: float,
    gen: np.random.Generator,
) -> dict[str, Any]:
    """Value, interval, bias, null mean, p-value and n of one pair of one family, from its
    per-unit tables (U, X, A_j)."""

    def mi(tabs: np.ndarray) -> float:
        return float(
            mutual_information_from_counts(tabs.sum(axis=0), estimator=estimator, base=base)
        )

    table = tables.sum(axis=0)
    value = (
        float(mutual_information_from_counts(table, estimator=estimator, base=base))
        if table.sum()
        else NAN
    )
    low, high, bias = bootstrap(mi, (tables,), n_bootstrap, confidence_level, gen, information=True)
    p, null_mean = permutation(table, n_permutations, gen)
    return {
        "value": value,
        "ci_low": low,
        "ci_high": high,
        "bias": bias,
        "null_mean": null_mean / unit_scale(base),
        "p_value": p,
        "n": int(table.sum()),
    }


def speaker_consistency_table(
    summary: DatasetSummary,
    *,
    definitions: tuple[str, ...] = SC_DEFINITIONS,
    n_bootstrap: int = 1000,
    n_permutations: int = 1000,
    confidence_level: float = 0.95,
    base: float | None = None,
    rng: Any = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Speaker consistency of every agent under every definition, with intervals.

    The definitions are those of :func:`causal_influence.communication.speaker_consistency`
    (:data:`~causal_influence.communication.SC_DEFINITIONS`): ``"jaques"`` (Eq. 8 normalised
    to [0, 1]), ``"jaques_literal"`` (Eq. 8 as printed) and ``"mi"`` (Lowe et al.,
    :math:`I(m^k; a^k)`, nats unless ``base``). Each agent has one row per definition, and the
    Jaques forms also have an ``agent == "all"`` row (mean of the agents for ``"jaques"``,
    sum for ``"jaques_literal"``, as Eq. 8).

    The p-value (the same for every definition of an agent) is the permutation test of
    independence of the agent's message and action; the ``"all"`` rows have none.

    Returns
    -------
    pandas.DataFrame
        Columns ``agent``, ``definition``, ``value``, ``ci_low``, ``ci_high`` (basic bootstrap,
        floored at 0), ``bias`` (bootstrap estimate of the bias of ``value``), ``p_value``,
        ``q_value`` (BH across agents, per definition), ``n``.

    Raises
    ------
    ConfigError
        Without messages, or for an unknown definition.
    """
    check_resampling(n_bootstrap, n_permutations, confidence_level)
    if summary.sc is None:
        raise ConfigError("speaker_consistency_table: the trajectories carry no messages")
    unknown = [d for d in definitions if d not in SC_DEFINITIONS]
    if unknown:
        raise ConfigError(f"definitions: unknown {unknown}; expected a subset of {SC_DEFINITIONS}")
    gen = resolve_rng(rng)
    tables = summary.sc  # (U, N, M, A)
    m, a = summary.num_symbols, summary.num_actions
    actions, symbols = agent_alphabets(summary)
    speakers = speaking_agents(summary)  # the others' speaker consistency does not apply
    own = {k: tables[:, k, : symbols[k], : actions[k]] for k in speakers}
    common: dict[str, Any] = {"n_bootstrap": n_bootstrap, "confidence_level": confidence_level}
    bar = progress_bar(len(speakers) * (len(definitions) + 1), "speaker consistency", progress)
    rows = [
        row
        for k in speakers
        for row in _sc_agent_rows(
            summary.agent_ids[k],
            own[k],
            definitions,
            (symbols[k], actions[k]),
            n_permutations,
            base=base,
            gen=gen,
            bar=bar,
            common=common,
        )
    ]
    bar.close()
    if not rows:
        raise ConfigError(
            "speaker_consistency_table: no agent sent a message (every message is -1)"
        )
    total = int(sum(int(t.sum()) for t in own.values()))
    same = len(speakers) == summary.num_agents and {(symbols[k], actions[k]) for k in speakers} == {
        (m, a)
    }
    frame = pd.DataFrame(rows)
    frame["q_value"] = np.nan
    for definition in definitions:
        sel = frame["definition"] == definition
        frame.loc[sel, "q_value"] = benjamini_hochberg(frame.loc[sel, "p_value"].to_numpy())
    # The Jaques forms also summarise all agents (mean or sum, as Eq. 8); "mi" has no such row.
    extra = [
        {
            "agent": "all",
            "definition": definition,
            **(
                _sc_interval(tables, definition, m, a, base=base, gen=gen, **common)
                if same
                else _sc_speakers_interval(own, symbols, actions, definition, base, gen, common)
            ),
            "p_value": NAN,
            "n": total,
            "q_value": NAN,
        }
        for definition in definitions
        if definition != "mi"
    ]
    if extra:
        frame = pd.concat([frame, pd.DataFrame(extra)], ignore_index=True)
    return frame


def _sc_agent_rows(
    agent: str,
    own: np.ndarray,
    definitions: tuple[str, ...],
    sizes: tuple[int, int],
    n_permutations: int,
    *,
    base: float | None,
    gen: np.random.Generator,
    bar: Any,
    common: dict[str, Any],
) -> list[dict[str, Any]]:
    """One agent's rows (one per definition) from its per-unit tables on its own alphabets
    (U, M_k, A_k)."""
    p, _ = permutation(own.sum(axis=0), n_permutations, gen)
    bar.update()
    rows = []
    for definition in definitions:
        interval = _sc_interval(own, definition, *sizes, base=base, gen=gen, **common)
        rows.append(
            {"agent": agent, "definition": definition, **interval}
            | {"p_value": p, "n": int(own.sum())}
        )
        bar.update()
    return rows


def _sc_speakers_interval(
    own: dict[int, np.ndarray],
    symbols: tuple[int, ...],
    actions: tuple[int, ...],
    definition: str,
    base: float | None,
    gen: np.random.Generator,
    common: dict[str, Any],
) -> dict[str, float]:
    """The "all" row over the agents that speak when their alphabets differ (or some do not
    speak): the mean (``"jaques"``) or sum (``"jaques_literal"``) of each speaker's value on
    its own alphabets, as Eq. 8 combines agents; units resampled jointly."""
    speakers = sorted(own)

    def values(tabs: list[np.ndarray]) -> list[float]:
        return [
            _speaker_consistency_counts(t.sum(axis=0), definition, symbols[k], actions[k], base)
            for k, t in zip(speakers, tabs, strict=True)
        ]

    def stat(*tabs: np.ndarray) -> float:
        v = values(list(tabs))
        return float(np.nanmean(v)) if definition == "jaques" else float(np.nansum(v))

    value = stat(*(own[k] for k in speakers))
    low, high, bias = bootstrap(
        stat,
        tuple(own[k] for k in speakers),
        common["n_bootstrap"],
        common["confidence_level"],
        gen,
        quiet=(UndefinedConditionalWarning,),
        information=True,
    )
    return {"value": value, "ci_low": low, "ci_high": high, "bias": bias}


def _sc_interval(
    tables: np.ndarray,
    definition: str,
    m: int,
    a: int,
    *,
    n_bootstrap: int,
    confidence_level: float,
    base: float | None,
    gen: np.random.Generator,
) -> dict[str, float]:
    """``value``, ``ci_low``, ``ci_high`` and ``bias`` of one definition over per-unit
    ``tables`` ((U, M, A) of one agent, or (U, N, M, A) for the "all" row)."""
    if definition == "mi":

        def stat(tabs: np.ndarray) -> float:
            return float(mutual_information_from_counts(tabs.sum(axis=0), base=base))
    else:

        def stat(tabs: np.ndarray) -> float:
            return _speaker_consistency_counts(tabs.sum(axis=0), definition, m, a, base)

    value = _speaker_consistency_counts(tables.sum(axis=0), definition, m, a, base)
    low, high, bias = bootstrap(
        stat,
        (tables,),
        n_bootstrap,
        confidence_level,
        gen,
        quiet=(UndefinedConditionalWarning,),
        information=True,
    )
    return {"value": value, "ci_low": low, "ci_high": high, "bias": bias}


# ------------------------------------------------------------------------------ all at once


@dataclass(frozen=True, eq=False)
class AnalysisResult:
    """Every table of a dataset (None where the data do not allow it).

    Attributes
    ----------
    summary : DatasetSummary
    influence : pandas.DataFrame or None
        :func:`influence_table` (needs stored influence).
    coordination : pandas.DataFrame
        :func:`coordination_table`.
    speaker_consistency : pandas.DataFrame or None
        :func:`speaker_consistency_table` (needs messages).
    cic : pandas.DataFrame or None
        :func:`cic_table` (needs counterfactual logits).
    social : pandas.DataFrame or None
        Social outcomes per episode.
    social_summary : pandas.DataFrame or None
        :func:`social_summary`.
    options : dict
        The options of the analysis (for the report).
    """

    summary: DatasetSummary
    influence: pd.DataFrame | None
    coordination: pd.DataFrame
    speaker_consistency: pd.DataFrame | None
    cic: pd.DataFrame | None
    social: pd.DataFrame | None
    social_summary: pd.DataFrame | None
    options: dict[str, Any]

    def tables(self) -> dict[str, pd.DataFrame]:
        """The non-empty tables by name."""
        named = {
            "influence": self.influence,
            "coordination": self.coordination,
            "speaker_consistency": self.speaker_consistency,
            "cic": self.cic,
            "social": self.social,
            "social_summary": self.social_summary,
        }
        return {k: v for k, v in named.items() if v is not None}


def analyze(
    source: Any,
    *,
    lag: int = 1,
    alignment: str | None = None,
    variable: str | None = None,
    estimator: str = "plugin",
    n_bootstrap: int = 1000,
    n_permutations: int = 1000,
    confidence_level: float = 0.95,
    max_units: int = DEFAULT_MAX_UNITS,
    visible_only: bool = False,
    base: float | None = None,
    rng: Any = None,
    progress: bool = False,
) -> AnalysisResult:
    """Summarise ``source`` in one pass and compute every table its data allow.

    Parameters
    ----------
    source : Trajectory, mapping of arrays, path, DatasetSummary, or iterable of these
        See :func:`analysis.dataset.iter_trajectories`; a summary is used as is.
    lag, alignment, variable, max_units, visible_only
        See :func:`analysis.dataset.summarize`.
    estimator : str
        MI estimator of the coordination values, a name registered in
        :data:`causal_influence.information.ESTIMATORS`.
    n_bootstrap, n_permutations : int
        Resamples of the intervals and of the tests (0 skips them).
    confidence_level : float
    base : float, optional
        Unit of information measures (None = nats, 2 = bits).
    rng : int, numpy.random.Generator, torch.Generator or None
        One generator drives every resampling, in a fixed order.
    progress : bool
        Progress bars (tqdm, on stderr).

    Returns
    -------
    AnalysisResult
    """
    summary = (
        source
        if isinstance(source, DatasetSummary)
        else summarize(
            source,
            lag=lag,
            alignment=alignment,
            variable=variable,
            max_units=max_units,
            visible_only=visible_only,
            progress=progress,
        )
    )
    common: dict[str, Any] = {
        "n_bootstrap": n_bootstrap,
        "confidence_level": confidence_level,
        "rng": resolve_rng(rng),
    }
    tests: dict[str, Any] = {"n_permutations": n_permutations, "base": base, "progress": progress}
    influence = None
    if summary.has_influence:
        influence = influence_table(summary, **tests, **common)
    coordination = coordination_table(summary, estimator=estimator, **tests, **common)
    sc = speaker_consistency_table(summary, **tests, **common) if summary.has_messages else None
    cic = cic_table(summary, base=base, **common) if summary.has_cic else None
    social = summary.social
    return AnalysisResult(
        summary=summary,
        influence=influence,
        coordination=coordination,
        speaker_consistency=sc,
        cic=cic,
        social=social,
        social_summary=social_summary(summary, **common) if social is not None else None,
        options=_options(summary, estimator, n_bootstrap, n_permutations, confidence_level, base)
        | {"visible_only": visible_only},
    )


def _options(
    summary: DatasetSummary,
    estimator: str,
    n_bootstrap: int,
    n_permutations: int,
    confidence_level: float,
    base: float | None,
) -> dict[str, Any]:
    """The options of an analysis, as the report shows them."""
    return {
        "lag": summary.lag,
        "alignment": summary.alignment,
        "variable": summary.variable,
        "estimator": estimator,
        "n_bootstrap": n_bootstrap,
        "n_permutations": n_permutations,
        "confidence_level": confidence_level,
        "base": base,
        "unit": "nats" if base is None else ("bits" if base == 2 else f"log base {base}"),
        "num_steps": summary.num_steps,
        "num_episodes": summary.num_episodes,
        "num_units": summary.num_units,
    }
