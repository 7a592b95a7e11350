//! The portal in a real browser: Debian's Chromium, headless, driven over WebDriver
//! (chromedriver) against a running kreisgeo with fixtures. The citizen map: what the rendered
//! map holds (MapLibre's rendered features from kreisgeo's tiles), not only that the page
//! loaded; clicks, the nearest defibrillators from a click and from the browser's location, a
//! roof, a parcel by its key. The HTML pages: paging through a collection, the language switch,
//! the keyboard, and axe-core's WCAG 2.1 AA rules on every page. Screenshots go to
//! target/screenshots. `scripts/install-deps.sh --test` installs chromium, chromium-driver and
//! (with npm) axe-core.

// Tests stop at the first surprise, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/portal.rs"]
mod portal;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use portal::{fixture, manifest, Portal};
use serde_json::{json, Value as Json};

/// chromedriver on a free port, stopped however the test ends.
struct Driver {
    child: Child,
    base: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn start() -> Self {
        let binary = ["chromedriver", "/usr/bin/chromedriver"]
            .into_iter()
            .find(|b| Command::new(b).arg("--version").output().is_ok())
            .expect("chromedriver is missing: run scripts/install-deps.sh --test");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Json>) -> Json {
        let url = format!("{}{path}", self.base);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let mut resp = match (method, body) {
            ("POST", Some(b)) => agent.post(&url).send_json(b),
            ("DELETE", _) => agent.delete(&url).call(),
            _ => agent.get(&url).call(),
        }
        .expect("WebDriver answer");
        let status = resp.status().as_u16();
        let value: Json = resp.body_mut().read_json().unwrap_or(Json::Null);
        assert!(status == 200, "WebDriver {method} {path}: {status} {value}");
        value["value"].clone()
    }
}

/// A browser session, closed however the test ends.
struct Session<'a> {
    driver: &'a Driver,
    id: String,
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = self
            .driver
            .call("DELETE", &format!("/session/{}", self.id), None);
    }
}

impl<'a> Session<'a> {
    fn open(driver: &'a Driver) -> Self {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("chromium is missing: run scripts/install-deps.sh --test");
        let value = driver.call(
            "POST",
            "/session",
            Some(
                json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
                    "binary": chromium,
                // A German browser: the page follows its Accept-Language.
                "prefs": {"intl.accept_languages": "de-DE,de"},
                    // Software WebGL (SwiftShader): CI machines have no GPU.
                    "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                             "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                             "--window-size=1200,900", "--lang=de-DE"]
                }}}}),
            ),
        );
        Self {
            driver,
            id: value["sessionId"].as_str().expect("session id").to_string(),
        }
    }

    fn post(&self, what: &str, body: Json) -> Json {
        self.driver
            .call("POST", &format!("/session/{}/{what}", self.id), Some(body))
    }

    fn go(&self, url: &str) {
        self.post("url", json!({ "url": url }));
    }

    fn eval(&self, script: &str) -> Json {
        self.post("execute/sync", json!({ "script": script, "args": [] }))
    }

    /// Evaluates `script` until it returns something truthy, or fails after `seconds`.
    fn wait_for(&self, script: &str, seconds: u64, what: &str) -> Json {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let v = self.eval(script);
            if !(v.is_null() || v == json!(false) || v == json!(0)) {
                return v;
            }
            let state = self.eval("return JSON.stringify({ready: window.kreisgeo && kreisgeo.ready, error: window.kreisgeo && kreisgeo.error})");
            assert!(Instant::now() < deadline, "{what}: {state}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The WebDriver id of the first element matching `css`.
    fn element(&self, css: &str) -> String {
        let found = self.post("element", json!({"using": "css selector", "value": css}));
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Json::as_str)
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }

    /// A real mouse click at (x, y) of the map's canvas (CSS pixels from its top left).
    fn click_map(&self, x: i64, y: i64) {
        let canvas = self.element("canvas.maplibregl-canvas");
        let size = self.eval("const r = document.querySelector('canvas.maplibregl-canvas').getBoundingClientRect(); return [r.width, r.height]");
        let (w, h) = (
            size[0].as_f64().expect("width"),
            size[1].as_f64().expect("height"),
        );
        // Pointer offsets are from the element's centre.
        self.post(
            "actions",
            json!({"actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
                "actions": [
                    {"type": "pointerMove", "duration": 0,
                     "origin": {"element-6066-11e4-a52e-4f735466cecf": canvas},
                     "x": x - (w / 2.0) as i64, "y": y - (h / 2.0) as i64},
                    {"type": "pointerDown", "button": 0},
                    {"type": "pointerUp", "button": 0}
                ]}]}),
        );
    }

    /// Presses keys (WebDriver key codes, e.g. `\u{E004}` Tab) on whatever has the focus.
    fn keys(&self, keys: &[&str]) {
        let mut actions = Vec::new();
        for k in keys {
            actions.push(json!({"type": "keyDown", "value": k}));
            actions.push(json!({"type": "keyUp", "value": k}));
        }
        self.post(
            "actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        );
    }

    /// A Chrome DevTools Protocol command (chromedriver's extension), e.g. to set the location.
    fn cdp(&self, cmd: &str, params: Json) -> Json {
        self.post("goog/cdp/execute", json!({ "cmd": cmd, "params": params }))
    }

    /// The WCAG 2.0/2.1 A and AA violations axe-core finds on the current page, as
    /// `rule: element…` lines.
    fn accessibility_violations(&self) -> Vec<String> {
        let axe = std::fs::read_to_string(manifest().join("web/node_modules/axe-core/axe.min.js"))
            .expect(
                "axe-core is missing: run scripts/install-deps.sh --test (npm ci --prefix web)",
            );
        self.eval(&format!("{axe}\n;return true"));
        let result = self.post(
            "execute/async",
            json!({"script": "const done = arguments[arguments.length - 1]; \
                axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}) \
                  .then(r => done(r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', ')))) \
                  .catch(e => done(['axe failed: ' + e]));", "args": []}),
        );
        result
            .as_array()
            .expect("violations")
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect()
    }

    fn screenshot(&self, name: &str) {
        let png = self
            .driver
            .call("GET", &format!("/session/{}/screenshot", self.id), None);
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("base64"))
            .expect("a PNG in base64");
        let dir = manifest().join("target/screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(name), bytes).expect("screenshot");
    }
}

