"""NPZ trajectory files: the stacked arrays plus a JSON header, needing nothing beyond numpy.

``name.npz`` holds the arrays under their field names (``actions`` (T, N), ``rewards``,
``episode_ids``, ``t``, optional fields) plus ``__meta__``, a 0-d string array holding the
header (:mod:`causal_influence.io.headers`). Reading never unpickles:
``numpy.load(..., allow_pickle=False)``.

Examples
--------
>>> import pathlib, tempfile
>>> from causal_influence.trajectory import Trajectory
>>> from causal_influence.io import load_npz, save_npz
>>> traj = Trajectory([[0, 1], [2, 1]], [[0.0, 1.0], [1.0, 0.0]], num_actions=3)
>>> path = save_npz(traj, pathlib.Path(tempfile.mkdtemp()) / "run.npz")
>>> load_npz(path) == traj
True
"""

from __future__ import annotations

import contextlib
import json
import os
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from causal_influence.errors import CausalInfluenceError, DTypeError, FileFormatError, describe
from causal_influence.io.atomic import atomic_write
from causal_influence.io.headers import Header, check_sizes, check_suffix, new_header
from causal_influence.trajectory import EPISODE_FIELDS, REQUIRED_FIELDS, Trajectory
from causal_influence.trajectory.arrays import describe_index, error_location

__all__ = ["load_npz", "npz_header", "open_npz", "save_npz"]

#: Name of the archive entry holding the JSON header.
_META_KEY = "__meta__"
#: What a truncated or corrupted archive raises while being read.
_NPZ_ERRORS = (zipfile.BadZipFile, EOFError, ValueError, OSError, zlib.error, KeyError)


def save_npz(traj: Trajectory, path: str | os.PathLike[str], *, compress: bool = True) -> Path:
    """Write ``traj`` as an NPZ archive of its stacked arrays plus a JSON header, atomically.

    Parameters
    ----------
    traj : Trajectory
    path : str or path-like
        Ends in ``.npz``.
    compress : bool, default True
        Deflate the arrays (``numpy.savez_compressed``).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    if not isinstance(traj, Trajectory):
        raise DTypeError(f"save_npz: expected a Trajectory; got {describe(traj)}")
    path = Path(path)
    check_suffix(path, ".npz", "save_npz")
    header = new_header(traj, data_file=path.name, columns=False)
    arrays: dict[str, Any] = dict(traj.to_dict())
    arrays[_META_KEY] = np.array(json.dumps(header, allow_nan=False))
    writer = np.savez_compressed if compress else np.savez
    with atomic_write(path) as (tmp,), open(tmp, "xb") as f:
        writer(f, **arrays)
    return path


def _npz_member(npz: Any, key: str, path: Path) -> np.ndarray:
    try:
        return np.asarray(npz[key])
    except _NPZ_ERRORS as err:
        raise FileFormatError(
            f"{path}: array {key!r} could not be read (truncated or corrupted file?): "
            f"{type(err).__name__}: {err}"
        ) from err


@contextlib.contextmanager
def open_npz(path: Path) -> Iterator[Any]:
    """The archive as an open ``NpzFile`` (closed, with its file, on exit).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    FileFormatError
        If it is no readable NPZ archive.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such trajectory file")
    with open(path, "rb") as handle:
        try:
            npz = np.load(handle, allow_pickle=False)
        except _NPZ_ERRORS as err:
            raise FileFormatError(
                f"{path}: not a readable NPZ archive (truncated or corrupted?): "
                f"{type(err).__name__}: {err}"
            ) from err
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise FileFormatError(
                f"{path}: holds a single array, not an NPZ archive of a trajectory"
            )
        with npz:
            yield npz


def npz_header(npz: Any, path: Path) -> Header:
    """The checked header of an open archive (its ``__meta__`` entry).

    Raises
    ------
    FileFormatError
        If the entry is missing, not a 0-d string, not JSON or not a valid header.
    """
    if _META_KEY not in npz.files:
        raise FileFormatError(
            f"{path}: no {_META_KEY!r} entry (the JSON header with metadata); not written by "
            f"save_npz"
        )
    raw = _npz_member(npz, _META_KEY, path)
    if raw.shape != () or raw.dtype.kind != "U":
        raise FileFormatError(
            f"{path}: {_META_KEY!r} must be a 0-d string array; got {describe(raw)}"
        )
    try:
        parsed = json.loads(str(raw))
    except json.JSONDecodeError as err:
        raise FileFormatError(f"{path}: {_META_KEY!r} is not valid JSON ({err.msg})") from err
    return Header(parsed, f"{path} [{_META_KEY}]")


def load_npz(path: str | os.PathLike[str], *, columns: Iterable[str] | None = None) -> Trajectory:
    """Read a trajectory written by :func:`save_npz` (``numpy.load(allow_pickle=False)``).

    Parameters
    ----------
    path : str or path-like
    columns : iterable of str, optional
        Optional fields to read (others are not decompressed); default all.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    FileFormatError
        If the archive is malformed (names file, array and row).
    """
    path = Path(path)
    with open_npz(path) as npz:
        header = npz_header(npz, path)
        optional = header.optional(columns, path)
        arrays = {
            name: _checked_member(npz, name, header, path)
            for name in (*REQUIRED_FIELDS, *EPISODE_FIELDS, *optional)
        }
    try:
        traj = Trajectory(**arrays, metadata=header.build_meta, copy=False)
    except CausalInfluenceError as err:
        name, index = error_location(err)
        row = ""
        if index:
            row = f", row {int(index[0])} ({describe_index(index, header.meta.agent_ids)})"
        raise FileFormatError(f"{path}: array {name or 'metadata'!r}{row}: {err}") from err
    check_sizes(traj, header, path)
    return header.upgrade(traj)


def _checked_member(npz: Any, name: str, header: Header, path: Path) -> np.ndarray:
    """Array ``name`` of the archive, present and of the dtype its header lists."""
    if name not in npz.files:
        raise FileFormatError(
            f"{path}: array {name!r} is missing (the header lists it); rewrite the file"
        )
    arr = _npz_member(npz, name, path)
    expected = np.dtype(header.fields[name]["dtype"])
    if arr.dtype != expected:
        raise FileFormatError(
            f"{path}: array {name!r}: wrong dtype {arr.dtype}; expected {expected} (per the header)"
        )
    return arr
