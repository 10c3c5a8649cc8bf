"""Pairwise influence of every influencer on every influencee, from a joint policy model.

:func:`pairwise_influence` asks a :class:`~causal_influence.models.JointPolicyModel` for the
counterfactual logits of all requested pairs in one call, computes the per-step influence of
each pair with :func:`causal_influence.counterfactual.influence` (the one implementation of
the formula) and returns an :class:`InfluenceResult`: a tensor of shape (T, N, N) with row =
influencer k and column = influencee j, agent ids, the time alignment, validity and visibility
masks, and helpers for rewards and tables.

Time alignment (METRICS.md, Conventions)
----------------------------------------
``alignment="same_step"``
    ``a^k_t -> a^j_t`` (centralised basic influence; influencers act first within a step).
    Influence row t uses counterfactual row t and influencer row t. Every row is valid.
``alignment="next_step"``
    ``a^k_t`` or ``m^k_t -> a^j_{t+1}`` (messages, MOA). The value is credited to step t, where
    k acted. For a policy model (``model.predicts_next_step`` False) influence row t uses
    counterfactual row t+1 (the influencee's policy at t+1, whose input holds k's value of t);
    for a MOA (``predicts_next_step`` True) it uses counterfactual row t (the prediction of
    t+1 made at t). The last step of every episode (and the last row) has no successor: its
    influence is 0 and ``valid`` is False there.

Examples
--------
>>> import numpy as np
>>> from causal_influence.engine import pairwise_influence
>>> from causal_influence.models import TabularModel
>>> cf = np.zeros((2, 3, 3, 2, 2))
>>> cf[:, 0, 1] = np.log([[0.9, 0.1], [0.1, 0.9]])   # agent 1 mostly copies agent 0
>>> result = pairwise_influence(TabularModel(cf, np.zeros((2, 3, 2)), np.zeros((2, 3), int)),
...                             alignment="same_step")
>>> result.reward().round(4)                           # (T, N): summed over influencees
array([[0.3681, 0.    , 0.    ],
       [0.3681, 0.    , 0.    ]])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from causal_influence._backend import Array, is_torch, to_int
from causal_influence.counterfactual import influence
from causal_influence.divergences import DIVERGENCES
from causal_influence.errors import ConfigError, DTypeError, ModelError, ShapeError, describe
from causal_influence.models import JointPolicyModel

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ALIGNMENTS", "InfluenceResult", "pairwise_influence"]

#: Accepted values of ``alignment``.
ALIGNMENTS: tuple[str, ...] = ("same_step", "next_step")


def _to_numpy(x: Any) -> np.ndarray:
    if is_torch(x):
        return np.asarray(x.detach().cpu().numpy())
    return np.asarray(x)


@dataclass(frozen=True, eq=False)
class InfluenceResult:
    """Pairwise influence over time, with the metadata needed to read it.

    Attributes
    ----------
    influence : numpy.ndarray or torch.Tensor of shape (T, N, N)
        ``influence[t, k, j]``: influence of influencer k's value at step t on influencee j
        (nats unless ``base`` was given), **before** the visibility mask. 0 on the diagonal,
        for pairs that were not requested and on invalid rows.
    agent_ids : tuple of str
        Name of each agent index (``agent_0 ...`` by default).
    alignment : {"same_step", "next_step"}
    divergence : {"kl", "jsd", "pmi", "tv"}
    base : float or None
        Logarithm base of the values (None = nats).
    valid : numpy.ndarray of bool, shape (T,)
        False on rows without a measurable influence (next-step alignment: last step of each
        episode).
    computed : numpy.ndarray of bool, shape (N, N)
        True for the pairs (k, j), k != j, that were computed.
    visible : numpy.ndarray of bool, shape (T, N, N), or None
        ``visible[t, k, j]``: whether j was visible to k at step t, when k chose the value.
    """

    influence: Array
    agent_ids: tuple[str, ...]
    alignment: str
    divergence: str
    base: float | None
    valid: np.ndarray
    computed: np.ndarray
    visible: np.ndarray | None = None

    def masked(self, *, visible_only: bool = True) -> Array:
        """Influence with the visibility mask applied (when ``visible_only`` and a mask exists).

        Returns
        -------
        numpy.ndarray or torch.Tensor of shape (T, N, N)
        """
        if not visible_only or self.visible is None:
            return self.influence
        if is_torch(self.influence):
            import torch

            mask = torch.as_tensor(self.visible, device=self.influence.device)
            return torch.where(mask, self.influence, torch.zeros_like(self.influence))
        return np.where(self.visible, self.influence, 0.0)

    def reward(self, *, visible_only: bool = True) -> Array:
        """Influence reward of each influencer: the sum over influencees.

        Parameters
        ----------
        visible_only : bool, default True
            Count only influencees visible to the influencer (when a mask was given).

        Returns
        -------
        numpy.ndarray or torch.Tensor of shape (T, N)
            ``reward[t, k] = sum_j influence[t, k, j]`` (times ``visible[t, k, j]``).
        """
        return self.masked(visible_only=visible_only).sum(-1)

    def mean(self, *, visible_only: bool = True) -> Array:
        """Mean influence of each pair over the valid steps.

        Returns
        -------
        numpy.ndarray or torch.Tensor of shape (N, N)
            NaN everywhere when no step is valid.
        """
        values = self.masked(visible_only=visible_only)
        count = int(self.valid.sum())
        if is_torch(values):
            import torch

            if count == 0:
                return torch.full(values.shape[1:], float("nan"), dtype=values.dtype)
            rows = torch.as_tensor(self.valid, device=values.device)
            return values[rows].mean(0)
        if count == 0:
            return np.full(values.shape[1:], np.nan)
        return values[self.valid].mean(0)

    def to_dataframe(self, *, visible_only: bool = True) -> pd.DataFrame:
        """Tidy long table: one row per valid step and computed pair.

        Returns
        -------
        pandas.DataFrame
            Columns ``t`` (int), ``influencer`` and ``influencee`` (agent ids), ``influence``
            (float, visibility mask applied when ``visible_only``), and ``visible`` (bool)
            when a visibility mask was given.
        """
        import pandas as pd

        values = _to_numpy(self.masked(visible_only=visible_only))
        steps = np.flatnonzero(self.valid)
        ks, js = np.nonzero(self.computed)
        ids = np.asarray(self.agent_ids, dtype=object)
        frame = {
            "t": np.repeat(steps, len(ks)).astype(np.int64),
            "influencer": np.tile(ids[ks], len(steps)),
            "influencee": np.tile(ids[js], len(steps)),
            "influence": values[steps][:, ks, js].reshape(-1).astype(np.float64),
        }
        if self.visible is not None:
            frame["visible"] = self.visible[steps][:, ks, js].reshape(-1)
        return pd.DataFrame(frame)


def _resolve_agents(
    agents: Sequence[int | str] | None, agent_ids: tuple[str, ...], name: str
) -> list[int]:
    n = len(agent_ids)
    if agents is None:
        return list(range(n))
    if isinstance(agents, (str, int)):
        raise DTypeError(
            f"{name}: expected a sequence of agent indices or ids; got {describe(agents)}; "
            f"wrap a single agent in a list"
        )
    lookup = {a: i for i, a in enumerate(agent_ids)}
    out: list[int] = []
    for a in agents:
        if isinstance(a, str):
            if a not in lookup:
                raise ConfigError(f"{name}: unknown agent id {a!r}; known ids: {list(agent_ids)}")
            out.append(lookup[a])
        elif isinstance(a, (int, np.integer)) and 0 <= int(a) < n:
            out.append(int(a))
        else:
            raise ConfigError(f"{name}: expected agent indices in [0, {n}) or agent ids; got {a!r}")
    if not out or len(set(out)) != len(out):
        raise ConfigError(
            f"{name}: expected a non-empty list of distinct agents; got {list(agents)}"
        )
    return out


def _episode_starts(model: Any, episode_starts: Any, dones: Any, num_steps: int) -> np.ndarray:
    if episode_starts is not None and dones is not None:
        raise ConfigError(
            "episode_starts and dones: pass one of them (dones[t] True = step t ends an episode)"
        )
    source = episode_starts if episode_starts is not None else dones
    name = "episode_starts" if episode_starts is not None else "dones"
    if source is None:
        source = getattr(model, "episode_starts", None)
        name = "model.episode_starts"
    starts = np.zeros(num_steps, dtype=bool)
    if source is None:
        starts[0] = True
        return starts
    arr = _to_numpy(source)
    if arr.shape != (num_steps,) or arr.dtype.kind not in "bui":
        raise ShapeError(
            f"{name}: expected a bool array of shape (T,) = ({num_steps},); got {describe(arr)}"
        )
    arr = arr.astype(bool)
    if name == "dones":
        starts[1:] = arr[:-1]
    else:
        starts[:] = arr
    starts[0] = True
    return starts


def _check_output(x: Any, shape: tuple[int | None, ...], name: str, what: str) -> None:
    got = tuple(getattr(x, "shape", ()))
    if len(got) != len(shape) or any(
        s is not None and g != s for g, s in zip(got, shape, strict=False)
    ):
        expected = ", ".join("?" if s is None else str(s) for s in shape)
        raise ModelError(
            f"model.{name}: expected an array of shape ({expected}) ({what}); got {describe(x)}; "
            f"check the model's layout (models.JointPolicyModel)"
        )


def pairwise_influence(
    model: JointPolicyModel,
    *,
    alignment: str,
    divergence: str = "kl",
    influencers: Sequence[int | str] | None = None,
    influencees: Sequence[int | str] | None = None,
    visible: Any = None,
    episode_starts: Any = None,
    dones: Any = None,
    agent_ids: Sequence[str] | None = None,
    base: float | None = None,
    influencee_actions: Any = None,
) -> InfluenceResult:
    """Influence of every influencer's value on every influencee's action, at every step.

    For influencer k, influencee j and step t:
    ``influence[t, k, j] = D[p(a^j | k's actual value) || sum_c pi^k(c) p(a^j | c)]`` with the
    counterfactual values c enumerated and weighted by k's own policy (Jaques et al. 2019,
    Eq. 1-2 and the MOA form). All pairs are obtained from one call of
    ``model.counterfactual_logits`` and one vectorised evaluation of the divergence.

    Parameters
    ----------
    model : JointPolicyModel
        :class:`~causal_influence.models.TabularModel`,
        :class:`~causal_influence.models.TorchModel`,
        :class:`~causal_influence.models.RecurrentTorchModel`,
        :class:`~causal_influence.models.PyroModel` or any object with that protocol.
    alignment : {"same_step", "next_step"}
        Required. ``"same_step"``: k's value at t acts on j's action at t. ``"next_step"``: on
        j's action at t+1, credited to t (see the module docstring for how rows are paired).
    divergence : {"kl", "jsd", "pmi", "tv"}, default "kl"
    influencers, influencees : sequence of int or agent id, optional
        Subsets of agents (default: all). Pairs outside them are 0 and not ``computed``.
    visible : bool array of shape (T, N, N), optional
        ``visible[t, k, j]``: j visible to k at step t (when k chose its value, as in the
        reference's ``prev_visible_agents``). Stored in the result and applied by
        :meth:`InfluenceResult.reward`, :meth:`InfluenceResult.mean` and
        :meth:`InfluenceResult.to_dataframe` (``visible_only=True``).
    episode_starts : bool array of shape (T,), optional
        True at the first step of each episode. Defaults to the model's ``episode_starts``
        attribute when it has one, else the rows form one episode.
    dones : bool array of shape (T,), optional
        Alternative to ``episode_starts``: True at the last step of each episode.
    agent_ids : sequence of N str, optional
        Default ``agent_0 ... agent_{N-1}``.
    base : float, optional
        None for nats (default), 2 for bits.
    influencee_actions : int array of shape (T, N), optional
        Each agent's realised action at each step; required by ``"pmi"`` (the influencee's
        action at t for same-step, at t+1 for next-step alignment).

    Returns
    -------
    InfluenceResult
        ``influence`` of shape (T, N, N), numpy or torch as the model's counterfactual logits.

    Raises
    ------
    ConfigError
        Unknown alignment or divergence, a same-step request on a next-step model, bad agent
        subsets, ``"pmi"`` without ``influencee_actions``.
    ShapeError
        Masks or actions of the wrong shape.
    ModelError
        The model returned arrays of the wrong shape or values outside ``[0, K)``.

    Examples
    --------
    A small centralised torch policy: agents 1 and 2 read agent 0's action (one-hot) at the same
    step; agent 2 only a little.

    >>> import torch
    >>> from causal_influence.models import TorchModel
    >>> net = torch.nn.Linear(3 * 2, 3 * 2)
    >>> with torch.no_grad():
    ...     _ = net.weight.zero_(), net.bias.zero_()
    ...     net.weight[2:4, 0:2] = 4 * torch.eye(2)           # agent 1 copies agent 0
    ...     net.weight[4:6, 0:2] = 0.5 * torch.eye(2)         # agent 2 leans towards it
    >>> def head(features, inputs):                           # inputs (B, 3, 2) one-hot
    ...     return net(inputs.flatten(1)).reshape(-1, 3, 2) + features[:, None]
    >>> actions = torch.tensor([[0, 1, 1], [1, 1, 0]])
    >>> model = TorchModel(head, torch.zeros(2, 2), actions, prior_logits=torch.zeros(2, 3, 2))
    >>> result = pairwise_influence(model, alignment="same_step", influencers=[0])
    >>> result.influence[0]                   # ln 2 - H_b(sigmoid(4)), ln 2 - H_b(sigmoid(0.5))
    tensor([[0.0000, 0.6031, 0.0303],
            [0.0000, 0.0000, 0.0000],
            [0.0000, 0.0000, 0.0000]])
    >>> result.reward()[:, 0]                             # influencer 0, summed over j
    tensor([0.6334, 0.6334])
    >>> result.to_dataframe().head(2)
       t influencer influencee  influence
    0  0    agent_0    agent_1   0.603...
    1  0    agent_0    agent_2   0.030...
    """
    if alignment not in ALIGNMENTS:
        raise ConfigError(
            f"alignment: expected one of {ALIGNMENTS}; got {alignment!r}; use 'same_step' for "
            f"a^k_t -> a^j_t and 'next_step' for messages and MOA (a^k_t -> a^j_(t+1))"
        )
    if divergence not in DIVERGENCES:
        raise ConfigError(f"divergence: expected one of {DIVERGENCES}; got {divergence!r}")
    if not isinstance(model, JointPolicyModel):
        raise DTypeError(
            f"model: expected a JointPolicyModel (num_agents, num_steps, predicts_next_step, "
            f"counterfactual_logits, influencer_logits, influencer_values); got {describe(model)}"
        )
    n, t = int(model.num_agents), int(model.num_steps)
    if n < 1 or t < 1:
        raise ModelError(f"model: expected at least one agent and one step; got N={n}, T={t}")
    predicts_next = bool(model.predicts_next_step)
    if predicts_next and alignment == "same_step":
        raise ConfigError(
            "alignment='same_step' was requested from a model whose rows predict the next "
            "step (predicts_next_step=True, e.g. a MOA); use alignment='next_step'"
        )
    ids = tuple(f"agent_{i}" for i in range(n)) if agent_ids is None else tuple(agent_ids)
    if len(ids) != n or len(set(ids)) != n or not all(isinstance(a, str) for a in ids):
        raise ConfigError(f"agent_ids: expected {n} distinct strings; got {list(ids)}")
    ks = _resolve_agents(influencers, ids, "influencers")
    js = _resolve_agents(influencees, ids, "influencees")
    starts = _episode_starts(model, episode_starts, dones, t)
    vis = None
    if visible is not None:
        vis = _to_numpy(visible)
        if vis.shape != (t, n, n) or vis.dtype.kind not in "bui":
            raise ShapeError(
                f"visible: expected a bool array of shape (T, N, N) = ({t}, {n}, {n}); got "
                f"{describe(vis)}"
            )
        vis = vis.astype(bool)
    actions = None
    if divergence == "pmi":
        if influencee_actions is None:
            raise ConfigError(
                "divergence='pmi' is evaluated at the influencee's realised action; pass "
                "influencee_actions (T, N)"
            )
        actions = to_int(influencee_actions, "influencee_actions")
        if tuple(actions.shape) != (t, n):
            raise ShapeError(
                f"influencee_actions: expected shape (T, N) = ({t}, {n}); got {describe(actions)}"
            )

    cf = model.counterfactual_logits(ks, js)
    prior = model.influencer_logits(ks)
    values = model.influencer_values(ks)
    _check_output(cf, (t, len(ks), len(js), None, None), "counterfactual_logits", "T, I, J, K, A")
    num_values = int(cf.shape[3])
    _check_output(prior, (t, len(ks), num_values), "influencer_logits", "T, I, K")
    _check_output(values, (t, len(ks)), "influencer_values", "T, I")
    values = to_int(values, "model.influencer_values")
    if bool(((values < 0) | (values >= num_values)).any()):
        raise ModelError(
            f"model.influencer_values: expected values in [0, K={num_values}); got values "
            f"outside that range"
        )

    # Rows: influence row r (credited to step r) <- counterfactual row r + shift.
    if alignment == "same_step":
        rows, shift = t, 0
        valid = np.ones(t, dtype=bool)
    else:
        rows, shift = t - 1, 0 if predicts_next else 1
        valid = np.zeros(t, dtype=bool)
        valid[:-1] = ~starts[1:]
    torch_out = is_torch(cf)
    if torch_out:
        import torch

        prior = torch.as_tensor(prior, device=cf.device)
        values = torch.as_tensor(values, device=cf.device)
    extra: dict[str, Any] = {}
    if actions is not None:
        lag = 0 if alignment == "same_step" else 1
        act = actions[lag : lag + rows][:, js]
        act = torch.as_tensor(act, device=cf.device) if torch_out else _to_numpy(act)
        extra["influencee_action"] = act[:, None, :]
    if rows > 0:
        pair = influence(
            cf[shift : shift + rows],
            prior[:rows, :, None, :],
            values[:rows, :, None],
            divergence=divergence,
            base=base,
            **extra,
        )  # (rows, I, J)
    else:
        pair = None

    computed = np.zeros((n, n), dtype=bool)
    computed[np.ix_(ks, js)] = True
    np.fill_diagonal(computed, False)
    full: Any
    if torch_out:
        dtype = cf.dtype if cf.is_floating_point() else torch.get_default_dtype()
        full = torch.zeros((t, n, n), dtype=dtype, device=cf.device)
        if pair is not None:
            full[:rows, torch.tensor(ks)[:, None], torch.tensor(js)[None, :]] = pair.to(dtype)
        keep = torch.as_tensor(computed[None] & valid[:, None, None], device=cf.device)
        full = torch.where(keep, full, torch.zeros_like(full))
    else:
        full = np.zeros((t, n, n), dtype=np.float64)
        if pair is not None:
            full[:rows, np.asarray(ks)[:, None], np.asarray(js)[None, :]] = pair
        full = np.where(computed[None] & valid[:, None, None], full, 0.0)
    return InfluenceResult(
        influence=full,
        agent_ids=ids,
        alignment=alignment,
        divergence=divergence,
        base=base,
        valid=valid,
        computed=computed,
        visible=vis,
    )
