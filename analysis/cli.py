"""The ``causal-influence`` command line.

Subcommands (one module each in :mod:`analysis.commands`, registered in
:data:`analysis.commands.COMMANDS`):

- ``analyze PATH --out DIR``: statistics of saved trajectories and a self-contained HTML report
  (:func:`analysis.stats.analyze`, :func:`analysis.report.write_report`); with ``--ray
  [ADDRESS]`` the shards are summarised in parallel on Ray (:func:`analysis.shards.analyze_shards`,
  same numbers);
- ``graph PATH --out DIR``: the influence graph as GraphML and JSON node-link, node measures,
  and optionally time-windowed graphs (:mod:`analysis.graph`);
- ``train ...``: train agents (forwarded to ``agents.trainer.main``; see
  ``causal-influence train --help``);
- ``sweep CONFIG``: a sweep of training runs (seeds x settings x hyperparameters) on Ray, then
  the gathered table and learning curves (:mod:`analysis.sweep`);
- ``demo``: synthetic speaker/listener data analysed end to end (:func:`analysis.demo.run`).

Exit status: 0 on success, 1 when runs of a sweep failed (after their retry), 2 on bad input
(a one-line ``causal-influence: error: ...`` on stderr, no traceback), 130 when interrupted.

Examples
--------
>>> main(["--version"])  # doctest: +ELLIPSIS
causal-influence ...
0
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import warnings
from collections.abc import Sequence
from typing import TextIO

from analysis.commands import by_name
from analysis.commands.options import PROG, Formatter, OneLineParser
from causal_influence.errors import CausalInfluenceError

__all__ = ["build_parser", "main"]


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("causal-influence")
    except Exception:  # the package may be used from a source tree without metadata
        import causal_influence

        return str(getattr(causal_influence, "__version__", "unknown"))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``causal-influence`` (every option documented in ``--help``)."""
    parser = OneLineParser(
        prog=PROG,
        description=(
            "Counterfactual social influence between learning agents: analyse saved "
            "trajectories, draw influence graphs, train agents, run the demo."
        ),
        epilog=f"Run '{PROG} COMMAND --help' for the options of a command.",
        formatter_class=Formatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in by_name().values():
        command.add_parser(sub)
    return parser


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input, 130 interrupted).

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).
    """
    if argv is None:  # the program itself: a Ctrl-C after the command is done changes nothing
        try:
            return _main(sys.argv[1:])
        finally:
            with contextlib.suppress(ValueError):  # not the main thread
                signal.signal(signal.SIGINT, signal.SIG_IGN)
    return _main(argv)


def _main(argv: Sequence[str]) -> int:
    args = list(argv)
    for stream in (sys.stdout, sys.stderr):  # paths that are not UTF-8 print with escapes
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    commands = by_name()
    if args and getattr(commands.get(args[0]), "FORWARDS_ARGUMENTS", False):
        try:
            return commands[args[0]].run(argparse.Namespace(command=args[0], argv=args[1:]))
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return 130
    parser = build_parser()
    try:
        ns = parser.parse_args(args)
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    if ns.version:
        print(f"{PROG} {_version()}")
        return 0
    if ns.command is None:
        parser.print_help()
        return 2
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _show_warning
            import matplotlib

            matplotlib.use("Agg")
            return commands[ns.command].run(ns)
    except (CausalInfluenceError, OSError) as err:
        text = str(err) or type(err).__name__
        print(f"{PROG}: error: {text}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
