"""The runs of a sweep (:mod:`analysis.sweep`) as Ray tasks: one run's body and the driver loop.

:func:`execute_run` is the body of the task that trains one run in its directory: it skips a
run whose completion marker (``done.json``) records the same configuration
(:func:`finished_marker`), resumes from the latest checkpoint that configuration can continue
exactly (:func:`resume_point`), restarts a half-finished run of the same configuration, refuses
a directory that holds another run, and writes the marker when the run ends. :class:`RayRuns`
submits the tasks, waits for them, retries failures and records each run's outcome in its row
(:func:`pending_row`).
"""

from __future__ import annotations

import json
import logging
import shutil
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from agents.config import OUTPUT_FIELDS, RESUMABLE_FIELDS, TrainConfig
from analysis._ray import cluster_cpus, remote_cause
from analysis.sweep_runs import SweepRun, one_line
from causal_influence.errors import CausalInfluenceError, ConfigError, FileFormatError
from causal_influence.io import atomic_write
from causal_influence.io.limits import read_json

__all__ = [
    "DONE_FILE",
    "SWEEP_FORMAT",
    "RayRuns",
    "execute_run",
    "finished_marker",
    "pending_row",
    "recorded_config",
    "resume_point",
    "same_config",
    "write_text",
]

#: A run's completion marker, written atomically when the run ends.
DONE_FILE = "done.json"
#: Format of the sweep description and of the completion markers.
SWEEP_FORMAT = "causal-influence-sweep/1"


def same_config(a: Mapping[str, Any], b: Mapping[str, Any], ignore: frozenset[str]) -> bool:
    """Two configs (as dicts) agree on every field but those in ``ignore``."""
    keys = (set(a) | set(b)) - ignore
    return all(a.get(k) == b.get(k) for k in keys)


def finished_marker(run_dir: Path, config: TrainConfig) -> dict[str, Any] | None:
    """The completion marker of ``run_dir`` when it records ``config``, else None."""
    try:
        marker = read_json(run_dir / DONE_FILE, "completion marker")
    except (OSError, CausalInfluenceError):
        return None
    if not isinstance(marker, dict) or not isinstance(marker.get("config"), dict):
        return None
    if not (run_dir / "progress.csv").is_file():
        return None
    return marker if same_config(marker["config"], config.to_dict(), OUTPUT_FIELDS) else None


def resume_point(run_dir: Path, config: TrainConfig) -> Path | None:
    """The latest checkpoint of ``run_dir`` that ``config`` can resume from exactly."""
    from agents.checkpoint import find_checkpoint, load_checkpoint

    if not run_dir.is_dir():
        return None
    try:
        latest = find_checkpoint(run_dir)
        state = load_checkpoint(latest)
        saved = TrainConfig.from_json(state["config"])
    except (CausalInfluenceError, KeyError, TypeError, ValueError):  # none, unreadable, foreign
        return None
    if saved.resume_conflicts(config):
        return None
    if int(state.get("env_steps", 0)) > config.total_env_steps or not state.get("resumable"):
        return None
    return latest


