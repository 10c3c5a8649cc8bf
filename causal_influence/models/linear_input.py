"""A recurrent policy whose influencer input enters its cell through a linear map.

Most recurrent policies and models of other agents feed the agents' actions or messages (one-hot)
into an LSTM, GRU or plain RNN cell together with the observation features. The cell's first
operation on its input is a linear map, so replacing influencer k's value by c changes the
pre-activation by one column of that map minus the column of the real value, and nothing else
before the non-linearity. :class:`LinearInputModel` takes the user's torch cell and reads its
weights: it computes the real pre-activations of every row once (the dense input part batched
over all rows; the recurrent part along time, batched over environments and streams) and
evaluates each counterfactual as that pre-activation plus a column difference, the cell's
non-linearity from the real incoming state, and the head. No network pass is repeated per
counterfactual: the cost is a few forward passes, as in :mod:`agents.networks`, but for any
policy built on ``torch.nn.LSTMCell``, ``GRUCell``, ``RNNCell`` or a one-layer ``LSTM``,
``GRU`` or ``RNN``.

The results equal those of :class:`~causal_influence.models.RecurrentTorchModel` on the
same network (up to float rounding: the sums are ordered differently);
``tests/core/test_linear_input.py`` checks it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from causal_influence._backend import is_torch
from causal_influence.errors import ConfigError, DTypeError, ModelError, ShapeError, describe
from causal_influence.models.recurrent import State, _repeat_state, _reset_state, _states_iv
from causal_influence.models.torch_base import (
    Features,
    Outputs,
    TorchBase,
    fold_tree,
    forwarded,
    leaves,
)
from causal_influence.validation import as_agent_indices

if TYPE_CHECKING:
    from collections.abc import Sequence

    import torch

__all__ = ["CELL_KINDS", "LinearInputModel", "cell_weights"]

#: Cells whose weights :func:`cell_weights` reads: (torch class name, kind).
CELL_KINDS: dict[str, str] = {
    "LSTMCell": "lstm",
    "LSTM": "lstm",
    "GRUCell": "gru",
    "GRU": "gru",
    "RNNCell": "rnn",
    "RNN": "rnn",
}


class CellWeights(NamedTuple):
    """The weights of a recurrent cell, in the layout of ``torch.nn`` (gates stacked)."""

    kind: str  # "lstm", "gru" or "rnn"
    w_ih: Any  # (G, input_size)
    w_hh: Any  # (G, H)
    b_ih: Any  # (G,) or None
    b_hh: Any  # (G,) or None
    hidden: int  # H
    nonlinearity: str  # "tanh" or "relu" (RNN); "tanh" otherwise


def cell_weights(cell: Any) -> CellWeights:
    """The weights of a torch recurrent cell, or of a one-layer unidirectional recurrent layer.

    Parameters
    ----------
    cell : torch.nn.LSTMCell, GRUCell, RNNCell, or LSTM, GRU, RNN with one layer

    Returns
    -------
    CellWeights
        ``kind`` (``"lstm"``, ``"gru"``, ``"rnn"``), ``w_ih`` (G, input_size), ``w_hh`` (G, H),
        biases (G,) or None, ``hidden`` H and the RNN's ``nonlinearity``.

    Raises
    ------
    ConfigError
        For another module, several layers, a bidirectional layer or an LSTM projection.

    Examples
    --------
    >>> import torch
    >>> w = cell_weights(torch.nn.GRUCell(6, 4))
    >>> w.kind, tuple(w.w_ih.shape), tuple(w.w_hh.shape)
    ('gru', (12, 6), (12, 4))
    """
    name = type(cell).__name__
    if name not in CELL_KINDS:
        raise ConfigError(
            f"cell: expected a torch.nn LSTMCell, GRUCell, RNNCell or a one-layer LSTM, GRU or "
            f"RNN, whose input enters through a linear map; got {describe(cell)}; use "
            f"RecurrentTorchModel for other networks"
        )
    kind = CELL_KINDS[name]
    if name.endswith("Cell"):
        w_ih, w_hh, b_ih, b_hh = cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh
    else:
        if cell.num_layers != 1 or cell.bidirectional or getattr(cell, "proj_size", 0):
            raise ConfigError(
                f"cell: expected one unidirectional layer without projection; got "
                f"num_layers={cell.num_layers}, bidirectional={cell.bidirectional}, "
                f"proj_size={getattr(cell, 'proj_size', 0)}"
            )
        w_ih, w_hh = cell.weight_ih_l0, cell.weight_hh_l0
        b_ih = getattr(cell, "bias_ih_l0", None)
        b_hh = getattr(cell, "bias_hh_l0", None)
    return CellWeights(
        kind,
        w_ih,
        w_hh,
        b_ih,
        b_hh,
        int(cell.hidden_size),
        getattr(cell, "nonlinearity", "tanh"),
    )


class LinearInputModel(TorchBase):
    """A recurrent policy or MOA whose influencer input enters its cell through a linear map.

    The network is ``logits, state' = head(h'), cell(x, state)`` with the cell input
    ``x = [features, one-hot value of the agent in slot 0, ..., of the agent in slot N-1]``
    (slots in ``input_order``). Counterfactuals are evaluated from the columns of the cell's
    input weights (module docstring), from the real incoming state of every row, exactly as
    :class:`~causal_influence.models.RecurrentTorchModel` would with the whole step re-run.

    Parameters
    ----------
    cell : torch.nn.LSTMCell, GRUCell, RNNCell, or a one-layer LSTM, GRU or RNN
        Its input size must be F + N * D (features, then N one-hot blocks of width D).
    head : callable
        ``head(h) -> logits`` of shape (B, N, A) (``outputs="all"``) or (B, N-1, A); with
        ``pass_agent=True`` ``head(h, agents)``, ``agents`` (B,) the influencer of each row.
        ``h`` is the cell's new hidden state (B, H).
    features : tensor or None
        The dense part of the cell input, leading shape (T,) (or (T, N) with
        ``per_influencer=True``), or with an environment axis (T, B) / (T, B, N); last axis F.
        None when the cell reads only the agents' values. With ``encoder`` these are the raw
        observations passed to it.
    inputs : tensor of shape (T, N) int or (T, N, D) float, or with an environment axis
        As in :class:`~causal_influence.models.TorchModel`: the values as the cell saw them.
    prior_logits : tensor of shape (T, N, K) or (T, B, N, K)
        Each agent's policy over its value (the marginal weights); a 4-d tensor declares the
        environment axis B.
    initial_state : tensor or tuple of tensors
        ``(h, c)`` for an LSTM, ``h`` otherwise, each of shape (S, H): S = N with
        ``per_influencer=True`` (one stream per agent's model), else 1.
    values, encoder, outputs, pass_agent, grad, max_batch, input_width
        As in :class:`~causal_influence.models.TorchModel`.
    states : tensor or tuple of tensors, optional
        Recorded incoming states of every row, leading shape (T, S) or (T, B, S); the real
        sequence is then not re-run.
    input_order : int tensor of shape (S, N) or (N,), optional
        ``input_order[s, p]``: the agent whose value fills slot p of stream s's cell input
        (default: agent p). A model of other agents that puts its own agent first passes
        ``[[k, the others in index order] for each k]``.
    per_influencer, predicts_next_step, episode_starts
        As in :class:`~causal_influence.models.RecurrentTorchModel`.

    Examples
    --------
    A MOA of two agents built on a GRU cell; row t predicts the other's action at t+1. The
    counterfactuals match the generic recurrent adapter on the same network:

    >>> import torch
    >>> from causal_influence.engine import pairwise_influence
    >>> from causal_influence.models import RecurrentTorchModel
    >>> _ = torch.manual_seed(0)
    >>> cell, out = torch.nn.GRUCell(2 * 3, 8), torch.nn.Linear(8, 3)
    >>> actions, prior = torch.randint(0, 3, (6, 2)), torch.zeros(6, 2, 3)
    >>> options = dict(prior_logits=prior, initial_state=torch.zeros(2, 8), per_influencer=True,
    ...                outputs="others", predicts_next_step=True)
    >>> fast = LinearInputModel(cell, lambda h: out(h)[:, None], None, actions, **options)
    >>> def step(features, inputs, state):
    ...     h = cell(inputs.flatten(1), state)
    ...     return out(h)[:, None], h
    >>> plain = RecurrentTorchModel(step, None, actions, **options)
    >>> a = pairwise_influence(fast, alignment="next_step").influence
    >>> b = pairwise_influence(plain, alignment="next_step").influence
    >>> bool(torch.allclose(a, b, atol=1e-6))
    True
    """

    def __init__(
        self,
        cell: Any,
        head: Callable[..., Any],
        features: Features,
        inputs: torch.Tensor,
        *,
        prior_logits: torch.Tensor,
        initial_state: State,
        values: torch.Tensor | None = None,
        states: State | None = None,
        input_order: Any = None,
        encoder: Callable[[Any], Any] | None = None,
        per_influencer: bool = False,
        outputs: Outputs = "all",
        predicts_next_step: bool = False,
        pass_agent: bool = False,
        episode_starts: Any = None,
        grad: bool = False,
        max_batch: int | None = 8192,
        input_width: int | None = None,
    ) -> None:
        one_hot = True
        super().__init__(head, features, inputs, net_name="head", **forwarded(locals()))
        if self._many:
            raise ConfigError(
                "head: LinearInputModel takes one head (and one cell) shared by every stream; "
                "use RecurrentTorchModel for a separate network per agent"
            )
        self._cell = cell_weights(cell)
        self._streams = self._n if self._per_influencer else 1
        _states_iv(initial_state, states, self._steps, self._envs, self._streams)
        self._check_state(initial_state, "initial_state")
        self._initial_state = initial_state
        self._recorded: State | None = fold_tree(states, "states", self._steps, self._envs)
        self._order = self._order_iv(input_order)
        self._real: _Real | None = None

    # --- checks ---------------------------------------------------------------------------
    def _check_state(self, state: State, name: str) -> None:
        parts = 2 if self._cell.kind == "lstm" else 1
        got = leaves(state)
        if len(got) != parts or (parts == 1 and isinstance(state, (tuple, list))):
            expected = "a pair (h, c)" if parts == 2 else "one tensor h"
            raise ShapeError(
                f"{name}: expected {expected} for a {self._cell.kind.upper()} cell; got "
                f"{len(got)} tensor(s)"
            )
        for leaf in got:
            if leaf.shape[-1] != self._cell.hidden:
                raise ShapeError(
                    f"{name}: expected a last axis of the cell's hidden size H = "
                    f"{self._cell.hidden}; got {describe(leaf)}"
                )

    def _order_iv(self, input_order: Any) -> Any:
        torch = self._torch
        n, s = self._n, self._streams
        if input_order is None:
            return torch.arange(n).expand(s, n)
        if not is_torch(input_order) or input_order.is_floating_point():
            raise DTypeError(
                f"input_order: expected an integer tensor of shape (S, N) or (N,); got "
                f"{describe(input_order)}"
            )
        order = input_order.to(torch.long)
        order = order.expand(s, n) if order.ndim == 1 else order
        ok = tuple(order.shape) == (s, n) and bool(
            (order.sort(dim=1).values == torch.arange(n)).all()
        )
        if not ok:
            raise ShapeError(
                f"input_order: expected shape (S, N) = ({s}, {n}) (or (N,)) with each row a "
                f"permutation of the agents 0 .. {n - 1}; got {describe(input_order)}"
            )
        return order

    # --- the real sequence ----------------------------------------------------------------
    def _weights(self) -> tuple[Any, Any, int]:
        """Dense input weights (F, G), the one-hot blocks (S, N, D, G) and F."""
        torch = self._torch
        w = self._cell.w_ih
        d = self._real_inputs().shape[-1]
        f = int(w.shape[1]) - self._n * d
        feats = self.features()
        width = 0 if feats is None else int(leaves(feats)[0].shape[-1])
        if f < 0 or f != width or isinstance(feats, (tuple, list)):
            raise ModelError(
                f"cell: expected an input size of F + N * D = {width} + {self._n} * {d} "
                f"(features, then one one-hot block per agent) and one feature tensor; got "
                f"input size {int(w.shape[1])}"
            )
        blocks = w[:, f:].T.reshape(self._n, d, -1)  # (slot, D, G)
        slot_of = torch.argsort(self._order, dim=1)  # slot of agent n in stream s
        return w[:, :f].T, blocks[slot_of], f

    def _real_run(self) -> _Real:
        """Pre-activations and incoming states of every row and stream, computed once."""
        torch = self._torch
        cell = self._cell
        rows, s, b, steps = self._t, self._streams, self._envs or 1, self._steps
        w_dense, blocks, f = self._weights()
        x = self._real_inputs()  # (R, N, D)
        feats = self.features()
        # Input part of the pre-activation of every row and stream at once: (R, S, G).
        gx = torch.einsum("rnd,sndg->rsg", x, blocks)
        if feats is not None and f > 0:
            dense = feats @ w_dense  # (R, S, G) per influencer, else (R, G)
            gx = gx + (dense if self._per_influencer else dense[:, None])
        if cell.b_ih is not None:
            gx = gx + cell.b_ih
        hs, pre = self._hidden_states(gx.reshape(steps, b * s, -1))
        h_prev = hs[0].reshape(rows, s, -1)
        c_prev = None if len(hs) == 1 else hs[1].reshape(rows, s, -1)
        if pre is None:  # recorded states: the recurrent part of every row at once
            pre = h_prev @ cell.w_hh.T
            if cell.b_hh is not None:
                pre = pre + cell.b_hh
            if cell.kind != "gru":
                pre = pre + gx
        else:
            pre = pre.reshape(rows, s, -1)
        if cell.kind == "gru":  # the recurrent part stays apart (the reset gate scales it)
            return _Real(gx, pre, None, h_prev, c_prev, blocks)
        return _Real(gx, None, pre, h_prev, c_prev, blocks)

    def _hidden_states(self, gx: Any) -> tuple[tuple[Any, ...], Any]:
        """Incoming (h,) or (h, c) of every step, (T, B * S, H) each, and the pre-activations
        the run computed on the way, (T, B * S, G): the whole of them (LSTM, RNN) or their
        recurrent part (GRU); None when the states were recorded (nothing is run).

        The cell runs along time from ``initial_state``, reset where an episode starts; each
        step is one matrix product (the input part ``gx`` was computed for all rows at
        once) and the cell's element-wise update."""
        torch = self._torch
        steps, s, b = self._steps, self._streams, self._envs or 1
        if self._recorded is not None:
            return tuple(v.reshape(steps, b * s, -1) for v in leaves(self._recorded)), None
        cell = self._cell
        starts = self.episode_starts
        if starts is not None and self._envs is None:
            starts = starts[:, None]
        gru = cell.kind == "gru"
        w = cell.w_hh.T
        bias = cell.b_hh
        base = gx if (gru or bias is None) else gx + bias  # whole pre-activation minus h W
        init = tuple(leaves(_repeat_state(self._initial_state, b)))
        state = init
        # Without autograd every step writes into preallocated (T, ...) tensors.
        direct = not (torch.is_grad_enabled() and (gx.requires_grad or w.requires_grad))
        out: list[tuple[Any, ...]] = []
        pres: list[Any] = []
        pre_all = gx.new_empty(gx.shape) if direct else None
        for t in range(steps):
            if t > 0 and starts is not None and starts[t].any():
                state = tuple(leaves(_reset_state(state, init, starts[t], s)))
            out.append(state)
            h = state[0]
            target = {} if pre_all is None else {"out": pre_all[t]}
            if gru:
                if bias is None:
                    gh = torch.matmul(h, w, **target)
                else:
                    gh = torch.addmm(bias, h, w, **target)
                pres.append(gh)
                state = (_cell_update(cell, gx[t], gh, h, None)[0],)
            else:
                pre = torch.addmm(base[t], h, w, **target)
                pres.append(pre)
                if cell.kind == "lstm":
                    state = _lstm_step(pre, state[1])
                else:
                    state = (_cell_update(cell, pre, 0.0, h, None)[0],)
        hs = tuple(torch.stack([o[i] for o in out]) for i in range(len(init)))
        return hs, (torch.stack(pres) if pre_all is None else pre_all)

    # --- protocol -------------------------------------------------------------------------
    def counterfactual_logits(self, influencers: Sequence[int], influencees: Sequence[int]) -> Any:
        ks = as_agent_indices(influencers, self._n, "influencers")
        js = as_agent_indices(influencees, self._n, "influencees")
        with self._grad_mode():
            if self._real is None or self._grad:
                self._real = self._real_run()
            out = self._counterfactuals(ks, self._real)
            return self._unfold(self._select(out, ks, js, "head"))

    def _counterfactuals(self, ks: list[int], real: _Real) -> Any:
        """Head outputs of every (row, influencer, value) variant, (R * I * K, N_out, A).

        For influencer k (stream s) and the rows of a chunk, the pre-activations of all K
        values are one broadcast sum, ``real - column of k's real value + column of c``; no
        gather of rows, no network pass."""
        torch = self._torch
        cell = self._cell
        rows, k = self._t, self._k
        size = self._max_batch or rows * k
        span = max(1, size // k)  # rows per chunk
        x = self._real_inputs()
        lstm = cell.kind == "lstm"
        scale = _gate_scale(cell) if lstm else None  # tanh(g) = 2 sigmoid(2g) - 1
        stacked: Any = None  # (R, I, K, N_out, A), filled chunk by chunk
        for col, kk in enumerate(ks):
            s = kk if self._per_influencer else 0
            cols = real.blocks[s, kk]  # (K, G): column of each value
            own = x[:, kk] @ cols  # (R, G): column of the real value (or its mix)
            base = (real.gx if real.z is None else real.z)[:, s] - own
            if scale is not None:
                base, cols = base * scale, cols * scale
            agents = torch.full((span * k,), kk, dtype=torch.long, device=base.device)
            for t0 in range(0, rows, span):
                t1 = min(rows, t0 + span)
                z = base[t0:t1, None, :] + cols[None]  # (rows, K, G)
                if lstm:
                    h = _lstm_prescaled(z, real.c_prev[t0:t1, s, None, :], inplace=not self._grad)
                else:
                    gh = 0.0 if real.gh is None else real.gh[t0:t1, s, None, :]
                    h, _ = _cell_update(cell, z, gh, real.h_prev[t0:t1, s, None, :], None)
                flat = h.reshape(-1, h.shape[-1])
                extra = (agents[: flat.shape[0]],) if self._pass_agent else ()
                out = self._network(flat, *extra)
                if not is_torch(out) or out.ndim != 3 or out.shape[0] != flat.shape[0]:
                    raise ModelError(
                        f"head: expected logits of shape (B, N or N-1, A) for a batch of "
                        f"B = {flat.shape[0]} variants; got {describe(out)}"
                    )
                if stacked is None:
                    stacked = out.new_empty((rows, len(ks), k, *out.shape[1:]))
                stacked[t0:t1, col] = out.reshape(t1 - t0, k, *out.shape[1:])
        return stacked.reshape(-1, *stacked.shape[3:])


def _lstm_step(pre: Any, c: Any) -> tuple[Any, Any]:
    """New (h, c) of an LSTM from its whole pre-activation, in few operations (one sigmoid
    over the four gates; the g gate's entries of it are unused)."""
    import torch

    hidden = pre.shape[-1] // 4
    i, f, _, o = torch.sigmoid(pre).split(hidden, dim=-1)
    c_new = torch.addcmul(f * c, i, torch.tanh(pre[..., 2 * hidden : 3 * hidden]))
    return o * torch.tanh(c_new), c_new


def _gate_scale(cell: CellWeights) -> Any:
    """Per-gate factors (1, 1, 2, 1) x H of an LSTM's (i, f, g, o) pre-activation."""
    import torch

    scale = torch.ones(int(cell.w_ih.shape[0]), dtype=cell.w_ih.dtype, device=cell.w_ih.device)
    scale[2 * cell.hidden : 3 * cell.hidden] = 2.0
    return scale


def _lstm_prescaled(z: Any, c: Any, *, inplace: bool) -> Any:
    """New hidden state of an LSTM from pre-activations whose g gate is doubled, with
    ``tanh(x) = 2 sigmoid(2x) - 1`` (one sigmoid over the four gates). ``inplace`` reuses
    ``z`` (a temporary) for every intermediate: the counterfactual batches are large and
    allocations dominate element-wise work on CPU."""
    import torch

    hidden = z.shape[-1] // 4
    if not inplace:
        i, f, g, o = torch.sigmoid(z).split(hidden, dim=-1)
        c_new = f * c + i * (2.0 * g - 1.0)
        return o * (2.0 * torch.sigmoid(2.0 * c_new) - 1.0)
    zs = z.sigmoid_()
    i, f, g, o = zs.split(hidden, dim=-1)
    g.mul_(2.0).sub_(1.0)
    i.mul_(g)
    f.mul_(c).add_(i)  # the new cell state
    g.copy_(f).mul_(2.0).sigmoid_().mul_(2.0).sub_(1.0)  # its tanh
    return o.mul_(g)


class _Real(NamedTuple):
    gx: Any  # (R, S, G): input part of the pre-activation (bias included)
    gh: Any  # (R, S, G): recurrent part (bias included) of a GRU, else None
    z: Any  # (R, S, G): the whole pre-activation (LSTM and RNN) or None (GRU)
    h_prev: Any  # (R, S, H): incoming hidden state
    c_prev: Any  # (R, S, H) incoming cell state (LSTM) or None
    blocks: Any  # (S, N, D, G): columns of each agent's one-hot block, per stream


def _cell_update(cell: CellWeights, gx: Any, gh: Any, h: Any, c: Any) -> tuple[Any, Any]:
    """One step of the cell from its input part ``gx`` and recurrent part ``gh`` of the
    pre-activation (G wide, biases included), as ``torch.nn`` computes it."""
    import torch

    if cell.kind == "lstm":
        i, f, g, o = (gx + gh).chunk(4, dim=-1)
        c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c_new), c_new
    if cell.kind == "gru":
        xr, xz, xn = gx.chunk(3, dim=-1)
        hr, hz, hn = gh.chunk(3, dim=-1)
        reset = torch.sigmoid(xr + hr)
        update = torch.sigmoid(xz + hz)
        new = torch.tanh(xn + reset * hn)
        return (1.0 - update) * new + update * h, None
    pre = gx + gh
    return (torch.relu(pre) if cell.nonlinearity == "relu" else torch.tanh(pre)), None
