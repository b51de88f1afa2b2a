"""The ``beatbook`` command."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import psycopg
import typer
from tqdm import tqdm

from beatbook import backup, cluster
from beatbook.city_cli import city_app
from beatbook.settings import Settings, get_settings

if TYPE_CHECKING:
    from geo.tracks import CleaningReport

app = typer.Typer(help="Beatbook: community beats on a map, backed by PostGIS.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="The embedded PostGIS cluster (unused when DATABASE_URL is set).")
app.add_typer(db_app, name="db")
tracks_app = typer.Typer(help="Patrol tracks, made from the raw GPS fixes.")
app.add_typer(tracks_app, name="tracks")
app.add_typer(city_app, name="city")

DEMO_USERS = (
    ("officer", "officer", "HKI-101"),
    ("supervisor", "supervisor", None),
    ("planner", "planner", None),
    ("admin", "admin", None),
)


def _say(message: str) -> None:
    typer.echo(message, err=True)


def database_url() -> str:
    """The database to use: DATABASE_URL, or the embedded cluster, started if need be."""
    settings = get_settings()
    if settings.uses_embedded_db:
        cluster.start(settings, echo=_say)
    return settings.libpq_url


def _pairs(values: list[str], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{option} takes FIELD=VALUE, got '{value}'")
        pairs[key.strip()] = rest
    return pairs


@db_app.command("up")
def db_up() -> None:
    """Create (first time) and start the embedded cluster, and print its URL."""
    settings = get_settings()
    if not settings.uses_embedded_db:
        typer.echo(f"DATABASE_URL is set; nothing to start. Using {settings.libpq_url}")
        return
    typer.echo(cluster.start(settings, echo=_say))


@db_app.command("down")
def db_down() -> None:
    """Stop the embedded cluster."""
    stopped = cluster.stop(get_settings())
    typer.echo("stopped" if stopped else "not running")


def _backup_step(step, done: str) -> None:
    """Run a backup or restore; its BackupError is the message and exit 1."""
    try:
        step(get_settings(), database_url())
    except backup.BackupError as exc:
        _say(str(exc))
        raise typer.Exit(1) from None
    typer.echo(done)


@app.command("backup")
def backup_(file: Annotated[Path, typer.Argument(help="Where to write the backup (pg_dump's custom format).")]) -> None:
    """Write the whole database to FILE."""
    _backup_step(lambda settings, url: backup.backup(settings, url, file), f"backed up to {file}")


@app.command()
def restore(file: Annotated[Path, typer.Argument(help="A backup made by 'beatbook backup'.")]) -> None:
    """Restore FILE into the database, which must be empty: all of it or, on any error, nothing."""
    _backup_step(lambda settings, url: backup.restore(settings, url, file), f"restored {file}")


@app.command()
def migrate(revision: Annotated[str, typer.Argument(help="Alembic revision to go to.")] = "head") -> None:
    """Bring the database schema up to date (Alembic)."""
    from db.migrate import upgrade

    database_url()
    upgrade(get_settings().sqlalchemy_url, revision)
    _say(f"schema at {revision}")


@app.command("import")
def import_(
    layer: Annotated[str, typer.Argument(help="Layer to load into, e.g. buildings, incidents, gps_fixes.")],
    file: Annotated[Path, typer.Argument(help="GeoJSON, GeoPackage, Shapefile, GPX or CSV.")],
    source_layer: Annotated[str | None, typer.Option(help="Layer of a multi-layer file.")] = None,
    lon: Annotated[str | None, typer.Option(help="CSV column of longitudes (detected if omitted).")] = None,
    lat: Annotated[str | None, typer.Option(help="CSV column of latitudes (detected if omitted).")] = None,
    crs: Annotated[str | None, typer.Option(help="CRS for a file that declares none, e.g. EPSG:4326.")] = None,
    datum: Annotated[str | None, typer.Option(
        help="gcj02 (AMap, Tencent) or bd09 (Baidu): shift coordinates from a Chinese web map back to WGS-84.")] = None,
    map_: Annotated[list[str], typer.Option("--map", help="FIELD=COLUMN: take a field from a column.")] = [],
    set_: Annotated[list[str], typer.Option("--set", help="FIELD=VALUE: one value for every row.")] = [],
    replace: Annotated[bool, typer.Option(help="Delete the layer's rows first.")] = False,
    repair: Annotated[bool, typer.Option(
        help="Mend invalid geometries and drop degenerate ones (reported), instead of refusing the file.")] = False,
) -> None:
    """Check every row of FILE and load it into LAYER, all or nothing."""
    from beatbook.ingest import ImportOptions, ImportRejected, import_file

    settings = get_settings()
    options = ImportOptions(source_layer=source_layer, lon=lon, lat=lat, crs=crs, datum=datum,
                            mapping=_pairs(map_, "--map"), constants=_pairs(set_, "--set"),
                            replace=replace, repair=repair, max_problems=settings.import_error_rows)
    with psycopg.connect(database_url()) as conn, tqdm(unit=" rows", desc=f"{layer}", file=sys.stderr) as bar:
        try:
            with conn.transaction():
                report = import_file(conn, layer, file, options, progress=bar.update)
        except ImportRejected as exc:
            bar.close()
            _say(exc.report())
            raise typer.Exit(1) from None
    typer.echo(str(report))


@app.command()
def export(
    layer: Annotated[str, typer.Argument(help="Layer to write.")],
    file: Annotated[Path, typer.Argument(help="A .gpkg, .geojson/.json, .csv, .xlsx or (patrol tracks) .gpx file.")],
) -> None:
    """Write a layer to a file, as the API's export does (api/exports.py)."""
    from api.exports import FORMATS, GPX_LAYERS, export_bytes
    from db.engine import get_engine
    from db.features import layer_frame
    from db.layers import get_layer

    suffix = file.suffix.lower().lstrip(".")
    fmt = "geojson" if suffix == "json" else suffix
    if fmt not in FORMATS:
        raise typer.BadParameter(f"the file must end in .json or .{', .'.join(FORMATS)}", param_hint="FILE")
    try:
        found = get_layer(layer)
    except KeyError as exc:
        raise typer.BadParameter(exc.args[0], param_hint="LAYER") from None
    if fmt == "gpx" and found.name not in GPX_LAYERS:
        raise typer.BadParameter(f"gpx is for {', '.join(GPX_LAYERS)}", param_hint="FILE")
    database_url()
    with get_engine().connect() as conn:
        frame = layer_frame(conn, found)
    file.write_bytes(export_bytes(frame, fmt, found.name))
    typer.echo(f"wrote {len(frame)} features of {found.name} to {file}")


