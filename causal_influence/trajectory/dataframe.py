"""pandas DataFrames as long tables: the bodies of :meth:`Trajectory.from_dataframe` and
:meth:`Trajectory.to_dataframe`.

A DataFrame holds one row per (episode, t, agent). Vector fields come either as one column of
lists / arrays per row or as "wide" numeric columns ``{prefix}_0 ... {prefix}_{W-1}``
(:data:`~causal_influence.trajectory.schema.VECTOR_COLUMNS`). Columns are read into numpy
with their dtypes checked (errors name the column and the row, with its index label), then
:func:`~causal_influence.trajectory.long_table.from_long_columns` checks the table and builds
the trajectory. pandas is imported on first use.

Examples
--------
>>> import numpy as np
>>> from causal_influence.trajectory import Trajectory
>>> from causal_influence.trajectory.dataframe import (
...     trajectory_from_dataframe, trajectory_to_dataframe)
>>> traj = Trajectory([[0, 1], [1, 1]], [[0.0, 1.0], [0.5, 0.0]], logits=np.zeros((2, 2, 2)))
>>> df = trajectory_to_dataframe(traj, columns=None, vectors="lists")
>>> list(df.columns)
['episode', 't', 'agent', 'action', 'reward', 'logits']
>>> trajectory_from_dataframe(df, metadata=None, obs_shape=None, overrides={}) == traj
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from causal_influence._optional import require
from causal_influence.errors import ConfigError, DTypeError, ShapeError, describe, error_location
from causal_influence.trajectory.long_table import (
    TableOrigin,
    arrow_list_to_numpy,
    from_long_columns,
    long_columns,
)
from causal_influence.trajectory.metadata import TrajectoryMeta, given_agent_ids
from causal_influence.trajectory.schema import (
    COLUMN_OF,
    KEY_COLUMNS,
    SCALAR_COLUMNS,
    VECTOR_COLUMNS,
)
from causal_influence.trajectory.trajectory import Trajectory
from causal_influence.validation import as_index

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["trajectory_from_dataframe", "trajectory_to_dataframe"]

#: Key of ``DataFrame.attrs`` under which a frame made by ``to_dataframe`` keeps its
#: metadata, trailing shapes and dtypes.
_ATTRS_KEY = "causal_influence"


# --------------------------------------------------------------------------------------------
# DataFrame -> trajectory


def trajectory_from_dataframe(
    df: pd.DataFrame,
    *,
    metadata: TrajectoryMeta | Mapping[str, Any] | None,
    obs_shape: Sequence[int] | None,
    overrides: Mapping[str, Any],
    mapping: Mapping[str, str] | None = None,
) -> Trajectory:
    """A trajectory from a long table (see :meth:`Trajectory.from_dataframe`).

    Raises
    ------
    DTypeError
        If ``df`` is no DataFrame, or a column has the wrong dtype.
    ShapeError, InvalidDistributionError, ConfigError
        As :meth:`Trajectory.from_dataframe`, naming the column and row.
    """
    require("pandas", purpose="Trajectory.from_dataframe")
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise DTypeError(f"from_dataframe: expected a pandas DataFrame; got {describe(df)}")
    metadata, shapes, dtypes = _saved_attrs(df, metadata)
    if obs_shape is not None:
        shapes["obs"] = tuple(int(s) for s in obs_shape)
    if mapping:
        df = _renamed(df, mapping)
    origin = TableOrigin(None, labels=df.index.to_numpy())
    columns, widths = _dataframe_columns(df, origin)
    if len(df) == 0:  # empty list columns carry no width or dtype: take them from attrs
        for fname, (col, _prefix) in VECTOR_COLUMNS.items():
            if col in columns and fname in shapes:
                dtype = np.dtype(dtypes.get(fname, columns[col].dtype))
                columns[col] = np.zeros((0, math.prod(shapes[fname])), dtype=dtype)
    ids = given_agent_ids(metadata, overrides)
    if columns["agent"].dtype.kind in "OUT":
        columns["agent"], ids = _agent_codes(columns["agent"], ids, origin)
        overrides = {**overrides, "agent_ids": tuple(ids)}
    num_agents = len(ids) if ids is not None else None
    origin.keys = {key: columns[key] for key in KEY_COLUMNS if key in columns}  # for errors
    n_agents = num_agents if num_agents is not None else _agent_count(columns["agent"])
    overrides = {
        **_padded_agents(columns, widths, n_agents, origin, metadata, overrides),
        **overrides,
    }
    _episodes_from_dones(columns, origin)
    return from_long_columns(
        columns, origin, shapes=shapes, num_agents=num_agents, metadata=metadata, meta=overrides
    )


def _agent_count(agent: np.ndarray) -> int:
    return int(agent.max()) + 1 if agent.size else 1


#: Gymnasium-style episode-end columns (True on the last step of an episode).
DONE_COLUMNS: tuple[str, ...] = ("terminated", "truncated", "done")
#: Names a column mapping may use for our columns besides the column names themselves.
_KEY_ALIASES = {**COLUMN_OF, "dones": "done"}


def _renamed(df: pd.DataFrame, mapping: Mapping[str, str]) -> pd.DataFrame:
    """``df`` with the columns named in ``mapping`` (ours -> theirs) renamed to ours; a
    vector field's wide columns ``theirs_0 ...`` become ``prefix_0 ...``.

    Raises
    ------
    ConfigError
        An unknown key, a column the table does not have, or one that would clash.
    """
    if not isinstance(mapping, Mapping):
        raise DTypeError(
            f"columns: expected a mapping of our column names to the table's, e.g. "
            f"{{'action': 'act'}}; got {describe(mapping)}"
        )
    ours_all = [
        *KEY_COLUMNS,
        *SCALAR_COLUMNS.values(),
        *(c for c, _ in VECTOR_COLUMNS.values()),
        *DONE_COLUMNS,
    ]
    names = [str(c) for c in df.columns]
    renames: dict[str, str] = {}
    for key, theirs in mapping.items():
        ours = _KEY_ALIASES.get(key, key)
        if ours not in ours_all:
            raise ConfigError(
                f"columns: unknown column {key!r}; the long table's columns are {ours_all} "
                f"(map each to the name in your table, e.g. action=act)"
            )
        if not isinstance(theirs, str):
            raise DTypeError(f"columns: {key}= expected a column name; got {describe(theirs)}")
        vector = next((v for v in VECTOR_COLUMNS.values() if v[0] == ours), None)
        wide = [n for n in names if re.fullmatch(rf"{re.escape(theirs)}_\d+", n)]
        if theirs in names:
            renames[theirs] = ours
        elif vector is not None and wide:
            renames.update({n: f"{vector[1]}{n[len(theirs) :]}" for n in wide})
        else:
            raise ConfigError(
                f"columns: {key}={theirs!r}, but the table has no column {theirs!r}"
                + (f" (nor {theirs}_0, {theirs}_1, ...)" if vector is not None else "")
                + f"; its columns are {names[:20]}"
            )
    clash = sorted(set(renames.values()) & (set(names) - set(renames)))
    if clash:
        raise ConfigError(
            f"columns: the table already has columns {clash}, which the mapping would give to "
            f"other columns; drop or rename them first"
        )
    return df.rename(columns=renames)


def _padded_agents(
    columns: dict[str, np.ndarray],
    widths: Mapping[str, np.ndarray],
    num_agents: int,
    origin: TableOrigin,
    metadata: Any,
    overrides: Mapping[str, Any],
) -> dict[str, Any]:
    """Per-agent sizes of vector columns whose rows differ in width (lists of different
    lengths, or logits with trailing NaN: an RLlib-style batch of agents with their own
    action counts): every row of an agent must have the same width; logits are padded with
    -inf, observations with 0. Returns the metadata found (``agent_num_actions``,
    ``agent_num_symbols``, ``obs_shapes``) that was not given."""
    agent = columns["agent"]
    found: dict[str, Any] = {}
    keys = {"logits": "agent_num_actions", "message_logits": "agent_num_symbols", "obs": None}
    for col, key in keys.items():
        if col not in columns:
            continue
        matrix = columns[col]
        row_widths = widths.get(col)
        if row_widths is None and col != "obs" and matrix.dtype.kind == "f" and matrix.size:
            row_widths = _nan_padded_widths(matrix)
        if row_widths is None or (row_widths == matrix.shape[1]).all():
            continue
        per_agent = np.zeros(num_agents, dtype=np.int64)
        for i in range(num_agents):
            rows = np.flatnonzero(agent == i)
            if rows.size == 0:
                continue
            w = row_widths[rows]
            bad = np.flatnonzero(w != w[0])
            if bad.size:
                raise origin.fail(
                    ShapeError,
                    col,
                    f"agent {i} has rows with {int(w[0])} and {int(w[bad[0]])} entries; every "
                    f"row of an agent needs the same number (its own number of "
                    f"{'observation entries' if col == 'obs' else 'values'})",
                    int(rows[bad[0]]),
                )
            per_agent[i] = w[0]
        pad = np.arange(matrix.shape[1])[None, :] >= row_widths[:, None]
        float_kind = matrix.dtype.kind == "f" or col == "obs"
        filled = matrix.copy() if float_kind else matrix.astype(np.float64)
        filled[pad] = 0 if col == "obs" else -np.inf
        columns[col] = filled
        if key is None:
            found["obs_shapes"] = tuple((int(w),) for w in per_agent)
        elif overrides.get(key) is None and _meta_value(metadata, key) is None:
            found[key] = tuple(int(w) for w in per_agent)
    return found


def _meta_value(metadata: Any, key: str) -> Any:
    if isinstance(metadata, TrajectoryMeta):
        return getattr(metadata, key, None)
    if isinstance(metadata, Mapping):
        return metadata.get(key)
    return None


def _nan_padded_widths(matrix: np.ndarray) -> np.ndarray | None:
    """Per-row width of a float matrix whose rows end in NaN padding (the entries after the
    last non-NaN one), or None when no row ends in NaN. NaN inside a row is left alone (the
    logits check reports it)."""
    nan = np.isnan(matrix)
    if not nan[:, -1].any():
        return None
    present = ~nan
    last = matrix.shape[1] - np.argmax(present[:, ::-1], axis=1)
    return np.where(present.any(axis=1), last, 0)


def _episodes_from_dones(columns: dict[str, np.ndarray], origin: TableOrigin) -> None:
    """Episode ids from gymnasium-style ``terminated`` / ``truncated`` (or ``done``) columns
    when the table has no ``episode`` column: rows come in time order, a step's rows are
    contiguous (a new step starts where t changes), and an episode ends at a step where the
    agents' rows are done. With an ``episode`` column (rows in any order), a done row must be
    at the last t of its episode."""
    given = [c for c in DONE_COLUMNS if c in columns]
    if not given:
        return
    done = np.logical_or.reduce([columns.pop(c) for c in given])
    t = columns["t"]
    step = np.concatenate([[0], np.cumsum(t[1:] != t[:-1])]) if t.size else t
    n_steps = int(step[-1]) + 1 if t.size else 0
    any_done = np.bincount(step, weights=done, minlength=n_steps) > 0
    all_done = np.bincount(step, weights=done, minlength=n_steps) == np.bincount(
        step, minlength=n_steps
    )
    bad = np.flatnonzero(any_done & ~all_done)
    if bad.size:
        row = int(np.flatnonzero(step == bad[0])[0])
        raise origin.fail(
            ShapeError,
            "/".join(given),
            f"agents end their episode at different steps (t {int(t[row])}); a trajectory "
            f"needs every agent at every step, so give an episode column",
            row,
        )
    if "episode" in columns:  # rows in any order: a done row must be its episode's last t
        _, code = np.unique(columns["episode"], return_inverse=True)
        code = code.reshape(-1)
        last_t = np.full(int(code.max()) + 1 if code.size else 0, np.iinfo(np.int64).min)
        np.maximum.at(last_t, code, t)
        ends = np.flatnonzero(done & (t < last_t[code]))
        if ends.size:
            episode = columns["episode"]
            row = int(ends[0])
            raise origin.fail(
                ShapeError,
                "/".join(given),
                f"marked done at t {int(t[row])}, but episode {int(episode[row])} continues "
                f"at the next step; an episode ends where it is done",
                row,
            )
        return
    starts_after = np.concatenate([[0], np.cumsum(any_done)[:-1]]) if n_steps else any_done
    columns["episode"] = starts_after[step].astype(np.int64)


def _saved_attrs(
    df: pd.DataFrame, metadata: TrajectoryMeta | Mapping[str, Any] | None
) -> tuple[Any, dict[str, tuple[int, ...]], dict[str, str]]:
    """Metadata (the given one, else the one saved in ``df.attrs``), trailing shapes and dtypes
    saved by :func:`trajectory_to_dataframe` (empty when the frame has none)."""
    attrs = df.attrs.get(_ATTRS_KEY) if isinstance(df.attrs, Mapping) else None
    if not isinstance(attrs, Mapping):
        return metadata, {}, {}
    saved = attrs.get("metadata")
    if metadata is None and isinstance(saved, Mapping):
        metadata = saved
    shapes = {k: tuple(v) for k, v in (attrs.get("shapes") or {}).items()}
    dtypes = dict(attrs.get("dtypes") or {})
    return metadata, shapes, dtypes


def _agent_codes(
    agent: np.ndarray, ids: Iterable[str] | None, origin: TableOrigin
) -> tuple[np.ndarray, list[str]]:
    """String agent ids as int64 indices into ``ids`` (default: the ids in the order they
    first appear in the table, never re-sorted)."""
    agent_strs = agent.astype(str)
    order = list(ids) if ids is not None else list(dict.fromkeys(agent_strs.tolist()))
    lookup = {a: i for i, a in enumerate(order)}
    codes = np.fromiter(
        (lookup.get(a, -1) for a in agent_strs), dtype=np.int64, count=len(agent_strs)
    )
    bad = np.flatnonzero(codes < 0)
    if bad.size:
        raise origin.fail(
            ShapeError,
            "agent",
            f"agent id {str(agent_strs[bad[0]])!r} is not one of agent_ids {order}",
            int(bad[0]),
        )
    return codes, order


#: Vector fields whose rows may differ in width between agents (heterogeneous agents).
_RAGGED = frozenset({"logits", "message_logits", "obs"})


def _dataframe_columns(
    df: pd.DataFrame, origin: TableOrigin
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Read the long-table columns of a DataFrame into numpy, checking dtypes; also the
    per-row widths of list columns whose rows differ in length (``_RAGGED`` fields)."""
    names = [str(c) for c in df.columns]
    present = set(names)
    for required in ("t", "agent", "action", "reward"):
        if required not in present:
            raise origin.fail(
                ShapeError,
                required,
                f"missing column; a long table needs columns t, agent, action, reward "
                f"(and optionally episode, message, logits, ...); got {names[:12]}",
            )
    out: dict[str, np.ndarray] = {}
    widths: dict[str, np.ndarray] = {}
    if "episode" in present:
        out["episode"] = _int_column(df, "episode", origin)
    out["t"] = _int_column(df, "t", origin)
    out["agent"] = _int_column(df, "agent", origin, allow_str=True)
    out["action"] = _int_column(df, "action", origin)
    out["reward"] = _numeric_column(df["reward"], "reward", origin)
    for col in ("message", "context"):  # NaN / NA: no message, no context (-1)
        if col in present:
            out[col] = _label_column(df, col, origin)
    for col in DONE_COLUMNS:
        if col in present:
            out[col] = _numeric_column(df[col], col, origin, boolean=True).astype(bool)
    for fname, (col, prefix) in VECTOR_COLUMNS.items():
        if col in present:
            out[col], row_widths = _cells_to_matrix(df[col], col, origin, ragged=fname in _RAGGED)
            if row_widths is not None:
                widths[col] = row_widths
            continue
        wide = _wide_columns(df, names, fname, prefix, origin)
        if wide is not None:
            out[col] = wide
    return out, widths


