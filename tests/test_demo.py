"""The README's demo (``make demo``) runs end to end, writes its reports and prints computed
figures (``--quick``: the same pipeline on tiny budgets)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_demo_runs_and_prints_figures(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-W",
            "ignore::UserWarning",
            str(ROOT / "examples" / "demo.py"),
            "--out",
            str(tmp_path),
            "--quick",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    # Part 1: trained agents with a message channel, recorded and analysed from shards.
    assert "training 3 agents with a 4-symbol message channel" in out
    assert "strongest influence of messages on next actions" in out
    assert re.search(r"agent_\d -> agent_\d: \S+ \[\S+, \S+\]  (edge|no edge)", out)
    assert re.search(r"conclusion agent_\d -> agent_\d: ", out)
    report = tmp_path / "agents" / "report.html"
    text = report.read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") >= 3
    assert "Speaker consistency" in text
    assert {p.suffix for p in (tmp_path / "agents" / "trajectories").iterdir()} == {
        ".json",
        ".parquet",
    }
    assert (tmp_path / "agents" / "trajectories" / "MANIFEST.json").is_file()
    assert (tmp_path / "agents" / "run" / "final.pt").is_file()
    # Part 2: closed-form answers beside the measured ones.
    assert "CIC, agent_0 -> agent_1" in out
    assert (tmp_path / "ground_truth" / "report.html").is_file()
    # Part 3: random episodes as GIFs.
    assert (tmp_path / "harvest_random.gif").is_file()
    assert (tmp_path / "cleanup_random.gif").is_file()
    assert f"main report:         {report.resolve()}" in out
