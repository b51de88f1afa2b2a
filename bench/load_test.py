"""Load test: officers opening the tonight view of their beat at once, through HTTP on loopback.

    python bench/load_test.py --buildings 100000 --users 50 --seconds 60 --workers 1 2 --answer-cache-mb 128 0

Builds (or reuses) the synthetic district of ``--buildings`` buildings in the scratch
database that ``bench/map_render.py`` uses, with its officer, and for each number of
``--workers`` and each size of the server's kept answers (``api/answer_cache.py``; 0, none
kept, is the obvious alternative) serves Beatbook with uvicorn in a subprocess (``--workers N`` processes)
and runs locust, headless, as a library: ``--users`` officers spawn within a few
seconds and each signs in once (``POST /api/auth/token``, Argon2, slow on purpose).
Once all are signed in (and ``--warm-up`` seconds later, to measure the steady state
rather than the first views, which make the kept answers) the statistics start afresh and
the load runs ``--seconds`` (an officer whose sign-in failed signs in again, within the window).

Each officer is a browser showing the page at 1280 × 800 and asks what the page asks
(``web/static/beatbook.js``), in its order and at most ``--connections`` requests at
once, as Chromium does for one host:

1. the tonight view: the page; ``/api/auth/me`` and ``/api/beats``; the beat's default
   nights (``/api/analysis/nights``); then at once the patrol gaps, the audit of
   unmanaged entrances (the 20 the view draws) and the hot spots on those nights;
   then the vector tiles of buildings of the view that the page fits to the beat
   (Leaflet's ``fitBounds`` done here the same way: z15, 24 tiles here);
2. a look (``--think`` seconds, uniform), then one zoom level in on a random place of
   the beat: the tiles of buildings and entrances of that view (z16, 48 tiles);
3. another look, and again from 1.

The tiles are the ones Chromium asks for in ``bench/map_render.py``'s setting (checked
request by request on the 100,000-building district). All officers sign in as that
bench's officer, so they share one beat and its analyses' parameters. The page's
static files (Leaflet, the scripts) are left to the browser's cache and not asked;
each officer's browser keeps what the server lets it (tiles: ``Cache-Control: private,
max-age=60``) and asks again only when that has run out; ``--cold-tiles`` asks for every
tile on every visit, as a browser whose cache is always cold.

Any answer that is not 2xx, and any exception, counts as an error. The table has, per
request kind and for all requests, the count, throughput, median, p95, p99 and max
latency, the mean size of an answer and the errors, counted over the window; below it
the time to a complete view, the sign-in while spawning (not in the totals), the
requests still unanswered when the window closed, where the CPU went (uvicorn, the
PostgreSQL backends of the scratch database, locust, and whatever else the machine
ran), and the most frequent exceptions in the server's log. ``--app`` serves another
app factory the same way, to load a variant of the app.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import math
import os
import random
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlencode

import gevent
import psutil
from gevent.pool import Pool
from locust import FastHttpUser, task
from locust.env import Environment
from locust.stats import StatsEntry
from map_render import PASSWORD, prepare
from sqlalchemy import make_url
from synth_load import bench_database

from beatbook.settings import get_settings
from db.tiles import MIN_ZOOM

PROJECT = Path(__file__).resolve().parent.parent
OFFICER = "bench-officer"  # made by map_render.prepare, with the first officer's beats

# The page as the map bench opens it, and what beatbook.js and beatbook.css give fitBounds:
# 50 px top left, and the panel (290 px wide, 14 px padding each side) plus 20 px bottom right.
VIEWPORT = (1280, 800)
PAD_TOP_LEFT = (50, 50)
PAD_BOTTOM_RIGHT = (290 + 2 * 14 + 20, 20)
MAP_MAX_ZOOM = 19  # web/page.py
TILE_PX = 256
OFFICER_TILE_LAYERS = ["buildings", "entrances"]  # VIEWS.officer in beatbook.js, on at first
AUDIT_LIMIT = 20  # OFFICER_AUDIT_TOP in beatbook.js
HOTSPOT_CELL_M = 100
NIGHT_WINDOW = "22:00-06:00"
DEFAULT_APP = "api.main:create_app"
VIEW = "VIEW"  # the request type of the complete-view timings, apart from the requests

# --- where the page looks: Leaflet's Web Mercator pixels, fitBounds and tile range --------


def mercator_px(lon: float, lat: float, zoom: float) -> tuple[float, float]:
    """Leaflet's pixel of (lon, lat) at ``zoom`` (EPSG:3857, 256 px tiles)."""
    size = TILE_PX * 2**zoom
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    return size * (lon / 360 + 0.5), size * (0.5 - y / (2 * math.pi))


