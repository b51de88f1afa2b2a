"""The SQL of the disputes register: disputes, their mediations, repeat locations.

A dispute is a *repeat* when another dispute at the same building was reported at most
``days`` days before or after it (90 by default; both dates count, so 90 days apart is a
repeat and 91 is not). A building is a *repeat location* when it has a repeat dispute, that
is two or more disputes reported within ``days`` of each other. Disputes without a building
are never repeats. The flag is a property of the dispute and its building: filters on the
list (beat, status, dates) choose which disputes are shown, not which ones pair up.

Descriptions and mediation outcomes are free text that may name people: the functions here
return them only when asked (``with_text``), and the router asks only for the police roles.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, text

REPEAT_DAYS = 90
OPEN_STATUSES = ("reported", "mediating")
# A dispute is closed, on its ``closed_on``, when it is resolved or referred.
CLOSED_STATUSES = ("resolved", "referred")
# The workflow: a reported dispute is mediated, and a mediation ends resolved or referred.
NEXT_STATUSES = {
    "reported": ("mediating",),
    "mediating": ("resolved", "referred"),
    "resolved": (),
    "referred": (),
}
PRECISION = 7  # decimals of a degree: about a centimetre

# Whether dispute ``d`` has a partner at its building within :days days (inclusive).
_REPEAT = """
    (d.building_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM dispute o
        WHERE o.building_id = d.building_id AND o.id <> d.id
          AND o.reported_on BETWEEN d.reported_on - CAST(:days AS integer)
                                AND d.reported_on + CAST(:days AS integer)))
"""

# Disputes chosen by the list's filters; every filter is off when its parameter is NULL.
_CHOSEN = f"""
    FROM dispute d
    WHERE (CAST(:beat AS text) IS NULL OR EXISTS (
            SELECT 1 FROM beat b WHERE b.code = CAST(:beat AS text) AND ST_Intersects(d.geom, b.geom)))
      AND (CAST(:status AS text) IS NULL OR d.status = CAST(:status AS text))
      AND (CAST(:category AS text) IS NULL OR d.category = CAST(:category AS text))
      AND (CAST(:since AS date) IS NULL OR d.reported_on >= CAST(:since AS date))
      AND (CAST(:until AS date) IS NULL OR d.reported_on <= CAST(:until AS date))
      AND (NOT CAST(:repeat_only AS boolean) OR {_REPEAT})
"""

_FIELDS = f"""
    d.id, ST_AsGeoJSON(d.geom, {PRECISION}) AS geometry, d.building_id, d.category, d.parties_kind,
    d.status, d.referred_to, d.reported_by, d.reported_on, d.closed_on, d.version,
    (SELECT count(*) FROM mediation m WHERE m.dispute_id = d.id) AS mediations,
    {_REPEAT} AS repeat
