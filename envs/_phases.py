"""The phases of one gridworld step, as compiled (numba) functions.

A step of B environments runs the phases of docs/envs.md, section "One step", in order:
:func:`step_phases` (start: beams forgotten and timed-out agents counted; turns; moves and
conflicts; consumption; beams; hit timeouts), then the game's dynamics (its own compiled
function, named by its :class:`envs.grid_rules.GridRules`), then :func:`respawn_phase`.
:meth:`envs._engine.Game.step` makes these three calls. Each phase below works on the arrays
of one env and is inlined into the kernel by numba (``inline="always"``), so that splitting the
step into named phases costs no calls. Games differ only through data (the beam table of
:mod:`envs.grid_rules`) and through their dynamics, so these kernels read no game name and no
literal action id.

Random numbers: at each step env b draws ``4 N + len(growth_cells) + dynamics_uniforms``
uniforms from its splitmix64 counter, always the same count whatever happens, laid out as
``[0, N)`` tie-breaking keys, ``[N, 2N)`` beam-order keys, then the dynamics' uniforms, then
``2 N`` for respawns (cell, orientation).
"""

from __future__ import annotations

import numba
import numpy as np

from envs.grid_rules import (
    BEAM_ACTION,
    BEAM_CONVERTS,
    BEAM_CONVERTS_TO,
    BEAM_COSTS,
    BEAM_HITS,
    BEAM_MARK,
    EV_APPLES,
    EV_CLEANED,
    EV_FIRES,
    EV_HITS,
    EV_HITS_GIVEN,
    EV_TIMEOUT,
    MOVE_DOWN,
    MOVE_LEFT,
    MOVE_RIGHT,
    MOVE_UP,
    TURN_CLOCKWISE,
    TURN_COUNTERCLOCKWISE,
)
from envs.maps import APPLE, FLOOR

__all__ = ["any_outside", "occupancy", "respawn_phase", "step_phases", "uniforms"]

# Outcome of a mover in the chain/cycle resolution.
_UNKNOWN, _MOVES, _STAYS = 0, 1, 2


@numba.njit(cache=True, inline="always")
def uniforms(state: np.ndarray, b: int, out: np.ndarray) -> None:
    """Fill ``out`` with uniforms in [0, 1) from env b's splitmix64 counter ``state[b]``."""
    x = state[b]
    for k in range(out.shape[0]):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        z = x
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
        out[k] = (z >> np.uint64(11)) * (1.0 / 9007199254740992.0)
    state[b] = x


@numba.njit(cache=True)
def any_outside(values: np.ndarray, upper: int) -> bool:
    """True when some entry of the 2-d integer array ``values`` is outside ``[0, upper)``.

    One compiled pass instead of NumPy's ``min()`` and ``max()``: the check runs every step.
    """
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if values[i, j] < 0 or values[i, j] >= upper:
                return True
    return False


@numba.njit(cache=True, inline="always")
def occupancy(pos: np.ndarray, onmap: np.ndarray, out: np.ndarray) -> None:
    """Write into ``out`` (H, W) the index of the agent on each cell, -1 where there is none."""
    out[:, :] = -1
    for i in range(pos.shape[0]):
        if onmap[i]:
            out[pos[i, 0], pos[i, 1]] = i


@numba.njit(cache=True, inline="always")
def _start(
    timer: np.ndarray, timeout_remove: bool, active: np.ndarray, onmap: np.ndarray, ev: np.ndarray
) -> None:
    """Who acts this step (no running timeout) and who is on the grid."""
    for i in range(timer.shape[0]):
        active[i] = timer[i] == 0
        onmap[i] = active[i] or not timeout_remove
        if not active[i]:
            ev[EV_TIMEOUT, i] = 1


@numba.njit(cache=True, inline="always")
def _turn(orient: np.ndarray, actions: np.ndarray, active: np.ndarray) -> None:
    """Turns take effect at once; a turning agent does not move this step."""
    for i in range(orient.shape[0]):
        if active[i]:
            if actions[i] == TURN_CLOCKWISE:
                orient[i] = (orient[i] + 1) % 4
            elif actions[i] == TURN_COUNTERCLOCKWISE:
                orient[i] = (orient[i] + 3) % 4


@numba.njit(cache=True, inline="always")
def _is_move(a: int) -> bool:
    return a in (MOVE_LEFT, MOVE_RIGHT, MOVE_UP, MOVE_DOWN)


