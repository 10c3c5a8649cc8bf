"""Trajectory files: round trips, shard datasets, malformed files, atomic writes, streaming.

Malformed files are made by editing valid ones with pyarrow / numpy directly (never through
the code under test), and every error message is checked for the file, column and row.
"""

from __future__ import annotations

import gc
import io
import json
import os
import re
import tempfile
import tracemalloc
import weakref
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import causal_influence.io as ci_io
from causal_influence.errors import ConfigError, FileFormatError
from causal_influence.trajectory import OPTIONAL_FIELDS, Trajectory, TrajectoryMeta

FORMATS = [".parquet", ".npz"]


def make(
    *,
    num_steps: int = 7,
    num_agents: int = 3,
    num_actions: int = 4,
    episode_ids: list[int] | None = None,
    fields: tuple[str, ...] = OPTIONAL_FIELDS,
    seed: int = 0,
    obs_shape: tuple[int, ...] = (3, 3, 2),
) -> Trajectory:
    rng = np.random.default_rng(seed)
    t_, n, a, m = num_steps, num_agents, num_actions, 2
    arrays: dict[str, Any] = {
        "messages": rng.integers(0, m, (t_, n)),
        "context": rng.integers(-1, 3, (t_, n)),
        "logits": rng.normal(size=(t_, n, a)).astype(np.float32),
        "message_logits": rng.normal(size=(t_, n, m)),
        "visible": rng.random((t_, n, n)) < 0.5,
        "influence": rng.random((t_, n, n)),
        "counterfactual_logits": rng.normal(size=(t_, n, n, 3, a)).astype(np.float32),
        "obs": rng.integers(0, 255, (t_, n, *obs_shape), dtype=np.uint8),
    }
    if episode_ids is None:
        episode_ids = ([5, 5, 5, 2, 2, 9, 9] * (t_ // 7 + 1))[:t_] if t_ <= 7 else [0] * t_
    return Trajectory(
        actions=rng.integers(0, a, (t_, n)),
        rewards=rng.normal(size=(t_, n)).astype(np.float32),
        episode_ids=episode_ids,
        **{f: arrays[f] for f in fields},
        num_actions=a,
        num_symbols=m,
        num_contexts=3,
        action_names=[f"act{i}" for i in range(a)],
        env_name="harvest",
        env_version="v0",
        seed=seed,
        extra={"map": "small", "alignment": "next_step", "nested": {"a": [1, 2]}},
    )


def assert_same(a: Trajectory, b: Trajectory) -> None:
    assert a.metadata == b.metadata
    assert a.fields == b.fields
    for name, arr in a.to_dict().items():
        other = b.to_dict()[name]
        assert arr.dtype == other.dtype, name
        np.testing.assert_array_equal(arr, other, err_msg=name)
    assert a == b


# ---------------------------------------------------------------------------------------------
# round trips


@pytest.mark.parametrize("suffix", FORMATS)
@pytest.mark.parametrize(
    "fields", [(), *[(f,) for f in OPTIONAL_FIELDS], OPTIONAL_FIELDS], ids=lambda f: "+".join(f)
)
def test_round_trip(tmp_path: Path, suffix: str, fields: tuple[str, ...]) -> None:
    traj = make(fields=fields)
    path = ci_io.save(traj, tmp_path / f"traj{suffix}")
    assert path == tmp_path / f"traj{suffix}"
    assert_same(ci_io.load(path), traj)
    assert ci_io.read_metadata(path) == traj.metadata


@pytest.mark.parametrize("suffix", FORMATS)
def test_round_trip_edge_shapes(tmp_path: Path, suffix: str) -> None:
    empty = make(num_steps=0, episode_ids=[])
    assert_same(ci_io.load(ci_io.save(empty, tmp_path / f"empty{suffix}")), empty)
    flat_obs = make(obs_shape=(), fields=("obs",))
    assert flat_obs.obs is not None
    assert flat_obs.obs.shape == (7, 3)
    assert_same(ci_io.load(ci_io.save(flat_obs, tmp_path / f"flat{suffix}")), flat_obs)
    one = make(num_agents=1, num_actions=1, num_steps=3, episode_ids=[0, 0, 0])
    assert_same(ci_io.load(ci_io.save(one, tmp_path / f"one{suffix}")), one)
    mid = Trajectory([[0], [1]], [[0.0], [1.0]], t=[40, 41], episode_ids=[3, 3], num_actions=2)
    assert_same(ci_io.load(ci_io.save(mid, tmp_path / f"mid{suffix}")), mid)


def test_parquet_is_a_readable_long_table(tmp_path: Path) -> None:
    traj = make()
    path = ci_io.save_parquet(traj, tmp_path / "t.parquet")
    table = pq.read_table(path)
    assert table.num_rows == traj.num_steps * traj.num_agents
    assert table.column_names[:5] == ["episode", "t", "agent", "action", "reward"]
    assert pa.types.is_fixed_size_list(table.schema.field("logits").type)
    assert table.schema.field("logits").type.list_size == 4
    assert table.schema.field("counterfactual_logits").type.list_size == 3 * 3 * 4
    df = table.to_pandas()
    assert traj.influence is not None
    np.testing.assert_array_equal(np.stack(df["influence"]), traj.influence.reshape(21, 3))
    side = json.loads(ci_io.sidecar_path(path).read_text())
    assert side["format"] == ci_io.FORMAT_NAME
    assert side["schema_version"] == ci_io.SCHEMA_VERSION
    assert side["fields"]["counterfactual_logits"]["shape"] == [3, 3, 4]
    assert side["fields"]["obs"] == {"dtype": "uint8", "shape": [3, 3, 2], "column": "obs"}
    assert side["metadata"]["agent_ids"] == ["agent_0", "agent_1", "agent_2"]
    assert side["num_steps"] == 7
    assert side["num_episodes"] == 3


def test_npz_loads_without_pickle(tmp_path: Path) -> None:
    traj = make()
    path = ci_io.save_npz(traj, tmp_path / "t.npz")
    with np.load(path, allow_pickle=False) as npz:
        assert set(npz.files) == {
            "actions",
            "rewards",
            "episode_ids",
            "t",
            *OPTIONAL_FIELDS,
            "__meta__",
        }
        header = json.loads(str(npz["__meta__"]))
    assert header["metadata"] == traj.metadata.to_dict()
    raw = ci_io.save_npz(traj, tmp_path / "raw.npz", compress=False)
    assert_same(ci_io.load_npz(raw), traj)


@pytest.mark.parametrize("suffix", FORMATS)
def test_column_selection(tmp_path: Path, suffix: str, monkeypatch) -> None:
    traj = make()
    path = ci_io.save(traj, tmp_path / f"t{suffix}")
    if suffix == ".parquet":
        requested: list[str] = []
        original_read = pq.ParquetFile.read
        original_batches = pq.ParquetFile.iter_batches

        def spy(self, columns=None, **kw):
            requested.extend(columns)
            return original_read(self, columns=columns, **kw)

        def spy_batches(self, *args, columns=None, **kw):
            requested.extend(columns)
            return original_batches(self, *args, columns=columns, **kw)

        monkeypatch.setattr(pq.ParquetFile, "read", spy)
        monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy_batches)
    part = ci_io.load(path, columns=["logits", "influence"])
    assert part.fields == ("logits", "influence")
    assert_same(
        part, traj.replace(**{f: None for f in traj.fields if f not in ("logits", "influence")})
    )
    if suffix == ".parquet":
        assert "obs" not in requested
        assert "logits" in requested
    with pytest.raises(ConfigError, match="unknown fields"):
        ci_io.load(path, columns=["actions_x"])
    small = ci_io.save(traj.replace(obs=None), tmp_path / f"small{suffix}")
    with pytest.raises(ConfigError, match=r"has no \['obs'\]"):
        ci_io.load(small, columns=["obs"])


def test_dispatch_errors(tmp_path: Path) -> None:
    traj = make(fields=())
    with pytest.raises(ConfigError, match="unknown trajectory format"):
        ci_io.save(traj, tmp_path / "t.h5")
    with pytest.raises(ConfigError, match=r"\.parquet"):
        ci_io.save_parquet(traj, tmp_path / "t.pq")
    with pytest.raises(ConfigError, match=r"\.npz"):
        ci_io.save_npz(traj, tmp_path / "t")
    with pytest.raises(FileNotFoundError):
        ci_io.load(tmp_path / "missing.parquet")
    with pytest.raises(FileNotFoundError):
        ci_io.load(tmp_path / "missing.npz")
    with pytest.raises(TypeError):
        ci_io.save({"actions": 1}, tmp_path / "t.npz")  # type: ignore[arg-type]


@settings(max_examples=15, deadline=None)
@given(
    num_steps=st.integers(0, 6),
    num_agents=st.integers(1, 3),
    num_actions=st.integers(1, 4),
    fields=st.sets(st.sampled_from(OPTIONAL_FIELDS)),
    seed=st.integers(0, 1000),
)
def test_round_trip_property(num_steps, num_agents, num_actions, fields, seed) -> None:
    rng = np.random.default_rng(seed)
    lengths = (
        np.diff(
            np.r_[
                0,
                np.sort(
                    rng.choice(
                        np.arange(1, num_steps), size=min(2, max(num_steps - 1, 0)), replace=False
                    )
                ),
                num_steps,
            ]
        )
        if num_steps > 1
        else [num_steps]
    )
    ids = np.repeat(rng.permutation(50)[: len(lengths)], lengths)
    traj = make(
        num_steps=num_steps,
        num_agents=num_agents,
        num_actions=num_actions,
        episode_ids=ids.tolist(),
        fields=tuple(sorted(fields)),
        seed=seed,
    )
    with tempfile.TemporaryDirectory() as folder:
        for suffix in FORMATS:
            assert_same(ci_io.load(ci_io.save(traj, Path(folder) / f"t{suffix}")), traj)


# ---------------------------------------------------------------------------------------------
# shard directories


@pytest.mark.parametrize("fmt", ["parquet", "npz"])
def test_shard_directory_round_trip(tmp_path: Path, fmt: str) -> None:
    traj = make(num_steps=7)
    paths = ci_io.write_shards(traj, tmp_path / "ds", fmt=fmt, episodes_per_shard=1)
    assert [p.name for p in paths] == [f"shard_0000{i}.{fmt}" for i in range(3)]
    ds = ci_io.open_dataset(tmp_path / "ds")
    assert ds.num_shards == len(ds) == 3
    assert ds.metadata == traj.metadata
    assert ds.num_steps == 7
    assert [s.episode_index.tolist() for s in ds] == [[5], [2], [9]]
    assert_same(ds.read_all(), traj)
    assert_same(ds.read_shard(1), traj.select_episodes(2))
    only = ds.read_all(columns=["logits"])
    assert only.fields == ("logits",)


def test_episodes_split_across_shards_rejoin(tmp_path: Path) -> None:
    traj = make(num_steps=7, episode_ids=[0] * 7)
    parts = [traj.select_episodes(0).replace()]  # validated copy
    halves: list[dict[str, Any]] = [
        {k: v[:4] for k, v in traj.to_dict().items()},
        {k: v[4:] for k, v in traj.to_dict().items()},
    ]
    first, second = (Trajectory(**h, metadata=traj.metadata) for h in halves)
    assert parts[0] == traj
    ci_io.write_shards([first, second], tmp_path)
    assert_same(ci_io.open_dataset(tmp_path).read_all(), traj)


def test_independent_episode_files_need_renumber(tmp_path: Path) -> None:
    a = make(num_steps=3, episode_ids=[0, 0, 0], seed=1)
    b = make(num_steps=3, episode_ids=[0, 0, 0], seed=2)
    ci_io.write_shards([a, b], tmp_path, fmt="npz")
    ds = ci_io.open_dataset(tmp_path)
    with pytest.raises(ValueError, match="renumber=True"):
        ds.read_all()
    both = ds.read_all(renumber=True)
    assert both.episode_index.tolist() == [0, 1]
    assert both.metadata.seed is None  # the shards' seeds differ


def test_open_dataset_sources(tmp_path: Path) -> None:
    trajs = [make(num_steps=2, episode_ids=[i, i], seed=i, fields=()) for i in range(12)]
    for i, traj in enumerate(trajs):
        suffix = ".npz" if i % 2 else ".parquet"
        ci_io.save(traj, tmp_path / f"part_{i}{suffix}")  # unpadded: natural order matters
    (tmp_path / "notes.txt").write_text("not a shard")
    (tmp_path / ".part_99.parquet.abc.tmp").write_text("left by a crash")
    ds = ci_io.open_dataset(tmp_path)
    assert [p.name for p in ds.paths][:3] == ["part_0.parquet", "part_1.npz", "part_2.parquet"]
    assert ds.read_all().episode_index.tolist() == list(range(12))
    assert ci_io.open_dataset(str(tmp_path / "part_1*")).num_shards == 3  # 1, 10, 11
    assert ci_io.open_dataset([tmp_path / "part_3.npz"]).num_shards == 1
    assert ci_io.open_dataset(tmp_path / "part_3.npz").num_shards == 1
    with pytest.raises(FileNotFoundError):
        ci_io.open_dataset(tmp_path / "nothing_here")
    with pytest.raises(FileNotFoundError):
        ci_io.open_dataset(str(tmp_path / "zzz*"))


def test_shards_must_agree(tmp_path: Path) -> None:
    ci_io.save(make(fields=()), tmp_path / "a.parquet")
    other = Trajectory(np.zeros((2, 2), int), np.zeros((2, 2)), num_actions=4)
    ci_io.save(other, tmp_path / "b.npz")
    ds = ci_io.open_dataset(tmp_path)
    with pytest.raises(FileFormatError, match=r"b\.npz: disagrees with .*a\.parquet on agent_ids"):
        ds.metadata
    with pytest.raises(FileFormatError, match=r"b\.npz: disagrees"):
        list(ds.iter_shards())


def test_write_shards_refuses_to_clobber(tmp_path: Path) -> None:
    traj = make(num_steps=7)
    ci_io.write_shards(traj, tmp_path, episodes_per_shard=1)
    with pytest.raises(FileExistsError):
        ci_io.write_shards(traj, tmp_path)
    ci_io.write_shards(traj, tmp_path, overwrite=True)  # one shard now; stale ones removed
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "MANIFEST.json",
        "shard_00000.json",
        "shard_00000.parquet",
    ]
    assert_same(ci_io.open_dataset(tmp_path).read_all(), traj)
    with pytest.raises(ConfigError):
        ci_io.write_shards(traj, tmp_path, fmt="csv")
    with pytest.raises(ConfigError):
        ci_io.write_shards(traj, tmp_path, prefix="../x")


