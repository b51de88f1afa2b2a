"""The demo and district generators, without a database.

Every dataset must load as is: ids and foreign keys consistent, geometries valid
and of their table's type, vocabularies and CHECK rules of db.models obeyed, and
no identity number in the clear. The same seed must give the same dataset.
"""

from __future__ import annotations

import re
import time
from datetime import date, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import CheckConstraint

from beatbook.generate import DATA_TABLES
from beatbook.generate.demo import build_demo
from beatbook.generate.district import build_district
from beatbook.generate.population import _identity_numbers
from db.models import REFERRAL_BODIES, metadata

KEY = "test-only-id-hash-key"
REFERENCE = date(2026, 11, 1)
FOCUS_TYPES = {"Polygon", "MultiPolygon", "LineString", "MultiLineString"}
GEOMETRY_TYPES = {
    "POINT": {"Point"},
    "MULTIPOLYGON": {"MultiPolygon"},
    "LINESTRING": {"LineString"},
}
IDENTITY_NUMBER = re.compile(r"\d{17}[\dX]")


@pytest.fixture(scope="module")
def demo() -> dict[str, pd.DataFrame]:
    return build_demo(id_hash_key=KEY)


@pytest.fixture(scope="module")
def district() -> dict[str, pd.DataFrame]:
    return build_district(500, seed=3, id_hash_key=KEY)


@pytest.fixture(params=["demo", "district"])
def dataset(request) -> dict[str, pd.DataFrame]:
    return request.getfixturevalue(request.param)


def assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    """Equal tables, columns and values; geometries compared exactly, as WKB."""
    assert list(a) == list(b)
    for table in a:
        left, right = a[table], b[table]
        if "geom" in left:
            assert (
                shapely.to_wkb(left["geom"].values).tolist()
                == shapely.to_wkb(right["geom"].values).tolist()
            ), table
            left, right = (
                pd.DataFrame(left.drop(columns="geom")),
                pd.DataFrame(right.drop(columns="geom")),
            )
        pd.testing.assert_frame_equal(left, right, obj=table)


def metric(frame: gpd.GeoDataFrame, dataset: dict[str, pd.DataFrame]) -> np.ndarray:
    """The frame's geometries in the dataset's metric CRS, as a plain array of shapely objects."""
    return np.asarray(
        frame.to_crs(int(dataset["area"]["metric_srid"].iloc[0])).geometry.values, dtype=object
    )


def entrance_gaps_m(dataset: dict[str, pd.DataFrame]) -> np.ndarray:
    """Distance (m) from each entrance to the outline of its building."""
    buildings, entrances = dataset["building"], dataset["entrance"]
    row = np.searchsorted(buildings["id"].to_numpy(), entrances["building_id"].to_numpy())
    return shapely.distance(
        shapely.boundary(metric(buildings, dataset)[row]), metric(entrances, dataset)
    )


def one_of_checks(table) -> list[tuple[str, set[str]]]:
    """The ``column IN ('a', 'b')`` CHECK constraints of a model table."""
    found = []
    for constraint in table.constraints:
        if isinstance(constraint, CheckConstraint):
            match = re.fullmatch(r"(\w+) IN \((.*)\)", str(constraint.sqltext))
            if match:
                found.append((match[1], set(re.findall(r"'([^']*)'", match[2]))))
    return found


# --- determinism ----------------------------------------------------------------------------


def test_demo_is_deterministic(demo):
    assert_same(demo, build_demo(id_hash_key=KEY))


def test_district_is_deterministic_and_seeded():
    first = build_district(300, seed=5, id_hash_key=KEY)
    assert_same(first, build_district(300, seed=5, id_hash_key=KEY))
    other = build_district(300, seed=6, id_hash_key=KEY)
    assert not first["building"]["geom"].geom_equals(other["building"]["geom"]).all()


# --- shape of a dataset ---------------------------------------------------------------------


def test_tables_in_load_order(dataset):
    assert list(dataset) == [t for t in DATA_TABLES if t != "patrol_track"]


