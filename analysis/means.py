"""Tables of means with percentile bootstrap intervals over episodes: the stored influence of
every ordered pair, the causal influence of communication (CIC) and social outcomes.

Each is computed from a :class:`~analysis.summary.DatasetSummary`; the conventions (pairs,
intervals, p- and q-values) are those of :mod:`analysis.stats`, which re-exports these
functions.

Examples
--------
>>> import numpy as np
>>> from analysis.dataset import summarize
>>> rng = np.random.default_rng(0)
>>> summary = summarize({"actions": rng.integers(0, 2, size=(2000, 2)),
...                      "rewards": rng.random((2000, 2)),
...                      "episode_ids": np.repeat(np.arange(40), 50)})
>>> table = social_summary(summary, n_bootstrap=200, rng=0).set_index("metric")
>>> int(table.loc["equality", "n_episodes"]), bool((table["ci_low"] <= table["mean"]).all())
(40, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.alphabets import agent_alphabets, applicable_pairs
from analysis.decisions import DEFAULT_MIN_EFFECT, above_min_effect, effective_min_effect
from analysis.resampling import (
    NAN,
    benjamini_hochberg,
    bootstrap,
    check_resampling,
    pair_columns,
    permutation,
    progress_bar,
    ratio,
    unit_scale,
)
from analysis.summary import DatasetSummary
from causal_influence.errors import ConfigError
from causal_influence.information import mutual_information_from_counts
from causal_influence.noise import NOISE_FLOOR_NATS
from causal_influence.validation import resolve_rng

__all__ = ["SOCIAL_METRICS", "cic_table", "influence_table", "social_summary"]


# Long: docstring of 55 lines (every measure and column of the table); code 63 lines.
def influence_table(
    summary: DatasetSummary,
    *,
    min_effect: float = DEFAULT_MIN_EFFECT,
    n_bootstrap: int = 1000,
    n_permutations: int = 1000,
    confidence_level: float = 0.95,
    base: float | None = None,
    rng: Any = None,
    progress: bool = False,
) -> pd.DataFrame:
    """The influence measures of every ordered pair, side by side, with their tests.

    - ``influence``: the mean stored influence, the paper's measure (Jaques et al. 2019): the
      divergence of the influencee's policy from its marginal under the influencer's *own*
      policy, i.e. the information in k's choice **beyond what k's state already fixes**
      (0 for a deterministic influencer however closely j follows it). Percentile bootstrap
      interval over episodes.
    - ``responsiveness`` (with stored counterfactual logits): the same divergence with k's
      value set at random (uniform, or the summary's intervention): how much j's policy moves
      with k's value at all (:func:`causal_influence.interventional_responsiveness`).
    - ``influence_above_min_effect`` / ``responsiveness_above_min_effect``: the **influence
      test**, the decision of an edge: the interval's lower end lies above ``min_effect``
      (never below the noise floor; :mod:`analysis.decisions`). These quantities are
      properties of the policies on the states visited; a permutation test of recorded
      variables does not test them.
    - ``observational_mi``, ``observational_p_value``, ``observational_q_value``: the
      **observational** test of independence of k's variable and j's action at the influence's
      alignment (plug-in MI, permutation of pairings, BH across pairs). It misses influence
      that depends on j's own state and reads a common cause as dependence.

    Parameters
    ----------
    summary : DatasetSummary
        With stored influence (:attr:`DatasetSummary.has_influence`).
    min_effect : float
        Smallest effect (nats) detected (default :data:`analysis.decisions.DEFAULT_MIN_EFFECT`).
    n_bootstrap : int
        Bootstrap resamples of the intervals (0 skips them; decisions then use the estimate).
    n_permutations : int
        Permutation resamples of the observational test (0 skips it).
    confidence_level : float
    base : float, optional
        Unit of ``responsiveness`` and ``observational_mi`` (the influence keeps its stored
        unit; thresholds are in nats).
    rng : int, numpy.random.Generator, torch.Generator or None
    progress : bool
        Progress bar (tqdm) over pairs.

    Returns
    -------
    pandas.DataFrame
        One row per ordered pair: ``influencer``, ``influencee``, ``k``, ``j``, ``influence``,
        ``influence_ci_low``, ``influence_ci_high``, ``influence_above_min_effect``,
        ``responsiveness``, ``responsiveness_ci_low``, ``responsiveness_ci_high``,
        ``responsiveness_above_min_effect`` (NaN / None without counterfactual logits),
        ``min_effect`` (the threshold used), ``decided_by`` ("interval" or "point estimate (no
        interval)"), ``observational_mi``, ``observational_p_value``,
        ``observational_q_value``, ``high_fraction`` (share of k's steps that are moments of
        high influence), ``n`` (valid steps), ``n_episodes``, ``variable``, ``alignment``.

    Raises
    ------
    ConfigError
        When the summary carries no influence, or ``min_effect`` is negative.
    """
    check_resampling(n_bootstrap, n_permutations, confidence_level)
    if (
        summary.influence_sum is None
        or summary.influence_count is None
        or summary.dependence is None
    ):
        raise ConfigError("influence_table: the trajectories carry no pairwise influence tensor")
    threshold = effective_min_effect(min_effect, summary.influence_floor)
    resp_threshold = effective_min_effect(min_effect, NOISE_FLOOR_NATS)
    gen = resolve_rng(rng)
    n = summary.num_agents
    scale = unit_scale(base)
    used = summary.influence_count > 0
    sums, counts = summary.influence_sum[used], summary.influence_count[used]
    resp = None
    if summary.responsiveness_sum is not None and summary.cic_count is not None:
        resp_used = summary.cic_count > 0
        resp = (summary.responsiveness_sum[resp_used], summary.cic_count[resp_used])
    pooled = summary.dependence.sum(axis=0)
    total = int(counts.sum())
    high = summary.high_steps if summary.high_steps is not None else np.zeros(n)
    actions, symbols = agent_alphabets(summary)
    values = symbols if summary.variable == "messages" else actions
    resampling = (n_bootstrap, confidence_level, gen)
    rows = []
    bar = progress_bar(n * (n - 1), "influence", progress)
    # influence of messages from an agent that does not speak does not apply: left out
    for k, j in applicable_pairs(summary, summary.variable):
        row: dict[str, Any] = {
            **pair_columns(summary.agent_ids, k, j),
            **_influence_columns(sums[:, k, j], counts, threshold, resampling),
        }
        if resp is not None:
            r_sums, r_counts = resp[0][:, k, j], resp[1]
            row.update(_responsiveness_columns(r_sums, r_counts, resp_threshold, scale, resampling))
        dependence = pooled[k, j, : values[k], : actions[j]]
        p, _ = permutation(dependence, n_permutations, gen)
        row.update(
            observational_mi=float(mutual_information_from_counts(dependence, base=base)),
            observational_p_value=p,
            high_fraction=float(high[k]) / total if total else NAN,
            n=total,
            n_episodes=int(summary.num_episodes),
        )
        rows.append(row)
        bar.update()
    bar.close()
    frame = pd.DataFrame(rows)
    frame["observational_q_value"] = benjamini_hochberg(frame["observational_p_value"])
    frame["variable"] = summary.variable
    frame["alignment"] = summary.alignment
    return frame


def _influence_columns(
    sums: np.ndarray,
    counts: np.ndarray,
    threshold: float,
    resampling: tuple[int, float, np.random.Generator],
) -> dict[str, Any]:
    """The influence columns of one pair from its per-unit sums and step counts (U,), with
    its test; the responsiveness columns empty (:func:`_responsiveness_columns` fills them)."""
    n_bootstrap, confidence_level, gen = resampling
    mean = ratio(sums, counts)
    low, high, _ = bootstrap(ratio, (sums, counts), n_bootstrap, confidence_level, gen)
    edge, basis = above_min_effect(low, mean, threshold)
    return {
        "influence": mean,
        "influence_ci_low": low,
        "influence_ci_high": high,
        "influence_above_min_effect": edge,
        "responsiveness": NAN,
        "responsiveness_ci_low": NAN,
        "responsiveness_ci_high": NAN,
        "responsiveness_above_min_effect": None,
        "min_effect": threshold,
        "decided_by": basis,
    }


def _responsiveness_columns(
    sums: np.ndarray,
    counts: np.ndarray,
    threshold: float,
    scale: float,
    resampling: tuple[int, float, np.random.Generator],
) -> dict[str, Any]:
    """The responsiveness columns of one pair from its per-unit sums and step counts (U,), in
    the table's unit (``scale`` nats each); its test is decided in nats."""
    n_bootstrap, confidence_level, gen = resampling
    mean = ratio(sums, counts)
    low, high, _ = bootstrap(ratio, (sums, counts), n_bootstrap, confidence_level, gen)
    return {
        "responsiveness": mean / scale,
        "responsiveness_ci_low": low / scale,
        "responsiveness_ci_high": high / scale,
        "responsiveness_above_min_effect": above_min_effect(low, mean, threshold)[0],
    }


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
    (:func:`causal_influence.communication.causal_influence_of_communication`, the expected
    influence), averaged over steps. Like the paper's influence it weighs k's values by k's
    own policy: information beyond k's state. When the stored influence is the KL
    divergence, its mean estimates the same quantity (the ``mean_influence`` column); the
    interventional responsiveness (uniform intervention) is in
    :func:`influence_table`.

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
    check_resampling(n_bootstrap, 0, confidence_level)
    if summary.cic_sum is None or summary.cic_compat_sum is None or summary.cic_count is None:
        raise ConfigError(
            "cic_table: the trajectories carry no counterfactual_logits (record them to get CIC)"
        )
    gen = resolve_rng(rng)
    scale = unit_scale(base)
    used = summary.cic_count > 0
    sums, compat, counts = (
        summary.cic_sum[used],
        summary.cic_compat_sum[used],
        summary.cic_count[used],
    )
    infl = summary.mean_influence() if summary.influence_sum is not None else None
    rows = []
    for k, j in applicable_pairs(summary, summary.variable):
        low, high, _ = bootstrap(ratio, (sums[:, k, j], counts), n_bootstrap, confidence_level, gen)
        rows.append(
            {
                **pair_columns(summary.agent_ids, k, j),
                "cic": ratio(sums[:, k, j], counts) / scale,
                "ci_low": low / scale,
                "ci_high": high / scale,
                "cic_lowe_compat": ratio(compat[:, k, j], counts) / scale,
                "mean_influence": NAN if infl is None else float(infl[k, j]),
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
    check_resampling(n_bootstrap, 0, confidence_level)
    if summary.social is None:
        raise ConfigError("social_summary: the trajectories carry no rewards")
    gen = resolve_rng(rng)
    rows = []
    for metric in SOCIAL_METRICS:
        values = summary.social[metric].to_numpy(dtype=np.float64)
        values = values[np.isfinite(values)]
        if values.size == 0:
            rows.append(
                {"metric": metric, "mean": NAN, "ci_low": NAN, "ci_high": NAN, "n_episodes": 0}
            )
            continue
        low, high, _ = bootstrap(np.mean, (values,), n_bootstrap, confidence_level, gen)
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