# ---------------------------------------------------------------------------------------------
# streaming: one shard at a time


def _shards(folder: Path, count: int, fmt: str) -> ci_io.TrajectoryDataset:
    def gen():
        for i in range(count):
            yield make(
                num_steps=60,
                episode_ids=[i] * 60,
                fields=("obs", "logits"),
                seed=i,
                obs_shape=(16, 16, 3),
            )

    ci_io.write_shards(gen(), folder, fmt=fmt)
    return ci_io.open_dataset(folder)


@pytest.mark.parametrize("fmt", ["parquet", "npz"])
def test_iteration_holds_one_shard_at_a_time(tmp_path: Path, fmt: str, monkeypatch) -> None:
    ds = _shards(tmp_path, 5, fmt)
    alive: list[weakref.ref] = []
    alive_at_load: list[int] = []
    original = ci_io.load

    def counting_load(path, **kw):
        gc.collect()
        alive_at_load.append(sum(r() is not None for r in alive))
        traj = original(path, **kw)
        alive.append(weakref.ref(traj))
        return traj

    monkeypatch.setattr(ci_io, "load", counting_load)
    seen = 0
    for shard in ds.iter_shards(columns=["obs"]):
        seen += len(shard)
        del shard  # the consumer lets go; the dataset must hold nothing
    assert seen == 300
    assert alive_at_load == [0] * 5


