"""Bounded reading of untrusted files: size limits and a JSON parser that cannot be exhausted.

Every JSON text the project reads from a file (trajectory sidecars and NPZ headers, manifests,
sweep files, training configs, checkpoint configs, graph files) goes through
:func:`parse_json` / :func:`read_json`: the text is refused before parsing when it is larger
than :data:`MAX_JSON_BYTES` or nested deeper than :data:`MAX_JSON_DEPTH`, numbers longer than
:data:`MAX_NUMBER_CHARS` characters and the non-standard ``NaN`` / ``Infinity`` are refused
while parsing, and every failure is a :class:`~causal_influence.errors.FileFormatError` naming
the file. The other limits bound what a header may declare before anything is allocated.

The limits are module attributes: raise one (``causal_influence.io.limits.MAX_JSON_BYTES =
...``) for an unusually large file you trust.

Examples
--------
>>> from causal_influence.io.limits import parse_json
>>> parse_json('{"seed": 3}', "run.json")
{'seed': 3}
>>> parse_json("[" * 1000 + "]" * 1000, "deep.json")
Traceback (most recent call last):
...
causal_influence.errors.FileFormatError: deep.json: JSON nested 1000 levels deep; at most 64 are read (a damaged or hostile file?)
"""  # noqa: E501

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from causal_influence.errors import FileFormatError

__all__ = [
    "MAX_AGENTS",
    "MAX_ALPHABET",
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_NUMBER_CHARS",
    "MAX_STEPS",
    "MAX_TRAILING",
    "parse_json",
    "read_json",
]

#: Largest JSON file read, in bytes (a sidecar of thousands of agents is a few MB).
MAX_JSON_BYTES = 64 * 2**20
#: Deepest nesting of JSON arrays and objects read.
MAX_JSON_DEPTH = 64
#: Longest number literal read (a 64-bit integer has 20 digits, a float's repr at most 24).
MAX_NUMBER_CHARS = 40
#: Most agents a header may declare.
MAX_AGENTS = 2**16
#: Largest number of actions or symbols a header may declare.
MAX_ALPHABET = 2**24
#: Most steps a header may declare.
MAX_STEPS = 2**40
#: Largest number of entries per step and agent of a vector field (e.g. flattened obs).
MAX_TRAILING = 2**28

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def _depth(text: str) -> int:
    """Deepest nesting of brackets outside strings (a count, no recursion)."""
    skeleton = _STRINGS.sub('""', text)
    codes = np.frombuffer(skeleton.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    steps = np.zeros(codes.size, dtype=np.int64)
    for code, step in _BRACKETS.items():
        steps[codes == code] = step
    return int(np.cumsum(steps).max(initial=0))


def _number(kind: type, where: str) -> Any:
    def parse(literal: str) -> Any:
        if len(literal) > MAX_NUMBER_CHARS:
            raise FileFormatError(
                f"{where}: a number of {len(literal)} characters ({literal[:12]}...); at most "
                f"{MAX_NUMBER_CHARS} are read (a damaged or hostile file?)"
            )
        value = kind(literal)
        if kind is float and not np.isfinite(value):
            raise FileFormatError(f"{where}: the number {literal} overflows a float")
        return value

    return parse


def _constant(where: str) -> Any:
    def parse(literal: str) -> Any:
        raise FileFormatError(
            f"{where}: {literal} is not JSON (only finite numbers are); a damaged file, or "
            f"written without allow_nan=False?"
        )

    return parse


def parse_json(text: str, where: str, what: str = "JSON") -> Any:
    """Parse ``text`` (read from ``where``, a ``what``) as JSON, within the limits of this
    module.

    Raises
    ------
    FileFormatError
        Naming ``where``: too large, too deeply nested, a number too long, NaN or Infinity,
        or not JSON.
    """
    if len(text) > MAX_JSON_BYTES:
        raise FileFormatError(
            f"{where}: {len(text):,} characters of JSON; at most {MAX_JSON_BYTES:,} are read "
            f"(raise causal_influence.io.limits.MAX_JSON_BYTES for a file you trust)"
        )
    depth = _depth(text)
    if depth > MAX_JSON_DEPTH:
        raise FileFormatError(
            f"{where}: JSON nested {depth} levels deep; at most {MAX_JSON_DEPTH} are read (a "
            f"damaged or hostile file?)"
        )
    try:
        return json.loads(
            text,
            parse_int=_number(int, where),
            parse_float=_number(float, where),
            parse_constant=_constant(where),
        )
    except json.JSONDecodeError as err:
        raise FileFormatError(
            f"{where}: {what} is not valid JSON (line {err.lineno}, column {err.colno}: "
            f"{err.msg}); truncated or edited by hand?"
        ) from err
    except (RecursionError, ValueError) as err:
        raise FileFormatError(f"{where}: not readable JSON ({type(err).__name__}: {err})") from err


def read_json(path: str | os.PathLike[str], what: str = "JSON file") -> Any:
    """Read and parse the JSON file ``path`` within the limits (size checked before reading).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    FileFormatError
        Naming the file: a directory, too large, not UTF-8, or not JSON within the limits.
    """
    path = Path(path)
    if path.is_dir():
        raise FileFormatError(f"{path}: expected a {what}; got a directory")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such {what}") from None
    if size > MAX_JSON_BYTES:
        raise FileFormatError(
            f"{path}: a {what} of {size:,} bytes; at most {MAX_JSON_BYTES:,} are read (raise "
            f"causal_influence.io.limits.MAX_JSON_BYTES for a file you trust)"
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise FileFormatError(f"{path}: {what} is not UTF-8 text ({err})") from err
    except IsADirectoryError as err:  # pragma: no cover - raced with the check above
        raise FileFormatError(f"{path}: expected a {what}; got a directory") from err
    return parse_json(text, str(path), what)
