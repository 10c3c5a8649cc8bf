"""Joint policy models: what the influence engine asks of a model, and adapters that provide it.

:func:`causal_influence.engine.pairwise_influence` works on any object that satisfies the small
:class:`JointPolicyModel` protocol. For influencers ``ks`` and influencees ``js`` it asks for

- ``counterfactual_logits(ks, js)``, array of shape (T, I, J, K, A): the logits of influencee
  ``js[j]``'s action with influencer ``ks[i]``'s variable (action or message) replaced by each of
  its K values, everything else held at its real value (recurrent state included);
- ``influencer_logits(ks)``, array of shape (T, I, K): the policy each influencer drew its
  variable from (the weights of the marginal);
- ``influencer_values(ks)``, integer array of shape (T, I): the values actually taken.

Rows and time
-------------
``influencer_logits`` and ``influencer_values`` are indexed by the step at which the influencer
chose its value. What row ``r`` of ``counterfactual_logits`` means is declared by the model's
``predicts_next_step`` attribute:

``predicts_next_step = False`` (a policy; the default of every adapter)
    Row r holds influencee j's policy **at step r** (what j's network outputs at r). With
    ``alignment="same_step"`` the engine pairs counterfactual row t with influencer row t
    (``a^k_t -> a^j_t``). With ``alignment="next_step"`` it pairs counterfactual row t+1 with
    influencer row t (``m^k_t -> a^j_{t+1}``), so the model's input at row t+1 must hold k's
    value of step t. A message policy therefore needs no shifting by the user: give the network
    the inputs it actually saw (previous messages at row r) and give the message logits and
    messages at the step they were produced.

``predicts_next_step = True`` (a model of other agents, MOA)
    Row r holds a **prediction of j's action at r+1** made from k's value at step r (ENVS.md
    section 4.3: the MOA of agent k reads everyone's actions at t and predicts the others'
    actions at t+1). Only ``alignment="next_step"`` applies and rows are paired without a shift:
    influence row t is computed from counterfactual row t.

In both cases the engine credits the value to step t, the step at which k acted (METRICS.md,
Conventions, one-step alignment).

Adapters
--------
:class:`TabularModel`
    Explicit tables of logits (or probabilities with :meth:`TabularModel.from_probabilities`).
:class:`TorchModel`
    Any torch module or callable ``head(features, inputs)``. Work that does not depend on the
    influencer's value (an observation encoder) runs once; only the head is re-run, for every
    step, influencer and counterfactual value, batched (in chunks of ``max_batch`` rows).
:class:`RecurrentTorchModel`
    A recurrent ``step(features, inputs, state)``. The real trajectory is run once to obtain the
    incoming state of every step; every counterfactual is then a one-step evaluation from that
    real state (counterfactual states are discarded), batched over all steps, influencers and
    values.
:class:`PyroModel`
    A Pyro program with discrete sample sites: interventions with ``pyro.poutine.do`` and exact
    enumeration of every other discrete latent site.

Examples
--------
>>> import numpy as np
>>> from causal_influence.models import JointPolicyModel, TabularModel
>>> cf = np.zeros((3, 2, 2, 2, 2))                 # (T, N, N, K, A)
>>> cf[:, 0, 1] = [[4.0, 0.0], [0.0, 4.0]]        # agent 1 follows agent 0's action
>>> model = TabularModel(cf, np.zeros((3, 2, 2)), np.array([[0, 1], [1, 0], [1, 1]]))
>>> isinstance(model, JointPolicyModel)
True
>>> model.counterfactual_logits([0], [1]).shape
(3, 1, 1, 2, 2)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import numpy as np

from causal_influence._backend import Array, is_torch, to_int, validate_logits
from causal_influence.errors import (
    ConfigError,
    DTypeError,
    InvalidDistributionError,
    ModelError,
    ShapeError,
    describe,
)

if TYPE_CHECKING:
    import torch

__all__ = [
    "JointPolicyModel",
    "PyroModel",
    "RecurrentTorchModel",
    "TabularModel",
    "TorchModel",
]


@runtime_checkable
class JointPolicyModel(Protocol):
    """What :func:`~causal_influence.engine.pairwise_influence` needs from a model.

    Attributes
    ----------
    num_agents : int
        N, the number of agents; agent indices are ``0 .. N-1``.
    num_steps : int
        T, the number of rows of every array the model returns.
    predicts_next_step : bool
        False when counterfactual row r is the influencee's policy at step r; True when it is a
        prediction of the influencee's action at step r+1 (a MOA). See the module docstring.

    Notes
    -----
    Every influencer's variable takes K values and every influencee has A actions (pad smaller
    sets with logits of ``-inf``). Arrays may be numpy or torch; the result of the engine
    follows the backend of ``counterfactual_logits``.
    """

    @property
    def num_agents(self) -> int: ...

    @property
    def num_steps(self) -> int: ...

    @property
    def predicts_next_step(self) -> bool: ...

    def counterfactual_logits(
        self, influencers: Sequence[int], influencees: Sequence[int]
    ) -> Array:
        """Array of shape (T, I, J, K, A): influencee logits under every counterfactual value."""
        ...

    def influencer_logits(self, influencers: Sequence[int]) -> Array:
        """Array of shape (T, I, K): each influencer's policy over its own variable."""
        ...

    def influencer_values(self, influencers: Sequence[int]) -> Array:
        """Integer array of shape (T, I): the value each influencer actually took."""
        ...


