"""Square tiles with halos, and time cut into chunks: a batch analysis run tile by tile and
chunk by chunk (on a cluster, ``beatbook/city_coverage.py``) that merges to exactly the
answer of one run over everything.

Three rules make the merge exact:

- a target (a street segment, an entrance) belongs to exactly one tile, the one its
  *anchor* falls in (a street's first vertex, an entrance itself): a tile answers for
  its own targets, in full, and for no others;
- a tile sees every track piece that may come within the radius of one of its targets:
  the pieces whose box meets its *halo*, the box of its targets grown by the radius and
  a metre of slack. A street that starts in a tile may run on out of it, so the halo is
  grown from the targets, not from the tile's square;
- a track belongs to exactly one time chunk, the one it starts in. A pass (consecutive
  pieces of one track near a target) never spans two chunks, so the passes of the
  chunks together are those of the whole period, and the gaps between passes are
  measured after merging them.

Pure: metres and datetimes in, tiles, boxes, masks and chunk bounds out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

import numpy as np
import pandas as pd
import shapely

from geo.coverage import Pieces

# The analyses test "within the radius" in floating point, so a pair they accept may lie a
# rounding error beyond it; a metre is far more than any such error at city coordinates.
HALO_SLACK_M = 1.0


@dataclass(frozen=True)
class Box:
    xmin: float
    ymin: float
    xmax: float
    ymax: float

    def grown(self, by: float) -> Box:
        return Box(self.xmin - by, self.ymin - by, self.xmax + by, self.ymax + by)

    def meets(self, xmin, ymin, xmax, ymax) -> np.ndarray:
        """Which boxes meet this one (touching counts)."""
        return (np.asarray(xmin) <= self.xmax) & (np.asarray(xmax) >= self.xmin) \
            & (np.asarray(ymin) <= self.ymax) & (np.asarray(ymax) >= self.ymin)


@dataclass(frozen=True)
class TileGrid:
    """``nx`` by ``ny`` square tiles of ``size`` metres, the first with its south-west corner
    at (x0, y0); tiles are numbered row by row from the south-west."""

    x0: float
    y0: float
    size: float
    nx: int
    ny: int

    @classmethod
    def covering(cls, x: np.ndarray, y: np.ndarray, size: float) -> TileGrid:
        """The fewest tiles of ``size`` metres, from the south-west of the points, that hold them all."""
        if not size > 0:
            raise ValueError(f"a tile must be larger than nothing, got {size} m")
        if not len(x):
            return cls(0.0, 0.0, float(size), 1, 1)
        x0, y0 = float(np.min(x)), float(np.min(y))
        return cls(x0, y0, float(size), int((np.max(x) - x0) // size) + 1, int((np.max(y) - y0) // size) + 1)

    def __len__(self) -> int:
        return self.nx * self.ny

    def tile_of(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The tile of each point: a point on an edge between two tiles goes east or north
        of it, and one outside the grid to the nearest tile, so every point has exactly one."""
        i = np.clip(np.floor((np.asarray(x, dtype=float) - self.x0) / self.size), 0, self.nx - 1)
        j = np.clip(np.floor((np.asarray(y, dtype=float) - self.y0) / self.size), 0, self.ny - 1)
        return j.astype(np.int64) * self.nx + i.astype(np.int64)


    def square(self, tile: int) -> Box:
        """The tile's square, grown by ``HALO_SLACK_M``: it holds every point ``tile_of``
        puts in the tile, rounding at the edges between tiles included, if the point is
        on the grid."""
        j, i = divmod(tile, self.nx)
        x0, y0 = self.x0 + i * self.size, self.y0 + j * self.size
        return Box(x0, y0, x0 + self.size, y0 + self.size).grown(HALO_SLACK_M)


def tiles_over(outline: shapely.Geometry, tile_m: float) -> tuple[TileGrid, list[int]]:
    """Square tiles of ``tile_m`` metres over a place (its outline in metres): the grid, which
    reaches a slack metre past the outline, so that every point of the place is on it, and the
    tiles that meet the place."""
    xmin, ymin, xmax, ymax = outline.bounds
    grid = TileGrid.covering(np.array([xmin - HALO_SLACK_M, xmax + HALO_SLACK_M]),
                             np.array([ymin - HALO_SLACK_M, ymax + HALO_SLACK_M]), tile_m)
    squares = [grid.square(t) for t in range(len(grid))]
    meets = shapely.intersects(shapely.box(*np.array([_corners(s) for s in squares]).T), outline)
    return grid, [int(t) for t in np.flatnonzero(meets)]


def _corners(box: Box) -> tuple[float, float, float, float]:
    return box.xmin, box.ymin, box.xmax, box.ymax


def concat_parts(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The frames of the parts of an answer, one after another, renumbered."""
    # Empty frames carry no rows but may carry other dtypes (an empty revisits table, say):
    # left out, they cannot change the types of the rest.
    full = [f for f in frames if len(f)]
    return pd.concat(full or frames[:1], ignore_index=True)


def halo(xmin: np.ndarray, ymin: np.ndarray, xmax: np.ndarray, ymax: np.ndarray,
         radius: float) -> Box | None:
    """The box from which a piece may reach targets with these boxes: theirs together, grown
    by the radius and ``HALO_SLACK_M``; None when there are no targets."""
    if not len(xmin):
        return None
    return Box(float(np.min(xmin)), float(np.min(ymin)), float(np.max(xmax)),
               float(np.max(ymax))).grown(radius + HALO_SLACK_M)


def pieces_near(pieces: Pieces, box: Box) -> np.ndarray:
    """Which pieces a tile with this halo takes: those whose box meets it, and the piece
    right after each of them.

    That next piece is a separator. A pass is a run of pieces near a target that are
    consecutive in the pieces given (``geo.coverage.point_passes``); were the pieces
    between two runs of one track all left out, the runs would come out consecutive and
    count as one pass. The separator itself lies beyond the halo, near no target of the
    tile, so it adds nothing else.
    """
    meets = box.meets(*pieces.bounds())
    return meets | np.r_[False, meets[:-1]]


@dataclass(frozen=True)
class TimeChunk:
    """Tracks that start from ``start`` (inclusive) to ``end`` (exclusive); None is open."""

    start: datetime | None
    end: datetime | None


def time_chunks(since: datetime, until: datetime, days: int) -> list[TimeChunk]:
    """Chunks of ``days`` days from ``since`` to ``until``, the first open before and the
    last open after, so that every track, whenever it starts, is in exactly one."""
    if days < 1:
        raise ValueError(f"a time chunk must last at least a day, got {days}")
    step = timedelta(days=days)
    bounds = [None]
    while since + len(bounds) * step < until:
        bounds.append(since + len(bounds) * step)
    bounds.append(None)
    return [TimeChunk(start, end) for start, end in pairwise(bounds)]
