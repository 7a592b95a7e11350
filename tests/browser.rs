//! The citizen map in a real browser: Debian's Chromium, headless, driven over WebDriver
//! (chromedriver) against a running kreisgeo with fixtures. Checks what the rendered map holds
//! (MapLibre's rendered features from kreisgeo's tiles), not only that the page loaded; a click
//! on a rendered feature shows its attributes. Screenshots go to target/screenshots.
//! `scripts/install-deps.sh --test` installs chromium and chromium-driver.

#[path = "support/portal.rs"]
mod portal;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use portal::{manifest, Portal};
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

#[test]
fn the_citizen_map_renders_kreisgeo_tiles_and_shows_a_clicked_feature() {
    let mut portal = Portal::start("browser");
    let fixture = |name: &str| manifest().join("fixtures").join(name).display().to_string();
    portal.ok(&[
        "ingest",
        &fixture("generated/aed_lueneburg_200_25832.geojson"),
        "--dataset",
        "aed",
        "--kind",
        "aed",
    ]);
    portal.ok(&[
        "ingest",
        &fixture("generated/parcels_lueneburg_1000_25832.fgb"),
        "--dataset",
        "parcels",
        "--kind",
        "parcels",
    ]);
    portal.ok(&[
        "ingest",
        &fixture("generated/solar_lueneburg_500_25832.geojson"),
        "--dataset",
        "roofs",
        "--kind",
        "solar",
    ]);
    portal.serve(&[]);
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
        shown.contains("aed") && shown.contains("emergency"),
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
    let point = &listed[0];
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
    let api_ids: Vec<Json> = api["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["id"].clone())
        .collect();
    assert_eq!(listed[1], json!(api_ids), "the list is the API's answer");
    let text = listed[3].as_str().unwrap_or_default();
    assert!(
        text.contains(" m") || text.contains(" km"),
        "distances are shown: {text}"
    );
    session.screenshot("map-nearest.png");

    // "My roof": a click on a roof shows its solar potential, the roof the API finds there.
    let roof = first_feature(&portal, "roofs");
    let ring = roof["geometry"]["coordinates"][0]
        .as_array()
        .expect("ring")
        .clone();
    let n = (ring.len() - 1) as f64;
    let (lon, lat) = ring[..ring.len() - 1].iter().fold((0.0, 0.0), |(x, y), p| {
        (
            x + p[0].as_f64().expect("x") / n,
            y + p[1].as_f64().expect("y") / n,
        )
    });
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
