"""Patrol tracks from GPS fixes: cleaning and splitting by hand and by property, then in PostGIS."""

import numpy as np
import pandas as pd
import psycopg
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from beatbook.generate.load import load_dataset
from db.partitions import ensure_range
from db.patrols import metric_crs, read_fixes, rebuild_tracks
from geo.tracks import CleaningReport, clean_fixes, epoch_seconds, split_tracks
from tests.test_cli import beatbook, cli_db  # noqa: F401  (fixtures of the CLI's own database)

T0 = pd.Timestamp("2026-10-01 22:00", tz="UTC")
NAN = float("nan")


def fixes(rows) -> pd.DataFrame:
    """Fixes from rows of (officer, seconds after T0, x, y, accuracy), each with its row number."""
    officer, seconds, x, y, accuracy = (list(column) for column in zip(*rows, strict=True))
    return pd.DataFrame({
        "officer_id": officer,
        "recorded_at": T0 + pd.to_timedelta(seconds, unit="s"),
        "x": np.asarray(x, dtype=float),
        "y": np.asarray(y, dtype=float),
        "accuracy_m": np.asarray(accuracy, dtype=float),
        "row": range(len(officer)),
    })


def walk(seconds, officer=1, metres_per_fix=20.0):
    """A straight walk east, one fix at each of ``seconds``."""
    return [(officer, s, i * metres_per_fix, 0.0, 5.0) for i, s in enumerate(seconds)]


def kept_rows(rows, **thresholds) -> list[int]:
    clean, _ = clean_fixes(fixes(rows), **thresholds)
    return clean["row"].tolist()


# --- cleaning, by hand ---------------------------------------------------------------------


def test_of_two_fixes_at_one_instant_the_more_accurate_is_kept():
    rows = [(1, 0, 0, 0, 12.0), (1, 0, 3, 0, 4.0), (1, 30, 20, 0, 5.0)]
    clean, report = clean_fixes(fixes(rows))
    assert clean["row"].tolist() == [1, 2]
    assert report == CleaningReport(input=3, duplicates=1, poor_accuracy=0, speed_jumps=0, kept=2)


def test_a_duplicate_of_unknown_accuracy_gives_way():
    assert kept_rows([(1, 0, 0, 0, NAN), (1, 0, 3, 0, 40.0), (1, 30, 20, 0, 5.0)]) == [1, 2]


def test_a_spike_between_two_good_fixes_is_dropped_and_only_it():
    # the good fixes 30 s apart, the spike 1 km off between them
    rows = [(1, 0, 0, 0, 5.0), (1, 15, 1000, 0, 5.0), (1, 30, 20, 0, 5.0), (1, 60, 40, 0, 5.0)]
    clean, report = clean_fixes(fixes(rows))
    assert clean["row"].tolist() == [0, 2, 3]
    assert report.speed_jumps == 1


def test_a_spike_that_opens_the_shift_is_dropped_and_only_it():
    rows = [(1, 0, 1000, 0, 5.0), *walk(range(30, 181, 30))]
    assert kept_rows(rows) == list(range(1, 7))


def test_a_spike_right_after_the_first_fix_takes_only_itself():
    rows = walk([0, 30, 60, 90])
    rows[1] = (1, 30, 0, 1000, 5.0)
    assert kept_rows(rows) == [0, 2, 3]


def test_a_spike_that_ends_the_shift_is_dropped():
    rows = [*walk([0, 30, 60]), (1, 90, 1000, 0, 5.0)]
    assert kept_rows(rows) == [0, 1, 2]


def test_a_shift_that_starts_after_a_long_gap_is_judged_on_its_own():
    # 600 s after the last kept fix, 20 km away: a new run (a car ride between shifts).
    rows = [*walk([0, 30, 60]), *walk([660, 690, 720], metres_per_fix=-20.0)]
    rows[3:] = [(1, s, 20_000 + x, y, a) for _, s, x, y, a in rows[3:]]
    assert kept_rows(rows) == [0, 1, 2, 3, 4, 5]


