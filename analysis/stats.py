r"""Dataset statistics as tidy pandas DataFrames, built on the core's measures.

Every table is computed from a :class:`~analysis.dataset.DatasetSummary` (one streaming pass
over the trajectories, :func:`analysis.dataset.summarize`); :func:`analyze` does both steps.
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

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.dataset import DEFAULT_MAX_UNITS, DatasetSummary, summarize
from causal_influence.communication import SC_DEFINITIONS, speaker_consistency_from_counts
from causal_influence.errors import ConfigError, ShapeError, UndefinedConditionalWarning
from causal_influence.information import (
    ESTIMATORS,
    _permutation_test_counts,
    bootstrap_ci,
    mutual_information_from_counts,
    resolve_rng,
)

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

_NAN = float("nan")


# ------------------------------------------------------------------------------ helpers


def benjamini_hochberg(pvalues: Any) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) controlling the false discovery rate.

    A thin NaN-aware wrapper of :func:`scipy.stats.false_discovery_control`: NaN entries
    (tests that were not run) stay NaN and do not count as hypotheses.

    Parameters
    ----------
    pvalues : array_like of float
        p-values in [0, 1] (any shape).

    Returns
    -------
    numpy.ndarray
        q-values of the same shape; reject at FDR level alpha where ``q <= alpha``.

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.2, float("nan")]).round(4)
    array([0.04  , 0.0533, 0.0533, 0.2   ,    nan])
    """
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    if finite.any():
        values = p[finite]
        if values.min() < 0 or values.max() > 1:
            raise ConfigError(
                f"pvalues: expected values in [0, 1]; got the range [{values.min()}, "
                f"{values.max()}]"
            )
        out[finite] = sps.false_discovery_control(values, method="bh")
    return out


def _permutation(
    table: np.ndarray, n_permutations: int, gen: np.random.Generator
) -> tuple[float, float]:
    """(p-value, null mean in nats) of the permutation test of a pooled table.

    :func:`~causal_influence.information.permutation_test` of the pairs behind the table,
    computed from the table itself (same draws, same result), so neither the time nor the
    memory grows with the number of steps.
    """
    if n_permutations <= 0 or table.sum() == 0:
        return _NAN, _NAN
    res = _permutation_test_counts(table, n_resamples=n_permutations, rng=gen)
    return res.pvalue, res.null_mean


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


def _bootstrap(
    statistic: Callable[..., float],
    arrays: tuple[np.ndarray, ...],
    n_bootstrap: int,
    confidence_level: float,
    gen: np.random.Generator,
    *,
    quiet: tuple[type[Warning], ...] = (),
    information: bool = False,
) -> tuple[float, float, float]:
    """Bootstrap interval over resampling units (rows of ``arrays``).

    Means use the percentile interval. Plug-in information measures (``information=True``)
    use the basic (reverse percentile) interval, floored at 0: their bootstrap distribution is
    shifted above the estimate by the plug-in bias, which a percentile interval inherits (it
    can even exclude the estimate; METRICS.md section 4.3). Returns (low, high, bootstrap
    estimate of the bias).
    """
    if n_bootstrap <= 0 or arrays[0].shape[0] == 0:
        return _NAN, _NAN, _NAN

    def stat(*resampled: np.ndarray) -> float:
        with warnings.catch_warnings():
            for category in quiet:
                warnings.simplefilter("ignore", category)
            return float(statistic(*resampled))

    res = bootstrap_ci(
        stat,
        *arrays,
        n_resamples=n_bootstrap,
        confidence_level=confidence_level,
        rng=gen,
        method="basic" if information else "percentile",
    )
    if information:
        return max(res.low, 0.0), max(res.high, 0.0), res.bias
    return res.low, res.high, res.bias


def _ratio(sums: np.ndarray, counts: np.ndarray) -> float:
    total = counts.sum()
    return float(sums.sum() / total) if total > 0 else _NAN


def _pairs(n: int) -> Iterator[tuple[int, int]]:
    for k in range(n):
        for j in range(n):
            if k != j:
                yield k, j


def _progress(total: int, desc: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, leave=False, delay=0.5)


def _check(n_bootstrap: int, n_permutations: int, confidence_level: float) -> None:
    if n_bootstrap < 0 or n_permutations < 0:
        raise ConfigError(
            f"n_bootstrap and n_permutations: expected non-negative integers (0 skips the "
            f"intervals / tests); got {n_bootstrap} and {n_permutations}"
        )
    if not 0 < confidence_level < 1:
        raise ConfigError(f"confidence_level: expected a value in (0, 1); got {confidence_level}")


def _scale(base: float | None) -> float:
    return 1.0 if base is None else float(np.log(base))


# ------------------------------------------------------------------------------ tables


