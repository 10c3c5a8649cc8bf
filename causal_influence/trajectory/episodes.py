"""Episode structure of a trajectory: episode ids, steps within episodes, episode starts.

A trajectory's episodes are contiguous blocks of steps. They arrive in one of three forms,
episode ids (T,), episode starts (T,) bool or dones (T,) or (T, N) bool, optionally with the
step within the episode ``t`` (T,); :func:`episode_structure` checks the form given and
returns all three views.

Examples
--------
>>> import numpy as np
>>> from causal_influence.trajectory.episodes import episode_structure
>>> ids, t, starts = episode_structure(4, dones=np.array([False, True, False, True]))
>>> ids, t, starts
(array([0, 0, 1, 1]), array([0, 1, 0, 1]), array([ True, False,  True, False]))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from causal_influence.errors import ShapeError, located_error
from causal_influence.trajectory.arrays import (
    bool_array,
    check_shape,
    first_true,
    int_array,
)
from causal_influence.validation import (
    as_episode_starts,
    boundary_form,
    episode_numbers,
    steps_in_episode,
)

__all__ = ["episode_structure"]


def episode_structure(
    num_steps: int,
    *,
    episode_ids: Any = None,
    episode_starts: Any = None,
    dones: Any = None,
    t: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked ``(episode_ids, t, episode_starts)`` from whichever boundary form was given.

    Parameters
    ----------
    num_steps : int
        Number of steps T.
    episode_ids : array_like of int, shape (T,), optional
        Episode of each step; each episode's steps must be contiguous.
    episode_starts : array_like of bool, shape (T,), optional
        True on the first step of an episode.
    dones : array_like of bool, shape (T,) or (T, N), optional
        True on the last step of an episode (with (T, N), every agent must agree).
    t : array_like of int, shape (T,), optional
        Step within the episode, >= 0, growing by 1 within an episode; default 0, 1, ... from
        each episode start.

    Returns
    -------
    episode_ids, t : ndarray of int64, shape (T,)
        Given ids, or 0, 1, ... counted from the starts.
    episode_starts : ndarray of bool, shape (T,)
        A fresh array (True on step 0). Without any boundary form, all steps are one episode.

    Raises
    ------
    ConfigError
        If more than one boundary form is given.
    ShapeError
        Wrong shapes, non-contiguous episode ids, agents that end at different steps,
        negative t or t not growing by 1 (located: the error names the first bad step).
    DTypeError
        Wrong dtypes.
    """
    boundary_form(episode_ids=episode_ids, episode_starts=episode_starts, dones=dones)
    if episode_ids is not None:
        ids, starts = _ids_and_starts(episode_ids, num_steps)
    else:
        if episode_starts is not None:
            starts = _starts_from_mask(episode_starts, num_steps)
        elif dones is not None:
            starts = as_episode_starts(num_steps, dones=_episode_dones(dones, num_steps))
        else:
            starts = np.zeros(num_steps, dtype=bool)
        starts[:1] = True
        ids = episode_numbers(starts)
    if t is None:
        return ids, steps_in_episode(starts), starts
    return ids, _checked_t(t, ids, starts, num_steps), starts


def _ids_and_starts(episode_ids: Any, num_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Episode ids as int64 (T,) and their starts; each id must form one contiguous block."""
    ids = int_array(episode_ids, "episode_ids")
    check_shape(ids, "episode_ids", (num_steps,), f"(T,) = ({num_steps},)")
    starts = as_episode_starts(num_steps, episode_ids=ids)
    block_ids = ids[starts]
    if np.unique(block_ids).size == block_ids.size:
        return ids, starts
    positions = np.flatnonzero(starts)
    order = np.argsort(block_ids, kind="stable")
    sorted_ids = block_ids[order]
    dup = np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1])
    second = positions[order[dup + 1]]
    k = int(np.argmin(second))
    first_pos, second_pos = int(positions[order[dup[k]]]), int(second[k])
    raise located_error(
        ShapeError,
        "episode_ids",
        f"episode_ids: expected each episode's steps to be contiguous; episode "
        f"{int(sorted_ids[dup[k]])} starts at step {first_pos} and again at step "
        f"{second_pos}; give each episode a distinct id",
        (second_pos,),
    )


def _starts_from_mask(episode_starts: Any, num_steps: int) -> np.ndarray:
    """A checked copy of the (T,) bool episode starts."""
    mask = bool_array(episode_starts, "episode_starts")
    check_shape(mask, "episode_starts", (num_steps,), f"(T,) = ({num_steps},)")
    return mask.copy()


def _episode_dones(dones: Any, num_steps: int) -> np.ndarray:
    """(T,) bool dones from (T,) or (T, N) dones; with (T, N) every agent must agree."""
    d = bool_array(dones, "dones")
    if d.ndim == 2:
        check_shape(d, "dones", (num_steps, None), f"(T,) or (T, N), T = {num_steps}")
        idx = first_true(d.any(axis=1) & ~d.all(axis=1))
        if idx is not None:
            raise located_error(
                ShapeError,
                "dones",
                f"dones: agents end their episode at different steps (step "
                f"{idx[0]}); a trajectory needs every agent at every step, so pass "
                f"episode_ids instead",
                idx,
            )
        d = np.asarray(d.all(axis=1))
    check_shape(d, "dones", (num_steps,), f"(T,) or (T, N), T = {num_steps}")
    return d


def _checked_t(t: Any, ids: np.ndarray, starts: np.ndarray, num_steps: int) -> np.ndarray:
    """The given steps within episodes as int64 (T,): >= 0 and growing by 1 in an episode."""
    steps = int_array(t, "t")
    check_shape(steps, "t", (num_steps,), f"(T,) = ({num_steps},)")
    idx = first_true(steps < 0)
    if idx is not None:
        raise located_error(
            ShapeError,
            "t",
            f"t: expected steps >= 0; got {int(steps[idx])} at step {idx[0]}",
            idx,
        )
    idx = first_true(~starts[1:] & (steps[1:] != steps[:-1] + 1))
    if idx is not None:
        i = idx[0] + 1
        raise located_error(
            ShapeError,
            "t",
            f"t: expected t to grow by 1 within an episode; episode {int(ids[i])} goes "
            f"from t={int(steps[i - 1])} to t={int(steps[i])} at step {i}; missing or "
            f"repeated steps, or two episodes under one id",
            (i,),
        )
    return steps
