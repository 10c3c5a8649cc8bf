"""The environment axis of the engine and the torch adapters, and the linear-input adapter.

Oracles: every environment of a batch run alone (no environment axis), and the generic
recurrent adapter re-running the whole step for every counterfactual."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from causal_influence.engine import pairwise_influence
from causal_influence.errors import ConfigError, DTypeError, ModelError, ShapeError
from causal_influence.models import (
    LinearInputModel,
    RecurrentTorchModel,
    TabularModel,
    TorchModel,
)

T, B, N, A, F, H = 9, 3, 3, 4, 5, 6


def data(seed: int = 0) -> dict[str, Any]:
    g = torch.Generator().manual_seed(seed)
    starts = np.zeros((T, B), dtype=bool)
    starts[0] = True
    starts[4, 0] = starts[6, 2] = starts[1, 1] = True  # episodes end at other steps per env
    return {
        "actions": torch.randint(0, A, (T, B, N), generator=g),
        "prior": torch.randn(T, B, N, A, generator=g),
        "feats": torch.randn(T, B, N, F, generator=g),
        "shared": torch.randn(T, B, F, generator=g),
        "visible": torch.rand(T, B, N, N, generator=g) < 0.7,
        "starts": starts,
    }


def ego_order() -> torch.Tensor:
    """Row k: agent k first, then the others in index order."""
    return torch.tensor([[k] + [j for j in range(N) if j != k] for k in range(N)])


class MOA(torch.nn.Module):
    """A recurrent model of the other agents: own action first, shared weights, any cell."""

    def __init__(self, cell: torch.nn.Module, features: int = F) -> None:
        super().__init__()
        self.cell = cell
        self.out = torch.nn.Linear(H, (N - 1) * A)
        self.features = features
        self.register_buffer("order", ego_order())

    def step(self, feats: Any, inputs: Any, state: Any, agents: Any) -> tuple[Any, Any]:
        b = inputs.shape[0]
        ordered = inputs[torch.arange(b)[:, None], self.order[agents]]
        x = ordered.flatten(1) if feats is None else torch.cat([feats, ordered.flatten(1)], -1)
        if isinstance(self.cell, torch.nn.LSTM):
            _, (h, c) = self.cell(x[None], (state[0][None], state[1][None]))
            new: Any = (h[0], c[0])
        else:
            new = self.cell(x, state)
        h = new[0] if isinstance(new, tuple) else new
        return self.head(h), new

    def head(self, h: Any, agents: Any = None) -> Any:
        return self.out(h).reshape(-1, N - 1, A)


def initial(cell: torch.nn.Module, streams: int) -> Any:
    zeros = torch.zeros(streams, H)
    return (zeros, zeros.clone()) if isinstance(cell, (torch.nn.LSTMCell, torch.nn.LSTM)) else zeros


def moa_options(d: dict[str, Any], cell: torch.nn.Module, envs: slice | int | None) -> Any:
    """Constructor arguments for env ``envs`` alone (int), or the batch (None)."""
    pick = (lambda x: x) if envs is None else (lambda x: x[:, envs])
    return {
        "prior_logits": pick(d["prior"]),
        "initial_state": initial(cell, N),
        "per_influencer": True,
        "outputs": "others",
        "predicts_next_step": True,
        "pass_agent": True,
        "episode_starts": pick(d["starts"]),
    }


def test_recurrent_env_axis_equals_each_env_alone() -> None:
    torch.manual_seed(0)
    d = data()
    net = MOA(torch.nn.GRUCell(F + N * A, H))
    with torch.no_grad():
        batch = RecurrentTorchModel(
            net.step, d["feats"], d["actions"], **moa_options(d, net.cell, None)
        )
        assert (batch.num_steps, batch.num_envs) == (T, B)
        result = pairwise_influence(batch, alignment="next_step", visible=d["visible"])
        assert result.influence.shape == (T, B, N, N)
        assert result.valid.shape == (T, B)
        for b in range(B):
            alone = RecurrentTorchModel(
                net.step, d["feats"][:, b], d["actions"][:, b], **moa_options(d, net.cell, b)
            )
            assert alone.num_envs is None
            ref = pairwise_influence(alone, alignment="next_step", visible=d["visible"][:, b])
            torch.testing.assert_close(result.influence[:, b], ref.influence, atol=1e-6, rtol=0)
            assert np.array_equal(result.valid[:, b], ref.valid)
            torch.testing.assert_close(result.reward()[:, b], ref.reward(), atol=1e-6, rtol=0)
        # Next-step values never cross an episode end, in any environment.
        ends = np.roll(d["starts"], -1, axis=0)
        ends[-1] = True
        assert not result.valid[ends].any()
        # The states computed along time are the ones a recorded run passes back.
        recorded = batch.states().reshape(T, B, N, H)
        again = RecurrentTorchModel(
            net.step,
            d["feats"],
            d["actions"],
            states=recorded,
            **moa_options(d, net.cell, None),
        )
        torch.testing.assert_close(
            pairwise_influence(again, alignment="next_step").influence, result.influence
        )


def test_per_agent_networks_with_env_axis() -> None:
    """A sequence of N networks (per_influencer): each agent's stream of every environment."""
    torch.manual_seed(1)
    d = data(1)
    nets = [MOA(torch.nn.GRUCell(F + N * A, H)) for _ in range(N)]
    steps = torch.nn.ModuleList(nets)
    with torch.no_grad():
        batch = RecurrentTorchModel(
            [n.step for n in steps], d["feats"], d["actions"], **moa_options(d, nets[0].cell, None)
        )
        result = pairwise_influence(batch, alignment="next_step").influence
        for b in (0, 2):
            alone = RecurrentTorchModel(
                [n.step for n in steps],
                d["feats"][:, b],
                d["actions"][:, b],
                **moa_options(d, nets[0].cell, b),
            )
            ref = pairwise_influence(alone, alignment="next_step").influence
            torch.testing.assert_close(result[:, b], ref, atol=1e-6, rtol=0)


