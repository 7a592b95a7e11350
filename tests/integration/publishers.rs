//! Every municipality as publisher (issue 23): a county runs the portal for two
//! municipalities. Each has its own IRI, contact and licence; keys bound to one publisher act
//! only on its datasets (and make new ones its); the DCAT catalog names each dataset's
//! publisher and can be harvested per publisher; CKAN lists one organization each and filters
//! by it, as a harvester of one organization asks.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use actix_web::test;
use serde_json::{json, Value as Json};

use crate::common::{self, get_json, send, TestApp, TestDb};
use kreisgeo::auth::Scope;
use kreisgeo::catalog::DatasetKind;

fn with_key(req: test::TestRequest, key: &str) -> test::TestRequest {
    req.insert_header(("X-API-Key", key.to_string()))
}

fn profile(name: &str, uri: &str, key: &str, license: &str) -> Json {
    json!({
        "name": name,
        "uri": uri,
        "municipalityKey": key,
        "contact": {"name": format!("Geodaten {name}"), "email": format!("geo@{key}.example")},
        "license": format!("http://dcat-ap.de/def/licenses/{license}"),
        "licenseAttributionByText": format!("© {name}"),
    })
}

async fn upload(app: &impl TestApp, dataset: &str, key: &str, fixture: &str) -> (u16, Json) {
    let req = with_key(
        test::TestRequest::post()
            .uri(&format!("/admin/datasets/{dataset}/versions?kind=aed"))
            .set_payload(std::fs::read(common::fixture(fixture)).unwrap()),
        key,
    );
    let (status, _, body) = send(app, req).await;
    if status != 202 {
        return (status, body);
    }
    let id = body["job"]["id"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, _, job) = send(
            app,
            with_key(
                test::TestRequest::get().uri(&format!("/admin/jobs/{id}")),
                key,
            ),
        )
        .await;
        if job["state"] == "succeeded" || job["state"] == "failed" {
            return (200, job);
        }
        assert!(Instant::now() < deadline, "job {id}: {job}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn owner(db: &TestDb, dataset: &str) -> Option<String> {
    sqlx::query_scalar("SELECT publisher_id FROM catalog.datasets WHERE id = $1")
        .bind(dataset)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

/// The catalog's triples as N-Triples lines.
async fn catalog(app: &impl TestApp, query: &str) -> BTreeSet<String> {
    let (status, _, body) = common::get(app, &format!("/catalog.ttl{query}")).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    oxttl::TurtleParser::new()
        .for_slice(&body)
        .map(|t| t.expect("Turtle").to_string())
        .collect()
}

#[actix_web::test]
async fn a_county_publishes_for_two_municipalities() {
    let db = TestDb::new().await;
    db.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    let app = common::app(&db).await;
    let county = kreisgeo::auth::create_key(&db.pool, "Kreis", &Scope::all())
        .await
        .unwrap()
        .key;
    let put = |path: &str, body: Json| test::TestRequest::put().uri(path).set_json(body);

    // The county's own publisher, then two municipalities.
    let (status, _, body) = send(
        &app,
        with_key(
            put(
                "/admin/catalog/publisher",
                json!({
                    "name": "Landkreis Nürnberger Land",
                    "uri": "https://www.nuernberger-land.de/",
                    "districtKey": "09574",
                    "contact": {"name": "Geodaten", "email": "geo@lra.example"},
                    "license": "http://dcat-ap.de/def/licenses/dl-by-de/2.0",
                }),
            ),
            &county,
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let lauf = profile(
        "Stadt Lauf a.d.Pegnitz",
        "https://www.lauf.de/",
        "09574138",
        "dl-zero-de/2.0",
    );
    let schwaig = profile(
        "Gemeinde Schwaig b.Nürnberg",
        "https://www.schwaig.de/",
        "09574145",
        "cc-by/4.0",
    );
    for (id, body) in [("lauf", &lauf), ("schwaig", &schwaig)] {
        let (status, _, answer) = send(
            &app,
            with_key(
                put(&format!("/admin/publishers/{id}"), body.clone()),
                &county,
            ),
        )
        .await;
        assert_eq!(status, 201, "{answer}");
    }
    let (status, _, _) = send(
        &app,
        with_key(put("/admin/publishers/lauf", lauf.clone()), &county),
    )
    .await;
    assert_eq!(status, 200, "replaced");
    let (status, _, body) = send(
        &app,
        with_key(put("/admin/publishers/Lauf%20X", lauf.clone()), &county),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    // The county's own organization name is taken.
    let (status, _, body) = send(
        &app,
        with_key(
            put("/admin/publishers/landkreis-nuernberger-land", lauf.clone()),
            &county,
        ),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let mut bad = lauf.clone();
    bad["municipalityKey"] = json!("0957413");
    let (status, _, body) =
        send(&app, with_key(put("/admin/publishers/lauf2", bad), &county)).await;
    assert_eq!(status, 400);
    assert!(
        body["description"]
            .as_str()
            .unwrap()
            .contains("municipalityKey"),
        "{body}"
    );

    let bound = |publisher: &str| Scope {
        publisher: Some(publisher.into()),
        ..Scope::all()
    };
    let lauf_key = kreisgeo::auth::create_key(&db.pool, "Lauf", &bound("lauf"))
        .await
        .unwrap()
        .key;
    let schwaig_key = kreisgeo::auth::create_key(&db.pool, "Schwaig", &bound("schwaig"))
        .await
        .unwrap()
        .key;
    assert!(kreisgeo::auth::create_key(&db.pool, "x", &bound("nowhere"))
        .await
        .is_err());

    // A municipality's key makes new datasets its own.
    let (_, job) = upload(
        &app,
        "lauf-aed",
        &lauf_key,
        "aed_osm_switzerland_2020-12_extract.geojson",
    )
    .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(owner(&db, "lauf-aed").await.as_deref(), Some("lauf"));
    let (_, job) = upload(&app, "schwaig-aed", &schwaig_key, "aed_koeln.geojson").await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(owner(&db, "schwaig-aed").await.as_deref(), Some("schwaig"));
    // Another publisher's jobs are not even there for a bound key.
    let schwaig_job = job["id"].as_i64().unwrap();
    let job_of = |key: &str| {
        with_key(
            test::TestRequest::get().uri(&format!("/admin/jobs/{schwaig_job}")),
            key,
        )
    };
    assert_eq!(send(&app, job_of(&lauf_key)).await.0, 404);
    assert_eq!(send(&app, job_of(&schwaig_key)).await.0, 200);
    assert_eq!(send(&app, job_of(&county)).await.0, 200);
    // A harvest would create a new dataset as the portal's: a bound key adds sources only to
    // its existing datasets.
    let source = json!({"url": "https://example.org/aed.geojson", "kind": "file"});
    let add = |dataset: &str| {
        with_key(
            test::TestRequest::post()
                .uri(&format!("/admin/datasets/{dataset}/sources"))
                .set_json(source.clone()),
            &lauf_key,
        )
    };
    let (status, _, body) = send(&app, add("lauf-neu")).await;
    assert_eq!(status, 403, "{body}");

    // … and acts on nothing else: another municipality's, the county's, the catalog-wide.
    let (status, body) = upload(&app, "lauf-aed", &schwaig_key, "aed_koeln.geojson").await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["description"].as_str().unwrap().contains("'lauf'"),
        "{body}"
    );
    let metadata = json!({"title": {"de": "Defis"}});
    let (status, _, _) = send(
        &app,
        with_key(
            put("/admin/datasets/aed/metadata", metadata.clone()),
            &lauf_key,
        ),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, _) = send(
        &app,
        with_key(test::TestRequest::get().uri("/admin/publishers"), &lauf_key),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, body) = send(
        &app,
        with_key(
            put("/admin/datasets/lauf-aed/metadata", metadata),
            &lauf_key,
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let denied: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM catalog.audit_log WHERE outcome = 'denied' AND key_id IS NOT NULL",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(denied, 3, "every refusal is audited");

    // DCAT: each dataset names its publisher, described as an agent; a municipality's dataset
    // takes its licence and is geocoded to the municipality.
    let base = "http://localhost:8080";
    let all = catalog(&app, "").await;
    let has = |t: &str| all.contains(t);
    let dct = "http://purl.org/dc/terms/";
    assert!(
        has(&format!(
            "<{base}/catalog/datasets/lauf-aed> <{dct}publisher> <https://www.lauf.de/>"
        )),
        "lauf"
    );
    assert!(has(&format!(
        "<{base}/catalog/datasets/schwaig-aed> <{dct}publisher> <https://www.schwaig.de/>"
    )));
    assert!(has(&format!(
        "<{base}/catalog/datasets/aed> <{dct}publisher> <https://www.nuernberger-land.de/>"
    )));
    assert!(has(&format!(
        "<{base}/catalog> <{dct}publisher> <https://www.nuernberger-land.de/>"
    )));
    assert!(has(
        "<https://www.lauf.de/> <http://xmlns.com/foaf/0.1/name> \"Stadt Lauf a.d.Pegnitz\"@de"
    ));
    assert!(has(&format!("<{base}/catalog/datasets/lauf-aed> <{dct}spatial> <http://dcat-ap.de/def/politicalGeocoding/municipalityKey/09574138>")));
    assert!(has(&format!("<{base}/catalog/datasets/aed> <{dct}spatial> <http://dcat-ap.de/def/politicalGeocoding/districtKey/09574>")));
    let licence_of = |dataset: &str| -> BTreeSet<String> {
        all.iter()
            .filter(|t| t.starts_with(&format!("<{base}/catalog/datasets/{dataset}#")))
            .filter(|t| t.contains(&format!("<{dct}license>")))
            .map(|t| t.rsplit(' ').next().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(
        licence_of("lauf-aed"),
        BTreeSet::from(["<http://dcat-ap.de/def/licenses/dl-zero-de/2.0>".to_string()]),
        "every distribution of Lauf's dataset under Lauf's licence"
    );
    assert_eq!(
        licence_of("schwaig-aed"),
        BTreeSet::from(["<http://dcat-ap.de/def/licenses/cc-by/4.0>".to_string()])
    );
    assert_eq!(
        licence_of("aed"),
        BTreeSet::from(["<http://dcat-ap.de/def/licenses/dl-by-de/2.0>".to_string()])
    );

    // A harvester of one publisher: its datasets only; an unknown publisher is named.
    let datasets = |triples: &BTreeSet<String>| -> usize {
        triples
            .iter()
            .filter(|t| t.ends_with("<http://www.w3.org/ns/dcat#Dataset>"))
            .count()
    };
    assert_eq!(datasets(&all), 3);
    let only_lauf = catalog(&app, "?publisher=lauf").await;
    assert_eq!(datasets(&only_lauf), 1);
    assert!(only_lauf
        .iter()
        .any(|t| t.starts_with(&format!("<{base}/catalog/datasets/lauf-aed>"))));
    let county_org = get_json(&app, "/api/3/action/package_show?id=aed").await["result"]
        ["organization"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        datasets(&catalog(&app, &format!("?publisher={county_org}")).await),
        1
    );
    let (status, _, body) = common::get(&app, "/catalog.ttl?publisher=nowhere").await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));

    // CKAN: one organization per publisher, packages in theirs, fq by organization.
    let orgs = get_json(&app, "/api/3/action/organization_list").await["result"].clone();
    let mut expected = vec![county_org.clone(), "lauf".into(), "schwaig".into()];
    expected.sort();
    assert_eq!(orgs, json!(expected));
    let full = get_json(&app, "/api/3/action/organization_list?all_fields=true").await;
    for org in full["result"].as_array().unwrap() {
        assert_eq!(org["package_count"], 1, "{org}");
    }
    let lauf_pkg = get_json(&app, "/api/3/action/package_show?id=lauf-aed").await["result"].clone();
    assert_eq!(lauf_pkg["organization"]["title"], "Stadt Lauf a.d.Pegnitz");
    assert_eq!(lauf_pkg["maintainer_email"], "geo@09574138.example");
    assert_eq!(
        lauf_pkg["license_id"],
        "http://dcat-ap.de/def/licenses/dl-zero-de/2.0"
    );
    let search = get_json(&app, "/api/3/action/package_search?fq=organization:schwaig").await;
    assert_eq!(search["result"]["count"], 1);
    assert_eq!(search["result"]["results"][0]["name"], "schwaig-aed");
    let shown = get_json(
        &app,
        "/api/3/action/organization_show?id=lauf&include_datasets=true",
    )
    .await;
    assert_eq!(shown["result"]["packages"].as_array().unwrap().len(), 1);

    // The county gives its dataset to Lauf; a municipality cannot move datasets.
    let give = |publisher: Json| {
        put(
            "/admin/datasets/aed/publisher",
            json!({ "publisher": publisher }),
        )
    };
    let (status, _, _) = send(&app, with_key(give(json!("lauf")), &lauf_key)).await;
    assert_eq!(status, 403);
    let (status, _, body) = send(&app, with_key(give(json!("nowhere")), &county)).await;
    assert_eq!(status, 400, "{body}");
    let (status, _, body) = send(&app, with_key(give(json!("lauf")), &county)).await;
    assert_eq!(status, 200, "{body}");
    let search = get_json(&app, "/api/3/action/package_search?fq=organization:lauf").await;
    assert_eq!(search["result"]["count"], 2);
    let (status, _, body) = send(
        &app,
        with_key(put("/admin/datasets/aed/metadata", json!({})), &lauf_key),
    )
    .await;
    assert_eq!(status, 200, "now Lauf's: {body}");

    // A publisher with datasets or keys stays.
    let (status, _, body) = send(
        &app,
        with_key(
            test::TestRequest::delete().uri("/admin/publishers/schwaig"),
            &county,
        ),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let listed = send(
        &app,
        with_key(test::TestRequest::get().uri("/admin/publishers"), &county),
    )
    .await
    .2;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    // Once its dataset is deleted and its key revoked, it goes; the tombstone stays listed.
    let (status, _, _) = send(
        &app,
        with_key(
            test::TestRequest::delete().uri("/admin/datasets/schwaig-aed"),
            &county,
        ),
    )
    .await;
    assert_eq!(status, 204);
    let schwaig_key_id: i64 =
        sqlx::query_scalar("SELECT id FROM catalog.api_keys WHERE publisher_id = 'schwaig'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    kreisgeo::auth::revoke_key(&db.pool, schwaig_key_id)
        .await
        .unwrap();
    let (status, _, body) = send(
        &app,
        with_key(
            test::TestRequest::delete().uri("/admin/publishers/schwaig"),
            &county,
        ),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let orgs = get_json(&app, "/api/3/action/organization_list").await["result"].clone();
    assert_eq!(orgs.as_array().unwrap().len(), 2, "{orgs}");
}