def mercator_lonlat(px: float, py: float, zoom: float) -> tuple[float, float]:
    size = TILE_PX * 2**zoom
    lat = math.degrees(2 * math.atan(math.exp(2 * math.pi * (0.5 - py / size))) - math.pi / 2)
    return 360 * (px / size - 0.5), lat


def fit_bounds(bounds: tuple[float, float, float, float]) -> tuple[int, tuple[float, float]]:
    """The zoom and centre (lon, lat) Leaflet's ``map.fitBounds`` gives the page for ``bounds``
    (west, south, east, north) with the page's padding and a zoom snap of 1."""
    west, south, east, north = bounds
    (x0, y0), (x1, y1) = mercator_px(west, north, 0), mercator_px(east, south, 0)
    room_x = VIEWPORT[0] - PAD_TOP_LEFT[0] - PAD_BOTTOM_RIGHT[0]
    room_y = VIEWPORT[1] - PAD_TOP_LEFT[1] - PAD_BOTTOM_RIGHT[1]
    scale = min(room_x / (x1 - x0), room_y / (y1 - y0))
    zoom = math.floor(round(math.log2(scale) * 100) / 100)
    zoom = max(0, min(MAP_MAX_ZOOM, zoom))
    (sx, sy), (nx, ny) = mercator_px(west, south, zoom), mercator_px(east, north, zoom)
    offset = ((PAD_BOTTOM_RIGHT[0] - PAD_TOP_LEFT[0]) / 2, (PAD_BOTTOM_RIGHT[1] - PAD_TOP_LEFT[1]) / 2)
    return zoom, mercator_lonlat((sx + nx) / 2 + offset[0], (sy + ny) / 2 + offset[1], zoom)


def view_tiles(zoom: int, centre: tuple[float, float]) -> list[tuple[int, int, int]]:
    """The tiles Leaflet's GridLayer loads for the view, nearest the middle first."""
    cx, cy = (math.floor(v) for v in mercator_px(*centre, zoom))
    half_x, half_y = VIEWPORT[0] / 2, VIEWPORT[1] / 2
    x0, y0 = math.floor((cx - half_x) / TILE_PX), math.floor((cy - half_y) / TILE_PX)
    x1, y1 = math.ceil((cx + half_x) / TILE_PX) - 1, math.ceil((cy + half_y) / TILE_PX) - 1
    mid = ((x0 + x1) / 2, (y0 + y1) / 2)
    tiles = [(zoom, x, y) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1)]
    return sorted(tiles, key=lambda t: (t[1] - mid[0]) ** 2 + (t[2] - mid[1]) ** 2)


def shown_layers(zoom: int) -> list[str]:
    """The officer view's tile layers (on at first) that hold features at ``zoom``."""
    return [layer for layer in OFFICER_TILE_LAYERS if zoom >= MIN_ZOOM[layer]]


def geojson_bounds(geometry: dict) -> tuple[float, float, float, float]:
    coords = []

    def walk(part):
        if isinstance(part[0], (int, float)):
            coords.append(part)
        else:
            for p in part:
                walk(p)

    walk(geometry["coordinates"])
    lons, lats = [c[0] for c in coords], [c[1] for c in coords]
    return min(lons), min(lats), max(lons), max(lats)


# --- the officer ----------------------------------------------------------------------------