def test_poor_accuracy_is_dropped_and_unknown_accuracy_kept():
    rows = [(1, 0, 0, 0, 5.0), (1, 30, 20, 0, 80.0), (1, 60, 40, 0, NAN), (1, 90, 60, 0, 50.0)]
    clean, report = clean_fixes(fixes(rows))
    assert clean["row"].tolist() == [0, 2, 3]
    assert report.poor_accuracy == 1


def test_fixes_come_out_by_officer_and_time():
    rows = [*walk([60, 0, 30], officer=2), *walk([30, 0], officer=1)]
    clean, _ = clean_fixes(fixes(rows))
    assert list(zip(clean["officer_id"], epoch_seconds(clean["recorded_at"]) - T0.timestamp(),
                    strict=True)) == [(1, 0), (1, 30), (2, 0), (2, 30), (2, 60)]


def test_naive_times_are_refused():
    naive = fixes(walk([0, 30])).assign(recorded_at=lambda f: f["recorded_at"].dt.tz_localize(None))
    with pytest.raises(ValueError, match="tz-aware"):
        clean_fixes(naive)


# --- splitting, by hand ----------------------------------------------------------------------


def test_a_six_minute_gap_splits_a_shift_and_a_four_minute_gap_does_not():
    tracks = split_tracks(fixes(walk([0, 30, 270, 300, 660, 690])))
    assert tracks["n_fixes"].tolist() == [4, 2]
    assert tracks["started_at"].tolist() == [T0, T0 + pd.Timedelta(seconds=660)]
    assert tracks["ended_at"].tolist() == [T0 + pd.Timedelta(seconds=300),
                                           T0 + pd.Timedelta(seconds=690)]


def test_a_track_keeps_its_fix_times_as_m():
    line = split_tracks(fixes(walk([0, 30, 75]))).loc[0, "geom"]
    assert line.geom_type == "LineString" and shapely.has_m(line) and not shapely.has_z(line)
    np.testing.assert_array_equal(
        shapely.get_coordinates(line, include_m=True),
        [[0, 0, T0.timestamp()], [20, 0, T0.timestamp() + 30], [40, 0, T0.timestamp() + 75]],
    )


def test_a_lone_fix_makes_no_track_and_is_counted():
    clean, report = clean_fixes(fixes([*walk([0, 30]), *walk([0], officer=2)]))
    tracks = split_tracks(clean)
    assert tracks["officer_id"].tolist() == [1]
    assert report.with_tracks(tracks).single_fix_dropped == 1
    assert "1 tracks (1 lone fixes left out)" in str(report.with_tracks(tracks))


def test_a_track_is_synthetic_only_when_all_its_fixes_are():
    both = fixes([*walk([0, 30]), *walk([0, 30], officer=2)])
    tracks = split_tracks(both.assign(synthetic=[True, True, True, False]))
    assert tracks["synthetic"].tolist() == [True, False]


def test_no_fixes_no_tracks():
    clean, report = clean_fixes(fixes(walk([0]))[:0])
    assert report.with_tracks(split_tracks(clean)) == CleaningReport(0, 0, 0, 0, 0, 0, 0)


# --- properties --------------------------------------------------------------------------------

MAX_SPEED, MAX_GAP = 15.0, 300.0
steps = st.lists(
    st.tuples(
        st.sampled_from([1, 2]),
        st.integers(0, 400),  # seconds since the fix before; 0 repeats an instant
        st.floats(-2000, 2000),
        st.floats(-2000, 2000),
        st.one_of(st.just(NAN), st.floats(0, 100)),
    ),
    max_size=60,
)


def random_fixes(rows) -> pd.DataFrame:
    """Fixes that wander by the given steps, the officers' fixes interleaved."""
    if not rows:
        return fixes(walk([0]))[:0]
    officer, dt, dx, dy, accuracy = zip(*rows, strict=True)
    return fixes(zip(officer, np.cumsum(dt), np.cumsum(dx), np.cumsum(dy), accuracy, strict=True))


