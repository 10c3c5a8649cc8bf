"""Influence rewards of the three settings: layout, core equality and one-step credit alignment.

The oracle for every setting re-runs the network's *training* pass (an independent code path
from the acting pass with its gate-table shortcut) with the counterfactual input changed, and
hands the resulting logits to the core's ``influence`` one pair and one step at a time.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.influence_reward import (
    basic_counterfactuals,
    influence_weight,
    message_counterfactuals,
    moa_counterfactuals,
    other_slot,
    per_agent_influence,
    shaped_influence,
)
from agents.networks import MultiAgentNet, NetSpec, egocentric_order
from agents.sampler import Sampler, rollout_influence
from causal_influence.counterfactual import influence
from causal_influence.errors import ConfigError, ShapeError

S, C = 3, 2


class ScriptedEnv:
    """Deterministic two-channel env: the view encodes (t, agent); rewards are constant.

    Implements the part of ``envs.vector.VectorEnv`` the sampler uses, with episodes of
    ``length`` steps and auto-reset, so that alignment can be checked by hand.
    """

    def __init__(self, num_envs: int, num_agents: int, length: int, num_symbols: int = 0) -> None:
        self.num_envs, self.num_agents, self.length = num_envs, num_agents, length
        self.num_symbols = num_symbols
        self.num_actions = 4

    def _obs(self) -> dict[str, np.ndarray]:
        b, n = self.num_envs, self.num_agents
        view = np.zeros((b, n, S, S, C), dtype=np.uint8)
        for i in range(n):
            view[:, i, (self.t + i) % S, self.t % S, 0] = 1
            view[:, i, i % S, (self.t * 2) % S, 1] = 1
        vis = np.ones((b, n, n), dtype=np.uint8)
        if n > 2:
            vis[:, 0, 2] = self.t % 2  # agent 2 is visible to agent 0 on even steps only
        obs = {"view": view, "visible": vis, "actions": self.prev.copy()}
        if self.num_symbols:
            obs["messages"] = self.msgs.copy()
        return obs

    def reset(self, seed: int | None = None) -> dict[str, np.ndarray]:
        self.t = 0
        self.prev = np.full((self.num_envs, self.num_agents), 4 % self.num_actions, dtype=np.int64)
        self.msgs = np.full((self.num_envs, self.num_agents), self.num_symbols, dtype=np.int64)
        return self._obs()

    def step(self, actions: np.ndarray):
        actions = np.asarray(actions)
        if actions.ndim == 3:
            self.msgs = actions[..., 1].astype(np.int64)
            actions = actions[..., 0]
        self.prev = actions.astype(np.int64)
        self.t += 1
        rewards = np.ones((self.num_envs, self.num_agents), dtype=np.float32)
        trunc = np.full(self.num_envs, self.t >= self.length)
        if self.t >= self.length:
            self.reset()
        return self._obs(), rewards, np.zeros(self.num_envs, dtype=bool), trunc, {}


def make_net(setting: str, n: int = 2, *, influencers: int = 1, m: int = 3) -> MultiAgentNet:
    spec = NetSpec(
        num_agents=n,
        view_shape=(S, S, C),
        num_actions=4,
        setting=setting,  # type: ignore[arg-type]
        num_symbols=m,
        num_influencers=influencers,
        conv_filters=3,
        conv_kernel=2,
        fc_hiddens=(8,),
        lstm_size=6,
        obs_scale=1.0,
    )
    net = MultiAgentNet(spec, rng=11)
    with torch.no_grad():  # sharper policies so that influence is far from zero
        net.policy_head.weight.mul_(300.0)
        if net.moa_head is not None:
            net.moa_head.weight.mul_(300.0)
        if net.message_head is not None:
            net.message_head.weight.mul_(100.0)
        if net.lstm.w_onehot is not None:
            net.lstm.w_onehot.mul_(4.0)
        if net.moa_lstm is not None and net.moa_lstm.w_onehot is not None:
            net.moa_lstm.w_onehot.mul_(4.0)
    return net


def collect(net: MultiAgentNet, env: ScriptedEnv, fragments: int, length: int):
    sampler = Sampler(env, net, generator=torch.Generator().manual_seed(3))
    sampler.reset(0)
    out = []
    for f in range(fragments):
        ends = (f + 1) * length % env.length == 0
        if f > 0 and f * length % env.length == 0:
            sampler.reset(0)
        out.append(sampler.collect(length, ends_episode=ends))
    return out


def cat(rollouts, name):
    return torch.cat([getattr(r, name) for r in rollouts])


def sequence(net, rollouts, *, actions=None, messages=None):
    """Training pass over the concatenated fragments (one episode, zero initial state)."""
    views = cat(rollouts, "views")
    starts = cat(rollouts, "starts")
    return net.forward_sequence(
        views,
        starts,
        net.initial_state(views.shape[1]),
        actions=cat(rollouts, "actions") if actions is None else actions,
        messages=messages,
    )


def test_basic_reward_is_same_step_influence_of_influencer_action() -> None:
    env = ScriptedEnv(2, 3, length=6)
    net = make_net("basic", n=3, influencers=1)
    ros = collect(net, env, fragments=2, length=3)
    got = torch.cat([rollout_influence(r, net.spec, divergence="kl") for r in ros])
    actions = cat(ros, "actions")
    base = sequence(net, ros)
    t_len = actions.shape[0]
    for t in range(t_len):
        for j in (1, 2):
            cf = []
            for c in range(4):
                a2 = actions.clone()
                a2[t, :, 0] = c
                cf.append(sequence(net, ros, actions=a2).logits[t, :, j])
            expected = influence(
                torch.stack(cf, 1), base.logits[t, :, 0], actions[t, :, 0], divergence="kl"
            )
            torch.testing.assert_close(got[t, :, 0, j], expected, atol=2e-4, rtol=2e-3)
    assert float(got[:, :, 0, 1:].abs().sum()) > 1e-2  # the case is not trivially zero
    # only influencer -> influencee pairs carry influence
    assert torch.all(got[:, :, 1:, :] == 0)
    assert torch.all(got[:, :, 0, 0] == 0)


def test_message_reward_is_credited_to_the_step_the_message_was_sent() -> None:
    m = 3
    env = ScriptedEnv(2, 2, length=6, num_symbols=m)
    net = make_net("comm", n=2, m=m)
    ros = collect(net, env, fragments=2, length=3)  # fragment boundary after t = 2
    got = torch.cat([rollout_influence(r, net.spec, divergence="kl") for r in ros])
    msgs_in = cat(ros, "messages_in")
    sent = cat(ros, "messages")
    base = sequence(net, ros, messages=msgs_in)
    assert base.message_logits is not None
    t_len = sent.shape[0]
    # the message sent at t is what the listener reads at t+1
    assert torch.equal(msgs_in[1:], sent[:-1])
    for t in range(t_len):
        for k, j in ((0, 1), (1, 0)):
            if t == t_len - 1:  # the episode ends: nobody hears the last message
                assert torch.all(got[t, :, k, j] == 0)
                continue
            cf = []
            for c in range(m):
                m2 = msgs_in.clone()
                m2[t + 1, :, k] = c
                cf.append(sequence(net, ros, messages=m2).logits[t + 1, :, j])
            expected = influence(
                torch.stack(cf, 1), base.message_logits[t, :, k], sent[t, :, k], divergence="kl"
            )
            torch.testing.assert_close(got[t, :, k, j], expected, atol=2e-4, rtol=2e-3)
    assert float(got.abs().sum()) > 1e-2
    assert torch.all(got[:, :, 0, 0] == 0)
    assert torch.all(got[:, :, 1, 1] == 0)


def test_moa_reward_is_influence_of_own_action_on_predicted_next_actions() -> None:
    env = ScriptedEnv(2, 3, length=6)
    net = make_net("moa", n=3)
    ros = collect(net, env, fragments=2, length=3)
    got = torch.cat([rollout_influence(r, net.spec, divergence="kl") for r in ros])
    actions = cat(ros, "actions")
    base = sequence(net, ros)
    t_len = actions.shape[0]
    slot = other_slot(3)
    for t in range(t_len):
        for k in range(3):
            for j in range(3):
                if j == k:
                    continue
                if t == t_len - 1:
                    assert torch.all(got[t, :, k, j] == 0)
                    continue
                cf = []
                for c in range(4):
                    a2 = actions.clone()
                    a2[t, :, k] = c
                    moa = sequence(net, ros, actions=a2).moa_logits
                    assert moa is not None
                    cf.append(moa[t, :, k, slot[k, j]])
                expected = influence(
                    torch.stack(cf, 1), base.logits[t, :, k], actions[t, :, k], divergence="kl"
                )
                torch.testing.assert_close(got[t, :, k, j], expected, atol=2e-4, rtol=2e-3)
    assert float(got.abs().sum()) > 1e-2


def test_visibility_filter_uses_visibility_when_the_influencer_acted() -> None:
    env = ScriptedEnv(1, 3, length=4)
    net = make_net("moa", n=3)
    (ro,) = collect(net, env, fragments=1, length=4)
    pairwise = rollout_influence(ro, net.spec)
    masked = per_agent_influence(pairwise, visible=ro.visible)
    for t in range(4):
        expected0 = pairwise[t, 0, 0, 1] + pairwise[t, 0, 0, 2] * (t % 2)
        torch.testing.assert_close(masked[t, 0, 0], expected0)
    torch.testing.assert_close(per_agent_influence(pairwise), pairwise.sum(-1))
    both = per_agent_influence(pairwise, influencee_reward=True)
    torch.testing.assert_close(both, pairwise.sum(-1) + pairwise.sum(-2))


def test_pairwise_layouts_place_each_pair_where_the_core_expects_it() -> None:
    """Row k = influencer, column j = influencee, (K, A) = (k's values, j's actions); the
    slices are the network's own logits, unchanged, and every other cell is zero."""
    g = torch.Generator().manual_seed(0)
    n, a, m, t = 3, 4, 5, 2
    ego = egocentric_order(n)
    # basic, 1 influencer: cf (T, N-I, I, A, A)
    cf = torch.randn(t, n - 1, 1, a, a, generator=g)
    dense = basic_counterfactuals(cf)
    assert dense.shape == (t, n, n, a, a)
    for j in (1, 2):
        assert torch.equal(dense[:, 0, j], cf[:, j - 1, 0])
    assert torch.all(dense[:, 1:] == 0)
    assert torch.all(dense[:, 0, 0] == 0)
    # comm: cf (T, N listeners, N-1 speaker slots, M, A)
    cf = torch.randn(t, n, n - 1, m, a, generator=g)
    dense = message_counterfactuals(cf)
    assert dense.shape == (t, n, n, m, a)
    for j in range(n):
        for s in range(n - 1):
            k = int(ego[j, s + 1])
            assert torch.equal(dense[:, k, j], cf[:, j, s])
    # moa: cf (T, N influencers, A, N-1 predicted slots, A)
    cf = torch.randn(t, n, a, n - 1, a, generator=g)
    dense = moa_counterfactuals(cf)
    assert dense.shape == (t, n, n, a, a)
    for k in range(n):
        for s in range(n - 1):
            j = int(ego[k, s + 1])
            assert torch.equal(dense[:, k, j], cf[:, k, :, s])
    for layout in (message_counterfactuals(torch.randn(t, n, n - 1, m, a)), dense):
        assert torch.all(layout[:, torch.arange(n), torch.arange(n)] == 0)


