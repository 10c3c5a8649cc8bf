"""The ``causal-influence`` command line.

Subcommands:

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
import importlib
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from causal_influence.errors import CausalInfluenceError

__all__ = ["build_parser", "main"]

PROG = "causal-influence"


class _Formatter(argparse.HelpFormatter):
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


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("causal-influence")
    except Exception:  # the package may be used from a source tree without metadata
        import causal_influence

        return str(getattr(causal_influence, "__version__", "unknown"))


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer; got {text}")
    return value


def _probability(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1); got {text}")
    return value


def _add_data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "path",
        metavar="PATH",
        help="a trajectory file (.parquet with its .json sidecar, or .npz) or a directory of "
        "such shards (read one shard at a time)",
    )
    p.add_argument(
        "--alignment",
        choices=["same_step", "next_step"],
        default=None,
        help="time alignment of the stored influence: same_step (a^k_t -> a^j_t) or next_step "
        "(a^k_t or m^k_t -> a^j_t+1); default: the 'influence_alignment' of the metadata",
    )
    p.add_argument(
        "--variable",
        choices=["actions", "messages"],
        default=None,
        help="the influencer's variable of the stored influence; default: the metadata's "
        "'influence_variable', else messages for the 'comm' setting, else actions",
    )
    p.add_argument(
        "--lag",
        type=_non_negative_int,
        default=1,
        help="steps between the speaker's symbol/action and the listener's action in "
        "instantaneous coordination",
    )
    p.add_argument(
        "--bootstrap",
        type=_non_negative_int,
        default=1000,
        metavar="B",
        help="bootstrap resamples (over episodes) of every interval; 0 skips the intervals",
    )
    p.add_argument(
        "--permutations",
        type=_non_negative_int,
        default=1000,
        metavar="B",
        help="permutation resamples of every independence test; 0 skips the tests",
    )
    p.add_argument(
        "--confidence",
        type=_probability,
        default=0.95,
        help="confidence level of the intervals",
    )
    p.add_argument(
        "--max-units",
        type=_positive_int,
        default=200,
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
        type=_probability,
        default=0.05,
        help="false discovery rate (Benjamini-Hochberg q-value) of the graph's edges",
    )
    p.add_argument(
        "--min-effect",
        type=float,
        default=0.0,
        help="smallest edge weight (mean influence, or IC without stored influence) in graphs",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of every resampling")
    p.add_argument(
        "--no-progress", action="store_true", help="hide the progress bars (shown on stderr)"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``causal-influence`` (every option documented in ``--help``)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Counterfactual social influence between learning agents: analyse saved "
            "trajectories, draw influence graphs, train agents, run the demo."
        ),
        epilog=f"Run '{PROG} COMMAND --help' for the options of a command.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    analyze = sub.add_parser(
        "analyze",
        help="statistics of saved trajectories and an HTML report",
        description=(
            "Read trajectories (a file or a directory of shards), compute per-pair influence "
            "with bootstrap intervals over episodes and permutation p-values (BH q-values), "
            "speaker consistency (all definitions), instantaneous coordination over all steps "
            "and at moments of high influence, CIC (when counterfactual logits are stored) and "
            "social outcomes, and write DIR/report.html (self-contained: figures embedded), "
            "the tables as CSV and the influence graph (GraphML, JSON)."
        ),
        formatter_class=_Formatter,
    )
    _add_data_options(analyze)
    analyze.add_argument("--out", required=True, metavar="DIR", help="output directory")
    analyze.add_argument(
        "--estimator",
        choices=["plugin", "miller_madow", "shuffle"],
        default="plugin",
        help="mutual-information estimator of the coordination values",
    )
    analyze.add_argument("--bits", action="store_true", help="information in bits instead of nats")
    analyze.add_argument("--title", default=None, help="title of the report")
    analyze.add_argument(
        "--ray",
        nargs="?",
        const="local",
        default=None,
        metavar="ADDRESS",
        help="summarise the shards in parallel on Ray (same numbers): bare --ray starts a local "
        "cluster, --ray ADDRESS connects to a running one ('auto', HOST:6379); put it after "
        "PATH; needs the 'ray' extra",
    )
    analyze.add_argument(
        "--num-cpus",
        type=_positive_int,
        default=None,
        metavar="N",
        help="CPUs of the local Ray cluster of a bare --ray (default: all of this machine's)",
    )

    graph = sub.add_parser(
        "graph",
        help="influence graph files (GraphML, JSON node-link) and node measures",
        description=(
            "Build the influence graph (edge k -> j with weight, interval, p- and q-value and "
            "n; thresholded by --alpha and --min-effect) and write DIR/influence_graph.graphml, "
            "DIR/influence_graph.json and DIR/node_measures.csv. With --window, also one graph "
            "per window of steps within the episode under DIR/windows/. Without stored "
            "influence the graph is that of action/action coordination."
        ),
        formatter_class=_Formatter,
    )
    _add_data_options(graph)
    graph.add_argument("--out", required=True, metavar="DIR", help="output directory")
    graph.add_argument(
        "--window",
        type=_positive_int,
        default=None,
        metavar="STEPS",
        help="also write time-windowed graphs of the mean influence over windows of this many "
        "steps within the episode (needs stored influence)",
    )
    graph.add_argument(
        "--stride",
        type=_positive_int,
        default=None,
        metavar="STEPS",
        help="distance between window starts (default: the window, i.e. disjoint windows)",
    )

    sweep = sub.add_parser(
        "sweep",
        help="a sweep of training runs on Ray, gathered into a table and learning curves",
        description=(
            "Train every combination of seeds, settings and hyperparameters of the sweep file "
            "CONFIG (TOML or JSON; format in the docs of analysis.sweep) as Ray tasks, each "
            "run in DIR/runs/NAME; a failed run is retried once, and runs finished by an "
            "earlier call are not redone. Then write DIR/results.csv (one row per run and "
            "update), DIR/curves.csv and DIR/learning_curves.png (mean and 95% interval over "
            "seeds per condition)."
        ),
        formatter_class=_Formatter,
    )
    sweep.add_argument("config", metavar="CONFIG", help="sweep file (.toml or .json)")
    sweep.add_argument(
        "--address",
        default=None,
        metavar="ADDR",
        help="address of a running Ray cluster ('auto', HOST:6379, ray://HOST:10001); "
        "default: start a local cluster",
    )
    sweep.add_argument(
        "--num-cpus",
        type=_positive_int,
        default=None,
        metavar="N",
        help="CPUs of the local cluster (default: all of this machine's)",
    )
    sweep.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="sweep directory (default: the file's 'out', else a directory named after the "
        "file, beside it)",
    )
    sweep.add_argument(
        "--metric",
        default=None,
        help="column of the runs' progress.csv drawn in the learning curves (default: the "
        "file's 'metric', else episode_collective_return)",
    )

    sub.add_parser(
        "train",
        help="train agents (options: causal-influence train --help)",
        description="Train agents; every argument is forwarded to the agents' trainer.",
        add_help=False,
    )

    demo = sub.add_parser(
        "demo",
        help="synthetic speaker/listener data analysed end to end",
        description=(
            "Sample a signalling game with known answers (speaker, listener, bystander), save "
            "it as Parquet shards, analyse the shards, write the report and print measured "
            "values next to their closed forms."
        ),
        formatter_class=_Formatter,
    )
    demo.add_argument("--out", default="causal_influence_demo", metavar="DIR", help="output dir")
    demo.add_argument("--episodes", type=_positive_int, default=20, help="number of episodes")
    demo.add_argument("--length", type=_positive_int, default=500, help="steps per episode")
    demo.add_argument("--seed", type=int, default=0, help="seed of the data and resampling")
    demo.add_argument(
        "--bootstrap", type=_non_negative_int, default=500, metavar="B", help="bootstrap resamples"
    )
    demo.add_argument(
        "--permutations",
        type=_non_negative_int,
        default=500,
        metavar="B",
        help="permutation resamples",
    )
    demo.add_argument(
        "--agents",
        action="store_true",
        help=(
            "instead: train agents with a message channel on small Harvest, record and analyse "
            "them (what `make demo` shows first; a few minutes)"
        ),
    )
    demo.add_argument(
        "--env-steps",
        type=_positive_int,
        default=300_000,
        metavar="N",
        help="with --agents: training budget in env steps",
    )
    demo.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    return parser


def _train(argv: Sequence[str]) -> int:
    try:
        trainer = importlib.import_module("agents.trainer")
    except ImportError as err:
        print(f"{PROG}: error: training is unavailable ({err})", file=sys.stderr)
        return 2
    entry = getattr(trainer, "main", None)
    if entry is None:
        print(f"{PROG}: error: agents.trainer has no main() to train with", file=sys.stderr)
        return 2
    return int(entry(list(argv)) or 0)


def _analyze(ns: argparse.Namespace) -> int:
    from analysis.report import write_report
    from analysis.stats import analyze

    options: dict[str, Any] = {
        "lag": ns.lag,
        "alignment": ns.alignment,
        "variable": ns.variable,
        "estimator": ns.estimator,
        "n_bootstrap": ns.bootstrap,
        "n_permutations": ns.permutations,
        "confidence_level": ns.confidence,
        "max_units": ns.max_units,
        "visible_only": ns.visible_only,
        "base": 2 if ns.bits else None,
        "rng": ns.seed,
        "progress": not ns.no_progress,
    }
    if ns.ray is not None:
        from analysis.shards import analyze_shards

        address = None if ns.ray == "local" else ns.ray
        result = analyze_shards(ns.path, address=address, num_cpus=ns.num_cpus, **options)
    elif ns.num_cpus is not None:
        raise CausalInfluenceError("--num-cpus sizes the local Ray cluster of --ray; add --ray")
    else:
        result = analyze(ns.path, **options)
    path = write_report(
        result,
        ns.out,
        title=ns.title,
        alpha=ns.alpha,
        min_effect=ns.min_effect,
        source=str(ns.path),
    )
    s = result.summary
    print(
        f"analysed {s.num_steps} steps, {s.num_episodes} episodes, {s.num_agents} agents; "
        f"report: {path}"
    )
    return 0


def _graph(ns: argparse.Namespace) -> int:
    import numpy as np

    from analysis.dataset import _get, iter_trajectories, summarize
    from analysis.graph import influence_graph, node_measures, windowed_graphs, write_graph
    from analysis.stats import coordination_table, influence_table

    summary = summarize(
        ns.path,
        lag=ns.lag,
        alignment=ns.alignment,
        variable=ns.variable,
        max_units=ns.max_units,
        visible_only=ns.visible_only,
        progress=not ns.no_progress,
    )
    common: dict[str, Any] = {
        "n_bootstrap": ns.bootstrap,
        "n_permutations": ns.permutations,
        "confidence_level": ns.confidence,
        "rng": ns.seed,
        "progress": not ns.no_progress,
    }
    if summary.has_influence:
        table = influence_table(summary, **common)
        weight, name = "mean", "influence"
    else:
        full = coordination_table(summary, **common)
        table = full[(full["kind"] == "action/action") & (full["subset"] == "all")]
        weight, name = "value", "action/action coordination"
    alpha = ns.alpha if ns.permutations > 0 else None
    graph = influence_graph(
        table,
        weight=weight,
        alpha=alpha,
        min_effect=ns.min_effect,
        nodes=list(summary.agent_ids),
        name=name,
    )
    out = Path(ns.out)
    files = write_graph(graph, out / "influence_graph")
    measures = node_measures(graph)
    measures.to_csv(out / "node_measures.csv")
    written = [files["graphml"], files["json"], out / "node_measures.csv"]
    if ns.window is not None:
        if not summary.has_influence:
            raise CausalInfluenceError(
                "--window needs trajectories with a stored influence tensor (T, N, N)"
            )
        parts, episodes, valid = [], [], []
        offset = 0
        for traj in iter_trajectories(ns.path):
            infl = np.asarray(_get(traj, "influence"), dtype=np.float64)
            raw_ids = _get(traj, "episode_ids")
            ids = np.zeros(len(infl), dtype=np.int64) if raw_ids is None else np.asarray(raw_ids)
            _, ids = np.unique(ids, return_inverse=True)
            ok = np.ones(len(ids), dtype=bool)
            if summary.influence_lag == 1:
                ok[-1] = False
                ok[:-1] = ids[:-1] == ids[1:]
            parts.append(infl)
            episodes.append(ids + offset)
            valid.append(ok)
            offset += int(ids.max()) + 1
        windows = windowed_graphs(
            np.concatenate(parts),
            window=ns.window,
            stride=ns.stride,
            episode_ids=np.concatenate(episodes),
            valid=np.concatenate(valid),
            agent_ids=list(summary.agent_ids),
            min_effect=ns.min_effect,
        )
        for start, stop, g in windows:
            files = write_graph(g, out / "windows" / f"influence_graph_{start:06d}_{stop:06d}")
            written.extend([files["graphml"], files["json"]])
    print(
        f"graph: {graph.number_of_nodes()} agents, {graph.number_of_edges()} edges; wrote "
        f"{len(written)} files under {out}"
    )
    return 0


def _sweep(ns: argparse.Namespace) -> int:
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


def _demo(ns: argparse.Namespace) -> int:
    if ns.agents:
        from analysis import demo_agents

        config = demo_agents.DemoConfig(
            env_steps=ns.env_steps,
            seed=ns.seed,
            n_bootstrap=ns.bootstrap,
            n_permutations=ns.permutations,
        )
        demo_agents.run(ns.out, config, progress=not ns.no_progress)
        return 0
    from analysis.demo import run

    run(
        ns.out,
        episodes=ns.episodes,
        length=ns.length,
        seed=ns.seed,
        n_bootstrap=ns.bootstrap,
        n_permutations=ns.permutations,
        progress=not ns.no_progress,
    )
    return 0


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
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "train":
        return _train(args[1:])
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
    handlers = {"analyze": _analyze, "graph": _graph, "sweep": _sweep, "demo": _demo}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _show_warning
            import matplotlib

            matplotlib.use("Agg")
            return handlers[ns.command](ns)
    except (CausalInfluenceError, OSError) as err:
        text = str(err) or type(err).__name__
        print(f"{PROG}: error: {text}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
