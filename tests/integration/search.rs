//! `GET /search` (issue 20): official addresses (Essen's WFS page), an OSM extract's addresses
//! and places (Lauf) and ALKIS parcel keys, found as citizens type them: misspelt, with
//! `Str.` for `Straße`, with the suffix apart, with or without the town.

use serde_json::Value as Json;

use crate::common::{app, get, get_json, get_with_headers, TestDb};
use kreisgeo::catalog::DatasetKind;
use kreisgeo::ingest::IngestRequest;

fn uri(q: &str, more: &str) -> String {
    let mut u = url_encoded(q);
    u.insert_str(0, "/search?q=");
    u.push_str(more);
    u
}

fn url_encoded(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn top(answer: &Json) -> &Json {
    &answer["features"][0]
}

async fn portal() -> TestDb {
    let db = TestDb::new().await;
    db.ingest(
        "wfs/essen_hauskoordinaten_wfs_page000.gml",
        "adressen",
        DatasetKind::Addresses,
    )
    .await;
    db.try_ingest(IngestRequest {
        kind: DatasetKind::Osm,
        ..IngestRequest::new(
            crate::common::fixture("osm/lauf-an-der-pegnitz_2020-01-15.osm.pbf"),
            "osm",
        )
    })
    .await
    .expect("OSM");
    db.ingest(
        "nrw_alkis_flurstueck_25832.geojson",
        "flurstuecke",
        DatasetKind::Parcels,
    )
    .await;
    db
}

#[actix_web::test]
async fn misspelt_addresses_land_on_the_right_house() {
    let db = portal().await;
    let app = app(&db).await;
    for q in [
        "Aachener Straße 42 A",
        "aachner str 42a",
        "Aachener Strasse 42A, Essen",
        "Aahcener Str. 42 a",
    ] {
        let answer = get_json(&app, &uri(q, "")).await;
        let hit = top(&answer);
        assert_eq!(hit["properties"]["kind"], "address", "{q}: {answer}");
        assert_eq!(hit["properties"]["street"], "Aachener Str.", "{q}");
        assert_eq!(hit["properties"]["housenumber"], "42A", "{q}");
        assert_eq!(hit["properties"]["dataset"], "adressen");
        // The hit is the feature it names, at its place.
        let id = hit["properties"]["id"].as_i64().expect("id");
        let feature = get_json(&app, &format!("/collections/adressen/items/{id}")).await;
        assert_eq!(feature["properties"]["house_number_suffix"], "A");
        let (a, b) = (
            &hit["geometry"]["coordinates"],
            &feature["geometry"]["coordinates"],
        );
        for i in 0..2 {
            let d = a[i].as_f64().unwrap() - b[i].as_f64().unwrap();
            assert!(d.abs() < 1e-7, "{a} vs {b}");
        }
    }

    // An OSM address of Lauf, its street misspelt by a dropped letter.
    let table = db.table_of("osm").await;
    let (street, number): (String, String) = sqlx::query_as(&format!(
        "SELECT street, housenumber FROM data.\"{table}\" WHERE layer = 'address' \
           AND length(street) > 10 AND street LIKE '%straße' AND housenumber ~ '^[0-9]+$' \
         ORDER BY fid LIMIT 1"
    ))
    .fetch_one(&db.pool)
    .await
    .expect("an OSM address");
    let typed = format!("{}{} {number}, Lauf", &street[..2], &street[3..]);
    let answer = get_json(&app, &uri(&typed.replace("straße", "str."), "")).await;
    assert_eq!(
        top(&answer)["properties"]["street"],
        street.as_str(),
        "{typed}: {answer}"
    );
    assert_eq!(top(&answer)["properties"]["housenumber"], number.as_str());
    assert_eq!(top(&answer)["properties"]["dataset"], "osm");

    // Places, and a town's beginning while typing.
    let answer = get_json(&app, &uri("Lauf an der Pegnitz", "")).await;
    assert_eq!(top(&answer)["properties"]["kind"], "place");
    let answer = get_json(&app, &uri("Aachen", "&limit=3")).await;
    assert!(
        answer["features"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["properties"]["label"] == "Aachener Str."),
        "{answer}"
    );

    // Only what lies in the box.
    let answer = get_json(&app, &uri("Aachener Str 42a", "&bbox=11.2,49.4,11.4,49.6")).await;
    assert!(
        answer["features"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["properties"]["dataset"] == "osm"),
        "{answer}"
    );
}

#[actix_web::test]
async fn parcel_keys_in_their_common_spellings() {
    let db = portal().await;
    let app = app(&db).await;
    for q in [
        "05329001100085______",
        "05329001100085",
        "053290-011-00085",
        "05 3290 011 00085",
        "3290-11-85",
        "Gemarkung 3290 Flur 11 Flurstück 85",
    ] {
        let answer = get_json(&app, &uri(q, "")).await;
        let hit = top(&answer);
        assert_eq!(hit["properties"]["kind"], "parcel", "{q}: {answer}");
        assert_eq!(hit["properties"]["dataset"], "flurstuecke");
        assert!(hit["properties"]["label"]
            .as_str()
            .unwrap()
            .contains("05329001100085______"));
    }
    let answer = get_json(&app, &uri("3290-11-86", "")).await;
    assert!(answer["features"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["properties"]["kind"] != "parcel"));
}

#[actix_web::test]
async fn bad_searches_say_which_parameter_and_a_new_version_is_searched_at_once() {
    let db = portal().await;
    let app = app(&db).await;
    for (query, parameter) in [
        ("/search".to_string(), "q"),
        ("/search?q=%20".to_string(), "q"),
        (uri(&"x".repeat(201), ""), "q"),
        (uri("Aachener", "&limit=0"), "limit"),
        (uri("Aachener", "&limit=51"), "limit"),
        (uri("Aachener", "&bbox=1,2,3"), "bbox"),
    ] {
        let (status, _, body) = get(&app, &query).await;
        assert_eq!(status, 400, "{query}");
        let body: Json = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["parameter"], parameter, "{query}: {body}");
    }
    // Cached copies are revalidated with the versions searched.
    let (_, headers, _) = get_with_headers(&app, &uri("Aachener Str 42a", ""), &[]).await;
    let etag = headers.get("etag").expect("etag").clone();
    let (status, _, _) = get_with_headers(
        &app,
        &uri("Aachener Str 42a", ""),
        &[("If-None-Match", &etag)],
    )
    .await;
    assert_eq!(status, 304);

    // The addresses go: the next search no longer finds them.
    assert!(
        kreisgeo::catalog::repo::delete_dataset(&db.pool, "adressen")
            .await
            .expect("delete")
    );
    let answer = get_json(&app, &uri("Aachener Str 42a", "")).await;
    assert!(
        answer["features"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["properties"]["dataset"] != "adressen"),
        "{answer}"
    );
}

