"""The SQL of service and coordination (便民服务, 社区组织协调) and of school-age children: service
stations and schools and who lives within a walk of them, residents who need home service,
facility issues, and children of school age per building and per beat.

A household is in a beat when its point intersects the beat's polygon (as for the workload and
the population lists). ``beats`` is a list of beat codes to keep to, or None for all.

Households and residents are personal data: nothing here returns a name, an identity number or
a resident's id. The home-service list per household names households (their points): the
router shows it to the police roles only and audits it.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date

import pandas as pd
import shapely
from sqlalchemy import Connection, text

from db.analysis import Place, margin_deg, place_frame, place_sql
from db.models import FACILITY_STATUSES, RESIDENT_CATEGORIES

PRECISION = 7  # decimals of a degree: about a centimetre

# School age: a child counts when as_of's year minus the birth year is 6 to 17 (the age reached
# in that year; only the birth year is kept). The stages are China's 6-3-3 years: primary
# (小学, ages 6-11), junior secondary (初中, 12-14), senior secondary (高中, 15-17).
SCHOOL_STAGES = {"primary": (6, 11), "junior_secondary": (12, 14), "senior_secondary": (15, 17)}
SCHOOL_AGES = (6, 17)

# Facility issues move forward only: open, then assigned (to an owner), then fixed.
FACILITY_ORDER = {status: i for i, status in enumerate(FACILITY_STATUSES)}

# The household is in one of the beats (a bound text[]), or no beats are asked for.
_IN_BEATS = """(CAST(:beats AS text[]) IS NULL OR EXISTS (
    SELECT 1 FROM beat b WHERE b.code = ANY(CAST(:beats AS text[])) AND ST_Intersects({geom}, b.geom)))"""


def _page(rows: list, limit: int, key) -> tuple[list, int | None]:
    """A page of ``limit`` rows (``limit + 1`` were asked for) and the key to continue after."""
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (key(rows[-1]) if more else None)


# --- walking catchments of service stations and schools ------------------------------------


def _near(conn: Connection, place: Place, walk_m: float, centres: str) -> pd.DataFrame:
    """The rows of ``centres`` (SQL of id, its own columns and geom) within ``walk_m`` (straight)
    of the place: one outside it may still serve households inside. Its columns, in_place, lon,
    lat; by id."""
    return place_frame(conn, f"""
        SELECT s.*, ST_Intersects(s.geom, b.geom) AS in_place, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat
        FROM ({centres}) s JOIN {{place}} b ON ST_DWithin(s.geom::geography, b.geom::geography, :walk)
        ORDER BY s.id
    """, {"place": place.wkb, "walk": walk_m}).drop(columns="geom")


def stations_near(conn: Connection, place: Place, walk_m: float) -> pd.DataFrame:
    """Service stations near the place (``_near``): id, name, opening_hours, in_place, lon, lat."""
    return _near(conn, place, walk_m, "SELECT id, name, opening_hours, geom FROM service_station")


def schools_near(conn: Connection, place: Place, walk_m: float) -> pd.DataFrame:
    """Schools near the place (``_near``): id, name, building_id, address (the building's),
    in_place, lon, lat."""
    return _near(conn, place, walk_m, """
        SELECT f.id, f.name, f.building_id, bl.address, f.geom
        FROM public_facility f LEFT JOIN building bl ON bl.id = f.building_id
        WHERE f.kind = 'school'
    """)


# Walking goes both ways along every street (one-way is for cars): only ``cost`` is given and
# the graph is undirected. The box is the only text formatted in, and only as numbers.
_WALK_EDGES = """
    SELECT s.id, s.source, s.target, s.length_m AS cost
    FROM street_segment s
    WHERE s.source IS NOT NULL AND s.target IS NOT NULL
      AND s.geom && ST_MakeEnvelope({xmin!r}, {ymin!r}, {xmax!r}, {ymax!r}, 4326)
"""


def walks(conn: Connection, lon, lat, vertices, budgets_m) -> pd.DataFrame:
    """The vertices reached within each start's budget on foot: n (the start's position in the
    arguments, from 0), node, agg_cost (metres walked from the start vertex).

    ``pgr_drivingDistance`` returns every vertex whose shortest walk is within the budget,
    the start itself at 0, and nothing between vertices. The graph is read from the streets in
    the starts' box widened by the longest budget: no walk within budget leaves it, so the
    answer is exact and a district's network is not read for a beat.
    """
    budgets = [float(b) for b in budgets_m]
    if not budgets:
        return pd.DataFrame(columns=["n", "node", "agg_cost"])
    margin = margin_deg(max(budgets))
    edges = _WALK_EDGES.format(xmin=float(min(lon)) - margin, ymin=float(min(lat)) - margin,
                               xmax=float(max(lon)) + margin, ymax=float(max(lat)) + margin)
    # One call per start (the single-start signature, whose column names pgRouting kept stable
    # from 3.x on): each start has its own budget, the walk less the stretch to its street.
    rows = conn.execute(text("""
        SELECT t.n - 1, d.node, d.agg_cost
        FROM unnest(CAST(:vertices AS bigint[]), CAST(:budgets AS float8[])) WITH ORDINALITY AS t(vertex, budget, n)
        CROSS JOIN LATERAL pgr_drivingDistance(CAST(:edges AS text), t.vertex, t.budget, false) d
        ORDER BY t.n, d.agg_cost, d.node
    """), {"vertices": [int(v) for v in vertices], "budgets": budgets, "edges": edges}).all()
    return pd.DataFrame(rows, columns=["n", "node", "agg_cost"])


def streets_at(conn: Connection, vertices, srid: int) -> pd.DataFrame:
    """The streets with an end at any of the vertices: id, source, target, length_m, and the
    line (``geometry``, drawn from source to target) in the metric CRS ``srid``."""
    return place_frame(conn, """
        SELECT s.id, s.source, s.target, s.length_m, ST_AsBinary(ST_Transform(s.geom, :srid)) AS wkb
        FROM street_segment s
        WHERE s.source = ANY(CAST(:vertices AS bigint[])) OR s.target = ANY(CAST(:vertices AS bigint[]))
        ORDER BY s.id
    """, {"vertices": [int(v) for v in vertices], "srid": srid})


# What a catchment counts of the residents of the households inside it: a name and a condition
# on ``r`` (a resident), each summed over the households. Names and conditions are code, never input.
STATION_MEASURES = {"residents": "TRUE", "residents_needing_home_service": "r.needs_home_service"}

# Households in the place with their residents counted by each measure, and the catchments
# (metric WKB in).
_CATCHMENT_CTES = """
    WITH c AS (
        SELECT t.n - 1 AS n,
               ST_Transform(ST_GeomFromWKB(t.area, CAST(:srid AS integer)), 4326) AS area,
               ST_Transform(ST_GeomFromWKB(t.streets, CAST(:srid AS integer)), 4326) AS streets
        FROM unnest(CAST(:areas AS bytea[]), CAST(:streets AS bytea[])) WITH ORDINALITY AS t(area, streets, n)
    ), h AS (
        SELECT h.id, h.geom, {per_household}
        FROM household_point h JOIN {place} b ON ST_Intersects(h.geom, b.geom)
        LEFT JOIN resident_fact r ON r.household_id = h.id
        GROUP BY h.id, h.geom
    )
