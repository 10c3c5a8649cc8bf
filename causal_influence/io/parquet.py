"""Parquet trajectory files: a long table plus its JSON sidecar (the canonical format).

One row per (episode, t, agent), in trajectory order. Scalar columns ``episode``, ``t``,
``agent`` (index into the agent ids), ``action``, ``reward``, optional ``message``; per-agent
vectors are fixed-size-list columns: ``logits`` (A), ``message_logits`` (M), ``visible`` (the
row's agent as observer, N), ``influence`` (the row's agent as influencer k, N),
``counterfactual_logits`` (the row's agent as influencer, (N, K, A) flattened) and ``obs``
(flattened). The sidecar ``name.json`` holds the header
(:mod:`causal_influence.io.headers`); its write id is also stored in the Parquet schema.

Integrity: the sidecar holds the SHA-256 of the Parquet file, and the Parquet schema holds the
digest of the sidecar (:func:`~causal_influence.io.headers.header_digest`), so a flipped byte
in either file is a :class:`~causal_influence.errors.FileFormatError`, not a different
trajectory; the file is checked before pyarrow parses it. Pages carry CRC checksums
(``write_page_checksum``), verified on read. Files are opened as file objects, so names that
are not UTF-8 work.

Examples
--------
>>> import pathlib, tempfile
>>> import numpy as np
>>> from causal_influence.trajectory import Trajectory
>>> from causal_influence.io import load_parquet, save_parquet
>>> traj = Trajectory([[0, 1], [2, 1]], [[0.0, 1.0], [1.0, 0.0]], num_actions=3)
>>> path = save_parquet(traj, pathlib.Path(tempfile.mkdtemp()) / "run.parquet")
>>> load_parquet(path) == traj
True
"""

from __future__ import annotations

import contextlib
import glob
import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from causal_influence._optional import require
from causal_influence.errors import CausalInfluenceError, DTypeError, FileFormatError, describe
from causal_influence.io.atomic import atomic_write
from causal_influence.io.headers import (
    DATA_HASH_KEY,
    Header,
    check_sizes,
    check_suffix,
    header_digest,
    new_header,
    read_sidecar,
    sidecar_path,
)
from causal_influence.io.limits import read_json
from causal_influence.io.manifest import file_sha256
from causal_influence.trajectory import REQUIRED_FIELDS, Trajectory
from causal_influence.trajectory.long_table import (
    TableOrigin,
    arrow_list_to_numpy,
    from_long_columns,
    long_columns,
)
from causal_influence.trajectory.schema import COLUMN_OF, VECTOR_COLUMNS

__all__ = ["check_sidecar", "load_parquet", "save_parquet", "settled_header"]

#: Key of the Parquet schema metadata holding the write id (matched against the sidecar's).
_WRITE_ID_KEY = b"causal_influence.write_id"
#: Key of the Parquet schema metadata holding the digest of the sidecar (see
#: :func:`causal_influence.io.headers.header_digest`).
_HEADER_HASH_KEY = b"causal_influence.header_sha256"
#: dtypes of the key columns, which the sidecar does not list.
_KEY_DTYPES = {"episode": "int64", "t": "int64", "agent": "int64"}


