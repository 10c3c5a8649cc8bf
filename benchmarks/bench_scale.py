"""Scaling out on Ray: a small sweep and a sharded analysis with 1 and 2 workers.

Measured in one run, on a local Ray cluster started with ``ray.init(num_cpus=W)`` for W = 1
and 2 workers (after a warm-up that starts the workers and imports torch in them):

(a) sweep: R short MOA training runs (:func:`analysis.sweep.run_sweep`, one Ray task per run,
    each into a fresh sweep directory), next to the same runs trained one after the other in
    this process (:func:`agents.trainer.train`);
(b) shard summaries: :func:`analysis.shards.summarize_shards` of a directory of Parquet shards
    of the speaker/listener game (messages, influence, counterfactual logits: every table
    including CIC), W tasks, next to :func:`analysis.dataset.summarize` in this process;
(c) the whole analysis (:func:`analysis.shards.analyze_shards`): the summaries on Ray, then
    the bootstrap and permutation tests in this process, as :func:`analysis.stats.analyze`.

Each figure is the median of ``--repeats`` runs; the cost of starting a cluster is printed
apart. Speed-ups are 1-worker time over 2-worker time. The machine may be shared: figures
move from run to run.

Run ``python benchmarks/bench_scale.py`` (``--help`` for options, ``--quick`` for a short run).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import causal_influence.io as ci_io
from agents.config import TrainConfig
from agents.trainer import train
from analysis.dataset import summarize
from analysis.demo import speaker_listener
from analysis.shards import analyze_shards, summarize_shards
from analysis.stats import analyze
from analysis.sweep import expand_grid, run_sweep
from envs.config import harvest_config


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(median, best) wall time of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def make_shards(folder: Path, episodes: int, length: int, per_shard: int) -> int:
    """Write the speaker/listener game in shards of ``per_shard`` episodes, 48 at a time."""
    chunk, written = 48, 0
    for part, start in enumerate(range(0, episodes, chunk)):
        traj = speaker_listener(episodes=min(chunk, episodes - start), length=length, rng=part)
        written += len(
            ci_io.write_shards(traj, folder, prefix=f"part{part:03d}", episodes_per_shard=per_shard)
        )
    return written


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=4, help="training runs in the sweep")
    p.add_argument("--run-steps", type=int, default=2000, help="env steps of each run")
    p.add_argument("--episodes", type=int, default=192, help="episodes in the shards")
    p.add_argument("--length", type=int, default=1000, help="steps per episode")
    p.add_argument("--shard-episodes", type=int, default=8, help="episodes per shard")
    p.add_argument("--bootstrap", type=int, default=200, help="resamples in the analysis (c)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    args = p.parse_args(argv)
    if args.quick:
        args.run_steps, args.episodes, args.repeats = 400, 48, 1

    import ray

    logging.getLogger("ray").setLevel(logging.ERROR)
    env = harvest_config(map="small_harvest", num_agents=3, obs_type="symbolic", max_cycles=50)
    base = TrainConfig(
        env=env,
        setting="moa",
        influence_coef=1.0,
        num_envs=4,
        rollout_length=25,
        total_env_steps=args.run_steps,
        lstm_size=32,
        tensorboard=False,
    )
    runs = expand_grid(base, seeds=list(range(args.runs)))
    work = Path(tempfile.mkdtemp(prefix="bench_scale_"))
    shards = work / "shards"
    num_shards = make_shards(shards, args.episodes, args.length, args.shard_episodes)
    stats = {"n_bootstrap": args.bootstrap, "n_permutations": args.bootstrap, "rng": 0}
    counter = iter(range(1_000_000))

    def serial_sweep() -> None:  # the same runs and files, one after the other
        out = work / f"serial{next(counter)}"
        for run in runs:
            train(dataclasses.replace(run.config, out_dir=str(out / run.name)))

    def ray_sweep() -> None:
        run_sweep(runs, work / f"sweep{next(counter)}", log=lambda message: None)

    train(dataclasses.replace(base, total_env_steps=100))  # warm-up
    summarize(shards)
    t: dict[str, tuple[float, float]] = {
        "serial_sweep": timed(serial_sweep, args.repeats),
        "single_summary": timed(lambda: summarize(shards), args.repeats),
        "single_analysis": timed(lambda: analyze(shards, **stats), args.repeats),
    }
    for workers in (1, 2):
        start = time.perf_counter()
        ray.init(num_cpus=workers, include_dashboard=False, logging_level=logging.ERROR)
        started = time.perf_counter() - start
        t[f"start{workers}"] = (started, started)
        try:
            # warm-up: start the workers and import torch and the toolkit in each
            run_sweep(runs[:workers], work / f"warm{workers}", log=lambda message: None)
            summarize_shards(shards, num_tasks=workers)
            t[f"sweep{workers}"] = timed(ray_sweep, args.repeats)
            t[f"summary{workers}"] = timed(
                lambda w=workers: summarize_shards(shards, num_tasks=w), args.repeats
            )
            t[f"analysis{workers}"] = timed(
                lambda w=workers: analyze_shards(shards, num_tasks=w, **stats), args.repeats
            )
        finally:
            ray.shutdown()
    shutil.rmtree(work, ignore_errors=True)

    steps = args.episodes * args.length

    def row(label: str, key: str) -> None:
        median, best = t[key]
        print(f"    {label:<34s} {median:8.2f} s   (best {best:6.2f} s)")

    def speedup(key: str) -> None:
        print(f"    {'speed-up, 1 -> 2 workers':<34s} {t[key + '1'][0] / t[key + '2'][0]:8.2f}x")

    print(
        f"Ray {ray.__version__}, {os.cpu_count()} CPUs; median of {args.repeats} run(s) after a "
        f"warm-up (best in brackets)"
    )
    print(
        f"(a) sweep of {args.runs} MOA runs x {args.run_steps} env steps (3 agents, small "
        f"Harvest, symbolic views)"
    )
    row("one process, runs in turn", "serial_sweep")
    row("Ray, 1 worker", "sweep1")
    row("Ray, 2 workers", "sweep2")
    speedup("sweep")
    print(
        f"(b) shard summaries: {num_shards} shards, {args.episodes} episodes, {steps} steps, "
        f"3 agents (messages, influence, counterfactual logits)"
    )
    row("one process (summarize)", "single_summary")
    row("Ray, 1 worker", "summary1")
    row("Ray, 2 workers", "summary2")
    speedup("summary")
    print(f"(c) whole analysis, {args.bootstrap} bootstrap and permutation resamples")
    row("one process (analyze)", "single_analysis")
    row("Ray, 1 worker", "analysis1")
    row("Ray, 2 workers", "analysis2")
    speedup("analysis")
    print(
        f"starting a local cluster (not included above): {t['start1'][0]:.1f} s (1 CPU), "
        f"{t['start2'][0]:.1f} s (2 CPUs)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