def create_demo_users(password: str) -> None:
    from api.security import hash_password
    from db.engine import get_engine
    from db.users import upsert_user

    hashed = hash_password(password)
    with get_engine().begin() as conn:
        for username, role, badge in DEMO_USERS:
            upsert_user(conn, username=username, password_hash=hashed, role=role,
                        officer_badge=badge, station_code="HKI")


@app.command()
def demo(
    serve_: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the API and map after loading.")] = True,
) -> None:
    """Start the database, migrate, load the Helsinki demo area and serve it on port 8000."""
    from beatbook.generate.demo import build_demo
    from beatbook.generate.load import load_dataset
    from db.migrate import upgrade

    settings = get_settings()
    url = database_url()
    upgrade(settings.sqlalchemy_url)
    _say("Building the demo area (real OpenStreetMap data of central Helsinki + synthetic records)")
    frames = build_demo()
    load_dataset(url, frames)
    _say(f"Patrol tracks: {rebuild_all_tracks(url)}")
    password = settings.demo_password or secrets.token_urlsafe(9)
    create_demo_users(password)
    users = ", ".join(u for u, _, _ in DEMO_USERS)
    typer.echo(f"Demo users {users}; password: "
               + ("from BEATBOOK_DEMO_PASSWORD" if settings.demo_password else password))
    if serve_:
        serve()


def rebuild_all_tracks(
    url: str,
    *,
    max_speed_mps: float | None = None,
    max_accuracy_m: float | None = None,
    max_gap_s: float | None = None,
) -> CleaningReport:
    """Rebuild every officer's tracks and commit; thresholds left None are the settings'."""
    from db.patrols import rebuild_tracks

    with psycopg.connect(url) as conn:
        return rebuild_tracks(conn, max_speed_mps=max_speed_mps, max_accuracy_m=max_accuracy_m,
                              max_gap_s=max_gap_s)


