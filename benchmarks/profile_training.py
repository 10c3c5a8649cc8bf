"""Where the influence reward's extra training time goes: a profile of off vs on.

Builds the same two trainers as ``bench_training.py`` (influence weight 0 and 1) for one setting,
profiles ``--updates`` updates of each with :mod:`cProfile` (after a warm-up update), and prints
the functions whose own time (``tottime``) grows most with the influence reward, per env step,
beside the total extra time. Torch operators show up as the Python functions that call them
(``torch._C`` built-ins by name), which is the level at which the counterfactual work can be
fused or restructured.

Run ``python benchmarks/profile_training.py --setting comm`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_training import make_config

from agents.trainer import Trainer


def _profile(trainer: Trainer, updates: int) -> tuple[dict[str, float], float]:
    """Own time per function (seconds) over ``updates`` updates, and the CPU time."""
    profiler = cProfile.Profile(time.process_time)
    start = time.process_time()
    profiler.enable()
    for _ in range(updates):
        trainer.update()
    profiler.disable()
    elapsed = time.process_time() - start
    stats = pstats.Stats(profiler)
    own: dict[str, float] = {}
    for (file, line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        key = f"{name} ({Path(file).name}:{line})" if line else name
        own[key] = own.get(key, 0.0) + row[2]
    return own, elapsed


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--setting", choices=["basic", "comm", "moa"], default="comm")
    p.add_argument("--game", choices=["harvest", "cleanup"], default="harvest")
    p.add_argument("--obs-type", choices=["rgb", "symbolic"], default="rgb")
    p.add_argument("--num-agents", type=int, default=5)
    p.add_argument("--num-influencers", type=int, default=1)
    p.add_argument("--num-symbols", type=int, default=7)
    p.add_argument("--num-envs", type=int, default=16)
    p.add_argument("--rollout-length", type=int, default=100)
    p.add_argument("--episode-length", type=int, default=1000)
    p.add_argument("--algorithm", choices=["a2c", "ppo"], default="a2c")
    p.add_argument("--updates", type=int, default=4, help="profiled updates per trainer")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--top", type=int, default=15, help="functions listed")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    own, cpu = {}, {}
    for flag in (False, True):
        trainer = Trainer(make_config(args, args.setting, flag))
        trainer.update()  # warm-up
        own[flag], cpu[flag] = _profile(trainer, args.updates)
    steps = args.updates * args.num_envs * args.rollout_length
    extra = cpu[True] - cpu[False]
    print(
        f"{args.setting}, {args.game}, {args.num_agents} agents, {args.num_envs} envs x "
        f"{args.rollout_length} steps, {args.algorithm}, {torch.get_num_threads()} torch "
        f"thread(s), load {os.getloadavg()[0]:.2f}; CPU time under the profiler"
    )
    print(
        f"off {1e6 * cpu[False] / steps:8.1f} us/step, on {1e6 * cpu[True] / steps:8.1f} "
        f"us/step, ratio {cpu[True] / cpu[False]:.2f} (profiler overhead included)"
    )
    names = set(own[False]) | set(own[True])
    growth = sorted(
        ((own[True].get(n, 0.0) - own[False].get(n, 0.0), n) for n in names), reverse=True
    )
    print(f"\n{'extra us/step':>13s} {'share':>6s}  function (own time, on minus off)")
    for delta, name in growth[: args.top]:
        print(f"{1e6 * delta / steps:13.1f} {delta / extra if extra > 0 else 0:6.1%}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
