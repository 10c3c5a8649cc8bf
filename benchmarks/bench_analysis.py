"""Analysis of saved trajectories: permutation-tested tables on 10^6 steps, and streaming memory.

Data (synthetic, built vectorised in numpy, with known structure): N = 5 agents, A = 6 actions,
M = 4 symbols, episodes of 1000 steps. A hidden state (one of M values, switching with
probability 0.05 per step) is seen by agent_0, the speaker, who sends it as its symbol with
probability 0.9 and acts on its own symbol with probability 0.7 (speaker consistency). The
listeners agent_1 .. agent_3 play a fixed function of the speaker's previous symbol with
probabilities 0.8, 0.6, 0.4 (else a uniform action), and say their own action with probability
0.5; agent_4 is a bystander (uniform, independent: the null pairs). The stored next-step
influence of messages is large for speaker -> listener pairs and small noise elsewhere.

Measured (median over ``--repeats`` runs, after a warm-up on a small slice):

(a) :func:`analysis.dataset.summarize`: one streaming pass over the T steps.
(b) :func:`analysis.stats.analyze` of that summary with ``n_bootstrap=0``: every permutation
    test of the coordination (symbol/action and action/action, all steps and moments of high
    influence; 20 ordered pairs each), speaker-consistency (5 agents) and influence (20 pairs)
    tables, B = 1000 permutations each. (a) + (b) is ``analyze(trajectory)`` without intervals.
(c) :func:`causal_influence.information.permutation_test` of one pair from its raw labels
    (the speaker's symbol at t, listener agent_1's action at t + 1, within episodes).
(d) :func:`scipy.stats.permutation_test` of the same pair, same labels, same statistic (plug-in
    MI, nats, from one bincount per permutation), ``permutation_type="pairings"``,
    ``vectorized=True`` in batches of 10 permutations (SciPy's faster mode here;
    ``vectorized=False`` is timed once to show it). SciPy is too slow to run in full (about
    10^2 s), so it is EXTRAPOLATED: its cost per permutation is the slope between two small
    numbers of permutations on the first 10^5 pairs, scaled linearly to all pairs and B
    permutations. SciPy also has a fixed cost per call that grows faster than the number of
    pairs (it computes the exact number of pairings, (T!)^2); it is measured once, as one call
    on all pairs with one permutation. The goal is judged without it (a lower bound for SciPy).
(e) Peak memory when streaming 10^7 steps from Parquet shards written by
    :func:`causal_influence.io.write_shards`, in two layouts (10 and 40 shards of the same
    data): ``analyze(folder, n_bootstrap=0, n_permutations=B)`` in a fresh subprocess, peak
    resident set size from ``resource.getrusage(RUSAGE_SELF).ru_maxrss``, first after the first
    shard alone, then after the whole folder (ru_maxrss only grows).

Goals: (d) / (c) >= 10; the peak of (e) does not grow with the number of shards (the
40-shard layout needs no more than the 10-shard one, and each layout no more than its first
shard alone) and stays within twice the largest shard's in-RAM size (issue 15). Times are CPU
times of this process; the load average is printed beside the ratios.

Run ``python benchmarks/bench_analysis.py`` (``--quick`` for a smoke run, ``--help``).
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy
from scipy import stats as sps

from analysis.dataset import summarize
from analysis.stats import analyze
from causal_influence.communication import lagged_pairs
from causal_influence.information import mutual_information_from_counts, permutation_test
from causal_influence.io import open_dataset, write_shards
from causal_influence.trajectory import InfluenceSpec, Trajectory

NUM_ACTIONS, NUM_SYMBOLS = 6, 4
SWITCH, SAY_STATE, ACT_ON_SYMBOL, SAY_ACTION = 0.05, 0.9, 0.7, 0.5
SCIPY_BATCH = 10

_T0 = time.perf_counter()


def progress(message: str) -> None:
    print(f"[{time.perf_counter() - _T0:6.1f} s] {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------
# data


def follow_probabilities(n: int) -> np.ndarray:
    """Probability that each agent plays the function of the speaker's previous symbol."""
    q = np.zeros(n)
    q[1 : n - 1] = np.linspace(0.8, 0.4, n - 2) if n > 3 else 0.8
    return q


