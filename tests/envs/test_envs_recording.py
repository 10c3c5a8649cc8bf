"""The PettingZoo recording wrapper: API conformance, recorded arrays against what the loop saw.

The oracle of every recorded array is the value the test itself passed to ``step`` or received
from it (actions, policy outputs, the env's reward dicts, observations flattened by gymnasium).
PettingZoo's built-in rock-paper-scissors (it needs pygame, a dev dependency) is the env we
did not write.
"""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo.test import parallel_api_test

from causal_influence import io
from causal_influence.errors import ConfigError, DTypeError, ShapeError
from causal_influence.trajectory import Trajectory
from envs import RecordTrajectories, harvest


@pytest.fixture
def rps():
    from pettingzoo.classic import rps_v2

    return rps_v2


def small_harvest(**kw):
    kw.setdefault("num_agents", 2)
    return harvest.parallel_env(map="small_harvest", obs_type="symbolic", view_radius=2, **kw)


def test_parallel_api_on_wrapped_builtin_env(rps) -> None:
    parallel_api_test(RecordTrajectories(rps.parallel_env(max_cycles=20)), num_cycles=50)


def test_parallel_api_on_wrapped_harvest_with_messages() -> None:
    env = RecordTrajectories(small_harvest(num_symbols=3, max_cycles=30), message_in_action=True)
    parallel_api_test(env, num_cycles=40)
    # the API test's random episodes were recorded too
    assert env.episodes
    assert all(ep.messages is not None for ep in env.episodes)


def test_builtin_env_records_what_the_loop_saw(rps, tmp_path) -> None:
    env = RecordTrajectories(rps.parallel_env(max_cycles=5), extra={"run": "test"})
    rng = np.random.default_rng(0)
    seen: dict[str, list] = {"actions": [], "rewards": [], "logits": []}
    for seed in (3, 4):
        env.reset(seed=seed)
        while env.agents:
            logits = rng.normal(size=(2, 3))
            actions = {a: int(rng.integers(3)) for a in env.agents}
            _, rewards, _, _, _ = env.step(actions, logits=logits)
            seen["actions"].append([actions[a] for a in env.possible_agents])
            seen["rewards"].append([rewards[a] for a in env.possible_agents])
            seen["logits"].append(logits)
    assert [len(ep) for ep in env.episodes] == [5, 5]
    traj = env.trajectory()
    np.testing.assert_array_equal(traj.actions, seen["actions"])
    np.testing.assert_array_equal(traj.rewards, seen["rewards"])
    np.testing.assert_array_equal(traj.logits, np.stack(seen["logits"]))
    assert np.abs(traj.rewards).sum() > 0  # the games were not all draws
    np.testing.assert_array_equal(traj.episode_ids, np.repeat([0, 1], 5))
    meta = traj.metadata
    assert meta.agent_ids == ("player_0", "player_1")
    assert (meta.env_name, meta.env_version, meta.num_actions) == ("rps", "v2", 3)
    assert meta.extra == {"run": "test"}
    assert [ep.metadata.seed for ep in env.episodes] == [3, 4]
    # one Parquet file, and one shard per episode, read back unchanged
    assert io.load(env.save(tmp_path / "all.parquet")) == traj
    shards = env.save(tmp_path / "shards")
    assert len(shards) == 2
    assert io.open_dataset(tmp_path / "shards").read_all() == traj


def test_harvest_messages_visibility_and_observations() -> None:
    env = RecordTrajectories(
        small_harvest(num_symbols=3, max_cycles=4), message_in_action=True, record_obs=True
    )
    obs, _ = env.reset(seed=7)
    rng = np.random.default_rng(1)
    space = env.observation_space("agent_0")
    expected_obs, expected_msgs, expected_vis, expected_rewards = [], [], [], []
    while env.agents:
        expected_obs.append([spaces.flatten(space, obs[a]) for a in env.possible_agents])
        vis = np.stack([obs[a]["visible"].astype(bool) for a in env.possible_agents])
        actions = {a: (int(rng.integers(8)), int(rng.integers(3))) for a in env.agents}
        mlog = {a: rng.normal(size=3) for a in env.agents}
        obs, rewards, _, _, _ = env.step(actions, message_logits=mlog, visible=vis)
        expected_msgs.append([actions[a][1] for a in env.possible_agents])
        expected_vis.append(vis)
        expected_rewards.append([rewards[a] for a in env.possible_agents])
    (traj,) = env.episodes
    assert isinstance(traj, Trajectory)
    assert traj.metadata.num_symbols == 3
    np.testing.assert_array_equal(traj.messages, expected_msgs)
    np.testing.assert_array_equal(traj.visible, np.stack(expected_vis))
    np.testing.assert_array_equal(traj.obs, np.asarray(expected_obs))
    np.testing.assert_array_equal(traj.rewards, expected_rewards)
    assert traj.message_logits.shape == (4, 2, 3)


def test_partial_episodes_fill_actions_and_pop() -> None:
    env = RecordTrajectories(small_harvest(max_cycles=10))
    env.reset(seed=0)
    with pytest.raises(ConfigError, match="fill_action"):
        env.step({"agent_0": 1})  # agent_1 does not act
    env = RecordTrajectories(small_harvest(max_cycles=10), fill_action=4)
    env.reset(seed=0)
    env.step({"agent_0": 1})
    env.step({"agent_0": 2, "agent_1": 3})
    env.reset(seed=1)  # the unfinished episode is kept
    env.step({"agent_0": 0, "agent_1": 0})
    env.close()
    episodes = env.pop_episodes()
    assert env.episodes == []
    assert [ep.actions.tolist() for ep in episodes] == [[[1, 4], [2, 3]], [[0, 0]]]
    assert [int(ep.episode_ids[0]) for ep in episodes] == [0, 1]


def test_inconsistent_or_invalid_steps_raise_before_the_env_steps() -> None:
    env = RecordTrajectories(small_harvest(max_cycles=10))
    env.reset(seed=0)
    env.step({"agent_0": 1, "agent_1": 1}, logits=np.zeros((2, 8)))
    with pytest.raises(ConfigError, match="same fields"):
        env.step({"agent_0": 1, "agent_1": 1})
    with pytest.raises(ShapeError, match="shape"):
        env.step({"agent_0": 1, "agent_1": 1}, logits=np.zeros((2, 7)))
    with pytest.raises(ShapeError, match=r"in \[0, 8\)"):
        env.step({"agent_0": 9, "agent_1": 1}, logits=np.zeros((2, 8)))
    with pytest.raises(ShapeError, match="one entry per recorded agent"):
        env.step({"agent_0": 1, "agent_1": 1}, logits=np.zeros((3, 8)))
    with pytest.raises(ConfigError, match="unknown agents"):
        env.step({"agent_0": 1, "agent_1": 1}, logits={"agent_9": np.zeros(8)})
    assert env.unwrapped._game.t[0] == 1  # nothing invalid reached the env
    with pytest.raises(DTypeError, match="ParallelEnv"):
        RecordTrajectories(harvest.env(map="small_harvest", num_agents=2))
    with pytest.raises(ConfigError, match="num_actions"):
        RecordTrajectories(small_harvest(num_symbols=3))  # MultiDiscrete without the flag
    with pytest.raises(ConfigError, match="no finished episode"):
        RecordTrajectories(small_harvest()).trajectory()
