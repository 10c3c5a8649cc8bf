"""``causal-influence analyze PATH --out DIR``: statistics of saved trajectories and a
self-contained HTML report (:func:`analysis.stats.analyze`, :func:`analysis.report.write_report`);
with ``--ray [ADDRESS]`` the shards are summarised in parallel on Ray
(:func:`analysis.shards.analyze_shards`, same numbers).

Examples
--------
>>> import argparse
>>> sub = argparse.ArgumentParser().add_subparsers(dest="command")
>>> parser = add_parser(sub)
>>> ns = parser.parse_args(["shards/", "--out", "report/", "--estimator", "miller_madow"])
>>> ns.path, ns.out, ns.estimator, ns.bootstrap
('shards/', 'report/', 'miller_madow', 1000)
"""

from __future__ import annotations

import argparse
from typing import Any

from analysis.commands.options import (
    Formatter,
    add_data_options,
    add_overwrite_option,
    check_output,
    check_stored_fields,
    data_source,
    positive_int,
)
from causal_influence.communication import SC_DEFINITIONS
from causal_influence.errors import CausalInfluenceError
from causal_influence.information import ESTIMATORS

__all__ = ["NAME", "add_parser", "run"]

#: The subcommand's name on the command line.
NAME = "analyze"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``analyze`` subcommand and its options to ``subparsers``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME,
        help="statistics of saved trajectories and an HTML report",
        description=(
            "Read trajectories (a file or a directory of shards) and write a report that opens "
            "with one conclusion per ordered pair (influences / responds / communicates "
            "(grounded) / common cause suspected / nothing detectable, with its figures). It "
            "computes per-pair influence and interventional responsiveness with bootstrap "
            "intervals over episodes (the influence test: interval above --min-effect), "
            "observational tests with permutation p-values (BH q-values), grounded "
            "information and conditional coordination (with a recorded context), "
            f"speaker consistency (all definitions: {', '.join(SC_DEFINITIONS)}), "
            "instantaneous coordination over all steps "
            "and at moments of high influence, CIC (when counterfactual logits are stored) and "
            "social outcomes, and write DIR/report.html (self-contained: figures embedded), "
            "the tables as CSV and the influence graph (GraphML, JSON)."
        ),
        formatter_class=Formatter,
    )
    add_data_options(parser)
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="output directory (missing or empty)"
    )
    add_overwrite_option(parser)
    # The core's registry: an estimator registered there is a choice here.
    parser.add_argument(
        "--estimator",
        choices=ESTIMATORS,
        default="plugin",
        help="mutual-information estimator of the coordination values",
    )
    parser.add_argument("--bits", action="store_true", help="information in bits instead of nats")
    parser.add_argument("--title", default=None, help="title of the report")
    parser.add_argument(
        "--ray",
        nargs="?",
        const="local",
        default=None,
        metavar="ADDRESS",
        help="summarise the shards in parallel on Ray (same numbers): bare --ray starts a local "
        "cluster, --ray ADDRESS connects to a running one ('auto', HOST:6379); put it after "
        "PATH; needs the 'ray' extra",
    )
    parser.add_argument(
        "--num-cpus",
        type=positive_int,
        default=None,
        metavar="N",
        help="CPUs of the local Ray cluster of a bare --ray (default: all of this machine's)",
    )
    return parser


def run(ns: argparse.Namespace) -> int:
    """Analyse ``ns.path``, write the report into ``ns.out`` and print one summary line."""
    from analysis.report import write_report

    if ns.num_cpus is not None and ns.ray is None:
        raise CausalInfluenceError("--num-cpus sizes the local Ray cluster of --ray; add --ray")
    check_output(ns.out, overwrite=ns.overwrite, inputs=(ns.path,))
    check_stored_fields(ns)
    result = _analysis(ns)
    path = write_report(
        result,
        ns.out,
        title=ns.title,
        alpha=ns.alpha,
        min_effect=ns.min_effect,
        source=str(ns.path),
        overwrite=ns.overwrite,
    )
    s = result.summary
    print(
        f"analysed {s.num_steps} steps, {s.num_episodes} episodes, {s.num_agents} agents; "
        f"report: {path}"
    )
    return 0


def _analysis(ns: argparse.Namespace) -> Any:
    """The :class:`~analysis.stats.AnalysisResult` of the options, on Ray with ``--ray``."""
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
        "min_effect": ns.min_effect,
        "alpha": ns.alpha,
        "rng": ns.seed,
        "progress": not ns.no_progress,
    }
    source = data_source(ns)
    if ns.ray is not None:
        from analysis.shards import analyze_shards

        if source is not ns.path:
            raise CausalInfluenceError(
                "--ray summarises shard files in parallel; a long table is read in one piece: "
                "leave out --ray (or save it as shards first)"
            )
        address = None if ns.ray == "local" else ns.ray
        return analyze_shards(ns.path, address=address, num_cpus=ns.num_cpus, **options)
    if ns.num_cpus is not None:
        raise CausalInfluenceError("--num-cpus sizes the local Ray cluster of --ray; add --ray")
    from analysis.stats import analyze

    return analyze(source, **options)
