"""Street coverage and entrance revisits of a whole city, tile by tile and time chunk by
time chunk, merged to exactly the answer of one run (``geo/tiling.py`` has the rules).

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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from geo.coverage import coverage_of, covered_stretches, merge_intervals, point_passes
from geo.patrol_gaps import Nights, entrance_revisits, night_pieces, street_gaps
from geo.tiling import Box, TileGrid, concat_parts, halo, pieces_near


@dataclass(frozen=True)
class CityCoverage:
    """Per street segment part (id, length_m, covered_m, geometry), its uncovered stretches
    (street_id, from_m, to_m, length_m, geometry) and per entrance (id, x, y, passes,
    last_pass, mean_gap_h, max_gap_h); rows in the order of ids, geometries in metres."""

    streets: pd.DataFrame
    gaps: pd.DataFrame
    entrances: pd.DataFrame


def city_tables(streets: pd.DataFrame, entrances: pd.DataFrame,
                stretches: tuple[np.ndarray, np.ndarray, np.ndarray], passes: pd.DataFrame,
                nights: Nights) -> CityCoverage:
    """The answer for streets (id, geometry) and entrances (id, x, y) from their covered
    stretches (``covered_stretches``) and passes (``point_passes``)."""
    geoms = streets["geometry"].to_numpy()
    street_table, gaps = street_gaps(streets, coverage_of(stretches, shapely.length(geoms)))
    entrance_table = entrance_revisits(entrances, passes, nights)
    return CityCoverage(street_table.assign(geometry=geoms),
                        gaps, entrance_table.assign(x=entrances["x"].to_numpy(), y=entrances["y"].to_numpy()))


def whole_city(streets: pd.DataFrame, entrances: pd.DataFrame, vertices: pd.DataFrame, nights: Nights,
               radius_m: float) -> CityCoverage:
    """The answer in one run: every street, entrance and track vertex (track, x, y, t, sorted
    by track and time) at once, as ``geo.patrol_gaps.patrol_gaps`` measures them."""
    pieces = night_pieces(vertices, nights)
    return city_tables(streets, entrances,
                       covered_stretches(streets["geometry"].to_numpy(), pieces, radius_m),
                       point_passes(entrances["x"].to_numpy(), entrances["y"].to_numpy(), pieces, radius_m),
                       nights)


@dataclass(frozen=True)
class TilePlan:
    """The targets one tile answers for, by id."""

    tile: int
    street_ids: np.ndarray
    entrance_ids: np.ndarray


def plan_tiles(street_anchors: pd.DataFrame, entrance_anchors: pd.DataFrame, tile_m: float) -> list[TilePlan]:
    """Square tiles of ``tile_m`` metres over the anchors (id, x, y: a street's first vertex,
    an entrance), each with the ids of the targets anchored in it; tiles without any are left out."""
    grid = TileGrid.covering(np.r_[street_anchors["x"], entrance_anchors["x"]],
                             np.r_[street_anchors["y"], entrance_anchors["y"]], tile_m)
    street_tile = grid.tile_of(street_anchors["x"], street_anchors["y"])
    entrance_tile = grid.tile_of(entrance_anchors["x"], entrance_anchors["y"])
    tiles = np.unique(np.r_[street_tile, entrance_tile])
    streets = _ids_by_tile(street_anchors["id"].to_numpy(), street_tile, tiles)
    entrances = _ids_by_tile(entrance_anchors["id"].to_numpy(), entrance_tile, tiles)
    return [TilePlan(int(tile), s, e) for tile, s, e in zip(tiles, streets, entrances)]


def _ids_by_tile(ids: np.ndarray, tile: np.ndarray, tiles: np.ndarray) -> list[np.ndarray]:
    """The ids in each of ``tiles`` (sorted, holding every one of ``tile``), sorted."""
    order = np.lexsort((ids, tile))
    return np.split(ids[order], np.searchsorted(tile[order], tiles[1:])) if len(tiles) else []


@dataclass(frozen=True)
class TileTargets:
    """A tile's own streets (id, geometry: the parts of each, in order) and entrances (id, x, y)."""

    streets: pd.DataFrame
    entrances: pd.DataFrame

    def halo(self, radius_m: float) -> Box | None:
        """The box of every track piece that may come within ``radius_m`` of these targets."""
        xmin, ymin, xmax, ymax = shapely.bounds(self.streets["geometry"].to_numpy()).T
        x, y = self.entrances["x"].to_numpy(), self.entrances["y"].to_numpy()
        return halo(np.r_[xmin, x], np.r_[ymin, y], np.r_[xmax, x], np.r_[ymax, y], radius_m)


@dataclass(frozen=True)
class ChunkPart:
    """A tile's answer for one time chunk: its streets' covered stretches (segment: the row
    in the tile's streets) and its entrances' passes (target: the row in its entrances)."""

    stretches: tuple[np.ndarray, np.ndarray, np.ndarray]
    passes: pd.DataFrame


def chunk_part(targets: TileTargets, vertices: pd.DataFrame, nights: Nights, radius_m: float) -> ChunkPart:
    """One tile and one chunk. ``vertices`` (track, x, y, t, sorted by track and time) are of
    tracks that start in the chunk: all of those that come near the tile's halo, and any others."""
    pieces = night_pieces(vertices, nights)
    box = targets.halo(radius_m)
    pieces = pieces.take(pieces_near(pieces.pieces, box) if box else slice(0, 0))
    entrances = targets.entrances
    return ChunkPart(covered_stretches(targets.streets["geometry"].to_numpy(), pieces, radius_m),
                     point_passes(entrances["x"].to_numpy(), entrances["y"].to_numpy(), pieces, radius_m))


def merge_chunks(targets: TileTargets, parts: Sequence[ChunkPart], nights: Nights) -> CityCoverage:
    """A tile's answer over the whole period from its chunks' parts."""
    stretches = merge_intervals(*(np.concatenate([p.stretches[k] for p in parts]) for k in range(3)))
    passes = concat_parts([p.passes for p in parts])
    return city_tables(targets.streets, targets.entrances, stretches, passes, nights)


def merge_tiles(tiles: Sequence[CityCoverage]) -> CityCoverage:
    """The city's answer from its tiles', in the order of one run: by street id (a street's
    parts and gaps, all in one tile, keep their order) and entrance id."""

    def ordered(frames: list[pd.DataFrame], by: str) -> pd.DataFrame:
        return concat_parts(frames).sort_values(by, kind="stable").reset_index(drop=True)

    return CityCoverage(ordered([t.streets for t in tiles], "id"), ordered([t.gaps for t in tiles], "street_id"),
                        ordered([t.entrances for t in tiles], "id"))
