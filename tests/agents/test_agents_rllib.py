"""The RLlib plug point: episode conversion (fast) and a real PPO run on MPE2 (slow).

The fast tests build ``MultiAgentEpisode``s by hand, as RLlib's env runner fills them (actions,
rewards and the modules' extra outputs per agent and step), and check the trajectory, the
influence against closed forms and the reward added in place. The slow test trains RLlib's PPO
for one iteration on MPE2's ``simple_speaker_listener`` with a listener module that writes its
logits re-run under every symbol the speaker could have said; the recorder callback must give
trajectories whose influence is the core's on those logits, and the learner connector must add
exactly ``influence_coef`` times that influence to the rewards the learner sees.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ray.rllib")

from ray.rllib.env.multi_agent_episode import MultiAgentEpisode

from agents.rllib import (
    add_influence_to_episode,
    episode_arrays,
    episode_influence,
    episodes_to_trajectory,
    read_episodes,
)
from causal_influence.counterfactual import influence
from causal_influence.errors import ConfigError, ShapeError
from causal_influence.trajectory import InfluenceSpec
from causal_influence.trajectory.influence_spec import fill_absent

IDS = ["speaker_0", "listener_0"]


def obey_table() -> np.ndarray:
    """Listener's logits (2, 3, 5) under each symbol c of agent 0: it goes to landmark c."""
    cf = np.zeros((2, 3, 5))
    cf[0] = np.where(np.eye(3, 5) > 0, 0.0, -np.inf)
    return cf


def make_episode(said, moves, *, terminated=True, speaker_logits=None) -> MultiAgentEpisode:
    ep = MultiAgentEpisode()
    ep.add_env_reset(observations={"speaker_0": np.zeros(3), "listener_0": np.zeros(11)})
    for t, (s, m) in enumerate(zip(said, moves, strict=True)):
        ep.add_env_step(
            observations={"speaker_0": np.zeros(3), "listener_0": np.zeros(11)},
            actions={"speaker_0": s, "listener_0": m},
            rewards={"speaker_0": -1.0, "listener_0": -2.0},
            terminateds={"__all__": terminated and t == len(said) - 1},
            extra_model_outputs={
                "speaker_0": {
                    "action_dist_inputs": np.zeros(3) if speaker_logits is None else speaker_logits
                },
                "listener_0": {
                    "action_dist_inputs": np.zeros(5),
                    "counterfactual_logits": obey_table(),
                },
            },
        )
    return ep


def test_arrays_keep_agent_order_and_widths() -> None:
    ep = make_episode([0, 2, 1, 1], [0, 0, 2, 1])
    arrays = episode_arrays(ep)
    assert arrays["agent_ids"] == IDS
    assert arrays["logits"]["speaker_0"].shape == (4, 3)
    assert arrays["logits"]["listener_0"].shape == (4, 5)
    assert arrays["counterfactual_logits"]["listener_0"].shape == (4, 2, 3, 5)
    assert list(arrays["counterfactual_logits"]) == ["listener_0"]
    assert arrays["actions"]["speaker_0"].tolist() == [0, 2, 1, 1]
    assert arrays["terminated"]
    assert episode_arrays(ep, agent_ids=IDS[::-1])["agent_ids"] == IDS[::-1]
    # the state dict RLlib serialises reads the same
    again = episode_arrays(ep.get_state())
    np.testing.assert_array_equal(again["actions"]["listener_0"], [0, 0, 2, 1])


def test_influence_closed_form_uniform_speaker() -> None:
    """Uniform speaker, obedient listener: each message heard is worth ln 3 nats."""
    influence = episode_influence(make_episode([0, 2, 1, 1], [0, 0, 2, 1]))
    assert influence.shape == (4, 2, 2)
    np.testing.assert_allclose(influence[:, 0, 1], [np.log(3)] * 3 + [0.0])
    assert np.all(influence[:, 1, 0] == 0)


