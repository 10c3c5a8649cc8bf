"""Kills during writes: each writer runs in a child process that is killed with SIGKILL at a
random moment; what it was writing must then read as the old version or the new one, never a
mixture, a truncated file or nothing.

The writers alternate between two versions A and B of one output (``kill_writers.py``). After
each kill the output is read back: exactly A or exactly B is ``ok``; a reader refusing it (or
the output gone) is ``lost``; a third content is ``silent``. The default run kills each writer
:data:`DEFAULT_KILLS` times, the ``slow`` run :data:`SLOW_KILLS` times.
"""

from __future__ import annotations

import multiprocessing
import operator
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from probe import LOST, OK, SILENT, TRACEBACK, TYPED

import causal_influence.io as ci_io

DEFAULT_KILLS = 1
SLOW_KILLS = 20
HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def context():
    if sys.platform == "win32":  # pragma: no cover
        pytest.skip("SIGKILL and forkserver are POSIX")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["kill_writers"])
    return ctx


def _kill_during(ctx: Any, target, args: tuple, ready: Path, delay: float) -> None:
    """Start ``target(*args)`` in a child, wait for ``ready``, then SIGKILL it after ``delay``."""
    proc = ctx.Process(target=target, args=args, daemon=True)
    proc.start()
    deadline = time.monotonic() + 120
    while not ready.exists():
        if not proc.is_alive():
            raise RuntimeError(f"the writer exited with {proc.exitcode} before its first write")
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError("the writer did not finish its first write in 120 s")
        time.sleep(0.01)
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(30)


def _classify(read, expected: list[Any], equal) -> tuple[str, str]:
    try:
        got = read()
    except TYPED as err:
        return LOST, f"unreadable after the kill: {type(err).__name__}: {str(err)[:200]}"
    except Exception as err:
        return TRACEBACK, f"{type(err).__name__}: {str(err)[:200]}"
    if any(equal(got, e) for e in expected):
        return OK, ""
    return SILENT, "reads as neither the old nor the new version"


def _file_cases(kind: str) -> tuple[Any, Any]:
    import kill_writers

    versions = [kill_writers.version(kind, w) for w in (0, 1)]
    if kind == "checkpoint":
        from test_corruption import _state_equal

        from agents.checkpoint import CHECKSUM_KEY, load_checkpoint

        def equal(a: Any, b: Any) -> bool:
            return _state_equal(
                {k: v for k, v in a.items() if k != CHECKSUM_KEY},
                {k: v for k, v in b.items() if k != CHECKSUM_KEY},
            )

        return versions, (load_checkpoint, equal)
    if kind == "shards":
        return versions, (lambda p: ci_io.open_dataset(p).read_all(), lambda a, b: a == b)
    return versions, (ci_io.load, lambda a, b: a == b)


TARGETS = {
    "parquet": "out.parquet",
    "npz": "out.npz",
    "shards": "shards",
    "checkpoint": "ckpt.pt",
}


def _kill_repeatedly(
    probe, ctx, tmp_path: Path, kind: str, target: Path, kills: int, max_delay: float, *check
) -> None:
    """Kill the writer of ``kind`` ``kills`` times, each at a random moment up to ``max_delay``
    seconds after it is ready, and record what a reader then finds in ``target`` (``check``:
    the reader, the versions it may find and their equality, as :func:`_classify`)."""
    import kill_writers

    rng = np.random.default_rng(len(kind))
    for i in range(kills):
        ready = tmp_path / f"ready_{i}"
        try:
            _kill_during(
                ctx,
                kill_writers.loop,
                (kind, str(tmp_path), str(target), str(ready)),
                ready,
                float(rng.uniform(0.0, max_delay)),
            )
        except (RuntimeError, TimeoutError) as err:
            probe.record(f"{kind}: kill {i}", TRACEBACK, str(err))
            continue
        probe.record(f"{kind}: kill {i}", *_classify(*check))


def _run_writer(probe, ctx, tmp_path: Path, kind: str, kills: int) -> None:
    import kill_writers

    target = tmp_path / TARGETS[kind]
    versions, (read, equal) = _file_cases(kind)
    kill_writers.writer(kind, tmp_path, target)(0)  # version A is there before the first kill
    _kill_repeatedly(
        probe, ctx, tmp_path, kind, target, kills, 0.4, lambda: read(target), versions, equal
    )
    # the next write after the kills succeeds and reads back
    kill_writers.writer(kind, tmp_path, target)(1)
    probe.record(
        f"{kind}: write after the kills",
        *_classify(lambda: read(target), versions[1:], equal),
    )
    probe.check()


@pytest.mark.parametrize("kind", sorted(TARGETS))
def test_kill_during_file_writes(probe, context, tmp_path: Path, kind: str) -> None:
    _run_writer(probe, context, tmp_path, kind, DEFAULT_KILLS)


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(TARGETS))
def test_kill_during_file_writes_many_times(probe, context, tmp_path: Path, kind: str) -> None:
    _run_writer(probe, context, tmp_path, kind, SLOW_KILLS)


# ------------------------------------------------------------------------------ reports, graphs

OUTPUT_FILES = {"analyze": "influence.csv", "graph": "node_measures.csv"}


