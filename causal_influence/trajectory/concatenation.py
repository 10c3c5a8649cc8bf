"""Concatenation of trajectories along time (:func:`concat`).

Examples
--------
>>> from causal_influence.trajectory import Trajectory, concat
>>> a = Trajectory([[0], [1]], [[0.0], [1.0]], num_actions=2)
>>> len(concat([a, a], renumber=True))
4
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from causal_influence.errors import ConfigError, DTypeError, ShapeError, describe
from causal_influence.trajectory.metadata import merge_metadata, metadata_mismatch
from causal_influence.trajectory.trajectory import Trajectory
from causal_influence.validation import episode_numbers

__all__ = ["concat"]


def concat(trajectories: Iterable[Trajectory], *, renumber: bool = False) -> Trajectory:
    """Concatenate trajectories along time.

    Parameters
    ----------
    trajectories : iterable of Trajectory
        At least one; they must agree on agents, actions, symbols, env and the optional fields
        present (and their trailing shapes).
    renumber : bool, default False
        False keeps episode ids: an id may continue into the next part only as the same
        episode (adjacent, t growing by 1), e.g. a trajectory split into shards. True numbers
        every part's episodes 0, 1, ... in order as distinct episodes.

    Returns
    -------
    Trajectory
        Metadata of the first part; ``seed`` kept only when every part has the same, ``extra``
        only the entries every part shares.

    Raises
    ------
    ConfigError
        If the parts disagree on metadata or fields, or no part is given.
    ShapeError
        If ids repeat across parts without ``renumber`` (the message says so).

    Examples
    --------
    >>> a = Trajectory([[0], [1]], [[0.0], [1.0]], num_actions=2)
    >>> concat([a, a], renumber=True).episode_ids
    array([0, 0, 1, 1])
    >>> concat([a, a])
    Traceback (most recent call last):
    ...
    causal_influence.errors.ShapeError: t: expected t to grow by 1 ... pass renumber=True ...
    """
    parts = list(trajectories)
    if not parts:
        raise ConfigError("concat: expected at least one trajectory; got none")
    for i, p in enumerate(parts):
        if not isinstance(p, Trajectory):
            raise DTypeError(f"concat: part {i} is {describe(p)}, not a Trajectory")
    first = parts[0]
    for i, p in enumerate(parts[1:], start=1):
        bad = metadata_mismatch(first.metadata, p.metadata)
        if bad is not None:
            raise ConfigError(f"concat: part {i} disagrees with part 0 on {bad}")
        if p.fields != first.fields:
            raise ConfigError(
                f"concat: part {i} has optional fields {p.fields}, part 0 has {first.fields}; "
                f"drop fields with .replace(name=None) to make them agree"
            )
        for name in ("counterfactual_logits", "obs"):
            a, b = getattr(first, name), getattr(p, name)
            if a is not None and b is not None and a.shape[2:] != b.shape[2:]:
                raise ConfigError(
                    f"concat: {name} of part {i} has trailing shape {b.shape[2:]}, part 0 has "
                    f"{a.shape[2:]}"
                )
    columns = [p.to_dict() for p in parts]
    arrays = {name: np.concatenate([c[name] for c in columns]) for name in columns[0]}
    if renumber:
        offsets = np.cumsum([0] + [p.num_episodes for p in parts[:-1]])
        arrays["episode_ids"] = np.concatenate(
            [episode_numbers(p.episode_starts) + off for p, off in zip(parts, offsets, strict=True)]
        )
    meta = merge_metadata([p.metadata for p in parts])
    try:
        return Trajectory(**arrays, metadata=meta, copy=False)
    except ShapeError as err:
        ids = [set(p.episode_index.tolist()) for p in parts]
        shared = len(set().union(*ids)) < sum(len(s) for s in ids)
        if not renumber and shared:
            raise ShapeError(
                f"{err} (parts share episode ids; pass renumber=True to number the episodes "
                f"0, 1, ...)"
            ) from err
        raise
