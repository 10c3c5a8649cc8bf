"""MPE2 ``simple_speaker_listener`` with given policies: influence from the policies, to a report.

The speaker sees the colour of the goal landmark (3 numbers) and says one of 3 symbols; the
listener sees its velocity, where the three landmarks are and the symbol said one step earlier
(11 numbers) and moves (5 actions). Both policies are given, not learnt:

- the speaker names the goal landmark with probability ``--honesty`` (else a symbol at random);
- the listener heads for the landmark it was told (softmax over its 5 moves of how well each
  points at it), and moves at random before it has heard anything.

Each episode is run in the real env; at every step the listener's policy is also re-run with
the symbol it heard replaced by each of the 3 symbols (its counterfactual logits), which gives
the speaker's influence on the listener exactly
(:func:`causal_influence.rewards.credited_influence`, ``alignment="next_step"``: the symbol
of step t acts on the move of step t + 1 and is credited to t). The agents differ in
observation and action sizes; the speaker's 3 logits are padded with -inf to the listener's 5.
The episodes go through :func:`analysis.stats.analyze` (bootstrap intervals over episodes,
permutation tests) to an HTML report and an influence graph, whose one edge (significant and
at least 0.01 nats/step) is speaker -> listener.

Run ``python examples/mpe_speaker_listener.py --help`` (needs the ``mpe`` extra:
``pip install 'causal-influence[mpe]'``); ``--tiny`` is a seconds-long smoke run.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from mpe2 import simple_speaker_listener_v4

from analysis.graph import influence_graph
from analysis.report import write_report
from analysis.stats import analyze
from causal_influence import InfluenceSpec, Trajectory, concat, stored_counterfactuals
from causal_influence.rewards import credited_influence

SPEAKER, LISTENER = "speaker_0", "listener_0"
M, A = 3, 5  # symbols, listener moves: no-op, left, right, down, up
MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]], dtype=float)


def speaker_logits(obs: np.ndarray, *, honesty: float) -> np.ndarray:
    """Log-probabilities of the 3 symbols: the goal (argmax of its colour) w.p. ``honesty``."""
    probs = np.full(M, (1 - honesty) / M)
    probs[int(np.argmax(obs))] += honesty
    return np.log(probs)


def listener_logits(obs: np.ndarray, *, sharpness: float = 4.0) -> np.ndarray:
    """Logits of the 5 moves from an 11-number observation (symbol heard: ``obs[8:11]``)."""
    heard = obs[8:11]
    if not heard.any():  # nothing heard yet: uniform
        return np.zeros(A)
    target = obs[2 + 2 * int(np.argmax(heard)) : 4 + 2 * int(np.argmax(heard))]  # relative
    direction = target / max(float(np.linalg.norm(target)), 1e-8)
    return sharpness * MOVES @ direction  # moves towards the landmark score highest


def counterfactual_listener(obs: np.ndarray) -> np.ndarray:
    """(3, 5): the listener's logits had it heard each symbol c instead."""
    out = np.empty((M, A))
    for c in range(M):
        alt = obs.copy()
        alt[8:11] = np.eye(M)[c]
        out[c] = listener_logits(alt)
    return out


def run_episode(seed: int, *, steps: int, honesty: float) -> Trajectory:
    """One episode of the real env with the given policies, as a Trajectory."""
    rng = np.random.default_rng(seed)
    env = simple_speaker_listener_v4.parallel_env(max_cycles=steps)
    obs, _ = env.reset(seed=seed)
    logits, actions, rewards, cf = [], [], [], []
    while env.agents:
        s_logits = speaker_logits(obs[SPEAKER], honesty=honesty)
        l_logits = listener_logits(obs[LISTENER])
        said = int(rng.choice(M, p=np.exp(s_logits)))
        move = int(rng.choice(A, p=np.exp(l_logits - np.logaddexp.reduce(l_logits))))
        step_logits = np.full((2, A), -np.inf)
        step_logits[0, :M], step_logits[1] = s_logits, l_logits
        step_cf = np.zeros((2, 2, A, A))  # [k, j, c, :]: j's logits had k's value been c
        step_cf[0, 1, :M] = counterfactual_listener(obs[LISTENER])
        obs, reward, _, _, _ = env.step({SPEAKER: said, LISTENER: move})
        logits.append(step_logits)
        actions.append([said, move])
        rewards.append([reward[SPEAKER], reward[LISTENER]])
        cf.append(step_cf)
    env.close()
    logits_a, actions_a, cf_a = np.array(logits), np.array(actions), np.array(cf)
    influence = credited_influence(cf_a, logits_a, actions_a, alignment="next_step")
    return Trajectory(
        actions_a,
        np.array(rewards),
        logits=logits_a,
        influence=influence,
        # row t: the listener's policy at t + 1 under each message the speaker could have said
        counterfactual_logits=stored_counterfactuals(cf_a, alignment="next_step"),
        influence_spec=InfluenceSpec(alignment="next_step"),
        num_actions=A,
        agent_ids=(SPEAKER, LISTENER),
        env_name="mpe2_simple_speaker_listener_v4",
        episode_ids=np.full(len(actions_a), seed),
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("mpe_speaker_listener"))
    p.add_argument("--honesty", type=float, default=0.9, help="P(speaker names the goal)")
    p.add_argument("--tiny", action="store_true", help="few short episodes, few resamples")
    args = p.parse_args(argv)
    episodes, steps, resamples = (12, 15, 200) if args.tiny else (60, 25, 1000)
    args.out.mkdir(parents=True, exist_ok=True)

    traj = concat([run_episode(s, steps=steps, honesty=args.honesty) for s in range(episodes)])
    print(f"recorded {episodes} episodes of {steps} steps: {traj}")
    mean = traj.influence.mean(axis=0)
    print(f"mean influence speaker -> listener: {mean[0, 1]:.3f} nats/step")
    print(f"mean influence listener -> speaker: {mean[1, 0]:.3f} nats/step")

    result = analyze(traj, n_bootstrap=resamples, n_permutations=resamples, rng=0)
    report = write_report(
        result, args.out, title="MPE2 speaker/listener", source="mpe2", overwrite=True
    )
    # An edge needs the influence interval over episodes above the minimum effect (the
    # counterfactual influence itself, not a test of the actions' dependence, which the goal
    # they share creates in both directions).
    graph = influence_graph(result.influence, nodes=list(traj.metadata.agent_ids))
    print(f"report: {report} (graph: influence_graph.graphml / .json beside it)")
    for k, j, w in sorted(graph.edges(data="weight"), key=lambda e: -e[2]):
        row = result.influence.query("influencer == @k and influencee == @j").iloc[0]
        print(
            f"{k} -> {j}: {w:.3f} nats/step [{row.influence_ci_low:.3f}, "
            f"{row.influence_ci_high:.3f}]"
        )
    if graph.number_of_edges() == 0:
        print("no influence above the minimum effect")
    for row in result.conclusions().itertuples():
        print(f"conclusion {row.influencer} -> {row.influencee}: {row.conclusion}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
