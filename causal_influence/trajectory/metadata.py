"""Metadata of a trajectory (:class:`TrajectoryMeta`) and its JSON normalisation.

Also what metadata two trajectories must share to be joined (:func:`metadata_mismatch`), the
metadata of a join (:func:`merge_metadata`), and the merge of a ``metadata=`` argument with
keyword overrides that every constructor accepts (:func:`metadata_fields`).

Examples
--------
>>> from causal_influence.trajectory.metadata import TrajectoryMeta, metadata_mismatch
>>> a = TrajectoryMeta(agent_ids=("agent_0",), num_actions=3, seed=1)
>>> b = TrajectoryMeta(agent_ids=("agent_0",), num_actions=4, seed=2)
>>> metadata_mismatch(a, b)
'num_actions (3 vs 4)'
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from causal_influence.errors import ConfigError, DTypeError, ShapeError, describe
from causal_influence.trajectory.influence_spec import LEGACY_KEYS, InfluenceSpec, spec_from_legacy
from causal_influence.trajectory.schema import ARRAY_FIELDS

__all__ = [
    "COMPATIBLE_FIELDS",
    "TrajectoryMeta",
    "given_agent_ids",
    "merge_metadata",
    "metadata_fields",
    "metadata_mismatch",
    "updated_fields",
]

#: Keys accepted in a metadata dict in place of a field name.
_ALIASES = {"env": "env_name"}

#: Metadata fields two trajectories must share to be concatenated or read as one dataset.
COMPATIBLE_FIELDS: tuple[str, ...] = (
    "agent_ids",
    "num_actions",
    "num_symbols",
    "action_names",
    "symbol_names",
    "num_contexts",
    "context_names",
    "env_name",
    "env_version",
    "agent_num_actions",
    "agent_num_symbols",
    "obs_shapes",
    "influence_spec",
)


# --------------------------------------------------------------------------------------------
# normalisation of single values


def _json_default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (set, frozenset)):
        return sorted(x)
    raise TypeError(f"{type(x).__name__} is not JSON serialisable")


def _normalise_extra(extra: Any) -> dict[str, Any]:
    """``extra`` after a JSON round trip (tuples become lists, numpy scalars Python numbers)."""
    if extra is None:
        return {}
    if not isinstance(extra, Mapping):
        raise DTypeError(
            f"extra: expected a dict of JSON-serialisable values; got {describe(extra)}"
        )
    try:
        text = json.dumps(dict(extra), default=_json_default, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise DTypeError(
            f"extra: expected JSON-serialisable values (str, numbers, bools, None, lists, dicts; "
            f"no NaN); {err}; convert the value or drop it"
        ) from err
    out: dict[str, Any] = json.loads(text)
    return out


def _names(value: Any, name: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise DTypeError(f"{name}: expected a list of strings; got {describe(value)}")
    out = tuple(value)
    if not all(isinstance(v, str) for v in out):
        raise DTypeError(f"{name}: expected a list of strings; got {list(out)!r}")
    return out


def _opt_int(value: Any, name: str, *, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise DTypeError(f"{name}: expected an integer; got {describe(value)} ({value!r})")
    if int(value) < minimum:
        raise ConfigError(f"{name}: expected an integer >= {minimum}; got {int(value)}")
    return int(value)


def _agent_ids(value: Any) -> tuple[str, ...]:
    ids = _names(value, "agent_ids")
    if not ids:
        raise ShapeError("agent_ids: expected at least one agent id; got none")
    if len(set(ids)) != len(ids):
        dup = next(a for a in ids if ids.count(a) > 1)
        raise ConfigError(f"agent_ids: expected unique ids; {dup!r} appears more than once")
    return ids


def _check_name_count(names: tuple[str, ...] | None, name: str, size: Any, size_name: str) -> None:
    if names is not None and len(names) != size:
        what = name.split("_")[0]
        raise ShapeError(
            f"{name}: expected {size_name}={size} names; got {len(names)}; give one name per "
            f"{what} or leave {name} out"
        )


def _env_text(value: Any, name: str) -> str | None:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = str(int(value))
    if value is not None and not isinstance(value, str):
        raise DTypeError(f"{name}: expected a string or None; got {describe(value)}")
    return value


def _counts(
    value: Any, name: str, num_agents: int, size: int, size_name: str, *, minimum: int
) -> tuple[int, ...] | None:
    """Per-agent alphabet sizes: N integers in [minimum, size] whose largest is ``size``;
    None when not given or when every agent has ``size`` (the homogeneous case)."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise DTypeError(f"{name}: expected one integer per agent; got {describe(value)}")
    counts = tuple(_opt_int(v, name, minimum=minimum) for v in value)
    if len(counts) != num_agents:
        raise ShapeError(
            f"{name}: expected one entry per agent (N={num_agents}, agent_ids); got {len(counts)}"
        )
    largest = max(c for c in counts if c is not None)
    if largest != size:
        raise ConfigError(
            f"{name}: {size_name}={size} is the width of the padded arrays, the largest "
            f"agent's count; got {list(counts)} (largest {largest}); leave {size_name} out "
            f"to take the largest, or fix the counts"
        )
    out = tuple(int(c) for c in counts if c is not None)
    return None if all(c == size for c in out) else out