def _first_bad(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


def _int_column(
    df: pd.DataFrame, col: str, origin: TableOrigin, *, allow_str: bool = False
) -> np.ndarray:
    """An integer column as int64 (with ``allow_str``, a string column as objects)."""
    import pandas as pd

    s = df[col]
    if allow_str and (
        pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype)
    ):
        row = _first_bad(s.isna().to_numpy())
        if row is not None:
            raise origin.fail(DTypeError, col, "missing value", row)
        return s.to_numpy(dtype=object)
    if pd.api.types.is_integer_dtype(s.dtype):
        row = _first_bad(s.isna().to_numpy())
        if row is not None:
            raise origin.fail(DTypeError, col, "missing value (NA) in an integer column", row)
        return s.to_numpy(dtype=np.int64)
    if pd.api.types.is_float_dtype(s.dtype):
        vals = s.to_numpy(dtype=np.float64, na_value=np.nan)
        row = _first_bad(np.isnan(vals))
        if row is not None:
            raise origin.fail(
                DTypeError,
                col,
                f"missing value (NaN); every row needs its {col}: drop or fill the rows "
                f"without one (df.dropna(subset=[{col!r}]))",
                row,
            )
        try:  # the project's one label rule: whole floats (3.0) are labels, 0.5 is not
            return np.asarray(as_index(vals, col, None))
        except DTypeError:
            row = _first_bad(~np.isfinite(vals) | (vals != np.round(vals)))
            raise origin.fail(
                DTypeError,
                col,
                f"expected whole numbers (an index); got {float(vals[row or 0])}; check the "
                f"column (indices such as 3 or 3.0 are accepted)",
                row,
            ) from None
    raise origin.fail(
        DTypeError,
        col,
        f"expected an integer column; got dtype {s.dtype}; convert it to integers (e.g. "
        f"pd.to_numeric(df[{col!r}]))",
    )


