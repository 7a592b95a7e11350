//! An INSPIRE download service (issue 23): each collection links its licence, its ISO 19139
//! metadata record and each bulk download (type, length, language); the record is valid
//! against the ISO 19139 schemas (`tests/support/iso19139_check.py`, offline, with the
//! schemas of bas-metadata-library from PyPI) and says what the DCAT-AP.de catalog says.

use std::path::Path;
use std::process::Command;

use crate::common::{self, get, get_json, TestDb};
use kreisgeo::catalog::DatasetKind;

/// Validates an ISO 19139 record offline; `Err` with the validator's output.
fn validate(xml: &[u8]) -> Result<(), String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = std::env::var_os("KREISGEO_ISO_PYTHON")
        .map_or_else(|| manifest.join("target/py-iso/bin/python"), Into::into);
    assert!(
        Path::new(&python).exists(),
        "no Python with lxml and the ISO 19139 schemas at {}: run scripts/install-deps.sh --test",
        Path::new(&python).display()
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("record.xml");
    std::fs::write(&file, xml).unwrap();
    let out = Command::new(&python)
        .arg(manifest.join("tests/support/iso19139_check.py"))
        .arg(&file)
        .output()
        .expect("python runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && said.trim() == "valid" {
        Ok(())
    } else {
        Err(said)
    }
}

#[actix_web::test]
async fn collections_are_an_inspire_download_service_with_valid_iso_metadata() {
    let db = TestDb::new().await;
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Parcels,
    )
    .await;
    db.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    let built = kreisgeo::downloads::build::build_missing(&db.pool)
        .await
        .expect("downloads");
    assert!(built > 0);
    let app = common::app(&db).await;

    let collection = get_json(&app, "/collections/parcels").await;
    let links = collection["links"].as_array().unwrap();
    let with = |rel: &str| -> Vec<&serde_json::Value> {
        links.iter().filter(|l| l["rel"] == rel).collect()
    };
    let licence = with("license");
    assert_eq!(licence.len(), 1, "{links:?}");
    assert_eq!(
        licence[0]["href"],
        "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
    );
    let described: Vec<&str> = with("describedby")
        .iter()
        .filter(|l| l["type"] == "application/xml")
        .map(|l| l["href"].as_str().unwrap())
        .collect();
    assert_eq!(described.len(), 1, "{links:?}");
    let enclosures = with("enclosure");
    let files: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM catalog.downloads f \
         JOIN catalog.datasets d ON d.active_version = f.version_id WHERE d.id = 'parcels'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(files > 0);
    assert_eq!(
        enclosures.len() as i64,
        files,
        "one enclosure per bulk download"
    );
    for e in &enclosures {
        assert!(e["type"].as_str().is_some_and(|t| !t.is_empty()), "{e}");
        assert_eq!(e["hreflang"], "de");
        let length = e["length"].as_i64().expect("length");
        // Each enclosure is there, as long as it says.
        let href = e["href"].as_str().unwrap();
        let path = href
            .split_once("/collections/")
            .map(|(_, p)| format!("/collections/{p}"))
            .unwrap();
        let (status, _, body) = get(&app, &path).await;
        assert_eq!(status, 200, "{href}");
        assert_eq!(body.len() as i64, length, "{href}");
    }

    // The landing page links the service's metadata.
    let landing = get_json(&app, "/").await;
    assert!(
        landing["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["rel"] == "service-meta"),
        "{landing}"
    );

    // The ISO record: valid, and saying what the catalog says.
    let path = described[0]
        .split_once("8080")
        .map_or(described[0], |(_, p)| p)
        .to_string();
    let (status, content_type, xml) = get(&app, &path).await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("application/xml"),
        "{content_type}"
    );
    validate(&xml).unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&xml)));
    let text = String::from_utf8_lossy(&xml);
    for expected in [
        "Flurstücke/Grundstücke",
        "planningCadastre",
        "http://www.opengis.net/def/crs/EPSG/0/25832",
        "http://dcat-ap.de/def/licenses/dl-by-de/2.0",
        "/collections/parcels",
        "OGC API-Features",
    ] {
        assert!(text.contains(expected), "{expected} missing:\n{text}");
    }
    for e in &enclosures {
        let href = e["href"].as_str().unwrap();
        assert!(text.contains(href), "the record lists {href}");
    }
    // A dataset of another theme is valid too; the validator refuses a broken record.
    let (_, _, aed) = get(&app, "/catalog/datasets/aed/iso19139.xml").await;
    validate(&aed).unwrap_or_else(|e| panic!("{e}"));
    assert!(String::from_utf8_lossy(&aed).contains("Gesundheit und Sicherheit"));
    let broken = String::from_utf8_lossy(&aed)
        .replace("<gmd:abstract>", "<gmd:abstrakt>")
        .replace("</gmd:abstract>", "</gmd:abstrakt>");
    assert!(
        validate(broken.as_bytes()).is_err(),
        "the validator validates"
    );
    assert_eq!(
        get(&app, "/catalog/datasets/nowhere/iso19139.xml").await.0,
        404
    );
}

