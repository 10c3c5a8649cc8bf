"""Training throughput (env steps per second) with the influence reward off and on.

For each setting (basic influence, influential communication, MOA) the same run is timed twice
in one process: as its baseline (influence weight 0: no counterfactual passes) and with the
influence reward (counterfactuals at every step, pairwise influence with the core, reward
shaping). Paper-sized networks (conv 6x3x3, FC 32-32, LSTM 128), 5 agents, batched envs.
Time is this process's CPU time (``time.process_time``, steadier than the wall clock on a shared
machine); measurements alternate off / on, and each figure is the median of the repeats. The
ratio is the influence run's time per env step over the baseline's (goal, issue 15: at most 1.3
for the comm setting with A2C); the torch thread count and the load average are printed beside
it.

Run ``python benchmarks/bench_training.py --help`` for options (``--quick`` for a short run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence

import torch

from agents.config import TrainConfig
from agents.trainer import Trainer
from envs.config import cleanup_config, harvest_config


def make_config(args: argparse.Namespace, setting: str, influence: bool) -> TrainConfig:
    make = harvest_config if args.game == "harvest" else cleanup_config
    env = make(
        num_agents=args.num_agents,
        obs_type=args.obs_type,
        max_cycles=args.episode_length,
        num_symbols=args.num_symbols if setting == "comm" else 0,
    )
    return TrainConfig(
        env=env,
        setting=setting,  # type: ignore[arg-type]
        num_envs=args.num_envs,
        rollout_length=args.rollout_length,
        total_env_steps=10**9,
        algorithm=args.algorithm,
        influence_coef=1.0 if influence else 0.0,
        num_influencers=args.num_influencers,
        num_threads=args.threads,
        tensorboard=False,
    )


def timed_updates(trainer: Trainer, updates: int) -> float:
    """Env steps per CPU-second over ``updates`` updates."""
    start = time.process_time()
    for _ in range(updates):
        trainer.update()
    return updates * trainer.config.batch_steps / (time.process_time() - start)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Training env-steps/s with influence off and on.")
    p.add_argument("--settings", nargs="*", default=["basic", "comm", "moa"])
    p.add_argument("--game", choices=["harvest", "cleanup"], default="harvest")
    p.add_argument("--obs-type", choices=["rgb", "symbolic"], default="rgb")
    p.add_argument("--num-agents", type=int, default=5)
    p.add_argument("--num-influencers", type=int, default=1)
    p.add_argument("--num-symbols", type=int, default=7)
    p.add_argument("--num-envs", type=int, default=16)
    p.add_argument("--rollout-length", type=int, default=100)
    p.add_argument("--episode-length", type=int, default=1000)
    p.add_argument("--algorithm", choices=["a2c", "ppo"], default="a2c")
    p.add_argument("--updates", type=int, default=2, help="updates per measurement")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="small batch, one repeat")
    args = p.parse_args(argv)
    if args.quick:
        args.num_envs, args.rollout_length, args.updates, args.repeats = 4, 50, 1, 1
    torch.set_num_threads(args.threads)
    print(
        f"{args.game}, {args.obs_type} views, {args.num_agents} agents, {args.num_envs} envs x "
        f"{args.rollout_length} steps per update, {args.algorithm}, "
        f"{torch.get_num_threads()} torch thread(s); env steps per CPU-second, median of "
        f"{args.repeats} x {args.updates} updates, off and on interleaved"
    )
    print(
        f"{'setting':8s} {'off (steps/s)':>14s} {'on (steps/s)':>14s} {'time ratio on/off':>18s} "
        f"{'goal':>6s} {'load':>6s}"
    )
    for setting in args.settings:
        trainers = {flag: Trainer(make_config(args, setting, flag)) for flag in (False, True)}
        for trainer in trainers.values():  # warm-up (allocations, first episode reset)
            trainer.update()
        rates: dict[bool, list[float]] = {False: [], True: []}
        loads = []
        for _ in range(args.repeats):
            for flag, trainer in trainers.items():
                rates[flag].append(timed_updates(trainer, args.updates))
            loads.append(os.getloadavg()[0])
        off, on = statistics.median(rates[False]), statistics.median(rates[True])
        goal = "1.3" if setting == "comm" and args.algorithm == "a2c" else ""
        print(
            f"{setting:8s} {off:14.1f} {on:14.1f} {off / on:18.2f} {goal:>6s} "
            f"{statistics.median(loads):6.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
