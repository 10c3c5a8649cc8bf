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
reference values by default) are fields of :class:`envs.config.SSDConfig`.

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

from pettingzoo.utils import parallel_to_aec, wrappers

from envs._pettingzoo import SSDParallelEnv

__all__ = ["env", "parallel_env", "raw_env"]


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
