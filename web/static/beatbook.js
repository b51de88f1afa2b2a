// Beatbook map: logs in against the API, then draws the beat's layers as GeoJSON.
// Coordinates arrive as GeoJSON (lon, lat); Leaflet's L.geoJSON does the swap to (lat, lng).
window.beatbook = (function () {
  const STYLE = {
    beats: { color: "#1f4e9c", weight: 3, fill: false },
    managed: { color: "#4d7f4d", weight: 1, fillColor: "#9fd39f", fillOpacity: 0.6 },
    unmanaged: { color: "#a13c1e", weight: 1, fillColor: "#f4a582", fillOpacity: 0.7 },
  };
  let token = sessionStorage.getItem("beatbook-token");

  async function api(config, path) {
    const response = await fetch(config.api + path, { headers: { Authorization: "Bearer " + token } });
    if (response.status === 401) { sessionStorage.removeItem("beatbook-token"); location.reload(); }
    if (!response.ok) throw new Error((await response.json()).detail || response.statusText);
    return response.json();
  }

  // Follows the API's "next" links so a layer arrives whole but in bounded pages.
  async function allFeatures(config, path) {
    let page = await api(config, path);
    const features = page.features;
    let next = page.links && page.links.find((l) => l.rel === "next");
    while (next) {
      const url = new URL(next.href);
      page = await api(config, url.pathname.replace(/^\/api/, "") + url.search);
      features.push(...page.features);
      next = page.links && page.links.find((l) => l.rel === "next");
    }
    return { type: "FeatureCollection", features: features };
  }

  function escapeHtml(value) {
    return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  function popup(props, keys) {
    return keys.filter((k) => props[k] !== null && props[k] !== undefined)
      .map((k) => `<b>${escapeHtml(k)}</b>: ${escapeHtml(props[k])}`).join("<br>");
  }

  function addBasemaps(map, config) {
    const bases = { "Plain (offline)": L.layerGroup().addTo(map) };
    for (const base of config.basemaps) {
      bases[base.name] = L.tileLayer(base.url, { attribution: base.attribution, maxZoom: base.maxZoom });
    }
    for (const credit of config.credits) map.attributionControl.addAttribution(escapeHtml(credit));
    return bases;
  }

  async function draw(map, config) {
    const status = document.getElementById("bb-status");
    status.hidden = false;
    status.textContent = "Loading…";
    const beats = await api(config, "/beats");
    const beatLayer = L.geoJSON(beats, {
      style: STYLE.beats,
      onEachFeature: (f, layer) => layer.bindTooltip(escapeHtml(f.properties.code + " " + (f.properties.name || "")), { permanent: true, direction: "center", className: "bb-beat-label" }),
    }).addTo(map);
    if (beats.features.length) map.fitBounds(beatLayer.getBounds());
    const box = map.getBounds();
    const bbox = [box.getWest(), box.getSouth(), box.getEast(), box.getNorth()].map((v) => v.toFixed(6)).join(",");
    const buildings = await allFeatures(config, `/layers/buildings?limit=1000&bbox=${bbox}`);
    const buildingLayer = L.geoJSON(buildings, {
      style: (f) => (f.properties.managed ? STYLE.managed : STYLE.unmanaged),
      onEachFeature: (f, layer) => layer.bindPopup(popup(f.properties, ["address", "floors", "use", "managed", "property_company"])),
    }).addTo(map);
    L.control.layers(addBasemaps(map, config), { Beats: beatLayer, Buildings: buildingLayer }, { collapsed: false }).addTo(map);
    const legend = L.control({ position: "bottomright" });
    legend.onAdd = () => {
      const div = L.DomUtil.create("div", "bb-panel bb-legend");
      div.style.position = "static";
      div.innerHTML = `<i style="border:2px solid ${STYLE.beats.color}"></i>Beat<br>` +
        `<i style="background:${STYLE.managed.fillColor}"></i>Building with property management<br>` +
        `<i style="background:${STYLE.unmanaged.fillColor}"></i>Building without (unmanaged)`;
      return div;
    };
    legend.addTo(map);
    status.textContent = `${beats.features.length} beats, ${buildings.features.length} buildings`;
    document.body.dataset.ready = "true";
  }

  function start(map, config) {
    const form = document.getElementById("bb-login");
    const fail = (error) => { form.hidden = false; form.querySelector(".bb-error").textContent = error.message; };
    if (token) { form.hidden = true; draw(map, config).catch(fail); }
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const response = await fetch(config.api + "/auth/token", { method: "POST", body: new URLSearchParams(new FormData(form)) });
      const body = await response.json();
      if (!response.ok) { fail(new Error(body.detail)); return; }
      token = body.access_token;
      sessionStorage.setItem("beatbook-token", token);
      form.hidden = true;
      draw(map, config).catch(fail);
    });
  }

  return { start: start };
})();