def save_parquet(
    traj: Trajectory, path: str | os.PathLike[str], *, compression: str | None = "zstd"
) -> Path:
    """Write ``traj`` as a Parquet long table plus its JSON sidecar, atomically.

    Parameters
    ----------
    traj : Trajectory
    path : str or path-like
        Ends in ``.parquet``; the sidecar is ``path.with_suffix(".json")``.
    compression : str or None
        Parquet codec (``"zstd"``, ``"snappy"``, ``None``, ...).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    require("pyarrow", purpose="writing Parquet files")
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not isinstance(traj, Trajectory):
        raise DTypeError(f"save_parquet: expected a Trajectory; got {describe(traj)}")
    path = Path(path)
    check_suffix(path, ".parquet", "save_parquet")
    cols, _shapes = long_columns(traj)
    arrays, names = [], []
    for name, arr in cols.items():
        if arr.ndim == 1:
            arrays.append(pa.array(arr))
        else:
            arrays.append(
                pa.FixedSizeListArray.from_arrays(pa.array(arr.reshape(-1)), arr.shape[1])
            )
        names.append(name)
    header = new_header(traj, data_file=path.name, columns=True)
    table = pa.Table.from_arrays(arrays, names=names).replace_schema_metadata(
        {
            _WRITE_ID_KEY: header["write_id"].encode(),
            _HEADER_HASH_KEY: header_digest(header).encode(),
        }
    )
    with atomic_write(path, sidecar_path(path)) as (tmp_data, tmp_side):
        with open(tmp_data, "xb") as fh:  # a file object: any file name, UTF-8 or not
            pq.write_table(table, fh, compression=compression, write_page_checksum=True)
        header[DATA_HASH_KEY] = file_sha256(tmp_data)
        tmp_side.write_text(json.dumps(header, indent=1, allow_nan=False), encoding="utf-8")
    return path


def _arrow_errors() -> tuple[type[BaseException], ...]:
    import pyarrow as pa

    return (pa.ArrowException, OSError, EOFError, ValueError)


def load_parquet(
    path: str | os.PathLike[str], *, columns: Iterable[str] | None = None
) -> Trajectory:
    """Read a trajectory written by :func:`save_parquet`.

    Parameters
    ----------
    path : str or path-like
        The ``.parquet`` file (its sidecar must sit next to it).
    columns : iterable of str, optional
        Optional fields to read (e.g. ``["logits"]`` to skip observations); default all.
        ``actions``, ``rewards``, ``episode_ids`` and ``t`` are always read.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    FileFormatError
        If the file or its sidecar is malformed (names file, column, row).
    """
    require("pyarrow", purpose="reading Parquet files")

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such trajectory file")
    header = settled_header(path)
    optional = header.optional(columns, path)
    origin = TableOrigin(str(path))
    schema = None
    if header.data_sha256 is not None and file_sha256(path) != header.data_sha256:
        with contextlib.suppress(FileFormatError), open(path, "rb") as fh:
            schema = _open_parquet(fh, path).schema_arrow
        if schema is not None:
            _check_write_id(path, header, schema)  # a better message for swapped pairs
        raise FileFormatError(
            f"{path}: its content does not match the checksum in its sidecar "
            f"{sidecar_path(path).name} (damaged, or replaced by a file from another write); "
            f"it is not read: restore or write it again"
        )
    with open(path, "rb") as fh:
        pfile = _open_parquet(fh, path)
        schema = pfile.schema_arrow
        _check_write_id(path, header, schema)
        _check_header_digest(path, header, schema)
        wanted: dict[str, str | None] = {"episode": "episode_ids", "t": "t", "agent": None}
        for name in (*REQUIRED_FIELDS, *optional):
            wanted[COLUMN_OF[name]] = name
        _check_schema(schema, wanted, header, origin)
        out = {
            col: _read_column(pfile, path, col, fname, header, origin)
            for col, fname in wanted.items()
        }
    shapes = {name: tuple(header.fields[name]["shape"]) for name in optional}
    traj = from_long_columns(
        out,
        origin,
        shapes=shapes,
        num_agents=header.num_agents,
        metadata=header.build_meta,
        meta={},
    )
    check_sizes(traj, header, path)
    return header.upgrade(traj)


def settled_header(path: Path) -> Header:
    """The sidecar header of the Parquet file ``path``, completing a replacement that was
    interrupted between the data file and its sidecar.

    :func:`save_parquet` replaces the data file, then the sidecar; a kill between the two
    leaves the new data file beside the old sidecar (or none), with the new sidecar already
    written to a hidden temporary file beside it. When the sidecar's write id is not the data
    file's, such a temporary file with the data file's write id (and checksum) is the sidecar
    it was written with: it is moved into place and used. Otherwise the sidecar is returned as
    it is (and the mismatch is reported by the reader).

    Raises
    ------
    FileFormatError
        If the sidecar is missing or invalid and no interrupted write explains it.
    """
    side = sidecar_path(path)
    try:
        header: Header | None = read_sidecar(path)
        problem: FileFormatError | None = None
    except FileFormatError as err:
        header, problem = None, err
    stored = _stored_write_id(path)
    if stored is None or (header is not None and header.write_id == stored):
        if header is None:
            assert problem is not None
            raise problem
        return header
    for candidate in sorted(side.parent.glob(f".{glob.escape(side.name)}.*.tmp")):
        try:
            found = Header(read_json(candidate, "sidecar"), str(side))
        except (FileFormatError, OSError):
            continue
        if found.write_id != stored:
            continue
        if found.data_sha256 is not None and found.data_sha256 != file_sha256(path):
            continue
        with contextlib.suppress(OSError):
            os.replace(candidate, side)  # finish the interrupted write
        return found
    if header is None:
        assert problem is not None
        raise problem
    return header


def _stored_write_id(path: Path) -> str | None:
    """The write id in the Parquet file's schema, or None when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            metadata = _open_parquet(fh, path).schema_arrow.metadata or {}
    except (FileFormatError, OSError):
        return None
    stored = metadata.get(_WRITE_ID_KEY)
    return None if stored is None else stored.decode(errors="replace")


