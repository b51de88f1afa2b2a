"""The map page in a real headless Chromium, against a live server and a real PostGIS."""

import shutil
import socket
import threading
import time

import psycopg
import pytest
import uvicorn

from api.main import create_app
from api.security import hash_password
from beatbook.settings import Settings
from db.migrate import upgrade
from tests.conftest import PASSWORD, fresh_database, libpq

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_server(server_url):
    url = fresh_database(server_url, "beatbook_test_map")
    upgrade(url.render_as_string(hide_password=False))
    with psycopg.connect(libpq(url)) as conn:
        conn.execute("INSERT INTO beat (code, name, geom) VALUES "
                     "('T-01', 'Test beat', ST_Multi(ST_MakeEnvelope(24.94, 60.165, 24.95, 60.17, 4326)))")
        for i, managed in enumerate([True, False, False]):
            x = 24.942 + i * 0.002
            conn.execute("INSERT INTO building (address, managed, geom) VALUES "
                         "(%s, %s, ST_Multi(ST_MakeEnvelope(%s, 60.166, %s, 60.167, 4326)))",
                         (f"Testikatu {i}", managed, x, x + 0.001))
        conn.execute("INSERT INTO app_user (username, password_hash, role) VALUES ('officer', %s, 'officer')",
                     (hash_password(PASSWORD),))
    port = free_port()
    settings = Settings(database_url=libpq(url), environment="test")
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"],
        )
        yield browser
        browser.close()


def test_an_officer_logs_in_and_sees_the_beat_and_its_buildings(live_server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(live_server + "/")
    page.fill("input[name=username]", "officer")
    page.fill("input[name=password]", PASSWORD)
    page.click("#bb-login button")
    page.wait_for_selector("body[data-ready=true]", timeout=15_000)
    assert page.inner_text("#bb-status") == "1 beats, 3 buildings"
    assert page.is_hidden("#bb-login")
    assert page.locator(".bb-beat-label").inner_text() == "T-01 Test beat"
    assert "Building without (unmanaged)" in page.inner_text(".bb-legend")
    assert errors == []
    # Offline by design: nothing but this server is asked for anything.
    assert all(url.startswith(live_server) for url in requests)
    page.screenshot(path=tmp_path / "map.png")
    assert (tmp_path / "map.png").stat().st_size > 10_000


def test_a_wrong_password_is_shown_on_the_form(live_server, browser):
    page = browser.new_page()
    page.goto(live_server + "/")
    page.fill("input[name=username]", "officer")
    page.fill("input[name=password]", "nope")
    page.click("#bb-login button")
    page.wait_for_function("document.querySelector('.bb-error').textContent.length > 0")
    assert page.inner_text(".bb-error") == "wrong username or password"
