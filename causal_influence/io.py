"""Trajectory files: Parquet long table + JSON sidecar (canonical), NPZ, shard directories.

Formats
-------
**Parquet** (``name.parquet`` + ``name.json``): a long table with one row per
(episode, t, agent), in trajectory order. Scalar columns ``episode``, ``t``, ``agent`` (index
into the agent ids), ``action``, ``reward``, optional ``message``; per-agent vectors are
fixed-size-list columns: ``logits`` (A), ``message_logits`` (M), ``visible`` (the row's agent as
observer, N), ``influence`` (the row's agent as influencer k, N), ``counterfactual_logits``
(the row's agent as influencer, (N, K, A) flattened) and ``obs`` (flattened). pandas, DuckDB,
Dask or Ray read the table directly. The JSON sidecar holds the format name, the schema
version, the metadata (:class:`~causal_influence.trajectory.TrajectoryMeta`), the fields
present with their dtypes and trailing shapes, the sizes, and a write id that must match the
one stored in the Parquet schema (so a sidecar from another write is detected).

**NPZ** (``name.npz``): the stacked arrays under their field names (``actions`` (T, N),
``rewards``, ``episode_ids``, ``t``, optional fields) plus ``__meta__``, a 0-d string array
holding the same JSON header. Needs nothing beyond numpy.

**Shard directories**: any directory (or glob, or list) of ``.parquet`` / ``.npz`` files,
read with :func:`open_dataset` as one dataset streamed shard by shard, so memory stays bounded
by the largest shard whatever the number of shards; :func:`write_shards` writes one.

Safety
------
Writes are atomic: each file goes to a temporary file in the same directory and is moved into
place with ``os.replace``; the data file and its sidecar are replaced together, and the old
data file is restored if the sidecar cannot be. Loading never executes code from a file:
``numpy.load(..., allow_pickle=False)``, JSON for metadata, and :func:`load_torch_checkpoint`
uses ``torch.load(..., weights_only=True)``.

Every malformed file raises :class:`~causal_influence.errors.FileFormatError` (a
``ValueError``) naming the file and, where it applies, the column (or NPZ array) and row:
missing columns, wrong dtypes, ragged tables (missing or duplicate rows, jumps in t),
out-of-range actions or messages, NaN logits, truncated or corrupted files, a missing or
invalid sidecar, metadata or schema-version mismatches.

Examples
--------
>>> import tempfile, pathlib
>>> import numpy as np
>>> from causal_influence.trajectory import Trajectory
>>> from causal_influence import io
>>> traj = Trajectory(np.array([[0, 1], [2, 1]]), np.array([[0.0, 1.0], [1.0, 0.0]]),
...                   logits=np.zeros((2, 2, 3), dtype=np.float32), env_name="harvest")
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> io.save(traj, folder / "run.parquet")
PosixPath('.../run.parquet')
>>> sorted(p.name for p in folder.iterdir())
['run.json', 'run.parquet']
>>> io.load(folder / "run.parquet") == traj
True
>>> io.load_npz(io.save_npz(traj, folder / "run.npz")) == traj
True
"""

from __future__ import annotations

import contextlib
import glob
import json
import math
import os
import re
import uuid
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from causal_influence.errors import (
    CausalInfluenceError,
    ConfigError,
    DTypeError,
    FileFormatError,
    describe,
)
from causal_influence.trajectory import (
    ARRAY_FIELDS,
    EPISODE_FIELDS,
    OPTIONAL_FIELDS,
    REQUIRED_FIELDS,
    Trajectory,
    TrajectoryMeta,
    concat,
)
from causal_influence.trajectory.arrays import describe_index, error_location
from causal_influence.trajectory.long_table import (
    TableOrigin,
    arrow_list_to_numpy,
    from_long_columns,
    long_columns,
    natural_key,
)
from causal_influence.trajectory.metadata import merge_metadata, metadata_mismatch
from causal_influence.trajectory.schema import COLUMN_OF, SCALAR_COLUMNS, VECTOR_COLUMNS

