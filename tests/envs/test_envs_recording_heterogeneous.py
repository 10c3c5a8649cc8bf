"""Recording heterogeneous agents: a speaker and a listener that differ in everything.

The env below has the shape of MPE's ``simple_speaker_listener`` (a speaker that sees a target
(3) and says one of 3 symbols, a listener with an 11-dimensional observation that hears the
symbol one step later and has 5 actions) without MPE itself. The oracle of every recorded
array is what the test passed to ``step`` or received from it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo import ParallelEnv
from pettingzoo.test import parallel_api_test

import causal_influence.io as ci_io
from causal_influence.errors import ConfigError, ShapeError
from causal_influence.trajectory import InfluenceSpec
from envs import RecordTrajectories

SPEAKER, LISTENER = "speaker_0", "listener_0"


class SpeakerListener(ParallelEnv):
    """The speaker sees a target in {0, 1, 2} and acts by saying a symbol; the listener hears
    it at the next step (the last 3 entries of its 11-d observation) and is rewarded for
    playing the target."""

    metadata: ClassVar[dict[str, Any]] = {"name": "toy_speaker_listener_v0", "render_modes": []}

    def __init__(self, max_cycles: int = 6) -> None:
        self.possible_agents = [SPEAKER, LISTENER]
        self.max_cycles = max_cycles
        self.agents: list[str] = []

    @functools.cache  # noqa: B019 - spaces must be the same object
    def observation_space(self, agent: str) -> spaces.Space:
        size = 3 if agent == SPEAKER else 11
        return spaces.Box(0.0, 1.0, (size,), dtype=np.float32)

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> spaces.Space:
        return spaces.Discrete(3 if agent == SPEAKER else 5)

    def _obs(self) -> dict[str, np.ndarray]:
        speaker = np.zeros(3, dtype=np.float32)
        speaker[self.target] = 1.0
        listener = self.rng.random(11).astype(np.float32)
        listener[8:] = 0.0
        if self.heard >= 0:
            listener[8 + self.heard] = 1.0
        return {SPEAKER: speaker, LISTENER: listener}

    def reset(
        self, seed: int | None = None, options: dict | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        self.rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self.t, self.heard = 0, -1
        self.target = int(self.rng.integers(3))
        return self._obs(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        hit = float(actions.get(LISTENER) == self.target)
        self.heard = int(actions[SPEAKER])
        self.t += 1
        done = self.t >= self.max_cycles
        rewards = dict.fromkeys(self.agents, hit)
        obs = self._obs()
        terms = dict.fromkeys(self.agents, False)
        truncs = dict.fromkeys(self.agents, done)
        infos: dict[str, dict] = {a: {} for a in self.agents}
        if done:
            self.agents = []
        return obs, rewards, terms, truncs, infos


def test_parallel_api_on_the_wrapped_heterogeneous_env() -> None:
    parallel_api_test(SpeakerListener(max_cycles=20), num_cycles=30)
    env = RecordTrajectories(SpeakerListener(max_cycles=20), record_obs=True)
    parallel_api_test(env, num_cycles=30)
    assert env.episodes  # observations 3 and 11 recorded, no crash
    assert env.episodes[0].metadata.obs_shapes == ((3,), (11,))


def listener_table() -> np.ndarray:
    """The listener's logits (5,) given the symbol it heard (3): it plays the symbol."""
    table = np.full((3, 5), -2.0)
    table[np.arange(3), np.arange(3)] = 2.0
    return table


def run_episode(env: RecordTrajectories, seed: int) -> dict[str, list]:
    """One episode with given policies; returns what the loop passed and saw."""
    seen: dict[str, list] = {k: [] for k in ("obs", "actions", "cf", "influence", "target")}
    obs, _ = env.reset(seed=seed)
    table = listener_table()
    base = env.unwrapped
    while env.agents:
        target = base.target
        heard = base.heard
        speaker_logits = np.log(np.full(3, 0.05) + 0.85 * np.eye(3)[target])
        listener_logits = table[heard] if heard >= 0 else np.zeros(5)
        actions = {SPEAKER: target, LISTENER: int(np.argmax(listener_logits))}
        # the listener's policy now, under each symbol the speaker could have said before
        cf = {SPEAKER: {LISTENER: table}}
        infl = np.zeros((2, 2))
        infl[0, 1] = 0.1 * (len(seen["obs"]) + 1)
        seen["obs"].append({a: obs[a].copy() for a in env.possible_agents})
        seen["actions"].append([actions[SPEAKER], actions[LISTENER]])
        seen["cf"].append(table)
        seen["influence"].append(infl)
        seen["target"].append(target)
        obs, *_ = env.step(
            actions,
            logits={SPEAKER: speaker_logits, LISTENER: listener_logits},
            messages={SPEAKER: target},
            message_logits={SPEAKER: speaker_logits},
            context={SPEAKER: target},
            counterfactual_logits=cf,
            influence=infl,
        )
    return seen


def make_recorder(**kw: Any) -> RecordTrajectories:
    return RecordTrajectories(
        SpeakerListener(max_cycles=6),
        record_obs=True,
        speakers=[SPEAKER],
        num_symbols=3,
        num_contexts=3,
        influence_spec=InfluenceSpec(alignment="next_step", variable="messages"),
        extra={"run": "hetero"},
        **kw,
    )


