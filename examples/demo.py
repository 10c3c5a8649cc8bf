"""End-to-end demo of causal-influence (`make demo`; about two minutes on 2 cores, plus the
install).

1. Communication that emerges, and the analysis that detects it. A speaker and a listener are
   trained on the signalling game twice, side by side: once where the listener must read the
   speaker's symbol to act on a target only the speaker sees, once in the control where the
   listener sees the target itself. Each pair's episodes are recorded (actions, messages,
   policies, the listener's policy under every symbol the speaker could have sent, the target
   as context), saved as Parquet shards and analysed into an HTML report that opens with one
   conclusion per ordered pair. The speaker -> listener pair *communicates (grounded)* in the
   first game (an edge in the influence graph: the listener's policy responds to the symbol,
   which names the target) and is a *common cause suspected* in the control.
2. Ground truth: a speaker / listener / bystander game whose answers are known in closed form,
   analysed by the same pipeline, with every measured value printed beside its exact value.

``--harvest`` runs instead the same pipeline on small Harvest (four agents with a message
channel, the paper's influential-communication reward), where at this budget nothing emerges,
and renders a random episode of Harvest and Cleanup as GIFs. Everything printed is computed in
this run; the output directory is replaced on every run. ``--quick`` shrinks every budget.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import envs
from analysis import demo as ground_truth
from analysis import demo_agents, demo_signalling


def part_envs(out_dir: Path) -> None:
    """One random episode of Harvest and of Cleanup, as GIFs."""
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path("out/demo"), help="output directory (replaced)"
    )
    parser.add_argument(
        "--harvest",
        action="store_true",
        help="instead: four agents with a message channel on small Harvest (nothing emerges at "
        "this budget) and random episodes of Harvest and Cleanup as GIFs",
    )
    parser.add_argument(
        "--env-steps",
        type=int,
        default=None,
        help="training budget per run in env steps (default: 300000 for either game)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of training and recording")
    parser.add_argument(
        "--jobs",
        type=int,
        default=0,
        help="signalling runs trained side by side (0: one per CPU, at most 2)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny budgets everywhere (a smoke run of seconds)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def main() -> None:
    args = build_parser().parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    progress = not args.no_progress
    start = time.perf_counter()
    sizes = {"episodes": 20, "length": 500, "n_bootstrap": 500, "n_permutations": 500}
    if args.quick:
        sizes = {"episodes": 6, "length": 100, "n_bootstrap": 50, "n_permutations": 50}
    summary: list[str] = []
    reports = []
    if args.harvest:
        banner("1. Agents with a message channel on small Harvest: train, record, analyse")
        harvest = demo_agents.DemoConfig(
            env_steps=args.env_steps or 300_000, seed=args.seed if args.seed is not None else 0
        )
        if args.quick:
            harvest = demo_agents.DemoConfig(
                num_agents=3,
                env_steps=640,
                episode_length=20,
                record_episodes=4,
                n_bootstrap=50,
                n_permutations=50,
            )
        reports.append(
            (
                "Harvest report",
                demo_agents.run(args.out / "agents", harvest, progress=progress, overwrite=True),
            )
        )
    else:
        banner("1. Communication that emerges: the signalling game and its control")
        signalling = demo_signalling.DemoConfig(
            env_steps=args.env_steps or 300_000,
            seed=args.seed if args.seed is not None else 1,
            jobs=args.jobs,
        )
        if args.quick:
            signalling = demo_signalling.DemoConfig(
                env_steps=1_600,
                episode_length=10,
                record_episodes=4,
                n_bootstrap=50,
                n_permutations=50,
                jobs=args.jobs,
            )
        result = demo_signalling.run(
            args.out / "signalling",
            signalling,
            progress=progress,
            overwrite=True,
            print_summary=False,
        )
        summary = result.summary
        reports += [(f"signalling ({v})", path) for v, path in result.reports.items()]

    banner("2. Ground truth: a speaker, a listener and a bystander (closed-form answers)")
    truth = ground_truth.run(args.out / "ground_truth", progress=progress, overwrite=True, **sizes)
    reports.append(("ground-truth report", truth))

    if args.harvest:
        banner("3. Harvest and Cleanup, one short random episode each")
        part_envs(args.out)

    for line in summary:
        print(line)
    print()
    for label, path in reports:
        print(f"{label + ':':24s} {path.resolve()}")
    print(f"demo finished in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
