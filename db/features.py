"""The SQL of reading layers as GeoJSON features: bounded by a box, paged by id."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, column, func, literal_column, select, table, text

from db.layers import Layer

# Seven decimals of a degree are about a centimetre: finer than any source here.
PRECISION = 7


def read_features(
    conn: Connection,
    layer: Layer,
    *,
    bbox: Sequence[float] | None,
    limit: int,
    after: int | None = None,
    columns: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    feature_id: int | None = None,
) -> tuple[list[dict], int | None]:
    """Features of a layer, ordered by id, at most ``limit``; and the id to continue after.

    ``columns``: the attributes to return; by default those that name nobody. ``since`` and
    ``until`` (both ends included, either open): the features whose time overlaps them, for a
    layer whose features happen at a time; others ignore them. ``feature_id``: only that one.
    """
    columns = layer.public_columns if columns is None else tuple(columns)
    source = table(layer.table, column("id"), column("geom"), *map(column, columns))
    query = select(
        source.c.id,
        func.ST_AsGeoJSON(source.c.geom, PRECISION).label("geometry"),
        *(source.c[name] for name in columns),
    ).order_by(source.c.id).limit(limit + 1)
    if bbox is not None:
        envelope = func.ST_MakeEnvelope(*bbox, 4326)
        query = query.where(source.c.geom.op("&&")(envelope), func.ST_Intersects(source.c.geom, envelope))
    if after is not None:
        query = query.where(source.c.id > after)
    if feature_id is not None:
        query = query.where(source.c.id == feature_id)
    if layer.time_span is not None:
        starts, ends = (column(name) for name in layer.time_span)
        if until is not None:
            query = query.where(starts <= until)
        if since is not None:
            query = query.where(ends >= since)
    rows = conn.execute(query).mappings().all()
    more = len(rows) > limit
    rows = rows[:limit]
    features = [
        {
            "type": "Feature",
            "id": row["id"],
            "geometry": json.loads(row["geometry"]),
            "properties": {name: _jsonable(row[name]) for name in columns},
        }
        for row in rows
    ]
    return features, (rows[-1]["id"] if more else None)


def read_feature(conn: Connection, layer: Layer, feature_id: int, *,
                 columns: Sequence[str] | None = None) -> dict | None:
    """One feature of a layer by id, or None."""
    features, _ = read_features(conn, layer, bbox=None, limit=1, columns=columns, feature_id=feature_id)
    return features[0] if features else None


def layer_extent(conn: Connection, layer: Layer) -> list[float] | None:
    box = conn.execute(
        select(
            func.ST_XMin(literal_column("e")), func.ST_YMin(literal_column("e")),
            func.ST_XMax(literal_column("e")), func.ST_YMax(literal_column("e")),
        ).select_from(
            select(func.ST_Extent(column("geom")).label("e")).select_from(table(layer.table)).subquery()
        )
    ).one()
    return None if box[0] is None else [float(v) for v in box]


def _jsonable(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def layer_frame(conn: Connection, layer: Layer, *, columns: Sequence[str] | None = None,
                bbox: Sequence[float] | None = None):
    """The layer (within ``bbox``, if given) as a GeoDataFrame in EPSG:4326, for export, with
    ``columns`` (by default all)."""
    import geopandas as gpd

    columns = layer.columns if columns is None else tuple(columns)
    source = table(layer.table, column("id"), column("geom"), *map(column, columns))
    query = select(source.c.id, *(source.c[name] for name in columns), source.c.geom).order_by(source.c.id)
    if bbox is not None:
        envelope = func.ST_MakeEnvelope(*bbox, 4326)
        query = query.where(source.c.geom.op("&&")(envelope), func.ST_Intersects(source.c.geom, envelope))
    return gpd.read_postgis(query, conn, geom_col="geom", crs="EPSG:4326")


def data_credits(conn: Connection) -> list[str]:
    """What the map must say about where its data comes from."""
    osm, synthetic = conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM building WHERE osm_id IS NOT NULL)"
        "    OR EXISTS (SELECT 1 FROM street_segment WHERE osm_id IS NOT NULL),"
        "       EXISTS (SELECT 1 FROM building WHERE synthetic)"
        "    OR EXISTS (SELECT 1 FROM household_point WHERE synthetic)"
        "    OR EXISTS (SELECT 1 FROM incident WHERE synthetic)"
    )).one()
    credits = []
    if osm:
        credits.append("Buildings and streets © OpenStreetMap contributors (ODbL)")
    if synthetic:
        credits.append("synthetic demo data")
    return credits
