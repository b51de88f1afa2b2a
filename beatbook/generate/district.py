"""A synthetic city district of any size, for benchmarks and load tests.

A street grid at Shenzhen's coordinates (so the metric CRS is UTM zone 50N) whose
blocks hold rectangular buildings. Everything scales with the number of buildings:

- blocks of 110 m x 90 m with 12 plots, ~10 of them built: ~0.2 street segments
  per building (20,000 per 100,000 buildings);
- ~1.9 households per building (85% are residential), ~2.4 residents each;
- one beat per 5,000 buildings (at least 2), two officers per beat;
- ~1 GPS fix per building per month of night patrols (``FIXES_PER_BUILDING_MONTH``),
  i.e. ~1,000 fixes per 1,000 buildings per month; incidents, disputes and
  facility issues per building per month likewise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatbook.generate.population import (
    CHINESE_NAMES,
    Plan,
    entrance_frame,
    finalize,
    geoframe,
    names,
    nearest_geometry,
    other_door_kinds,
    outline_entrances,
    pick,
    polygon_index,
    populate,
    register_premises,
    stream,
    synthetic_facilities,
    synthetic_premises,
    with_ids,
)
from beatbook.settings import get_settings

CENTRE_LONLAT = (114.05, 22.54)
TZ = "Asia/Shanghai"
STATION = "SZ"
BLOCK_M = (110.0, 90.0)  # street spacing west-east, south-north
SETBACK_M = 8.0  # from the street centre line to the first plot
PLOTS = (3, 4)  # plots per block, west-east x south-north
BUILT_PER_BLOCK = 10  # of the 12 plots, on average
BUILDINGS_PER_BEAT = 5000
OFFICERS_PER_BEAT = 2
FIXES_PER_BUILDING_MONTH = 1.0
FIXES_PER_SHIFT = 270  # a 2-5 h night shift (capped at 06:00) at one fix per 30-60 s
MAIN_ROAD_EVERY = 5
PROPERTY_COMPANIES = (
    "Harbour View Property Services",
    "Lotus Hill Estate Management",
    "Garden City Property Co.",
    "Bay Light Property Services",
)
AREA_MARGIN_M = 200.0


@dataclass(frozen=True)
class Grid:
    """The block grid: ``columns`` x ``rows`` blocks with their south-west corner at (x0, y0)."""

    columns: int
    rows: int
    x0: float
    y0: float

    @classmethod
    def around(cls, centre: tuple[float, float], n_buildings: int) -> Grid:
        blocks = max(4, math.ceil(n_buildings / BUILT_PER_BLOCK))
        columns = max(2, math.ceil(math.sqrt(blocks)))
        rows = max(2, math.ceil(blocks / columns))
        return cls(
            columns, rows, centre[0] - columns * BLOCK_M[0] / 2, centre[1] - rows * BLOCK_M[1] / 2
        )

    def x(self, i):
        return self.x0 + np.asarray(i) * BLOCK_M[0]

    def y(self, j):
        return self.y0 + np.asarray(j) * BLOCK_M[1]

    def node(self, i, j):
        """Street-network vertex id of the crossing at grid line i (west-east), j (south-north)."""
        return np.asarray(j) * (self.columns + 1) + np.asarray(i) + 1

    @property
    def plot_size(self) -> tuple[float, float]:
        return ((BLOCK_M[0] - 2 * SETBACK_M) / PLOTS[0], (BLOCK_M[1] - 2 * SETBACK_M) / PLOTS[1])

    def plots(self, index: np.ndarray) -> tuple[np.ndarray, ...]:
        """Bounds (xmin, ymin, xmax, ymax) and block (i, j) of plots numbered block by block."""
        block, plot = np.divmod(index, PLOTS[0] * PLOTS[1])
        j, i = np.divmod(block, self.columns)
        row, column = np.divmod(plot, PLOTS[0])
        width, height = self.plot_size
        xmin = self.x(i) + SETBACK_M + column * width
        ymin = self.y(j) + SETBACK_M + row * height
        return xmin, ymin, xmin + width, ymin + height, i, j


def build_district(
    n_buildings: int,
    seed: int = 1,
    reference_date: date = date(2026, 11, 1),
    months: int = 1,
    *,
    id_hash_key: str | None = None,
    fixes_per_building_month: float = FIXES_PER_BUILDING_MONTH,
    officers_per_beat: int = OFFICERS_PER_BEAT,
) -> dict[str, pd.DataFrame]:
    """A district of exactly ``n_buildings`` buildings with ``months`` of events and patrols.

    Frames keyed by table name in load order, geometries in EPSG:4326; deterministic
    for a given seed, reference date and hash key. ``fixes_per_building_month`` sets
    how many night shifts are walked; as each officer walks at most one shift a night,
    the fixes are capped by ``officers_per_beat`` (beats hold 5,000 buildings; with two
    officers, more than about 3 fixes per building-month adds none, see ``patrol_schedule``).
    """
    if n_buildings < 1 or months < 1:
        raise ValueError("a district needs at least one building and one month")
    lonlat = gpd.GeoSeries([shapely.Point(CENTRE_LONLAT)], crs=4326)
    crs = lonlat.estimate_utm_crs()
    centre = shapely.get_coordinates(lonlat.to_crs(crs).values)[0]
    grid = Grid.around(tuple(centre), n_buildings)
    streets = _streets(grid, crs)
    buildings, free_plots = _buildings(stream(seed, "buildings"), grid, n_buildings, crs)
    entrances = _entrances(stream(seed, "entrances"), buildings, streets)
    beats = _beats(grid, max(2, round(n_buildings / BUILDINGS_PER_BEAT)), crs)
    officers, officer_beat = _officers(stream(seed, "officers"), len(beats), officers_per_beat,
                                       reference_date)
    place = {
        "building": buildings,
        "entrance": entrances,
        "street_segment": streets,
        "beat": beats,
        "officer_beat": officer_beat,
        "premises": _premises(stream(seed, "premises"), buildings, n_buildings),
    }
    days = 30 * months
    plan = Plan(
        reference_date=reference_date,
        tz=TZ,
        names=CHINESE_NAMES,
        id_hash_key=id_hash_key or get_settings().id_hash_key,
        units_per_floor=0.4,
        default_floors=5,
        incident_days=days,
        n_incidents=max(20, n_buildings * months // 100),
        n_disputes=max(5, n_buildings * months // 250),
        n_campaigns=4 * len(beats) * months,
        n_facility_issues=max(5, n_buildings * months // 500),
        n_hazardous_sites=max(3, n_buildings // 20000),
        patrol_nights=days,
        n_patrol_shifts=max(
            1, round(n_buildings * months * fixes_per_building_month / FIXES_PER_SHIFT)
        ),
    )
    return finalize(
        {
            "area": _area(grid, crs),
            "station": geoframe(
                crs,
                [shapely.Point(centre)],
                id=[1],
                code=[STATION],
                name=["Synthetic district station"],
            ),
            "officer": officers,
            "camera": _cameras(stream(seed, "cameras"), entrances, n_buildings),
            "focus_area": _focus_areas(
                stream(seed, "focus"), grid, free_plots, streets, beats, n_buildings
            ),
            **place,
            "public_facility": _public_facilities(stream(seed, "public-facilities"), buildings, n_buildings),
            **populate(seed, place, plan),
        }
    )


def _streets(grid: Grid, crs) -> gpd.GeoDataFrame:
    """Every block side as one segment; every fifth grid line is a main road."""
    i, j = (a.ravel() for a in np.meshgrid(np.arange(grid.columns), np.arange(grid.rows + 1)))
    p, q = (a.ravel() for a in np.meshgrid(np.arange(grid.columns + 1), np.arange(grid.rows)))
    start_i, start_j = np.r_[i, p], np.r_[j, q]
    end_i, end_j = np.r_[i + 1, p], np.r_[j, q + 1]
    west_east = np.r_[np.ones(len(i), bool), np.zeros(len(p), bool)]
    ends = np.stack(
        [np.c_[grid.x(start_i), grid.y(start_j)], np.c_[grid.x(end_i), grid.y(end_j)]], axis=1
    )
    line_no = np.where(west_east, start_j, start_i) + 1
    frame = geoframe(
        crs,
        shapely.linestrings(ends),
        name=np.char.add(
            np.where(west_east, "East-West Road ", "North-South Road "), line_no.astype(str)
        ).astype(object),
        highway=np.where((line_no - 1) % MAIN_ROAD_EVERY == 0, "secondary", "residential").astype(
            object
        ),
        oneway=False,
        length_m=np.where(west_east, BLOCK_M[0], BLOCK_M[1]),
        source=grid.node(start_i, start_j),
        target=grid.node(end_i, end_j),
    )
    return with_ids(frame)


def _buildings(
    rng: np.random.Generator, grid: Grid, n: int, crs
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """``n`` rectangular buildings on randomly chosen plots, each set back 1.5 m or more within it.

    Returns the buildings and the numbers of the plots left free (car parks come from these).
    """
    plots = grid.columns * grid.rows * PLOTS[0] * PLOTS[1]
    built = np.sort(rng.choice(plots, size=n, replace=False))
    xmin, ymin, xmax, ymax, i, j = grid.plots(built)
    width, height = grid.plot_size
    widest = 0.25 * np.array([[width], [height], [width], [height]])  # west, south, east, north
    margin = 1.5 + rng.random((4, n)) * (widest - 1.5)
    boxes = shapely.box(xmin + margin[0], ymin + margin[1], xmax - margin[2], ymax - margin[3])
    managed = rng.random(n) < 0.4
    frame = with_ids(
        geoframe(
            crs,
            shapely.multipolygons(boxes, indices=np.arange(n)),
            floors=rng.integers(1, 10, n),
            use=pick(rng, ("residential", "commercial", "public"), n, p=(0.85, 0.1, 0.05)),
            managed=managed,
            property_company=np.where(managed, pick(rng, PROPERTY_COMPANIES, n), None),
        )
    )
    number = (built % (PLOTS[0] * PLOTS[1])) + i * PLOTS[0] * PLOTS[1] + 1
    frame.insert(
        1,
        "address",
        np.char.add(
            np.char.add("East-West Road ", (j + 1).astype(str)),
            np.char.add(" No. ", number.astype(str)),
        ).astype(object),
    )
    frame.insert(
        2,
        "address_code",
        np.char.add(f"{STATION}-B", np.char.zfill(frame["id"].to_numpy().astype(str), 8)).astype(
            object
        ),
    )
    return frame, np.setdiff1d(np.arange(plots), built)


def _entrances(
    rng: np.random.Generator, buildings: gpd.GeoDataFrame, streets: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """1-3 doors per building on its outline, the main one facing the nearest street."""
    geoms = buildings.geometry.values
    counts = rng.integers(1, 4, len(geoms))
    rows, points, rank = outline_entrances(
        geoms, nearest_geometry(streets.geometry.values, geoms), counts
    )
    return entrance_frame(rng, buildings, rows, points, other_door_kinds(rng, rank))


def _beats(grid: Grid, k: int, crs) -> gpd.GeoDataFrame:
    """``k`` contiguous rectangles of whole blocks, in bands of roughly equal cells.

    Boundaries run along street centre lines, so no building is split between beats.
    """
    k = min(k, grid.columns * grid.rows)
    bands = max(math.ceil(k / grid.columns), min(grid.rows, math.isqrt(k)))
    per_band = np.full(bands, k // bands)
    per_band[: k % bands] += 1
    band_edges = np.round(np.linspace(0, grid.rows, bands + 1)).astype(int)
    cells = []
    for band, count in enumerate(per_band):
        column_edges = np.round(np.linspace(0, grid.columns, count + 1)).astype(int)
        cells += [
            (column_edges[c], band_edges[band], column_edges[c + 1], band_edges[band + 1])
            for c in range(count)
        ]
    i0, j0, i1, j1 = np.array(cells).T
    boxes = shapely.box(grid.x(i0), grid.y(j0), grid.x(i1), grid.y(j1))
    frame = geoframe(
        crs,
        shapely.multipolygons(boxes, indices=np.arange(len(boxes))),
        station_id=1,
        code=np.array([f"{STATION}-{b + 1:02d}" for b in range(len(boxes))], dtype=object),
        name=np.array([f"District beat {b + 1}" for b in range(len(boxes))], dtype=object),
    )
    return with_ids(frame)


def _officers(
    rng: np.random.Generator, n_beats: int, per_beat: int, reference_date: date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = n_beats * per_beat
    officers = with_ids(
        pd.DataFrame(
            {
                "station_id": 1,
                "badge": np.array([f"{STATION}-{1001 + i}" for i in range(n)], dtype=object),
                "name": names(rng, n, CHINESE_NAMES),
            }
        )
    )
    officer_beat = with_ids(
        pd.DataFrame(
            {
                "officer_id": officers["id"].to_numpy(),
                "beat_id": np.arange(n) // per_beat + 1,
                "valid_from": reference_date - timedelta(days=365),
                "valid_to": None,
            }
        )
    )
    return officers, officer_beat


def _premises(rng: np.random.Generator, buildings: gpd.GeoDataFrame, n: int) -> gpd.GeoDataFrame:
    """Hotels, scrap buyers and locksmiths in non-residential buildings, 1 per 3,000 (3 or more)."""
    hosts = buildings[buildings["use"] != "residential"]
    hosts = hosts if len(hosts) else buildings
    points = shapely.point_on_surface(hosts.geometry.values)
    parts = [
        synthetic_premises(
            rng,
            trade,
            max(3, n // 3000),
            points,
            hosts["id"].to_numpy(),
            CHINESE_NAMES,
            buildings.crs,
        )
        for trade in ("hotel", "scrap_buyer", "locksmith")
    ]
    return register_premises(rng, parts, STATION, CHINESE_NAMES)


def _public_facilities(rng: np.random.Generator, buildings: gpd.GeoDataFrame, n: int) -> gpd.GeoDataFrame:
    """Schools, kindergartens and clinics in public buildings: one school and one kindergarten per
    2,000 buildings, one clinic per 3,000 (one of each at least)."""
    hosts = buildings[buildings["use"] == "public"]
    hosts = hosts if len(hosts) else buildings
    counts = {"school": max(1, n // 2000), "kindergarten": max(1, n // 2000), "clinic": max(1, n // 3000)}
    return synthetic_facilities(
        rng, counts, shapely.point_on_surface(hosts.geometry.values), hosts["id"].to_numpy(), buildings.crs
    )


def _cameras(rng: np.random.Generator, entrances: gpd.GeoDataFrame, n: int) -> gpd.GeoDataFrame:
    """One camera per 25 buildings, over a random door, looking in a random direction."""
    k = max(2, n // 25)
    at = rng.choice(len(entrances), size=min(k, len(entrances)), replace=False)
    frame = geoframe(
        entrances.crs,
        entrances.geometry.values[at],
        direction_deg=np.round(rng.uniform(0, 360, len(at)), 0) % 360,
        fov_deg=90.0,
        range_m=rng.integers(30, 51, len(at)).astype(float),
        owner=pick(rng, ("property management", "shop", "police"), len(at), p=(0.5, 0.3, 0.2)),
        working=rng.random(len(at)) < 0.95,
    )
    return with_ids(frame)


def _focus_areas(
    rng: np.random.Generator,
    grid: Grid,
    free_plots: np.ndarray,
    streets: gpd.GeoDataFrame,
    beats: gpd.GeoDataFrame,
    n: int,
) -> gpd.GeoDataFrame:
    """Shopping stretches of east-west roads, footpaths through blocks, car parks on free plots."""
    width, height = grid.plot_size
    # commercial streets: up to four blocks of one road, as a 10 m buffer
    runs = max(1, n // 2000)
    row = rng.integers(0, grid.rows + 1, runs)
    length = min(4, grid.columns)
    first = rng.integers(0, grid.columns - length + 1, runs)
    shops = shapely.buffer(
        shapely.linestrings(
            np.stack(
                [np.c_[grid.x(first), grid.y(row)], np.c_[grid.x(first + length), grid.y(row)]],
                axis=1,
            )
        ),
        10.0,
    )
    # footpaths: through the middle of a block, in the gap between its second and third plot rows
    blocks = rng.choice(
        grid.columns * grid.rows,
        size=min(max(1, n // 2500), grid.columns * grid.rows),
        replace=False,
    )
    j, i = np.divmod(blocks, grid.columns)
    y = grid.y(j) + SETBACK_M + 2 * height
    paths = shapely.linestrings(
        np.stack([np.c_[grid.x(i) + SETBACK_M, y], np.c_[grid.x(i + 1) - SETBACK_M, y]], axis=1)
    )
    # car parks: free plots, inset 1 m
    parks_at = rng.choice(free_plots, size=min(max(1, n // 500), len(free_plots)), replace=False)
    xmin, ymin, xmax, ymax, _, _ = grid.plots(parks_at)
    parks = shapely.box(xmin + 1, ymin + 1, xmax - 1, ymax - 1)

    kinds = np.repeat(
        np.array(["commercial_street", "footpath", "car_park"], dtype=object),
        [len(shops), len(paths), len(parks)],
    )
    geom = np.r_[shops, paths, parks]
    frame = geoframe(
        streets.crs,
        geom,
        beat_id=beats["id"].to_numpy()[
            polygon_index(shapely.point_on_surface(geom), beats.geometry.values)
        ],
        kind=kinds,
        name=np.r_[
            np.char.add("East-West Road ", (row + 1).astype(str)).astype(object),
            np.full(len(paths) + len(parks), None),
        ],
        priority=np.r_[
            rng.integers(1, 4, len(shops)), np.ones(len(paths)), np.full(len(parks), 2)
        ].astype(float),
    )
    return with_ids(frame)


def _area(grid: Grid, crs) -> gpd.GeoDataFrame:
    extent = shapely.box(grid.x(0), grid.y(0), grid.x(grid.columns), grid.y(grid.rows))
    outline = shapely.buffer(extent, AREA_MARGIN_M, join_style="mitre")
    return geoframe(
        crs,
        [shapely.MultiPolygon([outline])],
        id=[1],
        name=["Synthetic district"],
        metric_srid=[crs.to_epsg()],
        timezone=[TZ],
    )
