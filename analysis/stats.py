r"""Dataset statistics as tidy pandas DataFrames, built on the core's measures.

Every table is computed from a :class:`~analysis.dataset.DatasetSummary` (one streaming pass
over the trajectories, :func:`analysis.dataset.summarize`); :func:`analyze` does both steps.
The tables of means (influence, CIC, social outcomes) live in :mod:`analysis.means`, the
observational tables of pairs (coordination, grounding, conditional coordination) in
:mod:`analysis.coordination`, speaker consistency in :mod:`analysis.speaker_consistency` and the
resampling steps in :mod:`analysis.resampling`; this module re-exports their public names.
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

import pandas as pd

from analysis.coordination import (
    conditional_coordination_table,
    coordination_table,
    grounding_table,
)
from analysis.dataset import DEFAULT_MAX_UNITS, summarize
from analysis.decisions import DEFAULT_ALPHA, DEFAULT_MIN_EFFECT, effective_min_effect, seed_of
from analysis.means import SOCIAL_METRICS, cic_table, influence_table, social_summary
from analysis.resampling import benjamini_hochberg
from analysis.speaker_consistency import speaker_consistency_table
from analysis.summary import DatasetSummary
from causal_influence.errors import ConfigError
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


# Long: docstring of 32 lines; code 53 lines, 18 of them the signature (15 options).
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
    tables = _tables(
        summary,
        estimator=estimator,
        min_effect=min_effect,
        tests={"n_permutations": n_permutations, "base": base, "progress": progress},
        common={
            "n_bootstrap": n_bootstrap,
            "confidence_level": confidence_level,
            "rng": resolve_rng(rng),
        },
    )
    return AnalysisResult(
        summary=summary,
        **tables,
        options=_options(summary, estimator, n_bootstrap, n_permutations, confidence_level, base)
        | {"visible_only": visible_only, "min_effect": float(min_effect), "alpha": float(alpha)},
    )


def _tables(
    summary: DatasetSummary,
    *,
    estimator: str,
    min_effect: float,
    tests: dict[str, Any],
    common: dict[str, Any],
) -> dict[str, pd.DataFrame | None]:
    """Every table the summary allows (None for the others), computed in a fixed order so that
    one generator (``common["rng"]``) gives the same tables every time."""
    base = tests["base"]
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
            "n_permutations": tests["n_permutations"],
            "base": base,
            **common,
        }
        grounding = grounding_table(summary, **context_options)
        conditional = conditional_coordination_table(summary, **context_options)
    social = summary.social
    return {
        "influence": influence,
        "coordination": coordination,
        "speaker_consistency": sc,
        "cic": cic,
        "social": social,
        "social_summary": social_summary(summary, **common) if social is not None else None,
        "grounding": grounding,
        "conditional_coordination": conditional,
    }


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
