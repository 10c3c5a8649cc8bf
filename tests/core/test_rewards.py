"""Influence rewards of a training batch against a plain-loop oracle, the engine and hand cases.

The oracle (``plain_reward``) walks every environment, step, influencer and influencee with
plain ``math`` and writes the time convention out directly: the value is credited to the step
t where the influencer acted; same-step influence reads the influencees' policies at t,
next-step influence of a policy at t+1 (the bootstrap row for the batch's last step), a model
of other agents its own row t; nothing is credited at a step that ends an episode (next step).
Values are in nats.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import causal_influence as ci
from causal_influence.engine import pairwise_influence
from causal_influence.errors import ConfigError, InvalidDistributionError, ShapeError
from causal_influence.models import TabularModel
from causal_influence.rewards import credited_influence, influence_reward, reward_from_pairwise

LN2 = math.log(2.0)


def softmax(row) -> list[float]:
    m = max(row)
    e = [math.exp(x - m) for x in row]
    s = sum(e)
    return [x / s for x in e]


def plain_pair(cf_rows, prior_row, actual: int, divergence: str, realised: int | None) -> float:
    """Influence of one pair at one step: D[p(.|actual) || sum_c pi(c) p(.|c)]."""
    pi = softmax(prior_row)
    cond = [softmax(r) for r in cf_rows]
    marg = [sum(pi[c] * cond[c][a] for c in range(len(pi))) for a in range(len(cond[0]))]
    p = cond[actual]
    if divergence == "kl":
        return sum(
            pa * (math.log(pa) - math.log(qa)) for pa, qa in zip(p, marg, strict=True) if pa > 0
        )
    assert divergence == "pmi"
    assert realised is not None
    return math.log(p[realised]) - math.log(marg[realised])


def plain_reward(
    cf,
    logits,
    actions,
    *,
    mode: str,
    dones=None,
    visible=None,
    divergence: str = "kl",
    influencee_actions=None,
) -> np.ndarray:
    """(T, B, N) rewards by loops; ``mode`` is "same", "policy_next" or "moa"."""
    t_len, b_len, n, _ = logits.shape
    out = np.zeros((t_len, b_len, n))
    for b in range(b_len):
        for t in range(t_len):
            ends = bool(dones[t, b]) if dones is not None else False
            if mode == "same":
                row, lag = t, 0
            elif mode == "policy_next":
                row, lag = t + 1, 1
            else:
                row, lag = t, 1
            if mode != "same" and (ends or row >= cf.shape[0]):
                continue
            if mode != "same" and divergence == "pmi" and t + 1 >= influencee_actions.shape[0]:
                continue
            for k in range(n):
                for j in range(n):
                    if j == k or (visible is not None and not visible[t, b, k, j]):
                        continue
                    realised = None
                    if divergence == "pmi":
                        realised = int(influencee_actions[t + lag, b, j])
                    out[t, b, k] += plain_pair(
                        cf[row, b, k, j],
                        logits[t, b, k],
                        int(actions[t, b, k]),
                        divergence,
                        realised,
                    )
    return out


def random_batch(seed: int, t_len: int = 6, b_len: int = 2, n: int = 3, k: int = 3, a: int = 4):
    rng = np.random.default_rng(seed)
    cf = 2.0 * rng.normal(size=(t_len + 1, b_len, n, n, k, a))
    logits = rng.normal(size=(t_len, b_len, n, k))
    actions = rng.integers(0, k, size=(t_len, b_len, n))
    dones = np.zeros((t_len, b_len), dtype=bool)
    dones[1, 0] = dones[3, 1] = True
    dones[-1, 1] = True  # env 1's episode ends with the batch, env 0's goes on
    return cf, logits, actions, dones


@pytest.mark.parametrize("seed", [0, 1])
def test_same_step_equals_plain_loop(seed: int) -> None:
    cf, logits, actions, dones = random_batch(seed)
    got = influence_reward(cf[:-1], logits, actions, alignment="same_step", dones=dones)
    np.testing.assert_allclose(got, plain_reward(cf[:-1], logits, actions, mode="same"), atol=1e-12)


@pytest.mark.parametrize("bootstrap", [False, True])
def test_next_step_policy_equals_plain_loop_with_credit_shift(bootstrap: bool) -> None:
    cf, logits, actions, dones = random_batch(2)
    rows = cf if bootstrap else cf[:-1]
    got = influence_reward(rows, logits, actions, alignment="next_step", dones=dones)
    expected = plain_reward(rows, logits, actions, mode="policy_next", dones=dones)
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert np.all(got[1, 0] == 0)  # env 0's episode ends at t = 1
    assert np.all(got[5, 1] == 0)  # env 1's episode ends with the batch
    assert np.all(got[5, 0] > 0) == bootstrap  # env 0 goes on: credited only with the row T


def test_moa_equals_plain_loop_and_credits_the_last_step_of_a_continuing_episode() -> None:
    cf, logits, actions, dones = random_batch(3)
    got = influence_reward(
        cf[:-1], logits, actions, alignment="next_step", predicts_next_step=True, dones=dones
    )
    expected = plain_reward(cf[:-1], logits, actions, mode="moa", dones=dones)
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert np.all(got[-1, 0] > 0)
    assert np.all(got[-1, 1] == 0)
    assert np.all(got[3, 1] == 0)


def test_visibility_and_influencee_reward_equal_plain_loop() -> None:
    cf, logits, actions, dones = random_batch(4)
    visible = np.random.default_rng(4).random((6, 2, 3, 3)) < 0.5
    got = influence_reward(
        cf[:-1], logits, actions, alignment="next_step", dones=dones, visible=visible
    )
    expected = plain_reward(
        cf[:-1], logits, actions, mode="policy_next", dones=dones, visible=visible
    )
    np.testing.assert_allclose(got, expected, atol=1e-12)
    pairwise = credited_influence(cf[:-1], logits, actions, alignment="next_step", dones=dones)
    both = influence_reward(
        cf[:-1],
        logits,
        actions,
        alignment="next_step",
        dones=dones,
        visible=visible,
        influencee_reward=True,
    )
    masked = pairwise * visible
    np.testing.assert_allclose(both, masked.sum(-1) + masked.sum(-2), atol=1e-12)


def test_pmi_uses_the_influencees_next_action_and_needs_it_for_the_last_step() -> None:
    cf, logits, actions, dones = random_batch(5)
    nxt = np.random.default_rng(5).integers(0, 4, size=(7, 2, 3))
    for acts in (nxt, nxt[:-1]):
        got = influence_reward(
            cf,
            logits,
            actions,
            alignment="next_step",
            dones=dones,
            divergence="pmi",
            influencee_actions=acts,
        )
        expected = plain_reward(
            cf,
            logits,
            actions,
            mode="policy_next",
            dones=dones,
            divergence="pmi",
            influencee_actions=acts,
        )
        np.testing.assert_allclose(got, expected, atol=1e-12)
    with pytest.raises(ConfigError, match="influencee_actions"):
        influence_reward(cf, logits, actions, alignment="next_step", divergence="pmi")


def test_equals_the_engine_on_one_environment() -> None:
    cf, logits, actions, dones = random_batch(6)
    cf, logits, actions, dones = cf[:, 0], logits[:, 0], actions[:, 0], dones[:, 0].copy()
    model = TabularModel(cf[:-1], logits, actions)
    for alignment in ("same_step", "next_step"):
        engine = pairwise_influence(model, alignment=alignment, dones=dones, divergence="jsd")
        ours = credited_influence(
            cf[:-1], logits, actions, alignment=alignment, dones=dones, divergence="jsd"
        )
        np.testing.assert_allclose(ours, engine.influence, atol=1e-12)
        np.testing.assert_allclose(
            influence_reward(cf[:-1], logits, actions, alignment=alignment, dones=dones),
            pairwise_influence(model, alignment=alignment, dones=dones).reward(),
            atol=1e-12,
        )
    # A MOA whose batch ends its episode: the engine and the helper agree on every row.
    dones[-1] = True
    moa = TabularModel(cf[:-1], logits, actions, predicts_next_step=True)
    np.testing.assert_allclose(
        credited_influence(
            cf[:-1], logits, actions, alignment="next_step", predicts_next_step=True, dones=dones
        ),
        pairwise_influence(moa, alignment="next_step", dones=dones).influence,
        atol=1e-12,
    )


def test_batch_dimensions_equal_one_call_per_environment() -> None:
    cf, logits, actions, dones = random_batch(7, b_len=4)
    cf = cf.reshape(7, 2, 2, 3, 3, 3, 4)
    batched = influence_reward(
        cf,
        logits.reshape(6, 2, 2, 3, 3),
        actions.reshape(6, 2, 2, 3),
        alignment="next_step",
        dones=dones.reshape(6, 2, 2),
    )
    assert batched.shape == (6, 2, 2, 3)
    for b in range(4):
        one = influence_reward(
            cf.reshape(7, 4, 3, 3, 3, 4)[:, b],
            logits[:, b],
            actions[:, b],
            alignment="next_step",
            dones=dones[:, b],
        )
        np.testing.assert_allclose(batched.reshape(6, 4, 3)[:, b], one, atol=1e-12)


def test_hand_built_messages_with_an_episode_boundary() -> None:
    """Listener 1 copies speaker 0's message of the previous step; episodes end at t = 1."""
    t_len = 4
    cf = np.zeros((t_len + 1, 2, 2, 2, 2))
    cf[:, 0, 1] = [[0.0, -np.inf], [-np.inf, 0.0]]  # row u: 1's policy at u under 0's message
    logits = np.zeros((t_len, 2, 2))  # uniform speakers
    messages = np.array([[0, 1], [1, 0], [1, 1], [0, 0]])
    dones = np.array([False, True, False, False])
    starts = np.array([True, False, True, False])
    no_boot = influence_reward(cf[:-1], logits, messages, alignment="next_step", dones=dones)
    np.testing.assert_allclose(no_boot[:, 0], [LN2, 0.0, LN2, 0.0], atol=1e-12)
    np.testing.assert_array_equal(no_boot[:, 1], 0.0)
    boot = influence_reward(cf, logits, messages, alignment="next_step", dones=dones)
    np.testing.assert_allclose(boot[:, 0], [LN2, 0.0, LN2, LN2], atol=1e-12)
    same = influence_reward(cf, logits, messages, alignment="next_step", episode_starts=starts)
    np.testing.assert_allclose(same, boot, atol=1e-12)
    # dones with a trailing singleton axis (TorchRL's layout) are accepted
    np.testing.assert_allclose(
        influence_reward(cf, logits, messages, alignment="next_step", dones=dones[:, None]),
        boot,
        atol=1e-12,
    )
    # Same-step reading of the same tables: every step counts, boundaries do not matter.
    np.testing.assert_allclose(
        influence_reward(cf[:-1], logits, messages, alignment="same_step", dones=dones)[:, 0],
        [LN2] * t_len,
        atol=1e-12,
    )