# ------------------------------------------------------------------------------------------
# shared checks


def _agent_index(agents: Sequence[int], num_agents: int, name: str) -> list[int]:
    out = [int(a) for a in agents]
    if any(a < 0 or a >= num_agents for a in out) or len(set(out)) != len(out):
        raise ConfigError(
            f"{name}: expected distinct agent indices in [0, {num_agents}); got {list(agents)}; "
            f"pass indices of existing agents, each at most once"
        )
    return out


def _select_agents(x: Array, agents: Sequence[int], num_agents: int, name: str, axis: int) -> Array:
    """``x`` restricted to ``agents`` along ``axis``; ``x`` itself (no copy) when they are all
    the agents in order, the usual request of a training loop."""
    index = _agent_index(agents, num_agents, name)
    if index == list(range(num_agents)):
        return x
    where: tuple[Any, ...] = (slice(None),) * axis + (index,)
    return x[where]


def _check_values(values: Array, num_values: int, name: str) -> None:
    if is_torch(values):
        bad = bool(((values < 0) | (values >= num_values)).any())
    else:
        bad = bool(np.any((values < 0) | (values >= num_values)))
    if bad:
        raise ConfigError(
            f"{name}: expected values in [0, {num_values}) (one per counterfactual value K); "
            f"got values outside that range; check that the values index the influencer's "
            f"policy logits"
        )


def _check_episode_starts(episode_starts: object, num_steps: int) -> np.ndarray | None:
    if episode_starts is None:
        return None
    if is_torch(episode_starts):
        arr = np.asarray(episode_starts.detach().cpu().numpy())  # type: ignore[attr-defined]
    else:
        arr = np.asarray(episode_starts)
    if arr.shape != (num_steps,):
        raise ShapeError(
            f"episode_starts: expected a bool array of shape (T,) = ({num_steps},); got "
            f"{describe(arr)}"
        )
    if arr.dtype.kind not in "bui":
        raise DTypeError(f"episode_starts: expected booleans; got {describe(arr)}")
    return arr.astype(bool)


# ------------------------------------------------------------------------------------------
# tables


