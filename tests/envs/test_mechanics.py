"""Rules of Harvest and Cleanup, checked scenario by scenario (docs/envs.md).

Most scenarios are those of the reference code's own test suite, replayed on its small test maps
(docs/envs.md, "Maps"); statistical ones use many envs at once and a binomial tolerance. Each
section below names the section of docs/envs.md whose rules it checks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from causal_influence.errors import ConfigError, ShapeError
from envs import Game, VectorEnv, cleanup_config, harvest_config
from envs.maps import BASE_MAP_2, CLEANUP_MAP, HARVEST_MAP, parse_map

# BASE_MAP_2 without its two spawn points, so that up to 16 agents can be placed by hand.
OPEN_MAP_2 = tuple(row.replace("P", " ") for row in BASE_MAP_2)

UP, RIGHT, DOWN, LEFT = 0, 1, 2, 3
ML, MR, MU, MD, STAY, CW, CCW, FIRE, CLEAN = range(9)


def game(cfg_fn=harvest_config, num_envs=1, seed=0, **kw) -> Game:
    g = Game(cfg_fn(**kw), num_envs)
    g.reset([seed + b for b in range(num_envs)])
    return g


def place(g: Game, layout: list[tuple[tuple[int, int], int]], env_index: int | None = None) -> None:
    """Place agents (position, orientation) in order, parking them first out of the way."""
    envs = range(g.num_envs) if env_index is None else [env_index]
    for b in envs:
        free = [tuple(p) for p in np.argwhere(~g.config.parsed.wall)]
        wanted = {p for p, _ in layout}
        parking = [p for p in free if p not in wanted][: g.num_agents]
        for i in range(g.num_agents):
            g.positions[b, i] = (-100 - i, -100)  # off the map while re-placing
        for i in range(g.num_agents):
            target, facing = layout[i] if i < len(layout) else (parking[i], UP)
            g.set_agent(b, i, target, facing)


def clear(g: Game) -> None:
    """Remove apples and waste everywhere (floor / clean river)."""
    g.grid[g.grid == 2] = 0
    g.grid[g.grid == 3] = 4


def step(g: Game, *actions: int):
    return g.step(np.tile(np.array(actions, dtype=np.int64), (g.num_envs, 1)))


# --------------------------------------------------------------------------- maps (docs: "Maps")


def test_reference_map_counts() -> None:
    h = parse_map(HARVEST_MAP)
    assert (h.height, h.width) == (16, 38)
    assert int(h.apple_cells.sum()) == 155
    assert len(h.spawn_points) == 20
    c = parse_map(CLEANUP_MAP)
    assert int(c.river_cells.sum()) == 119  # potential waste area
    assert int(c.initial_waste.sum()) == 56
    assert int(c.apple_cells.sum()) == 103
    with pytest.raises(ConfigError, match="unknown characters"):
        parse_map(["@X@"])
    with pytest.raises(ConfigError, match="same non-zero length"):
        parse_map(["@@", "@"])
    with pytest.raises(ConfigError, match="spawn points"):
        harvest_config(map="mini_harvest", num_agents=3)


# ------------------------------------------ movement (docs: "Movement", "Conflicts")


@pytest.mark.parametrize(
    ("facing", "expected"),
    [
        (UP, {ML: (0, -1), MR: (0, 1), MU: (-1, 0), MD: (1, 0)}),
        (LEFT, {ML: (1, 0), MR: (-1, 0), MU: (0, -1), MD: (0, 1)}),
        (DOWN, {ML: (0, 1), MR: (0, -1), MU: (1, 0), MD: (-1, 0)}),
        (RIGHT, {ML: (-1, 0), MR: (1, 0), MU: (0, 1), MD: (0, -1)}),
    ],
)
def test_egocentric_moves(facing: int, expected: dict[int, tuple[int, int]]) -> None:
    for action, delta in [*expected.items(), (STAY, (0, 0))]:
        g = game(map="base_map_1", num_agents=1)
        place(g, [((3, 3), facing)])
        step(g, action)
        assert tuple(g.positions[0, 0]) == (3 + delta[0], 3 + delta[1])


def test_walls_block_and_turns_rotate() -> None:
    g = game(map="base_map_1", num_agents=1)
    place(g, [((1, 1), UP)])
    step(g, MU)
    step(g, ML)
    assert tuple(g.positions[0, 0]) == (1, 1)
    for expected in (RIGHT, DOWN, LEFT, UP):
        step(g, CW)
        assert g.orientations[0, 0] == expected
    for expected in (LEFT, DOWN, RIGHT, UP):
        step(g, CCW)
        assert g.orientations[0, 0] == expected


def positions(g: Game, b: int = 0) -> list[tuple[int, int]]:
    return [tuple(int(v) for v in p) for p in g.positions[b]]


def test_swap_fails_and_blocked_moves() -> None:
    g = game(map="base_map_2", num_agents=2)
    place(g, [((3, 3), UP), ((3, 4), UP)])
    step(g, MR, STAY)
    assert positions(g) == [(3, 3), (3, 4)]
    step(g, MR, ML)  # head-on swap
    assert positions(g) == [(3, 3), (3, 4)]
    step(g, MR, MU)  # following into a vacated cell works
    assert positions(g) == [(3, 4), (2, 4)]


def test_ties_are_uniform_and_three_way_ties_give_one_third() -> None:
    b = 3000
    g = game(map=OPEN_MAP_2, num_agents=3, num_envs=b)
    place(g, [((3, 2), UP), ((3, 4), UP), ((2, 3), UP)])
    step(g, MR, ML, MD)
    winners = np.array([[tuple(p) == (3, 3) for p in g.positions[e]] for e in range(b)])
    assert (winners.sum(axis=1) == 1).all()  # exactly one enters
    share = winners.mean(axis=0)
    se = math.sqrt((1 / 3) * (2 / 3) / b)
    assert np.all(np.abs(share - 1 / 3) < 5 * se)


def test_chain_behind_a_contested_cell() -> None:
    b = 2000
    g = game(map=OPEN_MAP_2, num_agents=3, num_envs=b)
    place(g, [((3, 2), UP), ((3, 4), UP), ((2, 2), UP)])
    step(g, MR, ML, MD)
    for e in range(b):
        pos = positions(g, e)
        zero_won = pos[0] == (3, 3)
        assert (pos[2] == (3, 2)) == zero_won  # agent 2 follows exactly when agent 0 moves
        assert len(set(pos)) == 3
    share = np.mean([positions(g, e)[0] == (3, 3) for e in range(b)])
    assert abs(share - 0.5) < 5 * math.sqrt(0.25 / b)


def test_cycle_of_four_rotates_and_blocked_cycle_stays() -> None:
    g = game(map=OPEN_MAP_2, num_agents=4)
    place(g, [((3, 2), UP), ((2, 3), UP), ((2, 2), UP), ((3, 3), UP)])
    step(g, MU, MD, MR, ML)  # counter-clockwise rotation of the 2x2 block
    assert positions(g) == [(2, 2), (3, 3), (2, 3), (3, 2)]
    g = game(map=OPEN_MAP_2, num_agents=4)
    place(g, [((3, 2), UP), ((2, 3), UP), ((2, 2), UP), ((3, 3), UP)])
    step(g, MU, MD, MD, ML)  # 2 and 3 contest (3,2), whose occupant swaps with 2
    assert positions(g) == [(3, 2), (2, 3), (2, 2), (3, 3)]


def test_blocked_chain_stays_and_no_double_occupancy() -> None:
    # docs/envs.md, "Conflicts", rule 3: the reference's double-occupancy case. C is blocked by D
    # (turning), so the winner of the A/B tie must not enter C's cell.
    b = 500
    g = game(map="base_map_1", num_agents=4, num_envs=b)
    place(g, [((2, 2), UP), ((2, 4), UP), ((2, 3), UP), ((1, 3), UP)])
    step(g, MR, ML, MU, CW)
    for e in range(b):
        assert positions(g, e) == [(2, 2), (2, 4), (2, 3), (1, 3)]
    # Agent into a wall-blocked agent: nothing changes.
    g = game(map="base_map_2", num_agents=2)
    place(g, [((2, 1), UP), ((1, 1), UP)])
    step(g, MU, ML)
    assert positions(g) == [(2, 1), (1, 1)]


# --------------------------------------------------------- beams (docs: "Beams", "Rewards")

FOOTPRINTS = {
    UP: [
        "@.....F.....@",
        "@....FFF....@",
        "@....FFF....@",
        "@....FFF....@",
        "@....FFF....@",
        "@....FPF....@",
    ],
    RIGHT: ["@.....FFFFF.@", "@.....PFFFFF@", "@.....FFFFF.@"],
    LEFT: ["@.FFFFF.....@", "@FFFFFP.....@", "@.FFFFF.....@"],
}


@pytest.mark.parametrize("facing", [UP, RIGHT, DOWN, LEFT])
def test_fire_footprints(facing: int) -> None:
    g = game(map="fire_range", num_agents=1)
    place(g, [((6, 6), facing)])
    step(g, FIRE)
    rows = g.char_map(0)
    if facing == UP:
        assert rows[1:7] == FOOTPRINTS[UP]
    elif facing == DOWN:
        assert rows[6:12] == ["@....FPF....@"] + ["@....FFF....@"] * 4 + ["@.....F.....@"]
    else:
        assert rows[5:8] == FOOTPRINTS[facing]
    assert sum(r.count("F") for r in rows) == 15


def test_beam_absorbed_by_agent_penalties_and_apples_untouched() -> None:
    g = game(map="base_map_2", num_agents=2)
    place(g, [((3, 3), UP), ((3, 4), LEFT)])
    out = step(g, ML, FIRE)
    assert g.char_map(0) == ["@@@@@@", "@....@", "@FFFF@", "@.FFP@", "@FFFF@", "@@@@@@"]
    assert out.extrinsic[0].tolist() == [-50.0, -1.0]
    assert out.events["hits"][0].tolist() == [1, 0]
    assert out.events["hits_given"][0].tolist() == [0, 1]
    step(g, STAY, STAY)
    assert g.char_map(0)[3] == "@.P.P@"
    g = game(map="mini_harvest", num_agents=2)
    place(g, [((4, 2), UP), ((4, 4), LEFT)])
    step(g, STAY, FIRE)
    assert g.char_map(0)[2:5] == ["@..AA@", "@FFFF@", "@.FFP@"]
    step(g, STAY, STAY)
    assert g.char_map(0)[2:5] == ["@..AA@", "@..AA@", "@.PAP@"]


def test_eating_rewards_every_agent_on_an_apple() -> None:
    g = game(map="mini_harvest", num_agents=2)
    place(g, [((2, 2), UP), ((3, 2), UP)])
    out = step(g, MR, MR)
    assert out.extrinsic[0].tolist() == [1.0, 1.0]
    assert out.events["apples"][0].tolist() == [1, 1]


def test_cleaning_beam_converts_first_waste_per_ray() -> None:
    g = game(cleanup_config, map="firing_cleanup", num_agents=2)
    place(g, [((3, 3), LEFT), ((4, 2), UP)])
    out = step(g, CLEAN, STAY)
    assert g.char_map(0) == ["@@@@@@", "@....@", "@HCC.@", "@RCP.@", "@HCC.@", "@@@@@@"]
    assert out.events["cleaned"][0].tolist() == [2, 0]
    step(g, STAY, STAY)
    assert g.char_map(0) == ["@@@@@@", "@....@", "@HR..@", "@RRP.@", "@HP..@", "@@@@@@"]


def test_fire_passes_waste_and_cleans_nothing() -> None:
    g = game(cleanup_config, map="firing_cleanup", num_agents=2)
    place(g, [((3, 3), LEFT), ((4, 2), UP)])
    step(g, FIRE, STAY)
    assert g.char_map(0)[2:5] == ["@FFF.@", "@FFP.@", "@HFF.@"]
    step(g, STAY, STAY)
    assert g.char_map(0)[2:5] == ["@HH..@", "@RHP.@", "@HP..@"]


def test_cleaning_under_an_agent_and_beams_add_up() -> None:
    g = game(cleanup_config, map="firing_cleanup", num_agents=2)
    place(g, [((1, 3), DOWN), ((2, 2), UP)])
    step(g, CLEAN, STAY)
    assert g.grid[0, 2, 2] == 4  # river under agent 1
    # Two cleaners in one step: the second ray passes the cell the first cleaned.
    b = 400
    g = game(cleanup_config, map="firing_cleanup", num_agents=2, num_envs=b)
    place(g, [((4, 3), LEFT), ((2, 3), LEFT)])
    g.grid[:, 3, 2] = 3
    g.grid[:, 3, 1] = 3
    out = step(g, CLEAN, CLEAN)
    # Whichever beam goes second passes (3,2), cleaned by the first, and cleans (3,1).
    assert (out.events["cleaned"].sum(axis=1) == 4).all()
    # Afterwards only (2,1) is waste (density 0.2): the spawn re-pollutes (3,1) w.p. ~0.23.
    p = (1 - 0.5**4) / 4
    assert abs((g.grid[:, 3, 1] == 3).mean() - p) < 5 * math.sqrt(p * (1 - p) / b)


# ----------------- dynamics (docs: "Harvest: regrowth", "Cleanup: pollution and the orchard")


def test_harvest_regrowth_probability_matches_neighbour_rule() -> None:
    b = 4000
    g = game(map="mini_harvest", num_agents=1, num_envs=b)
    place(g, [((1, 1), UP)])
    clear(g)
    g.grid[:, 2, 3] = 2  # one apple at (2,3): (2,4), (3,3), (3,4) have 1 neighbour
    step(g, STAY)
    grew = (g.grid[:, 3, 4] == 2).mean()
    assert abs(grew - 0.005) < 5 * math.sqrt(0.005 * 0.995 / b)
    g = game(map="mini_harvest", num_agents=1, num_envs=b)
    place(g, [((1, 1), UP)])
    clear(g)
    g.grid[:, 2, 3] = 2
    g.grid[:, 2, 4] = 2
    g.grid[:, 3, 4] = 2  # (3,3) has 3 neighbours -> 0.05
    step(g, STAY)
    grew = (g.grid[:, 3, 3] == 2).mean()
    assert abs(grew - 0.05) < 5 * math.sqrt(0.05 * 0.95 / b)


def test_regrowth_disc_option_reaches_distance_two() -> None:
    b = 3000
    for rule, expected in (("moore", 0.0), ("disc", 0.005)):
        g = game(map="small_harvest", num_agents=1, num_envs=b, regrowth=rule)
        place(g, [((1, 1), UP)])
        clear(g)
        g.grid[:, 2, 4] = 2  # (2,6) is at distance 2 on the row: disc neighbour only
        step(g, STAY)
        grew = (g.grid[:, 2, 6] == 2).mean()
        assert abs(grew - expected) < 5 * math.sqrt(max(expected, 1e-4) / b)


def test_cleanup_waste_and_apple_probabilities() -> None:
    b = 4000
    g = game(cleanup_config, map="cleanup_prob", num_agents=2, num_envs=b)
    place(g, [((3, 3), LEFT), ((4, 3), LEFT)])
    # Make exactly 4 of 5 river cells clean: density 0.2 -> apple p = 0.025, waste p = 0.5.
    rivers = np.argwhere(g.config.parsed.river_cells)
    g.grid[:, rivers[:, 0], rivers[:, 1]] = 4
    g.grid[:, rivers[0, 0], rivers[0, 1]] = 3
    g.grid[:, g.config.parsed.apple_cells] = 0
    before = g.grid.copy()
    step(g, STAY, STAY)
    new_waste = ((g.grid == 3) & (before != 3)).sum(axis=(1, 2))
    assert new_waste.max() == 1
    p_waste = 1 - 0.5**4
    assert abs(new_waste.mean() - p_waste) < 5 * math.sqrt(p_waste * (1 - p_waste) / b)
    orchard = g.config.parsed.apple_cells
    apples = (g.grid[:, orchard] == 2).mean()
    assert abs(apples - 0.025) < 5 * math.sqrt(0.025 * 0.975 / (b * orchard.sum()))
    # Above the depletion threshold nothing spawns.
    g = game(cleanup_config, map="cleanup_prob", num_agents=2, num_envs=200)
    place(g, [((3, 3), LEFT), ((4, 3), LEFT)])
    before = g.grid.copy()
    step(g, STAY, STAY)
    assert (g.grid == before).all()


def test_waste_can_appear_under_an_agent() -> None:
    b = 3000
    g = game(cleanup_config, map="cleanup_prob", num_agents=2, num_envs=b)
    place(g, [((3, 1), UP), ((4, 3), UP)])
    rivers = np.argwhere(g.config.parsed.river_cells)
    g.grid[:, rivers[:, 0], rivers[:, 1]] = 4  # all clean: density 0
    step(g, STAY, STAY)
    assert 0 < (g.grid[:, 3, 1] == 3).mean() < 0.5


# ---------------------------------------- observations (docs: "Observations", "Visibility")


@pytest.mark.parametrize("obs_type", ["rgb", "symbolic", "codes"])
@pytest.mark.parametrize("facing", [UP, RIGHT, DOWN, LEFT])
def test_view_orientation_is_consistent(obs_type: str, facing: int) -> None:
    g = game(map="fire_range", num_agents=1, obs_type=obs_type, view_radius=2)
    place(g, [((6, 6), facing)])
    clear(g)
    d = {UP: (-1, 0), RIGHT: (0, 1), DOWN: (1, 0), LEFT: (0, -1)}[facing]
    left = {UP: (0, -1), RIGHT: (-1, 0), DOWN: (0, 1), LEFT: (1, 0)}[facing]
    g.set_cell(0, (6 + d[0], 6 + d[1]), "A")  # ahead: apple
    g.set_cell(0, (6 + left[0], 6 + left[1]), "H")  # left: waste
    g.set_cell(0, (6 - d[0], 6 - d[1]), "R")  # behind: river
    view = g.observations()["view"][0, 0]
    v = 2
    if obs_type == "rgb":
        assert view[v - 1, v].tolist() == [0, 255, 0]
        assert view[v, v - 1].tolist() == [99, 156, 194]
        assert view[v + 1, v].tolist() == [113, 75, 24]
        assert view[v, v].tolist() == [0, 0, 255]
    elif obs_type == "codes":  # content + 5 * (1 + agent): apple 2, waste 3, river 4
        assert view[v - 1, v, 0] == 2
        assert view[v, v - 1, 0] == 3
        assert view[v + 1, v, 0] == 4
        assert view[v, v, 0] == 0 + 5 * (1 + 0)
    else:
        assert view[v - 1, v, 1] == 1
        assert view[v, v - 1, 2] == 1
        assert view[v + 1, v, 3] == 1
        assert view[v, v, 4] == 1


def test_symbolic_and_rgb_views_describe_the_same_cells() -> None:
    rgb = game(cleanup_config, seed=3, obs_type="rgb")
    sym = game(cleanup_config, seed=3, obs_type="symbolic")
    rng = np.random.default_rng(0)
    for _ in range(30):
        acts = rng.integers(0, 9, (1, 5))
        rgb.step(acts)
        sym.step(acts)
    a = rgb.observations()["view"][0]
    s = sym.observations()["view"][0]
    agent_cols = rgb._agent_cols
    for i in range(5):
        for k in range(5):
            assert ((a[i] == agent_cols[k]).all(-1) == (s[i, ..., 4 + k] == 1)).all()
        no_agent = s[i, ..., 4:].sum(-1) == 0
        assert ((a[i] == [180, 180, 180]).all(-1) == (s[i, ..., 0] == 1))[no_agent].all()
        assert ((a[i] == [0, 255, 0]).all(-1) == (s[i, ..., 1] == 1))[no_agent].all()
        assert ((a[i] == [99, 156, 194]).all(-1) == (s[i, ..., 2] == 1))[no_agent].all()


def test_visibility_is_a_square_window() -> None:
    g = game(map="base_map_1", num_agents=3, view_radius=2)
    place(g, [((1, 1), UP), ((1, 3), UP), ((1, 5), UP)])
    vis = g.observations()["visible"][0]
    assert vis.tolist() == [[1, 1, 0], [1, 1, 1], [0, 1, 1]]


def test_twelve_agents_have_distinct_colours() -> None:
    g = game(num_agents=12)
    rng = np.random.default_rng(1)
    for _ in range(5):
        g.step(rng.integers(0, 8, (1, 12)))
    assert len({tuple(c) for c in g._agent_cols}) == 12
    img = g.render(0)
    for i in range(12):
        r, c = g.positions[0, i]
        if g.beams[0, r, c] == 0:
            assert img[r, c].tolist() == g._agent_cols[i].tolist()


# ------------------------------------------- options (docs: "Options", "Reward transforms")


def test_inequity_aversion_has_the_hughes_sign() -> None:
    g = game(map="mini_harvest", num_agents=2, inequity_alpha=5.0, inequity_beta=0.05)
    place(g, [((2, 2), UP), ((1, 1), UP)])
    out = step(g, MR, STAY)  # agent 0 eats: raw (1, 0)
    assert out.extrinsic[0].tolist() == [1.0, 0.0]
    assert out.rewards[0] == pytest.approx([0.95, -5.0])


def test_collective_reward_and_hit_timeouts() -> None:
    g = game(map="mini_harvest", num_agents=2, collective_reward=True)
    place(g, [((2, 2), UP), ((1, 1), UP)])
    out = step(g, MR, STAY)
    assert out.rewards[0].tolist() == [1.0, 1.0]
    for mode in ("remove", "freeze"):
        g = game(map="base_map_2", num_agents=2, hit_timeout=2, hit_timeout_mode=mode)
        place(g, [((3, 3), UP), ((3, 4), LEFT)])
        step(g, STAY, FIRE)
        out = step(g, MU, STAY)
        assert out.events["timeout"][0].tolist() == [1, 0]
        assert (g.on_map[0, 0]) == (mode == "freeze")
        if mode == "freeze":
            assert positions(g)[0] == (3, 3)  # frozen: its move is ignored
        step(g, STAY, STAY)
        out = step(g, STAY, STAY)
        assert out.events["timeout"][0].tolist() == [0, 0]
        assert g.on_map[0].all()


def test_beams_visible_in_observations_when_enabled() -> None:
    g = game(map="base_map_2", num_agents=2, beams_in_obs=True, obs_type="symbolic")
    place(g, [((3, 3), UP), ((3, 4), LEFT)])
    step(g, STAY, FIRE)
    assert g.observations()["view"][0, 1, ..., -1].sum() > 0
    g = game(map="base_map_2", num_agents=2, obs_type="rgb")
    place(g, [((3, 3), UP), ((3, 4), LEFT)])
    step(g, STAY, FIRE)
    assert not (g.observations()["view"][0, 1] == [255, 255, 0]).all(-1).any()


# ------------------------------------------- batched form (docs: "Episodes and randomness")


def test_batched_matches_independent_single_envs_across_resets() -> None:
    cfg = cleanup_config(map="small_cleanup", num_agents=3, max_cycles=25, num_symbols=3)
    venv = VectorEnv(cfg, 4, seed=11)
    seeds = venv.env_seeds()
    singles = [Game(cfg, 1) for _ in range(4)]
    obs = venv.reset()
    for b, s in enumerate(singles):
        s.reset([seeds[b]])
        for k, v in s.observations().items():
            np.testing.assert_array_equal(v[0], obs[k][b])
    rng = np.random.default_rng(0)
    for t in range(60):
        acts = np.stack([rng.integers(0, 9, (4, 3)), rng.integers(0, 3, (4, 3))], axis=-1)
        obs, rewards, _, truncated, _ = venv.step(acts)
        for b, s in enumerate(singles):
            out = s.step(acts[b : b + 1, :, 0], acts[b : b + 1, :, 1])
            np.testing.assert_array_equal(out.rewards[0], rewards[b])
            if s.t[0] >= cfg.max_cycles:
                assert truncated[b]
                s.reset([None])
            for k, v in s.observations().items():
                np.testing.assert_array_equal(v[0], obs[k][b], err_msg=f"{k} t={t} env={b}")


def test_invariants_under_random_play() -> None:
    for cfg_fn in (harvest_config, cleanup_config):
        g = game(cfg_fn, num_envs=16, num_agents=5, hit_timeout=3)
        pm = g.config.parsed
        rng = np.random.default_rng(5)
        for _ in range(300):
            g.step(rng.integers(0, g.config.num_actions, (16, 5)))
            for b in range(16):
                onmap = g.on_map[b]
                cells = {tuple(p) for p in g.positions[b][onmap]}
                assert len(cells) == int(onmap.sum())
            apples = g.grid == 2
            assert not (apples & ~pm.apple_cells).any()
            waste = g.grid == 3
            assert not (waste & ~pm.river_cells).any()
            assert g.positions.shape == (16, 5, 2)


def test_bad_actions_raise_typed_errors() -> None:
    g = game(map="small_harvest", num_agents=2)
    with pytest.raises(ShapeError, match="expected shape"):
        g.step(np.zeros((1, 3), dtype=int))
    with pytest.raises(ShapeError, match=r"\[0, 8\)"):
        g.step(np.full((1, 2), 8))
    with pytest.raises(ConfigError, match="channel is off"):
        g.step(np.zeros((1, 2), dtype=int), np.zeros((1, 2), dtype=int))


def test_two_independent_ties_and_a_tie_for_a_vacated_cell() -> None:
    b = 2000
    # Reference conflict case 8: two ties in one step, each won by either side about half.
    g = game(map=OPEN_MAP_2, num_agents=4, num_envs=b)
    place(g, [((3, 2), UP), ((3, 4), UP), ((1, 2), UP), ((1, 4), UP)])
    step(g, MU, MU, MD, MD)
    first = np.array([positions(g, e)[0] == (2, 2) for e in range(b)])
    second = np.array([positions(g, e)[1] == (2, 4) for e in range(b)])
    se = 5 * math.sqrt(0.25 / b)
    assert abs(first.mean() - 0.5) < se
    assert abs(second.mean() - 0.5) < se
    assert abs((first & second).mean() - 0.25) < 5 * math.sqrt(0.25 * 0.75 / b)
    # Reference conflict case 10: the occupant leaves, two agents contest its cell.
    g = game(map=OPEN_MAP_2, num_agents=4, num_envs=b)
    place(g, [((3, 2), UP), ((1, 4), UP), ((2, 2), UP), ((3, 3), UP)])
    step(g, MD, STAY, MD, ML)
    for e in range(b):
        pos = positions(g, e)
        assert pos[0] == (4, 2)
        assert (pos[2] == (3, 2)) != (pos[3] == (3, 2))
        if pos[3] == (3, 2):
            assert pos[2] == (2, 2)
    share = np.mean([positions(g, e)[2] == (3, 2) for e in range(b)])
    assert abs(share - 0.5) < se
