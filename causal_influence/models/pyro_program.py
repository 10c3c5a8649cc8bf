"""Influence between discrete sample sites of a Pyro program, by intervention and exact
enumeration."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from causal_influence._optional import require
from causal_influence.errors import ConfigError, DTypeError, ModelError, describe
from causal_influence.validation import as_agent_indices, as_index, as_mask, check_shape

__all__ = ["PyroModel"]


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
        require("pyro", purpose="PyroModel (a model of a Pyro program)")
        import torch

        sites = _sites_iv(program, influencer_sites, influencee_sites, max_plate_nesting)
        self._influencer_sites, self._influencee_sites = sites
        self._program = program
        self._args = tuple(args)
        self._kwargs = dict(kwargs or {})
        self._observed = {str(k): v for k, v in (observed or {}).items()}
        self._max_plate_nesting = int(max_plate_nesting)
        self._predicts_next_step = bool(predicts_next_step)
        self._values = _values_iv(values, self._observed, self._influencer_sites)
        self._t = int(self._values.shape[0])
        starts = episode_starts
        self.episode_starts = (
            None if starts is None else as_mask(starts, "episode_starts", (self._t,), dims="(T,)")
        )
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
        ks = as_agent_indices(influencers, self.num_agents, "influencers")
        out = []
        for k in ks:
            if k not in self._prior_cache:
                site = self._influencer_sites[k]
                trace = self._trace(self._condition_on(site), None)
                self._prior_cache[k] = self._site_logits(trace, site, set(), [])
            out.append(self._prior_cache[k])
        return self._torch.stack(out, 1)

    def influencer_values(self, influencers: Sequence[int]) -> Any:
        return self._values[:, as_agent_indices(influencers, self.num_agents, "influencers")]

    def counterfactual_logits(self, influencers: Sequence[int], influencees: Sequence[int]) -> Any:
        torch = self._torch
        ks = as_agent_indices(influencers, self.num_agents, "influencers")
        js = as_agent_indices(influencees, self.num_agents, "influencees")
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


def _sites_iv(
    program: Any,
    influencer_sites: Sequence[str],
    influencee_sites: Sequence[str] | None,
    max_plate_nesting: int,
) -> tuple[list[str], list[str]]:
    """The influencer and influencee site of every agent, with the program and plates checked."""
    if not callable(program):
        raise DTypeError(f"program: expected a callable Pyro model; got {describe(program)}")
    sources = [str(s) for s in influencer_sites]
    targets = list(sources) if influencee_sites is None else [str(s) for s in influencee_sites]
    if not sources or len(targets) != len(sources):
        raise ConfigError(
            f"influencee_sites: expected one site per agent, N = {len(sources)}; got {len(targets)}"
        )
    if int(max_plate_nesting) < 1:
        raise ConfigError(
            f"max_plate_nesting: expected an integer >= 1 (the plate over the steps); got "
            f"{max_plate_nesting}"
        )
    return sources, targets


def _values_iv(values: Any, observed: Mapping[str, Any], sites: list[str]) -> Any:
    """The realised values (T, N) of the influencer sites: given, or read from ``observed``."""
    import torch

    if values is None:
        missing = [s for s in sites if s not in observed]
        if missing:
            raise ConfigError(
                f"values: the realised values of influencer sites {missing} are unknown; pass "
                f"them in observed=... or as values (T, N)"
            )
        values = torch.stack([torch.as_tensor(observed[s]) for s in sites], -1)
    values = as_index(torch.as_tensor(values), "values", None)
    return check_shape(values, "values", (None, len(sites)), dims=f"(T, N={len(sites)})")
