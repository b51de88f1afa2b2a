"""The SQL of the population records: households at buildings, the residents in them, the in/out
movement log per building, and the temporary-resident ledger.

Households and residents are personal data. A resident's name leaves these queries only as its
first character and an asterisk, a phone as its last four characters behind asterisks, an
identity number as its last four characters (the caller masks them); the keyed hash never
leaves. Whether a change changes a name, a phone or an identity number is asked of the
database (``personal_fields_changed``), so the stored values need not leave it for that either.

A household is in a beat when its point intersects the beat's polygon, as for the workload; a
building when a point on its surface does, so that a building across a boundary is in one
beat. ``beats`` is a list of beat codes to keep to, or None for all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from db.population import PRECISION

HOUSEHOLD_POINT = "h.geom"
BUILDING_POINT = "ST_PointOnSurface(bld.geom)"

_MASKED_NAME = "left(r.name, 1) || '*'"
_MASKED_PHONE = "repeat('*', greatest(length(r.phone) - 4, 0)) || right(r.phone, 4)"


def _in_beats(geom: str) -> str:
    """SQL: ``geom`` (one of this module's expressions, never input) lies in one of the beats."""
    return f"""EXISTS (SELECT 1 FROM beat b WHERE b.code = ANY(CAST(:beats AS text[]))
                      AND ST_Intersects({geom}, b.geom))"""


def _scoped(conditions: list[str], params: dict, beats: list[str] | None, geom: str) -> None:
    if beats is not None:
        conditions.append(_in_beats(geom))
        params["beats"] = list(beats)


def _feature(row, properties: dict) -> dict:
    return {"type": "Feature", "id": row["id"], "geometry": json.loads(row["geometry"]),
            "properties": properties}


def _page(rows, limit: int) -> tuple[list, int | None]:
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1]["id"] if more else None)


# --- buildings ------------------------------------------------------------------------------


def building_in_scope(conn: Connection, building_id: int, beats: list[str] | None) -> bool | None:
    """None if there is no such building; else whether it lies in one of the beats."""
    conditions, params = ["TRUE"], {"id": building_id}
    _scoped(conditions, params, beats, BUILDING_POINT)
    return conn.execute(text(f"SELECT {' AND '.join(conditions)} FROM building bld WHERE bld.id = :id"),
                        params).scalar_one_or_none()


@dataclass(frozen=True)
class Position:
    """Where a household at a building would be: lon, lat (EPSG:4326), how far that is from the
    building in metres (0 on or in it), and whether it lies in the beats asked about."""

    lon: float
    lat: float
    from_building_m: float
    in_scope: bool


def household_position(conn: Connection, *, building_id: int, lon: float | None, lat: float | None,
                       beats: list[str] | None) -> Position | None:
    """The point given (lon, lat) or, without one, a point on the building's surface; None if
    there is no such building."""
    conditions, params = ["TRUE"], {"building": building_id, "lon": lon, "lat": lat}
    _scoped(conditions, params, beats, "p.geom")
    row = conn.execute(text(f"""
        WITH p AS (
            SELECT COALESCE(ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), CAST(:lat AS float8)), 4326),
                            ST_PointOnSurface(bld.geom)) AS geom,
                   bld.geom AS building
            FROM building bld WHERE bld.id = :building
        )
        SELECT ST_X(p.geom), ST_Y(p.geom), ST_Distance(p.geom::geography, p.building::geography),
               {' AND '.join(conditions)}
        FROM p
    """), params).one_or_none()
    return Position(*row) if row else None


# --- households -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HouseholdState:
    id: int
    building_id: int
    unit: str | None
    room: str | None
    tenure: str
    version: int
    lon: float
    lat: float


def household_state(conn: Connection, household_id: int, *, lock: bool = False) -> HouseholdState | None:
    """A household's fields; ``lock`` holds the row until the transaction ends."""
    row = conn.execute(text(f"""
        SELECT id, building_id, unit, room, tenure, version, ST_X(geom), ST_Y(geom)
        FROM household WHERE id = :id {'FOR UPDATE' if lock else ''}
    """), {"id": household_id}).one_or_none()
    return HouseholdState(*row) if row else None


