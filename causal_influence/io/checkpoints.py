"""Torch checkpoints loaded safely (weights only, never code from the file).

Examples
--------
>>> import pathlib, tempfile
>>> import torch
>>> from causal_influence.io import load_torch_checkpoint
>>> path = pathlib.Path(tempfile.mkdtemp()) / "policy.pt"
>>> torch.save({"weight": torch.ones(2)}, path)
>>> load_torch_checkpoint(path)["weight"]
tensor([1., 1.])
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

from causal_influence.errors import FileFormatError, MissingFileError

__all__ = ["load_torch_checkpoint"]


def load_torch_checkpoint(path: str | os.PathLike[str], *, map_location: Any = "cpu") -> Any:
    """Load a torch checkpoint safely: ``torch.load(..., weights_only=True)``.

    Only tensors, containers, numbers and strings (and classes torch allows) are restored; a
    file that would need to execute code is refused. torch is imported on first use.

    Raises
    ------
    MissingFileError
        If ``path`` does not exist (a :class:`~causal_influence.errors.FileFormatError` that
        is also a ``FileNotFoundError``).
    FileFormatError
        Naming the file and saying which problem it has: a directory; truncated or corrupt
        (not a complete ``torch.save`` archive, or a complete archive whose content cannot be
        read); holding objects a weights-only load refuses (it would have to run code).
    ImportError
        When torch is not installed (``pip install 'causal-influence[torch]'``).
    """
    from causal_influence._optional import require

    torch = require("torch", purpose="loading a torch checkpoint")
    path = Path(path)
    if path.is_dir():
        raise FileFormatError(f"{path}: expected a checkpoint file; got a directory")
    if not path.is_file():
        raise MissingFileError(f"{path}: no such checkpoint file")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except OSError:
        raise  # the file could not be read (permissions, I/O): not a problem of its content
    except Exception as err:  # any failure to decode the bytes is a problem of the file
        raise _unreadable(path, err) from err


def _unreadable(path: Path, err: Exception) -> FileFormatError:
    """The error for a checkpoint file whose bytes torch could not load."""
    if _refused(err) and _complete_pickle(path):
        return FileFormatError(
            f"{path}: holds objects that a weights-only load refuses (it would have to run "
            f"code from the file), so it is not a loadable weights-only checkpoint; save plain "
            f"tensors and containers (e.g. a state_dict)"
        )
    if not _is_zip(path):
        return FileFormatError(
            f"{path}: truncated or corrupt (not a complete torch.save archive); the write was "
            f"probably interrupted or the file copied in part; use an earlier copy"
        )
    detail = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return FileFormatError(
        f"{path}: truncated or corrupt (the archive is complete but its content cannot be "
        f"read: {type(err).__name__}: {detail}); use an earlier copy"
    )


def _is_zip(path: Path) -> bool:
    """``zipfile.is_zipfile``, False also when the end record itself is damaged (a flipped
    byte there can claim a multi-disk archive, which ``is_zipfile`` raises for)."""
    try:
        return zipfile.is_zipfile(path)
    except zipfile.BadZipFile:
        return False


def _complete_pickle(path: Path) -> bool:
    """Whether the pickle inside the archive ends with its STOP opcode (``.``): a cut pickle
    can stop inside a class name, which the unpickler then refuses as an unknown global."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith("data.pkl")]
            return bool(names) and archive.read(names[0]).endswith(b".")
    except (zipfile.BadZipFile, OSError, KeyError, ValueError):
        return True  # not an archive (legacy format): judge by the error alone


def _refused(err: BaseException) -> bool:
    """Whether a load failed because weights-only unpickling refused a global (a class or a
    function the file would have called), rather than because the bytes are damaged."""
    return isinstance(err, pickle.UnpicklingError) and bool(
        re.search(r"global|allowlist", str(err), flags=re.IGNORECASE)
    )
