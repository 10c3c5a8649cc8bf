"""The signalling experiment and the fresh-influence example run with ``--tiny``; the experiment's
measures are checked on scripted agents whose answers are known."""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(script: str, *args: str, cwd: Path) -> str:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--tiny", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def load(script: str) -> Any:
    spec = importlib.util.spec_from_file_location(Path(script).stem, EXAMPLES / script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_experiment_signalling_tiny_writes_its_tables(tmp_path: Path) -> None:
    out = run("experiment_signalling.py", "--out", str(tmp_path / "res"), cwd=tmp_path)
    assert "| condition |" in out
    runs = pd.read_csv(tmp_path / "res" / "runs.csv")
    assert (
        list(runs["condition"])
        == ["baseline"] * 2 + ["influence"] * 2 + ["control"] * 2 + ["population"] * 2
    )
    for column in ("grounded", "ic", "ic_given_target", "responsiveness", "influence"):
        assert (runs[column] >= 0).all()
    assert (runs["return"] <= 19).all()  # 10-step episodes: 10 + 9
    summary = pd.read_csv(tmp_path / "res" / "summary.csv")
    assert set(summary["seeds"]) == {2}
    curves = pd.read_csv(tmp_path / "res" / "curves.csv")
    assert sorted(set(curves["env_steps"])) == [0, 200, 400]
    assert (tmp_path / "res" / "curves.png").stat().st_size > 0


def scripted_rollout(*, control: bool, honest: float) -> Any:
    """B episodes of T steps: a speaker says its target with probability ``honest`` (else one
    of the other symbols, uniformly); a listener acts on the message it hears (in the control,
    on the target it sees); with that listener's counterfactual logits."""
    from agents.sampler import Rollout

    t_len, b, n, m = 50, 40, 2, 4
    rng = np.random.default_rng(1)
    targets = rng.integers(0, m, size=(t_len, b))
    truthful = rng.random((t_len, b)) < honest
    said = np.where(truthful, targets, (targets + rng.integers(1, m, size=(t_len, b))) % m)
    acts = np.zeros((t_len, b, n), dtype=np.int64)
    acts[:, :, 0] = targets
    acts[1:, :, 1] = targets[:-1] if control else said[:-1]
    msgs = np.stack([said, np.zeros_like(said)], axis=-1)
    ext = np.zeros((t_len, b, n), dtype=np.float32)
    ext[:, :, 0] = 1.0
    ext[1:, :, 1] = acts[1:, :, 1] == targets[:-1]
    p_say = np.full((t_len, b, m), (1 - honest) / (m - 1))
    p_say[np.arange(t_len)[:, None], np.arange(b), targets] = honest
    msg_logits = torch.zeros(t_len, b, n, m)
    msg_logits[:, :, 0] = torch.from_numpy(np.log(np.maximum(p_say, 1e-300)))
    cf = torch.zeros(t_len + 1, b, n, n - 1, m, m)
    if not control:  # the listener copies whatever message it would hear
        cf[:, :, 1, 0] = torch.full((m, m), -30.0).fill_diagonal_(0.0)
    zeros = torch.zeros(t_len, b, n)
    ro = Rollout(
        views=torch.zeros(t_len, b, n, 1, 1, 1, dtype=torch.uint8),
        starts=torch.zeros(t_len, b, dtype=torch.bool),
        visible=torch.ones(t_len, b, n, n),
        actions=torch.from_numpy(acts),
        logits=torch.zeros(t_len, b, n, m),
        logp=zeros,
        values=zeros,
        last_values=torch.zeros(b, n),
        env_rewards=torch.from_numpy(ext),
        extrinsic=torch.from_numpy(ext),
        dones=torch.zeros(t_len, b, dtype=torch.bool),
        state0={},
        next_visible=torch.ones(b, n, n),
        messages=torch.from_numpy(msgs),
        message_logits=msg_logits,
        cf_logits=cf,
        context=torch.from_numpy(np.stack([targets, np.full_like(targets, -1)], axis=-1)),
    )
    return ro


def test_measures_of_a_perfect_protocol_and_of_the_common_cause_control() -> None:
    exp = load("experiment_signalling.py")
    from envs.signalling import SignallingConfig

    ro = scripted_rollout(control=False, honest=1.0)
    got = exp.measures(ro, SignallingConfig(num_symbols=4))
    assert got["return"] == 99.0
    assert got["listener_accuracy"] == 1.0
    ln4 = math.log(4)
    assert got["grounded"] == pytest.approx(ln4, abs=0.01)  # plug-in on 2000 samples
    assert got["ic"] == pytest.approx(ln4, abs=0.01)
    assert got["ic_given_target"] == pytest.approx(0.0, abs=1e-12)  # m is a function of g
    assert got["responsiveness"] == pytest.approx(ln4, abs=1e-9)
    assert got["influence"] == pytest.approx(0.0, abs=1e-9)  # deterministic speaker
    assert got["influence_population"] == pytest.approx(ln4, abs=0.01)

    noisy = scripted_rollout(control=False, honest=0.9)
    got = exp.measures(noisy, SignallingConfig(num_symbols=4))
    assert got["influence"] == pytest.approx(0.43, abs=0.05)  # METRICS.md section 9 case
    assert got["responsiveness"] == pytest.approx(ln4, abs=1e-9)

    ctrl = scripted_rollout(control=True, honest=1.0)
    got = exp.measures(ctrl, SignallingConfig(num_symbols=4, listener_sees_target=True))
    assert got["return"] == 99.0
    assert got["ic"] == pytest.approx(ln4, abs=0.01)  # a common cause looks like coordination
    assert got["ic_given_target"] == pytest.approx(0.0, abs=1e-12)
    assert got["responsiveness"] == 0.0  # the listener ignores the message
    assert got["influence"] == 0.0


def test_fresh_influence_tiny_prints_both_initialisations(tmp_path: Path) -> None:
    out = run("fresh_influence.py", "--inits", "glorot", "normc001", cwd=tmp_path)
    rows = [line.split() for line in out.splitlines() if line.startswith(("  glorot", "normc001"))]
    values = {(r[0], r[1]): (float(r[3]), float(r[4])) for r in rows if len(r) == 5}
    assert len(values) == 6
    for setting in ("basic", "comm", "moa"):
        glorot, normc = values[("glorot", setting)], values[("normc001", setting)]
        assert glorot[0] > 1000 * normc[0]  # per pair
        assert glorot[1] >= glorot[0]  # an influencer's reward sums its influencees
