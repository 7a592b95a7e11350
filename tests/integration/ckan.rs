//! The CKAN Action API subset, field by field against the shapes CKAN 2.10 answers with.
//!
//! The reference shapes below are CKAN 2.10's: the envelope of `ckan/views/api.py`
//! (`help`, `success`, `result` | `error`), the package dict of
//! `ckan/lib/dictization/model_dictize.py::package_dictize` with the default show schema
//! (`ckan/logic/schema.py`), its resources, tags, extras and organization, and
//! `package_search`'s result (`count`, `facets`, `results`, `sort`, `search_facets`).

use actix_web::test;
use serde_json::Value as Json;

use crate::common::{app, get_json, TestApp, TestDb};
use kreisgeo::catalog::DatasetKind;

/// JSON types: s string, n number, b boolean, o object, a array, z null, `s|z` either.
const PACKAGE: &[(&str, &str)] = &[
    ("author", "s|z"),
    ("author_email", "s|z"),
    ("creator_user_id", "s"),
    ("extras", "a"),
    ("groups", "a"),
    ("id", "s"),
    ("isopen", "b"),
    ("license_id", "s"),
    ("license_title", "s"),
    ("license_url", "s"),
    ("maintainer", "s|z"),
    ("maintainer_email", "s|z"),
    ("metadata_created", "s"),
    ("metadata_modified", "s"),
    ("name", "s"),
    ("notes", "s|z"),
    ("num_resources", "n"),
    ("num_tags", "n"),
    ("organization", "o"),
    ("owner_org", "s"),
    ("private", "b"),
    ("relationships_as_object", "a"),
    ("relationships_as_subject", "a"),
    ("resources", "a"),
    ("state", "s"),
    ("tags", "a"),
    ("title", "s"),
    ("type", "s"),
    ("url", "s|z"),
    ("version", "s|z"),
];

const RESOURCE: &[(&str, &str)] = &[
    ("cache_last_updated", "s|z"),
    ("cache_url", "s|z"),
    ("created", "s"),
    ("datastore_active", "b"),
    ("description", "s"),
    ("format", "s"),
    ("hash", "s"),
    ("id", "s"),
    ("last_modified", "s|z"),
    ("metadata_modified", "s"),
    ("mimetype", "s|z"),
    ("mimetype_inner", "s|z"),
    ("name", "s"),
    ("package_id", "s"),
    ("position", "n"),
    ("resource_type", "s|z"),
    ("size", "n|z"),
    ("state", "s"),
    ("url", "s"),
    ("url_type", "s|z"),
];

const ORGANIZATION: &[(&str, &str)] = &[
    ("approval_status", "s"),
    ("created", "s"),
    ("description", "s"),
    ("id", "s"),
    ("image_url", "s"),
    ("is_organization", "b"),
    ("name", "s"),
    ("state", "s"),
    ("title", "s"),
    ("type", "s"),
];

const TAG: &[(&str, &str)] = &[
    ("display_name", "s"),
    ("id", "s"),
    ("name", "s"),
    ("state", "s"),
    ("vocabulary_id", "s|z"),
];

fn type_of(v: &Json) -> char {
    match v {
        Json::String(_) => 's',
        Json::Number(_) => 'n',
        Json::Bool(_) => 'b',
        Json::Object(_) => 'o',
        Json::Array(_) => 'a',
        Json::Null => 'z',
    }
}

/// Exactly the reference keys, each of an allowed type.
fn assert_shape(what: &str, value: &Json, shape: &[(&str, &str)]) {
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{what}: not an object"));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected: Vec<&str> = shape.iter().map(|(k, _)| *k).collect();
    expected.sort_unstable();
    assert_eq!(keys, expected, "{what}: keys");
    for (key, types) in shape {
        let t = type_of(&object[*key]);
        assert!(
            types.split('|').any(|a| a.starts_with(t)),
            "{what}.{key}: {} is not {types}",
            object[*key]
        );
    }
}