def test_influence_of_a_biased_speaker_is_its_surprisal() -> None:
    """Deterministic listener: KL(p(.|c) || mixture) = -log pi(c), the surprisal of c."""
    pi = np.array([0.5, 0.3, 0.2])
    said = [0, 1, 2, 2, 0]
    influence = episode_influence(make_episode(said, [0] * 5, speaker_logits=np.log(pi)))
    np.testing.assert_allclose(influence[:-1, 0, 1], -np.log(pi[said[:-1]]))


def test_trajectory_from_chunks_and_reader() -> None:
    first = make_episode([0, 2], [0, 0], terminated=False)
    second = make_episode([1, 1, 0], [2, 1, 1])
    traj = episodes_to_trajectory([first, second], env_name="mpe2_ssl")
    assert traj.actions.shape == (5, 2)
    assert traj.metadata.agent_ids == tuple(IDS)
    assert np.all(np.isneginf(traj.logits[:, 0, 3:]))  # the speaker's padded values
    assert traj.metadata.influence_spec == InfluenceSpec(alignment="next_step")
    # stored layout: row t holds the influencee's policy at t + 1 under each value of k's
    # action at t (absent, -inf, at an episode's last step), so the influence is read per row
    cf = fill_absent(traj.counterfactual_logits)
    expected = influence(cf, traj.logits[:, :, None, :], traj.actions[:, :, None])
    expected = expected * (1 - np.eye(2))
    np.testing.assert_allclose(traj.influence, expected, atol=1e-12)
    assert np.all(np.isneginf(traj.counterfactual_logits[4]))  # the episode's last step
    both = read_episodes([make_episode([0, 1], [0, 0]), make_episode([2, 2, 2], [0, 2, 2])])
    assert both.actions.shape == (5, 2)
    assert len(np.unique(both.episode_ids)) == 2


def test_reward_added_in_place() -> None:
    ep = make_episode([0, 2, 1, 1], [0, 0, 2, 1])
    reward = add_influence_to_episode(ep, influence_coef=0.5)
    np.testing.assert_allclose(reward[:, 0], [np.log(3)] * 3 + [0.0])
    speaker = np.asarray(ep.agent_episodes["speaker_0"].get_rewards())
    np.testing.assert_allclose(speaker, -1.0 + 0.5 * reward[:, 0])
    np.testing.assert_allclose(ep.agent_episodes["listener_0"].get_rewards(), [-2.0] * 4)


def test_errors_name_the_fix() -> None:
    ep = make_episode([0, 1], [0, 0])
    with pytest.raises(ConfigError, match="unknown"):
        episode_arrays(ep, agent_ids=["speaker_0", "critic"])
    with pytest.raises(ConfigError, match="logits_key"):
        episode_arrays(ep, logits_key="logits")
    with pytest.raises(ConfigError, match="MultiAgentEpisode"):
        episode_arrays(np.zeros(3))
    bad = MultiAgentEpisode()
    bad.add_env_reset(observations={"a_0": 0, "b_0": 0})
    bad.add_env_step(
        observations={"a_0": 0, "b_0": 0},
        actions={"a_0": 0, "b_0": 1},
        rewards={"a_0": 0.0, "b_0": 0.0},
        extra_model_outputs={
            "a_0": {"action_dist_inputs": np.zeros(4)},
            "b_0": {"action_dist_inputs": np.zeros(2), "counterfactual_logits": np.ones((2, 3, 2))},
        },
    )
    with pytest.raises(ShapeError, match="K >= 4"):
        episode_influence(bad)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore")
