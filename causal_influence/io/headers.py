"""Headers of trajectory files: the JSON sidecar of a Parquet file, ``__meta__`` of an NPZ.

A header holds the format name, the schema version, the metadata, the fields present with
their dtypes and trailing shapes, the sizes, and a write id (Parquet: also stored in the
file's schema, so a sidecar from another write is detected). :func:`new_header` makes one,
:class:`Header` checks one read back.

Examples
--------
>>> import numpy as np
>>> from causal_influence.trajectory import Trajectory
>>> from causal_influence.io.headers import Header, new_header
>>> traj = Trajectory([[0, 1]], [[0.0, 1.0]], logits=np.zeros((1, 2, 3)))
>>> raw = new_header(traj, data_file="run.npz", columns=False)
>>> raw["fields"]["logits"]
{'dtype': 'float64', 'shape': [3]}
>>> header = Header(raw, "run.npz")
>>> header.num_steps, header.meta.num_actions
(1, 3)
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from causal_influence.errors import CausalInfluenceError, ConfigError, FileFormatError
from causal_influence.io import limits
from causal_influence.trajectory import (
    ARRAY_FIELDS,
    EPISODE_FIELDS,
    OPTIONAL_FIELDS,
    REQUIRED_FIELDS,
    Trajectory,
    TrajectoryMeta,
)
from causal_influence.trajectory.influence_spec import absent_rows
from causal_influence.trajectory.schema import COLUMN_OF, SCALAR_COLUMNS

__all__ = [
    "DATA_HASH_KEY",
    "FORMAT_NAME",
    "READABLE_VERSIONS",
    "SCHEMA_VERSION",
    "Header",
    "check_sizes",
    "check_suffix",
    "header_digest",
    "new_header",
    "read_sidecar",
    "sidecar_path",
]

#: Name written into every header ("format" key).
FORMAT_NAME = "causal-influence-trajectory"
#: Version of the file layout written. 2: heterogeneous agents (per-agent action and symbol
#: counts, per-agent observation shapes, -1 = no message) and the typed influence spec in the
#: metadata. Readers refuse newer versions.
SCHEMA_VERSION = 2
#: Older versions still read (and converted: see :meth:`Header.upgrade`).
READABLE_VERSIONS: tuple[int, ...] = (1, 2)
#: Key of a Parquet sidecar holding the SHA-256 of its data file (checked on every load).
DATA_HASH_KEY = "data_sha256"


def header_digest(raw: dict[str, Any]) -> str:
    """SHA-256 of a header's content (canonical JSON, without :data:`DATA_HASH_KEY`).

    A Parquet file stores the digest of its sidecar in its schema metadata, and the sidecar
    stores the SHA-256 of the Parquet file, so a change to either file is detected.
    """
    content = {key: value for key, value in raw.items() if key != DATA_HASH_KEY}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """The JSON sidecar of a Parquet trajectory file (``run.parquet`` -> ``run.json``)."""
    return Path(path).with_suffix(".json")


def check_suffix(path: Path, suffix: str, what: str) -> None:
    """Raise :class:`~causal_influence.errors.ConfigError` unless ``path`` ends in ``suffix``."""
    if path.suffix != suffix:
        raise ConfigError(f"{what}: expected a path ending in {suffix!r}; got {str(path)!r}")


def new_header(traj: Trajectory, *, data_file: str, columns: bool) -> dict[str, Any]:
    """The header of a file about to hold ``traj`` (a fresh write id), JSON-ready.

    ``columns`` adds each field's long-table column name (Parquet).
    """
    arrays = traj.to_dict()
    fields: dict[str, Any] = {}
    for name in (*REQUIRED_FIELDS, *EPISODE_FIELDS, *traj.fields):
        arr = arrays[name]
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


class Header:
    """A checked header: metadata, field entries and sizes.

    Parameters
    ----------
    raw : object
        The parsed JSON.
    where : str
        The file (and entry) it was read from, for errors.

    Attributes
    ----------
    meta : TrajectoryMeta
    fields : dict of str to dict
        ``{field: {"dtype": str, "shape": [int, ...], ...}}`` for every field stored.
    num_steps, num_agents : int
    write_id, data_file : str or None
    version : int
        The schema version the file was written with.

    Raises
    ------
    FileFormatError
        On any problem, naming ``where``: another format, another schema version, missing or
        malformed fields, sizes or metadata.
    """

    def __init__(self, raw: Any, where: str) -> None:
        def bad(message: str) -> FileFormatError:
            return FileFormatError(f"{where}: {message}")

        if not isinstance(raw, dict):
            raise bad(f"expected a JSON object; got {type(raw).__name__}")
        _check_version(raw, bad)
        fields = raw.get("fields")
        if not isinstance(fields, dict):
            raise bad("fields: missing or not an object")
        _check_fields(fields, bad)
        for key, most in (("num_steps", limits.MAX_STEPS), ("num_agents", limits.MAX_AGENTS)):
            value = raw.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise bad(f"{key}: expected a non-negative integer; got {value!r}")
            if value > most:
                raise bad(f"{key}: {value:,} is more than the {most:,} a header may declare")
        metadata = raw.get("metadata")
        if not isinstance(metadata, dict):
            raise bad("metadata: missing or not an object")
        try:
            self.meta = TrajectoryMeta.from_dict(metadata)
        except (CausalInfluenceError, TypeError) as err:
            raise bad(f"metadata: {err}") from err
        for key in ("num_actions", "num_symbols"):
            size = getattr(self.meta, key)
            if size > limits.MAX_ALPHABET:
                raise bad(
                    f"metadata: {key}={size:,} is more than the {limits.MAX_ALPHABET:,} a "
                    f"header may declare"
                )
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
        self.version: int = raw["schema_version"]
        self.data_sha256 = raw.get(DATA_HASH_KEY)
        if self.data_sha256 is not None and not (
            isinstance(self.data_sha256, str) and len(self.data_sha256) == 64
        ):
            raise bad(f"{DATA_HASH_KEY}: expected a SHA-256 in hex; got {self.data_sha256!r}")
        self.raw: dict[str, Any] = raw

    @property
    def build_meta(self) -> TrajectoryMeta:
        """The metadata to build the stored arrays with: :attr:`meta`, except that files of
        schema version 1 are built without their (converted) influence spec, whose stored
        layout they may not follow yet; :meth:`upgrade` then applies it."""
        if self.version >= 2 or self.meta.influence_spec is None:
            return self.meta
        return replace(self.meta, influence_spec=None)

    def upgrade(self, traj: Trajectory) -> Trajectory:
        """A trajectory built with :attr:`build_meta`, converted to the current schema.

        Version 1 files kept the influence options in ``extra`` (converted to
        :attr:`TrajectoryMeta.influence_spec` when the metadata is read) and, with next-step
        influence, stored whatever their producer computed in the counterfactual rows of the
        last step of each episode, which the analysis never read; those rows become absent
        (-inf), as the current layout has them.
        """
        if traj.metadata == self.meta:
            return traj
        cf = traj.counterfactual_logits
        if cf is not None:
            cf = cf.copy()
            cf[absent_rows(traj.episode_starts, self.meta.influence_spec)] = -np.inf
        return traj.replace(counterfactual_logits=cf, metadata=self.meta)

    def shape_of(self, name: str) -> tuple[int, ...]:
        """The full shape of field ``name`` the header implies: (T,) for episode fields,
        else (T, N, *trailing)."""
        if name in EPISODE_FIELDS:
            return (self.num_steps,)
        return (self.num_steps, self.num_agents, *self.fields[name]["shape"])

    def optional(self, columns: Iterable[str] | None, file: Path) -> list[str]:
        """Optional fields to load: all present (None) or the requested ones.

        Raises
        ------
        ConfigError
            If a requested field is unknown or not in the file.
        """
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


def _check_version(raw: dict[str, Any], bad: Callable[[str], FileFormatError]) -> None:
    """Our format name and this schema version."""
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
            f"reads versions {list(READABLE_VERSIONS)}; upgrade causal-influence"
        )
    if version not in READABLE_VERSIONS:
        raise bad(
            f"schema_version {version} is not supported (expected one of {list(READABLE_VERSIONS)})"
        )


def _check_fields(fields: dict[str, Any], bad: Callable[[str], FileFormatError]) -> None:
    """Required fields listed; every entry a known field with a dtype and a trailing shape."""
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
        if math.prod(entry["shape"]) > limits.MAX_TRAILING:
            raise bad(
                f"fields: {name!r} declares {math.prod(entry['shape']):,} entries per step and "
                f"agent, more than the {limits.MAX_TRAILING:,} a header may declare"
            )
        try:
            dtype = np.dtype(entry["dtype"])
        except (TypeError, ValueError, SyntaxError) as err:
            raise bad(f"fields: {name!r} has an unknown dtype {entry['dtype']!r}") from err
        if dtype.hasobject or dtype.kind not in "biuf":
            raise bad(f"fields: {name!r} has dtype {entry['dtype']!r}; numbers or bools expected")


def read_sidecar(path: Path) -> Header:
    """The checked header in the JSON sidecar of the Parquet file ``path``.

    The sidecar is read within the limits of :mod:`causal_influence.io.limits` (size, nesting,
    number length).

    Raises
    ------
    FileFormatError
        If the sidecar is missing, not UTF-8, not JSON within the limits or not a valid header.
    """
    side = sidecar_path(path)
    if not side.exists():
        raise FileFormatError(
            f"{path}: its JSON sidecar {side.name} is missing; a Parquet trajectory needs the "
            f"sidecar written by save_parquet (metadata, fields, write id)"
        )
    try:
        raw = limits.read_json(side, "sidecar")
    except FileNotFoundError as err:  # removed meanwhile
        raise FileFormatError(f"{path}: its JSON sidecar {side.name} is missing") from err
    return Header(raw, str(side))


def check_sizes(traj: Trajectory, header: Header, path: Path) -> None:
    """The trajectory read from ``path`` has the steps and trailing shapes its header lists.

    Raises
    ------
    FileFormatError
        If it does not.
    """
    if traj.num_steps != header.num_steps:
        raise FileFormatError(
            f"{path}: holds {traj.num_steps} steps but its header says {header.num_steps}; the "
            f"file and its metadata do not match (rows lost or added?)"
        )
    arrays = traj.to_dict()
    for name in traj.fields:
        arr = arrays[name]
        if name not in SCALAR_COLUMNS and list(arr.shape[2:]) != header.fields[name]["shape"]:
            raise FileFormatError(
                f"{path}: {name} has trailing shape {arr.shape[2:]}, header says "
                f"{header.fields[name]['shape']}"
            )
