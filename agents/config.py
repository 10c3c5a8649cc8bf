"""Hyper-parameters of a training run, in one frozen dataclass (names follow the paper).

Each field carries its help text beside it (``field(metadata={"help": ...})``, CleanRL's
``Args`` manner); :func:`add_field_options` turns the fields of this or any other config
dataclass (such as :class:`envs.config.SSDConfig`) into command-line options with that text,
and the Parameters section of :class:`TrainConfig` is built from it too.
:data:`RESUMABLE_FIELDS` says which fields may change when a run resumes from a checkpoint.

A run is one of four settings: ``"none"`` (plain actor-critic), ``"basic"`` (centralised basic
influence: influencers act first, influencees see their current actions), ``"comm"``
(influential communication through a message head) and ``"moa"`` (influence through a model of
other agents). An influence setting trains with the influence reward at weight
:data:`DEFAULT_INFLUENCE_COEF` unless ``influence_coef`` says otherwise; ``influence_coef = 0``
gives each setting's baseline with the same architecture: the visible-actions baseline, the
communication baseline whose message head learns from the extrinsic reward, and the MOA
baseline with the MOA as an auxiliary loss only.

The game is any game registered in :mod:`envs.registry`: ``env`` is its configuration (an
:class:`envs.config.SSDConfig` for Harvest and Cleanup, an
:class:`envs.signalling.SignallingConfig` for the signalling game), saved in JSON with its
``game`` and rebuilt through the registry.

Examples
--------
>>> from agents.config import TrainConfig
>>> from envs.config import harvest_config
>>> env = harvest_config(map="small_harvest", num_agents=2)
>>> cfg = TrainConfig(env=env, setting="moa")
>>> cfg.only_when_visible, cfg.influence_coef  # an influence setting trains with influence
(True, 1.0)
>>> TrainConfig(env=env, setting="moa", influence_coef=0).influence_coef  # its baseline
0.0
>>> TrainConfig.from_dict(cfg.to_dict()) == cfg
True
>>> import dataclasses
>>> cfg.resume_conflicts(dataclasses.replace(cfg, total_env_steps=10**6, lr=0.1))
['lr']
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from causal_influence.divergences import DIVERGENCES
from causal_influence.errors import ConfigError
from causal_influence.io.limits import parse_json
from envs.config import SSDConfig, fields_section, harvest_config
from envs.registry import config_type, get_game

__all__ = [
    "DEFAULT_INFLUENCE_COEF",
    "INFLUENCE_MARGINALS",
    "OUTPUT_FIELDS",
    "RESUMABLE_FIELDS",
    "TrainConfig",
    "TrainableGame",
    "add_field_options",
    "env_from_dict",
    "field_help",
    "field_overrides",
]

#: The influence weight of the settings "basic", "comm" and "moa" when ``influence_coef`` is
#: not given (the reference's influence reward weight, before its schedule).
DEFAULT_INFLUENCE_COEF = 1.0

#: Marginals of the influence reward (``TrainConfig.influence_marginal``).
INFLUENCE_MARGINALS: tuple[str, ...] = ("policy", "population")


@runtime_checkable
class TrainableGame(Protocol):
    """What training reads from a game's configuration (the config of a game registered in
    :mod:`envs.registry`, e.g. :class:`envs.config.SSDConfig`)."""

    @property
    def game(self) -> str:
        """The registry name of the game."""

    @property
    def num_agents(self) -> int:
        """N."""

    @property
    def num_actions(self) -> int:
        """A."""

    @property
    def num_symbols(self) -> int:
        """M (0: no message channel)."""

    @property
    def max_cycles(self) -> int:
        """Episode length."""

    @property
    def view_size(self) -> int:
        """Side S of the (S, S, C) views (the convolution kernel must fit)."""

    @property
    def obs_type(self) -> str:
        """``"rgb"`` (views scaled by 1/255) or ``"symbolic"``."""

    @property
    def action_names(self) -> tuple[str, ...]:
        """Names of the actions, by id."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable fields, ``game`` included."""


#: Fields that say only where and how a run reports (files, progress bar, TensorBoard,
#: checkpoint frequency): two configs that differ only in these compute the same results.
OUTPUT_FIELDS: frozenset[str] = frozenset(
    {"out_dir", "progress", "tensorboard", "checkpoint_every"}
)

#: Fields that may differ between a checkpoint's config and the config of the run that resumes
#: from it: the output fields and the training length. Every other field must be equal, or the
#: resumed run would not continue the saved one exactly (:meth:`TrainConfig.resume_conflicts`).
RESUMABLE_FIELDS: frozenset[str] = OUTPUT_FIELDS | {"total_env_steps"}


