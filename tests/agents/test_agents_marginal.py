"""The influence reward's marginal: the paper's (own policy) versus the population's."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from agents.config import TrainConfig
from agents.influence_reward import message_counterfactuals, population_logits
from agents.networks import NetSpec
from agents.sampler import Rollout, Sampler, rollout_influence
from agents.trainer import Trainer, make_net
from causal_influence.errors import ConfigError, ShapeError
from envs.signalling import SignallingConfig
from envs.vector import VectorEnv

M = 4


def synthetic_rollout(speaker_logits: torch.Tensor, messages: torch.Tensor) -> Rollout:
    """Two agents over T steps of B envs; agent 1 copies agent 0's message of the previous step
    (its logits at t+1 under message c put all mass on action c); no episode ends."""
    t_len, b = messages.shape
    n = 2
    copy = torch.full((M, M), -1e4).fill_diagonal_(0.0)
    cf = torch.zeros(t_len + 1, b, n, n - 1, M, M)  # listener j, slot of the other agent
    cf[:, :, 1, 0] = copy
    msg_logits = torch.zeros(t_len, b, n, M)
    msg_logits[:, :, 0] = speaker_logits
    zeros = torch.zeros(t_len, b, n)
    return Rollout(
        views=torch.zeros(t_len, b, n, 1, 1, 1, dtype=torch.uint8),
        starts=torch.zeros(t_len, b, dtype=torch.bool),
        visible=torch.ones(t_len, b, n, n),
        actions=torch.zeros(t_len, b, n, dtype=torch.long),
        logits=torch.zeros(t_len, b, n, M),
        logp=zeros,
        values=zeros,
        last_values=torch.zeros(b, n),
        env_rewards=zeros,
        extrinsic=zeros,
        dones=torch.zeros(t_len, b, dtype=torch.bool),
        state0={},
        next_visible=torch.ones(b, n, n),
        next_actions=torch.zeros(b, n, dtype=torch.long),
        messages=torch.stack([messages, torch.zeros_like(messages)], dim=-1),
        message_logits=msg_logits,
        cf_logits=cf,
    )


def spec() -> NetSpec:
    cfg = TrainConfig(
        env=SignallingConfig(num_symbols=M),
        setting="comm",
        conv_kernel=1,
        lstm_size=4,
        rollout_length=10,
    )
    return make_net(cfg, (1, 1, 7), 4).spec


def test_population_logits_average_the_policy_over_steps_and_envs() -> None:
    logits = torch.randn(5, 3, 2, M, generator=torch.Generator().manual_seed(0))
    out = population_logits(logits)
    expected = torch.softmax(logits, -1).mean(dim=(0, 1))
    assert out.shape == logits.shape
    torch.testing.assert_close(out.exp()[2, 1], expected)
    torch.testing.assert_close(out[0, 0], out[4, 2])
    with pytest.raises(ShapeError, match=r"\(T, B, N, K\)"):
        population_logits(logits[0])


def test_a_perfect_language_earns_0_under_the_paper_marginal_ln_m_under_the_population() -> None:
    """An honest deterministic speaker (message = target, targets cycling through all M) and a
    listener that copies: the paper's influence is 0, the population influence is ln M."""
    t_len, b = 8, 2
    messages = (torch.arange(t_len * b).reshape(t_len, b) % M).long()
    honest = torch.full((t_len, b, M), -1e4).scatter_(-1, messages.unsqueeze(-1), 0.0)
    ro = synthetic_rollout(honest, messages)
    paper = rollout_influence(ro, spec(), marginal="policy")
    population = rollout_influence(ro, spec(), marginal="population")
    assert paper[..., 0, 1].abs().max().item() < 1e-6
    torch.testing.assert_close(
        population[..., 0, 1], torch.full((t_len, b), math.log(M)), atol=1e-5, rtol=0
    )
    assert population[..., 1, 0].abs().max().item() == 0  # nobody listens to agent 1