def test_ids_and_required_columns(dataset):
    for name, frame in dataset.items():
        table = metadata.tables[name]
        assert set(frame.columns) <= set(table.columns.keys()), name
        ids = frame["id"].to_numpy()
        assert ids.dtype.kind == "i" and (ids > 0).all() and len(np.unique(ids)) == len(ids), name
        for column in table.columns:
            if not column.nullable and column.server_default is None and not column.primary_key:
                assert column.name in frame and frame[column.name].notna().all(), (
                    f"{name}.{column.name}"
                )


def test_geometries_valid_and_of_the_table_type(dataset):
    for name, frame in dataset.items():
        if "geom" not in frame:
            continue
        assert isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name == "geom", name
        assert frame.crs.to_epsg() == 4326, name
        geoms = frame.geometry.values
        assert (shapely.is_valid(geoms) & ~shapely.is_empty(geoms)).all(), name
        declared = metadata.tables[name].columns["geom"].type.geometry_type
        allowed = FOCUS_TYPES if name == "focus_area" else GEOMETRY_TYPES[declared]
        assert set(frame.geom_type) <= allowed, name


def test_everything_lies_in_the_area(dataset):
    area = dataset["area"].geometry.values[0]
    for name, frame in dataset.items():
        if "geom" in frame and name != "area":
            inside = shapely.covered_by(frame.geometry.values, area)
            # GPS jumps (a few hundred metres to 1.5 km) may land outside, as real ones do
            assert inside.mean() > 0.99 if name == "gps_fix" else inside.all(), name


def test_foreign_keys_point_at_rows(dataset):
    for name, frame in dataset.items():
        for fk in metadata.tables[name].foreign_keys:
            if fk.parent.name in frame:
                values = frame[fk.parent.name].dropna().to_numpy()
                target = dataset[fk.column.table.name]["id"].to_numpy()
                assert np.isin(values, target).all(), f"{name}.{fk.parent.name}"


def test_vocabularies_follow_the_check_constraints(dataset):
    checked = 0
    for name, frame in dataset.items():
        for column, values in one_of_checks(metadata.tables[name]):
            assert set(frame[column].dropna()) <= values, f"{name}.{column}"
            checked += 1
    assert checked >= 13  # guards the parser: every one_of CHECK of the model is seen


def test_other_check_constraints(dataset):
    d = dataset
    dispute = d["dispute"]
    assert ((dispute["status"] == "referred") == dispute["referred_to"].notna()).all()
    assert set(dispute["referred_to"].dropna()) <= set(REFERRAL_BODIES)
    closed = dispute["status"].isin(["resolved", "referred"])
    assert (closed == dispute["closed_on"].notna()).all()
    assert (dispute["closed_on"][closed] >= dispute["reported_on"][closed]).all()
    inspection = d["inspection"]
    assert (inspection["premises_id"].isna() != inspection["hazardous_site_id"].isna()).all()
    assert (inspection["next_due"] >= inspection["inspected_on"]).all()
    for name in ("officer_beat", "temporary_registration"):
        ends = d[name]["valid_to"].dropna()
        assert (ends >= d[name]["valid_from"][ends.index]).all(), name
    resident = d["resident"]
    assert resident["birth_year"].between(1880, 2100).all()
    camera = d["camera"]
    direction = camera["direction_deg"].dropna()
    assert ((direction >= 0) & (direction < 360)).all()
    assert ((camera["fov_deg"] > 0) & (camera["fov_deg"] <= 360)).all() and (
        camera["range_m"] > 0
    ).all()
    assert (d["street_segment"]["length_m"] > 0).all()
    assert (d["building"]["floors"].dropna() > 0).all()
    assert (d["hazardous_site"]["risk_radius_m"] > 0).all() and (
        d["hazardous_site"]["quantity"] >= 0
    ).all()
    assert (d["focus_area"]["priority"] > 0).all() and (d["campaign"]["audience_size"] >= 0).all()
    assert (d["gps_fix"]["accuracy_m"] >= 0).all()
    assert d["area"]["id"].tolist() == [1]