__all__ = [
    "FORMAT_NAME",
    "SCHEMA_VERSION",
    "TrajectoryDataset",
    "atomic_write",
    "load",
    "load_npz",
    "load_parquet",
    "load_torch_checkpoint",
    "open_dataset",
    "read_metadata",
    "save",
    "save_npz",
    "save_parquet",
    "sidecar_path",
    "write_shards",
]

#: Name written into every header ("format" key).
FORMAT_NAME = "causal-influence-trajectory"
#: Version of the file layout; readers refuse other versions.
SCHEMA_VERSION = 1

_SUFFIXES = {".parquet": "parquet", ".npz": "npz"}
_META_KEY = "__meta__"
_WRITE_ID_KEY = b"causal_influence.write_id"
_KEY_DTYPES = {"episode": "int64", "t": "int64", "agent": "int64"}


# --------------------------------------------------------------------------------------------
# atomic writes


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temp_name(path: Path) -> Path:
    # Hidden and without the data suffix, so dataset listings never pick it up.
    return path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"


@contextlib.contextmanager
def atomic_write(*paths: str | os.PathLike[str]) -> Iterator[tuple[Path, ...]]:
    """Write one or more files atomically: yields temporary paths to write to.

    On a clean exit each temporary file is flushed to disk and moved over its final path with
    ``os.replace`` (in the order given); if replacing a later file fails, the earlier ones are
    restored to their previous content. On any exception the temporary files are removed and
    the final paths keep their previous content. Temporary files live in the final file's
    directory, are hidden (``.name.<random>.tmp``) and are created by the writer.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> with atomic_write(target) as (tmp,):
    ...     _ = tmp.write_text("hello")
    >>> target.read_text()
    'hello'
    """
    finals = [Path(p) for p in paths]
    temps = [_temp_name(p) for p in finals]
    backups: list[Path] = []
    replaced: list[tuple[Path, Path | None]] = []
    try:
        yield tuple(temps)
        for tmp in temps:
            _fsync_file(tmp)
        for final, tmp in zip(finals, temps, strict=True):
            backup: Path | None = None
            if final.exists():
                backup = _temp_name(final)
                try:
                    os.link(final, backup)  # the old content, to roll back to
                    backups.append(backup)
                except OSError:
                    backup = None
            os.replace(tmp, final)
            replaced.append((final, backup))
        for directory in {f.parent for f in finals}:
            _fsync_dir(directory)
    except BaseException:
        # undo the files already replaced, newest first
        for final, old in reversed(replaced):
            with contextlib.suppress(OSError):
                if old is None:
                    final.unlink()
                else:
                    os.replace(old, final)
        raise
    finally:
        for leftover in (*temps, *backups):
            with contextlib.suppress(OSError):
                leftover.unlink()


# --------------------------------------------------------------------------------------------
# headers (sidecar JSON / NPZ __meta__)


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """The JSON sidecar of a Parquet trajectory file (``run.parquet`` -> ``run.json``)."""
    return Path(path).with_suffix(".json")


