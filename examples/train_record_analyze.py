"""Train, record, analyse: the toolkit's own agents end to end, in three calls.

1. :func:`agents.trainer.train` trains agents with a model of other agents (MOA) and the
   influence reward on the small Harvest map;
2. :func:`agents.episode_record.record` runs whole episodes of the trained agents and returns them
   as :class:`causal_influence.Trajectory` objects (actions, rewards, policy logits,
   visibility and the pairwise influence credited to the step where each agent acted), and
   :func:`agents.episode_record.save_recording` writes them as Parquet files;
3. :func:`analysis.stats.analyze` reads the files back and :func:`analysis.report.write_report`
   writes the HTML report with the influence graph.

Run ``python examples/train_record_analyze.py --help``; ``--tiny`` is a seconds-long smoke run.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from agents.config import TrainConfig
from agents.episode_record import record, save_recording
from agents.trainer import train
from analysis.report import graph_of, write_report
from analysis.stats import analyze
from envs.config import harvest_config


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("train_record_analyze"))
    p.add_argument("--env-steps", type=int, default=200_000)
    p.add_argument("--episodes", type=int, default=20, help="episodes recorded for analysis")
    p.add_argument("--tiny", action="store_true", help="a few seconds: a tiny run")
    args = p.parse_args(argv)
    length, env_steps, episodes = (
        (60, 240, 10) if args.tiny else (200, args.env_steps, args.episodes)
    )

    config = TrainConfig(
        env=harvest_config(
            map="small_harvest",
            num_agents=3,
            obs_type="symbolic",
            view_radius=2,
            max_cycles=length,
        ),
        setting="moa",
        algorithm="ppo",
        num_envs=2 if args.tiny else 8,
        rollout_length=length,
        total_env_steps=env_steps,
        lstm_size=8 if args.tiny else 64,
        fc_hiddens=(8,) if args.tiny else (32, 32),
        influence_coef=0.1,
        out_dir=str(args.out / "run"),
        tensorboard=False,
    )
    result = train(config)
    last = result.history[-1]
    print(f"trained {last['env_steps']} env steps; checkpoint {result.checkpoint}")

    trajectories = record(result, episodes=episodes, seed=1)
    files = save_recording(trajectories, args.out / "episodes", fmt="parquet")
    print(f"recorded {len(files)} episodes of {len(trajectories[0])} steps in {files[0].parent}")

    n = 100 if args.tiny else 1000
    analysis = analyze(args.out / "episodes", n_bootstrap=n, n_permutations=n, rng=0)
    report = write_report(analysis, args.out / "report", source=str(args.out / "episodes"))
    print(f"report: {report}")
    table = analysis.influence
    assert table is not None  # the recording stores the MOA influence
    for row in table.sort_values("influence", ascending=False).head(3).itertuples():
        print(
            f"{row.influencer} -> {row.influencee}: {row.influence:.3g} nats/step "
            f"[{row.influence_ci_low:.3g}, {row.influence_ci_high:.3g}]"
        )
    graph = graph_of(analysis)
    print(
        f"influence graph: {graph.number_of_edges()} edge(s) of {len(table)} pairs "
        f"(influence interval above the minimum effect)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
