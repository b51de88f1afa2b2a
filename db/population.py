"""The SQL of the actual-population workflow: temporary-residence registrations, home visits,
and the records a household's change history is made of.

Households and residents are personal data. These queries never return a resident's full
name or identity hash: a name leaves the database only as its first character and an
asterisk, an identity number only as its last four characters (the caller masks them).

A household is in a beat when its point intersects the beat's polygon, as for the workload.
``beats`` is a list of beat codes to keep to, or None for all households.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, text

# The household is in one of the beats (a bound text[]), or no beats are asked for.
_IN_BEATS = """EXISTS (SELECT 1 FROM beat b WHERE b.code = ANY(CAST(:beats AS text[]))
                      AND ST_Intersects(h.geom, b.geom))"""

# Seven decimals of a degree are about a centimetre.
PRECISION = 7


def _scoped(conditions: list[str], params: dict, beats: list[str] | None) -> None:
    if beats is not None:
        conditions.append(_IN_BEATS)
        params["beats"] = list(beats)


# --- the area's clock -------------------------------------------------------------------------


def area_timezone(conn: Connection) -> str:
    """The IANA zone of the area's clocks (UTC when no area is set up)."""
    return conn.execute(text("SELECT COALESCE((SELECT timezone FROM area WHERE id = 1), 'UTC')")).scalar_one()


