"""Baseline versus influence reward: train both on a small map for several seeds and compare.

Trains the chosen setting twice per seed on the same fixed budget of env steps, once as its
baseline (influence weight 0, same architecture) and once with the influence reward, then
writes

- ``runs.csv``: one row per (condition, seed) with the final collective return, equality,
  sustainability and mean influence (averaged over the last quarter of the episodes);
- ``summary.csv``: mean and 95 % t-interval over seeds of each of those, per condition (also
  printed);
- ``curves.png``: learning curves of collective return, equality and sustainability (mean and
  95 % interval over seeds) against env steps.

Equality and sustainability come from :mod:`causal_influence.social` (computed by the trainer
at every episode end). Run ``python examples/experiment_influence.py --help`` for options;
``--tiny`` runs a seconds-long smoke version.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from agents.config import TrainConfig
from agents.trainer import train
from analysis.sweep import learning_curves
from envs.config import cleanup_config, harvest_config
from envs.maps import MAPS

METRICS = ("episode_collective_return", "equality", "sustainability", "influence")
LABELS = {
    "episode_collective_return": "collective return",
    "equality": "equality",
    "sustainability": "sustainability",
    "influence": "influence (nats)",
}


def base_config(args: argparse.Namespace) -> TrainConfig:
    """The experiment's config for the influence condition (the baseline sets beta = 0)."""
    make = harvest_config if args.game == "harvest" else cleanup_config
    env = make(
        map=args.map,
        num_agents=args.num_agents,
        obs_type="symbolic",
        view_radius=args.view_radius,
        max_cycles=args.episode_length,
        num_symbols=args.num_symbols if args.setting == "comm" else 0,
    )
    return TrainConfig(
        env=env,
        setting=args.setting,
        num_envs=args.num_envs,
        rollout_length=args.rollout_length,
        total_env_steps=args.env_steps,
        algorithm=args.algorithm,
        lr=args.lr,
        entropy_coef=args.entropy_coef,
        gae_lambda=0.95,
        lstm_size=args.lstm_size,
        fc_hiddens=(32, 32),
        influence_coef=args.influence_coef,
        divergence=args.divergence,
        num_influencers=1,
        moa_loss_coef=1.0,
        log_influence=True,
        num_threads=args.threads,
        progress=False,
        tensorboard=False,
    )


def summarize_finals(finals: pd.DataFrame) -> pd.DataFrame:
    """Per condition: seeds, and the mean and 95 % Student-t interval over seeds of each metric
    (the interval of :func:`analysis.sweep.learning_curves`, NaN with fewer than two seeds)."""
    conditions = list(dict.fromkeys(finals["condition"]))
    summary = pd.DataFrame({"condition": conditions})
    summary["seeds"] = summary["condition"].map(finals.groupby("condition").size())
    staged = finals.assign(stage="final")
    for m in METRICS:
        stats = learning_curves(staged, metric=m, x="stage").set_index("condition")
        summary[m] = summary["condition"].map(stats["mean"])
        summary[f"{m}_ci_low"] = summary["condition"].map(stats["ci_low"])
        summary[f"{m}_ci_high"] = summary["condition"].map(stats["ci_high"])
    return summary


