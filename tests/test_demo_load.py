"""The demo area in a real PostGIS: it loads whole, twice over leaves one copy, and keeps the users."""

import pytest
from sqlalchemy import text

from beatbook.generate.load import load_dataset


@pytest.fixture
def demo(demo_frames):
    return demo_frames


def counts(conn, tables) -> dict[str, int]:
    return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}


def test_the_demo_loads_whole_and_twice_leaves_one_copy(conn, pg, demo, users):
    expected = {table: len(frame) for table, frame in demo.items()}
    assert load_dataset(pg, demo, progress=False) == expected
    assert load_dataset(pg, demo, progress=False) == expected
    assert counts(conn, expected) == expected
    # Users survive a reload (their links to replaced officers are cleared).
    assert conn.execute(text("SELECT count(*) FROM app_user")).scalar_one() == len(users)


def test_demo_data_is_labelled_synthetic_but_the_osm_base_is_real(conn, pg, demo):
    load_dataset(pg, demo, progress=False)
    for table in ("household", "resident", "incident", "gps_fix", "dispute", "inspection"):
        assert conn.execute(text(f"SELECT bool_and(synthetic) FROM {table}")).scalar_one(), table
    real = conn.execute(text("SELECT count(*) FROM building WHERE osm_id IS NOT NULL")).scalar_one()
    assert real == 483


def test_burglaries_cluster_near_unmanaged_entrances(conn, pg, demo):
    load_dataset(pg, demo, progress=False)
    share_near = dict(conn.execute(text("""
        SELECT i.type = 'burglary',
               avg((EXISTS (SELECT 1 FROM entrance e JOIN building b ON b.id = e.building_id
                            WHERE NOT b.managed
                              AND ST_DWithin(e.geom::geography, i.geom::geography, 50)))::int)
        FROM incident i GROUP BY 1
    """)).all())
    assert share_near[True] > share_near[False]


def test_the_demo_street_network_routes(conn, pg, demo):
    load_dataset(pg, demo, progress=False)
    reached = conn.execute(text("""
        SELECT count(DISTINCT end_vid) FROM pgr_dijkstra(
            'SELECT id, source, target, length_m AS cost FROM street_segment',
            (SELECT source FROM street_segment ORDER BY id LIMIT 1),
            ARRAY(SELECT target FROM street_segment ORDER BY id LIMIT 200), directed => false)
    """)).scalar_one()
    assert reached > 150
