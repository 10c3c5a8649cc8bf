"""Pairwise influence of a MOA-sized model: the batched engine against the obvious ways.

Model (per agent, weights shared by the agents, as with parameter sharing): 15x15x3 uint8 view ->
conv 6x3x3 (ReLU) -> FC 32 -> FC 32 (tanh), a policy head on the same features (k's own policy:
the marginal weights), and a MOA LSTM of 128 cells whose input is the FC features and the one-hot
actions of all N agents (own action first), with a linear output of (N-1) x A logits predicting
the others' next actions (docs/envs.md, "Agents trained on these games"). N = 5, A = 9; B = 4
environments of one 1000-step episode each, recorded side by side: arrays of shape
(T, B, N, ...).

Measured in one run, in CPU time of this process, interleaved (one of each in turn), median of
``--repeats`` after a warm-up, with ONE torch thread unless ``--threads`` says otherwise (more
threads make the small sequential operations of the loops slower on a busy machine and
inflate the ratios); the thread count and the load average are printed beside the ratios:

(a) engine: :class:`causal_influence.models.RecurrentTorchModel` with the environment axis +
    :func:`causal_influence.engine.pairwise_influence`, the full (T, B, N, N) influence.
    Includes the encoder, the real LSTM run (T steps batched over the B environments) and the
    divergences. The generic path: the user's step function is re-run for every
    counterfactual, from the stored real state.
(a') the same with the real LSTM states recorded during the rollout (passed as ``states``).
(e) :class:`causal_influence.models.LinearInputModel` on the same network: the MOA's LSTM cell
    and output layer are given as they are; counterfactuals come from the columns of the
    cell's input weights (no step re-run).
(b) obvious: a Python loop over steps, (influencer, influencee) pairs and counterfactual values,
    one model step per triple, as a rollout loop would do it; timed on the first
    ``--obvious-steps`` steps of one environment and scaled linearly to T x B.
(c) rerun: the whole model (conv, FC, LSTM step from the stored real states, output) re-run once
    per counterfactual value, batched over time, environments and agents, then the core's
    ``influence``.
(d) one plain forward pass (encoder + real LSTM run + output); the ideal cost of influence is
    (d) plus K times the action-dependent part (LSTM step from stored states + output layer,
    batched over T x B x N: only the counterfactual rows that are needed), i.e. everything
    else done once.

Goals (issue 15): (a) >= 100x (b) at one thread; (a) <= 1.3 x ideal; (e) a few forward passes.

Run ``python benchmarks/bench_influence.py`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from causal_influence.counterfactual import influence
from causal_influence.engine import pairwise_influence
from causal_influence.models import LinearInputModel, RecurrentTorchModel

State = tuple[torch.Tensor, torch.Tensor]


class MOANet(nn.Module):
    """Conv + FC encoder, policy head and MOA LSTM of the reference architecture."""

    own_first: torch.Tensor

    def __init__(self, num_agents: int, num_actions: int, cell: int = 128) -> None:
        super().__init__()
        self.n, self.a, self.cell_size = num_agents, num_actions, cell
        self.conv = nn.Conv2d(3, 6, 3)
        self.moa_fc = nn.Sequential(
            nn.Linear(6 * 13 * 13, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh()
        )
        self.policy_fc = nn.Sequential(
            nn.Linear(6 * 13 * 13, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh()
        )
        self.policy = nn.Linear(32, num_actions)
        self.lstm = nn.LSTMCell(32 + num_agents * num_actions, cell)
        self.out = nn.Linear(cell, (num_agents - 1) * num_actions)
        ar = torch.arange(num_agents)
        # own_first[k] = [k, the others in index order]
        self.register_buffer(
            "own_first", torch.stack([torch.cat([ar[k : k + 1], ar[ar != k]]) for k in ar])
        )

    def encode(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 views (..., 15, 15, 3) -> MOA features (..., 32), policy logits (..., A)."""
        lead = obs.shape[:-3]
        x = obs.reshape(-1, *obs.shape[-3:]).permute(0, 3, 1, 2).float() / 255.0
        h = torch.relu(self.conv(x)).flatten(1)
        feats = self.moa_fc(h)
        logits = self.policy(self.policy_fc(h))
        return feats.reshape(*lead, 32), logits.reshape(*lead, self.a)

    def step(
        self, feats: torch.Tensor, inputs: torch.Tensor, state: State, agents: torch.Tensor
    ) -> tuple[torch.Tensor, State]:
        """One MOA step: features (B, 32), one-hot actions (B, N, A) in index order, agent ids."""
        b = inputs.shape[0]
        ordered = inputs[torch.arange(b, device=inputs.device)[:, None], self.own_first[agents]]
        h, c = self.lstm(torch.cat([feats, ordered.flatten(1)], -1), state)
        return self.out(h).reshape(b, self.n - 1, self.a), (h, c)


