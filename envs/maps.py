"""Maps of Harvest and Cleanup as data, and their parser.

Legend (the reference's): ``@`` wall, ``P`` spawn point, ``A`` apple cell (Harvest), space
floor; Cleanup adds ``H`` waste (a river cell that starts polluted), ``R`` clean river,
``S`` stream (river colour, never polluted) and ``B`` orchard cell (where apples grow).

Shipped maps and their counts:

================== ======= ===== ===== ===== ===== ===== ===== =====
map                size    A     P     B     H     R     S     @
================== ======= ===== ===== ===== ===== ===== ===== =====
HARVEST_MAP        16x38   155   20    -     -     -     -     104
CLEANUP_MAP        25x18   -     10    103   56    63    12    82
SMALL_HARVEST_MAP  8x12    19    4     -     -     -     -     36
SMALL_CLEANUP_MAP  9x12    -     4     16    6     6     4     38
================== ======= ===== ===== ===== ===== ===== ===== =====

``SMALL_*`` maps are for tests and fast CPU training: Harvest with two apple patches; Cleanup
with a river (starting at density 6/12 = 0.5 >= 0.4, so, like the reference, nothing grows
until the agents clean) and an orchard. The test maps
of the reference suite (``BASE_MAP_1`` ...) are included under their names.

Examples
--------
>>> from envs.maps import parse_map, HARVEST_MAP
>>> parsed = parse_map(HARVEST_MAP)
>>> parsed.height, parsed.width, int(parsed.apple_cells.sum()), len(parsed.spawn_points)
(16, 38, 155, 20)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from causal_influence.errors import ConfigError

__all__ = [
    "APPLE",
    "APPLE_SPAWN_MAP_CLEANUP",
    "BASE_MAP_1",
    "BASE_MAP_2",
    "CLEANUP_MAP",
    "CLEANUP_PROB_MAP",
    "FIRE_RANGE_MAP",
    "FIRING_CLEANUP_MAP",
    "FLOOR",
    "HARVEST_MAP",
    "MAPS",
    "MINI_CLEANUP_MAP",
    "MINI_HARVEST_MAP",
    "RIVER",
    "SMALL_CLEANUP_MAP",
    "SMALL_HARVEST_MAP",
    "STREAM",
    "WALL",
    "WASTE",
    "ParsedMap",
    "parse_map",
]

# Cell contents of the live grid.
FLOOR, WALL, APPLE, WASTE, RIVER, STREAM = 0, 1, 2, 3, 4, 5

HARVEST_MAP: tuple[str, ...] = (
    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
    "@ P   P      A    P AAAAA    P  A P  @",
    "@  P     A P AA    P    AAA    A  A  @",
    "@     A AAA  AAA    A    A AA AAAA   @",
    "@ A  AAA A    A  A AAA  A  A   A A   @",
    "@AAA  A A    A  AAA A  AAA        A P@",
    "@ A A  AAA  AAA  A A    A AA   AA AA @",
    "@  A A  AAA    A A  AAA    AAA  A    @",
    "@   AAA  A      AAA  A    AAAA       @",
    "@ P  A       A  A AAA    A  A      P @",
    "@A  AAA  A  A  AAA A    AAAA     P   @",
    "@    A A   AAA  A A      A AA   A  P @",
    "@     AAA   A A  AAA      AA   AAA P @",
    "@ A    A     AAA  A  P          A    @",
    "@       P     A         P  P P     P @",
    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
)

CLEANUP_MAP: tuple[str, ...] = (
    "@@@@@@@@@@@@@@@@@@",
    "@RRRRRR     BBBBB@",
    "@HHHHHH      BBBB@",
    "@RRRRRR     BBBBB@",
    "@RRRRR  P    BBBB@",
    "@RRRRR    P BBBBB@",
    "@HHHHH       BBBB@",
    "@RRRRR      BBBBB@",
    "@HHHHHHSSSSSSBBBB@",
    "@HHHHHHSSSSSSBBBB@",
    "@RRRRR   P P BBBB@",
    "@HHHHH   P  BBBBB@",
    "@RRRRRR    P BBBB@",
    "@HHHHHH P   BBBBB@",
    "@RRRRR       BBBB@",
    "@HHHH    P  BBBBB@",
    "@RRRRR       BBBB@",
    "@HHHHH  P P BBBBB@",
    "@RRRRR       BBBB@",
    "@HHHH       BBBBB@",
    "@RRRRR       BBBB@",
    "@HHHHH      BBBBB@",
    "@RRRRR       BBBB@",
    "@HHHH       BBBBB@",
    "@@@@@@@@@@@@@@@@@@",
)

SMALL_HARVEST_MAP: tuple[str, ...] = (
    "@@@@@@@@@@@@",
    "@ P  AAA   @",
    "@   AAAAA  @",
    "@    AAA P @",
    "@ P      A @",
    "@  AAA  AA @",
    "@  AA   P  @",
    "@@@@@@@@@@@@",
)

SMALL_CLEANUP_MAP: tuple[str, ...] = (
    "@@@@@@@@@@@@",
    "@HR  P  BBB@",
    "@RH     BBB@",
    "@HR P   BB @",
    "@SS      B @",
    "@SS   P BB @",
    "@RH     BBB@",
    "@HRHR P  BB@",
    "@@@@@@@@@@@@",
)

BASE_MAP_1: tuple[str, ...] = (
    "@@@@@@@",
    "@     @",
    "@     @",
    "@     @",
    "@     @",
    "@     @",
    "@@@@@@@",
)
BASE_MAP_2: tuple[str, ...] = ("@@@@@@", "@ P  @", "@    @", "@    @", "@   P@", "@@@@@@")
MINI_HARVEST_MAP: tuple[str, ...] = ("@@@@@@", "@ P  @", "@  AA@", "@  AA@", "@  AP@", "@@@@@@")
MINI_CLEANUP_MAP: tuple[str, ...] = ("@@@@@@", "@ P  @", "@H BB@", "@R BB@", "@S BP@", "@@@@@@")
FIRING_CLEANUP_MAP: tuple[str, ...] = (
    "@@@@@@",
    "@    @",
    "@HHP @",
    "@RH  @",
    "@H P @",
    "@@@@@@",
)
APPLE_SPAWN_MAP_CLEANUP: tuple[str, ...] = (
    "@@@@@@",
    "@ P  @",
    "@  BB@",
    "@  BB@",
    "@  BP@",
    "@@@@@@",
)
CLEANUP_PROB_MAP: tuple[str, ...] = ("@@@@@@", "@    @", "@HHPB@", "@RH B@", "@H PB@", "@@@@@@")
FIRE_RANGE_MAP: tuple[str, ...] = tuple(
    ["@" * 13] + ["@" + " " * 11 + "@" for _ in range(11)] + ["@" * 13]
)

#: Named maps (``SSDConfig(map="small_harvest")`` accepts these names).
MAPS: dict[str, tuple[str, ...]] = {
    "harvest": HARVEST_MAP,
    "cleanup": CLEANUP_MAP,
    "small_harvest": SMALL_HARVEST_MAP,
    "small_cleanup": SMALL_CLEANUP_MAP,
    "base_map_1": BASE_MAP_1,
    "base_map_2": BASE_MAP_2,
    "mini_harvest": MINI_HARVEST_MAP,
    "mini_cleanup": MINI_CLEANUP_MAP,
    "firing_cleanup": FIRING_CLEANUP_MAP,
    "apple_spawn_cleanup": APPLE_SPAWN_MAP_CLEANUP,
    "cleanup_prob": CLEANUP_PROB_MAP,
    "fire_range": FIRE_RANGE_MAP,
}

_KNOWN = set("@P AHRSB")


@dataclass(frozen=True, eq=False)
class ParsedMap:
    """Static layers of a map.

    Attributes
    ----------
    rows : tuple of str
    height, width : int
    wall : numpy.ndarray of bool, shape (H, W)
    apple_cells : numpy.ndarray of bool, shape (H, W)
        Cells where apples can grow: ``A`` (Harvest) or ``B`` (Cleanup orchard).
    river_cells : numpy.ndarray of bool, shape (H, W)
        Cells that can hold waste: ``H`` and ``R``.
    stream_cells : numpy.ndarray of bool, shape (H, W)
    initial_waste : numpy.ndarray of bool, shape (H, W)
    spawn_points : numpy.ndarray of int64, shape (S, 2)
        ``P`` cells in row-major order; when the map has none, every non-wall cell.
    """

    rows: tuple[str, ...]
    height: int
    width: int
    wall: np.ndarray
    apple_cells: np.ndarray
    river_cells: np.ndarray
    stream_cells: np.ndarray
    initial_waste: np.ndarray
    initial_apples: np.ndarray
    spawn_points: np.ndarray


def parse_map(rows: Sequence[str] | str) -> ParsedMap:
    """Parse an ASCII map (a name from :data:`MAPS` or a sequence of equal-length rows).

    Raises
    ------
    ConfigError
        On an unknown name, ragged rows or unknown characters.

    Examples
    --------
    >>> m = parse_map("mini_cleanup")
    >>> int(m.river_cells.sum()), int(m.apple_cells.sum())
    (2, 5)
    """
    if isinstance(rows, str):
        if rows not in MAPS:
            raise ConfigError(
                f"map: unknown map name {rows!r}; use one of {sorted(MAPS)} or pass the rows "
                f"of an ASCII map"
            )
        rows = MAPS[rows]
    rows = tuple(rows)
    if not rows or not all(isinstance(r, str) for r in rows):
        raise ConfigError("map: expected a non-empty sequence of strings (one per row)")
    widths = {len(r) for r in rows}
    if len(widths) != 1 or 0 in widths:
        raise ConfigError(
            f"map: rows must all have the same non-zero length; got lengths {sorted(widths)}"
        )
    unknown = set("".join(rows)) - _KNOWN
    if unknown:
        raise ConfigError(
            f"map: unknown characters {sorted(unknown)}; allowed are '@' wall, 'P' spawn, "
            f"' ' floor, 'A' apple, 'H' waste, 'R' river, 'S' stream, 'B' orchard"
        )
    chars = np.array([list(r) for r in rows])
    wall = chars == "@"
    spawn = np.argwhere(chars == "P")
    if spawn.size == 0:
        spawn = np.argwhere(~wall)
    has_orchard = bool((chars == "B").any())
    apple_cells = (chars == "B") if has_orchard else (chars == "A")
    return ParsedMap(
        rows=rows,
        height=len(rows),
        width=len(rows[0]),
        wall=wall,
        apple_cells=apple_cells | (chars == "A"),
        river_cells=(chars == "H") | (chars == "R"),
        stream_cells=chars == "S",
        initial_waste=chars == "H",
        initial_apples=chars == "A",
        spawn_points=spawn.astype(np.int64),
    )
