"""Colours and the compiled kernel that cuts every agent's egocentric view out of the grid.

For each env the grid is painted once on a padded canvas (RGB: palette indices, 0 = black
padding; symbolic: bit sets, bit k = channel k; codes: the cell's code), then each agent's
(2V+1) x (2V+1) window is copied out of it, rotated so that the cell ahead is at ``(V - 1, V)``
and the cell on the agent's left at ``(V, V - 1)`` whatever its facing (docs/envs.md,
"Observations").

Three layouts (``SSDConfig.obs_type``):

- ``"rgb"``: 3 bytes per cell, the reference's colours;
- ``"symbolic"``: one 0/1 byte per channel and cell (C = 4 + N, + 1 with beams shown);
- ``"codes"``: ONE byte per cell, ``code = content + 5 * (occupant + (N + 1) * beam)`` with
  content 0 floor (and padding), 1 wall, 2 apple, 3 waste, 4 river or stream, occupant 0 for
  none or 1 + i for agent i, beam 1 where a beam is drawn. It holds exactly what the symbolic
  channels hold: row ``code`` of :func:`code_table` is that cell's symbolic channel vector, so a
  network that looks its input up in that table sees the symbolic view (``agents.networks``
  does). Chosen by measurement: writing one byte per cell instead of C makes the view kernel
  about as cheap as RGB's single palette look-up per cell, and the views a rollout stores C
  times smaller (benchmarks/bench_envs.py).
"""

from __future__ import annotations

import numba
import numpy as np

from envs.maps import APPLE, RIVER, STREAM, WALL, WASTE

__all__ = [
    "AGENT_COLOURS",
    "BEAM_COLOURS",
    "CELL_BITS",
    "CELL_CODES",
    "CELL_COLOURS",
    "NUM_CONTENTS",
    "OBS_CODES",
    "OBS_RGB",
    "OBS_SYMBOLIC",
    "SYMBOLIC_CELL_CHANNELS",
    "agent_colours",
    "code_dtype",
    "code_table",
    "num_codes",
    "observe_kernel",
    "view_offsets",
]

#: Layout codes of :func:`observe_kernel` (``SSDConfig.obs_type`` "rgb", "symbolic", "codes").
OBS_RGB, OBS_SYMBOLIC, OBS_CODES = 0, 1, 2

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
#: Content of each cell code in the ``"codes"`` layout: one per symbolic cell channel plus floor
#: (floor 0, wall 1, apple 2, waste 3, river and stream 4).
CELL_CODES = np.zeros(6, dtype=np.int64)
CELL_CODES[WALL] = 1
CELL_CODES[APPLE] = 2
CELL_CODES[WASTE] = 3
CELL_CODES[RIVER] = 4
CELL_CODES[STREAM] = 4
#: Number of cell contents in a code (the factor of the occupant).
NUM_CONTENTS = 5


def num_codes(num_agents: int, beams_in_obs: bool) -> int:
    """Number of distinct cell codes of the ``"codes"`` layout.

    Examples
    --------
    >>> num_codes(5, False), num_codes(5, True)
    (30, 60)
    """
    return NUM_CONTENTS * (num_agents + 1) * (2 if beams_in_obs else 1)


def code_dtype(num_agents: int, beams_in_obs: bool) -> type[np.unsignedinteger]:
    """``numpy.uint8`` when every code fits in a byte (up to 24 agents with beams shown, 50
    without), else ``numpy.uint16``."""
    return np.uint8 if num_codes(num_agents, beams_in_obs) <= 256 else np.uint16


