# Long (about 710 lines): one class, the Trajectory type. Its checks, episode structure, layouts
# and file conversions live in the sibling modules; what stays is the class docstring (90 lines),
# the field properties and the documented constructors and episode views that users call.
"""The :class:`Trajectory` type: steps of episodes of N agents, checked once, immutable.

Building one runs the steps of :mod:`causal_influence.trajectory.fields` and
:mod:`causal_influence.trajectory.episodes`; after that the arrays are read-only views and
every method trusts them (slices, episode views and pickles skip the checks). The long-table
methods (:meth:`Trajectory.from_dataframe`, :meth:`Trajectory.to_dataframe`) are implemented
in :mod:`causal_influence.trajectory.long_table`.

Examples
--------
>>> import numpy as np
>>> from causal_influence.trajectory import Trajectory
>>> traj = Trajectory([[0, 1], [1, 1]], [[0.0, 1.0], [0.5, 0.0]], num_actions=2)
>>> traj.actions.flags.writeable
False
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from causal_influence.errors import ConfigError, DTypeError, describe
from causal_influence.trajectory.episodes import episode_structure
from causal_influence.trajectory.fields import (
    check_against_metadata,
    copy_shared_inputs,
    infer_metadata,
    optional_arrays,
    required_arrays,
)
from causal_influence.trajectory.layouts import agent_view, stack_layouts
from causal_influence.trajectory.metadata import TrajectoryMeta, updated_fields
from causal_influence.trajectory.schema import ARRAY_FIELDS, OPTIONAL_FIELDS
from causal_influence.validation import as_episode_starts

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Trajectory"]


class Trajectory:
    r"""Steps of one or more episodes of N agents, time-major, agent second; immutable.

    Parameters
    ----------
    actions : array_like of int, shape (T, N)
        Action of each agent at each step, in [0, num_actions).
    rewards : array_like of float, shape (T, N)
        Reward of each agent (integers are converted to float64); finite, or NaN everywhere
        when rewards were not recorded.
    episode_ids : array_like of int, shape (T,), optional
        Episode of each step; each episode's steps must be contiguous. Give at most one of
        ``episode_ids``, ``episode_starts`` (bool (T,), True on an episode's first step) and
        ``dones`` (bool (T,) or (T, N), True on an episode's last step; with (T, N) every agent
        must agree). Without any, all steps form one episode.
    t : array_like of int, shape (T,), optional
        Step within the episode (default 0, 1, ... from each episode start); must grow by 1.
    messages : array_like of int, shape (T, N), optional
        Symbol each agent sent, in [0, num_symbols).
    context : array_like of int, shape (T, N), optional
        Context label each agent sees at each step (the target a speaker is shown, a goal, a
        feature of its observation), in [0, num_contexts), or -1 where the agent sees no
        context. Grounded information and conditional coordination
        (:mod:`causal_influence.communication`) read it.
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
        else the last axis of ``message_logits``, else 0 (no messages); ``num_contexts`` to
        ``len(context_names)``, else 0 (no context).
    copy : bool, default True
        Copy input arrays (False keeps them when dtypes already match; do not modify them
        afterwards).

    Raises
    ------
    ShapeError
        Wrong shapes, values out of range, non-contiguous episodes, t not growing by 1, NaN or
        infinite rewards or influence (naming the step and agent).
    DTypeError
        Wrong dtypes (e.g. float actions).
    InvalidDistributionError
        NaN or +inf in logits, message_logits or counterfactual_logits; all -inf rows in
        logits or message_logits.
    ConfigError
        Missing metadata (``num_actions`` not inferable, messages without ``num_symbols``, a
        context without ``num_contexts``).

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
        context: Any = None,
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
            "episode_ids": episode_ids,
            "t": t,
            "messages": messages,
            "context": context,
            "logits": logits,
            "message_logits": message_logits,
            "visible": visible,
            "influence": influence,
            "counterfactual_logits": counterfactual_logits,
            "obs": obs,
        }
        arrays = required_arrays(actions, rewards)
        num_steps, num_agents = arrays["actions"].shape
        ids, steps, starts = episode_structure(
            num_steps, episode_ids=episode_ids, episode_starts=episode_starts, dones=dones, t=t
        )
        arrays.update(episode_ids=ids, t=steps)
        arrays.update(optional_arrays(inputs, num_steps, num_agents))
        meta_obj = infer_metadata(metadata, meta, arrays)
        check_against_metadata(arrays, meta_obj, starts=starts)
        if copy:
            copy_shared_inputs(arrays, inputs)
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
            ids = arrays["episode_ids"]
            starts = as_episode_starts(len(ids), episode_ids=ids)
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
    def context(self) -> np.ndarray | None:
        """int64 array of shape (T, N): the context label each agent sees (-1: none), or None."""
        return self._arrays.get("context")

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

    def agent_obs(self, agent: str | int) -> np.ndarray:
        """One agent's observations in their own shape, (T, *obs_shape_i) (read-only view).

        With heterogeneous observations (:attr:`TrajectoryMeta.obs_shapes`) ``obs`` holds
        them flattened and padded; this undoes it.

        Raises
        ------
        ConfigError
            Without observations, or for an unknown agent.

        Examples
        --------
        >>> traj = Trajectory.from_arrays({
        ...     "actions": {"speaker": [0, 1], "listener": [2, 2]},
        ...     "rewards": {"speaker": [0, 0], "listener": [1, 1]},
        ...     "obs": {"speaker": np.ones((2, 3)), "listener": np.zeros((2, 2, 2))}},
        ...     num_actions=3)
        >>> traj.obs.shape, traj.metadata.obs_shapes
        ((2, 2, 4), ((3,), (2, 2)))
        >>> traj.agent_obs("listener").shape, traj.agent_obs(0)[0]
        ((2, 2, 2), array([1., 1., 1.]))
        """
        if self.obs is None:
            raise ConfigError("agent_obs: this trajectory has no observations")
        return agent_view(self.obs, self._meta.obs_shapes, self._meta.agent_index(agent))

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

    def replace(
        self, *, metadata: TrajectoryMeta | Mapping[str, Any] | None = None, **arrays: Any
    ) -> Trajectory:
        """A new trajectory with some arrays or metadata changed (validated again).

        Parameters
        ----------
        metadata : dict or TrajectoryMeta, optional
            A dict **updates** the metadata: its keys replace those fields (``env`` means
            ``env_name``), its ``extra`` and any other keys are merged into ``extra``
            (``{"extra": {"run": None}}`` keeps the key with a None value; build a new dict
            for ``extra`` with a TrajectoryMeta to drop keys). A
            :class:`TrajectoryMeta` **replaces** the metadata entirely.
        **arrays
            Fields to replace; ``name=None`` drops an optional field.

        Examples
        --------
        >>> traj = Trajectory([[0, 1]], [[0.0, 0.0]], num_actions=2, env_name="toy",
        ...                   extra={"run": 1})
        >>> traj.replace(rewards=[[1.0, 2.0]]).rewards
        array([[1., 2.]])
        >>> merged = traj.replace(metadata={"seed": 3, "extra": {"note": "b"}, "map": "small"})
        >>> merged.metadata.env_name, merged.metadata.seed, merged.metadata.extra
        ('toy', 3, {'run': 1, 'note': 'b', 'map': 'small'})
        """
        unknown = set(arrays) - set(ARRAY_FIELDS)
        if unknown:
            raise ConfigError(f"replace: unknown fields {sorted(unknown)}; known: {ARRAY_FIELDS}")
        current: dict[str, Any] = dict(self._arrays)
        current.update(arrays)
        if metadata is None or isinstance(metadata, TrajectoryMeta):
            return Trajectory(**current, metadata=metadata or self._meta)
        if not isinstance(metadata, Mapping):
            raise DTypeError(
                f"replace: metadata must be a dict (merged) or a TrajectoryMeta (replaces); "
                f"got {describe(metadata)}"
            )
        return Trajectory(**current, metadata=updated_fields(self._meta, metadata))

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

        Keys are the :class:`Trajectory` field names plus ``episode_starts`` and ``dones``
        (or gymnasium's ``terminated`` / ``truncated``: an episode ends where either is
        True); ``dones`` may also be per agent (all agents must agree). Agent ids come from
        the dict keys (in their order) unless ``agent_ids`` is given, which then fixes the
        order.

        Per-agent arrays may differ where agents do (nothing is padded by hand): logits,
        observations and counterfactual logits of different sizes are padded and described in
        the metadata, agents left out of ``messages`` / ``context`` have none (-1); see
        :func:`~causal_influence.trajectory.layouts.stack_agents` and
        ``docs/trajectories.md``.

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
        arrays, overrides = stack_layouts(data, metadata=metadata, overrides=meta)
        return cls(**arrays, metadata=metadata, copy=copy, **overrides)

    @classmethod
    def from_dataframe(
        cls,
        df: pd.DataFrame,
        *,
        columns: Mapping[str, str] | None = None,
        metadata: TrajectoryMeta | Mapping[str, Any] | None = None,
        obs_shape: Sequence[int] | None = None,
        **meta: Any,
    ) -> Trajectory:
        """Build a trajectory from a long table with one row per (episode, t, agent).

        Columns (others are ignored; ``columns`` maps these names to your table's, e.g.
        ``columns={"action": "act", "agent": "agent_id", "logits": "action_dist_inputs"}``,
        field names such as ``actions`` accepted too):

        - ``t``, ``agent`` (int index or str id), ``action``, ``reward`` (required);
          ``episode`` (else gymnasium ``terminated`` / ``truncated`` / ``done`` end episodes,
          rows in time order; else one episode); ``message``, ``context`` (NaN or -1: none);
        - vector fields as a column of lists per row or "wide" columns ``{prefix}_0 ...``:
          ``logits`` / ``logit_*`` (A), ``message_logits`` / ``message_logit_*``, ``visible_*``
          and ``influence_*`` (N, the row's agent as observer / influencer),
          ``counterfactual_logit_*`` (N*K*A or (N, K, A) cells), ``obs_*`` (flattened unless
          ``obs_shape`` is given or the cells are arrays).

        Rows of ``logits`` (``message_logits``, ``obs``) may differ in width between agents
        (an RLlib batch; or wide columns ending in NaN): padded, with the per-agent counts set.

        Rows may come in any order: steps are ordered by t within an episode and episodes by
        first appearance. Every (episode, t) needs exactly one row per agent, and t must grow
        by 1 within an episode. String agent ids keep the order in which they first appear
        (never re-sorted) unless ``agent_ids`` is given. Action columns of whole numbers
        stored as floats are accepted. A frame made by :meth:`to_dataframe` carries its
        metadata in ``df.attrs``, used unless overridden.

        Raises
        ------
        ConfigError
            A column mapping naming an unknown column or one the table lacks.
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
        # imported here: the dataframe module builds trajectories, so it imports this one
        from causal_influence.trajectory.dataframe import trajectory_from_dataframe

        return trajectory_from_dataframe(
            df, metadata=metadata, obs_shape=obs_shape, overrides=meta, mapping=columns
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
        # imported here: the dataframe module builds trajectories, so it imports this one
        from causal_influence.trajectory.dataframe import trajectory_to_dataframe

        return trajectory_to_dataframe(self, columns=columns, vectors=vectors)


def _rebuild(arrays: dict[str, np.ndarray], meta: TrajectoryMeta) -> Trajectory:
    """Unpickle a :class:`Trajectory` (pickle only ever calls this with a valid one's state)."""
    return Trajectory._trusted(arrays, meta)
