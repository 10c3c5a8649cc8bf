"""Hostile and damaged files: every failure of the zip, npy, Parquet and JSON layers arrives as
:class:`~causal_influence.errors.FileFormatError` naming the file, sizes declared in headers are
checked before anything is allocated, and names that are not UTF-8 work.

Files are damaged with pyarrow, zipfile and byte edits directly (never through the code under
test). The byte-flip scans are in ``test_corruption.py``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from probe import OK, SILENT, TRACEBACK, run_cli, small_trajectory

import causal_influence.io as ci_io
from causal_influence.errors import CausalInfluenceError, FileFormatError
from causal_influence.trajectory import Trajectory

FILE_ERRORS = (FileFormatError,)


@pytest.fixture
def traj() -> Trajectory:
    return small_trajectory()


def _load(path: Path):
    return ci_io.load(path)


def _sidecar_text(folder: Path, traj: Trajectory, name: str = "run") -> tuple[Path, Path, str]:
    path = ci_io.save(traj, folder / f"{name}.parquet")
    side = ci_io.sidecar_path(path)
    return path, side, side.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------ JSON sidecars


def test_hostile_sidecars(probe, tmp_path: Path, traj: Trajectory) -> None:
    path, side, text = _sidecar_text(tmp_path, traj)
    raw = json.loads(text)
    edits = {
        "5,000-digit number": re.sub(r'"num_steps": \d+', '"num_steps": ' + "9" * 5000, text),
        "5,000-digit float": re.sub(r'"seed": \d+', '"seed": 1' + "0" * 5000 + ".5", text),
        "nested 100,000 deep": text.replace(
            '"extra": {}', '"extra": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}"
        ),
        "NaN literal": text.replace('"seed": 0', '"seed": NaN'),
        "Infinity literal": text.replace('"seed": 0', '"seed": Infinity'),
        "truncated": text[: len(text) // 2],
        "empty": "",
        "a list, not an object": "[]",
        "num_actions 10^6": text.replace('"num_actions": 3', '"num_actions": 1000000'),
        "num_agents 10^9": text.replace('"num_agents": 2', '"num_agents": 1000000000'),
        "num_steps 10^15": re.sub(r'"num_steps": \d+', '"num_steps": 1000000000000000', text),
        "negative shape": text.replace('"shape": [\n    3\n   ]', '"shape": [-3]'),
        "trailing shape 10^12": text.replace('"shape": [\n    3\n   ]', '"shape": [1000000000000]'),
        "unknown dtype": text.replace('"dtype": "float32"', '"dtype": "object"'),
        "another format": text.replace("causal-influence-trajectory", "something-else"),
        "newer schema": text.replace('"schema_version": 2', '"schema_version": 99'),
        "lone surrogate in a name": text.replace('"agent_0"', '"agent_\\udcff"'),
        "duplicate agent ids": text.replace('"agent_1"', '"agent_0"'),
    }
    for case, edited in edits.items():
        assert edited != text or case == "", case
        side.write_text(edited, encoding="utf-8")
        probe.error(f"sidecar: {case}", _load, path, errors=FILE_ERRORS, names=path.stem)
    side.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    probe.error("sidecar: UTF-16", _load, path, errors=FILE_ERRORS, names=side.name)
    side.write_text(json.dumps({**raw, "write_id": "0" * 32}), encoding="utf-8")
    probe.error("sidecar of another write", _load, path, errors=FILE_ERRORS, names=path.name)
    side.unlink()
    probe.error("sidecar missing", _load, path, errors=FILE_ERRORS, names=path.name)
    side.mkdir()
    probe.error("sidecar is a directory", _load, path, errors=FILE_ERRORS, names=side.name)
    probe.check()


def test_huge_sidecar_is_refused_before_reading(probe, tmp_path: Path, traj, monkeypatch) -> None:
    from causal_influence.io import limits

    path, side, text = _sidecar_text(tmp_path, traj)
    monkeypatch.setattr(limits, "MAX_JSON_BYTES", 4096)
    side.write_text(text + " " * 8000, encoding="utf-8")
    probe.error("sidecar above the size limit", _load, path, errors=FILE_ERRORS, names=side.name)
    probe.check()


def test_sidecar_declaring_a_million_actions(probe, tmp_path: Path) -> None:
    """A file whose metadata declares 10^6 actions (the analysis would allocate petabytes)."""
    from analysis.stats import analyze

    rng = np.random.default_rng(0)
    big = Trajectory(
        rng.integers(0, 3, (40, 2)),
        rng.normal(size=(40, 2)),
        episode_ids=np.repeat(np.arange(4), 10),
        num_actions=1_000_000,
    )
    path = ci_io.save(big, tmp_path / "big.parquet")
    probe.same("a file with 10^6 actions loads", lambda: ci_io.load(path), big)
    tracemalloc.start()
    try:
        probe.error(
            "analysis of 10^6 actions",
            analyze,
            path,
            n_bootstrap=5,
            n_permutations=5,
            progress=False,
            errors=(CausalInfluenceError,),
            names="num_actions",
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    probe.record(
        "analysis allocates nothing large first", OK if peak < 256e6 else SILENT, f"{peak}"
    )
    probe.check()


# ------------------------------------------------------------------------------ NPZ archives


def _npy_bytes(arr: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _rebuild_npz(src: Path, dst: Path, replace: dict[str, bytes], *, compress: bool = True) -> None:
    """Copy the archive ``src`` to ``dst`` with some members' raw ``.npy`` bytes replaced."""
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", method) as zout:
        for info in zin.infolist():
            name = info.filename
            data = replace.get(name[: -len(".npy")], zin.read(name))
            zout.writestr(name, data)


