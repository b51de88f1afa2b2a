"""The map page in a real headless Chromium, against a live server and a real PostGIS.

The database holds the Helsinki demo area (beats HKI-01..03, officer HKI-101 on HKI-01),
its patrol tracks built, and one user per role.
"""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from api.main import create_app
from api.security import hash_password
from beatbook.cli import rebuild_all_tracks
from beatbook.generate.load import load_dataset
from beatbook.settings import Settings
from db.migrate import upgrade
from db.users import upsert_user
from tests.conftest import PASSWORD, TEST_DB, fresh_database, libpq
from tests.serving import served

READY = "body[data-ready=true]"
GAP_COLOUR = "#ff0a8c"  # beatbook.js: the patrol gaps' loud colour


@pytest.fixture(scope="module")
def live_server(server_url, demo_frames):
    url = fresh_database(server_url, TEST_DB + "_map")
    upgrade(url.render_as_string(hide_password=False))
    load_dataset(libpq(url), demo_frames, progress=False)
    rebuild_all_tracks(libpq(url))
    from sqlalchemy import create_engine, pool

    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.begin() as conn:
        hashed = hash_password(PASSWORD)
        for role, badge in (("officer", "HKI-101"), ("supervisor", None), ("planner", None)):
            upsert_user(conn, username=role, password_hash=hashed, role=role, officer_badge=badge,
                        station_code="HKI")
    engine.dispose()
    # Offline by design: the page opens on the plain background (tests of the others ask for them).
    settings = Settings(database_url=libpq(url), environment="test", basemap="plain")
    with served(create_app(settings)) as base:
        yield base


# Where the features of a tile layer are drawn, in page pixels (each point, or each shape's
# box centre): VectorGrid keeps a tile's features on the tile's canvas renderer.
DRAWN = """id => {
    const map = window.beatbook.map, grid = window.beatbook.layers[id].grid;
    const box = map.getContainer().getBoundingClientRect(), out = [];
    for (const tile of Object.values(grid._vectorTiles)) {
        for (const f of Object.values(tile._layers)) {
            const p = f._point || f._pxBounds.getCenter();
            const c = map.layerPointToContainerPoint(p.add(tile.getOffset()));
            out.push([box.left + c.x, box.top + c.y]);
        }
    }
    return out;
}"""


