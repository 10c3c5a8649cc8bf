"""Harvest (``harvest_v0``): a common-pool resource dilemma.

Agents collect apples (+1). Apples regrow on their original cells with a probability that grows
with the number of apples nearby (3x3 neighbourhood: 0 -> 0, 1 -> 0.005, 2 -> 0.02, >= 3 ->
0.05), so a patch harvested bare never comes back. Agents can FIRE a penalty beam (length 5,
width 3): -1 to the user, -50 to each agent hit.

=================== ========================================================================
agents              ``agent_0 ... agent_{N-1}`` (default N = 5, reference map 16x38)
actions             ``Discrete(8)``: MOVE_LEFT, MOVE_RIGHT, MOVE_UP, MOVE_DOWN (egocentric),
                    STAY, TURN_CLOCKWISE, TURN_COUNTERCLOCKWISE, FIRE; ``MultiDiscrete([8, M])``
                    with the message channel (``num_symbols=M``)
observations        ``Dict``: ``view`` (15x15x3 RGB egocentric window, or a symbolic one-hot
                    grid with ``obs_type="symbolic"``), ``actions`` (all agents' last
                    actions), ``visible`` (agents inside the window), ``messages`` (channel on)
rewards             +1 apple, -1 FIRE, -50 per hit; optional collective or inequity-averse
episode             truncated after ``max_cycles`` = 1000 steps
=================== ========================================================================

Rules follow the reference code of Jaques et al. 2019 (sequential_social_dilemma_games), with
its defects fixed: egocentric views are consistent for every facing (the reference shows
LEFT/RIGHT views upside down), two agents never share a cell, any number of agents that fits
the spawn points works, and inequity aversion has the Hughes et al. 2018 sign. Options (all
reference values by default) are fields of :class:`envs.config.SSDConfig`. The mechanics are
described in docs/envs.md ("Harvest: regrowth" for the rule of this module).

This module is also the game's entry in the registry: its rules (:data:`RULES`: the eight
actions, the FIRE beam and :func:`regrowth`) are registered under ``"harvest"``.

Citation: Jaques et al., "Social Influence as Intrinsic Motivation for Multi-Agent Deep
Reinforcement Learning", ICML 2019; Perolat et al., NeurIPS 2017 (the Harvest game).

Examples
--------
>>> from envs import harvest
>>> env = harvest.parallel_env(map="small_harvest", num_agents=2, max_cycles=5)
>>> obs, infos = env.reset(seed=0)
>>> sorted(obs["agent_0"])
['actions', 'view', 'visible']
"""

from __future__ import annotations

from typing import Any, ClassVar

import numba
import numpy as np
from pettingzoo.utils import parallel_to_aec, wrappers

from envs._pettingzoo import SSDParallelEnv
from envs.grid_rules import MOVEMENT_ACTIONS, PENALTY, GridRules, register_grid_game
from envs.maps import APPLE, FLOOR

__all__ = ["RULES", "env", "parallel_env", "raw_env", "regrowth"]


@numba.njit(cache=True)
def regrowth(
    grid: np.ndarray,
    occ: np.ndarray,
    u: np.ndarray,
    u_off: int,
    growth: np.ndarray,
    rivers: np.ndarray,
    offs: np.ndarray,
    params: np.ndarray,
) -> None:
    """Apples regrow on empty, unoccupied apple cells of B envs (docs/envs.md, "Harvest: regrowth").

    A cell with n apples among its neighbours (``offs``) grows one with probability
    ``params[min(n, 3)]`` (the config's ``regrowth_probs``), drawn with ``u[b, u_off + cell]``.
    Arguments as in :class:`envs.grid_rules.GridRules` (``rivers`` is not used).
    """
    h, w = grid.shape[1], grid.shape[2]
    for b in range(grid.shape[0]):
        for c in range(growth.shape[0]):
            r0, c0 = growth[c, 0], growth[c, 1]
            if grid[b, r0, c0] != FLOOR or occ[b, r0, c0] >= 0:
                continue
            n = 0
            for o in range(offs.shape[0]):
                rr, cc = r0 + offs[o, 0], c0 + offs[o, 1]
                if 0 <= rr < h and 0 <= cc < w and grid[b, rr, cc] == APPLE:
                    n += 1
            if u[b, u_off + c] < params[min(n, 3)]:
                grid[b, r0, c0] = APPLE


def _regrowth_params(config: Any) -> np.ndarray:
    return np.array(config.regrowth_probs, dtype=np.float64)


#: Harvest's rules. It draws two uniforms per step it does not use, so that its random stream
#: is the one it had when Harvest and Cleanup shared one dynamics layout (same seeds, same
#: episodes).
RULES = GridRules(
    action_names=(*MOVEMENT_ACTIONS, "FIRE"),
    beams=(PENALTY,),
    dynamics=regrowth,
    dynamics_params=_regrowth_params,
    dynamics_uniforms=2,
    default_map="harvest",
)
register_grid_game(
    "harvest", RULES, module=__name__, summary="common-pool resource: apples regrow near apples"
)


class parallel_env(SSDParallelEnv):
    """Harvest as a PettingZoo ``ParallelEnv``; keyword arguments are ``SSDConfig`` fields,
    plus ``render_mode`` and ``max_cycles``."""

    metadata: ClassVar[dict[str, Any]] = {**SSDParallelEnv.metadata, "name": "harvest_v0"}
    _game_name = "harvest"


def raw_env(**kwargs: Any) -> Any:
    """The AEC form (``parallel_to_aec``) without wrappers."""
    return parallel_to_aec(parallel_env(**kwargs))


def env(**kwargs: Any) -> Any:
    """The AEC form with PettingZoo's order-enforcing wrapper."""
    return wrappers.OrderEnforcingWrapper(raw_env(**kwargs))
