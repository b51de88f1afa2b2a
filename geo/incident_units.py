"""The units incidents are counted in: hexagons over a place, and street segments.

Pure: metric coordinates in, units and counts out. Each kind of unit knows which
unit a point falls in, so any selection of incidents (a period, a type) is counted
on the same units: what hot spots, spikes and the back-test compare.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from libpysal.graph import Graph

from geo.coverage import line_pieces
from geo.grid import BoxGrid, nearest_segments
from geo.hexgrid import (
    SQRT3,
    hex_centres,
    hex_count_estimate,
    hex_index,
    hex_neighbours,
    hex_polygons,
    hexagons_over,
)
from geo.hotspots import contiguity_weights, gi_star

# More hexagons than this is a grid too fine for one request.
MAX_HEXAGONS = 200_000
# Hexagons less than this share inside the place, and street stubs shorter than
# this, are not tested for hot spots: their rates would be noise.
HOTSPOT_MIN_INSIDE = 0.25
HOTSPOT_MIN_LENGTH_M = 25.0


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


def hexagon_tally(x: np.ndarray, y: np.ndarray, size_m: float) -> pd.DataFrame:
    """How many of the points each hexagon of edge ``size_m`` holds (i, j, count), of the
    hexagons holding any: the tallies of the parts of a city's incidents, counted where
    they are, together make the tally of all of them (``tally_counts``)."""
    i, j = hex_index(x, y, size_m)
    return pd.DataFrame({"i": i, "j": j}).value_counts(sort=False).rename("count").reset_index()


def tally_counts(units: Units, tallies: pd.DataFrame, size_m: float) -> np.ndarray:
    """Points per unit, as ``units.counts`` gives them, from hexagon tallies of the points
    (hexagons of edge ``size_m``, as the units'; a hexagon may come in several tallies)."""
    unit = units.assign(*hex_centres(tallies["i"].to_numpy(), tallies["j"].to_numpy(), size_m))
    on = unit >= 0
    # Whole numbers in floats: sums are exact below 2**53.
    return np.bincount(unit[on], weights=tallies["count"].to_numpy()[on], minlength=len(units)).astype(np.int64)


def hotspot_table(units: Units, counts: np.ndarray, *, alpha: float, fdr: bool, permutations: int) -> pd.DataFrame:
    """Per unit, in their order: count, rate, and Getis-Ord Gi* (z, p, p_adjusted, label) of
    the rates (a hexagon cut by the edge, a short street, must not look cold for its size);
    permutations, if any, drawn from a fixed seed, so an answer is the same each time."""
    rates = units.rates(counts)
    table = gi_star(rates, units.weights, alpha=alpha, fdr=fdr, permutations=permutations,
                    seed=0).reset_index(drop=True)
    return table.assign(count=counts, rate=rates)[["count", "rate", *table.columns]]


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
