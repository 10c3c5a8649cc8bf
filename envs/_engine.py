"""The gridworld engine of Harvest and Cleanup, vectorised over B environments.

:class:`Game` keeps the state of B independent environments of one :class:`SSDConfig` as
arrays and advances them with compiled kernels: :mod:`envs._phases` (the phases of a step),
the game's own dynamics, and :mod:`envs._observe` (views). Both the PettingZoo envs (B = 1) and the
batched :class:`envs.vector.VectorEnv` step through it, so every rule exists once. What differs
between games comes from the game's :class:`envs.grid_rules.GridRules` in the registry: its
actions, its beams (a table the kernels read) and its dynamics (a compiled function called
between the phases). The rules, their order within a step and where they differ from the
reference code of Jaques et al. 2019 are described in docs/envs.md.

Randomness: env b owns a ``numpy.random.Generator`` seeded by its own seed (used at resets)
and a splitmix64 counter derived from it at each reset (used inside the compiled step). Every
step draws the same fixed number of uniforms, whatever happens, so env b in a batch behaves
exactly like a single env with the same seed and actions.

Orientation codes: 0 UP, 1 RIGHT, 2 DOWN, 3 LEFT. Views are egocentric and consistent for every
facing: the cell ahead is at ``(V - 1, V)``, the cell on the agent's left at ``(V, V - 1)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from causal_influence.errors import ConfigError, ShapeError, describe
from envs._observe import (
    AGENT_COLOURS,
    BEAM_COLOURS,
    CELL_BITS,
    CELL_CODES,
    CELL_COLOURS,
    OBS_CODES,
    OBS_RGB,
    OBS_SYMBOLIC,
    SYMBOLIC_CELL_CHANNELS,
    agent_colours,
    code_dtype,
    code_table,
    observe_kernel,
    view_offsets,
)
from envs._phases import any_outside, respawn_phase, step_phases
from envs.config import SSDConfig
from envs.grid_rules import (
    CLEANING_BEAM,
    DIRS,
    EVENT_NAMES,
    PENALTY_BEAM,
    STAY,
    beam_table,
    grid_rules,
)
from envs.maps import APPLE, FLOOR, RIVER, STREAM, WALL, WASTE
from envs.registry import spawn_seeds

__all__ = [
    "AGENT_COLOURS",
    "CELL_COLOURS",
    "EVENT_NAMES",
    "Game",
    "StepResult",
    "agent_colours",
]

#: Letters of :meth:`Game.char_map` for each cell code, and for beam marks drawn on top.
_CELL_CHARS = np.array([".", "@", "A", "H", "R", "S"])
_BEAM_CHARS = {PENALTY_BEAM: "F", CLEANING_BEAM: "C"}
#: Characters :meth:`Game.set_cell` accepts.
_SET_CELL_CODES = {
    " ": FLOOR,
    ".": FLOOR,
    "B": FLOOR,
    "A": APPLE,
    "H": WASTE,
    "R": RIVER,
    "S": STREAM,
}


@dataclass(frozen=True, eq=False)
class StepResult:
    """What one step of B environments produced.

    Attributes
    ----------
    rewards : numpy.ndarray of float32, shape (B, N)
        Rewards after the optional collective / inequity-aversion transforms.
    extrinsic : numpy.ndarray of float32, shape (B, N)
        Sum of each agent's reward events (apples, hits, fire costs).
    events : dict of str to numpy.ndarray of int32, shape (B, N)
        ``apples`` eaten, ``fires`` (FIRE used), ``hits`` (times hit), ``hits_given``,
        ``cleaned`` (waste cells cleaned), ``timeout`` (1 while removed or frozen).
    """

    rewards: np.ndarray
    extrinsic: np.ndarray
    events: dict[str, np.ndarray]
    event_array: np.ndarray  # (B, len(EVENT_NAMES), N): the same counters, stacked


class Game:
    """B independent environments of one configuration, stepped as arrays.

    Parameters
    ----------
    config : SSDConfig
    num_envs : int
        B.

    Examples
    --------
    >>> import numpy as np
    >>> from envs.config import harvest_config
    >>> game = Game(harvest_config(num_agents=2, map="small_harvest"), num_envs=3)
    >>> game.reset([1, 2, 3])
    >>> out = game.step(np.full((3, 2), 4))
    >>> out.rewards.shape, game.observations()["view"].shape
    ((3, 2), (3, 2, 15, 15, 3))
    """

    def __init__(self, config: SSDConfig, num_envs: int = 1) -> None:
        if not isinstance(config, SSDConfig):
            raise ConfigError(f"config: expected an SSDConfig; got {describe(config)}")
        if int(num_envs) < 1:
            raise ConfigError(f"num_envs: expected a positive integer; got {num_envs!r}")
        self.config = config
        self.num_envs = int(num_envs)
        self.num_agents = config.num_agents
        self.event_names = EVENT_NAMES
        self.rules = grid_rules(config.game)
        self.num_actions = len(self.rules.action_names)
        pm = config.parsed
        self.height, self.width = pm.height, pm.width
        self._wall = pm.wall.copy()
        # C-ordered int64 (argwhere returns Fortran order): one compiled variant per kernel.
        self._growth = np.ascontiguousarray(np.argwhere(pm.apple_cells), dtype=np.int64)
        self._rivers = np.ascontiguousarray(np.argwhere(pm.river_cells), dtype=np.int64)
        self._spawn = np.ascontiguousarray(pm.spawn_points, dtype=np.int64)
        self._offs = _neighbourhood(config.regrowth)
        self._params = np.ascontiguousarray(self.rules.dynamics_params(config), dtype=np.float64)
        self._beams = beam_table(self.rules.beams)
        # Per step: tie keys (N), beam order (N), the dynamics' draws, respawns (2N).
        n_dynamics = len(self._growth) + self.rules.dynamics_uniforms
        self._num_uniforms = 4 * self.num_agents + n_dynamics
        self._agent_cols = agent_colours(self.num_agents)
        b, n = self.num_envs, self.num_agents
        self.grid = np.zeros((b, self.height, self.width), dtype=np.uint8)
        self.positions = np.zeros((b, n, 2), dtype=np.int64)
        self.orientations = np.zeros((b, n), dtype=np.int64)
        self.timers = np.zeros((b, n), dtype=np.int64)
        self.beams = np.zeros((b, self.height, self.width), dtype=np.uint8)
        self.last_actions = np.full((b, n), STAY, dtype=np.int64)
        self.messages = np.full((b, n), config.num_symbols, dtype=np.int64)
        self.t = np.zeros(b, dtype=np.int64)
        # Work buffers of a step, passed from the phases to the dynamics and the respawns.
        self._u = np.zeros((b, self._num_uniforms), dtype=np.float64)
        self._active = np.zeros((b, n), dtype=np.bool_)
        self._onmap = np.zeros((b, n), dtype=np.bool_)
        self._occ = np.zeros((b, self.height, self.width), dtype=np.int32)  # small: read twice
        self._smoothed = np.zeros((b, n), dtype=np.float64)
        self._rngs: list[np.random.Generator] = [np.random.default_rng(0) for _ in range(b)]
        # Per-env splitmix64 counters for the per-step draws (advanced inside the kernels).
        self._rng_state = np.zeros(b, dtype=np.uint64)
        self.symbolic_channels: tuple[str, ...] = (
            SYMBOLIC_CELL_CHANNELS
            + tuple(f"agent_{i}" for i in range(n))
            + (("beam",) if config.beams_in_obs else ())
        )
        #: (num_codes, C) uint8: the symbolic channels of every code of the "codes" layout.
        self.code_table = code_table(n, config.beams_in_obs)
        self._obs_mode = {"rgb": OBS_RGB, "symbolic": OBS_SYMBOLIC, "codes": OBS_CODES}[
            config.obs_type
        ]
        self._view_offsets = view_offsets(
            DIRS, config.view_radius, self.width + 2 * config.view_radius
        )

    # ------------------------------------------------------------------ reset
    def reset(self, seeds: Any = None, env_ids: Any = None) -> None:
        """Reset the listed environments (all when ``env_ids`` is None).

        Parameters
        ----------
        seeds : int, sequence of (int or None), or None
            One seed per reset env (an int is used for a single env, or expanded with
            ``numpy.random.SeedSequence`` for several). ``None`` for an env continues its
            own generator (a new episode, not a re-seed).
        env_ids : sequence of int, optional
        """
        ids = np.arange(self.num_envs) if env_ids is None else np.asarray(env_ids, dtype=np.int64)
        seed_list = self._seed_list(seeds, len(ids))
        for b, seed in zip(ids.tolist(), seed_list, strict=True):
            if seed is not None:
                self._rngs[b] = np.random.default_rng(seed)
            rng = self._rngs[b]
            self.grid[b] = self._initial_grid()
            keys = rng.random(len(self._spawn))
            chosen = np.argsort(keys, kind="stable")[: self.num_agents]
            self.positions[b] = self._spawn[chosen]
            self.orientations[b] = np.minimum((rng.random(self.num_agents) * 4).astype(np.int64), 3)
            self.timers[b] = 0
            self.beams[b] = 0
            self.last_actions[b] = STAY
            self.messages[b] = self.config.num_symbols
            self.t[b] = 0
            self._smoothed[b] = 0.0
            self._rng_state[b] = np.uint64(int(rng.integers(0, 2**63)))
            u = rng.random(self._num_uniforms)
            occ = np.full((self.height, self.width), -1, dtype=np.int32)
            occ[self.positions[b, :, 0], self.positions[b, :, 1]] = np.arange(self.num_agents)
            self.rules.dynamics(
                self.grid[b : b + 1],
                occ[None],
                u[None],
                2 * self.num_agents,
                self._growth,
                self._rivers,
                self._offs,
                self._params,
            )

    def _initial_grid(self) -> np.ndarray:
        """(H, W) uint8: walls, apples on ``A`` cells, river, waste and stream of the map."""
        pm = self.config.parsed
        g = np.full((self.height, self.width), FLOOR, dtype=np.uint8)
        g[pm.wall] = WALL
        g[pm.initial_apples] = APPLE
        g[pm.river_cells] = RIVER
        g[pm.initial_waste] = WASTE
        g[pm.stream_cells] = STREAM
        return g

    def _seed_list(self, seeds: Any, count: int) -> list[int | None]:
        if seeds is None:
            return [None] * count
        if isinstance(seeds, (int, np.integer)):
            if count == 1:
                return [int(seeds)]
            return list(spawn_seeds(int(seeds), count))
        seq = list(seeds)
        if len(seq) != count:
            raise ShapeError(f"seeds: expected {count} seeds (one per env); got {len(seq)}")
        return [None if s is None else int(s) for s in seq]

    # ------------------------------------------------------------------ step
    def step(self, actions: Any, messages: Any = None) -> StepResult:
        """Advance every environment by one step.

        Parameters
        ----------
        actions : array_like of int, shape (B, N)
        messages : array_like of int, shape (B, N), optional
            Symbols emitted this step (message channel on); they appear in the observations
            this step returns.

        Returns
        -------
        StepResult
        """
        acts = self._check_actions(actions)
        msgs = self._check_messages(messages)
        b, n = self.num_envs, self.num_agents
        rewards = np.zeros((b, n), dtype=np.float64)
        events = np.zeros((b, len(EVENT_NAMES), n), dtype=np.int32)
        cfg = self.config
        remove = cfg.hit_timeout_mode == "remove"
        step_phases(
            self.grid,
            self.positions,
            self.orientations,
            self.timers,
            self.beams,
            acts,
            self._rng_state,
            self._wall,
            DIRS,
            self._beams,
            cfg.beam_length,
            float(cfg.hit_penalty),
            float(cfg.fire_cost),
            cfg.hit_timeout,
            remove,
            self._u,
            self._active,
            self._onmap,
            self._occ,
            rewards,
            events,
        )
        self.rules.dynamics(
            self.grid,
            self._occ,
            self._u,
            2 * n,
            self._growth,
            self._rivers,
            self._offs,
            self._params,
        )
        if remove and cfg.hit_timeout > 0:
            respawn_phase(
                self.positions,
                self.orientations,
                self.timers,
                self._active,
                self._onmap,
                self._spawn,
                self._u,
                self._wall,
            )
        self.last_actions[:] = acts
        if msgs is not None:
            self.messages[:] = msgs
        self.t += 1
        shaped = self._transform(rewards)
        return StepResult(
            rewards=shaped.astype(np.float32),
            extrinsic=rewards.astype(np.float32),
            events={name: events[:, k] for k, name in enumerate(EVENT_NAMES)},
            event_array=events,
        )

    def _check_actions(self, actions: Any) -> np.ndarray:
        """(B, N) int64 actions, or a typed error naming the game's actions."""
        b, n = self.num_envs, self.num_agents
        acts = np.asarray(actions)
        if acts.shape != (b, n):
            raise ShapeError(f"actions: expected shape (B, N) = ({b}, {n}); got {describe(acts)}")
        if acts.dtype.kind not in "iu" or any_outside(acts, self.num_actions):
            raise ShapeError(
                f"actions: expected integers in [0, {self.num_actions}) "
                f"({', '.join(self.rules.action_names)}); got values in "
                f"[{acts.min()}, {acts.max()}] of dtype {acts.dtype}"
            )
        return acts.astype(np.int64)

    def _check_messages(self, messages: Any) -> np.ndarray | None:
        """(B, N) int64 symbols when the channel is on (required then, refused otherwise)."""
        b, n = self.num_envs, self.num_agents
        m = self.config.num_symbols
        if messages is None:
            if m > 0:
                raise ConfigError(
                    f"the message channel is on (num_symbols={m}): pass messages of shape "
                    f"({b}, {n})"
                )
            return None
        msgs = np.asarray(messages)
        if m == 0:
            raise ConfigError("messages were given but the message channel is off (num_symbols=0)")
        if msgs.shape != (b, n) or msgs.min() < 0 or msgs.max() >= m:
            raise ShapeError(
                f"messages: expected integers in [0, {m}) of shape ({b}, {n}); got {describe(msgs)}"
            )
        return msgs.astype(np.int64)

    def _transform(self, rewards: np.ndarray) -> np.ndarray:
        cfg = self.config
        out = rewards
        if cfg.inequity_alpha or cfg.inequity_beta:
            self._smoothed = cfg.inequity_smoothing * self._smoothed + rewards
            e = self._smoothed
            diff = e[:, None, :] - e[:, :, None]  # diff[b, i, j] = e_j - e_i
            n = self.num_agents
            envy = np.clip(diff, 0, None).sum(axis=2)
            guilt = np.clip(-diff, 0, None).sum(axis=2)
            out = out - (cfg.inequity_alpha * envy + cfg.inequity_beta * guilt) / (n - 1)
        if cfg.collective_reward:
            out = np.broadcast_to(out.sum(axis=1, keepdims=True), out.shape).copy()
        return out

    # ------------------------------------------------------------------ views
    @property
    def on_map(self) -> np.ndarray:
        """(B, N) bool: agents present on the grid (not removed by a hit timeout)."""
        if self.config.hit_timeout_mode == "remove":
            return self.timers == 0
        return np.ones_like(self.timers, dtype=bool)

    def observations(self) -> dict[str, np.ndarray]:
        """Observations of every agent of every environment.

        Returns
        -------
        dict
            ``"view"`` (B, N, S, S, 3) uint8 RGB, (B, N, S, S, C) uint8 symbolic or
            (B, N, S, S, 1) cell codes (uint8; uint16 beyond 256 codes; decoded by
            :attr:`code_table`) (S = 2V+1; a removed agent sees black, or code 0);
            ``"actions"`` (B, N) all agents' actions of the step that produced the
            observation (STAY after reset); ``"visible"`` (B, N, N) uint8
            (``[b, i, j]`` = j inside i's window, 1 on the diagonal, 0 for removed agents);
            ``"messages"`` (B, N) previous-step symbols (``num_symbols`` = none yet) when the
            channel is on.
        """
        cfg = self.config
        size = cfg.view_size
        mode = self._obs_mode
        dtype: Any = np.uint8
        if mode == OBS_SYMBOLIC:
            channels = len(self.symbolic_channels)
        elif mode == OBS_CODES:
            channels, dtype = 1, code_dtype(self.num_agents, cfg.beams_in_obs)
        else:
            channels = 3
        view = np.empty((self.num_envs, self.num_agents, size, size, channels), dtype=dtype)
        visible = np.empty((self.num_envs, self.num_agents, self.num_agents), dtype=np.uint8)
        observe_kernel(
            self.grid,
            self.positions,
            self.orientations,
            self.on_map,
            self.beams,
            self._view_offsets,
            cfg.view_radius,
            cfg.beams_in_obs,
            mode,
            CELL_COLOURS,
            CELL_CODES if mode == OBS_CODES else CELL_BITS,
            self._agent_cols,
            BEAM_COLOURS,
            view,
            visible,
        )
        obs: dict[str, np.ndarray] = {
            "view": view,
            "actions": self.last_actions.copy(),
            "visible": visible,
        }
        if cfg.num_symbols > 0:
            obs["messages"] = self.messages.copy()
        return obs

    def visibility(self) -> np.ndarray:
        """(B, N, N) uint8: ``[b, i, j]`` = 1 when j lies in i's (2V+1)x(2V+1) window."""
        delta = np.abs(self.positions[:, :, None, :] - self.positions[:, None, :, :])
        vis = (delta <= self.config.view_radius).all(axis=-1)
        onmap = self.on_map
        vis &= onmap[:, :, None] & onmap[:, None, :]
        idx = np.arange(self.num_agents)
        vis[:, idx, idx] = True
        return vis.astype(np.uint8)

    def render(self, env_index: int = 0) -> np.ndarray:
        """(H, W, 3) uint8 picture of the whole map with agents and the last step's beams."""
        b = self._env(env_index)
        img = CELL_COLOURS[self.grid[b]].copy()
        onmap = self.on_map[b]
        pos = self.positions[b][onmap]
        img[pos[:, 0], pos[:, 1]] = self._agent_cols[np.flatnonzero(onmap)]
        beam = self.beams[b]
        img[beam > 0] = BEAM_COLOURS[beam[beam > 0]]
        return img

    def state(self, env_index: int = 0) -> np.ndarray:
        """(H, W) uint8 global grid: cell codes 0 floor, 1 wall, 2 apple, 3 waste, 4 river,
        5 stream, and 6 + i where agent i stands."""
        b = self._env(env_index)
        s = self.grid[b].copy()
        onmap = self.on_map[b]
        pos = self.positions[b][onmap]
        s[pos[:, 0], pos[:, 1]] = 6 + np.flatnonzero(onmap)
        return s

    # ------------------------------------------------------------------ test hooks
    def _env(self, env_index: int) -> int:
        if not 0 <= int(env_index) < self.num_envs:
            raise ShapeError(f"env_index: expected 0 <= index < {self.num_envs}; got {env_index}")
        return int(env_index)

    def set_agent(self, env_index: int, agent: int, pos: Any, orientation: int = 0) -> None:
        """Place ``agent`` at ``pos = (row, col)`` facing ``orientation`` (0 UP .. 3 LEFT)."""
        b = self._env(env_index)
        r, c = (int(v) for v in pos)
        if not (0 <= r < self.height and 0 <= c < self.width) or self._wall[r, c]:
            raise ConfigError(f"set_agent: ({r}, {c}) is outside the map or a wall")
        others = [i for i in range(self.num_agents) if i != agent and self.on_map[b, i]]
        if any(tuple(self.positions[b, i]) == (r, c) for i in others):
            raise ConfigError(f"set_agent: ({r}, {c}) is already taken by another agent")
        self.positions[b, agent] = (r, c)
        self.orientations[b, agent] = int(orientation) % 4

    def set_cell(self, env_index: int, pos: Any, char: str) -> None:
        """Write a cell: ' ' or '.' floor, 'A' apple, 'H' waste, 'R' river, 'S' stream."""
        b = self._env(env_index)
        if char not in _SET_CELL_CODES:
            raise ConfigError(f"set_cell: expected one of {sorted(_SET_CELL_CODES)}; got {char!r}")
        r, c = (int(v) for v in pos)
        if self._wall[r, c]:
            raise ConfigError(f"set_cell: ({r}, {c}) is a wall; walls are part of the map")
        self.grid[b, r, c] = _SET_CELL_CODES[char]

    def char_map(self, env_index: int = 0) -> list[str]:
        """The map in the reference tests' notation: '@' wall, '.' floor, 'A' apple, 'H'
        waste, 'R' river, 'S' stream, 'P' any agent, and the step's beams 'F' / 'C' on top."""
        b = self._env(env_index)
        chars = _CELL_CHARS[self.grid[b]]
        onmap = self.on_map[b]
        pos = self.positions[b][onmap]
        chars[pos[:, 0], pos[:, 1]] = "P"
        for mark, letter in _BEAM_CHARS.items():
            chars[self.beams[b] == mark] = letter
        return ["".join(row) for row in chars]


def _neighbourhood(regrowth: str) -> np.ndarray:
    """(M, 2) int64 offsets of the regrowth neighbourhood: the 3x3 square or the radius-2 disc."""
    if regrowth == "moore":
        offs = [(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1) if (i, j) != (0, 0)]
    else:
        offs = [
            (i, j)
            for i in range(-2, 3)
            for j in range(-2, 3)
            if (i, j) != (0, 0) and i * i + j * j <= 4
        ]
    return np.array(offs, dtype=np.int64)
