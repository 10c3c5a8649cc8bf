"""The conclusion of an analysis: one word per ordered pair, with the figures behind it.

For every ordered pair (k, j) the tables of :func:`analysis.stats.analyze` answer different
questions (``docs/metrics.md``, "Which measure answers which question"); this module reads
them in a fixed order and says what the data show, in one of these words:

=============================  ===========================================================
``communicates (grounded)``    k's messages carry information about its context
                               (grounded information, q <= alpha) **and** j uses them
                               (responsiveness or influence above the minimum effect; without
                               a stored influence, conditional coordination given the
                               context, q <= alpha)
``influences``                 the paper's influence (information in k's choice beyond k's
                               state) lies above the minimum effect (its interval over
                               episodes)
``responds``                   j's policy moves with k's value (interventional
                               responsiveness above the minimum effect) although k's choice
                               carries little beyond k's state (influence below it: a
                               near-deterministic influencer)
``common cause suspected``     k's variable and j's action are dependent (observational
                               coordination, q <= alpha) but j does not respond to k
                               (responsiveness and influence below the minimum effect) or the
                               context explains the dependence (conditional coordination not
                               significant)
``associated (cause unknown)`` dependent, and the data hold neither counterfactual logits nor
                               a context that could tell influence from a common cause
``nothing detectable``         none of the above
=============================  ===========================================================

Causal quantities are decided by their interval against the minimum effect, observational
ones by their q-value (:mod:`analysis.decisions`).

Examples
--------
A listener that sees the speaker's target itself and ignores the message
(:func:`analysis.cases.common_cause`): message and action are dependent, yet the stored
counterfactual logits show that the listener does not respond to the message.

>>> from analysis.cases import common_cause
>>> from analysis.stats import analyze
>>> traj, truth = common_cause(episodes=10, length=100, rng=0)
>>> result = analyze(traj, n_bootstrap=100, n_permutations=100, rng=0)
>>> result.conclusions()[["influencer", "influencee", "conclusion"]]
  influencer influencee              conclusion
0    speaker   listener  common cause suspected
1   listener    speaker      nothing detectable
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.coordination import observational_kind, over_all_steps
from analysis.decisions import above_min_effect, effective_min_effect, significant
from causal_influence.noise import NOISE_FLOOR_NATS

if TYPE_CHECKING:
    from analysis.stats import AnalysisResult

__all__ = ["CONCLUSIONS", "conclusions", "headline"]

#: The words of :func:`conclusions`, strongest first.
CONCLUSIONS: tuple[str, ...] = (
    "communicates (grounded)",
    "influences",
    "responds",
    "common cause suspected",
    "associated (cause unknown)",
    "nothing detectable",
)


def _fmt(x: Any) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "-"
    if not math.isfinite(v):
        return "-"
    if v == 0:
        return "0"
    return f"{v:.3g}"


def _interval(row: Any, name: str, unit: str) -> str:
    low, high = row.get(f"{name}_ci_low"), row.get(f"{name}_ci_high")
    ci = f" [{_fmt(low)}, {_fmt(high)}]" if np.isfinite(float(low)) else ""
    return f"{name} {_fmt(row.get(name))}{ci} {unit}"


def _row(frame: pd.DataFrame | None, **where: Any) -> dict[str, Any] | None:
    if frame is None:
        return None
    sel = np.ones(len(frame), dtype=bool)
    for key, value in where.items():
        sel &= (frame[key] == value).to_numpy()
    if not sel.any():
        return None
    out: dict[str, Any] = frame[sel].iloc[0].to_dict()
    return out


def conclusions(
    result: AnalysisResult, *, alpha: float = 0.05, min_effect: float = 0.01
) -> pd.DataFrame:
    """One line per ordered pair: the conclusion word and the figures behind it.

    Parameters
    ----------
    result : AnalysisResult
        From :func:`analysis.stats.analyze`.
    alpha : float
        False discovery rate of the observational tests (q-values).
    min_effect : float
        Smallest influence or responsiveness (nats) that counts (never below the noise floor).

    Returns
    -------
    pandas.DataFrame
        One row per ordered pair: ``influencer``, ``influencee``, ``conclusion`` (one of
        :data:`CONCLUSIONS`), ``evidence`` (the figures behind the word, with their tests),
        and the figures themselves: ``influence``, ``influence_ci_low``,
        ``influence_ci_high``, ``responsiveness``, ``responsiveness_ci_low``,
        ``responsiveness_ci_high``, ``coordination`` and ``coordination_q`` (observational),
        ``grounded_information`` and ``grounded_q`` (of the influencer),
        ``conditional_coordination`` and ``conditional_q``.
    """
    s = result.summary
    unit = str(result.options.get("unit", "nats"))
    infl_threshold = effective_min_effect(min_effect, s.influence_floor)
    resp_threshold = effective_min_effect(min_effect, NOISE_FLOOR_NATS)
    kind = observational_kind(s)
    coordination = over_all_steps(result.coordination, kind)
    rows = []
    for k, infl_k in enumerate(s.agent_ids):
        ground = _row(result.grounding, k=k)
        for j, infl_j in enumerate(s.agent_ids):
            if k == j:
                continue
            rows.append(
                _pair(
                    infl_k,
                    infl_j,
                    influence=_row(result.influence, k=k, j=j),
                    coordination=_row(coordination, k=k, j=j),
                    grounding=ground,
                    conditional=_row(result.conditional_coordination, k=k, j=j),
                    kind=kind,
                    alpha=alpha,
                    thresholds=(infl_threshold, resp_threshold),
                    unit=unit,
                    has_context=s.has_context,
                    has_counterfactuals=s.has_cic,
                )
            )
    return pd.DataFrame(rows)


def _pair(
    k: str,
    j: str,
    *,
    influence: dict[str, Any] | None,
    coordination: dict[str, Any] | None,
    grounding: dict[str, Any] | None,
    conditional: dict[str, Any] | None,
    kind: str,
    alpha: float,
    thresholds: tuple[float, float],
    unit: str,
    has_context: bool,
    has_counterfactuals: bool,
) -> dict[str, Any]:
    """The conclusion of one ordered pair (see the module docstring for the order)."""
    nan = float("nan")
    figures: dict[str, Any] = dict.fromkeys(_FIGURES, nan)
    found = _Found(min_text=f"min effect {_fmt(thresholds[0])} nats")
    if influence is not None:
        _read_causal(influence, found, figures, thresholds, unit, has_counterfactuals)
    found.has_conditional = conditional is not None
    if conditional is not None and not np.isfinite(float(conditional["value"])):
        conditional = None  # no step with both a message and a context: nothing to read
    tests = (
        (coordination, "coordination", f"{kind} coordination", ", observational"),
        (grounding, "grounded_information", "grounded information I(m; g)", ""),
        (conditional, "conditional_coordination", "conditional coordination I(m; a | g)", ""),
    )
    for row, name, label, note in tests:
        if row is not None:
            found.observed[name] = _observational(row, label, note, alpha=alpha, unit=unit)
            figures[name], figures[_Q_OF[name]] = row["value"], row["q_value"]
    word, evidence = _word(
        found,
        causal=influence is not None,
        has_context=has_context,
        has_counterfactuals=has_counterfactuals,
    )
    return {"influencer": k, "influencee": j, "conclusion": word, "evidence": evidence, **figures}


#: The figure columns of a conclusion, NaN where the table behind them is missing.
_FIGURES = (
    "influence",
    "influence_ci_low",
    "influence_ci_high",
    "responsiveness",
    "responsiveness_ci_low",
    "responsiveness_ci_high",
    "coordination",
    "coordination_q",
    "grounded_information",
    "grounded_q",
    "conditional_coordination",
    "conditional_q",
)
#: The q-value column of each observational figure.
_Q_OF = {
    "coordination": "coordination_q",
    "grounded_information": "grounded_q",
    "conditional_coordination": "conditional_q",
}


def _observational(
    row: dict[str, Any], label: str, note: str, *, alpha: float, unit: str
) -> tuple[bool, str]:
    """Whether an observational measure (a row with ``value`` and ``q_value``) is significant
    at FDR ``alpha``, and its text."""
    ok = significant(row["q_value"], row["value"], alpha=alpha, floor=NOISE_FLOOR_NATS)
    return ok, f"{label} {_fmt(row['value'])} {unit} (q = {_fmt(row['q_value'])}{note})"


@dataclass
class _Found:
    """What the tables say of one pair: the causal decisions and texts, and each observational
    measure's (significant, text) by figure name."""

    min_text: str
    influences: bool = False
    responds: bool = False
    infl_text: str = ""
    resp_text: str = ""
    observed: dict[str, tuple[bool, str]] = field(default_factory=dict)
    has_conditional: bool = False  # a conditional-coordination row, tested or not

    def test(self, name: str) -> tuple[bool, str]:
        return self.observed.get(name, (False, ""))


