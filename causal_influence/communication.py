r"""Measures of emergent communication: speaker consistency, instantaneous coordination,
moments of high influence and the causal influence of communication (CIC).

Two incompatible definitions share the name *speaker consistency* in the literature, so
:func:`speaker_consistency` makes the caller name one (``docs/metrics.md``, section
"Communication measures"):

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
from typing import Any, NamedTuple

import numpy as np

from causal_influence.counterfactual import expected_influence
from causal_influence.errors import (
    ConfigError,
    InvalidDistributionError,
    ShapeError,
    UndefinedConditionalWarning,
    describe,
)
from causal_influence.information import (
    ESTIMATORS,
    entropy_from_counts,
    mutual_information_from_counts,
)
from causal_influence.noise import NOISE_FLOOR_NATS
from causal_influence.validation import (
    alphabet_size,
    as_episode_starts,
    as_label_matrix,
    as_labels,
    check_choice,
    check_probabilities,
    check_shape,
    log_base,
    next_step_valid,
    to_numpy,
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

#: What each definition means, appended to the message of a missing or unknown one.
SC_HINT = (
    "'jaques' = Eq. 8 normalised to [0, 1], 'jaques_literal' = Eq. 8 as printed, 'mi' = Lowe "
    "et al.'s I(m; a); there is no default because they differ in value, range and unit"
)


def _paired_iv(
    first: Any, second: Any, names: tuple[str, str], sizes: tuple[int | None, int | None]
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Two label matrices (T, N) of the same shape and their alphabet sizes."""
    x = as_label_matrix(first, names[0])
    y = as_label_matrix(second, names[1])
    if x.shape != y.shape:
        raise ShapeError(
            f"{names[0]} and {names[1]}: expected the same shape, (T,) or (T, N); got "
            f"{np.shape(first)} and {np.shape(second)}; pair each step's values"
        )
    return x, y, _size(x, sizes[0], names[0]), _size(y, sizes[1], names[1])


def _size(labels: np.ndarray, given: int | None, name: str) -> int:
    option = "num_actions" if name == "actions" else "num_symbols"
    return alphabet_size(labels, given, name, option=option)


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
    ``docs/metrics.md``, closed-form case 9: p(m, a) = [[0.4, 0.1], [0.1, 0.4]].

    >>> m = [0] * 5 + [1] * 5
    >>> a = [0, 0, 0, 0, 1, 1, 1, 1, 1, 0]
    >>> round(speaker_consistency(m, a, definition="jaques"), 6)
    0.278072
    >>> round(speaker_consistency(m, a, definition="jaques_literal"), 6)
    0.556144
    >>> round(speaker_consistency(m, a, definition="mi", base=2), 6)
    0.278072
    """
    check_choice("definition", definition, SC_DEFINITIONS, hint=SC_HINT)
    one_agent = np.ndim(messages) == 1
    msg, act, m, a = _paired_iv(
        messages, actions, ("messages", "actions"), (num_symbols, num_actions)
    )
    tables = _pair_tables(msg, act, m, a)  # (N, M, A)
    value = speaker_consistency_from_counts(tables, definition=definition, base=base)
    if definition == "mi" and one_agent:
        return float(value[0])
    return value


def lagged_pairs(num_steps: int, lag: int, episode_ids: Any = None) -> np.ndarray:
    """Indices t such that (t, t + lag) lie in the same episode.

    The pairs of :func:`causal_influence.validation.next_step_valid` for episodes given by
    their ids (a new episode begins where the id changes).

    Examples
    --------
    >>> lagged_pairs(5, 1, [0, 0, 0, 1, 1])
    array([0, 1, 3])
    """
    starts = as_episode_starts(num_steps, episode_ids=episode_ids)
    return np.flatnonzero(next_step_valid(starts, lag=lag))


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

    @classmethod
    def of_pairs(cls, values: np.ndarray, counts: np.ndarray) -> CoordinationResult:
        """The result of per-pair values (N, N) computed from ``counts`` (N, N) pooled pairs:
        NaN where no pair was kept and on the diagonal, and the maximum over ordered pairs."""
        n = values.shape[0]
        matrix = np.where(counts > 0, values, np.nan)
        matrix[np.arange(n), np.arange(n)] = np.nan
        if n > 1 and np.isfinite(matrix).any():
            flat = int(np.nanargmax(matrix))
            best = (flat // n, flat % n)
            top = float(matrix[best])
        else:
            best, top = (-1, -1), float("nan")
        return cls(matrix=matrix, max=top, argmax=best, counts=counts.astype(np.int64))


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
    estimator : str
        A name registered in :data:`causal_influence.information.ESTIMATORS`.
    num_symbols, num_actions : int, optional
        Alphabet sizes.
    base : float, optional
        None for nats, 2 for bits.

    Returns
    -------
    CoordinationResult

    Examples
    --------
    ``docs/metrics.md``, closed-form case 11: IC over all steps, then over the high-influence
    steps only.

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
    args = _ic_iv(source, actions, lag, episode_ids, mask, estimator, num_symbols, num_actions)
    n = args.source.shape[1]
    x = args.source[args.steps]  # (P, N) speaker k at t
    y = args.actions[args.steps + lag]  # (P, N) listener j at t + lag
    kk, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    pair = (kk * n + jj)[None]  # (1, N, N)
    code = (pair * args.num_symbols + x[:, :, None]) * args.num_actions + y[:, None, :]
    weights = np.broadcast_to(args.keep[:, :, None], code.shape).ravel().astype(np.float64)
    cells = n * n * args.num_symbols * args.num_actions
    tables = np.bincount(code.ravel(), weights=weights, minlength=cells)
    tables = tables.reshape(n, n, args.num_symbols, args.num_actions)
    return _coordination(tables, estimator, base)


class _CoordinationArgs(NamedTuple):
    source: np.ndarray  # (T, N) labels
    actions: np.ndarray  # (T, N) labels
    num_symbols: int
    num_actions: int
    steps: np.ndarray  # (P,) the steps t whose t + lag lies in the same episode
    keep: np.ndarray  # (P, N) bool: pair kept for speaker k


def _ic_iv(
    source: Any,
    actions: Any,
    lag: int,
    episode_ids: Any,
    mask: Any,
    estimator: str,
    num_symbols: int | None,
    num_actions: int | None,
) -> _CoordinationArgs:
    ESTIMATORS.lookup(estimator)
    src, act, m, a = _paired_iv(source, actions, ("source", "actions"), (num_symbols, num_actions))
    t_steps, n = src.shape
    steps = lagged_pairs(t_steps, lag, episode_ids)
    if mask is None:
        return _CoordinationArgs(src, act, m, a, steps, np.ones((steps.size, n), dtype=bool))
    mk = np.asarray(mask, dtype=bool)
    if mk.ndim == 1:
        mk = np.broadcast_to(mk[:, None], (t_steps, n))
    if mk.shape != (t_steps, n):
        raise ShapeError(
            f"mask: expected shape ({t_steps}, {n}) or ({t_steps},); got {describe(mk)}"
        )
    return _CoordinationArgs(src, act, m, a, steps, mk[steps])


def _coordination(tables: np.ndarray, estimator: str, base: float | None) -> CoordinationResult:
    """MI of every ordered pair's table (N, N, M, A), NaN on the diagonal, and its maximum."""
    counts = tables.sum(axis=(-2, -1))
    matrix = mutual_information_from_counts(tables, estimator=estimator, base=base)
    return CoordinationResult.of_pairs(matrix, counts)


