"""Plan new cameras and access-control gates for one place and shape the answers as GeoJSON.

The database supplies entrances, cameras, incidents and streets (``db/``), ``geo/siting.py``
weighs them and chooses the sites; this module reads a place's demand and turns metres back
into longitude/latitude. The city cut into tiles (``beatbook/city_siting.py``) reads its
demand and candidates tile by tile, and solves the same model with ``solve``.

The demand is what the planner's map shows: the entrances the audit lists as unmanaged or
ungated (each weighing 1 plus its audit risk), and for cameras also the incidents of the
period (a burglary weighing more).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection

from db import analysis as queries
from db import incidents as incident_queries
from db.incidents import IncidentFilter
from geo.crs import to_lonlat, to_metric
from geo.siting import (
    BURGLARY_RADIUS_M,
    Coverage,
    DemandWeights,
    Siting,
    all_round,
    camera_coverage,
    camera_demand,
    choose_sites,
    chosen_sites,
    gate_coverage,
    greedy_sites,
    street_sites,
    unguarded_entrances,
)


@dataclass(frozen=True)
class Candidates:
    """Where new cameras could go: x, y in metres, and each one's direction and field of view."""

    kind: str  # "streets", "entrances" or "points"
    frame: pd.DataFrame  # x, y, direction_deg, fov_deg


def street_candidates(conn: Connection, place: queries.Place, spacing_m: float) -> Candidates:
    return Candidates("streets", street_sites(queries.streets(conn, place)["geometry"].to_numpy(), spacing_m))


def entrance_candidates(conn: Connection, place: queries.Place) -> Candidates:
    doors = queries.entrances(conn, place)
    return Candidates("entrances", all_round(doors["x"].to_numpy(), doors["y"].to_numpy()))


def point_candidates(place: queries.Place, points: list[dict]) -> Candidates:
    """Points the planner gave: lon, lat and optionally direction_deg and fov_deg."""
    lon = np.array([p["lon"] for p in points], dtype=float)
    lat = np.array([p["lat"] for p in points], dtype=float)
    x, y = to_metric(lon, lat, place.srid)
    return Candidates("points", pd.DataFrame({
        "x": x, "y": y,
        "direction_deg": [np.nan if p.get("direction_deg") is None else p["direction_deg"] for p in points],
        "fov_deg": [360.0 if p.get("fov_deg") is None else p["fov_deg"] for p in points]}))


def _audit(conn: Connection, place: queries.Place, cameras: pd.DataFrame, since: datetime,
           until: datetime) -> pd.DataFrame:
    """The entrances the audit lists as unmanaged or ungated, with their risk."""
    burgled = queries.burglaries(conn, place, since=since, until=until, radius_m=BURGLARY_RADIUS_M)
    return unguarded_entrances(queries.audited_entrances(conn, place), cameras, burgled)


def place_demand(conn: Connection, place: queries.Place, cameras: pd.DataFrame, which: IncidentFilter,
                 weights: DemandWeights) -> pd.DataFrame:
    """What new cameras would guard in the place (``geo.siting.camera_demand``), ``cameras``
    being the working ones that see into it. The incidents that count are those ``which``
    selects (days, types, hours); the audit's burglaries near an entrance, those of its days."""
    found, burgled = incident_queries.incidents_and_burglaries(conn, place, which)
    return camera_demand(_audit(conn, place, cameras, which.since, which.until), found, burgled, cameras, weights)


def _about(place: queries.Place, since: datetime, until: datetime, weights: DemandWeights, k: int) -> dict:
    return {"place": place.code, "k": k, "since": since.isoformat(), "until": until.isoformat(),
            "weights": weights.describe()}


def _shares(result: Siting, greedy: Siting) -> dict:
    return {"total_weight": _round(result.total_weight), "already_share": _round(result.already_share, 4),
            "covered_share": _round(result.covered_share, 4), "newly_share": _round(result.newly_share, 4),
            "bound_share": _round((result.already_covered + result.bound) / result.total_weight, 4)
            if result.total_weight else 0.0,
            "gap": _round(result.gap, 6), "status": result.status,
            "greedy": {"covered_share": _round(greedy.covered_share, 4),
                       "newly_share": _round(greedy.newly_share, 4)}}