def consecutive(clean: pd.DataFrame):
    """Pairs of consecutive fixes of one officer: their seconds apart and metres apart."""
    same = (clean["officer_id"].to_numpy()[1:] == clean["officer_id"].to_numpy()[:-1])
    dt = np.diff(epoch_seconds(clean["recorded_at"]))[same]
    metres = np.hypot(np.diff(clean["x"].to_numpy()), np.diff(clean["y"].to_numpy()))[same]
    return dt, metres


@settings(max_examples=300, deadline=None)
@given(steps)
def test_no_kept_fix_is_further_from_the_one_before_than_max_speed_allows(rows):
    clean, report = clean_fixes(random_fixes(rows), max_speed_mps=MAX_SPEED, max_gap_s=MAX_GAP)
    dt, metres = consecutive(clean)
    assert (dt > 0).all()
    within = dt <= MAX_GAP  # further apart, they are in different tracks
    assert (metres[within] <= MAX_SPEED * dt[within] * (1 + 1e-12)).all()
    assert (clean["accuracy_m"].fillna(0) <= 50.0).all()
    dropped = report.duplicates + report.poor_accuracy + report.speed_jumps
    assert report.input == dropped + report.kept


def speed_rule_fix_by_fix(candidates: pd.DataFrame) -> list[int]:
    """The rows ``clean_fixes``'s speed rule keeps, judged one fix at a time with no shortcut."""
    officer, x, y = (candidates[c].to_numpy() for c in ("officer_id", "x", "y"))
    t = epoch_seconds(candidates["recorded_at"])

    def reach(a: int, b: int) -> bool:
        return np.hypot(x[b] - x[a], y[b] - y[a]) <= MAX_SPEED * (t[b] - t[a])

    kept: list[int] = []
    for k in range(len(t)):
        if kept and officer[kept[-1]] == officer[k] and t[k] - t[kept[-1]] <= MAX_GAP:
            keep = reach(kept[-1], k)
        else:
            after = [j for j in (k + 1, k + 2)
                     if j < len(t) and officer[j] == officer[k] and t[j] - t[k] <= MAX_GAP]
            keep = (not after or reach(k, after[0])
                    or (len(after) == 2 and reach(k, after[1]) and not reach(after[0], after[1])))
        if keep:
            kept.append(k)
    return candidates["row"].to_numpy()[kept].tolist()


@settings(max_examples=300, deadline=None)
@given(steps)
def test_the_speed_rule_walks_only_the_exceptions_yet_keeps_what_a_full_walk_keeps(rows):
    raw = random_fixes(rows)
    candidates, _ = clean_fixes(raw, max_speed_mps=1e12, max_gap_s=MAX_GAP)  # no jump too fast
    clean, _ = clean_fixes(raw, max_speed_mps=MAX_SPEED, max_gap_s=MAX_GAP)
    assert clean["row"].tolist() == speed_rule_fix_by_fix(candidates)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_cleaning_keeps_a_subset_of_the_fixes_unchanged(rows):
    raw = random_fixes(rows)
    clean, report = clean_fixes(raw)
    assert clean["row"].is_unique and len(clean) == report.kept
    pd.testing.assert_frame_equal(clean, raw.set_index("row", drop=False).loc[clean["row"]]
                                  .reset_index(drop=True))


@settings(max_examples=300, deadline=None)
@given(steps)
def test_splitting_puts_every_kept_fix_in_one_track_with_no_long_gap(rows):
    clean, report = clean_fixes(random_fixes(rows), max_gap_s=MAX_GAP)
    tracks = split_tracks(clean, max_gap_s=MAX_GAP)
    report = report.with_tracks(tracks)
    vertices, track = shapely.get_coordinates(tracks["geom"], include_m=True, return_index=True)
    assert len(vertices) == tracks["n_fixes"].sum() == report.kept - report.single_fix_dropped
    if len(tracks):
        m_steps = np.diff(vertices[:, 2])[np.diff(track) == 0]
        assert (m_steps > 0).all() and (m_steps <= MAX_GAP).all()
    # Each kept fix is drawn once, unless no fix of its officer is within the gap either side.
    officer = tracks["officer_id"].to_numpy()[track]
    drawn = [(o, *v) for o, v in zip(officer, vertices.tolist(), strict=True)]
    seconds = epoch_seconds(clean["recorded_at"])
    kept = list(zip(clean["officer_id"], clean["x"], clean["y"], seconds, strict=True))
    assert len(set(drawn)) == len(drawn) and set(drawn) <= set(kept)
    same = clean["officer_id"].to_numpy()[1:] == clean["officer_id"].to_numpy()[:-1]
    near = same & (np.diff(seconds) <= MAX_GAP)
    alone = np.ones(len(kept), dtype=bool)
    alone[1:] &= ~near
    alone[:-1] &= ~near
    assert [k not in set(drawn) for k in kept] == alone.tolist()


