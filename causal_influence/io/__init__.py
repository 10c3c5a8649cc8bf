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

Modules
-------
=================================================  ============================================
:mod:`~causal_influence.io.atomic`                 :func:`atomic_write`, the single atomic-write
                                                   helper of the project
:mod:`~causal_influence.io.headers`                the header (sidecar JSON / NPZ ``__meta__``)
:mod:`~causal_influence.io.parquet`                :func:`save_parquet`, :func:`load_parquet`
:mod:`~causal_influence.io.npz`                    :func:`save_npz`, :func:`load_npz`
:mod:`~causal_influence.io.files`                  :func:`save`, :func:`load`,
                                                   :func:`read_metadata` by suffix
:mod:`~causal_influence.io.datasets`               :class:`TrajectoryDataset`,
                                                   :func:`open_dataset`, :func:`write_shards`
:mod:`~causal_influence.io.checkpoints`            :func:`load_torch_checkpoint`
:mod:`~causal_influence.io.manifest`               :func:`write_manifest`,
                                                   :func:`check_manifest` of directories
:mod:`~causal_influence.io.outputs`                :func:`atomic_directory`, directories
                                                   written as a unit
:mod:`~causal_influence.io.limits`                 bounded JSON reading, header limits
=================================================  ============================================

Safety
------
Writes are atomic: each file goes to a temporary file in the same directory and is moved into
place with ``os.replace``; the data file and its sidecar are replaced together, and the old
data file is restored if the sidecar cannot be. A directory (of shards, a report, graph files)
is written as a unit by :func:`atomic_directory`: into a hidden staging directory beside it,
with a ``MANIFEST.json`` of every file's size and SHA-256, then swapped in with one rename, so
an interrupted write leaves the old directory or the new one; an existing directory is
replaced only with ``overwrite=True`` and only when it holds an earlier output and nothing else.
:func:`open_dataset` refuses a directory whose files do not match its manifest.

Integrity: a Parquet sidecar holds the SHA-256 of its data file and the data file the digest of
its sidecar; NPZ members carry zip CRCs; a flipped byte is an error, not a different
trajectory. Reading is bounded (:mod:`~causal_influence.io.limits`): JSON size, nesting and
number length are limited, and sizes declared in headers are checked against the file before
anything is allocated. Loading never executes code from a file: no pickles, JSON for
metadata, and :func:`load_torch_checkpoint` uses ``torch.load(..., weights_only=True)``.

Every malformed file raises :class:`~causal_influence.errors.FileFormatError` (a
``ValueError``) naming the file and, where it applies, the column (or NPZ array) and row:
missing columns, wrong dtypes, ragged tables (missing or duplicate rows, jumps in t),
out-of-range actions or messages, NaN logits, NaN or infinite rewards, truncated or corrupted
files, a missing or invalid sidecar, metadata or schema-version mismatches. Names that are not
UTF-8 work.

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

from causal_influence.io.atomic import atomic_write
from causal_influence.io.checkpoints import load_torch_checkpoint
from causal_influence.io.datasets import TrajectoryDataset, open_dataset, write_shards
from causal_influence.io.files import load, read_metadata, save
from causal_influence.io.headers import FORMAT_NAME, SCHEMA_VERSION, sidecar_path
from causal_influence.io.manifest import (
    MANIFEST_NAME,
    check_manifest,
    read_manifest,
    write_manifest,
)
from causal_influence.io.npz import load_npz, save_npz
from causal_influence.io.outputs import atomic_directory, check_output_directory
from causal_influence.io.parquet import load_parquet, save_parquet

__all__ = [
    "FORMAT_NAME",
    "MANIFEST_NAME",
    "SCHEMA_VERSION",
    "TrajectoryDataset",
    "atomic_directory",
    "atomic_write",
    "check_manifest",
    "check_output_directory",
    "load",
    "load_npz",
    "load_parquet",
    "load_torch_checkpoint",
    "open_dataset",
    "read_manifest",
    "read_metadata",
    "save",
    "save_npz",
    "save_parquet",
    "sidecar_path",
    "write_manifest",
    "write_shards",
]