def influential_moments(
    influence: Any, *, episode_ids: Any = None, floor: float | None = None
) -> np.ndarray:
    r"""Steps of high influence: :math:`c^k_t \ge \operatorname{mean}_t(c^k)` per agent,
    with rounding residue treated as 0.

    Jaques et al. 2019 (section 5.1) report that IC is high only at these moments and that an
    agent is above its own mean influence on fewer than 10 % of steps.

    Comparisons respect the noise floor f (:mod:`causal_influence.noise`): values below f
    count as exactly 0, and step t is a moment when :math:`c_t \ge \bar c - f`, so ties with
    the mean are decided by the values, not by their last bits. Consequences, by design:

    - an agent whose influence is below the floor at every step (it influences no one) has
      **every** step as a moment (nothing stands out, so nothing is selected: comparisons at
      its moments equal comparisons over all steps);
    - an agent with constant influence likewise has every step as a moment;
    - adding noise below the floor (e.g. 1e-16) to the influence changes no moment.

    Parameters
    ----------
    influence : array_like, shape (T, N) or (T,)
        Per-step influence of each agent (e.g. an influencer's reward, the pairwise tensor
        summed over influencees).
    episode_ids : array_like of shape (T,), optional
        When given, the mean is taken per agent within each episode.
    floor : float, optional
        The noise floor (default :func:`~causal_influence.noise.noise_floor` of float64,
        1e-10; pass ``noise_floor(dtype)`` for values computed in lower precision).

    Returns
    -------
    numpy.ndarray of bool with the shape of ``influence``

    Examples
    --------
    >>> influential_moments([2, 2, 2, 2, 0, 0, 0, 0])
    array([ True,  True,  True,  True, False, False, False, False])
    >>> influential_moments([0.0, 2e-16, 0.0, 1e-17])  # rounding residue: every step
    array([ True,  True,  True,  True])
    """
    c, ids, f = _moments_iv(influence, episode_ids, floor)
    c = np.where(np.abs(c) < f, 0.0, c)
    if ids is None:
        return c >= c.mean(axis=0, keepdims=True) - f
    _, inv = np.unique(ids, return_inverse=True)
    flat = c.reshape(c.shape[0], -1)
    sums = np.zeros((inv.max() + 1, flat.shape[1]))
    np.add.at(sums, inv, flat)
    means = sums / np.bincount(inv)[:, None]
    return (flat >= means[inv] - f).reshape(c.shape)


