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

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from causal_influence.errors import (
    ConfigError,
    InvalidDistributionError,
    ShapeError,
    describe,
)
from causal_influence.trajectory.arrays import (
    bool_array,
    check_finite_values,
    check_logits,
    check_range,
    check_shape,
    describe_index,
    first_true,
    float_array,
    int_array,
    located_error,
    numeric_array,
    shares_memory,
)
from causal_influence.trajectory.influence_spec import check_counterfactual_layout
from causal_influence.trajectory.metadata import TrajectoryMeta, metadata_fields

__all__ = [
    "check_against_metadata",
    "check_agent_labels",
    "copy_shared_inputs",
    "infer_metadata",
    "mask_padding",
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

    ``messages`` and ``context`` are converted and checked first, then the float fields,
    ``visible`` and ``obs`` are converted, then their shapes checked: (T, N, A), (T, N, M),
    (T, N, N, K, A), (T, N, N), (T, N, N) and (T, N, ...).
    """
    tn = f"(T, N) = ({num_steps}, {num_agents})"
    lead = (num_steps, num_agents)
    arrays: dict[str, np.ndarray] = {}
    for name in ("messages", "context"):
        if inputs.get(name) is not None:
            arrays[name] = int_array(inputs[name], name)
            check_shape(arrays[name], name, lead, tn)
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

    ``agent_ids`` defaults to ``agent_0 ... agent_{N-1}``; ``num_actions`` to the largest of
    ``agent_num_actions``, else ``len(action_names)``, else the last axis of ``logits`` /
    ``counterfactual_logits``; ``num_symbols`` to the largest of ``agent_num_symbols``, else
    ``len(symbol_names)``, else the last axis of ``message_logits``, else 0 unless messages
    were given; ``num_contexts`` to ``len(context_names)``, else 0 unless a context was
    given. The agent ids must number N.

    Raises
    ------
    ConfigError
        If ``num_actions`` (or, with messages, ``num_symbols``; with a context,
        ``num_contexts``) cannot be inferred.
    ShapeError
        If the agent ids do not number N.
    """
    num_agents = arrays["actions"].shape[1]
    kw = metadata_fields(metadata, overrides)
    if kw.get("agent_ids") is None:
        kw["agent_ids"] = tuple(f"agent_{i}" for i in range(num_agents))
    if kw.get("num_actions") is None:
        if kw.get("agent_num_actions") is not None:
            kw["num_actions"] = max(int(c) for c in kw["agent_num_actions"])
        elif kw.get("action_names") is not None:
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
        if kw.get("agent_num_symbols") is not None:
            kw["num_symbols"] = max([0, *(int(c) for c in kw["agent_num_symbols"])])
        elif kw.get("symbol_names") is not None:
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
    if kw.get("num_contexts") is None:
        if kw.get("context_names") is not None:
            kw["num_contexts"] = len(tuple(kw["context_names"]))
        elif "context" in arrays:
            raise ConfigError(
                "num_contexts: a context was given but the number of context labels cannot be "
                "inferred (no context_names); pass num_contexts=G (labels in [0, G), -1 for "
                "no context)"
            )
        else:
            kw["num_contexts"] = 0
    meta = TrajectoryMeta(**kw)
    if meta.num_agents != num_agents:
        raise ShapeError(
            f"agent_ids: expected N={num_agents} ids (one per column of actions); got "
            f"{meta.num_agents}"
        )
    return meta


def check_against_metadata(
    arrays: dict[str, np.ndarray], meta: TrajectoryMeta, *, starts: np.ndarray | None = None
) -> None:
    """Sizes and values the metadata fixes; padding of heterogeneous agents set (in place).

    In order: the last axes A and M (and K, when the influence spec names the variable),
    each agent's labels in its own range (actions in [0, A_i), messages in [0, M_i) or -1
    for no message), the padding of heterogeneous agents (:func:`mask_padding`, which may
    replace entries of ``arrays`` by padded copies), the logits, and the stored
    counterfactual layout of next-step influence
    (:func:`~causal_influence.trajectory.influence_spec.check_counterfactual_layout`, when
    the episode ``starts`` (T,) are given).

    Raises
    ------
    ShapeError
        A last axis that is not ``num_actions`` / ``num_symbols``, no counterfactual value,
        K not the size of the spec's variable, labels out of an agent's range, context labels
        outside [-1, ``num_contexts``), obs that do not fit ``obs_shapes``, next-step
        counterfactual rows at the last step of an episode.
    InvalidDistributionError
        NaN or +inf in any logits; a row of ``logits`` (or, for an agent that speaks, of
        ``message_logits``) whose valid entries are all -inf.
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
    spec = meta.influence_spec
    if "counterfactual_logits" in arrays:
        _check_values(arrays["counterfactual_logits"], meta)
    agent_ids = meta.agent_ids
    check_agent_labels(arrays["actions"], "actions", meta.action_counts, "num_actions", agent_ids)
    if "messages" in arrays:
        check_agent_labels(
            arrays["messages"],
            "messages",
            meta.symbol_counts,
            "num_symbols",
            agent_ids,
            missing=True,
        )
    if "context" in arrays:
        check_range(
            arrays["context"], "context", meta.num_contexts, "num_contexts", agent_ids, low=-1
        )
    check_finite_values(arrays["rewards"], "rewards", agent_ids, unrecorded=True)
    if "influence" in arrays:
        check_finite_values(arrays["influence"], "influence", agent_ids)
    _check_obs(arrays, meta)
    mask_padding(arrays, meta)
    if "logits" in arrays:
        check_logits(arrays["logits"], "logits", agent_ids, rows=True)
    if "message_logits" in arrays:
        check_logits(arrays["message_logits"], "message_logits", agent_ids, rows=False)
        _check_live_rows(arrays["message_logits"], "message_logits", meta.speakers, agent_ids)
    if "counterfactual_logits" in arrays:
        check_logits(
            arrays["counterfactual_logits"], "counterfactual_logits", agent_ids, rows=False
        )
        if starts is not None:
            check_counterfactual_layout(
                arrays["counterfactual_logits"], starts, arrays["episode_ids"], spec
            )


def _check_values(cf: np.ndarray, meta: TrajectoryMeta) -> None:
    """K >= 1 counterfactual values, as many as the spec's variable has (when there is one)."""
    k_size = cf.shape[3]
    if k_size < 1:
        raise located_error(
            ShapeError,
            "counterfactual_logits",
            "counterfactual_logits: expected K >= 1 counterfactual values",
        )
    spec = meta.influence_spec
    if spec is None:
        return
    messages = spec.variable == "messages"
    expected = meta.num_symbols if messages else meta.num_actions
    if k_size != expected:
        raise located_error(
            ShapeError,
            "counterfactual_logits",
            f"counterfactual_logits: the influence spec's variable is {spec.variable!r}, so K "
            f"must be {'num_symbols' if messages else 'num_actions'}={expected}; got "
            f"{describe(cf)}",
        )


def check_agent_labels(
    arr: np.ndarray,
    name: str,
    counts: tuple[int, ...],
    size_name: str,
    agent_ids: tuple[str, ...],
    *,
    missing: bool = False,
) -> None:
    """Raise a located ShapeError unless ``arr[t, i]`` lies in [0, counts[i]) (or is -1 with
    ``missing``: no label, e.g. no message).

    Examples
    --------
    >>> check_agent_labels(np.array([[2, -1]]), "messages", (3, 0), "num_symbols",
    ...                    ("speaker", "listener"), missing=True)
    >>> try:
    ...     check_agent_labels(np.array([[0, 1]]), "messages", (3, 0), "num_symbols",
    ...                        ("speaker", "listener"), missing=True)
    ... except ShapeError as err:
    ...     print(err)
    messages: expected values in [0, 0) for agent 1 (listener) (it does not speak: -1 = no
    message); got 1 at step 0, agent 1 (listener); check the data or agent_num_symbols
    """
    if arr.size == 0:
        return
    upper = np.asarray(counts, dtype=np.int64)[None, :]
    low = -1 if missing else 0
    bad = (arr < low) | ((arr >= upper) & ~(missing & (arr == -1)))
    idx = first_true(bad) if bad.any() else None
    if idx is None:
        return
    agent = int(idx[1])
    size = int(counts[agent])
    homogeneous = len(set(counts)) == 1
    allowed = (
        f"[0, {size_name}={size})"
        if homogeneous
        else f"[0, {size}) for agent {agent} ({agent_ids[agent]})"
    )
    notes = []
    if missing:
        notes.append("it does not speak: -1 = no message" if size == 0 else "or -1 for none")
    note = f" ({'; '.join(notes)})" if notes else ""
    fix = f"check the data or {'set ' if homogeneous else 'agent_'}{size_name}"
    raise located_error(
        ShapeError,
        name,
        f"{name}: expected values in {allowed}{note}; got {int(arr[idx])} at "
        f"{describe_index(idx, agent_ids)}; {fix}",
        idx,
    )


def mask_padding(arrays: dict[str, np.ndarray], meta: TrajectoryMeta) -> None:
    """Set the entries that heterogeneous agents do not have, in place (copies if needed).

    - ``logits[:, i, A_i:]`` and ``message_logits[:, i, M_i:]`` become -inf (an action or
      symbol agent i does not have has probability 0);
    - ``counterfactual_logits[:, k, j, :, A_j:]`` become -inf, and so do the rows
      ``[:, k, :, K_k:]`` of values influencer k cannot take (K_k = A_k or M_k, by the
      influence spec's variable; absent rows);
    - ``obs[:, i, size_i:]`` of flattened heterogeneous observations become 0.

    Homogeneous metadata leaves every array as it is.
    """
    a_mask, m_mask = meta.action_mask(), meta.symbol_mask()
    targets: list[tuple[str, Any, float]] = []
    if meta.agent_num_actions is not None:
        targets.append(("logits", (slice(None), ~a_mask), -np.inf))
    if meta.agent_num_symbols is not None:
        targets.append(("message_logits", (slice(None), ~m_mask), -np.inf))
    cf = arrays.get("counterfactual_logits")
    if cf is not None:
        spec = meta.influence_spec
        invalid = np.zeros(cf.shape[1:], dtype=bool)  # (N, N, K, A)
        if meta.agent_num_actions is not None:
            invalid |= ~a_mask[None, :, None, :]
        if spec is not None:
            values = meta.symbol_mask() if spec.variable == "messages" else a_mask
            if values.shape[1] == cf.shape[3] and not values.all():
                invalid |= ~values[:, None, :, None]
        if invalid.any():
            targets.append(("counterfactual_logits", (slice(None), invalid), -np.inf))
    if meta.obs_shapes is not None and "obs" in arrays:
        sizes = np.array([math.prod(s) for s in meta.obs_shapes])
        width = arrays["obs"].shape[2]
        targets.append(("obs", (slice(None), np.arange(width)[None, :] >= sizes[:, None]), 0))
    for name, index, fill in targets:
        arr = arrays.get(name)
        if arr is None:
            continue
        region = arr[index]
        if region.size == 0 or np.all(region == fill):
            continue
        arr = np.array(arr, copy=True)
        arr[index] = fill
        arrays[name] = arr


def _check_obs(arrays: Mapping[str, np.ndarray], meta: TrajectoryMeta) -> None:
    """Flattened heterogeneous observations: (T, N, D), D the largest agent's size."""
    if meta.obs_shapes is None or "obs" not in arrays:
        return
    obs = arrays["obs"]
    width = max(math.prod(s) for s in meta.obs_shapes)
    if obs.ndim != 3 or obs.shape[2] != width:
        raise located_error(
            ShapeError,
            "obs",
            f"obs: with per-agent obs_shapes {[list(s) for s in meta.obs_shapes]} expected "
            f"each agent's observation flattened and padded, shape (T, N, D={width}); got "
            f"{describe(obs)}; give per-agent arrays to Trajectory.from_arrays to have them "
            f"flattened",
        )


def _check_live_rows(
    arr: np.ndarray, name: str, live: tuple[bool, ...], agent_ids: tuple[str, ...]
) -> None:
    """No row of an agent in ``live`` has all entries -inf."""
    dead = np.isneginf(arr).all(axis=-1) & np.asarray(live, dtype=bool)[None, :]
    idx = first_true(dead) if dead.any() else None
    if idx is not None:
        raise located_error(
            InvalidDistributionError,
            name,
            f"{name}: every entry is -inf (all values masked) at "
            f"{describe_index(idx, agent_ids)}, which is not a distribution",
            idx,
        )


def copy_shared_inputs(arrays: dict[str, np.ndarray], inputs: Mapping[str, Any]) -> None:
    """Replace, in place, every array that may share memory with its caller's input by a copy
    (so a built trajectory cannot change when the caller edits its arrays)."""
    for name, arr in arrays.items():
        if shares_memory(arr, inputs.get(name)):
            arrays[name] = arr.copy()
