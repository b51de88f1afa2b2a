"""Coverage by patrol tracks: hand-checked cases, properties, and a second method to agree with."""

from datetime import date

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.coverage import (
    geometry_passes,
    passed_points,
    point_passes,
    revisits,
    street_coverage,
    track_pieces,
)
from geo.windows import DailyWindow, in_nights


def track(*points, start=0.0, step=60.0, track_id=0):
    """A track through (x, y) points, one fix every ``step`` seconds."""
    xy = np.array(points, dtype=float)
    n = len(xy)
    return track_pieces(np.full(n, track_id), xy[:, 0], xy[:, 1], start + step * np.arange(n))


def join(*tracks):
    from geo.coverage import Pieces, TrackPieces

    cat = lambda attr: np.concatenate([getattr(t.pieces, attr) for t in tracks])
    return TrackPieces(Pieces(cat("x0"), cat("y0"), cat("x1"), cat("y1"), cat("owner")),
                       np.concatenate([t.t0 for t in tracks]), np.concatenate([t.t1 for t in tracks]))


STREET = np.array([shapely.LineString([(0, 0), (100, 0)])], dtype=object)


def covered(streets, pieces, radius=30.0):
    return street_coverage(streets, pieces, radius)


# --- by hand ---------------------------------------------------------------------------------


def test_a_track_along_the_first_fifth_covers_exactly_half():
    # Walked from 0 to 20 m; with a 30 m radius the cover reaches 50 m.
    result = covered(STREET, track((0, 0), (20, 0)))
    assert result.covered_m[0] == pytest.approx(50.0)
    [(frm, to)] = result.gaps[["from_m", "to_m"]].to_numpy()
    assert (frm, to) == (pytest.approx(50.0), pytest.approx(100.0))


def test_two_fixes_sixty_seconds_apart_cover_the_street_between_them():
    # Fixes at 10 m and 90 m only: the officer walked the 80 m between them.
    result = covered(STREET, track((10, 0), (90, 0)), radius=5.0)
    assert result.covered_m[0] == pytest.approx(90.0)  # 5..95


def test_crossing_a_street_covers_the_radius_either_side():
    result = covered(STREET, track((50, -100), (50, 100)))
    assert result.covered_m[0] == pytest.approx(60.0)


def test_a_parallel_track_at_the_radius_just_touches_and_beyond_it_does_not():
    assert covered(STREET, track((0, 30), (100, 30))).covered_m[0] == pytest.approx(100.0)
    assert covered(STREET, track((0, 30.01), (100, 30.01))).covered_m[0] == 0.0


def test_the_discs_at_a_track_end_are_round():
    # A track ending 20 m above the street's middle covers sqrt(30^2 - 20^2) each side.
    result = covered(STREET, track((50, 100), (50, 20)))
    assert result.covered_m[0] == pytest.approx(2 * np.sqrt(30**2 - 20**2))


def test_a_bent_street_is_measured_along_its_length():
    bent = np.array([shapely.LineString([(0, 0), (100, 0), (100, 100)])], dtype=object)
    result = covered(bent, track((100, -50), (100, 150)), radius=10.0)
    # The second leg wholly (100 m) and the last 10 m of the first.
    assert result.covered_m[0] == pytest.approx(110.0)
    [(frm, to)] = result.gaps[["from_m", "to_m"]].to_numpy()
    assert (frm, to) == (pytest.approx(0.0), pytest.approx(90.0))


def test_an_entrance_31_m_from_where_a_track_stops_is_not_passed():
    pieces = track((0, 0), (100, 0))
    passes = point_passes(np.array([131.0, 129.0, 50.0]), np.array([0.0, 0.0, 29.9]), pieces, 30.0)
    assert sorted(passes["target"]) == [1, 2]


