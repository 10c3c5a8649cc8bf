"""Checkpoints: one writer, one loader, a typed error naming the file for every bad input."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path

import pytest
import torch

from agents.checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_KEYS,
    find_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from agents.config import TrainConfig
from agents.episode_record import load_agents
from agents.trainer import main, train
from causal_influence.errors import ConfigError, FileFormatError
from envs.config import harvest_config


def tiny(**kw) -> TrainConfig:
    env = harvest_config(
        map="small_harvest", num_agents=2, obs_type="symbolic", view_radius=2, max_cycles=12
    )
    base = {
        "env": env,
        "setting": "moa",
        "num_envs": 2,
        "rollout_length": 6,
        "total_env_steps": 24,
        "lstm_size": 8,
        "fc_hiddens": (8,),
        "influence_coef": 1.0,
        "tensorboard": False,
    }
    base.update(kw)
    return TrainConfig(**base)


def plain_state(**changes) -> dict:
    state = dict.fromkeys(CHECKPOINT_KEYS, 0)
    state.update(format=CHECKPOINT_FORMAT, model={"w": torch.arange(3.0)}, history=[])
    state.update(changes)
    return state


class _RunsCode:
    """An object whose unpickling would call a function: weights-only loading refuses it."""

    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    train(tiny(out_dir=str(out), checkpoint_every=1))
    return out


def test_round_trip_is_atomic_and_weights_only(tmp_path: Path) -> None:
    path = save_checkpoint(plain_state(update=7), tmp_path / "deep" / "ckpt.pt")
    assert path == tmp_path / "deep" / "ckpt.pt"
    assert [p.name for p in path.parent.iterdir()] == ["ckpt.pt"]  # no temporary left over
    state = load_checkpoint(path)
    assert state["update"] == 7
    assert torch.equal(state["model"]["w"], torch.arange(3.0))
    # the same file loads with plain torch.load(weights_only=True)
    assert torch.load(path, weights_only=True)["format"] == CHECKPOINT_FORMAT


def test_a_failed_write_keeps_the_previous_checkpoint(tmp_path: Path) -> None:
    path = save_checkpoint(plain_state(update=1), tmp_path / "ckpt.pt")
    with pytest.raises(Exception, match="pickle"):  # a lambda cannot be pickled
        save_checkpoint(plain_state(update=2, model=lambda: None), path)
    assert load_checkpoint(path)["update"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]


def test_missing_file_and_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pt"
    with pytest.raises(FileFormatError, match=r"nope\.pt: no such checkpoint file"):
        load_checkpoint(missing)
    with pytest.raises(FileFormatError, match="expected a checkpoint file; got a directory"):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_file(tmp_path: Path, cut: float) -> None:
    data = (save_checkpoint(plain_state(), tmp_path / "full.pt")).read_bytes()
    part = tmp_path / "part.pt"
    part.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(FileFormatError, match=r"part\.pt: truncated or corrupt"):
        load_checkpoint(part)


@pytest.mark.parametrize("content", [b"", b"definitely not a checkpoint" * 5])
def test_empty_or_foreign_bytes(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk.pt"
    path.write_bytes(content)
    with pytest.raises(FileFormatError, match=r"junk\.pt: truncated or corrupt"):
        load_checkpoint(path)


def test_corrupt_inside_an_intact_archive(tmp_path: Path) -> None:
    good = save_checkpoint(plain_state(), tmp_path / "good.pt").read_bytes()
    # rewrite the archive with a damaged pickle payload but a valid zip structure
    src = zipfile.ZipFile(io.BytesIO(good))
    bad = tmp_path / "bad.pt"
    with zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("data.pkl"):
                data = data[: len(data) // 3]
            dst.writestr(info, data)
    assert zipfile.is_zipfile(bad)
    with pytest.raises(FileFormatError, match=r"bad\.pt: "):
        load_checkpoint(bad)


def test_payload_refused_by_weights_only_loading(tmp_path: Path, capsys) -> None:
    path = tmp_path / "evil.pt"
    torch.save(plain_state(model=_RunsCode()), path)
    with pytest.raises(FileFormatError, match=r"evil\.pt: holds objects that a weights-only load"):
        load_checkpoint(path)
    assert "must never run" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([1, 2, 3], "expected an agents checkpoint .*; got list"),
        ({"model": {}}, "expected an agents checkpoint .*; got format None"),
        ({"format": "someone-else/1"}, "got format 'someone-else/1'"),
    ],
)
def test_wrong_content(tmp_path: Path, payload, message: str) -> None:
    path = tmp_path / "other.pt"
    torch.save(payload, path)
    with pytest.raises(FileFormatError, match=message):
        load_checkpoint(path)


def test_wrong_version(tmp_path: Path) -> None:
    path = save_checkpoint(plain_state(format="causal-influence-agents/3"), tmp_path / "v3.pt")
    with pytest.raises(FileFormatError, match=r"format version '3'.* reads versions '1' and '2'"):
        load_checkpoint(path)


def test_checksum_and_version_1(tmp_path: Path) -> None:
    path = save_checkpoint(plain_state(update=5), tmp_path / "ckpt.pt")
    state = torch.load(path, weights_only=True)
    state["update"] = 6  # what a changed byte in the file would load as
    torch.save(state, path)
    with pytest.raises(FileFormatError, match=r"ckpt\.pt: damaged: its content does not match"):
        load_checkpoint(path)
    legacy = plain_state(format="causal-influence-agents/1")  # written before checksums
    torch.save(legacy, path)
    assert load_checkpoint(path)["format"] == "causal-influence-agents/1"


def test_missing_entries(tmp_path: Path) -> None:
    state = plain_state()
    del state["optimizer"], state["generator"]
    path = save_checkpoint(state, tmp_path / "partial.pt")
    with pytest.raises(FileFormatError, match=r"without the entries \['optimizer', 'generator'\]"):
        load_checkpoint(path)


def test_find_checkpoint(run_dir: Path, tmp_path: Path) -> None:
    assert find_checkpoint(run_dir).name == "ckpt_00000002.pt"
    assert find_checkpoint(run_dir, prefer="final").name == "final.pt"
    assert find_checkpoint(run_dir / "final.pt") == run_dir / "final.pt"
    with pytest.raises(ConfigError, match="expected a run directory holding"):
        find_checkpoint(tmp_path)
    with pytest.raises(ConfigError, match="prefer"):
        find_checkpoint(run_dir, prefer="best")


def test_trainer_and_recording_use_the_loader(run_dir: Path, tmp_path: Path, capsys) -> None:
    cut = tmp_path / "cut.pt"
    cut.write_bytes((run_dir / "final.pt").read_bytes()[:500])
    with pytest.raises(FileFormatError, match=r"cut\.pt: truncated or corrupt"):
        train(tiny(), resume=cut)
    with pytest.raises(FileFormatError, match=r"cut\.pt: truncated or corrupt"):
        load_agents(cut)
    assert main(["--resume", str(cut)]) == 2
    assert "cut.pt: truncated or corrupt" in capsys.readouterr().err
    net, config = load_agents(run_dir)
    assert config == tiny(out_dir=str(run_dir), checkpoint_every=1)
    assert net.spec.num_agents == 2


def test_resume_refuses_fields_that_change_the_results(run_dir: Path, tmp_path: Path) -> None:
    cfg = tiny(out_dir=str(tmp_path / "more"), checkpoint_every=1, total_env_steps=48)
    resumed = train(cfg, resume=run_dir)  # training length and output options may change
    assert resumed.history[-1]["env_steps"] == 48
    with pytest.raises(ConfigError, match=r"differs from the checkpoint's in \['lr', 'seed'\]"):
        train(dataclasses.replace(cfg, lr=0.5, seed=3), resume=run_dir)
