"""Influence between freshly initialised agents on small Harvest, in float64.

Before any training, how much does one agent's action (basic, MOA) or message (comm) move
another agent's policy? With logits layers initialised at column norm 0.01 every policy is
almost uniform and this influence is ~1e-7 nats, far below anything a learner can follow and
of the order of float32 rounding; with the reference's Glorot-scale logits layers it is ~1e-4
to 1e-3. The script builds untrained agents for each setting (``--init glorot`` is what
:class:`agents.networks.MultiAgentNet` does; ``--init normc001`` re-draws every logits layer at
column norm 0.01, the former initialisation), plays one episode in ``--envs`` environments with
every counterfactual evaluated, and prints, per seed and over seeds, the mean influence per
ordered pair (``pair``) and per influencer summed over its influencees (``reward``: the
influence reward before weighting, as the trainer logs it).
Influence comes from :func:`agents.sampler.rollout_influence` (the core's
:func:`causal_influence.credited_influence`) on the rollout's logits cast to float64.

Run ``python examples/fresh_influence.py --help``; ``--tiny`` is a seconds-long smoke run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from agents.config import TrainConfig
from agents.networks import AgentLinear, MultiAgentNet
from agents.sampler import Sampler, rollout_influence
from agents.trainer import make_net
from envs.config import harvest_config
from envs.vector import VectorEnv


def config(args: argparse.Namespace, setting: str, seed: int) -> TrainConfig:
    env = harvest_config(
        map="small_harvest",
        num_agents=args.num_agents,
        obs_type=args.obs_type,
        max_cycles=args.steps,
        num_symbols=args.num_symbols if setting == "comm" else 0,
    )
    return TrainConfig(
        env=env,
        setting=setting,  # type: ignore[arg-type]
        seed=seed,
        num_envs=args.envs,
        rollout_length=args.steps,
        lstm_size=args.lstm_size,
        num_influencers=1,
        num_threads=1,
        tensorboard=False,
    )


def redraw_logits_layers(net: MultiAgentNet, std: float, seed: int) -> None:
    """Re-draw every logits layer (policy, message, MOA) with Gaussian columns of norm ``std``."""
    gen = torch.Generator().manual_seed(seed)
    layers: list[AgentLinear | None] = [net.policy_head, net.message_head, net.moa_head]
    with torch.no_grad():
        for layer in layers:
            if layer is None:
                continue
            w = torch.randn(layer.weight.shape, generator=gen)
            layer.weight.copy_(w * (std / w.pow(2).sum(dim=1, keepdim=True).sqrt()))


def fresh_influence(cfg: TrainConfig, *, init: str) -> tuple[float, float]:
    """Mean influence of untrained agents (nats): per influencer-influencee pair and step, and
    per influencer and step summed over its influencees (the influence reward, what the trainer
    logs as ``influence``)."""
    env = VectorEnv(cfg.env, cfg.num_envs, seed=cfg.seed)
    obs = env.reset(seed=cfg.seed)
    view = tuple(int(s) for s in np.asarray(obs["view"]).shape[2:])
    net = make_net(cfg, (view[0], view[1], view[2]), cfg.env.num_actions)
    if init == "normc001":
        redraw_logits_layers(net, 0.01, cfg.seed)
    sampler = Sampler(env, net, generator=torch.Generator().manual_seed(cfg.seed))
    sampler.reset(cfg.seed)
    with torch.no_grad():
        ro = sampler.collect(cfg.env.max_cycles, ends_episode=True)
    ro.logits = ro.logits.double()
    assert ro.cf_logits is not None
    ro.cf_logits = ro.cf_logits.double()
    if ro.message_logits is not None:
        ro.message_logits = ro.message_logits.double()
    pairwise = rollout_influence(ro, net.spec).numpy()  # (T, B, N, N), float64
    n = cfg.env.num_agents
    if cfg.setting == "basic":  # influencer 0 -> influencees 1 .. N-1, same step
        per_pair = pairwise[:, :, 0, 1:]
        per_influencer = per_pair.sum(-1)
    else:  # every ordered pair, next step: the last step has no next step
        per_pair = pairwise[:-1][:, :, ~np.eye(n, dtype=bool)]
        per_influencer = pairwise[:-1].sum(-1)
    return float(per_pair.mean()), float(per_influencer.mean())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--settings", nargs="*", default=["basic", "comm", "moa"])
    p.add_argument("--inits", nargs="*", choices=["glorot", "normc001"], default=["glorot"])
    p.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    p.add_argument("--num-agents", type=int, default=4)
    p.add_argument("--num-symbols", type=int, default=4)
    p.add_argument("--obs-type", choices=["rgb", "symbolic"], default="rgb")
    p.add_argument("--lstm-size", type=int, default=128)
    p.add_argument("--envs", type=int, default=8)
    p.add_argument("--steps", type=int, default=100, help="episode length")
    p.add_argument("--tiny", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.tiny:
        args.seeds, args.envs, args.steps, args.lstm_size = [0], 2, 10, 16
    rows = []
    for init in args.inits:
        for setting in args.settings:
            for seed in args.seeds:
                pair, reward = fresh_influence(config(args, setting, seed), init=init)
                rows.append(
                    {"init": init, "setting": setting, "seed": seed, "pair": pair, "reward": reward}
                )
    frame = pd.DataFrame(rows)
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    summary = frame.groupby(["init", "setting"], sort=False)[["pair", "reward"]].agg(
        ["mean", "min", "max"]
    )
    print(summary.to_string(float_format=lambda v: f"{v:.3g}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
