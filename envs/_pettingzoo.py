"""PettingZoo ``ParallelEnv`` over the gridworld engine (one environment, B = 1).

The game is looked up by name in the registry (:mod:`envs.registry`): its entry builds the
configuration and the engine, so a registered gridworld game gets its PettingZoo env from a
subclass that only sets ``_game_name`` and ``metadata["name"]`` (see :mod:`envs.harvest`).
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from pettingzoo import ParallelEnv

from causal_influence.errors import ConfigError, ShapeError
from envs._observe import code_dtype
from envs.config import SSDConfig
from envs.episode_stats import EpisodeBuffer
from envs.grid_rules import STAY
from envs.registry import get_game

__all__ = ["SSDParallelEnv"]

#: (action, symbol) of an agent missing from the step's dict: stand still, symbol 0.
_NO_ACTION = (STAY, 0)


def _as_int(value: Any) -> int:
    """One action or symbol as a Python int: ints pass as they are, anything else goes
    through NumPy as before (``np.asarray(value).astype(np.int64)``, so 3.0 reads as 3 and a
    size-1 array as its element)."""
    if type(value) is int:
        return value
    if isinstance(value, np.integer):
        return int(value)
    return int(np.asarray(value).astype(np.int64))


def _as_pair(agent: str, value: Any) -> tuple[int, int]:
    """(action, symbol) of one agent with the message channel on."""
    pair = value if type(value) in (tuple, list) else np.asarray(value).astype(np.int64).tolist()
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise ShapeError(
            f"actions[{agent!r}]: expected (action, symbol), as MultiDiscrete([A, M]) samples "
            f"it; got {value!r}"
        )
    return _as_int(pair[0]), _as_int(pair[1])


class SSDParallelEnv(ParallelEnv):
    """A sequential social dilemma as a PettingZoo ``ParallelEnv``.

    Agents are ``agent_0 ... agent_{N-1}``. Each observation is a ``Dict`` with ``"view"``
    (egocentric RGB or symbolic grid), ``"actions"`` (every agent's action of the step that
    produced it), ``"visible"`` (which agents are inside the view window) and, with the
    message channel on, ``"messages"`` (every agent's previous symbol; ``num_symbols`` means
    none yet). Actions are ``Discrete(A)``, or ``MultiDiscrete([A, M])`` = (action, symbol)
    with the channel on. Episodes are truncated after ``max_cycles`` steps; the games never
    terminate by themselves. Seeding only through ``reset(seed=...)``.
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["rgb_array", "human"],
        "name": "ssd_v0",
        "is_parallelizable": True,
        "render_fps": 10,
    }
    _game_name = "harvest"

    def __init__(
        self,
        config: SSDConfig | None = None,
        *,
        render_mode: str | None = None,
        max_cycles: int | None = None,
        **config_overrides: Any,
    ) -> None:
        spec = get_game(self._game_name)
        if config is None:
            config = spec.make_config(**config_overrides)
        elif config_overrides:
            config = config.replace(**config_overrides)
        if config.game != self._game_name:
            raise ConfigError(f"this env is {self._game_name}; got a config for {config.game}")
        if max_cycles is not None:
            config = config.replace(max_cycles=int(max_cycles))
        if render_mode not in (None, "rgb_array", "human"):
            raise ConfigError(
                f"render_mode: expected None, 'rgb_array' or 'human'; got {render_mode!r}"
            )
        self._figure: Any = None
        self.config = config
        self.render_mode = render_mode
        self.max_cycles = config.max_cycles
        self.possible_agents = [f"agent_{i}" for i in range(config.num_agents)]
        self.agents: list[str] = []
        self._game = spec.make_engine(config, 1)
        self._episode = EpisodeBuffer(
            config.num_agents, self._game.event_names, capacity=min(config.max_cycles, 4096)
        )
        self.np_random, self.np_random_seed = seeding.np_random(None)
        self._needs_seed = True
        self._obs_space = self._build_obs_space()
        if config.num_symbols > 0:
            self._act_space: spaces.Space = spaces.MultiDiscrete(
                [config.num_actions, config.num_symbols]
            )
        else:
            self._act_space = spaces.Discrete(config.num_actions)
        n_codes = 6 + config.num_agents
        self.state_space = spaces.Box(
            0, n_codes - 1, (config.parsed.height, config.parsed.width), np.uint8
        )

    def _build_obs_space(self) -> spaces.Dict:
        cfg = self.config
        s = cfg.view_size
        if cfg.obs_type == "rgb":
            view = spaces.Box(0, 255, (s, s, 3), np.uint8)
        elif cfg.obs_type == "codes":
            table = self._game.code_table
            dtype = code_dtype(cfg.num_agents, cfg.beams_in_obs)
            view = spaces.Box(0, table.shape[0] - 1, (s, s, 1), dtype)
        else:
            view = spaces.Box(0, 1, (s, s, len(self._game.symbolic_channels)), np.uint8)
        parts: dict[str, spaces.Space] = {
            "view": view,
            "actions": spaces.MultiDiscrete([cfg.num_actions] * cfg.num_agents),
            "visible": spaces.MultiBinary(cfg.num_agents),
        }
        if cfg.num_symbols > 0:
            parts["messages"] = spaces.MultiDiscrete([cfg.num_symbols + 1] * cfg.num_agents)
        return spaces.Dict(parts)

    @functools.cache  # noqa: B019 - one space object per agent, as PettingZoo requires
    def observation_space(self, agent: str) -> spaces.Space:
        return self._obs_space

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> spaces.Space:
        return self._act_space

    # ------------------------------------------------------------------ API
    def _observations(self) -> dict[str, dict[str, np.ndarray]]:
        raw = self._game.observations()
        views = raw["view"][0]
        actions = raw["actions"][0]
        visible = raw["visible"][0].astype(np.int8)
        messages = raw["messages"][0] if "messages" in raw else None
        out = {}
        for i, agent in enumerate(self.possible_agents):
            obs = {"view": views[i], "actions": actions.copy(), "visible": visible[i]}
            if messages is not None:
                obs["messages"] = messages.copy()
            out[agent] = obs
        return out

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        if seed is not None or self._needs_seed:
            self.np_random, self.np_random_seed = seeding.np_random(seed)
            env_seed = int(self.np_random.integers(0, 2**63 - 1))
            self._game.reset([env_seed])
            self._needs_seed = False
        else:
            self._game.reset([None])
        self._episode.clear()
        self.agents = self.possible_agents[:]
        return self._observations(), {a: {} for a in self.agents}

    def step(
        self, actions: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, float], dict[str, bool], dict[str, bool], dict[str, Any]]:
        if not self.agents:
            raise ConfigError("step() called on a finished episode; call reset() first")
        # One Python list per step, then one array: a NumPy call per agent would cost more
        # than the engine's step (benchmarks/bench_envs.py, PettingZoo row).
        names = self.possible_agents
        if self.config.num_symbols:
            pairs = np.array(
                [_as_pair(agent, actions.get(agent, _NO_ACTION)) for agent in names], np.int64
            )
            acts = pairs[None, :, 0]
            msgs: np.ndarray | None = pairs[None, :, 1]
        else:
            acts = np.array([[_as_int(actions.get(agent, STAY)) for agent in names]], np.int64)
            msgs = None
        out = self._game.step(acts, msgs)
        events = out.event_array[0]
        self._episode.add(out.extrinsic[0], events)
        obs = self._observations()
        done = bool(self._game.t[0] >= self.max_cycles)
        rewards = dict(zip(names, out.rewards[0].tolist(), strict=True))
        event_names = self._game.event_names
        infos: dict[str, Any] = {
            agent: dict(zip(event_names, counts, strict=True))
            for agent, counts in zip(names, events.T.tolist(), strict=True)
        }
        if done:
            stats = self._episode.finish()
            for a in infos:
                infos[a]["episode"] = stats
        terminations = dict.fromkeys(self.agents, False)
        truncations = dict.fromkeys(self.agents, done)
        if done:
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def render(self) -> np.ndarray | None:
        """``rgb_array``: the whole map as an (H, W, 3) uint8 array. ``human``: draw it in a
        matplotlib window (a no-op display under a non-interactive backend); returns None."""
        if self.render_mode is None:
            return None
        frame = self._game.render(0)
        if self.render_mode == "rgb_array":
            return frame
        import matplotlib.pyplot as plt

        if self._figure is None:
            self._figure = plt.figure("causal-influence " + self.metadata["name"])
            self._image = self._figure.gca().imshow(frame, interpolation="nearest")
            self._figure.gca().set_axis_off()
        else:
            self._image.set_data(frame)
        self._figure.canvas.draw_idle()
        if plt.get_backend().lower() != "agg":
            plt.pause(1.0 / self.metadata["render_fps"])
        return None

    def state(self) -> np.ndarray:
        return self._game.state(0)

    def close(self) -> None:
        if self._figure is not None:
            import matplotlib.pyplot as plt

            plt.close(self._figure)
            self._figure = None
