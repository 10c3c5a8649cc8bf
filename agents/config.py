"""Hyper-parameters of a training run, in one frozen dataclass (names follow the paper).

A run is one of four settings: ``"none"`` (plain actor-critic), ``"basic"`` (centralised basic
influence: influencers act first, influencees see their current actions), ``"comm"``
(influential communication through a message head) and ``"moa"`` (influence through a model of
other agents). ``influence_coef = 0`` gives each setting's baseline with the same architecture:
the visible-actions baseline, the communication baseline whose message head learns from the
extrinsic reward, and the MOA baseline with the MOA as an auxiliary loss only.

Examples
--------
>>> from agents.config import TrainConfig
>>> from envs.config import harvest_config
>>> env = harvest_config(map="small_harvest", num_agents=2)
>>> cfg = TrainConfig(env=env, setting="moa", influence_coef=1.0)
>>> cfg.only_when_visible
True
>>> TrainConfig.from_dict(cfg.to_dict()) == cfg
True
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from causal_influence.errors import ConfigError
from envs.config import SSDConfig, harvest_config

__all__ = ["TrainConfig"]


def _default_env() -> SSDConfig:
    return harvest_config()


def _tuples(x: Any) -> Any:
    """Lists (from JSON) back to tuples, recursively."""
    if isinstance(x, list):
        return tuple(_tuples(v) for v in x)
    return x


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run.

    Parameters
    ----------
    env : envs.config.SSDConfig
        The game, map, number of agents, observation type and message vocabulary. Setting
        ``"comm"`` needs ``env.num_symbols >= 1``.
    setting : {"none", "basic", "comm", "moa"}
    seed : int
        Seeds network initialisation, action sampling and the env episodes.
    num_envs : int
        B, environments stepped together.
    rollout_length : int
        T, steps per env per update; must divide ``env.max_cycles`` so that episodes end on
        update boundaries (which makes checkpoints exact).
    total_env_steps : int
        Training length in env steps (one step of one env; B per batched step).
    num_threads : int or None
        ``torch.set_num_threads`` for the run (None leaves it alone).
    algorithm : {"a2c", "ppo"}
        Synchronous advantage actor-critic (one gradient step per fragment) or PPO.
    gamma, gae_lambda : float
        Discount and GAE parameter (``gae_lambda=1`` gives the n-step returns of A3C).
    lr, lr_final, lr_anneal_steps : float
        Adam learning rate, annealed linearly to ``lr_final`` over ``lr_anneal_steps`` env
        steps when ``lr_final`` is given.
    entropy_coef, vf_coef, max_grad_norm : float
        Entropy bonus, value-loss weight and per-agent gradient-norm clip.
    ppo_epochs, ppo_minibatches, ppo_clip : int, int, float
        PPO passes over a fragment, minibatches per pass (split over envs) and ratio clip.
    normalize_advantages : bool
        Standardise advantages per agent and minibatch.
    conv_filters, conv_kernel, fc_hiddens, lstm_size : network sizes (paper: 6, 3, (32, 32), 128)
    share_weights : bool
        One set of weights for all agents (default: independent weights per agent).
    message_embedding : int
        Linear embedding width of the message inputs (0 = one-hot straight into the LSTM).
    influence_coef : float
        beta, the weight of the influence reward (0 = the setting's baseline).
    extrinsic_coef : float
        alpha, the weight of the extrinsic reward next to the influence reward (in "comm" this
        is the message head's extrinsic weight; the action head always sees the extrinsic
        reward alone).
    divergence : {"kl", "jsd", "pmi", "tv"}
    influence_clip : float
        Influence per agent and step is clipped to [-clip, clip] before weighting.
    influence_schedule_steps, influence_schedule_weights : tuple of float
        Multiplier of ``influence_coef`` as a piecewise-linear function of env steps
        (``numpy.interp``); empty = constant. Curriculum over C steps: (0, C) and (0, 1).
    influence_only_when_visible : bool or None
        Count influence on j only when j was in k's view when k acted (None = True for "moa",
        False otherwise, as in the paper).
    influencee_reward : bool
        Setting "basic": influencees also receive the influence they undergo.
    num_influencers : int
        Setting "basic": agents ``0 .. num_influencers-1`` are the influencers.
    log_influence : bool
        Compute (and log) influence even when ``influence_coef == 0``.
    message_entropy_coef, comm_loss_coef : float
        Setting "comm": entropy bonus of the message head and weight of its loss.
    moa_loss_coef : float
        Setting "moa": weight of the MOA cross-entropy.
    train_moa_only_when_visible : bool
        Setting "moa": mask the MOA loss for agents out of view at prediction time.
    out_dir : str or None
        Where config.json, progress.csv and checkpoints go (None = nothing written).
    checkpoint_every : int
        Write a checkpoint every this many episodes (0 = only the final one).
    progress : bool
        Show a tqdm progress bar.
    tensorboard : bool
        Also log to TensorBoard when the ``tensorboard`` package is installed.
    """

    env: SSDConfig = field(default_factory=_default_env)
    setting: Literal["none", "basic", "comm", "moa"] = "none"
    seed: int = 0
    num_envs: int = 8
    rollout_length: int = 100
    total_env_steps: int = 100_000
    num_threads: int | None = 1
    algorithm: Literal["a2c", "ppo"] = "a2c"
    gamma: float = 0.99
    gae_lambda: float = 1.0
    lr: float = 1e-3
    lr_final: float | None = None
    lr_anneal_steps: float = 2e7
    entropy_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 40.0
    ppo_epochs: int = 4
    ppo_minibatches: int = 2
    ppo_clip: float = 0.2
    normalize_advantages: bool = False
    conv_filters: int = 6
    conv_kernel: int = 3
    fc_hiddens: tuple[int, ...] = (32, 32)
    lstm_size: int = 128
    share_weights: bool = False
    message_embedding: int = 0
    influence_coef: float = 0.0
    extrinsic_coef: float = 1.0
    divergence: Literal["kl", "jsd", "pmi", "tv"] = "kl"
    influence_clip: float = 10.0
    influence_schedule_steps: tuple[float, ...] = ()
    influence_schedule_weights: tuple[float, ...] = ()
    influence_only_when_visible: bool | None = None
    influencee_reward: bool = False
    num_influencers: int = 1
    log_influence: bool = False
    message_entropy_coef: float = 0.01
    comm_loss_coef: float = 1.0
    moa_loss_coef: float = 1.0
    train_moa_only_when_visible: bool = True
    out_dir: str | None = None
    checkpoint_every: int = 0
    progress: bool = False
    tensorboard: bool = True

    def __post_init__(self) -> None:
        def bad(msg: str) -> ConfigError:
            return ConfigError(f"TrainConfig: {msg}")

        if not isinstance(self.env, SSDConfig):
            raise bad(f"env: expected an envs.config.SSDConfig; got {type(self.env).__name__}")
        if isinstance(self.env.map, str):  # canonical form: the map's rows (as saved in JSON)
            object.__setattr__(self, "env", self.env.replace(map=tuple(self.env.parsed.rows)))
        if self.setting not in ("none", "basic", "comm", "moa"):
            raise bad(f"setting: expected 'none', 'basic', 'comm' or 'moa'; got {self.setting!r}")
        if self.algorithm not in ("a2c", "ppo"):
            raise bad(f"algorithm: expected 'a2c' or 'ppo'; got {self.algorithm!r}")
        if self.divergence not in ("kl", "jsd", "pmi", "tv"):
            raise bad(f"divergence: expected 'kl', 'jsd', 'pmi' or 'tv'; got {self.divergence!r}")
        for name in (
            "num_envs",
            "rollout_length",
            "total_env_steps",
            "ppo_epochs",
            "ppo_minibatches",
        ):
            if int(getattr(self, name)) < 1:
                raise bad(f"{name}: expected a positive integer; got {getattr(self, name)}")
        if self.env.max_cycles % self.rollout_length:
            raise bad(
                f"rollout_length={self.rollout_length} must divide env.max_cycles="
                f"{self.env.max_cycles} so that episodes end on update boundaries; pick a divisor"
            )
        if self.algorithm == "ppo" and self.ppo_minibatches > self.num_envs:
            raise bad(
                f"ppo_minibatches={self.ppo_minibatches} exceeds num_envs={self.num_envs}; "
                f"minibatches are split over envs"
            )
        if self.setting == "comm" and self.env.num_symbols < 1:
            raise bad(
                "setting='comm' needs the env's message channel: set env.num_symbols >= 1 "
                "(e.g. harvest_config(num_symbols=7))"
            )
        if self.setting == "basic" and not 1 <= self.num_influencers < self.env.num_agents:
            raise bad(
                f"num_influencers: expected 1 .. N-1 = {self.env.num_agents - 1}; got "
                f"{self.num_influencers}"
            )
        if self.setting in ("basic", "comm", "moa") and self.env.num_agents < 2:
            raise bad(f"setting={self.setting!r} needs at least 2 agents")
        if self.influence_clip <= 0:
            raise bad(f"influence_clip: expected a positive value; got {self.influence_clip}")
        if len(self.influence_schedule_steps) != len(self.influence_schedule_weights):
            raise bad("influence_schedule_steps and influence_schedule_weights differ in length")
        if self.checkpoint_every < 0:
            raise bad(f"checkpoint_every: expected >= 0; got {self.checkpoint_every}")
        if self.influence_coef != 0 and self.setting == "none":
            raise bad(
                "influence_coef is set but setting='none' has no influence; choose 'basic', "
                "'comm' or 'moa'"
            )

    # ------------------------------------------------------------------ derived values
    @property
    def only_when_visible(self) -> bool:
        """The visibility filter of the influence reward, with the setting's default."""
        if self.influence_only_when_visible is None:
            return self.setting == "moa"
        return bool(self.influence_only_when_visible)

    @property
    def computes_influence(self) -> bool:
        """Whether counterfactuals are evaluated during rollouts."""
        return self.setting != "none" and (self.influence_coef != 0 or self.log_influence)

    @property
    def batch_steps(self) -> int:
        """Env steps per update: ``num_envs * rollout_length``."""
        return self.num_envs * self.rollout_length

    @property
    def num_updates(self) -> int:
        """Updates needed for ``total_env_steps`` (rounded up)."""
        return -(-self.total_env_steps // self.batch_steps)

    @property
    def updates_per_episode(self) -> int:
        return self.env.max_cycles // self.rollout_length

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dictionary (the env config nested under ``"env"``)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["env"] = self.env.to_dict()
        return json.loads(json.dumps(out))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ConfigError."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"TrainConfig: unknown option(s) {unknown}; known: {sorted(names)}")
        kw = {k: _tuples(v) for k, v in data.items()}
        if isinstance(kw.get("env"), dict):
            kw["env"] = SSDConfig(**{k: _tuples(v) for k, v in kw["env"].items()})
        return cls(**kw)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        return cls.from_dict(json.loads(text))
