"""Any trajectory file by its suffix: :func:`save`, :func:`load`, :func:`read_metadata`.

``.parquet`` (with its ``.json`` sidecar) is the canonical format
(:mod:`causal_influence.io.parquet`), ``.npz`` the zero-dependency one
(:mod:`causal_influence.io.npz`).

Examples
--------
>>> import pathlib, tempfile
>>> from causal_influence.trajectory import Trajectory
>>> from causal_influence.io import load, read_metadata, save
>>> traj = Trajectory([[0, 1]], [[0.0, 1.0]], num_actions=2, env_name="harvest")
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> [load(save(traj, folder / name)) == traj for name in ("a.parquet", "a.npz")]
[True, True]
>>> read_metadata(folder / "a.npz").env_name
'harvest'
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from causal_influence.errors import ConfigError
from causal_influence.io.headers import Header
from causal_influence.io.npz import load_npz, npz_header, open_npz, save_npz
from causal_influence.io.parquet import (
    check_sidecar,
    load_parquet,
    save_parquet,
    settled_header,
)
from causal_influence.trajectory import Trajectory, TrajectoryMeta

__all__ = ["SUFFIXES", "format_of", "load", "read_header", "read_metadata", "save"]

#: Trajectory file suffixes and their formats.
SUFFIXES = {".parquet": "parquet", ".npz": "npz"}


def format_of(path: Path) -> str:
    """``"parquet"`` or ``"npz"`` from the suffix of ``path``.

    Raises
    ------
    ConfigError
        For any other suffix.
    """
    fmt = SUFFIXES.get(path.suffix)
    if fmt is None:
        raise ConfigError(
            f"{path}: unknown trajectory format {path.suffix!r}; use .parquet (canonical) or .npz"
        )
    return fmt


def save(traj: Trajectory, path: str | os.PathLike[str], **options: Any) -> Path:
    """Save with the format of the suffix: ``.parquet`` (+ ``.json`` sidecar) or ``.npz``.

    ``options`` go to :func:`save_parquet` / :func:`save_npz`. Returns ``path``.
    """
    path = Path(path)
    if format_of(path) == "parquet":
        return save_parquet(traj, path, **options)
    return save_npz(traj, path, **options)


def load(path: str | os.PathLike[str], *, columns: Iterable[str] | None = None) -> Trajectory:
    """Load a ``.parquet`` or ``.npz`` trajectory (see :func:`load_parquet`, :func:`load_npz`)."""
    path = Path(path)
    if format_of(path) == "parquet":
        return load_parquet(path, columns=columns)
    return load_npz(path, columns=columns)


def read_metadata(path: str | os.PathLike[str]) -> TrajectoryMeta:
    """The metadata of a trajectory file, without reading its arrays.

    Raises
    ------
    FileFormatError
        If the sidecar / header is missing or invalid.
    """
    return read_header(Path(path)).meta


def read_header(path: Path) -> Header:
    """The checked header of a trajectory file (the sidecar of a Parquet file), arrays unread.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    FileFormatError
        If the header is missing or invalid.
    """
    if format_of(path) == "parquet":
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such trajectory file")
        header = settled_header(path)
        check_sidecar(path, header)
        return header
    with open_npz(path) as npz:
        return npz_header(npz, path)
