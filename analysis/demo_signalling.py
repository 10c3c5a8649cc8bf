"""The main demo: communication that emerges on a CPU, and the analysis that detects it.

:func:`run` trains agents on the signalling game (:mod:`envs.signalling`) twice, records them
and analyses the recordings as a user of the toolkit would analyse their own agents:

1. **needs the message**: a speaker sees a target (one of K), a listener is rewarded for acting
   on it one step later and sees nothing, so it can only succeed by reading the speaker's
   symbol; the reward is shared;
2. **control**: the same game, but the listener sees the target itself (a common cause of
   symbol and action; nothing needs to be said).

Both runs use the paper's influential-communication architecture (a message head beside the
action head, :class:`agents.config.TrainConfig` ``setting="comm"``) with the influence weight
at 0: the shared task reward is what makes the speaker speak (the paper's influence reward on
messages steers the listener with symbols that say little about the target in this game;
``results/signalling/FINDINGS.md``). The settings are the ones under which every seed tried
learns a perfect protocol (K = 4, M = 8 symbols, gamma 0.5, learning rate 3e-3, advantage
normalisation; docs/envs.md, "The signalling game").

Each run's episodes are recorded with every counterfactual policy and the target as the
trajectory's context, saved as Parquet shards, analysed from disk with
:func:`analysis.stats.analyze` (influence and responsiveness with intervals over episodes,
grounded information, coordination and conditional coordination with permutation tests) and
written as an HTML report that opens with one conclusion per ordered pair. Expected: the
speaker -> listener pair *communicates (grounded)* in the game that needs the message, with
an edge in the influence graph, and is a *common cause suspected* in the control.

Examples
--------
>>> from analysis.demo_signalling import DemoConfig, train_config
>>> cfg = train_config(DemoConfig(), "control", None)
>>> cfg.env.listener_sees_target, cfg.influence_coef, cfg.env.num_symbols
(True, 0.0, 8)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from causal_influence.errors import ConfigError

__all__ = ["VARIANTS", "DemoConfig", "DemoResult", "run", "train_config"]

#: The two runs of the demo: output directory name -> (listener sees the target, description).
VARIANTS: dict[str, tuple[bool, str]] = {
    "listen": (False, "needs the message (the listener sees nothing)"),
    "control": (True, "control (the listener sees the target itself)"),
}


@dataclass(frozen=True)
class DemoConfig:
    """Settings of the signalling demo (defaults: a minute or two of training per run on one
    core, the two runs side by side on two; every seed tried learnt its protocol by 2e5 env
    steps, the default budget leaves a margin).

    Attributes
    ----------
    num_targets, num_symbols : int
        K targets and M symbols (M = 2K: with M = K agents often keep synonyms).
    env_steps : int
        Training budget per run in env steps (a step of one env moves both agents).
    episode_length : int
        Steps per episode (training and recording).
    record_episodes : int
        Episodes of each trained pair recorded for the analysis.
    n_bootstrap, n_permutations : int
        Resamples of the intervals and tests.
    seed : int
        Seeds training, recording and the statistics.
    jobs : int
        Training runs side by side (processes of one torch thread each); 0 = as many as
        there are CPUs, at most 2.
    """

    num_targets: int = 4
    num_symbols: int = 8
    env_steps: int = 300_000
    episode_length: int = 50
    record_episodes: int = 32
    n_bootstrap: int = 500
    n_permutations: int = 500
    seed: int = 1
    jobs: int = 0

    def __post_init__(self) -> None:
        for name in ("num_targets", "num_symbols", "env_steps", "episode_length"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 2:
                raise ConfigError(f"{name}: expected an integer >= 2; got {value!r}")
        if not isinstance(self.record_episodes, int) or self.record_episodes < 2:
            raise ConfigError(
                f"record_episodes: expected an integer >= 2 (intervals resample episodes); "
                f"got {self.record_episodes!r}"
            )
        for name in ("n_bootstrap", "n_permutations", "seed", "jobs"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ConfigError(f"{name}: expected an integer >= 0; got {value!r}")
        if self.episode_length % 10 and self.episode_length % 5:
            raise ConfigError(
                f"episode_length: expected a multiple of 5 (training fragments of 10 or 5 "
                f"steps end with the episodes); got {self.episode_length}"
            )

    @property
    def workers(self) -> int:
        """Processes that train side by side."""
        return self.jobs if self.jobs > 0 else max(1, min(2, os.cpu_count() or 1))


def train_config(
    demo: DemoConfig, variant: str, out_dir: Path | None, *, progress: bool = False
) -> Any:
    """The :class:`agents.config.TrainConfig` of one run of the demo (``variant``: a key of
    :data:`VARIANTS`)."""
    from agents.config import TrainConfig
    from envs.signalling import SignallingConfig

    if variant not in VARIANTS:
        raise ConfigError(f"variant: expected one of {list(VARIANTS)}; got {variant!r}")
    env = SignallingConfig(
        num_targets=demo.num_targets,
        num_symbols=demo.num_symbols,
        listener_sees_target=VARIANTS[variant][0],
        max_cycles=demo.episode_length,
    )
    rollout = 10 if demo.episode_length % 10 == 0 else 5
    per_update = 16 * rollout
    return TrainConfig(
        env=env,
        setting="comm",
        influence_coef=0.0,  # the shared task reward alone makes the speaker speak
        seed=demo.seed,
        num_envs=16,
        rollout_length=rollout,
        total_env_steps=max(per_update, demo.env_steps // per_update * per_update),
        gamma=0.5,
        lr=3e-3,
        normalize_advantages=True,
        conv_kernel=1,
        conv_filters=16,
        fc_hiddens=(32,),
        lstm_size=64,
        num_threads=1,
        out_dir=None if out_dir is None else str(out_dir),
        progress=progress,
        tensorboard=False,
    )


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run` returns.

    Attributes
    ----------
    reports : dict of str to pathlib.Path
        The report of each variant of :data:`VARIANTS`.
    conclusions : dict of str to pandas.DataFrame
        The conclusions table of each variant (:func:`analysis.conclusions.conclusions`).
    summary : list of str
        The plain-language summary (what :func:`run` prints at the end).
    """

    reports: dict[str, Path]
    conclusions: dict[str, Any]
    summary: list[str]