def insert_household(conn: Connection, *, building_id: int, unit: str | None, room: str | None,
                     tenure: str, lon: float, lat: float) -> int:
    return conn.execute(text("""
        INSERT INTO household (building_id, unit, room, tenure, geom)
        VALUES (:building, :unit, :room, :tenure, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
        RETURNING id
    """), {"building": building_id, "unit": unit, "room": room, "tenure": tenure,
           "lon": lon, "lat": lat}).scalar_one()


def update_household(conn: Connection, household_id: int, *, version: int, building_id: int,
                     unit: str | None, room: str | None, tenure: str, lon: float,
                     lat: float) -> int | None:
    """Write a household's fields if it is still at ``version``; its new version, or None."""
    return conn.execute(text("""
        UPDATE household SET building_id = :building, unit = :unit, room = :room, tenure = :tenure,
                             geom = ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), version = version + 1
        WHERE id = :id AND version = :version
        RETURNING version
    """), {"id": household_id, "version": version, "building": building_id, "unit": unit, "room": room,
           "tenure": tenure, "lon": lon, "lat": lat}).scalar_one_or_none()


def households(conn: Connection, *, beats: list[str] | None, building_id: int | None = None,
               household_id: int | None = None, after: int | None = None,
               limit: int = 1) -> tuple[list[dict], int | None]:
    """Households as GeoJSON features ordered by id, their residents only counted (by
    category); at most ``limit``, and the id to continue after."""
    conditions, params = ["TRUE"], {"limit": limit + 1}
    for condition, name, value in (("h.building_id = :building", "building", building_id),
                                   ("h.id = :household", "household", household_id),
                                   ("h.id > :after", "after", after)):
        if value is not None:
            conditions.append(condition)
            params[name] = value
    _scoped(conditions, params, beats, HOUSEHOLD_POINT)
    rows = conn.execute(text(f"""
        SELECT h.id, h.building_id, bld.address, h.unit, h.room, h.tenure, h.version,
               ST_AsGeoJSON(h.geom, {PRECISION}) AS geometry,
               count(r.id) AS residents,
               count(r.id) FILTER (WHERE r.category = 'permanent') AS permanent,
               count(r.id) FILTER (WHERE r.category = 'temporary') AS temporary,
               count(r.id) FILTER (WHERE r.category = 'floating') AS floating
        FROM household h
        JOIN building bld ON bld.id = h.building_id
        LEFT JOIN resident r ON r.household_id = h.id
        WHERE {' AND '.join(conditions)}
        GROUP BY h.id, bld.address
        ORDER BY h.id LIMIT :limit
    """), params).mappings().all()
    rows, next_after = _page(rows, limit)
    return [_feature(row, {
        "household_id": row["id"], "building_id": row["building_id"], "address": row["address"],
        "unit": row["unit"], "room": row["room"], "tenure": row["tenure"], "version": row["version"],
        "residents": row["residents"],
        "categories": {c: row[c] for c in ("permanent", "temporary", "floating")},
    }) for row in rows], next_after


# --- residents ------------------------------------------------------------------------------

# The columns a route may write; names are code, never input.
RESIDENT_COLUMNS = frozenset({"household_id", "name", "id_hash", "id_last4", "category", "birth_year",
                              "lives_alone", "needs_home_service", "phone"})
PERSONAL_COLUMNS = {"name": "text", "phone": "text", "id_hash": "bytea"}


@dataclass(frozen=True)
class ResidentState:
    id: int
    household_id: int
    version: int
    category: str
    birth_year: int
    lives_alone: bool
    needs_home_service: bool
    name_masked: str
    id_last4: str | None
    phone_masked: str | None


_RESIDENT = f"""
    SELECT r.id, r.household_id, r.version, r.category, r.birth_year, r.lives_alone,
           r.needs_home_service, {_MASKED_NAME} AS name_masked, r.id_last4, {_MASKED_PHONE} AS phone_masked
    FROM resident r
"""


