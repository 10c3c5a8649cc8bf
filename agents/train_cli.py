"""The ``causal-influence train`` command line: one option per field of
:class:`agents.config.TrainConfig` and, as ``--env-*``, of the configuration of every game
registered in :mod:`envs.registry`, with the help text written beside each field; ``--config``
and ``--resume`` give the fields not passed. Also ``python -m agents.trainer``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from agents.checkpoint import find_checkpoint, load_checkpoint
from agents.config import TrainConfig, add_field_options, field_overrides
from agents.run_dir import TrainingInterrupted, run_directory_of
from agents.trainer import train
from causal_influence.errors import CausalInfluenceError, ConfigError
from causal_influence.io.limits import read_json
from envs.registry import GAMES, config_type, get_game

__all__ = ["add_arguments", "build_parser", "env_config_types", "main", "run"]

_DESCRIPTION = (
    "Train agents with (or without) a social-influence reward in a registered game (Harvest, "
    "Cleanup, the signalling game, ...): settings basic influence, influential communication "
    "and model of other agents; an influence setting trains with the influence reward unless "
    "--influence-coef 0 asks for its baseline. Options not given keep the value of --config, "
    "or when resuming of the checkpoint's config, else the default shown."
)


def env_config_types() -> dict[str, type]:
    """The configuration class of each registered game
    (:func:`envs.registry.config_type`), by game name."""
    return {name: config_type(name) for name in GAMES}


def _env_option_groups() -> list[tuple[type, list[str], list[str]]]:
    """(config class, its games, the fields that get an option in its group): each field name
    gets one ``--env-*`` option, in the group of the first class that has it."""
    classes: dict[type, list[str]] = {}
    for name, cls in sorted(env_config_types().items()):
        classes.setdefault(cls, []).append(name)
    seen = {"game", "map"}  # --game and --map are options of their own
    groups = []
    for cls, games in classes.items():
        fields = [
            f.name
            for f in dataclasses.fields(cls)
            if f.name not in seen and not f.name.startswith("_")
        ]
        seen.update(fields)
        groups.append((cls, games, fields))
    return groups


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``causal-influence train`` to ``parser``.

    One option per field of :class:`agents.config.TrainConfig` and (as ``--env-*``) of the
    configuration class of every registered game (:func:`env_config_types`; a field shared by
    several classes, such as ``num_symbols``, is one option), built by
    :func:`agents.config.add_field_options` from the fields' types and help texts, plus
    ``--config``, ``--resume``, ``--game`` and ``--map``.
    """
    parser.add_argument(
        "--config", help="JSON file of a TrainConfig (the options below override it)"
    )
    parser.add_argument(
        "--resume",
        help="checkpoint file or run directory to resume from (only the training length and "
        "output options may differ from the checkpoint's config); the run continues in that "
        "run directory unless --out-dir says otherwise",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace another run in --out-dir (its run files only); without it a directory "
        "holding a run is refused",
    )
    parser.add_argument(
        "--game",
        choices=GAMES,  # the envs' registry: a game registered there is a choice here
        default=None,
        help="the game, registered in envs.registry (default: the config's, else harvest); "
        "its --env-* options are listed in the group of its configuration class",
    )
    parser.add_argument(
        "--map",
        dest="map_name",
        default=None,
        help="gridworld games: name of a map in envs.maps.MAPS (default: the game's reference map)",
    )
    add_field_options(
        parser.add_argument_group("training options (TrainConfig)"), TrainConfig, skip=("env",)
    )
    for cls, games, fields in _env_option_groups():
        skip = [f.name for f in dataclasses.fields(cls) if f.name not in fields]
        title = f"environment options of {', '.join(games)} ({cls.__module__}.{cls.__name__})"
        defaults = {f.name: f.default for f in dataclasses.fields(cls)}
        shared = [n for n in skip if n not in ("game", "map") and not n.startswith("_")]
        if shared:  # options listed in an earlier group, with this game's defaults
            title += "; also " + ", ".join(
                f"--env-{n.replace('_', '-')} (default here: {defaults[n]})" for n in shared
            )
        add_field_options(parser.add_argument_group(title), cls, prefix="env-", skip=skip)


class _OneLineParser(argparse.ArgumentParser):
    """Usage errors in one line (``causal-influence train: error: ...``), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``causal-influence train`` (see :func:`add_arguments`)."""
    parser = _OneLineParser(prog="causal-influence train", description=_DESCRIPTION)
    add_arguments(parser)
    return parser


