"""The BenchMARL callback through BenchMARL's own callback notifier, on a real TorchRL batch.

Skipped unless BenchMARL is installed (it is not part of ``make test``: BenchMARL 1.5.2 pins
torchrl<0.12; see agents/benchmarl.py). The batch is a rollout of MPE2's speaker and listener
through TorchRL's PettingZooWrapper (two groups); BenchMARL's ``CallbackNotifier`` calls the
callback as ``Experiment._collection_loop`` does, before ``process_batch`` (GAE).
"""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("benchmarl")
pytest.importorskip("mpe2")

from benchmarl.experiment.callback import Callback, CallbackNotifier

from agents.benchmarl import influence_callback
from agents.torchrl import influence_reward_from_tensordict

GROUPS, MAX_CYCLES, STEPS = ["speaker", "listener"], 5, 8


def rollout():
    """Speaker names the goal; the listener's logits read the symbol heard (obs[8:11])."""
    from mpe2 import simple_speaker_listener_v4
    from tensordict import TensorDict
    from torchrl.envs import PettingZooWrapper

    g = torch.Generator().manual_seed(0)
    w = torch.randn(3, 5, generator=g) * 3.0

    def policy(td):
        goal = td["speaker", "observation"]
        s_logits = 4.0 * (goal == goal.max(-1, keepdim=True).values).float()
        obs = td["listener", "observation"]
        heard = obs[:, None, :].repeat(1, 3, 1)
        heard[..., 8:] = torch.eye(3)
        cf = heard[..., 8:] @ w  # [1, c, 5]
        l_logits = obs[..., 8:] @ w
        td.set(("speaker", "logits"), s_logits)
        td.set(("speaker", "action"), torch.multinomial(s_logits.softmax(-1), 1, generator=g)[:, 0])
        td.set(("speaker", "counterfactual_logits"), TensorDict({"listener": cf[:, None]}, [1]))
        td.set(("listener", "logits"), l_logits)
        td.set(
            ("listener", "action"), torch.multinomial(l_logits.softmax(-1), 1, generator=g)[:, 0]
        )
        return td

    env = PettingZooWrapper(simple_speaker_listener_v4.parallel_env(max_cycles=MAX_CYCLES), seed=0)
    td = env.rollout(STEPS, policy=policy, break_when_any_done=False)
    env.close()
    return td


class FakeExperiment:
    n_iters_performed = 3

    def __init__(self) -> None:
        self.logged: list[tuple[dict[str, float], int]] = []
        self.logger = self

    def log(self, values: dict[str, float], step: int) -> None:
        self.logged.append((values, step))


@pytest.mark.filterwarnings("ignore")
def test_callback_adds_the_influence_before_gae() -> None:
    td = rollout()
    before = {g: td["next", g, "reward"].clone() for g in GROUPS}
    expected = influence_reward_from_tensordict(
        td, alignment="next_step", groups=GROUPS, influencers=["speaker"]
    )
    callback = influence_callback(
        influence_coef=0.25, alignment="next_step", groups=GROUPS, influencers=["speaker"]
    )
    assert isinstance(callback, Callback)
    experiment = FakeExperiment()
    notifier = CallbackNotifier(experiment, [callback])
    notifier._on_batch_collected(td)  # what Experiment._collection_loop calls
    for g in GROUPS:
        torch.testing.assert_close(
            td["next", g, "reward"], before[g] + 0.25 * expected[g][..., None]
        )
    assert float(expected["speaker"][: MAX_CYCLES - 1].min()) > 0
    assert len(callback.history) == 1
    assert callback.history[0]["speaker"] == pytest.approx(float(expected["speaker"].mean()))
    assert callback.history[0]["listener"] == 0.0
    assert experiment.logged[0][1] == 3
    assert td["next", "speaker", "influence_reward"].shape == (STEPS, 1, 1)
