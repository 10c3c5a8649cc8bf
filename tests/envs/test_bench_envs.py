"""Smoke run of ``benchmarks/bench_envs.py --quick`` with a stand-in reference checkout: the
reference is measured in the same run, through inert stand-ins for the frameworks it imports
(no timing assertions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FAKE_ENV = """
import numpy as np
from gym.spaces import Box
from ray.rllib.env import MultiAgentEnv


class {name}(MultiAgentEnv):
    def __init__(self, num_agents=1, return_agent_actions=False):
        self.agents = {{f"agent-{{i}}": None for i in range(num_agents)}}
        self.observation_space = Box(low=0, high=255, shape=(15, 15, 3), dtype=np.uint8)
        self.grid = np.zeros((25, 18), dtype=int)
        self.steps = 0

    def reset(self):
        self.grid[:] = 0
        return {{a: self.grid[:15, :15] for a in self.agents}}

    def step(self, actions):
        assert sorted(actions) == sorted(self.agents)
        self.grid += 1
        self.steps += 1
        return {{a: self.grid[:15, :15] for a in self.agents}}, {{}}, {{}}, {{}}
"""


def test_bench_envs_measures_the_reference_in_the_same_run(tmp_path: Path) -> None:
    envs = tmp_path / "social_dilemmas" / "envs"
    envs.mkdir(parents=True)
    (tmp_path / "social_dilemmas" / "__init__.py").write_text("")
    (envs / "__init__.py").write_text("")
    (envs / "harvest.py").write_text(FAKE_ENV.format(name="HarvestEnv"))
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "bench_envs.py"),
        "--quick",
        "--repeats",
        "1",
        "--games",
        "harvest",
        "--obs",
        "codes",
        "--reference-src",
        str(tmp_path),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=300, check=False, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"reference measured in this run from {tmp_path} (stand-ins for gym, ray)" in out
    for row in ("reference ", "codes pettingzoo", "codes vector B=1 ", "codes vector B=16"):
        assert row in out, f"{row!r} missing from:\n{out}"
    assert "whole episodes of 100 steps" in out
    assert "load" in out
    assert "nan" not in out.lower()
