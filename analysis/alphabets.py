"""Heterogeneous agents in the statistics: each agent's own alphabets, and which pairs apply.

The summary's count tables are padded to the largest alphabet (A actions, M symbols). An
agent with fewer actions never takes a padded action, and an agent that does not speak sends
no symbol (-1, skipped when the tables are counted), so its rows and columns are empty; the
statistics read each pair's table cut to the agents' own alphabets (:func:`pair_table`: the
Jaques forms of speaker consistency normalise by log|A| and log|M|, which must be the agent's
own), and leave out what does not apply: speaker consistency of an agent that never sent a
message, and symbol measures (symbol/action coordination, influence and CIC of messages)
with such an agent as the influencer (:func:`applicable_pairs`).

The sizes come from the trajectories' metadata (``agent_num_actions``,
``agent_num_symbols``), kept in :attr:`DatasetSummary.metadata
<analysis.summary.DatasetSummary.metadata>`.

Examples
--------
>>> import numpy as np
>>> from analysis.dataset import summarize
>>> from causal_influence.trajectory import Trajectory
>>> traj = Trajectory(np.array([[0, 4], [2, 1]]), np.ones((2, 2)),
...                   messages=np.array([[1, -1], [2, -1]]), num_symbols=3,
...                   agent_num_actions=(3, 5), agent_num_symbols=(3, 0))
>>> summary = summarize(traj)
>>> agent_alphabets(summary)
((3, 5), (3, 0))
>>> speaking_agents(summary), applicable_pairs(summary, "messages")
((0,), [(0, 1)])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analysis.resampling import ordered_pairs
from analysis.summary import DatasetSummary

__all__ = ["agent_alphabets", "applicable_pairs", "pair_table", "speaking_agents"]


def _counts(value: object, size: int, n: int) -> tuple[int, ...]:
    if isinstance(value, Sequence) and len(value) == n:
        return tuple(int(v) for v in value)
    return (size,) * n


def agent_alphabets(summary: DatasetSummary) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(number of actions, number of symbols) of each agent, within the summary's A and M."""
    n, meta = summary.num_agents, summary.metadata
    actions = _counts(meta.get("agent_num_actions"), summary.num_actions, n)
    symbols = _counts(meta.get("agent_num_symbols"), summary.num_symbols, n)
    return (
        tuple(min(a, summary.num_actions) for a in actions),
        tuple(min(m, summary.num_symbols) for m in symbols),
    )


def speaking_agents(summary: DatasetSummary) -> tuple[int, ...]:
    """Indices of the agents that have a vocabulary and sent at least one message."""
    if summary.sc is None:
        return ()
    _, symbols = agent_alphabets(summary)
    sent = summary.sc.sum(axis=(0, 2, 3)) > 0
    return tuple(k for k in range(summary.num_agents) if symbols[k] > 0 and sent[k])


def applicable_pairs(summary: DatasetSummary, variable: str | None) -> list[tuple[int, int]]:
    """Ordered pairs (k, j) for which a measure of k's ``variable`` applies: every pair for
    actions, pairs whose influencer speaks for messages."""
    pairs = list(ordered_pairs(summary.num_agents))
    if variable != "messages":
        return pairs
    speakers = set(speaking_agents(summary))
    return [(k, j) for k, j in pairs if k in speakers]


def pair_table(tables: np.ndarray, k: int, j: int, rows: int, cols: int) -> np.ndarray:
    """Per-unit table of pair (k, j), (U, rows, cols): ``tables[:, k, j]`` cut to k's
    alphabet (``rows``) and j's actions (``cols``).

    Examples
    --------
    >>> pair_table(np.ones((2, 2, 2, 4, 5)), 0, 1, 3, 2).shape
    (2, 3, 2)
    """
    return tables[:, k, j, :rows, :cols]