/// The first feature of `collection`, as the API serves it.
fn first_feature(portal: &Portal, collection: &str) -> Json {
    let page: Json = ureq::get(&portal.url(&format!("/collections/{collection}/items?limit=1")))
        .call()
        .unwrap_or_else(|e| panic!("{collection}: {e}"))
        .body_mut()
        .read_json()
        .expect("GeoJSON");
    page["features"][0].clone()
}

/// The ids of the five AEDs nearest to `point` ([lon, lat]), as the API answers.
fn api_nearest(portal: &Portal, point: &Json) -> Json {
    let api: Json = ureq::get(&portal.url(&format!(
        "/collections/aed/nearest?limit=5&point={:.6},{:.6}",
        point[0].as_f64().expect("lon"),
        point[1].as_f64().expect("lat")
    )))
    .call()
    .expect("nearest")
    .body_mut()
    .read_json()
    .expect("GeoJSON");
    api["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["id"].clone())
        .collect()
}

/// A running portal with the generated AEDs and parcels of Lüneburg and the solar cadastre
/// kreisgeo computes from a real LoD2 tile of Wesel (`solar compute`, a coarse grid).
fn portal_with_fixtures(name: &str) -> Portal {
    let mut portal = Portal::start(name);
    portal.ingest("generated/aed_lueneburg_200_25832.geojson", "aed", "aed");
    portal.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        "parcels",
    );
    let shared = manifest().join("../shared/data");
    let tile = shared.join("lod2/LoD2_32_337_5723_1_NW.gml");
    let weather = shared.join("weather/tmy_52.496_13.414_2005_2020.csv");
    portal.ok(&[
        "ingest",
        tile.to_str().expect("path"),
        "--dataset",
        "daecher",
        "--kind",
        "roofs",
    ]);
    portal.ok(&[
        "solar",
        "compute",
        "--roofs",
        "daecher",
        "--weather",
        weather.to_str().expect("path"),
        "--dataset",
        "roofs",
        "--grid",
        "3",
    ]);
    portal.serve(&[]);
    portal
}

/// A computed roof whose vertices' mean lies inside it (where a click finds it), and that
/// point: the largest such roof.
fn a_roof_and_a_point_on_it(portal: &Portal) -> (Json, f64, f64) {
    let page: Json = ureq::get(&portal.url("/collections/roofs/items?limit=20&sortby=-area_m2"))
        .call()
        .expect("roofs")
        .body_mut()
        .read_json()
        .expect("GeoJSON");
    for roof in page["features"].as_array().expect("features") {
        let ring: Vec<(f64, f64)> = roof["geometry"]["coordinates"][0]
            .as_array()
            .expect("ring")
            .iter()
            .map(|p| (p[0].as_f64().expect("x"), p[1].as_f64().expect("y")))
            .collect();
        let n = (ring.len() - 1) as f64;
        let (x, y) = ring[..ring.len() - 1]
            .iter()
            .fold((0.0, 0.0), |(sx, sy), (px, py)| (sx + px / n, sy + py / n));
        // Even-odd rule.
        let inside = ring.windows(2).fold(false, |inside, w| {
            let ((x0, y0), (x1, y1)) = (w[0], w[1]);
            if (y0 > y) != (y1 > y) && x < x0 + (y - y0) / (y1 - y0) * (x1 - x0) {
                !inside
            } else {
                inside
            }
        });
        if inside {
            return (roof.clone(), x, y);
        }
    }
    panic!("no roof contains its vertices' mean: {page}");
}

