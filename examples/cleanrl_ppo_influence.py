"""CleanRL-style PPO on Harvest with the social-influence reward added in one call.

A single-file PPO loop in the manner of CleanRL (and of PettingZoo's CleanRL tutorial): one
shared actor-critic for all agents, time-major rollout buffers, a GAE loop, clipped PPO. The
only addition for social influence (Jaques et al. 2019, basic centralised setting) is marked
``# <-- influence``:

1. agent 0 acts first and the other agents' policies read its action (one-hot input), so while
   acting the network also returns every other agent's logits under each of agent 0's possible
   actions: the counterfactual logits ``cf[0, j, c]``;
2. after the rollout, ``causal_influence.influence_reward`` turns the buffers into agent 0's
   influence reward (nats), which is added to ``rb_rewards`` before the advantages.

Run ``python examples/cleanrl_ppo_influence.py --help``; ``--tiny`` is a seconds-long smoke run.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from causal_influence import influence_reward
from envs import harvest


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--num-agents", type=int, default=3)
    p.add_argument("--num-steps", type=int, default=256, help="rollout length per update")
    p.add_argument("--num-updates", type=int, default=40)
    p.add_argument("--episode-length", type=int, default=250)
    p.add_argument("--influence-coef", type=float, default=0.1, help="beta (0 = plain PPO)")
    p.add_argument("--lr", type=float, default=2.5e-4)
    p.add_argument("--gamma", type=float, default=0.99)
    p.add_argument("--gae-lambda", type=float, default=0.95)
    p.add_argument("--clip-coef", type=float, default=0.2)
    p.add_argument("--ent-coef", type=float, default=0.01)
    p.add_argument("--vf-coef", type=float, default=0.5)
    p.add_argument("--update-epochs", type=int, default=4)
    p.add_argument("--num-minibatches", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-threads", type=int, default=1, help="torch threads (1 suits small nets)")
    p.add_argument("--tiny", action="store_true", help="a few seconds: 2 short updates")
    args = p.parse_args(argv)
    if args.tiny:
        args.num_steps, args.num_updates, args.episode_length = 24, 2, 16
        args.update_epochs, args.num_minibatches = 1, 2
    return args


class Agent(nn.Module):
    """Shared actor-critic. Input: own view, own id (one-hot), agent 0's action (one-hot; zeros
    for agent 0 itself, which acts first)."""

    def __init__(self, in_dim: int, num_actions: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(in_dim, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh())
        self.actor = nn.Linear(64, num_actions)
        self.critic = nn.Linear(64, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.actor(h), self.critic(h).squeeze(-1)


def batchify(obs: dict, agents: list[str]) -> torch.Tensor:
    return torch.as_tensor(np.stack([obs[a]["view"].ravel() for a in agents]), dtype=torch.float32)


@torch.no_grad()
def act(agent: Agent, views: torch.Tensor, num_actions: int, gen: torch.Generator) -> dict:
    """Agent 0 first, then everyone else seeing its action; with the counterfactual logits."""
    n = views.shape[0]
    ids = torch.eye(n)
    logits0, value0 = agent(torch.cat([views[0], ids[0], torch.zeros(num_actions)]))
    a0 = torch.multinomial(logits0.softmax(-1), 1, generator=gen)[0]
    # Agents 1..N-1 under every value c of agent 0's action, in one batch: (N-1, A, in_dim).
    rows = (n - 1, num_actions, -1)
    x_cf = torch.cat(
        [
            views[1:, None].expand(rows),
            ids[1:, None].expand(rows),
            torch.eye(num_actions).expand(rows),
        ],
        dim=-1,
    )
    cf_logits, cf_values = agent(x_cf)  # (N-1, A, A), (N-1, A)
    logits = torch.cat([logits0[None], cf_logits[:, a0]])  # the real inputs are row c = a0
    values = torch.cat([value0[None], cf_values[:, a0]])
    actions = torch.multinomial(logits.softmax(-1), 1, generator=gen)[:, 0]
    actions[0] = a0
    lead = torch.zeros(n, num_actions)
    lead[1:, a0] = 1.0
    cf = torch.zeros(n, n, num_actions, num_actions)  # [k, j, c, :]; only k = 0 influences
    cf[0, 1:] = cf_logits
    return {
        "x": torch.cat([views, ids, lead], dim=-1),
        "actions": actions,
        "logp": logits.log_softmax(-1).gather(-1, actions[:, None])[:, 0],
        "logits": logits,
        "values": values,
        "cf": cf,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.num_threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    env = harvest.parallel_env(
        map="small_harvest",
        num_agents=args.num_agents,
        obs_type="symbolic",
        view_radius=2,
        max_cycles=args.episode_length,
    )
    agents = env.possible_agents
    n, num_actions = len(agents), int(env.action_space(agents[0]).n)
    obs, _ = env.reset(seed=args.seed)
    views = batchify(obs, agents)
    agent = Agent(views.shape[1] + n + num_actions, num_actions)
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.lr, eps=1e-5)

    t_len = args.num_steps
    rb_x = torch.zeros(t_len, n, views.shape[1] + n + num_actions)
    rb_actions = torch.zeros(t_len, n, dtype=torch.long)
    rb_logprobs = torch.zeros(t_len, n)
    rb_rewards = torch.zeros(t_len, n)
    rb_dones = torch.zeros(t_len, dtype=torch.bool)
    rb_values = torch.zeros(t_len, n)
    rb_logits = torch.zeros(t_len, n, num_actions)  # <-- influence
    rb_cf = torch.zeros(t_len, n, n, num_actions, num_actions)  # <-- influence

    out = act(agent, views, num_actions, gen)
    start = time.perf_counter()
    for update in range(1, args.num_updates + 1):
        for step in range(t_len):
            rb_x[step], rb_actions[step], rb_logprobs[step] = out["x"], out["actions"], out["logp"]
            rb_values[step] = out["values"]
            rb_logits[step], rb_cf[step] = out["logits"], out["cf"]  # <-- influence
            actions = {a: int(out["actions"][i]) for i, a in enumerate(agents)}
            obs, rewards, terms, truncs, _ = env.step(actions)
            rb_rewards[step] = torch.tensor([rewards[a] for a in agents])
            rb_dones[step] = all(terms[a] or truncs[a] for a in agents)
            if rb_dones[step]:
                obs, _ = env.reset()
            out = act(agent, batchify(obs, agents), num_actions, gen)

        extrinsic = rb_rewards.clone()
        influence = influence_reward(  # <-- influence: (T, N), credited to the acting step
            rb_cf, rb_logits, rb_actions, alignment="same_step", influencers=[0], dones=rb_dones
        )
        rb_rewards += args.influence_coef * influence  # <-- influence

        with torch.no_grad():  # GAE, as in CleanRL (rb_dones[t]: step t ended its episode)
            advantages = torch.zeros_like(rb_rewards)
            last_gae = torch.zeros(n)
            for t in reversed(range(t_len)):
                next_values = out["values"] if t == t_len - 1 else rb_values[t + 1]
                nonterminal = 1.0 - rb_dones[t].float()
                delta = rb_rewards[t] + args.gamma * next_values * nonterminal - rb_values[t]
                last_gae = delta + args.gamma * args.gae_lambda * nonterminal * last_gae
                advantages[t] = last_gae
            returns = advantages + rb_values

        b_x, b_actions = rb_x.reshape(t_len * n, -1), rb_actions.reshape(-1)
        b_logprobs, b_adv = rb_logprobs.reshape(-1), advantages.reshape(-1)
        b_returns = returns.reshape(-1)
        batch, minibatch = t_len * n, (t_len * n) // args.num_minibatches
        for _ in range(args.update_epochs):
            order = torch.randperm(batch, generator=gen)
            for begin in range(0, batch, minibatch):
                idx = order[begin : begin + minibatch]
                logits, value = agent(b_x[idx])
                logp = logits.log_softmax(-1)
                ratio = (logp.gather(-1, b_actions[idx, None])[:, 0] - b_logprobs[idx]).exp()
                adv = (b_adv[idx] - b_adv[idx].mean()) / (b_adv[idx].std() + 1e-8)
                clipped = ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef)
                pg_loss = torch.max(-adv * ratio, -adv * clipped).mean()
                v_loss = 0.5 * ((value - b_returns[idx]) ** 2).mean()
                entropy = -(logp.exp() * logp).sum(-1).mean()
                loss = pg_loss - args.ent_coef * entropy + args.vf_coef * v_loss
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), 0.5)
                optimizer.step()

        sps = update * t_len / (time.perf_counter() - start)
        print(
            f"update {update:3d}  env steps {update * t_len:6d}  "
            f"extrinsic reward/step {extrinsic.sum(1).mean():.3f}  "
            f"influence of agent_0 {influence[:, 0].mean():.4f} nats/step  SPS {sps:.0f}"
        )
    env.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
