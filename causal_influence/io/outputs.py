"""Output directories written as a unit: :func:`atomic_directory`, :func:`check_output_directory`.

A command's output (a shard directory, a report, graph files, a demo) is written into a hidden
staging directory beside its final place, given a manifest
(:mod:`causal_influence.io.manifest`), flushed to disk, and then swapped in with one rename
(Linux: ``renameat2(RENAME_EXCHANGE)``, atomic even over an existing directory). A kill at any
moment leaves the old output or the new one, never a mixture.

Nothing is replaced that the caller did not ask to replace: an existing directory that holds
anything is refused unless ``overwrite=True``, and even then only when it is a previous output
of causal-influence (it holds a manifest listing all its files), so files a user put there are
never deleted. :func:`check_output_directory` applies the same rules up front, so that a
command refuses before it starts working.

Examples
--------
>>> import pathlib, tempfile
>>> from causal_influence.io.outputs import atomic_directory
>>> out = pathlib.Path(tempfile.mkdtemp()) / "report"
>>> with atomic_directory(out, written_by="example") as stage:
...     _ = (stage / "table.csv").write_text("a\\n1\\n")
>>> sorted(p.name for p in out.iterdir())
['MANIFEST.json', 'table.csv']
>>> with atomic_directory(out, written_by="example") as stage:
...     pass
Traceback (most recent call last):
...
FileExistsError: .../report: already holds 2 files (MANIFEST.json, table.csv); ...
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import re
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from causal_influence.errors import shortlist
from causal_influence.io.atomic import fsync_dir, fsync_file
from causal_influence.io.manifest import MANIFEST_NAME, listed_files, unlisted_files, write_manifest

__all__ = ["atomic_directory", "check_output_directory"]


def check_output_directory(path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Check, before any work, that ``path`` may receive an output written as a unit.

    ``path`` may be missing (its parents are created later) or an empty directory. A directory
    holding anything needs ``overwrite=True``, and then must be a previous output of
    causal-influence: it holds a manifest, and every file in it is listed there.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileExistsError
        ``path`` is a file, or a directory holding files (without ``overwrite``, or files that
        causal-influence did not write).
    PermissionError
        The nearest existing parent cannot be written to.
    NotADirectoryError
        A parent of ``path`` is a file.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{path}: exists and is not a directory; choose an output directory")
    if path.is_dir():
        present = sorted(p.name for p in path.iterdir())
        if present and not overwrite:
            raise FileExistsError(
                f"{path}: already holds {len(present)} files ({shortlist(present)}); outputs go to "
                f"a new directory: choose another one, or pass --overwrite (overwrite=True) to "
                f"replace this one as a whole"
            )
        if present:
            _check_replaceable(path)
        _check_writable(path.parent if path.parent != path else path, path)
        return path
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise NotADirectoryError(f"{path}: cannot be created, {ancestor} is not a directory")
    _check_writable(ancestor, path)
    return path


def _check_writable(directory: Path, path: Path) -> None:
    """Create and remove a hidden directory in ``directory``: the one sure test (permission
    bits say nothing for root, and some file systems refuse every write)."""
    try:
        probe = Path(tempfile.mkdtemp(prefix=".write-test-", dir=directory))
        probe.rmdir()
    except OSError as err:
        raise PermissionError(
            f"{path}: cannot be written, {directory} does not accept new files ({err.strerror}); "
            f"choose an output directory you can write to"
        ) from None


def _check_replaceable(path: Path) -> None:
    """``path`` holds a previous causal-influence output and nothing else."""
    foreign = unlisted_files(path)
    if foreign is None:
        raise FileExistsError(
            f"{path}: holds files that causal-influence did not write (no {MANIFEST_NAME}: "
            f"{shortlist(listed_files(path))}); --overwrite replaces only an earlier output as a "
            f"whole, so it would delete them: move them, or choose another directory"
        )
    if foreign:
        raise FileExistsError(
            f"{path}: holds files its {MANIFEST_NAME} does not list ({shortlist(foreign)}), which "
            f"causal-influence did not write; --overwrite would delete them: move them, or "
            f"choose another directory"
        )


# ------------------------------------------------------------------------------ swapping

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _libc_renameat2() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_RENAMEAT2 = _libc_renameat2()


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one step (Linux); False where the system cannot."""
    if _RENAMEAT2 is None:
        return False
    rc = _RENAMEAT2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: not supported here
        return False
    raise OSError(err, os.strerror(err), str(b))