def _output_reader(kind: str):
    def read(folder: Path) -> tuple[tuple[str, ...], str]:
        ci_io.check_manifest(folder)
        names = tuple(sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")))
        return names, (folder / OUTPUT_FILES[kind]).read_text(encoding="utf-8")

    return read


def _run_output(probe, ctx, tmp_path: Path, kind: str, kills: int) -> None:
    import kill_writers

    refs = []
    for which in (0, 1):
        ref = tmp_path / f"ref_{which}"
        args = kill_writers.cli_args(kind, tmp_path, ref, which)
        kill_writers._cli(args)
        refs.append(_output_reader(kind)(ref))
    target = tmp_path / "out"
    kill_writers.writer(kind, tmp_path, target)(0)
    read = _output_reader(kind)
    _kill_repeatedly(
        probe, ctx, tmp_path, kind, target, kills, 1.5, lambda: read(target), refs, operator.eq
    )
    probe.check()


@pytest.mark.parametrize("kind", sorted(OUTPUT_FILES))
def test_kill_during_report_and_graph(probe, context, tmp_path: Path, kind: str) -> None:
    _run_output(probe, context, tmp_path, kind, DEFAULT_KILLS)


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(OUTPUT_FILES))
def test_kill_during_report_and_graph_many_times(probe, context, tmp_path, kind: str) -> None:
    _run_output(probe, context, tmp_path, kind, SLOW_KILLS)


# ------------------------------------------------------------------------------ training


def _tiny_config(out_dir: Path):
    from agents.config import TrainConfig
    from envs.config import harvest_config

    env = harvest_config(
        map="small_harvest", num_agents=2, obs_type="symbolic", view_radius=2, max_cycles=12
    )
    return TrainConfig(
        env=env,
        setting="moa",
        num_envs=2,
        rollout_length=6,
        total_env_steps=2 * 12 * 8,
        lstm_size=8,
        fc_hiddens=(8,),
        influence_coef=1.0,
        lr=1e-2,
        tensorboard=False,
        checkpoint_every=1,
        num_threads=1,
        out_dir=str(out_dir),
    )


def _run_training(probe, ctx, tmp_path: Path, kills: int) -> None:
    import kill_writers
    import torch

    from agents.trainer import train

    full = train(_tiny_config(tmp_path / "full"))
    rng = np.random.default_rng(5)
    for i in range(kills):
        out = tmp_path / f"killed_{i}"
        config = _tiny_config(out)
        proc = ctx.Process(target=kill_writers.train_child, args=(config.to_json(),), daemon=True)
        proc.start()
        deadline = time.monotonic() + 120
        while not list((out / "checkpoints").glob("ckpt_*.pt")):
            if not proc.is_alive() or time.monotonic() > deadline:
                break
            time.sleep(0.005)
        time.sleep(float(rng.uniform(0.0, 0.3)))
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
        proc.join(30)
        try:
            resumed = train(config, resume=out)
        except TYPED as err:
            probe.record(f"train: kill {i}, then resume", LOST, str(err)[:200])
            continue
        except Exception as err:
            probe.record(f"train: kill {i}, then resume", TRACEBACK, repr(err)[:200])
            continue
        same = all(
            torch.equal(a, b)
            for a, b in zip(full.net.parameters(), resumed.net.parameters(), strict=True)
        ) and len(resumed.history) == len(full.history)
        lines = (out / "progress.csv").read_text().strip().splitlines()
        same = same and len(lines) == 1 + len(full.history)
        probe.record(f"train: kill {i}, then resume", OK if same else SILENT, "")
    probe.check()


@pytest.mark.slow
def test_kill_during_training_then_resume(probe, context, tmp_path: Path) -> None:
    """The training loop's own writers (progress.csv, checkpoints); the default run covers
    training through Ctrl-C in ``test_reruns.py``."""
    _run_training(probe, context, tmp_path, 10)


def test_kill_between_a_parquet_file_and_its_sidecar(probe, tmp_path: Path) -> None:
    """The one window of a Parquet write: the data file replaced, its sidecar not yet (the new
    sidecar waits in a hidden temporary file). Made by hand, deterministically; the read
    completes the write."""
    import shutil

    import kill_writers

    old, new = kill_writers.version("parquet", 0), kill_writers.version("parquet", 1)
    (tmp_path / "new").mkdir()
    written = ci_io.save(new, tmp_path / "new" / "run.parquet")
    for case, keep_old_sidecar in (("old sidecar left", True), ("first write, no sidecar", False)):
        folder = tmp_path / case.replace(" ", "_").replace(",", "")
        folder.mkdir()
        target = ci_io.save(old, folder / "run.parquet")
        if not keep_old_sidecar:
            ci_io.sidecar_path(target).unlink()
        shutil.copy(written, target)
        shutil.copy(ci_io.sidecar_path(written), folder / ".run.json.0123456789ab.tmp")
        probe.record(
            f"{case}: reads the new version",
            *_classify(lambda t=target: ci_io.load(t), [new], lambda a, b: a == b),
        )
        probe.record(
            f"{case}: the metadata too",
            *_classify(
                lambda t=target: ci_io.read_metadata(t), [new.metadata], lambda a, b: a == b
            ),
        )
    probe.check()
