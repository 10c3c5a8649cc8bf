"""Long tables: one row per (episode, t, agent), the layout of Parquet files and DataFrames.

This module holds what every long-table reader and writer shares, whatever the library:
the columns of a trajectory (:func:`long_columns`), the trajectory of columns already read
into numpy (:func:`from_long_columns`, which checks that the table is complete and sorts it),
Arrow list columns as numpy (:func:`arrow_list_to_numpy`) and error wording by column and row
(:class:`TableOrigin`). :mod:`causal_influence.io` reads and writes Parquet with it;
:mod:`causal_influence.trajectory.dataframe` reads and writes pandas DataFrames.

Examples
--------
>>> import numpy as np
>>> from causal_influence.trajectory import Trajectory
>>> from causal_influence.trajectory.long_table import (
...     TableOrigin, from_long_columns, long_columns)
>>> traj = Trajectory([[0, 1], [1, 1]], [[0.0, 1.0], [0.5, 0.0]], num_actions=2)
>>> columns, shapes = long_columns(traj)
>>> columns["agent"], columns["action"]
(array([0, 1, 0, 1]), array([0, 1, 1, 1]))
>>> rows = np.array([3, 2, 1, 0])  # any row order
>>> shuffled = {name: col[rows] for name, col in columns.items()}
>>> back = from_long_columns(shuffled, TableOrigin(None), shapes=shapes, num_agents=2,
...                          metadata=traj.metadata, meta={})
>>> back == traj
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from causal_influence.errors import (
    CausalInfluenceError,
    ConfigError,
    DTypeError,
    FileFormatError,
    ShapeError,
)
from causal_influence.trajectory.arrays import error_location
from causal_influence.trajectory.metadata import TrajectoryMeta, metadata_fields
from causal_influence.trajectory.schema import (
    COLUMN_OF,
    KEY_COLUMNS,
    OPTIONAL_FIELDS,
    SCALAR_COLUMNS,
    VECTOR_COLUMNS,
)
from causal_influence.trajectory.trajectory import Trajectory

__all__ = [
    "TableOrigin",
    "arrow_list_to_numpy",
    "from_long_columns",
    "long_columns",
    "natural_key",
]


class TableOrigin:
    """Where long-table data came from, to word errors: a file, or a DataFrame.

    Parameters
    ----------
    file : str or None
        The file the table was read from (errors are then
        :class:`~causal_influence.errors.FileFormatError` naming it), or None for a DataFrame.
    labels : ndarray, optional
        The DataFrame's index labels, named in errors beside row positions.

    Attributes
    ----------
    keys : dict of str to ndarray
        The ``episode``, ``t`` and ``agent`` columns, once read, named in errors beside rows.

    Examples
    --------
    >>> from causal_influence.errors import ShapeError
    >>> print(TableOrigin(None).fail(ShapeError, "reward", "missing value", 3))
    column 'reward', row 3: missing value
    >>> print(TableOrigin("run.parquet").fail(ShapeError, "t", "t = -1 is negative"))
    run.parquet: column 't': t = -1 is negative
    """

    def __init__(self, file: str | None, *, labels: np.ndarray | None = None) -> None:
        self.file = file
        self.labels = labels
        self.keys: dict[str, np.ndarray] = {}

    def row_text(self, row: int | None) -> str:
        """``", row 4 [index label 'x'] (episode 0, t 2, agent 1)"``, or "" without a row."""
        if row is None:
            return ""
        parts = []
        for key in KEY_COLUMNS:
            arr = self.keys.get(key)
            if arr is not None and row < len(arr):
                parts.append(f"{key} {arr[row]}")
        where = f" ({', '.join(parts)})" if parts else ""
        label = ""
        if self.labels is not None and row < len(self.labels) and self.labels[row] != row:
            value = self.labels[row]
            value = value.item() if isinstance(value, np.generic) else value
            label = f" [index label {value!r}]"
        return f", row {row}{label}{where}"

    def fail(
        self, cls: type[CausalInfluenceError], column: str, message: str, row: int | None = None
    ) -> CausalInfluenceError:
        """The error to raise about ``column`` (and ``row``, a 0-based position): of class
        ``cls`` for a DataFrame, :class:`~causal_influence.errors.FileFormatError` for a file."""
        head = f"column {column!r}{self.row_text(row)}"
        if self.file is not None:
            return FileFormatError(f"{self.file}: {head}: {message}")
        return cls(f"{head}: {message}")


def natural_key(text: str) -> list[Any]:
    """Sort key that orders the digits in names by value (``agent_2`` before ``agent_10``).

    Examples
    --------
    >>> sorted(["shard_10", "shard_2", "shard_1"], key=natural_key)
    ['shard_1', 'shard_2', 'shard_10']
    """
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", text) if p]


# --------------------------------------------------------------------------------------------
# trajectory -> columns


def long_columns(
    traj: Trajectory, columns: Iterable[str] | None = None
) -> tuple[dict[str, np.ndarray], dict[str, tuple[int, ...]]]:
    """The long-table columns of ``traj`` in trajectory order, and the trailing shapes.

    Parameters
    ----------
    traj : Trajectory
    columns : iterable of str, optional
        Optional fields to include (default: all present).

    Returns
    -------
    columns : dict of str to ndarray
        ``episode``, ``t``, ``agent``, ``action``, ``reward`` and the optional fields under
        their :data:`~causal_influence.trajectory.schema.COLUMN_OF` names; scalar columns of
        shape (T * N,), vector columns of shape (T * N, W), each row the agent's slice
        flattened in C order.
    shapes : dict of str to tuple of int
        Trailing shape of each vector field (e.g. ``(N, K, A)`` for counterfactual logits).

    Raises
    ------
    ConfigError
        If ``columns`` names an unknown field.
    """
    wanted = traj.fields if columns is None else tuple(columns)
    unknown = [c for c in wanted if c not in OPTIONAL_FIELDS]
    if unknown:
        raise ConfigError(f"columns: unknown fields {unknown}; optional fields: {OPTIONAL_FIELDS}")
    n_steps, n_agents = traj.num_steps, traj.num_agents
    rows = n_steps * n_agents
    cols: dict[str, np.ndarray] = {
        "episode": np.repeat(traj.episode_ids, n_agents),
        "t": np.repeat(traj.t, n_agents),
        "agent": np.tile(np.arange(n_agents, dtype=np.int64), n_steps),
        "action": traj.actions.reshape(rows),
        "reward": traj.rewards.reshape(rows),
    }
    shapes: dict[str, tuple[int, ...]] = {}
    arrays = traj.to_dict()
    for name in OPTIONAL_FIELDS:
        arr = arrays.get(name)
        if arr is None or name not in wanted:
            continue
        if name in SCALAR_COLUMNS:
            cols[SCALAR_COLUMNS[name]] = arr.reshape(rows)
        else:
            shapes[name] = tuple(int(s) for s in arr.shape[2:])
            cols[VECTOR_COLUMNS[name][0]] = arr.reshape(rows, math.prod(shapes[name]))
    return cols, shapes


# --------------------------------------------------------------------------------------------
# columns -> trajectory


def from_long_columns(
    columns: dict[str, np.ndarray],
    origin: TableOrigin,
    *,
    shapes: Mapping[str, tuple[int, ...]],
    num_agents: int | None,
    metadata: TrajectoryMeta | Mapping[str, Any] | None,
    meta: Mapping[str, Any],
) -> Trajectory:
    """A trajectory from long-table columns already read into numpy, rows in any order.

    Checks that the table is complete (one row per agent at every (episode, t), t growing by
    1 within an episode), sorts the rows into (episode by first appearance, t, agent) order,
    reshapes to (T, N, ...) and builds the trajectory, turning its errors into errors naming
    the column and row (:meth:`TableOrigin.fail`).

    Parameters
    ----------
    columns : dict of str to ndarray
        ``t``, ``agent`` (int64 indices), ``action``, ``reward``, optional ``episode`` (one
        episode when absent) and ``message``, all of shape (rows,); vector columns
        (:data:`~causal_influence.trajectory.schema.VECTOR_COLUMNS` list names) of shape
        (rows, W).
    origin : TableOrigin
        Where the columns came from (its ``keys`` are set here).
    shapes : mapping of str to tuple of int
        Trailing shape of vector fields; ``visible`` and ``influence`` default to (N,),
        ``logits``, ``message_logits`` and ``obs`` to (W,), counterfactual logits to
        (N, W / (N A), A).
    num_agents : int or None
        N; default ``max(agent) + 1``.
    metadata, meta
        As ``metadata`` and the keyword overrides of :class:`Trajectory`.

    Raises
    ------
    ShapeError, DTypeError, InvalidDistributionError, ConfigError
        For a DataFrame (``origin.file`` None), naming the column and row.
    FileFormatError
        For a file, naming it, the column and the row.
    """
    n = len(columns["agent"])
    episode = columns.get("episode")
    if episode is None:
        episode = np.zeros(n, dtype=np.int64)
    t, agent = columns["t"], columns["agent"]
    origin.keys = {"episode": episode, "t": t, "agent": agent}
    if num_agents is None:
        num_agents = int(agent.max()) + 1 if n else 1
    _check_keys(t, agent, num_agents, origin)
    order = _row_order(episode, t, agent)
    if _is_identity(order):  # rows already in order (every file written here): no copies
        _check_one_row_per_agent(episode, t, agent, order, num_agents, origin)
    else:
        _check_one_row_per_agent(episode[order], t[order], agent[order], order, num_agents, origin)
    perm = order.reshape(n // num_agents, num_agents)
    e_step, t_step = episode[perm[:, 0]], t[perm[:, 0]]
    _check_steps_contiguous(e_step, t_step, perm, origin)
    kw = metadata_fields(metadata, meta)
    arrays = _field_arrays(columns, perm, shapes, num_agents, _num_actions(kw, columns), origin)
    try:
        return Trajectory(**arrays, episode_ids=e_step, t=t_step, metadata=kw, copy=False)
    except CausalInfluenceError as err:
        field_name, index = error_location(err)
        field_name = field_name or "metadata"
        column = COLUMN_OF.get(field_name, field_name)
        row = None
        if index is not None and len(index) >= 1 and perm.shape[0]:
            row = int(perm[index[0], index[1] if len(index) > 1 else 0])
        if origin.file is None and row is None:
            raise
        raise origin.fail(type(err), column, str(err), row) from err


def _check_keys(t: np.ndarray, agent: np.ndarray, num_agents: int, origin: TableOrigin) -> None:
    """Agent indices in [0, N) and t >= 0."""
    bad = np.flatnonzero((agent < 0) | (agent >= num_agents))
    if bad.size:
        raise origin.fail(
            ShapeError,
            "agent",
            f"agent index {int(agent[bad[0]])} is outside [0, N={num_agents})",
            int(bad[0]),
        )
    bad = np.flatnonzero(t < 0)
    if bad.size:
        raise origin.fail(ShapeError, "t", f"t = {int(t[bad[0]])} is negative", int(bad[0]))


def _row_order(episode: np.ndarray, t: np.ndarray, agent: np.ndarray) -> np.ndarray:
    """Row positions sorted by episode (in order of first appearance), then t, then agent.

    Rows already in that order (each episode one block, (t, agent) strictly increasing
    within it) are recognised in a few comparisons, without sorting."""
    if _in_order(episode, t, agent):
        return np.arange(episode.size)
    _, first_index, inverse = np.unique(episode, return_index=True, return_inverse=True)
    rank = np.empty(first_index.size, dtype=np.int64)
    rank[np.argsort(first_index, kind="stable")] = np.arange(first_index.size)
    return np.lexsort((agent, t, rank[inverse.reshape(-1)]))


def _in_order(episode: np.ndarray, t: np.ndarray, agent: np.ndarray) -> bool:
    """Whether the rows are sorted as :func:`_row_order` sorts them, with no duplicates."""
    if episode.size < 2:
        return True
    change = episode[1:] != episode[:-1]
    heads = episode[np.concatenate([[0], np.flatnonzero(change) + 1])]
    if np.unique(heads).size != heads.size:  # an episode in two blocks
        return False
    later = (t[1:] > t[:-1]) | ((t[1:] == t[:-1]) & (agent[1:] > agent[:-1]))
    return bool(np.all(change | later))


def _is_identity(order: np.ndarray) -> bool:
    return bool(np.array_equal(order, np.arange(order.size)))


def _check_one_row_per_agent(
    e_s: np.ndarray,
    t_s: np.ndarray,
    a_s: np.ndarray,
    order: np.ndarray,
    num_agents: int,
    origin: TableOrigin,
) -> None:
    """No duplicate rows and exactly one row per agent at every (episode, t) of the sorted
    keys ``e_s``, ``t_s``, ``a_s`` (``order`` maps them back to rows)."""
    n = e_s.size
    same_step = (e_s[1:] == e_s[:-1]) & (t_s[1:] == t_s[:-1])
    dup = np.flatnonzero(same_step & (a_s[1:] == a_s[:-1]))
    if dup.size:
        i = int(dup[0])
        raise origin.fail(
            ShapeError,
            "agent",
            f"duplicate row: rows {int(order[i])} and {int(order[i + 1])} are both episode "
            f"{e_s[i]}, t {t_s[i]}, agent {a_s[i]}; keep one row per (episode, t, agent)",
            int(order[i + 1]),
        )
    step_first = np.flatnonzero(np.concatenate([[True], ~same_step])) if n else np.zeros(0, int)
    counts = np.diff(np.append(step_first, n))
    bad = np.flatnonzero(counts != num_agents)
    if bad.size:
        s = int(step_first[bad[0]])
        present = a_s[s : s + int(counts[bad[0]])]
        mismatch = np.flatnonzero(present != np.arange(present.size))
        missing = int(mismatch[0]) if mismatch.size else int(present.size)
        raise origin.fail(
            ShapeError,
            "agent",
            f"ragged table: episode {e_s[s]}, t {t_s[s]} has {int(counts[bad[0]])} rows for "
            f"N={num_agents} agents (no row for agent {missing}); every (episode, t) needs one "
            f"row per agent",
            int(order[s]),
        )


def _check_steps_contiguous(
    e_step: np.ndarray, t_step: np.ndarray, perm: np.ndarray, origin: TableOrigin
) -> None:
    """t grows by 1 from one step to the next within an episode (no missing steps)."""
    jump = np.flatnonzero((e_step[1:] == e_step[:-1]) & (t_step[1:] != t_step[:-1] + 1))
    if jump.size:
        i = int(jump[0]) + 1
        raise origin.fail(
            ShapeError,
            "t",
            f"ragged episode: episode {e_step[i]} jumps from t={t_step[i - 1]} to "
            f"t={t_step[i]} (missing steps); t must grow by 1 within an episode",
            int(perm[i, 0]),
        )


def _num_actions(kw: Mapping[str, Any], columns: Mapping[str, np.ndarray]) -> Any:
    """A as given, else inferred from ``action_names`` or the width of the logits column
    (needed to unflatten counterfactual logits); None if unknown."""
    num_actions = kw.get("num_actions")
    if num_actions is None and kw.get("action_names") is not None:
        num_actions = len(tuple(kw["action_names"]))
    if num_actions is None and "logits" in columns:
        num_actions = columns["logits"].shape[1]
    return num_actions


def _trailing_shape(
    name: str, width: int, shapes: Mapping[str, tuple[int, ...]], num_agents: int, num_actions: Any
) -> tuple[int, ...] | None:
    if name in shapes:
        return tuple(shapes[name])
    if name in ("visible", "influence"):
        return (num_agents,)
    if name in ("logits", "message_logits", "obs"):
        return (width,)
    # counterfactual logits flattened: (N, K, A) needs A
    if num_actions is None or width % (num_agents * int(num_actions)):
        return None
    return (num_agents, width // (num_agents * int(num_actions)), int(num_actions))


def _field_arrays(
    columns: Mapping[str, np.ndarray],
    perm: np.ndarray,
    shapes: Mapping[str, tuple[int, ...]],
    num_agents: int,
    num_actions: Any,
    origin: TableOrigin,
) -> dict[str, np.ndarray]:
    """The (T, N, ...) arrays of the fields present, rows taken in ``perm`` (T, N) order.

    Rows already in that order (as every file this package writes) are reshaped without a
    copy."""
    num_steps = perm.shape[0]
    if _is_identity(perm.reshape(-1)):
        perm = slice(None)  # type: ignore[assignment]
    arrays: dict[str, np.ndarray] = {}
    for fname, col in SCALAR_COLUMNS.items():
        if col in columns:
            arrays[fname] = columns[col][perm].reshape(num_steps, num_agents)
    for fname, (col, _prefix) in VECTOR_COLUMNS.items():
        if col not in columns:
            continue
        values = columns[col]
        shape = _trailing_shape(fname, values.shape[1], shapes, num_agents, num_actions)
        if shape is None or math.prod(shape) != values.shape[1]:
            raise origin.fail(
                ShapeError,
                col,
                f"{values.shape[1]} entries per row do not fit the trailing shape "
                f"{shape if shape is not None else '(N, K, A)'} of {fname}",
            )
        arrays[fname] = values[perm].reshape(num_steps, num_agents, *shape)
    return arrays


# --------------------------------------------------------------------------------------------
# Arrow


def arrow_list_to_numpy(
    arr: Any, col: str, origin: TableOrigin, *, width: int | None
) -> np.ndarray:
    """A pyarrow list / fixed-size-list array as a (rows, W) numpy array, checked row by row.

    Parameters
    ----------
    arr : pyarrow.Array or pyarrow.ChunkedArray
        A column of lists of numbers (integers, floats or bools).
    col : str
        Its column name, for errors.
    origin : TableOrigin
        Where it came from, for errors.
    width : int or None
        Expected entries per list W; None takes the first row's.

    Raises
    ------
    DTypeError or FileFormatError
        Not a list column, or lists of something other than numbers.
    ShapeError or FileFormatError
        Null lists or entries, lists of another length (names the first bad row).

    Examples
    --------
    >>> import pyarrow as pa
    >>> arrow_list_to_numpy(pa.array([[1.0, 2.0], [3.0, 4.0]]), "logits", TableOrigin(None),
    ...                     width=2)
    array([[1., 2.],
           [3., 4.]])
    """
    import pyarrow as pa

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    typ = arr.type
    if not (
        pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_fixed_size_list(typ)
    ):
        raise origin.fail(DTypeError, col, f"expected a list column; got type {typ}")
    rows = len(arr)
    if arr.null_count:
        row = int(np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False))[0])
        raise origin.fail(ShapeError, col, "missing list (null)", row)
    size = _list_size(arr, col, origin, width=width)
    values = arr.flatten()
    value_type = values.type
    if not (
        pa.types.is_integer(value_type)
        or pa.types.is_floating(value_type)
        or pa.types.is_boolean(value_type)
    ):
        raise origin.fail(DTypeError, col, f"expected lists of numbers; got {typ}")
    if values.null_count:
        pos = int(np.flatnonzero(values.is_null().to_numpy(zero_copy_only=False))[0])
        raise origin.fail(
            ShapeError, col, "missing value (null) inside a list", pos // max(size, 1)
        )
    out = values.to_numpy(zero_copy_only=False)
    return out.reshape(rows, size)


def _list_size(arr: Any, col: str, origin: TableOrigin, *, width: int | None) -> int:
    """The common length of the lists of ``arr`` (every row must have it, and ``width`` if
    given)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_fixed_size_list(arr.type):
        size = int(arr.type.list_size)
        if width is not None and size != width:
            raise origin.fail(
                ShapeError, col, f"lists of {size} entries; expected {width} (all rows)"
            )
        return size
    lengths = pc.list_value_length(arr).to_numpy(zero_copy_only=False)
    size = int(lengths[0]) if len(arr) else (width or 0)
    expect = size if width is None else width
    bad = np.flatnonzero(lengths != expect)
    if bad.size:
        raise origin.fail(
            ShapeError,
            col,
            f"ragged list column: {int(lengths[bad[0]])} entries where {expect} are expected",
            int(bad[0]),
        )
    return size