def make_data(t: int, b: int, n: int, a: int, episode: int, gen: torch.Generator) -> dict[str, Any]:
    starts = np.zeros((t, b), bool)
    starts[::episode] = True
    return {
        "obs": torch.randint(0, 256, (t, b, n, 15, 15, 3), generator=gen, dtype=torch.uint8),
        "actions": torch.randint(0, a, (t, b, n), generator=gen),
        "visible": torch.rand(t, b, n, n, generator=gen) < 0.6,
        "starts": starts,
    }


def real_run(net: MOANet, feats: torch.Tensor, onehot: torch.Tensor, starts: np.ndarray) -> State:
    """Incoming LSTM state of every step, env and agent, (T, B, N, 128) each; reset at episode
    starts; T steps batched over the B x N streams."""
    t, b, n = feats.shape[:3]
    zeros = torch.zeros(b * n, net.cell_size)
    h, c = zeros, zeros
    hs, cs = [], []
    agents = torch.arange(n).repeat(b)
    for s in range(t):
        if starts[s].any():
            keep = torch.as_tensor(~starts[s]).repeat_interleave(n)[:, None].float()
            h, c = h * keep, c * keep
        hs.append(h)
        cs.append(c)
        x = onehot[s][:, None].expand(b, n, n, net.a).reshape(b * n, n, net.a)
        _, (h, c) = net.step(feats[s].reshape(b * n, -1), x, (h, c), agents)
    return torch.stack(hs).reshape(t, b, n, -1), torch.stack(cs).reshape(t, b, n, -1)


# ----------------------------------------------------------------------------------------------
# (a) the engine


def run_engine(net: MOANet, data: dict[str, Any], states: State | None = None) -> Any:
    feats, prior = net.encode(data["obs"])
    n = feats.shape[2]
    zeros = torch.zeros(n, net.cell_size)
    model = RecurrentTorchModel(
        net.step,
        feats,
        data["actions"],
        prior_logits=prior,
        initial_state=(zeros, zeros),
        states=states,
        per_influencer=True,
        outputs="others",
        predicts_next_step=True,
        pass_agent=True,
        episode_starts=data["starts"],
    )
    return pairwise_influence(model, alignment="next_step", visible=data["visible"])


def run_linear(net: MOANet, data: dict[str, Any]) -> Any:
    """(e): the same MOA through LinearInputModel (its LSTM cell and output layer as given)."""
    feats, prior = net.encode(data["obs"])
    n = feats.shape[2]
    zeros = torch.zeros(n, net.cell_size)
    model = LinearInputModel(
        net.lstm,
        lambda h: net.out(h).reshape(-1, net.n - 1, net.a),
        feats,
        data["actions"],
        prior_logits=prior,
        initial_state=(zeros, zeros),
        input_order=net.own_first,
        per_influencer=True,
        outputs="others",
        predicts_next_step=True,
        episode_starts=data["starts"],
    )
    return pairwise_influence(model, alignment="next_step", visible=data["visible"])


# ----------------------------------------------------------------------------------------------
# (b) the obvious loop


