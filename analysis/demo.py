r"""Demo of the analysis layer on synthetic data whose answers are known in closed form.

Three agents play a signalling game for ``episodes`` episodes of ``length`` steps:

- agent_0, the **speaker**, sees a hidden state :math:`s_t` (uniform over S = M = A values),
  acts on it (:math:`a^0_t = s_t`) and sends the symbol :math:`m^0_t = s_t` with probability
  :math:`1 - \varepsilon`, otherwise a uniformly drawn symbol;
- agent_1, the **listener**, plays the speaker's previous symbol :math:`m^0_{t-1}` with
  probability :math:`1 - \delta`, otherwise a uniform action (uniform on the first step);
- agent_2, a **bystander**, acts and babbles uniformly; nobody listens to agents 1 and 2.

Every trajectory stores the policies (logits, message logits), the counterfactual logits of
every influencee under every symbol of every influencer (row t: the influencee's policy at
t + 1), and the pairwise influence computed from them by the core engine. The closed forms
(:func:`expected_values`) are, with :math:`I_n(p) = \ln n + q\ln q + (n-1)\,o\ln o`,
:math:`q = p + (1-p)/n`, :math:`o = (1-p)/n` the MI of a noisy copy:

- speaker consistency (Lowe, MI) of agent_0: :math:`I_M(1-\varepsilon)`;
- speaker consistency (Jaques, normalised) of agent_0: :math:`1 - H(q, o, \dots, o)/\ln M`;
- symbol/action IC 0 -> 1: :math:`I_A(1-\delta)`; action/action IC 0 -> 1:
  :math:`I_A((1-\varepsilon)(1-\delta))`;
- CIC 0 -> 1 (and the expected stored influence): the interventional MI of the listener's
  policy under the speaker's state-dependent symbol policy; 0 for every other pair.

:func:`run` writes the data as Parquet shards, analyses them from disk, writes the HTML report
and prints measured values next to the expected ones (``causal-influence demo``).

Examples
--------
>>> from analysis.demo import expected_values, speaker_listener
>>> traj = speaker_listener(episodes=2, length=50, rng=0)
>>> traj.num_steps, traj.num_agents, traj.fields
(100, 3, ('messages', 'logits', 'message_logits', 'influence', 'counterfactual_logits'))
>>> round(expected_values()["ic_symbol_action"], 6)   # noisy copy, n = 4, p = 0.9
1.037514
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from causal_influence.communication import causal_influence_of_communication
from causal_influence.engine import pairwise_influence
from causal_influence.errors import ConfigError
from causal_influence.models import TabularModel
from causal_influence.trajectory import InfluenceSpec, Trajectory
from causal_influence.validation import next_step_valid, resolve_rng

__all__ = ["expected_values", "run", "speaker_listener"]

SPEAKER, LISTENER, BYSTANDER = 0, 1, 2


def _noisy(p: float, n: int) -> np.ndarray:
    """Channel matrix of a noisy copy: row x = p * e_x + (1 - p) / n."""
    return p * np.eye(n) + (1.0 - p) / n


def _log(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(p)


def _noisy_copy_mi(p: float, n: int) -> float:
    q, o = p + (1 - p) / n, (1 - p) / n
    return math.log(n) + q * math.log(q) + ((n - 1) * o * math.log(o) if o > 0 else 0.0)


def _check(num_symbols: int, noise: float, listener_noise: float) -> None:
    if num_symbols < 2:
        raise ConfigError(f"num_symbols: expected at least 2; got {num_symbols}")
    for name, value in (("noise", noise), ("listener_noise", listener_noise)):
        if not 0 < value <= 1:
            raise ConfigError(f"{name}: expected a probability in (0, 1]; got {value}")


def expected_values(
    *, num_symbols: int = 4, noise: float = 0.2, listener_noise: float = 0.1
) -> dict[str, float]:
    """Closed-form values of the measures for :func:`speaker_listener` (nats).

    Returns
    -------
    dict
        ``sc_mi`` and ``sc_jaques`` (agent_0), ``sc_jaques_literal`` (agent_0, Eq. 8 as
        printed), ``ic_symbol_action`` and ``ic_action_action`` (pair 0 -> 1), ``cic`` (pair
        0 -> 1, also the expected mean influence), ``cic_lowe_compat``.
    """
    _check(num_symbols, noise, listener_noise)
    n = num_symbols
    q, o = (1 - noise) + noise / n, noise / n
    h = -(q * math.log(q) + (n - 1) * o * math.log(o))
    speaker = _noisy(1 - noise, n)  # p(m | s), one context per state s
    listener = np.broadcast_to(_noisy(1 - listener_noise, n), (n, n, n))  # p(a | do(m)), per s
    return {
        "sc_mi": _noisy_copy_mi(1 - noise, n),
        "sc_jaques": 1 - h / math.log(n),
        "sc_jaques_literal": n * (1 - h / math.log(n)),
        "ic_symbol_action": _noisy_copy_mi(1 - listener_noise, n),
        "ic_action_action": _noisy_copy_mi((1 - noise) * (1 - listener_noise), n),
        "cic": float(causal_influence_of_communication(listener, speaker)),
        "cic_lowe_compat": float(
            causal_influence_of_communication(listener, speaker, lowe_compat=True)
        ),
    }


def speaker_listener(
    *,
    episodes: int = 20,
    length: int = 500,
    num_symbols: int = 4,
    noise: float = 0.2,
    listener_noise: float = 0.1,
    rng: Any = None,
) -> Trajectory:
    """Sample the signalling game of the module docstring as one :class:`Trajectory`.

    Parameters
    ----------
    episodes, length : int
        Number of episodes and steps per episode.
    num_symbols : int
        S = M = A, states, symbols and actions.
    noise : float
        :math:`\\varepsilon`, probability that the speaker's symbol is drawn uniformly.
    listener_noise : float
        :math:`\\delta`, probability that the listener acts uniformly.
    rng : int, numpy.random.Generator, torch.Generator or None

    Returns
    -------
    Trajectory
        Fields ``messages``, ``logits``, ``message_logits``, ``influence`` (next-step
        influence of messages, nats) and ``counterfactual_logits`` (T, 3, 3, M, A) in the
        stored next-step layout (row t: the influencees' policy at t + 1; absent, -inf, at
        the last step of each episode); the metadata's ``influence_spec`` says so
        (next-step influence of messages, KL in nats) and ``extra`` holds the noise levels.
        The hidden ``states`` are not stored.
    """
    _check(num_symbols, noise, listener_noise)
    if episodes < 1 or length < 2:
        raise ConfigError(
            f"episodes >= 1 and length >= 2 expected; got episodes={episodes}, length={length}"
        )
    total = episodes * length
    starts = np.zeros(total, dtype=bool)
    starts[::length] = True
    states, messages, actions = _play(
        resolve_rng(rng), starts, num_symbols, noise=noise, listener_noise=listener_noise
    )
    prev = np.roll(messages[:, SPEAKER], 1)
    message_logits, logits, listener_pol = _policies(
        states, prev, starts, num_symbols, noise=noise, listener_noise=listener_noise
    )
    cf = _counterfactual_logits(logits, listener_pol, starts)
    model = TabularModel(
        cf, message_logits, messages, predicts_next_step=True, episode_starts=starts
    )
    influence = np.asarray(pairwise_influence(model, alignment="next_step").influence)
    stored_cf = cf.copy()
    stored_cf[~next_step_valid(starts)] = -np.inf  # no step t + 1 in the episode
    return Trajectory(
        actions=actions,
        rewards=_rewards(states, actions, starts),
        episode_ids=np.repeat(np.arange(episodes), length),
        messages=messages,
        logits=logits,
        message_logits=message_logits,
        influence=influence,
        counterfactual_logits=stored_cf,
        num_actions=num_symbols,
        num_symbols=num_symbols,
        env_name="speaker_listener",
        influence_spec=InfluenceSpec(alignment="next_step", variable="messages", divergence="kl"),
        extra={"noise": noise, "listener_noise": listener_noise},
    )


def _play(
    gen: np.random.Generator,
    starts: np.ndarray,
    n_sym: int,
    *,
    noise: float,
    listener_noise: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hidden states (T,), symbols (T, 3) and actions (T, 3) of the game."""
    total, n_agents = starts.size, 3
    states = gen.integers(0, n_sym, size=total)
    uniform = gen.integers(0, n_sym, size=(total, n_agents, 2))
    coin = gen.random((total, 2))
    messages = uniform[:, :, 0].copy()
    messages[:, SPEAKER] = np.where(coin[:, 0] < 1 - noise, states, uniform[:, SPEAKER, 0])
    prev = np.roll(messages[:, SPEAKER], 1)
    actions = uniform[:, :, 1].copy()
    actions[:, SPEAKER] = states
    follow = (coin[:, 1] < 1 - listener_noise) & ~starts
    actions[:, LISTENER] = np.where(follow, prev, uniform[:, LISTENER, 1])
    return states, messages, actions


