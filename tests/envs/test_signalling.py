"""The signalling game: registration, PettingZoo conformance, rules, variants, the context
variable, batching and determinism."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test

from causal_influence.errors import ConfigError, ShapeError
from envs import make_parallel, make_vector, signalling
from envs.registry import get_game
from envs.signalling import SignallingConfig, SignallingGame, parallel_env
from envs.vector import VectorEnv

VARIANTS: list[dict[str, Any]] = [
    {},
    {"num_symbols": 0},
    {"listener_sees_target": True},
    {"num_listeners": 2, "num_distractors": 2, "num_targets": 3, "num_symbols": 5},
    {"shared_reward": False, "num_distractors": 1},
]


@pytest.mark.parametrize("kw", VARIANTS)
def test_parallel_api_and_seed(kw: dict[str, Any]) -> None:
    parallel_api_test(parallel_env(max_cycles=30, **kw), num_cycles=70)
    parallel_seed_test(lambda: parallel_env(max_cycles=30, **kw), num_cycles=70)


@pytest.mark.parametrize("symbols", [0, 3])
def test_aec_api(symbols: int) -> None:
    api_test(signalling.env(num_symbols=symbols, num_distractors=1, max_cycles=20), num_cycles=40)


def test_the_game_is_registered_and_built_by_name() -> None:
    spec = get_game("signalling")
    assert spec.env_name == "signalling_v0"
    assert spec.make_config(num_targets=3) == SignallingConfig(num_targets=3)
    assert isinstance(make_vector("signalling", 2, seed=0).game, SignallingGame)
    assert make_parallel("signalling", max_cycles=3).metadata["name"] == "signalling_v0"
    with pytest.raises(ConfigError, match="unknown option"):
        spec.make_config(view_radius=3)  # a gridworld option


def test_config_validation_and_round_trip() -> None:
    cfg = SignallingConfig(num_targets=5, num_listeners=3, num_distractors=2, max_cycles=7)
    assert cfg.num_agents == 6
    assert cfg.roles == ("speaker",) + ("listener",) * 3 + ("distractor",) * 2
    assert cfg.max_collective_return == 7 * 3 + 6 * 3
    assert cfg.num_contexts == 5
    assert cfg.context_names == cfg.action_names == tuple(f"TARGET_{k}" for k in range(5))
    assert SignallingConfig.from_dict(cfg.to_dict()) == cfg
    for bad in (
        {"num_targets": 1},
        {"num_listeners": 0},
        {"num_distractors": -1},
        {"num_symbols": -2},
        {"max_cycles": 0},
        {"num_targets": 2.5},
        {"shared_reward": 1},
        {"game": "harvest"},
    ):
        with pytest.raises(ConfigError, match="SignallingConfig"):
            SignallingConfig(**bad)
    with pytest.raises(ConfigError, match="unknown option"):
        SignallingConfig.from_dict({"num_target": 3})


Policy = Callable[[dict[str, np.ndarray], SignallingGame], tuple[np.ndarray, np.ndarray | None]]


def _play(
    cfg: SignallingConfig, policy: Policy, *, num_envs: int = 4, seed: int = 0, episodes: int = 2
) -> list[dict[str, Any]]:
    """Run ``episodes`` episodes; ``policy(obs, game) -> (actions, messages)``; returns stats."""
    venv = VectorEnv(cfg, num_envs, seed=seed)
    obs = venv.reset()
    stats = []
    for _ in range(episodes * cfg.max_cycles):
        acts, msgs = policy(obs, venv.game)
        step_in = acts if msgs is None else np.stack([acts, msgs], axis=-1)
        obs, _, _, truncated, info = venv.step(step_in)
        if truncated.any():
            stats.extend(info["episode"])
    return stats


def _honest_and_copy(
    obs: dict[str, np.ndarray], game: SignallingGame
) -> tuple[np.ndarray, np.ndarray]:
    """Speaker acts on and says its target; listeners act on the message they hear."""
    n = game.num_agents
    view = obs["view"][:, :, 0, 0, : game.config.num_targets]
    acts = view.argmax(-1)  # speaker and distractors: the target they see
    heard = obs["messages"][:, 0]
    listeners = np.arange(1, 1 + game.config.num_listeners)
    acts[:, listeners] = np.where(heard < game.config.num_symbols, heard, 0)[:, None]
    msgs = np.zeros((obs["view"].shape[0], n), dtype=np.int64)
    msgs[:, 0] = obs["context"][:, 0]
    return acts, msgs


def test_a_perfect_protocol_reaches_the_maximum_return() -> None:
    cfg = SignallingConfig(num_listeners=2, num_distractors=1, max_cycles=10)
    stats = _play(cfg, _honest_and_copy)
    assert len(stats) == 8
    for s in stats:
        assert s["collective_return"] == cfg.max_collective_return == 10 * 2 + 9 * 2
        assert s["correct"] == [10, 9, 9, 10]
        assert s["length"] == 10


def test_without_the_message_a_listener_is_at_chance() -> None:
    cfg = SignallingConfig(num_targets=4, max_cycles=50)

    def ignore(obs: dict[str, np.ndarray], game: SignallingGame) -> tuple[np.ndarray, np.ndarray]:
        acts, msgs = _honest_and_copy(obs, game)
        acts[:, 1] = 2  # always the same target
        return acts, msgs

    stats = _play(cfg, ignore, num_envs=16, episodes=5)
    rate = np.mean([s["correct"][1] for s in stats]) / 49
    # 80 episodes x 49 scored steps at p = 1/4: sd of the rate about 0.007.
    assert abs(rate - 0.25) < 0.03
    assert all(s["correct"][0] == 50 for s in stats)


def test_shared_reward_is_the_team_sum_and_distractors_keep_their_own() -> None:
    game = SignallingGame(SignallingConfig(num_listeners=1, num_distractors=1, num_symbols=0), 1)
    game.reset([3])
    game.step(np.zeros((1, 3), dtype=int))  # step 0: the listener has nothing to act on
    prev = int(game.previous_targets[0])
    acts = np.array([[game.targets[0], prev, game.private_targets[0, 0]]])
    out = game.step(acts)
    np.testing.assert_array_equal(out.extrinsic, [[1, 1, 1]])
    np.testing.assert_array_equal(out.rewards, [[2, 2, 1]])
    np.testing.assert_array_equal(out.event_array, [[[1, 1, 1]]])
    alone = SignallingGame(
        SignallingConfig(num_listeners=1, num_distractors=1, num_symbols=0, shared_reward=False),
        1,
    )
    alone.reset([3])
    alone.step(np.zeros((1, 3), dtype=int))
    np.testing.assert_array_equal(alone.step(acts).rewards, [[1, 1, 1]])


def test_messages_arrive_one_step_later_and_reset_to_none() -> None:
    cfg = SignallingConfig(num_symbols=3, max_cycles=3)
    venv = VectorEnv(cfg, 2, seed=5)
    obs = venv.reset()
    assert (obs["messages"] == 3).all()
    sent = np.array([[1, 2], [0, 1]])
    obs, *_ = venv.step(np.stack([np.zeros((2, 2), dtype=int), sent], axis=-1))
    np.testing.assert_array_equal(obs["messages"], sent)
    for _ in range(2):
        obs, _, _, truncated, info = venv.step(np.zeros((2, 2, 2), dtype=int))
    assert truncated.all()
    assert (obs["messages"] == 3).all()  # the auto-reset observation: nothing heard yet
    np.testing.assert_array_equal(info["final_obs"]["messages"], np.zeros((2, 2)))


def test_views_and_context_show_what_each_role_may_see() -> None:
    for sees in (False, True):
        cfg = SignallingConfig(num_targets=3, num_distractors=1, listener_sees_target=sees)
        game = SignallingGame(cfg, 2)
        game.reset([0, 1])
        first = game.observations()
        view = first["view"][:, :, 0, 0]
        np.testing.assert_array_equal(view[:, 0, :3].argmax(-1), game.targets)
        assert view[:, 1, :3].sum() == 0  # nothing to show at step 0
        np.testing.assert_array_equal(view[:, 2, :3].argmax(-1), game.private_targets[:, 0])
        np.testing.assert_array_equal(view[:, :, 3:], np.tile(np.eye(3, dtype=np.uint8), (2, 1, 1)))
        # The context is the target each agent is shown, -1 for none.
        np.testing.assert_array_equal(
            first["context"], np.stack([game.targets, [-1, -1], game.private_targets[:, 0]], 1)
        )
        game.step(np.zeros((2, 3), dtype=int), np.zeros((2, 3), dtype=int))
        second = game.observations()
        listener = second["view"][:, 1, 0, 0, :3]
        if sees:  # the control: the listener sees the target it must act on
            np.testing.assert_array_equal(listener.argmax(-1), first["context"][:, 0])
            assert (listener.sum(-1) == 1).all()
            np.testing.assert_array_equal(second["context"][:, 1], first["context"][:, 0])
        else:
            assert listener.sum() == 0
            assert (second["context"][:, 1] == -1).all()


def test_control_listener_scores_without_listening() -> None:
    cfg = SignallingConfig(listener_sees_target=True, max_cycles=20)

    def deaf(obs: dict[str, np.ndarray], game: SignallingGame) -> tuple[np.ndarray, np.ndarray]:
        acts = obs["view"][:, :, 0, 0, : cfg.num_targets].argmax(-1)
        return acts, np.zeros_like(acts)  # the speaker always says 0

    stats = _play(cfg, deaf)
    assert all(s["collective_return"] == cfg.max_collective_return for s in stats)


def test_batch_equals_single_envs_and_runs_are_deterministic() -> None:
    cfg = SignallingConfig(num_distractors=1, max_cycles=6)
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 4, size=(20, 3, 3, 2))
    runs = []
    for _ in range(2):
        venv = make_vector("signalling", 3, seed=11, num_distractors=1, max_cycles=6)
        obs = [venv.reset()]
        rewards = []
        for t in range(20):
            o, r, _, _, _ = venv.step(actions[t])
            obs.append(o)
            rewards.append(r)
        runs.append((obs, np.stack(rewards)))
    for a, b in zip(runs[0][0], runs[1][0], strict=True):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    seeds = VectorEnv(cfg, 3, seed=11).env_seeds()
    for b, seed in enumerate(seeds):
        single = SignallingGame(cfg, 1)
        single.reset([seed])
        for t in range(cfg.max_cycles):  # one episode (before the batch's auto-reset)
            ob = single.observations()
            for key in ob:
                np.testing.assert_array_equal(ob[key][0], runs[0][0][t][key][b])
            single.step(actions[t, b : b + 1, :, 0], actions[t, b : b + 1, :, 1])


def test_targets_are_uniform_and_independent_of_actions() -> None:
    cfg = SignallingConfig(num_targets=4, num_symbols=0, max_cycles=200)
    game = SignallingGame(cfg, 8)
    game.reset(7)
    seen = []
    for t in range(cfg.max_cycles):
        seen.append(game.targets.copy())
        game.step(np.full((8, 2), t % 4))
    counts = np.bincount(np.concatenate(seen), minlength=4)
    assert counts.sum() == 1600
    assert np.all(np.abs(counts / 1600 - 0.25) < 0.04)
    other = SignallingGame(cfg, 8)
    other.reset(7)
    np.testing.assert_array_equal(other.targets, seen[0])


def test_bad_input_errors_say_what_was_expected() -> None:
    venv = make_vector("signalling", 2, seed=0)
    venv.reset()
    with pytest.raises(ShapeError, match=r"\(B, N, 2\)"):
        venv.step(np.zeros((2, 2), dtype=int))
    with pytest.raises(ShapeError, match=r"integers in \[0, 4\)"):
        venv.step(np.full((2, 2, 2), 4))
    with pytest.raises(ShapeError, match=r"messages: expected integers in \[0, 8\)"):
        venv.step(np.stack([np.zeros((2, 2), int), np.full((2, 2), 8)], axis=-1))
    game = SignallingGame(SignallingConfig(num_symbols=0), 1)
    game.reset([0])
    with pytest.raises(ConfigError, match="channel is off"):
        game.step(np.zeros((1, 2), dtype=int), np.zeros((1, 2), dtype=int))
    with pytest.raises(ShapeError, match="expected shape"):
        game.step(np.zeros((1, 3), dtype=int))
    with pytest.raises(ShapeError, match="integers"):
        game.step(np.zeros((1, 2)))  # floats
    with pytest.raises(ShapeError, match="2 seeds"):
        SignallingGame(SignallingConfig(), 2).reset([1, 2, 3])
    on = SignallingGame(SignallingConfig(), 1)
    on.reset([0])
    with pytest.raises(ConfigError, match="pass messages"):
        on.step(np.zeros((1, 2), dtype=int))
    with pytest.raises(ConfigError, match="SignallingConfig"):
        SignallingGame({"num_targets": 4})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="num_envs"):
        SignallingGame(SignallingConfig(), 0)
    env = parallel_env()
    with pytest.raises(ConfigError, match="reset"):
        env.step({})
    with pytest.raises(ConfigError, match="render_mode"):
        parallel_env(render_mode="rgb_array")


def test_parallel_env_infos_carry_the_context_and_episode_statistics() -> None:
    env = parallel_env(num_targets=3, max_cycles=4, render_mode="ansi")
    obs, infos = env.reset(seed=3)
    assert env.render() == f"t=0 target={infos['agent_0']['target']}"
    assert infos["agent_0"]["context"] == infos["agent_0"]["target"]
    assert infos["agent_1"]["context"] == -1
    targets = [infos["agent_0"]["target"]]
    for _ in range(4):
        target = targets[-1]
        heard = obs["agent_1"]["messages"][0]
        actions = {"agent_0": [target, target], "agent_1": [heard % 3, 0]}
        obs, _, _, truncations, infos = env.step(actions)
        assert infos["agent_0"]["correct"] == 1
        assert f"target={target}" in env.render()
        targets.append(infos["agent_0"]["target"])
    assert all(truncations.values())
    episode = infos["agent_1"]["episode"]
    assert episode["correct"] == [4, 3]
    assert episode["collective_return"] == 7
    assert episode["length"] == 4
    assert env.agents == []
    assert env.state().shape == (2,)


def test_episode_statistics_of_many_envs_match_one_by_one() -> None:
    """The batched form finishes the envs of one step together (EpisodeRecorder.finish_many);
    each env's statistics are those of the episode played alone."""
    from envs.episode_stats import episode_statistics

    cfg = SignallingConfig(num_distractors=1, max_cycles=5)
    venv = VectorEnv(cfg, 3, seed=2)
    venv.reset()
    rng = np.random.default_rng(1)
    rewards, correct = [], []
    for _ in range(5):
        *_, info = venv.step(rng.integers(0, 4, size=(3, 3, 2)))
        rewards.append(info["extrinsic"])
        correct.append(info["events"]["correct"])
    for b, stats in enumerate(info["episode"]):
        alone = episode_statistics(np.stack(rewards)[:, b], {"correct": np.stack(correct)[:, b]})
        assert stats.keys() == alone.keys()
        for key, value in alone.items():
            if isinstance(value, float):
                assert stats[key] == pytest.approx(value, rel=1e-12, nan_ok=True), key
            else:
                assert stats[key] == value, key


def test_recording_the_pettingzoo_form_with_its_context() -> None:
    """``infos[agent]["context"]`` is what ``RecordTrajectories.step(context=...)`` takes: the
    context observed with the observation the agents act on."""
    from envs import RecordTrajectories

    cfg = SignallingConfig(num_targets=3, num_symbols=3, max_cycles=6)
    env = RecordTrajectories(
        parallel_env(cfg), message_in_action=True, context_names=cfg.context_names
    )
    obs, infos = env.reset(seed=0)
    while env.agents:
        context = {a: infos[a]["context"] for a in env.agents}
        target = context["agent_0"]
        heard = int(obs["agent_1"]["messages"][0])
        actions = {"agent_0": [target, target], "agent_1": [heard % 3, 0]}
        obs, _, _, _, infos = env.step(actions, context=context)
    traj = env.trajectory()
    assert traj.metadata.num_contexts == 3
    assert traj.context is not None
    np.testing.assert_array_equal(traj.context[:, 1], -1)
    np.testing.assert_array_equal(traj.actions[:, 0], traj.context[:, 0])
    np.testing.assert_array_equal(traj.actions[1:, 1], traj.context[:-1, 0])  # it listened