def _patch_zip_field(data: bytes, *, central: int, local: int, value: int) -> bytes:
    """Set a 2-byte field of every central-directory and local header of a zip."""
    out = bytearray(data)
    for sig, offset in ((b"PK\x01\x02", central), (b"PK\x03\x04", local)):
        start = 0
        while (found := out.find(sig, start)) >= 0:
            struct.pack_into("<H", out, found + offset, value)
            start = found + 4
    return bytes(out)


def test_hostile_npz_archives(probe, tmp_path: Path, traj: Trajectory) -> None:
    good = ci_io.save(traj, tmp_path / "good.npz")
    header = np.lib.format.magic(1, 0)

    def case(name: str, build) -> None:
        path = tmp_path / f"{name.replace(' ', '_').replace(',', '')}.npz"
        build(path)
        probe.error(f"npz: {name}", _load, path, errors=FILE_ERRORS, names=path.name)

    def huge_shape(path: Path) -> None:
        text = "{'descr': '<i8', 'fortran_order': False, 'shape': (1000000000000, 3), }"
        body = header + struct.pack("<H", len(text) + 1) + text.encode() + b"\n" + b"\0" * 64
        _rebuild_npz(good, path, {"actions": body})

    def unterminated_header(path: Path) -> None:
        text = "{'descr': '<i8', 'fortran_order': False, 'shape': (12, 2"
        body = header + struct.pack("<H", len(text) + 1) + text.encode() + b"\n"
        _rebuild_npz(good, path, {"actions": body})

    def garbage_header(path: Path) -> None:
        text = "__import__('os').system('echo pwned')"
        body = header + struct.pack("<H", len(text) + 1) + text.encode() + b"\n"
        _rebuild_npz(good, path, {"actions": body})

    def object_member(path: Path) -> None:
        import io

        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        _rebuild_npz(good, path, {"actions": buf.getvalue()})

    def wrong_shape(path: Path) -> None:
        _rebuild_npz(good, path, {"actions": _npy_bytes(np.zeros((5, 2), dtype=np.int64))})

    def unsupported_compression(path: Path) -> None:
        path.write_bytes(_patch_zip_field(good.read_bytes(), central=10, local=8, value=99))

    def unsupported_version(path: Path) -> None:
        path.write_bytes(_patch_zip_field(good.read_bytes(), central=6, local=4, value=99))

    def encrypted_flag(path: Path) -> None:
        path.write_bytes(_patch_zip_field(good.read_bytes(), central=8, local=6, value=1))

    def truncated(path: Path) -> None:
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])

    def empty(path: Path) -> None:
        path.write_bytes(b"")

    def single_npy(path: Path) -> None:
        path.write_bytes(_npy_bytes(np.zeros(3)))

    def meta_5000_digits(path: Path) -> None:
        with zipfile.ZipFile(good) as z:
            meta = json.loads(str(np.load(good)["__meta__"]))
        meta["num_steps"] = 0
        text = json.dumps(meta).replace('"num_steps": 0', '"num_steps": ' + "7" * 5000)
        _rebuild_npz(good, path, {"__meta__": _npy_bytes(np.array(text))})
        del z

    def meta_deep(path: Path) -> None:
        text = '{"format": ' + "[" * 100_000 + "]" * 100_000 + "}"
        _rebuild_npz(good, path, {"__meta__": _npy_bytes(np.array(text))})

    for name, build in {
        "member declaring shape (10^12, 3) in 1 KB": huge_shape,
        "unterminated npy header": unterminated_header,
        "npy header that is code": garbage_header,
        "object (pickled) member": object_member,
        "member shorter than the header says": wrong_shape,
        "unsupported zip compression": unsupported_compression,
        "unsupported zip version": unsupported_version,
        "encrypted flag": encrypted_flag,
        "truncated": truncated,
        "empty file": empty,
        "a single .npy": single_npy,
        "header with a 5,000-digit number": meta_5000_digits,
        "header nested 100,000 deep": meta_deep,
    }.items():
        case(name, build)
    probe.check()


