"""Sweeps and shard-parallel analysis on a real local Ray cluster (``ray.init(num_cpus=2)``).

One cluster serves the whole module (starting one costs seconds). Tests that need no cluster
(grid expansion, sweep files, merging summaries in one process) are here too, beside the code
they check.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analysis.sweep
import causal_influence.io as ci_io
from agents.config import TrainConfig
from agents.trainer import train
from analysis.cli import main
from analysis.dataset import summarize
from analysis.demo import speaker_listener
from analysis.shards import analyze_shards, merge_summaries, shard_groups, summarize_shards
from analysis.stats import analyze
from analysis.sweep import (
    expand_grid,
    gather_sweep,
    learning_curves,
    load_sweep_config,
    run_sweep,
)
from causal_influence.errors import ConfigError, FileFormatError
from envs.config import harvest_config

ray = pytest.importorskip("ray")

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--bootstrap", "60", "--permutations", "60", "--no-progress"]
TIMING = ["seconds", "env_steps_per_second"]
SETTINGS = {"none": {}, "moa": {"setting": "moa", "influence_coef": 1.0}}
COUNT_FIELDS = [
    "unit_episodes",
    "unit_steps",
    "ic_action",
    "ic_action_high",
    "ic_message",
    "ic_message_high",
    "sc",
    "influence_count",
    "dependence",
    "high_steps",
    "cic_count",
    "profile_count",
    "example_reward",
    "example_moments",
]
SUM_FIELDS = ["influence_sum", "cic_sum", "cic_compat_sum", "profile_sum"]


def tiny(**kw) -> TrainConfig:
    """A run of 4 updates (2 episodes of 12 steps in 2 envs) on the small Harvest map."""
    env = harvest_config(
        map="small_harvest", num_agents=2, obs_type="symbolic", view_radius=2, max_cycles=12
    )
    base = {
        "env": env,
        "num_envs": 2,
        "rollout_length": 6,
        "total_env_steps": 48,
        "lstm_size": 8,
        "fc_hiddens": (8,),
        "tensorboard": False,
    }
    base.update(kw)
    return TrainConfig(**base)


def recording_train(calls: Path, *, fail_once: str | None = None, always_fail: bool = False):
    """agents.trainer.train that appends the run's name to ``calls`` at every attempt; the run
    ``fail_once`` raises on its first attempt, every run raises with ``always_fail``."""

    def train_fn(config: TrainConfig, *, resume=None):
        name = Path(config.out_dir).name
        with open(calls, "a", encoding="utf-8") as fh:
            fh.write(name + "\n")
        if always_fail:
            raise RuntimeError(f"injected failure of {name}")
        if name == fail_once:
            flag = calls.with_name(f"{calls.name}.failed-{name}")
            if not flag.exists():
                flag.touch()
                raise RuntimeError(f"injected failure of {name}")
        return train(config, resume=resume)

    return train_fn


def read_calls(calls: Path) -> list[str]:
    return calls.read_text(encoding="utf-8").split() if calls.exists() else []


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()


# ------------------------------------------------------------------------------ sweeps


def test_expand_grid_crosses_settings_grid_and_seeds() -> None:
    runs = expand_grid(tiny(), seeds=[3, 4], settings=SETTINGS, grid={"lr": [0.01, 0.001]})
    assert len(runs) == 8
    assert [r.name for r in runs[:3]] == [
        "none_lr=0.01_seed=3",
        "none_lr=0.01_seed=4",
        "none_lr=0.001_seed=3",
    ]
    last = runs[-1]
    assert (last.condition, last.seed, last.params) == (
        "moa lr=0.001",
        4,
        {"setting": "moa", "lr": 0.001},
    )
    assert (last.config.setting, last.config.influence_coef, last.config.lr, last.config.seed) == (
        "moa",
        1.0,
        0.001,
        4,
    )
    assert last.config.env == tiny().env
    env_runs = expand_grid(tiny(), seeds=1, grid={"env.view_radius": [2, 3]})
    assert [r.config.env.view_radius for r in env_runs] == [2, 3]
    with pytest.raises(ConfigError, match="'seed' cannot be a grid key"):
        expand_grid(tiny(), seeds=[0], grid={"seed": [1, 2]})
    with pytest.raises(ConfigError, match=r"run none_seed=0: .*rollout_length=5"):
        expand_grid(tiny(), seeds=[0], settings={"none": {"rollout_length": 5}})
    with pytest.raises(ConfigError, match="distinct seeds"):
        expand_grid(tiny(), seeds=[1, 1])


def test_sweep_file_toml_and_json_agree(tmp_path: Path) -> None:
    toml = tmp_path / "s.toml"
    toml.write_text(
        """
