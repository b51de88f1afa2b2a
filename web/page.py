"""Build the map page with Folium; Beatbook's own script fetches the layers."""

from __future__ import annotations

import folium
from branca.element import Element, MacroElement
from folium.template import Template

STATIC = "/static"


class LocalMap(folium.Map):
    """A Folium map whose Leaflet comes from this server, so the page works offline."""

    default_js = [("leaflet", f"{STATIC}/vendor/leaflet/leaflet.js")]
    default_css = [("leaflet_css", f"{STATIC}/vendor/leaflet/leaflet.css"),
                   ("beatbook_css", f"{STATIC}/beatbook.css")]


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


def build_map_page(*, center: tuple[float, float], zoom: int = 15, credits: list[str] = ()) -> str:
    """The HTML of the map page, centred on (lat, lon) as Leaflet takes it."""
    fmap = LocalMap(location=list(center), zoom_start=zoom, tiles=None, control_scale=True,
                    prefer_canvas=True)
    root = fmap.get_root()
    root.header.add_child(Element(f'<script src="{STATIC}/beatbook.js"></script>'), name="beatbook_js")
    root.html.add_child(Element(LOGIN_FORM), name="login")
    BeatbookLayers({"api": "/api", "basemaps": BASEMAPS, "credits": list(credits)}).add_to(fmap)
    return root.render()


# Beatbook starts on a plain background, so it works with no internet; tiles are a choice.
BASEMAPS = [
    {"name": "OpenStreetMap", "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
     "attribution": "&copy; OpenStreetMap contributors", "maxZoom": 19},
]

LOGIN_FORM = """
<form id="bb-login" class="bb-panel" autocomplete="on">
  <h1>Beatbook</h1>
  <label>User <input name="username" autocomplete="username" required></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
  <button type="submit">Log in</button>
  <p class="bb-error" role="alert"></p>
</form>
<div id="bb-status" class="bb-panel" hidden></div>
"""