def test_zip_bomb_is_refused_before_decompressing(probe, tmp_path: Path, traj) -> None:
    good = ci_io.save(traj, tmp_path / "good.npz")
    bomb = tmp_path / "bomb.npz"
    # 96 MiB of zeros deflate to about 100 KB; the header says 12 steps.
    _rebuild_npz(good, bomb, {"rewards": _npy_bytes(np.zeros((6_000_000, 2)))})
    assert bomb.stat().st_size < 2_000_000
    tracemalloc.start()
    try:
        probe.error("zip bomb", _load, bomb, errors=FILE_ERRORS, names=bomb.name)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    probe.record(
        "zip bomb: nothing decompressed", OK if peak < 16e6 else SILENT, f"peak {peak} bytes"
    )
    probe.check()


# ------------------------------------------------------------------------------ Parquet


def test_hostile_parquet_files(probe, tmp_path: Path, traj: Trajectory) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    plain = ci_io.save(traj, tmp_path / "plain.parquet", compression=None)
    data = plain.read_bytes()
    # one reward overwritten in place: 1e300 instead of the stored value
    stored = struct.pack("<d", float(traj.rewards[0, 0]))
    assert data.count(stored) == 1
    plain.write_bytes(data.replace(stored, struct.pack("<d", 1e300)))
    probe.error(
        "one reward overwritten in place", _load, plain, errors=FILE_ERRORS, names=plain.name
    )
    plain.write_bytes(data[: len(data) // 2])
    probe.error("truncated", _load, plain, errors=FILE_ERRORS, names=plain.name)
    plain.write_bytes(b"")
    probe.error("empty", _load, plain, errors=FILE_ERRORS, names=plain.name)
    plain.write_bytes(b"PAR1" + b"\0" * 64 + b"PAR1")
    probe.error("footer of zeros", _load, plain, errors=FILE_ERRORS, names=plain.name)
    # a valid Parquet table with a NaN reward under a copied sidecar (another writer's file)
    table = pq.read_table(ci_io.save(traj, tmp_path / "src.parquet"))
    rewards = table.column("reward").to_numpy().copy()
    rewards[3] = np.nan
    edited = table.set_column(table.schema.get_field_index("reward"), "reward", pa.array(rewards))
    target = tmp_path / "nan.parquet"
    pq.write_table(edited, target)
    shutil.copy(tmp_path / "src.json", tmp_path / "nan.json")
    probe.error(
        "NaN reward from another writer", _load, target, errors=FILE_ERRORS, names=target.name
    )
    folder = tmp_path / "dir.parquet"
    folder.mkdir()
    probe.error(
        "a directory named .parquet",
        _load,
        folder,
        errors=(FileFormatError, IsADirectoryError, FileNotFoundError),
    )
    probe.check()


def test_non_finite_rewards_in_files(probe, tmp_path: Path, traj: Trajectory) -> None:
    """NaN or infinite rewards written by another tool are refused with the row and agent."""
    good = ci_io.save(traj, tmp_path / "good.npz")
    for value in (np.nan, np.inf, -np.inf):
        rewards = np.array(traj.rewards)
        rewards[4, 1] = value
        path = tmp_path / f"r{value}.npz"
        _rebuild_npz(good, path, {"rewards": _npy_bytes(rewards)})
        probe.error(f"npz reward {value}", _load, path, errors=FILE_ERRORS, names=path.name)
    probe.check()


# ------------------------------------------------------------------------------ shard directories


def _dataset(folder: Path, traj: Trajectory, **kw) -> list[Path]:
    return ci_io.write_shards(traj, folder, episodes_per_shard=1, **kw)


def _read(folder: Path) -> Trajectory:
    return ci_io.open_dataset(folder).read_all()


def test_directories_whose_files_do_not_match_their_manifest(probe, tmp_path: Path, traj) -> None:
    other = small_trajectory(seed=9)
    for fmt in ("parquet", "npz"):
        base = tmp_path / fmt
        _dataset(base / "ref", traj, fmt=fmt)
        _dataset(base / "other", other, fmt=fmt)

        def variant(name: str, base: Path = base) -> Path:
            folder = base / name
            shutil.copytree(base / "ref", folder)
            return folder

        extra = variant("extra")
        shutil.copy(base / "other" / f"shard_00000.{fmt}", extra / f"shard_00007.{fmt}")
        if fmt == "parquet":
            shutil.copy(base / "other" / "shard_00000.json", extra / "shard_00007.json")
        missing = variant("missing")
        (missing / f"shard_00001.{fmt}").unlink()
        if fmt == "parquet":
            (missing / "shard_00001.json").unlink()
        swapped = variant("swapped")
        for suffix in (f".{fmt}", ".json") if fmt == "parquet" else (f".{fmt}",):
            shutil.copy(base / "other" / f"shard_00001{suffix}", swapped / f"shard_00001{suffix}")
        mixture = variant("mixture")  # what a kill during an overwrite used to leave
        for suffix in (f".{fmt}", ".json") if fmt == "parquet" else (f".{fmt}",):
            shutil.copy(base / "other" / f"shard_00000{suffix}", mixture / f"shard_00000{suffix}")
        for name, folder in {
            "extra shard": extra,
            "missing shard": missing,
            "shard from another write": swapped,
            "new and old shards mixed": mixture,
        }.items():
            probe.error(f"{fmt}: {name}", _read, folder, errors=FILE_ERRORS, names=str(folder))
        edited = variant("manifest_edited")
        manifest = edited / "MANIFEST.json"
        if manifest.is_file():
            manifest.write_text(manifest.read_text().replace("shard_00001", "shard_00009"))
            probe.error(
                f"{fmt}: edited manifest", _read, edited, errors=FILE_ERRORS, names="MANIFEST"
            )
        else:
            probe.record(f"{fmt}: edited manifest", SILENT, "no manifest written")
        probe.same(f"{fmt}: intact copy", lambda: _read(variant("intact")), traj)
    probe.check()


# ------------------------------------------------------------------------------ checkpoints


class Payload:
    """Anything a weights-only load must refuse (a class the file would construct)."""

    def __reduce__(self):
        return (print, ("code from the file ran",))


def test_hostile_checkpoints(probe, tmp_path: Path) -> None:
    import torch

    from agents.checkpoint import CHECKPOINT_FORMAT, CHECKPOINT_KEYS, load_checkpoint

    evil = tmp_path / "evil.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "payload": Payload()}, evil)
    good = tmp_path / "good.pt"
    torch.save(dict.fromkeys(CHECKPOINT_KEYS, 0) | {"format": CHECKPOINT_FORMAT}, good)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[:-200])
    for name, path in {"pickle payload": evil, "truncated": cut}.items():
        probe.error(
            f"load_checkpoint: {name}", load_checkpoint, path, errors=FILE_ERRORS, names=path.name
        )
        probe.error(
            f"load_torch_checkpoint: {name}",
            ci_io.load_torch_checkpoint,
            path,
            errors=FILE_ERRORS,
            names=path.name,
        )
        result = run_cli(["train", "--resume", str(path)])
        from probe import classify_cli_error

        outcome, detail = classify_cli_error(result)
        probe.record(f"train --resume {name}", outcome, detail)
    probe.check()


# ------------------------------------------------------------------------------ names


def _odd(name: str) -> str:
    """``name`` with a byte that is not UTF-8 (as Python spells such names)."""
    return os.fsdecode(name.encode() + b"\xff\xfe")


def test_names_that_are_not_utf8(probe, tmp_path: Path, traj: Trajectory) -> None:
    folder = tmp_path / _odd("data")
    folder.mkdir()
    for suffix in (".parquet", ".npz"):
        path = folder / (_odd("run") + suffix)
        probe.same(f"save and load {suffix}", lambda p=path: ci_io.load(ci_io.save(traj, p)), traj)
        probe.same(f"read_metadata {suffix}", lambda p=path: ci_io.read_metadata(p), traj.metadata)
    shards = tmp_path / _odd("shards")
    probe.same(
        "write_shards and open_dataset",
        lambda: (_dataset(shards, traj), _read(shards))[1],
        traj,
    )
    out = tmp_path / _odd("report")
    fast = ["--bootstrap", "5", "--permutations", "5", "--no-progress", "--alignment", "same_step"]
    result = run_cli(["analyze", str(shards), "--out", str(out), *fast])
    if result.exception is not None:
        probe.record("analyze with non-UTF-8 names", TRACEBACK, repr(result.exception))
    else:
        good = result.code == 0 and (out / "report.html").is_file()
        probe.record("analyze with non-UTF-8 names", OK if good else TRACEBACK, result.err[-300:])
    out = tmp_path / _odd("graph")
    result = run_cli(["graph", str(shards), "--out", str(out), *fast])
    if result.exception is not None:
        probe.record("graph with non-UTF-8 names", TRACEBACK, repr(result.exception))
    else:
        good = result.code == 0 and (out / "influence_graph.json").is_file()
        probe.record("graph with non-UTF-8 names", OK if good else TRACEBACK, result.err[-300:])
    broken = folder / (_odd("broken") + ".npz")
    broken.write_bytes(b"PK\x03\x04")
    result = run_cli(["analyze", str(broken), "--out", str(tmp_path / "o")])
    from probe import classify_cli_error

    probe.record("error message naming a non-UTF-8 file", *classify_cli_error(result))
    probe.check()


def test_graph_json_reader(probe, tmp_path: Path) -> None:
    from analysis.graph import read_graph_json

    path = tmp_path / "g.json"
    for name, text in {
        "deep": "[" * 100_000 + "]" * 100_000,
        "not a graph": '{"a": 1}',
        "truncated": '{"nodes": [',
        "5,000 digits": '{"nodes": [], "edges": [], "x": ' + "1" * 5000 + "}",
    }.items():
        path.write_text(text)
        probe.error(
            f"read_graph_json: {name}", read_graph_json, path, errors=FILE_ERRORS, names=path.name
        )
    probe.check()
