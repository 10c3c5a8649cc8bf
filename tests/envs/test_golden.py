"""Golden episodes: the same seeds give bit-identical observations, rewards and statistics.

The digests below were recorded on the tree before the games became registry entries (the
restructuring of the step kernel into phases, issue 14) and pin the behaviour of the engine
exactly: every observation array, reward, termination/truncation flag and info dict (events
per step, episode statistics at the end) of seeded episodes is hashed. A change to the rules or
to the order in which random numbers are drawn changes a digest. If a rule is changed on
purpose, re-record the digests and say so in the commit message.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np
import pytest

from envs import cleanup, harvest, make_vector

MODULES = {"harvest": harvest, "cleanup": cleanup}


def _feed(h: Any, value: Any) -> None:
    """Add ``value`` to the hash ``h`` in a canonical order (dict keys sorted)."""
    if isinstance(value, dict):
        for key in sorted(value):
            h.update(repr(key).encode())
            _feed(h, value[key])
    elif isinstance(value, (list, tuple)):
        h.update(f"seq{len(value)}".encode())
        for item in value:
            _feed(h, item)
    elif isinstance(value, np.ndarray):
        h.update(f"{value.dtype.str}{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, (bool, np.bool_)):
        h.update(b"T" if value else b"F")
    elif isinstance(value, (int, np.integer)):
        h.update(f"i{int(value)}".encode())
    elif isinstance(value, (float, np.floating)):
        # Social outcomes are sums of floats; 10 decimals keep the digest platform-independent.
        x = float(value)
        h.update(b"nan" if math.isnan(x) else f"f{round(x, 10)!r}".encode())
    elif value is None:
        h.update(b"None")
    else:
        raise TypeError(f"unexpected value of type {type(value).__name__}")


def pettingzoo_digest(game: str, seed: int, steps: int, **options: Any) -> str:
    """sha256 of a seeded episode of ``steps`` steps with seeded random actions."""
    env = MODULES[game].parallel_env(max_cycles=steps, **options)
    h = hashlib.sha256()
    obs, infos = env.reset(seed=seed)
    _feed(h, (obs, infos))
    rng = np.random.default_rng(seed + 1000)
    symbols = options.get("num_symbols", 0)
    while env.agents:
        actions: dict[str, Any] = {}
        for agent in env.agents:
            action = int(rng.integers(env.config.num_actions))
            actions[agent] = (action, int(rng.integers(symbols))) if symbols else action
        _feed(h, env.step(actions))
    return h.hexdigest()


def vector_digest(game: str, seed: int, steps: int, **options: Any) -> str:
    """sha256 of ``steps`` steps of a batched env (episodes end and restart inside)."""
    venv = make_vector(game, 3, seed=seed, **options)
    h = hashlib.sha256()
    _feed(h, venv.reset())
    rng = np.random.default_rng(seed + 2000)
    symbols = venv.config.num_symbols
    for _ in range(steps):
        acts = rng.integers(0, venv.config.num_actions, (3, venv.num_agents))
        if symbols:
            acts = np.stack([acts, rng.integers(0, symbols, acts.shape)], axis=-1)
        obs, rewards, terminated, truncated, info = venv.step(acts)
        _feed(h, (obs, rewards, terminated, truncated, info))
    return h.hexdigest()


# Reference maps, 5 agents, 200 steps; RGB and symbolic, without and with messages.
PETTINGZOO_GOLDEN = {
    ("harvest", "rgb", 0): "6d7b0e22b5563ad3085c47a3e77a419547af200a10bd0e4adfff912e8c13868d",
    ("harvest", "rgb", 7): "7b9170ca1381c6997936c7e4260c947419e077eaf06ca6944eba00f3e3d30999",
    ("harvest", "symbolic", 0): "ff47511c93314f83cf99e9c4931aebc2e4838fe563260c586aa401278de09593",
    ("harvest", "symbolic", 7): "ff2d41be30f31ceaaa8a7eaa0013c07930c86ea39c4407819b76cdf02bd08888",
    ("cleanup", "rgb", 0): "e96466780880fcf6fc0ff4476fdfc3bc005552ff60db9e49f88da3014901ea53",
    ("cleanup", "rgb", 9): "b92eab5c38ff2b5cc720318932db3e7bbca26bddf5f69a390609237a40947251",
    ("cleanup", "symbolic", 0): "5fc6391898bc87e51f6688b767df2bce3f5ee0d4024c1627989f67df5a58e1e9",
    ("cleanup", "symbolic", 9): "3dc06d06ae938a13a7279a20bdca3d02715ee1a31e954b1bd4ac5e54d3b3ab32",
}


@pytest.mark.parametrize(("game", "obs_type", "symbols"), sorted(PETTINGZOO_GOLDEN))
def test_pettingzoo_episodes_are_unchanged(game: str, obs_type: str, symbols: int) -> None:
    digest = pettingzoo_digest(game, 5, 200, obs_type=obs_type, num_symbols=symbols)
    assert digest == PETTINGZOO_GOLDEN[(game, obs_type, symbols)]


# Every optional rule at a non-default value (timeouts, visible beams, disc regrowth, reward
# transforms), so that the phases they touch are pinned too.
OPTIONS = {
    "remove": {
        "hit_timeout": 3,
        "hit_timeout_mode": "remove",
        "beams_in_obs": True,
        "regrowth": "disc",
        "inequity_alpha": 5.0,
        "inequity_beta": 0.05,
        "inequity_smoothing": 0.9,
    },
    "freeze": {
        "hit_timeout": 2,
        "hit_timeout_mode": "freeze",
        "beams_in_obs": True,
        "collective_reward": True,
        "fire_cost": 2.0,
        "hit_penalty": 10.0,
    },
}
OPTIONS_GOLDEN = {
    ("harvest", "remove"): "563bd2071876c624ae70d4c0151d7b6562951a160e4ca34d3e69ec3c76b71d9a",
    ("harvest", "freeze"): "e85e67dca5c2651ff636d4a82e71d2ed3e7babfab74feff4f380849e89b5b4bd",
    ("cleanup", "remove"): "4368f6b07437d3989fd2317bc26aa79c5a5e8eea8d640e63b5ae4149a4edde37",
    ("cleanup", "freeze"): "c1d8928a53d95549688c01c5eaa261453dfc166e3b1ec4f1f70f43f8c2bf7279",
}


@pytest.mark.parametrize(("game", "variant"), sorted(OPTIONS_GOLDEN))
def test_optional_rules_are_unchanged(game: str, variant: str) -> None:
    digest = pettingzoo_digest(game, 11, 200, obs_type="symbolic", **OPTIONS[variant])
    assert digest == OPTIONS_GOLDEN[(game, variant)]


VECTOR_GOLDEN = {
    ("harvest", "rgb"): "6cc39679c0be16fbba60f11ebf129d6892eb5231d6d9f78450503ff90949cce6",
    ("cleanup", "symbolic"): "7fddefc654b61b800bd28ee886a876b17716f2feb4892cc316ae276b8d9e041b",
}


@pytest.mark.parametrize(("game", "obs_type"), sorted(VECTOR_GOLDEN))
def test_batched_episodes_are_unchanged(game: str, obs_type: str) -> None:
    small = {"harvest": "small_harvest", "cleanup": "small_cleanup"}[game]
    digest = vector_digest(
        game,
        3,
        250,
        map=small,
        num_agents=4,
        max_cycles=100,
        obs_type=obs_type,
        num_symbols=4,
        hit_timeout=2,
    )
    assert digest == VECTOR_GOLDEN[(game, obs_type)]
