r"""Ground-truth cases of influence and communication, with closed-form answers.

Each function samples a speaker/listener game (agent_0 speaks, agent_1 listens; M = A = 4
symbols and actions; a target :math:`g_t` uniform over 4 values, new at every step) and
returns the :class:`~causal_influence.trajectory.Trajectory` (messages, policies, the stored
next-step influence of messages computed by the core engine, counterfactual logits and, where
the case has one, the context each agent sees) together with the truth: the exact value of
every measure and the conclusion :func:`analysis.conclusions.conclusions` must reach for each
ordered pair. They are the cases of issue 11 and of the README section "Which measure answers
which question":

- :func:`copying_listener`: the speaker names its target with probability q, the listener
  copies every message. Influence :math:`H(\pi_q)` (about 0.009 nats at q = 0.999: the
  information beyond the speaker's state), responsiveness ln 4, grounded information
  :math:`\ln 4 - H(\pi_q)`: **communicates (grounded)**.
- :func:`common_cause`: the same speaker; the listener sees the target itself and ignores the
  message. Coordination is high, influence and responsiveness exactly 0, conditional
  coordination 0: **common cause suspected**.
- :func:`noisy_listener`: the speaker babbles; the listener plays ``(m + o) mod 4`` with
  probability p, o its own observation. Influence = responsiveness = the noisy-copy MI, the
  pooled coordination 0: **influences** (an observational test sees nothing).
- :func:`independent_agents`: nobody listens: every measure 0, **nothing detectable**.
- :func:`exact_zeros`: nobody listens, with non-uniform message policies and per-step random
  logits stored in float32: every influence, CIC and responsiveness is exactly 0.
- :func:`misleading_moments`: the listener ignores the message, but the policy model (the
  counterfactual logits) wrongly has it respond to the one symbol that matches its preferred
  action: moments of high influence are then the steps where that symbol was sent, and the
  coordination at those moments is large by selection alone.

Examples
--------
>>> from analysis.cases import copying_listener
>>> traj, truth = copying_listener(episodes=2, length=50, q=0.999, rng=0)
>>> traj.fields
('messages', 'context', 'logits', 'message_logits', 'influence', 'counterfactual_logits')
>>> round(truth["influence"], 4), round(truth["responsiveness"], 4), truth["conclusion"]
(0.009, 1.3863, 'communicates (grounded)')
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from causal_influence.engine import pairwise_influence
from causal_influence.errors import ConfigError
from causal_influence.models import TabularModel
from causal_influence.trajectory import InfluenceSpec, Trajectory
from causal_influence.validation import resolve_rng

__all__ = [
    "common_cause",
    "copying_listener",
    "exact_zeros",
    "independent_agents",
    "misleading_moments",
    "noisy_copy_mi",
    "noisy_listener",
]

N_VALUES = 4  # symbols = actions = targets
SPEAKER, LISTENER = 0, 1


def noisy_copy_mi(p: float, n: int = N_VALUES) -> float:
    """MI of a uniform input and its noisy copy (``docs/metrics.md``, closed-form case 3).

    Examples
    --------
    >>> round(noisy_copy_mi(0.5, 2), 6)
    0.130812
    """
    q, o = p + (1 - p) / n, (1 - p) / n
    return math.log(n) + q * math.log(q) + ((n - 1) * o * math.log(o) if o > 0 else 0.0)


def _entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _speaker(q: float, n: int = N_VALUES) -> np.ndarray:
    """p(m | g): the target with probability q, every other symbol (1 - q) / (n - 1)."""
    out = np.full((n, n), (1 - q) / (n - 1))
    np.fill_diagonal(out, q)
    return out


def _log(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(p)


def _check(episodes: int, length: int, **probabilities: float) -> None:
    if episodes < 1 or length < 2:
        raise ConfigError(
            f"episodes >= 1 and length >= 2 expected; got episodes={episodes}, length={length}"
        )
    for name, value in probabilities.items():
        if not 0 <= value <= 1:
            raise ConfigError(f"{name}: expected a probability in [0, 1]; got {value}")


def _sample(gen: np.random.Generator, log_p: np.ndarray) -> np.ndarray:
    """One draw from each row of log-probabilities (..., K)."""
    p = np.exp(log_p - log_p.max(axis=-1, keepdims=True))
    p = p / p.sum(axis=-1, keepdims=True)
    u = gen.random(p.shape[:-1])[..., None]
    return np.minimum((p.cumsum(axis=-1) < u).sum(axis=-1), p.shape[-1] - 1)


class _Game:
    """Builder of a two-agent game: arrays filled step by step by the cases."""

    def __init__(self, episodes: int, length: int, rng: Any) -> None:
        self.gen = resolve_rng(rng)
        self.total = episodes * length
        self.episodes, self.length = episodes, length
        self.starts = np.zeros(self.total, dtype=bool)
        self.starts[::length] = True
        self.has_next = np.zeros(self.total, dtype=bool)
        self.has_next[:-1] = ~self.starts[1:]
        n, k = 2, N_VALUES
        self.message_logits = np.zeros((self.total, n, k))  # uniform babble by default
        self.logits = np.zeros((self.total, n, k))  # uniform actions by default
        self.cf = np.zeros((self.total, n, n, k, k))  # nobody listens by default

    def grounded_speaker(self, q: float) -> np.ndarray:
        """The speaker sees a target g_t (new at every step, uniform) and names it with
        probability q (each other symbol with (1 - q) / 3); returns the targets (T,)."""
        target = self.gen.integers(0, N_VALUES, self.total)
        self.message_logits[:, SPEAKER] = _log(_speaker(q))[target]
        return target

    def ignore_each_other(self, message_scale: float, policy_scale: float) -> None:
        """Both agents babble and act from random per-step logits (normal, scaled), each
        ignoring what the other sends: every counterfactual row is the agent's own next
        policy."""
        self.message_logits[:] = message_scale * self.gen.normal(size=self.message_logits.shape)
        own = policy_scale * self.gen.normal(size=(self.total, 2, N_VALUES))
        self.cf[:] = np.roll(own, -1, axis=0)[:, None, :, None, :]
        self.logits[:] = own

    def listener_rows(self, rows: np.ndarray) -> None:
        """Set the listener's counterfactual rows (T, K, A) (its policy at t + 1 under each
        symbol of the speaker at t), and its policy at the steps that follow."""
        self.cf[:, SPEAKER, LISTENER] = np.where(self.has_next[:, None, None], rows, 0.0)

    def messages(self) -> np.ndarray:
        return _sample(self.gen, self.message_logits)

    def actions(self, messages: np.ndarray) -> np.ndarray:
        """Actions: the listener's at t + 1 from its row for the speaker's actual symbol at
        t (uniform at an episode's first step), the speaker's from its own logits."""
        listener = self.cf[np.arange(self.total), SPEAKER, LISTENER, messages[:, SPEAKER]]
        self.logits[1:, LISTENER] = np.where(
            self.has_next[:-1, None], listener[:-1], self.logits[1:, LISTENER]
        )
        return _sample(self.gen, self.logits)

    def trajectory(
        self,
        messages: np.ndarray,
        actions: np.ndarray,
        *,
        context: np.ndarray | None,
        name: str,
        dtype: Any = np.float64,
    ) -> Trajectory:
        model = TabularModel(
            self.cf,
            self.message_logits,
            messages,
            predicts_next_step=True,
            episode_starts=self.starts,
        )
        influence = np.asarray(pairwise_influence(model, alignment="next_step").influence)
        return Trajectory(
            actions=actions,
            rewards=self.gen.random((self.total, 2)),  # unused by the cases
            episode_ids=np.repeat(np.arange(self.episodes), self.length),
            messages=messages,
            context=context,
            logits=self.logits.astype(dtype),
            message_logits=self.message_logits.astype(dtype),
            influence=influence.astype(dtype),
            counterfactual_logits=self.cf.astype(dtype),
            num_actions=N_VALUES,
            num_symbols=N_VALUES,
            num_contexts=N_VALUES if context is not None else 0,
            agent_ids=("speaker", "listener"),
            env_name=name,
            influence_spec=InfluenceSpec(
                alignment="next_step", variable="messages", divergence="kl"
            ),
        )


def _verdict(forward: str) -> dict[str, Any]:
    """The conclusion a case must reach for (speaker, listener), with the reverse pair's
    ("nothing detectable": the speaker never listens)."""
    pairs = {("speaker", "listener"): forward, ("listener", "speaker"): "nothing detectable"}
    return {"conclusion": forward, "conclusions": pairs}


def copying_listener(
    *, episodes: int = 20, length: int = 200, q: float = 0.999, rng: Any = None
) -> tuple[Trajectory, dict[str, Any]]:
    r"""A listener that copies every message of a near-deterministic, grounded speaker.

    The speaker sees the target :math:`g_t` (its context) and sends it with probability q,
    each other symbol with probability (1 - q) / 3; the listener plays the message it heard.

    Returns
    -------
    (Trajectory, dict)
        The truth holds ``influence`` = :math:`H(\pi_q)` (the expected influence, information
        beyond the speaker's state), ``responsiveness`` = ln 4, ``grounded_information`` =
        :math:`\ln 4 - H(\pi_q)`, ``coordination`` (symbol/action, pooled) = ln 4,
        ``conditional_coordination`` = :math:`H(\pi_q)`, ``cic`` = ``influence``, and
        ``conclusions``: (speaker, listener) "communicates (grounded)", the reverse "nothing
        detectable".
    """
    _check(episodes, length, q=q)
    game = _Game(episodes, length, rng)
    target = game.grounded_speaker(q)
    messages = game.messages()
    game.listener_rows(np.broadcast_to(_log(np.eye(N_VALUES)), (game.total, 4, 4)))
    actions = game.actions(messages)
    context = np.stack([target, np.full(game.total, -1)], axis=1)
    h = _entropy(_speaker(q)[0])
    truth = {
        "influence": h,
        "cic": h,
        "responsiveness": math.log(N_VALUES),
        "grounded_information": math.log(N_VALUES) - h,
        "coordination": math.log(N_VALUES),
        "conditional_coordination": h,
    } | _verdict("communicates (grounded)")
    return game.trajectory(messages, actions, context=context, name="copying_listener"), truth


def common_cause(
    *,
    episodes: int = 20,
    length: int = 200,
    q: float = 0.9,
    follow: float = 0.9,
    rng: Any = None,
) -> tuple[Trajectory, dict[str, Any]]:
    r"""A grounded speaker and a listener that sees the target itself and ignores the message.

    The speaker names the target with probability q; the listener plays, at t + 1, the target
    of t with probability ``follow``, else a uniform action, whatever the message.

    Returns
    -------
    (Trajectory, dict)
        The truth: ``influence`` = ``responsiveness`` = ``cic`` = 0 (exactly: the listener's
        counterfactual rows are equal), ``grounded_information`` = :math:`\ln 4 - H(\pi_q)`,
        ``coordination`` = :math:`I(m_t; a_{t+1}) > 0` (through the target),
        ``conditional_coordination`` = 0, conclusion "common cause suspected".
    """
    _check(episodes, length, q=q, follow=follow)
    game = _Game(episodes, length, rng)
    target = game.grounded_speaker(q)
    messages = game.messages()
    policy = follow * np.eye(N_VALUES) + (1 - follow) / N_VALUES  # p(a | g)
    rows = np.broadcast_to(_log(policy)[target][:, None, :], (game.total, 4, 4))
    game.listener_rows(rows)
    actions = game.actions(messages)
    context = np.stack([target, target], axis=1)
    joint = (_speaker(q).T @ policy) / N_VALUES  # p(m, a) = sum_g p(g) p(m|g) p(a|g)
    mi = float((joint * np.log(joint / np.outer(joint.sum(1), joint.sum(0)))).sum())
    truth = {
        "influence": 0.0,
        "cic": 0.0,
        "responsiveness": 0.0,
        "grounded_information": math.log(N_VALUES) - _entropy(_speaker(q)[0]),
        "coordination": mi,
        "conditional_coordination": 0.0,
    } | _verdict("common cause suspected")
    return game.trajectory(messages, actions, context=context, name="common_cause"), truth


def noisy_listener(
    *, episodes: int = 20, length: int = 200, p: float = 0.8, rng: Any = None
) -> tuple[Trajectory, dict[str, Any]]:
    r"""A babbling speaker and a listener that plays ``(m + o) mod 4`` with probability p.

    o is the listener's own observation at t + 1 (uniform; stored as its context), so the
    listener's response to the message depends on its own state: pooled over states the
    message and the action are independent.

    Returns
    -------
    (Trajectory, dict)
        The truth: ``influence`` = ``responsiveness`` = ``cic`` = the noisy-copy MI of p over
        4 values (0.799 nats at p = 0.8), ``coordination`` = 0, conclusion "influences".
    """
    _check(episodes, length, p=p)
    game = _Game(episodes, length, rng)
    messages = game.messages()
    own = game.gen.integers(0, N_VALUES, game.total)  # o_t, the listener's observation
    nxt = np.roll(own, -1)  # o_{t+1}
    shift = (np.arange(N_VALUES)[None, :, None] + nxt[:, None, None]) % N_VALUES
    rows = _log(p * (np.arange(N_VALUES)[None, None, :] == shift) + (1 - p) / N_VALUES)
    game.listener_rows(rows)
    actions = game.actions(messages)
    context = np.stack([np.full(game.total, -1), own], axis=1)
    mi = noisy_copy_mi(p)
    truth = {
        "influence": mi,
        "cic": mi,
        "responsiveness": mi,
        "coordination": 0.0,
    } | _verdict("influences")
    return game.trajectory(messages, actions, context=context, name="noisy_listener"), truth


def independent_agents(
    *, episodes: int = 20, length: int = 200, rng: Any = None
) -> tuple[Trajectory, dict[str, Any]]:
    """Two babbling agents that act at random and ignore each other (random per-step policies).

    Returns
    -------
    (Trajectory, dict)
        Every measure 0; every conclusion "nothing detectable"; observational p-values
        uniform over seeds.
    """
    _check(episodes, length)
    game = _Game(episodes, length, rng)
    game.ignore_each_other(1.0, 1.0)
    messages = game.messages()
    actions = _sample(game.gen, game.logits)
    truth = {
        "influence": 0.0,
        "cic": 0.0,
        "responsiveness": 0.0,
        "coordination": 0.0,
    } | _verdict("nothing detectable")
    return game.trajectory(messages, actions, context=None, name="independent_agents"), truth


def exact_zeros(
    *, episodes: int = 10, length: int = 100, rng: Any = None
) -> tuple[Trajectory, dict[str, Any]]:
    """:func:`independent_agents` with far-from-uniform message policies, stored in float32.

    Identical counterfactual rows under a non-uniform prior are the case where rounding used
    to leave 2e-16 of influence and -1e-17 of CIC.

    Returns
    -------
    (Trajectory, dict)
        Every influence, CIC and responsiveness exactly 0.
    """
    _check(episodes, length)
    game = _Game(episodes, length, rng)
    game.ignore_each_other(4.0, 3.0)  # far from uniform
    messages = game.messages()
    actions = _sample(game.gen, game.logits)
    truth = {
        "influence": 0.0,
        "cic": 0.0,
        "responsiveness": 0.0,
    } | _verdict("nothing detectable")
    traj = game.trajectory(messages, actions, context=None, name="exact_zeros", dtype=np.float32)
    return traj, truth


def misleading_moments(
    *,
    episodes: int = 20,
    length: int = 200,
    prefer: float = 0.7,
    tilt: float = 0.95,
    rng: Any = None,
) -> tuple[Trajectory, dict[str, Any]]:
    """A listener that ignores the message, and a policy model that says otherwise for one
    symbol.

    The listener prefers an action x_t (new at every step) with probability ``prefer`` and
    never reads the message. The stored counterfactual logits (a model of the listener) give
    the same policy for every symbol except x_t itself, under which x_t gets ``tilt``. The
    influence the model assigns is then high exactly when the speaker happened to send x_t,
    so at the moments of high influence the message equals the listener's preferred action
    far more often than chance: coordination at those moments is large by selection alone.

    Returns
    -------
    (Trajectory, dict)
        The truth: the message and the listener's next action are independent
        (``coordination`` = 0 over all steps and, without selection, at any fixed subset of
        steps).
    """
    _check(episodes, length, prefer=prefer, tilt=tilt)
    game = _Game(episodes, length, rng)
    messages = game.messages()
    x = game.gen.integers(0, N_VALUES, game.total)  # the listener's preferred action at t + 1
    true = prefer * np.eye(N_VALUES)[x] + (1 - prefer) / N_VALUES  # (T, A)
    wrong = tilt * np.eye(N_VALUES)[x] + (1 - tilt) / N_VALUES
    rows = np.broadcast_to(true[:, None, :], (game.total, N_VALUES, N_VALUES)).copy()
    rows[np.arange(game.total), x] = wrong  # the model's row for symbol x_t
    game.listener_rows(_log(rows))
    actions = _sample(game.gen, game.logits)
    listener_true = _sample(game.gen, _log(true))
    actions[1:, LISTENER] = np.where(game.has_next[:-1], listener_true[:-1], actions[1:, 1])
    truth = {"coordination": 0.0}
    return game.trajectory(messages, actions, context=None, name="misleading_moments"), truth
