"""Does the paper's influence reward help agents communicate? The signalling game, measured.

A speaker sees a target (one of K) each step; a listener is rewarded for acting on the previous
step's target, which only the speaker's message (heard one step later) tells it
(:mod:`envs.signalling`). Conditions, each trained for the same budget over several seeds with
the communication setting of Jaques et al. 2019 (message head beside the action head):

- ``baseline``: influence weight 0 (the message head learns from the shared task reward);
- ``influence``: the paper's influence reward on the messages (marginal over the speaker's own
  message policy) at weight ``--influence-coef``;
- ``control``: influence weight 0 in the control game, where the listener sees the target itself
  (a common cause of message and action; listening is useless);
- ``population``: the influence reward with the marginal over the speaker's *population*
  message policy (``TrainConfig(influence_marginal="population")``): its expectation is the
  mutual information between message and listener action, so uninformative steering earns
  nothing.

Every ``--eval-every`` env steps and at the end, the agents play fresh evaluation episodes
(sampling, as in training) with every counterfactual message evaluated, and the script
measures, with the core's functions (nats):

- task return: raw collective return per episode (maximum ``T + (T - 1) L``), and the
  listener's accuracy (chance 1/K);
- grounded information ``I(m_t; target_t)`` of the speaker's message
  (:func:`causal_influence.grounded_information`);
- instantaneous coordination ``I(m_t; a_{t+1})`` speaker -> listener
  (:func:`causal_influence.instantaneous_coordination`) and the conditional coordination
  ``I(m_t; a_{t+1} | target_t)`` (:func:`causal_influence.conditional_coordination`), which
  is 0 for a common cause;
- interventional responsiveness: the listener's policy at t+1 under every counterfactual
  message, the message set uniformly at random
  (:func:`causal_influence.interventional_responsiveness`);
- the paper's influence of the message actually sent (:func:`causal_influence.influence`, the
  speaker's own message policy as marginal), and the same under the population marginal.

The target each step comes from the recording's context (the observation's ``context``, kept
by the sampler as ``Rollout.context``).
Influence and responsiveness are computed in float64 from the network's counterfactual logits.

Outputs in ``--out``: ``runs.csv`` (one row per condition and seed: final measures, wall time),
``curves.csv`` (every evaluation), ``summary.csv`` and ``summary.md`` (mean and 95 % Student-t
interval over seeds), ``curves.png`` and ``config.json``. ``--tiny`` is a seconds-long smoke run.
Run ``python examples/experiment_signalling.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import causal_influence as ci
from agents.config import TrainConfig
from agents.influence_reward import message_counterfactuals, population_logits
from agents.networks import MultiAgentNet
from agents.sampler import Rollout, Sampler
from agents.trainer import Trainer
from analysis.sweep import learning_curves
from envs.signalling import SignallingConfig
from envs.vector import VectorEnv

CONDITIONS = ("baseline", "influence", "control", "population")
METRICS = {
    "return": "task return (raw, per episode)",
    "listener_accuracy": "listener accuracy",
    "grounded": "grounded I(m; target) (nats)",
    "ic": "IC I(m_t; a_t+1) (nats)",
    "ic_given_target": "I(m_t; a_t+1 | target) (nats)",
    "responsiveness": "responsiveness, uniform do(m) (nats)",
    "influence": "paper influence (nats)",
    "influence_population": "influence, population marginal (nats)",
    "message_entropy": "H(m) (nats)",
}


# ---------------------------------------------------------------------- measures
def measures(ro: Rollout, env: SignallingConfig) -> dict[str, float]:
    """The measures of the module docstring from whole evaluation episodes.

    ``ro`` holds B episodes of T steps (time-major) with the speaker's target at each step in
    its context (``ro.context[:, :, 0]``).
    """
    if ro.context is None:
        raise ValueError("measures: the rollout has no context (the signalling game's targets)")
    t_len, b, _ = ro.actions.shape
    m, k = env.num_symbols, env.num_targets
    listeners = list(range(1, 1 + env.num_listeners))
    msgs = ro.messages.numpy() if ro.messages is not None else np.zeros_like(ro.actions.numpy())
    acts = ro.actions.numpy()
    ext = ro.extrinsic.numpy().astype(np.float64)
    targets = ro.context.numpy()[:, :, 0]  # (T, B): what the speaker is shown

    def by_episode(x: np.ndarray) -> np.ndarray:  # (T, B, ...) -> (B * T, ...)
        return np.swapaxes(x, 0, 1).reshape(b * t_len, *x.shape[2:])

    episode_ids = np.repeat(np.arange(b), t_len)
    speaker_msgs, speaker_targets = by_episode(msgs)[:, 0], by_episode(targets)
    out: dict[str, float] = {
        "return": float(ext.sum(axis=(0, 2)).mean()),
        "listener_accuracy": float(ext[1:, :, 1 : 1 + env.num_listeners].mean()),
        "speaker_accuracy": float(ext[:, :, 0].mean()),
        "grounded": float(
            ci.grounded_information(
                speaker_msgs, speaker_targets, num_symbols=max(m, 1), num_contexts=k
            )[0]
        ),
        "message_entropy": ci.entropy(speaker_msgs),
    }
    common = {"lag": 1, "episode_ids": episode_ids, "num_symbols": max(m, 1), "num_actions": k}
    ic = ci.instantaneous_coordination(by_episode(msgs), by_episode(acts), **common)
    out["ic"] = float(np.mean([ic.matrix[0, j] for j in listeners]))
    # The speaker's target as every agent's context: I(m^0_t; a^j_t+1 | target_t).
    context = np.repeat(speaker_targets[:, None], acts.shape[2], axis=1)
    given = ci.conditional_coordination(
        by_episode(msgs), by_episode(acts), context, num_contexts=k, **common
    )
    out["ic_given_target"] = float(np.mean([given.matrix[0, j] for j in listeners]))
    if ro.cf_logits is None or ro.message_logits is None or m == 0:
        return out
    # Listener j's logits at t + 1 under every message of the speaker at t; the last step of an
    # episode has no next step.
    cf = message_counterfactuals(ro.cf_logits[1:]).double().numpy()[:-1]  # (T-1, B, N, N, M, A)
    own = ro.message_logits[:-1, :, 0].double().numpy()  # (T-1, B, M): the speaker's policy
    pop = population_logits(ro.message_logits.double())[:-1, :, 0].numpy()
    actual = msgs[:-1, :, 0]
    infl, infl_pop, resp = [], [], []
    for j in listeners:
        pair = cf[:, :, 0, j]  # (T-1, B, M, A)
        infl.append(ci.influence(pair, own, actual).mean())
        infl_pop.append(ci.influence(pair, pop, actual).mean())
        resp.append(ci.interventional_responsiveness(pair).mean())
    out["influence"] = float(np.mean(infl))
    out["influence_population"] = float(np.mean(infl_pop))
    out["responsiveness"] = float(np.mean(resp))
    return out


@torch.no_grad()
def evaluate(net: MultiAgentNet, env: SignallingConfig, *, episodes: int, seed: int) -> dict:
    """Play ``episodes`` fresh episodes (sampling) and return :func:`measures`."""
    sampler = Sampler(
        VectorEnv(env, episodes, seed=seed), net, generator=torch.Generator().manual_seed(seed)
    )
    sampler.reset(seed)
    ro = sampler.collect(env.max_cycles, ends_episode=True)
    return measures(ro, env)


# ---------------------------------------------------------------------- training
def condition_config(args: argparse.Namespace, condition: str, seed: int) -> TrainConfig:
    """The TrainConfig of one condition and seed."""
    env = SignallingConfig(
        num_targets=args.num_targets,
        num_symbols=args.num_symbols,
        num_listeners=args.num_listeners,
        num_distractors=args.num_distractors,
        shared_reward=not args.individual_reward,
        max_cycles=args.episode_length,
        listener_sees_target=condition == "control",
    )
    coef = args.influence_coef if condition in ("influence", "population") else 0.0  # 0: baseline
    return TrainConfig(
        env=env,
        setting="comm",
        seed=seed,
        num_envs=args.num_envs,
        rollout_length=args.rollout_length,
        total_env_steps=args.env_steps,
        algorithm=args.algorithm,
        gamma=args.gamma,
        gae_lambda=args.gae_lambda,
        lr=args.lr,
        entropy_coef=args.entropy_coef,
        vf_coef=args.vf_coef,
        message_entropy_coef=args.message_entropy_coef,
        normalize_advantages=not args.no_normalize_advantages,
        conv_kernel=1,
        conv_filters=args.conv_filters,
        fc_hiddens=tuple(args.fc_hiddens),
        lstm_size=args.lstm_size,
        influence_coef=coef,
        influence_marginal="population" if condition == "population" else "policy",
        num_threads=1,
        progress=False,
        tensorboard=False,
    )


def run_one(job: tuple[argparse.Namespace, str, int]) -> tuple[list[dict], dict]:
    """Train one (condition, seed); return its evaluation curve and final row."""
    args, condition, seed = job
    cfg = condition_config(args, condition, seed)
    trainer = Trainer(cfg)
    curve: list[dict] = []
    eval_seed = 1_000_003 * (seed + 1)
    next_eval = 0
    train_seconds = 0.0
    while True:
        if trainer.env_steps >= next_eval or trainer.update_index >= cfg.num_updates:
            row = evaluate(trainer.net, cfg.env, episodes=args.eval_episodes, seed=eval_seed)
            row.update({"condition": condition, "seed": seed, "env_steps": trainer.env_steps})
            curve.append(row)
            next_eval += args.eval_every
        if trainer.update_index >= cfg.num_updates:
            break
        start = time.perf_counter()
        trainer.update()
        train_seconds += time.perf_counter() - start
    final = evaluate(trainer.net, cfg.env, episodes=args.final_episodes, seed=eval_seed + 1)
    final.update(
        {
            "condition": condition,
            "seed": seed,
            "env_steps": trainer.env_steps,
            "train_seconds": train_seconds,
            "train_steps_per_second": trainer.env_steps / max(train_seconds, 1e-9),
        }
    )
    print(
        f"  {condition:10s} seed {seed}: return {final['return']:6.2f}  listener "
        f"{final['listener_accuracy']:.3f}  I(m;g) {final['grounded']:.3f}  IC {final['ic']:.3f}  "
        f"resp {final.get('responsiveness', float('nan')):.3f}  infl "
        f"{final.get('influence', float('nan')):.3g}  ({train_seconds:.0f} s)",
        flush=True,
    )
    return curve, final


def summarize(finals: pd.DataFrame) -> pd.DataFrame:
    """Per condition: seeds, and the mean and 95 % Student-t interval over seeds of each metric
    (the interval of :func:`analysis.sweep.learning_curves`)."""
    conditions = list(dict.fromkeys(finals["condition"]))
    summary = pd.DataFrame({"condition": conditions})
    summary["seeds"] = summary["condition"].map(finals.groupby("condition").size())
    staged = finals.assign(stage="final")
    for metric in METRICS:
        if metric not in finals:
            continue
        stats = learning_curves(staged, metric=metric, x="stage").set_index("condition")
        summary[metric] = summary["condition"].map(stats["mean"])
        summary[f"{metric}_ci_low"] = summary["condition"].map(stats["ci_low"])
        summary[f"{metric}_ci_high"] = summary["condition"].map(stats["ci_high"])
    return summary


def markdown_table(summary: pd.DataFrame) -> str:
    """The summary as a Markdown table: mean [95 % interval] over seeds."""
    metrics = [m for m in METRICS if m in summary]
    head = "| condition | seeds | " + " | ".join(METRICS[m] for m in metrics) + " |"
    rule = "|" + "---|" * (len(metrics) + 2)
    lines = [head, rule]
    for _, row in summary.iterrows():
        cells = [
            f"{row[m]:.3g} [{row[m + '_ci_low']:.3g}, {row[m + '_ci_high']:.3g}]" for m in metrics
        ]
        lines.append(f"| {row['condition']} | {row['seeds']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(curves: pd.DataFrame, path: Path, title: str) -> None:
    """Mean and 95 % t-interval over seeds of the main measures against env steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import EngFormatter

    panels = [
        m
        for m in ("return", "grounded", "ic", "responsiveness", "influence", "ic_given_target")
        if m in curves and curves[m].notna().any()
    ]
    cols = 3
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.3 * cols, 3.3 * rows), squeeze=False)
    for ax, metric in zip(axes.ravel(), panels, strict=False):
        lines = learning_curves(curves, metric=metric)
        for name, part in lines.groupby("condition", sort=False):
            ax.plot(part["env_steps"], part["mean"], label=str(name))
            ax.fill_between(part["env_steps"], part["ci_low"], part["ci_high"], alpha=0.2)
        ax.set_xlabel("env steps")
        ax.xaxis.set_major_formatter(EngFormatter())
        ax.set_title(METRICS[metric], fontsize="medium")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(panels) :]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--conditions", nargs="*", choices=CONDITIONS, default=list(CONDITIONS))
    p.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    p.add_argument("--env-steps", type=int, default=200_000, help="training budget per run")
    p.add_argument("--eval-every", type=int, default=20_000, help="env steps between evals")
    p.add_argument("--eval-episodes", type=int, default=32, help="episodes per curve point")
    p.add_argument("--final-episodes", type=int, default=128, help="episodes of the final eval")
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel (one thread each)")
    p.add_argument("--num-targets", type=int, default=4)
    p.add_argument("--num-symbols", type=int, default=8, help="M (8 = 2K: the robust setting)")
    p.add_argument("--num-listeners", type=int, default=1)
    p.add_argument("--num-distractors", type=int, default=0)
    p.add_argument("--individual-reward", action="store_true", help="no shared reward")
    p.add_argument("--episode-length", type=int, default=50)
    p.add_argument("--num-envs", type=int, default=16)
    p.add_argument("--rollout-length", type=int, default=10)
    p.add_argument("--algorithm", choices=["a2c", "ppo"], default="a2c")
    p.add_argument("--gamma", type=float, default=0.5)
    p.add_argument("--gae-lambda", type=float, default=1.0)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--entropy-coef", type=float, default=0.01)
    p.add_argument("--vf-coef", type=float, default=0.5)
    p.add_argument("--message-entropy-coef", type=float, default=0.01)
    p.add_argument("--no-normalize-advantages", action="store_true")
    p.add_argument("--conv-filters", type=int, default=16)
    p.add_argument("--fc-hiddens", type=int, nargs="*", default=[32])
    p.add_argument("--lstm-size", type=int, default=64)
    p.add_argument("--influence-coef", type=float, default=1.0)
    p.add_argument("--out", default="results/signalling/main")
    p.add_argument("--tiny", action="store_true", help="seconds-long smoke run")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.tiny:
        args.seeds, args.env_steps, args.eval_every = [0, 1], 400, 200
        args.eval_episodes, args.final_episodes, args.episode_length = 4, 4, 10
        args.num_envs, args.rollout_length, args.lstm_size = 4, 5, 8
        args.fc_hiddens, args.conv_filters = [8], 4
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(vars(args), indent=2) + "\n", encoding="utf-8")
    jobs = [(args, c, s) for s in args.seeds for c in args.conditions]
    print(
        f"signalling game K={args.num_targets} M={args.num_symbols}: {len(args.conditions)} "
        f"conditions x {len(args.seeds)} seeds x {args.env_steps} env steps",
        flush=True,
    )
    if args.jobs > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(run_one, jobs))
    else:
        results = [run_one(job) for job in jobs]
    order = {c: i for i, c in enumerate(args.conditions)}
    curves = pd.DataFrame([row for curve, _ in results for row in curve])
    finals = pd.DataFrame([final for _, final in results])
    finals["rank"] = finals["condition"].map(order)
    finals = finals.sort_values(["rank", "seed"], kind="stable").drop(columns="rank")
    first = ["condition", "seed", "env_steps"]
    curves = curves[first + [c for c in curves.columns if c not in first]]
    finals = finals[first + [c for c in finals.columns if c not in first]].reset_index(drop=True)
    summary = summarize(finals)
    curves.to_csv(out / "curves.csv", index=False)
    finals.to_csv(out / "runs.csv", index=False)
    summary.to_csv(out / "summary.csv", index=False)
    table = markdown_table(summary)
    (out / "summary.md").write_text(table + "\n", encoding="utf-8")
    title = (
        f"signalling game, K={args.num_targets} targets, M={args.num_symbols} symbols, "
        f"{args.env_steps} env steps per run"
    )
    plot(curves, out / "curves.png", title)
    print(table)
    print(f"wrote {out}/runs.csv, curves.csv, summary.csv, summary.md, curves.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
