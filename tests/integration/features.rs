//! OGC API - Features through HTTP.

use std::collections::HashSet;

use geo::{Intersects, Rect};
use serde_json::Value as Json;

use crate::common::{app, get, get_json, get_with_headers, harvest, TestDb};
use kreisgeo::catalog::DatasetKind;
use kreisgeo::ingest::IngestRequest;

#[actix_web::test]
async fn landing_conformance_and_collection() {
    let db = TestDb::new().await;
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Parcels,
    )
    .await;
    let app = app(&db).await;

    let landing = get_json(&app, "/").await;
    let rels: HashSet<&str> = landing["links"]
        .as_array()
        .expect("links")
        .iter()
        .filter_map(|l| l["rel"].as_str())
        .collect();
    for rel in ["self", "service-desc", "service-doc", "conformance", "data"] {
        assert!(rels.contains(rel), "landing page lacks {rel}");
    }

    let conformance = get_json(&app, "/conformance").await;
    let classes = conformance["conformsTo"].as_array().expect("conformsTo");
    for c in ["core", "geojson", "oas30"] {
        let uri = format!("http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{c}");
        assert!(
            classes.iter().any(|v| v == &Json::String(uri.clone())),
            "{uri}"
        );
    }

    let (status, content_type, body) = get(&app, "/api").await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("application/vnd.oai.openapi+json"));
    let api: Json = serde_json::from_slice(&body).expect("OpenAPI JSON");
    assert!(api["paths"]["/collections/{collectionId}/items"].is_object());
    let (status, _, html) = get(&app, "/api.html").await;
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&html).contains("/collections/{collectionId}/items"));

    let collection = get_json(&app, "/collections/parcels").await;
    assert_eq!(collection["id"], "parcels");
    assert_eq!(collection["itemType"], "feature");
    // The parcels surround the town of Lüneburg (about 10.41 E, 53.25 N).
    let bbox: Vec<f64> = collection["extent"]["spatial"]["bbox"][0]
        .as_array()
        .expect("bbox")
        .iter()
        .map(|v| v.as_f64().expect("number"))
        .collect();
    assert!(
        bbox[0] < 10.41 && bbox[2] > 10.41 && bbox[1] < 53.25 && bbox[3] > 53.25,
        "{bbox:?}"
    );
    assert!(bbox[2] - bbox[0] < 0.2, "{bbox:?}");
}

#[actix_web::test]
async fn next_links_visit_every_feature_exactly_once() {
    let db = TestDb::new().await;
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Parcels,
    )
    .await;
    let app = app(&db).await;
    let features = harvest(&app, "/collections/parcels/items?limit=37").await;
    assert_eq!(features.len(), 1000);
    let ids: HashSet<u64> = features
        .iter()
        .map(|f| f["id"].as_u64().expect("id"))
        .collect();
    assert_eq!(ids.len(), 1000);
    let keys: HashSet<&str> = features
        .iter()
        .map(|f| {
            f["properties"]["flurstueckskennzeichen"]
                .as_str()
                .expect("key")
        })
        .collect();
    assert_eq!(keys.len(), 1000);

    let first = get_json(&app, "/collections/parcels/items?limit=37").await;
    assert_eq!(first["numberReturned"], 37);
    assert_eq!(first["numberMatched"], 1000);
    // Limits above the maximum are clamped, not refused.
    let all = get_json(&app, "/collections/parcels/items?limit=1000000").await;
    assert_eq!(all["numberReturned"], 1000);
    assert!(!all["links"]
        .as_array()
        .expect("links")
        .iter()
        .any(|l| l["rel"] == "next"));
    let default = get_json(&app, "/collections/parcels/items").await;
    assert_eq!(default["numberReturned"], 10);
}

fn geometry_of(feature: &Json) -> geo::Geometry<f64> {
    let g: geojson::Geometry =
        serde_json::from_value(feature["geometry"].clone()).expect("geometry");
    geo::Geometry::try_from(g).expect("geo geometry")
}

