"""Import a file into a layer: read, reproject, validate every row, load all or nothing.

Reading goes through pyogrio (GeoJSON, GeoPackage, Shapefile, GPX, ...) or pandas
(CSV with lon/lat columns). A file is loaded only when every row passes; otherwise
the first failing rows are reported with what to fix, and nothing is written.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pyogrio
import shapely
from psycopg import sql
from pyproj import CRS
from pyproj.exceptions import CRSError

from db import layers as layer_registry
from db.bulk import copy_frame
from db.layers import Field, Layer
from geo.chinese_datums import unshift_geometries
from geo.crs import STORAGE_CRS, CRSMissing, to_storage_crs, utm_crs
from geo.validate import geometry_problems, promote, repair

LON_NAMES = ("lon", "lng", "long", "longitude", "x")
LAT_NAMES = ("lat", "latitude", "y")
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0"})
CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".txt")


class ImportRejected(ValueError):
    """The file cannot be loaded; ``problems`` lists (row, message) pairs, rows counted from 1."""

    def __init__(self, message: str, problems: list[tuple[int | None, str]] | None = None,
                 total: int | None = None) -> None:
        self.problems = problems or []
        self.total = total if total is not None else len(self.problems)
        super().__init__(message)

    def report(self) -> str:
        lines = [str(self)]
        for row, message in self.problems:
            lines.append(f"  row {row}: {message}" if row is not None else f"  {message}")
        if self.total > len(self.problems):
            lines.append(f"  ... and {self.total - len(self.problems)} more")
        return "\n".join(lines)


@dataclass
class ImportOptions:
    source_layer: str | None = None  # which layer of a multi-layer file
    lon: str | None = None  # CSV column names; detected when not given
    lat: str | None = None
    crs: str | None = None  # for files that declare none (CSV: EPSG:4326 unless given)
    # Coordinates copied from a Chinese web map: "gcj02" (AMap, Tencent) or "bd09" (Baidu).
    datum: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)  # layer field -> file column
    constants: dict[str, str] = field(default_factory=dict)  # layer field -> value for every row
    replace: bool = False  # delete the layer's rows first (in the same transaction)
    # Mend invalid geometries and drop those that collapse to nothing, saying how many.
    repair: bool = False
    max_problems: int = 20


@dataclass(frozen=True)
class ImportReport:
    layer: str
    rows: int
    repaired: int = 0  # invalid geometries mended (with ``repair``)
    dropped: int = 0  # degenerate geometries left out (with ``repair``)
    merged: int = 0  # parts joined into the multi-part feature of their key (a beat in two parts)

    def __str__(self) -> str:
        notes = [f"{n} {what}" for n, what in ((self.repaired, "geometries repaired"),
                 (self.dropped, "degenerate rows dropped"), (self.merged, "parts merged")) if n]
        return f"loaded {self.rows} rows into {self.layer}" + (f" ({', '.join(notes)})" if notes else "")


# --- reading ------------------------------------------------------------------------------


def read_file(path: Path, layer: Layer, options: ImportOptions) -> gpd.GeoDataFrame:
    """Read any supported file into a GeoDataFrame in its declared (or given) CRS."""
    path = Path(path)
    if not path.exists():
        raise ImportRejected(f"no such file: {path.name}")
    crs = None
    if options.crs:
        try:
            crs = CRS.from_user_input(options.crs)
        except CRSError as exc:
            raise ImportRejected(f"unknown CRS '{options.crs}': give it as EPSG:NNNN") from exc
    try:
        if path.name.lower().endswith(CSV_SUFFIXES):
            frame = _read_csv(path, options, crs or CRS.from_epsg(4326))
        else:
            frame = pyogrio.read_dataframe(path, layer=_source_layer(path, layer, options))
    except ImportRejected:
        raise  # a refusal of our own, with its own words (it is a ValueError too)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError,
            pyogrio.errors.GeometryError, pd.errors.ParserError, UnicodeDecodeError, EOFError,
            gzip.BadGzipFile, OSError, ValueError) as exc:
        raise ImportRejected(f"cannot read {path.name}: {_first_line(exc)} (is the file complete "
                             "and in a supported format: GeoJSON, GeoPackage, Shapefile, GPX, CSV?)") from exc
    if crs is not None:
        frame = frame.set_crs(crs, allow_override=True)
    return frame


def _source_layer(path: Path, layer: Layer, options: ImportOptions) -> str | None:
    available = [str(row[0]) for row in pyogrio.list_layers(path)]
    if options.source_layer:
        if options.source_layer not in available:
            raise ImportRejected(
                f"{path.name} has no layer '{options.source_layer}'; it has: {', '.join(available)}"
            )
        return options.source_layer
    if len(available) <= 1:
        return None
    if path.suffix.lower() == ".gpx":
        # Fixes are the points of a GPX track; waypoints and routes are not patrols.
        return "track_points"
    for candidate in (layer.name, layer.table):
        if candidate in available:
            return candidate
    raise ImportRejected(
        f"{path.name} holds several layers ({', '.join(available)}); name one with --source-layer"
    )


def _read_csv(path: Path, options: ImportOptions, crs: CRS) -> gpd.GeoDataFrame:
    # sep=None sniffs the delimiter: comma, semicolon and tab files all occur in the wild.
    table = pd.read_csv(path, sep=None, engine="python", dtype=str, keep_default_na=False,
                        na_values=[""])
    if table.empty:
        raise ImportRejected(f"{path.name} has no rows")
    lon = _pick_column(table.columns, options.lon, LON_NAMES, "longitude", "--lon")
    lat = _pick_column(table.columns, options.lat, LAT_NAMES, "latitude", "--lat")
    x = pd.to_numeric(table[lon], errors="coerce")
    y = pd.to_numeric(table[lat], errors="coerce")
    geoms = shapely.points(x.to_numpy(), y.to_numpy())
    geoms[x.isna().to_numpy() | y.isna().to_numpy()] = None
    attributes = table.drop(columns=[lon, lat])
    return gpd.GeoDataFrame(attributes, geometry=gpd.GeoSeries(geoms), crs=crs)


def _pick_column(columns: pd.Index, given: str | None, candidates: tuple[str, ...], what: str,
                 option: str) -> str:
    if given:
        if given not in columns:
            raise ImportRejected(f"the CSV has no column '{given}'; it has: {', '.join(columns)}")
        return given
    lowered = {c.lower().strip(): c for c in columns}
    for name in candidates:
        if name in lowered:
            return lowered[name]
    raise ImportRejected(
        f"cannot tell which CSV column holds the {what}; name it with {option} "
        f"(columns: {', '.join(columns)})"
    )


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


# --- preparing ----------------------------------------------------------------------------


def prepare(
    frame: gpd.GeoDataFrame,
    layer: Layer,
    options: ImportOptions,
    *,
    area: shapely.Geometry | None = None,
    references: Callable[[Field, set[str]], Mapping[str, int]] | None = None,
) -> tuple[pd.DataFrame, ImportReport]:
    """Turn a file's rows into the layer's columns, or raise with every row that fails.

    ``references`` resolves the values of reference fields (an officer's badge) to ids.
    Returns the rows and a report of what was repaired, dropped and merged on the way.
    """
    if frame.empty:
        raise ImportRejected("the file has no rows")
    try:
        frame = to_storage_crs(frame)
    except CRSMissing as exc:
        raise ImportRejected(str(exc)) from exc
    problems: dict[int, list[str]] = {}

    geoms = frame.geometry.to_numpy()
    if options.datum:
        try:
            geoms = unshift_geometries(geoms, options.datum)
        except ValueError as exc:
            raise ImportRejected(str(exc)) from None
    repaired = dropped = 0
    row_numbers = np.arange(1, len(frame) + 1)  # as the file counts them, whatever is dropped
    if options.repair:
        geoms, mended, collapsed = repair(geoms)
        repaired, dropped = int(mended.sum()), int(collapsed.sum())
        frame, geoms, row_numbers = frame[~collapsed], geoms[~collapsed], row_numbers[~collapsed]
    for i, problem in enumerate(geometry_problems(geoms, layer.geometry_types, area=area)):
        if problem:
            problems.setdefault(i, []).append(
                problem + ("; --repair mends invalid geometries" if problem.startswith("invalid") else "")
            )
    out = pd.DataFrame(index=frame.index)
    for fld in layer.fields:
        values = _source_values(frame, fld, options)
        if values is None:
            if fld.required:
                raise ImportRejected(
                    f"no column for the required field '{fld.name}' in layer {layer.name}; "
                    f"map one with --map {fld.name}=COLUMN or give one value with --set {fld.name}=VALUE "
                    f"(file columns: {', '.join(c for c in frame.columns if c != frame.geometry.name)})"
                )
            continue
        converted, bad = _convert(values, fld, references)
        for i in np.flatnonzero(bad):
            problems.setdefault(int(i), []).append(_conversion_problem(fld, values.iloc[i]))
        if fld.within is not None:
            numbers = converted.to_numpy(dtype=float, na_value=np.nan)
            for i in np.flatnonzero(~np.isnan(numbers) & ~fld.within.holds(numbers)):
                problems.setdefault(int(i), []).append(f"'{fld.name}' is {numbers[i]:g}; it must be {fld.within}")
        if fld.required:
            for i in np.flatnonzero(converted.isna().to_numpy() & ~bad):
                problems.setdefault(int(i), []).append(f"'{fld.name}' is required but empty")
        if fld.default is not None:
            converted = converted.astype(object).where(converted.notna(), fld.default)
        out[fld.target] = converted.to_numpy()

    if problems:
        rows = sorted(problems)
        listed = [(int(row_numbers[i]), "; ".join(problems[i])) for i in rows[: options.max_problems]]
        raise ImportRejected(
            f"{len(rows)} of {len(frame)} rows cannot be loaded into {layer.name}; nothing was loaded",
            listed, len(rows),
        )
    out["geom"] = promote(geoms, layer.store_as)
    out = out.reset_index(drop=True)
    merged = 0
    if layer.key:
        out, merged = _merge_parts(out, layer, options)
    return out, ImportReport(layer.name, len(out), repaired, dropped, merged)


def _merge_parts(rows: pd.DataFrame, layer: Layer, options: ImportOptions) -> tuple[pd.DataFrame, int]:
    """Join rows that share the layer's key into one multi-part feature, or refuse them.

    Boundary files often carry a beat in two pieces as two features with one code.
    """
    key = rows[layer.key]
    repeated = key.duplicated(keep=False) & key.notna()
    if not repeated.any():
        return rows, 0
    if layer.store_as != "MultiPolygon":
        listed = [(i + 1, f"'{layer.key}' {key[i]!r} appears more than once")
                  for i in np.flatnonzero(repeated)[: options.max_problems]]
        raise ImportRejected(f"{layer.key} must be unique in {layer.name}; nothing was loaded",
                             listed, int(repeated.sum()))
    attributes = [c for c in rows.columns if c != "geom"]
    groups = rows[repeated].groupby(layer.key, sort=False)
    conflicting = [k for k, g in groups if len(g[attributes].astype(str).drop_duplicates()) > 1]
    if conflicting:
        raise ImportRejected(
            f"features sharing a {layer.key} have different attributes; nothing was loaded",
            [(None, f"{layer.key} {k!r}: make its attributes agree or give it one feature")
             for k in conflicting[: options.max_problems]], len(conflicting),
        )
    joined = groups.agg({**{c: "first" for c in attributes if c != layer.key},
                         "geom": lambda g: shapely.union_all(g.to_numpy())}).reset_index()
    joined["geom"] = promote(joined["geom"].to_numpy(), layer.store_as)
    out = pd.concat([rows[~repeated], joined[rows.columns]], ignore_index=True)
    return out, int(repeated.sum()) - len(joined)


def _source_values(frame: gpd.GeoDataFrame, fld: Field, options: ImportOptions) -> pd.Series | None:
    if fld.name in options.constants:
        return pd.Series([options.constants[fld.name]] * len(frame), index=frame.index, dtype=object)
    if fld.name in options.mapping:
        column = options.mapping[fld.name]
        if column not in frame.columns:
            raise ImportRejected(f"--map {fld.name}={column}: the file has no column '{column}'")
        return frame[column]
    lowered = {str(c).lower(): c for c in frame.columns if c != frame.geometry.name}
    for name in (fld.name, fld.target, *fld.aliases):
        if name.lower() in lowered:
            return frame[lowered[name.lower()]]
    return None


def _convert(values: pd.Series, fld: Field, references) -> tuple[pd.Series, np.ndarray]:
    """Convert to the field's kind; returns the values and a mask of rows that failed."""
    present = values.notna().to_numpy() & (values.astype(str).str.strip() != "").to_numpy()
    if fld.kind in ("int", "float"):
        converted = pd.to_numeric(values, errors="coerce")
        if fld.kind == "int":
            whole = converted.isna() | (converted == converted.round())
            converted = converted.where(whole).astype("Int64")
    elif fld.kind == "bool":
        words = values.astype(str).str.strip().str.lower()
        converted = pd.Series(
            np.where(words.isin(TRUE_WORDS), True, np.where(words.isin(FALSE_WORDS), False, None)),
            index=values.index, dtype=object,
        )
    elif fld.kind == "date":
        converted = pd.to_datetime(values, errors="coerce", format="mixed").dt.date
    elif fld.kind == "datetime":
        converted = _to_utc(values)
    elif fld.kind == "choice":
        words = values.astype(str).str.strip().str.lower().replace(dict(fld.synonyms))
        converted = words.where(words.isin(fld.choices))
    elif fld.kind == "ref":
        keys = values.astype(str).str.strip()
        ids = references(fld, set(keys[present])) if references else {}
        converted = keys.map(ids).astype("Int64")
    else:
        converted = values.astype(object).where(values.notna()).map(
            lambda v: v if not isinstance(v, str) else v.strip() or None
        )
    bad = present & pd.isna(converted).to_numpy()
    return converted, bad


def _to_utc(values: pd.Series) -> pd.Series:
    """Times as UTC instants. Times without a zone are read as UTC (the README says to give
    zoned times); zoned ones are converted whatever their offsets, which differ within one
    file across a change to or from summer time."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.tz_localize("UTC") if values.dt.tz is None else values.dt.tz_convert("UTC")
    return pd.to_datetime(values.astype(str).str.strip(), errors="coerce", format="mixed", utc=True)


def _conversion_problem(fld: Field, value) -> str:
    if fld.kind == "choice":
        return f"'{fld.name}' is '{value}'; it must be one of {', '.join(fld.choices)}"
    if fld.kind == "ref":
        return f"'{fld.name}' names an unknown {fld.ref[0]} '{value}'; create it first"
    words = {"int": "a whole number", "float": "a number", "bool": "yes/no",
             "date": "a date (YYYY-MM-DD)", "datetime": "a date and time (ISO 8601)"}
    return f"'{fld.name}' is '{value}', not {words.get(fld.kind, 'valid')}"


# --- loading ------------------------------------------------------------------------------


def area_geometry(conn: psycopg.Connection) -> shapely.Geometry | None:
    row = conn.execute("SELECT ST_AsBinary(geom) FROM area WHERE id = 1").fetchone()
    return shapely.from_wkb(row[0]) if row else None


def reference_resolver(conn: psycopg.Connection) -> Callable[[Field, set[str]], dict[str, int]]:
    def resolve(fld: Field, keys: set[str]) -> dict[str, int]:
        table, column = fld.ref
        query = sql.SQL("SELECT {col}, id FROM {table} WHERE {col} = ANY(%s)").format(
            col=sql.Identifier(column), table=sql.Identifier(table)
        )
        return dict(conn.execute(query, (list(keys),)).fetchall())

    return resolve


# Work the database does once a layer's rows are in: derived columns and links.
AFTER_LOAD: dict[str, tuple[str, ...]] = {
    "street_segment": (
        # Endpoints that meet (to 1 cm) share a vertex id, so pgRouting can route across them.
        """
        WITH ends AS (
            SELECT id, ST_SnapToGrid(ST_StartPoint(geom), 1e-7) AS s,
                       ST_SnapToGrid(ST_EndPoint(geom), 1e-7) AS e
            FROM street_segment
        ), vertices AS (
            SELECT p, row_number() OVER (ORDER BY ST_X(p), ST_Y(p)) AS vid
            FROM (SELECT s AS p FROM ends UNION SELECT e FROM ends) AS u
        )
        UPDATE street_segment AS seg SET source = vs.vid, target = ve.vid
        FROM ends JOIN vertices vs ON vs.p = ends.s JOIN vertices ve ON ve.p = ends.e
        WHERE seg.id = ends.id
        """,
    ),
    "entrance": (
        # An entrance belongs to the building whose outline it lies on (within 3 m).
        """
        UPDATE entrance AS e SET building_id = (
            SELECT b.id FROM building b
            WHERE b.geom && ST_Expand(e.geom, 1e-4)
              AND ST_DWithin(b.geom::geography, e.geom::geography, 3)
            ORDER BY b.geom <-> e.geom LIMIT 1)
        WHERE e.building_id IS NULL
        """,
    ),
    "premises": (
        """
        UPDATE premises AS p SET building_id = (
            SELECT b.id FROM building b WHERE ST_Intersects(b.geom, p.geom) LIMIT 1)
        WHERE p.building_id IS NULL
        """,
    ),
    "public_facility": (
        """
        UPDATE public_facility AS f SET building_id = (
            SELECT b.id FROM building b WHERE ST_Intersects(b.geom, f.geom) LIMIT 1)
        WHERE f.building_id IS NULL
        """,
    ),
}


def load(
    conn: psycopg.Connection,
    layer: Layer,
    rows: pd.DataFrame,
    *,
    replace: bool = False,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write prepared rows in the caller's transaction; the caller commits or rolls back."""
    if replace:
        conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(layer.table)))
    if layer.table == "street_segment" and "length_m" not in rows:
        rows = rows.assign(length_m=_lengths_m(rows["geom"].to_numpy()))
    count = copy_frame(conn, layer.table, rows, progress=progress)
    for statement in AFTER_LOAD.get(layer.table, ()):
        conn.execute(statement)
    return count


def _lengths_m(geoms: np.ndarray) -> np.ndarray:
    return gpd.GeoSeries(geoms, crs=STORAGE_CRS).to_crs(utm_crs(geoms)).length.to_numpy()


def import_file(
    conn: psycopg.Connection,
    layer_name: str,
    path: Path,
    options: ImportOptions | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Read, check and load one file into a layer inside ``conn``'s transaction."""
    options = options or ImportOptions()
    try:
        layer = layer_registry.get_layer(layer_name)
    except KeyError as exc:
        raise ImportRejected(exc.args[0]) from None
    if not layer.importable:
        raise ImportRejected(f"layer {layer.name} is derived, not imported")
    frame = read_file(path, layer, options)
    rows, report = prepare(frame, layer, options, area=area_geometry(conn), references=reference_resolver(conn))
    try:
        load(conn, layer, rows, replace=options.replace, progress=progress)
    except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as exc:
        # A rule only the database can check (a code already taken, a NUL in text); the
        # transaction is void.
        raise ImportRejected(f"the database refused the rows; nothing was loaded: {_first_line(exc)}",
                             [(None, exc.diag.message_detail or _first_line(exc))]) from exc
    return report
