"""Checkpoints of training runs: the one writer and the one loader, with typed errors.

A checkpoint is a ``torch.save`` file of plain tensors, containers, numbers and strings (the
trainer's :meth:`agents.trainer.Trainer.state_dict`), so it loads with
``torch.load(weights_only=True)`` and no code from a file is ever executed. It is written
atomically with :func:`causal_influence.io.atomic_write` (a crash never leaves a half-written
file under the final name) and read back through :func:`causal_influence.io.load_torch_checkpoint`.
Every way a file can be unusable raises :class:`causal_influence.errors.FileFormatError` naming
the file and saying what is wrong: missing, truncated or corrupt, holding objects a weights-only
load refuses, not an agents checkpoint, an unknown format version, or entries missing.

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "bad.pt"
>>> _ = path.write_bytes(b"not a checkpoint")
>>> try:
...     load_checkpoint(path)
... except FileFormatError as err:
...     print(str(err).split(";")[0])
... # doctest: +ELLIPSIS
/.../bad.pt: truncated or corrupt (not a complete torch.save archive)
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from causal_influence.errors import ConfigError, FileFormatError
from causal_influence.io import atomic_write, load_torch_checkpoint

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_KEYS",
    "CHECKSUM_KEY",
    "content_digest",
    "find_checkpoint",
    "load_checkpoint",
    "save_checkpoint",
]

#: Format tag stored under ``"format"``: ``"<name>/<version>"``. Version 2 adds the
#: ``"checksum"`` entry; version-1 files (without it) are still read.
CHECKPOINT_FORMAT = "causal-influence-agents/2"
_FORMAT_NAME, _, _FORMAT_VERSION = CHECKPOINT_FORMAT.rpartition("/")
_LEGACY_FORMAT = f"{_FORMAT_NAME}/1"
#: Entry holding the SHA-256 of every other entry (:func:`content_digest`).
CHECKSUM_KEY = "checksum"

#: Entries every checkpoint holds (see :meth:`agents.trainer.Trainer.state_dict`).
CHECKPOINT_KEYS: tuple[str, ...] = (
    "format",
    "config",
    "model",
    "optimizer",
    "generator",
    "update",
    "env_steps",
    "history",
    "resumable",
    "view_shape",
    "num_actions",
)

_WRITTEN_BY = "pass a file written by agents.train (final.pt or checkpoints/ckpt_*.pt)"


def save_checkpoint(state: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write a checkpoint atomically (creating its directory) and return its path.

    Parameters
    ----------
    state : mapping
        Plain tensors, containers, numbers and strings, with the entries of
        :data:`CHECKPOINT_KEYS` (``format`` = :data:`CHECKPOINT_FORMAT`).
    path : str or os.PathLike

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> state = dict.fromkeys(CHECKPOINT_KEYS, 0) | {"format": CHECKPOINT_FORMAT}
    >>> path = save_checkpoint(state, folder / "checkpoints" / "ckpt.pt")
    >>> load_checkpoint(path)["format"]
    'causal-influence-agents/2'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {key: value for key, value in state.items() if key != CHECKSUM_KEY}
    content[CHECKSUM_KEY] = content_digest(content)
    with atomic_write(path) as (tmp,):
        torch.save(content, tmp)
    return path


def content_digest(state: Mapping[str, Any]) -> str:
    """SHA-256 of a checkpoint's entries (every entry but ``"checksum"``), in hex.

    Tensors contribute their dtype, shape and bytes; containers their structure (dict keys in
    sorted order); numbers and strings their exact text. Two states have the same digest
    exactly when a load of one gives the other, so a damaged byte anywhere in the data of a
    file (which torch's own archive does not check) is detected on load.

    Examples
    --------
    >>> a = content_digest({"w": torch.zeros(2), "update": 3})
    >>> a == content_digest({"update": 3, "w": torch.zeros(2)}) != content_digest({"w": torch.ones(2), "update": 3})
    True
    """  # noqa: E501
    digest = hashlib.sha256()
    _feed(digest, {key: value for key, value in state.items() if key != CHECKSUM_KEY})
    return digest.hexdigest()


def _feed(digest: Any, obj: Any) -> None:
    """Add ``obj`` to ``digest``, tagged with its type so that different values differ."""
    if isinstance(obj, torch.Tensor):
        flat = obj.detach().cpu().contiguous().reshape(-1)
        digest.update(f"T{obj.dtype}{tuple(obj.shape)}:".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b"")
    elif isinstance(obj, Mapping):
        items = sorted(obj.items(), key=lambda kv: (type(kv[0]).__name__, repr(kv[0])))
        digest.update(f"D{len(items)}:".encode())
        for key, value in items:
            _feed(digest, key)
            _feed(digest, value)
    elif isinstance(obj, (list, tuple)):
        digest.update(f"{type(obj).__name__[0]}{len(obj)}:".encode())
        for value in obj:
            _feed(digest, value)
    elif isinstance(obj, str):
        data = obj.encode("utf-8", "surrogatepass")
        digest.update(f"S{len(data)}:".encode() + data)
    else:
        text = repr(obj).encode("utf-8", "surrogatepass")
        digest.update(f"{type(obj).__name__}{len(text)}:".encode() + text)


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (weights-only, onto the CPU).

    Parameters
    ----------
    path : str or os.PathLike
        A checkpoint file (use :func:`find_checkpoint` for a run directory).

    Returns
    -------
    dict
        The entries of :data:`CHECKPOINT_KEYS`.

    Raises
    ------
    FileFormatError
        The message names the file and says which of these it is: missing (or a directory);
        truncated or corrupt; holding objects a weights-only load refuses (it would have to run
        code); not a dictionary or not an agents checkpoint; written in another format version;
        missing some entries.

    Examples
    --------
    >>> try:
    ...     load_checkpoint("no/such/run/final.pt")
    ... except FileFormatError as err:
    ...     print(str(err).split(";")[0])
    no/such/run/final.pt: no such checkpoint file
    """
    path = Path(path)
    try:  # missing, a directory, truncated or corrupt, or refused: named by the core's loader
        state = load_torch_checkpoint(path, map_location="cpu")
    except FileFormatError as err:
        raise type(err)(f"{err}; {_WRITTEN_BY}") from err
    return _checked(state, path)


def _checked(state: Any, path: Path) -> dict[str, Any]:
    """The loaded ``state`` if it is an agents checkpoint of this version, else an error."""
    fmt = state.get("format") if isinstance(state, dict) else None
    if not isinstance(fmt, str) or not fmt.startswith(f"{_FORMAT_NAME}/"):
        got = f"format {fmt!r}" if isinstance(state, dict) else type(state).__name__
        raise FileFormatError(
            f"{path}: expected an agents checkpoint (a dict with format {CHECKPOINT_FORMAT!r}); "
            f"got {got}; {_WRITTEN_BY}"
        )
    if fmt not in (CHECKPOINT_FORMAT, _LEGACY_FORMAT):
        raise FileFormatError(
            f"{path}: written in checkpoint format version {fmt.rpartition('/')[2]!r}; this "
            f"version of agents reads versions '1' and {_FORMAT_VERSION!r} only; load it with "
            f"the causal-influence release that wrote it"
        )
    missing = [key for key in CHECKPOINT_KEYS if key not in state]
    if missing:
        raise FileFormatError(
            f"{path}: an agents checkpoint without the entries {missing}; expected all of "
            f"{list(CHECKPOINT_KEYS)}; {_WRITTEN_BY}"
        )
    stored = state.get(CHECKSUM_KEY)
    if fmt == _LEGACY_FORMAT:
        if stored is not None:  # version 1 had no checksum: the version tag is damaged
            raise FileFormatError(f"{path}: damaged (a version-1 checkpoint with a checksum)")
        return state
    if stored != content_digest(state):
        raise FileFormatError(
            f"{path}: damaged: its content does not match the checksum stored with it (a "
            f"changed byte in the file); use an earlier checkpoint"
        )
    return state


def find_checkpoint(source: str | os.PathLike[str], *, prefer: str = "latest") -> Path:
    """The checkpoint file meant by a file or a run directory.

    Parameters
    ----------
    source : str or os.PathLike
        A checkpoint file (returned as is) or a run directory.
    prefer : {"latest", "final"}
        For a directory: ``"latest"`` (to resume) takes its newest ``checkpoints/ckpt_*.pt``
        (else its own newest ``ckpt_*.pt``); ``"final"`` (to use the trained agents) takes its
        ``final.pt``, else its newest ``checkpoints/ckpt_*.pt``.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ConfigError
        If a directory holds no such checkpoint (it is not the directory of a run that wrote
        checkpoints).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> run = pathlib.Path(tempfile.mkdtemp())
    >>> (run / "checkpoints").mkdir()
    >>> for name in ("final.pt", "checkpoints/ckpt_00000002.pt", "checkpoints/ckpt_00000004.pt"):
    ...     _ = (run / name).write_bytes(b"")
    >>> find_checkpoint(run).name, find_checkpoint(run, prefer="final").name
    ('ckpt_00000004.pt', 'final.pt')
    """
    if prefer not in ("latest", "final"):
        raise ConfigError(f"prefer: expected 'latest' or 'final'; got {prefer!r}")
    path = Path(source)
    if not path.is_dir():
        return path
    latest = sorted((path / "checkpoints").glob("ckpt_*.pt"))[-1:]
    if prefer == "final":
        found = [p for p in [path / "final.pt", *latest] if p.is_file()]
        wanted = "final.pt or checkpoints/ckpt_*.pt"
    else:
        found = latest or sorted(path.glob("ckpt_*.pt"))[-1:]
        wanted = "checkpoints/ckpt_*.pt"
    if not found:
        raise ConfigError(
            f"{path}: expected a run directory holding {wanted}; found none; pass the out_dir "
            f"of a run that wrote checkpoints, or a checkpoint file"
        )
    return found[0]
