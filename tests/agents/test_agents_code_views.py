"""Networks fed views of cell codes (``obs_type="codes"``) compute what they compute on the
symbolic one-hot views of the same steps: the code table is the input layer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.config import TrainConfig
from agents.networks import MultiAgentNet, NetSpec
from agents.trainer import Trainer
from causal_influence.errors import ConfigError
from envs import code_table, harvest_config, make_vector

N = 3


def env_views(steps: int, obs_type: str) -> tuple[np.ndarray, np.ndarray]:
    """(T, B, N, S, S, C) views and (T, B, N) messages of a seeded random run."""
    venv = make_vector(
        "cleanup",
        2,
        seed=4,
        map="small_cleanup",
        num_agents=N,
        num_symbols=3,
        hit_timeout=2,
        beams_in_obs=True,
        obs_type=obs_type,
    )
    obs = venv.reset()
    rng = np.random.default_rng(0)
    views, messages = [], []
    for _ in range(steps):
        views.append(obs["view"])
        messages.append(obs["messages"])
        acts = np.stack([rng.integers(0, 9, (2, N)), rng.integers(0, 3, (2, N))], axis=-1)
        obs, *_ = venv.step(acts)
    return np.stack(views), np.stack(messages)


def pair(setting: str) -> tuple[MultiAgentNet, MultiAgentNet]:
    """The same network (same seed) built for symbolic views and for code views."""
    table = code_table(N, True)
    common = {
        "num_agents": N,
        "num_actions": 9,
        "setting": setting,
        "num_symbols": 3,
        "fc_hiddens": (16, 8),
        "lstm_size": 12,
        "obs_scale": 1.0,
    }
    sym = MultiAgentNet(NetSpec(view_shape=(15, 15, table.shape[1]), **common), rng=0)
    codes = MultiAgentNet(
        NetSpec(view_shape=(15, 15, 1), code_table=tuple(map(tuple, table.tolist())), **common),
        rng=0,
    )
    return sym, codes


@pytest.mark.parametrize("setting", ["comm", "moa"])
def test_same_outputs_as_one_hot_input(setting: str) -> None:
    sym_views, messages = env_views(12, "symbolic")
    code_views, messages2 = env_views(12, "codes")
    assert np.array_equal(messages, messages2)
    sym, codes = pair(setting)
    assert sym.state_dict().keys() == codes.state_dict().keys()  # checkpoints interchangeable
    for name, value in sym.state_dict().items():
        assert torch.equal(value, codes.state_dict()[name]), name
    x_sym, x_codes = torch.from_numpy(sym_views), torch.from_numpy(code_views)
    msgs = torch.from_numpy(messages)
    with torch.no_grad():
        for t in range(3):
            state = sym.initial_state(2)
            a = sym.act(x_sym[t], state, messages=msgs[t], greedy=True)
            b = codes.act(x_codes[t], state, messages=msgs[t], greedy=True)
            assert torch.equal(a.logits, b.logits)
            assert torch.equal(a.cf_logits, b.cf_logits)
    starts = torch.zeros(12, 2, dtype=torch.bool)
    starts[0] = True
    actions = torch.randint(0, 9, (12, 2, N), generator=torch.Generator().manual_seed(1))
    out_sym = sym.forward_sequence(
        x_sym, starts, sym.initial_state(2), actions=actions, messages=msgs
    )
    out_codes = codes.forward_sequence(
        x_codes, starts, codes.initial_state(2), actions=actions, messages=msgs
    )
    assert torch.equal(out_sym.logits, out_codes.logits)
    out_codes.logits.sum().backward()  # gradients flow through the looked-up input
    assert codes.conv.weight.grad is not None


def test_code_table_needs_a_view_of_codes() -> None:
    with pytest.raises(ConfigError, match="code_table: expected rows of one positive width"):
        NetSpec(num_agents=2, view_shape=(5, 5, 3), num_actions=4, code_table=((0, 1), (1, 0)))


def test_trainer_runs_on_code_views() -> None:
    env = harvest_config(map="small_harvest", num_agents=2, obs_type="codes", max_cycles=16)
    config = TrainConfig(env=env, setting="moa", num_envs=2, rollout_length=8, tensorboard=False)
    trainer = Trainer(config)
    assert trainer.net.spec.view_shape == (15, 15, 1)
    assert trainer.net.spec.in_channels == 4 + 2
    before = [p.detach().clone() for p in trainer.net.parameters()]
    for _ in range(2):
        trainer.update()
    assert trainer.env_steps == 32
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.net.parameters(), strict=True))
