"""Shard-parallel dataset statistics on Ray: the numbers of :func:`analysis.stats.analyze`.

A directory of trajectory shards is split into contiguous groups of files; one Ray task
summarises each group with :func:`analysis.dataset.summarize`, and :func:`merge_summaries`
joins the parts, in shard order, into the :class:`~analysis.dataset.DatasetSummary` that one
process reading every shard would have built. :func:`analyze_shards` then runs
:func:`analysis.stats.analyze` on it, so the tables, bootstrap intervals and permutation
p-values are those of the single-process path for the same ``rng``.

Merging
-------
Counts add. Bootstrap units need care: episode number e (counted over the whole dataset, in
shard order) belongs to unit ``e % max_units``. A part that starts at global episode E put its
local episode e' in unit ``e' % max_units``, so its unit u is global unit
``(u + E) % max_units``: each part's unit tables are rotated by E before they are added, and
the result keeps ``min(max_units, episodes)`` units. Social-outcome rows are renumbered the
same way. Every count table, and hence every coordination, speaker-consistency and
permutation result, is identical to the single-process one. Sums of floats (stored influence,
CIC, the per-step influence profile) depend on the order of the additions: the single pass
adds each shard's sums to running totals, so each Ray task also returns its shards' own sums
and the driver adds them shard by shard in reading order, which makes them bit-identical too.
(:func:`merge_summaries` of arbitrary parts adds part totals: identical while each unit's
episodes lie in one part, else equal up to rounding, relative 1e-15.)

Every shard must be readable from every node of the cluster (a shared file system), and the
package must be installed there.

Examples
--------
>>> import numpy as np
>>> from analysis.dataset import summarize
>>> from analysis.shards import merge_summaries
>>> rng = np.random.default_rng(0)
>>> parts = [{"actions": rng.integers(0, 3, size=(50, 2)),
...           "episode_ids": np.repeat(np.arange(5), 10)} for _ in range(3)]
>>> whole = summarize(parts, max_units=4)
>>> merged = merge_summaries([summarize(parts[:2], max_units=4),
...                           summarize(parts[2:], max_units=4)], max_units=4)
>>> merged.num_units, bool(np.array_equal(merged.ic_action, whole.ic_action))
(4, True)
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis._ray import check_options, cluster_cpus, ray_session, remote_cause
from analysis.dataset import DEFAULT_MAX_UNITS, check_summary_options, summarize
from analysis.decisions import DEFAULT_ALPHA, DEFAULT_MIN_EFFECT, seed_of
from analysis.stats import AnalysisResult, analyze
from analysis.summary import UNIT_TABLES, DatasetSummary, alphabet_axes, pad_to
from causal_influence.errors import ConfigError, FileFormatError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "analyze_shards",
    "merge_summaries",
    "shard_groups",
    "summarize_shards",
]

# ------------------------------------------------------------------------------ merging


def _check_parts(parts: Sequence[DatasetSummary], max_units: int) -> None:
    if not parts:
        raise FileFormatError("no summaries to merge: expected at least one DatasetSummary")
    for i, part in enumerate(parts):
        if not isinstance(part, DatasetSummary):
            raise ConfigError(
                f"parts[{i}]: expected an analysis.dataset.DatasetSummary; got "
                f"{type(part).__name__}"
            )
        if part.num_units != min(max_units, part.num_episodes):
            raise ConfigError(
                f"parts[{i}] has {part.num_units} bootstrap units for {part.num_episodes} "
                f"episodes, which max_units={max_units} would not give; merge with the "
                f"max_units the parts were summarised with"
            )
    first = parts[0]
    for i, part in enumerate(parts[1:], start=1):
        if part.agent_ids != first.agent_ids:
            raise FileFormatError(
                f"parts[{i}] has agents {list(part.agent_ids)} but the first part has "
                f"{list(first.agent_ids)}; every shard needs the same agents"
            )
        if part.lag != first.lag:
            raise ConfigError(f"parts[{i}] has lag={part.lag}, the first part lag={first.lag}")
        for flag, what in _SHARED_FIELDS:
            if getattr(first, flag) and not getattr(part, flag):
                raise FileFormatError(
                    f"the first trajectory had {what} but parts[{i}] has none; every shard "
                    f"needs the same fields"
                )
            same_reading = (part.alignment, part.variable) == (first.alignment, first.variable)
            if flag == "has_influence" and first.has_influence and not same_reading:
                raise FileFormatError(
                    f"parts[{i}] read the stored influence as {part.variable} with alignment "
                    f"{part.alignment!r}, the first part as {first.variable} with "
                    f"{first.alignment!r}; the shards' metadata disagree: pass alignment= and "
                    f"variable= explicitly"
                )


#: What every part must have when the first has it: (DatasetSummary flag, what it holds).
_SHARED_FIELDS = (
    ("has_messages", "messages"),
    ("has_influence", "influence"),
    ("has_context", "messages and a context"),
    ("has_cic", "counterfactual_logits"),
)


def merge_summaries(
    parts: Sequence[DatasetSummary], *, max_units: int = DEFAULT_MAX_UNITS
) -> DatasetSummary:
    """Join summaries of consecutive groups of trajectories into the summary of all of them.

    Parameters
    ----------
    parts : sequence of DatasetSummary
        Summaries (:func:`analysis.dataset.summarize`, same options) of consecutive groups of
        trajectories, in reading order.
    max_units : int
        The ``max_units`` the parts were summarised with.

    Returns
    -------
    DatasetSummary
        The summary :func:`~analysis.dataset.summarize` gives when it reads the groups one
        after the other (see the module docstring for the bootstrap units and float sums).
        Fields the first part lacks (messages, influence, CIC) are dropped from the others,
        as the single pass ignores them after the first trajectory.

    Raises
    ------
    FileFormatError
        Parts with different agents, or missing fields the first part has.
    ConfigError
        Parts summarised with different options.

    Examples
    --------
    >>> import numpy as np
    >>> from analysis.dataset import summarize
    >>> a = {"actions": np.array([[0, 1], [1, 1], [1, 0]]), "episode_ids": [0, 0, 1]}
    >>> b = {"actions": np.array([[2, 2], [0, 2]]), "episode_ids": [0, 0]}
    >>> merged = merge_summaries([summarize(a, max_units=2), summarize(b, max_units=2)],
    ...                          max_units=2)
    >>> merged.num_episodes, merged.num_actions, merged.unit_episodes.tolist()
    (3, 3, [2, 1])
    """
    if max_units < 1:
        raise ConfigError(f"max_units: expected a positive integer; got {max_units}")
    _check_parts(parts, max_units)
    first = parts[0]
    a = max(p.num_actions for p in parts)
    m = max(p.num_symbols for p in parts) if first.has_messages else 0
    k = m if first.variable == "messages" else a
    g = max(p.num_contexts for p in parts) if first.has_context else 0
    total_episodes = sum(p.num_episodes for p in parts)
    merged = _merged_unit_tables(parts, max_units, a, m, k, g)
    unit_episodes, unit_steps, ic_action = (
        merged.pop("unit_episodes"),
        merged.pop("unit_steps"),
        merged.pop("ic_action"),
    )
    assert unit_episodes is not None
    assert unit_steps is not None
    assert ic_action is not None
    return DatasetSummary(
        agent_ids=first.agent_ids,
        num_actions=a,
        num_symbols=m,
        lag=first.lag,
        alignment=first.alignment,
        variable=first.variable,
        influence_lag=first.influence_lag,
        num_steps=sum(p.num_steps for p in parts),
        num_episodes=total_episodes,
        unit_episodes=unit_episodes,
        unit_steps=unit_steps,
        ic_action=ic_action,
        social=_merged_social(parts),
        metadata=dict(first.metadata),
        num_contexts=g,
        influence_floor=max(p.influence_floor for p in parts),
        high_null=_merged_null(parts, a, k),
        high_null_kind=first.high_null_kind,
        **_merged_influence_extras(parts),
        **merged,
    )


def _merged_null(parts: Sequence[DatasetSummary], a: int, k: int) -> np.ndarray | None:
    """The null tables of the high-influence comparison, added (each permutation b is one
    joint permutation of every episode's values, so parts add index by index)."""
    first = parts[0].high_null
    if first is None:
        return None
    out = np.zeros((first.shape[0], *first.shape[1:3], k, a), dtype=first.dtype)
    for part in parts:
        if part.high_null is not None:
            out += pad_to(part.high_null, (3, 4), (k, a))
    return out


def _merged_unit_tables(
    parts: Sequence[DatasetSummary], max_units: int, a: int, m: int, k: int, g: int
) -> dict[str, np.ndarray | None]:
    """Every unit table, each part's units rotated by the episodes before it (module
    docstring), padded to the alphabets (a, m, k) and added; None where the first part lacks
    the table (the single pass ignores it in later trajectories)."""
    first = parts[0]
    units = min(max_units, sum(p.num_episodes for p in parts))
    merged: dict[str, np.ndarray | None] = {}
    for name in UNIT_TABLES:
        ref = getattr(first, name)
        if ref is None:
            merged[name] = None
            continue
        axes, sizes = alphabet_axes(name, a, m, k, g)
        shape = [max_units, *ref.shape[1:]]
        for ax, size in zip(axes, sizes, strict=True):
            shape[ax] = size
        out = np.zeros(shape, dtype=ref.dtype)
        offset = 0
        for part in parts:
            arr = pad_to(getattr(part, name), (0, *axes), (max_units, *sizes))
            out += np.roll(arr, offset % max_units, axis=0)
            offset += part.num_episodes
        merged[name] = out[:units]
    return merged


def _merged_influence_extras(parts: Sequence[DatasetSummary]) -> dict[str, np.ndarray | None]:
    """High-influence step counts and the profile within the episode, added; the first
    part's example trace."""
    first = parts[0]
    out: dict[str, np.ndarray | None] = dict.fromkeys(
        ("high_steps", "profile_sum", "profile_count", "example_reward", "example_moments")
    )
    if not first.has_influence or first.high_steps is None:
        return out
    high_steps = np.zeros_like(first.high_steps)
    length = max(p.profile_sum.shape[0] for p in parts if p.profile_sum is not None)
    profile_sum = np.zeros((length, first.num_agents), dtype=np.float64)
    profile_count = np.zeros(length, dtype=np.int64)
    for part in parts:
        if part.high_steps is not None:
            high_steps += part.high_steps
        if part.profile_sum is not None and part.profile_count is not None:
            profile_sum[: part.profile_sum.shape[0]] += part.profile_sum
            profile_count[: part.profile_count.shape[0]] += part.profile_count
    out.update(
        high_steps=high_steps,
        profile_sum=profile_sum,
        profile_count=profile_count,
        example_reward=first.example_reward,
        example_moments=first.example_moments,
    )
    return out


def _merged_social(parts: Sequence[DatasetSummary]) -> pd.DataFrame | None:
    """Social outcomes of every episode, renumbered over the parts."""
    social_parts = []
    offset = 0
    for part in parts:
        if part.social is not None:
            frame = part.social.copy()
            frame["episode"] = frame["episode"] + offset
            social_parts.append(frame)
        offset += part.num_episodes
    if not social_parts:
        return None
    import pandas as pd

    return pd.concat(social_parts, ignore_index=True)


# ------------------------------------------------------------------------------ on Ray


def shard_groups(paths: Sequence[Any], num_groups: int) -> list[list[Any]]:
    """Split ``paths`` into at most ``num_groups`` contiguous groups of nearly equal size.

    Examples
    --------
    >>> shard_groups(["a", "b", "c", "d", "e"], 2)
    [['a', 'b', 'c'], ['d', 'e']]
    >>> shard_groups(["a"], 4)
    [['a']]
    """
    if num_groups < 1:
        raise ConfigError(f"num_groups: expected a positive integer; got {num_groups}")
    count = min(num_groups, len(paths))
    bounds = [-(-i * len(paths) // count) for i in range(count + 1)] if count else [0]
    return [list(paths[bounds[i] : bounds[i + 1]]) for i in range(count)]


#: Per-unit sums of floats: the single pass adds each shard's sums to the running totals.
_FLOAT_TABLES: tuple[str, ...] = (
    "influence_sum",
    "cic_sum",
    "cic_compat_sum",
    "responsiveness_sum",
)

#: One shard's float sums: (episodes, {table: per-unit sums or None}, influence profile sum).
_ShardFloats = tuple[int, dict[str, np.ndarray | None], np.ndarray | None]


def _summarize_group(
    paths: list[str], options: dict[str, Any]
) -> tuple[DatasetSummary, list[_ShardFloats]]:
    """Body of the Ray task: the summary of a group of shard files (read in order), and each
    shard's own float sums, so that the driver can add them in the single pass's order."""
    import causal_influence.io as ci_io

    per_shard = [summarize(ci_io.open_dataset([p]), **options) for p in paths]
    floats = [
        (s.num_episodes, {name: getattr(s, name) for name in _FLOAT_TABLES}, s.profile_sum)
        for s in per_shard
    ]
    return merge_summaries(per_shard, max_units=options["max_units"]), floats


def _exact_float_sums(
    merged: DatasetSummary, shards: Sequence[_ShardFloats], max_units: int
) -> DatasetSummary:
    """Replace the float sums of ``merged`` by the shards' sums added one shard at a time in
    reading order, the association of the single pass (float addition is not associative, so
    adding group totals could differ from it in the last bits)."""
    fields: dict[str, np.ndarray] = {}
    for name in _FLOAT_TABLES:
        ref = getattr(merged, name)
        if ref is None:
            continue
        out = np.zeros((max_units, *ref.shape[1:]), dtype=np.float64)
        offset = 0
        for episodes, tables, _ in shards:
            arr = tables.get(name)
            if arr is not None:
                out += np.roll(pad_to(arr, (0,), (max_units,)), offset % max_units, axis=0)
            offset += episodes
        fields[name] = out[: merged.num_units]
    if merged.profile_sum is not None:
        profile = np.zeros_like(merged.profile_sum)
        for _, _, part in shards:
            if part is not None:
                profile[: part.shape[0]] += part
        fields["profile_sum"] = profile
    return dataclasses.replace(merged, **fields)  # type: ignore[arg-type]


def _shard_paths(source: Any) -> list[Path]:
    import causal_influence.io as ci_io

    if isinstance(source, ci_io.TrajectoryDataset):
        dataset = source
    elif isinstance(source, (str, os.PathLike)) or (
        isinstance(source, Sequence) and all(isinstance(p, (str, os.PathLike)) for p in source)
    ):
        dataset = ci_io.open_dataset(source)
    else:
        raise ConfigError(
            f"source: expected a directory of shards, a glob pattern, a trajectory file or a "
            f"list of files; got {type(source).__name__} (in-memory trajectories: use "
            f"analysis.stats.analyze)"
        )
    dataset.metadata  # noqa: B018 (reads the headers: shards must agree, as in one pass)
    return list(dataset.paths)


# Long: docstring of 42 lines (13 options, the result, the errors, an example); code 40 lines.
def summarize_shards(
    source: Any,
    *,
    lag: int = 1,
    alignment: str | None = None,
    variable: str | None = None,
    num_actions: int | None = None,
    num_symbols: int | None = None,
    max_units: int = DEFAULT_MAX_UNITS,
    visible_only: bool = False,
    moment_permutations: int = 0,
    seed: int | None = None,
    num_tasks: int | None = None,
    address: str | None = None,
    num_cpus: int | None = None,
    progress: bool = False,
) -> DatasetSummary:
    """:func:`analysis.dataset.summarize` of trajectory shards, one Ray task per group of files.

    Parameters
    ----------
    source : path, glob pattern, sequence of paths, or TrajectoryDataset
        Shards as :func:`causal_influence.io.open_dataset` reads them (a directory in natural
        name order); the order of the files is the reading order.
    lag, alignment, variable, num_actions, num_symbols, max_units, visible_only
        As in :func:`analysis.dataset.summarize`.
    moment_permutations, seed
        As in :func:`analysis.dataset.summarize` (each episode's permutations depend on the
        seed and the episode only, so every grouping of the shards draws the same ones).
    num_tasks : int, optional
        Number of groups (Ray tasks), each a contiguous run of files; default: the cluster's
        CPUs (at most one per shard).
    address : str, optional
        A running Ray cluster (``"auto"``, ``"HOST:6379"``); default: a local cluster
        started for this call (or the connection of an earlier ``ray.init``).
    num_cpus : int, optional
        CPUs of the local cluster (default: all).
    progress : bool
        A progress bar (tqdm, stderr) over finished groups.

    Returns
    -------
    DatasetSummary
        Equal to ``summarize(source, ...)`` (see the module docstring).

    Raises
    ------
    FileNotFoundError
        No shards at ``source``.
    FileFormatError, ShapeError, ConfigError
        As :func:`analysis.dataset.summarize` (raised in a task, re-raised here), or shards
        whose metadata disagree.

    Examples
    --------
    >>> summary = summarize_shards("shards/", num_cpus=2)  # doctest: +SKIP
    >>> summary.num_episodes  # doctest: +SKIP
    400
    """
    if num_tasks is not None and num_tasks < 1:
        raise ConfigError(f"num_tasks: expected a positive integer; got {num_tasks}")
    check_summary_options(
        lag, max_units, num_actions, num_symbols, alignment, moment_permutations, None
    )
    check_options(address, num_cpus)
    paths = _shard_paths(source)
    options: dict[str, Any] = {
        "lag": lag,
        "alignment": alignment,
        "variable": variable,
        "num_actions": num_actions,
        "num_symbols": num_symbols,
        "max_units": max_units,
        "visible_only": visible_only,
        "moment_permutations": moment_permutations,
        "seed": int(np.random.default_rng().integers(2**63)) if seed is None else seed,
    }
    with ray_session(address, num_cpus=num_cpus) as ray:
        groups = shard_groups(paths, num_tasks or cluster_cpus(ray))
        results = _summarize_groups(ray, groups, options, progress=progress)
    merged = merge_summaries([summary for summary, _ in results], max_units=max_units)
    return _exact_float_sums(merged, [f for _, floats in results for f in floats], max_units)


def _summarize_groups(
    ray: Any, groups: list[list[Path]], options: dict[str, Any], *, progress: bool
) -> list[tuple[DatasetSummary, list[_ShardFloats]]]:
    """One Ray task per group; the results in group order (the task's own exception re-raised;
    the tasks still running cancelled on any failure or interrupt)."""
    from tqdm.auto import tqdm

    task = ray.remote(num_cpus=1)(_summarize_group)
    refs = [task.remote([str(p) for p in g], options) for g in groups]
    index = {ref: i for i, ref in enumerate(refs)}
    parts: list[tuple[DatasetSummary, list[_ShardFloats]] | None] = [None] * len(refs)
    pending = list(refs)
    with tqdm(
        total=len(refs), desc="summarising", unit="task", disable=not progress, delay=0.5
    ) as bar:
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    try:
                        parts[index[ref]] = ray.get(ref)
                    except Exception as err:
                        cause = remote_cause(err)
                        if cause is err:
                            raise
                        raise cause from None
                    bar.update()
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
    return [p for p in parts if p is not None]


def analyze_shards(
    source: Any,
    *,
    lag: int = 1,
    alignment: str | None = None,
    variable: str | None = None,
    estimator: str = "plugin",
    n_bootstrap: int = 1000,
    n_permutations: int = 1000,
    confidence_level: float = 0.95,
    max_units: int = DEFAULT_MAX_UNITS,
    visible_only: bool = False,
    base: float | None = None,
    min_effect: float = DEFAULT_MIN_EFFECT,
    alpha: float = DEFAULT_ALPHA,
    rng: Any = None,
    progress: bool = False,
    num_tasks: int | None = None,
    address: str | None = None,
    num_cpus: int | None = None,
) -> AnalysisResult:
    """:func:`analysis.stats.analyze` of trajectory shards summarised on Ray.

    The shards are summarised by :func:`summarize_shards` (in parallel); the tables, their
    bootstrap intervals and permutation tests are then computed here, in the same order and
    from the same generator as :func:`~analysis.stats.analyze`, so the same ``rng`` gives the
    same tables.

    Parameters
    ----------
    source : path, glob pattern, sequence of paths, or TrajectoryDataset
        See :func:`summarize_shards`.
    lag, alignment, variable, estimator, n_bootstrap, n_permutations, confidence_level,
    max_units, visible_only, base, min_effect, alpha, rng, progress
        As in :func:`analysis.stats.analyze`.
    num_tasks, address, num_cpus
        As in :func:`summarize_shards`.

    Returns
    -------
    AnalysisResult

    Examples
    --------
    >>> result = analyze_shards("shards/", n_bootstrap=500, rng=0)  # doctest: +SKIP
    >>> result.influence[["influencer", "influencee", "influence"]]  # doctest: +SKIP
    """
    summary = summarize_shards(
        source,
        lag=lag,
        alignment=alignment,
        variable=variable,
        max_units=max_units,
        visible_only=visible_only,
        moment_permutations=n_permutations,
        seed=seed_of(rng),
        num_tasks=num_tasks,
        address=address,
        num_cpus=num_cpus,
        progress=progress,
    )
    return analyze(
        summary,
        estimator=estimator,
        n_bootstrap=n_bootstrap,
        n_permutations=n_permutations,
        confidence_level=confidence_level,
        max_units=max_units,
        visible_only=visible_only,
        base=base,
        min_effect=min_effect,
        alpha=alpha,
        rng=rng,
        progress=progress,
    )
