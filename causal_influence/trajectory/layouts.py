"""The dict layouts :meth:`Trajectory.from_arrays` reads, stacked time-major, agent second.

Three layouts are accepted: **stacked** (``{"actions": (T, N), ...}``), **per field, per
agent** (``{"actions": {"agent_0": (T,), ...}, ...}``) and **per agent** (``{"agent_0":
{"actions": (T,), ...}, ..., "episode_ids": (T,)}``). :func:`stack_layouts` turns any mix of
them into the keyword arguments of :class:`~causal_influence.trajectory.Trajectory`.

Examples
--------
>>> import numpy as np
>>> from causal_influence.trajectory.layouts import stack_layouts
>>> arrays, overrides = stack_layouts(
...     {"actions": {"b": [0, 1], "a": [1, 1]}, "rewards": np.zeros((2, 2))},
...     metadata=None, overrides={})
>>> arrays["actions"], overrides
(array([[0, 1],
       [1, 1]]), {'agent_ids': ('b', 'a')})
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from causal_influence.errors import ConfigError, DTypeError, ShapeError, describe
from causal_influence.trajectory.arrays import to_numpy
from causal_influence.trajectory.metadata import TrajectoryMeta, given_agent_ids
from causal_influence.trajectory.schema import ARRAY_FIELDS, EPISODE_FIELDS, REQUIRED_FIELDS

__all__ = ["agent_view", "stack_agents", "stack_layouts"]

#: Gymnasium-style episode ends: both mean "the episode ended at this step".
_GYM_DONES = frozenset({"terminated", "truncated"})
#: Keys a layout may hold: every array field plus the other episode boundary forms.
_VALID = frozenset(ARRAY_FIELDS) | {"episode_starts", "dones"} | _GYM_DONES
#: Keys every agent shares, given once as (T,) arrays.
_SHARED = frozenset(EPISODE_FIELDS) | {"episode_starts"}


def stack_layouts(
    data: Mapping[str, Any],
    *,
    metadata: TrajectoryMeta | Mapping[str, Any] | None,
    overrides: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Stacked arrays (per-agent entries stacked along axis 1) and the metadata overrides.

    Agents are stacked in the order of ``agent_ids`` when given (as an override or in
    ``metadata``), else in order of first appearance, which then becomes ``agent_ids`` in the
    returned overrides.

    Raises
    ------
    DTypeError
        If ``data`` is not a mapping.
    ConfigError
        On unknown keys, per-agent shared fields, a field given both stacked and per agent,
        agents that differ between fields, or missing ``actions`` / ``rewards``.
    ShapeError
        If the per-agent arrays of a field differ in shape.
    """
    if not isinstance(data, Mapping):
        raise DTypeError(
            f"from_arrays: expected a dict of arrays; got {describe(data)} (use "
            f"Trajectory.from_dataframe for a pandas DataFrame)"
        )
    stacked, per_agent, agents_seen = _sort_entries(data)
    overrides = dict(overrides)
    if per_agent:
        clash = sorted(set(per_agent) & set(stacked))
        if clash:
            raise ConfigError(f"from_arrays: {clash} given both stacked and per agent")
        given = given_agent_ids(metadata, overrides)
        order = list(given) if given is not None else agents_seen
        if given is None:
            overrides["agent_ids"] = tuple(order)
        found: dict[str, Any] = {}
        for fname, by_agent in per_agent.items():
            stacked[fname], more = stack_agents(fname, by_agent, list(order))
            found.update(more)
        _non_speakers(per_agent, list(order), found, metadata, overrides)
        for key, value in found.items():
            if overrides.get(key) is None and _given(metadata, key) is None:
                overrides[key] = value
    missing = [f for f in REQUIRED_FIELDS if f not in stacked]
    if missing:
        raise ConfigError(f"from_arrays: missing required fields {missing}")
    _gym_dones(stacked)
    return stacked, overrides


def _given(metadata: TrajectoryMeta | Mapping[str, Any] | None, key: str) -> Any:
    """The value of metadata field ``key`` in ``metadata``, or None."""
    if isinstance(metadata, TrajectoryMeta):
        return getattr(metadata, key, None)
    if isinstance(metadata, Mapping):
        return metadata.get(key)
    return None