def test_a_pass_is_timed_at_its_closest_approach_and_counted_once():
    # One track walking past: 3 pieces within range, one pass, at the moment abreast.
    pieces = track((0, 0), (20, 0), (40, 0), (60, 0), (200, 0), step=10.0)
    passes = point_passes(np.array([30.0]), np.array([10.0]), pieces, 30.0)
    assert len(passes) == 1 and passes["time"][0] == pytest.approx(15.0, abs=10)


def test_revisits_count_window_time_only():
    window = DailyWindow.parse("22:00-06:00")
    # Passes at 23:00 UTC on two nights: 24 h apart, of which 8 h are window time.
    first = pd.Timestamp("2026-11-09 23:00", tz="UTC").timestamp()
    passes = pd.DataFrame({"target": [0, 0], "track": [0, 1], "time": [first, first + 86400]})
    stats = revisits(passes, 2, lambda t: window.elapsed(t, "UTC"))
    assert stats.loc[0, "passes"] == 2 and stats.loc[0, "max_gap_h"] == pytest.approx(8.0)
    assert stats.loc[1, "passes"] == 0 and np.isnan(stats.loc[1, "mean_gap_h"])


def test_a_window_across_midnight_belongs_to_the_night_it_starts():
    window = DailyWindow.parse("22:00-06:00")
    moments = pd.to_datetime(["2026-11-09 21:59", "2026-11-09 22:00", "2026-11-10 05:59",
                              "2026-11-10 06:00", "2026-11-10 22:30"]).tz_localize("Europe/Helsinki")
    epoch = np.array([m.timestamp() for m in moments])
    night_of_9th = in_nights(epoch, window, "Europe/Helsinki", date(2026, 11, 9), date(2026, 11, 9))
    assert night_of_9th.tolist() == [False, True, True, False, False]


@pytest.mark.parametrize("text", ["25:00-06:00", "22:00-6:00", "22:60-06:00", "night", "22:00"])
def test_a_malformed_window_is_refused(text):
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        DailyWindow.parse(text)


# --- properties ------------------------------------------------------------------------------

# Centimetres, as GPS and maps give them (denormal floats only test the float unit).
coordinate = st.integers(-20_000, 20_000).map(lambda cm: cm / 100)
polyline = st.lists(st.tuples(coordinate, coordinate), min_size=2, max_size=8)


def random_streets(lines):
    geoms = [shapely.LineString(p) for p in lines]
    return np.array([g for g in geoms if g.length > 0.01], dtype=object)


@given(st.lists(polyline, min_size=1, max_size=4), polyline, st.floats(1, 60), st.floats(0, 60))
@settings(max_examples=150, deadline=None)
def test_coverage_grows_with_the_radius_and_sums_to_the_length(lines, walk, radius, more):
    streets = random_streets(lines)
    pieces = track(*walk)
    small, large = street_coverage(streets, pieces, radius), street_coverage(streets, pieces, radius + more)
    assert np.all(large.covered_m >= small.covered_m - 1e-6)
    uncovered = np.bincount(small.gaps["segment"], weights=small.gaps["to_m"] - small.gaps["from_m"],
                            minlength=len(streets))
    np.testing.assert_allclose(small.covered_m + uncovered, small.length_m, atol=1e-6)


@given(polyline, st.floats(1, 50), st.floats(0, 100), st.floats(0, 100))
@settings(max_examples=150, deadline=None)
def test_moving_a_track_away_never_adds_coverage(walk, radius, shift, further):
    # The street is the x axis; the track is moved up, away from it.
    lifted = [(x, abs(y) + shift) for x, y in walk]
    away = [(x, y + further) for x, y in lifted]
    near, far = (street_coverage(STREET, track(*w), radius).covered_m[0] for w in (lifted, away))
    assert far <= near + 1e-6


@given(st.lists(polyline, min_size=1, max_size=4), st.lists(polyline, min_size=1, max_size=3),
       st.floats(2, 50))
