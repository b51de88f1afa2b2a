"""Where the last nights' patrols did not go: streets, focus areas and entrances.

Pure: frames in a metric CRS in, frames out. The database fetches the inputs
(``db/analysis.py``) and the API shapes the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from geo.coverage import (
    StreetCoverage,
    TrackPieces,
    gap_lines,
    geometry_passes,
    point_passes,
    revisits,
    street_coverage,
    track_pieces,
)
from geo.windows import DailyWindow, in_nights


@dataclass(frozen=True)
class Nights:
    """The nights asked about: a daily window on each date from ``first`` to ``last``."""

    window: DailyWindow
    first: date
    last: date
    tz: str

    def contains(self, epoch_s: np.ndarray) -> np.ndarray:
        return in_nights(epoch_s, self.window, self.tz, self.first, self.last)

    def elapsed(self, epoch_s: np.ndarray) -> np.ndarray:
        return self.window.elapsed(epoch_s, self.tz)


def night_pieces(vertices: pd.DataFrame, nights: Nights) -> TrackPieces:
    """The pieces of track walked inside the nights' windows (both of their fixes inside).

    ``vertices`` holds track, x, y, t (epoch seconds), sorted by track and time.
    """
    pieces = track_pieces(vertices["track"].to_numpy(), vertices["x"].to_numpy(),
                          vertices["y"].to_numpy(), vertices["t"].to_numpy())
    return pieces.take(nights.contains(pieces.t0) & nights.contains(pieces.t1))


@dataclass(frozen=True)
class PatrolGaps:
    streets: pd.DataFrame  # id, length_m, covered_m
    gaps: pd.DataFrame  # street_id, from_m, to_m, length_m, geometry (metric CRS)
    focus_areas: pd.DataFrame  # id, kind, name, priority, length_m, covered_m + revisits
    entrances: pd.DataFrame  # id + revisits (passes, last_pass, mean_gap_h, max_gap_h)
    summary: dict


def patrol_gaps(
    streets: pd.DataFrame,
    focus_areas: pd.DataFrame,
    entrances: pd.DataFrame,
    pieces: TrackPieces,
    nights: Nights,
    *,
    radius_m: float,
) -> PatrolGaps:
    """Street coverage, focus-area coverage and revisits, and entrance revisits.

    ``streets``: id, geometry (LineStrings); ``focus_areas``: id, kind, name, priority,
    geometry (lines or polygons); ``entrances``: id, x, y. All in one metric CRS.
    """
    street_geoms = streets["geometry"].to_numpy()
    street_table, gaps = street_gaps(streets, street_coverage(street_geoms, pieces, radius_m))
    focus = _focus_coverage(focus_areas, street_geoms, pieces, nights, radius_m)
    entrance_table = entrance_revisits(
        entrances, point_passes(entrances["x"].to_numpy(), entrances["y"].to_numpy(), pieces, radius_m), nights)
    return PatrolGaps(street_table, gaps, focus, entrance_table,
                      _summary(street_table, focus, entrance_table, pieces))


def street_gaps(streets: pd.DataFrame, cover: StreetCoverage) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The streets' table (id, length_m, covered_m) and their gaps (street_id, from_m, to_m,
    length_m, geometry), from the streets (id, geometry) and their coverage."""
    street_table = pd.DataFrame({"id": streets["id"].to_numpy(), "length_m": cover.length_m,
                                 "covered_m": cover.covered_m})
    gaps = cover.gaps.assign(street_id=streets["id"].to_numpy()[cover.gaps["segment"].to_numpy()],
                             length_m=cover.gaps["to_m"] - cover.gaps["from_m"],
                             geometry=gap_lines(streets["geometry"].to_numpy(), cover.gaps))
    return street_table, gaps.drop(columns="segment")


