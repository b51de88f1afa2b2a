"""Tests run against a real PostGIS: a fresh database per session, a rollback per test.

The server is the embedded cluster (started if need be) or the one DATABASE_URL
names; the tests create their own database beside it and never touch the others.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import psycopg
import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy import URL, create_engine, make_url, pool, text

from beatbook import cluster
from beatbook.settings import PROJECT_ROOT, Settings

# Another name lets two runs of the suite share one server without wiping each other's data;
# each pytest-xdist worker takes its own, after its name.
TEST_DB = os.environ.get("BEATBOOK_TEST_DB", "beatbook_test") + (
    f"_{os.environ['PYTEST_XDIST_WORKER']}" if "PYTEST_XDIST_WORKER" in os.environ else "")
PASSWORD = "correct horse battery staple"
SHARED_DATA = Path(os.environ.get("BEATBOOK_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))


def drop_database(server: URL, name: str) -> None:
    with psycopg.connect(libpq(server), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def fresh_database(server: URL, name: str) -> URL:
    """Drop and create database ``name`` on the server; return its SQLAlchemy URL."""
    drop_database(server, name)
    with psycopg.connect(libpq(server), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return server.set(database=name)


def migrated_database(server: URL, name: str, revision: str = "head") -> URL:
    """A fresh database ``name``, migrated: for data that must be committed, to be read by other
    connections (a CLI run, Dask workers) than the tests' own, which roll back."""
    from db.migrate import upgrade

    url = fresh_database(server, name)
    upgrade(url.render_as_string(hide_password=False), revision)
    return url


@pytest.fixture
def database_at(server_url):
    """``database_at(revision)``: a database of its own migrated to ``revision``, for testing
    the migrations after it, as ``(url, engine)``; dropped after the test."""
    made = []

    def make(revision: str):
        name = f"{TEST_DB}_at_{revision}"
        url = migrated_database(server_url, name, revision).render_as_string(hide_password=False)
        made.append((name, engine := create_engine(url, poolclass=pool.NullPool)))
        return url, engine

    yield make
    for name, engine in made:
        engine.dispose()
        drop_database(server_url, name)


def libpq(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


STARTED_CLUSTER = pytest.StashKey[bool]()


def pytest_configure(config):
    """Start the embedded cluster once, in the process that runs (or farms out) the tests:
    pytest-xdist's workers, started after this, would otherwise race to create it."""
    settings = Settings()
    if hasattr(config, "workerinput") or not settings.uses_embedded_db or cluster.is_running(settings):
        return
    cluster.start(settings, echo=print)
    config.stash[STARTED_CLUSTER] = True


def pytest_unconfigure(config):
    if config.stash.get(STARTED_CLUSTER, False):
        cluster.stop(Settings())


@pytest.fixture(scope="session")
def server_url() -> URL:
    return make_url(Settings().sqlalchemy_url)


@pytest.fixture(scope="session")
def db_url(server_url: URL) -> URL:
    """A migrated test database; the migration is also run down and up again to prove it reverses."""
    from db.migrate import downgrade, upgrade

    url = fresh_database(server_url, TEST_DB)
    rendered = url.render_as_string(hide_password=False)
    upgrade(rendered)
    downgrade(rendered, "base")
    upgrade(rendered)
    return url


@pytest.fixture(scope="session")
def engine(db_url: URL):
    engine = create_engine(db_url, poolclass=pool.NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def conn(engine):
    """A SQLAlchemy connection inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def pg(conn) -> psycopg.Connection:
    """The same transaction as ``conn``, as the psycopg connection the importer takes."""
    # SQLAlchemy begins lazily: without a statement first, psycopg would see no
    # transaction, and a ``conn.transaction()`` block in the code under test would commit.
    conn.execute(text("SELECT 1"))
    return conn.connection.driver_connection


@pytest.fixture
def settings() -> Settings:
    return Settings(environment="test", secret_key="test-secret-key-test-secret-key-32",
                    max_upload_mb=1, max_page_size=100)


@pytest.fixture
def app(conn, engine, settings):
    from api.deps import get_db, take_on_user
    from api.main import create_app
    from db import access

    app = create_app(settings, engine)

    def request_db(request: Request):
        # Each request gets a savepoint of the test's transaction: a failing request
        # rolls back its own work and leaves the test able to look at the rest.
        savepoint = conn.begin_nested()
        take_on_user(conn, request)
        try:
            yield conn
        except Exception:
            savepoint.rollback()
            raise
        else:
            savepoint.commit()
        finally:
            # The request's role outlives its savepoint: the test goes on with its own.
            access.act_as_owner(conn)

    app.dependency_overrides[get_db] = request_db
    return app


@pytest.fixture
def client(app):
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def users(conn) -> dict[str, int]:
    """One user per role, all with the password PASSWORD, and a station HKI."""
    from sqlalchemy import text

    from api.security import hash_password
    from db.users import upsert_user

    conn.execute(text("INSERT INTO station (code, name) VALUES ('HKI', 'Helsinki test station')"))
    conn.execute(text("INSERT INTO officer (badge, name) VALUES ('T-1', 'Test Officer')"))
    hashed = hash_password(PASSWORD)
    return {
        role: upsert_user(conn, username=role, password_hash=hashed, role=role,
                          officer_badge="T-1" if role == "officer" else None, station_code="HKI")
        for role in ("officer", "supervisor", "planner", "admin")
    }


@pytest.fixture
def auth(client, users):
    """Headers with a bearer token for a role: ``auth("planner")``."""

    def headers(role: str) -> dict[str, str]:
        response = client.post("/api/auth/token", data={"username": role, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return headers


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("the shared real-data folder is not beside the project (set BEATBOOK_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo_frames() -> dict:
    """The demo area's frames, built once (loading them is each test's own, rolled back)."""
    from beatbook.generate.demo import build_demo

    return build_demo()


# Debian's chromium, as root (no sandbox) and offline: nothing in the background calls out.
CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session; tests that need it skip without it."""
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def dask_threads():
    """A Dask client of two worker threads in this process: quick to start, for a module's tests."""
    from beatbook.dask_client import dask_client

    with dask_client(workers=2, processes=False) as client:
        yield client
