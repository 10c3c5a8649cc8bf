"""Harvest and Cleanup: sequential social dilemmas on the PettingZoo API, with a batched form.

Examples
--------
>>> from envs import harvest_v0
>>> env = harvest_v0.parallel_env(map="small_harvest", num_agents=2, max_cycles=3)
>>> env.metadata["name"]
'harvest_v0'
"""

from envs import cleanup, harvest
from envs._engine import Game, StepResult
from envs.config import ACTION_NAMES, SSDConfig, cleanup_config, harvest_config
from envs.episode_stats import EpisodeRecorder, episode_statistics
from envs.maps import MAPS, parse_map
from envs.record_wrapper import RecordTrajectories
from envs.render import record_episode, save_gif
from envs.vector import VectorEnv, make_vector

#: Versioned names, as PettingZoo modules are usually imported.
harvest_v0 = harvest
cleanup_v0 = cleanup

__all__ = [
    "ACTION_NAMES",
    "MAPS",
    "EpisodeRecorder",
    "Game",
    "RecordTrajectories",
    "SSDConfig",
    "StepResult",
    "VectorEnv",
    "cleanup",
    "cleanup_config",
    "cleanup_v0",
    "episode_statistics",
    "harvest",
    "harvest_config",
    "harvest_v0",
    "make_vector",
    "parse_map",
    "record_episode",
    "save_gif",
]