class Session:
    """One page in its own browser context, with what it asked for and what went wrong."""

    def __init__(self, browser, server: str, locale: str = "en-GB"):
        self.server = server
        self.page = browser.new_page(viewport={"width": 1100, "height": 750}, locale=locale)
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("request", lambda request: self.requests.append(request.url))

    def log_in(self, username: str, password: str = PASSWORD) -> None:
        self.page.goto(self.server + "/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        self.page.click("#bb-login button")

    def open_view(self, username: str) -> None:
        """Log in and wait for the role's first complete view."""
        self.log_in(username)
        self.page.wait_for_selector(READY, timeout=20_000)

    def wait_for_draw(self, generation: int) -> None:
        self.page.wait_for_function(f"Number(document.body.dataset.generation) >= {generation}", timeout=20_000)

    def asked(self, route: str, since: int = 0) -> list[dict[str, list[str]]]:
        """The query parameters of each request to an API route, in order."""
        return [parse_qs(urlsplit(u).query) for u in self.requests[since:] if urlsplit(u).path == "/api" + route]

    def tiles(self, layer: str) -> list[str]:
        return [u for u in self.requests if f"/api/tiles/{layer}/" in u]

    def state(self, path: str):
        return self.page.evaluate(f"window.beatbook.state.{path}")

    def legend(self) -> str:
        return self.page.inner_text(".bb-legend")

    def overlays(self) -> list[str]:
        return self.page.eval_on_selector_all("#bb-overlays input", "inputs => inputs.map(i => i.dataset.layer)")

    def overlays_text(self) -> str:
        return self.page.inner_text("#bb-overlays")

    def outside(self) -> list[str]:
        """What was asked of anything but this server."""
        return [u for u in self.requests if not u.startswith((self.server, "data:", "blob:"))]

    def check_clean(self, blocked: str | None = None) -> None:
        """No script errors, and offline: nothing asked elsewhere but hosts matching ``blocked``
        (a regular expression), whose requests the test aborted."""
        assert self.errors == []
        # Offline by design: nothing but this server is asked for anything.
        assert [u for u in self.outside() if not (blocked and re.fullmatch(blocked, urlsplit(u).hostname or ""))] == []

    def drawn(self, layer: str) -> list[list[float]]:
        return self.page.evaluate(DRAWN, layer)

    def click_drawn(self, layer: str) -> None:
        """Click a feature of a tile layer that nothing else covers."""
        point = self.page.evaluate("""points => points.find(([x, y]) => {
            const el = document.elementFromPoint(x, y), map = window.beatbook.map.getContainer();
            return x > 60 && y > 60 && x < 780 && y < 700 && map.contains(el) && el.tagName !== "path"
                && !el.closest(".leaflet-control");
        })""", self.drawn(layer))
        assert point, f"no feature of {layer} is clickable"
        self.page.mouse.click(*point)

    def click_visible(self, selector: str) -> None:
        """Click the middle of the first element of ``selector`` that is on top there."""
        point = self.page.evaluate("""selector => {
            for (const node of document.querySelectorAll(selector)) {
                const box = node.getBoundingClientRect();
                const x = box.left + box.width / 2, y = box.top + box.height / 2;
                if (box.width > 0 && x > 60 && y > 60 && x < 780 && y < 700 && document.elementFromPoint(x, y) === node) return [x, y];
            }
            return null;
        }""", selector)
        assert point, f"nothing of {selector} is clickable"
        self.page.mouse.click(*point)


def test_an_officer_gets_tonights_view_of_the_beat_and_prints_its_briefing(live_server, browser):
    s = Session(browser, live_server)
    page = s.page
    s.open_view("officer")
    assert page.is_hidden("#bb-login")
    # The officer's own beat, zoomed to, with tonight's analyses.
    assert page.input_value("#bb-beat") == "HKI-01"
    assert page.is_hidden("#bb-view-row")  # one role, one view
    assert page.inner_text("#bb-status").startswith("HKI-01: ")
    [gaps] = s.asked("/analysis/patrol-gaps")
    assert gaps["beat"] == ["HKI-01"] and gaps["window"] == ["22:00-06:00"]
    [audit] = s.asked("/analysis/unmanaged-entrances")
    assert audit["reason"] == ["unmanaged"]
    [hotspots] = s.asked("/analysis/hotspots")
    assert hotspots["cell_m"] == ["100"]
    # The beat's default nights were asked first; every analysis asks for the same ones.
    start, end = page.input_value("#bb-start"), page.input_value("#bb-end")
    assert start and end and audit["start"] == [start] and hotspots["end"] == [end]
    # Gaps drawn in their loud colour, and counted.
    assert s.state("counts.gapLines") > 0
    assert page.locator(f'path[stroke="{GAP_COLOUR}"]').count() >= s.state("counts.gapLines")
    assert s.state("counts.audit") == 20
    legend = s.legend()
    for words in ("Street not passed", "Entrance not passed", "Unmanaged entrances at risk", "Hot spot",
                  "Building without (unmanaged)", "Entrance of an unmanaged building"):
        assert words in legend
    # Buildings come as vector tiles, not as a whole layer; entrances too, from z16 (below,
    # a dense district's are dots too close to tell apart).
    assert s.tiles("buildings") and not s.tiles("entrances")
    assert not [u for u in s.requests if "/api/layers/buildings" in u]
    assert len(s.drawn("buildings")) > 50
    assert s.overlays()[:3] == ["gaps", "audit", "hotspots"]

    # A tile's feature and an analysis' feature have popups of facts, no people.
    page.evaluate("window.beatbook.map.setZoom(16, { animate: false })")
    page.wait_for_function(f"({DRAWN})('entrances').length > 10", timeout=20_000)
    s.click_drawn("entrances")
    popup = page.inner_text(".leaflet-popup-content")
    assert "Access control" in popup and "Building managed" in popup
    page.click(".leaflet-popup-close-button")
    page.wait_for_timeout(400)  # the map may still be panning to fit the popup
    s.click_visible('path[stroke="#4a1486"]')  # an entrance of the audit
    popup = page.inner_text(".leaflet-popup-content")
    assert "Households" in popup and "Living alone" in popup and "Risk" in popup

    # The night briefing: the beat's map and the two top-ten lists on one printed page.
    page.evaluate("window.print = () => { window.beatbookPrinted = true; }")
    page.click("#bb-print")
    page.wait_for_selector("body[data-briefing=ready]", timeout=20_000)
    assert page.evaluate("window.beatbookPrinted") is True
    briefing = page.locator("#bb-briefing")
    assert "Night briefing, beat HKI-01" in briefing.inner_text()
    tables = briefing.locator("table")
    assert tables.count() == 2
    assert tables.nth(0).locator("tbody tr").count() == 10  # the ten longest gaps
    assert tables.nth(1).locator("tbody tr").count() == 10  # the ten entrances at most risk
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 50_000
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    s.check_clean()


def test_the_officer_plans_tonights_route_and_takes_it_along(live_server, browser):
    s = Session(browser, live_server)
    page = s.page
    s.open_view("officer")
    assert "route" in s.overlays() and not s.asked("/plan/patrol-route")  # planned when asked for
    page.check("#bb-overlays input[data-layer=route]")
    page.wait_for_function("window.beatbook.state.counts.routeStops > 0", timeout=30_000)
    [asked] = s.asked("/plan/patrol-route")
    assert asked["beat"] == ["HKI-01"] and asked["start"] == [page.input_value("#bb-start")]
    assert "Planned route" in s.legend()
    assert page.locator(".bb-num-route").count() == s.state("counts.routeStops")
    page.evaluate("window.print = () => {}")
    page.click("#bb-print")
    page.wait_for_selector("body[data-briefing=ready]", timeout=20_000)
    briefing = page.locator("#bb-briefing")
    assert "Route: " in briefing.inner_text()
    assert briefing.locator("table").nth(2).locator("tbody tr").count() == s.state("counts.routeStops")
    s.check_clean()


def test_the_beats_records_come_onto_the_map_when_asked_for(live_server, browser):
    s = Session(browser, live_server)
    page = s.page
    s.open_view("officer")
    records = {"visitsDue": "/population/visits/due", "registrationsExpiring": "/population/temporary-registrations",
               "inspectionsDue": "/inspections/due", "facilityIssues": "/service/facility-issues"}
    assert all(not s.asked(route) for route in records.values())  # not on the first view
    for layer, route in records.items():
        page.check(f'#bb-overlays input[data-layer="{layer}"]')
        page.wait_for_function(f"window.beatbook.state.counts.{layer} !== undefined", timeout=20_000)
        [asked] = s.asked(route)
        assert asked["beat"] == ["HKI-01"]
    assert s.state("counts.visitsDue") > 0  # the demo's households are due visits
    legend = s.legend()
    assert "Household due a visit" in legend and "Premises or site due for inspection" in legend
    s.check_clean()


def test_the_time_control_refreshes_the_analyses_together(live_server, browser):
    s = Session(browser, live_server)
    page = s.page
    s.open_view("officer")
    before = len(s.requests)
    # The API's rule, checked before any request: hours 00-23.
    page.fill("#bb-hours", "24:00-06:00")
    page.click("#bb-time button")
    assert "HH:MM-HH:MM" in page.inner_text("#bb-time-error")
    page.fill("#bb-start", "2026-10-20")
    page.fill("#bb-end", "2026-10-18")
    page.fill("#bb-hours", "21:00-05:00")
    page.click("#bb-time button")
    assert "before the start" in page.inner_text("#bb-time-error")
    assert not [u for u in s.requests[before:] if "/api/analysis/" in u]
    # A window across midnight, new dates: every time-bound layer asks again, with them.
    page.fill("#bb-start", "2026-10-18")
    page.fill("#bb-end", "2026-10-24")
    page.click("#bb-time button")
    s.wait_for_draw(2)
    assert page.inner_text("#bb-time-error") == ""
    [gaps] = s.asked("/analysis/patrol-gaps", before)
    [audit] = s.asked("/analysis/unmanaged-entrances", before)
    [hotspots] = s.asked("/analysis/hotspots", before)
    assert gaps["window"] == audit["window"] == ["21:00-05:00"] and hotspots["hours"] == ["21:00-05:00"]
    assert gaps["start"] == audit["start"] == ["2026-10-18"]
    assert gaps["end"] == audit["end"] == hotspots["end"] == ["2026-10-24"]
    # The patrol tracks, turned on, come as tiles of the same days and hours.
    page.check('#bb-overlays input[data-layer="tracks"]')
    page.wait_for_function("window.beatbook.state.tilesLoaded.tracks > 0", timeout=20_000)
    tracks = [parse_qs(urlsplit(u).query) for u in s.tiles("patrol_tracks")]
    assert tracks and all(q["start"] == ["2026-10-18"] and q["end"] == ["2026-10-24"]
                          and q["hours"] == ["21:00-05:00"] for q in tracks)
    # A layer turned on later asks for the same period.
    page.check('#bb-overlays input[data-layer="density"]')
    page.wait_for_function("window.beatbook.state.counts.density !== undefined", timeout=20_000)
    [density] = s.asked("/analysis/incident-density", before)
    assert density["end"] == ["2026-10-24"] and density["hours"] == ["21:00-05:00"]
    assert "Incident density" in s.legend()
    s.check_clean()


def test_a_supervisor_sees_the_workload_per_beat_and_switches_views(live_server, browser):
    s = Session(browser, live_server)
    page = s.page
    s.open_view("supervisor")
    assert page.input_value("#bb-view") == "supervisor"
    assert page.is_hidden("#bb-beat-row") and page.is_hidden("#bb-print")
    # Every beat's workload in one answer.
    assert len(s.asked("/beats/workload")) == 1 and not s.asked("/analysis/incident-density")
    assert s.state("counts.choropleth") == 3
    assert page.inner_text("#bb-status").startswith("3 beats, ")
    legend = s.legend()
    assert "Workload per beat" in legend and re.search(r"0–\d+ % of the average beat", legend)
    # The incidents drawn are those the workload counted: the tiles of the same days.
    start, end = page.input_value("#bb-start"), page.input_value("#bb-end")
    incidents = [parse_qs(urlsplit(u).query) for u in s.tiles("incidents")]
    assert incidents and all(q["start"] == [start] and q["end"] == [end] for q in incidents)
    assert not s.asked("/analysis/patrol-gaps")
    # The beats balanced anew, when asked for: the new beats drawn, the balance before and after.
    assert not s.asked("/plan/beats")
    page.check("#bb-overlays input[data-layer=proposal]")
    page.wait_for_function("window.beatbook.state.counts.proposal === 3", timeout=30_000)
    page.wait_for_function("document.getElementById('bb-status').innerText.includes('Proposal')", timeout=10_000)
    assert re.search(r"heaviest/lightest [\d.]+ → [\d.]+", page.inner_text("#bb-status"))
    assert page.locator(".bb-num-proposal").count() == 3 and "Proposed beat" in s.legend()
    # The supervisor may look through a planner's eyes.
    assert page.eval_on_selector_all("#bb-view option", "os => os.map(o => o.value)") == \
        ["supervisor", "officer", "planner"]
    page.select_option("#bb-view", "planner")
    s.wait_for_draw(2)
    assert "Cameras and fields of view" in s.legend()
    assert "gaps" not in s.overlays()
    assert not s.asked("/analysis/patrol-gaps")
    s.check_clean()


def test_a_planner_sees_cameras_and_uncovered_entrances_but_no_patrols(live_server, browser):
    s = Session(browser, live_server)
    page = s.page
    s.open_view("planner")
    assert page.is_hidden("#bb-view-row")
    assert "gaps" not in s.overlays()
    assert s.tiles("cameras") and s.tiles("buildings")
    assert s.state("counts.sectors") > 0  # fields of view drawn from the cameras' tiles
    legend = s.legend()
    assert "Entrances without cover" in legend and "Field of view" in legend
    assert s.state("counts.audit") > 0
    # The siting view proposes five new cameras, numbered by what each adds, with a popup of it.
    assert s.asked("/plan/cameras") and s.state("counts.sites") == 5
    assert "Proposed camera" in legend and "5 new cameras: best sites" in s.overlays_text()
    # Infrastructure records, never residents: no population layer for planners.
    assert "inspectionsDue" in s.overlays() and "visitsDue" not in s.overlays()
    # (Sites stand by the entrances they guard, under the audit's markers: clicked from script.)
    page.evaluate("""() => { window.beatbook.layers.siting.leaflet.eachLayer(function fire(l) {
        if (l.eachLayer) l.eachLayer(fire); else if (l.getTooltip() && l.getTooltip().getContent() === "C1") l.fire("click", { latlng: l.getLatLng() }, true);
    }); }""")
    popup = page.inner_text(".leaflet-popup-content")
    assert "Weight it adds" in popup and "Share of all it adds" in popup and "%" in popup
    page.click(".leaflet-popup-close-button")
    before = len(s.requests)
    page.select_option("#bb-reason", "no_camera")
    s.wait_for_draw(2)
    [audit] = s.asked("/analysis/unmanaged-entrances", before)
    assert audit["reason"] == ["no_camera"]
    # No patrol layer is asked for, by tile or by analysis.
    assert not s.asked("/analysis/patrol-gaps")
    assert not [u for u in s.requests if "/api/tiles/patrol_tracks/" in u or "/api/tiles/gps_fixes/" in u]
    # The language switch in the panel: the legend in Chinese at once.
    page.select_option("#bb-panel select.bb-lang", "zh")
    legend = s.legend()
    assert "图例" in legend and "监控摄像头及视域" in legend and "Legend" not in legend
    s.check_clean()


def test_the_page_speaks_chinese_to_a_chinese_browser_and_switches(live_server, browser):
    s = Session(browser, live_server, locale="zh-CN")
    page = s.page
    page.goto(live_server + "/")
    assert page.inner_text("#bb-login button") == "登录"
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    s.open_view("officer")
    assert "未巡到的街道" in s.legend() and "无物业管理的楼栋" in s.legend()
    assert page.inner_text("#bb-status").startswith("HKI-01：")
    page.select_option("#bb-panel select.bb-lang", "en")
    assert "Street not passed" in s.legend()
    assert page.inner_text("#bb-print") == "Print briefing"
    page.select_option("#bb-panel select.bb-lang", "zh")
    assert "图例" in s.legend() and page.inner_text("#bb-print") == "打印巡逻简报"
    s.check_clean()


def test_a_wrong_password_is_shown_on_the_form(live_server, browser):
    s = Session(browser, live_server)
    s.log_in("officer", "nope")
    s.page.wait_for_function("document.querySelector('.bb-error').textContent.length > 0")
    assert s.page.inner_text(".bb-error") == "wrong username or password"
    s.check_clean()


# The first vertex of the first beat outline as drawn (lng, lat), the stored one, and whether
# the drawn layer is the one marked earlier (window.bbMarked).
BEAT_VERTEX = """mark => {
    const drawn = window.beatbook.layers.beats.leaflet.getLayers()[0].getLayers()[0];
    let ll = drawn.getLatLngs();
    while (Array.isArray(ll)) ll = ll[0];
    let c = drawn.feature.geometry.coordinates;
    while (Array.isArray(c[0])) c = c[0];
    const same = window.bbMarked === drawn;
    if (mark) window.bbMarked = drawn;
    return { drawn: [ll.lng, ll.lat], stored: c, same };
}"""
AMAP_HOST = r"webrd0[1-4]\.is\.autonavi\.com"


def click_map(s: Session) -> tuple[list[float], list[float]]:
    """Click an empty-ish point of the map: the latlng Leaflet had there, and state.clicked."""
    x, y, expected = s.page.evaluate("""() => {
        const map = window.beatbook.map, box = map.getContainer().getBoundingClientRect();
        const x = box.left + 380, y = box.top + 320;
        if (!map.getContainer().contains(document.elementFromPoint(x, y))) return [x, y, null];
        const ll = map.containerPointToLatLng([x - box.left, y - box.top]);
        return [x, y, [ll.lng, ll.lat]];
    }""")
    assert expected, "the point is not on the map"
    s.page.evaluate("window.beatbook.state.clicked = null")
    s.page.mouse.click(x, y)
    s.page.wait_for_function("window.beatbook.state.clicked !== null", timeout=5_000)
    return expected, s.state("clicked")


def test_an_amap_basemap_draws_everything_in_gcj02_and_reads_clicks_back(live_server, browser):
    s = Session(browser, live_server)
    page = s.page
    # AMap's tiles are on the internet: refused, so the test stays offline.
    aborted: list[str] = []
    page.route("**/*autonavi.com/**", lambda route: (aborted.append(route.request.url), route.abort()))
    s.open_view("supervisor")
    assert page.get_attribute("body", "data-datum") == "wgs84"
    before_vertex = page.evaluate(BEAT_VERTEX, True)
    assert before_vertex["drawn"] == before_vertex["stored"]
    assert page.inner_text("#bb-basemaps").count("AMap (Gaode, GCJ-02)") == 1
    before = len(s.requests)

    with page.expect_request(lambda r: "/api/tiles/" in r.url and "datum=gcj02" in r.url, timeout=20_000):
        page.check("#bb-basemaps input[data-basemap=amap]")
    # (a) the page knows the datum it draws in
    assert page.get_attribute("body", "data-datum") == "gcj02" and s.state("datum") == "gcj02"
    page.wait_for_function(f"({DRAWN})('buildings').length > 50", timeout=20_000)
    # (b) every vector tile from then on is asked for in GCJ-02
    tiles = [u for u in s.requests[before:] if "/api/tiles/" in u]
    assert tiles and all(parse_qs(urlsplit(u).query)["datum"] == ["gcj02"] for u in tiles)
    # AMap's own tiles were asked for (and refused), with {s} filled from its subdomains
    assert aborted and all(re.fullmatch(AMAP_HOST, urlsplit(u).hostname) for u in aborted)
    # (c) the beats were drawn anew through the shift: in Helsinki, outside China, it is nil...
    after_vertex = page.evaluate(BEAT_VERTEX, False)
    assert not after_vertex["same"]
    assert after_vertex["drawn"] == before_vertex["drawn"] == after_vertex["stored"]
    # ... while in Shenzhen the same drawing function moves a point by GCJ-02's few hundred metres.
    drawn, expected = page.evaluate("""() => {
        const ll = window.beatbook.coordsToLatLng([114.0579, 22.5431]);
        return [[ll.lng, ll.lat], window.beatbookDatums.wgs84ToGcj02(114.0579, 22.5431)];
    }""")
    assert drawn == expected
    assert abs(drawn[0] - 114.0579) > 1e-3 and abs(drawn[1] - 22.5431) > 1e-3
    # (d) a click is read back in WGS-84: outside China, where Leaflet put it
    latlng, clicked = click_map(s)
    assert abs(clicked[0] - latlng[0]) < 1e-9 and abs(clicked[1] - latlng[1]) < 1e-9
    # ... and inside China it would be unshifted: the drawn Shenzhen point reads back as itself
    back = page.evaluate("p => window.beatbook.toWgs84(L.latLng(p[1], p[0]))", drawn)
    assert abs(back[0] - 114.0579) < 1e-9 and abs(back[1] - 22.5431) < 1e-9

    # Back to the plain background: WGS-84 again, no shift anywhere.
    page.keyboard.press("Escape")
    before = len(s.requests)
    page.check("#bb-basemaps input[data-basemap=plain]")
    assert page.get_attribute("body", "data-datum") == "wgs84" and s.state("datum") == "wgs84"
    page.wait_for_function(f"({DRAWN})('buildings').length > 50", timeout=20_000)
    assert page.evaluate("window.beatbook.layers.buildings.grid.options.datum") == "wgs84"
    # The WGS-84 tiles of this view are still in the page's cache; any asked for are WGS-84.
    tiles = [u for u in s.requests[before:] if "/api/tiles/" in u]
    assert all(parse_qs(urlsplit(u).query)["datum"] == ["wgs84"] for u in tiles)
    shifted = page.evaluate("() => { const ll = window.beatbook.coordsToLatLng([114.0579, 22.5431]); return [ll.lng, ll.lat]; }")
    assert shifted == [114.0579, 22.5431]
    latlng, clicked = click_map(s)
    assert clicked == latlng
    s.check_clean(blocked=AMAP_HOST)


def test_the_page_opens_on_openstreetmap_and_without_internet_on_the_plain_background(live_server, browser):
    s = Session(browser, live_server)
    page = s.page

    def opening_on_osm(route):  # the page as a server with the default background serves it
        html = route.fetch().text().replace('"basemap": "plain"', '"basemap": "osm"')
        route.fulfill(body=html, content_type="text/html")

    page.route(live_server + "/", opening_on_osm)
    page.route("**/tile.openstreetmap.org/**", lambda route: route.abort())  # as with no internet
    s.open_view("planner")
    page.wait_for_function("window.beatbook.state.basemap === 'plain'", timeout=10_000)
    assert page.is_checked("#bb-basemaps input[data-basemap=plain]")
    assert [u for u in s.outside() if "tile.openstreetmap.org" in u]  # it was tried first
    assert s.errors == []


def test_tianditu_is_offered_with_a_key_and_drawn_unshifted():
    from web.page import basemaps

    assert "tianditu" not in [b["id"] for b in basemaps(None)]
    [tianditu] = [b for b in basemaps("KEY") if b["id"] == "tianditu"]
    assert tianditu["datum"] == "wgs84"  # CGCS2000: WGS-84 to well under a metre
    assert "tk=KEY" in tianditu["url"] and "LAYER=vec" in tianditu["url"] and "LAYER=cva" in tianditu["labels"]
    assert all(part in tianditu["url"] for part in ("{s}", "{z}", "{x}", "{y}"))
