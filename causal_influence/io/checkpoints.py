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
import zipfile
from pathlib import Path
from typing import Any

from causal_influence.errors import FileFormatError

__all__ = ["load_torch_checkpoint"]


def load_torch_checkpoint(path: str | os.PathLike[str], *, map_location: Any = "cpu") -> Any:
    """Load a torch checkpoint safely: ``torch.load(..., weights_only=True)``.

    Only tensors, containers, numbers and strings (and classes torch allows) are restored; a
    file that would need to execute code is refused. torch is imported on first use.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    FileFormatError
        If the file is truncated, corrupted, or holds objects a weights-only load refuses.
    """
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, zipfile.BadZipFile) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise FileFormatError(
            f"{path}: not a loadable weights-only checkpoint ({type(err).__name__}: {first}); "
            f"code from files is never executed, so save plain tensors and containers "
            f"(e.g. a state_dict)"
        ) from err