def test_heterogeneous_episode_is_recorded_as_the_loop_saw_it(tmp_path: Path) -> None:
    env = make_recorder()
    seen = run_episode(env, seed=3)
    (traj,) = env.episodes
    meta = traj.metadata
    assert meta.agent_ids == (SPEAKER, LISTENER)
    assert (meta.num_actions, meta.agent_num_actions) == (5, (3, 5))
    assert (meta.num_symbols, meta.agent_num_symbols) == (3, (3, 0))
    assert meta.obs_shapes == ((3,), (11,))
    assert meta.influence_spec == InfluenceSpec(alignment="next_step", variable="messages")
    assert meta.num_contexts == 3
    np.testing.assert_array_equal(traj.actions, seen["actions"])
    # observations: each agent's own shape back
    for i, agent in enumerate((SPEAKER, LISTENER)):
        np.testing.assert_array_equal(traj.agent_obs(agent), [o[agent] for o in seen["obs"]])
        np.testing.assert_array_equal(traj.agent_obs(i), [o[agent] for o in seen["obs"]])
    # the speaker's logits padded with -inf to the listener's 5 actions; its message and
    # context recorded, the listener's absent (-1)
    assert np.isneginf(traj.logits[:, 0, 3:]).all()
    assert np.isfinite(traj.logits[:, 0, :3]).all()
    np.testing.assert_array_equal(traj.messages, np.c_[seen["target"], np.full(6, -1)])
    np.testing.assert_array_equal(traj.context, np.c_[seen["target"], np.full(6, -1)])
    assert np.isneginf(traj.message_logits[:, 1]).all()
    # next-step influence: what the policy computed at t + 1 is stored at row t; the first
    # step's values (no earlier message) are dropped; the last row is absent
    cf = traj.counterfactual_logits
    assert cf.shape == (6, 2, 2, 3, 5)
    np.testing.assert_array_equal(cf[:5, 0, 1], np.stack(seen["cf"][1:]))
    assert np.isneginf(cf[5]).all()
    # pairs left out: equal rows over the influencee's own actions (the speaker has 3)
    np.testing.assert_array_equal(cf[:5, 0, 0, :, :3], 0.0)
    assert np.isneginf(cf[:5, 0, 0, :, 3:]).all()
    assert np.isneginf(cf[:, 1]).all()  # the listener does not speak: no message values
    np.testing.assert_array_equal(traj.influence[:5], np.stack(seen["influence"][1:]))
    np.testing.assert_array_equal(traj.influence[5], 0.0)
    assert meta.extra == {"run": "hetero"}
    # every file format returns it unchanged
    for name in ("one.parquet", "one.npz"):
        assert ci_io.load(env.save(tmp_path / name)) == traj
    env.save(tmp_path / "shards")
    assert ci_io.open_dataset(tmp_path / "shards").read_all() == traj


def test_a_model_of_the_next_step_is_stored_at_its_own_row() -> None:
    env = make_recorder(predicts_next_step=True)
    seen = run_episode(env, seed=1)
    cf = env.episodes[0].counterfactual_logits
    np.testing.assert_array_equal(cf[:5, 0, 1], np.stack(seen["cf"][:5]))
    assert np.isfinite(cf[5, 0, 1]).all()  # the trajectory's own last row is not forced


def test_metadata_updates_merge() -> None:
    env = make_recorder()
    run_episode(env, seed=0)
    env.update_metadata({"checkpoint": "c1"}, seed=99, extra={"note": "after"})
    run_episode(env, seed=1)
    first, second = env.episodes
    assert first.metadata.extra == {"run": "hetero"}
    assert second.metadata.extra == {"run": "hetero", "checkpoint": "c1", "note": "after"}
    assert second.metadata.seed == 1  # the seed of reset, which the recorder owns
    env.update_metadata(influence_spec={"alignment": "next_step", "variable": "messages"})
    with pytest.raises(ConfigError, match=r"update_metadata: \['agent_num_actions'\] are derived"):
        env.update_metadata(agent_num_actions=(5, 5))


def test_heterogeneous_step_errors_name_the_agent() -> None:
    env = make_recorder()
    env.reset(seed=0)
    table = listener_table()
    common = {
        "messages": {SPEAKER: 0},
        "message_logits": {SPEAKER: np.zeros(3)},
        "context": {SPEAKER: 0},
        "counterfactual_logits": {SPEAKER: {LISTENER: table}},
        "influence": np.zeros((2, 2)),
    }
    with pytest.raises(ShapeError, match=r"logits\['speaker_0'\]: expected 3 entries \(its action"):
        env.step({SPEAKER: 0, LISTENER: 0}, logits={SPEAKER: np.zeros(4), LISTENER: np.zeros(5)})
    with pytest.raises(ShapeError, match=r"for agent 'speaker_0' \(its action space\); got 4"):
        env.step({SPEAKER: 4, LISTENER: 0}, logits=np.zeros((2, 5)), **common)
    with pytest.raises(ShapeError, match=r"context: expected values in \[0, 3\)"):
        env.step(
            {SPEAKER: 0, LISTENER: 0}, logits=np.zeros((2, 5)), **{**common, "context": [3, -1]}
        )
    bare = RecordTrajectories(SpeakerListener())
    bare.reset(seed=0)
    with pytest.raises(ConfigError, match=r"counterfactual_logits: recording influence needs"):
        bare.step({SPEAKER: 0, LISTENER: 0}, counterfactual_logits=np.zeros((2, 2, 3, 5)))
    with pytest.raises(ConfigError, match=r"context: pass num_contexts=G"):
        bare.step({SPEAKER: 0, LISTENER: 0}, context=[0, -1])
    # a listener that speaks although it does not: the trajectory refuses the episode
    env = make_recorder()
    env.reset(seed=0)
    step = {**common, "messages": {SPEAKER: 0, LISTENER: 1}, "logits": np.zeros((2, 5))}
    for _ in range(5):
        env.step({SPEAKER: 0, LISTENER: 0}, **step)
    with pytest.raises(ShapeError, match=r"messages: expected values in \[0, 0\) for agent 1"):
        env.step({SPEAKER: 0, LISTENER: 0}, **step)  # the last step ends the episode
