r"""Divergences between categorical distributions given as logits, and their registry.

Every function takes logits along the last axis and is batched over any leading dimensions
(``p`` and ``q`` broadcast against each other). numpy in gives numpy out; torch in gives torch
out, differentiable. Everything is computed in log space and in float64 (results are cast back
to the inputs' float dtype), so any finite logits (``±1e4`` included) and ``-inf`` entries
(masked actions) give finite, correct results, and two identical distributions give exactly 0
(values of the order of the rounding of float64, below
:data:`~causal_influence.noise.NOISE_FLOOR_NATS`, are what distinct logits of one distribution
leave). Results are in nats unless ``base`` is given (``base=2`` for bits). Definitions and ranges:
``docs/metrics.md``, section "Divergences".

Conventions: :math:`0 \log 0 = 0`; :math:`\mathrm{KL}(p\|q) = +\infty` exactly when ``q`` gives
zero probability (a ``-inf`` logit) to an action on which ``p`` has mass. The Jensen-Shannon
divergence and the total variation are always finite.

The registry
------------
:data:`DIVERGENCES` maps each name accepted by ``divergence=`` (here, in
:func:`~causal_influence.counterfactual.influence`, the engine and the reward helper) to a
:class:`Divergence` entry: its function on log-probabilities, whether it is evaluated at the
influencee's realised action (PMI is), its unit (``"nats"``, rescaled by ``base``, or a
unit-free ``"probability"``) and range, which reports print. Adding a divergence is one call
of :func:`register_divergence`. Wherever a name is accepted, a callable
``f(log_p, log_q) -> values`` is accepted too (see :func:`resolve_divergence`).

Examples
--------
>>> import numpy as np
>>> from causal_influence.divergences import DIVERGENCES, kl_divergence, js_divergence
>>> p = np.log([0.5, 0.5]); q = np.log([0.9, 0.1])
>>> round(float(kl_divergence(p, q)), 6)
0.510826
>>> round(float(js_divergence([0.0, -np.inf], [0.0, 0.0], base=2)), 6)
0.311278
>>> DIVERGENCES["tv"].unit, DIVERGENCES["pmi"].needs_actual
('probability', True)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from causal_influence._backend import (
    Array,
    as_float64,
    cast_to,
    is_torch,
    log_softmax,
    logsumexp,
    result_dtype,
)
from causal_influence.errors import ConfigError, ShapeError, describe
from causal_influence.registry import Registry
from causal_influence.validation import as_backend, as_index, check_logits, log_base

__all__ = [
    "DIVERGENCES",
    "Divergence",
    "DivergenceLike",
    "divergence",
    "js_divergence",
    "kl_divergence",
    "pointwise_mutual_information",
    "register_divergence",
    "resolve_divergence",
    "total_variation",
]


# --------------------------------------------------------------------------- kernels
# On normalised log-probabilities of shape (..., A) that broadcast; no checks.


def _kl_from_logp(logp: Array, logq: Array) -> Array:
    """KL(p||q): 0 where p = 0, +inf where q = 0 < p.

    Every intermediate is finite: the infinite case is detected by a mask and written in at the
    end, so neither the value nor a torch gradient ever sees ``inf - inf`` or ``0 * inf`` (the
    gradient of an infinite entry is 0, never NaN). Rounding can leave a KL of about
    ``-1e-17`` for equal distributions; the result is clamped at 0.
    """
    if is_torch(logp):
        import torch

        mass = torch.isfinite(logp)
        q_zero = torch.isneginf(logq)
        infinite = mass & q_zero
        zero = torch.zeros((), dtype=logp.dtype, device=logp.device)
        safe_p = torch.where(mass, logp, zero)
        safe_q = torch.where(q_zero, zero, logq)
        ratio = torch.where(mass & ~q_zero, safe_p - safe_q, zero)
        total = (safe_p.exp() * ratio).sum(dim=-1).clamp_min(0.0)
        return torch.where(infinite.any(dim=-1), torch.full_like(total, math.inf), total)
    p_mass = np.isfinite(logp)
    q_none = np.isneginf(logq)
    p_log = np.where(p_mass, logp, 0.0)
    q_log = np.where(q_none, 0.0, logq)
    terms = np.exp(p_log) * np.where(p_mass & ~q_none, p_log - q_log, 0.0)
    kl = np.maximum(terms.sum(axis=-1), 0.0)
    return np.where((p_mass & q_none).any(axis=-1), np.inf, kl)


def _js_from_logp(logp: Array, logq: Array) -> Array:
    """JSD(p, q) = KL(p||m)/2 + KL(q||m)/2 with m = (p + q)/2; exactly 0 for p = q (the
    mixture of a distribution with itself does not round-trip through logaddexp exactly)."""
    if is_torch(logp):
        import torch

        logp, logq = torch.broadcast_tensors(logp, logq)
        # logsumexp of the pair keeps a zero gradient where both are -inf (logaddexp gives NaN).
        logm = logsumexp(torch.stack([logp, logq], dim=-1), axis=-1) - math.log(2.0)
        value = 0.5 * _kl_from_logp(logp, logm) + 0.5 * _kl_from_logp(logq, logm)
        same = (logp == logq).all(dim=-1)
        return torch.where(same, torch.zeros_like(value), value)
    logp, logq = np.broadcast_arrays(logp, logq)
    logm = np.logaddexp(logp, logq) - math.log(2.0)
    value = 0.5 * _kl_from_logp(logp, logm) + 0.5 * _kl_from_logp(logq, logm)
    return np.where((logp == logq).all(axis=-1), 0.0, value)


def _tv_from_logp(logp: Array, logq: Array) -> Array:
    """TV(p, q) = sum |p - q| / 2."""
    if is_torch(logp):
        return 0.5 * (logp.exp() - logq.exp()).abs().sum(dim=-1)
    return 0.5 * np.abs(np.exp(logp) - np.exp(logq)).sum(axis=-1)


def _pmi_from_logp(logp: Array, logq: Array, actual: Array) -> Array:
    """log p(a) - log q(a) at the action ``actual``; 0 where both are zero."""
    num_actions = logp.shape[-1]
    lead = np.broadcast_shapes(tuple(logp.shape[:-1]), tuple(logq.shape[:-1]), tuple(actual.shape))
    if is_torch(logp):
        import torch

        at = actual.expand(lead).unsqueeze(-1)
        lp = logp.expand(*lead, num_actions).gather(-1, at).squeeze(-1)
        lq = logq.expand(*lead, num_actions).gather(-1, at).squeeze(-1)
        both_zero = torch.isneginf(lp) & torch.isneginf(lq)
        zero = torch.zeros((), dtype=lp.dtype, device=lp.device)
        # Both -inf would give inf - inf = NaN: replace them by 0 - 0 (gradient 0, not NaN).
        return torch.where(both_zero, zero, lp) - torch.where(both_zero, zero, lq)
    at = np.broadcast_to(actual, lead)[..., None]
    log_pa = np.take_along_axis(np.broadcast_to(logp, (*lead, num_actions)), at, -1)
    log_qa = np.take_along_axis(np.broadcast_to(logq, (*lead, num_actions)), at, -1)
    neither = np.isneginf(log_pa) & np.isneginf(log_qa)
    return (np.where(neither, 0.0, log_pa) - np.where(neither, 0.0, log_qa))[..., 0]


# --------------------------------------------------------------------------- registry

#: What ``divergence=`` accepts: a registered name or a callable ``f(log_p, log_q)``.
DivergenceLike = str | Callable[..., Array]


@dataclass(frozen=True)
class Divergence:
    """An entry of :data:`DIVERGENCES`: what the engine, the reward and reports need to know.

    Attributes
    ----------
    name : str
        The name accepted by ``divergence=``.
    function : callable
        ``function(log_p, log_q)`` (or ``function(log_p, log_q, actual)`` when
        ``needs_actual``) -> values of shape (...). ``log_p`` and ``log_q`` are normalised
        log-probabilities of shape (..., A) on the same backend (numpy or torch) whose leading
        dimensions broadcast; ``-inf`` marks an impossible action. ``actual`` holds integer
        action indices in ``[0, A)`` (same backend) that broadcast with the leading
        dimensions. A torch function should stay differentiable.
    unit : str
        ``"nats"``: the values are information in nats and ``base=`` rescales them. Any other
        unit (``"probability"`` for the total variation) is left unchanged by ``base``.
    value_range : str
        Range of the values, for documentation and reports.
    needs_actual : bool
        True when the divergence is evaluated at the influencee's realised action (PMI).
    expectation : str or None
        For a ``needs_actual`` divergence: the divergence whose mean under the influencer's
        policy equals its expectation over the joint (PMI: ``"kl"``), used by
        :func:`~causal_influence.counterfactual.expected_influence`.
    description : str
        One line for help texts and reports.
    """

    name: str
    function: Callable[..., Array]
    unit: str = "nats"
    value_range: str = "[0, +inf]"
    needs_actual: bool = False
    expectation: str | None = None
    description: str = ""

    def __call__(
        self, log_p: Array, log_q: Array, actual: Array = None, *, base: float | None = None
    ) -> Array:
        """Values of the divergence on log-probabilities (see ``function``), in ``base``."""
        if self.needs_actual:
            self.check_actual(actual, "actual", "one action index per distribution")
            values = self.function(log_p, log_q, actual)
        else:
            values = self.function(log_p, log_q)
        shapes = [tuple(log_p.shape[:-1]), tuple(log_q.shape[:-1])]
        if self.needs_actual:
            shapes.append(tuple(actual.shape))
        lead = np.broadcast_shapes(*shapes)
        if tuple(getattr(values, "shape", ())) != lead:
            raise ShapeError(
                f"divergence {self.name!r}: expected one value per distribution, shape {lead} "
                f"(the broadcast leading dimensions of log_p and log_q); got {describe(values)}; "
                f"reduce over the last axis only"
            )
        return self.rescale(values, base)

    def check_actual(self, actual: Any, name: str, expected: str) -> None:
        """Raise a :class:`ConfigError` when this divergence is evaluated at the influencee's
        realised action and the argument ``name`` that holds it is None."""
        if self.needs_actual and actual is None:
            raise ConfigError(
                f"{name}: divergence {self.name!r} is evaluated at the influencee's realised "
                f"action; expected {expected}; got None"
            )

    def rescale(self, values: Array, base: float | None) -> Array:
        """Values in nats expressed in ``base`` (unit-free divergences are left unchanged)."""
        scale = log_base(base)
        if self.unit != "nats" or scale == 1.0:
            return values
        return values / scale

    def unit_label(self, base: float | None = None) -> str:
        """The unit of the values computed with ``base``: ``"nats"``, ``"bits"``, ...

        Examples
        --------
        >>> DIVERGENCES["kl"].unit_label(2), DIVERGENCES["tv"].unit_label(2)
        ('bits', 'probability')
        """
        if self.unit != "nats" or base is None or base == math.e:
            return self.unit
        return "bits" if base == 2 else f"log-base-{base:g} units"


#: Divergences accepted by ``divergence=``, by name (see :class:`Divergence`).
DIVERGENCES: Registry[Divergence] = Registry(
    "divergence",
    hint="'kl' is the divergence of Jaques et al. 2019; a callable f(log_p, log_q) -> values "
    "is accepted too",
)


def register_divergence(
    name: str,
    function: Callable[..., Array],
    *,
    unit: str = "nats",
    value_range: str = "[0, +inf]",
    needs_actual: bool = False,
    expectation: str | None = None,
    description: str = "",
    replace: bool = False,
) -> Divergence:
    """Make ``name`` a value of ``divergence=`` everywhere (the fields of :class:`Divergence`).

    Returns
    -------
    Divergence
        The registered entry.

    Raises
    ------
    ConfigError
        When ``name`` is taken (unless ``replace``).

    Examples
    --------
    The squared Hellinger distance, unit-free and in [0, 1]:

    >>> import numpy as np
    >>> def hellinger(log_p, log_q):
    ...     return 1.0 - np.exp(0.5 * (log_p + log_q)).sum(-1)
    >>> _ = register_divergence("hellinger2", hellinger, unit="probability", value_range="[0, 1]")
    >>> round(float(divergence([0.0, -np.inf], [0.0, 0.0], kind="hellinger2")), 6)
    0.292893
    >>> _ = DIVERGENCES.unregister("hellinger2")
    """
    entry = Divergence(
        name=name,
        function=function,
        unit=unit,
        value_range=value_range,
        needs_actual=needs_actual,
        expectation=expectation,
        description=description,
    )
    return DIVERGENCES.register(entry, replace=replace)


register_divergence(
    "kl",
    _kl_from_logp,
    description="Kullback-Leibler divergence KL(p || q) (Jaques et al. 2019, the default)",
)
register_divergence(
    "jsd",
    _js_from_logp,
    value_range="[0, ln 2]",
    description="Jensen-Shannon divergence, symmetric and bounded by ln 2",
)
register_divergence(
    "pmi",
    _pmi_from_logp,
    value_range="(-inf, +inf)",
    needs_actual=True,
    expectation="kl",
    description="pointwise mutual information log p(a)/q(a) at the realised action",
)
register_divergence(
    "tv",
    _tv_from_logp,
    unit="probability",
    value_range="[0, 1]",
    description="total variation distance sum |p - q| / 2",
)


def resolve_divergence(divergence: DivergenceLike) -> Divergence:
    """The :class:`Divergence` for a registered name, a user's callable or an entry.

    A callable ``f(log_p, log_q) -> values`` follows the contract of
    :attr:`Divergence.function` (normalised log-probabilities of shape (..., A) in, one value
    per distribution out, same backend). Its values are used as returned: ``base`` does not
    rescale them (register it with ``unit="nats"`` for that).

    Raises
    ------
    ConfigError
        On an unknown name; the message lists the registered names.

    Examples
    --------
    >>> resolve_divergence("jsd").value_range
    '[0, ln 2]'
    >>> resolve_divergence(lambda log_p, log_q: (log_p - log_q).sum(-1)).unit
    'as returned'
    """
    if isinstance(divergence, Divergence):
        return divergence
    if callable(divergence) and not isinstance(divergence, str):
        return Divergence(
            name=getattr(divergence, "__name__", type(divergence).__name__),
            function=divergence,
            unit="as returned",
            value_range="as returned",
            description="user-defined",
        )
    return DIVERGENCES.lookup(divergence)


# --------------------------------------------------------------------------- validation


class _Pair(NamedTuple):
    divergence: Divergence
    logp: Array  # float64 log-probabilities
    logq: Array
    actual: Array | None
    dtype: Any  # the float dtype of the inputs, in which results are returned


def _pair_iv(
    p_logits: Any,
    q_logits: Any,
    base: float | None,
    *,
    kind: DivergenceLike,
    actual: Any = None,
) -> _Pair:
    """Check the divergence, two logit arrays, ``base`` and the realised action when ``kind``
    is evaluated at it.

    Returns the entry, the float64 log-probabilities on one backend, the action as indices into
    their last axis (None when not needed) and the dtype of the results.
    """
    entry = resolve_divergence(kind)
    log_base(base)
    dtype = result_dtype(p_logits, q_logits)
    p = check_logits(p_logits, "p_logits")
    q = check_logits(q_logits, "q_logits")
    if is_torch(p) and not is_torch(q):
        q = as_backend(q, p)
    elif is_torch(q) and not is_torch(p):
        p = as_backend(p, q)
    p, q = as_float64(p), as_float64(q)
    if p.shape[-1] != q.shape[-1]:
        raise ShapeError(
            f"p_logits and q_logits: expected the same number of actions (last axis); got "
            f"{describe(p)} and {describe(q)}; pass both distributions over the same action set"
        )
    try:
        np.broadcast_shapes(tuple(p.shape), tuple(q.shape))
    except ValueError as err:
        raise ShapeError(
            f"p_logits and q_logits: expected leading dimensions that broadcast against each "
            f"other; got {describe(p)} and {describe(q)}; add singleton axes (e.g. "
            f"x[:, None]) where one batch dimension should be shared"
        ) from err
    if not entry.needs_actual or actual is None:
        return _Pair(entry, log_softmax(p), log_softmax(q), None, dtype)
    num_actions = p.shape[-1]
    idx = as_index(
        actual,
        "actual",
        num_actions,
        like=p,
        expected=f"action indices in [0, {num_actions})",
        hint="pass the index of the influencee's realised action",
    )
    try:
        np.broadcast_shapes(tuple(p.shape[:-1]), tuple(q.shape[:-1]), tuple(idx.shape))
    except ValueError as err:
        raise ShapeError(
            f"actual: expected one action index per distribution, i.e. a shape that broadcasts "
            f"with the leading dimensions {tuple(p.shape[:-1])} of p_logits and "
            f"{tuple(q.shape[:-1])} of q_logits; got {describe(idx)}"
        ) from err
    return _Pair(entry, log_softmax(p), log_softmax(q), idx, dtype)


# --------------------------------------------------------------------------- public functions


def kl_divergence(p_logits: Any, q_logits: Any, *, base: float | None = None) -> Array:
    r"""Kullback-Leibler divergence :math:`\mathrm{KL}(p\|q) = \sum_a p(a)\log(p(a)/q(a))`.

    Parameters
    ----------
    p_logits, q_logits : array_like or torch.Tensor of shape (..., A)
        Logits (unnormalised log-probabilities) of the two distributions; ``-inf`` marks an
        impossible action. Leading dimensions broadcast.
    base : float, optional
        Logarithm base of the result: None for nats (default), 2 for bits.

    Returns
    -------
    numpy.ndarray or torch.Tensor of shape (...)
        The divergence, ``>= 0``; ``+inf`` where ``q`` has zero probability on an action that
        ``p`` can take.

    Raises
    ------
    InvalidDistributionError
        On NaN, ``+inf`` or all-``-inf`` logits.
    ShapeError
        When the action counts differ or the leading dimensions do not broadcast.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(kl_divergence([0.0, -np.inf], [0.0, 0.0])), 6)  # ln 2
    0.693147
    >>> float(kl_divergence([0.0, 0.0], [0.0, -np.inf]))
    inf
    """
    args = _pair_iv(p_logits, q_logits, base, kind="kl")
    return cast_to(args.divergence(args.logp, args.logq, base=base), args.dtype)


def js_divergence(p_logits: Any, q_logits: Any, *, base: float | None = None) -> Array:
    r"""Jensen-Shannon divergence :math:`\tfrac12\mathrm{KL}(p\|m) + \tfrac12\mathrm{KL}(q\|m)`.

    With :math:`m = (p + q)/2`. Symmetric, finite and bounded by :math:`\ln 2` nats (1 bit).

    Parameters
    ----------
    p_logits, q_logits : array_like or torch.Tensor of shape (..., A)
        Logits of the two distributions; leading dimensions broadcast.
    base : float, optional
        None for nats (default), 2 for bits.

    Returns
    -------
    numpy.ndarray or torch.Tensor of shape (...)

    Examples
    --------
    >>> import numpy as np
    >>> round(float(js_divergence([0.0, -np.inf], [0.0, 0.0])), 6)
    0.215762
    """
    args = _pair_iv(p_logits, q_logits, base, kind="jsd")
    return cast_to(args.divergence(args.logp, args.logq, base=base), args.dtype)


def total_variation(p_logits: Any, q_logits: Any) -> Array:
    r"""Total variation distance :math:`\tfrac12\sum_a |p(a) - q(a)|`, in [0, 1].

    Parameters
    ----------
    p_logits, q_logits : array_like or torch.Tensor of shape (..., A)
        Logits of the two distributions; leading dimensions broadcast.

    Returns
    -------
    numpy.ndarray or torch.Tensor of shape (...)

    Examples
    --------
    >>> import numpy as np
    >>> float(total_variation(np.log([0.5, 0.5]), np.log([0.9, 0.1])))
    0.4
    """
    args = _pair_iv(p_logits, q_logits, None, kind="tv")
    return cast_to(args.divergence(args.logp, args.logq), args.dtype)


def pointwise_mutual_information(
    p_logits: Any, q_logits: Any, actual: Any, *, base: float | None = None
) -> Array:
    r"""Pointwise log-ratio :math:`\log p(a) - \log q(a)` at the realised action ``a``.

    In influence terms (Jaques et al. 2019, Eq. 7; local information flow of Lizier and
    Prokopenko 2010) ``p`` is the influencee's policy given the influencer's actual action,
    ``q`` its marginal policy and ``a`` the action the influencee actually took. It can be
    negative; its expectation under the joint distribution is the mutual information.

    Parameters
    ----------
    p_logits, q_logits : array_like or torch.Tensor of shape (..., A)
        Logits; leading dimensions broadcast.
    actual : array_like of int, shape (...)
        Index of the realised action, in ``[0, A)``; broadcast with the leading dimensions.
    base : float, optional
        None for nats (default), 2 for bits.

    Returns
    -------
    numpy.ndarray or torch.Tensor of shape (...)
        ``-inf`` where only ``p(a)`` is zero, ``+inf`` where only ``q(a)`` is zero, and 0
        where both are zero (such a cell has zero weight under any joint distribution, so the
        convention keeps the expectation equal to the mutual information).

    Examples
    --------
    >>> import numpy as np
    >>> round(float(pointwise_mutual_information(np.log([0.75, 0.25]), [0.0, 0.0], 0)), 6)
    0.405465
    """
    args = _pair_iv(p_logits, q_logits, base, kind="pmi", actual=actual)
    return cast_to(args.divergence(args.logp, args.logq, args.actual, base=base), args.dtype)


def divergence(
    p_logits: Any,
    q_logits: Any,
    *,
    kind: DivergenceLike = "kl",
    actual: Any = None,
    base: float | None = None,
) -> Array:
    """The divergence registered as ``kind`` (or the callable ``kind``) between two logits.

    Parameters
    ----------
    p_logits, q_logits : array_like or torch.Tensor of shape (..., A)
        Logits; leading dimensions broadcast.
    kind : str or callable, default "kl"
        A name of :data:`DIVERGENCES` (``"kl"``, ``"jsd"``, ``"pmi"``, needs ``actual``,
        ``"tv"``, unit-free so ``base`` does not apply) or a callable
        ``f(log_p, log_q) -> values`` (see :func:`resolve_divergence`).
    actual : array_like of int, optional
        Realised action, required by divergences evaluated at it (``"pmi"``).
    base : float, optional
        None for nats, 2 for bits.

    Returns
    -------
    numpy.ndarray or torch.Tensor of shape (...)
        The chosen divergence, on the backend of the inputs.

    Raises
    ------
    ConfigError
        On an unknown ``kind``, an invalid ``base``, or ``"pmi"`` without ``actual``.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(divergence([0.0, -np.inf], [0.0, 0.0], kind="kl", base=2)), 6)
    1.0
    >>> float(divergence(np.log([0.5, 0.5]), np.log([0.9, 0.1]), kind="tv"))
    0.4
    """
    args = _pair_iv(p_logits, q_logits, base, kind=kind, actual=actual)
    return cast_to(args.divergence(args.logp, args.logq, args.actual, base=base), args.dtype)