class Officer(FastHttpUser):
    """One officer's browser: signs in once, then opens the tonight view, looks, zooms in, looks."""

    # Set by run_load before the users spawn.
    abstract = True
    username = OFFICER
    password = PASSWORD
    think = (1.0, 3.0)
    concurrency = 6  # Chromium asks one host at most six things at once (HTTP/1.1)
    network_timeout = 120.0
    connection_timeout = 120.0
    keeps: bool = True  # whether the browser keeps what Cache-Control allows
    signed_in: ClassVar[list[int]] = []  # one entry an officer signed in
    in_flight: ClassVar[dict[int, float]] = {}  # when each request not yet answered was sent

    def wait_time(self) -> float:
        return random.uniform(*self.think)

    def on_start(self) -> None:
        self.pool = Pool(self.concurrency)
        self.cache: dict[str, tuple[float, object]] = {}  # url: (fresh until, answer)
        self.headers, self.beat, self.bounds = None, None, None
        self.sign_in()
        self.signed_in.append(1)

    def sign_in(self) -> None:
        form = urlencode({"username": self.username, "password": self.password})
        with self.client.post("/api/auth/token", data=form, name="sign in", catch_response=True,
                              headers={"Content-Type": "application/x-www-form-urlencoded"}) as r:
            if _judge(r):
                self.headers = {"Authorization": f"Bearer {r.json()['access_token']}"}

    def on_stop(self) -> None:
        self.pool.kill()  # the requests still in flight when the load stops

    def get(self, path: str, name: str, params: dict | None = None, parse: bool = False):
        """GET path as the browser would: the answer (its JSON parsed with ``parse``), or None after
        an error. Only the answers the next step needs are parsed: the browser's parsing takes the
        browser's time, and here it would take locust's, on the server's cores."""
        url = path + ("?" + urlencode(params) if params else "")
        kept = self.cache.get(url)
        if kept is not None and kept[0] > time.monotonic():
            return kept[1]
        key = id(gevent.getcurrent())
        self.in_flight[key] = time.perf_counter()
        try:
            with self.client.get(url, name=name, headers=self.headers, catch_response=True) as r:
                if not _judge(r):
                    return None
                answer = r.json() if parse else r.content
                fresh = re.search(r"max-age=(\d+)", r.headers.get("Cache-Control") or "")
                if self.keeps and fresh:
                    self.cache[url] = (time.monotonic() + int(fresh.group(1)), answer)
                return answer
        finally:
            self.in_flight.pop(key, None)

    def at_once(self, calls: list[tuple]) -> list:
        """Several GETs at once, at most ``concurrency`` in flight, answers in order."""
        return list(self.pool.imap(lambda c: self.get(*c), calls))

    def tiles(self, layers: list[str], tiles: list[tuple[int, int, int]]) -> list:
        calls = [(f"/api/tiles/{layer}/{z}/{x}/{y}.mvt", f"tile {layer} z{z}", {"datum": "wgs84"})
                 for z, x, y in tiles for layer in layers]
        return self.at_once(calls)

    def timed(self, name: str, step) -> None:
        """Run one step of the page and record how long until all its answers were in."""
        started = time.perf_counter()
        answers = step()
        failed = any(a is None for a in answers)
        self.environment.events.request.fire(
            request_type=VIEW, name=name, response_time=(time.perf_counter() - started) * 1000,
            response_length=0, exception=RuntimeError("a request of the view failed") if failed else None,
            context={})

    def open_view(self) -> list:
        answers = [self.get("/", "page /")]
        me, beats = self.at_once([("/api/auth/me", "auth/me", None, True), ("/api/beats", "beats", None, True)])
        answers += [me, beats]
        if me is None or beats is None:
            return answers
        features = {f["properties"]["code"]: f for f in beats["features"]}
        self.beat = next((c for c in me.get("beats") or [] if c in features), None) or min(features)
        self.bounds = geojson_bounds(features[self.beat]["geometry"])
        self.zoom, centre = fit_bounds(self.bounds)
        nights = self.get("/api/analysis/nights", "analysis/nights", {"beat": self.beat}, parse=True)
        answers.append(nights)
        if nights is None:
            return answers
        start, end = nights["nights"]
        answers += self.at_once([
            ("/api/analysis/patrol-gaps", "analysis/patrol-gaps",
             {"beat": self.beat, "start": start, "end": end, "window": NIGHT_WINDOW, "radius_m": 30}),
            ("/api/analysis/unmanaged-entrances", "analysis/unmanaged-entrances",
             {"beat": self.beat, "start": start, "end": end, "window": NIGHT_WINDOW, "reason": "unmanaged",
              "limit": AUDIT_LIMIT}),
            ("/api/analysis/hotspots", "analysis/hotspots",
             {"beat": self.beat, "end": end, "hours": NIGHT_WINDOW, "unit": "hex", "cell_m": HOTSPOT_CELL_M}),
        ])
        # The first view's tiles wait for the analyses (draw() in beatbook.js).
        return answers + self.tiles(shown_layers(self.zoom), view_tiles(self.zoom, centre))

    def zoom_in(self) -> list:
        west, south, east, north = self.bounds
        centre = (random.uniform(west, east), random.uniform(south, north))
        zoom = self.zoom + 1
        return self.tiles(shown_layers(zoom), view_tiles(zoom, centre))

    @task
    def tonight(self) -> None:
        if self.headers is None:  # the sign-in failed: the page shows its form again
            self.sign_in()
            return
        self.timed("tonight view, complete", self.open_view)
        if self.bounds is None:
            return
        gevent.sleep(random.uniform(*self.think))
        self.timed("zoom in one level, complete", self.zoom_in)


