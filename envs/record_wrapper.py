"""Record the episodes of any PettingZoo ``ParallelEnv`` as :class:`~causal_influence.Trajectory`.

:class:`RecordTrajectories` wraps a parallel env and keeps, for every step, each agent's action
and reward, plus whatever the caller's policy produced and passes to ``step`` as keyword
arguments: action ``logits``, ``messages``, ``message_logits`` and ``visible`` (who sees whom).
Every finished episode becomes one immutable :class:`~causal_influence.trajectory.Trajectory`
(time-major, agent second, agent ids in ``possible_agents`` order, metadata from the env), ready
for :func:`causal_influence.io.save`, :func:`causal_influence.io.write_shards` and
:mod:`analysis`. The wrapped env keeps the PettingZoo API (``parallel_api_test`` passes), so it
drops into an existing loop; only the ``step`` call gains optional keywords.

Rules
-----
- Actions must be discrete: ``Discrete(A)`` (with ``start=0``), or, with
  ``message_in_action=True``, ``MultiDiscrete([A, M])`` pairs (action, symbol) whose symbol is
  recorded as the message (the message channel of :mod:`envs.harvest` and :mod:`envs.cleanup`).
- The agents are fixed per recorder (``possible_agents`` by default). An agent that is not
  acting at a step (terminated early, not yet spawned) is recorded with ``fill_action``
  (reward 0, uniform logits); without ``fill_action`` such a step raises.
- Which optional fields are recorded is fixed by the first step of an episode; every later step
  of that episode must pass the same ones.
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
from causal_influence.trajectory import Trajectory, concat
from causal_influence.validation import to_numpy

__all__ = ["RecordTrajectories"]

#: Optional per-step fields a caller may pass to ``step``.
STEP_FIELDS: tuple[str, ...] = ("logits", "messages", "message_logits", "visible")


class RecordTrajectories(BaseParallelWrapper):
    """A ``ParallelEnv`` that records its episodes as trajectories.

    Parameters
    ----------
    env : pettingzoo.ParallelEnv
        Any parallel env with discrete actions.
    agents : sequence of str, optional
        Agents to record, in column order (default: ``env.possible_agents``).
    num_actions, num_symbols : int, optional
        A and M; inferred from the action spaces (the largest ``n`` over agents).
    message_in_action : bool, default False
        Actions are ``(action, symbol)`` pairs (``MultiDiscrete([A, M])``); the symbol is
        recorded as the message.
    record_obs : bool, default False
        Also record each agent's observation at the step it acted on, flattened with
        ``gymnasium.spaces.flatten`` (Dict observations become one vector).
    fill_action : int, optional
        Action recorded for an agent that does not act at a step.
    env_name, env_version : str, optional
        Default: parsed from ``env.metadata["name"]`` (``"harvest_v0"`` -> ``"harvest"``,
        ``"v0"``).
    action_names, symbol_names : sequence of str, optional
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
        message_in_action: bool = False,
        record_obs: bool = False,
        fill_action: int | None = None,
        env_name: str | None = None,
        env_version: str | None = None,
        action_names: Sequence[str] | None = None,
        symbol_names: Sequence[str] | None = None,
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
        a_size, m_size = self._infer_sizes()
        self._num_actions = int(num_actions) if num_actions is not None else a_size
        self._num_symbols = int(num_symbols) if num_symbols is not None else m_size
        if self._num_actions is None:
            raise ConfigError(
                "num_actions: cannot be inferred from the action spaces (expected Discrete, or "
                "MultiDiscrete([A, M]) with message_in_action=True); pass num_actions=A"
            )
        self._record_obs = bool(record_obs)
        self._fill_action = None if fill_action is None else int(fill_action)
        name, version = env_name, env_version
        match = re.fullmatch(r"(.+)_(v\d+)", str(getattr(env, "metadata", {}).get("name", "")))
        if name is None and match:
            name, version = match.group(1), version or match.group(2)
        elif name is None:
            name = getattr(env, "metadata", {}).get("name")
        self._meta: dict[str, Any] = {
            "agent_ids": tuple(self._ids),
            "num_actions": self._num_actions,
            "env_name": name,
            "env_version": version,
            "action_names": None if action_names is None else tuple(action_names),
            "symbol_names": None if symbol_names is None else tuple(symbol_names),
            "extra": dict(extra or {}),
        }
        self.episodes: list[Trajectory] = []
        self._next_episode = 0
        self._seed: int | None = None
        self._steps: dict[str, list[np.ndarray]] = {}
        self._fields: tuple[str, ...] | None = None
        self._last_obs: dict[str, Any] = {}

    # ------------------------------------------------------------------ spaces
    def _infer_sizes(self) -> tuple[int | None, int]:
        a_size: int | None = 0
        m_size = 0
        for agent in self._ids:
            space = self.env.action_space(agent)
            if isinstance(space, spaces.Discrete) and not self._message_in_action:
                if int(space.start) != 0:
                    raise ConfigError(
                        f"action_space({agent!r}): expected Discrete actions starting at 0; got "
                        f"{space}; wrap the env so that actions are 0 .. A-1"
                    )
                a_size = max(a_size or 0, int(space.n))
            elif (
                isinstance(space, spaces.MultiDiscrete)
                and self._message_in_action
                and space.nvec.shape == (2,)
            ):
                a_size = max(a_size or 0, int(space.nvec[0]))
                m_size = max(m_size, int(space.nvec[1]))
            else:
                return None, 0
        return a_size, m_size

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
    ) -> tuple[dict[str, Any], dict[str, float], dict[str, bool], dict[str, bool], dict[str, Any]]:
        """Step the env and record the step.

        Parameters
        ----------
        actions : dict of agent id to action
            Passed to the env unchanged.
        logits : dict of agent id to array (A,), or array of shape (N, A), optional
            Each agent's policy logits at this step.
        messages : dict of agent id to int, or array of shape (N,), optional
            The symbol each agent sent (not with ``message_in_action``, where the action
            carries it).
        message_logits : dict of agent id to array (M,), or array of shape (N, M), optional
        visible : dict of agent id to bool array (N,), or bool array of shape (N, N), optional
            ``visible[i, j]``: agent j inside agent i's view at this step.

        Returns
        -------
        The env's ``(observations, rewards, terminations, truncations, infos)``.
        """
        given = {"logits": logits, "messages": messages, "message_logits": message_logits}
        given["visible"] = visible
        if messages is not None and self._message_in_action:
            raise ConfigError(
                "messages: the actions already carry the symbols (message_in_action=True); "
                "leave messages out"
            )
        fields = tuple(f for f in STEP_FIELDS if given[f] is not None)
        if self._message_in_action:
            fields = tuple(sorted({*fields, "messages"}, key=STEP_FIELDS.index))
        if self._fields is None:
            self._fields = fields
        elif fields != self._fields:
            raise ConfigError(
                f"step: this episode records {list(self._fields)}; got {list(fields)} at step "
                f"{len(self._steps.get('actions', []))}; pass the same fields at every step "
                f"of an episode"
            )
        row = self._row(actions, given)
        self._check_row(row)
        obs, rewards, terms, truncs, infos = self.env.step(actions)
        row["rewards"] = np.array([float(rewards.get(a, 0.0)) for a in self._ids])
        for name, value in row.items():
            self._steps.setdefault(name, []).append(value)
        self._last_obs.update(obs)
        if not self.env.agents:
            self._finish()
        return obs, rewards, terms, truncs, infos

    def close(self) -> None:
        self._finish()
        self.env.close()

    # ------------------------------------------------------------------ recording
    def _row(self, actions: Mapping[str, Any], given: dict[str, Any]) -> dict[str, np.ndarray]:
        n = len(self._ids)
        acts = np.zeros(n, dtype=np.int64)
        msgs = np.zeros(n, dtype=np.int64)
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
                row[name] = self._per_agent(given[name], name)
        if self._record_obs:
            row["obs"] = self._observations()
        return row

    def _check_row(self, row: dict[str, np.ndarray]) -> None:
        """Ranges, and shapes equal to the episode's first step (before the env steps)."""
        t = len(self._steps.get("actions", []))
        bounds = {"actions": self._num_actions, "messages": self._num_symbols or None}
        for name, size in bounds.items():
            if name in row and size is not None:
                bad = np.flatnonzero((row[name] < 0) | (row[name] >= size))
                if bad.size:
                    raise ShapeError(
                        f"{name}: expected values in [0, {size}); got {int(row[name][bad[0]])} "
                        f"for agent {self._ids[bad[0]]!r} at step {t}"
                    )
        for name, value in row.items():
            if t and value.shape != self._steps[name][0].shape:
                raise ShapeError(
                    f"{name}: expected shape {self._steps[name][0].shape} at every step of the "
                    f"episode (as at its first step); got {value.shape} at step {t}"
                )

    def _per_agent(self, value: Any, name: str) -> np.ndarray:
        """A per-step field as one array with the agents stacked on axis 0."""
        n = len(self._ids)
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - set(self._ids))
            if unknown:
                raise ConfigError(f"{name}: unknown agents {unknown}; recorded agents: {self._ids}")
            parts = {a: to_numpy(v) for a, v in value.items()}
            shapes = {p.shape for p in parts.values()}
            if len(shapes) != 1:
                raise ShapeError(f"{name}: per-agent values differ in shape: {sorted(shapes)}")
            (shape,) = shapes
            first = next(iter(parts.values()))
            # agents that do not act: uniform logits, message 0, nobody visible
            fill = np.zeros(shape, dtype=first.dtype)
            return np.stack([parts.get(a, fill) for a in self._ids])
        arr = to_numpy(value)
        if arr.ndim < 1 or arr.shape[0] != n:
            raise ShapeError(
                f"{name}: expected one entry per recorded agent, shape (N={n}, ...) in the order "
                f"{self._ids}, or a dict keyed by agent id; got {describe(arr)}"
            )
        return arr

    def _observations(self) -> np.ndarray:
        parts = []
        for agent in self._ids:
            space = self.env.observation_space(agent)
            if agent in self._last_obs:
                parts.append(np.asarray(spaces.flatten(space, self._last_obs[agent])))
            else:
                parts.append(np.zeros(spaces.flatdim(space)))
        return np.stack(parts)

    def _finish(self) -> None:
        """Turn the steps recorded so far into a trajectory (if there are any)."""
        steps, self._steps = self._steps, {}
        self._fields = None
        if not steps:
            return
        arrays: dict[str, Any] = {name: np.stack(values) for name, values in steps.items()}
        meta = dict(self._meta)
        if "messages" in arrays or "message_logits" in arrays:
            meta["num_symbols"] = self._num_symbols or None
        t_len = len(arrays["actions"])
        traj = Trajectory(
            **arrays,
            episode_ids=np.full(t_len, self._next_episode, dtype=np.int64),
            seed=self._seed,
            copy=False,
            **meta,
        )
        self._next_episode += 1
        self.episodes.append(traj)

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
