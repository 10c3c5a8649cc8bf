"""Frozen configuration of the gridworld games (Harvest, Cleanup and any registered one).

Defaults are the rule set of the reference code of Jaques et al. 2019 (docs/envs.md): 5
agents, 15x15 views, beams of length 5, -50 per hit and -1 per FIRE, no hit timeout,
Moore-neighbourhood regrowth, beams invisible in observations, 1000-step episodes, no message
channel. Every choice of the reference that is not a defect is an option here (docs/envs.md,
"Where we differ from the reference"). The game's actions and default map come from its entry
in the registry (:func:`envs.grid_rules.grid_rules`).

Examples
--------
>>> from envs.config import harvest_config
>>> cfg = harvest_config(num_agents=3, map="small_harvest", obs_type="symbolic")
>>> cfg.num_actions, cfg.view_size
(8, 15)
"""

from __future__ import annotations

import dataclasses
import textwrap
from dataclasses import dataclass, field
from typing import Any, Literal

from causal_influence.errors import ConfigError
from envs.grid_rules import ACTION_NAMES, CLEAN, FIRE, STAY, GridRules, grid_rules
from envs.maps import MAPS, ParsedMap, parse_map

__all__ = [
    "ACTION_NAMES",
    "CLEAN",
    "FIRE",
    "STAY",
    "SSDConfig",
    "cleanup_config",
    "fields_section",
    "harvest_config",
]


