"""The registry of games: one entry per game, read by every constructor of the package.

A game is a :class:`GameSpec`: its name, how to build its frozen configuration from keyword
options, how to build its batched engine (B environments stepped as arrays), and the module
that holds its PettingZoo ``ParallelEnv``. :func:`envs.vector.make_vector`,
:func:`make_parallel` and the PettingZoo classes of :mod:`envs.harvest` and
:mod:`envs.cleanup` look games up here, so a new game is usable everywhere once it is
registered. Gridworld games (Harvest, Cleanup) register through
:func:`envs.grid_rules.register_grid_game`, which fills the entry with the shared gridworld
engine :class:`envs._engine.Game` and the game's rules; a game with an engine of its own
registers a :class:`GameSpec` directly (docs/envs.md, section "Adding a game").

Examples
--------
>>> from envs.registry import game_names, get_game
>>> game_names()
('cleanup', 'harvest', 'signalling')
>>> spec = get_game("harvest")
>>> spec.env_name, spec.module
('harvest_v0', 'envs.harvest')
>>> spec.make_config(num_agents=2, map="small_harvest").num_actions
8
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import numpy as np

from causal_influence.errors import ConfigError

__all__ = [
    "GAMES",
    "BatchedEngine",
    "GameConfig",
    "GameSpec",
    "config_type",
    "game_names",
    "get_game",
    "make_parallel",
    "register_game",
    "spawn_seeds",
    "unregister_game",
]


@runtime_checkable
class GameConfig(Protocol):
    """What the batched and PettingZoo forms read from a game's frozen configuration."""

    @property
    def game(self) -> str:
        """The registry name of the game."""

    @property
    def num_agents(self) -> int:
        """N."""

    @property
    def num_actions(self) -> int:
        """A: actions are integers in ``[0, A)``."""

    @property
    def num_symbols(self) -> int:
        """M: the message vocabulary (0 = no message channel)."""

    @property
    def max_cycles(self) -> int:
        """Episode length (truncation)."""


class BatchedEngine(Protocol):
    """B environments of one configuration stepped as arrays (what :class:`VectorEnv` drives).

    :class:`envs._engine.Game` is the gridworld implementation. ``step`` returns an object with
    ``rewards`` (B, N) float32 (after any reward transforms), ``extrinsic`` (B, N) float32,
    ``events`` (a dict of (B, N) counters) and ``event_array`` (B, E, N) with the counters
    in the order of ``event_names``.
    """

    config: Any
    num_envs: int
    num_agents: int
    t: np.ndarray  # (B,) steps taken in the current episode
    event_names: tuple[str, ...]

    def reset(self, seeds: Any = None, env_ids: Any = None) -> None:
        """Start new episodes in the listed envs (all when None), seeding them when given."""

    def step(self, actions: Any, messages: Any = None) -> Any:
        """Advance every env by one step; ``actions`` and ``messages`` of shape (B, N)."""

    def observations(self) -> dict[str, np.ndarray]:
        """Arrays with leading dims (B, N) (or (B,) for shared parts)."""


@dataclass(frozen=True)
class GameSpec:
    """One registered game.

    Attributes
    ----------
    name : str
        Registry key, also the ``game`` field of its configuration (``"harvest"``).
    make_config : callable
        ``make_config(**options) -> config``: the game's frozen configuration with the
        reference defaults, options overriding fields (see :class:`GameConfig`).
    make_engine : callable
        ``make_engine(config, num_envs) -> engine``: the batched engine
        (:class:`BatchedEngine`).
    module : str or None
        Dotted name of the module holding the PettingZoo ``parallel_env`` (and ``env``, the
        AEC form); None for a game with only the batched form.
    version : str
        Suffix of the versioned env name (``"v0"`` gives ``harvest_v0``).
    summary : str
        One line shown in listings.
    rules : object, optional
        Game-specific data the engine reads (for gridworld games an
        :class:`envs.grid_rules.GridRules`).
    config_type : type, optional
        The class of the configurations ``make_config`` builds (a dataclass whose fields are
        the options: :class:`envs.config.SSDConfig` for gridworld games); tools that list a
        game's options read it (``causal-influence train --env-*``). None: the type of
        ``make_config()`` (see :func:`config_type`).
    """

    name: str
    make_config: Callable[..., Any]
    make_engine: Callable[[Any, int], Any]
    module: str | None = None
    version: str = "v0"
    summary: str = ""
    rules: Any = None
    config_type: type | None = None

    @property
    def env_name(self) -> str:
        """The versioned name (``metadata["name"]`` of its PettingZoo env)."""
        return f"{self.name}_{self.version}"