def test_torch_in_torch_out_without_gradient() -> None:
    cf, logits, actions, dones = random_batch(8)
    cf_t = torch.tensor(cf, dtype=torch.float32, requires_grad=True)
    logits_t = torch.tensor(logits, dtype=torch.float32, requires_grad=True)
    got = influence_reward(
        cf_t, logits_t, torch.tensor(actions), alignment="next_step", dones=torch.tensor(dones)
    )
    assert isinstance(got, torch.Tensor)
    assert got.dtype == torch.float32
    assert not got.requires_grad
    expected = influence_reward(cf, logits, actions, alignment="next_step", dones=dones)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-5)
    # numpy counterfactuals with torch actions follow the counterfactuals' backend
    mixed = influence_reward(cf, logits, torch.tensor(actions), alignment="next_step", dones=dones)
    assert isinstance(mixed, torch.Tensor)
    np.testing.assert_allclose(mixed.numpy(), expected, atol=1e-12)


def test_subsets_of_agents() -> None:
    cf, logits, actions, _ = random_batch(9)
    got = credited_influence(
        cf[:-1], logits, actions, alignment="same_step", influencers=[0], influencees=[1, 2]
    )
    full = credited_influence(cf[:-1], logits, actions, alignment="same_step")
    np.testing.assert_allclose(got[..., 0, 1:], full[..., 0, 1:], atol=1e-12)
    assert np.all(got[..., 1:, :] == 0)
    assert np.all(got[..., 0, 0] == 0)


