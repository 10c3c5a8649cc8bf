"""Learning curves of a sweep: the mean of a logged metric over seeds per condition, with a
Student-t interval, as a table and a figure (:mod:`analysis.sweep` gathers the runs).

Examples
--------
>>> import pandas as pd
>>> table = pd.DataFrame({"condition": ["a"] * 4, "seed": [0, 1, 0, 1],
...                       "env_steps": [10, 10, 20, 20], "r": [1.0, 3.0, 2.0, 2.0]})
>>> learning_curves(table, metric="r")["mean"].tolist()
[2.0, 2.0]
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from causal_influence.errors import ConfigError
from causal_influence.io import atomic_write

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["DEFAULT_METRIC", "learning_curves", "plot_learning_curves", "save_figure"]

#: Default learning-curve metric: the collective return of the episodes that just ended.
DEFAULT_METRIC = "episode_collective_return"


def learning_curves(
    table: pd.DataFrame,
    *,
    metric: str = DEFAULT_METRIC,
    x: str = "env_steps",
    confidence_level: float = 0.95,
) -> pd.DataFrame:
    """Mean of ``metric`` over seeds per condition and ``x``, with a Student-t interval.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``condition``, ``seed``, ``x`` and ``metric`` (as :func:`gather_sweep`'s).
    metric, x : str
    confidence_level : float
        The interval is ``mean +- t(n-1) * sd / sqrt(n)`` over the n seeds that logged the
        metric at that x (NaN when n < 2); rows where the metric is NaN are left out.

    Returns
    -------
    pandas.DataFrame
        Columns ``condition``, ``x`` (named after ``x``), ``mean``, ``ci_low``, ``ci_high``,
        ``n_seeds``; conditions in order of appearance, x increasing.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"condition": ["a"] * 4, "seed": [0, 0, 1, 1],
    ...                       "env_steps": [10, 20, 10, 20], "r": [1.0, 2.0, 3.0, 4.0]})
    >>> learning_curves(table, metric="r")[["env_steps", "mean", "n_seeds"]].to_numpy().tolist()
    [[10.0, 2.0, 2.0], [20.0, 3.0, 2.0]]
    """
    from scipy import stats as sps

    if not 0 < confidence_level < 1:
        raise ConfigError(f"confidence_level: expected a value in (0, 1); got {confidence_level}")
    for column in ("condition", "seed", x, metric):
        if column not in table.columns:
            numeric = [c for c in table.columns if table[c].dtype.kind in "fi"]
            raise ConfigError(f"the table has no column {column!r}; metrics available: {numeric}")
    data = table[["condition", "seed", x, metric]].dropna(subset=[metric])
    order = {c: i for i, c in enumerate(dict.fromkeys(table["condition"]))}
    grouped = data.groupby(["condition", x], sort=False)[metric]
    curves = grouped.agg(mean="mean", sd="std", n_seeds="count").reset_index()
    n = curves["n_seeds"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        tcrit = sps.t.ppf(0.5 + confidence_level / 2, np.maximum(n - 1, 1))
        half = np.where(n >= 2, tcrit * curves["sd"].to_numpy() / np.sqrt(n), np.nan)
    curves["ci_low"] = curves["mean"] - half
    curves["ci_high"] = curves["mean"] + half
    curves["rank"] = curves["condition"].map(order)
    curves = curves.sort_values(["rank", x], kind="stable").reset_index(drop=True)
    return curves[["condition", x, "mean", "ci_low", "ci_high", "n_seeds"]]


def plot_learning_curves(
    table: pd.DataFrame,
    *,
    metric: str = DEFAULT_METRIC,
    x: str = "env_steps",
    confidence_level: float = 0.95,
    title: str | None = None,
) -> Figure:
    """Learning curves, one line per condition: mean over seeds and its interval (shaded).

    Parameters
    ----------
    table : pandas.DataFrame
        As :func:`learning_curves` takes it.
    metric, x, confidence_level
        See :func:`learning_curves`.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Built without pyplot (Agg canvas); save it with :func:`save_figure`.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"condition": ["a", "a", "b", "b"], "seed": [0, 1, 0, 1],
    ...                       "env_steps": [10, 10, 10, 10], "r": [1.0, 2.0, 3.0, 5.0]})
    >>> fig = plot_learning_curves(table, metric="r")
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['a (2 seeds)', 'b (2 seeds)']
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    curves = learning_curves(table, metric=metric, x=x, confidence_level=confidence_level)
    fig = Figure(figsize=(7.0, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for condition, part in curves.groupby("condition", sort=False):
        seeds = int(part["n_seeds"].max())
        (line,) = ax.plot(
            part[x],
            part["mean"],
            marker="o" if len(part) < 20 else None,
            markersize=3,
            label=f"{condition} ({seeds} seed{'s' if seeds != 1 else ''})",
        )
        ax.fill_between(
            part[x],
            part["ci_low"],
            part["ci_high"],
            color=line.get_color(),
            alpha=0.2,
            linewidth=0,
        )
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(metric.replace("_", " "))
    level = f"{100 * confidence_level:g}%"
    ax.set_title(title or f"{metric.replace('_', ' ')}: mean and {level} interval over seeds")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 110) -> Path:
    """Save ``fig`` atomically (a temporary file renamed over ``path``); format from suffix.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from matplotlib.figure import Figure
    >>> path = save_figure(Figure(), pathlib.Path(tempfile.mkdtemp()) / "empty.png")
    >>> path.read_bytes()[:4]
    b'\\x89PNG'
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    with atomic_write(path) as (tmp,):
        fig.savefig(tmp, format=path.suffix.lstrip(".").lower() or "png", dpi=dpi)
    return path
