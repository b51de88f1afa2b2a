"""Plan new cameras and access-control gates for one place and shape the answers as GeoJSON.

The database supplies entrances, cameras, incidents and streets (``db/``), ``geo/siting.py``
chooses the sites; this module builds the demand both plans weigh and turns metres back into
longitude/latitude.

The demand is what the planner's map shows: the entrances the audit lists as unmanaged or
ungated (each weighing 1 plus its audit risk), and for cameras also the incidents of the
period (a burglary weighing more).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection

from db import analysis as queries
from db import incidents as incident_queries
from db.incidents import IncidentFilter, Incidents
from geo.cameras import seen_by_any
from geo.crs import to_lonlat, to_metric
from geo.entrance_audit import RiskWeights, entrance_audit
from geo.siting import (
    Coverage,
    Siting,
    camera_coverage,
    choose_sites,
    gate_coverage,
    greedy_sites,
    points_along,
)

BURGLARY_RADIUS_M = 100.0  # burglaries this near an entrance add to its audit risk
CAMERA_COLUMNS = ("x", "y", "direction_deg", "fov_deg", "range_m")


@dataclass(frozen=True)
class DemandWeights:
    """What each thing a new camera or gate could guard weighs."""

    entrance: float = 1.0  # an unmanaged or ungated entrance, times (1 + its audit risk)
    incident: float = 1.0  # an incident of the period
    burglary: float = 2.0  # added to a burglary's weight as an incident

    def describe(self) -> str:
        risk = RiskWeights()
        return (f"{self.entrance:g} x (1 + audit risk) per unmanaged or ungated entrance, the audit risk being "
                f"{risk.households:g} x households behind it + {risk.living_alone:g} x residents living alone "
                f"+ {risk.burglaries:g} x burglaries within {BURGLARY_RADIUS_M:g} m in the period; "
                f"{self.incident:g} per incident, {self.incident + self.burglary:g} per burglary")


@dataclass(frozen=True)
class Candidates:
    """Where new cameras could go: x, y in metres, and each one's direction and field of view."""

    kind: str  # "streets", "entrances" or "points"
    frame: pd.DataFrame  # x, y, direction_deg, fov_deg


def street_candidates(conn: Connection, place: queries.Place, spacing_m: float) -> Candidates:
    x, y = points_along(queries.streets(conn, place)["geometry"].to_numpy(), spacing_m)
    return Candidates("streets", _all_round(x, y))


def entrance_candidates(conn: Connection, place: queries.Place) -> Candidates:
    doors = queries.entrances(conn, place)
    return Candidates("entrances", _all_round(doors["x"].to_numpy(), doors["y"].to_numpy()))


def point_candidates(place: queries.Place, points: list[dict]) -> Candidates:
    """Points the planner gave: lon, lat and optionally direction_deg and fov_deg."""
    lon = np.array([p["lon"] for p in points], dtype=float)
    lat = np.array([p["lat"] for p in points], dtype=float)
    x, y = to_metric(lon, lat, place.srid)
    return Candidates("points", pd.DataFrame({
        "x": x, "y": y,
        "direction_deg": [np.nan if p.get("direction_deg") is None else p["direction_deg"] for p in points],
        "fov_deg": [360.0 if p.get("fov_deg") is None else p["fov_deg"] for p in points]}))


def _all_round(x, y) -> pd.DataFrame:
    # Sites of our own making have no direction to point in: domes that see all round.
    return pd.DataFrame({"x": x, "y": y, "direction_deg": np.nan, "fov_deg": 360.0})


def _audit(conn: Connection, place: queries.Place, cameras: pd.DataFrame, since: datetime,
           until: datetime) -> pd.DataFrame:
    """The entrances the audit lists as unmanaged or ungated, with their risk."""
    doors = queries.audited_entrances(conn, place)
    burgled = queries.burglaries(conn, place, since=since, until=until, radius_m=BURGLARY_RADIUS_M)
    listed = entrance_audit(doors, cameras, burgled, np.zeros(len(doors), dtype=int),
                            burglary_radius_m=BURGLARY_RADIUS_M)
    return listed[listed["reasons"].map(lambda rs: "unmanaged" in rs or "no_access_control" in rs)]


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