"""


@dataclass(frozen=True)
class DisputeFilter:
    """Which disputes a list shows; None leaves a filter off. Dates are report dates, inclusive."""

    beat: str | None = None
    status: str | None = None
    category: str | None = None
    since: date | None = None
    until: date | None = None
    repeat_only: bool = False
    days: int = REPEAT_DAYS

    def params(self) -> dict:
        return {"beat": self.beat, "status": self.status, "category": self.category, "since": self.since,
                "until": self.until, "repeat_only": self.repeat_only, "days": self.days}


def _feature(row, *, with_text: bool) -> dict:
    properties = {
        "building_id": row.building_id, "category": row.category, "parties_kind": row.parties_kind,
        "status": row.status, "referred_to": row.referred_to, "reported_by": row.reported_by,
        "reported_on": row.reported_on.isoformat(),
        "closed_on": None if row.closed_on is None else row.closed_on.isoformat(), "version": row.version,
        "mediations": row.mediations, "repeat": row.repeat,
    }
    if with_text:
        properties["description"] = row.description
    return {"type": "Feature", "id": row.id, "geometry": json.loads(row.geometry), "properties": properties}


def list_disputes(conn: Connection, which: DisputeFilter, *, limit: int,
                  after: int | None = None) -> tuple[list[dict], int | None]:
    """A page of disputes as GeoJSON features (lon, lat), by id; and the id to continue after.

    No free text: a description is read one dispute at a time (``dispute``).
    """
    rows = conn.execute(text(f"""
        SELECT {_FIELDS} {_CHOSEN}
          AND (CAST(:after AS bigint) IS NULL OR d.id > CAST(:after AS bigint))
        ORDER BY d.id LIMIT :limit
    """), {**which.params(), "after": after, "limit": limit + 1}).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return [_feature(row, with_text=False) for row in rows], (rows[-1].id if more else None)


def dispute(conn: Connection, dispute_id: int, *, with_text: bool, days: int = REPEAT_DAYS) -> dict | None:
    """One dispute as a GeoJSON feature, with its description if ``with_text``."""
    # Planners' database role may not read the description: it is not even asked for.
    free_text = ", d.description" if with_text else ""
    row = conn.execute(text(f"SELECT {_FIELDS}{free_text} FROM dispute d WHERE d.id = :id"),
                       {"id": dispute_id, "days": days}).one_or_none()
    return None if row is None else _feature(row, with_text=with_text)


def mediations(conn: Connection, dispute_id: int, *, with_text: bool) -> list[dict]:
    """The mediations of a dispute, oldest first, with the badge of the officer who held them."""
    rows = conn.execute(text(f"""
        SELECT m.id, m.held_on, m.officer_id, o.badge{", m.outcome" if with_text else ""}
        FROM mediation m LEFT JOIN officer o ON o.id = m.officer_id
        WHERE m.dispute_id = :id ORDER BY m.held_on, m.id
    """), {"id": dispute_id}).all()
    return [{"id": row.id, "held_on": row.held_on.isoformat(), "officer_id": row.officer_id,
             "officer_badge": row.badge, **({"outcome": row.outcome} if with_text else {})}
            for row in rows]


def repeat_locations(conn: Connection, *, beat: str | None, days: int, limit: int,
                     after: int | None = None) -> tuple[list[dict], int | None]:
    """Buildings with a repeat dispute (in the beat, if given), by building id: the building's
    point on its surface, address, how many disputes it has (all, repeats, open) and their
    report dates; and the building id to continue after."""
    which = DisputeFilter(beat=beat, days=days)
    rows = conn.execute(text(f"""
        WITH chosen AS (
            SELECT d.building_id, d.reported_on, d.status, {_REPEAT} AS repeat {_CHOSEN}
              AND d.building_id IS NOT NULL
              AND (CAST(:after AS bigint) IS NULL OR d.building_id > CAST(:after AS bigint))
        )
        SELECT c.building_id, bl.address,
               ST_AsGeoJSON(ST_PointOnSurface(bl.geom), {PRECISION}) AS geometry,
               count(*) AS disputes, count(*) FILTER (WHERE c.repeat) AS repeat_disputes,
               count(*) FILTER (WHERE c.status IN ('reported', 'mediating')) AS open_disputes,
               array_agg(c.reported_on ORDER BY c.reported_on) AS dates
        FROM chosen c JOIN building bl ON bl.id = c.building_id
        GROUP BY c.building_id, bl.address, bl.geom
        HAVING bool_or(c.repeat)
        ORDER BY c.building_id LIMIT :limit
    """), {**which.params(), "after": after, "limit": limit + 1}).all()
    more = len(rows) > limit
    rows = rows[:limit]
    features = [{"type": "Feature", "id": row.building_id, "geometry": json.loads(row.geometry),
                 "properties": {"building_id": row.building_id, "address": row.address,
                                "disputes": row.disputes, "repeat_disputes": row.repeat_disputes,
                                "open_disputes": row.open_disputes,
                                "dates": [d.isoformat() for d in row.dates]}}
                for row in rows]
    return features, (rows[-1].building_id if more else None)


# --- what a change is checked against ------------------------------------------------------


def beat_known(conn: Connection, code: str) -> bool:
    return conn.execute(text("SELECT EXISTS (SELECT 1 FROM beat WHERE code = :c)"), {"c": code}).scalar_one()


def building_known(conn: Connection, building_id: int) -> bool:
    return conn.execute(text("SELECT EXISTS (SELECT 1 FROM building WHERE id = :b)"),
                        {"b": building_id}).scalar_one()


def local_today(conn: Connection) -> date:
    """Today in the area's time zone (UTC while no area is set): no report or mediation is later."""
    return conn.execute(text(
        "SELECT (now() AT TIME ZONE COALESCE((SELECT timezone FROM area WHERE id = 1), 'UTC'))::date"
    )).scalar_one()


@dataclass(frozen=True)
class DisputeState:
    id: int
    status: str
    referred_to: str | None
    reported_on: date
    version: int


def dispute_state(conn: Connection, dispute_id: int, *, lock: bool = False) -> DisputeState | None:
    """A dispute's workflow state; ``lock`` holds the row until the transaction ends."""
    row = conn.execute(text(
        "SELECT id, status, referred_to, reported_on, version FROM dispute WHERE id = :id"
        + (" FOR UPDATE" if lock else "")), {"id": dispute_id}).one_or_none()
    return DisputeState(*row) if row else None


# --- changes (the caller records each in the change history) ----------------------------------


def insert_dispute(conn: Connection, *, building_id: int | None, lon: float | None, lat: float | None,
                   category: str, parties_kind: str, reported_by: str, reported_on: date,
                   description: str | None) -> int:
    """A new dispute, status reported; at (lon, lat), or else at a point on its building."""
    return conn.execute(text("""
        INSERT INTO dispute (building_id, category, parties_kind, reported_by, reported_on, description, geom)
        SELECT :building, :category, :parties, :reporter, :reported_on, :description,
               COALESCE(ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), CAST(:lat AS float8)), 4326),
                        (SELECT ST_PointOnSurface(geom) FROM building WHERE id = CAST(:building AS bigint)))
        RETURNING id
    """), {"building": building_id, "category": category, "parties": parties_kind, "reporter": reported_by,
           "reported_on": reported_on, "description": description, "lon": lon, "lat": lat}).scalar_one()


def set_status(conn: Connection, dispute_id: int, *, version: int, status: str,
               referred_to: str | None, closed_on: date | None) -> int | None:
    """Move a dispute to a status (closed on ``closed_on`` if it is resolved or referred) if it
    is still at ``version``; its new version, or None."""
    return conn.execute(text("""
        UPDATE dispute SET status = :status, referred_to = :referred_to, closed_on = :closed_on,
                           version = version + 1
        WHERE id = :id AND version = :version
        RETURNING version
    """), {"id": dispute_id, "version": version, "status": status, "referred_to": referred_to,
           "closed_on": closed_on}).scalar_one_or_none()


def insert_mediation(conn: Connection, *, dispute_id: int, officer_id: int | None, held_on: date,
                     outcome: str) -> int:
    return conn.execute(text("""
        INSERT INTO mediation (dispute_id, officer_id, held_on, outcome)
        VALUES (:dispute, :officer, :held_on, :outcome) RETURNING id
    """), {"dispute": dispute_id, "officer": officer_id, "held_on": held_on, "outcome": outcome}).scalar_one()
