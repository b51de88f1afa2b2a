"""The incident analyses on a million incidents, through HTTP, and hexagon counts against PostGIS.

    python bench/incident_analyses.py --incidents 1000000

Builds (or reuses) a scratch database, ``beatbook_bench_incidents``, holding a
synthetic district (100,000 buildings, 11 km x 9 km) and ``--incidents`` incidents over a year,
clustered round a few hundred places in the central 7 km x 7 km square. Then, as
a supervisor asking about that square (a polygon of 49 km², the largest a request
may ask about), it prints the median of ``--runs`` runs of each analysis route, and
beside the hexagon counts, in the same run, the obvious alternative: PostGIS's
``ST_HexagonGrid`` joined to the incidents and grouped.

bench/incident_density.py compares the kernel density itself with scikit-learn and scipy.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date, datetime, timedelta, timezone

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
from bench_api import median_time, supervisor_client
from sqlalchemy import make_url
from synth_load import bench_database

from beatbook.generate.district import build_district
from beatbook.generate.load import load_dataset
from beatbook.settings import get_settings
from db.analysis import polygon_place
from db.bulk import copy_frame
from db.engine import get_engine
from db.incidents import IncidentFilter, incidents
from geo.incident_units import hexagon_units

DATABASE = "beatbook_bench_incidents"
SQUARE_M = 7000.0
END = date(2026, 10, 31)
TYPES = {"burglary": 0.35, "theft": 0.3, "robbery": 0.05, "fraud": 0.15, "vandalism": 0.15}


def square_polygon(libpq: str) -> shapely.Polygon:
    """The central square of the district, in lon/lat."""
    with psycopg.connect(libpq) as conn:
        srid, wkb = conn.execute("SELECT metric_srid, ST_AsBinary(ST_Centroid(geom)) FROM area").fetchone()
    centre = gpd.GeoSeries([shapely.from_wkb(bytes(wkb))], crs=4326).to_crs(srid).iloc[0]
    square = shapely.box(centre.x - SQUARE_M / 2, centre.y - SQUARE_M / 2,
                         centre.x + SQUARE_M / 2, centre.y + SQUARE_M / 2)
    return gpd.GeoSeries([square], crs=srid).to_crs(4326).iloc[0]


def synthetic_incidents(n: int, square: shapely.Polygon, srid: int, seed: int = 7) -> pd.DataFrame:
    """Clustered incidents over a year: 70 % round 300 centres, 30 % anywhere in the square."""
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = gpd.GeoSeries([square], crs=4326).to_crs(srid).total_bounds
    centres = rng.uniform([xmin, ymin], [xmax, ymax], size=(300, 2))
    clustered = rng.random(n) < 0.7
    where = rng.uniform([xmin, ymin], [xmax, ymax], size=(n, 2))
    pick = centres[rng.integers(0, len(centres), clustered.sum())]
    where[clustered] = np.clip(pick + rng.normal(0, 120, size=pick.shape), [xmin, ymin], [xmax, ymax])
    lonlat = gpd.GeoSeries(shapely.points(where), crs=srid).to_crs(4326)
    start = datetime.combine(END - timedelta(days=364), datetime.min.time(), timezone.utc)
    moments = start + pd.to_timedelta(rng.uniform(0, 365 * 86400, n), unit="s")
    kinds = rng.choice(list(TYPES), size=n, p=list(TYPES.values()))
    return pd.DataFrame({"id": np.arange(1, n + 1), "occurred_at": moments, "type": kinds,
                         "source": "synthetic", "geom": lonlat.to_numpy(), "synthetic": True})


def prepare(libpq: str, n: int) -> shapely.Polygon:
    with psycopg.connect(libpq) as conn:
        have = conn.execute("SELECT count(*) FROM incident").fetchone()[0]
    if have != n:
        started = time.perf_counter()
        load_dataset(libpq, build_district(100_000, fixes_per_building_month=0), progress=False)
        square = square_polygon(libpq)
        with psycopg.connect(libpq) as conn, conn.transaction():
            srid = conn.execute("SELECT metric_srid FROM area").fetchone()[0]
            conn.execute("TRUNCATE incident")
            copy_frame(conn, "incident", synthetic_incidents(n, square, srid))
            conn.execute("ANALYZE incident")
        print(f"loaded {n:,} incidents in {time.perf_counter() - started:.0f} s")
    return square_polygon(libpq)


def postgis_hexagon_counts(conn, polygon_wkb: bytes, srid: int, size: float) -> int:
    """The obvious way: PostGIS makes the hexagons and joins the incidents to them (by their index)."""
    rows = conn.exec_driver_sql("""
        WITH p AS (SELECT ST_Transform(ST_GeomFromWKB(%(wkb)s, 4326), %(srid)s) AS g),
             hex AS (SELECT h.geom FROM p, ST_HexagonGrid(%(size)s, p.g) h WHERE ST_Intersects(h.geom, p.g))
        SELECT count(i.id) FROM hex JOIN incident i
          ON ST_Intersects(ST_Transform(hex.geom, 4326), i.geom)
        WHERE i.occurred_at >= %(since)s
        GROUP BY hex.geom
    """, {"wkb": polygon_wkb, "srid": srid, "size": size,
          "since": datetime(2025, 11, 1, tzinfo=timezone.utc)}).all()
    return sum(r[0] for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    settings = get_settings()
    libpq = bench_database(settings, DATABASE)
    square = prepare(libpq, args.incidents)
    url = make_url(settings.sqlalchemy_url).set(database=DATABASE).render_as_string(hide_password=False)
    polygon = json.dumps(shapely.geometry.mapping(square))
    year = {"polygon": polygon, "start": str(END - timedelta(days=364)), "end": str(END)}
    cases = [
        ("incident-density", "kde, 14 m cells (500 x 500)", {**year, "method": "kde", "cell_m": 14}),
        ("incident-density", "kde, gaussian, 14 m cells", {**year, "method": "kde", "cell_m": 14,
                                                          "kernel": "gaussian", "bandwidth_m": 100}),
        ("incident-density", "hexagons of 100 m", {**year, "method": "hex", "cell_m": 100}),
        ("incident-density", "street segments", {**year, "method": "segment"}),
        ("hotspots", "Gi* on hexagons of 100 m", {**year, "unit": "hex", "cell_m": 100}),
        ("hotspots", "Gi*, 999 permutations", {**year, "unit": "hex", "cell_m": 100, "permutations": 999}),
        ("spikes", "beats, 8 weeks of history", {"polygon": polygon, "end": str(END), "unit": "beat"}),
        ("spikes", "hexagons of 200 m", {"polygon": polygon, "end": str(END), "unit": "hex"}),
        ("hotspot-accuracy", "kde map, 9 months then 3", {
            "polygon": polygon, "train_start": "2025-11-01", "train_end": "2026-07-31",
            "test_start": "2026-08-01", "test_end": str(END), "method": "kde", "cell_m": 25}),
        ("near-repeat", "burglaries of 30 days, 99 permutations", {
            "polygon": polygon, "start": str(END - timedelta(days=29)), "end": str(END), "types": "burglary"}),
    ]
    print(f"{args.incidents:,} incidents in a {SQUARE_M / 1000:g} km square; median of {args.runs} runs")
    with supervisor_client(settings, url) as (client, headers):
        for route, label, params in cases:
            seconds, response = median_time(
                lambda route=route, params=params: client.get(f"/api/analysis/{route}", params=params,
                                                              headers=headers), args.runs)
            response.raise_for_status()
            summary = response.json()["summary"]
            counted = summary.get("incidents", summary.get("train_incidents"))
            print(f"{route:<18} {label:<40} {seconds:6.2f} s  {counted:>10,} incidents  "
                  f"{len(response.content) / 1e6:5.1f} MB", flush=True)
    with get_engine(url).connect() as conn:
        place = polygon_place(conn, shapely.to_wkb(square))
        which = IncidentFilter(datetime(2025, 11, 1, tzinfo=timezone.utc), datetime(2026, 11, 1, tzinfo=timezone.utc))
        fetch_s, found = median_time(lambda: incidents(conn, place, which), args.runs)
        units = hexagon_units(place.metric_polygon(), 100.0)
        ours_s, counts = median_time(lambda: units.counts(found.x, found.y), args.runs)
        theirs_s, total = median_time(lambda: postgis_hexagon_counts(conn, shapely.to_wkb(square), place.srid,
                                                                     100.0), args.runs)
    print(f"hexagon counts of {len(found):,} incidents in {len(units):,} hexagons of 100 m: "
          f"fetch {fetch_s:.2f} s + numpy {ours_s:.2f} s, PostGIS ST_HexagonGrid join {theirs_s:.2f} s "
          f"(x{theirs_s / (fetch_s + ours_s):.1f}); counted {counts.sum():,} vs {total:,}")


if __name__ == "__main__":
    main()