def _non_speakers(
    per_agent: Mapping[str, Mapping[str, Any]],
    order: list[str],
    found: dict[str, Any],
    metadata: TrajectoryMeta | Mapping[str, Any] | None,
    overrides: Mapping[str, Any],
) -> None:
    """Agents left out of per-agent ``messages`` do not speak: their vocabulary size is 0
    (``agent_num_symbols``), the others' that of ``message_logits`` or ``num_symbols``."""
    speakers = per_agent.get("messages")
    if speakers is None or len(speakers) == len(order) or "agent_num_symbols" in found:
        return
    size = overrides.get("num_symbols", _given(metadata, "num_symbols"))
    names = overrides.get("symbol_names", _given(metadata, "symbol_names"))
    if size is None and names is not None:
        size = len(tuple(names))
    if size is None:
        raise ConfigError(
            f"num_symbols: messages were given for {sorted(speakers)} only (the others do not "
            f"speak) but the vocabulary size cannot be inferred (no symbol_names or "
            f"message_logits); pass num_symbols=M"
        )
    found["agent_num_symbols"] = tuple(int(size) if a in speakers else 0 for a in order)


def _gym_dones(stacked: dict[str, Any]) -> None:
    """Gymnasium-style ``terminated`` / ``truncated`` ((T,) or (T, N) bool) become ``dones``
    (the episode ends at a step where either is True)."""
    given = [k for k in sorted(_GYM_DONES) if k in stacked]
    if not given:
        return
    if "dones" in stacked:
        raise ConfigError(
            f"from_arrays: give dones or terminated/truncated, not both (got dones and "
            f"{', '.join(given)})"
        )
    parts = []
    for key in given:
        arr = to_numpy(stacked.pop(key), key)
        if arr.dtype.kind not in "biu":
            raise DTypeError(f"{key}: expected booleans; got {describe(arr)}")
        parts.append(arr.astype(bool))
    try:
        stacked["dones"] = np.logical_or.reduce(np.broadcast_arrays(*parts))
    except ValueError as err:
        raise ShapeError(
            f"terminated and truncated: expected the same shape, (T,) or (T, N); got "
            f"{[p.shape for p in parts]}"
        ) from err


def _sort_entries(
    data: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], list[str]]:
    """Split ``data`` into stacked fields, per-agent fields (field -> agent -> array) and the
    agents in order of first appearance."""
    stacked: dict[str, Any] = {}
    per_agent: dict[str, dict[str, Any]] = {}
    agents_seen: list[str] = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            if key in _SHARED:
                raise ConfigError(
                    f"from_arrays: {key!r} is shared by all agents; give one (T,) array, "
                    f"not a per-agent dict"
                )
            if key in _VALID:  # per field, per agent
                per_agent.setdefault(key, {}).update(value)
                agents_seen.extend(a for a in value if a not in agents_seen)
            else:  # per agent: key is an agent id
                if key not in agents_seen:
                    agents_seen.append(key)
                for fname, arr in value.items():
                    if fname not in _VALID or fname in _SHARED:
                        raise ConfigError(
                            f"from_arrays: unknown per-agent field {fname!r} of agent "
                            f"{key!r}; per-agent fields are {sorted(_VALID - _SHARED)}"
                        )
                    per_agent.setdefault(fname, {})[key] = arr
        elif key in _VALID:
            stacked[key] = value
        else:
            raise ConfigError(
                f"from_arrays: unknown key {key!r}; expected field names "
                f"{sorted(_VALID)} (drop other entries, or rename them)"
            )
    return stacked, per_agent, agents_seen


#: Per-agent fields an agent may leave out, and what it is recorded as: no message (-1), no
#: context (-1), a message head it does not have (-inf: all symbols impossible).
_MAY_BE_MISSING: dict[str, float] = {"messages": -1, "context": -1, "message_logits": -np.inf}
#: Per-agent fields holding one label or number per step (per agent: shape (T,)).
_SCALAR = frozenset({"actions", "rewards", "messages", "context", "dones"}) | _GYM_DONES
#: Per-agent fields holding one entry per agent (per agent: shape (T, N)).
_PER_OTHER = frozenset({"visible", "influence"})