def _episode_returns(history: Any) -> list[float]:
    """The collective return of every finished episode of a run's history (rows or frame)."""
    import pandas as pd

    frame = pd.DataFrame(history)
    col = "episode_collective_return"
    return [] if col not in frame else [float(v) for v in frame[col].dropna()]


def _train_here(config: Any) -> tuple[float, list[float]]:
    """Train one run in this process; (seconds, collective return of every episode)."""
    from agents.trainer import train

    start = time.perf_counter()
    result = train(config)
    return time.perf_counter() - start, _episode_returns(result.history)


def _train_side_by_side(
    configs: dict[str, Any], stage: Path
) -> dict[str, tuple[float, list[float]]]:
    """Train every run at once, each in its own process of the ``causal-influence train``
    command (``python -m agents.trainer --config FILE``); (seconds, episode returns) per run.

    Raises
    ------
    RuntimeError
        A run failed (the message holds the end of its error output).
    """
    import pandas as pd

    started = {}
    for variant, cfg in configs.items():
        path = stage / f".{variant}.train.json"
        path.write_text(cfg.to_json(), encoding="utf-8")
        command = [sys.executable, "-m", "agents.trainer", "--config", str(path)]
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started[variant] = (proc, time.perf_counter(), path)
    out = {}
    for variant, (proc, start, path) in started.items():
        _stdout, stderr = proc.communicate()
        seconds = time.perf_counter() - start
        path.unlink()
        if proc.returncode != 0:
            raise RuntimeError(
                f"demo: training the {variant!r} run failed (exit {proc.returncode}):\n"
                f"{stderr[-2000:]}"
            )
        history = pd.read_csv(Path(configs[variant].out_dir) / "progress.csv")
        out[variant] = (seconds, _episode_returns(history))
    return out


