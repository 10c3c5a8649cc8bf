"""Layers import downward only: causal_influence <- envs <- agents <- analysis.

The test reads every module of every layer with :mod:`ast` (nothing is executed), so it also
catches imports inside functions. The core must not import any RL framework either, and no
layer imports another layer's private names (``_name``) or private modules (``pkg._mod``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["causal_influence", "envs", "agents", "analysis"]
# Frameworks the core must never import: it is usable from any MARL codebase.
FRAMEWORKS = {
    "pettingzoo",
    "gymnasium",
    "gym",
    "ray",
    "torchrl",
    "tensordict",
    "benchmarl",
    "supersuit",
}


def imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_imports(layer: str, root: Path = ROOT) -> list[str]:
    """Imports by ``layer`` of private names or private modules of another layer."""
    others = set(LAYERS) - {layer}
    found = []
    for path in sorted((root / layer).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                parts = node.module.split(".")
                if parts[0] not in others:
                    continue
                module_private = any(_private(p) for p in parts[1:])
                names = [a.name for a in node.names if module_private or _private(a.name)]
                found.extend(f"{path.relative_to(root)} imports {node.module}.{n}" for n in names)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if parts[0] in others and any(_private(p) for p in parts[1:]):
                        found.append(f"{path.relative_to(root)} imports {alias.name}")
    return found


def violations(layer: str, root: Path = ROOT) -> list[str]:
    above = set(LAYERS[LAYERS.index(layer) + 1 :])
    forbidden = above | (FRAMEWORKS if layer == "causal_influence" else set())
    found = []
    for path in sorted((root / layer).rglob("*.py")):
        bad = imported_top_levels(path) & forbidden
        found.extend(f"{path.relative_to(root)} imports {name}" for name in sorted(bad))
    return found


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_only_downward(layer: str) -> None:
    assert violations(layer) == []


@pytest.mark.parametrize("layer", LAYERS)
def test_no_private_names_across_layers(layer: str) -> None:
    assert private_imports(layer) == []


def test_checker_detects_private_imports(tmp_path: Path) -> None:
    (tmp_path / "analysis").mkdir()
    (tmp_path / "analysis" / "m.py").write_text(
        "from causal_influence.io import _temp_name, load\n"
        "from causal_influence._backend import to_int\n"
        "import agents._internal\n"
        "from causal_influence import __version__\n"
        "from analysis._ray import ray_session\n"  # private module of its own layer: allowed
    )
    assert private_imports("analysis", root=tmp_path) == [
        "analysis/m.py imports causal_influence.io._temp_name",
        "analysis/m.py imports causal_influence._backend.to_int",
        "analysis/m.py imports agents._internal",
    ]


def test_checker_detects_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from analysis.report import x\n    import envs.harvest\n")
    assert imported_top_levels(module) >= {"analysis", "envs"}
    core = tmp_path / "causal_influence"
    core.mkdir()
    (core / "bad.py").write_text("import numpy\nfrom envs import harvest\nimport pettingzoo\n")
    assert violations("causal_influence", root=tmp_path) == [
        "causal_influence/bad.py imports envs",
        "causal_influence/bad.py imports pettingzoo",
    ]


def test_every_layer_is_a_package() -> None:
    for layer in LAYERS:
        assert (ROOT / layer / "__init__.py").is_file()
