"""Features as the files GIS tools, spreadsheets and GPS phones read: GeoPackage, GeoJSON, CSV
(geometry as WKT), XLSX and GPX (tracks with their times, waypoints). Pure: a GeoDataFrame, or
a GeoJSON FeatureCollection, in; bytes out."""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import gpxpy.gpx
import pandas as pd
import shapely

# format: (media type, file suffix)
FORMATS = {
    "gpkg": ("application/geopackage+sqlite3", "gpkg"),
    "geojson": ("application/geo+json", "geojson"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "gpx": ("application/gpx+xml", "gpx"),
}
# GPX is what GPS apps read: tracks, with each point's time; these layers are such lines.
GPX_LAYERS = ("patrol_tracks",)
# A cell starting like this is a formula to a spreadsheet program; an apostrophe makes it text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SUMMARY_SHEET = "summary"


def export_bytes(frame: gpd.GeoDataFrame, fmt: str, layer: str, *, summary: dict | None = None) -> bytes:
    """The frame written in ``fmt`` (a key of FORMATS), its layer (GeoPackage) or sheet (XLSX)
    named ``layer``.

    ``summary`` (what an analysis says about its answer as a whole) goes into the GeoPackage
    layer's metadata, one item per key, and onto a second sheet of an XLSX; a CSV and a GeoJSON
    file hold the features only. GPX takes lines only: each row is a track, each part a segment,
    an M value (epoch seconds) a point's time; GeoPackage and GeoJSON leave M out.
    """
    if fmt == "gpx":
        return gpx_text(_frame_tracks(frame, layer)).encode("utf-8")
    if fmt in ("gpkg", "geojson"):
        metadata = None if summary is None or fmt != "gpkg" else {k: _text(v) for k, v in summary.items()}
        if frame.geometry.has_m.any():
            # GeoJSON has no M, and GDAL does not read the M of shapely's WKB, which is what
            # pyogrio hands it: the lines go flat; each point's time goes out in GPX (and WKT).
            frame = frame.set_geometry(frame.geometry.force_2d())
        # pyogrio writes to paths: a GeoPackage is a SQLite file.
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{layer}.{fmt}"
            frame.to_file(path, driver="GPKG" if fmt == "gpkg" else "GeoJSON",
                          layer=layer if fmt == "gpkg" else None, metadata=metadata)
            return path.read_bytes()
    table = frame.assign(geometry_wkt=frame.geometry.to_wkt()).drop(columns=frame.geometry.name)
    for name in table.select_dtypes(include=["object", "string"]).columns:
        table[name] = table[name].map(_as_text)
    if fmt == "csv":
        return table.to_csv(index=False).encode("utf-8-sig")  # Excel reads the UTF-8 as such
    out = io.BytesIO()
    # Excel keeps no time zone: times go as they are in UTC, without their offset.
    for name in table.columns:
        if hasattr(table[name], "dt") and getattr(table[name].dt, "tz", None) is not None:
            table[name] = table[name].dt.tz_convert("UTC").dt.tz_localize(None)
    with pd.ExcelWriter(out, engine="openpyxl") as book:
        table.to_excel(book, index=False, sheet_name=layer[:31])
        if summary is not None:
            values = [_as_text(_text(v) if isinstance(v, dict | list) else v) for v in summary.values()]
            pd.DataFrame({"name": list(summary), "value": values}).to_excel(book, index=False,
                                                                              sheet_name=SUMMARY_SHEET)
    return out.getvalue()


def collection_frame(collection: dict) -> gpd.GeoDataFrame:
    """A GeoJSON FeatureCollection's features as a frame in EPSG:4326: a column ``id`` if the
    features have ids (a property of that name wins), then one column per property in the order
    they first come; lists, objects and geometries among the values as JSON text."""
    features = collection["features"]
    rows = [{**({"id": f["id"]} if "id" in f else {}), **f["properties"]} for f in features]
    table = pd.DataFrame.from_records(rows, index=range(len(rows)))
    for name in table.columns:
        if table[name].map(lambda v: isinstance(v, dict | list)).any():
            table[name] = table[name].map(lambda v: _text(v) if isinstance(v, dict | list) else v)
    shapes = [None if f["geometry"] is None else shapely.geometry.shape(f["geometry"]) for f in features]
    return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(shapes, index=table.index), crs="EPSG:4326")


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _as_text(value):
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


# --- GPX -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GpxTrack:
    """A track (<trk>): segments of (lon, lat) or (lon, lat, epoch seconds) vertices."""

    name: str
    segments: Sequence[Sequence[Sequence[float]]]
    description: str | None = None
    number: int | None = None


@dataclass(frozen=True)
class GpxWaypoint:
    lon: float
    lat: float
    name: str
    description: str | None = None


def gpx_text(tracks: Iterable[GpxTrack], waypoints: Iterable[GpxWaypoint] = ()) -> str:
    """A GPX 1.1 document of the waypoints and tracks, for a phone or a GPS app."""
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "Beatbook"
    for point in waypoints:
        gpx.waypoints.append(gpxpy.gpx.GPXWaypoint(point.lat, point.lon, name=point.name,
                                                   description=point.description))
    for track in tracks:
        trk = gpxpy.gpx.GPXTrack(name=track.name, description=track.description)
        trk.number = track.number
        for vertices in track.segments:
            trk.segments.append(gpxpy.gpx.GPXTrackSegment([
                gpxpy.gpx.GPXTrackPoint(v[1], v[0], time=datetime.fromtimestamp(v[2], UTC) if len(v) > 2 else None)
                for v in vertices]))
        gpx.tracks.append(trk)
    return gpx.to_xml()


def _frame_tracks(frame: gpd.GeoDataFrame, layer: str) -> list[GpxTrack]:
    """Each row of lines as a track numbered and named by its id, its other columns as the
    description."""
    attributes = frame.drop(columns=[frame.geometry.name, "id"]).to_dict("records")
    tracks = []
    for feature_id, shape, about in zip(frame["id"], frame.geometry, attributes, strict=True):
        if shape is None or shape.geom_type not in ("LineString", "MultiLineString"):
            raise ValueError(f"GPX holds tracks, which are lines: not a {shape and shape.geom_type}")
        parts = shape.geoms if shape.geom_type == "MultiLineString" else [shape]
        tracks.append(GpxTrack(
            name=f"{layer} {feature_id}", number=int(feature_id),
            description="; ".join(f"{k}: {_plain(v)}" for k, v in about.items()) or None,
            segments=[shapely.get_coordinates(part, include_m=part.has_m) for part in parts]))
    return tracks


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value