@pytest.mark.parametrize("fmt", ["parquet", "npz"])
def test_streaming_peak_memory_does_not_grow_with_shards(tmp_path: Path, fmt: str) -> None:
    """tracemalloc sees numpy's allocations (Arrow's own pool is not traced)."""

    def peak(ds: ci_io.TrajectoryDataset) -> int:
        gc.collect()
        tracemalloc.start()
        try:
            for shard in ds:
                assert shard.obs is not None
                del shard
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    few, many = _shards(tmp_path / "few", 2, fmt), _shards(tmp_path / "many", 12, fmt)
    one_shard = sum(a.nbytes for a in many.read_shard(0).to_dict().values())
    peak_few, peak_many = peak(few), peak(many)
    assert peak_many < 1.3 * peak_few + 0.25 * one_shard  # flat in the number of shards
    assert peak_many < 0.5 * 12 * one_shard  # far below holding every shard


# ---------------------------------------------------------------------------------------------
# malformed Parquet files: FileFormatError naming file, column and row


def _saved(tmp_path: Path, **kw) -> tuple[Trajectory, Path]:
    traj = make(fields=("logits", "messages", "obs"), **kw)
    return traj, ci_io.save_parquet(traj, tmp_path / "bad.parquet")


def _rewrite(path: Path, edit) -> None:
    """Edit the table with pyarrow and write it back, keeping the schema metadata (write id),
    as another tool would: without the data checksum in the sidecar (which would refuse the
    edited file before the column checks these cases are about)."""
    table = pq.read_table(path)
    meta = table.schema.metadata
    table = edit(table)
    pq.write_table(table.replace_schema_metadata(meta), path)
    side = ci_io.sidecar_path(path)
    header = json.loads(side.read_text())
    del header["data_sha256"]
    side.write_text(json.dumps(header))


