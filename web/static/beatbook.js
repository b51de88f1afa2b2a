// Beatbook map: logs in against the API, asks who the user is, and draws the view of their role.
// Large layers arrive as Mapbox vector tiles (Leaflet.VectorGrid); analyses as GeoJSON (lon, lat),
// which L.geoJSON swaps to Leaflet's (lat, lng). Every word shown comes from i18n.js. Over a
// basemap in GCJ-02 (AMap/Gaode) everything is drawn shifted into it (datums.js), and what the
// map gives back (a click) is shifted back to WGS-84.
window.beatbook = (function () {
  "use strict";
  const I = window.beatbookI18n;
  const t = I.t;
  const D = window.beatbookDatums;

  // The API's own rules, checked here first so a typo costs no request (geo/windows.py).
  const WINDOW = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/;
  const MAX_NIGHTS = 366;
  const HOTSPOT_CELL_M = 100;
  const ROUTE_BUDGET_MIN = 90; // the officer's route: on foot, from the station and back
  const SITING_K = 5; // new cameras, and gates, the planner's view proposes
  const OFFICER_AUDIT_TOP = 20; // entrances drawn in the officer's view; the briefing lists 10
  const BRIEFING_TOP = 10;
  const SECTOR_MIN_ZOOM = 15; // a 30 m sector is a few pixels below this
  const TILE_CACHE_SIZE = 600;
  const TILES_PATIENCE_MS = 15000;

  const C = {
    beat: "#1f4e9c",
    managed: { stroke: "#4d7f4d", fill: "#9fd39f" },
    unmanaged: { stroke: "#a13c1e", fill: "#f4a582" },
    entranceManaged: "#2e7d32", entranceUnmanaged: "#c62828", entranceUnknown: "#616161",
    camera: "#1565c0", cameraOff: "#9e9e9e", sector: "#42a5f5",
    premises: "#00897b", hazard: "#6a1b9a", hazardRadius: "#e65100",
    incident: "#5d4037", burglary: "#b71c1c", street: "#8d8d8d",
    gap: "#ff0a8c", audit: { stroke: "#4a1486", fill: "#ffd60a" },
    hot: "#d7301f", cold: "#2b8cbe", density: "#bd0026", site: "#00b8d4", gate: "#ff6f00", route: "#0d47a1", proposal: "#6a1b9a", track: "#2e7d32",
    visitsDue: "#8e24aa", registrations: "#f57c00", inspections: "#00838f", facility: "#6d4c41",
    classes: ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"],
  };

  const state = {
    me: null, beats: null, view: null, beat: null, reason: "",
    period: { start: "", end: "", hours: "22:00-06:00" },
    on: {}, // view -> {layer id: shown}
    data: {}, // analysis id -> its last answer
    counts: {}, // what was drawn, per layer: the tests and the status read it
    tilesLoaded: {}, // vector tiles drawn so far, per layer
    generation: 0, // complete draws so far
    basemap: "plain", datum: "wgs84", // the datum the shown basemap is drawn in: "wgs84" or "gcj02"
    clicked: null, // the last click on the map, [lng, lat] in WGS-84
    timezone: null, // the area's, from the first analysis that names it
  };
  let map, config, token = sessionStorage.getItem("beatbook-token");
  let controller = null, runs = 0;
  const layers = {}; // id -> layer description (below)

  // --- talking to the API -----------------------------------------------------------------

  function authHeaders() { return { Authorization: "Bearer " + token }; }

  // With a body, a POST of it as JSON (the planning routes); otherwise a GET.
  async function api(path, params, signal, body) {
    const query = params ? new URLSearchParams(
      Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "")).toString() : "";
    const request = body === undefined ? { headers: authHeaders(), signal }
      : { method: "POST", headers: { ...authHeaders(), "Content-Type": "application/json" }, body: JSON.stringify(body), signal };
    const response = await fetch(config.api + path + (query ? "?" + query : ""), request);
    if (response.status === 401) { logout(); throw new Error(response.statusText); }
    if (!response.ok) {
      let detail = response.statusText;
      try { const body = await response.json(); detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail); } catch (e) { /* not JSON */ }
      throw new Error(detail);
    }
    return response.json();
  }

  function logout() {
    sessionStorage.removeItem("beatbook-token");
    location.reload();
  }

  // --- small helpers ------------------------------------------------------------------------

  function escapeHtml(value) {
    return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k === "style") node.style.cssText = v;
      else node.setAttribute(k, v);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function addDays(isoDate, days) {
    const d = new Date(isoDate + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + days);
    return d.toISOString().slice(0, 10);
  }

  function daysBetween(a, b) { return Math.round((new Date(b + "T00:00:00Z") - new Date(a + "T00:00:00Z")) / 86400000); }

  function formatValue(key, value) {
    if (value === null || value === undefined || value === "") return null;
    if (typeof value === "boolean") return I.value(value);
    if (Array.isArray(value)) return value.map((v) => I.value(v)).join(I.lang === "zh" ? "、" : ", ");
    if (key === "occurred_at" || key === "last_pass" || key === "started_at" || key === "ended_at") {
      // In the area's time zone (the analyses name it), which is the officers' clock.
      const d = new Date(value);
      return isNaN(d) ? String(value) : d.toLocaleString(I.lang === "zh" ? "zh-CN" : "en-GB",
        { dateStyle: "medium", timeStyle: "short", timeZone: state.timezone || undefined });
    }
    if (key === "id" || key.endsWith("_id") || key === "rank") return String(value); // numbers that name things
    if (key.endsWith("_share") || key === "share_of_mean") return I.number(100 * value, 1) + " %";
    if (typeof value === "number") return I.number(value, 2);
    return I.value(value);
  }

  // Popups show facts about places, never about people: counts, not names or numbers.
  function popupHtml(title, props, keys) {
    const rows = keys.map((k) => [k, formatValue(k, props[k])]).filter(([, v]) => v !== null)
      .map(([k, v]) => `<tr><th>${escapeHtml(t("field." + k))}</th><td>${escapeHtml(v)}</td></tr>`).join("");
    return `<div class="bb-popup"><b>${escapeHtml(title)}</b><table>${rows}</table></div>`;
  }

  function openPopup(latlng, html) { L.popup({ maxWidth: 320 }).setLatLng(latlng).setContent(html).openOn(map); }

  // --- datums: stored WGS-84, drawn in the basemap's ----------------------------------------

  // A GeoJSON position [lng, lat(, alt)] in WGS-84 as the Leaflet latlng to draw it at.
  function coordsToLatLng(coords) {
    const [lng, lat] = state.datum === "gcj02" ? D.wgs84ToGcj02(coords[0], coords[1]) : coords;
    return L.latLng(lat, lng, coords[2]);
  }

  // A Leaflet latlng (lat, lng) in WGS-84 as drawn.
  function toMap(latlng) { return coordsToLatLng([latlng[1], latlng[0]]); }

  // A point of the map (a click) as [lng, lat] in WGS-84.
  function toWgs84(latlng) {
    return state.datum === "gcj02" ? D.gcj02ToWgs84(latlng.lng, latlng.lat) : [latlng.lng, latlng.lat];
  }

  // Every GeoJSON layer is drawn through this, so it follows the basemap's datum.
  function geoJSON(data, options) { return L.geoJSON(data, Object.assign({ coordsToLatLng }, options)); }

  // --- vector tiles -------------------------------------------------------------------------

  // Decoded tiles are kept by layer/z/x/y: a layer turned off and on again, or the entrances
  // asking for the buildings under them, costs no second request. Tiles are drawn in a datum
  // (the grid's, sent as ?datum=), and those of incidents and tracks hold a period (?start=
  // &end=&hours=): both are part of the key.
  const tileCache = new Map();

  function cachedTile(grid, coords) {
    const key = `${grid.options.datum}/${grid.options.bbLayer}${grid.options.time}/${coords.z}/${coords.x}/${coords.y}`;
    let promise = tileCache.get(key);
    if (!promise) {
      promise = L.VectorGrid.Protobuf.prototype._getVectorTilePromise.call(grid, coords)
        .catch(() => { tileCache.delete(key); return { layers: {} }; });
      tileCache.set(key, promise);
      if (tileCache.size > TILE_CACHE_SIZE) tileCache.delete(tileCache.keys().next().value);
    }
    return promise;
  }

  // Tiles are drawn on canvases, because tens of thousands of SVG paths take the browser
  // seconds to lay out. A canvas would take every click over its whole tile and hide the
  // layers under it, so the canvases let clicks through (beatbook.css) and a click on the map
  // is offered to the tile layers here, topmost first, each hit-testing its own features.
  // A hazardous site's risk radius spills over its tile's edge, which a canvas would cut off;
  // those layers are few features and stay SVG.
  const SVG_TILE_LAYERS = ["hazardous_sites"];

  function clickTiles(e) {
    const grids = Object.values(layers).filter((l) => l.grid && map.hasLayer(l.grid)).map((l) => l.grid)
      .sort((a, b) => b.options.zIndex - a.options.zIndex);
    for (const grid of grids) {
      const coords = map.project(e.latlng, grid._tileZoom).unscaleBy(grid.getTileSize()).floor();
      coords.z = grid._tileZoom;
      const tile = grid._vectorTiles[grid._tileCoordsToKey(coords)];
      // SVG tiles take their own clicks; a tile still loading or being removed has no map.
      if (tile && tile._onClick && tile._map) tile._onClick(e.originalEvent);
      if (e.originalEvent._stopped) return; // the tile found a feature there and fired its click
    }
  }

  // The tiles of incidents and patrol tracks hold the period's days and hours, like the
  // analyses: a new period redraws them.
  const TIME_BOUND_TILES = ["incidents", "patrol_tracks"];

  function setTileTimes() {
    const p = state.period;
    const time = p.start && p.end ? `&start=${p.start}&end=${p.end}&hours=${encodeURIComponent(p.hours)}` : "";
    for (const layer of Object.values(layers)) {
      if (!layer.grid || !TIME_BOUND_TILES.includes(layer.tile) || layer.grid.options.time === time) continue;
      layer.grid.options.time = time;
      if (layer.grid._map) layer.grid.redraw();
    }
  }

  function minZoom(layer) { return (config.tiles.minZoom || {})[layer] ?? 0; }

  function tileGrid(layer, options, Base) {
    const grid = new (Base || TileGrid)(config.tiles.url.replace("{layer}", layer) + "{time}", Object.assign({
      bbLayer: layer,
      time: "", // the period's query, for the layers bound to a time (setTileTimes)
      pane: "bb-tiles",
      className: "bb-grid-" + layer,
      rendererFactory: SVG_TILE_LAYERS.includes(layer) ? L.svg.tile : L.canvas.tile,
      getFeatureId: (f) => f.id, // with it, VectorGrid keeps each tile's renderer, which clickTiles asks
      interactive: true,
      minZoom: minZoom(layer),
      maxNativeZoom: config.tiles.maxNativeZoom,
      datum: state.datum, // fills {datum} in the URL; setDatum changes it
      fetchOptions: { headers: authHeaders() },
    }, options));
    return grid;
  }

  let TileGrid, EntranceGrid;

  function defineGrids() {
    TileGrid = L.VectorGrid.Protobuf.extend({
      _getVectorTilePromise(coords) { return cachedTile(this, coords); },
    });
    // Entrance tiles name their building; the building's tile of the same z/x/y says whether it
    // is managed (an entrance stands on its building's outline, so both are in one tile).
    EntranceGrid = TileGrid.extend({
      _getVectorTilePromise(coords) {
        const own = cachedTile(this, coords);
        const around = coords.z >= minZoom("buildings") ? cachedTile(layers.buildings.grid, coords) : Promise.resolve({ layers: {} });
        return Promise.all([own, around]).then(([tile, buildingTile]) => {
          const managed = new Map();
          for (const f of buildingTile.layers.buildings ? buildingTile.layers.buildings.features : []) managed.set(f.id, f.properties.managed);
          for (const f of tile.layers.entrances ? tile.layers.entrances.features : []) {
            f.properties.building_managed = managed.has(f.properties.building_id) ? managed.get(f.properties.building_id) : null;
          }
          return tile;
        });
      },
    });
    // Leaflet 1.9 asks a clicked circle marker for its position before firing the event; a
    // point drawn from a tile has none, so the click's own position is used instead.
    if (window.PointSymbolizer) window.PointSymbolizer.include({ getLatLng: undefined });
    // A canvas tile marks a click it took with Leaflet 1.7's DomEvent.fakeStop, gone in 1.9.
    if (!L.DomEvent.fakeStop) L.DomEvent.fakeStop = (e) => { e._stopped = true; };
  }

  function pixelsPerMetre(zoom) {
    const lat = map.getCenter().lat * Math.PI / 180;
    return Math.pow(2, zoom + 8) / (40075016.686 * Math.cos(lat));
  }

  function entranceStyle(p, z) {
    const colour = p.building_managed === true ? C.entranceManaged : p.building_managed === false ? C.entranceUnmanaged : C.entranceUnknown;
    return { radius: z >= 17 ? 5 : 3.5, weight: 1.5, color: colour, fill: true, fillOpacity: 1,
             fillColor: p.access_control ? colour : "#ffffff" };
  }

  function hazardStyle(p, z) {
    const dot = { radius: 6, weight: 1.5, color: "#000", fill: true, fillColor: C.hazard, fillOpacity: 1 };
    const r = (p.risk_radius_m || 0) * pixelsPerMetre(z);
    if (r < 8) return dot;
    return [{ radius: r, weight: 1.5, color: C.hazardRadius, dashArray: "6 4", fill: true, fillColor: C.hazardRadius, fillOpacity: 0.08 }, dot];
  }

  // --- camera sectors -----------------------------------------------------------------------

  const sectorsByTile = new Map();

  function sectorLatLngs(at, direction, fov, range) {
    const mLat = 111320, mLng = 111320 * Math.cos(at.lat * Math.PI / 180);
    const allRound = direction === null || direction === undefined || !isFinite(direction) || !(fov < 360);
    const from = allRound ? 0 : direction - fov / 2, to = allRound ? 360 : direction + fov / 2;
    const steps = Math.max(4, Math.ceil((to - from) / 10));
    const points = allRound ? [] : [at];
    for (let i = 0; i <= steps; i++) {
      const a = (from + (to - from) * i / steps) * Math.PI / 180; // clockwise from north
      points.push([at.lat + range * Math.cos(a) / mLat, at.lng + range * Math.sin(a) / mLng]);
    }
    return points;
  }

  // Sectors are drawn from the tile's pixels, which are already in the grid's datum: no shift.
  function addSectors(grid, coords) {
    if (coords.z < SECTOR_MIN_ZOOM) return;
    const key = `${coords.z}/${coords.x}/${coords.y}`;
    const datum = grid.options.datum;
    cachedTile(grid, coords).then((tile) => {
      const source = tile.layers.cameras;
      if (!source || !grid._map || sectorsByTile.has(key) || datum !== grid.options.datum) return;
      const group = L.layerGroup();
      const size = grid.getTileSize();
      for (const f of source.features) {
        const p = f.geometry[0] && f.geometry[0][0];
        // Points in the tile's margin belong to the neighbouring tile.
        if (!p || p.x < 0 || p.y < 0 || p.x >= source.extent || p.y >= source.extent || f.properties.working === false) continue;
        const at = map.unproject([(coords.x + p.x / source.extent) * size.x, (coords.y + p.y / source.extent) * size.y], coords.z);
        L.polygon(sectorLatLngs(at, f.properties.direction_deg, f.properties.fov_deg ?? 360, f.properties.range_m ?? 30),
          { color: C.camera, weight: 1, opacity: 0.6, fillColor: C.sector, fillOpacity: 0.18, interactive: false, pane: "bb-sectors" }).addTo(group);
      }
      sectorsByTile.set(key, group);
      layers.cameras.sectors.addLayer(group);
      state.counts.sectors = (state.counts.sectors || 0) + group.getLayers().length;
    });
  }

  function removeSectors(coords) {
    const key = `${coords.z}/${coords.x}/${coords.y}`;
    const group = sectorsByTile.get(key);
    if (group) {
      layers.cameras.sectors.removeLayer(group);
      sectorsByTile.delete(key);
      state.counts.sectors -= group.getLayers().length;
    }
  }

  function cameraCountInView() {
    let n = 0;
    const bounds = map.getBounds();
    for (const group of sectorsByTile.values()) group.eachLayer((s) => { if (bounds.intersects(s.getBounds())) n++; });
    return n;
  }

  // --- the layers ---------------------------------------------------------------------------

  // A layer: its label, its legend entries, what goes on the map, and for analyses how it loads.
  // Legend swatches: [kind, colour or style, label key]; kinds: fill, line, dot, ring, dash.

  function tileLayer(id, mvtLayer, label, legend, style, popupKeys, Base) {
    const grid = tileGrid(mvtLayer, { vectorTileLayerStyles: { [mvtLayer]: style }, zIndex: Object.keys(layers).length }, Base);
    grid.on("click", (e) => {
      const props = Object.assign({}, e.layer.properties);
      openPopup(e.latlng, popupHtml(t(label), props, popupKeys));
    });
    grid.on("tileload", () => { state.tilesLoaded[id] = (state.tilesLoaded[id] || 0) + 1; });
    layers[id] = { id, label: () => t(label), legend, leaflet: grid, grid, tile: mvtLayer };
    return layers[id];
  }

  function recordLayer(id, path, colour, keys, extra = {}) {
    layers[id] = {
      id, label: () => t("layer." + id), analysis: true, leaflet: L.featureGroup(),
      legend: [["dot", colour, "legend." + id]], params: () => ({ beat: state.beat }),
      load: async (layer, signal) => {
        const data = await api(path, { beat: state.beat, ...extra }, signal);
        layer.redraw = () => layer.leaflet.clearLayers().addLayer(geoJSON(data, {
          pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 6, color: "#fff", weight: 1.5, fillColor: colour, fillOpacity: 1 }),
          onEachFeature: (f, l) => l.on("click", (e) => openPopup(e.latlng, popupHtml(layer.label(), f.properties, keys))),
        }));
        layer.redraw();
        state.counts[id] = data.features.length;
        return { data };
      },
    };
  }

  function defineLayers() {
    layers.beats = {
      id: "beats", label: () => t("layer.beats"), legend: [["line", C.beat, "legend.beat"]],
      leaflet: L.featureGroup(),
    };
    layers.choropleth = {
      id: "choropleth", label: () => t("layer.choropleth"), legend: () => choroplethLegend(),
      leaflet: L.featureGroup(), analysis: true, load: loadChoropleth, params: () => ({ ...datesAndHours() }),
    };
    tileLayer("buildings", "buildings", "layer.buildings",
      [["fill", C.managed, "legend.managed"], ["fill", C.unmanaged, "legend.unmanaged"]],
      (p) => {
        const c = p.managed ? C.managed : C.unmanaged;
        return { weight: 1, color: c.stroke, fill: true, fillColor: c.fill, fillOpacity: 0.65 };
      }, ["address", "name", "use", "floors", "managed", "property_company"]);
    tileLayer("streets", "streets", "layer.streets", [["line", C.street, "legend.street"]],
      { weight: 1.5, color: C.street, opacity: 0.9 }, ["name", "highway", "length_m"]);
    tileLayer("hazardous", "hazardous_sites", "layer.hazardous",
      [["dot", C.hazard, "legend.hazard"], ["dash", C.hazardRadius, "legend.hazardRadius"]],
      hazardStyle, ["name", "category", "quantity", "storage_ok", "risk_radius_m"]);
    tileLayer("premises", "premises", "layer.premises", [["dot", C.premises, "legend.premises"]],
      (p, z) => ({ radius: z >= 16 ? 5 : 3.5, weight: 1, color: "#fff", fill: true, fillColor: C.premises, fillOpacity: 1 }),
      ["trade", "name", "licence_no"]);
    tileLayer("incidents", "incidents", "layer.incidents",
      [["dot", C.burglary, "legend.burglary"], ["dot", C.incident, "legend.incident"]],
      (p) => ({ radius: 3, weight: 0.5, color: "#fff", fill: true, fillOpacity: 0.9,
                fillColor: p.type === "burglary" ? C.burglary : C.incident }),
      ["type", "occurred_at"]);
    tileLayer("tracks", "patrol_tracks", "layer.tracks", [["line", C.track, "legend.track"]],
      { weight: 2, color: C.track, opacity: 0.6 }, ["started_at", "ended_at", "n_fixes"]);
    tileLayer("entrances", "entrances", "layer.entrances",
      [["dot", C.entranceManaged, "legend.entranceManaged"], ["dot", C.entranceUnmanaged, "legend.entranceUnmanaged"],
       ["dot", "#555", "legend.entranceGated"], ["ring", "#555", "legend.entranceOpen"]],
      entranceStyle, ["kind", "access_control", "lit", "building_managed"], EntranceGrid);
    const cameras = tileLayer("cameras", "cameras", "layer.cameras",
      [["dot", C.camera, "legend.camera"], ["dot", C.cameraOff, "legend.cameraOff"], ["fill", { stroke: C.camera, fill: C.sector }, "legend.sector"]],
      (p) => ({ radius: 3.5, weight: 1, color: "#fff", fill: true, fillOpacity: 1, fillColor: p.working === false ? C.cameraOff : C.camera }),
      ["direction_deg", "fov_deg", "range_m", "working", "owner"]);
    // A camera's field of view is drawn from the tile's own points: no second request.
    cameras.sectors = L.layerGroup();
    cameras.leaflet = L.layerGroup([cameras.grid, cameras.sectors]);
    cameras.grid.on("tileload", (e) => addSectors(cameras.grid, e.coords));
    cameras.grid.on("tileunload", (e) => removeSectors(e.coords));

    layers.gaps = {
      id: "gaps", label: () => t("layer.gaps"), analysis: true, load: loadGaps, leaflet: L.featureGroup(),
      legend: [["line", C.gap, "legend.gapStreet"], ["dash", C.gap, "legend.gapFocus"], ["dot", C.gap, "legend.gapEntrance"]],
      params: () => ({ beat: state.beat, ...nights() }),
    };
    layers.audit = {
      id: "audit", label: () => t(state.view === "planner" ? "layer.auditPlanner" : "layer.auditOfficer"),
      analysis: true, load: loadAudit, leaflet: L.featureGroup(),
      legend: [["dot", C.audit, "legend.audit"]],
      params: () => ({ beat: state.beat, ...nights(), reason: auditReason(), view: state.view }),
    };
    layers.hotspots = {
      id: "hotspots", label: () => t("layer.hotspots"), analysis: true, load: loadHotspots, leaflet: L.featureGroup(),
      legend: [["fill", { stroke: C.hot, fill: C.hot }, "legend.hot"], ["fill", { stroke: C.cold, fill: C.cold }, "legend.cold"]],
      params: () => ({ beat: state.beat, ...ninetyDays() }),
    };
    layers.proposal = {
      id: "proposal", label: () => t("layer.proposal"), analysis: true, load: loadProposal, leaflet: L.featureGroup(),
      legend: [["dash", C.proposal, "legend.proposal"]], params: () => ({ start: state.period.start, end: state.period.end }),
    };
    layers.route = {
      id: "route", label: () => t("layer.route", { minutes: ROUTE_BUDGET_MIN }), analysis: true, load: loadRoute,
      leaflet: L.featureGroup(), legend: [["line", C.route, "legend.route"], ["dot", C.route, "legend.routeStop"]],
      params: () => ({ beat: state.beat, ...nights() }),
    };
    layers.siting = {
      id: "siting", label: () => t("layer.siting", { k: SITING_K }), analysis: true, load: loadSiting,
      leaflet: L.featureGroup(), legend: [["dot", C.site, "legend.site"]],
      params: () => ({ beat: state.beat, end: state.period.end }),
    };
    layers.gates = {
      id: "gates", label: () => t("layer.gates", { k: SITING_K }), analysis: true, load: loadGates,
      leaflet: L.featureGroup(), legend: [["line", C.gate, "legend.gate"]],
      params: () => ({ beat: state.beat, end: state.period.end }),
    };
    // The beat's records on the map, asked for when turned on: the first page of each list
    // (BEATBOOK_MAX_PAGE_SIZE points), with facts and counts in their popups, no names.
    recordLayer("visitsDue", "/population/visits/due", C.visitsDue,
      ["address", "residents", "cycle_days", "last_visited", "next_due", "days_overdue"]);
    recordLayer("registrationsExpiring", "/population/temporary-registrations", C.registrations,
      ["address", "valid_to", "days_left"], { expiring_within_days: 30 });
    recordLayer("inspectionsDue", "/inspections/due", C.inspections, ["what", "name", "last_inspected", "next_due", "days_overdue"]);
    recordLayer("facilityIssues", "/service/facility-issues", C.facility, ["kind", "status", "owner", "reported_on"]);
    layers.density = {
      id: "density", label: () => t("layer.density"), analysis: true, load: loadDensity, leaflet: L.featureGroup(),
      legend: [["fill", { stroke: C.density, fill: C.density }, "legend.density"], ["line", C.density, "legend.contour"]],
      params: () => ({ beat: state.beat, ...ninetyDays() }),
    };
  }

  // What each role sees: the layers it may turn on, in order, and which are on at first.
  const VIEWS = {
    officer: {
      beat: true, print: true,
      layers: [["gaps", 1], ["audit", 1], ["hotspots", 1], ["route", 0], ["tracks", 0], ["density", 0],
               ["visitsDue", 0], ["registrationsExpiring", 0], ["inspectionsDue", 0], ["facilityIssues", 0], ["beats", 1], ["buildings", 1],
               ["entrances", 1], ["incidents", 0], ["cameras", 0], ["premises", 0], ["hazardous", 0], ["streets", 0]],
    },
    supervisor: {
      beat: false,
      layers: [["choropleth", 1], ["proposal", 0], ["beats", 1], ["buildings", 1], ["incidents", 1], ["tracks", 0], ["premises", 0],
               ["hazardous", 0], ["entrances", 0], ["cameras", 0], ["streets", 0]],
    },
    planner: {
      // No patrol layers: planners see where cover is missing, not where officers walked.
      beat: true, reason: true,
      layers: [["audit", 1], ["siting", 1], ["gates", 0], ["cameras", 1], ["inspectionsDue", 0], ["facilityIssues", 0],
               ["beats", 1], ["buildings", 1], ["entrances", 1], ["hotspots", 0],
               ["density", 0], ["hazardous", 0], ["premises", 0], ["incidents", 0], ["streets", 0]],
    },
  };
  const ROLE_VIEWS = { officer: ["officer"], planner: ["planner"], supervisor: ["supervisor", "officer", "planner"],
                       admin: ["supervisor", "officer", "planner"] };

  function viewLayers() { return VIEWS[state.view].layers.map(([id]) => id); }
  function isOn(id) { return Boolean(state.on[state.view][id]); }

  // --- time ---------------------------------------------------------------------------------

  function nights() { return { start: state.period.start, end: state.period.end, window: state.period.hours }; }
  function datesAndHours() { return { start: state.period.start, end: state.period.end, hours: state.period.hours }; }
  // Hot spots and density look back 90 days from the period's end (the API's default span).
  function ninetyDays() { return { end: state.period.end, hours: state.period.hours }; }

  // The dates the first answer used, when the user gave none: from then on every layer uses them.
  function fillPeriod(first, last) {
    if (state.period.start || !first || !last) return;
    state.period.start = first;
    state.period.end = last;
    document.getElementById("bb-start").value = first;
    document.getElementById("bb-end").value = last;
  }

  function fillPeriodFromRange(summary) {
    if (summary && summary.since && summary.until) fillPeriod(summary.since.slice(0, 10), addDays(summary.until.slice(0, 10), -1));
  }

  function readPeriod() {
    const start = document.getElementById("bb-start").value;
    const end = document.getElementById("bb-end").value;
    const hours = document.getElementById("bb-hours").value.trim();
    if (!WINDOW.test(hours)) return { error: t("error.hours") };
    if (Boolean(start) !== Boolean(end)) return { error: t("error.bothDates") };
    if (start && end < start) return { error: t("error.dateOrder") };
    if (start && daysBetween(start, end) >= MAX_NIGHTS) return { error: t("error.span", { days: MAX_NIGHTS }) };
    return { start, end, hours };
  }

  // --- analyses -----------------------------------------------------------------------------

  function auditReason() {
    return state.view === "planner" ? state.reason : "unmanaged";
  }

  async function loadGaps(layer, signal) {
    const data = await api("/analysis/patrol-gaps", { beat: state.beat, ...nights(), radius_m: 30 }, signal);
    fillPeriod(...(data.summary.nights || []));
    const streets = data.features.filter((f) => f.properties.feature === "street_gap")
      .sort((a, b) => b.properties.length_m - a.properties.length_m);
    const rank = new Map(streets.slice(0, BRIEFING_TOP).map((f, i) => [f, i + 1]));
    layer.redraw = () => layer.leaflet.clearLayers().addLayer(geoJSON(data, {
      style: (f) => f.properties.feature === "focus_area"
        ? { color: C.gap, weight: 3, dashArray: "6 5", fillColor: C.gap, fillOpacity: 0.08 }
        : { color: C.gap, weight: 6, opacity: 0.9, lineCap: "round" },
      pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 5, color: "#fff", weight: 1.5, fillColor: C.gap, fillOpacity: 1 }),
      onEachFeature: (f, l) => {
        const p = f.properties;
        const keys = p.feature === "street_gap" ? ["street_id", "length_m"]
          : p.feature === "focus_area" ? ["kind", "name", "priority", "length_m", "covered_m", "passes"] : ["id", "passes", "last_pass"];
        const title = t(p.feature === "street_gap" ? "legend.gapStreet" : p.feature === "focus_area" ? "legend.gapFocus" : "legend.gapEntrance");
        l.on("click", (e) => openPopup(e.latlng, popupHtml(title, p, keys)));
        if (rank.has(f)) l.bindTooltip(String(rank.get(f)), { permanent: true, direction: "center", className: "bb-num bb-num-gap" });
      },
    }));
    layer.redraw();
    state.counts.gapLines = streets.length;
    state.counts.gapEntrances = data.features.filter((f) => f.properties.feature === "entrance").length;
    return { data, top: streets.slice(0, BRIEFING_TOP) };
  }

  async function loadAudit(layer, signal) {
    const reason = auditReason();
    const limit = state.view === "officer" ? OFFICER_AUDIT_TOP : null;
    const data = await api("/analysis/unmanaged-entrances", { beat: state.beat, ...nights(), reason, limit }, signal);
    fillPeriod(...(data.summary.nights || []));
    let features = data.features;
    if (state.view === "planner" && !reason) {
      features = features.filter((f) => f.properties.reasons.some((r) => r === "no_access_control" || r === "no_camera"));
    }
    const planner = state.view === "planner";
    const keys = ["rank", "reasons", "households", "living_alone", "burglaries_near", "risk"].concat(planner ? [] : ["passed"]);
    layer.redraw = () => layer.leaflet.clearLayers().addLayer(geoJSON({ type: "FeatureCollection", features }, {
      pointToLayer: (f, latlng) => L.circleMarker(latlng, {
        radius: 4 + 1.3 * Math.sqrt(Math.max(0, f.properties.risk || 0)), color: C.audit.stroke, weight: 2.5,
        fillColor: C.audit.fill, fillOpacity: 0.9,
      }),
      onEachFeature: (f, l) => {
        l.on("click", (e) => openPopup(e.latlng, popupHtml(layer.label(), f.properties, keys)));
        const i = features.indexOf(f);
        if (i < BRIEFING_TOP) l.bindTooltip("E" + (i + 1), { permanent: true, direction: "right", offset: [6, 0], className: "bb-num bb-num-entrance" });
      },
    }));
    layer.redraw();
    state.counts.audit = features.length;
    return { data, features };
  }

  async function loadHotspots(layer, signal) {
    const data = await api("/analysis/hotspots", { beat: state.beat, ...ninetyDays(), unit: "hex", cell_m: HOTSPOT_CELL_M }, signal);
    fillPeriodFromRange(data.summary);
    layer.redraw = () => layer.leaflet.clearLayers().addLayer(geoJSON(data, {
      style: (f) => {
        const colour = f.properties.label === "hot" ? C.hot : C.cold;
        return { color: colour, weight: 1.5, fillColor: colour, fillOpacity: f.properties.p_adjusted < 0.01 ? 0.55 : 0.35 };
      },
      onEachFeature: (f, l) => l.on("click", (e) => openPopup(e.latlng,
        popupHtml(t("layer.hotspots"), f.properties, ["label", "count", "rate", "z", "p_adjusted"]))),
    }));
    layer.redraw();
    state.counts.hotspots = data.features.length;
    return { data };
  }

  // Tonight's route on foot from the station and back: the gaps, the unmanaged entrances not
  // passed and the hot spots that fit in the time, numbered in the order they are visited.
  async function loadRoute(layer, signal) {
    const data = await api("/plan/patrol-route", { beat: state.beat, ...nights() }, signal, { budget_min: ROUTE_BUDGET_MIN });
    const stops = data.features.filter((f) => f.properties.feature === "stop");
    layer.redraw = () => layer.leaflet.clearLayers().addLayer(geoJSON(data, {
      filter: (f) => f.properties.feature === "route" || f.properties.feature === "stop",
      style: () => ({ color: C.route, weight: 4, opacity: 0.8, dashArray: "10 6" }),
      pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 6, color: "#fff", weight: 2, fillColor: C.route, fillOpacity: 1 })
        .bindTooltip(String(f.properties.order), { permanent: true, direction: "left", offset: [-6, 0], className: "bb-num bb-num-route" }),
      onEachFeature: (f, l) => {
        if (f.properties.feature === "stop") {
          l.on("click", (e) => openPopup(e.latlng, popupHtml(layer.label(), f.properties, ["order", "kind", "arrival", "stay_min", "value"])));
        }
      },
    }));
    layer.redraw();
    state.counts.routeStops = stops.length;
    return { data, stops };
  }

  // Where k new cameras, and k gates, would guard the most of what the audit lists (and, for
  // cameras, the incidents of the 90 days to the period's end): numbered by marginal gain.
  async function loadSiting(layer, signal) {
    const data = await api("/plan/cameras", { beat: state.beat, end: state.period.end }, signal, { k: SITING_K });
    const keys = ["rank", "gain", "gain_share", "entrances", "incidents", "range_m"];
    layer.redraw = () => layer.leaflet.clearLayers().addLayer(geoJSON(data, {
      pointToLayer: (f, latlng) => L.featureGroup([
        L.circle(latlng, { radius: f.properties.range_m, color: C.site, weight: 1.5, dashArray: "4 4", fillOpacity: 0.08, interactive: false }),
        L.circleMarker(latlng, { radius: 9, color: "#004d40", weight: 3, fillColor: C.site, fillOpacity: 1 })
          .bindTooltip("C" + f.properties.rank, { permanent: true, direction: "right", offset: [8, 0], className: "bb-num bb-num-site" }),
      ]),
      onEachFeature: (f, l) => l.on("click", (e) => openPopup(e.latlng, popupHtml(layer.label(), f.properties, keys))),
    }));
    layer.redraw();
    layer.leaflet.bringToFront(); // over the audit's markers, which stand at the same doors
    state.counts.sites = data.features.length;
    return { data };
  }

  async function loadGates(layer, signal) {
    const data = await api("/plan/access-control", { beat: state.beat, end: state.period.end }, signal, { k: SITING_K });
    const keys = ["rank", "address", "gain", "gain_share", "entrances", "households"];
    layer.redraw = () => layer.leaflet.clearLayers().addLayer(geoJSON(data, {
      style: () => ({ color: C.gate, weight: 4, fillColor: C.gate, fillOpacity: 0.25 }),
      onEachFeature: (f, l) => {
        l.bindTooltip(String(f.properties.rank), { permanent: true, direction: "center", className: "bb-num bb-num-gate" });
        l.on("click", (e) => openPopup(e.latlng, popupHtml(layer.label(), f.properties, keys)));
      },
    }));
    layer.redraw();
    state.counts.gates = data.features.length;
    return { data };
  }

  async function loadDensity(layer, signal) {
    const data = await api("/analysis/incident-density", { beat: state.beat, ...ninetyDays(), method: "kde" }, signal);
    fillPeriodFromRange(data.summary);
    layer.redraw = () => {
      layer.leaflet.clearLayers();
      // The image's corners, [[south, west], [north, east]], shifted; the image is stretched
      // between them (over a beat the shift hardly varies).
      if (data.image) L.imageOverlay(data.image.href, data.image.bounds.map(toMap), { opacity: 0.6, pane: "bb-density" }).addTo(layer.leaflet);
      layer.leaflet.addLayer(geoJSON(data, {
        style: { color: C.density, weight: 1.5, fill: false },
        onEachFeature: (f, l) => l.on("click", (e) => openPopup(e.latlng, popupHtml(t("layer.density"), f.properties, ["share"]))),
      }));
    };
    layer.redraw();
    state.counts.density = data.features.length;
    return { data };
  }

  // Incidents per beat: one incident-density request per beat (its summary counts them; the
  // hexagons are made as large as allowed so the answer is a few cells). The first request
  // fixes the dates when the user gave none, so every beat counts the same days.
  // The workload of every beat in one answer: each measure against its mean, so 100 % is the
  // average beat (GET /api/beats/workload says how it is made).
  async function loadChoropleth(layer, signal) {
    const data = await api("/beats/workload", { start: state.period.start, end: state.period.end }, signal);
    const [first, last] = data.summary.incidents_counted;
    fillPeriod(first, last);
    const rows = new Map(data.features.map((f) => [f.properties.code, f.properties]));
    const percent = (code) => Math.round(100 * ((rows.get(code) || {}).workload || 0));
    const breaks = classBreaks(Math.max(0, ...[...rows.keys()].map(percent)));
    layer.breaks = breaks;
    layer.redraw = () => layer.leaflet.clearLayers().addLayer(geoJSON(state.beats, {
      pane: "bb-choropleth",
      style: (f) => ({ color: "#555", weight: 1, fillColor: C.classes[classOf(percent(f.properties.code), breaks)], fillOpacity: 0.6 }),
      onEachFeature: (f, l) => l.on("click", (e) => openPopup(e.latlng, popupHtml(t("layer.choropleth"),
        { code: `${f.properties.code} ${f.properties.name || ""}`.trim(), workload: `${percent(f.properties.code)} %`,
          ...(rows.get(f.properties.code) || {}) },
        ["code", "workload", "households", "residents_to_visit", "premises_due", "sites_due", "incidents", "open_disputes", "street_km"]))),
    }));
    layer.redraw();
    state.counts.choropleth = rows.size;
    return { counts: rows, total: [...rows.values()].reduce((a, r) => a + r.incidents, 0), balance: data.summary.max_min_ratio };
  }

  // The beats divided anew into as many, balanced by the same workload: each new beat with its
  // share of the mean, and the balance before and after in the status line.
  async function loadProposal(layer, signal) {
    const data = await api("/plan/beats", null, signal, { start: state.period.start || null, end: state.period.end || null });
    layer.redraw = () => layer.leaflet.clearLayers().addLayer(geoJSON(data, {
      style: () => ({ color: C.proposal, weight: 3, dashArray: "8 6", fill: false }),
      onEachFeature: (f, l) => {
        l.bindTooltip(`${f.properties.beat} ${Math.round(100 * f.properties.share_of_mean)} %`,
          { permanent: true, direction: "center", className: "bb-num bb-num-proposal" });
        l.on("click", (e) => openPopup(e.latlng, popupHtml(layer.label(), f.properties, ["beat", "share_of_mean", "units", "area_km2", "polsby_popper"])));
      },
    }));
    layer.redraw();
    state.counts.proposal = data.features.length;
    return { data, ratio: data.summary.balance.max_min_ratio };
  }

  function classBreaks(max) {
    const width = Math.max(1, Math.ceil((max + 1) / C.classes.length));
    return C.classes.map((_, i) => [i * width, (i + 1) * width - 1]);
  }
  function classOf(n, breaks) { const i = breaks.findIndex(([, to]) => n <= to); return i < 0 ? breaks.length - 1 : i; }

  function choroplethLegend() {
    const breaks = layers.choropleth.breaks;
    if (!breaks) return [];
    return breaks.map(([from, to], i) => ["fill", { stroke: "#555", fill: C.classes[i] }, t("legend.classes", { from, to })]);
  }

  async function runAnalysis(id, signal) {
    const layer = layers[id];
    const key = JSON.stringify(layer.params());
    const result = await layer.load(layer, signal);
    const summary = result && result.data && result.data.summary;
    if (summary && summary.timezone) state.timezone = summary.timezone;
    // Stored under the parameters it answered (with the dates as filled in by the answer).
    state.data[id] = result;
    layer.loadedFor = JSON.stringify(layer.params());
    layer.askedFor = key;
    return result;
  }

  function isStale(id) { return layers[id].loadedFor !== JSON.stringify(layers[id].params()); }

  // --- drawing a view -----------------------------------------------------------------------

  async function refresh({ thenTiles = false } = {}) {
    const run = ++runs;
    if (controller) controller.abort();
    controller = new AbortController();
    const signal = controller.signal;
    document.body.dataset.busy = "true";
    setStatus(t("status.loading"));
    // Only the first view holds its tiles back (see draw); any later refresh shows them.
    setTileTimes();
    if (!thenTiles) addTileLayers();
    try {
      // With no beats there is nothing to analyse: the view is the (empty) map.
      const analyses = state.beats.features.length ? viewLayers().filter((id) => layers[id].analysis && isOn(id)) : [];
      let rest = analyses;
      // Without dates, the beat's default nights are asked first, so the analyses all run at
      // once on the same ones; with no beat, the first answer chooses them for the others.
      if (!state.period.start && analyses.length && VIEWS[state.view].beat) {
        fillPeriod(...(await api("/analysis/nights", { beat: state.beat }, signal)).nights);
      } else if (!state.period.start && analyses.length) {
        await runAnalysis(analyses[0], signal);
        rest = analyses.slice(1);
      }
      await Promise.all(rest.map((id) => runAnalysis(id, signal)));
      if (run !== runs) return;
      setTileTimes(); // the period may have been filled in by now
      if (thenTiles) addTileLayers();
      await tilesSettled();
      if (run !== runs) return;
      state.generation += 1;
      document.body.dataset.generation = String(state.generation);
      document.body.dataset.busy = "false";
      renderLegend();
      renderStatus();
      // The first complete view: the tests and the benchmarks wait for this.
      document.body.dataset.ready = "true";
    } catch (error) {
      if (error.name === "AbortError" || run !== runs) return;
      addTileLayers();
      document.body.dataset.busy = "false";
      setStatus(t("status.failed", { message: error.message }));
    }
  }

  // Resolves when every vector-tile layer on the map has its visible tiles drawn (or, should a
  // tile never answer, after TILES_PATIENCE_MS: the view is then as complete as it gets).
  function tilesSettled() {
    const grids = Object.values(layers).filter((l) => l.grid && map.hasLayer(l.grid)).map((l) => l.grid);
    const drawn = new Promise((resolve) => L.Util.requestAnimFrame(resolve)).then(() => Promise.all(grids.map((grid) =>
      new Promise((resolve) => {
        if (!grid._map || grid._noTilesToLoad()) resolve();
        else grid.once("load", resolve);
      }))));
    return Promise.race([drawn, new Promise((resolve) => setTimeout(resolve, TILES_PATIENCE_MS))]);
  }

  function setView(view, { tilesLater = false } = {}) {
    state.view = view;
    if (!state.on[view]) state.on[view] = Object.fromEntries(VIEWS[view].layers.map(([id, on]) => [id, Boolean(on)]));
    for (const layer of Object.values(layers)) map.removeLayer(layer.leaflet);
    if (VIEWS[view].beat && !state.beat) state.beat = defaultBeat();
    document.getElementById("bb-beat-row").hidden = !VIEWS[view].beat;
    document.getElementById("bb-reason-row").hidden = !VIEWS[view].reason;
    document.getElementById("bb-print").hidden = !VIEWS[view].print;
    document.getElementById("bb-view").value = view;
    document.body.dataset.view = view;
    drawBeats();
    renderLayerControl();
    // Move first, then add the layers: no tiles are fetched for the view being left.
    fit();
    for (const id of viewLayers()) if (isOn(id) && !layers[id].grid) layers[id].leaflet.addTo(map);
    if (!tilesLater) addTileLayers();
  }

  function addTileLayers() {
    for (const id of viewLayers()) if (isOn(id) && layers[id].grid) layers[id].leaflet.addTo(map);
  }

  function defaultBeat() {
    const codes = state.beats.features.map((f) => f.properties.code);
    const mine = (state.me.beats || []).find((c) => codes.includes(c));
    return mine || codes[0] || null;
  }

  function beatFeature(code) { return state.beats.features.find((f) => f.properties.code === code); }

  function fit(options) {
    const panel = document.getElementById("bb-panel");
    const pad = Object.assign({ paddingTopLeft: [50, 50], paddingBottomRight: [(panel.offsetWidth || 0) + 20, 20], animate: false }, options);
    const beat = VIEWS[state.view].beat && beatFeature(state.beat);
    const target = beat ? geoJSON(beat) : layers.beats.leaflet;
    const bounds = target.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, pad);
  }

  function drawBeats() {
    const group = layers.beats.leaflet.clearLayers();
    const focus = VIEWS[state.view].beat ? state.beat : null;
    group.addLayer(geoJSON(state.beats, {
      style: (f) => ({ color: C.beat, fill: false, weight: f.properties.code === focus ? 4 : 2,
                       dashArray: focus && f.properties.code !== focus ? "6 6" : null, interactive: false }),
      onEachFeature: (f, l) => l.bindTooltip(escapeHtml(`${f.properties.code} ${f.properties.name || ""}`.trim()),
        { permanent: true, direction: "center", className: "bb-beat-label" }),
    }));
  }

  // --- the panel: words, layer control, legend, status --------------------------------------

  function translatePage() {
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
    document.title = t("app.title");
    document.getElementById("bb-hours").placeholder = "22:00-06:00";
    for (const id of ["bb-start", "bb-end"]) document.getElementById(id).title = t("period.latest");
    for (const select of document.querySelectorAll("select.bb-lang")) {
      select.replaceChildren(...I.LANGUAGES.map((l) => el("option", { value: l, text: I.NAMES[l] })));
      select.value = I.lang;
    }
  }

  function renderPanel() {
    const me = state.me;
    document.getElementById("bb-user").textContent = `${me.username} (${t("role." + me.role)})`;
    const views = ROLE_VIEWS[me.role] || ["officer"];
    const viewSelect = document.getElementById("bb-view");
    viewSelect.replaceChildren(...views.map((v) => el("option", { value: v, text: t("view." + v) })));
    viewSelect.value = state.view;
    document.getElementById("bb-view-row").hidden = views.length < 2;
    const beatSelect = document.getElementById("bb-beat");
    const mine = new Set(me.beats || []);
    const codes = state.beats.features.map((f) => f.properties);
    codes.sort((a, b) => (mine.has(b.code) - mine.has(a.code)) || a.code.localeCompare(b.code));
    beatSelect.replaceChildren(...codes.map((p) => el("option", { value: p.code, text: `${p.code} ${p.name || ""}`.trim() })));
    beatSelect.value = state.beat || "";
    const reasonSelect = document.getElementById("bb-reason");
    reasonSelect.replaceChildren(...[["", "reason.any"], ["no_access_control", "reason.no_access_control"], ["no_camera", "reason.no_camera"]]
      .map(([v, k]) => el("option", { value: v, text: t(k) })));
    reasonSelect.value = state.reason;
    renderLayerControl();
  }

  function renderLayerControl() {
    const bases = [["plain", t("basemap.plain")]].concat(config.basemaps.map((b) => [b.id, I.STRINGS["basemap." + b.id] ? t("basemap." + b.id) : b.name]));
    document.getElementById("bb-basemaps").replaceChildren(el("div", { class: "bb-sub", text: t("basemap") }),
      ...bases.map(([id, name]) => {
        const input = el("input", { type: "radio", name: "bb-basemap", value: id, "data-basemap": id });
        input.checked = state.basemap === id;
        return el("label", { class: "bb-check" }, input, " ", name);
      }));
    document.getElementById("bb-overlays").replaceChildren(...viewLayers().map((id) => {
      const input = el("input", { type: "checkbox", "data-layer": id });
      input.checked = isOn(id);
      return el("label", { class: "bb-check" }, input, " ", layers[id].label());
    }));
  }

  function swatch(kind, colour) {
    const stroke = typeof colour === "string" ? colour : colour.stroke;
    const fill = typeof colour === "string" ? colour : colour.fill;
    const styles = {
      fill: `background:${fill};border:1px solid ${stroke}`,
      line: `background:${stroke};height:4px;vertical-align:3px`,
      dash: `border-top:3px dashed ${stroke};height:0;vertical-align:4px`,
      dot: `background:${fill};border:2px solid ${stroke === fill ? "#fff" : stroke};border-radius:50%`,
      ring: `background:#fff;border:2px solid ${stroke};border-radius:50%`,
    };
    return el("i", { class: "bb-swatch", style: styles[kind] });
  }

  let legendControl;

  function renderLegend() {
    if (!legendControl) return;
    const box = legendControl.getContainer();
    const blocks = [el("div", { class: "bb-legend-title", text: t("legend") })];
    for (const id of viewLayers()) {
      if (!isOn(id)) continue;
      const layer = layers[id];
      const entries = typeof layer.legend === "function" ? layer.legend() : layer.legend;
      const hidden = layer.grid && map.getZoom() < layer.grid.options.minZoom;
      const block = el("div", { class: "bb-legend-layer", "data-layer": id },
        el("div", { class: "bb-legend-name", text: layer.label() + (hidden ? " " + t("legend.zoomIn") : "") }));
      for (const [kind, colour, label] of entries) {
        block.append(el("div", { class: "bb-legend-item" }, swatch(kind, colour), I.STRINGS[label] ? t(label) : label));
      }
      blocks.push(block);
    }
    box.replaceChildren(...blocks);
  }

  function setStatus(text) {
    const status = document.getElementById("bb-status");
    status.hidden = false;
    status.textContent = text;
  }

  function renderStatus() {
    const d = state.data;
    if (state.view === "officer") {
      const gaps = isOn("gaps") && d.gaps ? d.gaps.data : null;
      const km = gaps ? gaps.features.filter((f) => f.properties.feature === "street_gap").reduce((s, f) => s + f.properties.length_m, 0) / 1000 : 0;
      setStatus(t("status.officer", {
        beat: state.beat, gaps: gaps ? state.counts.gapLines : "–", km: I.number(km, 1, true),
        doors: gaps ? gaps.summary.entrances_unpassed : "–",
        hot: isOn("hotspots") && d.hotspots ? d.hotspots.data.summary.hot : "–",
      }));
    } else if (state.view === "supervisor") {
      const c = isOn("choropleth") && d.choropleth;
      const p = isOn("proposal") && d.proposal;
      setStatus(t("status.supervisor", { beats: state.beats.features.length, incidents: c ? c.total : "–",
                                        start: state.period.start || "–", end: state.period.end || "–" })
        + (p ? " " + t("status.proposal", { before: I.number(p.ratio.before, 2), after: I.number(p.ratio.after, 2) }) : ""));
    } else {
      setStatus(t("status.planner", { beat: state.beat, entrances: isOn("audit") && d.audit ? d.audit.features.length : "–",
                                     cameras: isOn("cameras") && map.getZoom() >= SECTOR_MIN_ZOOM ? cameraCountInView() : "–" }));
    }
  }

  function setLanguage(lang) {
    I.set(lang, true);
    translatePage();
    if (state.me) {
      renderPanel();
      renderLegend();
      if (state.generation) renderStatus();
      map.closePopup();
    }
  }

  // --- the night briefing -------------------------------------------------------------------

  function table(keys, rows) {
    return el("table", { class: "bb-brief-table" },
      el("thead", {}, el("tr", {}, ...keys.map((k) => el("th", { text: t("field." + k) })))),
      el("tbody", {}, ...(rows.length ? rows : [[t("briefing.none")]]).map((cells) => el("tr", {}, ...cells.map((c) => el("td", { text: c }))))));
  }

  // The briefing: a head above the map, then the ten longest gaps and the ten entrances at
  // greatest risk (numbered as on the map), the route's stops when one is planned, then the
  // legend. Counts only, no people.
  function buildBriefing() {
    const box = document.getElementById("bb-briefing");
    const gaps = state.data.gaps, audit = state.data.audit;
    const summary = gaps ? gaps.data.summary : {};
    const gapRows = (gaps ? gaps.top : []).map((f, i) => [String(i + 1), String(f.properties.street_id), I.number(f.properties.length_m, 0)]);
    const doorRows = (audit ? audit.features.slice(0, BRIEFING_TOP) : []).map((f, i) => {
      const p = f.properties;
      return ["E" + (i + 1), String(p.id), formatValue("reasons", p.reasons), String(p.households), String(p.living_alone),
              String(p.burglaries_near), I.number(p.risk, 1), t(p.passed ? "value.passed" : "value.notPassed")];
    });
    const route = isOn("route") ? state.data.route : null;
    const routeRows = (route ? route.stops : []).map((f) => {
      const p = f.properties;
      return [String(p.order), I.value(p.kind), p.arrival, I.number(p.stay_min, 1)];
    });
    const legend = el("div", { class: "bb-brief-legend" });
    if (legendControl) for (const node of legendControl.getContainer().querySelectorAll(".bb-legend-layer")) legend.append(node.cloneNode(true));
    box.replaceChildren(
      el("header", { class: "bb-brief-head" },
        el("h1", { text: t("briefing.title", { beat: state.beat }) }),
        el("p", { text: t("briefing.period", { start: state.period.start, end: state.period.end, hours: state.period.hours }) + " " +
          t("briefing.summary", { share: summary.covered_share !== undefined ? I.number(summary.covered_share * 100, 1) + "%" : "–",
                                  doors: summary.entrances_unpassed ?? "–" }) })),
      el("div", { class: "bb-brief-columns" },
        el("section", {}, el("h2", { text: t("briefing.gaps") }), table(["rank", "street_id", "length_m"], gapRows)),
        el("section", {}, el("h2", { text: t("briefing.entrances") }),
          table(["rank", "id", "reasons", "households", "living_alone", "burglaries_near", "risk", "passed"], doorRows))),
      route ? el("section", {}, el("h2", { text: t("briefing.route", { minutes: route.data.summary.total_min,
                                                                       share: I.number(route.data.summary.value_share * 100, 0) + "%" }) }),
        table(["order", "kind", "arrival", "stay_min"], routeRows)) : "",
      legend,
    );
  }

  // Lays the page out as one printed sheet (map of the beat above, the lists below), waits for
  // the tiles of that layout, then prints. The layout stays until the print dialog closes.
  async function prepareBriefing() {
    buildBriefing();
    document.body.classList.add("bb-printing");
    map.invalidateSize({ pan: false });
    fit({ paddingTopLeft: [10, 10], paddingBottomRight: [10, 10] });
    await tilesSettled();
    document.body.dataset.briefing = "ready";
  }

  async function printBriefing() {
    await prepareBriefing();
    window.print();
  }

  function endBriefing() {
    if (!document.body.classList.contains("bb-printing")) return;
    document.body.classList.remove("bb-printing");
    delete document.body.dataset.briefing;
    map.invalidateSize({ pan: false });
    fit();
  }

  // --- wiring -------------------------------------------------------------------------------

  // Every layer is stored in WGS-84 and drawn in the shown basemap's datum (state.datum): over
  // a GCJ-02 basemap (AMap/Gaode) the GeoJSON layers are drawn anew through coordsToLatLng and
  // the vector tiles asked for again with ?datum=gcj02. Outside China the two are the same.
  function setBasemap(id) {
    state.basemap = id;
    const base = config.basemaps.find((b) => b.id === id);
    for (const layer of Object.values(basemaps)) map.removeLayer(layer);
    if (basemaps[id]) basemaps[id].addTo(map);
    setDatum(base && base.datum === "gcj02" ? "gcj02" : "wgs84");
  }

  function setDatum(datum) {
    document.body.dataset.datum = datum;
    if (datum === state.datum) return;
    state.datum = datum;
    map.closePopup();
    drawBeats();
    const grids = Object.values(layers).filter((l) => l.grid).map((l) => l.grid);
    // All grids first: the entrances' tiles read the buildings' tiles of the same datum.
    for (const grid of grids) grid.options.datum = datum;
    for (const grid of grids) if (grid._map) grid.redraw();
    for (const layer of Object.values(layers)) if (layer.redraw) layer.redraw();
  }

  const basemaps = {};
  let openedOn = null; // the background the page opened on, until the user picks one

  function wirePanel() {
    document.getElementById("bb-logout").addEventListener("click", logout);
    document.getElementById("bb-view").addEventListener("change", (e) => { setView(e.target.value); refresh(); });
    document.getElementById("bb-beat").addEventListener("change", (e) => {
      state.beat = e.target.value;
      drawBeats();
      fit();
      refresh();
    });
    document.getElementById("bb-reason").addEventListener("change", (e) => { state.reason = e.target.value; refresh(); });
    document.getElementById("bb-time").addEventListener("submit", (e) => {
      e.preventDefault();
      const period = readPeriod();
      document.getElementById("bb-time-error").textContent = period.error || "";
      if (period.error) return;
      state.period = period;
      refresh();
    });
    document.getElementById("bb-basemaps").addEventListener("change", (e) => {
      if (!e.target.dataset.basemap) return;
      openedOn = null;
      setBasemap(e.target.dataset.basemap);
    });
    document.getElementById("bb-overlays").addEventListener("change", (e) => {
      const id = e.target.dataset.layer;
      if (!id) return;
      state.on[state.view][id] = e.target.checked;
      if (e.target.checked) {
        layers[id].leaflet.addTo(map);
        if (layers[id].analysis && isStale(id)) {
          runAnalysis(id, controller ? controller.signal : undefined).then(() => { renderLegend(); renderStatus(); })
            .catch((error) => { if (error.name !== "AbortError") setStatus(t("status.failed", { message: error.message })); });
        }
      } else {
        map.removeLayer(layers[id].leaflet);
      }
      renderLegend();
      if (state.generation) renderStatus();
    });
    document.getElementById("bb-print").addEventListener("click", () => { printBriefing(); });
    window.addEventListener("afterprint", endBriefing);
    map.on("zoomend", () => renderLegend());
    map.on("click", (e) => {
      state.clicked = toWgs84(e.latlng);
      clickTiles(e);
    });
  }

  async function draw() {
    setStatus(t("status.loading"));
    const [me, beats] = await Promise.all([api("/auth/me"), api("/beats")]);
    state.me = me;
    state.beats = beats;
    for (const base of config.basemaps) {
      const options = Object.assign({ attribution: base.attribution, maxZoom: base.maxZoom },
        base.subdomains ? { subdomains: base.subdomains } : {});
      const tiles = L.tileLayer(base.url, options);
      // The background the page opens on gives way to the plain one when its tiles do not come
      // (no internet); one the user chose stays chosen.
      let loaded = false;
      tiles.on("tileload", () => { loaded = true; });
      tiles.on("tileerror", () => {
        if (loaded || state.basemap !== base.id || openedOn !== base.id) return;
        setBasemap("plain");
        renderLayerControl();
      });
      basemaps[base.id] = base.labels ? L.layerGroup([tiles, L.tileLayer(base.labels, { ...options, attribution: "" })]) : tiles;
    }
    for (const credit of config.credits) map.attributionControl.addAttribution(escapeHtml(credit));
    for (const [name, z] of [["bb-choropleth", 250], ["bb-density", 260], ["bb-tiles", 300], ["bb-sectors", 350]]) {
      map.createPane(name).style.zIndex = z;
    }
    defineGrids();
    defineLayers();
    if (config.basemaps.some((b) => b.id === config.basemap)) setBasemap(openedOn = config.basemap);
    legendControl = L.control({ position: "bottomleft" });
    legendControl.onAdd = () => L.DomUtil.create("div", "bb-panel bb-legend");
    legendControl.addTo(map);
    L.DomEvent.disableScrollPropagation(legendControl.getContainer());
    document.getElementById("bb-panel").hidden = false;
    const view = (ROLE_VIEWS[me.role] || ["officer"])[0];
    // The browser asks a server at most six things at once: the first view's tiles wait
    // until the analyses, its slowest part, have been asked and answered.
    setView(view, { tilesLater: true });
    renderPanel();
    wirePanel();
    await refresh({ thenTiles: true });
  }

  function start(leafletMap, pageConfig) {
    map = leafletMap;
    config = pageConfig;
    document.body.dataset.datum = state.datum;
    I.set(I.preferred(), false);
    translatePage();
    for (const select of document.querySelectorAll("select.bb-lang")) {
      select.addEventListener("change", (e) => setLanguage(e.target.value));
    }
    const form = document.getElementById("bb-login");
    const fail = (error) => { form.hidden = false; form.querySelector(".bb-error").textContent = error.message; };
    if (token) { form.hidden = true; draw().catch(fail); }
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const response = await fetch(config.api + "/auth/token", { method: "POST", body: new URLSearchParams(new FormData(form)) });
      const body = await response.json();
      if (!response.ok) { fail(new Error(response.status === 401 ? t("login.failed") : body.detail)); return; }
      token = body.access_token;
      sessionStorage.setItem("beatbook-token", token);
      form.hidden = true;
      draw().catch(fail);
    });
  }

  return { start, state, refresh, prepareBriefing, printBriefing, endBriefing, layers, coordsToLatLng, toWgs84,
           get map() { return map; } };
})();