def _setting_default(name: str, per_unit: float = 1.0) -> str:
    """The default a track option shows: the setting's own, which the environment may change."""
    default = Settings.model_fields[name].default / per_unit
    return f"{default:g}, from BEATBOOK_{name.upper()}" + ("" if per_unit == 1 else f" / {per_unit:g}")


@tracks_app.command("build")
def tracks_build(
    max_speed: Annotated[float | None, typer.Option(
        min=0.0, show_default=_setting_default("track_max_speed_mps"),
        help="Fastest believable move from the last kept fix, m/s.")] = None,
    max_accuracy: Annotated[float | None, typer.Option(
        min=0.0, show_default=_setting_default("track_max_accuracy_m"),
        help="Fixes less accurate than this many metres are dropped.")] = None,
    max_gap_min: Annotated[float | None, typer.Option(
        min=0.0, show_default=_setting_default("track_max_gap_s", 60),
        help="A silence longer than this many minutes ends a track.")] = None,
) -> None:
    """Clean every officer's GPS fixes and rebuild their patrol tracks; print what was dropped."""
    max_gap_s = None if max_gap_min is None else max_gap_min * 60
    typer.echo(str(rebuild_all_tracks(database_url(), max_speed_mps=max_speed,
                                      max_accuracy_m=max_accuracy, max_gap_s=max_gap_s)))


@app.command()
def synth(
    buildings: Annotated[int, typer.Option(min=10, help="How many buildings the district has.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same district.")] = 1,
    months: Annotated[int, typer.Option(min=1, max=12, help="Months of GPS fixes and incidents.")] = 1,
) -> None:
    """Replace the database's data with a synthetic district of BUILDINGS buildings."""
    import time

    from beatbook.generate.district import build_district
    from beatbook.generate.load import load_dataset
    from db.migrate import upgrade

    url = database_url()
    upgrade(get_settings().sqlalchemy_url)
    started = time.perf_counter()
    frames = build_district(buildings, seed=seed, months=months)
    generated = time.perf_counter()
    load_dataset(url, frames)
    loaded = time.perf_counter()
    tracks = rebuild_all_tracks(url)
    rows = sum(len(f) for f in frames.values())
    typer.echo(f"synthetic district: {buildings} buildings, {rows} rows; "
               f"generated in {generated - started:.1f} s, loaded in {loaded - generated:.1f} s; "
               f"patrol tracks: {tracks} in {time.perf_counter() - loaded:.1f} s")


@app.command()
def prune(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be dropped; drop nothing.")] = False,
) -> None:
    """Drop whole months of GPS fixes and incidents older than their retention
    (BEATBOOK_GPS_FIX_RETENTION_MONTHS, BEATBOOK_INCIDENT_RETENTION_MONTHS); never the current month."""
    from db.partitions import months_before
    from db.partitions import prune as drop_months

    settings = get_settings()
    retention = {"gps_fix": settings.gps_fix_retention_months, "incident": settings.incident_retention_months}
    with psycopg.connect(database_url()) as conn:
        try:
            with conn.transaction():
                for table, keep in retention.items():
                    if not keep:
                        typer.echo(f"{table}: kept whole (no retention set)")
                        continue
                    old = (months_before if dry_run else drop_months)(conn, table, keep)
                    done = "would drop" if dry_run else "dropped"
                    typer.echo(f"{table}: {done} {len(old)} month(s), {sum(m.rows for m in old):,} rows, "
                               f"older than {keep} month(s)" + "".join(f"\n  {m}" for m in old))
        except psycopg.errors.LockNotAvailable:
            _say("the tables are busy with long reads; nothing was dropped: run it again")
            raise typer.Exit(1) from None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Serve the API (docs at /docs) and the map (at /)."""
    import uvicorn

    from api.main import create_app

    settings = get_settings()
    database_url()
    host, port = host or settings.host, port or settings.port
    typer.echo(f"Beatbook on http://{host}:{port}/  (API docs: http://{host}:{port}/docs)")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