def resident_state(conn: Connection, resident_id: int, *, lock: bool = False) -> ResidentState | None:
    """A resident, masked; ``lock`` holds the row until the transaction ends."""
    row = conn.execute(text(_RESIDENT + " WHERE r.id = :id" + (" FOR UPDATE" if lock else "")),
                       {"id": resident_id}).one_or_none()
    return ResidentState(*row) if row else None


def personal_fields_changed(conn: Connection, resident_id: int, values: dict) -> set[str]:
    """Which of the personal ``values`` (name, phone, id_hash) differ from the stored ones."""
    if not values:
        return set()
    unknown = set(values) - set(PERSONAL_COLUMNS)
    if unknown:
        raise ValueError(f"not personal columns: {', '.join(sorted(unknown))}")
    columns = sorted(values)
    compared = ", ".join(f"CAST(:{c} AS {PERSONAL_COLUMNS[c]}) IS DISTINCT FROM {c}" for c in columns)
    row = conn.execute(text(f"SELECT {compared} FROM resident WHERE id = :id"),
                       {"id": resident_id, **values}).one()
    return {column for column, differs in zip(columns, row, strict=True) if differs}


def identity_holder(conn: Connection, id_hash: bytes, *, other_than: int | None = None) -> int | None:
    """The resident registered with this identity number (by its keyed hash), if any."""
    # In every beat, not only the user's: a database function looks with the owner's rights.
    return conn.execute(text("SELECT beatbook_identity_holder(:hash, CAST(:other AS bigint))"),
                        {"hash": id_hash, "other": other_than}).scalar_one()


class IdentityTaken(Exception):
    """Another resident holds the identity number (the unique index on ``id_hash`` said so)."""


# The unique index behind IdentityTaken (db/models.py, Resident).
_UNIQUE_IDENTITY = "uq_resident_id_hash"


def insert_resident(conn: Connection, **values) -> int:
    """A new resident from ``values`` (columns of RESIDENT_COLUMNS); its id. IdentityTaken if
    another resident holds the identity number: ``identity_holder`` asks first, and this catches
    the one registered in between by a request running alongside."""
    _check_columns(values)
    columns = sorted(values)
    new_id = conn.execute(text(f"""
        INSERT INTO resident ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})
        ON CONFLICT (id_hash) WHERE id_hash IS NOT NULL DO NOTHING
        RETURNING id
    """), values).scalar_one_or_none()
    if new_id is None:
        raise IdentityTaken()
    return new_id


def update_resident(conn: Connection, resident_id: int, *, version: int, values: dict) -> int | None:
    """Write ``values`` (columns of RESIDENT_COLUMNS) if the resident is still at ``version``;
    its new version, or None. IdentityTaken if another resident holds the identity number."""
    _check_columns(values)
    assignments = "".join(f"{c} = :{c}, " for c in sorted(values))
    try:
        # A savepoint: the refused row must not void the caller's transaction.
        with conn.begin_nested():
            return conn.execute(text(f"""
                UPDATE resident SET {assignments}version = version + 1
                WHERE id = :id AND version = :version RETURNING version
            """), {**values, "id": resident_id, "version": version}).scalar_one_or_none()
    except IntegrityError as exc:
        if getattr(getattr(exc.orig, "diag", None), "constraint_name", None) == _UNIQUE_IDENTITY:
            raise IdentityTaken() from None
        raise


def _check_columns(values: dict) -> None:
    unknown = set(values) - RESIDENT_COLUMNS
    if unknown:
        raise ValueError(f"not resident columns: {', '.join(sorted(unknown))}")


def resident(conn: Connection, resident_id: int) -> dict | None:
    """A resident, masked, with where they live and their temporary-residence registrations."""
    row = conn.execute(text(f"""
        SELECT r.id, r.household_id, r.version, r.category, r.birth_year, r.lives_alone,
               r.needs_home_service, {_MASKED_NAME} AS name_masked, r.id_last4,
               {_MASKED_PHONE} AS phone_masked, h.building_id, bld.address, h.unit, h.room
        FROM resident r
        JOIN household h ON h.id = r.household_id
        JOIN building bld ON bld.id = h.building_id
        WHERE r.id = :id
    """), {"id": resident_id}).mappings().one_or_none()
    if row is None:
        return None
    registrations = conn.execute(text("""
        SELECT id, valid_from, valid_to, employer, version FROM temporary_registration
        WHERE resident_id = :id ORDER BY valid_from, id
    """), {"id": resident_id}).mappings().all()
    return {**row, "registrations": [dict(r) for r in registrations]}