def _set_column(table: pa.Table, name: str, values) -> pa.Table:
    idx = table.column_names.index(name)
    return table.set_column(idx, name, values)


def _edit_value(name: str, row: int, value):
    def edit(table: pa.Table) -> pa.Table:
        arr = table.column(name).to_numpy().copy()
        arr[row] = value
        return _set_column(table, name, pa.array(arr))

    return edit


def _nan_logit(row: int):
    def edit(table: pa.Table) -> pa.Table:
        flat = table.column("logits").combine_chunks()
        values = flat.flatten().to_numpy().copy()
        values[row * 4 + 2] = np.nan
        new = pa.FixedSizeListArray.from_arrays(pa.array(values), 4)
        return _set_column(table, "logits", new)

    return edit


def _drop_rows(rows: list[int]):
    def edit(table: pa.Table) -> pa.Table:
        keep = np.setdiff1d(np.arange(table.num_rows), rows)
        return table.take(pa.array(keep))

    return edit


PARQUET_CASES = {
    "missing column": (
        lambda t: t.drop_columns(["reward"]),
        r"bad\.parquet: column 'reward': missing column",
    ),
    "missing vector column": (
        lambda t: t.drop_columns(["logits"]),
        r"bad\.parquet: column 'logits': missing column \(the sidecar lists field 'logits'\)",
    ),
    "wrong dtype action": (
        lambda t: _set_column(t, "action", t.column("action").cast(pa.float64())),
        r"bad\.parquet: column 'action': wrong dtype: expected int64 .*got double",
    ),
    "wrong dtype logits": (
        lambda t: _set_column(t, "logits", t.column("logits").cast(pa.list_(pa.float64(), 4))),
        r"bad\.parquet: column 'logits': wrong dtype: expected float32 .*got double",
    ),
    "wrong dtype reward": (
        lambda t: _set_column(t, "reward", pa.array(["x"] * t.num_rows)),
        r"bad\.parquet: column 'reward': wrong dtype",
    ),
    "ragged: missing agent row": (
        _drop_rows([7]),
        r"bad\.parquet: column 'agent', row 6 \(episode 5, t 2, agent 0\): ragged table: "
        r"episode 5, t 2 has 2 rows for N=3 agents \(no row for agent 1\)",
    ),
    "ragged: missing step": (
        _drop_rows([3, 4, 5]),
        r"bad\.parquet: column 't', row 3 \(episode 5, t 2, agent 0\): ragged episode: "
        r"episode 5 jumps from t=0 to t=2",
    ),
    "ragged: duplicate row": (
        lambda t: pa.concat_tables([t, t.slice(4, 1)]),
        r"bad\.parquet: column 'agent', row 21 \(episode 5, t 1, agent 1\): duplicate row: "
        r"rows 4 and 21",
    ),
    "agent out of range": (
        _edit_value("agent", 5, 3),
        r"bad\.parquet: column 'agent', row 5 \(episode 5, t 1, agent 3\): agent index 3 is "
        r"outside \[0, N=3\)",
    ),
    "action out of range": (
        _edit_value("action", 10, 4),
        r"bad\.parquet: column 'action', row 10 \(episode 2, t 0, agent 1\): actions: expected "
        r"values in \[0, num_actions=4\); got 4",
    ),
    "negative action": (
        _edit_value("action", 0, -1),
        r"bad\.parquet: column 'action', row 0 \(episode 5, t 0, agent 0\)",
    ),
    "message out of range": (
        _edit_value("message", 20, 2),
        r"bad\.parquet: column 'message', row 20 \(episode 9, t 1, agent 2\): messages: "
        r"expected values in \[0, num_symbols=2\)",
    ),
    "NaN logits": (
        _nan_logit(13),
        r"bad\.parquet: column 'logits', row 13 \(episode 2, t 1, agent 1\): logits: expected "
        r"finite logits .*got NaN",
    ),
    "null action": (
        lambda t: _set_column(
            t, "action", pa.array([None, *t.column("action").to_pylist()[1:]], pa.int64())
        ),
        r"bad\.parquet: column 'action', row 0: missing value \(null\)",
    ),
    "obs list too short": (
        lambda t: _set_column(
            t,
            "obs",
            pa.FixedSizeListArray.from_arrays(pa.array(np.zeros(t.num_rows * 17, np.uint8)), 17),
        ),
        r"bad\.parquet: column 'obs': lists of 17 entries; expected 18",
    ),
    "non-contiguous episode rows are reordered, t jump is not": (
        _edit_value("t", 9, 5),
        r"bad\.parquet: column '(agent|t)', row \d+",
    ),
}


