// The citizen map: kreisgeo's own vector tiles in MapLibre GL JS, a layer switcher with a
// legend, the attributes of a clicked feature, the nearest defibrillators (from a clicked point
// or the browser's location), the solar potential of a roof and a parcel search. No CDN, no
// inline script (the page's CSP).
"use strict";

(function () {
  const palette = ["#1b6ca8", "#d1495b", "#2e933c", "#edae49", "#6a4c93", "#00798c"];
  const lang = document.documentElement.lang === "en" ? "en" : "de";
  const text = {
    de: { layers: "Ebenen", none: "Keine Daten", nearest: "Nächsten Defibrillator suchen",
          pick: "Klicken Sie in die Karte, wo Hilfe gebraucht wird – oder verschieben Sie die Karte mit den Pfeiltasten und drücken Sie Enter für ihre Mitte.", found: "Nächste Defibrillatoren",
          open: "jetzt geöffnet", closed: "jetzt geschlossen", unknown: "Öffnungszeiten unbekannt",
          nothing: "Kein Defibrillator gefunden.", roof: "Mein Dach: Solarpotenzial",
          pickRoof: "Klicken Sie auf Ihr Dach – oder verschieben Sie die Karte mit den Pfeiltasten und drücken Sie Enter für ihre Mitte.", noRoof: "Hier ist kein Dach im Solarkataster.",
          here: "Defibrillator nahe meinem Standort", locating: "Standort wird ermittelt …",
          noLocation: "Ihr Standort ist nicht verfügbar: ", parcel: "Flurstück suchen",
          parcelKey: "Flurstückskennzeichen", search: "Suchen", parcelFound: "Flurstück",
          noParcel: "Kein Flurstück mit diesem Kennzeichen.", badKey: "Ungültiges Kennzeichen: ",
          find: "Adresse, Ort oder Flurstück", suggestions: (n) => n === 1 ? "1 Vorschlag" : n + " Vorschläge",
          noHits: "Nichts gefunden.", searchList: "Vorschläge",
          onFoot: (min, m) => String(min).replace(".", ",") + " min zu Fuß (" + m + ")",
          unreachable: "zu Fuß nicht erreichbar",
          gaps: "Versorgungslücken", gapNote: (t) => "Fußweg zum nächsten rund um die Uhr zugänglichen Defibrillator über " + t,
          within: "Adresse: Defibrillator in Reichweite", beyond: "Adresse: zu weit",
          noWalk: "Adresse: kein Fußweg zu einem Gerät",
          kinds: { aed: "Defibrillatoren", parcels: "Flurstücke", solar: "Solarpotenzial der Dächer",
                   buildings: "Gebäude", roofs: "Dachflächen (3D-Gebäudemodell)", addresses: "Adressen",
                   coverage: "Versorgungslücken" } },
    en: { layers: "Layers", none: "No data", nearest: "Find the nearest defibrillator",
          pick: "Click on the map where help is needed – or move the map with the arrow keys and press Enter for its centre.", found: "Nearest defibrillators",
          open: "open now", closed: "closed now", unknown: "opening hours unknown",
          nothing: "No defibrillator found.", roof: "My roof: solar potential",
          pickRoof: "Click on your roof – or move the map with the arrow keys and press Enter for its centre.", noRoof: "No roof of the solar cadastre here.",
          here: "Defibrillators near my location", locating: "Finding your location …",
          noLocation: "Your location is not available: ", parcel: "Find a parcel",
          parcelKey: "Parcel key (Flurstückskennzeichen)", search: "Search", parcelFound: "Parcel",
          noParcel: "No parcel with this key.", badKey: "Not a valid key: ",
          find: "Address, place or parcel", suggestions: (n) => n === 1 ? "1 suggestion" : n + " suggestions",
          noHits: "Nothing found.", searchList: "Suggestions",
          onFoot: (min, m) => min + " min on foot (" + m + ")",
          unreachable: "not reachable on foot",
          gaps: "Coverage gaps", gapNote: (t) => "walk to the nearest defibrillator accessible around the clock longer than " + t,
          within: "Address: defibrillator within reach", beyond: "Address: too far",
          noWalk: "Address: no walk to any",
          kinds: { aed: "Defibrillators", parcels: "Parcels", solar: "Solar potential of roofs",
                   buildings: "Buildings", roofs: "Roof surfaces (3D building model)", addresses: "Addresses",
                   coverage: "Coverage gaps" } },
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

  // The AED coverage: its gap areas in red, its addresses green within reach and red beyond
  // (grey where no walk reaches), under the same layer ids as any other so the switcher works.
  const gapColor = "#c62828";
  const reachColor = "#2e7d32";
  const noWalkColor = "#757575";
  function coverageLayers(id) {
    const source = "kreisgeo";
    return [
      { id: id + "-fill", type: "fill", source, "source-layer": id,
        filter: ["==", ["get", "part"], "gap"],
        paint: { "fill-color": gapColor, "fill-opacity": 0.3 } },
      { id: id + "-line", type: "line", source, "source-layer": id,
        filter: ["==", ["get", "part"], "gap"],
        paint: { "line-color": gapColor, "line-width": 1.5 } },
      { id: id + "-point", type: "circle", source, "source-layer": id, minzoom: 14,
        filter: ["==", ["get", "part"], "address"],
        paint: { "circle-radius": 3.5, "circle-stroke-color": "#fff", "circle-stroke-width": 1,
                 "circle-color": ["case", ["!", ["has", "minutes_24h"]], noWalkColor,
                                  ["get", "beyond_threshold"], gapColor, reachColor] } },
    ];
  }

  function say(message) {
    const panel = document.getElementById("details");
    panel.textContent = message;
    panel.hidden = false;
  }

  // [[minLon, minLat], [maxLon, maxLat]] of a geometry.
  function extent(geometry) {
    const box = [[Infinity, Infinity], [-Infinity, -Infinity]];
    const walk = (c) => {
      if (typeof c[0] === "number") {
        box[0] = [Math.min(box[0][0], c[0]), Math.min(box[0][1], c[1])];
        box[1] = [Math.max(box[1][0], c[0]), Math.max(box[1][1], c[1])];
      } else {
        c.forEach(walk);
      }
    };
    walk(geometry.coordinates);
    return box;
  }

  // The parcel with this key (ALKIS Flurstückskennzeichen; separators and the `_` padding
  // may be left out), shown on the map with its attributes.
  function findParcel(map, collection, key) {
    const compact = key.replace(/[\s\-\/.]/g, "");
    state.parcelKey = compact;
    const url = "/collections/" + encodeURIComponent(collection) +
      "/items?limit=1&flurstueckskennzeichen=" + encodeURIComponent(compact);
    return fetch(url)
      .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
      .then(({ ok, body }) => {
        if (!ok) {
          state.parcel = null;
          say(text.badKey + (body.detail || body.title || ""));
          return;
        }
        const hit = body.features[0];
        state.parcel = hit ? hit.id : null;
        map.getSource("found").setData(hit ? body : { type: "FeatureCollection", features: [] });
        if (!hit) {
          say(text.noParcel);
          return;
        }
        map.fitBounds(extent(hit.geometry), { padding: 80, maxZoom: 18, duration: 0 });
        details({ sourceLayer: text.parcelFound, properties: hit.properties });
      });
  }

  function metres(m) {
    return m < 1000 ? Math.round(m) + " m" : (m / 1000).toFixed(1).replace(".", lang === "de" ? "," : ".") + " km";
  }

  // The nearest AEDs to a point, nearest first, as a list and on the map; `fit` brings the
  // point and them into view (a search from the browser's location).
  function nearest(map, collection, lngLat, fit, into) {
    state.nearestPoint = [lngLat.lng, lngLat.lat];
    const url = "/collections/" + encodeURIComponent(collection) + "/nearest?limit=5&point=" +
      lngLat.lng.toFixed(6) + "," + lngLat.lat.toFixed(6);
    // On foot over the walking network where there is one (with the routes), else in a
    // straight line; a server without pgRouting says so and the straight line answers.
    const straight = () => fetch(url)
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error("nearest: " + r.status))));
    const asked = state.walking
      ? fetch(url + "&mode=walk&route=true").then((r) => (r.ok ? r.json() : straight()))
      : straight();
    return asked
      .then((found) => {
        const panel = into || document.getElementById("details");
        panel.replaceChildren();
        const heading = document.createElement(into ? "h3" : "h2");
        heading.textContent = text.found;
        const list = document.createElement("ol");
        list.id = "nearest";
        for (const f of found.features) {
          const p = f.properties;
          const item = document.createElement("li");
          item.dataset.id = String(f.id);
          item.dataset.distance = String(p.distance_m);
          const where = p.defibrillator_location || p["defibrillator:location"] || p.operator || p.name || "";
          const hours = p.open_now === true ? text.open : p.open_now === false ? text.closed : text.unknown;
          const far = p.walk_m !== undefined
            ? (p.reachable ? text.onFoot(p.walk_min, metres(p.walk_m)) : text.unreachable)
            : metres(p.distance_m);
          if (p.walk_m !== undefined) item.dataset.walk = String(p.walk_m);
          item.textContent = far + (where ? " – " + where : "") + " (" + hours + ")";
          list.appendChild(item);
        }
        panel.append(heading, found.features.length ? list : document.createTextNode(text.nothing));
        document.getElementById("details").hidden = false;
        map.getSource("nearest").setData(found);
        const routes = found.features.filter((f) => f.properties.route)
          .map((f) => ({ type: "Feature", geometry: f.properties.route, properties: {} }));
        map.getSource("routes").setData({ type: "FeatureCollection", features: routes });
        state.routes = routes.length;
        state.lastNearest = found;
        map.getSource("here").setData({ type: "Point", coordinates: [lngLat.lng, lngLat.lat] });
        if (fit && found.features.length) {
          const box = extent({ type: "MultiPoint", coordinates:
            found.features.map((f) => f.geometry.coordinates).concat([[lngLat.lng, lngLat.lat]]) });
          map.fitBounds(box, { padding: { top: 60, bottom: 60, left: 420, right: 60 }, maxZoom: 16, duration: 0 });
        }
        state.nearest = found.features.map((f) => f.id);
      });
  }

  // The roof under a point and its solar potential (every attribute the cadastre has).
  function roof(collection, lngLat, into) {
    state.roofPoint = [lngLat.lng, lngLat.lat];
    const url = "/collections/" + encodeURIComponent(collection) + "/at?limit=1&point=" +
      lngLat.lng.toFixed(7) + "," + lngLat.lat.toFixed(7);
    return fetch(url)
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error("at: " + r.status))))
      .then((found) => {
        const hit = found.features[0];
        state.roof = hit ? hit.id : null;
        if (hit) {
          details({ sourceLayer: text.roof, properties: hit.properties }, into);
        } else {
          const panel = into || document.getElementById("details");
          panel.textContent = text.noRoof;
          document.getElementById("details").hidden = false;
        }
      });
  }

  // The search field: an ARIA 1.2 combobox (list autocomplete). Suggestions come as one
  // types; arrow keys move through them, Enter takes one, Escape closes the list; a live
  // region says how many there are. A chosen address brings the nearest defibrillators and,
  // with a solar cadastre, the roof's potential, without a click on the map.
  function searchBox(map, aed, solar) {
    const form = document.createElement("form");
    form.id = "search";
    form.setAttribute("role", "search");
    const label = document.createElement("label");
    label.htmlFor = "search-input";
    label.textContent = text.find;
    const input = document.createElement("input");
    input.id = "search-input";
    input.type = "text";
    input.autocomplete = "off";
    input.spellcheck = false;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", "search-list");
    const list = document.createElement("ul");
    list.id = "search-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", text.searchList);
    list.hidden = true;
    const status = document.createElement("p");
    status.id = "search-status";
    status.className = "visually-hidden";
    status.setAttribute("aria-live", "polite");
    form.append(label, input, list, status);

    let hits = [];
    let active = -1;
    let asked = 0;
    let timer = null;
    const close = () => {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    };
    const mark = (i) => {
      active = i;
      [...list.children].forEach((li, j) => li.setAttribute("aria-selected", j === i ? "true" : "false"));
      if (i >= 0) input.setAttribute("aria-activedescendant", "search-option-" + i);
      else input.removeAttribute("aria-activedescendant");
    };
    const show = (features) => {
      hits = features;
      list.replaceChildren(...features.map((f, i) => {
        const li = document.createElement("li");
        li.id = "search-option-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.textContent = f.properties.label;
        // mousedown, not click: the input keeps its focus.
        li.addEventListener("mousedown", (e) => { e.preventDefault(); choose(i); });
        return li;
      }));
      list.hidden = features.length === 0;
      input.setAttribute("aria-expanded", features.length ? "true" : "false");
      status.textContent = features.length ? text.suggestions(features.length) : text.noHits;
      mark(-1);
    };
    const ask = () => {
      const q = input.value.trim();
      if (q.length < 2) { show([]); status.textContent = ""; return Promise.resolve(); }
      const n = ++asked;
      return json("/search?limit=8&q=" + encodeURIComponent(q))
        .then((found) => { if (n === asked) show(found.features); })
        .catch((err) => { state.error = String(err); });
    };
    const choose = (i) => {
      const hit = hits[i];
      if (!hit) return;
      close();
      const p = hit.properties;
      input.value = p.label;
      const [lng, lat] = hit.geometry.coordinates;
      const zoom = { address: 18, parcel: 17, street: 16, place: 14 }[p.kind] || 16;
      map.jumpTo({ center: [lng, lat], zoom });
      map.getSource("here").setData({ type: "Point", coordinates: [lng, lat] });
      state.found = p;
      const panel = document.getElementById("details");
      const heading = document.createElement("h2");
      heading.textContent = p.label;
      panel.replaceChildren(heading);
      panel.hidden = false;
      const at = { lng, lat };
      if (aed) {
        const box = document.createElement("div");
        panel.appendChild(box);
        nearest(map, aed.id, at, false, box).catch((err) => { state.error = String(err); });
      }
      if (solar && p.kind === "address") {
        const box = document.createElement("div");
        panel.appendChild(box);
        roof(solar.id, at, box).catch((err) => { state.error = String(err); });
      }
    };
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(ask, 150);
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        if (list.hidden && hits.length) { list.hidden = false; input.setAttribute("aria-expanded", "true"); }
        const step = e.key === "ArrowDown" ? 1 : -1;
        mark(hits.length ? (active + step + hits.length) % hits.length : -1);
      } else if (e.key === "Escape") {
        close();
      }
    });
    input.addEventListener("blur", () => setTimeout(close, 100));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      clearTimeout(timer);
      // Enter takes the marked suggestion, or the best one for what is typed now.
      if (active >= 0) choose(active);
      else ask().then(() => choose(0));
    });
    state.search = { ask, choose };
    return form;
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
      swatch.setAttribute("aria-hidden", "true");
      const coverage = state.coverage.includes(layer.id);
      swatch.style.background = coverage ? gapColor : palette[index % palette.length];
      const title = coverage ? text.gaps : state.titles[layer.id] || layer.id;
      label.append(check, swatch, document.createTextNode(" " + title));
      box.appendChild(label);
      if (coverage) box.appendChild(coverageLegend(layer.id));
    });
  }

  // What the coverage's colours mean; the threshold as the dataset's title gives it.
  function coverageLegend(id) {
    const list = document.createElement("ul");
    list.className = "legend-coverage";
    list.id = "legend-" + id;
    const threshold = (/(\d+(?:[.,]\d+)?) ?min/.exec(state.titles[id] || "") || [])[1];
    const rows = [[gapColor, text.gapNote(threshold ? threshold + " min" : "…")],
                  [reachColor, text.within], [gapColor, text.beyond], [noWalkColor, text.noWalk]];
    rows.forEach(([color, label], i) => {
      const item = document.createElement("li");
      const mark = document.createElement("span");
      mark.className = i === 0 ? "swatch" : "swatch dot";
      mark.style.background = color;
      mark.setAttribute("aria-hidden", "true");
      item.append(mark, document.createTextNode(" " + label));
      list.appendChild(item);
    });
    return list;
  }

  function details(feature, into) {
    const panel = into || document.getElementById("details");
    panel.replaceChildren();
    const heading = document.createElement("h2");
    heading.textContent = state.titles[feature.sourceLayer] || feature.sourceLayer;
    const table = document.createElement("table");
    for (const [key, value] of Object.entries(feature.properties)) {
      const row = table.insertRow();
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = key;
      row.appendChild(th);
      row.insertCell().textContent = value === null || value === undefined ? "–" : String(value);
    }
    panel.append(heading, table);
    document.getElementById("details").hidden = false;
  }

  state.titles = {};
  const json = (url) => fetch(url).then((r) => (r.ok ? r.json() : Promise.reject(new Error(url + ": " + r.status))));
  // With an OpenStreetMap dataset loaded, kreisgeo draws its own basemap under the county's
  // layers (the OSM dataset itself is that basemap, not one more overlay); an operator may
  // configure an external style instead (the server redirects to it).
  // Every page of the collections (a Land's portal has more than one).
  const allCollections = (url, before) => json(url).then((page) => {
    const collections = (before || []).concat(page.collections);
    const next = (page.links || []).find((l) => l.rel === "next");
    return next ? allCollections(next.href, collections) : { collections };
  });
  allCollections("/collections?limit=1000")
    .then((collections) => {
      const osm = collections.collections.some((c) => c.kind === "osm");
      const overlay = collections.collections.filter((c) => c.kind !== "osm").map((c) => c.id);
      const tilejson = !osm ? json("/tiles/WebMercatorQuad/tilejson")
        : overlay.length ? json("/tiles/WebMercatorQuad/tilejson?collections=" +
                                 overlay.map(encodeURIComponent).join(","))
        : Promise.resolve(null);
      const basemap = fetch("/basemap/style.json")
        .then((r) => (r.ok ? r.json() : null))
        .catch(() => null);
      return Promise.all([tilejson, collections, basemap]);
    })
    .then(([tilejson, collections, basemap]) => {
      const own = basemap && basemap.sources && basemap.sources.basemap;
      tilejson = tilejson || { tiles: [], vector_layers: [], bounds: own ? own.bounds : undefined,
                               minzoom: 0, maxzoom: 22 };
      // A collection loaded without a title of its own is named by its kind.
      for (const c of collections.collections) {
        state.titles[c.id] = c.title && c.title !== c.id ? c.title : (text.kinds[c.kind] || c.id);
      }
      const aed = collections.collections.find((c) => c.kind === "aed");
      const layers = basemap ? basemap.layers.slice()
        : [{ id: "background", type: "background", paint: { "background-color": "#f4f1ea" } }];
      state.coverage = collections.collections.filter((c) => c.kind === "coverage").map((c) => c.id);
      // The coverage lies under the county's other layers: its addresses must not hide a
      // defibrillator.
      tilejson.vector_layers.forEach((l) => {
        if (state.coverage.includes(l.id)) layers.push(...coverageLayers(l.id));
      });
      tilejson.vector_layers.forEach((l, i) => {
        if (!state.coverage.includes(l.id)) layers.push(...layersOf(l.id, i));
      });
      layers.push({ id: "found", type: "line", source: "found",
        paint: { "line-color": "#d00", "line-width": 3 } });
      layers.push({ id: "routes", type: "line", source: "routes",
        layout: { "line-join": "round", "line-cap": "round" },
        paint: { "line-color": "#c00", "line-width": 4, "line-opacity": 0.75 } });
      layers.push({ id: "here", type: "circle", source: "here",
        paint: { "circle-radius": 7, "circle-color": "#d00", "circle-stroke-color": "#fff",
                 "circle-stroke-width": 3 } });
      layers.push({ id: "nearest", type: "circle", source: "nearest",
        paint: { "circle-radius": 11, "circle-color": "rgba(0,0,0,0)",
                 "circle-stroke-color": "#d00", "circle-stroke-width": 3 } });
      state.layers = tilejson.vector_layers.map((l) => l.id);
      const empty = () => ({ type: "geojson", data: { type: "FeatureCollection", features: [] } });
      const sources = Object.assign({}, basemap ? basemap.sources : {}, {
        nearest: empty(), found: empty(), here: empty(), routes: empty() });
      state.walking = collections.collections.some((c) => c.kind === "osm");
      if (tilejson.tiles.length) {
        sources.kreisgeo = { type: "vector", tiles: tilejson.tiles, minzoom: tilejson.minzoom,
          maxzoom: tilejson.maxzoom, bounds: tilejson.bounds, attribution: tilejson.attribution };
      }
      const style = { version: 8, sources, layers };
      if (basemap) {
        for (const key of ["glyphs", "sprite", "center", "zoom"]) {
          if (basemap[key] !== undefined) style[key] = basemap[key];
        }
      }
      const map = new maplibregl.Map({
        container: "map",
        style,
        bounds: tilejson.bounds || undefined,
        fitBoundsOptions: { padding: 20 },
      });
      state.map = map;
      map.addControl(new maplibregl.NavigationControl());
      map.on("error", (e) => { state.error = String(e.error && e.error.message || e.error); });
      map.on("load", () => { state.ready = true; });
      let picking = false;
      let pickingRoof = false;
      const solar = collections.collections.find((c) => c.kind === "solar");
      if (solar) {
        const button = document.createElement("button");
        button.id = "my-roof";
        button.type = "button";
        button.textContent = text.roof;
        button.addEventListener("click", () => {
          pickingRoof = true;
          picking = false;
          const panel = document.getElementById("details");
          panel.textContent = text.pickRoof;
          panel.hidden = false;
        });
        document.getElementById("tools").appendChild(button);
      }
      if (aed) {
        const button = document.createElement("button");
        button.id = "find-nearest";
        button.type = "button";
        button.textContent = text.nearest;
        button.addEventListener("click", () => {
          picking = true;
          pickingRoof = false;
          const panel = document.getElementById("details");
          panel.textContent = text.pick;
          panel.hidden = false;
        });
        document.getElementById("tools").appendChild(button);
        const here = document.createElement("button");
        here.id = "nearest-here";
        here.type = "button";
        here.textContent = text.here;
        here.hidden = !navigator.geolocation;
        here.addEventListener("click", () => {
          picking = false;
          pickingRoof = false;
          say(text.locating);
          navigator.geolocation.getCurrentPosition(
            (position) => {
              const at = { lng: position.coords.longitude, lat: position.coords.latitude };
              nearest(map, aed.id, at, true).catch((err) => { state.error = String(err); });
            },
            (err) => say(text.noLocation + err.message),
            { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
          );
        });
        document.getElementById("tools").appendChild(here);
      }
      const parcels = collections.collections.find((c) => c.kind === "parcels");
      if (parcels) {
        const form = document.createElement("form");
        form.id = "parcel-search";
        form.setAttribute("role", "search");
        form.setAttribute("aria-label", text.parcel);
        const label = document.createElement("label");
        label.htmlFor = "parcel-key";
        label.textContent = text.parcelKey;
        const input = document.createElement("input");
        input.id = "parcel-key";
        input.name = "key";
        input.required = true;
        input.autocomplete = "off";
        input.placeholder = "05329001100085";
        const submit = document.createElement("button");
        submit.type = "submit";
        submit.textContent = text.search;
        form.append(label, input, submit);
        form.addEventListener("submit", (e) => {
          e.preventDefault();
          findParcel(map, parcels.id, input.value).catch((err) => { state.error = String(err); });
        });
        document.getElementById("tools").appendChild(form);
      }
      const searchable = collections.collections.some((c) => ["addresses", "osm", "parcels"].includes(c.kind));
      if (searchable) {
        document.getElementById("tools").prepend(searchBox(map, aed, solar));
      }
      // Without a mouse: Enter on the focused map picks its centre.
      map.getCanvas().addEventListener("keydown", (e) => {
        if (e.key !== "Enter" || !(picking || pickingRoof)) return;
        e.preventDefault();
        const centre = map.getCenter();
        if (pickingRoof) {
          pickingRoof = false;
          roof(solar.id, centre).catch((err) => { state.error = String(err); });
        } else {
          picking = false;
          nearest(map, aed.id, centre).catch((err) => { state.error = String(err); });
        }
      });
      map.on("click", (e) => {
        if (pickingRoof) {
          pickingRoof = false;
          roof(solar.id, e.lngLat).catch((err) => { state.error = String(err); });
          return;
        }
        if (picking) {
          picking = false;
          nearest(map, aed.id, e.lngLat).catch((err) => { state.error = String(err); });
          return;
        }
        // A point drawn over a roof or parcel is what the click meant.
        const hits = map.queryRenderedFeatures(e.point).filter((f) => f.source === "kreisgeo");
        const hit = hits.find((f) => f.geometry.type === "Point") || hits[0];
        if (hit) details(hit);
      });
      legend(map, tilejson);
    })
    .catch((e) => {
      state.error = String(e);
      document.getElementById("map").textContent = text.none;
    });
})();
