"""The SQL of safety education: campaigns, and per building what the targeting weighs."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from sqlalchemy import Connection, text

from db.analysis import Place, place_frame


def building_risks(conn: Connection, place: Place, *, topic: str, since: datetime, until: datetime,
                   radius_m: float) -> pd.DataFrame:
    """Per building in the place: residents aged 70 and over, incidents of the topic within the
    radius in [since, until), and whether a campaign on the topic was held within the radius then."""
    return place_frame(conn, """
        SELECT b.id, b.address, b.name, ST_X(ST_PointOnSurface(b.geom)) AS lon, ST_Y(ST_PointOnSurface(b.geom)) AS lat,
               (SELECT count(*) FROM resident_fact r
                 WHERE r.building_id = b.id AND extract(year FROM current_date) - r.birth_year >= 70) AS elderly,
               (SELECT count(*) FROM incident i WHERE i.type = :topic
                 AND i.occurred_at >= :since AND i.occurred_at < :until
                 AND ST_DWithin(i.geom::geography, b.geom::geography, :radius)) AS cases,
               EXISTS (SELECT 1 FROM campaign c WHERE c.topic = :topic AND c.geom IS NOT NULL
                 AND c.held_on >= CAST(:since AS date) AND c.held_on < CAST(:until AS date)
                 AND ST_DWithin(c.geom::geography, b.geom::geography, :radius)) AS reached
        FROM building b JOIN {place} p ON ST_Intersects(b.geom, p.geom)
    """, {"place": place.wkb, "topic": topic, "since": since, "until": until, "radius": radius_m})


def add_campaign(conn: Connection, *, kind: str, topic: str, held_on: date, place: str | None,
                 audience: str | None, audience_size: int | None, lon: float, lat: float) -> int:
    return conn.execute(text("""
        INSERT INTO campaign (kind, topic, held_on, place, audience, audience_size, geom)
        VALUES (:kind, :topic, :held_on, :place, :audience, :size, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
        RETURNING id
    """), {"kind": kind, "topic": topic, "held_on": held_on, "place": place, "audience": audience,
           "size": audience_size, "lon": lon, "lat": lat}).scalar_one()


def campaigns(conn: Connection, place: Place, *, limit: int, offset: int) -> pd.DataFrame:
    """The campaigns held in the place, latest first."""
    return place_frame(conn, """
        SELECT c.id, c.kind, c.topic, c.held_on, c.place, c.audience, c.audience_size,
               ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat
        FROM campaign c JOIN {place} p ON ST_Intersects(c.geom, p.geom)
        ORDER BY c.held_on DESC, c.id DESC LIMIT :limit OFFSET :offset
    """, {"place": place.wkb, "limit": limit, "offset": offset})
