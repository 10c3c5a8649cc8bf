"""Pairwise influence engine and joint-policy-model adapters against plain-loop oracles.

The oracle (``plain_influence``) loops over steps, influencers, influencees and counterfactual
values and evaluates the divergence with plain ``math``; the per-value influencee distributions
it reads come from the tables or from the networks evaluated one variant at a time. Values are
in nats unless a test says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_influence.engine import InfluenceResult, pairwise_influence
from causal_influence.errors import (
    ConfigError,
    DTypeError,
    InvalidDistributionError,
    ModelError,
    ShapeError,
)
from causal_influence.models import (
    JointPolicyModel,
    LinearInputModel,
    PyroModel,
    RecurrentTorchModel,
    TabularModel,
    TorchModel,
)

LN2 = math.log(2)

# ------------------------------------------------------------------------------------------
# the oracle

ProbFn = Callable[[int, int, int, int], list[float]]


def softmax_list(logits: list[float]) -> list[float]:
    finite = [x for x in logits if x != -math.inf]
    top = max(finite)
    exps = [0.0 if x == -math.inf else math.exp(x - top) for x in logits]
    total = sum(exps)
    return [e / total for e in exps]


def plain_divergence(
    cond: list[float], marg: list[float], kind: str, action: int | None = None
) -> float:
    if kind == "kl":
        return sum(p * math.log(p / q) for p, q in zip(cond, marg, strict=True) if p > 0)
    if kind == "jsd":
        mid = [(p + q) / 2 for p, q in zip(cond, marg, strict=True)]
        left = sum(p * math.log(p / m) for p, m in zip(cond, mid, strict=True) if p > 0)
        right = sum(q * math.log(q / m) for q, m in zip(marg, mid, strict=True) if q > 0)
        return (left + right) / 2
    if kind == "tv":
        return sum(abs(p - q) for p, q in zip(cond, marg, strict=True)) / 2
    if kind == "pmi":
        assert action is not None
        return math.log(cond[action]) - math.log(marg[action])
    raise AssertionError(kind)


def plain_influence(
    cond_probs: ProbFn,
    prior_probs: Callable[[int, int], list[float]],
    values: np.ndarray,
    *,
    num_agents: int,
    alignment: str,
    predicts_next: bool = False,
    starts: np.ndarray | None = None,
    influencers: list[int] | None = None,
    influencees: list[int] | None = None,
    divergence: str = "kl",
    actions: np.ndarray | None = None,
) -> np.ndarray:
    """Loop over t, k, j and the counterfactual values; ``cond_probs(row, k, j, c)``."""
    t_len = values.shape[0]
    starts = np.zeros(t_len, bool) if starts is None else starts
    ks = list(range(num_agents)) if influencers is None else influencers
    js = list(range(num_agents)) if influencees is None else influencees
    out = np.zeros((t_len, num_agents, num_agents))
    for t in range(t_len):
        if alignment == "next_step":
            if t == t_len - 1 or starts[t + 1]:
                continue
            row = t if predicts_next else t + 1
            act_row = t + 1
        else:
            row = t
            act_row = t
        for k in ks:
            pi = prior_probs(t, k)
            for j in js:
                if j == k:
                    continue
                per_value = [cond_probs(row, k, j, c) for c in range(len(pi))]
                n_act = len(per_value[0])
                marg = [sum(pi[c] * per_value[c][a] for c in range(len(pi))) for a in range(n_act)]
                cond = per_value[int(values[t, k])]
                action = None if actions is None else int(actions[act_row, j])
                out[t, k, j] = plain_divergence(cond, marg, divergence, action)
    return out


def table_oracle(
    cf: np.ndarray, prior: np.ndarray
) -> tuple[ProbFn, Callable[[int, int], list[float]]]:
    def cond(r: int, k: int, j: int, c: int) -> list[float]:
        return softmax_list([float(x) for x in cf[r, k, j, c]])

    def pri(t: int, k: int) -> list[float]:
        return softmax_list([float(x) for x in prior[t, k]])

    return cond, pri


def random_tables(
    rng: np.random.Generator, t: int, n: int, k: int, a: int, *, masked: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cf = rng.normal(scale=2.0, size=(t, n, n, k, a))
    if masked:  # some impossible actions, never a whole row
        mask = rng.random(cf.shape) < 0.2
        mask[..., 0] = False
        cf = np.where(mask, -np.inf, cf)
    prior = rng.normal(size=(t, n, k))
    values = rng.integers(0, k, size=(t, n))
    return cf, prior, values


def starts_from(t: int, firsts: list[int]) -> np.ndarray:
    s = np.zeros(t, bool)
    s[firsts] = True
    return s


# ------------------------------------------------------------------------------------------
# tabular models


@pytest.mark.parametrize(
    ("alignment", "predicts_next"),
    [("same_step", False), ("next_step", False), ("next_step", True)],
)
@pytest.mark.parametrize("divergence", ["kl", "jsd", "tv", "pmi"])
def test_tabular_matches_plain_loop(alignment: str, predicts_next: bool, divergence: str) -> None:
    rng = np.random.default_rng(1)
    t, n, k, a = 9, 4, 3, 5
    cf, prior, values = random_tables(rng, t, n, k, a, masked=divergence != "pmi")
    starts = starts_from(t, [0, 4, 5])
    actions = rng.integers(0, a, size=(t, n))
    model = TabularModel(cf, prior, values, predicts_next_step=predicts_next)
    result = pairwise_influence(
        model,
        alignment=alignment,
        divergence=divergence,
        episode_starts=starts,
        influencee_actions=actions,
    )
    cond, pri = table_oracle(cf, prior)
    expected = plain_influence(
        cond,
        pri,
        values,
        num_agents=n,
        alignment=alignment,
        predicts_next=predicts_next,
        starts=starts,
        divergence=divergence,
        actions=actions,
    )
    np.testing.assert_allclose(result.influence, expected, rtol=1e-10, atol=1e-12)
    assert isinstance(result.influence, np.ndarray)
    if alignment == "next_step":
        assert result.valid.tolist() == [1, 1, 1, 0, 0, 1, 1, 1, 0]
    else:
        assert result.valid.all()


def test_subsets_match_full_computation() -> None:
    rng = np.random.default_rng(2)
    cf, prior, values = random_tables(rng, 5, 4, 2, 3)
    model = TabularModel(cf, prior, values)
    full = pairwise_influence(model, alignment="same_step")
    part = pairwise_influence(
        model, alignment="same_step", influencers=[2, 0], influencees=["agent_1", "agent_2"]
    )
    expected_mask = np.zeros((4, 4), bool)
    expected_mask[[0, 0, 2], [1, 2, 1]] = True  # (2, 2) is the diagonal
    assert (part.computed == expected_mask).all()
    np.testing.assert_allclose(part.influence, np.where(expected_mask, full.influence, 0.0))
    cond, pri = table_oracle(cf, prior)
    oracle = plain_influence(
        cond,
        pri,
        values,
        num_agents=4,
        alignment="same_step",
        influencers=[2, 0],
        influencees=[1, 2],
    )
    np.testing.assert_allclose(part.influence, oracle, rtol=1e-10, atol=1e-12)
    assert (full.computed == ~np.eye(4, dtype=bool)).all()
    assert (np.diagonal(full.influence, axis1=1, axis2=2) == 0).all()


def test_reward_is_sum_over_influencees_and_visibility() -> None:
    rng = np.random.default_rng(3)
    cf, prior, values = random_tables(rng, 6, 3, 3, 3)
    visible = rng.random((6, 3, 3)) < 0.5
    result = pairwise_influence(
        TabularModel(cf, prior, values), alignment="same_step", visible=visible
    )
    raw = result.influence
    np.testing.assert_allclose(result.reward(visible_only=False), raw.sum(-1))
    np.testing.assert_allclose(result.reward(), (raw * visible).sum(-1))
    for t in range(6):  # plain loop: sum over visible influencees
        for k in range(3):
            total = sum(raw[t, k, j] for j in range(3) if visible[t, k, j])
            assert result.reward()[t, k] == pytest.approx(total, abs=1e-12)
    np.testing.assert_allclose(result.mean(), (raw * visible).mean(0))
    np.testing.assert_allclose(result.mean(visible_only=False), raw.mean(0))
    frame = result.to_dataframe()
    assert list(frame.columns) == ["t", "influencer", "influencee", "influence", "visible"]
    assert len(frame) == 6 * 6  # 6 steps x 6 ordered pairs
    row = frame[(frame.t == 4) & (frame.influencer == "agent_2") & (frame.influencee == "agent_0")]
    assert row.influence.item() == pytest.approx(raw[4, 2, 0] * visible[4, 2, 0])
    assert bool(row.visible.item()) == bool(visible[4, 2, 0])
    unmasked = result.to_dataframe(visible_only=False)
    assert unmasked.influence.sum() == pytest.approx(raw.sum())


def test_invalid_steps_excluded_from_mean_and_table() -> None:
    rng = np.random.default_rng(4)
    cf, prior, values = random_tables(rng, 4, 2, 2, 2)
    dones = np.array([False, True, False, False])
    result = pairwise_influence(TabularModel(cf, prior, values), alignment="next_step", dones=dones)
    assert result.valid.tolist() == [True, False, True, False]
    assert (result.influence[~result.valid] == 0).all()
    np.testing.assert_allclose(result.mean(), result.influence[[0, 2]].mean(0))
    assert sorted(set(result.to_dataframe().t)) == [0, 2]
    same = pairwise_influence(
        TabularModel(cf, prior, values),
        alignment="next_step",
        episode_starts=np.array([True, False, True, False]),
    )
    np.testing.assert_array_equal(same.influence, result.influence)


def test_model_episode_starts_are_used_by_default() -> None:
    rng = np.random.default_rng(5)
    cf, prior, values = random_tables(rng, 5, 2, 2, 2)
    starts = starts_from(5, [0, 2])
    model = TabularModel(cf, prior, values, episode_starts=starts)
    explicit = pairwise_influence(
        TabularModel(cf, prior, values), alignment="next_step", episode_starts=starts
    )
    np.testing.assert_array_equal(
        pairwise_influence(model, alignment="next_step").influence, explicit.influence
    )


def test_numpy_and_torch_agree() -> None:
    rng = np.random.default_rng(6)
    cf, prior, values = random_tables(rng, 5, 3, 3, 4, masked=True)
    for alignment in ("same_step", "next_step"):
        res_np = pairwise_influence(TabularModel(cf, prior, values), alignment=alignment)
        model_t = TabularModel(torch.tensor(cf), torch.tensor(prior), torch.tensor(values))
        res_t = pairwise_influence(model_t, alignment=alignment, base=2)
        assert isinstance(res_t.influence, torch.Tensor)
        assert isinstance(res_t.reward(), torch.Tensor)
        np.testing.assert_allclose(res_t.influence.numpy() * LN2, res_np.influence, atol=1e-12)
        np.testing.assert_allclose(res_t.mean().numpy() * LN2, res_np.mean(), atol=1e-12)


# ------------------------------------------------------------------------------------------
# closed-form cases (docs/metrics.md)


def copy_tables(t: int, prior: list[float], *, n: int = 2) -> tuple[np.ndarray, np.ndarray]:
    cond = np.full((t, n, n, 2, 2), 0.5)
    cond[:, 0, 1] = np.eye(2)  # agent 1 copies agent 0
    return cond, np.broadcast_to(np.asarray(prior), (t, n, 2)).copy()


def test_case2_copy_is_ln2_in_nats_and_one_bit() -> None:
    cond, prior = copy_tables(4, [0.5, 0.5])
    values = np.array([[0, 0], [1, 1], [0, 1], [1, 0]])
    model = TabularModel.from_probabilities(cond, prior, values)
    nats = pairwise_influence(model, alignment="same_step").influence
    bits = pairwise_influence(model, alignment="same_step", base=2).influence
    np.testing.assert_allclose(nats[:, 0, 1], LN2, rtol=1e-12)
    np.testing.assert_allclose(bits[:, 0, 1], 1.0, rtol=1e-12)
    assert (nats[:, 1, 0] == 0).all()  # agent 0 ignores agent 1: uniform in every row


def test_case2_nonuniform_copy_rewards_surprisal() -> None:
    cond, prior = copy_tables(2, [0.75, 0.25])
    model = TabularModel.from_probabilities(cond, prior, np.array([[0, 0], [1, 0]]))
    got = pairwise_influence(model, alignment="same_step").influence[:, 0, 1]
    np.testing.assert_allclose(got, [0.287682, 1.386294], atol=1e-6)


def test_case3_noisy_copy_and_case4_z_channel() -> None:
    noisy = np.full((1, 2, 2, 2, 2), 0.5)
    noisy[0, 0, 1] = [[0.75, 0.25], [0.25, 0.75]]
    model = TabularModel.from_probabilities(noisy, np.full((1, 2, 2), 0.5), np.array([[1, 0]]))
    res = pairwise_influence(model, alignment="same_step")
    assert res.influence[0, 0, 1] == pytest.approx(0.130812, abs=1e-6)
    z = np.full((2, 2, 2, 2, 2), 0.5)
    z[:, 0, 1] = [[0.5, 0.5], [0.0, 1.0]]
    zmodel = TabularModel.from_probabilities(z, np.full((2, 2, 2), 0.5), np.array([[0, 0], [1, 0]]))
    got = pairwise_influence(zmodel, alignment="same_step").influence[:, 0, 1]
    np.testing.assert_allclose(got, [0.143841, 0.287682], atol=1e-6)


def test_case5_weights_are_the_given_policy() -> None:
    cond, _ = copy_tables(2, [0.5, 0.5])
    weights = np.broadcast_to(np.array([0.9, 0.1]), (2, 2, 2))
    model = TabularModel.from_probabilities(cond, weights, np.array([[0, 0], [1, 0]]))
    got = pairwise_influence(model, alignment="same_step").influence[:, 0, 1]
    np.testing.assert_allclose(got, [0.105361, 2.302585], atol=1e-6)


def test_case6_sum_over_influencees() -> None:
    cond = np.full((3, 3, 3, 2, 2), 0.5)
    cond[:, 0, 1] = np.eye(2)  # j1 copies k = 0
    cond[:, 0, 2] = [[0.3, 0.7], [0.3, 0.7]]  # j2 independent of k
    model = TabularModel.from_probabilities(cond, np.full((3, 3, 2), 0.5), np.zeros((3, 3), int))
    reward = pairwise_influence(model, alignment="same_step").reward()
    np.testing.assert_allclose(reward[:, 0], LN2, rtol=1e-12)
    np.testing.assert_allclose(
        pairwise_influence(model, alignment="same_step", base=2).reward()[:, 0], 1.0
    )


def test_case1_independence_gives_zero() -> None:
    cond = np.broadcast_to(np.array([0.3, 0.7]), (2, 2, 2, 2, 2))
    model = TabularModel.from_probabilities(
        cond, np.broadcast_to(np.array([0.6, 0.4]), (2, 2, 2)), np.array([[0, 1], [1, 0]])
    )
    for kind in ("kl", "jsd", "tv"):
        got = pairwise_influence(model, alignment="same_step", divergence=kind).influence
        assert np.abs(got).max() <= 1e-15


def test_case14_sampled_actions_average_to_the_mutual_information() -> None:
    # Z-channel, k's action sampled from its uniform policy: the mean per-step reward is a
    # Monte-Carlo estimate of I = 0.215762 nats (standard error 0.0719 / sqrt(T)).
    t = 40_000
    values = np.zeros((t, 2), int)
    values[:, 0] = np.random.default_rng(14).integers(0, 2, size=t)
    cond = np.full((1, 2, 2, 2, 2), 0.5)
    cond[0, 0, 1] = [[0.5, 0.5], [0.0, 1.0]]
    model = TabularModel.from_probabilities(
        np.broadcast_to(cond, (t, 2, 2, 2, 2)), np.full((t, 2, 2), 0.5), values
    )
    mean = pairwise_influence(model, alignment="same_step").mean()[0, 1]
    assert abs(mean - 0.215762) < 5 * 0.0719 / math.sqrt(t)


# ------------------------------------------------------------------------------------------
# property tests


@st.composite
def tabular_cases(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    n = draw(st.integers(2, 4))
    t = draw(st.integers(1, 4))
    k = draw(st.integers(2, 3))
    a = draw(st.integers(2, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    perm = draw(st.permutations(list(range(n))))
    cf, prior, values = random_tables(np.random.default_rng(seed), t, n, k, a)
    return cf, prior, values, list(perm)


@settings(max_examples=40, deadline=None)
@given(tabular_cases(), st.sampled_from(["same_step", "next_step"]))
def test_equivariant_under_relabelling_agents(
    case: tuple[np.ndarray, np.ndarray, np.ndarray, list[int]], alignment: str
) -> None:
    cf, prior, values, perm = case
    p = np.asarray(perm)
    base = pairwise_influence(TabularModel(cf, prior, values), alignment=alignment)
    relabelled = TabularModel(cf[:, p][:, :, p], prior[:, p], values[:, p])
    got = pairwise_influence(relabelled, alignment=alignment)
    np.testing.assert_allclose(got.influence, base.influence[:, p][:, :, p], atol=1e-12)
    np.testing.assert_allclose(got.reward(), base.reward()[:, p], atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(tabular_cases(), st.integers(0, 3))
def test_nonnegative_and_zero_when_influencee_ignores_influencer(
    case: tuple[np.ndarray, np.ndarray, np.ndarray, list[int]], ignorer: int
) -> None:
    cf, prior, values, _ = case
    n = cf.shape[1]
    j = ignorer % n
    cf = cf.copy()
    cf[:, :, j] = cf[:, :, j, :1]  # j's policy is the same under every value of every k
    result = pairwise_influence(TabularModel(cf, prior, values), alignment="same_step")
    # KL >= 0 up to rounding (the core's KL of two equal distributions can be -4e-17)
    assert (result.influence >= -1e-15).all()
    assert np.abs(result.influence[:, :, j]).max() <= 1e-14
    for kind in ("jsd", "tv"):
        other = pairwise_influence(
            TabularModel(cf, prior, values), alignment="same_step", divergence=kind
        )
        assert np.abs(other.influence[:, :, j]).max() <= 1e-14


# ------------------------------------------------------------------------------------------
# torch feed-forward models

T, N, K, A, F = 7, 3, 3, 4, 5


class CentralHead(torch.nn.Module):
    """All agents' logits (B, N, A) from shared features and every agent's one-hot value."""

    def __init__(self, width: int, n_out: int = N) -> None:
        super().__init__()
        self.n_out = n_out
        self.hidden = torch.nn.Linear(F + N * width, 16)
        self.out = torch.nn.Linear(16, n_out * A)

    def forward(self, features: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.hidden(torch.cat([features, inputs.flatten(1)], -1)))
        return self.out(h).reshape(-1, self.n_out, A)


def torch_oracle(
    head: Callable[..., torch.Tensor],
    features: torch.Tensor,
    real_inputs: torch.Tensor,
    *,
    per_influencer: bool = False,
    others: bool = False,
    pass_agent: bool = False,
    heads: list[Callable[..., torch.Tensor]] | None = None,
) -> ProbFn:
    """cond_probs(row, k, j, c) by evaluating the network on one variant at a time."""

    def cond(r: int, k: int, j: int, c: int) -> list[float]:
        x = real_inputs[r].clone()
        x[k] = 0.0
        x[k, c] = 1.0
        f = features[r, k] if per_influencer else features[r]
        net = head if heads is None else heads[k]
        args = (f[None], x[None]) + ((torch.tensor([k]),) if pass_agent else ())
        with torch.no_grad():
            logits = net(*args)[0]
        col = (j if j < k else j - 1) if others else j
        return softmax_list([float(v) for v in logits[col]])

    return cond


def prior_oracle(prior: torch.Tensor) -> Callable[[int, int], list[float]]:
    return lambda t, k: softmax_list([float(v) for v in prior[t, k]])


@pytest.fixture
def gen() -> torch.Generator:
    return torch.Generator().manual_seed(11)


def test_torch_centralised_same_step_matches_plain_loop(gen: torch.Generator) -> None:
    torch.manual_seed(0)
    head = CentralHead(K).double()
    obs = torch.randn(T, 6, generator=gen, dtype=torch.float64)
    encoder = torch.nn.Linear(6, F).double()
    actions = torch.randint(0, K, (T, N), generator=gen)
    prior = torch.randn(T, N, K, generator=gen, dtype=torch.float64)
    model = TorchModel(head, obs, actions, prior_logits=prior, encoder=encoder)
    result = pairwise_influence(model, alignment="same_step", divergence="jsd")
    with torch.no_grad():
        feats = encoder(obs)
    onehot = torch.nn.functional.one_hot(actions, K).double()
    expected = plain_influence(
        torch_oracle(head, feats, onehot),
        prior_oracle(prior),
        actions.numpy(),
        num_agents=N,
        alignment="same_step",
        divergence="jsd",
    )
    np.testing.assert_allclose(result.influence.numpy(), expected, rtol=1e-9, atol=1e-12)
    assert not result.influence.requires_grad


def test_torch_message_policy_next_step_matches_plain_loop(gen: torch.Generator) -> None:
    # Agents hear the previous step's messages; symbol K means "no message yet" (episode start).
    torch.manual_seed(1)
    head = CentralHead(K + 1).double()
    feats = torch.randn(T, F, generator=gen, dtype=torch.float64)
    messages = torch.randint(0, K, (T, N), generator=gen)
    starts = starts_from(T, [0, 3])
    heard = torch.full((T, N), K)
    for t in range(1, T):
        if not starts[t]:
            heard[t] = messages[t - 1]
    message_logits = torch.randn(T, N, K, generator=gen, dtype=torch.float64)
    actions = torch.randint(0, A, (T, N), generator=gen)
    model = TorchModel(
        head,
        feats,
        heard,
        values=messages,
        prior_logits=message_logits,
        input_width=K + 1,
        episode_starts=starts,
    )
    for kind in ("kl", "pmi"):
        result = pairwise_influence(
            model, alignment="next_step", divergence=kind, influencee_actions=actions
        )
        expected = plain_influence(
            torch_oracle(head, feats, torch.nn.functional.one_hot(heard, K + 1).double()),
            prior_oracle(message_logits),
            messages.numpy(),
            num_agents=N,
            alignment="next_step",
            starts=starts,
            divergence=kind,
            actions=actions.numpy(),
        )
        np.testing.assert_allclose(result.influence.numpy(), expected, rtol=1e-9, atol=1e-12)
        assert result.valid.tolist() == [True, True, False, True, True, True, False]


def moa_head(n_out_layer: torch.nn.Module) -> Callable[..., torch.Tensor]:
    """A feed-forward MOA: own action first, then the others (needs the agent index)."""

    def head(features: torch.Tensor, inputs: torch.Tensor, agent: torch.Tensor) -> torch.Tensor:
        b = inputs.shape[0]
        order = torch.stack(
            [torch.cat([a[None], torch.arange(N)[torch.arange(N) != a]]) for a in agent]
        )
        own_first = inputs[torch.arange(b)[:, None], order]
        x = torch.cat([features, own_first.flatten(1)], -1)
        return n_out_layer(x).reshape(b, N - 1, A)

    return head


def test_torch_moa_per_influencer_matches_plain_loop(gen: torch.Generator) -> None:
    torch.manual_seed(2)
    layer = torch.nn.Linear(F + N * A, (N - 1) * A).double()
    head = moa_head(layer)
    feats = torch.randn(T, N, F, generator=gen, dtype=torch.float64)  # each agent's own view
    actions = torch.randint(0, A, (T, N), generator=gen)
    prior = torch.randn(T, N, A, generator=gen, dtype=torch.float64)
    starts = starts_from(T, [0, 5])
    model = TorchModel(
        head,
        feats,
        actions,
        prior_logits=prior,
        per_influencer=True,
        outputs="others",
        predicts_next_step=True,
        pass_agent=True,
    )
    result = pairwise_influence(model, alignment="next_step", episode_starts=starts)
    onehot = torch.nn.functional.one_hot(actions, A).double()
    expected = plain_influence(
        torch_oracle(head, feats, onehot, per_influencer=True, others=True, pass_agent=True),
        prior_oracle(prior),
        actions.numpy(),
        num_agents=N,
        alignment="next_step",
        predicts_next=True,
        starts=starts,
    )
    np.testing.assert_allclose(result.influence.numpy(), expected, rtol=1e-9, atol=1e-12)
    chunked = TorchModel(
        head,
        feats,
        actions,
        prior_logits=prior,
        per_influencer=True,
        outputs="others",
        predicts_next_step=True,
        pass_agent=True,
        max_batch=10,
    )
    np.testing.assert_allclose(
        pairwise_influence(chunked, alignment="next_step", episode_starts=starts).influence,
        result.influence,
        rtol=1e-12,
    )


def test_torch_independent_networks_per_agent(gen: torch.Generator) -> None:
    torch.manual_seed(3)
    layers = [torch.nn.Linear(F + N * A, N * A).double() for _ in range(N)]
    heads = [
        (lambda f, x, lay=lay: lay(torch.cat([f, x.flatten(1)], -1)).reshape(-1, N, A))
        for lay in layers
    ]
    feats = torch.randn(T, N, F, generator=gen, dtype=torch.float64)
    actions = torch.randint(0, A, (T, N), generator=gen)
    prior = torch.randn(T, N, A, generator=gen, dtype=torch.float64)
    model = TorchModel(
        heads, feats, actions, prior_logits=prior, per_influencer=True, predicts_next_step=True
    )
    result = pairwise_influence(model, alignment="next_step", influencers=[2, 1])
    onehot = torch.nn.functional.one_hot(actions, A).double()
    expected = plain_influence(
        torch_oracle(heads[0], feats, onehot, per_influencer=True, heads=heads),
        prior_oracle(prior),
        actions.numpy(),
        num_agents=N,
        alignment="next_step",
        predicts_next=True,
        influencers=[2, 1],
    )
    np.testing.assert_allclose(result.influence.numpy(), expected, rtol=1e-9, atol=1e-12)


class Counting:
    """Wraps a callable and records its calls and their batch sizes."""

    def __init__(self, fn: Callable[..., object], batch_arg: int = 0) -> None:
        self.fn, self.batch_arg, self.calls = fn, batch_arg, 0
        self.batches: list[int] = []

    def __call__(self, *args: object) -> object:
        self.calls += 1
        self.batches.append(args[self.batch_arg].shape[0])  # type: ignore[attr-defined]
        return self.fn(*args)


def test_torch_adapter_shares_the_encoder_and_batches_the_head(gen: torch.Generator) -> None:
    head = Counting(CentralHead(K).double(), batch_arg=1)
    encoder = Counting(torch.nn.Linear(6, F).double())
    obs = torch.randn(T, 6, generator=gen, dtype=torch.float64)
    actions = torch.randint(0, K, (T, N), generator=gen)
    model = TorchModel(
        head, obs, actions, prior_logits=torch.zeros(T, N, K, dtype=torch.float64), encoder=encoder
    )
    assert encoder.calls == 0  # lazy
    pairwise_influence(model, alignment="same_step")
    assert (encoder.calls, encoder.batches) == (1, [T])
    assert (head.calls, head.batches) == (1, [T * N * K])
    pairwise_influence(model, alignment="same_step", influencers=[1])
    assert encoder.calls == 1
    assert (head.calls, head.batches) == (2, [T * N * K, T * 1 * K])


def test_torch_grad_flows_when_requested(gen: torch.Generator) -> None:
    head = CentralHead(K).double()
    feats = torch.randn(T, F, generator=gen, dtype=torch.float64)
    actions = torch.randint(0, K, (T, N), generator=gen)
    prior = torch.randn(T, N, K, generator=gen, dtype=torch.float64)
    model = TorchModel(head, feats, actions, prior_logits=prior, grad=True)
    result = pairwise_influence(model, alignment="same_step")
    result.reward().sum().backward()
    assert head.hidden.weight.grad is not None
    assert head.hidden.weight.grad.abs().sum() > 0


def test_torch_copy_closed_form() -> None:
    def head(features: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        copy = torch.where(inputs[:, 0] > 0, 0.0, -math.inf).double()  # agent 1 copies agent 0
        return torch.stack([torch.zeros_like(copy), copy], 1)

    actions = torch.tensor([[0, 0], [1, 1], [1, 0]])
    model = TorchModel(head, None, actions, prior_logits=torch.zeros(3, 2, 2, dtype=torch.float64))
    result = pairwise_influence(model, alignment="same_step")
    np.testing.assert_allclose(result.influence[:, 0, 1].numpy(), LN2, rtol=1e-12)
    assert (result.influence[:, 1, 0] == 0).all()


# ------------------------------------------------------------------------------------------
# recurrent torch models

H = 6


class LSTMMoa(torch.nn.Module):
    """One LSTM step of a MOA: [features, one-hot actions of all agents] -> (N-1) x A logits."""

    def __init__(self) -> None:
        super().__init__()
        self.cell = torch.nn.LSTMCell(F + N * A, H)
        self.out = torch.nn.Linear(H, (N - 1) * A)

    def forward(
        self, features: torch.Tensor, inputs: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        h, c = self.cell(torch.cat([features, inputs.flatten(1)], -1), state)
        return self.out(h).reshape(-1, N - 1, A), (h, c)


def lstm_real_states(
    step: Callable[..., tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]],
    feats: torch.Tensor,
    onehot: torch.Tensor,
    starts: np.ndarray,
    streams: int,
) -> list[list[tuple[torch.Tensor, torch.Tensor]]]:
    """Plain loop: incoming state of every (row, stream), reset at episode starts."""
    states: list[list[tuple[torch.Tensor, torch.Tensor]]] = []
    current = [(torch.zeros(1, H).double(), torch.zeros(1, H).double()) for _ in range(streams)]
    with torch.no_grad():
        for t in range(feats.shape[0]):
            if starts[t]:
                current = [(torch.zeros(1, H).double(), torch.zeros(1, H).double())] * streams
            states.append(list(current))
            nxt = []
            for s in range(streams):
                f = feats[t, s] if streams > 1 else feats[t]
                nxt.append(step(f[None], onehot[t][None], current[s])[1])
            current = nxt
    return states


def lstm_oracle(
    step: Callable[..., tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]],
    feats: torch.Tensor,
    onehot: torch.Tensor,
    states: list[list[tuple[torch.Tensor, torch.Tensor]]],
    *,
    per_influencer: bool,
    others: bool,
) -> ProbFn:
    def cond(r: int, k: int, j: int, c: int) -> list[float]:
        x = onehot[r].clone()
        x[k] = 0.0
        x[k, c] = 1.0
        stream = k if per_influencer else 0
        f = feats[r, k] if per_influencer else feats[r]
        with torch.no_grad():
            logits = step(f[None], x[None], states[r][stream])[0][0]
        col = (j if j < k else j - 1) if others else j
        return softmax_list([float(v) for v in logits[col]])

    return cond


def test_recurrent_moa_matches_plain_loop(gen: torch.Generator) -> None:
    torch.manual_seed(4)
    moa = LSTMMoa().double()
    t_len = 9
    obs = torch.randn(t_len, N, 6, generator=gen, dtype=torch.float64)
    encoder = torch.nn.Sequential(torch.nn.Linear(6, F), torch.nn.Tanh()).double()
    actions = torch.randint(0, A, (t_len, N), generator=gen)
    prior = torch.randn(t_len, N, A, generator=gen, dtype=torch.float64)
    starts = starts_from(t_len, [0, 4])
    visible = torch.rand(t_len, N, N, generator=gen) < 0.6
    model = RecurrentTorchModel(
        moa,
        obs,
        actions,
        prior_logits=prior,
        encoder=encoder,
        initial_state=(torch.zeros(N, H).double(), torch.zeros(N, H).double()),
        per_influencer=True,
        outputs="others",
        predicts_next_step=True,
        episode_starts=starts,
    )
    result = pairwise_influence(model, alignment="next_step", visible=visible)
    with torch.no_grad():
        feats = encoder(obs)
    onehot = torch.nn.functional.one_hot(actions, A).double()
    states = lstm_real_states(moa, feats, onehot, starts, N)
    expected = plain_influence(
        lstm_oracle(moa, feats, onehot, states, per_influencer=True, others=True),
        prior_oracle(prior),
        actions.numpy(),
        num_agents=N,
        alignment="next_step",
        predicts_next=True,
        starts=starts,
    )
    np.testing.assert_allclose(result.influence.numpy(), expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        result.reward().numpy(), (expected * visible.numpy()).sum(-1), rtol=1e-9, atol=1e-12
    )
    # recorded states: the real sequence is not re-run and the result is the same
    stacked = (
        torch.stack([torch.cat([states[t][s][0] for s in range(N)]) for t in range(t_len)]),
        torch.stack([torch.cat([states[t][s][1] for s in range(N)]) for t in range(t_len)]),
    )
    step = Counting(moa, batch_arg=1)
    recorded = RecurrentTorchModel(
        step,
        feats,
        actions,
        prior_logits=prior,
        states=stacked,
        initial_state=(torch.zeros(N, H).double(), torch.zeros(N, H).double()),
        per_influencer=True,
        outputs="others",
        predicts_next_step=True,
        episode_starts=starts,
    )
    again = pairwise_influence(recorded, alignment="next_step")
    np.testing.assert_allclose(again.influence.numpy(), expected, rtol=1e-9, atol=1e-12)
    assert (step.calls, step.batches) == (1, [t_len * N * A])
    # chunked evaluation (max_batch rows per call) gives the same values
    chunked = RecurrentTorchModel(
        step,
        feats,
        actions,
        prior_logits=prior,
        states=stacked,
        initial_state=(torch.zeros(N, H).double(), torch.zeros(N, H).double()),
        per_influencer=True,
        outputs="others",
        predicts_next_step=True,
        episode_starts=starts,
        max_batch=50,
    )
    np.testing.assert_allclose(
        pairwise_influence(chunked, alignment="next_step").influence.numpy(),
        expected,
        rtol=1e-9,
        atol=1e-12,
    )
    assert step.batches[1:] == [50] * 2 + [t_len * N * A - 100]


def test_recurrent_centralised_same_step_and_shared_work(gen: torch.Generator) -> None:
    torch.manual_seed(5)
    cell = torch.nn.LSTMCell(F + N * K, H).double()
    out = torch.nn.Linear(H, N * A).double()

    def policy_step(
        features: torch.Tensor, inputs: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        h, c = cell(torch.cat([features, inputs.flatten(1)], -1), state)
        return out(h).reshape(-1, N, A), (h, c)

    step = Counting(policy_step, batch_arg=1)
    feats = torch.randn(T, F, generator=gen, dtype=torch.float64)
    actions = torch.randint(0, K, (T, N), generator=gen)
    prior = torch.randn(T, N, K, generator=gen, dtype=torch.float64)
    starts = starts_from(T, [0, 2])
    model = RecurrentTorchModel(
        step,
        feats,
        actions,
        prior_logits=prior,
        episode_starts=starts,
        initial_state=(torch.zeros(1, H).double(), torch.zeros(1, H).double()),
    )
    result = pairwise_influence(model, alignment="same_step", influencees=[0, 2])
    assert (step.calls, step.batches) == (T + 1, [1] * T + [T * N * K])
    pairwise_influence(model, alignment="same_step")
    assert step.calls == T + 2  # states are cached
    onehot = torch.nn.functional.one_hot(actions, K).double()
    states = lstm_real_states(policy_step, feats, onehot, starts, 1)
    expected = plain_influence(
        lstm_oracle(policy_step, feats, onehot, states, per_influencer=False, others=False),
        prior_oracle(prior),
        actions.numpy(),
        num_agents=N,
        alignment="same_step",
        influencees=[0, 2],
    )
    np.testing.assert_allclose(result.influence.numpy(), expected, rtol=1e-9, atol=1e-12)


def test_recurrent_independent_networks_per_agent(gen: torch.Generator) -> None:
    torch.manual_seed(6)
    moas = [LSTMMoa().double() for _ in range(N)]
    feats = torch.randn(T, N, F, generator=gen, dtype=torch.float64)
    actions = torch.randint(0, A, (T, N), generator=gen)
    prior = torch.randn(T, N, A, generator=gen, dtype=torch.float64)
    starts = starts_from(T, [0])
    model = RecurrentTorchModel(
        torch.nn.ModuleList(moas),
        feats,
        actions,
        prior_logits=prior,
        per_influencer=True,
        outputs="others",
        initial_state=(torch.zeros(N, H).double(), torch.zeros(N, H).double()),
        predicts_next_step=True,
    )
    result = pairwise_influence(model, alignment="next_step")
    onehot = torch.nn.functional.one_hot(actions, A).double()
    expected = np.zeros((T, N, N))
    for k in range(N):  # each agent's own network, its own plain-loop oracle
        states = lstm_real_states(moas[k], feats[:, k], onehot, starts, 1)
        cond = lstm_oracle(moas[k], feats[:, k], onehot, states, per_influencer=False, others=True)
        part = plain_influence(
            cond,
            prior_oracle(prior),
            actions.numpy(),
            num_agents=N,
            alignment="next_step",
            predicts_next=True,
            influencers=[k],
        )
        expected += part
    np.testing.assert_allclose(result.influence.numpy(), expected, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------------------------------
# pyro


def pyro_case(
    seed: int, t: int
) -> tuple[Callable[[], None], dict[str, torch.Tensor], dict[str, np.ndarray]]:
    """Random discrete model: root latent z, agent 0, latent relay w, agents 1 and 2."""
    import pyro
    import pyro.distributions as dist

    g = torch.Generator().manual_seed(seed)

    def logits(*shape: int) -> torch.Tensor:
        return 1.5 * torch.randn(*shape, generator=g, dtype=torch.float64)

    tab = {
        "z": logits(t, 2),
        "a0": logits(t, 2, K),
        "w": logits(t, K, 2),
        "a1": logits(t, 2, K, 2, K),
        "a2": logits(t, K, K, K),
    }
    ar = torch.arange(t)

    def program() -> None:
        with pyro.plate("steps", t):
            z = pyro.sample("z", dist.Categorical(logits=tab["z"]))
            a0 = pyro.sample("a0", dist.Categorical(logits=tab["a0"][ar, z]))
            w = pyro.sample("w", dist.Categorical(logits=tab["w"][ar, a0]))
            a1 = pyro.sample("a1", dist.Categorical(logits=tab["a1"][ar, z, a0, w]))
            pyro.sample("a2", dist.Categorical(logits=tab["a2"][ar, a0, a1]))

    observed = {s: torch.randint(0, K, (t,), generator=g) for s in ("a0", "a1", "a2")}
    probs = {name: torch.softmax(v, -1).numpy() for name, v in tab.items()}
    return program, observed, probs


def pyro_tables(
    probs: dict[str, np.ndarray], obs: dict[str, np.ndarray], t: int
) -> tuple[np.ndarray, np.ndarray]:
    """The same model as explicit tables, derived by hand with numpy (K = A = 3)."""
    cond = np.full((t, 3, 3, K, K), 1.0 / K)
    prior = np.zeros((t, 3, K))
    for s in range(t):
        pz, p0, pw, p1, p2 = (probs[n][s] for n in ("z", "a0", "w", "a1", "a2"))
        a0, a1 = int(obs["a0"][s]), int(obs["a1"][s])

        # p(a1 | do(a0 = c)) = sum_z p(z) sum_w p(w | c) p(a1 | z, c, w)
        def a1_given(
            c: int, pz_: np.ndarray, pw: np.ndarray = pw, p1: np.ndarray = p1
        ) -> np.ndarray:
            return np.einsum("z,w,zwa->a", pz_, pw[c], p1[:, c])

        post_z = pz * p0[:, a0] / (pz * p0[:, a0]).sum()  # z given the observed a0
        for c in range(K):
            cond[s, 0, 1, c] = a1_given(c, pz)
            cond[s, 0, 2, c] = p2[c, a1]  # a1 observed, upstream factors cancel
            cond[s, 1, 2, c] = p2[a0, c]
            cond[s, 1, 0, c] = pz @ p0  # a0 is upstream of a1: no effect
            cond[s, 2, 0, c] = pz @ p0
            cond[s, 2, 1, c] = a1_given(a0, post_z)  # a2 is downstream of a1: no effect
        prior[s, 0] = pz @ p0
        prior[s, 1] = a1_given(a0, post_z)
        prior[s, 2] = p2[a0, a1]
    return cond, prior


def test_pyro_agrees_with_explicit_tables() -> None:
    t = 4
    for seed in (0, 1):
        program, observed, probs = pyro_case(seed, t)
        model = PyroModel(program, ["a0", "a1", "a2"], observed=observed)
        obs_np = {k: v.numpy() for k, v in observed.items()}
        cond, prior = pyro_tables(probs, obs_np, t)
        values = np.stack([obs_np["a0"], obs_np["a1"], obs_np["a2"]], -1)
        np.testing.assert_allclose(
            model.influencer_logits([0, 1, 2]).exp().numpy(), prior, rtol=1e-9
        )
        got_cf = model.counterfactual_logits([0, 1, 2], [0, 1, 2]).exp().numpy()
        off = ~np.eye(3, dtype=bool)
        np.testing.assert_allclose(got_cf[:, off], cond[:, off], rtol=1e-9, atol=1e-12)
        table = TabularModel.from_probabilities(cond, prior, values)
        for kind in ("kl", "jsd"):
            expected = pairwise_influence(table, alignment="same_step", divergence=kind)
            got = pairwise_influence(model, alignment="same_step", divergence=kind)
            np.testing.assert_allclose(
                got.influence.numpy(), expected.influence, rtol=1e-8, atol=1e-12
            )
        assert np.abs(got.influence.numpy()[:, 1, 0]).max() <= 1e-12  # upstream: no influence


def test_pyro_intervention_is_not_conditioning() -> None:
    # z -> a0 and z -> a1, a0 -> a1. Under do(a0) z keeps its prior; conditioning on a0 would
    # update z and give a different influencee distribution.
    import pyro
    import pyro.distributions as dist

    def program() -> None:
        with pyro.plate("steps", 1):
            z = pyro.sample("z", dist.Bernoulli(torch.tensor([0.5])))
            a0 = pyro.sample("a0", dist.Bernoulli(0.1 + 0.8 * z))
            pyro.sample("a1", dist.Bernoulli(0.5 * z + 0.4 * a0))

    model = PyroModel(
        program, ["a0", "a1"], observed={"a0": torch.tensor([1.0]), "a1": torch.tensor([0.0])}
    )
    p = model.counterfactual_logits([0], [1]).exp()[0, 0, 0]
    # do(a0 = c): p(a1 = 1) = 0.5 * 0.5 + 0.4 c
    np.testing.assert_allclose(p[:, 1].numpy(), [0.25, 0.65], rtol=1e-6)
    np.testing.assert_allclose(
        model.influencer_logits([0]).exp()[0, 0].numpy(), [0.5, 0.5], rtol=1e-6
    )


# ------------------------------------------------------------------------------------------
# errors and protocol


class BadModel:
    num_agents = 2
    num_steps = 3
    predicts_next_step = False

    def __init__(self, cf_shape: tuple[int, ...], values: np.ndarray | None = None) -> None:
        self.cf_shape = cf_shape
        self.values = np.zeros((3, 2), int) if values is None else values

    def counterfactual_logits(
        self, influencers: Sequence[int], influencees: Sequence[int]
    ) -> np.ndarray:
        return np.zeros(self.cf_shape)

    def influencer_logits(self, influencers: Sequence[int]) -> np.ndarray:
        return np.zeros((3, len(influencers), 2))

    def influencer_values(self, influencers: Sequence[int]) -> np.ndarray:
        return self.values[:, list(influencers)]


def test_protocol_is_satisfied_by_adapters_and_custom_objects() -> None:
    rng = np.random.default_rng(0)
    assert isinstance(TabularModel(*random_tables(rng, 2, 2, 2, 2)), JointPolicyModel)
    assert isinstance(BadModel((3, 2, 2, 2, 2)), JointPolicyModel)
    result = pairwise_influence(BadModel((3, 2, 2, 2, 2)), alignment="same_step")
    assert isinstance(result, InfluenceResult)
    assert result.agent_ids == ("agent_0", "agent_1")


def test_errors() -> None:
    rng = np.random.default_rng(0)
    model = TabularModel(*random_tables(rng, 3, 2, 2, 2))
    with pytest.raises(ConfigError, match="alignment"):
        pairwise_influence(model, alignment="same")
    with pytest.raises(ConfigError, match="divergence"):
        pairwise_influence(model, alignment="same_step", divergence="hellinger")
    with pytest.raises(ConfigError, match="influencee_actions"):
        pairwise_influence(model, alignment="same_step", divergence="pmi")
    with pytest.raises(ShapeError, match="influencee_actions"):
        pairwise_influence(
            model, alignment="same_step", divergence="pmi", influencee_actions=np.zeros((3, 3), int)
        )
    with pytest.raises(ShapeError, match="visible"):
        pairwise_influence(model, alignment="same_step", visible=np.ones((3, 2)))
    with pytest.raises(ConfigError, match="one of them"):
        pairwise_influence(
            model, alignment="next_step", episode_starts=np.ones(3, bool), dones=np.ones(3, bool)
        )
    with pytest.raises(ShapeError, match="dones"):
        pairwise_influence(model, alignment="next_step", dones=np.ones(4, bool))
    with pytest.raises(ConfigError, match="influencers"):
        pairwise_influence(model, alignment="same_step", influencers=[0, 2])
    with pytest.raises(ConfigError, match="influencees"):
        pairwise_influence(model, alignment="same_step", influencees=["agent_7"])
    with pytest.raises(ConfigError, match="agent_ids"):
        pairwise_influence(model, alignment="same_step", agent_ids=["a", "a"])
    with pytest.raises(DTypeError, match="JointPolicyModel"):
        pairwise_influence(object(), alignment="same_step")  # type: ignore[arg-type]
    moa = TabularModel(*random_tables(rng, 3, 2, 2, 2), predicts_next_step=True)
    with pytest.raises(ConfigError, match="predicts_next_step"):
        pairwise_influence(moa, alignment="same_step")
    with pytest.raises(ModelError, match="counterfactual_logits"):
        pairwise_influence(BadModel((3, 2, 2, 2)), alignment="same_step")
    with pytest.raises(ModelError, match="influencer_logits"):
        pairwise_influence(BadModel((3, 2, 2, 3, 2)), alignment="same_step")
    with pytest.raises(ModelError, match="influencer_values"):
        pairwise_influence(BadModel((3, 2, 2, 2, 2), np.full((3, 2), 2)), alignment="same_step")


def test_adapter_errors() -> None:
    rng = np.random.default_rng(0)
    cf, prior, values = random_tables(rng, 3, 2, 2, 2)
    with pytest.raises(ShapeError, match="prior_logits"):
        TabularModel(cf, prior[:, :, :1], values)
    with pytest.raises(ConfigError, match="values"):
        TabularModel(cf, prior, values + 2)
    with pytest.raises(InvalidDistributionError):
        TabularModel(np.full_like(cf, np.nan), prior, values)
    with pytest.raises(InvalidDistributionError, match="probabilities"):
        TabularModel.from_probabilities(np.full_like(cf, 0.7), np.full_like(prior, 0.5), values)
    with pytest.raises(DTypeError):
        TabularModel(cf, torch.tensor(prior), values)
    acts = torch.zeros(3, 2, dtype=torch.long)
    pri = torch.zeros(3, 2, 2)
    with pytest.raises(ShapeError, match="features"):
        TorchModel(lambda f, x: x, torch.zeros(4, 1), acts, prior_logits=pri)
    with pytest.raises(ShapeError, match="inputs"):
        TorchModel(lambda f, x: x, None, acts[:, :1], prior_logits=pri)
    with pytest.raises(ConfigError, match="values"):
        TorchModel(lambda f, x: x, None, torch.zeros(3, 2, 2), prior_logits=pri)
    with pytest.raises(ConfigError, match="outputs"):
        TorchModel(lambda f, x: x, None, acts, prior_logits=pri, outputs="mine")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="per_influencer"):
        TorchModel([lambda f, x: x] * 2, None, acts, prior_logits=pri)
    bad_head = TorchModel(lambda f, x: x[:, :1], None, acts, prior_logits=pri)
    with pytest.raises(ModelError, match="head"):
        pairwise_influence(bad_head, alignment="same_step")
    with pytest.raises(ShapeError, match="initial_state"):
        RecurrentTorchModel(
            lambda f, x, s: (x, s), None, acts, prior_logits=pri, initial_state=torch.zeros(2, 3)
        )
    no_pair = RecurrentTorchModel(
        lambda f, x, s: x, None, acts, prior_logits=pri, initial_state=torch.zeros(1, 3)
    )
    with pytest.raises(ModelError, match="pair"):
        pairwise_influence(no_pair, alignment="same_step")
    with pytest.raises(ConfigError, match="values"):
        PyroModel(lambda: None, ["a0", "a1"])


def test_torch_adapters_share_their_option_defaults() -> None:
    """The torch adapters spell out the shared options in their own signatures (for help()
    and type checkers); TorchBase applies them once. Their defaults must agree."""
    import inspect

    from causal_influence.models.torch_base import OPTIONS

    adapters = (TorchModel, RecurrentTorchModel, LinearInputModel)
    signatures = [inspect.signature(cls.__init__).parameters for cls in adapters]
    for name in OPTIONS:
        defaults = {p[name].default for p in signatures if name in p}
        kinds = {p[name].kind for p in signatures if name in p}
        assert len(defaults) == 1, (name, defaults)
        assert kinds == {inspect.Parameter.KEYWORD_ONLY}, (name, kinds)
    assert all(len([p for p in signatures if name in p]) >= 2 for name in OPTIONS)