# --- in PostGIS ----------------------------------------------------------------------------------

THRESHOLDS = {"max_accuracy_m": 50.0, "max_speed_mps": 15.0, "max_gap_s": 300.0}
LON, LAT = 24.94, 60.17  # central Helsinki
METRE_LAT = 1 / 111_320  # degrees of latitude in a metre


def add_officer(conn, badge: str) -> int:
    return conn.execute(
        text("INSERT INTO officer (badge, name) VALUES (:badge, :name) RETURNING id"),
        {"badge": badge, "name": f"Officer {badge}"},
    ).scalar_one()


def add_fixes(conn, officer: int, rows) -> None:
    """Fixes from rows of (seconds after T0, metres north of the origin, synthetic)."""
    for seconds, north, synthetic in rows:
        at = T0 + pd.Timedelta(seconds=seconds)
        conn.execute(text("SELECT beatbook_ensure_months('gps_fix', :t, :t)"), {"t": at})
        conn.execute(text("""
            INSERT INTO gps_fix (officer_id, recorded_at, accuracy_m, geom, synthetic)
            VALUES (:o, :t, 5, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :s)
        """), {"o": officer, "t": at, "lon": LON, "lat": LAT + north * METRE_LAT, "s": synthetic})


def stored_tracks(conn) -> list[tuple]:
    return conn.execute(text("""
        SELECT officer_id, started_at, ended_at, n_fixes, ST_AsEWKT(geom), synthetic
        FROM patrol_track ORDER BY officer_id, started_at
    """)).all()


@pytest.fixture
def patrols(conn):
    """Officer A: a spike, then a 6-minute gap; officer B: one lone fix."""
    a, b = add_officer(conn, "A"), add_officer(conn, "B")
    add_fixes(conn, a, [(0, 0, False), (30, 20, True), (60, 40, True), (90, 1060, True),
                        (120, 80, True), (480, 100, True), (510, 120, True), (540, 140, True)])
    add_fixes(conn, b, [(0, 0, True)])
    return a, b


def test_rebuilt_tracks_are_the_cleaned_fixes_split(conn, pg, patrols):
    a, _ = patrols
    report = rebuild_tracks(pg, **THRESHOLDS)
    assert report == CleaningReport(input=9, duplicates=0, poor_accuracy=0, speed_jumps=1, kept=8,
                                    tracks=2, single_fix_dropped=1)
    rows = stored_tracks(conn)
    assert [(r[0], r[1], r[2], r[3], r[5]) for r in rows] == [
        (a, T0, T0 + pd.Timedelta(seconds=120), 4, False),
        (a, T0 + pd.Timedelta(seconds=480), T0 + pd.Timedelta(seconds=540), 3, True),
    ]
    assert all(r[4].startswith("SRID=4326;LINESTRINGM(") for r in rows)


def test_the_m_of_every_stored_vertex_is_its_fix_time(conn, pg, patrols):
    rebuild_tracks(pg, **THRESHOLDS)
    m_and_fix_time = conn.execute(text("""
        SELECT ST_M(p.geom),
               (SELECT extract(epoch FROM f.recorded_at) FROM gps_fix f
                WHERE f.officer_id = t.officer_id AND f.geom ~= p.geom)  -- the fix at the vertex
        FROM patrol_track t CROSS JOIN LATERAL ST_DumpPoints(t.geom) p
    """)).all()
    assert len(m_and_fix_time) == 7
    assert all(m == float(fix_time) for m, fix_time in m_and_fix_time)


