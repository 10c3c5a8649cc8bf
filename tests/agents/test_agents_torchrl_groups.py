"""The TorchRL adapter on two agent groups: MPE2's speaker and listener through PettingZooWrapper.

TorchRL puts ``speaker_0`` and ``listener_0`` in two groups with different observation (3, 11)
and action (3, 5) sizes. A centralised policy acts in the real env: the speaker names the
goal landmark, the listener's logits read the symbol it heard one step earlier (the last three
entries of its observation), and the policy writes the listener's logits re-run on every
counterfactual symbol into ``("speaker", "counterfactual_logits", "listener")``. The adapter's
per-group reward must equal the core helper on the same arrays laid side by side by hand
(speaker = agent 0, listener = agent 1, padded with -inf), and the same data in one group must
give the same reward.
"""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("torchrl")
pytest.importorskip("mpe2")

from mpe2 import simple_speaker_listener_v4
from tensordict import TensorDict
from torchrl.envs import PettingZooWrapper

from agents.torchrl import add_influence_reward, influence_reward_from_tensordict
from causal_influence.errors import ConfigError, ShapeError
from causal_influence.rewards import influence_reward

MAX_CYCLES, STEPS, M, A = 6, 10, 3, 5
GROUPS = ["speaker", "listener"]


class SpeakerListenerPolicy:
    """The speaker says the goal (with noise); the listener's logits depend on the symbol heard."""

    def __init__(self, seed: int) -> None:
        self.g = torch.Generator().manual_seed(seed)
        self.w_heard = torch.randn(M, A, generator=self.g) * 2.0  # listener: symbol -> logits
        self.w_pos = torch.randn(8, A, generator=self.g) * 0.3  # listener: own features

    def listener_logits(self, obs: torch.Tensor) -> torch.Tensor:
        """[..., 11] observation -> [..., 5] logits; the symbol heard is obs[..., 8:11]."""
        return obs[..., :8] @ self.w_pos + obs[..., 8:] @ self.w_heard

    def __call__(self, td):
        goal = td["speaker", "observation"]  # [1, 3]: the goal landmark's colour
        speaker_logits = 3.0 * (goal == goal.max(-1, keepdim=True).values).float()
        symbol = torch.multinomial(speaker_logits.softmax(-1), 1, generator=self.g)[:, 0]
        obs = td["listener", "observation"]  # [1, 11]
        listener_logits = self.listener_logits(obs)
        heard = obs[:, None, :].repeat(1, M, 1)  # [1, c, 11]: the symbol heard replaced by c
        heard[..., 8:] = torch.eye(M)
        cf = self.listener_logits(heard)  # [1, c, 5]
        move = torch.multinomial(listener_logits.softmax(-1), 1, generator=self.g)[:, 0]
        td.set(("speaker", "logits"), speaker_logits)
        td.set(("speaker", "action"), symbol)
        td.set(("speaker", "counterfactual_logits"), TensorDict({"listener": cf[:, None]}, [1]))
        td.set(("listener", "logits"), listener_logits)
        td.set(("listener", "action"), move)
        return td


@pytest.fixture(scope="module")
def batch():
    env = PettingZooWrapper(simple_speaker_listener_v4.parallel_env(max_cycles=MAX_CYCLES), seed=0)
    assert env.group_map == {"speaker": ["speaker_0"], "listener": ["listener_0"]}
    td = env.rollout(STEPS, policy=SpeakerListenerPolicy(0), break_when_any_done=False)
    env.close()
    return td


def side_by_side(td):
    """Speaker = agent 0 (3 symbols), listener = agent 1 (5 actions), padded by hand."""
    logits = torch.full((STEPS, 2, A), -torch.inf)
    logits[:, 0, :M] = td["speaker", "logits"][:, 0]
    logits[:, 1] = td["listener", "logits"][:, 0]
    actions = torch.stack([td["speaker", "action"][:, 0], td["listener", "action"][:, 0]], -1)
    cf = torch.zeros(STEPS, 2, 2, A, A)
    cf[:, 0, 1, :M] = td["speaker", "counterfactual_logits", "listener"][:, 0, 0]
    return cf, logits, actions, td["next", "done"][:, 0]


def test_two_groups_have_the_layout_the_adapter_reads(batch) -> None:
    assert batch["speaker", "observation"].shape == (STEPS, 1, 3)
    assert batch["listener", "observation"].shape == (STEPS, 1, 11)
    assert batch["speaker", "counterfactual_logits", "listener"].shape == (STEPS, 1, 1, M, A)
    # the listener hears the previous step's symbol (reset in between)
    heard = batch["listener", "observation"][1:, 0, 8:].argmax(-1)
    said = batch["speaker", "action"][:-1, 0]
    starts = [t for t in range(1, STEPS) if not bool(batch["next", "done"][t - 1, 0])]
    assert starts
    assert heard[[t - 1 for t in starts]].tolist() == said[[t - 1 for t in starts]].tolist()


