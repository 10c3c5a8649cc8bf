"""Argument types, the help formatter and the data options shared by the subcommands.

Examples
--------
>>> import argparse
>>> parser = argparse.ArgumentParser(formatter_class=Formatter)
>>> _ = parser.add_argument("--level", type=probability, default=0.95, help="a level")
>>> parser.parse_args(["--level", "0.9"]).level
0.9
>>> "(default: 0.95)" in parser.format_help()
True
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import Any, NoReturn

from analysis.dataset import DEFAULT_MAX_UNITS, INFLUENCE_VARIABLES
from analysis.decisions import DEFAULT_ALPHA, DEFAULT_MIN_EFFECT
from causal_influence.engine import ALIGNMENTS
from causal_influence.errors import ConfigError

__all__ = [
    "PROG",
    "Formatter",
    "OneLineParser",
    "add_data_options",
    "add_overwrite_option",
    "check_output",
    "column_mapping",
    "data_source",
    "non_negative_int",
    "non_negative_number",
    "positive_int",
    "probability",
]

#: Name of the program in usage lines and error messages.
PROG = "causal-influence"


class Formatter(argparse.HelpFormatter):
    """Append "(default: ...)" to options whose default says something (not None/False)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (
            "%(default)" not in text
            and action.default not in (None, False, argparse.SUPPRESS)
            and action.option_strings
        ):
            text += " (default: %(default)s)"
        return text


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line: ``PROG: error: MESSAGE; see
    'PROG --help'`` (exit status 2), without the usage block.

    Subparsers made with ``add_subparsers`` are of the same class.

    Examples
    --------
    >>> import contextlib, io
    >>> parser = OneLineParser(prog="tool")
    >>> _ = parser.add_argument("--n", type=positive_int)
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err):
    ...     try:
    ...         parser.parse_args(["--n", "0"])
    ...     except SystemExit as exc:
    ...         print(exc.code)
    2
    >>> print(err.getvalue().strip())
    tool: error: argument --n: expected a positive integer; got 0; see 'tool --help'
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'\n")


def positive_int(text: str) -> int:
    """An integer >= 1 (argparse type).

    Examples
    --------
    >>> positive_int("3")
    3
    """
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text}")
    return value


def non_negative_int(text: str) -> int:
    """An integer >= 0 (argparse type).

    Examples
    --------
    >>> non_negative_int("0")
    0
    """
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer; got {text}")
    return value


def non_negative_number(text: str) -> float:
    """A finite number >= 0 (argparse type).

    Examples
    --------
    >>> non_negative_number("0.5")
    0.5
    """
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0; got {text}")
    return value


def probability(text: str) -> float:
    """A number in the open interval (0, 1) (argparse type).

    Examples
    --------
    >>> probability("0.05")
    0.05
    """
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1); got {text}")
    return value


def column_mapping(text: str) -> dict[str, str]:
    """``OURS=THEIRS,...`` as a dict (argparse type of ``--columns``).

    Examples
    --------
    >>> column_mapping("action=act, agent=agent_id")
    {'action': 'act', 'agent': 'agent_id'}
    """
    out: dict[str, str] = {}
    for item in text.split(","):
        ours, sep, theirs = (part.strip() for part in item.partition("="))
        if not sep or not ours or not theirs:
            raise argparse.ArgumentTypeError(
                f"expected OURS=THEIRS pairs separated by commas (e.g. action=act,agent=agent_id); "
                f"got {item.strip()!r}"
            )
        if ours in out:
            raise argparse.ArgumentTypeError(f"column {ours!r} is mapped twice")
        out[ours] = theirs
    return out


def data_source(ns: argparse.Namespace) -> Any:
    """What the data options read: the path, or the trajectory of a foreign long table (a CSV
    / TSV, or a Parquet table given with ``--columns``)."""
    from analysis.sources import is_table, read_table

    if is_table(ns.path, ns.columns):
        return read_table(ns.path, columns=ns.columns)
    if ns.columns:
        raise ConfigError(
            f"--columns maps the columns of another codebase's long table (.csv, .tsv or "
            f".parquet); {ns.path} is {'a directory' if Path(ns.path).is_dir() else 'not one'}"
        )
    return ns.path


