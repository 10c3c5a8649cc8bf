"""Independent agents: the permutation p-values of the tables are uniform under the null.

Each seed contributes one p-value per test family (pairs within one dataset are dependent),
and the collection is compared with the uniform distribution by a Kolmogorov-Smirnov test.
The p-values live on the grid 1/(B+1), ..., 1, which moves the empirical CDF by at most
1/(B+1) from the continuous uniform: small next to the KS critical value for these sizes.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis.dataset import summarize
from analysis.stats import coordination_table, influence_table, speaker_consistency_table


def independent_data(seed: int, steps: int = 600, agents: int = 3, actions: int = 3) -> dict:
    rng = np.random.default_rng(seed)
    acts = rng.integers(0, actions, size=(steps, agents))
    msgs = rng.integers(0, 4, size=(steps, agents))
    # A non-negative per-step "influence" unrelated to anything (as from a poor model).
    infl = rng.exponential(size=(steps, agents, agents))
    return {
        "actions": acts,
        "messages": msgs,
        "influence": infl,
        "episode_ids": np.repeat(np.arange(6), steps // 6),
        "metadata": {"influence_spec": {"alignment": "next_step", "variable": "messages"}},
    }


def pvalues(seeds: range, permutations: int) -> dict[str, np.ndarray]:
    out: dict[str, list[float]] = {"ic_action": [], "ic_symbol": [], "sc": [], "influence": []}
    for seed in seeds:
        s = summarize(independent_data(seed))
        pair = seed % 6  # a different ordered pair each time; each seed gives one p per family
        ic = coordination_table(s, n_bootstrap=0, n_permutations=permutations, rng=seed)
        act = ic[(ic["kind"] == "action/action") & (ic["subset"] == "all")]
        sym = ic[(ic["kind"] == "symbol/action") & (ic["subset"] == "all")]
        out["ic_action"].append(float(act["p_value"].iloc[pair]))
        out["ic_symbol"].append(float(sym["p_value"].iloc[pair]))
        sc = speaker_consistency_table(
            s, definitions=("mi",), n_bootstrap=0, n_permutations=permutations, rng=seed
        )
        out["sc"].append(float(sc["p_value"].iloc[seed % 3]))
        it = influence_table(s, n_bootstrap=0, n_permutations=permutations, rng=seed)
        out["influence"].append(float(it["observational_p_value"].iloc[pair]))
    return {k: np.asarray(v) for k, v in out.items()}


def check_uniform(p: np.ndarray, name: str) -> None:
    assert p.min() > 0, name
    assert p.max() <= 1, name
    ks = stats.kstest(p, "uniform")
    assert ks.pvalue > 0.001, (name, ks)
    # The test is not anti-conservative at the usual level.
    assert np.mean(p <= 0.05) < 0.05 + 3 * np.sqrt(0.05 * 0.95 / p.size), name


def test_pvalues_uniform_for_independent_agents() -> None:
    for name, p in pvalues(range(120), permutations=199).items():
        check_uniform(p, name)


@pytest.mark.slow
def test_pvalues_uniform_for_independent_agents_many_seeds() -> None:
    for name, p in pvalues(range(1000, 1600), permutations=499).items():
        check_uniform(p, name)


def test_information_intervals_cover_zero_for_independent_agents() -> None:
    """Plug-in MI of independent variables is positive and its bootstrap distribution sits
    higher still, so percentile intervals would exclude the true value 0 almost always; the
    basic intervals of the tables (floored at 0) contain it in most datasets, and the
    bootstrap bias estimate is close to the permutation null's mean (the bias of an
    independent pair)."""
    covered, total, bias, null = 0, 0, [], []
    for seed in range(8):
        data = independent_data(seed, steps=1200)
        data["episode_ids"] = np.repeat(np.arange(24), 50)
        s = summarize(data)
        ic = coordination_table(s, n_bootstrap=200, n_permutations=200, rng=seed)
        sc = speaker_consistency_table(
            s, definitions=("mi",), n_bootstrap=200, n_permutations=0, rng=seed
        )
        rows = ic[ic["subset"] == "all"]
        for frame in (rows, sc):
            assert (frame["ci_low"] <= frame["ci_high"]).all()
            assert (frame["value"] > 0).all()
            covered += int((frame["ci_low"] == 0.0).sum())
            total += len(frame)
        bias.extend(rows["bias"])
        null.extend(rows["null_mean"])
    assert covered / total > 0.8
    assert np.median(bias) == pytest.approx(np.median(null), rel=0.5)
