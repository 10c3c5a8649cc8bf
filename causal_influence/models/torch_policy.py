"""A torch policy (or model of other agents) whose input includes the influencer's value."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from causal_influence.models.torch_base import Features, Outputs, TorchBase, forwarded
from causal_influence.validation import as_agent_indices

if TYPE_CHECKING:
    import torch

__all__ = ["TorchModel"]


class TorchModel(TorchBase):
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
        super().__init__(head, features, inputs, net_name="head", **forwarded(locals()))

    def counterfactual_logits(self, influencers: Sequence[int], influencees: Sequence[int]) -> Any:
        ks = as_agent_indices(influencers, self._n, "influencers")
        js = as_agent_indices(influencees, self._n, "influencees")
        with self._grad_mode():
            out = self._all_variants(ks, lambda net, f, x, extra, t, a: net(f, x, *extra))
            return self._unfold(self._select(out, ks, js, "head"))