"""


def catchment_counts(conn: Connection, place: Place, areas, streets, measures: dict[str, str],
                     params: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """For each catchment (areas and street parts as shapely geometries in the place's metric
    CRS): its GeoJSON in lon/lat (``area``, ``streets``), the households of the place inside it
    and the sum of each measure (``STATION_MEASURES``, ``SCHOOL_MEASURES``) over them; and the
    same counts for the households inside none (the gap), with ``households_in_place``.
    ``params`` binds what the measures' conditions name."""
    if not all(name.isidentifier() for name in measures):
        raise ValueError(f"measure names must be SQL identifiers: {sorted(measures)}")
    ctes = _CATCHMENT_CTES.replace("{per_household}", ", ".join(
        f"count(r.household_id) FILTER (WHERE {condition}) AS {name}" for name, condition in measures.items()))
    sums = "".join(f", CAST(COALESCE(sum(h.{name}), 0) AS bigint) AS {name}" for name in measures)
    params = {**(params or {}), "place": place.wkb, "srid": place.srid,
              "areas": [shapely.to_wkb(g) for g in areas], "streets": [shapely.to_wkb(g) for g in streets]}
    per = place_frame(conn, ctes + f"""
        SELECT c.n, ST_AsGeoJSON(ST_Multi(c.area), {PRECISION}) AS area,
               ST_AsGeoJSON(ST_Multi(c.streets), {PRECISION}) AS streets, count(h.id) AS households{sums}
        FROM c LEFT JOIN h ON ST_Intersects(h.geom, c.area)
        GROUP BY c.n, c.area, c.streets ORDER BY c.n
    """, params)
    gap = conn.execute(place_sql(ctes + f"""
        SELECT count(*) AS households{sums}, (SELECT count(*) FROM h) AS households_in_place
        FROM h WHERE NOT EXISTS (SELECT 1 FROM c WHERE ST_Intersects(h.geom, c.area))
    """), params).mappings().one()
    return per, {name: int(value) for name, value in gap.items()}


# --- residents who need home service ---------------------------------------------------------


