"""Layers with one set of weights per agent (or one shared set), evaluated for all agents at once.

Every parameter carries a leading *group* axis of size G: ``G = N`` gives independent weights
per agent, ``G = 1`` shares one set between all agents. Inputs are *agent-major*,
``(N, L, ...)`` with L a flattened batch; agents are evaluated together with batched matrix
products (``torch.bmm``) and grouped convolutions, never in a Python loop over agents.
:class:`AgentLSTM` splits its gates so that shared work is done once and one-hot inputs
(actions, messages) are table look-ups, which makes counterfactual inputs cheap
(:class:`agents.networks.MultiAgentNet` builds on this).

Examples
--------
>>> import torch
>>> from agents.layers import AgentLinear, make_generator
>>> layer = AgentLinear(3, 4, 2, generator=make_generator(0))  # 3 agents, 4 -> 2
>>> tuple(layer(torch.zeros(3, 10, 4)).shape)
(3, 10, 2)
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from causal_influence.errors import ConfigError, ShapeError, describe

__all__ = ["AgentConv2d", "AgentLSTM", "AgentLinear", "make_generator"]

# Largest |x| for which exp(x) and exp(-x) are finite and normal, with margin, per dtype
# (AgentLSTM.gate_major_sum_cell).
_FACTOR_LIMIT = {torch.float32: 80.0, torch.float64: 700.0}


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
    init : {"normc", "glorot"}
        ``"normc"``: Gaussian columns of norm ``std``. ``"glorot"``: Glorot (Xavier) uniform
        on ``[-l, l]``, ``l = sqrt(6 / (in_features + out_features))``, the default of a Keras
        ``Dense`` layer, which the reference uses for its logits layers (``std`` is then
        unused).
    generator : torch.Generator
        Source of the initial weights.

    Examples
    --------
    >>> layer = AgentLinear(2, 3, 4, generator=make_generator(0))
    >>> tuple(layer(torch.ones(2, 5, 3)).shape)
    (2, 5, 4)
    >>> glorot = AgentLinear(1, 128, 8, init="glorot", generator=make_generator(0))
    >>> round(glorot.weight.abs().max().item(), 3)  # below sqrt(6 / 136) = 0.21
    0.21
    """

    def __init__(
        self,
        groups: int,
        in_features: int,
        out_features: int,
        *,
        std: float = 1.0,
        init: str = "normc",
        generator: torch.Generator,
    ) -> None:
        super().__init__()
        self.groups = groups
        shape = (groups, in_features, out_features)
        if init == "glorot":
            weight = _uniform(shape, math.sqrt(6.0 / (in_features + out_features)), generator)
        elif init == "normc":
            weight = _normc(shape, std, generator, 1)
        else:
            raise ConfigError(f"AgentLinear: init: expected 'normc' or 'glorot'; got {init!r}")
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(torch.zeros(groups, out_features))

    def _operands(self, x: Tensor, agents: slice | None) -> tuple[Tensor, Tensor, Tensor]:
        """The weights and biases of the agents in ``x`` (all, or ``agents``) and ``x`` as
        (N, rows, in)."""
        weight: Tensor = self.weight
        bias: Tensor = self.bias
        if agents is not None and self.groups > 1:
            weight, bias = weight[agents], bias[agents]
        _check_agents(x, weight.shape[0], "AgentLinear input")
        return weight, bias, x.reshape(x.shape[0], -1, x.shape[-1])

    def forward(self, x: Tensor, agents: slice | None = None) -> Tensor:
        """x: tensor of shape (N, ..., in) -> tensor of shape (N, ..., out).

        ``agents`` selects the agents whose weights apply when ``x`` holds only some agents.
        """
        weight, bias, flat = self._operands(x, agents)
        lead = x.shape[:-1]
        if weight.shape[0] == 1:
            out = flat @ weight[0] + bias[0]
        else:
            out = torch.baddbmm(bias.unsqueeze(1), flat, weight)
        return out.reshape(*lead, weight.shape[-1])

    def wide_batch(self, x: Tensor, agents: slice | None = None) -> Tensor:
        """:meth:`forward` for a large batch and few outputs (counterfactual heads).

        Computed as ``(W^T x^T)^T``: a batched product whose output is wide (the batch)
        instead of narrow (the actions), several times faster on CPU for a few outputs. Equal
        to :meth:`forward` up to float rounding.
        """
        weight, bias, flat = self._operands(x, agents)
        lead = x.shape[:-1]
        out = torch.matmul(weight.transpose(1, 2), flat.transpose(1, 2)).transpose(1, 2)
        return (out + bias.unsqueeze(1)).reshape(*lead, weight.shape[-1])


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
        """x: tensor of shape (N, L, C, H, W) -> tensor of shape (N, L, F, H-k+1, W-k+1)."""
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
    def _gate_major_hidden(s: Tensor, c: Tensor) -> Tensor:
        """In place: gate-major sigmoids ``s`` (4, ..., H) and cell ``c`` -> hidden state.

        With the gate axis first every gate is a contiguous block, so each element-wise step
        runs over contiguous memory and the returned hidden state (..., H), a view into ``s``,
        is contiguous (the head reads it without a copy). The fewest passes:
        ``2c' = 2fc + 4ig - 2i`` (the g gate holds sigmoid(2g), so its tanh is ``2g - 1``),
        ``tanh(c') = 2 sigmoid(2c') - 1`` and the product with o.
        """
        i, f, g, o = s.unbind(0)
        f.mul_(2.0 * c).addcmul_(i, g, value=4.0).sub_(i, alpha=2.0)  # 2 c'
        f.sigmoid_().mul_(2.0).sub_(1.0)  # tanh(c')
        return o.mul_(f)

    @staticmethod
    def gate_major_sum_cell(a: Tensor, b: Tensor, c: Tensor, out: Tensor) -> Tensor:
        """Hidden output of :meth:`cell` for prescaled gate-major gates ``a + b``, no autograd.

        ``a`` and ``b`` are (4, ..., H) and broadcast to ``out``, whose memory holds the work.

        The counterfactual gates are a broadcast sum of two small summands (the gates without
        the counterfactual variable, and that variable's row for each of its values), and the
        sigmoid of the sum factorises:
        ``sigmoid(a + b) = 1 / (1 + exp(-a) exp(-b))``. The exponentials are taken on the
        summands only (a fraction of the elements), so the large tensor gets a multiply-add and
        a reciprocal instead of an exponential; this is most of what the counterfactual cells
        cost. Each factor stays finite and non-zero while ``|a|, |b| <= 80`` in float32 (700 in
        float64), and then the product can only overflow to inf or underflow to 0, where the
        sigmoid is 0 or 1 in that precision anyway. Summands outside those bounds (or not
        finite, or of another dtype) take the plain path: the sum, then one sigmoid. The two
        paths agree up to a few units of float rounding. ``out`` is overwritten; the returned
        hidden state (..., H) is a view into it.
        """
        limit = _FACTOR_LIMIT.get(out.dtype)
        if (
            limit is None
            or out.numel() == 0
            or not bool(a.abs().amax() <= limit and b.abs().amax() <= limit)
        ):
            return AgentLSTM._gate_major_hidden(torch.add(a, b, out=out).sigmoid_(), c)
        one = torch.ones((), dtype=out.dtype)
        torch.addcmul(one, torch.neg(a).exp_(), torch.neg(b).exp_(), out=out)
        return AgentLSTM._gate_major_hidden(out.reciprocal_(), c)

    @staticmethod
    def sum_cell(a: Tensor, b: Tensor, c: Tensor, out: Tensor | None = None) -> Tensor:
        """Hidden output of :meth:`cell` for prescaled gates ``a + b`` (..., 4H), broadcast.

        For counterfactual batches, which are such sums: without autograd it works in the
        gate-major ``out`` (4, ..., H) (allocated when None) through
        :meth:`gate_major_sum_cell`; with autograd it computes ``cell(a + b, c)``.
        Returns h of shape (..., H).
        """
        if torch.is_grad_enabled() and (a.requires_grad or b.requires_grad or c.requires_grad):
            return AgentLSTM.cell(a + b, c, prescaled=True)[0]
        shape = torch.broadcast_shapes(a.shape, b.shape)
        hidden = shape[-1] // 4
        if out is None:
            out = torch.empty((4, *shape[:-1], hidden), dtype=torch.result_type(a, b))
        gm = AgentLSTM.gate_major
        return AgentLSTM.gate_major_sum_cell(gm(a), gm(b), c, out)

    @staticmethod
    def gate_major(x: Tensor) -> Tensor:
        """(..., 4H) -> (4, ..., H) view with the gate axis first."""
        hidden = x.shape[-1] // 4
        return x.unflatten(-1, (4, hidden)).movedim(-2, 0)

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
