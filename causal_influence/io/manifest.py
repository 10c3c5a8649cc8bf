"""Manifests: the list of files an output directory was written with, and their checksums.

Every directory the project writes as a unit (shard directories, reports, graph outputs,
demo outputs; see :func:`causal_influence.io.atomic_directory`) holds ``MANIFEST.json``: each
file's path relative to the directory, its size and its SHA-256. A reader checks a directory
against it with :func:`check_manifest` and refuses one whose files do not match (a file added,
missing, resized or changed), so that a directory assembled from two writes, or damaged, is an
error rather than a different dataset. :func:`causal_influence.io.open_dataset` checks the
shard names and sizes when it opens a directory and each shard's checksum when it reads it.

Examples
--------
>>> import pathlib, tempfile
>>> from causal_influence.io.manifest import check_manifest, write_manifest
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "table.csv").write_text("a,b\\n1,2\\n")
>>> _ = write_manifest(folder, written_by="example")
>>> sorted(check_manifest(folder).files)
['table.csv']
>>> _ = (folder / "stray.csv").write_text("x")
>>> check_manifest(folder)
Traceback (most recent call last):
...
causal_influence.errors.FileFormatError: .../: holds files its MANIFEST.json does not list (stray.csv); ...
"""  # noqa: E501

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from causal_influence.errors import FileFormatError, shortlist
from causal_influence.io.atomic import atomic_write
from causal_influence.io.limits import read_json

__all__ = [
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "Manifest",
    "check_manifest",
    "file_sha256",
    "listed_files",
    "read_manifest",
    "unlisted_files",
    "write_manifest",
]

#: File name of the manifest inside a directory.
MANIFEST_NAME = "MANIFEST.json"
#: Value of the manifest's ``"format"`` key.
MANIFEST_FORMAT = "causal-influence-manifest"
_VERSION = 1
_HEX = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 16


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes (hex), read in chunks of 64 KiB.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x"
    >>> _ = path.write_bytes(b"abc")
    >>> file_sha256(path)[:16]
    'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as fh:
        while size := fh.readinto(buffer):
            digest.update(view[:size])
    return digest.hexdigest()


def listed_files(directory: Path) -> list[str]:
    """Relative POSIX paths of the files a manifest of ``directory`` lists: every regular file
    below it, recursively, except hidden ones (temporary files) and the manifest itself."""
    found = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel_root = Path(root).relative_to(directory)
        for name in sorted(files):
            if name.startswith(".") or (rel_root == Path(".") and name == MANIFEST_NAME):
                continue
            found.append((rel_root / name).as_posix())
    return found


@dataclass(frozen=True)
class Manifest:
    """A checked manifest.

    Attributes
    ----------
    files : dict of str to dict
        ``{relative path: {"size": int, "sha256": str}}``.
    written_by : str
        What wrote the directory (``"write_shards"``, ``"analyze"``, ...).
    """

    files: dict[str, dict[str, Any]]
    written_by: str

    def verify(self, directory: Path, name: str) -> None:
        """Check the size and checksum of one listed file (e.g. a shard about to be read).

        Raises
        ------
        FileFormatError
            If the file is not listed, or its size or content differs from the manifest's.
        """
        entry = self.files.get(name)
        path = directory / name
        if entry is None:
            raise FileFormatError(
                f"{directory}: {name} is not listed in its {MANIFEST_NAME}; the directory was "
                f"changed after it was written"
            )
        if not path.is_file() or path.stat().st_size != entry["size"]:
            raise FileFormatError(
                f"{path}: missing or not of the {entry['size']} bytes its directory's "
                f"{MANIFEST_NAME} lists; the file was damaged or replaced after it was written"
            )
        if file_sha256(path) != entry["sha256"]:
            raise FileFormatError(
                f"{path}: its content does not match the checksum in its directory's "
                f"{MANIFEST_NAME}; the file was damaged or replaced after it was written"
            )