def test_rebuilding_twice_gives_the_same_tracks(conn, pg, patrols):
    first = rebuild_tracks(pg, **THRESHOLDS)
    tracks = stored_tracks(conn)
    assert rebuild_tracks(pg, **THRESHOLDS) == first
    assert stored_tracks(conn) == tracks


def test_rebuilding_some_officers_leaves_the_others_alone(conn, pg, patrols):
    a, b = patrols
    conn.execute(text("""
        INSERT INTO patrol_track (officer_id, started_at, ended_at, n_fixes, geom)
        VALUES (:b, :t, :t, 2, 'SRID=4326;LINESTRINGM(24.9 60.1 0, 24.9 60.2 1)')
    """), {"b": b, "t": T0})
    report = rebuild_tracks(pg, **THRESHOLDS, officer_ids=[a])
    assert (report.input, report.tracks) == (8, 2)
    assert [r[0] for r in stored_tracks(conn)] == [a, a, b]
    rebuild_tracks(pg, **THRESHOLDS)
    assert [r[0] for r in stored_tracks(conn)] == [a, a]


def test_speeds_are_measured_in_the_areas_metric_crs(conn, pg, patrols):
    fixes_read = read_fixes(pg)
    assert metric_crs(pg, fixes_read).to_epsg() == 32635  # no area: the fixes' UTM zone
    conn.execute(text("""
        INSERT INTO area (name, metric_srid, geom)
        VALUES ('test', 3067, ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(24.94, 60.17), 4326), 1)))
    """))
    assert metric_crs(pg, fixes_read).to_epsg() == 3067


def test_the_demo_patrols_make_sensible_tracks(conn, pg, demo_frames):
    load_dataset(pg, demo_frames, progress=False)
    report = rebuild_tracks(pg)  # the settings' thresholds
    n_fixes = conn.execute(text("SELECT count(*) FROM gps_fix")).scalar_one()
    assert report.input == n_fixes
    assert report.kept > 0.97 * n_fixes
    assert report.duplicates > 0 and report.poor_accuracy > 0 and report.speed_jumps > 0
    # 50 night shifts of 2-5 hours, a fix every 30-60 s
    assert 50 <= report.tracks <= 55 and report.single_fix_dropped < 5
    unmatched = conn.execute(text("""
        SELECT count(*) FROM patrol_track t CROSS JOIN LATERAL ST_DumpPoints(t.geom) p
        WHERE NOT EXISTS (SELECT 1 FROM gps_fix f
                          WHERE f.officer_id = t.officer_id
                            AND f.recorded_at = to_timestamp(ST_M(p.geom)) AND f.geom ~= p.geom)
    """)).scalar_one()
    assert unmatched == 0


def test_the_tracks_command_rebuilds_with_the_options_given(beatbook, cli_db):  # noqa: F811
    with psycopg.connect(cli_db) as conn:
        officer = conn.execute("INSERT INTO officer (badge, name) VALUES ('CLI-1', 'Cli') "
                               "RETURNING id").fetchone()[0]
        ensure_range(conn, "gps_fix", T0)
        for seconds in (0, 30, 270, 300):
            conn.execute("INSERT INTO gps_fix (officer_id, recorded_at, geom) "
                         "VALUES (%s, %s, ST_SetSRID(ST_MakePoint(24.94, 60.17 + %s), 4326))",
                         (officer, T0 + pd.Timedelta(seconds=seconds), seconds * 1e-6))
    try:
        result = beatbook("tracks", "build")
        assert result.exit_code == 0, result.output
        assert "4 fixes:" in result.output and "1 tracks" in result.output
        assert "2 tracks" in beatbook("tracks", "build", "--max-gap-min", "3").output
    finally:
        with psycopg.connect(cli_db) as conn:
            conn.execute("DELETE FROM officer WHERE id = %s", (officer,))


def test_the_report_reads_as_a_sentence():
    report = CleaningReport(10, 1, 2, 1, 6, 2, 0)
    assert str(report) == ("10 fixes: 1 duplicates, 2 of poor accuracy and 1 impossible jumps"
                           " dropped, 6 kept; 2 tracks (0 lone fixes left out)")
