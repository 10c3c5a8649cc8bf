"""End-to-end demo of causal-influence (run with `make demo`; a few minutes on 2 cores).

1. Agents with a message channel: four agents are trained on the small Harvest map in the
   paper's *influential communication* setting, their episodes are recorded (actions,
   messages, policies, the counterfactual policies of every listener under every symbol and
   the pairwise influence they give) and saved as Parquet shards, and the shards are analysed
   into an HTML report: who influences whom with bootstrap intervals and permutation tests,
   speaker consistency, instantaneous coordination, CIC, the influence graph, social outcomes.
2. Ground truth: a speaker / listener / bystander game whose answers are known in closed form,
   analysed by the same pipeline, with every measured value printed beside its exact value.
3. Harvest and Cleanup: one short random episode of each, as an animated GIF.

Everything printed is computed in this run. ``--quick`` shrinks every budget (seconds).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import envs
from analysis import demo as ground_truth
from analysis import demo_agents


def part_envs(out_dir: Path) -> None:
    for name, module in (("harvest", envs.harvest), ("cleanup", envs.cleanup)):
        env = module.parallel_env(render_mode="rgb_array", max_cycles=200)
        env.reset(seed=0)
        frames = [env.render()]
        rng = np.random.default_rng(0)
        info: dict = {}
        while env.agents:
            actions = {a: int(rng.integers(env.action_space(a).n)) for a in env.agents}
            _, _, _, _, info = env.step(actions)
            frames.append(env.render())
        episode = info["agent_0"]["episode"]
        gif = envs.save_gif(frames, out_dir / f"{name}_random.gif", scale=6)
        print(
            f"{name}: {len(env.possible_agents)} agents, {episode['length']} steps, collective "
            f"return {episode['collective_return']:.0f}; GIF: {gif}"
        )


def banner(text: str) -> None:
    print()
    print("=" * 78)
    print(text)
    print("=" * 78, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/demo"), help="output directory")
    parser.add_argument(
        "--env-steps", type=int, default=300_000, help="training budget of the agents (env steps)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny budgets everywhere (a smoke run of seconds)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    progress = not args.no_progress
    start = time.perf_counter()

    if args.quick:
        agents_cfg = demo_agents.DemoConfig(
            num_agents=3,
            env_steps=640,
            episode_length=20,
            record_episodes=4,
            n_bootstrap=50,
            n_permutations=50,
        )
        sizes = {"episodes": 6, "length": 100, "n_bootstrap": 50, "n_permutations": 50}
    else:
        agents_cfg = demo_agents.DemoConfig(env_steps=args.env_steps)
        sizes = {"episodes": 20, "length": 500, "n_bootstrap": 500, "n_permutations": 500}

    banner("1. Agents with a message channel: train, record, analyse, report")
    report = demo_agents.run(args.out / "agents", agents_cfg, progress=progress, overwrite=True)

    banner("2. Ground truth: a speaker, a listener and a bystander (closed-form answers)")
    truth = ground_truth.run(args.out / "ground_truth", progress=progress, overwrite=True, **sizes)

    banner("3. Harvest and Cleanup, one short random episode each")
    part_envs(args.out)

    print()
    print(f"main report:         {report.resolve()}")
    print(f"ground-truth report: {truth.resolve()}")
    print(f"demo finished in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