#[actix_web::test]
async fn bbox_returns_exactly_the_intersecting_features() {
    let db = TestDb::new().await;
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Parcels,
    )
    .await;
    db.ingest(
        "generated/aed_lueneburg_200_25832.geojson",
        "aed",
        DatasetKind::Aed,
    )
    .await;
    let app = app(&db).await;
    let boxes = [
        ("parcels", [10.40123, 53.24417, 10.41789, 53.25331]),
        ("aed", [10.2013, 53.1027, 10.6519, 53.3011]),
    ];
    for (id, [x0, y0, x1, y1]) in boxes {
        let all = harvest(&app, &format!("/collections/{id}/items?limit=10000")).await;
        let rect = Rect::new((x0, y0), (x1, y1)).to_polygon();
        let expected: HashSet<u64> = all
            .iter()
            .filter(|f| geometry_of(f).intersects(&rect))
            .map(|f| f["id"].as_u64().expect("id"))
            .collect();
        assert!(
            !expected.is_empty() && expected.len() < all.len(),
            "{id}: box must select some, not all"
        );
        let uri = format!("/collections/{id}/items?limit=7&bbox={x0},{y0},{x1},{y1}");
        let got: HashSet<u64> = harvest(&app, &uri)
            .await
            .iter()
            .map(|f| f["id"].as_u64().expect("id"))
            .collect();
        assert_eq!(got, expected, "{id}");
        let page = get_json(&app, &uri).await;
        assert_eq!(page["numberMatched"], expected.len() as u64);
    }
}

#[actix_web::test]
async fn paging_stays_on_its_version_while_a_new_one_arrives() {
    let db = TestDb::new().await;
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Generic,
    )
    .await;
    let app = app(&db).await;
    let first = get_json(&app, "/collections/parcels/items?limit=400").await;
    let next = first["links"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["rel"] == "next")
        .and_then(|l| l["href"].as_str())
        .expect("next link")
        .to_string();
    let next = &next[next.find("/collections").expect("path")..];

    // A different dataset arrives as the new version of "parcels" mid-harvest.
    db.ingest(
        "generated/aed_lueneburg_200_25832.geojson",
        "parcels",
        DatasetKind::Generic,
    )
    .await;
    assert_eq!(
        get_json(&app, "/collections/parcels").await["featureCount"],
        200
    );

    let rest = harvest(&app, next).await;
    assert_eq!(rest.len(), 600);
    assert!(rest
        .iter()
        .all(|f| f["properties"]["flurstueckskennzeichen"].is_string()));

    // Once the old version is pruned, its cursor answers 410 Gone instead of mixing versions.
    let mut request = IngestRequest::new(crate::common::fixture("aed_koeln.geojson"), "parcels");
    request.keep_versions = 1;
    db.try_ingest(request).await.expect("ingest");
    let (status, _, body) = get(&app, next).await;
    assert_eq!(status, 410, "{}", String::from_utf8_lossy(&body));
    let body: Json = serde_json::from_slice(&body).expect("JSON error body");
    assert_eq!(body["status"], 410);
}

