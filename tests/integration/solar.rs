//! The solar model (issue 19) against an independent implementation: pvlib from PyPI
//! (`tests/support/solar_check.py`, run in `target/py-solar`, which `scripts/install-deps.sh
//! --test` installs) with the same typical years: the weather read, the in-plane irradiation
//! by Hay–Davies across tilts and orientations (within 2 %), and the specific yield with
//! Martin–Ruiz reflection, Faiman temperature and system losses (within 3 %).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

use crate::common::TestDb;
use kreisgeo::solar::irradiance::Plane;
use kreisgeo::solar::model::{Params, Sky};
use kreisgeo::solar::{locate, sun, weather};

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The three weather years of ../shared/data/weather.
fn weather_files() -> Vec<PathBuf> {
    let dir = manifest().join("../shared/data/weather");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (the shared data belongs beside the repository)",
                dir.display()
            )
        })
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "csv" || e == "json" || e == "dat")
        })
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "{}", dir.display());
    files
}

/// What pvlib says.
fn pvlib(args: &[&str]) -> Json {
    let python = manifest().join("target/py-solar/bin/python");
    let out = Command::new(&python)
        .arg(manifest().join("tests/support/solar_check.py"))
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run scripts/install-deps.sh --test)",
                python.display()
            )
        });
    assert!(
        out.status.success(),
        "solar_check.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from solar_check.py")
}

const TILTS: [f64; 5] = [0.0, 15.0, 30.0, 45.0, 60.0];
const AZIMUTHS: [f64; 5] = [90.0, 135.0, 180.0, 225.0, 270.0];

#[actix_web::test]
async fn in_plane_irradiation_and_yield_match_pvlib() {
    let db = TestDb::new().await;
    let planes: Vec<Plane> = TILTS
        .iter()
        .flat_map(|&tilt| AZIMUTHS.iter().map(move |&azimuth| Plane { tilt, azimuth }))
        .collect();
    let surfaces = planes
        .iter()
        .map(|p| format!("{},{}", p.tilt, p.azimuth))
        .collect::<Vec<_>>()
        .join(";");
    for file in weather_files() {
        let path = file.to_str().expect("utf-8 path");
        let w = weather::read(&file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w.hours.len(), 8760);
        let reference = pvlib(&["tmy", path]);
        let ghi: f64 = w.hours.iter().map(|h| h.ghi).sum::<f64>() / 1000.0;
        let want = reference["ghi_kwh_m2a"].as_f64().unwrap();
        assert!((ghi - want).abs() < 0.01, "{path}: GHI {ghi} vs {want}");
        let (lat, lon) = locate(&db.pool, &w).await.expect("site");
        assert!(
            (lat - reference["latitude"].as_f64().unwrap()).abs() < 1e-3,
            "{path}: {lat}"
        );
        assert!(
            (lon - reference["longitude"].as_f64().unwrap()).abs() < 1e-3,
            "{path}: {lon}"
        );
        let suns = sun::hourly(&w, lat, lon).expect("sun");
        let sky = Sky::new(&w, suns);
        let params = Params::default();
        let poa = pvlib(&["poa", path, "--surfaces", &surfaces]);
        let yields = pvlib(&["yield", path, "--surfaces", &surfaces]);
        let (mut worst_poa, mut worst_yield) = (0.0f64, 0.0f64);
        for (i, plane) in planes.iter().enumerate() {
            let year = sky.year(plane, &params, |_| 1.0);
            let want = poa["surfaces"][i]["poa_kwh_m2a"].as_f64().unwrap();
            worst_poa = worst_poa.max((year.irradiation - want).abs() / want);
            assert!(
                (year.irradiation - want).abs() / want < 0.02,
                "{path} {plane:?}: {} kWh/m² vs pvlib {want}",
                year.irradiation
            );
            let want = yields["surfaces"][i]["specific_yield_kwh_kwp"]
                .as_f64()
                .unwrap();
            worst_yield = worst_yield.max((year.specific_yield - want).abs() / want);
            assert!(
                (year.specific_yield - want).abs() / want < 0.03,
                "{path} {plane:?}: {} kWh/kWp vs pvlib {want}",
                year.specific_yield
            );
        }
        eprintln!(
            "{}: largest difference to pvlib over {} planes: irradiation {:.5} %, yield {:.5} %",
            w.source,
            planes.len(),
            worst_poa * 100.0,
            worst_yield * 100.0
        );
        if w.source == "PVGIS TMY (CSV)" {
            // Berlin: a 30° roof facing south lands near 1,160 kWh/kWp.
            let south = sky.year(
                &Plane {
                    tilt: 30.0,
                    azimuth: 180.0,
                },
                &params,
                |_| 1.0,
            );
            assert!(
                (south.specific_yield - 1160.0).abs() / 1160.0 < 0.03,
                "{south:?}"
            );
        }
    }
}

