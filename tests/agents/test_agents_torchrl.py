"""The TorchRL adapter on real TorchRL rollouts of our Harvest env (PettingZooWrapper).

A small centralised policy acts in ``torchrl.envs.PettingZooWrapper(harvest.parallel_env(...))``:
agent 0 acts first, the other agents' logits read its action, and the policy writes its logits,
actions and counterfactual logits (the other agents' logits under every action of agent 0)
into the tensordict as any TorchRL policy module would. The adapter's reward must equal the
core helper on the same arrays, taken out of the tensordict by hand, with the episode
boundaries that TorchRL recorded.
"""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("torchrl")

from tensordict import TensorDict
from torchrl.envs import PettingZooWrapper

from agents.torchrl import add_influence_reward, influence_reward_from_tensordict
from causal_influence.errors import ConfigError, ShapeError
from causal_influence.rewards import influence_reward
from envs import harvest

N, A, MAX_CYCLES, STEPS = 3, 8, 4, 7


class CentralisedPolicy:
    """Agent 0 acts first; agents j >= 1 add ``u[j, a_0]`` to logits computed from their view."""

    def __init__(self, view_size: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.w = torch.randn(N, view_size, A, generator=g) * 0.3
        self.u = torch.randn(N, A, A, generator=g) * 2.0
        self.u[0] = 0.0
        self.g = g

    def __call__(self, td):
        view = td["agent", "observation", "view"].float().flatten(-3)  # [N, V]
        base = torch.einsum("nv,nva->na", view, self.w)
        a0 = torch.multinomial(base[0].softmax(-1), 1, generator=self.g)[0]
        # cf[k, j, c] = j's logits if agent 0 had played c (rows k != 0 stay 0: not computed)
        cf = torch.zeros(N, N, A, A)
        cf[0] = base[:, None, :] + self.u
        logits = cf[0, torch.arange(N), a0]
        logits[0] = base[0]
        actions = torch.multinomial(logits.softmax(-1), 1, generator=self.g)[:, 0]
        actions[0] = a0
        td.set(("agent", "logits"), logits)
        td.set(("agent", "action"), actions)
        td.set(("agent", "counterfactual_logits"), cf)
        return td


def rollout(seed: int):
    env = PettingZooWrapper(
        harvest.parallel_env(
            map="small_harvest",
            num_agents=N,
            obs_type="symbolic",
            view_radius=2,
            max_cycles=MAX_CYCLES,
        ),
        seed=seed,
    )
    assert env.group_map == {"agent": [f"agent_{i}" for i in range(N)]}
    view_size = int(
        torch.Size(env.observation_spec["agent", "observation", "view"].shape[1:]).numel()
    )
    policy = CentralisedPolicy(view_size, seed)
    td = env.rollout(STEPS, policy=policy, break_when_any_done=False)
    env.close()
    return td


@pytest.fixture(scope="module")
def batches():
    return rollout(0), rollout(1)


def by_hand(td, **kw):
    """The core helper on the arrays taken out of a [T] tensordict."""
    return influence_reward(
        td["agent", "counterfactual_logits"],
        td["agent", "logits"],
        td["agent", "action"],
        dones=td["next", "done"][:, 0],
        **kw,
    )


def test_rollout_has_the_layout_the_adapter_reads(batches) -> None:
    td = batches[0]
    assert td.batch_size == torch.Size([STEPS])
    assert td["agent", "counterfactual_logits"].shape == (STEPS, N, N, A, A)
    assert td["next", "agent", "reward"].shape == (STEPS, N, 1)
    # the episode is truncated after MAX_CYCLES steps and TorchRL resets it
    assert td["next", "done"][:, 0].tolist() == [i == MAX_CYCLES - 1 for i in range(STEPS)]


def test_added_reward_equals_the_core_helper_same_step(batches) -> None:
    td = batches[0].clone()
    before = td["next", "agent", "reward"].clone()
    expected = by_hand(td, alignment="same_step", influencers=[0])
    assert float(expected[:, 0].min()) > 0  # agent 0 influences the others at every step
    assert torch.all(expected[:, 1:] == 0)
    out = add_influence_reward(td, influence_coef=0.25, alignment="same_step", influencers=[0])
    assert out is td
    torch.testing.assert_close(td["next", "agent", "reward"], before + 0.25 * expected[..., None])
    torch.testing.assert_close(td["next", "agent", "influence_reward"], expected[..., None])


def test_next_step_alignment_respects_the_episode_boundary(batches) -> None:
    td = batches[0]
    got = influence_reward_from_tensordict(td, alignment="next_step", influencers=[0])
    torch.testing.assert_close(got, by_hand(td, alignment="next_step", influencers=[0]))
    assert torch.all(got[MAX_CYCLES - 1] == 0)  # the episode ended there
    assert torch.all(got[-1] == 0)  # the step after the batch is unknown
    assert float(got[: MAX_CYCLES - 1, 0].min()) > 0
    moa = influence_reward_from_tensordict(
        td, alignment="next_step", predicts_next_step=True, influencers=[0]
    )
    torch.testing.assert_close(
        moa, by_hand(td, alignment="next_step", predicts_next_step=True, influencers=[0])
    )
    assert float(moa[-1, 0]) > 0  # a MOA credits the last step of a continuing episode


def test_batch_of_rollouts_with_time_last(batches) -> None:
    stacked = torch.stack(list(batches), dim=0)  # [B=2, T]
    assert stacked.batch_size == torch.Size([2, STEPS])
    got = influence_reward_from_tensordict(stacked, alignment="same_step", influencers=[0])
    assert got.shape == (2, STEPS, N)
    for b, td in enumerate(batches):
        torch.testing.assert_close(got[b], by_hand(td, alignment="same_step", influencers=[0]))
    # time named explicitly, first
    swapped = stacked.transpose(0, 1)
    swapped.refine_names("time", None)
    torch.testing.assert_close(
        influence_reward_from_tensordict(swapped, alignment="same_step", influencers=[0]),
        got.transpose(0, 1),
    )


def test_visibility_and_per_agent_done_keys(batches) -> None:
    td = batches[1]
    visible = td["agent", "observation", "visible"].bool()  # [T, N, N]: j in k's view
    got = influence_reward_from_tensordict(
        td,
        alignment="same_step",
        influencers=[0],
        visible_key=("observation", "visible"),
        done_key=("next", "agent", "done"),
    )
    expected = influence_reward(
        td["agent", "counterfactual_logits"],
        td["agent", "logits"],
        td["agent", "action"],
        alignment="same_step",
        influencers=[0],
        visible=visible,
    )
    torch.testing.assert_close(got, expected)


def test_missing_keys_and_bad_shapes_raise_typed_errors() -> None:
    td = TensorDict({"agent": {"logits": torch.zeros(3, 2, 2)}}, batch_size=[3])
    with pytest.raises(ConfigError, match="counterfactual logits"):
        influence_reward_from_tensordict(td, alignment="same_step")
    td.set(("agent", "counterfactual_logits"), torch.zeros(3, 2, 2, 2, 2))
    td.set(("agent", "action"), torch.zeros(3, 2, dtype=torch.long))
    td.set(("next", "done"), torch.zeros(3, 2, dtype=torch.bool))
    with pytest.raises(ShapeError, match="done"):
        influence_reward_from_tensordict(td, alignment="same_step")
    td.set(("next", "done"), torch.zeros(3, 1, dtype=torch.bool))
    td.set(("next", "agent", "reward"), torch.zeros(3, 5))
    with pytest.raises(ShapeError, match="reward"):
        add_influence_reward(td, influence_coef=1.0, alignment="same_step")
