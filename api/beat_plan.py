"""Propose a new division of some beats into k and shape it, with the old one beside it, as GeoJSON.

The units are the blocks the streets cut the beats into (``db/workload.py``); each block weighs
what the workload measures count in it, each against its mean over the blocks and weighted as
for the beats' workload; ``geo/beat_plan.py`` divides them.
"""

from __future__ import annotations

from datetime import date, datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from db import workload as queries
from geo.beat_plan import joined_blocks, plan_beats
from geo.crs import to_lonlat
from geo.workload import workload


def beat_codes(conn: Connection) -> list[str]:
    return list(conn.execute(text("SELECT code FROM beat ORDER BY code")).scalars())


def _current_officers(conn: Connection, codes: list[str]) -> pd.Series:
    """Today's officer (badge) of each of the beats."""
    rows = conn.execute(text("""
        SELECT o.badge, b.code FROM officer_beat ob JOIN officer o ON o.id = ob.officer_id
        JOIN beat b ON b.id = ob.beat_id
        WHERE b.code = ANY(:codes) AND ob.valid_from <= current_date
          AND (ob.valid_to IS NULL OR ob.valid_to >= current_date)
        ORDER BY o.badge
    """), {"codes": codes}).all()
    return pd.Series({badge: code for badge, code in rows}, dtype=object)


def beat_plan_answer(conn: Connection, codes: list[str], *, k: int, weights: dict, srid: int, since: datetime,
                     until: datetime, as_of: date, afresh: bool) -> dict:
    beats = queries.beat_measures(conn, since=since, until=until, as_of=as_of)
    beats = beats[beats["code"].isin(codes)].reset_index(drop=True)
    wkbs = queries.blocks(conn, codes)
    if not wkbs:
        raise ValueError("the beats have no blocks: they hold no streets to cut them into blocks")
    loads = workload(queries.polygon_measures(conn, wkbs, since=since, until=until, as_of=as_of),
                     weights)["workload"].to_numpy()
    units = gpd.GeoSeries(shapely.from_wkb(wkbs), crs=4326)
    # Each block is today in the beat holding a point of it.
    outlines = shapely.from_geojson(beats["geojson"].to_numpy())
    inside, beat = shapely.STRtree(outlines).query(units.representative_point().to_numpy(), predicate="within")
    current = np.full(len(units), None, dtype=object)
    current[inside] = beats["code"].to_numpy()[beat]
    metric = units.to_crs(srid)
    plan = plan_beats(metric, loads, k, current=current, officers=_current_officers(conn, codes),
                      neighbours=joined_blocks(metric), afresh=afresh)
    metric = metric.to_numpy()
    shapes = [shapely.union_all(metric[plan.labels == b]) for b in plan.beats.index]
    features = [{"type": "Feature", "geometry": shapely.geometry.mapping(shape),
                 "properties": {"beat": f"N{b + 1}", "load": round(float(row.load), 2),
                                "share_of_mean": round(float(row.share_of_mean), 3), "units": int(row.units),
                                "area_km2": round(float(row.area_km2), 3),
                                "polsby_popper": round(float(row.polsby_popper), 3)}}
                for b, row, shape in zip(plan.beats.index, plan.beats.itertuples(), to_lonlat(shapes, srid))]
    before = [{"beat": str(code), "share_of_mean": round(float(row.share_of_mean), 3), "units": int(row.units)}
              for code, row in plan.beats_before.iterrows()] if plan.beats_before is not None else []
    officers = [] if plan.officers is None else [
        {"officer": str(badge), "old_beat": row.old_beat, "new_beat": f"N{int(row.new_beat) + 1}",
         "kept": round(float(row.kept), 3)} for badge, row in plan.officers.iterrows()]
    balance = {figure: {"before": _plain(row["before"]), "after": _plain(row["after"])}
               for figure, row in plan.balance.iterrows()}
    return {"type": "FeatureCollection", "features": features, "summary": {
        "beats": codes, "k": k, "blocks": len(units), "incidents_counted": [since.isoformat(), until.isoformat()],
        "weights": weights, "balance": balance, "before": before, "officers": officers,
        "target_ratio": plan.target_ratio, "target_reached": bool(plan.target_reached),
        "ratio_floor": round(float(plan.ratio_floor), 3), "note": plan.note}}


def _plain(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value
