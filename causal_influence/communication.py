r"""Measures of emergent communication: speaker consistency, instantaneous coordination,
moments of high influence and the causal influence of communication (CIC).

Two incompatible definitions share the name *speaker consistency* in the literature, so
:func:`speaker_consistency` makes the caller name one (METRICS.md, Conventions):

- ``"jaques_literal"``: Jaques et al. 2019, Eq. 8 exactly as printed (sums over symbols,
  actions and agents; range :math:`[0, \tfrac12 N(|M|+|A|)]`);
- ``"jaques"``: the same score averaged instead of summed, in [0, 1] (the paper's text);
- ``"mi"``: Lowe et al. 2019, the mutual information :math:`I(m^k; a^k)` of each agent's own
  message and action (nats unless ``base``).

Instantaneous coordination (IC) is the MI between a speaker's symbol (or action) at t and a
listener's action at t + lag, pooled over steps, per ordered pair (Jaques et al. section 5.1).
CIC (Lowe et al. 2019) is the interventional MI between a speaker's message and a listener's
action, computed from the listener's policy under every intervened message.

Examples
--------
>>> import numpy as np
>>> from causal_influence.communication import causal_influence_of_communication
>>> p_m = np.full(4, 0.25)
>>> round(float(causal_influence_of_communication(np.eye(4), p_m)), 6)  # listener copies: ln 4
1.386294
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from causal_influence._backend import to_int
from causal_influence.errors import (
    ConfigError,
    InvalidDistributionError,
    ShapeError,
    UndefinedConditionalWarning,
    describe,
)
from causal_influence.information import (
    ESTIMATORS,
    _entropy_counts,
    _scale,
    mutual_information_from_counts,
)

__all__ = [
    "SC_DEFINITIONS",
    "CoordinationResult",
    "causal_influence_of_communication",
    "context_independence",
    "influential_moments",
    "instantaneous_coordination",
    "lagged_pairs",
    "speaker_consistency",
    "speaker_consistency_from_counts",
]

#: Definitions accepted by :func:`speaker_consistency`.
SC_DEFINITIONS: tuple[str, ...] = ("jaques", "jaques_literal", "mi")


def _agents_matrix(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(to_int(x, name))
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ShapeError(
            f"{name}: expected labels of shape (T,) or (T, N) (time-major, agent second); got "
            f"{describe(arr)}"
        )
    if arr.min() < 0:
        raise ShapeError(f"{name}: expected non-negative labels; got minimum {int(arr.min())}")
    return arr


def _size(arr: np.ndarray, given: int | None, name: str) -> int:
    if given is None:
        return int(arr.max()) + 1
    if arr.max() >= given:
        raise ShapeError(
            f"{name}: found label {int(arr.max())} but the alphabet size is {given}; pass the "
            f"right size or fix the labels"
        )
    return int(given)


def _pair_tables(src: np.ndarray, dst: np.ndarray, m: int, a: int) -> np.ndarray:
    """Per-agent joint counts (N, m, a) of src[:, k] and dst[:, k]."""
    n = src.shape[1]
    code = (np.arange(n)[None, :] * m + src) * a + dst
    return np.bincount(code.ravel(), minlength=n * m * a).reshape(n, m, a)


def speaker_consistency(
    messages: Any,
    actions: Any,
    *,
    definition: str | None = None,
    num_symbols: int | None = None,
    num_actions: int | None = None,
    base: float | None = None,
) -> Any:
    r"""Speaker consistency of each agent's own (message, action) pairs.

    Parameters
    ----------
    messages, actions : array_like of int, shape (T,) or (T, N)
        Each agent's symbol and action at the same step.
    definition : {"jaques", "jaques_literal", "mi"}
        Required; no default, because the definitions disagree in value, range and unit.

        - ``"jaques_literal"``: Eq. 8 as printed,
          :math:`\sum_k \tfrac12[\sum_c (1 - H(a^k|m^k{=}c)/\log|A|)
          + \sum_a (1 - H(m^k|a^k{=}a)/\log|M|)]`, a float.
        - ``"jaques"``: the same with means in place of the sums over c, a and k; in [0, 1].
        - ``"mi"``: :math:`I(m^k; a^k)` per agent (Lowe et al.); an array of shape (N,), or a
          float for 1-D input. In nats unless ``base``.

        Conditionals whose condition never occurs (a symbol never sent, an action never taken)
        are skipped, with an :class:`UndefinedConditionalWarning`; no weighting by p(c) or p(a)
        is applied (as Eq. 8).
    num_symbols, num_actions : int, optional
        Alphabet sizes |M| and |A| (defaults: largest label + 1); they set the entropy
        maxima of the Jaques forms.
    base : float, optional
        Unit of the ``"mi"`` form.

    Examples
    --------
    METRICS.md case 9: p(m, a) = [[0.4, 0.1], [0.1, 0.4]].

    >>> m = [0] * 5 + [1] * 5
    >>> a = [0, 0, 0, 0, 1, 1, 1, 1, 1, 0]
    >>> round(speaker_consistency(m, a, definition="jaques"), 6)
    0.278072
    >>> round(speaker_consistency(m, a, definition="jaques_literal"), 6)
    0.556144
    >>> round(speaker_consistency(m, a, definition="mi", base=2), 6)
    0.278072
    """
    if definition not in SC_DEFINITIONS:
        raise ConfigError(
            f"speaker_consistency: pass definition= one of {SC_DEFINITIONS} ('jaques' = Eq. 8 "
            f"normalised to [0, 1], 'jaques_literal' = Eq. 8 as printed, 'mi' = Lowe et al.'s "
            f"I(m; a)); got {definition!r}"
        )
    one_agent = np.asarray(messages).ndim == 1
    msg = _agents_matrix(messages, "messages")
    act = _agents_matrix(actions, "actions")
    if msg.shape != act.shape:
        raise ShapeError(
            f"messages and actions must have the same shape (T, N); got {msg.shape} and {act.shape}"
        )
    m = _size(msg, num_symbols, "messages")
    a = _size(act, num_actions, "actions")
    tables = _pair_tables(msg, act, m, a)  # (N, M, A)
    value = speaker_consistency_from_counts(tables, definition=definition, base=base)
    if definition == "mi" and one_agent:
        return float(value[0])
    return value


def _episode_ids(episode_ids: Any, t: int) -> np.ndarray:
    if episode_ids is None:
        return np.zeros(t, dtype=np.int64)
    ids = np.asarray(episode_ids)
    if ids.shape != (t,):
        raise ShapeError(
            f"episode_ids: expected shape ({t},), one id per step; got {describe(ids)}"
        )
    return ids


def lagged_pairs(num_steps: int, lag: int, episode_ids: Any = None) -> np.ndarray:
    """Indices t such that (t, t + lag) lie in the same episode.

    Examples
    --------
    >>> lagged_pairs(5, 1, [0, 0, 0, 1, 1])
    array([0, 1, 3])
    """
    if lag < 0:
        raise ConfigError(f"lag: expected a non-negative integer; got {lag}")
    ids = _episode_ids(episode_ids, num_steps)
    if lag >= num_steps:
        return np.zeros(0, dtype=np.int64)
    t = np.arange(num_steps - lag)
    return t[ids[t] == ids[t + lag]]


@dataclass(frozen=True)
class CoordinationResult:
    """Instantaneous coordination per ordered pair.

    Attributes
    ----------
    matrix : numpy.ndarray of shape (N, N)
        ``matrix[k, j]`` = I(source^k_t ; action^j_{t+lag}); NaN on the diagonal and where no
        pair was kept.
    max : float
        Maximum over ordered pairs k != j (the paper's aggregate).
    argmax : tuple of int
        The pair (k, j) attaining it.
    counts : numpy.ndarray of shape (N, N)
        Number of pooled pairs per ordered pair.
    """

    matrix: np.ndarray
    max: float
    argmax: tuple[int, int]
    counts: np.ndarray


def instantaneous_coordination(
    source: Any,
    actions: Any,
    *,
    lag: int = 1,
    episode_ids: Any = None,
    mask: Any = None,
    estimator: str = "plugin",
    num_symbols: int | None = None,
    num_actions: int | None = None,
    base: float | None = None,
) -> CoordinationResult:
    r"""Instantaneous coordination :math:`I(x^k_t; a^j_{t+\mathrm{lag}})` for every ordered pair.

    With ``source`` the messages this is symbol/action IC; with ``source`` the actions it is
    action/action IC (Jaques et al. 2019, section 5.1). The (source, action) pairs of all steps
    are pooled into one contingency table per ordered pair; pairs never cross an episode
    boundary.

    Parameters
    ----------
    source : array_like of int, shape (T, N)
        Speaker variable per step and agent (symbols or actions).
    actions : array_like of int, shape (T, N)
        Listener actions.
    lag : int
        Steps between the speaker's variable and the listener's action (default 1).
    episode_ids : array_like of shape (T,), optional
        Episode of each step.
    mask : array_like of bool, shape (T, N) or (T,), optional
        Keep step t for influencer k only where ``mask[t, k]`` (e.g. the moments of high
        influence from :func:`influential_moments`).
    estimator : {"plugin", "miller_madow", "shuffle"}
    num_symbols, num_actions : int, optional
        Alphabet sizes.
    base : float, optional
        None for nats, 2 for bits.

    Returns
    -------
    CoordinationResult

    Examples
    --------
    METRICS.md case 11: IC over all steps, then over the high-influence steps only.

    >>> import numpy as np
    >>> m = np.array([[0, 0], [1, 0], [0, 0], [1, 0], [0, 0], [1, 0], [0, 0], [1, 0], [0, 0]])
    >>> a = np.array([[0, 0], [0, 0], [0, 1], [0, 0], [0, 1], [0, 0], [0, 0], [0, 0], [0, 0]])
    >>> round(float(instantaneous_coordination(m, a).matrix[0, 1]), 6)
    0.215762
    >>> c = np.array([2, 2, 2, 2, 0, 0, 0, 0, 0])
    >>> keep = np.stack([c >= 1, np.ones(9, bool)], axis=1)
    >>> round(float(instantaneous_coordination(m, a, mask=keep).matrix[0, 1]), 6)
    0.693147
    """
    if estimator not in ESTIMATORS:
        raise ConfigError(f"estimator: expected one of {ESTIMATORS}; got {estimator!r}")
    src = _agents_matrix(source, "source")
    act = _agents_matrix(actions, "actions")
    if src.shape != act.shape:
        raise ShapeError(
            f"source and actions must have the same shape (T, N); got {src.shape} and {act.shape}"
        )
    t_steps, n = src.shape
    m = _size(src, num_symbols, "source")
    a = _size(act, num_actions, "actions")
    t = lagged_pairs(t_steps, lag, episode_ids)
    if mask is None:
        keep = np.ones((t.size, n), dtype=bool)
    else:
        mk = np.asarray(mask, dtype=bool)
        if mk.ndim == 1:
            mk = np.broadcast_to(mk[:, None], (t_steps, n))
        if mk.shape != (t_steps, n):
            raise ShapeError(
                f"mask: expected shape ({t_steps}, {n}) or ({t_steps},); got {describe(mk)}"
            )
        keep = mk[t]
    x = src[t]  # (P, N) speaker k at t
    y = act[t + lag]  # (P, N) listener j at t + lag
    kk, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    pair = (kk * n + jj)[None]  # (1, N, N)
    code = (pair * m + x[:, :, None]) * a + y[:, None, :]  # (P, N, N)
    weights = np.broadcast_to(keep[:, :, None], code.shape)
    tables = np.bincount(
        code.ravel(), weights=weights.ravel().astype(np.float64), minlength=n * n * m * a
    ).reshape(n, n, m, a)
    counts = tables.sum(axis=(-2, -1))
    matrix = mutual_information_from_counts(tables, estimator=estimator, base=base)
    matrix = np.where(counts > 0, matrix, np.nan)
    matrix[np.arange(n), np.arange(n)] = np.nan
    if n > 1 and np.isfinite(matrix).any():
        flat = int(np.nanargmax(matrix))
        best = (flat // n, flat % n)
        top = float(matrix[best])
    else:
        best, top = (-1, -1), float("nan")
    return CoordinationResult(matrix=matrix, max=top, argmax=best, counts=counts.astype(np.int64))


def influential_moments(influence: Any, *, episode_ids: Any = None) -> np.ndarray:
    r"""Steps of high influence: :math:`c^k_t \ge \operatorname{mean}_t(c^k)` per agent.

    Jaques et al. 2019 (section 5.1) report that IC is high only at these moments and that an
    agent is above its own mean influence on fewer than 10 % of steps.

    Parameters
    ----------
    influence : array_like, shape (T, N) or (T,)
        Per-step influence of each agent (e.g. an influencer's reward, the pairwise tensor
        summed over influencees).
    episode_ids : array_like of shape (T,), optional
        When given, the mean is taken per agent within each episode.

    Returns
    -------
    numpy.ndarray of bool with the shape of ``influence``

    Examples
    --------
    >>> influential_moments([2, 2, 2, 2, 0, 0, 0, 0])
    array([ True,  True,  True,  True, False, False, False, False])
    """
    c = np.asarray(influence, dtype=np.float64)
    if c.ndim not in (1, 2) or c.shape[0] == 0:
        raise ShapeError(f"influence: expected shape (T,) or (T, N); got {describe(c)}")
    if np.isnan(c).any():
        raise InvalidDistributionError("influence: contains NaN; drop or fill those steps first")
    if episode_ids is None:
        return c >= c.mean(axis=0, keepdims=True)
    ids = _episode_ids(episode_ids, c.shape[0])
    _, inv = np.unique(ids, return_inverse=True)
    flat = c.reshape(c.shape[0], -1)
    sums = np.zeros((inv.max() + 1, flat.shape[1]))
    np.add.at(sums, inv, flat)
    means = sums / np.bincount(inv)[:, None]
    return (flat >= means[inv]).reshape(c.shape)


def causal_influence_of_communication(
    p_action_given_do_message: Any,
    p_message: Any,
    *,
    lowe_compat: bool = False,
    reduce: bool = True,
    base: float | None = None,
) -> Any:
    r"""Causal influence of communication (Lowe et al. 2019), the interventional MI.

    .. math::
        \mathrm{CIC}(x) = \sum_{m,a} \pi_S(m|x)\, \pi_L(a|x, do(m))
            \log \frac{\pi_L(a|x, do(m))}{\sum_{m'} \pi_S(m'|x)\, \pi_L(a|x, do(m'))}

    averaged over contexts x (leading dimensions). A listener that ignores the message scores
    0; a speaker with a deterministic message scores 0 whatever the listener does.

    Parameters
    ----------
    p_action_given_do_message : array_like, shape (..., M, A)
        Listener's action probabilities under each intervened message (rows sum to 1).
    p_message : array_like, shape (..., M)
        Speaker's message probabilities in the same contexts.
    lowe_compat : bool
        Reproduce the released reference code of Lowe et al., whose action marginal is a
        *mean* over messages instead of the weighted sum; this adds exactly ln|M| to every
        context. Off by default; use it only to compare with numbers from that code.
    reduce : bool
        Average over contexts (default) or return one value per context.
    base : float, optional
        None for nats, 2 for bits.

    Examples
    --------
    METRICS.md case 10 (|M| = 4, uniform speaker):

    >>> import numpy as np
    >>> ignore = np.full((4, 3), 1 / 3)
    >>> float(causal_influence_of_communication(ignore, np.full(4, 0.25)))
    0.0
    >>> round(float(causal_influence_of_communication(
    ...     ignore, np.full(4, 0.25), lowe_compat=True)), 6)
    1.386294
    >>> float(causal_influence_of_communication(np.eye(4), np.eye(4)[0]))
    0.0
    """
    cond = np.asarray(p_action_given_do_message, dtype=np.float64)
    pm = np.asarray(p_message, dtype=np.float64)
    if cond.ndim < 2 or pm.shape != cond.shape[:-1]:
        raise ShapeError(
            f"expected p_action_given_do_message of shape (..., M, A) and p_message of shape "
            f"(..., M); got {describe(cond)} and {describe(pm)}"
        )
    for name, arr in (("p_action_given_do_message", cond), ("p_message", pm)):
        if not np.all(np.isfinite(arr)) or arr.min() < 0:
            raise InvalidDistributionError(f"{name}: probabilities must be finite and >= 0")
        if not np.allclose(arr.sum(axis=-1), 1.0, atol=1e-6):
            raise InvalidDistributionError(
                f"{name}: each distribution (last axis) must sum to 1; got sums in "
                f"[{arr.sum(axis=-1).min():.6g}, {arr.sum(axis=-1).max():.6g}]; normalise it"
            )
    joint = pm[..., :, None] * cond
    marginal = joint.mean(axis=-2) if lowe_compat else joint.sum(axis=-2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(joint > 0, np.log(cond) - np.log(marginal[..., None, :]), 0.0)
    per_context = (joint * ratio).sum(axis=(-2, -1)) / _scale(base)
    return per_context.mean() if reduce else per_context


def context_independence(
    messages: Any,
    actions: Any,
    *,
    num_symbols: int | None = None,
    num_actions: int | None = None,
) -> float:
    r"""Context independence (Bogin et al. 2018) with the semantics of Lowe et al.'s code.

    With :math:`p(a \mid c)` and :math:`p(c \mid a)` estimated from counts and
    :math:`c^*(a) = \arg\max_c p(a \mid c)` (first symbol on ties):

    .. math:: \mathrm{CI} = \frac{1}{|A|} \sum_a p(a \mid c^*(a))\, p(c^*(a) \mid a)

    1 for a one-to-one code; for independent uniform symbols and actions it is
    small (0.125 for |M| = 4, |A| = 2: each action is matched with its first symbol).
    Actions never taken contribute 0 (their conditional is undefined), with a warning.

    Parameters
    ----------
    messages, actions : array_like of int, shape (T,)
        One agent's symbols and the actions they are compared with.
    num_symbols, num_actions : int, optional
        Alphabet sizes |M| and |A|.

    Examples
    --------
    >>> context_independence([0, 1, 2, 3] * 2, [0, 0, 0, 0, 1, 1, 1, 1])
    0.125
    >>> context_independence([0, 1, 2], [2, 0, 1])
    1.0
    """
    msg = _agents_matrix(messages, "messages")[:, 0]
    act = _agents_matrix(actions, "actions")[:, 0]
    if msg.shape != act.shape:
        raise ShapeError(
            f"messages and actions must have equal length; got {msg.shape}, {act.shape}"
        )
    m = _size(msg[:, None], num_symbols, "messages")
    a = _size(act[:, None], num_actions, "actions")
    counts = np.bincount(msg * a + act, minlength=m * a).reshape(m, a).astype(np.float64)
    n_c = counts.sum(axis=1, keepdims=True)
    n_a = counts.sum(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_a_given_c = np.where(n_c > 0, counts / n_c, 0.0)
        p_c_given_a = np.where(n_a > 0, counts / n_a, 0.0)
    best = np.argmax(p_a_given_c, axis=0)  # c*(a), first index on ties
    cols = np.arange(a)
    if (n_a == 0).any():
        warnings.warn(
            f"{int((n_a == 0).sum())} actions never occur; they contribute 0",
            UndefinedConditionalWarning,
            stacklevel=2,
        )
    return float(np.mean(p_a_given_c[best, cols] * p_c_given_a[best, cols]))


def speaker_consistency_from_counts(
    tables: Any, *, definition: str | None = None, base: float | None = None
) -> Any:
    r"""Speaker consistency from each agent's (message, action) count table.

    What :func:`speaker_consistency` computes once it has tabulated the labels, for callers
    that already hold the counts (streamed datasets): its cost does not grow with the number
    of steps.

    Parameters
    ----------
    tables : array_like, shape (N, M, A) or (M, A)
        ``tables[k, c, a]``: steps at which agent k sent symbol c and took action a. |M| and |A|
        (which set the entropy maxima of the Jaques forms) are the table's sizes.
    definition : {"jaques", "jaques_literal", "mi"}
        As in :func:`speaker_consistency`.
    base : float, optional
        Unit of the ``"mi"`` form.

    Returns
    -------
    float or numpy.ndarray
        ``"mi"``: I(m^k; a^k) per agent, shape (N,) ((1,) for one table); the Jaques forms: a
        float.

    Examples
    --------
    >>> import numpy as np
    >>> counts = np.array([[4, 1], [1, 4]])  # METRICS.md case 9, 10 steps
    >>> round(speaker_consistency_from_counts(counts, definition="jaques"), 6)
    0.278072
    """
    if definition not in SC_DEFINITIONS:
        raise ConfigError(
            f"speaker_consistency: pass definition= one of {SC_DEFINITIONS}; got {definition!r}"
        )
    tables = np.asarray(tables)
    if tables.ndim == 2:
        tables = tables[None]
    if tables.ndim != 3 or not np.issubdtype(tables.dtype, np.number):
        raise ShapeError(
            f"tables: expected numeric counts of shape (N, M, A) or (M, A); got "
            f"{tables.dtype} array of shape {tables.shape}"
        )
    if (tables < 0).any():
        raise ShapeError("tables: expected non-negative counts; got a negative entry")
    m, a = tables.shape[1], tables.shape[2]
    if definition == "mi":
        return mutual_information_from_counts(tables, base=base)
    if m < 2 or a < 2:
        raise ConfigError(
            f"the Jaques forms divide by log|A| and log|M|, which needs at least 2 symbols and "
            f"2 actions; got |M| = {m}, |A| = {a}; pass num_symbols / num_actions"
        )
    h_a_given_c = _entropy_counts(tables, axis=-1) / math.log(a)  # (N, M)
    h_c_given_a = _entropy_counts(tables, axis=-2) / math.log(m)  # (N, A)
    c_defined = tables.sum(axis=-1) > 0
    a_defined = tables.sum(axis=-2) > 0
    if not (c_defined.all() and a_defined.all()):
        warnings.warn(
            f"{int((~c_defined).sum())} (agent, symbol) and {int((~a_defined).sum())} "
            f"(agent, action) conditionals never occur and were skipped",
            UndefinedConditionalWarning,
            stacklevel=2,
        )
    first = np.where(c_defined, 1.0 - h_a_given_c, 0.0)
    second = np.where(a_defined, 1.0 - h_c_given_a, 0.0)
    if definition == "jaques_literal":
        return float(0.5 * (first.sum() + second.sum()))
    with np.errstate(invalid="ignore"):
        per_agent = 0.5 * (
            first.sum(axis=1) / c_defined.sum(axis=1) + second.sum(axis=1) / a_defined.sum(axis=1)
        )
    return float(np.nanmean(per_agent))