#: Lower bounds of numeric fields beyond their type (integers >= 0, floats finite): (bound,
#: open). ``lr`` > 0, ``gamma`` in [0, 1], sizes >= 1 and so on.
_LOWER: dict[str, tuple[float, bool]] = {
    "lr": (0.0, True),
    "lr_final": (0.0, False),
    "lr_anneal_steps": (0.0, True),
    "max_grad_norm": (0.0, True),
    "ppo_clip": (0.0, True),
    "gamma": (0.0, False),
    "gae_lambda": (0.0, False),
    "vf_coef": (0.0, False),
    "num_threads": (1, False),
    "conv_filters": (1, False),
    "conv_kernel": (1, False),
    "lstm_size": (1, False),
    "fc_hiddens": (1, False),
    "influence_schedule_steps": (0.0, False),
}
#: Upper bounds (inclusive).
_UPPER: dict[str, float] = {"gamma": 1.0, "gae_lambda": 1.0}


def _check_field_values(config: Any, bad: Any) -> None:
    """Every numeric field of ``config`` has its type (an int is not a float such as 1.5 or
    True; a float is finite) and lies within :data:`_LOWER` / :data:`_UPPER`."""
    from causal_influence.validation import check_count, check_number

    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        kinds = set(typing.get_args(hints[f.name])) or {hints[f.name]}
        if value is None and type(None) in kinds:
            continue
        if typing.get_origin(hints[f.name]) is tuple:
            kinds = {typing.get_args(hints[f.name])[0]}
            items = value if isinstance(value, tuple) else (value,)
        else:
            items = (value,)
        low, open_low = _LOWER.get(f.name, (None, False))
        for item in items:
            try:
                if kinds & {int} and not kinds & {float, str}:
                    check_count(f.name, item, minimum=int(low or 0))
                elif kinds & {float}:
                    check_number(f.name, item, low=low, high=_UPPER.get(f.name), open_low=open_low)
                elif kinds == {bool} and not isinstance(item, bool):
                    raise ConfigError(f"{f.name}: expected true or false; got {item!r}")
            except ConfigError as err:
                raise bad(str(err)) from None


def _default_env() -> SSDConfig:
    return harvest_config()


def env_from_dict(data: dict[str, Any]) -> Any:
    """A game configuration from its :meth:`to_dict` form: the registry entry named by its
    ``game`` (default ``"harvest"``) builds it from the other fields.

    Examples
    --------
    >>> env_from_dict({"game": "signalling", "num_targets": 3}).num_actions
    3
    >>> env_from_dict({"map": "small_harvest", "num_agents": 2}).game
    'harvest'
    """
    game = str(data.get("game", "harvest"))
    spec = get_game(game)
    env_names = {f.name for f in dataclasses.fields(config_type(game))} - {"_parsed"}
    env_unknown = sorted(set(data) - env_names)
    if env_unknown:
        raise ConfigError(
            f"TrainConfig: unknown env option(s) {env_unknown} of game {game!r}; known: "
            f"{sorted(env_names)}"
        )
    return spec.make_config(**{k: _tuples(v) for k, v in data.items() if k != "game"})


