"""Bad command lines: every argument is checked before work starts, with a one-line error and
exit status 2 (``causal-influence: error: ...`` or ``causal-influence train: error: ...``).

Each case runs ``analysis.cli.main`` in this process; an exception escaping it is a traceback
the user would see, exit 0 is a silently accepted bad argument.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from probe import classify_cli_error, no_write_permission, run_cli, snapshot

import causal_influence.io as ci_io
from causal_influence.trajectory import Trajectory

FAST = ["--bootstrap", "5", "--permutations", "5", "--no-progress"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cli") / "data"
    rng = np.random.default_rng(0)
    traj = Trajectory(
        actions=rng.integers(0, 3, (40, 2)),
        rewards=rng.normal(size=(40, 2)),
        episode_ids=np.repeat(np.arange(4), 10),
        num_actions=3,
    )
    ci_io.write_shards(traj, folder, episodes_per_shard=2)
    return folder


def _bad(probe, case: str, argv: list[str]) -> None:
    probe.record(case, *classify_cli_error(run_cli(argv)))


def test_train_arguments(probe, tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    huge = tmp_path / "huge.json"
    huge.write_text('{"seed": ' + "9" * 5000 + "}")
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"learning_rate": 0.1}))
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    truncated = tmp_path / "cut.pt"
    truncated.write_bytes(b"PK\x03\x04\x14\x00")
    empty_run = tmp_path / "empty_run"
    empty_run.mkdir()
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    locked = tmp_path / "locked"
    locked.mkdir()
    cases = {
        "--lr -1": ["--lr", "-1"],
        "--lr nan": ["--lr", "nan"],
        "--lr inf": ["--lr", "inf"],
        "--lr abc": ["--lr", "abc"],
        "--seed -1": ["--seed", "-1"],
        "--seed 1.5": ["--seed", "1.5"],
        "--influence-coef nan": ["--setting", "basic", "--influence-coef", "nan"],
        "--influence-coef -inf": ["--setting", "basic", "--influence-coef", "-inf"],
        "--gamma 2": ["--gamma", "2"],
        "--gamma nan": ["--gamma", "nan"],
        "--entropy-coef nan": ["--entropy-coef", "nan"],
        "--max-grad-norm nan": ["--max-grad-norm", "nan"],
        "--num-envs 0": ["--num-envs", "0"],
        "--total-env-steps -5": ["--total-env-steps", "-5"],
        "--env-num-agents 0": ["--env-num-agents", "0"],
        "--map unknown": ["--map", "no_such_map"],
        "--setting unknown": ["--setting", "nope"],
        "unknown option": ["--no-such-option", "1"],
        "--config missing": ["--config", str(tmp_path / "missing.json")],
        "--config invalid JSON": ["--config", str(bad_json)],
        "--config nested 100,000 deep": ["--config", str(deep)],
        "--config with a 5,000-digit number": ["--config", str(huge)],
        "--config a JSON list": ["--config", str(listed)],
        "--config unknown field": ["--config", str(unknown)],
        "--config not UTF-8": ["--config", str(binary)],
        "--config a directory": ["--config", str(tmp_path)],
        "--resume missing": ["--resume", str(tmp_path / "missing")],
        "--resume truncated": ["--resume", str(truncated)],
        "--resume a directory without checkpoints": ["--resume", str(empty_run)],
        "--out-dir unwritable": ["--out-dir", str(locked / "run"), "--total-env-steps", "10"],
        "--out-dir is a file": ["--out-dir", str(a_file), "--total-env-steps", "10"],
        "--out-dir under /proc": ["--out-dir", "/proc/no/run", "--total-env-steps", "10"],
    }
    with no_write_permission(locked) as locked_holds:
        for case, args in cases.items():
            if case == "--out-dir unwritable" and not locked_holds:
                continue  # root writes into read-only directories; /proc covers the case
            _bad(probe, f"train {case}", ["train", *args, "--no-progress"])
    probe.check()


def test_analyze_and_graph_arguments(probe, tmp_path: Path, data: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    not_data = tmp_path / "notes.txt"
    not_data.write_text("hello")
    common = {
        "--seed -1": ["--seed", "-1"],
        "--seed 1.5": ["--seed", "1.5"],
        "--min-effect nan": ["--min-effect", "nan"],
        "--min-effect inf": ["--min-effect", "inf"],
        "--min-effect -1": ["--min-effect", "-1"],
        "--alpha 0": ["--alpha", "0"],
        "--alpha nan": ["--alpha", "nan"],
        "--alpha 1.5": ["--alpha", "1.5"],
        "--confidence nan": ["--confidence", "nan"],
        "--confidence 1": ["--confidence", "1"],
        "--bootstrap -1": ["--bootstrap", "-1"],
        "--bootstrap 2.5": ["--bootstrap", "2.5"],
        "--permutations nan": ["--permutations", "nan"],
        "--lag -1": ["--lag", "-1"],
        "--max-units 0": ["--max-units", "0"],
        "--alignment unknown": ["--alignment", "sideways"],
        "--visible-only without visibility": ["--visible-only"],
    }
    for command in ("analyze", "graph"):
        out = tmp_path / f"{command}_out"
        for case, args in common.items():
            _bad(probe, f"{command} {case}", [command, str(data), "--out", str(out), *args, *FAST])
        for case, argv in {
            "missing PATH": [command, str(tmp_path / "missing"), "--out", str(out)],
            "PATH not a trajectory": [command, str(not_data), "--out", str(out)],
            "PATH an empty directory": [command, str(locked), "--out", str(out)],
            "--out unwritable": [command, str(data), "--out", str(locked / "o")],
            "--out is a file": [command, str(data), "--out", str(a_file)],
            "--out under /proc": [command, str(data), "--out", "/proc/no/out"],
        }.items():
            with no_write_permission(locked) as locked_holds:
                if case == "--out unwritable" and not locked_holds:
                    continue  # root writes into read-only directories; /proc covers the case
                _bad(probe, f"{command} {case}", [*argv, *FAST])
    _bad(
        probe,
        "analyze --num-cpus without --ray",
        ["analyze", str(data), "--out", str(tmp_path / "x"), "--num-cpus", "2", *FAST],
    )
    _bad(
        probe,
        "analyze --num-cpus 0",
        ["analyze", str(data), "--out", str(tmp_path / "x"), "--ray", "--num-cpus", "0"],
    )
    for case, args in {
        "--window 0": ["--window", "0"],
        "--window -3": ["--window", "-3"],
        "--window 1.5": ["--window", "1.5"],
        "--stride without --window": ["--stride", "3"],
        "--window without stored influence": ["--window", "5"],
    }.items():
        _bad(
            probe, f"graph {case}", ["graph", str(data), "--out", str(tmp_path / "g"), *args, *FAST]
        )
    probe.check()


def test_arguments_are_checked_before_work_starts(probe, tmp_path: Path, data: Path) -> None:
    """A bad output and a damaged input together: the error is about the option (checked
    first), and no output directory appears."""
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "shard_00000.npz").write_bytes(b"PK\x03\x04 damaged")
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    for argv, word in (
        (["analyze", str(broken), "--out", str(a_file)], "--out"),
        (
            ["analyze", str(broken), "--out", str(tmp_path / "o"), "--min-effect", "nan"],
            "min-effect",
        ),
        (["graph", str(broken), "--out", str(tmp_path / "g"), "--stride", "2"], "--stride"),
        (["demo", "--out", str(a_file)], "--out"),
    ):
        result = run_cli([*argv, *FAST[4:]])
        outcome, detail = classify_cli_error(result)
        if outcome == "ok" and word not in detail:
            outcome, detail = "traceback", f"the error is not about {word}: {detail}"
        probe.record(f"{argv[0]}: {word} checked first", outcome, detail)
    probe.record(
        "no output written",
        "ok" if not (tmp_path / "o").exists() and not (tmp_path / "g").exists() else "silent",
    )
    probe.check()


def test_demo_and_sweep_arguments(probe, tmp_path: Path) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    for case, args in {
        "--episodes 0": ["--episodes", "0"],
        "--length -1": ["--length", "-1"],
        "--seed -1": ["--seed", "-1"],
        "--bootstrap -5": ["--bootstrap", "-5"],
        "--env-steps 0": ["--agents", "--env-steps", "0"],
        "--out is a file": ["--out", str(a_file)],
    }.items():
        _bad(probe, f"demo {case}", ["demo", *args, "--no-progress"])
    deep = tmp_path / "deep.json"
    deep.write_text('{"seeds": ' + "[" * 100_000 + "]" * 100_000 + "}")
    huge = tmp_path / "huge.json"
    huge.write_text('{"seeds": ' + "9" * 5000 + "}")
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("seeds = [0, 1\n")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    negative = tmp_path / "negative.json"
    negative.write_text(json.dumps({"seeds": -2, "base": {"total_env_steps": 48}}))
    float_seeds = tmp_path / "floats.json"
    float_seeds.write_text(json.dumps({"seeds": [0.5, 1.5]}))
    for case, args in {
        "missing file": [str(tmp_path / "missing.toml")],
        "invalid TOML": [str(bad_toml)],
        "nested 100,000 deep": [str(deep)],
        "a 5,000-digit number": [str(huge)],
        "not UTF-8": [str(binary)],
        "negative seed count": [str(negative)],
        "float seeds": [str(float_seeds)],
        "--num-cpus 0": [str(bad_toml), "--num-cpus", "0"],
    }.items():
        before = snapshot(tmp_path)
        _bad(probe, f"sweep {case}", ["sweep", *args])
        del before
    probe.check()