def _judge(r) -> bool:
    """Mark the answer a failure unless it is 2xx; True when it is."""
    if 200 <= r.status_code < 300:
        r.success()
        return True
    error = getattr(r, "error", None)
    r.failure(repr(error) if error else f"HTTP {r.status_code}: {(r.text or '')[:160]}")
    return False


# --- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """Beatbook under uvicorn with ``workers`` processes, in a subprocess, on the database at ``url``."""

    def __init__(self, url: str, workers: int, log: Path, app: str = DEFAULT_APP, answer_cache_mb: int = 128) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, DATABASE_URL=url, BEATBOOK_BASEMAP="plain",
                   BEATBOOK_ANSWER_CACHE_MB=str(answer_cache_mb),
                   # One key for every worker: a token signed by one is checked by another.
                   BEATBOOK_SECRET_KEY=secrets.token_urlsafe(32))
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", str(workers), "--log-level", "info", "--no-access-log"],
            cwd=PROJECT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.path = log
        deadline = time.monotonic() + 180
        while log.read_text().count("Application startup complete") < workers:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start:\n{log.read_text()[-2000:]}")
            gevent.sleep(0.2)

    def processes(self) -> list:
        import psutil

        root = psutil.Process(self.process.pid)
        return [root, *root.children(recursive=True)]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


class CpuMeter:
    """CPU seconds used while it runs, sampled each half second: by the server's processes, by
    the PostgreSQL backends serving its database (short-lived ones count while they live), by
    this process (locust), and by the whole machine."""

    def __init__(self, server: Server, database: str) -> None:
        self.server, self.database = server, database
        self.last: dict[int, tuple[str, float]] = {}
        self.used = Counter()
        self.greenlet = None

    def _sample(self) -> None:
        ours = {p.pid for p in self.server.processes()}
        for p in psutil.process_iter(["pid", "cmdline", "cpu_times"]):
            cmd = " ".join(p.info["cmdline"] or [])
            group = ("uvicorn" if p.info["pid"] in ours else "locust" if p.info["pid"] == os.getpid()
                     else "postgres" if cmd.startswith("postgres: ") and f" {self.database} " in cmd else None)
            if group is None or p.info["cpu_times"] is None:
                continue
            seconds = p.info["cpu_times"].user + p.info["cpu_times"].system
            before = self.last.get(p.info["pid"], (group, seconds if self.greenlet is None else 0.0))[1]
            self.used[group] += seconds - before
            self.last[p.info["pid"]] = (group, seconds)

    def _run(self) -> None:
        while True:
            gevent.sleep(0.5)
            self._sample()

    def start(self) -> None:
        self._sample()
        psutil.cpu_percent()
        self.started = time.perf_counter()
        self.greenlet = gevent.spawn(self._run)

    def stop(self) -> dict[str, float]:
        """Cores used on average, per group, and the machine's busy share."""
        self.greenlet.kill()
        self._sample()
        seconds = time.perf_counter() - self.started
        return {"busy": psutil.cpu_percent() / 100 * os.cpu_count(),
                **{group: used / seconds for group, used in self.used.items()}}


# --- one run and its table ------------------------------------------------------------------


def run_load(base: str, *, users: int, seconds: float, warm_up: float, spawn_rate: float,
             think: tuple[float, float], connections: int, keeps: bool, server: Server, database: str) -> dict:
    """Spawn the officers, wait until all signed in and ``warm_up`` seconds more, then measure
    ``seconds`` of load."""
    user_class = type("OfficerBrowser", (Officer,), {
        "abstract": False, "host": base, "think": think, "concurrency": connections, "keeps": keeps,
        "signed_in": [],
        "in_flight": {}})
    env = Environment(user_classes=[user_class], catch_exceptions=True)
    runner = env.create_local_runner()
    started = time.perf_counter()
    runner.start(users, spawn_rate=spawn_rate)
    while len(user_class.signed_in) < users:
        if time.perf_counter() - started > 600:
            raise RuntimeError(f"only {len(user_class.signed_in)} of {users} officers signed in after 600 s")
        gevent.sleep(0.1)
    ramp = time.perf_counter() - started
    sign_in = _copy(env.stats.get("sign in", "POST"))
    sign_in_errors = [copy.copy(e) for e in env.stats.errors.values() if e.name == "sign in"]
    gevent.sleep(warm_up)
    env.stats.reset_all()
    env.stats.errors.clear()
    meter = CpuMeter(server, database)
    meter.start()
    measured = time.perf_counter()
    gevent.sleep(seconds)
    # What came in during the window; answers cut off when the load stops do not count.
    entries = {key: _copy(e) for key, e in env.stats.entries.items()}
    errors = [copy.copy(e) for e in env.stats.errors.values()]
    now = time.perf_counter()
    duration = now - measured
    waiting = sorted(now - t for t in user_class.in_flight.values())
    cpu = meter.stop()
    runner.quit()
    return {"entries": entries, "errors": errors, "exceptions": list(runner.exceptions.values()),
            "sign_in": sign_in, "sign_in_errors": sign_in_errors, "ramp": ramp, "duration": duration,
            "cpu": cpu, "waiting": waiting}