class TabularModel:
    """A joint policy model given as explicit tables.

    Parameters
    ----------
    counterfactual_logits : array of shape (T, N, N, K, A)
        ``counterfactual_logits[t, k, j, c]``: logits of influencee j's action at row t when
        influencer k's variable takes the value c (numpy or torch). The entries with ``k == j``
        are never used. Row meaning as declared by ``predicts_next_step`` (module docstring).
    prior_logits : array of shape (T, N, K)
        Each agent's policy over its own variable at the step it chose it.
    values : integer array of shape (T, N)
        The values actually taken, in ``[0, K)``.
    predicts_next_step : bool, default False
        True when row t of the table predicts the influencee's action at t+1 (MOA layout).
    episode_starts : bool array of shape (T,), optional
        True at the first step of each episode; read by the engine when it is not given one.

    Raises
    ------
    ShapeError
        If the shapes do not match each other.
    InvalidDistributionError
        If a row of logits is NaN, ``+inf`` or all ``-inf``.

    Examples
    --------
    Agent 1 copies agent 0's binary action, agent 0 plays uniformly: the influence of 0 on 1 is
    ln 2 at every step (METRICS.md section 5, case 2).

    >>> import numpy as np
    >>> from causal_influence.engine import pairwise_influence
    >>> copy = np.eye(2)                                        # p(a_1 | a_0 = c) = row c
    >>> cond = np.broadcast_to(np.full(2, 0.5), (4, 2, 2, 2, 2)).copy()
    >>> cond[:, 0, 1] = copy
    >>> model = TabularModel.from_probabilities(cond, np.full((4, 2, 2), 0.5),
    ...                                         np.array([[0, 0], [1, 0], [0, 1], [1, 1]]))
    >>> pairwise_influence(model, alignment="same_step").influence[:, 0, 1]
    array([0.693147, 0.693147, 0.693147, 0.693147])
    """

    def __init__(
        self,
        counterfactual_logits: Array,
        prior_logits: Array,
        values: Array,
        *,
        predicts_next_step: bool = False,
        episode_starts: Array | None = None,
    ) -> None:
        cf = validate_logits(counterfactual_logits, "counterfactual_logits", min_ndim=5)
        if cf.ndim != 5 or cf.shape[1] != cf.shape[2]:
            raise ShapeError(
                f"counterfactual_logits: expected shape (T, N, N, K, A); got {describe(cf)}"
            )
        t, n, _, k, _ = cf.shape
        prior = validate_logits(prior_logits, "prior_logits")
        if tuple(prior.shape) != (t, n, k):
            raise ShapeError(
                f"prior_logits: expected shape (T, N, K) = ({t}, {n}, {k}) to match "
                f"counterfactual_logits; got {describe(prior)}"
            )
        vals = to_int(values, "values")
        if tuple(vals.shape) != (t, n):
            raise ShapeError(f"values: expected shape (T, N) = ({t}, {n}); got {describe(vals)}")
        _check_values(vals, k, "values")
        if is_torch(cf):
            import torch

            prior = torch.as_tensor(prior, dtype=cf.dtype, device=cf.device)
            vals = torch.as_tensor(vals, device=cf.device)
        elif is_torch(prior) or is_torch(vals):
            raise DTypeError(
                "prior_logits / values: got torch tensors with numpy counterfactual_logits; "
                "pass all three as numpy arrays or all as torch tensors"
            )
        self._cf = cf
        self._prior = prior
        self._values = vals
        self._predicts_next_step = bool(predicts_next_step)
        self.episode_starts = _check_episode_starts(episode_starts, t)

    @classmethod
    def from_probabilities(
        cls,
        counterfactual_probs: Array,
        prior_probs: Array,
        values: Array,
        *,
        predicts_next_step: bool = False,
        episode_starts: Array | None = None,
    ) -> TabularModel:
        """Build the model from probabilities instead of logits (zeros become ``-inf``).

        Parameters
        ----------
        counterfactual_probs : array of shape (T, N, N, K, A)
        prior_probs : array of shape (T, N, K)
        values : integer array of shape (T, N)
        predicts_next_step, episode_starts
            As in the constructor.

        Raises
        ------
        InvalidDistributionError
            If a probability is negative or a distribution does not sum to 1 (tolerance 1e-6).
        """
        logs = []
        for name, p in (
            ("counterfactual_probs", counterfactual_probs),
            ("prior_probs", prior_probs),
        ):
            if is_torch(p):
                import torch

                tensor: Any = p
                ok_sign = bool((tensor >= 0).all())
                ok_sum = bool(torch.allclose(tensor.sum(-1), torch.ones(()).to(tensor), atol=1e-6))
                logs.append(tensor.log())
            else:
                arr = np.asarray(p, dtype=np.float64)
                ok_sign = bool(np.all(arr >= 0))
                ok_sum = bool(np.allclose(arr.sum(-1), 1.0, atol=1e-6))
                with np.errstate(divide="ignore"):
                    logs.append(np.log(arr))
            if not (ok_sign and ok_sum):
                raise InvalidDistributionError(
                    f"{name}: expected non-negative probabilities summing to 1 along the last "
                    f"axis; got {describe(p)} that does not; normalise it first"
                )
        return cls(
            logs[0],
            logs[1],
            values,
            predicts_next_step=predicts_next_step,
            episode_starts=episode_starts,
        )

    @property
    def num_agents(self) -> int:
        return int(self._cf.shape[1])

    @property
    def num_steps(self) -> int:
        return int(self._cf.shape[0])

    @property
    def predicts_next_step(self) -> bool:
        return self._predicts_next_step

    def counterfactual_logits(
        self, influencers: Sequence[int], influencees: Sequence[int]
    ) -> Array:
        cf = _select_agents(self._cf, influencers, self.num_agents, "influencers", axis=1)
        return _select_agents(cf, influencees, self.num_agents, "influencees", axis=2)

    def influencer_logits(self, influencers: Sequence[int]) -> Array:
        return _select_agents(self._prior, influencers, self.num_agents, "influencers", axis=1)

    def influencer_values(self, influencers: Sequence[int]) -> Array:
        return _select_agents(self._values, influencers, self.num_agents, "influencers", axis=1)


# ------------------------------------------------------------------------------------------
# torch adapters

Features = Any  # torch.Tensor, a tuple/list of tensors, or None
Outputs = Literal["all", "others"]


def _map_features(fn: Callable[[Any], Any], features: Features) -> Features:
    if features is None:
        return None
    if isinstance(features, (tuple, list)):
        return type(features)(fn(f) for f in features)
    return fn(features)


def _leaves(features: Features) -> list[Any]:
    if features is None:
        return []
    if isinstance(features, (tuple, list)):
        return list(features)
    return [features]


def _require_torch(x: object, name: str) -> None:
    if not is_torch(x):
        raise DTypeError(f"{name}: expected a torch.Tensor; got {describe(x)}")


