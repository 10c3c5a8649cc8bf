"""The Trajectory type: construction, validation, episode views, constructors, concat.

Oracles: plain loops over steps and rows kept here, and round trips through every
representation (dict of arrays, DataFrame in both vector layouts, episode splits).
"""

from __future__ import annotations

import copy
import pickle
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_influence.errors import (
    ConfigError,
    DTypeError,
    InvalidDistributionError,
    ShapeError,
)
from causal_influence.trajectory import (
    OPTIONAL_FIELDS,
    InfluenceSpec,
    Trajectory,
    TrajectoryMeta,
    concat,
)

# ---------------------------------------------------------------------------------------------
# helpers


def full_trajectory(
    *,
    num_steps: int = 7,
    num_agents: int = 3,
    num_actions: int = 4,
    num_symbols: int = 2,
    k: int = 4,
    episode_ids: list[int] | None = None,
    fields: tuple[str, ...] = OPTIONAL_FIELDS,
    seed: int = 0,
) -> Trajectory:
    """A trajectory with the requested optional fields, random but valid."""
    rng = np.random.default_rng(seed)
    t_, n, a, m = num_steps, num_agents, num_actions, num_symbols
    arrays: dict[str, Any] = {
        "messages": rng.integers(0, m, (t_, n)),
        "context": rng.integers(-1, 2, (t_, n)),
        "logits": rng.normal(size=(t_, n, a)).astype(np.float32),
        "message_logits": rng.normal(size=(t_, n, m)),
        "visible": rng.random((t_, n, n)) < 0.5,
        "influence": rng.random((t_, n, n)),
        "counterfactual_logits": rng.normal(size=(t_, n, n, k, a)),
        "obs": rng.integers(0, 255, (t_, n, 3, 3, 2), dtype=np.uint8),
    }
    if episode_ids is None:
        episode_ids = [5, 5, 5, 2, 2, 9, 9][:t_] if t_ <= 7 else [0] * t_
    return Trajectory(
        actions=rng.integers(0, a, (t_, n)),
        rewards=rng.normal(size=(t_, n)).astype(np.float32),
        episode_ids=episode_ids,
        **{name: arrays[name] for name in fields},
        num_actions=a,
        num_symbols=m if "messages" in fields or "message_logits" in fields else 0,
        num_contexts=2 if "context" in fields else 0,
        env_name="harvest",
        env_version="v0",
        seed=3,
        extra={"map": "small", "horizon": 7},
    )


def reference_episode_views(ids: np.ndarray) -> tuple[list[int], list[int], list[bool]]:
    """Plain-loop oracle: t within episode, episode order, starts."""
    t, order, starts = [], [], []
    prev = None
    step = 0
    for e in ids.tolist():
        if e != prev:
            order.append(e)
            step = 0
            starts.append(True)
        else:
            step += 1
            starts.append(False)
        t.append(step)
        prev = e
    return t, order, starts


# ---------------------------------------------------------------------------------------------
# construction


def test_defaults_dtypes_and_views() -> None:
    traj = Trajectory([[0, 1], [2, 1]], [[1, 0], [0, 1]], num_actions=3)
    assert traj.actions.dtype == np.int64
    assert traj.rewards.dtype == np.float64  # int rewards become float
    assert traj.metadata.agent_ids == ("agent_0", "agent_1")
    assert traj.num_steps == len(traj) == 2
    assert traj.num_agents == 2
    assert traj.num_episodes == 1
    np.testing.assert_array_equal(traj.episode_ids, [0, 0])
    np.testing.assert_array_equal(traj.t, [0, 1])
    assert traj.fields == ()
    assert traj.messages is None
    assert traj.logits is None
    assert traj.obs is None
    assert traj.metadata.num_symbols == 0


def test_float_dtypes_are_kept() -> None:
    traj = full_trajectory()
    assert traj.rewards.dtype == np.float32
    assert traj.logits is not None
    assert traj.logits.dtype == np.float32
    assert traj.obs is not None
    assert traj.obs.dtype == np.uint8
    assert traj.visible is not None
    assert traj.visible.dtype == bool


def test_immutable_and_copies_inputs() -> None:
    actions = np.zeros((3, 2), dtype=np.int64)
    traj = Trajectory(actions, np.zeros((3, 2)), num_actions=2)
    actions[0, 0] = 1
    assert traj.actions[0, 0] == 0  # copied
    with pytest.raises(ValueError, match="read-only"):
        traj.actions[0, 0] = 1
    with pytest.raises(AttributeError):
        traj.actions = actions  # type: ignore[misc]
    with pytest.raises(AttributeError):
        traj.foo = 1
    shared = Trajectory(actions, np.zeros((3, 2)), num_actions=2, copy=False)
    assert np.shares_memory(shared.actions, actions)
    assert actions.flags.writeable  # the caller's array is untouched


