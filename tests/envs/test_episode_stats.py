"""Episode statistics on arrays (no pandas) give the numbers of the pandas path, on recorded
episodes of both games and on synthetic batches with ragged lengths."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from causal_influence.errors import EstimatorWarning, ShapeError
from causal_influence.social import OUTCOMES, episode_outcomes, social_outcomes
from envs import harvest, make_vector
from envs.episode_stats import EpisodeBuffer, EpisodeRecorder, episode_statistics


def pandas_row(rewards: np.ndarray, timeouts: np.ndarray | None) -> dict[str, float]:
    """The social outcomes of one episode by the DataFrame path (the oracle)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EstimatorWarning)
        row = social_outcomes(rewards, timeouts=timeouts).iloc[0]
    return {name: float(row[name]) for name in OUTCOMES}


def same(a: float, b: float) -> bool:
    return (np.isnan(a) and np.isnan(b)) or a == b


@pytest.mark.parametrize("game", ["harvest", "cleanup"])
def test_recorded_episodes_match_pandas_path(game: str) -> None:
    """Random play with fines and timeouts (so equality is sometimes undefined); every
    finished episode's statistics equal the DataFrame computation on the recorded arrays."""
    b, n, length = 6, 3, 40
    venv = make_vector(
        game,
        b,
        seed=3,
        map=f"small_{game}",
        num_agents=n,
        max_cycles=length,
        hit_timeout=3,
        obs_type="symbolic",
    )
    venv.reset()
    rng = np.random.default_rng(0)
    rewards, timeouts = [], []
    finished = 0
    for _ in range(2 * length):
        _, _, _, truncated, info = venv.step(rng.integers(0, venv.config.num_actions, (b, n)))
        rewards.append(info["extrinsic"].astype(np.float64))
        timeouts.append(info["events"]["timeout"].astype(bool))
        if truncated.any():
            r = np.stack(rewards[-length:], axis=1)  # (B, T, N)
            tout = np.stack(timeouts[-length:], axis=1)
            for e, stats in enumerate(info["episode"]):
                expected = pandas_row(r[e], tout[e])
                for name in OUTCOMES:
                    assert same(stats[name], expected[name]), (name, stats[name], expected)
                assert stats["returns"] == r[e].sum(axis=0).tolist()
                assert stats["timeout"] == tout[e].sum(axis=0).tolist()
                finished += 1
    assert finished == 2 * b
    # Fines make some collective returns negative: the NaN branch was exercised too.
    assert any(r < 0 for r in np.concatenate(rewards).ravel())


def test_ragged_batch_matches_per_episode_tables() -> None:
    """Padded episodes of different lengths (stale values beyond each length) give the numbers
    of the long-table path with episode ids, up to float rounding of the sums."""
    rng = np.random.default_rng(1)
    e, t, n = 5, 30, 4
    r = rng.normal(size=(e, t, n))
    r[1] = -np.abs(r[1])  # a negative collective return: equality NaN
    r[2] = 0.0  # nobody rewarded: sustainability NaN
    tout = rng.random((e, t, n)) < 0.2
    lengths = np.array([30, 7, 12, 1, 22])
    with pytest.warns(EstimatorWarning):
        got = episode_outcomes(r, timeouts=tout, lengths=lengths, one_based_time=True)
    ids = np.concatenate([np.full(k, i) for i, k in enumerate(lengths)])
    flat_r = np.concatenate([r[i, :k] for i, k in enumerate(lengths)])
    flat_t = np.concatenate([tout[i, :k] for i, k in enumerate(lengths)])
    with pytest.warns(EstimatorWarning):
        frame = social_outcomes(flat_r, timeouts=flat_t, episode_ids=ids, one_based_time=True)
    for name in OUTCOMES:
        np.testing.assert_allclose(got[name], frame[name].to_numpy(), rtol=1e-12, atol=1e-12)
    assert np.isnan(got["equality"][1])
    assert np.isnan(got["sustainability"][2])
    assert got["length"].tolist() == lengths.tolist()
    np.testing.assert_allclose(got["returns"][:, 0], frame["return_0"].to_numpy(), rtol=1e-12)