def influence_table(
    summary: DatasetSummary,
    *,
    n_bootstrap: int = 1000,
    n_permutations: int = 1000,
    confidence_level: float = 0.95,
    base: float | None = None,
    rng: Any = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Mean stored influence of every ordered pair, with intervals, p-values and q-values.

    Parameters
    ----------
    summary : DatasetSummary
        With stored influence (:attr:`DatasetSummary.has_influence`).
    n_bootstrap : int
        Bootstrap resamples of the interval (0 skips it).
    n_permutations : int
        Permutation resamples of the test (0 skips it).
    confidence_level : float
    base : float, optional
        Unit of the ``mi`` column (the influence keeps its stored unit).
    rng : int, numpy.random.Generator, torch.Generator or None
    progress : bool
        Progress bar (tqdm) over pairs.

    Returns
    -------
    pandas.DataFrame
        One row per ordered pair: ``influencer``, ``influencee``, ``k``, ``j``, ``mean``,
        ``ci_low``, ``ci_high``, ``n`` (valid steps), ``n_episodes``, ``high_fraction`` (share
        of k's steps that are moments of high influence), ``mi`` (plug-in MI of k's variable
        and j's action at the influence's alignment), ``p_value``, ``q_value``, ``variable``,
        ``alignment``.

    Raises
    ------
    ConfigError
        When the summary carries no influence.
    """
    _check(n_bootstrap, n_permutations, confidence_level)
    if (
        summary.influence_sum is None
        or summary.influence_count is None
        or summary.dependence is None
    ):
        raise ConfigError("influence_table: the trajectories carry no pairwise influence tensor")
    gen = resolve_rng(rng)
    n = summary.num_agents
    sums, counts = summary.influence_sum, summary.influence_count
    used = counts > 0
    sums, counts = sums[used], counts[used]
    pooled = summary.dependence.sum(axis=0)
    total = int(counts.sum())
    high = summary.high_steps if summary.high_steps is not None else np.zeros(n)
    rows = []
    bar = _progress(n * (n - 1), "influence", progress)
    for k, j in _pairs(n):
        s_kj = sums[:, k, j]
        low, high_ci, _ = _bootstrap(_ratio, (s_kj, counts), n_bootstrap, confidence_level, gen)
        p, _ = _permutation(pooled[k, j], n_permutations, gen)
        rows.append(
            {
                "influencer": summary.agent_ids[k],
                "influencee": summary.agent_ids[j],
                "k": k,
                "j": j,
                "mean": _ratio(s_kj, counts),
                "ci_low": low,
                "ci_high": high_ci,
                "n": total,
                "n_episodes": int(summary.num_episodes),
                "high_fraction": float(high[k]) / total if total else _NAN,
                "mi": float(mutual_information_from_counts(pooled[k, j], base=base)),
                "p_value": p,
            }
        )
        bar.update()
    bar.close()
    frame = pd.DataFrame(rows)
    frame["q_value"] = benjamini_hochberg(frame["p_value"].to_numpy())
    frame["variable"] = summary.variable
    frame["alignment"] = summary.alignment
    return frame


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
    estimator : {"plugin", "miller_madow", "shuffle"}
        Estimator of the ``value`` column and of its interval.
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
    _check(n_bootstrap, n_permutations, confidence_level)
    if estimator not in ESTIMATORS:
        raise ConfigError(f"estimator: expected one of {ESTIMATORS}; got {estimator!r}")
    gen = resolve_rng(rng)
    scale = _scale(base)
    families: list[tuple[str, str, np.ndarray]] = []
    if summary.ic_message is not None:
        families.append(("symbol/action", "all", summary.ic_message))
    families.append(("action/action", "all", summary.ic_action))
    if summary.ic_message_high is not None:
        families.append(("symbol/action", "high_influence", summary.ic_message_high))
    if summary.ic_action_high is not None:
        families.append(("action/action", "high_influence", summary.ic_action_high))

    def mi(tabs: np.ndarray) -> float:
        return float(
            mutual_information_from_counts(tabs.sum(axis=0), estimator=estimator, base=base)
        )

    n = summary.num_agents
    frames = []
    bar = _progress(len(families) * n * (n - 1), "coordination", progress)
    for kind, subset, tables in families:
        pooled = tables.sum(axis=0)
        rows = []
        for k, j in _pairs(n):
            per_unit = tables[:, k, j]
            table = pooled[k, j]
            value = (
                float(mutual_information_from_counts(table, estimator=estimator, base=base))
                if table.sum()
                else _NAN
            )
            low, high, bias = _bootstrap(
                mi, (per_unit,), n_bootstrap, confidence_level, gen, information=True
            )
            p, null_mean = _permutation(table, n_permutations, gen)
            rows.append(
                {
                    "kind": kind,
                    "subset": subset,
                    "influencer": summary.agent_ids[k],
                    "influencee": summary.agent_ids[j],
                    "k": k,
                    "j": j,
                    "value": value,
                    "ci_low": low,
                    "ci_high": high,
                    "bias": bias,
                    "null_mean": null_mean / scale,
                    "p_value": p,
                    "n": int(table.sum()),
                }
            )
            bar.update()
        frame = pd.DataFrame(rows)
        frame["q_value"] = benjamini_hochberg(frame["p_value"].to_numpy())
        frames.append(frame)
    bar.close()
    out = pd.concat(frames, ignore_index=True)
    out["estimator"] = estimator
    out["lag"] = summary.lag
    return out


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

    The definitions are those of :func:`causal_influence.communication.speaker_consistency`:
    ``"jaques"`` (Eq. 8 normalised to [0, 1]), ``"jaques_literal"`` (Eq. 8 as printed) and
    ``"mi"`` (Lowe et al., :math:`I(m^k; a^k)`, nats unless ``base``). Each agent has one
    row per definition, and the Jaques forms also have an ``agent == "all"`` row (mean of
    the agents for ``"jaques"``, sum for ``"jaques_literal"``, as Eq. 8).

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
    _check(n_bootstrap, n_permutations, confidence_level)
    if summary.sc is None:
        raise ConfigError("speaker_consistency_table: the trajectories carry no messages")
    unknown = [d for d in definitions if d not in SC_DEFINITIONS]
    if unknown:
        raise ConfigError(f"definitions: unknown {unknown}; expected a subset of {SC_DEFINITIONS}")
    gen = resolve_rng(rng)
    m, a = summary.num_symbols, summary.num_actions
    tables = summary.sc  # (U, N, M, A)
    pooled = tables.sum(axis=0)
    n = summary.num_agents
    total = int(pooled[0].sum())

    def sc_of(definition: str, table: np.ndarray) -> float:
        return _speaker_consistency_counts(table, definition, m, a, base)

    rows = []
    bar = _progress(n * (len(definitions) + 1), "speaker consistency", progress)
    for k in range(n):
        p, _ = _permutation(pooled[k], n_permutations, gen)
        bar.update()
        for definition in definitions:
            if definition == "mi":
                value = sc_of("mi", pooled[k])

                def stat(tabs: np.ndarray, d: str = definition) -> float:
                    return float(mutual_information_from_counts(tabs.sum(axis=0), base=base))
            else:
                value = sc_of(definition, pooled[k])

                def stat(tabs: np.ndarray, d: str = definition) -> float:
                    return sc_of(d, tabs.sum(axis=0))

            low, high, bias = _bootstrap(
                stat,
                (tables[:, k],),
                n_bootstrap,
                confidence_level,
                gen,
                quiet=(UndefinedConditionalWarning,),
                information=True,
            )
            rows.append(
                {
                    "agent": summary.agent_ids[k],
                    "definition": definition,
                    "value": value,
                    "ci_low": low,
                    "ci_high": high,
                    "bias": bias,
                    "p_value": p,
                    "n": total,
                }
            )
            bar.update()
    bar.close()
    frame = pd.DataFrame(rows)
    frame["q_value"] = np.nan
    for definition in definitions:
        sel = frame["definition"] == definition
        frame.loc[sel, "q_value"] = benjamini_hochberg(frame.loc[sel, "p_value"].to_numpy())
    extra = []
    for definition in definitions:
        if definition == "mi":
            continue
        value = sc_of(definition, pooled)

        def stat_all(tabs: np.ndarray, d: str = definition) -> float:
            return sc_of(d, tabs.sum(axis=0))

        low, high, bias = _bootstrap(
            stat_all,
            (tables,),
            n_bootstrap,
            confidence_level,
            gen,
            quiet=(UndefinedConditionalWarning,),
            information=True,
        )
        extra.append(
            {
                "agent": "all",
                "definition": definition,
                "value": value,
                "ci_low": low,
                "ci_high": high,
                "bias": bias,
                "p_value": _NAN,
                "n": total,
                "q_value": _NAN,
            }
        )
    if extra:
        frame = pd.concat([frame, pd.DataFrame(extra)], ignore_index=True)
    return frame


def cic_table(
    summary: DatasetSummary,
    *,
    n_bootstrap: int = 1000,
    confidence_level: float = 0.95,
    base: float | None = None,
    rng: Any = None,
) -> pd.DataFrame:
    """Causal influence of communication (Lowe et al. 2019) of every ordered pair.

    From the stored counterfactual logits: for each valid step the interventional MI between
    k's variable (drawn from k's own policy) and j's action
    (:func:`causal_influence.communication.causal_influence_of_communication`), averaged over
    steps. When the stored influence is the KL divergence, its mean estimates the same
    quantity (the ``mean_influence`` column).

    Returns
    -------
    pandas.DataFrame
        One row per ordered pair: ``influencer``, ``influencee``, ``k``, ``j``, ``cic``,
        ``ci_low``, ``ci_high``, ``cic_lowe_compat`` (the released reference code's variant,
        larger by ln K), ``mean_influence``, ``n``, ``variable``.

    Raises
    ------
    ConfigError
        Without stored counterfactual logits.
    """
    _check(n_bootstrap, 0, confidence_level)
    if summary.cic_sum is None or summary.cic_compat_sum is None or summary.cic_count is None:
        raise ConfigError(
            "cic_table: the trajectories carry no counterfactual_logits (record them to get CIC)"
        )
    gen = resolve_rng(rng)
    scale = _scale(base)
    used = summary.cic_count > 0
    sums, compat, counts = (
        summary.cic_sum[used],
        summary.cic_compat_sum[used],
        summary.cic_count[used],
    )
    infl = summary.mean_influence() if summary.influence_sum is not None else None
    rows = []
    for k, j in _pairs(summary.num_agents):
        low, high, _ = _bootstrap(
            _ratio, (sums[:, k, j], counts), n_bootstrap, confidence_level, gen
        )
        rows.append(
            {
                "influencer": summary.agent_ids[k],
                "influencee": summary.agent_ids[j],
                "k": k,
                "j": j,
                "cic": _ratio(sums[:, k, j], counts) / scale,
                "ci_low": low / scale,
                "ci_high": high / scale,
                "cic_lowe_compat": _ratio(compat[:, k, j], counts) / scale,
                "mean_influence": _NAN if infl is None else float(infl[k, j]),
                "n": int(counts.sum()),
            }
        )
    frame = pd.DataFrame(rows)
    frame["variable"] = summary.variable
    return frame


#: Social-outcome columns summarised by :func:`social_summary`.
SOCIAL_METRICS: tuple[str, ...] = (
    "collective_return",
    "utilitarian",
    "equality",
    "sustainability",
    "peace",
)


def social_summary(
    summary: DatasetSummary,
    *,
    n_bootstrap: int = 1000,
    confidence_level: float = 0.95,
    rng: Any = None,
) -> pd.DataFrame:
    """Mean of each social outcome over episodes, with a bootstrap interval over episodes.

    Returns
    -------
    pandas.DataFrame
        One row per metric (``metric``, ``mean``, ``ci_low``, ``ci_high``, ``n_episodes``);
        episodes where a metric is undefined (NaN) are left out of that metric.

    Raises
    ------
    ConfigError
        Without rewards.
    """
    _check(n_bootstrap, 0, confidence_level)
    if summary.social is None:
        raise ConfigError("social_summary: the trajectories carry no rewards")
    gen = resolve_rng(rng)
    rows = []
    for metric in SOCIAL_METRICS:
        values = summary.social[metric].to_numpy(dtype=np.float64)
        values = values[np.isfinite(values)]
        if values.size == 0:
            rows.append(
                {"metric": metric, "mean": _NAN, "ci_low": _NAN, "ci_high": _NAN, "n_episodes": 0}
            )
            continue
        low, high, _ = _bootstrap(np.mean, (values,), n_bootstrap, confidence_level, gen)
        rows.append(
            {
                "metric": metric,
                "mean": float(values.mean()),
                "ci_low": low,
                "ci_high": high,
                "n_episodes": int(values.size),
            }
        )
    return pd.DataFrame(rows)


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
    estimator : {"plugin", "miller_madow", "shuffle"}
        MI estimator of the coordination values.
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
    gen = resolve_rng(rng)
    common: dict[str, Any] = {
        "n_bootstrap": n_bootstrap,
        "confidence_level": confidence_level,
        "rng": gen,
    }
    influence = None
    if summary.has_influence:
        influence = influence_table(
            summary, n_permutations=n_permutations, base=base, progress=progress, **common
        )
    coordination = coordination_table(
        summary,
        estimator=estimator,
        n_permutations=n_permutations,
        base=base,
        progress=progress,
        **common,
    )
    sc = None
    if summary.has_messages:
        sc = speaker_consistency_table(
            summary, n_permutations=n_permutations, base=base, progress=progress, **common
        )
    cic = cic_table(summary, base=base, **common) if summary.has_cic else None
    social = summary.social
    social_sum = social_summary(summary, **common) if social is not None else None
    options = {
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
        "visible_only": visible_only,
    }
    return AnalysisResult(
        summary=summary,
        influence=influence,
        coordination=coordination,
        speaker_consistency=sc,
        cic=cic,
        social=social,
        social_summary=social_sum,
        options=options,
    )