def stack_agents(
    fname: str, by_agent: Mapping[str, Any], order: list[str]
) -> tuple[np.ndarray, dict[str, Any]]:
    """The per-agent arrays of one field stacked along axis 1, in ``order``, and what the
    stacking found out about heterogeneous agents (metadata overrides).

    Scalar fields need the same (T,) shape per agent. ``logits`` and ``message_logits`` of
    different widths are padded with -inf (``agent_num_actions`` / ``agent_num_symbols``
    found); observations of different shapes are flattened and padded with 0
    (``obs_shapes``); counterfactual logits of influencers with different numbers of values
    K_k get absent (-inf) rows, and may be given per influencee (``{k: {j: (T, K_k, A_j)}}``;
    a pair or an influencer left out means j does not read k: equal rows). Agents may leave
    out ``messages`` (no message, -1), ``context`` (-1) and ``message_logits`` (-inf).

    Examples
    --------
    >>> arr, found = stack_agents("logits", {"s": np.zeros((2, 3)), "l": np.ones((2, 5))},
    ...                           ["s", "l"])
    >>> arr.shape, found, arr[0, 0]
    ((2, 2, 5), {'agent_num_actions': (3, 5)}, array([  0.,   0.,   0., -inf, -inf]))
    """
    unknown = [a for a in by_agent if a not in order]
    if unknown:
        raise ConfigError(
            f"from_arrays: field {fname!r} has agents {unknown} that are not among the agent "
            f"ids {order}"
        )
    missing = [a for a in order if a not in by_agent]
    if missing and fname not in _MAY_BE_MISSING and fname != "counterfactual_logits":
        raise ConfigError(
            f"from_arrays: field {fname!r} has no entry for agents {missing}; every agent "
            f"needs {fname!r} (only messages, message_logits, context and counterfactual_logits "
            f"may be left out for agents without them)"
        )
    if fname == "counterfactual_logits":
        return _stack_counterfactuals(by_agent, order), {}
    parts = {a: to_numpy(by_agent[a], f"{fname}[{a!r}]") for a in by_agent}
    _check_lengths(fname, parts)
    if fname in _SCALAR or fname in _PER_OTHER:
        want = () if fname in _SCALAR else (len(order),)
        text = "(T,)" if fname in _SCALAR else f"(T, N) with N = {len(order)} agents"
        for a, part in parts.items():
            if part.shape[1:] != want:
                raise ShapeError(
                    f"{fname}[{a!r}]: expected shape {text} per agent; got shape {part.shape}"
                )
    overrides: dict[str, Any] = {}
    if fname == "obs":
        shapes = [parts[a].shape[1:] for a in order]
        if len(set(shapes)) > 1:
            overrides["obs_shapes"] = tuple(shapes)
            parts = {a: p.reshape(p.shape[0], -1) for a, p in parts.items()}
    if fname in ("logits", "message_logits") or "obs_shapes" in overrides:
        _check_vectors(fname, parts)
    if fname in ("logits", "message_logits") or "obs_shapes" in overrides:
        widths = [parts[a].shape[1] if a in parts else 0 for a in order]
        if len(set(widths)) > 1 or missing:
            if fname != "obs":
                key = "agent_num_actions" if fname == "logits" else "agent_num_symbols"
                overrides[key] = tuple(widths)
            fill = 0 if fname == "obs" else -np.inf
            parts = {a: _pad_last(p, max(widths), fill) for a, p in parts.items()}
    if missing:
        first = next(iter(parts.values()))
        for a in missing:
            parts[a] = np.full(first.shape, _MAY_BE_MISSING[fname], dtype=_fill_dtype(first))
    return np.stack([parts[a] for a in order], axis=1), overrides


def _fill_dtype(like: np.ndarray) -> Any:
    return like.dtype if like.dtype.kind in "if" else np.int64


def _check_lengths(fname: str, parts: Mapping[str, np.ndarray]) -> None:
    """Every agent's array of ``fname`` has the same number of steps (first axis)."""
    for a, part in parts.items():
        if part.ndim == 0:
            raise ShapeError(
                f"{fname}[{a!r}]: expected an array with one entry per step; got a scalar"
            )
    lengths = {a: int(p.shape[0]) for a, p in parts.items()}
    if len(set(lengths.values())) > 1:
        raise ShapeError(
            f"{fname}: per-agent arrays differ in length {sorted(lengths.items())}; every "
            f"agent needs the same number of steps T"
        )


def _check_vectors(fname: str, parts: Mapping[str, np.ndarray]) -> None:
    """Per-agent logits (or flattened observations) are (T, W) arrays."""
    for a, part in parts.items():
        if part.ndim != 2:
            raise ShapeError(
                f"{fname}[{a!r}]: expected shape (T, W) per agent (one vector per step); got "
                f"shape {part.shape}"
            )


def _pad_last(arr: np.ndarray, width: int, fill: float) -> np.ndarray:
    """``arr`` padded with ``fill`` at the end of its last axis to ``width`` entries."""
    missing = width - arr.shape[-1]
    if missing <= 0:
        return arr
    if arr.dtype.kind not in "f" and not np.isfinite(fill):
        arr = arr.astype(np.float64)
    pad = np.full((*arr.shape[:-1], missing), fill, dtype=arr.dtype)
    return np.concatenate([arr, pad], axis=-1)


