//! `openapi/openapi.json` must be what the code generates.

#[test]
fn committed_openapi_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json");
    let generated = kreisgeo::api::openapi::openapi_json();
    if std::env::var_os("KREISGEO_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write openapi.json");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `make openapi` (or KREISGEO_BLESS=1 cargo test) and commit it"
    );
    let doc: serde_json::Value = serde_json::from_str(&generated).expect("valid JSON");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for path in [
        "/",
        "/conformance",
        "/api",
        "/collections",
        "/collections/{collectionId}",
        "/collections/{collectionId}/items",
        "/collections/{collectionId}/items/{featureId}",
        "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
}

/// What the server answers matches the schema its document gives for it: client generators
/// take the document literally.
#[actix_web::test]
async fn answers_match_their_documented_schemas() {
    use crate::common::{app, get_with_headers, TestDb};
    let db = TestDb::new().await;
    db.ingest(
        "aed_koeln.geojson",
        "aed",
        kreisgeo::catalog::DatasetKind::Aed,
    )
    .await;
    let app = app(&db).await;
    let doc: serde_json::Value =
        serde_json::from_str(&kreisgeo::api::openapi::openapi_json()).expect("JSON");
    for (path, uri) in [
        (
            "/collections/{collectionId}/downloads",
            "/collections/aed/downloads",
        ),
        (
            "/collections/{collectionId}/nearest",
            "/collections/aed/nearest?point=6.96,50.94",
        ),
        (
            "/collections/{collectionId}/at",
            "/collections/aed/at?point=6.96,50.94",
        ),
        (
            "/collections/{collectionId}/items",
            "/collections/aed/items?limit=2",
        ),
        ("/collections", "/collections"),
        ("/collections/{collectionId}", "/collections/aed"),
    ] {
        let content = &doc["paths"][path]["get"]["responses"]["200"]["content"];
        let schema = content
            .as_object()
            .and_then(|c| c.iter().find(|(media, _)| media.contains("json")))
            .map_or_else(
                || panic!("{path}: no JSON schema documented"),
                |(_, c)| c["schema"].clone(),
            );
        // The schema with the document's components beside it, so that its $refs resolve,
        // in JSON Schema: OpenAPI 3.0's `nullable` is no keyword of it.
        let mut root = schema;
        root["components"] = doc["components"].clone();
        nullable_to_json_schema(&mut root);
        let validator = jsonschema::validator_for(&root)
            .unwrap_or_else(|e| panic!("{path}: not a schema: {e}"));
        let (status, _, body) =
            get_with_headers(&app, uri, &[("Accept", "application/json")]).await;
        assert_eq!(status, 200, "{uri}");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON body");
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "{uri} does not match its schema: {errors:#?}"
        );
    }
}

/// OpenAPI 3.0's `nullable: true` as JSON Schema says it: `null` among the types.
fn nullable_to_json_schema(value: &mut serde_json::Value) {
    use serde_json::{json, Value};
    match value {
        Value::Object(map) => {
            for child in map.values_mut() {
                nullable_to_json_schema(child);
            }
            if map.remove("nullable") == Some(Value::Bool(true)) {
                if let Some(Value::String(t)) = map.get("type").cloned() {
                    map.insert("type".into(), json!([t, "null"]));
                } else {
                    let schema = Value::Object(std::mem::take(map));
                    map.insert("anyOf".into(), json!([schema, {"type": "null"}]));
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(nullable_to_json_schema),
        _ => {}
    }
}
