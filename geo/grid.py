"""Which boxes overlap which: a uniform grid walked by compiled loops.

Patrol tracks come as millions of short pieces (a fix every 30-60 s). Making a
shapely box for each piece and asking an STRtree costs more than the exact
geometry that follows, so the candidate pairs are found here instead: the boxes of
one side are binned into square cells, and each box of the other side visits the
cells it touches. numba compiles the loops; nothing is made per piece.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

# A grid of more cells than this gets coarser cells instead: memory stays bounded
# however the boxes are spread.
MAX_CELLS = 4_000_000


@dataclass(frozen=True)
class BoxGrid:
    """Boxes (xmin, ymin, xmax, ymax) binned into the square cells of a grid."""

    xmin: np.ndarray
    ymin: np.ndarray
    xmax: np.ndarray
    ymax: np.ndarray
    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    start: np.ndarray  # the boxes in cell c are members[start[c]:start[c + 1]]
    members: np.ndarray

    @classmethod
    def of(cls, xmin, ymin, xmax, ymax, *, cell: float) -> BoxGrid:
        """Bin boxes into cells of about ``cell`` metres: about the size of the boxes that
        will be asked about, so each touches a few cells and each cell holds a few boxes."""
        xmin, ymin, xmax, ymax = (np.ascontiguousarray(a, dtype=np.float64) for a in (xmin, ymin, xmax, ymax))
        if not len(xmin):
            return cls(xmin, ymin, xmax, ymax, 0.0, 0.0, 1.0, 1, 1, np.zeros(2, np.int64),
                       np.empty(0, np.int64))
        x0, y0 = float(xmin.min()), float(ymin.min())
        width, height = float(xmax.max()) - x0, float(ymax.max()) - y0
        cell = max(cell, math.sqrt(width * height / MAX_CELLS), 1e-9)
        nx, ny = int(width // cell) + 1, int(height // cell) + 1
        start, members = _bin(xmin, ymin, xmax, ymax, x0, y0, cell, nx, ny)
        return cls(xmin, ymin, xmax, ymax, x0, y0, cell, nx, ny, start, members)

    def pairs(self, xmin, ymin, xmax, ymax, *, live: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (i, j): box i of the grid and query box j overlap (touching counts).

        ``live`` (one flag per grid box) leaves out boxes already settled.
        """
        if live is None:
            live = np.ones(len(self.xmin), dtype=np.bool_)
        q = [np.ascontiguousarray(a, dtype=np.float64) for a in (xmin, ymin, xmax, ymax)]
        live = np.ascontiguousarray(live, np.bool_)
        return _collect(lambda *out: _pairs(self.xmin, self.ymin, self.xmax, self.ymax, self.x0, self.y0,
                                            self.cell, self.nx, self.ny, self.start, self.members, live,
                                            *q, *out),
                        4 * len(q[0]) + 16, (np.int64, np.int64))


def _collect(run, room: int, dtypes) -> tuple[np.ndarray, ...]:
    """Run a kernel that fills its output arrays as far as they have room and returns how
    many results there are; if the room was short, run it again with room for all.

    (Growing arrays inside a numba loop makes it several times slower.)
    """
    while True:
        out = tuple(np.empty(room, dtype) for dtype in dtypes)
        n = run(*out)
        if n <= room:
            return tuple(a[:n] for a in out)
        room = n


@numba.njit(cache=True)
def _cell_range(lo, hi, origin, cell, n):
    first = max(int(math.floor((lo - origin) / cell)), 0)
    last = min(int(math.floor((hi - origin) / cell)), n - 1)
    return first, last


@numba.njit(cache=True)
def _bin(xmin, ymin, xmax, ymax, x0, y0, cell, nx, ny):
    """A counting sort of the boxes by the cells they touch."""
    count = np.zeros(nx * ny + 1, np.int64)
    for i in range(len(xmin)):
        cx0, cx1 = _cell_range(xmin[i], xmax[i], x0, cell, nx)
        cy0, cy1 = _cell_range(ymin[i], ymax[i], y0, cell, ny)
        for cy in range(cy0, cy1 + 1):
            for cx in range(cx0, cx1 + 1):
                count[cy * nx + cx + 1] += 1
    start = np.cumsum(count)
    members = np.empty(start[-1], np.int64)
    fill = start[:-1].copy()
    for i in range(len(xmin)):
        cx0, cx1 = _cell_range(xmin[i], xmax[i], x0, cell, nx)
        cy0, cy1 = _cell_range(ymin[i], ymax[i], y0, cell, ny)
        for cy in range(cy0, cy1 + 1):
            for cx in range(cx0, cx1 + 1):
                c = cy * nx + cx
                members[fill[c]] = i
                fill[c] += 1
    return start, members


