"""Decisions the tables, graphs and report draw from their figures: one rule, stated once.

- **Effects against a minimum effect.** A causal quantity (the paper's influence, the
  interventional responsiveness: properties of the policies on the visited states, whose
  uncertainty is over episodes) is *detected* when the lower end of its bootstrap interval
  over episodes lies above the minimum effect, :data:`DEFAULT_MIN_EFFECT` = 0.01 nats unless
  the caller sets another, and never below the noise floor of the values
  (:func:`causal_influence.noise_floor`). Without an interval (no bootstrap resamples) the
  point estimate is compared instead, and the decision says so.
- **Observational tests** (coordination, grounded information, conditional coordination:
  dependence between recorded variables) are decided by their Benjamini-Hochberg q-value at
  level ``alpha`` *and* an estimate above the floor.

Examples
--------
>>> from analysis.decisions import above_min_effect, effective_min_effect
>>> effective_min_effect(0.0, 1e-10)
1e-10
>>> above_min_effect(0.121, 0.134, 0.01)
(True, 'interval')
>>> above_min_effect(float("nan"), 0.005, 0.01)
(False, 'point estimate (no interval)')
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from causal_influence.errors import ConfigError

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_MIN_EFFECT",
    "above_min_effect",
    "effective_min_effect",
    "seed_of",
    "significant",
]

#: Smallest effect (nats) of a causal quantity that counts as detected, unless set otherwise.
DEFAULT_MIN_EFFECT: float = 0.01

#: Default false discovery rate of the observational tests.
DEFAULT_ALPHA: float = 0.05


def effective_min_effect(min_effect: float, floor: float) -> float:
    """``max(min_effect, floor)``: a threshold is never below the noise floor.

    Raises
    ------
    ConfigError
        If ``min_effect`` is negative or not finite.
    """
    if not isinstance(min_effect, (int, float, np.floating)) or not math.isfinite(min_effect):
        raise ConfigError(f"min_effect: expected a finite number >= 0 (nats); got {min_effect!r}")
    if min_effect < 0:
        raise ConfigError(f"min_effect: expected a value >= 0 (nats); got {min_effect}")
    return max(float(min_effect), float(floor))


def above_min_effect(ci_low: float, estimate: float, threshold: float) -> tuple[bool, str]:
    """Whether an effect is detected: its interval's lower end (or, without an interval, its
    estimate) lies strictly above ``threshold``; and what decided it."""
    if ci_low is not None and math.isfinite(float(ci_low)):
        return bool(float(ci_low) > threshold), "interval"
    if estimate is not None and math.isfinite(float(estimate)):
        return bool(float(estimate) > threshold), "point estimate (no interval)"
    return False, "not computed"


def significant(q_value: Any, value: Any, *, alpha: float, floor: float) -> bool:
    """An observational test rejects independence: ``q <= alpha`` and ``value > floor``."""
    try:
        q, v = float(q_value), float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(q) and math.isfinite(v) and q <= alpha and v > floor


def seed_of(rng: Any) -> int | None:
    """A seed for draws that must not depend on the order of reading (None for fresh entropy):
    an int as given, a numpy Generator's seed entropy, a torch Generator's initial seed.

    Reading it does not advance ``rng``, so the tables drawn from ``rng`` afterwards are those
    of an analysis that did not ask for it.

    Examples
    --------
    >>> seed_of(7), seed_of(None)
    (7, None)
    >>> import numpy as np
    >>> seed_of(np.random.default_rng(7))
    7
    """
    if rng is None:
        return None
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return int(rng)
    if isinstance(rng, np.random.Generator):
        seq = getattr(rng.bit_generator, "seed_seq", None)
        entropy = getattr(seq, "entropy", None)
        if isinstance(entropy, (int, np.integer)):
            return int(entropy) % 2**63
        return None
    if hasattr(rng, "initial_seed"):
        return int(rng.initial_seed()) % 2**63
    return None