@settings(max_examples=100, deadline=None)
def test_exact_coverage_agrees_with_buffer_and_intersect(lines, walks, radius):
    # Shapely's intersection dissolves a street that doubles back on itself; keep simple ones.
    streets = np.array([s for s in random_streets(lines) if s.is_simple], dtype=object)
    pieces = join(*(track(*w, track_id=k) for k, w in enumerate(walks)))
    exact = street_coverage(streets, pieces, radius).covered_m.sum()
    cover = shapely.union_all([shapely.LineString(w).buffer(radius, quad_segs=256) for w in walks])
    other = sum(shapely.intersection(s, cover).length for s in streets)
    total = sum(s.length for s in streets)
    # The buffer is a polygon inscribed in the true capsule: it falls short, barely (and its
    # unions are exact only to a tenth of a millimetre).
    assert other <= exact + 1e-4
    assert exact - other <= 0.005 * total + 1e-6


@given(st.lists(polyline, min_size=1, max_size=4), st.lists(polyline, min_size=1, max_size=4),
       st.floats(1, 40), st.integers(1, 5))
@settings(max_examples=100, deadline=None)
def test_taking_the_tracks_in_chunks_changes_nothing(lines, walks, radius, chunk):
    streets = random_streets(lines)
    pieces = join(*(track(*w, start=1000.0 * k, track_id=k) for k, w in enumerate(walks)))
    whole, chunked = street_coverage(streets, pieces, radius), street_coverage(streets, pieces, radius,
                                                                              chunk=chunk)
    np.testing.assert_allclose(chunked.covered_m, whole.covered_m, atol=1e-9)
    pd.testing.assert_frame_equal(chunked.gaps, whole.gaps)


@given(st.lists(polyline, min_size=1, max_size=4), st.lists(polyline, min_size=1, max_size=4),
       st.floats(1, 40), st.randoms(use_true_random=False))
@settings(max_examples=100, deadline=None)
def test_passed_points_are_those_with_a_pass_whatever_the_order(lines, walks, radius, rnd):
    pieces = join(*(track(*w, start=1000.0 * k, track_id=k) for k, w in enumerate(walks)))
    xs, ys = (np.array([p[k] for w in lines for p in w]) for k in (0, 1))
    once = np.zeros(len(xs), dtype=bool)
    once[point_passes(xs, ys, pieces, radius)["target"].to_numpy()] = True
    shuffled = pieces.take(np.array(rnd.sample(range(len(pieces.t0)), len(pieces.t0)), dtype=int))
    np.testing.assert_array_equal(passed_points(xs, ys, shuffled, radius), once)


@given(st.lists(st.one_of(polyline, st.tuples(coordinate, coordinate, st.floats(1, 300))), min_size=1, max_size=4),
       st.lists(polyline, min_size=1, max_size=3), st.floats(1, 40))
@settings(max_examples=100, deadline=None)
def test_a_pass_near_an_area_is_a_run_of_pieces_within_the_radius(shapes, walks, radius):
    # Lines and squares; every (area, piece) pair asked directly, one by one.
    areas = np.array([shapely.LineString(s) if isinstance(s, list) else shapely.box(s[0], s[1], s[0] + s[2], s[1] + s[2])
                      for s in shapes], dtype=object)
    pieces = join(*(track(*w, start=1000.0 * k, track_id=k) for k, w in enumerate(walks)))
    p = pieces.pieces
    expected = []
    for i, area in enumerate(areas):
        near = [shapely.dwithin(shapely.LineString([(p.x0[j], p.y0[j]), (p.x1[j], p.y1[j])]), area, radius)
                for j in range(len(p.x0))]
        expected += [(i, int(p.owner[j]), pieces.t0[j]) for j in range(len(near))
                     if near[j] and not (j > 0 and near[j - 1] and p.owner[j - 1] == p.owner[j])]
    found = geometry_passes(areas, pieces, radius)
    assert sorted(found.itertuples(index=False, name=None)) == sorted(expected)
