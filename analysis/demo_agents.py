"""The Harvest demo: agents with a message channel, trained, recorded, analysed, reported.

(``make demo`` shows communication emerging in the signalling game,
:mod:`analysis.demo_signalling`; this is the same pipeline on small Harvest,
``examples/demo.py --harvest`` or ``causal-influence demo --agents --harvest``.) :func:`run`
does what a user of the toolkit does with their own agents, on a budget that fits a laptop (a
few minutes on 2 cores):

1. trains N agents with a message channel on a small map (the paper's *influential
   communication* setting: the message head is rewarded for the causal influence of its
   messages on the other agents' next actions), with :func:`agents.trainer.train`;
2. records whole episodes of the trained agents (actions, messages, policy and message logits,
   visibility, the pairwise influence of every message on every other agent's next action and
   the counterfactual policies that give it), with :func:`agents.episode_record.record`, and saves
   them as Parquet shards;
3. analyses the shards from disk with :func:`analysis.stats.analyze` (influence with bootstrap
   intervals over episodes and permutation p-values, speaker consistency, instantaneous
   coordination, CIC, social outcomes) and writes the HTML report;
4. prints the report's path and headline figures, including how the collective return moved
   during training.

The same run is ``causal-influence train --setting comm ...`` followed by ``causal-influence
analyze``; this module only chains them with the demo's settings.

The honest reading at this budget (printed at the end): nothing emerges. No pair communicates,
influences or responds; small Harvest gives an agent no use for another's message, and the
paper trains 5e8 env steps on the full map with an influence curriculum
(``results/paper_scale.md``).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from causal_influence.errors import ConfigError

__all__ = ["DemoConfig", "run"]


@dataclass(frozen=True)
class DemoConfig:
    """Settings of the agents demo (defaults: about three minutes of training on 2 cores).

    Attributes
    ----------
    game : {"harvest", "cleanup"}
        The social dilemma, on its small map.
    num_agents, num_symbols : int
        Agents and message vocabulary.
    env_steps : int
        Training budget in env steps (each step moves every agent in one env).
    episode_length : int
        Steps per episode (training and recording).
    record_episodes : int
        Episodes of the trained agents recorded for the analysis.
    influence_coef : float
        Weight of the influence reward of the message head (the paper's beta).
    n_bootstrap, n_permutations : int
        Resamples of the intervals and tests.
    seed : int
        Seeds training, recording and the statistics.
    """

    game: str = "harvest"
    num_agents: int = 4
    num_symbols: int = 4
    env_steps: int = 300_000
    episode_length: int = 100
    record_episodes: int = 32
    influence_coef: float = 1.0
    n_bootstrap: int = 500
    n_permutations: int = 500
    seed: int = 0

    def __post_init__(self) -> None:
        if self.game not in ("harvest", "cleanup"):
            raise ConfigError(f"game: expected 'harvest' or 'cleanup'; got {self.game!r}")
        for name in ("num_agents", "num_symbols", "env_steps", "episode_length"):
            if getattr(self, name) < 2:
                raise ConfigError(f"{name}: expected an integer >= 2; got {getattr(self, name)}")
        if self.record_episodes < 2:
            raise ConfigError(
                f"record_episodes: expected >= 2 (intervals resample episodes); "
                f"got {self.record_episodes}"
            )


def train_config(demo: DemoConfig, out_dir: Path, *, progress: bool) -> Any:
    """The :class:`agents.config.TrainConfig` of the demo's training run."""
    from agents.config import TrainConfig
    from envs.config import cleanup_config, harvest_config

    make = harvest_config if demo.game == "harvest" else cleanup_config
    env = make(
        map=f"small_{demo.game}",
        num_agents=demo.num_agents,
        obs_type="symbolic",
        view_radius=3,
        max_cycles=demo.episode_length,
        num_symbols=demo.num_symbols,
    )
    num_envs = 16
    rollout = 20
    per_update = num_envs * rollout
    steps = max(per_update, demo.env_steps // per_update * per_update)
    return TrainConfig(
        env=env,
        setting="comm",
        seed=demo.seed,
        num_envs=num_envs,
        rollout_length=rollout,
        total_env_steps=steps,
        lr=1e-3,
        gae_lambda=0.95,
        entropy_coef=0.01,
        lstm_size=32,
        fc_hiddens=(32, 32),
        influence_coef=demo.influence_coef,
        log_influence=True,
        num_threads=1,
        out_dir=str(out_dir),
        progress=progress,
        tensorboard=False,
    )


def _episode_returns(history: pd.DataFrame) -> np.ndarray:
    col = "episode_collective_return"
    if col not in history:
        return np.array([])
    return history[col].dropna().to_numpy(dtype=float)


def _fmt_interval(row: Any, value: str, prefix: str = "") -> str:
    return f"{row[value]:.3g} [{row[prefix + 'ci_low']:.3g}, {row[prefix + 'ci_high']:.3g}]"


def run(
    out_dir: str | Path,
    demo: DemoConfig | None = None,
    *,
    progress: bool = True,
    stream: TextIO | None = None,
    overwrite: bool = False,
) -> Path:
    """Train agents with a message channel, record them, analyse the recording, write a report.

    Parameters
    ----------
    out_dir : str or path
        Receives ``run/`` (the training run: ``config.json``, ``progress.csv``, ``final.pt``),
        ``trajectories/`` (Parquet shards with JSON sidecars), ``report.html`` and the tables
        and graph files beside it; written as a unit
        (:func:`causal_influence.io.atomic_directory`), so missing or empty unless
        ``overwrite``.
    demo : DemoConfig, optional
        The demo's settings (defaults: :class:`DemoConfig`).
    progress : bool
        Progress bars for training and the statistics.
    stream : text stream, optional
        Where headline figures are printed (default ``sys.stdout``).
    overwrite : bool
        Replace an earlier output of the demo in ``out_dir`` as a whole (files the demo did
        not write are never deleted).

    Returns
    -------
    pathlib.Path
        The report.

    Raises
    ------
    FileExistsError
        ``out_dir`` holds files (without ``overwrite``, or files the demo did not write).
    """
    import causal_influence.io as ci_io

    demo = demo if demo is not None else DemoConfig()
    out = Path(out_dir)
    with ci_io.atomic_directory(out, overwrite=overwrite, written_by="demo --agents") as stage:
        _run_into(stage, out, demo, progress=progress, stream=stream)
    return out / "report.html"


def _run_into(
    stage: Path, out: Path, demo: DemoConfig, *, progress: bool, stream: TextIO | None
) -> None:
    """The steps of :func:`run`, writing into the staging directory ``stage`` of ``out``."""
    from dataclasses import replace

    from agents.trainer import train
    from causal_influence.io import atomic_write

    echo = stream if stream is not None else sys.stdout
    cfg = train_config(demo, stage / "run", progress=progress)

    def say(text: str) -> None:
        print(text, file=echo, flush=True)

    say(
        f"[1/3] training {demo.num_agents} agents with a {demo.num_symbols}-symbol message "
        f"channel on small_{demo.game} for {cfg.total_env_steps:,} env steps "
        f"(influence weight {demo.influence_coef:g})"
    )
    start = time.perf_counter()
    result = train(cfg)
    train_seconds = time.perf_counter() - start
    # the run trained in the staging directory; its config names where it will be
    with atomic_write(stage / "run" / "config.json") as (tmp,):
        tmp.write_text(replace(cfg, out_dir=str(out / "run")).to_json(), encoding="utf-8")
    history = result.frame()
    say(f"[2/3] recording {demo.record_episodes} episodes of the trained agents")
    shards, steps = _record(result, demo, stage / "trajectories")
    say(f"[3/3] analysing {len(shards)} shards ({steps:,} steps)")
    analysis = _analyse(demo, cfg.total_env_steps, stage, out, progress=progress)
    say("")
    say(f"report: {out / 'report.html'}")
    for line in _training_lines(cfg.total_env_steps, train_seconds, history):
        say(line)
    for line in _analysis_lines(analysis):
        say(line)


def _record(result: Any, demo: DemoConfig, directory: Path) -> tuple[list[Path], int]:
    """Record the trained agents and save the episodes as Parquet shards; (shards, steps)."""
    import causal_influence.io as ci_io
    from agents.episode_record import record
    from causal_influence.trajectory import concat

    trajectories = record(
        result, episodes=demo.record_episodes, seed=demo.seed + 1, counterfactual_logits=True
    )
    data = concat(trajectories)
    shards = ci_io.write_shards(data, directory, episodes_per_shard=8)
    return list(shards), data.num_steps


def _analyse(demo: DemoConfig, env_steps: int, stage: Path, out: Path, *, progress: bool) -> Any:
    """Analyse the shards from disk and write the report into ``stage`` (the staging
    directory of ``out``); returns the analysis."""
    from analysis.report import write_report_files
    from analysis.stats import analyze

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
        title=f"Influential communication on small_{demo.game} ({demo.num_agents} agents)",
        source=(
            f"{out / 'trajectories'}: {demo.record_episodes} episodes of agents trained by "
            f"the demo ({env_steps:,} env steps, seed {demo.seed})"
        ),
    )
    return analysis


def _training_lines(env_steps: int, seconds: float, history: pd.DataFrame) -> list[str]:
    """Speed of training and how the collective return moved during it."""
    lines = [
        f"training: {env_steps:,} env steps in {seconds:.0f} s "
        f"({env_steps / max(seconds, 1e-9):,.0f} env steps/s)"
    ]
    returns = _episode_returns(history)
    if returns.size >= 2:
        k = max(1, min(10, returns.size // 4))
        lines.append(
            f"collective return per episode: first {k} episodes {returns[:k].mean():.1f}, "
            f"last {k} episodes {returns[-k:].mean():.1f}"
        )
    return lines


def _analysis_lines(analysis: Any) -> list[str]:
    """Headline figures of the analysis: social outcomes, the strongest influence, speaker
    consistency and symbol/action coordination."""
    lines = []
    social = analysis.social
    if social is not None and len(social):
        lines.append(
            f"recorded episodes: collective return {social['collective_return'].mean():.1f}, "
            f"equality {social['equality'].mean():.3f}, "
            f"sustainability {social['sustainability'].mean():.1f}"
        )
    influence = analysis.influence
    if influence is not None and len(influence):
        top = influence.sort_values("influence", ascending=False).head(3)
        lines.append(
            "strongest influence of messages on next actions (nats, 95% CI over episodes, "
            "influence test: interval above the minimum effect):"
        )
        lines += [
            f"  {row['influencer']} -> {row['influencee']}: "
            f"{_fmt_interval(row, 'influence', 'influence_')}  "
            f"{'edge' if row['influence_above_min_effect'] else 'no edge'}"
            for _, row in top.iterrows()
        ]
        lines += [
            f"  conclusion {r.influencer} -> {r.influencee}: {r.conclusion}"
            for r in analysis.conclusions().itertuples()
        ]
    sc = analysis.speaker_consistency
    if sc is not None and len(sc):
        mi = sc[sc["definition"] == "mi"].sort_values("value", ascending=False)
        lines.append(
            "speaker consistency I(message; own action) (plug-in nats, 95% CI, bias, q-value):"
        )
        lines += [
            f"  {row['agent']}: {_fmt_interval(row, 'value')}  bias {row['bias']:.2g}  "
            f"q = {row['q_value']:.3g}"
            for _, row in mi.iterrows()
        ]
    lines += _harvest_reading(analysis)
    ic = analysis.coordination
    sym = ic[(ic["kind"] == "symbol/action") & (ic["subset"] == "all")]
    if len(sym):
        best = sym.sort_values("value", ascending=False).iloc[0]
        significant = int((sym["q_value"] < 0.05).sum())
        lines.append(
            f"instantaneous coordination (symbol -> next action): strongest "
            f"{best['influencer']} -> {best['influencee']} {_fmt_interval(best, 'value')} "
            f"(plug-in bias {best['bias']:.2g}); "
            f"{significant} of {len(sym)} pairs significant at q < 0.05"
        )
    return lines


#: Conclusions that say an agent uses another's message or action.
_USES = ("communicates (grounded)", "influences", "responds")


def _harvest_reading(analysis: Any) -> list[str]:
    """What the conclusions say, in one sentence (the honest reading of the Harvest demo)."""
    table = analysis.conclusions()
    used = table[table["conclusion"].isin(_USES)]
    if used.empty:
        return [
            "reading: no pair communicates, influences or responds at this budget. On small "
            "Harvest nothing rewards an agent for reading another's message, and at a few 1e5 "
            "env steps nothing emerges (the paper trains 5e8 on the full map with an influence "
            "curriculum: results/paper_scale.md). The signalling demo (make demo) shows "
            "communication emerging where it is needed."
        ]
    pairs = "; ".join(
        f"{r.influencer} -> {r.influencee}: {r.conclusion}" for r in used.itertuples()
    )
    return [f"reading: {pairs} (see the evidence in the report)"]
