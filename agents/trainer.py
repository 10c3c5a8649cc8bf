"""Training loop: A2C or PPO with influence rewards over batched envs, readable top to bottom.

``train(config)`` runs the whole thing and returns a :class:`TrainResult`; ``main(argv)`` is
the ``causal-influence train`` command. One update is:

1. at an episode boundary, reset all envs from a seed derived from ``(config.seed, episode)``;
2. collect a fragment of T steps in B envs with all N agents (:class:`agents.sampler.Sampler`),
   evaluating the setting's counterfactuals in the same batched pass;
3. pairwise influence with the core (:func:`agents.sampler.rollout_influence`), credited to the
   step where the influencer acted or spoke (the marginal weighted by the influencer's own
   policy, or by its average over the fragment with ``influence_marginal="population"``),
   masked by visibility if configured, summed over influencees, clipped and weighted by the
   scheduled weight w(t);
4. rewards: basic and MOA, ``alpha * extrinsic + w * clip(influence)`` for every agent's policy;
   communication, the action head learns from the extrinsic reward only and the message head
   from ``alpha * extrinsic + w * clip(influence)``; no gradient flows through the influence
   reward (it is computed without gradients and enters as data);
5. GAE, then one A2C step or PPO epochs over env minibatches, recomputing every output (and the
   MOA's predictions, for a cross-entropy with a real gradient path) in a fresh forward pass.

Exact resume: episodes start on update boundaries, every episode's envs are seeded from
``(seed, episode)``, recurrent state is zero there, and checkpoints (written at episode ends
with :mod:`agents.checkpoint`) hold the model, the optimiser and the torch generator. Resuming
from a checkpoint gives the same results as the uninterrupted run with the same seed and thread
count; :data:`agents.config.RESUMABLE_FIELDS` lists what may change on resume.

The command line is :mod:`agents.train_cli` (``causal-influence train``, also
``python -m agents.trainer``): one option per field of :class:`agents.config.TrainConfig` and,
as ``--env-*``, of the configuration of every game registered in :mod:`envs.registry`.
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from agents.checkpoint import CHECKPOINT_FORMAT, find_checkpoint, load_checkpoint, save_checkpoint
from agents.config import RESUMABLE_FIELDS, TrainConfig
from agents.influence_reward import (
    influence_weight,
    per_agent_influence,
    shaped_influence,
)
from agents.losses import (
    agent_sum_of_means,
    clip_grad_norm_per_agent,
    entropy,
    gae,
    log_prob,
    moa_cross_entropy,
    policy_loss,
    value_loss,
)
from agents.networks import MultiAgentNet, NetSpec
from agents.run_dir import (
    InterruptFlag,
    TrainingInterrupted,
    prepare_run_directory,
    record_resume,
    run_directory_of,
)
from agents.run_log import RunLog, episode_outcomes, log_columns
from agents.sampler import Rollout, Sampler, next_step_actions, rollout_influence
from causal_influence.errors import ConfigError
from envs import code_table
from envs.vector import VectorEnv

__all__ = [
    "TrainResult",
    "Trainer",
    "episode_seed",
    "main",
    "make_net",
    "train",
]


def episode_seed(seed: int, episode: int) -> int:
    """Seed of the envs for episode ``episode`` of a run seeded with ``seed``.

    Examples
    --------
    >>> episode_seed(0, 3) == episode_seed(0, 3) != episode_seed(0, 4)
    True
    """
    state = np.random.SeedSequence([int(seed), int(episode), 0x5EED]).generate_state(1)
    return int(state[0])


def _sub_seed(seed: int, stream: int) -> int:
    return int(np.random.SeedSequence([int(seed), int(stream)]).generate_state(1)[0])


def make_net(
    config: TrainConfig, view_shape: tuple[int, int, int], num_actions: int
) -> MultiAgentNet:
    """The batched network of a run, initialised from the run's seed."""
    spec = NetSpec(
        num_agents=config.env.num_agents,
        view_shape=view_shape,
        num_actions=num_actions,
        setting=config.setting,
        num_symbols=config.env.num_symbols,
        num_influencers=config.num_influencers,
        conv_filters=config.conv_filters,
        conv_kernel=config.conv_kernel,
        fc_hiddens=tuple(config.fc_hiddens),
        lstm_size=config.lstm_size,
        share_weights=config.share_weights,
        message_embedding=config.message_embedding,
        obs_scale=1.0 / 255.0 if config.env.obs_type == "rgb" else 1.0,
        code_table=_code_table(config.env),
    )
    return MultiAgentNet(spec, rng=_sub_seed(config.seed, 1))