def _tuples(x: Any) -> Any:
    """Lists (from JSON) back to tuples, recursively."""
    if isinstance(x, list):
        return tuple(_tuples(v) for v in x)
    return x


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run.

    Each field's help text is written beside it (``field(metadata={"help": ...})``); the
    Parameters section below and ``causal-influence train --help`` are both built from it.
    """

    env: TrainableGame = field(
        default_factory=_default_env,
        metadata={
            "help": "The game and its options: the configuration of a game registered in "
            "envs.registry (envs.config.SSDConfig for Harvest and Cleanup: map, number of "
            "agents, observation type, message vocabulary; envs.signalling.SignallingConfig "
            "for the signalling game). Setting 'comm' needs env.num_symbols >= 1."
        },
    )
    setting: Literal["none", "basic", "comm", "moa"] = field(
        default="none",
        metadata={
            "help": "Which influence is trained: 'none' (plain actor-critic), 'basic' "
            "(influencers act first, influencees see their current actions), 'comm' "
            "(influential communication through a message head) or 'moa' (influence through "
            "a model of other agents)."
        },
    )
    seed: int = field(
        default=0,
        metadata={"help": "Seeds network initialisation, action sampling and the env episodes."},
    )
    num_envs: int = field(default=8, metadata={"help": "B, environments stepped together."})
    rollout_length: int = field(
        default=100,
        metadata={
            "help": "T, steps per env per update; must divide env.max_cycles so that episodes "
            "end on update boundaries (which makes checkpoints exact)."
        },
    )
    total_env_steps: int = field(
        default=100_000,
        metadata={
            "help": "Training length in env steps (one step of one env; B per batched step)."
        },
    )
    num_threads: int | None = field(
        default=1,
        metadata={
            "help": "torch.set_num_threads for the run; None leaves torch's thread count alone."
        },
    )
    algorithm: Literal["a2c", "ppo"] = field(
        default="a2c",
        metadata={
            "help": "'a2c': synchronous advantage actor-critic, one gradient step per fragment; "
            "'ppo': PPO epochs over minibatches of envs."
        },
    )
    gamma: float = field(default=0.99, metadata={"help": "Discount factor."})
    gae_lambda: float = field(
        default=1.0, metadata={"help": "GAE parameter (1 gives the n-step returns of A3C)."}
    )
    lr: float = field(default=1e-3, metadata={"help": "Adam learning rate."})
    lr_final: float | None = field(
        default=None,
        metadata={
            "help": "Final learning rate: lr anneals linearly to it over lr_anneal_steps env "
            "steps; None keeps lr constant."
        },
    )
    lr_anneal_steps: float = field(
        default=2e7, metadata={"help": "Env steps over which lr anneals to lr_final."}
    )
    entropy_coef: float = field(default=0.01, metadata={"help": "Weight of the entropy bonus."})
    vf_coef: float = field(default=0.5, metadata={"help": "Weight of the value loss."})
    max_grad_norm: float = field(
        default=40.0, metadata={"help": "Gradient-norm clip, applied per agent."}
    )
    ppo_epochs: int = field(default=4, metadata={"help": "PPO passes over each fragment."})
    ppo_minibatches: int = field(
        default=2,
        metadata={"help": "PPO minibatches per pass, split over envs (at most num_envs)."},
    )
    ppo_clip: float = field(default=0.2, metadata={"help": "PPO probability-ratio clip."})
    normalize_advantages: bool = field(
        default=False, metadata={"help": "Standardise advantages per agent and minibatch."}
    )
    conv_filters: int = field(
        default=6, metadata={"help": "Filters of the convolution (the paper's size)."}
    )
    conv_kernel: int = field(
        default=3, metadata={"help": "Kernel size of the convolution (the paper's size)."}
    )
    fc_hiddens: tuple[int, ...] = field(
        default=(32, 32),
        metadata={"help": "Widths of the fully connected layers (the paper's sizes)."},
    )
    lstm_size: int = field(default=128, metadata={"help": "LSTM cells (the paper's size)."})
    share_weights: bool = field(
        default=False,
        metadata={"help": "One set of weights for all agents instead of one per agent."},
    )
    message_embedding: int = field(
        default=0,
        metadata={
            "help": "Width of the linear embedding of message inputs (0: one-hot straight "
            "into the LSTM)."
        },
    )
    influence_coef: float | None = field(
        default=None,
        metadata={
            "help": "beta, the weight of the influence reward; None (not given): "
            f"{DEFAULT_INFLUENCE_COEF:g} for the settings 'basic', 'comm' and 'moa', 0 for "
            "'none'; 0: the setting's baseline, same architecture."
        },
    )
    extrinsic_coef: float = field(
        default=1.0,
        metadata={
            "help": "alpha, the weight of the extrinsic reward beside the influence reward (in "
            "'comm' the message head's extrinsic weight; the action head always learns from "
            "the extrinsic reward alone)."
        },
    )
    divergence: str = field(
        default="kl",
        metadata={
            "help": "How j's policy under k's actual choice is compared with its mixture over "
            "k's counterfactual choices.",
            "choices": DIVERGENCES,  # any divergence registered in the core
        },
    )
    influence_marginal: Literal["policy", "population"] = field(
        default="policy",
        metadata={
            "help": "The marginal the influence reward compares with: 'policy' (the paper: "
            "weighted by the influencer's own policy at that step, so a deterministic, fully "
            "informative speaker earns 0 and noise that steers the listener is rewarded) or "
            "'population' (weighted by the influencer's policy averaged over the fragment: "
            "the expected reward is the mutual information between its value and the "
            "influencee's action, so an informative protocol earns it and uninformative "
            "steering does not)."
        },
    )
    influence_clip: float = field(
        default=10.0,
        metadata={
            "help": "Influence per agent and step is clipped to [-clip, clip] before weighting."
        },
    )
    influence_schedule_steps: tuple[float, ...] = field(
        default=(),
        metadata={
            "help": "Env steps of a piecewise-linear multiplier of influence_coef (numpy.interp;"
            " empty: constant). A curriculum over C steps: steps 0 C, weights 0 1."
        },
    )
    influence_schedule_weights: tuple[float, ...] = field(
        default=(),
        metadata={"help": "The multiplier at each of influence_schedule_steps (as many values)."},
    )
    influence_only_when_visible: bool | None = field(
        default=None,
        metadata={
            "help": "Count influence on j only when j was in k's view when k acted; None turns "
            "it on for 'moa' and off otherwise, as in the paper."
        },
    )
    influencee_reward: bool = field(
        default=False,
        metadata={"help": "Setting 'basic': influencees also receive the influence they undergo."},
    )
    num_influencers: int = field(
        default=1,
        metadata={"help": "Setting 'basic': agents 0 .. num_influencers-1 are the influencers."},
    )
    log_influence: bool = field(
        default=False,
        metadata={"help": "Compute and log influence even when influence_coef is 0."},
    )
    message_entropy_coef: float = field(
        default=0.01, metadata={"help": "Setting 'comm': entropy bonus of the message head."}
    )
    comm_loss_coef: float = field(
        default=1.0, metadata={"help": "Setting 'comm': weight of the message head's loss."}
    )
    moa_loss_coef: float = field(
        default=1.0, metadata={"help": "Setting 'moa': weight of the MOA cross-entropy."}
    )
    train_moa_only_when_visible: bool = field(
        default=True,
        metadata={
            "help": "Setting 'moa': mask the MOA loss for agents out of view at prediction time."
        },
    )
    out_dir: str | None = field(
        default=None,
        metadata={
            "help": "Where config.json, progress.csv and checkpoints go; None writes nothing."
        },
    )
    checkpoint_every: int = field(
        default=0,
        metadata={"help": "Write a checkpoint every this many episodes (0: only the final one)."},
    )
    progress: bool = field(default=False, metadata={"help": "Show a tqdm progress bar."})
    tensorboard: bool = field(
        default=True,
        metadata={"help": "Also log to TensorBoard when the tensorboard package is installed."},
    )

    def __post_init__(self) -> None:
        def bad(msg: str) -> ConfigError:
            return ConfigError(f"TrainConfig: {msg}")

        if not isinstance(self.env, TrainableGame):
            raise bad(
                f"env: expected the configuration of a registered game (envs.config.SSDConfig, "
                f"envs.signalling.SignallingConfig, ...); got {type(self.env).__name__}"
            )
        try:
            get_game(self.env.game)
        except ConfigError as err:
            raise bad(f"env: {err}") from None
        _check_field_values(self, bad)
        if isinstance(self.env, SSDConfig) and isinstance(self.env.map, str):
            # canonical form: the map's rows (as saved in JSON)
            object.__setattr__(self, "env", self.env.replace(map=tuple(self.env.parsed.rows)))
        if self.influence_coef is None:
            coef = 0.0 if self.setting == "none" else DEFAULT_INFLUENCE_COEF
            object.__setattr__(self, "influence_coef", coef)
        elif isinstance(self.influence_coef, (int, float)) and not isinstance(
            self.influence_coef, bool
        ):
            object.__setattr__(self, "influence_coef", float(self.influence_coef))
        else:
            raise bad(f"influence_coef: expected a number or None; got {self.influence_coef!r}")
        if self.influence_marginal not in INFLUENCE_MARGINALS:
            raise bad(
                f"influence_marginal: expected one of {list(INFLUENCE_MARGINALS)}; got "
                f"{self.influence_marginal!r}"
            )
        if self.setting not in ("none", "basic", "comm", "moa"):
            raise bad(f"setting: expected 'none', 'basic', 'comm' or 'moa'; got {self.setting!r}")
        if self.algorithm not in ("a2c", "ppo"):
            raise bad(f"algorithm: expected 'a2c' or 'ppo'; got {self.algorithm!r}")
        try:
            DIVERGENCES.lookup(self.divergence)
        except ConfigError as err:
            raise bad(str(err)) from None
        for name in (
            "num_envs",
            "rollout_length",
            "total_env_steps",
            "ppo_epochs",
            "ppo_minibatches",
        ):
            if int(getattr(self, name)) < 1:
                raise bad(f"{name}: expected a positive integer; got {getattr(self, name)}")
        self._check_combinations(bad)

    def _check_combinations(self, bad: Callable[[str], ConfigError]) -> None:
        """Fields that are valid alone but not together (with the env's configuration)."""
        if self.env.view_size < self.conv_kernel:
            raise bad(
                f"conv_kernel={self.conv_kernel} exceeds the env's view size "
                f"{self.env.view_size}; use conv_kernel <= {self.env.view_size} (the signalling "
                f"game's views are 1 x 1: conv_kernel=1)"
            )
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
        """Updates per episode: ``env.max_cycles // rollout_length``."""
        return self.env.max_cycles // self.rollout_length

    def resume_conflicts(self, other: TrainConfig) -> list[str]:
        """Fields outside :data:`RESUMABLE_FIELDS` whose values differ between two configs.

        Empty when a run configured as ``other`` can resume exactly from a checkpoint of a run
        configured as ``self``.
        """
        mine, theirs = self.to_dict(), other.to_dict()
        return sorted(k for k in mine if k not in RESUMABLE_FIELDS and mine[k] != theirs[k])

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
            kw["env"] = env_from_dict(kw["env"])
        return cls(**kw)

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON with sorted keys (what ``config.json`` holds)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        """Inverse of :meth:`to_json` (parsed within :mod:`causal_influence.io.limits`)."""
        data = parse_json(text, "TrainConfig JSON")
        if not isinstance(data, dict):
            raise ConfigError(f"TrainConfig JSON: expected an object; got {type(data).__name__}")
        return cls.from_dict(data)


# ---------------------------------------------------------------------- help and options
def field_help(cls: type, name: str) -> str:
    """The help text written beside field ``name`` of the config dataclass ``cls``.

    Examples
    --------
    >>> field_help(TrainConfig, "num_envs")
    'B, environments stepped together.'
    """
    for f in dataclasses.fields(cls):
        if f.name == name:
            return str(f.metadata.get("help", ""))
    raise ConfigError(f"{cls.__name__} has no field {name!r}")


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def _shown(value: Any) -> str:
    """A default as the user would type it on the command line."""
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value) if value else "empty"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _argparse_kind(hint: Any, choices: Collection[Any] | None = None) -> dict[str, Any]:
    """argparse keyword arguments for a field of type ``hint`` (optional types as their inner).

    ``choices`` (a field's ``metadata["choices"]``, e.g. a registry of the core) is kept as
    given, so that names registered later are accepted and listed too.
    """
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return _argparse_kind(next(a for a in args if a is not type(None)), choices)
    if choices is not None:
        return {"choices": choices, "type": hint if hint in (int, float, str) else str}
    if hint is bool:
        return {"action": argparse.BooleanOptionalAction}
    if origin is Literal:
        return {"choices": list(args), "type": type(args[0])}
    if origin is tuple:
        return {"nargs": "*", "type": args[0] if args else str}
    if hint in (int, float, str):
        return {"type": hint}
    return {"type": str}


