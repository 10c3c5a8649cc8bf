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
- when counterfactual logits are stored: the causal influence of communication (CIC) of every
  step and pair, from :func:`causal_influence.communication.causal_influence_of_communication`;
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
from scipy import special

from analysis.sources import as_trajectory, iter_trajectories
from analysis.summary import ALPHABET_AXES, DatasetSummary, alphabet_axes, pad_to
from causal_influence.communication import (
    causal_influence_of_communication,
    influential_moments,
    lagged_pairs,
)
from causal_influence.engine import ALIGNMENTS
from causal_influence.errors import ConfigError, FileFormatError, ShapeError
from causal_influence.social import social_outcomes
from causal_influence.trajectory import Trajectory, TrajectoryMeta

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_MAX_UNITS",
    "INFLUENCE_VARIABLES",
    "DatasetSummary",
    "iter_trajectories",
    "summarize",
    "valid_influence_steps",
]

#: Default number of bootstrap resampling units (episodes, or groups of episodes beyond it).
DEFAULT_MAX_UNITS = 200

#: The influencer's variables a stored influence may be of.
INFLUENCE_VARIABLES: tuple[str, ...] = ("actions", "messages")

_BLOCK = 32768  # rows per block when building tables (bounds the temporary memory)
_CIC_BLOCK = 2048  # rows per block for CIC (the per-row tensors are N * N * K * A)
_EXAMPLE_MAX = 5000  # longest influence trace kept for plots
_PROFILE_MAX = 100_000  # longest within-episode step index kept for the profile


# ------------------------------------------------------------------------------ summary


