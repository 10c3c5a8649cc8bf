"""The registry of games (docs/envs.md, "Adding a game").

Two games are registered here the way a user would: a gridworld game that differs from Harvest
only by its dynamics (apples grow anywhere with a fixed probability, neighbours or not), and a
speaker/listener signalling game with an engine of its own. Their oracles are their own rules,
counted by hand from what the engines return.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import pytest

from causal_influence.errors import ConfigError, ShapeError
from envs import (
    Game,
    GameSpec,
    SSDConfig,
    StepResult,
    VectorEnv,
    game_names,
    get_game,
    make_parallel,
    make_vector,
    register_game,
)
from envs.grid_rules import (
    CLEAN,
    MOVEMENT_ACTIONS,
    PENALTY,
    STAY,
    Beam,
    GridRules,
    grid_rules,
    register_grid_game,
)
from envs.maps import APPLE, FLOOR
from envs.registry import unregister_game

# --------------------------------------------------------------------------- gridworld game


@numba.njit(cache=True)
def sprout(
    grid: np.ndarray,
    occ: np.ndarray,
    u: np.ndarray,
    u_off: int,
    growth: np.ndarray,
    rivers: np.ndarray,
    offs: np.ndarray,
    params: np.ndarray,
) -> None:
    """Every empty, unoccupied apple cell grows an apple with probability ``params[0]``."""
    for b in range(grid.shape[0]):
        for c in range(growth.shape[0]):
            r, col = growth[c, 0], growth[c, 1]
            if grid[b, r, col] == FLOOR and occ[b, r, col] < 0 and u[b, u_off + c] < params[0]:
                grid[b, r, col] = APPLE


SPROUT = GridRules(
    action_names=(*MOVEMENT_ACTIONS, "FIRE"),
    beams=(PENALTY,),
    dynamics=sprout,
    dynamics_params=lambda config: np.array([0.3]),
    dynamics_uniforms=0,
    default_map="mini_harvest",
)


@pytest.fixture
def sprout_game() -> Iterator[str]:
    register_grid_game("sprout_test", SPROUT, module=None)
    yield "sprout_test"
    unregister_game("sprout_test")


def test_a_registered_gridworld_game_runs_its_own_dynamics(sprout_game: str) -> None:
    b = 3000
    game = Game(SSDConfig(game=sprout_game, num_agents=1), b)
    game.reset(list(range(b)))
    game.positions[:] = (1, 1)
    game.grid[game.grid == APPLE] = FLOOR
    game.step(np.full((b, 1), STAY))
    # (4, 3) has no apple around it: Harvest's rule would never grow it, this one does at 0.3.
    grew = (game.grid[:, 4, 3] == APPLE).mean()
    assert abs(grew - 0.3) < 5 * math.sqrt(0.3 * 0.7 / b)
    assert game.config.num_actions == 8
    assert game.config.map_name == "mini_harvest"  # the rules' default map


def test_make_vector_builds_a_registered_gridworld_game(sprout_game: str) -> None:
    venv = make_vector(sprout_game, 2, seed=0, num_agents=2, max_cycles=3)
    venv.reset()
    for _ in range(3):
        _, _, _, truncated, info = venv.step(np.zeros((2, 2), dtype=int))
    assert truncated.all()
    assert info["episode"][0]["length"] == 3
    with pytest.raises(ConfigError, match="no PettingZoo module"):
        make_parallel(sprout_game)


def test_grid_rules_are_checked() -> None:
    with pytest.raises(ConfigError, match="start with"):
        GridRules(("FIRE",), (PENALTY,), sprout, lambda c: np.zeros(1), 0, "harvest")
    with pytest.raises(ConfigError, match="one beam per action"):
        GridRules((*MOVEMENT_ACTIONS, "FIRE", "CLEAN"), (PENALTY,), sprout, np.zeros, 0, "harvest")
    with pytest.raises(ConfigError, match="default_map"):
        GridRules((*MOVEMENT_ACTIONS, "FIRE"), (PENALTY,), sprout, np.zeros, 0, "nowhere")
    cleaning_only = Beam(CLEAN, 2)
    assert cleaning_only.row() == [CLEAN, 2, 0, 0, -1, -1]


# --------------------------------------------------------------------------- own engine


@dataclass(frozen=True)
class SignalConfig:
    """Speaker (agent 0) sees one of K targets and sends a symbol; the listener (agent 1)
    guesses the target from the symbol; both get +1 when the guess is right."""

    game: str = "signal_test"
    num_targets: int = 3
    num_agents: int = 2
    num_symbols: int = 3
    max_cycles: int = 4

    @property
    def num_actions(self) -> int:
        return self.num_targets


class SignalEngine:
    """A batched engine with the interface of :class:`envs.registry.BatchedEngine`."""

    event_names = ("correct",)

    def __init__(self, config: SignalConfig, num_envs: int) -> None:
        self.config = config
        self.num_envs = num_envs
        self.num_agents = config.num_agents
        self.t = np.zeros(num_envs, dtype=np.int64)
        self.targets = np.zeros(num_envs, dtype=np.int64)
        self.messages = np.full((num_envs, 2), config.num_symbols, dtype=np.int64)
        self._rngs = [np.random.default_rng(0) for _ in range(num_envs)]

    def reset(self, seeds: Any = None, env_ids: Any = None) -> None:
        ids = range(self.num_envs) if env_ids is None else list(env_ids)
        seeds = [None] * len(ids) if seeds is None else list(seeds)
        for b, seed in zip(ids, seeds, strict=True):
            if seed is not None:
                self._rngs[b] = np.random.default_rng(seed)
            self.targets[b] = self._rngs[b].integers(self.config.num_targets)
            self.messages[b] = self.config.num_symbols
            self.t[b] = 0

    def step(self, actions: Any, messages: Any = None) -> StepResult:
        acts = np.asarray(actions)
        correct = (acts[:, 1] == self.targets).astype(np.int32)
        rewards = np.repeat(correct[:, None], 2, axis=1).astype(np.float32)
        events = np.stack([correct, correct], axis=1)[:, None, :]  # (B, 1, N)
        self.messages[:] = messages
        self.t += 1
        for b in range(self.num_envs):
            self.targets[b] = self._rngs[b].integers(self.config.num_targets)
        return StepResult(rewards, rewards, {"correct": events[:, 0]}, events)

    def observations(self) -> dict[str, np.ndarray]:
        return {"target": self.targets.copy(), "messages": self.messages.copy()}


@pytest.fixture
def signal_game() -> Iterator[str]:
    register_game(GameSpec(name="signal_test", make_config=SignalConfig, make_engine=SignalEngine))
    yield "signal_test"
    unregister_game("signal_test")


def test_a_game_with_its_own_engine_gets_the_batched_form(signal_game: str) -> None:
    assert signal_game in game_names()
    venv = make_vector(signal_game, 3, seed=1)
    assert isinstance(venv, VectorEnv)
    obs = venv.reset()
    correct = np.zeros((3, 2), dtype=int)
    for _ in range(4):
        target = obs["target"]
        guess = np.where(np.arange(3) == 0, target, (target + 1) % 3)  # env 0 always right
        acts = np.stack([np.stack([target, guess], 1), np.zeros((3, 2), int)], axis=-1)
        obs, rewards, terminated, truncated, info = venv.step(acts)
        correct += rewards.astype(int)
    assert truncated.all()
    assert not terminated.any()
    assert [ep["correct"] for ep in info["episode"]] == correct.tolist()
    assert correct[:, 0].tolist() == [4, 0, 0]
    with pytest.raises(ShapeError, match=r"\(B, N, 2\)"):
        venv.step(np.zeros((3, 2), dtype=int))
    with pytest.raises(ConfigError, match="not a gridworld game"):
        SSDConfig(game=signal_game)
    with pytest.raises(ConfigError, match="no PettingZoo module"):
        make_parallel(signal_game)


def test_registry_lookups_and_clashes() -> None:
    assert {"harvest", "cleanup"} <= set(game_names())
    assert grid_rules("cleanup").action_names[-1] == "CLEAN"
    assert make_parallel("harvest", map="small_harvest", num_agents=2).metadata["name"] == (
        "harvest_v0"
    )
    with pytest.raises(ConfigError, match="registered games"):
        get_game("chess")
    with pytest.raises(ConfigError, match="registered games"):
        make_vector("chess", 2)
    with pytest.raises(ConfigError, match="already registered"):
        register_game(get_game("harvest"))
    spec = get_game("harvest")
    with pytest.raises(ConfigError, match="identifier"):
        register_game(GameSpec("bad name", spec.make_config, spec.make_engine))
    with pytest.raises(ConfigError, match="expected a GameSpec"):
        register_game("harvest")  # type: ignore[arg-type]