def solve(coverage: Coverage, k: int, time_limit_s: float) -> tuple[Siting, Siting, dict]:
    """The exact choice of k sites, the greedy one beside it, and how long each took."""
    started = time.perf_counter()
    greedy = greedy_sites(coverage, k)
    greedy_s = time.perf_counter() - started
    result = choose_sites(coverage, k, time_limit_s=time_limit_s)
    return result, greedy, {"greedy_s": _round(greedy_s, 3),
                            "exact_s": _round(time.perf_counter() - started - greedy_s, 3)}


def camera_plan(conn: Connection, place: queries.Place, candidates: Candidates, *, k: int, range_m: float,
                which: IncidentFilter, weights: DemandWeights, time_limit_s: float) -> dict:
    """k new camera sites among the candidates, for the place's demand (``place_demand``), as
    GeoJSON in lon/lat with a summary."""
    started = time.perf_counter()
    since, until = which.since, which.until
    cameras = queries.cameras(conn, place)
    demand = place_demand(conn, place, cameras, which, weights)
    coverage = camera_coverage(demand, candidates.frame, range_m=range_m)
    model_s = time.perf_counter() - started
    result, greedy, seconds = solve(coverage, k, time_limit_s)

    sites = chosen_sites(result, candidates.frame, demand, coverage)
    points = to_lonlat(shapely.points(sites["x"].to_numpy(), sites["y"].to_numpy()), place.srid)
    features = [_feature(point, feature="camera_site", rank=int(site.rank), gain=_round(site.gain),
                         gain_share=_round(site.gain_share, 4), entrances=int(site.entrances),
                         incidents=int(site.incidents), direction_deg=_round(site.direction_deg, 1),
                         fov_deg=_round(site.fov_deg, 1), range_m=range_m)
                for point, site in zip(points, sites.itertuples())]
    kinds = demand["kind"].value_counts()
    summary = {**_about(place, since, until, weights, k), "candidates": candidates.kind,
               "candidate_sites": len(candidates.frame), "range_m": range_m, "existing_cameras": len(cameras),
               "demand": {"entrances": int(kinds["entrance"]), "incidents": int(kinds["incident"]),
                          "burglaries": int(kinds["burglary"])},
               "model_groups": len(coverage.weight), **_shares(result, greedy),
               "seconds": {"model_s": _round(model_s, 3), **seconds}}
    return {"type": "FeatureCollection", "features": features, "summary": summary}


def gate_plan(conn: Connection, place: queries.Place, *, k: int, since: datetime, until: datetime,
              weights: DemandWeights, time_limit_s: float) -> dict:
    """Which buildings gain the most from an access-control gate: each building's ungated
    entrances, weighted as for cameras; a gate guards all of its building's entrances."""
    doors = _audit(conn, place, queries.cameras(conn, place), since, until)
    doors = doors[~doors["access_control"].to_numpy(bool)]
    buildings = doors.assign(weight=weights.entrance * (1 + doors["risk"].astype(float))).groupby(
        "building_id", as_index=False).agg(weight=("weight", "sum"), entrances=("id", "size"),
                                           households=("households", "sum"), managed=("managed", "first"))
    coverage = gate_coverage(buildings.assign(access_control=False))
    result, greedy, seconds = solve(coverage, k, time_limit_s)
    chosen = buildings.iloc[result.sites]
    shapes = queries.buildings_by_id(conn, chosen["building_id"])
    features = [{"type": "Feature", "geometry": json.loads(shape.geojson), "properties": {
                    "feature": "gate_building", "rank": rank, "building_id": int(row.building_id),
                    "address": shape.address, "name": shape.name, "gain": _round(gain),
                    "gain_share": _round(gain / result.total_weight, 4), "entrances": int(row.entrances),
                    "households": int(row.households), "managed": bool(row.managed)}}
                for rank, (gain, row, shape) in enumerate(zip(result.gains, chosen.itertuples(),
                                                              shapes.itertuples()), start=1)]
    summary = {**_about(place, since, until, weights, k), "ungated_entrances": len(doors),
               "buildings_without_gates": len(buildings), **_shares(result, greedy), "seconds": seconds}
    return {"type": "FeatureCollection", "features": features, "summary": summary}


def _feature(geometry, **properties) -> dict:
    return {"type": "Feature", "geometry": shapely.geometry.mapping(geometry), "properties": properties}


def _round(value, digits: int = 2):
    return None if value is None or pd.isna(value) else round(float(value), digits)