/// The element names of an XML document's elements whose local name is `name`'s children.
fn children_of(xml: &str, name: &str) -> Vec<Vec<String>> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut out, mut depth, mut inside): (Vec<Vec<String>>, usize, Option<usize>) =
        (Vec::new(), 0, None);
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(e) => {
                depth += 1;
                let tag = String::from_utf8_lossy(e.name().as_ref()).to_string();
                if inside == Some(depth - 1) {
                    out.last_mut().unwrap().push(tag.clone());
                }
                if tag == name {
                    inside = Some(depth);
                    out.push(Vec::new());
                }
            }
            quick_xml::events::Event::Empty(e) if inside == Some(depth) => {
                let tag = String::from_utf8_lossy(e.name().as_ref()).to_string();
                out.last_mut().unwrap().push(tag);
            }
            quick_xml::events::Event::End(_) => {
                if inside == Some(depth) {
                    inside = None;
                }
                depth -= 1;
            }
            quick_xml::events::Event::Eof => return out,
            _ => {}
        }
    }
}

#[actix_web::test]
async fn parcels_in_the_inspire_cadastral_parcels_model_and_the_service_record() {
    let db = TestDb::new().await;
    db.ingest(
        "nrw_alkis_flurstueck_25832.geojson",
        "flurstuecke",
        DatasetKind::Parcels,
    )
    .await;
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Parcels,
    )
    .await;
    db.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    let app = common::app(&db).await;

    // GeoJSON: the ALKIS attributes under their INSPIRE names.
    let page = get_json(&app, "/collections/flurstuecke/items?profile=inspire-cp").await;
    let f = &page["features"][0];
    assert_eq!(f["featureType"], "CadastralParcel");
    let p = &f["properties"];
    assert_eq!(p["inspireId"]["localId"], "DENW21AL100077H6", "{p}");
    assert!(p["inspireId"]["namespace"]
        .as_str()
        .unwrap()
        .ends_with("/catalog/datasets/flurstuecke"));
    assert_eq!(p["label"], "05329001100085______");
    assert_eq!(p["nationalCadastralReference"], "05329001100085______");
    assert_eq!(p["areaValue"], 684.0);
    assert_eq!(p["areaValue_uom"], "m2");
    assert_eq!(p["validFrom"], "1954-01-01T00:00:00Z");
    assert!(
        p["beginLifespanVersion"]
            .as_str()
            .unwrap()
            .starts_with("2014-02-14T11:31:00"),
        "{p}"
    );
    assert_eq!(f["geometry"]["type"], "Polygon");
    // One parcel on its own, the same.
    let fid = f["id"].as_i64().unwrap();
    let one = get_json(
        &app,
        &format!("/collections/flurstuecke/items/{fid}?profile=inspire-cp"),
    )
    .await;
    assert_eq!(one["properties"], *p);
    let (status, content_type, xml) = get(
        &app,
        &format!("/collections/flurstuecke/items/{fid}?profile=inspire-cp&f=gml"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/gml+xml; version=3.2");
    let xml = String::from_utf8(xml).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    let children = children_of(&xml, "cp:CadastralParcel");
    assert_eq!(children.len(), 1, "{xml}");
    assert!(children[0].contains(&"cp:label".to_string()), "{xml}");
    assert!(
        xml.contains("xmlns:cp=\"http://inspire.ec.europa.eu/schemas/cp/4.0\"")
            && xml.contains("<cp:label>05329001100085______</cp:label>"),
        "{xml}"
    );

    // GML: a WFS 2.0 FeatureCollection whose parcels keep the schema's order, read by GDAL.
    let (status, content_type, gml) = get(
        &app,
        "/collections/parcels/items?profile=inspire-cp&f=gml&limit=250&crs=http://www.opengis.net/def/crs/EPSG/0/25832",
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&gml));
    assert_eq!(content_type, "application/gml+xml; version=3.2");
    let text = String::from_utf8(gml.clone()).unwrap();
    assert!(text.contains("numberReturned=\"250\"") && text.contains("numberMatched=\"1000\""));
    let order = [
        "cp:areaValue",
        "cp:beginLifespanVersion",
        "cp:geometry",
        "cp:inspireId",
        "cp:label",
        "cp:nationalCadastralReference",
        "cp:validFrom",
    ];
    let parcels = children_of(&text, "cp:CadastralParcel");
    assert_eq!(parcels.len(), 250);
    for children in &parcels {
        let positions: Vec<usize> = children
            .iter()
            .map(|c| order.iter().position(|o| o == c).expect(c))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{children:?}");
        for required in [
            "cp:beginLifespanVersion",
            "cp:geometry",
            "cp:inspireId",
            "cp:label",
        ] {
            assert!(children.iter().any(|c| c == required), "{children:?}");
        }
    }
    let path = common::scratch_root().join("parcels-inspire.gml");
    std::fs::write(&path, &gml).unwrap();
    let out = Command::new("ogrinfo")
        .args(["-ro", "-al", "-so"])
        .arg(&path)
        .output()
        .expect("ogrinfo (gdal-bin)");
    let info = String::from_utf8_lossy(&out.stdout).to_string();
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{info}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "Layer name: CadastralParcel",
        "Feature Count: 250",
        "EPSG\",25832",
        "label: String",
        "nationalCadastralReference: String",
        "areaValue",
    ] {
        assert!(info.contains(expected), "{expected} missing:\n{info}");
    }
    // The next page is in the Link header and keeps the profile.
    let (_, headers, _) = common::get_with_headers(
        &app,
        "/collections/parcels/items?profile=inspire-cp&f=gml&limit=250",
        &[],
    )
    .await;
    assert!(
        headers["link"].contains("rel=\"next\"") && headers["link"].contains("profile=inspire-cp"),
        "{headers:?}"
    );
    // The same parcels' areas as PostGIS has them.
    let first: serde_json::Value = get_json(
        &app,
        "/collections/parcels/items?profile=inspire-cp&limit=1",
    )
    .await;
    let area = first["features"][0]["properties"]["areaValue"].as_f64();
    let key = first["features"][0]["properties"]["label"]
        .as_str()
        .unwrap()
        .to_string();
    let own = get_json(
        &app,
        &format!("/collections/parcels/items?flurstueckskennzeichen={key}"),
    )
    .await;
    assert_eq!(
        own["features"][0]["properties"]["amtlicheflaeche"].as_f64(),
        area
    );

    // The collection links both; other collections and formats are refused clearly.
    let collection = get_json(&app, "/collections/parcels").await;
    let alternates: Vec<&str> = collection["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["rel"] == "alternate")
        .filter_map(|l| l["href"].as_str())
        .filter(|h| h.contains("profile=inspire-cp"))
        .collect();
    assert_eq!(alternates.len(), 2, "{collection}");
    let aed = get_json(&app, "/collections/aed").await;
    assert!(!aed.to_string().contains("inspire-cp"));
    for (uri, parameter) in [
        ("/collections/aed/items?profile=inspire-cp", "profile"),
        ("/collections/parcels/items?profile=inspire", "profile"),
        ("/collections/parcels/items?f=gml", "f"),
        ("/collections/parcels/items?profile=inspire-cp&f=csv", "f"),
        ("/collections/parcels/items/1?f=gml", "f"),
    ] {
        let (status, _, body) = get(&app, uri).await;
        assert_eq!(status, 400, "{uri}");
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["parameter"], parameter, "{uri}: {body}");
    }

    // The service's ISO 19119 record: valid, linked from the landing page, coupled to every
    // dataset's record.
    let landing = get_json(&app, "/").await;
    assert!(landing["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["rel"] == "service-meta"
            && l["href"]
                .as_str()
                .unwrap()
                .ends_with("/catalog/service/iso19139.xml")));
    let (status, content_type, xml) = get(&app, "/catalog/service/iso19139.xml").await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("application/xml"));
    validate(&xml).unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&xml)));
    let text = String::from_utf8_lossy(&xml);
    for expected in [
        "<srv:SV_ServiceIdentification>",
        ">download</gco:LocalName>",
        "infoFeatureAccessService",
        "codeListValue=\"tight\"",
        "/collections/{collectionId}/items",
    ] {
        assert!(text.contains(expected), "{expected} missing:\n{text}");
    }
    for id in ["flurstuecke", "parcels", "aed"] {
        assert!(
            text.contains(&format!("/catalog/datasets/{id}/iso19139.xml\"")),
            "{id} not coupled:\n{text}"
        );
    }
    // The validator knows the service schema: a misplaced service element fails.
    let broken = text
        .replace("<srv:couplingType>", "<srv:couplingKind>")
        .replace("</srv:couplingType>", "</srv:couplingKind>");
    assert!(
        validate(broken.as_bytes()).is_err(),
        "the service validator validates"
    );
}
