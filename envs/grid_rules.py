"""The vocabulary of the gridworld games and the record of one game's rules.

Harvest and Cleanup run on one engine (:class:`envs._engine.Game`, compiled phase functions in
:mod:`envs._phases`). What the engine shares between games is named here: orientation codes,
the seven movement actions every gridworld game starts with, the per-agent event counters and
the beam marks. What differs between games is a :class:`GridRules` record: the game's action
names, its beams (as data: which action fires them, whether they cost the user, hit agents or
convert cells) and its environment dynamics (a compiled function with the arguments listed in
:class:`GridRules`). :func:`register_grid_game` puts a game in the registry
(:mod:`envs.registry`); the kernels never test a game's name. See docs/envs.md, sections
"Actions", "Beams" and "Adding a game".

Examples
--------
>>> from envs.grid_rules import ACTION_NAMES, FIRE, grid_rules
>>> ACTION_NAMES[FIRE]
'FIRE'
>>> rules = grid_rules("cleanup")
>>> rules.action_names[-1], [beam.action for beam in rules.beams]
('CLEAN', [7, 8])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from causal_influence.errors import ConfigError
from envs.maps import MAPS, RIVER, WASTE
from envs.registry import GameSpec, get_game, register_game

__all__ = [
    "ACTION_NAMES",
    "CLEAN",
    "CLEANING_BEAM",
    "DIRS",
    "DOWN",
    "EVENT_NAMES",
    "EV_APPLES",
    "EV_CLEANED",
    "EV_FIRES",
    "EV_HITS",
    "EV_HITS_GIVEN",
    "EV_TIMEOUT",
    "FIRE",
    "LEFT",
    "MOVEMENT_ACTIONS",
    "MOVE_DOWN",
    "MOVE_LEFT",
    "MOVE_RIGHT",
    "MOVE_UP",
    "NO_BEAM",
    "PENALTY_BEAM",
    "RIGHT",
    "STAY",
    "TURN_CLOCKWISE",
    "TURN_COUNTERCLOCKWISE",
    "UP",
    "Beam",
    "GridRules",
    "beam_table",
    "grid_rules",
    "register_grid_game",
]

# ------------------------------------------------------------------ orientations
#: Orientation codes, clockwise from UP.
UP, RIGHT, DOWN, LEFT = 0, 1, 2, 3
#: (row, col) step of each orientation code: row 0 is the top row, so UP is row - 1.
DIRS = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]], dtype=np.int64)

# ------------------------------------------------------------------ actions
#: Movement actions of every gridworld game (ids 0-6); moves are egocentric.
MOVE_LEFT, MOVE_RIGHT, MOVE_UP, MOVE_DOWN, STAY, TURN_CLOCKWISE, TURN_COUNTERCLOCKWISE = range(7)
#: Beam actions of Harvest and Cleanup.
FIRE, CLEAN = 7, 8
MOVEMENT_ACTIONS: tuple[str, ...] = (
    "MOVE_LEFT",
    "MOVE_RIGHT",
    "MOVE_UP",
    "MOVE_DOWN",
    "STAY",
    "TURN_CLOCKWISE",
    "TURN_COUNTERCLOCKWISE",
)
#: Names of every action id used by the shipped games.
ACTION_NAMES: tuple[str, ...] = (*MOVEMENT_ACTIONS, "FIRE", "CLEAN")

# ------------------------------------------------------------------ events
#: Rows of the per-step event counters (``StepResult.event_array[:, k]``).
EV_APPLES, EV_FIRES, EV_HITS, EV_HITS_GIVEN, EV_CLEANED, EV_TIMEOUT = range(6)
EVENT_NAMES: tuple[str, ...] = ("apples", "fires", "hits", "hits_given", "cleaned", "timeout")

# ------------------------------------------------------------------ beams
#: Marks in the beam layer of a step (they choose the colour and the letter of a beam cell).
NO_BEAM, PENALTY_BEAM, CLEANING_BEAM = 0, 1, 2
#: Columns of the beam table the kernels read (one row per beam of a game).
BEAM_ACTION, BEAM_MARK, BEAM_COSTS, BEAM_HITS, BEAM_CONVERTS, BEAM_CONVERTS_TO = range(6)


@dataclass(frozen=True)
class Beam:
    """A beam: three rays of ``beam_length`` cells in front of its user (docs/envs.md, "Beams").

    Every ray stops before a wall or the grid edge, and at the first agent it reaches.

    Attributes
    ----------
    action : int
        The action id that fires it.
    mark : int
        What the beam layer records on its cells (:data:`PENALTY_BEAM`, :data:`CLEANING_BEAM`).
    costs_user : bool
        The user pays ``fire_cost`` and a ``fires`` event is counted.
    hits_agents : bool
        An agent a ray reaches pays ``hit_penalty`` (and may be timed out).
    converts, converts_to : int or None
        Cell codes (:mod:`envs.maps`): a ray turns the first ``converts`` cell it reaches into
        ``converts_to`` (a ``cleaned`` event) and stops there.
    """

    action: int
    mark: int
    costs_user: bool = False
    hits_agents: bool = False
    converts: int | None = None
    converts_to: int | None = None

    def row(self) -> list[int]:
        """The beam as one row of the table the kernels read."""
        return [
            self.action,
            self.mark,
            int(self.costs_user),
            int(self.hits_agents),
            -1 if self.converts is None else self.converts,
            -1 if self.converts_to is None else self.converts_to,
        ]


#: FIRE: costs the user, fines the agents it reaches.
PENALTY = Beam(FIRE, PENALTY_BEAM, costs_user=True, hits_agents=True)
#: CLEAN: free; each ray turns the first waste cell it reaches into river.
CLEANING = Beam(CLEAN, CLEANING_BEAM, converts=WASTE, converts_to=RIVER)


def beam_table(beams: Sequence[Beam]) -> np.ndarray:
    """The beams of a game as an int64 array of shape (K, 6) (columns ``BEAM_*``).

    Examples
    --------
    >>> beam_table([PENALTY, CLEANING])[:, [BEAM_ACTION, BEAM_CONVERTS]].tolist()
    [[7, -1], [8, 3]]
    """
    return np.array([b.row() for b in beams], dtype=np.int64).reshape(len(beams), 6)


@dataclass(frozen=True)
class GridRules:
    """What makes one gridworld game different from another.

    Attributes
    ----------
    action_names : tuple of str
        The :data:`MOVEMENT_ACTIONS` followed by one name per beam (ids 7, 8, ...).
    beams : tuple of Beam
        One per action after the movement actions.
    dynamics : numba-compiled function
        The game's environment dynamics for B envs, run once per step after the beams and
        timeouts (and once at reset), before respawns: ``dynamics(grid, occ, u, u_off,
        growth, rivers, offs, params) -> None`` with ``grid`` (B, H, W) uint8 cell codes
        (:mod:`envs.maps`), changed in place; ``occ`` (B, H, W) int32, the agent index on
        each cell or -1; ``u`` (B, U) float64 uniforms of this step, of which env b may use
        ``u[b, u_off:u_off + len(growth) + dynamics_uniforms]``; ``growth`` (K, 2) and
        ``rivers`` (R, 2) int64 cells where apples can grow and where waste can appear;
        ``offs`` (M, 2) int64 regrowth neighbourhood (``SSDConfig.regrowth``); ``params``
        float64 from ``dynamics_params``. Compile it with ``numba.njit(cache=True)``.
    dynamics_params : callable
        ``dynamics_params(config) -> float64 array`` passed to ``dynamics`` as ``params``.
    dynamics_uniforms : int
        Uniforms the dynamics draw beyond one per growth cell, every step (the count must
        not depend on the state, so that batched and single envs draw alike).
    default_map : str
        Name in :data:`envs.maps.MAPS` used when the config names no map.
    """

    action_names: tuple[str, ...]
    beams: tuple[Beam, ...]
    dynamics: Any
    dynamics_params: Callable[[Any], np.ndarray]
    dynamics_uniforms: int
    default_map: str

    def __post_init__(self) -> None:
        n_moves = len(MOVEMENT_ACTIONS)
        if tuple(self.action_names[:n_moves]) != MOVEMENT_ACTIONS:
            raise ConfigError(
                f"GridRules.action_names: expected to start with {MOVEMENT_ACTIONS}; got "
                f"{self.action_names}"
            )
        actions = sorted(beam.action for beam in self.beams)
        if actions != list(range(n_moves, len(self.action_names))):
            raise ConfigError(
                f"GridRules.beams: expected one beam per action after the movement actions "
                f"(ids {n_moves} .. {len(self.action_names) - 1}); got beams for {actions}"
            )
        if self.default_map not in MAPS:
            raise ConfigError(
                f"GridRules.default_map: expected a name in envs.maps.MAPS; got "
                f"{self.default_map!r}"
            )
        if self.dynamics_uniforms < 0:
            raise ConfigError(
                f"GridRules.dynamics_uniforms: expected >= 0; got {self.dynamics_uniforms}"
            )


def register_grid_game(
    name: str, rules: GridRules, *, module: str | None, version: str = "v0", summary: str = ""
) -> GameSpec:
    """Register a gridworld game: its config is an :class:`envs.config.SSDConfig` with
    ``game=name`` and its engine the shared :class:`envs._engine.Game`.

    Returns
    -------
    GameSpec
        The registered entry.

    Examples
    --------
    A Harvest whose FIRE is free (the rules of :mod:`envs.harvest` with one beam changed):

    >>> import dataclasses
    >>> from envs import harvest, make_vector
    >>> from envs.registry import unregister_game
    >>> free_fire = dataclasses.replace(PENALTY, costs_user=False)
    >>> rules = dataclasses.replace(harvest.RULES, beams=(free_fire,))
    >>> spec = register_grid_game("harvest_free_fire", rules, module=None)
    >>> venv = make_vector("harvest_free_fire", 1, seed=0, map="small_harvest", num_agents=1)
    >>> _ = venv.reset()
    >>> float(venv.step([[FIRE]])[1][0, 0])  # no fire cost, nobody hit
    0.0
    >>> _ = unregister_game("harvest_free_fire")
    """
    from envs._engine import Game
    from envs.config import SSDConfig

    def make_config(**options: Any) -> SSDConfig:
        return SSDConfig(game=name, **options)

    spec = GameSpec(
        name=name,
        make_config=make_config,
        make_engine=Game,
        module=module,
        version=version,
        summary=summary,
        rules=rules,
        config_type=SSDConfig,
    )
    return register_game(spec)


def grid_rules(name: str) -> GridRules:
    """The :class:`GridRules` of a registered gridworld game.

    Raises
    ------
    ConfigError
        When ``name`` is not registered, or is a game with an engine of its own.
    """
    spec = get_game(name)
    if not isinstance(spec.rules, GridRules):
        raise ConfigError(
            f"game {name!r} is not a gridworld game (its entry has no GridRules); build it "
            f"with its own config: envs.registry.get_game({name!r}).make_config(...)"
        )
    return spec.rules