@numba.njit(cache=True, inline="always")
def _targets(
    pos: np.ndarray,
    orient: np.ndarray,
    actions: np.ndarray,
    active: np.ndarray,
    wall: np.ndarray,
    dirs: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Each agent's target cell (egocentric moves; walls and the edge block) and who moves."""
    h, w = wall.shape
    n = pos.shape[0]
    target = pos.copy()
    mover = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        a = actions[i]
        if active[i] and _is_move(a):
            o = orient[i]
            dr, dc = dirs[o, 0], dirs[o, 1]  # ahead
            rr_, rc_ = dirs[(o + 1) % 4, 0], dirs[(o + 1) % 4, 1]  # the agent's right
            if a == MOVE_LEFT:
                vr, vc = -rr_, -rc_
            elif a == MOVE_RIGHT:
                vr, vc = rr_, rc_
            elif a == MOVE_UP:
                vr, vc = dr, dc
            else:
                vr, vc = -dr, -dc
            tr, tc = pos[i, 0] + vr, pos[i, 1] + vc
            if 0 <= tr < h and 0 <= tc < w and not wall[tr, tc]:
                target[i, 0] = tr
                target[i, 1] = tc
                mover[i] = True
    return target, mover


@numba.njit(cache=True, inline="always")
def _break_ties(target: np.ndarray, mover: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Of the movers claiming one cell, only the one with the largest key may enter it."""
    n = target.shape[0]
    winner = mover.copy()
    for i in range(n):
        if not mover[i]:
            continue
        for j in range(n):
            same = target[j, 0] == target[i, 0] and target[j, 1] == target[i, 1]
            if j != i and mover[j] and same and keys[j] > keys[i]:
                winner[i] = False
                break
    return winner


@numba.njit(cache=True, inline="always")
def _resolve_moves(
    pos: np.ndarray, target: np.ndarray, winner: np.ndarray, occ: np.ndarray
) -> None:
    """Move the tie winners whose way is free (docs/envs.md, "Conflicts").

    Every winner points at the occupant of its target cell: a chain moves exactly when its
    front agent enters an empty cell, a cycle of length >= 3 rotates, a head-on swap fails.
    """
    n = pos.shape[0]
    status = np.zeros(n, dtype=np.int64)
    path = np.empty(n, dtype=np.int64)
    for i in range(n):
        if not winner[i] or status[i] != _UNKNOWN:
            continue
        length = 0
        cur = i
        result = _UNKNOWN
        while True:
            path[length] = cur
            length += 1
            occupant = occ[target[cur, 0], target[cur, 1]]
            if occupant < 0:
                result = _MOVES
                break
            if not winner[occupant]:
                result = _STAYS
                break
            if status[occupant] != _UNKNOWN:
                result = status[occupant]
                break
            if occupant == path[0]:
                result = _MOVES if length >= 3 else _STAYS
                break
            cur = occupant
        for p in range(length):
            status[path[p]] = result
    for i in range(n):
        if status[i] == _MOVES:
            pos[i, 0] = target[i, 0]
            pos[i, 1] = target[i, 1]


@numba.njit(cache=True, inline="always")
def _consume(
    grid: np.ndarray, pos: np.ndarray, onmap: np.ndarray, rewards: np.ndarray, ev: np.ndarray
) -> None:
    """Every agent on the grid eats the apple on its cell (+1), moved or not."""
    for i in range(pos.shape[0]):
        if onmap[i] and grid[pos[i, 0], pos[i, 1]] == APPLE:
            grid[pos[i, 0], pos[i, 1]] = FLOOR
            rewards[i] += 1.0
            ev[EV_APPLES, i] += 1


@numba.njit(cache=True, inline="always")
def _beam_kind(beam_table: np.ndarray, a: int) -> int:
    """Row of the beam fired by action ``a``, or -1 when ``a`` fires none."""
    for k in range(beam_table.shape[0]):
        if beam_table[k, BEAM_ACTION] == a:
            return k
    return -1


@numba.njit(cache=True, inline="always")
def _trace_ray(
    grid: np.ndarray,
    occ: np.ndarray,
    wall: np.ndarray,
    beams: np.ndarray,
    beam: np.ndarray,
    f: int,
    sr: int,
    sc: int,
    dr: int,
    dc: int,
    beam_len: int,
    hit_penalty: float,
    rewards: np.ndarray,
    ev: np.ndarray,
    hit: np.ndarray,
) -> None:
    """One ray of agent f's beam from (sr, sc) along (dr, dc), for at most ``beam_len`` cells."""
    h, w = wall.shape
    for k in range(beam_len):
        cr, cc = sr + k * dr, sc + k * dc
        if cr < 0 or cr >= h or cc < 0 or cc >= w or wall[cr, cc]:
            break
        beams[cr, cc] = beam[BEAM_MARK]
        if beam[BEAM_CONVERTS] >= 0 and grid[cr, cc] == beam[BEAM_CONVERTS]:
            grid[cr, cc] = beam[BEAM_CONVERTS_TO]
            ev[EV_CLEANED, f] += 1
            break
        victim = occ[cr, cc]
        if victim >= 0 and victim != f:
            if beam[BEAM_HITS]:
                rewards[victim] -= hit_penalty
                ev[EV_HITS, victim] += 1
                ev[EV_HITS_GIVEN, f] += 1
                hit[victim] = True
            break


@numba.njit(cache=True, inline="always")
def _fire_beams(
    grid: np.ndarray,
    pos: np.ndarray,
    orient: np.ndarray,
    actions: np.ndarray,
    active: np.ndarray,
    occ: np.ndarray,
    wall: np.ndarray,
    dirs: np.ndarray,
    beam_table: np.ndarray,
    keys: np.ndarray,
    beams: np.ndarray,
    beam_len: int,
    hit_penalty: float,
    fire_cost: float,
    rewards: np.ndarray,
    ev: np.ndarray,
) -> np.ndarray:
    """Beam users act one after another in a random order; returns who was hit (N,) bool.

    Each beam has three rays: the centre one starts in front of the user, the side ones
    beside it. Cells a beam converts are written before the next user's beam is traced.
    """
    n = pos.shape[0]
    users = np.empty(n, dtype=np.int64)
    user_keys = np.empty(n, dtype=np.float64)
    n_users = 0
    for i in range(n):
        if active[i] and _beam_kind(beam_table, actions[i]) >= 0:
            users[n_users] = i
            user_keys[n_users] = keys[i]
            n_users += 1
    order = np.argsort(user_keys[:n_users])
    hit = np.zeros(n, dtype=np.bool_)
    for q in range(n_users):
        f = users[order[q]]
        beam = beam_table[_beam_kind(beam_table, actions[f])]
        if beam[BEAM_COSTS]:
            rewards[f] -= fire_cost
            ev[EV_FIRES, f] += 1
        o = orient[f]
        dr, dc = dirs[o, 0], dirs[o, 1]
        rr_, rc_ = dirs[(o + 1) % 4, 0], dirs[(o + 1) % 4, 1]
        starts = ((dr, dc), (rr_, rc_), (-rr_, -rc_))  # centre, right side, left side
        for ray in range(3):
            sr, sc = pos[f, 0] + starts[ray][0], pos[f, 1] + starts[ray][1]
            _trace_ray(
                grid,
                occ,
                wall,
                beams,
                beam,
                f,
                sr,
                sc,
                dr,
                dc,
                beam_len,
                hit_penalty,
                rewards,
                ev,
                hit,
            )
    return hit


@numba.njit(cache=True, inline="always")
def _timeouts(
    timer: np.ndarray,
    active: np.ndarray,
    hit: np.ndarray,
    timeout_k: int,
    timeout_remove: bool,
    onmap: np.ndarray,
) -> None:
    """Agents hit this step start a timeout of ``timeout_k`` steps; running ones count down."""
    for i in range(timer.shape[0]):
        if timeout_k > 0 and hit[i] and active[i]:
            timer[i] = timeout_k
            if timeout_remove:
                onmap[i] = False
        elif timer[i] > 0 and not active[i]:
            timer[i] -= 1


@numba.njit(cache=True, inline="always")
def _respawn(
    pos: np.ndarray,
    orient: np.ndarray,
    timer: np.ndarray,
    active: np.ndarray,
    onmap: np.ndarray,
    spawn: np.ndarray,
    u: np.ndarray,
    base: int,
    h: int,
    w: int,
) -> None:
    """Removed agents whose timeout is over reappear on a free spawn point, facing anywhere."""
    n = pos.shape[0]
    for i in range(n):
        if not active[i] and timer[i] == 0:
            occ = np.empty((h, w), dtype=np.int64)
            occupancy(pos, onmap, occ)
            free = 0
            for s in range(spawn.shape[0]):
                if occ[spawn[s, 0], spawn[s, 1]] < 0:
                    free += 1
            pick = min(int(u[base + i] * free), free - 1)
            seen = 0
            for s in range(spawn.shape[0]):
                if occ[spawn[s, 0], spawn[s, 1]] < 0:
                    if seen == pick:
                        pos[i, 0] = spawn[s, 0]
                        pos[i, 1] = spawn[s, 1]
                        break
                    seen += 1
            orient[i] = min(int(u[base + n + i] * 4), 3)
            onmap[i] = True


# The phases before the game's dynamics are one kernel over every env, so that B envs cost one
# call from Python; its body is the list of phases in order, each phase a function above.
@numba.njit(cache=True)
def step_phases(
    grid: np.ndarray,  # (B, H, W) uint8
    pos: np.ndarray,  # (B, N, 2) int64
    orient: np.ndarray,  # (B, N) int64
    timer: np.ndarray,  # (B, N) int64
    beams: np.ndarray,  # (B, H, W) uint8
    actions: np.ndarray,  # (B, N) int64
    rng_state: np.ndarray,  # (B,) uint64, advanced in place
    wall: np.ndarray,  # (H, W) bool
    dirs: np.ndarray,  # (4, 2) orientation vectors
    beam_table: np.ndarray,  # (K, 6) the game's beams
    beam_len: int,
    hit_penalty: float,
    fire_cost: float,
    timeout_k: int,
    timeout_remove: bool,
    u: np.ndarray,  # (B, U) float64 out: this step's uniforms
    active: np.ndarray,  # (B, N) bool out: acted this step
    onmap: np.ndarray,  # (B, N) bool out: on the grid after the timeouts
    occ: np.ndarray,  # (B, H, W) int32 out: occupancy after the timeouts
    rewards: np.ndarray,  # (B, N) float64 out
    events: np.ndarray,  # (B, E, N) int32 out
) -> None:
    """Phases 1-6 of a step for every env: start, turns, moves, consumption, beams, timeouts."""
    n_env = grid.shape[0]
    n = pos.shape[1]
    for b in range(n_env):
        uniforms(rng_state, b, u[b])
        beams[b, :, :] = 0
        _start(timer[b], timeout_remove, active[b], onmap[b], events[b])
        _turn(orient[b], actions[b], active[b])
        here = occ[b]  # refilled after each phase that moves agents
        occupancy(pos[b], onmap[b], here)
        target, mover = _targets(pos[b], orient[b], actions[b], active[b], wall, dirs)
        winner = _break_ties(target, mover, u[b, :n])
        _resolve_moves(pos[b], target, winner, here)
        occupancy(pos[b], onmap[b], here)
        _consume(grid[b], pos[b], onmap[b], rewards[b], events[b])
        hit = _fire_beams(
            grid[b],
            pos[b],
            orient[b],
            actions[b],
            active[b],
            here,
            wall,
            dirs,
            beam_table,
            u[b, n : 2 * n],
            beams[b],
            beam_len,
            hit_penalty,
            fire_cost,
            rewards[b],
            events[b],
        )
        _timeouts(timer[b], active[b], hit, timeout_k, timeout_remove, onmap[b])
        occupancy(pos[b], onmap[b], here)


@numba.njit(cache=True)
def respawn_phase(
    pos: np.ndarray,  # (B, N, 2) int64
    orient: np.ndarray,  # (B, N) int64
    timer: np.ndarray,  # (B, N) int64
    active: np.ndarray,  # (B, N) bool, from step_phases
    onmap: np.ndarray,  # (B, N) bool, from step_phases, updated
    spawn: np.ndarray,  # (S, 2) spawn points
    u: np.ndarray,  # (B, U) this step's uniforms
    wall: np.ndarray,  # (H, W) bool
) -> None:
    """Phase 8 for every env: removed agents whose timeout ended reappear (last 2N uniforms)."""
    h, w = wall.shape
    base = u.shape[1] - 2 * pos.shape[1]
    for b in range(pos.shape[0]):
        _respawn(pos[b], orient[b], timer[b], active[b], onmap[b], spawn, u[b], base, h, w)