def _categories(values) -> dict[str, int]:
    counted = Counter(values)
    return {category: counted.get(category, 0) for category in RESIDENT_CATEGORIES}


def home_service_households(conn: Connection, *, beats: list[str] | None, limit: int,
                            after: int | None) -> tuple[list[dict], int | None]:
    """Households with a resident who needs home service, by id: the household's point, its
    building, how many need it and their categories. No names, no resident ids."""
    rows = conn.execute(text(f"""
        SELECT h.id, h.building_id, ST_AsGeoJSON(h.geom, {PRECISION}) AS geometry,
               count(*) AS needing, array_agg(r.category) AS categories
        FROM household h JOIN resident r ON r.household_id = h.id AND r.needs_home_service
        WHERE {_IN_BEATS.format(geom="h.geom")}
          AND (CAST(:after AS bigint) IS NULL OR h.id > CAST(:after AS bigint))
        GROUP BY h.id ORDER BY h.id LIMIT :limit
    """), {"beats": beats, "after": after, "limit": limit + 1}).all()
    rows, next_after = _page(rows, limit, lambda row: row.id)
    return [{"type": "Feature", "id": row.id, "geometry": json.loads(row.geometry),
             "properties": {"household_id": row.id, "building_id": row.building_id,
                            "residents_needing_home_service": row.needing,
                            "categories": _categories(row.categories)}}
            for row in rows], next_after


def home_service_buildings(conn: Connection, *, beats: list[str] | None, limit: int,
                           after: int | None) -> tuple[list[dict], int | None]:
    """Buildings with a resident who needs home service, by id: a point on the building, its
    address, the households and residents concerned and their categories (counts only)."""
    rows = conn.execute(text(f"""
        SELECT bl.id, bl.address, ST_AsGeoJSON(ST_PointOnSurface(bl.geom), {PRECISION}) AS geometry,
               count(DISTINCT r.household_id) AS households, count(*) AS needing,
               array_agg(r.category) AS categories
        FROM resident_fact r JOIN building bl ON bl.id = r.building_id
        WHERE r.needs_home_service AND {_IN_BEATS.format(geom="r.geom")}
          AND (CAST(:after AS bigint) IS NULL OR bl.id > CAST(:after AS bigint))
        GROUP BY bl.id ORDER BY bl.id LIMIT :limit
    """), {"beats": beats, "after": after, "limit": limit + 1}).all()
    rows, next_after = _page(rows, limit, lambda row: row.id)
    return [{"type": "Feature", "id": row.id, "geometry": json.loads(row.geometry),
             "properties": {"building_id": row.id, "address": row.address, "households": row.households,
                            "residents_needing_home_service": row.needing,
                            "categories": _categories(row.categories)}}
            for row in rows], next_after


# --- school-age children ---------------------------------------------------------------------


def _age_params(as_of: date) -> dict:
    return {"year": as_of.year, "youngest": SCHOOL_AGES[0], "oldest": SCHOOL_AGES[1]}


_AGE = "(CAST(:year AS integer) - r.birth_year)"
_SCHOOL_AGE = f"{_AGE} BETWEEN CAST(:youngest AS integer) AND CAST(:oldest AS integer)"


# What a school's catchment counts: the school-age children, and those of each stage.
SCHOOL_MEASURES = {"children": _SCHOOL_AGE,
                   **{stage: f"{_AGE} BETWEEN {low} AND {high}" for stage, (low, high) in SCHOOL_STAGES.items()}}


def school_age_params(as_of: date) -> dict:
    """What the school-age conditions (``SCHOOL_MEASURES``) bind, for the day asked about."""
    return _age_params(as_of)


def _stages(counted: str) -> str:
    """SQL counting ``counted`` (a column, or *) per school stage, one column per stage."""
    return ", ".join(f"count({counted}) FILTER (WHERE {_AGE} BETWEEN {low} AND {high}) AS {stage}"
                     for stage, (low, high) in SCHOOL_STAGES.items())


def children_per_building(conn: Connection, *, beats: list[str] | None, as_of: date, limit: int,
                          after: int | None) -> tuple[list[dict], int | None]:
    """Buildings with school-age children, by id: a point on the building, its address and use,
    the children (all, and per stage) and the households they live in. Counts only."""
    rows = conn.execute(text(f"""
        SELECT bl.id, bl.address, bl.use, ST_AsGeoJSON(ST_PointOnSurface(bl.geom), {PRECISION}) AS geometry,
               count(*) AS children, count(DISTINCT r.household_id) AS households, {_stages('*')}
        FROM resident_fact r JOIN building bl ON bl.id = r.building_id
        WHERE {_SCHOOL_AGE} AND {_IN_BEATS.format(geom="r.geom")}
          AND (CAST(:after AS bigint) IS NULL OR bl.id > CAST(:after AS bigint))
        GROUP BY bl.id ORDER BY bl.id LIMIT :limit
    """), {**_age_params(as_of), "beats": beats, "after": after, "limit": limit + 1}).all()
    rows, next_after = _page(rows, limit, lambda row: row.id)
    return [{"type": "Feature", "id": row.id, "geometry": json.loads(row.geometry),
             "properties": {"building_id": row.id, "address": row.address, "use": row.use,
                            "children": row.children, "households": row.households,
                            "by_stage": {stage: getattr(row, stage) for stage in SCHOOL_STAGES}}}
            for row in rows], next_after


