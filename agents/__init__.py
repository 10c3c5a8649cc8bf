"""Actor-critic agents for the three settings of Jaques et al. 2019 and their baselines.

Training (A2C, PPO) over the batched envs, with the influence reward computed by the core.
See :func:`agents.trainer.train` and ``python -m agents.trainer --help``.

The public names below are imported on first use (PEP 562), so that importing one submodule
(say :mod:`agents.config`) does not load the others, and ``python -m agents.trainer`` runs the
trainer module once.

Examples
--------
>>> import agents
>>> agents.TrainConfig is __import__("agents.config").config.TrainConfig
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from causal_influence.distribution import check_layers

if TYPE_CHECKING:
    from agents.checkpoint import load_checkpoint
    from agents.config import TrainConfig
    from agents.episode_record import load_agents, record_episodes
    from agents.losses import gae
    from agents.networks import MultiAgentNet, NetSpec
    from agents.run_dir import TrainingInterrupted
    from agents.sampler import rollout_influence
    from agents.trainer import Trainer, TrainResult, train

#: Marks this package as part of the causal-influence distribution (see
#: :mod:`causal_influence.distribution`).
__distribution__ = "causal-influence"

# The sibling layers imported below must be ours, not packages of the same name.
check_layers("agents", ["envs"])

__all__ = [
    "MultiAgentNet",
    "NetSpec",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "TrainingInterrupted",
    "gae",
    "load_agents",
    "load_checkpoint",
    "record_episodes",
    "rollout_influence",
    "train",
]

_HOME = {
    "MultiAgentNet": "agents.networks",
    "NetSpec": "agents.networks",
    "TrainConfig": "agents.config",
    "TrainResult": "agents.trainer",
    "Trainer": "agents.trainer",
    "TrainingInterrupted": "agents.run_dir",
    "gae": "agents.losses",
    "load_agents": "agents.episode_record",
    "load_checkpoint": "agents.checkpoint",
    "record_episodes": "agents.episode_record",
    "rollout_influence": "agents.sampler",
    "train": "agents.trainer",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        value = getattr(importlib.import_module(_HOME[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'agents' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
