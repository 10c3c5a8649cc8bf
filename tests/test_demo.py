"""The README's demo runs end to end and prints computed figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_demo_runs_and_prints_figures(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "demo.py"),
            "--out",
            str(tmp_path),
            "--episodes",
            "4",
            "--length",
            "100",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "speaker -> listener: measured" in out
    assert "CIC speaker -> listener" in out
    assert (tmp_path / "harvest_random.gif").is_file()
    assert (tmp_path / "cleanup_random.gif").is_file()
