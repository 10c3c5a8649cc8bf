"""The paper-scale sweep files of results/paper_scale.md load into the runs they describe."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.sweep import load_sweep_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("game", "map_rows", "lr"), [("harvest", 16, 0.00136), ("cleanup", 25, 0.00126)]
)
def test_paper_scale_sweeps_are_the_papers_runs(game: str, map_rows: int, lr: float) -> None:
    spec = load_sweep_config(ROOT / "results" / "paper_scale" / f"{game}.toml")
    runs = spec.runs()
    assert len(runs) == 7 * 5  # seven conditions, five seeds
    assert spec.out is not None
    for run in runs:
        cfg = run.config
        assert cfg.env.game == game
        assert cfg.env.num_agents == 5
        assert len(cfg.env.parsed.rows) == map_rows  # the reference map
        assert cfg.env.max_cycles == 1000
        assert cfg.total_env_steps == 500_000_000
        assert cfg.lr == lr
        assert cfg.influence_schedule_steps == (0, 10_000_000, 100_000_000, 300_000_000)
        assert cfg.influence_schedule_weights == (0.0, 0.0, 1.0, 0.5)
        assert cfg.checkpoint_every > 0
    coefs = {run.condition: run.config.influence_coef for run in runs}
    assert coefs == {
        "baseline": 0.0,
        "visible_actions": 0.0,
        "basic": 1.0,
        "comm_baseline": 0.0,
        "comm": 1.0,
        "moa_baseline": 0.0,
        "moa": 1.0,
    }
