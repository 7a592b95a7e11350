//! OGC API Features Part 3: queryables, CQL2 filters in text and JSON, property filters, and
//! the 400s of bad filters. Every answer is checked against the same condition in SQL.

use std::collections::BTreeSet;

use crate::common::{app, app as app_for, get, get_json, harvest, TestDb};
use kreisgeo::catalog::DatasetKind;

const UTM32: &str = "http://www.opengis.net/def/crs/EPSG/0/25832";

fn ids(features: &[serde_json::Value]) -> BTreeSet<i64> {
    features
        .iter()
        .map(|f| f["id"].as_i64().expect("id"))
        .collect()
}

async fn truth(db: &TestDb, condition: &str) -> BTreeSet<i64> {
    let rows: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT fid FROM data.parcels_v1 WHERE {condition}"
    ))
    .fetch_all(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{condition}: {e}"));
    rows.into_iter().collect()
}

fn encode(s: &str) -> String {
    serde_urlencoded::to_string([("filter", s)]).expect("encode")
}

#[actix_web::test]
async fn cql2_filters_select_what_sql_selects() {
    let db = TestDb::new().await;
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Parcels,
    )
    .await;
    let app = app(&db).await;

    let queryables = get_json(&app, "/collections/parcels/queryables").await;
    assert_eq!(
        queryables["properties"]["amtlicheflaeche"]["type"],
        "integer"
    );
    assert_eq!(queryables["properties"]["gemarkung"]["type"], "string");
    assert_eq!(
        queryables["properties"]["geometry"]["format"],
        "geometry-any"
    );
    assert_eq!(queryables["additionalProperties"], false);

    let (gemarkung, key): (String, String) = sqlx::query_as(
        "SELECT gemarkung, flurstueckskennzeichen FROM data.parcels_v1 ORDER BY fid LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .expect("gemarkung");
    let flur_prefix = &key[..9];
    let cases = [
        ("amtlicheflaeche > 1600", "amtlicheflaeche > 1600".to_string()),
        (
            "1600 >= amtlicheflaeche AND flur <> 3",
            "amtlicheflaeche <= 1600 AND flur <> 3".to_string(),
        ),
        (
            &*format!("amtlicheflaeche BETWEEN 1000 AND 2000 AND gemarkung = '{gemarkung}'"),
            format!("amtlicheflaeche BETWEEN 1000 AND 2000 AND gemarkung = '{gemarkung}'"),
        ),
        (
            &*format!("flurstueckskennzeichen LIKE '{flur_prefix}%'"),
            format!("flurstueckskennzeichen LIKE '{flur_prefix}%'"),
        ),
        ("flur IN (1, 2, 3)", "flur IN (1, 2, 3)".to_string()),
        (
            "NOT (amtlicheflaeche < 1400) AND nenner IS NULL",
            "NOT (amtlicheflaeche < 1400) AND nenner IS NULL".to_string(),
        ),
        (
            "S_INTERSECTS(geometry, BBOX(10.40, 53.24, 10.42, 53.26))",
            "ST_Intersects(ST_Transform(geom, 4326), ST_MakeEnvelope(10.40, 53.24, 10.42, 53.26, 4326))"
                .to_string(),
        ),
        (
            "S_WITHIN(geometry, POLYGON((10.40 53.24, 10.42 53.24, 10.42 53.26, 10.40 53.26, 10.40 53.24)))",
            "ST_Within(ST_Transform(geom, 4326), ST_MakeEnvelope(10.40, 53.24, 10.42, 53.26, 4326))"
                .to_string(),
        ),
    ];
    for (filter, sql) in &cases {
        let expected = truth(&db, sql).await;
        assert!(
            !expected.is_empty() && expected.len() < 1000,
            "{filter}: {}",
            expected.len()
        );
        // Small pages: the next links must carry the filter.
        let served = harvest(
            &app,
            &format!("/collections/parcels/items?limit=97&{}", encode(filter)),
        )
        .await;
        assert_eq!(ids(&served), expected, "{filter}");
        let first = get_json(
            &app,
            &format!("/collections/parcels/items?limit=1&{}", encode(filter)),
        )
        .await;
        assert_eq!(first["numberMatched"], expected.len(), "{filter}");
        // Counted once: the next page repeats the first page's count.
        let next = first["links"]
            .as_array()
            .expect("links")
            .iter()
            .find(|l| l["rel"] == "next")
            .and_then(|l| l["href"].as_str())
            .expect("next");
        let second = get_json(&app, &next[next.find("/collections").expect("path")..]).await;
        assert_eq!(second["numberMatched"], expected.len(), "{filter}");
        // A first page that holds everything counts itself.
        let whole = get_json(
            &app,
            &format!("/collections/parcels/items?limit=1000&{}", encode(filter)),
        )
        .await;
        assert_eq!(whole["numberMatched"], expected.len(), "{filter}");
        assert_eq!(whole["numberReturned"], expected.len(), "{filter}");
    }

    // cql2-json, and geometries in the filter given in UTM.
    let json = r#"{"op":"and","args":[{"op":">","args":[{"property":"amtlicheflaeche"},1500]},
        {"op":"s_intersects","args":[{"property":"geometry"},{"type":"Polygon","coordinates":
        [[[593900,5900700],[594400,5900700],[594400,5901100],[593900,5901100],[593900,5900700]]]}]}]}"#;
    let served = harvest(
        &app,
        &format!(
            "/collections/parcels/items?limit=1000&filter-lang=cql2-json&filter-crs={UTM32}&{}",
            encode(json)
        ),
    )
    .await;
    let expected = truth(
        &db,
        "amtlicheflaeche > 1500 AND ST_Intersects(ST_Transform(geom, 25832), \
         ST_MakeEnvelope(593900, 5900700, 594400, 5901100, 25832))",
    )
    .await;
    assert!(!expected.is_empty());
    assert_eq!(ids(&served), expected);

    // A property filter by parcel key, with and without the padding.
    let (key, fid): (String, i64) = sqlx::query_as(
        "SELECT flurstueckskennzeichen, fid FROM data.parcels_v1 \
         WHERE flurstueckskennzeichen LIKE '%\\_\\_\\_\\_\\_\\_' ORDER BY fid LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .expect("a parcel without Nenner");
    for given in [key.as_str(), key.trim_end_matches('_')] {
        let page = get_json(
            &app,
            &format!("/collections/parcels/items?flurstueckskennzeichen={given}"),
        )
        .await;
        assert_eq!(
            ids(page["features"].as_array().expect("features")),
            [fid].into()
        );
    }
}