class _TorchBase:
    """Variant construction shared by :class:`TorchModel` and :class:`RecurrentTorchModel`."""

    def __init__(
        self,
        network: Callable[..., Any] | Sequence[Callable[..., Any]],
        features: Features,
        inputs: Any,
        *,
        prior_logits: Any,
        values: Any,
        encoder: Callable[[Any], Any] | None,
        per_influencer: bool,
        outputs: str,
        predicts_next_step: bool,
        one_hot: bool,
        pass_agent: bool,
        episode_starts: Any,
        grad: bool,
        max_batch: int | None,
        input_width: int | None,
        net_name: str,
    ) -> None:
        import torch

        _require_torch(prior_logits, "prior_logits")
        prior = validate_logits(prior_logits, "prior_logits")
        if prior.ndim != 3:
            raise ShapeError(
                f"prior_logits: expected shape (T, N, K), each agent's policy over the variable "
                f"that enters the network; got {describe(prior)}"
            )
        t, n, k = (int(s) for s in prior.shape)
        _require_torch(inputs, "inputs")
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
        else:
            if tuple(inputs.shape) != (t, n):
                raise ShapeError(
                    f"inputs: expected an int tensor of shape (T, N) = ({t}, {n}) or a float "
                    f"tensor of shape (T, N, D); got {describe(inputs)}"
                )
            inputs = inputs.long()
            if input_width is None:
                input_width = k
            if int(input_width) < k:
                raise ConfigError(f"input_width: expected an integer >= K = {k}; got {input_width}")
            _check_values(inputs, int(input_width), "inputs")
        if values is None:
            if inputs.is_floating_point():
                raise ConfigError(
                    "values: required when inputs are float vectors; pass the integer values "
                    "(T, N) each agent took at the step it chose them"
                )
            values = inputs
        _require_torch(values, "values")
        values = to_int(values, "values")
        if tuple(values.shape) != (t, n):
            raise ShapeError(f"values: expected shape (T, N) = ({t}, {n}); got {describe(values)}")
        _check_values(values, k, "values")
        if outputs not in ("all", "others"):
            raise ConfigError(f"outputs: expected 'all' or 'others'; got {outputs!r}")
        many = isinstance(network, (Sequence, torch.nn.ModuleList))
        if many:
            network = list(network)  # type: ignore[arg-type]
            if not per_influencer or len(network) != n:
                raise ConfigError(
                    f"{net_name}: a sequence of networks (one per agent) needs "
                    f"per_influencer=True and length N = {n}; got length {len(network)} with "
                    f"per_influencer={per_influencer}"
                )
            if not all(callable(f) for f in network):
                raise DTypeError(f"{net_name}: expected callables; got {describe(network)}")
        elif not callable(network):
            raise DTypeError(f"{net_name}: expected a callable or module; got {describe(network)}")
        if max_batch is not None and int(max_batch) < 1:
            raise ConfigError(f"max_batch: expected a positive integer or None; got {max_batch}")
        if encoder is None:
            self._check_features(features, t, n, per_influencer)
        self._network: Any = network
        self._many = many
        self._raw_features = features
        self._encoder = encoder
        self._features: Features = None if encoder is not None else features
        self._encoded = encoder is None
        self._inputs = inputs
        self._prior = prior
        self._values = values.to(prior.device)
        self._t, self._n, self._k = t, n, k
        self._per_influencer = bool(per_influencer)
        self._outputs = outputs
        self._predicts_next_step = bool(predicts_next_step)
        self._one_hot = bool(one_hot)
        self._pass_agent = bool(pass_agent)
        self._grad = bool(grad)
        self._max_batch = None if max_batch is None else int(max_batch)
        self.episode_starts = _check_episode_starts(episode_starts, t)
        self._input_width = k if input_width is None else int(input_width)
        self._net_name = net_name
        self._torch = torch
        self._x_real: Any = None

    # --- protocol -------------------------------------------------------------------------
    @property
    def num_agents(self) -> int:
        return self._n

    @property
    def num_steps(self) -> int:
        return self._t

    @property
    def predicts_next_step(self) -> bool:
        return self._predicts_next_step

    def influencer_logits(self, influencers: Sequence[int]) -> Any:
        return self._prior[:, _agent_index(influencers, self._n, "influencers")]

    def influencer_values(self, influencers: Sequence[int]) -> Any:
        return self._values[:, _agent_index(influencers, self._n, "influencers")]

    # --- helpers --------------------------------------------------------------------------
    @staticmethod
    def _check_features(features: Features, t: int, n: int, per_influencer: bool) -> None:
        lead = (t, n) if per_influencer else (t,)
        for leaf in _leaves(features):
            if not is_torch(leaf) or tuple(leaf.shape[: len(lead)]) != lead:
                raise ShapeError(
                    f"features: expected torch tensors with leading shape {lead} "
                    f"({'(T, N, ...) with per_influencer=True' if per_influencer else '(T, ...)'}"
                    f"); got {describe(leaf)}"
                )

    def features(self) -> Features:
        """The encoded features, computed once on first use (the encoder is never re-run)."""
        if not self._encoded:
            assert self._encoder is not None
            with self._grad_mode():
                feats = self._encoder(self._raw_features)
            self._check_features(feats, self._t, self._n, self._per_influencer)
            self._features = feats
            self._encoded = True
        return self._features

    def _grad_mode(self) -> Any:
        return self._torch.enable_grad() if self._grad else self._torch.no_grad()

    def _dtype(self) -> Any:
        for leaf in _leaves(self._features):
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
            f = _take(feats, (t_idx, agent) if self._per_influencer else t_idx)
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