#[actix_web::test]
async fn malformed_requests_get_4xx_json_naming_the_parameter() {
    let db = TestDb::new().await;
    db.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    let app = app(&db).await;
    let cases = [
        ("/collections/aed/items?limit=abc", 400, Some("limit")),
        ("/collections/aed/items?limit=0", 400, Some("limit")),
        ("/collections/aed/items?limit=-5", 400, Some("limit")),
        ("/collections/aed/items?bbox=1,2,3", 400, Some("bbox")),
        ("/collections/aed/items?bbox=a,b,c,d", 400, Some("bbox")),
        ("/collections/aed/items?bbox=7,52,8,51", 400, Some("bbox")),
        (
            "/collections/aed/items?cursor=nonsense",
            400,
            Some("cursor"),
        ),
        ("/collections/aed/items?f=xml", 400, Some("f")),
        ("/collections/aed/items?colour=red", 400, Some("colour")),
        ("/collections/nope/items", 404, None),
        ("/collections/nope", 404, None),
        ("/collections/aed/items/999999", 404, None),
        ("/collections/aed/items/not-a-number", 404, None),
        ("/no/such/path", 404, None),
    ];
    for (uri, status, parameter) in cases {
        let (got, content_type, body) = get(&app, uri).await;
        assert_eq!(got, status, "{uri}: {}", String::from_utf8_lossy(&body));
        assert!(
            content_type.starts_with("application/json"),
            "{uri}: {content_type}"
        );
        let body: Json =
            serde_json::from_slice(&body).unwrap_or_else(|_| panic!("{uri}: body is not JSON"));
        assert_eq!(body["status"], status, "{uri}");
        assert!(
            body["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{uri}"
        );
        if let Some(p) = parameter {
            assert_eq!(body["parameter"], p, "{uri}");
        }
    }
}

#[actix_web::test]
async fn single_feature_is_geojson_with_links() {
    let db = TestDb::new().await;
    db.ingest(
        "generated/aed_lueneburg_200_25832.geojson",
        "aed",
        DatasetKind::Aed,
    )
    .await;
    let app = app(&db).await;
    let (status, content_type, body) = get(&app, "/collections/aed/items/3").await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/geo+json");
    let f: Json = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(f["type"], "Feature");
    assert_eq!(f["id"], 3);
    assert_eq!(f["geometry"]["type"], "Point");
    assert!(f["links"]
        .as_array()
        .expect("links")
        .iter()
        .any(|l| l["rel"] == "collection"));
    let page = get_json(&app, "/collections/aed/items?limit=3").await;
    assert_eq!(page["features"][2]["properties"], f["properties"]);
}

#[actix_web::test]
async fn csv_output_pages_through_link_headers() {
    use actix_web::test;
    let db = TestDb::new().await;
    db.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    let app = app(&db).await;
    let mut uri = Some("/collections/aed/items?f=csv&limit=50".to_string());
    let mut rows: Vec<csv::StringRecord> = Vec::new();
    let mut header = None;
    while let Some(u) = uri.take() {
        let resp = test::call_service(&app, test::TestRequest::get().uri(&u).to_request()).await;
        assert_eq!(resp.status().as_u16(), 200);
        assert!(resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("text/csv")));
        uri = resp
            .headers()
            .get("link")
            .and_then(|v| v.to_str().ok())
            .and_then(|l| l.split(['<', '>']).nth(1))
            .map(|href| href[href.find("/collections").expect("path")..].to_string());
        let body = test::read_body(resp).await;
        let mut reader = csv::Reader::from_reader(body.as_ref());
        let h = reader.headers().expect("header").clone();
        if let Some(previous) = &header {
            assert_eq!(previous, &h);
        }
        header = Some(h);
        rows.extend(reader.records().map(|r| r.expect("row")));
    }
    let header = header.expect("header");
    assert_eq!(rows.len(), 121);
    assert_eq!(header.get(0), Some("id"));
    assert_eq!(header.iter().next_back(), Some("wkt"));
    let name = header
        .iter()
        .position(|h| h == "name")
        .expect("name column");
    assert_eq!(rows[0].get(name), Some("Sparkasse KölnBonn"));
    assert_eq!(
        rows[0].iter().next_back(),
        Some("POINT(6.897402 51.0216619)")
    );
    let ids: HashSet<&str> = rows.iter().map(|r| r.get(0).expect("id")).collect();
    assert_eq!(ids.len(), 121);

    // Accept chooses the format when f does not; the validators tell the two apart.
    let by_accept = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/collections/aed/items")
            .insert_header(("Accept", "text/csv"))
            .to_request(),
    )
    .await;
    assert!(by_accept
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/csv")));
    let vary = by_accept
        .headers()
        .get("vary")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(vary.split(',').any(|v| v.trim() == "Accept"), "{vary}");
    let csv_etag = by_accept.headers().get("etag").cloned();
    let json = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/collections/aed/items")
            .to_request(),
    )
    .await;
    assert_ne!(json.headers().get("etag").cloned(), csv_etag);
    let (status, _, _) = get(&app, "/collections/aed/items?f=shapefile").await;
    assert_eq!(status, 400);
}