def test_layouts_reject_wrong_shapes() -> None:
    with pytest.raises(ShapeError, match=r"\(\.\.\., N, N-1, M, A\)"):
        message_counterfactuals(torch.zeros(2, 3, 3, 4, 4))
    with pytest.raises(ShapeError, match=r"\(\.\.\., N, A, N-1, A\)"):
        moa_counterfactuals(torch.zeros(2, 3, 4, 3, 4))
    with pytest.raises(ShapeError, match="N-I, I, A, A"):
        basic_counterfactuals(torch.zeros(4, 4))


def test_schedule_clip_and_weight() -> None:
    steps, weights = (0.0, 1e7, 1e8, 3e8), (0.0, 0.0, 1.0, 0.5)
    assert influence_weight(5e6, coef=2.521, schedule_steps=steps, schedule_weights=weights) == 0
    assert influence_weight(
        1e8, coef=2.521, schedule_steps=steps, schedule_weights=weights
    ) == pytest.approx(2.521)
    assert influence_weight(
        2e8, coef=1.0, schedule_steps=steps, schedule_weights=weights
    ) == pytest.approx(0.75)
    assert influence_weight(
        9e9, coef=1.0, schedule_steps=steps, schedule_weights=weights
    ) == pytest.approx(0.5)
    assert influence_weight(3.0, coef=0.7) == 0.7
    with pytest.raises(ConfigError):
        influence_weight(1.0, coef=1.0, schedule_steps=(0, 1), schedule_weights=(1,))
    torch.testing.assert_close(
        shaped_influence(torch.tensor([-20.0, 3.0, 20.0]), clip=10.0, weight=0.5),
        torch.tensor([-5.0, 1.5, 5.0]),
    )


