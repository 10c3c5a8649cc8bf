"""Field names of a trajectory and the columns of its long table.

The long table has one row per (episode, t, agent). Scalar fields become one column each;
a vector field (the agent's slice of a (T, N, ...) array) becomes either one list column or
"wide" columns ``{prefix}_0 ... {prefix}_{W-1}`` holding the slice flattened in C order
(W = product of the trailing shape). :mod:`causal_influence.io` writes list columns;
:meth:`~causal_influence.trajectory.Trajectory.to_dataframe` writes either.

Examples
--------
>>> from causal_influence.trajectory.schema import COLUMN_OF, VECTOR_COLUMNS
>>> COLUMN_OF["actions"], COLUMN_OF["episode_ids"]
('action', 'episode')
>>> VECTOR_COLUMNS["logits"]
('logits', 'logit')
"""

from __future__ import annotations

__all__ = [
    "ARRAY_FIELDS",
    "COLUMN_OF",
    "EPISODE_FIELDS",
    "KEY_COLUMNS",
    "OPTIONAL_FIELDS",
    "REQUIRED_FIELDS",
    "SCALAR_COLUMNS",
    "VECTOR_COLUMNS",
]

#: Fields every trajectory has (``episode_ids`` and ``t`` default to one episode from t = 0).
REQUIRED_FIELDS: tuple[str, ...] = ("actions", "rewards")
#: Per-step episode bookkeeping, shape (T,).
EPISODE_FIELDS: tuple[str, ...] = ("episode_ids", "t")
#: Optional per-step fields, each of shape (T, N, ...).
OPTIONAL_FIELDS: tuple[str, ...] = (
    "messages",
    "context",
    "logits",
    "message_logits",
    "visible",
    "influence",
    "counterfactual_logits",
    "obs",
)
#: Every array field, in storage order.
ARRAY_FIELDS: tuple[str, ...] = REQUIRED_FIELDS + EPISODE_FIELDS + OPTIONAL_FIELDS

#: Long-table column of each per-agent scalar field.
SCALAR_COLUMNS: dict[str, str] = {
    "actions": "action",
    "rewards": "reward",
    "messages": "message",
    "context": "context",
}
#: Long-table columns of each per-agent vector field: (list column, prefix of wide columns).
VECTOR_COLUMNS: dict[str, tuple[str, str]] = {
    "logits": ("logits", "logit"),
    "message_logits": ("message_logits", "message_logit"),
    "visible": ("visible", "visible"),
    "influence": ("influence", "influence"),
    "counterfactual_logits": ("counterfactual_logits", "counterfactual_logit"),
    "obs": ("obs", "obs"),
}
#: Columns that locate a row: its episode, its step within the episode and its agent index.
KEY_COLUMNS: tuple[str, ...] = ("episode", "t", "agent")
#: Name of the long-table column of each field (list column for vector fields).
COLUMN_OF: dict[str, str] = {
    "episode_ids": "episode",
    "t": "t",
    **SCALAR_COLUMNS,
    **{name: cols[0] for name, cols in VECTOR_COLUMNS.items()},
}
