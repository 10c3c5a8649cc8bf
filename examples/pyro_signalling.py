r"""A two-agent signalling game written as a Pyro program: influence and CIC, with exact answers.

A speaker sees a state s (uniform over M values) and sends a symbol m, the state itself with
probability p and any other symbol otherwise; a listener sees only m and takes action a = m with
probability q, any other action otherwise. The game is a Pyro program;
:class:`causal_influence.PyroModel` answers the counterfactual questions exactly, intervening
on the symbol with ``pyro.poutine.do`` and enumerating the latent state, and
:func:`causal_influence.pairwise_influence` turns them into the per-step influence of the
speaker's symbol on the listener's action (Jaques et al. 2019, Eq. 1). Its counterfactual
tables also give the causal influence of communication (CIC, Lowe et al. 2019) through
:func:`causal_influence.causal_influence_of_communication`. Each value is printed beside its
closed form:

- the state unobserved (the speaker's policy is the marginal p(m), uniform): every step's
  influence and the CIC equal :math:`\ln M + q \ln q + (1-q) \ln\frac{1-q}{M-1}`;
- the state observed (the speaker's policy in context s is p(m | s), the conditioning of the
  paper): the CIC is :math:`p\, D_{=} + (1-p)\, D_{\ne}` (the KL divergences of the listener's
  row under the true and another symbol from the context's marginal; ``closed_form_given_state``)
  and the mean influence over the sampled steps estimates it.

Run ``python examples/pyro_signalling.py --help``; ``--tiny`` is a seconds-long smoke run.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence

import pyro
import pyro.distributions as dist
import torch

from causal_influence import PyroModel, causal_influence_of_communication, pairwise_influence


def channel(num: int, keep: float) -> torch.Tensor:
    """M x M table: the input with probability ``keep``, any other value otherwise."""
    other = (1.0 - keep) / (num - 1)
    return torch.full((num, num), other) + (keep - other) * torch.eye(num)


def game(num_steps: int, speaker: torch.Tensor, listener: torch.Tensor) -> None:
    """The signalling game, vectorised over steps."""
    num = speaker.shape[0]
    with pyro.plate("steps", num_steps):
        state = pyro.sample("state", dist.Categorical(torch.ones(num) / num))
        symbol = pyro.sample("symbol", dist.Categorical(speaker[state]))
        pyro.sample("action", dist.Categorical(listener[symbol]))


def closed_form_unobserved(q: float, num: int) -> float:
    """ln M - H(listener row): the listener's row against a uniform marginal."""
    return math.log(num) + q * math.log(q) + (1 - q) * math.log((1 - q) / (num - 1))


def closed_form_given_state(p: float, q: float, num: int) -> float:
    """CIC in context s: sum_m p(m|s) KL(L[m] || sum_c p(c|s) L[c]), symmetric tables."""
    lo = (1 - q) / (num - 1)  # listener: probability of each wrong action
    r_s = p * q + (1 - p) * lo  # marginal of the action a = s
    r_o = (1 - r_s) / (num - 1)  # ... and of each other action
    kl_true = q * math.log(q / r_s) + (1 - q) * math.log(lo / r_o)
    kl_other = q * math.log(q / r_o) + lo * math.log(lo / r_s) + (num - 2) * lo * math.log(lo / r_o)
    return p * kl_true + (1 - p) * kl_other


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", type=int, default=4, help="M, states = symbols = actions")
    ap.add_argument("--p", type=float, default=0.8, help="speaker says the state w.p. p")
    ap.add_argument("--q", type=float, default=0.9, help="listener follows the symbol w.p. q")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tiny", action="store_true", help="200 steps")
    args = ap.parse_args(argv)
    steps, num = (200 if args.tiny else args.steps), args.symbols
    speaker, listener = channel(num, args.p), channel(num, args.q)

    # Play the game once to get realised states, symbols and actions.
    pyro.set_rng_seed(args.seed)
    trace = pyro.poutine.trace(game).get_trace(steps, speaker, listener)
    played = {name: trace.nodes[name]["value"] for name in ("state", "symbol", "action")}
    sites = ["symbol", "action"]  # agent 0 speaks, agent 1 acts

    print(f"signalling game: M = {num}, p = {args.p}, q = {args.q}, {steps} steps (nats)")
    for label, observed, exact in (
        ("state unobserved", ("symbol", "action"), closed_form_unobserved(args.q, num)),
        (
            "state observed",
            ("state", "symbol", "action"),
            closed_form_given_state(args.p, args.q, num),
        ),
    ):
        model = PyroModel(
            game,
            sites,
            observed={name: played[name] for name in observed},
            args=(steps, speaker, listener),
        )
        result = pairwise_influence(model, alignment="same_step", influencers=[0], influencees=[1])
        influence = float(result.influence[:, 0, 1].mean())
        p_action_do_symbol = model.counterfactual_logits([0], [1])[:, 0, 0].exp()  # (T, M, A)
        p_symbol = model.influencer_logits([0])[:, 0].softmax(-1)  # (T, M)
        cic = float(causal_influence_of_communication(p_action_do_symbol, p_symbol))
        print(f"{label}:")
        print(f"  influence of the symbol on the action, mean over steps: {influence:.4f}")
        print(f"  CIC, speaker -> listener: {cic:.4f}   exact: {exact:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
