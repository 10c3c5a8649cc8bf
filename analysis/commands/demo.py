"""``causal-influence demo``: synthetic speaker/listener data analysed end to end
(:func:`analysis.demo.run`); with ``--agents`` trained agents recorded and analysed: the
signalling game and its control (:func:`analysis.demo_signalling.run`, what ``make demo``
shows), or with ``--agents --harvest`` agents with a message channel on small Harvest
(:func:`analysis.demo_agents.run`).

Examples
--------
>>> import argparse
>>> sub = argparse.ArgumentParser().add_subparsers(dest="command")
>>> ns = add_parser(sub).parse_args(["--episodes", "4"])
>>> ns.episodes, ns.length, ns.agents, ns.harvest
(4, 500, False, False)
"""

from __future__ import annotations

import argparse
from typing import Any

from analysis.commands.options import (
    Formatter,
    add_overwrite_option,
    check_output,
    non_negative_int,
    positive_int,
)
from causal_influence.errors import CausalInfluenceError

__all__ = ["NAME", "add_parser", "run"]

#: The subcommand's name on the command line.
NAME = "demo"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``demo`` subcommand and its options to ``subparsers``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME,
        help="synthetic speaker/listener data analysed end to end",
        description=(
            "Sample a signalling game with known answers (speaker, listener, bystander), save "
            "it as Parquet shards, analyse the shards, write the report and print measured "
            "values next to their closed forms."
        ),
        formatter_class=Formatter,
    )
    parser.add_argument(
        "--out",
        default="causal_influence_demo",
        metavar="DIR",
        help="output directory (missing or empty)",
    )
    add_overwrite_option(parser)
    parser.add_argument("--episodes", type=positive_int, default=20, help="number of episodes")
    parser.add_argument("--length", type=positive_int, default=500, help="steps per episode")
    parser.add_argument(
        "--seed",
        type=non_negative_int,
        default=None,
        help="seed of the data and resampling (default: 0; 1 for the signalling agents)",
    )
    parser.add_argument(
        "--bootstrap", type=non_negative_int, default=500, metavar="B", help="bootstrap resamples"
    )
    parser.add_argument(
        "--permutations",
        type=non_negative_int,
        default=500,
        metavar="B",
        help="permutation resamples",
    )
    parser.add_argument(
        "--agents",
        action="store_true",
        help=(
            "instead: train a speaker and a listener on the signalling game and on its control "
            "(the listener sees the target), record and analyse them: communication emerges "
            "and is told from a common cause (what `make demo` shows first; two minutes)"
        ),
    )
    parser.add_argument(
        "--harvest",
        action="store_true",
        help="with --agents: four agents with a message channel on small Harvest instead "
        "(nothing emerges at this budget; a few minutes)",
    )
    parser.add_argument(
        "--env-steps",
        type=positive_int,
        default=300_000,
        metavar="N",
        help="with --agents: training budget in env steps (per run)",
    )
    parser.add_argument(
        "--jobs",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="with --agents: signalling runs trained side by side, in processes of their own "
        "(0: one per CPU, at most 2; 1: one after the other, in this process)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    return parser


def run(ns: argparse.Namespace) -> int:
    """Run the synthetic demo, or the agents demo with ``--agents``."""
    check_output(ns.out, overwrite=ns.overwrite)
    if ns.harvest and not ns.agents:
        raise CausalInfluenceError("--harvest: chooses the game of --agents; add --agents")
    if ns.agents and ns.harvest:
        from analysis import demo_agents

        config = demo_agents.DemoConfig(
            env_steps=ns.env_steps,
            seed=0 if ns.seed is None else ns.seed,
            n_bootstrap=ns.bootstrap,
            n_permutations=ns.permutations,
        )
        demo_agents.run(ns.out, config, progress=not ns.no_progress, overwrite=ns.overwrite)
        return 0
    if ns.agents:
        from analysis import demo_signalling

        signalling = demo_signalling.DemoConfig(
            env_steps=ns.env_steps,
            seed=1 if ns.seed is None else ns.seed,
            n_bootstrap=ns.bootstrap,
            n_permutations=ns.permutations,
            jobs=ns.jobs,
        )
        demo_signalling.run(ns.out, signalling, progress=not ns.no_progress, overwrite=ns.overwrite)
        return 0
    from analysis.demo import run as run_demo

    run_demo(
        ns.out,
        episodes=ns.episodes,
        length=ns.length,
        seed=0 if ns.seed is None else ns.seed,
        n_bootstrap=ns.bootstrap,
        n_permutations=ns.permutations,
        progress=not ns.no_progress,
        overwrite=ns.overwrite,
    )
    return 0
