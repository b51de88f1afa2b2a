"""The map in headless Chromium: Beatbook's page against the naive Folium page, as the district grows.

    python bench/map_render.py --buildings 25000 100000

For each district size it builds (or reuses) a synthetic district in a scratch
database, serves Beatbook on it, and in Debian's chromium times, median of
``--runs`` fresh pages:

- *Beatbook*: the officer signs in and the "tonight" view of the beat is drawn
  (vector tiles of buildings and entrances, the patrol gaps, the entrance audit,
  hot spots); one clock runs from the sign-in click to ``body[data-ready=true]``
  (it includes checking the password, slow on purpose), another from reopening the
  page, signed in, to the same;
- *naive*: a Folium page with the whole building layer embedded as GeoJSON; the
  clock runs from navigation to the page's load event and a painted frame;

and reads the page's JavaScript heap (Chromium's Performance.getMetrics).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import folium
import geopandas as gpd
import psycopg
import uvicorn
from playwright.sync_api import sync_playwright
from sqlalchemy import make_url
from synth_load import bench_database

from api.main import create_app
from api.security import hash_password
from beatbook.generate.district import build_district
from beatbook.generate.load import load_dataset
from beatbook.settings import get_settings
from db.engine import get_engine
from db.users import upsert_user
from web.page import LocalMap

PASSWORD = "bench-password"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run"]


def prepare(libpq: str, url: str, buildings: int) -> None:
    """The district, its patrols, and an officer with a beat, in the scratch database."""
    with psycopg.connect(libpq) as conn:
        have = conn.execute("SELECT count(*) FROM building").fetchone()[0]
    if have != buildings:
        started = time.perf_counter()
        load_dataset(libpq, build_district(buildings), progress=False)
        with psycopg.connect(libpq) as conn, conn.transaction():
            from db.patrols import rebuild_tracks

            rebuild_tracks(conn)
        print(f"district of {buildings:,} buildings loaded in {time.perf_counter() - started:.0f} s", flush=True)
    with get_engine(url).begin() as conn:
        badge = conn.exec_driver_sql("SELECT o.badge FROM officer o JOIN officer_beat ob ON ob.officer_id = o.id "
                                     "ORDER BY o.id LIMIT 1").scalar_one()
        upsert_user(conn, username="bench-officer", password_hash=hash_password(PASSWORD), role="officer",
                    officer_badge=badge)


def serve(url: str) -> tuple[uvicorn.Server, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = get_settings().model_copy(update={"database_url": url.replace("+psycopg", ""), "basemap": "plain"})
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def naive_page(url: str, base: str, folder: Path) -> Path:
    """The obvious Folium page: every building as one embedded GeoJSON layer."""
    with get_engine(url).connect() as conn:
        buildings = gpd.read_postgis("SELECT id, managed, geom FROM building", conn, geom_col="geom")
    fmap = LocalMap(location=[buildings.total_bounds[[1, 3]].mean(), buildings.total_bounds[[0, 2]].mean()],
                    zoom_start=15, tiles=None, prefer_canvas=True)
    # Leaflet comes from Beatbook's server, as on its own page: neither page waits for the internet.
    fmap.default_js = [("leaflet", f"{base}/static/vendor/leaflet/leaflet.js")]
    fmap.default_css = [("leaflet_css", f"{base}/static/vendor/leaflet/leaflet.css")]
    folium.GeoJson(buildings, style_function=lambda f: {"weight": 1, "color": "#a13c1e" if not
                                                        f["properties"]["managed"] else "#4d7f4d"}).add_to(fmap)
    path = folder / "naive.html"
    fmap.save(str(path))
    return path


def heap_mb(page) -> float:
    client = page.context.new_cdp_session(page)
    client.send("Performance.enable")
    metrics = {m["name"]: m["value"] for m in client.send("Performance.getMetrics")["metrics"]}
    return metrics["JSHeapUsedSize"] / 1e6


def time_beatbook(browser, base: str) -> tuple[float, float, float]:
    """Seconds from the sign-in click to the complete view, the JavaScript heap then, and
    seconds from reopening the page (signed in) to the complete view."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(base + "/")
    page.fill("input[name=username]", "bench-officer")
    page.fill("input[name=password]", PASSWORD)
    started = time.perf_counter()
    page.click("#bb-login button")
    page.wait_for_selector("body[data-ready=true]", timeout=120_000)
    signed_in = time.perf_counter() - started
    heap = heap_mb(page)
    started = time.perf_counter()
    page.reload()
    page.wait_for_selector("body[data-ready=true]", timeout=120_000)
    reopened = time.perf_counter() - started
    page.context.close()
    return signed_in, heap, reopened


def time_naive(browser, path: Path) -> tuple[float, float]:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    started = time.perf_counter()
    page.goto(path.as_uri(), wait_until="load", timeout=300_000)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    seconds = time.perf_counter() - started
    heap = heap_mb(page)
    page.context.close()
    return seconds, heap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--buildings", type=int, nargs="+", default=[25_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    settings = get_settings()
    chromium = shutil.which("chromium")
    print(f"{'buildings':>10}  {'Beatbook: signed in':>20} {'reopened':>9} {'heap':>8}  "
          f"{'naive Folium: drawn':>20} {'heap':>8}")
    with sync_playwright() as p, tempfile.TemporaryDirectory() as folder:
        browser = p.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        for n in args.buildings:
            name = f"beatbook_bench_map_{n}"
            libpq = bench_database(settings, name)
            url = make_url(settings.sqlalchemy_url).set(database=name).render_as_string(hide_password=False)
            prepare(libpq, url, n)
            server, base = serve(url)
            ours = [time_beatbook(browser, base) for _ in range(args.runs)]
            naive = naive_page(url, base, Path(folder))
            theirs = [time_naive(browser, naive) for _ in range(args.runs)]
            server.should_exit = True
            median = lambda rows, k: statistics.median(r[k] for r in rows)  # noqa: E731
            print(f"{n:>10,}  {median(ours, 0):>18.2f} s {median(ours, 2):>7.2f} s {median(ours, 1):>6.0f} MB  "
                  f"{median(theirs, 0):>18.2f} s {median(theirs, 1):>6.0f} MB "
                  f"({naive.stat().st_size / 1e6:.0f} MB of HTML)", flush=True)
        browser.close()


if __name__ == "__main__":
    main()