def run_obvious(net: MOANet, data: dict[str, Any], steps: int, env: int = 0) -> torch.Tensor:
    obs, actions, starts = data["obs"][:, env], data["actions"][:, env], data["starts"][:, env]
    n, a = actions.shape[1], net.a
    out = torch.zeros(steps, n, n)
    zeros = torch.zeros(1, net.cell_size)
    states = [(zeros, zeros) for _ in range(n)]
    for t in range(steps):
        if starts[t]:
            states = [(zeros, zeros) for _ in range(n)]
        feats, logits = net.encode(obs[t])  # (N, 32), (N, A)
        onehot = torch.nn.functional.one_hot(actions[t], a).float()
        last = t + 1 >= len(starts) or starts[t + 1]
        for k in range(n):
            agent = torch.tensor([k])
            if not last:
                pi = torch.softmax(logits[k], -1)
                for j in range(n):
                    if j == k:
                        continue
                    col = j if j < k else j - 1
                    probs = []
                    for c in range(a):
                        x = onehot.clone()
                        x[k] = 0.0
                        x[k, c] = 1.0
                        pred, _ = net.step(feats[k : k + 1], x[None], states[k], agent)
                        probs.append(torch.softmax(pred[0, col], -1))
                    cond = probs[int(actions[t, k])]
                    marginal = sum(pi[c] * probs[c] for c in range(a))
                    out[t, k, j] = (cond * (cond.log() - marginal.log())).sum()  # type: ignore[union-attr]
            _, states[k] = net.step(feats[k : k + 1], onehot[None], states[k], torch.tensor([k]))
    return out


# ----------------------------------------------------------------------------------------------
# (c) re-run the whole model once per counterfactual value


def run_rerun(net: MOANet, data: dict[str, Any]) -> torch.Tensor:
    obs, actions, starts = data["obs"], data["actions"], data["starts"]
    t, b, n = actions.shape
    a = net.a
    feats, prior = net.encode(obs)
    onehot = torch.nn.functional.one_hot(actions, a).float()
    h, c = real_run(net, feats, onehot, starts)
    rows = t * b
    agents = torch.arange(n).repeat(rows)
    per_value = []
    for value in range(a):
        feats_v, _ = net.encode(obs)  # the whole model again
        x = onehot[:, :, None].expand(t, b, n, n, a).clone()  # (T, B, observer k, agent, A)
        x[:, :, torch.arange(n), torch.arange(n)] = torch.nn.functional.one_hot(
            torch.tensor(value), a
        ).float()
        logits, _ = net.step(
            feats_v.reshape(rows * n, -1),
            x.reshape(rows * n, n, a),
            (h.reshape(rows * n, -1), c.reshape(rows * n, -1)),
            agents,
        )
        per_value.append(logits.reshape(t, b, n, n - 1, a))
    cf = torch.stack(per_value, 4)  # (T, B, k, others, K, A)
    slot = torch.tensor([[j if j < k else max(j - 1, 0) for j in range(n)] for k in range(n)])
    cf = cf[:, :, torch.arange(n)[:, None], slot]  # (T, B, k, j, K, A)
    values = influence(cf[:-1], prior[:-1, :, :, None, :], actions[:-1, :, :, None])
    out = torch.zeros(t, b, n, n)
    out[:-1] = values
    valid = torch.as_tensor(np.concatenate([~starts[1:], np.zeros((1, b), bool)]))
    return out * (~torch.eye(n, dtype=torch.bool)) * valid[:, :, None, None]


# ----------------------------------------------------------------------------------------------
# (d) the plain forward pass and the action-dependent part


def run_plain(net: MOANet, data: dict[str, Any]) -> tuple[torch.Tensor, State]:
    feats, _ = net.encode(data["obs"])
    onehot = torch.nn.functional.one_hot(data["actions"], net.a).float()
    h, c = real_run(net, feats, onehot, data["starts"])
    return action_dependent_part(net, feats, onehot, (h, c)), (h, c)


def action_dependent_part(
    net: MOANet, feats: torch.Tensor, onehot: torch.Tensor, state: State
) -> torch.Tensor:
    """LSTM step from stored states + output layer, batched over T x B x N (one value)."""
    t, b, n = feats.shape[:3]
    rows = t * b * n
    x = onehot[:, :, None].expand(t, b, n, n, net.a).reshape(rows, n, net.a)
    logits, _ = net.step(
        feats.reshape(rows, -1),
        x,
        (state[0].reshape(rows, -1), state[1].reshape(rows, -1)),
        torch.arange(n).repeat(t * b),
    )
    return logits


