"""Errors and warnings of causal-influence.

Every error raised for bad user input comes from :class:`CausalInfluenceError` and also
inherits the matching builtin, so ``except ValueError`` keeps working for callers who do not
know this package. Messages say what was expected, what came in, and how to fix it.

Statistical caveats (few samples, empty bins, undefined conditionals) are warnings of the
named classes below, never silence.

Examples
--------
>>> from causal_influence.errors import ShapeError
>>> try:
...     raise ShapeError("expected logits of shape (..., A); got shape ()")
... except ValueError as err:
...     print(type(err).__name__)
ShapeError
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "CausalInfluenceError",
    "ConfigError",
    "DTypeError",
    "EstimatorWarning",
    "FewSamplesWarning",
    "FileFormatError",
    "InvalidDistributionError",
    "MissingFileError",
    "ModelError",
    "ShapeError",
    "UndefinedConditionalWarning",
    "describe",
    "error_location",
    "located_error",
    "shortlist",
]


class CausalInfluenceError(Exception):
    """Base class of every error raised by causal-influence for bad input or state."""


class ShapeError(CausalInfluenceError, ValueError):
    """An array has the wrong number of dimensions or sizes that do not match."""


class DTypeError(CausalInfluenceError, TypeError):
    """An array or argument has the wrong type or dtype (e.g. floats where labels are expected)."""


class InvalidDistributionError(CausalInfluenceError, ValueError):
    """Logits or probabilities do not describe a distribution (NaN, all -inf, negative mass)."""


class ConfigError(CausalInfluenceError, ValueError):
    """An option has an unknown or out-of-range value."""


class ModelError(CausalInfluenceError, ValueError):
    """A joint policy model returned something the influence engine cannot use."""


class FileFormatError(CausalInfluenceError, ValueError):
    """A file is malformed or unusable: missing columns, wrong dtypes, ragged, truncated."""


class MissingFileError(FileFormatError, FileNotFoundError):
    """A file to read does not exist: a :class:`FileFormatError` that is also the builtin
    ``FileNotFoundError``, so either ``except`` clause catches it."""


class EstimatorWarning(UserWarning):
    """Base class of statistical caveats about an estimate."""


class FewSamplesWarning(EstimatorWarning):
    """Too few samples for the estimate to be trusted (plug-in bias, wide intervals)."""


class UndefinedConditionalWarning(EstimatorWarning):
    """A conditional distribution is undefined (its condition never occurred) and was skipped."""


def describe(x: object) -> str:
    """Short description of an input for error messages: type, shape and dtype when present.

    Examples
    --------
    >>> import numpy as np
    >>> describe(np.zeros((2, 3), dtype=np.float32))
    'numpy.ndarray of shape (2, 3) and dtype float32'
    >>> describe(3)
    'int'
    """
    shape = getattr(x, "shape", None)
    dtype = getattr(x, "dtype", None)
    kind = f"{type(x).__module__.split('.')[0]}.{type(x).__name__}"
    if kind.startswith("builtins."):
        kind = type(x).__name__
    if shape is not None:
        return f"{kind} of shape {tuple(shape)} and dtype {str(dtype).replace('torch.', '')}"
    return kind


def shortlist(names: Sequence[str]) -> str:
    """The first three of ``names``, comma-separated, and how many more there are, for error
    messages about sets of files or fields (``"a, b, c and 2 more"``)."""
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def located_error(
    cls: type[CausalInfluenceError],
    field_name: str,
    message: str,
    index: Sequence[int] | None = None,
) -> CausalInfluenceError:
    """An error of class ``cls`` that also records the field and array index it is about.

    The file readers read the location back with :func:`error_location` to name the column
    (or array) and the row of the offending entry.

    Examples
    --------
    >>> err = located_error(ShapeError, "actions", "actions: bad value", (3, 1))
    >>> error_location(err)
    ('actions', (3, 1))
    """
    err = cls(message)
    err.__dict__.update(ci_field=field_name, ci_index=None if index is None else tuple(index))
    return err


def error_location(err: BaseException) -> tuple[str | None, tuple[int, ...] | None]:
    """The ``(field, index)`` recorded by :func:`located_error`, or ``(None, None)``.

    ``index`` is the array index of the first offending entry of the field, (step, agent,
    ...) for per-agent fields, or None when the error is about the whole array.

    Examples
    --------
    >>> error_location(ValueError("no location"))
    (None, None)
    """
    return err.__dict__.get("ci_field"), err.__dict__.get("ci_index")
