"""Speaker consistency of every agent, under every definition, with bootstrap intervals.

Computed from a :class:`~analysis.summary.DatasetSummary` (the per-unit tables of each agent's
own (message, action) pairs) with the core's counts-based form
(:func:`causal_influence.communication.speaker_consistency_from_counts`), so its cost does not
grow with the number of steps. Conventions (basic intervals floored at 0, permutation tests,
q-values): :mod:`analysis.stats`, which re-exports :func:`speaker_consistency_table`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.alphabets import agent_alphabets, speaking_agents
from analysis.resampling import (
    NAN,
    benjamini_hochberg,
    bootstrap,
    check_resampling,
    permutation,
    progress_bar,
)
from analysis.summary import DatasetSummary
from causal_influence.communication import SC_DEFINITIONS, speaker_consistency_from_counts
from causal_influence.errors import ConfigError, ShapeError, UndefinedConditionalWarning
from causal_influence.information import mutual_information_from_counts
from causal_influence.validation import resolve_rng

__all__ = ["speaker_consistency_table"]


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
    tables = _sc_iv(summary, definitions, n_bootstrap, n_permutations, confidence_level)
    gen = resolve_rng(rng)
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
    frame = pd.DataFrame(rows)
    frame["q_value"] = np.nan
    for definition in definitions:
        sel = frame["definition"] == definition
        frame.loc[sel, "q_value"] = benjamini_hochberg(frame.loc[sel, "p_value"].to_numpy())
    extra = _sc_all_rows(summary, tables, own, definitions, base=base, gen=gen, common=common)
    if extra:
        frame = pd.concat([frame, pd.DataFrame(extra)], ignore_index=True)
    return frame


def _sc_iv(
    summary: DatasetSummary,
    definitions: tuple[str, ...],
    n_bootstrap: int,
    n_permutations: int,
    confidence_level: float,
) -> np.ndarray:
    """The checks of :func:`speaker_consistency_table`; returns the per-unit tables of every
    agent's own (message, action) pairs (U, N, M, A)."""
    check_resampling(n_bootstrap, n_permutations, confidence_level)
    if summary.sc is None:
        raise ConfigError("speaker_consistency_table: the trajectories carry no messages")
    unknown = [d for d in definitions if d not in SC_DEFINITIONS]
    if unknown:
        raise ConfigError(f"definitions: unknown {unknown}; expected a subset of {SC_DEFINITIONS}")
    return summary.sc


def _sc_all_rows(
    summary: DatasetSummary,
    tables: np.ndarray,
    own: dict[int, np.ndarray],
    definitions: tuple[str, ...],
    *,
    base: float | None,
    gen: np.random.Generator,
    common: dict[str, Any],
) -> list[dict[str, Any]]:
    """The ``agent == "all"`` rows: the Jaques forms also summarise all agents (mean or sum,
    as Eq. 8); "mi" has no such row. With every agent speaking on the same alphabets the
    pooled tables (U, N, M, A) give the value, otherwise the speakers' values on their own
    alphabets."""
    m, a = summary.num_symbols, summary.num_actions
    actions, symbols = agent_alphabets(summary)
    total = int(sum(int(t.sum()) for t in own.values()))
    same = len(own) == summary.num_agents and {(symbols[k], actions[k]) for k in own} == {(m, a)}
    return [
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
