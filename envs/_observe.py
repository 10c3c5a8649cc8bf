"""Colours and the compiled kernel that cuts every agent's egocentric view out of the grid.

For each env the grid is painted once on a padded canvas (RGB: palette indices, 0 = black
padding; symbolic: bit sets, bit k = channel k), then each agent's (2V+1) x (2V+1) window is
copied out of it, rotated so that the cell ahead is at ``(V - 1, V)`` and the cell on the
agent's left at ``(V, V - 1)`` whatever its facing (docs/envs.md, "Observations").
"""

from __future__ import annotations

import numba
import numpy as np

from envs.maps import APPLE, RIVER, STREAM, WALL, WASTE

__all__ = [
    "AGENT_COLOURS",
    "BEAM_COLOURS",
    "CELL_BITS",
    "CELL_COLOURS",
    "SYMBOLIC_CELL_CHANNELS",
    "agent_colours",
    "observe_kernel",
]

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
#: Beam colours by beam mark: 1 penalty beam (yellow), 2 cleaning beam (cyan).
BEAM_COLOURS = np.array([[0, 0, 0], [255, 255, 0], [100, 255, 255]], dtype=np.uint8)

#: Channels of the symbolic view before the agent channels; then one channel per agent and,
#: with beams shown, a last beam channel.
SYMBOLIC_CELL_CHANNELS: tuple[str, ...] = ("wall", "apple", "waste", "river")
_CH_WALL, _CH_APPLE, _CH_WASTE, _CH_RIVER = range(4)
#: Symbolic bits of each cell code (floor has none; river and stream share a channel).
CELL_BITS = np.zeros(6, dtype=np.int64)
CELL_BITS[WALL] = 1 << _CH_WALL
CELL_BITS[APPLE] = 1 << _CH_APPLE
CELL_BITS[WASTE] = 1 << _CH_WASTE
CELL_BITS[RIVER] = 1 << _CH_RIVER
CELL_BITS[STREAM] = 1 << _CH_RIVER


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


@numba.njit(cache=True)
def _paint(
    grid: np.ndarray,
    pos: np.ndarray,
    onmap: np.ndarray,
    beams: np.ndarray,
    radius: int,
    beams_in_obs: bool,
    symbolic: bool,
    cell_bits: np.ndarray,
    canvas: np.ndarray,
) -> None:
    """Paint one env on the padded canvas: cells, then agents, then (optionally) beams.

    RGB codes index the palette of :func:`observe_kernel`: 1 + cell, then 1 + cells + agent,
    then 1 + cells + N + beam mark. Symbolic codes set bit ``4 + i`` for agent i and
    ``4 + N`` for a beam.
    """
    h, w = grid.shape
    n = pos.shape[0]
    n_cells = cell_bits.shape[0]
    agent_base = 1 + n_cells
    for r in range(h):
        for c in range(w):
            cell = grid[r, c]
            canvas[r + radius, c + radius] = cell_bits[cell] if symbolic else 1 + cell
    for i in range(n):
        if onmap[i]:
            r, c = pos[i, 0] + radius, pos[i, 1] + radius
            if symbolic:
                canvas[r, c] |= 1 << (4 + i)
            else:
                canvas[r, c] = agent_base + i
    if beams_in_obs:
        for r in range(h):
            for c in range(w):
                mark = beams[r, c]
                if mark > 0:
                    if symbolic:
                        canvas[r + radius, c + radius] |= 1 << (4 + n)
                    else:
                        canvas[r + radius, c + radius] = agent_base + n + mark


@numba.njit(cache=True)
def _window(
    canvas: np.ndarray,
    r0: int,
    c0: int,
    o: int,
    dirs: np.ndarray,
    radius: int,
    symbolic: bool,
    palette: np.ndarray,
    out: np.ndarray,
) -> None:
    """Copy the rotated window centred on canvas cell (r0, c0), facing ``o``, into ``out``."""
    size = 2 * radius + 1
    ch = out.shape[2]
    dr, dc = dirs[o, 0], dirs[o, 1]
    rr_, rc_ = dirs[(o + 1) % 4, 0], dirs[(o + 1) % 4, 1]
    # Window cell (a, c) is canvas cell centre + (radius - a) * ahead + (c - radius) * right.
    for a in range(size):
        fwd = radius - a
        br = r0 + fwd * dr - radius * rr_
        bc = c0 + fwd * dc - radius * rc_
        for c in range(size):
            code = canvas[br + c * rr_, bc + c * rc_]
            if symbolic:
                for k in range(ch):
                    out[a, c, k] = (code >> k) & 1
            else:
                out[a, c, 0] = palette[code, 0]
                out[a, c, 1] = palette[code, 1]
                out[a, c, 2] = palette[code, 2]


@numba.njit(cache=True)
def observe_kernel(
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
    cell_bits: np.ndarray,
    agent_cols: np.ndarray,
    beam_cols: np.ndarray,
    out: np.ndarray,  # (B, N, S, S, C) uint8
    visible: np.ndarray,  # (B, N, N) uint8
) -> None:
    """Every agent's view and visibility row (j inside i's window; 1 on the diagonal)."""
    n_env, h, w = grid.shape
    n = pos.shape[1]
    n_cells = cell_colours.shape[0]
    palette = np.zeros((1 + n_cells + n + beam_cols.shape[0], 3), dtype=np.uint8)
    palette[1 : 1 + n_cells] = cell_colours
    palette[1 + n_cells : 1 + n_cells + n] = agent_cols
    palette[1 + n_cells + n :] = beam_cols
    canvas = np.zeros((h + 2 * radius, w + 2 * radius), dtype=np.int64)
    for b in range(n_env):
        _paint(
            grid[b], pos[b], onmap[b], beams[b], radius, beams_in_obs, symbolic, cell_bits, canvas
        )
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
            r0, c0 = pos[b, i, 0] + radius, pos[b, i, 1] + radius
            _window(canvas, r0, c0, orient[b, i], dirs, radius, symbolic, palette, out[b, i])
