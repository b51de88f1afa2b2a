"""Run the incident analyses for one place and shape their answers as GeoJSON.

The database supplies the incidents (``db/incidents.py``), ``geo/`` computes; this
module joins the two, keeps every grid inside the place, and turns metres back into
longitude/latitude.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection

from db import analysis as queries
from db import incidents as incident_queries
from db.incidents import IncidentFilter, Incidents
from geo.crs import to_lonlat
from geo.density import Density, kernel_density, overlay_png, volume_contours
from geo.hotspot_accuracy import backtest, explain
from geo.incident_units import (
    HOTSPOT_MIN_INSIDE,
    HOTSPOT_MIN_LENGTH_M,
    Units,
    hexagon_units,
    hotspot_table,
    segment_units,
)
from geo.near_repeat import knox, reading
from geo.spikes import spikes

DAY_S = 86_400


# Cells small enough for a street-level picture of a beat; hexagons about a block.
DEFAULT_CELL_M = {"kde": 25.0, "hex": 100.0, "segment": 100.0}


@dataclass(frozen=True)
class Grid:
    """How incidents are gridded: the kind of unit and its size (by default DEFAULT_CELL_M)."""

    method: str  # "kde", "hex" or "segment"
    cell_m: float | None = None
    bandwidth_m: float | None = None
    kernel: str = "quartic"
    snap_m: float = 50.0

    def __post_init__(self):
        if self.cell_m is None:
            object.__setattr__(self, "cell_m", DEFAULT_CELL_M[self.method])


def _about(place: queries.Place, which: IncidentFilter) -> dict:
    """What every answer says it was asked."""
    return {"place": place.code, "since": which.since.isoformat(), "until": which.until.isoformat(),
            "types": list(which.types) or "all", "hours": str(which.hours) if which.hours else "all",
            "weekdays": list(which.weekdays) or "all", "timezone": place.tz}


def _feature(geometry, **properties) -> dict:
    return {"type": "Feature", "geometry": shapely.geometry.mapping(geometry), "properties": properties}


def _number(value, digits: int = 4):
    return None if value is None or pd.isna(value) else round(float(value), digits)


# --- density -------------------------------------------------------------------------------


def place_density(incidents: Incidents, polygon: shapely.Geometry, grid: Grid) -> Density:
    """The kernel density over the place's bounding box, zero outside the place."""
    density = kernel_density(incidents.x, incidents.y, cell_m=grid.cell_m, bandwidth_m=grid.bandwidth_m,
                             kernel=grid.kernel, bounds=polygon.bounds)
    return replace(density, values=np.where(density.inside(polygon), density.values, 0.0))


def _units(conn: Connection, place: queries.Place, polygon: shapely.Geometry, grid: Grid, *,
           for_hotspots: bool = False) -> Units:
    if grid.method == "hex":
        return hexagon_units(polygon, grid.cell_m, min_inside=HOTSPOT_MIN_INSIDE if for_hotspots else 0.0)
    streets = queries.streets(conn, place)
    return segment_units(streets["id"].to_numpy(), streets["geometry"].to_numpy(), snap_m=grid.snap_m,
                         min_length_m=HOTSPOT_MIN_LENGTH_M if for_hotspots else 0.0)


def density_features(conn: Connection, place: queries.Place, which: IncidentFilter, grid: Grid, *,
                     shares: tuple[float, ...]) -> dict:
    polygon = place.metric_polygon()
    found = incident_queries.incidents(conn, place, which)
    summary = {**_about(place, which), "incidents": len(found), "method": grid.method, "cell_m": grid.cell_m}
    if grid.method == "kde":
        density = place_density(found, polygon, grid)
        png, bounds = overlay_png(density, place.srid)
        contours = volume_contours(density, shares=shares)
        shapes = to_lonlat(np.array([c.geometry for c in contours], dtype=object), place.srid)
        features = [_feature(shape, feature="volume_contour", share=c.share, level_per_km2=_number(c.level))
                    for c, shape in zip(contours, shapes) if not shape.is_empty]
        ny, nx = density.values.shape
        summary |= {"kernel": density.kernel, "bandwidth_m": _number(density.bandwidth_m, 1),
                    "bandwidth_rule": density.bandwidth_rule, "grid": [nx, ny],
                    "peak_per_km2": _number(density.values.max(initial=0.0)), "units": "incidents per km2"}
        return {"type": "FeatureCollection", "features": features, "summary": summary,
                "image": {"href": "data:image/png;base64," + base64.b64encode(png).decode(), "bounds": bounds}}
    units = _units(conn, place, polygon, grid)
    counts = units.counts(found.x, found.y)
    shown = np.flatnonzero(counts)
    shapes = to_lonlat(units.geometry[shown], place.srid)
    features = [_feature(shape, feature=units.kind, key=_key(units.key[k]), count=int(counts[k]),
                         rate=_number(units.rates(counts)[k], 2))
                for k, shape in zip(shown, shapes)]
    summary |= {"units": len(units), "units_with_incidents": len(shown), "counted": int(counts.sum()),
                "rate": "per km2" if units.kind == "hexagon" else "per km of street"}
    return {"type": "FeatureCollection", "features": features, "summary": summary}


