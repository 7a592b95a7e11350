//! The CKAN Action API's view of the catalog (`/api/3/action/…`): package and organization
//! dicts in the shapes CKAN 2.10 answers with (`package_dictize`), so that CKAN-based portals
//! harvest kreisgeo with their stock CKAN harvester. One source of truth: the same catalog rows
//! and downloads as the DCAT-AP.de catalog.

use serde_json::{json, Value as Json};

use super::metadata::{
    license_title, Dataset, DatasetMetadata, Publisher, FREQUENCY_BASE, HVD_CATEGORY_BASE,
    HVD_LEGISLATION, THEME_BASE,
};
use super::publishers::Publishers;
use crate::catalog::repo::{CatalogRow, Tombstone};
use crate::downloads::Download;

/// The CKAN release whose API shapes these are.
pub const CKAN_VERSION: &str = "2.10.4";

/// The format of the resource every package has: the OGC API.
pub const API_FORMAT: &str = "OGC API Features";

/// UUIDs are derived from names, so a package keeps its id on every node and after restarts.
pub fn uuid(kind: &str, name: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("urn:kreisgeo:{kind}:{name}").as_bytes(),
    )
    .to_string()
}

/// CKAN writes times as naive UTC ISO 8601 with microseconds.
fn ckan_time(iso_utc: &str) -> String {
    format!("{}.000000", iso_utc.trim_end_matches('Z'))
}

/// The organization's name: the publisher's, lower-case, `-` for anything else.
pub fn organization_name(publisher: &Publisher) -> String {
    let mut name = String::new();
    for c in publisher.name.chars().flat_map(char::to_lowercase) {
        match c {
            'a'..='z' | '0'..='9' => name.push(c),
            'ä' => name.push_str("ae"),
            'ö' => name.push_str("oe"),
            'ü' => name.push_str("ue"),
            'ß' => name.push_str("ss"),
            _ if !name.ends_with('-') => name.push('-'),
            _ => {}
        }
    }
    name.trim_matches('-').chars().take(100).collect()
}

/// A publisher as a CKAN organization dict, named `name`.
pub fn organization(name: &str, publisher: &Publisher, created: &str) -> Json {
    json!({
        "id": uuid("organization", name),
        "name": name,
        "title": publisher.name,
        "type": "organization",
        "description": publisher.catalog_description().de,
        "image_url": "",
        "created": ckan_time(created),
        "is_organization": true,
        "approval_status": "approved",
        "state": "active",
    })
}