def make_trajectory(
    episodes: int, length: int, n: int = 5, *, seed: int = 0, first_episode: int = 0
) -> Trajectory:
    """The speaker/listeners/bystander data of the module docstring, ``episodes x length``."""
    rng = np.random.default_rng(seed)
    t = episodes * length
    step = np.tile(np.arange(length), episodes)
    # Hidden state: redrawn at episode starts and with probability SWITCH per step.
    redraw = (rng.random(t) < SWITCH) | (step == 0)
    state = rng.integers(0, NUM_SYMBOLS, t)[
        np.maximum.accumulate(np.where(redraw, np.arange(t), 0))
    ]

    messages = rng.integers(0, NUM_SYMBOLS, (t, n))
    actions = rng.integers(0, NUM_ACTIONS, (t, n))
    coin = rng.random((t, 3))
    messages[:, 0] = np.where(coin[:, 0] < SAY_STATE, state, messages[:, 0])
    actions[:, 0] = np.where(coin[:, 1] < ACT_ON_SYMBOL, messages[:, 0], actions[:, 0])
    # Listener j plays (speaker's previous symbol + j) mod A with probability q_j.
    q = follow_probabilities(n)
    follow = rng.random((t, n)) < q
    follow[:, 0] = False
    follow &= (step > 0)[:, None]
    target = np.empty((t, n), dtype=np.int64)
    target[1:] = (messages[:-1, :1] + np.arange(n)) % NUM_ACTIONS
    target[0] = 0
    actions = np.where(follow, target, actions)
    listeners = (np.arange(n) > 0) & (np.arange(n) < n - 1)
    say = (rng.random((t, n)) < SAY_ACTION) & listeners
    messages = np.where(say, actions % NUM_SYMBOLS, messages)

    rewards = (actions == (state[:, None] + np.arange(n)) % NUM_ACTIONS).astype(np.float64)
    influence = rng.exponential(0.01, (t, n, n))
    influence[:, 0, :] += q * (0.5 + rng.random((t, 1)))
    influence[:, np.arange(n), np.arange(n)] = 0.0
    return Trajectory(
        actions,
        rewards,
        episode_ids=first_episode + np.repeat(np.arange(episodes), length),
        messages=messages,
        influence=influence,
        num_actions=NUM_ACTIONS,
        num_symbols=NUM_SYMBOLS,
        env_name="speaker_listeners",
        influence_spec=InfluenceSpec(alignment="next_step", variable="messages"),
        copy=False,
    )