def _open_parquet(fh: Any, path: Path) -> Any:
    """The Parquet file of the open handle ``fh`` (page checksums verified on read)."""
    import pyarrow.parquet as pq

    try:
        # Streamed column chunks (no pre-buffering of whole chunks): reading holds about one
        # batch of a column in Arrow memory (_read_column).
        pfile = pq.ParquetFile(
            fh, page_checksum_verification=True, pre_buffer=False, buffer_size=1 << 20
        )
        pfile.schema_arrow  # noqa: B018  (parses the schema now, inside the try)
    except _arrow_errors() as err:
        raise FileFormatError(
            f"{path}: not a readable Parquet file (truncated or corrupted?): {str(err).strip()}"
        ) from err
    return pfile


def parquet_header_digest(path: Path) -> str | None:
    """The sidecar digest stored in the schema of the Parquet file ``path`` (None for files
    written before digests were stored).

    Raises
    ------
    FileFormatError
        If the file is not readable Parquet.
    """
    with open(path, "rb") as fh:
        metadata = _open_parquet(fh, path).schema_arrow.metadata or {}
    stored = metadata.get(_HEADER_HASH_KEY)
    return None if stored is None else stored.decode(errors="replace")


def check_sidecar(path: Path, header: Header) -> None:
    """The sidecar ``header`` is the one the Parquet file ``path`` was written with.

    Raises
    ------
    FileFormatError
        If the file stores another sidecar digest, or none while the sidecar has a checksum.
    """
    stored = parquet_header_digest(path)
    _compare_digest(path, header, stored)


def _check_header_digest(path: Path, header: Header, schema: Any) -> None:
    stored = (schema.metadata or {}).get(_HEADER_HASH_KEY)
    _compare_digest(path, header, None if stored is None else stored.decode(errors="replace"))


def _compare_digest(path: Path, header: Header, stored: str | None) -> None:
    if stored is None and header.data_sha256 is None:
        return  # written before checksums were stored: nothing to compare
    if stored is None or stored != header_digest(header.raw):
        raise FileFormatError(
            f"{path}: its sidecar {sidecar_path(path).name} does not match the one the file was "
            f"written with (edited or damaged); it is not read: restore or write it again"
        )


#: Rows decoded at a time when a column is read (bounds Arrow's working memory).
_BATCH_ROWS = 1 << 16


class _RowsFrom(TableOrigin):
    """A :class:`TableOrigin` for a batch of rows starting at ``offset``: errors name the row
    of the whole table."""

    def __init__(self, origin: TableOrigin, offset: int) -> None:
        super().__init__(origin.file, labels=origin.labels)
        self.keys = origin.keys
        self.offset = offset

    def fail(
        self, cls: type[CausalInfluenceError], column: str, message: str, row: int | None = None
    ) -> CausalInfluenceError:
        return super().fail(cls, column, message, None if row is None else row + self.offset)


