"""Throughput of Harvest and Cleanup: PettingZoo env and batched VectorEnv.

5 agents, uniform random actions, full episodes of 1000 steps with resets included. Prints
env-steps/s (one env step = every agent acts) by the wall clock and per second of this
process's CPU time (steadier than the wall clock when other jobs share the cores), agent-steps/s,
and the ratio to the reference implementation measured on one core of this machine class
(docs/envs.md, "Speed": Harvest ~2.5k, Cleanup ~3.0k env-steps/s with 5 agents). Goals:
PettingZoo >= 5x; batched >= 100x with symbolic observations and >= 30x with RGB.

Usage: python benchmarks/bench_envs.py [--quick] [--episodes K]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from envs import cleanup, episode_statistics, harvest
from envs.vector import make_vector

REFERENCE = {"harvest": 2500.0, "cleanup": 3000.0}
MODULES = {"harvest": harvest, "cleanup": cleanup}


def bench_pettingzoo(game: str, obs_type: str, steps: int) -> tuple[float, float]:
    """Env-steps per second of one PettingZoo env: (wall clock, process CPU time)."""
    env = MODULES[game].parallel_env(obs_type=obs_type)
    rng = np.random.default_rng(0)
    n_actions = env.action_space("agent_0").n
    env.reset(seed=0)
    for _ in range(5):  # warm-up: loads (or compiles) the kernels before the clock starts
        env.step({a: int(rng.integers(n_actions)) for a in env.agents})
    env.reset(seed=0)
    done = 0
    start, cpu = time.perf_counter(), time.process_time()
    while done < steps:
        if not env.agents:
            env.reset()
        actions = {a: int(rng.integers(n_actions)) for a in env.agents}
        env.step(actions)
        done += 1
    return done / (time.perf_counter() - start), done / (time.process_time() - cpu)


def bench_vector(game: str, obs_type: str, num_envs: int, steps: int) -> tuple[float, float]:
    """Env-steps per second of a VectorEnv of ``num_envs``: (wall clock, process CPU time)."""
    venv = make_vector(game, num_envs, seed=0, obs_type=obs_type)
    venv.reset()
    n_actions = venv.config.num_actions
    rng = np.random.default_rng(0)
    actions = rng.integers(0, n_actions, size=(64, num_envs, venv.num_agents))
    venv.step(actions[0])  # compile / warm up
    start, cpu = time.perf_counter(), time.process_time()
    for k in range(steps):
        venv.step(actions[k % 64])
    done = steps * num_envs
    return done / (time.perf_counter() - start), done / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (a smoke run)")
    parser.add_argument("--episodes", type=int, default=1, help="episodes per measurement")
    args = parser.parse_args()
    steps = 200 if args.quick else 1000 * args.episodes
    # Episode ends compute social outcomes with pandas: import it before any clock starts.
    episode_statistics(np.ones((2, 5)))
    print(
        f"envs throughput, 5 agents, random actions, {steps} steps per env per measurement "
        f"(resets included), pid {os.getpid()}, numpy {np.__version__}"
    )
    header = (
        f"{'env':8} {'obs':9} {'form':14} {'env-steps/s':>12} {'per CPU-s':>10} "
        f"{'agent-steps/s':>14} {'x reference':>12} {'goal':>6}"
    )
    print(header)
    print("-" * len(header))
    for game in ("harvest", "cleanup"):
        for obs_type in ("rgb", "symbolic"):
            rate, cpu_rate = bench_pettingzoo(game, obs_type, steps)
            ratio = rate / REFERENCE[game]
            print(
                f"{game:8} {obs_type:9} {'pettingzoo':14} {rate:12,.0f} {cpu_rate:10,.0f} "
                f"{5 * rate:14,.0f} {ratio:11.1f}x {'5x':>6}"
            )
            for num_envs in (1, 16, 64, 256):
                rate, cpu_rate = bench_vector(
                    game,
                    obs_type,
                    num_envs,
                    steps if num_envs < 64 else max(200, steps // (1 if num_envs == 64 else 2)),
                )
                ratio = rate / REFERENCE[game]
                goal = "100x" if obs_type == "symbolic" else "30x"
                print(
                    f"{game:8} {obs_type:9} {'vector B=' + str(num_envs):14} {rate:12,.0f} "
                    f"{cpu_rate:10,.0f} {5 * rate:14,.0f} {ratio:11.1f}x {goal:>6}"
                )


if __name__ == "__main__":
    main()
