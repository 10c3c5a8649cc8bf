"""Tables saved by other codebases: column mappings, missing messages, gymnasium episode
ends, RLlib-style per-agent logits of different widths, and error hints that fit the case."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causal_influence.errors import ConfigError, DTypeError, ShapeError
from causal_influence.trajectory import Trajectory


def rllib_batch() -> pd.DataFrame:
    """Two episodes of a speaker (3 actions) and a listener (5 actions) as a batch of another
    codebase: its own column names, logits as lists of each agent's width, the listener's
    message missing, gymnasium terminated/truncated and no episode column."""
    rows = []
    rng = np.random.default_rng(0)
    for _episode, length in enumerate((3, 2)):
        for t in range(length):
            for agent, width in (("speaker_0", 3), ("listener_0", 5)):
                rows.append(
                    {
                        "step": t,
                        "agent_id": agent,
                        "act": int(rng.integers(width)),
                        "rew": 1.0,
                        "msg": int(rng.integers(3)) if agent == "speaker_0" else None,
                        "action_dist_inputs": list(rng.normal(size=width)),
                        "terminateds": False,
                        "truncateds": t == length - 1,
                    }
                )
    return pd.DataFrame(rows)


MAPPING = {
    "t": "step",
    "agent": "agent_id",
    "action": "act",
    "reward": "rew",
    "message": "msg",
    "logits": "action_dist_inputs",
    "terminated": "terminateds",
    "truncated": "truncateds",
}


def test_a_foreign_batch_reads_with_a_column_mapping() -> None:
    df = rllib_batch()
    traj = Trajectory.from_dataframe(df, columns=MAPPING, num_symbols=3)
    meta = traj.metadata
    assert meta.agent_ids == ("speaker_0", "listener_0")  # first appearance, not sorted
    assert (meta.num_actions, meta.agent_num_actions) == (5, (3, 5))
    np.testing.assert_array_equal(traj.episode_ids, [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(traj.t, [0, 1, 2, 0, 1])
    assert (traj.messages[:, 1] == -1).all()  # NaN messages: no message
    np.testing.assert_array_equal(traj.messages[:, 0], df["msg"].dropna().to_numpy())
    assert np.isneginf(traj.logits[:, 0, 3:]).all()  # padded, no hand padding
    speaker = df[df["agent_id"] == "speaker_0"]["action_dist_inputs"]
    np.testing.assert_array_equal(traj.logits[:, 0, :3], np.stack(speaker.to_list()))
    # field names work as keys too, and wide columns go by their prefix
    wide = df.drop(columns=["action_dist_inputs"])
    padded = np.full((len(df), 5), np.nan)  # wide columns: NaN after an agent's own actions
    for i, cell in enumerate(df["action_dist_inputs"]):
        padded[i, : len(cell)] = cell
    for i in range(5):
        wide[f"pi_{i}"] = padded[:, i]
    mapping = {**MAPPING, "logits": "pi", "actions": "act"}
    del mapping["action"]
    assert Trajectory.from_dataframe(wide, columns=mapping, num_symbols=3) == traj


@pytest.mark.parametrize(
    ("mapping", "error", "message"),
    [
        ({"acton": "act"}, ConfigError, r"columns: unknown column 'acton'; the long table's"),
        ({"action": "actions_taken"}, ConfigError, r"columns: action='actions_taken', but the "),
        ({"logits": "pi"}, ConfigError, r"has no column 'pi' \(nor pi_0, pi_1, \.\.\.\)"),
        ({"reward": "act"}, ConfigError, r"the table already has columns \['reward'\]"),
        ({"action": 3}, DTypeError, r"columns: action= expected a column name"),
    ],
)
def test_column_mapping_errors(mapping: dict, error: type, message: str) -> None:
    df = pd.DataFrame({"t": [0], "agent": [0], "act": [1], "action": [0], "reward": [0.0]})
    if "reward" in mapping:
        df = df.drop(columns=["action"])
    with pytest.raises(error, match=message):
        Trajectory.from_dataframe(df, columns=mapping, num_actions=2)


def test_dones_are_checked_against_an_episode_column() -> None:
    df = pd.DataFrame(
        {
            "episode": [0, 0, 0, 0],
            "t": [0, 0, 1, 1],
            "agent": [0, 1, 0, 1],
            "action": 0,
            "reward": 0.0,
            "done": [True, True, True, True],
        }
    )
    with pytest.raises(
        ShapeError, match=r"column 'done', row 0 .*marked done at t 0, but episode 0 continues"
    ):
        Trajectory.from_dataframe(df, num_actions=1)
    ok = df.assign(done=[False, False, True, True])
    assert Trajectory.from_dataframe(ok, num_actions=1).num_episodes == 1
    split = df.drop(columns=["episode"]).assign(done=[True, False, True, True])
    with pytest.raises(ShapeError, match=r"agents end their episode at different steps \(t 0\)"):
        Trajectory.from_dataframe(split, num_actions=1)


def test_error_hints_fit_the_case() -> None:
    df = pd.DataFrame(
        {"t": [0, 0, 1, 1], "agent": [0, 1, 0, 1], "action": [1, 0, None, 1], "reward": 0.0}
    )
    # a missing action: the hint says to drop or fill rows (astype(int) would fail on NaN)
    with pytest.raises(
        DTypeError,
        match=r"column 'action', row 2: missing value \(NaN\); every row needs its action: drop "
        r"or fill the rows without one \(df\.dropna\(subset=\['action'\]\)\)",
    ):
        Trajectory.from_dataframe(df, num_actions=2)
    # whole-number floats are indices, as everywhere else
    traj = Trajectory.from_dataframe(df.dropna(subset=["action"]).iloc[:2], num_actions=2)
    assert traj.actions.dtype == np.int64
    # a missing message is no message, also in an integer-like float column
    msgs = df.assign(action=[1, 0, 0, 1], message=[2.0, np.nan, 1.0, np.nan])
    assert Trajectory.from_dataframe(msgs, num_actions=2, num_symbols=3).messages.tolist() == [
        [2, -1],
        [1, -1],
    ]
    with pytest.raises(DTypeError, match=r"column 'message', row 0: expected whole-number"):
        Trajectory.from_dataframe(msgs.assign(message=0.5), num_actions=2, num_symbols=3)
    with pytest.raises(DTypeError, match=r"column 'action': expected an integer column; got "):
        Trajectory.from_dataframe(df.assign(action="x"), num_actions=2)