# --------------------------------------------------------------------------------------------
# Cross-check with the core's engine: the network wrapped as a RecurrentTorchModel (counterfactuals
# re-run by the engine from the real recurrent states) gives the same pairwise influence.


def _policy_model(net: MultiAgentNet, ros, b: int, *, inputs, prior, values):
    from causal_influence.models import RecurrentTorchModel

    setting = net.spec.setting
    views = cat(ros, "views")[:, b].to(torch.float32)  # (T, N, S, S, C)

    def step(features, x, state):
        h, c = state  # (R, N, H)
        vals = x.argmax(-1)  # one-hot rows back to indices, (R, N)
        seq = net.forward_sequence(
            features[None],
            torch.zeros(1, features.shape[0], dtype=torch.bool),
            {"h": h.transpose(0, 1), "c": c.transpose(0, 1)},
            actions=vals[None] if setting == "basic" else None,
            messages=vals[None] if setting == "comm" else None,
        )
        assert seq.final_state is not None
        new = (seq.final_state["h"].transpose(0, 1), seq.final_state["c"].transpose(0, 1))
        return seq.logits[0], new

    n, h = net.spec.num_agents, net.spec.lstm_size
    return RecurrentTorchModel(
        step,
        views,
        inputs,
        prior_logits=prior,
        values=values,
        initial_state=(torch.zeros(1, n, h), torch.zeros(1, n, h)),
    )


