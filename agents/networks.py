"""Batched actor-critic networks with one set of weights per agent.

All N agents' networks live in ONE module. Every parameter carries a leading *group* axis of
size G: ``G = N`` gives independent weights per agent (the paper's setting), ``G = 1`` shares
one set of weights between all agents. Agents are evaluated together with batched matrix
products (``torch.bmm``) and grouped convolutions, so neither acting nor training loops over
agents in Python. Inside the module tensors are *agent-major*, ``(N, L, ...)`` with L a flattened
batch; the public methods take and return the project's time-major layout ``(T, B, N, ...)``.

Architecture (defaults from Jaques et al. 2019, ENVS.md section 4.2, every size configurable):

- shared convolution: ``conv_filters`` filters of ``conv_kernel`` x ``conv_kernel``, stride 1,
  valid padding, ReLU; input is the egocentric view ``(S, S, C)`` (RGB scaled by 1/255, or the
  symbolic one-hot channels);
- policy branch: fully connected layers ``fc_hiddens`` (tanh) -> LSTM with ``lstm_size`` cells ->
  policy logits (A) and value (1);
- ``setting="basic"``: the policy LSTM of an influencee also receives one-hot encodings of the
  influencers' *current* actions (influencers act first and see none);
- ``setting="comm"``: the policy LSTM receives one-hot encodings of all N agents' previous
  messages (own first, then the others in index order; the extra symbol M means "no message
  yet"), optionally through a linear embedding; a message head (M logits) and a message value
  head sit beside the action head on the *detached* LSTM output, so message losses train only
  the message heads;
- ``setting="moa"``: a model of other agents: a second FC branch on the shared convolution and a
  second LSTM whose input is ``[MOA features of o_t, onehot(own a_t), onehot(others' a_t)]``;
  its head predicts the other N-1 agents' actions at t+1 ((N-1) x A logits).

Extra one-hot inputs enter the LSTMs linearly, so their contribution to the LSTM gates is a sum
of rows of a *gate table*. Counterfactuals (replace one agent's action or message by every
possible value) therefore cost one table look-up and one LSTM non-linearity each: the
observation encoders, the recurrent product and every other input are computed once and shared
by all counterfactuals, exactly as if the full network had been re-run with the changed input.

Examples
--------
>>> import torch
>>> from agents.networks import MultiAgentNet, NetSpec
>>> spec = NetSpec(num_agents=3, view_shape=(5, 5, 4), num_actions=4, setting="moa")
>>> net = MultiAgentNet(spec, rng=0)
>>> state = net.initial_state(2)
>>> view = torch.zeros(2, 3, 5, 5, 4, dtype=torch.uint8)
>>> out = net.act(view, state, generator=torch.Generator().manual_seed(0))
>>> tuple(out.actions.shape), tuple(out.logits.shape), tuple(out.cf_logits.shape)
((2, 3), (2, 3, 4), (2, 3, 4, 2, 4))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from causal_influence.errors import ConfigError, ShapeError, describe

__all__ = [
    "SETTINGS",
    "ActOutput",
    "AgentConv2d",
    "AgentLSTM",
    "AgentLinear",
    "MultiAgentNet",
    "NetSpec",
    "SequenceOutput",
    "egocentric_order",
    "make_generator",
]

Setting = Literal["none", "basic", "comm", "moa"]
SETTINGS: tuple[str, ...] = ("none", "basic", "comm", "moa")


def make_generator(rng: int | np.random.Generator | torch.Generator | None) -> torch.Generator:
    """A CPU ``torch.Generator`` from an int seed, a numpy Generator, a torch Generator or None.

    None draws a fresh seed from the operating system; a numpy Generator is consumed for one
    64-bit seed. The global torch RNG is never touched.

    Examples
    --------
    >>> g = make_generator(3)
    >>> torch.rand(1, generator=g).item() == torch.rand(1, generator=make_generator(3)).item()
    True
    """
    if isinstance(rng, torch.Generator):
        return rng
    if isinstance(rng, np.random.Generator):
        seed = int(rng.integers(0, 2**63 - 1))
    elif rng is None:
        seed = int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] >> 1)
    elif isinstance(rng, (int, np.integer)):
        seed = int(rng)
    else:
        raise ConfigError(
            f"rng: expected an int, numpy.random.Generator, torch.Generator or None; got "
            f"{describe(rng)}"
        )
    return torch.Generator().manual_seed(seed)


def egocentric_order(num_agents: int) -> np.ndarray:
    """Agent order seen by each agent: row k is ``[k, then the others in index order]``.

    Returns
    -------
    numpy.ndarray of shape (N, N), int64

    Examples
    --------
    >>> egocentric_order(3)
    array([[0, 1, 2],
           [1, 0, 2],
           [2, 0, 1]])
    """
    rows = [[k] + [j for j in range(num_agents) if j != k] for k in range(num_agents)]
    return np.asarray(rows, dtype=np.int64)


def _normc(shape: tuple[int, ...], std: float, generator: torch.Generator, dim: int) -> Tensor:
    """Gaussian weights whose vectors along ``dim`` (the fan-in axis) have norm ``std``."""
    w = torch.randn(shape, generator=generator)
    return w * (std / w.pow(2).sum(dim=dim, keepdim=True).sqrt().clamp_min(1e-12))


def _uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator) -> Tensor:
    return (torch.rand(shape, generator=generator) * 2.0 - 1.0) * bound


def _check_agents(x: Tensor, groups: int, name: str) -> None:
    if groups != 1 and x.shape[0] != groups:
        raise ShapeError(
            f"{name}: expected the leading (agent) axis to have {groups} entries, one per weight "
            f"group; got {describe(x)}"
        )


class AgentLinear(nn.Module):
    """Fully connected layer with per-agent weights: ``y[n] = x[n] @ W[g(n)] + b[g(n)]``.

    Parameters
    ----------
    groups : int
        Number of weight sets G (N for independent agents, 1 for shared weights).
    in_features, out_features : int
    std : float
        Column norm of the normc initialisation (RLlib's ``normc_initializer``).
    generator : torch.Generator
        Source of the initial weights.

    Examples
    --------
    >>> layer = AgentLinear(2, 3, 4, generator=make_generator(0))
    >>> tuple(layer(torch.ones(2, 5, 3)).shape)
    (2, 5, 4)
    """

    def __init__(
        self,
        groups: int,
        in_features: int,
        out_features: int,
        *,
        std: float = 1.0,
        generator: torch.Generator,
    ) -> None:
        super().__init__()
        self.groups = groups
        self.weight = nn.Parameter(_normc((groups, in_features, out_features), std, generator, 1))
        self.bias = nn.Parameter(torch.zeros(groups, out_features))

    def forward(self, x: Tensor, agents: slice | None = None) -> Tensor:
        """x: tensor of shape (N, ..., in) -> tensor of shape (N, ..., out).

        ``agents`` selects the agents whose weights apply when ``x`` holds only some agents.
        """
        weight: Tensor = self.weight
        bias: Tensor = self.bias
        if agents is not None and self.groups > 1:
            weight, bias = weight[agents], bias[agents]
        _check_agents(x, weight.shape[0], "AgentLinear input")
        lead = x.shape[:-1]
        flat = x.reshape(x.shape[0], -1, x.shape[-1])
        if weight.shape[0] == 1:
            out = flat @ weight[0] + bias[0]
        else:
            out = torch.baddbmm(bias.unsqueeze(1), flat, weight)
        return out.reshape(*lead, weight.shape[-1])


class AgentConv2d(nn.Module):
    """2-D convolution (stride 1, valid padding) with per-agent filters, as one grouped conv.

    Input of shape (N, L, C, H, W), output of shape (N, L, F, H-k+1, W-k+1).

    Examples
    --------
    >>> conv = AgentConv2d(2, 3, 6, 3, generator=make_generator(0))
    >>> tuple(conv(torch.zeros(2, 4, 3, 15, 15)).shape)
    (2, 4, 6, 13, 13)
    """

    def __init__(
        self,
        groups: int,
        in_channels: int,
        filters: int,
        kernel: int,
        *,
        generator: torch.Generator,
    ) -> None:
        super().__init__()
        self.groups = groups
        fan_in = in_channels * kernel * kernel
        bound = 1.0 / math.sqrt(fan_in)
        self.weight = nn.Parameter(
            _uniform(
                (groups, filters, in_channels, kernel, kernel), math.sqrt(3.0) * bound, generator
            )
        )
        self.bias = nn.Parameter(_uniform((groups, filters), bound, generator))

    def forward(self, x: Tensor) -> Tensor:
        _check_agents(x, self.groups, "AgentConv2d input")
        n, l, c, h, w = x.shape
        f = self.weight.shape[1]
        k = self.weight.shape[-1]
        if self.groups == 1:
            out = F.conv2d(x.reshape(n * l, c, h, w), self.weight[0], self.bias[0])
            return out.reshape(n, l, f, h - k + 1, w - k + 1)
        grouped = x.transpose(0, 1).reshape(l, n * c, h, w)
        out = F.conv2d(
            grouped, self.weight.reshape(n * f, c, k, k), self.bias.reshape(n * f), groups=n
        )
        return out.reshape(l, n, f, h - k + 1, w - k + 1).transpose(0, 1)


class AgentLSTM(nn.Module):
    """LSTM with per-agent weights, split so that shared work is done once.

    Gates ``= x @ W_x + b + sum of gate-table rows of the one-hot inputs + h @ W_h``, in the
    order (input, forget, cell, output). The dense input part is computed for all time steps at
    once (:meth:`input_gates`), the recurrent part step by step (:meth:`recurrent_gates`), and
    one-hot inputs (actions, messages) are looked up in :meth:`gate_table`, which makes
    counterfactual inputs cheap.

    Parameters
    ----------
    groups : int
    input_size : int
        Width of the dense input.
    hidden_size : int
    onehot_rows : int
        Total length of the concatenated one-hot inputs (0 for none).
    embedding : int
        If positive, one-hot inputs pass through a linear embedding of this width first.
    """

    def __init__(
        self,
        groups: int,
        input_size: int,
        hidden_size: int,
        *,
        onehot_rows: int = 0,
        embedding: int = 0,
        generator: torch.Generator,
    ) -> None:
        super().__init__()
        self.groups = groups
        self.hidden_size = hidden_size
        bound = 1.0 / math.sqrt(hidden_size)
        g4 = 4 * hidden_size
        self.w_x = nn.Parameter(_uniform((groups, input_size, g4), bound, generator))
        self.w_h = nn.Parameter(_uniform((groups, hidden_size, g4), bound, generator))
        bias = torch.zeros(groups, g4)
        bias[:, hidden_size : 2 * hidden_size] = 1.0  # forget-gate bias
        self.bias = nn.Parameter(bias)
        self.onehot_rows = onehot_rows
        self.embed: nn.Parameter | None = None
        self.w_onehot: nn.Parameter | None = None
        if onehot_rows > 0 and embedding > 0:
            self.embed = nn.Parameter(
                torch.randn((groups, onehot_rows, embedding), generator=generator)
            )
            self.w_onehot = nn.Parameter(_uniform((groups, embedding, g4), bound, generator))
        elif onehot_rows > 0:
            self.w_onehot = nn.Parameter(_uniform((groups, onehot_rows, g4), bound, generator))

    def input_gates(self, x: Tensor) -> Tensor:
        """Dense input part plus bias: (N, L, input_size) -> (N, L, 4H)."""
        _check_agents(x, self.groups, "AgentLSTM input")
        if self.groups == 1:
            return x @ self.w_x[0] + self.bias[0]
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.w_x)

    def recurrent_gates(self, h: Tensor) -> Tensor:
        """Recurrent part: (N, L, H) -> (N, L, 4H)."""
        if self.groups == 1:
            return h @ self.w_h[0]
        return torch.bmm(h, self.w_h)

    def gate_table(self) -> Tensor:
        """Gate contribution of every one-hot row: tensor of shape (G, onehot_rows, 4H)."""
        if self.w_onehot is None:
            raise ShapeError("this LSTM has no one-hot inputs (onehot_rows=0)")
        if self.embed is None:
            return self.w_onehot
        return torch.bmm(self.embed, self.w_onehot)

    @staticmethod
    def rows(table: Tensor, index: Tensor) -> Tensor:
        """Rows of a (G, R, 4H) table for an index of shape (N, ...) -> (N, ..., 4H)."""
        if table.shape[0] == 1:
            return table[0][index]
        n = index.shape[0]
        agent = torch.arange(n).reshape(n, *([1] * (index.ndim - 1)))
        return table[agent, index]

    @staticmethod
    def counterfactual_cell(gates: Tensor, c: Tensor) -> Tensor:
        """Hidden output of :meth:`cell` for prescaled gates, computed in place when possible.

        Counterfactual batches are large temporaries that nothing else reads, so without
        autograd the non-linearity runs in place in the gate tensor (no new allocations, which
        dominate the cost of large element-wise chains on CPU). With autograd enabled it falls
        back to :meth:`cell`. Returns h of shape (..., H) (a view into ``gates``).
        """
        if torch.is_grad_enabled() and (gates.requires_grad or c.requires_grad):
            return AgentLSTM.cell(gates, c, prescaled=True)[0]
        hidden = gates.shape[-1] // 4
        z = gates.sigmoid_()
        i, f, g, o = z.split(hidden, dim=-1)
        g.mul_(2.0).sub_(1.0)  # tanh of the cell input
        i.mul_(g)
        f.mul_(c).add_(i)  # f now holds the new cell state
        g.copy_(f).mul_(2.0).sigmoid_().mul_(2.0).sub_(1.0)  # tanh of the new cell state
        return o.mul_(g)

    @staticmethod
    def rows_sum(table: Tensor, index: Tensor, weights: Tensor | None = None) -> Tensor:
        """Sum over the last axis of rows: index (N, L, blocks) -> (N, L, 4H), one gather-sum.

        ``weights`` (N, L, blocks) scale each row (0 drops it).
        """
        g, r, width = table.shape
        n, l, k = index.shape
        flat = index
        if g > 1:
            flat = index + (torch.arange(n) * r).reshape(n, 1, 1)
        psw = None if weights is None else weights.expand(n, l, k).reshape(n * l, k)
        out = F.embedding_bag(
            flat.reshape(n * l, k), table.reshape(g * r, width), mode="sum", per_sample_weights=psw
        )
        return out.reshape(n, l, width)

    @staticmethod
    def gate_scale(hidden: int) -> Tensor:
        """Per-gate factors (1, 1, 2, 1) x H used by :meth:`cell` (see there)."""
        scale = torch.ones(4 * hidden)
        scale[2 * hidden : 3 * hidden] = 2.0
        return scale

    @staticmethod
    def cell(gates: Tensor, c: Tensor, *, prescaled: bool = False) -> tuple[Tensor, Tensor]:
        """LSTM non-linearity: gates (..., 4H) and cell (..., H) -> new (h, c).

        ``tanh(x)`` is evaluated as ``2 * sigmoid(2x) - 1`` (equal up to rounding), so that all
        four gates go through one sigmoid call, which is much faster than ``tanh`` on CPU for
        the large counterfactual batches. ``prescaled=True`` means the caller already
        multiplied the gates by :meth:`gate_scale` (cheaper on the small summands of a large
        broadcast sum).
        """
        hidden = gates.shape[-1] // 4
        s = torch.sigmoid(
            gates if prescaled else gates * AgentLSTM.gate_scale(hidden).to(gates.dtype)
        )
        i, f, g, o = s.split(hidden, dim=-1)
        c_new = torch.addcmul(f * c, i, g * 2.0 - 1.0)
        return o * (torch.sigmoid(c_new * 2.0) * 2.0 - 1.0), c_new


@dataclass(frozen=True)
class NetSpec:
    """Sizes and wiring of :class:`MultiAgentNet`.

    Parameters
    ----------
    num_agents : int
        N.
    view_shape : tuple of int
        (S, S, C) of one agent's egocentric view.
    num_actions : int
        A.
    setting : {"none", "basic", "comm", "moa"}
    num_symbols : int
        Message vocabulary M (``setting="comm"`` only).
    num_influencers : int
        Agents ``0 .. num_influencers-1`` are the influencers (``setting="basic"`` only).
    conv_filters, conv_kernel : int
    fc_hiddens : tuple of int
    lstm_size : int
    share_weights : bool
        One set of weights for all agents instead of one per agent.
    message_embedding : int
        Width of the linear embedding of message one-hots (0 = none).
    obs_scale : float
        Factor applied to the uint8 view (1/255 for RGB, 1 for symbolic).
    """

    num_agents: int
    view_shape: tuple[int, int, int]
    num_actions: int
    setting: Setting = "none"
    num_symbols: int = 0
    num_influencers: int = 1
    conv_filters: int = 6
    conv_kernel: int = 3
    fc_hiddens: tuple[int, ...] = (32, 32)
    lstm_size: int = 128
    share_weights: bool = False
    message_embedding: int = 0
    obs_scale: float = 1.0 / 255.0

    def __post_init__(self) -> None:
        if self.setting not in SETTINGS:
            raise ConfigError(f"setting: expected one of {SETTINGS}; got {self.setting!r}")
        if self.num_agents < 1 or self.num_actions < 1:
            raise ConfigError(
                f"num_agents and num_actions must be positive; got {self.num_agents}, "
                f"{self.num_actions}"
            )
        if self.setting == "comm" and self.num_symbols < 1:
            raise ConfigError(
                "setting='comm' needs a message vocabulary: set num_symbols >= 1 (and the env's "
                f"num_symbols to the same value); got num_symbols={self.num_symbols}"
            )
        if self.setting in ("comm", "moa", "basic") and self.num_agents < 2:
            raise ConfigError(f"setting={self.setting!r} needs at least 2 agents")
        if self.setting == "basic" and not 1 <= self.num_influencers <= self.num_agents - 1:
            raise ConfigError(
                f"num_influencers: expected 1 .. N-1 = {self.num_agents - 1} (influencers and "
                f"influencees are disjoint); got {self.num_influencers}"
            )
        if len(self.view_shape) != 3 or min(self.view_shape[:2]) < self.conv_kernel:
            raise ConfigError(
                f"view_shape: expected (S, S, C) with S >= conv_kernel={self.conv_kernel}; got "
                f"{self.view_shape}"
            )

    @property
    def groups(self) -> int:
        return 1 if self.share_weights else self.num_agents


@dataclass
class ActOutput:
    """One acting step of all agents (batch of B envs), tensors in (B, N, ...) layout.

    ``cf_logits`` are the counterfactual logits needed for the setting's influence:

    - basic: (B, N-I, I, A, A): influencee ``I + j``'s policy logits when influencer i's current
      action is replaced by each of its A values (influencers are agents ``0 .. I-1``);
    - comm: (B, N, N-1, M, A): listener j's policy logits when the previous message of the
      other agent in slot s (index order, j skipped) is replaced by each of the M symbols;
    - moa: (B, N, A, N-1, A): agent k's MOA predictions of the others' next actions when its own
      action is replaced by each of its A values.
    """

    actions: Tensor
    logits: Tensor
    values: Tensor
    state: dict[str, Tensor]
    messages: Tensor | None = None
    message_logits: Tensor | None = None
    message_values: Tensor | None = None
    moa_logits: Tensor | None = None
    cf_logits: Tensor | None = None


@dataclass
class SequenceOutput:
    """Training forward pass over a fragment, tensors in (T, B, N, ...) layout."""

    logits: Tensor
    values: Tensor
    message_logits: Tensor | None = None
    message_values: Tensor | None = None
    moa_logits: Tensor | None = None
    final_state: dict[str, Tensor] | None = None


class MultiAgentNet(nn.Module):
    """All agents' actor-critic networks (and message heads or MOAs) as one batched module.

    Parameters
    ----------
    spec : NetSpec
    rng : int, numpy.random.Generator, torch.Generator or None
        Source of the initial weights (the global torch RNG is not touched).

    Notes
    -----
    State dictionaries hold tensors of shape (N, B, ...): ``"h"``, ``"c"`` (policy LSTM),
    ``"moa_h"``, ``"moa_c"`` (MOA LSTM, setting "moa"). Zero them where an episode starts.
    """

    def __init__(
        self,
        spec: NetSpec,
        *,
        rng: int | np.random.Generator | torch.Generator | None = None,
    ) -> None:
        super().__init__()
        gen = make_generator(rng)
        self.spec = spec
        g, n, a = spec.groups, spec.num_agents, spec.num_actions
        s, _, c = spec.view_shape
        self.conv = AgentConv2d(g, c, spec.conv_filters, spec.conv_kernel, generator=gen)
        conv_out = (
            spec.conv_filters
            * (s - spec.conv_kernel + 1)
            * (spec.view_shape[1] - spec.conv_kernel + 1)
        )
        self.policy_fc = self._fc_stack(g, conv_out, spec.fc_hiddens, gen)
        feat = spec.fc_hiddens[-1] if spec.fc_hiddens else conv_out
        hidden = spec.lstm_size
        onehot_rows = 0
        if spec.setting == "basic":
            onehot_rows = spec.num_influencers * a
        elif spec.setting == "comm":
            onehot_rows = n * (spec.num_symbols + 1)
        self.lstm = AgentLSTM(
            g,
            feat,
            hidden,
            onehot_rows=onehot_rows,
            embedding=spec.message_embedding if spec.setting == "comm" else 0,
            generator=gen,
        )
        self.policy_head = AgentLinear(g, hidden, a, std=0.01, generator=gen)
        self.value_head = AgentLinear(g, hidden, 1, std=0.01, generator=gen)
        self.message_head: AgentLinear | None = None
        self.message_value_head: AgentLinear | None = None
        if spec.setting == "comm":
            self.message_head = AgentLinear(g, hidden, spec.num_symbols, std=0.01, generator=gen)
            self.message_value_head = AgentLinear(g, hidden, 1, std=0.01, generator=gen)
        self.moa_fc: nn.ModuleList | None = None
        self.moa_lstm: AgentLSTM | None = None
        self.moa_head: AgentLinear | None = None
        if spec.setting == "moa":
            self.moa_fc = self._fc_stack(g, conv_out, spec.fc_hiddens, gen)
            self.moa_lstm = AgentLSTM(g, feat, hidden, onehot_rows=n * a, generator=gen)
            self.moa_head = AgentLinear(g, hidden, (n - 1) * a, std=0.01, generator=gen)
        ego = torch.as_tensor(egocentric_order(n))
        self.register_buffer("ego", ego, persistent=False)
        self.ego: Tensor

    @staticmethod
    def _fc_stack(
        groups: int, width: int, hiddens: Sequence[int], gen: torch.Generator
    ) -> nn.ModuleList:
        layers = []
        for size in hiddens:
            layers.append(AgentLinear(groups, width, size, std=1.0, generator=gen))
            width = size
        return nn.ModuleList(layers)

    # ------------------------------------------------------------------ building blocks
    def initial_state(self, batch: int) -> dict[str, Tensor]:
        """Zero recurrent state for ``batch`` envs: dict of tensors of shape (N, B, H)."""
        n, h = self.spec.num_agents, self.spec.lstm_size
        state = {"h": torch.zeros(n, batch, h), "c": torch.zeros(n, batch, h)}
        if self.spec.setting == "moa":
            state["moa_h"] = torch.zeros(n, batch, h)
            state["moa_c"] = torch.zeros(n, batch, h)
        return state

    def encode(self, view: Tensor) -> tuple[Tensor, Tensor | None]:
        """Views (N, L, S, S, C) uint8/float -> policy features (N, L, F), MOA features or None."""
        x = view.permute(0, 1, 4, 2, 3).to(torch.float32) * self.spec.obs_scale
        z = F.relu(self.conv(x)).flatten(2)
        pol = z
        for layer in self.policy_fc:
            pol = torch.tanh(layer(pol))
        moa = None
        if self.moa_fc is not None:
            moa = z
            for layer in self.moa_fc:
                moa = torch.tanh(layer(moa))
        return pol, moa

    def _policy_onehot_index(
        self, actions: Tensor | None, messages: Tensor | None
    ) -> tuple[Tensor, Tensor] | None:
        """One-hot row indices (N, L, blocks) and activity mask (N, 1, blocks) of the policy LSTM.

        ``actions`` (L, N): current actions (basic); ``messages`` (L, N): previous messages
        with fill value M (comm). Agent-major output.
        """
        spec = self.spec
        n = spec.num_agents
        if spec.setting == "basic":
            if actions is None:
                raise ShapeError("setting 'basic' needs the influencers' current actions")
            ni, a = spec.num_influencers, spec.num_actions
            offsets = torch.arange(ni) * a
            idx = (actions[:, :ni] + offsets).unsqueeze(0).expand(n, -1, -1)
            active = (torch.arange(n) >= ni).to(torch.float32).reshape(n, 1, 1)
            return idx, active.expand(n, 1, ni)
        if spec.setting == "comm":
            if messages is None:
                raise ShapeError("setting 'comm' needs the previous messages (obs['messages'])")
            m1 = spec.num_symbols + 1
            ego_msgs = messages.T[self.ego]  # (N, N slots, L)
            idx = ego_msgs.permute(0, 2, 1) + torch.arange(n) * m1
            return idx, torch.ones(n, 1, n)
        return None

    def _heads(self, h: Tensor) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        logits = self.policy_head(h)
        values = self.value_head(h).squeeze(-1)
        msg_logits = msg_values = None
        if self.message_head is not None and self.message_value_head is not None:
            hd = h.detach()
            msg_logits = self.message_head(hd)
            msg_values = self.message_value_head(hd).squeeze(-1)
        return logits, values, msg_logits, msg_values

    @staticmethod
    def _to_agent_major(x: Tensor) -> Tensor:
        """(B, N, ...) -> (N, B, ...)."""
        return x.transpose(0, 1)

    # ------------------------------------------------------------------ acting
    def act(
        self,
        view: Tensor,
        state: dict[str, Tensor],
        *,
        messages: Tensor | None = None,
        generator: torch.Generator | None = None,
        counterfactuals: bool = True,
        greedy: bool = False,
    ) -> ActOutput:
        """Sample every agent's action (and message) for one step of B envs.

        Parameters
        ----------
        view : tensor of shape (B, N, S, S, C), uint8
        state : dict of tensors of shape (N, B, H)
            Recurrent state; zero it where an episode starts before calling.
        messages : tensor of shape (B, N), int64, optional
            Previous messages from the env (``obs["messages"]``, fill value M); setting "comm".
        generator : torch.Generator, optional
            Source of the samples.
        counterfactuals : bool
            Also compute the counterfactual logits of the setting (``ActOutput.cf_logits``).
        greedy : bool
            Take the most likely action and message instead of sampling.

        Returns
        -------
        ActOutput
            Counterfactual logits are computed from the same recurrent state and inputs, with
            only the counterfactual variable changed.
        """
        spec = self.spec
        n, a = spec.num_agents, spec.num_actions
        if view.ndim != 5 or view.shape[1] != n:
            raise ShapeError(
                f"view: expected a tensor of shape (B, N={n}, S, S, C); got {describe(view)}"
            )
        b = view.shape[0]
        pol_feat, moa_feat = self.encode(self._to_agent_major(view))
        base = self.lstm.input_gates(pol_feat) + self.lstm.recurrent_gates(state["h"])

        def sample(logits: Tensor) -> Tensor:
            if greedy:
                return logits.argmax(-1)
            probs = torch.softmax(logits, dim=-1)
            flat = torch.multinomial(probs.reshape(-1, probs.shape[-1]), 1, generator=generator)
            return flat.reshape(probs.shape[:-1])

        out_msgs = out_msg_logits = out_msg_values = moa_logits = cf = None
        new_state: dict[str, Tensor] = {}
        if spec.setting == "basic":
            # Influencers act first: their LSTM input has no one-hot part.
            ni = spec.num_influencers
            h0, _ = self.lstm.cell(base, state["c"])
            infl_actions = sample(self.policy_head(h0)[:ni])  # (I, B)
            index = self._policy_onehot_index(infl_actions.T, None)
            assert index is not None
            idx, active = index
            table = self.lstm.gate_table()
            rows = AgentLSTM.rows(table, idx) * active.unsqueeze(-1)  # (N, B, I, 4H)
            gates = base + rows.sum(2)
            h, c = self.lstm.cell(gates, state["c"])
            logits, values, _, _ = self._heads(h)
            actions = sample(logits)
            actions[:ni] = infl_actions
            if counterfactuals:
                # Influencees only (agents I .. N-1): gates without influencer i's action row,
                # plus the row of every value of that action.
                all_rows = (torch.arange(ni) * a)[:, None] + torch.arange(a)  # (I, A)
                cf_rows = AgentLSTM.rows(table, all_rows.expand(n, -1, -1))[ni:]
                scale = AgentLSTM.gate_scale(spec.lstm_size)
                partial = (gates[ni:].unsqueeze(2) - rows[ni:]) * scale  # (J, B, I, 4H)
                cf_gates = partial.unsqueeze(3) + (cf_rows * scale).unsqueeze(1)  # (J,B,I,A,4H)
                cf_h = self.lstm.counterfactual_cell(cf_gates, state["c"][ni:, :, None, None])
                cf = self.policy_head(cf_h, slice(ni, n)).transpose(0, 1)  # (B, J, I, A, A)
        else:
            gates = base
            if spec.setting == "comm":
                if messages is None:
                    raise ShapeError(
                        "setting 'comm' needs messages=obs['messages'] of shape (B, N)"
                    )
                index = self._policy_onehot_index(None, messages)
                assert index is not None
                idx, _ = index
                table = self.lstm.gate_table()
                rows = AgentLSTM.rows(table, idx)  # (N, B, N, 4H)
                gates = base + rows.sum(2)
            h, c = self.lstm.cell(gates, state["c"])
            logits, values, out_msg_logits, out_msg_values = self._heads(h)
            actions = sample(logits)
            if spec.setting == "comm" and out_msg_logits is not None:
                out_msgs = sample(out_msg_logits)
                if counterfactuals:
                    m, m1 = spec.num_symbols, spec.num_symbols + 1
                    slot_rows = torch.arange(1, n)[:, None] * m1 + torch.arange(m)  # (N-1, M)
                    cf_rows = AgentLSTM.rows(table, slot_rows.unsqueeze(0).expand(n, -1, -1))
                    scale = AgentLSTM.gate_scale(spec.lstm_size)
                    partial = (gates.unsqueeze(2) - rows[:, :, 1:]) * scale  # (N, B, N-1, 4H)
                    cf_gates = partial.unsqueeze(3) + (cf_rows * scale).unsqueeze(1)
                    cf_h = self.lstm.counterfactual_cell(cf_gates, state["c"][:, :, None, None])
                    cf = self.policy_head(cf_h).transpose(0, 1)  # (B, N, N-1, M, A)
            if spec.setting == "moa":
                assert self.moa_lstm is not None
                assert self.moa_head is not None
                assert moa_feat is not None
                moa_base = self.moa_lstm.input_gates(moa_feat) + self.moa_lstm.recurrent_gates(
                    state["moa_h"]
                )
                ego_actions = actions[self.ego]  # (N, N slots, B)
                m_idx = ego_actions.permute(0, 2, 1) + torch.arange(n) * a  # (N, B, N)
                m_table = self.moa_lstm.gate_table()
                m_rows = AgentLSTM.rows(m_table, m_idx)
                m_gates = moa_base + m_rows.sum(2)
                mh, mc = self.moa_lstm.cell(m_gates, state["moa_c"])
                moa_logits = self.moa_head(mh).reshape(n, b, n - 1, a).transpose(0, 1)
                new_state["moa_h"], new_state["moa_c"] = mh, mc
                if counterfactuals:
                    own_rows = AgentLSTM.rows(m_table, torch.arange(a).expand(n, -1))  # (N, A, 4H)
                    scale = AgentLSTM.gate_scale(spec.lstm_size)
                    partial = (m_gates - m_rows[:, :, 0]) * scale  # (N, B, 4H)
                    cf_gates = partial.unsqueeze(2) + (own_rows * scale).unsqueeze(1)  # (N,B,A,4H)
                    cf_h = self.moa_lstm.counterfactual_cell(cf_gates, state["moa_c"].unsqueeze(2))
                    cf = self.moa_head(cf_h).reshape(n, b, a, n - 1, a).transpose(0, 1)
        new_state["h"], new_state["c"] = h, c
        return ActOutput(
            actions=actions.T.contiguous(),
            logits=logits.transpose(0, 1),
            values=values.T,
            state=new_state,
            messages=None if out_msgs is None else out_msgs.T.contiguous(),
            message_logits=None if out_msg_logits is None else out_msg_logits.transpose(0, 1),
            message_values=None if out_msg_values is None else out_msg_values.T,
            moa_logits=moa_logits,
            cf_logits=cf,
        )

    # ------------------------------------------------------------------ training pass
    def forward_sequence(
        self,
        view: Tensor,
        starts: Tensor,
        state: dict[str, Tensor],
        *,
        actions: Tensor | None = None,
        messages: Tensor | None = None,
    ) -> SequenceOutput:
        """Recompute policy, value, message and MOA outputs over a fragment (with gradients).

        Parameters
        ----------
        view : tensor of shape (T, B, N, S, S, C)
        starts : bool tensor of shape (T, B)
            True where a new episode starts (the recurrent state is zeroed before that step).
        state : dict of tensors of shape (N, B, H)
            Recurrent state at the start of the fragment.
        actions : int64 tensor of shape (T, B, N), optional
            Actions taken (needed by settings "basic" and "moa").
        messages : int64 tensor of shape (T, B, N), optional
            ``obs["messages"]`` at each step, i.e. the previous messages (setting "comm").

        Returns
        -------
        SequenceOutput
            logits (T, B, N, A), values (T, B, N), message logits (T, B, N, M) and values,
            MOA logits (T, B, N, N-1, A): the prediction, made at t, of the others' actions at
            t+1; and the recurrent state after the last step.
        """
        spec = self.spec
        n, a = spec.num_agents, spec.num_actions
        if view.ndim != 6 or view.shape[2] != n:
            raise ShapeError(
                f"view: expected a tensor of shape (T, B, N={n}, S, S, C); got {describe(view)}"
            )
        t_len, b = view.shape[:2]
        flat = view.permute(2, 0, 1, 3, 4, 5).reshape(n, t_len * b, *view.shape[3:])
        pol_feat, moa_feat = self.encode(flat)
        gx = self.lstm.input_gates(pol_feat)
        flat_actions = None if actions is None else actions.reshape(t_len * b, n)
        flat_messages = None if messages is None else messages.reshape(t_len * b, n)
        index = self._policy_onehot_index(flat_actions, flat_messages)
        if index is not None:
            idx, active = index
            weights = None if spec.setting != "basic" else active
            gx = gx + AgentLSTM.rows_sum(self.lstm.gate_table(), idx, weights)
        gx = gx.reshape(n, t_len, b, -1)
        mgx = None
        if self.moa_lstm is not None and moa_feat is not None:
            if flat_actions is None:
                raise ShapeError("setting 'moa' needs the actions taken, of shape (T, B, N)")
            ego_actions = flat_actions.T[self.ego].permute(0, 2, 1) + torch.arange(n) * a
            mgx = self.moa_lstm.input_gates(moa_feat) + AgentLSTM.rows_sum(
                self.moa_lstm.gate_table(), ego_actions
            )
            mgx = mgx.reshape(n, t_len, b, -1)
        keep = (~starts.bool()).to(torch.float32).reshape(t_len, 1, b, 1).unbind(0)
        # unbind (not gx[:, t]): its backward is one stack, not T full-size zero fills.
        gx_steps = gx.unbind(1)
        mgx_steps = mgx.unbind(1) if mgx is not None else None
        h, c = state["h"], state["c"]
        mh = state.get("moa_h")
        mc = state.get("moa_c")
        hs, mhs = [], []
        for t in range(t_len):
            h, c = h * keep[t], c * keep[t]
            h, c = self.lstm.cell(gx_steps[t] + self.lstm.recurrent_gates(h), c)
            hs.append(h)
            if mgx_steps is not None and self.moa_lstm is not None:
                assert mh is not None
                assert mc is not None
                mh, mc = mh * keep[t], mc * keep[t]
                mh, mc = self.moa_lstm.cell(mgx_steps[t] + self.moa_lstm.recurrent_gates(mh), mc)
                mhs.append(mh)
        final = {"h": h, "c": c}
        if mh is not None and mc is not None:
            final["moa_h"], final["moa_c"] = mh, mc
        hidden = torch.stack(hs, 1)  # (N, T, B, H)
        logits, values, msg_logits, msg_values = self._heads(hidden)
        moa_logits = None
        if mhs and self.moa_head is not None:
            moa_logits = self.moa_head(torch.stack(mhs, 1)).reshape(n, t_len, b, n - 1, a)
            moa_logits = moa_logits.permute(1, 2, 0, 3, 4)
        return SequenceOutput(
            logits=logits.permute(1, 2, 0, 3),
            values=values.permute(1, 2, 0),
            message_logits=None if msg_logits is None else msg_logits.permute(1, 2, 0, 3),
            message_values=None if msg_values is None else msg_values.permute(1, 2, 0),
            moa_logits=moa_logits,
            final_state=final,
        )
