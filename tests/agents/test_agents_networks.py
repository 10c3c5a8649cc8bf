"""Batched per-agent networks: shapes, independence of agents, counterfactuals vs re-running."""

from __future__ import annotations

import math

import pytest
import torch

from agents.layers import AgentConv2d, AgentLinear, AgentLSTM, make_generator
from agents.networks import MultiAgentNet, NetSpec, egocentric_order
from causal_influence.errors import ConfigError, ShapeError

N, A, M, S, C = 3, 4, 3, 5, 4


def make(setting: str, *, share: bool = False, embedding: int = 0, seed: int = 0) -> MultiAgentNet:
    spec = NetSpec(
        num_agents=N,
        view_shape=(S, S, C),
        num_actions=A,
        setting=setting,  # type: ignore[arg-type]
        num_symbols=M,
        num_influencers=2 if setting == "basic" else 1,
        fc_hiddens=(16, 8),
        lstm_size=12,
        share_weights=share,
        message_embedding=embedding,
        obs_scale=1.0,
    )
    net = MultiAgentNet(spec, rng=seed)
    # Larger output weights so that counterfactuals differ visibly.
    with torch.no_grad():
        net.policy_head.weight.mul_(100.0)
        if net.moa_head is not None:
            net.moa_head.weight.mul_(100.0)
    return net


def random_state(net: MultiAgentNet, b: int, g: torch.Generator) -> dict[str, torch.Tensor]:
    return {k: torch.randn(v.shape, generator=g) * 0.5 for k, v in net.initial_state(b).items()}


def test_agent_linear_matches_per_agent_loop() -> None:
    layer = AgentLinear(3, 5, 2, generator=make_generator(0))
    with torch.no_grad():
        layer.bias.normal_(generator=make_generator(1))
    x = torch.randn(3, 4, 5, generator=make_generator(2))
    out = layer(x)
    for n in range(3):
        expected = x[n] @ layer.weight[n] + layer.bias[n]
        torch.testing.assert_close(out[n], expected)


def test_agent_conv_matches_per_agent_conv() -> None:
    conv = AgentConv2d(2, 3, 6, 3, generator=make_generator(0))
    x = torch.randn(2, 4, 3, 7, 7, generator=make_generator(1))
    out = conv(x)
    for n in range(2):
        expected = torch.nn.functional.conv2d(x[n], conv.weight[n], conv.bias[n])
        torch.testing.assert_close(out[n], expected)


def test_agent_lstm_matches_torch_lstm_cell() -> None:
    gen = make_generator(0)
    lstm = AgentLSTM(2, 5, 7, generator=gen)
    cells = []
    for n in range(2):
        cell = torch.nn.LSTMCell(5, 7)
        with torch.no_grad():
            cell.weight_ih.copy_(lstm.w_x[n].T)
            cell.weight_hh.copy_(lstm.w_h[n].T)
            cell.bias_ih.copy_(lstm.bias[n])
            cell.bias_hh.zero_()
        cells.append(cell)
    x = torch.randn(2, 3, 5, generator=gen)
    h = torch.randn(2, 3, 7, generator=gen)
    c = torch.randn(2, 3, 7, generator=gen)
    h1, c1 = lstm.cell(lstm.input_gates(x) + lstm.recurrent_gates(h), c)
    for n in range(2):
        eh, ec = cells[n](x[n], (h[n], c[n]))
        torch.testing.assert_close(h1[n], eh)
        torch.testing.assert_close(c1[n], ec)