def one_pair(traj: Trajectory, lag: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Raw labels of (speaker's symbol at t, agent_1's action at t + lag) within episodes."""
    assert traj.messages is not None
    t = lagged_pairs(traj.num_steps, lag, traj.episode_ids)
    return np.ascontiguousarray(traj.messages[t, 0]), np.ascontiguousarray(traj.actions[t + lag, 1])


# ----------------------------------------------------------------------------------------------
# the SciPy reference


def scipy_statistic(nx: int, ny: int) -> Callable[..., Any]:
    """Plug-in MI (nats) of paired labels along ``axis``, batched over the leading axes; the
    contingency tables by one bincount, the MI by the library's own function of counts."""

    def statistic(x: np.ndarray, y: np.ndarray, axis: int = -1) -> Any:
        x = np.moveaxis(np.asarray(x), axis, -1)
        y = np.moveaxis(np.asarray(y), axis, -1)
        lead = x.shape[:-1]
        b = math.prod(lead)
        code = (x * ny + y).reshape(b, -1) + (np.arange(b) * (nx * ny))[:, None]
        tables = np.bincount(code.ravel(), minlength=b * nx * ny).reshape(*lead, nx, ny)
        return mutual_information_from_counts(tables)

    return statistic


def run_scipy(x: np.ndarray, y: np.ndarray, n_resamples: int, vectorized: bool) -> Any:
    """SciPy's generic test of the pair; batches of SCIPY_BATCH permutations bound its memory
    (it materialises the permuted indices of a whole batch)."""
    seed = "rng" if "rng" in inspect.signature(sps.permutation_test).parameters else "random_state"
    return sps.permutation_test(
        (x, y),
        scipy_statistic(int(x.max()) + 1, int(y.max()) + 1),
        permutation_type="pairings",
        vectorized=vectorized,
        batch=SCIPY_BATCH,
        n_resamples=n_resamples,
        alternative="greater",
        **{seed: 0},
    )


def timed(fn: Callable[[], Any]) -> float:
    """CPU seconds of this process spent in ``fn`` (steadier than the wall clock on a shared
    machine; everything timed here runs on one thread)."""
    start = time.process_time()
    fn()
    return time.process_time() - start


# ----------------------------------------------------------------------------------------------
# memory, in a fresh subprocess


def maxrss_mb() -> float:
    """Peak resident set size of this process so far, MB (Linux reports kB)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024.0 if sys.platform != "darwin" else rss / 2**20


def child_memory(folder: str, warmup: str, permutations: int) -> int:
    """Run in the subprocess: warm up on a tiny shard (imports, Arrow), analyze the first shard
    of ``folder`` alone, then stream the whole folder. The peak RSS only grows, so the last
    figure exceeds the one-shard figure only if streaming every shard needs more memory than
    one shard."""
    analyze(warmup, n_bootstrap=0, n_permutations=10, rng=0)
    before = maxrss_mb()
    analyze(open_dataset(folder).paths[0], n_bootstrap=0, n_permutations=permutations, rng=0)
    first = maxrss_mb()
    start = time.perf_counter()
    result = analyze(folder, n_bootstrap=0, n_permutations=permutations, rng=0)
    out = {
        "before": before,
        "first": first,
        "all": maxrss_mb(),
        "seconds": time.perf_counter() - start,
        "steps": result.summary.num_steps,
    }
    print(json.dumps(out))
    return 0


def measure_memory(folder: Path, warmup: Path, permutations: int) -> dict[str, float]:
    """:func:`child_memory` on ``folder`` in a fresh interpreter."""
    # Through a shell that forks: a child exec'd straight from this process would inherit this
    # process's peak RSS in its ru_maxrss (Linux keeps the high-water mark across exec).
    command = [
        "/bin/sh",
        "-c",
        '"$@"; exit $?',
        "sh",
        sys.executable,
        str(Path(__file__).resolve()),
        "--child-memory",
        str(folder),
        "--child-warmup",
        str(warmup),
        "--permutations",
        str(permutations),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory subprocess failed:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def write_layouts(
    root: Path, stream_steps: int, length: int, n: int, layouts: Sequence[int]
) -> tuple[dict[int, Path], float, float]:
    """The same ``stream_steps`` steps written once per layout (number of shards); returns the
    folders, the bytes in memory of one trajectory of the coarsest layout's shard size and the
    time spent writing."""
    episodes = stream_steps // length
    coarsest = min(layouts)
    if stream_steps % length or any(episodes % s for s in layouts):
        raise SystemExit(
            f"--stream-steps {stream_steps} must be whole episodes of {length} steps, split "
            f"evenly into {list(layouts)} shards"
        )
    chunk = episodes // coarsest  # episodes of one shard of the coarsest layout
    per_shard = {s: episodes // s for s in layouts}
    if any(chunk % per_shard[s] for s in layouts):
        raise SystemExit(f"shard counts {list(layouts)} must divide one another")
    folders = {s: root / f"shards_{s}" for s in layouts}
    shard_bytes = 0.0
    writing = 0.0
    for i in range(coarsest):
        traj = make_trajectory(chunk, length, n, seed=1000 + i, first_episode=i * chunk)
        shard_bytes = float(sum(a.nbytes for a in traj.to_dict().values()))
        for s in layouts:
            split = None if per_shard[s] == chunk else per_shard[s]
            start = time.perf_counter()
            write_shards(traj, folders[s], prefix=f"part{i:04d}", episodes_per_shard=split)
            writing += time.perf_counter() - start
        progress(f"shards: wrote part {i + 1}/{coarsest} of every layout")
    return folders, shard_bytes, writing


def disk_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.iterdir()) / 2**20


# ----------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=1_000_000, help="steps of the timed data")
    p.add_argument("--episode", type=int, default=1000, help="steps per episode")
    p.add_argument("--agents", type=int, default=5)
    p.add_argument("--permutations", type=int, default=1000, help="B, permutations per test")
    p.add_argument(
        "--scipy-points",
        default="10,100",
        help="numbers of permutations SciPy is timed at (then extrapolated to B)",
    )
    p.add_argument(
        "--scipy-steps", type=int, default=100_000, help="pairs SciPy is timed on (then scaled)"
    )
    p.add_argument("--stream-steps", type=int, default=10_000_000, help="steps in the shards")
    p.add_argument("--shards", default="10,40", help="numbers of shards of the two layouts")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="small sizes (smoke run, seconds)")
    p.add_argument("--child-memory", help=argparse.SUPPRESS)
    p.add_argument("--child-warmup", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child_memory:
        return child_memory(args.child_memory, args.child_warmup, args.permutations)
    if args.quick:
        args.steps, args.episode, args.permutations = 20_000, 100, 200
        args.scipy_points, args.scipy_steps, args.repeats = "10,200", 10_000, 1
        args.stream_steps, args.shards = 40_000, "2,8"
    n, length, b = args.agents, args.episode, args.permutations
    points = sorted(int(v) for v in args.scipy_points.split(","))
    layouts = sorted(int(v) for v in args.shards.split(","))
    if n < 3 or args.steps % length or len(points) != 2 or len(layouts) != 2:
        raise SystemExit("need >= 3 agents, whole episodes, two SciPy points and two layouts")

    # ------------------------------------------------------------------ (a)-(d) timings
    progress(f"building {args.steps} steps x {n} agents")
    traj = make_trajectory(args.steps // length, length, n, seed=0)
    small = make_trajectory(max(1, 20_000 // length), length, n, seed=1)
    x, y = one_pair(traj)
    ns = min(args.scipy_steps, x.size)
    xs, ys = x[:ns], y[:ns]
    summarize(small)  # warm-up (imports, first calls)
    analyze(summarize(small), n_bootstrap=0, n_permutations=b, rng=0)
    permutation_test(x[:1000], y[:1000], n_resamples=b, rng=0)

    times: dict[str, list[float]] = {k: [] for k in ("a", "b", "c", "d1", "d2")}
    summary = result = ours = sub = None
    for r in range(args.repeats):
        progress(f"repeat {r + 1}/{args.repeats}: summarize, analyze, one test")
        start = time.perf_counter()
        summary = summarize(traj)
        times["a"].append(time.perf_counter() - start)
        start = time.perf_counter()
        result = analyze(summary, n_bootstrap=0, n_permutations=b, rng=0)
        times["b"].append(time.perf_counter() - start)
        start = time.perf_counter()
        ours = permutation_test(x, y, n_resamples=b, rng=0)
        times["c"].append(time.perf_counter() - start)
        progress(f"repeat {r + 1}/{args.repeats}: SciPy, {ns} pairs, {points} permutations")
        times["d1"].append(timed(lambda: run_scipy(xs, ys, points[0], vectorized=True)))
        start = time.perf_counter()
        sub = run_scipy(xs, ys, points[1], vectorized=True)
        times["d2"].append(time.perf_counter() - start)
    assert summary is not None
    assert result is not None
    assert ours is not None
    assert sub is not None
    progress("SciPy vectorized=False, once")
    novec = [timed(lambda k=k: run_scipy(xs, ys, k, vectorized=False)) for k in points]
    progress(f"SciPy, all {x.size} pairs, one permutation, once")
    start = time.perf_counter()
    ref = run_scipy(x, y, 1, vectorized=True)
    t_call = time.perf_counter() - start

    med = {k: statistics.median(v) for k, v in times.items()}
    scale = x.size / ns
    per_perm = (med["d2"] - med["d1"]) / (points[1] - points[0]) * scale
    novec_per = (novec[1] - novec[0]) / (points[1] - points[0]) * scale
    t_scipy_perms = per_perm * b  # the goal's reference: permutations only
    t_scipy = max(t_call - per_perm, 0.0) + t_scipy_perms

    coord, sc, infl = result.coordination, result.speaker_consistency, result.influence
    assert sc is not None
    assert infl is not None
    n_tests = (
        int(coord["p_value"].notna().sum())
        + int(sc.loc[sc["definition"] == "mi", "p_value"].notna().sum())
        + int(infl["observational_p_value"].notna().sum())
    )
    # SciPy's cost per permutation is linear in the samples of a test (high-influence subsets
    # are smaller); its fixed cost is left out (a lower bound for SciPy on the whole analysis).
    samples = (
        coord.loc[coord["p_value"].notna(), "n"].sum()
        + sc.loc[(sc["definition"] == "mi") & sc["p_value"].notna(), "n"].sum()
        + infl.loc[infl["observational_p_value"].notna(), "n"].sum()
    )
    t_scipy_all = per_perm * b * float(samples) / x.size
    row = coord.query("kind == 'symbol/action' and subset == 'all' and k == 0 and j == 1")
    value = float(row["value"].iloc[0])

    # ------------------------------------------------------------------ (e) memory
    memory: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench_analysis_") as tmp:
        root = Path(tmp)
        warm = root / "warmup"
        write_shards(make_trajectory(4, 50, n, seed=2), warm)
        progress(f"writing {args.stream_steps} steps as {layouts[0]} and {layouts[1]} shards")
        folders, shard_bytes, writing = write_layouts(root, args.stream_steps, length, n, layouts)
        for s in layouts:
            progress(f"memory: {s} shards (first shard alone, then all), in a subprocess")
            memory[s] = {
                **measure_memory(folders[s], warm, b),
                "disk": disk_mb(folders[s]),
                "steps": args.stream_steps // s,
                "ram": shard_bytes * min(layouts) / s / 2**20,
            }

    # ------------------------------------------------------------------ report
    print(
        f"analysis of saved trajectories: T={args.steps} steps x N={n} agents "
        f"({args.steps // length} episodes of {length}), A={NUM_ACTIONS} actions, "
        f"M={NUM_SYMBOLS} symbols, B={b} permutations per test; numpy {np.__version__}, "
        f"scipy {scipy.__version__}; CPU time, median of {args.repeats} interleaved runs after a "
        f"warm-up; load average {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)"
    )
    print(
        f"agreement, plug-in MI of speaker symbol (t) / agent_1 action (t+1): coordination "
        f"table {value:.9f}, permutation_test {ours.statistic:.9f}, SciPy "
        f"{float(ref.statistic):.9f}; p-value {ours.pvalue:.4f} (B={b}); SciPy on {ns} pairs "
        f"with {points[1]} permutations {float(sub.pvalue):.4f}"
    )
    rows = [
        ("(a) summarize (one streaming pass, count tables)", med["a"]),
        (f"(b) analyze(summary): {n_tests} permutation tests, no intervals", med["b"]),
        ("    (a) + (b) = analyze(trajectory) without intervals", med["a"] + med["b"]),
        (f"    (b) per test ({n_tests} tests)", med["b"] / n_tests),
        (f"(c) permutation_test, one pair from its {x.size} raw labels", med["c"]),
        (f"(d) SciPy on {ns} pairs, {points[0]} permutations, vectorized=True", med["d1"]),
        (f"    same, {points[1]} permutations", med["d2"]),
        ("    SciPy per permutation, all pairs, vectorized=True  [EXTRAPOLATED*]", per_perm),
        ("    SciPy per permutation, all pairs, vectorized=False [EXTRAPOLATED*, once]", novec_per),
        ("    SciPy fixed cost: one call on all pairs, 1 permutation [once]", t_call),
        (f"    SciPy, one pair, B={b}, permutations only [EXTRAPOLATED*]", t_scipy_perms),
        (f"    SciPy, one pair, B={b}, with the fixed cost [EXTRAPOLATED*]", t_scipy),
        (
            f"    SciPy, the {n_tests} tests at their sizes, permutations only [EXTRAPOLATED*]",
            t_scipy_all,
        ),
    ]
    width = max(len(name) for name, _ in rows)
    for name, sec in rows:
        print(f"{name:<{width}s} {sec * 1e3:12.1f} ms")
    print(
        f"* EXTRAPOLATED: SciPy timed on the first {ns} of the {x.size} pairs with {points[0]} "
        f"and {points[1]} permutations; the slope scaled linearly to {x.size} pairs and B={b}"
    )
    goal = "   (goal >= 10x)"
    speedups = [
        (
            "speed-up, one test, (d) / (c), SciPy's permutations only",
            t_scipy_perms / med["c"],
            goal,
        ),
        ("  same, with SciPy's fixed cost per call", t_scipy / med["c"], ""),
        ("speed-up, all tests, SciPy / ((a) + (b))", t_scipy_all / (med["a"] + med["b"]), ""),
    ]
    load = os.getloadavg()[0]
    for name, ratio, note in speedups:
        print(f"{name:<{width}s} {ratio:12.0f}x{note}   (load {load:.2f})")

    print(
        f"streaming {args.stream_steps} steps from Parquet shards (write_shards; {writing:.0f} s "
        f"to write both layouts): analyze(folder, n_bootstrap=0, n_permutations={b}) in a fresh "
        f"subprocess; peak RSS (ru_maxrss), MB; 'before' = after imports and a warm-up"
    )
    print(
        f"{'layout':<12s}{'steps/shard':>12s}{'shard in RAM':>14s}{'on disk':>9s}{'before':>9s}"
        f"{'1st shard alone':>17s}{'all shards':>12s}{'wall (all)':>12s}"
    )
    for s in layouts:
        m = memory[s]
        print(
            f"{f'{s} shards':<12s}{m['steps']:>12.0f}{m['ram']:>14.0f}{m['disk']:>9.0f}"
            f"{m['before']:>9.0f}{m['first']:>17.0f}{m['all']:>12.0f}{m['seconds']:>11.1f}s"
        )
    lo, hi = layouts
    peak = {s: memory[s]["all"] for s in layouts}
    above = {s: memory[s]["all"] - memory[s]["before"] for s in layouts}
    first = {s: memory[s]["first"] - memory[s]["before"] for s in layouts}
    print(
        f"peak, {hi} shards / {lo} shards: {peak[hi] / peak[lo]:.2f}; above 'before': "
        f"{above[hi]:.0f} / {above[lo]:.0f} MB = {above[hi] / max(above[lo], 1.0):.2f}   "
        f"(goal <= 1: no growth with the number of shards)"
    )
    print(
        "above 'before', all shards / first shard alone: "
        + ", ".join(
            f"{s} shards {above[s]:.0f} / {first[s]:.0f} MB = {above[s] / max(first[s], 1.0):.2f}"
            for s in layouts
        )
        + "   (goal ~1: one shard's worth)"
    )
    print(
        "peak above 'before' / the largest shard's in-RAM size: "
        + ", ".join(
            f"{s} shards {above[s]:.0f} / {memory[s]['ram']:.0f} MB = "
            f"{above[s] / memory[s]['ram']:.2f}"
            for s in layouts
        )
        + f"   (goal <= 2; load {os.getloadavg()[0]:.2f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
