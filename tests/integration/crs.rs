//! OGC API Features Part 2: output in other CRSs, bbox in other CRSs, axis order of EPSG:4326.

use std::collections::HashSet;

use actix_web::test;

use crate::common::{app, get, get_json, harvest, TestDb};
use kreisgeo::catalog::DatasetKind;

const UTM32: &str = "http://www.opengis.net/def/crs/EPSG/0/25832";
const WGS84: &str = "http://www.opengis.net/def/crs/EPSG/0/4326";

#[actix_web::test]
async fn features_in_the_requested_crs_and_axis_order() {
    let db = TestDb::new().await;
    db.ingest(
        "nrw_alkis_flurstueck_25832.geojson",
        "parcel",
        DatasetKind::Parcels,
    )
    .await;
    let app = app(&db).await;
    let source: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(crate::common::fixture("nrw_alkis_flurstueck_25832.geojson"))
            .expect("fixture"),
    )
    .expect("JSON");
    let ring = source["features"][0]["geometry"]["coordinates"][0]
        .as_array()
        .expect("ring")
        .clone();

    // Back in the input CRS.
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri(&format!("/collections/parcel/items/1?crs={UTM32}"))
            .to_request(),
    )
    .await;
    assert_eq!(
        resp.headers()
            .get("content-crs")
            .and_then(|v| v.to_str().ok()),
        Some(format!("<{UTM32}>").as_str())
    );
    let utm: serde_json::Value =
        serde_json::from_slice(&test::read_body(resp).await).expect("JSON");
    for (got, want) in utm["geometry"]["coordinates"][0]
        .as_array()
        .expect("ring")
        .iter()
        .zip(&ring)
    {
        for axis in 0..2 {
            let (g, w) = (
                got[axis].as_f64().expect("n"),
                want[axis].as_f64().expect("n"),
            );
            assert!((g - w).abs() <= 2e-9, "{g} vs {w}");
        }
    }
    // EPSG:4326 is latitude first; CRS84 longitude first.
    let crs84 = get_json(&app, "/collections/parcel/items/1").await;
    let wgs84 = get_json(&app, &format!("/collections/parcel/items/1?crs={WGS84}")).await;
    let (a, b) = (
        &crs84["geometry"]["coordinates"][0][0],
        &wgs84["geometry"]["coordinates"][0][0],
    );
    assert_eq!((a[0].clone(), a[1].clone()), (b[1].clone(), b[0].clone()));
    assert!(b[0].as_f64().expect("lat") > 51.0);

    let collection = get_json(&app, "/collections/parcel").await;
    let crs: Vec<&str> = collection["crs"]
        .as_array()
        .expect("crs")
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    assert!(crs.contains(&UTM32) && crs.contains(&WGS84));
    for (uri, parameter) in [
        ("/collections/parcel/items?crs=EPSG:2056", "crs"),
        (
            "/collections/parcel/items?bbox-crs=nonsense&bbox=1,2,3,4",
            "bbox-crs",
        ),
        ("/collections/parcel/items/1?crs=EPSG:0", "crs"),
    ] {
        let (status, _, body) = get(&app, uri).await;
        assert_eq!(status, 400, "{uri}");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(body["parameter"], parameter, "{uri}");
    }
}

#[actix_web::test]
async fn bbox_in_utm_or_lat_lon_selects_what_the_crs84_box_selects() {
    let db = TestDb::new().await;
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Parcels,
    )
    .await;
    let app = app(&db).await;
    let ids = |features: Vec<serde_json::Value>| -> HashSet<u64> {
        features
            .iter()
            .map(|f| f["id"].as_u64().expect("id"))
            .collect()
    };
    // A UTM rectangle is no rectangle in CRS84, so the UTM box is checked against PostGIS in UTM
    // (below), and the two axis orders of geographic boxes against each other.
    let utm = ids(harvest(&app, &format!("/collections/parcels/items?limit=100&bbox=593900,5900700,594400,5901100&bbox-crs={UTM32}")).await);
    assert!(!utm.is_empty() && utm.len() < 1000, "{}", utm.len());
    let lonlat = ids(harvest(
        &app,
        "/collections/parcels/items?limit=100&bbox=10.405,53.247,10.415,53.252",
    )
    .await);
    let latlon = ids(harvest(&app, &format!("/collections/parcels/items?limit=100&bbox=53.247,10.405,53.252,10.415&bbox-crs={WGS84}")).await);
    assert!(!lonlat.is_empty());
    assert_eq!(lonlat, latlon);
    // Next links carry crs and bbox-crs, so every page answers in the same CRS.
    let page = get_json(&app, &format!("/collections/parcels/items?limit=5&bbox=593900,5900700,594400,5901100&bbox-crs={UTM32}&crs={UTM32}")).await;
    let next = page["links"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["rel"] == "next")
        .expect("next");
    let href = next["href"].as_str().expect("href");
    assert!(
        href.contains(&format!("crs={UTM32}")) && href.contains(&format!("bbox-crs={UTM32}")),
        "{href}"
    );
    let x = page["features"][0]["geometry"]["coordinates"][0][0][0]
        .as_f64()
        .expect("x");
    assert!((593_000.0..595_000.0).contains(&x), "{x}");
    // Every feature of the UTM box really intersects it, checked in UTM by PostGIS itself.
    let inside: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM data.parcels_v1 WHERE fid = ANY($1) AND ST_Intersects(ST_Transform(geom, 25832), \
         ST_MakeEnvelope(593900, 5900700, 594400, 5901100, 25832))",
    )
    .bind(utm.iter().map(|&i| i as i64).collect::<Vec<_>>())
    .fetch_one(&db.pool)
    .await
    .expect("check");
    assert_eq!(inside as usize, utm.len());
    let all: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM data.parcels_v1 WHERE ST_Intersects(ST_Transform(geom, 25832), \
         ST_MakeEnvelope(593900, 5900700, 594400, 5901100, 25832))",
    )
    .fetch_one(&db.pool)
    .await
    .expect("check");
    assert_eq!(all as usize, utm.len(), "the UTM box missed features");

    // Boxes around the whole world, in lon/lat and in Web Mercator, hold every parcel although
    // they have no image in the UTM zone the parcels are stored in; a box elsewhere holds none.
    for world in [
        "bbox=-180,-90,180,90".to_string(),
        "bbox=-20037508.34,-20037508.34,20037508.34,20037508.34&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/3857".to_string(),
    ] {
        let page = get_json(&app, &format!("/collections/parcels/items?limit=1&{world}")).await;
        assert_eq!(page["numberMatched"], 1000, "{world}");
    }
    let elsewhere = get_json(&app, "/collections/parcels/items?bbox=-10,-10,-9,-9").await;
    assert_eq!(elsewhere["numberMatched"], 0);
    // West above east crosses the antimeridian: 170°E eastwards round to 11°E holds the
    // county, 170°E to 10°E (west of it) holds nothing.
    let round = get_json(&app, "/collections/parcels/items?limit=1&bbox=170,50,11,60").await;
    assert_eq!(round["numberMatched"], 1000);
    let short = get_json(&app, "/collections/parcels/items?limit=1&bbox=170,50,10,60").await;
    assert_eq!(short["numberMatched"], 0);
}