def _label_column(df: pd.DataFrame, col: str, origin: TableOrigin) -> np.ndarray:
    """An integer label column as int64 where a missing value (NA, or NaN in a float column
    of whole numbers, as pandas makes of an int column with gaps) means "no label": -1."""
    import pandas as pd

    s = df[col]
    na = s.isna().to_numpy()
    if pd.api.types.is_integer_dtype(s.dtype):
        return np.where(na, -1, s.fillna(-1).to_numpy(dtype=np.int64))
    if pd.api.types.is_float_dtype(s.dtype):
        vals = s.to_numpy(dtype=np.float64, na_value=np.nan)
        try:  # the project's one label rule, NaN read as -1 ("no label") first
            return np.asarray(as_index(np.where(na, -1.0, vals), col, None))
        except DTypeError as err:
            row = (error_location(err)[1] or (None,))[0]
            raise origin.fail(
                DTypeError,
                col,
                f"expected whole-number labels (NaN for none); got {float(vals[row or 0])}",
                row,
            ) from err
    raise origin.fail(
        DTypeError,
        col,
        f"expected an integer column (NaN or -1 for no label); got dtype {s.dtype}; convert "
        f"with df[{col!r}].astype(float)",
    )


def _numeric_column(
    values: pd.Series | pd.DataFrame, col: str, origin: TableOrigin, *, boolean: bool = False
) -> np.ndarray:
    """Numeric (or bool) columns as one array; NA only as NaN in float columns."""
    import pandas as pd

    dtypes = [values.dtype] if isinstance(values, pd.Series) else list(values.dtypes)
    for dt in dtypes:
        ok = pd.api.types.is_bool_dtype(dt) or pd.api.types.is_numeric_dtype(dt)
        if not ok:
            raise origin.fail(
                DTypeError, col, f"expected numbers; got dtype {dt}; convert with .astype"
            )
    na = values.isna().to_numpy()
    if na.ndim == 2:
        na = na.any(axis=1)
    row = _first_bad(na)
    if row is not None and (boolean or not all(dt.kind == "f" for dt in dtypes)):
        raise origin.fail(DTypeError, col, "missing value (NA)", row)
    arr = values.to_numpy()
    if arr.dtype == object:
        arr = values.to_numpy(dtype=bool if boolean else np.float64)
    return arr


