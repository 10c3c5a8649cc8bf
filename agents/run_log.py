"""What a training run reports: one log row per update, written while it trains.

:func:`log_columns` names the columns of a setting's rows (``progress.csv``), and
:func:`episode_outcomes` fills the social outcomes of the episodes that just ended.
:class:`RunLog` writes ``config.json`` and ``progress.csv`` (atomically at the start, then one
appended row per update), TensorBoard scalars when enabled and installed, and a progress bar.

Examples
--------
>>> log_columns("moa")[-3:]
['moa_loss', 'seconds', 'env_steps_per_second']
"""

from __future__ import annotations

import csv
import io
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from agents.config import TrainConfig
from causal_influence.io import atomic_write

__all__ = ["RunLog", "episode_outcomes", "log_columns"]


def log_columns(setting: str) -> list[str]:
    """Column names of the log rows of a run in ``setting`` ("none", "basic", "comm", "moa")."""
    cols = [
        "update",
        "env_steps",
        "episode",
        "collective_reward",
        "episode_collective_return",
        "equality",
        "sustainability",
        "peace",
        "influence",
        "influence_reward",
        "influence_weight",
        "lr",
        "policy_loss",
        "value_loss",
        "entropy",
        "grad_norm",
    ]
    if setting == "comm":
        cols += ["message_policy_loss", "message_value_loss", "message_entropy"]
    if setting == "moa":
        cols += ["moa_loss"]
    return [*cols, "seconds", "env_steps_per_second"]


def episode_outcomes(extrinsic: np.ndarray, timeouts: np.ndarray | None) -> dict[str, float]:
    """Mean social outcomes of the B episodes that just ended.

    ``extrinsic`` and ``timeouts`` have shape (T_ep, B, N). Uses
    :func:`causal_influence.social.social_outcomes`; equality is NaN for an episode whose
    collective return is <= 0 (documented there), which is expected early in training and
    therefore not warned about here.
    """
    from causal_influence.errors import EstimatorWarning
    from causal_influence.social import social_outcomes

    t_ep, b, n = extrinsic.shape
    rewards = extrinsic.transpose(1, 0, 2).reshape(b * t_ep, n)
    tout = None if timeouts is None else timeouts.transpose(1, 0, 2).reshape(b * t_ep, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EstimatorWarning)
        frame = social_outcomes(rewards, timeouts=tout, episode_ids=np.repeat(np.arange(b), t_ep))
        out = {
            "episode_collective_return": float(frame["collective_return"].mean()),
            "equality": float(np.nanmean(frame["equality"]))
            if frame["equality"].notna().any()
            else float("nan"),
            "sustainability": float(np.nanmean(frame["sustainability"]))
            if frame["sustainability"].notna().any()
            else float("nan"),
            "peace": float(frame["peace"].mean()),
        }
    return out


class RunLog:
    """What a run shows and writes while it trains.

    ``config.json`` and the header (and resumed rows) of ``progress.csv`` are written
    atomically at the start; then one CSV row per update, TensorBoard scalars when enabled and
    installed, and a progress bar when ``config.progress`` is set.

    Parameters
    ----------
    config : TrainConfig
        The run (``out_dir``, ``tensorboard``, ``progress``, ``setting``, ``num_updates``).
    history : list of dict
        Rows already logged (a resumed run's), written into ``progress.csv`` first.
    start : int
        Updates already done (where the progress bar starts).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from envs.config import harvest_config
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> cfg = TrainConfig(env=harvest_config(max_cycles=100), out_dir=str(out), tensorboard=False)
    >>> log = RunLog(cfg, history=[])
    >>> log.write(dict.fromkeys(log.columns, 0.0))
    >>> log.close()
    >>> len((out / "progress.csv").read_text().splitlines())
    2
    """

    def __init__(
        self, config: TrainConfig, *, history: list[dict[str, float]], start: int = 0
    ) -> None:
        self.out_dir = Path(config.out_dir) if config.out_dir else None
        self.columns = log_columns(config.setting)
        self.writer: Any = None
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            paths = (self.out_dir / "config.json", self.out_dir / "progress.csv")
            with atomic_write(*paths) as (config_tmp, progress_tmp):
                config_tmp.write_bytes(config.to_json().encode("utf-8"))
                progress_tmp.write_bytes(_rows_to_csv(history, self.columns))
            self.writer = _tensorboard_writer(self.out_dir) if config.tensorboard else None

        from tqdm.auto import tqdm

        self.bar = tqdm(
            total=config.num_updates,
            initial=min(start, config.num_updates),
            disable=not config.progress,
            unit="upd",
            dynamic_ncols=True,
        )
        self.last_return = float("nan")

    def write(self, row: dict[str, float]) -> None:
        """Record one update's log row."""
        if not math.isnan(row["episode_collective_return"]):
            self.last_return = row["episode_collective_return"]
        if self.out_dir is not None:
            with open(self.out_dir / "progress.csv", "a", encoding="utf-8", newline="") as fh:
                csv.DictWriter(
                    fh, fieldnames=self.columns, extrasaction="ignore", lineterminator="\n"
                ).writerow(row)
        if self.writer is not None:
            for key, value in row.items():
                if key not in ("update", "env_steps") and not math.isnan(value):
                    self.writer.add_scalar(key, value, int(row["env_steps"]))
        self.bar.set_postfix(
            R=f"{self.last_return:.1f}",
            r_step=f"{row['collective_reward']:.3f}",
            infl=f"{row['influence']:.3g}",
        )
        self.bar.update(1)

    def close(self) -> None:
        """Close the progress bar and the TensorBoard writer."""
        self.bar.close()
        if self.writer is not None:
            self.writer.close()


def _tensorboard_writer(out_dir: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    return SummaryWriter(log_dir=str(out_dir / "tensorboard"))


def _rows_to_csv(rows: list[dict[str, float]], columns: list[str]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return buf.getvalue().encode("utf-8")
