"""Shared machinery of the torch adapters: checking a network's inputs and evaluating every
counterfactual variant (row, influencer, value) of it in batches."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

from causal_influence._backend import is_torch
from causal_influence._optional import require
from causal_influence.errors import ConfigError, DTypeError, ModelError, ShapeError, describe
from causal_influence.validation import (
    as_agent_indices,
    as_index,
    as_mask,
    check_choice,
    check_logits,
)

__all__ = [
    "OPTIONS",
    "Features",
    "Outputs",
    "TorchBase",
    "check_features",
    "fold_envs",
    "fold_tree",
    "forwarded",
    "leaves",
    "take",
]

Features = Any  # torch.Tensor, a tuple/list of tensors, or None
Outputs = Literal["all", "others"]


def _map_features(fn: Callable[[Any], Any], features: Features) -> Features:
    if features is None:
        return None
    if isinstance(features, (tuple, list)):
        return type(features)(fn(f) for f in features)
    return fn(features)


def leaves(features: Features) -> list[Any]:
    """The tensors of a feature or state tree (a tensor, a tuple or list of tensors, None)."""
    if features is None:
        return []
    if isinstance(features, (tuple, list)):
        return list(features)
    return [features]


def take(tree: Features, index: Any) -> Features:
    """``v[index]`` for every tensor of a feature or state tree."""
    return _map_features(lambda v: v[index], tree)


def _require_torch(x: object, name: str) -> None:
    if not is_torch(x):
        raise DTypeError(f"{name}: expected a torch.Tensor; got {describe(x)}")


#: The options every torch adapter takes (documented on TorchModel), forwarded to TorchBase.
OPTIONS: tuple[str, ...] = (
    "prior_logits",
    "values",
    "encoder",
    "per_influencer",
    "outputs",
    "predicts_next_step",
    "one_hot",
    "pass_agent",
    "episode_starts",
    "grad",
    "max_batch",
    "input_width",
)


def forwarded(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The :data:`OPTIONS` among a subclass constructor's arguments (its ``locals()``)."""
    return {name: arguments[name] for name in OPTIONS}


class _TorchArgs(NamedTuple):
    network: Any  # a callable, or a list of N callables (``many``)
    many: bool
    prior: Any  # (R, N, K), R = T rows, or T * B with an environment axis (row t * B + b)
    inputs: Any  # (R, N) long or (R, N, D) float
    values: Any  # (R, N) long
    features: Features  # leading (R,) or (R, N); raw (unchecked) with an encoder
    input_width: int
    max_batch: int | None
    episode_starts: Any  # (T,) or (T, B) bool numpy array, or None
    steps: int  # T
    envs: int | None  # B, or None without an environment axis


def fold_envs(x: Any, name: str, steps: int, envs: int) -> Any:
    """(T, B, ...) tensor -> (T * B, ...), row t * B + b; a :class:`ShapeError` naming the
    environment axis otherwise."""
    if not is_torch(x) or x.ndim < 2 or tuple(x.shape[:2]) != (steps, envs):
        raise ShapeError(
            f"{name}: with an environment axis (prior_logits of shape (T, B, N, K)), expected a "
            f"torch tensor of leading shape (T, B) = ({steps}, {envs}); got {describe(x)}"
        )
    return x.reshape(steps * envs, *x.shape[2:])


def fold_tree(tree: Features, name: str, steps: int, envs: int | None) -> Features:
    """:func:`fold_envs` on every tensor of a feature or state tree (nothing without envs)."""
    if envs is None:
        return tree
    return _map_features(lambda v: fold_envs(v, name, steps, envs), tree)


