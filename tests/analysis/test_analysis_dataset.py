"""Streaming summaries: shards give the same tables as one trajectory; bad input is refused
with typed errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import causal_influence.io as ci_io
from analysis.dataset import DatasetSummary, iter_trajectories, summarize
from analysis.demo import speaker_listener
from analysis.stats import analyze
from causal_influence.errors import ConfigError, FileFormatError, ShapeError


def same_summary(a: DatasetSummary, b: DatasetSummary) -> None:
    for f in dataclasses.fields(DatasetSummary):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12, err_msg=f.name)
        elif isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y)
        elif f.name != "metadata":
            assert x == y, f.name


@pytest.mark.filterwarnings("ignore::causal_influence.errors.FewSamplesWarning")
def test_shards_give_the_same_summary_as_one_trajectory(tmp_path) -> None:
    traj = speaker_listener(episodes=9, length=80, rng=1)
    # The moments null (permutations drawn per episode from the seed and its content) is the
    # same however the episodes are split.
    options = {"moment_permutations": 20, "seed": 5}
    one = summarize(traj, **options)
    assert one.high_null is not None
    paths = ci_io.write_shards(traj, tmp_path / "pq", episodes_per_shard=2)
    assert len(paths) == 5
    same_summary(one, summarize(tmp_path / "pq", **options))
    ci_io.write_shards(traj, tmp_path / "npz", fmt="npz", episodes_per_shard=4)
    same_summary(one, summarize(tmp_path / "npz", **options))
    same_summary(one, summarize(list(traj.split_episodes(3)), **options))
    single = ci_io.save(traj, tmp_path / "t.parquet")
    same_summary(one, summarize(single, **options))
    assert one.alignment == "next_step"
    assert one.variable == "messages"
    assert one.num_actions == 4
    assert one.num_symbols == 4
    assert one.has_cic
    # The same tables give the same statistics.
    a = analyze(one, n_bootstrap=20, n_permutations=20, rng=5)
    b = analyze(tmp_path / "pq", n_bootstrap=20, n_permutations=20, rng=5)
    pd.testing.assert_frame_equal(a.coordination, b.coordination)
    pd.testing.assert_frame_equal(a.speaker_consistency, b.speaker_consistency)


def test_mappings_and_alphabet_sizes() -> None:
    rng = np.random.default_rng(0)
    data = {"actions": rng.integers(0, 2, size=(50, 2)), "messages": rng.integers(0, 3, (50, 2))}
    s = summarize(data, num_actions=5, num_symbols=3)
    assert s.ic_action.shape == (1, 2, 2, 5, 5)
    assert s.sc.shape == (1, 2, 3, 5)
    assert not s.has_influence
    assert s.social is None
    # A later trajectory with a larger label grows the tables.
    more = {"actions": np.full((10, 2), 3), "messages": np.zeros((10, 2), int)}
    grown = summarize([data, more])
    assert grown.num_actions == 4
    assert grown.num_episodes == 2
    # One ordered pair's table holds every lagged step of both episodes (49 + 9).
    assert grown.ic_action[:, 0, 1].sum() == 49 + 9
    assert grown.ic_action[:, 0, 1, 3, 3].sum() == 9
    assert [t["actions"].shape[0] for t in iter_trajectories([data, more])] == [50, 10]


def test_refuses_bad_input(tmp_path) -> None:
    acts = np.zeros((20, 2), dtype=int)
    with pytest.raises(ConfigError, match="alignment"):
        summarize({"actions": acts, "influence": np.zeros((20, 2, 2))})
    with pytest.raises(ConfigError):
        summarize({"actions": acts}, alignment="sometimes")
    with pytest.raises(ShapeError):
        summarize([{"actions": acts}, {"actions": np.zeros((5, 3), int)}])
    with pytest.raises(ShapeError):
        summarize({"actions": np.zeros(20, int)})
    with pytest.raises(ShapeError):
        summarize({"actions": acts, "episode_ids": np.zeros(3, dtype=int)})
    with pytest.raises(ShapeError):
        summarize({"actions": acts - 1})
    with pytest.raises(ConfigError, match="num_actions: expected a positive integer"):
        summarize({"actions": acts}, num_actions=0)
    with pytest.raises(ShapeError):
        summarize({"actions": acts + 1}, num_actions=1)
    with pytest.raises(FileFormatError):
        summarize([])
    with pytest.raises(FileNotFoundError):
        summarize(tmp_path / "absent")
    with pytest.raises(ConfigError):
        summarize(42)
    with pytest.raises(ConfigError, match="messages"):
        summarize(
            {
                "actions": acts,
                "influence": np.zeros((20, 2, 2)),
                "metadata": {"influence_spec": {"alignment": "same_step", "variable": "messages"}},
            }
        )
    with pytest.raises(ShapeError, match="influence: expected finite values"):
        summarize(
            {"actions": acts, "influence": np.full((20, 2, 2), np.nan)}, alignment="same_step"
        )
