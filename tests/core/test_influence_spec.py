"""Typed influence metadata (:class:`InfluenceSpec`) and the stored counterfactual layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import causal_influence.io as ci_io
from causal_influence import credited_influence, influence_reward
from causal_influence.errors import (
    ConfigError,
    DTypeError,
    FileFormatError,
    InvalidDistributionError,
    ShapeError,
)
from causal_influence.trajectory import (
    InfluenceSpec,
    Trajectory,
    TrajectoryMeta,
    stored_counterfactuals,
)
from causal_influence.trajectory.influence_spec import spec_from_legacy

# ---------------------------------------------------------------------------------------------
# the dataclass


def test_spec_defaults_units_and_round_trip() -> None:
    spec = InfluenceSpec(alignment="next_step", variable="messages")
    assert (spec.divergence, spec.intervention) == ("kl", "policy")
    assert (spec.log_base, spec.lag) == (None, 1)
    assert spec.unit == "nats"
    assert InfluenceSpec(alignment="same_step", log_base=2).unit == "bits"
    assert InfluenceSpec(alignment="same_step", divergence="tv").unit == "probability"
    explicit = InfluenceSpec(alignment="same_step", intervention=np.array([0.25, 0.75]))
    assert explicit.intervention == (0.25, 0.75)
    for s in (spec, explicit):
        assert InfluenceSpec.from_dict(s.to_dict()) == s
    with pytest.raises(AttributeError):
        spec.alignment = "same_step"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"alignment": "later"}, ConfigError, r"alignment: expected one of \['same_step', "),
        (
            {"alignment": "same_step", "variable": "obs"},
            ConfigError,
            r"variable: expected one of \['actions', 'messages'\]; got 'obs'",
        ),
        (
            {"alignment": "same_step", "divergence": "hellinger"},
            ConfigError,
            r"divergence: expected one of \['kl', 'jsd', 'pmi', 'tv'.*got 'hellinger'",
        ),
        (
            {"alignment": "same_step", "divergence": len},
            DTypeError,
            r"divergence: expected the name of a registered divergence; .* register a callable",
        ),
        ({"alignment": "same_step", "log_base": 1}, ConfigError, r"base: expected a positive"),
        ({"alignment": "same_step", "log_base": "2"}, ConfigError, r"log_base: expected None"),
        (
            {"alignment": "same_step", "intervention": "random"},
            ConfigError,
            r"intervention: expected one of \['policy', 'uniform'\]; got 'random'; or give",
        ),
        (
            {"alignment": "same_step", "intervention": [0.5, 0.6]},
            InvalidDistributionError,
            r"intervention: expected probabilities whose distributions \(last axis\) sum to 1",
        ),
    ],
)
def test_spec_validation_messages(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        InfluenceSpec(**kwargs)


def test_spec_from_dict_errors() -> None:
    with pytest.raises(ConfigError, match=r"influence_spec: unknown keys \['lag'\]"):
        InfluenceSpec.from_dict({"alignment": "same_step", "lag": 0})
    with pytest.raises(ConfigError, match=r"influence_spec: missing alignment"):
        InfluenceSpec.from_dict({"variable": "actions"})
    with pytest.raises(DTypeError, match=r"expected an InfluenceSpec or a dict"):
        InfluenceSpec.from_dict("same_step")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# in the metadata, legacy conversion


def test_metadata_holds_the_spec_and_files_round_trip_it(tmp_path: Path) -> None:
    spec = InfluenceSpec(alignment="same_step", divergence="jsd", log_base=2)
    traj = Trajectory(
        [[0, 1], [1, 0]],
        np.zeros((2, 2)),
        influence=np.ones((2, 2, 2)),
        num_actions=2,
        influence_spec=spec.to_dict(),  # a dict is converted
    )
    assert traj.metadata.influence_spec == spec
    assert "influence_spec" not in traj.metadata.extra
    assert TrajectoryMeta.from_dict(traj.metadata.to_dict()) == traj.metadata
    for name in ("t.parquet", "t.npz"):
        back = ci_io.load(ci_io.save(traj, tmp_path / name))
        assert back == traj
        assert back.metadata.influence_spec == spec


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            {"setting": "comm", "influence_alignment": "next_step"},
            InfluenceSpec(alignment="next_step", variable="messages"),
        ),
        (
            {"setting": "moa", "influence_alignment": "next_step", "divergence": "jsd"},
            InfluenceSpec(alignment="next_step", variable="actions", divergence="jsd"),
        ),
        (
            {"influence_alignment": "same_step", "influence_variable": "messages"},
            InfluenceSpec(alignment="same_step", variable="messages"),
        ),
        ({"setting": "none", "influence_alignment": "none", "divergence": "kl"}, None),
    ],
)
def test_legacy_extra_keys_are_converted(extra: dict, expected: InfluenceSpec | None) -> None:
    meta = TrajectoryMeta(agent_ids=("a",), num_actions=2, extra={**extra, "run": 7})
    assert meta.influence_spec == expected
    assert set(meta.extra) == {"run"} | ({"setting"} & set(extra))
    spec, rest = spec_from_legacy({"divergence": "jsd"})  # no alignment: not legacy influence
    assert spec is None
    assert rest == {"divergence": "jsd"}


def test_spec_and_disagreeing_legacy_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"influence_spec: .* disagrees with the legacy keys"):
        TrajectoryMeta(
            agent_ids=("a",),
            num_actions=2,
            influence_spec=InfluenceSpec(alignment="same_step"),
            extra={"influence_alignment": "next_step"},
        )
    agree = TrajectoryMeta(
        agent_ids=("a",),
        num_actions=2,
        influence_spec=InfluenceSpec(alignment="same_step"),
        extra={"influence_alignment": "same_step"},
    )
    assert agree.extra == {}


def test_datasets_must_share_the_spec(tmp_path: Path) -> None:
    a = Trajectory([[0]], [[0.0]], num_actions=2, influence_spec={"alignment": "same_step"})
    b = a.replace(metadata={"influence_spec": {"alignment": "next_step"}})
    ci_io.save(a, tmp_path / "a.npz")
    ci_io.save(b, tmp_path / "b.npz")
    with pytest.raises(FileFormatError, match=r"b\.npz: disagrees with .*a\.npz on influence_spec"):
        _ = ci_io.open_dataset(tmp_path).metadata


# ---------------------------------------------------------------------------------------------
# replace merges


def test_replace_merges_a_dict_and_replaces_with_a_meta() -> None:
    traj = Trajectory(
        [[0, 1]], [[0.0, 0.0]], num_actions=2, env_name="toy", seed=4, extra={"run": 1}
    )
    spec = InfluenceSpec(alignment="same_step")
    merged = traj.replace(metadata={"influence_spec": spec, "extra": {"note": "x"}, "lr": 0.1})
    m = merged.metadata
    assert (m.env_name, m.seed, m.influence_spec) == ("toy", 4, spec)
    assert m.extra == {"run": 1, "note": "x", "lr": 0.1}
    assert merged.replace(metadata={"env": "other"}).metadata.env_name == "other"
    whole = traj.replace(metadata=TrajectoryMeta(agent_ids=("p", "q"), num_actions=2))
    assert (whole.metadata.env_name, whole.metadata.extra) == (None, {})
    with pytest.raises(DTypeError, match="replace: metadata must be a dict"):
        traj.replace(metadata=["seed", 3])  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# the stored layout


def _cf(t: int) -> np.ndarray:
    rng = np.random.default_rng(t)
    return rng.normal(size=(t, 2, 2, 3, 3))


def test_next_step_rows_at_the_end_of_an_episode_are_refused() -> None:
    cf = _cf(5)
    kwargs = {
        "actions": np.zeros((5, 2), int),
        "rewards": np.zeros((5, 2)),
        "episode_ids": [0, 0, 0, 1, 1],
        "num_actions": 3,
        "influence_spec": InfluenceSpec(alignment="next_step"),
    }
    with pytest.raises(
        ShapeError,
        match=r"counterfactual_logits: with alignment='next_step' row t holds influencee j's "
        r"logits at t \+ 1 .* got rows that depend on k's value at step 2 \(the last step of "
        r"episode 0\), pair k=0, j=0\. .*stored_counterfactuals",
    ):
        Trajectory(counterfactual_logits=cf, **kwargs)
    ok = cf.copy()
    ok[2] = -np.inf  # the trajectory's own last step (4) may be cut and is left alone
    traj = Trajectory(counterfactual_logits=ok, **kwargs)
    np.testing.assert_array_equal(traj.counterfactual_logits[4], cf[4])
    # same-step rows exist at every step
    Trajectory(counterfactual_logits=cf, **{**kwargs, "influence_spec": {"alignment": "same_step"}})


def test_the_table_reader_names_the_row_of_a_layout_error() -> None:
    cf = _cf(4)
    traj = Trajectory(
        np.zeros((4, 2), int),
        np.zeros((4, 2)),
        episode_ids=[0, 0, 1, 1],
        num_actions=3,
        counterfactual_logits=cf,
    )
    df = traj.to_dataframe()
    with pytest.raises(ShapeError, match=r"column 'counterfactual_logits', row 2 .*episode 0, t 1"):
        Trajectory.from_dataframe(df, influence_spec=InfluenceSpec(alignment="next_step"))


def test_stored_counterfactuals_of_a_policy_buffer() -> None:
    t_len = 6
    buffer = _cf(t_len + 1)  # row t: the listener's policy at step t; row T: after the batch
    dones = np.array([False, False, True, False, False, False])
    out = stored_counterfactuals(buffer, alignment="next_step", dones=dones)
    np.testing.assert_array_equal(out[[0, 1, 3, 4, 5]], buffer[[1, 2, 4, 5, 6]])
    assert np.isneginf(out[2]).all()
    short = stored_counterfactuals(buffer[:t_len], alignment="next_step", dones=dones)
    assert np.isneginf(short[[2, 5]]).all()  # no policy after the batch: its last row absent
    ends = stored_counterfactuals(buffer, alignment="next_step", dones=np.r_[dones[:-1], True])
    assert np.isneginf(ends[5]).all()  # the batch's last step ends its episode
    moa = stored_counterfactuals(
        buffer[:t_len], alignment="next_step", predicts_next_step=True, dones=dones
    )
    np.testing.assert_array_equal(moa[[0, 1, 3, 4, 5]], buffer[[0, 1, 3, 4, 5]])
    assert np.isneginf(moa[2]).all()
    same = stored_counterfactuals(buffer[:t_len], alignment="same_step", dones=dones)
    np.testing.assert_array_equal(same, buffer[:t_len])
    with pytest.raises(ShapeError, match=r"expected T = 6 rows .*; got"):
        stored_counterfactuals(buffer, alignment="same_step", dones=dones)
    with pytest.raises(ShapeError, match=r"expected shape \(T, N, N, K, A\)"):
        stored_counterfactuals(buffer[0], alignment="same_step")


def test_stored_layout_gives_the_reward_helpers_influence() -> None:
    """The influence credited from a rollout buffer equals the one computed from the stored
    rows (as a model of the next step), so the stored layout is the reward's, not shifted."""
    t_len, n, k = 6, 2, 3
    rng = np.random.default_rng(3)
    buffer = np.zeros((t_len + 1, n, n, k, k))
    buffer[:, 0, 1] = rng.normal(size=(t_len + 1, k, k)) * 2
    logits = rng.normal(size=(t_len, n, k))
    actions = rng.integers(0, k, (t_len, n))
    dones = np.array([False, False, True, False, False, False])
    reward = credited_influence(buffer, logits, actions, alignment="next_step", dones=dones)
    stored = stored_counterfactuals(buffer, alignment="next_step", dones=dones)
    stored_finite = np.where(np.isneginf(stored), 0.0, stored)  # rows the engine does not use
    offline = credited_influence(
        stored_finite,
        logits,
        actions,
        alignment="next_step",
        predicts_next_step=True,
        dones=dones,
    )
    np.testing.assert_allclose(offline, reward, atol=1e-12)
    assert reward[2].sum() == 0  # the message at an episode's last step is never heard
    summed = influence_reward(buffer, logits, actions, alignment="next_step", dones=dones)
    np.testing.assert_allclose(summed, reward.sum(-1))
