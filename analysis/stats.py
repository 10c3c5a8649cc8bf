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
  only on the pooled contingency table, so it is run on the accumulated table. These are
  **observational** tests (every table names its test in a ``test`` column or in the column
  name); the influence of k on j is decided from its interval against a minimum effect
  (:mod:`analysis.decisions`), not from them.
- Comparisons at moments of high influence select steps by a quantity that depends on both
  variables. Their null repeats the selection: with stored counterfactual logits, k's
  variable is permuted within episodes and the moments are re-selected from the influence the
  permuted values would have had (``moment_permutations`` of :func:`analysis.dataset.summarize`);
  without them the comparison gets no p-value.
- q-values control the false discovery rate across the pairs of one table family
  (Benjamini-Hochberg, :func:`benjamini_hochberg`).
- Information is in nats unless ``base`` is given (2 for bits). The stored influence keeps the
  unit it was recorded in.

Which table answers which question
----------------------------------
- :func:`influence_table`: the paper's influence (information in k's choice beyond k's state)
  and the interventional responsiveness (does j's policy move with k's value at all), with the
  influence test against a minimum effect, and the observational test beside them.
- :func:`coordination_table`: observational dependence of k's symbol or action and j's next
  action, over all steps and at k's moments of high influence.
- :func:`grounding_table` and :func:`conditional_coordination_table` (messages and a context):
  does k's message mean something about its context, and is j's action related to it beyond
  what the context explains (0 for a common cause).
- :func:`analysis.conclusions.conclusions`: one word per ordered pair with the figures behind
  it.

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
from analysis.decisions import DEFAULT_ALPHA, DEFAULT_MIN_EFFECT, effective_min_effect, seed_of
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
from causal_influence.information import (
    ESTIMATORS,
    conditional_mutual_information_from_counts,
    mutual_information_from_counts,
    permutation_test_counts,
)
from causal_influence.validation import resolve_rng

__all__ = [
    "SOCIAL_METRICS",
    "AnalysisResult",
    "analyze",
    "benjamini_hochberg",
    "cic_table",
    "conditional_coordination_table",
    "coordination_table",
    "grounding_table",
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
        ``p_value``, ``q_value`` (BH within each kind and subset), ``test`` (the test behind
        the p-value: ``"observational: permutation of pairings"`` over all steps;
        ``"observational: permutation re-selecting moments"`` at the moments of high
        influence, whose null repeats the selection (module docstring); or why none was run),
        ``n`` (pooled pairs), ``estimator``, ``lag``.
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
        null, test = _null_of(summary, kind, subset, n_permutations)
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
                n_permutations=n_permutations if subset == "all" else 0,
                confidence_level=confidence_level,
                gen=gen,
            )
            if null is not None:
                row.update(_selection_test(tables[:, k, j].sum(axis=0), null[:, k, j], base))
            rows.append(
                {"kind": kind, "subset": subset, **pair_columns(summary.agent_ids, k, j), **row}
                | {"test": test}
            )
            bar.update()
        if rows:
            frames.append(with_q_values(rows))
    bar.close()
    out = pd.concat(frames, ignore_index=True)
    out["estimator"] = estimator
    out["lag"] = summary.lag
    return out


#: The test of each coordination row (the ``test`` column).
OBSERVATIONAL_TEST = "observational: permutation of pairings"
SELECTION_TEST = "observational: permutation re-selecting moments"


def _null_of(
    summary: DatasetSummary, kind: str, subset: str, n_permutations: int
) -> tuple[np.ndarray | None, str]:
    """The null tables (B, N, N, K, A) of a high-influence family and the name of its test,
    or None and the reason no test is run."""
    if subset == "all":
        return None, OBSERVATIONAL_TEST if n_permutations > 0 else "not run (0 permutations)"
    if summary.high_null is not None and summary.high_null_kind == kind:
        return summary.high_null, SELECTION_TEST
    if summary.high_null is not None or summary.has_cic:
        why = (
            "moments selected by the other variable"
            if summary.high_null is not None
            else "no moment permutations drawn (summarize(..., moment_permutations=B))"
        )
        return None, f"not run: {why}"
    return None, (
        "not run: a null that repeats the selection needs counterfactual_logits "
        "(without them, selection alone can produce significance)"
    )


def _selection_test(observed: np.ndarray, null: np.ndarray, base: float | None) -> dict[str, Any]:
    """p-value and null mean of the MI of ``observed`` (K, A) against the MI of the
    re-selected null tables (B, K, A)."""
    value = float(mutual_information_from_counts(observed)) if observed.sum() else NAN
    mis = mutual_information_from_counts(null)
    mis = np.where(null.sum(axis=(-2, -1)) > 0, mis, 0.0)
    if not np.isfinite(value):
        return {"p_value": NAN, "null_mean": NAN}
    tol = 1e-12 * max(1.0, abs(value))
    p = (1.0 + float(np.sum(mis >= value - tol))) / (1.0 + mis.size)
    return {"p_value": p, "null_mean": float(mis.mean()) / unit_scale(base)}


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


