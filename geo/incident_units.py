"""The units incidents are counted in: hexagons over a place, and street segments.

Pure: metric coordinates in, units and counts out. Each kind of unit knows which
unit a point falls in, so any selection of incidents (a period, a type) is counted
on the same units: what hot spots, spikes and the back-test compare.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from libpysal.graph import Graph

from geo.coverage import line_pieces
from geo.grid import BoxGrid, nearest_segments
from geo.hexgrid import (
    SQRT3,
    hex_count_estimate,
    hex_index,
    hex_neighbours,
    hex_polygons,
    hexagons_over,
)
from geo.hotspots import contiguity_weights

# More hexagons than this is a grid too fine for one request.
MAX_HEXAGONS = 200_000


@dataclass(frozen=True)
class Units:
    """Areal units (metric CRS), which are next to which (ids: positions in the list), and how
    to find the unit of a point."""

    kind: str  # "hexagon" or "segment"
    key: np.ndarray  # hexagon: "i,j"; segment: the street segment's id
    geometry: np.ndarray
    weights: Graph
    assign: Callable[[np.ndarray, np.ndarray], np.ndarray]  # unit position per point, -1 for none

    def __len__(self) -> int:
        return len(self.key)

    def counts(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Points per unit; points in no unit are left out."""
        unit = self.assign(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        return np.bincount(unit[unit >= 0], minlength=len(self))

    @property
    def size(self) -> np.ndarray:
        """Area (m²) of a hexagon, length (m) of a segment: what a count is a rate of."""
        return shapely.area(self.geometry) if self.kind == "hexagon" else shapely.length(self.geometry)

    def rates(self, counts: np.ndarray) -> np.ndarray:
        """Counts per km² of hexagon or per km of street: comparable between units of unequal size."""
        return counts / (self.size / (1e6 if self.kind == "hexagon" else 1e3))


def hexagon_units(polygon: shapely.Geometry, size_m: float, *, min_inside: float = 0.0) -> Units:
    """The hexagons of edge ``size_m`` metres meeting the polygon, clipped to it.

    With ``min_inside``, hexagons with less than that share of their area inside are left
    out (a point there is in no unit): a sliver at the edge has a rate that is noise.
    """
    if not size_m > 0:
        raise ValueError(f"cell_m must be a positive number of metres, got {size_m!r}")
    estimate = hex_count_estimate(polygon, size_m)
    if estimate > MAX_HEXAGONS:
        raise ValueError(f"hexagons of {size_m:g} m would make about {estimate:,} cells, more than "
                         f"{MAX_HEXAGONS:,}; use a larger cell_m or a smaller area")
    i, j = hexagons_over(polygon, size_m)
    # Clipped, so that a hexagon half outside the beat counts half the area: the
    # back-test's share of area is a share of the beat.
    clipped = shapely.intersection(hex_polygons(i, j, size_m), polygon)
    area = shapely.area(clipped)
    # Hexagons that only touch the polygon have no area in it.
    inside = (area > 0) & (area >= min_inside * 1.5 * SQRT3 * size_m ** 2)
    i, j, clipped = i[inside], j[inside], clipped[inside]
    order = np.argsort(_code(i, j))
    codes = _code(i, j)[order]

    def assign(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        wanted = _code(*hex_index(x, y, size_m))
        at = np.minimum(np.searchsorted(codes, wanted), max(len(codes) - 1, 0))
        found = codes[at] == wanted if len(codes) else np.zeros(len(wanted), dtype=bool)
        return np.where(found, order[at] if len(codes) else -1, -1)

    return Units("hexagon", np.array([f"{a},{b}" for a, b in zip(i, j)], dtype=object), clipped,
                 Graph.from_dicts(hex_neighbours(i, j)), assign)


def _code(i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """One integer per hexagon, to find hexagons by sorting rather than by a dict."""
    return np.asarray(i, dtype=np.int64) * (1 << 32) + np.asarray(j, dtype=np.int64)


def segment_units(ids: np.ndarray, lines: np.ndarray, *, snap_m: float, min_length_m: float = 0.0) -> Units:
    """Street segments; a point counts on the nearest within ``snap_m`` metres.

    Segments shorter than ``min_length_m`` (stubs cut off at the beat's edge) are left out.
    """
    long_enough = shapely.length(np.asarray(lines, dtype=object)) >= min_length_m
    ids, lines = np.asarray(ids)[long_enough], np.asarray(lines, dtype=object)[long_enough]
    pieces = line_pieces(lines)

    def assign(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        unit = np.full(len(x), -1, dtype=np.int64)
        if not len(x) or not len(pieces):
            return unit
        grid = BoxGrid.of(x, y, x, y, cell=2 * snap_m + pieces.typical_size())
        nearest = nearest_segments(grid, pieces.x0, pieces.y0, pieces.x1, pieces.y1, snap_m)
        reached = nearest >= 0
        unit[reached] = pieces.owner[nearest[reached]]
        return unit

    return Units("segment", np.asarray(ids), lines, contiguity_weights(lines), assign)
