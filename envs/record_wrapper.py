# Long (about 700 lines): one class, the PettingZoo recording wrapper, with the checks of the
# per-step fields it takes.
"""Record the episodes of any PettingZoo ``ParallelEnv`` as :class:`~causal_influence.Trajectory`.

:class:`RecordTrajectories` wraps a parallel env and keeps, for every step, each agent's action
and reward, plus whatever the caller's policy produced and passes to ``step`` as keyword
arguments: action ``logits``, ``messages``, ``message_logits``, ``visible`` (who sees whom), a
``context`` label (e.g. the target a speaker sees), and the influence it computed:
``counterfactual_logits`` and ``influence``. Every finished episode becomes one immutable
:class:`~causal_influence.trajectory.Trajectory` (time-major, agent second, agent ids in
``possible_agents`` order, metadata from the env and the constructor, including the typed
:class:`~causal_influence.trajectory.InfluenceSpec`), ready for
:func:`causal_influence.io.save`, :func:`causal_influence.io.write_shards` and
:mod:`analysis`. The wrapped env keeps the PettingZoo API (``parallel_api_test`` passes), so it
drops into an existing loop; only the ``step`` call gains optional keywords.

Rules
-----
- Actions must be discrete: ``Discrete(A_i)`` (with ``start=0``), or, with
  ``message_in_action=True``, ``MultiDiscrete([A_i, M_i])`` pairs (action, symbol) whose
  symbol is recorded as the message (the message channel of :mod:`envs.harvest` and
  :mod:`envs.cleanup`).
- **Agents may differ** (a speaker and a listener): each has its own number of actions (from
  its action space; the metadata's ``agent_num_actions``), its own observation shape
  (``record_obs``: observations are flattened and padded, the metadata's ``obs_shapes``), and
  may not speak at all (``speakers=``: the others' messages are -1, their vocabulary 0).
  Per-agent values are passed as dicts keyed by agent id, each in the agent's own size;
  nothing needs padding by hand.
- The agents are fixed per recorder (``possible_agents`` by default). An agent that is not
  acting at a step (terminated early, not yet spawned) is recorded with ``fill_action``
  (reward 0, uniform logits, no message); without ``fill_action`` such a step raises.
- Which optional fields are recorded is fixed by the first step of an episode; every later step
  of that episode must pass the same ones.
- **Influence** (``counterfactual_logits``, ``influence``) is passed as the policy computes
  it at the step, and stored in the trajectory's layout (row t credited to the step of the
  influencer's value; :mod:`causal_influence.trajectory.influence_spec`). With
  ``alignment="next_step"`` and a policy (the influencees' policy at this step, reading the
  influencers' values of the previous step), the values passed at step t are written to row
  t - 1; those passed at an episode's first step describe no earlier value and are not
  stored, and the last row of the episode stays absent (-inf logits, 0 influence). A model of
  other agents that predicts the next step (``predicts_next_step=True``) and same-step
  influence are written to row t.
- An episode ends when the env has no agents left; ``reset`` and ``close`` also close an
  unfinished episode (it is kept, with the steps it has).

Examples
--------
>>> import numpy as np
>>> from envs import harvest
>>> from envs.record_wrapper import RecordTrajectories
>>> env = RecordTrajectories(harvest.parallel_env(map="small_harvest", num_agents=2,
...                                               obs_type="symbolic", max_cycles=3))
>>> obs, infos = env.reset(seed=0)
>>> while env.agents:
...     logits = {a: np.zeros(8) for a in env.agents}           # the policy's output
...     actions = {a: 4 for a in env.agents}                     # STAY
...     _ = env.step(actions, logits=logits)
>>> traj = env.trajectory()
>>> traj
Trajectory(num_steps=3, num_agents=2, num_episodes=1, num_actions=8, fields=('logits',))
>>> traj.metadata.env_name, traj.metadata.env_version, traj.metadata.seed
('harvest', 'v0', 0)
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv
from pettingzoo.utils.wrappers import BaseParallelWrapper

from causal_influence.errors import ConfigError, DTypeError, ShapeError, describe
from causal_influence.trajectory import InfluenceSpec, Trajectory, concat
from causal_influence.trajectory.layouts import stack_agents
from causal_influence.trajectory.metadata import metadata_fields
from causal_influence.validation import to_numpy

__all__ = ["RecordTrajectories"]

#: Optional per-step fields a caller may pass to ``step``.
STEP_FIELDS: tuple[str, ...] = (
    "logits",
    "messages",
    "message_logits",
    "visible",
    "context",
    "influence",
    "counterfactual_logits",
)
#: Fields holding influence: written to the row of the influencer's value.
_INFLUENCE_FIELDS = ("influence", "counterfactual_logits")
#: What an absent influence row holds.
_ABSENT = {"influence": 0.0, "counterfactual_logits": -np.inf}
#: Metadata the recorder derives itself (from the env, the spaces and the data).
_DERIVED = ("agent_ids", "num_actions", "agent_num_actions", "agent_num_symbols", "obs_shapes")


class RecordTrajectories(BaseParallelWrapper):
    """A ``ParallelEnv`` that records its episodes as trajectories.

    Parameters
    ----------
    env : pettingzoo.ParallelEnv
        Any parallel env with discrete actions.
    agents : sequence of str, optional
        Agents to record, in column order (default: ``env.possible_agents``).
    num_actions : int, optional
        A, the largest number of actions; inferred from the action spaces (each agent's
        ``n``, recorded as ``agent_num_actions`` when they differ).
    num_symbols : int, optional
        M, the vocabulary size; inferred from ``MultiDiscrete([A, M])`` action spaces with
        ``message_in_action``, else from the ``message_logits`` of the first step. Needed when
        messages are passed without message logits.
    speakers : sequence of str, optional
        The agents that send messages (default: every agent, when messages are recorded).
        The others do not speak: their messages are -1 and their vocabulary size 0.
    message_in_action : bool, default False
        Actions are ``(action, symbol)`` pairs (``MultiDiscrete([A, M])``); the symbol is
        recorded as the message.
    record_obs : bool, default False
        Also record each agent's observation at the step it acted on, flattened with
        ``gymnasium.spaces.flatten`` (Dict observations become one vector); agents with
        observations of different sizes are padded (``obs_shapes`` in the metadata,
        :meth:`Trajectory.agent_obs <causal_influence.trajectory.Trajectory.agent_obs>`).
    fill_action : int, optional
        Action recorded for an agent that does not act at a step.
    influence_spec : InfluenceSpec or dict, optional
        What the ``influence`` and ``counterfactual_logits`` passed to ``step`` mean
        (alignment, variable, divergence, intervention, log base). Required to record them.
    predicts_next_step : bool, default False
        With next-step alignment: the counterfactual logits passed at step t are a model's
        prediction of the influencees' next action (credited to t), not their policy at t.
    num_contexts : int, optional
        Number of context labels G, to record ``context`` (labels in [0, G), -1 for none);
        default ``len(context_names)``.
    env_name, env_version : str, optional
        Default: parsed from ``env.metadata["name"]`` (``"harvest_v0"`` -> ``"harvest"``,
        ``"v0"``).
    action_names, symbol_names, context_names : sequence of str, optional
    extra : dict, optional
        Anything JSON-serialisable to store in the metadata (run id, checkpoint hash...).

    Attributes
    ----------
    episodes : list of Trajectory
        The finished episodes, oldest first; episode ids count from 0 over the recorder's life.

    Examples
    --------
    Messages and logits from the caller's policy, saved as a Parquet shard directory:

    >>> import tempfile
    >>> from envs import harvest
    >>> env = RecordTrajectories(
    ...     harvest.parallel_env(map="small_harvest", num_agents=2, obs_type="symbolic",
    ...                          num_symbols=3, max_cycles=4),
    ...     message_in_action=True)
    >>> for seed in (1, 2):
    ...     _ = env.reset(seed=seed)
    ...     while env.agents:
    ...         _ = env.step({a: (4, 2) for a in env.agents},
    ...                      message_logits=np.zeros((2, 3)), logits=np.zeros((2, 8)))
    >>> [len(ep) for ep in env.episodes], env.episodes[1].messages[0].tolist()
    ([4, 4], [2, 2])
    >>> paths = env.save(tempfile.mkdtemp())
    >>> [p.name for p in paths]
    ['shard_00000.parquet', 'shard_00001.parquet']
    """

    def __init__(
        self,
        env: ParallelEnv,
        *,
        agents: Sequence[str] | None = None,
        num_actions: int | None = None,
        num_symbols: int | None = None,
        speakers: Sequence[str] | None = None,
        message_in_action: bool = False,
        record_obs: bool = False,
        fill_action: int | None = None,
        influence_spec: InfluenceSpec | Mapping[str, Any] | None = None,
        predicts_next_step: bool = False,
        num_contexts: int | None = None,
        env_name: str | None = None,
        env_version: str | None = None,
        action_names: Sequence[str] | None = None,
        symbol_names: Sequence[str] | None = None,
        context_names: Sequence[str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(env, ParallelEnv):
            raise DTypeError(
                f"env: expected a pettingzoo.ParallelEnv; got {describe(env)}; convert an AEC "
                f"env with pettingzoo.utils.aec_to_parallel"
            )
        super().__init__(env)
        ids = list(agents) if agents is not None else list(getattr(env, "possible_agents", []))
        if not ids or len(set(ids)) != len(ids):
            raise ConfigError(
                f"agents: expected distinct agent ids to record; got {ids}; pass agents=[...] "
                f"when the env has no possible_agents"
            )
        self._ids = [str(a) for a in ids]
        self._message_in_action = bool(message_in_action)
        action_counts, symbol_counts = self._infer_sizes()
        if num_actions is not None:
            action_counts = [int(num_actions)] * len(self._ids)
        if action_counts is None:
            raise ConfigError(
                "num_actions: cannot be inferred from the action spaces (expected Discrete, or "
                "MultiDiscrete([A, M]) with message_in_action=True); pass num_actions=A"
            )
        self._action_counts: list[int] = action_counts
        self._num_symbols = (
            int(num_symbols) if num_symbols is not None else max(symbol_counts, default=0) or None
        )
        if speakers is not None:
            unknown = sorted(set(speakers) - set(self._ids))
            if unknown:
                raise ConfigError(f"speakers: unknown agents {unknown}; recorded: {self._ids}")
        self._speakers = None if speakers is None else [a for a in self._ids if a in speakers]
        self._record_obs = bool(record_obs)
        self._fill_action = None if fill_action is None else int(fill_action)
        self._predicts_next_step = bool(predicts_next_step)
        spec = None if influence_spec is None else InfluenceSpec.from_dict(influence_spec)
        if spec is None and predicts_next_step:
            raise ConfigError(
                "predicts_next_step: describes next-step influence; pass "
                "influence_spec=InfluenceSpec(alignment='next_step', ...) with it"
            )
        name, version = _env_name_version(env, env_name, env_version)
        self._meta: dict[str, Any] = {
            "env_name": name,
            "env_version": version,
            "action_names": None if action_names is None else tuple(action_names),
            "symbol_names": None if symbol_names is None else tuple(symbol_names),
            "context_names": None if context_names is None else tuple(context_names),
            "num_contexts": num_contexts,
            "influence_spec": spec,
            "extra": dict(extra or {}),
        }
        self.episodes: list[Trajectory] = []
        self._next_episode = 0
        self._seed: int | None = None
        self._steps: dict[str, list[np.ndarray]] = {}
        self._fields: tuple[str, ...] | None = None
        self._last_obs: dict[str, Any] = {}
        self._found: dict[str, Any] = {}

    # ------------------------------------------------------------------ spaces
    def _infer_sizes(self) -> tuple[list[int] | None, list[int]]:
        """Each agent's number of actions and of symbols, from its action space."""
        actions: list[int] = []
        symbols: list[int] = []
        for agent in self._ids:
            space = self.env.action_space(agent)
            if isinstance(space, spaces.Discrete) and not self._message_in_action:
                if int(space.start) != 0:
                    raise ConfigError(
                        f"action_space({agent!r}): expected Discrete actions starting at 0; got "
                        f"{space}; wrap the env so that actions are 0 .. A-1"
                    )
                actions.append(int(space.n))
            elif (
                isinstance(space, spaces.MultiDiscrete)
                and self._message_in_action
                and space.nvec.shape == (2,)
            ):
                actions.append(int(space.nvec[0]))
                symbols.append(int(space.nvec[1]))
            else:
                return None, []
        return actions, symbols

    # ------------------------------------------------------------------ metadata
    @property
    def metadata_updates(self) -> dict[str, Any]:
        """The metadata the next episodes get (besides what the recorder derives)."""
        return dict(self._meta)

    def update_metadata(
        self, metadata: Mapping[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Merge metadata into that of the episodes finished from now on.

        Fields of :class:`~causal_influence.trajectory.TrajectoryMeta` given here replace
        the recorder's (``env_name``, ``seed``, ``influence_spec``, ``symbol_names``, ...);
        ``extra`` and any other key are merged into ``extra``. The agents and their sizes are
        the recorder's and cannot be set here.

        Returns
        -------
        dict
            The metadata updates now in force (:attr:`metadata_updates`).

        Raises
        ------
        ConfigError
            For a derived field (agent ids, action counts, observation shapes) or an invalid
            influence spec.

        Examples
        --------
        >>> from envs import harvest
        >>> env = RecordTrajectories(harvest.parallel_env(map="small_harvest", num_agents=2),
        ...                          extra={"run": 1})
        >>> env.update_metadata({"checkpoint": "abc"}, extra={"note": "eval"})["extra"]
        {'run': 1, 'checkpoint': 'abc', 'note': 'eval'}
        """
        update = metadata_fields(dict(metadata or {}) | fields, {})
        derived = sorted(set(update) & set(_DERIVED))
        if derived:
            raise ConfigError(
                f"update_metadata: {derived} are derived from the env and the data; pass "
                f"agents= / num_actions= to the recorder instead"
            )
        if update.get("influence_spec") is not None:
            update["influence_spec"] = InfluenceSpec.from_dict(update["influence_spec"])
        extra = {**self._meta["extra"], **update.pop("extra")}
        self._meta.update(update, extra=extra)
        return self.metadata_updates

    @property
    def _shift(self) -> bool:
        """Whether influence passed at step t belongs to row t - 1 (a next-step policy)."""
        spec = self._meta["influence_spec"]
        return bool(
            spec is not None and spec.alignment == "next_step" and not self._predicts_next_step
        )

    # ------------------------------------------------------------------ API
    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        self._finish()
        obs, infos = self.env.reset(seed=seed, options=options)
        self._seed = None if seed is None else int(seed)
        self._last_obs = dict(obs)
        return obs, infos

    def step(
        self,
        actions: dict[str, Any],
        *,
        logits: Any = None,
        messages: Any = None,
        message_logits: Any = None,
        visible: Any = None,
        context: Any = None,
        influence: Any = None,
        counterfactual_logits: Any = None,
    ) -> tuple[dict[str, Any], dict[str, float], dict[str, bool], dict[str, bool], dict[str, Any]]:
        """Step the env and record the step.

        Per-agent values are dicts keyed by agent id (each in the agent's own size: agents
        may differ) or arrays stacked in the recorded agents' order.

        Parameters
        ----------
        actions : dict of agent id to action
            Passed to the env unchanged.
        logits : dict of agent id to array (A_i,), or array of shape (N, A), optional
            Each agent's policy logits at this step.
        messages : dict of agent id to int, or array of shape (N,), optional
            The symbol each agent sent (not with ``message_in_action``, where the action
            carries it); an agent left out, or -1, sends none.
        message_logits : dict of agent id to array (M_i,), or array of shape (N, M), optional
        visible : dict of agent id to bool array (N,), or bool array of shape (N, N), optional
            ``visible[i, j]``: agent j inside agent i's view at this step.
        context : dict of agent id to int, or array of shape (N,), optional
            The context label each agent sees (e.g. the speaker's target), in
            [0, num_contexts); an agent left out, or -1, sees none.
        influence : array of shape (N, N), optional
            Pairwise influence computed at this step, row = influencer k, column =
            influencee j (needs ``influence_spec``; see the module docstring for its row).
        counterfactual_logits : array (N, N, K, A), or dict, optional
            ``[k, j, v]``: influencee j's logits at this step had influencer k's value been v
            (the policy re-run, or a model's prediction with ``predicts_next_step``). A dict
            is keyed by influencer, each ``{j: (K_k, A_j)}`` (pairs left out: j does not read
            k) or (N, K_k, A). Needs ``influence_spec``.

        Returns
        -------
        The env's ``(observations, rewards, terminations, truncations, infos)``.
        """
        given = {
            "logits": logits,
            "messages": messages,
            "message_logits": message_logits,
            "visible": visible,
            "context": context,
            "influence": influence,
            "counterfactual_logits": counterfactual_logits,
        }
        fields = self._check_given(given)
        row = self._row(actions, given)
        self._check_row(row)
        self._fields = fields
        obs, rewards, terms, truncs, infos = self.env.step(actions)
        row["rewards"] = np.array([float(rewards.get(a, 0.0)) for a in self._ids])
        self._append(row)
        self._last_obs.update(obs)
        if not self.env.agents:
            self._finish()
        return obs, rewards, terms, truncs, infos

    def close(self) -> None:
        self._finish()
        self.env.close()

    # ------------------------------------------------------------------ recording
    def _check_given(self, given: Mapping[str, Any]) -> tuple[str, ...]:
        """The fields passed, checked against the recorder and the episode's first step."""
        if given["messages"] is not None and self._message_in_action:
            raise ConfigError(
                "messages: the actions already carry the symbols (message_in_action=True); "
                "leave messages out"
            )
        for name in _INFLUENCE_FIELDS:
            if given[name] is not None and self._meta["influence_spec"] is None:
                raise ConfigError(
                    f"{name}: recording influence needs its meaning; pass "
                    f"influence_spec=InfluenceSpec(alignment=..., variable=...) to "
                    f"RecordTrajectories"
                )
        if given["context"] is not None and self._num_contexts() is None:
            raise ConfigError(
                "context: pass num_contexts=G (or context_names) to RecordTrajectories to "
                "record context labels"
            )
        fields = tuple(f for f in STEP_FIELDS if given[f] is not None)
        if self._message_in_action:
            fields = tuple(sorted({*fields, "messages"}, key=STEP_FIELDS.index))
        if self._fields is not None and fields != self._fields:
            raise ConfigError(
                f"step: this episode records {list(self._fields)}; got {list(fields)} at step "
                f"{len(self._steps.get('actions', []))}; pass the same fields at every step "
                f"of an episode"
            )
        return fields

    def _num_contexts(self) -> int | None:
        if self._meta.get("num_contexts") is not None:
            return int(self._meta["num_contexts"])
        names = self._meta.get("context_names")
        return None if names is None else len(names)

    def _row(self, actions: Mapping[str, Any], given: dict[str, Any]) -> dict[str, np.ndarray]:
        n = len(self._ids)
        acts = np.zeros(n, dtype=np.int64)
        msgs = np.full(n, -1, dtype=np.int64)
        for i, agent in enumerate(self._ids):
            if agent not in actions:
                if self._fill_action is None:
                    raise ConfigError(
                        f"actions: agent {agent!r} does not act at step "
                        f"{len(self._steps.get('actions', []))} but is recorded; pass "
                        f"fill_action=... to record a placeholder action, or record fewer agents"
                    )
                acts[i] = self._fill_action
                continue
            value = to_numpy(actions[agent])
            if self._message_in_action:
                if value.shape != (2,):
                    raise ShapeError(
                        f"actions[{agent!r}]: expected an (action, symbol) pair "
                        f"(message_in_action=True); got {describe(value)}"
                    )
                acts[i], msgs[i] = int(value[0]), int(value[1])
            else:
                if value.shape != () or value.dtype.kind not in "iub":
                    raise DTypeError(
                        f"actions[{agent!r}]: expected one integer action (Discrete spaces); "
                        f"got {describe(value)}"
                    )
                acts[i] = int(value)
        row = {"actions": acts}
        if self._message_in_action:
            row["messages"] = msgs
        for name in STEP_FIELDS:
            if given[name] is not None:
                row[name] = self._per_agent(given[name], name, actions)
        if self._record_obs:
            row["obs"] = self._observations()
        return row

    def _check_row(self, row: dict[str, np.ndarray]) -> None:
        """Ranges, and shapes equal to the episode's first step (before the env steps)."""
        t = len(self._steps.get("actions", []))
        counts = np.asarray(self._action_counts)
        bad = np.flatnonzero((row["actions"] < 0) | (row["actions"] >= counts))
        if bad.size:
            i = int(bad[0])
            raise ShapeError(
                f"actions: expected values in [0, {int(counts[i])}) for agent "
                f"{self._ids[i]!r} (its action space); got {int(row['actions'][i])} at step {t}"
            )
        bounds = {"messages": self._num_symbols, "context": self._num_contexts()}
        for name, size in bounds.items():
            if name in row and size is not None:
                bad = np.flatnonzero((row[name] < -1) | (row[name] >= size))
                if bad.size:
                    raise ShapeError(
                        f"{name}: expected values in [0, {size}) (or -1 for none); got "
                        f"{int(row[name][bad[0]])} for agent {self._ids[bad[0]]!r} at step {t}"
                    )
        for name, value in row.items():
            if t and value.shape != self._steps[name][0].shape:
                raise ShapeError(
                    f"{name}: expected shape {self._steps[name][0].shape} at every step of the "
                    f"episode (as at its first step); got {value.shape} at step {t}"
                )

    def _per_agent(self, value: Any, name: str, actions: Mapping[str, Any]) -> np.ndarray:
        """A per-step field as one array with the agents stacked on axis 0 (per-agent sizes
        padded, as :meth:`Trajectory.from_arrays <causal_influence.Trajectory.from_arrays>`
        does)."""
        n = len(self._ids)
        if not isinstance(value, Mapping):
            arr = to_numpy(value)
            if arr.ndim < 1 or arr.shape[0] != n:
                raise ShapeError(
                    f"{name}: expected one entry per recorded agent, shape (N={n}, ...) in the "
                    f"order {self._ids}, or a dict keyed by agent id; got {describe(arr)}"
                )
            return arr
        unknown = sorted(set(value) - set(self._ids))
        if unknown:
            raise ConfigError(f"{name}: unknown agents {unknown}; recorded agents: {self._ids}")
        parts = {a: to_numpy(v) if not isinstance(v, Mapping) else v for a, v in value.items()}
        parts.update(self._fills(name, parts))
        if name == "counterfactual_logits":
            parts = {
                k: {j: to_numpy(x)[None] for j, x in v.items()}
                if isinstance(v, Mapping)
                else to_numpy(v)[None]
                for k, v in parts.items()
            }
        else:
            parts = {a: np.asarray(v)[None] for a, v in parts.items()}
        if name == "logits":
            for a, v in parts.items():
                self._check_width(a, np.asarray(v))
        stacked, found = stack_agents(name, parts, self._ids)
        self._found.update(found)
        return stacked[0]

    def _fills(self, name: str, parts: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Values of agents left out of a dict: uniform logits over an agent's own actions,
        nobody visible, no influence (other fields may be left out, see stack_agents)."""
        out: dict[str, np.ndarray] = {}
        for i, agent in enumerate(self._ids):
            if agent in parts:
                continue
            if name == "logits":
                out[agent] = np.zeros(self._action_counts[i])
            elif name == "visible":
                out[agent] = np.zeros(len(self._ids), dtype=bool)
            elif name == "influence":
                out[agent] = np.zeros(len(self._ids))
        return out

    def _check_width(self, agent: str, value: np.ndarray) -> None:
        """An agent's logits have its own number of actions, or the widest agent's."""
        own = self._action_counts[self._ids.index(agent)]
        if value.ndim != 2 or value.shape[1] not in (own, max(self._action_counts)):
            raise ShapeError(
                f"logits[{agent!r}]: expected {own} entries (its action space"
                + (
                    f", or {max(self._action_counts)} padded"
                    if own != max(self._action_counts)
                    else ""
                )
                + f"); got shape {value.shape[1:]}"
            )

    def _observations(self) -> np.ndarray:
        parts: dict[str, np.ndarray] = {}
        for agent in self._ids:
            space = self.env.observation_space(agent)
            if agent in self._last_obs:
                parts[agent] = np.asarray(spaces.flatten(space, self._last_obs[agent]))[None]
            else:
                parts[agent] = np.zeros((1, spaces.flatdim(space)))
        stacked, found = stack_agents("obs", parts, self._ids)
        self._found.update(found)
        return stacked[0]

    def _append(self, row: dict[str, np.ndarray]) -> None:
        """Add a step's row; influence fields go to the row of the influencer's value."""
        t = len(self._steps.get("actions", []))
        for name, value in row.items():
            steps = self._steps.setdefault(name, [])
            if name in _INFLUENCE_FIELDS and self._shift:
                dtype = value.dtype if value.dtype.kind == "f" else np.float64
                steps.append(np.full(value.shape, _ABSENT[name], dtype=dtype))
                if t:
                    steps[t - 1] = value
            else:
                steps.append(value)

    def _finish(self) -> None:
        """Turn the steps recorded so far into a trajectory (if there are any)."""
        steps, self._steps = self._steps, {}
        self._fields = None
        found, self._found = self._found, {}
        if not steps:
            return
        arrays: dict[str, Any] = {name: np.stack(values) for name, values in steps.items()}
        counts = self._action_counts
        meta: dict[str, Any] = {
            key: value for key, value in self._meta.items() if key != "extra" and value is not None
        }
        meta.update(
            agent_ids=tuple(self._ids),
            num_actions=max(counts),
            agent_num_actions=tuple(counts),
            extra=dict(self._meta["extra"]),
            obs_shapes=found.get("obs_shapes"),
        )
        if "messages" in arrays or "message_logits" in arrays:
            meta.update(self._symbol_meta(arrays, found))
        t_len = len(arrays["actions"])
        traj = Trajectory(
            **arrays,
            episode_ids=np.full(t_len, self._next_episode, dtype=np.int64),
            seed=self._seed,
            copy=False,
            **{k: v for k, v in meta.items() if k != "seed"},
        )
        self._next_episode += 1
        self.episodes.append(traj)

    def _symbol_meta(self, arrays: Mapping[str, np.ndarray], found: Mapping[str, Any]) -> dict:
        """``num_symbols`` and ``agent_num_symbols`` (speakers) of an episode with messages."""
        size = self._num_symbols
        widths = found.get("agent_num_symbols")
        if size is None and "message_logits" in arrays:
            size = int(arrays["message_logits"].shape[-1])
        out: dict[str, Any] = {"num_symbols": size}
        if self._speakers is not None and size is not None:
            out["agent_num_symbols"] = tuple(size if a in self._speakers else 0 for a in self._ids)
        elif widths is not None:
            out["agent_num_symbols"] = widths
        return out

    # ------------------------------------------------------------------ output
    def pop_episodes(self) -> list[Trajectory]:
        """The finished episodes, removed from the recorder (keeps memory bounded)."""
        out, self.episodes = self.episodes, []
        return out

    def trajectory(self) -> Trajectory:
        """All finished episodes as one trajectory (episode ids kept).

        Raises
        ------
        ConfigError
            When no episode has finished yet.
        """
        if not self.episodes:
            raise ConfigError("trajectory: no finished episode yet; step until the env is done")
        return self.episodes[0] if len(self.episodes) == 1 else concat(self.episodes)

    def save(self, path: str | os.PathLike[str], **options: Any) -> Any:
        """Save the finished episodes.

        A path ending in ``.parquet`` or ``.npz`` receives one file with every episode
        (:func:`causal_influence.io.save`); any other path is a directory that receives one
        shard per episode (:func:`causal_influence.io.write_shards`; ``options`` such as
        ``fmt="npz"`` or ``overwrite=True`` go there).

        Returns
        -------
        pathlib.Path or list of pathlib.Path
            The file, or the shard files.
        """
        from causal_influence import io

        target = Path(path)
        if target.suffix in (".parquet", ".npz"):
            return io.save(self.trajectory(), target, **options)
        if not self.episodes:
            raise ConfigError("save: no finished episode yet; step until the env is done")
        return io.write_shards(self.episodes, target, **options)


def _env_name_version(
    env: Any, name: str | None, version: str | None
) -> tuple[str | None, str | None]:
    """The env's name and version, as given or parsed from ``env.metadata["name"]``
    (``"harvest_v0"`` -> ``("harvest", "v0")``)."""
    match = re.fullmatch(r"(.+)_(v\d+)", str(getattr(env, "metadata", {}).get("name", "")))
    if name is None and match:
        return match.group(1), version or match.group(2)
    if name is None:
        return getattr(env, "metadata", {}).get("name"), version
    return name, version
