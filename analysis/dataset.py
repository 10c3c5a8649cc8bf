r"""Streaming summaries of saved trajectories: everything the statistics need, in one pass.

:func:`summarize` reads trajectories one at a time (a list, a file, or a directory of shards
opened with :func:`causal_influence.io.open_dataset`) and accumulates count tables and sums.
Nothing of size "number of steps" is kept, so the memory used does not grow with the number of
shards: it is one shard (processed in blocks of rows) plus the accumulated tables.

What is accumulated, per *resampling unit* (see below), with k the influencer (speaker) and
j the influencee (listener):

- symbol/action and action/action coordination tables: counts of
  :math:`(m^k_t, a^j_{t+\mathrm{lag}})` and :math:`(a^k_t, a^j_{t+\mathrm{lag}})` for every
  ordered pair, over all steps and over the moments of high influence of k
  (:func:`causal_influence.communication.influential_moments`, the mean taken per episode);
  pairs never cross an episode boundary (:func:`causal_influence.communication.lagged_pairs`);
- speaker-consistency tables: counts of each agent's own :math:`(m^k_t, a^k_t)`;
- the stored pairwise influence (T, N, N): its sum and the number of valid steps; and the
  table of (influencer variable, influencee action) at the influence's own time alignment,
  whose independence is what the influence p-values test;
- when counterfactual logits are stored: the causal influence of communication (CIC) of every
  step and pair, from :func:`causal_influence.communication.causal_influence_of_communication`;
- social outcomes of every episode (:func:`causal_influence.social.social_outcomes`), the mean
  influence by step within the episode, and the first episode's influence trace.

Resampling units
----------------
Bootstrap intervals resample whole episodes. Up to ``max_units`` episodes each episode is its
own unit; beyond that, episode number e joins unit ``e % max_units`` and the units are
resampled instead (a cluster bootstrap with coarser clusters of whole, independent episodes),
which keeps the memory bounded however many episodes are read.

Episodes must not be split across trajectories (or shards); episode ids are local to each
trajectory.

Examples
--------
>>> import numpy as np
>>> from analysis.dataset import summarize
>>> rng = np.random.default_rng(0)
>>> actions = rng.integers(0, 2, size=(400, 2))
>>> actions[1:, 1] = actions[:-1, 0]                  # agent 1 repeats agent 0's last action
>>> summary = summarize({"actions": actions, "episode_ids": np.repeat(np.arange(4), 100)})
>>> summary.num_steps, summary.num_episodes, summary.num_units
(400, 4, 4)
>>> summary.ic_action.sum(axis=0)[0, 1]               # a^0_t against a^1_(t+1)
array([[188,   0],
       [  0, 208]])
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from scipy import special

from causal_influence.communication import (
    causal_influence_of_communication,
    influential_moments,
    lagged_pairs,
)
from causal_influence.errors import ConfigError, FileFormatError, ShapeError, describe
from causal_influence.social import social_outcomes

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_MAX_UNITS",
    "DatasetSummary",
    "iter_trajectories",
    "summarize",
]

#: Default number of bootstrap resampling units (episodes, or groups of episodes beyond it).
DEFAULT_MAX_UNITS = 200

_BLOCK = 32768  # rows per block when building tables (bounds the temporary memory)
_CIC_BLOCK = 2048  # rows per block for CIC (the per-row tensors are N * N * K * A)
_EXAMPLE_MAX = 5000  # longest influence trace kept for plots
_PROFILE_MAX = 100_000  # longest within-episode step index kept for the profile


# ------------------------------------------------------------------------------ reading


def _get(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _metadata(obj: Any) -> dict[str, Any]:
    """Metadata as one flat dict (a TrajectoryMeta's ``extra`` merged into it)."""
    meta = _get(obj, "metadata")
    if hasattr(meta, "to_dict"):
        meta = meta.to_dict()
    if not isinstance(meta, Mapping):
        return {}
    out = {k: v for k, v in meta.items() if k != "extra"}
    extra = meta.get("extra")
    if isinstance(extra, Mapping):
        out.update({k: v for k, v in extra.items() if k not in out})
    return out


def _is_trajectory(obj: Any) -> bool:
    return isinstance(obj, Mapping) or hasattr(obj, "actions")


def iter_trajectories(source: Any) -> Iterator[Any]:
    """Yield the trajectories of ``source`` one at a time.

    Parameters
    ----------
    source : Trajectory, mapping, path, or iterable of these
        A :class:`causal_influence.trajectory.Trajectory` (or any object with the same
        attributes), a mapping of arrays (``actions`` (T, N) and optionally ``episode_ids``,
        ``messages``, ``influence``, ``rewards``, ``logits``, ``message_logits``,
        ``counterfactual_logits``, ``visible``, ``metadata``), a trajectory file (``.parquet``
        or ``.npz``), a directory of shards (read lazily, one shard at a time), or an iterable
        of any of these.

    Raises
    ------
    FileNotFoundError
        When a path does not exist.
    ConfigError
        When ``source`` is none of the above.

    Examples
    --------
    >>> import numpy as np
    >>> parts = [{"actions": np.zeros((3, 2), int)}, {"actions": np.ones((2, 2), int)}]
    >>> [t["actions"].shape for t in iter_trajectories(parts)]
    [(3, 2), (2, 2)]
    """
    if isinstance(source, (str, os.PathLike)):
        yield from _iter_path(Path(source))
        return
    if _is_trajectory(source):
        yield source
        return
    if isinstance(source, Iterable):
        for item in source:
            if isinstance(item, (str, os.PathLike)):
                yield from _iter_path(Path(item))
            elif _is_trajectory(item):
                yield item
            else:
                raise ConfigError(
                    f"expected trajectories, mappings of arrays or paths; got an item that is "
                    f"{describe(item)}"
                )
            del item  # hold nothing while the next item (e.g. a shard) loads
        return
    raise ConfigError(
        f"expected a Trajectory, a mapping of arrays, a path, or an iterable of these; got "
        f"{describe(source)}"
    )


def _iter_path(path: Path) -> Iterator[Any]:
    import causal_influence.io as ci_io

    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    if path.is_dir():
        yield from ci_io.open_dataset(path)
    else:
        loaded = ci_io.load(path)
        if _is_trajectory(loaded):
            yield loaded
        else:
            yield from cast("Iterable[Any]", loaded)


# ------------------------------------------------------------------------------ summary


@dataclass(frozen=True, eq=False)
class DatasetSummary:
    """Accumulated tables and sums of a dataset of trajectories (see the module docstring).

    Arrays indexed by unit have a leading dimension U = :attr:`num_units`. Tables are int64
    counts; ``(k, j)`` = (influencer, influencee); the diagonal of pairwise tables is filled
    but never reported.

    Attributes
    ----------
    agent_ids : tuple of str
    num_actions, num_symbols : int
        Alphabet sizes |A| and |M| (``num_symbols`` is 0 without messages).
    lag : int
        Lag of the coordination tables.
    alignment : str or None
        Time alignment of the stored influence ("same_step" or "next_step"); None without one.
    variable : str or None
        The influencer's variable of the stored influence: "actions" or "messages".
    influence_lag : int or None
        0 for same-step, 1 for next-step influence.
    num_steps, num_episodes : int
    unit_episodes, unit_steps : numpy.ndarray of shape (U,)
    ic_action, ic_action_high : numpy.ndarray of shape (U, N, N, A, A)
        Action/action tables, over all steps and over k's moments of high influence (None
        without influence).
    ic_message, ic_message_high : numpy.ndarray of shape (U, N, N, M, A) or None
    sc : numpy.ndarray of shape (U, N, M, A) or None
    influence_sum : numpy.ndarray of shape (U, N, N) or None
    influence_count : numpy.ndarray of shape (U,) or None
        Valid influence steps per unit.
    dependence : numpy.ndarray of shape (U, N, N, K, A) or None
        Counts of (k's variable at t, j's action at t + influence_lag).
    high_steps : numpy.ndarray of shape (N,) or None
        Number of moments of high influence of each agent.
    cic_sum, cic_compat_sum : numpy.ndarray of shape (U, N, N) or None
        Sums over valid steps of the per-step CIC (nats), correct and ``lowe_compat`` forms.
    cic_count : numpy.ndarray of shape (U,) or None
    profile_sum : numpy.ndarray of shape (L, N) or None
        Sum of each agent's influence reward (summed over influencees) at each step within
        the episode; ``profile_count`` (L,) the number of episodes contributing.
    example_reward, example_moments : numpy.ndarray of shape (T0, N) or None
        Influence reward of the first episode read, and its moments of high influence.
    social : pandas.DataFrame or None
        One row per episode (:func:`causal_influence.social.social_outcomes`), ``episode`` the
        running episode number and ``episode_id`` the id within its trajectory.
    metadata : dict
        Metadata of the first trajectory.
    """

    agent_ids: tuple[str, ...]
    num_actions: int
    num_symbols: int
    lag: int
    alignment: str | None
    variable: str | None
    influence_lag: int | None
    num_steps: int
    num_episodes: int
    unit_episodes: np.ndarray
    unit_steps: np.ndarray
    ic_action: np.ndarray
    ic_action_high: np.ndarray | None = None
    ic_message: np.ndarray | None = None
    ic_message_high: np.ndarray | None = None
    sc: np.ndarray | None = None
    influence_sum: np.ndarray | None = None
    influence_count: np.ndarray | None = None
    dependence: np.ndarray | None = None
    high_steps: np.ndarray | None = None
    cic_sum: np.ndarray | None = None
    cic_compat_sum: np.ndarray | None = None
    cic_count: np.ndarray | None = None
    profile_sum: np.ndarray | None = None
    profile_count: np.ndarray | None = None
    example_reward: np.ndarray | None = None
    example_moments: np.ndarray | None = None
    social: pd.DataFrame | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def num_agents(self) -> int:
        """N, the number of agents."""
        return len(self.agent_ids)

    @property
    def num_units(self) -> int:
        """U, the number of bootstrap resampling units."""
        return int(self.unit_episodes.shape[0])

    @property
    def has_messages(self) -> bool:
        """Whether the trajectories carried messages."""
        return self.ic_message is not None

    @property
    def has_influence(self) -> bool:
        """Whether the trajectories carried a pairwise influence tensor."""
        return self.influence_sum is not None

    @property
    def has_cic(self) -> bool:
        """Whether counterfactual logits were stored (so CIC could be computed)."""
        return self.cic_sum is not None

    def mean_influence(self) -> np.ndarray:
        """Mean influence of each ordered pair over all valid steps, shape (N, N).

        Raises
        ------
        ConfigError
            Without stored influence.
        """
        if self.influence_sum is None or self.influence_count is None:
            raise ConfigError("the trajectories carry no pairwise influence tensor")
        total = int(self.influence_count.sum())
        if total == 0:
            return np.full((self.num_agents, self.num_agents), np.nan)
        return np.asarray(self.influence_sum.sum(axis=0) / total)


def _pad_to(arr: np.ndarray, axes: tuple[int, ...], sizes: tuple[int, ...]) -> np.ndarray:
    widths = [(0, 0)] * arr.ndim
    for ax, size in zip(axes, sizes, strict=True):
        widths[ax] = (0, max(0, size - arr.shape[ax]))
    return np.pad(arr, widths) if any(w[1] for w in widths) else arr


def _as_labels(x: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(x)
    if arr.shape != shape:
        raise ShapeError(f"{name}: expected shape {shape}; got {describe(arr)}")
    if arr.dtype.kind not in "iub":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ShapeError(f"{name}: expected integer labels; got {describe(arr)}")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and arr.min() < 0:
        raise ShapeError(f"{name}: expected non-negative labels; got minimum {int(arr.min())}")
    return arr


def _softmax(logits: np.ndarray) -> np.ndarray:
    return np.asarray(special.softmax(np.asarray(logits, dtype=np.float64), axis=-1))


class _Accumulator:
    """Mutable state of :func:`summarize` (one instance per call)."""

    def __init__(
        self,
        *,
        lag: int,
        alignment: str | None,
        variable: str | None,
        num_actions: int | None,
        num_symbols: int | None,
        max_units: int,
        visible_only: bool,
    ) -> None:
        self.lag = lag
        self.alignment_opt = alignment
        self.variable_opt = variable
        self.num_actions_opt = num_actions
        self.num_symbols_opt = num_symbols
        self.max_units = max_units
        self.visible_only = visible_only
        self.started = False
        self.n = 0
        self.a = 0
        self.m = 0
        self.k = 0
        self.agent_ids: tuple[str, ...] = ()
        self.metadata: dict[str, Any] = {}
        self.alignment: str | None = None
        self.variable: str | None = None
        self.influence_lag: int | None = None
        self.num_steps = 0
        self.num_episodes = 0
        self.t: dict[str, np.ndarray] = {}  # accumulated tables and sums
        self.social: list[pd.DataFrame] = []
        self.example_reward: np.ndarray | None = None
        self.example_moments: np.ndarray | None = None

    # -------------------------------------------------------------- set-up

    def _start(self, obj: Any, actions: np.ndarray) -> None:
        meta = _metadata(obj)
        self.metadata = meta
        self.n = actions.shape[1]
        ids = meta.get("agent_ids")
        if ids is not None and len(ids) == self.n:
            self.agent_ids = tuple(str(i) for i in ids)
        else:
            self.agent_ids = tuple(f"agent_{i}" for i in range(self.n))
        self.has_messages = _get(obj, "messages") is not None
        self.has_influence = _get(obj, "influence") is not None
        self.has_cf = self.has_influence and _get(obj, "counterfactual_logits") is not None
        if self.has_influence:
            align = self.alignment_opt or meta.get("influence_alignment")
            if align not in ("same_step", "next_step"):
                raise ConfigError(
                    f"the trajectories carry an influence tensor but its time alignment is "
                    f"unknown (metadata influence_alignment = {align!r}); pass "
                    f"alignment='same_step' (a^k_t -> a^j_t) or 'next_step' "
                    f"(a^k_t or m^k_t -> a^j_(t+1))"
                )
            self.alignment = align
            self.influence_lag = 0 if align == "same_step" else 1
            var = self.variable_opt or meta.get("influence_variable")
            if var is None:
                var = "messages" if meta.get("setting") == "comm" else "actions"
            if var not in ("actions", "messages"):
                raise ConfigError(f"variable: expected 'actions' or 'messages'; got {var!r}")
            if var == "messages" and not self.has_messages:
                raise ConfigError(
                    "the influence is of messages (variable='messages') but the trajectories "
                    "carry no messages"
                )
            self.variable = var
        self.started = True

    def _sizes(self, obj: Any, actions: np.ndarray, messages: np.ndarray | None) -> None:
        meta = _metadata(obj)
        a = int(actions.max()) + 1 if actions.size else 1
        logits = _get(obj, "logits")
        if logits is not None:
            a = max(a, int(np.shape(logits)[-1]))
        names = meta.get("action_names")
        if names:
            a = max(a, len(names))
        if meta.get("num_actions"):
            a = max(a, int(meta["num_actions"]))
        if self.num_actions_opt is not None:
            if a > self.num_actions_opt:
                raise ShapeError(
                    f"num_actions={self.num_actions_opt} but the data has {a} actions; pass the "
                    f"full alphabet size"
                )
            a = self.num_actions_opt
        m = 0
        if messages is not None:
            m = int(messages.max()) + 1 if messages.size else 1
            mlog = _get(obj, "message_logits")
            if mlog is not None:
                m = max(m, int(np.shape(mlog)[-1]))
            if meta.get("num_symbols"):
                m = max(m, int(meta["num_symbols"]))
            if self.num_symbols_opt is not None:
                if m > self.num_symbols_opt:
                    raise ShapeError(
                        f"num_symbols={self.num_symbols_opt} but the data has {m} symbols; pass "
                        f"the full alphabet size"
                    )
                m = self.num_symbols_opt
        self._grow(max(a, self.a), max(m, self.m))

    def _grow(self, a: int, m: int) -> None:
        """Pad every accumulated table to alphabet sizes (a, m)."""
        k = m if self.variable == "messages" else a
        if self.t:
            n_axes = {
                "ic_action": (a, a),
                "ic_action_high": (a, a),
                "ic_message": (m, a),
                "ic_message_high": (m, a),
                "dependence": (k, a),
            }
            for name, sizes in n_axes.items():
                if name in self.t:
                    self.t[name] = _pad_to(self.t[name], (3, 4), sizes)
            if "sc" in self.t:
                self.t["sc"] = _pad_to(self.t["sc"], (2, 3), (m, a))
        self.a, self.m, self.k = a, m, k

    def _zeros(self, name: str, shape: tuple[int, ...], dtype: Any = np.int64) -> np.ndarray:
        if name not in self.t:
            self.t[name] = np.zeros(shape, dtype=dtype)
        return self.t[name]

    # -------------------------------------------------------------- tables

    def _pair_counts(
        self,
        name: str,
        src: np.ndarray,
        dst: np.ndarray,
        unit: np.ndarray,
        t_idx: np.ndarray,
        lag: int,
        nx: int,
        mask: np.ndarray | None = None,
    ) -> None:
        """Add counts of (src[t, k], dst[t + lag, j]) per unit and ordered pair."""
        n, u_max, ny = self.n, self.max_units, self.a
        out = self._zeros(name, (u_max, n, n, nx, ny))
        flat = out.reshape(-1)
        kj = (np.arange(n)[:, None] * n + np.arange(n)[None, :])[None]
        for start in range(0, t_idx.size, _BLOCK):
            t = t_idx[start : start + _BLOCK]
            code = ((unit[t][:, None, None] * (n * n) + kj) * nx + src[t][:, :, None]) * ny + dst[
                t + lag
            ][:, None, :]
            if mask is not None:
                code = code[np.broadcast_to(mask[t][:, :, None], code.shape)]
            flat += np.bincount(code.ravel(), minlength=flat.size)

    def _own_counts(self, messages: np.ndarray, actions: np.ndarray, unit: np.ndarray) -> None:
        n, m, a = self.n, self.m, self.a
        out = self._zeros("sc", (self.max_units, n, m, a))
        flat = out.reshape(-1)
        agents = np.arange(n)[None, :]
        for start in range(0, actions.shape[0], _BLOCK):
            rows = slice(start, start + _BLOCK)
            code = ((unit[rows][:, None] * n + agents) * m + messages[rows]) * a + actions[rows]
            flat += np.bincount(code.ravel(), minlength=flat.size)

    def _unit_sums(self, name: str, values: np.ndarray, unit: np.ndarray) -> None:
        """Add values (P, N, N) into per-unit sums (U, N, N)."""
        n = self.n
        out = self._zeros(name, (self.max_units, n, n), np.float64)
        code = unit[:, None] * (n * n) + np.arange(n * n)[None, :]
        out += np.bincount(
            code.ravel(), weights=values.reshape(-1, n * n).ravel(), minlength=out.size
        ).reshape(out.shape)

    # -------------------------------------------------------------- one trajectory

    def add(self, obj: Any) -> None:
        actions_raw = _get(obj, "actions")
        if actions_raw is None:
            raise FileFormatError(
                f"a trajectory without actions: expected an 'actions' array of shape (T, N); got "
                f"{describe(obj)}"
            )
        actions_arr = np.asarray(actions_raw)
        if actions_arr.ndim != 2 or actions_arr.shape[0] == 0:
            raise ShapeError(
                f"actions: expected shape (T, N), time-major with T > 0; got "
                f"{describe(actions_arr)}"
            )
        if not self.started:
            self._start(obj, actions_arr)
        t_len, n = actions_arr.shape
        if n != self.n:
            raise ShapeError(
                f"every trajectory must have the same agents; the first had N = {self.n}, this "
                f"one has actions of shape {actions_arr.shape}"
            )
        actions = _as_labels(actions_arr, "actions", (t_len, n))
        messages = None
        if self.has_messages:
            raw = _get(obj, "messages")
            if raw is None:
                raise FileFormatError("the first trajectory had messages but a later one has none")
            messages = _as_labels(raw, "messages", (t_len, n))
        self._sizes(obj, actions, messages)

        ids_raw = _get(obj, "episode_ids")
        ids = np.zeros(t_len, dtype=np.int64) if ids_raw is None else np.asarray(ids_raw)
        if ids.shape != (t_len,):
            raise ShapeError(
                f"episode_ids: expected shape ({t_len},), one id per step; got {describe(ids)}"
            )
        _, first, inv = np.unique(ids, return_index=True, return_inverse=True)
        rank = np.argsort(np.argsort(first))  # episodes in order of first appearance
        ordinal = self.num_episodes + rank[inv]
        unit = ordinal % self.max_units
        lengths = np.bincount(rank[inv])
        n_ep = lengths.size
        # Step index within each episode.
        order = np.argsort(rank[inv], kind="stable")
        t_in = np.empty(t_len, dtype=np.int64)
        starts = np.cumsum(lengths) - lengths
        t_in[order] = np.arange(t_len) - np.repeat(starts, lengths)

        ep_units = (self.num_episodes + np.arange(n_ep)) % self.max_units
        ue = self._zeros("unit_episodes", (self.max_units,))
        us = self._zeros("unit_steps", (self.max_units,))
        np.add.at(ue, ep_units, 1)
        np.add.at(us, ep_units, lengths)

        pairs = lagged_pairs(t_len, self.lag, ids)
        self._pair_counts("ic_action", actions, actions, unit, pairs, self.lag, self.a)
        if messages is not None:
            self._pair_counts("ic_message", messages, actions, unit, pairs, self.lag, self.m)
            self._own_counts(messages, actions, unit)

        if self.has_influence:
            self._add_influence(obj, actions, messages, ids, unit, t_in, pairs)
        self._add_social(obj, ids, rank[inv])
        self.num_steps += t_len
        self.num_episodes += n_ep

    def _valid_rows(self, ids: np.ndarray) -> np.ndarray:
        t_len = ids.shape[0]
        valid = np.ones(t_len, dtype=bool)
        if self.influence_lag == 1:
            valid[-1] = False
            valid[:-1] = ids[:-1] == ids[1:]
        return valid

    def _add_influence(
        self,
        obj: Any,
        actions: np.ndarray,
        messages: np.ndarray | None,
        ids: np.ndarray,
        unit: np.ndarray,
        t_in: np.ndarray,
        pairs: np.ndarray,
    ) -> None:
        t_len, n = actions.shape
        raw = _get(obj, "influence")
        if raw is None:
            raise FileFormatError("the first trajectory had influence but a later one has none")
        infl = np.asarray(raw, dtype=np.float64)
        if infl.shape != (t_len, n, n):
            raise ShapeError(
                f"influence: expected shape (T, N, N) = ({t_len}, {n}, {n}); got {describe(infl)}"
            )
        if not np.all(np.isfinite(infl)):
            raise FileFormatError("influence: contains NaN or infinite values")
        if self.visible_only and _get(obj, "visible") is not None:
            vis = np.asarray(_get(obj, "visible"), dtype=bool)
            if vis.shape != infl.shape:
                raise ShapeError(f"visible: expected shape {infl.shape}; got {describe(vis)}")
            infl = np.where(vis, infl, 0.0)
        infl = infl * (1.0 - np.eye(n))[None]
        valid = self._valid_rows(ids)
        rows = np.flatnonzero(valid)
        self._unit_sums("influence_sum", infl[rows], unit[rows])
        count = self._zeros("influence_count", (self.max_units,))
        np.add.at(count, unit[rows], 1)

        reward = infl.sum(axis=-1)  # (T, N)
        moments = np.zeros((t_len, n), dtype=bool)
        if rows.size:
            moments[rows] = influential_moments(reward[rows], episode_ids=ids[rows])
        high = self._zeros("high_steps", (n,))
        high += moments.sum(axis=0)
        self._pair_counts(
            "ic_action_high", actions, actions, unit, pairs, self.lag, self.a, moments
        )
        if messages is not None:
            self._pair_counts(
                "ic_message_high", messages, actions, unit, pairs, self.lag, self.m, moments
            )
        lag = int(self.influence_lag or 0)
        src = messages if self.variable == "messages" and messages is not None else actions
        dep_pairs = lagged_pairs(t_len, lag, ids)
        self._pair_counts("dependence", src, actions, unit, dep_pairs, lag, self.k)

        # Influence by step within the episode, and the first episode's trace.
        steps = np.minimum(t_in[rows], _PROFILE_MAX - 1)
        length = int(steps.max()) + 1 if steps.size else 0
        prof = self._zeros("profile_sum", (0, n), np.float64)
        pcount = self._zeros("profile_count", (0,))
        if length > prof.shape[0]:
            prof = self.t["profile_sum"] = _pad_to(prof, (0,), (length,))
            pcount = self.t["profile_count"] = _pad_to(pcount, (0,), (length,))
        for k in range(n):
            prof[:length, k] += np.bincount(steps, weights=reward[rows, k], minlength=length)
        pcount[:length] += np.bincount(steps, minlength=length)
        if self.example_reward is None:
            first = np.flatnonzero(ids == ids[0])[:_EXAMPLE_MAX]
            keep = first[valid[first]]
            self.example_reward = reward[keep]
            self.example_moments = moments[keep]

        if self.has_cf:
            self._add_cic(obj, rows, unit)

    def _add_cic(self, obj: Any, rows: np.ndarray, unit: np.ndarray) -> None:
        n = self.n
        cf = _get(obj, "counterfactual_logits")
        prior_name = "message_logits" if self.variable == "messages" else "logits"
        prior = _get(obj, prior_name)
        if cf is None or prior is None:
            raise FileFormatError(
                f"counterfactual_logits need the influencer's policy ({prior_name}) for the "
                f"CIC weights; one of them is missing"
            )
        cf = np.asarray(cf)
        prior = np.asarray(prior)
        t_len = cf.shape[0]
        if cf.ndim != 5 or cf.shape[1:3] != (n, n) or prior.shape[:2] != (t_len, n):
            raise ShapeError(
                f"counterfactual_logits: expected shape (T, N, N, K, A) with {prior_name} "
                f"(T, N, K); got {describe(cf)} and {describe(prior)}"
            )
        if prior.shape[-1] != cf.shape[3]:
            raise ShapeError(
                f"counterfactual_logits has K = {cf.shape[3]} counterfactual values but "
                f"{prior_name} has {prior.shape[-1]}"
            )
        off = ~np.eye(n, dtype=bool)
        for start in range(0, rows.size, _CIC_BLOCK):
            r = rows[start : start + _CIC_BLOCK]
            p_cond = _softmax(cf[r])
            p_cond[:, ~off] = 1.0 / p_cond.shape[-1]  # the diagonal is never used
            p_msg = np.broadcast_to(_softmax(prior[r])[:, :, None, :], p_cond.shape[:-1])
            value = causal_influence_of_communication(p_cond, p_msg, reduce=False)
            compat = causal_influence_of_communication(
                p_cond, p_msg, lowe_compat=True, reduce=False
            )
            self._unit_sums("cic_sum", np.where(off, value, 0.0), unit[r])
            self._unit_sums("cic_compat_sum", np.where(off, compat, 0.0), unit[r])
        count = self._zeros("cic_count", (self.max_units,))
        np.add.at(count, unit[rows], 1)

    def _add_social(self, obj: Any, ids: np.ndarray, local_episode: np.ndarray) -> None:
        rewards = _get(obj, "extrinsic")
        if rewards is None:
            rewards = _get(obj, "rewards")
        if rewards is None:
            return
        timeouts = _get(obj, "timeouts")
        frame = social_outcomes(
            np.asarray(rewards, dtype=np.float64),
            timeouts=None if timeouts is None else np.asarray(timeouts, dtype=bool),
            episode_ids=local_episode,
        )
        uniq_ids = np.empty(int(local_episode.max()) + 1, dtype=ids.dtype)
        uniq_ids[local_episode] = ids
        frame.insert(1, "episode_id", uniq_ids[frame["episode"].to_numpy()])
        frame["episode"] = frame["episode"] + self.num_episodes
        self.social.append(frame)

    # -------------------------------------------------------------- result

    def finish(self) -> DatasetSummary:
        if not self.started:
            raise FileFormatError("no trajectories to summarise: the source is empty")
        import pandas as pd

        u = min(self.max_units, self.num_episodes)

        def take(name: str) -> np.ndarray | None:
            arr = self.t.get(name)
            return None if arr is None else arr[:u]

        unit_episodes = self.t["unit_episodes"][:u]
        unit_steps = self.t["unit_steps"][:u]
        ic_action = self.t["ic_action"][:u]
        return DatasetSummary(
            agent_ids=self.agent_ids,
            num_actions=self.a,
            num_symbols=self.m,
            lag=self.lag,
            alignment=self.alignment,
            variable=self.variable,
            influence_lag=self.influence_lag,
            num_steps=self.num_steps,
            num_episodes=self.num_episodes,
            unit_episodes=unit_episodes,
            unit_steps=unit_steps,
            ic_action=ic_action,
            ic_action_high=take("ic_action_high"),
            ic_message=take("ic_message"),
            ic_message_high=take("ic_message_high"),
            sc=take("sc"),
            influence_sum=take("influence_sum"),
            influence_count=take("influence_count"),
            dependence=take("dependence"),
            high_steps=self.t.get("high_steps"),
            cic_sum=take("cic_sum"),
            cic_compat_sum=take("cic_compat_sum"),
            cic_count=take("cic_count"),
            profile_sum=self.t.get("profile_sum"),
            profile_count=self.t.get("profile_count"),
            example_reward=self.example_reward,
            example_moments=self.example_moments,
            social=pd.concat(self.social, ignore_index=True) if self.social else None,
            metadata=self.metadata,
        )


def summarize(
    source: Any,
    *,
    lag: int = 1,
    alignment: str | None = None,
    variable: str | None = None,
    num_actions: int | None = None,
    num_symbols: int | None = None,
    max_units: int = DEFAULT_MAX_UNITS,
    visible_only: bool = False,
    progress: bool = False,
) -> DatasetSummary:
    """Read every trajectory of ``source`` once and accumulate the tables of the statistics.

    Parameters
    ----------
    source : Trajectory, mapping of arrays, path, or iterable of these
        See :func:`iter_trajectories`. Arrays are time-major, agent second: ``actions``
        (T, N), ``messages`` (T, N), ``influence`` (T, N, N) (row = influencer k, column =
        influencee j), ``counterfactual_logits`` (T, N, N, K, A) with row t aligned with
        influence row t, ``logits`` (T, N, A), ``message_logits`` (T, N, M), ``rewards``
        (T, N), ``episode_ids`` (T,).
    lag : int
        Lag of instantaneous coordination (default 1: speaker at t, listener at t + 1).
    alignment : {"same_step", "next_step"}, optional
        Time alignment of the stored influence (default: the ``influence_alignment`` of the
        metadata). Next-step influence is not measured on the last step of an episode.
    variable : {"actions", "messages"}, optional
        The influencer's variable of the stored influence (default: metadata
        ``influence_variable``; else "messages" when the metadata ``setting`` is "comm", else
        "actions").
    num_actions, num_symbols : int, optional
        Alphabet sizes |A| and |M| (default: from the logits, the metadata, or the labels).
    max_units : int
        Largest number of bootstrap resampling units (module docstring).
    visible_only : bool
        Count only influence on influencees visible to the influencer (needs ``visible``).
    progress : bool
        Show a progress bar over trajectories (tqdm, on stderr).

    Returns
    -------
    DatasetSummary

    Raises
    ------
    ConfigError
        Unknown alignment or variable, or a source of the wrong kind.
    ShapeError, FileFormatError
        Arrays of inconsistent shapes, missing arrays, an empty source.
    """
    if lag < 0:
        raise ConfigError(f"lag: expected a non-negative integer; got {lag}")
    if max_units < 1:
        raise ConfigError(f"max_units: expected a positive integer; got {max_units}")
    if alignment is not None and alignment not in ("same_step", "next_step"):
        raise ConfigError(f"alignment: expected 'same_step' or 'next_step'; got {alignment!r}")
    from tqdm.auto import tqdm

    acc = _Accumulator(
        lag=int(lag),
        alignment=alignment,
        variable=variable,
        num_actions=num_actions,
        num_symbols=num_symbols,
        max_units=int(max_units),
        visible_only=visible_only,
    )
    bar = tqdm(desc="reading", unit="traj", disable=not progress, delay=0.5)
    for traj in iter_trajectories(source):
        acc.add(traj)
        # Drop the reference before the next shard loads: otherwise the loop variable (or a
        # wrapping iterator's) holds this shard while the next one is read, two at a time.
        del traj
        bar.update()
    bar.close()
    return acc.finish()