def test_all_rows_are_synthetic(dataset):
    for name, frame in dataset.items():
        if "synthetic" in metadata.tables[name].columns:
            assert frame["synthetic"].eq(True).all(), name


def test_identity_numbers_drawn_twice_are_drawn_again():
    class Repeating:
        """A generator whose first draws make every number the same, then draws as numpy's."""

        def __init__(self):
            self.rng, self.calls = np.random.default_rng(1), 0

        def integers(self, low, high, size):
            self.calls += 1
            return np.full(size, low) if self.calls <= 3 else self.rng.integers(low, high, size)

    numbers = _identity_numbers(Repeating(), np.full(50, 1990))
    assert len(set(numbers)) == 50
    assert all(n.startswith("99") and n[6:10] == "1990" for n in numbers)
    # The first of the 50 equal numbers is kept; the other 49 are drawn again.
    assert numbers[0] == "99" "0000" "19900101" "000" + _check_digit("99000019900101000")


def _check_digit(first17: str) -> str:
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)))
                         % 11]


def test_no_identity_number_in_the_clear(dataset):
    for name, frame in dataset.items():
        for column in frame.columns.drop("geom", errors="ignore"):
            values = (str(value) for value in frame[column].dropna())  # bytes as b'...'
            assert not any(IDENTITY_NUMBER.search(v) for v in values), f"{name}.{column}"
    resident = dataset["resident"]
    assert resident["id_hash"].map(lambda h: isinstance(h, bytes) and len(h) == 32).all()
    assert resident["id_last4"].str.fullmatch(r"\d{3}[\dX]").all()
    assert resident["id_hash"].nunique() == len(resident)


def test_entrances_lie_on_building_outlines(dataset):
    assert (entrance_gaps_m(dataset) < 0.5).all()
    assert set(dataset["building"]["id"]) == set(dataset["entrance"]["building_id"])


def test_street_ends_meet_where_vertex_ids_match(dataset):
    """A vertex id names one place: the graph pgRouting builds is the street network."""
    streets = dataset["street_segment"]
    ends = np.r_[
        shapely.get_coordinates(shapely.get_point(streets.geometry.values, 0)),
        shapely.get_coordinates(shapely.get_point(streets.geometry.values, -1)),
    ]
    vertex = np.r_[streets["source"], streets["target"]]
    spread = pd.DataFrame(ends, columns=["x", "y"]).groupby(vertex).agg(["min", "max"])
    assert (
        spread.xs("max", axis=1, level=1) - spread.xs("min", axis=1, level=1)
    ).to_numpy().max() < 1e-6


def test_beats_tile_the_buildings(dataset):
    beats = dataset["beat"].geometry.values
    overlap = sum(
        shapely.area(shapely.intersection(a, b))
        for i, a in enumerate(beats)
        for b in beats[i + 1 :]
    )
    assert overlap < 1e-12
    assert shapely.covered_by(dataset["building"].geometry.values, shapely.union_all(beats)).all()


# --- what the demo must show ----------------------------------------------------------------


def test_demo_area_and_beats(demo):
    assert demo["area"]["metric_srid"].tolist() == [32635]
    assert demo["beat"]["code"].tolist() == ["HKI-01", "HKI-02", "HKI-03"]
    assert demo["station"]["code"].tolist() == ["HKI"] and len(demo["officer"]) == 4


def test_demo_premises_and_hazards(demo):
    assert (
        demo["premises"]["trade"]
        .value_counts()
        .reindex(["hotel", "scrap_buyer", "locksmith"])
        .min()
        >= 3
    )
    assert demo["premises"]["osm_id"].notna().any()
    assert 3 <= len(demo["hazardous_site"]) <= 5
    assert demo["hazardous_site"]["risk_radius_m"].between(50, 300).all()
    latest_due = (
        demo["inspection"]
        .groupby(
            demo["inspection"]["premises_id"].fillna(-demo["inspection"]["hazardous_site_id"])
        )["next_due"]
        .max()
    )
    assert (latest_due < REFERENCE).any() and (latest_due >= REFERENCE).any()


