"""Cleanup (``cleanup_v0``): a public-goods dilemma.

Apples (+1) grow in the orchard only while the river is clean: with waste density d (waste
cells / river cells) the growth probability is 0.05 * (1 - d / 0.4) and nothing grows once
d >= 0.4. Waste appears in the river over time; agents clean it with the CLEAN beam (length 5,
width 3, each ray converts the first waste cell it meets), which earns nothing. Agents can also
FIRE a penalty beam: -1 to the user, -50 to each agent hit. The river starts at density 0.47,
so nothing grows until the agents clean.

=================== ========================================================================
agents              ``agent_0 ... agent_{N-1}`` (default N = 5, reference map 25x18)
actions             ``Discrete(9)``: the 8 Harvest actions plus CLEAN; ``MultiDiscrete([9, M])``
                    with the message channel
observations        as Harvest (``view``, ``actions``, ``visible``, ``messages``)
rewards             +1 apple, -1 FIRE, -50 per hit; optional collective or inequity-averse
episode             truncated after ``max_cycles`` = 1000 steps
=================== ========================================================================

Rules follow the reference code of Jaques et al. 2019, with its defects fixed (consistent
egocentric views, no double occupancy, any N, correct inequity aversion). Pollution adds at
most one waste cell per step (probability 1 - 0.5^k with k clean river cells), as the reference.
The mechanics are described in docs/envs.md ("Cleanup: pollution and the orchard" for the rule
of this module).

This module is also the game's entry in the registry: its rules (:data:`RULES`: the nine
actions, the FIRE and CLEAN beams and :func:`pollution`) are registered under ``"cleanup"``.

Citation: Jaques et al., ICML 2019; Hughes et al., "Inequity aversion improves cooperation in
intertemporal social dilemmas", NeurIPS 2018 (the Cleanup game).

Examples
--------
>>> from envs import cleanup
>>> env = cleanup.parallel_env(map="small_cleanup", num_agents=2, max_cycles=5, num_symbols=3)
>>> env.action_space("agent_0")
MultiDiscrete([9 3])
"""

from __future__ import annotations

from typing import Any, ClassVar

import numba
import numpy as np
from pettingzoo.utils import parallel_to_aec, wrappers

from envs._pettingzoo import SSDParallelEnv
from envs.grid_rules import CLEANING, MOVEMENT_ACTIONS, PENALTY, GridRules, register_grid_game
from envs.maps import APPLE, FLOOR, WASTE

__all__ = ["RULES", "env", "parallel_env", "pollution", "raw_env"]

#: Entries of the ``params`` array of :func:`pollution`.
DEPLETION, RESTORATION, WASTE_SPAWN, APPLE_RESPAWN = range(4)


@numba.njit(cache=True)
def pollution(
    grid: np.ndarray,
    occ: np.ndarray,
    u: np.ndarray,
    u_off: int,
    growth: np.ndarray,
    rivers: np.ndarray,
    offs: np.ndarray,
    params: np.ndarray,
) -> None:
    """Orchard growth and river pollution of B envs (docs/envs.md, "Cleanup: pollution and the
    orchard"). Arguments as in :class:`envs.grid_rules.GridRules` (``offs`` is not used)."""
    for b in range(grid.shape[0]):
        _pollute(grid[b], occ[b], u[b], u_off, growth, rivers, params)


@numba.njit(cache=True)
def _pollute(
    grid: np.ndarray,
    occ: np.ndarray,
    u: np.ndarray,
    u_off: int,
    growth: np.ndarray,
    rivers: np.ndarray,
    params: np.ndarray,
) -> None:
    """One env. With density d = waste cells / river cells: at d >= depletion nothing grows and
    no waste appears; below, each empty unoccupied orchard cell grows an apple with probability
    ``apple_p`` (d <= restoration) or ``apple_p * (1 - d / depletion)``, drawn with
    ``u[u_off + cell]``, and with probability ``1 - (1 - waste_p)^k`` (k clean river cells)
    one clean river cell, chosen uniformly, becomes waste (two more uniforms)."""
    depletion, restoration = params[DEPLETION], params[RESTORATION]
    k_river = rivers.shape[0]
    waste = 0
    for c in range(k_river):
        if grid[rivers[c, 0], rivers[c, 1]] == WASTE:
            waste += 1
    density = waste / k_river if k_river > 0 else 0.0
    if density >= depletion:
        ap = 0.0
        wp = 0.0
    else:
        wp = params[WASTE_SPAWN]
        apple_p = params[APPLE_RESPAWN]
        ap = apple_p if density <= restoration else apple_p * (1.0 - density / depletion)
    for c in range(growth.shape[0]):
        r0, c0 = growth[c, 0], growth[c, 1]
        if grid[r0, c0] == FLOOR and occ[r0, c0] < 0 and u[u_off + c] < ap:
            grid[r0, c0] = APPLE
    clean = k_river - waste
    base = u_off + growth.shape[0]
    if clean > 0 and u[base] < 1.0 - (1.0 - wp) ** clean:
        pick = min(int(u[base + 1] * clean), clean - 1)
        seen = 0
        for c in range(k_river):
            if grid[rivers[c, 0], rivers[c, 1]] != WASTE:
                if seen == pick:
                    grid[rivers[c, 0], rivers[c, 1]] = WASTE
                    break
                seen += 1


def _pollution_params(config: Any) -> np.ndarray:
    params = np.empty(4, dtype=np.float64)
    params[DEPLETION] = config.depletion_threshold
    params[RESTORATION] = config.restoration_threshold
    params[WASTE_SPAWN] = config.waste_spawn_prob
    params[APPLE_RESPAWN] = config.apple_respawn_prob
    return params


#: Cleanup's rules: two beams, and two uniforms per step for the waste draw.
RULES = GridRules(
    action_names=(*MOVEMENT_ACTIONS, "FIRE", "CLEAN"),
    beams=(PENALTY, CLEANING),
    dynamics=pollution,
    dynamics_params=_pollution_params,
    dynamics_uniforms=2,
    default_map="cleanup",
)
register_grid_game(
    "cleanup", RULES, module=__name__, summary="public good: clean the river so apples grow"
)


class parallel_env(SSDParallelEnv):
    """Cleanup as a PettingZoo ``ParallelEnv``; keyword arguments are ``SSDConfig`` fields,
    plus ``render_mode`` and ``max_cycles``."""

    metadata: ClassVar[dict[str, Any]] = {**SSDParallelEnv.metadata, "name": "cleanup_v0"}
    _game_name = "cleanup"


def raw_env(**kwargs: Any) -> Any:
    """The AEC form (``parallel_to_aec``) without wrappers."""
    return parallel_to_aec(parallel_env(**kwargs))


def env(**kwargs: Any) -> Any:
    """The AEC form with PettingZoo's order-enforcing wrapper."""
    return wrappers.OrderEnforcingWrapper(raw_env(**kwargs))