# Long: a flat list of the input path and 13 argparse options, each with its help text.
def add_data_options(p: argparse.ArgumentParser) -> None:
    """The input path and the options of reading and testing saved trajectories (analyze,
    graph)."""
    p.add_argument(
        "path",
        metavar="PATH",
        help="a trajectory file (.parquet with its .json sidecar, or .npz) or a directory of "
        "such shards (read one shard at a time), or another codebase's long table (.csv, "
        ".tsv, or .parquet with --columns; one row per episode, t, agent)",
    )
    p.add_argument(
        "--columns",
        type=column_mapping,
        default=None,
        metavar="OURS=THEIRS,...",
        help="names of a long table's columns, e.g. action=act,agent=agent_id,t=step,"
        "reward=rew,episode=ep,message=msg,logits=logits (also terminated, truncated, done); "
        "NaN messages mean no message",
    )
    p.add_argument(
        "--alignment",
        choices=ALIGNMENTS,
        default=None,
        help="time alignment of the stored influence: same_step (a^k_t -> a^j_t) or next_step "
        "(a^k_t or m^k_t -> a^j_t+1); default: the influence_spec of the metadata",
    )
    p.add_argument(
        "--variable",
        choices=INFLUENCE_VARIABLES,
        default=None,
        help="the influencer's variable of the stored influence; default: the influence_spec "
        "of the metadata (actions without one); without stored influence, the variable whose "
        "coordination the graph and the conclusions test (messages: symbol/action)",
    )
    p.add_argument(
        "--lag",
        type=non_negative_int,
        default=1,
        help="steps between the speaker's symbol/action and the listener's action in "
        "instantaneous coordination",
    )
    p.add_argument(
        "--bootstrap",
        type=non_negative_int,
        default=1000,
        metavar="B",
        help="bootstrap resamples (over episodes) of every interval; 0 skips the intervals",
    )
    p.add_argument(
        "--permutations",
        type=non_negative_int,
        default=1000,
        metavar="B",
        help="permutation resamples of every independence test; 0 skips the tests",
    )
    p.add_argument(
        "--confidence",
        type=probability,
        default=0.95,
        help="confidence level of the intervals",
    )
    p.add_argument(
        "--max-units",
        type=positive_int,
        default=DEFAULT_MAX_UNITS,
        help="largest number of bootstrap units: beyond it, episodes are pooled into this "
        "many fixed groups of whole episodes (bounded memory)",
    )
    p.add_argument(
        "--visible-only",
        action="store_true",
        help="count only influence on influencees visible to the influencer",
    )
    p.add_argument(
        "--alpha",
        type=probability,
        default=DEFAULT_ALPHA,
        help="false discovery rate (Benjamini-Hochberg q-value) of the observational tests "
        "(coordination, grounding; the edges of a graph without stored influence)",
    )
    p.add_argument(
        "--min-effect",
        type=non_negative_number,
        default=DEFAULT_MIN_EFFECT,
        metavar="NATS",
        help="smallest effect that counts: an influence edge needs the influence interval "
        "over episodes above it (never below the noise floor); without stored influence, the "
        "smallest coordination drawn as an edge",
    )
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of every resampling")
    p.add_argument(
        "--no-progress", action="store_true", help="hide the progress bars (shown on stderr)"
    )


def add_overwrite_option(p: argparse.ArgumentParser, what: str = "DIR") -> None:
    """``--overwrite``: replace an earlier output as a whole (never files it did not write)."""
    p.add_argument(
        "--overwrite",
        action="store_true",
        help=f"replace {what} when it holds an earlier output of causal-influence, as a whole "
        f"(without it, a {what} that holds anything is refused; files causal-influence did "
        f"not write are never deleted)",
    )


def check_output(
    out: str | os.PathLike[str], *, overwrite: bool, inputs: tuple[str, ...] = ()
) -> Path:
    """Check an output directory before any work: writable, missing or empty (or an earlier
    output, with ``overwrite``), and neither one of the ``inputs`` nor a directory holding
    one (replacing it would delete the data being read).

    Raises
    ------
    FileExistsError, PermissionError, NotADirectoryError, ConfigError

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> check_output(folder / "report", overwrite=False, inputs=(str(folder / "data"),)).name
    'report'
    """
    from causal_influence.errors import ConfigError
    from causal_influence.io import check_output_directory

    target = Path(out)
    resolved = target.resolve()
    for source in inputs:
        src = Path(source).resolve()
        if resolved == src or resolved in src.parents:
            raise ConfigError(
                f"--out {target}: is the input {source} or holds it, and writing the output "
                f"would replace the data it reads; choose another output directory"
            )
    try:
        return check_output_directory(target, overwrite=overwrite)
    except OSError as err:
        raise type(err)(f"--out {err}") from None


#: Fields of the stored data each option needs, for :func:`check_stored_fields`.
_NEEDS = {
    "visible_only": ("--visible-only", ("influence", "visible")),
    "window": ("--window", ("influence",)),
}


def check_stored_fields(ns: argparse.Namespace) -> None:
    """Check, from the first file's header only, that the data has the fields the options
    given need (``--visible-only``: influence and visibility; ``--window``: influence).

    Raises
    ------
    ConfigError
        Naming the option and the missing field.
    """
    from causal_influence.errors import ConfigError
    from causal_influence.io import open_dataset
    from causal_influence.io.files import read_header

    wanted = [
        (option, fields)
        for key, (option, fields) in _NEEDS.items()
        if getattr(ns, key, None) not in (None, False)
    ]
    if not wanted:
        return
    header = read_header(open_dataset(ns.path).paths[0])
    for option, fields in wanted:
        missing = [name for name in fields if name not in header.fields]
        if missing:
            raise ConfigError(
                f"{option}: needs stored {' and '.join(missing)} (T, N, N), which {ns.path} "
                f"does not have; leave the option out or record it"
            )