/// A catalog row as a CKAN package dict.
pub fn package(
    base: &str,
    publishers: &Publishers,
    row: &CatalogRow<DatasetMetadata>,
    downloads: &[Download],
) -> Json {
    let c = &row.collection;
    let owner = row.publisher.as_deref();
    let publisher = publishers.of(owner);
    let r = row.metadata.resolve(c.into(), publisher);
    let id = uuid("dataset", &c.id);
    let org = organization(&publishers.organization_name(owner), publisher, &row.issued);
    let tags: Vec<Json> = r
        .keywords
        .iter()
        .map(|k| {
            json!({
                "display_name": k,
                "id": uuid("tag", k),
                "name": k,
                "state": "active",
                "vocabulary_id": null,
            })
        })
        .collect();
    let mut resources: Vec<Json> = vec![json!({
        "name": format!("{} (OGC API Features)", r.title.de),
        "description": "Seitenweiser Zugriff, Filter (CQL2), Koordinatenreferenzsysteme und Vektorkacheln",
        "format": API_FORMAT,
        "mimetype": "application/json",
        "url": format!("{base}/collections/{}", c.id),
        "size": null,
        "hash": "",
        "key": "api",
        "created": &row.issued,
    })];
    for d in downloads.iter().filter(|d| d.version == c.version.id) {
        resources.push(json!({
            "name": d.name,
            "description": format!("{} als {} ({})", r.title.de, d.kind.format.title(), d.crs),
            "format": d.kind.format.title(),
            "mimetype": d.media_type,
            "url": d.href,
            "size": d.bytes,
            "hash": format!("sha256:{}", d.sha256),
            "key": d.name,
            "created": &d.created,
        }));
    }
    let resources: Vec<Json> = resources
        .into_iter()
        .enumerate()
        .map(|(position, mut res)| {
            let key = res["key"].as_str().unwrap_or_default().to_string();
            let created = ckan_time(res["created"].as_str().unwrap_or_default());
            if let Some(o) = res.as_object_mut() {
                o.remove("key");
                o.insert(
                    "id".into(),
                    json!(uuid("resource", &format!("{}/{key}", c.id))),
                );
                o.insert("package_id".into(), json!(id));
                o.insert("position".into(), json!(position));
                o.insert("created".into(), json!(created));
                o.insert("last_modified".into(), json!(ckan_time(&row.modified)));
                o.insert("metadata_modified".into(), json!(ckan_time(&row.modified)));
                o.insert("state".into(), json!("active"));
                o.insert("url_type".into(), json!(null));
                o.insert("resource_type".into(), json!(null));
                o.insert("mimetype_inner".into(), json!(null));
                o.insert("cache_url".into(), json!(null));
                o.insert("cache_last_updated".into(), json!(null));
                o.insert("datastore_active".into(), json!(false));
                if !r.hvd_categories.is_empty() {
                    o.insert("applicable_legislation".into(), json!([HVD_LEGISLATION]));
                }
            }
            res
        })
        .collect();

    // DCAT-AP.de properties without a CKAN core field travel as extras, named as GovData's
    // ckanext-dcatde names them.
    let mut extras = vec![
        ("issued", row.issued.clone()),
        ("modified", row.modified.clone()),
        ("identifier", c.id.clone()),
        (
            "theme",
            serde_json::to_string(
                &r.themes
                    .iter()
                    .map(|t| format!("{THEME_BASE}{t}"))
                    .collect::<Vec<_>>(),
            )
            .unwrap_or_default(),
        ),
    ];
    if let Some(b) = c.version.bbox {
        // ckanext-spatial's convention: the extent as a GeoJSON polygon in `spatial`.
        extras.push((
            "spatial",
            json!({"type": "Polygon", "coordinates": [[
                [b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]], [b[0], b[1]]
            ]]})
            .to_string(),
        ));
    }
    // A municipality's dataset is geocoded to the municipality, the others to the district.
    let district = publisher
        .district_key
        .as_ref()
        .or(publishers.main.district_key.as_ref());
    let geocoding = match (&publisher.municipality_key, district) {
        (Some(key), _) => Some(("municipality", format!("municipalityKey/{key}"))),
        (None, Some(key)) => Some(("administrativeDistrict", format!("districtKey/{key}"))),
        (None, None) => None,
    };
    if let Some((level, area)) = geocoding {
        extras.push((
            "politicalGeocodingLevelURI",
            format!("http://dcat-ap.de/def/politicalGeocoding/Level/{level}"),
        ));
        extras.push((
            "politicalGeocodingURI",
            format!("http://dcat-ap.de/def/politicalGeocoding/{area}"),
        ));
    }
    // The portal that contributes the dataset to GovData is the county's.
    if let Some(id) = &publishers.main.contributor_id {
        extras.push(("contributorID", json!([id]).to_string()));
    }
    if let Some(a) = r.attribution {
        extras.push(("licenseAttributionByText", a.to_string()));
    }
    if let Some(f) = r.accrual_periodicity {
        extras.push(("frequency", format!("{FREQUENCY_BASE}{f}")));
    }
    if let Some(t) = r.temporal {
        if let Some(s) = &t.start {
            extras.push(("temporal_start", s.clone()));
        }
        if let Some(e) = &t.end {
            extras.push(("temporal_end", e.clone()));
        }
    }
    // A high-value dataset as ckanext-dcat's DCAT-AP 3 profile names it (lists as JSON text).
    if !r.hvd_categories.is_empty() {
        extras.push((
            "applicable_legislation",
            json!([HVD_LEGISLATION]).to_string(),
        ));
        extras.push((
            "hvd_category",
            json!(r
                .hvd_categories
                .iter()
                .map(|code| format!("{HVD_CATEGORY_BASE}{code}"))
                .collect::<Vec<_>>())
            .to_string(),
        ));
    }
    let extras: Vec<Json> = extras
        .into_iter()
        .map(|(key, value)| json!({"key": key, "value": value}))
        .collect();

    let mut package = skeleton(base, &c.id, &r, org, &row.issued, &row.modified);
    package.extend([
        ("num_resources".into(), json!(resources.len())),
        ("num_tags".into(), json!(tags.len())),
        ("state".into(), json!("active")),
        ("version".into(), json!(c.version.id.to_string())),
        ("extras".into(), json!(extras)),
        ("resources".into(), json!(resources)),
        ("tags".into(), json!(tags)),
    ]);
    Json::Object(package)
}

/// The fields a live and a deleted package share.
fn skeleton(
    base: &str,
    name: &str,
    r: &super::metadata::Resolved<'_>,
    org: Json,
    created: &str,
    modified: &str,
) -> serde_json::Map<String, Json> {
    let fields = json!({
        "author": null,
        "author_email": null,
        "creator_user_id": uuid("user", "kreisgeo"),
        "id": uuid("dataset", name),
        "isopen": true,
        "license_id": r.license,
        "license_title": license_title(r.license).unwrap_or(r.license),
        "license_url": r.license,
        "maintainer": r.contact.name,
        "maintainer_email": r.contact.email,
        "metadata_created": ckan_time(created),
        "metadata_modified": ckan_time(modified),
        "name": name,
        "notes": r.description.de,
        "owner_org": org["id"],
        "organization": org,
        "private": false,
        "title": r.title.de,
        "type": "dataset",
        "url": format!("{base}/collections/{name}"),
        "groups": [],
        "relationships_as_object": [],
        "relationships_as_subject": [],
    });
    match fields {
        Json::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// A deleted dataset as CKAN shows one: the package with `state` "deleted", no resources, and
/// the deletion as its last modification.
pub fn deleted_package(
    base: &str,
    publishers: &Publishers,
    t: &Tombstone<DatasetMetadata>,
) -> Json {
    let owner = t.publisher.as_deref();
    let publisher = publishers.of(owner);
    let r = t.metadata.resolve(
        Dataset {
            kind: t.kind,
            title: &t.title,
            description: None,
        },
        publisher,
    );
    let org = organization(&publishers.organization_name(owner), publisher, &t.issued);
    let mut package = skeleton(base, &t.id, &r, org, &t.issued, &t.deleted);
    package.extend([
        ("num_resources".into(), json!(0)),
        ("num_tags".into(), json!(0)),
        ("state".into(), json!("deleted")),
        ("version".into(), Json::Null),
        ("extras".into(), json!([])),
        ("resources".into(), json!([])),
        ("tags".into(), json!([])),
    ]);
    Json::Object(package)
}
