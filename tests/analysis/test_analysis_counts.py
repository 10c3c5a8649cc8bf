"""The tables' tests and speaker consistency are computed from the accumulated counts: the same
results, draw for draw and bit for bit, as the core functions on the labels behind the counts."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

from analysis.speaker_consistency import _speaker_consistency_counts
from causal_influence.communication import SC_DEFINITIONS, speaker_consistency
from causal_influence.errors import ShapeError, UndefinedConditionalWarning
from causal_influence.information import permutation_test, permutation_test_counts


def labels(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Paired labels whose contingency table is ``table`` (in a shuffled order)."""
    codes = np.repeat(np.arange(table.size), table.ravel())
    codes = np.random.default_rng(0).permutation(codes)
    return codes // table.shape[1], codes % table.shape[1]


def random_table(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    table = rng.integers(0, 30, size=(rows, cols))
    table[rng.random(rows) < 0.3] = 0  # empty rows and columns, as with unused symbols
    table[:, rng.random(cols) < 0.3] = 0
    table[0, 0] += 1
    return table


@pytest.mark.parametrize("seed", range(6))
def test_permutation_test_of_counts_is_the_test_of_the_labels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    table = random_table(rng, int(rng.integers(1, 6)), int(rng.integers(1, 7)))
    for base in (None, 2):
        ours = permutation_test_counts(table, n_resamples=300, base=base, rng=seed)
        ref = permutation_test(*labels(table), n_resamples=300, base=base, rng=seed)
        assert dataclasses.asdict(ours) == dataclasses.asdict(ref)


def test_permutation_test_of_counts_refuses_bad_tables() -> None:
    with pytest.raises(ShapeError):
        permutation_test_counts(np.zeros((2, 2), dtype=int))
    with pytest.raises(ShapeError):
        permutation_test_counts([[1.5, 2.0], [1.0, 0.0]])
    with pytest.raises(ShapeError):
        permutation_test_counts([1, 2, 3])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("definition", SC_DEFINITIONS)
def test_speaker_consistency_of_counts_is_that_of_the_labels(seed: int, definition: str) -> None:
    rng = np.random.default_rng(seed)
    m, a, n = 4, 5, 3
    tables = np.stack([random_table(rng, m, a) for _ in range(n)])
    tables[:, 0, 0] += 1000 - tables.sum(axis=(1, 2))  # equal totals, as in one dataset
    pairs = [labels(t) for t in tables]
    msg = np.stack([p[0] for p in pairs], axis=1)
    act = np.stack([p[1] for p in pairs], axis=1)
    kw = {"definition": definition, "num_symbols": m, "num_actions": a, "base": 2.0}
    cases = [(tables[k], msg[:, k], act[:, k]) for k in range(n)]
    if definition != "mi":
        cases.append((tables, msg, act))
    for table, x, y in cases:
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            ours = _speaker_consistency_counts(table, definition, m, a, 2.0)
        with warnings.catch_warnings(record=True) as expected:
            warnings.simplefilter("always")
            ref = speaker_consistency(x, y, **kw)
        assert ours == float(ref)
        assert [(w.category, str(w.message)) for w in got] == [
            (w.category, str(w.message)) for w in expected
        ]
        if definition != "mi" and (table.sum(axis=-1) == 0).any():
            assert got
            assert got[0].category is UndefinedConditionalWarning
