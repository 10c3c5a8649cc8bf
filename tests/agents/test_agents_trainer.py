"""Trainer: determinism, exact resume, gradient isolation, MOA gradient path, CLI, learning."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch

from agents.checkpoint import load_checkpoint
from agents.config import TrainConfig
from agents.trainer import Trainer, main, train
from causal_influence.errors import ConfigError
from envs.config import harvest_config

SMALL_MAP = "small_harvest"
TIME_COLUMNS = ("seconds", "env_steps_per_second")


def tiny(setting: str = "moa", **kw) -> TrainConfig:
    env = harvest_config(
        map=SMALL_MAP,
        num_agents=2,
        obs_type="symbolic",
        view_radius=2,
        max_cycles=12,
        num_symbols=3 if setting == "comm" else 0,
    )
    base = {
        "env": env,
        "setting": setting,
        "num_envs": 2,
        "rollout_length": 6,
        "total_env_steps": 2 * 12 * 3,
        "lstm_size": 8,
        "fc_hiddens": (8,),
        "influence_coef": 0.0 if setting == "none" else 1.0,
        "lr": 1e-2,
        "tensorboard": False,
    }
    base.update(kw)
    return TrainConfig(**base)


def curve(history):
    return [{k: v for k, v in row.items() if k not in TIME_COLUMNS} for row in history]


def same_rows(a, b) -> bool:
    if len(a) != len(b):
        return False
    for ra, rb in zip(curve(a), curve(b), strict=True):
        for key in ra:
            x, y = ra[key], rb[key]
            if not (x == y or (math.isnan(x) and math.isnan(y))):
                return False
    return True


@pytest.mark.parametrize(
    ("setting", "algorithm"), [("moa", "a2c"), ("comm", "ppo"), ("basic", "ppo")]
)
def test_same_seed_gives_the_same_training_curve(setting: str, algorithm: str) -> None:
    cfg = tiny(setting, algorithm=algorithm)
    a = train(cfg)
    b = train(cfg)
    assert same_rows(a.history, b.history)
    for pa, pb in zip(a.net.parameters(), b.net.parameters(), strict=True):
        assert torch.equal(pa, pb)
    c = train(dataclasses.replace(cfg, seed=1))
    assert not same_rows(a.history, c.history)


@pytest.mark.parametrize(("setting", "algorithm"), [("comm", "ppo"), ("moa", "a2c")])
def test_resume_from_checkpoint_is_exact(tmp_path, setting: str, algorithm: str) -> None:
    cfg = tiny(setting, algorithm=algorithm, total_env_steps=2 * 12 * 4, checkpoint_every=2)
    full = train(dataclasses.replace(cfg, out_dir=str(tmp_path / "full")))
    ckpts = sorted((tmp_path / "full" / "checkpoints").glob("ckpt_*.pt"))
    assert [p.name for p in ckpts] == ["ckpt_00000004.pt", "ckpt_00000008.pt"]
    # resume from the middle into a new directory
    half = train(dataclasses.replace(cfg, out_dir=str(tmp_path / "resumed")), resume=ckpts[0])
    assert same_rows(full.history, half.history)
    for pa, pb in zip(full.net.parameters(), half.net.parameters(), strict=True):
        assert torch.equal(pa, pb)
    rows = (tmp_path / "resumed" / "progress.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + len(full.history)
    state = load_checkpoint(tmp_path / "full" / "final.pt")  # weights_only=True inside
    assert state["update"] == len(full.history)
    with pytest.raises(ConfigError):
        train(dataclasses.replace(cfg, lr=0.5), resume=ckpts[0])


def test_checkpoint_is_loadable_with_weights_only(tmp_path) -> None:
    cfg = tiny("moa", out_dir=str(tmp_path), total_env_steps=24, checkpoint_every=1)
    train(cfg)
    state = torch.load(tmp_path / "checkpoints" / "ckpt_00000002.pt", weights_only=True)
    assert state["resumable"] is True
    assert TrainConfig.from_json(state["config"]) == cfg
    assert json.loads((tmp_path / "config.json").read_text())["setting"] == "moa"


def _trainer_with_fragment(cfg: TrainConfig):
    trainer = Trainer(cfg)
    trainer.sampler.reset(0)
    ro = trainer.sampler.collect(cfg.rollout_length)
    from agents.sampler import rollout_influence

    pairwise = None
    if cfg.computes_influence:
        pairwise = rollout_influence(ro, trainer.net.spec, divergence=cfg.divergence)
    return trainer, ro, pairwise


def _grads(trainer: Trainer, ro, rewards, msg_rewards) -> dict[str, torch.Tensor]:
    targets = trainer.targets(ro, rewards, msg_rewards)
    trainer.net.zero_grad(set_to_none=True)
    loss, _ = trainer.loss(ro, targets)
    loss.backward()
    return {
        n: (p.grad.clone() if p.grad is not None else torch.zeros_like(p))
        for n, p in trainer.net.named_parameters()
    }


def test_comm_influence_reward_changes_only_the_message_heads() -> None:
    cfg = tiny("comm", influence_coef=5.0)
    trainer, ro, pairwise = _trainer_with_fragment(cfg)
    raw, rewards, msg_rewards = trainer.rewards(ro, pairwise, weight=5.0)
    assert raw is not None
    assert float(raw.abs().sum()) > 0
    assert msg_rewards is not None
    # the action head's reward is the extrinsic reward alone
    assert torch.equal(rewards, ro.env_rewards)
    with_infl = _grads(trainer, ro, rewards, msg_rewards)
    without = _grads(trainer, ro, rewards, cfg.extrinsic_coef * ro.env_rewards)
    changed = {n for n in with_infl if not torch.equal(with_infl[n], without[n])}
    assert changed, "the influence reward must change some gradient"
    assert all(n.startswith(("message_head.", "message_value_head.")) for n in changed), changed


def test_influence_reward_carries_no_gradient() -> None:
    for setting in ("basic", "comm", "moa"):
        cfg = tiny(setting)
        trainer, ro, pairwise = _trainer_with_fragment(cfg)
        assert pairwise is not None
        assert not pairwise.requires_grad
        raw, rewards, msg_rewards = trainer.rewards(ro, pairwise, weight=1.0)
        assert raw is not None
        assert not raw.requires_grad
        assert not rewards.requires_grad
        targets = trainer.targets(ro, rewards, msg_rewards)
        assert all(not v.requires_grad for v in targets.values())


def test_moa_loss_trains_the_moa_weights() -> None:
    cfg = tiny("moa", influence_coef=0.0, train_moa_only_when_visible=False)
    trainer, ro, _ = _trainer_with_fragment(cfg)
    targets = trainer.targets(ro, ro.env_rewards, None)
    seq = trainer.net.forward_sequence(ro.views, ro.starts, ro.state0, actions=ro.actions)
    from agents.losses import moa_cross_entropy

    assert seq.moa_logits is not None
    loss = moa_cross_entropy(
        seq.moa_logits, targets["moa_targets"], targets["moa_mask"], targets["moa_valid"]
    )
    assert loss.item() > 0
    loss.backward()
    moa_params = {
        n: p for n, p in trainer.net.named_parameters() if n.startswith(("moa_", "conv."))
    }
    assert all(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in moa_params.values())
    # the policy's own layers get nothing from the MOA loss
    assert trainer.net.policy_head.weight.grad is None
    before = {n: p.detach().clone() for n, p in moa_params.items()}
    trainer.optimizer.step()
    assert all(not torch.equal(before[n], p) for n, p in moa_params.items())


def test_config_validation() -> None:
    with pytest.raises(ConfigError):
        tiny("moa", rollout_length=5)  # does not divide max_cycles=12
    with pytest.raises(ConfigError):
        tiny("none", influence_coef=1.0)
    with pytest.raises(ConfigError):
        TrainConfig(
            env=harvest_config(num_agents=2, max_cycles=10), setting="comm", rollout_length=10
        )
    with pytest.raises(ConfigError):
        TrainConfig.from_dict({"no_such_option": 1})
    cfg = tiny("comm", influence_schedule_steps=(0.0, 10.0), influence_schedule_weights=(0.0, 1.0))
    assert TrainConfig.from_json(cfg.to_json()) == cfg


def test_cli_help_and_tiny_run(tmp_path, capsys) -> None:
    assert main(["--help"]) == 0
    assert "--influence-coef" in capsys.readouterr().out
    out = tmp_path / "run"
    args = [
        "--game",
        "harvest",
        "--map",
        SMALL_MAP,
        "--setting",
        "moa",
        "--influence-coef",
        "0.5",
        "--env-num-agents",
        "2",
        "--env-obs-type",
        "symbolic",
        "--env-view-radius",
        "2",
        "--env-max-cycles",
        "12",
        "--num-envs",
        "2",
        "--rollout-length",
        "6",
        "--total-env-steps",
        "48",
        "--lstm-size",
        "8",
        "--fc-hiddens",
        "8",
        "--checkpoint-every",
        "1",
        "--no-tensorboard",
        "--out-dir",
        str(out),
    ]
    assert main(args) == 0
    saved = TrainConfig.from_json((out / "config.json").read_text())
    assert saved.setting == "moa"
    assert saved.influence_coef == 0.5
    assert saved.env.num_agents == 2
    assert len((out / "progress.csv").read_text().strip().splitlines()) == 1 + 4
    # resume through the CLI with a longer budget
    assert main(["--resume", str(out), "--total-env-steps", "72"]) == 0
    assert len((out / "progress.csv").read_text().strip().splitlines()) == 1 + 6
    assert main(["--setting", "nonsense"]) == 2


def test_short_training_beats_random_play() -> None:
    """Seconds of PPO on the small Harvest map give far more extrinsic reward than random play.

    Random play loses reward to the FIRE cost and the hit penalty (about -1.5 per step for the
    pair); trained agents learn within seconds to stop wasting it and keep eating apples.
    Both are evaluated on the same held-out episode seeds.
    """
    import numpy as np

    from agents.sampler import Sampler
    from envs.vector import VectorEnv

    env = harvest_config(
        map=SMALL_MAP, num_agents=2, obs_type="symbolic", view_radius=3, max_cycles=50
    )
    cfg = TrainConfig(
        env=env,
        setting="none",
        num_envs=8,
        rollout_length=25,
        total_env_steps=8 * 50 * 12,
        algorithm="ppo",
        lr=3e-3,
        lstm_size=32,
        fc_hiddens=(32,),
        entropy_coef=0.01,
        gae_lambda=0.95,
        tensorboard=False,
        seed=0,
    )
    result = train(cfg)
    held_out = 12345
    venv = VectorEnv(env, 8)
    venv.reset(seed=held_out)
    rng = np.random.default_rng(held_out)
    random_total = 0.0
    for _ in range(env.max_cycles):
        *_, info = venv.step(rng.integers(0, env.num_actions, (8, 2)))
        random_total += float(info["extrinsic"].sum())
    random_rate = random_total / (8 * env.max_cycles)
    sampler = Sampler(
        VectorEnv(env, 8),
        result.net,
        generator=torch.Generator().manual_seed(held_out),
        counterfactuals=False,
    )
    sampler.reset(held_out)
    rollout = sampler.collect(env.max_cycles, ends_episode=True)
    trained_rate = float(rollout.extrinsic.sum(-1).mean())
    assert random_rate < -0.5, random_rate
    assert trained_rate > random_rate + 1.0, (random_rate, trained_rate)


@pytest.mark.parametrize("setting", ["basic", "moa"])
def test_rewards_combine_extrinsic_and_clipped_weighted_influence(setting: str) -> None:
    cfg = tiny(setting, extrinsic_coef=0.5, influence_clip=1e-4, influence_only_when_visible=True)
    trainer, ro, pairwise = _trainer_with_fragment(cfg)
    assert pairwise is not None
    raw, rewards, msg_rewards = trainer.rewards(ro, pairwise, weight=3.0)
    assert msg_rewards is None
    assert raw is not None
    expected_raw = (pairwise * ro.visible).sum(-1)
    torch.testing.assert_close(raw, expected_raw)
    expected = 0.5 * ro.env_rewards + 3.0 * expected_raw.clamp(-1e-4, 1e-4)
    torch.testing.assert_close(rewards, expected)


def test_influence_weight_follows_the_schedule_during_training() -> None:
    cfg = tiny(
        "moa",
        influence_coef=2.0,
        influence_schedule_steps=(0.0, 48.0),
        influence_schedule_weights=(0.0, 1.0),
        total_env_steps=72,
    )
    result = train(cfg)
    weights = [row["influence_weight"] for row in result.history]
    steps = [row["env_steps"] - cfg.batch_steps for row in result.history]  # at update start
    assert weights == pytest.approx([2.0 * min(s / 48.0, 1.0) for s in steps])


def test_learning_rate_anneals_linearly_and_options_run() -> None:
    cfg = tiny(
        "comm",
        algorithm="ppo",
        normalize_advantages=True,
        lr=1e-2,
        lr_final=1e-3,
        lr_anneal_steps=48,
        share_weights=True,
        message_embedding=4,
        divergence="pmi",
    )
    result = train(cfg)
    lrs = [row["lr"] for row in result.history]
    steps = [row["env_steps"] - cfg.batch_steps for row in result.history]
    assert lrs == pytest.approx([1e-2 + min(s / 48, 1.0) * (1e-3 - 1e-2) for s in steps])
    assert all(math.isfinite(row["message_policy_loss"]) for row in result.history)
    assert all(p.shape[0] == 1 for p in result.net.parameters())
