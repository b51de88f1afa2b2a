"""The SQL of inspections: special-trade premises and hazardous sites, when each was last
inspected and is next due, and who lives, learns or is treated within a site's risk radius."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import Connection, text

from db.analysis import Place, place_frame

# Each subject with its latest inspection; never inspected is due at once.
_SUBJECTS = """
    SELECT 'premises' AS kind, p.id, p.trade AS what, p.name, p.geom,
           last.inspected_on, last.passed, last.next_due
    FROM premises p LEFT JOIN LATERAL (
        SELECT i.inspected_on, i.passed, i.next_due FROM inspection i WHERE i.premises_id = p.id
        ORDER BY i.inspected_on DESC, i.id DESC LIMIT 1) last ON true
    UNION ALL
    SELECT 'hazardous_site', s.id, s.category, s.name, s.geom, last.inspected_on, last.passed, last.next_due
    FROM hazardous_site s LEFT JOIN LATERAL (
        SELECT i.inspected_on, i.passed, i.next_due FROM inspection i WHERE i.hazardous_site_id = s.id
        ORDER BY i.inspected_on DESC, i.id DESC LIMIT 1) last ON true
"""


def due(conn: Connection, place: Place, as_of: date, *, limit: int, offset: int) -> pd.DataFrame:
    """Premises and sites in the place due for inspection by ``as_of``, most overdue first."""
    return place_frame(conn, f"""
        SELECT s.kind, s.id, s.what, s.name, s.inspected_on, s.passed, s.next_due,
               CAST(:as_of AS date) - COALESCE(s.next_due, CAST(:as_of AS date)) AS days_overdue,
               ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat
        FROM ({_SUBJECTS}) s JOIN {{place}} b ON ST_Intersects(s.geom, b.geom)
        WHERE s.next_due IS NULL OR s.next_due <= :as_of
        ORDER BY s.next_due NULLS FIRST, s.kind, s.id
        LIMIT :limit OFFSET :offset
    """, {"place": place.wkb, "as_of": as_of, "limit": limit, "offset": offset})


def subject(conn: Connection, kind: str, subject_id: int) -> dict | None:
    """A premises (its trade) or a hazardous site, and its latest inspection's date."""
    row = conn.execute(text(f"""
        SELECT s.what, s.inspected_on FROM ({_SUBJECTS}) s WHERE s.kind = :kind AND s.id = :id
    """), {"kind": kind, "id": subject_id}).one_or_none()
    return None if row is None else {"what": row[0], "last_inspected": row[1]}


def add_inspection(conn: Connection, *, kind: str, subject_id: int, officer_id: int | None, inspected_on: date,
                   passed: bool, findings: str, next_due: date) -> int:
    column = "premises_id" if kind == "premises" else "hazardous_site_id"
    return conn.execute(text(f"""
        INSERT INTO inspection ({column}, officer_id, inspected_on, passed, findings, next_due)
        VALUES (:id, :officer, :on, :passed, :findings, :next_due) RETURNING id
    """), {"id": subject_id, "officer": officer_id, "on": inspected_on, "passed": passed,
           "findings": findings, "next_due": next_due}).scalar_one()


def exposure(conn: Connection, site_id: int) -> dict | None:
    """Who is within a hazardous site's risk radius: households and residents (counts), and the
    schools, clinics and other public facilities, nearest first, with their distance from the
    site (metres, on the spheroid, to the facility's point)."""
    row = conn.execute(text("""
        SELECT s.name, s.category, s.risk_radius_m, s.storage_ok,
               (SELECT count(*) FROM household_point h
                 WHERE ST_DWithin(h.geom::geography, s.geom::geography, s.risk_radius_m)),
               (SELECT count(*) FROM resident_fact r
                 WHERE ST_DWithin(r.geom::geography, s.geom::geography, s.risk_radius_m)),
               (SELECT count(*) FROM resident_fact r
                 WHERE r.birth_year IS NOT NULL AND extract(year FROM current_date) - r.birth_year >= 70
                   AND ST_DWithin(r.geom::geography, s.geom::geography, s.risk_radius_m)),
               (SELECT COALESCE(json_agg(json_build_object(
                           'id', f.id, 'kind', f.kind, 'name', f.name, 'building_id', f.building_id,
                           'address', b.address, 'distance_m', round(f.distance_m::numeric, 1))
                         ORDER BY f.distance_m, f.id), '[]')
                  FROM (SELECT f.*, ST_Distance(f.geom::geography, s.geom::geography) AS distance_m
                        FROM public_facility f
                        WHERE ST_DWithin(f.geom::geography, s.geom::geography, s.risk_radius_m)) f
                  LEFT JOIN building b ON b.id = f.building_id)
        FROM hazardous_site s WHERE s.id = :id
    """), {"id": site_id}).one_or_none()
    if row is None:
        return None
    name, category, radius, storage_ok, households, residents, elderly, facilities = row
    return {"id": site_id, "name": name, "category": category, "risk_radius_m": radius, "storage_ok": storage_ok,
            "households": households, "residents": residents, "residents_70_and_over": elderly,
            "public_facilities": facilities}


def scrap_buyers(conn: Connection, place: Place) -> pd.DataFrame:
    """Scrap buyers in the place: id, name, licence, lon, lat."""
    return place_frame(conn, """
        SELECT p.id, p.name, p.licence_no, ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat
        FROM premises p JOIN {place} b ON ST_Intersects(p.geom, b.geom)
        WHERE p.trade = 'scrap_buyer' ORDER BY p.id
    """, {"place": place.wkb})


# --- chemicals stored improperly in homes ------------------------------------------------


def add_storage_finding(conn: Connection, **finding) -> int:
    """``finding``: household_id, found_on, substance, finding, education, follow_up_on."""
    return conn.execute(text("""
        INSERT INTO storage_finding (household_id, found_on, substance, finding, education, follow_up_on)
        VALUES (:household_id, :found_on, :substance, :finding, :education, :follow_up_on) RETURNING id
    """), finding).scalar_one()


def storage_finding(conn: Connection, finding_id: int) -> dict | None:
    """One finding as stored, locked for an update in this transaction."""
    row = conn.execute(text("SELECT * FROM storage_finding WHERE id = :id FOR UPDATE"),
                       {"id": finding_id}).mappings().one_or_none()
    return None if row is None else dict(row)


def update_storage_finding(conn: Connection, finding_id: int, changes: dict) -> None:
    """Set the changed fields (names from the code, values bound) and move the version on."""
    sets = ", ".join(f"{name} = :{name}" for name in changes)
    conn.execute(text(f"UPDATE storage_finding SET {sets}, version = version + 1 WHERE id = :id"),
                 {**changes, "id": finding_id})


def open_storage_findings(conn: Connection, place: Place, as_of: date, *, limit: int, offset: int) -> pd.DataFrame:
    """Findings in the place not yet put right, the most overdue follow-up first."""
    return place_frame(conn, """
        SELECT f.id, f.household_id, bld.address, f.found_on, f.substance, f.finding, f.education,
               f.follow_up_on, f.followed_up_on, f.version,
               CAST(:as_of AS date) - f.follow_up_on AS days_overdue, ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat
        FROM storage_finding f JOIN household h ON h.id = f.household_id
        JOIN building bld ON bld.id = h.building_id JOIN {place} b ON ST_Intersects(h.geom, b.geom)
        WHERE NOT f.resolved
        ORDER BY f.follow_up_on NULLS FIRST, f.id LIMIT :limit OFFSET :offset
    """, {"place": place.wkb, "as_of": as_of, "limit": limit, "offset": offset})
