//! kreisgeo's own basemap (issue 20): the style, tiles whose layers follow the zoom and stay
//! under 500 kB, the same buildings PostGIS finds in a tile, glyphs; 404 without an OSM
//! dataset; an external style with the pages' policy opened for its origin only.

use actix_web::test;
use geozero::mvt::{Message, Tile};
use serde_json::Value as Json;

use crate::common::{app, get, get_json, get_with_headers, TestDb};
use kreisgeo::api::state::{ApiConfig, AppState};
use kreisgeo::catalog::DatasetKind;
use kreisgeo::ingest::IngestRequest;

fn tile_of(lon: f64, lat: f64, z: u8) -> (u8, u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let y = ((1.0 - lat.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n) as u32;
    (z, y, x)
}

/// Lauf's old town.
const LAUF: (f64, f64) = (11.2786, 49.5103);

async fn with_osm() -> TestDb {
    let db = TestDb::new().await;
    db.try_ingest(IngestRequest {
        kind: DatasetKind::Osm,
        ..IngestRequest::new(
            crate::common::fixture("osm/lauf-an-der-pegnitz_2020-01-15.osm.pbf"),
            "osm",
        )
    })
    .await
    .expect("OSM");
    db
}

fn layers(tile: &Tile) -> Vec<&str> {
    tile.layers.iter().map(|l| l.name.as_str()).collect()
}

#[actix_web::test]
async fn the_tiles_show_what_their_zoom_shows_and_stay_small() {
    let db = with_osm().await;
    let app = app(&db).await;
    let style = get_json(&app, "/basemap/style.json").await;
    assert_eq!(style["version"], 8);
    let template = style["sources"]["basemap"]["tiles"][0].as_str().unwrap();
    assert!(
        template.ends_with("/basemap/tiles/WebMercatorQuad/{z}/{y}/{x}"),
        "{template}"
    );

    let mut seen = Vec::new();
    for z in 8..=16 {
        let (z, y, x) = tile_of(LAUF.0, LAUF.1, z);
        let (status, content_type, body) =
            get(&app, &format!("/basemap/tiles/WebMercatorQuad/{z}/{y}/{x}")).await;
        assert_eq!(status, 200, "z{z}");
        assert_eq!(content_type, "application/vnd.mapbox-vector-tile");
        assert!(body.len() <= 500 * 1024, "z{z}: {} bytes", body.len());
        let tile = Tile::decode(body.as_slice()).expect("MVT");
        seen.push((z, layers(&tile).join(",")));
        let roads = tile.layers.iter().find(|l| l.name == "road");
        if z <= 9 {
            // Only the main roads: no residential street.
            if let Some(roads) = roads {
                let minor = roads
                    .values
                    .iter()
                    .any(|v| v.string_value.as_deref() == Some("minor"));
                assert!(!minor, "z{z} has minor roads");
            }
        }
        let has = |name: &str| tile.layers.iter().any(|l| l.name == name);
        assert_eq!(has("building"), z >= 13, "z{z}: {:?}", layers(&tile));
        assert_eq!(has("housenumber"), z >= 16, "z{z}");
        if z >= 12 {
            assert!(
                has("road") && has("place") || z >= 14,
                "z{z}: {:?}",
                layers(&tile)
            );
        }
    }

    // At z16 the tile holds the buildings PostGIS finds in it (and its buffer), none lost.
    let (z, y, x) = tile_of(LAUF.0, LAUF.1, 16);
    let (_, _, body) = get(&app, &format!("/basemap/tiles/WebMercatorQuad/{z}/{y}/{x}")).await;
    let tile = Tile::decode(body.as_slice()).expect("MVT");
    let drawn = tile
        .layers
        .iter()
        .find(|l| l.name == "building")
        .map_or(0, |l| l.features.len()) as i64;
    let table = db.table_of("osm").await;
    let expected: i64 = sqlx::query_scalar(&format!(
        "WITH t AS (SELECT ST_Transform(ST_TileEnvelope({z}, {x}, {y}, margin => 64.0 / 4096), 4326) AS e, \
                           ST_TileEnvelope({z}, {x}, {y}) AS m) \
         SELECT count(*) FROM data.\"{table}\", t WHERE layer = 'building' AND geom && e \
           AND area_m2 >= power((ST_XMax(m) - ST_XMin(m)) / 256 * cos(radians(ST_Y(ST_Centroid(e)))), 2) * 2"
    ))
    .fetch_one(&db.pool)
    .await
    .expect("count");
    assert!(expected > 50, "{expected}");
    assert_eq!(drawn, expected, "buildings in the z16 tile");

    // Far away: nothing.
    let (status, _, _) = get(&app, "/basemap/tiles/WebMercatorQuad/14/5000/5000").await;
    assert_eq!(status, 204);
    let (status, _, _) = get(&app, "/basemap/tiles/WebMercatorQuad/3/9/1").await;
    assert_eq!(status, 404);
}

#[actix_web::test]
async fn glyphs_come_from_the_embedded_font() {
    let db = TestDb::new().await;
    let app = app(&db).await;
    let (status, content_type, body) =
        get(&app, "/basemap/fonts/DejaVu%20Sans%20Book/0-255.pbf").await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/x-protobuf");
    // A glyphs message: field 1 (the fontstack), length-delimited.
    assert_eq!(body.first(), Some(&0x0a));
    assert!(body.windows(16).any(|w| w == b"DejaVu Sans Book"));
    // The first font of a list that this server has.
    let (status, _, body) = get(
        &app,
        "/basemap/fonts/Noto%20Sans%20Bold,DejaVu%20Sans%20Bold/256-511.pbf",
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.windows(16).any(|w| w == b"DejaVu Sans Bold"));
    let (status, _, body) = get(&app, "/basemap/fonts/Arial/0-255.pbf").await;
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
    let (status, _, body) = get(&app, "/basemap/fonts/DejaVu%20Sans%20Book/1-256.pbf").await;
    assert_eq!(status, 400);
    let body: Json = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["parameter"], "range");
    // Without an OSM dataset there is no basemap of kreisgeo's own.
    let (status, _, body) = get(&app, "/basemap/style.json").await;
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
    let (status, _, _) = get(&app, "/basemap/tiles/WebMercatorQuad/14/5591/8705").await;
    assert_eq!(status, 404);
}

