"""NPZ trajectory files: the stacked arrays plus a JSON header, needing nothing beyond numpy.

``name.npz`` holds the arrays under their field names (``actions`` (T, N), ``rewards``,
``episode_ids``, ``t``, optional fields) plus ``__meta__``, a 0-d string array holding the
header (:mod:`causal_influence.io.headers`).

Reading is bounded and never unpickles. The archive is read with :mod:`zipfile` directly, one
member at a time: an encrypted member, an unsupported compression method or version, or a
member declaring more bytes than deflate can produce from its compressed size is refused; each
member's ``.npy`` header is parsed first and its shape and dtype compared with what the JSON
header implies (steps, agents, trailing shape) and with the member's size, so nothing is
decompressed or allocated for an array the file does not really hold (a zip bomb, a shape of
10^12 rows); object arrays are refused. The zip CRC of every member read is checked. Every
failure is a :class:`~causal_influence.errors.FileFormatError` naming the file.

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
import math
import os
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from causal_influence.errors import CausalInfluenceError, DTypeError, FileFormatError, describe
from causal_influence.io.atomic import atomic_write
from causal_influence.io.headers import Header, check_sizes, check_suffix, new_header
from causal_influence.io.limits import MAX_JSON_BYTES, parse_json
from causal_influence.trajectory import EPISODE_FIELDS, REQUIRED_FIELDS, Trajectory
from causal_influence.trajectory.arrays import describe_index, error_location

__all__ = ["NpzArchive", "load_npz", "npz_header", "open_npz", "save_npz"]

#: Name of the archive entry holding the JSON header.
_META_KEY = "__meta__"
#: Deflate expands at most 1032 times; more declared bytes than that cannot be real.
_DEFLATE_MAX_RATIO = 1032
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}


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


class NpzArchive:
    """An NPZ archive opened for bounded reading (see the module docstring).

    Attributes
    ----------
    path : pathlib.Path
    files : list of str
        The array names (members without their ``.npy`` suffix).
    """

    def __init__(self, zf: zipfile.ZipFile, path: Path) -> None:
        self.path = path
        self._zip = zf
        self._members: dict[str, zipfile.ZipInfo] = {}
        for info in zf.infolist():
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            self._members[name] = info
        self.files = list(self._members)

    def _bad(self, name: str, message: str) -> FileFormatError:
        return FileFormatError(f"{self.path}: array {name!r}: {message}")

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = self._members[name]
        if info.flag_bits & 0x1:
            raise self._bad(name, "the archive entry is encrypted; not written by save_npz")
        if info.compress_type not in _METHODS:
            raise self._bad(
                name,
                f"compression method {info.compress_type} is not supported (stored or deflate "
                f"only); not written by save_npz",
            )
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise self._bad(name, "a stored entry whose sizes disagree (damaged archive)")
        if info.file_size > _DEFLATE_MAX_RATIO * info.compress_size + 1024:
            raise self._bad(
                name,
                f"declares {info.file_size:,} bytes from {info.compress_size:,} compressed "
                f"bytes, more than deflate can produce (a damaged file or a zip bomb)",
            )
        return info

    def read(
        self,
        name: str,
        *,
        shape: tuple[int, ...] | None = None,
        dtype: np.dtype | None = None,
        max_bytes: int | None = None,
    ) -> np.ndarray:
        """Read array ``name``, refusing it before decompression unless its ``.npy`` header
        declares ``shape`` and ``dtype`` (when given) and fits its archive entry.

        Raises
        ------
        FileFormatError
            On any mismatch or damage (naming the file and the array).
        """
        info = self._info(name)
        if max_bytes is not None and info.file_size > max_bytes:
            raise self._bad(name, f"{info.file_size:,} bytes; at most {max_bytes:,} are read")
        try:
            with self._zip.open(info) as fh:
                version = np.lib.format.read_magic(fh)
                if version == (1, 0):
                    found, fortran, found_dtype = np.lib.format.read_array_header_1_0(fh)
                elif version == (2, 0):
                    found, fortran, found_dtype = np.lib.format.read_array_header_2_0(fh)
                else:
                    raise self._bad(name, f".npy format version {version} is not supported")
                offset = fh.tell()
                if found_dtype.hasobject:
                    raise self._bad(name, "holds Python objects (a pickle), which are never read")
                if dtype is not None and found_dtype != dtype:
                    raise self._bad(
                        name, f"wrong dtype {found_dtype}; expected {dtype} (per the header)"
                    )
                if shape is not None and tuple(found) != shape:
                    raise self._bad(
                        name,
                        f"declares shape {tuple(found)}; the header implies {shape} (damaged "
                        f"or assembled from different files)",
                    )
                nbytes = math.prod(found) * found_dtype.itemsize
                if offset + nbytes != info.file_size:
                    raise self._bad(
                        name,
                        f"declares {nbytes:,} bytes of data but its archive entry holds "
                        f"{info.file_size - offset:,} (truncated or damaged)",
                    )
                arr = np.empty(found, dtype=found_dtype, order="F" if fortran else "C")
                view = memoryview(arr.reshape(-1, order="A").view(np.uint8))  # type: ignore[arg-type]
                reader: Any = fh
                filled = 0
                while filled < nbytes:
                    got = reader.readinto(view[filled:])
                    if not got:
                        raise self._bad(name, "ends early (truncated)")
                    filled += got
                if fh.read(1):  # also makes zipfile compare the entry's CRC-32
                    raise self._bad(name, "holds bytes after its data (damaged)")
        except CausalInfluenceError:
            raise
        except MemoryError:
            raise
        except Exception as err:  # zipfile, zlib and numpy report damage in many ways
            raise FileFormatError(
                f"{self.path}: array {name!r} could not be read (truncated or corrupted?): "
                f"{type(err).__name__}: {err}"
            ) from err
        return arr


@contextlib.contextmanager
def open_npz(path: Path) -> Iterator[NpzArchive]:
    """The archive as an open :class:`NpzArchive` (closed, with its file, on exit).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    FileFormatError
        If it is no readable zip archive.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such trajectory file")
    with open(path, "rb") as handle:
        if handle.read(6) == b"\x93NUMPY":
            raise FileFormatError(
                f"{path}: holds a single array (.npy), not an NPZ archive of a trajectory"
            )
        handle.seek(0)
        try:
            zf = zipfile.ZipFile(handle)
        except MemoryError:
            raise
        except Exception as err:  # BadZipFile, NotImplementedError, OSError, ValueError, ...
            raise FileFormatError(
                f"{path}: not a readable NPZ archive (truncated or corrupted?): "
                f"{type(err).__name__}: {err}"
            ) from err
        with zf:
            yield NpzArchive(zf, path)


