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
=================================================  ============================================

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

from causal_influence.io.atomic import atomic_write
from causal_influence.io.checkpoints import load_torch_checkpoint
from causal_influence.io.datasets import TrajectoryDataset, open_dataset, write_shards
from causal_influence.io.files import load, read_metadata, save
from causal_influence.io.headers import FORMAT_NAME, SCHEMA_VERSION, sidecar_path
from causal_influence.io.npz import load_npz, save_npz
from causal_influence.io.parquet import load_parquet, save_parquet

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