def entrance_revisits(entrances: pd.DataFrame, passes: pd.DataFrame, nights: Nights) -> pd.DataFrame:
    """The entrances' ids with their revisits (passes, last_pass, mean_gap_h, max_gap_h),
    from their passes (target: the entrance's position)."""
    visits = revisits(passes, len(entrances), nights.elapsed)
    return pd.concat([entrances[["id"]].reset_index(drop=True), visits.reset_index(drop=True)], axis=1)


def _focus_coverage(focus_areas: pd.DataFrame, street_geoms: np.ndarray, pieces: TrackPieces,
                    nights: Nights, radius_m: float) -> pd.DataFrame:
    geoms = focus_areas["geometry"].to_numpy()
    lines, owner = focus_lines(geoms, street_geoms)
    return focus_table(focus_areas, owner, street_coverage(lines, pieces, radius_m),
                       geometry_passes(geoms, pieces, radius_m), nights)


def focus_table(focus_areas: pd.DataFrame, owner: np.ndarray, cover: StreetCoverage, passes: pd.DataFrame,
                nights: Nights) -> pd.DataFrame:
    """The focus areas' table (id, kind, name, priority, length_m, covered_m + revisits) from
    the coverage of their lines (``focus_lines``; ``owner``: the row each belongs to) and the
    passes near each area (target: its row)."""
    n = len(focus_areas)
    table = focus_areas.drop(columns="geometry").reset_index(drop=True).assign(
        length_m=np.bincount(owner, weights=cover.length_m, minlength=n),
        covered_m=np.bincount(owner, weights=cover.covered_m, minlength=n),
    )
    visits = revisits(passes, n, nights.elapsed)
    return pd.concat([table, visits.reset_index(drop=True)], axis=1)


def focus_lines(geoms: np.ndarray, street_geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lines a patrol must walk to cover each focus area, and the area each belongs to.

    A footpath or street drawn as a line is itself; a polygon (a car park, a commercial
    street drawn as an area) is the street network inside it, or its outline when no
    street enters it.
    """
    geoms = np.asarray(geoms, dtype=object)
    polygonal = np.isin(shapely.get_type_id(geoms), [3, 6])
    parts, owners = [], []
    tree = STRtree(street_geoms)
    for k, geom in enumerate(geoms):
        if polygonal[k]:
            # In the streets' order, whatever the tree's: the union's vertices then come out
            # alike from all the streets and from any subset holding the ones that meet it.
            near = np.sort(tree.query(geom, predicate="intersects"))
            inside = shapely.intersection(street_geoms[near], geom)
            pieces = shapely.get_parts(shapely.line_merge(shapely.union_all(inside))) if len(inside) else []
            pieces = [p for p in pieces if p.geom_type == "LineString" and p.length > 0]
            if not pieces:
                pieces = list(shapely.get_parts(shapely.get_exterior_ring(shapely.get_parts(geom))))
        else:
            pieces = list(shapely.get_parts(geom))
        parts.extend(pieces)
        owners.extend([k] * len(pieces))
    return np.array(parts, dtype=object), np.array(owners, dtype=int)


def _summary(streets: pd.DataFrame, focus: pd.DataFrame, entrances: pd.DataFrame,
             pieces: TrackPieces) -> dict:
    length, covered = float(streets["length_m"].sum()), float(streets["covered_m"].sum())
    weighted_length = float((focus["priority"] * focus["length_m"]).sum())
    weighted_covered = float((focus["priority"] * focus["covered_m"]).sum())
    passed = int((entrances["passes"] > 0).sum())
    return {
        "street_length_m": round(length, 1),
        "covered_length_m": round(covered, 1),
        "covered_share": round(covered / length, 4) if length else None,
        "priority_covered_share": round(weighted_covered / weighted_length, 4) if weighted_length else None,
        "focus_areas_passed": int((focus["passes"] > 0).sum()),
        "focus_areas_unpassed": int((focus["passes"] == 0).sum()),
        "entrances_passed": passed,
        "entrances_unpassed": len(entrances) - passed,
        "track_pieces": len(pieces.t0),
    }
