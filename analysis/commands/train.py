"""``causal-influence train ...``: train agents; every argument is forwarded untouched to
``agents.trainer.main`` (its own parser, :func:`agents.train_cli.add_arguments`, gives
``causal-influence train --help``).

The options are defined once, in the trainer. They are not added to this subparser with
``agents.train_cli.add_arguments`` because building the parser would then import torch and the
agents for every command (``analyze``, ``graph``, ``--help``), not only for ``train``.

Examples
--------
>>> import argparse
>>> sub = argparse.ArgumentParser().add_subparsers(dest="command")
>>> _ = add_parser(sub)
>>> FORWARDS_ARGUMENTS
True
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from analysis.commands.options import PROG

__all__ = ["FORWARDS_ARGUMENTS", "NAME", "add_parser", "run"]

#: The subcommand's name on the command line.
NAME = "train"

#: ``main`` hands the arguments after ``train`` to :func:`run` as ``ns.argv``, unparsed.
FORWARDS_ARGUMENTS = True


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``train`` entry (listed in ``--help``; its options are the trainer's)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME,
        help="train agents (options: causal-influence train --help)",
        description="Train agents; every argument is forwarded to the agents' trainer.",
        add_help=False,
    )
    return parser


def run(ns: argparse.Namespace) -> int:
    """Call ``agents.trainer.main(ns.argv)``; 2 with a one-line error when the agents layer
    (torch) is not installed."""
    try:
        from agents.trainer import main
    except ImportError as err:
        print(
            f"{PROG}: error: training is unavailable ({err}); install it with "
            f"pip install 'causal-influence[agents]'",
            file=sys.stderr,
        )
        return 2
    return int(main(list(ns.argv)) or 0)
