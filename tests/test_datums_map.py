"""The map's GCJ-02 conversions (web/static/datums.js) against geo/chinese_datums.py.

In a real headless Chromium, on the vertices of real data: the GCJ-02 district outlines
of Shenzhen, Beijing and Shanghai as AMap publishes them, and the WGS-84 districts and
OpenStreetMap street network of Shenzhen. The page's script must agree with the server
to far below what a screen shows, both ways.
"""

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely

from beatbook.settings import PROJECT_ROOT
from geo.chinese_datums import gcj02_to_wgs84, wgs84_to_gcj02

DATUMS_JS = PROJECT_ROOT / "web" / "static" / "datums.js"
AGREE_DEG = 1e-9  # JavaScript against Python: about 0.1 mm
ROUND_TRIP_DEG = 1e-7  # there and back in JavaScript: about a centimetre


@pytest.fixture(scope="module")
def datums(browser):
    """A blank page with datums.js loaded, and nothing else: no server, no network."""
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.add_script_tag(path=DATUMS_JS)
    yield page
    assert errors == []
    page.close()


def in_js(page, function: str, coords: np.ndarray):
    """beatbookDatums[function](lng, lat) of each (lon, lat) row, run in the page.

    The numbers cross as JSON text, exact both ways (each side writes the shortest
    decimal that reads back as the same double), and many times faster than as
    structured values.
    """
    result = page.evaluate(
        "([name, coords]) => JSON.stringify(JSON.parse(coords).map(([lng, lat]) =>"
        " window.beatbookDatums[name](lng, lat)))",
        [function, json.dumps(coords.tolist())],
    )
    return np.array(json.loads(result))


def vertices(path, **read) -> np.ndarray:
    return shapely.get_coordinates(gpd.read_file(path, **read).geometry.to_numpy())


@pytest.fixture(scope="module")
def gcj02_outlines(shared_data) -> np.ndarray:
    folder = shared_data / "china_districts_gcj02"
    shenzhen = vertices(folder / "shenzhen_440300_districts.json")
    assert len(shenzhen) > 2_500
    others = [vertices(path) for path in sorted(folder.glob("*.json")) if "shenzhen" not in path.name]
    return np.concatenate([shenzhen, *others])


@pytest.fixture(scope="module")
def futian(shared_data) -> np.ndarray:
    folder = shared_data / "shenzhen_futian"
    network = folder / "shenzhen_futian_osm_network.gpkg"
    return np.concatenate([vertices(folder / "sz.json"), vertices(network, layer="nodes"),
                           vertices(network, layer="edges")])


def test_gcj02_outlines_unshift_as_on_the_server(datums, gcj02_outlines):
    assert len(gcj02_outlines) > 10_000
    wgs = in_js(datums, "gcj02ToWgs84", gcj02_outlines)
    assert np.abs(wgs - gcj02_to_wgs84(gcj02_outlines)).max() < AGREE_DEG
    # They did move (by hundreds of metres), and back in JavaScript they come where they were.
    assert np.abs(wgs - gcj02_outlines).min(axis=0).max() > 1e-3
    assert np.abs(in_js(datums, "wgs84ToGcj02", wgs) - gcj02_outlines).max() < ROUND_TRIP_DEG


def test_gcj02_outlines_shift_as_on_the_server(datums, gcj02_outlines):
    # The same vertices taken as WGS-84: the forward formula alone.
    gcj = in_js(datums, "wgs84ToGcj02", gcj02_outlines)
    assert np.abs(gcj - wgs84_to_gcj02(gcj02_outlines)).max() < AGREE_DEG


def test_wgs84_futian_there_and_back_as_on_the_server(datums, futian):
    assert len(futian) > 30_000
    gcj = in_js(datums, "wgs84ToGcj02", futian)
    assert np.abs(gcj - wgs84_to_gcj02(futian)).max() < AGREE_DEG
    back = in_js(datums, "gcj02ToWgs84", gcj)
    assert np.abs(back - gcj02_to_wgs84(gcj)).max() < AGREE_DEG
    assert np.abs(back - futian).max() < ROUND_TRIP_DEG


# The edges of the box where GCJ-02 shifts (inclusive, as in Python), 105 E where the
# formulas take sqrt|lon - 105|, and places well outside China.
EDGES = np.array([
    (72.004, 30.0), (72.0039999, 30.0), (137.8347, 40.0), (137.8347001, 40.0),
    (100.0, 0.8293), (100.0, 0.8292999), (100.0, 55.8271), (100.0, 55.8271001),
    (105.0, 35.0), (105.0, 30.0), (105.0000001, 30.0), (104.9999999, 30.0),
    (24.94, 60.17), (-0.1276, 51.5072), (-122.42, 37.77), (151.21, -33.87), (0.0, 0.0),
])


def test_the_edges_of_china_and_the_formulas_as_on_the_server(datums):
    moved = np.any(wgs84_to_gcj02(EDGES) != EDGES, axis=1)
    out_of_china = in_js(datums, "outOfChina", EDGES)
    assert out_of_china.tolist() == (~moved).tolist()
    assert out_of_china.sum() == len(EDGES) - 8
    gcj = in_js(datums, "wgs84ToGcj02", EDGES)
    assert np.abs(gcj - wgs84_to_gcj02(EDGES)).max() < AGREE_DEG
    assert np.array_equal(gcj[~moved], EDGES[~moved])  # outside China: nothing moves
    assert np.abs(in_js(datums, "gcj02ToWgs84", gcj) - gcj02_to_wgs84(gcj)).max() < AGREE_DEG
