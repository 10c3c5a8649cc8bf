r"""The :class:`Trajectory` type: what agents record and what analysis reads.

A trajectory holds steps of one or more episodes of N agents, **time-major, agent second**:

=========================  ==========================  ========================================
field                      array of shape              meaning
=========================  ==========================  ========================================
``actions``                (T, N) int64                action index of each agent, in [0, A)
``rewards``                (T, N) float                reward of each agent
``episode_ids``            (T,) int64                  episode of each step (contiguous blocks)
``t``                      (T,) int64                  step within its episode (+1 per step)
``messages``               (T, N) int64, optional      symbol sent by each agent, in [0, M)
``logits``                 (T, N, A) float, optional   policy logits of each agent
``message_logits``         (T, N, M) float, optional   message-head logits of each agent
``visible``                (T, N, N) bool, optional    ``visible[t, i, j]``: j in i's view
``influence``              (T, N, N) float, optional   row = influencer k, column = influencee j
``counterfactual_logits``  (T, N, N, K, A), optional   ``[t, k, j, v, :]``: j's logits when k's
                                                       value is replaced by v (K values)
``obs``                    (T, N, ...), optional       observations (any numeric dtype)
=========================  ==========================  ========================================

plus :class:`TrajectoryMeta` (agent ids ``agent_0 ... agent_{N-1}``, ``num_actions`` A,
``num_symbols`` M, action and symbol names, env name and version, seed and a free-form,
JSON-serialisable ``extra`` dict).

Shapes, dtypes and ranges are checked **once, when a trajectory is built**, with typed errors
(:class:`~causal_influence.errors.ShapeError`, :class:`~causal_influence.errors.DTypeError`,
:class:`~causal_influence.errors.InvalidDistributionError` for NaN logits,
:class:`~causal_influence.errors.ConfigError` for missing metadata) naming the field and the
first offending step and agent. A built trajectory is immutable (its arrays are read-only), so
everything downstream can trust it.

Episode boundaries can be given as ``episode_ids`` (T,), as ``episode_starts`` (T,) bool (True
on the first step of an episode) or as ``dones`` (T,) or (T, N) bool (True on the last step of
an episode); the trajectory offers all views (:attr:`Trajectory.episode_ids`,
:attr:`Trajectory.episode_starts`, :attr:`Trajectory.episode_ends`,
:attr:`Trajectory.episode_slices`, :meth:`Trajectory.episodes`).

Data from another codebase arrives through :meth:`Trajectory.from_arrays` (a dict of arrays,
stacked ``(T, N, ...)`` or per agent) or :meth:`Trajectory.from_dataframe` (a long table with
one row per episode, t and agent). Files are in :mod:`causal_influence.io`.

Examples
--------
>>> import numpy as np
>>> from causal_influence.trajectory import Trajectory
>>> traj = Trajectory(
...     actions=np.array([[0, 1], [1, 1], [2, 0]]),
...     rewards=np.zeros((3, 2)),
...     episode_ids=np.array([0, 0, 1]),
...     num_actions=3,
... )
>>> traj
Trajectory(num_steps=3, num_agents=2, num_episodes=2, num_actions=3, fields=())
>>> traj.t
array([0, 1, 0])
>>> [len(ep) for ep in traj.episodes()]
[2, 1]
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from causal_influence._backend import is_torch
from causal_influence.errors import (
    CausalInfluenceError,
    ConfigError,
    DTypeError,
    FileFormatError,
    InvalidDistributionError,
    ShapeError,
    describe,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ARRAY_FIELDS",
    "EPISODE_FIELDS",
    "OPTIONAL_FIELDS",
    "REQUIRED_FIELDS",
    "Trajectory",
    "TrajectoryMeta",
    "concat",
]

#: Fields every trajectory has (``episode_ids`` and ``t`` default to one episode from t = 0).
REQUIRED_FIELDS: tuple[str, ...] = ("actions", "rewards")
#: Per-step episode bookkeeping, shape (T,).
EPISODE_FIELDS: tuple[str, ...] = ("episode_ids", "t")
#: Optional per-step fields, each of shape (T, N, ...).
OPTIONAL_FIELDS: tuple[str, ...] = (
    "messages",
    "logits",
    "message_logits",
    "visible",
    "influence",
    "counterfactual_logits",
    "obs",
)
#: Every array field, in storage order.
ARRAY_FIELDS: tuple[str, ...] = REQUIRED_FIELDS + EPISODE_FIELDS + OPTIONAL_FIELDS

# Long table (one row per episode, t, agent): scalar columns and per-agent vector columns.
# A vector field is one list column ``name`` or "wide" columns ``{prefix}_0 ... {prefix}_{W-1}``
# holding the agent's slice flattened in C order (W = product of the trailing shape).
_SCALAR_COLUMNS: dict[str, str] = {"actions": "action", "rewards": "reward", "messages": "message"}
_VECTOR_COLUMNS: dict[str, tuple[str, str]] = {
    "logits": ("logits", "logit"),
    "message_logits": ("message_logits", "message_logit"),
    "visible": ("visible", "visible"),
    "influence": ("influence", "influence"),
    "counterfactual_logits": ("counterfactual_logits", "counterfactual_logit"),
    "obs": ("obs", "obs"),
}
_KEY_COLUMNS: tuple[str, ...] = ("episode", "t", "agent")
#: Name of the long-table column of each field.
_COLUMN_OF: dict[str, str] = {
    "episode_ids": "episode",
    "t": "t",
    **_SCALAR_COLUMNS,
    **{name: cols[0] for name, cols in _VECTOR_COLUMNS.items()},
}
_ATTRS_KEY = "causal_influence"
_META_ALIASES = {"env": "env_name"}


# --------------------------------------------------------------------------------------------
# errors that remember where they happened (the file readers turn the index into a row)


def _located(
    cls: type[CausalInfluenceError], field_name: str, message: str, index: Any = None
) -> CausalInfluenceError:
    """An error of class ``cls`` that also records the field and array index it is about."""
    err = cls(message)
    err.__dict__.update(ci_field=field_name, ci_index=None if index is None else tuple(index))
    return err


def _where(index: Sequence[int], agent_ids: Sequence[str] | None = None) -> str:
    """Human description of an array index of a (T, N, ...) field."""
    parts = [f"step {int(index[0])}"]
    if len(index) > 1:
        a = int(index[1])
        name = f" ({agent_ids[a]})" if agent_ids is not None and 0 <= a < len(agent_ids) else ""
        parts.append(f"agent {a}{name}")
    if len(index) > 2:
        parts.append(f"entry {tuple(int(i) for i in index[2:])}")
    return ", ".join(parts)


def _first(mask: Any) -> tuple[int, ...] | None:
    """Index of the first True entry of ``mask`` (C order), or None."""
    flat = np.flatnonzero(mask)
    if flat.size == 0:
        return None
    return tuple(int(i) for i in np.unravel_index(int(flat[0]), mask.shape))


# --------------------------------------------------------------------------------------------
# metadata


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
    env_name, env_version : str or None
        Environment that produced the data (e.g. ``"harvest"``, ``"v0"``).
    seed : int or None
        Seed of the recording.
    extra : dict
        Anything else, JSON-serialisable (normalised by a JSON round trip when built, so
        tuples become lists and numpy scalars Python numbers).

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
    env_name: str | None = None
    env_version: str | None = None
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ids = _names(self.agent_ids, "agent_ids")
        if not ids:
            raise ShapeError("agent_ids: expected at least one agent id; got none")
        if len(set(ids)) != len(ids):
            dup = next(a for a in ids if ids.count(a) > 1)
            raise ConfigError(f"agent_ids: expected unique ids; {dup!r} appears more than once")
        if self.num_actions is None:
            raise ConfigError("num_actions: required (the number of actions A)")
        num_actions = _opt_int(self.num_actions, "num_actions", minimum=1)
        num_symbols = _opt_int(self.num_symbols, "num_symbols", minimum=0)
        action_names = _names(self.action_names, "action_names")
        symbol_names = _names(self.symbol_names, "symbol_names")
        if action_names is not None and len(action_names) != num_actions:
            raise ShapeError(
                f"action_names: expected num_actions={num_actions} names; got "
                f"{len(action_names)}; give one name per action or leave action_names out"
            )
        if symbol_names is not None and len(symbol_names) != num_symbols:
            raise ShapeError(
                f"symbol_names: expected num_symbols={num_symbols} names; got "
                f"{len(symbol_names)}; give one name per symbol or leave symbol_names out"
            )
        for name in ("env_name", "env_version"):
            value = getattr(self, name)
            if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
                value = str(int(value))
            if value is not None and not isinstance(value, str):
                raise DTypeError(f"{name}: expected a string or None; got {describe(value)}")
            object.__setattr__(self, name, value)
        object.__setattr__(self, "agent_ids", ids)
        object.__setattr__(self, "num_actions", num_actions)
        object.__setattr__(self, "num_symbols", num_symbols)
        object.__setattr__(self, "action_names", action_names)
        object.__setattr__(self, "symbol_names", symbol_names)
        object.__setattr__(self, "seed", _opt_int(self.seed, "seed", minimum=-(2**63)))
        object.__setattr__(self, "extra", _normalise_extra(self.extra))

    @property
    def num_agents(self) -> int:
        """Number of agents N (``len(agent_ids)``)."""
        return len(self.agent_ids)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field (tuples as lists)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        out["extra"] = json.loads(json.dumps(self.extra))
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
            key = _META_ALIASES.get(key, key)
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


def _meta_fields(metadata: TrajectoryMeta | Mapping[str, Any] | None, overrides: Mapping) -> dict:
    """Merge ``metadata`` and keyword overrides into TrajectoryMeta keyword arguments."""
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
    unknown = sorted(k for k in overrides if _META_ALIASES.get(k, k) not in known)
    if unknown:
        raise TypeError(
            f"unexpected keyword argument(s) {unknown}; array fields are {list(ARRAY_FIELDS)} "
            f"(plus episode_starts, dones), metadata fields are "
            f"{[f.name for f in fields(TrajectoryMeta)]}; put free-form entries in extra={{...}}"
        )
    sources.append(overrides)
    for source in sources:
        for key, value in source.items():
            key = _META_ALIASES.get(key, key)
            if key == "extra":
                extra.update(_normalise_extra(value))
            elif key in known:
                out[key] = value
            else:
                extra[key] = value
    out["extra"] = extra
    return out


# --------------------------------------------------------------------------------------------
# array coercion


def _shares_memory(arr: np.ndarray, source: Any) -> bool:
    """Whether ``arr`` may share memory with the caller's input ``source``."""
    if source is None or isinstance(source, (list, tuple)):
        return False
    if is_torch(source):
        source = source.detach()
        if source.device.type != "cpu":
            return False
        source = source.numpy()
    base = source if isinstance(source, np.ndarray) else np.asarray(source)
    return bool(np.may_share_memory(arr, base))


