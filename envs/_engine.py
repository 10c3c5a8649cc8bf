"""The one implementation of the rules of Harvest and Cleanup, vectorised over B environments.

:class:`Game` keeps the state of B independent environments of one :class:`SSDConfig` as
arrays and advances them with compiled kernels (numba). Both the PettingZoo envs (B = 1) and
the batched :class:`envs.vector.VectorEnv` step through it, so every rule exists once.

Randomness: env b owns a ``numpy.random.Generator`` seeded by its own seed (used at resets)
and a splitmix64 counter derived from it at each reset (used inside the compiled step). Every
step draws the same fixed number of uniforms (tie-breaking keys, firing order, regrowth, waste,
respawn), whatever happens, so env b in a batch behaves exactly like a single env with the same
seed and actions.

Rules (ENVS.md section 1) with the reference's defects fixed (section 2):

1. beams of the previous step are forgotten; turns take effect;
2. moves and STAY are resolved together (egocentric moves; walls block; agents that turn, fire
   or clean are fixed obstacles). Ties for a cell are broken uniformly at random; then every
   winner points at the occupant of its target cell: chains move exactly when their front
   agent enters an empty cell, cycles of length >= 3 rotate, head-on swaps fail. Two agents
   never share a cell (the reference's double-occupancy defect is fixed);
3. every agent eats the apple on its cell (+1);
4. FIRE / CLEAN users act in a random order; FIRE costs ``fire_cost``; each beam has three rays
   (the centre one reaches ``beam_length`` cells ahead, the side ones start beside the agent);
   rays stop before walls and the grid edge and at the first agent (FIRE: ``-hit_penalty``),
   CLEAN rays also at the first waste cell, which becomes river; conversions apply before the
   next user's beam;
5. dynamics: Harvest regrowth from the apple count in the 3x3 neighbourhood (or the radius-2
   disc); Cleanup pollution and orchard growth from the waste density after cleaning;
6. hit timeouts (optional), respawns, observations.

Orientation codes: 0 UP, 1 RIGHT, 2 DOWN, 3 LEFT. Views are egocentric and consistent for every
facing: the cell ahead is at ``(V - 1, V)``, the cell on the agent's left at ``(V, V - 1)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from causal_influence.errors import ConfigError, ShapeError, describe
from envs.config import STAY, SSDConfig
from envs.maps import APPLE, FLOOR, RIVER, STREAM, WALL, WASTE

__all__ = [
    "AGENT_COLOURS",
    "CELL_COLOURS",
    "EVENT_NAMES",
    "Game",
    "StepResult",
    "agent_colours",
]

#: Direction vectors per orientation code (UP, RIGHT, DOWN, LEFT).
DIRS = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]], dtype=np.int64)

#: RGB of each cell content (floor, wall, apple, waste, river, stream), as the reference.
CELL_COLOURS = np.array(
    [[0, 0, 0], [180, 180, 180], [0, 255, 0], [99, 156, 194], [113, 75, 24], [113, 75, 24]],
    dtype=np.uint8,
)
#: Reference colours of agents 0-8; further agents take :func:`agent_colours`' palette.
AGENT_COLOURS = np.array(
    [
        [0, 0, 255],
        [2, 81, 154],
        [204, 0, 204],
        [216, 30, 54],
        [254, 151, 0],
        [100, 255, 255],
        [99, 99, 255],
        [250, 204, 255],
        [238, 223, 16],
    ],
    dtype=np.uint8,
)
#: Beam colours: index 1 FIRE (yellow), 2 CLEAN (cyan).
BEAM_COLOURS = np.array([[0, 0, 0], [255, 255, 0], [100, 255, 255]], dtype=np.uint8)

#: Per-agent event counters of :class:`StepResult`.
EVENT_NAMES: tuple[str, ...] = ("apples", "fires", "hits", "hits_given", "cleaned", "timeout")


def agent_colours(num_agents: int) -> np.ndarray:
    """RGB colour of each agent: the reference's 9, then a fixed golden-angle palette.

    The extra colours are distinct from each other, from the first nine and from the cell and
    beam colours.

    Examples
    --------
    >>> cols = agent_colours(12)
    >>> len({tuple(c) for c in cols})
    12
    """
    cols = [tuple(int(v) for v in c) for c in AGENT_COLOURS[:num_agents]]
    taken = {tuple(int(v) for v in c) for c in np.vstack([CELL_COLOURS, BEAM_COLOURS])}
    taken |= set(cols)
    k = 0
    while len(cols) < num_agents:
        hue = (k * 0.618033988749895) % 1.0
        k += 1
        rgb = _hsv_to_rgb(hue, 0.55 + 0.4 * ((k * 7) % 3) / 2, 0.95)
        if rgb not in taken:
            cols.append(rgb)
            taken.add(rgb)
    return np.array(cols, dtype=np.uint8).reshape(num_agents, 3)


def _hsv_to_rgb(h: float, s: float, v: float) -> tuple[int, int, int]:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return int(r * 255), int(g * 255), int(b * 255)


@dataclass(frozen=True, eq=False)
class StepResult:
    """What one step of B environments produced.

    Attributes
    ----------
    rewards : numpy.ndarray of float32, shape (B, N)
        Rewards after the optional collective / inequity-aversion transforms.
    extrinsic : numpy.ndarray of float32, shape (B, N)
        Sum of each agent's reward events (apples, hits, fire costs).
    events : dict of str to numpy.ndarray of int32, shape (B, N)
        ``apples`` eaten, ``fires`` (FIRE used), ``hits`` (times hit), ``hits_given``,
        ``cleaned`` (waste cells cleaned), ``timeout`` (1 while removed or frozen).
    """

    rewards: np.ndarray
    extrinsic: np.ndarray
    events: dict[str, np.ndarray]
    event_array: np.ndarray  # (B, len(EVENT_NAMES), N): the same counters, stacked


# --------------------------------------------------------------------------- kernels


@numba.njit(cache=True)
def _uniforms(state: np.ndarray, b: int, out: np.ndarray) -> None:
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
def _occupancy(pos: np.ndarray, onmap: np.ndarray, h: int, w: int) -> np.ndarray:
    occ = np.full((h, w), -1, dtype=np.int64)
    for i in range(pos.shape[0]):
        if onmap[i]:
            occ[pos[i, 0], pos[i, 1]] = i
    return occ


@numba.njit(cache=True)
def _dynamics(
    grid: np.ndarray,
    occ: np.ndarray,
    u: np.ndarray,
    u_off: int,
    is_cleanup: bool,
    cand: np.ndarray,
    rivers: np.ndarray,
    offs: np.ndarray,
    probs: np.ndarray,
    depletion: float,
    restoration: float,
    waste_p: float,
    apple_p: float,
) -> None:
    h, w = grid.shape
    if not is_cleanup:
        for c in range(cand.shape[0]):
            r0, c0 = cand[c, 0], cand[c, 1]
            if grid[r0, c0] != FLOOR or occ[r0, c0] >= 0:
                continue
            n = 0
            for o in range(offs.shape[0]):
                rr, cc = r0 + offs[o, 0], c0 + offs[o, 1]
                if 0 <= rr < h and 0 <= cc < w and grid[rr, cc] == APPLE:
                    n += 1
            if u[u_off + c] < probs[min(n, 3)]:
                grid[r0, c0] = APPLE
        return
    k_river = rivers.shape[0]
    waste = 0
    for c in range(k_river):
        if grid[rivers[c, 0], rivers[c, 1]] == WASTE:
            waste += 1
    density = waste / k_river if k_river > 0 else 0.0
    if density >= depletion:
        ap = 0.0
        wp = 0.0
    else:
        wp = waste_p
        ap = apple_p if density <= restoration else apple_p * (1.0 - density / depletion)
    for c in range(cand.shape[0]):
        r0, c0 = cand[c, 0], cand[c, 1]
        if grid[r0, c0] == FLOOR and occ[r0, c0] < 0 and u[u_off + c] < ap:
            grid[r0, c0] = APPLE
    clean = k_river - waste
    base = u_off + cand.shape[0]
    if clean > 0 and u[base] < 1.0 - (1.0 - wp) ** clean:
        pick = min(int(u[base + 1] * clean), clean - 1)
        seen = 0
        for c in range(k_river):
            if grid[rivers[c, 0], rivers[c, 1]] != WASTE:
                if seen == pick:
                    grid[rivers[c, 0], rivers[c, 1]] = WASTE
                    break
                seen += 1


@numba.njit(cache=True)
def _step_kernel(
    grid: np.ndarray,  # (B, H, W) uint8
    pos: np.ndarray,  # (B, N, 2) int64
    orient: np.ndarray,  # (B, N) int64
    timer: np.ndarray,  # (B, N) int64
    beams: np.ndarray,  # (B, H, W) uint8
    actions: np.ndarray,  # (B, N) int64
    rng_state: np.ndarray,  # (B,) uint64, advanced in place
    num_uniforms: int,
    wall: np.ndarray,  # (H, W) bool
    cand: np.ndarray,
    rivers: np.ndarray,
    spawn: np.ndarray,
    offs: np.ndarray,
    probs: np.ndarray,
    dirs: np.ndarray,
    is_cleanup: bool,
    beam_len: int,
    hit_penalty: float,
    fire_cost: float,
    timeout_k: int,
    timeout_remove: bool,
    depletion: float,
    restoration: float,
    waste_p: float,
    apple_p: float,
    rewards: np.ndarray,  # (B, N) float64 out
    events: np.ndarray,  # (B, 6, N) int32 out
) -> None:
    n_env, h, w = grid.shape
    n = pos.shape[1]
    n_cand = cand.shape[0]
    u = np.empty((n_env, num_uniforms), dtype=np.float64)
    for b in range(n_env):
        _uniforms(rng_state, b, u[b])
        beams[b, :, :] = 0
        active = np.empty(n, dtype=np.bool_)
        onmap = np.empty(n, dtype=np.bool_)
        for i in range(n):
            active[i] = timer[b, i] == 0
            onmap[i] = active[i] or not timeout_remove
            if not active[i]:
                events[b, 5, i] = 1
        # Turns.
        for i in range(n):
            if active[i]:
                if actions[b, i] == 5:
                    orient[b, i] = (orient[b, i] + 1) % 4
                elif actions[b, i] == 6:
                    orient[b, i] = (orient[b, i] + 3) % 4
        # Movement.
        occ = _occupancy(pos[b], onmap, h, w)
        target = pos[b].copy()
        mover = np.zeros(n, dtype=np.bool_)
        for i in range(n):
            a = actions[b, i]
            if active[i] and a < 4:
                o = orient[b, i]
                dr, dc = dirs[o, 0], dirs[o, 1]
                rr_, rc_ = dirs[(o + 1) % 4, 0], dirs[(o + 1) % 4, 1]
                if a == 0:
                    vr, vc = -rr_, -rc_
                elif a == 1:
                    vr, vc = rr_, rc_
                elif a == 2:
                    vr, vc = dr, dc
                else:
                    vr, vc = -dr, -dc
                tr, tc = pos[b, i, 0] + vr, pos[b, i, 1] + vc
                if 0 <= tr < h and 0 <= tc < w and not wall[tr, tc]:
                    target[i, 0] = tr
                    target[i, 1] = tc
                    mover[i] = True
        # Ties: the claimant with the largest key wins the cell.
        winner = mover.copy()
        for i in range(n):
            if not mover[i]:
                continue
            for j in range(n):
                same = target[j, 0] == target[i, 0] and target[j, 1] == target[i, 1]
                if j != i and mover[j] and same and u[b, j] > u[b, i]:
                    winner[i] = False
                    break
        # Chains and cycles among winners.
        status = np.zeros(n, dtype=np.int64)  # 0 unknown, 1 moves, 2 stays
        path = np.empty(n, dtype=np.int64)
        for i in range(n):
            if not winner[i] or status[i] != 0:
                continue
            length = 0
            cur = i
            result = 0
            while True:
                path[length] = cur
                length += 1
                occupant = occ[target[cur, 0], target[cur, 1]]
                if occupant < 0:
                    result = 1
                    break
                if not winner[occupant]:
                    result = 2
                    break
                if status[occupant] != 0:
                    result = status[occupant]
                    break
                if occupant == path[0]:
                    result = 1 if length >= 3 else 2
                    break
                cur = occupant
            for p in range(length):
                status[path[p]] = result
        for i in range(n):
            if status[i] == 1:
                pos[b, i, 0] = target[i, 0]
                pos[b, i, 1] = target[i, 1]
        occ = _occupancy(pos[b], onmap, h, w)
        # Consumption.
        for i in range(n):
            if onmap[i] and grid[b, pos[b, i, 0], pos[b, i, 1]] == APPLE:
                grid[b, pos[b, i, 0], pos[b, i, 1]] = FLOOR
                rewards[b, i] += 1.0
                events[b, 0, i] += 1
        # Beams, in a random order of the users.
        firers = np.empty(n, dtype=np.int64)
        keys = np.empty(n, dtype=np.float64)
        n_fire = 0
        for i in range(n):
            a = actions[b, i]
            if active[i] and (a == 7 or (is_cleanup and a == 8)):
                firers[n_fire] = i
                keys[n_fire] = u[b, n + i]
                n_fire += 1
        order = np.argsort(keys[:n_fire])
        hit = np.zeros(n, dtype=np.bool_)
        for q in range(n_fire):
            f = firers[order[q]]
            is_fire = actions[b, f] == 7
            if is_fire:
                rewards[b, f] -= fire_cost
                events[b, 1, f] += 1
            o = orient[b, f]
            dr, dc = dirs[o, 0], dirs[o, 1]
            rr_, rc_ = dirs[(o + 1) % 4, 0], dirs[(o + 1) % 4, 1]
            for ray in range(3):
                if ray == 0:
                    sr, sc = pos[b, f, 0] + dr, pos[b, f, 1] + dc
                elif ray == 1:
                    sr, sc = pos[b, f, 0] + rr_, pos[b, f, 1] + rc_
                else:
                    sr, sc = pos[b, f, 0] - rr_, pos[b, f, 1] - rc_
                for k in range(beam_len):
                    cr, cc = sr + k * dr, sc + k * dc
                    if cr < 0 or cr >= h or cc < 0 or cc >= w or wall[cr, cc]:
                        break
                    beams[b, cr, cc] = 1 if is_fire else 2
                    if not is_fire and grid[b, cr, cc] == WASTE:
                        grid[b, cr, cc] = RIVER
                        events[b, 4, f] += 1
                        break
                    victim = occ[cr, cc]
                    if victim >= 0 and victim != f:
                        if is_fire:
                            rewards[b, victim] -= hit_penalty
                            events[b, 2, victim] += 1
                            events[b, 3, f] += 1
                            hit[victim] = True
                        break
        # Timeouts of agents hit this step; countdown of the others.
        for i in range(n):
            if timeout_k > 0 and hit[i] and active[i]:
                timer[b, i] = timeout_k
                if timeout_remove:
                    onmap[i] = False
            elif timer[b, i] > 0 and not active[i]:
                timer[b, i] -= 1
        occ = _occupancy(pos[b], onmap, h, w)
        _dynamics(
            grid[b],
            occ,
            u[b],
            2 * n,
            is_cleanup,
            cand,
            rivers,
            offs,
            probs,
            depletion,
            restoration,
            waste_p,
            apple_p,
        )
        # Respawn removed agents whose timeout is over, on a free spawn point.
        if timeout_remove:
            base = 2 * n + n_cand + 2
            for i in range(n):
                if not active[i] and timer[b, i] == 0:
                    occ = _occupancy(pos[b], onmap, h, w)
                    free = 0
                    for s in range(spawn.shape[0]):
                        if occ[spawn[s, 0], spawn[s, 1]] < 0:
                            free += 1
                    pick = min(int(u[b, base + i] * free), free - 1)
                    seen = 0
                    for s in range(spawn.shape[0]):
                        if occ[spawn[s, 0], spawn[s, 1]] < 0:
                            if seen == pick:
                                pos[b, i, 0] = spawn[s, 0]
                                pos[b, i, 1] = spawn[s, 1]
                                break
                            seen += 1
                    orient[b, i] = min(int(u[b, base + n + i] * 4), 3)
                    onmap[i] = True


@numba.njit(cache=True)
def _observe_kernel(
    grid: np.ndarray,  # (B, H, W)
    pos: np.ndarray,  # (B, N, 2)
    orient: np.ndarray,  # (B, N)
    onmap: np.ndarray,  # (B, N) bool
    beams: np.ndarray,  # (B, H, W)
    dirs: np.ndarray,
    radius: int,
    beams_in_obs: bool,
    symbolic: bool,
    cell_colours: np.ndarray,
    agent_cols: np.ndarray,
    beam_cols: np.ndarray,
    out: np.ndarray,  # (B, N, S, S, C) uint8
    visible: np.ndarray,  # (B, N, N) uint8
) -> None:
    n_env, h, w = grid.shape
    n = pos.shape[1]
    size = 2 * radius + 1
    ch = out.shape[4]
    # One padded canvas per env, then each agent's window is copied out of it. Symbolic cells
    # are bit sets (bit k = channel k); RGB cells are indices into a palette (0 = black padding).
    n_pal = 1 + cell_colours.shape[0] + n + beam_cols.shape[0]
    palette = np.zeros((n_pal, 3), dtype=np.uint8)
    palette[1 : 1 + cell_colours.shape[0]] = cell_colours
    palette[1 + cell_colours.shape[0] : 1 + cell_colours.shape[0] + n] = agent_cols
    palette[1 + cell_colours.shape[0] + n :] = beam_cols
    agent_base = 1 + cell_colours.shape[0]
    beam_base = agent_base + n
    canvas = np.zeros((h + 2 * radius, w + 2 * radius), dtype=np.int64)
    for b in range(n_env):
        for r in range(h):
            for c in range(w):
                cell = grid[b, r, c]
                if symbolic:
                    bits = 0
                    if cell == WALL:
                        bits = 1
                    elif cell == APPLE:
                        bits = 2
                    elif cell == WASTE:
                        bits = 4
                    elif cell in (RIVER, STREAM):
                        bits = 8
                    canvas[r + radius, c + radius] = bits
                else:
                    canvas[r + radius, c + radius] = 1 + cell
        for i in range(n):
            if onmap[b, i]:
                r, c = pos[b, i, 0] + radius, pos[b, i, 1] + radius
                if symbolic:
                    canvas[r, c] |= 1 << (4 + i)
                else:
                    canvas[r, c] = agent_base + i
        if beams_in_obs:
            for r in range(h):
                for c in range(w):
                    beam = beams[b, r, c]
                    if beam > 0:
                        if symbolic:
                            canvas[r + radius, c + radius] |= 1 << (4 + n)
                        else:
                            canvas[r + radius, c + radius] = beam_base + beam
        for i in range(n):
            for j in range(n):
                near = (
                    abs(pos[b, i, 0] - pos[b, j, 0]) <= radius
                    and abs(pos[b, i, 1] - pos[b, j, 1]) <= radius
                )
                visible[b, i, j] = 1 if (onmap[b, i] and onmap[b, j] and near) else 0
            visible[b, i, i] = 1
            if not onmap[b, i]:
                out[b, i] = 0
                continue
            o = orient[b, i]
            dr, dc = dirs[o, 0], dirs[o, 1]
            rr_, rc_ = dirs[(o + 1) % 4, 0], dirs[(o + 1) % 4, 1]
            # Window cell (a, c) is canvas cell centre + (radius - a) * d + (c - radius) * r.
            r0 = pos[b, i, 0] + radius
            c0 = pos[b, i, 1] + radius
            for a in range(size):
                fwd = radius - a
                br = r0 + fwd * dr - radius * rr_
                bc = c0 + fwd * dc - radius * rc_
                for c in range(size):
                    code = canvas[br + c * rr_, bc + c * rc_]
                    if symbolic:
                        for k in range(ch):
                            out[b, i, a, c, k] = (code >> k) & 1
                    else:
                        out[b, i, a, c, 0] = palette[code, 0]
                        out[b, i, a, c, 1] = palette[code, 1]
                        out[b, i, a, c, 2] = palette[code, 2]


# --------------------------------------------------------------------------- Game


class Game:
    """B independent environments of one configuration, stepped as arrays.

    Parameters
    ----------
    config : SSDConfig
    num_envs : int
        B.

    Examples
    --------
    >>> import numpy as np
    >>> from envs.config import harvest_config
    >>> game = Game(harvest_config(num_agents=2, map="small_harvest"), num_envs=3)
    >>> game.reset([1, 2, 3])
    >>> out = game.step(np.full((3, 2), 4))
    >>> out.rewards.shape, game.observations()["view"].shape
    ((3, 2), (3, 2, 15, 15, 3))
    """

    def __init__(self, config: SSDConfig, num_envs: int = 1) -> None:
        if not isinstance(config, SSDConfig):
            raise ConfigError(f"config: expected an SSDConfig; got {describe(config)}")
        if int(num_envs) < 1:
            raise ConfigError(f"num_envs: expected a positive integer; got {num_envs!r}")
        self.config = config
        self.num_envs = int(num_envs)
        self.num_agents = config.num_agents
        pm = config.parsed
        self.height, self.width = pm.height, pm.width
        self._wall = pm.wall.copy()
        self._cand = np.argwhere(pm.apple_cells).astype(np.int64)
        self._rivers = np.argwhere(pm.river_cells).astype(np.int64)
        self._spawn = pm.spawn_points.astype(np.int64)
        if config.regrowth == "moore":
            offs = [(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1) if (i, j) != (0, 0)]
        else:
            offs = [
                (i, j)
                for i in range(-2, 3)
                for j in range(-2, 3)
                if (i, j) != (0, 0) and i * i + j * j <= 4
            ]
        self._offs = np.array(offs, dtype=np.int64)
        self._probs = np.array(config.regrowth_probs, dtype=np.float64)
        self._num_uniforms = 4 * self.num_agents + len(self._cand) + 2
        self._agent_cols = agent_colours(self.num_agents)
        b, n = self.num_envs, self.num_agents
        self.grid = np.zeros((b, self.height, self.width), dtype=np.uint8)
        self.positions = np.zeros((b, n, 2), dtype=np.int64)
        self.orientations = np.zeros((b, n), dtype=np.int64)
        self.timers = np.zeros((b, n), dtype=np.int64)
        self.beams = np.zeros((b, self.height, self.width), dtype=np.uint8)
        self.last_actions = np.full((b, n), STAY, dtype=np.int64)
        self.messages = np.full((b, n), config.num_symbols, dtype=np.int64)
        self.t = np.zeros(b, dtype=np.int64)
        self._smoothed = np.zeros((b, n), dtype=np.float64)
        self._rngs: list[np.random.Generator] = [np.random.default_rng(0) for _ in range(b)]
        # Per-env splitmix64 counters for the per-step draws (advanced inside the kernels).
        self._rng_state = np.zeros(b, dtype=np.uint64)
        self.symbolic_channels: tuple[str, ...] = (
            ("wall", "apple", "waste", "river")
            + tuple(f"agent_{i}" for i in range(n))
            + (("beam",) if config.beams_in_obs else ())
        )

    # ------------------------------------------------------------------ reset
    def reset(self, seeds: Any = None, env_ids: Any = None) -> None:
        """Reset the listed environments (all when ``env_ids`` is None).

        Parameters
        ----------
        seeds : int, sequence of (int or None), or None
            One seed per reset env (an int is used for a single env, or expanded with
            ``numpy.random.SeedSequence`` for several). ``None`` for an env continues its
            own generator (a new episode, not a re-seed).
        env_ids : sequence of int, optional
        """
        ids = np.arange(self.num_envs) if env_ids is None else np.asarray(env_ids, dtype=np.int64)
        seed_list = self._seed_list(seeds, len(ids))
        for b, seed in zip(ids.tolist(), seed_list, strict=True):
            if seed is not None:
                self._rngs[b] = np.random.default_rng(seed)
            rng = self._rngs[b]
            pm = self.config.parsed
            g = np.full((self.height, self.width), FLOOR, dtype=np.uint8)
            g[pm.wall] = WALL
            g[pm.initial_apples] = APPLE
            g[pm.river_cells] = RIVER
            g[pm.initial_waste] = WASTE
            g[pm.stream_cells] = STREAM
            self.grid[b] = g
            keys = rng.random(len(self._spawn))
            chosen = np.argsort(keys, kind="stable")[: self.num_agents]
            self.positions[b] = self._spawn[chosen]
            self.orientations[b] = np.minimum((rng.random(self.num_agents) * 4).astype(np.int64), 3)
            self.timers[b] = 0
            self.beams[b] = 0
            self.last_actions[b] = STAY
            self.messages[b] = self.config.num_symbols
            self.t[b] = 0
            self._smoothed[b] = 0.0
            self._rng_state[b] = np.uint64(int(rng.integers(0, 2**63)))
            u = rng.random(self._num_uniforms)
            occ = np.full((self.height, self.width), -1, dtype=np.int64)
            occ[self.positions[b, :, 0], self.positions[b, :, 1]] = np.arange(self.num_agents)
            cfg = self.config
            _dynamics(
                self.grid[b],
                occ,
                u,
                2 * self.num_agents,
                cfg.game == "cleanup",
                self._cand,
                self._rivers,
                self._offs,
                self._probs,
                cfg.depletion_threshold,
                cfg.restoration_threshold,
                cfg.waste_spawn_prob,
                cfg.apple_respawn_prob,
            )

    def _seed_list(self, seeds: Any, count: int) -> list[int | None]:
        if seeds is None:
            return [None] * count
        if isinstance(seeds, (int, np.integer)):
            if count == 1:
                return [int(seeds)]
            children = np.random.SeedSequence(int(seeds)).spawn(count)
            return [int(c.generate_state(1)[0]) for c in children]
        seq = list(seeds)
        if len(seq) != count:
            raise ShapeError(f"seeds: expected {count} seeds (one per env); got {len(seq)}")
        return [None if s is None else int(s) for s in seq]

    # ------------------------------------------------------------------ step
    def step(self, actions: Any, messages: Any = None) -> StepResult:
        """Advance every environment by one step.

        Parameters
        ----------
        actions : array_like of int, shape (B, N)
        messages : array_like of int, shape (B, N), optional
            Symbols emitted this step (message channel on); they appear in the observations
            this step returns.

        Returns
        -------
        StepResult
        """
        b, n = self.num_envs, self.num_agents
        acts = np.asarray(actions)
        if acts.shape != (b, n):
            raise ShapeError(f"actions: expected shape (B, N) = ({b}, {n}); got {describe(acts)}")
        if acts.dtype.kind not in "iu" or acts.min() < 0 or acts.max() >= self.config.num_actions:
            raise ShapeError(
                f"actions: expected integers in [0, {self.config.num_actions}) "
                f"({', '.join(self.config.action_names)}); got values in "
                f"[{acts.min()}, {acts.max()}] of dtype {acts.dtype}"
            )
        acts = acts.astype(np.int64)
        m = self.config.num_symbols
        if messages is not None:
            msgs = np.asarray(messages)
            if m == 0:
                raise ConfigError(
                    "messages were given but the message channel is off (num_symbols=0)"
                )
            if msgs.shape != (b, n) or msgs.min() < 0 or msgs.max() >= m:
                raise ShapeError(
                    f"messages: expected integers in [0, {m}) of shape ({b}, {n}); got "
                    f"{describe(msgs)}"
                )
        elif m > 0:
            raise ConfigError(
                f"the message channel is on (num_symbols={m}): pass messages of shape ({b}, {n})"
            )
        rewards = np.zeros((b, n), dtype=np.float64)
        events = np.zeros((b, len(EVENT_NAMES), n), dtype=np.int32)
        cfg = self.config
        _step_kernel(
            self.grid,
            self.positions,
            self.orientations,
            self.timers,
            self.beams,
            acts,
            self._rng_state,
            self._num_uniforms,
            self._wall,
            self._cand,
            self._rivers,
            self._spawn,
            self._offs,
            self._probs,
            DIRS,
            cfg.game == "cleanup",
            cfg.beam_length,
            float(cfg.hit_penalty),
            float(cfg.fire_cost),
            cfg.hit_timeout,
            cfg.hit_timeout_mode == "remove",
            cfg.depletion_threshold,
            cfg.restoration_threshold,
            cfg.waste_spawn_prob,
            cfg.apple_respawn_prob,
            rewards,
            events,
        )
        self.last_actions[:] = acts
        if messages is not None:
            self.messages[:] = np.asarray(messages, dtype=np.int64)
        self.t += 1
        shaped = self._transform(rewards)
        return StepResult(
            rewards=shaped.astype(np.float32),
            extrinsic=rewards.astype(np.float32),
            events={name: events[:, k] for k, name in enumerate(EVENT_NAMES)},
            event_array=events,
        )

    def _transform(self, rewards: np.ndarray) -> np.ndarray:
        cfg = self.config
        out = rewards
        if cfg.inequity_alpha or cfg.inequity_beta:
            self._smoothed = cfg.inequity_smoothing * self._smoothed + rewards
            e = self._smoothed
            diff = e[:, None, :] - e[:, :, None]  # diff[b, i, j] = e_j - e_i
            n = self.num_agents
            envy = np.clip(diff, 0, None).sum(axis=2)
            guilt = np.clip(-diff, 0, None).sum(axis=2)
            out = out - (cfg.inequity_alpha * envy + cfg.inequity_beta * guilt) / (n - 1)
        if cfg.collective_reward:
            out = np.broadcast_to(out.sum(axis=1, keepdims=True), out.shape).copy()
        return out

    # ------------------------------------------------------------------ views
    @property
    def on_map(self) -> np.ndarray:
        """(B, N) bool: agents present on the grid (not removed by a hit timeout)."""
        if self.config.hit_timeout_mode == "remove":
            return self.timers == 0
        return np.ones_like(self.timers, dtype=bool)

    def observations(self) -> dict[str, np.ndarray]:
        """Observations of every agent of every environment.

        Returns
        -------
        dict
            ``"view"`` (B, N, S, S, 3) uint8 RGB or (B, N, S, S, C) uint8 symbolic (S = 2V+1;
            a removed agent sees black); ``"actions"`` (B, N) all agents' actions of the step
            that produced the observation (STAY after reset); ``"visible"`` (B, N, N) uint8
            (``[b, i, j]`` = j inside i's window, 1 on the diagonal, 0 for removed agents);
            ``"messages"`` (B, N) previous-step symbols (``num_symbols`` = none yet) when the
            channel is on.
        """
        cfg = self.config
        size = cfg.view_size
        symbolic = cfg.obs_type == "symbolic"
        channels = len(self.symbolic_channels) if symbolic else 3
        view = np.empty((self.num_envs, self.num_agents, size, size, channels), dtype=np.uint8)
        visible = np.empty((self.num_envs, self.num_agents, self.num_agents), dtype=np.uint8)
        _observe_kernel(
            self.grid,
            self.positions,
            self.orientations,
            self.on_map,
            self.beams,
            DIRS,
            cfg.view_radius,
            cfg.beams_in_obs,
            symbolic,
            CELL_COLOURS,
            self._agent_cols,
            BEAM_COLOURS,
            view,
            visible,
        )
        obs: dict[str, np.ndarray] = {
            "view": view,
            "actions": self.last_actions.copy(),
            "visible": visible,
        }
        if cfg.num_symbols > 0:
            obs["messages"] = self.messages.copy()
        return obs

    def visibility(self) -> np.ndarray:
        """(B, N, N) uint8: ``[b, i, j]`` = 1 when j lies in i's (2V+1)x(2V+1) window."""
        delta = np.abs(self.positions[:, :, None, :] - self.positions[:, None, :, :])
        vis = (delta <= self.config.view_radius).all(axis=-1)
        onmap = self.on_map
        vis &= onmap[:, :, None] & onmap[:, None, :]
        idx = np.arange(self.num_agents)
        vis[:, idx, idx] = True
        return vis.astype(np.uint8)

    def render(self, env_index: int = 0) -> np.ndarray:
        """(H, W, 3) uint8 picture of the whole map with agents and the last step's beams."""
        b = self._env(env_index)
        img = CELL_COLOURS[self.grid[b]].copy()
        onmap = self.on_map[b]
        pos = self.positions[b][onmap]
        img[pos[:, 0], pos[:, 1]] = self._agent_cols[np.flatnonzero(onmap)]
        beam = self.beams[b]
        img[beam > 0] = BEAM_COLOURS[beam[beam > 0]]
        return img

    def state(self, env_index: int = 0) -> np.ndarray:
        """(H, W) uint8 global grid: cell codes 0 floor, 1 wall, 2 apple, 3 waste, 4 river,
        5 stream, and 6 + i where agent i stands."""
        b = self._env(env_index)
        s = self.grid[b].copy()
        onmap = self.on_map[b]
        pos = self.positions[b][onmap]
        s[pos[:, 0], pos[:, 1]] = 6 + np.flatnonzero(onmap)
        return s

    # ------------------------------------------------------------------ test hooks
    def _env(self, env_index: int) -> int:
        if not 0 <= int(env_index) < self.num_envs:
            raise ShapeError(f"env_index: expected 0 <= index < {self.num_envs}; got {env_index}")
        return int(env_index)

    def set_agent(self, env_index: int, agent: int, pos: Any, orientation: int = 0) -> None:
        """Place ``agent`` at ``pos = (row, col)`` facing ``orientation`` (0 UP .. 3 LEFT)."""
        b = self._env(env_index)
        r, c = (int(v) for v in pos)
        if not (0 <= r < self.height and 0 <= c < self.width) or self._wall[r, c]:
            raise ConfigError(f"set_agent: ({r}, {c}) is outside the map or a wall")
        others = [i for i in range(self.num_agents) if i != agent and self.on_map[b, i]]
        if any(tuple(self.positions[b, i]) == (r, c) for i in others):
            raise ConfigError(f"set_agent: ({r}, {c}) is already taken by another agent")
        self.positions[b, agent] = (r, c)
        self.orientations[b, agent] = int(orientation) % 4

    def set_cell(self, env_index: int, pos: Any, char: str) -> None:
        """Write a cell: ' ' or '.' floor, 'A' apple, 'H' waste, 'R' river, 'S' stream."""
        b = self._env(env_index)
        codes = {
            " ": FLOOR,
            ".": FLOOR,
            "B": FLOOR,
            "A": APPLE,
            "H": WASTE,
            "R": RIVER,
            "S": STREAM,
        }
        if char not in codes:
            raise ConfigError(f"set_cell: expected one of {sorted(codes)}; got {char!r}")
        r, c = (int(v) for v in pos)
        if self._wall[r, c]:
            raise ConfigError(f"set_cell: ({r}, {c}) is a wall; walls are part of the map")
        self.grid[b, r, c] = codes[char]

    def char_map(self, env_index: int = 0) -> list[str]:
        """The map in the reference tests' notation: '@' wall, '.' floor, 'A' apple, 'H'
        waste, 'R' river, 'S' stream, 'P' any agent, and the step's beams 'F' / 'C' on top."""
        b = self._env(env_index)
        table = np.array([".", "@", "A", "H", "R", "S"])
        chars = table[self.grid[b]]
        onmap = self.on_map[b]
        pos = self.positions[b][onmap]
        chars[pos[:, 0], pos[:, 1]] = "P"
        chars[self.beams[b] == 1] = "F"
        chars[self.beams[b] == 2] = "C"
        return ["".join(row) for row in chars]