def write_manifest(directory: str | os.PathLike[str], *, written_by: str) -> Path:
    """Write ``directory/MANIFEST.json`` listing every file below it (atomically).

    Returns
    -------
    pathlib.Path
        The manifest.
    """
    directory = Path(directory)
    files = {}
    for name in listed_files(directory):
        path = directory / name
        files[name] = {"size": path.stat().st_size, "sha256": file_sha256(path)}
    text = json.dumps(
        {
            "format": MANIFEST_FORMAT,
            "version": _VERSION,
            "written_by": written_by,
            "files": files,
        },
        indent=1,
        sort_keys=True,
    )
    target = directory / MANIFEST_NAME
    with atomic_write(target) as (tmp,):
        tmp.write_text(text + "\n", encoding="utf-8")
    return target


def read_manifest(directory: str | os.PathLike[str]) -> Manifest | None:
    """The checked manifest of ``directory``, or None when it has none.

    Raises
    ------
    FileFormatError
        If the manifest is not a valid manifest (naming it).
    """
    path = Path(directory) / MANIFEST_NAME
    if not path.exists():
        return None
    raw = read_json(path, "manifest")
    where = str(path)
    if not isinstance(raw, dict) or raw.get("format") != MANIFEST_FORMAT:
        raise FileFormatError(f"{where}: not a causal-influence manifest (format key missing)")
    if raw.get("version") != _VERSION:
        raise FileFormatError(
            f"{where}: manifest version {raw.get('version')!r}; this release reads {_VERSION}"
        )
    files = raw.get("files")
    if not isinstance(files, dict):
        raise FileFormatError(f"{where}: 'files' must map paths to sizes and checksums")
    for name, entry in files.items():
        parts = PurePosixPath(name).parts
        ok_name = bool(parts) and not name.startswith("/") and ".." not in parts
        ok_entry = (
            isinstance(entry, dict)
            and isinstance(entry.get("size"), int)
            and not isinstance(entry.get("size"), bool)
            and entry["size"] >= 0
            and isinstance(entry.get("sha256"), str)
            and _HEX.fullmatch(entry["sha256"]) is not None
        )
        if not (ok_name and ok_entry):
            raise FileFormatError(f"{where}: malformed entry for {name!r}")
    written_by = raw.get("written_by")
    return Manifest(files=files, written_by=written_by if isinstance(written_by, str) else "")


def unlisted_files(directory: str | os.PathLike[str]) -> list[str] | None:
    """The files below ``directory`` (as :func:`listed_files`) that its manifest does not
    list, sorted; None when it has no manifest. An empty list: every file is its own output."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    if manifest is None:
        return None
    return sorted(set(listed_files(directory)) - set(manifest.files))


def check_manifest(
    directory: str | os.PathLike[str],
    *,
    checksums: bool = True,
    only: Callable[[str], bool] | None = None,
) -> Manifest:
    """Check that ``directory`` holds exactly the files its manifest lists, unchanged.

    Parameters
    ----------
    directory : str or path-like
    checksums : bool
        Also compare every file's SHA-256 (else names and sizes only).
    only : callable, optional
        Compare only the files whose relative path it accepts (e.g. trajectory files).

    Returns
    -------
    Manifest

    Raises
    ------
    FileFormatError
        Naming the directory and the files: no manifest, files added, missing, resized or
        changed.
    """
    directory = Path(directory)
    manifest = read_manifest(directory)
    if manifest is None:
        raise FileFormatError(
            f"{directory}: has no {MANIFEST_NAME}, so its files cannot be checked; it was not "
            f"written as a unit by causal-influence"
        )
    keep = only or (lambda _name: True)
    present = {name for name in listed_files(directory) if keep(name)}
    listed = {name for name in manifest.files if keep(name)}
    _refuse_difference(directory, present - listed, "holds files its {} does not list")
    _refuse_difference(directory, listed - present, "lacks files its {} lists")
    for name in sorted(listed):
        if checksums:
            manifest.verify(directory, name)
        elif (directory / name).stat().st_size != manifest.files[name]["size"]:
            raise FileFormatError(
                f"{directory / name}: not of the {manifest.files[name]['size']} bytes its "
                f"directory's {MANIFEST_NAME} lists; damaged or replaced after it was written"
            )
    return manifest


def _refuse_difference(directory: Path, names: Iterable[str], what: str) -> None:
    names = sorted(names)
    if names:
        raise FileFormatError(
            f"{directory}/: {what.format(MANIFEST_NAME)} ({shortlist(names)}); its files come from "
            f"more than one write or were changed afterwards, so it is not read; write it again"
        )
