"""The checks of options shared by every public function of the core: a choice among names,
a positive integer, the ``base=`` option and the ``rng=`` option.

Private module: the public names are those of :mod:`causal_influence.validation`, which
re-exports these.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from causal_influence.errors import ConfigError, DTypeError, describe

__all__ = ["check_choice", "check_positive_int", "log_base", "resolve_rng"]


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


def check_positive_int(name: str, value: Any) -> int:
    """``value`` as an int >= 1, else a :class:`ConfigError`.

    Examples
    --------
    >>> check_positive_int("n_resamples", 99)
    99
    """
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise ConfigError(f"{name}: expected a positive integer; got {value!r}")
    return number


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
    if not isinstance(base, (int, float)) or base <= 0 or base == 1:
        raise ConfigError(
            f"base: expected a positive number other than 1 (2 for bits, None or e for nats); "
            f"got {base!r}"
        )
    return math.log(base)


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
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    if hasattr(rng, "initial_seed"):
        return np.random.default_rng(int(rng.initial_seed()))
    raise DTypeError(
        f"rng: expected an int seed, numpy.random.Generator, torch.Generator or None; got "
        f"{describe(rng)}"
    )
