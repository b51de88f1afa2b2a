"""Plan tonight's patrol route for one beat and shape it as GeoJSON or GPX.

The targets are what the analyses of the nights found: streets not passed, unmanaged entrances
not passed, and the hot spots of the 90 days before. pgRouting gives the walking (or driving)
times between them on the street network (``db/routing.py``); ``geo/route_plan.py`` chooses
which to visit, in what order, within the time there is.

A street not passed is walked end to end: it is entered at one end of its segment and left at
the other, and the time to walk it is its service time. A point target (an entrance, the middle
of a hot spot) is reached from the nearest street corner, there and back on foot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection

from api.exports import GpxTrack, GpxWaypoint, gpx_text
from api.incident_analysis import Grid, hotspot_features
from api.patrol_analysis import GapParams, entrance_audit_features, patrol_gap_features
from db import analysis as queries
from db import routing
from db.incidents import IncidentFilter
from geo.route_plan import RoutePlan, plan_route

SPEED_MPS = {"foot": 1.4, "car": 8.3}  # a patrol's walking pace; a car in town at 30 km/h
ENTRANCE_SERVICE_S = 60.0  # to look at a door and try it
HOTSPOT_DAYS = 90


@dataclass(frozen=True)
class TargetValues:
    """What visiting each kind of target is worth."""

    street_per_100m: float = 1.0  # of street not passed
    entrance: float = 1.0  # times (1 + the audit's risk) for an unmanaged entrance not passed
    hotspot: float = 10.0  # a hot hexagon of the 90 days


@dataclass(frozen=True)
class RouteRequest:
    start: tuple[float, float] | None = None  # lon, lat; None: the beat's station
    end: tuple[float, float] | None = None  # None: back to the start
    budget_min: float = 90.0
    mode: str = "foot"
    dwell_min: float = 12.0  # at a hot spot
    start_time: time = time(22, 0)  # local; the stops' clock times count from it
    values: TargetValues = field(default_factory=TargetValues)
    max_targets: int = 200
    time_limit_s: float = 2.0


def _street_targets(conn: Connection, place: queries.Place, params: GapParams, request: RouteRequest
                    ) -> pd.DataFrame:
    gaps = [f for f in patrol_gap_features(conn, place, params, with_passed=False)["features"]
            if f["properties"]["feature"] == "street_gap"]
    if not gaps:
        return pd.DataFrame()
    frame = pd.DataFrame({"street_id": [f["properties"]["street_id"] for f in gaps],
                          "gap_m": [f["properties"]["length_m"] for f in gaps],
                          "geometry": [shapely.geometry.shape(f["geometry"]) for f in gaps]})
    by_street = frame.groupby("street_id", sort=False).agg(
        gap_m=("gap_m", "sum"), geometry=("geometry", lambda g: shapely.union_all(g.to_numpy())))
    ends = routing.street_ends(conn, by_street.index)
    middle = shapely.line_interpolate_point(shapely.line_merge(by_street["geometry"].to_numpy()), 0.5,
                                            normalized=True)
    return pd.DataFrame({
        "kind": "street", "key": by_street.index.to_numpy(), "value": request.values.street_per_100m
        * by_street["gap_m"].to_numpy() / 100, "service_s": ends["length_m"].to_numpy() / SPEED_MPS[request.mode],
        "enter": ends["source"].to_numpy(), "leave": ends["target"].to_numpy(),
        "lon": shapely.get_x(middle), "lat": shapely.get_y(middle), "gap_m": by_street["gap_m"].to_numpy()})


def _point_targets(conn: Connection, place: queries.Place, kind: str, keys, values, service_s, lon, lat,
                   speed: float) -> pd.DataFrame:
    if not len(keys):
        return pd.DataFrame()
    near = routing.nearest_vertices(conn, place, lon, lat)
    return pd.DataFrame({"kind": kind, "key": keys, "value": values,
                         "service_s": np.asarray(service_s) + 2 * near["snap_m"].to_numpy() / speed,
                         "enter": near["vertex"].to_numpy(), "leave": near["vertex"].to_numpy(),
                         "lon": lon, "lat": lat, "gap_m": 0.0})


def _targets(conn: Connection, place: queries.Place, params: GapParams, request: RouteRequest) -> pd.DataFrame:
    speed = SPEED_MPS[request.mode]
    doors = [f for f in entrance_audit_features(conn, place, params, reason="unmanaged", burglary_days=30,
                                                burglary_radius_m=100.0)["features"]
             if not f["properties"]["passed"]]
    until = datetime.combine(params.nights.last + timedelta(days=1), time(), ZoneInfo(place.tz))
    hot = [f for f in hotspot_features(conn, place, IncidentFilter(until - timedelta(days=HOTSPOT_DAYS), until),
                                       Grid("hex"), alpha=0.05, fdr=True, permutations=0,
                                       with_all=False)["features"]
           if f["properties"]["label"] == "hot"]
    hot_middle = [shapely.geometry.shape(f["geometry"]).centroid for f in hot]
    targets = pd.concat([
        _street_targets(conn, place, params, request),
        _point_targets(conn, place, "entrance", [f["properties"]["id"] for f in doors],
                       [request.values.entrance * (1 + f["properties"]["risk"]) for f in doors],
                       np.full(len(doors), ENTRANCE_SERVICE_S),
                       [f["geometry"]["coordinates"][0] for f in doors],
                       [f["geometry"]["coordinates"][1] for f in doors], speed),
        _point_targets(conn, place, "hotspot", [f["properties"]["key"] for f in hot],
                       np.full(len(hot), request.values.hotspot), np.full(len(hot), request.dwell_min * 60),
                       [p.x for p in hot_middle], [p.y for p in hot_middle], speed),
    ], ignore_index=True)
    if targets.empty:
        return targets
    return targets[targets["value"] > 0].nlargest(request.max_targets, "value", keep="first").reset_index(drop=True)


def patrol_route(conn: Connection, place: queries.Place, params: GapParams, request: RouteRequest) -> dict:
    """The route, its stops and what it collects, as GeoJSON."""
    speed = SPEED_MPS[request.mode]
    start = request.start or routing.station_of(conn, place.code)
    if start is None:
        raise ValueError(f"beat {place.code} has no station with a position: give start (lon, lat)")
    end = request.end or start
    corners = routing.nearest_vertices(conn, place, [start[0], end[0]], [start[1], end[1]])
    targets = _targets(conn, place, params, request)
    enter = np.r_[corners["vertex"].to_numpy(), targets["enter"].to_numpy(dtype=np.int64) if len(targets) else []]
    leave = np.r_[corners["vertex"].to_numpy(), targets["leave"].to_numpy(dtype=np.int64) if len(targets) else []]
    vertices = np.unique(np.r_[enter, leave]).astype(np.int64)
    metres = routing.cost_matrix(conn, place, vertices, directed=request.mode == "car")
    at = {v: i for i, v in enumerate(vertices)}
    travel = metres[np.ix_([at[v] for v in leave], [at[v] for v in enter])] / speed
    walk_to_streets = corners["snap_m"].sum() / speed  # from the start to its corner, and to the end
    budget = request.budget_min * 60 - walk_to_streets
    if len(targets):
        values, service = targets["value"].to_numpy(dtype=float), targets["service_s"].to_numpy(dtype=float)
    else:
        values, service = np.zeros(0), np.zeros(0)
    plan = plan_route(travel, values, service, budget_s=budget, time_limit_s=request.time_limit_s)

    via = [enter[0]]
    for stop in plan.stops:
        via += [enter[stop.target + 2], leave[stop.target + 2]]
    via.append(enter[1])
    lines = routing.path_through(conn, place, via, directed=request.mode == "car")
    return _answer(place, params, request, targets, plan, lines, start, end, walk_to_streets)


def _answer(place, params, request, targets, plan: RoutePlan, lines, start, end, walk_s) -> dict:
    clock = datetime.combine(params.nights.last, request.start_time, ZoneInfo(place.tz))
    half_walk = walk_s / 2
    stops = []
    for order, stop in enumerate(plan.stops, start=1):
        t = targets.iloc[stop.target]
        arrival = stop.arrival_s + half_walk
        stops.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [t.lon, t.lat]},
                      "properties": {"feature": "stop", "order": order, "kind": t.kind, "key": _key(t.key),
                                     "value": round(float(t.value), 2),
                                     "arrival_min": round(arrival / 60, 1),
                                     "stay_min": round((stop.departure_s - stop.arrival_s) / 60, 1),
                                     "arrival": (clock + timedelta(seconds=arrival)).strftime("%H:%M")}})
    route = {"type": "Feature", "geometry": {"type": "MultiLineString", "coordinates": lines},
             "properties": {"feature": "route", "mode": request.mode}}
    ends = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": list(point)},
             "properties": {"feature": name}} for name, point in (("start", start), ("end", end))]
    visited = targets.iloc[plan.order] if plan.stops else targets.iloc[:0]
    total_gap = float(targets["gap_m"].sum()) if len(targets) else 0.0
    summary = {
        "beat": place.code, "nights": [params.nights.first.isoformat(), params.nights.last.isoformat()],
        "mode": request.mode, "speed_mps": SPEED_MPS[request.mode], "budget_min": request.budget_min,
        "total_min": round((plan.total_s + walk_s) / 60, 1), "start_time": request.start_time.strftime("%H:%M"),
        "value": round(plan.value, 2), "value_share": round(plan.share, 4), "bound": round(plan.bound, 2),
        "optimality_gap": round(plan.optimality_gap, 4), "solver": plan.solver,
        "greedy_value": None if plan.greedy_value is None else round(plan.greedy_value, 2),
        "targets": _counts(targets), "visited": _counts(visited),
        "street_gap_km": round(total_gap / 1000, 3),
        "street_gap_km_walked": round(float(visited["gap_m"].sum()) / 1000, 3) if len(visited) else 0.0,
        "values": {"street_per_100m": request.values.street_per_100m, "entrance": "x (1 + audit risk) of "
                   f"{request.values.entrance:g}", "hotspot": request.values.hotspot},
    }
    return {"type": "FeatureCollection", "features": [route, *ends, *stops], "summary": summary}


def as_gpx(answer: dict) -> str:
    """The route as a GPX track and its stops as waypoints, for the officer's phone."""
    walked, stops = [], []
    for feature in answer["features"]:
        p = feature["properties"]
        if p["feature"] == "route":
            # The streets as walked, one after the other: one segment, each joint once.
            for line in feature["geometry"]["coordinates"]:
                walked += line[1:] if walked else line
        elif p["feature"] == "stop":
            lon, lat = feature["geometry"]["coordinates"]
            stops.append(GpxWaypoint(lon, lat, name=f"{p['order']}. {p['kind']} {p['arrival']}",
                                     description=f"arrive {p['arrival']}, stay {p['stay_min']:g} min"))
    route = GpxTrack(f"Patrol route, beat {answer['summary']['beat']}", [walked] if walked else [])
    return gpx_text([route], stops)


def _counts(frame: pd.DataFrame) -> dict:
    """How many targets of each kind."""
    return {k: int((frame["kind"] == k).sum()) if len(frame) else 0 for k in ("street", "entrance", "hotspot")}


def _key(key):
    return key if isinstance(key, str) else int(key)
