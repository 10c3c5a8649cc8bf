"""Config fields: help text beside each field, the command line built from it, resumable fields."""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agents.config import (
    OUTPUT_FIELDS,
    RESUMABLE_FIELDS,
    TrainConfig,
    add_field_options,
    field_help,
    field_overrides,
)
from agents.train_cli import build_parser
from causal_influence.errors import ConfigError
from envs.config import SSDConfig, harvest_config

ROOT = Path(__file__).resolve().parents[2]


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings and a.dest != "help"]


@pytest.mark.parametrize("cls", [TrainConfig, SSDConfig])
def test_every_field_has_help_text(cls: type) -> None:
    for f in dataclasses.fields(cls):
        if f.name.startswith("_"):
            continue
        text = field_help(cls, f.name)
        assert len(text) > 10, f"{cls.__name__}.{f.name} has no help text"
        assert "default" not in text.lower(), f"{cls.__name__}.{f.name}: the default is added"
    with pytest.raises(ConfigError):
        field_help(cls, "no_such_field")


def test_train_help_has_text_for_every_option_and_one_default_each() -> None:
    parser = build_parser()
    opts = options(parser)
    names = {a.dest for a in opts}
    assert {f.name for f in dataclasses.fields(TrainConfig)} - {"env"} <= names
    env_fields = {f"env_{f.name}" for f in dataclasses.fields(SSDConfig)}
    assert env_fields - {"env_game", "env_map", "env__parsed"} <= names
    for action in opts:
        text = action.help or ""
        assert text.strip(), f"{action.option_strings[0]} has no help text"
        assert len(re.findall("default", text, flags=re.IGNORECASE)) <= 1, text
    rendered = parser.format_help()
    assert re.search(r"--influence-clip INFLUENCE_CLIP\s+Influence per agent", rendered)
    assert "default: 10.0 (default" not in rendered
    assert re.search(r"--env-num-agents ENV_NUM_AGENTS\s+Number of agents", rendered)
    # the default shown is the field's default, as the user would type it
    assert "(default: 32 32)" in " ".join(rendered.split())
    assert "(default: on)" in rendered  # tensorboard


def test_options_round_trip_through_the_dataclass() -> None:
    parser = argparse.ArgumentParser()
    add_field_options(parser, TrainConfig, skip=("env",))
    add_field_options(parser, SSDConfig, prefix="env-", skip=("game", "map"))
    ns = parser.parse_args(
        [
            "--setting",
            "moa",
            "--fc-hiddens",
            "8",
            "4",
            "--no-tensorboard",
            "--influence-schedule-steps",
            "0",
            "100",
            "--influence-schedule-weights",
            "0",
            "1",
            "--env-num-agents",
            "3",
            "--env-regrowth-probs",
            "0",
            "0.1",
            "0.2",
            "0.3",
        ]
    )
    over = field_overrides(ns, TrainConfig)
    env_over = field_overrides(ns, SSDConfig, prefix="env-")
    assert env_over == {"num_agents": 3, "regrowth_probs": [0.0, 0.1, 0.2, 0.3]}
    cfg = TrainConfig.from_dict({**over, "env": {**env_over, "map": "small_harvest"}})
    assert cfg.setting == "moa"
    assert cfg.fc_hiddens == (8, 4)
    assert cfg.tensorboard is False
    assert cfg.influence_schedule_steps == (0.0, 100.0)
    assert cfg.env.regrowth_probs == (0.0, 0.1, 0.2, 0.3)
    assert cfg.env.num_agents == 3
    assert cfg.lr == TrainConfig().lr  # not given: the field's default


def test_class_docstring_is_built_from_the_help_texts() -> None:
    doc = TrainConfig.__doc__ or ""
    assert "Parameters\n    ----------" in doc
    for f in dataclasses.fields(TrainConfig):
        assert f"    {f.name} : " in doc
    assert field_help(TrainConfig, "num_envs") in doc


def test_resumable_fields_are_the_output_fields_and_the_training_length() -> None:
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    assert OUTPUT_FIELDS <= RESUMABLE_FIELDS <= names
    extra = RESUMABLE_FIELDS - OUTPUT_FIELDS
    assert extra == {"total_env_steps"}
    env = harvest_config(map="small_harvest", num_agents=2, max_cycles=10)
    cfg = TrainConfig(env=env, rollout_length=10)
    free = dataclasses.replace(
        cfg, total_env_steps=5, out_dir="x", progress=True, tensorboard=False, checkpoint_every=3
    )
    assert cfg.resume_conflicts(free) == []
    bound = dataclasses.replace(cfg, seed=4, num_threads=2, env=env.replace(max_cycles=20))
    assert cfg.resume_conflicts(bound) == ["env", "num_threads", "seed"]


def test_cli_resume_refuses_an_option_that_changes_the_results(tmp_path: Path, capsys) -> None:
    from agents.trainer import main

    out = tmp_path / "run"
    base = ["--map", "small_harvest", "--env-num-agents", "2", "--env-obs-type", "symbolic"]
    base += ["--env-view-radius", "2", "--env-max-cycles", "12", "--num-envs", "2"]
    base += ["--rollout-length", "6", "--lstm-size", "8", "--fc-hiddens", "8"]
    assert (
        main([*base, "--total-env-steps", "24", "--checkpoint-every", "1", "--out-dir", str(out)])
        == 0
    )
    capsys.readouterr()
    assert main(["--resume", str(out), "--lr", "0.5"]) == 2
    assert "differs from the checkpoint's in ['lr']" in capsys.readouterr().err


def test_python_m_agents_trainer_help() -> None:
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    done = subprocess.run(
        [sys.executable, "-m", "agents.trainer", "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: causal-influence train")
    assert "--env-max-cycles" in done.stdout
    assert done.stderr == ""