def _read_column(
    pfile: Any, path: Path, col: str, fname: str | None, header: Header, origin: TableOrigin
) -> np.ndarray:
    """One column as numpy, decoded in batches of :data:`_BATCH_ROWS` rows into one array.

    Column by column and batch by batch, Arrow never holds more than one batch of decoded
    values (reading a whole list column at once takes about three times its size), so
    loading a shard peaks near the size of the trajectory it becomes."""
    rows = int(pfile.metadata.num_rows)
    out: np.ndarray | None = None
    pos = 0
    try:
        if rows == 0:
            column = pfile.read(columns=[col], use_threads=False).column(col)
            return _column_to_numpy(column, col, fname, header, origin)
        batches = pfile.iter_batches(batch_size=_BATCH_ROWS, columns=[col], use_threads=False)
        for batch in batches:
            part = _column_to_numpy(batch.column(0), col, fname, header, _RowsFrom(origin, pos))
            if out is None:
                out = np.empty((rows, *part.shape[1:]), dtype=part.dtype)
            out[pos : pos + len(part)] = part
            pos += len(part)
    except _arrow_errors() as err:
        raise FileFormatError(
            f"{path}: could not read the Parquet data (truncated or corrupted?): {str(err).strip()}"
        ) from err
    if out is None or pos != rows:
        raise FileFormatError(
            f"{path}: column {col!r} holds {pos} rows; the file's metadata says {rows} "
            f"(truncated or corrupted?)"
        )
    return out


def _check_write_id(path: Path, header: Header, schema: Any) -> None:
    """The sidecar and the Parquet file come from the same write."""
    stored_id = (schema.metadata or {}).get(_WRITE_ID_KEY, b"").decode(errors="replace")
    if header.write_id != stored_id:
        raise FileFormatError(
            f"{path}: the sidecar {sidecar_path(path).name} belongs to another write (write id "
            f"{header.write_id!r} vs {stored_id!r} in the Parquet file); the pair is "
            f"inconsistent, save the trajectory again"
        )


def _check_schema(
    schema: Any, wanted: dict[str, str | None], header: Header, origin: TableOrigin
) -> None:
    """Every wanted column (column -> field, None for ``agent``) is present with its dtype."""
    for col, fname in wanted.items():
        if col not in schema.names:
            why = f"the sidecar lists field {fname!r}" if fname else "every table has it"
            raise origin.fail(FileFormatError, col, f"missing column ({why})")
        typ = schema.field(col).type
        expected = header.fields[fname]["dtype"] if fname else _KEY_DTYPES[col]
        _check_arrow_type(origin, col, typ, np.dtype(expected), vector=fname in VECTOR_COLUMNS)


def _check_arrow_type(
    origin: TableOrigin, col: str, typ: Any, expected: np.dtype, *, vector: bool
) -> None:
    import pyarrow as pa

    if vector:
        if not (pa.types.is_fixed_size_list(typ) or pa.types.is_list(typ)):
            raise origin.fail(
                FileFormatError,
                col,
                f"wrong dtype: expected a list column of {expected}; got {typ}",
            )
        typ = typ.value_type
    if expected.kind in "iu":
        ok = pa.types.is_integer(typ)
    else:
        try:
            ok = np.dtype(typ.to_pandas_dtype()) == expected
        except (NotImplementedError, TypeError):
            ok = False
    if not ok:
        raise origin.fail(
            FileFormatError, col, f"wrong dtype: expected {expected} (per the sidecar); got {typ}"
        )


def _column_to_numpy(
    chunked: Any, col: str, fname: str | None, header: Header, origin: TableOrigin
) -> np.ndarray:
    """One column read from the file as numpy: (rows, W) for vector fields, else (rows,)
    (integers as int64); nulls raise."""
    import pyarrow as pa

    if fname is not None and fname in VECTOR_COLUMNS:
        width = math.prod(header.fields[fname]["shape"])
        return arrow_list_to_numpy(chunked, col, origin, width=width)
    if chunked.null_count:
        nulls = chunked.is_null().to_numpy(zero_copy_only=False)
        raise origin.fail(FileFormatError, col, "missing value (null)", int(np.argmax(nulls)))
    if isinstance(chunked, pa.ChunkedArray):
        chunked = chunked.combine_chunks()
    arr = chunked.to_numpy(zero_copy_only=False)
    return arr.astype(np.int64, copy=False) if arr.dtype.kind in "iu" else arr
