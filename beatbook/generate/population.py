"""Seeded generators shared by the Helsinki demo and the synthetic district.

Everything here is pure: a seed (or a numpy ``Generator``) and a reference date in,
frames out; no clock, no files, no database. So the same seed gives the same
dataset, and every date is placed relative to ``reference_date``.

The place (streets, buildings, entrances, beats, officers, premises) is built by
``demo`` or ``district``; ``populate`` then adds the people and the events in the
same way for both. Geometries are built and measured in the place's metric CRS
(metres); ``finalize`` turns them into EPSG:4326 for storage at the very end.
"""

from __future__ import annotations

import heapq
import math
import zlib
from dataclasses import dataclass
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatbook.generate import DATA_TABLES
from beatbook.personal import hash_identity, last4
from db.models import (
    ACCESS_DEVICE_KINDS,
    CAMPAIGN_KINDS,
    CAMPAIGN_TOPICS,
    DISPUTE_REPORTERS,
    FACILITY_STATUSES,
    HAZARD_CATEGORIES,
    REFERRAL_BODIES,
    SRID,
    metadata,
)

# --- randomness, frames and time ---------------------------------------------------------


def stream(seed: int, stage: str) -> np.random.Generator:
    """A generator for one stage, keyed by its name: adding a stage never shifts another's draws."""
    return np.random.default_rng([seed, zlib.crc32(stage.encode())])


def geoframe(crs, geom, **columns) -> gpd.GeoDataFrame:
    """A frame whose geometry column is ``geom``, as every table of the model names it."""
    data = {**columns, "geom": np.asarray(geom, dtype=object)}
    return gpd.GeoDataFrame(data, geometry="geom", crs=crs)


def with_ids(frame: pd.DataFrame, start: int = 1) -> pd.DataFrame:
    """Number rows from ``start``: explicit ids let other frames refer to them before loading."""
    frame.insert(0, "id", np.arange(start, start + len(frame), dtype=np.int64))
    return frame


def dates_before(reference_date: date, days) -> np.ndarray:
    """Calendar dates ``days`` before the reference date (negative: after), as ``datetime.date``."""
    offsets = np.asarray(days, dtype=np.int64).astype("timedelta64[D]")
    return (np.datetime64(reference_date, "D") - offsets).astype(object)


def instants(days, seconds, tz: str) -> pd.DatetimeIndex:
    """Local wall-clock times (day + seconds after its midnight) as time-zone-aware instants.

    The hour repeated when clocks go back is read as standard time and the hour
    skipped when they go forward moves on, so every input gives exactly one instant.
    """
    naive = np.asarray(days, dtype="datetime64[D]").astype("datetime64[s]")
    naive = naive + np.asarray(seconds, dtype=np.int64).astype("timedelta64[s]")
    index = pd.DatetimeIndex(naive)
    return index.tz_localize(
        tz, ambiguous=np.zeros(len(index), dtype=bool), nonexistent="shift_forward"
    )


def optional_ids(values: np.ndarray, present: np.ndarray) -> pd.arrays.IntegerArray:
    """A nullable integer column: ``values`` where ``present``, NULL elsewhere."""
    column = pd.array(np.asarray(values, dtype=np.int64), dtype="Int64")
    column[~np.asarray(present, dtype=bool)] = pd.NA
    return column


def pick(rng: np.random.Generator, choices, size: int, p=None) -> np.ndarray:
    """``size`` draws from a small vocabulary, as an object array of str (pandas keeps it text)."""
    weights = None if p is None else np.asarray(p, dtype=float) / np.sum(p)
    return np.asarray(choices, dtype=object)[rng.choice(len(choices), size=size, p=weights)]