#[test]
fn the_citizen_map_renders_kreisgeo_tiles_and_shows_a_clicked_feature() {
    let portal = portal_with_fixtures("browser-map");
    let driver = Driver::start();
    let session = Session::open(&driver);
    session.go(&portal.url("/map"));

    // MapLibre loaded the style from kreisgeo's TileJSON and drew features of its tiles.
    session.wait_for(
        "return window.kreisgeo && kreisgeo.ready && kreisgeo.map.areTilesLoaded()",
        60,
        "the map did not load its tiles",
    );
    let rendered = session.wait_for(
        "const f = kreisgeo.map.queryRenderedFeatures(); \
         return f.length ? [f.length, [...new Set(f.map(x => x.sourceLayer))].sort()] : null",
        60,
        "no feature was rendered",
    );
    let layers: Vec<&str> = rendered[1]
        .as_array()
        .expect("layers")
        .iter()
        .filter_map(Json::as_str)
        .collect();
    // County-wide, parcels are under a pixel and left out of the tiles; the AEDs show.
    assert!(layers.contains(&"aed"), "rendered layers: {layers:?}");
    assert!(rendered[0].as_u64().unwrap_or(0) >= 10, "{rendered}");
    session.screenshot("map.png");

    // Close to a parcel, parcels are drawn from the tiles too.
    let parcel = first_feature(&portal, "parcels");
    let corner = &parcel["geometry"]["coordinates"];
    let corner = if corner[0][0][0].is_array() {
        &corner[0][0][0]
    } else {
        &corner[0][0]
    };
    session.eval(&format!(
        "kreisgeo.map.jumpTo({{center: [{}, {}], zoom: 16}}); return true",
        corner[0], corner[1]
    ));
    session.wait_for(
        "return kreisgeo.map.getZoom() > 15 && kreisgeo.map.areTilesLoaded() && \
           kreisgeo.map.queryRenderedFeatures().some(f => f.sourceLayer === 'parcels')",
        60,
        "no parcel drawn at zoom 16 next to one",
    );
    session.screenshot("map-parcels.png");
    assert_eq!(session.eval("return document.documentElement.lang"), "de");

    // Zoomed in to where tiles carry attributes (zoom 12 on), a real click (WebDriver pointer
    // actions) on a rendered AED shows them.
    let aed = first_feature(&portal, "aed");
    let at = &aed["geometry"]["coordinates"];
    session.eval(&format!(
        "kreisgeo.map.jumpTo({{center: [{}, {}], zoom: 14}}); return true",
        at[0], at[1]
    ));
    session.wait_for(
        "return kreisgeo.map.getZoom() > 13 && kreisgeo.map.areTilesLoaded() && \
           kreisgeo.map.queryRenderedFeatures({layers: ['aed-point']}).length > 0",
        60,
        "no AED at zoom 14",
    );
    let target = session.eval(
        "const f = kreisgeo.map.queryRenderedFeatures({layers: ['aed-point']}) \
           .find(f => { const p = kreisgeo.map.project(f.geometry.coordinates); \
                        return p.x > 380 && p.y > 40 && p.x < 1150 && p.y < 850; }); \
         if (!f) return null; \
         const p = kreisgeo.map.project(f.geometry.coordinates); \
         return [Math.round(p.x), Math.round(p.y)];",
    );
    let (x, y) = (
        target[0]
            .as_i64()
            .expect("an AED on screen, clear of the panel"),
        target[1].as_i64().expect("y"),
    );
    session.click_map(x, y);
    let shown = session.wait_for(
        "const d = document.getElementById('details'); \
         return d && !d.hidden ? d.innerText : null",
        20,
        "a click on an AED showed nothing",
    );
    let shown = shown.as_str().unwrap_or_default();
    assert!(
        shown.contains("Defibrillatoren") && shown.contains("emergency"),
        "details shown: {shown}"
    );
    session.screenshot("map-details.png");

    // "Nearest defibrillator": a click on the map lists the nearest AEDs, nearest first,
    // exactly as the API answers for that point.
    let button = session.element("#find-nearest");
    session.post(&format!("element/{button}/click"), json!({}));
    session.click_map(700, 600);
    session.wait_for(
        "return document.querySelectorAll('#nearest li').length",
        20,
        "no nearest AEDs listed",
    );
    let listed = session.eval(
        "return [kreisgeo.nearestPoint, kreisgeo.nearest, \
           Array.from(document.querySelectorAll('#nearest li'), li => Number(li.dataset.distance)), \
           document.getElementById('nearest').innerText]",
    );
    let distances: Vec<f64> = listed[2]
        .as_array()
        .expect("distances")
        .iter()
        .filter_map(Json::as_f64)
        .collect();
    assert_eq!(distances.len(), 5, "{listed}");
    assert!(
        distances.windows(2).all(|w| w[0] <= w[1]),
        "not nearest first: {distances:?}"
    );
    assert_eq!(
        listed[1],
        api_nearest(&portal, &listed[0]),
        "the list is the API's answer"
    );
    let text = listed[3].as_str().unwrap_or_default();
    assert!(
        text.contains(" m") || text.contains(" km"),
        "distances are shown: {text}"
    );
    session.screenshot("map-nearest.png");

    // "My roof": a click on a roof shows its solar potential, the roof the API finds there.
    let (roof, lon, lat) = a_roof_and_a_point_on_it(&portal);
    session.eval(&format!(
        "kreisgeo.map.jumpTo({{center: [{lon}, {lat}], zoom: 19}}); return true"
    ));
    session.wait_for(
        "return kreisgeo.map.getZoom() > 18 && kreisgeo.map.areTilesLoaded()",
        60,
        "the map did not zoom to the roof",
    );
    let button = session.element("#my-roof");
    session.post(&format!("element/{button}/click"), json!({}));
    let centre = session.eval(
        "const c = kreisgeo.map.getCanvas().getBoundingClientRect(); \
         return [Math.round(c.width / 2), Math.round(c.height / 2)]",
    );
    session.click_map(
        centre[0].as_i64().expect("x"),
        centre[1].as_i64().expect("y"),
    );
    let shown = session.wait_for(
        "return kreisgeo.roof !== undefined && document.getElementById('details').innerText",
        20,
        "no solar potential shown",
    );
    let shown = shown.as_str().unwrap_or_default();
    assert!(
        shown.contains("kwp") && shown.contains("yield_kwh_a"),
        "solar potential shown: {shown}"
    );
    assert_eq!(
        session.eval("return kreisgeo.roof"),
        roof["id"],
        "the roof the API has under that point"
    );
    session.screenshot("map-roof.png");

    // The same without a mouse: the button by keyboard, then Enter on the focused map picks
    // its centre.
    session.eval(
        "kreisgeo.nearest = null; document.getElementById('find-nearest').focus(); return true",
    );
    session.keys(&["\u{E007}"]);
    session.eval("kreisgeo.map.getCanvas().focus(); return true");
    session.keys(&["\u{E007}"]);
    let listed = session.wait_for(
        "return kreisgeo.nearest && [kreisgeo.nearestPoint, kreisgeo.nearest, \
           kreisgeo.map.getCenter().toArray()]",
        20,
        "Enter on the map listed nothing",
    );
    for i in 0..2 {
        let (picked, centre) = (listed[0][i].as_f64(), listed[2][i].as_f64());
        assert!(
            (picked.expect("picked") - centre.expect("centre")).abs() < 1e-6,
            "the map's centre was searched: {listed}"
        );
    }
    assert_eq!(
        listed[1],
        api_nearest(&portal, &listed[0]),
        "the API's answer"
    );

    // "Near my location": the browser's location (set over the DevTools protocol, as a phone's
    // GPS would) gives the nearest AEDs, the API's answer for that point.
    let somewhere = &first_feature(&portal, "aed")["geometry"]["coordinates"];
    let (lon, lat) = (
        somewhere[0].as_f64().expect("lon") + 0.004,
        somewhere[1].as_f64().expect("lat") - 0.003,
    );
    session.cdp(
        "Browser.grantPermissions",
        json!({"permissions": ["geolocation"], "origin": portal.url("")}),
    );
    session.cdp(
        "Emulation.setGeolocationOverride",
        json!({"latitude": lat, "longitude": lon, "accuracy": 10}),
    );
    session.eval("kreisgeo.nearest = null; return true");
    let button = session.element("#nearest-here");
    session.post(&format!("element/{button}/click"), json!({}));
    let listed = session.wait_for(
        "return kreisgeo.nearest && [kreisgeo.nearestPoint, kreisgeo.nearest]",
        30,
        "nothing listed for the browser's location",
    );
    let at = &listed[0];
    assert!(
        (at[0].as_f64().expect("lon") - lon).abs() < 1e-6
            && (at[1].as_f64().expect("lat") - lat).abs() < 1e-6,
        "searched at the browser's location: {at}"
    );
    assert_eq!(listed[1], api_nearest(&portal, at), "the API's answer");
    session.wait_for(
        "return kreisgeo.map.areTilesLoaded() && kreisgeo.map.loaded()",
        30,
        "the map around the browser's location",
    );
    session.screenshot("map-nearest-here.png");

    // A parcel by its key, typed as people write it (without the `_` padding, with
    // separators): the map shows that parcel and its attributes.
    let parcel = first_feature(&portal, "parcels");
    let key = parcel["properties"]["flurstueckskennzeichen"]
        .as_str()
        .expect("key")
        .trim_end_matches('_')
        .to_string();
    let typed = format!("{}-{}-{}", &key[..6], &key[6..9], &key[9..]);
    let input = session.element("#parcel-key");
    session.post(&format!("element/{input}/value"), json!({ "text": typed }));
    session.keys(&["\u{E007}"]);
    let found = session.wait_for(
        "return kreisgeo.parcel !== undefined && kreisgeo.map.areTilesLoaded() && \
           [kreisgeo.parcel, document.getElementById('details').innerText, kreisgeo.map.getZoom()]",
        30,
        "the parcel search found nothing",
    );
    assert_eq!(found[0], parcel["id"], "the parcel with that key");
    assert!(
        found[1].as_str().unwrap_or_default().contains(&key),
        "its attributes are shown: {found}"
    );
    assert!(
        found[2].as_f64().unwrap_or(0.0) > 14.0,
        "zoomed to it: {found}"
    );
    session.screenshot("map-parcel.png");
    session.eval("document.getElementById('parcel-key').value = ''; return true");
    session.post(
        &format!("element/{input}/value"),
        json!({ "text": "99999999999999" }),
    );
    session.keys(&["\u{E007}"]);
    session.wait_for(
        "return kreisgeo.parcel === null && document.getElementById('details').innerText",
        20,
        "no answer to an unknown key",
    );

    // The map page follows WCAG 2.1 AA as far as axe-core can tell.
    let violations = session.accessibility_violations();
    assert!(violations.is_empty(), "axe-core on /map: {violations:#?}");

    // The layer switcher hides a layer from the rendered map.
    session.eval("document.getElementById('layer-aed').click(); return true");
    session.wait_for(
        "return !kreisgeo.map.queryRenderedFeatures().some(f => f.sourceLayer === 'aed')",
        20,
        "the AEDs stayed on the map after switching them off",
    );

    // English on request, and no request left the machine (no CDN).
    session.go(&portal.url("/map?lang=en"));
    session.wait_for(
        "return window.kreisgeo && kreisgeo.ready",
        60,
        "English map",
    );
    assert_eq!(session.eval("return document.documentElement.lang"), "en");
    let foreign = session.eval(
        "return performance.getEntriesByType('resource').map(e => e.name) \
           .filter(n => !n.startsWith(location.origin))",
    );
    assert_eq!(foreign, json!([]), "requests to other hosts");
}