def npz_header(npz: NpzArchive, path: Path) -> Header:
    """The checked header of an open archive (its ``__meta__`` entry).

    Raises
    ------
    FileFormatError
        If the entry is missing, not a 0-d string, not JSON or not a valid header.
    """
    if _META_KEY not in npz.files:
        if npz.files == ["arr_0"] or not npz.files:
            raise FileFormatError(
                f"{path}: holds no trajectory (no {_META_KEY!r} entry); not written by save_npz"
            )
        raise FileFormatError(
            f"{path}: no {_META_KEY!r} entry (the JSON header with metadata); not written by "
            f"save_npz"
        )
    raw = npz.read(_META_KEY, max_bytes=4 * MAX_JSON_BYTES + 1024)
    if raw.shape != () or raw.dtype.kind != "U":
        raise FileFormatError(
            f"{path}: {_META_KEY!r} must be a 0-d string array; got {describe(raw)}"
        )
    parsed = parse_json(str(raw), f"{path} [{_META_KEY}]", "the header")
    return Header(parsed, f"{path} [{_META_KEY}]")


def load_npz(path: str | os.PathLike[str], *, columns: Iterable[str] | None = None) -> Trajectory:
    """Read a trajectory written by :func:`save_npz` (bounded, never unpickling).

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


def _checked_member(npz: NpzArchive, name: str, header: Header, path: Path) -> np.ndarray:
    """Array ``name`` of the archive, of the shape and dtype its header implies."""
    if name not in npz.files:
        raise FileFormatError(
            f"{path}: array {name!r} is missing (the header lists it); rewrite the file"
        )
    return npz.read(name, shape=header.shape_of(name), dtype=np.dtype(header.fields[name]["dtype"]))
