"""Every example in ``examples/`` for using the toolkit from another codebase runs with ``--tiny``.

Each script runs in a subprocess, as a user would run it, and what it prints is checked: the
influence reward in a CleanRL-style loop, the significant edge planted in external data, the
Pyro game's values against their closed forms, and the train -> record -> analyse files.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causal_influence import Trajectory

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(script: str, *args: str, cwd: Path) -> str:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--tiny", *args],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=cwd,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_cleanrl_ppo_with_influence_reward(tmp_path: Path) -> None:
    out = run("cleanrl_ppo_influence.py", cwd=tmp_path)
    lines = [line for line in out.splitlines() if line.startswith("update")]
    assert len(lines) == 2
    for line in lines:
        value = float(re.search(r"influence of agent_0 (\S+) nats/step", line).group(1))
        assert np.isfinite(value)
        assert value >= 0


def load(script: str):
    spec = importlib.util.spec_from_file_location(Path(script).stem, EXAMPLES / script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_analyze_external_csv_and_arrays(tmp_path: Path) -> None:
    out = run("analyze_external.py", "--out", str(tmp_path / "csv"), cwd=tmp_path)
    assert (tmp_path / "csv" / "report" / "report.html").is_file()
    assert (tmp_path / "csv" / "report" / "influence_graph.graphml").is_file()
    edges = re.findall(r"^(agent_\d) -> (agent_\d): (\S+) nats/step", out, flags=re.M)
    assert edges == [("agent_0", "agent_1", edges[0][2])]  # the planted influence, and only it
    assert float(edges[0][2]) > 0.1
    # The same data as a dict of stacked arrays (an .npz another codebase saved) reads the same.
    script = load("analyze_external.py")
    csv = tmp_path / "csv" / "external_episodes.csv"
    traj = script.load_external(csv)
    assert traj == Trajectory.from_dataframe(pd.read_csv(csv), env_name="external_game")
    np.savez(tmp_path / "arrays.npz", **traj.to_dict())
    assert script.load_external(tmp_path / "arrays.npz") == traj


def test_pyro_signalling_matches_closed_forms(tmp_path: Path) -> None:
    out = run("pyro_signalling.py", cwd=tmp_path)
    pairs = re.findall(r"CIC, speaker -> listener: (\S+)\s+exact: (\S+)", out)
    assert len(pairs) == 2
    for cic, exact in pairs:
        assert float(cic) == pytest.approx(float(exact), abs=2e-4)
    influence = [float(v) for v in re.findall(r"mean over steps: (\S+)", out)]
    # state unobserved: every step's influence is the closed form itself
    assert influence[0] == pytest.approx(float(pairs[0][1]), abs=2e-4)


def test_train_record_analyze(tmp_path: Path) -> None:
    out = run("train_record_analyze.py", "--out", str(tmp_path / "run"), cwd=tmp_path)
    assert "recorded 10 episodes of 60 steps" in out
    assert len(list((tmp_path / "run" / "episodes").glob("*.parquet"))) == 10
    assert (tmp_path / "run" / "run" / "final.pt").is_file()
    assert (tmp_path / "run" / "report" / "report.html").is_file()
    assert re.search(r"influence graph: \d+ edge\(s\) of 6 pairs", out)


def test_mpe_speaker_listener(tmp_path: Path) -> None:
    pytest.importorskip("mpe2")
    out = run("mpe_speaker_listener.py", "--out", str(tmp_path / "mpe"), cwd=tmp_path)
    assert (tmp_path / "mpe" / "report.html").is_file()
    assert (tmp_path / "mpe" / "influence_graph.graphml").is_file()
    assert "recorded 12 episodes of 15 steps" in out
    speaks = float(re.search(r"speaker -> listener: (\S+) nats/step", out).group(1))
    hears = float(re.search(r"listener -> speaker: (\S+) nats/step", out).group(1))
    assert speaks > 0.05
    assert hears == 0.0  # the speaker never reads the listener
    edges = re.findall(r"^(\w+) -> (\w+): (\S+) nats/step \[", out, flags=re.M)
    assert [(k, j) for k, j, _ in edges] == [("speaker_0", "listener_0")]
