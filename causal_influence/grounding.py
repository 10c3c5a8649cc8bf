r"""Messages and the world: grounded information and conditional coordination.

Two questions that the observational coordination of a speaker and a listener cannot answer
alone, answered with a *context* variable g (the target a speaker is shown, a goal, a feature
of its observation; :attr:`~causal_influence.trajectory.Trajectory.context`):

- **grounded information** :math:`I(m^k_t; g^k_t)`: does k's message *mean* something about
  the world it sees? (0 for a babbling speaker, :math:`H(g)` for a speaker that names its
  target without error);
- **conditional coordination** :math:`I(m^k_t; a^j_{t+\mathrm{lag}} \mid g^k_t)`: is the
  listener's action still related to the message once the context is known? When the listener
  sees g itself and ignores the message, the pooled coordination :math:`I(m^k; a^j)` can be
  large (both follow g: a common cause) while the conditional one is 0. When the listener acts
  on the message it stays positive, unless the message is a deterministic function of g (then
  only an intervention tells:
  :func:`~causal_influence.counterfactual.interventional_responsiveness`).

Labels are integers; -1 marks a missing value (a step at which an agent sent no message or saw
no context), and such steps are skipped, never counted as a symbol. Values are plug-in
estimates (or another registered estimator) in nats unless ``base`` is given; plug-in values are
never negative and exactly 0 for exactly independent tables. ``docs/metrics.md`` (section
"Which measure answers which question") puts them beside influence and responsiveness.

Examples
--------
A speaker that names the target it sees, a listener that sees the target too and ignores the
message: the messages are grounded, the coordination is a common cause.

>>> import numpy as np
>>> from causal_influence.grounding import conditional_coordination, grounded_information
>>> rng = np.random.default_rng(0)
>>> target = rng.integers(0, 4, size=2001)
>>> messages = np.stack([target, np.full(2001, -1)], axis=1)  # agent 1 does not speak
>>> context = np.stack([target, target], axis=1)
>>> actions = np.stack([rng.integers(0, 4, 2001), np.roll(target, 1)], axis=1)  # follows g
>>> round(float(grounded_information(messages, context)[0]), 3)  # ln 4
1.386
>>> result = conditional_coordination(messages, actions, context, lag=1)
>>> float(result.matrix[0, 1])
0.0
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from causal_influence.communication import CoordinationResult, lagged_pairs
from causal_influence.errors import ShapeError
from causal_influence.information import (
    ESTIMATORS,
    conditional_mutual_information_from_counts,
    mutual_information_from_counts,
)
from causal_influence.validation import alphabet_size, as_label_matrix, log_base

__all__ = [
    "conditional_coordination",
    "conditional_coordination_counts",
    "grounded_information",
    "grounding_counts",
]


#: The option that gives the alphabet size of each labelled argument.
_OPTION = {"messages": "num_symbols", "actions": "num_actions", "context": "num_contexts"}


class _Same(NamedTuple):
    arrays: tuple[np.ndarray, ...]
    sizes: tuple[int, ...]


def _same_shape(
    named: dict[str, Any], sizes: dict[str, int | None], *, allow_missing: tuple[str, ...]
) -> _Same:
    """Label matrices of one shape (T, N) and their alphabet sizes."""
    arrays = []
    for name, value in named.items():
        arr = as_label_matrix(value, name, missing=True)
        if name not in allow_missing and (arr < 0).any():
            raise ShapeError(f"{name}: expected labels >= 0 (no missing values); got -1")
        arrays.append(arr)
    shapes = {name: a.shape for name, a in zip(named, arrays, strict=True)}
    if len(set(shapes.values())) > 1:
        raise ShapeError(
            f"expected {', '.join(named)} of the same shape (T, N); got "
            + ", ".join(f"{k} {v}" for k, v in shapes.items())
        )
    out_sizes = tuple(
        # 0 stays a valid size here: an alphabet with no label (every entry missing)
        alphabet_size(a, sizes.get(name), name, option=_OPTION[name], minimum=0)
        for name, a in zip(named, arrays, strict=True)
    )
    return _Same(tuple(arrays), out_sizes)


def grounding_counts(
    messages: Any,
    context: Any,
    *,
    num_symbols: int | None = None,
    num_contexts: int | None = None,
) -> np.ndarray:
    """Counts of each agent's own (message, context) pairs, skipping missing (-1) entries.

    Parameters
    ----------
    messages, context : array_like of int, shape (T, N) or (T,)
        Each agent's symbol and the context it saw at the same step; -1 = missing.
    num_symbols, num_contexts : int, optional
        Alphabet sizes (default: largest label + 1).

    Returns
    -------
    numpy.ndarray of int64, shape (N, M, G)

    Examples
    --------
    >>> grounding_counts([0, 1, -1, 1], [0, 1, 1, -1])
    array([[[1, 0],
            [0, 1]]])
    """
    (msg, ctx), (m, g) = _same_shape(
        {"messages": messages, "context": context},
        {"messages": num_symbols, "context": num_contexts},
        allow_missing=("messages", "context"),
    )
    n = msg.shape[1]
    keep = (msg >= 0) & (ctx >= 0)
    agent = np.broadcast_to(np.arange(n), msg.shape)
    code = (agent[keep] * m + msg[keep]) * g + ctx[keep]
    return np.bincount(code, minlength=n * m * g).reshape(n, m, g)


def grounded_information(
    messages: Any,
    context: Any,
    *,
    num_symbols: int | None = None,
    num_contexts: int | None = None,
    estimator: str = "plugin",
    base: float | None = None,
) -> np.ndarray:
    r"""Grounded information :math:`I(m^k_t; g^k_t)` of each agent's messages in its context.

    How much an agent's message says about the context it sees, pooled over the steps at
    which it both spoke and saw a context (missing entries, -1, are skipped).

    Parameters
    ----------
    messages, context : array_like of int, shape (T, N) or (T,)
        Each agent's symbol and context label at each step; -1 = missing.
    num_symbols, num_contexts : int, optional
        Alphabet sizes (default: largest label + 1).
    estimator : str, default "plugin"
        A name of :data:`~causal_influence.information.ESTIMATORS`.
    base : float, optional
        None for nats, 2 for bits.

    Returns
    -------
    numpy.ndarray of shape (N,)
        NaN for an agent without a step at which both are present.

    Examples
    --------
    >>> m = [[0, 1], [1, 1], [2, 0], [3, 0]]
    >>> g = [[0, -1], [1, -1], [2, -1], [3, -1]]
    >>> grounded_information(m, g, base=2)
    array([ 2., nan])
    """
    ESTIMATORS.lookup(estimator)
    log_base(base)
    counts = grounding_counts(messages, context, num_symbols=num_symbols, num_contexts=num_contexts)
    values = mutual_information_from_counts(counts, estimator=estimator, base=base)
    return np.where(counts.sum(axis=(1, 2)) > 0, values, np.nan)


def conditional_coordination_counts(
    messages: Any,
    actions: Any,
    context: Any,
    *,
    lag: int = 1,
    episode_ids: Any = None,
    num_symbols: int | None = None,
    num_actions: int | None = None,
    num_contexts: int | None = None,
) -> np.ndarray:
    """Counts of (g^k_t, m^k_t, a^j_{t+lag}) for every ordered pair, skipping missing entries.

    Pairs never cross an episode boundary; a step counts for speaker k when k spoke and saw a
    context at t.

    Returns
    -------
    numpy.ndarray of int64, shape (N, N, G, M, A)
        ``[k, j, g, m, a]``.

    Examples
    --------
    >>> c = conditional_coordination_counts([[0, -1], [1, -1]], [[0, 0], [0, 1]],
    ...                                     [[1, -1], [0, -1]])
    >>> c.shape, int(c[0, 1, 1, 0, 1])
    ((2, 2, 2, 2, 2), 1)
    """
    (msg, act, ctx), (m, a, g) = _same_shape(
        {"messages": messages, "actions": actions, "context": context},
        {"messages": num_symbols, "actions": num_actions, "context": num_contexts},
        allow_missing=("messages", "context"),
    )
    if lag < 0:
        raise ShapeError(f"lag: expected a non-negative integer; got {lag}")
    t_len, n = msg.shape
    steps = lagged_pairs(t_len, lag, episode_ids)
    x, z, y = msg[steps], ctx[steps], act[steps + lag]  # (P, N) speaker at t, listener at t+lag
    keep = np.broadcast_to(((x >= 0) & (z >= 0))[:, :, None], (steps.size, n, n))
    kk, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    pair = (kk * n + jj)[None]
    code = ((pair * g + z[:, :, None]) * m + x[:, :, None]) * a + y[:, None, :]
    counts = np.bincount(code[keep], minlength=n * n * g * m * a)
    return counts.reshape(n, n, g, m, a)


def conditional_coordination(
    messages: Any,
    actions: Any,
    context: Any,
    *,
    lag: int = 1,
    episode_ids: Any = None,
    estimator: str = "plugin",
    num_symbols: int | None = None,
    num_actions: int | None = None,
    num_contexts: int | None = None,
    base: float | None = None,
) -> CoordinationResult:
    r"""Conditional coordination :math:`I(m^k_t; a^j_{t+\mathrm{lag}} \mid g^k_t)` per pair.

    Instantaneous coordination
    (:func:`~causal_influence.communication.instantaneous_coordination`) conditioned on the
    speaker's context: the part of the listener's dependence on the message
    that the context the message is about does not explain. A common cause (the listener sees
    the context itself) gives 0; a listener acting on the message, a positive value.

    Parameters
    ----------
    messages : array_like of int, shape (T, N)
        Speaker symbols; -1 = no message (skipped).
    actions : array_like of int, shape (T, N)
        Listener actions.
    context : array_like of int, shape (T, N)
        Context each agent sees; the speaker's is conditioned on; -1 = none (skipped).
    lag : int
        Steps between the message and the listener's action (default 1).
    episode_ids : array_like of shape (T,), optional
    estimator : str, default "plugin"
        A name of :data:`~causal_influence.information.ESTIMATORS`.
    num_symbols, num_actions, num_contexts : int, optional
        Alphabet sizes.
    base : float, optional
        None for nats, 2 for bits.

    Returns
    -------
    CoordinationResult
        ``matrix[k, j]``, NaN on the diagonal and where no step was kept; ``counts[k, j]`` the
        steps used.

    Examples
    --------
    Copy under context 0, anti-copy under context 1 (``docs/metrics.md``, closed-form case 8b):
    the pooled coordination is 0, the conditional one 1 bit.

    >>> import numpy as np
    >>> m = np.array([0, 0, 1, 1, 0, 0, 1, 1, 0])
    >>> g = np.array([0, 0, 0, 0, 1, 1, 1, 1, 0])
    >>> a = np.r_[0, np.where(g[:-1] == 0, m[:-1], 1 - m[:-1])]
    >>> res = conditional_coordination(np.stack([m, -np.ones(9, int)], 1),
    ...                                np.stack([np.zeros(9, int), a], 1),
    ...                                np.stack([g, -np.ones(9, int)], 1), base=2)
    >>> float(res.matrix[0, 1])
    1.0
    """
    ESTIMATORS.lookup(estimator)
    log_base(base)
    counts = conditional_coordination_counts(
        messages,
        actions,
        context,
        lag=lag,
        episode_ids=episode_ids,
        num_symbols=num_symbols,
        num_actions=num_actions,
        num_contexts=num_contexts,
    )
    used = counts.sum(axis=(-3, -2, -1))
    matrix = conditional_mutual_information_from_counts(counts, estimator=estimator, base=base)
    return CoordinationResult.of_pairs(matrix, used)