#[actix_web::test]
async fn nearest_defibrillators_match_a_full_geodesic_scan() {
    let db = TestDb::new().await;
    let report = db
        .ingest(
            "generated/aed_lueneburg_200_25832.geojson",
            "aed",
            DatasetKind::Aed,
        )
        .await;
    let app = app(&db).await;
    let (lon, lat) = (10.4115, 53.2487);
    for (query, exclude_private) in [("", true), ("&access=all", false)] {
        let result = get_json(
            &app,
            &format!("/collections/aed/nearest?point={lon},{lat}&limit=10{query}"),
        )
        .await;
        let features = result["features"].as_array().expect("features");
        assert_eq!(features.len(), 10);
        let distances: Vec<f64> = features
            .iter()
            .map(|f| f["properties"]["distance_m"].as_f64().expect("distance_m"))
            .collect();
        assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
        if exclude_private {
            assert!(features
                .iter()
                .all(|f| f["properties"]["access"] != "private"));
        }
        // The same ten by brute force over every row, on the ellipsoid.
        let expected: Vec<(i64, f64)> = sqlx::query_as(&format!(
            "SELECT fid, ST_Distance(ST_Transform(geom, 4326)::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography) AS d \
             FROM data.aed_v{} WHERE $3 = false OR coalesce(access, '') NOT IN ('private', 'no') ORDER BY d, fid LIMIT 10",
            report.version
        ))
        .bind(lon)
        .bind(lat)
        .bind(exclude_private)
        .fetch_all(&db.pool)
        .await
        .expect("scan");
        let got: Vec<i64> = features
            .iter()
            .map(|f| f["id"].as_i64().expect("id"))
            .collect();
        assert_eq!(got, expected.iter().map(|e| e.0).collect::<Vec<_>>());
        for (d, (_, e)) in distances.iter().zip(&expected) {
            assert!((d - e).abs() <= 0.05, "{d} vs {e}");
        }
    }
    for (uri, parameter) in [
        ("/collections/aed/nearest", "point"),
        ("/collections/aed/nearest?point=10.4", "point"),
        (
            "/collections/aed/nearest?point=10.4,53.2&limit=500",
            "limit",
        ),
        (
            "/collections/aed/nearest?point=10.4,53.2&access=some",
            "access",
        ),
    ] {
        let (status, _, body) = get(&app, uri).await;
        assert_eq!(status, 400, "{uri}");
        let body: Json = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(body["parameter"], parameter, "{uri}");
    }
    let (status, _, _) = get(&app, "/collections/nope/nearest?point=10,53").await;
    assert_eq!(status, 404);

    // The same search from the same place given in UTM, and given latitude first.
    let (x, y): (f64, f64) = sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), 4326), 25832) AS p) s",
    )
    .bind(lon)
    .bind(lat)
    .fetch_one(&db.pool)
    .await
    .expect("utm");
    let ids = |doc: Json| -> Vec<Json> {
        doc["features"]
            .as_array()
            .expect("features")
            .iter()
            .map(|f| f["id"].clone())
            .collect()
    };
    let plain = ids(get_json(&app, &format!("/collections/aed/nearest?point={lon},{lat}")).await);
    let utm = ids(get_json(&app, &format!("/collections/aed/nearest?point={x},{y}&point-crs=http://www.opengis.net/def/crs/EPSG/0/25832")).await);
    let lat_first = ids(get_json(&app, &format!("/collections/aed/nearest?point={lat},{lon}&point-crs=http://www.opengis.net/def/crs/EPSG/0/4326")).await);
    assert_eq!(plain.len(), 5);
    assert_eq!(utm, plain);
    assert_eq!(lat_first, plain);
}

