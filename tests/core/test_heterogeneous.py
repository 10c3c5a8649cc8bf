"""Heterogeneous agents in the trajectory schema: per-agent action and symbol counts,
observation shapes, agents that do not speak, agent ids in the user's order; round trips
through every file format."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import causal_influence.io as ci_io
from causal_influence.errors import ConfigError, InvalidDistributionError, ShapeError
from causal_influence.trajectory import InfluenceSpec, Trajectory, TrajectoryMeta, concat

S, L = "speaker", "listener"  # a speaker: 3 symbols, 5 actions; a listener: 8 actions, mute


def hetero(t_len: int = 6, seed: int = 0) -> Trajectory:
    rng = np.random.default_rng(seed)
    ends = np.zeros(t_len, dtype=bool)
    ends[t_len // 2 - 1] = ends[-1] = True
    # the listener's policy at t + 1 under each symbol of the speaker at t (stored next-step
    # layout: absent, -inf, after each episode's last step)
    listener = rng.normal(size=(t_len, 3, 8))
    listener[ends] = -np.inf
    data: dict[str, Any] = {
        "actions": {S: rng.integers(0, 5, t_len), L: rng.integers(0, 8, t_len)},
        "rewards": {S: rng.random(t_len), L: rng.random(t_len)},
        "messages": {S: rng.integers(0, 3, t_len)},
        "logits": {S: rng.normal(size=(t_len, 5)), L: rng.normal(size=(t_len, 8))},
        "message_logits": {S: rng.normal(size=(t_len, 3))},
        "obs": {S: rng.random((t_len, 3)), L: rng.random((t_len, 11))},
        "context": {S: rng.integers(0, 3, t_len)},
        "counterfactual_logits": {S: {L: listener}},
        "dones": ends,
    }
    return Trajectory.from_arrays(
        data,
        num_symbols=3,
        num_contexts=3,
        influence_spec=InfluenceSpec(alignment="next_step", variable="messages"),
        env_name="toy",
    )


def test_per_agent_arrays_are_padded_and_described_in_the_metadata() -> None:
    traj = hetero()
    meta = traj.metadata
    assert meta.agent_ids == (S, L)  # the user's order
    assert (meta.num_actions, meta.agent_num_actions, meta.action_counts) == (8, (5, 8), (5, 8))
    assert (meta.num_symbols, meta.agent_num_symbols, meta.speakers) == (3, (3, 0), (True, False))
    assert meta.obs_shapes == ((3,), (11,))
    np.testing.assert_array_equal(meta.action_mask()[0], [1, 1, 1, 1, 1, 0, 0, 0])
    assert traj.logits.shape == (6, 2, 8)
    assert np.isneginf(traj.logits[:, 0, 5:]).all()
    assert (traj.messages[:, 1] == -1).all()
    assert (traj.context[:, 1] == -1).all()
    assert np.isneginf(traj.message_logits[:, 1]).all()
    assert traj.obs.shape == (6, 2, 11)
    assert (traj.obs[:, 0, 3:] == 0).all()
    assert traj.agent_obs(L).shape == (6, 11)
    cf = traj.counterfactual_logits
    assert cf.shape == (6, 2, 2, 3, 8)
    assert np.isneginf(cf[:, 1]).all()  # the listener has no message values
    assert np.isneginf(cf[:, 0, 0, :, 5:]).all()  # the speaker has 5 actions
    np.testing.assert_array_equal(cf[:, 0, 0, :, :5], 0.0)  # it does not read itself
    assert np.isneginf(cf[[2, 5], 0, 1]).all()  # no step after an episode's last one


@pytest.mark.parametrize("suffix", [".parquet", ".npz"])
def test_heterogeneous_round_trip_through_every_format(tmp_path: Path, suffix: str) -> None:
    traj = hetero()
    assert ci_io.load(ci_io.save(traj, tmp_path / f"t{suffix}")) == traj
    fmt = suffix.lstrip(".")
    ci_io.write_shards(traj, tmp_path / "shards", fmt=fmt, episodes_per_shard=1)
    assert ci_io.open_dataset(tmp_path / "shards").read_all() == traj
    assert ci_io.read_metadata(tmp_path / f"t{suffix}") == traj.metadata


@pytest.mark.parametrize("vectors", ["wide", "lists"])
def test_heterogeneous_round_trip_through_dataframes_and_pickle(vectors: str) -> None:
    traj = hetero()
    assert Trajectory.from_dataframe(traj.to_dataframe(vectors=vectors)) == traj
    assert pickle.loads(pickle.dumps(traj)) == traj
    assert concat([traj, traj], renumber=True).metadata == traj.metadata


def test_stacked_arrays_with_counts_need_no_hand_padding() -> None:
    logits = np.zeros((2, 2, 4))  # whatever sits in the padded entries is replaced by -inf
    traj = Trajectory([[0, 3], [2, 1]], np.zeros((2, 2)), logits=logits, agent_num_actions=(3, 4))
    assert traj.metadata.num_actions == 4
    assert np.isneginf(traj.logits[:, 0, 3]).all()
    assert (logits == 0).all()  # the caller's array is left alone
    with pytest.raises(ShapeError, match=r"actions: expected values in \[0, 3\) for agent 0"):
        Trajectory([[3, 0]], [[0.0, 0.0]], agent_num_actions=(3, 4))
    bad = np.zeros((1, 2, 4))
    bad[0, 0, :3] = -np.inf  # agent 0's own three actions all impossible
    with pytest.raises(InvalidDistributionError, match=r"logits: every entry is -inf"):
        Trajectory([[0, 0]], [[0.0, 0.0]], logits=bad, agent_num_actions=(3, 4))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"agent_num_actions": (3, 4), "num_actions": 5},
            ConfigError,
            r"agent_num_actions: num_actions=5 is the width of the padded arrays, the largest "
            r"agent's count; got \[3, 4\]",
        ),
        (
            {"agent_num_actions": (3,), "num_actions": 3},
            ShapeError,
            r"agent_num_actions: expected one entry per agent \(N=2",
        ),
        (
            {"agent_num_actions": (0, 3), "num_actions": 3},
            ConfigError,
            r"agent_num_actions: expected an integer >= 1; got 0",
        ),
        (
            {"obs_shapes": [(3,)], "num_actions": 3},
            ShapeError,
            r"obs_shapes: expected one shape per agent \(N=2\)",
        ),
    ],
)
def test_metadata_counts_are_validated(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        TrajectoryMeta(agent_ids=("a", "b"), **kwargs)


def test_obs_must_fit_the_declared_shapes() -> None:
    with pytest.raises(
        ShapeError, match=r"obs: with per-agent obs_shapes \[\[3\], \[5\]\] expected"
    ):
        Trajectory(
            [[0, 0]], [[0.0, 0.0]], obs=np.zeros((1, 2, 4)), obs_shapes=((3,), (5,)), num_actions=1
        )


def test_from_arrays_hints_fit_the_case() -> None:
    # different observation widths are accepted (heterogeneous agents) ...
    traj = Trajectory.from_arrays(
        {
            "actions": {"a": [0, 1], "b": [1, 0]},
            "rewards": {"a": [0, 0], "b": [0, 0]},
            "obs": {"a": np.zeros((2, 3)), "b": np.zeros((2, 11))},
        },
        num_actions=2,
    )
    assert traj.metadata.obs_shapes == ((3,), (11,))
    # ... a different number of steps is what "the same number of steps" is about
    with pytest.raises(
        ShapeError, match=r"obs: per-agent arrays differ in length .*same number of steps"
    ):
        Trajectory.from_arrays(
            {
                "actions": {"a": [0, 1], "b": [1, 0]},
                "rewards": {"a": [0, 0], "b": [0, 0]},
                "obs": {"a": np.zeros((2, 3)), "b": np.zeros((3, 3))},
            },
            num_actions=2,
        )
    with pytest.raises(ShapeError, match=r"visible\['b'\]: expected shape \(T, N\) with N = 2"):
        Trajectory.from_arrays(
            {
                "actions": {"a": [0], "b": [1]},
                "rewards": {"a": [0], "b": [0]},
                "visible": {"a": [[True, True]], "b": [[True]]},
            },
            num_actions=2,
        )
    with pytest.raises(ConfigError, match=r"num_symbols: messages were given for \['a'\] only"):
        Trajectory.from_arrays(
            {
                "actions": {"a": [0], "b": [1]},
                "rewards": {"a": [0], "b": [0]},
                "messages": {"a": [1]},
            },
            num_actions=2,
        )


def test_gymnasium_terminated_and_truncated_end_episodes() -> None:
    traj = Trajectory.from_arrays(
        {
            "actions": np.zeros((5, 2), int),
            "rewards": np.zeros((5, 2)),
            "terminated": {"a": [0, 1, 0, 0, 0], "b": [0, 1, 0, 0, 0]},
            "truncated": {"a": [0, 0, 0, 1, 0], "b": [0, 0, 0, 1, 0]},
        },
        agent_ids=("a", "b"),
        num_actions=1,
    )
    np.testing.assert_array_equal(traj.episode_ids, [0, 0, 1, 1, 2])
    with pytest.raises(ConfigError, match=r"give dones or terminated/truncated, not both"):
        Trajectory.from_arrays(
            {
                "actions": np.zeros((2, 1), int),
                "rewards": np.zeros((2, 1)),
                "dones": [0, 1],
                "terminated": [0, 1],
            },
            num_actions=1,
        )


def test_string_agent_ids_keep_the_users_order() -> None:
    data = {
        "actions": {"zed": [0], "alpha": [1], "agent_10": [0], "agent_2": [1]},
        "rewards": {"zed": [0], "alpha": [0], "agent_10": [0], "agent_2": [0]},
    }
    ids = Trajectory.from_arrays(data, num_actions=2).metadata.agent_ids
    assert ids == ("zed", "alpha", "agent_10", "agent_2")
    df = pd.DataFrame(
        {"t": 0, "agent": ["zed", "alpha", "agent_10", "agent_2"], "action": 0, "reward": 0.0}
    )
    assert Trajectory.from_dataframe(df, num_actions=1).metadata.agent_ids == ids