def test_misspelt_keyword_is_an_error_not_extra() -> None:
    with pytest.raises(TypeError, match="episode_id"):
        Trajectory([[0]], [[0.0]], num_actions=1, episode_id=[3])
    traj = Trajectory([[0]], [[0.0]], num_actions=1, metadata={"episode_id": 3})
    assert traj.metadata.extra == {"episode_id": 3}  # a metadata dict may carry anything


def test_pickle_and_copy() -> None:
    traj = full_trajectory()
    for other in (pickle.loads(pickle.dumps(traj)), copy.deepcopy(traj), copy.copy(traj)):
        assert other == traj
        assert not other.actions.flags.writeable
        with pytest.raises(AttributeError):
            other.foo = 1


def test_torch_inputs() -> None:
    torch = pytest.importorskip("torch")
    traj = Trajectory(
        torch.tensor([[0, 1]]),
        torch.tensor([[0.5, 1.0]]),
        logits=torch.zeros(1, 2, 2, requires_grad=True),
    )
    assert isinstance(traj.actions, np.ndarray)
    assert traj.rewards.dtype == np.float32
    assert traj.metadata.num_actions == 2


@pytest.mark.parametrize(
    "form",
    [
        {"episode_ids": [4, 4, 4, 1, 1, 8]},
        {"episode_starts": [True, False, False, True, False, True]},
        {"episode_starts": [False, False, False, True, False, True]},  # first step always starts
        {"dones": [False, False, True, False, True, False]},
        {"dones": np.repeat(np.array([0, 0, 1, 0, 1, 0], bool)[:, None], 2, axis=1)},
    ],
)
def test_episode_boundary_forms_agree(form: dict) -> None:
    traj = Trajectory(np.zeros((6, 2), int), np.zeros((6, 2)), num_actions=1, **form)
    np.testing.assert_array_equal(traj.episode_starts, [1, 0, 0, 1, 0, 1])
    np.testing.assert_array_equal(traj.episode_ends, [0, 0, 1, 0, 1, 1])
    np.testing.assert_array_equal(traj.t, [0, 1, 2, 0, 1, 0])
    assert traj.num_episodes == 3
    assert traj.episode_slices == (slice(0, 3), slice(3, 5), slice(5, 6))
    assert [len(ep) for ep in traj.episodes()] == [3, 2, 1]


def test_episode_views_against_a_loop() -> None:
    rng = np.random.default_rng(1)
    lengths = rng.integers(1, 6, size=8)
    ids = np.repeat(rng.permutation(100)[:8], lengths)
    traj = Trajectory(
        np.zeros((ids.size, 1), int), np.zeros((ids.size, 1)), episode_ids=ids, num_actions=1
    )
    t, order, starts = reference_episode_views(ids)
    np.testing.assert_array_equal(traj.t, t)
    np.testing.assert_array_equal(traj.episode_index, order)
    np.testing.assert_array_equal(traj.episode_starts, starts)
    for eid, ep in zip(order, traj.episodes(), strict=True):
        np.testing.assert_array_equal(ep.episode_ids, [eid] * len(ep))
        np.testing.assert_array_equal(ep.t, np.arange(len(ep)))


def test_given_t_may_start_mid_episode() -> None:
    traj = Trajectory(
        np.zeros((4, 1), int),
        np.zeros((4, 1)),
        episode_ids=[0, 0, 1, 1],
        t=[10, 11, 0, 1],
        num_actions=1,
    )
    np.testing.assert_array_equal(traj.t, [10, 11, 0, 1])


def test_select_and_split_episodes() -> None:
    traj = full_trajectory()
    sel = traj.select_episodes([9, 5])
    np.testing.assert_array_equal(sel.episode_ids, [9, 9, 5, 5, 5])
    assert sel.logits is not None
    assert traj.logits is not None
    np.testing.assert_array_equal(sel.logits, np.concatenate([traj.logits[5:], traj.logits[:3]]))
    assert traj.select_episodes(2) == traj.select_episodes([2])
    assert len(traj.select_episodes(2)) == 2
    with pytest.raises(ConfigError, match="unknown episode ids"):
        traj.select_episodes([3])
    with pytest.raises(ConfigError, match="repeat"):
        traj.select_episodes([2, 2])
    parts = list(traj.split_episodes(2))
    assert [p.episode_index.tolist() for p in parts] == [[5, 2], [9]]
    assert concat(parts) == traj
    with pytest.raises(ConfigError):
        list(traj.split_episodes(0))


def test_replace() -> None:
    traj = full_trajectory()
    dropped = traj.replace(obs=None, counterfactual_logits=None)
    assert "obs" not in dropped.fields
    assert "logits" in dropped.fields
    with pytest.raises(ShapeError):
        traj.replace(actions=np.full((7, 3), 9))
    with pytest.raises(ConfigError):
        traj.replace(unknown=1)


def test_equality() -> None:
    a, b = full_trajectory(), full_trajectory()
    assert a == b
    assert a != full_trajectory(seed=1)
    assert a != a.replace(rewards=a.rewards.astype(np.float64))  # dtypes count
    assert a != a.replace(
        metadata=TrajectoryMeta(
            agent_ids=("x", "y", "z"), num_actions=4, num_symbols=2, num_contexts=2
        )
    )
    with pytest.raises(TypeError):
        hash(a)