def group_rank(groups: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal values of a sorted array."""
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    return np.arange(len(groups)) - np.repeat(starts, np.diff(np.r_[starts, len(groups)]))


# --- names and identity numbers -----------------------------------------------------------


@dataclass(frozen=True)
class NamePool:
    """Family and given names to combine into synthetic people, and which comes first."""

    family: tuple[str, ...]
    given: tuple[str, ...]
    family_first: bool


FINNISH_NAMES = NamePool(
    family=tuple(
        "Virtanen Korhonen Mäkinen Nieminen Mäkelä Hämäläinen Laine Heikkinen Koskinen"
        " Järvinen Lehtonen Lehtinen Saarinen Salminen Heinonen Niemi Heikkilä Kinnunen"
        " Salonen Turunen".split()
    ),
    given=tuple(
        "Aino Eino Helmi Juhani Johanna Mikko Maria Matti Liisa Antti Anna Timo Elina Pekka"
        " Sanna Ville Emilia Jari Kaisa Onni Leena Tuomas Sofia Kari".split()
    ),
    family_first=False,
)
CHINESE_NAMES = NamePool(
    family=tuple(
        "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Luo Gao".split()
    ),
    given=tuple(
        "Wei Fang Na Min Jing Li Qiang Lei Jun Yang Yong Yan Jie Juan Tao Ming Chao Xiu Xia"
        " Ping Gang Hui Hao Yu".split()
    ),
    family_first=True,
)


def full_names(pool: NamePool, family: np.ndarray, given: np.ndarray) -> np.ndarray:
    first, second = (family, given) if pool.family_first else (given, family)
    return np.char.add(np.char.add(first.astype(str), " "), second.astype(str)).astype(object)


def names(rng: np.random.Generator, n: int, pool: NamePool) -> np.ndarray:
    family = np.asarray(pool.family)[rng.integers(len(pool.family), size=n)]
    given = np.asarray(pool.given)[rng.integers(len(pool.given), size=n)]
    return full_names(pool, family, given)


_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)


def _identity_numbers(rng: np.random.Generator, birth_years: np.ndarray) -> np.ndarray:
    """18-character numbers laid out as PRC resident identity numbers, check character included.

    Region code, birth date, sequence number, ISO 7064 MOD 11-2 check. The region
    code starts with 99, which no region has, so no generated number is a real one.
    Callers hash them at once and drop them: the raw numbers never reach a frame.
    """
    n = len(birth_years)
    year_start = (np.asarray(birth_years) - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    born = year_start + rng.integers(0, 365, n)
    ymd = np.datetime_as_string(born).astype("S10").view(np.uint8).reshape(n, 10)
    ymd = ymd[:, [0, 1, 2, 3, 5, 6, 8, 9]].astype(np.int64) - ord("0")
    digits = np.hstack(
        [np.full((n, 2), 9), rng.integers(0, 10, (n, 4)), ymd, rng.integers(0, 10, (n, 3))]
    )
    # One person, one number (the database refuses a second resident with it): draw the
    # random digits again where a number came out twice, which is rare enough that the
    # demo never does and its rows stay as they were.
    while len(repeated := _repeated_rows(digits)):
        digits[repeated, 2:6] = rng.integers(0, 10, (len(repeated), 4))
        digits[repeated, 14:] = rng.integers(0, 10, (len(repeated), 3))
    check = _ID_CHECK[(digits @ _ID_WEIGHTS) % 11]
    ascii_codes = np.hstack([(digits + ord("0")).astype(np.uint8), check[:, None]])
    return ascii_codes.view("S18").ravel().astype(str)


def _repeated_rows(digits: np.ndarray) -> np.ndarray:
    """The rows equal to an earlier row."""
    _, first = np.unique(digits, axis=0, return_index=True)
    return np.setdiff1d(np.arange(len(digits)), first)


# --- geometry helpers ---------------------------------------------------------------------


def polygon_index(points: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Position of the polygon holding each point (the nearest one for points just outside)."""
    found, poly = shapely.STRtree(polygons).query_nearest(points, all_matches=False)
    out = np.empty(len(points), dtype=np.int64)
    out[found] = poly
    return out


def points_along(rng: np.random.Generator, lines: np.ndarray, n: int) -> np.ndarray:
    """Random points on random lines, chosen in proportion to length so long streets see more."""
    length = shapely.length(lines)
    which = rng.choice(len(lines), size=n, p=length / length.sum())
    return shapely.line_interpolate_point(lines[which], rng.random(n), normalized=True)


def jitter(rng: np.random.Generator, points: np.ndarray, sigma_m) -> np.ndarray:
    xy = shapely.get_coordinates(points)
    xy = xy + rng.normal(0.0, 1.0, xy.shape) * np.asarray(sigma_m, dtype=float).reshape(-1, 1)
    return shapely.points(xy)


def outline_entrances(
    geoms: np.ndarray, toward: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``counts`` entrances on each building's outline (building index, point, rank).

    The first (rank 0) is where the outline comes closest to ``toward`` (the
    nearest street): that is where the front door usually is. The others are
    spread evenly round the outline from there, as doors on the other sides.
    """
    outlines = shapely.boundary(geoms)
    nearest = shapely.get_point(shapely.shortest_line(outlines, toward), 0)
    start = shapely.line_locate_point(outlines, nearest)
    building = np.repeat(np.arange(len(geoms)), counts)
    rank = group_rank(building)
    perimeter = shapely.length(outlines)[building]
    position = (start[building] + rank * perimeter / counts[building]) % perimeter
    return building, shapely.line_interpolate_point(outlines[building], position), rank


def snap_to_outline(geoms: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Move each point to the nearest point of its building's outline, where a door can be."""
    outlines = shapely.boundary(geoms)
    return shapely.line_interpolate_point(outlines, shapely.line_locate_point(outlines, points))


def nearest_geometry(targets: np.ndarray, geoms: np.ndarray) -> np.ndarray:
    """For each geometry, the nearest of ``targets``."""
    found, target = shapely.STRtree(targets).query_nearest(geoms, all_matches=False)
    out = np.empty(len(geoms), dtype=object)
    out[found] = targets[target]
    return out


def entrance_frame(
    rng: np.random.Generator,
    buildings: gpd.GeoDataFrame,
    rows: np.ndarray,
    points: np.ndarray,
    kind: np.ndarray,
    osm_id: pd.arrays.IntegerArray | None = None,
) -> gpd.GeoDataFrame:
    """Entrances of the buildings at ``rows``, ordered by building, with their security.

    About 30% have access control, half of managed buildings' doors and one in six
    of unmanaged ones (property companies install it); half are lit.
    """
    order = np.argsort(rows, kind="stable")
    managed = buildings["managed"].to_numpy()[rows[order]]
    if osm_id is None:
        osm_id = pd.array(np.full(len(rows), None), dtype="Int64")
    frame = geoframe(
        buildings.crs,
        points[order],
        building_id=buildings["id"].to_numpy()[rows[order]],
        osm_id=osm_id[order],
        kind=kind[order],
        access_control=rng.random(len(rows)) < np.where(managed, 0.5, 0.17),
        lit=rng.random(len(rows)) < 0.5,
    )
    return with_ids(frame)


def other_door_kinds(rng: np.random.Generator, rank: np.ndarray) -> np.ndarray:
    """A building's first door is its main one; the others mostly service and emergency doors."""
    others = pick(
        rng, ("service", "garage", "emergency", "other"), len(rank), p=(0.5, 0.15, 0.25, 0.1)
    )
    return np.where(rank == 0, "main", others).astype(object)


# --- the place handed to populate ---------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How much of everything to generate for a place, and in which local setting."""

    reference_date: date
    tz: str
    names: NamePool
    id_hash_key: str
    units_per_floor: float  # households per floor of a residential building
    default_floors: int  # for buildings whose height is unknown
    incident_days: int
    n_incidents: int
    n_disputes: int
    n_campaigns: int
    n_facility_issues: int
    n_hazardous_sites: int
    patrol_nights: int
    n_patrol_shifts: int


class Place:
    """The frames that make a place, with the look-ups ``populate`` needs from them.

    Frames are in the place's metric CRS with ids set: ``building`` (ids ascending;
    ``address``, ``floors``, ``use``, ``managed``, optionally ``name``),
    ``entrance`` (every building has at least one), ``street_segment``, ``beat``,
    ``officer_beat`` and ``premises``.
    """

    def __init__(self, seed: int, frames: dict[str, gpd.GeoDataFrame], reference_date: date):
        self.frames = frames
        self.crs = frames["building"].crs
        buildings = frames["building"]
        self.building_ids = buildings["id"].to_numpy()
        self.inside = shapely.point_on_surface(buildings.geometry.values)
        self.residential = buildings["use"].to_numpy() == "residential"
        self.duty = on_duty(frames["officer_beat"], reference_date)
        self.building_officer = self.officers_at(stream(seed, "duty"), self.inside)
        door_row = self.building_rows(frames["entrance"]["building_id"])
        unmanaged = self.residential & ~buildings["managed"].to_numpy()
        self.unmanaged_doors = frames["entrance"].geometry.values[unmanaged[door_row]]
        label = buildings["address"]
        if "name" in buildings:
            label = label.fillna(buildings["name"])
        self.labels = label.to_numpy(dtype=object)  # what a building is called on a notice

    def building_rows(self, ids) -> np.ndarray:
        """Row positions of buildings given their ids."""
        return np.searchsorted(self.building_ids, np.asarray(ids))

    def beat_of(self, points: np.ndarray) -> np.ndarray:
        beats = self.frames["beat"]
        return beats["id"].to_numpy()[polygon_index(points, beats.geometry.values)]

    def officers_at(self, rng: np.random.Generator, points: np.ndarray) -> pd.arrays.IntegerArray:
        return officers_for_beats(rng, self.duty, self.beat_of(points))


def populate(seed: int, frames: dict[str, gpd.GeoDataFrame], plan: Plan) -> dict[str, pd.DataFrame]:
    """People and events for a place: the part of a dataset the demo and the district share."""
    place = Place(seed, frames, plan.reference_date)
    people = _population(seed, place, plan)
    return {
        **people,
        **_units(seed, place, plan),
        **_events(seed, place, plan, _elderly_per_building(place, people, plan.reference_date)),
        "access_control_device": access_control_devices(
            stream(seed, "access"), frames["entrance"], plan.reference_date
        ),
        "gps_fix": _patrols(seed, place, plan),
    }


def _population(seed: int, place: Place, plan: Plan) -> dict[str, pd.DataFrame]:
    ref = plan.reference_date
    homes = households(
        stream(seed, "households"), place.frames["building"], place.frames["entrance"], plan
    )
    people = residents(stream(seed, "residents"), homes, plan)
    registrations = temporary_registrations(stream(seed, "registrations"), people, ref)
    home_officer = place.building_officer[place.building_rows(homes["building_id"])]
    return {
        "household": homes,
        "resident": people,
        "temporary_registration": registrations,
        "movement": movements(
            stream(seed, "movements"), people, homes, registrations, place.building_ids, ref
        ),
        "home_visit": home_visits(stream(seed, "visits"), homes, home_officer, ref, plan.tz),
        "storage_finding": storage_findings(stream(seed, "storage"), homes, ref),
    }


def _elderly_per_building(
    place: Place, people: dict[str, pd.DataFrame], reference_date: date
) -> np.ndarray:
    """Residents aged 65 or more in each building: where fraud lands and anti-fraud talks go."""
    homes, residents_ = people["household"], people["resident"]
    home_row = np.searchsorted(homes["id"].to_numpy(), residents_["household_id"].to_numpy())
    building_row = place.building_rows(homes["building_id"].to_numpy()[home_row])
    old = residents_["birth_year"].to_numpy() <= reference_date.year - 65
    return np.bincount(building_row, weights=old, minlength=len(place.building_ids))


def _units(seed: int, place: Place, plan: Plan) -> dict[str, pd.DataFrame]:
    """Hazardous sites (in non-residential buildings where there are any) and inspections."""
    candidates = place.inside[~place.residential] if (~place.residential).any() else place.inside
    sites = hazardous_sites(
        stream(seed, "hazardous"), plan.n_hazardous_sites, candidates, plan.names, place.crs
    )
    premises = place.frames["premises"]
    return {
        "hazardous_site": sites,
        "inspection": inspections(
            stream(seed, "inspections"),
            premises["id"].to_numpy(),
            place.officers_at(stream(seed, "duty-premises"), premises.geometry.values),
            sites["id"].to_numpy(),
            place.officers_at(stream(seed, "duty-sites"), sites.geometry.values),
            plan.reference_date,
        ),
    }


def _events(seed: int, place: Place, plan: Plan, elderly: np.ndarray) -> dict[str, pd.DataFrame]:
    ref, crs, frames = plan.reference_date, place.crs, place.frames
    buildings, streets = frames["building"], frames["street_segment"].geometry.values
    commercial = buildings["use"].to_numpy() == "commercial"
    homes = place.residential if place.residential.any() else np.ones(len(buildings), dtype=bool)
    quarrels = disputes(
        stream(seed, "disputes"),
        plan.n_disputes,
        place.building_ids[homes],
        place.inside[homes],
        ref,
        crs,
    )
    talks = mediations(
        stream(seed, "mediations"),
        quarrels,
        place.building_officer[place.building_rows(quarrels["building_id"])],
        ref,
    )
    return {
        "incident": incidents(
            stream(seed, "incidents"),
            plan.n_incidents,
            start=dates_before(ref, [plan.incident_days])[0],
            end=ref,
            tz=plan.tz,
            crs=crs,
            burglary_targets=place.unmanaged_doors,
            busy_points=np.concatenate(
                [frames["premises"].geometry.values, place.inside[commercial]]
            ),
            homes=place.inside[homes],
            home_weights=1.0 + elderly[homes],
            streets=streets,
        ),
        "dispute": closing_dates(quarrels, talks),
        "mediation": talks,
        "campaign": campaigns(
            stream(seed, "campaigns"),
            plan.n_campaigns,
            place.inside,
            1.0 + elderly,
            place.labels,
            ref,
            crs,
        ),
        "facility_issue": facility_issues(
            stream(seed, "facilities"), plan.n_facility_issues, streets, ref, crs
        ),
        "service_station": service_stations(
            stream(seed, "service"),
            place.inside,
            place.beat_of(place.inside),
            frames["beat"]["id"].to_numpy(),
            crs,
        ),
    }


def _patrols(seed: int, place: Place, plan: Plan) -> gpd.GeoDataFrame:
    graph = StreetGraph(place.frames["street_segment"])
    schedule = patrol_schedule(
        stream(seed, "schedule"),
        place.duty,
        dates_before(plan.reference_date, np.arange(plan.patrol_nights, 0, -1)),
        plan.n_patrol_shifts,
    )
    pools = patrol_pools(
        graph, place.beat_of(shapely.points(graph.xy)), place.duty, place.unmanaged_doors
    )
    return night_patrols(stream(seed, "patrols"), graph, schedule, pools, plan.tz, place.crs)


def on_duty(officer_beat: pd.DataFrame, on: date) -> pd.DataFrame:
    """The officer-beat assignments in force on a date."""
    day = np.datetime64(on, "D")
    start = np.array(officer_beat["valid_from"].to_numpy(dtype=object), dtype="datetime64[D]")
    end = np.array(officer_beat["valid_to"].to_numpy(dtype=object), dtype="datetime64[D]")
    return officer_beat[(start <= day) & ~(end < day)]


def officers_for_beats(
    rng: np.random.Generator, duty: pd.DataFrame, beat_ids: np.ndarray
) -> pd.arrays.IntegerArray:
    """For each row's beat, one of the officers on duty there (NULL for a beat nobody has)."""
    out = np.zeros(len(beat_ids), dtype=np.int64)
    for beat, officers in duty.groupby("beat_id")["officer_id"]:
        rows = np.flatnonzero(beat_ids == beat)
        out[rows] = officers.to_numpy()[rng.integers(len(officers), size=len(rows))]
    return optional_ids(out, out > 0)


# --- households and residents -------------------------------------------------------------


def households(
    rng: np.random.Generator, buildings: gpd.GeoDataFrame, entrances: gpd.GeoDataFrame, plan: Plan
) -> gpd.GeoDataFrame:
    """Households in residential buildings, more on more floors, each behind one of its doors.

    The unit is the stairway (entrance) and the household's point is that entrance:
    it is where an officer knocks. Rooms are numbered floor-by-floor (101, 201, ...).
    """
    floors = buildings["floors"].astype("Float64").fillna(plan.default_floors).to_numpy(dtype=float)
    residential = buildings["use"].to_numpy() == "residential"
    count = np.where(residential, np.maximum(1, rng.poisson(floors * plan.units_per_floor)), 0)
    building = np.repeat(np.arange(len(buildings)), count)
    rank = group_rank(building)
    levels = np.maximum(1, floors[building].astype(np.int64))
    room = ((rank % levels) + 1) * 100 + rank // levels + 1

    door_building = np.searchsorted(buildings["id"].to_numpy(), entrances["building_id"].to_numpy())
    order = np.argsort(door_building, kind="stable")
    first = np.searchsorted(door_building[order], np.arange(len(buildings)))
    stair = rank % np.bincount(door_building, minlength=len(buildings))[building]
    frame = geoframe(
        buildings.crs,
        entrances.geometry.values[order[first[building] + stair]],
        building_id=buildings["id"].to_numpy()[building],
        unit=np.char.add("U", (stair + 1).astype(str)).astype(object),
        room=room.astype(str).astype(object),
        tenure=pick(rng, ("registered", "rented"), len(building), p=(0.7, 0.3)),
    )
    return with_ids(frame)


def residents(rng: np.random.Generator, homes: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """Members of each household, one family name per household, with keyed identity hashes.

    Ages follow household position (two adults, then mostly children); tenants are
    mostly temporary or floating residents; the very old often need home service.
    """
    size = 1 + rng.binomial(4, 0.35, len(homes))
    home = np.repeat(np.arange(len(homes)), size)
    rank = group_rank(home)
    n = len(home)
    elder = rng.random(n) < 0.3
    adult_age = np.where(elder, rng.integers(65, 96, n), rng.integers(20, 65, n))
    age = np.where((rank < 2) | (rng.random(n) < 0.3), adult_age, rng.integers(0, 19, n))
    rented = homes["tenure"].to_numpy() == "rented"
    household_category = np.where(
        rented,
        pick(rng, ("permanent", "temporary", "floating"), len(homes), p=(0.2, 0.55, 0.25)),
        pick(rng, ("permanent", "temporary", "floating"), len(homes), p=(0.9, 0.07, 0.03)),
    )
    birth_year = plan.reference_date.year - age
    household_family = np.asarray(plan.names.family)[
        rng.integers(len(plan.names.family), size=len(homes))
    ]
    family = household_family[home]
    given = np.asarray(plan.names.given)[rng.integers(len(plan.names.given), size=n)]
    id_hash, id_last4 = _hashed_identities(rng, birth_year, plan.id_hash_key)
    frame = pd.DataFrame(
        {
            "household_id": homes["id"].to_numpy()[home],
            "name": full_names(plan.names, family, given),
            "id_hash": id_hash,
            "id_last4": id_last4,
            "category": household_category[home],
            "birth_year": birth_year,
            "lives_alone": size[home] == 1,
            "needs_home_service": ((age >= 80) & (rng.random(n) < 0.35)) | (rng.random(n) < 0.01),
        }
    )
    return with_ids(frame)


def _hashed_identities(
    rng: np.random.Generator, birth_years: np.ndarray, key: str
) -> tuple[np.ndarray, np.ndarray]:
    """Keyed hash and last four characters of fresh synthetic numbers; the numbers are dropped."""
    numbers = _identity_numbers(rng, birth_years)
    hashes = np.empty(len(numbers), dtype=object)
    hashes[:] = [hash_identity(number, key) for number in numbers]
    return hashes, np.array([last4(number) for number in numbers], dtype=object)


def temporary_registrations(
    rng: np.random.Generator, people: pd.DataFrame, reference_date: date
) -> pd.DataFrame:
    """Registrations of temporary (all) and floating (some) residents for 6 or 12 months.

    About one in seven runs out within the next 30 days, and the older ones have
    lapsed already, so the ledger has both reminders and overdue renewals to show.
    """
    category = people["category"].to_numpy()
    holder = np.flatnonzero(
        (category == "temporary") | ((category == "floating") & (rng.random(len(people)) < 0.3))
    )
    n = len(holder)
    length = np.where(rng.random(n) < 0.5, 182, 365)
    ends_in = np.where(rng.random(n) < 0.15, rng.integers(1, 31, n), rng.integers(-200, 366, n))
    ends_in = np.minimum(ends_in, length - 1)  # every registration has begun by the reference date
    employers = (
        "Harbour Logistics",
        "City Cleaning Services",
        "Metro Catering",
        "Northgate Construction",
        "Corner Market",
    )
    frame = pd.DataFrame(
        {
            "resident_id": people["id"].to_numpy()[holder],
            "valid_from": dates_before(reference_date, length - ends_in),
            "valid_to": dates_before(reference_date, -ends_in),
            "employer": np.where(rng.random(n) < 0.7, pick(rng, employers, n), None),
        }
    )
    return with_ids(frame)


def movements(
    rng: np.random.Generator,
    people: pd.DataFrame,
    homes: pd.DataFrame,
    registrations: pd.DataFrame,
    building_ids: np.ndarray,
    reference_date: date,
) -> pd.DataFrame:
    """The in/out log: moves in, moves out of another building, and departures.

    Non-permanent residents (and a few permanent ones) moved in, on their
    registration day when they have one; three in ten of them came from another
    building of the area; and people who left are logged without a resident record.
    """
    building = homes["building_id"].to_numpy()[
        np.searchsorted(homes["id"].to_numpy(), people["household_id"].to_numpy())
    ]
    moved_on = dates_before(reference_date, rng.integers(1, 730, len(people)))
    registered = np.searchsorted(people["id"].to_numpy(), registrations["resident_id"].to_numpy())
    moved_on[registered] = registrations["valid_from"].to_numpy(dtype=object)

    came = np.flatnonzero(
        (people["category"].to_numpy() != "permanent") | (rng.random(len(people)) < 0.05)
    )
    local = came[rng.random(len(came)) < 0.3]
    left = rng.integers(0, len(building_ids), max(1, len(homes) // 20))
    resident_ids = people["id"].to_numpy()
    frame = pd.DataFrame(
        {
            "resident_id": optional_ids(
                np.r_[resident_ids[came], resident_ids[local], np.zeros(len(left), np.int64)],
                np.r_[np.ones(len(came) + len(local), bool), np.zeros(len(left), bool)],
            ),
            "building_id": np.r_[
                building[came],
                building_ids[rng.integers(0, len(building_ids), len(local))],
                building_ids[left],
            ],
            "direction": np.repeat(
                np.array(["in", "out"], dtype=object), [len(came), len(local) + len(left)]
            ),
            "moved_on": np.r_[
                moved_on[came],
                moved_on[local],
                dates_before(reference_date, rng.integers(1, 365, len(left))),
            ],
            "note": np.repeat(
                np.array(
                    [None, "moved within the area", "left the area; record closed"], dtype=object
                ),
                [len(came), len(local), len(left)],
            ),
        }
    )
    return with_ids(frame)


def home_visits(
    rng: np.random.Generator,
    homes: pd.DataFrame,
    officers: pd.arrays.IntegerArray,
    reference_date: date,
    tz: str,
) -> pd.DataFrame:
    """Up to three visits a year to most households, each setting the next one 120 days on.

    The latest visit falls 1-160 days back, so about a quarter of visited
    households are overdue on the reference date.
    """
    visited = np.flatnonzero(rng.random(len(homes)) < 0.7)
    count = rng.integers(1, 4, len(visited))
    home = np.repeat(visited, count)
    rank = group_rank(home)
    days_back = (
        rng.integers(1, 161, len(visited))[np.searchsorted(visited, home)]
        + rank * 120
        + rng.integers(0, 10, len(home))
    )
    visited_on = np.datetime64(reference_date, "D") - days_back.astype("timedelta64[D]")
    findings = (
        "family well; no concerns",
        "elderly resident living alone; checked in",
        "tenant change reported; registration advised",
        "neighbour noise complaint noted",
        "asked about ID card renewal",
        "nobody home; left a card",
    )
    frame = pd.DataFrame(
        {
            "household_id": homes["id"].to_numpy()[home],
            "officer_id": pd.array(officers, dtype="Int64")[home],
            "visited_at": instants(visited_on, rng.integers(9 * 3600, 19 * 3600, len(home)), tz),
            "findings": pick(rng, findings, len(home)),
            "next_due": (visited_on + np.timedelta64(120, "D")).astype(object),
        }
    )
    return with_ids(frame)


def storage_findings(rng: np.random.Generator, homes: pd.DataFrame, reference_date: date) -> pd.DataFrame:
    """Chemicals found stored improperly in one home in two hundred over the last 120 days, each
    with a follow-up two weeks on; seven in ten of those already due were followed up, and most
    of those found put right."""
    home = np.flatnonzero(rng.random(len(homes)) < 0.005)
    found_on = np.datetime64(reference_date, "D") - rng.integers(1, 121, len(home)).astype("timedelta64[D]")
    follow_up_on = found_on + np.timedelta64(14, "D")
    due = follow_up_on <= np.datetime64(reference_date, "D")
    followed = due & (rng.random(len(home)) < 0.7)
    substances = ("paint thinner", "pesticide", "LPG cylinder", "fireworks", "bleach and acid cleaners")
    findings = ("kept beside the stove", "in a child's reach", "in the stairwell", "no ventilation",
                "in unlabelled bottles")
    followed_up_on = np.where(followed, follow_up_on + rng.integers(0, 5, len(home)).astype("timedelta64[D]"),
                              np.datetime64("NaT"))
    frame = pd.DataFrame({
        "household_id": homes["id"].to_numpy()[home],
        "found_on": found_on.astype(object),
        "substance": pick(rng, substances, len(home)),
        "finding": pick(rng, findings, len(home)),
        "education": "explained safe storage on the spot; leaflet left",
        "follow_up_on": follow_up_on.astype(object),
        "followed_up_on": pd.Series(followed_up_on).dt.date.astype(object).where(followed, None),
        "resolved": followed & (rng.random(len(home)) < 0.85),
    })
    return with_ids(frame)


# --- incidents, disputes, education, facilities ---------------------------------------------

INCIDENT_SHARES = {
    "burglary": 0.35,
    "theft": 0.3,
    "robbery": 0.05,
    "fraud": 0.15,
    "vandalism": 0.15,
}
NIGHT_SHARE = {"burglary": 0.85, "theft": 0.2, "robbery": 0.7, "fraud": 0.0, "vandalism": 0.8}
NIGHT_START_S = 22 * 3600
NIGHT_LENGTH_S = 8 * 3600


def incidents(
    rng: np.random.Generator,
    n: int,
    *,
    start: date,
    end: date,
    tz: str,
    crs,
    burglary_targets: np.ndarray,
    busy_points: np.ndarray,
    homes: np.ndarray,
    home_weights: np.ndarray,
    streets: np.ndarray,
) -> gpd.GeoDataFrame:
    """Incidents between ``start`` and ``end`` where and when each kind happens.

    Burglaries cluster round a few entrances of unmanaged residential buildings and
    mostly at night (the pattern night patrols are meant to break); thefts round
    shops in the day, fraud at homes with more elderly people, robbery and vandalism
    on the streets at night. A kind whose places a small area lacks happens on a street.
    """
    kinds = list(INCIDENT_SHARES)
    kind = np.asarray(kinds, dtype=object)[
        rng.choice(len(kinds), size=n, p=list(INCIDENT_SHARES.values()))
    ]
    on_streets = (np.empty(0, dtype=object), 0.0, None)
    places = {  # candidate points, spread (m), weights
        "burglary": (burglary_targets, None, None),
        "theft": (busy_points, 15.0, None),
        "robbery": on_streets,
        "fraud": (homes, 0.0, home_weights),
        "vandalism": on_streets,
    }
    geom = np.empty(n, dtype=object)
    night = np.zeros(n, dtype=bool)
    for name, night_share in NIGHT_SHARE.items():
        rows = np.flatnonzero(kind == name)
        points, spread, weights = places[name]
        if not len(points):
            geom[rows] = points_along(rng, streets, len(rows))
        elif name == "burglary":
            geom[rows] = _burglaries(rng, points, len(rows))
        else:
            p = None if weights is None else weights / weights.sum()
            geom[rows] = jitter(rng, points[rng.choice(len(points), size=len(rows), p=p)], spread)
        night[rows] = rng.random(len(rows)) < night_share
    days = np.datetime64(start, "D") + rng.integers(0, (end - start).days, n).astype(
        "timedelta64[D]"
    )
    # a night hour of the day itself (00:00-06:00 or 22:00-24:00), so nothing spills past ``end``
    night_s = (NIGHT_START_S + rng.integers(0, NIGHT_LENGTH_S, n)) % 86400
    seconds = np.where(night, night_s, rng.integers(8 * 3600, 20 * 3600, n))
    frame = geoframe(
        crs,
        geom,
        occurred_at=instants(days, seconds, tz),
        type=kind,
        source=pick(rng, ("call", "report", "patrol"), n, p=(0.6, 0.25, 0.15)),
        description=np.char.add(kind.astype(str), " (synthetic record)").astype(object),
    )
    return with_ids(frame.sort_values("occurred_at", kind="stable").reset_index(drop=True))


def _burglaries(rng: np.random.Generator, targets: np.ndarray, n: int) -> np.ndarray:
    """Seven in ten at a few hotspot entrances (within ~20 m), the rest at any unmanaged door."""
    hotspots = targets[
        rng.choice(len(targets), size=max(1, min(len(targets), n // 12)), replace=False)
    ]
    at_hotspot = rng.random(n) < 0.7
    centre = np.where(
        at_hotspot,
        hotspots[rng.integers(0, len(hotspots), n)],
        targets[rng.integers(0, len(targets), n)],
    )
    return jitter(rng, centre, np.where(at_hotspot, 20.0, 5.0))


DISPUTE_PARTIES_OF = {
    "renovation": "neighbours",
    "noise": "neighbours",
    "shared_space": "neighbours",
    "property_division": "family",
    "elder_care": "family",
    "merchant_customer": "merchant_customer",
    "employer_employee": "employer_employee",
    "other": "other",
}


def disputes(
    rng: np.random.Generator,
    n: int,
    building_ids: np.ndarray,
    points: np.ndarray,
    reference_date: date,
    crs,
) -> gpd.GeoDataFrame:
    """Disputes at buildings over the last half year; a few buildings see repeats.

    Only referred disputes name the body they went to (the table's CHECK).
    """
    category = pick(
        rng, list(DISPUTE_PARTIES_OF), n, p=(0.15, 0.25, 0.15, 0.1, 0.1, 0.1, 0.1, 0.05)
    )
    status = pick(
        rng, ("reported", "mediating", "resolved", "referred"), n, p=(0.2, 0.25, 0.4, 0.15)
    )
    repeat_spots = rng.integers(0, len(building_ids), max(1, n // 10))
    where = np.where(
        rng.random(n) < 0.3,
        repeat_spots[rng.integers(0, len(repeat_spots), n)],
        rng.integers(0, len(building_ids), n),
    )
    frame = geoframe(
        crs,
        points[where],
        building_id=building_ids[where],
        category=category,
        parties_kind=np.array([DISPUTE_PARTIES_OF[c] for c in category], dtype=object),
        status=status,
        reported_by=pick(rng, DISPUTE_REPORTERS, n, p=(0.35, 0.25, 0.15, 0.25)),
        referred_to=np.where(status == "referred", pick(rng, REFERRAL_BODIES, n), None),
        reported_on=dates_before(reference_date, rng.integers(1, 183, n)),
        description=np.char.add(category.astype(str), " dispute (synthetic record)").astype(object),
    )
    return with_ids(frame)


def mediations(
    rng: np.random.Generator,
    quarrels: pd.DataFrame,
    officers: pd.arrays.IntegerArray,
    reference_date: date,
) -> pd.DataFrame:
    """One or two mediation sessions for every dispute past 'reported', between report and today."""
    mediated = np.flatnonzero(quarrels["status"].to_numpy() != "reported")
    dispute = np.repeat(mediated, rng.integers(1, 3, len(mediated)))
    reported = np.array(
        quarrels["reported_on"].to_numpy(dtype=object)[dispute], dtype="datetime64[D]"
    )
    span = (np.datetime64(reference_date, "D") - reported).astype(np.int64)
    held = reported + (rng.random(len(dispute)) * span).astype("timedelta64[D]")
    outcomes = {
        "mediating": "talks continue; parties to meet again",
        "resolved": "agreement reached and signed",
        "referred": "beyond on-the-spot mediation; case referred",
    }
    frame = pd.DataFrame(
        {
            "dispute_id": quarrels["id"].to_numpy()[dispute],
            "officer_id": pd.array(officers, dtype="Int64")[dispute],
            "held_on": held.astype(object),
            "outcome": np.array(
                [outcomes[s] for s in quarrels["status"].to_numpy()[dispute]], dtype=object
            ),
        }
    )
    return with_ids(frame)


def closing_dates(quarrels: gpd.GeoDataFrame, talks: pd.DataFrame) -> gpd.GeoDataFrame:
    """The disputes with ``closed_on``: a resolved or referred one closed at its last mediation."""
    last = talks.groupby("dispute_id")["held_on"].max()
    closed = quarrels["status"].isin(["resolved", "referred"]).to_numpy()
    day = quarrels["id"].map(last).to_numpy(dtype=object)
    return quarrels.assign(closed_on=np.where(closed, day, None))


def campaigns(
    rng: np.random.Generator,
    n: int,
    points: np.ndarray,
    weights: np.ndarray,
    places: np.ndarray,
    reference_date: date,
    crs,
) -> gpd.GeoDataFrame:
    """Safety-education events over the past year, held more where more elderly people live."""
    where = rng.choice(len(points), size=n, p=weights / weights.sum())
    topic = pick(rng, CAMPAIGN_TOPICS, n, p=(0.3, 0.35, 0.2, 0.1, 0.05))
    audience = np.where(
        topic == "fraud",
        "elderly residents",
        pick(rng, ("residents", "shop owners", "school pupils"), n),
    )
    frame = geoframe(
        crs,
        points[where],
        kind=pick(rng, CAMPAIGN_KINDS, n, p=(0.4, 0.3, 0.2, 0.1)),
        topic=topic,
        held_on=dates_before(reference_date, rng.integers(1, 366, n)),
        place=places[where],
        audience=audience.astype(object),
        audience_size=rng.integers(10, 150, n),
    )
    return with_ids(frame)


def facility_issues(
    rng: np.random.Generator, n: int, streets: np.ndarray, reference_date: date, crs
) -> gpd.GeoDataFrame:
    frame = geoframe(
        crs,
        points_along(rng, streets, n),
        kind=pick(
            rng,
            ("street_light", "entrance_gate", "door_lock", "camera", "fence", "road_surface"),
            n,
        ),
        description="reported on patrol (synthetic record)",
        owner=pick(rng, ("property management", "neighbourhood committee", "city works"), n),
        status=pick(rng, FACILITY_STATUSES, n, p=(0.4, 0.3, 0.3)),
        reported_on=dates_before(reference_date, rng.integers(1, 121, n)),
    )
    return with_ids(frame)


def service_stations(
    rng: np.random.Generator,
    points: np.ndarray,
    beat_of_point: np.ndarray,
    beat_ids: np.ndarray,
    crs,
) -> gpd.GeoDataFrame:
    """One police service point per beat, in one of the beat's buildings."""
    chosen = [
        rng.choice(np.flatnonzero(beat_of_point == beat))
        for beat in beat_ids
        if (beat_of_point == beat).any()
    ]
    frame = geoframe(
        crs,
        points[chosen],
        name=np.array([f"Service point {i + 1}" for i in range(len(chosen))], dtype=object),
        opening_hours="Mo-Fr 09:00-17:00; Sa 09:00-12:00",
    )
    return with_ids(frame)


# --- special trades, hazardous sites, inspections, access control ---------------------------

TRADE_CODES = {"hotel": "HOT", "scrap_buyer": "SCR", "locksmith": "LCK", "other": "OTH"}
HAZARD_PROFILES = {  # name, unit, quantity range
    "firearms": ("Shooting club armoury", "pcs", (5, 40)),
    "explosives": ("Fireworks and blasting store", "kg", (50, 500)),
    "toxic_chemicals": ("Pest-control chemical depot", "kg", (20, 800)),
    "radioactive": ("Clinic radiography source", "GBq", (1, 40)),
    "other": ("Garden pesticide store", "kg", (5, 100)),
}


def synthetic_premises(
    rng: np.random.Generator,
    trade: str,
    n: int,
    points: np.ndarray,
    building_ids: np.ndarray,
    pool: NamePool,
    crs,
) -> gpd.GeoDataFrame:
    """``n`` premises of a trade in randomly chosen buildings (the caller adds ids and licences)."""
    where = rng.choice(len(points), size=n, replace=len(points) < n)
    label = trade.replace("_", " ").title()
    return geoframe(
        crs,
        points[where],
        osm_id=pd.array([None] * n, dtype="Int64"),
        building_id=building_ids[where],
        trade=trade,
        name=np.char.add(
            f"{label} ", np.asarray(pool.family)[rng.integers(len(pool.family), size=n)]
        ).astype(object),
    )


def synthetic_facilities(
    rng: np.random.Generator, counts: dict[str, int], points: np.ndarray, building_ids: np.ndarray, crs
) -> gpd.GeoDataFrame:
    """Public facilities of each kind (``counts``) in distinct buildings where there are enough,
    numbered per kind ("School 1", "Clinic 2")."""
    kinds = np.repeat(np.asarray(list(counts), dtype=object), list(counts.values()))
    where = rng.choice(len(points), size=len(kinds), replace=len(points) < len(kinds))
    number = group_rank(kinds) + 1
    return with_ids(
        geoframe(
            crs,
            points[where],
            osm_id=pd.array([None] * len(kinds), dtype="Int64"),
            building_id=building_ids[where],
            kind=kinds,
            name=np.array([f"{k.title()} {i}" for k, i in zip(kinds, number)], dtype=object),
        )
    )


def licence_numbers(prefix: str, trades: np.ndarray, ids: np.ndarray) -> np.ndarray:
    codes = np.array([TRADE_CODES[t] for t in trades], dtype=str)
    return np.char.add(
        np.char.add(f"{prefix}-", codes), np.char.add("-", np.char.zfill(ids.astype(str), 5))
    ).astype(object)


def register_premises(
    rng: np.random.Generator, parts: list[gpd.GeoDataFrame], prefix: str, pool: NamePool
) -> gpd.GeoDataFrame:
    """Premises from several sources as one frame with ids, licence numbers, responsible people."""
    frame = with_ids(pd.concat(parts, ignore_index=True))
    frame["licence_no"] = licence_numbers(prefix, frame["trade"].to_numpy(), frame["id"].to_numpy())
    frame["responsible_person"] = names(rng, len(frame), pool)
    return frame


def hazardous_sites(
    rng: np.random.Generator, n: int, points: np.ndarray, pool: NamePool, crs
) -> gpd.GeoDataFrame:
    """``n`` sites cycling through all categories, each with a named keeper and a risk radius."""
    category = np.resize(rng.permutation(np.asarray(HAZARD_CATEGORIES, dtype=object)), n)
    low, high = np.array([HAZARD_PROFILES[c][2] for c in category]).T
    frame = geoframe(
        crs,
        points[rng.choice(len(points), size=n, replace=len(points) < n)],
        name=np.array(
            [f"{HAZARD_PROFILES[c][0]} {i + 1}" for i, c in enumerate(category)], dtype=object
        ),
        category=category,
        quantity=np.round(low + rng.random(n) * (high - low), 1),
        unit=np.array([HAZARD_PROFILES[c][1] for c in category], dtype=object),
        keeper=names(rng, n, pool),
        storage_ok=rng.random(n) < 0.8,
        risk_radius_m=np.round(rng.uniform(50, 300, n), -1),
    )
    return with_ids(frame)


def inspections(
    rng: np.random.Generator,
    premises_ids: np.ndarray,
    premises_officers: pd.arrays.IntegerArray,
    site_ids: np.ndarray,
    site_officers: pd.arrays.IntegerArray,
    reference_date: date,
) -> pd.DataFrame:
    """One to three past inspections per premises (every 180 days) and hazardous site (every 90).

    Each sets the next one an interval later; the latest falls up to 1.35 intervals
    back, so roughly a quarter of subjects are overdue on the reference date.
    """
    subject_premises = np.r_[premises_ids, np.zeros(len(site_ids), np.int64)]
    subject_site = np.r_[np.zeros(len(premises_ids), np.int64), site_ids]
    interval = np.r_[np.full(len(premises_ids), 180), np.full(len(site_ids), 90)]
    officers = np.r_[
        np.asarray(premises_officers.fillna(0)), np.asarray(site_officers.fillna(0))
    ].astype(np.int64)
    latest = (rng.random(len(interval)) * interval * 1.35).astype(np.int64) + 1
    subject = np.repeat(np.arange(len(interval)), rng.integers(1, 4, len(interval)))
    days_back = latest[subject] + group_rank(subject) * interval[subject]
    inspected = np.datetime64(reference_date, "D") - days_back.astype("timedelta64[D]")
    passed = rng.random(len(subject)) < 0.85
    problems = (
        "guest register incomplete",
        "purchase ledger missing seller details",
        "storage not locked",
        "keeper absent; key unaccounted for",
        "unlocking log not kept",
    )
    frame = pd.DataFrame(
        {
            "premises_id": optional_ids(subject_premises[subject], subject_premises[subject] > 0),
            "hazardous_site_id": optional_ids(subject_site[subject], subject_site[subject] > 0),
            "officer_id": optional_ids(officers[subject], officers[subject] > 0),
            "inspected_on": inspected.astype(object),
            "passed": passed,
            "findings": np.where(passed, "in order", pick(rng, problems, len(subject))),
            "next_due": (inspected + interval[subject].astype("timedelta64[D]")).astype(object),
        }
    )
    return with_ids(frame)


def access_control_devices(
    rng: np.random.Generator, entrances: gpd.GeoDataFrame, reference_date: date
) -> gpd.GeoDataFrame:
    """A device at every entrance with access control, installed in the last eight years."""
    guarded = entrances[entrances["access_control"].to_numpy()]
    n = len(guarded)
    frame = geoframe(
        entrances.crs,
        guarded.geometry.values,
        entrance_id=guarded["id"].to_numpy(),
        kind=pick(rng, ACCESS_DEVICE_KINDS, n, p=(0.4, 0.2, 0.25, 0.1, 0.05)),
        installed_on=dates_before(reference_date, rng.integers(30, 3000, n)),
        working=rng.random(n) < 0.92,
    )
    return with_ids(frame)


# --- the street graph and night patrols ---------------------------------------------------


class StreetGraph:
    """The street segments as an undirected graph for officers on foot (one-way rules do not bind
    pedestrians), keeping each segment's shape so a walk follows the street, not the chord."""

    def __init__(self, streets: gpd.GeoDataFrame):
        source, target = streets["source"].to_numpy(np.int64), streets["target"].to_numpy(np.int64)
        m = len(source)
        self.node_ids, ends = np.unique(np.r_[source, target], return_inverse=True)
        s, t = ends[:m], ends[m:]
        self._coords, part = shapely.get_coordinates(streets.geometry.values, return_index=True)
        self._offsets = np.searchsorted(part, np.arange(m + 1))
        self.xy = np.empty((len(self.node_ids), 2))
        self.xy[s] = self._coords[self._offsets[:-1]]
        self.xy[t] = self._coords[self._offsets[1:] - 1]
        tail, head = np.r_[s, t], np.r_[t, s]
        order = np.argsort(tail, kind="stable")
        self._indptr = np.searchsorted(tail[order], np.arange(len(self.node_ids) + 1)).tolist()
        self._tail, self._head = tail[order].tolist(), head[order].tolist()
        # arc k walks edge self._edge[k], or edge ~self._edge[k] from its target to its source
        self._edge = np.r_[np.arange(m), ~np.arange(m)][order].tolist()
        self._weight = np.r_[streets["length_m"], streets["length_m"]][order].tolist()
        self.main_component = _largest_component(s, t, len(self.node_ids))

    def route(self, a: int, b: int) -> list[int]:
        """Edges (``~e`` when walked backwards) of a shortest walk from node ``a`` to node ``b``.

        Dijkstra with a binary heap that stops once ``b`` is settled; walks are a
        few hundred metres, so only a small part of the graph is ever explored.
        """
        indptr, head, weight = self._indptr, self._head, self._weight
        dist, via, heap = {a: 0.0}, {}, [(0.0, a)]
        while heap:
            d, u = heapq.heappop(heap)
            if u == b:
                break
            if d > dist[u]:
                continue
            for k in range(indptr[u], indptr[u + 1]):
                v, nd = head[k], d + weight[k]
                if nd < dist.get(v, math.inf):
                    dist[v], via[v] = nd, k
                    heapq.heappush(heap, (nd, v))
        arcs, node = [], b
        while node != a:
            arcs.append(via[node])
            node = self._tail[via[node]]
        return [self._edge[k] for k in reversed(arcs)]

    def polyline(self, edges: list[int]) -> np.ndarray:
        """The coordinates walked along ``edges``, in walking order."""
        pieces = []
        for code in edges:
            e = code if code >= 0 else ~code
            piece = self._coords[self._offsets[e] : self._offsets[e + 1]]
            pieces.append(piece if code >= 0 else piece[::-1])
        return np.concatenate(pieces)


def _largest_component(s: np.ndarray, t: np.ndarray, n: int) -> np.ndarray:
    """Mask of the nodes in the largest connected piece of the network (min-label propagation)."""
    label = np.arange(n)
    while True:
        low = np.minimum(label[s], label[t])
        new = label.copy()
        np.minimum.at(new, s, low)
        np.minimum.at(new, t, low)
        new = new[new]
        if np.array_equal(new, label):
            break
        label = new
    return label == np.bincount(label).argmax()


def patrol_schedule(
    rng: np.random.Generator, duty: pd.DataFrame, nights: np.ndarray, n_shifts: int
) -> pd.DataFrame:
    """``n_shifts`` (officer, night) pairs from the officers on duty, each at most once a night."""
    officers = np.unique(duty["officer_id"].to_numpy())
    pairs = np.array(np.meshgrid(np.arange(len(officers)), np.arange(len(nights)))).reshape(2, -1).T
    chosen = np.sort(rng.choice(len(pairs), size=min(n_shifts, len(pairs)), replace=False))
    frame = pd.DataFrame(
        {"officer_id": officers[pairs[chosen, 0]], "night": np.asarray(nights)[pairs[chosen, 1]]}
    )
    return frame.sort_values(["officer_id", "night"], kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class PatrolPool:
    """Graph nodes an officer walks between (their beat's), weighted toward unmanaged entrances."""

    nodes: np.ndarray
    weights: np.ndarray


def patrol_pools(
    graph: StreetGraph, node_beat: np.ndarray, duty: pd.DataFrame, unmanaged_doors: np.ndarray
) -> dict[int, PatrolPool]:
    """Each officer's pool: the reachable nodes of their beat (the whole network if the beat has
    fewer than two), with the node nearest each unmanaged entrance weighted three times."""
    node_points = shapely.points(graph.xy)
    near_door = np.zeros(len(graph.xy), dtype=bool)
    if len(unmanaged_doors):
        near_door[
            shapely.STRtree(node_points).query_nearest(unmanaged_doors, all_matches=False)[1]
        ] = True
    weights = 1.0 + 2.0 * near_door
    everywhere = np.flatnonzero(graph.main_component)
    pools = {}
    for officer, beat in duty[["officer_id", "beat_id"]].itertuples(index=False):
        nodes = np.flatnonzero(graph.main_component & (node_beat == beat))
        nodes = nodes if len(nodes) >= 2 else everywhere
        pools[int(officer)] = PatrolPool(nodes, weights[nodes])
    return pools


GPS_GAP_S = (30, 60)
WAYPOINT_DISTANCE_M = (120, 600)


def night_patrols(
    rng: np.random.Generator,
    graph: StreetGraph,
    schedule: pd.DataFrame,
    pools: dict[int, PatrolPool],
    tz: str,
    crs,
) -> gpd.GeoDataFrame:
    """Raw GPS fixes of officers walking their beats from 22:00 to 06:00, as phones report them.

    Each shift starts 22:00-01:00 and lasts 2-5 hours (ending by 06:00): the officer
    walks shortest paths between waypoints a few hundred metres apart (favouring
    unmanaged entrances) at 1.0-1.4 m/s, pausing at each. A fix every 30-60 s with a
    few metres of noise; about 1% have poor accuracy, 0.3% jump impossibly far and
    0.5% arrive twice, since track cleaning must cope with all three.
    """
    n = len(schedule)
    start_s = NIGHT_START_S + rng.integers(0, 3 * 3600, n)
    duration = np.minimum(
        rng.integers(2 * 3600, 5 * 3600, n), NIGHT_START_S + NIGHT_LENGTH_S - start_s
    )
    starts = instants(
        np.array(schedule["night"].to_numpy(dtype=object), dtype="datetime64[D]"), start_s, tz
    )
    shift_of, offsets, xy = [], [], []
    for i, officer in enumerate(schedule["officer_id"].to_numpy()):
        t, where = _walk(rng, graph, pools[int(officer)], duration[i])
        shift_of.append(np.full(len(t), i))
        offsets.append(t)
        xy.append(where)
    shift, offset, xy = np.concatenate(shift_of), np.concatenate(offsets), np.concatenate(xy)
    accuracy, xy = _gps_errors(rng, xy)
    keep = np.r_[np.arange(len(xy)), np.flatnonzero(rng.random(len(xy)) < 0.005)]  # duplicates
    frame = geoframe(
        crs,
        shapely.points(xy[keep]),
        officer_id=schedule["officer_id"].to_numpy()[shift[keep]],
        recorded_at=starts[shift[keep]] + pd.to_timedelta(np.round(offset[keep]), unit="s"),
        accuracy_m=accuracy[keep],
    )
    return with_ids(
        frame.sort_values(["officer_id", "recorded_at"], kind="stable").reset_index(drop=True)
    )


def _walk(
    rng: np.random.Generator, graph: StreetGraph, pool: PatrolPool, duration_s: int
) -> tuple[np.ndarray, np.ndarray]:
    """Fix times (seconds from the start) and true positions of one officer's walk."""
    speed = rng.uniform(1.0, 1.4)
    node = int(rng.choice(pool.nodes))
    pieces, knot_t, knot_d = [graph.xy[[node]]], [0.0], [0.0]
    while knot_t[-1] < duration_s:
        target = _next_waypoint(rng, graph, node, pool)
        path = graph.polyline(graph.route(node, target))
        leg = float(np.hypot(*np.diff(path, axis=0).T).sum())
        pieces.append(path)
        knot_t += [knot_t[-1] + leg / speed, knot_t[-1] + leg / speed + rng.uniform(10, 120)]
        knot_d += [knot_d[-1] + leg, knot_d[-1] + leg]
        node = target
    gaps = rng.uniform(*GPS_GAP_S, int(duration_s / GPS_GAP_S[0]) + 1)
    t = np.r_[0.0, np.cumsum(gaps)]
    t = t[t < duration_s]
    return t, _along(np.concatenate(pieces), np.interp(t, knot_t, knot_d))


def _next_waypoint(
    rng: np.random.Generator, graph: StreetGraph, node: int, pool: PatrolPool
) -> int:
    distance = np.hypot(*(graph.xy[pool.nodes] - graph.xy[node]).T)
    ok = (distance > WAYPOINT_DISTANCE_M[0]) & (distance < WAYPOINT_DISTANCE_M[1])
    if not ok.any():
        ok = pool.nodes != node
    weights = pool.weights[ok]
    return int(rng.choice(pool.nodes[ok], p=weights / weights.sum()))


def _along(polyline: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """Points at the given distances along a polyline (clamped to its ends)."""
    step = np.diff(polyline, axis=0)
    length = np.hypot(*step.T)
    cumulative = np.r_[0.0, np.cumsum(length)]
    i = np.clip(np.searchsorted(cumulative, distance, side="right") - 1, 0, len(step) - 1)
    fraction = np.clip(
        (distance - cumulative[i]) / np.where(length[i] > 0, length[i], 1.0), 0.0, 1.0
    )
    return polyline[i] + fraction[:, None] * step[i]


def _gps_errors(rng: np.random.Generator, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reported accuracy and noisy positions: metres of ordinary noise, and the odd bad fix."""
    n = len(xy)
    accuracy = 2.0 + rng.gamma(2.0, 2.0, n)
    poor = rng.random(n) < 0.01
    accuracy[poor] = rng.uniform(60, 250, poor.sum())
    noisy = xy + rng.normal(0.0, 1.0, xy.shape) * (accuracy / 1.5)[:, None]
    jump = rng.random(n) < 0.003
    angle, reach = rng.uniform(0, 2 * np.pi, jump.sum()), rng.uniform(400, 1500, jump.sum())
    noisy[jump] += np.c_[np.cos(angle), np.sin(angle)] * reach[:, None]
    return np.round(accuracy, 1), noisy


# --- finishing a dataset ------------------------------------------------------------------


def finalize(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The dataset as stored: EPSG:4326, ``synthetic = true``, tables in load order.

    Refuses a column the table does not have, so a slip fails here and not halfway
    through a COPY.
    """
    out = {}
    for name in (t for t in DATA_TABLES if t in frames):
        frame = frames[name]
        table = metadata.tables[name]
        if isinstance(frame, gpd.GeoDataFrame):
            frame = frame.to_crs(SRID)
        if "synthetic" in table.columns:
            frame = frame.assign(synthetic=True)
        unknown = set(frame.columns) - set(table.columns.keys())
        if unknown:
            raise ValueError(f"{name}: no such column(s) {sorted(unknown)}")
        out[name] = frame
    unknown_tables = set(frames) - set(out)
    if unknown_tables:
        raise ValueError(f"not data tables: {sorted(unknown_tables)}")
    return out
