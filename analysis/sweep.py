"""Sweeps of training runs on Ray: seeds x settings x hyperparameters, resumable.

:func:`expand_grid` turns a base :class:`agents.config.TrainConfig`, named settings, a grid of
overrides and a list of seeds into one :class:`SweepRun` per combination;
:func:`run_sweep` trains every run as a Ray task (on a local cluster by default, or on a
running cluster given its address), each in its own results directory; :func:`gather_sweep`
reads the finished runs into one tidy table and draws the learning curves (mean and 95%
interval over seeds, per condition). ``causal-influence sweep CONFIG`` does all three from a
sweep file (:func:`load_sweep_config`). The steps that build runs live in
:mod:`analysis.sweep_runs` and the learning curves in :mod:`analysis.curves` (their public
names are re-exported here), the Ray tasks that train the runs in :mod:`analysis.sweep_tasks`.

Layout of a sweep directory::

    OUT/sweep.json              the runs (name, condition, seed, parameters, full config)
    OUT/runs/NAME/              one run: config.json, progress.csv, final.pt, checkpoints/
    OUT/runs/NAME/done.json     completion marker, written atomically when the run ends
    OUT/results.csv             the gathered table (one row per run and update)
    OUT/curves.csv              mean and interval per condition and x
    OUT/learning_curves.png     the learning-curve plot

Failures and restarts: a run that raises (or whose worker dies) is reported and submitted
once more; a run that fails twice is reported as failed and the others carry on. Running the
same sweep again skips every run whose ``done.json`` records the same configuration, resumes
an unfinished run from its latest checkpoint when it wrote one (``checkpoint_every > 0``;
exact, see :mod:`agents.trainer`), and starts any other unfinished run of the same
configuration again from scratch. A run directory that holds a run of another configuration
(the sweep file was edited: a finished run whose settings changed, or a foreign run) is
refused before anything is written, and nothing is deleted: write the edited sweep into a new
directory, or move those runs away.
On a cluster of several machines, OUT must be on a file system every node shares.

Sweep file
----------
TOML (Python >= 3.11, or with ``tomli`` installed) or JSON with the same keys::

    out = "sweeps/harvest"      # optional: output directory, relative to this file
    seeds = [0, 1, 2]           # a list of seeds, or a count n for seeds 0 .. n-1
    metric = "episode_collective_return"   # optional: the learning-curve column

    [base]                      # TrainConfig fields shared by every run
    num_envs = 4
    total_env_steps = 20000
    [base.env]                  # envs.config.SSDConfig fields
    game = "harvest"
    map = "small_harvest"
    num_agents = 3

    [settings.baseline]         # one table per setting: the TrainConfig fields it sets
    setting = "none"
    [settings.moa]
    setting = "moa"
    influence_coef = 1.0

    [grid]                      # every combination of these values, for every setting
    lr = [0.001, 0.0003]
    "env.view_radius" = [2, 3]

``settings`` may also be a list of setting names (``settings = ["none", "moa"]``); without
it there is one setting, named after ``base``'s. Keys ``env.FIELD`` set one field of the
env; ``seed``, ``out_dir`` and ``setting`` cannot be grid keys (they come from ``seeds``, the
sweep and ``settings``). A condition is a setting with one value of every grid key; its runs
differ only in the seed.

Examples
--------
>>> from agents.config import TrainConfig
>>> from envs.config import harvest_config
>>> base = TrainConfig(env=harvest_config(map="small_harvest", num_agents=2))
>>> runs = expand_grid(base, seeds=[0, 1],
...                    settings={"none": {}, "moa": {"setting": "moa", "influence_coef": 1.0}},
...                    grid={"lr": [1e-3, 3e-3]})
>>> len(runs), runs[-1].name, runs[-1].config.influence_coef
(8, 'moa_lr=0.003_seed=1', 1.0)
>>> results = run_sweep(runs, "sweeps/demo", num_cpus=2)  # doctest: +SKIP
>>> gather_sweep("sweeps/demo").table.groupby("condition").size()  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.config import OUTPUT_FIELDS, RESUMABLE_FIELDS, TrainConfig
from analysis._ray import check_options, ray_session
from analysis.curves import DEFAULT_METRIC, learning_curves, plot_learning_curves, save_figure
from analysis.sweep_runs import (
    SweepRun,
    base_fields,
    cross_runs,
    named_settings,
    parse_seeds,
    read_sweep_file,
)
from analysis.sweep_tasks import (
    DONE_FILE,
    SWEEP_FORMAT,
    RayRuns,
    finished_marker,
    pending_row,
    recorded_config,
    write_text,
)
from causal_influence.errors import ConfigError, FileFormatError
from causal_influence.io import atomic_write
from causal_influence.io.limits import read_json

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = [
    "DEFAULT_METRIC",
    "SweepResults",
    "SweepRun",
    "SweepSpec",
    "expand_grid",
    "gather_sweep",
    "learning_curves",
    "load_sweep_config",
    "plot_learning_curves",
    "run_sweep",
    "save_figure",
]

SWEEP_FILE = "sweep.json"
TABLE_FILE = "results.csv"
CURVES_FILE = "curves.csv"
PLOT_FILE = "learning_curves.png"

_GRID_RESERVED = frozenset({"seed", "out_dir", "setting"})
_FILE_KEYS = ("out", "seeds", "metric", "base", "settings", "grid")

logger = logging.getLogger(__name__)


# ------------------------------------------------------------------------------ the grid


def expand_grid(
    base: TrainConfig | Mapping[str, Any],
    *,
    seeds: Sequence[int] | int,
    settings: Mapping[str, Mapping[str, Any]] | Sequence[str] | None = None,
    grid: Mapping[str, Sequence[Any]] | None = None,
) -> list[SweepRun]:
    """Every combination of settings, grid values and seeds, as runs.

    Parameters
    ----------
    base : TrainConfig or mapping
        Fields shared by every run (a mapping in the form of :meth:`TrainConfig.to_dict`;
        ``env`` may name a map).
    seeds : sequence of int, or int
        Seeds of every condition (an int n means 0 .. n-1).
    settings : mapping of name to overrides, or sequence of setting names, optional
        Named settings, each a mapping of the TrainConfig fields it sets; a name alone sets
        ``setting`` to it. Default: one setting, named after ``base``'s.
    grid : mapping of field to sequence of values, optional
        Hyperparameters; every combination is crossed with every setting. Keys are
        TrainConfig fields or ``env.FIELD``.

    Returns
    -------
    list of SweepRun
        Ordered by setting, then grid combination (the last key varying fastest), then seed.

    Raises
    ------
    ConfigError
        Unknown fields, invalid configs (naming the run), empty value lists, reserved grid
        keys, or names that collide.

    Examples
    --------
    >>> runs = expand_grid({"env": {"map": "small_harvest", "num_agents": 2}}, seeds=2,
    ...                    settings=["none", "moa"])
    >>> [(r.name, r.params["setting"], r.config.setting) for r in runs][2:]
    [('moa_seed=0', 'moa', 'moa'), ('moa_seed=1', 'moa', 'moa')]
    """
    seed_list = parse_seeds(seeds)
    base_dict = base_fields(base)
    named = named_settings(settings, base_dict)
    return cross_runs(base_dict, named, _checked_grid(grid), seed_list)


def _checked_grid(grid: Mapping[str, Sequence[Any]] | None) -> dict[str, Sequence[Any]]:
    """The grid, each key with a non-empty list of values and none of the reserved keys."""
    grid = dict(grid or {})
    for key, values in grid.items():
        if key in _GRID_RESERVED:
            raise ConfigError(
                f"grid: {key!r} cannot be a grid key (seeds come from 'seeds', settings from "
                f"'settings' and out_dir from the sweep)"
            )
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ConfigError(f"grid.{key}: expected a non-empty list of values; got {values!r}")
    return grid


# ------------------------------------------------------------------------------ sweep file


@dataclass(frozen=True)
class SweepSpec:
    """A sweep file read by :func:`load_sweep_config`.

    Attributes
    ----------
    base : dict
        TrainConfig fields shared by every run.
    seeds : tuple of int
    settings : dict or list or None
    grid : dict
    out : pathlib.Path or None
        Output directory (relative paths resolved against the file's directory).
    metric : str
        Learning-curve column.
    source : pathlib.Path or None
        The file read.
    """

    base: dict[str, Any]
    seeds: tuple[int, ...]
    settings: dict[str, dict[str, Any]] | list[str] | None = None
    grid: dict[str, list[Any]] = field(default_factory=dict)
    out: Path | None = None
    metric: str = DEFAULT_METRIC
    source: Path | None = None

    def runs(self) -> list[SweepRun]:
        """The runs of the sweep (:func:`expand_grid`)."""
        return expand_grid(self.base, seeds=self.seeds, settings=self.settings, grid=self.grid)


def load_sweep_config(path: str | Path) -> SweepSpec:
    """Read a sweep file (TOML or JSON; format in the module docstring) and check its runs.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.toml`` or ``.json`` file.

    Returns
    -------
    SweepSpec
        Its runs were built once, so an invalid configuration fails here, before any run.

    Raises
    ------
    FileNotFoundError
        No such file.
    FileFormatError
        Not valid TOML / JSON.
    ConfigError
        Unknown keys, values of the wrong kind, invalid run configurations.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "sweep.json"
    >>> _ = path.write_text(json.dumps({
    ...     "seeds": 2, "base": {"env": {"map": "small_harvest", "num_agents": 2}},
    ...     "settings": ["none", "moa"], "grid": {"lr": [0.001, 0.003]}}))
    >>> spec = load_sweep_config(path)
    >>> len(spec.runs()), spec.out is None
    (8, True)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such sweep file")
    data = read_sweep_file(path)
    unknown = sorted(set(data) - set(_FILE_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {unknown}; known: {list(_FILE_KEYS)}")
    base = data.get("base", {})
    if not isinstance(base, dict):
        raise ConfigError(f"{path}: base: expected a table of TrainConfig fields; got {base!r}")
    grid = data.get("grid", {})
    if not isinstance(grid, dict):
        raise ConfigError(f"{path}: grid: expected a table of lists; got {grid!r}")
    out = data.get("out")
    if out is not None and not isinstance(out, str):
        raise ConfigError(f"{path}: out: expected a path string; got {out!r}")
    metric = data.get("metric", DEFAULT_METRIC)
    if not isinstance(metric, str):
        raise ConfigError(f"{path}: metric: expected a column name; got {metric!r}")
    try:
        spec = SweepSpec(
            base=base,
            seeds=parse_seeds(data.get("seeds", [0])),
            settings=data.get("settings"),
            grid=grid,
            out=None if out is None else path.parent / out,
            metric=metric,
            source=path,
        )
        spec.runs()
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
    return spec


# ------------------------------------------------------------------------------ running


def run_sweep(
    runs: Sequence[SweepRun],
    out_dir: str | Path,
    *,
    address: str | None = None,
    num_cpus: int | None = None,
    train_fn: Callable[..., Any] | None = None,
    retries: int = 1,
    log: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Train every run as a Ray task, each in ``out_dir/runs/NAME``; skip finished ones.

    Parameters
    ----------
    runs : sequence of SweepRun
        From :func:`expand_grid` or :meth:`SweepSpec.runs`; their ``out_dir`` is replaced.
    out_dir : str or pathlib.Path
        The sweep directory (layout in the module docstring).
    address : str, optional
        A running Ray cluster (``"auto"``, ``"HOST:6379"``, ``"ray://HOST:10001"``); default:
        a local cluster for this call (or the connection of an earlier ``ray.init``).
    num_cpus : int, optional
        CPUs of the local cluster (default: all). Each run takes ``config.num_threads`` CPUs.
    train_fn : callable, optional
        Trains one run: ``train_fn(config)`` or ``train_fn(config, resume=checkpoint)``,
        writing ``config.out_dir`` as :func:`agents.trainer.train` (the default) does. It is
        sent to the workers, so it must be picklable.
    retries : int
        Further attempts of a run that failed (default 1: a failed run is tried twice).
    log : callable, optional
        Receives one line per event (run finished, failed, retried, skipped); default: the
        ``analysis.sweep`` logger.

    Returns
    -------
    pandas.DataFrame
        One row per run: ``run``, ``condition``, ``seed``, ``status`` ("finished",
        "skipped" when an earlier sweep finished it, or "failed"), ``attempts``, ``seconds``,
        ``resumed`` (continued from a checkpoint) and ``error`` (the last failure, or "").

    Raises
    ------
    ConfigError
        No runs, duplicate names, bad Ray options, Ray missing or unreachable.
    """
    import pandas as pd

    runs = _checked_runs(runs, retries)
    check_options(address, num_cpus)

    def emit(message: str, level: int = logging.INFO) -> None:
        if log is not None:
            log(message)
        else:
            logger.log(level, message)

    planned = _planned(runs, Path(out_dir))
    _check_existing_runs(planned, Path(out_dir))
    _write_plan(planned, Path(out_dir))
    rows = {r.name: pending_row(r) for r in planned}
    todo = []
    for run in planned:
        assert run.config.out_dir is not None
        if finished_marker(Path(run.config.out_dir), run.config) is not None:
            rows[run.name]["status"] = "skipped"
            emit(f"{run.name}: finished earlier, skipped")
        else:
            todo.append(run)
    if todo:
        with ray_session(address, num_cpus=num_cpus) as ray:
            RayRuns(ray, train_fn, rows, retries=retries, emit=emit).run(todo)
    return pd.DataFrame(list(rows.values()))


def _checked_runs(runs: Sequence[SweepRun], retries: int) -> list[SweepRun]:
    runs = list(runs)
    if not runs:
        raise ConfigError("runs: expected at least one SweepRun; got none")
    names = [r.name for r in runs]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ConfigError(f"runs: names must be unique; repeated: {dup}")
    if retries < 0:
        raise ConfigError(f"retries: expected a non-negative integer; got {retries}")
    return runs


def _plan(runs: list[SweepRun], out: Path) -> list[SweepRun]:
    """The runs with their directories under ``out/runs``, written to ``out/sweep.json``."""
    planned = _planned(runs, out)
    _write_plan(planned, out)
    return planned


def _planned(runs: list[SweepRun], out: Path) -> list[SweepRun]:
    """The runs with their directories under ``out/runs``."""
    return [
        dataclasses.replace(
            run,
            config=dataclasses.replace(
                run.config, out_dir=str(out / "runs" / run.name), progress=False
            ),
        )
        for run in runs
    ]


def _write_plan(planned: list[SweepRun], out: Path) -> None:
    write_text(
        out / SWEEP_FILE,
        json.dumps({"format": SWEEP_FORMAT, "runs": [r.to_dict() for r in planned]}, indent=2),
    )


def _check_existing_runs(planned: list[SweepRun], out: Path) -> None:
    """Refuse, before anything is written or deleted, run directories that hold another run:
    a finished run whose configuration the sweep file no longer gives (an edited sweep), or
    files that are not a run of this configuration. Runs of the same configuration are the
    sweep's own (skipped when finished, resumed or restarted otherwise)."""
    if out.is_dir() and any(out.iterdir()) and not (out / SWEEP_FILE).is_file():
        raise ConfigError(
            f"{out}: holds files but no {SWEEP_FILE}, so it is not a sweep directory; a sweep "
            f"writes into a new directory or one of its own (nothing was written or deleted)"
        )
    problems = []
    for run in planned:
        assert run.config.out_dir is not None
        run_dir = Path(run.config.out_dir)
        if not run_dir.is_dir() or not any(run_dir.iterdir()):
            continue
        recorded = recorded_config(run_dir)
        wanted = run.config.to_dict()
        if recorded is None:
            problems.append(f"runs/{run.name} holds files that are not a readable run")
            continue
        changed = sorted(k for k in wanted if k not in OUTPUT_FIELDS and recorded[k] != wanted[k])
        finished = (run_dir / DONE_FILE).is_file()
        # a finished run is kept as it is; an unfinished one may continue with a new length
        if changed and (finished or not set(changed) <= RESUMABLE_FIELDS):
            state = "a finished run" if finished else "a run"
            diffs = ", ".join(f"{k}: {recorded[k]!r} -> {wanted[k]!r}" for k in changed[:3])
            problems.append(f"runs/{run.name} holds {state} of another configuration ({diffs})")
    if problems:
        shown = "; ".join(problems[:3]) + (
            f"; and {len(problems) - 3} more" if problems[3:] else ""
        )
        raise ConfigError(
            f"the sweep directory already holds runs this sweep would replace: {shown}. Nothing "
            f"was deleted: write the sweep into a new --out, or move those run directories away"
        )


# ------------------------------------------------------------------------------ results


@dataclass(frozen=True, eq=False)
class SweepResults:
    """What :func:`gather_sweep` returns.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per finished run and update: ``run``, ``condition``, ``setting``, one
        column per grid key, ``seed``, then the columns of the run's ``progress.csv`` (a log
        column named as a grid key, such as ``lr``, becomes ``lr_logged``).
    curves : pandas.DataFrame
        :func:`learning_curves` of the table.
    figure : matplotlib.figure.Figure
        :func:`plot_learning_curves` of the table.
    missing : tuple of str
        Runs of the sweep that have not finished (failed, or not run yet).
    paths : dict of str to pathlib.Path
        Files written (``table``, ``curves``, ``plot``); empty with ``write=False``.
    """

    table: pd.DataFrame
    curves: pd.DataFrame
    figure: Figure
    missing: tuple[str, ...]
    paths: dict[str, Path]


def gather_sweep(
    out_dir: str | Path,
    *,
    metric: str = DEFAULT_METRIC,
    x: str = "env_steps",
    confidence_level: float = 0.95,
    write: bool = True,
) -> SweepResults:
    """Read every finished run of a sweep into one table; draw and save the learning curves.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        A sweep directory written by :func:`run_sweep`.
    metric, x, confidence_level
        See :func:`learning_curves`.
    write : bool
        Write ``results.csv``, ``curves.csv`` and ``learning_curves.png`` into ``out_dir``
        (atomically).

    Returns
    -------
    SweepResults

    Raises
    ------
    FileFormatError
        ``out_dir`` is not a sweep directory, or no run has finished.
    ConfigError
        ``metric`` or ``x`` is not a column of the runs' logs.
    """
    import pandas as pd

    out = Path(out_dir)
    try:
        spec = read_json(out / SWEEP_FILE, "sweep description")
        runs = [SweepRun.from_dict(r) for r in spec["runs"]]
    except FileNotFoundError:
        raise FileFormatError(
            f"{out}: not a sweep directory (no {SWEEP_FILE}); run the sweep first "
            f"(analysis.sweep.run_sweep or `causal-influence sweep`)"
        ) from None
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise FileFormatError(f"{out / SWEEP_FILE}: not a sweep description ({err})") from None
    frames, missing = [], []
    for run in runs:
        run_dir = out / "runs" / run.name
        if finished_marker(run_dir, run.config) is None:
            missing.append(run.name)
            continue
        frame = pd.read_csv(run_dir / "progress.csv")
        front = {"run": run.name, "condition": run.condition, **run.params, "seed": run.seed}
        logged = {key: f"{key}_logged" for key in front if key in frame.columns}
        frame = frame.rename(columns=logged)
        for i, (key, value) in enumerate(front.items()):
            frame.insert(i, key, [value] * len(frame))
        frames.append(frame)
    if not frames:
        raise FileFormatError(
            f"{out}: no finished runs (no {DONE_FILE} markers); run the sweep first"
        )
    table = pd.concat(frames, ignore_index=True)
    curves = learning_curves(table, metric=metric, x=x, confidence_level=confidence_level)
    figure = plot_learning_curves(table, metric=metric, x=x, confidence_level=confidence_level)
    paths: dict[str, Path] = {}
    if write:
        for key, name, frame in (("table", TABLE_FILE, table), ("curves", CURVES_FILE, curves)):
            with atomic_write(out / name) as (tmp,):
                frame.to_csv(tmp, index=False)
            paths[key] = out / name
        paths["plot"] = save_figure(figure, out / PLOT_FILE)
    return SweepResults(table, curves, figure, tuple(missing), paths)
