"""Batched form of the registered games: B environments stepped as arrays (what training uses).

:func:`make_vector` looks the game up in the registry (:mod:`envs.registry`) and wraps its
batched engine (the gridworld :class:`envs._engine.Game` for Harvest and Cleanup, or a game's
own engine) in a :class:`VectorEnv` with auto-reset and episode statistics.

Examples
--------
>>> import numpy as np
>>> from envs.vector import make_vector
>>> venv = make_vector("harvest", 4, seed=0, map="small_harvest", num_agents=2, max_cycles=10)
>>> obs = venv.reset()
>>> obs["view"].shape
(4, 2, 15, 15, 3)
>>> obs, rewards, terminated, truncated, info = venv.step(np.full((4, 2), 4))
>>> rewards.shape, truncated.any()
((4, 2), np.False_)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from causal_influence.errors import ShapeError, describe
from envs.episode_stats import EpisodeRecorder
from envs.registry import get_game, spawn_seeds

__all__ = ["VectorEnv", "make_vector"]


class VectorEnv:
    """B independent environments of one configuration, with auto-reset.

    Parameters
    ----------
    config : SSDConfig or the config of another registered game
        Its ``game`` names the registry entry whose engine is built
        (:class:`envs.registry.GameConfig`).
    num_envs : int
    seed : int, optional
        Root seed; env b gets the b-th child of ``numpy.random.SeedSequence(seed)``.

    Notes
    -----
    ``step`` returns arrays: observations (B, N, ...), rewards (B, N), terminated (B,) (always
    False: the games never end by themselves), truncated (B,) (True when an env reached
    ``max_cycles``), and ``info`` with the step's ``events`` (B, N) arrays, the
    ``extrinsic`` rewards, and for finished envs ``final_obs`` (their last observation) and
    ``episode`` (a list of per-env statistics dicts, None for envs still running). Finished envs
    are reset at once; the observation returned for them is the first of their next episode.
    """

    def __init__(self, config: Any, num_envs: int, *, seed: int | None = None) -> None:
        self.config = config
        self.num_envs = int(num_envs)
        self.num_agents = config.num_agents
        self.game = get_game(config.game).make_engine(config, self.num_envs)
        self._seed = seed
        self.recorder = EpisodeRecorder(
            self.num_envs, self.num_agents, config.max_cycles, event_names=self.game.event_names
        )

    def _child_seeds(self, seed: int | None) -> list[int | None]:
        if seed is None:
            return [int(s) for s in np.random.SeedSequence().generate_state(self.num_envs)]
        return list(spawn_seeds(seed, self.num_envs))

    def env_seeds(self, seed: int | None = None) -> list[int | None]:
        """The per-env seeds that ``reset(seed)`` uses (for building matching single envs)."""
        return self._child_seeds(self._seed if seed is None else seed)

    def reset(self, seed: int | None = None) -> dict[str, np.ndarray]:
        """Reset every environment; returns the observation dict of arrays."""
        if seed is not None:
            self._seed = seed
        self.game.reset(self._child_seeds(self._seed))
        self.recorder.lengths[:] = 0
        return self.game.observations()

    def step(
        self, actions: Any
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every environment.

        Parameters
        ----------
        actions : array_like of int, shape (B, N), or (B, N, 2) = (action, message) when the
            message channel is on.
        """
        acts = np.asarray(actions)
        msgs = None
        if self.config.num_symbols > 0:
            if acts.shape != (self.num_envs, self.num_agents, 2):
                raise ShapeError(
                    f"actions: with the message channel on, expected shape (B, N, 2) = "
                    f"({self.num_envs}, {self.num_agents}, 2) holding (action, message); got "
                    f"{describe(acts)}"
                )
            acts, msgs = acts[..., 0], acts[..., 1]
        out = self.game.step(acts, msgs)
        self.recorder.add(out.extrinsic, out.event_array)
        truncated = self.game.t >= self.config.max_cycles
        terminated = np.zeros(self.num_envs, dtype=bool)
        info: dict[str, Any] = {"events": out.events, "extrinsic": out.extrinsic}
        obs = self.game.observations()
        if truncated.any():
            done = np.flatnonzero(truncated)
            info["final_obs"] = {k: v[done].copy() for k, v in obs.items()}
            info["done_envs"] = done
            episode: list[dict[str, Any] | None] = [None] * self.num_envs
            for b, stats in zip(done.tolist(), self.recorder.finish_many(done), strict=True):
                episode[b] = stats
            info["episode"] = episode
            self.game.reset(None, env_ids=done)
            fresh = self.game.observations()
            for k in obs:
                obs[k][done] = fresh[k][done]
        return obs, out.rewards, terminated, truncated, info


def make_vector(
    game: str, num_envs: int, *, seed: int | None = None, **config_overrides: Any
) -> VectorEnv:
    """Build a :class:`VectorEnv` of a registered game (``"harvest"``, ``"cleanup"``, ...).

    Parameters
    ----------
    game : str
        A name of :func:`envs.registry.game_names`.
    num_envs : int
        B.
    seed : int, optional
        Root seed of the envs.
    **config_overrides
        Fields of the game's configuration.

    Raises
    ------
    ConfigError
        When no game of that name is registered.
    """
    return VectorEnv(get_game(game).make_config(**config_overrides), num_envs, seed=seed)