# ---------------------------------------------------------------------------------------------
# metadata


def test_metadata_inference() -> None:
    logits = np.zeros((2, 1, 5))
    assert Trajectory([[0], [4]], [[0.0], [0.0]], logits=logits).metadata.num_actions == 5
    traj = Trajectory([[0], [1]], [[0.0], [0.0]], action_names=["left", "right"])
    assert traj.metadata.num_actions == 2
    traj = Trajectory(
        [[0], [1]],
        [[0.0], [0.0]],
        num_actions=2,
        messages=[[0], [2]],
        message_logits=np.zeros((2, 1, 3)),
    )
    assert traj.metadata.num_symbols == 3
    cf = np.zeros((2, 2, 2, 6, 3))
    assert (
        Trajectory(
            np.zeros((2, 2), int), np.zeros((2, 2)), counterfactual_logits=cf
        ).metadata.num_actions
        == 3
    )


def test_metadata_dict_like_the_agents_layer_writes() -> None:
    meta = {
        "agent_ids": ["agent_0", "agent_1"],
        "action_names": ["up", "down", "stay"],
        "env": "harvest",
        "map": "small",
        "seed": np.int64(4),
        "episode": 1,
        "influence_alignment": "next_step",
    }
    traj = Trajectory(np.zeros((2, 2), int), np.zeros((2, 2)), metadata=meta, seed=5)
    m = traj.metadata
    assert m.env_name == "harvest"
    assert m.num_actions == 3
    assert m.seed == 5  # keyword overrides the dict
    # the legacy influence key becomes the typed spec (variable: actions, no comm setting)
    assert m.extra == {"map": "small", "episode": 1}
    assert m.influence_spec == InfluenceSpec(alignment="next_step", variable="actions")


