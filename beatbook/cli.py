"""The ``beatbook`` command."""

from __future__ import annotations

import typer

from beatbook import cluster
from beatbook.settings import get_settings

app = typer.Typer(help="Beatbook: community beats on a map, backed by PostGIS.", no_args_is_help=True)
db_app = typer.Typer(help="The embedded PostGIS cluster (unused when DATABASE_URL is set).")
app.add_typer(db_app, name="db")


def database_url() -> str:
    """The database to use: DATABASE_URL, or the embedded cluster, started if need be."""
    settings = get_settings()
    if settings.uses_embedded_db:
        cluster.start(settings, echo=lambda msg: typer.echo(msg, err=True))
    return settings.libpq_url


@db_app.command("up")
def db_up() -> None:
    """Create (first time) and start the embedded cluster, and print its URL."""
    settings = get_settings()
    if not settings.uses_embedded_db:
        typer.echo(f"DATABASE_URL is set; nothing to start. Using {settings.libpq_url}")
        return
    typer.echo(cluster.start(settings, echo=lambda msg: typer.echo(msg, err=True)))


@db_app.command("down")
def db_down() -> None:
    """Stop the embedded cluster."""
    stopped = cluster.stop(get_settings())
    typer.echo("stopped" if stopped else "not running")


@app.command()
def migrate(revision: str = typer.Argument("head", help="Alembic revision to upgrade to.")) -> None:
    """Bring the database schema up to date."""
    from db.migrate import upgrade

    upgrade(database_url(), revision)
    typer.echo(f"schema at {revision}")
