"""Street coverage and the revisits of entrances and focus areas of a whole city, tile by
tile and time chunk by time chunk, merged to exactly the answer of one run
(``geo/tiling.py`` has the rules).

Pure: frames in a metric CRS in, frames out. The inputs of a tile and a chunk are read
where they are (``db/city_tiles.py``) and the pieces run anywhere (``beatbook/city_coverage.py``).

Why the merge is exact, number for number: a street's covered stretches are the union
of one interval per (street piece, track piece) pair near each other, each computed from
that pair alone, and a union of closed intervals has one merged form whatever the order
and grouping (``geo.coverage.covered_stretches``). A tile holds every pair of its streets
(its halo) and a chunk's pairs and a later chunk's are merged like the pieces of one run.
Covered length and gaps then come from those same stretches by the same arithmetic, in
the same order. An entrance's passes are each found within one track, so within one
chunk, split where one run splits them (``geo.tiling.pieces_near`` keeps the separators)
and timed alike; merged and sorted by time, they give the same gaps, in the same order.
A focus area is one tile's: its lines are made there from the street parts that meet it,
in the place's order, so they come out vertex for vertex as in one run, and are measured
like streets; its passes are found like an entrance's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from geo.coverage import (
    TrackPieces,
    coverage_of,
    covered_stretches,
    geometry_passes,
    merge_intervals,
    point_passes,
)
from geo.patrol_gaps import (
    Nights,
    entrance_revisits,
    focus_lines,
    focus_table,
    night_pieces,
    street_gaps,
)
from geo.tiling import Box, TileGrid, concat_parts, halo, pieces_near


@dataclass(frozen=True)
class CityCoverage:
    """Per street segment part (id, length_m, covered_m, geometry), its uncovered stretches
    (street_id, from_m, to_m, length_m, geometry), per entrance (id, x, y, passes, last_pass,
    mean_gap_h, max_gap_h) and per focus area (id, kind, name, priority, length_m, covered_m,
    passes, last_pass, mean_gap_h, max_gap_h, geometry); rows in the order of ids, geometries
    in metres."""

    streets: pd.DataFrame
    gaps: pd.DataFrame
    entrances: pd.DataFrame
    focus_areas: pd.DataFrame


@dataclass(frozen=True)
class TileTargets:
    """What a tile answers for: its own streets (id, geometry: the parts of each, in order),
    entrances (id, x, y) and focus areas (id, kind, name, priority, geometry), and the lines a
    patrol walks to cover each focus area (``focus_lines``, with the row each belongs to)."""

    streets: pd.DataFrame
    entrances: pd.DataFrame
    focus: pd.DataFrame
    focus_lines: np.ndarray
    focus_owner: np.ndarray

    @classmethod
    def of(cls, streets: pd.DataFrame, entrances: pd.DataFrame, focus: pd.DataFrame,
           focus_streets: pd.DataFrame) -> TileTargets:
        """``focus_streets`` (id, geometry): the street parts of the place that meet the focus
        areas, in the order of the place's streets (any others may be among them)."""
        lines, owner = focus_lines(focus["geometry"].to_numpy(), focus_streets["geometry"].to_numpy())
        return cls(streets, entrances, focus, lines, owner)

    def halo(self, radius_m: float) -> Box | None:
        """The box of every track piece that may come within ``radius_m`` of these targets."""
        xmin, ymin, xmax, ymax = shapely.bounds(np.r_[self.streets["geometry"].to_numpy(),
                                                      self.focus["geometry"].to_numpy()]).T
        x, y = self.entrances["x"].to_numpy(), self.entrances["y"].to_numpy()
        return halo(np.r_[xmin, x], np.r_[ymin, y], np.r_[xmax, x], np.r_[ymax, y], radius_m)


@dataclass(frozen=True)
class ChunkPart:
    """What the track pieces of some time did near the targets: the covered stretches of the
    streets and of the focus lines (segment: the row), and the passes near the entrances and
    near the focus areas (target: the row)."""

    stretches: tuple[np.ndarray, np.ndarray, np.ndarray]
    passes: pd.DataFrame
    focus_stretches: tuple[np.ndarray, np.ndarray, np.ndarray]
    focus_passes: pd.DataFrame


def measure(targets: TileTargets, pieces: TrackPieces, radius_m: float) -> ChunkPart:
    """What these pieces did near the targets, each target measured on its own."""
    entrances = targets.entrances
    return ChunkPart(covered_stretches(targets.streets["geometry"].to_numpy(), pieces, radius_m),
                     point_passes(entrances["x"].to_numpy(), entrances["y"].to_numpy(), pieces, radius_m),
                     covered_stretches(targets.focus_lines, pieces, radius_m),
                     geometry_passes(targets.focus["geometry"].to_numpy(), pieces, radius_m))


