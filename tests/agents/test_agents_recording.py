"""Recording episodes of trained agents: arrays, influence, loading from checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import causal_influence.io as ci_io
from agents.config import TrainConfig
from agents.episode_record import load_agents, record, record_episodes, save_recording
from agents.trainer import train
from causal_influence.counterfactual import influence
from causal_influence.errors import ConfigError
from causal_influence.trajectory import InfluenceSpec, concat
from envs.config import harvest_config


def tiny(setting: str, **kw) -> TrainConfig:
    env = harvest_config(
        map="small_harvest",
        num_agents=3,
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
        "total_env_steps": 24,
        "lstm_size": 8,
        "fc_hiddens": (8,),
        "influence_coef": 1.0,
        "tensorboard": False,
    }
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.parametrize("setting", ["basic", "comm", "moa"])
def test_recorded_arrays_and_influence(setting: str) -> None:
    cfg = tiny(setting)
    result = train(cfg)
    net = result.net
    with torch.no_grad():  # sharpen the briefly trained agents so that influence is sizeable
        net.policy_head.weight.mul_(200.0)
        if net.moa_head is not None:
            net.moa_head.weight.mul_(200.0)
        if net.message_head is not None:
            net.message_head.weight.mul_(100.0)
        for lstm in (net.lstm, net.moa_lstm):
            if lstm is not None and lstm.w_onehot is not None:
                lstm.w_onehot.mul_(4.0)
    records = record_episodes(result, episodes=2, seed=7, counterfactual_logits=True)
    assert sum(float(np.abs(r.arrays["influence"]).sum()) for r in records) > 1e-2
    assert len(records) == 2
    t_len, n, a = cfg.env.max_cycles, cfg.env.num_agents, cfg.env.num_actions
    for rec in records:
        arr = rec.arrays
        assert arr["actions"].shape == (t_len, n)
        assert arr["logits"].shape == (t_len, n, a)
        assert arr["visible"].dtype == bool
        assert arr["visible"][:, range(n), range(n)].all()
        infl = arr["influence"]
        assert infl.shape == (t_len, n, n)
        assert np.all(infl[:, range(n), range(n)] == 0)
        cf = arr["counterfactual_logits"]
        assert cf.shape[:3] == (t_len, n, n)
        assert rec.metadata["agent_ids"] == ["agent_0", "agent_1", "agent_2"]
        if setting == "basic":
            assert rec.metadata["influence_spec"] == InfluenceSpec(
                alignment="same_step", variable="actions", divergence=cfg.divergence
            )
            assert np.all(infl[:, 1:, :] == 0)  # only agent 0 influences
            prior, actual = arr["logits"][:, 0], arr["actions"][:, 0]
            for j in (1, 2):
                expected = influence(cf[:, 0, j], prior, actual)
                np.testing.assert_allclose(infl[:, 0, j], expected, rtol=1e-4, atol=1e-6)
        elif setting == "moa":
            assert arr["moa_logits"].shape == (t_len, n, n - 1, a)
            assert rec.metadata["influence_spec"].alignment == "next_step"
            assert np.all(infl[-1] == 0)  # no step after the episode's last one
            assert np.all(np.isneginf(cf[-1]))  # ... so its counterfactual rows are absent
            for k in range(n):
                for j in range(n):
                    if j == k:
                        continue
                    expected = influence(
                        cf[:-1, k, j], arr["logits"][:-1, k], arr["actions"][:-1, k]
                    )
                    np.testing.assert_allclose(infl[:-1, k, j], expected, rtol=1e-4, atol=1e-6)
        else:
            m = cfg.env.num_symbols
            assert arr["messages"].shape == (t_len, n)
            assert arr["message_logits"].shape == (t_len, n, m)
            assert np.all(infl[-1] == 0)  # the last messages are never heard
            assert np.all(np.isneginf(cf[-1]))  # ... so their counterfactual rows are absent
            assert rec.metadata["influence_spec"] == InfluenceSpec(
                alignment="next_step", variable="messages", divergence=cfg.divergence
            )
            for k in range(n):
                for j in range(n):
                    if j == k:
                        continue
                    expected = influence(
                        cf[:-1, k, j], arr["message_logits"][:-1, k], arr["messages"][:-1, k]
                    )
                    np.testing.assert_allclose(infl[:-1, k, j], expected, rtol=1e-4, atol=1e-6)


def test_recording_from_a_run_directory_matches_the_result(tmp_path) -> None:
    cfg = tiny("moa", out_dir=str(tmp_path / "run"))
    result = train(cfg)
    net, loaded_cfg = load_agents(tmp_path / "run")
    assert loaded_cfg == cfg
    for pa, pb in zip(net.parameters(), result.net.parameters(), strict=True):
        assert torch.equal(pa, pb)
    a = record_episodes(result, seed=3)[0]
    b = record_episodes(tmp_path / "run", seed=3)[0]
    for key in a.arrays:
        np.testing.assert_array_equal(a.arrays[key], b.arrays[key])
    greedy = record_episodes(result, seed=3, greedy=True)[0].arrays
    np.testing.assert_array_equal(greedy["actions"], greedy["logits"].argmax(-1))
    with pytest.raises(ConfigError):
        record_episodes(result.net, seed=3)  # a bare network needs its config
    with pytest.raises(ConfigError):
        load_agents(tmp_path)  # no run there


def test_record_builds_trajectories_and_saves_them(tmp_path) -> None:
    result = train(tiny("comm"))
    trajectories = record(result, episodes=2, seed=1)
    assert len(trajectories) == 2
    paths = save_recording(trajectories, tmp_path / "rec")
    assert all(p.is_file() for p in paths)
    # The folder reads back as one dataset of two distinct episodes, arrays unchanged.
    back = ci_io.open_dataset(tmp_path / "rec").read_all()
    assert back.num_episodes == 2
    whole = concat(trajectories)
    np.testing.assert_array_equal(back.actions, whole.actions)
    np.testing.assert_array_equal(back.messages, whole.messages)
    np.testing.assert_allclose(back.influence, whole.influence)
    assert back.metadata.extra["setting"] == "comm"
    spec = back.metadata.influence_spec
    assert (spec.alignment, spec.variable) == ("next_step", "messages")