def _fsync_tree(directory: Path) -> None:
    for root, _dirs, files in os.walk(directory):
        for name in files:
            with contextlib.suppress(OSError):
                fsync_file(Path(root, name))
        fsync_dir(Path(root))


def _sibling(final: Path, kind: str) -> Path:
    return final.parent / f".{final.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.{kind}"


def _remove_stale(final: Path) -> None:
    """Delete staging directories of ``final`` left by writers that no longer run (killed)."""
    pattern = re.compile(rf"^\.{re.escape(final.name)}\.(\d+)\.[0-9a-f]{{12}}\.(partial|old)$")
    if not final.parent.is_dir():
        return
    for entry in final.parent.iterdir():
        match = pattern.match(entry.name)
        if match is None or not entry.is_dir():
            continue
        pid = int(match.group(1))
        if pid == os.getpid() or _alive(pid):
            continue
        shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _swap_in(stage: Path, final: Path) -> Path | None:
    """Put ``stage`` at ``final``; returns where the old content now is (to delete), if any."""
    if not final.exists():
        os.rename(stage, final)
        return None
    if not any(final.iterdir()):
        os.rename(stage, final)  # over an empty directory: one step on POSIX
        return None
    if _exchange(stage, final):
        return stage
    old = _sibling(final, "old")
    os.rename(final, old)
    os.rename(stage, final)
    return old


def _own_output(path: Path) -> bool:
    """``path`` is missing, empty, or an earlier output (a manifest listing every file)."""
    if not path.is_dir() or not any(path.iterdir()):
        return not path.exists() or path.is_dir()
    return unlisted_files(path) == []


def _link_tree(source: Path, target: Path) -> None:
    """Hard links of ``source`` (a file or directory) at ``target``; copies where links fail."""
    if source.is_dir():
        shutil.copytree(source, target, copy_function=_link_or_copy)
    else:
        _link_or_copy(source, target)


def _link_or_copy(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


@contextlib.contextmanager
def atomic_directory(
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    written_by: str = "causal-influence",
    carry: Callable[[str], bool] | None = None,
) -> Iterator[Path]:
    """Write a directory as a unit: yields an empty staging directory to fill.

    On a clean exit the staging directory gets a manifest listing every file written into
    it (:func:`causal_influence.io.manifest.write_manifest`), is flushed to disk and replaces
    ``path`` in one step; on an exception it is deleted and ``path`` keeps its old content.
    Staging directories are hidden siblings of ``path`` (``.NAME.<pid>.<id>.partial``); one
    left by a killed writer is deleted by the next write.

    Parameters
    ----------
    path : str or path-like
        The final directory (its parents are created).
    overwrite : bool
        Replace an existing directory that holds a previous output (see
        :func:`check_output_directory`); without it a directory holding anything is refused.
    written_by : str
        Recorded in the manifest.
    carry : callable, optional
        Add to an earlier output instead of replacing it: the existing entries (top-level
        names) for which ``carry(name)`` is true are carried into the new directory (as hard
        links), the others are replaced. ``path`` must then be missing, empty or an earlier
        output of causal-influence (never a directory holding other files); deciding which
        entries may be replaced (``overwrite``) is the caller's.

    Yields
    ------
    pathlib.Path
        The staging directory.

    Raises
    ------
    FileExistsError, PermissionError, NotADirectoryError
        As :func:`check_output_directory`, before anything is written.
    """
    final = Path(path)
    if carry is None or not _own_output(final):
        final = check_output_directory(path, overwrite=overwrite)
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(final)
    stage = _sibling(final, "partial")
    stage.mkdir()
    old: Path | None = None
    try:
        if carry is not None and final.is_dir():
            for entry in sorted(final.iterdir()):
                if entry.name != MANIFEST_NAME and carry(entry.name):
                    _link_tree(entry, stage / entry.name)
        yield stage
        write_manifest(stage, written_by=written_by)
        _fsync_tree(stage)
        if carry is None:
            check_output_directory(final, overwrite=overwrite)  # nothing appeared meanwhile
        old = _swap_in(stage, final)
        fsync_dir(final.parent)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