def _header(traj: Trajectory, *, data_file: str, columns: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in (*REQUIRED_FIELDS, *EPISODE_FIELDS, *traj.fields):
        arr = traj.to_dict()[name]
        entry: dict[str, Any] = {"dtype": str(arr.dtype), "shape": []}
        if name in OPTIONAL_FIELDS and name not in SCALAR_COLUMNS:
            entry["shape"] = [int(s) for s in arr.shape[2:]]
        if columns:
            entry["column"] = COLUMN_OF[name]
        fields[name] = entry
    return {
        "format": FORMAT_NAME,
        "schema_version": SCHEMA_VERSION,
        "data_file": data_file,
        "write_id": uuid.uuid4().hex,
        "num_steps": traj.num_steps,
        "num_agents": traj.num_agents,
        "num_episodes": traj.num_episodes,
        "fields": fields,
        "metadata": traj.metadata.to_dict(),
    }


class _Header:
    """A checked header: metadata, field entries and sizes."""

    def __init__(self, raw: Any, where: str) -> None:
        def bad(message: str) -> FileFormatError:
            return FileFormatError(f"{where}: {message}")

        if not isinstance(raw, dict):
            raise bad(f"expected a JSON object; got {type(raw).__name__}")
        if raw.get("format") != FORMAT_NAME:
            raise bad(
                f"not a causal-influence trajectory header (format={raw.get('format')!r}, "
                f"expected {FORMAT_NAME!r})"
            )
        version = raw.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise bad(f"schema_version: expected an integer; got {version!r}")
        if version > SCHEMA_VERSION:
            raise bad(
                f"schema_version {version} was written by a newer causal-influence; this one "
                f"reads version {SCHEMA_VERSION}; upgrade causal-influence"
            )
        if version != SCHEMA_VERSION:
            raise bad(f"schema_version {version} is not supported (expected {SCHEMA_VERSION})")
        fields = raw.get("fields")
        if not isinstance(fields, dict):
            raise bad("fields: missing or not an object")
        for name in (*REQUIRED_FIELDS, *EPISODE_FIELDS):
            if name not in fields:
                raise bad(f"fields: required field {name!r} is not listed")
        for name, entry in fields.items():
            if name not in ARRAY_FIELDS:
                raise bad(f"fields: unknown field {name!r}")
            ok = (
                isinstance(entry, dict)
                and isinstance(entry.get("dtype"), str)
                and isinstance(entry.get("shape"), list)
                and all(isinstance(s, int) and s >= 0 for s in entry["shape"])
            )
            if not ok:
                raise bad(f"fields: entry of {name!r} must be {{'dtype': str, 'shape': [int]}}")
            try:
                np.dtype(entry["dtype"])
            except TypeError as err:
                raise bad(f"fields: {name!r} has an unknown dtype {entry['dtype']!r}") from err
        for key in ("num_steps", "num_agents"):
            if not isinstance(raw.get(key), int) or raw[key] < 0:
                raise bad(f"{key}: expected a non-negative integer; got {raw.get(key)!r}")
        metadata = raw.get("metadata")
        if not isinstance(metadata, dict):
            raise bad("metadata: missing or not an object")
        try:
            self.meta = TrajectoryMeta.from_dict(metadata)
        except (CausalInfluenceError, TypeError) as err:
            raise bad(f"metadata: {err}") from err
        if self.meta.num_agents != raw["num_agents"]:
            raise bad(
                f"metadata lists {self.meta.num_agents} agent ids but num_agents is "
                f"{raw['num_agents']}"
            )
        self.fields: dict[str, dict[str, Any]] = fields
        self.num_steps: int = raw["num_steps"]
        self.num_agents: int = raw["num_agents"]
        self.write_id = raw.get("write_id")
        self.data_file = raw.get("data_file")

    def optional(self, columns: Iterable[str] | None, file: Path) -> list[str]:
        """Optional fields to load: all present (None) or the requested ones."""
        present = [f for f in OPTIONAL_FIELDS if f in self.fields]
        if columns is None:
            return present
        wanted = [columns] if isinstance(columns, str) else list(columns)
        unknown = [c for c in wanted if c not in OPTIONAL_FIELDS]
        if unknown:
            raise ConfigError(
                f"columns: unknown fields {unknown}; choose among {OPTIONAL_FIELDS} (actions, "
                f"rewards, episode_ids and t are always loaded)"
            )
        absent = [c for c in wanted if c not in self.fields]
        if absent:
            raise ConfigError(f"{file}: has no {absent}; fields present: {present}")
        return [f for f in OPTIONAL_FIELDS if f in wanted]


def _read_sidecar(path: Path) -> _Header:
    side = sidecar_path(path)
    if not side.is_file():
        raise FileFormatError(
            f"{path}: its JSON sidecar {side.name} is missing; a Parquet trajectory needs the "
            f"sidecar written by save_parquet (metadata, fields, write id)"
        )
    try:
        raw = json.loads(side.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise FileFormatError(f"{side}: sidecar is not UTF-8 text ({err})") from err
    except json.JSONDecodeError as err:
        raise FileFormatError(
            f"{side}: sidecar is not valid JSON (line {err.lineno}, column {err.colno}: "
            f"{err.msg}); truncated or edited by hand?"
        ) from err
    return _Header(raw, str(side))


# --------------------------------------------------------------------------------------------
# Parquet


def _check_suffix(path: Path, suffix: str, what: str) -> None:
    if path.suffix != suffix:
        raise ConfigError(f"{what}: expected a path ending in {suffix!r}; got {str(path)!r}")


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
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not isinstance(traj, Trajectory):
        raise DTypeError(f"save_parquet: expected a Trajectory; got {describe(traj)}")
    path = Path(path)
    _check_suffix(path, ".parquet", "save_parquet")
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
    header = _header(traj, data_file=path.name, columns=True)
    table = pa.Table.from_arrays(arrays, names=names).replace_schema_metadata(
        {_WRITE_ID_KEY: header["write_id"].encode()}
    )
    text = json.dumps(header, indent=1, allow_nan=False)
    with atomic_write(path, sidecar_path(path)) as (tmp_data, tmp_side):
        pq.write_table(table, str(tmp_data), compression=compression)
        tmp_side.write_text(text, encoding="utf-8")
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
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such trajectory file")
    header = _read_sidecar(path)
    optional = header.optional(columns, path)
    origin = TableOrigin(str(path))
    try:
        pfile = pq.ParquetFile(path)
        schema = pfile.schema_arrow
    except _arrow_errors() as err:
        raise FileFormatError(
            f"{path}: not a readable Parquet file (truncated or corrupted?): {str(err).strip()}"
        ) from err
    stored_id = (schema.metadata or {}).get(_WRITE_ID_KEY, b"").decode(errors="replace")
    if header.write_id != stored_id:
        raise FileFormatError(
            f"{path}: the sidecar {sidecar_path(path).name} belongs to another write (write id "
            f"{header.write_id!r} vs {stored_id!r} in the Parquet file); the pair is "
            f"inconsistent, save the trajectory again"
        )
    wanted: dict[str, str | None] = {"episode": "episode_ids", "t": "t", "agent": None}
    for name in (*REQUIRED_FIELDS, *optional):
        wanted[COLUMN_OF[name]] = name
    for col, fname in wanted.items():
        if col not in schema.names:
            why = f"the sidecar lists field {fname!r}" if fname else "every table has it"
            raise origin.fail(FileFormatError, col, f"missing column ({why})")
        typ = schema.field(col).type
        expected = header.fields[fname]["dtype"] if fname else _KEY_DTYPES[col]
        _check_arrow_type(origin, col, typ, np.dtype(expected), vector=fname in VECTOR_COLUMNS)
    try:
        table = pfile.read(columns=list(wanted))
    except _arrow_errors() as err:
        raise FileFormatError(
            f"{path}: could not read the Parquet data (truncated or corrupted?): {str(err).strip()}"
        ) from err
    out: dict[str, np.ndarray] = {}
    for col, fname in wanted.items():
        chunked = table.column(col)
        if fname is not None and fname in VECTOR_COLUMNS:
            width = math.prod(header.fields[fname]["shape"])
            out[col] = arrow_list_to_numpy(chunked, col, origin, width=width)
            continue
        if chunked.null_count:
            nulls = chunked.is_null().to_numpy(zero_copy_only=False)
            raise origin.fail(FileFormatError, col, "missing value (null)", int(np.argmax(nulls)))
        arr = (
            chunked.combine_chunks() if isinstance(chunked, pa.ChunkedArray) else chunked
        ).to_numpy(zero_copy_only=False)
        out[col] = arr.astype(np.int64, copy=False) if arr.dtype.kind in "iu" else arr
    shapes = {name: tuple(header.fields[name]["shape"]) for name in optional}
    traj = from_long_columns(
        out,
        origin,
        shapes=shapes,
        num_agents=header.num_agents,
        metadata=header.meta,
        meta={},
    )
    _check_sizes(traj, header, path)
    return traj


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


def _check_sizes(traj: Trajectory, header: _Header, path: Path) -> None:
    if traj.num_steps != header.num_steps:
        raise FileFormatError(
            f"{path}: holds {traj.num_steps} steps but its header says {header.num_steps}; the "
            f"file and its metadata do not match (rows lost or added?)"
        )
    for name in traj.fields:
        arr = traj.to_dict()[name]
        if name not in SCALAR_COLUMNS and list(arr.shape[2:]) != header.fields[name]["shape"]:
            raise FileFormatError(
                f"{path}: {name} has trailing shape {arr.shape[2:]}, header says "
                f"{header.fields[name]['shape']}"
            )


# --------------------------------------------------------------------------------------------
# NPZ


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
    _check_suffix(path, ".npz", "save_npz")
    header = _header(traj, data_file=path.name, columns=False)
    arrays: dict[str, Any] = dict(traj.to_dict())
    arrays[_META_KEY] = np.array(json.dumps(header, allow_nan=False))
    writer = np.savez_compressed if compress else np.savez
    with atomic_write(path) as (tmp,), open(tmp, "xb") as f:
        writer(f, **arrays)
    return path


_NPZ_ERRORS = (zipfile.BadZipFile, EOFError, ValueError, OSError, zlib.error, KeyError)


def _npz_member(npz: Any, key: str, path: Path) -> np.ndarray:
    try:
        return np.asarray(npz[key])
    except _NPZ_ERRORS as err:
        raise FileFormatError(
            f"{path}: array {key!r} could not be read (truncated or corrupted file?): "
            f"{type(err).__name__}: {err}"
        ) from err


@contextlib.contextmanager
def _open_npz(path: Path) -> Iterator[Any]:
    """The archive as an open ``NpzFile`` (closed, with its file, on exit)."""
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


def _npz_header(npz: Any, path: Path) -> _Header:
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
    return _Header(parsed, f"{path} [{_META_KEY}]")


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
    with _open_npz(path) as npz:
        header = _npz_header(npz, path)
        optional = header.optional(columns, path)
        arrays: dict[str, np.ndarray] = {}
        for name in (*REQUIRED_FIELDS, *EPISODE_FIELDS, *optional):
            if name not in npz.files:
                raise FileFormatError(
                    f"{path}: array {name!r} is missing (the header lists it); rewrite the file"
                )
            arr = _npz_member(npz, name, path)
            expected = np.dtype(header.fields[name]["dtype"])
            if arr.dtype != expected:
                raise FileFormatError(
                    f"{path}: array {name!r}: wrong dtype {arr.dtype}; expected {expected} (per "
                    f"the header)"
                )
            arrays[name] = arr
    try:
        traj = Trajectory(**arrays, metadata=header.meta, copy=False)
    except CausalInfluenceError as err:
        field_name, index = error_location(err)
        name = field_name or "metadata"
        row = ""
        if index:
            row = f", row {int(index[0])} ({describe_index(index, header.meta.agent_ids)})"
        raise FileFormatError(f"{path}: array {name!r}{row}: {err}") from err
    _check_sizes(traj, header, path)
    return traj


# --------------------------------------------------------------------------------------------
# dispatch


def _format_of(path: Path) -> str:
    fmt = _SUFFIXES.get(path.suffix)
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
    if _format_of(path) == "parquet":
        return save_parquet(traj, path, **options)
    return save_npz(traj, path, **options)


def load(path: str | os.PathLike[str], *, columns: Iterable[str] | None = None) -> Trajectory:
    """Load a ``.parquet`` or ``.npz`` trajectory (see :func:`load_parquet`, :func:`load_npz`)."""
    path = Path(path)
    if _format_of(path) == "parquet":
        return load_parquet(path, columns=columns)
    return load_npz(path, columns=columns)


def read_metadata(path: str | os.PathLike[str]) -> TrajectoryMeta:
    """The metadata of a trajectory file, without reading its arrays.

    Raises
    ------
    FileFormatError
        If the sidecar / header is missing or invalid.
    """
    return _read_header(Path(path)).meta


def _read_header(path: Path) -> _Header:
    if _format_of(path) == "parquet":
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such trajectory file")
        return _read_sidecar(path)
    with _open_npz(path) as npz:
        return _npz_header(npz, path)


# --------------------------------------------------------------------------------------------
# datasets of shards


class TrajectoryDataset:
    """Trajectory shards (``.parquet`` / ``.npz`` files) read as one dataset, one at a time.

    Iterating loads one shard at a time and keeps no reference to it, so memory is bounded
    by the largest shard (the caller holds at most the shard it is working on), whatever the
    number of shards. Build it with :func:`open_dataset`.

    Attributes
    ----------
    paths : tuple of pathlib.Path
        The shards, in reading order.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from causal_influence.trajectory import Trajectory
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> traj = Trajectory(np.zeros((6, 2), int), np.ones((6, 2)),
    ...                   episode_ids=[0, 0, 1, 1, 2, 2], num_actions=4)
    >>> _ = write_shards([traj], folder, episodes_per_shard=1)
    >>> ds = open_dataset(folder)
    >>> ds.num_shards, ds.num_steps, ds.metadata.num_actions
    (3, 6, 4)
    >>> [len(shard) for shard in ds]
    [2, 2, 2]
    >>> ds.read_all() == traj
    True
    """

    def __init__(self, paths: Sequence[str | os.PathLike[str]]) -> None:
        self.paths: tuple[Path, ...] = tuple(Path(p) for p in paths)
        if not self.paths:
            raise FileNotFoundError("TrajectoryDataset: no shards")
        for p in self.paths:
            _format_of(p)
        self._headers: list[_Header] | None = None

    def __repr__(self) -> str:
        return f"TrajectoryDataset(num_shards={self.num_shards}, first={str(self.paths[0])!r})"

    @property
    def num_shards(self) -> int:
        """Number of shard files."""
        return len(self.paths)

    def __len__(self) -> int:
        return len(self.paths)

    def _all_headers(self) -> list[_Header]:
        if self._headers is None:
            headers = [_read_header(p) for p in self.paths]
            for p, h in zip(self.paths[1:], headers[1:], strict=True):
                self._check_agrees(p, h.meta, headers[0].meta)
            self._headers = headers
        return self._headers

    def _check_agrees(self, path: Path, meta: TrajectoryMeta, reference: TrajectoryMeta) -> None:
        bad = metadata_mismatch(reference, meta)
        if bad is not None:
            raise FileFormatError(
                f"{path}: disagrees with {self.paths[0]} on {bad}; every shard of a dataset "
                f"needs the same agents, actions, symbols and env"
            )

    @property
    def metadata(self) -> TrajectoryMeta:
        """Metadata shared by the shards (read from headers only; checks they agree).

        ``seed`` is kept only if every shard has the same, ``extra`` only shared entries.

        Raises
        ------
        FileFormatError
            If shards disagree on agents, actions, symbols or env, or a header is invalid.
        """
        return merge_metadata([h.meta for h in self._all_headers()])

    @property
    def num_steps(self) -> int:
        """Total number of steps over all shards (from the headers)."""
        return sum(h.num_steps for h in self._all_headers())

    def read_shard(self, index: int, *, columns: Iterable[str] | None = None) -> Trajectory:
        """Load shard ``index`` (optional fields limited to ``columns``)."""
        return load(self.paths[index], columns=columns)

    def iter_shards(self, *, columns: Iterable[str] | None = None) -> Iterator[Trajectory]:
        """Yield each shard as a :class:`Trajectory`, loading one at a time.

        Parameters
        ----------
        columns : iterable of str, optional
            Optional fields to read (e.g. ``["logits", "influence"]``, skipping ``obs``).

        Raises
        ------
        FileFormatError
            On a malformed shard, or one that disagrees with the first shard's metadata.
        """
        cols = None if columns is None else list(columns)
        reference: TrajectoryMeta | None = None
        for path in self.paths:
            shard = load(path, columns=cols)
            if reference is None:
                reference = shard.metadata
            else:
                self._check_agrees(path, shard.metadata, reference)
            yield shard
            del shard  # hold nothing while the next shard loads

    def __iter__(self) -> Iterator[Trajectory]:
        return self.iter_shards()

    def read_all(
        self, *, columns: Iterable[str] | None = None, renumber: bool = False
    ) -> Trajectory:
        """All shards concatenated in order (see :func:`~causal_influence.trajectory.concat`).

        Episodes split across consecutive shards are joined back; shards that reuse episode
        ids (e.g. one episode per file, each numbered 0) need ``renumber=True``.
        """
        return concat(self.iter_shards(columns=columns), renumber=renumber)


_GLOB_CHARS = re.compile(r"[*?\[]")


def open_dataset(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
) -> TrajectoryDataset:
    """A :class:`TrajectoryDataset` from a directory, a glob pattern, a file or a list of files.

    A directory contributes its ``*.parquet`` and ``*.npz`` files (not recursively; hidden
    files are skipped), in natural name order (``shard_2`` before ``shard_10``).

    Raises
    ------
    FileNotFoundError
        If nothing matches.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            found = [
                p
                for p in path.iterdir()
                if p.is_file() and p.suffix in _SUFFIXES and not p.name.startswith(".")
            ]
        elif path.is_file():
            found = [path]
        elif _GLOB_CHARS.search(str(source)):
            found = [
                Path(p)
                for p in glob.glob(str(source))
                if Path(p).suffix in _SUFFIXES and not Path(p).name.startswith(".")
            ]
        else:
            raise FileNotFoundError(f"{source}: no such directory or file")
        found.sort(key=lambda p: natural_key(p.name))
    else:
        found = [Path(p) for p in source]
    if not found:
        raise FileNotFoundError(f"{source}: no .parquet or .npz trajectory files")
    return TrajectoryDataset(found)


def write_shards(
    trajectories: Trajectory | Iterable[Trajectory],
    directory: str | os.PathLike[str],
    *,
    prefix: str = "shard",
    fmt: str = "parquet",
    episodes_per_shard: int | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write trajectories as numbered shards ``{prefix}_00000.{fmt}``, ... in ``directory``.

    Parameters
    ----------
    trajectories : Trajectory or iterable of Trajectory
        Written one at a time (a generator is consumed lazily, so memory stays bounded).
    directory : str or path-like
        Created if needed.
    prefix : str
        File name prefix.
    fmt : {"parquet", "npz"}
    episodes_per_shard : int, optional
        Split each trajectory into shards of this many episodes.
    overwrite : bool
        Replace existing ``{prefix}_NNNNN`` shards (stale higher-numbered ones are removed);
        otherwise existing shards raise ``FileExistsError`` before anything is written.

    Returns
    -------
    list of pathlib.Path
        The shard files written.
    """
    if fmt not in ("parquet", "npz"):
        raise ConfigError(f"fmt: expected 'parquet' or 'npz'; got {fmt!r}")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", prefix) or prefix.startswith("."):
        raise ConfigError(f"prefix: expected letters, digits, '_', '-', '.'; got {prefix!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    pattern = re.compile(rf"^{re.escape(prefix)}_(\d+)\.(parquet|npz)$")
    existing = [p for p in directory.iterdir() if pattern.match(p.name)]
    if existing and not overwrite:
        raise FileExistsError(
            f"{directory}: already holds shards {sorted(p.name for p in existing)[:3]}...; pass "
            f"overwrite=True or another prefix"
        )
    if isinstance(trajectories, Trajectory):
        trajectories = [trajectories]
    written: list[Path] = []
    for traj in trajectories:
        if not isinstance(traj, Trajectory):
            raise DTypeError(f"write_shards: expected Trajectory objects; got {describe(traj)}")
        parts = [traj] if episodes_per_shard is None else traj.split_episodes(episodes_per_shard)
        for part in parts:
            path = directory / f"{prefix}_{len(written):05d}.{fmt}"
            written.append(save(part, path))
    keep = set(written)
    for p in existing:
        if p not in keep:
            p.unlink(missing_ok=True)
            if p.suffix == ".parquet":
                sidecar_path(p).unlink(missing_ok=True)
    return written


# --------------------------------------------------------------------------------------------
# checkpoints


def load_torch_checkpoint(path: str | os.PathLike[str], *, map_location: Any = "cpu") -> Any:
    """Load a torch checkpoint safely: ``torch.load(..., weights_only=True)``.

    Only tensors, containers, numbers and strings (and classes torch allows) are restored; a
    file that would need to execute code is refused. torch is imported on first use.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    FileFormatError
        If the file is truncated, corrupted, or holds objects a weights-only load refuses.
    """
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, zipfile.BadZipFile) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise FileFormatError(
            f"{path}: not a loadable weights-only checkpoint ({type(err).__name__}: {first}); "
            f"code from files is never executed, so save plain tensors and containers "
            f"(e.g. a state_dict)"
        ) from err
