"""Datasets of trajectory shards: directories of ``.parquet`` / ``.npz`` files read as one.

:func:`open_dataset` reads any directory (or glob, or list) of trajectory files as one
:class:`TrajectoryDataset`, streamed shard by shard so that memory stays bounded by the
largest shard whatever the number of shards; :func:`write_shards` writes one.

Examples
--------
>>> import pathlib, tempfile
>>> import numpy as np
>>> from causal_influence.trajectory import Trajectory
>>> from causal_influence.io import open_dataset, write_shards
>>> traj = Trajectory(np.zeros((4, 2), int), np.ones((4, 2)), episode_ids=[0, 0, 1, 1],
...                   num_actions=2)
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> [p.name for p in write_shards(traj, folder, fmt="npz", episodes_per_shard=1)]
['shard_00000.npz', 'shard_00001.npz']
>>> open_dataset(folder).read_all() == traj
True
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import ModuleType

from causal_influence.errors import ConfigError, DTypeError, FileFormatError, describe
from causal_influence.io.files import SUFFIXES, format_of, read_header
from causal_influence.io.headers import Header, sidecar_path
from causal_influence.io.manifest import MANIFEST_NAME, Manifest, check_manifest
from causal_influence.io.outputs import atomic_directory
from causal_influence.trajectory import Trajectory, TrajectoryMeta, concat
from causal_influence.trajectory.long_table import natural_key
from causal_influence.trajectory.metadata import merge_metadata, metadata_mismatch
from causal_influence.validation import check_count

__all__ = ["TrajectoryDataset", "open_dataset", "write_shards"]


def _package() -> ModuleType:
    """The :mod:`causal_influence.io` package, looked up at each call.

    Shards are loaded and saved through the package's ``load`` and ``save``, so that a
    wrapper installed there (counting, caching or logging file access) covers datasets too,
    as it did when io was a single module.
    """
    import causal_influence.io as package

    return package


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

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        manifest: tuple[Path, Manifest] | None = None,
    ) -> None:
        self.paths: tuple[Path, ...] = tuple(Path(p) for p in paths)
        if not self.paths:
            raise FileNotFoundError("TrajectoryDataset: no shards")
        for p in self.paths:
            format_of(p)
        self._headers: list[Header] | None = None
        self._manifest = manifest

    def _load(self, path: Path, columns: Iterable[str] | None) -> Trajectory:
        """Load one shard, after checking its files against the directory's manifest."""
        if self._manifest is not None:
            directory, manifest = self._manifest
            for part in _shard_files(path):
                manifest.verify(directory, part.relative_to(directory).as_posix())
        return _package().load(path, columns=columns)

    def __repr__(self) -> str:
        return f"TrajectoryDataset(num_shards={self.num_shards}, first={str(self.paths[0])!r})"

    @property
    def num_shards(self) -> int:
        """Number of shard files."""
        return len(self.paths)

    def __len__(self) -> int:
        return len(self.paths)

    def _all_headers(self) -> list[Header]:
        if self._headers is None:
            headers = [read_header(p) for p in self.paths]
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
        return self._load(self.paths[index], columns)

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
            shard = self._load(path, cols)
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
    files are skipped), in natural name order (``shard_2`` before ``shard_10``). A directory
    with a ``MANIFEST.json`` (written by :func:`write_shards`) must hold exactly the shards it
    lists, with their sizes; each shard's checksum is compared when the shard is read.

    Raises
    ------
    FileNotFoundError
        If nothing matches.
    FileFormatError
        If a directory's shards do not match its manifest (added, missing or resized files:
        a directory assembled from two writes, or damaged).
    """
    manifest: tuple[Path, Manifest] | None = None
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            found = [
                p
                for p in path.iterdir()
                if p.is_file() and p.suffix in SUFFIXES and not p.name.startswith(".")
            ]
            if (path / MANIFEST_NAME).exists():
                checked = check_manifest(path, checksums=False, only=_is_shard_file)
                manifest = (path, checked)
        elif path.is_file():
            found = [path]
        elif _GLOB_CHARS.search(str(source)):
            found = [
                Path(p)
                for p in glob.glob(str(source))
                if Path(p).suffix in SUFFIXES and not Path(p).name.startswith(".")
            ]
        else:
            raise FileNotFoundError(f"{source}: no such directory or file")
        found.sort(key=lambda p: natural_key(p.name))
    else:
        found = [Path(p) for p in source]
    if not found:
        raise FileNotFoundError(f"{source}: no .parquet or .npz trajectory files")
    return TrajectoryDataset(found, manifest=manifest)


def _is_shard_file(name: str) -> bool:
    """A file of a shard directory that its manifest must list: a trajectory file at the top
    level, or the JSON sidecar of one."""
    path = Path(name)
    if len(path.parts) != 1:
        return False
    return path.suffix in SUFFIXES or (path.suffix == ".json" and path.name != MANIFEST_NAME)


def _shard_files(path: Path) -> list[Path]:
    """The files of one shard: the data file, and a Parquet file's sidecar."""
    return [path, sidecar_path(path)] if path.suffix == ".parquet" else [path]


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
        Created if needed; missing or empty unless ``overwrite``.
    prefix : str
        File name prefix.
    fmt : {"parquet", "npz"}
    episodes_per_shard : int, optional
        Split each trajectory into shards of this many episodes.
    overwrite : bool
        Replace the ``{prefix}_NNNNN`` shards of a directory that holds an earlier output of
        :func:`write_shards` (stale higher-numbered ones go too); without it, such shards raise
        ``FileExistsError`` before anything is written. Shards of other prefixes in that
        directory stay (a new prefix adds to it). A directory holding files causal-influence
        did not write is refused, with or without ``overwrite`` (they are never deleted).

    The shards are written into a hidden staging directory beside ``directory`` with a
    ``MANIFEST.json`` (each file's size and SHA-256), then swapped in with one rename
    (:func:`causal_influence.io.atomic_directory`): a reader sees the old shards or the new
    ones, never a mixture, and :func:`open_dataset` refuses a directory whose files do not
    match its manifest.

    Returns
    -------
    list of pathlib.Path
        The shard files written.
    """
    if fmt not in ("parquet", "npz"):
        raise ConfigError(f"fmt: expected 'parquet' or 'npz'; got {fmt!r}")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", prefix) or prefix.startswith("."):
        raise ConfigError(f"prefix: expected letters, digits, '_', '-', '.'; got {prefix!r}")
    if episodes_per_shard is not None:
        episodes_per_shard = check_count("episodes_per_shard", episodes_per_shard, minimum=1)
    directory = Path(directory)
    pattern = re.compile(rf"^{re.escape(prefix)}_(\d+)\.(parquet|npz|json)$")
    existing = sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []
    clash = [name for name in existing if pattern.match(name)]
    if clash and not overwrite:
        raise FileExistsError(
            f"{directory}: already holds shards {clash[:3]}...; pass overwrite=True to replace "
            f"them (as a whole), or write into a new directory or with another prefix"
        )
    if isinstance(trajectories, Trajectory):
        trajectories = [trajectories]
    names: list[str] = []
    with atomic_directory(
        directory,
        overwrite=overwrite,
        written_by="write_shards",
        carry=lambda name: pattern.match(name) is None,  # other prefixes' shards stay
    ) as stage:
        for traj in trajectories:
            if not isinstance(traj, Trajectory):
                raise DTypeError(f"write_shards: expected Trajectory objects; got {describe(traj)}")
            parts = (
                [traj] if episodes_per_shard is None else traj.split_episodes(episodes_per_shard)
            )
            for part in parts:
                name = f"{prefix}_{len(names):05d}.{fmt}"
                _package().save(part, stage / name)
                names.append(name)
    return [directory / name for name in names]