def _moa_model(net: MultiAgentNet, ros, b: int):
    from causal_influence.models import RecurrentTorchModel

    n, h = net.spec.num_agents, net.spec.lstm_size
    views = cat(ros, "views")[:, b].to(torch.float32)  # (T, N, S, S, C); row k = k's view

    def agent_step(k: int):
        def step(features, x, state):
            mh, mc = state  # (R, H)
            r = features.shape[0]
            view = features[:, None].expand(r, n, *features.shape[1:])
            zeros = torch.zeros(n, r, h)
            full_h, full_c = zeros.clone(), zeros.clone()
            full_h[k], full_c[k] = mh, mc
            seq = net.forward_sequence(
                view[None],
                torch.zeros(1, r, dtype=torch.bool),
                {"h": zeros, "c": zeros, "moa_h": full_h, "moa_c": full_c},
                actions=x.argmax(-1)[None],
            )
            assert seq.moa_logits is not None
            assert seq.final_state is not None
            new = (seq.final_state["moa_h"][k], seq.final_state["moa_c"][k])
            return seq.moa_logits[0, :, k], new

        return step

    actions = cat(ros, "actions")[:, b]
    return RecurrentTorchModel(
        [agent_step(k) for k in range(n)],
        views,
        actions,
        prior_logits=cat(ros, "logits")[:, b],
        initial_state=(torch.zeros(n, h), torch.zeros(n, h)),
        per_influencer=True,
        outputs="others",
        predicts_next_step=True,
    )


@pytest.mark.parametrize("setting", ["basic", "comm", "moa"])
def test_reward_equals_core_engine_on_the_same_network(setting: str) -> None:
    from causal_influence.engine import pairwise_influence

    m = 3
    env = ScriptedEnv(2, 3, length=6, num_symbols=m if setting == "comm" else 0)
    net = make_net(setting, n=3, m=m)
    ros = collect(net, env, fragments=2, length=3)
    ours = torch.cat([rollout_influence(r, net.spec, divergence="jsd") for r in ros])
    for b in range(2):
        if setting == "basic":
            model = _policy_model(
                net,
                ros,
                b,
                inputs=cat(ros, "actions")[:, b],
                prior=cat(ros, "logits")[:, b],
                values=None,
            )
            result = pairwise_influence(
                model, alignment="same_step", divergence="jsd", influencers=[0]
            )
        elif setting == "comm":
            heard = torch.nn.functional.one_hot(cat(ros, "messages_in")[:, b], m + 1)
            model = _policy_model(
                net,
                ros,
                b,
                inputs=heard.to(torch.float32),
                prior=cat(ros, "message_logits")[:, b],
                values=cat(ros, "messages")[:, b],
            )
            result = pairwise_influence(model, alignment="next_step", divergence="jsd")
        else:
            result = pairwise_influence(
                _moa_model(net, ros, b), alignment="next_step", divergence="jsd"
            )
        torch.testing.assert_close(ours[:, b], result.influence, atol=2e-4, rtol=2e-3)
        assert float(result.influence.abs().sum()) > 1e-3
