# Long (about 710 lines): one streaming pass, the accumulator (about 430 lines) that every table
# of the analysis reads; its counterfactual part lives in analysis.counterfactuals.
r"""Streaming summaries of saved trajectories: everything the statistics need, in one pass.

:func:`summarize` reads trajectories one at a time (a list, a file, or a directory of shards
opened with :func:`causal_influence.io.open_dataset`) and accumulates count tables and sums.
Nothing of size "number of steps" is kept, so the memory used does not grow with the number of
shards: it is one shard (processed in blocks of rows) plus the accumulated tables.

What is accumulated, per *resampling unit* (see below), with k the influencer (speaker) and
j the influencee (listener):

- symbol/action and action/action coordination tables: counts of
  :math:`(m^k_t, a^j_{t+\mathrm{lag}})` and :math:`(a^k_t, a^j_{t+\mathrm{lag}})` for every
  ordered pair, over all steps and over the moments of high influence of k
  (:func:`causal_influence.communication.influential_moments`, the mean taken per episode);
  pairs never cross an episode boundary (:func:`causal_influence.communication.lagged_pairs`);
- speaker-consistency tables: counts of each agent's own :math:`(m^k_t, a^k_t)`;
- the stored pairwise influence (T, N, N): its sum and the number of valid steps; and the
  table of (influencer variable, influencee action) at the influence's own time alignment,
  whose independence is what the influence p-values test;
- when counterfactual logits are stored: the causal influence of communication (CIC) and the
  interventional responsiveness of every step and pair, the moments of high influence
  selected by the KL influence recomputed from them, and their null
  (:mod:`analysis.counterfactuals`);
- with messages and a context (:attr:`~causal_influence.trajectory.Trajectory.context`): the
  counts of each agent's own (message, context) pairs and of (context, message, next action)
  per ordered pair (grounded information and conditional coordination,
  :mod:`causal_influence.grounding`);
- social outcomes of every episode (:func:`causal_influence.social.social_outcomes`), the mean
  influence by step within the episode, and the first episode's influence trace.

Resampling units
----------------
Bootstrap intervals resample whole episodes. Up to ``max_units`` episodes each episode is its
own unit; beyond that, episode number e joins unit ``e % max_units`` and the units are
resampled instead (a cluster bootstrap with coarser clusters of whole, independent episodes),
which keeps the memory bounded however many episodes are read.

Episodes must not be split across trajectories (or shards); episode ids are local to each
trajectory.

Examples
--------
>>> import numpy as np
>>> from analysis.dataset import summarize
>>> rng = np.random.default_rng(0)
>>> actions = rng.integers(0, 2, size=(400, 2))
>>> actions[1:, 1] = actions[:-1, 0]                  # agent 1 repeats agent 0's last action
>>> summary = summarize({"actions": actions, "episode_ids": np.repeat(np.arange(4), 100)})
>>> summary.num_steps, summary.num_episodes, summary.num_units
(400, 4, 4)
>>> summary.ic_action.sum(axis=0)[0, 1]               # a^0_t against a^1_(t+1)
array([[188,   0],
       [  0, 208]])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis.counterfactuals import add_counterfactual_sums, add_moment_null, taken_influence
from analysis.sources import as_trajectory, iter_trajectories
from analysis.summary import ALPHABET_AXES, UNIT_TABLES, DatasetSummary, alphabet_axes, pad_to
from causal_influence.communication import influential_moments, lagged_pairs
from causal_influence.engine import ALIGNMENT_HINT, ALIGNMENTS
from causal_influence.errors import ConfigError, FileFormatError, ShapeError
from causal_influence.grounding import conditional_coordination_counts, grounding_counts
from causal_influence.noise import NOISE_FLOOR_NATS, noise_floor
from causal_influence.social import social_outcomes
from causal_influence.trajectory import InfluenceSpec, Trajectory, TrajectoryMeta
from causal_influence.trajectory.influence_spec import INFLUENCE_VARIABLES
from causal_influence.validation import (
    check_choice,
    check_count,
    check_probabilities,
    episode_numbers,
    next_step_valid,
    resolve_rng,
    steps_in_episode,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_MAX_UNITS",
    "INFLUENCE_VARIABLES",
    "MAX_TABLE_BYTES",
    "DatasetSummary",
    "check_summary_options",
    "iter_trajectories",
    "summarize",
    "valid_influence_steps",
]

#: Default number of bootstrap resampling units (episodes, or groups of episodes beyond it).
DEFAULT_MAX_UNITS = 200

#: Largest total size, in bytes, of the count tables :func:`summarize` may allocate; their size
#: grows with max_units x N^2 x |A|^2 (and |M| x |A|), so a file declaring a huge alphabet is
#: refused up front instead of failing (or swapping) while allocating.
MAX_TABLE_BYTES = 4 * 2**30

_BLOCK = 32768  # rows per block when building tables (bounds the temporary memory)
_EXAMPLE_MAX = 5000  # longest influence trace kept for plots
_PROFILE_MAX = 100_000  # longest within-episode step index kept for the profile


# ------------------------------------------------------------------------------ summary


def _flat_metadata(meta: TrajectoryMeta) -> dict[str, Any]:
    """Metadata as one flat dict (``extra`` merged into it, the fields winning)."""
    data = meta.to_dict()
    out = {k: v for k, v in data.items() if k != "extra"}
    extra = data.get("extra")
    if isinstance(extra, Mapping):
        out.update({k: v for k, v in extra.items() if k not in out})
    return out


def valid_influence_steps(traj: Trajectory, influence_lag: int | None) -> np.ndarray:
    """Steps at which a stored influence is measured, bool of shape (T,).

    Every step for same-step influence (``influence_lag`` 0 or None); for next-step influence
    (``influence_lag`` 1) every step but the last of each episode, which has no next action.

    Examples
    --------
    >>> from causal_influence.trajectory import Trajectory
    >>> traj = Trajectory([[0], [1], [1]], [[0.0]] * 3, episode_ids=[0, 0, 1], num_actions=2)
    >>> valid_influence_steps(traj, 1)
    array([ True, False, False])
    """
    return next_step_valid(traj.episode_starts, lag=influence_lag or 0)


def _alphabet(found: int, asked: int | None, option: str, what: str) -> int:
    """The alphabet size to count over: ``asked`` when given (never below the data's), else
    the data's."""
    if asked is None:
        return found
    if found > asked:
        raise ShapeError(
            f"{option}={asked} but the data has {found} {what}; pass the full alphabet size"
        )
    return asked


class _Accumulator:
    """Mutable state of :func:`summarize` (one instance per call)."""

    def __init__(
        self,
        *,
        lag: int,
        alignment: str | None,
        variable: str | None,
        num_actions: int | None,
        num_symbols: int | None,
        max_units: int,
        visible_only: bool,
        moment_permutations: int = 0,
        seed: int | None = None,
        intervention: np.ndarray | None = None,
    ) -> None:
        self.lag = lag
        self.moment_permutations = moment_permutations
        self.seed = seed
        self.intervention = intervention
        self.alignment_opt = alignment
        self.variable_opt = variable
        self.num_actions_opt = num_actions
        self.num_symbols_opt = num_symbols
        self.max_units = max_units
        self.visible_only = visible_only
        self.started = False
        self.n = 0
        self.a = 0
        self.m = 0
        self.k = 0
        self.g = 0
        self.influence_floor = NOISE_FLOOR_NATS
        self.agent_ids: tuple[str, ...] = ()
        self.metadata: dict[str, Any] = {}
        self.alignment: str | None = None
        self.variable: str | None = None
        self.influence_lag: int | None = None
        self.num_steps = 0
        self.num_episodes = 0
        self.t: dict[str, np.ndarray] = {}  # accumulated tables and sums
        self.social: list[pd.DataFrame] = []
        self.example_reward: np.ndarray | None = None
        self.example_moments: np.ndarray | None = None

    # -------------------------------------------------------------- set-up

    def _start(self, traj: Trajectory) -> None:
        """Read what every later trajectory must share from the first one."""
        meta = _flat_metadata(traj.metadata)
        self.metadata = meta
        self.n = traj.num_agents
        self.agent_ids = traj.metadata.agent_ids
        self.has_messages = traj.messages is not None
        self.has_influence = traj.influence is not None
        self.has_cf = self.has_influence and traj.counterfactual_logits is not None
        self.has_context = self.has_messages and traj.context is not None
        if self.visible_only and (traj.visible is None or not self.has_influence):
            missing = "visibility (visible)" if traj.visible is None else "stored influence"
            raise ConfigError(
                f"visible_only: keeps the influence on influencees the influencer sees, but the "
                f"trajectories have no {missing}; leave the option out or record it"
            )
        if self.has_influence:
            self._influence_reading(traj.metadata.influence_spec)
            assert traj.influence is not None
            self.influence_floor = noise_floor(traj.influence.dtype)
        elif self.variable_opt is not None:  # the variable whose coordination is tested
            self._check_variable(self.variable_opt)
            self.variable = self.variable_opt
        self.started = True

    def _check_variable(self, var: Any) -> None:
        check_choice("variable", var, INFLUENCE_VARIABLES)
        if var == "messages" and not self.has_messages:
            raise ConfigError(
                "variable='messages' but the trajectories carry no messages; pass "
                "variable='actions' or record the messages"
            )

    def _influence_reading(self, spec: InfluenceSpec | None) -> None:
        """The alignment and the influencer's variable of the stored influence: the options
        given, else the trajectory's typed influence spec."""
        align = self.alignment_opt or (spec.alignment if spec is not None else None)
        if align not in ALIGNMENTS:
            raise ConfigError(
                "the trajectories carry an influence tensor but its time alignment is "
                "unknown (no influence_spec in the metadata); store one with "
                "metadata={'influence_spec': InfluenceSpec(alignment=...)} or pass "
                "alignment='same_step' (a^k_t -> a^j_t) or 'next_step' "
                "(a^k_t or m^k_t -> a^j_(t+1))"
            )
        self.alignment = align
        self.influence_lag = 0 if align == "same_step" else 1
        var = self.variable_opt or (spec.variable if spec is not None else "actions")
        self._check_variable(var)
        self.variable = var

    def _sizes(self, traj: Trajectory) -> None:
        """Grow the tables to the trajectory's alphabets (or to the sizes asked for)."""
        a = _alphabet(traj.metadata.num_actions, self.num_actions_opt, "num_actions", "actions")
        m = 0
        if self.has_messages:
            m = _alphabet(traj.metadata.num_symbols, self.num_symbols_opt, "num_symbols", "symbols")
        g = traj.metadata.num_contexts if self.has_context else 0
        self._grow(max(a, self.a), max(m, self.m), max(g, self.g))

    def _grow(self, a: int, m: int, g: int) -> None:
        """Pad every accumulated table to alphabet sizes (a, m, g)."""
        k = m if self.variable == "messages" else a
        self._check_budget(a, m, k, g)
        for name in ALPHABET_AXES:
            if name in self.t:
                self.t[name] = pad_to(self.t[name], *alphabet_axes(name, a, m, k, g))
        self.a, self.m, self.k, self.g = a, m, k, g

    def _check_budget(self, a: int, m: int, k: int, g: int) -> None:
        """Refuse alphabets whose count tables would exceed :data:`MAX_TABLE_BYTES`."""
        n, u = self.n, self.max_units
        cells = 2 * n * n * a * a + 2 * n * n * m * a + n * m * a
        cells += n * n * g * m * a + n * m * g  # conditional coordination and grounding
        if self.has_influence:
            cells += n * n * k * a
        need = 8 * u * cells
        if need > MAX_TABLE_BYTES:
            raise ConfigError(
                f"num_actions={a}, num_symbols={m}: the count tables of {n} agents and "
                f"max_units={u} would need {need / 2**30:,.1f} GiB (limit "
                f"analysis.dataset.MAX_TABLE_BYTES = {MAX_TABLE_BYTES / 2**30:g} GiB); check the "
                f"metadata's alphabet sizes, or lower max_units"
            )

    def _zeros(self, name: str, shape: tuple[int, ...], dtype: Any = np.int64) -> np.ndarray:
        if name not in self.t:
            self.t[name] = np.zeros(shape, dtype=dtype)
        return self.t[name]

    # -------------------------------------------------------------- tables

    def _pair_counts(
        self,
        name: str,
        src: np.ndarray,
        dst: np.ndarray,
        unit: np.ndarray,
        t_idx: np.ndarray,
        lag: int,
        nx: int,
        mask: np.ndarray | None = None,
    ) -> None:
        """Add counts of (src[t, k], dst[t + lag, j]) per unit and ordered pair; steps where
        k has no value (-1: no message) are skipped."""
        n, u_max, ny = self.n, self.max_units, self.a
        missing = src < 0
        if missing.any():
            mask = ~missing if mask is None else mask & ~missing
        out = self._zeros(name, (u_max, n, n, nx, ny))
        flat = out.reshape(-1)
        kj = (np.arange(n)[:, None] * n + np.arange(n)[None, :])[None]
        for start in range(0, t_idx.size, _BLOCK):
            t = t_idx[start : start + _BLOCK]
            code = ((unit[t][:, None, None] * (n * n) + kj) * nx + src[t][:, :, None]) * ny + dst[
                t + lag
            ][:, None, :]
            if mask is not None:
                code = code[np.broadcast_to(mask[t][:, :, None], code.shape)]
            flat += np.bincount(code.ravel(), minlength=flat.size)

    def _own_counts(self, messages: np.ndarray, actions: np.ndarray, unit: np.ndarray) -> None:
        n, m, a = self.n, self.m, self.a
        out = self._zeros("sc", (self.max_units, n, m, a))
        flat = out.reshape(-1)
        agents = np.arange(n)[None, :]
        for start in range(0, actions.shape[0], _BLOCK):
            rows = slice(start, start + _BLOCK)
            code = ((unit[rows][:, None] * n + agents) * m + messages[rows]) * a + actions[rows]
            flat += np.bincount(code[messages[rows] >= 0], minlength=flat.size)  # -1: none

    def _unit_sums(self, name: str, values: np.ndarray, unit: np.ndarray) -> None:
        """Add values (P, N, N) into per-unit sums (U, N, N)."""
        n = self.n
        out = self._zeros(name, (self.max_units, n, n), np.float64)
        code = unit[:, None] * (n * n) + np.arange(n * n)[None, :]
        out += np.bincount(
            code.ravel(), weights=values.reshape(-1, n * n).ravel(), minlength=out.size
        ).reshape(out.shape)

    # -------------------------------------------------------------- one trajectory

    def add(self, traj: Trajectory) -> None:
        """Add the counts and sums of one (checked) trajectory."""
        if traj.num_steps == 0:
            raise ShapeError("actions: expected T > 0 steps; got a trajectory without steps")
        if not self.started:
            self._start(traj)
        if traj.num_agents != self.n:
            raise ShapeError(
                f"every trajectory must have the same agents; the first had N = {self.n}, this "
                f"one has actions of shape {traj.actions.shape}"
            )
        messages = None
        if self.has_messages:
            if traj.messages is None:
                raise FileFormatError("the first trajectory had messages but a later one has none")
            messages = traj.messages
        self._sizes(traj)
        actions, ids, t_len = traj.actions, traj.episode_ids, traj.num_steps
        local = episode_numbers(traj.episode_starts)  # episode number within the trajectory
        lengths = np.bincount(local)
        unit = (self.num_episodes + local) % self.max_units
        t_in = steps_in_episode(traj.episode_starts)
        ep_units = (self.num_episodes + np.arange(lengths.size)) % self.max_units
        np.add.at(self._zeros("unit_episodes", (self.max_units,)), ep_units, 1)
        np.add.at(self._zeros("unit_steps", (self.max_units,)), ep_units, lengths)

        pairs = lagged_pairs(t_len, self.lag, ids)
        self._pair_counts("ic_action", actions, actions, unit, pairs, self.lag, self.a)
        if messages is not None:
            self._pair_counts("ic_message", messages, actions, unit, pairs, self.lag, self.m)
            self._own_counts(messages, actions, unit)
        if self.has_influence:
            self._add_influence(traj, messages, unit, t_in, pairs)
        if self.has_context:
            self._add_context(traj, messages, unit)
        self._add_social(traj, local)
        self.num_steps += t_len
        self.num_episodes += lengths.size

    def _add_influence(
        self,
        traj: Trajectory,
        messages: np.ndarray | None,
        unit: np.ndarray,
        t_in: np.ndarray,
        pairs: np.ndarray,
    ) -> None:
        """Influence sums, the tables at moments of high influence (and their null), the
        dependence table, the profile within the episode and (with counterfactual logits) CIC
        and responsiveness."""
        if traj.influence is None:
            raise FileFormatError("the first trajectory had influence but a later one has none")
        n, actions, ids = self.n, traj.actions, traj.episode_ids
        valid = valid_influence_steps(traj, self.influence_lag)
        rows = np.flatnonzero(valid)
        off = 1.0 - np.eye(n)
        reward = np.empty((traj.num_steps, n))  # (T, N)
        # Blocks of steps: the (T, N, N) influence is never copied whole, so a shard's
        # summary needs little memory beyond the shard itself.
        for start in range(0, traj.num_steps, _BLOCK):
            block = slice(start, start + _BLOCK)
            infl = np.asarray(traj.influence[block], dtype=np.float64)
            if not np.all(np.isfinite(infl)):
                raise FileFormatError("influence: contains NaN or infinite values")
            if self.visible_only and traj.visible is not None:
                infl = np.where(traj.visible[block], infl, 0.0)
            infl = infl * off[None]
            reward[block] = infl.sum(axis=-1)
            here = np.flatnonzero(valid[block])
            self._unit_sums("influence_sum", infl[here], unit[block][here])
        np.add.at(self._zeros("influence_count", (self.max_units,)), unit[rows], 1)

        src = messages if self.variable == "messages" and messages is not None else actions
        moments = self._moments(traj, src, rows, unit, reward, pairs)
        self._zeros("high_steps", (n,))[...] += moments.sum(axis=0)
        self._pair_counts(
            "ic_action_high", actions, actions, unit, pairs, self.lag, self.a, moments
        )
        if messages is not None:
            self._pair_counts(
                "ic_message_high", messages, actions, unit, pairs, self.lag, self.m, moments
            )
        lag = int(self.influence_lag or 0)
        dep_pairs = lagged_pairs(traj.num_steps, lag, ids)
        self._pair_counts("dependence", src, actions, unit, dep_pairs, lag, self.k)
        self._add_profile(reward, moments, t_in, rows, valid, ids)

    def _moments(
        self,
        traj: Trajectory,
        src: np.ndarray,
        rows: np.ndarray,
        unit: np.ndarray,
        reward: np.ndarray,
        pairs: np.ndarray,
    ) -> np.ndarray:
        """Moments of high influence (T, N) of k's variable ``src`` at the valid ``rows``: with
        counterfactual logits from the KL influence recomputed per value of k's variable (and
        then CIC, responsiveness and the moments null are added), else from the stored
        influence reward (T, N)."""
        moments = np.zeros((traj.num_steps, self.n), dtype=bool)
        ids = traj.episode_ids
        if not self.has_cf:
            if rows.size:
                moments[rows] = influential_moments(
                    reward[rows], episode_ids=ids[rows], floor=self.influence_floor
                )
            return moments
        by_value = add_counterfactual_sums(
            traj,
            rows,
            unit,
            variable=self.variable,
            visible_only=self.visible_only,
            intervention=self.intervention,
            add=self._unit_sums,
        )
        np.add.at(self._zeros("cic_count", (self.max_units,)), unit[rows], 1)
        if rows.size:
            moments[rows] = influential_moments(
                taken_influence(by_value, src[rows]),
                episode_ids=ids[rows],
                floor=self.influence_floor,  # recomputed from logits stored in that dtype
            )
        if self.moment_permutations:
            n = self.n
            null = self._zeros("high_null", (self.moment_permutations, n, n, self.k, self.a))
            add_moment_null(
                null,
                by_value,
                src,
                rows,
                ids,
                traj.actions,
                pairs,
                lag=self.lag,
                seed=self.seed,
                floor=self.influence_floor,
            )
        return moments

    def _add_profile(
        self,
        reward: np.ndarray,
        moments: np.ndarray,
        t_in: np.ndarray,
        rows: np.ndarray,
        valid: np.ndarray,
        ids: np.ndarray,
    ) -> None:
        """Influence by step within the episode, and the first episode's trace."""
        n = self.n
        steps = np.minimum(t_in[rows], _PROFILE_MAX - 1)
        length = int(steps.max()) + 1 if steps.size else 0
        prof = self._zeros("profile_sum", (0, n), np.float64)
        pcount = self._zeros("profile_count", (0,))
        if length > prof.shape[0]:
            prof = self.t["profile_sum"] = pad_to(prof, (0,), (length,))
            pcount = self.t["profile_count"] = pad_to(pcount, (0,), (length,))
        for k in range(n):
            prof[:length, k] += np.bincount(steps, weights=reward[rows, k], minlength=length)
        pcount[:length] += np.bincount(steps, minlength=length)
        if self.example_reward is None:
            first = np.flatnonzero(ids == ids[0])[:_EXAMPLE_MAX]
            keep = first[valid[first]]
            self.example_reward = reward[keep]
            self.example_moments = moments[keep]

    def _add_context(self, traj: Trajectory, messages: np.ndarray | None, unit: np.ndarray) -> None:
        """Grounding and conditional-coordination counts of every unit in the trajectory."""
        if traj.context is None or messages is None:
            raise FileFormatError("the first trajectory had a context but a later one has none")
        n, m, g, a = self.n, self.m, self.g, self.a
        grounding = self._zeros("grounding", (self.max_units, n, m, g))
        cond = self._zeros("cond_coord", (self.max_units, n, n, g, m, a))
        for u in np.unique(unit):
            sel = unit == u
            grounding[u] += grounding_counts(
                messages[sel], traj.context[sel], num_symbols=m, num_contexts=g
            )
            cond[u] += conditional_coordination_counts(
                messages[sel],
                traj.actions[sel],
                traj.context[sel],
                lag=self.lag,
                episode_ids=traj.episode_ids[sel],
                num_symbols=m,
                num_actions=a,
                num_contexts=g,
            )

    def _add_social(self, traj: Trajectory, local_episode: np.ndarray) -> None:
        """Social outcomes of every episode (none when the rewards were not recorded)."""
        rewards = np.asarray(traj.rewards, dtype=np.float64)
        if np.isnan(rewards).all():
            return
        frame = social_outcomes(rewards, timeouts=None, episode_ids=local_episode)
        frame.insert(1, "episode_id", traj.episode_index[frame["episode"].to_numpy()])
        frame["episode"] = frame["episode"] + self.num_episodes
        self.social.append(frame)

    # -------------------------------------------------------------- result

    def finish(self) -> DatasetSummary:
        if not self.started:
            raise FileFormatError("no trajectories to summarise: the source is empty")
        import pandas as pd

        u = min(self.max_units, self.num_episodes)
        per_unit: dict[str, Any] = {
            name: self.t[name][:u] if name in self.t else None for name in UNIT_TABLES
        }
        return DatasetSummary(
            agent_ids=self.agent_ids,
            num_actions=self.a,
            num_symbols=self.m,
            lag=self.lag,
            alignment=self.alignment,
            variable=self.variable,
            influence_lag=self.influence_lag,
            num_steps=self.num_steps,
            num_episodes=self.num_episodes,
            **per_unit,
            high_steps=self.t.get("high_steps"),
            high_null=self.t.get("high_null"),
            high_null_kind=(
                None
                if "high_null" not in self.t
                else ("symbol/action" if self.variable == "messages" else "action/action")
            ),
            influence_floor=self.influence_floor,
            num_contexts=self.g,
            profile_sum=self.t.get("profile_sum"),
            profile_count=self.t.get("profile_count"),
            example_reward=self.example_reward,
            example_moments=self.example_moments,
            social=pd.concat(self.social, ignore_index=True) if self.social else None,
            metadata=self.metadata,
        )


# Long: docstring of 53 lines (eleven options); code 43 lines.
def summarize(
    source: Any,
    *,
    lag: int = 1,
    alignment: str | None = None,
    variable: str | None = None,
    num_actions: int | None = None,
    num_symbols: int | None = None,
    max_units: int = DEFAULT_MAX_UNITS,
    visible_only: bool = False,
    moment_permutations: int = 0,
    seed: int | None = None,
    intervention: Any = None,
    progress: bool = False,
) -> DatasetSummary:
    """Read every trajectory of ``source`` once and accumulate the tables of the statistics.

    Parameters
    ----------
    source : Trajectory, mapping of arrays, path, or iterable of these
        See :func:`analysis.sources.iter_trajectories`; each item becomes a checked
        trajectory with :func:`analysis.sources.as_trajectory`. Arrays are time-major, agent
        second: ``actions`` (T, N), ``messages`` (T, N), ``influence`` (T, N, N) (row =
        influencer k, column = influencee j), ``counterfactual_logits`` (T, N, N, K, A) with
        row t aligned with influence row t, ``logits`` (T, N, A), ``message_logits``
        (T, N, M), ``rewards`` (T, N), ``episode_ids`` (T,).
    lag : int
        Lag of instantaneous coordination (default 1: speaker at t, listener at t + 1).
    alignment : {"same_step", "next_step"}, optional
        Time alignment of the stored influence (default: the trajectories'
        :class:`~causal_influence.trajectory.InfluenceSpec`). Next-step influence is not
        measured on the last step of an episode.
    variable : {"actions", "messages"}, optional
        The influencer's variable of the stored influence (default: the influence spec's;
        "actions" for an alignment given without one). Without stored influence, the variable
        whose coordination the graph and the conclusions test (default: messages when there
        are any).
    num_actions, num_symbols : int, optional
        Alphabet sizes |A| and |M| (default: the trajectories' metadata).
    max_units : int
        Largest number of bootstrap resampling units (module docstring).
    visible_only : bool
        Count only influence on influencees visible to the influencer (needs ``visible``).
    moment_permutations : int
        With counterfactual logits: number B of within-episode permutations of k's variable
        under which the moments of high influence are re-selected (the null of the
        high-influence comparison; 0 skips it).
    seed : int, optional
        Seed of those permutations (each episode's are drawn from the seed and the episode's
        content, so every reading order gives the same tables).
    intervention : array_like of shape (K,), optional
        Intervention distribution of the responsiveness (default uniform over the K values of
        the influencer's variable).
    progress : bool
        Show a progress bar over trajectories (tqdm, on stderr).

    Returns
    -------
    DatasetSummary

    Raises
    ------
    ConfigError
        Unknown alignment or variable, or a source of the wrong kind.
    ShapeError, FileFormatError
        Trajectories that differ in agents or fields (non-finite influence is refused by the
        Trajectory itself), an empty source.
    """
    weights = check_summary_options(
        lag, max_units, num_actions, num_symbols, alignment, moment_permutations, intervention
    )
    if seed is None:
        seed = int(resolve_rng(None).integers(2**63))
    from tqdm.auto import tqdm

    acc = _Accumulator(
        lag=int(lag),
        alignment=alignment,
        variable=variable,
        num_actions=num_actions,
        num_symbols=num_symbols,
        max_units=int(max_units),
        visible_only=visible_only,
        moment_permutations=int(moment_permutations),
        seed=int(seed),
        intervention=weights,
    )
    bar = tqdm(desc="reading", unit="traj", disable=not progress, delay=0.5)
    for item in iter_trajectories(source):
        acc.add(as_trajectory(item))
        # Drop the reference before the next shard loads: otherwise the loop variable (or a
        # wrapping iterator's) holds this shard while the next one is read, two at a time.
        del item
        bar.update()
    bar.close()
    return acc.finish()


def check_summary_options(
    lag: int,
    max_units: int,
    num_actions: int | None,
    num_symbols: int | None,
    alignment: str | None,
    moment_permutations: int,
    intervention: Any,
) -> np.ndarray | None:
    """The checks of :func:`summarize`'s options (also :func:`analysis.shards.summarize_shards`'s);
    returns the intervention as float64 probabilities (K,), or None."""
    check_count("lag", lag)
    check_count("max_units", max_units, minimum=1)
    for name, size in (("num_actions", num_actions), ("num_symbols", num_symbols)):
        if size is not None:
            check_count(name, size, minimum=1)
    if alignment is not None:
        check_choice("alignment", alignment, ALIGNMENTS, hint=ALIGNMENT_HINT)
    if moment_permutations < 0:
        raise ConfigError(
            f"moment_permutations: expected a non-negative integer; got {moment_permutations}"
        )
    if intervention is None:
        return None
    weights = np.asarray(check_probabilities(intervention, "intervention"), dtype=np.float64)
    if weights.ndim != 1:
        raise ShapeError(
            f"intervention: expected probabilities of shape (K,); got shape {weights.shape}"
        )
    return weights
