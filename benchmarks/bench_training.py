"""Training throughput (env steps per second per core) with the influence reward off and on.

For each setting (basic influence, influential communication, MOA) the same run is timed twice
in one process: as its baseline (influence weight 0: no counterfactual passes) and with the
influence reward (counterfactuals at every step, pairwise influence with the core, reward
shaping). By default: the reference Harvest map, paper-sized networks (conv 6x3x3, FC 32-32,
LSTM 128), 5 agents, batched envs (the configuration of the paper's runs, whose cost
``results/paper_scale.md`` estimates). ``--preset signalling`` times the signalling game with
the demo's network (1 x 1 views), ``--preset small_harvest`` the small Harvest map with 4 agents;
``--game``, ``--map`` and the network options set anything else.

Time is this process's CPU time (``time.process_time``, steadier than the wall clock on a shared
machine), so with one torch thread the figures are env steps per second *per core*; they are
also what one training process reaches on an idle core. Measurements alternate off / on, and
each figure is the median of the repeats. The ratio is the influence run's time per env step
over the baseline's (goal, issue 15: at most 1.3 for the comm setting with A2C); the torch
thread count and the load average are printed beside it.

Run ``python benchmarks/bench_training.py --help`` for options (``--quick`` for a short run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

import torch

from agents.config import TrainConfig
from agents.trainer import Trainer
from envs.registry import game_names, get_game

#: Named configurations (defaults of the options they set).
PRESETS: dict[str, dict[str, object]] = {
    "paper_harvest": {"game": "harvest"},
    "paper_cleanup": {"game": "cleanup"},
    "small_harvest": {
        "game": "harvest",
        "map": "small_harvest",
        "num_agents": 4,
        "num_symbols": 4,
        "episode_length": 100,
    },
    "signalling": {  # the demo's game and network (analysis.demo_signalling)
        "game": "signalling",
        "num_agents": 2,
        "num_symbols": 8,
        "episode_length": 50,
        "rollout_length": 10,
        "conv_filters": 16,
        "conv_kernel": 1,
        "fc_hiddens": [32],
        "lstm_size": 64,
        "updates": 20,
    },
}


def _option(args: argparse.Namespace, name: str) -> Any:
    """An option of ``args``, or its default here (other scripts, such as
    ``profile_training.py``, build their own namespaces with fewer options)."""
    if hasattr(args, name):
        return getattr(args, name)
    return build_parser().get_default(name)


def make_env(args: argparse.Namespace, setting: str) -> object:
    """The game's configuration for one setting (a message channel only for ``comm``)."""
    symbols = args.num_symbols if setting == "comm" else 0
    options: dict[str, object] = {"max_cycles": args.episode_length, "num_symbols": symbols}
    if args.game == "signalling":
        options["num_distractors"] = args.num_agents - 2  # a speaker, a listener, distractors
    else:
        options.update(num_agents=args.num_agents, obs_type=args.obs_type)
        if _option(args, "map") is not None:
            options["map"] = args.map
    return get_game(args.game).make_config(**options)


def make_config(args: argparse.Namespace, setting: str, influence: bool) -> TrainConfig:
    return TrainConfig(
        env=make_env(args, setting),  # type: ignore[arg-type]
        setting=setting,  # type: ignore[arg-type]
        num_envs=args.num_envs,
        rollout_length=args.rollout_length,
        total_env_steps=10**9,
        algorithm=args.algorithm,
        influence_coef=1.0 if influence else 0.0,
        num_influencers=args.num_influencers,
        num_threads=args.threads,
        conv_filters=_option(args, "conv_filters"),
        conv_kernel=_option(args, "conv_kernel"),
        fc_hiddens=tuple(_option(args, "fc_hiddens")),
        lstm_size=_option(args, "lstm_size"),
        tensorboard=False,
    )


def timed_updates(trainer: Trainer, updates: int) -> float:
    """Env steps per CPU-second over ``updates`` updates."""
    start = time.process_time()
    for _ in range(updates):
        trainer.update()
    return updates * trainer.config.batch_steps / (time.process_time() - start)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Training env steps/s per core with influence off and on."
    )
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default=None,
        help="a named configuration (the options below override it); default: paper_harvest",
    )
    p.add_argument("--settings", nargs="*", default=["basic", "comm", "moa"])
    p.add_argument("--game", choices=game_names(), default="harvest")
    p.add_argument("--map", default=None, help="gridworld map (default: the game's reference)")
    p.add_argument("--obs-type", choices=["rgb", "symbolic", "codes"], default="rgb")
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
    p.add_argument("--conv-filters", type=int, default=6)
    p.add_argument("--conv-kernel", type=int, default=3)
    p.add_argument("--fc-hiddens", type=int, nargs="*", default=[32, 32])
    p.add_argument("--lstm-size", type=int, default=128)
    p.add_argument("--quick", action="store_true", help="small batch, one repeat")
    return p


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The options, with a preset's values as defaults."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.preset is not None:
        parser.set_defaults(**PRESETS[args.preset])
        args = parser.parse_args(argv)
    if args.quick:
        args.num_envs, args.updates, args.repeats = 4, 1, 1
        args.rollout_length = min(args.rollout_length, 50)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    torch.set_num_threads(args.threads)
    views = "1x1 one-hot" if args.game == "signalling" else args.obs_type
    where = args.game if args.map is None else f"{args.game} ({args.map})"
    print(
        f"{where}, {views} views, {args.num_agents} agents, {args.num_envs} envs x "
        f"{args.rollout_length} steps per update ({args.episode_length}-step episodes), "
        f"{args.algorithm}, conv {args.conv_filters}x{args.conv_kernel}x{args.conv_kernel}, FC "
        f"{'-'.join(map(str, args.fc_hiddens))}, LSTM {args.lstm_size}, "
        f"{torch.get_num_threads()} torch thread(s); env steps per CPU-second (per core), "
        f"median of {args.repeats} x {args.updates} updates, off and on interleaved"
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