/// A rectangle at height `z` as a closed ring.
fn rect(x0: f64, y0: f64, x1: f64, y1: f64, z: f64) -> Vec<[f64; 3]> {
    vec![
        [x0, y0, z],
        [x1, y0, z],
        [x1, y1, z],
        [x0, y1, z],
        [x0, y0, z],
    ]
}

#[actix_web::test]
async fn a_wall_in_the_south_shades_a_roof_as_an_independent_ray_test_finds() {
    use kreisgeo::solar::roof::{potential, scene, RoofInput, Settings, SunBins};
    let db = TestDb::new().await;
    let berlin = manifest().join("../shared/data/weather/tmy_52.496_13.414_2005_2020.csv");
    let w = weather::read(&berlin).unwrap_or_else(|e| panic!("{e}"));
    let (lat, lon) = locate(&db.pool, &w).await.expect("site");
    let sky = Sky::new(&w, sun::hourly(&w, lat, lon).expect("sun"));
    let bins = SunBins::new(&sky);
    // The roof as it is, without racks or setback: the plane the reference computes.
    let settings = Settings {
        setback: 0.0,
        flat_below: 0.0,
        grid: 0.5,
        ..Settings::default()
    };
    let roof = RoofInput {
        building: "roof".into(),
        unit: "roof".into(),
        rings: vec![rect(-5.0, 10.0, 5.0, 20.0, 0.0)],
        measured_height: Some(0.0),
    };
    // A building 100 m long, 1 m deep and 20 m high whose north wall is 10 m south of the
    // roof: the scene of `solar_check.py shade`.
    let wall = RoofInput {
        building: "wall".into(),
        unit: "wall".into(),
        rings: vec![rect(-50.0, -1.0, 50.0, 0.0, 20.0)],
        measured_height: Some(20.0),
    };
    let reference = pvlib(&["shade", berlin.to_str().expect("path")]);
    let alone = potential(
        &roof.rings,
        &scene(std::slice::from_ref(&roof)),
        &sky,
        &bins,
        1.0,
        &settings,
    )
    .expect("roof alone");
    assert!(alone.shading_pct.abs() < 1e-9, "{alone:?}");
    let shaded = potential(
        &roof.rings,
        &scene(&[roof.clone(), wall]),
        &sky,
        &bins,
        1.0,
        &settings,
    )
    .expect("roof behind the wall");
    assert_eq!(reference["no_wall"]["total_loss_pct"].as_f64(), Some(0.0));
    let want = reference["with_wall"]["total_loss_pct"]
        .as_f64()
        .expect("total_loss_pct");
    eprintln!(
        "shading behind the wall: {:.2} %, reference {want:.2} %",
        shaded.shading_pct
    );
    assert!(
        (shaded.shading_pct - want).abs() < 2.0,
        "{:.2} % vs {want:.2} %",
        shaded.shading_pct
    );
}