def grounding_table(
    summary: DatasetSummary,
    *,
    estimator: str = "plugin",
    n_bootstrap: int = 1000,
    n_permutations: int = 1000,
    confidence_level: float = 0.95,
    base: float | None = None,
    rng: Any = None,
) -> pd.DataFrame:
    r"""Grounded information :math:`I(m^k; g^k)` of every agent's messages in its context.

    Does the message *mean* something about the world the speaker sees? (Needs messages and a
    recorded context; steps with a missing message or context, -1, are skipped.)

    Returns
    -------
    pandas.DataFrame
        One row per agent: ``agent``, ``k``, ``value``, ``ci_low``, ``ci_high`` (basic
        bootstrap over episodes, floored at 0), ``p_value`` (observational: permutation of
        the (message, context) pairings), ``q_value`` (BH across agents), ``test``, ``n``
        (steps with both), ``estimator``. Agents that never speak with a context have NaN.

    Raises
    ------
    ConfigError
        Without messages and a context.
    """
    check_resampling(n_bootstrap, n_permutations, confidence_level)
    if summary.grounding is None:
        raise ConfigError(
            "grounding_table: the trajectories carry no context (record Trajectory.context, "
            "the label each agent sees, with num_contexts) or no messages"
        )
    ESTIMATORS.lookup(estimator)
    gen = resolve_rng(rng)
    tables = summary.grounding  # (U, N, M, G)
    rows = []
    for k in range(summary.num_agents):
        table = tables[:, k].sum(axis=0)
        row: dict[str, Any] = {"agent": summary.agent_ids[k], "k": k}
        if table.sum() == 0:
            row.update(value=NAN, ci_low=NAN, ci_high=NAN, p_value=NAN, n=0)
            rows.append(row)
            continue

        def mi(tabs: np.ndarray) -> float:
            return float(
                mutual_information_from_counts(tabs.sum(axis=0), estimator=estimator, base=base)
            )

        low, high, _ = bootstrap(
            mi, (tables[:, k],), n_bootstrap, confidence_level, gen, information=True
        )
        p, _ = permutation(table, n_permutations, gen)
        row.update(
            value=float(mutual_information_from_counts(table, estimator=estimator, base=base)),
            ci_low=low,
            ci_high=high,
            p_value=p,
            n=int(table.sum()),
        )
        rows.append(row)
    frame = with_q_values(rows)
    frame["test"] = OBSERVATIONAL_TEST + " (message, context)"
    frame["estimator"] = estimator
    return frame


CONDITIONAL_TEST = "observational: permutation within each context"