def _stack_counterfactuals(by_agent: Mapping[str, Any], order: list[str]) -> np.ndarray:
    """(T, N, N, K, A) counterfactual logits from per-influencer arrays (T, N, K_k, A) or
    per-influencee dicts ``{j: (T, K_k, A_j)}``; K and A padded with -inf; an influencer
    left out has equal rows (nobody reads it)."""
    if not by_agent:
        raise ConfigError("counterfactual_logits: expected at least one influencer")
    rows: dict[str, np.ndarray] = {}
    for k, value in by_agent.items():
        if isinstance(value, Mapping):
            rows[k] = _influencee_blocks(k, value, order)
        else:
            arr = to_numpy(value, f"counterfactual_logits[{k!r}]")
            if arr.ndim != 4 or arr.shape[1] != len(order):
                raise ShapeError(
                    f"counterfactual_logits[{k!r}]: expected shape (T, N, K, A) with N = "
                    f"{len(order)} influencees (or a dict of (T, K, A) arrays by influencee); "
                    f"got shape {arr.shape}"
                )
            rows[k] = arr
    _check_lengths("counterfactual_logits", rows)
    k_max = max(r.shape[2] for r in rows.values())
    a_max = max(r.shape[3] for r in rows.values())
    t_len = next(iter(rows.values())).shape[0]
    out = []
    for k in order:
        if k not in rows:  # nobody reads an influencer left out: equal rows
            out.append(np.zeros((t_len, len(order), k_max, a_max)))
            continue
        block = rows[k].astype(np.float64) if rows[k].dtype.kind != "f" else rows[k]
        block = _pad_last(block, a_max, -np.inf)
        pad_k = k_max - block.shape[2]
        if pad_k:
            absent = np.full((*block.shape[:2], pad_k, a_max), -np.inf, dtype=block.dtype)
            block = np.concatenate([block, absent], axis=2)
        out.append(block)
    return np.stack(out, axis=1)


def _influencee_blocks(k: str, by_j: Mapping[str, Any], order: list[str]) -> np.ndarray:
    """(T, N, K_k, A) of influencer ``k`` from ``{j: (T, K_k, A_j)}``; pairs left out get
    equal rows (j does not read k), A padded with -inf."""
    unknown = [j for j in by_j if j not in order]
    if unknown:
        raise ConfigError(
            f"counterfactual_logits[{k!r}]: influencees {unknown} are not among the agent ids "
            f"{order}"
        )
    if not by_j:
        raise ConfigError(f"counterfactual_logits[{k!r}]: expected at least one influencee")
    parts = {j: to_numpy(v, f"counterfactual_logits[{k!r}][{j!r}]") for j, v in by_j.items()}
    for j, part in parts.items():
        if part.ndim != 3:
            raise ShapeError(
                f"counterfactual_logits[{k!r}][{j!r}]: expected shape (T, K, A) (influencee "
                f"{j!r}'s logits under each of the K values of {k!r}); got shape {part.shape}"
            )
    shapes = {j: p.shape[:2] for j, p in parts.items()}
    if len(set(shapes.values())) > 1:
        raise ShapeError(
            f"counterfactual_logits[{k!r}]: the influencees' arrays differ in steps or "
            f"values (T, K) {sorted(shapes.items())}; every influencee sees the same K values "
            f"of {k!r} at every step"
        )
    t_len, k_size = next(iter(shapes.values()))
    a_max = max(p.shape[2] for p in parts.values())
    dtype = np.result_type(np.float32, *[p.dtype for p in parts.values()])
    out = np.zeros((t_len, len(order), k_size, a_max), dtype=dtype)
    for j, part in parts.items():
        out[:, order.index(j)] = _pad_last(part.astype(dtype), a_max, -np.inf)
    return out


def agent_view(
    obs: np.ndarray, shapes: tuple[tuple[int, ...], ...] | None, agent: int
) -> np.ndarray:
    """Agent ``agent``'s observations (T, *shape) from ``obs`` (T, N, ...), undoing the
    flattening and padding of heterogeneous observations (``shapes``: ``obs_shapes``).

    Examples
    --------
    >>> agent_view(np.arange(8).reshape(1, 2, 4), ((3,), (2, 2)), 1)
    array([[[4, 5],
            [6, 7]]])
    """
    if shapes is None:
        return obs[:, agent]
    size = math.prod(shapes[agent])
    return obs[:, agent, :size].reshape(obs.shape[0], *shapes[agent])