out = "results"
seeds = 2

[base]
num_envs = 2
rollout_length = 6
fc_hiddens = [8]
[base.env]
map = "small_harvest"
num_agents = 2
max_cycles = 12

[settings.moa]
setting = "moa"
influence_coef = 1.0

[grid]
"env.view_radius" = [2, 3]
""",
        encoding="utf-8",
    )
    data = {
        "out": "results",
        "seeds": [0, 1],
        "base": {
            "num_envs": 2,
            "rollout_length": 6,
            "fc_hiddens": [8],
            "env": {"map": "small_harvest", "num_agents": 2, "max_cycles": 12},
        },
        "settings": {"moa": {"setting": "moa", "influence_coef": 1.0}},
        "grid": {"env.view_radius": [2, 3]},
    }
    (tmp_path / "s.json").write_text(json.dumps(data), encoding="utf-8")
    a, b = load_sweep_config(toml), load_sweep_config(tmp_path / "s.json")
    assert a.out == tmp_path / "results"
    assert [r.to_dict() for r in a.runs()] == [r.to_dict() for r in b.runs()]
    assert [r.name for r in a.runs()] == [
        "moa_env.view_radius=2_seed=0",
        "moa_env.view_radius=2_seed=1",
        "moa_env.view_radius=3_seed=0",
        "moa_env.view_radius=3_seed=1",
    ]
    (tmp_path / "bad.json").write_text(json.dumps({**data, "sedes": [0]}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['sedes'\]"):
        load_sweep_config(tmp_path / "bad.json")
    (tmp_path / "bad.toml").write_text("seeds = [0\n", encoding="utf-8")
    with pytest.raises(FileFormatError, match="not valid TOML"):
        load_sweep_config(tmp_path / "bad.toml")


def test_documented_sweep_files_are_valid(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    doc = analysis.sweep.__doc__ or ""
    after = doc.split("Sweep file\n----------\n")[1].split("::\n")[1].splitlines()
    indented = "\n".join(itertools.takewhile(lambda line: not line or line[0] == " ", after))
    blocks = {
        "readme": re.findall(r"```toml\n(.*?)```", readme, flags=re.S),
        "docstring": [textwrap.dedent(indented)],
    }
    for where, found in blocks.items():
        assert len(found) == 1, where
        path = tmp_path / f"{where}.toml"
        path.write_text(found[0], encoding="utf-8")
        spec = load_sweep_config(path)
        assert len(spec.runs()) == 3 * 2 * 4, where  # seeds x settings x grid
        assert spec.out == tmp_path / "sweeps" / "harvest"
        assert {r.params["setting"] for r in spec.runs()} == {"baseline", "moa"}


def test_learning_curves_mean_and_t_interval() -> None:
    table = pd.DataFrame(
        {
            "condition": ["b"] * 6 + ["a"] * 2,
            "seed": [0, 0, 1, 1, 2, 2, 0, 0],
            "env_steps": [10, 20] * 4,
            "r": [1.0, np.nan, 2.0, 5.0, 6.0, 7.0, 4.0, 8.0],
        }
    )
    curves = learning_curves(table, metric="r")
    assert curves["condition"].tolist() == ["b", "b", "a", "a"]
    b10 = np.array([1.0, 2.0, 6.0])
    half = 4.302652729911275 * b10.std(ddof=1) / np.sqrt(3)  # t(0.975, 2 df)
    row = curves.iloc[0]
    assert (row["mean"], row["n_seeds"]) == (3.0, 3)
    np.testing.assert_allclose([row["ci_low"], row["ci_high"]], [3.0 - half, 3.0 + half])
    assert curves.iloc[1]["n_seeds"] == 2  # the NaN of seed 0 is left out
    assert np.isnan(curves.iloc[2]["ci_low"])  # one seed: no interval
    with pytest.raises(ConfigError, match="no column 'reward'"):
        learning_curves(table, metric="reward")


@pytest.fixture(scope="module")
def first_sweep(cluster, tmp_path_factory):
    """A 4-run sweep whose run moa_seed=1 fails on its first attempt."""
    out = tmp_path_factory.mktemp("sweep")
    calls = out.parent / f"{out.name}-calls.txt"
    runs = expand_grid(tiny(), seeds=[0, 1], settings=SETTINGS)
    messages: list[str] = []
    report = run_sweep(
        runs, out, train_fn=recording_train(calls, fail_once="moa_seed=1"), log=messages.append
    )
    return {"out": out, "runs": runs, "calls": calls, "report": report, "messages": messages}


def test_sweep_retries_a_failed_run_and_gathers(first_sweep) -> None:
    out, report = first_sweep["out"], first_sweep["report"]
    assert report["status"].tolist() == ["finished"] * 4
    attempts = dict(zip(report["run"], report["attempts"], strict=True))
    assert attempts == {"none_seed=0": 1, "none_seed=1": 1, "moa_seed=0": 1, "moa_seed=1": 2}
    assert sorted(read_calls(first_sweep["calls"])) == sorted(
        ["none_seed=0", "none_seed=1", "moa_seed=0", "moa_seed=1", "moa_seed=1"]
    )
    retried = [m for m in first_sweep["messages"] if "retrying" in m]
    assert retried == [
        "moa_seed=1: failed on attempt 1 of 2 (RuntimeError: injected failure of moa_seed=1); "
        "retrying"
    ]
    for run in first_sweep["runs"]:
        marker = json.loads((out / "runs" / run.name / "done.json").read_text(encoding="utf-8"))
        assert (marker["name"], marker["seed"]) == (run.name, run.seed)

    results = gather_sweep(out)
    table = results.table
    assert results.missing == ()
    assert list(table.columns[:5]) == ["run", "condition", "setting", "seed", "update"]
    assert len(table) == 4 * 4  # 4 runs of 4 updates
    assert table.groupby("run").size().to_dict() == dict.fromkeys(attempts, 4)
    one = pd.read_csv(out / "runs" / "moa_seed=1" / "progress.csv")
    pd.testing.assert_frame_equal(
        table[table["run"] == "moa_seed=1"][one.columns].reset_index(drop=True), one
    )
    # the curves are the mean over the two seeds of each condition
    ends = table.dropna(subset=["episode_collective_return"])
    expected = ends.groupby(["condition", "env_steps"], sort=False)["episode_collective_return"]
    curves = results.curves.set_index(["condition", "env_steps"])
    pd.testing.assert_series_equal(
        curves["mean"], expected.mean().rename("mean"), check_index_type=False
    )
    assert (curves["n_seeds"] == 2).all()
    assert results.paths["plot"].read_bytes()[:4] == b"\x89PNG"
    assert len(results.figure.axes[0].get_lines()) == 2
    saved = pd.read_csv(results.paths["table"])
    assert saved.shape == table.shape
    assert not list(out.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_sweep_restart_skips_finished_and_redoes_half_finished(first_sweep) -> None:
    out, runs, calls = first_sweep["out"], first_sweep["runs"], first_sweep["calls"]
    before = read_calls(calls)
    markers = {r.name: out / "runs" / r.name / "done.json" for r in runs}
    stamps = {name: path.stat().st_mtime_ns for name, path in markers.items()}

    report = run_sweep(runs, out, train_fn=recording_train(calls))
    assert report["status"].tolist() == ["skipped"] * 4
    assert read_calls(calls) == before
    assert {n: p.stat().st_mtime_ns for n, p in markers.items()} == stamps

    # none_seed=0 stopped half-way: no marker, the log cut after two updates
    progress = out / "runs" / "none_seed=0" / "progress.csv"
    original = pd.read_csv(progress)
    markers["none_seed=0"].unlink()
    progress.write_text("".join(progress.read_text().splitlines(True)[:3]), encoding="utf-8")
    report = run_sweep(runs, out, train_fn=recording_train(calls))
    status = dict(zip(report["run"], report["status"], strict=True))
    assert status == {
        "none_seed=0": "finished",
        "none_seed=1": "skipped",
        "moa_seed=0": "skipped",
        "moa_seed=1": "skipped",
    }
    assert read_calls(calls) == [*before, "none_seed=0"]
    redone = pd.read_csv(progress)
    assert len(redone) == 4
    pd.testing.assert_frame_equal(redone.drop(columns=TIMING), original.drop(columns=TIMING))
    for name in ("none_seed=1", "moa_seed=0", "moa_seed=1"):
        assert markers[name].stat().st_mtime_ns == stamps[name]
    assert markers["none_seed=0"].stat().st_mtime_ns > stamps["none_seed=0"]


def test_sweep_reports_a_run_that_fails_twice(cluster, tmp_path: Path) -> None:
    runs = expand_grid(tiny(), seeds=[0])
    calls = tmp_path / "calls.txt"
    messages: list[str] = []
    report = run_sweep(
        runs,
        tmp_path / "out",
        train_fn=recording_train(calls, always_fail=True),
        log=messages.append,
    )
    row = report.iloc[0]
    assert (row["status"], row["attempts"]) == ("failed", 2)
    assert row["error"] == "RuntimeError: injected failure of none_seed=0"
    assert messages[-1].endswith("giving up")
    assert read_calls(calls) == ["none_seed=0", "none_seed=0"]
    assert not (tmp_path / "out" / "runs" / "none_seed=0" / "done.json").exists()
    with pytest.raises(FileFormatError, match="no finished runs"):
        gather_sweep(tmp_path / "out")
    report = run_sweep(runs, tmp_path / "out", train_fn=recording_train(calls))
    assert report["status"].tolist() == ["finished"]
    assert gather_sweep(tmp_path / "out", write=False).table["run"].unique().tolist() == [
        "none_seed=0"
    ]


def test_sweep_resumes_an_interrupted_run_from_its_checkpoint(cluster, tmp_path: Path) -> None:
    runs = expand_grid(tiny(checkpoint_every=1), seeds=[0])
    out, calls = tmp_path / "out", tmp_path / "calls.txt"
    assert run_sweep(runs, out, train_fn=recording_train(calls))["status"].tolist() == ["finished"]
    run_dir = out / "runs" / "none_seed=0"
    progress = run_dir / "progress.csv"
    original = pd.read_csv(progress)
    ckpts = sorted((run_dir / "checkpoints").glob("ckpt_*.pt"))
    assert [p.name for p in ckpts] == ["ckpt_00000002.pt", "ckpt_00000004.pt"]
    # interrupted after the first episode: its checkpoint is the last thing written
    for path in (run_dir / "done.json", run_dir / "final.pt", ckpts[1]):
        path.unlink()
    progress.write_text("".join(progress.read_text().splitlines(True)[:3]), encoding="utf-8")
    report = run_sweep(runs, out, train_fn=recording_train(calls))
    assert (report["status"].iloc[0], bool(report["resumed"].iloc[0])) == ("finished", True)
    assert read_calls(calls) == ["none_seed=0", "none_seed=0"]
    marker = json.loads((run_dir / "done.json").read_text(encoding="utf-8"))
    assert marker["resumed_from"] == "ckpt_00000002.pt"
    resumed = pd.read_csv(progress)
    pd.testing.assert_frame_equal(resumed.drop(columns=TIMING), original.drop(columns=TIMING))


# ------------------------------------------------------------------------------ shards


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    """24 episodes of the speaker/listener game in 8 shards of 3 episodes."""
    folder = tmp_path_factory.mktemp("shards")
    ci_io.write_shards(
        speaker_listener(episodes=24, length=60, rng=3), folder, episodes_per_shard=3
    )
    return folder


def assert_same_summary(a, b, *, exact_sums: bool) -> None:
    for name in COUNT_FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name in SUM_FIELDS:
        if exact_sums and name != "profile_sum":
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        else:
            np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-13, err_msg=name)
    pd.testing.assert_frame_equal(a.social, b.social, check_exact=True)
    assert (a.num_steps, a.num_episodes, a.num_actions, a.num_symbols, a.agent_ids) == (
        b.num_steps,
        b.num_episodes,
        b.num_actions,
        b.num_symbols,
        b.agent_ids,
    )


@pytest.mark.parametrize("max_units", [200, 10, 7])
@pytest.mark.parametrize("groups", [2, 3, 5])
def test_merged_parts_equal_one_pass(shards: Path, max_units: int, groups: int) -> None:
    paths = list(ci_io.open_dataset(shards).paths)
    whole = summarize(shards, max_units=max_units)
    parts = [
        summarize(ci_io.open_dataset(g), max_units=max_units) for g in shard_groups(paths, groups)
    ]
    merged = merge_summaries(parts, max_units=max_units)
    assert merged.num_units == min(max_units, 24)
    assert_same_summary(merged, whole, exact_sums=max_units >= 24)


def test_merge_rejects_inconsistent_parts(shards: Path) -> None:
    part = summarize(shards, max_units=10)
    with pytest.raises(ConfigError, match="merge with the max_units"):
        merge_summaries([part, part], max_units=200)
    other = summarize({"actions": np.zeros((4, 2), int)})
    with pytest.raises(FileFormatError, match="same agents"):
        merge_summaries([part, other], max_units=10)


def test_sharded_analysis_on_ray_equals_single_process(cluster, shards: Path) -> None:
    options = {"n_bootstrap": 80, "n_permutations": 80, "rng": 7}
    single = analyze(shards, **options)
    sharded = analyze_shards(shards, num_tasks=3, **options)
    assert sharded.options == single.options
    assert_same_summary(sharded.summary, single.summary, exact_sums=True)
    assert single.tables().keys() == sharded.tables().keys()
    for name, table in single.tables().items():
        pd.testing.assert_frame_equal(sharded.tables()[name], table, check_exact=True, obj=name)


def test_sharded_analysis_beyond_max_units(cluster, shards: Path) -> None:
    """24 episodes in 10 units: units hold episodes of several tasks (rotated by the offsets
    of the 2nd and 3rd task). Every table, float sums included, is bit-identical: the driver
    adds the shards' float sums one shard at a time, as the single pass does."""
    options = {"n_bootstrap": 80, "n_permutations": 80, "rng": 7, "max_units": 10}
    single = analyze(shards, **options)
    for tasks in (2, 3, 5):
        sharded = analyze_shards(shards, num_tasks=tasks, **options)
        assert_same_summary(sharded.summary, single.summary, exact_sums=True)
        np.testing.assert_array_equal(sharded.summary.profile_sum, single.summary.profile_sum)
        for name, table in single.tables().items():
            pd.testing.assert_frame_equal(
                sharded.tables()[name], table, check_exact=True, obj=f"{name} ({tasks} tasks)"
            )