#[actix_web::test]
async fn open_now_keeps_only_defibrillators_open_at_that_moment() {
    let db = TestDb::new().await;
    let report = db
        .ingest(
            "generated/aed_lueneburg_200_25832.geojson",
            "aed",
            DatasetKind::Aed,
        )
        .await;
    let app = app(&db).await;
    let (lon, lat) = (10.4115, 53.2487);
    // Sunday 03:00: only the 24/7 ones; Monday 09:30: weekday hours too.
    for (at, allowed) in [
        ("2026-11-22T03:00", vec!["24/7"]),
        (
            "2026-11-23T09:30",
            vec![
                "24/7",
                "Mo-Fr 08:00-18:00",
                "Mo-Sa 07:00-20:00; Su off",
                "Mo-Fr 09:00-17:00; PH off",
            ],
        ),
    ] {
        let result = get_json(
            &app,
            &format!("/collections/aed/nearest?point={lon},{lat}&limit=5&open_now=true&at={at}"),
        )
        .await;
        let features = result["features"].as_array().expect("features");
        assert_eq!(features.len(), 5, "{at}");
        for f in features {
            assert_eq!(f["properties"]["open_now"], true);
            let hours = f["properties"]["opening_hours"].as_str().expect("hours");
            assert!(allowed.contains(&hours), "{at}: {hours}");
        }
        let expected: Vec<i64> = sqlx::query_scalar(&format!(
            "SELECT fid FROM data.aed_v{} WHERE opening_hours = ANY($3) \
               AND coalesce(access, '') NOT IN ('private', 'no') \
             ORDER BY ST_Distance(ST_Transform(geom, 4326)::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography), fid LIMIT 5",
            report.version
        ))
        .bind(lon)
        .bind(lat)
        .bind(allowed.iter().map(ToString::to_string).collect::<Vec<_>>())
        .fetch_all(&db.pool)
        .await
        .expect("scan");
        let got: Vec<i64> = features
            .iter()
            .map(|f| f["id"].as_i64().expect("id"))
            .collect();
        assert_eq!(got, expected, "{at}");
    }

    // Köln's hours are German free text: unknown, never open.
    db.ingest("aed_koeln.geojson", "koeln", DatasetKind::Aed)
        .await;
    let all = get_json(
        &app,
        "/collections/koeln/nearest?point=6.96,50.94&limit=100&at=2026-11-23T10:00",
    )
    .await;
    let unknown = all["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| f["properties"]["open_now"].is_null())
        .count();
    assert!(unknown > 90, "{unknown} of 100 unknown");
    let open = get_json(
        &app,
        "/collections/koeln/nearest?point=6.96,50.94&limit=100&open_now=true&at=2026-11-23T10:00",
    )
    .await;
    assert!(open["features"]
        .as_array()
        .expect("features")
        .iter()
        .all(|f| f["properties"]["open_now"] == true));

    for (uri, parameter) in [
        (
            "/collections/aed/nearest?point=10,53&open_now=maybe",
            "open_now",
        ),
        (
            "/collections/aed/nearest?point=10,53&open_now=true&at=tomorrow",
            "at",
        ),
    ] {
        let (status, _, body) = get(&app, uri).await;
        assert_eq!(status, 400, "{uri}");
        assert_eq!(
            serde_json::from_slice::<Json>(&body).expect("JSON")["parameter"],
            parameter
        );
    }
}

#[actix_web::test]
async fn at_a_point_are_the_features_that_contain_it() {
    let db = TestDb::new().await;
    db.ingest(
        "generated/solar_lueneburg_500_25832.geojson",
        "solar",
        DatasetKind::Solar,
    )
    .await;
    let app = app(&db).await;
    // A point inside roof 17, in lon/lat and in UTM.
    let (lon, lat, x, y): (f64, f64, f64, f64) = sqlx::query_as(
        "SELECT ST_X(ST_Transform(p, 4326)), ST_Y(ST_Transform(p, 4326)), ST_X(p), ST_Y(p) \
         FROM (SELECT ST_PointOnSurface(geom) AS p FROM data.solar_v1 WHERE fid = 17) s",
    )
    .fetch_one(&db.pool)
    .await
    .expect("point");
    let expected: Vec<i64> = sqlx::query_scalar(
        "SELECT fid FROM data.solar_v1 WHERE ST_Intersects(geom, \
           ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), 4326), 25832)) ORDER BY fid",
    )
    .bind(lon)
    .bind(lat)
    .fetch_all(&db.pool)
    .await
    .expect("truth");
    assert!(expected.contains(&17));
    let ids = |doc: &serde_json::Value| -> Vec<i64> {
        doc["features"]
            .as_array()
            .expect("features")
            .iter()
            .map(|f| f["id"].as_i64().expect("id"))
            .collect()
    };
    let roofs = get_json(&app, &format!("/collections/solar/at?point={lon},{lat}")).await;
    assert_eq!(ids(&roofs), expected);
    assert!(roofs["features"][0]["properties"]["kwp"].is_number());
    // The same point in UTM, answered in UTM.
    let utm = "http://www.opengis.net/def/crs/EPSG/0/25832";
    let (status, headers, body) = get_with_headers(
        &app,
        &format!("/collections/solar/at?point={x},{y}&point-crs={utm}&crs={utm}"),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        headers.get("content-crs").map(String::as_str),
        Some(&*format!("<{utm}>"))
    );
    let doc: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(ids(&doc), expected);
    let easting = doc["features"][0]["geometry"]["coordinates"][0][0][0]
        .as_f64()
        .expect("x");
    assert!((500_000.0..700_000.0).contains(&easting), "{easting}");
    // Nowhere near a roof: an empty collection, not an error.
    let none = get_json(&app, "/collections/solar/at?point=10.0,50.0").await;
    assert_eq!(none["numberReturned"], 0);
    for (query, parameter) in [
        ("", "point"),
        ("point=10.4", "point"),
        ("point=10.4,53.2&limit=0", "limit"),
        ("point=10.4,53.2&point-crs=EPSG:2056", "point-crs"),
    ] {
        let (status, _, body) = get(&app, &format!("/collections/solar/at?{query}")).await;
        assert_eq!(status, 400, "{query}");
        let error: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(error["parameter"], parameter, "{query}");
    }
}

#[actix_web::test]
async fn flatgeobuf_pages_carry_index_crs_and_attributes() {
    use flatgeobuf::{FallibleStreamingIterator, FeatureProperties, FgbReader};
    let db = TestDb::new().await;
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Parcels,
    )
    .await;
    let app = app(&db).await;
    let utm = "http://www.opengis.net/def/crs/EPSG/0/25832";
    let (status, headers, body) = get_with_headers(
        &app,
        &format!("/collections/parcels/items?f=fgb&limit=600&crs={utm}"),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/flatgeobuf");
    assert!(
        headers["link"].contains("rel=\"next\""),
        "{:?}",
        headers.get("link")
    );
    let reader = FgbReader::open(std::io::Cursor::new(body.clone())).expect("FlatGeobuf");
    assert_eq!(reader.header().crs().map(|c| c.code()), Some(25832));
    assert_eq!(reader.header().features_count(), 600);
    assert!(reader.header().index_node_size() > 0, "no spatial index");
    let mut features = reader.select_all().expect("features");
    let mut keys = std::collections::BTreeSet::new();
    while let Some(f) = features.next().expect("feature") {
        keys.insert(f.property::<String>("flurstueckskennzeichen").expect("key"));
    }
    assert_eq!(keys.len(), 600);
    // GDAL reads it as it reads a download.
    let path = crate::common::scratch_root().join("page.fgb");
    std::fs::write(&path, &body).expect("write");
    let out = std::process::Command::new("ogrinfo")
        .args(["-ro", "-so", "-al"])
        .arg(&path)
        .output()
        .expect("ogrinfo (gdal-bin)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Feature Count: 600") && text.contains("25832"),
        "{text}"
    );
    let _ = std::fs::remove_file(path);
    // Accept chooses it too.
    let (_, headers, _) = get_with_headers(
        &app,
        "/collections/parcels/items?limit=1",
        &[("Accept", "application/flatgeobuf")],
    )
    .await;
    assert_eq!(headers["content-type"], "application/flatgeobuf");
}