def _read_config(path: str) -> dict[str, Any]:
    """The fields of a ``--config`` file (JSON read within causal_influence.io.limits)."""
    data = read_json(path, "training config")
    if not isinstance(data, dict):
        raise ConfigError(
            f"--config {path}: expected a JSON object of TrainConfig fields; got "
            f"{type(data).__name__}"
        )
    return TrainConfig.from_dict(data).to_dict()


def _config_from_args(ns: argparse.Namespace) -> TrainConfig:
    """The run's config: ``--config`` (or the resumed checkpoint's), then the options given."""
    base: dict[str, Any] = {}
    if ns.config:
        base = _read_config(ns.config)
    elif ns.resume:
        state = load_checkpoint(find_checkpoint(ns.resume))
        base = TrainConfig.from_json(state["config"]).to_dict()
    if ns.resume and ns.out_dir is None and not (ns.config and base.get("out_dir")):
        # a resume writes where it was told: the run directory given, not the out_dir stored
        # in the checkpoint (which names the original of a copied run)
        base["out_dir"] = str(run_directory_of(ns.resume))
    env_base = dict(base.get("env", {}))
    game = ns.game or env_base.get("game", "harvest")
    env_over = _env_overrides(ns, game)
    if ns.map_name is not None:
        from envs.maps import MAPS

        if "map" not in {f.name for f in dataclasses.fields(env_config_types()[game])}:
            raise ConfigError(f"--map: game {game!r} has no map")
        if ns.map_name not in MAPS:
            raise ConfigError(f"--map: unknown map {ns.map_name!r}; known: {sorted(MAPS)}")
        env_over["map"] = ns.map_name
    if env_base and game == env_base.get("game"):
        env_kwargs: dict[str, Any] = {**env_base, **env_over}
    else:
        env_kwargs = {**env_over, "game": game}
    merged = {**base, **field_overrides(ns, TrainConfig)}
    merged["env"] = env_kwargs
    return TrainConfig.from_dict(merged)


def _env_overrides(ns: argparse.Namespace, game: str) -> dict[str, Any]:
    """The ``--env-*`` options given, checked against the fields of ``game``'s configuration."""
    get_game(game)  # a game registered after the parser was built still gets a clear error
    cls = env_config_types()[game]
    given: dict[str, Any] = {}
    for _cls, _games, fields in _env_option_groups():
        for name in fields:
            value = getattr(ns, f"env_{name}", None)
            if value is not None:
                given[name] = value
    known = {f.name for f in dataclasses.fields(cls)}
    foreign = sorted(set(given) - known)
    if foreign:
        options = ", ".join("--env-" + n.replace("_", "-") for n in foreign)
        mine = ", ".join(
            "--env-" + n.replace("_", "-") for n in sorted(known - {"game", "map", "_parsed"})
        )
        raise ConfigError(
            f"{options}: not an option of game {game!r} ({cls.__name__}); its options: {mine}"
        )
    return given


def run(ns: argparse.Namespace) -> int:
    """Train as the parsed options of :func:`add_arguments` say; returns the exit status.

    Prints a JSON summary of the run; a configuration, checkpoint or file error is printed to
    stderr in one line with exit status 2; Ctrl-C stops after a checkpoint that resumes
    exactly, with exit status 130.
    """
    prog = "causal-influence train"
    try:
        result = train(_config_from_args(ns), resume=ns.resume, overwrite=ns.overwrite)
    except (CausalInfluenceError, OSError) as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    except TrainingInterrupted as stop:
        again = f"; continue with: {prog} --resume {stop.checkpoint}" if stop.checkpoint else ""
        print(f"{prog}: interrupted: {stop}{again}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:  # before the loop, or a second Ctrl-C while the run finishes
        print(f"{prog}: interrupted; checkpoints written so far are kept", file=sys.stderr)
        return 130
    last = result.history[-1] if result.history else {}
    summary = {
        "updates": len(result.history),
        "env_steps": last.get("env_steps", 0),
        "collective_reward_per_step": last.get("collective_reward", float("nan")),
        "out_dir": None if result.out_dir is None else str(result.out_dir),
    }
    try:
        print(json.dumps(summary, indent=2))
    except KeyboardInterrupt:
        print(f"{prog}: interrupted after the run finished (it is complete)", file=sys.stderr)
        return 130
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``causal-influence train``; returns the exit status.

    Examples
    --------
    >>> main(["--help"])  # doctest: +ELLIPSIS
    usage: causal-influence train ...
    0
    """
    parser = build_parser()
    try:
        ns = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return run(ns)
