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
    natural_key,
)
from causal_influence.trajectory.metadata import TrajectoryMeta, given_agent_ids
from causal_influence.trajectory.schema import VECTOR_COLUMNS
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
    origin = TableOrigin(None, labels=df.index.to_numpy())
    columns = _dataframe_columns(df, origin)
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
    return from_long_columns(
        columns, origin, shapes=shapes, num_agents=num_agents, metadata=metadata, meta=overrides
    )


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
    """String agent ids as int64 indices into ``ids`` (default: the ids in natural order)."""
    agent_strs = agent.astype(str)
    order = list(ids) if ids is not None else sorted(set(agent_strs), key=natural_key)
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


def _dataframe_columns(df: pd.DataFrame, origin: TableOrigin) -> dict[str, np.ndarray]:
    """Read the long-table columns of a DataFrame into numpy, checking dtypes."""
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
    if "episode" in present:
        out["episode"] = _int_column(df, "episode", origin)
    out["t"] = _int_column(df, "t", origin)
    out["agent"] = _int_column(df, "agent", origin, allow_str=True)
    out["action"] = _int_column(df, "action", origin)
    out["reward"] = _numeric_column(df["reward"], "reward", origin)
    if "message" in present:
        out["message"] = _int_column(df, "message", origin)
    if "context" in present:
        out["context"] = _label_column(df, "context", origin)
    for fname, (col, prefix) in VECTOR_COLUMNS.items():
        if col in present:
            out[col] = _cells_to_matrix(df[col], col, origin)
            continue
        wide = _wide_columns(df, names, fname, prefix, origin)
        if wide is not None:
            out[col] = wide
    return out


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
    hint = ""
    if pd.api.types.is_float_dtype(s.dtype):
        vals = s.to_numpy(dtype=np.float64, na_value=np.nan)
        try:  # the project's one label rule: whole floats (3.0) are labels, 0.5 / NaN are not
            return np.asarray(as_index(vals, col, None))
        except DTypeError as err:
            where = error_location(err)[1]
            if where:
                hint = f" (first non-integer value {float(vals[where])} at row {where[0]})"
    raise origin.fail(
        DTypeError,
        col,
        f"expected an integer column; got dtype {s.dtype}{hint}; convert with "
        f"df[{col!r}].astype(int)",
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


def _cells_to_matrix(series: Any, col: str, origin: TableOrigin) -> np.ndarray:
    """A column of lists / arrays (one per row, equal sizes) as a (rows, W) array."""
    import pandas as pd

    if isinstance(series.dtype, pd.ArrowDtype):
        import pyarrow as pa

        return arrow_list_to_numpy(pa.array(series), col, origin, width=None)
    values = series.to_numpy(dtype=object)
    rows = len(values)
    if rows == 0:
        return np.zeros((0, 0))
    cells = []
    width = None
    for i, cell in enumerate(values):
        if cell is None or (isinstance(cell, float) and math.isnan(cell)):
            raise origin.fail(ShapeError, col, "missing value (expected a list of numbers)", i)
        arr = np.asarray(cell)
        if arr.dtype.kind not in "biuf":
            raise origin.fail(DTypeError, col, f"expected numbers; got {describe(arr)}", i)
        arr = arr.reshape(-1)
        if width is None:
            width = arr.size
        elif arr.size != width:
            raise origin.fail(
                ShapeError, col, f"ragged list column: {arr.size} entries, row 0 has {width}", i
            )
        cells.append(arr)
    return np.stack(cells)


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
