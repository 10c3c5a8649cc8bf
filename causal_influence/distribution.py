"""Which installed packages belong to causal-influence, and a guard for the generic names.

The distribution installs four top-level packages: ``causal_influence`` (the core) and the
layers ``envs``, ``agents`` and ``analysis``. The last three have generic names that another
project (or a folder in the working directory) may also use. Each of the four declares
``__distribution__ = "causal-influence"`` in its ``__init__.py``, and each layer calls
:func:`check_layers` when it is imported, for the sibling layers it imports: if one of those
names resolves to another project's package, the import fails at once with an
:class:`ImportError` that says which name clashed, where the foreign package was found, where
ours is, and how to fix it, instead of failing later with an unrelated ``AttributeError``.

This does not stop pip from installing another distribution that ships a top-level ``envs``
(the two would overwrite each other's files); it only makes the clash visible on import.

Examples
--------
>>> import causal_influence
>>> causal_influence.__distribution__ == DISTRIBUTION
True
>>> check_layers("analysis", ["causal_influence"])
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterable
from pathlib import Path

__all__ = ["DISTRIBUTION", "LAYERS", "check_layers", "is_ours"]

#: The distribution name every package of this project declares as ``__distribution__``.
DISTRIBUTION = "causal-influence"

#: The top-level packages of the distribution, lowest layer first.
LAYERS: tuple[str, ...] = ("causal_influence", "envs", "agents", "analysis")

_MARKER = re.compile(r"^__distribution__\s*=\s*[\"']causal-influence[\"']", re.MULTILINE)
_ROOT = Path(__file__).resolve().parent.parent  # the directory that holds causal_influence


def _location(name: str) -> tuple[bool, str]:
    """(whether the package ``name`` that Python imports is ours, where it is found).

    An imported package is judged by its ``__distribution__``; one not imported yet by the
    marker in its ``__init__.py``, located without importing it.
    """
    module = sys.modules.get(name)
    if module is not None:
        where = getattr(module, "__file__", None) or ", ".join(getattr(module, "__path__", []))
        return getattr(module, "__distribution__", None) == DISTRIBUTION, str(where)
    spec = importlib.util.find_spec(name)
    if spec is None:
        return False, "nowhere (not installed)"
    if spec.origin is None or not spec.origin.endswith("__init__.py"):
        places = list(spec.submodule_search_locations or [])
        return False, spec.origin or ", ".join(places) or "a namespace package"
    try:
        text = Path(spec.origin).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False, spec.origin
    return bool(_MARKER.search(text)), spec.origin


def is_ours(name: str) -> bool:
    """Whether the top-level package ``name`` that Python imports belongs to causal-influence.

    Examples
    --------
    >>> is_ours("causal_influence"), is_ours("json")
    (True, False)
    """
    return _location(name)[0]


def check_layers(importer: str, names: Iterable[str]) -> None:
    """Raise an :class:`ImportError` unless each package of ``names`` is causal-influence's.

    ``importer`` is the layer that needs them (named in the message).

    Raises
    ------
    ImportError
        Naming the package that clashed, where it was found, where causal-influence's own is
        expected, and how to fix it.
    """
    for name in names:
        ours, where = _location(name)
        if ours:
            continue
        raise ImportError(
            f"{importer} (causal-influence) imports its sibling package {name!r}, but {name!r} "
            f"resolves to {where}, which is not part of causal-influence (it does not declare "
            f"__distribution__ = {DISTRIBUTION!r}): another project's top-level {name!r} comes "
            f"first on sys.path. Fix: rename or remove that package, or put it after "
            f"causal-influence on sys.path (check PYTHONPATH and the working directory); "
            f"causal-influence's own is {_ROOT / name}",
            name=name,
        )
