// The citizen map: kreisgeo's own vector tiles in MapLibre GL JS, a layer switcher with a
// legend, and the attributes of a clicked feature. No CDN, no inline script (the page's CSP).
"use strict";

(function () {
  const palette = ["#1b6ca8", "#d1495b", "#2e933c", "#edae49", "#6a4c93", "#00798c"];
  const lang = document.documentElement.lang === "en" ? "en" : "de";
  const text = {
    de: { layers: "Ebenen", none: "Keine Daten", close: "Schließen" },
    en: { layers: "Layers", none: "No data", close: "Close" },
  }[lang];

  maplibregl.setWorkerUrl("/assets/maplibre-gl-csp-worker.js");
  const state = (window.kreisgeo = { ready: false, error: null, layers: [] });

  function layersOf(id, index) {
    const color = palette[index % palette.length];
    const source = "kreisgeo";
    return [
      { id: id + "-fill", type: "fill", source, "source-layer": id,
        filter: ["==", ["geometry-type"], "Polygon"],
        paint: { "fill-color": color, "fill-opacity": 0.25 } },
      { id: id + "-line", type: "line", source, "source-layer": id,
        filter: ["in", ["geometry-type"], ["literal", ["Polygon", "LineString"]]],
        paint: { "line-color": color, "line-width": 1 } },
      { id: id + "-point", type: "circle", source, "source-layer": id,
        filter: ["==", ["geometry-type"], "Point"],
        paint: { "circle-color": color, "circle-radius": 6,
                 "circle-stroke-color": "#fff", "circle-stroke-width": 1.5 } },
    ];
  }

  function legend(map, tilejson) {
    const box = document.getElementById("layers");
    const title = document.createElement("h2");
    title.textContent = text.layers;
    box.appendChild(title);
    tilejson.vector_layers.forEach((layer, index) => {
      const label = document.createElement("label");
      const check = document.createElement("input");
      check.type = "checkbox";
      check.checked = true;
      check.id = "layer-" + layer.id;
      check.addEventListener("change", () => {
        for (const suffix of ["-fill", "-line", "-point"]) {
          map.setLayoutProperty(layer.id + suffix, "visibility", check.checked ? "visible" : "none");
        }
      });
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = palette[index % palette.length];
      swatch.setAttribute("aria-hidden", "true");
      label.append(check, swatch, document.createTextNode(" " + (layer.description || layer.id)));
      box.appendChild(label);
    });
  }

  function details(feature) {
    const panel = document.getElementById("details");
    panel.replaceChildren();
    const heading = document.createElement("h2");
    heading.textContent = feature.sourceLayer;
    const table = document.createElement("table");
    for (const [key, value] of Object.entries(feature.properties)) {
      const row = table.insertRow();
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = key;
      row.appendChild(th);
      row.insertCell().textContent = String(value);
    }
    panel.append(heading, table);
    panel.hidden = false;
  }

  fetch("/tiles/WebMercatorQuad/tilejson")
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error("TileJSON: " + r.status))))
    .then((tilejson) => {
      const layers = [{ id: "background", type: "background", paint: { "background-color": "#f4f1ea" } }];
      tilejson.vector_layers.forEach((l, i) => layers.push(...layersOf(l.id, i)));
      state.layers = tilejson.vector_layers.map((l) => l.id);
      const map = new maplibregl.Map({
        container: "map",
        style: { version: 8, sources: { kreisgeo: { type: "vector", tiles: tilejson.tiles,
          minzoom: tilejson.minzoom, maxzoom: tilejson.maxzoom, bounds: tilejson.bounds,
          attribution: tilejson.attribution } }, layers },
        bounds: tilejson.bounds,
        fitBoundsOptions: { padding: 20 },
      });
      state.map = map;
      map.addControl(new maplibregl.NavigationControl());
      map.on("error", (e) => { state.error = String(e.error && e.error.message || e.error); });
      map.on("load", () => { state.ready = true; });
      map.on("click", (e) => {
        const hit = map.queryRenderedFeatures(e.point)[0];
        if (hit) details(hit);
      });
      legend(map, tilejson);
    })
    .catch((e) => {
      state.error = String(e);
      document.getElementById("map").textContent = text.none;
    });
})();
