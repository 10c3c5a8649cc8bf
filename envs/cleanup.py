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

from pettingzoo.utils import parallel_to_aec, wrappers

from envs._pettingzoo import SSDParallelEnv

__all__ = ["env", "parallel_env", "raw_env"]


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