def _take(tree: Features, index: Any) -> Features:
    """``v[index]`` for every tensor of a feature or state tree."""
    return _map_features(lambda v: v[index], tree)


class TorchModel(_TorchBase):
    """A torch policy (or model of other agents) whose input includes the influencer's value.

    The network is split by the caller into the part that does not depend on the influencer's
    value (``encoder``, run once, or precomputed ``features``) and the ``head`` that reads the
    value. For influencers ``ks`` the head is evaluated on every step, every influencer and
    every counterfactual value as one batch of ``T * I * K`` rows (evaluated in chunks of
    ``max_batch`` rows; one call when the batch is smaller).

    Parameters
    ----------
    head : callable or sequence of N callables (or ``torch.nn.ModuleList``)
        ``head(features, inputs) -> logits``, with ``features`` the batch of features (a tensor,
        tuple of tensors or None, leading dimension B), ``inputs`` a float tensor of shape
        (B, N, D) (one row per agent, one-hot by default) or, with ``one_hot=False``, an int64
        tensor of shape (B, N); with ``pass_agent=True`` a third argument, an int64 tensor of
        shape (B,), names the influencer whose value was replaced in each row. Returns logits
        of shape (B, N, A) (``outputs="all"``) or (B, N-1, A) for the N-1 agents other than the
        row's influencer in index order (``outputs="others"``). A sequence of N callables (with
        ``per_influencer=True``) gives each agent its own network; it is then called once per
        influencer.
    features : tensor, tuple of tensors, or None
        Per-step features, leading shape (T,) (shared by all influencers) or (T, N) with
        ``per_influencer=True`` (row k is what agent k's own model sees). With ``encoder`` these
        are the raw observations passed to it.
    inputs : tensor of shape (T, N) int or (T, N, D) float
        The agents' values **as the head saw them at each row** (real inputs). Integer inputs
        are one-hot encoded to width ``input_width`` (default K; K + 1 when the index K stands
        for "no message yet"). A counterfactual value c replaces influencer k's row by the unit
        vector e_c of length D (or by the index c with ``one_hot=False``).
    prior_logits : tensor of shape (T, N, K)
        Each agent's policy over its value at the step it chose it (marginal weights).
    values : int tensor of shape (T, N), optional
        The values taken, at the step they were chosen. Defaults to ``inputs`` when those are
        integers; pass it when the head reads the previous step's values (messages).
    encoder : callable, optional
        ``encoder(features) -> features`` evaluated once (the result is cached).
    per_influencer : bool, default False
        True when each agent evaluates its own model (a MOA): variant rows of influencer k read
        ``features[:, k]``.
    outputs : {"all", "others"}, default "all"
    predicts_next_step : bool, default False
        True when the head at row t predicts the influencees' actions at t+1 (MOA).
    one_hot : bool, default True
    pass_agent : bool, default False
    episode_starts : bool tensor or array of shape (T,), optional
        Read by the engine when it is not given one.
    grad : bool, default False
        Keep the autograd graph (influence differentiable in the network's parameters).
    max_batch : int or None, default 8192
        The variants are evaluated in chunks of at most this many rows: large enough to
        vectorise, small enough to stay in cache and bound memory (a single batch of hundreds of
        thousands of rows is slower). None evaluates all ``T * I * K`` variants in one call.
    input_width : int, optional
        One-hot width of integer inputs (default K).

    Examples
    --------
    A centralised policy in which agent 1 prefers to repeat agent 0's action (one-hot input):

    >>> import torch
    >>> from causal_influence.engine import pairwise_influence
    >>> def head(features, inputs):                       # (B, F), (B, 2, 2) -> (B, 2, 2)
    ...     follow = 3.0 * inputs[:, 0]                       # agent 1 follows agent 0
    ...     return torch.stack([features, features + follow], dim=1)
    >>> actions = torch.tensor([[0, 1], [1, 1], [0, 0]])
    >>> model = TorchModel(head, torch.zeros(3, 2), actions, prior_logits=torch.zeros(3, 2, 2))
    >>> result = pairwise_influence(model, alignment="same_step")
    >>> result.influence[:, 0]              # row = influencer 0: ln 2 - H_b(e^3 / (e^3 + 1))
    tensor([[0.0000, 0.5023],
            [0.0000, 0.5023],
            [0.0000, 0.5023]])
    """

    def __init__(
        self,
        head: Callable[..., Any] | Sequence[Callable[..., Any]],
        features: Features,
        inputs: torch.Tensor,
        *,
        prior_logits: torch.Tensor,
        values: torch.Tensor | None = None,
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
        super().__init__(
            head,
            features,
            inputs,
            prior_logits=prior_logits,
            values=values,
            encoder=encoder,
            per_influencer=per_influencer,
            outputs=outputs,
            predicts_next_step=predicts_next_step,
            one_hot=one_hot,
            pass_agent=pass_agent,
            episode_starts=episode_starts,
            grad=grad,
            max_batch=max_batch,
            input_width=input_width,
            net_name="head",
        )

    def counterfactual_logits(self, influencers: Sequence[int], influencees: Sequence[int]) -> Any:
        ks = _agent_index(influencers, self._n, "influencers")
        js = _agent_index(influencees, self._n, "influencees")
        with self._grad_mode():
            out = self._all_variants(ks, lambda net, f, x, extra, t, a: net(f, x, *extra))
            return self._select(out, ks, js, "head")


State = Any  # a tensor or a tuple/list of tensors, leading dimension = batch


class RecurrentTorchModel(_TorchBase):
    """A recurrent policy or MOA: counterfactuals are one-step evaluations from real states.

    The real sequence is run once (``step`` called once per row, batched over streams) to
    obtain the incoming recurrent state of every row; the state is reset to ``initial_state`` at
    row 0 and at every episode start. Then every counterfactual (every row, influencer and
    value) is evaluated as one batch (in chunks of ``max_batch`` rows) from its row's real
    incoming state; the counterfactual states are discarded (ENVS.md section 4.3).

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
        super().__init__(
            step,
            features,
            inputs,
            prior_logits=prior_logits,
            values=values,
            encoder=encoder,
            per_influencer=per_influencer,
            outputs=outputs,
            predicts_next_step=predicts_next_step,
            one_hot=one_hot,
            pass_agent=pass_agent,
            episode_starts=episode_starts,
            grad=grad,
            max_batch=max_batch,
            input_width=input_width,
            net_name="step",
        )
        self._streams = self._n if self._per_influencer else 1
        for leaf in _leaves(initial_state):
            if not is_torch(leaf) or leaf.ndim < 1 or leaf.shape[0] != self._streams:
                raise ShapeError(
                    f"initial_state: expected tensors with leading dimension S = "
                    f"{self._streams} (N with per_influencer=True, else 1); got {describe(leaf)}"
                )
        if not _leaves(initial_state):
            raise ShapeError("initial_state: expected a tensor or a tuple of tensors; got none")
        self._initial_state = initial_state
        if states is not None:
            for leaf in _leaves(states):
                if not is_torch(leaf) or tuple(leaf.shape[:2]) != (self._t, self._streams):
                    raise ShapeError(
                        f"states: expected tensors of leading shape (T, S) = "
                        f"({self._t}, {self._streams}); got {describe(leaf)}"
                    )
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
        leaves = _leaves(feats)
        by_step = [(v if per_agent else v.unsqueeze(1)).unbind(0) for v in leaves]
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
                    fa = _take(f, slice(a, a + 1))
                    sa = _take(state, slice(a, a + 1))
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
        ks = _agent_index(influencers, self._n, "influencers")
        js = _agent_index(influencees, self._n, "influencees")
        states = self.states()
        per_agent = self._per_influencer

        def evaluate(
            net: Callable[..., Any], f: Features, x: Any, extra: tuple[Any, ...], t: Any, a: Any
        ) -> Any:
            state = _take(states, (t, a) if per_agent else (t, self._torch.zeros_like(a)))
            return self._unpack(net(f, x, state, *extra))[0]

        with self._grad_mode():
            out = self._all_variants(ks, evaluate)
            return self._select(out, ks, js, "step")


# ------------------------------------------------------------------------------------------
# pyro


class PyroModel:
    """Influence between discrete sample sites of a Pyro program, by intervention and exact
    enumeration.

    The program must be vectorised over T rows: every site's distribution has batch shape
    ``(T,)`` (e.g. inside ``pyro.plate("steps", T)``) or broadcasts to it, and takes its data
    from ``args`` / ``kwargs``. Agent k's influencing variable is the site
    ``influencer_sites[k]`` and agent j's action the site ``influencee_sites[j]``.

    For influencer k, influencee j, row t and value c, the influencee logits are

        log p(Y_j = a | do(X_k = c), O = o)  (normalised over a)

    computed exactly: the program runs under ``pyro.poutine.do`` (X_k set to c),
    ``pyro.poutine.condition`` on the ``observed`` sites (except X_k and Y_j), and parallel
    enumeration of every other discrete latent site; the log-joint of every site executed up to
    and including Y_j is summed over all enumerated sites except Y_j. Sites executed after Y_j
    (its descendants) do not enter. The intervened site's own factor p(X_k = c | ...) is left
    out, as an intervention requires. The weights are the influencer's own distribution
    p(X_k | O = o) obtained the same way (sites up to X_k, X_k enumerated).

    Parameters
    ----------
    program : callable
        The Pyro model, ``program(*args, **kwargs)``.
    influencer_sites : sequence of N str
        Site of each agent's influencing variable (action or message).
    influencee_sites : sequence of N str, optional
        Site of each agent's action (default: ``influencer_sites``).
    observed : mapping of site name to tensor of shape (T,), optional
        Realised values of sites held fixed (the context; other agents' realised actions).
        Observed sites executed before the influencee condition its distribution (exactly, as
        a posterior over the enumerated latent sites).
    values : int tensor of shape (T, N), optional
        Realised values of the influencers' sites; defaults to ``observed[influencer_sites[k]]``.
    args, kwargs
        Passed to the program.
    max_plate_nesting : int, default 1
        Number of plate dimensions of the program (enumeration uses the dimensions to their left).
    predicts_next_step : bool, default False
        True when the influencee sites of row t are the actions at t+1 (see the module docstring).
    episode_starts : bool array of shape (T,), optional

    Notes
    -----
    Enumeration is brute force over the product of the latent supports (exact, meant for small
    discrete models); the program is run ``I * K + I`` times for I influencers.

    Examples
    --------
    Agent 1 copies agent 0 through a latent relay ``z`` that passes the action on with
    probability 0.9:

    >>> import torch, pyro, pyro.distributions as dist
    >>> def program(T):
    ...     with pyro.plate("steps", T):
    ...         a0 = pyro.sample("a0", dist.Categorical(torch.ones(2) / 2))
    ...         z = pyro.sample("z", dist.Bernoulli(0.9))
    ...         a1_probs = torch.stack([1 - a0.float(), a0.float()], -1)
    ...         a1_probs = z[..., None] * a1_probs + (1 - z[..., None]) * 0.5
    ...         pyro.sample("a1", dist.Categorical(a1_probs))
    >>> model = PyroModel(program, ["a0", "a1"], observed={"a0": torch.tensor([0, 1]),
    ...                   "a1": torch.tensor([0, 0])}, args=(2,))
    >>> model.counterfactual_logits([0], [1]).exp()[0, 0, 0]
    tensor([[0.9500, 0.0500],
            [0.0500, 0.9500]])
    """

    def __init__(
        self,
        program: Callable[..., Any],
        influencer_sites: Sequence[str],
        influencee_sites: Sequence[str] | None = None,
        *,
        observed: Mapping[str, Any] | None = None,
        values: Any = None,
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
        max_plate_nesting: int = 1,
        predicts_next_step: bool = False,
        episode_starts: Any = None,
    ) -> None:
        import torch

        if not callable(program):
            raise DTypeError(f"program: expected a callable Pyro model; got {describe(program)}")
        self._influencer_sites = [str(s) for s in influencer_sites]
        self._influencee_sites = (
            list(self._influencer_sites)
            if influencee_sites is None
            else [str(s) for s in influencee_sites]
        )
        n = len(self._influencer_sites)
        if n == 0 or len(self._influencee_sites) != n:
            raise ConfigError(
                f"influencee_sites: expected one site per agent, N = {n}; got "
                f"{len(self._influencee_sites)}"
            )
        self._program = program
        self._args = tuple(args)
        self._kwargs = dict(kwargs or {})
        self._observed = {str(k): v for k, v in (observed or {}).items()}
        if int(max_plate_nesting) < 1:
            raise ConfigError(
                f"max_plate_nesting: expected an integer >= 1 (the plate over the steps); got "
                f"{max_plate_nesting}"
            )
        self._max_plate_nesting = int(max_plate_nesting)
        self._predicts_next_step = bool(predicts_next_step)
        if values is None:
            missing = [s for s in self._influencer_sites if s not in self._observed]
            if missing:
                raise ConfigError(
                    f"values: the realised values of influencer sites {missing} are unknown; pass "
                    f"them in observed=... or as values (T, N)"
                )
            values = torch.stack(
                [torch.as_tensor(self._observed[s]) for s in self._influencer_sites], -1
            )
        self._values = to_int(torch.as_tensor(values), "values")
        if self._values.ndim != 2 or self._values.shape[1] != n:
            raise ShapeError(f"values: expected shape (T, N={n}); got {describe(self._values)}")
        self._t = int(self._values.shape[0])
        self.episode_starts = _check_episode_starts(episode_starts, self._t)
        self._prior_cache: dict[int, Any] = {}
        self._torch = torch

    @property
    def num_agents(self) -> int:
        return len(self._influencer_sites)

    @property
    def num_steps(self) -> int:
        return self._t

    @property
    def predicts_next_step(self) -> bool:
        return self._predicts_next_step

    def _trace(self, condition_on: dict[str, Any], intervene: dict[str, Any] | None) -> Any:
        import pyro.poutine as poutine
        from pyro.infer import config_enumerate

        program = self._program
        if intervene:
            program = poutine.do(program, data=intervene)
        program = poutine.condition(program, data=condition_on)
        program = config_enumerate(program, default="parallel")
        program = poutine.enum(program, first_available_dim=-1 - self._max_plate_nesting)
        trace = poutine.trace(program).get_trace(*self._args, **self._kwargs)
        trace.compute_log_prob()
        return trace

    def _site_logits(self, trace: Any, target: str, skip: set[str], skip_values: list[Any]) -> Any:
        """log p(target | sites before it), exact, as a (T, A) tensor of normalised logits."""
        torch = self._torch
        if target not in trace.nodes:
            raise ModelError(f"site {target!r} was not found in the program's trace")
        total: Any = torch.zeros(())
        found = None
        for name, node in trace.nodes.items():
            if node["type"] != "sample" or node.get("infer", {}).get("_do_not_score"):
                continue
            if name == target:
                found = node
            excluded = name in skip or any(node["value"] is v for v in skip_values)
            if not excluded:
                total = total + node["log_prob"]
            if name == target:
                break
        assert found is not None
        if found["is_observed"] or found["infer"].get("enumerate") != "parallel":
            raise ModelError(
                f"site {target!r}: expected a discrete site that can be enumerated (Categorical, "
                f"Bernoulli, ...); got {found['fn']!r}"
            )
        value = found["value"]
        enum_dim = -(value.dim() - int(found["fn"].event_dim))  # Y's dimension in log_prob
        plates = self._max_plate_nesting
        ndim = max(-enum_dim, plates)
        if total.dim() < ndim:
            total = total.reshape((1,) * (ndim - total.dim()) + tuple(total.shape))
        total = total.movedim(enum_dim, 0)  # (A, other enumerated dims..., plate dims...)
        a = int(total.shape[0])
        plate_shape = tuple(total.shape[total.dim() - plates :])
        if any(s != 1 for s in plate_shape[:-1]) or plate_shape[-1] not in (1, self._t):
            raise ModelError(
                f"site {target!r}: expected one plate of size T = {self._t} over the steps "
                f"(rightmost batch dimension) and no other plate; got plate shape {plate_shape}"
            )
        total = total.reshape(a, -1, plate_shape[-1]).logsumexp(1)  # sum out other sites
        total = total.expand(a, self._t).T  # (T, A)
        return total - total.logsumexp(-1, keepdim=True)

    def _condition_on(self, *exclude: str) -> dict[str, Any]:
        return {k: v for k, v in self._observed.items() if k not in exclude}

    def influencer_logits(self, influencers: Sequence[int]) -> Any:
        ks = _agent_index(influencers, self.num_agents, "influencers")
        out = []
        for k in ks:
            if k not in self._prior_cache:
                site = self._influencer_sites[k]
                trace = self._trace(self._condition_on(site), None)
                self._prior_cache[k] = self._site_logits(trace, site, set(), [])
            out.append(self._prior_cache[k])
        return self._torch.stack(out, 1)

    def influencer_values(self, influencers: Sequence[int]) -> Any:
        return self._values[:, _agent_index(influencers, self.num_agents, "influencers")]

    def counterfactual_logits(self, influencers: Sequence[int], influencees: Sequence[int]) -> Any:
        torch = self._torch
        ks = _agent_index(influencers, self.num_agents, "influencers")
        js = _agent_index(influencees, self.num_agents, "influencees")
        num_values = int(self.influencer_logits(ks).shape[-1])
        per_k = []
        for k in ks:
            x_site = self._influencer_sites[k]
            per_c = []
            for c in range(num_values):
                value = torch.full((self._t,), c, dtype=torch.long)
                per_j = []
                traces: dict[tuple[str, ...], Any] = {}
                for j in js:
                    y_site = self._influencee_sites[j]
                    key = (y_site,) if y_site in self._observed else ()
                    if key not in traces:
                        traces[key] = self._trace(self._condition_on(x_site, *key), {x_site: value})
                    if y_site == x_site:
                        # k's own site under an intervention on itself: not an influence pair.
                        per_j.append(torch.zeros(self._t, 1).expand(self._t, num_values))
                        continue
                    per_j.append(self._site_logits(traces[key], y_site, {x_site}, [value]))
                per_c.append(per_j)
            per_k.append(per_c)
        widths = {p.shape[-1] for pc in per_k for pj in pc for p in pj}
        a = max(widths)
        rows = [
            torch.stack(
                [
                    torch.stack([self._pad(per_k[i][c][j], a) for c in range(num_values)], 1)
                    for j in range(len(js))
                ],
                1,
            )
            for i in range(len(ks))
        ]
        return torch.stack(rows, 1)  # (T, I, J, K, A)

    def _pad(self, logits: Any, width: int) -> Any:
        if logits.shape[-1] == width:
            return logits
        pad = self._torch.full(
            (*logits.shape[:-1], width - logits.shape[-1]), -float("inf"), dtype=logits.dtype
        )
        return self._torch.cat([logits, pad], -1)
