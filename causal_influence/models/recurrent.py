"""A recurrent torch policy or MOA whose counterfactuals are one-step evaluations from the
real recurrent states."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from causal_influence._backend import is_torch
from causal_influence.errors import ModelError, ShapeError, describe
from causal_influence.models.torch_base import (
    Features,
    Outputs,
    TorchBase,
    forwarded,
    leaves,
    take,
)
from causal_influence.validation import as_agent_indices

if TYPE_CHECKING:
    import torch

__all__ = ["RecurrentTorchModel"]


State = Any  # a tensor or a tuple/list of tensors, leading dimension = batch


class RecurrentTorchModel(TorchBase):
    """A recurrent policy or MOA: counterfactuals are one-step evaluations from real states.

    The real sequence is run once (``step`` called once per row, batched over streams) to
    obtain the incoming recurrent state of every row; the state is reset to ``initial_state`` at
    row 0 and at every episode start. Then every counterfactual (every row, influencer and
    value) is evaluated as one batch (in chunks of ``max_batch`` rows) from its row's real
    incoming state; the counterfactual states are discarded, as the reference implementation of
    the MOA does (``docs/metrics.md``, section "Influence").

    Parameters
    ----------
    step : callable or sequence of N callables (or ``torch.nn.ModuleList``)
        ``step(features, inputs, state) -> (logits, new_state)`` (with ``pass_agent=True``:
        ``step(features, inputs, state, agents)``). ``features`` and ``inputs`` as in
        :class:`TorchModel`; ``state`` a tensor or tuple of tensors with leading dimension B;
        ``logits`` of shape (B, N, A) or (B, N-1, A) (``outputs``). A sequence of N callables
        (``per_influencer=True``) gives each agent its own network.
    features, inputs, prior_logits, values, encoder, outputs, one_hot, pass_agent, grad
        As in :class:`TorchModel`.
    max_batch, input_width
        As in :class:`TorchModel`.
    initial_state : tensor or tuple of tensors
        State at row 0 and at episode starts, leading dimension S = N with
        ``per_influencer=True`` (one stream per agent's own model) and S = 1 otherwise.
    states : tensor or tuple of tensors, optional
        Precomputed incoming states of every row, leading shape (T, S) (e.g. recorded during
        the rollout); when given the real sequence is not re-run.
    per_influencer : bool, default False
        True when each agent runs its own recurrent model (a MOA): stream k is agent k's model,
        fed ``features[:, k]``.
    predicts_next_step : bool, default False
        True when the output at row t predicts the influencees' actions at t+1 (MOA).
    episode_starts : bool array of shape (T,), optional
        True at the first step of each episode (state reset); also read by the engine.

    Examples
    --------
    A MOA of two agents with a GRU cell, shared weights; row t predicts the other's action at t+1:

    >>> import torch
    >>> from causal_influence.engine import pairwise_influence
    >>> _ = torch.manual_seed(0)
    >>> cell, out = torch.nn.GRUCell(2 * 3, 8), torch.nn.Linear(8, 3)
    >>> def step(features, inputs, state):                # (B, 0), (B, 2, 3), (B, 8)
    ...     h = cell(inputs.flatten(1), state)
    ...     return out(h)[:, None], h                         # logits of the other agent
    >>> actions = torch.randint(0, 3, (5, 2))
    >>> model = RecurrentTorchModel(step, None, actions, prior_logits=torch.zeros(5, 2, 3),
    ...                             initial_state=torch.zeros(2, 8), per_influencer=True,
    ...                             outputs="others", predicts_next_step=True)
    >>> result = pairwise_influence(model, alignment="next_step")
    >>> result.influence.shape, result.valid.tolist()
    (torch.Size([5, 2, 2]), [True, True, True, True, False])
    """

    def __init__(
        self,
        step: Callable[..., Any] | Sequence[Callable[..., Any]],
        features: Features,
        inputs: torch.Tensor,
        *,
        prior_logits: torch.Tensor,
        initial_state: State,
        values: torch.Tensor | None = None,
        states: State | None = None,
        encoder: Callable[[Any], Any] | None = None,
        per_influencer: bool = False,
        outputs: Outputs = "all",
        predicts_next_step: bool = False,
        one_hot: bool = True,
        pass_agent: bool = False,
        episode_starts: Any = None,
        grad: bool = False,
        max_batch: int | None = 8192,
        input_width: int | None = None,
    ) -> None:
        super().__init__(step, features, inputs, net_name="step", **forwarded(locals()))
        self._streams = self._n if self._per_influencer else 1
        _states_iv(initial_state, states, self._t, self._streams)
        self._initial_state = initial_state
        self._states: State | None = states

    def states(self) -> State:
        """Incoming real state of every row, leading shape (T, S); computed once and cached."""
        if self._states is None:
            with self._grad_mode():
                self._states = self._run_real()
        return self._states

    def _run_real(self) -> State:
        torch = self._torch
        feats = self.features()
        x = self._real_inputs()
        s = self._streams
        starts = self.episode_starts
        init = self._initial_state
        per_agent = self._per_influencer

        # Per-step views, made once: (S, ...) features and (S, N, D) inputs of every row.
        trees = leaves(feats)
        by_step = [(v if per_agent else v.unsqueeze(1)).unbind(0) for v in trees]
        x_steps = x.unsqueeze(1).expand(x.shape[0], s, *x.shape[1:]).unbind(0)

        def at(t: int) -> tuple[Features, Any]:
            if feats is None:
                return None, x_steps[t]
            if isinstance(feats, (tuple, list)):
                return type(feats)(step[t] for step in by_step), x_steps[t]
            return by_step[0][t], x_steps[t]

        agents = torch.arange(s, device=self._prior.device)
        collected: list[State] = []
        state = init
        for t in range(self._t):
            if t > 0 and starts is not None and starts[t]:
                state = init
            collected.append(state)
            f, xt = at(t)
            if self._many:
                new_parts = []
                for a, net in enumerate(self._network):
                    fa = take(f, slice(a, a + 1))
                    sa = take(state, slice(a, a + 1))
                    extra = (agents[a : a + 1],) if self._pass_agent else ()
                    new_parts.append(self._unpack(net(fa, xt[a : a + 1], sa, *extra))[1])
                state = self._cat_states(new_parts)
            else:
                extra = (agents,) if self._pass_agent else ()
                state = self._unpack(self._network(f, xt, state, *extra))[1]
        if isinstance(init, (tuple, list)):
            return type(init)(torch.stack([c[i] for c in collected], 0) for i in range(len(init)))
        return torch.stack(collected, 0)

    def _cat_states(self, parts: list[State]) -> State:
        if isinstance(parts[0], (tuple, list)):
            return type(parts[0])(
                self._torch.cat([p[i] for p in parts], 0) for i in range(len(parts[0]))
            )
        return self._torch.cat(parts, 0)

    @staticmethod
    def _unpack(result: Any) -> tuple[Any, Any]:
        if not isinstance(result, tuple) or len(result) != 2:
            raise ModelError(
                f"step: expected a pair (logits, new_state); got {describe(result)}; return "
                f"both from the step function"
            )
        return result

    def counterfactual_logits(self, influencers: Sequence[int], influencees: Sequence[int]) -> Any:
        ks = as_agent_indices(influencers, self._n, "influencers")
        js = as_agent_indices(influencees, self._n, "influencees")
        states = self.states()
        per_agent = self._per_influencer

        def evaluate(
            net: Callable[..., Any], f: Features, x: Any, extra: tuple[Any, ...], t: Any, a: Any
        ) -> Any:
            state = take(states, (t, a) if per_agent else (t, self._torch.zeros_like(a)))
            return self._unpack(net(f, x, state, *extra))[0]

        with self._grad_mode():
            out = self._all_variants(ks, evaluate)
            return self._select(out, ks, js, "step")


def _states_iv(initial_state: State, states: State | None, t: int, streams: int) -> None:
    """Check the initial state (leading dimension S) and the precomputed states (T, S)."""
    if not leaves(initial_state):
        raise ShapeError("initial_state: expected a tensor or a tuple of tensors; got none")
    for leaf in leaves(initial_state):
        if not is_torch(leaf) or leaf.ndim < 1 or leaf.shape[0] != streams:
            raise ShapeError(
                f"initial_state: expected tensors with leading dimension S = {streams} (N with "
                f"per_influencer=True, else 1); got {describe(leaf)}"
            )
    for leaf in leaves(states):
        if not is_torch(leaf) or tuple(leaf.shape[:2]) != (t, streams):
            raise ShapeError(
                f"states: expected tensors of leading shape (T, S) = ({t}, {streams}); got "
                f"{describe(leaf)}"
            )
