"""``causal-influence sweep CONFIG``: a sweep of training runs (seeds x settings x
hyperparameters) on Ray, then the gathered table and learning curves (:mod:`analysis.sweep`).

Exit status 1 when runs failed after their retry (the others are kept; run the same command
again to retry them).

Examples
--------
>>> import argparse
>>> sub = argparse.ArgumentParser().add_subparsers(dest="command")
>>> ns = add_parser(sub).parse_args(["sweep.toml", "--num-cpus", "2"])
>>> ns.config, ns.num_cpus, ns.address
('sweep.toml', 2, None)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from analysis.commands.options import PROG, Formatter, positive_int

__all__ = ["NAME", "add_parser", "run"]

#: The subcommand's name on the command line.
NAME = "sweep"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``sweep`` subcommand and its options to ``subparsers``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME,
        help="a sweep of training runs on Ray, gathered into a table and learning curves",
        description=(
            "Train every combination of seeds, settings and hyperparameters of the sweep file "
            "CONFIG (TOML or JSON; format in the docs of analysis.sweep) as Ray tasks, each "
            "run in DIR/runs/NAME; a failed run is retried once, and runs finished by an "
            "earlier call are not redone. Then write DIR/results.csv (one row per run and "
            "update), DIR/curves.csv and DIR/learning_curves.png (mean and 95% interval over "
            "seeds per condition)."
        ),
        formatter_class=Formatter,
    )
    parser.add_argument("config", metavar="CONFIG", help="sweep file (.toml or .json)")
    parser.add_argument(
        "--address",
        default=None,
        metavar="ADDR",
        help="address of a running Ray cluster ('auto', HOST:6379, ray://HOST:10001); "
        "default: start a local cluster",
    )
    parser.add_argument(
        "--num-cpus",
        type=positive_int,
        default=None,
        metavar="N",
        help="CPUs of the local cluster (default: all of this machine's)",
    )
    parser.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="sweep directory (default: the file's 'out', else a directory named after the "
        "file, beside it)",
    )
    parser.add_argument(
        "--metric",
        default=None,
        help="column of the runs' progress.csv drawn in the learning curves (default: the "
        "file's 'metric', else episode_collective_return)",
    )
    return parser


def run(ns: argparse.Namespace) -> int:
    """Run the sweep of ``ns.config``, gather what finished; 1 when runs failed."""
    from analysis.sweep import gather_sweep, load_sweep_config, run_sweep

    spec = load_sweep_config(ns.config)
    runs = spec.runs()
    out = Path(ns.out) if ns.out else spec.out or Path(ns.config).with_suffix("")
    metric = ns.metric or spec.metric

    def log(message: str) -> None:
        print(f"sweep: {message}", file=sys.stderr)

    print(f"sweep: {len(runs)} runs into {out}", file=sys.stderr)
    report = run_sweep(runs, out, address=ns.address, num_cpus=ns.num_cpus, log=log)
    failed = report[report["status"] == "failed"]
    counts = report["status"].value_counts()
    if len(failed) < len(report):
        results = gather_sweep(out, metric=metric)
        print(
            f"sweep: {counts.get('finished', 0)} runs finished, {counts.get('skipped', 0)} "
            f"finished earlier, {len(failed)} failed; table: {results.paths['table']}; "
            f"learning curves: {results.paths['plot']}"
        )
    if len(failed):
        first = failed.iloc[0]
        print(
            f"{PROG}: error: {len(failed)} of {len(report)} runs failed after a retry (first: "
            f"{first['run']}: {first['error']}); run the same command again to retry them",
            file=sys.stderr,
        )
        return 1
    return 0