impl Session<'_> {
    /// Clicks the first element matching `css` and waits for the page it leads to.
    fn click(&self, css: &str) {
        let element = self.element(css);
        self.post(&format!("element/{element}/click"), json!({}));
        self.wait_for(
            "return document.readyState === 'complete'",
            20,
            &format!("the page after clicking {css}"),
        );
    }

    fn text(&self, css: &str) -> String {
        self.eval(&format!(
            "const e = document.querySelector({}); return e ? e.innerText : ''",
            json!(css)
        ))
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Asserts that axe-core finds no WCAG 2.1 A/AA violation on the current page.
    fn assert_accessible(&self, what: &str) {
        let violations = self.accessibility_violations();
        assert!(violations.is_empty(), "axe-core on {what}: {violations:#?}");
    }
}

#[test]
fn html_pages_page_through_a_collection_in_both_languages_with_the_keyboard() {
    let portal = portal_with_fixtures("browser-html");
    let driver = Driver::start();
    let session = Session::open(&driver);

    // A German browser on the landing page gets German HTML.
    session.go(&portal.url("/"));
    assert_eq!(session.eval("return document.documentElement.lang"), "de");
    assert_eq!(
        session.eval("return document.querySelectorAll('h1').length"),
        1
    );
    session.assert_accessible("the landing page");
    // The check bites: an image without a text alternative is a violation.
    session.eval("document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=\"/x.png\">'); return true");
    let found = session.accessibility_violations();
    assert!(
        found.iter().any(|v| v.starts_with("image-alt")),
        "axe-core missed an image without alt: {found:?}"
    );

    // The legal pages, by the footer's links: each one accessible; Leichte Sprache in German.
    for (link, what) in [
        ("/impressum", "the Impressum"),
        ("/datenschutz", "the privacy statement"),
        ("/barrierefreiheit", "the accessibility statement"),
        ("/leichte-sprache", "Leichte Sprache"),
    ] {
        session.go(&portal.url("/"));
        session.click(&format!("footer a[href^='{link}']"));
        assert_eq!(
            session.eval("return location.pathname"),
            link,
            "the footer link to {what}"
        );
        assert_eq!(
            session.eval("return document.querySelectorAll('h1').length"),
            1
        );
        session.assert_accessible(what);
    }
    assert_eq!(session.eval("return document.documentElement.lang"), "de");
    session.go(&portal.url("/barrierefreiheit?lang=en"));
    session.assert_accessible("the English accessibility statement");
    session.go(&portal.url("/"));

    // The keyboard: the first Tab reaches the skip link, Enter moves on to the content.
    session.keys(&["\u{E004}"]);
    assert_eq!(
        session.eval("return document.activeElement.className"),
        "skip",
        "the first Tab stop is the skip link"
    );
    session.keys(&["\u{E007}"]);
    session.wait_for(
        "return document.activeElement.id === 'main'",
        10,
        "Enter on the skip link did not move the focus to the content",
    );

    // From the landing page through the collections to the AEDs' features, by their links.
    session.click("header nav a[href^='/collections']");
    assert!(session.text("h1").contains("Datensätze"));
    session.assert_accessible("the collections");
    session.click("main table a[href^='/collections/aed?']");
    session.assert_accessible("a collection");
    session.click("main a[href^='/collections/aed/items?']");
    session.wait_for(
        "return window.kreisgeo && kreisgeo.ready",
        60,
        "the items page's map",
    );
    let rows = session.eval("return document.querySelectorAll('main tbody tr').length");
    assert_eq!(rows, 10, "the default page size");
    assert_eq!(
        session.eval("return kreisgeo.features"),
        10,
        "the map shows the page"
    );
    session.wait_for(
        "return kreisgeo.map.loaded() && \
           kreisgeo.map.queryRenderedFeatures({layers: ['point']}).length > 0",
        30,
        "no feature drawn on the items page's map",
    );
    session.assert_accessible("a page of features");
    session.screenshot("html-items.png");

    // Paging through the whole collection by the pages' own "next" links: every AED once, in
    // id order, as many as the API counts.
    session.go(&portal.url("/collections/aed/items?f=html&limit=60"));
    let mut ids: Vec<i64> = Vec::new();
    let mut pages = 0;
    loop {
        pages += 1;
        let page: Vec<i64> = session
            .eval("return Array.from(document.querySelectorAll('main tbody tr td:first-child'), td => Number(td.innerText))")
            .as_array()
            .expect("ids")
            .iter()
            .filter_map(Json::as_i64)
            .collect();
        assert!(!page.is_empty(), "page {pages} is empty");
        ids.extend(page);
        if session.eval("return document.querySelector('a[rel=next]') !== null") != json!(true) {
            break;
        }
        if pages == 2 {
            assert!(
                session.eval("return document.querySelector('a[rel=first]') !== null")
                    == json!(true),
                "a later page links back to the first"
            );
        }
        session.click("a[rel=next]");
    }
    let matched: Json = ureq::get(&portal.url("/collections/aed/items?limit=1"))
        .call()
        .expect("items")
        .body_mut()
        .read_json()
        .expect("GeoJSON");
    assert_eq!(pages, 4, "200 AEDs in pages of 60");
    assert_eq!(
        ids.len() as i64,
        matched["numberMatched"].as_i64().expect("count")
    );
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "each once, in order");

    // The language switch: the same page in English, and English stays on through the links.
    session.go(&portal.url("/collections/aed/items?f=html&limit=60"));
    session.click("header a.lang");
    assert_eq!(session.eval("return document.documentElement.lang"), "en");
    assert!(
        session.text("h1").contains("Features"),
        "{}",
        session.text("h1")
    );
    assert_eq!(session.text("a[rel=next]"), "Next page");
    session.click("a[rel=next]");
    assert_eq!(session.eval("return document.documentElement.lang"), "en");
    session.assert_accessible("an English page of features");

    // One feature: its attributes and a map of it.
    session.click("main tbody tr a");
    session.wait_for(
        "return window.kreisgeo && kreisgeo.ready && kreisgeo.features === 1",
        60,
        "the feature page's map",
    );
    assert!(session.text("main table caption").contains("Properties"));
    assert_eq!(session.eval("return document.documentElement.lang"), "en");
    session.assert_accessible("a feature");
    session.screenshot("html-feature.png");

    // The dataset's metadata, its downloads and its tilesets as pages too.
    session.go(&portal.url("/catalog/datasets/aed"));
    assert_eq!(
        session.eval("return document.contentType"),
        "text/html",
        "a browser gets the metadata as a page"
    );
    assert!(
        session.text("main").contains("Lizenz"),
        "{}",
        session.text("main")
    );
    session.assert_accessible("the dataset metadata");
    session.screenshot("html-metadata.png");
    for path in [
        "/collections/aed/downloads",
        "/collections/aed/tiles",
        "/collections/aed/tiles/WebMercatorQuad",
        "/tileMatrixSets",
        "/tileMatrixSets/AdV_25832",
        "/collections/aed/queryables",
        "/conformance",
    ] {
        session.go(&portal.url(path));
        assert_eq!(
            session.eval("return document.contentType"),
            "text/html",
            "{path}"
        );
        session.assert_accessible(path);
    }

    // On a phone: nothing wider than the screen but the tables, which scroll by themselves.
    session.post("window/rect", json!({"width": 390, "height": 844}));
    session.go(&portal.url("/collections/aed/items?f=html&limit=5"));
    let overflow = session
        .eval("return document.documentElement.scrollWidth - document.documentElement.clientWidth");
    assert!(
        overflow.as_i64().unwrap_or(1) <= 0,
        "the page scrolls sideways on a phone: {overflow}"
    );
    session.screenshot("html-items-phone.png");
}