def _torch_iv(
    network: Any,
    features: Features,
    inputs: Any,
    *,
    net_name: str,
    prior_logits: Any,
    values: Any,
    encoder: Callable[[Any], Any] | None,
    per_influencer: bool,
    outputs: str,
    one_hot: bool,
    episode_starts: Any,
    max_batch: int | None,
    input_width: int | None,
    predicts_next_step: bool,
    pass_agent: bool,
    grad: bool,
) -> _TorchArgs:
    """The checks of :class:`TorchBase`'s arguments, in the order a reader meets them (the
    last three are flags that need none)."""
    _require_torch(prior_logits, "prior_logits")
    prior = check_logits(prior_logits, "prior_logits")
    if prior.ndim not in (3, 4):
        raise ShapeError(
            f"prior_logits: expected shape (T, N, K), each agent's policy over the variable "
            f"that enters the network, or (T, B, N, K) with an environment axis; got "
            f"{describe(prior)}"
        )
    steps, envs = int(prior.shape[0]), (None if prior.ndim == 3 else int(prior.shape[1]))
    if envs is not None:
        prior = prior.reshape(steps * envs, *prior.shape[2:])
        inputs = fold_envs(inputs, "inputs", steps, envs)
        values = None if values is None else fold_envs(values, "values", steps, envs)
        if encoder is None:
            features = fold_tree(features, "features", steps, envs)
    t, n, k = (int(s) for s in prior.shape)
    inputs, values, width = _inputs_iv(inputs, values, (t, n, k), one_hot, input_width)
    check_choice("outputs", outputs, ("all", "others"))
    many = _network_iv(network, per_influencer, n, net_name)
    if max_batch is not None and int(max_batch) < 1:
        raise ConfigError(f"max_batch: expected a positive integer or None; got {max_batch}")
    if encoder is None:
        check_features(features, t, n, per_influencer)
    lead, dims = ((steps,), "(T,)") if envs is None else ((steps, envs), "(T, B)")
    starts = (
        None
        if episode_starts is None
        else as_mask(episode_starts, "episode_starts", lead, dims=dims)
    )
    network = list(network) if many else network
    batch = None if max_batch is None else int(max_batch)
    return _TorchArgs(
        network,
        many,
        prior,
        inputs,
        values.to(prior.device),
        features,
        width,
        batch,
        starts,
        steps,
        envs,
    )


def _inputs_iv(
    inputs: Any, values: Any, sizes: tuple[int, int, int], one_hot: bool, input_width: int | None
) -> tuple[Any, Any, int]:
    """Inputs (T, N) int or (T, N, D) float, the values taken (T, N) and the one-hot width."""
    t, n, k = sizes
    _require_torch(inputs, "inputs")
    width = k if input_width is None else int(input_width)
    if inputs.is_floating_point():
        if inputs.ndim != 3 or tuple(inputs.shape[:2]) != (t, n) or inputs.shape[2] < k:
            raise ShapeError(
                f"inputs: expected an int tensor of shape (T, N) = ({t}, {n}) or a float "
                f"tensor of shape (T, N, D) with D >= K = {k}; got {describe(inputs)}"
            )
        if not one_hot:
            raise ConfigError(
                "one_hot=False needs integer inputs of shape (T, N); got float inputs; "
                "pass the value indices instead"
            )
        if values is None:
            raise ConfigError(
                "values: required when inputs are float vectors; pass the integer values "
                "(T, N) each agent took at the step it chose them"
            )
    else:
        if tuple(inputs.shape) != (t, n):
            raise ShapeError(
                f"inputs: expected an int tensor of shape (T, N) = ({t}, {n}) or a float "
                f"tensor of shape (T, N, D); got {describe(inputs)}"
            )
        if width < k:
            raise ConfigError(f"input_width: expected an integer >= K = {k}; got {input_width}")
        inputs = as_index(inputs, "inputs", width, expected=_values_text(width), error=ConfigError)
        values = inputs if values is None else values
    _require_torch(values, "values")
    values = as_index(values, "values", k, expected=_values_text(k), error=ConfigError)
    if tuple(values.shape) != (t, n):
        raise ShapeError(f"values: expected shape (T, N) = ({t}, {n}); got {describe(values)}")
    return inputs, values, width


def _values_text(size: int) -> str:
    return f"values in [0, {size}) (one per counterfactual value K)"


def _network_iv(network: Any, per_influencer: bool, n: int, net_name: str) -> bool:
    """Whether ``network`` is a sequence of N per-agent networks (else one callable)."""
    import torch

    if not isinstance(network, (Sequence, torch.nn.ModuleList)):
        if not callable(network):
            raise DTypeError(f"{net_name}: expected a callable or module; got {describe(network)}")
        return False
    nets = list(network)
    if not per_influencer or len(nets) != n:
        raise ConfigError(
            f"{net_name}: a sequence of networks (one per agent) needs per_influencer=True and "
            f"length N = {n}; got length {len(nets)} with per_influencer={per_influencer}"
        )
    if not all(callable(f) for f in nets):
        raise DTypeError(f"{net_name}: expected callables; got {describe(network)}")
    return True