def test_torch_model_env_axis_and_result_tables() -> None:
    torch.manual_seed(2)
    d = data(2)
    lin = torch.nn.Linear(F + N * A, N * A)

    def head(features: Any, inputs: Any) -> Any:
        return lin(torch.cat([features, inputs.flatten(1)], -1)).reshape(-1, N, A)

    with torch.no_grad():
        model = TorchModel(head, d["shared"], d["actions"], prior_logits=d["prior"])
        result = pairwise_influence(
            model,
            alignment="same_step",
            divergence="pmi",
            influencee_actions=d["actions"],
            visible=d["visible"],
        )
        for b in range(B):
            alone = TorchModel(
                head, d["shared"][:, b], d["actions"][:, b], prior_logits=d["prior"][:, b]
            )
            ref = pairwise_influence(
                alone,
                alignment="same_step",
                divergence="pmi",
                influencee_actions=d["actions"][:, b],
                visible=d["visible"][:, b],
            )
            torch.testing.assert_close(result.influence[:, b], ref.influence)
    table = result.to_dataframe()
    assert list(table.columns[:2]) == ["t", "env"]
    assert len(table) == T * B * N * (N - 1)
    row = table.iloc[7]
    k, j = int(row["influencer"][-1]), int(row["influencee"][-1])
    expected = result.masked()[int(row["t"]), int(row["env"]), k, j]
    assert row["influence"] == pytest.approx(float(expected))
    mean = result.mean()
    torch.testing.assert_close(mean, result.masked().reshape(-1, N, N).mean(0))


CELLS = {
    "lstm_cell": lambda: torch.nn.LSTMCell(F + N * A, H),
    "gru_cell": lambda: torch.nn.GRUCell(F + N * A, H),
    "rnn_cell_relu": lambda: torch.nn.RNNCell(F + N * A, H, nonlinearity="relu"),
    "lstm_layer": lambda: torch.nn.LSTM(F + N * A, H),
    "gru_no_bias": lambda: torch.nn.GRUCell(F + N * A, H, bias=False),
}


@pytest.mark.parametrize("kind", sorted(CELLS))
@pytest.mark.parametrize("envs", [None, "batch"])
def test_linear_input_equals_rerunning_the_step(kind: str, envs: str | None) -> None:
    torch.manual_seed(3)
    d = data(3)
    net = MOA(CELLS[kind]())
    pick: Any = (lambda x: x) if envs else (lambda x: x[:, 1])
    opts = moa_options(d, net.cell, None if envs else 1)
    with torch.no_grad():
        plain = RecurrentTorchModel(net.step, pick(d["feats"]), pick(d["actions"]), **opts)
        fast = LinearInputModel(
            net.cell,
            net.head,
            pick(d["feats"]),
            pick(d["actions"]),
            input_order=net.order,
            **opts,
        )
        assert fast.num_envs == plain.num_envs
        a = pairwise_influence(fast, alignment="next_step").influence
        b = pairwise_influence(plain, alignment="next_step").influence
        torch.testing.assert_close(a, b, atol=2e-6, rtol=1e-5)
        assert float(b.abs().max()) > 1e-3  # a real signal was compared
        cf_fast = fast.counterfactual_logits([0, 2], [1])
        cf_plain = plain.counterfactual_logits([0, 2], [1])
        torch.testing.assert_close(cf_fast, cf_plain, atol=2e-6, rtol=1e-5)