def conditional_coordination_table(
    summary: DatasetSummary,
    *,
    estimator: str = "plugin",
    n_bootstrap: int = 1000,
    n_permutations: int = 1000,
    confidence_level: float = 0.95,
    base: float | None = None,
    rng: Any = None,
) -> pd.DataFrame:
    r"""Conditional coordination :math:`I(m^k_t; a^j_{t+\mathrm{lag}} \mid g^k_t)` per pair.

    The listener's dependence on the message beyond what the speaker's context explains: 0
    for a common cause (the listener sees the context itself), positive for a listener acting
    on the message (unless the message is a deterministic function of the context).

    Returns
    -------
    pandas.DataFrame
        One row per ordered pair: ``influencer``, ``influencee``, ``k``, ``j``, ``value``,
        ``ci_low``, ``ci_high`` (basic bootstrap, floored at 0), ``p_value`` (conditional
        permutation test: pairings permuted within each context), ``q_value`` (BH across
        pairs), ``test``, ``n``, ``estimator``, ``lag``.

    Raises
    ------
    ConfigError
        Without messages and a context.
    """
    check_resampling(n_bootstrap, n_permutations, confidence_level)
    if summary.cond_coord is None:
        raise ConfigError(
            "conditional_coordination_table: the trajectories carry no context or no messages"
        )
    ESTIMATORS.lookup(estimator)
    gen = resolve_rng(rng)
    tables = summary.cond_coord  # (U, N, N, G, M, A)
    rows = []
    for k, j in applicable_pairs(summary, "messages"):
        table = tables[:, k, j].sum(axis=0)
        row: dict[str, Any] = pair_columns(summary.agent_ids, k, j)
        if table.sum() == 0:
            row.update(value=NAN, ci_low=NAN, ci_high=NAN, p_value=NAN, n=0)
            rows.append(row)
            continue

        def cmi(tabs: np.ndarray) -> float:
            return float(
                conditional_mutual_information_from_counts(
                    tabs.sum(axis=0), estimator=estimator, base=base
                )
            )

        low, high, _ = bootstrap(
            cmi, (tables[:, k, j],), n_bootstrap, confidence_level, gen, information=True
        )
        p = NAN
        if n_permutations > 0:
            p = permutation_test_counts(table, n_resamples=n_permutations, rng=gen).pvalue
        row.update(value=cmi(table[None]), ci_low=low, ci_high=high, p_value=p, n=int(table.sum()))
        rows.append(row)
    frame = with_q_values(rows)
    frame["test"] = CONDITIONAL_TEST
    frame["estimator"] = estimator
    frame["lag"] = summary.lag
    return frame


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
        The options of the analysis (for the report), including ``alpha`` and ``min_effect``
        (the thresholds of the decisions).
    grounding : pandas.DataFrame or None
        :func:`grounding_table` (needs messages and a context).
    conditional_coordination : pandas.DataFrame or None
        :func:`conditional_coordination_table` (needs messages and a context).
    """

    summary: DatasetSummary
    influence: pd.DataFrame | None
    coordination: pd.DataFrame
    speaker_consistency: pd.DataFrame | None
    cic: pd.DataFrame | None
    social: pd.DataFrame | None
    social_summary: pd.DataFrame | None
    options: dict[str, Any]
    grounding: pd.DataFrame | None = None
    conditional_coordination: pd.DataFrame | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The non-empty tables by name (with the conclusions, :meth:`conclusions`)."""
        named = {
            "conclusions": self.conclusions(),
            "influence": self.influence,
            "coordination": self.coordination,
            "grounding": self.grounding,
            "conditional_coordination": self.conditional_coordination,
            "speaker_consistency": self.speaker_consistency,
            "cic": self.cic,
            "social": self.social,
            "social_summary": self.social_summary,
        }
        return {k: v for k, v in named.items() if v is not None}

    def conclusions(
        self, *, alpha: float | None = None, min_effect: float | None = None
    ) -> pd.DataFrame:
        """One line per ordered pair: what the data show, in one word, with the figures behind
        it (:func:`analysis.conclusions.conclusions`; thresholds default to the analysis's)."""
        from analysis.conclusions import conclusions

        return conclusions(
            self,
            alpha=self.options.get("alpha", DEFAULT_ALPHA) if alpha is None else alpha,
            min_effect=(
                self.options.get("min_effect", DEFAULT_MIN_EFFECT)
                if min_effect is None
                else min_effect
            ),
        )


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
    min_effect: float = DEFAULT_MIN_EFFECT,
    alpha: float = DEFAULT_ALPHA,
    rng: Any = None,
    progress: bool = False,
) -> AnalysisResult:
    """Summarise ``source`` in one pass and compute every table its data allow.

    Parameters
    ----------
    source : Trajectory, mapping of arrays, path, DatasetSummary, or iterable of these
        See :func:`analysis.dataset.iter_trajectories`; a summary is used as is (its moments
        null was drawn, or not, when it was made).
    lag, alignment, variable, max_units, visible_only
        See :func:`analysis.dataset.summarize`; the moments null draws ``n_permutations``
        within-episode permutations seeded from ``rng``.
    estimator : str
        MI estimator of the coordination values, a name registered in
        :data:`causal_influence.information.ESTIMATORS`.
    n_bootstrap, n_permutations : int
        Resamples of the intervals and of the tests (0 skips them).
    confidence_level : float
    base : float, optional
        Unit of information measures (None = nats, 2 = bits).
    min_effect : float
        Smallest influence or responsiveness (nats) detected (default 0.01; never below the
        noise floor).
    alpha : float
        False discovery rate of the observational tests in the conclusions.
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
            moment_permutations=n_permutations,
            seed=seed_of(rng),
            progress=progress,
        )
    )
    effective_min_effect(min_effect, 0.0)
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha: expected a value in (0, 1); got {alpha}")
    common: dict[str, Any] = {
        "n_bootstrap": n_bootstrap,
        "confidence_level": confidence_level,
        "rng": resolve_rng(rng),
    }
    tests: dict[str, Any] = {"n_permutations": n_permutations, "base": base, "progress": progress}
    influence = None
    if summary.has_influence:
        influence = influence_table(summary, min_effect=min_effect, **tests, **common)
    coordination = coordination_table(summary, estimator=estimator, **tests, **common)
    sc = speaker_consistency_table(summary, **tests, **common) if summary.has_messages else None
    cic = cic_table(summary, base=base, **common) if summary.has_cic else None
    grounding = conditional = None
    if summary.has_context:
        context_options: dict[str, Any] = {
            "estimator": estimator,
            "n_permutations": n_permutations,
            "base": base,
            **common,
        }
        grounding = grounding_table(summary, **context_options)
        conditional = conditional_coordination_table(summary, **context_options)
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
        | {"visible_only": visible_only, "min_effect": float(min_effect), "alpha": float(alpha)},
        grounding=grounding,
        conditional_coordination=conditional,
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
