"""The :class:`JointPolicyModel` protocol: what the influence engine asks of a model.

See :mod:`causal_influence.models` for the meaning of rows and time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from causal_influence._backend import Array

__all__ = ["JointPolicyModel"]


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
    num_envs : int, optional
        Not part of the required protocol: a model with an integer ``num_envs`` B returns
        every array with an environment axis after time, (T, B, ...), and the engine then
        aligns time within each environment (:mod:`causal_influence.engine`).

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
