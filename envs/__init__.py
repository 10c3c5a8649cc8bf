"""Harvest and Cleanup (sequential social dilemmas) and a signalling game, on the PettingZoo API,
with a batched form.

Games are entries of a registry (:mod:`envs.registry`); :func:`make_vector` and
:func:`make_parallel` build any registered game by name. The mechanics are described in
docs/envs.md.

Examples
--------
>>> from envs import harvest_v0
>>> env = harvest_v0.parallel_env(map="small_harvest", num_agents=2, max_cycles=3)
>>> env.metadata["name"]
'harvest_v0'
"""

from causal_influence.distribution import check_layers
from envs import cleanup, harvest, signalling
from envs._engine import Game, StepResult
from envs._observe import code_table
from envs.config import ACTION_NAMES, SSDConfig, cleanup_config, harvest_config
from envs.episode_stats import EpisodeRecorder, episode_statistics
from envs.maps import MAPS, parse_map
from envs.record_wrapper import RecordTrajectories
from envs.registry import GameSpec, game_names, get_game, make_parallel, register_game
from envs.render import record_episode, save_gif
from envs.vector import VectorEnv, make_vector

#: Versioned names, as PettingZoo modules are usually imported.
harvest_v0 = harvest
cleanup_v0 = cleanup
signalling_v0 = signalling

#: Marks this package as part of the causal-influence distribution (see
#: :mod:`causal_influence.distribution`).
__distribution__ = "causal-influence"

# The sibling layers imported below must be ours, not packages of the same name.
check_layers("envs", ["causal_influence"])

__all__ = [
    "ACTION_NAMES",
    "MAPS",
    "EpisodeRecorder",
    "Game",
    "GameSpec",
    "RecordTrajectories",
    "SSDConfig",
    "StepResult",
    "VectorEnv",
    "cleanup",
    "cleanup_config",
    "cleanup_v0",
    "code_table",
    "episode_statistics",
    "game_names",
    "get_game",
    "harvest",
    "harvest_config",
    "harvest_v0",
    "make_parallel",
    "make_vector",
    "parse_map",
    "record_episode",
    "register_game",
    "save_gif",
    "signalling",
    "signalling_v0",
]