def run(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Train every (condition, seed); return per-episode curves, per-run finals, summary."""
    cfg = base_config(args)
    conditions = {
        "baseline": dataclasses.replace(cfg, influence_coef=0.0),
        "influence": cfg,
    }
    curves, finals = [], []
    for seed in range(args.seeds):
        for name, condition in conditions.items():
            start = time.perf_counter()
            result = train(dataclasses.replace(condition, seed=seed))
            seconds = time.perf_counter() - start
            frame = result.frame()
            episodes = frame[frame["episode_collective_return"].notna()].copy()
            episodes["condition"], episodes["seed"] = name, seed
            curves.append(episodes[["condition", "seed", "env_steps", *METRICS]])
            tail = episodes.iloc[-max(1, len(episodes) // 4) :]
            row = {"condition": name, "seed": seed, "seconds": seconds}
            row.update({m: float(tail[m].mean()) for m in METRICS})
            finals.append(row)
            print(
                f"  {name:9s} seed {seed}: collective return "
                f"{row['episode_collective_return']:8.2f}  ({seconds:.1f} s)",
                flush=True,
            )
    curve_df = pd.concat(curves, ignore_index=True)
    final_df = pd.DataFrame(finals)
    return curve_df, final_df, summarize_finals(final_df)


def plot(curves: pd.DataFrame, path: Path, title: str) -> None:
    """Mean and 95 % t-interval over seeds of each metric against env steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import EngFormatter

    panels = ("episode_collective_return", "equality", "sustainability")
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4))
    for ax, metric in zip(axes, panels, strict=True):
        lines = learning_curves(curves, metric=metric)
        for name, part in lines.groupby("condition", sort=False):
            ax.plot(part["env_steps"], part["mean"], label=str(name))
            ax.fill_between(part["env_steps"], part["ci_low"], part["ci_high"], alpha=0.25)
        ax.set_xlabel("env steps")
        ax.xaxis.set_major_formatter(EngFormatter())
        ax.set_title(LABELS[metric])
        if metric == "equality":
            ax.set_ylim(0.0, 1.0)  # 1 - Gini lies in [0, 1]; t-intervals over 3 seeds do not
    axes[0].legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def format_table(summary: pd.DataFrame) -> str:
    lines = [f"{'condition':10s} " + " ".join(f"{LABELS[m]:>32s}" for m in METRICS)]
    for _, row in summary.iterrows():
        cells = []
        for m in METRICS:
            cells.append(f"{row[m]:9.4g} [{row[m + '_ci_low']:9.4g}, {row[m + '_ci_high']:9.4g}]")
        lines.append(f"{row['condition']:10s} " + " ".join(f"{c:>32s}" for c in cells))
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--setting", choices=["basic", "comm", "moa"], default="basic")
    p.add_argument("--game", choices=["harvest", "cleanup"], default="harvest")
    p.add_argument("--map", default="small_harvest", help=f"one of {sorted(MAPS)}")
    p.add_argument("--num-agents", type=int, default=3)
    p.add_argument("--view-radius", type=int, default=3)
    p.add_argument("--num-symbols", type=int, default=4)
    p.add_argument("--episode-length", type=int, default=200)
    p.add_argument("--num-envs", type=int, default=8)
    p.add_argument("--rollout-length", type=int, default=50)
    p.add_argument("--env-steps", type=int, default=200_000, help="budget per run (env steps)")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--algorithm", choices=["a2c", "ppo"], default="ppo")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--entropy-coef", type=float, default=0.01)
    p.add_argument("--lstm-size", type=int, default=64)
    p.add_argument("--influence-coef", type=float, default=0.2)
    p.add_argument("--divergence", choices=["kl", "jsd", "pmi", "tv"], default="kl")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="results/experiment_influence")
    p.add_argument(
        "--tiny", action="store_true", help="seconds-long smoke run (overrides budget and sizes)"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.tiny:
        args.num_envs, args.rollout_length, args.episode_length = 2, 10, 20
        args.env_steps, args.lstm_size, args.num_agents = 120, 16, 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(
        f"setting={args.setting} game={args.game} map={args.map} agents={args.num_agents} "
        f"budget={args.env_steps} env steps x {args.seeds} seeds",
        flush=True,
    )
    curves, finals, summary = run(args)
    curves.to_csv(out / "curves.csv", index=False)
    finals.to_csv(out / "runs.csv", index=False)
    summary.to_csv(out / "summary.csv", index=False)
    plot(curves, out / "curves.png", f"{args.setting} influence vs baseline ({args.map})")
    print(format_table(summary))
    print(f"wrote {out / 'summary.csv'}, {out / 'runs.csv'}, {out / 'curves.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
