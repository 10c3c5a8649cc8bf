"""Analyse trajectories saved by another codebase: a CSV long table becomes a report and a graph.

Another training loop saved its episodes as a CSV with one row per (episode, t, agent):
``episode, t, agent, action, reward, logit_0 ... logit_{A-1}``. (Without ``--csv`` this script
first writes such a file from a scripted three-agent game in which agent 1 repeats agent 0's
previous action 80 % of the time and agent 2 plays on its own.) The data are read into a
:class:`causal_influence.Trajectory`, which checks them once; a model of the other agents is
fitted on them to measure who influences whom (:func:`analysis.offline.fit_offline_influence`,
the influence of a^k_t on a^j_{t+1} through the fitted model); then
:func:`analysis.stats.analyze` adds bootstrap intervals and permutation tests,
:func:`analysis.report.write_report` writes an HTML report (with the tables as CSV and the
graph as GraphML / JSON), and :func:`analysis.graph.influence_graph` keeps the edges whose
influence is significant (Benjamini-Hochberg q <= 0.05).

Run ``python examples/analyze_external.py --help``; ``--tiny`` is a seconds-long smoke run.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.graph import influence_graph
from analysis.offline import fit_offline_influence
from analysis.report import write_report
from analysis.stats import analyze
from causal_influence import InfluenceSpec, Trajectory

NUM_ACTIONS = 4


def write_external_csv(path: Path, *, episodes: int, length: int, seed: int) -> None:
    """What another codebase might have saved (not part of the analysis)."""
    rng = np.random.default_rng(seed)
    rows = []
    for ep in range(episodes):
        prev0 = 0
        for t in range(length):
            a0 = int(rng.integers(NUM_ACTIONS))
            a1 = prev0 if rng.random() < 0.8 else int(rng.integers(NUM_ACTIONS))
            a2 = int(rng.integers(NUM_ACTIONS))
            for agent, action in enumerate((a0, a1, a2)):
                logits = rng.normal(scale=0.1, size=NUM_ACTIONS)
                rows.append(
                    {"episode": ep, "t": t, "agent": f"agent_{agent}", "action": action}
                    | {"reward": float(action == a0)}
                    | {f"logit_{i}": float(v) for i, v in enumerate(logits)}
                )
            prev0 = a0
    pd.DataFrame(rows).to_csv(path, index=False)


def load_external(path: Path) -> Trajectory:
    """A long-table CSV, or an .npz of stacked arrays (a dict of arrays), as a Trajectory."""
    if path.suffix == ".npz":
        with np.load(path) as arrays:
            return Trajectory.from_arrays(dict(arrays), env_name="external_game")
    return Trajectory.from_dataframe(pd.read_csv(path), env_name="external_game")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--csv", type=Path, help="a long-table CSV (default: write a demo one)")
    p.add_argument(
        "--npz",
        type=Path,
        help="instead of a CSV: stacked arrays actions (T, N), rewards (T, N), optional "
        "logits (T, N, A), episode_ids or dones (T,)",
    )
    p.add_argument("--out", type=Path, default=Path("external_report"))
    p.add_argument("--tiny", action="store_true", help="small data and few resamples")
    args = p.parse_args(argv)
    episodes, length, resamples, epochs = (12, 40, 200, 15) if args.tiny else (40, 200, 1000, 60)
    args.out.mkdir(parents=True, exist_ok=True)
    source = args.npz or args.csv
    if source is None:
        source = args.out / "external_episodes.csv"
        write_external_csv(source, episodes=episodes, length=length, seed=0)

    # 1. Into a Trajectory (checked once, here).
    traj = load_external(source)
    print(f"read {source}: {traj}")

    # 2. Who influences whom: a model of the other agents fitted on the data.
    fit = fit_offline_influence(traj, epochs=epochs, num_threads=1, rng=0)
    traj = traj.replace(  # the influence, and what it means (next step, KL, nats)
        influence=np.asarray(fit.influence.influence),
        metadata={"influence_spec": InfluenceSpec.of_result(fit.influence)},
    )

    # 3. Statistics, report, graph. An influence edge needs the influence interval over
    # episodes above a minimum effect; a model fitted on this much data leaves about 0.02
    # nats of estimation noise in pairs it should find independent, so ask for 0.05.
    result = analyze(
        traj,
        alignment="next_step",
        n_bootstrap=resamples,
        n_permutations=resamples,
        min_effect=0.05,
        rng=0,
    )
    report = write_report(
        result, args.out / "report", title="External data", source=str(source), overwrite=True
    )
    graph = influence_graph(result.influence, nodes=list(traj.metadata.agent_ids))
    print(f"report: {report} (graph: influence_graph.graphml / .json beside it)")
    for k, j, w in sorted(graph.edges(data="weight"), key=lambda e: -e[2]):
        row = result.influence.query("influencer == @k and influencee == @j").iloc[0]
        print(
            f"{k} -> {j}: {w:.3f} nats/step "
            f"[{row.influence_ci_low:.3f}, {row.influence_ci_high:.3f}] > {row.min_effect:.3g}"
        )
    if graph.number_of_edges() == 0:
        print("no influence above the minimum effect")
    for line in result.conclusions().itertuples():
        print(f"{line.influencer} -> {line.influencee}: {line.conclusion}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