def test_ppo_on_mpe_speaker_listener(tmp_path) -> None:
    pytest.importorskip("mpe2")
    import ray
    import torch
    from mpe2 import simple_speaker_listener_v4
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import (
        DefaultPPOTorchRLModule,
    )
    from ray.rllib.connectors.connector_v2 import ConnectorV2
    from ray.rllib.core.columns import Columns
    from ray.rllib.core.models.base import ACTOR, ENCODER_OUT
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv
    from ray.tune.registry import register_env

    from agents.rllib import influence_recorder, influence_reward_connector
    from causal_influence.io import load

    class ListenerModule(DefaultPPOTorchRLModule):
        """PPO's module plus its logits re-run under each symbol heard (obs[..., 8:11])."""

        def _forward(self, batch, **kwargs):
            out = super()._forward(batch, **kwargs)
            obs = batch[Columns.OBS]
            heard = obs[:, None, :].repeat(1, 3, 1)
            heard[..., 8:] = torch.eye(3)
            enc = self.encoder({Columns.OBS: heard.reshape(-1, obs.shape[-1])})
            cf = self.pi(enc[ENCODER_OUT][ACTOR]).reshape(obs.shape[0], 3, -1)
            full = torch.zeros(obs.shape[0], 2, 3, cf.shape[-1])
            full[:, 0] = cf  # rows of agent 0 (the speaker); the listener's own row stays 0
            out["counterfactual_logits"] = full
            return out

    seen: list[list[dict[str, np.ndarray]]] = []

    class Spy(ConnectorV2):
        def __call__(self, *, rl_module, batch, episodes, **kwargs):
            seen.append(
                [
                    {a: np.array(e.agent_episodes[a].get_rewards(), copy=True) for a in IDS}
                    for e in episodes
                ]
            )
            return batch

    register_env(
        "mpe2_ssl",
        lambda cfg: ParallelPettingZooEnv(simple_speaker_listener_v4.parallel_env(max_cycles=8)),
    )
    recorder = influence_recorder(tmp_path / "episodes", agent_ids=IDS, env_name="mpe2_ssl")
    connector = influence_reward_connector(influence_coef=0.5, agent_ids=IDS)
    config = (
        PPOConfig()
        .environment("mpe2_ssl")
        .multi_agent(
            policies={"speaker", "listener"},
            policy_mapping_fn=lambda agent_id, episode, **kw: agent_id.split("_")[0],
        )
        .rl_module(
            rl_module_spec=MultiRLModuleSpec(
                rl_module_specs={
                    "speaker": RLModuleSpec(),
                    "listener": RLModuleSpec(module_class=ListenerModule),
                }
            )
        )
        .env_runners(num_env_runners=0)
        .learners(learner_connector=lambda obs, act: [Spy(), connector(obs, act), Spy()])
        .training(train_batch_size=64, minibatch_size=32, num_epochs=1)
        .callbacks(recorder)
        .debugging(seed=0)
    )
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        algo = config.build_algo()
        algo.train()
        algo.stop()
    finally:
        ray.shutdown()

    files = sorted((tmp_path / "episodes").glob("*.parquet"))
    assert len(files) >= 4
    trajs = [load(f) for f in files]
    for traj in trajs:
        assert traj.actions.shape == (8, 2)
        assert traj.logits.shape == (8, 2, 5)
        assert traj.metadata.influence_spec == InfluenceSpec(alignment="next_step")
        cf = fill_absent(traj.counterfactual_logits)  # stored layout: row t = speaker's step t
        expected = influence(cf, traj.logits[:, :, None, :], traj.actions[:, :, None])
        np.testing.assert_allclose(traj.influence, expected * (1 - np.eye(2)), atol=1e-9)
        assert float(traj.influence[:-1, 0, 1].min()) > 0  # every message heard matters
        assert np.all(traj.influence[:, 1, 0] == 0)
    # the learner saw extrinsic + 0.5 * influence on the speaker's rewards (+ a bootstrap step)
    assert len(seen) == 2
    by_rewards = {tuple(np.round(t.rewards[:, 0], 6)): t for t in trajs}
    matched = 0
    for before, after in zip(seen[0], seen[1], strict=True):
        traj = by_rewards.get(tuple(np.round(before["speaker_0"][:-1], 6)))
        if traj is None:  # an episode chunk cut by the batch, not a recorded episode
            continue
        matched += 1
        np.testing.assert_allclose(
            after["speaker_0"][:-1] - before["speaker_0"][:-1],
            0.5 * traj.influence[:, 0].sum(-1),
            atol=1e-6,
        )
        np.testing.assert_allclose(after["listener_0"], before["listener_0"])
    assert matched >= 4
