"""Where the analysis reads trajectories from, and the one place where input becomes a
:class:`~causal_influence.trajectory.Trajectory`.

:func:`iter_trajectories` walks a source (a trajectory, a mapping of arrays, a file, a
directory of shards, or an iterable of these) one item at a time; files and shards are read by
:mod:`causal_influence.io`, which returns checked trajectories. :func:`as_trajectory` turns a
mapping of arrays into a trajectory with :meth:`Trajectory.from_arrays
<causal_influence.trajectory.Trajectory.from_arrays>`, so its shapes, dtypes and ranges are
checked once, there; everything downstream reads the trajectory's fields and trusts them.

Examples
--------
>>> import numpy as np
>>> from analysis.sources import as_trajectory
>>> traj = as_trajectory({"actions": np.array([[0, 2], [1, 2]]), "episode_ids": [0, 1]})
>>> traj.metadata.num_actions, traj.num_episodes, bool(np.isnan(traj.rewards).all())
(3, 2, True)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from causal_influence.errors import ConfigError, describe
from causal_influence.trajectory import Trajectory, TrajectoryMeta

__all__ = ["TABLE_SUFFIXES", "as_trajectory", "is_table", "iter_trajectories", "read_table"]

#: Suffixes of another codebase's long tables (one row per episode, t, agent), read with
#: pandas by :func:`read_table`, as opposed to this package's trajectory files.
TABLE_SUFFIXES: tuple[str, ...] = (".csv", ".tsv")


def iter_trajectories(source: Any) -> Iterator[Trajectory | Mapping[str, Any]]:
    """Yield the trajectories of ``source`` one at a time (convert each with
    :func:`as_trajectory`).

    Parameters
    ----------
    source : Trajectory, mapping, path, or iterable of these
        A :class:`causal_influence.trajectory.Trajectory`, a mapping of arrays (see
        :func:`as_trajectory`), a trajectory file (``.parquet`` or ``.npz``), a directory of
        shards (read lazily, one shard at a time), or an iterable of any of these.

    Yields
    ------
    Trajectory or mapping
        Files and shards as loaded trajectories; trajectories and mappings as given.

    Raises
    ------
    FileNotFoundError
        When a path does not exist.
    ConfigError
        When ``source`` is none of the above.

    Examples
    --------
    >>> import numpy as np
    >>> parts = [{"actions": np.zeros((3, 2), int)}, {"actions": np.ones((2, 2), int)}]
    >>> [t["actions"].shape for t in iter_trajectories(parts)]
    [(3, 2), (2, 2)]
    """
    if isinstance(source, (str, os.PathLike)):
        yield from _iter_path(Path(source))
        return
    if isinstance(source, (Trajectory, Mapping)):
        yield source
        return
    if isinstance(source, Iterable):
        for item in source:
            if isinstance(item, (str, os.PathLike)):
                yield from _iter_path(Path(item))
            elif isinstance(item, (Trajectory, Mapping)):
                yield item
            else:
                raise ConfigError(
                    f"expected trajectories, mappings of arrays or paths; got an item that is "
                    f"{describe(item)}"
                )
            del item  # hold nothing while the next item (e.g. a shard) loads
        return
    raise ConfigError(
        f"expected a Trajectory, a mapping of arrays, a path, or an iterable of these; got "
        f"{describe(source)}"
    )


def _iter_path(path: Path) -> Iterator[Trajectory]:
    import causal_influence.io as ci_io

    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    if path.is_dir():
        yield from ci_io.open_dataset(path)
    else:
        yield ci_io.load(path)


def as_trajectory(item: Trajectory | Mapping[str, Any]) -> Trajectory:
    """``item`` as a checked :class:`~causal_influence.trajectory.Trajectory`.

    A trajectory is returned as it is. A mapping holds the arrays of
    :meth:`Trajectory.from_arrays <causal_influence.trajectory.Trajectory.from_arrays>` (any of
    its layouts) and optionally ``"metadata"`` (a dict or a TrajectoryMeta; keys that are not
    metadata fields, such as a run id, go to its ``extra``). For statistics of
    actions alone, two things may be left out:

    - ``rewards``: they become NaN (not recorded), and no social outcomes are computed;
    - the alphabet sizes: without ``num_actions`` / ``action_names`` in the metadata and
      without ``logits`` or ``counterfactual_logits``, the number of actions is the largest
      action + 1; likewise the number of symbols from ``messages``.

    Parameters
    ----------
    item : Trajectory or mapping

    Returns
    -------
    Trajectory
        Built without copying arrays whose dtype already fits (do not modify them afterwards).

    Raises
    ------
    ConfigError
        ``item`` is neither, or holds keys that are not trajectory fields.
    ShapeError, DTypeError, InvalidDistributionError
        As :class:`~causal_influence.trajectory.Trajectory` checks the arrays.

    Examples
    --------
    >>> import numpy as np
    >>> traj = as_trajectory({"actions": np.zeros((4, 2), int), "messages": np.ones((4, 2), int),
    ...                       "metadata": {"setting": "comm"}})
    >>> traj.metadata.num_actions, traj.metadata.num_symbols, traj.metadata.extra
    (1, 2, {'setting': 'comm'})
    """
    if isinstance(item, Trajectory):
        return item
    if not isinstance(item, Mapping):
        raise ConfigError(f"expected a Trajectory or a mapping of arrays; got {describe(item)}")
    arrays = {key: value for key, value in item.items() if key != "metadata"}
    metadata = item.get("metadata")
    given = _metadata_keys(metadata)
    sizes: dict[str, int] = {}
    actions = arrays.get("actions")
    if actions is not None and not isinstance(actions, Mapping):
        if "rewards" not in arrays:
            arrays["rewards"] = np.full(np.shape(actions), np.nan)
        if not given & {"num_actions", "action_names"} and not set(arrays) & {
            "logits",
            "counterfactual_logits",
        }:
            sizes["num_actions"] = _alphabet_size(actions)
    messages = arrays.get("messages")
    if (
        messages is not None
        and not isinstance(messages, Mapping)
        and not given & {"num_symbols", "symbol_names"}
        and "message_logits" not in arrays
    ):
        sizes["num_symbols"] = _alphabet_size(messages)
    return Trajectory.from_arrays(arrays, metadata=metadata, copy=False, **sizes)


def _metadata_keys(metadata: Any) -> set[str]:
    """Names of the metadata entries that are set."""
    if isinstance(metadata, TrajectoryMeta):
        return {key for key, value in metadata.to_dict().items() if value is not None}
    if isinstance(metadata, Mapping):
        return {str(key) for key, value in metadata.items() if value is not None}
    return set()


def _alphabet_size(labels: Any) -> int:
    """Largest label + 1 (at least 1); 1 for labels that are not integers, which the
    Trajectory then refuses with its own message."""
    arr = np.asarray(labels)
    if arr.size == 0 or arr.dtype.kind not in "iu":
        return 1
    return max(int(arr.max()) + 1, 1)


def is_table(path: str | os.PathLike[str], columns: Mapping[str, str] | None = None) -> bool:
    """Whether ``path`` is read as a foreign long table: a CSV / TSV, or any ``.parquet``
    file given with a column mapping (this package's own Parquet files need none)."""
    p = Path(path)
    return p.suffix in TABLE_SUFFIXES or (bool(columns) and p.suffix == ".parquet")


def read_table(
    path: str | os.PathLike[str], *, columns: Mapping[str, str] | None = None, **meta: Any
) -> Trajectory:
    """Another codebase's long table (CSV, TSV or Parquet) as a checked trajectory.

    Parameters
    ----------
    path : str or path-like
        ``.csv``, ``.tsv`` or ``.parquet``; one row per (episode, t, agent).
    columns : mapping of str to str, optional
        Our column names to the table's (``{"action": "act", "agent": "agent_id"}``), as
        :meth:`Trajectory.from_dataframe
        <causal_influence.trajectory.Trajectory.from_dataframe>` takes them.
    **meta
        Metadata (``num_actions=...``, ``influence_spec=...``).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ConfigError
        Another suffix; a mapping naming columns the table lacks.
    ShapeError, DTypeError
        As :meth:`Trajectory.from_dataframe`, naming the column and the row.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import pandas as pd
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.csv"
    >>> pd.DataFrame({"step": [0, 0, 1, 1], "who": ["s", "l", "s", "l"], "act": [1, 0, 2, 1],
    ...               "r": 0.0, "msg": [2, None, 0, None]}).to_csv(path, index=False)
    >>> traj = read_table(path, columns={"t": "step", "agent": "who", "action": "act",
    ...                                  "reward": "r", "message": "msg"},
    ...                   num_actions=3, num_symbols=3)
    >>> traj.metadata.agent_ids, traj.messages.tolist()
    (('s', 'l'), [[2, -1], [0, -1]])
    """
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    if p.suffix == ".parquet":
        df = pd.read_parquet(p)
    elif p.suffix in TABLE_SUFFIXES:
        df = pd.read_csv(p, sep="\t" if p.suffix == ".tsv" else ",")
    else:
        raise ConfigError(
            f"{p}: expected a long table ending in {', '.join(TABLE_SUFFIXES)} or .parquet"
        )
    sizes: dict[str, Any] = _table_sizes(df, columns, meta)
    return Trajectory.from_dataframe(df, columns=columns, **sizes, **meta)


def _table_sizes(
    df: Any, columns: Mapping[str, str] | None, meta: Mapping[str, Any]
) -> dict[str, int]:
    """The alphabet sizes of a table that does not say them, as :func:`as_trajectory` infers
    them from arrays: the largest action (symbol) + 1, when neither the metadata nor a
    logits column gives them."""
    mapping = dict(columns or {})
    names = [str(c) for c in df.columns]

    def theirs(ours: str, field: str) -> str:
        return mapping.get(ours) or mapping.get(field) or ours

    def present(ours: str, field: str, prefix: str) -> bool:
        name = theirs(ours, field)
        return (
            name in names
            or any(n.startswith(f"{name}_") for n in names)
            or (name == ours and any(n.startswith(f"{prefix}_") for n in names))
        )

    sizes: dict[str, int] = {}
    rules = (
        ("num_actions", "action_names", "action", "actions", "logits", "logit"),
        ("num_symbols", "symbol_names", "message", "messages", "message_logits", "message_logit"),
    )
    for size, names_key, ours, field, logits, prefix in rules:
        column = theirs(ours, field)
        if meta.get(size) is not None or meta.get(names_key) is not None or column not in names:
            continue
        if present(logits, logits, prefix):
            continue
        values = np.asarray(df[column].dropna(), dtype=np.float64)
        sizes[size] = max(int(values.max()) + 1, 1) if values.size else 1
    return sizes