#[actix_web::test]
async fn html_views_link_to_each_other_and_escape_the_data() {
    let db = TestDb::new().await;
    db.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    let path = crate::common::scratch_root().join("html.geojsonl");
    std::fs::write(
        &path,
        concat!(
            r#"{"type":"Feature","properties":{"name":"<script>alert(1)</script> & Co"},"geometry":{"type":"Point","coordinates":[10.4,53.2]}}"#,
            "\n",
            r#"{"type":"Feature","properties":{"name":"plain"},"geometry":{"type":"Point","coordinates":[10.5,53.2]}}"#,
            "\n"
        ),
    )
    .expect("write");
    db.try_ingest(kreisgeo::ingest::IngestRequest::new(&path, "tricky"))
        .await
        .expect("ingest");
    let app = app(&db).await;
    const BROWSER: &[(&str, &str)] = &[("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")];
    let page = |uri: &'static str, headers: &'static [(&'static str, &'static str)]| {
        let app = &app;
        async move {
            let (status, h, body) = get_with_headers(app, uri, headers).await;
            assert_eq!(status, 200, "{uri}");
            assert!(
                h["content-type"].starts_with("text/html"),
                "{uri}: {}",
                h["content-type"]
            );
            String::from_utf8(body).expect("UTF-8")
        }
    };
    let landing = page("/", BROWSER).await;
    assert!(landing.contains("/collections?f=html"), "{landing}");
    let collections = page("/collections?f=html", &[]).await;
    assert!(collections.contains("href=\"/collections/aed?f=html\""));
    let collection = page("/collections/aed?f=html", &[]).await;
    assert!(
        collection.contains("/collections/aed/items?f=html"),
        "{collection}"
    );
    let items = page("/collections/aed/items?f=html&limit=5", &[]).await;
    assert_eq!(items.matches("<tr><td><a href=").count(), 5);
    assert!(items.contains("rel=\"next\""), "{items}");
    assert!(items.contains("f=html&amp;limit=5&amp;cursor="), "{items}");
    assert!(page("/collections/aed/items/3?f=html", &[])
        .await
        .contains("<th scope=\"row\">"));
    assert!(page("/conformance?f=html", &[])
        .await
        .contains("ogcapi-features-1/1.0/conf/core"));
    // The data is text, never markup.
    let tricky = page("/collections/tricky/items?f=html", &[]).await;
    assert!(!tricky.contains("<script>"), "{tricky}");
    assert!(tricky.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"));
    // JSON stays the default for programs.
    let (_, headers, _) = get_with_headers(&app, "/collections", &[]).await;
    assert!(headers["content-type"].starts_with("application/json"));
    let _ = std::fs::remove_file(path);
}

#[actix_web::test]
async fn html_pages_speak_german_or_english_and_cover_tiles_downloads_and_metadata() {
    let db = TestDb::new().await;
    db.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    let app = app(&db).await;
    const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let page = |uri: &'static str, language: &'static str| {
        let app = &app;
        async move {
            let (status, h, body) = get_with_headers(
                app,
                uri,
                &[("Accept", BROWSER), ("Accept-Language", language)],
            )
            .await;
            let body = String::from_utf8(body).expect("UTF-8");
            assert_eq!(status, 200, "{uri}: {body}");
            assert!(h["content-type"].starts_with("text/html"), "{uri}");
            (h, body)
        }
    };
    // German by default, English when the browser prefers it or the visitor switches.
    let (h, de) = page("/collections/aed/items?limit=3", "fr,de;q=0.5").await;
    assert!(de.starts_with("<!DOCTYPE html><html lang=\"de\">"), "{de}");
    assert!(de.contains("Nächste Seite") && de.contains("Objekte dieser Seite"));
    assert!(h["vary"].contains("Accept"), "{:?}", h.get("vary"));
    let (_, en) = page("/collections/aed/items?limit=3", "en-GB,en;q=0.9,de;q=0.5").await;
    assert!(en.starts_with("<!DOCTYPE html><html lang=\"en\">"));
    assert!(en.contains("Next page") && !en.contains("Nächste Seite"));
    // The switch leads to the other language, and a chosen language stays in the links.
    assert!(
        de.contains(
            "class=\"lang\" href=\"/collections/aed/items?f=html&amp;lang=en&amp;limit=3\""
        ),
        "{de}"
    );
    let (_, chosen) = page("/collections/aed/items?limit=3&lang=en", "de").await;
    assert!(chosen.contains("<html lang=\"en\">"));
    assert!(chosen.contains("&amp;lang=en\">Next page</a>"), "{chosen}");
    assert!(
        chosen.contains("/collections/aed/items/1?f=html&amp;lang=en"),
        "{chosen}"
    );
    // The page names its JSON and its map reads it.
    assert!(de.contains("data-src=\"/collections/aed/items?f=json&amp;limit=3\""));
    // Every resource has its page, in the language asked for.
    for (uri, german, english) in [
        ("/", "Zur Karte", "To the map"),
        ("/conformance", "Konformität", "Conformance"),
        ("/collections/aed", "Objekte ansehen", "Browse the features"),
        ("/collections/aed/items/1", "Eigenschaften", "Properties"),
        ("/collections/aed/tiles", "Kachelsätze", "Tilesets"),
        ("/collections/aed/tiles/AdV_25832", "Ebenen", "Layers"),
        ("/tiles", "Kachelsätze", "Tilesets"),
        ("/tileMatrixSets", "Kachelschemata", "Tiling schemes"),
        (
            "/tileMatrixSets/AdV_25832",
            "Maßstabszahl",
            "Scale denominator",
        ),
        (
            "/collections/aed/queryables",
            "Abfragbare Attribute",
            "Queryables",
        ),
        (
            "/collections/aed/downloads",
            "Koordinatenreferenzsystem",
            "Coordinate reference system",
        ),
        ("/catalog/datasets/aed", "Schlagwörter", "Keywords"),
    ] {
        let (_, de) = page(uri, "de-DE").await;
        assert!(de.contains(german), "{uri} in German: {de}");
        let (_, en) = page(uri, "en").await;
        assert!(en.contains(english), "{uri} in English: {en}");
        assert!(
            !en.contains(german) || german == english,
            "{uri}: German left in English"
        );
    }
    // Harvesters still get RDF from the same URL, and JSON stays JSON.
    let (_, h, _) =
        get_with_headers(&app, "/catalog/datasets/aed", &[("Accept", "text/turtle")]).await;
    assert!(h["content-type"].starts_with("text/turtle"));
    let (_, json_headers, _) = get_with_headers(&app, "/collections/aed", &[]).await;
    let (_, html_headers, _) =
        get_with_headers(&app, "/collections/aed", &[("Accept", BROWSER)]).await;
    assert_ne!(
        json_headers["etag"], html_headers["etag"],
        "one tag per representation"
    );
    // An unknown language is the visitor's error, named.
    let (status, _, body) = get_with_headers(&app, "/collections?f=html&lang=fr", &[]).await;
    assert_eq!(status, 400);
    let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON error");
    assert!(body.to_string().contains("lang"), "{body}");
}

/// numberMatched of a filtered request is counted with the first page, in the same query, and
/// carried by the `next` links; past `COUNT_LIMIT` matches it is left out, and the page is
/// still the first one in key order.
#[actix_web::test]
async fn number_matched_is_counted_once_and_capped() {
    use kreisgeo::features::query::COUNT_LIMIT;
    use kreisgeo::generate::{generate, write_fgb, GenKind};

    let db = TestDb::new().await;
    let count = COUNT_LIMIT as usize + 50;
    let file =
        crate::common::scratch_root().join(format!("aed-{count}-{}.fgb", std::process::id()));
    let features = generate(GenKind::Aed, count, 7);
    write_fgb(
        GenKind::Aed,
        &features,
        &mut std::io::BufWriter::new(std::fs::File::create(&file).expect("create")),
    )
    .expect("write");
    db.try_ingest(IngestRequest {
        kind: DatasetKind::Aed,
        ..IngestRequest::new(file.clone(), "many")
    })
    .await
    .expect("ingest");
    std::fs::remove_file(&file).ok();
    let app = app(&db).await;

    // Without filters the catalog knows the count.
    let all = get_json(&app, "/collections/many/items?limit=3").await;
    assert_eq!(all["numberMatched"], count as u64);

    // Every feature is in this box: too many to count.
    let uri = "/collections/many/items?limit=5&bbox=9,52,12,54";
    let page = get_json(&app, uri).await;
    assert!(page.get("numberMatched").is_none(), "{page}");
    let ids: Vec<u64> = page["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["id"].as_u64().expect("id"))
        .collect();
    assert_eq!(ids, [1, 2, 3, 4, 5], "the first page in key order");
    let next = next_href(&page).expect("next");
    let second = get_json(&app, &next).await;
    assert!(second.get("numberMatched").is_none());
    assert_eq!(second["features"][0]["id"], 6);

    // A filter with fewer matches: every page shows the first page's count.
    let filter = "/collections/many/items?limit=40&filter=access%3D%27private%27";
    let first = get_json(&app, filter).await;
    let matched = first["numberMatched"].as_u64().expect("counted");
    let private: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM data.{} WHERE access = 'private'",
        db.table_of("many").await
    ))
    .fetch_one(&db.pool)
    .await
    .expect("count");
    assert_eq!(matched, private as u64);
    assert!(matched > 80, "{matched}");
    let second = get_json(&app, &next_href(&first).expect("next")).await;
    assert_eq!(second["numberMatched"], matched);
    assert_eq!(second["numberReturned"], 40);
}