def local_today(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()


def start_of_day(day: date, tz: str) -> datetime:
    """The instant a local day begins."""
    return datetime.combine(day, time(0), ZoneInfo(tz))


# --- beats, households, residents: existence and scope ------------------------------------


def beat_exists(conn: Connection, code: str) -> bool:
    return conn.execute(text("SELECT EXISTS (SELECT 1 FROM beat WHERE code = :c)"), {"c": code}).scalar_one()


def household_in_scope(conn: Connection, household_id: int, beats: list[str] | None) -> bool | None:
    """None if there is no such household; else whether it lies in one of the beats.

    Read through the view without people, which the row policies do not narrow: that a
    household exists in another beat is no secret, and the caller can say so (403, not 404).
    """
    conditions, params = ["TRUE"], {"id": household_id}
    _scoped(conditions, params, beats)
    return conn.execute(text(f"""
        SELECT {' AND '.join(conditions)} FROM household_point h WHERE h.id = :id
    """), params).scalar_one_or_none()


def resident_household(conn: Connection, resident_id: int) -> int | None:
    return conn.execute(text("SELECT household_id FROM resident WHERE id = :id"),
                        {"id": resident_id}).scalar_one_or_none()


def household_record_ids(conn: Connection, household_id: int) -> dict[str, list[int]]:
    """The ids of the records that make up a household's history: its residents, their
    temporary-residence registrations and its home visits."""
    row = conn.execute(text("""
        SELECT ARRAY(SELECT id FROM resident WHERE household_id = :h ORDER BY id),
               ARRAY(SELECT t.id FROM temporary_registration t JOIN resident r ON r.id = t.resident_id
                     WHERE r.household_id = :h ORDER BY t.id),
               ARRAY(SELECT id FROM home_visit WHERE household_id = :h ORDER BY id)
    """), {"h": household_id}).one()
    return {"resident": list(row[0]), "temporary_registration": list(row[1]), "home_visit": list(row[2])}


# --- temporary-residence registrations ------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    id: int
    resident_id: int
    household_id: int
    valid_from: date
    valid_to: date
    employer: str | None
    version: int


_REGISTRATION = """
    SELECT t.id, t.resident_id, r.household_id, t.valid_from, t.valid_to, t.employer, t.version
    FROM temporary_registration t JOIN resident r ON r.id = t.resident_id
"""


def registration(conn: Connection, registration_id: int, *, for_update: bool = False) -> Registration | None:
    """One registration; ``for_update`` locks it until the transaction ends."""
    lock = " FOR UPDATE OF t" if for_update else ""
    row = conn.execute(text(_REGISTRATION + " WHERE t.id = :id" + lock),
                       {"id": registration_id}).one_or_none()
    return Registration(*row) if row else None


def overlapping_registration(conn: Connection, resident_id: int, valid_from: date, valid_to: date,
                             *, other_than: int | None = None) -> Registration | None:
    """A registration of the resident whose days overlap [valid_from, valid_to], if any."""
    row = conn.execute(text(_REGISTRATION + """
        WHERE t.resident_id = :resident AND t.valid_from <= :valid_to AND t.valid_to >= :valid_from
          AND t.id <> COALESCE(CAST(:other AS bigint), -1)
        ORDER BY t.valid_from LIMIT 1
    """), {"resident": resident_id, "valid_from": valid_from, "valid_to": valid_to,
           "other": other_than}).one_or_none()
    return Registration(*row) if row else None


def insert_registration(conn: Connection, *, resident_id: int, valid_from: date, valid_to: date,
                        employer: str | None) -> int:
    return conn.execute(text("""
        INSERT INTO temporary_registration (resident_id, valid_from, valid_to, employer)
        VALUES (:resident, :valid_from, :valid_to, :employer) RETURNING id
    """), {"resident": resident_id, "valid_from": valid_from, "valid_to": valid_to,
           "employer": employer}).scalar_one()


def set_registration_end(conn: Connection, registration_id: int, *, version: int, valid_to: date) -> int | None:
    """Set the last day if the registration is still at ``version``; its new version, or None."""
    return conn.execute(text("""
        UPDATE temporary_registration SET valid_to = :valid_to, version = version + 1
        WHERE id = :id AND version = :version RETURNING version
    """), {"id": registration_id, "version": version, "valid_to": valid_to}).scalar_one_or_none()


def expiring_registrations(conn: Connection, *, beats: list[str] | None, as_of: date, within_days: int,
                           lapsed: bool | None, after: int | None,
                           limit: int) -> tuple[list[dict], int | None]:
    """Registrations that end within ``within_days`` of ``as_of`` or have ended before it, ordered
    by id, at most ``limit``; and the id to continue after.

    ``lapsed``: True keeps only those that ended before ``as_of``, False only those still valid
    on it; None both. A registration the same resident has a later one after is left out: it
    was renewed. The resident comes masked at the source: first character of the name, last
    four of the identity number.
    """
    conditions = ["t.valid_to <= :horizon",
                  """NOT EXISTS (SELECT 1 FROM temporary_registration later
                                 WHERE later.resident_id = t.resident_id
                                   AND (later.valid_to, later.id) > (t.valid_to, t.id))"""]
    params: dict = {"as_of": as_of, "horizon": as_of + timedelta(days=within_days), "limit": limit + 1}
    if lapsed is True:
        conditions.append("t.valid_to < :as_of")
    elif lapsed is False:
        conditions.append("t.valid_to >= :as_of")
    if after is not None:
        conditions.append("t.id > :after")
        params["after"] = after
    _scoped(conditions, params, beats)
    rows = conn.execute(text(f"""
        SELECT t.id, t.resident_id, r.household_id, t.valid_from, t.valid_to, t.employer, t.version,
               t.valid_to - CAST(:as_of AS date) AS days_left,
               left(r.name, 1) || '*' AS name_masked, r.id_last4, r.category,
               h.building_id, bld.address, h.unit, h.room,
               ST_AsGeoJSON(h.geom, {PRECISION}) AS geometry
        FROM temporary_registration t
        JOIN resident r ON r.id = t.resident_id
        JOIN household h ON h.id = r.household_id
        JOIN building bld ON bld.id = h.building_id
        WHERE {' AND '.join(conditions)}
        ORDER BY t.id LIMIT :limit
    """), params).mappings().all()
    more = len(rows) > limit
    rows = [dict(row) for row in rows[:limit]]
    return rows, (rows[-1]["id"] if more else None)


# --- home visits ------------------------------------------------------------------------------


def visit_frame(conn: Connection, *, beats: list[str] | None, as_of: date, tz: str,
                household_id: int | None = None) -> pd.DataFrame:
    """One row per household (in the beats, or the one asked for), ordered by id: where it is,
    its residents counted by category and by what sets the visit cycle (see ``geo.visits``),
    and the local date of its last visit on or before ``as_of``.

    Columns: household_id, building_id, address, unit, room, geometry (GeoJSON), residents,
    permanent, temporary, floating, home_service, oldest_alone_born, last_visited.
    """
    conditions: list[str] = ["TRUE"]
    params: dict = {"tz": tz, "until": start_of_day(as_of + timedelta(days=1), tz)}
    if household_id is not None:
        conditions.append("h.id = :household")
        params["household"] = household_id
    _scoped(conditions, params, beats)
    result = conn.execute(text(f"""
        SELECT h.id AS household_id, h.building_id, bld.address, h.unit, h.room,
               ST_AsGeoJSON(h.geom, {PRECISION}) AS geometry,
               count(r.id) AS residents,
               count(r.id) FILTER (WHERE r.category = 'permanent') AS permanent,
               count(r.id) FILTER (WHERE r.category = 'temporary') AS temporary,
               count(r.id) FILTER (WHERE r.category = 'floating') AS floating,
               count(r.id) FILTER (WHERE r.needs_home_service) AS home_service,
               min(r.birth_year) FILTER (WHERE r.lives_alone) AS oldest_alone_born,
               last.visited AS last_visited
        FROM household h
        JOIN building bld ON bld.id = h.building_id
        LEFT JOIN resident r ON r.household_id = h.id
        LEFT JOIN LATERAL (
            SELECT max((v.visited_at AT TIME ZONE :tz)::date) AS visited
            FROM home_visit v WHERE v.household_id = h.id AND v.visited_at < :until
        ) last ON true
        WHERE {' AND '.join(conditions)}
        GROUP BY h.id, bld.address, last.visited
        ORDER BY h.id
    """), params)
    frame = pd.DataFrame([tuple(row) for row in result], columns=list(result.keys()))
    return frame.astype({"oldest_alone_born": "Int64"}) if len(frame) else frame


def insert_visit(conn: Connection, *, household_id: int, officer_id: int | None, visited_at: datetime,
                 findings: str | None, next_due: date | None) -> int:
    return conn.execute(text("""
        INSERT INTO home_visit (household_id, officer_id, visited_at, findings, next_due)
        VALUES (:household, :officer, :visited_at, :findings, :next_due) RETURNING id
    """), {"household": household_id, "officer": officer_id, "visited_at": visited_at,
           "findings": findings, "next_due": next_due}).scalar_one()