#[actix_web::test]
async fn free_text_on_items_finds_any_text_attribute() {
    let db = TestDb::new().await;
    db.ingest(
        "wfs/essen_hauskoordinaten_wfs_page000.gml",
        "adressen",
        DatasetKind::Addresses,
    )
    .await;
    let app = app(&db).await;
    let count = |street: &str| {
        let pool = db.pool.clone();
        let street = street.to_string();
        async move {
            let table = sqlx::query_scalar::<_, String>(
                "SELECT v.table_name FROM catalog.datasets d JOIN catalog.versions v \
                 ON v.id = d.active_version WHERE d.id = 'adressen'",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            sqlx::query_scalar::<_, i64>(&format!(
                "SELECT count(*) FROM data.\"{table}\" WHERE street = $1"
            ))
            .bind(street)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    // Case-insensitive, any text attribute (here the street and the written-out address).
    let page = get_json(&app, "/collections/adressen/items?q=aktienSTR&limit=1000").await;
    let features = page["features"].as_array().unwrap();
    assert_eq!(features.len() as i64, count("Aktienstr.").await);
    // Terms are alternatives.
    let both = get_json(
        &app,
        "/collections/adressen/items?q=aktienstr,%20adlerstr&limit=1000",
    )
    .await;
    assert_eq!(
        both["features"].as_array().unwrap().len() as i64,
        count("Aktienstr.").await + count("Adlerstr.").await
    );
    // LIKE's wildcards are plain characters here; next links carry q.
    let none = get_json(&app, "/collections/adressen/items?q=%25").await;
    assert_eq!(none["features"].as_array().unwrap().len(), 0);
    let paged = get_json(&app, "/collections/adressen/items?q=aktienstr&limit=10").await;
    let next = paged["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .expect("next")["href"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(next.contains("q=aktienstr"), "{next}");
    let (status, _, body) = get(
        &app,
        &format!("/collections/adressen/items?q={}", "a,".repeat(30)),
    )
    .await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
}