def test_meta_round_trip_and_normalisation() -> None:
    loose: dict[str, Any] = {"num_actions": np.int64(3), "env_version": 2}
    meta = TrajectoryMeta(
        agent_ids=["a", "b"],  # type: ignore[arg-type]
        **loose,
        extra={"t": (1, 2), "x": np.float32(0.5), "arr": np.arange(2)},
    )
    assert meta.agent_ids == ("a", "b")
    assert meta.env_version == "2"
    assert meta.extra == {"t": [1, 2], "x": 0.5, "arr": [0, 1]}
    assert TrajectoryMeta.from_dict(meta.to_dict()) == meta


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"agent_ids": ("a", "a"), "num_actions": 2}, ConfigError, "unique"),
        ({"agent_ids": (), "num_actions": 2}, ShapeError, "at least one"),
        ({"agent_ids": ("a",), "num_actions": 0}, ConfigError, "num_actions"),
        ({"agent_ids": ("a",), "num_actions": 2.0}, DTypeError, "num_actions"),
        ({"agent_ids": ("a",), "num_actions": 2, "action_names": ["x"]}, ShapeError, "names"),
        ({"agent_ids": ("a",), "num_actions": 2, "extra": {"f": object()}}, DTypeError, "JSON"),
        ({"agent_ids": ("a",), "num_actions": 2, "extra": {"f": float("nan")}}, DTypeError, "NaN"),
        ({"agent_ids": ("a",), "num_actions": 2, "env_name": 3.5}, DTypeError, "env_name"),
    ],
)
def test_meta_validation(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        TrajectoryMeta(**kwargs)


# ---------------------------------------------------------------------------------------------
# validation errors name the field and the step / agent


def _base(**kw: Any) -> Trajectory:
    args: dict[str, Any] = {
        "actions": np.zeros((4, 2), int),
        "rewards": np.zeros((4, 2)),
        "num_actions": 3,
    }
    args.update(kw)
    return Trajectory(**args)


def _nan_at(shape: tuple[int, ...], index: tuple[int, ...]) -> np.ndarray:
    x = np.zeros(shape)
    x[index] = np.nan
    return x


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"actions": np.zeros((4,), int)}, ShapeError, r"actions: expected shape \(T, N\)"),
        (
            {"actions": np.full((4, 2), 0.5)},
            DTypeError,
            r"actions: expected integer labels \(whole floats such as 3\.0 are accepted\); got "
            r"0\.5 at index \(0, 0\)",
        ),
        ({"actions": np.zeros((4, 0), int)}, ShapeError, "at least one agent"),
        ({"rewards": np.zeros((3, 2))}, ShapeError, r"rewards: expected an array of shape"),
        ({"rewards": np.array([["a"] * 2] * 4)}, DTypeError, "rewards: expected a float"),
        (
            {"actions": np.array([[0, 0], [0, 0], [0, 3], [0, 0]])},
            ShapeError,
            r"actions: expected values in \[0, num_actions=3\); got 3 at step 2, agent 1 "
            r"\(agent_1\)",
        ),
        (
            {"actions": np.array([[0, 0], [-1, 0], [0, 0], [0, 0]])},
            ShapeError,
            "got -1 at step 1, agent 0",
        ),
        (
            {"messages": np.array([[0, 0], [0, 0], [0, 0], [2, 0]]), "num_symbols": 2},
            ShapeError,
            r"messages: expected values in \[0, num_symbols=2\) \(or -1 for none\); got 2 at "
            r"step 3, agent 0",
        ),
        ({"messages": np.zeros((4, 2), int)}, ConfigError, "num_symbols"),
        (
            {"logits": _nan_at((4, 2, 3), (1, 1, 2))},
            InvalidDistributionError,
            r"logits: .*NaN at step 1, agent 1 \(agent_1\), entry \(2,\)",
        ),
        ({"logits": np.full((4, 2, 3), np.inf)}, InvalidDistributionError, r"\+inf at step 0"),
        (
            {"logits": np.where(np.arange(3) < 3, -np.inf, 0) * np.ones((4, 2, 1))},
            InvalidDistributionError,
            "all actions masked",
        ),
        ({"logits": np.zeros((4, 2, 4))}, ShapeError, "num_actions=3"),
        ({"logits": np.zeros((4, 3, 3))}, ShapeError, r"logits: expected an array of shape"),
        (
            {"message_logits": _nan_at((4, 2, 2), (3, 0, 0)), "num_symbols": 2},
            InvalidDistributionError,
            "message_logits: .*NaN at step 3, agent 0",
        ),
        (
            {"counterfactual_logits": _nan_at((4, 2, 2, 3, 3), (2, 1, 0, 1, 1))},
            InvalidDistributionError,
            "counterfactual_logits: .*NaN at step 2, agent 1",
        ),
        ({"counterfactual_logits": np.zeros((4, 2, 2, 3))}, ShapeError, r"\(T, N, N, K, A\)"),
        ({"visible": np.full((4, 2, 2), 2)}, DTypeError, "visible: expected booleans"),
        ({"visible": np.zeros((4, 2, 3), bool)}, ShapeError, r"visible: expected .*\(T, N, N\)"),
        ({"influence": np.zeros((4, 2))}, ShapeError, "influence"),
        ({"obs": np.zeros((4, 3, 5))}, ShapeError, r"obs: expected shape \(T, N, \.\.\.\)"),
        ({"obs": np.full((4, 2), "x")}, DTypeError, "obs"),
        (
            {"episode_ids": [0, 0, 1, 0]},
            ShapeError,
            "episode 0 starts at step 0 and again at step 3",
        ),
        ({"episode_ids": [0, 0, 1]}, ShapeError, "episode_ids"),
        ({"episode_ids": [0.0, 0.5, 1.0, 1.0]}, DTypeError, "episode_ids: .*got 0.5 at index 1"),
        ({"t": [0, 1, 3, 4]}, ShapeError, "from t=1 to t=3 at step 2"),
        ({"t": [-1, 0, 1, 2]}, ShapeError, "t: expected steps >= 0"),
        ({"episode_ids": [0, 0, 1, 1], "dones": [0, 1, 0, 1]}, ConfigError, "one of"),
        (
            {"dones": np.array([[0, 0], [1, 0], [0, 0], [1, 1]], bool)},
            ShapeError,
            "different steps",
        ),
        ({"agent_ids": ["a", "b", "c"]}, ShapeError, "N=2"),
        ({"num_actions": None}, ConfigError, "num_actions"),
    ],
)
def test_validation_errors(kwargs: dict, error: type, pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        _base(**kwargs)


def test_errors_subclass_builtins() -> None:
    with pytest.raises(ValueError, match="num_actions"):
        _base(actions=np.full((4, 2), 7))
    with pytest.raises(TypeError):
        _base(actions=np.full((4, 2), 0.5))


def test_one_label_rule_with_the_validation_module() -> None:
    """Whole floats are labels everywhere (constructor and long tables), as in the core's
    :func:`causal_influence.validation.as_labels`; the error keeps its location."""
    from causal_influence.errors import error_location

    traj = _base(actions=np.array([[0.0, 2.0]] * 4), episode_ids=[0.0, 0.0, 1.0, 1.0])
    assert traj.actions.dtype == np.int64
    assert traj.actions[0].tolist() == [0, 2]
    assert traj.episode_ids.tolist() == [0, 0, 1, 1]
    df = traj.to_dataframe()
    back = Trajectory.from_dataframe(df.assign(action=df["action"].astype(float)))
    assert back == traj
    for bad in (np.nan, np.inf, 1.5):
        actions = np.zeros((4, 2))
        actions[2, 1] = bad
        with pytest.raises(DTypeError) as info:
            _base(actions=actions)
        assert error_location(info.value) == ("actions", (2, 1))
    with pytest.raises(DTypeError, match="booleans are masks"):
        _base(actions=np.zeros((4, 2), bool))


# ---------------------------------------------------------------------------------------------
# from_arrays


def test_from_arrays_layouts_agree() -> None:
    traj = full_trajectory(fields=("logits", "visible", "messages"))
    arrays = traj.to_dict()
    meta: dict[str, Any] = {
        "num_actions": 4,
        "num_symbols": 2,
        "env_name": "harvest",
        "env_version": "v0",
        "seed": 3,
        "extra": {"map": "small", "horizon": 7},
    }
    assert Trajectory.from_arrays(arrays, **meta) == traj
    ids = traj.metadata.agent_ids
    per_field = {
        name: (
            {a: arr[:, i] for i, a in enumerate(ids)} if name not in ("episode_ids", "t") else arr
        )
        for name, arr in arrays.items()
    }
    assert Trajectory.from_arrays(per_field, **meta) == traj
    per_agent: dict = {
        a: {
            name: arrays[name][:, i]
            for name in ("actions", "rewards", "logits", "visible", "messages")
        }
        for i, a in enumerate(ids)
    }
    per_agent["episode_ids"] = arrays["episode_ids"]
    assert Trajectory.from_arrays(per_agent, **meta) == traj


def test_from_arrays_agent_order_and_ids() -> None:
    data = {
        "bob": {"actions": [1, 1], "rewards": [0.0, 0.0]},
        "amy": {"actions": [0, 0], "rewards": [1.0, 1.0]},
    }
    traj = Trajectory.from_arrays(data, num_actions=2)
    assert traj.metadata.agent_ids == ("bob", "amy")
    np.testing.assert_array_equal(traj.actions, [[1, 0], [1, 0]])
    ordered = Trajectory.from_arrays(data, num_actions=2, agent_ids=["amy", "bob"])
    np.testing.assert_array_equal(ordered.actions, [[0, 1], [0, 1]])


def test_from_arrays_per_agent_dones() -> None:
    data = {
        "agent_0": {"actions": [0, 0, 0], "rewards": [0, 0, 0], "dones": [False, True, False]},
        "agent_1": {"actions": [1, 1, 1], "rewards": [0, 0, 0], "dones": [False, True, False]},
    }
    traj = Trajectory.from_arrays(data, num_actions=2)
    np.testing.assert_array_equal(traj.episode_ids, [0, 0, 1])


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        ({"actions": [[0]], "rewards": [[0.0]], "acts": [[0]]}, ConfigError, "unknown key 'acts'"),
        ({"actions": [[0]]}, ConfigError, "missing required fields"),
        (
            {"actions": {"a": [0], "b": [0]}, "rewards": {"a": [0.0]}},
            ConfigError,
            r"field 'rewards' has no entry for agents \['b'\]; every agent needs 'rewards'",
        ),
        (
            {"actions": {"a": [0], "b": [0, 1]}, "rewards": {"a": [0.0], "b": [0.0]}},
            ShapeError,
            r"actions: per-agent arrays differ in length \[\('a', 1\), \('b', 2\)\]; every "
            r"agent needs the same number of steps T",
        ),
        (
            {"a": {"actions": [0], "rewards": [0.0], "values": [1.0]}},
            ConfigError,
            "unknown per-agent field 'values'",
        ),
        (
            {"actions": [[0]], "rewards": [[0.0]], "episode_ids": {"a": [0]}},
            ConfigError,
            "shared by all agents",
        ),
        ([[0]], DTypeError, "dict of arrays"),
    ],
)
def test_from_arrays_errors(data, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        Trajectory.from_arrays(data, num_actions=2)


# ---------------------------------------------------------------------------------------------
# DataFrames


@pytest.mark.parametrize("vectors", ["wide", "lists"])
@pytest.mark.parametrize("fields", [(), ("messages",), ("logits", "obs"), OPTIONAL_FIELDS])
def test_dataframe_round_trip(vectors: str, fields: tuple[str, ...]) -> None:
    traj = full_trajectory(fields=fields)
    df = traj.to_dataframe(vectors=vectors)
    assert list(df.columns[:5]) == ["episode", "t", "agent", "action", "reward"]
    assert len(df) == traj.num_steps * traj.num_agents
    assert Trajectory.from_dataframe(df) == traj


def test_dataframe_rows_against_a_loop() -> None:
    traj = full_trajectory(fields=("logits", "influence"))
    df = traj.to_dataframe()
    assert traj.logits is not None
    assert traj.influence is not None
    row = 0
    for s in range(traj.num_steps):
        for a in range(traj.num_agents):
            rec = df.iloc[row]
            assert rec["episode"] == traj.episode_ids[s]
            assert rec["t"] == traj.t[s]
            assert rec["agent"] == a
            assert rec["action"] == traj.actions[s, a]
            assert rec["logit_2"] == traj.logits[s, a, 2]
            assert rec["influence_1"] == traj.influence[s, a, 1]  # row = influencer
            row += 1


def test_dataframe_columns_selection() -> None:
    traj = full_trajectory()
    df = traj.to_dataframe(columns=["logits"])
    assert "logit_0" in df.columns
    assert "obs_0" not in df.columns
    with pytest.raises(ConfigError):
        traj.to_dataframe(columns=["nope"])
    with pytest.raises(ConfigError):
        traj.to_dataframe(vectors="long")


def test_from_dataframe_external_table() -> None:
    """A table as another codebase writes it: string agent ids, shuffled rows, list logits."""
    rng = np.random.default_rng(2)
    rows: list[dict[str, Any]] = []
    for ep in (3, 1):
        for t in range(4):
            for agent in ("agent_10", "agent_2"):
                rows.append(
                    {
                        "episode": ep,
                        "t": t,
                        "agent": agent,
                        "action": int(rng.integers(3)),
                        "reward": float(rng.random()),
                        "logits": list(rng.normal(size=3)),
                        "extra_col": "ignored",
                    }
                )
    df = pd.DataFrame(rows)
    shuffled = df.sample(frac=1.0, random_state=0).reset_index(drop=True)
    traj = Trajectory.from_dataframe(shuffled, env_name="other")
    # string ids keep the order in which they first appear: never re-sorted
    assert traj.metadata.agent_ids == tuple(dict.fromkeys(shuffled["agent"]))
    assert Trajectory.from_dataframe(df).metadata.agent_ids == ("agent_10", "agent_2")
    first = int(shuffled["episode"].iloc[0])
    assert traj.episode_index.tolist() == [first, 4 - first]  # order of first appearance
    for rec in rows:
        s = traj.episode_slices[traj.episode_index.tolist().index(rec["episode"])].start
        a = traj.metadata.agent_ids.index(rec["agent"])
        assert traj.actions[s + rec["t"], a] == rec["action"]
        assert traj.logits is not None
        np.testing.assert_allclose(traj.logits[s + rec["t"], a], rec["logits"])
    no_episode = df[df["episode"] == 3].drop(columns=["episode"])
    assert Trajectory.from_dataframe(no_episode).num_episodes == 1


def _df() -> pd.DataFrame:
    traj = full_trajectory(fields=("logits", "messages"))
    df = traj.to_dataframe()
    df.attrs.clear()
    return df


def _set(df: pd.DataFrame, row: int, col: str, value) -> pd.DataFrame:
    df = df.copy()
    df.loc[row, col] = value
    return df


@pytest.mark.parametrize(
    ("make", "error", "pattern"),
    [
        (lambda df: df.drop(columns=["reward"]), ShapeError, "column 'reward': missing column"),
        (
            lambda df: df.assign(action=df["action"] + 0.5),
            DTypeError,
            r"column 'action', row 0: expected whole numbers \(an index\); got \d+\.5",
        ),
        (lambda df: df.assign(reward=["x"] * len(df)), DTypeError, "column 'reward'"),
        (
            lambda df: df.drop(index=7),
            ShapeError,
            r"column 'agent', row 6 .*episode 5, t 2.*ragged table: .*no row for agent 1",
        ),
        (
            lambda df: pd.concat([df, df.iloc[[4]]]),
            ShapeError,
            r"column 'agent', row 21 \[index label 4\].*duplicate row: rows 4 and 21",
        ),
        (
            lambda df: df[df["t"] != 1],
            ShapeError,
            r"column 't', row 3 \[index label 6\] \(episode 5, t 2, agent 0\): ragged episode: "
            r"episode 5 jumps from t=0 to t=2",
        ),
        (
            lambda df: _set(df, 10, "action", 4),
            ShapeError,
            r"column 'action', row 10 \(episode 2, t 0, agent 1\): actions: expected values in "
            r"\[0, num_actions=4\); got 4",
        ),
        (
            lambda df: _set(df, 13, "logit_1", np.nan),
            InvalidDistributionError,
            r"column 'logits', row 13 \(episode 2, t 1, agent 1\): logits: .*NaN",
        ),
        (
            lambda df: _set(df, 2, "message", 5),
            ShapeError,
            r"column 'message', row 2 \(episode 5, t 0, agent 2\)",
        ),
        (lambda df: df.drop(columns=["logit_1"]), ShapeError, "logit_1.*without gaps"),
        (
            lambda df: _set(df, 3, "agent", 7),
            ShapeError,
            r"column 'agent', row 3 .*agent index 7 is outside \[0, N=3\)",
        ),
        (lambda df: df.assign(t=df["t"] - 5), ShapeError, r"column 't', row 0 .*negative"),
    ],
)
def test_from_dataframe_errors_name_column_and_row(make, error: type, pattern: str) -> None:
    df = make(_df())
    with pytest.raises(error, match=pattern):
        Trajectory.from_dataframe(
            df, agent_ids=["agent_0", "agent_1", "agent_2"], num_actions=4, num_symbols=2
        )


def test_from_dataframe_ragged_list_column() -> None:
    """Agents may differ in width (heterogeneous agents); one agent's rows may not."""
    df = pd.DataFrame(
        {
            "t": [0, 0, 1, 1],
            "agent": [0, 1, 0, 1],
            "action": [0, 1, 1, 0],
            "reward": 0.0,
            "logits": [[0.0, 0.0], [0.0], [0.0], [0.0]],
        }
    )
    with pytest.raises(
        ShapeError,
        match=r"column 'logits', row 2 \(t 1, agent 0\): agent 0 has rows with 2 and 1 entries",
    ):
        Trajectory.from_dataframe(df)
    with pytest.raises(ShapeError, match=r"column 'visible', row 1.*ragged list column"):
        Trajectory.from_dataframe(
            df.assign(logits=[[0.0]] * 4, visible=[[True, True], [True], [True], [True]])
        )


def test_from_dataframe_unknown_string_agent() -> None:
    df = pd.DataFrame({"t": [0, 0], "agent": ["a", "z"], "action": [0, 1], "reward": 0.0})
    with pytest.raises(ShapeError, match=r"column 'agent', row 1.*'z' is not one of"):
        Trajectory.from_dataframe(df, agent_ids=["a", "b"], num_actions=2)


# ---------------------------------------------------------------------------------------------
# concat


def test_concat() -> None:
    a = full_trajectory(episode_ids=[0, 0, 0, 1, 1, 2, 2])
    b = full_trajectory(episode_ids=[3, 3, 4, 4, 4, 4, 4], seed=1)
    both = concat([a, b])
    assert both.num_episodes == 5
    assert both.select_episodes([3, 4]) == b
    renum = concat([b, a], renumber=True)
    np.testing.assert_array_equal(renum.episode_index, [0, 1, 2, 3, 4])
    with pytest.raises(ShapeError, match="renumber=True"):
        concat([a, a])
    with pytest.raises(ConfigError, match="optional fields"):
        concat([a, a.replace(obs=None)], renumber=True)
    other_env = Trajectory(
        a.actions, a.rewards, num_actions=4, num_symbols=2, num_contexts=2, env_name="cleanup"
    )
    with pytest.raises(ConfigError, match="env_name"):
        concat([a.replace(**dict.fromkeys(a.fields)), other_env], renumber=True)
    with pytest.raises(ConfigError):
        concat([])


def test_concat_merges_metadata() -> None:
    a = Trajectory([[0]], [[0.0]], num_actions=1, seed=1, extra={"k": 1, "j": 2})
    b = Trajectory([[0]], [[0.0]], num_actions=1, seed=2, extra={"k": 1, "j": 3})
    merged = concat([a, b], renumber=True).metadata
    assert merged.seed is None
    assert merged.extra == {"k": 1}


# ---------------------------------------------------------------------------------------------
# hypothesis: random small trajectories survive every representation


@st.composite
def trajectories(draw) -> Trajectory:
    n = draw(st.integers(1, 3))
    a = draw(st.integers(1, 4))
    m = draw(st.integers(1, 3))
    lengths = draw(st.lists(st.integers(1, 4), min_size=0, max_size=3))
    t_ = sum(lengths)
    ids = draw(
        st.lists(st.integers(-5, 50), min_size=len(lengths), max_size=len(lengths), unique=True)
    )
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    fields = draw(st.sets(st.sampled_from(OPTIONAL_FIELDS)))
    float_dtype = draw(st.sampled_from([np.float32, np.float64]))
    arrays: dict[str, Any] = {
        "messages": rng.integers(0, m, (t_, n)),
        "context": rng.integers(-1, m, (t_, n)),
        "logits": rng.normal(size=(t_, n, a)).astype(float_dtype),
        "message_logits": rng.normal(size=(t_, n, m)).astype(float_dtype),
        "visible": rng.random((t_, n, n)) < 0.5,
        "influence": rng.random((t_, n, n)).astype(float_dtype),
        "counterfactual_logits": rng.normal(size=(t_, n, n, 2, a)),
        "obs": rng.integers(-3, 3, (t_, n, 2)).astype(np.int16),
    }
    starts = np.repeat(rng.integers(0, 3, len(lengths)), lengths) if lengths else np.zeros(0, int)
    return Trajectory(
        actions=rng.integers(0, a, (t_, n)),
        rewards=rng.normal(size=(t_, n)).astype(float_dtype),
        episode_ids=np.repeat(ids, lengths).astype(int),
        t=np.concatenate([np.arange(x) for x in lengths]).astype(int) + starts if lengths else None,
        **{f: arrays[f] for f in fields},
        num_actions=a,
        num_symbols=m,
        num_contexts=m,
        seed=seed,
        extra={"source": "hypothesis"},
    )


@settings(max_examples=40, deadline=None)
@given(trajectories())
def test_round_trips_property(traj: Trajectory) -> None:
    assert Trajectory.from_arrays(traj.to_dict(), metadata=traj.metadata) == traj
    assert Trajectory.from_dataframe(traj.to_dataframe()) == traj
    assert Trajectory.from_dataframe(traj.to_dataframe(vectors="lists")) == traj
    if traj.num_episodes:
        assert concat(list(traj.split_episodes(1))) == traj
        assert concat(list(traj.episodes())) == traj
        reversed_ids = traj.episode_index[::-1].tolist()
        assert (
            traj.select_episodes(reversed_ids).select_episodes(traj.episode_index.tolist()) == traj
        )


# ---------------------------------------------------------------------------------------------
# the context field: labels in [0, G), -1 = no context


def context_trajectory() -> Trajectory:
    return Trajectory(
        actions=[[0, 1], [1, 0], [1, 1]],
        rewards=np.zeros((3, 2)),
        messages=[[2, 0], [1, 0], [0, 0]],
        context=[[2, -1], [1, -1], [0, -1]],  # the speaker sees a target, the listener none
        episode_ids=[0, 0, 1],
        num_actions=2,
        num_symbols=3,
        context_names=["red", "green", "blue"],
    )


def test_context_field_and_metadata() -> None:
    traj = context_trajectory()
    assert traj.context is not None
    assert traj.context.dtype == np.int64
    assert traj.context.tolist() == [[2, -1], [1, -1], [0, -1]]
    assert not traj.context.flags.writeable
    assert traj.metadata.num_contexts == 3
    assert traj.metadata.context_names == ("red", "green", "blue")
    assert "context" in traj.fields
    assert TrajectoryMeta.from_dict(traj.metadata.to_dict()) == traj.metadata
    # files written before the field existed have no num_contexts: 0, no context
    old = {k: v for k, v in traj.metadata.to_dict().items() if not k.startswith("context")}
    del old["num_contexts"]
    assert TrajectoryMeta.from_dict(old).num_contexts == 0
    assert Trajectory([[0]], [[0.0]], num_actions=1).metadata.num_contexts == 0
    assert traj.replace(context=None).fields == ("messages",)


def test_context_round_trips_through_arrays_and_tables() -> None:
    traj = context_trajectory()
    meta = {"num_actions": 2, "num_symbols": 3, "context_names": ["red", "green", "blue"]}
    assert Trajectory.from_arrays(traj.to_dict(), **meta) == traj
    names = ("actions", "rewards", "messages", "context")
    per_agent: dict[str, Any] = {
        a: {name: traj.to_dict()[name][:, i] for name in names}
        for i, a in enumerate(traj.metadata.agent_ids)
    }
    per_agent["episode_ids"] = traj.episode_ids
    assert Trajectory.from_arrays(per_agent, **meta) == traj
    for vectors in ("wide", "lists"):
        assert Trajectory.from_dataframe(traj.to_dataframe(vectors=vectors)) == traj
    # a table from elsewhere: the listener's missing context is NaN (float column) or NA
    df = traj.to_dataframe()
    df.attrs = {}
    with_nan = df.assign(context=df["context"].where(df["context"] >= 0, np.nan))
    assert with_nan["context"].dtype.kind == "f"
    assert Trajectory.from_dataframe(with_nan, **meta) == traj
    nullable = df.assign(context=with_nan["context"].astype("Int64"))
    assert Trajectory.from_dataframe(nullable, **meta) == traj
    assert Trajectory.from_dataframe(df.drop(columns="context"), **meta).context is None


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"context": [[3]], "num_contexts": 3}, ShapeError, r"context: expected values in \[-1"),
        ({"context": [[-2]], "num_contexts": 3}, ShapeError, r"got -2 at step 0, agent 0"),
        ({"context": [[0]]}, ConfigError, "pass num_contexts=G"),
        ({"context": [[0.5]], "num_contexts": 1}, DTypeError, "context: expected integer labels"),
        ({"context": [0], "num_contexts": 1}, ShapeError, r"context: expected an array of shape"),
        ({"num_contexts": 2, "context_names": ["a"]}, ShapeError, "context_names: expected"),
        ({"num_contexts": -1}, ConfigError, "num_contexts: expected an integer >= 0"),
    ],
)
def test_context_validation(kwargs: dict, error: type, pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        Trajectory([[0]], [[0.0]], num_actions=1, **kwargs)


def test_context_from_dataframe_errors_name_the_row() -> None:
    df = context_trajectory().to_dataframe()
    df.attrs = {}
    bad = df.assign(context=df["context"].astype(float))
    bad.loc[3, "context"] = 0.5
    with pytest.raises(DTypeError, match=r"column 'context', row 3.*whole-number labels"):
        Trajectory.from_dataframe(bad, num_actions=2, num_symbols=3, num_contexts=3)
    with pytest.raises(ShapeError, match=r"column 'context', row 0\b.*values in \[-1"):
        Trajectory.from_dataframe(df, num_actions=2, num_symbols=3, num_contexts=2)
    text = df.assign(context=df["context"].astype(str))
    with pytest.raises(DTypeError, match=r"column 'context'.*expected an integer column"):
        Trajectory.from_dataframe(text, num_actions=2, num_symbols=3, num_contexts=3)


def test_concat_requires_the_same_contexts() -> None:
    traj = context_trajectory()
    parts = list(traj.episodes())
    assert concat(parts) == traj
    other = parts[1].replace(metadata=TrajectoryMeta(**{**_meta_kw(traj), "context_names": None}))
    with pytest.raises(ConfigError, match="context_names"):
        concat([parts[0], other])


def _meta_kw(traj: Trajectory) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(traj.metadata)