def _moments_iv(
    influence: Any, episode_ids: Any, floor: float | None
) -> tuple[np.ndarray, np.ndarray | None, float]:
    c = np.asarray(influence, dtype=np.float64)
    if c.ndim not in (1, 2) or c.shape[0] == 0:
        raise ShapeError(f"influence: expected shape (T,) or (T, N); got {describe(c)}")
    if np.isnan(c).any():
        raise InvalidDistributionError("influence: contains NaN; drop or fill those steps first")
    f = NOISE_FLOOR_NATS if floor is None else float(floor)
    if not np.isfinite(f) or f < 0:
        raise ConfigError(f"floor: expected a finite value >= 0; got {floor!r}")
    if episode_ids is None:
        return c, None, f
    ids = check_shape(to_numpy(episode_ids), "episode_ids", (c.shape[0],), hint="one id per step")
    return c, ids, f


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

    averaged over contexts x (leading dimensions): the speaker's expected influence
    (:func:`~causal_influence.counterfactual.expected_influence`, computed by it). A listener
    that ignores the message scores exactly 0; a speaker with a deterministic message scores 0
    whatever the listener does (the listener's response to other messages is measured by
    :func:`~causal_influence.counterfactual.interventional_responsiveness`). Never negative.

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
    ``docs/metrics.md``, closed-form case 10 (|M| = 4, uniform speaker):

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
    cond, pm, scale = _cic_iv(p_action_given_do_message, p_message, base)
    with np.errstate(divide="ignore"):
        log_cond, log_pm = np.log(cond), np.log(pm)
    # The interventional MI is the policy-weighted influence (one formula, in the core);
    # every row of positive weight equal gives exactly 0, and it is never negative.
    per_context = np.asarray(expected_influence(log_cond, log_pm), dtype=np.float64)
    if lowe_compat:  # the released code's marginal is a mean: + ln|M| times the total mass
        per_context = per_context + math.log(cond.shape[-2]) * pm.sum(axis=-1)
    per_context = per_context / scale
    return per_context.mean() if reduce else per_context


def _cic_iv(
    p_action_given_do_message: Any, p_message: Any, base: float | None
) -> tuple[np.ndarray, np.ndarray, float]:
    scale = log_base(base)
    cond = np.asarray(p_action_given_do_message, dtype=np.float64)
    pm = np.asarray(p_message, dtype=np.float64)
    if cond.ndim < 2 or pm.shape != cond.shape[:-1]:
        raise ShapeError(
            f"expected p_action_given_do_message of shape (..., M, A) and p_message of shape "
            f"(..., M); got {describe(cond)} and {describe(pm)}"
        )
    check_probabilities(cond, "p_action_given_do_message")
    check_probabilities(pm, "p_message")
    return cond, pm, scale


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
    msg, act, m, a = _paired_iv(
        as_labels(messages, "messages", ndim=1),
        as_labels(actions, "actions", ndim=1),
        ("messages", "actions"),
        (num_symbols, num_actions),
    )
    counts = _pair_tables(msg, act, m, a)[0].astype(np.float64)
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
    >>> counts = np.array([[4, 1], [1, 4]])  # docs/metrics.md case 9, 10 steps
    >>> round(speaker_consistency_from_counts(counts, definition="jaques"), 6)
    0.278072
    """
    tables = _sc_counts_iv(tables, definition, base)
    m, a = tables.shape[1], tables.shape[2]
    if definition == "mi":
        return mutual_information_from_counts(tables, base=base)
    h_a_given_c = entropy_from_counts(tables, axis=-1) / math.log(a)  # (N, M)
    h_c_given_a = entropy_from_counts(tables, axis=-2) / math.log(m)  # (N, A)
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


def _sc_counts_iv(tables: Any, definition: str | None, base: float | None) -> np.ndarray:
    """Count tables as (N, M, A), checked for the definition (Jaques forms need M, A >= 2)."""
    check_choice("definition", definition, SC_DEFINITIONS, hint=SC_HINT)
    log_base(base)
    counts = np.asarray(tables)
    if counts.ndim == 2:
        counts = counts[None]
    if counts.ndim != 3 or not np.issubdtype(counts.dtype, np.number):
        raise ShapeError(
            f"tables: expected numeric counts of shape (N, M, A) or (M, A); got "
            f"{counts.dtype} array of shape {counts.shape}"
        )
    if (counts < 0).any():
        raise ShapeError("tables: expected non-negative counts; got a negative entry")
    m, a = counts.shape[1], counts.shape[2]
    if definition != "mi" and (m < 2 or a < 2):
        raise ConfigError(
            f"the Jaques forms divide by log|A| and log|M|, which needs at least 2 symbols and "
            f"2 actions; got |M| = {m}, |A| = {a}; pass num_symbols / num_actions"
        )
    return counts
