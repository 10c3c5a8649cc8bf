"""Files of older schema versions still load.

``tests/data/v1_comm.{parquet,json,npz}`` were written by causal-influence with schema
version 1 (before heterogeneous agents and typed influence metadata) from the arrays of
:func:`v1_arrays`, with the influence options in the free-form ``extra`` dict as producers
wrote them then. They are never rewritten: they pin what old files hold.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import causal_influence.io as ci_io
from causal_influence.io.files import read_header
from causal_influence.trajectory import InfluenceSpec

DATA = Path(__file__).resolve().parent.parent / "data"


def v1_arrays() -> dict[str, Any]:
    """The arrays the version-1 fixture was written from (same seed, same order of draws)."""
    rng = np.random.default_rng(1313)
    t, n, a, m = 6, 2, 3, 2
    cf = rng.normal(size=(t, n, n, m, a))
    return {
        "actions": rng.integers(0, a, (t, n)),
        "rewards": rng.normal(size=(t, n)),
        "episode_ids": np.array([4, 4, 4, 7, 7, 7]),
        "messages": rng.integers(0, m, (t, n)),
        "logits": rng.normal(size=(t, n, a)).astype(np.float32),
        "message_logits": rng.normal(size=(t, n, m)),
        "visible": rng.random((t, n, n)) < 0.5,
        "influence": rng.random((t, n, n)),
        "counterfactual_logits": cf,
        "obs": rng.integers(0, 9, (t, n, 2, 2), dtype=np.uint8),
    }


@pytest.mark.parametrize("name", ["v1_comm.parquet", "v1_comm.npz"])
def test_version_1_files_load_with_their_arrays(name: str) -> None:
    if name.endswith(".parquet"):
        assert json.loads((DATA / "v1_comm.json").read_text())["schema_version"] == 1
    traj = ci_io.load(DATA / name)
    expected = v1_arrays()
    # Converted: the next-step counterfactual row at the last step of episode 4 (step 2) is
    # absent in the current layout; the trajectory's own last step (an episode it may have
    # cut) keeps its row.
    expected["counterfactual_logits"][2] = -np.inf
    for field, value in expected.items():
        got = getattr(traj, field)
        assert got.dtype == value.dtype, field
        np.testing.assert_array_equal(got, value, err_msg=field)
    assert traj.metadata.agent_ids == ("agent_0", "agent_1")
    assert (traj.metadata.num_actions, traj.metadata.num_symbols) == (3, 2)
    assert (traj.metadata.env_name, traj.metadata.env_version, traj.metadata.seed) == (
        "toy",
        "v0",
        5,
    )
    # the influence options of the free-form extra dict became the typed spec
    assert traj.metadata.influence_spec == InfluenceSpec(
        alignment="next_step", variable="messages", divergence="jsd"
    )
    assert traj.metadata.extra == {"setting": "comm", "run": "fixture"}


@pytest.mark.parametrize("suffix", [".parquet", ".npz"])
def test_version_1_files_save_again_as_the_current_version(tmp_path: Path, suffix: str) -> None:
    traj = ci_io.load(DATA / f"v1_comm{suffix}")
    again = ci_io.load(ci_io.save(traj, tmp_path / f"again{suffix}"))
    assert again == traj
    assert read_header(tmp_path / f"again{suffix}").version == ci_io.SCHEMA_VERSION == 2