def test_summarize_shards_errors(cluster, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        summarize_shards(tmp_path / "nothing")
    with pytest.raises(ConfigError, match="in-memory trajectories"):
        summarize_shards({"actions": np.zeros((3, 2), int)})
    with pytest.raises(ConfigError, match="pass only one"):
        summarize_shards(tmp_path, address="auto", num_cpus=2)


# ------------------------------------------------------------------------------ command line


def test_cli_sweep_help_and_bad_config(tmp_path: Path, capsys) -> None:
    assert main(["sweep", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: causal-influence sweep")
    for option in ("--address", "--num-cpus", "--out", "--metric"):
        assert option in out
    assert main(["sweep", str(tmp_path / "missing.toml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("causal-influence: error: ")
    assert "missing.toml" in err
    (tmp_path / "s.yaml").write_text("seeds: [0]\n", encoding="utf-8")
    assert main(["sweep", str(tmp_path / "s.yaml")]) == 2
    assert "expected a sweep file ending in .toml or .json" in capsys.readouterr().err


def test_cli_sweep_runs_a_file(cluster, tmp_path: Path, capsys) -> None:
    cfg = tiny()
    data = {
        "seeds": [0],
        "base": {k: v for k, v in cfg.to_dict().items() if k not in ("out_dir", "seed")},
        "settings": ["none"],
        "grid": {"lr": [0.002]},
    }
    (tmp_path / "s.json").write_text(json.dumps(data), encoding="utf-8")
    assert main(["sweep", str(tmp_path / "s.json"), "--out", str(tmp_path / "out")]) == 0
    assert "1 runs finished" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert len(table) == 4
    assert table["run"].unique().tolist() == ["none_lr=0.002_seed=0"]
    assert list(table.columns[:5]) == ["run", "condition", "setting", "lr", "seed"]
    assert (table["lr"] == 0.002).all()
    assert (table["lr_logged"] == 0.002).all()  # the trainer's log column of the same name
    assert (tmp_path / "out" / "learning_curves.png").is_file()


def test_cli_analyze_with_ray(cluster, shards: Path, tmp_path: Path, capsys) -> None:
    assert main(["analyze", str(shards), "--ray", "--out", str(tmp_path / "ray"), *FAST]) == 0
    assert "analysed 1440 steps, 24 episodes, 3 agents" in capsys.readouterr().out
    assert main(["analyze", str(shards), "--out", str(tmp_path / "one"), *FAST]) == 0
    for name in ("influence", "coordination", "speaker_consistency", "cic"):
        ray_csv = (tmp_path / "ray" / f"{name}.csv").read_text(encoding="utf-8")
        assert ray_csv == (tmp_path / "one" / f"{name}.csv").read_text(encoding="utf-8")
    assert (tmp_path / "ray" / "report.html").is_file()
    capsys.readouterr()
    assert main(["analyze", str(shards), "--out", str(tmp_path / "x"), "--num-cpus", "2"]) == 2
    assert capsys.readouterr().err.startswith("causal-influence: error: --num-cpus")


def test_cli_connects_to_a_running_cluster(cluster, shards: Path, tmp_path: Path) -> None:
    """``--ray ADDRESS`` from another process, as from another machine of a cluster."""
    address = cluster.get_runtime_context().gcs_address
    out = tmp_path / "report"
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "analyze", str(shards), "--ray", address, "--out",
         str(out), *FAST],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "analysed 1440 steps, 24 episodes" in done.stdout
    assert (out / "influence.csv").is_file()
    assert cluster.is_initialized()  # the client disconnected without stopping the cluster


def test_cli_imports_no_ray() -> None:
    code = (
        "import sys, analysis.cli, analysis.sweep, analysis.shards; sys.exit('ray' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