@dataclass(frozen=True)
class SSDConfig:
    """Rules and options of a sequential social dilemma.

    Each field's help text is written beside it (``field(metadata={"help": ...})``); the
    Attributes section below and the ``--env-*`` options of ``causal-influence train --help``
    are both built from it.
    """

    game: str = field(
        default="harvest",
        metadata={
            "help": "The game: a gridworld game registered in envs.registry (harvest, cleanup)."
        },
    )
    map: str | tuple[str, ...] | None = field(
        default=None,
        metadata={
            "help": "A name from envs.maps.MAPS or the rows of an ASCII map (None: the "
            "reference map of the game)."
        },
    )
    num_agents: int = field(
        default=5,
        metadata={"help": "Number of agents (at most the number of spawn points of the map)."},
    )
    view_radius: int = field(
        default=7,
        metadata={"help": "V; observations cover (2V+1) x (2V+1) cells centred on the agent."},
    )
    obs_type: Literal["rgb", "symbolic", "codes"] = field(
        default="rgb",
        metadata={
            "help": "Observations as an RGB image (the reference), as one-hot channels per "
            "cell type and agent ('symbolic'), or as the same information in one integer code "
            "per cell ('codes': one byte instead of C, decoded by envs.code_table; the fastest)."
        },
    )
    num_symbols: int = field(
        default=0,
        metadata={"help": "Message vocabulary M; 0 turns the message channel off (the reference)."},
    )
    max_cycles: int = field(default=1000, metadata={"help": "Episode length in steps."})
    beam_length: int = field(
        default=5, metadata={"help": "Reach of the FIRE and CLEAN beams in cells."}
    )
    hit_penalty: float = field(
        default=50.0, metadata={"help": "Reward lost by an agent hit by a FIRE beam."}
    )
    fire_cost: float = field(default=1.0, metadata={"help": "Reward lost by using FIRE."})
    hit_timeout: int = field(
        default=0,
        metadata={
            "help": "K > 0 removes or freezes a hit agent for K steps (see hit_timeout_mode); "
            "0: no timeout."
        },
    )
    hit_timeout_mode: Literal["remove", "freeze"] = field(
        default="remove",
        metadata={"help": "What a hit timeout does: 'remove' the agent or 'freeze' it in place."},
    )
    beams_in_obs: bool = field(
        default=False,
        metadata={"help": "Draw the step's beams in observations (the reference before 2020 did)."},
    )
    regrowth: Literal["moore", "disc"] = field(
        default="moore",
        metadata={
            "help": "Harvest apple-regrowth neighbourhood: the reference's 3x3 square ('moore') "
            "or the radius-2 disc it intended ('disc')."
        },
    )
    regrowth_probs: tuple[float, float, float, float] = field(
        default=(0.0, 0.005, 0.02, 0.05),
        metadata={
            "help": "Harvest regrowth probability for 0, 1, 2 and >= 3 apples in the neighbourhood."
        },
    )
    depletion_threshold: float = field(
        default=0.4,
        metadata={"help": "Cleanup: river waste density at which neither apples nor waste spawn."},
    )
    restoration_threshold: float = field(
        default=0.0,
        metadata={
            "help": "Cleanup: waste density at or below which apples spawn at the full rate "
            "(between the two thresholds the rate falls linearly)."
        },
    )
    waste_spawn_prob: float = field(
        default=0.5,
        metadata={
            "help": "Cleanup: chance per step and clean river cell that waste appears (at most "
            "one cell per step)."
        },
    )
    apple_respawn_prob: float = field(
        default=0.05,
        metadata={"help": "Cleanup: apple spawn chance per step and free cell at the full rate."},
    )
    collective_reward: bool = field(
        default=False,
        metadata={"help": "Every agent receives the sum of all agents' rewards of the step."},
    )
    inequity_alpha: float = field(
        default=0.0,
        metadata={"help": "Fehr-Schmidt inequity aversion to disadvantage (0: off)."},
    )
    inequity_beta: float = field(
        default=0.0,
        metadata={"help": "Fehr-Schmidt inequity aversion to advantage (0: off)."},
    )
    inequity_smoothing: float = field(
        default=0.0,
        metadata={
            "help": "Temporal smoothing of rewards for inequity aversion: "
            "e(t) = smoothing * e(t-1) + r(t)."
        },
    )
    _parsed: ParsedMap | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        rules = grid_rules(self.game)
        if self.map is None:
            object.__setattr__(self, "map", rules.default_map)
        if isinstance(self.map, list):
            object.__setattr__(self, "map", tuple(self.map))
        parsed = parse_map(self.map)  # type: ignore[arg-type]
        object.__setattr__(self, "_parsed", parsed)
        checks: list[tuple[bool, str]] = [
            (isinstance(self.num_agents, int) and self.num_agents >= 1, "num_agents must be >= 1"),
            (self.view_radius >= 1, "view_radius must be >= 1"),
            (
                self.obs_type in ("rgb", "symbolic", "codes"),
                "obs_type must be 'rgb', 'symbolic' or 'codes'",
            ),
            (self.num_symbols >= 0, "num_symbols must be >= 0 (0 = no message channel)"),
            (self.max_cycles >= 1, "max_cycles must be >= 1"),
            (self.beam_length >= 1, "beam_length must be >= 1"),
            (self.hit_timeout >= 0, "hit_timeout must be >= 0"),
            (self.hit_timeout_mode in ("remove", "freeze"), "hit_timeout_mode: remove|freeze"),
            (self.regrowth in ("moore", "disc"), "regrowth must be 'moore' or 'disc'"),
            (len(self.regrowth_probs) == 4, "regrowth_probs needs 4 probabilities"),
            (all(0 <= p <= 1 for p in self.regrowth_probs), "regrowth_probs must be in [0, 1]"),
            (0 <= self.waste_spawn_prob <= 1, "waste_spawn_prob must be in [0, 1]"),
            (0 <= self.apple_respawn_prob <= 1, "apple_respawn_prob must be in [0, 1]"),
            (self.depletion_threshold > 0, "depletion_threshold must be > 0"),
            (0 <= self.inequity_smoothing < 1, "inequity_smoothing must be in [0, 1)"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"SSDConfig: {message}; got {self!r}")
        if self.num_agents > len(parsed.spawn_points):
            raise ConfigError(
                f"SSDConfig: {self.num_agents} agents need as many spawn points, but the map has "
                f"{len(parsed.spawn_points)}; use fewer agents or add 'P' cells"
            )
        if (self.inequity_alpha or self.inequity_beta) and self.num_agents < 2:
            raise ConfigError("inequity aversion needs at least 2 agents")

    # ------------------------------------------------------------------ derived
    @property
    def parsed(self) -> ParsedMap:
        """The parsed map."""
        assert self._parsed is not None
        return self._parsed

    @property
    def rules(self) -> GridRules:
        """The game's rules, from the registry."""
        return grid_rules(self.game)

    @property
    def num_actions(self) -> int:
        """Number of actions of the game: 8 for Harvest (no CLEAN), 9 for Cleanup."""
        return len(self.rules.action_names)

    @property
    def view_size(self) -> int:
        """2V + 1."""
        return 2 * self.view_radius + 1

    @property
    def action_names(self) -> tuple[str, ...]:
        """Names of the game's actions, by id."""
        return self.rules.action_names

    @property
    def map_name(self) -> str:
        """The map's name when it is a named map, else ``"custom"``."""
        for name, rows in MAPS.items():
            if rows == self.parsed.rows:
                return name
        return "custom"

    def replace(self, **changes: Any) -> SSDConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, _parsed=None, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable fields (for configs saved beside results)."""
        out = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "_parsed"
        }
        out["map"] = list(self.parsed.rows)
        out["regrowth_probs"] = list(self.regrowth_probs)
        return out


def harvest_config(**overrides: Any) -> SSDConfig:
    """Harvest with the reference defaults, optionally overridden.

    Examples
    --------
    >>> harvest_config().num_agents
    5
    """
    return SSDConfig(game="harvest", **overrides)


def cleanup_config(**overrides: Any) -> SSDConfig:
    """Cleanup with the reference defaults, optionally overridden.

    Examples
    --------
    >>> cleanup_config(map="small_cleanup", num_agents=2).num_actions
    9
    """
    return SSDConfig(game="cleanup", **overrides)


def fields_section(cls: type, heading: str = "Parameters") -> str:
    """A numpydoc section (``heading``: Parameters, Attributes) of a config dataclass, built
    from its fields' types and the help texts written beside them (private fields skipped).

    A field whose metadata has ``"choices"`` (a registry such as
    :data:`causal_influence.divergences.DIVERGENCES`) lists the names registered when the
    section is built.

    Examples
    --------
    >>> print(fields_section(SSDConfig, "Attributes").splitlines()[3])
        game : str
    """
    lines = ["", f"    {heading}", "    " + "-" * len(heading)]
    for f in dataclasses.fields(cls):
        if f.name.startswith("_"):
            continue
        kind = str(f.type)
        if kind.startswith("Literal["):
            kind = "{" + kind[len("Literal[") : -1] + "}"
        text = str(f.metadata.get("help", ""))
        choices = f.metadata.get("choices")
        if choices is not None:
            option = getattr(choices, "option", "value")
            text += f" One of {list(choices)} or any other registered {option}."
        lines.append(f"    {f.name} : {kind}")
        lines.extend(
            textwrap.wrap(text, width=92, initial_indent=" " * 8, subsequent_indent=" " * 8)
        )
    return "\n".join(lines) + "\n"


SSDConfig.__doc__ = (
    (SSDConfig.__doc__ or "").rstrip() + "\n" + fields_section(SSDConfig, "Attributes")
)
