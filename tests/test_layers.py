"""Layers import downward only: causal_influence <- envs <- agents <- analysis.

The test reads every module of every layer with :mod:`ast` (nothing is executed), so it also
catches imports inside functions. The core must not import any RL framework either.
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