#[actix_web::test]
async fn bad_filters_are_400s_naming_the_parameter() {
    let db = TestDb::new().await;
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Parcels,
    )
    .await;
    let app = app(&db).await;
    let deep = vec!["flur = 1"; 150].join(" OR ");
    let cases = [
        (encode("nosuchthing = 1"), "filter", "not a queryable"),
        (
            encode("amtlicheflaeche > 5 garbage"),
            "filter",
            "not valid cql2-text",
        ),
        (
            encode("amtlicheflaeche = 'gross'"),
            "filter",
            "cannot be compared",
        ),
        (encode("gemarkung LIKE 5"), "filter", "string pattern"),
        (encode("amtlicheflaeche + 1 = 2"), "filter", "property"),
        (
            encode("T_BEFORE(amtlicheflaeche, DATE('2020-01-01'))"),
            "filter",
            "not supported",
        ),
        (
            encode("S_INTERSECTS(gemarkung, BBOX(0,0,1,1))"),
            "filter",
            "geometry",
        ),
        (encode(&deep), "filter", "at most"),
        (
            encode("S_INTERSECTS(geometry, POLYGON((10 53, 11 54)))"),
            "filter",
            "too few points",
        ),
        (
            format!("filter-lang=cql3&{}", encode("flur = 1")),
            "filter-lang",
            "cql2-text",
        ),
        (
            format!("filter-crs=EPSG:2056&{}", encode("flur = 1")),
            "filter-crs",
            "not served",
        ),
        ("foo=1".to_string(), "foo", "unknown parameter"),
        ("flur=eins".to_string(), "flur", "not an integer"),
        (
            format!("filter-lang=cql2-json&{}", encode("{\"op\":")),
            "filter",
            "not valid cql2-json",
        ),
    ];
    for (query, parameter, words) in &cases {
        let (status, _, body) = get(&app, &format!("/collections/parcels/items?{query}")).await;
        let body = String::from_utf8_lossy(&body);
        assert_eq!(status, 400, "{query}: {body}");
        let error: serde_json::Value = serde_json::from_str(&body).expect("JSON error");
        assert_eq!(error["parameter"], *parameter, "{query}: {body}");
        assert!(
            error["description"]
                .as_str()
                .unwrap_or_default()
                .contains(words),
            "{query}: {body}"
        );
    }
}

#[actix_web::test]
async fn properties_selects_the_attributes_served() {
    let db = TestDb::new().await;
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Parcels,
    )
    .await;
    let app = app(&db).await;
    let features = harvest(
        &app,
        "/collections/parcels/items?limit=300&properties=amtlicheflaeche,flurstueckskennzeichen&filter=flur%3D3",
    )
    .await;
    let expected = truth(&db, "flur = 3").await;
    assert_eq!(ids(&features), expected);
    for f in &features {
        let keys: Vec<&String> = f["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .collect();
        assert_eq!(keys.len(), 2, "{keys:?}");
        assert!(f["properties"]["amtlicheflaeche"].is_number());
        assert!(f["geometry"]["coordinates"].is_array());
    }
    let (status, _, body) = get(&app, "/collections/parcels/items?properties=flaeche").await;
    assert_eq!(status, 400);
    let error: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(error["parameter"], "properties");
}