def test_reward_per_group_equals_the_core_helper(batch) -> None:
    cf, logits, actions, dones = side_by_side(batch)
    expected = influence_reward(
        cf, logits, actions, alignment="next_step", dones=dones, influencers=[0]
    )
    got = influence_reward_from_tensordict(
        batch, alignment="next_step", groups=GROUPS, influencers=["speaker"]
    )
    assert set(got) == set(GROUPS)
    assert got["speaker"].shape == (STEPS, 1)
    torch.testing.assert_close(got["speaker"][:, 0], expected[:, 0])
    torch.testing.assert_close(got["listener"][:, 0], expected[:, 1])
    # messages heard within the episode are influential; the episode's last one is not
    end = MAX_CYCLES - 1
    assert float(got["speaker"][:end, 0].min()) > 0.01
    assert float(got["speaker"][end, 0]) == 0.0
    assert torch.all(got["listener"] == 0)  # no counterfactuals of the listener were given
    # the same by index, and with every agent as a candidate influencer
    torch.testing.assert_close(
        influence_reward_from_tensordict(
            batch, alignment="next_step", groups=GROUPS, influencers=[0]
        )["speaker"],
        got["speaker"],
    )
    torch.testing.assert_close(
        influence_reward_from_tensordict(batch, alignment="next_step", groups=GROUPS)["speaker"],
        got["speaker"],
    )


def test_one_group_and_two_groups_agree(batch) -> None:
    cf, logits, actions, dones = side_by_side(batch)
    one = TensorDict(
        {
            "agent": {"logits": logits, "action": actions, "counterfactual_logits": cf},
            "next": {"done": dones[:, None]},
        },
        batch_size=[STEPS],
    )
    single = influence_reward_from_tensordict(one, alignment="next_step", influencers=[0])
    two = influence_reward_from_tensordict(batch, alignment="next_step", groups=GROUPS)
    torch.testing.assert_close(torch.cat([two["speaker"], two["listener"]], -1), single)


def test_added_to_each_groups_reward(batch) -> None:
    td = batch.clone()
    before = {g: td["next", g, "reward"].clone() for g in GROUPS}
    influence = influence_reward_from_tensordict(td, alignment="next_step", groups=GROUPS)
    out = add_influence_reward(td, influence_coef=0.5, alignment="next_step", groups=GROUPS)
    assert out is td
    for g in GROUPS:
        torch.testing.assert_close(
            td["next", g, "reward"], before[g] + 0.5 * influence[g][..., None]
        )
        torch.testing.assert_close(td["next", g, "influence_reward"], influence[g][..., None])


def test_batch_of_two_rollouts_time_last(batch) -> None:
    stacked = torch.stack([batch, batch], dim=0)  # [2, T]
    got = influence_reward_from_tensordict(stacked, alignment="next_step", groups=GROUPS)
    ref = influence_reward_from_tensordict(batch, alignment="next_step", groups=GROUPS)
    assert got["speaker"].shape == (2, STEPS, 1)
    for b in range(2):
        torch.testing.assert_close(got["speaker"][b], ref["speaker"])


def test_group_errors_are_typed_and_name_the_fix(batch) -> None:
    with pytest.raises(ConfigError, match="distinct group names"):
        influence_reward_from_tensordict(batch, alignment="next_step", groups="speaker")
    with pytest.raises(ConfigError, match="names of the groups"):
        influence_reward_from_tensordict(
            batch, alignment="next_step", groups=GROUPS, influencers=["talker"]
        )
    with pytest.raises(ConfigError, match="only with groups"):
        influence_reward_from_tensordict(
            batch, alignment="next_step", group="speaker", influencers=["speaker"]
        )
    with pytest.raises(ConfigError, match="visible_key"):
        influence_reward_from_tensordict(
            batch, alignment="next_step", groups=GROUPS, visible_key="visible"
        )
    td = batch.clone()
    td.set(("speaker", "counterfactual_logits", "listener"), torch.zeros(STEPS, 1, 1, 2, A))
    with pytest.raises(ShapeError, match=r"had 'speaker' agent k taken value c"):
        influence_reward_from_tensordict(td, alignment="next_step", groups=GROUPS)
    td = batch.clone()
    td.set(("speaker", "counterfactual_logits", "critic"), torch.zeros(STEPS, 1, 1, M, A))
    with pytest.raises(ConfigError, match="influencee groups"):
        influence_reward_from_tensordict(td, alignment="next_step", groups=GROUPS)
    td = batch.exclude(("speaker", "counterfactual_logits"))
    with pytest.raises(ConfigError, match="at least one of the groups"):
        influence_reward_from_tensordict(td, alignment="next_step", groups=GROUPS)
    with pytest.raises(ConfigError, match="'listener'"):
        influence_reward_from_tensordict(
            batch.exclude(("listener", "logits")), alignment="next_step", groups=GROUPS
        )