def execute_run(run: dict[str, Any], train_fn: Callable[..., Any] | None) -> dict[str, Any]:
    """Body of the Ray task: train one run in its directory and mark it finished."""
    config = TrainConfig.from_dict(run["config"])
    assert config.out_dir is not None
    run_dir = Path(config.out_dir)
    if finished_marker(run_dir, config) is not None:
        return {"status": "skipped", "seconds": 0.0, "resumed": False}
    resume = resume_point(run_dir, config)
    if resume is None and run_dir.exists():
        recorded = recorded_config(run_dir)
        if recorded is None or not same_config(recorded, config.to_dict(), RESUMABLE_FIELDS):
            raise ConfigError(  # checked by run_sweep first; the task never deletes others' runs
                f"{run_dir}: holds another run; not deleted"
            )
        shutil.rmtree(run_dir)  # this run, half-finished without a usable checkpoint: restart
    (run_dir / DONE_FILE).unlink(missing_ok=True)
    if train_fn is None:
        from agents.trainer import train

        fn: Callable[..., Any] = train
    else:
        fn = train_fn
    start = time.perf_counter()
    if resume is None:
        fn(config)
    else:
        fn(config, resume=resume)
    seconds = time.perf_counter() - start
    if not (run_dir / "progress.csv").is_file():
        raise FileFormatError(
            f"{run_dir}: the training function wrote no progress.csv; it must train "
            f"config.out_dir as agents.trainer.train does"
        )
    marker = {
        "format": SWEEP_FORMAT,
        "name": run["name"],
        "condition": run["condition"],
        "seed": run["seed"],
        "params": run["params"],
        "config": config.to_dict(),
        "seconds": seconds,
        "resumed_from": None if resume is None else resume.name,
        "host": socket.gethostname(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    write_text(run_dir / DONE_FILE, json.dumps(marker, indent=2))
    return {"status": "finished", "seconds": seconds, "resumed": resume is not None}


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, creating its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as (tmp,):
        tmp.write_text(text, encoding="utf-8")


def recorded_config(run_dir: Path) -> dict[str, Any] | None:
    """The config a run directory records (done.json, else config.json), or None if unreadable."""
    for name, key in ((DONE_FILE, "config"), ("config.json", None)):
        path = run_dir / name
        if not path.is_file():
            continue
        try:
            data = read_json(path, name)
            config = data.get(key) if key else data
            return TrainConfig.from_dict(config).to_dict() if isinstance(config, dict) else None
        except (CausalInfluenceError, TypeError, ValueError, AttributeError):
            return None
    return None


def pending_row(run: SweepRun) -> dict[str, Any]:
    """The report row of a run before it is tried."""
    return {
        "run": run.name,
        "condition": run.condition,
        "seed": run.seed,
        "status": "pending",
        "attempts": 0,
        "seconds": float("nan"),
        "resumed": False,
        "error": "",
    }


class RayRuns:
    """Runs as Ray tasks, each retried ``retries`` times, their outcomes in ``rows``."""

    def __init__(
        self,
        ray: Any,
        train_fn: Callable[..., Any] | None,
        rows: dict[str, dict[str, Any]],
        *,
        retries: int,
        emit: Callable[..., None],
    ) -> None:
        self.ray, self.rows, self.retries, self.emit = ray, rows, retries, emit
        self.cpus = cluster_cpus(ray)
        self.task = ray.remote(execute_run)
        self.shared_fn = ray.put(train_fn)

    def submit(self, run: SweepRun) -> Any:
        self.rows[run.name]["attempts"] += 1
        need = min(self.cpus, max(1, int(run.config.num_threads or 1)))
        return self.task.options(num_cpus=need, max_retries=0, name=run.name).remote(
            run.to_dict(), self.shared_fn
        )

    def run(self, todo: list[SweepRun]) -> None:
        """Submit every run and wait for all, resubmitting failures; cancel what is still
        running on any exception (or interrupt)."""
        pending = {self.submit(run): run for run in todo}
        try:
            while pending:
                done, _ = self.ray.wait(list(pending), num_returns=1)
                for ref in done:
                    run = pending.pop(ref)
                    if not self.collect(ref, run):
                        pending[self.submit(run)] = run
        except BaseException:
            for ref in pending:
                self.ray.cancel(ref, force=True)
            raise

    def collect(self, ref: Any, run: SweepRun) -> bool:
        """Record the outcome of one attempt; False when the run is to be tried again."""
        row = self.rows[run.name]
        try:
            outcome = self.ray.get(ref)
        except Exception as err:
            row["error"] = one_line(remote_cause(err))
            attempt = f"{run.name}: failed on attempt {row['attempts']} of {self.retries + 1}"
            if row["attempts"] <= self.retries:
                self.emit(f"{attempt} ({row['error']}); retrying", logging.WARNING)
                return False
            row["status"] = "failed"
            self.emit(f"{attempt} ({row['error']}); giving up", logging.ERROR)
            return True
        row.update(status=outcome["status"], seconds=outcome["seconds"], resumed=outcome["resumed"])
        how = " (resumed from a checkpoint)" if outcome["resumed"] else ""
        self.emit(f"{run.name}: {outcome['status']} in {outcome['seconds']:.1f} s{how}")
        return True
