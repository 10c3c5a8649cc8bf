"""Writers that ``test_kills.py`` runs in a child process and kills with SIGKILL mid-write.

Each writer alternates between two versions, A and B, of the same output, forever; the test
kills it at a random moment and checks that the output reads as exactly A or exactly B. The
children are forked from a ``multiprocessing`` forkserver that has imported this module (and
so numpy, pyarrow, torch and the project) once, which keeps every kill cheap.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from probe import small_trajectory

import causal_influence.io as ci_io
from causal_influence.trajectory import Trajectory

os.environ.setdefault("OMP_NUM_THREADS", "1")


def version(kind: str, which: int) -> Any:
    """Version ``which`` (0 = A, 1 = B) of what writer ``kind`` writes."""
    if kind in ("parquet", "npz"):
        return small_trajectory(num_steps=400, seed=which, fields=("logits", "influence"))
    if kind == "shards":
        return small_trajectory(
            num_steps=240 if which == 0 else 120,
            episodes=24 if which == 0 else 12,
            seed=which,
            fields=("logits",),
        )
    if kind == "checkpoint":
        from agents.checkpoint import CHECKPOINT_FORMAT, CHECKPOINT_KEYS

        gen = torch.Generator().manual_seed(which)
        return dict.fromkeys(CHECKPOINT_KEYS, which) | {
            "format": CHECKPOINT_FORMAT,
            "model": {"w": torch.randn(256, 256, generator=gen)},
        }
    raise KeyError(kind)


def dataset(folder: Path, which: int) -> Path:
    """The input data of the analysis writers: version ``which`` as shards under ``folder``."""
    target = folder / f"data_{which}"
    if not target.exists():
        rng = np.random.default_rng(which)
        t_, n = 300, 3
        traj = Trajectory(
            actions=rng.integers(0, 3, (t_, n)),
            rewards=rng.normal(size=(t_, n)),
            episode_ids=np.repeat(np.arange(10), 30),
            influence=rng.random((t_, n, n)) * (1 + which),
            num_actions=3,
            extra={"influence_alignment": "same_step"},
        )
        ci_io.write_shards(traj, target, episodes_per_shard=2)
    return target


def _cli(args: list[str]) -> None:
    from analysis.cli import main

    code = main(args)
    if code != 0:
        raise SystemExit(f"causal-influence {' '.join(args)} exited with {code}")


def cli_args(kind: str, folder: Path, target: Path, which: int) -> list[str]:
    """The command line of the analysis writers."""
    fast = ["--bootstrap", "20", "--permutations", "20", "--no-progress", "--overwrite"]
    data = str(dataset(folder, which))
    if kind == "analyze":
        return ["analyze", data, "--out", str(target), *fast]
    if kind == "graph":
        window = ["--window", "10"] if which == 1 else []
        return ["graph", data, "--out", str(target), *window, *fast]
    raise KeyError(kind)


def writer(kind: str, folder: Path, target: Path) -> Callable[[int], None]:
    """A function writing version 0 or 1 of ``kind`` to ``target``."""
    if kind in ("parquet", "npz"):
        trajs = [version(kind, 0), version(kind, 1)]
        return lambda which: ci_io.save(trajs[which], target)
    if kind == "shards":
        trajs = [version(kind, 0), version(kind, 1)]
        return lambda which: ci_io.write_shards(
            trajs[which], target, episodes_per_shard=1, overwrite=True
        )
    if kind == "checkpoint":
        from agents.checkpoint import save_checkpoint

        states = [version(kind, 0), version(kind, 1)]
        return lambda which: save_checkpoint(states[which], target)
    if kind in ("analyze", "graph"):
        args = [cli_args(kind, folder, target, w) for w in (0, 1)]
        return lambda which: _cli(args[which])
    raise KeyError(kind)


def loop(kind: str, folder: str, target: str, ready: str) -> None:
    """Write B, A, B, ... to ``target`` forever; touch ``ready`` after the first write."""
    write = writer(kind, Path(folder), Path(target))
    which = 1
    first = True
    while True:
        write(which)
        if first:
            Path(ready).touch()
            first = False
        which = 1 - which


def train_child(config_json: str) -> None:
    """Train the run of ``config_json`` (killed by the test part-way)."""
    from agents.config import TrainConfig
    from agents.trainer import train

    train(TrainConfig.from_json(config_json))