def interleaved_medians(
    fns: dict[str, Callable[[], object]], repeats: int
) -> tuple[dict[str, float], float]:
    """Median CPU time of each function, and the median load average while they ran; one
    warm-up each, then the repeats round-robin so that drifts of the machine affect every
    method alike."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    loads = []
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.process_time()
            fn()
            times[name].append(time.process_time() - start)
        loads.append(os.getloadavg()[0])
    return {name: statistics.median(ts) for name, ts in times.items()}, statistics.median(loads)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--steps", type=int, default=1000, help="T, steps per environment")
    p.add_argument("--envs", type=int, default=4, help="B, environments side by side")
    p.add_argument("--agents", type=int, default=5)
    p.add_argument("--actions", type=int, default=9)
    p.add_argument("--episode", type=int, default=1000)
    p.add_argument("--obvious-steps", type=int, default=32)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    net = MOANet(args.agents, args.actions).eval()
    t, b, n, a = args.steps, args.envs, args.agents, args.actions
    data = make_data(t, b, n, a, args.episode, gen)

    with torch.no_grad():
        # correctness first: the implementations agree
        engine = run_engine(net, data).influence
        linear = run_linear(net, data).influence
        rerun = run_rerun(net, data)
        obvious = run_obvious(net, data, args.obvious_steps)
        diff_rerun = float((engine - rerun).abs().max())
        diff_linear = float((engine - linear).abs().max())
        diff_obvious = float((engine[: args.obvious_steps, 0] - obvious).abs().max())

        feats, _ = net.encode(data["obs"])
        onehot = torch.nn.functional.one_hot(data["actions"], a).float()
        recorded = real_run(net, feats, onehot, data["starts"])
        timings, load = interleaved_medians(
            {
                "engine": lambda: run_engine(net, data),
                "engine_recorded": lambda: run_engine(net, data, recorded),
                "linear": lambda: run_linear(net, data),
                "obvious": lambda: run_obvious(net, data, args.obvious_steps),
                "rerun": lambda: run_rerun(net, data),
                "plain": lambda: run_plain(net, data),
                "step": lambda: action_dependent_part(net, feats, onehot, recorded),
            },
            args.repeats,
        )
    t_engine, t_plain, t_step = timings["engine"], timings["plain"], timings["step"]
    t_linear = timings["linear"]
    t_obvious = timings["obvious"] * t * b / args.obvious_steps
    t_ideal = t_plain + a * t_step

    print(
        f"pairwise influence, MOA-sized model: N={n} agents, A={a} actions, T={t} steps x B={b} "
        f"environments, conv 6x3x3 on 15x15x3, FC 32-32, LSTM 128, torch {torch.__version__}, "
        f"{torch.get_num_threads()} torch thread(s); CPU time, median of {args.repeats} "
        f"interleaved runs after a warm-up; load average {load:.2f} ({os.cpu_count()} cores)"
    )
    print(
        f"agreement: |engine - rerun| max {diff_rerun:.2e}, |engine - linear| max "
        f"{diff_linear:.2e}, |engine - obvious| max {diff_obvious:.2e} (first "
        f"{args.obvious_steps} steps of environment 0)"
    )
    rows = [
        ("(a) engine, generic recurrent adapter (T x B x N x N)", t_engine),
        ("(a') same, real LSTM states recorded in the rollout", timings["engine_recorded"]),
        ("(e) engine, linear-input adapter (same network)", t_linear),
        (f"(b) obvious loop (timed on {args.obvious_steps} steps, scaled)", t_obvious),
        ("(c) rerun whole model per value", timings["rerun"]),
        ("(d) one plain forward pass", t_plain),
        ("    action-dependent part, one value (T x B x N)", t_step),
        (f"    ideal = (d) + {a} x action-dependent part", t_ideal),
    ]
    for name, sec in rows:
        print(f"{name:<58s} {sec * 1e3:10.1f} ms")
    threads = torch.get_num_threads()
    print(
        f"speed-up of (a) over (b):   {t_obvious / t_engine:8.1f}x  (goal >= 100x at 1 thread; "
        f"{threads} thread(s), load {load:.2f})"
    )
    print(f"speed-up of (e) over (b):   {t_obvious / t_linear:8.1f}x  (load {load:.2f})")
    print(f"speed-up of (a) over (c):   {timings['rerun'] / t_engine:8.2f}x  (load {load:.2f})")
    print(f"(a) / ideal:                {t_engine / t_ideal:8.2f}   (goal <= 1.3; load {load:.2f})")
    print(f"(e) / ideal:                {t_linear / t_ideal:8.2f}   (load {load:.2f})")
    print(f"(a) / plain forward:        {t_engine / t_plain:8.2f}   (load {load:.2f})")
    print(
        f"(e) / plain forward:        {t_linear / t_plain:8.2f}   (goal: a few forward passes; "
        f"load {load:.2f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
