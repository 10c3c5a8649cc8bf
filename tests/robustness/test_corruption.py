"""Single-byte corruption of every file format, at a few hundred offsets.

Each case flips one byte of a valid file and reads it back: the result must be the original
content (the byte was not significant, e.g. a timestamp in a zip header) or a
:class:`~causal_influence.errors.FileFormatError` naming the file; a different trajectory is
*silently wrong*. The default run tries :data:`DEFAULT_OFFSETS` offsets per format; the
``slow`` run scans :data:`SLOW_OFFSETS` (every byte of the smaller files).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from probe import OK, SILENT, TRACEBACK, flip_byte, offsets, small_trajectory

import causal_influence.io as ci_io
from causal_influence.errors import FileFormatError

DEFAULT_OFFSETS = 60
SLOW_OFFSETS = 2000


def _scan(
    probe,
    target: Path,
    read: Callable[[], Any],
    expected: Any,
    *,
    count: int,
    seed: int,
    equal: Callable[[Any, Any], bool] | None = None,
) -> None:
    """Flip one byte of ``target`` at ``count`` offsets and classify each read."""
    original = target.read_bytes()
    rng = np.random.default_rng(seed)
    for offset in offsets(len(original), count, rng):
        mask = int(rng.integers(1, 256))
        target.write_bytes(flip_byte(original, offset, mask))
        case = f"{target.name}[{offset}] ^= {mask:#04x}"
        try:
            result = read()
        except FileFormatError as err:
            names = target.name in str(err) or target.parent.name in str(err)
            probe.record(case, OK if names else TRACEBACK, str(err)[:200])
            continue
        except Exception as err:
            probe.record(case, TRACEBACK, f"{type(err).__name__}: {str(err)[:200]}")
            continue
        same = (equal or (lambda a, b: bool(a == b)))(result, expected)
        probe.record(case, OK if same else SILENT, "" if same else "read a different value")
    target.write_bytes(original)


FORMATS = {
    "parquet zstd": (".parquet", {"compression": "zstd"}, "data"),
    "parquet uncompressed": (".parquet", {"compression": None}, "data"),
    "parquet sidecar": (".parquet", {}, "sidecar"),
    "npz deflated": (".npz", {"compress": True}, "data"),
    "npz stored": (".npz", {"compress": False}, "data"),
}


def _run_format(probe, tmp_path: Path, name: str, count: int) -> None:
    suffix, options, part = FORMATS[name]
    traj = small_trajectory(num_steps=10)
    path = ci_io.save(traj, tmp_path / f"run{suffix}", **options)
    target = ci_io.sidecar_path(path) if part == "sidecar" else path
    _scan(probe, target, lambda: ci_io.load(path), traj, count=count, seed=len(name))
    probe.check()


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_flipped_bytes(probe, tmp_path: Path, name: str) -> None:
    _run_format(probe, tmp_path, name, DEFAULT_OFFSETS)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FORMATS))
def test_flipped_bytes_scan(probe, tmp_path: Path, name: str) -> None:
    _run_format(probe, tmp_path, name, SLOW_OFFSETS)


def _run_manifest(probe, tmp_path: Path, count: int) -> None:
    traj = small_trajectory(num_steps=9)
    folder = tmp_path / "shards"
    ci_io.write_shards(traj, folder, episodes_per_shard=1, fmt="npz")
    manifest = folder / "MANIFEST.json"
    if not manifest.is_file():
        probe.record("shard directory manifest", SILENT, "no manifest written")
        probe.check()
    _scan(
        probe,
        manifest,
        lambda: ci_io.open_dataset(folder).read_all(),
        traj,
        count=count,
        seed=7,
    )
    probe.check()


def test_flipped_manifest_bytes(probe, tmp_path: Path) -> None:
    _run_manifest(probe, tmp_path, DEFAULT_OFFSETS)


@pytest.mark.slow
def test_flipped_manifest_bytes_scan(probe, tmp_path: Path) -> None:
    _run_manifest(probe, tmp_path, SLOW_OFFSETS)


def _state_equal(a: Any, b: Any) -> bool:
    import torch

    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_state_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_state_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.dtype == b.dtype and a.shape == b.shape and bool(torch.equal(a, b))
    return type(a) is type(b) and a == b


def _run_checkpoint(probe, tmp_path: Path, count: int) -> None:
    import torch

    from agents.checkpoint import (
        CHECKPOINT_FORMAT,
        CHECKPOINT_KEYS,
        load_checkpoint,
        save_checkpoint,
    )

    state = dict.fromkeys(CHECKPOINT_KEYS, 0) | {
        "format": CHECKPOINT_FORMAT,
        "model": {"w": torch.arange(24, dtype=torch.float32).reshape(4, 6)},
        "history": [{"update": 1.0, "lr": 0.001}],
    }
    path = save_checkpoint(state, tmp_path / "ckpt.pt")
    _scan(
        probe,
        path,
        lambda: load_checkpoint(path),
        load_checkpoint(path),
        count=count,
        seed=11,
        equal=_state_equal,
    )
    probe.check()


def test_flipped_checkpoint_bytes(probe, tmp_path: Path) -> None:
    _run_checkpoint(probe, tmp_path, DEFAULT_OFFSETS)


@pytest.mark.slow
def test_flipped_checkpoint_bytes_scan(probe, tmp_path: Path) -> None:
    _run_checkpoint(probe, tmp_path, SLOW_OFFSETS)


def test_truncated_at_every_tenth(probe, tmp_path: Path) -> None:
    """Every prefix of each format (in tenths) is refused, never read as a shorter trajectory."""
    traj = small_trajectory(num_steps=10)
    for suffix, options in ((".parquet", {}), (".npz", {}), (".npz", {"compress": False})):
        path = ci_io.save(traj, tmp_path / f"t{len(options)}{suffix}", **options)
        original = path.read_bytes()
        for tenth in range(10):
            path.write_bytes(original[: len(original) * tenth // 10])
            probe.error(
                f"{path.name} cut at {tenth}/10",
                ci_io.load,
                path,
                errors=(FileFormatError,),
                names=path.name,
            )
        path.write_bytes(original)
        shutil.copy(path, tmp_path / "copy.bin")
    probe.check()