def household_residents(conn: Connection, household_id: int) -> list[ResidentState]:
    """The residents of a household, masked, by id."""
    rows = conn.execute(text(_RESIDENT + " WHERE r.household_id = :h ORDER BY r.id"), {"h": household_id})
    return [ResidentState(*row) for row in rows]


# --- the movement log -----------------------------------------------------------------------


def insert_movement(conn: Connection, *, building_id: int, resident_id: int | None, direction: str,
                    moved_on: date, note: str | None) -> int:
    return conn.execute(text("""
        INSERT INTO movement (building_id, resident_id, direction, moved_on, note)
        VALUES (:building, :resident, :direction, :moved_on, :note) RETURNING id
    """), {"building": building_id, "resident": resident_id, "direction": direction,
           "moved_on": moved_on, "note": note}).scalar_one()


def movements(conn: Connection, *, beats: list[str] | None, building_id: int | None = None,
              movement_id: int | None = None, direction: str | None = None, since: date | None = None,
              until: date | None = None, after: int | None = None,
              limit: int = 1) -> tuple[list[dict], int | None]:
    """Movements ordered by id, at a point on their building's surface, the resident (if one is
    named) masked at the source; at most ``limit``, and the id to continue after."""
    conditions, params = ["TRUE"], {"limit": limit + 1}
    for condition, name, value in (("m.building_id = :building", "building", building_id),
                                   ("m.id = :movement", "movement", movement_id),
                                   ("m.direction = :direction", "direction", direction),
                                   ("m.moved_on >= :since", "since", since),
                                   ("m.moved_on <= :until", "until", until),
                                   ("m.id > :after", "after", after)):
        if value is not None:
            conditions.append(condition)
            params[name] = value
    _scoped(conditions, params, beats, BUILDING_POINT)
    rows = conn.execute(text(f"""
        SELECT m.id, m.building_id, bld.address, m.direction, m.moved_on, m.note, m.resident_id,
               {_MASKED_NAME} AS name_masked, r.id_last4, r.category,
               ST_AsGeoJSON({BUILDING_POINT}, {PRECISION}) AS geometry
        FROM movement m
        JOIN building bld ON bld.id = m.building_id
        LEFT JOIN resident r ON r.id = m.resident_id
        WHERE {' AND '.join(conditions)}
        ORDER BY m.id LIMIT :limit
    """), params).mappings().all()
    rows, next_after = _page(rows, limit)
    return [dict(row) for row in rows], next_after


# --- the temporary-resident ledger ----------------------------------------------------------

LEDGER_COLUMNS = ("registration_id", "address", "unit", "room", "resident_id", "name_masked",
                  "id_last4", "category", "valid_from", "valid_to", "employer")


def ledger(conn: Connection, *, beats: list[str] | None, as_of: date) -> pd.DataFrame:
    """The temporary-residence registrations valid on ``as_of`` (from valid_from to valid_to,
    both days included), by address, unit, room and registration; columns LEDGER_COLUMNS."""
    conditions, params = ["t.valid_from <= :as_of", "t.valid_to >= :as_of"], {"as_of": as_of}
    _scoped(conditions, params, beats, HOUSEHOLD_POINT)
    result = conn.execute(text(f"""
        SELECT t.id AS registration_id, bld.address, h.unit, h.room, r.id AS resident_id,
               {_MASKED_NAME} AS name_masked, r.id_last4, r.category, t.valid_from, t.valid_to,
               t.employer
        FROM temporary_registration t
        JOIN resident r ON r.id = t.resident_id
        JOIN household h ON h.id = r.household_id
        JOIN building bld ON bld.id = h.building_id
        WHERE {' AND '.join(conditions)}
        ORDER BY bld.address, h.unit, h.room, t.id
    """), params)
    return pd.DataFrame([tuple(row) for row in result], columns=list(LEDGER_COLUMNS))