def _to_numpy(x: Any, name: str) -> np.ndarray:
    if is_torch(x):
        return np.asarray(x.detach().cpu().numpy())
    if isinstance(x, np.ndarray):
        return x
    try:
        return np.asarray(x)
    except ValueError as err:
        raise ShapeError(
            f"{name}: could not read the input as a rectangular array ({err}); "
            f"pass a numpy array of the documented shape"
        ) from err


def _int_array(x: Any, name: str) -> np.ndarray:
    arr = _to_numpy(x, name)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.size == 0 and arr.dtype.kind in "fb":  # e.g. numpy.asarray([]) is float
        return arr.astype(np.int64)
    raise _located(
        DTypeError,
        name,
        f"{name}: expected an integer array; got {describe(arr)}; convert it with "
        f".astype(int) (actions, symbols and steps are indices)",
    )


def _float_array(x: Any, name: str) -> np.ndarray:
    arr = _to_numpy(x, name)
    if arr.dtype.kind == "f":
        return arr
    if arr.dtype.kind in "iub":
        return arr.astype(np.float64)
    raise _located(
        DTypeError,
        name,
        f"{name}: expected a float array; got {describe(arr)}; convert it with .astype(float)",
    )


def _bool_array(x: Any, name: str) -> np.ndarray:
    arr = _to_numpy(x, name)
    if arr.dtype.kind == "b":
        return arr
    if arr.dtype.kind in "iu":
        idx = _first((arr != 0) & (arr != 1))
        if idx is not None:
            raise _located(
                DTypeError,
                name,
                f"{name}: expected booleans (or 0/1); got {arr[idx]} at {_where(idx)}",
                idx,
            )
        return arr.astype(bool)
    raise _located(
        DTypeError,
        name,
        f"{name}: expected a bool array; got {describe(arr)}; convert it with .astype(bool)",
    )


def _numeric_array(x: Any, name: str) -> np.ndarray:
    arr = _to_numpy(x, name)
    if arr.dtype.kind in "biuf":
        return arr
    raise _located(
        DTypeError,
        name,
        f"{name}: expected a numeric or bool array; got {describe(arr)}",
    )


def _check_shape(arr: np.ndarray, name: str, expected: tuple[Any, ...], text: str) -> None:
    """``expected`` holds ints or None (any size); ``text`` spells the expected shape."""
    ok = arr.ndim == len(expected) and all(
        e is None or s == e for s, e in zip(arr.shape, expected, strict=True)
    )
    if not ok:
        raise _located(
            ShapeError, name, f"{name}: expected an array of shape {text}; got {describe(arr)}"
        )


def _check_range(
    arr: np.ndarray, name: str, size: int, size_name: str, agent_ids: Sequence[str]
) -> None:
    if arr.size == 0:
        return
    if int(arr.min()) >= 0 and int(arr.max()) < size:
        return
    idx = _first((arr < 0) | (arr >= size))
    if idx is None:
        return
    raise _located(
        ShapeError,
        name,
        f"{name}: expected values in [0, {size_name}={size}); got {int(arr[idx])} at "
        f"{_where(idx, agent_ids)}; check the data or set {size_name}",
        idx,
    )


def _check_logits(arr: np.ndarray, name: str, agent_ids: Sequence[str], *, rows: bool) -> None:
    """No NaN or +inf; with ``rows``, no distribution whose entries are all -inf."""
    if arr.size == 0:
        return
    bad = np.isnan(arr)
    idx = _first(bad) if bad.any() else None
    if idx is not None:
        raise _located(
            InvalidDistributionError,
            name,
            f"{name}: expected finite logits (or -inf for masked actions); got NaN at "
            f"{_where(idx, agent_ids)}; check the model output for NaN",
            idx,
        )
    bad = np.isposinf(arr)
    idx = _first(bad) if bad.any() else None
    if idx is not None:
        raise _located(
            InvalidDistributionError,
            name,
            f"{name}: expected finite logits (or -inf for masked actions); got +inf at "
            f"{_where(idx, agent_ids)}; clip the logits",
            idx,
        )
    if rows:
        dead = np.isneginf(arr).all(axis=-1)
        idx = _first(dead) if dead.any() else None
        if idx is not None:
            raise _located(
                InvalidDistributionError,
                name,
                f"{name}: every entry is -inf (all actions masked) at "
                f"{_where(idx, agent_ids)}, which is not a distribution",
                idx,
            )


def _starts_from_ids(ids: np.ndarray) -> np.ndarray:
    starts = np.empty(ids.shape[0], dtype=bool)
    starts[:1] = True
    np.not_equal(ids[1:], ids[:-1], out=starts[1:])
    return starts


def _t_from_starts(starts: np.ndarray) -> np.ndarray:
    steps = np.arange(starts.shape[0], dtype=np.int64)
    first = np.maximum.accumulate(np.where(starts, steps, 0)) if steps.size else steps
    return steps - first


