"""Extension by registration reaches every layer (docs/metrics.md and docs/envs.md).

A divergence, an estimator and a game are each registered here in one call, the way a user (or
a new module of the package) would, and then used through the layers above the one that holds
the registry: the agents' config and command line, the analysis, the report, the offline
model of other agents. The subcommand registry is shown by
``tests/analysis/test_analysis_report_cli.py::test_commands_come_from_the_registry``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numba
import numpy as np
import pytest

from causal_influence.divergences import DIVERGENCES, register_divergence
from causal_influence.errors import ConfigError
from causal_influence.information import (
    ESTIMATORS,
    mutual_information_from_counts,
    register_estimator,
)

# --------------------------------------------------------------------------- divergences


def _squared_hellinger(log_p, log_q):
    both = 0.5 * (log_p + log_q)
    if isinstance(both, np.ndarray):
        return 1.0 - np.exp(both).sum(-1)
    return 1.0 - both.exp().sum(-1)


def _squared_log_ratio(log_p, log_q, actual):
    """(log p(a) - log q(a))^2 at the influencee's realised action a."""
    import torch

    gather = torch.take_along_dim if isinstance(log_p, torch.Tensor) else np.take_along_axis
    idx = actual[..., None]
    return ((gather(log_p, idx, -1) - gather(log_q, idx, -1)) ** 2)[..., 0]


@pytest.fixture
def hellinger() -> Iterator[str]:
    register_divergence("hellinger2_ext", _squared_hellinger, unit="probability")
    yield "hellinger2_ext"
    DIVERGENCES.unregister("hellinger2_ext")


@pytest.fixture
def log_ratio() -> Iterator[str]:
    register_divergence("sq_log_ratio_ext", _squared_log_ratio, needs_actual=True)
    yield "sq_log_ratio_ext"
    DIVERGENCES.unregister("sq_log_ratio_ext")


def test_a_registered_divergence_reaches_the_agents_config_and_command_line(hellinger) -> None:
    from agents.config import TrainConfig
    from agents.train_cli import _config_from_args, build_parser
    from envs.config import harvest_config

    env = harvest_config(map="small_harvest", num_agents=2)
    assert TrainConfig(env=env, setting="basic", divergence=hellinger).divergence == hellinger
    with pytest.raises(ConfigError, match=r"TrainConfig: divergence: .*'hellinger2_ext'\]"):
        TrainConfig(env=env, setting="basic", divergence="hellinger")
    parser = build_parser()
    ns = parser.parse_args(["--divergence", hellinger, "--env-num-agents", "2"])
    assert _config_from_args(ns).divergence == hellinger
    assert hellinger in parser.format_help()
    DIVERGENCES.unregister(hellinger)
    try:
        with pytest.raises(ConfigError, match="divergence"):
            TrainConfig(env=env, setting="basic", divergence=hellinger)
    finally:
        register_divergence(hellinger, _squared_hellinger, unit="probability")


def test_a_registered_divergence_gives_the_report_its_unit(hellinger) -> None:
    from analysis.report import _influence_unit

    assert _influence_unit({"divergence": hellinger}) == "probability"
    assert _influence_unit({"divergence": "jsd"}) == "nats"
    assert _influence_unit({"divergence": "tv"}) == "probability"
    assert _influence_unit({"divergence": "unknown"}) == "unit as stored"
    assert _influence_unit({"divergence": "kl", "influence_unit": "bits"}) == "bits"


def test_a_divergence_at_the_realised_action_gets_it_in_the_offline_model(log_ratio) -> None:
    """The offline fit asks the registry entry (``needs_actual``), not the name ``"pmi"``."""
    from analysis.offline import fit_offline_influence

    rng = np.random.default_rng(0)
    actions = rng.integers(0, 3, size=(80, 2))
    actions[1:, 1] = actions[:-1, 0]
    data = {"actions": actions, "episode_ids": np.repeat([0, 1], 40)}
    common = {"hidden": 4, "epochs": 2, "batch_size": 64, "num_threads": 1, "rng": 0}
    fit = fit_offline_influence(data, divergence=log_ratio, **common)
    pmi = fit_offline_influence(data, divergence="pmi", **common)
    ours, reference = (r.influence.influence.detach().numpy() for r in (fit, pmi))
    np.testing.assert_allclose(ours, reference**2, rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------- estimators


@pytest.fixture
def all_bins() -> Iterator[str]:
    def correction(counts):  # Miller-Madow counting every bin, occupied or not
        return (counts.shape[-1] - 1) / (2.0 * counts.sum(axis=-1))

    register_estimator(
        "mm_all_bins_ext", "Miller-Madow over all bins", entropy_correction=correction
    )
    yield "mm_all_bins_ext"
    ESTIMATORS.unregister("mm_all_bins_ext")


def test_a_registered_estimator_reaches_the_analysis_and_its_command(all_bins) -> None:
    from analysis.cli import build_parser
    from analysis.stats import analyze

    ns = build_parser().parse_args(["analyze", "shards/", "--out", "o", "--estimator", all_bins])
    assert ns.estimator == all_bins
    rng = np.random.default_rng(1)
    actions = rng.integers(0, 3, size=(200, 2))
    actions[1:, 1] = actions[:-1, 0]
    data = {"actions": actions, "episode_ids": np.repeat(np.arange(4), 50)}
    result = analyze(data, estimator=all_bins, n_bootstrap=0, n_permutations=0, progress=False)
    row = result.coordination.query("kind == 'action/action' and k == 0 and j == 1").iloc[0]
    table = result.summary.ic_action.sum(axis=0)[0, 1]
    assert row["estimator"] == all_bins
    assert row["value"] == pytest.approx(
        float(mutual_information_from_counts(table, estimator=all_bins)), abs=1e-12
    )
    with pytest.raises(ConfigError, match="mm_all_bins_ext"):
        analyze(data, estimator="mm_all_bins", n_bootstrap=0, n_permutations=0, progress=False)


# --------------------------------------------------------------------------- games


@numba.njit
def _no_regrowth(grid, occ, u, u_off, growth, rivers, offs, params) -> None:
    """Apples never come back: the orchard is eaten once."""


@pytest.fixture
def orchard() -> Iterator[str]:
    from envs.grid_rules import MOVEMENT_ACTIONS, PENALTY, GridRules, register_grid_game
    from envs.registry import unregister_game

    rules = GridRules(
        action_names=(*MOVEMENT_ACTIONS, "FIRE"),
        beams=(PENALTY,),
        dynamics=_no_regrowth,
        dynamics_params=lambda config: np.zeros(1),
        dynamics_uniforms=0,
        default_map="small_harvest",
    )
    register_grid_game("orchard_ext", rules, module=None)
    yield "orchard_ext"
    unregister_game("orchard_ext")


def test_a_registered_game_is_trained_from_the_command_line(orchard, tmp_path) -> None:
    from agents.train_cli import _config_from_args, build_parser
    from agents.trainer import train

    argv = ["--game", orchard, "--env-num-agents", "2", "--env-max-cycles", "4"]
    argv += ["--num-envs", "2", "--rollout-length", "4", "--total-env-steps", "8"]
    argv += ["--env-obs-type", "symbolic", "--lstm-size", "8", "--fc-hiddens", "8"]
    ns = build_parser().parse_args(argv)
    config = _config_from_args(ns)
    assert config.env.game == orchard
    assert config.env.map_name == "small_harvest"
    result = train(config)
    assert len(result.history) == 1
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--game", "orchard"])
