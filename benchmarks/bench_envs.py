"""Throughput of Harvest and Cleanup: PettingZoo env and batched VectorEnv, against the reference.

5 agents, uniform random actions, WHOLE episodes of ``max_cycles`` steps (default 1000): every
measurement starts at a reset and runs to the end of its episodes, so the episode-ending step
(episode statistics, resets) is counted in proportion. Time is this process's CPU time
(``time.process_time``), which other jobs on a shared machine disturb far less than the wall
clock; the forms are measured interleaved, one episode of each in turn, ``--repeats`` times, and
each figure is the median. Every ratio is printed beside the 1-minute load average of the
machine while it was measured.

The reference (the SSD code of Jaques et al. 2019) is measured in the same run, interleaved with
the rest, when its source is given with ``--reference-src`` (a checkout of
sequential_social_dilemma_games: the directory holding ``social_dilemmas/``; the framework
imports, Ray and gym, are replaced by inert stand-ins, which serve only spaces and rendering).
Otherwise the ratios use the figures measured on one core of a 2-core x86 machine with the same
method (5 agents, random actions, resets every 1000 steps; docs/envs.md, "Speed"): Harvest
2,596 and Cleanup 3,179 env-steps/s. Such figures come from another run and another moment of
the machine; the header says which was used.

Views: ``rgb`` (the reference's observation), ``symbolic`` (one byte per channel and cell) and
``codes`` (the symbolic view as one byte per cell, decoded by the network; docs/envs.md,
"Observations"). Goals (issue 15): PettingZoo >= 5x; batched B=256 >= 30x with RGB views and
>= 100x with symbolic views (the compact ``codes`` layout).

Usage: python benchmarks/bench_envs.py [--quick] [--repeats R] [--reference-src DIR]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.abc
import importlib.machinery
import os
import statistics
import sys
import time
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from envs import cleanup, harvest
from envs.registry import get_game
from envs.vector import VectorEnv, make_vector

#: Reference env-steps/s with 5 agents when its source is not at hand (docs/envs.md, "Speed").
STORED_REFERENCE = {"harvest": 2596.0, "cleanup": 3179.0}
MODULES = {"harvest": harvest, "cleanup": cleanup}
REFERENCE_CLASSES = {
    "harvest": ("social_dilemmas.envs.harvest", "HarvestEnv"),
    "cleanup": ("social_dilemmas.envs.cleanup", "CleanupEnv"),
}
GOALS = {"pettingzoo": 5.0, "rgb": 30.0, "codes": 100.0}
NUM_AGENTS = 5


# ----------------------------------------------------------------------------------------------
# the reference, with stand-ins for the frameworks it imports


class _Inert:
    """Stand-in for any class or object of a missing framework: accepts every call and
    attribute and does nothing (the reference uses them for spaces and rendering only)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> _Inert:
        return _Inert()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Inert()


