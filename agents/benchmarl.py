"""BenchMARL plug point: an experiment callback adding the influence reward before advantages.

BenchMARL (built on TorchRL) calls ``Callback.on_batch_collected(batch)`` with the whole
collected batch, all groups, right after the collector and before each group's
``algorithm.process_batch`` (GAE for the PPO family) and the replay buffer, so an in-place
edit of ``("next", group, "reward")`` there lands before the advantages. The batch has TorchRL's
layout; :func:`influence_callback` therefore delegates to
:func:`agents.torchrl.add_influence_reward` (one or several groups) and only adds the
bookkeeping of a callback: the mean influence reward per group of every batch in
``callback.history`` (and in the experiment's logger when it has one).

Your policy (or a model of other agents) must write the logits and the counterfactual logits
into the batch, as in :mod:`agents.torchrl`.

Install: ``pip install 'causal-influence[benchmarl]'``. BenchMARL 1.5.2 pins ``torchrl<0.12``
(it downgrades the ``torchrl`` extra) and its PettingZoo tasks import ``pettingzoo.mpe``, which
PettingZoo 1.25 moved to the ``mpe2`` package: use VMAS tasks or your own task class. This
module imports nothing from BenchMARL at import time.

Examples
--------
>>> from agents.benchmarl import influence_callback  # doctest: +SKIP
>>> callback = influence_callback(influence_coef=0.1, alignment="next_step",
...     groups=["speaker", "listener"], influencers=["speaker"])  # doctest: +SKIP
>>> experiment = Experiment(task=..., algorithm_config=..., model_config=...,
...                         config=..., seed=0, callbacks=[callback])  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from agents.torchrl import add_influence_reward

__all__ = ["influence_callback"]


def influence_callback(*, influence_coef: float, alignment: str, **options: Any) -> Any:
    """A ``benchmarl.experiment.callback.Callback`` adding the influence reward to each batch.

    Parameters
    ----------
    influence_coef : float
        Weight of the influence reward (beta of Jaques et al. 2019); 0 records it only (the
        unweighted value is stored under ``("next", group, "influence_reward")``).
    alignment : {"same_step", "next_step"}
    **options
        Passed to :func:`agents.torchrl.add_influence_reward`: ``group`` or ``groups``, keys,
        ``influencers``, ``divergence``, ...

    Returns
    -------
    benchmarl.experiment.callback.Callback
        With ``history``: one dict ``{group: mean influence reward}`` per collected batch.
    """
    from benchmarl.experiment.callback import Callback

    groups = options.get("groups") or [options.get("group", "agent")]

    class InfluenceCallback(Callback):
        """Adds ``influence_coef`` times the influence reward in ``on_batch_collected``."""

        def __init__(self) -> None:
            super().__init__()
            self.history: list[dict[str, float]] = []

        def on_batch_collected(self, batch: Any) -> None:
            add_influence_reward(
                batch, influence_coef=influence_coef, alignment=alignment, **options
            )
            means = {g: float(batch.get(("next", g, "influence_reward")).mean()) for g in groups}
            self.history.append(means)
            logger = getattr(self.experiment, "logger", None)
            if logger is not None and hasattr(logger, "log"):
                logger.log(
                    {f"influence_reward/{g}": v for g, v in means.items()},
                    step=getattr(self.experiment, "n_iters_performed", len(self.history)),
                )

    return InfluenceCallback()
