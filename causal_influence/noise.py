r"""The noise floor: below it a value is indistinguishable from rounding, and counts as 0.

Divergences, influence and information measures are computed in float64 inside (inputs and
outputs keep their dtype), and exact cases are exact: identical counterfactual rows give an
influence of exactly 0, an independent contingency table an MI of exactly 0. Values that are 0
in theory but not exactly representable as such (two different logit vectors describing the
same distribution, a listener whose policy moves by less than the last bit) still come out as
rounding residue, of the order of ``eps * |logit|``: about 1e-16 to 1e-12 nats in float64 for
logits up to 1e4 in magnitude. Computed in float32 (by other code, before the values reached
this package) the residue is about 1e-7 nats, the size of the influence of freshly
initialised agents.

:data:`NOISE_FLOOR_NATS` (1e-10 nats) is the floor of float64 computations;
:func:`noise_floor` gives the floor of values computed in another dtype
(``max(NOISE_FLOOR_NATS, 64 * eps(dtype))``: 7.6e-6 nats for float32). Every decision that
compares a measure with zero uses it: moments of high influence
(:func:`~causal_influence.communication.influential_moments`), influence edges (an interval
must clear ``max(min_effect, floor)``), the colour scale of heatmaps. :func:`snap_to_zero` sets
values within the floor of 0 to exactly 0.

Examples
--------
>>> import numpy as np
>>> from causal_influence.noise import NOISE_FLOOR_NATS, noise_floor, snap_to_zero
>>> NOISE_FLOOR_NATS
1e-10
>>> float(noise_floor(np.float32)) > 1e-6
True
>>> snap_to_zero(np.array([2.2e-16, -1e-17, 0.3]))
array([0. , 0. , 0.3])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from causal_influence.errors import ConfigError, DTypeError, describe

__all__ = ["NOISE_FLOOR_NATS", "noise_floor", "snap_to_zero"]

#: Values (in nats) below this are rounding residue of float64 computations, not signal.
NOISE_FLOOR_NATS: float = 1e-10

#: Rounding residue of a divergence or an MI computed in a dtype, in units of its epsilon.
_EPS_MULTIPLE = 64


def noise_floor(dtype: Any = None) -> float:
    """The noise floor (nats) of values computed in ``dtype``.

    Parameters
    ----------
    dtype : numpy dtype, torch dtype or None
        The dtype the values were *computed* in (None: float64, which is what this package
        computes in). For values read from a file whose producer is unknown, the stored dtype
        is the conservative choice.

    Returns
    -------
    float
        ``max(NOISE_FLOOR_NATS, 64 * eps(dtype))``: 1e-10 for float64, 7.6e-6 for float32,
        0.0625 for float16.

    Raises
    ------
    DTypeError
        If ``dtype`` is not a floating dtype.

    Examples
    --------
    >>> noise_floor(), noise_floor("float64")
    (1e-10, 1e-10)
    >>> round(noise_floor("float32"), 9)
    7.629e-06
    """
    if dtype is None:
        return NOISE_FLOOR_NATS
    spec = str(dtype).removeprefix("torch.") if type(dtype).__module__ == "torch" else dtype
    try:
        resolved = np.dtype(spec)
    except TypeError as err:
        raise DTypeError(f"dtype: expected a floating dtype; got {dtype!r}") from err
    if resolved.kind != "f":
        raise DTypeError(f"dtype: expected a floating dtype; got {resolved}")
    return max(NOISE_FLOOR_NATS, _EPS_MULTIPLE * float(np.finfo(resolved).eps))


def snap_to_zero(values: Any, *, floor: float | None = None) -> np.ndarray:
    """``values`` with every entry whose magnitude is below the floor set to exactly 0.

    Parameters
    ----------
    values : array_like of float
    floor : float, optional
        Default :data:`NOISE_FLOOR_NATS`; must be >= 0.

    Returns
    -------
    numpy.ndarray
        A float array of the same shape (NaN and inf unchanged).

    Examples
    --------
    >>> snap_to_zero([1e-12, 0.5, -3e-11])
    array([0. , 0.5, 0. ])
    """
    if floor is None:
        floor = NOISE_FLOOR_NATS
    if not np.isfinite(floor) or floor < 0:
        raise ConfigError(f"floor: expected a finite value >= 0; got {floor!r}")
    arr = np.asarray(values)
    if arr.dtype.kind not in "fiu":
        raise DTypeError(f"values: expected numbers; got {describe(arr)}")
    arr = arr.astype(np.float64) if arr.dtype.kind != "f" else arr
    return np.where(np.abs(arr) < floor, np.zeros((), dtype=arr.dtype), arr)
