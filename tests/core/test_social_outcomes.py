"""Social outcomes against docs/metrics.md closed-form case 13 and a plain-loop reference."""

from __future__ import annotations

import numpy as np
import pytest

from causal_influence.errors import EstimatorWarning, ShapeError
from causal_influence.social import gini, social_outcomes


def test_case13_gini() -> None:
    assert gini([3, 1, 0, 0]) == pytest.approx(0.625)
    assert 1 - gini([3, 1, 0, 0]) == pytest.approx(0.375)
    assert 4 * (1 - gini([3, 1, 0, 0])) == pytest.approx(1.5)
    assert gini([5, 0, 0, 0]) == pytest.approx(0.75)
    with pytest.warns(EstimatorWarning):
        assert np.isnan(gini([-1, 0]))


def test_case13_episode_metrics() -> None:
    r = np.array([[1, 0], [0, 0], [1, 0], [0, 2]])
    tout = np.array([[0, 0], [0, 0], [1, 0], [1, 0]], bool)
    row = social_outcomes(r, timeouts=tout).iloc[0]
    assert row["utilitarian"] == 1.0
    assert row["equality"] == 1.0
    assert row["sustainability"] == 2.0
    assert row["peace"] == 1.5
    assert social_outcomes(r, timeouts=tout, one_based_time=True).iloc[0]["sustainability"] == 3.0


def loop_reference(r: np.ndarray, ids: np.ndarray) -> list[dict[str, float]]:
    rows = []
    for e in np.unique(ids):
        ep = r[ids == e]
        t_len, n = ep.shape
        ret = ep.sum(0)
        diffs = sum(abs(a - b) for a in ret for b in ret)
        times = [
            np.mean([t for t in range(t_len) if ep[t, i] > 0])
            for i in range(n)
            if (ep[:, i] > 0).any()
        ]
        rows.append(
            {
                "utilitarian": ret.sum() / t_len,
                "equality": 1 - diffs / (2 * n * ret.sum()),
                "sustainability": float(np.mean(times)),
                "length": t_len,
            }
        )
    return rows


def test_matches_plain_loop_over_episodes() -> None:
    rng = np.random.default_rng(0)
    r = rng.integers(0, 3, size=(60, 3)).astype(float)
    ids = np.repeat([0, 1, 2], [10, 30, 20])
    df = social_outcomes(r, episode_ids=ids)
    for got, ref in zip(df.to_dict("records"), loop_reference(r, ids), strict=True):
        for key, value in ref.items():
            assert got[key] == pytest.approx(value)
    assert df["peace"].tolist() == [3.0, 3.0, 3.0]
    assert df[["return_0", "return_1", "return_2"]].to_numpy().sum() == r.sum()


def test_bad_shapes() -> None:
    with pytest.raises(ShapeError):
        social_outcomes(np.zeros(4))
    with pytest.raises(ShapeError):
        social_outcomes(np.ones((4, 2)), timeouts=np.zeros((3, 2)))
