# Long (about 740 lines): the network's spec, its outputs and one class, MultiAgentNet (about
# 480 lines), whose act and sequence passes for the three settings share each setting's
# counterfactual code; the per-agent layers it is built from live in agents.layers.
"""Batched actor-critic networks with one set of weights per agent.

All N agents' networks live in ONE module. Every parameter carries a leading *group* axis of
size G: ``G = N`` gives independent weights per agent (the paper's setting), ``G = 1`` shares
one set of weights between all agents. Agents are evaluated together with batched matrix
products (``torch.bmm``) and grouped convolutions (the per-agent layers of
:mod:`agents.layers`), so neither acting nor training loops over agents in Python. Inside the
module tensors are *agent-major*, ``(N, L, ...)`` with L a flattened batch; the public methods
take and return the project's time-major layout ``(T, B, N, ...)``.

Architecture (defaults from Jaques et al. 2019, docs/envs.md section "Agents trained on these
games", every size configurable):

- shared convolution: ``conv_filters`` filters of ``conv_kernel`` x ``conv_kernel``, stride 1,
  valid padding, ReLU; input is the egocentric view ``(S, S, C)`` (RGB scaled by 1/255, or the
  symbolic one-hot channels), or a view of cell codes ``(S, S, 1)`` (``obs_type="codes"``) that
  the network turns into the symbolic channels itself by looking each code up in
  ``NetSpec.code_table`` (an embedding with fixed 0/1 rows: the same input, hence the same
  outputs, as the symbolic view);
- policy branch: fully connected layers ``fc_hiddens`` (tanh) -> LSTM with ``lstm_size`` cells ->
  policy logits (A) and value (1); as in the reference, every logits layer (policy, message,
  MOA) starts Glorot-uniform and every value layer with columns of norm 0.01;
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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agents.layers import AgentConv2d, AgentLinear, AgentLSTM, make_generator
from causal_influence.errors import ConfigError, ShapeError, describe

__all__ = [
    "SETTINGS",
    "ActOutput",
    "MultiAgentNet",
    "NetSpec",
    "SequenceOutput",
    "egocentric_order",
]

Setting = Literal["none", "basic", "comm", "moa"]
SETTINGS: tuple[str, ...] = ("none", "basic", "comm", "moa")


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
    code_table : tuple of tuple of int, optional
        For views of cell codes (``view_shape = (S, S, 1)``, ``obs_type="codes"``): row
        ``code`` is the channel vector of that code (``envs.code_table``); the convolution then
        reads ``C = len(code_table[0])`` channels. None for views that hold their channels.
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
    code_table: tuple[tuple[int, ...], ...] | None = None

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
        if self.code_table is not None:
            widths = {len(row) for row in self.code_table}
            if self.view_shape[2] != 1 or len(widths) != 1 or 0 in widths:
                raise ConfigError(
                    f"code_table: expected rows of one positive width (channels per code) for "
                    f"a view of codes of shape (S, S, 1); got {len(self.code_table)} rows of "
                    f"widths {sorted(widths)} and view_shape {self.view_shape}"
                )

    @property
    def in_channels(self) -> int:
        """C, the channels the convolution reads (the code table's width for code views)."""
        if self.code_table is not None:
            return len(self.code_table[0])
        return self.view_shape[2]

    @property
    def groups(self) -> int:
        """G, the number of weight sets: 1 with shared weights, else N."""
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
        s = spec.view_shape[0]
        self.conv = AgentConv2d(
            g, spec.in_channels, spec.conv_filters, spec.conv_kernel, generator=gen
        )
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
        # As the reference: logits layers at the Glorot scale (column norm ~1.35 for 128 cells),
        # value layers at column norm 0.01. A 0.01 logits layer makes every fresh policy almost
        # uniform and the influence between fresh agents ~1e-8 nats, too small to learn from.
        self.policy_head = AgentLinear(g, hidden, a, init="glorot", generator=gen)
        self.value_head = AgentLinear(g, hidden, 1, std=0.01, generator=gen)
        self.message_head: AgentLinear | None = None
        self.message_value_head: AgentLinear | None = None
        if spec.setting == "comm":
            self.message_head = AgentLinear(
                g, hidden, spec.num_symbols, init="glorot", generator=gen
            )
            self.message_value_head = AgentLinear(g, hidden, 1, std=0.01, generator=gen)
        self.moa_fc: nn.ModuleList | None = None
        self.moa_lstm: AgentLSTM | None = None
        self.moa_head: AgentLinear | None = None
        if spec.setting == "moa":
            self.moa_fc = self._fc_stack(g, conv_out, spec.fc_hiddens, gen)
            self.moa_lstm = AgentLSTM(g, feat, hidden, onehot_rows=n * a, generator=gen)
            self.moa_head = AgentLinear(g, hidden, (n - 1) * a, init="glorot", generator=gen)
        self._scratch: Tensor | None = None
        ego = torch.as_tensor(egocentric_order(n))
        self.register_buffer("ego", ego, persistent=False)
        self.ego: Tensor
        table = None
        if spec.code_table is not None:
            table = torch.as_tensor(spec.code_table, dtype=torch.float32) * spec.obs_scale
        self.register_buffer("codes", table, persistent=False)
        self.codes: Tensor | None

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
        """Views (N, L, S, S, C) uint8/float -> policy features (N, L, F), MOA features or None.

        Views of cell codes (N, L, S, S, 1) are looked up in the code table first.
        """
        if self.codes is not None:
            x = F.embedding(view[..., 0].long(), self.codes).permute(0, 1, 4, 2, 3)
        else:
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
        n = self.spec.num_agents
        if view.ndim != 5 or view.shape[1] != n:
            raise ShapeError(
                f"view: expected a tensor of shape (B, N={n}, S, S, C); got {describe(view)}"
            )
        pol_feat, moa_feat = self.encode(self._to_agent_major(view))
        base = self.lstm.input_gates(pol_feat) + self.lstm.recurrent_gates(state["h"])
        sample = _sampler(greedy=greedy, generator=generator)
        if self.spec.setting == "basic":
            step = self._act_basic(base, state["c"], sample, counterfactuals)
        else:
            step = self._act_policy(base, state["c"], messages, sample, counterfactuals)
        new_state: dict[str, Tensor] = {}
        if self.spec.setting == "moa":
            assert moa_feat is not None
            step.moa_logits, step.cf, mh, mc = self._act_moa(
                moa_feat, state, step.actions, counterfactuals
            )
            new_state["moa_h"], new_state["moa_c"] = mh, mc
        new_state["h"], new_state["c"] = step.h, step.c
        return ActOutput(
            actions=step.actions.T.contiguous(),
            logits=step.logits.transpose(0, 1),
            values=step.values.T,
            state=new_state,
            messages=None if step.messages is None else step.messages.T.contiguous(),
            message_logits=None
            if step.message_logits is None
            else step.message_logits.transpose(0, 1),
            message_values=None if step.message_values is None else step.message_values.T,
            moa_logits=step.moa_logits,
            cf_logits=step.cf,
        )

    def _act_basic(
        self, base: Tensor, c: Tensor, sample: Callable[[Tensor], Tensor], counterfactuals: bool
    ) -> _Step:
        """Setting "basic": influencers act first, influencees see their current actions."""
        spec = self.spec
        n, a, ni = spec.num_agents, spec.num_actions, spec.num_influencers
        # Influencers act first: their LSTM input has no one-hot part.
        h0, _ = self.lstm.cell(base, c)
        infl_actions = sample(self.policy_head(h0)[:ni])  # (I, B)
        index = self._policy_onehot_index(infl_actions.T, None)
        assert index is not None
        idx, active = index
        table = self.lstm.gate_table()
        rows = AgentLSTM.rows(table, idx) * active.unsqueeze(-1)  # (N, B, I, 4H)
        gates = base + rows.sum(2)
        h, c_new = self.lstm.cell(gates, c)
        logits, values, _, _ = self._heads(h)
        actions = sample(logits)
        actions[:ni] = infl_actions
        step = _Step(h, c_new, logits, values, actions)
        if counterfactuals:
            # Influencees only (agents I .. N-1): gates without influencer i's action row,
            # plus the row of every value of that action.
            all_rows = (torch.arange(ni) * a)[:, None] + torch.arange(a)  # (I, A)
            cf_rows = AgentLSTM.rows(table, all_rows.expand(n, -1, -1))[ni:]
            scale = AgentLSTM.gate_scale(spec.lstm_size)
            partial = (gates[ni:].unsqueeze(2) - rows[ni:]) * scale  # (J, B, I, 4H)
            cf_h = AgentLSTM.sum_cell(  # gates (J, B, I, A, 4H)
                partial.unsqueeze(3), (cf_rows * scale).unsqueeze(1), c[ni:, :, None, None]
            )
            step.cf = self.policy_head.wide_batch(cf_h, slice(ni, n)).transpose(0, 1)
        return step

    def _act_policy(
        self,
        base: Tensor,
        c: Tensor,
        messages: Tensor | None,
        sample: Callable[[Tensor], Tensor],
        counterfactuals: bool,
    ) -> _Step:
        """Settings "none", "comm" and "moa": every agent acts at once (comm: and speaks)."""
        spec = self.spec
        gates = base
        rows = table = None
        if spec.setting == "comm":
            if messages is None:
                raise ShapeError("setting 'comm' needs messages=obs['messages'] of shape (B, N)")
            index = self._policy_onehot_index(None, messages)
            assert index is not None
            idx, _ = index
            table = self.lstm.gate_table()
            rows = AgentLSTM.rows(table, idx)  # (N, B, N, 4H)
            gates = base + rows.sum(2)
        h, c_new = self.lstm.cell(gates, c)
        logits, values, msg_logits, msg_values = self._heads(h)
        step = _Step(h, c_new, logits, values, sample(logits), None, msg_logits, msg_values)
        if spec.setting == "comm" and msg_logits is not None:
            step.messages = sample(msg_logits)
            if counterfactuals:
                assert rows is not None
                assert table is not None
                step.cf = self._message_counterfactuals(gates, rows, table, c)
        return step

    def _work_buffer(self, shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
        """A scratch tensor for counterfactual gates, kept between acting steps.

        The gates of a step's counterfactuals are several MB that nothing reads after the step
        (the cell works in place and returns the hidden state as a view, which the head reads
        at once). Reusing one buffer spares an allocation of that size (and its page faults)
        at every step.
        """
        buf = self._scratch
        if buf is None or tuple(buf.shape) != shape or buf.dtype != dtype:
            buf = torch.empty(shape, dtype=dtype)
            self._scratch = buf
        return buf

    def _message_counterfactuals(
        self, gates: Tensor, rows: Tensor, table: Tensor, c: Tensor
    ) -> Tensor:
        """Listeners' logits under every symbol of each other agent's previous message.

        Returns a tensor of shape (B, N, N-1, M, A) (see :class:`ActOutput`).
        """
        spec = self.spec
        n, m, m1 = spec.num_agents, spec.num_symbols, spec.num_symbols + 1
        b, hidden = gates.shape[1], spec.lstm_size
        slot_rows = torch.arange(1, n)[:, None] * m1 + torch.arange(m)  # (N-1, M)
        cf_rows = AgentLSTM.rows(table, slot_rows.unsqueeze(0).expand(n, -1, -1))
        scale = AgentLSTM.gate_scale(hidden)
        partial = (gates.unsqueeze(2) - rows[:, :, 1:]) * scale  # (N, B, N-1, 4H)
        cf_h = AgentLSTM.sum_cell(  # gates (N, B, N-1, M, 4H), worked in a kept buffer
            partial.unsqueeze(3),
            (cf_rows * scale).unsqueeze(1),
            c[:, :, None, None],
            out=self._work_buffer((4, n, b, n - 1, m, hidden), gates.dtype),
        )
        return self.policy_head.wide_batch(cf_h).transpose(0, 1)  # (B, N, N-1, M, A)

    def _act_moa(
        self, moa_feat: Tensor, state: dict[str, Tensor], actions: Tensor, counterfactuals: bool
    ) -> tuple[Tensor, Tensor | None, Tensor, Tensor]:
        """Setting "moa": predictions of the others' next actions, and under each own action.

        ``actions`` (N, B) are this step's actions. Returns the MOA logits (B, N, N-1, A), the
        counterfactual predictions (B, N, A, N-1, A) or None, and the new MOA state (h, c).
        """
        assert self.moa_lstm is not None
        assert self.moa_head is not None
        n, a = self.spec.num_agents, self.spec.num_actions
        b = actions.shape[1]
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
        cf = None
        if counterfactuals:
            own_rows = AgentLSTM.rows(m_table, torch.arange(a).expand(n, -1))  # (N, A, 4H)
            scale = AgentLSTM.gate_scale(self.spec.lstm_size)
            partial = (m_gates - m_rows[:, :, 0]) * scale  # (N, B, 4H)
            cf_h = AgentLSTM.sum_cell(  # gates (N, B, A, 4H)
                partial.unsqueeze(2), (own_rows * scale).unsqueeze(1), state["moa_c"].unsqueeze(2)
            )
            cf = self.moa_head.wide_batch(cf_h).reshape(n, b, a, n - 1, a).transpose(0, 1)
        return moa_logits, cf, mh, mc

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
        n, a = self.spec.num_agents, self.spec.num_actions
        if view.ndim != 6 or view.shape[2] != n:
            raise ShapeError(
                f"view: expected a tensor of shape (T, B, N={n}, S, S, C); got {describe(view)}"
            )
        t_len, b = view.shape[:2]
        gx, mgx = self._sequence_input_gates(view, actions, messages)
        keep = (~starts.bool()).to(torch.float32).reshape(t_len, 1, b, 1).unbind(0)
        hidden, moa_hidden, final = self._unroll(gx, mgx, keep, state)
        logits, values, msg_logits, msg_values = self._heads(hidden)
        moa_logits = None
        if moa_hidden is not None and self.moa_head is not None:
            moa_logits = self.moa_head(moa_hidden).reshape(n, t_len, b, n - 1, a)
            moa_logits = moa_logits.permute(1, 2, 0, 3, 4)
        return SequenceOutput(
            logits=logits.permute(1, 2, 0, 3),
            values=values.permute(1, 2, 0),
            message_logits=None if msg_logits is None else msg_logits.permute(1, 2, 0, 3),
            message_values=None if msg_values is None else msg_values.permute(1, 2, 0),
            moa_logits=moa_logits,
            final_state=final,
        )

    def _sequence_input_gates(
        self, view: Tensor, actions: Tensor | None, messages: Tensor | None
    ) -> tuple[Tensor, Tensor | None]:
        """Every non-recurrent gate input of a fragment, for all steps at once.

        Returns the policy LSTM's (N, T, B, 4H) and the MOA LSTM's (or None).
        """
        spec = self.spec
        n, a = spec.num_agents, spec.num_actions
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
        return gx, mgx

    def _unroll(
        self,
        gx: Tensor,
        mgx: Tensor | None,
        keep: Sequence[Tensor],
        state: dict[str, Tensor],
    ) -> tuple[Tensor, Tensor | None, dict[str, Tensor]]:
        """Run the LSTMs step by step, zeroing the state where ``keep[t]`` is 0.

        Returns the policy hidden states (N, T, B, H), the MOA ones (or None) and the final
        state.
        """
        # unbind (not gx[:, t]): its backward is one stack, not T full-size zero fills.
        gx_steps = gx.unbind(1)
        mgx_steps = mgx.unbind(1) if mgx is not None else None
        h, c = state["h"], state["c"]
        mh = state.get("moa_h")
        mc = state.get("moa_c")
        hs, mhs = [], []
        for t in range(len(gx_steps)):
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
        return torch.stack(hs, 1), (torch.stack(mhs, 1) if mhs else None), final


@dataclass
class _Step:
    """One acting step of the policy LSTM, agent-major: (N, B, ...) tensors."""

    h: Tensor
    c: Tensor
    logits: Tensor
    values: Tensor
    actions: Tensor
    messages: Tensor | None = None
    message_logits: Tensor | None = None
    message_values: Tensor | None = None
    moa_logits: Tensor | None = None
    cf: Tensor | None = None


def _sampler(*, greedy: bool, generator: torch.Generator | None) -> Callable[[Tensor], Tensor]:
    """Samples (or, greedy, the most likely values) of categorical logits (..., K) -> (...)."""

    def sample(logits: Tensor) -> Tensor:
        if greedy:
            return logits.argmax(-1)
        probs = torch.softmax(logits, dim=-1)
        flat = torch.multinomial(probs.reshape(-1, probs.shape[-1]), 1, generator=generator)
        return flat.reshape(probs.shape[:-1])

    return sample