def _wide_columns(
    df: pd.DataFrame, names: list[str], fname: str, prefix: str, origin: TableOrigin
) -> np.ndarray | None:
    """The wide columns ``{prefix}_0 ... {prefix}_{W-1}`` of a vector field as (rows, W),
    or None if the frame has none."""
    pattern = re.compile(rf"^{re.escape(prefix)}_(\d+)$")
    wide = sorted(
        (int(m.group(1)), name) for name in names if (m := pattern.match(name)) is not None
    )
    if not wide:
        return None
    indices = [i for i, _ in wide]
    if indices != list(range(len(indices))):
        missing = sorted(set(range(max(indices) + 1)) - set(indices))
        raise origin.fail(
            ShapeError,
            f"{prefix}_{missing[0] if missing else indices[0]}",
            f"wide columns of {fname} must be {prefix}_0 ... {prefix}_{{W-1}} without gaps",
        )
    return _numeric_column(
        df[[name for _, name in wide]], f"{prefix}_*", origin, boolean=fname == "visible"
    )


def _cells_to_matrix(
    series: Any, col: str, origin: TableOrigin, *, ragged: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """A column of lists / arrays (one per row) as a (rows, W) array, and with ``ragged``
    the width of each row when they differ (rows then padded at the end with 0; the caller
    pads them properly per agent). Without ``ragged``, rows must have equal sizes."""
    import pandas as pd

    if isinstance(series.dtype, pd.ArrowDtype):
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pa.array(series)
        lengths = pc.list_value_length(arr).to_numpy(zero_copy_only=False)
        if not ragged or len(set(lengths.tolist())) <= 1:
            return arrow_list_to_numpy(arr, col, origin, width=None), None
    values = series.to_numpy(dtype=object)
    rows = len(values)
    if rows == 0:
        return np.zeros((0, 0)), None
    cells: list[np.ndarray] = []
    for i, cell in enumerate(values):
        if cell is None or (isinstance(cell, float) and math.isnan(cell)):
            raise origin.fail(ShapeError, col, "missing value (expected a list of numbers)", i)
        arr = np.asarray(cell)
        if arr.dtype.kind not in "biuf":
            raise origin.fail(DTypeError, col, f"expected numbers; got {describe(arr)}", i)
        arr = arr.reshape(-1)
        if cells and arr.size != cells[0].size and not ragged:
            raise origin.fail(
                ShapeError,
                col,
                f"ragged list column: {arr.size} entries, row 0 has {cells[0].size}; every row "
                f"needs the same number",
                i,
            )
        cells.append(arr)
    widths = np.array([c.size for c in cells], dtype=np.int64)
    if widths.min() == widths.max():
        return np.stack(cells), None
    out = np.zeros((rows, int(widths.max())), dtype=np.result_type(*[c.dtype for c in cells]))
    for i, cell in enumerate(cells):
        out[i, : cell.size] = cell
    return out, widths


# --------------------------------------------------------------------------------------------
# trajectory -> DataFrame


def trajectory_to_dataframe(
    traj: Trajectory, *, columns: Iterable[str] | None, vectors: str
) -> pd.DataFrame:
    """The long table of ``traj`` (see :meth:`Trajectory.to_dataframe`).

    Raises
    ------
    ConfigError
        If ``vectors`` is neither ``"wide"`` nor ``"lists"``, or ``columns`` names an unknown
        field.
    """
    require("pandas", purpose="Trajectory.to_dataframe")
    import pandas as pd

    if vectors not in ("wide", "lists"):
        raise ConfigError(f"vectors: expected 'wide' or 'lists'; got {vectors!r}")
    cols, shapes = long_columns(traj, columns)
    data: dict[str, Any] = {}
    for name, arr in cols.items():
        if arr.ndim == 1:
            data[name] = arr
            continue
        fname = next(f for f, c in VECTOR_COLUMNS.items() if c[0] == name)
        if vectors == "lists":
            cells = np.empty(arr.shape[0], dtype=object)
            for i, cell in enumerate(arr.reshape(arr.shape[0], *shapes[fname])):
                cells[i] = cell
            data[name] = cells
        else:
            prefix = VECTOR_COLUMNS[fname][1]
            for i in range(arr.shape[1]):
                data[f"{prefix}_{i}"] = arr[:, i]
    df = pd.DataFrame(data)
    arrays = traj.to_dict()
    df.attrs[_ATTRS_KEY] = {
        "metadata": traj.metadata.to_dict(),
        "shapes": {k: list(v) for k, v in shapes.items()},
        "dtypes": {k: str(arrays[k].dtype) for k in shapes},
    }
    return df
