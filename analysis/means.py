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
from analysis.resampling import (
    NAN,
    bootstrap,
    check_resampling,
    pair_columns,
    permutation,
    progress_bar,
    ratio,
    unit_scale,
    with_q_values,
)
from analysis.summary import DatasetSummary
from causal_influence.errors import ConfigError
from causal_influence.information import mutual_information_from_counts
from causal_influence.validation import resolve_rng

__all__ = ["SOCIAL_METRICS", "cic_table", "influence_table", "social_summary"]


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
    check_resampling(n_bootstrap, n_permutations, confidence_level)
    if (
        summary.influence_sum is None
        or summary.influence_count is None
        or summary.dependence is None
    ):
        raise ConfigError("influence_table: the trajectories carry no pairwise influence tensor")
    gen = resolve_rng(rng)
    n = summary.num_agents
    used = summary.influence_count > 0
    sums, counts = summary.influence_sum[used], summary.influence_count[used]
    pooled = summary.dependence.sum(axis=0)
    total = int(counts.sum())
    high = summary.high_steps if summary.high_steps is not None else np.zeros(n)
    actions, symbols = agent_alphabets(summary)
    values = symbols if summary.variable == "messages" else actions
    rows = []
    bar = progress_bar(n * (n - 1), "influence", progress)
    # influence of messages from an agent that does not speak does not apply: left out
    for k, j in applicable_pairs(summary, summary.variable):
        s_kj = sums[:, k, j]
        dependence = pooled[k, j, : values[k], : actions[j]]
        low, high_ci, _ = bootstrap(ratio, (s_kj, counts), n_bootstrap, confidence_level, gen)
        p, _ = permutation(dependence, n_permutations, gen)
        rows.append(
            {
                **pair_columns(summary.agent_ids, k, j),
                "mean": ratio(s_kj, counts),
                "ci_low": low,
                "ci_high": high_ci,
                "n": total,
                "n_episodes": int(summary.num_episodes),
                "high_fraction": float(high[k]) / total if total else NAN,
                "mi": float(mutual_information_from_counts(dependence, base=base)),
                "p_value": p,
            }
        )
        bar.update()
    bar.close()
    frame = with_q_values(rows)
    frame["variable"] = summary.variable
    frame["alignment"] = summary.alignment
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
