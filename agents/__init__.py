"""Actor-critic agents for the three settings of Jaques et al. 2019 and their baselines.

Training (A2C, PPO) over the batched envs, with the influence reward computed by the core.
See :func:`agents.trainer.train` and ``python -m agents.trainer --help``.
"""

from agents.config import TrainConfig
from agents.losses import gae
from agents.networks import MultiAgentNet, NetSpec
from agents.recording import load_agents, record_episodes
from agents.sampler import rollout_influence
from agents.trainer import Trainer, TrainResult, load_checkpoint, train

__all__ = [
    "MultiAgentNet",
    "NetSpec",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "gae",
    "load_agents",
    "load_checkpoint",
    "record_episodes",
    "rollout_influence",
    "train",
]