def _copy(entry: StatsEntry) -> StatsEntry:
    frozen = StatsEntry(entry.stats, entry.name, entry.method, use_response_times_cache=False)
    frozen.extend(entry)
    return frozen


KIND_ORDER = ["page /", "auth/me", "beats", "analysis/nights", "analysis/patrol-gaps",
              "analysis/unmanaged-entrances", "analysis/hotspots"]


def print_table(result: dict, *, title: str) -> StatsEntry:
    duration = result["duration"]
    entries = [e for e in result["entries"].values() if e.method != VIEW]
    entries.sort(key=lambda e: (KIND_ORDER.index(e.name) if e.name in KIND_ORDER else len(KIND_ORDER), e.name))
    total = StatsEntry(None, "all requests", "", use_response_times_cache=False)
    for e in entries:
        total.extend(e)
    views = sorted((e for e in result["entries"].values() if e.method == VIEW), key=lambda e: e.name)
    print(f"\n{title}")
    head = (f"  {'request kind':32s} {'requests':>8s} {'req/s':>7s} {'median':>7s} {'p95':>7s} {'p99':>7s} "
            f"{'max':>7s} {'kB':>6s} {'errors':>6s}")
    print(head)
    print("  " + "-" * (len(head) - 2))
    for e in entries:
        _row(e, duration)
    print("  " + "-" * (len(head) - 2))
    _row(total, duration)
    print("  (latencies in ms; locust keeps them to 2 significant digits above 100 ms)")
    for e in views:
        _row(e, duration, size=False)
    signed = result["sign_in"]
    print(f"  {'sign in, while spawning':32s} {signed.num_requests:>8,} {'':>7s} "
          f"{signed.median_response_time:>7,.0f} {signed.get_response_time_percentile(0.95):>7,.0f} "
          f"{signed.get_response_time_percentile(0.99):>7,.0f} {signed.max_response_time:>7,.0f} {'':>6s} "
          f"{signed.num_failures:>6,}   (all signed in {result['ramp']:.1f} s after the first spawned)")
    if result["waiting"]:
        waiting = result["waiting"]
        print(f"  unanswered when the window closed: {len(waiting)} request{'s' * (len(waiting) > 1)}, "
              f"waiting for a median "
              f"{waiting[len(waiting) // 2]:.1f} s, the longest {waiting[-1]:.1f} s (not in the table)")
    cpu = result["cpu"]
    mine = sum(cpu.get(k, 0.0) for k in ("uvicorn", "postgres", "locust"))
    print(f"  CPU, cores of {os.cpu_count()} on average: machine {cpu['busy']:.2f} busy = uvicorn "
          f"{cpu.get('uvicorn', 0):.2f} + PostgreSQL for it {cpu.get('postgres', 0):.2f} + locust "
          f"{cpu.get('locust', 0):.2f} + others' work {max(0.0, cpu['busy'] - mine):.2f}")
    for e in result["exceptions"]:
        print(f"  the load test itself failed {e['count']} times: {e['msg']}\n{e['traceback'][-600:]}")
    errors = result["errors"] + result["sign_in_errors"]
    if errors:
        print(f"  errors ({sum(e.occurrences for e in errors):,}), the first kinds:")
        for e in sorted(errors, key=lambda e: -e.occurrences)[:5]:
            print(f"    {e.occurrences:>6,} x {e.name}: {str(e.error)[:300]}")
    return total


