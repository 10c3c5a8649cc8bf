"""The experiment script and the training benchmark run end to end on a tiny budget."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def test_experiment_script_tiny(tmp_path, capsys) -> None:
    script = load(ROOT / "examples" / "experiment_influence.py")
    out = tmp_path / "exp"
    assert script.main(["--tiny", "--out", str(out)]) == 0
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["condition"]) == ["baseline", "influence"]
    assert (summary["seeds"] == 3).all()
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 6
    assert runs["episode_collective_return"].notna().all()
    assert (out / "curves.png").stat().st_size > 1000
    printed = capsys.readouterr().out
    assert "baseline" in printed
    assert "influence" in printed


def test_training_benchmark_quick(capsys) -> None:
    bench = load(ROOT / "benchmarks" / "bench_training.py")
    args = ["--quick", "--settings", "moa", "--num-agents", "2", "--obs-type", "symbolic"]
    assert bench.main([*args, "--episode-length", "100"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].split()[0] == "moa"
    assert float(lines[-1].split()[-1]) > 0


def test_training_benchmark_presets_time_the_signalling_game_and_small_harvest(capsys) -> None:
    bench = load(ROOT / "benchmarks" / "bench_training.py")
    assert bench.main(["--quick", "--preset", "signalling", "--settings", "comm"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("signalling, 1x1 one-hot views, 2 agents")
    assert "LSTM 64" in out
    row = out.strip().splitlines()[-1].split()
    assert row[0] == "comm"
    assert float(row[1]) > 0
    assert float(row[2]) > 0
    args = bench.parse(["--preset", "small_harvest", "--lstm-size", "8"])
    assert (args.map, args.num_agents, args.lstm_size) == ("small_harvest", 4, 8)
    assert bench.make_config(args, "basic", True).env.map_name == "small_harvest"