def _read_causal(
    influence: dict[str, Any],
    found: _Found,
    figures: dict[str, Any],
    thresholds: tuple[float, float],
    unit: str,
    has_counterfactuals: bool,
) -> None:
    """The influence test and (with counterfactual logits) the responsiveness test of a pair."""
    infl_threshold, resp_threshold = thresholds
    for name in ("influence", "responsiveness"):
        for suffix in ("", "_ci_low", "_ci_high"):
            figures[name + suffix] = influence[name + suffix]
    found.influences = above_min_effect(
        influence["influence_ci_low"], influence["influence"], infl_threshold
    )[0]
    found.infl_text = _interval(influence, "influence", "nats")
    if has_counterfactuals and np.isfinite(float(influence["responsiveness"])):
        found.responds = above_min_effect(
            influence["responsiveness_ci_low"], influence["responsiveness"], resp_threshold
        )[0]
        found.resp_text = _interval(influence, "responsiveness", unit)


def _word(
    found: _Found, *, causal: bool, has_context: bool, has_counterfactuals: bool
) -> tuple[str, str]:
    """The conclusion word and its evidence, in the order of the module docstring; ``causal``:
    the policies (a stored influence) say whether j responds, so they decide."""
    infl_text, resp_text, min_text = found.infl_text, found.resp_text, found.min_text
    associated, coord_text = found.test("coordination")
    grounded, ground_text = found.test("grounded_information")
    conditioned, cond_text = found.test("conditional_coordination")
    pairs = ((resp_text, found.responds), (infl_text, found.influences))
    uses = [f"{t} > {min_text}" for t, ok in pairs if ok]
    if not causal and conditioned:
        uses.append(cond_text)
    if has_context and grounded and uses:
        return "communicates (grounded)", f"{ground_text}; j uses it: " + "; ".join(uses)
    if found.influences:
        evidence = f"{infl_text} > {min_text} (information in k's choice beyond k's state)"
        return "influences", evidence + (f"; {resp_text}" if resp_text else "")
    if found.responds:
        return "responds", (
            f"{resp_text} > {min_text}, but {infl_text} is not: j follows k's value, k's "
            f"choice adds little beyond its state"
        )
    if associated and (has_counterfactuals or has_context):
        why = []
        if has_counterfactuals and causal:
            why.append(f"j does not respond to k: {resp_text or infl_text} (<= {min_text})")
        if has_context and found.has_conditional and not conditioned:
            why.append(f"the context explains it: {cond_text}")
        evidence = f"{coord_text}, but " + "; ".join(why or ["no causal effect is detected"])
        return "common cause suspected", evidence
    if associated:
        return "associated (cause unknown)", (
            f"{coord_text}; without counterfactual logits or a context nothing tells influence "
            f"from a common cause"
        )
    parts = [t for t in (infl_text, resp_text, coord_text, cond_text) if t]
    evidence = "; ".join(parts) if parts else "no test could be run"
    if infl_text or resp_text:
        evidence += f" (causal quantities <= {min_text})"
    return "nothing detectable", evidence


def headline(table: pd.DataFrame) -> list[str]:
    """The conclusions as sentences, one per ordered pair (the opening of the report).

    Examples
    --------
    >>> frame = pd.DataFrame({"influencer": ["a"], "influencee": ["b"],
    ...                       "conclusion": ["influences"], "evidence": ["influence 0.1"]})
    >>> headline(frame)
    ['a -> b: influences (influence 0.1)']
    """
    return [
        f"{r.influencer} -> {r.influencee}: {r.conclusion} ({r.evidence})"
        for r in table.itertuples()
    ]