def city_tables(targets: TileTargets, part: ChunkPart, nights: Nights) -> CityCoverage:
    """The answer for the targets from what the pieces did near them."""
    geoms = targets.streets["geometry"].to_numpy()
    street_table, gaps = street_gaps(targets.streets, coverage_of(part.stretches, shapely.length(geoms)))
    entrances = targets.entrances
    entrance_table = entrance_revisits(entrances, part.passes, nights)
    focus = focus_table(targets.focus, targets.focus_owner,
                        coverage_of(part.focus_stretches, shapely.length(targets.focus_lines)),
                        part.focus_passes, nights)
    return CityCoverage(street_table.assign(geometry=geoms), gaps,
                        entrance_table.assign(x=entrances["x"].to_numpy(), y=entrances["y"].to_numpy()),
                        focus.assign(geometry=targets.focus["geometry"].to_numpy()))


def whole_city(streets: pd.DataFrame, entrances: pd.DataFrame, focus: pd.DataFrame, vertices: pd.DataFrame,
               nights: Nights, radius_m: float) -> CityCoverage:
    """The answer in one run: every street, entrance, focus area and track vertex (track, x,
    y, t, sorted by track and time) at once, as ``geo.patrol_gaps.patrol_gaps`` measures them."""
    targets = TileTargets.of(streets, entrances, focus, streets)
    return city_tables(targets, measure(targets, night_pieces(vertices, nights), radius_m), nights)


@dataclass(frozen=True)
class TilePlan:
    """The targets one tile answers for, by id."""

    tile: int
    street_ids: np.ndarray
    entrance_ids: np.ndarray
    focus_ids: np.ndarray


def plan_tiles(street_anchors: pd.DataFrame, entrance_anchors: pd.DataFrame, focus_anchors: pd.DataFrame,
               tile_m: float) -> list[TilePlan]:
    """Square tiles of ``tile_m`` metres over the anchors (id, x, y: a street's first vertex,
    an entrance, a point of a focus area), each with the ids of the targets anchored in it;
    tiles without any are left out."""
    kinds = (street_anchors, entrance_anchors, focus_anchors)
    grid = TileGrid.covering(np.concatenate([a["x"].to_numpy(float) for a in kinds]),
                             np.concatenate([a["y"].to_numpy(float) for a in kinds]), tile_m)
    tile_of = [grid.tile_of(a["x"].to_numpy(float), a["y"].to_numpy(float)) for a in kinds]
    tiles = np.unique(np.concatenate(tile_of))
    ids = [_ids_by_tile(a["id"].to_numpy(), tile, tiles) for a, tile in zip(kinds, tile_of)]
    return [TilePlan(int(tile), *own) for tile, *own in zip(tiles, *ids)]


def _ids_by_tile(ids: np.ndarray, tile: np.ndarray, tiles: np.ndarray) -> list[np.ndarray]:
    """The ids in each of ``tiles`` (sorted, holding every one of ``tile``), sorted."""
    order = np.lexsort((ids, tile))
    return np.split(ids[order], np.searchsorted(tile[order], tiles[1:])) if len(tiles) else []


def chunk_part(targets: TileTargets, vertices: pd.DataFrame, nights: Nights, radius_m: float) -> ChunkPart:
    """One tile and one chunk. ``vertices`` (track, x, y, t, sorted by track and time) are of
    tracks that start in the chunk: all of those that come near the tile's halo, and any others."""
    pieces = night_pieces(vertices, nights)
    box = targets.halo(radius_m)
    return measure(targets, pieces.take(pieces_near(pieces.pieces, box) if box else slice(0, 0)), radius_m)


def merge_chunks(targets: TileTargets, parts: Sequence[ChunkPart], nights: Nights) -> CityCoverage:
    """A tile's answer over the whole period from its chunks' parts."""

    def stretches(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return merge_intervals(*(np.concatenate([getattr(p, name)[k] for p in parts]) for k in range(3)))

    merged = ChunkPart(stretches("stretches"), concat_parts([p.passes for p in parts]),
                       stretches("focus_stretches"), concat_parts([p.focus_passes for p in parts]))
    return city_tables(targets, merged, nights)


def merge_tiles(tiles: Sequence[CityCoverage]) -> CityCoverage:
    """The city's answer from its tiles', in the order of one run: by street id (a street's
    parts and gaps, all in one tile, keep their order), entrance id and focus area id."""

    def ordered(frames: list[pd.DataFrame], by: str) -> pd.DataFrame:
        return concat_parts(frames).sort_values(by, kind="stable").reset_index(drop=True)

    return CityCoverage(ordered([t.streets for t in tiles], "id"), ordered([t.gaps for t in tiles], "street_id"),
                        ordered([t.entrances for t in tiles], "id"), ordered([t.focus_areas for t in tiles], "id"))