def _row(e: StatsEntry, duration: float, size: bool = True) -> None:
    n = e.num_requests
    if not n:
        return
    kb = f"{e.avg_content_length / 1000:>6.0f}" if size else f"{'':>6s}"
    print(f"  {e.name:32s} {n:>8,} {n / duration:>7.1f} {e.median_response_time:>7,.0f} "
          f"{e.get_response_time_percentile(0.95):>7,.0f} {e.get_response_time_percentile(0.99):>7,.0f} "
          f"{e.max_response_time:>7,.0f} {kb} {e.num_failures:>6,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--buildings", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warm-up", type=float, default=0.0, metavar="SECONDS",
                        help="load the server this long after all signed in before measuring: the "
                             "steady state, after the first views made the kept answers")
    parser.add_argument("--spawn-rate", type=float, default=10.0, help="officers started a second")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="uvicorn worker processes; one run for each, same load")
    parser.add_argument("--answer-cache-mb", type=int, nargs="+", default=[128, 0],
                        help="the server's kept answers (BEATBOOK_ANSWER_CACHE_MB) per worker; one run for "
                             "each with each number of workers; 0 keeps none")
    parser.add_argument("--think", type=float, nargs=2, default=[1.0, 3.0], metavar=("MIN", "MAX"),
                        help="seconds an officer looks at the map between steps")
    parser.add_argument("--connections", type=int, default=6, help="requests a browser has in flight at once")
    parser.add_argument("--cold-tiles", action="store_true",
                        help="ask for every tile on every visit, whatever Cache-Control allows")
    parser.add_argument("--app", default=DEFAULT_APP,
                        help="the app factory uvicorn serves, to load a variant of the app the same way")
    args = parser.parse_args()

    settings = get_settings()
    name = f"beatbook_bench_map_{args.buildings}"  # map_render.py's database: built once for both
    libpq = bench_database(settings, name)
    url = make_url(settings.sqlalchemy_url).set(database=name).render_as_string(hide_password=False)
    prepare(libpq, url, args.buildings)
    load = os.getloadavg()[0]
    print(f"district of {args.buildings:,} buildings; {args.users} officers (spawned {args.spawn_rate:g}/s), "
          f"{args.seconds:g} s measured after all signed in"
          f"{f' and {args.warm_up:g} s of warm-up' if args.warm_up else ''}, think {args.think[0]:g}-{args.think[1]:g} s, "
          f"{args.connections} connections a browser, its cache {'cold' if args.cold_tiles else 'kept'}; "
          f"{os.cpu_count()} cores shared with locust and "
          f"PostgreSQL (load average {load:.1f} before)", flush=True)
    totals = {}
    for workers, cache_mb in itertools.product(args.workers, args.answer_cache_mb):
        log = Path(tempfile.gettempdir()) / f"beatbook-load-test-{os.getpid()}-{workers}-{cache_mb}.log"
        server = Server(url, workers, log, args.app, cache_mb)
        run = (f"{workers} worker{'s' * (workers > 1)}, "
               + (f"answers kept ({cache_mb} MB)" if cache_mb else "no answers kept"))
        try:
            result = run_load(server.base, users=args.users, seconds=args.seconds, warm_up=args.warm_up,
                              spawn_rate=args.spawn_rate,
                              think=tuple(args.think), connections=args.connections,
                              keeps=not args.cold_tiles, server=server,
                              database=name)
        finally:
            server.stop()
        totals[run] = (print_table(result, title=f"uvicorn, {run}"
                                              + (f", {args.app}" if args.app != DEFAULT_APP else "") + ":"),
                       result["duration"], result["entries"])
        # The last line of each traceback in the server's log: what the 5xx were.
        problems = Counter(line[:200] for line in log.read_text().splitlines()
                           if re.match(r"[\w.]+(Error|Exception)\b.*:", line))
        for line, n in problems.most_common(3):
            print(f"  server log: {n:,} x {line}")
        log.unlink()
    if len(totals) > 1:
        print("\nall requests, side by side:")
        for run, (total, duration, entries) in totals.items():
            views = entries.get(("tonight view, complete", VIEW))
            done = (f"median {views.median_response_time:,.0f} ms, {views.num_requests / duration:.2f} a second"
                    if views and views.num_requests else "none within the window")
            print(f"  {run:36s} {total.num_requests / duration:6.1f} req/s, "
                  f"p95 {total.get_response_time_percentile(0.95):6,.0f} ms, errors {total.num_failures:,}; "
                  f"tonight views complete: {done}")

if __name__ == "__main__":
    main()
