"""Training on the signalling game: config, batched envs, resume, and learning the protocol."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agents.config import TrainConfig
from agents.train_cli import _config_from_args, build_parser
from agents.trainer import train
from causal_influence.errors import ConfigError
from envs.signalling import SignallingConfig


def tiny(**kw: Any) -> TrainConfig:
    env = kw.pop("env", SignallingConfig(num_symbols=4, max_cycles=10))
    base = {
        "env": env,
        "setting": "comm",
        "num_envs": 4,
        "rollout_length": 5,
        "total_env_steps": 80,
        "conv_kernel": 1,
        "conv_filters": 8,
        "fc_hiddens": (8,),
        "lstm_size": 8,
        "tensorboard": False,
    }
    base.update(kw)
    return TrainConfig(**base)


def test_config_accepts_the_signalling_game_and_round_trips() -> None:
    cfg = tiny(env=SignallingConfig(num_distractors=1, listener_sees_target=True))
    again = TrainConfig.from_json(cfg.to_json())
    assert again == cfg
    assert isinstance(again.env, SignallingConfig)
    assert again.env.listener_sees_target


def test_a_kernel_larger_than_the_view_is_refused() -> None:
    with pytest.raises(ConfigError, match="conv_kernel=3 exceeds the env's view size 1"):
        tiny(conv_kernel=3)


def test_the_command_line_trains_the_signalling_game_by_name() -> None:
    argv = ["--game", "signalling", "--setting", "comm", "--env-num-targets", "3"]
    argv += ["--env-listener-sees-target", "--conv-kernel", "1", "--rollout-length", "10"]
    config = _config_from_args(build_parser().parse_args(argv))
    assert config.env == SignallingConfig(num_targets=3, listener_sees_target=True)
    assert config.influence_coef == 1.0  # an influence setting trains with influence
    with pytest.raises(ConfigError, match=r"--env-view-radius: not an option of game 'signalling'"):
        _config_from_args(build_parser().parse_args([*argv, "--env-view-radius", "3"]))
    with pytest.raises(ConfigError, match="has no map"):
        _config_from_args(build_parser().parse_args([*argv, "--map", "small_harvest"]))


def test_training_runs_logs_episodes_and_resumes_exactly(tmp_path: Path) -> None:
    cfg = tiny(out_dir=str(tmp_path / "run"), checkpoint_every=1, log_influence=True)
    full = train(cfg)
    assert len(full.history) == 4
    ends = [r for r in full.history if not np.isnan(r["episode_collective_return"])]
    assert len(ends) == 2  # 10-step episodes, 5-step fragments
    assert all(0 <= r["episode_collective_return"] <= 19 for r in ends)
    assert all(r["influence"] >= 0 for r in full.history)
    half = train(tiny(out_dir=str(tmp_path / "half"), checkpoint_every=1, total_env_steps=40))
    resumed = train(
        tiny(out_dir=str(tmp_path / "half"), checkpoint_every=1, total_env_steps=80),
        resume=tmp_path / "half",
    )
    assert len(half.history) == 2
    for a, b in zip(full.history, resumed.history, strict=True):
        for key in ("collective_reward", "policy_loss", "message_policy_loss"):
            assert a[key] == b[key]


def test_recording_plays_signalling_episodes() -> None:
    from agents.episode_record import record_episodes

    result = train(tiny())
    episodes = record_episodes(result, episodes=2, seed=3, counterfactual_logits=True)
    assert len(episodes) == 2
    arrays = episodes[0].arrays
    assert arrays["actions"].shape == (10, 2)
    assert arrays["counterfactual_logits"].shape == (10, 2, 2, 4, 4)
    assert episodes[0].metadata["env"] == "signalling"
    assert episodes[0].metadata["map"] is None
    # The context is recorded: the target each agent is shown at t (none for the listener).
    context = arrays["context"]
    assert context.shape == (10, 2)
    assert ((context[:, 0] >= 0) & (context[:, 0] < 4)).all()
    assert (context[:, 1] == -1).all()
    assert episodes[0].metadata["num_contexts"] == 4
    # The speaker is rewarded for acting on the target it is shown.
    np.testing.assert_array_equal(
        arrays["extrinsic"][:, 0], (arrays["actions"][:, 0] == context[:, 0]).astype(np.float32)
    )


def test_recorded_trajectories_carry_the_context_for_the_analysis() -> None:
    """Signalling-game agents recorded as trajectories hold the targets as their context, so
    the analysis computes grounded information and conditional coordination; in the control
    the listener's context is the previous target, the one it acts on."""
    from agents.episode_record import record
    from analysis.stats import analyze
    from causal_influence.trajectory import concat

    control = train(
        tiny(env=SignallingConfig(num_symbols=4, max_cycles=10, listener_sees_target=True))
    )
    trajs = record(control, episodes=10, seed=1, counterfactual_logits=True)
    data = concat(trajs)
    meta = data.metadata
    assert meta.num_contexts == 4
    assert meta.context_names == ("TARGET_0", "TARGET_1", "TARGET_2", "TARGET_3")
    context = data.context
    assert context is not None
    np.testing.assert_array_equal(context[1:10, 1], context[:9, 0])  # the previous target
    assert context[0, 1] == -1
    result = analyze(data, n_bootstrap=20, n_permutations=20, rng=0, progress=False)
    assert result.grounding is not None
    assert result.conditional_coordination is not None
    assert set(result.conclusions()["influencer"]) == {"agent_0", "agent_1"}


def test_the_comm_setting_starts_to_communicate_within_4e4_steps() -> None:
    """The recommended settings (results/signalling/FINDINGS.md, Q1): after 4e4 env steps the
    listener acts on the speaker's message well above chance. Chance is a return of 62.25 per
    50-step episode (speaker 50, listener 49 / 4); a listener that ignores the channel cannot
    pass 70. Seed 1 reaches about 84 (seeds 0-4: 72, 84, 78, 63, 62 at this budget; all five
    reach the perfect 99 by 2e5 steps)."""
    from agents.trainer import Trainer

    cfg = TrainConfig(
        env=SignallingConfig(num_symbols=8),
        setting="comm",
        influence_coef=0.0,  # the baseline: the shared task reward alone
        seed=1,
        num_envs=16,
        rollout_length=10,
        total_env_steps=40_000,
        gamma=0.5,
        lr=3e-3,
        normalize_advantages=True,
        conv_kernel=1,
        conv_filters=16,
        fc_hiddens=(32,),
        lstm_size=64,
        tensorboard=False,
    )
    trainer = Trainer(cfg)
    while trainer.update_index < cfg.num_updates:
        trainer.update()
    late = [r["episode_collective_return"] for r in trainer.history[-25:]]
    assert np.nanmean(late) > 70.0