def code_table(num_agents: int, beams_in_obs: bool) -> np.ndarray:
    """Symbolic channel vector of every cell code: the decoder of the ``"codes"`` layout.

    Returns
    -------
    numpy.ndarray of uint8, shape (num_codes, C)
        Row ``code`` is the cell's symbolic view (channels ``wall, apple, waste, river``, one
        per agent, then ``beam`` when beams are shown), so ``code_table(...)[view[..., 0]]``
        equals the ``"symbolic"`` view of the same step.

    Examples
    --------
    >>> table = code_table(2, False)
    >>> table.shape
    (15, 6)
    >>> table[2 + 5 * (1 + 1)].tolist()  # apple under agent 1
    [0, 1, 0, 0, 0, 1]
    """
    n = num_agents
    channels = len(SYMBOLIC_CELL_CHANNELS) + n + (1 if beams_in_obs else 0)
    table = np.zeros((num_codes(n, beams_in_obs), channels), dtype=np.uint8)
    for code in range(table.shape[0]):
        content = code % NUM_CONTENTS
        occupant = (code // NUM_CONTENTS) % (n + 1)
        beam = code // (NUM_CONTENTS * (n + 1))
        if content > 0:
            table[code, content - 1] = 1
        if occupant > 0:
            table[code, len(SYMBOLIC_CELL_CHANNELS) + occupant - 1] = 1
        if beam:
            table[code, channels - 1] = 1
    return table


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


def view_offsets(dirs: np.ndarray, radius: int, canvas_width: int) -> np.ndarray:
    """Offset in the flattened canvas of every window cell, for each facing.

    Window cell ``(a, c)`` of an agent facing ``o`` is canvas cell
    ``centre + (radius - a) * ahead + (c - radius) * right``; flattened with the canvas width
    this is one integer per cell, so cutting a view out is one gather.

    Returns
    -------
    numpy.ndarray of int64, shape (4, S * S)

    Examples
    --------
    >>> from envs.grid_rules import DIRS
    >>> off = view_offsets(DIRS, 1, 10)   # facing UP: the row ahead is one canvas row above
    >>> off[0].reshape(3, 3).tolist()
    [[-11, -10, -9], [-1, 0, 1], [9, 10, 11]]
    """
    size = 2 * radius + 1
    a, c = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    out = np.empty((4, size * size), dtype=np.int64)
    for o in range(4):
        ahead, right = dirs[o], dirs[(o + 1) % 4]
        rows = (radius - a) * ahead[0] + (c - radius) * right[0]
        cols = (radius - a) * ahead[1] + (c - radius) * right[1]
        out[o] = (rows * canvas_width + cols).reshape(-1)
    return out


@numba.njit(cache=True)
def _paint(
    grid: np.ndarray,
    pos: np.ndarray,
    onmap: np.ndarray,
    beams: np.ndarray,
    radius: int,
    beams_in_obs: bool,
    mode: int,
    cell_values: np.ndarray,
    canvas: np.ndarray,
) -> None:
    """Paint one env on the flattened padded canvas: cells, then agents, then (optionally)
    beams.

    RGB codes index the palette of :func:`observe_kernel`: 1 + cell, then 1 + cells + agent,
    then 1 + cells + N + beam mark. Symbolic codes set bit ``4 + i`` for agent i and
    ``4 + N`` for a beam. ``"codes"`` add ``5 * (1 + i)`` for agent i and ``5 * (N + 1)`` for
    a beam to the cell's content. ``cell_values`` holds :data:`CELL_BITS` (symbolic) or
    :data:`CELL_CODES` (codes); RGB ignores it.
    """
    h, w = grid.shape
    wc = w + 2 * radius
    n = pos.shape[0]
    n_cells = cell_values.shape[0]
    agent_base = 1 + n_cells
    for r in range(h):
        base = (r + radius) * wc + radius
        for c in range(w):
            cell = grid[r, c]
            canvas[base + c] = cell_values[cell] if mode != OBS_RGB else 1 + cell
    for i in range(n):
        if onmap[i]:
            k = (pos[i, 0] + radius) * wc + pos[i, 1] + radius
            if mode == OBS_SYMBOLIC:
                canvas[k] |= 1 << (4 + i)
            elif mode == OBS_CODES:
                canvas[k] += NUM_CONTENTS * (1 + i)
            else:
                canvas[k] = agent_base + i
    if beams_in_obs:
        for r in range(h):
            for c in range(w):
                mark = beams[r, c]
                if mark > 0:
                    k = (r + radius) * wc + c + radius
                    if mode == OBS_SYMBOLIC:
                        canvas[k] |= 1 << (4 + n)
                    elif mode == OBS_CODES:
                        canvas[k] += NUM_CONTENTS * (n + 1)
                    else:
                        canvas[k] = agent_base + n + mark


@numba.njit(cache=True)
def _window(
    canvas: np.ndarray,
    centre: int,
    offsets: np.ndarray,
    mode: int,
    palette: np.ndarray,
    out: np.ndarray,
) -> None:
    """Gather the window at flattened canvas index ``centre`` (``offsets`` of its facing) into
    ``out``, flattened (S * S * C,)."""
    m = offsets.shape[0]
    if mode == OBS_CODES:
        for k in range(m):
            out[k] = canvas[centre + offsets[k]]
    elif mode == OBS_SYMBOLIC:
        ch = out.shape[0] // m
        for k in range(m):
            code = canvas[centre + offsets[k]]
            for j in range(ch):
                out[k * ch + j] = (code >> j) & 1
    else:
        for k in range(m):
            code = canvas[centre + offsets[k]]
            out[3 * k] = palette[code, 0]
            out[3 * k + 1] = palette[code, 1]
            out[3 * k + 2] = palette[code, 2]


@numba.njit(cache=True)
def observe_kernel(
    grid: np.ndarray,  # (B, H, W)
    pos: np.ndarray,  # (B, N, 2)
    orient: np.ndarray,  # (B, N)
    onmap: np.ndarray,  # (B, N) bool
    beams: np.ndarray,  # (B, H, W)
    offsets: np.ndarray,  # (4, S * S) from view_offsets
    radius: int,
    beams_in_obs: bool,
    mode: int,
    cell_colours: np.ndarray,
    cell_values: np.ndarray,
    agent_cols: np.ndarray,
    beam_cols: np.ndarray,
    out: np.ndarray,  # (B, N, S, S, C) uint8 (codes: C = 1, uint8 or uint16), C-contiguous
    visible: np.ndarray,  # (B, N, N) uint8
) -> None:
    """Every agent's view and visibility row (j inside i's window; 1 on the diagonal).

    ``mode`` is :data:`OBS_RGB`, :data:`OBS_SYMBOLIC` or :data:`OBS_CODES`; ``cell_values``
    holds :data:`CELL_BITS` (symbolic) or :data:`CELL_CODES` (codes).
    """
    n_env, h, w = grid.shape
    n = pos.shape[1]
    wc = w + 2 * radius
    n_cells = cell_colours.shape[0]
    palette = np.zeros((1 + n_cells + n + beam_cols.shape[0], 3), dtype=np.uint8)
    palette[1 : 1 + n_cells] = cell_colours
    palette[1 + n_cells : 1 + n_cells + n] = agent_cols
    palette[1 + n_cells + n :] = beam_cols
    canvas = np.zeros((h + 2 * radius) * wc, dtype=np.int64)
    for b in range(n_env):
        _paint(grid[b], pos[b], onmap[b], beams[b], radius, beams_in_obs, mode, cell_values, canvas)
        for i in range(n):
            for j in range(n):
                near = (
                    abs(pos[b, i, 0] - pos[b, j, 0]) <= radius
                    and abs(pos[b, i, 1] - pos[b, j, 1]) <= radius
                )
                visible[b, i, j] = 1 if (onmap[b, i] and onmap[b, j] and near) else 0
            visible[b, i, i] = 1
            flat = out[b, i].ravel()
            if not onmap[b, i]:
                flat[:] = 0
                continue
            centre = (pos[b, i, 0] + radius) * wc + pos[b, i, 1] + radius
            _window(canvas, centre, offsets[orient[b, i]], mode, palette, flat)
