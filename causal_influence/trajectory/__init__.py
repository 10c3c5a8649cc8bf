r"""The :class:`Trajectory` type: what agents record and what analysis reads.

A trajectory holds steps of one or more episodes of N agents, **time-major, agent second**:

=========================  ==========================  ========================================
field                      array of shape              meaning
=========================  ==========================  ========================================
``actions``                (T, N) int64                action index of each agent, in [0, A)
``rewards``                (T, N) float                reward of each agent
``episode_ids``            (T,) int64                  episode of each step (contiguous blocks)
``t``                      (T,) int64                  step within its episode (+1 per step)
``messages``               (T, N) int64, optional      symbol sent by each agent, in [0, M);
                                                       -1 = no message
``context``                (T, N) int64, optional      context label each agent sees, in
                                                       [0, G); -1 = no context
``logits``                 (T, N, A) float, optional   policy logits of each agent
``message_logits``         (T, N, M) float, optional   message-head logits of each agent
``visible``                (T, N, N) bool, optional    ``visible[t, i, j]``: j in i's view
``influence``              (T, N, N) float, optional   row = influencer k, column = influencee j
``counterfactual_logits``  (T, N, N, K, A), optional   ``[t, k, j, v, :]``: j's logits when k's
                                                       value (of step t) is replaced by v
                                                       (K values); -inf rows: absent
``obs``                    (T, N, ...), optional       observations (any numeric dtype); (T, N,
                                                       D) flattened with ``obs_shapes``
=========================  ==========================  ========================================

plus :class:`TrajectoryMeta` (agent ids ``agent_0 ... agent_{N-1}``, ``num_actions`` A,
``num_symbols`` M, ``num_contexts`` G, action, symbol and context names, env name and
version, seed, the :class:`InfluenceSpec` saying what stored influence means, and a
free-form, JSON-serialisable ``extra`` dict).

**Heterogeneous agents** (a speaker and a listener): each agent's number of actions
(``agent_num_actions``), vocabulary (``agent_num_symbols``, 0 for an agent that does not
speak) and observation shape (``obs_shapes``) are metadata; arrays are padded to the largest
(-inf logits, 0 observations) and nothing counts the padding. ``docs/trajectories.md``
describes the schema, the stored influence layout and tables from other codebases.

Shapes, dtypes and ranges are checked **once, when a trajectory is built**, with typed errors
(:class:`~causal_influence.errors.ShapeError`, :class:`~causal_influence.errors.DTypeError`,
:class:`~causal_influence.errors.InvalidDistributionError` for NaN logits,
:class:`~causal_influence.errors.ConfigError` for missing metadata) naming the field and the
first offending step and agent. A built trajectory is immutable (its arrays are read-only), so
everything downstream can trust it.

Episode boundaries can be given as ``episode_ids`` (T,), as ``episode_starts`` (T,) bool (True
on the first step of an episode) or as ``dones`` (T,) or (T, N) bool (True on the last step of
an episode); the trajectory offers all views (:attr:`Trajectory.episode_ids`,
:attr:`Trajectory.episode_starts`, :attr:`Trajectory.episode_ends`,
:attr:`Trajectory.episode_slices`, :meth:`Trajectory.episodes`).

Data from another codebase arrives through :meth:`Trajectory.from_arrays` (a dict of arrays,
stacked ``(T, N, ...)`` or per agent) or :meth:`Trajectory.from_dataframe` (a long table with
one row per episode, t and agent). Files are in :mod:`causal_influence.io`.

Modules
-------
=====================================================  ======================================
:mod:`~causal_influence.trajectory.schema`             field names, long-table column names
:mod:`~causal_influence.trajectory.influence_spec`     :class:`InfluenceSpec`, the stored
                                                       counterfactual layout
:mod:`~causal_influence.trajectory.metadata`           :class:`TrajectoryMeta`, JSON
                                                       normalisation, metadata of joins
:mod:`~causal_influence.trajectory.arrays`             array conversion and checks, episode
                                                       starts (errors located by field, index)
:mod:`~causal_influence.trajectory.episodes`           episode ids, starts and t from the
                                                       boundary form given
:mod:`~causal_influence.trajectory.fields`             the checks a new trajectory runs
:mod:`~causal_influence.trajectory.layouts`            the dict layouts of ``from_arrays``
:mod:`~causal_influence.trajectory.trajectory`         the :class:`Trajectory` type
:mod:`~causal_influence.trajectory.concatenation`      :func:`concat`
:mod:`~causal_influence.trajectory.long_table`         long tables (shared with the Parquet
                                                       files of :mod:`causal_influence.io`)
:mod:`~causal_influence.trajectory.dataframe`          pandas DataFrames as long tables
=====================================================  ======================================

Examples
--------
>>> import numpy as np
>>> from causal_influence.trajectory import Trajectory
>>> traj = Trajectory(
...     actions=np.array([[0, 1], [1, 1], [2, 0]]),
...     rewards=np.zeros((3, 2)),
...     episode_ids=np.array([0, 0, 1]),
...     num_actions=3,
... )
>>> traj
Trajectory(num_steps=3, num_agents=2, num_episodes=2, num_actions=3, fields=())
>>> traj.t
array([0, 1, 0])
>>> [len(ep) for ep in traj.episodes()]
[2, 1]
"""

from causal_influence.trajectory.concatenation import concat
from causal_influence.trajectory.influence_spec import InfluenceSpec, stored_counterfactuals
from causal_influence.trajectory.metadata import TrajectoryMeta
from causal_influence.trajectory.schema import (
    ARRAY_FIELDS,
    EPISODE_FIELDS,
    OPTIONAL_FIELDS,
    REQUIRED_FIELDS,
)
from causal_influence.trajectory.trajectory import (
    Trajectory,
    _rebuild,  # noqa: F401  (pickles written before the package split name it here)
)

__all__ = [
    "ARRAY_FIELDS",
    "EPISODE_FIELDS",
    "OPTIONAL_FIELDS",
    "REQUIRED_FIELDS",
    "InfluenceSpec",
    "Trajectory",
    "TrajectoryMeta",
    "concat",
    "stored_counterfactuals",
]