def children_per_beat(conn: Connection, *, beats: list[str] | None, as_of: date) -> list[dict]:
    """Each beat (those asked for, or all) with its school-age children, per stage too."""
    rows = conn.execute(text(f"""
        SELECT b.code, count(r.household_id) AS children, {_stages('r.household_id')}
        FROM beat b LEFT JOIN resident_fact r ON ST_Intersects(r.geom, b.geom) AND {_SCHOOL_AGE}
        WHERE CAST(:beats AS text[]) IS NULL OR b.code = ANY(CAST(:beats AS text[]))
        GROUP BY b.code ORDER BY b.code
    """), {**_age_params(as_of), "beats": beats}).all()
    return [{"beat": row.code, "children": row.children,
             "by_stage": {stage: getattr(row, stage) for stage in SCHOOL_STAGES}} for row in rows]


# --- facility issues -------------------------------------------------------------------------


_ISSUE_FIELDS = f"""
    f.id, f.kind, f.description, f.owner, f.status, f.reported_on, f.version,
    ST_AsGeoJSON(f.geom, {PRECISION}) AS geometry
"""


def _issue_feature(row) -> dict:
    return {"type": "Feature", "id": row.id, "geometry": json.loads(row.geometry),
            "properties": {"id": row.id, "kind": row.kind, "description": row.description, "owner": row.owner,
                           "status": row.status, "reported_on": row.reported_on.isoformat(),
                           "version": row.version}}


def facility_issues(conn: Connection, *, beats: list[str] | None, status: str | None, limit: int,
                    after: int | None) -> tuple[list[dict], int | None]:
    """A page of facility issues (in the beats, of the status, if given) by id."""
    rows = conn.execute(text(f"""
        SELECT {_ISSUE_FIELDS} FROM facility_issue f
        WHERE {_IN_BEATS.format(geom="f.geom")}
          AND (CAST(:status AS text) IS NULL OR f.status = CAST(:status AS text))
          AND (CAST(:after AS bigint) IS NULL OR f.id > CAST(:after AS bigint))
        ORDER BY f.id LIMIT :limit
    """), {"beats": beats, "status": status, "after": after, "limit": limit + 1}).all()
    rows, next_after = _page(rows, limit, lambda row: row.id)
    return [_issue_feature(row) for row in rows], next_after


def facility_issue(conn: Connection, issue_id: int) -> dict | None:
    row = conn.execute(text(f"SELECT {_ISSUE_FIELDS} FROM facility_issue f WHERE f.id = :id"),
                       {"id": issue_id}).one_or_none()
    return None if row is None else _issue_feature(row)


@dataclass(frozen=True)
class IssueState:
    id: int
    status: str
    owner: str | None
    version: int


def issue_state(conn: Connection, issue_id: int) -> IssueState | None:
    """An issue's status, owner and version, its row held until the transaction ends."""
    row = conn.execute(text("SELECT id, status, owner, version FROM facility_issue WHERE id = :id FOR UPDATE"),
                       {"id": issue_id}).one_or_none()
    return IssueState(*row) if row else None


def insert_issue(conn: Connection, *, kind: str, description: str | None, owner: str | None,
                 reported_on: date, lon: float, lat: float) -> int:
    """A new facility issue, status open."""
    return conn.execute(text("""
        INSERT INTO facility_issue (kind, description, owner, status, reported_on, geom)
        VALUES (:kind, :description, :owner, 'open', :reported_on, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
        RETURNING id
    """), {"kind": kind, "description": description, "owner": owner, "reported_on": reported_on,
           "lon": lon, "lat": lat}).scalar_one()


def update_issue(conn: Connection, issue_id: int, *, version: int, status: str, owner: str | None) -> int | None:
    """Set status and owner if the issue is still at ``version``; its new version, or None."""
    return conn.execute(text("""
        UPDATE facility_issue SET status = :status, owner = :owner, version = version + 1
        WHERE id = :id AND version = :version RETURNING version
    """), {"id": issue_id, "version": version, "status": status, "owner": owner}).scalar_one_or_none()