#[actix_web::test]
async fn an_external_style_is_admitted_for_its_origin_only() {
    let db = TestDb::new().await;
    let style = "https://sgx.geodatenzentrum.de/gdz_basemapde_vektor/styles/bm_web_col.json";
    let state = AppState::new(
        db.pool.clone(),
        ApiConfig {
            basemap_style: Some(style.into()),
            ..ApiConfig::default()
        },
    );
    let app = test::init_service(kreisgeo::api::app(state)).await;
    let (status, headers, _) = get_with_headers(&app, "/basemap/style.json", &[]).await;
    assert_eq!(status, 302);
    assert_eq!(headers["location"], style);
    let (status, headers, body) = get_with_headers(&app, "/map", &[]).await;
    assert_eq!(status, 200);
    let csp = &headers["content-security-policy"];
    assert!(
        csp.contains("connect-src 'self' https://sgx.geodatenzentrum.de;"),
        "{csp}"
    );
    assert!(
        csp.contains("img-src 'self' data: blob: https://sgx.geodatenzentrum.de;"),
        "{csp}"
    );
    assert!(!csp.contains("script-src 'self' https"), "{csp}");
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("Die Grundkarte wird geladen von"), "{page}");
    // Without the setting the policy names this origin alone.
    let plain = app_default(&db).await;
    let (_, headers, _) = get_with_headers(&plain, "/map", &[]).await;
    assert!(!headers["content-security-policy"].contains("https://"));
}

async fn app_default(db: &TestDb) -> impl crate::common::TestApp {
    app(db).await
}
