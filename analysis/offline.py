r"""Offline influence: learn a model of the other agents from saved data, then ask it
counterfactual questions with the core engine.

When the policies that produced a dataset are not available (only observations or features
and actions were saved), influence can still be estimated: fit a model of every agent's action
given the features and the other agents' actions (a model of other agents, MOA, Jaques et al.
2019 section 6), then compute the pairwise influence through it with
:func:`causal_influence.engine.pairwise_influence`, exactly as online.

The model (:class:`OtherAgentsModel`, torch) predicts, for every influencee j,
:math:`p(a^j_{t+\mathrm{lag}} \mid x_t, a_t)` from the step's features :math:`x_t` and the
agents' actions :math:`a_t` (lag 1 for ``alignment="next_step"``; lag 0 for ``"same_step"``,
where j's own action is never an input). Each agent's action enters one-hot with one extra
"withheld" code. During training one randomly chosen agent's action is withheld in half of
the samples, so the *same* network also predicts with an influencer's action withheld; the
held-out log-likelihood with and without k's action measures how much k's action tells about
j's (its difference estimates the conditional mutual information
:math:`I(a^k; a^j \mid x, a^{-k})`, in nats per step). The influencer's own policy (the weights
of the counterfactual marginal) is the stored ``logits`` when present, else a learned
:math:`\pi^k(a^k_t \mid x_t)` (a policy head trained alongside).

Examples
--------
>>> import numpy as np
>>> from analysis.offline import fit_offline_influence
>>> rng = np.random.default_rng(0)
>>> a0 = rng.integers(0, 2, 3000)
>>> a1 = np.roll(a0, 1)                                  # agent 1 repeats agent 0's last action
>>> fit = fit_offline_influence({"actions": np.stack([a0, a1], 1)}, num_threads=1, rng=0)
>>> tuple(fit.influence.influence.shape)
(3000, 2, 2)
>>> round(float(fit.influence.mean()[0, 1]), 1)          # ln 2 = 0.693 nats per step
0.7
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
import torch

from analysis.dataset import valid_influence_steps
from analysis.sources import as_trajectory
from causal_influence.divergences import DivergenceLike, resolve_divergence
from causal_influence.engine import ALIGNMENT_HINT, ALIGNMENTS, InfluenceResult, pairwise_influence
from causal_influence.errors import ConfigError, ShapeError, describe
from causal_influence.models import TorchModel
from causal_influence.trajectory import Trajectory
from causal_influence.validation import check_choice, resolve_rng

__all__ = ["OfflineInfluence", "OtherAgentsModel", "fit_offline_influence"]


class OtherAgentsModel(torch.nn.Module):
    """The model of other agents, see the module docstring.

    Parameters
    ----------
    num_agents, num_actions, feature_dim : int
        N, A and F.
    hidden : int
        Width of each agent's hidden layer (each agent has its own two-layer network).
    same_step : bool
        Predict actions of the same step (an agent's own action is never its input) instead
        of the next step.
    generator : torch.Generator, optional
        Initialisation randomness (the global RNG state is not touched).

    Examples
    --------
    >>> m = OtherAgentsModel(3, 2, 4, hidden=8, generator=torch.Generator().manual_seed(0))
    >>> m(torch.zeros(5, 4), torch.zeros(5, 3, 3)).shape, m.policy(torch.zeros(5, 4)).shape
    (torch.Size([5, 3, 2]), torch.Size([5, 3, 2]))
    """

    def __init__(
        self,
        num_agents: int,
        num_actions: int,
        feature_dim: int,
        *,
        hidden: int = 64,
        same_step: bool = False,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        n, a = num_agents, num_actions
        self.num_agents, self.num_actions, self.feature_dim = n, a, feature_dim
        self.same_step = same_step
        width = feature_dim + n * (a + 1)

        def param(*shape: int, fan_in: int) -> torch.nn.Parameter:
            bound = 1.0 / math.sqrt(max(1, fan_in))
            t = torch.empty(*shape).uniform_(-bound, bound, generator=generator)
            return torch.nn.Parameter(t)

        self.w1 = param(n, width, hidden, fan_in=width)
        self.b1 = param(n, hidden, fan_in=width)
        self.w2 = param(n, hidden, a, fan_in=hidden)
        self.b2 = param(n, a, fan_in=hidden)
        pw = max(1, feature_dim)
        self.p1 = param(n, pw, hidden, fan_in=pw)
        self.pb1 = param(n, hidden, fan_in=pw)
        self.p2 = param(n, hidden, a, fan_in=hidden)
        self.pb2 = param(n, a, fan_in=hidden)
        self.register_buffer("own", torch.eye(n, dtype=torch.bool))

    def forward(self, features: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """Logits (B, N, A) of every agent's action from features (B, F) and one-hot actions
        (B, N, A + 1) (the last code means "withheld")."""
        b, n = inputs.shape[0], self.num_agents
        x = inputs.to(self.w1.dtype)
        if self.same_step:
            withheld = torch.zeros_like(x[0, 0])
            withheld[-1] = 1.0
            # (1, J, N, 1): j's own row is withheld
            own = cast("torch.Tensor", self.own)[None, :, :, None]
            x = torch.where(own, withheld, x[:, None]).reshape(b, n, -1)
        else:
            x = x.reshape(b, 1, -1).expand(b, n, -1)
        f = features.to(self.w1.dtype).reshape(b, 1, -1).expand(b, n, -1)
        z = torch.cat([f, x], dim=-1)
        h = torch.relu(torch.einsum("bjd,jdh->bjh", z, self.w1) + self.b1)
        return torch.einsum("bjh,jha->bja", h, self.w2) + self.b2

    def policy(self, features: torch.Tensor) -> torch.Tensor:
        """Each agent's own policy logits (B, N, A) from the features alone."""
        b = features.shape[0]
        f = features.to(self.p1.dtype).reshape(b, -1)
        if f.shape[1] == 0:
            f = torch.zeros(b, 1, dtype=self.p1.dtype)
        h = torch.relu(torch.einsum("bd,jdh->bjh", f, self.p1) + self.pb1)
        return torch.einsum("bjh,jha->bja", h, self.p2) + self.pb2


@dataclass(frozen=True, eq=False)
class OfflineInfluence:
    """Result of :func:`fit_offline_influence`.

    Attributes
    ----------
    influence : causal_influence.engine.InfluenceResult
        Pairwise influence (T, N, N) through the fitted model, over all steps.
    loglik : pandas.DataFrame
        Held-out log-likelihood per ordered pair (k, j): ``loglik_full`` (mean log p(a^j) with
        every action visible, nats per step), ``loglik_withheld`` (k's action withheld),
        ``gain`` (their difference), ``gain_se`` (its standard error over held-out steps),
        ``n_test``.
    model : torch.nn.Module
        The fitted :func:`OtherAgentsModel`.
    history : list of float
        Training loss (mean cross-entropy, nats) after each epoch.
    prior : str
        ``"stored"`` (the trajectories' logits) or ``"fitted"`` (the policy head).
    train_episodes, test_episodes : numpy.ndarray
        Episode ids used for fitting and for the held-out evaluation.
    """

    influence: InfluenceResult
    loglik: pd.DataFrame
    model: Any
    history: list[float]
    prior: str
    train_episodes: np.ndarray = field(repr=False)
    test_episodes: np.ndarray = field(repr=False)


def _features(traj: Trajectory, features: Any) -> np.ndarray:
    """The model's input of each step, float32 (T, F): ``features`` flattened, else the
    flattened observations, else nothing (F = 0)."""
    t_len = traj.num_steps
    if features is None:
        if traj.obs is None:
            return np.zeros((t_len, 0), dtype=np.float32)
        features = np.asarray(traj.obs).reshape(t_len, -1)
    f = np.array(features, dtype=np.float32)  # a writable copy, as torch needs
    if f.ndim == 1:
        f = f[:, None]
    if f.shape[0] != t_len:
        raise ShapeError(f"features: expected T = {t_len} rows (one per step); got {describe(f)}")
    f = f.reshape(t_len, -1)
    if not np.all(np.isfinite(f)):
        raise ShapeError("features: contains NaN or infinite values")
    return f


def fit_offline_influence(
    source: Any,
    *,
    features: Any = None,
    alignment: str = "next_step",
    use_stored_policy: bool = True,
    hidden: int = 64,
    epochs: int = 50,
    batch_size: int = 512,
    learning_rate: float = 1e-2,
    weight_decay: float = 0.0,
    test_fraction: float = 0.2,
    divergence: DivergenceLike = "kl",
    num_threads: int | None = None,
    rng: Any = None,
    progress: bool = False,
) -> OfflineInfluence:
    """Fit a model of other agents on saved data and compute pairwise influence through it.

    Parameters
    ----------
    source : Trajectory or mapping of arrays
        ``actions`` (T, N) int, optional ``episode_ids`` (T,), ``obs`` (T, N, ...) and
        ``logits`` (T, N, A).
    features : array_like of shape (T, F) or (T, ...), optional
        What the model conditions on at each step (flattened); default: the flattened
        ``obs``, else nothing (then only the actions are used).
    alignment : {"next_step", "same_step"}
        Influence of a^k_t on a^j_{t+1} (MOA, default) or on a^j_t.
    use_stored_policy : bool
        Weight the counterfactual marginal with the stored ``logits`` when present (the exact
        influencer policy); otherwise with the fitted policy head.
    hidden, epochs, batch_size, learning_rate, weight_decay
        Network width and Adam training (full passes over the training steps).
    test_fraction : float in (0, 1)
        Share of episodes held out for the log-likelihood comparison (at least one episode;
        with a single episode, the last ``test_fraction`` of its steps).
    divergence : str or callable
        As in :func:`~causal_influence.engine.pairwise_influence` (KL: its mean estimates the
        conditional MI).
    num_threads : int, optional
        ``torch.set_num_threads`` during the fit, restored afterwards (None leaves it alone;
        1 is fastest for these small networks on a busy machine).
    rng : int, numpy.random.Generator, torch.Generator or None
    progress : bool
        Progress bar over epochs.

    Returns
    -------
    OfflineInfluence

    Raises
    ------
    ConfigError, ShapeError
        Bad options or inputs.
    """
    if num_threads is not None and int(num_threads) < 1:
        raise ConfigError(f"num_threads: expected a positive integer or None; got {num_threads}")
    previous = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(int(num_threads))
    try:
        return _fit(
            source,
            features=features,
            alignment=alignment,
            use_stored_policy=use_stored_policy,
            hidden=hidden,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            test_fraction=test_fraction,
            divergence=divergence,
            rng=rng,
            progress=progress,
        )
    finally:
        if num_threads is not None:
            torch.set_num_threads(previous)


def _check_options(
    alignment: str, test_fraction: float, epochs: int, batch_size: int, hidden: int
) -> None:
    check_choice("alignment", alignment, ALIGNMENTS, hint=ALIGNMENT_HINT)
    if not 0 < test_fraction < 1:
        raise ConfigError(f"test_fraction: expected a value in (0, 1); got {test_fraction}")
    if epochs < 1 or batch_size < 1 or hidden < 1:
        raise ConfigError("epochs, batch_size and hidden must be positive integers")


@dataclass(frozen=True)
class _Data:
    """The steps as tensors: one-hot actions ``x`` (T, N, A + 1) (the last code means
    "withheld"), features ``f`` (T, F), actions ``y`` (T, N), the withheld code (A + 1,)."""

    x: torch.Tensor
    f: torch.Tensor
    y: torch.Tensor
    withheld: torch.Tensor

    @classmethod
    def of(cls, actions: np.ndarray, feats: np.ndarray, num_actions: int) -> _Data:
        y = torch.as_tensor(np.array(actions))  # a writable copy of the trajectory's array
        eye = torch.eye(num_actions + 1)
        return cls(eye[y], torch.as_tensor(feats), y, eye[num_actions])


def _split(
    traj: Trajectory, lag: int, test_fraction: float, gen: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train rows, held-out rows, episodes, held-out episodes): whole episodes held out, or
    the last steps of a single episode."""
    ids = traj.episode_ids
    rows = np.flatnonzero(valid_influence_steps(traj, lag))
    episodes = np.unique(ids)
    if episodes.size >= 2:
        n_test = max(1, round(test_fraction * episodes.size))
        test_eps = gen.choice(episodes, size=n_test, replace=False)
        is_test = np.isin(ids[rows], test_eps)
    else:
        test_eps = episodes
        cut = round((1 - test_fraction) * rows.size)
        is_test = np.arange(rows.size) >= cut
    train_rows, test_rows = rows[~is_test], rows[is_test]
    if train_rows.size == 0 or test_rows.size == 0:
        raise ShapeError("too few steps to split into training and held-out data")
    return train_rows, test_rows, episodes, np.asarray(test_eps)


def _train(
    model: OtherAgentsModel,
    data: _Data,
    train_rows: np.ndarray,
    lag: int,
    *,
    epochs: int,
    batch_size: int,
    opt: torch.optim.Optimizer,
    tgen: torch.Generator,
    progress: bool,
) -> list[float]:
    """Full passes of Adam over the training steps, one random agent's action withheld in half
    of the samples; returns the mean loss of each epoch."""
    from tqdm.auto import tqdm

    n, num_actions = model.num_agents, model.num_actions
    history: list[float] = []
    train_t = torch.as_tensor(train_rows)
    for _ in tqdm(range(epochs), desc="fitting", disable=not progress, leave=False, delay=0.5):
        order = train_t[torch.randperm(train_t.numel(), generator=tgen)]
        total = 0.0
        for start in range(0, order.numel(), batch_size):
            r = order[start : start + batch_size]
            x = data.x[r].clone()
            drop = torch.randint(0, 2 * n, (r.numel(),), generator=tgen)  # >= n: keep all
            hit = drop < n
            x[hit.nonzero().squeeze(1), drop[hit]] = data.withheld
            out = model(data.f[r], x)
            loss = torch.nn.functional.cross_entropy(
                out.reshape(-1, num_actions), data.y[r + lag].reshape(-1)
            )
            pol = model.policy(data.f[r])
            loss = loss + torch.nn.functional.cross_entropy(
                pol.reshape(-1, num_actions), data.y[r].reshape(-1)
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * r.numel()
        history.append(total / max(1, order.numel()))
    return history


def _heldout_loglik(
    model: OtherAgentsModel, data: _Data, test_rows: np.ndarray, lag: int, agent_ids: Sequence[str]
) -> pd.DataFrame:
    """Held-out log-likelihood of every influencee with every action visible, and with each
    influencer's action withheld (under ``torch.no_grad``)."""
    n = model.num_agents
    r = torch.as_tensor(test_rows)
    target = data.y[r + lag]  # (B, N)
    full = torch.log_softmax(model(data.f[r], data.x[r]), -1)
    ll_full = full.gather(-1, target[..., None])[..., 0].double().numpy()  # (B, N)
    records = []
    for k in range(n):
        x = data.x[r].clone()
        x[:, k] = data.withheld
        part = torch.log_softmax(model(data.f[r], x), -1)
        ll_k = part.gather(-1, target[..., None])[..., 0].double().numpy()
        for j in range(n):
            if j == k:
                continue
            diff = ll_full[:, j] - ll_k[:, j]
            records.append(
                {
                    "influencer": agent_ids[k],
                    "influencee": agent_ids[j],
                    "k": k,
                    "j": j,
                    "loglik_full": float(ll_full[:, j].mean()),
                    "loglik_withheld": float(ll_k[:, j].mean()),
                    "gain": float(diff.mean()),
                    "gain_se": float(diff.std(ddof=1) / math.sqrt(diff.size))
                    if diff.size > 1
                    else float("nan"),
                    "n_test": int(diff.size),
                }
            )
    return pd.DataFrame(records)


def _prior(
    model: OtherAgentsModel, data: _Data, stored: np.ndarray | None
) -> tuple[torch.Tensor, str]:
    """The influencer's policy logits that weight the counterfactual marginal: the stored
    ``logits`` when given, else the fitted policy head's; and which it is."""
    if stored is not None:
        return torch.as_tensor(np.array(stored, dtype=np.float32)), "stored"
    return torch.log_softmax(model.policy(data.f), -1), "fitted"


def _fit(
    source: Any,
    *,
    features: Any,
    alignment: str,
    use_stored_policy: bool,
    hidden: int,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    weight_decay: float,
    test_fraction: float,
    divergence: DivergenceLike,
    rng: Any,
    progress: bool,
) -> OfflineInfluence:
    _check_options(alignment, test_fraction, epochs, batch_size, hidden)
    traj = as_trajectory(source)
    if traj.num_steps < 2:
        raise ShapeError(f"actions: expected T >= 2 steps; got {describe(traj.actions)}")
    n, num_actions = traj.num_agents, traj.metadata.num_actions
    data = _Data.of(traj.actions, _features(traj, features), num_actions)
    gen = resolve_rng(rng)
    tgen = torch.Generator().manual_seed(int(gen.integers(2**62)))
    lag = 1 if alignment == "next_step" else 0
    train_rows, test_rows, episodes, test_eps = _split(traj, lag, test_fraction, gen)

    model = OtherAgentsModel(
        n, num_actions, data.f.shape[1], hidden=hidden, same_step=lag == 0, generator=tgen
    )
    opt = torch.optim.Adam(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    history = _train(
        model,
        data,
        train_rows,
        lag,
        epochs=epochs,
        batch_size=batch_size,
        opt=opt,
        tgen=tgen,
        progress=progress,
    )
    model.eval()
    agent_ids = list(traj.metadata.agent_ids)
    with torch.no_grad():
        loglik = _heldout_loglik(model, data, test_rows, lag, agent_ids)
        prior, prior_kind = _prior(model, data, traj.logits if use_stored_policy else None)

    def head(feat: Any, inputs: Any) -> Any:
        return model(feat, inputs)

    engine_model = TorchModel(
        head,
        data.f,
        data.y,
        prior_logits=prior,
        input_width=num_actions + 1,
        predicts_next_step=lag == 1,
        episode_starts=traj.episode_starts,
    )
    result = pairwise_influence(
        engine_model,
        alignment=alignment,
        divergence=divergence,
        agent_ids=agent_ids,
        influencee_actions=data.y if resolve_divergence(divergence).needs_actual else None,
    )
    return OfflineInfluence(
        influence=result,
        loglik=loglik,
        model=model,
        history=history,
        prior=prior_kind,
        train_episodes=np.setdiff1d(episodes, test_eps),
        test_episodes=test_eps,
    )
