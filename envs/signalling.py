# Long (about 730 lines): the whole signalling game in one place: its configuration, its
# batched engine registered with envs.registry and its PettingZoo form, which share the rules
# of reward and context.
"""Signalling game (``signalling_v0``): a speaker sees a target, a listener must act on it.

Each step a target is drawn uniformly from ``{0 .. K-1}``. Only the speaker sees it. A listener
is rewarded for acting on the *previous* step's target, which it can learn only from the
speaker's message: with the message channel as in Harvest and Cleanup, the symbols emitted at
step t are observed at step t + 1. Acting well therefore requires the message, and the
message is worth sending only if it carries the target.

=================== ========================================================================
agents              ``agent_0`` the speaker, ``agent_1 .. agent_L`` the listeners (default
                    L = 1), then ``D`` distractors (default 0): N = 1 + L + D
actions             ``Discrete(K)`` (act on target 0 .. K-1), ``MultiDiscrete([K, M])`` =
                    (action, symbol) with the message channel (``num_symbols=M``, default 8)
observations        ``Dict``: ``view`` (1 x 1 x (K + 3) one-hot: the target the agent is
                    shown, then its role: speaker, listener, distractor), ``actions`` (all
                    agents' last actions), ``visible`` (all ones: everyone is in view),
                    ``messages`` (all agents' previous symbols; M = none yet)
rewards             +1 to the speaker for acting on the current target, +1 to a listener for
                    acting on the previous step's target (nothing at step 0), +1 to a
                    distractor for acting on its own private target; with ``shared_reward``
                    the speaker and the listeners each receive the sum of their rewards
episode             truncated after ``max_cycles`` = 50 steps; never terminates
context             the target each agent is shown (-1 for none): the speaker's target, a
                    distractor's private target, nothing for a listener (the previous target
                    in the control). ``observations()["context"]`` (B, N) of the batched
                    form and ``infos[agent]["context"]`` of the PettingZoo form; it is what
                    recordings store in the trajectory ``context`` field (labels
                    ``TARGET_0 ..``), so the analysis computes grounded information and
                    conditional coordination. No agent's network reads it (the views
                    already show each agent what it may see).
=================== ========================================================================

Variants (fields of :class:`SignallingConfig`):

- ``listener_sees_target=True``, the **control**: a listener's view shows the target it must
  act on (the previous step's target). Speaker and listener then both follow the target, a
  common cause, and the listener has no need to listen.
- ``num_listeners=L``: every listener acts on the same target.
- ``num_distractors=D``: agents that neither need to speak nor to listen. Each sees a private
  target of its own, drawn every step, and is rewarded (individually, never shared) for acting
  on it at once. Their symbols travel through the broadcast channel like everyone's but carry
  nothing the listeners need.
- ``shared_reward=False``: individual rewards; the speaker's reward then no longer depends on
  the listener, so only an intrinsic reward (e.g. social influence) can make it speak.

The extrinsic (raw, per-agent) rewards are in ``StepResult.extrinsic`` (``info["extrinsic"]``
of the batched form) beside the possibly shared rewards; the maximum raw collective return of
an episode of T steps is ``T (1 + D) + (T - 1) L``. The default vocabulary has twice as many
symbols as targets: with M = K the trained agents often settle on synonyms (two targets, one
symbol), with M = 2K they learn a perfect protocol in every seed tried (docs/envs.md, "The
signalling game").

This module is the game's entry in the registry (:mod:`envs.registry`): its configuration and
engine are registered under ``"signalling"``, so ``envs.make_vector("signalling", ...)``,
the agents' trainer and ``causal-influence train --game signalling`` use it.

Randomness: env b draws one key from its own generator at each reset; the targets of the
episode are a hash of (key, step), so env b of a batch behaves exactly like a single env with
the same seed, whatever the actions and however long the episode.

Citation: Lewis, "Convention" (1969) for signalling games; the message channel and influence
reward of Jaques et al., "Social Influence as Intrinsic Motivation for Multi-Agent Deep
Reinforcement Learning", ICML 2019; the measures of Lowe et al., "On the Pitfalls of Measuring
Emergent Communication", AAMAS 2019.

Examples
--------
>>> import numpy as np
>>> from envs import make_vector
>>> venv = make_vector("signalling", 2, seed=0, num_targets=3, num_symbols=3, max_cycles=4)
>>> obs = venv.reset()
>>> obs["view"].shape, obs["messages"].tolist(), obs["context"][:, 1].tolist()
((2, 2, 1, 1, 6), [[3, 3], [3, 3]], [-1, -1])
>>> target = obs["context"][:, 0]  # what the speaker sees
>>> honest = np.stack([target, target], axis=-1)  # the speaker acts on it and says it
>>> acts = np.stack([honest, np.zeros((2, 2), dtype=int)], axis=1)  # listener: 0, says 0
>>> obs, rewards, terminated, truncated, info = venv.step(acts)
>>> info["extrinsic"].tolist()  # the speaker was right; the listener had nothing to act on
[[1.0, 0.0], [1.0, 0.0]]
>>> obs["messages"][:, 0].tolist() == target.tolist()  # heard one step later
True
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from pettingzoo import ParallelEnv
from pettingzoo.utils import parallel_to_aec, wrappers

from causal_influence.errors import ConfigError, ShapeError, describe
from envs._engine import StepResult
from envs.config import fields_section
from envs.episode_stats import EpisodeRecorder
from envs.registry import GameSpec, register_game, spawn_seeds

__all__ = [
    "EVENT_NAMES",
    "ROLE_NAMES",
    "SPEC",
    "SignallingConfig",
    "SignallingGame",
    "env",
    "parallel_env",
    "raw_env",
    "signalling_config",
]

#: Roles, in the order of the role channels of a view.
ROLE_NAMES: tuple[str, ...] = ("speaker", "listener", "distractor")
#: Per-agent event counters of a step (1 where the agent acted on its target).
EVENT_NAMES: tuple[str, ...] = ("correct",)


def _is_int(x: object) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


@dataclass(frozen=True)
class SignallingConfig:
    """Rules and options of the signalling game.

    Each field's help text is written beside it (``field(metadata={"help": ...})``); the
    Attributes section below and the ``--env-*`` options of ``causal-influence train --game
    signalling`` are both built from it.

    Examples
    --------
    >>> cfg = SignallingConfig(num_listeners=2, num_distractors=1)
    >>> cfg.num_agents, cfg.num_actions, cfg.roles
    (4, 4, ('speaker', 'listener', 'listener', 'distractor'))
    >>> SignallingConfig.from_dict(cfg.to_dict()) == cfg
    True
    """

    num_targets: int = field(
        default=4, metadata={"help": "K >= 2, the number of targets (and of actions)."}
    )
    num_symbols: int = field(
        default=8,
        metadata={
            "help": "M, the message vocabulary; 0 turns the channel off (then no listener can "
            "do better than chance unless it sees the target). Default 2K: with M = K trained "
            "agents often settle on synonyms."
        },
    )
    num_listeners: int = field(default=1, metadata={"help": "L >= 1 listeners, agents 1 .. L."})
    num_distractors: int = field(
        default=0,
        metadata={
            "help": "D >= 0 distractors, agents L+1 .. L+D: each acts on a private target of "
            "its own and needs no message."
        },
    )
    listener_sees_target: bool = field(
        default=False,
        metadata={
            "help": "The control variant: a listener's view shows the target it must act on "
            "(a common cause of message and action; no need to listen)."
        },
    )
    shared_reward: bool = field(
        default=True,
        metadata={
            "help": "The speaker and the listeners each receive the sum of their rewards "
            "(distractors always keep their own)."
        },
    )
    max_cycles: int = field(default=50, metadata={"help": "Episode length (truncation)."})
    game: Literal["signalling"] = field(
        default="signalling", metadata={"help": "Fixed; names the game in saved configs."}
    )

    def __post_init__(self) -> None:
        checks: list[tuple[bool, str]] = [
            (self.game == "signalling", f"game must be 'signalling'; got {self.game!r}"),
            (_is_int(self.num_targets) and self.num_targets >= 2, "num_targets must be >= 2"),
            (_is_int(self.num_symbols) and self.num_symbols >= 0, "num_symbols must be >= 0"),
            (_is_int(self.num_listeners) and self.num_listeners >= 1, "num_listeners: >= 1"),
            (_is_int(self.num_distractors) and self.num_distractors >= 0, "num_distractors: >= 0"),
            (_is_int(self.max_cycles) and self.max_cycles >= 1, "max_cycles must be >= 1"),
            (isinstance(self.listener_sees_target, bool), "listener_sees_target: a bool"),
            (isinstance(self.shared_reward, bool), "shared_reward: a bool"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"SignallingConfig: {message}; got {self!r}")

    # ------------------------------------------------------------------ derived
    @property
    def num_agents(self) -> int:
        """N = 1 + L + D."""
        return 1 + self.num_listeners + self.num_distractors

    @property
    def num_actions(self) -> int:
        """K: every agent acts by naming a target."""
        return self.num_targets

    @property
    def num_channels(self) -> int:
        """Channels of a view: K target channels and 3 role channels."""
        return self.num_targets + len(ROLE_NAMES)

    @property
    def view_size(self) -> int:
        """Views are 1 x 1 cells (a network needs ``conv_kernel=1``)."""
        return 1

    @property
    def obs_type(self) -> str:
        """Views are one-hot (symbolic), never RGB."""
        return "symbolic"

    @property
    def roles(self) -> tuple[str, ...]:
        """Role of each agent."""
        return (
            ("speaker",)
            + ("listener",) * self.num_listeners
            + ("distractor",) * self.num_distractors
        )

    @property
    def action_names(self) -> tuple[str, ...]:
        """``TARGET_0 .. TARGET_{K-1}``: action k acts on target k."""
        return tuple(f"TARGET_{k}" for k in range(self.num_targets))

    @property
    def num_contexts(self) -> int:
        """G = K context labels (the targets)."""
        return self.num_targets

    @property
    def context_names(self) -> tuple[str, ...]:
        """Names of the context labels: the targets, as the actions that act on them."""
        return self.action_names

    @property
    def max_collective_return(self) -> int:
        """Best raw collective return of an episode: ``T (1 + D) + (T - 1) L``."""
        t = self.max_cycles
        return t * (1 + self.num_distractors) + (t - 1) * self.num_listeners

    def replace(self, **changes: Any) -> SignallingConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable fields (``"game"`` names the game for :meth:`from_dict`)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SignallingConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ConfigError."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(
                f"SignallingConfig: unknown option(s) {unknown}; known: {sorted(names)}"
            )
        return cls(**data)


SignallingConfig.__doc__ = (
    (SignallingConfig.__doc__ or "").rstrip()
    + "\n"
    + fields_section(SignallingConfig, "Attributes")
)


def signalling_config(**overrides: Any) -> SignallingConfig:
    """The signalling game with its defaults, optionally overridden (its registry entry's
    ``make_config``); unknown options raise ConfigError.

    Examples
    --------
    >>> signalling_config(listener_sees_target=True).listener_sees_target
    True
    """
    return SignallingConfig.from_dict(overrides)


class SignallingGame:
    """B independent signalling games of one configuration, stepped as arrays.

    The game's batched engine (:class:`envs.registry.BatchedEngine`): both
    :class:`envs.vector.VectorEnv` and the PettingZoo :class:`parallel_env` step through this
    class, so every rule exists once.

    Parameters
    ----------
    config : SignallingConfig
    num_envs : int
        B.

    Examples
    --------
    >>> import numpy as np
    >>> game = SignallingGame(SignallingConfig(num_symbols=0), num_envs=3)
    >>> game.reset([1, 2, 3])
    >>> out = game.step(np.zeros((3, 2), dtype=int))
    >>> out.rewards.shape, game.observations()["view"].shape
    ((3, 2), (3, 2, 1, 1, 7))
    """

    event_names: tuple[str, ...] = EVENT_NAMES

    def __init__(self, config: SignallingConfig, num_envs: int = 1) -> None:
        if not isinstance(config, SignallingConfig):
            raise ConfigError(f"config: expected a SignallingConfig; got {describe(config)}")
        if not _is_int(num_envs) or int(num_envs) < 1:
            raise ConfigError(f"num_envs: expected a positive integer; got {num_envs!r}")
        self.config = config
        self.num_envs = b = int(num_envs)
        self.num_agents = n = config.num_agents
        lst = config.num_listeners
        self._listeners = np.arange(1, 1 + lst)
        self._distractors = np.arange(1 + lst, n)
        self._team = np.arange(0, 1 + lst)
        # Targets are a counter-based hash of (episode key, step, column): column 0 is the
        # speaker's target, columns 1 .. D the distractors' private targets. Any episode
        # length works and nothing depends on the actions.
        self._keys = np.zeros(b, dtype=np.uint64)
        self._columns = 1 + config.num_distractors
        self._all_columns = np.arange(self._columns, dtype=np.uint64)
        # Draws of the current step (B, 1 + D) and the previous speaker target (B,).
        self._now = np.zeros((b, self._columns), dtype=np.int64)
        self._prev = np.full(b, -1, dtype=np.int64)
        self._rngs: list[np.random.Generator] = [np.random.default_rng(0) for _ in range(b)]
        self.t = np.zeros(b, dtype=np.int64)
        self.last_actions = np.zeros((b, n), dtype=np.int64)
        self.messages = np.full((b, n), config.num_symbols, dtype=np.int64)
        roles = np.zeros((n, len(ROLE_NAMES)), dtype=np.uint8)
        roles[np.arange(n), [ROLE_NAMES.index(r) for r in config.roles]] = 1
        self._role_channels = roles

    # ------------------------------------------------------------------ reset
    def reset(self, seeds: Any = None, env_ids: Any = None) -> None:
        """Start new episodes in the listed environments (all when ``env_ids`` is None).

        Parameters
        ----------
        seeds : int, sequence of (int or None), or None
            One seed per reset env (an int is used for a single env, or expanded with
            :func:`envs.registry.spawn_seeds` for several). ``None`` for an env continues its
            own generator (a new episode, not a re-seed).
        env_ids : sequence of int, optional
        """
        ids = np.arange(self.num_envs) if env_ids is None else np.asarray(env_ids, dtype=np.int64)
        cfg = self.config
        for b, seed in zip(ids.tolist(), self._seed_list(seeds, len(ids)), strict=True):
            if seed is not None:
                self._rngs[b] = np.random.default_rng(seed)
            self._keys[b] = self._rngs[b].integers(0, 2**64, dtype=np.uint64)
            self.t[b] = 0
            self.last_actions[b] = 0
            self.messages[b] = cfg.num_symbols
        self._now[ids] = self._draw(self._keys[ids], self.t[ids])
        self._prev[ids] = -1

    def _seed_list(self, seeds: Any, count: int) -> list[int | None]:
        if seeds is None:
            return [None] * count
        if _is_int(seeds):
            return [int(seeds)] if count == 1 else list(spawn_seeds(int(seeds), count))
        seq = list(seeds)
        if len(seq) != count:
            raise ShapeError(f"seeds: expected {count} seeds (one per env); got {len(seq)}")
        return [None if s is None else int(s) for s in seq]

    # ------------------------------------------------------------------ state
    def _draw(self, keys: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Targets of step ``t`` (E,) of the episodes with ``keys`` (E,): shape (E, 1 + D),
        uniform on [0, K).

        splitmix64 of the episode key plus a Weyl sequence over (step, column); the modulo
        bias of a 64-bit hash is below 1e-18.
        """
        counter = t.astype(np.uint64)[:, None] * np.uint64(self._columns) + self._all_columns
        z = keys[:, None] + (counter + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
        return (z % np.uint64(self.config.num_targets)).astype(np.int64)

    @property
    def targets(self) -> np.ndarray:
        """(B,) int64: the speaker's current target (shown in the current observation)."""
        return self._now[:, 0].copy()

    @property
    def previous_targets(self) -> np.ndarray:
        """(B,) int64: the previous step's target, -1 at the first step of an episode."""
        return self._prev.copy()

    @property
    def private_targets(self) -> np.ndarray:
        """(B, D) int64: each distractor's current private target."""
        return self._now[:, 1:].copy()

    def shown(self) -> np.ndarray:
        """(B, N) int64: the target each agent's view shows now (-1 = none): the context.

        The speaker is shown its target, a distractor its private target, a listener nothing
        (or, in the control variant, the previous step's target).
        """
        out = np.full((self.num_envs, self.num_agents), -1, dtype=np.int64)
        out[:, 0] = self._now[:, 0]
        if self.config.listener_sees_target:
            out[:, self._listeners] = self._prev[:, None]
        out[:, self._distractors] = self._now[:, 1:]
        return out

    # ------------------------------------------------------------------ step
    def _check_step(self, actions: Any, messages: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """The actions (B, N) and messages (B, N) or None, checked."""
        b, n, cfg = self.num_envs, self.num_agents, self.config
        acts = np.asarray(actions)
        if acts.shape != (b, n):
            raise ShapeError(f"actions: expected shape (B, N) = ({b}, {n}); got {describe(acts)}")
        if acts.dtype.kind not in "iu" or acts.min() < 0 or acts.max() >= cfg.num_actions:
            raise ShapeError(
                f"actions: expected integers in [0, {cfg.num_actions}) (the target acted on); "
                f"got {describe(acts)} with values in [{acts.min()}, {acts.max()}]"
            )
        m = cfg.num_symbols
        if messages is None:
            if m > 0:
                raise ConfigError(
                    f"the message channel is on (num_symbols={m}): pass messages of shape "
                    f"({b}, {n})"
                )
            return acts.astype(np.int64), None
        if m == 0:
            raise ConfigError("messages were given but the message channel is off (num_symbols=0)")
        msgs = np.asarray(messages)
        if msgs.shape != (b, n) or msgs.dtype.kind not in "iu" or msgs.min() < 0 or msgs.max() >= m:
            raise ShapeError(
                f"messages: expected integers in [0, {m}) of shape ({b}, {n}); got {describe(msgs)}"
            )
        return acts.astype(np.int64), msgs.astype(np.int64)

    def step(self, actions: Any, messages: Any = None) -> StepResult:
        """Advance every environment by one step.

        Parameters
        ----------
        actions : array_like of int, shape (B, N)
        messages : array_like of int, shape (B, N), optional
            Symbols emitted this step (channel on); they appear in the observations this
            step returns.

        Returns
        -------
        envs.StepResult
            ``rewards`` (shared if configured), ``extrinsic`` (1 where the agent acted on its
            target), ``events`` ``{"correct": (B, N)}`` and ``event_array`` (B, 1, N).
        """
        acts, msgs = self._check_step(actions, messages)
        b, n = self.num_envs, self.num_agents
        target, prev = self._now[:, 0], self._prev
        correct = np.zeros((b, n), dtype=np.int32)
        correct[:, 0] = acts[:, 0] == target
        correct[:, self._listeners] = (acts[:, self._listeners] == prev[:, None]) & (
            prev[:, None] >= 0
        )
        correct[:, self._distractors] = acts[:, self._distractors] == self._now[:, 1:]
        extrinsic = correct.astype(np.float32)
        rewards = extrinsic.copy()
        if self.config.shared_reward:
            rewards[:, self._team] = extrinsic[:, self._team].sum(axis=1, keepdims=True)
        self.last_actions[:] = acts
        if msgs is not None:
            self.messages[:] = msgs
        self.t += 1
        self._prev = target.copy()
        self._now = self._draw(self._keys, self.t)
        return StepResult(
            rewards=rewards,
            extrinsic=extrinsic,
            events={"correct": correct},
            event_array=correct[:, None, :],
        )

    # ------------------------------------------------------------------ views
    def observations(self) -> dict[str, np.ndarray]:
        """Observations of every agent of every environment.

        Returns
        -------
        dict
            ``"view"`` (B, N, 1, 1, K + 3) uint8: one-hot of the target the agent is shown
            (all zeros for none) and of its role; ``"actions"`` (B, N) the actions of the step
            that produced the observation (0 after reset); ``"visible"`` (B, N, N) uint8, all
            ones; ``"messages"`` (B, N) previous symbols (M = none yet) when the channel is
            on; ``"context"`` (B, N) int64, the target each agent is shown (-1 = none; see
            :meth:`shown`), what recordings store as the trajectory's context.
        """
        cfg = self.config
        b, n, k = self.num_envs, self.num_agents, cfg.num_targets
        view = np.zeros((b, n, 1, 1, cfg.num_channels), dtype=np.uint8)
        shown = self.shown()
        bi, ai = np.nonzero(shown >= 0)
        view[bi, ai, 0, 0, shown[bi, ai]] = 1
        view[:, :, 0, 0, k:] = self._role_channels
        obs: dict[str, np.ndarray] = {
            "view": view,
            "actions": self.last_actions.copy(),
            "visible": np.ones((b, n, n), dtype=np.uint8),
        }
        if cfg.num_symbols > 0:
            obs["messages"] = self.messages.copy()
        obs["context"] = shown
        return obs


#: The game's registry entry.
SPEC = register_game(
    GameSpec(
        name="signalling",
        make_config=signalling_config,
        make_engine=SignallingGame,
        module=__name__,
        summary="speaker/listener: the listener must act on a target only the speaker sees",
        config_type=SignallingConfig,
    )
)


class parallel_env(ParallelEnv):
    """The signalling game as a PettingZoo ``ParallelEnv`` (one environment).

    Keyword arguments are :class:`SignallingConfig` fields, plus ``render_mode`` (None or
    ``"ansi"``) and ``max_cycles``. Observations are ``Dict`` spaces with ``view``,
    ``actions``, ``visible`` and (channel on) ``messages``; ``infos[agent]`` holds
    ``"correct"`` (the agent acted on its target at the step just played), ``"context"`` (the
    target the agent is shown in the returned observation, -1 for none), ``"target"`` (the
    speaker's target in the returned observation) and, at the end of an episode,
    ``"episode"`` statistics. Seeding only through ``reset(seed=...)``.

    Examples
    --------
    >>> env = parallel_env(num_targets=3, max_cycles=2)
    >>> obs, infos = env.reset(seed=0)
    >>> sorted(obs["agent_1"])
    ['actions', 'messages', 'view', 'visible']
    >>> infos["agent_0"]["context"] == int(obs["agent_0"]["view"][0, 0, :3].argmax())
    True
    >>> infos["agent_1"]["context"]  # the listener is shown nothing
    -1
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["ansi"],
        "name": "signalling_v0",
        "is_parallelizable": True,
        "render_fps": 2,
    }

    def __init__(
        self,
        config: SignallingConfig | None = None,
        *,
        render_mode: str | None = None,
        max_cycles: int | None = None,
        **config_overrides: Any,
    ) -> None:
        if config is None:
            config = signalling_config(**config_overrides)
        elif config_overrides:
            config = config.replace(**config_overrides)
        if max_cycles is not None:
            config = config.replace(max_cycles=int(max_cycles))
        if render_mode not in (None, "ansi"):
            raise ConfigError(f"render_mode: expected None or 'ansi'; got {render_mode!r}")
        self.config = config
        self.render_mode = render_mode
        self.max_cycles = config.max_cycles
        self.possible_agents = [f"agent_{i}" for i in range(config.num_agents)]
        self.agents: list[str] = []
        self._game = SignallingGame(config, 1)
        self._recorder = EpisodeRecorder(
            1, config.num_agents, config.max_cycles, event_names=EVENT_NAMES
        )
        self.np_random, self.np_random_seed = seeding.np_random(None)
        self._needs_seed = True
        n = config.num_agents
        parts: dict[str, spaces.Space] = {
            "view": spaces.Box(0, 1, (1, 1, config.num_channels), np.uint8),
            "actions": spaces.MultiDiscrete([config.num_actions] * n),
            "visible": spaces.MultiBinary(n),
        }
        if config.num_symbols > 0:
            parts["messages"] = spaces.MultiDiscrete([config.num_symbols + 1] * n)
        self._obs_space = spaces.Dict(parts)
        if config.num_symbols > 0:
            self._act_space: spaces.Space = spaces.MultiDiscrete(
                [config.num_actions, config.num_symbols]
            )
        else:
            self._act_space = spaces.Discrete(config.num_actions)
        self.state_space = spaces.Box(
            -1, config.num_targets - 1, (2 + config.num_distractors,), np.int64
        )
        self._last: dict[str, Any] = {}

    @functools.cache  # noqa: B019 - one space object per agent, as PettingZoo requires
    def observation_space(self, agent: str) -> spaces.Space:
        return self._obs_space

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> spaces.Space:
        return self._act_space

    def _observations(self) -> tuple[dict[str, dict[str, np.ndarray]], list[int]]:
        """Each agent's observation and the context each is shown."""
        raw = self._game.observations()
        out = {}
        for i, agent in enumerate(self.possible_agents):
            obs = {
                "view": raw["view"][0, i],
                "actions": raw["actions"][0].copy(),
                "visible": raw["visible"][0, i].astype(np.int8),
            }
            if "messages" in raw:
                obs["messages"] = raw["messages"][0].copy()
            out[agent] = obs
        return out, raw["context"][0].tolist()

    def _infos(self, context: list[int]) -> dict[str, dict[str, Any]]:
        target = int(self._game.targets[0])
        return {
            a: {"context": context[i], "target": target} for i, a in enumerate(self.possible_agents)
        }

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        if seed is not None or self._needs_seed:
            self.np_random, self.np_random_seed = seeding.np_random(seed)
            self._game.reset([int(self.np_random.integers(0, 2**63 - 1))])
            self._needs_seed = False
        else:
            self._game.reset([None])
        self._recorder.lengths[:] = 0
        self.agents = self.possible_agents[:]
        obs, context = self._observations()
        self._last = {"target": int(self._game.targets[0]), "actions": None}
        return obs, self._infos(context)

    def step(
        self, actions: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, float], dict[str, bool], dict[str, bool], dict[str, Any]]:
        if not self.agents:
            raise ConfigError("step() called on a finished episode; call reset() first")
        cfg = self.config
        acts = np.zeros((1, cfg.num_agents), dtype=np.int64)
        msgs = np.zeros((1, cfg.num_agents), dtype=np.int64) if cfg.num_symbols else None
        for i, agent in enumerate(self.possible_agents):
            if agent not in actions:
                continue
            act = np.asarray(actions[agent]).astype(np.int64)
            if msgs is not None:
                acts[0, i], msgs[0, i] = int(act[0]), int(act[1])
            else:
                acts[0, i] = int(act)
        played = int(self._game.targets[0])
        out = self._game.step(acts, msgs)
        self._recorder.add(out.extrinsic, out.event_array)
        obs, context = self._observations()
        done = bool(self._game.t[0] >= self.max_cycles)
        rewards = {a: float(out.rewards[0, i]) for i, a in enumerate(self.possible_agents)}
        infos = self._infos(context)
        for i, a in enumerate(self.possible_agents):
            infos[a]["correct"] = int(out.events["correct"][0, i])
        if done:
            stats = self._recorder.finish(0)
            for a in infos:
                infos[a]["episode"] = stats
        self._last = {
            "target": played,
            "actions": acts[0].tolist(),
            "messages": None if msgs is None else msgs[0].tolist(),
            "rewards": out.extrinsic[0].tolist(),
        }
        terminations = dict.fromkeys(self.agents, False)
        truncations = dict.fromkeys(self.agents, done)
        if done:
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def render(self) -> str | None:
        """``ansi``: a line with the last step's target, actions, symbols and raw rewards."""
        if self.render_mode is None:
            return None
        last = self._last
        if last.get("actions") is None:
            return f"t=0 target={last.get('target')}"
        return (
            f"t={int(self._game.t[0])} target={last['target']} actions={last['actions']} "
            f"messages={last['messages']} rewards={last['rewards']}"
        )

    def state(self) -> np.ndarray:
        """Global state: the current target, the previous target and the private targets."""
        g = self._game
        return np.concatenate([g.targets[:1], g.previous_targets[:1], g.private_targets[0]]).astype(
            np.int64
        )

    def close(self) -> None:
        pass


def raw_env(**kwargs: Any) -> Any:
    """The AEC form (``parallel_to_aec``) without wrappers."""
    return parallel_to_aec(parallel_env(**kwargs))


def env(**kwargs: Any) -> Any:
    """The AEC form with PettingZoo's order-enforcing wrapper."""
    return wrappers.OrderEnforcingWrapper(raw_env(**kwargs))