def _key(key):
    return key if isinstance(key, str) else int(key)


# --- hot spots -----------------------------------------------------------------------------


def hotspot_features(conn: Connection, place: queries.Place, which: IncidentFilter, grid: Grid, *,
                     alpha: float, fdr: bool, permutations: int, with_all: bool) -> dict:
    polygon = place.metric_polygon()
    found = incident_queries.incidents(conn, place, which)
    units = _units(conn, place, polygon, grid, for_hotspots=True)
    counts = units.counts(found.x, found.y)
    table = hotspot_table(units, counts, alpha=alpha, fdr=fdr, permutations=permutations)
    shown = np.arange(len(units)) if with_all else np.flatnonzero(table["label"] != "not significant")
    shapes = to_lonlat(units.geometry[shown], place.srid)
    features = [_feature(shape, feature=units.kind, key=_key(units.key[k]), count=int(counts[k]),
                         rate=_number(table.at[k, "rate"], 2), z=_number(table.at[k, "z"]),
                         p=_number(table.at[k, "p"], 6), p_adjusted=_number(table.at[k, "p_adjusted"], 6),
                         label=table.at[k, "label"])
                for k, shape in zip(shown, shapes)]
    labels = table["label"].value_counts()
    summary = {**_about(place, which), "incidents": len(found), "counted": int(counts.sum()),
               "unit": units.kind, "cell_m": grid.cell_m if units.kind == "hexagon" else None,
               "units": len(units), "hot": int(labels.get("hot", 0)), "cold": int(labels.get("cold", 0)),
               "alpha": alpha, "fdr": "Benjamini-Hochberg" if fdr else "none",
               "p_values": f"{permutations} permutations" if permutations else "normal approximation",
               "method": "Getis-Ord Gi* of incidents per km2 of hexagon" if units.kind == "hexagon"
               else "Getis-Ord Gi* of incidents per km of street, touching segments as neighbours"}
    return {"type": "FeatureCollection", "features": features, "summary": summary}


# --- near repeats --------------------------------------------------------------------------


def near_repeat_answer(conn: Connection, place: queries.Place, which: IncidentFilter, *,
                       space_bands_m, time_bands_days, permutations: int, alpha: float,
                       max_events: int) -> dict:
    found = incident_queries.incidents(conn, place, which, times=True)
    if len(found) > max_events:
        raise ValueError(f"{len(found):,} incidents match; the near-repeat test takes at most "
                         f"{max_events:,}: choose fewer days, types or a smaller place")
    table = knox(found.x, found.y, found.t / DAY_S, space_bands_m=space_bands_m,
                 time_bands_days=time_bands_days, permutations=permutations, alpha=alpha)
    what = " and ".join(which.types) if which.types else "incidents"
    return {"summary": {**_about(place, which), "incidents": len(found), "permutations": permutations,
                        "alpha": alpha},
            "table": _records(table), "reading": reading(table, alpha=alpha, what=what)}


def _records(table: pd.DataFrame) -> list[dict]:
    return [{k: (_number(v, 6) if isinstance(v, float) else v.item() if hasattr(v, "item") else v)
             for k, v in row.items()} for row in table.to_dict("records")]


# --- back-test -----------------------------------------------------------------------------


