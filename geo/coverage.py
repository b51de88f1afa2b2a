"""Which streets, entrances and focus areas patrols passed, exactly, in metres and seconds.

A patrol track is a polyline of fixes; between two fixes the officer is taken to
have walked the straight piece joining them, so sparse fixes still cover the street
between them. A point is *covered* when it lies within ``radius`` of some piece:
the piece's cover is a capsule (a rectangle with two half-discs). A straight street
piece meets a capsule in one interval of its length, because the distance from a
moving point to a segment is convex along a line. So coverage is computed exactly,
with no buffering or polygon unions: one interval per (street piece, track piece)
pair near each other, then the union of intervals per street.

Everything here works in a metric CRS (x, y in metres) and epoch seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd
import shapely
from shapely.ops import substring

from geo.grid import BoxGrid, points_near_segments


@dataclass(frozen=True)
class Pieces:
    """Straight pieces of lines: from (x0, y0) to (x1, y1), each with the line it belongs to."""

    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    owner: np.ndarray  # index of the line (street segment, track) the piece is part of

    def __len__(self) -> int:
        return len(self.x0)

    @property
    def length(self) -> np.ndarray:
        return np.hypot(self.x1 - self.x0, self.y1 - self.y0)

    def take(self, mask: np.ndarray | slice) -> Pieces:
        return Pieces(self.x0[mask], self.y0[mask], self.x1[mask], self.y1[mask], self.owner[mask])

    def bounds(self, grow: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """xmin, ymin, xmax, ymax of each piece, grown by ``grow`` on every side."""
        return (np.minimum(self.x0, self.x1) - grow, np.minimum(self.y0, self.y1) - grow,
                np.maximum(self.x0, self.x1) + grow, np.maximum(self.y0, self.y1) + grow)

    def typical_size(self) -> float:
        """The median extent of the pieces' boxes: a good grid cell for finding their neighbours."""
        if not len(self):
            return 1.0
        some = slice(None, None, max(1, len(self) // 10_000))
        return float(np.median(np.maximum(np.abs(self.x1[some] - self.x0[some]),
                                          np.abs(self.y1[some] - self.y0[some]))))


@dataclass(frozen=True)
class TrackPieces:
    """Pieces of patrol tracks with the times (epoch seconds) of their two fixes."""

    pieces: Pieces
    t0: np.ndarray
    t1: np.ndarray

    def take(self, mask: np.ndarray | slice) -> TrackPieces:
        return TrackPieces(self.pieces.take(mask), self.t0[mask], self.t1[mask])


def line_pieces(lines: np.ndarray) -> Pieces:
    """Split LineStrings into their straight pieces; ``owner`` is the line's position."""
    coords, owner = shapely.get_coordinates(np.asarray(lines, dtype=object), return_index=True)
    same = owner[1:] == owner[:-1]
    return Pieces(coords[:-1, 0][same], coords[:-1, 1][same], coords[1:, 0][same], coords[1:, 1][same],
                  owner[:-1][same])


def track_pieces(track: np.ndarray, x: np.ndarray, y: np.ndarray, t: np.ndarray) -> TrackPieces:
    """Pieces between consecutive fixes of each track; vertices sorted by track, then time."""
    same = track[1:] == track[:-1]
    pieces = Pieces(x[:-1][same], y[:-1][same], x[1:][same], y[1:][same], track[:-1][same])
    return TrackPieces(pieces, t[:-1][same], t[1:][same])


# --- the geometry of one capsule and one line ----------------------------------------------


def capsule_intervals(street: Pieces, track: Pieces, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """For pairs (street piece i, track piece i): the interval [lo, hi] of the street piece's
    parameter (0 at its start, 1 at its end) within ``radius`` of the track piece.

    Empty intervals have lo > hi. Works on arrays of pairs of equal length.
    """
    px, py = street.x0, street.y0
    dx, dy = street.x1 - px, street.y1 - py
    lo = np.full(len(px), np.inf)
    hi = np.full(len(px), -np.inf)
    # The two discs at the track piece's ends.
    for cx, cy in ((track.x0, track.y0), (track.x1, track.y1)):
        a_lo, a_hi = _disc_interval(px - cx, py - cy, dx, dy, radius)
        lo, hi = _hull(lo, hi, a_lo, a_hi)
    # The rectangle along the track piece: 0 <= along <= |AB| and |across| <= radius.
    ux, uy = track.x1 - track.x0, track.y1 - track.y0
    span = np.hypot(ux, uy)
    moving = span > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        ux, uy = np.where(moving, ux / span, 0.0), np.where(moving, uy / span, 0.0)
    rx, ry = px - track.x0, py - track.y0
    along_lo, along_hi = _linear_interval(rx * ux + ry * uy, dx * ux + dy * uy, 0.0, span)
    across_lo, across_hi = _linear_interval(-rx * uy + ry * ux, -dx * uy + dy * ux, -radius, radius)
    r_lo, r_hi = np.maximum(along_lo, across_lo), np.minimum(along_hi, across_hi)
    r_lo, r_hi = np.where(moving, r_lo, np.inf), np.where(moving, r_hi, -np.inf)
    lo, hi = _hull(lo, hi, r_lo, r_hi)
    return np.maximum(lo, 0.0), np.minimum(hi, 1.0)


def _hull(lo, hi, other_lo, other_hi):
    """Join intervals known to overlap or touch (parts of one convex set's trace)."""
    empty = other_lo > other_hi
    return np.where(empty, lo, np.minimum(lo, other_lo)), np.where(empty, hi, np.maximum(hi, other_hi))


def _disc_interval(rx, ry, dx, dy, radius):
    """t with |r + t d| <= radius: the roots of a quadratic."""
    a = dx * dx + dy * dy
    b = 2 * (rx * dx + ry * dy)
    c = rx * rx + ry * ry - radius * radius
    disc = b * b - 4 * a * c
    point_street = a == 0
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        root = np.sqrt(np.maximum(disc, 0.0))
        lo, hi = (-b - root) / (2 * a), (-b + root) / (2 * a)
    hit = disc >= 0
    # A street piece of zero length is covered wholly or not at all.
    lo = np.where(point_street, np.where(c <= 0, 0.0, np.inf), np.where(hit, lo, np.inf))
    hi = np.where(point_street, np.where(c <= 0, 1.0, -np.inf), np.where(hit, hi, -np.inf))
    return lo, hi


def _linear_interval(value0, slope, low, high):
    """t with low <= value0 + slope t <= high."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        t_a, t_b = (low - value0) / slope, (high - value0) / slope
    flat = slope == 0
    inside = (value0 >= low) & (value0 <= high)
    lo = np.where(flat, np.where(inside, -np.inf, np.inf), np.minimum(t_a, t_b))
    hi = np.where(flat, np.where(inside, np.inf, -np.inf), np.maximum(t_a, t_b))
    return lo, hi


# --- streets ---------------------------------------------------------------------------------


def merge_intervals(key: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, ...]:
    """Union of intervals per key: returns (key, lo, hi) of disjoint intervals, sorted."""
    if not len(key):
        return key, lo, hi
    order = np.lexsort((lo, key))
    key, lo, hi = key[order], lo[order], hi[order]
    first = np.r_[True, key[1:] != key[:-1]]
    # How far each key's intervals reach so far; one that starts beyond it opens a new run.
    reach = pd.Series(hi).groupby(np.cumsum(first)).cummax().to_numpy()
    opens = first.copy()
    opens[1:] |= lo[1:] > reach[:-1]
    starts = np.flatnonzero(opens)
    return key[starts], lo[starts], np.maximum.reduceat(hi, starts)


@dataclass(frozen=True)
class StreetCoverage:
    """Per street segment (in the order given): length, covered length, uncovered intervals."""

    length_m: np.ndarray
    covered_m: np.ndarray
    # Uncovered stretches as distances from each segment's start: (segment, from_m, to_m).
    gaps: pd.DataFrame


def street_coverage(streets: np.ndarray, tracks: TrackPieces, radius: float, *,
                    chunk: int = 100_000) -> StreetCoverage:
    """Exact coverage of street LineStrings (metric CRS) by track pieces within ``radius``.

    Tracks are taken ``chunk`` pieces at a time, in time order; a street piece covered
    end to end is not tested again. Over weeks of patrols most streets are covered in
    the first nights, so the later ones cost little.
    """
    streets = np.asarray(streets, dtype=object)
    return coverage_of(covered_stretches(streets, tracks, radius, chunk=chunk), shapely.length(streets))


def covered_stretches(streets: np.ndarray, tracks: TrackPieces, radius: float, *,
                      chunk: int = 100_000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stretches of each street within ``radius`` of a track piece: (segment, from_m, to_m),
    merged and sorted (see ``street_coverage``).

    A street's stretches depend on that street and the pieces near it alone, not on the
    other streets measured with it; and the stretches of two sets of tracks, merged by
    ``merge_intervals``, are those of both together. So streets and tracks may be cut
    into tiles and time chunks and their stretches merged (``geo/tiled_coverage.py``).
    """
    streets = np.asarray(streets, dtype=object)
    pieces = line_pieces(streets)
    piece_len = pieces.length
    starts = _starts_along(pieces.owner, piece_len)
    # Merged cover so far, per street piece, in the piece's own parameter (0 to 1).
    key, lo, hi = np.empty(0, dtype=int), np.empty(0), np.empty(0)
    open_pieces = np.ones(len(pieces), dtype=bool)
    grid = BoxGrid.of(*pieces.bounds(radius), cell=2 * radius + tracks.pieces.typical_size())
    order = np.argsort(tracks.t0, kind="stable")
    for begin in range(0, len(order), chunk):
        batch = tracks.take(order[begin:begin + chunk])
        i, j = grid.pairs(*batch.pieces.bounds(), live=open_pieces)
        new_lo, new_hi = capsule_intervals(pieces.take(i), batch.pieces.take(j), radius)
        hit = new_lo <= new_hi
        key, lo, hi = merge_intervals(np.r_[key, i[hit]], np.r_[lo, new_lo[hit]], np.r_[hi, new_hi[hit]])
        open_pieces[key[(lo <= 0.0) & (hi >= 1.0)]] = False
    # Along each street, in metres; pieces abut, so merging across them is merging in metres.
    return merge_intervals(pieces.owner[key], starts[key] + lo * piece_len[key],
                           starts[key] + hi * piece_len[key])


@numba.njit(cache=True)
def _starts_along(owner: np.ndarray, piece_len: np.ndarray) -> np.ndarray:
    """Where each piece starts along its line: the lengths of the line's pieces before it,
    summed in order along that line alone. So a line's numbers do not depend on the lines
    before it in the array, and a piece ends (start + 1 * length) exactly where the next
    one starts."""
    starts = np.zeros(len(owner))
    for k in range(1, len(owner)):
        if owner[k] == owner[k - 1]:
            starts[k] = starts[k - 1] + piece_len[k - 1]
    return starts


def coverage_of(stretches: tuple[np.ndarray, np.ndarray, np.ndarray], length: np.ndarray) -> StreetCoverage:
    """The coverage of streets of the given lengths from their covered stretches, merged and
    sorted as ``covered_stretches`` gives them."""
    key, m_lo, m_hi = stretches
    covered = np.bincount(key, weights=m_hi - m_lo, minlength=len(length))
    return StreetCoverage(length, np.minimum(covered, length), _complement(key, m_lo, m_hi, length))


def _complement(key, lo, hi, length, tiny: float = 1e-6) -> pd.DataFrame:
    """The stretches of each street not in its merged covered intervals."""
    n = len(length)
    # Each street's covered intervals, framed by a zero-length "cover" at each end.
    keys = np.r_[key, np.arange(n), np.arange(n)]
    los = np.r_[lo, np.zeros(n), length]
    his = np.r_[hi, np.zeros(n), length]
    order = np.lexsort((los, keys))
    keys, los, his = keys[order], los[order], his[order]
    reach = pd.Series(his).groupby(keys).cummax().to_numpy()
    same = keys[1:] == keys[:-1]
    gap_from, gap_to = reach[:-1][same], los[1:][same]
    real = gap_to - gap_from > tiny
    return pd.DataFrame({"segment": keys[:-1][same][real], "from_m": gap_from[real], "to_m": gap_to[real]})


def gap_lines(streets: np.ndarray, gaps: pd.DataFrame) -> np.ndarray:
    """The uncovered stretches as exact sub-lines of their streets."""
    streets = np.asarray(streets, dtype=object)
    return np.array([substring(streets[s], a, b)
                     for s, a, b in gaps[["segment", "from_m", "to_m"]].itertuples(index=False)],
                    dtype=object)


# --- points: entrances and their passes -----------------------------------------------------


def _near_points(x: np.ndarray, y: np.ndarray, tracks: TrackPieces, radius: float, *,
                 first_only: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (point i, track piece j) within ``radius``, and where along the piece (0-1) the
    point is closest; with ``first_only``, one pair per point reached."""
    grid = BoxGrid.of(x, y, x, y, cell=2 * radius + tracks.pieces.typical_size())
    p = tracks.pieces
    return points_near_segments(grid, p.x0, p.y0, p.x1, p.y1, radius, first_only=first_only)


def point_passes(x: np.ndarray, y: np.ndarray, tracks: TrackPieces, radius: float) -> pd.DataFrame:
    """When patrols passed each point: one row per pass, (target, track, time of closest approach)."""
    i, j, u = _near_points(x, y, tracks, radius)
    return _passes(i, j, tracks.t0[j] + u * (tracks.t1[j] - tracks.t0[j]), tracks)


def passed_points(x: np.ndarray, y: np.ndarray, tracks: TrackPieces, radius: float) -> np.ndarray:
    """Whether any track piece came within ``radius`` of each point.

    Like ``point_passes`` but only yes or no, so a point passed once is not tested
    again: over weeks of patrols most points are settled by the first night.
    """
    passed = np.zeros(len(x), dtype=bool)
    passed[_near_points(x, y, tracks, radius, first_only=True)[0]] = True
    return passed


def geometry_passes(geoms: np.ndarray, tracks: TrackPieces, radius: float) -> pd.DataFrame:
    """When patrols came within ``radius`` of each geometry (a focus area): one row per pass."""
    geoms = np.asarray(geoms, dtype=object)
    if not len(geoms) or not len(tracks.pieces):
        return _passes(np.empty(0, int), np.empty(0, int), np.empty(0), tracks)
    xmin, ymin, xmax, ymax = shapely.bounds(geoms).T
    grid = BoxGrid.of(xmin - radius, ymin - radius, xmax + radius, ymax + radius,
                      cell=2 * radius + tracks.pieces.typical_size())
    i, j = grid.pairs(*tracks.pieces.bounds())
    p = tracks.pieces.take(j)
    lines = shapely.linestrings(np.stack([np.c_[p.x0, p.y0], np.c_[p.x1, p.y1]], axis=1))
    near = shapely.dwithin(lines, geoms[i], radius)
    return _passes(i[near], j[near], tracks.t0[j[near]], tracks)


def _passes(target: np.ndarray, piece: np.ndarray, time: np.ndarray, tracks: TrackPieces) -> pd.DataFrame:
    """Consecutive pieces of one track near one target make one pass, timed at its first moment."""
    frame = pd.DataFrame({"target": target, "track": tracks.pieces.owner[piece], "piece": piece,
                          "time": time}).sort_values(["target", "track", "piece"], kind="stable")
    new_pass = ((frame["target"].diff() != 0) | (frame["track"].diff() != 0)
                | (frame["piece"].diff() != 1)).to_numpy()
    return frame[new_pass][["target", "track", "time"]].reset_index(drop=True)


def revisits(passes: pd.DataFrame, n_targets: int, elapsed) -> pd.DataFrame:
    """Per target: number of passes, the last one, and the mean and longest gap between them.

    ``elapsed`` maps epoch seconds to window seconds, so a gap counts only time inside
    the daily windows (the day between two night patrols is no idleness).
    """
    frame = passes.sort_values(["target", "time"], kind="stable")
    target = frame["target"].to_numpy()
    gap = np.diff(elapsed(frame["time"].to_numpy()), prepend=np.nan)
    gap[np.r_[True, target[1:] != target[:-1]][: len(target)]] = np.nan
    frame = frame.assign(gap_h=gap / 3600)
    stats = frame.groupby("target").agg(passes=("time", "size"), last_pass=("time", "max"),
                                        mean_gap_h=("gap_h", "mean"), max_gap_h=("gap_h", "max"))
    stats = stats.reindex(range(n_targets))
    stats["passes"] = stats["passes"].fillna(0).astype(int)
    return stats