def add_field_options(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    cls: type,
    *,
    prefix: str = "",
    skip: Collection[str] = (),
) -> None:
    """One command-line option per field of the config dataclass ``cls``.

    Field ``lstm_size`` becomes ``--{prefix}lstm-size`` with destination
    ``{prefix}lstm_size`` (``-`` in the prefix read as ``_``), its type, choices or on/off flag
    from the annotation, and as help the field's help text followed once by its default. Every
    option defaults to None, so that :func:`field_overrides` can tell what was given. Fields in
    ``skip`` and private fields (``_name``) get no option.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_field_options(parser, TrainConfig, skip=("env",))
    >>> ns = parser.parse_args(["--lstm-size", "8", "--fc-hiddens", "16", "16"])
    >>> field_overrides(ns, TrainConfig)
    {'fc_hiddens': [16, 16], 'lstm_size': 8}
    """
    hints = typing.get_type_hints(cls)
    dest_prefix = prefix.replace("-", "_")
    for f in dataclasses.fields(cls):
        if f.name in skip or f.name.startswith("_"):
            continue
        text = f"{field_help(cls, f.name).rstrip('.')} (default: {_shown(_default(f))})"
        parser.add_argument(
            f"--{prefix}{f.name.replace('_', '-')}",
            dest=f"{dest_prefix}{f.name}",
            default=None,
            help=text.replace("%", "%%"),  # argparse formats help with %
            **_argparse_kind(hints[f.name], f.metadata.get("choices")),
        )


def field_overrides(ns: argparse.Namespace, cls: type, *, prefix: str = "") -> dict[str, Any]:
    """The fields of ``cls`` given on the command line (options of :func:`add_field_options`)."""
    dest_prefix = prefix.replace("-", "_")
    out = {}
    for f in dataclasses.fields(cls):
        value = getattr(ns, f"{dest_prefix}{f.name}", None)
        if value is not None:
            out[f.name] = value
    return out


TrainConfig.__doc__ = (TrainConfig.__doc__ or "").rstrip() + "\n" + fields_section(TrainConfig)