def run(
    out_dir: str | os.PathLike[str],
    demo: DemoConfig | None = None,
    *,
    progress: bool = True,
    stream: TextIO | None = None,
    overwrite: bool = False,
    print_summary: bool = True,
) -> DemoResult:
    """Train, record and analyse the signalling game with and without the need to listen.

    Parameters
    ----------
    out_dir : str or path
        Receives, for each variant of :data:`VARIANTS` (``listen/``, ``control/``): ``run/``
        (the training run: ``config.json``, ``progress.csv``, ``final.pt``),
        ``trajectories/`` (Parquet shards with JSON sidecars), ``report.html`` and the tables
        and graph files beside it. Written as a unit
        (:func:`causal_influence.io.atomic_directory`): missing or empty unless ``overwrite``.
    demo : DemoConfig, optional
    progress : bool
        Progress bars of the statistics (training prints one line per run).
    stream : text stream, optional
        Where the summary is printed (default ``sys.stdout``).
    overwrite : bool
        Replace an earlier output of the demo in ``out_dir`` as a whole (files the demo did
        not write are never deleted).
    print_summary : bool
        Print the summary at the end (else only return it).

    Returns
    -------
    DemoResult

    Raises
    ------
    FileExistsError
        ``out_dir`` holds files (without ``overwrite``, or files the demo did not write).
    """
    import causal_influence.io as ci_io

    demo = demo if demo is not None else DemoConfig()
    out = Path(out_dir)
    echo = stream if stream is not None else sys.stdout
    with ci_io.atomic_directory(out, overwrite=overwrite, written_by="demo (signalling)") as stage:
        rows = _run_into(stage, out, demo, progress=progress, echo=echo)
    reports = {variant: out / variant / "report.html" for variant in VARIANTS}
    summary = _summary(rows, reports)
    if print_summary:
        for line in summary:
            _say(echo, line)
    conclusions = {v: row["analysis"].conclusions() for v, row in rows.items()}
    return DemoResult(reports=reports, conclusions=conclusions, summary=summary)


def _say(echo: TextIO, text: str) -> None:
    print(text, file=echo, flush=True)


def _run_into(
    stage: Path, out: Path, demo: DemoConfig, *, progress: bool, echo: TextIO
) -> dict[str, dict[str, Any]]:
    """Train both variants (side by side with ``demo.workers`` > 1), then record and analyse
    each; returns per variant the figures of the summary."""
    from causal_influence.io import atomic_write

    configs = {v: train_config(demo, v, stage / v / "run") for v in VARIANTS}
    steps = next(iter(configs.values())).total_env_steps
    workers = min(demo.workers, len(configs))
    _say(
        echo,
        f"[1/3] training the signalling game (K={demo.num_targets} targets, "
        f"M={demo.num_symbols} symbols), {steps:,} env steps per run, {len(configs)} runs "
        f"({'side by side' if workers > 1 else 'one after the other'}): "
        + "; ".join(f"{v}: {VARIANTS[v][1]}" for v in configs),
    )
    start = time.perf_counter()
    if workers > 1:
        trained = _train_side_by_side(configs, stage)
    else:
        trained = {v: _train_here(c) for v, c in configs.items()}
    _say(echo, f"      trained in {time.perf_counter() - start:.0f} s")
    rows: dict[str, dict[str, Any]] = {}
    for variant, cfg in configs.items():
        # the run trained in the staging directory; its config names where it will be
        with atomic_write(stage / variant / "run" / "config.json") as (tmp,):
            final_cfg = replace(cfg, out_dir=str(out / variant / "run"))
            tmp.write_text(final_cfg.to_json(), encoding="utf-8")
        _say(echo, f"[2/3] {variant}: recording {demo.record_episodes} episodes")
        data = _record(stage / variant, demo)
        _say(echo, f"[3/3] {variant}: analysing {data.num_steps:,} steps from the shards")
        analysis = _analyse(stage / variant, out / variant, demo, variant, steps, progress)
        seconds, returns = trained[variant]
        rows[variant] = {
            "analysis": analysis,
            "seconds": seconds,
            "returns": returns,
            **_task_figures(data, demo),
        }
    return rows


def _record(directory: Path, demo: DemoConfig) -> Any:
    """Record the trained pair (from its checkpoint) and save the episodes as shards."""
    import causal_influence.io as ci_io
    from agents.episode_record import record
    from causal_influence.trajectory import concat

    trajectories = record(
        directory / "run",
        episodes=demo.record_episodes,
        seed=demo.seed + 1,
        counterfactual_logits=True,
    )
    data = concat(trajectories)
    ci_io.write_shards(data, directory / "trajectories", episodes_per_shard=8)
    return data


def _analyse(
    stage: Path, out: Path, demo: DemoConfig, variant: str, steps: int, progress: bool
) -> Any:
    """Analyse the shards from disk and write the report into ``stage``."""
    from analysis.report import write_report_files
    from analysis.stats import analyze
    from causal_influence.errors import UndefinedConditionalWarning

    with warnings.catch_warnings():
        # Symbols the trained speaker never sends leave speaker-consistency conditionals
        # undefined; the report's table says so, the console need not.
        warnings.simplefilter("ignore", UndefinedConditionalWarning)
        analysis = analyze(
            stage / "trajectories",
            n_bootstrap=demo.n_bootstrap,
            n_permutations=demo.n_permutations,
            rng=demo.seed,
            progress=progress,
        )
    write_report_files(
        analysis,
        stage,
        title=f"Signalling game: {VARIANTS[variant][1]}",
        source=(
            f"{out / 'trajectories'}: {demo.record_episodes} episodes of a speaker and a "
            f"listener trained by the demo (K={demo.num_targets} targets, "
            f"M={demo.num_symbols} symbols, {steps:,} env steps, seed {demo.seed}, influence "
            f"weight 0)"
        ),
    )
    return analysis