@pytest.mark.parametrize("case", list(PARQUET_CASES))
def test_malformed_parquet(tmp_path: Path, case: str) -> None:
    edit, pattern = PARQUET_CASES[case]
    _, path = _saved(tmp_path)
    _rewrite(path, edit)
    with pytest.raises(FileFormatError, match=pattern) as info:
        ci_io.load_parquet(path)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("case", ["null action", "null logit"])
def test_malformed_rows_named_across_read_batches(
    tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Columns are read in batches of rows; an error in a later batch names the row of the
    whole table, as when the column is read at once."""
    import causal_influence.io.parquet as parquet_module

    _, path = _saved(tmp_path)

    def null_action(t: pa.Table) -> pa.Table:
        values = t.column("action").to_pylist()
        values[13] = None
        return _set_column(t, "action", pa.array(values, pa.int64()))

    def null_logit(t: pa.Table) -> pa.Table:
        values = t.column("logits").combine_chunks().flatten().to_pylist()
        values[17 * 4 + 1] = None
        return _set_column(
            t, "logits", pa.FixedSizeListArray.from_arrays(pa.array(values, pa.float32()), 4)
        )

    edit = {"null action": null_action, "null logit": null_logit}[case]
    expected = {
        "null action": r"column 'action', row 13: missing value \(null\)",
        "null logit": r"column 'logits', row 17: missing value \(null\) inside a list",
    }
    _rewrite(path, edit)
    monkeypatch.setattr(parquet_module, "_BATCH_ROWS", 4)
    with pytest.raises(FileFormatError, match=expected[case]):
        ci_io.load_parquet(path)


def test_batched_read_equals_one_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import causal_influence.io.parquet as parquet_module

    traj, path = _saved(tmp_path)
    monkeypatch.setattr(parquet_module, "_BATCH_ROWS", 5)
    assert ci_io.load_parquet(path) == traj


def test_parquet_rows_may_be_shuffled(tmp_path: Path) -> None:
    traj, path = _saved(tmp_path)
    perm = np.random.default_rng(0).permutation(21)
    # keep the first row first so the episodes' order of first appearance is unchanged
    perm = np.r_[0, perm[perm != 0]]
    order = {int(e): i for i, e in enumerate(dict.fromkeys(np.repeat(traj.episode_ids, 3)[perm]))}
    _rewrite(path, lambda t: t.take(pa.array(perm)))
    loaded = ci_io.load_parquet(path)
    assert loaded == traj.select_episodes(sorted(order, key=lambda e: order[e]))


@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.1])
def test_truncated_parquet(tmp_path: Path, fraction: float) -> None:
    _, path = _saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(FileFormatError, match=r"bad\.parquet: .*(truncated or corrupted|checksum)"):
        ci_io.load_parquet(path)


def test_corrupted_parquet_pages(tmp_path: Path) -> None:
    traj = make(fields=("obs",), num_steps=7)
    path = ci_io.save_parquet(traj, tmp_path / "bad.parquet", compression=None)
    data = bytearray(path.read_bytes())
    # garble the page area (after the 4-byte magic), leaving the footer intact
    data[8 : len(data) // 2] = bytes(len(data) // 2 - 8)
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match=r"bad\.parquet"):
        ci_io.load_parquet(path)


def _edit_sidecar(path: Path, edit) -> None:
    """Edit the sidecar by hand, on a pair without checksums (as another tool writes them):
    with them, any edit is refused as a sidecar that does not match its data file before the
    detailed checks these cases are about (tests/robustness covers that)."""
    side = ci_io.sidecar_path(path)
    header = json.loads(side.read_text())
    header.pop("data_sha256", None)
    edit(header)
    side.write_text(json.dumps(header))
    table = pq.read_table(path)
    meta = {k: v for k, v in table.schema.metadata.items() if b"header_sha256" not in k}
    pq.write_table(table.replace_schema_metadata(meta), path)


SIDECAR_CASES = {
    "newer schema": (
        lambda h: h.update(schema_version=3),
        r"bad\.json: schema_version 3 was "
        r"written by a newer causal-influence",
    ),
    "old schema": (lambda h: h.update(schema_version=0), r"schema_version 0 is not supported"),
    "not ours": (lambda h: h.update(format="other"), r"bad\.json: not a causal-influence"),
    "no fields": (lambda h: h.pop("fields"), r"bad\.json: fields: missing"),
    "required field unlisted": (lambda h: h["fields"].pop("actions"), r"required field 'actions'"),
    "bad dtype": (lambda h: h["fields"]["logits"].update(dtype="float99"), r"unknown dtype"),
    "no metadata": (lambda h: h.pop("metadata"), r"bad\.json: metadata: missing"),
    "bad metadata": (
        lambda h: h["metadata"].update(num_actions="four"),
        r"bad\.json: metadata: num_actions",
    ),
    "agents vs metadata": (lambda h: h.update(num_agents=2), r"lists 3 agent ids but num_agents"),
    "fewer agents than data": (
        lambda h: (h.update(num_agents=2), h["metadata"].update(agent_ids=["a", "b"])),
        r"bad\.parquet: column 'agent', row 2 \(episode 5, t 0, agent 2\): agent index 2 is "
        r"outside \[0, N=2\)",
    ),
    "num_actions below data": (
        lambda h: h["metadata"].update(num_actions=3, action_names=None),
        r"bad\.parquet: column 'logits'.*num_actions=3",
    ),
    "steps vs data": (
        lambda h: h.update(num_steps=8),
        r"bad\.parquet: holds 7 steps but its "
        r"header says 8",
    ),
    "trailing shape vs data": (
        lambda h: h["fields"]["obs"].update(shape=[2, 8]),
        r"bad\.parquet: column 'obs': lists of 18 entries; expected 16",
    ),
    "dtype vs data": (
        lambda h: h["fields"]["obs"].update(dtype="float32"),
        r"bad\.parquet: column 'obs': wrong dtype: expected float32",
    ),
    "another write": (lambda h: h.update(write_id="0" * 32), r"belongs to another write"),
}


@pytest.mark.parametrize("case", list(SIDECAR_CASES))
def test_bad_sidecar(tmp_path: Path, case: str) -> None:
    edit, pattern = SIDECAR_CASES[case]
    _, path = _saved(tmp_path)
    _edit_sidecar(path, edit)
    with pytest.raises(FileFormatError, match=pattern):
        ci_io.load_parquet(path)


def test_missing_and_broken_sidecar(tmp_path: Path) -> None:
    _, path = _saved(tmp_path)
    side = ci_io.sidecar_path(path)
    text = side.read_text()
    side.write_text(text[: len(text) // 2])
    with pytest.raises(FileFormatError, match=r"bad\.json: sidecar is not valid JSON \(line"):
        ci_io.load_parquet(path)
    side.write_text("[1, 2]")
    with pytest.raises(FileFormatError, match="expected a JSON object"):
        ci_io.load_parquet(path)
    side.unlink()
    with pytest.raises(
        FileFormatError,
        match=r"bad\.parquet: its JSON sidecar bad\.json is "
        r"missing",
    ):
        ci_io.load_parquet(path)
    with pytest.raises(FileFormatError, match="missing"):
        ci_io.read_metadata(path)


def test_swapped_sidecars_are_detected(tmp_path: Path) -> None:
    a = ci_io.save(make(seed=1), tmp_path / "a.parquet")
    b = ci_io.save(make(seed=2), tmp_path / "b.parquet")
    side_a, side_b = ci_io.sidecar_path(a), ci_io.sidecar_path(b)
    text_a = side_a.read_text()
    side_a.write_text(side_b.read_text())
    side_b.write_text(text_a)
    with pytest.raises(
        FileFormatError,
        match=r"a\.parquet: the sidecar a\.json belongs to "
        r"another write",
    ):
        ci_io.load(a)


# ---------------------------------------------------------------------------------------------
# malformed NPZ files


def _npz(tmp_path: Path, **kw) -> tuple[Trajectory, Path, dict[str, Any]]:
    traj = make(fields=("logits", "messages"), **kw)
    path = ci_io.save_npz(traj, tmp_path / "bad.npz")
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return traj, path, arrays


def _with(arrays: dict, **changes) -> dict:
    out = dict(arrays)
    for key, value in changes.items():
        if value is None:
            out.pop(key)
        else:
            out[key] = value
    return out


def _changed(arr: np.ndarray, index, value) -> np.ndarray:
    arr = arr.copy()
    arr[index] = value
    return arr


def _header_edit(arrays: dict, edit) -> np.ndarray:
    header = json.loads(str(arrays["__meta__"]))
    edit(header)
    return np.array(json.dumps(header))


NPZ_CASES = {
    "missing array": (
        lambda a: _with(a, rewards=None),
        r"bad\.npz: array 'rewards' is missing",
    ),
    "missing optional array": (
        lambda a: _with(a, logits=None),
        r"bad\.npz: array 'logits' is missing",
    ),
    "wrong dtype": (
        lambda a: _with(a, actions=a["actions"].astype(np.float64)),
        r"bad\.npz: array 'actions': wrong dtype float64; expected int64",
    ),
    "wrong dtype logits": (
        lambda a: _with(a, logits=a["logits"].astype(np.float64)),
        r"bad\.npz: array 'logits': wrong dtype float64; expected float32",
    ),
    "ragged rewards": (
        lambda a: _with(a, rewards=a["rewards"][:-1]),
        r"bad\.npz: array 'rewards': declares shape \(6, 3\); the header implies \(7, 3\)",
    ),
    "ragged: non-contiguous episode": (
        lambda a: _with(a, episode_ids=np.array([5, 5, 5, 2, 2, 5, 5])),
        r"bad\.npz: array 'episode_ids', row 5 \(step 5\): .*episode 5 starts at step 0 and "
        r"again at step 5",
    ),
    "ragged: t jump": (
        lambda a: _with(a, t=np.array([0, 1, 3, 0, 1, 0, 1])),
        r"bad\.npz: array 't', row 2 \(step 2\): t: expected t to grow by 1",
    ),
    "action out of range": (
        lambda a: _with(a, actions=_changed(a["actions"], (3, 1), 9)),
        r"bad\.npz: array 'actions', row 3 \(step 3, agent 1 \(agent_1\)\): actions: expected "
        r"values in \[0, num_actions=4\); got 9",
    ),
    "message out of range": (
        lambda a: _with(a, messages=_changed(a["messages"], (6, 2), -4)),
        r"bad\.npz: array 'messages', row 6 \(step 6, agent 2",
    ),
    "NaN logits": (
        lambda a: _with(a, logits=_changed(a["logits"], (4, 0, 1), np.nan)),
        r"bad\.npz: array 'logits', row 4 \(step 4, agent 0 \(agent_0\), entry \(1,\)\): "
        r"logits: .*NaN",
    ),
    "no header": (lambda a: _with(a, __meta__=None), r"bad\.npz: no '__meta__' entry"),
    "header not a string": (
        lambda a: _with(a, __meta__=np.zeros(3)),
        r"'__meta__' must be a 0-d string array",
    ),
    "header not JSON": (lambda a: _with(a, __meta__=np.array("{oops")), r"is not valid JSON"),
    "newer schema": (
        lambda a: _with(a, __meta__=_header_edit(a, lambda h: h.update(schema_version=9))),
        r"bad\.npz \[__meta__\]: schema_version 9 was written by a newer",
    ),
    "steps vs header": (
        lambda a: _with(a, __meta__=_header_edit(a, lambda h: h.update(num_steps=6))),
        r"bad\.npz: array 'actions': declares shape \(7, 3\); the header implies \(6, 3\)",
    ),
}


@pytest.mark.parametrize("case", list(NPZ_CASES))
def test_malformed_npz(tmp_path: Path, case: str) -> None:
    edit, pattern = NPZ_CASES[case]
    _, path, arrays = _npz(tmp_path)
    np.savez(path, **edit(arrays))
    with pytest.raises(FileFormatError, match=pattern):
        ci_io.load_npz(path)


@pytest.mark.parametrize("fraction", [0.3, 0.8, 0.99])
def test_truncated_npz(tmp_path: Path, fraction: float) -> None:
    _, path, _ = _npz(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(FileFormatError, match=r"bad\.npz: .*truncated or corrupted"):
        ci_io.load_npz(path)


def test_corrupted_npz_member(tmp_path: Path) -> None:
    _, path, arrays = _npz(tmp_path)
    np.savez(path, **arrays)  # stored, not deflated: the CRC check catches garbled bytes
    data = bytearray(path.read_bytes())
    start = data.index(b"actions.npy") + 200
    data[start : start + 16] = b"\xff" * 16
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match=r"bad\.npz: array '\w+' could not be read"):
        ci_io.load_npz(path)


def test_npz_never_unpickles(tmp_path: Path) -> None:
    _, path, arrays = _npz(tmp_path)
    payload = np.empty(1, dtype=object)
    payload[0] = _Explodes()
    np.savez(path, **_with(arrays, obs=payload))
    _edit_path = _header_edit(
        arrays, lambda h: h["fields"].update(obs={"dtype": "object", "shape": []})
    )
    np.savez(path, **_with(arrays, obs=payload, __meta__=_edit_path))
    _Explodes.ran = False
    with pytest.raises(FileFormatError, match=r"bad\.npz \[__meta__\]: fields: 'obs' has dtype"):
        ci_io.load_npz(path)
    assert not _Explodes.ran
    not_zip = tmp_path / "single.npz"
    np.save(not_zip.with_suffix(".npy"), np.zeros(3))
    not_zip.with_suffix(".npy").rename(not_zip)
    with pytest.raises(FileFormatError, match="single array"):
        ci_io.load_npz(not_zip)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"\x80\x04not a zip at all")
    with pytest.raises(FileFormatError, match=r"garbage\.npz: not a readable NPZ"):
        ci_io.load_npz(garbage)


class _Explodes:
    """Records whether unpickling ran code."""

    ran = False

    def __reduce__(self):
        return (_mark_ran, ())


def _mark_ran() -> _Explodes:
    _Explodes.ran = True
    return _Explodes()


# ---------------------------------------------------------------------------------------------
# atomic writes


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("suffix", FORMATS)
def test_failed_write_leaves_previous_file_intact(tmp_path: Path, suffix: str, monkeypatch) -> None:
    old, new = make(seed=1), make(seed=2)
    path = ci_io.save(old, tmp_path / f"t{suffix}")
    before = _listing(tmp_path)

    def half_write(*args, **kwargs):
        # write part of a file wherever the writer points, then crash mid-way
        for target in args:
            if isinstance(target, (str, os.PathLike)):
                Path(target).write_bytes(b"PAR1 half a file")
            elif hasattr(target, "write"):
                target.write(b"PK half a file")
        raise OSError("disk full")

    if suffix == ".parquet":
        monkeypatch.setattr(pq, "write_table", half_write)
    else:
        monkeypatch.setattr(np, "savez_compressed", half_write)
    with pytest.raises(OSError, match="disk full"):
        ci_io.save(new, path)
    monkeypatch.undo()
    assert _listing(tmp_path) == before  # no temporary or partial file left behind
    assert_same(ci_io.load(path), old)


def test_failure_between_data_and_sidecar_rolls_back(tmp_path: Path, monkeypatch) -> None:
    old, new = make(seed=1), make(seed=2)
    path = ci_io.save(old, tmp_path / "t.parquet")
    before = _listing(tmp_path)
    real_replace = os.replace

    def failing_replace(src, dst):
        if str(dst).endswith(".json") and not str(src).endswith(".json"):
            raise OSError("crash before the sidecar")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="crash before the sidecar"):
        ci_io.save(new, path)
    monkeypatch.undo()
    assert _listing(tmp_path) == before
    assert_same(ci_io.load(path), old)  # the data file was rolled back to its old content

    fresh = tmp_path / "fresh.parquet"
    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="crash before the sidecar"):
        ci_io.save(new, fresh)
    monkeypatch.undo()
    assert _listing(tmp_path) == before  # no orphan data file without its sidecar


def test_atomic_write_helper(tmp_path: Path) -> None:
    target = tmp_path / "x.txt"
    target.write_text("old")

    def unfinished() -> None:
        with ci_io.atomic_write(target) as (tmp,):
            tmp.write_text("new but unfinished")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        unfinished()
    assert target.read_text() == "old"
    assert _listing(tmp_path) == ["x.txt"]
    with ci_io.atomic_write(target, tmp_path / "y.txt") as (t1, t2):
        t1.write_text("new")
        t2.write_text("pair")
    assert target.read_text() == "new"
    assert (tmp_path / "y.txt").read_text() == "pair"
    assert _listing(tmp_path) == ["x.txt", "y.txt"]


# ---------------------------------------------------------------------------------------------
# torch checkpoints


def test_load_torch_checkpoint(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    state = {"w": torch.arange(4.0), "step": 3, "nested": {"b": [torch.zeros(2)]}}
    path = tmp_path / "ckpt.pt"
    torch.save(state, path)
    loaded = ci_io.load_torch_checkpoint(path)
    assert torch.equal(loaded["w"], state["w"])
    assert loaded["step"] == 3

    evil = tmp_path / "evil.pt"
    torch.save({"x": _Explodes()}, evil)
    _Explodes.ran = False
    with pytest.raises(FileFormatError, match=r"evil\.pt: holds objects that a weights-only load"):
        ci_io.load_torch_checkpoint(evil)
    assert not _Explodes.ran

    cut = tmp_path / "cut.pt"
    cut.write_bytes(path.read_bytes()[:100])
    with pytest.raises(FileFormatError, match=r"cut\.pt"):
        ci_io.load_torch_checkpoint(cut)
    with pytest.raises(FileNotFoundError):
        ci_io.load_torch_checkpoint(tmp_path / "none.pt")
    # Every problem is a FileFormatError naming the file, the missing file included.
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"definitely not a checkpoint" * 5)  # torch: KeyError on these bytes
    damaged = tmp_path / "damaged.pt"
    archive = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    with zipfile.ZipFile(damaged, "w") as out:  # a complete archive, a cut pickle inside
        for info in archive.infolist():
            data = archive.read(info)
            cut_pickle = info.filename.endswith("data.pkl")
            out.writestr(info, data[: len(data) // 3] if cut_pickle else data)
    for bad, text in [
        (tmp_path / "none.pt", "no such checkpoint file"),
        (tmp_path, "expected a checkpoint file; got a directory"),
        (junk, r"truncated or corrupt \(not a complete torch.save archive\)"),
        (damaged, r"truncated or corrupt \(the archive is complete but its content cannot"),
    ]:
        with pytest.raises(FileFormatError, match=f"^{re.escape(str(bad))}: {text}"):
            ci_io.load_torch_checkpoint(bad)
    # A flipped byte in the zip64 end locator's disk count: zipfile.is_zipfile itself raises
    # BadZipFile ("span multiple disks"), found by the slow byte-flip scan.
    raw = bytearray(path.read_bytes())
    locator = raw.rfind(b"PK\x06\x07")
    assert locator > 0
    raw[locator + 16] ^= 0x2B
    multi = tmp_path / "multi.pt"
    multi.write_bytes(bytes(raw))
    with pytest.raises(FileFormatError, match=r"multi\.pt: truncated or corrupt"):
        ci_io.load_torch_checkpoint(multi)


def test_metadata_survives_files_exactly(tmp_path: Path) -> None:
    meta = TrajectoryMeta(
        agent_ids=("red", "blue"),
        num_actions=2,
        num_symbols=3,
        action_names=("a", "b"),
        symbol_names=("x", "y", "z"),
        env_name="cleanup",
        env_version="v1",
        seed=-5,
        extra={"nested": {"k": [1, None, True, 2.5]}, "s": "é"},
    )
    traj = Trajectory(np.zeros((2, 2), int), np.zeros((2, 2)), metadata=meta)
    for suffix in FORMATS:
        assert ci_io.load(ci_io.save(traj, tmp_path / f"m{suffix}")).metadata == meta


@pytest.mark.parametrize("suffix", FORMATS)
def test_context_round_trip_keeps_missing_labels(tmp_path: Path, suffix: str) -> None:
    traj = make(fields=("messages", "context"))
    assert traj.context is not None
    assert (traj.context == -1).any()  # some agents see no context
    back = ci_io.load(ci_io.save(traj, tmp_path / f"c{suffix}"))
    assert_same(back, traj)
    assert back.metadata.num_contexts == 3
    assert ci_io.load(tmp_path / f"c{suffix}", columns=["context"]).fields == ("context",)
    ci_io.write_shards(traj, tmp_path / "shards", fmt=suffix[1:], episodes_per_shard=1)
    assert_same(ci_io.open_dataset(tmp_path / "shards").read_all(), traj)
