"""The layers Beatbook reads and writes: which table, which geometry, which fields.

One registry serves the importer, the exporter and the layer API, so a layer's
columns, vocabularies and visibility are said once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from db import models as m

ALL_ROLES = frozenset(m.ROLES)
# Patrol positions are officers' own movements: not for planners.
PATROL_ROLES = frozenset({"officer", "supervisor", "admin"})
# Who may see the fields that name people (a premises' responsible person): the police,
# not planners, and never on a map tile.
PERSONAL_READERS = frozenset({"officer", "supervisor", "admin"})


@dataclass(frozen=True)
class Interval:
    """The numbers a field may take, as its column's CHECK constraint allows them: the importer
    names each row outside, where the database would refuse the whole file at its first."""

    low: float = -math.inf
    high: float = math.inf
    low_included: bool = False
    high_included: bool = True

    def holds(self, values: np.ndarray) -> np.ndarray:
        above = values >= self.low if self.low_included else values > self.low
        below = values <= self.high if self.high_included else values < self.high
        return above & below

    def __str__(self) -> str:
        ends = []
        if self.low > -math.inf:
            ends.append(f"{'at least' if self.low_included else 'more than'} {self.low:g}")
        if self.high < math.inf:
            ends.append(f"{'at most' if self.high_included else 'less than'} {self.high:g}")
        return " and ".join(ends)


POSITIVE = Interval(0)
NOT_NEGATIVE = Interval(0, low_included=True)


@dataclass(frozen=True)
class Field:
    """One attribute of a layer as files and the API name it."""

    name: str
    kind: str = "text"  # text | int | float | bool | date | datetime | choice | ref
    required: bool = False
    aliases: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    # Words that sources use for one of the choices (OSM's entrance=staircase is a main entrance).
    synonyms: tuple[tuple[str, str], ...] = ()
    # For kind "ref": the value names a row of another table by a unique column.
    ref: tuple[str, str] | None = None
    column: str | None = None  # the table column, when it differs from the name
    # The value of an empty cell, for columns that may not be NULL.
    default: object = None
    personal: bool = False  # names a person: for PERSONAL_READERS only
    within: Interval | None = None  # for numbers

    @property
    def target(self) -> str:
        return self.column or self.name


@dataclass(frozen=True)
class Layer:
    name: str
    table: str
    geometry_types: tuple[str, ...]  # what a file may hold; multi-parts are made where stored so
    store_as: str  # the column's type: Point, LineString, MultiPolygon, Geometry
    fields: tuple[Field, ...]
    title: str
    importable: bool = True
    readers: frozenset[str] = ALL_ROLES
    extra_columns: tuple[str, ...] = field(default=())  # read-only columns the API returns
    key: str | None = None  # the field that names a feature uniquely (a beat's code)
    # For features that happen at a time: the columns their time runs from and to.
    time_span: tuple[str, str] | None = None

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    @property
    def columns(self) -> tuple[str, ...]:
        """The table columns the API returns for this layer (besides id and geometry)."""
        return tuple(f.target for f in self.fields if f.kind != "ref") + self.extra_columns

    @property
    def public_columns(self) -> tuple[str, ...]:
        """The columns without those that name people."""
        personal = {f.target for f in self.fields if f.personal}
        return tuple(c for c in self.columns if c not in personal)

    def columns_for(self, role: str) -> tuple[str, ...]:
        return self.columns if role in PERSONAL_READERS else self.public_columns

    def exports_personal(self, role: str) -> bool:
        """Whether what the role reads of this layer names people or follows officers: an
        export of it goes into the audit log."""
        return self.readers != ALL_ROLES or self.columns_for(role) != self.public_columns


POLYGONAL = ("Polygon", "MultiPolygon")
LINEAR = ("LineString", "MultiLineString")

LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        Layer(
            "stations", "station", ("Point",), "Point",
            (Field("code", required=True, aliases=("id", "station_code")), Field("name", required=True)),
            "Police stations",
            key="code",
        ),
        Layer(
            "beats", "beat", POLYGONAL, "MultiPolygon",
            (
                Field("code", required=True, aliases=("beat", "beat_code", "ward_code", "id")),
                Field("name", aliases=("beat_name", "ward_name", "label")),
                Field("station", kind="ref", ref=("station", "code"), column="station_id"),
            ),
            "Beats",
            key="code",
        ),
        Layer(
            "focus_areas", "focus_area", POLYGONAL + LINEAR, "Geometry",
            (
                Field("kind", kind="choice", required=True, choices=m.FOCUS_KINDS),
                Field("name"),
                Field("priority", kind="float", default=1.0, within=POSITIVE),
                Field("beat", kind="ref", ref=("beat", "code"), column="beat_id"),
            ),
            "Focus areas",
        ),
        Layer(
            "streets", "street_segment", ("LineString",), "LineString",
            (
                Field("name", aliases=("street", "street_name")),
                Field("highway", aliases=("class", "fclass", "type"), default="unclassified"),
                Field("oneway", kind="bool", default=False),
                Field("osm_id", kind="int", aliases=("osmid",)),
            ),
            "Street segments",
            extra_columns=("length_m",),
        ),
        Layer(
            "buildings", "building", POLYGONAL, "MultiPolygon",
            (
                Field("address", aliases=("addr", "standard_address")),
                Field("address_code"),
                Field("name"),
                Field("floors", kind="float", aliases=("building:levels", "levels"), within=POSITIVE),
                Field("use", aliases=("building", "building_use"), default="residential"),
                Field("managed", kind="bool", aliases=("property_management",), default=False),
                Field("property_company"),
                Field("osm_id", kind="int"),
            ),
            "Buildings",
        ),
        Layer(
            "entrances", "entrance", ("Point",), "Point",
            (
                Field("kind", kind="choice", choices=m.ENTRANCE_KINDS, aliases=("entrance",), default="main",
                      synonyms=(("yes", "other"), ("staircase", "main"), ("home", "main"),
                                ("side", "service"), ("secondary", "service"), ("shop", "other"),
                                ("exit", "emergency"))),
                Field("access_control", kind="bool", default=False),
                Field("lit", kind="bool", default=False),
                Field("osm_id", kind="int"),
            ),
            "Building entrances",
            extra_columns=("building_id",),
        ),
        Layer(
            "cameras", "camera", ("Point",), "Point",
            (
                Field("direction_deg", kind="float", aliases=("direction", "camera:direction"),
                      within=Interval(0, 360, low_included=True, high_included=False)),
                Field("fov_deg", kind="float", aliases=("fov", "angle"), default=360.0, within=Interval(0, 360)),
                Field("range_m", kind="float", aliases=("range",), default=30.0,
                      within=Interval(0, m.MAX_CAMERA_RANGE_M)),
                Field("owner", aliases=("operator",)),
                Field("working", kind="bool", default=True),
                Field("osm_id", kind="int"),
            ),
            "Cameras",
        ),
        Layer(
            "access_control", "access_control_device", ("Point",), "Point",
            (
                Field("kind", kind="choice", required=True, choices=m.ACCESS_DEVICE_KINDS),
                Field("installed_on", kind="date"),
                Field("working", kind="bool", default=True),
            ),
            "Access-control devices",
            extra_columns=("entrance_id",),
        ),
        Layer(
            "premises", "premises", ("Point",), "Point",
            (
                Field("trade", kind="choice", required=True, choices=m.TRADES),
                Field("name"),
                Field("licence_no", aliases=("licence", "license")),
                Field("responsible_person", personal=True),
                Field("osm_id", kind="int"),
            ),
            "Special-trade premises",
            extra_columns=("building_id",),
        ),
        Layer(
            "public_facilities", "public_facility", ("Point",), "Point",
            (
                # OSM's amenity tag names the kind: amenity=doctors is a clinic.
                Field("kind", kind="choice", required=True, choices=m.PUBLIC_FACILITY_KINDS,
                      aliases=("amenity", "type"),
                      synonyms=(("doctors", "clinic"), ("college", "university"),
                                ("childcare", "kindergarten"))),
                Field("name"),
                Field("osm_id", kind="int"),
            ),
            "Schools, clinics and other public facilities",
            extra_columns=("building_id",),
        ),
        Layer(
            "hazardous_sites", "hazardous_site", ("Point",), "Point",
            (
                Field("name", required=True),
                Field("category", kind="choice", required=True, choices=m.HAZARD_CATEGORIES),
                Field("quantity", kind="float", within=NOT_NEGATIVE),
                Field("unit"),
                Field("keeper", personal=True),
                Field("storage_ok", kind="bool"),
                Field("risk_radius_m", kind="float", required=True, aliases=("risk_radius", "radius_m"), within=POSITIVE),
            ),
            "Hazardous-material sites",
        ),
        Layer(
            "incidents", "incident", ("Point",), "Point",
            (
                Field("occurred_at", kind="datetime", required=True, aliases=("time", "date", "month", "datetime")),
                Field("type", required=True, aliases=("crime_type", "category", "offense_category")),
                Field("source", default="import"),
            ),
            "Incidents",
            time_span=("occurred_at", "occurred_at"),
        ),
        Layer(
            "service_stations", "service_station", ("Point",), "Point",
            (Field("name", required=True), Field("opening_hours")),
            "Police service stations",
        ),
        Layer(
            "facility_issues", "facility_issue", ("Point",), "Point",
            (
                Field("kind", required=True),
                Field("description"),
                Field("owner"),
                Field("status", kind="choice", choices=m.FACILITY_STATUSES, default="open"),
                Field("reported_on", kind="date", required=True, aliases=("date",)),
            ),
            "Facility issues",
        ),
        Layer(
            "gps_fixes", "gps_fix", ("Point",), "Point",
            (
                Field("officer", kind="ref", required=True, ref=("officer", "badge"), column="officer_id",
                      aliases=("badge", "tracker", "device")),
                Field("recorded_at", kind="datetime", required=True, aliases=("time", "t", "timestamp")),
                Field("accuracy_m", kind="float", aliases=("accuracy", "hdop"), within=NOT_NEGATIVE),
            ),
            "Raw GPS fixes of patrols",
            readers=PATROL_ROLES,
            time_span=("recorded_at", "recorded_at"),
        ),
        Layer(
            "patrol_tracks", "patrol_track", (), "LineString",
            (),
            "Patrol tracks (one per officer-shift)",
            importable=False,
            readers=PATROL_ROLES,
            extra_columns=("officer_id", "started_at", "ended_at", "n_fixes"),
            time_span=("started_at", "ended_at"),
        ),
    )
}


def get_layer(name: str) -> Layer:
    try:
        return LAYERS[name]
    except KeyError:
        raise KeyError(f"unknown layer '{name}'; layers are: {', '.join(sorted(LAYERS))}") from None
