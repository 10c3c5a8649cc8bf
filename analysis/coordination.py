r"""Observational tables of ordered pairs: instantaneous coordination, grounded information and
conditional coordination, each with bootstrap intervals over episodes and permutation tests.

Every table is computed from a :class:`~analysis.summary.DatasetSummary`; the conventions
(pairs, basic intervals floored at 0, p- and q-values, the null of the comparison at moments
of high influence) are those of :mod:`analysis.stats`, which re-exports these functions.

- :func:`coordination_table`: dependence of k's symbol or action and j's next action, over all
  steps and at k's moments of high influence;
- :func:`grounding_table`: does k's message mean something about the context k sees;
- :func:`conditional_coordination_table`: is j's action related to k's message beyond what
  k's context explains (0 for a common cause).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from analysis.alphabets import agent_alphabets, applicable_pairs, pair_table
from analysis.resampling import (
    NAN,
    bootstrap,
    check_resampling,
    pair_columns,
    permutation,
    progress_bar,
    unit_scale,
    with_q_values,
)
from analysis.summary import DatasetSummary
from causal_influence.errors import ConfigError
from causal_influence.information import (
    ESTIMATORS,
    conditional_mutual_information_from_counts,
    mutual_information_from_counts,
    permutation_test_counts,
)
from causal_influence.validation import resolve_rng

__all__ = [
    "CONDITIONAL_TEST",
    "OBSERVATIONAL_TEST",
    "SELECTION_TEST",
    "conditional_coordination_table",
    "coordination_table",
    "grounding_table",
    "observational_kind",
    "over_all_steps",
]


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
        As in :func:`analysis.means.influence_table`.

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
        influence, whose null repeats the selection (:mod:`analysis.stats`); or why none was run),
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


def observational_kind(summary: DatasetSummary) -> str:
    """The coordination family that tests k's variable: ``"symbol/action"`` when the stored
    influence is of messages (or, without stored influence, whenever there are messages),
    else ``"action/action"``."""
    if summary.has_messages and summary.variable in (None, "messages"):
        return "symbol/action"
    return "action/action"


def over_all_steps(table: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The rows of one ``kind`` of a :func:`coordination_table` over all steps (not only the
    moments of high influence)."""
    return table[(table["kind"] == kind) & (table["subset"] == "all")]


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
    tables = _context_iv(
        summary.grounding,  # (U, N, M, G)
        "grounding_table: the trajectories carry no context (record Trajectory.context, the "
        "label each agent sees, with num_contexts) or no messages",
        estimator,
        (n_bootstrap, n_permutations, confidence_level),
    )

    def mi(table: np.ndarray) -> float:
        return float(mutual_information_from_counts(table, estimator=estimator, base=base))

    return _information_table(
        (
            ({"agent": summary.agent_ids[k], "k": k}, tables[:, k])
            for k in range(summary.num_agents)
        ),
        mi,
        lambda table, gen: permutation(table, n_permutations, gen)[0],
        columns={"test": OBSERVATIONAL_TEST + " (message, context)", "estimator": estimator},
        n_bootstrap=n_bootstrap,
        confidence_level=confidence_level,
        gen=resolve_rng(rng),
    )


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
    tables = _context_iv(
        summary.cond_coord,  # (U, N, N, G, M, A)
        "conditional_coordination_table: the trajectories carry no context or no messages",
        estimator,
        (n_bootstrap, n_permutations, confidence_level),
    )

    def cmi(table: np.ndarray) -> float:
        return float(
            conditional_mutual_information_from_counts(table, estimator=estimator, base=base)
        )

    def p_value(table: np.ndarray, gen: np.random.Generator) -> float:
        if n_permutations == 0:
            return NAN
        return float(permutation_test_counts(table, n_resamples=n_permutations, rng=gen).pvalue)

    return _information_table(
        (
            (pair_columns(summary.agent_ids, k, j), tables[:, k, j])
            for k, j in applicable_pairs(summary, "messages")
        ),
        cmi,
        p_value,
        columns={"test": CONDITIONAL_TEST, "estimator": estimator, "lag": summary.lag},
        n_bootstrap=n_bootstrap,
        confidence_level=confidence_level,
        gen=resolve_rng(rng),
    )


def _context_iv(
    tables: np.ndarray | None,
    missing: str,
    estimator: str,
    resampling: tuple[int, int, float],
) -> np.ndarray:
    """The checks of a table that needs messages and a context; returns its per-unit tables."""
    check_resampling(*resampling)
    if tables is None:
        raise ConfigError(missing)
    ESTIMATORS.lookup(estimator)
    return tables


def _information_table(
    units: Iterable[tuple[dict[str, Any], np.ndarray]],
    statistic: Callable[[np.ndarray], float],
    p_value: Callable[[np.ndarray, np.random.Generator], float],
    *,
    columns: dict[str, Any],
    n_bootstrap: int,
    confidence_level: float,
    gen: np.random.Generator,
) -> pd.DataFrame:
    """One row per (leading columns, per-unit tables (U, ...)): ``value`` (``statistic`` of the
    pooled table), its basic bootstrap interval, ``p_value`` (of the pooled table), ``n``, the
    ``q_value`` across rows and the constant ``columns``; NaN (and n = 0) where the pooled
    table is empty. The generator is drawn from in the order of the units: the interval, then
    the test."""
    rows = []
    for leading, per_unit in units:
        table = per_unit.sum(axis=0)
        row = dict(leading)
        if table.sum() == 0:
            row.update(value=NAN, ci_low=NAN, ci_high=NAN, p_value=NAN, n=0)
            rows.append(row)
            continue
        low, high, _ = bootstrap(
            lambda tabs: statistic(tabs.sum(axis=0)),
            (per_unit,),
            n_bootstrap,
            confidence_level,
            gen,
            information=True,
        )
        p = p_value(table, gen)
        row.update(value=statistic(table), ci_low=low, ci_high=high, p_value=p, n=int(table.sum()))
        rows.append(row)
    frame = with_q_values(rows)
    for name, value in columns.items():
        frame[name] = value
    return frame
