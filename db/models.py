"""The data model of a community beat (一标三实: standard address, actual people, houses, units).

Every geometry is stored in EPSG:4326 with a GiST index; CHECK constraints keep
geometries valid and of their declared type, and closed vocabularies to their
values. Rows made by the demo or ``beatbook synth`` carry ``synthetic = true``.
"""

from __future__ import annotations

from datetime import date, datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SRID = 4326
# How far a camera may see: the camera queries look this far around each one first, and the
# city's camera tiles read the cameras within twice this of a tile.
MAX_CAMERA_RANGE_M = 500.0

# Vocabularies shared by the model, the importer and the API.
FOCUS_KINDS = ("commercial_street", "footpath", "car_park", "other")
ENTRANCE_KINDS = ("main", "service", "garage", "emergency", "other")
ACCESS_DEVICE_KINDS = ("card", "code", "intercom", "face", "other")
TENURES = ("registered", "rented")
RESIDENT_CATEGORIES = ("permanent", "temporary", "floating")
MOVEMENT_DIRECTIONS = ("in", "out")
TRADES = ("hotel", "scrap_buyer", "locksmith", "other")
HAZARD_CATEGORIES = ("firearms", "explosives", "toxic_chemicals", "radioactive", "other")
DISPUTE_CATEGORIES = (
    "renovation", "noise", "shared_space", "property_division", "elder_care",
    "merchant_customer", "employer_employee", "other",
)
DISPUTE_PARTIES = ("neighbours", "family", "merchant_customer", "employer_employee", "other")
DISPUTE_STATUSES = ("reported", "mediating", "resolved", "referred")
DISPUTE_REPORTERS = ("block_captain", "committee", "patrol", "resident")
REFERRAL_BODIES = ("mediation_committee", "judicial_office")
CAMPAIGN_KINDS = ("lecture", "leaflet", "notice", "drill")
CAMPAIGN_TOPICS = ("burglary", "fraud", "fire", "disaster", "other")
FACILITY_STATUSES = ("open", "assigned", "fixed")
# Schools and clinics: the places a hazardous site's risk radius must name, and schools the
# centres of the school catchments. A college counts as a university, a doctors' practice as a
# clinic.
PUBLIC_FACILITY_KINDS = ("school", "kindergarten", "university", "clinic", "hospital")
ROLES = ("officer", "supervisor", "planner", "admin")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class Base(DeclarativeBase):
    metadata = metadata


def one_of(column: str, values: tuple[str, ...], name: str | None = None) -> CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name or column)


def valid_geometry(column: str = "geom") -> CheckConstraint:
    return CheckConstraint(f"ST_IsValid({column}) AND NOT ST_IsEmpty({column})", name=f"{column}_valid")


def point() -> Mapped:
    return mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)


def synthetic() -> Mapped[bool]:
    return mapped_column(Boolean, nullable=False, server_default=text("false"))


# --- the area, stations, beats and people who work them -------------------------------


class Area(Base):
    """The area this installation covers; imports outside it are refused."""

    __tablename__ = "area"
    __table_args__ = (valid_geometry(), CheckConstraint("id = 1", name="single_row"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, server_default=text("1"))
    name: Mapped[str] = mapped_column(Text, nullable=False)
    # The metric CRS in which this area is measured (a UTM or Gauss-Krüger zone).
    metric_srid: Mapped[int] = mapped_column(Integer, nullable=False)
    # The IANA zone of the area's clocks: daily windows such as 22:00-06:00 are local time.
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, server_default="UTC")
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID), nullable=False)


class Station(Base):
    __tablename__ = "station"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    geom = mapped_column(Geometry("POINT", srid=SRID), nullable=True)


class Beat(Base):
    __tablename__ = "beat"
    __table_args__ = (valid_geometry(),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("station.id"))
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID), nullable=False)
    synthetic: Mapped[bool] = synthetic()


class Officer(Base):
    __tablename__ = "officer"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("station.id"))
    badge: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    synthetic: Mapped[bool] = synthetic()


class OfficerBeat(Base):
    """Which officer is responsible for which beat, from when to when."""

    __tablename__ = "officer_beat"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="dates_ordered"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id", ondelete="CASCADE"), nullable=False, index=True)
    beat_id: Mapped[int] = mapped_column(ForeignKey("beat.id", ondelete="CASCADE"), nullable=False, index=True)
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    valid_to: Mapped[date | None] = mapped_column(Date)