def _solve(coverage: Coverage, k: int, time_limit_s: float) -> tuple[Siting, Siting, dict]:
    started = time.perf_counter()
    greedy = greedy_sites(coverage, k)
    greedy_s = time.perf_counter() - started
    result = choose_sites(coverage, k, time_limit_s=time_limit_s)
    return result, greedy, {"greedy_s": _round(greedy_s, 3),
                            "exact_s": _round(time.perf_counter() - started - greedy_s, 3)}


def camera_plan(conn: Connection, place: queries.Place, candidates: Candidates, *, k: int, range_m: float,
                which: IncidentFilter, weights: DemandWeights, time_limit_s: float) -> dict:
    """The incidents that count are those ``which`` selects (days, types, hours); the audit's
    burglaries near an entrance, those of its days."""
    started = time.perf_counter()
    since, until = which.since, which.until
    cameras = queries.cameras(conn, place)
    existing = [cameras[c].to_numpy(dtype=float) for c in CAMERA_COLUMNS]
    doors = _audit(conn, place, cameras, since, until)
    found = incident_queries.incidents(conn, place, which)
    burgled = (incident_queries.incidents(conn, place, replace(which, types=("burglary",)))
               if not which.types or "burglary" in which.types else Incidents(np.zeros(0), np.zeros(0), None))
    # A burglary is demand twice: once as an incident, once for being a burglary.
    kinds = np.repeat(["entrance", "incident", "burglary"], [len(doors), len(found), len(burgled)])
    x = np.concatenate([doors["x"].to_numpy(dtype=float), found.x, burgled.x])
    y = np.concatenate([doors["y"].to_numpy(dtype=float), found.y, burgled.y])
    weight = np.concatenate([weights.entrance * (1 + doors["risk"].to_numpy(dtype=float)),
                             np.full(len(found), weights.incident), np.full(len(burgled), weights.burglary)])
    watched = np.concatenate([~doors["reasons"].map(lambda rs: "no_camera" in rs).to_numpy(bool),
                              seen_by_any(np.r_[found.x, burgled.x], np.r_[found.y, burgled.y], *existing)])
    demand = pd.DataFrame({"x": x, "y": y, "weight": weight, "already_covered": watched})
    coverage = camera_coverage(demand, candidates.frame, range_m=range_m)
    model_s = time.perf_counter() - started
    result, greedy, seconds = _solve(coverage, k, time_limit_s)

    sites = candidates.frame.iloc[result.sites]
    points = to_lonlat(shapely.points(sites["x"].to_numpy(), sites["y"].to_numpy()), place.srid)
    features, before = [], np.zeros(len(demand), dtype=bool)
    for rank, (point, gain, site) in enumerate(zip(points, result.gains, sites.itertuples()), start=1):
        covered = coverage.newly_covered(result.sites[:rank])
        added, before = covered & ~before, covered
        features.append(_feature(
            point, feature="camera_site", rank=rank, gain=_round(gain),
            gain_share=_round(gain / result.total_weight, 4),
            entrances=int((added & (kinds == "entrance")).sum()),
            incidents=int((added & (kinds == "incident")).sum()),
            direction_deg=_round(site.direction_deg, 1), fov_deg=_round(site.fov_deg, 1), range_m=range_m))
    summary = {**_about(place, since, until, weights, k), "candidates": candidates.kind,
               "candidate_sites": len(candidates.frame), "range_m": range_m, "existing_cameras": len(cameras),
               "demand": {"entrances": len(doors), "incidents": len(found), "burglaries": len(burgled)},
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
    result, greedy, seconds = _solve(coverage, k, time_limit_s)
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