#[actix_web::test]
async fn the_cadastre_of_a_lod2_tile_is_computed_served_and_honours_objections() {
    use kreisgeo::catalog::DatasetKind;
    use kreisgeo::ingest::IngestRequest;
    use kreisgeo::solar::compute::{compute, Request};
    use kreisgeo::solar::roof::Settings;
    let db = TestDb::new().await;
    // The smallest of the four Wesel tiles (about 80 buildings).
    let tile = manifest().join("../shared/data/lod2/LoD2_32_337_5723_1_NW.gml");
    let report = db
        .try_ingest(IngestRequest {
            kind: DatasetKind::Roofs,
            ..IngestRequest::new(&tile, "daecher")
        })
        .await
        .expect("roofs");
    let roofs = usize::try_from(report.features).expect("count");
    let table = db.table_of("daecher").await;
    let objecting: String = sqlx::query_scalar(&format!(
        "SELECT building_id FROM data.\"{table}\" GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    ))
    .fetch_one(&db.pool)
    .await
    .expect("a building");
    let its_roofs: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM data.\"{table}\" WHERE building_id = $1"
    ))
    .bind(&objecting)
    .fetch_one(&db.pool)
    .await
    .expect("count");
    let request = Request {
        roofs: "daecher".into(),
        weather: manifest().join("../shared/data/weather/TRY2015_514562070568_Jahr.dat"),
        dataset: "solar".into(),
        title: Some("Solarpotenzial Wesel".into()),
        opt_out: std::iter::once(objecting.clone()).collect(),
        parcels: None,
        // A coarser grid: the test runs unoptimised.
        settings: Settings {
            grid: 2.0,
            ..Settings::default()
        },
    };
    let out = compute(
        &db.pool,
        &request,
        std::sync::Arc::new(kreisgeo::ingest::NoProgress),
    )
    .await
    .expect("compute");
    assert_eq!(
        out.left_out_by_objection,
        usize::try_from(its_roofs).unwrap()
    );
    assert_eq!(out.buildings_objecting, 1);
    assert_eq!(out.roofs, roofs - out.left_out_by_objection);
    assert_eq!(out.ingest.features, out.roofs as u64);
    assert!(out.ingest.has_z, "the roof polygons keep their heights");
    assert_eq!(out.weather_source, "DWD TRY");
    assert!((out.latitude - 51.4562).abs() < 1e-3 && (out.longitude - 7.0568).abs() < 1e-3);

    let table = db.table_of("solar").await;
    let (left, classes, kinds): (i64, i64, String) = sqlx::query_as(&format!(
        "SELECT count(*) FILTER (WHERE building_id = $1), count(DISTINCT suitability), \
         (SELECT kind FROM catalog.datasets WHERE id = 'solar') FROM data.\"{table}\""
    ))
    .bind(&objecting)
    .fetch_one(&db.pool)
    .await
    .expect("result");
    assert_eq!(left, 0, "an objecting owner's roofs are nowhere");
    assert!(classes >= 3, "{classes} suitability classes");
    assert_eq!(kinds, "solar");
    // Every roof's figures hang together.
    let bad: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM data.\"{table}\" WHERE NOT (\
           shading_pct BETWEEN 0 AND 100 AND usable_area_m2 <= area_m2 + 0.01 \
           AND module_area_m2 <= usable_area_m2 + 0.01 \
           AND abs(kwp - module_area_m2 * 0.2) < 0.02 \
           AND abs(yield_kwh_a - kwp * specific_yield_kwh_kwp) \
               <= 1 + 0.005 * specific_yield_kwh_kwp + 0.05 * kwp \
           AND (suitability = 'nicht geeignet' OR module_area_m2 >= 10))"
    ))
    .fetch_one(&db.pool)
    .await
    .expect("checks");
    assert_eq!(bad, 0);

    // "My roof": the point of a roof asks /at and gets that roof's potential.
    let (roof_id, x, y): (String, f64, f64) = sqlx::query_as(&format!(
        "SELECT roof_id, ST_X(p), ST_Y(p) FROM (SELECT roof_id, \
           ST_Transform(ST_PointOnSurface(ST_Force2D(geom)), 4326) p FROM data.\"{table}\" \
           WHERE suitability = 'sehr gut' ORDER BY area_m2 DESC LIMIT 1) s"
    ))
    .fetch_one(&db.pool)
    .await
    .expect("a very good roof");
    let app = crate::common::app(&db).await;
    let at = crate::common::get_json(&app, &format!("/collections/solar/at?point={x},{y}")).await;
    let features = at["features"].as_array().expect("features");
    assert!(
        features
            .iter()
            .any(|f| f["properties"]["roof_id"] == roof_id.as_str()),
        "{at}"
    );
}