def _policies(
    states: np.ndarray,
    prev: np.ndarray,
    starts: np.ndarray,
    n_sym: int,
    *,
    noise: float,
    listener_noise: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Message logits (T, 3, M), action logits (T, 3, A) and the listener's policy table
    (M, A) given the speaker's previous symbol."""
    total, n_agents = states.size, 3
    speaker_msg = _log(_noisy(1 - noise, n_sym))
    listener_pol = _log(_noisy(1 - listener_noise, n_sym))
    message_logits = np.zeros((total, n_agents, n_sym))
    message_logits[:, SPEAKER] = speaker_msg[states]
    logits = np.zeros((total, n_agents, n_sym))
    logits[:, SPEAKER] = _log(np.eye(n_sym))[states]
    logits[:, LISTENER] = np.where(starts[:, None], 0.0, listener_pol[prev])
    return message_logits, logits, listener_pol


def _counterfactual_logits(
    logits: np.ndarray, listener_pol: np.ndarray, starts: np.ndarray
) -> np.ndarray:
    """Counterfactual row t (T, 3, 3, M, A): each influencee's policy at t + 1; only the
    listener's depends on a symbol (the speaker's). The last row of an episode has no
    successor (filler)."""
    total, n_agents, n_sym = logits.shape
    has_next = next_step_valid(starts)
    nxt = np.where(has_next[:, None, None], np.roll(logits, -1, axis=0), logits)
    cf = np.broadcast_to(nxt[:, None, :, None, :], (total, n_agents, n_agents, n_sym, n_sym)).copy()
    cf[has_next, SPEAKER, LISTENER] = listener_pol
    return cf


def _rewards(states: np.ndarray, actions: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Speaker and listener score when the listener plays the previous state; the bystander
    when it plays the current one."""
    rewards = np.zeros(actions.shape)
    hit = (~starts) & (actions[:, LISTENER] == np.roll(states, 1))
    rewards[:, SPEAKER] = hit
    rewards[:, LISTENER] = hit
    rewards[:, BYSTANDER] = actions[:, BYSTANDER] == states
    return rewards


# Long: docstring of 30 lines (the outputs, the options, the errors); code 54 lines.
def run(
    out_dir: str | Path = "causal_influence_demo",
    *,
    episodes: int = 20,
    length: int = 500,
    seed: int = 0,
    n_bootstrap: int = 500,
    n_permutations: int = 500,
    progress: bool = False,
    stream: TextIO | None = None,
    overwrite: bool = False,
) -> Path:
    """Generate the game, save it as Parquet shards, analyse the shards, write the report.

    Parameters
    ----------
    out_dir : str or path
        Receives ``trajectories/`` (shards of 5 episodes), ``report.html``, the CSV tables and
        the graph files; written as a unit (:func:`causal_influence.io.atomic_directory`),
        so it must be missing or empty unless ``overwrite``.
    episodes, length, seed : int
        Size and seed of the synthetic data.
    n_bootstrap, n_permutations : int
        Resamples of the intervals and tests.
    progress : bool
        Progress bars.
    stream : text stream, optional
        Where the comparison is printed (default ``sys.stdout``).
    overwrite : bool
        Replace an earlier output of the demo in ``out_dir`` as a whole (files the demo did
        not write are never deleted).

    Returns
    -------
    pathlib.Path
        The report.

    Raises
    ------
    FileExistsError
        ``out_dir`` holds files (without ``overwrite``, or files the demo did not write).
    """
    import causal_influence.io as ci_io
    from analysis.report import write_report_files
    from analysis.stats import analyze

    out = Path(out_dir)
    echo = stream if stream is not None else sys.stdout
    ci_io.check_output_directory(out, overwrite=overwrite)
    traj = speaker_listener(episodes=episodes, length=length, rng=seed)
    with ci_io.atomic_directory(out, overwrite=overwrite, written_by="demo") as stage:
        shards = ci_io.write_shards(traj, stage / "trajectories", episodes_per_shard=5)
        result = analyze(
            stage / "trajectories",
            n_bootstrap=n_bootstrap,
            n_permutations=n_permutations,
            rng=seed,
            progress=progress,
        )
        write_report_files(
            result,
            stage,
            title="Demo: a speaker, a listener and a bystander",
            source=f"{out / 'trajectories'} ({len(shards)} shards)",
        )
    report = out / "report.html"
    rows = _comparison(result, expected_values())
    print(f"{traj.num_steps} steps, {episodes} episodes, {len(shards)} shards", file=echo)
    print(f"{'measure':42s} {'measured':>9s} {'interval':>19s} {'expected':>9s}", file=echo)
    for label, row, col, value in rows:
        interval = f"[{row['ci_low']:.4f}, {row['ci_high']:.4f}]"
        print(f"{label:42s} {row[col]:9.4f} {interval:>19s} {value:9.4f}", file=echo)
    infl = result.influence
    assert infl is not None
    others = infl[~((infl["influencer"] == "agent_0") & (infl["influencee"] == "agent_1"))]
    print(
        f"largest mean influence of any other pair: {others['influence'].max():.2e} nats "
        f"(expected 0)",
        file=echo,
    )
    for line in result.conclusions()[["influencer", "influencee", "conclusion"]].itertuples():
        print(f"conclusion: {line.influencer} -> {line.influencee}: {line.conclusion}", file=echo)
    print(f"report: {report}", file=echo)
    return report


def _pick(frame: Any, **where: Any) -> Any:
    """The first row of ``frame`` whose columns equal ``where``."""
    sel = np.ones(len(frame), dtype=bool)
    for key, value in where.items():
        sel &= (frame[key] == value).to_numpy()
    return frame[sel].iloc[0]


def _interval_row(row: Any, name: str) -> dict[str, Any]:
    """A row of the influence table with its ``name`` interval as ``ci_low`` / ``ci_high``."""
    return {
        name: row[name],
        "ci_low": row[f"{name}_ci_low"],
        "ci_high": row[f"{name}_ci_high"],
    }


def _comparison(result: Any, expected: dict[str, float]) -> list[tuple[str, Any, str, float]]:
    """(label, measured row, column, expected value) of each headline measure."""
    sc, ic, cic, infl = (
        result.speaker_consistency,
        result.coordination,
        result.cic,
        result.influence,
    )
    assert sc is not None
    assert cic is not None
    assert infl is not None
    pair = {"influencer": "agent_0", "influencee": "agent_1"}
    return [
        (
            "speaker consistency (mi), agent_0",
            _pick(sc, agent="agent_0", definition="mi"),
            "value",
            expected["sc_mi"],
        ),
        (
            "speaker consistency (jaques), agent_0",
            _pick(sc, agent="agent_0", definition="jaques"),
            "value",
            expected["sc_jaques"],
        ),
        (
            "IC symbol/action, agent_0 -> agent_1",
            _pick(ic, kind="symbol/action", subset="all", **pair),
            "value",
            expected["ic_symbol_action"],
        ),
        (
            "IC action/action, agent_0 -> agent_1",
            _pick(ic, kind="action/action", subset="all", **pair),
            "value",
            expected["ic_action_action"],
        ),
        ("CIC, agent_0 -> agent_1", _pick(cic, **pair), "cic", expected["cic"]),
        (
            "mean influence, agent_0 -> agent_1",
            _interval_row(_pick(infl, **pair), "influence"),
            "influence",
            expected["cic"],
        ),
    ]
