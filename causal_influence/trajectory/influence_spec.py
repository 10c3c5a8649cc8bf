r"""What gives stored influence its meaning: :class:`InfluenceSpec`, and the stored layout.

A trajectory's ``influence`` (T, N, N) and ``counterfactual_logits`` (T, N, N, K, A) mean
nothing without the options they were computed with: which of the influencer's variables was
replaced (its action or its message), when the influencee reads it (the same step or the
next one), which divergence compared the distributions, over which distribution of the
influencer's values the marginal was taken, and the log base. :class:`InfluenceSpec` holds
them, validated, in :attr:`TrajectoryMeta.influence_spec
<causal_influence.trajectory.TrajectoryMeta.influence_spec>`; every producer writes it and the
analysis reads it (nothing is inferred from other metadata).

Stored layout
-------------
Row t of ``influence`` and of ``counterfactual_logits`` is **credited to the step t at which
the influencer k took the value** (its action, or the message it sent). With
``alignment="same_step"`` the influencee j acts on it at the same step; with
``alignment="next_step"`` (messages, which j hears one step later, and models of other agents
that predict j's next action) j acts on it at t + 1::

    same_step   counterfactual_logits[t, k, j, v, :] = log p(a^j_t     | k's value at t := v)

        t:        0        1        2   | 0        1        (episode ends after t = 2)
        k:       v_0      v_1      v_2  | v_0      v_1
                  |        |        |   |  |        |
                  v        v        v   |  v        v
        j:       a_0      a_1      a_2  | a_0      a_1
        row:      0        1        2   |  3        4       every row holds logits

    next_step   counterfactual_logits[t, k, j, v, :] = log p(a^j_(t+1) | k's value at t := v)

        t:        0        1        2   | 0        1
        k:       m_0      m_1      m_2  | m_0      m_1
                    \        \          |    \
                     v        v         |     v
        j:       a_0      a_1      a_2  | a_0      a_1
        row:      0        1        2   |  3        4
                 a_1|m_0  a_2|m_1  -inf |  a_1|m_0  (cut)  row 2: no step 3 in the episode

At the last step of an episode there is no t + 1, so with ``next_step`` those rows are
**absent: every entry is -inf** (and the influence there is not measured). A Trajectory
checks this when it is built (:func:`check_counterfactual_layout`): a finite row at the last
step of an episode that the trajectory continues past is refused, because it is the signature
of logits stored at the step they were computed (j's policy at t + 1 written to row t + 1),
which silently shifts CIC and every next-step measure by one step. A rollout loop computes
them at t + 1; :func:`stored_counterfactuals` moves such a buffer (the layout
:func:`causal_influence.influence_reward` takes) to the stored layout.

Rows of counterfactual values an influencer cannot take (an agent with fewer actions than
K, or an agent that does not speak) are absent in the same way, and so are logits of actions
the influencee does not have (see :class:`~causal_influence.trajectory.TrajectoryMeta`,
``agent_num_actions``). The core's functions need a distribution in every row:
:func:`fill_absent` makes absent rows uniform (they have weight 0, so no value changes).

Examples
--------
>>> from causal_influence.trajectory import InfluenceSpec
>>> spec = InfluenceSpec(alignment="next_step", variable="messages", log_base=2)
>>> spec.divergence, spec.intervention, spec.log_base
('kl', 'policy', 2.0)
>>> spec.lag, spec.unit
(1, 'bits')
>>> InfluenceSpec.from_dict(spec.to_dict()) == spec
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from causal_influence.divergences import DIVERGENCES, Divergence
from causal_influence.engine import ALIGNMENT_HINT, ALIGNMENTS
from causal_influence.errors import ConfigError, DTypeError, ShapeError, describe
from causal_influence.trajectory.arrays import located_error
from causal_influence.validation import (
    as_episode_starts,
    check_choice,
    check_probabilities,
    log_base,
    next_step_valid,
    to_numpy,
)

__all__ = [
    "INFLUENCE_VARIABLES",
    "INTERVENTIONS",
    "LEGACY_KEYS",
    "InfluenceSpec",
    "absent_rows",
    "check_counterfactual_layout",
    "fill_absent",
    "spec_from_legacy",
    "stored_counterfactuals",
]

#: The influencer's variables a stored influence may be of.
INFLUENCE_VARIABLES: tuple[str, ...] = ("actions", "messages")
#: Named distributions of the influencer's counterfactual values: its own policy (Jaques et
#: al. 2019: the marginal is the mixture weighted by k's policy) or uniform over its values.
INTERVENTIONS: tuple[str, ...] = ("policy", "uniform")
#: Keys of the free-form ``extra`` dict in which files before schema version 2 kept the
#: influence options; :func:`spec_from_legacy` converts them.
LEGACY_KEYS: tuple[str, ...] = ("influence_alignment", "influence_variable", "divergence")


@dataclass(frozen=True)
class InfluenceSpec:
    """The options that give a trajectory's stored influence its meaning.

    Parameters
    ----------
    alignment : {"same_step", "next_step"}
        When the influencee acts on the influencer's value: at the same step
        (:math:`a^k_t \\to a^j_t`, centralised basic influence) or at the next one
        (:math:`m^k_t \\to a^j_{t+1}`: messages, models of other agents). Rows are credited to
        t in both cases (see the module docstring for the diagram).
    variable : {"actions", "messages"}, default "actions"
        The influencer's variable whose values were replaced: K = ``num_actions`` or
        ``num_symbols``.
    divergence : str, default "kl"
        Name of the divergence (:data:`causal_influence.DIVERGENCES`; a registered
        :class:`~causal_influence.divergences.Divergence` is taken by its name).
    intervention : "policy", "uniform" or sequence of float, default "policy"
        Distribution over the influencer's K values that weights the marginal: its own policy
        (the paper), uniform over the values it can take, or explicit probabilities (K,).
    log_base : float or None, default None
        Base of the logarithms of the stored values (None: nats; 2: bits).

    Raises
    ------
    ConfigError
        An unknown alignment, variable, intervention or divergence (a divergence must be
        registered, also before a file naming it is loaded), or an invalid base.
    InvalidDistributionError
        Explicit intervention probabilities that are not a distribution.

    Examples
    --------
    >>> InfluenceSpec(alignment="same_step").to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'alignment': 'same_step', 'variable': 'actions', 'divergence': 'kl',
     'intervention': 'policy', 'log_base': None}
    >>> InfluenceSpec(alignment="next_step", intervention=[0.5, 0.5]).intervention
    (0.5, 0.5)
    >>> InfluenceSpec(alignment="later")
    Traceback (most recent call last):
    ...
    causal_influence.errors.ConfigError: alignment: expected one of ['same_step', 'next_step']; ...
    """

    alignment: str
    variable: str = "actions"
    divergence: str = "kl"
    intervention: str | tuple[float, ...] = "policy"
    log_base: float | None = None

    def __post_init__(self) -> None:
        check_choice("alignment", self.alignment, ALIGNMENTS, hint=ALIGNMENT_HINT)
        check_choice(
            "variable",
            self.variable,
            INFLUENCE_VARIABLES,
            hint="the influencer's variable whose values the counterfactuals replace",
        )
        divergence = self.divergence
        if isinstance(divergence, Divergence):
            divergence = divergence.name
        if not isinstance(divergence, str):
            raise DTypeError(
                f"divergence: expected the name of a registered divergence; got "
                f"{describe(divergence)}; register a callable with register_divergence and "
                f"store its name"
            )
        DIVERGENCES.lookup(divergence)
        base = None if self.log_base is None else self.log_base
        if isinstance(base, bool) or (base is not None and not isinstance(base, (int, float))):
            raise ConfigError(f"log_base: expected None or a number; got {describe(base)}")
        log_base(base)
        object.__setattr__(self, "divergence", divergence)
        object.__setattr__(self, "log_base", None if base is None else float(base))
        object.__setattr__(self, "intervention", _intervention(self.intervention))

    @property
    def lag(self) -> int:
        """0 for same-step, 1 for next-step alignment."""
        return 0 if self.alignment == "same_step" else 1

    @property
    def unit(self) -> str:
        """Unit of the stored values (``"nats"``, ``"bits"``, ``"probability"``, ...)."""
        return DIVERGENCES[self.divergence].unit_label(self.log_base)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields (an explicit intervention as a list)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        if isinstance(out["intervention"], tuple):
            out["intervention"] = list(out["intervention"])
        return out

    @classmethod
    def of_result(cls, result: Any, *, variable: str = "actions") -> InfluenceSpec:
        """The spec of an :class:`~causal_influence.engine.InfluenceResult` (its alignment,
        divergence and base; the influencer's ``variable`` is the caller's to say).

        Examples
        --------
        >>> import numpy as np
        >>> import causal_influence as ci
        >>> model = ci.TabularModel(np.zeros((4, 2, 2, 3, 3)), np.zeros((4, 2, 3)),
        ...                         np.zeros((4, 2), int))
        >>> result = ci.pairwise_influence(model, alignment="same_step", divergence="jsd")
        >>> InfluenceSpec.of_result(result).divergence
        'jsd'
        """
        return cls(
            alignment=result.alignment,
            variable=variable,
            divergence=result.divergence,
            log_base=result.base,
        )

    @classmethod
    def from_dict(cls, data: InfluenceSpec | Mapping[str, Any]) -> InfluenceSpec:
        """Inverse of :meth:`to_dict`.

        Raises
        ------
        ConfigError
            On unknown keys or a missing alignment (and as the constructor).
        """
        if isinstance(data, InfluenceSpec):
            return data
        if not isinstance(data, Mapping):
            raise DTypeError(
                f"influence_spec: expected an InfluenceSpec or a dict of its fields; got "
                f"{describe(data)}"
            )
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(f"influence_spec: unknown keys {unknown}; its fields are {known}")
        if data.get("alignment") is None:
            raise ConfigError(
                "influence_spec: missing alignment ('same_step' or 'next_step'); " + ALIGNMENT_HINT
            )
        return cls(**dict(data))


def _intervention(value: Any) -> str | tuple[float, ...]:
    if isinstance(value, str):
        return str(
            check_choice(
                "intervention",
                value,
                INTERVENTIONS,
                hint="or give explicit probabilities of the influencer's K values",
            )
        )
    if not isinstance(value, Sequence) and not isinstance(value, np.ndarray):
        raise DTypeError(
            f"intervention: expected 'policy', 'uniform' or probabilities (K,); got "
            f"{describe(value)}"
        )
    probs = np.asarray(check_probabilities(np.asarray(value, dtype=np.float64), "intervention"))
    if probs.ndim != 1 or probs.size == 0:
        raise ShapeError(
            f"intervention: expected probabilities of shape (K,); got {describe(probs)}"
        )
    return tuple(float(p) for p in probs)


def spec_from_legacy(extra: Mapping[str, Any]) -> tuple[InfluenceSpec | None, dict[str, Any]]:
    """The influence options of metadata written before schema version 2, and the rest.

    Files of schema version 1 kept them in ``extra``: ``influence_alignment``,
    ``influence_variable`` and ``divergence``. The variable of such a file defaults to
    ``"messages"`` when its ``setting`` is ``"comm"`` (the only producer that left it out
    did so in that setting), else ``"actions"``. An alignment of ``"none"`` (no influence)
    gives no spec. Only old metadata is read this way; new metadata carries the spec.

    Returns
    -------
    spec : InfluenceSpec or None
        None when ``extra`` has no ``influence_alignment``.
    extra : dict
        ``extra`` without the converted keys.

    Examples
    --------
    >>> spec, rest = spec_from_legacy({"setting": "comm", "influence_alignment": "next_step",
    ...                                "divergence": "jsd", "map": "small"})
    >>> spec.variable, spec.divergence, rest
    ('messages', 'jsd', {'setting': 'comm', 'map': 'small'})
    """
    rest = dict(extra)
    if "influence_alignment" not in rest:
        return None, rest
    alignment = rest.pop("influence_alignment")
    variable = rest.pop("influence_variable", None)
    divergence = rest.pop("divergence", None)
    if alignment in (None, "none"):
        return None, rest
    if variable is None:
        variable = "messages" if rest.get("setting") == "comm" else "actions"
    spec = InfluenceSpec(alignment=alignment, variable=variable, divergence=divergence or "kl")
    return spec, rest


# --------------------------------------------------------------------------------------------
# the stored layout


def absent_rows(starts: np.ndarray, spec: InfluenceSpec | None) -> np.ndarray:
    """Steps whose counterfactual rows are absent (all -inf) in the stored layout, bool (T,).

    With next-step alignment: the last step of every episode that the trajectory continues
    past (``starts[t + 1]``); the trajectory's own last step may belong to an episode cut by
    the end of the data, so it is not forced. None for same-step alignment or no spec.

    Examples
    --------
    >>> spec = InfluenceSpec(alignment="next_step")
    >>> absent_rows(np.array([True, False, True, False]), spec)
    array([False,  True, False, False])
    """
    if spec is None or spec.alignment != "next_step" or starts.shape[0] == 0:
        return np.zeros(starts.shape[0], dtype=bool)
    out = ~next_step_valid(starts, lag=1)
    out[-1] = False
    return out


def fill_absent(logits: Any) -> np.ndarray:
    """Logits whose absent distributions (every entry -inf) read as uniform, for functions
    that need a distribution in every row.

    An absent row of stored counterfactual logits is a value the influencer cannot take (its
    policy gives it weight 0, so any distribution gives the same influence), or a step
    without a next one; a prior that is all -inf belongs to an influencer without values (an
    agent that does not speak), whose pairs have no influence to compute. Filled, such rows
    can go to :func:`causal_influence.influence`, :func:`causal_influence.expected_influence`
    and CIC without changing any value that exists.

    Examples
    --------
    >>> fill_absent(np.array([[0.0, -np.inf], [-np.inf, -np.inf]]))
    array([[  0., -inf],
           [  0.,   0.]])
    """
    arr = to_numpy(logits)
    absent = np.isneginf(arr).all(axis=-1, keepdims=True)
    return np.where(absent, 0.0, arr) if absent.any() else arr


def check_counterfactual_layout(
    counterfactual_logits: np.ndarray,
    starts: np.ndarray,
    episode_ids: np.ndarray,
    spec: InfluenceSpec | None,
) -> None:
    """Refuse next-step counterfactual rows that carry information where t + 1 is not in the
    episode of t.

    At the last step of an episode the rows of a pair must be absent (-inf) or equal for
    every value of the influencer (no dependence, e.g. the filler of a pair nobody gave):
    rows that differ there describe a step that does not exist, the signature of logits
    stored one step late.

    Parameters
    ----------
    counterfactual_logits : ndarray of shape (T, N, N, K, A)
    starts : ndarray of bool, shape (T,)
        Episode starts.
    episode_ids : ndarray of int, shape (T,)
    spec : InfluenceSpec or None

    Raises
    ------
    ShapeError
        Rows that differ between the influencer's values at the last step of an episode under
        next-step alignment (names the step, the episode and the pair, and the fix).

    Examples
    --------
    >>> cf = np.zeros((2, 1, 1, 2, 2))
    >>> spec = InfluenceSpec(alignment="next_step")
    >>> check_counterfactual_layout(cf, np.array([True, True]), np.array([0, 1]), spec)
    >>> cf[0, 0, 0, 1] = [1.0, -1.0]  # the rows now depend on the influencer's value
    >>> check_counterfactual_layout(cf, np.array([True, True]), np.array([0, 1]), spec)
    Traceback (most recent call last):
    ...
    causal_influence.errors.ShapeError: counterfactual_logits: ... at step 0 ...
    """
    rows = np.flatnonzero(absent_rows(starts, spec))
    if rows.size == 0:
        return
    informative = _informative_pairs(counterfactual_logits[rows])  # (R, N, N)
    if not informative.any():
        return
    r, k, j = (int(i) for i in np.argwhere(informative)[0])
    t = int(rows[r])
    raise located_error(
        ShapeError,
        "counterfactual_logits",
        f"counterfactual_logits: with alignment='next_step' row t holds influencee j's logits "
        f"at t + 1 under influencer k's value at t, so the last step of an episode has none; "
        f"got rows that depend on k's value at step {t} (the last step of episode "
        f"{int(episode_ids[t])}), pair k={k}, j={j}. Rows computed at the step the influencee "
        f"acts belong one row earlier: convert the buffer with "
        f"causal_influence.stored_counterfactuals (or set these rows to -inf)",
        (t, k),
    )


def _informative_pairs(cf: np.ndarray) -> np.ndarray:
    """bool (..., N, N): whether a pair's rows (..., K, A) differ between the influencer's
    values, as distributions (absent rows, all -inf, are left out)."""
    present = np.isfinite(cf).any(axis=-1)  # (..., K)
    with np.errstate(invalid="ignore", divide="ignore"):
        top = np.where(present, cf.max(axis=-1, initial=-np.inf), 0.0)
        norm = cf - top[..., None]
        norm = norm - np.log(np.exp(norm).sum(axis=-1, keepdims=True))  # log-probabilities
        first = np.argmax(present, axis=-1)  # the first present row of each pair
        ref = np.take_along_axis(norm, first[..., None, None], axis=-2)
        same = (norm == ref) | (np.abs(norm - ref) <= 1e-9)
    differs = (~same).any(axis=-1) & present & np.take_along_axis(present, first[..., None], -1)
    return np.asarray(differs.any(axis=-1))


def stored_counterfactuals(
    counterfactual_logits: Any,
    *,
    alignment: str,
    predicts_next_step: bool = False,
    dones: Any = None,
    episode_starts: Any = None,
) -> np.ndarray:
    """A rollout buffer of counterfactual logits in the stored layout of a trajectory.

    Takes the layout of :func:`causal_influence.influence_reward` (row t: the influencees'
    policy evaluated at step t; with ``alignment="next_step"`` and a policy, T + 1 rows may be
    given, the last one evaluated after the batch) and returns the stored layout (row t
    credited to the step of the influencer's value; see the module docstring): same-step rows
    and a model of other agents' predictions (``predicts_next_step=True``) are already
    credited to t and only the last step of each episode becomes absent for the latter; a
    next-step policy's row t + 1 moves to row t, and rows whose t + 1 lies in another episode
    (or after the batch without a T + 1-th row) become absent (-inf).

    Parameters
    ----------
    counterfactual_logits : array_like of shape (T or T + 1, N, N, K, A)
        numpy or torch.
    alignment : {"same_step", "next_step"}
    predicts_next_step : bool
        The rows are predictions of the next step already (a model of other agents).
    dones, episode_starts : array_like of bool, shape (T,), optional
        Episode boundaries of the T steps (True on the last / first step of an episode).
        Without them the rows are T steps of one episode (give them to pass a T + 1-th row).

    Returns
    -------
    numpy.ndarray of shape (T, N, N, K, A)
        float64 (float32 input stays float32).

    Raises
    ------
    ShapeError
        T + 1 rows for same-step alignment or a model of other agents, or boundaries of
        another length.

    Examples
    --------
    A listener's policy at steps 0..3 under two counterfactual messages of the speaker, one
    episode of three steps then a new one; the buffer has a bootstrap row:

    >>> cf = np.arange(5.0)[:, None, None, None, None] * np.ones((5, 1, 1, 2, 2))
    >>> out = stored_counterfactuals(cf[:4], alignment="next_step",
    ...                              dones=[False, False, True, False])
    >>> out[:, 0, 0, 0, 0]
    array([  1.,   2., -inf, -inf])
    >>> stored_counterfactuals(cf, alignment="next_step",
    ...                        dones=[False, False, True, False])[:, 0, 0, 0, 0]
    array([  1.,   2., -inf,   4.])
    """
    check_choice("alignment", alignment, ALIGNMENTS, hint=ALIGNMENT_HINT)
    cf = to_numpy(counterfactual_logits)
    if cf.dtype.kind != "f":
        cf = cf.astype(np.float64)
    if cf.ndim != 5:
        raise ShapeError(
            f"counterfactual_logits: expected shape (T, N, N, K, A) or (T + 1, N, N, K, A); got "
            f"{describe(cf)}"
        )
    next_policy = alignment == "next_step" and not predicts_next_step
    rows = int(cf.shape[0])
    given = dones if dones is not None else episode_starts
    t_len = rows if given is None else int(np.shape(given)[0])
    if rows not in (t_len, t_len + 1) or (rows == t_len + 1 and not next_policy):
        raise ShapeError(
            f"counterfactual_logits: expected T = {t_len} rows (the length of the episode "
            f"boundaries)"
            + (" or T + 1 with the policy after the batch" if next_policy else "")
            + f"; got {describe(cf)}"
        )
    starts = as_episode_starts(t_len, dones=dones, episode_starts=episode_starts)
    if alignment == "same_step":
        return cf.copy()
    last_ends = dones is not None and t_len > 0 and bool(np.asarray(dones, dtype=bool)[-1])
    return _credited_next_step(cf, starts, shift=next_policy, last_ends=last_ends)


def _credited_next_step(
    cf: np.ndarray, starts: np.ndarray, *, shift: bool, last_ends: bool
) -> np.ndarray:
    """Next-step rows credited to t: a policy's row t + 1 moved to row t (``shift``), rows
    without a t + 1 in their episode absent (-inf)."""
    t_len = starts.shape[0]
    if shift:
        out = np.full((t_len, *cf.shape[1:]), -np.inf, dtype=cf.dtype)
        out[: cf.shape[0] - 1] = cf[1:]
    else:
        out = cf.copy()
    out[absent_rows(starts, InfluenceSpec(alignment="next_step"))] = -np.inf
    if last_ends:
        out[-1] = -np.inf  # the batch's last step ends its episode: nothing follows it
    return out
