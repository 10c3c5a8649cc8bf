"""The directory of a training run: what may be written there, and stopping cleanly.

A run writes ``config.json``, ``progress.csv``, ``checkpoints/``, ``final.pt`` (and
``tensorboard/``, ``resumes.jsonl``) into its ``out_dir``. :func:`prepare_run_directory`
decides, before anything is trained, whether it may: a directory holding another run is
refused (resume it, or replace it with ``overwrite``, which deletes only a run's own entries,
never other files); a resumed run may write into the directory it continues.
:func:`run_directory_of` names the run directory of a checkpoint, so that a resume writes where
it was told (the directory given, not the ``out_dir`` stored in a copied checkpoint).

:class:`InterruptFlag` turns the first Ctrl-C (SIGINT) into a request that the training loop
honours between two updates, by writing a checkpoint that resumes exactly
(:class:`TrainingInterrupted`); a second Ctrl-C interrupts at once.

Examples
--------
>>> import pathlib, tempfile
>>> run = pathlib.Path(tempfile.mkdtemp())
>>> _ = (run / "progress.csv").write_text("update\\n1\\n")
>>> try:
...     prepare_run_directory(run)
... except FileExistsError as err:
...     print(str(err).split(";")[0].split(": ", 1)[1])
holds another training run (progress.csv)
>>> run_directory_of(run / "checkpoints" / "ckpt_00000004.pt") == run
True
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from causal_influence.io import atomic_write

__all__ = [
    "RUN_ENTRIES",
    "InterruptFlag",
    "TrainingInterrupted",
    "prepare_run_directory",
    "record_resume",
    "run_directory_of",
]

#: What a training run writes into its directory.
RUN_ENTRIES: tuple[str, ...] = (
    "config.json",
    "progress.csv",
    "final.pt",
    "checkpoints",
    "tensorboard",
    "resumes.jsonl",
)


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on Ctrl-C after writing a checkpoint that resumes exactly.

    Attributes
    ----------
    checkpoint : pathlib.Path or None
        The checkpoint written (None when the run has no ``out_dir``).
    update : int
        The update the checkpoint continues from.
    """

    def __init__(self, checkpoint: Path | None, update: int) -> None:
        self.checkpoint = checkpoint
        self.update = update
        where = f"wrote {checkpoint} (update {update})" if checkpoint else "nothing written"
        super().__init__(f"training interrupted; {where}")


def run_directory_of(source: str | os.PathLike[str]) -> Path:
    """The run directory of a checkpoint file or run directory ``source``.

    ``RUN/checkpoints/ckpt_*.pt`` and ``RUN/final.pt`` belong to ``RUN``; a directory is its
    own run directory.
    """
    path = Path(source)
    if path.is_dir():
        return path
    parent = path.parent
    return parent.parent if parent.name == "checkpoints" else parent


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:  # pragma: no cover - unresolvable paths are different
        return False


def prepare_run_directory(
    out_dir: str | os.PathLike[str],
    *,
    resumed_from: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Check (and create) the directory a run is about to write into.

    Parameters
    ----------
    out_dir : str or path-like
    resumed_from : str or path-like, optional
        The run directory being resumed: writing into it continues that run.
    overwrite : bool
        Delete the entries of :data:`RUN_ENTRIES` of another run first (other files stay).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileExistsError
        ``out_dir`` is a file, or holds another run and ``overwrite`` is not set.
    OSError
        ``out_dir`` cannot be created (permission, a parent that is a file, ...).
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out}: exists and is not a directory; choose another --out-dir")
    present = [name for name in RUN_ENTRIES if (out / name).exists()]
    continuing = resumed_from is not None and _same(out, Path(resumed_from))
    if present and not continuing:
        if not overwrite:
            raise FileExistsError(
                f"{out}: holds another training run ({', '.join(present)}); continue it with "
                f"--resume {out}, replace it with --overwrite (deletes only its run files), or "
                f"choose another --out-dir"
            )
        for name in present:
            entry = out / name
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as err:
        raise type(err)(
            err.errno, f"cannot write the run directory {out} ({err.strerror})"
        ) from None
    return out


def record_resume(out_dir: Path, checkpoint: Path, update: int, changed: dict[str, Any]) -> None:
    """Append one line to ``out_dir/resumes.jsonl``: where a resume started and the fields
    (of the resumable ones) whose values changed, ``{field: [old, new]}``."""
    path = out_dir / "resumes.jsonl"
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    line = json.dumps(
        {"checkpoint": os.fsdecode(checkpoint), "update": update, "changed": changed},
        default=str,
    )
    with atomic_write(path) as (tmp,):
        tmp.write_text(old + line + "\n", encoding="utf-8")


class InterruptFlag:
    """A context in which the first SIGINT sets a flag instead of raising.

    Installed only in the main thread and only over Python's default handler (a handler the
    caller installed is kept). The second SIGINT raises :class:`KeyboardInterrupt` at once.

    Examples
    --------
    >>> with InterruptFlag() as flag:
    ...     flag.requested
    False
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> InterruptFlag:
        main = threading.current_thread() is threading.main_thread()
        if main and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False
