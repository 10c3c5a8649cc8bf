"""The checks of options shared by every public function of the core: a choice among names,
counts and positive integers, bounded finite numbers, the ``base=`` option and the ``rng=``
option.

Private module: the public names are those of :mod:`causal_influence.validation`, which
re-exports these.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from causal_influence.errors import ConfigError, DTypeError, describe

__all__ = [
    "check_choice",
    "check_count",
    "check_number",
    "check_positive_int",
    "log_base",
    "resolve_rng",
]


def check_choice(name: str, value: Any, choices: Iterable[Any], *, hint: str = "") -> Any:
    """``value`` when it is one of ``choices``, else a :class:`ConfigError` listing them.

    Examples
    --------
    >>> check_choice("alternative", "less", ("greater",))
    Traceback (most recent call last):
    ...
    causal_influence.errors.ConfigError: alternative: expected one of ['greater']; got 'less'
    """
    options = list(choices)
    if isinstance(value, str) and value in options:
        return value
    raise ConfigError(
        f"{name}: expected one of {options}; got {value!r}" + (f"; {hint}" if hint else "")
    )


def check_count(name: str, value: Any, *, minimum: int = 0) -> int:
    """``value`` as an int >= ``minimum``, else a :class:`ConfigError`.

    A count is a Python or numpy integer: floats (even ``3.0``), booleans, strings and None
    are refused, so that ``n_resamples=2.7`` or ``lag=True`` never silently becomes 2 or 1.

    Examples
    --------
    >>> check_count("lag", 0)
    0
    >>> check_count("n_resamples", 2.7, minimum=1)
    Traceback (most recent call last):
    ...
    causal_influence.errors.ConfigError: n_resamples: expected a positive integer; got 2.7
    """
    what = (
        "a positive integer"
        if minimum == 1
        else ("a non-negative integer" if minimum == 0 else f"an integer >= {minimum}")
    )
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not ok or int(value) < minimum:
        raise ConfigError(f"{name}: expected {what}; got {value!r}")
    return int(value)


def check_positive_int(name: str, value: Any) -> int:
    """``value`` as an int >= 1, else a :class:`ConfigError` (see :func:`check_count`).

    Examples
    --------
    >>> check_positive_int("n_resamples", 99)
    99
    """
    return check_count(name, value, minimum=1)


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    open_low: bool = False,
    open_high: bool = False,
) -> float:
    """``value`` as a finite float in the given range, else a :class:`ConfigError`.

    Booleans, strings, None, NaN and infinities are refused.

    Examples
    --------
    >>> check_number("alpha", 0.05, low=0, high=1, open_low=True)
    0.05
    >>> check_number("min_effect", float("nan"))
    Traceback (most recent call last):
    ...
    causal_influence.errors.ConfigError: min_effect: expected a finite number; got nan
    """
    number = value if isinstance(value, numbers.Real) and not isinstance(value, bool) else None
    if number is None or not math.isfinite(float(number)):
        raise ConfigError(f"{name}: expected a finite number; got {value!r}")
    x = float(number)
    below = low is not None and (x <= low if open_low else x < low)
    above = high is not None and (x >= high if open_high else x > high)
    if below or above:
        left = "(" if open_low else "["
        right = ")" if open_high else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "+inf" if high is None else f"{high:g}"
        raise ConfigError(f"{name}: expected a number in {left}{lo}, {hi}{right}; got {value!r}")
    return x


def log_base(base: float | None) -> float:
    """Natural log of the ``base=`` option (1.0 for None: nats); validates it.

    Raises
    ------
    ConfigError
        Unless ``base`` is None or a positive number other than 1.

    Examples
    --------
    >>> round(log_base(2), 6)
    0.693147
    """
    if base is None:
        return 1.0
    real = isinstance(base, numbers.Real) and not isinstance(base, (bool, np.bool_))
    if not real or not math.isfinite(float(base)) or base <= 0 or base == 1:
        raise ConfigError(
            f"base: expected a positive number other than 1 (2 for bits, None or e for nats); "
            f"got {base!r}"
        )
    return math.log(float(base))


def resolve_rng(rng: Any) -> np.random.Generator:
    """A numpy Generator from ``int | numpy.random.Generator | torch.Generator | None``.

    A torch generator seeds a numpy generator from its ``initial_seed()``; global RNG state is
    never touched.

    Raises
    ------
    DTypeError
        For any other type.

    Examples
    --------
    >>> bool(resolve_rng(0).integers(10) == resolve_rng(0).integers(10))
    True
    """
    if isinstance(rng, (bool, np.bool_)):
        raise DTypeError(f"rng: expected an int seed, a Generator or None; got {rng!r}")
    if rng is None or isinstance(rng, (int, np.integer)):
        if rng is not None and rng < 0:
            raise ConfigError(f"rng: expected a non-negative integer seed; got {rng}")
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    if hasattr(rng, "initial_seed"):
        return np.random.default_rng(int(rng.initial_seed()))
    raise DTypeError(
        f"rng: expected an int seed, numpy.random.Generator, torch.Generator or None; got "
        f"{describe(rng)}"
    )
