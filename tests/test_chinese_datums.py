"""GCJ-02 and BD-09 against WGS-84: published reference points, round trips, real districts."""

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from beatbook.ingest import ImportOptions, import_file
from geo.chinese_datums import (
    bd09_to_wgs84,
    gcj02_to_wgs84,
    unshift_geometries,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

china = st.tuples(st.floats(73.0, 135.0), st.floats(18.0, 53.0))


def test_the_offset_in_shenzhen_is_the_measured_one():
    # The GCJ-02 shift measured on the Shenzhen district files: +0.0050 lon, -0.0028 lat.
    shift = wgs84_to_gcj02(np.array([[114.05, 22.54]])) - [114.05, 22.54]
    np.testing.assert_allclose(shift, [[0.0051, -0.0027]], atol=2e-4)


def test_outside_china_nothing_moves():
    helsinki = np.array([[24.94, 60.17]])
    np.testing.assert_array_equal(wgs84_to_gcj02(helsinki), helsinki)


@given(st.lists(china, min_size=1, max_size=20))
def test_round_trips_come_back_within_a_millimetre(points):
    wgs = np.array(points)
    np.testing.assert_allclose(gcj02_to_wgs84(wgs84_to_gcj02(wgs)), wgs, atol=1e-8)
    np.testing.assert_allclose(bd09_to_wgs84(wgs84_to_bd09(wgs)), wgs, atol=1e-8)


@given(china)
def test_the_shift_is_between_100_and_900_metres(point):
    wgs = np.array([point])
    east, north = (wgs84_to_gcj02(wgs) - wgs)[0]
    metres = np.hypot(east * 111_320 * np.cos(np.radians(point[1])), north * 110_574)
    assert 1 < metres < 900


def overlap(a, b) -> float:
    return a.intersection(b).area / a.union(b).area


def test_real_gcj02_districts_land_on_the_wgs84_ones(shared_data):
    shifted = gpd.read_file(shared_data / "china_districts_gcj02" / "shenzhen_440300_districts.json")
    truth = gpd.read_file(shared_data / "shenzhen_futian" / "sz.json").set_index("qh")
    futian_gcj = shifted.loc[shifted["name"] == "福田区"].geometry.iloc[0]
    futian = truth.geometry["福田"]
    futian_wgs = unshift_geometries(np.array([futian_gcj]), "gcj02")[0]
    before, after = overlap(futian_gcj, futian), overlap(futian_wgs, futian)
    assert after > 0.97 > before
    centroid_gap_m = futian_wgs.centroid.distance(futian.centroid) * 105_000
    assert centroid_gap_m < 60


def test_an_import_from_a_chinese_web_map_is_unshifted(conn, pg, shared_data):
    path = shared_data / "china_districts_gcj02" / "shenzhen_440300_districts.json"
    options = ImportOptions(mapping={"code": "adcode"}, datum="gcj02")
    assert import_file(pg, "beats", path, options).rows == 9
    [(lon, lat)] = conn.execute(text(
        "SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM beat WHERE name = '福田区'")).all()
    truth = gpd.read_file(shared_data / "shenzhen_futian" / "sz.json").set_index("qh").geometry["福田"]
    assert lon == pytest.approx(truth.centroid.x, abs=6e-4) and lat == pytest.approx(truth.centroid.y, abs=6e-4)


def test_an_unknown_datum_is_refused(conn, pg, shared_data):
    from beatbook.ingest import ImportRejected

    path = shared_data / "china_districts_gcj02" / "shenzhen_440300_districts.json"
    with pytest.raises(ImportRejected, match="unknown datum 'mars'"):
        import_file(pg, "beats", path, ImportOptions(mapping={"code": "adcode"}, datum="mars"))