def _softmax(logits: np.ndarray) -> np.ndarray:
    return np.asarray(special.softmax(np.asarray(logits, dtype=np.float64), axis=-1))


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
    if influence_lag == 1:
        return np.asarray(~traj.episode_ends)
    return np.ones(traj.num_steps, dtype=bool)


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
    ) -> None:
        self.lag = lag
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
        if self.has_influence:
            self._influence_reading(meta)
        self.started = True

    def _influence_reading(self, meta: dict[str, Any]) -> None:
        """The alignment and the influencer's variable of the stored influence."""
        align = self.alignment_opt or meta.get("influence_alignment")
        if align not in ALIGNMENTS:
            raise ConfigError(
                f"the trajectories carry an influence tensor but its time alignment is "
                f"unknown (metadata influence_alignment = {align!r}); pass "
                f"alignment='same_step' (a^k_t -> a^j_t) or 'next_step' "
                f"(a^k_t or m^k_t -> a^j_(t+1))"
            )
        self.alignment = align
        self.influence_lag = 0 if align == "same_step" else 1
        var = self.variable_opt or meta.get("influence_variable")
        if var is None:
            var = "messages" if meta.get("setting") == "comm" else "actions"
        if var not in INFLUENCE_VARIABLES:
            raise ConfigError(
                f"variable: expected {' or '.join(map(repr, INFLUENCE_VARIABLES))}; got {var!r}"
            )
        if var == "messages" and not self.has_messages:
            raise ConfigError(
                "the influence is of messages (variable='messages') but the trajectories "
                "carry no messages"
            )
        self.variable = var

    def _sizes(self, traj: Trajectory) -> None:
        """Grow the tables to the trajectory's alphabets (or to the sizes asked for)."""
        a = traj.metadata.num_actions
        if self.num_actions_opt is not None:
            if a > self.num_actions_opt:
                raise ShapeError(
                    f"num_actions={self.num_actions_opt} but the data has {a} actions; pass the "
                    f"full alphabet size"
                )
            a = self.num_actions_opt
        m = 0
        if self.has_messages:
            m = traj.metadata.num_symbols
            if self.num_symbols_opt is not None:
                if m > self.num_symbols_opt:
                    raise ShapeError(
                        f"num_symbols={self.num_symbols_opt} but the data has {m} symbols; pass "
                        f"the full alphabet size"
                    )
                m = self.num_symbols_opt
        self._grow(max(a, self.a), max(m, self.m))

    def _grow(self, a: int, m: int) -> None:
        """Pad every accumulated table to alphabet sizes (a, m)."""
        k = m if self.variable == "messages" else a
        for name in ALPHABET_AXES:
            if name in self.t:
                self.t[name] = pad_to(self.t[name], *alphabet_axes(name, a, m, k))
        self.a, self.m, self.k = a, m, k

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
        """Add counts of (src[t, k], dst[t + lag, j]) per unit and ordered pair."""
        n, u_max, ny = self.n, self.max_units, self.a
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
            flat += np.bincount(code.ravel(), minlength=flat.size)

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
        local = np.cumsum(traj.episode_starts) - 1  # episode number within the trajectory
        lengths = np.bincount(local)
        unit = (self.num_episodes + local) % self.max_units
        t_in = np.arange(t_len) - np.repeat(np.cumsum(lengths) - lengths, lengths)
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
        """Influence sums, the tables at moments of high influence, the dependence table, the
        profile within the episode and (with counterfactual logits) CIC."""
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

        moments = np.zeros((traj.num_steps, n), dtype=bool)
        if rows.size:
            moments[rows] = influential_moments(reward[rows], episode_ids=ids[rows])
        self._zeros("high_steps", (n,))[...] += moments.sum(axis=0)
        self._pair_counts(
            "ic_action_high", actions, actions, unit, pairs, self.lag, self.a, moments
        )
        if messages is not None:
            self._pair_counts(
                "ic_message_high", messages, actions, unit, pairs, self.lag, self.m, moments
            )
        lag = int(self.influence_lag or 0)
        src = messages if self.variable == "messages" and messages is not None else actions
        dep_pairs = lagged_pairs(traj.num_steps, lag, ids)
        self._pair_counts("dependence", src, actions, unit, dep_pairs, lag, self.k)
        self._add_profile(reward, moments, t_in, rows, valid, ids)
        if self.has_cf:
            self._add_cic(traj, rows, unit)

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

    def _add_cic(self, traj: Trajectory, rows: np.ndarray, unit: np.ndarray) -> None:
        n = self.n
        cf = traj.counterfactual_logits
        prior_name = "message_logits" if self.variable == "messages" else "logits"
        prior = traj.message_logits if self.variable == "messages" else traj.logits
        if cf is None or prior is None:
            raise FileFormatError(
                f"counterfactual_logits need the influencer's policy ({prior_name}) for the "
                f"CIC weights; one of them is missing"
            )
        if prior.shape[-1] != cf.shape[3]:
            raise ShapeError(
                f"counterfactual_logits has K = {cf.shape[3]} counterfactual values but "
                f"{prior_name} has {prior.shape[-1]}"
            )
        off = ~np.eye(n, dtype=bool)
        for start in range(0, rows.size, _CIC_BLOCK):
            r = rows[start : start + _CIC_BLOCK]
            p_cond = _softmax(cf[r])
            p_cond[:, ~off] = 1.0 / p_cond.shape[-1]  # the diagonal is never used
            p_msg = np.broadcast_to(_softmax(prior[r])[:, :, None, :], p_cond.shape[:-1])
            value = causal_influence_of_communication(p_cond, p_msg, reduce=False)
            compat = causal_influence_of_communication(
                p_cond, p_msg, lowe_compat=True, reduce=False
            )
            self._unit_sums("cic_sum", np.where(off, value, 0.0), unit[r])
            self._unit_sums("cic_compat_sum", np.where(off, compat, 0.0), unit[r])
        count = self._zeros("cic_count", (self.max_units,))
        np.add.at(count, unit[rows], 1)

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

        def take(name: str) -> np.ndarray | None:
            arr = self.t.get(name)
            return None if arr is None else arr[:u]

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
            unit_episodes=self.t["unit_episodes"][:u],
            unit_steps=self.t["unit_steps"][:u],
            ic_action=self.t["ic_action"][:u],
            ic_action_high=take("ic_action_high"),
            ic_message=take("ic_message"),
            ic_message_high=take("ic_message_high"),
            sc=take("sc"),
            influence_sum=take("influence_sum"),
            influence_count=take("influence_count"),
            dependence=take("dependence"),
            high_steps=self.t.get("high_steps"),
            cic_sum=take("cic_sum"),
            cic_compat_sum=take("cic_compat_sum"),
            cic_count=take("cic_count"),
            profile_sum=self.t.get("profile_sum"),
            profile_count=self.t.get("profile_count"),
            example_reward=self.example_reward,
            example_moments=self.example_moments,
            social=pd.concat(self.social, ignore_index=True) if self.social else None,
            metadata=self.metadata,
        )


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
        Time alignment of the stored influence (default: the ``influence_alignment`` of the
        metadata). Next-step influence is not measured on the last step of an episode.
    variable : {"actions", "messages"}, optional
        The influencer's variable of the stored influence (default: metadata
        ``influence_variable``; else "messages" when the metadata ``setting`` is "comm", else
        "actions").
    num_actions, num_symbols : int, optional
        Alphabet sizes |A| and |M| (default: the trajectories' metadata).
    max_units : int
        Largest number of bootstrap resampling units (module docstring).
    visible_only : bool
        Count only influence on influencees visible to the influencer (needs ``visible``).
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
        Trajectories that differ in agents or fields, non-finite influence, an empty source.
    """
    if lag < 0:
        raise ConfigError(f"lag: expected a non-negative integer; got {lag}")
    if max_units < 1:
        raise ConfigError(f"max_units: expected a positive integer; got {max_units}")
    if alignment is not None and alignment not in ALIGNMENTS:
        raise ConfigError(
            f"alignment: expected {' or '.join(map(repr, ALIGNMENTS))}; got {alignment!r}"
        )
    from tqdm.auto import tqdm

    acc = _Accumulator(
        lag=int(lag),
        alignment=alignment,
        variable=variable,
        num_actions=num_actions,
        num_symbols=num_symbols,
        max_units=int(max_units),
        visible_only=visible_only,
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