def _plain_hidden(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Hidden state of an LSTM cell for gate-major prescaled gates a + b, written plainly."""
    i, f, g, o = (a + b).unbind(0)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g / 2.0)
    return torch.sigmoid(o) * torch.tanh(c_new)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("scale", [1.0, 30.0, 100.0])
def test_gate_major_sum_cell_matches_the_plain_cell(dtype: torch.dtype, scale: float) -> None:
    # Summands as in the comm counterfactuals: (4, N, B, K, 1, H) + (4, N, 1, K, M, H). Scale
    # 100 puts some summands beyond float32's factor bound (80), which takes the plain path.
    gen = make_generator(3)
    a = (torch.randn(4, 2, 3, 2, 1, 6, generator=gen) * scale).to(dtype)
    b = (torch.randn(4, 2, 1, 2, 5, 6, generator=gen) * scale).to(dtype)
    c = torch.randn(2, 3, 1, 1, 6, generator=gen).to(dtype)
    out = torch.empty(4, 2, 3, 2, 5, 6, dtype=dtype)
    with torch.no_grad():
        h = AgentLSTM.gate_major_sum_cell(a, b, c, out)
    assert h.shape == (2, 3, 2, 5, 6)
    assert torch.isfinite(h).all()
    tol = 1e-6 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(h, _plain_hidden(a, b, c), atol=tol, rtol=0)


def test_sum_cell_takes_gates_last_and_keeps_autograd() -> None:
    # Gates last (..., 4H), as the networks build them; with autograd the out-of-place cell.
    gen = make_generator(4)
    a = torch.randn(2, 3, 1, 24, generator=gen)
    b = torch.randn(2, 1, 5, 24, generator=gen)
    c = torch.randn(2, 3, 1, 6, generator=gen)
    gm = AgentLSTM.gate_major
    plain = _plain_hidden(gm(a), gm(b), c)
    with torch.no_grad():
        torch.testing.assert_close(AgentLSTM.sum_cell(a, b, c), plain, atol=1e-6, rtol=0)
    a.requires_grad_(True)
    h = AgentLSTM.sum_cell(a, b, c)
    torch.testing.assert_close(h, plain, atol=1e-6, rtol=0)
    h.sum().backward()
    assert a.grad is not None
    assert torch.isfinite(a.grad).all()
    assert a.grad.abs().sum() > 0


def test_gate_major_sum_cell_saturates_and_propagates_nan() -> None:
    # |a + b| far beyond the factor bound on both sides: the sigmoids are exactly 0 or 1.
    a = torch.tensor([70.0, -70.0, 70.0, 70.0]).reshape(4, 1, 1)
    b = torch.tensor([70.0, -70.0, 70.0, -70.0]).reshape(4, 1, 1)
    c = torch.tensor([[0.5]])
    with torch.no_grad():
        h = AgentLSTM.gate_major_sum_cell(a, b, c, torch.empty(4, 1, 1))
    # i = 1, f = 0, g = tanh(70) = 1, o = sigmoid(0) = 0.5: c' = 1, h = 0.5 tanh(1).
    torch.testing.assert_close(h, torch.tensor([[0.5 * math.tanh(1.0)]]))
    a[0, 0, 0] = math.nan
    with torch.no_grad():
        h = AgentLSTM.gate_major_sum_cell(a, b, c, torch.empty(4, 1, 1))
    assert torch.isnan(h).all()


def test_agents_are_independent() -> None:
    """Changing agent 1's weights changes only agent 1's outputs (independent weights)."""
    net = make("none")
    g = make_generator(3)
    view = torch.randint(0, 2, (4, 2, N, S, S, C), generator=g, dtype=torch.uint8)
    starts = torch.zeros(4, 2, dtype=torch.bool)
    state = net.initial_state(2)
    before = net.forward_sequence(view, starts, state).logits
    with torch.no_grad():
        net.lstm.w_x[1].add_(0.5)
    after = net.forward_sequence(view, starts, state).logits
    assert torch.equal(before[:, :, 0], after[:, :, 0])
    assert torch.equal(before[:, :, 2], after[:, :, 2])
    assert not torch.allclose(before[:, :, 1], after[:, :, 1])


def test_shared_weights_give_one_group_and_equal_agents() -> None:
    net = make("none", share=True)
    assert all(p.shape[0] == 1 for p in net.parameters())
    view = torch.randint(0, 2, (1, 1, S, S, C), dtype=torch.uint8).expand(2, N, S, S, C)
    out = net.act(view, net.initial_state(2), generator=make_generator(0))
    torch.testing.assert_close(out.logits[:, 0], out.logits[:, 2])


@pytest.mark.parametrize("setting", ["none", "basic", "comm", "moa"])
def test_act_matches_sequence_pass(setting: str) -> None:
    """The acting pass and the training pass compute the same outputs."""
    net = make(setting)
    g = make_generator(5)
    t_len, b = 5, 3
    view = torch.randint(0, 2, (t_len, b, N, S, S, C), generator=g, dtype=torch.uint8)
    msgs_in = torch.randint(0, M + 1, (t_len, b, N), generator=g)
    starts = torch.zeros(t_len, b, dtype=torch.bool)
    starts[2, 1] = True
    state = random_state(net, b, g)
    st = {k: v.clone() for k, v in state.items()}
    acts, logits, values, moa = [], [], [], []
    for t in range(t_len):
        keep = (~starts[t]).float().reshape(1, b, 1)
        st = {k: v * keep for k, v in st.items()}
        out = net.act(view[t], st, messages=msgs_in[t], generator=g)
        st = out.state
        acts.append(out.actions)
        logits.append(out.logits)
        values.append(out.values)
        moa.append(out.moa_logits)
    seq = net.forward_sequence(view, starts, state, actions=torch.stack(acts), messages=msgs_in)
    torch.testing.assert_close(seq.logits, torch.stack(logits), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(seq.values, torch.stack(values), atol=1e-5, rtol=1e-4)
    if setting == "moa":
        assert seq.moa_logits is not None
        torch.testing.assert_close(seq.moa_logits, torch.stack(moa), atol=1e-4, rtol=1e-4)
    if setting == "basic":
        # influencers (agents 0, 1) are not affected by anyone's current action
        a = torch.stack(acts).clone()
        a[..., :2] = (a[..., :2] + 1) % A
        seq2 = net.forward_sequence(view, starts, state, actions=a)
        torch.testing.assert_close(seq2.logits[..., :2, :], seq.logits[..., :2, :])
        assert not torch.allclose(seq2.logits[..., 2, :], seq.logits[..., 2, :])


def _one_step(net, view, state, *, actions=None, messages=None):
    """Logits of a single step by the training pass (an independent code path)."""
    starts = torch.zeros(1, view.shape[0], dtype=torch.bool)
    return net.forward_sequence(
        view.unsqueeze(0),
        starts,
        state,
        actions=None if actions is None else actions.unsqueeze(0),
        messages=None if messages is None else messages.unsqueeze(0),
    )


@pytest.mark.parametrize("embedding", [0, 5])
def test_basic_counterfactuals_equal_rerunning_with_changed_action(embedding: int) -> None:
    net = make("basic", embedding=embedding)
    g = make_generator(7)
    b = 2
    view = torch.randint(0, 2, (b, N, S, S, C), generator=g, dtype=torch.uint8)
    state = random_state(net, b, g)
    out = net.act(view, state, generator=g)
    assert out.cf_logits is not None
    assert out.cf_logits.shape == (b, N - 2, 2, A, A)
    j = 2  # the influencee (row 0 of the counterfactuals)
    for i in range(2):
        for c in range(A):
            acts = out.actions.clone()
            acts[:, i] = c
            seq = _one_step(net, view, state, actions=acts)
            torch.testing.assert_close(
                out.cf_logits[:, 0, i, c], seq.logits[0, :, j], atol=1e-4, rtol=1e-4
            )
        # the counterfactual at the actual action is the actual policy
        actual = out.cf_logits[torch.arange(b), 0, i, out.actions[:, i]]
        torch.testing.assert_close(actual, out.logits[:, j], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("embedding", [0, 5])
def test_comm_counterfactuals_equal_rerunning_with_changed_message(embedding: int) -> None:
    net = make("comm", embedding=embedding)
    g = make_generator(8)
    b = 2
    view = torch.randint(0, 2, (b, N, S, S, C), generator=g, dtype=torch.uint8)
    msgs = torch.randint(0, M, (b, N), generator=g)
    state = random_state(net, b, g)
    out = net.act(view, state, messages=msgs, generator=g)
    assert out.cf_logits is not None
    assert out.cf_logits.shape == (b, N, N - 1, M, A)
    ego = egocentric_order(N)
    for j in range(N):
        for s in range(N - 1):
            k = int(ego[j, s + 1])
            for c in range(M):
                m2 = msgs.clone()
                m2[:, k] = c
                seq = _one_step(net, view, state, messages=m2)
                torch.testing.assert_close(
                    out.cf_logits[:, j, s, c], seq.logits[0, :, j], atol=1e-4, rtol=1e-4
                )


def test_moa_counterfactuals_equal_rerunning_with_changed_own_action() -> None:
    net = make("moa")
    g = make_generator(9)
    b = 2
    view = torch.randint(0, 2, (b, N, S, S, C), generator=g, dtype=torch.uint8)
    state = random_state(net, b, g)
    out = net.act(view, state, generator=g)
    assert out.cf_logits is not None
    assert out.cf_logits.shape == (b, N, A, N - 1, A)
    assert out.moa_logits is not None
    for k in range(N):
        for c in range(A):
            acts = out.actions.clone()
            acts[:, k] = c
            seq = _one_step(net, view, state, actions=acts)
            assert seq.moa_logits is not None
            torch.testing.assert_close(
                out.cf_logits[:, k, c], seq.moa_logits[0, :, k], atol=1e-4, rtol=1e-4
            )
    # rows differ with the counterfactual action (the MOA depends on it)
    assert not torch.allclose(out.cf_logits[:, :, 0], out.cf_logits[:, :, 1])


def test_message_heads_see_detached_features() -> None:
    net = make("comm")
    g = make_generator(1)
    view = torch.randint(0, 2, (2, 1, N, S, S, C), generator=g, dtype=torch.uint8)
    msgs = torch.randint(0, M + 1, (2, 1, N), generator=g)
    seq = net.forward_sequence(
        view, torch.zeros(2, 1, dtype=torch.bool), net.initial_state(1), messages=msgs
    )
    assert seq.message_logits is not None
    assert seq.message_values is not None
    (seq.message_logits.sum() + seq.message_values.sum()).backward()
    for name, p in net.named_parameters():
        touched = p.grad is not None and bool(p.grad.abs().sum() > 0)
        assert touched == name.startswith(("message_head", "message_value_head")), name


def test_spec_validation() -> None:
    with pytest.raises(ConfigError):
        NetSpec(num_agents=2, view_shape=(S, S, C), num_actions=A, setting="comm")
    with pytest.raises(ConfigError):
        NetSpec(
            num_agents=2, view_shape=(S, S, C), num_actions=A, setting="basic", num_influencers=2
        )
    with pytest.raises(ConfigError):
        NetSpec(num_agents=2, view_shape=(S, S, C), num_actions=A, setting="other")  # type: ignore[arg-type]
    net = make("none")
    with pytest.raises(ShapeError):
        net.act(torch.zeros(2, N + 1, S, S, C, dtype=torch.uint8), net.initial_state(2))


def test_initialisation_is_seeded() -> None:
    a = make("moa", seed=4)
    b = make("moa", seed=4)
    c = make("moa", seed=5)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not all(
        torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters(), strict=True)
    )