def _obs_shapes(value: Any, num_agents: int) -> tuple[tuple[int, ...], ...] | None:
    """Per-agent observation shapes (N tuples of non-negative ints); None when not given or
    when every agent has the same shape (then ``obs`` keeps its (T, N, ...) shape)."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise DTypeError(f"obs_shapes: expected one shape per agent; got {describe(value)}")
    shapes = []
    for shape in value:
        if isinstance(shape, (str, bytes)) or not isinstance(shape, Iterable):
            raise DTypeError(f"obs_shapes: expected shapes (tuples of int); got {shape!r}")
        dims = tuple(_opt_int(d, "obs_shapes", minimum=0) for d in shape)
        shapes.append(tuple(int(d) for d in dims if d is not None))
    if len(shapes) != num_agents:
        raise ShapeError(
            f"obs_shapes: expected one shape per agent (N={num_agents}); got {len(shapes)}"
        )
    return None if len(set(shapes)) == 1 else tuple(shapes)


def _influence_spec(value: Any, extra: dict[str, Any]) -> tuple[InfluenceSpec | None, dict]:
    """The typed spec (given, or converted from the legacy ``extra`` keys of old files)."""
    legacy, rest = spec_from_legacy(extra)
    if value is None:
        return legacy, rest
    spec = InfluenceSpec.from_dict(value)
    if legacy is not None and legacy != spec:
        raise ConfigError(
            f"influence_spec: {spec} disagrees with the legacy keys in extra "
            f"({', '.join(k for k in LEGACY_KEYS if k in extra)} give {legacy}); drop them "
            f"from extra"
        )
    return spec, rest if legacy is not None else extra


# --------------------------------------------------------------------------------------------
# the type


@dataclass(frozen=True)
class TrajectoryMeta:
    """Metadata of a :class:`Trajectory` (stored in the JSON sidecar of its files).

    Attributes
    ----------
    agent_ids : tuple of str
        Name of each agent index, ``("agent_0", ..., "agent_{N-1}")`` by default; unique.
    num_actions : int
        Number of actions A; actions lie in [0, A).
    num_symbols : int
        Message vocabulary size M (0 = no message channel); messages lie in [0, M).
    action_names, symbol_names : tuple of str or None
        Names of the A actions and M symbols.
    num_contexts : int
        Number of context labels G (0 = no context recorded); the ``context`` field holds
        labels in [0, G), or -1 where an agent sees no context.
    context_names : tuple of str or None
        Names of the G context labels (e.g. the landmark a speaker is shown).
    env_name, env_version : str or None
        Environment that produced the data (e.g. ``"harvest"``, ``"v0"``).
    seed : int or None
        Seed of the recording.
    extra : dict
        Anything else, JSON-serialisable (normalised by a JSON round trip when built, so
        tuples become lists and numpy scalars Python numbers).
    agent_num_actions : tuple of int or None
        Heterogeneous agents: the number of actions of each agent (agent i's actions lie in
        [0, A_i)). ``num_actions`` is then the largest, the width of the padded arrays;
        logits of the actions an agent does not have are -inf (the mask
        :meth:`action_mask`). None when every agent has ``num_actions``.
    agent_num_symbols : tuple of int or None
        The vocabulary size of each agent; 0 for an agent that does not speak (its messages
        are all -1). None when every agent has ``num_symbols``.
    obs_shapes : tuple of tuple of int or None
        Heterogeneous observations: each agent's observation shape. ``obs`` is then
        (T, N, D), each agent's observation flattened (C order) into the first
        prod(shape) of D = the largest size entries, the rest 0
        (:meth:`Trajectory.agent_obs <causal_influence.trajectory.Trajectory.agent_obs>`
        restores the shape). None when all agents share one shape (``obs`` is (T, N, ...)).
    influence_spec : InfluenceSpec or None
        What the stored ``influence`` and ``counterfactual_logits`` mean (alignment,
        variable, divergence, intervention, log base). Metadata of schema version 1 kept
        these in ``extra`` (``influence_alignment``, ...); they are converted when read.

    Examples
    --------
    >>> meta = TrajectoryMeta(agent_ids=("agent_0", "agent_1"), num_actions=3,
    ...                       extra={"map": "small", "horizon": np.int64(100)})
    >>> meta.num_agents, meta.extra
    (2, {'map': 'small', 'horizon': 100})
    >>> TrajectoryMeta.from_dict(meta.to_dict()) == meta
    True
    """

    agent_ids: tuple[str, ...]
    num_actions: int
    num_symbols: int = 0
    action_names: tuple[str, ...] | None = None
    symbol_names: tuple[str, ...] | None = None
    num_contexts: int = 0
    context_names: tuple[str, ...] | None = None
    env_name: str | None = None
    env_version: str | None = None
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    agent_num_actions: tuple[int, ...] | None = None
    agent_num_symbols: tuple[int, ...] | None = None
    obs_shapes: tuple[tuple[int, ...], ...] | None = None
    influence_spec: InfluenceSpec | None = None

    def __post_init__(self) -> None:
        ids = _agent_ids(self.agent_ids)
        if self.num_actions is None:
            raise ConfigError("num_actions: required (the number of actions A)")
        num_actions = _opt_int(self.num_actions, "num_actions", minimum=1)
        num_symbols = _opt_int(self.num_symbols, "num_symbols", minimum=0)
        action_names = _names(self.action_names, "action_names")
        symbol_names = _names(self.symbol_names, "symbol_names")
        context_names = _names(self.context_names, "context_names")
        num_contexts = _opt_int(self.num_contexts, "num_contexts", minimum=0)
        if num_contexts is None:
            num_contexts = len(context_names) if context_names is not None else 0
        _check_name_count(action_names, "action_names", num_actions, "num_actions")
        _check_name_count(symbol_names, "symbol_names", num_symbols, "num_symbols")
        _check_name_count(context_names, "context_names", num_contexts, "num_contexts")
        env_name = _env_text(self.env_name, "env_name")
        env_version = _env_text(self.env_version, "env_version")
        seed = _opt_int(self.seed, "seed", minimum=-(2**63))
        spec, extra = _influence_spec(self.influence_spec, _normalise_extra(self.extra))
        n = len(ids)
        checked = {
            "agent_ids": ids,
            "num_actions": num_actions,
            "num_symbols": num_symbols,
            "action_names": action_names,
            "symbol_names": symbol_names,
            "num_contexts": num_contexts,
            "context_names": context_names,
            "env_name": env_name,
            "env_version": env_version,
            "seed": seed,
            "extra": extra,
            "agent_num_actions": _counts(
                self.agent_num_actions,
                "agent_num_actions",
                n,
                num_actions or 0,
                "num_actions",
                minimum=1,
            ),
            "agent_num_symbols": _counts(
                self.agent_num_symbols,
                "agent_num_symbols",
                n,
                num_symbols or 0,
                "num_symbols",
                minimum=0,
            ),
            "obs_shapes": _obs_shapes(self.obs_shapes, n),
            "influence_spec": spec,
        }
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    @property
    def num_agents(self) -> int:
        """Number of agents N (``len(agent_ids)``)."""
        return len(self.agent_ids)

    @property
    def action_counts(self) -> tuple[int, ...]:
        """Number of actions of each agent (``num_actions`` for all when homogeneous)."""
        return self.agent_num_actions or (self.num_actions,) * self.num_agents

    @property
    def symbol_counts(self) -> tuple[int, ...]:
        """Vocabulary size of each agent (0: the agent does not speak)."""
        return self.agent_num_symbols or (self.num_symbols,) * self.num_agents

    @property
    def speakers(self) -> tuple[bool, ...]:
        """Whether each agent has a vocabulary (``symbol_counts > 0``)."""
        return tuple(c > 0 for c in self.symbol_counts)

    def action_mask(self) -> np.ndarray:
        """bool array of shape (N, A): True where action a exists for agent i.

        Examples
        --------
        >>> TrajectoryMeta(agent_ids=("s", "l"), num_actions=3,
        ...                agent_num_actions=(2, 3)).action_mask()
        array([[ True,  True, False],
               [ True,  True,  True]])
        """
        return np.arange(self.num_actions)[None, :] < np.array(self.action_counts)[:, None]

    def symbol_mask(self) -> np.ndarray:
        """bool array of shape (N, M): True where symbol m exists for agent i."""
        return np.arange(self.num_symbols)[None, :] < np.array(self.symbol_counts)[:, None]

    def value_counts(self, variable: str) -> tuple[int, ...]:
        """Number of values of each agent's ``variable`` ("actions" or "messages")."""
        return self.symbol_counts if variable == "messages" else self.action_counts

    def agent_index(self, agent: str | int) -> int:
        """Index of an agent given by id or index.

        Raises
        ------
        ConfigError
            An unknown id or an index outside [0, N).
        """
        if isinstance(agent, (int, np.integer)) and not isinstance(agent, bool):
            if 0 <= int(agent) < self.num_agents:
                return int(agent)
        elif agent in self.agent_ids:
            return self.agent_ids.index(str(agent))
        raise ConfigError(
            f"agent: expected one of {list(self.agent_ids)} or an index in [0, "
            f"{self.num_agents}); got {agent!r}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field (tuples as lists)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        out["extra"] = json.loads(json.dumps(self.extra))
        if self.obs_shapes is not None:
            out["obs_shapes"] = [list(s) for s in self.obs_shapes]
        if self.influence_spec is not None:
            out["influence_spec"] = self.influence_spec.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrajectoryMeta:
        """Inverse of :meth:`to_dict`; unknown keys go to ``extra``, ``env`` means env_name.

        Raises
        ------
        ConfigError
            If ``agent_ids`` or ``num_actions`` is missing.
        """
        known = {f.name for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        extra = dict(data.get("extra") or {})
        for key, value in data.items():
            key = _ALIASES.get(key, key)
            if key == "extra":
                continue
            if key in known:
                kwargs[key] = value
            else:
                extra[key] = value
        missing = [k for k in ("agent_ids", "num_actions") if kwargs.get(k) is None]
        if missing:
            raise ConfigError(f"metadata: missing {', '.join(missing)}")
        return cls(**kwargs, extra=extra)


# --------------------------------------------------------------------------------------------
# metadata of constructors and joins


def metadata_fields(
    metadata: TrajectoryMeta | Mapping[str, Any] | None, overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """Merge ``metadata`` and keyword ``overrides`` into :class:`TrajectoryMeta` keyword arguments.

    Overrides win; ``env`` means ``env_name``; keys that are no field of a dict ``metadata``
    go to ``extra`` (merged with its ``extra``). Fields neither gives are absent, so the caller
    can fill in defaults (agent ids, sizes inferred from the arrays) before building.

    Raises
    ------
    TypeError
        If an override is no metadata field (a misspelt keyword argument).
    DTypeError
        If ``metadata`` is neither a TrajectoryMeta nor a dict.

    Examples
    --------
    >>> metadata_fields({"env": "harvest", "map": "small"}, {"num_actions": 8})
    {'env_name': 'harvest', 'num_actions': 8, 'extra': {'map': 'small'}}
    """
    known = {f.name for f in fields(TrajectoryMeta)}
    out: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    sources: list[Mapping[str, Any]] = []
    if isinstance(metadata, TrajectoryMeta):
        sources.append({f.name: getattr(metadata, f.name) for f in fields(TrajectoryMeta)})
    elif isinstance(metadata, Mapping):
        sources.append(metadata)
    elif metadata is not None:
        raise DTypeError(f"metadata: expected a TrajectoryMeta or a dict; got {describe(metadata)}")
    unknown = sorted(k for k in overrides if _ALIASES.get(k, k) not in known)
    if unknown:
        raise TypeError(
            f"unexpected keyword argument(s) {unknown}; array fields are {list(ARRAY_FIELDS)} "
            f"(plus episode_starts, dones), metadata fields are "
            f"{[f.name for f in fields(TrajectoryMeta)]}; put free-form entries in extra={{...}}"
        )
    sources.append(overrides)
    for source in sources:
        for key, value in source.items():
            key = _ALIASES.get(key, key)
            if key == "extra":
                extra.update(_normalise_extra(value))
            elif key in known:
                out[key] = value
            else:
                extra[key] = value
    out["extra"] = extra
    return out


def updated_fields(meta: TrajectoryMeta, update: Mapping[str, Any]) -> dict[str, Any]:
    """:class:`TrajectoryMeta` keyword arguments of ``meta`` updated by the dict ``update``:
    its fields replace ``meta``'s (``env`` means ``env_name``), its ``extra`` and other keys
    are merged into ``extra``.

    Examples
    --------
    >>> meta = TrajectoryMeta(agent_ids=("a",), num_actions=2, seed=1, extra={"run": 1})
    >>> kw = updated_fields(meta, {"seed": 2, "note": "x"})
    >>> kw["seed"], kw["extra"]
    (2, {'run': 1, 'note': 'x'})
    """
    merged = metadata_fields(meta, {})
    changes = metadata_fields(update, {})
    extra = {**merged["extra"], **changes.pop("extra")}
    merged.update(changes, extra=extra)
    return merged


def given_agent_ids(
    metadata: TrajectoryMeta | Mapping[str, Any] | None, overrides: Mapping[str, Any]
) -> Any:
    """The ``agent_ids`` a constructor was given (keyword first, then ``metadata``), or None."""
    ids = overrides.get("agent_ids")
    if ids is None and isinstance(metadata, TrajectoryMeta):
        ids = metadata.agent_ids
    elif ids is None and isinstance(metadata, Mapping):
        ids = metadata.get("agent_ids")
    return ids


def metadata_mismatch(a: TrajectoryMeta, b: TrajectoryMeta) -> str | None:
    """Name and values of the first of :data:`COMPATIBLE_FIELDS` on which ``a`` and ``b``
    differ (``"num_actions (3 vs 4)"``), or None when they may be joined."""
    for name in COMPATIBLE_FIELDS:
        if getattr(a, name) != getattr(b, name):
            return f"{name} ({getattr(a, name)!r} vs {getattr(b, name)!r})"
    return None


def merge_metadata(metas: Sequence[TrajectoryMeta]) -> TrajectoryMeta:
    """Metadata of a join: the first one's, with ``seed`` only if all agree and ``extra`` only
    the entries all share.

    Examples
    --------
    >>> a = TrajectoryMeta(agent_ids=("x",), num_actions=2, seed=1, extra={"map": "small"})
    >>> b = TrajectoryMeta(agent_ids=("x",), num_actions=2, seed=2, extra={"map": "small"})
    >>> merged = merge_metadata([a, b])
    >>> merged.seed, merged.extra
    (None, {'map': 'small'})
    """
    first = metas[0]
    seeds = {m.seed for m in metas}
    extra = {
        k: v for k, v in first.extra.items() if all(k in m.extra and m.extra[k] == v for m in metas)
    }
    return replace(first, seed=first.seed if len(seeds) == 1 else None, extra=extra)
