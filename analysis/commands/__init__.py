"""The subcommands of ``causal-influence``, one module each, in one registry.

A command is a module with

- ``NAME``: its name on the command line;
- ``add_parser(subparsers) -> argparse.ArgumentParser``: adds its subparser, with the help
  text written beside each option;
- ``run(ns: argparse.Namespace) -> int``: does the work and returns the exit status;
- optionally ``FORWARDS_ARGUMENTS = True``: :func:`analysis.cli.main` does not parse the
  arguments after the command's name and hands them to ``run`` as ``ns.argv``.

:data:`COMMANDS` lists them in the order ``--help`` shows. Adding a subcommand is one new
module here and one line in :data:`COMMANDS`.

Examples
--------
>>> [command.NAME for command in COMMANDS]
['analyze', 'graph', 'sweep', 'train', 'demo']
"""

from __future__ import annotations

import argparse
from typing import Any, Protocol

from analysis.commands import analyze, demo, graph, sweep, train

__all__ = ["COMMANDS", "Command", "by_name"]


class Command(Protocol):
    """What :func:`analysis.cli.main` needs of a subcommand module."""

    NAME: str

    def add_parser(self, subparsers: Any) -> argparse.ArgumentParser:
        """Add the subcommand's parser to ``subparsers``."""

    def run(self, ns: argparse.Namespace) -> int:
        """Run the subcommand; returns the exit status."""


#: The registry of subcommands, in the order of ``causal-influence --help``.
COMMANDS: tuple[Command, ...] = (
    analyze,
    graph,
    sweep,
    train,
    demo,
)


def by_name() -> dict[str, Command]:
    """The commands of :data:`COMMANDS` by their ``NAME``.

    Examples
    --------
    >>> by_name()["graph"].NAME
    'graph'
    """
    return {command.NAME: command for command in COMMANDS}
