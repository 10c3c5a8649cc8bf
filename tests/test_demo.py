"""The README's demo (``make demo``) runs end to end, writes its reports and prints computed
figures (``--quick``: the same pipeline on tiny budgets); the full signalling demo (slow)
shows communication in the game that needs it and a common cause in the control."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_demo(out: Path, *args: str) -> str:
    proc = subprocess.run(
        [
            sys.executable,
            "-W",
            "ignore::UserWarning",
            str(ROOT / "examples" / "demo.py"),
            "--out",
            str(out),
            "--quick",
            "--no-progress",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_demo_runs_and_prints_its_summary(tmp_path: Path) -> None:
    out = run_demo(tmp_path)
    # Part 1: the signalling game and its control, trained side by side, recorded, analysed.
    assert "training the signalling game (K=4 targets, M=8 symbols)" in out
    assert re.search(r"listen\s+[\d.]+ / 19\s+[\d.]+%\s+\S", out)
    assert re.search(r"control\s+[\d.]+ / 19\s+[\d.]+%\s+\S", out)
    assert re.search(r"conclusion agent_0 -> agent_1: ", out)
    for variant in ("listen", "control"):
        base = tmp_path / "signalling" / variant
        text = (base / "report.html").read_text(encoding="utf-8")
        assert text.count("data:image/png;base64,") >= 3
        assert "Grounded information" in text  # the recorded context reached the analysis
        assert (base / "trajectories" / "MANIFEST.json").is_file()
        assert (base / "run" / "final.pt").is_file()
        assert f"signalling ({variant}):" in out
    # Part 2: closed-form answers beside the measured ones.
    assert "CIC, agent_0 -> agent_1" in out
    assert (tmp_path / "ground_truth" / "report.html").is_file()
    assert out.rstrip().splitlines()[-1].startswith("demo finished in")


def test_the_signalling_demo_replaces_its_earlier_output(tmp_path: Path) -> None:
    """Run twice into one directory (as ``make demo`` does with overwrite): the second run
    replaces the first; without overwrite an earlier output is refused before any work."""
    import io

    from analysis.demo_signalling import DemoConfig, run

    tiny = DemoConfig(
        env_steps=320, episode_length=10, record_episodes=2, n_bootstrap=0, n_permutations=0
    )
    tiny = dataclasses.replace(tiny, jobs=1)
    for _ in range(2):
        result = run(tmp_path, tiny, progress=False, stream=io.StringIO(), overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["MANIFEST.json", "control", "listen"]
    assert all(path.is_file() for path in result.reports.values())
    with pytest.raises(FileExistsError):
        run(tmp_path, tiny, progress=False, stream=io.StringIO())


@pytest.mark.slow
def test_harvest_demo_runs_with_its_reading(tmp_path: Path) -> None:
    out = run_demo(tmp_path, "--harvest")
    assert "training 3 agents with a 4-symbol message channel" in out
    assert "strongest influence of messages on next actions" in out
    assert re.search(r"agent_\d -> agent_\d: \S+ \[\S+, \S+\]  (edge|no edge)", out)
    assert "reading: " in out
    text = (tmp_path / "agents" / "report.html").read_text(encoding="utf-8")
    assert "Speaker consistency" in text
    assert (tmp_path / "harvest_random.gif").is_file()
    assert (tmp_path / "cleanup_random.gif").is_file()


@pytest.mark.slow
def test_full_signalling_demo_finds_communication_and_the_common_cause(tmp_path: Path) -> None:
    """What ``make demo`` concludes, with its default budget (a few minutes)."""
    import io

    from analysis.demo_signalling import DemoConfig, run

    result = run(tmp_path, DemoConfig(), progress=False, stream=io.StringIO())
    words = {
        variant: dict(
            zip(
                zip(table["influencer"], table["influencee"], strict=True),
                table["conclusion"],
                strict=True,
            )
        )
        for variant, table in result.conclusions.items()
    }
    assert words["listen"][("agent_0", "agent_1")] == "communicates (grounded)"
    assert words["control"][("agent_0", "agent_1")] == "common cause suspected"
    listen = nx.read_graphml(tmp_path / "listen" / "influence_graph.graphml")
    assert ("agent_0", "agent_1") in listen.edges
    assert listen.edges["agent_0", "agent_1"]["ci_low"] > 0.5  # the listener responds
    control = nx.read_graphml(tmp_path / "control" / "influence_graph.graphml")
    assert control.number_of_edges() == 0
    assert any(line.startswith("  reading: The symbol names the target") for line in result.summary)