def _episode_structure(
    num_steps: int,
    episode_ids: Any,
    episode_starts: Any,
    dones: Any,
    t: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked ``(episode_ids, t, starts)`` from whichever boundary form was given."""
    candidates = {"episode_ids": episode_ids, "episode_starts": episode_starts, "dones": dones}
    given = [name for name, value in candidates.items() if value is not None]
    if len(given) > 1:
        raise ConfigError(
            f"episode boundaries: give one of episode_ids, episode_starts or dones; got "
            f"{', '.join(given)}"
        )
    if episode_ids is not None:
        ids = _int_array(episode_ids, "episode_ids")
        _check_shape(ids, "episode_ids", (num_steps,), f"(T,) = ({num_steps},)")
        starts = _starts_from_ids(ids)
        block_ids = ids[starts]
        if np.unique(block_ids).size != block_ids.size:
            positions = np.flatnonzero(starts)
            order = np.argsort(block_ids, kind="stable")
            sorted_ids = block_ids[order]
            dup = np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1])
            second = positions[order[dup + 1]]
            k = int(np.argmin(second))
            first_pos, second_pos = int(positions[order[dup[k]]]), int(second[k])
            raise _located(
                ShapeError,
                "episode_ids",
                f"episode_ids: expected each episode's steps to be contiguous; episode "
                f"{int(sorted_ids[dup[k]])} starts at step {first_pos} and again at step "
                f"{second_pos}; give each episode a distinct id",
                (second_pos,),
            )
    else:
        if episode_starts is not None:
            mask = _bool_array(episode_starts, "episode_starts")
            _check_shape(mask, "episode_starts", (num_steps,), f"(T,) = ({num_steps},)")
            starts = mask.copy()
        elif dones is not None:
            d = _bool_array(dones, "dones")
            if d.ndim == 2:
                _check_shape(d, "dones", (num_steps, None), f"(T,) or (T, N), T = {num_steps}")
                split = d.any(axis=1) & ~d.all(axis=1)
                idx = _first(split)
                if idx is not None:
                    raise _located(
                        ShapeError,
                        "dones",
                        f"dones: agents end their episode at different steps (step "
                        f"{idx[0]}); a trajectory needs every agent at every step, so pass "
                        f"episode_ids instead",
                        idx,
                    )
                d = np.asarray(d.all(axis=1))
            _check_shape(d, "dones", (num_steps,), f"(T,) or (T, N), T = {num_steps}")
            starts = np.empty(num_steps, dtype=bool)
            starts[:1] = True
            starts[1:] = d[:-1]
        else:
            starts = np.zeros(num_steps, dtype=bool)
        starts[:1] = True
        ids = np.cumsum(starts, dtype=np.int64) - 1
    if t is None:
        steps = _t_from_starts(starts)
    else:
        steps = _int_array(t, "t")
        _check_shape(steps, "t", (num_steps,), f"(T,) = ({num_steps},)")
        idx = _first(steps < 0)
        if idx is not None:
            raise _located(
                ShapeError,
                "t",
                f"t: expected steps >= 0; got {int(steps[idx])} at step {idx[0]}",
                idx,
            )
        jump = ~starts[1:] & (steps[1:] != steps[:-1] + 1)
        idx = _first(jump)
        if idx is not None:
            i = idx[0] + 1
            raise _located(
                ShapeError,
                "t",
                f"t: expected t to grow by 1 within an episode; episode {int(ids[i])} goes "
                f"from t={int(steps[i - 1])} to t={int(steps[i])} at step {i}; missing or "
                f"repeated steps, or two episodes under one id",
                (i,),
            )
    return ids, steps, starts


# --------------------------------------------------------------------------------------------
# the type


class Trajectory:
    r"""Steps of one or more episodes of N agents, time-major, agent second; immutable.

    Parameters
    ----------
    actions : array_like of int, shape (T, N)
        Action of each agent at each step, in [0, num_actions).
    rewards : array_like of float, shape (T, N)
        Reward of each agent (integers are converted to float64).
    episode_ids : array_like of int, shape (T,), optional
        Episode of each step; each episode's steps must be contiguous. Give at most one of
        ``episode_ids``, ``episode_starts`` (bool (T,), True on an episode's first step) and
        ``dones`` (bool (T,) or (T, N), True on an episode's last step; with (T, N) every agent
        must agree). Without any, all steps form one episode.
    t : array_like of int, shape (T,), optional
        Step within the episode (default 0, 1, ... from each episode start); must grow by 1.
    messages : array_like of int, shape (T, N), optional
        Symbol each agent sent, in [0, num_symbols).
    logits : array_like of float, shape (T, N, A), optional
        Policy logits (no NaN, no +inf, at least one finite entry per row).
    message_logits : array_like of float, shape (T, N, M), optional
    visible : array_like of bool, shape (T, N, N), optional
        ``visible[t, i, j]``: agent j is inside agent i's view at step t.
    influence : array_like of float, shape (T, N, N), optional
        Pairwise influence, row = influencer k, column = influencee j.
    counterfactual_logits : array_like of float, shape (T, N, N, K, A), optional
        ``[t, k, j, v]``: influencee j's logits when influencer k's value is v (no NaN/+inf).
    obs : array_like, shape (T, N, ...), optional
        Observations, any numeric or bool dtype (kept as given).
    metadata : TrajectoryMeta or dict, optional
        Metadata; keyword arguments (``agent_ids``, ``num_actions``, ``num_symbols``,
        ``action_names``, ``symbol_names``, ``env_name``, ``env_version``, ``seed``,
        ``extra``) override it. In a dict, ``env`` means ``env_name`` and unknown keys go
        to ``extra``. ``num_actions`` defaults to ``len(action_names)``, else the last axis of
        ``logits`` / ``counterfactual_logits``; ``num_symbols`` to ``len(symbol_names)``,
        else the last axis of ``message_logits``, else 0 (no messages).
    copy : bool, default True
        Copy input arrays (False keeps them when dtypes already match; do not modify them
        afterwards).

    Raises
    ------
    ShapeError
        Wrong shapes, values out of range, non-contiguous episodes, t not growing by 1.
    DTypeError
        Wrong dtypes (e.g. float actions).
    InvalidDistributionError
        NaN or +inf in logits, message_logits or counterfactual_logits; all -inf rows in
        logits or message_logits.
    ConfigError
        Missing metadata (``num_actions`` not inferable, messages without ``num_symbols``).

    Examples
    --------
    >>> import numpy as np
    >>> traj = Trajectory(
    ...     actions=[[0, 2], [1, 2], [1, 0], [2, 2]],
    ...     rewards=[[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
    ...     dones=[False, True, False, False],
    ...     logits=np.zeros((4, 2, 3)),
    ...     env_name="harvest",
    ... )
    >>> traj.num_steps, traj.num_agents, traj.num_episodes, traj.metadata.num_actions
    (4, 2, 2, 3)
    >>> traj.episode_ids, traj.t
    (array([0, 0, 1, 1]), array([0, 1, 0, 1]))
    >>> traj.metadata.agent_ids
    ('agent_0', 'agent_1')
    >>> from causal_influence.errors import ShapeError
    >>> try:
    ...     Trajectory(actions=[[3]], rewards=[[0.0]], num_actions=3)
    ... except ShapeError as err:
    ...     print(err)
    actions: expected values in [0, num_actions=3); got 3 at step 0, agent 0 (agent_0); ...
    """

    __slots__ = ("__weakref__", "_arrays", "_frozen", "_meta", "_starts")
    _arrays: dict[str, np.ndarray]
    _meta: TrajectoryMeta
    _starts: np.ndarray

    def __init__(
        self,
        actions: Any,
        rewards: Any,
        *,
        episode_ids: Any = None,
        episode_starts: Any = None,
        dones: Any = None,
        t: Any = None,
        messages: Any = None,
        logits: Any = None,
        message_logits: Any = None,
        visible: Any = None,
        influence: Any = None,
        counterfactual_logits: Any = None,
        obs: Any = None,
        metadata: TrajectoryMeta | Mapping[str, Any] | None = None,
        copy: bool = True,
        **meta: Any,
    ) -> None:
        inputs = {
            "actions": actions,
            "rewards": rewards,
            "messages": messages,
            "logits": logits,
            "message_logits": message_logits,
            "visible": visible,
            "influence": influence,
            "counterfactual_logits": counterfactual_logits,
            "obs": obs,
        }
        acts = _int_array(actions, "actions")
        if acts.ndim != 2:
            raise _located(
                ShapeError, "actions", f"actions: expected shape (T, N); got {describe(acts)}"
            )
        num_steps, num_agents = acts.shape
        if num_agents < 1:
            raise _located(ShapeError, "actions", "actions: expected at least one agent (N >= 1)")
        tn = f"(T, N) = ({num_steps}, {num_agents})"
        arrays: dict[str, np.ndarray] = {"actions": acts}
        arrays["rewards"] = _float_array(rewards, "rewards")
        _check_shape(arrays["rewards"], "rewards", (num_steps, num_agents), tn)
        ids, steps, starts = _episode_structure(num_steps, episode_ids, episode_starts, dones, t)
        arrays["episode_ids"] = ids
        arrays["t"] = steps
        if messages is not None:
            arrays["messages"] = _int_array(messages, "messages")
            _check_shape(arrays["messages"], "messages", (num_steps, num_agents), tn)
        for name in ("logits", "message_logits", "counterfactual_logits", "influence"):
            if inputs[name] is not None:
                arrays[name] = _float_array(inputs[name], name)
        if visible is not None:
            arrays["visible"] = _bool_array(visible, "visible")
        if obs is not None:
            arrays["obs"] = _numeric_array(obs, "obs")
        lead = (num_steps, num_agents)
        if "logits" in arrays:
            _check_shape(arrays["logits"], "logits", (*lead, None), f"(T, N, A), {tn}")
        if "message_logits" in arrays:
            _check_shape(
                arrays["message_logits"], "message_logits", (*lead, None), f"(T, N, M), {tn}"
            )
        if "counterfactual_logits" in arrays:
            _check_shape(
                arrays["counterfactual_logits"],
                "counterfactual_logits",
                (*lead, num_agents, None, None),
                f"(T, N, N, K, A), {tn}",
            )
        for name in ("visible", "influence"):
            if name in arrays:
                _check_shape(arrays[name], name, (*lead, num_agents), f"(T, N, N), {tn}")
        if "obs" in arrays and (arrays["obs"].ndim < 2 or arrays["obs"].shape[:2] != lead):
            raise _located(
                ShapeError,
                "obs",
                f"obs: expected shape (T, N, ...), {tn}; got {describe(arrays['obs'])}",
            )

        kw = _meta_fields(metadata, meta)
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
        meta_obj = TrajectoryMeta(**kw)
        if meta_obj.num_agents != num_agents:
            raise ShapeError(
                f"agent_ids: expected N={num_agents} ids (one per column of actions); got "
                f"{meta_obj.num_agents}"
            )
        a_size, m_size = meta_obj.num_actions, meta_obj.num_symbols
        for name, size, what in (
            ("logits", a_size, "num_actions"),
            ("counterfactual_logits", a_size, "num_actions"),
            ("message_logits", m_size, "num_symbols"),
        ):
            if name in arrays and arrays[name].shape[-1] != size:
                raise _located(
                    ShapeError,
                    name,
                    f"{name}: expected the last axis to have {what}={size} entries; got "
                    f"{describe(arrays[name])}",
                )
        if "counterfactual_logits" in arrays and arrays["counterfactual_logits"].shape[3] < 1:
            raise _located(
                ShapeError,
                "counterfactual_logits",
                "counterfactual_logits: expected K >= 1 counterfactual values",
            )
        agent_ids = meta_obj.agent_ids
        _check_range(acts, "actions", a_size, "num_actions", agent_ids)
        if "messages" in arrays:
            _check_range(arrays["messages"], "messages", m_size, "num_symbols", agent_ids)
        for name in ("logits", "message_logits"):
            if name in arrays:
                _check_logits(arrays[name], name, agent_ids, rows=True)
        if "counterfactual_logits" in arrays:
            _check_logits(
                arrays["counterfactual_logits"], "counterfactual_logits", agent_ids, rows=False
            )

        if copy:
            inputs.update(episode_ids=episode_ids, t=t)
            for name, arr in arrays.items():
                if _shares_memory(arr, inputs.get(name)):
                    arrays[name] = arr.copy()
        self._init(arrays, meta_obj, starts)

    def _init(
        self, arrays: dict[str, np.ndarray], meta: TrajectoryMeta, starts: np.ndarray
    ) -> None:
        for name in arrays:
            view = arrays[name].view()
            view.flags.writeable = False
            arrays[name] = view
        starts = starts.view()
        starts.flags.writeable = False
        object.__setattr__(self, "_arrays", arrays)
        object.__setattr__(self, "_meta", meta)
        object.__setattr__(self, "_starts", starts)
        object.__setattr__(self, "_frozen", True)

    @classmethod
    def _trusted(
        cls, arrays: dict[str, np.ndarray], meta: TrajectoryMeta, starts: np.ndarray | None = None
    ) -> Trajectory:
        """A trajectory from arrays already known to be valid (slices of a valid one)."""
        out = cls.__new__(cls)
        if starts is None:
            starts = _starts_from_ids(arrays["episode_ids"])
        out._init(dict(arrays), meta, starts)
        return out

    def __reduce__(self) -> tuple[Any, ...]:
        # pickle / copy: rebuild from the (already valid) arrays without validating again
        return (_rebuild, (dict(self._arrays), self._meta))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Trajectory is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Trajectory is immutable; cannot delete {name!r}")

    # ---- arrays ---------------------------------------------------------------------------

    @property
    def actions(self) -> np.ndarray:
        """int64 array of shape (T, N)."""
        return self._arrays["actions"]

    @property
    def rewards(self) -> np.ndarray:
        """Float array of shape (T, N)."""
        return self._arrays["rewards"]

    @property
    def episode_ids(self) -> np.ndarray:
        """int64 array of shape (T,): the episode of each step (contiguous blocks)."""
        return self._arrays["episode_ids"]

    @property
    def t(self) -> np.ndarray:
        """int64 array of shape (T,): the step within its episode."""
        return self._arrays["t"]

    @property
    def messages(self) -> np.ndarray | None:
        """int64 array of shape (T, N), or None."""
        return self._arrays.get("messages")

    @property
    def logits(self) -> np.ndarray | None:
        """Float array of shape (T, N, A), or None."""
        return self._arrays.get("logits")

    @property
    def message_logits(self) -> np.ndarray | None:
        """Float array of shape (T, N, M), or None."""
        return self._arrays.get("message_logits")

    @property
    def visible(self) -> np.ndarray | None:
        """Bool array of shape (T, N, N) (``[t, i, j]``: j in i's view), or None."""
        return self._arrays.get("visible")

    @property
    def influence(self) -> np.ndarray | None:
        """Float array of shape (T, N, N), row = influencer k, column = influencee j; or None."""
        return self._arrays.get("influence")

    @property
    def counterfactual_logits(self) -> np.ndarray | None:
        """Float array of shape (T, N, N, K, A) (``[t, k, j, v]``), or None."""
        return self._arrays.get("counterfactual_logits")

    @property
    def obs(self) -> np.ndarray | None:
        """Array of shape (T, N, ...), or None."""
        return self._arrays.get("obs")

    @property
    def metadata(self) -> TrajectoryMeta:
        """The :class:`TrajectoryMeta`."""
        return self._meta

    @property
    def fields(self) -> tuple[str, ...]:
        """Names of the optional fields present, in :data:`OPTIONAL_FIELDS` order."""
        return tuple(name for name in OPTIONAL_FIELDS if name in self._arrays)

    def to_dict(self) -> dict[str, np.ndarray]:
        """The arrays by field name (``actions``, ``rewards``, ``episode_ids``, ``t``, optional
        fields present); read-only views, accepted back by :meth:`from_arrays`."""
        return dict(self._arrays)

    # ---- sizes and episodes -----------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.actions.shape[0])

    @property
    def num_steps(self) -> int:
        """Number of steps T (all episodes together)."""
        return int(self.actions.shape[0])

    @property
    def num_agents(self) -> int:
        """Number of agents N."""
        return int(self.actions.shape[1])

    @property
    def num_episodes(self) -> int:
        """Number of episodes (contiguous blocks of ``episode_ids``)."""
        return int(np.count_nonzero(self._starts))

    @property
    def episode_starts(self) -> np.ndarray:
        """Bool array of shape (T,): True on the first step of each episode."""
        return self._starts

    @property
    def episode_ends(self) -> np.ndarray:
        """Bool array of shape (T,): True on the last step of each episode in this trajectory
        (the last step of the trajectory is always one, even if its episode was cut)."""
        ends = np.zeros(self.num_steps, dtype=bool)
        ends[:-1] = self._starts[1:]
        ends[-1:] = True
        return ends

    @property
    def episode_index(self) -> np.ndarray:
        """int64 array of shape (E,): the episode ids in order of appearance."""
        return self.episode_ids[self._starts]

    @property
    def episode_slices(self) -> tuple[slice, ...]:
        """One ``slice`` of the time axis per episode, in order."""
        bounds = [*np.flatnonzero(self._starts).tolist(), self.num_steps]
        return tuple(slice(a, b) for a, b in itertools.pairwise(bounds))

    def episodes(self) -> Iterator[Trajectory]:
        """Iterate over the episodes as trajectories (views, no copies).

        Examples
        --------
        >>> traj = Trajectory([[0], [1], [1]], [[0.0], [1.0], [0.0]],
        ...                   episode_ids=[7, 7, 9], num_actions=2)
        >>> [(int(ep.episode_ids[0]), len(ep)) for ep in traj.episodes()]
        [(7, 2), (9, 1)]
        """
        for sl in self.episode_slices:
            yield self._take(sl)

    def _take(self, index: slice | np.ndarray) -> Trajectory:
        arrays = {name: arr[index] for name, arr in self._arrays.items()}
        return Trajectory._trusted(arrays, self._meta)

    def select_episodes(self, episode_ids: int | Iterable[int]) -> Trajectory:
        """The episodes with the given ids, in the order given.

        Parameters
        ----------
        episode_ids : int or iterable of int
            Ids from :attr:`episode_index`, without repeats.

        Raises
        ------
        ConfigError
            If an id is unknown or repeated.

        Examples
        --------
        >>> traj = Trajectory([[0], [1], [1]], [[0.0], [1.0], [0.0]],
        ...                   episode_ids=[7, 7, 9], num_actions=2)
        >>> traj.select_episodes([9, 7]).episode_ids
        array([9, 7, 7])
        """
        if isinstance(episode_ids, (int, np.integer)):
            wanted = [int(episode_ids)]
        else:
            wanted = [int(i) for i in episode_ids]
        if len(set(wanted)) != len(wanted):
            raise ConfigError(f"select_episodes: ids must not repeat; got {wanted}")
        index = self.episode_index.tolist()
        slices = self.episode_slices
        position = {eid: i for i, eid in enumerate(index)}
        missing = [i for i in wanted if i not in position]
        if missing:
            raise ConfigError(
                f"select_episodes: unknown episode ids {missing}; this trajectory has "
                f"{index[:10]}{' ...' if len(index) > 10 else ''}"
            )
        if len(wanted) == 1:
            return self._take(slices[position[wanted[0]]])
        rows = np.concatenate(
            [np.arange(slices[position[i]].start, slices[position[i]].stop) for i in wanted]
            or [np.zeros(0, dtype=np.int64)]
        )
        return self._take(rows)

    def split_episodes(self, episodes_per_part: int) -> Iterator[Trajectory]:
        """Iterate over consecutive groups of ``episodes_per_part`` episodes (views, no copies).

        Examples
        --------
        >>> traj = Trajectory([[0]] * 5, [[0.0]] * 5, episode_ids=[0, 1, 1, 2, 3], num_actions=1)
        >>> [p.episode_index.tolist() for p in traj.split_episodes(2)]
        [[0, 1], [2, 3]]
        """
        if isinstance(episodes_per_part, bool) or not isinstance(
            episodes_per_part, (int, np.integer)
        ):
            raise DTypeError(
                f"episodes_per_part: expected a positive integer; got {describe(episodes_per_part)}"
            )
        if episodes_per_part < 1:
            raise ConfigError(f"episodes_per_part: expected >= 1; got {episodes_per_part}")
        starts = np.flatnonzero(self._starts).tolist()
        bounds = [*starts[:: int(episodes_per_part)], self.num_steps]
        for a, b in itertools.pairwise(bounds):
            yield self._take(slice(a, b))

    # ---- comparison ---------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Trajectory):
            return NotImplemented
        if self._meta != other._meta or set(self._arrays) != set(other._arrays):
            return False
        for name, arr in self._arrays.items():
            o = other._arrays[name]
            if arr.dtype != o.dtype or arr.shape != o.shape:
                return False
            if not np.array_equal(arr, o, equal_nan=arr.dtype.kind == "f"):
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Trajectory(num_steps={self.num_steps}, num_agents={self.num_agents}, "
            f"num_episodes={self.num_episodes}, num_actions={self._meta.num_actions}, "
            f"fields={self.fields})"
        )

    def replace(self, *, metadata: TrajectoryMeta | None = None, **arrays: Any) -> Trajectory:
        """A new trajectory with some arrays or the metadata replaced (validated again).

        Pass ``name=None`` to drop an optional field.

        Examples
        --------
        >>> traj = Trajectory([[0, 1]], [[0.0, 0.0]], num_actions=2)
        >>> traj.replace(rewards=[[1.0, 2.0]]).rewards
        array([[1., 2.]])
        """
        unknown = set(arrays) - set(ARRAY_FIELDS)
        if unknown:
            raise ConfigError(f"replace: unknown fields {sorted(unknown)}; known: {ARRAY_FIELDS}")
        current: dict[str, Any] = dict(self._arrays)
        current.update(arrays)
        return Trajectory(**current, metadata=metadata or self._meta)

    # ---- constructors -------------------------------------------------------------------------

    @classmethod
    def from_arrays(
        cls,
        data: Mapping[str, Any],
        *,
        metadata: TrajectoryMeta | Mapping[str, Any] | None = None,
        copy: bool = True,
        **meta: Any,
    ) -> Trajectory:
        """Build a trajectory from a dict of arrays, as another codebase would hold them.

        Three layouts are accepted:

        1. **stacked**: ``{"actions": (T, N), "rewards": (T, N), "logits": (T, N, A), ...}``;
        2. **per field, per agent** (PettingZoo style): ``{"actions": {"agent_0": (T,),
           "agent_1": (T,)}, "rewards": {...}, ...}``; each per-agent dict is stacked along
           axis 1 (so ``logits`` per agent are (T, A), ``visible`` per agent (T, N));
        3. **per agent**: ``{"agent_0": {"actions": (T,), "rewards": (T,), ...},
           "agent_1": {...}, "episode_ids": (T,)}``: every top-level dict is one agent.

        Keys are the :class:`Trajectory` field names plus ``episode_starts`` and ``dones``;
        ``dones`` may also be per agent (all agents must agree). Agent ids come from the dict
        keys (in their order) unless ``agent_ids`` is given, which then fixes the order.

        Parameters
        ----------
        data : mapping
            The arrays (numpy arrays, torch tensors or nested lists).
        metadata, copy, **meta
            As in :class:`Trajectory` (``num_actions=...``, ``env_name=...``, ...).

        Raises
        ------
        ConfigError
            On unknown keys, or agents that differ between fields.
        ShapeError, DTypeError, InvalidDistributionError
            As :class:`Trajectory`.

        Examples
        --------
        A per-agent recording from another codebase (rewards as ints, episodes as dones):

        >>> import numpy as np
        >>> data = {
        ...     "agent_0": {"actions": np.array([0, 1, 1, 2]), "rewards": np.array([0, 1, 0, 0])},
        ...     "agent_1": {"actions": np.array([2, 2, 0, 0]), "rewards": np.array([1, 0, 0, 1])},
        ...     "dones": np.array([False, True, False, True]),
        ... }
        >>> traj = Trajectory.from_arrays(data, num_actions=3, env_name="my_env", seed=0)
        >>> traj.actions
        array([[0, 2],
               [1, 2],
               [1, 0],
               [2, 0]])
        >>> traj.rewards.dtype, traj.episode_ids, traj.metadata.agent_ids
        (dtype('float64'), array([0, 0, 1, 1]), ('agent_0', 'agent_1'))

        The same data stacked, time-major and agent second:

        >>> same = Trajectory.from_arrays(
        ...     {"actions": traj.actions, "rewards": traj.rewards, "episode_ids": [0, 0, 1, 1]},
        ...     num_actions=3, env_name="my_env", seed=0)
        >>> same == traj
        True
        """
        if not isinstance(data, Mapping):
            raise DTypeError(
                f"from_arrays: expected a dict of arrays; got {describe(data)} (use "
                f"Trajectory.from_dataframe for a pandas DataFrame)"
            )
        valid = set(ARRAY_FIELDS) | {"episode_starts", "dones"}
        shared = set(EPISODE_FIELDS) | {"episode_starts"}
        stacked: dict[str, Any] = {}
        per_agent: dict[str, dict[str, Any]] = {}  # field -> agent -> array
        agents_seen: list[str] = []
        for key, value in data.items():
            if isinstance(value, Mapping):
                if key in shared:
                    raise ConfigError(
                        f"from_arrays: {key!r} is shared by all agents; give one (T,) array, "
                        f"not a per-agent dict"
                    )
                if key in valid:  # layout 2
                    per_agent.setdefault(key, {}).update(value)
                    agents_seen.extend(a for a in value if a not in agents_seen)
                else:  # layout 3: key is an agent id
                    if key not in agents_seen:
                        agents_seen.append(key)
                    for fname, arr in value.items():
                        if fname not in valid or fname in shared:
                            raise ConfigError(
                                f"from_arrays: unknown per-agent field {fname!r} of agent "
                                f"{key!r}; per-agent fields are {sorted(valid - shared)}"
                            )
                        per_agent.setdefault(fname, {})[key] = arr
            elif key in valid:
                stacked[key] = value
            else:
                raise ConfigError(
                    f"from_arrays: unknown key {key!r}; expected field names "
                    f"{sorted(valid)} (drop other entries, or rename them)"
                )
        if per_agent:
            clash = sorted(set(per_agent) & set(stacked))
            if clash:
                raise ConfigError(f"from_arrays: {clash} given both stacked and per agent")
            kw_ids = meta.get("agent_ids")
            if kw_ids is None and isinstance(metadata, Mapping):
                kw_ids = metadata.get("agent_ids")
            if kw_ids is None and isinstance(metadata, TrajectoryMeta):
                kw_ids = metadata.agent_ids
            order = list(kw_ids) if kw_ids is not None else agents_seen
            if kw_ids is None:
                meta = {**meta, "agent_ids": tuple(order)}
            for fname, by_agent in per_agent.items():
                if set(by_agent) != set(order):
                    raise ConfigError(
                        f"from_arrays: field {fname!r} has agents {sorted(by_agent)}; expected "
                        f"{sorted(order)} (every field needs every agent)"
                    )
                parts = [_to_numpy(by_agent[a], f"{fname}[{a!r}]") for a in order]
                shapes = {p.shape for p in parts}
                if len(shapes) != 1:
                    raise ShapeError(
                        f"{fname}: per-agent arrays differ in shape "
                        f"{[(a, p.shape) for a, p in zip(order, parts, strict=True)]}; every "
                        f"agent needs the same number of steps"
                    )
                stacked[fname] = np.stack(parts, axis=1)
        missing = [f for f in REQUIRED_FIELDS if f not in stacked]
        if missing:
            raise ConfigError(f"from_arrays: missing required fields {missing}")
        return cls(**stacked, metadata=metadata, copy=copy, **meta)

    @classmethod
    def from_dataframe(
        cls,
        df: pd.DataFrame,
        *,
        metadata: TrajectoryMeta | Mapping[str, Any] | None = None,
        obs_shape: Sequence[int] | None = None,
        **meta: Any,
    ) -> Trajectory:
        """Build a trajectory from a long table with one row per (episode, t, agent).

        Columns (others are ignored):

        - ``t`` (int, required), ``agent`` (int index, or str agent id), ``action`` (int),
          ``reward`` (number); ``episode`` (int, optional: one episode when absent);
          ``message`` (int, optional);
        - vector fields, each either one column of lists / arrays per row, or "wide" numeric
          columns ``{prefix}_0 ... {prefix}_{W-1}``: ``logits`` / ``logit_*`` (A per row),
          ``message_logits`` / ``message_logit_*``, ``visible`` / ``visible_*`` (N),
          ``influence`` / ``influence_*`` (N, the row's agent as influencer),
          ``counterfactual_logits`` / ``counterfactual_logit_*`` (N*K*A flattened or arrays of
          shape (N, K, A)), ``obs`` / ``obs_*`` (flattened unless ``obs_shape`` is given or
          the cells are arrays).

        Rows may come in any order: steps are ordered by t within an episode and episodes by
        first appearance. Every (episode, t) needs exactly one row per agent, and t must grow
        by 1 within an episode. String agent ids are ordered naturally (``agent_2`` before
        ``agent_10``) unless ``agent_ids`` is given. A frame made by :meth:`to_dataframe`
        carries its metadata in ``df.attrs``, used unless overridden.

        Raises
        ------
        ShapeError
            Missing columns, ragged tables (missing or duplicate rows, jumps in t), values out
            of range; the message names the column and row.
        DTypeError
            Wrong column dtypes.
        InvalidDistributionError
            NaN logits (names the row).

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({
        ...     "episode": [0, 0, 0, 0, 1, 1],
        ...     "t":       [0, 0, 1, 1, 0, 0],
        ...     "agent":   ["agent_0", "agent_1"] * 3,
        ...     "action":  [1, 0, 2, 2, 0, 1],
        ...     "reward":  [0.0, 1.0, 0.0, 0.0, 1.0, 1.0],
        ...     "logit_0": 0.0, "logit_1": 0.0, "logit_2": 0.0,
        ... })
        >>> traj = Trajectory.from_dataframe(df, env_name="my_env")
        >>> traj.actions
        array([[1, 0],
               [2, 2],
               [0, 1]])
        >>> traj.logits.shape, traj.episode_ids
        ((3, 2, 3), array([0, 0, 1]))
        >>> Trajectory.from_dataframe(traj.to_dataframe()) == traj
        True
        """
        import pandas as pd

        if not isinstance(df, pd.DataFrame):
            raise DTypeError(f"from_dataframe: expected a pandas DataFrame; got {describe(df)}")
        attrs = df.attrs.get(_ATTRS_KEY) if isinstance(df.attrs, Mapping) else None
        shapes: dict[str, tuple[int, ...]] = {}
        dtypes: dict[str, str] = {}
        if isinstance(attrs, Mapping):
            saved = attrs.get("metadata")
            if metadata is None and isinstance(saved, Mapping):
                metadata = saved
            shapes = {k: tuple(v) for k, v in (attrs.get("shapes") or {}).items()}
            dtypes = dict(attrs.get("dtypes") or {})
        if obs_shape is not None:
            shapes["obs"] = tuple(int(s) for s in obs_shape)
        origin = _Origin(None, labels=df.index.to_numpy())
        columns = _dataframe_columns(df, origin)
        if len(df) == 0:  # empty list columns carry no width or dtype: take them from attrs
            for fname, (col, _prefix) in _VECTOR_COLUMNS.items():
                if col in columns and fname in shapes:
                    dtype = np.dtype(dtypes.get(fname, columns[col].dtype))
                    columns[col] = np.zeros((0, math.prod(shapes[fname])), dtype=dtype)
        agent = columns["agent"]
        kw_ids = meta.get("agent_ids")
        if kw_ids is None and isinstance(metadata, TrajectoryMeta):
            kw_ids = metadata.agent_ids
        elif kw_ids is None and isinstance(metadata, Mapping):
            kw_ids = metadata.get("agent_ids")
        if agent.dtype.kind in "OUT":
            agent_strs = agent.astype(str)
            ids = list(kw_ids) if kw_ids is not None else _natural_sorted(set(agent_strs))
            lookup = {a: i for i, a in enumerate(ids)}
            codes = np.fromiter(
                (lookup.get(a, -1) for a in agent_strs), dtype=np.int64, count=len(agent_strs)
            )
            bad = np.flatnonzero(codes < 0)
            if bad.size:
                raise origin.fail(
                    ShapeError,
                    "agent",
                    f"agent id {str(agent_strs[bad[0]])!r} is not one of agent_ids {ids}",
                    int(bad[0]),
                )
            columns["agent"] = codes
            kw_ids = ids
            meta = {**meta, "agent_ids": tuple(ids)}
        num_agents = len(kw_ids) if kw_ids is not None else None
        return _from_long(
            columns, origin, shapes=shapes, num_agents=num_agents, metadata=metadata, meta=meta
        )

    def to_dataframe(
        self, *, columns: Iterable[str] | None = None, vectors: str = "wide"
    ) -> pd.DataFrame:
        """The long table: one row per (episode, t, agent), sorted by trajectory order.

        Parameters
        ----------
        columns : iterable of str, optional
            Optional fields to include (default: all present).
        vectors : {"wide", "lists"}
            ``"wide"``: one numeric column per vector entry (``logit_0``, ...; counterfactual
            logits and obs flattened in C order); ``"lists"``: one column holding an array per
            row (shape (A,), (N,), (N, K, A), obs' trailing shape).

        Returns
        -------
        pandas.DataFrame
            Columns ``episode``, ``t``, ``agent`` (int index into ``agent_ids``), ``action``,
            ``reward``, then the optional fields; ``df.attrs["causal_influence"]`` holds the
            metadata and trailing shapes so that :meth:`from_dataframe` restores the
            trajectory exactly.

        Examples
        --------
        >>> traj = Trajectory([[0, 1], [1, 1]], [[0.0, 1.0], [0.5, 0.0]],
        ...                   logits=np.zeros((2, 2, 2)))
        >>> traj.to_dataframe()
           episode  t  agent  action  reward  logit_0  logit_1
        0        0  0      0       0     0.0      0.0      0.0
        1        0  0      1       1     1.0      0.0      0.0
        2        0  1      0       1     0.5      0.0      0.0
        3        0  1      1       1     0.0      0.0      0.0
        """
        import pandas as pd

        if vectors not in ("wide", "lists"):
            raise ConfigError(f"vectors: expected 'wide' or 'lists'; got {vectors!r}")
        cols, shapes = _long_columns(self, columns)
        data: dict[str, Any] = {}
        for name, arr in cols.items():
            if arr.ndim == 1:
                data[name] = arr
                continue
            fname = next(f for f, c in _VECTOR_COLUMNS.items() if c[0] == name)
            if vectors == "lists":
                cells = np.empty(arr.shape[0], dtype=object)
                for i, cell in enumerate(arr.reshape(arr.shape[0], *shapes[fname])):
                    cells[i] = cell
                data[name] = cells
            else:
                prefix = _VECTOR_COLUMNS[fname][1]
                for i in range(arr.shape[1]):
                    data[f"{prefix}_{i}"] = arr[:, i]
        df = pd.DataFrame(data)
        df.attrs[_ATTRS_KEY] = {
            "metadata": self._meta.to_dict(),
            "shapes": {k: list(v) for k, v in shapes.items()},
            "dtypes": {k: str(self._arrays[k].dtype) for k in shapes},
        }
        return df


def _rebuild(arrays: dict[str, np.ndarray], meta: TrajectoryMeta) -> Trajectory:
    """Unpickle a :class:`Trajectory` (pickle only ever calls this with a valid one's state)."""
    return Trajectory._trusted(arrays, meta)


# --------------------------------------------------------------------------------------------
# concatenation


_COMPATIBLE_META = (
    "agent_ids",
    "num_actions",
    "num_symbols",
    "action_names",
    "symbol_names",
    "env_name",
    "env_version",
)


def _meta_mismatch(a: TrajectoryMeta, b: TrajectoryMeta) -> str | None:
    """Name and values of the first metadata field two trajectories must share but do not."""
    for name in _COMPATIBLE_META:
        if getattr(a, name) != getattr(b, name):
            return f"{name} ({getattr(a, name)!r} vs {getattr(b, name)!r})"
    return None


def _merged_meta(metas: Sequence[TrajectoryMeta]) -> TrajectoryMeta:
    """Metadata of the first, with ``seed`` only if all agree and ``extra`` the shared entries."""
    first = metas[0]
    seeds = {m.seed for m in metas}
    extra = {
        k: v for k, v in first.extra.items() if all(k in m.extra and m.extra[k] == v for m in metas)
    }
    return replace(first, seed=first.seed if len(seeds) == 1 else None, extra=extra)


def concat(trajectories: Iterable[Trajectory], *, renumber: bool = False) -> Trajectory:
    """Concatenate trajectories along time.

    Parameters
    ----------
    trajectories : iterable of Trajectory
        At least one; they must agree on agents, actions, symbols, env and the optional fields
        present (and their trailing shapes).
    renumber : bool, default False
        False keeps episode ids: an id may continue into the next part only as the same
        episode (adjacent, t growing by 1), e.g. a trajectory split into shards. True numbers
        every part's episodes 0, 1, ... in order as distinct episodes.

    Returns
    -------
    Trajectory
        Metadata of the first part; ``seed`` kept only when every part has the same, ``extra``
        only the entries every part shares.

    Raises
    ------
    ConfigError
        If the parts disagree on metadata or fields, or no part is given.
    ShapeError
        If ids repeat across parts without ``renumber`` (the message says so).

    Examples
    --------
    >>> a = Trajectory([[0], [1]], [[0.0], [1.0]], num_actions=2)
    >>> concat([a, a], renumber=True).episode_ids
    array([0, 0, 1, 1])
    >>> concat([a, a])
    Traceback (most recent call last):
    ...
    causal_influence.errors.ShapeError: t: expected t to grow by 1 ... pass renumber=True ...
    """
    parts = list(trajectories)
    if not parts:
        raise ConfigError("concat: expected at least one trajectory; got none")
    for i, p in enumerate(parts):
        if not isinstance(p, Trajectory):
            raise DTypeError(f"concat: part {i} is {describe(p)}, not a Trajectory")
    first = parts[0]
    for i, p in enumerate(parts[1:], start=1):
        bad = _meta_mismatch(first.metadata, p.metadata)
        if bad is not None:
            raise ConfigError(f"concat: part {i} disagrees with part 0 on {bad}")
        if p.fields != first.fields:
            raise ConfigError(
                f"concat: part {i} has optional fields {p.fields}, part 0 has {first.fields}; "
                f"drop fields with .replace(name=None) to make them agree"
            )
        for name in ("counterfactual_logits", "obs"):
            a, b = first._arrays.get(name), p._arrays.get(name)
            if a is not None and b is not None and a.shape[2:] != b.shape[2:]:
                raise ConfigError(
                    f"concat: {name} of part {i} has trailing shape {b.shape[2:]}, part 0 has "
                    f"{a.shape[2:]}"
                )
    arrays = {name: np.concatenate([p._arrays[name] for p in parts]) for name in first._arrays}
    if renumber:
        offsets = np.cumsum([0] + [p.num_episodes for p in parts[:-1]])
        arrays["episode_ids"] = np.concatenate(
            [
                np.cumsum(p._starts, dtype=np.int64) - 1 + off
                for p, off in zip(parts, offsets, strict=True)
            ]
        )
    meta = _merged_meta([p.metadata for p in parts])
    try:
        return Trajectory(**arrays, metadata=meta, copy=False)
    except ShapeError as err:
        ids = [set(p.episode_index.tolist()) for p in parts]
        shared = len(set().union(*ids)) < sum(len(s) for s in ids)
        if not renumber and shared:
            raise ShapeError(
                f"{err} (parts share episode ids; pass renumber=True to number the episodes "
                f"0, 1, ...)"
            ) from err
        raise


# --------------------------------------------------------------------------------------------
# long tables (shared with causal_influence.io)


class _Origin:
    """Where long-table data came from, to word errors: a file, or a DataFrame.

    ``fail`` gives FileFormatError for files and the natural class otherwise; rows are 0-based
    positions in the file or frame.
    """

    def __init__(self, file: str | None, *, labels: np.ndarray | None = None) -> None:
        self.file = file
        self.labels = labels
        self.keys: dict[str, np.ndarray] = {}

    def row_text(self, row: int | None) -> str:
        if row is None:
            return ""
        parts = []
        for key in _KEY_COLUMNS:
            arr = self.keys.get(key)
            if arr is not None and row < len(arr):
                parts.append(f"{key} {arr[row]}")
        where = f" ({', '.join(parts)})" if parts else ""
        label = ""
        if self.labels is not None and row < len(self.labels) and self.labels[row] != row:
            value = self.labels[row]
            value = value.item() if isinstance(value, np.generic) else value
            label = f" [index label {value!r}]"
        return f", row {row}{label}{where}"

    def fail(
        self, cls: type[CausalInfluenceError], column: str, message: str, row: int | None = None
    ) -> CausalInfluenceError:
        head = f"column {column!r}{self.row_text(row)}"
        if self.file is not None:
            return FileFormatError(f"{self.file}: {head}: {message}")
        return cls(f"{head}: {message}")


def _natural_key(text: str) -> list[Any]:
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", text) if p]


def _natural_sorted(values: Iterable[str]) -> list[str]:
    return sorted(values, key=_natural_key)


def _long_columns(
    traj: Trajectory, columns: Iterable[str] | None = None
) -> tuple[dict[str, np.ndarray], dict[str, tuple[int, ...]]]:
    """Long-table columns of ``traj`` (1-D scalars, 2-D (rows, W) vectors) and trailing shapes."""
    wanted = traj.fields if columns is None else tuple(columns)
    unknown = [c for c in wanted if c not in OPTIONAL_FIELDS]
    if unknown:
        raise ConfigError(f"columns: unknown fields {unknown}; optional fields: {OPTIONAL_FIELDS}")
    n_steps, n_agents = traj.num_steps, traj.num_agents
    rows = n_steps * n_agents
    cols: dict[str, np.ndarray] = {
        "episode": np.repeat(traj.episode_ids, n_agents),
        "t": np.repeat(traj.t, n_agents),
        "agent": np.tile(np.arange(n_agents, dtype=np.int64), n_steps),
        "action": traj.actions.reshape(rows),
        "reward": traj.rewards.reshape(rows),
    }
    shapes: dict[str, tuple[int, ...]] = {}
    for name in OPTIONAL_FIELDS:
        arr = traj._arrays.get(name)
        if arr is None or name not in wanted:
            continue
        if name in _SCALAR_COLUMNS:
            cols[_SCALAR_COLUMNS[name]] = arr.reshape(rows)
        else:
            shapes[name] = tuple(int(s) for s in arr.shape[2:])
            cols[_VECTOR_COLUMNS[name][0]] = arr.reshape(rows, math.prod(shapes[name]))
    return cols, shapes


def _trailing_shape(
    name: str, width: int, shapes: Mapping[str, tuple[int, ...]], num_agents: int, num_actions: Any
) -> tuple[int, ...] | None:
    if name in shapes:
        return tuple(shapes[name])
    if name in ("visible", "influence"):
        return (num_agents,)
    if name in ("logits", "message_logits", "obs"):
        return (width,)
    # counterfactual logits flattened: (N, K, A) needs A
    if num_actions is None or width % (num_agents * int(num_actions)):
        return None
    return (num_agents, width // (num_agents * int(num_actions)), int(num_actions))


def _from_long(
    columns: dict[str, np.ndarray],
    origin: _Origin,
    *,
    shapes: Mapping[str, tuple[int, ...]],
    num_agents: int | None,
    metadata: TrajectoryMeta | Mapping[str, Any] | None,
    meta: Mapping[str, Any],
) -> Trajectory:
    """A trajectory from long-table columns already read into numpy.

    ``columns``: ``t``, ``agent`` (ints), ``action``, ``reward``, optional ``episode``,
    ``message`` (1-D) and vector columns (2-D, rows x W). Checks raggedness, sorts into
    (episode by first appearance, t, agent) order, reshapes to (T, N, ...) and builds the
    trajectory, turning its errors into errors naming the column and row.
    """
    n = len(columns["agent"])
    episode = columns.get("episode")
    if episode is None:
        episode = np.zeros(n, dtype=np.int64)
    t, agent = columns["t"], columns["agent"]
    origin.keys = {"episode": episode, "t": t, "agent": agent}
    if num_agents is None:
        num_agents = int(agent.max()) + 1 if n else 1
    bad = np.flatnonzero((agent < 0) | (agent >= num_agents))
    if bad.size:
        raise origin.fail(
            ShapeError,
            "agent",
            f"agent index {int(agent[bad[0]])} is outside [0, N={num_agents})",
            int(bad[0]),
        )
    bad = np.flatnonzero(t < 0)
    if bad.size:
        raise origin.fail(ShapeError, "t", f"t = {int(t[bad[0]])} is negative", int(bad[0]))
    # order: episodes by first appearance, then t, then agent
    _, first_index, inverse = np.unique(episode, return_index=True, return_inverse=True)
    rank = np.empty(first_index.size, dtype=np.int64)
    rank[np.argsort(first_index, kind="stable")] = np.arange(first_index.size)
    order = np.lexsort((agent, t, rank[inverse.reshape(-1)]))
    e_s, t_s, a_s = episode[order], t[order], agent[order]
    same_step = (e_s[1:] == e_s[:-1]) & (t_s[1:] == t_s[:-1])
    dup = np.flatnonzero(same_step & (a_s[1:] == a_s[:-1]))
    if dup.size:
        i = int(dup[0])
        raise origin.fail(
            ShapeError,
            "agent",
            f"duplicate row: rows {int(order[i])} and {int(order[i + 1])} are both episode "
            f"{e_s[i]}, t {t_s[i]}, agent {a_s[i]}; keep one row per (episode, t, agent)",
            int(order[i + 1]),
        )
    step_first = np.flatnonzero(np.concatenate([[True], ~same_step])) if n else np.zeros(0, int)
    counts = np.diff(np.append(step_first, n))
    bad = np.flatnonzero(counts != num_agents)
    if bad.size:
        s = int(step_first[bad[0]])
        present = a_s[s : s + int(counts[bad[0]])]
        mismatch = np.flatnonzero(present != np.arange(present.size))
        missing = int(mismatch[0]) if mismatch.size else int(present.size)
        raise origin.fail(
            ShapeError,
            "agent",
            f"ragged table: episode {e_s[s]}, t {t_s[s]} has {int(counts[bad[0]])} rows for "
            f"N={num_agents} agents (no row for agent {missing}); every (episode, t) needs one "
            f"row per agent",
            int(order[s]),
        )
    num_steps = n // num_agents
    e_step, t_step = e_s[::num_agents], t_s[::num_agents]
    jump = np.flatnonzero((e_step[1:] == e_step[:-1]) & (t_step[1:] != t_step[:-1] + 1))
    if jump.size:
        i = int(jump[0]) + 1
        raise origin.fail(
            ShapeError,
            "t",
            f"ragged episode: episode {e_step[i]} jumps from t={t_step[i - 1]} to "
            f"t={t_step[i]} (missing steps); t must grow by 1 within an episode",
            int(order[i * num_agents]),
        )
    perm = order.reshape(num_steps, num_agents)
    kw = _meta_fields(metadata, meta)
    num_actions = kw.get("num_actions")
    if num_actions is None and kw.get("action_names") is not None:
        num_actions = len(tuple(kw["action_names"]))
    if num_actions is None and "logits" in columns:
        num_actions = columns["logits"].shape[1]
    arrays: dict[str, np.ndarray] = {}
    for fname, col in _SCALAR_COLUMNS.items():
        if col in columns:
            arrays[fname] = columns[col][perm]
    for fname, (col, _prefix) in _VECTOR_COLUMNS.items():
        if col not in columns:
            continue
        values = columns[col]
        shape = _trailing_shape(fname, values.shape[1], shapes, num_agents, num_actions)
        if shape is None or math.prod(shape) != values.shape[1]:
            raise origin.fail(
                ShapeError,
                col,
                f"{values.shape[1]} entries per row do not fit the trailing shape "
                f"{shape if shape is not None else '(N, K, A)'} of {fname}",
            )
        arrays[fname] = values[perm].reshape(num_steps, num_agents, *shape)
    try:
        return Trajectory(**arrays, episode_ids=e_step, t=t_step, metadata=kw, copy=False)
    except CausalInfluenceError as err:
        field_name = str(err.__dict__.get("ci_field") or "metadata")
        index = err.__dict__.get("ci_index")
        column = _COLUMN_OF.get(field_name, field_name)
        row = None
        if index is not None and len(index) >= 1 and num_steps:
            row = int(perm[index[0], index[1] if len(index) > 1 else 0])
        if origin.file is None and row is None:
            raise
        raise origin.fail(type(err), column, str(err), row) from err


def _dataframe_columns(df: pd.DataFrame, origin: _Origin) -> dict[str, np.ndarray]:
    """Read the long-table columns of a DataFrame into numpy, checking dtypes."""
    import pandas as pd

    names = [str(c) for c in df.columns]
    present = set(names)
    for required in ("t", "agent", "action", "reward"):
        if required not in present:
            raise origin.fail(
                ShapeError,
                required,
                f"missing column; a long table needs columns t, agent, action, reward "
                f"(and optionally episode, message, logits, ...); got {names[:12]}",
            )
    out: dict[str, np.ndarray] = {}

    def first_bad(mask: np.ndarray) -> int | None:
        hits = np.flatnonzero(mask)
        return int(hits[0]) if hits.size else None

    def int_column(col: str, *, allow_str: bool = False) -> np.ndarray:
        s = df[col]
        if allow_str and (
            pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype)
        ):
            row = first_bad(s.isna().to_numpy())
            if row is not None:
                raise origin.fail(DTypeError, col, "missing value", row)
            return s.to_numpy(dtype=object)
        if pd.api.types.is_integer_dtype(s.dtype):
            row = first_bad(s.isna().to_numpy())
            if row is not None:
                raise origin.fail(DTypeError, col, "missing value (NA) in an integer column", row)
            return s.to_numpy(dtype=np.int64)
        hint = ""
        if pd.api.types.is_float_dtype(s.dtype):
            vals = s.to_numpy(dtype=np.float64, na_value=np.nan)
            row = first_bad(~np.isfinite(vals) | (vals != np.round(vals)))
            if row is not None:
                hint = f" (first non-integer value {float(vals[row])} at row {row})"
        raise origin.fail(
            DTypeError,
            col,
            f"expected an integer column; got dtype {s.dtype}{hint}; convert with "
            f"df[{col!r}].astype(int)",
        )

    def numeric(values: pd.Series | pd.DataFrame, col: str, *, boolean: bool = False) -> np.ndarray:
        dtypes = [values.dtype] if isinstance(values, pd.Series) else list(values.dtypes)
        for dt in dtypes:
            ok = pd.api.types.is_bool_dtype(dt) or pd.api.types.is_numeric_dtype(dt)
            if not ok:
                raise origin.fail(
                    DTypeError, col, f"expected numbers; got dtype {dt}; convert with .astype"
                )
        na = values.isna().to_numpy()
        if na.ndim == 2:
            na = na.any(axis=1)
        row = first_bad(na)
        if row is not None and (boolean or not all(dt.kind == "f" for dt in dtypes)):
            raise origin.fail(DTypeError, col, "missing value (NA)", row)
        arr = values.to_numpy()
        if arr.dtype == object:
            arr = values.to_numpy(dtype=bool if boolean else np.float64)
        return arr

    if "episode" in present:
        out["episode"] = int_column("episode")
    out["t"] = int_column("t")
    out["agent"] = int_column("agent", allow_str=True)
    out["action"] = int_column("action")
    out["reward"] = numeric(df["reward"], "reward")
    if "message" in present:
        out["message"] = int_column("message")
    for fname, (col, prefix) in _VECTOR_COLUMNS.items():
        if col in present:
            out[col] = _cells_to_matrix(df[col], col, origin)
            continue
        pattern = re.compile(rf"^{re.escape(prefix)}_(\d+)$")
        wide = sorted(
            (int(m.group(1)), name) for name in names if (m := pattern.match(name)) is not None
        )
        if not wide:
            continue
        indices = [i for i, _ in wide]
        if indices != list(range(len(indices))):
            missing = sorted(set(range(max(indices) + 1)) - set(indices))
            raise origin.fail(
                ShapeError,
                f"{prefix}_{missing[0] if missing else indices[0]}",
                f"wide columns of {fname} must be {prefix}_0 ... {prefix}_{{W-1}} without gaps",
            )
        out[col] = numeric(
            df[[name for _, name in wide]], f"{prefix}_*", boolean=fname == "visible"
        )
    return out


def _cells_to_matrix(series: Any, col: str, origin: _Origin) -> np.ndarray:
    """A column of lists / arrays (one per row, equal sizes) as a (rows, W) array."""
    import pandas as pd

    if isinstance(series.dtype, pd.ArrowDtype):
        import pyarrow as pa

        return _arrow_list_to_numpy(pa.array(series), col, origin, width=None)
    values = series.to_numpy(dtype=object)
    rows = len(values)
    if rows == 0:
        return np.zeros((0, 0))
    cells = []
    width = None
    for i, cell in enumerate(values):
        if cell is None or (isinstance(cell, float) and math.isnan(cell)):
            raise origin.fail(ShapeError, col, "missing value (expected a list of numbers)", i)
        arr = np.asarray(cell)
        if arr.dtype.kind not in "biuf":
            raise origin.fail(DTypeError, col, f"expected numbers; got {describe(arr)}", i)
        arr = arr.reshape(-1)
        if width is None:
            width = arr.size
        elif arr.size != width:
            raise origin.fail(
                ShapeError, col, f"ragged list column: {arr.size} entries, row 0 has {width}", i
            )
        cells.append(arr)
    return np.stack(cells)


def _arrow_list_to_numpy(arr: Any, col: str, origin: _Origin, *, width: int | None) -> np.ndarray:
    """A pyarrow list / fixed-size-list array as a (rows, W) numpy array, checked row by row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    typ = arr.type
    if not (
        pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_fixed_size_list(typ)
    ):
        raise origin.fail(DTypeError, col, f"expected a list column; got type {typ}")
    rows = len(arr)
    if arr.null_count:
        row = int(np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False))[0])
        raise origin.fail(ShapeError, col, "missing list (null)", row)
    if pa.types.is_fixed_size_list(typ):
        size = typ.list_size
        if width is not None and size != width:
            raise origin.fail(
                ShapeError, col, f"lists of {size} entries; expected {width} (all rows)"
            )
    else:
        lengths = pc.list_value_length(arr).to_numpy(zero_copy_only=False)
        size = int(lengths[0]) if rows else (width or 0)
        expect = size if width is None else width
        bad = np.flatnonzero(lengths != expect)
        if bad.size:
            raise origin.fail(
                ShapeError,
                col,
                f"ragged list column: {int(lengths[bad[0]])} entries where {expect} are expected",
                int(bad[0]),
            )
    values = arr.flatten()
    value_type = values.type
    if not (
        pa.types.is_integer(value_type)
        or pa.types.is_floating(value_type)
        or pa.types.is_boolean(value_type)
    ):
        raise origin.fail(DTypeError, col, f"expected lists of numbers; got {typ}")
    if values.null_count:
        pos = int(np.flatnonzero(values.is_null().to_numpy(zero_copy_only=False))[0])
        raise origin.fail(
            ShapeError, col, "missing value (null) inside a list", pos // max(size, 1)
        )
    out = values.to_numpy(zero_copy_only=False)
    return out.reshape(rows, size)
