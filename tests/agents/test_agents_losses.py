"""GAE and losses against plain loops and closed forms."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.losses import (
    agent_sum_of_means,
    clip_grad_norm_per_agent,
    entropy,
    gae,
    log_prob,
    moa_cross_entropy,
    policy_loss,
    value_loss,
)
from causal_influence.errors import ConfigError, ShapeError


def gae_loop(rewards, values, last, dones, gamma, lam):
    """Plain scalar loop over every (b, n) and t: the textbook definition."""
    t_len, b, n = rewards.shape
    adv = [[[0.0] * n for _ in range(b)] for _ in range(t_len)]
    for bi in range(b):
        for ni in range(n):
            running = 0.0
            for t in reversed(range(t_len)):
                nonterminal = 0.0 if bool(dones[t][bi]) else 1.0
                nv = float(last[bi][ni]) if t == t_len - 1 else float(values[t + 1][bi][ni])
                delta = (
                    float(rewards[t][bi][ni]) + gamma * nonterminal * nv - float(values[t][bi][ni])
                )
                running = delta + gamma * lam * nonterminal * running
                adv[t][bi][ni] = running
    return torch.tensor(adv, dtype=torch.float64)


@settings(max_examples=40, deadline=None)
@given(
    t_len=st.integers(1, 7),
    b=st.integers(1, 3),
    gamma=st.floats(0.0, 1.0),
    lam=st.floats(0.0, 1.0),
    seed=st.integers(0, 10_000),
)
def test_gae_matches_plain_loop(t_len: int, b: int, gamma: float, lam: float, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    n = 2
    rewards = torch.randn(t_len, b, n, generator=g, dtype=torch.float64)
    values = torch.randn(t_len, b, n, generator=g, dtype=torch.float64)
    last = torch.randn(b, n, generator=g, dtype=torch.float64)
    dones = torch.rand(t_len, b, generator=g) < 0.3
    adv, ret = gae(rewards, values, last, dones.unsqueeze(-1), gamma=gamma, lam=lam)
    expected = gae_loop(rewards, values, last, dones, gamma, lam)
    torch.testing.assert_close(adv, expected)
    torch.testing.assert_close(ret, expected + values)


def test_gae_lambda_one_is_discounted_return() -> None:
    rewards = torch.tensor([1.0, 2.0, 3.0])
    values = torch.tensor([0.5, -1.0, 2.0])
    _, ret = gae(
        rewards, values, torch.tensor(10.0), torch.zeros(3, dtype=torch.bool), gamma=0.9, lam=1.0
    )
    expected = [1 + 0.9 * 2 + 0.81 * 3 + 0.729 * 10, 2 + 0.9 * 3 + 0.81 * 10, 3 + 0.9 * 10]
    torch.testing.assert_close(ret, torch.tensor(expected))
    # an episode end cuts the bootstrap
    _, ret2 = gae(
        rewards, values, torch.tensor(10.0), torch.tensor([False, False, True]), gamma=0.9, lam=1.0
    )
    torch.testing.assert_close(ret2, torch.tensor([1 + 1.8 + 2.43, 2 + 2.7, 3.0]))


def test_gae_rejects_bad_input() -> None:
    with pytest.raises(ConfigError):
        gae(
            torch.zeros(2),
            torch.zeros(2),
            torch.tensor(0.0),
            torch.zeros(2, dtype=torch.bool),
            gamma=1.5,
            lam=1,
        )
    with pytest.raises(ShapeError):
        gae(
            torch.zeros(2, 3),
            torch.zeros(2, 3),
            torch.zeros(2),
            torch.zeros(2, 1, dtype=torch.bool),
            gamma=0.9,
            lam=1,
        )


def test_log_prob_and_entropy_closed_form() -> None:
    logits = torch.log(torch.tensor([[0.5, 0.25, 0.25]]))
    torch.testing.assert_close(log_prob(logits, torch.tensor([1])), torch.tensor([math.log(0.25)]))
    torch.testing.assert_close(entropy(logits), torch.tensor([1.5 * math.log(2)]))


def test_policy_losses() -> None:
    logp = torch.log(torch.tensor([0.5, 0.2])).reshape(2, 1, 1)
    adv = torch.tensor([1.0, -2.0]).reshape(2, 1, 1)
    torch.testing.assert_close(policy_loss(logp, adv), -(logp * adv).mean())
    old = torch.log(torch.tensor([0.25, 0.2])).reshape(2, 1, 1)
    # ratio 2 with positive advantage clips at 1.2; ratio 1 with negative advantage: -1 * -2
    clipped = policy_loss(logp, adv, old_logp=old, clip=0.2)
    torch.testing.assert_close(clipped, torch.tensor(-(1.2 * 1.0 + 1.0 * -2.0) / 2))
    torch.testing.assert_close(
        value_loss(torch.ones(2, 1, 1), torch.zeros(2, 1, 1)), torch.tensor(0.5)
    )


def test_agent_sum_of_means_sums_per_agent_means() -> None:
    x = torch.arange(12.0).reshape(2, 3, 2)
    assert float(agent_sum_of_means(x)) == pytest.approx(float(x[..., 0].mean() + x[..., 1].mean()))
    mask = torch.zeros(2, 3, 2)
    mask[0, 0, 0] = 1
    assert float(agent_sum_of_means(x, mask=mask)) == pytest.approx(0.0)


def test_moa_cross_entropy_denominator_counts_masked_entries() -> None:
    # one agent, two others, 2 steps; uniform logits over 4 actions
    logits = torch.zeros(2, 1, 1, 2, 4)
    targets = torch.zeros(2, 1, 1, 2, dtype=torch.long)
    mask = torch.tensor([1.0, 0.0, 1.0, 1.0]).reshape(2, 1, 1, 2)
    ce = moa_cross_entropy(logits, targets, mask)
    torch.testing.assert_close(ce, torch.tensor(3 * math.log(4) / 4))
    valid = torch.tensor([[True], [False]])
    torch.testing.assert_close(
        moa_cross_entropy(logits, targets, mask, valid), torch.tensor(math.log(4) / 2)
    )


def test_clip_grad_norm_per_agent_keeps_agents_independent() -> None:
    p = torch.nn.Parameter(torch.zeros(2, 3))
    p.grad = torch.tensor([[3.0, 4.0, 0.0], [0.3, 0.4, 0.0]])
    norms = clip_grad_norm_per_agent([p], 1.0, 2)
    torch.testing.assert_close(norms, torch.tensor([5.0, 0.5]))
    torch.testing.assert_close(p.grad[0], torch.tensor([0.6, 0.8, 0.0]), atol=1e-5, rtol=0)
    torch.testing.assert_close(p.grad[1], torch.tensor([0.3, 0.4, 0.0]))
