"""Optional dependencies of the core, imported on first use.

``pip install causal-influence`` installs the core with numpy and scipy only. torch, Pyro,
pandas and pyarrow are extras; a function that needs one imports it through :func:`require`,
whose ImportError names the extra to install.

Examples
--------
>>> require("math", purpose="the example").pi > 3
True
>>> require("no_such_module_xyz", purpose="reading the moon")
Traceback (most recent call last):
...
ImportError: reading the moon needs the package 'no_such_module_xyz', which is not installed; install it with pip install 'causal-influence[all]'
"""  # noqa: E501

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["EXTRAS", "require"]

#: The extra of ``causal-influence`` that installs each optional top-level package.
EXTRAS: dict[str, str] = {
    "torch": "torch",
    "pyro": "pyro",
    "pandas": "files",
    "pyarrow": "files",
}


def require(module: str, *, purpose: str) -> ModuleType:
    """Import ``module`` (e.g. ``"pyarrow.parquet"``); an ImportError naming the extra if it
    is missing. ``purpose`` completes the message: "{purpose} needs the package ..."."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        top = module.partition(".")[0]
        missing = (err.name or top).partition(".")[0]
        why = "which is not installed" if missing == top else f"which needs {missing!r}"
        raise ImportError(
            f"{purpose} needs the package {top!r}, {why}; install it with "
            f"pip install 'causal-influence[{EXTRAS.get(top, 'all')}]'",
            name=missing,
        ) from err
