"""Extreme and malformed arguments to the public functions: every one is a typed error.

Non-finite bases, float and negative counts, empty inputs and NaN data go through
:mod:`causal_influence.validation` at the top of each entry point; a wrong value returned
without an error is a *silently wrong* case of the probe.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

import causal_influence as ci
from causal_influence.errors import CausalInfluenceError
from causal_influence.trajectory import Trajectory

NAN, INF = float("nan"), float("inf")
BAD_BASES = [NAN, INF, -INF, 0, 1, -2.0, "2", True, np.float64(NAN)]
BAD_COUNTS = [2.7, 10.0, -1, 0, NAN, INF, True, "10", None]

CF = np.array([[0.0, -np.inf], [-np.inf, 0.0]])
PRIOR = np.log([0.75, 0.25])
LABELS = np.array([0, 1, 1, 0, 1, 0, 0, 1] * 4)
MSGS = np.stack([LABELS, LABELS[::-1]], axis=1)


def _quiet(fn, *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` with warnings as warnings (the probe classifies results, not warnings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


BASE_TAKERS = {
    "influence": lambda base: ci.influence(CF, PRIOR, [0, 1], base=base),
    "expected_influence": lambda base: ci.expected_influence(CF, PRIOR, base=base),
    "kl_divergence": lambda base: ci.kl_divergence(PRIOR, PRIOR[::-1], base=base),
    "js_divergence": lambda base: ci.js_divergence(PRIOR, PRIOR[::-1], base=base),
    "divergence": lambda base: ci.divergence(PRIOR, PRIOR[::-1], base=base),
    "pointwise_mutual_information": lambda base: ci.pointwise_mutual_information(
        PRIOR, PRIOR[::-1], 0, base=base
    ),
    "entropy": lambda base: ci.entropy(LABELS, base=base),
    "mutual_information": lambda base: ci.mutual_information(LABELS, LABELS, base=base),
    "conditional_mutual_information": lambda base: ci.conditional_mutual_information(
        LABELS, LABELS, LABELS[::-1], base=base
    ),
    "speaker_consistency": lambda base: ci.speaker_consistency(
        MSGS, MSGS, definition="mi", base=base
    ),
    "instantaneous_coordination": lambda base: ci.instantaneous_coordination(MSGS, MSGS, base=base),
    "causal_influence_of_communication": lambda base: ci.causal_influence_of_communication(
        np.eye(2), np.full(2, 0.5), base=base
    ),
    "permutation_test": lambda base: ci.permutation_test(
        LABELS, LABELS, n_resamples=9, rng=0, base=base
    ),
}


@pytest.mark.parametrize("name", sorted(BASE_TAKERS))
def test_bad_bases_are_typed_errors(probe, name: str) -> None:
    for base in BAD_BASES:
        probe.error(f"{name}(base={base!r})", _quiet, BASE_TAKERS[name], base)
    probe.check()


COUNT_TAKERS = {
    "permutation_test.n_resamples": lambda n: ci.permutation_test(
        LABELS, LABELS, n_resamples=n, rng=0
    ),
    "permutation_test_counts.n_resamples": lambda n: ci.permutation_test_counts(
        np.array([[5, 1], [1, 5]]), n_resamples=n, rng=0
    ),
    "bootstrap_ci.n_resamples": lambda n: ci.bootstrap_ci(
        np.mean, np.arange(10.0), n_resamples=n, rng=0
    ),
    "speaker_consistency.num_symbols": lambda n: ci.speaker_consistency(
        MSGS, MSGS, definition="mi", num_symbols=n
    ),
    "speaker_consistency.num_actions": lambda n: ci.speaker_consistency(
        MSGS, MSGS, definition="jaques", num_actions=n
    ),
    "instantaneous_coordination.num_symbols": lambda n: ci.instantaneous_coordination(
        MSGS, MSGS, num_symbols=n
    ),
    "instantaneous_coordination.lag": lambda n: ci.instantaneous_coordination(MSGS, MSGS, lag=n),
    "context_independence.num_symbols": lambda n: ci.context_independence(
        MSGS, MSGS, num_symbols=n
    ),
}

# None is a valid value of the optional sizes (inferred from the data); lag=0 is valid.
VALID = {
    "speaker_consistency.num_symbols": [None],
    "speaker_consistency.num_actions": [None],
    "instantaneous_coordination.num_symbols": [None],
    "context_independence.num_symbols": [None],
    "instantaneous_coordination.lag": [0],
}


@pytest.mark.parametrize("name", sorted(COUNT_TAKERS))
def test_bad_counts_are_typed_errors(probe, name: str) -> None:
    for value in BAD_COUNTS:
        if any(value is v or (type(value) is type(v) and value == v) for v in VALID.get(name, [])):
            continue
        probe.error(f"{name}={value!r}", _quiet, COUNT_TAKERS[name], value)
    probe.check()


def test_empty_and_non_finite_data(probe) -> None:
    empty = np.array([], dtype=int)
    cases = {
        "bootstrap_ci(empty)": lambda: ci.bootstrap_ci(np.mean, np.array([]), rng=0),
        "bootstrap_ci(NaN data)": lambda: ci.bootstrap_ci(np.mean, np.array([1.0, NAN]), rng=0),
        "bootstrap_ci(inf data)": lambda: ci.bootstrap_ci(np.mean, np.array([1.0, INF]), rng=0),
        "bootstrap_ci(confidence nan)": lambda: ci.bootstrap_ci(
            np.mean, np.arange(5.0), confidence_level=NAN, rng=0
        ),
        "bootstrap_ci(groups with NaN)": lambda: ci.bootstrap_ci(
            np.mean, np.arange(4.0), groups=[0.0, NAN, 1.0, 1.0], rng=0
        ),
        "permutation_test(empty)": lambda: ci.permutation_test(empty, empty, n_resamples=9),
        "mutual_information(empty)": lambda: ci.mutual_information(empty, empty),
        "entropy(empty)": lambda: ci.entropy(empty),
        "entropy(NaN labels)": lambda: ci.entropy(np.array([0.0, NAN])),
        "mutual_information(inf labels)": lambda: ci.mutual_information(
            np.array([0.0, INF]), np.array([0, 1])
        ),
        "speaker_consistency(empty)": lambda: ci.speaker_consistency(
            np.zeros((0, 2), int), np.zeros((0, 2), int), definition="mi"
        ),
        "instantaneous_coordination(empty)": lambda: ci.instantaneous_coordination(
            np.zeros((0, 2), int), np.zeros((0, 2), int)
        ),
        "social_outcomes(NaN reward)": lambda: ci.social_outcomes(np.array([[1.0, NAN]])),
        "social_outcomes(inf reward)": lambda: ci.social_outcomes(np.array([[1.0, INF]])),
        "social_outcomes(empty)": lambda: ci.social_outcomes(np.zeros((0, 2))),
        "gini(NaN)": lambda: ci.gini(np.array([1.0, NAN])),
        "causal_influence_of_communication(NaN)": lambda: ci.causal_influence_of_communication(
            np.array([[NAN, 1.0], [0.5, 0.5]]), np.full(2, 0.5)
        ),
        "influence(NaN logits)": lambda: ci.influence(
            np.array([[NAN, 0.0], [0.0, 0.0]]), PRIOR, [0, 1]
        ),
        "influential_moments(NaN)": lambda: ci.influential_moments(np.array([[1.0, NAN]])),
        "reward_from_pairwise(NaN)": lambda: ci.reward_from_pairwise(np.full((2, 2, 2), NAN)),
        "concat(empty)": lambda: ci.concat([]),
    }
    for case, fn in cases.items():
        probe.error(case, _quiet, fn)
    probe.check()


def _pair(rewards: Any) -> dict[str, Any]:
    return {"actions": [[0, 1], [1, 0]], "rewards": rewards, "num_actions": 2}


def test_non_finite_rewards_rejected_at_the_boundary(probe) -> None:
    """A reward of NaN or +-inf is refused where data enters, naming the step and agent."""
    for value in (NAN, INF, -INF, 1e309):
        rewards = [[0.0, 1.0], [value, 0.0]]
        probe.error(f"Trajectory(reward={value})", Trajectory, **_pair(rewards), names="agent_0")
        probe.error(
            f"Trajectory.from_arrays(reward={value})",
            Trajectory.from_arrays,
            {"actions": np.array([[0, 1], [1, 0]]), "rewards": np.array(rewards)},
            num_actions=2,
            names="step 1",
        )
        frame = pd.DataFrame(
            {
                "episode": [0, 0, 0, 0],
                "t": [0, 0, 1, 1],
                "agent": [0, 1, 0, 1],
                "action": [0, 1, 1, 0],
                "reward": [0.0, 1.0, value, 0.0],
            }
        )
        probe.error(
            f"Trajectory.from_dataframe(reward={value})",
            Trajectory.from_dataframe,
            frame,
            num_actions=2,
            names="row 2",
        )
    # Rewards left out entirely (all NaN: "not recorded") stay allowed: actions-only data.
    probe.same(
        "all-NaN rewards mean 'not recorded'",
        lambda: Trajectory(**_pair([[NAN, NAN], [NAN, NAN]])).num_steps,
        2,
    )
    probe.check()


def test_non_finite_logits_and_influence(probe) -> None:
    base = {"actions": [[0, 1], [1, 0]], "rewards": [[0.0, 1.0], [1.0, 0.0]]}
    for name, shape in (("logits", (2, 2, 2)), ("message_logits", (2, 2, 2))):
        for value in (NAN, INF):
            arr = np.zeros(shape)
            arr[1, 1, 0] = value
            extra: dict[str, Any] = {name: arr}
            if name == "message_logits":
                extra["messages"] = [[0, 1], [1, 0]]
            probe.error(
                f"{name}={value}", Trajectory, **base, **extra, num_actions=2, names="agent_1"
            )
    for value in (NAN, INF, -INF):
        arr = np.zeros((2, 2, 2))
        arr[1, 0, 1] = value
        probe.error(
            f"influence={value}", Trajectory, **base, influence=arr, num_actions=2, names="step 1"
        )
    probe.check()


def test_analysis_options(probe, tmp_path) -> None:
    from analysis.dataset import summarize
    from analysis.graph import influence_graph
    from analysis.stats import analyze, influence_table

    traj = _small()
    for case, kwargs in {
        "n_bootstrap=2.7": {"n_bootstrap": 2.7},
        "n_bootstrap=-1": {"n_bootstrap": -1},
        "n_permutations=1.5": {"n_permutations": 1.5},
        "confidence_level=nan": {"confidence_level": NAN},
        "max_units=0": {"max_units": 0},
        "max_units=2.5": {"max_units": 2.5},
        "lag=-1": {"lag": -1},
        "lag=1.5": {"lag": 1.5},
        "rng=-1": {"rng": -1},
        "visible_only without visibility": {"visible_only": True},
    }.items():
        data = traj if case != "visible_only without visibility" else _small(visible=False)
        probe.error(
            f"analyze({case})",
            _quiet,
            analyze,
            data,
            **{"n_bootstrap": 5, "n_permutations": 5, "progress": False, **kwargs},
        )
    summary = _quiet(summarize, traj, progress=False)
    table = _quiet(influence_table, summary, n_bootstrap=5, n_permutations=5, rng=0, progress=False)
    for case, kwargs in {
        "alpha=nan": {"alpha": NAN},
        "alpha=1.5": {"alpha": 1.5},
        "min_effect=nan": {"min_effect": NAN},
        "min_effect=inf": {"min_effect": INF},
    }.items():
        probe.error(f"influence_graph({case})", influence_graph, table, **kwargs)
    probe.check()


def test_write_shards_options(probe, tmp_path) -> None:
    traj = _small()
    for i, value in enumerate((0, -1, 1.5, NAN, True)):
        probe.error(
            f"write_shards(episodes_per_shard={value!r})",
            ci.write_shards,
            traj,
            tmp_path / f"d{i}",
            episodes_per_shard=value,
        )
    probe.check()


def test_train_config_values(probe) -> None:
    from agents.config import TrainConfig

    for field, value in (
        ("lr", NAN),
        ("lr", -1.0),
        ("lr", INF),
        ("seed", -1),
        ("seed", 1.5),
        ("gamma", NAN),
        ("entropy_coef", NAN),
        ("influence_coef", NAN),
        ("num_envs", 0),
        ("num_envs", 2.5),
        ("total_env_steps", -5),
        ("max_grad_norm", NAN),
    ):
        extra = {"setting": "basic"} if field == "influence_coef" else {}
        probe.error(f"TrainConfig({field}={value})", TrainConfig, **{field: value}, **extra)
    probe.check()


def _small(*, visible: bool = True) -> Trajectory:
    rng = np.random.default_rng(3)
    t_, n = 60, 3
    return Trajectory(
        actions=rng.integers(0, 3, (t_, n)),
        rewards=rng.normal(size=(t_, n)),
        episode_ids=np.repeat(np.arange(6), 10),
        influence=rng.random((t_, n, n)),
        visible=rng.random((t_, n, n)) < 0.5 if visible else None,
        num_actions=3,
        extra={"influence_alignment": "same_step"},
    )


def test_typed_errors_are_value_or_type_errors() -> None:
    """The probe's 'typed' errors keep the builtin a caller without this package catches."""
    assert issubclass(CausalInfluenceError, Exception)
    with pytest.raises(ValueError, match="base"):
        ci.entropy(LABELS, base=NAN)
