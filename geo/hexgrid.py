"""PostGIS's hexagon grid (``ST_HexagonGrid``), computed in numpy.

Hexagons are flat-topped with edges of ``size`` metres; hexagon (i, j) is centred
at x = 1.5 size i, y = sqrt(3) size (j + i mod 2 / 2), the layout of PostGIS, so
the cells and their (i, j) are the ones ``ST_HexagonGrid`` makes (a test holds the
two together). Binning a million incidents is arithmetic here, where a spatial
join of points and hexagons in the database would take seconds.
"""

from __future__ import annotations

import numpy as np
import shapely

SQRT3 = np.sqrt(3.0)
# Corners of a flat-topped hexagon of edge 1 around its centre, in PostGIS's order.
_CORNER_X = np.array([-1.0, -0.5, 0.5, 1.0, 0.5, -0.5, -1.0])
_CORNER_Y = np.array([0.0, -0.5, -0.5, 0.0, 0.5, 0.5, 0.0]) * SQRT3


def hex_index(x: np.ndarray, y: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
    """The (i, j) of the hexagon holding each point."""
    x, y = np.asarray(x, dtype=float) / size, np.asarray(y, dtype=float) / size
    # Axial coordinates, rounded in cube coordinates (q + r + s = 0) to the nearest centre.
    q, r = 2.0 / 3.0 * x, -x / 3.0 + y / SQRT3
    s = -q - r
    rq, rr, rs = np.round(q), np.round(r), np.round(s)
    dq, dr, ds = np.abs(rq - q), np.abs(rr - r), np.abs(rs - s)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    rq = np.where(fix_q, -rr - rs, rq)
    rr = np.where(fix_r, -rq - rs, rr)
    i = rq.astype(np.int64)
    return i, rr.astype(np.int64) + (i - (i & 1)) // 2


def hex_centres(i: np.ndarray, j: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
    i, j = np.asarray(i), np.asarray(j)
    return 1.5 * size * i, SQRT3 * size * (j + 0.5 * (i & 1))


def hex_polygons(i: np.ndarray, j: np.ndarray, size: float) -> np.ndarray:
    cx, cy = hex_centres(i, j, size)
    rings = np.stack([cx[:, None] + size * _CORNER_X, cy[:, None] + size * _CORNER_Y], axis=-1)
    return shapely.polygons(rings)


def hexagons_over(polygon: shapely.Geometry, size: float) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) of every hexagon meeting the polygon (metric CRS), row by row."""
    xmin, ymin, xmax, ymax = polygon.bounds
    i_range = np.arange(int(np.floor(xmin / (1.5 * size))) - 1, int(np.ceil(xmax / (1.5 * size))) + 2)
    j_range = np.arange(int(np.floor(ymin / (SQRT3 * size))) - 1, int(np.ceil(ymax / (SQRT3 * size))) + 2)
    j, i = (a.ravel() for a in np.meshgrid(j_range, i_range, indexing="ij"))
    meets = shapely.intersects(hex_polygons(i, j, size), polygon)
    return i[meets], j[meets]


def hex_count_estimate(polygon: shapely.Geometry, size: float) -> int:
    """About how many hexagons cover the polygon's bounding box: to refuse a grid too fine."""
    xmin, ymin, xmax, ymax = polygon.bounds
    # A size so small that a float cannot count its hexagons (inf) is capped, and refused like
    # any other too small.
    with np.errstate(over="ignore"):
        columns, rows = (xmax - xmin) / (1.5 * size) + 3, (ymax - ymin) / (SQRT3 * size) + 3
    return int(min(columns, 2**31)) * int(min(rows, 2**31))


def hex_neighbours(i: np.ndarray, j: np.ndarray) -> dict[int, list[int]]:
    """For hexagon k of the list, the positions of the hexagons of the list sharing an edge with it."""
    position = {(a, b): k for k, (a, b) in enumerate(zip(i.tolist(), j.tolist()))}
    neighbours = {}
    for k, (a, b) in enumerate(zip(i.tolist(), j.tolist())):
        # Odd columns sit half a hexagon higher than even ones.
        up = b + (a & 1)
        around = [(a, b + 1), (a, b - 1), (a - 1, up), (a + 1, up), (a - 1, up - 1), (a + 1, up - 1)]
        neighbours[k] = [position[c] for c in around if c in position]
    return neighbours