/// CKAN's time format: naive UTC with microseconds.
fn assert_ckan_time(what: &str, t: &Json) {
    let t = t.as_str().unwrap_or_else(|| panic!("{what}: {t}"));
    assert!(
        chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.6f").is_ok()
            && !t.ends_with('Z'),
        "{what}: {t}"
    );
}

async fn post(app: &impl TestApp, action: &str, body: &str) -> (u16, Json) {
    let resp = test::call_service(
        app,
        test::TestRequest::post()
            .uri(&format!("/api/3/action/{action}"))
            .insert_header(("Content-Type", "application/json"))
            .set_payload(body.to_string())
            .to_request(),
    )
    .await;
    let status = resp.status().as_u16();
    (
        status,
        serde_json::from_slice(&test::read_body(resp).await).expect("JSON"),
    )
}

async fn get_status(app: &impl TestApp, uri: &str) -> (u16, Json) {
    let resp = test::call_service(app, test::TestRequest::get().uri(uri).to_request()).await;
    let status = resp.status().as_u16();
    (
        status,
        serde_json::from_slice(&test::read_body(resp).await).expect("JSON"),
    )
}

#[actix_web::test]
async fn ckan_action_api_in_ckan_shapes() {
    let db = TestDb::new().await;
    db.ingest(
        "generated/aed_lueneburg_200_25832.geojson",
        "aed",
        DatasetKind::Aed,
    )
    .await;
    db.ingest(
        "kreise_niedersachsen_25832.fgb",
        "kreise",
        DatasetKind::Generic,
    )
    .await;
    kreisgeo::downloads::build::build_missing(&db.pool)
        .await
        .expect("downloads");
    let app = app(&db).await;

    // Envelope.
    let list = get_json(&app, "/api/3/action/package_list").await;
    assert_eq!(list["success"], true);
    assert!(list["help"]
        .as_str()
        .is_some_and(|h| h.ends_with("/api/3/action/help_show?name=package_list")));
    assert_eq!(list["result"], serde_json::json!(["aed", "kreise"]));
    let limited = get_json(&app, "/api/3/action/package_list?limit=1&offset=1").await;
    assert_eq!(limited["result"], serde_json::json!(["kreise"]));

    // package_show by name and by id, the same package.
    let shown = get_json(&app, "/api/3/action/package_show?id=aed").await;
    let package = &shown["result"];
    assert_shape("package", package, PACKAGE);
    let by_id = get_json(
        &app,
        &format!(
            "/api/3/action/package_show?id={}",
            package["id"].as_str().expect("id")
        ),
    )
    .await;
    assert_eq!(by_id["result"], *package);
    assert!(uuid::Uuid::parse_str(package["id"].as_str().expect("id")).is_ok());
    assert_eq!(package["type"], "dataset");
    assert_eq!(package["state"], "active");
    assert_ckan_time("metadata_created", &package["metadata_created"]);
    assert_ckan_time("metadata_modified", &package["metadata_modified"]);
    assert_shape("organization", &package["organization"], ORGANIZATION);
    assert_eq!(package["owner_org"], package["organization"]["id"]);
    let resources = package["resources"].as_array().expect("resources");
    assert_eq!(resources.len(), 7, "the API and six downloads");
    assert_eq!(package["num_resources"], 7);
    for (i, r) in resources.iter().enumerate() {
        assert_shape(&format!("resource {i}"), r, RESOURCE);
        assert_eq!(r["position"], i);
        assert_eq!(r["package_id"], package["id"]);
    }
    let fgb = resources
        .iter()
        .find(|r| r["name"] == "aed_25832.fgb")
        .expect("FlatGeobuf resource");
    let (_, _, body) = crate::common::get(
        &app,
        &fgb["url"].as_str().expect("url")["http://localhost:8080".len()..],
    )
    .await;
    assert_eq!(fgb["size"], body.len());
    let tags = package["tags"].as_array().expect("tags");
    assert_eq!(package["num_tags"], tags.len());
    assert!(!tags.is_empty());
    for t in tags {
        assert_shape("tag", t, TAG);
    }
    for e in package["extras"].as_array().expect("extras") {
        assert_shape("extra", e, &[("key", "s"), ("value", "s")]);
    }
    let extra = |key: &str| {
        package["extras"]
            .as_array()
            .and_then(|e| e.iter().find(|e| e["key"] == key))
            .map(|e| e["value"].clone())
    };
    let spatial: Json =
        serde_json::from_str(extra("spatial").expect("spatial").as_str().expect("text"))
            .expect("GeoJSON");
    assert_eq!(spatial["type"], "Polygon");
    assert!(extra("theme")
        .expect("theme")
        .as_str()
        .expect("text")
        .contains("data-theme/HEAL"));
    assert_eq!(
        package["license_id"],
        "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
    );

    // package_search: count, paging, q, fq on organization, tags and modification time.
    let org = package["organization"]["name"]
        .as_str()
        .expect("org")
        .to_string();
    let all = get_json(&app, "/api/3/action/package_search?rows=1&start=0").await;
    let result = &all["result"];
    let mut keys: Vec<&String> = result.as_object().expect("result").keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["count", "facets", "results", "search_facets", "sort"]
    );
    assert_eq!(result["count"], 2);
    assert_eq!(result["results"].as_array().map(Vec::len), Some(1));
    for (query, expected) in [
        ("q=defibrillatoren", vec!["aed"]),
        ("q=*:*&sort=name%20asc", vec!["aed", "kreise"]),
        (
            &format!("fq=organization:{org}&sort=name%20desc"),
            vec!["kreise", "aed"],
        ),
        ("fq=organization:elsewhere", vec![]),
        ("fq=tags:AED", vec!["aed"]),
        ("fq=tags:%22Erste%20Hilfe%22", vec!["aed"]),
        (
            "fq=metadata_modified:%5B2000-01-01T00:00:00Z%20TO%20*%5D&sort=name%20asc",
            vec!["aed", "kreise"],
        ),
        (
            "fq=metadata_modified:%5B2999-01-01T00:00:00Z%20TO%20*%5D",
            vec![],
        ),
        ("fq=res_format:GPKG", vec![]),
        (
            "fq=res_format:GeoPackage&sort=name%20asc",
            vec!["aed", "kreise"],
        ),
    ] {
        let found = get_json(&app, &format!("/api/3/action/package_search?{query}")).await;
        let names: Vec<&str> = found["result"]["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|p| p["name"].as_str().expect("name"))
            .collect();
        assert_eq!(names, expected, "{query}");
        assert_eq!(found["result"]["count"], expected.len(), "{query}");
    }
    // ckanapi posts JSON.
    let (status, found) = post(&app, "package_search", r#"{"q": "Landkreise", "rows": 5}"#).await;
    assert_eq!(status, 200);
    assert_eq!(found["result"]["results"][0]["name"], "kreise");
    let (status, shown) = post(&app, "package_show", r#"{"id": "kreise"}"#).await;
    assert_eq!(
        (status, shown["result"]["name"].as_str()),
        (200, Some("kreise"))
    );

    // organization_list, status_show.
    let orgs = get_json(&app, "/api/3/action/organization_list").await;
    assert_eq!(orgs["result"], serde_json::json!([org]));
    let full = get_json(&app, "/api/3/action/organization_list?all_fields=true").await;
    assert_eq!(full["result"][0]["package_count"], 2);
    assert_eq!(full["result"][0]["id"], package["organization"]["id"]);
    // organization_show, as the stock CKAN harvester asks: by name or id, with its datasets.
    for id in [org.as_str(), full["result"][0]["id"].as_str().expect("id")] {
        let shown = get_json(
            &app,
            &format!("/api/3/action/organization_show?id={id}&include_datasets=true"),
        )
        .await;
        assert_eq!(shown["success"], true, "{shown}");
        assert_eq!(shown["result"]["name"], org.as_str());
        assert_eq!(shown["result"]["package_count"], 2);
        let names: Vec<&str> = shown["result"]["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(names.len(), 2, "{shown}");
    }
    let (code, body) = get_status(&app, "/api/3/action/organization_show?id=nope").await;
    assert_eq!(
        (code, body["error"]["__type"].as_str()),
        (404, Some("Not Found Error"))
    );
    let status = get_json(&app, "/api/3/action/status_show").await;
    assert_eq!(status["result"]["ckan_version"], "2.10.4");
    assert!(status["result"]["site_url"].is_string());

    // Errors in CKAN's shapes and codes.
    let (code, body) = get_status(&app, "/api/3/action/package_show?id=nope").await;
    assert_eq!(code, 404);
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["__type"], "Not Found Error");
    let (code, body) = get_status(&app, "/api/3/action/package_search?rows=-1").await;
    assert_eq!(
        (code, body["error"]["__type"].as_str()),
        (409, Some("Validation Error"))
    );
    assert!(body["error"]["rows"].is_array(), "{body}");
    let (code, body) = get_status(&app, "/api/3/action/package_search?fq=owner:x").await;
    assert_eq!(code, 409);
    assert!(body["error"]["fq"].is_array(), "{body}");
    let (code, body) = get_status(&app, "/api/3/action/package_create").await;
    assert_eq!(
        (code, body["error"]["__type"].as_str()),
        (400, Some("Bad Request"))
    );
    assert_eq!(body["success"], false);
    let (code, body) = post(&app, "package_show", "{not json").await;
    assert_eq!((code, body["success"].as_bool()), (409, Some(false)));
}

#[actix_web::test]
async fn the_search_index_follows_every_change_and_stems_german() {
    let db = TestDb::new().await;
    db.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    db.ingest(
        "kreise_niedersachsen_25832.fgb",
        "kreise",
        DatasetKind::Generic,
    )
    .await;
    let app = app(&db).await;
    let names = |found: &Json| -> Vec<String> {
        found["result"]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };
    let search = |query: &str| format!("/api/3/action/package_search?{query}");
    // A plural finds the singular keyword (German stemming); a fragment still finds its word.
    assert_eq!(
        names(&get_json(&app, &search("q=Defibrillatoren")).await),
        ["aed"]
    );
    assert_eq!(names(&get_json(&app, &search("q=defibri")).await), ["aed"]);
    assert_eq!(
        names(&get_json(&app, &search("fq=tags:AED")).await),
        ["aed"]
    );
    // By the CKAN id as soon as it is loaded.
    let shown = get_json(&app, "/api/3/action/package_show?id=aed").await;
    let uuid = shown["result"]["id"].as_str().unwrap().to_string();
    let by_id = get_json(&app, &format!("/api/3/action/package_show?id={uuid}")).await;
    assert_eq!(by_id["result"]["name"], "aed");

    // New keywords: the old ones no longer find it, the new ones do.
    kreisgeo::catalog::repo::set_metadata(
        &db.pool,
        "aed",
        &serde_json::json!({"keywords": ["Notfallversorgung"]}),
    )
    .await
    .unwrap();
    assert!(names(&get_json(&app, &search("fq=tags:AED")).await).is_empty());
    assert_eq!(
        names(&get_json(&app, &search("fq=tags:Notfallversorgung")).await),
        ["aed"]
    );
    assert_eq!(
        names(&get_json(&app, &search("q=notfallversorgung")).await),
        ["aed"]
    );
    // Sorted by title, both directions, paged.
    let asc = names(&get_json(&app, &search("sort=title_string%20asc&rows=1")).await);
    let desc = names(&get_json(&app, &search("sort=title_string%20desc&rows=1")).await);
    assert_ne!(asc, desc);
    let second = get_json(&app, &search("sort=title_string%20asc&rows=1&start=1")).await;
    assert_eq!(names(&second), desc);
    assert_eq!(second["result"]["count"], 2);
    // Past the end: no results, the count still right.
    let past = get_json(&app, &search("rows=5&start=10")).await;
    assert_eq!(past["result"]["count"], 2);
    assert!(names(&past).is_empty());
    // package_list pages by name.
    let list = get_json(&app, "/api/3/action/package_list?limit=1&offset=1").await;
    assert_eq!(list["result"], serde_json::json!(["kreise"]));
}