#[actix_web::test]
async fn sortby_pages_through_every_feature_in_order() {
    let db = TestDb::new().await;
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Parcels,
    )
    .await;
    let app = app(&db).await;
    // nenner is NULL for most parcels: NULL sorts as the greatest value both ways.
    for (sortby, order, filter) in [
        (
            "-amtlicheflaeche,flur",
            "amtlicheflaeche DESC NULLS FIRST, flur ASC NULLS LAST",
            None,
        ),
        ("nenner", "nenner ASC NULLS LAST", None),
        (
            "-nenner,%2Bzaehler",
            "nenner DESC NULLS FIRST, zaehler ASC NULLS LAST",
            None,
        ),
        (
            "flur",
            "flur ASC NULLS LAST",
            Some("amtlicheflaeche > 1600"),
        ),
    ] {
        let condition = filter.unwrap_or("true");
        let expected: Vec<i64> = sqlx::query_scalar(&format!(
            "SELECT fid FROM data.parcels_v1 WHERE {condition} ORDER BY {order}, fid"
        ))
        .fetch_all(&db.pool)
        .await
        .expect("truth");
        let mut uri = format!("/collections/parcels/items?limit=97&sortby={sortby}");
        if let Some(f) = filter {
            uri.push('&');
            uri.push_str(&encode(f));
        }
        let served: Vec<i64> = harvest(&app, &uri)
            .await
            .iter()
            .map(|f| f["id"].as_i64().expect("id"))
            .collect();
        assert_eq!(served, expected, "{sortby}");
        // CSV pages by its Link header in the same order.
        let (_, headers, _) =
            crate::common::get_with_headers(&app, &format!("{uri}&f=csv"), &[]).await;
        let link = &headers["link"];
        assert!(link.contains("sortby="), "{link}");
    }
    let (status, _, body) = get(&app, "/collections/parcels/items?sortby=flaeche").await;
    assert_eq!(status, 400);
    let error: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(error["parameter"], "sortby");
}

#[actix_web::test]
async fn datetime_selects_by_the_temporal_attribute() {
    let db = TestDb::new().await;
    // One feature a day through 2024 (a leap year), with a date and a timestamp attribute.
    let path = crate::common::scratch_root().join("daily.geojsonl");
    let mut text = String::new();
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("date");
    for i in 0..366 {
        let day = start + chrono::Days::new(i);
        text.push_str(&format!(
            r#"{{"type":"Feature","properties":{{"day":"{day}","at":"{day}T12:00:00Z"}},"geometry":{{"type":"Point","coordinates":[10.4,53.2]}}}}"#
        ));
        text.push('\n');
    }
    std::fs::write(&path, &text).expect("write");
    db.try_ingest(kreisgeo::ingest::IngestRequest::new(&path, "daily"))
        .await
        .expect("ingest");
    // The same moments without the date: the timestamp is the temporal attribute.
    let moments = crate::common::scratch_root().join("moments.geojsonl");
    std::fs::write(&moments, text.replace(r#""day":""#, r#""label":"day "#)).expect("write");
    db.try_ingest(kreisgeo::ingest::IngestRequest::new(&moments, "moments"))
        .await
        .expect("ingest");
    for (datetime, matched) in [
        ("2024-03-01/2024-03-31", 31),
        ("2024-02-29", 1),
        ("2024-06-01T12:00:00Z", 1),
        ("2024-06-01T12:00:01Z/..", 213),
    ] {
        let page = get_json(
            &app_for(&db).await,
            &format!("/collections/moments/items?limit=1&datetime={datetime}"),
        )
        .await;
        assert_eq!(page["numberMatched"], matched, "moments {datetime}");
    }
    let _ = std::fs::remove_file(moments);
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Parcels,
    )
    .await;
    let app = app(&db).await;
    for (datetime, matched) in [
        ("2024-03-01/2024-03-31", 31),
        ("2024-02-29", 1),
        ("2024-12-01/..", 31),
        ("../2024-01-31", 31),
        ("2024-06-01T00:00:00Z/2024-06-01T23:59:59Z", 1),
        // On a date attribute a moment stands for its (UTC) day.
        ("2024-06-01T13:00:00%2B02:00/2024-06-02T00:00:00Z", 2),
    ] {
        let page = get_json(
            &app,
            &format!("/collections/daily/items?limit=1&datetime={datetime}"),
        )
        .await;
        assert_eq!(page["numberMatched"], matched, "{datetime}");
    }
    for (collection, datetime) in [
        ("daily", "yesterday"),
        ("daily", "2024-03-31/2024-03-01"),
        ("daily", "../.."),
        ("parcels", "2024-01-01"),
    ] {
        let (status, _, body) = get(
            &app,
            &format!("/collections/{collection}/items?datetime={datetime}"),
        )
        .await;
        assert_eq!(status, 400, "{collection} {datetime}");
        let error: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(error["parameter"], "datetime");
    }
    let _ = std::fs::remove_file(path);
}
