"""Build the map page with Folium; Beatbook's own script fetches the layers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import folium
from branca.element import Element, MacroElement
from folium.template import Template

STATIC = "/static"


class LocalMap(folium.Map):
    """A Folium map whose scripts all come from this server, so the page works offline.

    The order matters: Leaflet, then VectorGrid (it extends Leaflet when it loads), then
    the datum conversions and the dictionary, then the page's script.
    """

    default_js: ClassVar[list[tuple[str, str]]] = [
        ("leaflet", f"{STATIC}/vendor/leaflet/leaflet.js"),
        ("vectorgrid", f"{STATIC}/vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"),
        ("beatbook_datums", f"{STATIC}/datums.js"),
        ("beatbook_i18n", f"{STATIC}/i18n.js"),
        ("beatbook_js", f"{STATIC}/beatbook.js"),
    ]
    default_css: ClassVar[list[tuple[str, str]]] = [
        ("leaflet_css", f"{STATIC}/vendor/leaflet/leaflet.css"),
        ("beatbook_css", f"{STATIC}/beatbook.css"),
    ]


class BeatbookLayers(MacroElement):
    """Hands the map and its configuration to beatbook.js; values go as JSON, never as code."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        window.beatbook.start({{ this._parent.get_name() }}, {{ this.config | tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, config: dict) -> None:
        super().__init__()
        self._name = "BeatbookLayers"
        self.config = config


def build_map_page(*, center: tuple[float, float], zoom: int = 15, credits: Sequence[str] = (),
                   tile_min_zoom: Mapping[str, int] | None = None, tile_max_zoom: int = 18,
                   basemaps: Sequence[dict] = (), basemap: str = "plain") -> str:
    """The HTML of the map page, centred on (lat, lon) as Leaflet takes it.

    ``tile_min_zoom`` gives, per layer, the first zoom at which its vector tiles hold
    features; the page asks for no tile below it.
    """
    # SVG, not canvas: one canvas over the vector-tile panes would catch the clicks meant for
    # the tiles' features.
    fmap = LocalMap(location=list(center), zoom_start=zoom, tiles=None, control_scale=True,
                    max_zoom=MAX_ZOOM)
    root = fmap.get_root()
    root.title = "Beatbook"
    # No icon to fetch: the browser would otherwise ask for /favicon.ico and log a 404.
    root.header.add_child(Element('<link rel="icon" href="data:,">'), name="favicon")
    root.html.add_child(Element(PAGE_HTML), name="beatbook_ui")
    config = {
        "api": "/api",
        "basemaps": list(basemaps),
        # The background to open on, if it is one of them; plain otherwise.
        "basemap": basemap,
        "credits": list(credits),
        "tiles": {
            # {datum}: the shown basemap's, so the tiles' features land on its streets.
            "url": "/api/tiles/{layer}/{z}/{x}/{y}.mvt?datum={datum}",
            "minZoom": dict(tile_min_zoom or {}),
            # Beyond this the tiles of this zoom are scaled up instead of fetched anew.
            "maxNativeZoom": min(tile_max_zoom, MAX_ZOOM),
        },
    }
    BeatbookLayers(config).add_to(fmap)
    return root.render()


MAX_ZOOM = 19

# The backgrounds besides the plain one (no tiles, so it works with no internet, and the
# page falls back to it when a background's tiles do not come). ``datum`` says which datum a
# basemap's tiles are drawn in: over a "wgs84" one the layers are drawn as stored; over a
# "gcj02" one (AMap/Gaode, Tencent) beatbook.js shifts every layer into GCJ-02 (datums.js) and
# asks for the vector tiles with ?datum=gcj02. Tianditu's CGCS2000 is WGS-84 to well under a
# metre, so "wgs84"; its street names come as a second layer (``labels``). Baidu's BD-09 is not
# supported. ``subdomains`` fills {s} in the URLs.
BASEMAPS = [
    {"id": "osm", "name": "OpenStreetMap", "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
     "attribution": "&copy; OpenStreetMap contributors", "maxZoom": 19, "datum": "wgs84"},
    {"id": "amap", "name": "AMap (Gaode)",
     "url": "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
     "subdomains": "1234", "attribution": "&copy; 高德地图 AutoNavi", "maxZoom": 18, "datum": "gcj02"},
]
_TIANDITU = ("https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
             "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
             "&TILECOL={x}&tk={key}")


def basemaps(tianditu_key: str | None = None) -> list[dict]:
    """The backgrounds on offer: Tianditu too when there is a key for it."""
    if not tianditu_key:
        return BASEMAPS

    def url(layer: str) -> str:  # {s}, {x}, {y} and {z} stay for Leaflet to fill
        return _TIANDITU.replace("{layer}", layer).replace("{key}", tianditu_key)

    return [*BASEMAPS, {"id": "tianditu", "name": "Tianditu", "url": url("vec"), "labels": url("cva"),
                        "subdomains": "01234567", "attribution": "&copy; 天地图 Tianditu", "maxZoom": 18,
                        "datum": "wgs84"}]


# The page's fixed parts; beatbook.js fills in the words (data-i18n) and the data after login.
# Nothing here comes from the database.
PAGE_HTML = """
<form id="bb-login" class="bb-panel" autocomplete="on">
  <h1 data-i18n="app.title">Beatbook</h1>
  <label><span data-i18n="login.user">User</span>
    <input name="username" autocomplete="username" required></label>
  <label><span data-i18n="login.password">Password</span>
    <input name="password" type="password" autocomplete="current-password" required></label>
  <button type="submit" data-i18n="login.submit">Log in</button>
  <p class="bb-error" role="alert"></p>
  <label class="bb-lang-row"><span data-i18n="language">Language</span>
    <select class="bb-lang"></select></label>
</form>
<div id="bb-status" class="bb-panel" role="status" aria-live="polite" hidden></div>
<aside id="bb-panel" class="bb-panel" hidden>
  <header class="bb-head">
    <strong data-i18n="app.title">Beatbook</strong>
    <span id="bb-user"></span>
    <button id="bb-logout" type="button" data-i18n="logout">Log out</button>
  </header>
  <label class="bb-row"><span data-i18n="language">Language</span> <select class="bb-lang"></select></label>
  <label class="bb-row" id="bb-view-row" hidden><span data-i18n="view">View</span>
    <select id="bb-view"></select></label>
  <label class="bb-row" id="bb-beat-row" hidden><span data-i18n="beat">Beat</span>
    <select id="bb-beat"></select></label>
  <label class="bb-row" id="bb-reason-row" hidden><span data-i18n="reason">Entrances</span>
    <select id="bb-reason"></select></label>
  <form id="bb-time" novalidate>
    <fieldset>
      <legend data-i18n="period">Period</legend>
      <label><span data-i18n="period.start">From</span> <input id="bb-start" name="start" type="date"></label>
      <label><span data-i18n="period.end">To</span> <input id="bb-end" name="end" type="date"></label>
      <label><span data-i18n="period.hours">Hours</span>
        <input id="bb-hours" name="hours" value="22:00-06:00" size="11" spellcheck="false"
               data-i18n-title="period.hoursHint"></label>
      <button type="submit" data-i18n="period.apply">Apply</button>
      <p id="bb-time-error" class="bb-error" role="alert"></p>
    </fieldset>
  </form>
  <fieldset id="bb-layers">
    <legend data-i18n="layers">Layers</legend>
    <div id="bb-basemaps"></div>
    <div id="bb-overlays"></div>
  </fieldset>
  <button id="bb-print" type="button" data-i18n="print" hidden>Print briefing</button>
</aside>
<section id="bb-briefing" aria-label="briefing"></section>
"""
