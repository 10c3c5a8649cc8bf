"""The HTML report and the ``causal-influence`` command line (through ``python -m analysis``
in a subprocess and through ``main([...])``)."""

from __future__ import annotations

import argparse
import base64
import re
import subprocess
import sys
import types
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

import causal_influence.io as ci_io
from analysis import commands
from analysis.cli import build_parser, main
from analysis.demo import speaker_listener
from analysis.graph import read_graph_json
from analysis.report import write_report
from analysis.stats import analyze

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--bootstrap", "60", "--permutations", "60", "--no-progress"]


@pytest.fixture(scope="module")
def traj():
    return speaker_listener(episodes=12, length=120, rng=5)


@pytest.fixture(scope="module")
def shards(traj, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("shards")
    ci_io.write_shards(traj, folder, episodes_per_shard=4)
    return folder


SCRIPT = Path(sys.executable).parent / "causal-influence"


def run_module(*args: str, cwd: Path, module: bool = False) -> subprocess.CompletedProcess:
    """Run the console script that ``pip install`` made from ``[project.scripts]`` (or, with
    ``module=True``, ``python -m analysis``) in a subprocess."""
    assert SCRIPT.is_file(), f"{SCRIPT} missing: reinstall the project (make test does)"
    command = [sys.executable, "-m", "analysis"] if module else [str(SCRIPT)]
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"},
    )


def test_report_embeds_figures_and_tables(traj, tmp_path) -> None:
    result = analyze(traj, n_bootstrap=50, n_permutations=200, rng=0)
    path = write_report(result, tmp_path / "out", title="T <1>", source="memory")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert text.rstrip().endswith("</html>")
    assert "<title>T &lt;1&gt;</title>" in text
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(images) == 5  # influence and responsiveness heatmaps, graph, over time, IC
    for image in images:
        assert base64.b64decode(image)[:4] == b"\x89PNG"
    # Self-contained: every src is an inline image; no stylesheet or script links.
    assert len(re.findall(r'src="', text)) == len(images)
    assert "<link" not in text
    assert "<script" not in text
    for heading in (
        "Pairwise influence",
        "Speaker consistency",
        "Instantaneous coordination",
        "Causal influence of communication",
        "Social outcomes",
        "Influence over time",
    ):
        assert f"<h2>{heading}" in text
    assert text.count("<table") >= 8
    # Tables in the page are the analysis tables (a value shows up in its row).
    sc = result.speaker_consistency
    value = sc[(sc.agent == "agent_0") & (sc.definition == "mi")]["value"].iloc[0]
    assert f"{value:.4g}" in text
    for name in (
        "influence",
        "coordination",
        "speaker_consistency",
        "cic",
        "social",
        "social_summary",
        "node_measures",
    ):
        frame = pd.read_csv(tmp_path / "out" / f"{name}.csv")
        assert len(frame) > 0
    columns = ["influence", "influence_ci_low", "observational_p_value"]
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "out" / "influence.csv")[columns],
        result.influence[columns],
        check_exact=False,
    )
    g = nx.read_graphml(tmp_path / "out" / "influence_graph.graphml")
    assert ("agent_0", "agent_1") in g.edges


def test_report_without_messages_or_influence(tmp_path) -> None:
    rng = np.random.default_rng(1)
    acts = rng.integers(0, 3, size=(400, 2))
    acts[1:, 1] = acts[:-1, 0]
    result = analyze(
        {"actions": acts, "episode_ids": np.repeat(np.arange(10), 40)},
        n_bootstrap=30,
        n_permutations=200,
        rng=0,
    )
    assert result.influence is None
    assert result.speaker_consistency is None
    assert result.cic is None
    text = write_report(result, tmp_path).read_text()
    assert "Action/action coordination" in text
    assert ">Speaker consistency<" not in text
    assert ("agent_0", "agent_1") in nx.read_graphml(tmp_path / "influence_graph.graphml").edges