def test_uniform_noise_that_steers_the_listener_scores_ln_m_under_both_marginals() -> None:
    """A speaker that ignores the target and says a uniformly random symbol, heard by a copying
    listener: the paper's influence is ln M per step (all of it is the speaker's randomness);
    the population marginal scores it the same, so the population reward gives noise no
    premium over an informative protocol (which the paper's reward scores 0)."""
    t_len, b = 6, 3
    messages = torch.randint(0, M, (t_len, b), generator=torch.Generator().manual_seed(1))
    uniform = torch.zeros(t_len, b, M)
    ro = synthetic_rollout(uniform, messages)
    for marginal in ("policy", "population"):
        out = rollout_influence(ro, spec(), marginal=marginal)[..., 0, 1]
        if marginal == "policy":
            torch.testing.assert_close(out, torch.full_like(out, math.log(M)))
        else:  # the empirical population policy is exactly uniform
            torch.testing.assert_close(out, torch.full_like(out, math.log(M)), atol=1e-6, rtol=0)


def test_population_influence_matches_a_plain_loop_on_a_real_rollout() -> None:
    cfg = TrainConfig(
        env=SignallingConfig(num_symbols=M, num_distractors=1, max_cycles=6),
        setting="comm",
        num_envs=3,
        rollout_length=6,
        conv_kernel=1,
        conv_filters=4,
        fc_hiddens=(6,),
        lstm_size=6,
    )
    net = make_net(cfg, (1, 1, 7), 4)
    env = VectorEnv(cfg.env, 3, seed=0)
    sampler = Sampler(env, net, generator=torch.Generator().manual_seed(0))
    sampler.reset(0)
    ro = sampler.collect(6, ends_episode=True)
    got = rollout_influence(ro, net.spec, marginal="population").double()
    cf = message_counterfactuals(ro.cf_logits).double()  # row u: listeners' policies at u
    probs = torch.softmax(ro.message_logits.double(), -1).mean(dim=(0, 1))  # (N, M)
    assert ro.messages is not None
    for t in range(5):  # the last step ends the episode: nothing credited there
        for b in range(3):
            for k in range(3):
                for j in range(3):
                    if k == j:
                        continue
                    policies = torch.softmax(cf[t + 1, b, k, j], -1)  # (M, A)
                    marginal = (probs[k, :, None] * policies).sum(0)
                    p = policies[ro.messages[t, b, k]]
                    kl = float((p * (p / marginal).log()).sum())
                    assert got[t, b, k, j].item() == pytest.approx(kl, abs=1e-5)
    assert got[5].abs().max().item() == 0


def test_trainer_option_validates_and_changes_the_reward() -> None:
    with pytest.raises(ConfigError, match="influence_marginal"):
        TrainConfig(
            env=SignallingConfig(),
            conv_kernel=1,
            rollout_length=10,
            influence_marginal="uniform",  # type: ignore[arg-type]
        )
    with pytest.raises(ConfigError, match="marginal"):
        rollout_influence(
            synthetic_rollout(torch.zeros(2, 1, M), torch.zeros(2, 1).long()),
            spec(),
            marginal="uniform",
        )
    rows = {}
    for marginal in ("policy", "population"):
        cfg = TrainConfig(
            env=SignallingConfig(num_symbols=M, max_cycles=10),
            setting="comm",
            num_envs=4,
            rollout_length=10,
            total_env_steps=40,
            conv_kernel=1,
            conv_filters=4,
            fc_hiddens=(8,),
            lstm_size=8,
            influence_coef=1.0,
            influence_marginal=marginal,  # type: ignore[arg-type]
            tensorboard=False,
        )
        assert TrainConfig.from_json(cfg.to_json()) == cfg
        rows[marginal] = Trainer(cfg).update()
    assert rows["policy"]["influence"] > 0
    assert rows["population"]["influence"] > 0
    assert rows["policy"]["influence"] != rows["population"]["influence"]
    # Same seed, same first fragment: only the reward's marginal differs.
    assert rows["policy"]["collective_reward"] == rows["population"]["collective_reward"]
    assert np.isfinite(rows["population"]["message_policy_loss"])
