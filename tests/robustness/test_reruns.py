"""Reruns into existing directories, resumes, and Ctrl-C: nothing is deleted or replaced that
the command did not write in the same run.

A command whose output directory already holds something refuses (exit 2, the fix in one
line) unless ``--overwrite`` is given; with it the output is replaced as a unit, and files the
command never wrote are not deleted. Training into a directory holding another run refuses; a
resume writes where it was told and refuses changed settings outside the resumable list;
a sweep whose file changed refuses to touch its finished runs. Ctrl-C stops training after a
checkpoint that resumes exactly.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from probe import LOST, OK, SILENT, TRACEBACK, classify_cli_error, kept, run_cli, snapshot

import causal_influence.io as ci_io
from causal_influence.trajectory import Trajectory

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--bootstrap", "10", "--permutations", "10", "--no-progress"]


def _data(seed: int = 0, *, episodes: int = 6) -> Trajectory:
    rng = np.random.default_rng(seed)
    t_, n = 10 * episodes, 3
    return Trajectory(
        actions=rng.integers(0, 3, (t_, n)),
        rewards=rng.normal(size=(t_, n)),
        episode_ids=np.repeat(np.arange(episodes), 10),
        influence=rng.random((t_, n, n)),
        num_actions=3,
        extra={"influence_alignment": "same_step"},
    )


def _refused(probe, case: str, argv: list[str], root: Path) -> None:
    """``argv`` must exit 2 with one line and leave everything under ``root`` as it was."""
    before = snapshot(root)
    result = run_cli(argv)
    outcome, detail = classify_cli_error(result)
    lost, what = kept(before, root)
    if lost != OK:
        outcome, detail = lost, what
    probe.record(case, outcome, detail)


def _ran(probe, case: str, argv: list[str]) -> bool:
    result = run_cli(argv)
    if result.exception is not None:
        probe.record(case, TRACEBACK, repr(result.exception)[:300])
        return False
    if result.code != 0:
        probe.record(case, TRACEBACK, f"exit {result.code}: {result.err[-300:]}")
        return False
    probe.record(case, OK)
    return True


# ------------------------------------------------------------------------- demo, analyze, graph


def test_demo_never_deletes_other_data(probe, tmp_path: Path) -> None:
    out = tmp_path / "out"
    ci_io.write_shards(_data(7, episodes=30), out / "trajectories", episodes_per_shard=1)
    demo = ["demo", "--episodes", "2", "--length", "40", "--bootstrap", "5", "--permutations", "5"]
    _refused(probe, "demo --out DIR holding 30 other shards", [*demo, "--out", str(out)], tmp_path)
    _refused(
        probe,
        "demo --out DIR --overwrite where DIR holds files the demo did not write",
        [*demo, "--out", str(out), "--overwrite", "--no-progress"],
        tmp_path,
    )
    fresh = tmp_path / "fresh"
    if _ran(probe, "demo into a fresh directory", [*demo, "--out", str(fresh), "--no-progress"]):
        _refused(probe, "demo again into its own output", [*demo, "--out", str(fresh)], tmp_path)
        if _ran(
            probe,
            "demo again with --overwrite",
            [*demo, "--out", str(fresh), "--overwrite", "--no-progress", "--seed", "3"],
        ):
            names = {p.name for p in (fresh / "trajectories").iterdir()}
            probe.record(
                "demo --overwrite replaced the shards as a unit",
                OK if "MANIFEST.json" in names else SILENT,
                str(sorted(names)),
            )
    probe.check()


def test_analyze_and_graph_reruns(probe, tmp_path: Path) -> None:
    data = tmp_path / "data"
    ci_io.write_shards(_data(), data, episodes_per_shard=2)
    report = tmp_path / "report"
    if _ran(
        probe, "analyze into a fresh directory", ["analyze", str(data), "--out", str(report), *FAST]
    ):
        _refused(
            probe,
            "analyze again into the report",
            ["analyze", str(data), "--out", str(report), *FAST],
            tmp_path,
        )
        if _ran(
            probe,
            "analyze --overwrite",
            ["analyze", str(data), "--out", str(report), "--overwrite", *FAST],
        ):
            try:
                ci_io.check_manifest(report)
                probe.record("the replaced report matches its manifest", OK)
            except Exception as err:  # the check itself is what is probed
                probe.record("the replaced report matches its manifest", SILENT, repr(err))
    _refused(
        probe,
        "analyze --out = the input directory, --overwrite",
        ["analyze", str(data), "--out", str(data), "--overwrite", *FAST],
        tmp_path,
    )
    _refused(
        probe,
        "analyze --out = a parent of the input, --overwrite",
        ["analyze", str(data), "--out", str(tmp_path), "--overwrite", *FAST],
        tmp_path,
    )
    graphs = tmp_path / "graphs"
    base = ["graph", str(data), "--out", str(graphs), *FAST]
    if _ran(probe, "graph --window 5", [*base, "--window", "5"]):
        _refused(
            probe,
            "graph --window 10 into the --window 5 output",
            [*base, "--window", "10"],
            tmp_path,
        )
        if _ran(probe, "graph --window 10 --overwrite", [*base, "--window", "10", "--overwrite"]):
            names = sorted(p.name for p in (graphs / "windows").iterdir())
            mixed = any("000000_000005" in n for n in names)
            probe.record("windows of one run only", SILENT if mixed else OK, str(names[:4]))
    probe.check()


def test_write_shards_reruns(probe, tmp_path: Path) -> None:
    folder = tmp_path / "shards"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    probe.error(
        "write_shards into a directory holding other files", ci_io.write_shards, _data(), folder
    )
    before = snapshot(tmp_path)
    probe.error(
        "write_shards(overwrite=True) over files it did not write",
        ci_io.write_shards,
        _data(),
        folder,
        overwrite=True,
    )
    probe.record("notes.txt kept", *kept(before, tmp_path))
    mine = tmp_path / "mine"
    ci_io.write_shards(_data(1), mine, episodes_per_shard=1)
    probe.error("write_shards again without overwrite", ci_io.write_shards, _data(2), mine)
    probe.same(
        "write_shards(overwrite=True) over its own output: the new data only",
        lambda: (
            ci_io.write_shards(_data(2, episodes=3), mine, episodes_per_shard=1, overwrite=True),
            ci_io.open_dataset(mine).read_all(),
        )[1],
        _data(2, episodes=3),
    )
    probe.check()


# ------------------------------------------------------------------------------ training


def _tiny(**kw):
    from agents.config import TrainConfig
    from envs.config import harvest_config

    env = harvest_config(
        map="small_harvest", num_agents=2, obs_type="symbolic", view_radius=2, max_cycles=12
    )
    base = {
        "env": env,
        "setting": "moa",
        "num_envs": 2,
        "rollout_length": 6,
        "total_env_steps": 2 * 12 * 3,
        "lstm_size": 8,
        "fc_hiddens": (8,),
        "influence_coef": 1.0,
        "lr": 1e-2,
        "tensorboard": False,
        "checkpoint_every": 1,
        "num_threads": 1,
    }
    return TrainConfig(**{**base, **kw})


def _train_args(config, out: Path) -> list[str]:
    path = out.parent / f"{out.name}.config.json"
    path.write_text(config.to_json(), encoding="utf-8")
    return ["train", "--config", str(path), "--out-dir", str(out), "--no-progress"]


def test_training_reruns_and_resumes(probe, tmp_path: Path) -> None:
    from agents.trainer import train

    config = _tiny()
    run = tmp_path / "run"
    train(dataclasses.replace(config, out_dir=str(run)))
    _refused(
        probe, "train into a directory holding a finished run", _train_args(config, run), tmp_path
    )
    # --resume of a copy writes into the copy, not the original's stored out_dir
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    before = snapshot(run)
    longer = ["--total-env-steps", str(config.total_env_steps * 2)]
    result = run_cli(["train", "--resume", str(copy), *longer, "--no-progress"])
    outcome, detail = kept(before, run)
    if outcome == OK:
        grown = len((copy / "progress.csv").read_text().splitlines()) > len(
            (run / "progress.csv").read_text().splitlines()
        )
        outcome = OK if result.code == 0 and grown else TRACEBACK
        detail = result.err[-300:]
    probe.record("train --resume COPY writes into COPY", outcome, detail)
    _refused(
        probe,
        "train --resume with a changed --lr",
        ["train", "--resume", str(run), "--lr", "0.5", "--no-progress"],
        tmp_path,
    )
    _refused(
        probe,
        "train --resume with a changed --env-num-agents",
        ["train", "--resume", str(run), "--env-num-agents", "3", "--no-progress"],
        tmp_path,
    )
    other = tmp_path / "other"
    before = snapshot(run)
    result = run_cli(
        ["train", "--resume", str(run), "--out-dir", str(other), *longer, "--no-progress"]
    )
    outcome, detail = kept(before, run)
    if outcome == OK:
        ok = result.code == 0 and (other / "final.pt").is_file()
        outcome, detail = (OK if ok else TRACEBACK), result.err[-300:]
    probe.record("train --resume RUN --out-dir NEW writes into NEW", outcome, detail)
    if _ran(
        probe, "train --overwrite over a finished run", [*_train_args(config, run), "--overwrite"]
    ):
        lines = (run / "progress.csv").read_text().strip().splitlines()
        probe.record(
            "the replaced run holds one run's rows",
            OK if len(lines) == 1 + config.num_updates else SILENT,
            f"{len(lines)} lines",
        )
    probe.check()


def test_sweep_rerun_with_an_edited_file(probe, tmp_path: Path) -> None:
    from analysis import sweep, sweep_tasks

    out = tmp_path / "sweep"
    runs = sweep.expand_grid(_tiny(checkpoint_every=0), seeds=[0, 1])
    planned = sweep._plan(runs, out)
    for run in planned:  # what a finished earlier sweep left
        sweep_tasks.execute_run(run.to_dict(), None)
    before = snapshot(out / "runs")
    same = sweep.run_sweep(runs, out, train_fn=None)
    probe.record(
        "the same sweep again skips every run",
        OK if set(same["status"]) == {"skipped"} else SILENT,
        str(same["status"].tolist()),
    )
    probe.record("the same sweep again keeps every run", *kept(before, out / "runs"))
    edited = sweep.expand_grid(_tiny(checkpoint_every=0, lr=3e-3), seeds=[0, 1])
    before = snapshot(out / "runs")
    probe.error("an edited sweep into the same directory", sweep.run_sweep, edited, out, num_cpus=1)
    probe.record("the edited sweep keeps the finished runs", *kept(before, out / "runs"))
    probe.check()


def test_sweep_into_a_directory_of_other_files(probe, tmp_path: Path) -> None:
    from analysis import sweep

    out = tmp_path / "elsewhere"
    (out / "runs" / "none_seed=0").mkdir(parents=True)
    (out / "runs" / "none_seed=0" / "progress.csv").write_text("update\n1\n")
    (out / "runs" / "none_seed=0" / "config.json").write_text('{"lr": 0.5}')
    before = snapshot(out)
    runs = sweep.expand_grid(_tiny(checkpoint_every=0), seeds=[0])
    probe.error("a sweep into a directory that is no sweep", sweep.run_sweep, runs, out, num_cpus=1)
    probe.record("its files are kept", *kept(before, out))
    # a sweep directory whose run directory holds another run under the same name
    (out / "sweep.json").write_text("{}")
    (out / "runs" / "none_seed=0").rename(out / "runs" / runs[0].name)
    before = snapshot(out)
    probe.error("a sweep over another run's directory", sweep.run_sweep, runs, out, num_cpus=1)
    probe.record("the other run's files are kept", *kept(before, out))
    probe.check()


# ------------------------------------------------------------------------------ Ctrl-C


def _sigint_run(out: Path, config, *, after: float) -> subprocess.CompletedProcess:
    """``causal-influence train`` in a subprocess, sent SIGINT once a checkpoint exists."""
    args = _train_args(config, out)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "analysis", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 240
    while not list((out / "checkpoints").glob("ckpt_*.pt")) and time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=240)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def test_ctrl_c_stops_training_with_an_exact_checkpoint(probe, tmp_path: Path) -> None:
    from agents.trainer import train

    config = _tiny(total_env_steps=2 * 12 * 40, checkpoint_every=3)
    full = train(dataclasses.replace(config, out_dir=str(tmp_path / "full")))
    out = tmp_path / "interrupted"
    proc = _sigint_run(out, config, after=0.3)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    clean = proc.returncode == 130 and "Traceback" not in proc.stderr and len(lines) == 1
    probe.record(
        "Ctrl-C: exit 130, one line, no traceback",
        OK if clean else TRACEBACK,
        f"exit {proc.returncode}: {proc.stderr[-400:]}",
    )
    if proc.returncode == 0:
        probe.record("Ctrl-C landed after the run ended", SILENT, "make the run longer")
        probe.check()
    try:
        resumed = train(dataclasses.replace(config, out_dir=str(out)), resume=out)
    except Exception as err:
        probe.record("resume after Ctrl-C", LOST, repr(err)[:300])
        probe.check()
        return
    same = all(
        torch.equal(a, b)
        for a, b in zip(full.net.parameters(), resumed.net.parameters(), strict=True)
    )
    keys = [k for k in full.history[0] if k not in ("seconds", "env_steps_per_second")]

    def rows(history):
        return [[r[k] for k in keys] for r in history]

    same_log = np.allclose(
        rows(full.history), rows(resumed.history), equal_nan=True, rtol=0, atol=0
    )
    probe.record(
        "resume after Ctrl-C equals the uninterrupted run",
        OK if same and same_log else SILENT,
        f"parameters equal: {same}, log equal: {same_log}",
    )
    csv_rows = (out / "progress.csv").read_text().strip().splitlines()
    probe.record(
        "progress.csv holds each update once",
        OK if len(csv_rows) == 1 + len(full.history) else SILENT,
        f"{len(csv_rows)} lines",
    )
    probe.check()


@pytest.mark.slow
def test_ctrl_c_at_several_moments(probe, tmp_path: Path) -> None:
    from agents.trainer import train

    config = _tiny(total_env_steps=2 * 12 * 150, checkpoint_every=5)
    full = train(dataclasses.replace(config, out_dir=str(tmp_path / "full")))
    for i, after in enumerate((0.0, 0.15, 0.5, 1.0, 2.0)):
        out = tmp_path / f"interrupted_{i}"
        proc = _sigint_run(out, config, after=after)
        if proc.returncode == 0 and not proc.stderr.strip():
            continue  # the run had finished: nothing to interrupt
        if proc.returncode != 130:
            probe.record(f"Ctrl-C after {after} s", TRACEBACK, proc.stderr[-300:])
            continue
        resumed = train(dataclasses.replace(config, out_dir=str(out)), resume=out)
        same = all(
            torch.equal(a, b)
            for a, b in zip(full.net.parameters(), resumed.net.parameters(), strict=True)
        )
        probe.record(f"Ctrl-C after {after} s, then resume", OK if same else SILENT)
    probe.check()
