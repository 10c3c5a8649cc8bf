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
    Row r holds a **prediction of j's action at r+1** made from k's value at step r (the MOA of
    agent k reads everyone's actions at t and predicts the others' actions at t+1). Only
    ``alignment="next_step"`` applies and rows are paired without a shift: influence row t is
    computed from counterfactual row t.

In both cases the engine credits the value to step t, the step at which k acted
(``docs/metrics.md``, section "Time alignment").

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
:class:`LinearInputModel`
    A recurrent policy built on a torch LSTM, GRU or RNN cell into which the influencer's value
    enters linearly: every counterfactual is the real pre-activation plus a difference of two
    columns of the cell's input weights, then the non-linearity and the head (no pass of the
    network per counterfactual).
:class:`PyroModel`
    A Pyro program with discrete sample sites: interventions with ``pyro.poutine.do`` and exact
    enumeration of every other discrete latent site.

Environment axis
----------------
The torch adapters take arrays with an environment axis after time, ``prior_logits`` of shape
(T, B, N, K) and the other arrays (T, B, ...), for B environments recorded side by side. Their
``num_envs`` is then B and every array they return has shape (T, B, ...); recurrent state is
kept per environment (the real sequence runs T steps batched over the environments) and
``episode_starts`` has shape (T, B). A model without the attribute (or with ``num_envs`` None)
has no environment axis.

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

from causal_influence.models.linear_input import LinearInputModel
from causal_influence.models.protocol import JointPolicyModel
from causal_influence.models.pyro_program import PyroModel
from causal_influence.models.recurrent import RecurrentTorchModel
from causal_influence.models.tabular import TabularModel
from causal_influence.models.torch_policy import TorchModel

__all__ = [
    "JointPolicyModel",
    "LinearInputModel",
    "PyroModel",
    "RecurrentTorchModel",
    "TabularModel",
    "TorchModel",
]