def _code_table(env: Any) -> tuple[tuple[int, ...], ...] | None:
    """The decoder of views of cell codes (``obs_type="codes"``), else None."""
    if getattr(env, "obs_type", None) != "codes":
        return None
    table = code_table(env.num_agents, env.beams_in_obs)
    return tuple(tuple(int(v) for v in row) for row in table)


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    config : TrainConfig
    history : list of dict
        One row per update (the columns of ``progress.csv``).
    net : MultiAgentNet
        The trained agents.
    out_dir : pathlib.Path or None
    checkpoint : pathlib.Path or None
        The final checkpoint, when ``out_dir`` is set.
    """

    config: TrainConfig
    history: list[dict[str, float]]
    net: MultiAgentNet
    out_dir: Path | None = None
    checkpoint: Path | None = None

    def frame(self) -> Any:
        """The history as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.history)


class Trainer:
    """State of a training run; :meth:`update` does one fragment and one optimisation.

    Parameters
    ----------
    config : TrainConfig
    """

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        if config.num_threads is not None:
            torch.set_num_threads(int(config.num_threads))
        self.env = VectorEnv(config.env, config.num_envs, seed=episode_seed(config.seed, 0))
        obs = self.env.reset(seed=episode_seed(config.seed, 0))
        view_shape = tuple(int(s) for s in np.asarray(obs["view"]).shape[2:])
        self.num_actions = int(config.env.num_actions)
        self.net = make_net(config, (view_shape[0], view_shape[1], view_shape[2]), self.num_actions)
        self.generator = torch.Generator().manual_seed(_sub_seed(config.seed, 2))
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.lr, eps=1e-5)
        self.sampler = Sampler(
            self.env, self.net, generator=self.generator, counterfactuals=config.computes_influence
        )
        self.update_index = 0
        self.env_steps = 0
        self.history: list[dict[str, float]] = []
        self._episode_chunks: list[Tensor] = []
        self._timeout_chunks: list[np.ndarray] = []
        self._others = torch.as_tensor(
            [
                [j for j in range(config.env.num_agents) if j != k]
                for k in range(config.env.num_agents)
            ],
            dtype=torch.long,
        ).reshape(config.env.num_agents, max(config.env.num_agents - 1, 0))
        n = config.env.num_agents
        if config.setting == "basic":
            self._influencer_mask = torch.arange(n) < config.num_influencers
        else:
            self._influencer_mask = torch.ones(n, dtype=torch.bool)

    # ------------------------------------------------------------------ schedules
    def current_lr(self) -> float:
        """The learning rate at the current env step (linear annealing when configured)."""
        cfg = self.config
        if cfg.lr_final is None:
            return cfg.lr
        frac = min(self.env_steps / max(cfg.lr_anneal_steps, 1.0), 1.0)
        return cfg.lr + frac * (cfg.lr_final - cfg.lr)

    def current_influence_weight(self) -> float:
        """The weight of the influence reward at the current env step (coef x schedule)."""
        cfg = self.config
        return influence_weight(
            self.env_steps,
            coef=float(cfg.influence_coef or 0.0),  # resolved by TrainConfig
            schedule_steps=cfg.influence_schedule_steps,
            schedule_weights=cfg.influence_schedule_weights,
        )

    # ------------------------------------------------------------------ one update
    def update(self) -> dict[str, float]:
        """Collect one fragment, optimise on it and return the log row."""
        cfg = self.config
        upe = cfg.updates_per_episode
        start = time.perf_counter()
        if self.update_index % upe == 0:
            self.sampler.reset(episode_seed(cfg.seed, self.update_index // upe))
            self._episode_chunks = []
            self._timeout_chunks = []
        ends_episode = (self.update_index + 1) % upe == 0
        weight = self.current_influence_weight()
        lr = self.current_lr()
        for group in self.optimizer.param_groups:
            group["lr"] = lr

        ro = self.sampler.collect(cfg.rollout_length, ends_episode=ends_episode)
        pairwise = None
        if cfg.computes_influence:
            pairwise = rollout_influence(
                ro, self.net.spec, divergence=cfg.divergence, marginal=cfg.influence_marginal
            )
        raw, rewards, msg_rewards = self.rewards(ro, pairwise, weight)
        targets = self.targets(ro, rewards, msg_rewards)
        stats = self.optimise(ro, targets)

        self.update_index += 1
        self.env_steps += cfg.batch_steps
        self._episode_chunks.append(ro.extrinsic)
        if "timeout" in ro.events:
            self._timeout_chunks.append(ro.events["timeout"])
        row = self._log_row(ro, raw, weight, lr, stats, time.perf_counter() - start, ends_episode)
        self.history.append(row)
        return row

    def rewards(
        self, ro: Rollout, pairwise: Tensor | None, weight: float
    ) -> tuple[Tensor | None, Tensor, Tensor | None]:
        """Raw per-agent influence (T, B, N), action-head rewards and message-head rewards."""
        cfg = self.config
        raw = None
        shaped = torch.zeros_like(ro.env_rewards)
        if pairwise is not None:
            raw = per_agent_influence(
                pairwise,
                visible=ro.visible if cfg.only_when_visible else None,
                influencee_reward=cfg.influencee_reward and cfg.setting == "basic",
            )
            shaped = shaped_influence(raw, clip=cfg.influence_clip, weight=weight)
        if cfg.setting == "comm":
            return raw, ro.env_rewards, cfg.extrinsic_coef * ro.env_rewards + shaped
        if cfg.setting in ("basic", "moa"):
            return raw, cfg.extrinsic_coef * ro.env_rewards + shaped, None
        return raw, ro.env_rewards, None

    def targets(
        self, ro: Rollout, rewards: Tensor, msg_rewards: Tensor | None
    ) -> dict[str, Tensor]:
        """Advantages, returns and MOA targets of a fragment."""
        cfg = self.config
        dones = ro.dones.unsqueeze(-1)
        adv, ret = gae(
            rewards, ro.values, ro.last_values, dones, gamma=cfg.gamma, lam=cfg.gae_lambda
        )
        out = {"adv": adv, "ret": ret}
        if msg_rewards is not None:
            assert ro.message_values is not None
            assert ro.last_message_values is not None
            madv, mret = gae(
                msg_rewards,
                ro.message_values,
                ro.last_message_values,
                dones,
                gamma=cfg.gamma,
                lam=cfg.gae_lambda,
            )
            out["msg_adv"], out["msg_ret"] = madv, mret
        if cfg.setting == "moa":
            t_len, b, n = ro.actions.shape
            nxt, valid = next_step_actions(ro)
            others = self._others
            out["moa_targets"] = nxt[:, :, others]  # (T, B, N, N-1)
            if cfg.train_moa_only_when_visible:
                nvis = torch.cat([ro.visible[1:], ro.next_visible.unsqueeze(0)])
                out["moa_mask"] = nvis.gather(-1, others.expand(t_len, b, n, n - 1))
            else:
                out["moa_mask"] = torch.ones(t_len, b, n, n - 1)
            out["moa_valid"] = valid
        return out

    def loss(
        self, ro: Rollout, targets: dict[str, Tensor], envs: Tensor | None = None
    ) -> tuple[Tensor, dict[str, float]]:
        """Total loss of a fragment (or of the envs ``envs``) and its parts."""
        cfg = self.config

        def pick(x: Tensor) -> Tensor:
            return x if envs is None else x[:, envs]

        state0 = {k: (v if envs is None else v[:, envs]) for k, v in ro.state0.items()}
        seq = self.net.forward_sequence(
            pick(ro.views),
            pick(ro.starts),
            state0,
            actions=pick(ro.actions),
            messages=None if ro.messages_in is None else pick(ro.messages_in),
        )
        ppo = cfg.algorithm == "ppo"
        clip = cfg.ppo_clip if ppo else None
        adv = pick(targets["adv"])
        if cfg.normalize_advantages:
            adv = _normalise(adv)
        logp = log_prob(seq.logits, pick(ro.actions))
        pl = policy_loss(logp, adv, old_logp=pick(ro.logp), clip=clip)
        vl = value_loss(seq.values, pick(targets["ret"]))
        ent = agent_sum_of_means(entropy(seq.logits))
        total = pl + cfg.vf_coef * vl - cfg.entropy_coef * ent
        stats = {"policy_loss": pl.item(), "value_loss": vl.item(), "entropy": ent.item()}
        if cfg.setting == "comm":
            assert seq.message_logits is not None
            assert seq.message_values is not None
            assert ro.messages is not None
            assert ro.message_logp is not None
            madv = pick(targets["msg_adv"])
            if cfg.normalize_advantages:
                madv = _normalise(madv)
            mlogp = log_prob(seq.message_logits, pick(ro.messages))
            mpl = policy_loss(mlogp, madv, old_logp=pick(ro.message_logp), clip=clip)
            mvl = value_loss(seq.message_values, pick(targets["msg_ret"]))
            ment = agent_sum_of_means(entropy(seq.message_logits))
            total = total + cfg.comm_loss_coef * (
                mpl + cfg.vf_coef * mvl - cfg.message_entropy_coef * ment
            )
            stats.update(
                {
                    "message_policy_loss": mpl.item(),
                    "message_value_loss": mvl.item(),
                    "message_entropy": ment.item(),
                }
            )
        if cfg.setting == "moa":
            assert seq.moa_logits is not None
            ml = moa_cross_entropy(
                seq.moa_logits,
                pick(targets["moa_targets"]),
                pick(targets["moa_mask"]),
                pick(targets["moa_valid"]),
            )
            total = total + cfg.moa_loss_coef * ml
            stats["moa_loss"] = ml.item()
        return total, stats

    def optimise(self, ro: Rollout, targets: dict[str, Tensor]) -> dict[str, float]:
        """One A2C step, or PPO epochs over minibatches of envs; returns averaged stats."""
        cfg = self.config
        b = ro.actions.shape[1]
        if cfg.algorithm == "a2c":
            batches: list[Tensor | None] = [None]
        else:
            batches = []
            for _ in range(cfg.ppo_epochs):
                perm = torch.randperm(b, generator=self.generator)
                batches.extend(torch.tensor_split(perm, cfg.ppo_minibatches))
        sums: dict[str, float] = {}
        for envs in batches:
            loss, stats = self.loss(ro, targets, envs)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            norms = clip_grad_norm_per_agent(
                self.net.parameters(), cfg.max_grad_norm, self.net.spec.groups
            )
            self.optimizer.step()
            stats["grad_norm"] = float(norms.mean())
            for k, v in stats.items():
                sums[k] = sums.get(k, 0.0) + v
        return {k: v / len(batches) for k, v in sums.items()}

    # ------------------------------------------------------------------ logging
    def columns(self) -> list[str]:
        """Column names of this run's log rows (:func:`agents.run_log.log_columns`)."""
        return log_columns(self.config.setting)

    def _log_row(
        self,
        ro: Rollout,
        raw: Tensor | None,
        weight: float,
        lr: float,
        stats: dict[str, float],
        seconds: float,
        ends_episode: bool,
    ) -> dict[str, float]:
        cfg = self.config
        nan = float("nan")
        row: dict[str, float] = dict.fromkeys(self.columns(), nan)
        row.update(stats)
        row["update"] = self.update_index
        row["env_steps"] = self.env_steps
        row["episode"] = (self.update_index - 1) // cfg.updates_per_episode
        row["collective_reward"] = float(ro.extrinsic.sum(-1).mean())
        if raw is not None:
            mask = self._influencer_mask
            row["influence"] = float(raw[..., mask].mean())
            row["influence_reward"] = float(
                shaped_influence(raw[..., mask], clip=cfg.influence_clip, weight=weight).mean()
            )
        row["influence_weight"] = weight
        row["lr"] = lr
        if ends_episode and self._episode_chunks:
            extrinsic = torch.cat(self._episode_chunks).numpy()  # (T_ep, B, N)
            timeouts = None
            if len(self._timeout_chunks) == len(self._episode_chunks):
                timeouts = np.concatenate(self._timeout_chunks)
            row.update(episode_outcomes(extrinsic, timeouts))
        row["seconds"] = seconds
        row["env_steps_per_second"] = cfg.batch_steps / max(seconds, 1e-9)
        return row

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything needed for an exact resume (loadable with ``weights_only=True``)."""
        return {
            "format": CHECKPOINT_FORMAT,
            "config": self.config.to_json(),
            "model": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "update": self.update_index,
            "env_steps": self.env_steps,
            "history": [dict(r) for r in self.history],
            "resumable": self.update_index % self.config.updates_per_episode == 0,
            "view_shape": list(self.net.spec.view_shape),
            "num_actions": self.num_actions,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint's state (see :meth:`state_dict`)."""
        if not state.get("resumable", False):
            raise ConfigError(
                "this checkpoint was not written at an episode boundary, so a run cannot resume "
                "from it exactly; use a checkpoint written every `checkpoint_every` episodes"
            )
        self.net.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.update_index = int(state["update"])
        self.env_steps = int(state["env_steps"])
        self.history = [dict(r) for r in state["history"]]
        self._episode_chunks = []

    def save(self, path: Path) -> Path:
        """Write a checkpoint of the current state (atomically) and return its path."""
        return save_checkpoint(self.state_dict(), path)

    def snapshot(self) -> dict[str, Any]:
        """A copy of :meth:`state_dict` that later updates do not change (taken at an episode
        boundary, it is what a checkpoint written on Ctrl-C holds)."""
        return copy.deepcopy(self.state_dict())

    def checkpoint_due(self) -> bool:
        """Whether a periodic checkpoint is due now.

        True when an episode just ended and it is the ``checkpoint_every``-th since the start.
        """
        cfg = self.config
        per_episode = cfg.updates_per_episode
        return (
            cfg.checkpoint_every > 0
            and self.update_index % per_episode == 0
            and (self.update_index // per_episode) % cfg.checkpoint_every == 0
        )


def _normalise(adv: Tensor) -> Tensor:
    mean = adv.mean(dim=(0, 1), keepdim=True)
    std = adv.std(dim=(0, 1), keepdim=True)
    return (adv - mean) / (std + 1e-8)


def train(
    config: TrainConfig | None = None,
    *,
    resume: str | Path | None = None,
    overwrite: bool = False,
) -> TrainResult:
    """Train agents as configured and return the result.

    Parameters
    ----------
    config : TrainConfig, optional
        The run; may be omitted when resuming (the checkpoint's config is used).
    resume : str or pathlib.Path, optional
        A checkpoint file, or a run directory (its latest ``checkpoints/ckpt_*.pt``). The run
        continues exactly where it stopped; only the fields of
        :data:`agents.config.RESUMABLE_FIELDS` (training length and output options) may differ
        from the saved config, and those that do are recorded in ``out_dir/resumes.jsonl``.
    overwrite : bool
        Replace another run in ``config.out_dir`` (its run files only; see
        :func:`agents.run_dir.prepare_run_directory`). Without it, an ``out_dir`` holding a
        run is refused unless it is the run being resumed.

    Returns
    -------
    TrainResult

    Raises
    ------
    ConfigError
        No config and nothing to resume, or a config that differs from the checkpoint's in a
        field that may not change on resume.
    FileFormatError
        The checkpoint to resume from is missing or unusable
        (:func:`agents.checkpoint.load_checkpoint`).
    FileExistsError
        ``out_dir`` holds another run.
    agents.run_dir.TrainingInterrupted
        On Ctrl-C (SIGINT), after the current update, once a checkpoint that resumes exactly
        (the state at the start of the current episode) is written; resume from ``out_dir``.

    Examples
    --------
    >>> from agents.config import TrainConfig
    >>> from envs.config import harvest_config
    >>> env = harvest_config(map="small_harvest", num_agents=2, obs_type="symbolic",
    ...                      view_radius=2, max_cycles=20)
    >>> cfg = TrainConfig(env=env, num_envs=2, rollout_length=10, total_env_steps=40,
    ...                   lstm_size=8, fc_hiddens=(8,))
    >>> result = train(cfg)
    >>> len(result.history), result.history[-1]["env_steps"]
    (2, 40)
    """
    config, state, source = _config_and_state(config, resume)
    if config.out_dir is not None:
        prepare_run_directory(
            config.out_dir,
            resumed_from=None if source is None else run_directory_of(source),
            overwrite=overwrite,
        )
    trainer = Trainer(config)
    if state is not None:
        trainer.load_state_dict(state)
    log = RunLog(config, history=trainer.history, start=trainer.update_index)
    if state is not None and source is not None and log.out_dir is not None:
        changed = _resumable_changes(TrainConfig.from_json(state["config"]), config)
        record_resume(log.out_dir, source, trainer.update_index, changed)
    with InterruptFlag() as interrupt:
        try:
            _loop(trainer, log, interrupt)
        finally:
            log.close()
        # a Ctrl-C from here on comes after the last update: the run completes
        checkpoint = None if log.out_dir is None else trainer.save(log.out_dir / "final.pt")
    return TrainResult(config, trainer.history, trainer.net, log.out_dir, checkpoint)


def _loop(trainer: Trainer, log: RunLog, interrupt: InterruptFlag) -> None:
    """Updates until the budget is spent; on Ctrl-C, the checkpoint of the last episode start."""
    config = trainer.config
    boundary: dict[str, Any] | None = None
    try:
        while trainer.update_index < config.num_updates:
            if trainer.update_index % config.updates_per_episode == 0 and log.out_dir:
                boundary = trainer.snapshot()
            log.write(trainer.update())
            if log.out_dir is not None and trainer.checkpoint_due():
                trainer.save(log.out_dir / "checkpoints" / f"ckpt_{trainer.update_index:08d}.pt")
            if interrupt.requested:
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        if trainer.update_index % config.updates_per_episode == 0 and log.out_dir:
            boundary = trainer.state_dict()  # the interrupt came at an episode boundary
        path = None
        if log.out_dir is not None and boundary is not None:
            path = log.out_dir / "checkpoints" / f"ckpt_{int(boundary['update']):08d}.pt"
            save_checkpoint(boundary, path)
        update = int(boundary["update"]) if boundary is not None else trainer.update_index
        raise TrainingInterrupted(path, update) from None


def _resumable_changes(saved: TrainConfig, config: TrainConfig) -> dict[str, Any]:
    """``{field: [old, new]}`` of the resumable fields that differ between two configs."""
    old, new = saved.to_dict(), config.to_dict()
    return {key: [old[key], new[key]] for key in sorted(RESUMABLE_FIELDS) if old[key] != new[key]}


def _config_and_state(
    config: TrainConfig | None, resume: str | Path | None
) -> tuple[TrainConfig, dict[str, Any] | None, Path | None]:
    """The run's config and, when resuming, the checkpoint to continue from and its path."""
    if resume is None:
        if config is None:
            raise ConfigError("train: pass a TrainConfig (or resume= a checkpoint)")
        return config, None, None
    source = find_checkpoint(resume)
    state = load_checkpoint(source)
    saved = TrainConfig.from_json(state["config"])
    if config is None:
        return saved, state, source
    conflicts = saved.resume_conflicts(config)
    if conflicts:
        raise ConfigError(
            f"resume: the config differs from the checkpoint's in {conflicts}; only "
            f"{sorted(RESUMABLE_FIELDS)} may change when resuming"
        )
    return config, state, source


# ---------------------------------------------------------------------- command line
def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``causal-influence train`` and ``python -m agents.trainer``; returns the
    exit status. The command line lives in :mod:`agents.train_cli`."""
    from agents.train_cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
