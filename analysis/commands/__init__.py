"""The subcommands of ``causal-influence``, one module each, in one registry.

A command is a module with

- ``NAME``: its name on the command line;
- ``add_parser(subparsers) -> argparse.ArgumentParser``: adds its subparser, with the help
  text written beside each option;
- ``run(ns: argparse.Namespace) -> int``: does the work and returns the exit status;
- optionally ``FORWARDS_ARGUMENTS = True``: :func:`analysis.cli.main` does not parse the
  arguments after the command's name and hands them to ``run`` as ``ns.argv``.

:data:`COMMANDS` holds them in the order ``--help`` shows, imported from the names in
:data:`COMMAND_MODULES`. Adding a subcommand is one new module here and one line in
:data:`COMMAND_MODULES`.

Examples
--------
>>> [command.NAME for command in COMMANDS]
['analyze', 'graph', 'sweep', 'train', 'demo']
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any, Protocol, cast

__all__ = ["COMMANDS", "COMMAND_MODULES", "Command", "by_name"]


class Command(Protocol):
    """What :func:`analysis.cli.main` needs of a subcommand module."""

    NAME: str

    def add_parser(self, subparsers: Any) -> argparse.ArgumentParser:
        """Add the subcommand's parser to ``subparsers``."""

    def run(self, ns: argparse.Namespace) -> int:
        """Run the subcommand; returns the exit status."""


#: The registry: modules of :mod:`analysis.commands`, one per subcommand, in the order of
#: ``causal-influence --help``.
COMMAND_MODULES: tuple[str, ...] = (
    "analyze",
    "graph",
    "sweep",
    "train",
    "demo",
)

#: The subcommand modules of :data:`COMMAND_MODULES`.
COMMANDS: tuple[Command, ...] = tuple(
    cast("Command", importlib.import_module(f"{__name__}.{module}")) for module in COMMAND_MODULES
)


def by_name() -> dict[str, Command]:
    """The commands of :data:`COMMANDS` by their ``NAME``.

    Examples
    --------
    >>> by_name()["graph"].NAME
    'graph'
    """
    return {command.NAME: command for command in COMMANDS}
