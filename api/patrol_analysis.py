"""Run the patrol analyses for one beat and shape their answers as GeoJSON.

The database supplies the inputs (``db/analysis.py``), ``geo/`` computes; this
module only joins the two and turns metres back into longitude/latitude.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Connection

from db import analysis as queries
from geo.coverage import point_passes
from geo.entrance_audit import REASONS, RiskWeights, entrance_audit
from geo.patrol_gaps import Nights, night_pieces, patrol_gaps


@dataclass(frozen=True)
class GapParams:
    nights: Nights
    radius_m: float


def _pieces(conn: Connection, place: queries.Place, params: GapParams):
    """The track pieces walked in the nights' windows near the place."""
    nights = params.nights
    # A generous UTC range around the nights; the exact cut is made on each piece's times.
    since = datetime.combine(nights.first, datetime.min.time(), timezone.utc) - timedelta(days=1)
    until = datetime.combine(nights.last, datetime.min.time(), timezone.utc) + timedelta(days=3)
    vertices = queries.track_vertices(conn, place, since=since, until=until, radius_m=params.radius_m)
    return night_pieces(vertices, nights)


def _about(place: queries.Place, params: GapParams) -> dict:
    """What every answer says it was asked."""
    nights = params.nights
    return {"beat": place.code, "nights": [nights.first.isoformat(), nights.last.isoformat()],
            "window": str(nights.window), "timezone": nights.tz, "radius_m": params.radius_m}


def _iso(epoch_s) -> str | None:
    if epoch_s is None or pd.isna(epoch_s):
        return None
    return datetime.fromtimestamp(float(epoch_s), timezone.utc).isoformat(timespec="seconds")


def _round(value, digits: int = 2):
    return None if value is None or pd.isna(value) else round(float(value), digits)


def _revisit_properties(row) -> dict:
    return {"passes": int(row.passes), "last_pass": _iso(row.last_pass),
            "mean_gap_h": _round(row.mean_gap_h), "max_gap_h": _round(row.max_gap_h)}


def patrol_gap_features(conn: Connection, place: queries.Place, params: GapParams, *,
                        with_passed: bool) -> dict:
    pieces = _pieces(conn, place, params)
    streets = queries.streets(conn, place)
    focus = queries.focus_areas(conn, place)
    doors = queries.entrances(conn, place)
    result = patrol_gaps(streets, focus.drop(columns="geojson"), doors[["id", "x", "y"]], pieces,
                         params.nights, radius_m=params.radius_m)

    features = []
    gaps = gpd.GeoSeries(result.gaps["geometry"].to_numpy(), crs=place.srid).to_crs(4326)
    for row, geom in zip(result.gaps.itertuples(index=False), gaps):
        features.append(_feature("street_gap", geom.__geo_interface__, street_id=int(row.street_id),
                                 from_m=_round(row.from_m, 1), to_m=_round(row.to_m, 1),
                                 length_m=_round(row.length_m, 1)))
    for row, shape in zip(result.focus_areas.itertuples(index=False), focus["geojson"]):
        if with_passed or row.passes == 0:
            features.append(_feature("focus_area", json.loads(shape), id=int(row.id), kind=row.kind,
                                     name=row.name, priority=float(row.priority),
                                     length_m=_round(row.length_m, 1), covered_m=_round(row.covered_m, 1),
                                     **_revisit_properties(row)))
    for row, (lon, lat) in zip(result.entrances.itertuples(index=False), doors[["lon", "lat"]].to_numpy()):
        if with_passed or row.passes == 0:
            features.append(_feature("entrance", {"type": "Point", "coordinates": [lon, lat]},
                                     id=int(row.id), **_revisit_properties(row)))
    summary = {**_about(place, params), **result.summary}
    return {"type": "FeatureCollection", "features": features, "summary": summary}


def entrance_audit_features(conn: Connection, place: queries.Place, params: GapParams, *,
                            reason: str | None, burglary_days: int, burglary_radius_m: float,
                            limit: int | None = None, weights: RiskWeights = RiskWeights()) -> dict:
    """The audited entrances, riskiest first; with ``limit``, only the first so many are sent,
    and the summary still counts them all."""
    pieces = _pieces(conn, place, params)
    doors = queries.audited_entrances(conn, place)
    passes = point_passes(doors["x"].to_numpy(), doors["y"].to_numpy(), pieces, params.radius_m)
    counts = np.bincount(passes["target"].to_numpy(), minlength=len(doors))
    burglary_until = datetime.combine(params.nights.last + timedelta(days=1), datetime.min.time(),
                                      timezone.utc)
    burglary_since = burglary_until - timedelta(days=burglary_days)
    burgled = queries.burglaries(conn, place, since=burglary_since, until=burglary_until,
                                 radius_m=burglary_radius_m)
    audit = entrance_audit(doors, queries.cameras(conn, place), burgled, counts,
                           burglary_radius_m=burglary_radius_m, weights=weights)
    by_reason = {r: int(audit["reasons"].map(lambda rs, r=r: r in rs).sum()) for r in REASONS}
    if reason:
        audit = audit[audit["reasons"].map(lambda rs: reason in rs)]
    features = [
        _feature("entrance", {"type": "Point", "coordinates": [row.lon, row.lat]}, id=int(row.id),
                 rank=rank, reasons=list(row.reasons), passed=bool(row.passed), passes=int(row.passes),
                 households=int(row.households), living_alone=int(row.living_alone),
                 burglaries_near=int(row.burglaries_near), risk=_round(row.risk))
        for rank, row in enumerate(audit.head(limit).itertuples(index=False), start=1)
    ]
    summary = {**_about(place, params), "risk": weights.describe(burglary_radius_m, burglary_days),
               "burglaries_counted": [burglary_since.date().isoformat(), params.nights.last.isoformat()],
               "entrances_in_beat": len(doors), "listed_by_reason": by_reason,
               "listed": len(audit), "sent": len(features), "unpassed": int((~audit["passed"]).sum())}
    return {"type": "FeatureCollection", "features": features, "summary": summary}


def _feature(feature: str, geometry: dict, **properties) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": {"feature": feature, **properties}}


def default_nights(conn: Connection, place: queries.Place, start: date | None,
                   end: date | None) -> tuple[date, date]:
    """The nights asked for; by default the week up to the last night with patrol data."""
    if end is None:
        last = queries.last_patrol_night_end(conn, place)
        end = (last - timedelta(hours=12)).date() if last else date.today() - timedelta(days=1)
    return (start or end - timedelta(days=6)), end