def test_demo_schools_and_clinics_come_from_osm(demo):
    facilities = demo["public_facility"]
    assert facilities["kind"].value_counts().to_dict() == {"university": 7, "clinic": 6, "school": 3}
    assert facilities["osm_id"].notna().all() and facilities["building_id"].notna().all()
    schools = facilities[facilities["kind"] == "school"]
    assert sorted(schools["name"]) == ["Kaisaniemen ala-aste", "Kruununhaan yläasteen koulu", "Ressun lukio"]


def test_district_has_schools_kindergartens_and_clinics(district):
    assert sorted(district["public_facility"]["kind"]) == ["clinic", "kindergarten", "school"]
    assert district["public_facility"]["osm_id"].isna().all()


def test_demo_registrations_lapse_and_come_due(demo):
    ends = pd.to_datetime(demo["temporary_registration"]["valid_to"]).dt.date
    assert (ends < REFERENCE).any()
    assert ends.between(REFERENCE, REFERENCE + timedelta(days=30)).any()


def test_demo_patrols_are_night_walks_with_flaws(demo):
    fixes = demo["gps_fix"]
    local = fixes["recorded_at"].dt.tz_convert("Europe/Helsinki")
    assert ((local.dt.hour >= 22) | (local.dt.hour < 6)).all()
    assert fixes["officer_id"].nunique() == 4
    nights = (local - pd.Timedelta(hours=12)).dt.date
    assert nights.min() >= REFERENCE - timedelta(days=21) and nights.max() < REFERENCE
    gaps = fixes.groupby("officer_id")["recorded_at"].diff().dt.total_seconds().dropna()
    assert gaps.between(29, 61).mean() > 0.9
    assert (gaps == 0).any()  # duplicate fixes
    assert (fixes["accuracy_m"] > 50).any()  # poor fixes


def test_demo_burglaries_cluster_at_night_near_unmanaged_doors(demo):
    incidents = demo["incident"]
    burglary = incidents[incidents["type"] == "burglary"]
    hour = burglary["occurred_at"].dt.tz_convert("Europe/Helsinki").dt.hour
    assert ((hour >= 22) | (hour < 6)).mean() > 0.7
    start = pd.Timestamp(REFERENCE - timedelta(days=56), tz="Europe/Helsinki")
    assert (
        incidents["occurred_at"].between(start, pd.Timestamp(REFERENCE, tz="Europe/Helsinki")).all()
    )
    buildings, entrances = demo["building"], demo["entrance"]
    unmanaged = entrances[
        ~buildings.set_index("id").loc[entrances["building_id"], "managed"].to_numpy()
    ]
    near = shapely.dwithin(
        metric(burglary, demo)[:, None], metric(unmanaged, demo)[None, :], 60.0
    ).any(axis=1)
    assert near.mean() > 0.8


# --- districts ------------------------------------------------------------------------------


def test_small_district_is_fast():
    started = time.perf_counter()
    frames = build_district(500, seed=11, id_hash_key=KEY)
    assert time.perf_counter() - started < 5.0
    assert len(frames["building"]) == 500
    assert frames["area"]["metric_srid"].tolist() == [32650]


@settings(max_examples=12, deadline=None)
@given(n=st.integers(min_value=1, max_value=400), seed=st.integers(min_value=0, max_value=2**16))
def test_district_has_exactly_n_buildings_with_doors_on_their_outlines(n, seed):
    frames = build_district(n, seed=seed, id_hash_key=KEY)
    assert len(frames["building"]) == n
    doors = frames["entrance"]["building_id"].value_counts()
    assert len(doors) == n and doors.between(1, 3).all()
    assert (entrance_gaps_m(frames) < 0.5).all()
    assert len(frames["beat"]) >= 2