def test_linear_input_shared_stream_recorded_states_and_grad() -> None:
    """A centralised policy (one stream, no features), same-step alignment; recorded states;
    gradients flow into the cell's weights."""
    torch.manual_seed(4)
    d = data(4)
    cell = torch.nn.LSTMCell(N * A, H)
    out = torch.nn.Linear(H, N * A)

    def head(h: Any) -> Any:
        return out(h).reshape(-1, N, A)

    def step(features: Any, inputs: Any, state: Any) -> tuple[Any, Any]:
        h, c = cell(inputs.flatten(1), state)
        return head(h), (h, c)

    state0 = (torch.zeros(1, H), torch.zeros(1, H))
    opts = {"prior_logits": d["prior"], "initial_state": state0, "episode_starts": d["starts"]}
    with torch.no_grad():
        plain = RecurrentTorchModel(step, None, d["actions"], **opts)
        ref = pairwise_influence(plain, alignment="same_step").influence
        recorded = tuple(v.reshape(T, B, 1, H) for v in plain.states())
    fast = LinearInputModel(cell, head, None, d["actions"], states=recorded, grad=True, **opts)
    got = pairwise_influence(fast, alignment="same_step").influence
    torch.testing.assert_close(got.detach(), ref, atol=2e-6, rtol=1e-5)
    got.sum().backward()
    assert cell.weight_ih.grad is not None
    assert float(cell.weight_ih.grad.abs().sum()) > 0


def test_env_axis_errors() -> None:
    d = data()
    net = MOA(torch.nn.GRUCell(F + N * A, H))
    opts = moa_options(d, net.cell, None)
    with pytest.raises(
        ShapeError, match=r"inputs: with an environment axis .* \(T, B\) = \(9, 3\)"
    ):
        RecurrentTorchModel(net.step, d["feats"], d["actions"][:2], **opts)
    with pytest.raises(ShapeError, match=r"states: expected tensors of leading shape \(T, B, S\)"):
        RecurrentTorchModel(net.step, d["feats"], d["actions"], states=torch.zeros(T, N, H), **opts)
    with pytest.raises(ShapeError, match=r"episode_starts: expected .*\(T, B\)"):
        RecurrentTorchModel(
            net.step, d["feats"], d["actions"], **{**opts, "episode_starts": np.ones(T, bool)}
        )
    model = RecurrentTorchModel(net.step, d["feats"], d["actions"], **opts)
    with pytest.raises(ShapeError, match=r"visible: expected .*\(T, B, N, N\)"):
        pairwise_influence(model, alignment="next_step", visible=d["visible"][:, 0])
    with pytest.raises(ShapeError, match="input_order: expected shape"):
        LinearInputModel(
            net.cell,
            net.head,
            d["feats"],
            d["actions"],
            input_order=torch.zeros(N, N, dtype=torch.long),
            **opts,
        )
    with pytest.raises(DTypeError, match="input_order: expected an integer tensor"):
        LinearInputModel(
            net.cell, net.head, d["feats"], d["actions"], input_order=[[0, 1, 2]], **opts
        )
    with pytest.raises(ConfigError, match=r"cell: expected a torch\.nn LSTMCell"):
        LinearInputModel(torch.nn.Linear(3, 3), net.head, d["feats"], d["actions"], **opts)
    with pytest.raises(ShapeError, match="initial_state: expected a pair"):
        LinearInputModel(
            torch.nn.LSTMCell(F + N * A, H), net.head, d["feats"], d["actions"], **opts
        )
    bad = LinearInputModel(torch.nn.GRUCell(N * A, H), net.head, d["feats"], d["actions"], **opts)
    with pytest.raises(ModelError, match=r"cell: expected an input size of F \+ N \* D"):
        pairwise_influence(bad, alignment="next_step")


def test_model_with_a_bad_num_envs_attribute() -> None:
    model = TabularModel(np.zeros((2, 2, 2, 2, 2)), np.zeros((2, 2, 2)), np.zeros((2, 2), int))
    model.num_envs = 0  # type: ignore[attr-defined]
    with pytest.raises(ModelError, match=r"model\.num_envs: expected a positive integer"):
        pairwise_influence(model, alignment="same_step")