def check_features(features: Features, t: int, n: int, per_influencer: bool) -> None:
    """Raise a :class:`ShapeError` unless every feature tensor has the leading shape (T,)
    (or (T, N) with ``per_influencer``)."""
    lead = (t, n) if per_influencer else (t,)
    for leaf in leaves(features):
        if not is_torch(leaf) or tuple(leaf.shape[: len(lead)]) != lead:
            raise ShapeError(
                f"features: expected torch tensors with leading shape {lead} "
                f"({'(T, N, ...) with per_influencer=True' if per_influencer else '(T, ...)'}"
                f"); got {describe(leaf)}"
            )


class TorchBase:
    """Variant construction shared by :class:`~causal_influence.models.TorchModel` and
    :class:`~causal_influence.models.RecurrentTorchModel` (parameters documented there)."""

    def __init__(
        self,
        network: Callable[..., Any] | Sequence[Callable[..., Any]],
        features: Features,
        inputs: Any,
        *,
        net_name: str,
        **options: Any,
    ) -> None:
        require("torch", purpose=f"{type(self).__name__} (a model of torch networks)")
        import torch

        args = _torch_iv(network, features, inputs, net_name=net_name, **options)
        encoder = options["encoder"]
        self._network: Any = args.network
        self._many = args.many
        self._raw_features = features
        self._encoder = encoder
        self._features: Features = None if encoder is not None else args.features
        self._encoded = encoder is None
        self._inputs, self._prior, self._values = args.inputs, args.prior, args.values
        # Rows: T, or T * B with an environment axis (row t * B + b).
        self._t, self._n, self._k = (int(s) for s in args.prior.shape)
        self._steps, self._envs = args.steps, args.envs
        self._per_influencer = bool(options["per_influencer"])
        self._outputs = options["outputs"]
        self._predicts_next_step = bool(options["predicts_next_step"])
        self._one_hot = bool(options["one_hot"])
        self._pass_agent = bool(options["pass_agent"])
        self._grad = bool(options["grad"])
        self._max_batch = args.max_batch
        self.episode_starts = args.episode_starts
        self._input_width = args.input_width
        self._net_name = net_name
        self._torch = torch
        self._x_real: Any = None

    # --- protocol -------------------------------------------------------------------------
    @property
    def num_agents(self) -> int:
        return self._n

    @property
    def num_steps(self) -> int:
        return self._steps

    @property
    def num_envs(self) -> int | None:
        """B, the environment axis of the arrays (after time), or None without one."""
        return self._envs

    @property
    def predicts_next_step(self) -> bool:
        return self._predicts_next_step

    def influencer_logits(self, influencers: Sequence[int]) -> Any:
        return self._unfold(self._prior[:, as_agent_indices(influencers, self._n, "influencers")])

    def influencer_values(self, influencers: Sequence[int]) -> Any:
        return self._unfold(self._values[:, as_agent_indices(influencers, self._n, "influencers")])

    def _unfold(self, x: Any) -> Any:
        """(R, ...) rows -> (T, B, ...) with an environment axis; unchanged without one."""
        if self._envs is None:
            return x
        return x.reshape(self._steps, self._envs, *x.shape[1:])

    # --- helpers --------------------------------------------------------------------------
    def features(self) -> Features:
        """The encoded features, computed once on first use (the encoder is never re-run)."""
        if not self._encoded:
            assert self._encoder is not None
            with self._grad_mode():
                feats = self._encoder(self._raw_features)
            feats = fold_tree(feats, "encoder output", self._steps, self._envs)
            check_features(feats, self._t, self._n, self._per_influencer)
            self._features = feats
            self._encoded = True
        return self._features

    def _grad_mode(self) -> Any:
        return self._torch.enable_grad() if self._grad else self._torch.no_grad()

    def _dtype(self) -> Any:
        for leaf in leaves(self._features):
            if leaf.is_floating_point():
                return leaf.dtype
        return self._prior.dtype

    def _real_inputs(self) -> Any:
        """Inputs as the network receives them: (T, N, D) float or (T, N) int."""
        if self._inputs.is_floating_point() or not self._one_hot:
            return self._inputs
        if self._x_real is None:
            width = self._input_width
            eye = self._torch.eye(width, dtype=self._dtype(), device=self._inputs.device)
            self._x_real = eye[self._inputs]
        return self._x_real

    def _variants(
        self,
        ks: list[int],
        evaluate: Callable[[Features, Any, tuple[Any, ...], Any, Any], Any],
    ) -> Any:
        """Evaluate every (row, influencer, value) variant, in chunks of ``max_batch`` rows.

        Variant rows are ordered (t, i, c). For each chunk the features, the inputs with the
        influencer's slot replaced and the agent index are gathered by index (nothing of size
        T*I*K is materialised besides the output) and passed to
        ``evaluate(features, inputs, extra, t_index, influencer)``.

        Returns
        -------
        tensor of shape (T*I*K, N_out, A)
        """
        torch = self._torch
        t, i, k = self._t, len(ks), self._k
        total = t * i * k
        size = self._max_batch or total
        feats = self.features()
        x_real = self._real_inputs()
        device = x_real.device
        kk = torch.tensor(ks, device=device)
        unit = None
        if x_real.is_floating_point():
            unit = torch.eye(k, x_real.shape[-1], dtype=x_real.dtype, device=device)
        parts = []
        for start in range(0, total, size):
            r = torch.arange(start, min(start + size, total), device=device)
            t_idx = torch.div(r, i * k, rounding_mode="floor")
            agent = kk[torch.div(r, k, rounding_mode="floor") % i]
            c = r % k
            f = take(feats, (t_idx, agent) if self._per_influencer else t_idx)
            x = x_real[t_idx]  # advanced indexing copies
            rows = torch.arange(r.shape[0], device=device)
            x[rows, agent] = c if unit is None else unit[c]
            extra = (agent,) if self._pass_agent else ()
            out = evaluate(f, x, extra, t_idx, agent)
            if not is_torch(out) or out.ndim != 3 or out.shape[0] != r.shape[0]:
                raise ModelError(
                    f"{self._net_name}: expected logits of shape (B, N or N-1, A) for a batch of "
                    f"B = {r.shape[0]} variants; got {describe(out)}"
                )
            parts.append(out)
        return parts[0] if len(parts) == 1 else torch.cat(parts, 0)

    def _all_variants(
        self,
        ks: list[int],
        evaluate: Callable[[Callable[..., Any], Features, Any, tuple[Any, ...], Any, Any], Any],
    ) -> Any:
        """:meth:`_variants` with one network, or one call sequence per agent's own network."""
        net = self._network
        if not self._many:
            return self._variants(ks, functools.partial(evaluate, net))
        outs = []
        for k in ks:
            out = self._variants([k], functools.partial(evaluate, net[k]))
            outs.append(out.reshape(self._t, 1, self._k, *out.shape[1:]))
        stacked = self._torch.cat(outs, 1)  # (T, I, K, N_out, A)
        return stacked.reshape(-1, *stacked.shape[3:])

    def _select(self, out: Any, ks: list[int], js: list[int], name: str) -> Any:
        """(T, I, K, N_out, A) network output -> (T, I, J, K, A) influencee logits."""
        torch = self._torch
        n = self._n
        n_out = n if self._outputs == "all" else n - 1
        t, i, k = self._t, len(ks), self._k
        if not is_torch(out) or out.ndim != 3 or tuple(out.shape[:2]) != (t * i * k, n_out):
            who = "every agent" if n_out == n else "the N-1 agents other than the influencer"
            raise ModelError(
                f"{name}: expected logits of shape (B, {n_out}, A) with B = T*I*K = {t * i * k} "
                f"(outputs={self._outputs!r}: {who}); got {describe(out)}"
            )
        out = out.reshape(t, i, k, n_out, out.shape[-1]).transpose(2, 3)
        kk = torch.tensor(ks, device=out.device)[:, None]
        jj = torch.tensor(js, device=out.device)[None, :]
        col = (
            jj.expand(i, len(js)) if n_out == n else torch.where(jj < kk, jj, (jj - 1).clamp(min=0))
        )
        return out[:, torch.arange(i, device=out.device)[:, None], col]