def accuracy_answer(conn: Connection, place: queries.Place, train: IncidentFilter, test: IncidentFilter,
                    grid: Grid, *, shares: tuple[float, ...]) -> dict:
    """Score a hotspot map of the training period on the test period's incidents."""
    polygon = place.metric_polygon()
    trained = incident_queries.incidents(conn, place, train)
    tested = incident_queries.incidents(conn, place, test)
    if grid.method == "kde":
        density = place_density(trained, polygon, grid)
        # The grid's cells inside the place are the units; the test incidents are counted in them.
        inside = density.inside(polygon)
        predicted, observed = density.values[inside], density.counts(tested.x, tested.y)[inside]
        area = np.full(len(predicted), density.cell_m ** 2)
        made = {"map": f"{density.kernel} kernel density, bandwidth {density.bandwidth_m:.0f} m "
                       f"({density.bandwidth_rule}), cells of {density.cell_m:g} m"}
    else:
        units = hexagon_units(polygon, grid.cell_m)
        predicted, observed = units.counts(trained.x, trained.y), units.counts(tested.x, tested.y)
        area = units.size
        made = {"map": f"incident counts per hexagon of {grid.cell_m:g} m"}
    table = backtest(predicted, observed, area, shares=shares)
    what = " and ".join(train.types) if train.types else "incidents"
    return {"summary": {**_about(place, train), "train": [train.since.isoformat(), train.until.isoformat()],
                        "test": [test.since.isoformat(), test.until.isoformat()],
                        "train_incidents": len(trained), "test_incidents": len(tested), **made},
            "table": _records(table), "explanation": explain(table, what=what)}


# --- spikes --------------------------------------------------------------------------------


def spike_features(conn: Connection, place: queries.Place, which: IncidentFilter, *, unit: str,
                   cell_m: float, period_days: int, periods: int, alpha: float) -> dict:
    """This period (the last ``period_days`` before ``which.until``) against the ``periods`` before it."""
    span = timedelta(days=period_days)
    history_start = which.until - span * (periods + 1)
    found = incident_queries.incidents(conn, place, replace(which, since=history_start), times=True)
    polygon = place.metric_polygon()
    if unit == "beat":
        beats = incident_queries.beats_in(conn, place)
        geometry, keys = shapely.intersection(beats["geometry"].to_numpy(), polygon), beats["code"].to_numpy()
        tree = shapely.STRtree(geometry)
        point, beat = tree.query(shapely.points(found.x, found.y), predicate="intersects")
        where = np.full(len(found), -1)
        where[point] = beat
    else:
        units = hexagon_units(polygon, cell_m)
        geometry, keys, where = units.geometry, units.key, units.assign(found.x, found.y)
    period = np.floor((found.t - history_start.timestamp()) / span.total_seconds()).astype(int)
    ok = (where >= 0) & (period >= 0) & (period <= periods)
    counts = np.zeros((len(keys), periods + 1), dtype=int)
    np.add.at(counts, (where[ok], period[ok]), 1)
    table = spikes(counts[:, -1], counts[:, :-1], alpha=alpha)
    flagged = np.flatnonzero(table["flagged"].to_numpy())
    shapes = to_lonlat(geometry[flagged], place.srid)
    features = [_feature(shape, feature=unit, key=_key(keys[k]), current=int(table.at[k, "current"]),
                         expected=_number(table.at[k, "expected"], 2), ratio=_number(table.at[k, "ratio"], 2),
                         p=_number(table.at[k, "p"], 6), p_adjusted=_number(table.at[k, "p_adjusted"], 6),
                         history=counts[k, :-1].tolist())
                for k, shape in zip(flagged, shapes)]
    summary = {**_about(place, which), "period": [(which.until - span).isoformat(), which.until.isoformat()],
               "period_days": period_days, "history_periods": periods, "incidents": len(found),
               "unit": unit, "units": len(keys),
               "flagged": len(flagged), "alpha": alpha,
               "test": "one-sided Poisson against the mean of the earlier periods, Benjamini-Hochberg across units"}
    return {"type": "FeatureCollection", "features": features, "summary": summary}


def default_dates(conn: Connection, place: queries.Place, start: date | None, end: date | None, *,
                  days: int) -> tuple[date, date]:
    """The dates asked for; by default the ``days`` up to the day of the place's latest incident."""
    if end is None:
        latest = incident_queries.latest_incident(conn, place)
        end = latest.astimezone(ZoneInfo(place.tz)).date() if latest else date.today()
    return (start or end - timedelta(days=days - 1)), end
