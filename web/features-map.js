// The map of an HTML feature page: the page's own features (its GeoJSON, from data-src) in
// MapLibre GL JS, fitted to them, over kreisgeo's own basemap when an OSM dataset is loaded;
// a click on a feature opens its page. Nothing leaves the server (the page's CSP).
"use strict";

(function () {
  const element = document.getElementById("features-map");
  if (!element || !window.maplibregl) return;
  maplibregl.setWorkerUrl("/assets/maplibre-gl-csp-worker.js");
  const state = (window.kreisgeo = { ready: false, error: null, features: 0 });

  // [minLon, minLat, maxLon, maxLat] of every coordinate in the collection.
  function bounds(collection) {
    const box = [Infinity, Infinity, -Infinity, -Infinity];
    const walk = (c) => {
      if (typeof c[0] === "number") {
        box[0] = Math.min(box[0], c[0]);
        box[1] = Math.min(box[1], c[1]);
        box[2] = Math.max(box[2], c[0]);
        box[3] = Math.max(box[3], c[1]);
      } else {
        c.forEach(walk);
      }
    };
    for (const f of collection.features) if (f.geometry) walk(f.geometry.coordinates);
    return box;
  }

  const basemap = fetch("/basemap/style.json")
    .then((r) => (r.ok ? r.json() : null))
    .catch(() => null);
  fetch(element.dataset.src, { headers: { Accept: "application/geo+json" } })
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error(element.dataset.src + ": " + r.status))))
    .then((doc) => basemap.then((style) => [doc, style]))
    .then(([doc, style]) => {
      const collection = doc.type === "Feature" ? { type: "FeatureCollection", features: [doc] } : doc;
      state.features = collection.features.length;
      if (!collection.features.length) {
        element.hidden = true;
        state.ready = true;
        return;
      }
      const box = bounds(collection);
      const color = "#1b6ca8";
      const under = style ? style.layers
        : [{ id: "background", type: "background", paint: { "background-color": "#f4f1ea" } }];
      const composed = {
          version: 8,
          sources: Object.assign({}, style ? style.sources : {}, { page: { type: "geojson", data: collection } }),
          layers: under.concat([
            { id: "fill", type: "fill", source: "page", filter: ["==", ["geometry-type"], "Polygon"],
              paint: { "fill-color": color, "fill-opacity": 0.3 } },
            { id: "line", type: "line", source: "page",
              filter: ["in", ["geometry-type"], ["literal", ["Polygon", "LineString"]]],
              paint: { "line-color": color, "line-width": 1.5 } },
            { id: "point", type: "circle", source: "page", filter: ["==", ["geometry-type"], "Point"],
              paint: { "circle-color": color, "circle-radius": 6,
                       "circle-stroke-color": "#fff", "circle-stroke-width": 1.5 } },
          ]),
      };
      if (style) composed.glyphs = style.glyphs;
      state.basemap = !!style;
      const map = new maplibregl.Map({
        container: element,
        style: composed,
        bounds: [[box[0], box[1]], [box[2], box[3]]],
        fitBoundsOptions: { padding: 30, maxZoom: 17 },
      });
      state.map = map;
      map.addControl(new maplibregl.NavigationControl());
      map.on("error", (e) => { state.error = String(e.error && e.error.message || e.error); });
      map.on("load", () => { state.ready = true; });
      const base = location.pathname.replace(/\/items(\/[^/]*)?$/, "/items/");
      map.on("click", (e) => {
        const hit = map.queryRenderedFeatures(e.point, { layers: ["point", "fill", "line"] })[0];
        if (hit && hit.id !== undefined && doc.type !== "Feature") {
          location.href = base + encodeURIComponent(hit.id) + "?f=html&lang=" + document.documentElement.lang;
        }
      });
      map.on("mousemove", (e) => {
        const over = map.queryRenderedFeatures(e.point, { layers: ["point", "fill", "line"] }).length > 0;
        map.getCanvas().style.cursor = over && doc.type !== "Feature" ? "pointer" : "";
      });
    })
    .catch((e) => {
      state.error = String(e);
      element.hidden = true;
    });
})();