fn next_href(page: &Json) -> Option<String> {
    page["links"]
        .as_array()?
        .iter()
        .find(|l| l["rel"] == "next")
        .and_then(|l| l["href"].as_str())
        .map(|h| h[h.find("/collections").expect("path")..].to_string())
}

/// Open now on the publisher's Land's holidays (issue 16, point 5, end to end): on Friday
/// 31 October 2025, Reformationstag in Niedersachsen, a defibrillator with `Mo-Fr 09:00-17:00;
/// PH off` is closed for a county there and open for one in Nordrhein-Westfalen; a publisher
/// entered through the admin API counts at once.
#[actix_web::test]
async fn open_now_keeps_the_holidays_of_the_publishers_land() {
    use kreisgeo::catalog::repo;
    use kreisgeo::opendata::metadata::Publisher;
    let db = TestDb::new().await;
    db.ingest(
        "generated/aed_lueneburg_200_25832.geojson",
        "aed",
        DatasetKind::Aed,
    )
    .await;
    let publisher = |district: &str| {
        serde_json::json!({"name": "Landkreis Test", "uri": "https://kreis.example/",
            "districtKey": district,
            "contact": {"name": "Geodaten", "email": "geo@kreis.example"},
            "license": "http://dcat-ap.de/def/licenses/dl-by-de/2.0"})
    };
    let office_hours = |doc: &Json| -> Vec<Json> {
        doc["features"]
            .as_array()
            .expect("features")
            .iter()
            .filter(|f| f["properties"]["opening_hours"] == "Mo-Fr 09:00-17:00; PH off")
            .map(|f| f["properties"]["open_now"].clone())
            .collect()
    };
    let uri = |day: &str| {
        format!("/collections/aed/nearest?point=10.4115,53.2487&limit=100&at={day}T10:00")
    };
    let lower_saxony: Publisher = serde_json::from_value(publisher("03355")).expect("publisher");
    repo::set_publisher(&db.pool, &lower_saxony)
        .await
        .expect("publisher");
    let app = app(&db).await;
    let closed = office_hours(&get_json(&app, &uri("2025-10-31")).await);
    assert!(!closed.is_empty());
    assert!(closed.iter().all(|open| open == false), "{closed:?}");
    // An ordinary Thursday: open.
    let open = office_hours(&get_json(&app, &uri("2025-10-30")).await);
    assert!(open.iter().all(|open| open == true), "{open:?}");

    // The county moves to Nordrhein-Westfalen through the admin API: no Reformationstag there.
    let key = kreisgeo::auth::create_key(
        &db.pool,
        "test",
        &kreisgeo::auth::Scope {
            datasets: None,
            actions: kreisgeo::auth::Action::ALL.to_vec(),
            publisher: None,
        },
    )
    .await
    .expect("key");
    let (status, _, body) = crate::common::send(
        &app,
        actix_web::test::TestRequest::put()
            .uri("/admin/catalog/publisher")
            .insert_header(("X-API-Key", key.key.as_str()))
            .insert_header(("Content-Type", "application/json"))
            .set_payload(publisher("05111").to_string()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let open = office_hours(&get_json(&app, &uri("2025-10-31")).await);
    assert!(!open.is_empty());
    assert!(open.iter().all(|open| open == true), "{open:?}");
}
