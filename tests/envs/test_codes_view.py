"""The ``"codes"`` view layout: one integer per cell that decodes to the symbolic view."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

from causal_influence.errors import ConfigError
from envs import code_table, harvest, make_vector
from envs._observe import code_dtype, num_codes


@pytest.mark.parametrize("game", ["harvest", "cleanup"])
@pytest.mark.parametrize("beams", [False, True])
def test_codes_decode_to_the_symbolic_view(game: str, beams: bool) -> None:
    """Same seeds and actions: the code table applied to the codes view equals the symbolic
    view at every step, with removals (hit timeouts) and beams drawn or not."""
    kw = {
        "map": f"small_{game}",
        "num_agents": 3,
        "max_cycles": 25,
        "hit_timeout": 2,
        "beams_in_obs": beams,
    }
    sym = make_vector(game, 4, seed=1, obs_type="symbolic", **kw)
    codes = make_vector(game, 4, seed=1, obs_type="codes", **kw)
    table = code_table(3, beams)
    assert np.array_equal(table, codes.game.code_table)
    o_sym, o_codes = sym.reset(), codes.reset()
    rng = np.random.default_rng(0)
    removed = 0
    for _ in range(60):  # two episodes and a reset
        view = o_codes["view"]
        assert view.shape == (4, 3, 15, 15, 1)
        assert view.dtype == np.uint8
        assert np.array_equal(table[view[..., 0]], o_sym["view"])
        assert np.array_equal(o_codes["visible"], o_sym["visible"])
        removed += int((~codes.game.on_map).sum())
        acts = rng.integers(0, sym.config.num_actions, (4, 3))
        o_sym, *_ = sym.step(acts)
        o_codes, *_ = codes.step(acts)
    assert removed > 0  # the all-zero view of a removed agent was compared too


def test_code_table_rows_are_the_channels() -> None:
    table = code_table(2, True)
    assert table.shape == (num_codes(2, True), 4 + 2 + 1)
    assert table[0].sum() == 0  # floor and padding
    assert table[1].tolist() == [1, 0, 0, 0, 0, 0, 0]  # wall
    assert table[4 + 5 * 1].tolist() == [0, 0, 0, 1, 1, 0, 0]  # agent 0 on the river
    assert table[3 + 5 * (0 + 3 * 1)].tolist() == [0, 0, 1, 0, 0, 0, 1]  # beam over waste
    assert (table.sum(0) > 0).all()  # every channel is reachable


def test_wide_codes_use_two_bytes() -> None:
    """More than 256 codes (here 60 agents): the view is uint16 and still decodes."""
    rows = ["@" * 34] + ["@" + "P" * 32 + "@"] * 2 + ["@" + "A" * 32 + "@", "@" * 34]
    assert code_dtype(50, False) is np.uint8
    assert code_dtype(60, False) is np.uint16
    kw = {"map": tuple(rows), "num_agents": 60, "view_radius": 3, "max_cycles": 5}
    codes = make_vector("harvest", 2, seed=0, obs_type="codes", **kw)
    sym = make_vector("harvest", 2, seed=0, obs_type="symbolic", **kw)
    view = codes.reset()["view"]
    assert view.dtype == np.uint16
    assert int(view.max()) >= 256
    assert np.array_equal(code_table(60, False)[view[..., 0]], sym.reset()["view"])


def test_pettingzoo_api_with_codes() -> None:
    env = harvest.parallel_env(map="small_harvest", num_agents=3, obs_type="codes", max_cycles=30)
    space = env.observation_space("agent_0")["view"]
    assert space.shape == (15, 15, 1)
    assert space.high.max() == num_codes(3, False) - 1
    parallel_api_test(env, num_cycles=40)


def test_unknown_obs_type_names_the_layouts() -> None:
    with pytest.raises(ConfigError, match="'rgb', 'symbolic' or 'codes'"):
        make_vector("harvest", 1, obs_type="bits")
