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

from collections.abc import Mapping
from typing import Any

import numpy as np

from causal_influence.errors import ConfigError, DTypeError, ShapeError, describe
from causal_influence.trajectory.arrays import to_numpy
from causal_influence.trajectory.metadata import TrajectoryMeta, given_agent_ids
from causal_influence.trajectory.schema import ARRAY_FIELDS, EPISODE_FIELDS, REQUIRED_FIELDS

__all__ = ["stack_layouts"]

#: Keys a layout may hold: every array field plus the other episode boundary forms.
_VALID = frozenset(ARRAY_FIELDS) | {"episode_starts", "dones"}
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
        for fname, by_agent in per_agent.items():
            stacked[fname] = _stack_agents(fname, by_agent, order)
    missing = [f for f in REQUIRED_FIELDS if f not in stacked]
    if missing:
        raise ConfigError(f"from_arrays: missing required fields {missing}")
    return stacked, overrides


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


def _stack_agents(fname: str, by_agent: Mapping[str, Any], order: list[str]) -> np.ndarray:
    """The per-agent arrays of one field stacked along axis 1, in ``order``."""
    if set(by_agent) != set(order):
        raise ConfigError(
            f"from_arrays: field {fname!r} has agents {sorted(by_agent)}; expected "
            f"{sorted(order)} (every field needs every agent)"
        )
    parts = [to_numpy(by_agent[a], f"{fname}[{a!r}]") for a in order]
    shapes = {p.shape for p in parts}
    if len(shapes) != 1:
        raise ShapeError(
            f"{fname}: per-agent arrays differ in shape "
            f"{[(a, p.shape) for a, p in zip(order, parts, strict=True)]}; every "
            f"agent needs the same number of steps"
        )
    return np.stack(parts, axis=1)
