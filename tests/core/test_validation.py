"""Every error message of the core's public entry points, pinned: type and text.

One parametrised test per entry point (as SciPy's ``test_bootstrap_iv`` pins the messages of
``_bootstrap_iv``). Each entry point checks its arguments in one validation function at its
top, built from :mod:`causal_influence.validation`; a message says what was expected, what came
in and how to fix it, and any change to one shows up here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
import torch

from causal_influence import validation as v
from causal_influence.communication import (
    causal_influence_of_communication,
    context_independence,
    influential_moments,
    instantaneous_coordination,
    lagged_pairs,
    speaker_consistency,
    speaker_consistency_from_counts,
)
from causal_influence.counterfactual import expected_influence, influence, marginal_policy
from causal_influence.divergences import (
    DIVERGENCES,
    Divergence,
    divergence,
    js_divergence,
    kl_divergence,
    pointwise_mutual_information,
    register_divergence,
    total_variation,
)
from causal_influence.engine import pairwise_influence
from causal_influence.errors import (
    ConfigError,
    DTypeError,
    InvalidDistributionError,
    ModelError,
    ShapeError,
)
from causal_influence.information import (
    bootstrap_ci,
    conditional_mutual_information,
    contingency_table,
    entropy,
    expected_mutual_information,
    g_test,
    mutual_information,
    mutual_information_from_counts,
    normalized_mutual_information,
    permutation_test,
    permutation_test_counts,
    register_estimator,
    uncertainty_coefficient,
    variation_of_information,
)
from causal_influence.models import PyroModel, RecurrentTorchModel, TabularModel, TorchModel
from causal_influence.registry import Registry
from causal_influence.rewards import credited_influence, influence_reward, reward_from_pairwise
from causal_influence.social import social_outcomes

# ------------------------------------------------------------------------------ shared inputs

Z2 = np.zeros(2)
CF = np.zeros((3, 2))  # (K, A) counterfactual logits
PRIOR = np.zeros(3)  # (K,)
NO_EXPECTATION = Divergence(
    "at_action", lambda log_p, log_q, actual: log_p[..., 0], needs_actual=True
)
TAB_CF = np.zeros((3, 2, 2, 2, 2))  # (T, N, N, K, A)
TAB_PRIOR = np.zeros((3, 2, 2))
TAB_VALUES = np.zeros((3, 2), dtype=np.int64)
MODEL = TabularModel(TAB_CF, TAB_PRIOR, TAB_VALUES)
MOA = TabularModel(TAB_CF, TAB_PRIOR, TAB_VALUES, predicts_next_step=True)
CF2 = np.zeros((4, 2, 2, 2, 2))  # a batch of T = 4 steps for the reward helper
LG = np.zeros((4, 2, 2))
AC = np.zeros((4, 2), dtype=np.int64)
M2 = [[0, 1], [1, 0]]
ACTS = torch.zeros(3, 2, dtype=torch.long)
PRI = torch.zeros(3, 2, 2)


class BadModel:
    """A joint policy model whose arrays have the shapes it is given (for ModelError)."""

    num_agents = 2
    num_steps = 3
    predicts_next_step = False

    def __init__(self, cf_shape: tuple[int, ...], values: np.ndarray | None = None) -> None:
        self.cf_shape = cf_shape
        self.values = np.zeros((3, 2), dtype=np.int64) if values is None else values

    def counterfactual_logits(self, influencers: Sequence[int], influencees: Sequence[int]) -> Any:
        return np.zeros(self.cf_shape)

    def influencer_logits(self, influencers: Sequence[int]) -> Any:
        return np.zeros((3, len(influencers), 2))

    def influencer_values(self, influencers: Sequence[int]) -> Any:
        return self.values[:, list(influencers)]


def ECHO(features: Any, inputs: Any) -> Any:
    return inputs


def STEP(features: Any, inputs: Any, state: Any) -> Any:
    return inputs, state


def NOTHING() -> None:
    return None


def pinned(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    """``call()`` raises exactly ``error`` with exactly ``message``."""
    with pytest.raises(error, match=f"^{re.escape(message)}$") as info:
        call()
    assert type(info.value) is error


CASES = ("call", "error", "message")


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: v.as_labels([0, 1.5], "x"),
            DTypeError,
            (
                "x: expected integer labels (whole floats such as 3.0 are accepted); got "
                "1.5 at index 1 in numpy.ndarray of shape (2,) and dtype float64; pass "
                "whole numbers (e.g. numpy.asarray(x, dtype=int))"
            ),
            id="non-integral",
        ),
        pytest.param(
            lambda: v.as_labels(np.array([[0.0, 1.0], [np.nan, 2.0]]), "x"),
            DTypeError,
            (
                "x: expected integer labels (whole floats such as 3.0 are accepted); got "
                "nan at index (1, 0) in numpy.ndarray of shape (2, 2) and dtype float64; "
                "pass whole numbers (e.g. numpy.asarray(x, dtype=int))"
            ),
            id="nan-names-index",
        ),
        pytest.param(
            lambda: v.as_labels(torch.tensor([0.0, float("inf")]), "x"),
            DTypeError,
            (
                "x: expected integer labels (whole floats such as 3.0 are accepted); got "
                "inf at index 1 in torch.Tensor of shape (2,) and dtype float32; pass "
                "whole numbers (e.g. tensor.long())"
            ),
            id="inf-torch",
        ),
        pytest.param(
            lambda: v.as_labels([True, False], "x"),
            DTypeError,
            (
                "x: expected integer labels; got numpy.ndarray of shape (2,) and dtype "
                "bool; booleans are masks, not labels: convert them explicitly "
                "(x.astype(int)) if they are labels"
            ),
            id="bool",
        ),
        pytest.param(
            lambda: v.as_labels(torch.tensor([True]), "x"),
            DTypeError,
            (
                "x: expected integer labels; got torch.Tensor of shape (1,) and dtype "
                "bool; booleans are masks, not labels: convert them explicitly "
                "(tensor.long()) if they are labels"
            ),
            id="bool-torch",
        ),
        pytest.param(
            lambda: v.as_labels(["a"], "x"),
            DTypeError,
            (
                "x: expected integer labels; got numpy.ndarray of shape (1,) and dtype "
                "<U1; pass integer labels (e.g. numpy.asarray(x, dtype=int), or relabel "
                "with numpy.unique(x, return_inverse=True)[1])"
            ),
            id="strings",
        ),
        pytest.param(
            lambda: v.as_labels([0, -2], "x"),
            DTypeError,
            (
                "x: expected non-negative integer labels; got -2 at index 1; relabel with "
                "numpy.unique(x, return_inverse=True)[1]"
            ),
            id="negative",
        ),
        pytest.param(
            lambda: v.as_labels([[0]], "x", ndim=1),
            ShapeError,
            (
                "x: expected a 1-D array of labels; got numpy.ndarray of shape (1, 1) and "
                "dtype int64; flatten it or select one agent's column"
            ),
            id="ndim",
        ),
    ],
)
def test_as_labels(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: v.as_index([0, 3], "actual", 3),
            ShapeError,
            "actual: expected indices in [0, 3); got 3 at index 1, outside that range",
            id="out-of-range",
        ),
        pytest.param(
            lambda: v.as_index(
                [0, 3], "actual", 3, expected="values in [0, K=3)", hint="fix it", error=ModelError
            ),
            ModelError,
            ("actual: expected values in [0, K=3); got 3 at index 1, outside that range; fix it"),
            id="custom",
        ),
        pytest.param(
            lambda: v.as_index([0.5], "actual", 3),
            DTypeError,
            (
                "actual: expected integer labels (whole floats such as 3.0 are accepted); "
                "got 0.5 at index 0 in numpy.ndarray of shape (1,) and dtype float64; pass "
                "whole numbers (e.g. numpy.asarray(x, dtype=int))"
            ),
            id="non-integral",
        ),
    ],
)
def test_as_index(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: v.as_float("abc", "x"),
            DTypeError,
            (
                "x: expected an array of numbers (numpy, torch or nested lists); got str; "
                "convert it with numpy.asarray(..., dtype=float)"
            ),
            id="strings",
        ),
    ],
)
def test_as_float(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: v.check_logits([0.0, np.nan], "logits"),
            InvalidDistributionError,
            (
                "logits: expected finite logits (or -inf for masked actions); got NaN "
                "values; check the model output for NaN before computing influence"
            ),
            id="nan",
        ),
        pytest.param(
            lambda: v.check_logits([0.0, np.inf], "logits"),
            InvalidDistributionError,
            (
                "logits: expected finite logits (or -inf for masked actions); got +inf; "
                "clip the logits or give the action a large finite logit instead"
            ),
            id="posinf",
        ),
        pytest.param(
            lambda: v.check_logits([-np.inf, -np.inf], "logits"),
            InvalidDistributionError,
            (
                "logits: every entry of at least one distribution is -inf (all actions "
                "masked), which is not a distribution; leave at least one action unmasked "
                "per row"
            ),
            id="all-masked",
        ),
        pytest.param(
            lambda: v.check_logits(np.zeros(2), "logits", min_ndim=2),
            ShapeError,
            (
                "logits: expected logits with at least 2 dimension(s) and a non-empty last "
                "axis (one entry per action); got numpy.ndarray of shape (2,) and dtype "
                "float64"
            ),
            id="ndim",
        ),
        pytest.param(
            lambda: v.check_logits(["a"], "logits"),
            DTypeError,
            (
                "logits: expected an array of numbers (numpy, torch or nested lists); got "
                "list; convert it with numpy.asarray(..., dtype=float)"
            ),
            id="not-numbers",
        ),
    ],
)
def test_check_logits(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: v.check_probabilities([-0.5, 1.5], "p"),
            InvalidDistributionError,
            (
                "p: expected probabilities (finite, >= 0); got list with a negative or "
                "non-finite entry; pass probabilities, not logits"
            ),
            id="negative",
        ),
        pytest.param(
            lambda: v.check_probabilities([0.5, 0.6], "p"),
            InvalidDistributionError,
            (
                "p: expected probabilities whose distributions (last axis) sum to 1; got "
                "sums in [1.1, 1.1]; normalise it first"
            ),
            id="sum",
        ),
    ],
)
def test_check_probabilities(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: v.check_choice(
                "alignment", "same", ("same_step", "next_step"), hint="say which"
            ),
            ConfigError,
            ("alignment: expected one of ['same_step', 'next_step']; got 'same'; say which"),
            id="unknown",
        ),
    ],
)
def test_check_choice(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: v.check_positive_int("n_resamples", 0),
            ConfigError,
            "n_resamples: expected a positive integer; got 0",
            id="zero",
        ),
        pytest.param(
            lambda: v.check_positive_int("n_resamples", "many"),
            ConfigError,
            "n_resamples: expected a positive integer; got 'many'",
            id="not-a-number",
        ),
    ],
)
def test_check_positive_int(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: v.log_base(1),
            ConfigError,
            (
                "base: expected a positive number other than 1 (2 for bits, None or e for "
                "nats); got 1"
            ),
            id="one",
        ),
        pytest.param(
            lambda: v.log_base(-2.0),
            ConfigError,
            (
                "base: expected a positive number other than 1 (2 for bits, None or e for "
                "nats); got -2.0"
            ),
            id="negative",
        ),
        pytest.param(
            lambda: v.log_base("2"),
            ConfigError,
            (
                "base: expected a positive number other than 1 (2 for bits, None or e for "
                "nats); got '2'"
            ),
            id="string",
        ),
    ],
)
def test_log_base(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: v.resolve_rng("seed"),
            DTypeError,
            ("rng: expected an int seed, numpy.random.Generator, torch.Generator or None; got str"),
            id="string",
        ),
    ],
)
def test_resolve_rng(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: v.check_shape(
                np.zeros((2, 3)), "actions", (2, None, 4), dims="(T, N, X)", hint="pass X"
            ),
            ShapeError,
            (
                "actions: expected shape (T, N, X) = (2, ?, 4); got numpy.ndarray of shape "
                "(2, 3) and dtype float64; pass X"
            ),
            id="wildcard",
        ),
        pytest.param(
            lambda: v.check_shape(np.zeros(3), "ids", (4,)),
            ShapeError,
            ("ids: expected shape (4,); got numpy.ndarray of shape (3,) and dtype float64"),
            id="one-dim",
        ),
    ],
)
def test_check_shape(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: v.check_same_length(x=[0, 1], y=[0]),
            ShapeError,
            (
                "expected samples of equal length; got lengths {'x': 2, 'y': 1}; pair each "
                "sample of one variable with one sample of the other"
            ),
            id="lengths",
        ),
    ],
)
def test_check_same_length(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: v.as_mask(np.ones((3, 2)), "visible", (3, 2, 2), dims="(T, N, N)"),
            ShapeError,
            (
                "visible: expected a bool array of shape (T, N, N) = (3, 2, 2); got "
                "numpy.ndarray of shape (3, 2) and dtype float64"
            ),
            id="shape",
        ),
        pytest.param(
            lambda: v.as_mask(np.ones(3), "dones", (3,)),
            DTypeError,
            (
                "dones: expected booleans (or 0/1); got numpy.ndarray of shape (3,) and "
                "dtype float64"
            ),
            id="dtype",
        ),
        pytest.param(
            lambda: v.as_mask(np.array([0, 2, 1]), "dones", (3,)),
            DTypeError,
            "dones: expected booleans (or 0/1); got 2 at index 1",
            id="not-0-1",
        ),
    ],
)
def test_as_mask(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: v.as_bool(np.array([[1, 0], [0, 3]]), "visible"),
            DTypeError,
            "visible: expected booleans (or 0/1); got 3 at index (1, 1)",
            id="not-0-1",
        ),
        pytest.param(
            lambda: v.as_bool(["a"], "visible"),
            DTypeError,
            "visible: expected booleans (or 0/1); got numpy.ndarray of shape (1,) and dtype <U1",
            id="dtype",
        ),
        pytest.param(
            lambda: v.as_bool([[1], [0, 1]], "visible"),
            ShapeError,
            None,
            id="ragged",
        ),
    ],
)
def test_as_bool(call: Callable[[], Any], error: type[Exception], message: str | None) -> None:
    if message is None:
        with pytest.raises(error, match="visible: could not read the input as a rectangular"):
            call()
    else:
        pinned(call, error, message)


def test_located_errors_and_episode_numbering() -> None:
    from causal_influence.errors import error_location

    with pytest.raises(DTypeError) as info:
        v.as_labels(np.array([[0.0, 1.0], [np.nan, 2.0]]), "actions")
    assert error_location(info.value) == ("actions", (1, 0))
    with pytest.raises(DTypeError) as info:
        v.as_bool([0, 1, 5], "visible")
    assert error_location(info.value) == ("visible", (2,))
    starts = v.as_episode_starts(6, dones=[0, 1, 0, 0, 1, 1])
    assert v.episode_numbers(starts).tolist() == [0, 0, 1, 1, 1, 2]
    assert v.steps_in_episode(starts).tolist() == [0, 1, 0, 1, 2, 0]
    assert v.episode_numbers(np.zeros((3, 2), bool)).tolist() == [[0, 0]] * 3
    assert v.episode_numbers(np.zeros(0, bool)).tolist() == []


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: v.as_episode_starts(3, episode_starts=[1, 0, 0], dones=[0, 0, 1]),
            ConfigError,
            (
                "episode_starts and dones: pass one of them (dones[t] True = step t ends "
                "an episode; episode_starts[t] True = step t begins one; episode_ids[t] = "
                "the episode of step t)"
            ),
            id="two-given",
        ),
        pytest.param(
            lambda: v.as_episode_starts(3, episode_ids=[0, 0]),
            ShapeError,
            (
                "episode_ids: expected shape (T,) = (3,); got numpy.ndarray of shape (2,) "
                "and dtype int64; one id per step"
            ),
            id="ids-shape",
        ),
        pytest.param(
            lambda: v.as_episode_starts((3, 2), dones=np.zeros(3, bool)),
            ShapeError,
            (
                "dones: expected a bool array of shape (T, *B) = (3, 2); got numpy.ndarray "
                "of shape (3,) and dtype bool"
            ),
            id="dones-batch-shape",
        ),
    ],
)
def test_as_episode_starts(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: v.next_step_valid([True, False], lag=-1),
            ConfigError,
            "lag: expected a non-negative integer; got -1",
            id="negative-lag",
        ),
    ],
)
def test_next_step_valid(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: v.as_agent_indices(0, 3, "influencers"),
            DTypeError,
            (
                "influencers: expected a sequence of agent indices or ids; got int; wrap a "
                "single agent in a list"
            ),
            id="single",
        ),
        pytest.param(
            lambda: v.as_agent_indices(["agent_5"], 3, "influencers"),
            ConfigError,
            (
                "influencers: unknown agent id 'agent_5'; known ids: ['agent_0', "
                "'agent_1', 'agent_2']"
            ),
            id="unknown-id",
        ),
        pytest.param(
            lambda: v.as_agent_indices([3], 3, "influencers"),
            ConfigError,
            "influencers: expected agent indices in [0, 3) or agent ids; got 3",
            id="index-range",
        ),
        pytest.param(
            lambda: v.as_agent_indices([0, "agent_0"], 3, "influencers"),
            ConfigError,
            ("influencers: expected a non-empty list of distinct agents; got [0, 'agent_0']"),
            id="repeated",
        ),
        pytest.param(
            lambda: v.as_agent_indices([], 3, "influencers"),
            ConfigError,
            "influencers: expected a non-empty list of distinct agents; got []",
            id="empty",
        ),
    ],
)
def test_as_agent_indices(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: Registry("colour").lookup("red"),
            ConfigError,
            "colour: expected one of []; got 'red'",
            id="unknown",
        ),
        pytest.param(
            lambda: DIVERGENCES.register(object()),
            DTypeError,
            ("divergence registry: expected an entry with a non-empty string name; got object"),
            id="no-name",
        ),
    ],
)
def test_registry(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: kl_divergence(np.zeros(2), np.zeros(3)),
            ShapeError,
            (
                "p_logits and q_logits: expected the same number of actions (last axis); "
                "got numpy.ndarray of shape (2,) and dtype float64 and numpy.ndarray of "
                "shape (3,) and dtype float64; pass both distributions over the same "
                "action set"
            ),
            id="actions",
        ),
        pytest.param(
            lambda: kl_divergence(np.zeros((2, 2)), np.zeros((3, 2))),
            ShapeError,
            (
                "p_logits and q_logits: expected leading dimensions that broadcast against "
                "each other; got numpy.ndarray of shape (2, 2) and dtype float64 and "
                "numpy.ndarray of shape (3, 2) and dtype float64; add singleton axes (e.g. "
                "x[:, None]) where one batch dimension should be shared"
            ),
            id="broadcast",
        ),
        pytest.param(
            lambda: kl_divergence(Z2, Z2, base=-1),
            ConfigError,
            (
                "base: expected a positive number other than 1 (2 for bits, None or e for "
                "nats); got -1"
            ),
            id="base",
        ),
        pytest.param(
            lambda: kl_divergence([np.nan, 0], Z2),
            InvalidDistributionError,
            (
                "p_logits: expected finite logits (or -inf for masked actions); got NaN "
                "values; check the model output for NaN before computing influence"
            ),
            id="nan",
        ),
    ],
)
def test_kl_divergence(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: js_divergence(Z2, [np.inf, 0]),
            InvalidDistributionError,
            (
                "q_logits: expected finite logits (or -inf for masked actions); got +inf; "
                "clip the logits or give the action a large finite logit instead"
            ),
            id="posinf",
        ),
        pytest.param(
            lambda: js_divergence(Z2, Z2, base=1),
            ConfigError,
            (
                "base: expected a positive number other than 1 (2 for bits, None or e for "
                "nats); got 1"
            ),
            id="base",
        ),
    ],
)
def test_js_divergence(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: total_variation(Z2, [-np.inf, -np.inf]),
            InvalidDistributionError,
            (
                "q_logits: every entry of at least one distribution is -inf (all actions "
                "masked), which is not a distribution; leave at least one action unmasked "
                "per row"
            ),
            id="all-masked",
        ),
    ],
)
def test_total_variation(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: pointwise_mutual_information(Z2, Z2, 2),
            ShapeError,
            (
                "actual: expected action indices in [0, 2); got 2, outside that range; "
                "pass the index of the influencee's realised action"
            ),
            id="range",
        ),
        pytest.param(
            lambda: pointwise_mutual_information(Z2, Z2, 0.5),
            DTypeError,
            (
                "actual: expected integer labels (whole floats such as 3.0 are accepted); "
                "got 0.5 in numpy.ndarray of shape () and dtype float64; pass whole "
                "numbers (e.g. numpy.asarray(x, dtype=int))"
            ),
            id="dtype",
        ),
        pytest.param(
            lambda: pointwise_mutual_information(np.zeros((3, 2)), np.zeros((3, 2)), [0, 1]),
            ShapeError,
            (
                "actual: expected one action index per distribution, i.e. a shape that "
                "broadcasts with the leading dimensions (3,) of p_logits and (3,) of "
                "q_logits; got numpy.ndarray of shape (2,) and dtype int64"
            ),
            id="broadcast",
        ),
        pytest.param(
            lambda: pointwise_mutual_information(Z2, Z2, None),
            ConfigError,
            (
                "actual: divergence 'pmi' is evaluated at the influencee's realised "
                "action; expected one action index per distribution; got None"
            ),
            id="missing",
        ),
    ],
)
def test_pointwise_mutual_information(
    call: Callable[[], Any], error: type[Exception], message: str
) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: divergence(Z2, Z2, kind="hellinger"),
            ConfigError,
            (
                "divergence: expected one of ['kl', 'jsd', 'pmi', 'tv']; got 'hellinger'; "
                "'kl' is the divergence of Jaques et al. 2019; a callable f(log_p, log_q) "
                "-> values is accepted too"
            ),
            id="unknown",
        ),
        pytest.param(
            lambda: divergence(Z2, Z2, kind="pmi"),
            ConfigError,
            (
                "actual: divergence 'pmi' is evaluated at the influencee's realised "
                "action; expected one action index per distribution; got None"
            ),
            id="pmi-without-actual",
        ),
        pytest.param(
            lambda: divergence(Z2, Z2, kind=lambda log_p, log_q: log_p),
            ShapeError,
            (
                "divergence '<lambda>': expected one value per distribution, shape () (the "
                "broadcast leading dimensions of log_p and log_q); got numpy.ndarray of "
                "shape (2,) and dtype float64; reduce over the last axis only"
            ),
            id="callable-shape",
        ),
    ],
)
def test_divergence(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: register_divergence("kl", lambda log_p, log_q: log_p.sum(-1)),
            ConfigError,
            (
                "divergence 'kl' is already registered; pass replace=True to replace it or "
                "choose another name"
            ),
            id="taken",
        ),
    ],
)
def test_register_divergence(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: marginal_policy(CF, np.zeros(2)),
            ShapeError,
            (
                "prior_logits: expected one entry per counterfactual value, K=3 (the rows "
                "of cf_logits, axis -2); got prior_logits numpy.ndarray of shape (2,) and "
                "dtype float64 with 2 entries for cf_logits numpy.ndarray of shape (3, 2) "
                "and dtype float64; pass the influencer's policy logits over the same K "
                "values, shape (..., K)"
            ),
            id="values",
        ),
        pytest.param(
            lambda: marginal_policy(np.zeros((4, 3, 2)), np.zeros((5, 3))),
            ShapeError,
            (
                "cf_logits and prior_logits: expected leading dimensions that broadcast; "
                "got cf_logits.shape[:-2] = (4,) and prior_logits.shape[:-1] = (5,), which "
                "do not broadcast; batch both the same way"
            ),
            id="broadcast",
        ),
        pytest.param(
            lambda: marginal_policy(np.zeros(2), np.zeros(2)),
            ShapeError,
            (
                "cf_logits: expected logits with at least 2 dimension(s) and a non-empty "
                "last axis (one entry per action); got numpy.ndarray of shape (2,) and "
                "dtype float64"
            ),
            id="ndim",
        ),
    ],
)
def test_marginal_policy(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: influence(CF, PRIOR, 3),
            ShapeError,
            (
                "actual: expected the influencer's values in [0, 3) (K = rows of "
                "cf_logits); got 3, outside that range; pass the index of the value k took"
            ),
            id="actual-range",
        ),
        pytest.param(
            lambda: influence(CF, PRIOR, 0.5),
            DTypeError,
            (
                "actual: expected integer labels (whole floats such as 3.0 are accepted); "
                "got 0.5 in numpy.ndarray of shape () and dtype float64; pass whole "
                "numbers (e.g. numpy.asarray(x, dtype=int))"
            ),
            id="actual-dtype",
        ),
        pytest.param(
            lambda: influence(np.zeros((4, 3, 2)), PRIOR, np.zeros(5, int)),
            ShapeError,
            (
                "actual: expected one influencer value per step, a shape that broadcasts "
                "with the batch shapes (4,) of cf_logits and () of prior_logits; got "
                "numpy.ndarray of shape (5,) and dtype int64, which does not broadcast; "
                "pass an array shaped like cf_logits.shape[:-2]"
            ),
            id="actual-broadcast",
        ),
        pytest.param(
            lambda: influence(CF, PRIOR, 0, divergence="KL"),
            ConfigError,
            (
                "divergence: expected one of ['kl', 'jsd', 'pmi', 'tv']; got 'KL'; 'kl' is "
                "the divergence of Jaques et al. 2019; a callable f(log_p, log_q) -> "
                "values is accepted too"
            ),
            id="divergence",
        ),
        pytest.param(
            lambda: influence(CF, PRIOR, 0, divergence="pmi"),
            ConfigError,
            (
                "influencee_action: divergence 'pmi' is evaluated at the influencee's "
                "realised action; expected one action index per step; got None"
            ),
            id="pmi-without-action",
        ),
        pytest.param(
            lambda: influence(CF, PRIOR, 0, divergence="pmi", influencee_action=2),
            ShapeError,
            (
                "influencee_action: expected the influencee's actions in [0, 2) (A = last "
                "axis of cf_logits); got 2, outside that range; pass the index of the "
                "action j took"
            ),
            id="action-range",
        ),
        pytest.param(
            lambda: influence(
                np.zeros((4, 3, 2)),
                PRIOR,
                np.zeros(4, int),
                divergence="pmi",
                influencee_action=np.zeros(5, int),
            ),
            ShapeError,
            (
                "influencee_action: expected one action index per step, a shape that "
                "broadcasts with (4,); got numpy.ndarray of shape (5,) and dtype int64"
            ),
            id="action-broadcast",
        ),
        pytest.param(
            lambda: influence(CF, PRIOR, 0, base=0),
            ConfigError,
            (
                "base: expected a positive number other than 1 (2 for bits, None or e for "
                "nats); got 0"
            ),
            id="base",
        ),
    ],
)
def test_influence(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: expected_influence(CF, PRIOR, divergence="x"),
            ConfigError,
            (
                "divergence: expected one of ['kl', 'jsd', 'pmi', 'tv']; got 'x'; 'kl' is "
                "the divergence of Jaques et al. 2019; a callable f(log_p, log_q) -> "
                "values is accepted too"
            ),
            id="divergence",
        ),
        pytest.param(
            lambda: expected_influence(CF, PRIOR, base=1),
            ConfigError,
            (
                "base: expected a positive number other than 1 (2 for bits, None or e for "
                "nats); got 1"
            ),
            id="base",
        ),
        pytest.param(
            lambda: expected_influence(CF, PRIOR, divergence=NO_EXPECTATION),
            ConfigError,
            (
                "expected_influence: divergence 'at_action' is evaluated at the realised "
                "action and its registry entry names no expectation; register it with "
                "expectation=<a divergence whose policy-weighted mean equals its "
                "expectation>"
            ),
            id="no-expectation",
        ),
    ],
)
def test_expected_influence(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: pairwise_influence(MODEL, alignment="same"),
            ConfigError,
            (
                "alignment: expected one of ['same_step', 'next_step']; got 'same'; use "
                "'same_step' for a^k_t -> a^j_t and 'next_step' for messages and MOA "
                "(a^k_t -> a^j_(t+1))"
            ),
            id="alignment",
        ),
        pytest.param(
            lambda: pairwise_influence(MODEL, alignment="same_step", divergence="l2"),
            ConfigError,
            (
                "divergence: expected one of ['kl', 'jsd', 'pmi', 'tv']; got 'l2'; 'kl' is "
                "the divergence of Jaques et al. 2019; a callable f(log_p, log_q) -> "
                "values is accepted too"
            ),
            id="divergence",
        ),
        pytest.param(
            lambda: pairwise_influence(object(), alignment="same_step"),
            DTypeError,
            (
                "model: expected a JointPolicyModel (num_agents, num_steps, "
                "predicts_next_step, counterfactual_logits, influencer_logits, "
                "influencer_values); got object"
            ),
            id="model",
        ),
        pytest.param(
            lambda: pairwise_influence(MOA, alignment="same_step"),
            ConfigError,
            (
                "alignment='same_step' was requested from a model whose rows predict the "
                "next step (predicts_next_step=True, e.g. a MOA); use alignment='next_step'"
            ),
            id="same-step-moa",
        ),
        pytest.param(
            lambda: pairwise_influence(MODEL, alignment="same_step", agent_ids=["a", "a"]),
            ConfigError,
            "agent_ids: expected 2 distinct strings; got ['a', 'a']",
            id="agent-ids",
        ),
        pytest.param(
            lambda: pairwise_influence(MODEL, alignment="same_step", influencers=[0, 2]),
            ConfigError,
            "influencers: expected agent indices in [0, 2) or agent ids; got 2",
            id="influencers",
        ),
        pytest.param(
            lambda: pairwise_influence(MODEL, alignment="same_step", visible=np.ones((3, 2))),
            ShapeError,
            (
                "visible: expected a bool array of shape (T, N, N) = (3, 2, 2); got "
                "numpy.ndarray of shape (3, 2) and dtype float64"
            ),
            id="visible",
        ),
        pytest.param(
            lambda: pairwise_influence(
                MODEL,
                alignment="next_step",
                episode_starts=np.ones(3, bool),
                dones=np.ones(3, bool),
            ),
            ConfigError,
            (
                "episode_starts and dones: pass one of them (dones[t] True = step t ends "
                "an episode; episode_starts[t] True = step t begins one; episode_ids[t] = "
                "the episode of step t)"
            ),
            id="two-boundaries",
        ),
        pytest.param(
            lambda: pairwise_influence(MODEL, alignment="next_step", dones=np.ones(4, bool)),
            ShapeError,
            (
                "dones: expected a bool array of shape (T,) = (3,); got numpy.ndarray of "
                "shape (4,) and dtype bool"
            ),
            id="dones",
        ),
        pytest.param(
            lambda: pairwise_influence(MODEL, alignment="same_step", divergence="pmi"),
            ConfigError,
            (
                "influencee_actions: divergence 'pmi' is evaluated at the influencee's "
                "realised action; expected an int array of shape (T, N); got None"
            ),
            id="pmi-without-actions",
        ),
        pytest.param(
            lambda: pairwise_influence(
                MODEL,
                alignment="same_step",
                divergence="pmi",
                influencee_actions=np.zeros((3, 3), int),
            ),
            ShapeError,
            (
                "influencee_actions: expected shape (T, N) = (3, 2); got numpy.ndarray of "
                "shape (3, 3) and dtype int64"
            ),
            id="actions-shape",
        ),
        pytest.param(
            lambda: pairwise_influence(BadModel((3, 2, 2, 2)), alignment="same_step"),
            ModelError,
            (
                "model.counterfactual_logits: expected shape (T, I, J, K, A) = (3, 2, 2, "
                "?, ?); got numpy.ndarray of shape (3, 2, 2, 2) and dtype float64; check "
                "the model's layout (models.JointPolicyModel)"
            ),
            id="model-cf",
        ),
        pytest.param(
            lambda: pairwise_influence(BadModel((3, 2, 2, 3, 2)), alignment="same_step"),
            ModelError,
            (
                "model.influencer_logits: expected shape (T, I, K) = (3, 2, 3); got "
                "numpy.ndarray of shape (3, 2, 2) and dtype float64; check the model's "
                "layout (models.JointPolicyModel)"
            ),
            id="model-prior",
        ),
        pytest.param(
            lambda: pairwise_influence(
                BadModel((3, 2, 2, 2, 2), np.full((3, 2), 2)), alignment="same_step"
            ),
            ModelError,
            (
                "model.influencer_values: expected values in [0, K=2); got 2 at index (0, "
                "0), outside that range"
            ),
            id="model-values",
        ),
    ],
)
def test_pairwise_influence(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: influence_reward(CF2, LG, AC, alignment="x"),
            ConfigError,
            (
                "alignment: expected one of ['same_step', 'next_step']; got 'x'; use "
                "'same_step' for a^k_t -> a^j_t and 'next_step' for messages and MOA "
                "(a^k_t -> a^j_(t+1))"
            ),
            id="alignment",
        ),
        pytest.param(
            lambda: influence_reward(CF2, LG, AC, alignment="same_step", divergence="l2"),
            ConfigError,
            (
                "divergence: expected one of ['kl', 'jsd', 'pmi', 'tv']; got 'l2'; 'kl' is "
                "the divergence of Jaques et al. 2019; a callable f(log_p, log_q) -> "
                "values is accepted too"
            ),
            id="divergence",
        ),
        pytest.param(
            lambda: influence_reward(CF2, LG, AC, alignment="same_step", predicts_next_step=True),
            ConfigError,
            (
                "predicts_next_step=True (a model of other agents) needs "
                "alignment='next_step'; got alignment='same_step'"
            ),
            id="same-step-moa",
        ),
        pytest.param(
            lambda: influence_reward(CF2, np.zeros((4, 2)), AC, alignment="same_step"),
            ShapeError,
            (
                "logits: expected logits with at least 3 dimension(s) and a non-empty last "
                "axis (one entry per action); got numpy.ndarray of shape (4, 2) and dtype "
                "float64"
            ),
            id="logits-ndim",
        ),
        pytest.param(
            lambda: influence_reward(CF2, np.zeros((0, 2, 2)), AC, alignment="same_step"),
            ShapeError,
            (
                "logits: expected at least one step and one agent; got numpy.ndarray of "
                "shape (0, 2, 2) and dtype float64"
            ),
            id="no-steps",
        ),
        pytest.param(
            lambda: influence_reward(CF2, LG, AC + 2, alignment="same_step"),
            ShapeError,
            (
                "actions: expected values in [0, K=2) (K = last axis of logits); got 2 at "
                "index (0, 0), outside that range; pass the index of the value each agent "
                "took"
            ),
            id="actions-range",
        ),
        pytest.param(
            lambda: influence_reward(CF2, LG, AC[:, :1], alignment="same_step"),
            ShapeError,
            (
                "actions: expected shape (T, *B, N) = (4, 2) to match logits (4, 2, 2); "
                "got numpy.ndarray of shape (4, 1) and dtype int64"
            ),
            id="actions-shape",
        ),
        pytest.param(
            lambda: influence_reward(CF2[..., 0], LG, AC, alignment="same_step"),
            ShapeError,
            (
                "counterfactual_logits: expected shape (T, *B, N, N, K, A) = (T, 2, 2, 2, "
                "A) to match logits (4, 2, 2) (row k = influencer, column j = influencee, "
                "K values of k); got numpy.ndarray of shape (4, 2, 2, 2) and dtype float64"
            ),
            id="cf-shape",
        ),
        pytest.param(
            lambda: influence_reward(CF2[:-2], LG, AC, alignment="same_step"),
            ShapeError,
            (
                "counterfactual_logits: expected T = 4 rows (or T + 1 with a bootstrap "
                "row) and batch dimensions () as in logits; got numpy.ndarray of shape (2, "
                "2, 2, 2, 2) and dtype float64"
            ),
            id="cf-rows",
        ),
        pytest.param(
            lambda: influence_reward(np.zeros((5, 2, 2, 2, 2)), LG, AC, alignment="same_step"),
            ShapeError,
            (
                "counterfactual_logits: T + 1 = 5 rows (a bootstrap row) only apply to "
                "alignment='next_step' with a policy (predicts_next_step=False); got "
                "alignment='same_step', predicts_next_step=False; pass T = 4 rows"
            ),
            id="bootstrap-row",
        ),
        pytest.param(
            lambda: influence_reward(CF2, LG, AC, alignment="same_step", divergence="pmi"),
            ConfigError,
            (
                "influencee_actions: divergence 'pmi' is evaluated at the influencee's "
                "realised action; expected an int array of shape (T, *B, N), or (T + 1, "
                "*B, N) with the actions of the step after the batch for "
                "alignment='next_step'; got None"
            ),
            id="pmi-without-actions",
        ),
        pytest.param(
            lambda: influence_reward(
                CF2,
                LG,
                AC,
                alignment="same_step",
                divergence="pmi",
                influencee_actions=np.zeros((5, 2), int),
            ),
            ShapeError,
            (
                "influencee_actions: expected shape (T, *B, N) = (4, 2); got numpy.ndarray "
                "of shape (5, 2) and dtype int64"
            ),
            id="actions-rows",
        ),
        pytest.param(
            lambda: influence_reward(
                CF2,
                LG,
                AC,
                alignment="same_step",
                dones=np.zeros(4, bool),
                episode_starts=np.zeros(4, bool),
            ),
            ConfigError,
            (
                "episode_starts and dones: pass one of them (dones[t] True = step t ends "
                "an episode; episode_starts[t] True = step t begins one; episode_ids[t] = "
                "the episode of step t)"
            ),
            id="two-boundaries",
        ),
        pytest.param(
            lambda: influence_reward(CF2, LG, AC, alignment="next_step", dones=np.zeros(3, bool)),
            ShapeError,
            (
                "dones: expected a bool array of shape (T,) = (4,); got numpy.ndarray of "
                "shape (3,) and dtype bool"
            ),
            id="dones",
        ),
        pytest.param(
            lambda: influence_reward(CF2, LG, AC, alignment="same_step", visible=np.ones((4, 2))),
            ShapeError,
            (
                "visible: expected a bool array of shape (T, *B, N, N) = (4, 2, 2); got "
                "numpy.ndarray of shape (4, 2) and dtype float64"
            ),
            id="visible",
        ),
        pytest.param(
            lambda: influence_reward(CF2, LG, AC, alignment="same_step", influencers=[2]),
            ConfigError,
            "influencers: expected agent indices in [0, 2) or agent ids; got 2",
            id="influencers",
        ),
        pytest.param(
            lambda: influence_reward(np.full_like(CF2, np.nan), LG, AC, alignment="same_step"),
            InvalidDistributionError,
            (
                "counterfactual_logits: expected finite logits (or -inf for masked "
                "actions); got NaN values; check the model output for NaN before computing "
                "influence"
            ),
            id="nan",
        ),
    ],
)
def test_influence_reward(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: credited_influence(CF2, LG, AC, alignment="x"),
            ConfigError,
            (
                "alignment: expected one of ['same_step', 'next_step']; got 'x'; use "
                "'same_step' for a^k_t -> a^j_t and 'next_step' for messages and MOA "
                "(a^k_t -> a^j_(t+1))"
            ),
            id="alignment",
        ),
        pytest.param(
            lambda: credited_influence(CF2, LG, AC, alignment="same_step", influencees=["agent_4"]),
            ConfigError,
            "influencees: unknown agent id 'agent_4'; known ids: ['agent_0', 'agent_1']",
            id="influencees",
        ),
    ],
)
def test_credited_influence(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: reward_from_pairwise(np.zeros((3, 2))),
            ShapeError,
            (
                "pairwise: expected an array of shape (..., N, N), row = influencer, "
                "column = influencee; got numpy.ndarray of shape (3, 2) and dtype float64"
            ),
            id="shape",
        ),
        pytest.param(
            lambda: reward_from_pairwise(np.zeros((2, 2)), visible=np.ones((3, 3))),
            ShapeError,
            (
                "visible: expected the shape of pairwise, (2, 2); got numpy.ndarray of "
                "shape (3, 3) and dtype float64"
            ),
            id="visible",
        ),
    ],
)
def test_reward_from_pairwise(
    call: Callable[[], Any], error: type[Exception], message: str
) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: contingency_table([0, 3], [0, 1], num_x=2),
            ShapeError,
            (
                "labels exceed the table size: max x = 3 with num_x = 2, max y = 1 with "
                "num_y = 2; increase num_x / num_y"
            ),
            id="size",
        ),
        pytest.param(
            lambda: contingency_table([0, 1], [0]),
            ShapeError,
            (
                "expected samples of equal length; got lengths {'x': 2, 'y': 1}; pair each "
                "sample of one variable with one sample of the other"
            ),
            id="length",
        ),
        pytest.param(
            lambda: contingency_table([[0]], [0]),
            ShapeError,
            (
                "x: expected a 1-D array of labels; got numpy.ndarray of shape (1, 1) and "
                "dtype int64; flatten it or select one agent's column"
            ),
            id="ndim",
        ),
        pytest.param(
            lambda: contingency_table([], []),
            ShapeError,
            "x: expected at least one sample; got an empty array",
            id="empty",
        ),
    ],
)
def test_contingency_table(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: mutual_information_from_counts([1, 2]),
            ShapeError,
            (
                "counts: expected shape (..., X, Y); got numpy.ndarray of shape (2,) and "
                "dtype float64"
            ),
            id="shape",
        ),
        pytest.param(
            lambda: mutual_information_from_counts([[1]], estimator="nsb"),
            ConfigError,
            ("estimator: expected one of ['plugin', 'miller_madow', 'shuffle']; got 'nsb'"),
            id="estimator",
        ),
    ],
)
def test_mutual_information_from_counts(
    call: Callable[[], Any], error: type[Exception], message: str
) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: entropy([0, 1], estimator="shuffle"),
            ConfigError,
            "estimator: expected one of ['plugin', 'miller_madow']; got 'shuffle'",
            id="estimator",
        ),
        pytest.param(
            lambda: entropy([-1, 0]),
            DTypeError,
            (
                "x: expected non-negative integer labels; got -1 at index 0; relabel with "
                "numpy.unique(x, return_inverse=True)[1]"
            ),
            id="negative",
        ),
        pytest.param(
            lambda: entropy([0, 1], base=1),
            ConfigError,
            (
                "base: expected a positive number other than 1 (2 for bits, None or e for "
                "nats); got 1"
            ),
            id="base",
        ),
    ],
)
def test_entropy(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: mutual_information([0, 1], [0, 1, 1]),
            ShapeError,
            (
                "expected samples of equal length; got lengths {'x': 2, 'y': 3}; pair each "
                "sample of one variable with one sample of the other"
            ),
            id="length",
        ),
        pytest.param(
            lambda: mutual_information([0, 1.5], [0, 1]),
            DTypeError,
            (
                "x: expected integer labels (whole floats such as 3.0 are accepted); got "
                "1.5 at index 1 in numpy.ndarray of shape (2,) and dtype float64; pass "
                "whole numbers (e.g. numpy.asarray(x, dtype=int))"
            ),
            id="non-integral",
        ),
        pytest.param(
            lambda: mutual_information([0, 1], [0, 1], estimator="nsb"),
            ConfigError,
            ("estimator: expected one of ['plugin', 'miller_madow', 'shuffle']; got 'nsb'"),
            id="estimator",
        ),
    ],
)
def test_mutual_information(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: conditional_mutual_information([0, 1], [0, 1], [0]),
            ShapeError,
            (
                "expected samples of equal length; got lengths {'x': 2, 'y': 2, 'z': 1}; "
                "pair each sample of one variable with one sample of the other"
            ),
            id="length",
        ),
    ],
)
def test_conditional_mutual_information(
    call: Callable[[], Any], error: type[Exception], message: str
) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: normalized_mutual_information([0, 1], [0, 1], average_method="median"),
            ConfigError,
            (
                "average_method: expected one of ['arithmetic', 'geometric', 'min', 'max', "
                "'joint']; got 'median'"
            ),
            id="method",
        ),
    ],
)
def test_normalized_mutual_information(
    call: Callable[[], Any], error: type[Exception], message: str
) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: uncertainty_coefficient([0], [0, 1]),
            ShapeError,
            (
                "expected samples of equal length; got lengths {'x': 1, 'y': 2}; pair each "
                "sample of one variable with one sample of the other"
            ),
            id="length",
        ),
    ],
)
def test_uncertainty_coefficient(
    call: Callable[[], Any], error: type[Exception], message: str
) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: variation_of_information([0], [0], base=1),
            ConfigError,
            (
                "base: expected a positive number other than 1 (2 for bits, None or e for "
                "nats); got 1"
            ),
            id="base",
        ),
    ],
)
def test_variation_of_information(
    call: Callable[[], Any], error: type[Exception], message: str
) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: expected_mutual_information([0], [0, 1]),
            ShapeError,
            (
                "expected samples of equal length; got lengths {'x': 1, 'y': 2}; pair each "
                "sample of one variable with one sample of the other"
            ),
            id="length",
        ),
    ],
)
def test_expected_mutual_information(
    call: Callable[[], Any], error: type[Exception], message: str
) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: g_test([0], [0, 1]),
            ShapeError,
            (
                "expected samples of equal length; got lengths {'x': 1, 'y': 2}; pair each "
                "sample of one variable with one sample of the other"
            ),
            id="length",
        ),
    ],
)
def test_g_test(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: permutation_test([0, 1], [0, 1], alternative="less"),
            ConfigError,
            (
                "alternative: expected one of ['greater']; got 'less'; dependence only "
                "increases an MI statistic"
            ),
            id="alternative",
        ),
        pytest.param(
            lambda: permutation_test([0, 1], [0, 1], n_resamples=0),
            ConfigError,
            "n_resamples: expected a positive integer; got 0",
            id="resamples",
        ),
        pytest.param(
            lambda: permutation_test([0, 1], [0, 1], rng="x"),
            DTypeError,
            ("rng: expected an int seed, numpy.random.Generator, torch.Generator or None; got str"),
            id="rng",
        ),
        pytest.param(
            lambda: permutation_test([0, 1], [0, 1], groups=[0]),
            ShapeError,
            (
                "expected samples of equal length; got lengths {'x': 2, 'y': 2, 'groups': "
                "1}; pair each sample of one variable with one sample of the other"
            ),
            id="groups",
        ),
    ],
)
def test_permutation_test(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: permutation_test_counts([[1, -1]]),
            ShapeError,
            (
                "counts: expected a (X, Y) or (Z, X, Y) table of non-negative integer counts; "
                "got numpy.ndarray of shape (1, 2) and dtype int64"
            ),
            id="negative",
        ),
        pytest.param(
            lambda: permutation_test_counts([[0, 0]]),
            ShapeError,
            "counts: expected at least one sample; got an empty table",
            id="empty",
        ),
        pytest.param(
            lambda: permutation_test_counts([[1]], n_resamples=0),
            ConfigError,
            "n_resamples: expected a positive integer; got 0",
            id="resamples",
        ),
    ],
)
def test_permutation_test_counts(
    call: Callable[[], Any], error: type[Exception], message: str
) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: bootstrap_ci(np.mean),
            ShapeError,
            "bootstrap_ci: pass at least one data array after the statistic",
            id="no-data",
        ),
        pytest.param(
            lambda: bootstrap_ci(np.mean, [1.0], confidence_level=1.5),
            ConfigError,
            "confidence_level: expected a value in (0, 1); got 1.5",
            id="confidence",
        ),
        pytest.param(
            lambda: bootstrap_ci(np.mean, [1.0], method="bca"),
            ConfigError,
            "method: expected one of ['percentile', 'basic']; got 'bca'",
            id="method",
        ),
        pytest.param(
            lambda: bootstrap_ci(np.mean, [1.0], n_resamples=0),
            ConfigError,
            "n_resamples: expected a positive integer; got 0",
            id="resamples",
        ),
        pytest.param(
            lambda: bootstrap_ci(np.mean, [1.0, 2.0], groups=[0]),
            ShapeError,
            (
                "groups: expected shape (2,), one id per sample; got numpy.ndarray of "
                "shape (1,) and dtype int64"
            ),
            id="groups",
        ),
        pytest.param(
            lambda: bootstrap_ci(np.mean, [1.0, 2.0], [1.0]),
            ShapeError,
            (
                "expected samples of equal length; got lengths {'array 0': 2, 'array 1': "
                "1}; pair each sample of one variable with one sample of the other"
            ),
            id="length",
        ),
    ],
)
def test_bootstrap_ci(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: register_estimator("plugin", "again"),
            ConfigError,
            (
                "estimator 'plugin' is already registered; pass replace=True to replace it "
                "or choose another name"
            ),
            id="taken",
        ),
    ],
)
def test_register_estimator(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: speaker_consistency([0], [0]),
            ConfigError,
            (
                "definition: expected one of ['jaques', 'jaques_literal', 'mi']; got None; "
                "'jaques' = Eq. 8 normalised to [0, 1], 'jaques_literal' = Eq. 8 as "
                "printed, 'mi' = Lowe et al.'s I(m; a); there is no default because they "
                "differ in value, range and unit"
            ),
            id="no-definition",
        ),
        pytest.param(
            lambda: speaker_consistency([0], [0], definition="lowe"),
            ConfigError,
            (
                "definition: expected one of ['jaques', 'jaques_literal', 'mi']; got "
                "'lowe'; 'jaques' = Eq. 8 normalised to [0, 1], 'jaques_literal' = Eq. 8 "
                "as printed, 'mi' = Lowe et al.'s I(m; a); there is no default because "
                "they differ in value, range and unit"
            ),
            id="unknown-definition",
        ),
        pytest.param(
            lambda: speaker_consistency([[0, 1]], [0], definition="mi"),
            ShapeError,
            (
                "messages and actions: expected the same shape, (T,) or (T, N); got (1, 2) "
                "and (1,); pair each step's values"
            ),
            id="shapes",
        ),
        pytest.param(
            lambda: speaker_consistency([0, 3], [0, 1], definition="mi", num_symbols=2),
            ShapeError,
            (
                "messages: found label 3 but the alphabet size is 2; pass the right size "
                "or fix the labels"
            ),
            id="alphabet",
        ),
        pytest.param(
            lambda: speaker_consistency(
                np.zeros((0, 2), int), np.zeros((0, 2), int), definition="mi"
            ),
            ShapeError,
            (
                "messages: expected labels of shape (T,) or (T, N) (time-major, agent "
                "second); got numpy.ndarray of shape (0, 2) and dtype int64"
            ),
            id="empty",
        ),
        pytest.param(
            lambda: speaker_consistency([0, -1], [0, 1], definition="mi"),
            DTypeError,
            (
                "messages: expected non-negative integer labels; got -1 at index 1; "
                "relabel with numpy.unique(x, return_inverse=True)[1]"
            ),
            id="negative",
        ),
    ],
)
def test_speaker_consistency(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: speaker_consistency_from_counts([[1]]),
            ConfigError,
            (
                "definition: expected one of ['jaques', 'jaques_literal', 'mi']; got None; "
                "'jaques' = Eq. 8 normalised to [0, 1], 'jaques_literal' = Eq. 8 as "
                "printed, 'mi' = Lowe et al.'s I(m; a); there is no default because they "
                "differ in value, range and unit"
            ),
            id="no-definition",
        ),
        pytest.param(
            lambda: speaker_consistency_from_counts([1, 2], definition="mi"),
            ShapeError,
            (
                "tables: expected numeric counts of shape (N, M, A) or (M, A); got int64 "
                "array of shape (2,)"
            ),
            id="shape",
        ),
        pytest.param(
            lambda: speaker_consistency_from_counts([[1, -1]], definition="mi"),
            ShapeError,
            "tables: expected non-negative counts; got a negative entry",
            id="negative",
        ),
        pytest.param(
            lambda: speaker_consistency_from_counts([[1, 2]], definition="jaques"),
            ConfigError,
            (
                "the Jaques forms divide by log|A| and log|M|, which needs at least 2 "
                "symbols and 2 actions; got |M| = 1, |A| = 2; pass num_symbols / "
                "num_actions"
            ),
            id="one-symbol",
        ),
    ],
)
def test_speaker_consistency_from_counts(
    call: Callable[[], Any], error: type[Exception], message: str
) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: lagged_pairs(5, -1),
            ConfigError,
            "lag: expected a non-negative integer; got -1",
            id="lag",
        ),
        pytest.param(
            lambda: lagged_pairs(5, 1, [0, 0]),
            ShapeError,
            (
                "episode_ids: expected shape (T,) = (5,); got numpy.ndarray of shape (2,) "
                "and dtype int64; one id per step"
            ),
            id="ids",
        ),
    ],
)
def test_lagged_pairs(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: instantaneous_coordination([[0, 1]], [[0, 1]], estimator="x"),
            ConfigError,
            "estimator: expected one of ['plugin', 'miller_madow', 'shuffle']; got 'x'",
            id="estimator",
        ),
        pytest.param(
            lambda: instantaneous_coordination([[0, 1]], [[0, 1, 1]]),
            ShapeError,
            (
                "source and actions: expected the same shape, (T,) or (T, N); got (1, 2) "
                "and (1, 3); pair each step's values"
            ),
            id="shapes",
        ),
        pytest.param(
            lambda: instantaneous_coordination(M2, M2, mask=np.ones((2, 3), bool)),
            ShapeError,
            (
                "mask: expected shape (2, 2) or (2,); got numpy.ndarray of shape (2, 3) "
                "and dtype bool"
            ),
            id="mask",
        ),
        pytest.param(
            lambda: instantaneous_coordination(M2, M2, episode_ids=[0]),
            ShapeError,
            (
                "episode_ids: expected shape (T,) = (2,); got numpy.ndarray of shape (1,) "
                "and dtype int64; one id per step"
            ),
            id="ids",
        ),
        pytest.param(
            lambda: instantaneous_coordination(M2, M2, lag=-1),
            ConfigError,
            "lag: expected a non-negative integer; got -1",
            id="lag",
        ),
    ],
)
def test_instantaneous_coordination(
    call: Callable[[], Any], error: type[Exception], message: str
) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: influential_moments(np.zeros((2, 2, 2))),
            ShapeError,
            (
                "influence: expected shape (T,) or (T, N); got numpy.ndarray of shape (2, "
                "2, 2) and dtype float64"
            ),
            id="shape",
        ),
        pytest.param(
            lambda: influential_moments([0, np.nan]),
            InvalidDistributionError,
            "influence: contains NaN; drop or fill those steps first",
            id="nan",
        ),
        pytest.param(
            lambda: influential_moments([0, 1], episode_ids=[0]),
            ShapeError,
            (
                "episode_ids: expected shape (2,); got numpy.ndarray of shape (1,) and "
                "dtype int64; one id per step"
            ),
            id="ids",
        ),
    ],
)
def test_influential_moments(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: causal_influence_of_communication(np.eye(2), np.ones(3) / 3),
            ShapeError,
            (
                "expected p_action_given_do_message of shape (..., M, A) and p_message of "
                "shape (..., M); got numpy.ndarray of shape (2, 2) and dtype float64 and "
                "numpy.ndarray of shape (3,) and dtype float64"
            ),
            id="shapes",
        ),
        pytest.param(
            lambda: causal_influence_of_communication(np.array([[1.5, -0.5], [0, 1]]), [0.5, 0.5]),
            InvalidDistributionError,
            (
                "p_action_given_do_message: expected probabilities (finite, >= 0); got "
                "numpy.ndarray of shape (2, 2) and dtype float64 with a negative or "
                "non-finite entry; pass probabilities, not logits"
            ),
            id="negative",
        ),
        pytest.param(
            lambda: causal_influence_of_communication(np.eye(2), [0.5, 0.6]),
            InvalidDistributionError,
            (
                "p_message: expected probabilities whose distributions (last axis) sum to "
                "1; got sums in [1.1, 1.1]; normalise it first"
            ),
            id="sum",
        ),
        pytest.param(
            lambda: causal_influence_of_communication(np.eye(2), [0.5, 0.5], base=1),
            ConfigError,
            (
                "base: expected a positive number other than 1 (2 for bits, None or e for "
                "nats); got 1"
            ),
            id="base",
        ),
    ],
)
def test_causal_influence_of_communication(
    call: Callable[[], Any], error: type[Exception], message: str
) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: context_independence([[0, 1]], [[0, 1]]),
            ShapeError,
            (
                "messages: expected a 1-D array of labels; got numpy.ndarray of shape (1, "
                "2) and dtype int64; flatten it or select one agent's column"
            ),
            id="ndim",
        ),
        pytest.param(
            lambda: context_independence([0, 1], [0]),
            ShapeError,
            (
                "messages and actions: expected the same shape, (T,) or (T, N); got (2,) "
                "and (1,); pair each step's values"
            ),
            id="length",
        ),
        pytest.param(
            lambda: context_independence([0, 1], [0, 2], num_actions=2),
            ShapeError,
            (
                "actions: found label 2 but the alphabet size is 2; pass the right size or "
                "fix the labels"
            ),
            id="alphabet",
        ),
    ],
)
def test_context_independence(
    call: Callable[[], Any], error: type[Exception], message: str
) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: social_outcomes(np.zeros(3)),
            ShapeError,
            ("rewards: expected shape (T, N); got numpy.ndarray of shape (3,) and dtype float64"),
            id="rewards",
        ),
        pytest.param(
            lambda: social_outcomes(np.zeros((3, 2)), timeouts=np.zeros((3, 1), bool)),
            ShapeError,
            ("timeouts: expected shape (3, 2); got numpy.ndarray of shape (3, 1) and dtype bool"),
            id="timeouts",
        ),
        pytest.param(
            lambda: social_outcomes(np.zeros((3, 2)), episode_ids=[0, 0]),
            ShapeError,
            ("episode_ids: expected shape (3,); got numpy.ndarray of shape (2,) and dtype int64"),
            id="ids",
        ),
    ],
)
def test_social_outcomes(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: TabularModel(TAB_CF[0], TAB_PRIOR, TAB_VALUES),
            ShapeError,
            (
                "counterfactual_logits: expected logits with at least 5 dimension(s) and a "
                "non-empty last axis (one entry per action); got numpy.ndarray of shape "
                "(2, 2, 2, 2) and dtype float64"
            ),
            id="cf-ndim",
        ),
        pytest.param(
            lambda: TabularModel(np.full_like(TAB_CF, np.nan), TAB_PRIOR, TAB_VALUES),
            InvalidDistributionError,
            (
                "counterfactual_logits: expected finite logits (or -inf for masked "
                "actions); got NaN values; check the model output for NaN before computing "
                "influence"
            ),
            id="cf-nan",
        ),
        pytest.param(
            lambda: TabularModel(TAB_CF, TAB_PRIOR[:, :, :1], TAB_VALUES),
            ShapeError,
            (
                "prior_logits: expected shape (T, N, K) = (3, 2, 2); got numpy.ndarray of "
                "shape (3, 2, 1) and dtype float64; match counterfactual_logits"
            ),
            id="prior",
        ),
        pytest.param(
            lambda: TabularModel(TAB_CF, TAB_PRIOR, TAB_VALUES + 2),
            ConfigError,
            (
                "values: expected values in [0, 2) (one per counterfactual value K); got 2 "
                "at index (0, 0), outside that range; check that the values index the "
                "influencer's policy logits"
            ),
            id="values-range",
        ),
        pytest.param(
            lambda: TabularModel(TAB_CF, TAB_PRIOR, TAB_VALUES[:, :1]),
            ShapeError,
            (
                "values: expected shape (T, N) = (3, 2); got numpy.ndarray of shape (3, 1) "
                "and dtype int64"
            ),
            id="values-shape",
        ),
        pytest.param(
            lambda: TabularModel(TAB_CF, TAB_PRIOR, TAB_VALUES + 0.5),
            DTypeError,
            (
                "values: expected integer labels (whole floats such as 3.0 are accepted); "
                "got 0.5 at index (0, 0) in numpy.ndarray of shape (3, 2) and dtype "
                "float64; pass whole numbers (e.g. numpy.asarray(x, dtype=int))"
            ),
            id="values-dtype",
        ),
        pytest.param(
            lambda: TabularModel(TAB_CF, torch.tensor(TAB_PRIOR), TAB_VALUES),
            DTypeError,
            (
                "prior_logits / values: got torch tensors with numpy "
                "counterfactual_logits; pass all three as numpy arrays or all as torch "
                "tensors"
            ),
            id="mixed-backends",
        ),
        pytest.param(
            lambda: TabularModel(TAB_CF, TAB_PRIOR, TAB_VALUES, episode_starts=np.ones(4, bool)),
            ShapeError,
            (
                "episode_starts: expected a bool array of shape (T,) = (3,); got "
                "numpy.ndarray of shape (4,) and dtype bool"
            ),
            id="episode-starts",
        ),
    ],
)
def test_tabular_model(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: TabularModel.from_probabilities(
                np.full_like(TAB_CF, 0.7), np.full_like(TAB_PRIOR, 0.5), TAB_VALUES
            ),
            InvalidDistributionError,
            (
                "counterfactual_probs: expected probabilities whose distributions (last "
                "axis) sum to 1; got sums in [1.4, 1.4]; normalise it first"
            ),
            id="sum",
        ),
        pytest.param(
            lambda: TabularModel.from_probabilities(
                np.full_like(TAB_CF, 0.5), np.full_like(TAB_PRIOR, -0.5), TAB_VALUES
            ),
            InvalidDistributionError,
            (
                "prior_probs: expected probabilities (finite, >= 0); got numpy.ndarray of "
                "shape (3, 2, 2) and dtype float64 with a negative or non-finite entry; "
                "pass probabilities, not logits"
            ),
            id="negative",
        ),
    ],
)
def test_tabular_model_from_probabilities(
    call: Callable[[], Any], error: type[Exception], message: str
) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: TorchModel(ECHO, None, ACTS, prior_logits=np.zeros((3, 2, 2))),
            DTypeError,
            (
                "prior_logits: expected a torch.Tensor; got numpy.ndarray of shape (3, 2, "
                "2) and dtype float64"
            ),
            id="prior-numpy",
        ),
        pytest.param(
            lambda: TorchModel(ECHO, None, ACTS, prior_logits=torch.zeros(3, 2)),
            ShapeError,
            (
                "prior_logits: expected shape (T, N, K), each agent's policy over the "
                "variable that enters the network, or (T, B, N, K) with an environment axis; "
                "got torch.Tensor of shape (3, 2) and dtype float32"
            ),
            id="prior-ndim",
        ),
        pytest.param(
            lambda: TorchModel(ECHO, None, np.zeros((3, 2), int), prior_logits=PRI),
            DTypeError,
            ("inputs: expected a torch.Tensor; got numpy.ndarray of shape (3, 2) and dtype int64"),
            id="inputs-numpy",
        ),
        pytest.param(
            lambda: TorchModel(ECHO, torch.zeros(4, 1), ACTS, prior_logits=PRI),
            ShapeError,
            (
                "features: expected torch tensors with leading shape (3,) ((T, ...)); got "
                "torch.Tensor of shape (4, 1) and dtype float32"
            ),
            id="features",
        ),
        pytest.param(
            lambda: TorchModel(ECHO, None, ACTS[:, :1], prior_logits=PRI),
            ShapeError,
            (
                "inputs: expected an int tensor of shape (T, N) = (3, 2) or a float tensor "
                "of shape (T, N, D); got torch.Tensor of shape (3, 1) and dtype int64"
            ),
            id="inputs-shape",
        ),
        pytest.param(
            lambda: TorchModel(ECHO, None, torch.zeros(3, 2, 1), prior_logits=PRI),
            ShapeError,
            (
                "inputs: expected an int tensor of shape (T, N) = (3, 2) or a float tensor "
                "of shape (T, N, D) with D >= K = 2; got torch.Tensor of shape (3, 2, 1) "
                "and dtype float32"
            ),
            id="inputs-width",
        ),
        pytest.param(
            lambda: TorchModel(
                ECHO, None, torch.zeros(3, 2, 2), prior_logits=PRI, one_hot=False, values=ACTS
            ),
            ConfigError,
            (
                "one_hot=False needs integer inputs of shape (T, N); got float inputs; "
                "pass the value indices instead"
            ),
            id="one-hot",
        ),
        pytest.param(
            lambda: TorchModel(ECHO, None, torch.zeros(3, 2, 2), prior_logits=PRI),
            ConfigError,
            (
                "values: required when inputs are float vectors; pass the integer values "
                "(T, N) each agent took at the step it chose them"
            ),
            id="values-needed",
        ),
        pytest.param(
            lambda: TorchModel(ECHO, None, ACTS, prior_logits=PRI, input_width=1),
            ConfigError,
            "input_width: expected an integer >= K = 2; got 1",
            id="input-width",
        ),
        pytest.param(
            lambda: TorchModel(ECHO, None, ACTS + 2, prior_logits=PRI),
            ConfigError,
            (
                "inputs: expected values in [0, 2) (one per counterfactual value K); got 2 "
                "at index (0, 0), outside that range"
            ),
            id="inputs-range",
        ),
        pytest.param(
            lambda: TorchModel(ECHO, None, ACTS, prior_logits=PRI, values=ACTS + 2),
            ConfigError,
            (
                "values: expected values in [0, 2) (one per counterfactual value K); got 2 "
                "at index (0, 0), outside that range"
            ),
            id="values-range",
        ),
        pytest.param(
            lambda: TorchModel(ECHO, None, ACTS, prior_logits=PRI, values=ACTS[:, :1]),
            ShapeError,
            (
                "values: expected shape (T, N) = (3, 2); got torch.Tensor of shape (3, 1) "
                "and dtype int64"
            ),
            id="values-shape",
        ),
        pytest.param(
            lambda: TorchModel(ECHO, None, ACTS, prior_logits=PRI, outputs="mine"),
            ConfigError,
            "outputs: expected one of ['all', 'others']; got 'mine'",
            id="outputs",
        ),
        pytest.param(
            lambda: TorchModel([ECHO, ECHO], None, ACTS, prior_logits=PRI),
            ConfigError,
            (
                "head: a sequence of networks (one per agent) needs per_influencer=True "
                "and length N = 2; got length 2 with per_influencer=False"
            ),
            id="sequence",
        ),
        pytest.param(
            lambda: TorchModel([ECHO, 3], None, ACTS, prior_logits=PRI, per_influencer=True),
            DTypeError,
            "head: expected callables; got list",
            id="sequence-items",
        ),
        pytest.param(
            lambda: TorchModel(3, None, ACTS, prior_logits=PRI),
            DTypeError,
            "head: expected a callable or module; got int",
            id="not-callable",
        ),
        pytest.param(
            lambda: TorchModel(ECHO, None, ACTS, prior_logits=PRI, max_batch=0),
            ConfigError,
            "max_batch: expected a positive integer or None; got 0",
            id="max-batch",
        ),
        pytest.param(
            lambda: TorchModel(ECHO, None, ACTS, prior_logits=PRI, episode_starts=np.ones(2)),
            ShapeError,
            (
                "episode_starts: expected a bool array of shape (T,) = (3,); got "
                "numpy.ndarray of shape (2,) and dtype float64"
            ),
            id="episode-starts",
        ),
        pytest.param(
            lambda: pairwise_influence(
                TorchModel(lambda f, x: x[:, :1], None, ACTS, prior_logits=PRI),
                alignment="same_step",
            ),
            ModelError,
            (
                "head: expected logits of shape (B, 2, A) with B = T*I*K = 12 "
                "(outputs='all': every agent); got torch.Tensor of shape (12, 1, 2) and "
                "dtype float32"
            ),
            id="head-output",
        ),
        pytest.param(
            lambda: TorchModel(
                lambda f, x: x[:1], None, ACTS, prior_logits=PRI
            ).counterfactual_logits([0], [1]),
            ModelError,
            (
                "head: expected logits of shape (B, N or N-1, A) for a batch of B = 6 "
                "variants; got torch.Tensor of shape (1, 2, 2) and dtype float32"
            ),
            id="head-batch",
        ),
    ],
)
def test_torch_model(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: RecurrentTorchModel(
                STEP, None, ACTS, prior_logits=PRI, initial_state=torch.zeros(2, 3)
            ),
            ShapeError,
            (
                "initial_state: expected tensors with leading dimension S = 1 (N with "
                "per_influencer=True, else 1); got torch.Tensor of shape (2, 3) and dtype "
                "float32"
            ),
            id="initial-state",
        ),
        pytest.param(
            lambda: RecurrentTorchModel(STEP, None, ACTS, prior_logits=PRI, initial_state=()),
            ShapeError,
            "initial_state: expected a tensor or a tuple of tensors; got none",
            id="no-state",
        ),
        pytest.param(
            lambda: RecurrentTorchModel(
                STEP,
                None,
                ACTS,
                prior_logits=PRI,
                initial_state=torch.zeros(1, 3),
                states=torch.zeros(2, 1, 3),
            ),
            ShapeError,
            (
                "states: expected tensors of leading shape (T, S) = (3, 1); got "
                "torch.Tensor of shape (2, 1, 3) and dtype float32"
            ),
            id="states",
        ),
        pytest.param(
            lambda: pairwise_influence(
                RecurrentTorchModel(
                    lambda f, x, s: x, None, ACTS, prior_logits=PRI, initial_state=torch.zeros(1, 3)
                ),
                alignment="same_step",
            ),
            ModelError,
            (
                "step: expected a pair (logits, new_state); got torch.Tensor of shape (1, "
                "2, 2) and dtype float32; return both from the step function"
            ),
            id="step-output",
        ),
    ],
)
def test_recurrent_torch_model(
    call: Callable[[], Any], error: type[Exception], message: str
) -> None:
    pinned(call, error, message)


@pytest.mark.parametrize(
    CASES,
    [
        pytest.param(
            lambda: PyroModel(NOTHING, ["a0", "a1"]),
            ConfigError,
            (
                "values: the realised values of influencer sites ['a0', 'a1'] are unknown; "
                "pass them in observed=... or as values (T, N)"
            ),
            id="values-unknown",
        ),
        pytest.param(
            lambda: PyroModel(3, ["a0"]),
            DTypeError,
            "program: expected a callable Pyro model; got int",
            id="program",
        ),
        pytest.param(
            lambda: PyroModel(NOTHING, ["a0", "a1"], ["b0"]),
            ConfigError,
            "influencee_sites: expected one site per agent, N = 2; got 1",
            id="sites",
        ),
        pytest.param(
            lambda: PyroModel(
                NOTHING, ["a0"], values=torch.zeros(3, 1, dtype=torch.long), max_plate_nesting=0
            ),
            ConfigError,
            ("max_plate_nesting: expected an integer >= 1 (the plate over the steps); got 0"),
            id="plates",
        ),
        pytest.param(
            lambda: PyroModel(NOTHING, ["a0", "a1"], values=torch.zeros(3, 1, dtype=torch.long)),
            ShapeError,
            (
                "values: expected shape (T, N=2) = (?, 2); got torch.Tensor of shape (3, "
                "1) and dtype int64"
            ),
            id="values-shape",
        ),
        pytest.param(
            lambda: PyroModel(
                NOTHING,
                ["a0"],
                values=torch.zeros(3, 1, dtype=torch.long),
                episode_starts=np.ones(2, bool),
            ),
            ShapeError,
            (
                "episode_starts: expected a bool array of shape (T,) = (3,); got "
                "numpy.ndarray of shape (2,) and dtype bool"
            ),
            id="episode-starts",
        ),
    ],
)
def test_pyro_model(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    pinned(call, error, message)