/// Lauf a.d. Pegnitz: the OSM extract as basemap, its one defibrillator (OSM gives it no
/// hours; here it is taken as accessible around the clock, so that the coverage has addresses
/// within reach) and the coverage of its addresses by it.
fn portal_with_basemap(name: &str) -> Portal {
    let mut portal = Portal::start(name);
    portal.ingest("osm/lauf-an-der-pegnitz_2020-01-15.osm.pbf", "osm", "osm");
    let mut aed: Json = serde_json::from_str(
        &std::fs::read_to_string(fixture("osm/lauf_aed.geojson")).expect("fixture"),
    )
    .expect("GeoJSON");
    aed["features"][0]["properties"]["opening_hours"] = json!("24/7");
    let file = std::env::temp_dir().join(format!("{name}-aed-{}.geojson", std::process::id()));
    std::fs::write(&file, aed.to_string()).expect("AED file");
    portal.ok(&[
        "ingest",
        file.to_str().unwrap(),
        "--dataset",
        "aed",
        "--kind",
        "aed",
    ]);
    portal.ok(&[
        "aed",
        "coverage",
        "--aed",
        "aed",
        "--network",
        "osm",
        "--at",
        "2026-12-07T10:00",
    ]);
    portal.serve(&[]);
    portal
}

#[test]
fn the_basemap_draws_lauf_and_a_misspelt_address_finds_its_nearest_defibrillator_on_foot() {
    let portal = portal_with_basemap("browser-basemap");
    let driver = Driver::start();
    let session = Session::open(&driver);
    session.go(&portal.url("/map"));
    session.wait_for(
        "return window.kreisgeo && kreisgeo.ready && !!kreisgeo.map.getStyle().sources.basemap",
        60,
        "the map did not load kreisgeo's basemap",
    );

    // Zoom 15 over the old town: roads, buildings and street names drawn from the basemap's
    // tiles, with glyphs from kreisgeo.
    session.eval("kreisgeo.map.jumpTo({center: [11.2786, 49.5103], zoom: 15}); return true");
    let drawn = session.wait_for(
        "if (!kreisgeo.map.areTilesLoaded()) return null; \
         const f = kreisgeo.map.queryRenderedFeatures().filter(x => x.source === 'basemap'); \
         const layers = [...new Set(f.map(x => x.sourceLayer))].sort(); \
         const labels = kreisgeo.map.queryRenderedFeatures({layers: ['road-label']}) \
           .map(x => x.properties.name); \
         return layers.includes('road') && layers.includes('building') && labels.length \
           ? [layers, labels] : null",
        60,
        "no roads, buildings and street labels at zoom 15",
    );
    assert!(
        drawn[0]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l == "landuse" || l == "water"),
        "{drawn}"
    );
    session.screenshot("map-basemap-lauf.png");

    // The coverage gaps of Lauf's one defibrillator, drawn and explained in the legend.
    let legend = session.eval("return document.getElementById('layers').textContent");
    let legend = legend.as_str().unwrap();
    assert!(
        legend.contains("Versorgungslücken") && legend.contains("über 4 min"),
        "{legend}"
    );
    session.eval("kreisgeo.map.jumpTo({center: [11.2786, 49.5103], zoom: 14}); return true");
    session.wait_for(
        "return kreisgeo.map.areTilesLoaded() && \
           kreisgeo.map.queryRenderedFeatures({layers: ['aed-coverage-fill']}).length > 0 && \
           kreisgeo.map.queryRenderedFeatures({layers: ['aed-coverage-point']}) \
             .some(f => f.properties.beyond_threshold === false)",
        60,
        "no coverage gaps and addresses drawn at zoom 14",
    );
    session.screenshot("map-coverage-lauf.png");

    // An address of Lauf as OSM has it, typed with a letter dropped.
    let address: Json = ureq::get(&portal.url(
        "/collections/osm/items?layer=address&limit=1&filter=street%20LIKE%20%27%25stra%C3%9Fe%27",
    ))
    .call()
    .expect("an address")
    .body_mut()
    .read_json()
    .expect("GeoJSON");
    let p = &address["features"][0]["properties"];
    let (street, number) = (
        p["street"].as_str().expect("street"),
        p["housenumber"].as_str().expect("number"),
    );
    let typed = format!("{}{} {number}", &street[..1], &street[2..]).replace("straße", "str");
    let input = session.element("#search-input");
    session.post(&format!("element/{input}/value"), json!({ "text": typed }));
    let options = session.wait_for(
        "const l = document.getElementById('search-list'); \
         return !l.hidden && l.children.length && \
           document.getElementById('search-input').getAttribute('aria-expanded') === 'true' \
           && [...l.children].map(li => li.textContent)",
        30,
        "no suggestions while typing",
    );
    assert!(
        options[0]
            .as_str()
            .unwrap()
            .starts_with(&format!("{street} {number}")),
        "{typed}: {options}"
    );
    // With the list open, the page still passes axe-core's WCAG 2.1 AA rules.
    let violations = session.accessibility_violations();
    assert!(
        violations.is_empty(),
        "axe-core on /map with suggestions: {violations:#?}"
    );
    // Keyboard only: down to the first suggestion, Enter.
    session.keys(&["\u{E015}"]);
    assert_eq!(
        session.eval(
            "return document.getElementById('search-input').getAttribute('aria-activedescendant')"
        ),
        "search-option-0"
    );
    session.keys(&["\u{E007}"]);
    let found = session.wait_for(
        "return kreisgeo.found && kreisgeo.nearest && document.querySelectorAll('#nearest li').length \
           && [kreisgeo.found, kreisgeo.nearestPoint, kreisgeo.nearest, kreisgeo.map.getZoom()]",
        30,
        "the chosen address did not bring the nearest defibrillators",
    );
    assert_eq!(found[0]["street"], street);
    assert_eq!(found[0]["housenumber"], number);
    assert_eq!(
        found[2],
        api_nearest(&portal, &found[1]),
        "the API's answer"
    );
    assert!(
        found[3].as_f64().unwrap() >= 17.0,
        "zoomed to the house: {found}"
    );
    // On foot, over the walking network, with the route drawn: the API's walking answer.
    let point = &found[1];
    let walk: Json = ureq::get(&portal.url(&format!(
        "/collections/aed/nearest?limit=5&mode=walk&point={:.6},{:.6}",
        point[0].as_f64().unwrap(),
        point[1].as_f64().unwrap()
    )))
    .call()
    .expect("walk")
    .body_mut()
    .read_json()
    .expect("GeoJSON");
    let listed = session.eval("return Number(document.querySelector('#nearest li').dataset.walk)");
    assert_eq!(
        listed.as_f64(),
        walk["features"][0]["properties"]["walk_m"].as_f64()
    );
    session.eval(&format!(
        "kreisgeo.map.jumpTo({{center: [{}, {}], zoom: 15}}); return true",
        point[0], point[1]
    ));
    assert_eq!(
        session.eval("return kreisgeo.routes"),
        1,
        "one route to the one AED: {}",
        session.eval("return kreisgeo.lastNearest")
    );
    session.wait_for(
        "return kreisgeo.map.queryRenderedFeatures({layers: ['routes']}).length > 0",
        60,
        "no walking route drawn",
    );
    session.screenshot("map-search-address.png");

    // Nothing came from anywhere but kreisgeo: tiles, glyphs, style.
    let foreign = session.eval(
        "return performance.getEntriesByType('resource').map(e => e.name) \
           .filter(n => !n.startsWith(location.origin))",
    );
    assert_eq!(foreign, json!([]), "requests to other hosts");
    let glyphs = session.eval(
        "return performance.getEntriesByType('resource').some(e => e.name.includes('/basemap/fonts/'))",
    );
    assert_eq!(glyphs, json!(true));
}