def test_package_exports() -> None:
    assert ci.influence_reward is influence_reward
    assert ci.credited_influence is credited_influence
    assert ci.reward_from_pairwise is reward_from_pairwise


def test_errors_say_what_was_expected() -> None:
    cf, logits, actions, dones = random_batch(10)
    with pytest.raises(ConfigError, match="alignment"):
        influence_reward(cf[:-1], logits, actions, alignment="lagged")
    with pytest.raises(ConfigError, match="divergence"):
        influence_reward(cf[:-1], logits, actions, alignment="same_step", divergence="l2")
    with pytest.raises(ConfigError, match="one of them"):
        influence_reward(
            cf[:-1], logits, actions, alignment="same_step", dones=dones, episode_starts=dones
        )
    with pytest.raises(ConfigError, match="next_step"):
        influence_reward(cf[:-1], logits, actions, alignment="same_step", predicts_next_step=True)
    with pytest.raises(ShapeError, match="bootstrap"):
        influence_reward(cf, logits, actions, alignment="same_step")
    with pytest.raises(ShapeError, match="bootstrap"):
        influence_reward(cf, logits, actions, alignment="next_step", predicts_next_step=True)
    with pytest.raises(ShapeError, match=r"actions: expected shape \(T, \*B, N\)"):
        influence_reward(cf[:-1], logits, actions[:, :, :2], alignment="same_step")
    with pytest.raises(ShapeError, match=r"in \[0, K=3\)"):
        influence_reward(cf[:-1], logits, actions + 3, alignment="same_step")
    with pytest.raises(ShapeError, match="counterfactual_logits"):
        influence_reward(cf[:-1, :, :, :2], logits, actions, alignment="same_step")
    with pytest.raises(ShapeError, match="counterfactual_logits"):
        influence_reward(cf[:-3], logits, actions, alignment="same_step")
    with pytest.raises(ShapeError, match="dones"):
        influence_reward(cf[:-1], logits, actions, alignment="next_step", dones=dones[:-1])
    with pytest.raises(ShapeError, match="visible"):
        influence_reward(
            cf[:-1], logits, actions, alignment="same_step", visible=np.ones((6, 2, 3))
        )
    bad = logits.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(InvalidDistributionError, match="logits"):
        influence_reward(cf[:-1], bad, actions, alignment="same_step")
    bad_cf = cf.copy()
    bad_cf[2, 1, 0, 1, 0, 0] = np.inf
    with pytest.raises(InvalidDistributionError, match="counterfactual_logits: expected finite"):
        influence_reward(bad_cf, logits, actions, alignment="next_step")
    with pytest.raises(ShapeError, match="pairwise"):
        reward_from_pairwise(np.zeros((3, 2)))
