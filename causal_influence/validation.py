"""The checks and conversions every public function of the core applies to its arguments.

One rule per concept, written once, so that every layer answers the same question the same
way and says so in the same words:

- **conversion**: :func:`to_numpy`, :func:`as_float`, :func:`as_backend` (a torch tensor in
  gives a torch tensor out; anything else becomes numpy), defined beside the backend kernels
  and re-exported here;
- **integer labels and indices**: :func:`as_labels`, :func:`as_index`, :func:`as_label_matrix`
  (labels (T, N), one column per agent) and :func:`alphabet_size`, defined in a small module
  of their own and re-exported here. Integer dtypes are accepted; floats only when every value
  is integral (``3.0``); non-integral floats, NaN and ``inf`` raise a
  :class:`~causal_influence.errors.DTypeError` naming the first bad index; booleans are
  rejected (a mask is not a label);
- **distributions**: :func:`check_logits` (finite or ``-inf``, never NaN; the rule is
  :func:`logits_problem`), :func:`check_probabilities`;
- **options**: :func:`check_choice` (the message lists the choices), :func:`check_count`
  and :func:`check_positive_int` (integers only: ``2.7``, ``3.0``, ``True`` are refused),
  :func:`check_number` (finite, in a range), :func:`log_base` (the ``base=`` option: finite,
  positive, not 1), :func:`resolve_rng` (the ``rng=`` option), defined in a small module of
  their own and re-exported here;
- **values**: :func:`check_finite` (no NaN or infinity, naming the first bad step and agent);
- **shapes and masks**: :func:`check_shape`, :func:`check_same_length`, :func:`as_mask`,
  :func:`as_bool` (booleans, or integers that are all 0 or 1);
- **time structure**: :func:`boundary_form` and :func:`as_episode_starts` (from
  ``episode_ids``, ``episode_starts`` or ``dones``), :func:`episode_numbers` and
  :func:`steps_in_episode` (from the starts) and :func:`next_step_valid`, the rule that a
  value at ``t + lag`` exists only where ``t + lag`` lies in the same episode as ``t``;
- **agents**: :func:`as_agent_indices` (indices or agent ids).

Errors are those of :mod:`causal_influence.errors`; a message says what was expected, what
came in and how to fix it. Each public entry point of the core calls these from one validation
function at its top (``args = _influence_iv(...)``), so that its body reads like its formula.

Examples
--------
>>> import numpy as np
>>> from causal_influence.validation import as_episode_starts, as_labels, next_step_valid
>>> as_labels([0.0, 2.0, 1.0], "actions")
array([0, 2, 1])
>>> starts = as_episode_starts(5, dones=[False, True, False, False, True])
>>> starts
array([ True, False,  True, False, False])
>>> next_step_valid(starts)
array([ True, False,  True,  True, False])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from causal_influence._backend import Array, as_backend, as_float, is_torch, to_numpy
from causal_influence._labels import (
    alphabet_size,
    as_index,
    as_label_matrix,
    as_labels,
    first_true,
    where_text,
)
from causal_influence._options import (
    check_choice,
    check_count,
    check_number,
    check_positive_int,
    log_base,
    resolve_rng,
)
from causal_influence.errors import (
    CausalInfluenceError,
    ConfigError,
    DTypeError,
    InvalidDistributionError,
    ShapeError,
    describe,
    located_error,
)

__all__ = [
    "Array",
    "alphabet_size",
    "as_agent_indices",
    "as_backend",
    "as_bool",
    "as_episode_starts",
    "as_float",
    "as_index",
    "as_label_matrix",
    "as_labels",
    "as_mask",
    "boundary_form",
    "check_choice",
    "check_count",
    "check_finite",
    "check_logits",
    "check_number",
    "check_positive_int",
    "check_probabilities",
    "check_same_length",
    "check_shape",
    "episode_numbers",
    "is_torch",
    "log_base",
    "logits_problem",
    "next_step_valid",
    "resolve_rng",
    "steps_in_episode",
    "to_numpy",
]


# --------------------------------------------------------------------------- distributions


def check_logits(logits: Any, name: str, *, min_ndim: int = 1) -> Array:
    """Check that ``logits`` describe categorical distributions along the last axis.

    Finite values and ``-inf`` (a masked action) are allowed; NaN, ``+inf`` and rows whose
    entries are all ``-inf`` are not.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        ``logits`` as a floating array (numpy float64 or the tensor's float dtype).

    Raises
    ------
    ShapeError
        If ``logits`` has fewer than ``min_ndim`` dimensions or an empty last axis.
    InvalidDistributionError
        On NaN, ``+inf`` or an all-``-inf`` row.

    Examples
    --------
    >>> import numpy as np
    >>> check_logits([0.0, -np.inf], "logits")
    array([  0., -inf])
    """
    arr = as_float(logits, name)
    if arr.ndim < min_ndim or (arr.ndim >= 1 and arr.shape[-1] == 0):
        raise ShapeError(
            f"{name}: expected logits with at least {min_ndim} dimension(s) and a non-empty "
            f"last axis (one entry per action); got {describe(arr)}"
        )
    problem = logits_problem(arr)[0]
    if problem == "NaN":
        raise InvalidDistributionError(
            f"{name}: expected finite logits (or -inf for masked actions); got NaN values; "
            f"check the model output for NaN before computing influence"
        )
    if problem == "+inf":
        raise InvalidDistributionError(
            f"{name}: expected finite logits (or -inf for masked actions); got +inf; "
            f"clip the logits or give the action a large finite logit instead"
        )
    if problem == "-inf row":
        raise InvalidDistributionError(
            f"{name}: every entry of at least one distribution is -inf (all actions masked), "
            f"which is not a distribution; leave at least one action unmasked per row"
        )
    return arr


def logits_problem(logits: Any, *, rows: bool = True) -> tuple[str | None, tuple[int, ...]]:
    """The first entry that makes ``logits`` (numpy or torch, distributions along the last
    axis) not logits: ``("NaN", index)``, ``("+inf", index)`` or, with ``rows``,
    ``("-inf row", index of the row)`` whose entries are all ``-inf``; ``(None, ())`` if none.

    The one rule behind :func:`check_logits` and the trajectory's located logits checks.

    Examples
    --------
    >>> import numpy as np
    >>> logits_problem(np.array([[0.0, 1.0], [-np.inf, -np.inf]]))
    ('-inf row', (1,))
    """
    if is_torch(logits):
        import torch

        with torch.no_grad():
            # The common case in one reduction: a finite sum means no NaN and no infinity.
            if bool(torch.isfinite(logits.sum())):
                return None, ()
            tests = [("NaN", torch.isnan(logits)), ("+inf", torch.isposinf(logits))]
            if rows:
                tests.append(("-inf row", torch.isneginf(logits).all(dim=-1)))
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            if bool(np.isfinite(np.sum(logits))):
                return None, ()
        tests = [("NaN", np.isnan(logits)), ("+inf", np.isposinf(logits))]
        if rows:
            tests.append(("-inf row", np.isneginf(logits).all(axis=-1)))
    for found, mask in tests:
        if bool(mask.any()):
            return found, first_true(mask)
    return None, ()


def check_probabilities(p: Any, name: str, *, atol: float = 1e-6) -> Array:
    """Check that ``p`` holds probability distributions along its last axis.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        ``p`` as a floating array.

    Raises
    ------
    InvalidDistributionError
        On a value that is not finite, a negative value, or a distribution whose sum differs
        from 1 by more than ``atol`` (plus numpy's default relative tolerance).

    Examples
    --------
    >>> check_probabilities([0.25, 0.75], "p_message")
    array([0.25, 0.75])
    """
    arr = as_float(p, name)
    values = to_numpy(arr)
    if not np.all(np.isfinite(values)) or (values.size and values.min() < 0):
        raise InvalidDistributionError(
            f"{name}: expected probabilities (finite, >= 0); got {describe(p)} with a "
            f"negative or non-finite entry; pass probabilities, not logits"
        )
    sums = values.sum(axis=-1)
    if not np.allclose(sums, 1.0, atol=atol):
        raise InvalidDistributionError(
            f"{name}: expected probabilities whose distributions (last axis) sum to 1; got "
            f"sums in [{sums.min():.6g}, {sums.max():.6g}]; normalise it first"
        )
    return arr


# --------------------------------------------------------------------------- values


def check_finite(
    x: Any, name: str, *, time_major: bool = False, agent_ids: Sequence[str] | None = None
) -> Any:
    """Raise a :class:`ShapeError` naming the first NaN or infinite entry of ``x``.

    ``x`` is a numpy array or torch tensor of numbers (other dtypes pass unchecked). With
    ``time_major`` (or ``agent_ids``) the index of an array (T, N, ...) is named as step and
    agent, with the agent's id when ``agent_ids`` is given. Returns ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> check_finite(np.array([[0.0, np.nan]]), "rewards", agent_ids=["a", "b"])
    Traceback (most recent call last):
    ...
    causal_influence.errors.ShapeError: rewards: expected finite values; got nan at step 0, agent 1 (b); drop or repair the non-finite entries before passing them
    """  # noqa: E501
    if is_torch(x):
        if not x.dtype.is_floating_point:
            return x
        bad = ~x.isfinite()
    else:
        arr = np.asarray(x)
        if arr.dtype.kind not in "fc":
            return x
        bad = ~np.isfinite(arr)
    if not bool(bad.any()):
        return x
    where = first_true(bad)
    value = float(x[where])
    if (time_major or agent_ids is not None) and len(where) >= 2:
        k = where[1]
        who = f" ({agent_ids[k]})" if agent_ids is not None and k < len(agent_ids) else ""
        place = f" at step {where[0]}, agent {k}{who}"
        place += f", index {where[2:]}" if len(where) > 2 else ""
    else:
        place = where_text(where)
    raise ShapeError(
        f"{name}: expected finite values; got {value}{place}; drop or repair the non-finite "
        f"entries before passing them"
    )


# --------------------------------------------------------------------------- shapes


def check_shape(
    x: Any,
    name: str,
    shape: Sequence[int | None],
    *,
    dims: str | None = None,
    hint: str = "",
    error: type[CausalInfluenceError] = ShapeError,
) -> Any:
    """``x`` when its shape is ``shape`` (None matches any size), else ``error``.

    ``dims`` names the dimensions in the message (e.g. ``"(T, N)"``); ``hint`` says how to fix
    it.

    Examples
    --------
    >>> import numpy as np
    >>> check_shape(np.zeros((2, 3)), "actions", (2, 4), dims="(T, N)")
    Traceback (most recent call last):
    ...
    causal_influence.errors.ShapeError: actions: expected shape (T, N) = (2, 4); got numpy.ndarray of shape (2, 3) and dtype float64
    """  # noqa: E501
    got = tuple(getattr(x, "shape", np.shape(x)))
    if len(got) == len(shape) and all(s is None or g == s for g, s in zip(got, shape, strict=True)):
        return x
    sizes = (
        "("
        + ", ".join("?" if s is None else str(s) for s in shape)
        + ("," if len(shape) == 1 else "")
        + ")"
    )
    text = f"{dims} = {sizes}" if dims else sizes
    raise error(f"{name}: expected shape {text}; got {describe(x)}" + (f"; {hint}" if hint else ""))


def check_same_length(**arrays: Any) -> int:
    """The common length (first axis) of the named arrays, else a :class:`ShapeError`.

    Examples
    --------
    >>> check_same_length(x=[0, 1], y=[1, 1])
    2
    """
    lengths = {k: int(np.shape(v)[0]) if np.ndim(v) else 0 for k, v in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ShapeError(
            f"expected samples of equal length; got lengths {lengths}; pair each sample of one "
            f"variable with one sample of the other"
        )
    return next(iter(lengths.values()))


def as_bool(x: Any, name: str) -> np.ndarray:
    """``x`` as a numpy bool array: booleans, or integers that are all 0 or 1.

    Raises
    ------
    DTypeError
        On an integer other than 0 or 1 (located at the first one, see
        :func:`~causal_influence.errors.error_location`) or a dtype that is neither bool nor
        integer.

    Examples
    --------
    >>> as_bool([1, 0], "visible")
    array([ True, False])
    """
    arr = to_numpy(x, name)
    if arr.dtype.kind == "b":
        return arr
    if arr.dtype.kind in "iu":
        bad = (arr != 0) & (arr != 1)
        if bool(bad.any()):
            where = first_true(bad)
            raise located_error(
                DTypeError,
                name,
                f"{name}: expected booleans (or 0/1); got {arr[where]}{where_text(where)}",
                where,
            )
        return arr.astype(bool)
    message = f"{name}: expected booleans (or 0/1); got {describe(arr)}"
    raise located_error(DTypeError, name, message)


def as_mask(x: Any, name: str, shape: Sequence[int], *, dims: str | None = None) -> np.ndarray:
    """``x`` as a numpy bool array of the given shape (booleans or 0/1 integers).

    A trailing axis of size 1 (TorchRL's layout of ``done``) is dropped.

    Raises
    ------
    ShapeError
        On another shape.
    DTypeError
        On values that are neither booleans nor 0/1 integers (:func:`as_bool`).

    Examples
    --------
    >>> as_mask([[1], [0]], "dones", (2,))
    array([ True, False])
    """
    arr = to_numpy(x)
    if arr.ndim == len(shape) + 1 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.shape != tuple(shape):
        text = f"{dims} = {tuple(shape)}" if dims else str(tuple(shape))
        raise ShapeError(f"{name}: expected a bool array of shape {text}; got {describe(arr)}")
    return as_bool(arr, name)


# --------------------------------------------------------------------------- time structure


def boundary_form(*, episode_ids: Any, episode_starts: Any, dones: Any) -> str | None:
    """Which description of the episode boundaries was given (None: none of them).

    Raises
    ------
    ConfigError
        When more than one is given.

    Examples
    --------
    >>> boundary_form(episode_ids=None, episode_starts=None, dones=[0, 1])
    'dones'
    """
    forms = {"episode_ids": episode_ids, "episode_starts": episode_starts, "dones": dones}
    given = [name for name, value in forms.items() if value is not None]
    if len(given) > 1:
        raise ConfigError(
            f"{' and '.join(given)}: pass one of them (dones[t] True = step t ends an episode; "
            f"episode_starts[t] True = step t begins one; episode_ids[t] = the episode of step t)"
        )
    return given[0] if given else None


def as_episode_starts(
    shape: int | Sequence[int],
    *,
    episode_ids: Any = None,
    episode_starts: Any = None,
    dones: Any = None,
) -> np.ndarray:
    """Where episodes begin, from whichever description of the boundaries was given.

    ``shape`` is ``T`` or ``(T, *B)`` (steps first, then any batch dimensions); at most one of
    ``episode_ids`` (a new episode begins where the id changes), ``episode_starts`` (True at
    the first step of each episode) or ``dones`` (True at the last step) is given, each of
    that shape.

    Returns
    -------
    numpy.ndarray of bool, shape (T, *B)
        True at the first step of each episode; row 0 is always a start. With none of the
        three the rows form one episode.

    Raises
    ------
    ConfigError
        When more than one of the three is given.
    ShapeError, DTypeError
        As :func:`as_mask` (and :func:`check_shape` for ``episode_ids``).

    Examples
    --------
    >>> as_episode_starts(4, episode_ids=[7, 7, 3, 3])
    array([ True, False,  True, False])
    """
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape)
    dims = "(T,)" if len(shape) == 1 else "(T, *B)"
    boundary_form(episode_ids=episode_ids, episode_starts=episode_starts, dones=dones)
    starts = np.zeros(shape, dtype=bool)
    if dones is not None:
        starts[1:] = as_mask(dones, "dones", shape, dims=dims)[:-1]
    elif episode_starts is not None:
        starts[:] = as_mask(episode_starts, "episode_starts", shape, dims=dims)
    elif episode_ids is not None:
        ids = check_shape(
            to_numpy(episode_ids), "episode_ids", shape, dims=dims, hint="one id per step"
        )
        starts[1:] = ids[1:] != ids[:-1]
    if shape[0] > 0:
        starts[0] = True
    return starts


def episode_numbers(starts: Any) -> np.ndarray:
    """Episode numbers 0, 1, ... along the first axis, counted from the episode starts.

    ``starts`` (bool, shape (T, *B)) marks the episode starts (row 0 counts as one); returns
    int64 of that shape.

    Examples
    --------
    >>> episode_numbers([True, False, True, True])
    array([0, 0, 1, 2])
    """
    first = np.array(starts, dtype=bool)
    first[:1] = True  # row 0 always begins an episode
    return np.cumsum(first, axis=0, dtype=np.int64) - 1


def steps_in_episode(starts: Any) -> np.ndarray:
    """The step within its episode of each row: 0 on every episode start, then 1, 2, ...

    ``starts`` (bool, shape (T,)) marks the episode starts; returns int64 of shape (T,).

    Examples
    --------
    >>> steps_in_episode([True, False, False, True, False])
    array([0, 1, 2, 0, 1])
    """
    first = np.asarray(starts, dtype=bool)
    steps = np.arange(first.shape[0], dtype=np.int64)
    begin = np.maximum.accumulate(np.where(first, steps, 0)) if steps.size else steps
    return steps - begin


def next_step_valid(starts: Any, *, lag: int = 1) -> np.ndarray:
    """Rows whose step ``t + lag`` exists and lies in the same episode as ``t``.

    The rule behind every next-step quantity: an influence measured on the influencee's action
    at t + 1 and credited to t, a lagged pair (x_t, y_{t+lag}) of instantaneous coordination.
    The last ``lag`` steps of each episode have no such successor.

    ``starts`` (bool, shape (T, *B)) marks the episode starts, e.g. from
    :func:`as_episode_starts`; ``lag=0`` keeps every row. Returns a bool array of that shape.

    Raises
    ------
    ConfigError
        On a negative ``lag``.

    Examples
    --------
    >>> next_step_valid([True, False, False, True, False], lag=2)
    array([ True, False, False, False, False])
    """
    lag = check_count("lag", lag)
    first = np.asarray(starts, dtype=bool)
    if lag == 0:
        return np.ones_like(first)
    valid = np.zeros_like(first)
    if lag < first.shape[0]:
        episode = np.cumsum(first, axis=0)
        valid[:-lag] = episode[lag:] == episode[:-lag]
    return valid


# --------------------------------------------------------------------------- agents


def as_agent_indices(
    agents: Sequence[int | str] | None, agent_ids: Sequence[str] | int, name: str
) -> list[int]:
    """Agent indices from a selection of indices or agent ids (None: all agents).

    ``agent_ids`` are the agents' ids, or their number N (ids ``agent_0 ... agent_{N-1}``);
    ``name`` is the argument name used in messages (``"influencers"``).

    Raises
    ------
    DTypeError
        When ``agents`` is a single index or id instead of a sequence.
    ConfigError
        On an unknown id, an index outside ``[0, N)``, an empty selection or a repeated agent.

    Examples
    --------
    >>> as_agent_indices(["agent_2", 0], 3, "influencers")
    [2, 0]
    """
    ids = (
        [f"agent_{i}" for i in range(agent_ids)] if isinstance(agent_ids, int) else list(agent_ids)
    )
    n = len(ids)
    if agents is None:
        return list(range(n))
    if isinstance(agents, (str, int)):
        raise DTypeError(
            f"{name}: expected a sequence of agent indices or ids; got {describe(agents)}; "
            f"wrap a single agent in a list"
        )
    lookup = {a: i for i, a in enumerate(ids)}
    out: list[int] = []
    for a in agents:
        if isinstance(a, str):
            if a not in lookup:
                raise ConfigError(f"{name}: unknown agent id {a!r}; known ids: {ids}")
            out.append(lookup[a])
        elif isinstance(a, (int, np.integer)) and 0 <= int(a) < n:
            out.append(int(a))
        else:
            raise ConfigError(f"{name}: expected agent indices in [0, {n}) or agent ids; got {a!r}")
    if not out or len(set(out)) != len(out):
        raise ConfigError(
            f"{name}: expected a non-empty list of distinct agents; got {list(agents)}"
        )
    return out
