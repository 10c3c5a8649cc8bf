"""The array fields of a new trajectory: conversion, shapes, metadata inferred and checked.

These are the steps :class:`~causal_influence.trajectory.Trajectory` takes when it is built,
in order: :func:`required_arrays` (actions and rewards fix T and N), then the episode
structure (:mod:`causal_influence.trajectory.episodes`), :func:`optional_arrays`,
:func:`infer_metadata`, :func:`check_against_metadata` and, unless the caller gave up
copies, :func:`copy_shared_inputs`. Each raises the typed, located errors of
:mod:`causal_influence.trajectory.arrays`, so the first problem found is named by field and,
where it applies, by step and agent.

Examples
--------
>>> import numpy as np
>>> from causal_influence.trajectory.fields import infer_metadata, required_arrays
>>> arrays = required_arrays([[0, 1], [1, 1]], [[0, 0], [1, 0]])
>>> arrays["rewards"].dtype, arrays["actions"].shape
(dtype('float64'), (2, 2))
>>> arrays["logits"] = np.zeros((2, 2, 5))
>>> meta = infer_metadata(None, {"env_name": "harvest"}, arrays)
>>> meta.agent_ids, meta.num_actions, meta.num_symbols
(('agent_0', 'agent_1'), 5, 0)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from causal_influence.errors import ConfigError, ShapeError, describe
from causal_influence.trajectory.arrays import (
    bool_array,
    check_finite_values,
    check_logits,
    check_range,
    check_shape,
    float_array,
    int_array,
    located_error,
    numeric_array,
    shares_memory,
)
from causal_influence.trajectory.metadata import TrajectoryMeta, metadata_fields

__all__ = [
    "check_against_metadata",
    "copy_shared_inputs",
    "infer_metadata",
    "optional_arrays",
    "required_arrays",
]

#: Optional fields of float dtype, in conversion order.
_FLOAT_FIELDS = ("logits", "message_logits", "counterfactual_logits", "influence")


def required_arrays(actions: Any, rewards: Any) -> dict[str, np.ndarray]:
    """``actions`` as int64 (T, N) with N >= 1 and ``rewards`` as float (T, N)."""
    acts = int_array(actions, "actions")
    if acts.ndim != 2:
        raise located_error(
            ShapeError, "actions", f"actions: expected shape (T, N); got {describe(acts)}"
        )
    num_steps, num_agents = acts.shape
    if num_agents < 1:
        raise located_error(ShapeError, "actions", "actions: expected at least one agent (N >= 1)")
    rews = float_array(rewards, "rewards")
    check_shape(rews, "rewards", (num_steps, num_agents), f"(T, N) = ({num_steps}, {num_agents})")
    return {"actions": acts, "rewards": rews}


def optional_arrays(
    inputs: Mapping[str, Any], num_steps: int, num_agents: int
) -> dict[str, np.ndarray]:
    """The optional fields given (not None) converted to their dtypes, shapes checked.

    ``messages`` is converted and checked first, then the float fields, ``visible`` and
    ``obs`` are converted, then their shapes checked: (T, N, A), (T, N, M),
    (T, N, N, K, A), (T, N, N), (T, N, N) and (T, N, ...).
    """
    tn = f"(T, N) = ({num_steps}, {num_agents})"
    lead = (num_steps, num_agents)
    arrays: dict[str, np.ndarray] = {}
    if inputs.get("messages") is not None:
        arrays["messages"] = int_array(inputs["messages"], "messages")
        check_shape(arrays["messages"], "messages", lead, tn)
    for name in _FLOAT_FIELDS:
        if inputs.get(name) is not None:
            arrays[name] = float_array(inputs[name], name)
    if inputs.get("visible") is not None:
        arrays["visible"] = bool_array(inputs["visible"], "visible")
    if inputs.get("obs") is not None:
        arrays["obs"] = numeric_array(inputs["obs"], "obs")
    expected = {
        "logits": ((*lead, None), f"(T, N, A), {tn}"),
        "message_logits": ((*lead, None), f"(T, N, M), {tn}"),
        "counterfactual_logits": ((*lead, num_agents, None, None), f"(T, N, N, K, A), {tn}"),
        "visible": ((*lead, num_agents), f"(T, N, N), {tn}"),
        "influence": ((*lead, num_agents), f"(T, N, N), {tn}"),
    }
    for name, (shape, text) in expected.items():
        if name in arrays:
            check_shape(arrays[name], name, shape, text)
    if "obs" in arrays and (arrays["obs"].ndim < 2 or arrays["obs"].shape[:2] != lead):
        raise located_error(
            ShapeError,
            "obs",
            f"obs: expected shape (T, N, ...), {tn}; got {describe(arrays['obs'])}",
        )
    return arrays


def infer_metadata(
    metadata: TrajectoryMeta | Mapping[str, Any] | None,
    overrides: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray],
) -> TrajectoryMeta:
    """The metadata of a new trajectory, with what was not given inferred from its arrays.

    ``agent_ids`` defaults to ``agent_0 ... agent_{N-1}``; ``num_actions`` to
    ``len(action_names)``, else the last axis of ``logits`` / ``counterfactual_logits``;
    ``num_symbols`` to ``len(symbol_names)``, else the last axis of ``message_logits``, else
    0 unless messages were given. The agent ids must number N.

    Raises
    ------
    ConfigError
        If ``num_actions`` (or, with messages, ``num_symbols``) cannot be inferred.
    ShapeError
        If the agent ids do not number N.
    """
    num_agents = arrays["actions"].shape[1]
    kw = metadata_fields(metadata, overrides)
    if kw.get("agent_ids") is None:
        kw["agent_ids"] = tuple(f"agent_{i}" for i in range(num_agents))
    if kw.get("num_actions") is None:
        if kw.get("action_names") is not None:
            kw["num_actions"] = len(tuple(kw["action_names"]))
        elif "logits" in arrays:
            kw["num_actions"] = arrays["logits"].shape[-1]
        elif "counterfactual_logits" in arrays:
            kw["num_actions"] = arrays["counterfactual_logits"].shape[-1]
        else:
            raise ConfigError(
                "num_actions: cannot be inferred (no action_names, logits or "
                "counterfactual_logits); pass num_actions=A"
            )
    if kw.get("num_symbols") is None:
        if kw.get("symbol_names") is not None:
            kw["num_symbols"] = len(tuple(kw["symbol_names"]))
        elif "message_logits" in arrays:
            kw["num_symbols"] = arrays["message_logits"].shape[-1]
        elif "messages" in arrays:
            raise ConfigError(
                "num_symbols: messages were given but the vocabulary size cannot be "
                "inferred (no symbol_names or message_logits); pass num_symbols=M"
            )
        else:
            kw["num_symbols"] = 0
    meta = TrajectoryMeta(**kw)
    if meta.num_agents != num_agents:
        raise ShapeError(
            f"agent_ids: expected N={num_agents} ids (one per column of actions); got "
            f"{meta.num_agents}"
        )
    return meta


def check_against_metadata(arrays: Mapping[str, np.ndarray], meta: TrajectoryMeta) -> None:
    """Sizes and values the metadata fixes: last axes A and M, K >= 1, labels in range, logits.

    Raises
    ------
    ShapeError
        A last axis that is not ``num_actions`` / ``num_symbols``, no counterfactual value,
        actions or messages out of range.
    InvalidDistributionError
        NaN or +inf in any logits; a row of ``logits`` or ``message_logits`` all -inf.
    ShapeError
        NaN or infinite rewards (unless all NaN: not recorded) or influence.
    """
    a_size, m_size = meta.num_actions, meta.num_symbols
    for name, size, what in (
        ("logits", a_size, "num_actions"),
        ("counterfactual_logits", a_size, "num_actions"),
        ("message_logits", m_size, "num_symbols"),
    ):
        if name in arrays and arrays[name].shape[-1] != size:
            raise located_error(
                ShapeError,
                name,
                f"{name}: expected the last axis to have {what}={size} entries; got "
                f"{describe(arrays[name])}",
            )
    if "counterfactual_logits" in arrays and arrays["counterfactual_logits"].shape[3] < 1:
        raise located_error(
            ShapeError,
            "counterfactual_logits",
            "counterfactual_logits: expected K >= 1 counterfactual values",
        )
    agent_ids = meta.agent_ids
    check_range(arrays["actions"], "actions", a_size, "num_actions", agent_ids)
    if "messages" in arrays:
        check_range(arrays["messages"], "messages", m_size, "num_symbols", agent_ids)
    check_finite_values(arrays["rewards"], "rewards", agent_ids, unrecorded=True)
    if "influence" in arrays:
        check_finite_values(arrays["influence"], "influence", agent_ids)
    for name in ("logits", "message_logits"):
        if name in arrays:
            check_logits(arrays[name], name, agent_ids, rows=True)
    if "counterfactual_logits" in arrays:
        check_logits(
            arrays["counterfactual_logits"], "counterfactual_logits", agent_ids, rows=False
        )


def copy_shared_inputs(arrays: dict[str, np.ndarray], inputs: Mapping[str, Any]) -> None:
    """Replace, in place, every array that may share memory with its caller's input by a copy
    (so a built trajectory cannot change when the caller edits its arrays)."""
    for name, arr in arrays.items():
        if shares_memory(arr, inputs.get(name)):
            arrays[name] = arr.copy()
