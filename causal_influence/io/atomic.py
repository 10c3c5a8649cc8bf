"""Atomic file writes: :func:`atomic_write`, the one helper every layer uses to write files.

A reader never sees a half-written file: data goes to a hidden temporary file in the target's
directory, is flushed to disk, and replaces the target with ``os.replace`` in one step.
Several files (a data file and its sidecar) are replaced together, and rolled back together
when one of them cannot be.

Examples
--------
>>> import json, pathlib, tempfile
>>> from causal_influence.io import atomic_write
>>> target = pathlib.Path(tempfile.mkdtemp()) / "summary.json"
>>> with atomic_write(target) as (tmp,):
...     _ = tmp.write_text(json.dumps({"reward": 1.5}))
>>> json.loads(target.read_text())
{'reward': 1.5}
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_write", "fsync_dir", "fsync_file"]


def fsync_file(path: Path) -> None:
    """Flush a written file to disk."""
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def fsync_dir(directory: Path) -> None:
    """Flush a directory's entries (a rename into it) to disk, where the system allows it."""
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


# Long: docstring of 49 lines (the guarantees and their limits, two examples); code 35 lines.
@contextlib.contextmanager
def atomic_write(*paths: str | os.PathLike[str]) -> Iterator[tuple[Path, ...]]:
    """Write one or more files atomically: yields temporary paths to write to.

    This is the project's single atomic-write helper: write any file that a crash or an
    interrupt must not leave truncated (trajectory files, checkpoints, reports, summaries)
    through it rather than through another copy of the same steps.

    On a clean exit each temporary file is flushed to disk and moved over its final path with
    ``os.replace`` (in the order given); if replacing a later file fails, the earlier ones are
    restored to their previous content. On any exception the temporary files are removed and
    the final paths keep their previous content. Temporary files live in the final file's
    directory, are hidden (``.name.<random>.tmp``) and are created by the writer.

    Several files are replaced one after the other: a process killed outright (SIGKILL, power
    loss) between two replacements cannot roll back, and leaves the later files' new content
    waiting in their fsynced temporary files. A reader of such a pair finishes the write
    (Parquet sidecars: :func:`causal_influence.io.parquet.settled_header`); a set of files
    that must change together belongs in a directory written by
    :func:`causal_influence.io.atomic_directory`.

    Parameters
    ----------
    *paths : str or path-like
        The final paths, one or more; their directories must exist.

    Yields
    ------
    tuple of pathlib.Path
        One temporary path per final path, in the same order. Write each one completely
        (the writer creates the file); a temporary file left unwritten makes the exit fail
        with ``FileNotFoundError`` and nothing is replaced.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> with atomic_write(target) as (tmp,):
    ...     _ = tmp.write_text("hello")
    >>> target.read_text()
    'hello'

    A data file and its sidecar, replaced together:

    >>> data, side = target.with_suffix(".bin"), target.with_suffix(".json")
    >>> with atomic_write(data, side) as (tmp_data, tmp_side):
    ...     _ = tmp_data.write_bytes(b"\\x00\\x01")
    ...     _ = tmp_side.write_text("{}")
    >>> sorted(p.name for p in target.parent.iterdir())
    ['notes.bin', 'notes.json', 'notes.txt']
    """
    finals = [Path(p) for p in paths]
    temps = [_temp_name(p) for p in finals]
    backups: list[Path] = []
    replaced: list[tuple[Path, Path | None]] = []
    try:
        yield tuple(temps)
        for tmp in temps:
            fsync_file(tmp)
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
            fsync_dir(directory)
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