class _InertModule(types.ModuleType):
    """A missing module: every attribute is a fresh subclass of :class:`_Inert`."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        cls = type(name, (_Inert,), {})
        setattr(self, name, cls)
        return cls


#: Frameworks the reference imports for spaces, training and rendering: always stand-ins
#: (installed or not), as in the method of the stored figures.
FRAMEWORKS = ("ray", "gym", "tensorflow", "cv2")


class _InertFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """First on ``sys.meta_path`` while the reference is imported: serves :data:`FRAMEWORKS`."""

    def __init__(self) -> None:
        self.served: list[str] = []

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname.partition(".")[0] not in FRAMEWORKS:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: Any) -> types.ModuleType:
        module = _InertModule(spec.name)
        module.__path__ = []
        self.served.append(spec.name)
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


def load_reference(src: str, game: str) -> tuple[Callable[[], Any], list[str]]:
    """A factory of the reference env of ``game`` from the checkout ``src``, and the names of
    the modules replaced by stand-ins."""
    root = str(Path(src).resolve())
    if root not in sys.path:
        sys.path.insert(0, root)
    finder = _InertFinder()
    real = {
        name: module for name, module in sys.modules.items() if name.partition(".")[0] in FRAMEWORKS
    }
    for name in real:
        del sys.modules[name]
    sys.meta_path.insert(0, finder)
    try:
        module_name, class_name = REFERENCE_CLASSES[game]
        env_class = getattr(importlib.import_module(module_name), class_name)
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if n.partition(".")[0] in FRAMEWORKS]:
            del sys.modules[name]
        sys.modules.update(real)
    return (lambda: env_class(num_agents=NUM_AGENTS)), sorted(set(finder.served))


def reference_episode(make: Callable[[], Any], num_actions: int, steps: int) -> Callable[[], int]:
    """One reference episode (reset, then ``steps`` random steps); returns env steps done."""
    env = make()
    rng = np.random.default_rng(0)

    def run() -> int:
        env.reset()
        ids = list(env.agents)
        for _ in range(steps):
            env.step({a: int(rng.integers(num_actions)) for a in ids})
        return steps

    return run


# ----------------------------------------------------------------------------------------------
# ours


def pettingzoo_episode(game: str, obs_type: str, steps: int) -> Callable[[], int]:
    """One PettingZoo episode (reset, random steps until truncation); returns env steps."""
    env = MODULES[game].parallel_env(obs_type=obs_type, max_cycles=steps)
    rng = np.random.default_rng(0)
    n_actions = env.action_space("agent_0").n
    env.reset(seed=0)

    def run() -> int:
        env.reset()
        done = 0
        while env.agents:
            env.step({a: int(rng.integers(n_actions)) for a in env.agents})
            done += 1
        return done

    return run


def vector_episode(game: str, obs_type: str, num_envs: int, steps: int) -> Callable[[], int]:
    """One episode of every env of a VectorEnv: from the reset to the step that ends them
    (statistics and auto-reset included); returns env steps (B per step)."""
    venv: VectorEnv = make_vector(game, num_envs, seed=0, obs_type=obs_type, max_cycles=steps)
    venv.reset()
    rng = np.random.default_rng(0)
    actions = rng.integers(0, venv.config.num_actions, size=(64, num_envs, NUM_AGENTS))

    def run() -> int:
        venv.reset()
        for k in range(steps):
            _, _, _, truncated, _ = venv.step(actions[k % 64])
        assert truncated.all()
        return steps * num_envs

    return run


# ----------------------------------------------------------------------------------------------


def measure(
    runs: dict[str, Callable[[], int]], repeats: int
) -> dict[str, tuple[float, float, float]]:
    """Median env-steps per CPU-second and per wall-second of each run, and the median load
    average while it ran; one warm-up each, then the repeats round-robin."""
    for run in runs.values():
        run()
    cpu: dict[str, list[float]] = {k: [] for k in runs}
    wall: dict[str, list[float]] = {k: [] for k in runs}
    load: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            c, w = time.process_time(), time.perf_counter()
            done = run()
            cpu[name].append(done / (time.process_time() - c))
            wall[name].append(done / (time.perf_counter() - w))
            load[name].append(os.getloadavg()[0])
    return {
        k: (statistics.median(cpu[k]), statistics.median(wall[k]), statistics.median(load[k]))
        for k in runs
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100-step episodes, B <= 16")
    parser.add_argument("--repeats", type=int, default=3, help="episodes per form (median)")
    parser.add_argument("--games", nargs="*", default=["harvest", "cleanup"])
    parser.add_argument("--obs", nargs="*", default=["rgb", "symbolic", "codes"])
    parser.add_argument(
        "--reference-src",
        help="checkout of sequential_social_dilemma_games (measure the reference in this run)",
    )
    args = parser.parse_args(argv)
    steps = 100 if args.quick else 1000
    sizes = (1, 16) if args.quick else (1, 16, 64, 256)
    print(
        f"envs throughput: {NUM_AGENTS} agents, random actions, whole episodes of {steps} steps "
        f"(reset and episode end included), median of {args.repeats} episodes per form, "
        f"interleaved; env-steps per CPU-second of this process (wall clock beside it); "
        f"pid {os.getpid()}, numpy {np.__version__}, {os.cpu_count()} cores"
    )
    for game in args.games:
        runs: dict[str, Callable[[], int]] = {}
        reference_note = (
            f"stored figure {STORED_REFERENCE[game]:,.0f} env-steps/s (docs/envs.md, 'Speed'; "
            f"measured in another run)"
        )
        if args.reference_src:
            make, served = load_reference(args.reference_src, game)
            num_actions = get_game(game).make_config().num_actions
            runs["reference"] = reference_episode(make, num_actions, steps)
            reference_note = (
                f"reference measured in this run from {args.reference_src} (stand-ins for "
                f"{', '.join(n for n in served if '.' not in n) or 'nothing'})"
            )
        for obs_type in args.obs:
            runs[f"{obs_type} pettingzoo"] = pettingzoo_episode(game, obs_type, steps)
            for b in sizes:
                runs[f"{obs_type} vector B={b}"] = vector_episode(game, obs_type, b, steps)
        results = measure(runs, args.repeats)
        ref = results["reference"][0] if "reference" in results else STORED_REFERENCE[game]
        print(f"\n{game}: ratios to the {reference_note}")
        header = (
            f"{'form':22} {'per CPU-s':>11} {'per wall-s':>11} {'agent-steps/s':>14} "
            f"{'x reference':>12} {'goal':>6} {'load':>6}"
        )
        print(header)
        print("-" * len(header))
        for name, (cpu_rate, wall_rate, load) in results.items():
            goal = ""
            if name.endswith("pettingzoo"):
                goal = f"{GOALS['pettingzoo']:.0f}x"
            elif name.endswith(f"B={sizes[-1]}") and name.split()[0] in GOALS:
                goal = f"{GOALS[name.split()[0]]:.0f}x"
            ratio = "" if name == "reference" else f"{cpu_rate / ref:11.1f}x"
            print(
                f"{name:22} {cpu_rate:11,.0f} {wall_rate:11,.0f} "
                f"{NUM_AGENTS * cpu_rate:14,.0f} {ratio:>12} {goal:>6} {load:6.2f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
