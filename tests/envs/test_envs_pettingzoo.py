"""PettingZoo conformance, determinism, message channel, stats and GIF of both envs."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.test import (
    api_test,
    max_cycles_test,
    parallel_api_test,
    parallel_seed_test,
    render_test,
)
from PIL import Image

from envs import cleanup, harvest
from envs.render import record_episode, save_gif

SMALL = {"harvest": "small_harvest", "cleanup": "small_cleanup"}
MODULES = {"harvest": harvest, "cleanup": cleanup}


def make(game: str, **kw):
    kw.setdefault("map", SMALL[game])
    kw.setdefault("num_agents", 3)
    return MODULES[game].parallel_env(**kw)


@pytest.fixture(autouse=True)
def _agg_backend():
    import matplotlib

    matplotlib.use("Agg")


@pytest.mark.parametrize("game", ["harvest", "cleanup"])
@pytest.mark.parametrize("symbols", [0, 4])
def test_parallel_api_and_seed(game: str, symbols: int) -> None:
    parallel_api_test(make(game, num_symbols=symbols, max_cycles=60), num_cycles=100)
    parallel_seed_test(lambda: make(game, num_symbols=symbols, max_cycles=60), num_cycles=100)


@pytest.mark.parametrize("game", ["harvest", "cleanup"])
def test_parallel_api_on_reference_maps(game: str) -> None:
    parallel_api_test(MODULES[game].parallel_env(max_cycles=50), num_cycles=60)


@pytest.mark.parametrize("game", ["harvest", "cleanup"])
@pytest.mark.parametrize("symbols", [0, 3])
def test_aec_api_render_and_max_cycles(game: str, symbols: int) -> None:
    mod = MODULES[game]
    api_test(
        mod.env(map=SMALL[game], num_agents=3, num_symbols=symbols, max_cycles=40), num_cycles=50
    )
    render_test(
        lambda render_mode=None: mod.env(
            map=SMALL[game], num_agents=3, num_symbols=symbols, render_mode=render_mode
        )
    )
    max_cycles_test(mod)


def rollout(env, seed: int, steps: int, actions_seed: int):
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(actions_seed)
    trace = [obs]
    while env.agents and len(trace) <= steps:
        actions = {a: int(rng.integers(env.action_space(a).n)) for a in env.agents}
        trace.append(env.step(actions))
    return trace


def assert_equal_traces(a, b) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if isinstance(x, tuple):
            for part_x, part_y in zip(x, y, strict=True):
                assert_equal_nested(part_x, part_y)
        else:
            assert_equal_nested(x, y)


def assert_equal_nested(x, y) -> None:
    if isinstance(x, dict):
        assert x.keys() == y.keys()
        for k in x:
            assert_equal_nested(x[k], y[k])
    elif isinstance(x, np.ndarray):
        np.testing.assert_array_equal(x, y)
    else:
        np.testing.assert_equal(x, y)  # NaN-aware (equality can be undefined)


@pytest.mark.parametrize("game", ["harvest", "cleanup"])
def test_full_episode_determinism(game: str) -> None:
    first = rollout(MODULES[game].parallel_env(), 7, 1000, 3)
    second = rollout(MODULES[game].parallel_env(), 7, 1000, 3)
    assert len(first) == 1001  # reset + 1000 steps, then truncation
    assert_equal_traces(first, second)
    other = rollout(MODULES[game].parallel_env(), 8, 1000, 3)
    assert any(
        not np.array_equal(o1["agent_0"]["view"], o2["agent_0"]["view"])
        for o1, o2 in zip(
            [first[0]] + [s[0] for s in first[1:]],
            [other[0]] + [s[0] for s in other[1:]],
            strict=True,
        )
    )
    last_info = first[-1][4]["agent_0"]
    assert "episode" in last_info
    assert last_info["episode"]["length"] == 1000


def test_messages_of_step_t_appear_in_observations_of_step_t() -> None:
    env = make("cleanup", num_symbols=5)
    obs, _ = env.reset(seed=0)
    assert obs["agent_1"]["messages"].tolist() == [5, 5, 5]  # fill value: no message yet
    actions = {
        "agent_0": np.array([4, 3]),
        "agent_1": np.array([4, 0]),
        "agent_2": np.array([4, 4]),
    }
    obs, *_ = env.step(actions)
    for agent in env.possible_agents:
        assert obs[agent]["messages"].tolist() == [3, 0, 4]
        assert obs[agent]["actions"].tolist() == [4, 4, 4]
        assert env.observation_space(agent).contains(obs[agent])


def test_stats_in_info_match_hand_computation() -> None:
    env = make("harvest", num_agents=2, max_cycles=30)
    env.reset(seed=3)
    game = env._game
    game.set_agent(0, 0, (2, 4), 1)  # facing RIGHT onto the apple patch
    game.set_agent(0, 1, (4, 2), 0)
    rewards = []
    for step in range(30):
        act0 = 2 if step < 4 else 4  # walk forward over apples, then stay
        act1 = 7 if step == 0 else 4  # fire once
        _, r, _, _trunc, info = env.step({"agent_0": act0, "agent_1": act1})
        rewards.append([r["agent_0"], r["agent_1"]])
    stats = info["agent_0"]["episode"]
    rewards = np.array(rewards)
    assert stats["returns"] == rewards.sum(0).tolist()
    assert stats["fires"] == [0, 1]
    assert stats["collective_return"] == rewards.sum()
    assert stats["utilitarian"] == pytest.approx(rewards.sum() / 30)
    assert stats["apples"][0] >= 3


def test_gif_of_an_episode(tmp_path) -> None:
    env = make("cleanup", render_mode="rgb_array", max_cycles=12)
    frames = record_episode(env, seed=1)
    assert len(frames) == 13
    path = save_gif(frames, tmp_path / "episode.gif", scale=3)
    with Image.open(path) as im:
        # Pillow merges identical consecutive frames and adds up their durations.
        assert 1 < im.n_frames <= 13
        assert im.size == (frames[0].shape[1] * 3, frames[0].shape[0] * 3)
        total = 0
        for k in range(im.n_frames):
            im.seek(k)
            total += im.info["duration"]
        assert total == 13 * 100
    assert not list(tmp_path.glob("*.tmp*"))
