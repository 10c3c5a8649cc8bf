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
>>> import numpy as np
>>> from analysis.stats import analyze
>>> rng = np.random.default_rng(0)
>>> actions = rng.integers(0, 2, size=(2000, 2))
>>> actions[1:, 1] = actions[:-1, 0]                 # agent 1 repeats agent 0's last action
>>> result = analyze({"actions": actions, "episode_ids": np.repeat(np.arange(20), 100)},
...                  n_bootstrap=100, n_permutations=100, rng=0)
>>> result.conclusions()[["influencer", "influencee", "conclusion"]]
  influencer influencee                  conclusion
0    agent_0    agent_1  associated (cause unknown)
1    agent_1    agent_0          nothing detectable
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

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


def _observational_kind(result: AnalysisResult) -> str:
    """The coordination family that tests k's variable: symbols when the influence is of
    messages (or, without stored influence, whenever there are messages)."""
    variable = result.summary.variable
    if result.summary.has_messages and variable in (None, "messages"):
        return "symbol/action"
    return "action/action"


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
    kind = _observational_kind(result)
    coordination = result.coordination
    coordination = coordination[(coordination["kind"] == kind) & (coordination["subset"] == "all")]
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
    infl_threshold, resp_threshold = thresholds
    nan = float("nan")
    figures: dict[str, Any] = {
        "influence": nan,
        "influence_ci_low": nan,
        "influence_ci_high": nan,
        "responsiveness": nan,
        "responsiveness_ci_low": nan,
        "responsiveness_ci_high": nan,
        "coordination": nan,
        "coordination_q": nan,
        "grounded_information": nan,
        "grounded_q": nan,
        "conditional_coordination": nan,
        "conditional_q": nan,
    }
    influences = responds = False
    infl_text = resp_text = ""
    if influence is not None:
        for name in ("influence", "responsiveness"):
            for suffix in ("", "_ci_low", "_ci_high"):
                figures[name + suffix] = influence[name + suffix]
        influences = above_min_effect(
            influence["influence_ci_low"], influence["influence"], infl_threshold
        )[0]
        infl_text = _interval(influence, "influence", "nats")
        if has_counterfactuals and np.isfinite(float(influence["responsiveness"])):
            responds = above_min_effect(
                influence["responsiveness_ci_low"], influence["responsiveness"], resp_threshold
            )[0]
            resp_text = _interval(influence, "responsiveness", unit)
    associated = False
    coord_text = ""
    if coordination is not None:
        figures["coordination"] = coordination["value"]
        figures["coordination_q"] = coordination["q_value"]
        associated = significant(
            coordination["q_value"], coordination["value"], alpha=alpha, floor=NOISE_FLOOR_NATS
        )
        coord_text = (
            f"{kind} coordination {_fmt(coordination['value'])} {unit} "
            f"(q = {_fmt(coordination['q_value'])}, observational)"
        )
    grounded = conditioned = False
    ground_text = cond_text = ""
    if grounding is not None:
        figures["grounded_information"] = grounding["value"]
        figures["grounded_q"] = grounding["q_value"]
        grounded = significant(
            grounding["q_value"], grounding["value"], alpha=alpha, floor=NOISE_FLOOR_NATS
        )
        ground_text = (
            f"grounded information I(m; g) {_fmt(grounding['value'])} {unit} "
            f"(q = {_fmt(grounding['q_value'])})"
        )
    if conditional is not None and np.isfinite(float(conditional["value"])):
        figures["conditional_coordination"] = conditional["value"]
        figures["conditional_q"] = conditional["q_value"]
        conditioned = significant(
            conditional["q_value"], conditional["value"], alpha=alpha, floor=NOISE_FLOOR_NATS
        )
        cond_text = (
            f"conditional coordination I(m; a | g) {_fmt(conditional['value'])} {unit} "
            f"(q = {_fmt(conditional['q_value'])})"
        )
    min_text = f"min effect {_fmt(infl_threshold)} nats"
    causal = influence is not None  # the policies say whether j responds: they decide
    uses = [f"{t} > {min_text}" for t, ok in ((resp_text, responds), (infl_text, influences)) if ok]
    if not causal and conditioned:
        uses.append(cond_text)
    if has_context and grounded and uses:
        word = "communicates (grounded)"
        evidence = f"{ground_text}; j uses it: " + "; ".join(uses)
    elif influences:
        word = "influences"
        evidence = f"{infl_text} > {min_text} (information in k's choice beyond k's state)"
        if resp_text:
            evidence += f"; {resp_text}"
    elif responds:
        word = "responds"
        evidence = (
            f"{resp_text} > {min_text}, but {infl_text} is not: j follows k's value, k's "
            f"choice adds little beyond its state"
        )
    elif associated and (has_counterfactuals or has_context):
        word = "common cause suspected"
        why = []
        if has_counterfactuals and influence is not None:
            why.append(f"j does not respond to k: {resp_text or infl_text} (<= {min_text})")
        if has_context and conditional is not None and not conditioned:
            why.append(f"the context explains it: {cond_text}")
        evidence = f"{coord_text}, but " + "; ".join(why or ["no causal effect is detected"])
    elif associated:
        word = "associated (cause unknown)"
        evidence = (
            f"{coord_text}; without counterfactual logits or a context nothing tells influence "
            f"from a common cause"
        )
    else:
        word = "nothing detectable"
        parts = [t for t in (infl_text, resp_text, coord_text, cond_text) if t]
        evidence = "; ".join(parts) if parts else "no test could be run"
        if infl_text or resp_text:
            evidence += f" (causal quantities <= {min_text})"
    return {"influencer": k, "influencee": j, "conclusion": word, "evidence": evidence, **figures}


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