@numba.njit(cache=True)
def _pairs(xmin, ymin, xmax, ymax, x0, y0, cell, nx, ny, start, members, live, qxmin, qymin, qxmax, qymax,
           out_i, out_j):
    n = 0
    for j in range(len(qxmin)):
        cx0, cx1 = _cell_range(qxmin[j], qxmax[j], x0, cell, nx)
        cy0, cy1 = _cell_range(qymin[j], qymax[j], y0, cell, ny)
        for cy in range(cy0, cy1 + 1):
            for cx in range(cx0, cx1 + 1):
                c = cy * nx + cx
                for k in range(start[c], start[c + 1]):
                    i = members[k]
                    if not live[i] or qxmin[j] > xmax[i] or qxmax[j] < xmin[i] \
                            or qymin[j] > ymax[i] or qymax[j] < ymin[i]:
                        continue
                    # Two boxes spanning several cells meet in each cell they share:
                    # report the pair once, in the first of them.
                    bx0, _ = _cell_range(xmin[i], xmax[i], x0, cell, nx)
                    by0, _ = _cell_range(ymin[i], ymax[i], y0, cell, ny)
                    if cx != max(bx0, cx0) or cy != max(by0, cy0):
                        continue
                    if n < len(out_i):
                        out_i[n], out_j[n] = i, j
                    n += 1
    return n


# What the walk over points and segments gathers.
_ALL, _FIRST, _NEAREST = 0, 1, 2


def points_near_segments(grid: BoxGrid, x0, y0, x1, y1, radius: float, *,
                         first_only: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (point i, segment j) with the point within ``radius`` of the segment from
    (x0, y0) to (x1, y1), and where along the segment (0 to 1) the point is closest.

    ``grid`` holds the points, as boxes of no size, in cells about the segments' size
    plus ``2 * radius``. With ``first_only`` each point is reported for one segment only
    and then left alone: whether a point was reached at all, found in one pass.
    """
    return _collect(lambda *out: _walk(grid, (x0, y0, x1, y1), radius, _FIRST if first_only else _ALL, out),
                    # With first_only, at most one pair per point.
                    len(grid.xmin) if first_only else 4 * len(x0) + 16, (np.int64, np.int64, np.float64))


def nearest_segments(grid: BoxGrid, x0, y0, x1, y1, radius: float) -> np.ndarray:
    """For each point of ``grid`` (as in ``points_near_segments``), the nearest segment within
    ``radius``, or -1; of segments equally near, the first."""
    nearest = np.full(len(grid.xmin), -1, np.int64)
    no_pairs = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64))
    _walk(grid, (x0, y0, x1, y1), radius, _NEAREST, no_pairs, nearest, np.full(len(grid.xmin), np.inf))
    return nearest


def _walk(grid: BoxGrid, segments, radius: float, mode: int, out, nearest=None, nearest_d2=None) -> int:
    segments = [np.ascontiguousarray(a, dtype=np.float64) for a in segments]
    if nearest is None:
        nearest, nearest_d2 = np.empty(0, np.int64), np.empty(0, np.float64)
    return _points_near_segments(grid.xmin, grid.ymin, grid.x0, grid.y0, grid.cell, grid.nx, grid.ny, grid.start,
                                 grid.members.copy(), *segments, float(radius), mode, *out, nearest, nearest_d2)


@numba.njit(cache=True)
def _points_near_segments(px, py, gx, gy, cell, nx, ny, start, members, ax, ay, bx, by, radius, mode,
                          out_i, out_j, out_u, nearest, nearest_d2):
    # _ALL and _FIRST fill out_* as far as they have room and return how many pairs there
    # are; _NEAREST keeps each point's nearest segment in nearest and nearest_d2. With
    # _FIRST, cell c's points still to reach are members[start[c]:end[c]]; a point reached
    # is swapped past the end, so it is never visited again.
    end = start[1:].copy()
    n = 0
    for j in range(len(ax)):
        vx, vy = bx[j] - ax[j], by[j] - ay[j]
        span2 = vx * vx + vy * vy
        cx0, cx1 = _cell_range(min(ax[j], bx[j]) - radius, max(ax[j], bx[j]) + radius, gx, cell, nx)
        cy0, cy1 = _cell_range(min(ay[j], by[j]) - radius, max(ay[j], by[j]) + radius, gy, cell, ny)
        for cy in range(cy0, cy1 + 1):
            for cx in range(cx0, cx1 + 1):
                c = cy * nx + cx
                k = start[c]
                while k < end[c]:
                    i = members[k]
                    u = 0.0
                    if span2 > 0:
                        u = min(max(((px[i] - ax[j]) * vx + (py[i] - ay[j]) * vy) / span2, 0.0), 1.0)
                    dx, dy = ax[j] + u * vx - px[i], ay[j] + u * vy - py[i]
                    d2 = dx * dx + dy * dy
                    if d2 > radius * radius:
                        k += 1
                        continue
                    if mode == 2:
                        if d2 < nearest_d2[i]:
                            nearest_d2[i], nearest[i] = d2, j
                        k += 1
                        continue
                    if n < len(out_i):
                        out_i[n], out_j[n], out_u[n] = i, j, u
                    n += 1
                    if mode == 1:
                        end[c] -= 1
                        members[k], members[end[c]] = members[end[c]], i
                    else:
                        k += 1
    return n