class AppUser(Base):
    __tablename__ = "app_user"
    __table_args__ = (one_of("role", ROLES),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(Text, nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="SET NULL"))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("station.id"))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Failed logins in a row; enough of them lock the account for a while.
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FocusArea(Base):
    """A place that patrols must favour: a commercial street, a footpath, a car park."""

    __tablename__ = "focus_area"
    __table_args__ = (
        valid_geometry(),
        one_of("kind", FOCUS_KINDS),
        CheckConstraint(
            "GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON', 'LINESTRING', 'MULTILINESTRING')",
            name="geom_type",
        ),
        CheckConstraint("priority > 0", name="priority_positive"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    beat_id: Mapped[int | None] = mapped_column(ForeignKey("beat.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[float] = mapped_column(Float, nullable=False, server_default=text("1"))
    geom = mapped_column(Geometry("GEOMETRY", srid=SRID), nullable=False)
    synthetic: Mapped[bool] = synthetic()


# --- the street network ---------------------------------------------------------------


class StreetSegment(Base):
    """One edge of the routable network; ``source``/``target`` are pgRouting vertex ids."""

    __tablename__ = "street_segment"
    __table_args__ = (valid_geometry(), CheckConstraint("length_m > 0", name="length_positive"))
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    osm_id: Mapped[int | None] = mapped_column(BigInteger)
    name: Mapped[str | None] = mapped_column(Text)
    highway: Mapped[str] = mapped_column(String(32), nullable=False, server_default="unclassified")
    oneway: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    length_m: Mapped[float] = mapped_column(Float, nullable=False)
    source: Mapped[int | None] = mapped_column(BigInteger, index=True)
    target: Mapped[int | None] = mapped_column(BigInteger, index=True)
    geom = mapped_column(Geometry("LINESTRING", srid=SRID), nullable=False)
    synthetic: Mapped[bool] = synthetic()


# --- houses: buildings, entrances and what guards them ---------------------------------


class Building(Base):
    __tablename__ = "building"
    __table_args__ = (valid_geometry(), CheckConstraint("floors IS NULL OR floors > 0", name="floors_positive"))
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    osm_id: Mapped[int | None] = mapped_column(BigInteger)
    # The standard address (一标) every house, household and unit hangs from.
    address: Mapped[str | None] = mapped_column(Text, index=True)
    address_code: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    # OSM counts an attic or a half-sunk basement as half a storey.
    floors: Mapped[float | None] = mapped_column(Float)
    use: Mapped[str] = mapped_column(String(32), nullable=False, server_default="residential")
    managed: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    property_company: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID), nullable=False)
    synthetic: Mapped[bool] = synthetic()


class Entrance(Base):
    __tablename__ = "entrance"
    __table_args__ = (one_of("kind", ENTRANCE_KINDS),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id", ondelete="CASCADE"), index=True)
    osm_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, server_default="main")
    access_control: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    lit: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    geom = point()
    synthetic: Mapped[bool] = synthetic()


class Camera(Base):
    """A camera covers a sector: from its point, ``fov_deg`` wide around ``direction_deg``."""

    __tablename__ = "camera"
    __table_args__ = (
        CheckConstraint("direction_deg IS NULL OR (direction_deg >= 0 AND direction_deg < 360)", name="direction_range"),
        CheckConstraint("fov_deg > 0 AND fov_deg <= 360", name="fov_range"),
        CheckConstraint("range_m > 0", name="range_positive"),
        CheckConstraint(f"range_m <= {MAX_CAMERA_RANGE_M:g}", name="range_at_most_500"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    osm_id: Mapped[int | None] = mapped_column(BigInteger)
    # Degrees clockwise from north; NULL for a dome that turns all round (fov 360).
    direction_deg: Mapped[float | None] = mapped_column(Float)
    fov_deg: Mapped[float] = mapped_column(Float, nullable=False, server_default=text("360"))
    range_m: Mapped[float] = mapped_column(Float, nullable=False, server_default=text("30"))
    owner: Mapped[str | None] = mapped_column(Text)
    working: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    geom = point()
    synthetic: Mapped[bool] = synthetic()


class AccessControlDevice(Base):
    __tablename__ = "access_control_device"
    __table_args__ = (one_of("kind", ACCESS_DEVICE_KINDS),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entrance_id: Mapped[int | None] = mapped_column(ForeignKey("entrance.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    installed_on: Mapped[date | None] = mapped_column(Date)
    working: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    geom = point()
    synthetic: Mapped[bool] = synthetic()


# --- people: households and residents (personal data) -------------------------------------


class Household(Base):
    """A household at a unit of a building; its point is the unit's or its entrance's position."""

    __tablename__ = "household"
    __table_args__ = (one_of("tenure", TENURES),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id", ondelete="CASCADE"), nullable=False, index=True)
    unit: Mapped[str | None] = mapped_column(String(16))
    room: Mapped[str | None] = mapped_column(String(16))
    tenure: Mapped[str] = mapped_column(String(16), nullable=False, server_default="registered")
    # Raised on every change so a second writer can be told of a conflict.
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    geom = point()
    synthetic: Mapped[bool] = synthetic()


class Resident(Base):
    """A person. The identity number is kept only as a keyed hash and its last four characters."""

    __tablename__ = "resident"
    __table_args__ = (
        Index("uq_resident_id_hash", "id_hash", unique=True, postgresql_where=text("id_hash IS NOT NULL")),
        one_of("category", RESIDENT_CATEGORIES),
        CheckConstraint("birth_year BETWEEN 1880 AND 2100", name="birth_year_range"),
        CheckConstraint("id_last4 IS NULL OR length(id_last4) = 4", name="id_last4_length"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    # One person, one record: a second resident with the same number is refused.
    id_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_last4: Mapped[str | None] = mapped_column(String(4))
    category: Mapped[str] = mapped_column(String(16), nullable=False)
    birth_year: Mapped[int] = mapped_column(Integer, nullable=False)
    lives_alone: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    needs_home_service: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    phone: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    synthetic: Mapped[bool] = synthetic()


class TemporaryRegistration(Base):
    __tablename__ = "temporary_registration"
    __table_args__ = (CheckConstraint("valid_to >= valid_from", name="dates_ordered"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id", ondelete="CASCADE"), nullable=False, index=True)
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    valid_to: Mapped[date] = mapped_column(Date, nullable=False)
    employer: Mapped[str | None] = mapped_column(Text)
    # Raised on every change so a second writer can be told of a conflict.
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    synthetic: Mapped[bool] = synthetic()


class Movement(Base):
    """A resident moving into or out of a building."""

    __tablename__ = "movement"
    __table_args__ = (one_of("direction", MOVEMENT_DIRECTIONS),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id", ondelete="SET NULL"), index=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id", ondelete="CASCADE"), nullable=False, index=True)
    direction: Mapped[str] = mapped_column(String(3), nullable=False)
    moved_on: Mapped[date] = mapped_column(Date, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    synthetic: Mapped[bool] = synthetic()


class HomeVisit(Base):
    __tablename__ = "home_visit"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id", ondelete="CASCADE"), nullable=False, index=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="SET NULL"))
    visited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    findings: Mapped[str | None] = mapped_column(Text)
    next_due: Mapped[date | None] = mapped_column(Date)
    synthetic: Mapped[bool] = synthetic()


class StorageFinding(Base):
    """Chemicals found stored improperly in a home: what, the safety education given on the
    spot, and the follow-up visit that checks it was put right."""

    __tablename__ = "storage_finding"
    __table_args__ = (
        CheckConstraint("follow_up_on IS NULL OR follow_up_on >= found_on", name="follow_up_after"),
        CheckConstraint("followed_up_on IS NULL OR followed_up_on >= found_on", name="followed_up_after"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id", ondelete="CASCADE"), nullable=False, index=True)
    found_on: Mapped[date] = mapped_column(Date, nullable=False)
    substance: Mapped[str] = mapped_column(Text, nullable=False)
    finding: Mapped[str] = mapped_column(Text, nullable=False)
    education: Mapped[str | None] = mapped_column(Text)
    follow_up_on: Mapped[date | None] = mapped_column(Date)
    followed_up_on: Mapped[date | None] = mapped_column(Date)
    resolved: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))


class ChangeLog(Base):
    """Who changed which record of the population archive, when and why."""

    __tablename__ = "change_log"
    # A record's history is read by table and id.
    __table_args__ = (Index("ix_change_log_record", "record_table", "record_id"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    record_table: Mapped[str] = mapped_column(String(64), nullable=False)
    record_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    changes: Mapped[dict] = mapped_column(JSONB, nullable=False)


class AuditLog(Base):
    """Reads of personal records and exports: who, when, what, from where. Append-only."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    record_table: Mapped[str] = mapped_column(String(64), nullable=False)
    record_id: Mapped[int | None] = mapped_column(BigInteger)
    client: Mapped[str | None] = mapped_column(Text)
    # What an export was asked for (format, day, beats, rows): never a person or an identity number.
    details: Mapped[dict | None] = mapped_column(JSONB)


# --- units: special trades and hazardous materials -----------------------------------------


class Premises(Base):
    __tablename__ = "premises"
    __table_args__ = (one_of("trade", TRADES),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    osm_id: Mapped[int | None] = mapped_column(BigInteger)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id", ondelete="SET NULL"), index=True)
    trade: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str | None] = mapped_column(Text)
    licence_no: Mapped[str | None] = mapped_column(String(64))
    responsible_person: Mapped[str | None] = mapped_column(Text)
    geom = point()
    synthetic: Mapped[bool] = synthetic()


class HazardousSite(Base):
    __tablename__ = "hazardous_site"
    __table_args__ = (
        one_of("category", HAZARD_CATEGORIES),
        CheckConstraint("risk_radius_m > 0", name="radius_positive"),
        CheckConstraint("quantity IS NULL OR quantity >= 0", name="quantity_nonnegative"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    category: Mapped[str] = mapped_column(String(32), nullable=False)
    quantity: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(16))
    keeper: Mapped[str | None] = mapped_column(Text)
    storage_ok: Mapped[bool | None] = mapped_column(Boolean)
    risk_radius_m: Mapped[float] = mapped_column(Float, nullable=False)
    geom = point()
    synthetic: Mapped[bool] = synthetic()


class Inspection(Base):
    """An inspection of exactly one premises or hazardous site."""

    __tablename__ = "inspection"
    __table_args__ = (
        CheckConstraint("(premises_id IS NULL) <> (hazardous_site_id IS NULL)", name="one_subject"),
        CheckConstraint("next_due IS NULL OR next_due >= inspected_on", name="due_after"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    premises_id: Mapped[int | None] = mapped_column(ForeignKey("premises.id", ondelete="CASCADE"), index=True)
    hazardous_site_id: Mapped[int | None] = mapped_column(ForeignKey("hazardous_site.id", ondelete="CASCADE"), index=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="SET NULL"))
    inspected_on: Mapped[date] = mapped_column(Date, nullable=False)
    passed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    findings: Mapped[str | None] = mapped_column(Text)
    next_due: Mapped[date | None] = mapped_column(Date)
    synthetic: Mapped[bool] = synthetic()


# --- events: incidents, disputes, education, facilities --------------------------------


class Incident(Base):
    """Split by month of ``occurred_at`` (migration 0006), which is therefore part of the key."""

    __tablename__ = "incident"
    __table_args__ = ({"postgresql_partition_by": "RANGE (occurred_at)"},)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True, index=True)
    type: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    source: Mapped[str] = mapped_column(String(32), nullable=False, server_default="import")
    description: Mapped[str | None] = mapped_column(Text)
    geom = point()
    synthetic: Mapped[bool] = synthetic()


class Dispute(Base):
    __tablename__ = "dispute"
    __table_args__ = (
        one_of("category", DISPUTE_CATEGORIES),
        one_of("parties_kind", DISPUTE_PARTIES),
        one_of("status", DISPUTE_STATUSES),
        one_of("reported_by", DISPUTE_REPORTERS),
        CheckConstraint(
            "(status = 'referred') = (referred_to IS NOT NULL)", name="referral_named"
        ),
        CheckConstraint(
            "referred_to IS NULL OR referred_to IN ('mediation_committee', 'judicial_office')",
            name="referred_to",
        ),
        # Disputes closed before the column existed may not know the day (NULL).
        CheckConstraint("closed_on IS NULL OR status IN ('resolved', 'referred')", name="closed_when_done"),
        CheckConstraint("closed_on IS NULL OR closed_on >= reported_on", name="closed_after_report"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id", ondelete="SET NULL"), index=True)
    category: Mapped[str] = mapped_column(String(32), nullable=False)
    parties_kind: Mapped[str] = mapped_column(String(32), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="reported")
    reported_by: Mapped[str] = mapped_column(String(16), nullable=False)
    referred_to: Mapped[str | None] = mapped_column(String(32))
    reported_on: Mapped[date] = mapped_column(Date, nullable=False)
    # The day it was resolved or referred.
    closed_on: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    geom = point()
    synthetic: Mapped[bool] = synthetic()


class Mediation(Base):
    __tablename__ = "mediation"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), nullable=False, index=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="SET NULL"))
    held_on: Mapped[date] = mapped_column(Date, nullable=False)
    outcome: Mapped[str] = mapped_column(Text, nullable=False)
    synthetic: Mapped[bool] = synthetic()


class Campaign(Base):
    """A safety-education campaign: a lecture, leaflets, a notice-board post or a drill."""

    __tablename__ = "campaign"
    __table_args__ = (
        one_of("kind", CAMPAIGN_KINDS),
        one_of("topic", CAMPAIGN_TOPICS),
        CheckConstraint("audience_size IS NULL OR audience_size >= 0", name="audience_nonnegative"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    topic: Mapped[str] = mapped_column(String(16), nullable=False)
    held_on: Mapped[date] = mapped_column(Date, nullable=False)
    place: Mapped[str | None] = mapped_column(Text)
    audience: Mapped[str | None] = mapped_column(Text)
    audience_size: Mapped[int | None] = mapped_column(Integer)
    geom = point()
    synthetic: Mapped[bool] = synthetic()


class FacilityIssue(Base):
    """A broken public facility (a light, a gate) for property management or the committee."""

    __tablename__ = "facility_issue"
    __table_args__ = (one_of("status", FACILITY_STATUSES),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="open")
    reported_on: Mapped[date] = mapped_column(Date, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    geom = point()
    synthetic: Mapped[bool] = synthetic()


class PublicFacility(Base):
    """A school, kindergarten, university, clinic or hospital: a sensitive place near a hazardous
    site, and for a school the centre of its catchment (划片)."""

    __tablename__ = "public_facility"
    __table_args__ = (one_of("kind", PUBLIC_FACILITY_KINDS),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    osm_id: Mapped[int | None] = mapped_column(BigInteger)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str | None] = mapped_column(Text)
    geom = point()
    synthetic: Mapped[bool] = synthetic()


class ServiceStation(Base):
    """A police service point in the community for simple business."""

    __tablename__ = "service_station"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    opening_hours: Mapped[str | None] = mapped_column(Text)
    geom = point()
    synthetic: Mapped[bool] = synthetic()


# --- patrols: raw GPS fixes and the tracks derived from them -----------------------------


class GpsFix(Base):
    """A raw GPS fix, kept as received; cleaning happens when tracks are derived. Split by
    month of ``recorded_at`` (migration 0006), which is therefore part of the key."""

    __tablename__ = "gps_fix"
    __table_args__ = (
        CheckConstraint("accuracy_m IS NULL OR accuracy_m >= 0", name="accuracy_nonnegative"),
        Index("ix_gps_fix_officer_time", "officer_id", "recorded_at"),
        Index("ix_gps_fix_recorded_at_brin", "recorded_at", postgresql_using="brin"),
        {"postgresql_partition_by": "RANGE (recorded_at)"},
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id", ondelete="CASCADE"), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    geom = point()
    synthetic: Mapped[bool] = synthetic()


class PatrolTrack(Base):
    """One officer-shift as a line whose M value is the fix time (epoch seconds)."""

    __tablename__ = "patrol_track"
    __table_args__ = (
        CheckConstraint("ended_at >= started_at", name="times_ordered"),
        UniqueConstraint("officer_id", "started_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id", ondelete="CASCADE"), nullable=False, index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    n_fixes: Mapped[int] = mapped_column(Integer, nullable=False)
    geom = mapped_column(Geometry("LINESTRINGM", srid=SRID), nullable=False)
    synthetic: Mapped[bool] = synthetic()