def test_recorder_batch_equals_one_at_a_time() -> None:
    """finish_many over envs of different lengths gives what one-episode statistics give."""
    rng = np.random.default_rng(2)
    names = ("apples", "timeout")
    rec = EpisodeRecorder(3, 2, 10, event_names=names)
    steps = {0: [], 1: [], 2: []}
    for t in range(10):
        extrinsic = rng.integers(-1, 3, (3, 2)).astype(np.float32)
        events = rng.integers(0, 2, (3, 2, 2)).astype(np.int32)
        rec.add(extrinsic, events)
        for b in range(3):
            steps[b].append((extrinsic[b], events[b]))
        if t == 3:  # env 1 ends early and starts again (stale values stay in its buffer)
            stats = rec.finish_many([1])[0]
            first = steps[1]
            ref = episode_statistics(
                np.stack([s[0] for s in first]),
                {name: np.stack([s[1][k] for s in first]) for k, name in enumerate(names)},
            )
            assert stats.keys() == ref.keys()
            assert all(same(stats[k], ref[k]) if k in OUTCOMES else stats[k] == ref[k] for k in ref)
            steps[1] = []
    batch = rec.finish_many([2, 0, 1])
    for b, stats in zip([2, 0, 1], batch, strict=True):
        ref = episode_statistics(
            np.stack([s[0] for s in steps[b]]),
            {name: np.stack([s[1][k] for s in steps[b]]) for k, name in enumerate(names)},
        )
        assert stats.keys() == ref.keys()
        for key in ref:
            assert same(stats[key], ref[key]) if key in OUTCOMES else stats[key] == ref[key], key
    assert batch[2]["length"] == 6
    assert batch[0]["length"] == 10
    assert rec.lengths.tolist() == [0, 0, 0]


def test_episode_outcomes_errors() -> None:
    with pytest.raises(ShapeError, match=r"rewards: expected shape \(E, T, N\)"):
        episode_outcomes(np.zeros((3, 2)))
    with pytest.raises(ShapeError, match=r"lengths: expected integers in \[1, T=4\]"):
        episode_outcomes(np.ones((2, 4, 2)), lengths=[4, 5])
    with pytest.raises(ShapeError, match="timeouts: expected shape"):
        episode_outcomes(np.ones((2, 4, 2)), timeouts=np.zeros((2, 4, 1), bool))
    rec = EpisodeRecorder(2, 2, 5, event_names=("apples",))
    with pytest.raises(ShapeError, match="at least one recorded step"):
        rec.finish_many([0])
    with pytest.raises(ShapeError, match=r"rewards: expected shape \(T, N\)"):
        episode_statistics(np.zeros((0, 2)))


def test_zeroed_length_starts_afresh() -> None:
    """Setting a length to 0 (what VectorEnv.reset does) drops what was added before."""
    rec = EpisodeRecorder(2, 1, event_names=("apples",))
    rec.add(np.array([[5.0], [5.0]]), np.array([[[3]], [[3]]]))
    rec.lengths[:] = 0
    rec.add(np.array([[1.0], [0.0]]), np.array([[[1]], [[0]]]))
    a, b = rec.finish_many([0, 1])
    assert (a["returns"], a["apples"], a["length"]) == ([1.0], [1], 1)
    assert (b["returns"], b["apples"], b["length"]) == ([0.0], [0], 1)
    assert np.isnan(b["sustainability"])
    assert np.isnan(b["equality"])


def test_buffer_equals_running_sums_bit_for_bit() -> None:
    """The one-episode buffer of the PettingZoo wrapper gives exactly what the running sums
    give (same floats, same counts), across a growth of its rows and a second episode."""
    rng = np.random.default_rng(5)
    names = ("apples", "fires", "timeout")
    buf = EpisodeBuffer(3, names, capacity=4)
    for length in (11, 3):
        rec = EpisodeRecorder(1, 3, event_names=names)
        for _ in range(length):
            extrinsic = (rng.integers(-2, 3, 3) * rng.random(3)).astype(np.float32)
            events = rng.integers(0, 2, (3, 3)).astype(np.int32)
            buf.add(extrinsic, events)
            rec.add(extrinsic[None], events[None])
        got, ref = buf.finish(), rec.finish(0)
        assert got.keys() == ref.keys()
        for key in ref:
            assert same(got[key], ref[key]) if key in OUTCOMES else got[key] == ref[key], key
        assert got["length"] == length
        assert len(buf) == 0
    with pytest.raises(ShapeError, match="at least one recorded step"):
        buf.finish()


def test_pettingzoo_comm_actions_are_read_as_pairs() -> None:
    """With the channel on, tuples, lists and arrays are (action, symbol) pairs; anything
    else is a typed error naming the agent."""
    env = harvest.parallel_env(map="small_harvest", num_agents=2, num_symbols=3, max_cycles=5)
    env.reset(seed=0)
    obs, *_ = env.step({"agent_0": (4, 2), "agent_1": np.array([4, 1])})
    assert obs["agent_0"]["messages"].tolist() == [2, 1]
    obs, *_ = env.step({"agent_0": [4, np.int64(0)]})  # agent_1 missing: STAY, symbol 0
    assert obs["agent_1"]["messages"].tolist() == [0, 0]
    with pytest.raises(ShapeError, match=r"actions\['agent_1'\]: expected \(action, symbol\)"):
        env.step({"agent_0": (4, 0), "agent_1": 3})