def test_help_through_the_real_entry_point(tmp_path, capsys) -> None:
    proc = run_module("--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for command in ("analyze", "graph", "train", "demo"):
        assert command in proc.stdout
    assert run_module("--help", cwd=tmp_path, module=True).stdout == proc.stdout
    sub = run_module("analyze", "--help", cwd=tmp_path)
    assert sub.returncode == 0, sub.stderr
    assert "usage: causal-influence analyze" in sub.stdout
    assert "--permutations" in sub.stdout
    for command in ("graph", "demo"):
        assert main([command, "--help"]) == 0
        assert f"usage: causal-influence {command}" in capsys.readouterr().out
    # Every option of every command has a help text.
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub_parser in subparsers.items():
        if name == "train":
            continue
        for action in sub_parser._actions:
            assert action.help, (name, action.dest)


def test_commands_come_from_the_registry(monkeypatch, capsys) -> None:
    assert [c.NAME for c in commands.COMMANDS] == list(commands.COMMAND_MODULES)
    for command in commands.COMMANDS:
        assert callable(command.add_parser)
        assert callable(command.run)
    # A new subcommand is a module with NAME, add_parser and run, registered in one place.
    hello = types.ModuleType("hello")
    hello.NAME = "hello"

    def add_parser(subparsers) -> argparse.ArgumentParser:
        parser = subparsers.add_parser("hello", help="greet")
        parser.add_argument("--to", default="world", help="whom to greet")
        return parser

    def run(ns: argparse.Namespace) -> int:
        print(f"hello {ns.to}")
        return 0

    hello.add_parser, hello.run = add_parser, run
    monkeypatch.setattr(commands, "COMMANDS", (*commands.COMMANDS, hello))
    assert main(["hello", "--to", "agents"]) == 0
    assert capsys.readouterr().out == "hello agents\n"
    assert main(["--help"]) == 0
    assert "greet" in capsys.readouterr().out


def test_bad_input_gives_one_line_errors(tmp_path) -> None:
    proc = run_module(
        "analyze", str(tmp_path / "missing"), "--out", str(tmp_path / "o"), cwd=tmp_path
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("causal-influence: error: ")
    assert "missing" in lines[0]
    assert "Traceback" not in proc.stderr
    (tmp_path / "data.txt").write_text("not a trajectory")
    assert main(["analyze", str(tmp_path / "data.txt"), "--out", str(tmp_path / "o")]) == 2
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 truncated")
    assert main(["graph", str(broken), "--out", str(tmp_path / "o")]) == 2
    assert main(["analyze", str(tmp_path), "--out", str(tmp_path / "o")]) == 2  # no shards
    assert main(["analyze"]) == 2  # usage error
    assert main(["analyze", "x", "--out", "y", "--confidence", "1.5"]) == 2
    assert main([]) == 2


def test_bad_input_messages(tmp_path, capsys) -> None:
    assert main(["analyze", str(tmp_path / "nothing.parquet"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("causal-influence: error: ")
    assert err.count("\n") == 1


def test_good_run_through_the_real_entry_point(shards, tmp_path) -> None:
    out = tmp_path / "report"
    proc = run_module(
        "analyze",
        str(shards),
        "--out",
        str(out),
        "--bootstrap",
        "20",
        "--permutations",
        "20",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "analysed 1440 steps, 12 episodes, 3 agents" in proc.stdout
    assert (out / "report.html").is_file()
    assert (out / "influence_graph.json").is_file()


def test_main_analyze_and_graph(shards, traj, tmp_path, capsys) -> None:
    single = ci_io.save(traj, tmp_path / "traj.npz")
    assert main(["analyze", str(single), "--out", str(tmp_path / "a"), "--bits", *FAST]) == 0
    coordination = pd.read_csv(tmp_path / "a" / "coordination.csv")
    assert coordination["value"].max() > 1.0  # bits: log2(4) = 2 is the maximum
    graph_args = ["--bootstrap", "60", "--permutations", "200", "--no-progress"]
    assert (
        main(["graph", str(shards), "--out", str(tmp_path / "g"), "--window", "40", *graph_args])
        == 0
    )
    out = capsys.readouterr().out
    assert "graph: 3 agents" in out
    g = nx.read_graphml(tmp_path / "g" / "influence_graph.graphml")
    h = read_graph_json(tmp_path / "g" / "influence_graph.json")
    assert set(g.edges) == set(h.edges) == {("agent_0", "agent_1")}
    edge = g.edges["agent_0", "agent_1"]
    assert edge["ci_low"] > 0.01  # the influence test: interval above the minimum effect
    assert "minimum effect" in edge["test"]
    windows = sorted((tmp_path / "g" / "windows").glob("*.graphml"))
    assert [p.name for p in windows] == [
        "influence_graph_000000_000040.graphml",
        "influence_graph_000040_000080.graphml",
        "influence_graph_000080_000120.graphml",
    ]
    measures = pd.read_csv(tmp_path / "g" / "node_measures.csv", index_col=0)
    assert measures.loc["agent_0", "out_strength"] > 0.2


def test_train_dispatches_to_the_agents(capsys) -> None:
    pytest.importorskip("agents.trainer")
    assert main(["train", "--help"]) == 0
    assert "usage: causal-influence train" in capsys.readouterr().out


def test_demo_command(tmp_path, capsys) -> None:
    code = main(["demo", "--out", str(tmp_path), "--episodes", "10", "--length", "60", *FAST])
    assert code == 0
    out = capsys.readouterr().out
    assert "CIC, agent_0 -> agent_1" in out
    assert "expected" in out
    assert (tmp_path / "report.html").is_file()
    assert len(list((tmp_path / "trajectories").glob("*.parquet"))) == 2


@pytest.mark.filterwarnings("ignore::causal_influence.errors.FewSamplesWarning")
@pytest.mark.filterwarnings("ignore::causal_influence.errors.EstimatorWarning")
def test_demo_command_with_trained_agents(tmp_path, capsys) -> None:
    """``demo --agents``: the signalling game and its control, one report each."""
    argv = ["demo", "--agents", "--out", str(tmp_path), "--env-steps", "320", "--jobs", "1"]
    assert main([*argv, *FAST]) == 0
    out = capsys.readouterr().out
    assert "training the signalling game (K=4 targets, M=8 symbols)" in out
    assert "conclusion agent_0 -> agent_1: " in out
    for variant in ("listen", "control"):
        assert (tmp_path / variant / "report.html").is_file()
        assert (tmp_path / variant / "run" / "final.pt").is_file()
    assert main(["demo", "--harvest", "--out", str(tmp_path / "h")]) == 2  # needs --agents


def test_demo_command_with_trained_agents_on_harvest(tmp_path, capsys) -> None:
    code = main(
        ["demo", "--agents", "--harvest", "--out", str(tmp_path), "--env-steps", "320", *FAST]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "training 4 agents with a 4-symbol message channel" in out
    assert "strongest influence of messages on next actions" in out
    assert (tmp_path / "report.html").is_file()
    assert (tmp_path / "run" / "final.pt").is_file()