def _task_figures(data: Any, demo: DemoConfig) -> dict[str, float]:
    """Task return and accuracies of the recorded episodes, from the actions and the
    recorded context (the speaker's target): the speaker is right when it acts on its target,
    the listener when it acts on the previous step's target."""
    target = data.context[:, 0]
    actions = data.actions
    starts = data.t == 0
    speaker = actions[:, 0] == target
    previous = np.roll(target, 1)
    listener = (actions[:, 1] == previous) & ~starts
    episodes = data.num_episodes
    return {
        "task_return": float((speaker.sum() + listener.sum()) / episodes),
        "max_return": float(2 * demo.episode_length - 1),
        "listener_accuracy": float(listener.sum() / max(1, (~starts).sum())),
    }


def _pair(frame: Any, k: str = "agent_0", j: str = "agent_1") -> Any:
    """The row of pair k -> j of a per-pair table, or None."""
    if frame is None:
        return None
    rows = frame[(frame["influencer"] == k) & (frame["influencee"] == j)]
    return None if rows.empty else rows.iloc[0]


def _fmt(value: Any) -> str:
    v = float(value)
    if not np.isfinite(v):
        return "-"
    return "0" if v == 0 else f"{v:.3g}"


def _summary(rows: dict[str, dict[str, Any]], reports: dict[str, Path]) -> list[str]:
    """The plain-language summary printed at the end."""
    lines = [
        "",
        "Summary (speaker agent_0, listener agent_1; task return: speaker and listener right "
        "per episode; information in nats, ln 4 = 1.39)",
    ]
    head = f"  {'run':8s} {'task return':>12s} {'listener right':>15s}  speaker -> listener"
    lines.append(head)
    for variant, row in rows.items():
        conclusion = _pair(row["analysis"].conclusions())
        word = "-" if conclusion is None else conclusion["conclusion"]
        lines.append(
            f"  {variant:8s} {row['task_return']:6.1f} / {row['max_return']:<4.0f} "
            f"{row['listener_accuracy']:14.1%}  {word}"
        )
    for variant, row in rows.items():
        lines.append("")
        lines.append(f"{variant}: {VARIANTS[variant][1]}; report: {reports[variant].resolve()}")
        returns = row["returns"]
        if len(returns) >= 2:
            k = max(1, min(10, len(returns) // 4))
            lines.append(
                f"  training: {row['seconds']:.0f} s; task return per episode: first {k} "
                f"episodes {np.mean(returns[:k]):.1f}, last {k} {np.mean(returns[-k:]):.1f}"
            )
        for r in row["analysis"].conclusions().itertuples():
            lines.append(
                f"  conclusion {r.influencer} -> {r.influencee}: {r.conclusion} ({r.evidence})"
            )
        lines.extend(_reading(variant, row))
    return lines


def _reading(variant: str, row: dict[str, Any]) -> list[str]:
    """One plain sentence on the speaker -> listener pair, from the figures."""
    analysis = row["analysis"]
    c = _pair(analysis.conclusions())
    if c is None:
        return []
    word = c["conclusion"]
    if word == "communicates (grounded)":
        text = (
            f"The symbol names the target (grounded information {_fmt(c['grounded_information'])}) "
            f"and the listener's policy follows it (responsiveness "
            f"{_fmt(c['responsiveness'])}): communication. The paper's influence is "
            f"{_fmt(c['influence'])}: a speaker whose symbol is fixed by its target adds little "
            f"information beyond its own state, which is what that measure counts."
        )
    elif word == "common cause suspected":
        text = (
            f"Symbol and listener action are related (coordination {_fmt(c['coordination'])}) "
            f"only because both follow the target: the listener does not respond to the symbol "
            f"(responsiveness {_fmt(c['responsiveness'])}) and given the target nothing is left "
            f"(conditional coordination {_fmt(c['conditional_coordination'])}). Not "
            f"communication."
        )
    else:
        text = f"The analysis finds: {word} (see the report)."
    expected = "communicates (grounded)" if variant == "listen" else "common cause suspected"
    if word != expected:
        text += f" Expected here: {expected}; this run did not show it (try more --env-steps)."
    return [f"  reading: {text}"]
