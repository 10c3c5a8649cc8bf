"""Packaging: the core installs and imports with its own dependencies only, each layer's extra
covers what the layer imports, and the generic layer names are protected from homonyms.

The checks that need an environment without some packages run in a subprocess whose
``sys.meta_path`` starts with a finder that refuses to import them.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
EXTRAS: dict[str, list[str]] = PYPROJECT["project"]["optional-dependencies"]

#: Import name -> distribution, for the third-party packages the project imports.
DISTRIBUTIONS = {
    "numpy": "numpy",
    "scipy": "scipy",
    "torch": "torch",
    "pyro": "pyro-ppl",
    "pandas": "pandas",
    "pyarrow": "pyarrow",
    "gymnasium": "gymnasium",
    "pettingzoo": "pettingzoo",
    "numba": "numba",
    "matplotlib": "matplotlib",
    "PIL": "pillow",
    "networkx": "networkx",
    "tqdm": "tqdm",
    "tensordict": "tensordict",
    "torchrl": "torchrl",
    "ray": "ray",
    "tomli": "tomli",
}
#: Imported only behind a guard that says what to install (optional within the layer).
GUARDED = {"ray", "tensordict", "torchrl", "tomli"}
OPTIONAL_OF_CORE = ("torch", "pyro", "pandas", "pyarrow")
LAYER_PACKAGES = ("gymnasium", "pettingzoo", "numba", "matplotlib", "PIL", "networkx", "tqdm")

BLOCKER = """
import importlib.abc, sys
BLOCKED = {blocked!r}
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked)", name=name)
        return None
sys.meta_path.insert(0, Blocker())
"""


def run_python(code: str, *, blocked: tuple[str, ...] = (), cwd: Path = ROOT) -> str:
    """Run ``code`` in a fresh interpreter (``blocked`` packages refused); its stdout."""
    script = BLOCKER.format(blocked=set(blocked)) + textwrap.dedent(code)
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def requirement_names(requirements: list[str], seen: frozenset[str] = frozenset()) -> set[str]:
    """Distribution names of ``requirements``, self-references to extras expanded."""
    names: set[str] = set()
    for req in requirements:
        match = re.match(r"causal-influence\[(.*)\]", req)
        if match is None:
            names.add(re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0].lower())
            continue
        for extra in match.group(1).split(","):
            if extra not in seen:
                names |= requirement_names(EXTRAS[extra], seen | {extra})
    return names


def third_party_imports(package: str) -> set[str]:
    """Top-level third-party names imported anywhere in ``package`` (lazy imports included)."""
    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.partition(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.partition(".")[0])
    return {name for name in found if name in DISTRIBUTIONS}


def test_the_core_depends_on_numpy_and_scipy_only() -> None:
    assert requirement_names(PYPROJECT["project"]["dependencies"]) == {"numpy", "scipy"}
    assert third_party_imports("causal_influence") - {"numpy", "scipy"} == set(OPTIONAL_OF_CORE)


@pytest.mark.parametrize(
    ("layer", "extra"),
    [("causal_influence", "all"), ("envs", "envs"), ("agents", "agents"), ("analysis", "analysis")],
)
def test_each_layer_extra_installs_what_the_layer_imports(layer: str, extra: str) -> None:
    installed = requirement_names(EXTRAS[extra]) | {"numpy", "scipy"}
    needed = {DISTRIBUTIONS[name] for name in third_party_imports(layer) - GUARDED}
    assert needed - installed == set()
    assert {"dev", "ray", "torchrl", "all"} <= set(EXTRAS)


def test_make_installs_every_extra_the_tests_need() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    line = re.search(r'pip install --quiet -e "\.\[(.*)\]"', makefile)
    assert line is not None
    assert {"all", "dev", "ray", "torchrl"} <= set(line.group(1).split(","))


def test_the_core_imports_and_works_without_its_optional_packages(tmp_path: Path) -> None:
    """numpy and scipy only: every core module imports, numpy work runs, and a function that
    needs torch, Pyro, pandas or pyarrow says which extra installs it."""
    out = run_python(
        f"""
        import importlib, json, pkgutil
        import numpy as np
        import causal_influence as ci
        for info in pkgutil.walk_packages(ci.__path__, "causal_influence."):
            importlib.import_module(info.name)
        cf = np.array([[0.0, -np.inf], [-np.inf, 0.0]])
        value = float(ci.expected_influence(cf, np.log([0.5, 0.5])))
        traj = ci.Trajectory([[0, 1], [1, 0]], [[0.0, 1.0]] * 2, num_actions=2)
        ci.save(traj, {str(tmp_path / "t.npz")!r})
        same = ci.load({str(tmp_path / "t.npz")!r}) == traj
        errors = {{}}
        calls = {{
            "to_dataframe": lambda: traj.to_dataframe(),
            "parquet": lambda: ci.save(traj, {str(tmp_path / "t.parquet")!r}),
            "social": lambda: ci.social_outcomes(np.zeros((3, 2))),
            "checkpoint": lambda: ci.io.load_torch_checkpoint({str(tmp_path / "c.pt")!r}),
            "torch_model": lambda: ci.TorchModel(
                lambda f, x: x, np.zeros((2, 1)), [[0, 1]] * 2, prior_logits=np.zeros((2, 2, 2))
            ),
            "pyro_model": lambda: ci.PyroModel(lambda: None, ["a"], ["b"]),
        }}
        for name, call in calls.items():
            try:
                call()
            except ImportError as err:
                errors[name] = str(err)
        loaded = sorted(m for m in {OPTIONAL_OF_CORE + LAYER_PACKAGES!r} if m in sys.modules)
        print(json.dumps({{"value": value, "same": same, "errors": errors, "loaded": loaded}}))
        """,
        blocked=OPTIONAL_OF_CORE + LAYER_PACKAGES,
    )
    result = json.loads(out)
    assert result["value"] == pytest.approx(0.693147, abs=1e-6)
    assert result["same"] is True
    assert result["loaded"] == []
    expected = {
        "to_dataframe": "files",
        "parquet": "files",
        "social": "files",
        "checkpoint": "torch",
        "torch_model": "torch",
        "pyro_model": "pyro",
    }
    assert set(result["errors"]) == set(expected)
    for name, extra in expected.items():
        assert f"pip install 'causal-influence[{extra}]'" in result["errors"][name], name


@pytest.mark.parametrize("importer", ["agents", "analysis"])
def test_a_foreign_envs_package_first_on_the_path_is_named(importer: str, tmp_path: Path) -> None:
    fake = tmp_path / "elsewhere" / "envs"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("'''Another project's envs.'''\nmake = None\n")
    out = run_python(
        f"""
        import sys
        sys.path.insert(0, {str(fake.parent)!r})
        try:
            import {importer}
        except ImportError as err:
            print(err)
        else:
            print("imported")
        """
    )
    assert f"{importer} (causal-influence) imports its sibling package 'envs'" in out
    assert str(fake / "__init__.py") in out  # where the foreign one was found
    assert "rename or remove that package, or put it after causal-influence" in out
    assert str(ROOT / "envs") in out  # where ours is


def test_every_layer_declares_the_distribution() -> None:
    out = run_python(
        """
        import agents, analysis, causal_influence, envs
        from causal_influence.distribution import LAYERS, is_ours
        print([m.__distribution__ for m in (causal_influence, envs, agents, analysis)])
        print([is_ours(name) for name in LAYERS], is_ours("json"))
        """
    )
    assert out.splitlines() == [str(["causal-influence"] * 4), "[True, True, True, True] False"]
