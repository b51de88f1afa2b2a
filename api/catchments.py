"""Walking catchments round points of service (police service stations, schools) for one place:
the walk on the street network, the area it serves, and what lives inside it.

The database snaps each point to the street network and walks it (``db/routing.py``,
``db/service.py``, pgRouting's ``pgr_drivingDistance``); ``geo/catchments.py`` follows each
street partway to the walk's end and widens the streets walked into an area; the database then
counts the households of the place inside each area and inside none. What is counted of their
residents is the caller's measures (``db.service.STATION_MEASURES``, ``SCHOOL_MEASURES``), so
stations and schools share every step and differ only in what they count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection

from db import service as queries
from db.analysis import Place
from db.routing import nearest_vertices
from geo.catchments import catchment_area, merged_lines, reached_parts


@dataclass(frozen=True)
class Catchment:
    """One point's catchment: the walk (``walk``: snap_m, vertices_reached, street_m, streets),
    its area as a GeoJSON MultiPolygon in lon/lat (None when the walk reaches no street) and
    the counts of the households inside it (``counts``: households and each measure)."""

    walk: dict
    area: dict | None
    counts: dict[str, int]


def walking_catchments(db: Connection, place: Place, lon, lat, walk_m: float, measures: dict[str, str],
                       params: dict | None = None) -> tuple[list[Catchment], dict]:
    """The catchment of each point (lon, lat in EPSG:4326) within ``walk_m`` on foot, in their
    order; and the counts of the place's households inside no catchment (the gap, with
    ``households_in_place``).

    The walk starts with the straight stretch from the point to the nearer end of its nearest
    street: what is left of ``walk_m`` is walked along the streets, and a point farther from the
    streets than the walk reaches none.
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    snapped = nearest_vertices(db, place, lon, lat)
    if len(snapped) != len(lon):  # no streets at all: nobody walks anywhere
        snapped = snapped.reindex(range(len(lon)))
    budgets = walk_m - snapped["snap_m"].to_numpy(float)
    starts = np.flatnonzero(budgets >= 0)
    reached = queries.walks(db, lon[starts], lat[starts], snapped["vertex"].to_numpy()[starts], budgets[starts])
    reached["n"] = starts[reached["n"].to_numpy(int)] if len(reached) else reached["n"]
    streets = queries.streets_at(db, reached["node"].unique(), place.srid)
    areas, parts_of, walked = [], [], []
    for n in range(len(lon)):
        cost = reached.loc[reached["n"] == n].set_index("node")["agg_cost"]
        near = streets[streets["source"].isin(cost.index) | streets["target"].isin(cost.index)]
        parts = reached_parts(near["geometry"], near["length_m"], near["source"].map(cost).fillna(np.inf),
                              near["target"].map(cost).fillna(np.inf), budgets[n] if n in starts else 0.0)
        areas.append(catchment_area(parts))
        parts_of.append(merged_lines(parts))
        walked.append((len(cost), float(sum(p.length for p in parts))))
    per, gap = queries.catchment_counts(db, place, areas, parts_of, measures, params)
    catchments = []
    for snap_m, (vertices, street_m), area, count in zip(
            snapped["snap_m"].to_numpy(float), walked, areas, per.itertuples(index=False), strict=True):
        catchments.append(Catchment(
            walk={"snap_m": None if np.isnan(snap_m) else round(float(snap_m), 1), "vertices_reached": vertices,
                  "street_m": round(street_m, 1), "streets": None if area.is_empty else json.loads(count.streets)},
            area=None if area.is_empty else json.loads(count.area),
            counts={name: int(getattr(count, name)) for name in ("households", *measures)}))
    return catchments, gap
