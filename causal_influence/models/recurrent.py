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
    fold_tree,
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
        _states_iv(initial_state, states, self._steps, self._envs, self._streams)
        self._initial_state = initial_state
        self._states: State | None = fold_tree(states, "states", self._steps, self._envs)

    def states(self) -> State:
        """Incoming real state of every row, leading shape (T, S) (or (T * B, S) with an
        environment axis, row t * B + b); computed once and cached."""
        if self._states is None:
            with self._grad_mode():
                self._states = self._run_real()
        return self._states

    def _run_real(self) -> State:
        """Run the real sequence: T steps, each batched over the B environments and S streams
        (stream index b * S + s), resetting each environment's state where its episode
        starts."""
        torch = self._torch
        feats = self.features()
        x = self._real_inputs()
        s, b, steps = self._streams, self._envs or 1, self._steps
        starts = self.episode_starts
        if starts is not None and self._envs is None:
            starts = starts[:, None]
        init = self._initial_state
        per_agent = self._per_influencer

        # Per-step views: (B * S, ...) features and (B * S, N, D) inputs of every step.
        lead = 2 if per_agent else 1  # features lead with (R, S) or (R,)
        by_leaf = [v.reshape(steps, b * s, *v.shape[lead:]).unbind(0) for v in leaves(feats)]
        shape = x.shape[1:]
        if b == 1:
            x_steps = x.unsqueeze(1).expand(steps, s, *shape).unbind(0)
        else:
            x_steps = x.reshape(steps, b, 1, *shape).expand(steps, b, s, *shape).unbind(0)

        def at(t: int) -> tuple[Features, Any]:
            xt = x_steps[t] if b == 1 else x_steps[t].reshape(b * s, *shape)
            if feats is None:
                return None, xt
            parts = [step[t] for step in by_leaf]
            if isinstance(feats, (tuple, list)):
                return type(feats)(parts), xt
            return parts[0], xt

        init_all = init if b == 1 else _repeat_state(init, b)
        agents = torch.arange(s, device=self._prior.device).repeat(b)
        collected: list[State] = []
        state = init_all
        for t in range(steps):
            if t > 0 and starts is not None and starts[t].any():
                state = _reset_state(state, init_all, starts[t], s)
            collected.append(state)
            f, xt = at(t)
            if self._many:
                new_parts = []
                for a, net in enumerate(self._network):
                    rows = slice(a, None, s)
                    extra = (agents[rows],) if self._pass_agent else ()
                    fa, sa = take(f, rows), take(state, rows)
                    new_parts.append(self._unpack(net(fa, xt[rows], sa, *extra))[1])
                state = self._interleave_states(new_parts, b)
            else:
                extra = (agents,) if self._pass_agent else ()
                state = self._unpack(self._network(f, xt, state, *extra))[1]
        return _stack_states(collected, init, steps * b, s)

    def _interleave_states(self, parts: list[State], envs: int) -> State:
        """Per-stream new states (B, ...) each -> one (B * S, ...) state, stream-minor."""
        if envs == 1:
            return self._cat_states(parts)
        torch = self._torch
        if isinstance(parts[0], (tuple, list)):
            return type(parts[0])(
                torch.stack([p[i] for p in parts], 1).flatten(0, 1) for i in range(len(parts[0]))
            )
        return torch.stack(parts, 1).flatten(0, 1)

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
            return self._unfold(self._select(out, ks, js, "step"))


def _repeat_state(state: State, envs: int) -> State:
    """Initial state (S, ...) -> (B * S, ...), the same for every environment."""
    if isinstance(state, (tuple, list)):
        return type(state)(_repeat_state(v, envs) for v in state)
    return state.repeat(envs, *([1] * (state.ndim - 1)))


def _reset_state(state: State, init: State, starts: Any, streams: int) -> State:
    """The state with the streams of the environments that start an episode (``starts`` (B,)
    bool) set back to ``init`` (both (B * S, ...))."""
    import torch

    if bool(starts.all()):
        return init
    mask = torch.as_tensor(starts, device=leaves(state)[0].device).repeat_interleave(streams)

    def reset(v: Any, v0: Any) -> Any:
        return torch.where(mask.reshape(-1, *([1] * (v.ndim - 1))), v0, v)

    if isinstance(state, (tuple, list)):
        return type(state)(reset(v, v0) for v, v0 in zip(state, init, strict=True))
    return reset(state, init)


def _stack_states(collected: list[State], init: State, rows: int, streams: int) -> State:
    """The incoming states of every step, (B * S, ...) each -> (T * B, S, ...)."""
    import torch

    def stack(parts: list[Any]) -> Any:
        out = torch.stack(parts, 0)
        return out.reshape(rows, streams, *out.shape[2:])

    if isinstance(init, (tuple, list)):
        return type(init)(stack([c[i] for c in collected]) for i in range(len(init)))
    return stack(collected)


def _states_iv(
    initial_state: State, states: State | None, t: int, envs: int | None, streams: int
) -> None:
    """Check the initial state (leading dimension S) and the precomputed states (T, S), or
    (T, B, S) with an environment axis."""
    if not leaves(initial_state):
        raise ShapeError("initial_state: expected a tensor or a tuple of tensors; got none")
    for leaf in leaves(initial_state):
        if not is_torch(leaf) or leaf.ndim < 1 or leaf.shape[0] != streams:
            raise ShapeError(
                f"initial_state: expected tensors with leading dimension S = {streams} (N with "
                f"per_influencer=True, else 1); got {describe(leaf)}"
            )
    lead = (t, streams) if envs is None else (t, envs, streams)
    dims = "(T, S)" if envs is None else "(T, B, S)"
    for leaf in leaves(states):
        if not is_torch(leaf) or tuple(leaf.shape[: len(lead)]) != lead:
            raise ShapeError(
                f"states: expected tensors of leading shape {dims} = {lead}; got {describe(leaf)}"
            )
