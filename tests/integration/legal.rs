//! The pages a public body's portal must have (issue 23): Impressum, Datenschutzerklärung,
//! Erklärung zur Barrierefreiheit and Leichte Sprache, linked from every HTML page, filled
//! from the publisher profile and the Land's defaults, saying what is still missing. (axe-core
//! checks them in the browser test.)

use actix_web::test;
use serde_json::Value as Json;

use crate::common::{app, get, get_with_headers, TestApp, TestDb};
use kreisgeo::catalog::DatasetKind;

async fn page(app: &impl TestApp, uri: &str) -> String {
    let (status, content_type, body) = get(app, uri).await;
    assert_eq!(status, 200, "{uri}");
    assert!(
        content_type.starts_with("text/html"),
        "{uri}: {content_type}"
    );
    String::from_utf8(body).unwrap()
}

const LINKS: [&str; 4] = [
    "href=\"/impressum?lang=",
    "href=\"/datenschutz?lang=",
    "href=\"/barrierefreiheit?lang=",
    "href=\"/leichte-sprache\"",
];

#[actix_web::test]
async fn every_page_links_the_legal_pages_and_they_say_what_the_county_entered() {
    let db = TestDb::new().await;
    db.ingest(
        "generated/aed_lueneburg_200_25832.geojson",
        "aed",
        DatasetKind::Aed,
    )
    .await;
    let app = app(&db).await;

    // Every kind of HTML page carries the footer.
    let browser = [("Accept", "text/html")];
    for uri in [
        "/?f=html",
        "/collections?f=html",
        "/collections/aed?f=html",
        "/collections/aed/items?f=html",
        "/collections/aed/items/1?f=html",
        "/map",
        "/api.html",
        "/impressum",
        "/leichte-sprache",
    ] {
        let html = page(&app, uri).await;
        for link in LINKS {
            assert!(html.contains(link), "{uri} lacks {link}");
        }
    }
    let (status, _, body) = get_with_headers(&app, "/catalog/datasets/aed", &browser).await;
    assert_eq!(status, 200);
    let html = String::from_utf8(body).unwrap();
    assert!(LINKS.iter().all(|l| html.contains(l)), "the dataset page");

    // Before the county enters anything: said plainly.
    let imprint = page(&app, "/impressum").await;
    assert!(imprint.contains("noch nicht eingetragen"), "{imprint}");
    assert!(imprint.contains("<html lang=\"de\""));

    // The county enters its details; wrong ones are named.
    let key = kreisgeo::auth::create_key(&db.pool, "test", &kreisgeo::auth::Scope::all())
        .await
        .expect("key")
        .key;
    let publisher = |legal: &str| {
        format!(
            r#"{{"name": "Landkreis Lüneburg", "uri": "https://www.landkreis-lueneburg.de/",
            "districtKey": "03355", "contact": {{"name": "Fachdienst Geodaten",
            "email": "geodaten@landkreis.example", "phone": "04131 26-0"}},
            "license": "http://dcat-ap.de/def/licenses/dl-by-de/2.0", "legal": {legal}}}"#
        )
    };
    let put = |body: String| {
        let key = key.clone();
        let app = &app;
        async move {
            let resp = test::call_service(
                app,
                test::TestRequest::put()
                    .uri("/admin/catalog/publisher")
                    .insert_header(("Content-Type", "application/json"))
                    .insert_header(("X-API-Key", key))
                    .set_payload(body)
                    .to_request(),
            )
            .await;
            let status = resp.status().as_u16();
            let body: Json =
                serde_json::from_slice(&test::read_body(resp).await).unwrap_or(Json::Null);
            (status, body)
        }
    };
    for (bad, parameter) in [
        (
            r#"{"accessibilityStatus": "mostly"}"#,
            "legal.accessibilityStatus",
        ),
        (
            r#"{"accessibilityStatementDate": "5.12.2026"}"#,
            "legal.accessibilityStatementDate",
        ),
        (
            r#"{"dataProtectionOfficer": {"name": "DSB"}}"#,
            "legal.dataProtectionOfficer",
        ),
        (r#"{"impressum": "x"}"#, "body"),
    ] {
        let (status, body) = put(publisher(bad)).await;
        assert_eq!(
            (status, body["parameter"].as_str()),
            (400, Some(parameter)),
            "{bad}: {body}"
        );
    }
    let legal = r#"{"address": ["Auf dem Michaelisklosterhof 4", "21335 Lüneburg"],
        "representedBy": "Landrat Jens Böther",
        "dataProtectionOfficer": {"name": "Datenschutzbeauftragte", "email": "datenschutz@landkreis.example"},
        "logRetentionDays": 14,
        "accessibilityLimits": ["Ältere Bebauungspläne liegen nur als gescannte PDF vor."]}"#;
    let (status, body) = put(publisher(legal)).await;
    assert_eq!(status, 200, "{body}");

    let imprint = page(&app, "/impressum").await;
    for expected in [
        "Landkreis Lüneburg",
        "21335 Lüneburg",
        "Landrat Jens Böther",
        "geodaten@landkreis.example",
        "§ 5 Digitale-Dienste-Gesetz",
    ] {
        assert!(imprint.contains(expected), "Impressum lacks {expected}");
    }
    assert!(!imprint.contains("Der Betreiber hat seine Angaben noch nicht eingetragen"));
    let privacy = page(&app, "/datenschutz").await;
    for expected in [
        "datenschutz@landkreis.example",
        "nach 14 Tagen gelöscht",
        "IP-Adresse",
        "keine Cookies",
        "Landesbeauftragte für den Datenschutz Niedersachsen",
        "Datenschutzgesetz des Landes Niedersachsen",
    ] {
        assert!(privacy.contains(expected), "Datenschutz lacks {expected}");
    }
    let statement = page(&app, "/barrierefreiheit").await;
    for expected in [
        "teilweise vereinbar",
        "Die Karte:",
        "Ältere Bebauungspläne",
        "axe-core",
        kreisgeo::legal::SELF_EVALUATION_DATE,
        "Durchsetzungsverfahren",
        "04131 26-0",
    ] {
        assert!(
            statement.contains(expected),
            "the statement lacks {expected}"
        );
    }
    let enforcement = kreisgeo::legal::land("03355").unwrap().enforcement_body;
    assert!(
        statement.contains(&kreisgeo::html::escape(enforcement)),
        "the statement lacks Niedersachsen's enforcement body"
    );
    // In English, with the German version authoritative.
    let english = page(&app, "/barrierefreiheit?lang=en").await;
    assert!(english.contains("<html lang=\"en\""));
    assert!(english.contains("partially compliant") && english.contains("authoritative"));
    // Leichte Sprache is German, whatever the visitor's language.
    let easy = page(&app, "/leichte-sprache?lang=en").await;
    assert!(easy.contains("<html lang=\"de\""));
    assert!(easy.contains("112") && easy.contains("geodaten@landkreis.example"));
}