_GAMES: dict[str, GameSpec] = {}
#: Read-only view of the registered games, by name.
GAMES: Mapping[str, GameSpec] = MappingProxyType(_GAMES)


def register_game(spec: GameSpec, *, replace: bool = False) -> GameSpec:
    """Add a game to the registry.

    Parameters
    ----------
    spec : GameSpec
    replace : bool, default False
        Allow replacing an entry of the same name (otherwise a clash raises).

    Returns
    -------
    GameSpec
        ``spec``, so that a module can keep it as a constant.

    Raises
    ------
    ConfigError
        When ``spec`` is not a :class:`GameSpec`, its name is not an identifier, or the name
        is taken and ``replace`` is False.
    """
    if not isinstance(spec, GameSpec):
        raise ConfigError(f"register_game: expected a GameSpec; got {type(spec).__name__}")
    if not spec.name.isidentifier():
        raise ConfigError(
            f"register_game: the name must be a Python identifier (it names the env module "
            f"and the versioned env); got {spec.name!r}"
        )
    if spec.name in _GAMES and not replace:
        raise ConfigError(
            f"register_game: a game named {spec.name!r} is already registered; pick another "
            f"name or pass replace=True"
        )
    _GAMES[spec.name] = spec
    return spec


def unregister_game(name: str) -> GameSpec:
    """Remove a game from the registry and return its entry (for tests and plugins)."""
    return _GAMES.pop(get_game(name).name)


def get_game(name: str) -> GameSpec:
    """The entry of a registered game.

    Raises
    ------
    ConfigError
        When no game of that name is registered (the message lists the registered ones).

    Examples
    --------
    >>> get_game("cleanup").make_config(map="small_cleanup", num_agents=2).action_names[-1]
    'CLEAN'
    """
    if name not in _GAMES:
        raise ConfigError(
            f"game: expected one of the registered games {list(game_names())}; got {name!r}; "
            f"register a new game with envs.registry.register_game"
        )
    return _GAMES[name]


def config_type(name: str) -> type:
    """The class of a registered game's configurations (``GameSpec.config_type``, else the type
    of ``make_config()`` with its default options).

    Examples
    --------
    >>> config_type("harvest").__name__, config_type("signalling").__name__
    ('SSDConfig', 'SignallingConfig')
    """
    spec = get_game(name)
    if spec.config_type is not None:
        return spec.config_type
    return type(spec.make_config())


def game_names() -> tuple[str, ...]:
    """Names of the registered games, sorted."""
    return tuple(sorted(_GAMES))


def spawn_seeds(seed: int, count: int) -> list[int]:
    """Independent per-env seeds from one root seed: the children of
    ``numpy.random.SeedSequence(seed)``, one integer each (how batched engines and
    :class:`envs.vector.VectorEnv` expand a seed).

    Examples
    --------
    >>> seeds = spawn_seeds(0, 3)
    >>> len(set(seeds)), seeds == spawn_seeds(0, 3)
    (3, True)
    """
    children = np.random.SeedSequence(int(seed)).spawn(count)
    return [int(child.generate_state(1)[0]) for child in children]


def make_parallel(name: str, **options: Any) -> Any:
    """The PettingZoo ``ParallelEnv`` of a registered game.

    Parameters
    ----------
    name : str
        A registered game.
    **options
        Passed to the module's ``parallel_env`` (configuration fields, ``render_mode``,
        ``max_cycles``).

    Raises
    ------
    ConfigError
        When the game has no PettingZoo module (only a batched form).

    Examples
    --------
    >>> env = make_parallel("cleanup", map="small_cleanup", num_agents=2, max_cycles=3)
    >>> env.metadata["name"], env.possible_agents
    ('cleanup_v0', ['agent_0', 'agent_1'])
    """
    spec = get_game(name)
    if spec.module is None:
        raise ConfigError(
            f"game {name!r} has no PettingZoo module (GameSpec.module is None); use "
            f"envs.make_vector({name!r}, ...) for its batched form"
        )
    return importlib.import_module(spec.module).parallel_env(**options)
