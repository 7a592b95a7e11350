//! The DCAT-AP.de 3.0 description of the catalog, its datasets, their distributions and the OGC
//! API that serves them, as triples. Which property carries what follows the DCAT-AP.de
//! specification; `tests/integration/dcat.rs` checks the result against the official SHACL
//! shapes.

use std::collections::BTreeMap;

use oxrdf::{BlankNode, Literal, NamedNode, NamedOrBlankNode, Term, Triple};

use super::metadata::{
    Contact, DatasetMetadata, Publisher, Text, FREQUENCY_BASE, HVD_CATEGORY_BASE,
    HVD_CATEGORY_SCHEME, HVD_LEGISLATION, THEME_BASE,
};
use super::publishers::Publishers;
use crate::catalog::repo::{CatalogRow, Tombstone};
use crate::catalog::Collection;
use crate::downloads::Download;

const DCAT: &str = "http://www.w3.org/ns/dcat#";
const DCT: &str = "http://purl.org/dc/terms/";
const DCATDE: &str = "http://dcat-ap.de/def/dcatde/";
const DCATAP: &str = "http://data.europa.eu/r5r/";
const ELI_LEGAL_RESOURCE: &str = "http://data.europa.eu/eli/ontology#LegalResource";
const FOAF: &str = "http://xmlns.com/foaf/0.1/";
const VCARD: &str = "http://www.w3.org/2006/vcard/ns#";
const GSP: &str = "http://www.opengis.net/ont/geosparql#";
const HYDRA: &str = "http://www.w3.org/ns/hydra/core#";
const XSD: &str = "http://www.w3.org/2001/XMLSchema#";
const SKOS: &str = "http://www.w3.org/2004/02/skos/core#";
const SPDX: &str = "http://spdx.org/rdf/terms#";
const ADMS: &str = "http://www.w3.org/ns/adms#";
const RDFS: &str = "http://www.w3.org/2000/01/rdf-schema#";
const CHANGE_DELETED: &str = "http://purl.org/adms/changetype/deleted";
const CHANGE_TYPE_SCHEME: &str = "http://purl.org/adms/changetype/1.0";
const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
const FILE_TYPE: &str = "http://publications.europa.eu/resource/authority/file-type/";
const LANGUAGE_DEU: &str = "http://publications.europa.eu/resource/authority/language/DEU";
const DISTRICT: &str = "http://dcat-ap.de/def/politicalGeocoding/Level/administrativeDistrict";
const DISTRICT_KEY: &str = "http://dcat-ap.de/def/politicalGeocoding/districtKey/";
const MUNICIPALITY: &str = "http://dcat-ap.de/def/politicalGeocoding/Level/municipality";
const MUNICIPALITY_KEY: &str = "http://dcat-ap.de/def/politicalGeocoding/municipalityKey/";
const PUBLISHER_TYPE: &str = "http://purl.org/adms/publishertype/LocalAuthority";
const THEME_SCHEME: &str = "http://publications.europa.eu/resource/authority/data-theme";
const FREQUENCY_SCHEME: &str = "http://publications.europa.eu/resource/authority/frequency";
const FILE_TYPE_SCHEME: &str = "http://publications.europa.eu/resource/authority/file-type";
const LANGUAGE_SCHEME: &str = "http://publications.europa.eu/resource/authority/language";
const LICENSE_SCHEME: &str = "http://dcat-ap.de/def/licenses";
const LEVEL_SCHEME: &str = "http://dcat-ap.de/def/politicalGeocoding/Level";
const PUBLISHER_TYPE_SCHEME: &str = "http://purl.org/adms/publishertype/1.0";
const OGC_FEATURES: &str = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core";

/// A page of the catalog (Hydra paging, as ckanext-dcat offers it).
pub struct Paging {
    /// The page's URL without `page`, with any other query (`modified_since`).
    pub href: String,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// The API formats each dataset is distributed in: (id, title, `f`, EU file type, media type).
const API_FORMATS: &[(&str, &str, &str, Option<&str>, &str)] = &[
    (
        "geojson",
        "GeoJSON",
        "json",
        Some("GEOJSON"),
        "application/geo+json",
    ),
    ("csv", "CSV", "csv", Some("CSV"), "text/csv"),
    (
        "flatgeobuf",
        "FlatGeobuf",
        "fgb",
        None,
        "application/flatgeobuf",
    ),
];

/// Triples in the order they were added: the serialisations group a subject's statements only
/// when they are adjacent, and the same catalog always reads the same. Codes from controlled
/// vocabularies are collected on the way and described at the end (see [`Graph::finish`]).
#[derive(Default)]
struct Graph {
    triples: Vec<Triple>,
    concepts: BTreeMap<String, &'static str>,
    /// Terms of other vocabularies used as objects, with their class (`a spdx:ChecksumAlgorithm`).
    individuals: BTreeMap<String, String>,
}

impl Graph {
    fn add(&mut self, s: impl Into<NamedOrBlankNode>, p: &str, o: impl Into<Term>) {
        self.triples
            .push(Triple::new(s.into(), NamedNode::new_unchecked(p), o.into()));
    }

    /// `s p code`, where `code` is a concept of the vocabulary `scheme`.
    fn code(&mut self, s: impl Into<NamedOrBlankNode>, p: &str, code: &str, scheme: &'static str) {
        self.add(s, p, iri(code));
        self.concepts.insert(code.to_string(), scheme);
    }

    /// The triples, ending with each code's `skos:inScheme`: the DCAT-AP.de shapes check
    /// vocabulary membership through it, and a harvester without the vocabularies at hand
    /// learns it here. Only codes that kreisgeo checked against the published lists (or fixed
    /// ones) are ever used, so the statements are the vocabularies' own.
    fn finish(mut self) -> Vec<Triple> {
        for (term, class) in std::mem::take(&mut self.individuals) {
            self.a(iri(&term), class);
        }
        for (code, scheme) in std::mem::take(&mut self.concepts) {
            let node = iri(&code);
            self.a(node.clone(), format!("{SKOS}Concept"));
            self.add(node, &format!("{SKOS}inScheme"), iri(scheme));
        }
        self.triples
    }

    fn a(&mut self, s: impl Into<NamedOrBlankNode>, class: String) {
        self.add(s, RDF_TYPE, iri(&class));
    }

    fn text(&mut self, s: &NamedOrBlankNode, p: &str, text: &Text) {
        self.add(s.clone(), p, german(&text.de));
        if let Some(en) = &text.en {
            self.add(
                s.clone(),
                p,
                Literal::new_language_tagged_literal_unchecked(en, "en"),
            );
        }
    }
}

/// An IRI, checked: the serialisations write IRIs as they are, so one that is not (a stored
/// value from before its validation, a value nobody foresaw) could otherwise close its `<…>`
/// and add triples of its own, or make the whole catalog unreadable. One that cannot be made
/// valid is replaced by [`INVALID_IRI`] (and logged).
fn iri(s: &str) -> NamedNode {
    checked_iri(s).unwrap_or_else(|| {
        tracing::warn!(iri = %s, "an IRI of the catalog is not valid; a placeholder stands for it");
        NamedNode::new_unchecked(INVALID_IRI)
    })
}

const INVALID_IRI: &str = "urn:kreisgeo:invalid-iri";

/// An IRI from data: as it is when valid, with the characters IRIs forbid percent-encoded when
/// that makes it valid, else `None`.
fn checked_iri(s: &str) -> Option<NamedNode> {
    NamedNode::new(s)
        .or_else(|_| NamedNode::new(escape_iri(s)))
        .ok()
}

/// `s` with every character that may not appear in an IRI (RFC 3987) percent-encoded.
fn escape_iri(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_whitespace() || c.is_control() || "<>\"{}|\\^`".contains(c) {
            let mut buffer = [0u8; 4];
            for b in c.encode_utf8(&mut buffer).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn german(s: &str) -> Literal {
    Literal::new_language_tagged_literal_unchecked(s, "de")
}

fn typed(value: &str, datatype: &str) -> Literal {
    Literal::new_typed_literal(value, iri(&format!("{XSD}{datatype}")))
}

/// The whole catalog (or one page of it) with its datasets.
pub fn catalog(
    base: &str,
    publishers: &Publishers,
    rows: &[CatalogRow<DatasetMetadata>],
    downloads: &[Download],
    deleted: &[Tombstone<DatasetMetadata>],
    paging: &Paging,
) -> Vec<Triple> {
    let publisher = &publishers.main;
    let mut g = Graph::default();
    let catalog: NamedOrBlankNode = iri(&format!("{base}/catalog")).into();
    g.a(catalog.clone(), format!("{DCAT}Catalog"));
    g.text(&catalog, &format!("{DCT}title"), &publisher.catalog_title());
    g.text(
        &catalog,
        &format!("{DCT}description"),
        &publisher.catalog_description(),
    );
    g.add(
        catalog.clone(),
        &format!("{DCT}publisher"),
        iri(&publisher.uri),
    );
    g.add(
        catalog.clone(),
        &format!("{FOAF}homepage"),
        iri(&format!("{base}/")),
    );
    g.code(
        catalog.clone(),
        &format!("{DCT}language"),
        LANGUAGE_DEU,
        LANGUAGE_SCHEME,
    );
    g.code(
        catalog.clone(),
        &format!("{DCT}license"),
        &publisher.license,
        LICENSE_SCHEME,
    );
    if let Some(latest) = rows.iter().map(|r| r.modified.as_str()).max() {
        g.add(
            catalog.clone(),
            &format!("{DCT}modified"),
            typed(latest, "dateTime"),
        );
    }
    let service = service_node(base);
    g.add(catalog.clone(), &format!("{DCAT}service"), service.clone());
    for row in rows {
        g.add(
            catalog.clone(),
            &format!("{DCAT}dataset"),
            dataset_node(base, &row.collection.id),
        );
    }
    // Deleted datasets: a catalog record each, with the change type `deleted` (DCAT-AP's
    // CatalogRecord and the ADMS change-type vocabulary), so that incremental harvesters
    // remove them.
    for t in deleted {
        let record: NamedOrBlankNode = iri(&format!("{base}/catalog/records/{}", t.id)).into();
        g.add(catalog.clone(), &format!("{DCAT}record"), record.clone());
    }
    for t in deleted {
        let record: NamedOrBlankNode = iri(&format!("{base}/catalog/records/{}", t.id)).into();
        g.a(record.clone(), format!("{DCAT}CatalogRecord"));
        g.add(
            record.clone(),
            &format!("{FOAF}primaryTopic"),
            dataset_node(base, &t.id),
        );
        g.add(
            record.clone(),
            &format!("{DCT}issued"),
            typed(&t.issued, "dateTime"),
        );
        g.add(
            record.clone(),
            &format!("{DCT}modified"),
            typed(&t.deleted, "dateTime"),
        );
        g.code(
            record,
            &format!("{ADMS}status"),
            CHANGE_DELETED,
            CHANGE_TYPE_SCHEME,
        );
        // No longer a dataset with its description; still the resource the record is about.
        g.individuals.insert(
            dataset_node(base, &t.id).into_string(),
            format!("{DCAT}Resource"),
        );
    }
    paging_triples(&mut g, paging);
    agent(&mut g, publisher);
    // Each further publisher of a dataset on this page, once.
    let mut described = std::collections::BTreeSet::new();
    for row in rows {
        let p = publishers.of(row.publisher.as_deref());
        if p.uri != publisher.uri && described.insert(p.uri.as_str()) {
            agent(&mut g, p);
        }
    }
    data_service(&mut g, base, publishers, rows);
    for row in rows {
        dataset_triples(&mut g, base, publishers, row, downloads);
    }
    g.finish()
}

/// One dataset with its distributions, publisher and the service that serves it.
pub fn dataset(
    base: &str,
    publishers: &Publishers,
    row: &CatalogRow<DatasetMetadata>,
    downloads: &[Download],
) -> Vec<Triple> {
    let mut g = Graph::default();
    dataset_triples(&mut g, base, publishers, row, downloads);
    let publisher = publishers.of(row.publisher.as_deref());
    agent(&mut g, publisher);
    if publisher.uri != publishers.main.uri {
        // The service's publisher: the portal's.
        agent(&mut g, &publishers.main);
    }
    data_service(&mut g, base, publishers, std::slice::from_ref(row));
    g.finish()
}

fn dataset_node(base: &str, id: &str) -> NamedNode {
    iri(&format!("{base}/catalog/datasets/{id}"))
}

fn service_node(base: &str) -> NamedNode {
    iri(&format!("{base}/catalog#ogc-api"))
}

fn paging_triples(g: &mut Graph, p: &Paging) {
    let separator = if p.href.contains('?') { '&' } else { '?' };
    let page_href = |n: i64| format!("{}{separator}page={n}", p.href);
    let last = ((p.total + p.per_page - 1) / p.per_page).max(1);
    let node: NamedOrBlankNode = iri(&page_href(p.page)).into();
    g.a(node.clone(), format!("{HYDRA}PagedCollection"));
    g.add(
        node.clone(),
        &format!("{HYDRA}totalItems"),
        typed(&p.total.to_string(), "integer"),
    );
    g.add(
        node.clone(),
        &format!("{HYDRA}itemsPerPage"),
        typed(&p.per_page.to_string(), "integer"),
    );
    g.add(
        node.clone(),
        &format!("{HYDRA}firstPage"),
        Literal::from(page_href(1)),
    );
    g.add(
        node.clone(),
        &format!("{HYDRA}lastPage"),
        Literal::from(page_href(last)),
    );
    if p.page > 1 {
        g.add(
            node.clone(),
            &format!("{HYDRA}previousPage"),
            Literal::from(page_href((p.page - 1).min(last))),
        );
    }
    if p.page < last {
        g.add(
            node,
            &format!("{HYDRA}nextPage"),
            Literal::from(page_href(p.page + 1)),
        );
    }
}

/// The publisher as a foaf:Agent.
fn agent(g: &mut Graph, p: &Publisher) {
    let node: NamedOrBlankNode = iri(&p.uri).into();
    g.a(node.clone(), format!("{FOAF}Organization"));
    g.a(node.clone(), format!("{FOAF}Agent"));
    g.add(node.clone(), &format!("{FOAF}name"), german(&p.name));
    g.code(
        node,
        &format!("{DCT}type"),
        PUBLISHER_TYPE,
        PUBLISHER_TYPE_SCHEME,
    );
}

/// The OGC API as a dcat:DataService that serves the datasets.
fn data_service(
    g: &mut Graph,
    base: &str,
    publishers: &Publishers,
    rows: &[CatalogRow<DatasetMetadata>],
) {
    let publisher = &publishers.main;
    let node: NamedOrBlankNode = service_node(base).into();
    g.a(node.clone(), format!("{DCAT}DataService"));
    g.text(
        &node,
        &format!("{DCT}title"),
        &Text {
            de: format!("OGC API Features und Tiles: {}", publisher.name),
            en: Some(format!("OGC API Features and Tiles: {}", publisher.name)),
        },
    );
    g.add(
        node.clone(),
        &format!("{DCAT}endpointURL"),
        iri(&format!("{base}/")),
    );
    g.add(
        node.clone(),
        &format!("{DCAT}endpointDescription"),
        iri(&format!("{base}/api")),
    );
    g.add(node.clone(), &format!("{DCT}conformsTo"), iri(OGC_FEATURES));
    g.add(
        node.clone(),
        &format!("{DCT}publisher"),
        iri(&publisher.uri),
    );
    g.code(
        node.clone(),
        &format!("{DCT}license"),
        &publisher.license,
        LICENSE_SCHEME,
    );
    g.individuals
        .insert(publisher.license.clone(), format!("{DCT}LicenseDocument"));
    for row in rows {
        g.add(
            node.clone(),
            &format!("{DCAT}servesDataset"),
            dataset_node(base, &row.collection.id),
        );
    }
    // A service that serves high-value datasets is one itself (DCAT-AP HVD): the regulation,
    // their categories, a contact and its documentation.
    let mut categories: Vec<String> = rows
        .iter()
        .flat_map(|row| {
            row.metadata
                .resolve(
                    (&row.collection).into(),
                    publishers.of(row.publisher.as_deref()),
                )
                .hvd_categories
        })
        .collect();
    categories.sort();
    categories.dedup();
    if !categories.is_empty() {
        legislation(g, node.clone());
        for code in &categories {
            g.code(
                node.clone(),
                &format!("{DCATAP}hvdCategory"),
                &format!("{HVD_CATEGORY_BASE}{code}"),
                HVD_CATEGORY_SCHEME,
            );
        }
        let contact: NamedOrBlankNode = BlankNode::new_unchecked("service_contact").into();
        g.add(
            node.clone(),
            &format!("{DCAT}contactPoint"),
            contact.clone(),
        );
        let documentation = format!("{base}/api.html");
        g.add(node, &format!("{FOAF}page"), iri(&documentation));
        g.individuals
            .insert(documentation, format!("{FOAF}Document"));
        contact_point(g, contact, &publisher.contact);
    }
}

/// `dcatap:applicableLegislation` the HVD regulation.
fn legislation(g: &mut Graph, node: NamedOrBlankNode) {
    g.add(
        node,
        &format!("{DCATAP}applicableLegislation"),
        iri(HVD_LEGISLATION),
    );
    g.individuals
        .insert(HVD_LEGISLATION.to_string(), ELI_LEGAL_RESOURCE.to_string());
}

fn dataset_triples(
    g: &mut Graph,
    base: &str,
    publishers: &Publishers,
    row: &CatalogRow<DatasetMetadata>,
    downloads: &[Download],
) {
    let publisher = publishers.of(row.publisher.as_deref());
    let c: &Collection = &row.collection;
    let m = &row.metadata;
    let node: NamedOrBlankNode = dataset_node(base, &c.id).into();
    // What the dataset refers to (contact, areas, period) is described after the dataset's own
    // statements and its distributions, so that each subject's statements stay together.
    let mut later = Graph::default();
    g.a(node.clone(), format!("{DCAT}Dataset"));
    g.add(
        node.clone(),
        &format!("{DCT}identifier"),
        Literal::from(c.id.as_str()),
    );
    let r = m.resolve(c.into(), publisher);
    let title = &r.title;
    g.text(&node, &format!("{DCT}title"), title);
    g.text(&node, &format!("{DCT}description"), &r.description);
    if let Some(provenance) = &m.provenance {
        let statement: NamedOrBlankNode =
            BlankNode::new_unchecked(format!("{}_provenance", blank(&c.id))).into();
        g.add(node.clone(), &format!("{DCT}provenance"), statement.clone());
        later.a(statement.clone(), format!("{DCT}ProvenanceStatement"));
        later.text(&statement, &format!("{RDFS}label"), provenance);
    }
    for k in &r.keywords {
        g.add(node.clone(), &format!("{DCAT}keyword"), german(k));
    }
    for t in &r.themes {
        g.code(
            node.clone(),
            &format!("{DCAT}theme"),
            &format!("{THEME_BASE}{t}"),
            THEME_SCHEME,
        );
    }
    let hvd = !r.hvd_categories.is_empty();
    if hvd {
        legislation(g, node.clone());
        for code in &r.hvd_categories {
            g.code(
                node.clone(),
                &format!("{DCATAP}hvdCategory"),
                &format!("{HVD_CATEGORY_BASE}{code}"),
                HVD_CATEGORY_SCHEME,
            );
        }
    }
    g.add(
        node.clone(),
        &format!("{DCT}publisher"),
        iri(&publisher.uri),
    );
    // The portal that contributes the dataset to GovData is the county's.
    if let Some(id) = &publishers.main.contributor_id {
        g.add(node.clone(), &format!("{DCATDE}contributorID"), iri(id));
    }
    // A municipality's dataset is geocoded to the municipality, the others to the district.
    let geocoding = match (&publisher.municipality_key, &publisher.district_key) {
        (Some(key), _) => Some((MUNICIPALITY, format!("{MUNICIPALITY_KEY}{key}"))),
        (None, Some(key)) => Some((DISTRICT, format!("{DISTRICT_KEY}{key}"))),
        (None, None) => publishers
            .main
            .district_key
            .as_ref()
            .map(|key| (DISTRICT, format!("{DISTRICT_KEY}{key}"))),
    };
    if let Some((level, area)) = geocoding {
        g.code(
            node.clone(),
            &format!("{DCATDE}politicalGeocodingLevelURI"),
            level,
            LEVEL_SCHEME,
        );
        // DCAT-AP.de 3.0 names the area with dct:spatial (dcatde:politicalGeocodingURI is
        // deprecated); the level stays.
        let area = iri(&area);
        g.add(node.clone(), &format!("{DCT}spatial"), area.clone());
        later.a(area, format!("{DCT}Location"));
    }
    g.add(
        node.clone(),
        &format!("{DCT}issued"),
        typed(&row.issued, "dateTime"),
    );
    g.add(
        node.clone(),
        &format!("{DCT}modified"),
        typed(&row.modified, "dateTime"),
    );
    g.add(
        node.clone(),
        &format!("{DCAT}landingPage"),
        iri(&format!("{base}/collections/{}", c.id)),
    );
    if let Some(f) = r.accrual_periodicity {
        g.code(
            node.clone(),
            &format!("{DCT}accrualPeriodicity"),
            &format!("{FREQUENCY_BASE}{f}"),
            FREQUENCY_SCHEME,
        );
    }
    let contact = r.contact;
    let contact_node: NamedOrBlankNode =
        BlankNode::new_unchecked(format!("{}_contact", blank(&c.id))).into();
    g.add(
        node.clone(),
        &format!("{DCAT}contactPoint"),
        contact_node.clone(),
    );
    contact_point(&mut later, contact_node, contact);
    if let Some(b) = c.version.bbox {
        let location: NamedOrBlankNode =
            BlankNode::new_unchecked(format!("{}_spatial", blank(&c.id))).into();
        g.add(node.clone(), &format!("{DCT}spatial"), location.clone());
        later.a(location.clone(), format!("{DCT}Location"));
        let wkt = format!(
            "POLYGON(({0} {1},{2} {1},{2} {3},{0} {3},{0} {1}))",
            b[0], b[1], b[2], b[3]
        );
        later.add(location, &format!("{DCAT}bbox"), typed_gsp(&wkt));
    }
    if let Some(t) = r.temporal {
        let period: NamedOrBlankNode =
            BlankNode::new_unchecked(format!("{}_temporal", blank(&c.id))).into();
        g.add(node.clone(), &format!("{DCT}temporal"), period.clone());
        later.a(period.clone(), format!("{DCT}PeriodOfTime"));
        if let Some(s) = &t.start {
            later.add(
                period.clone(),
                &format!("{DCAT}startDate"),
                typed(s, "date"),
            );
        }
        if let Some(e) = &t.end {
            later.add(period, &format!("{DCAT}endDate"), typed(e, "date"));
        }
    }
    let (license, attribution) = (r.license, r.attribution);
    let mut distributions = Graph::default();
    for (key, format, f, file_type, media_type) in API_FORMATS {
        let dist: NamedOrBlankNode = iri(&format!("{base}/catalog/datasets/{}#{key}", c.id)).into();
        g.add(node.clone(), &format!("{DCAT}distribution"), dist.clone());
        let g = &mut distributions;
        g.a(dist.clone(), format!("{DCAT}Distribution"));
        g.text(
            &dist,
            &format!("{DCT}title"),
            &Text {
                de: format!("{} als {format} (OGC API, seitenweise)", title.de),
                en: title
                    .en
                    .as_ref()
                    .map(|en| format!("{en} as {format} (OGC API, paged)")),
            },
        );
        let items = format!("{base}/collections/{}/items?f={f}", c.id);
        g.add(dist.clone(), &format!("{DCAT}accessURL"), iri(&items));
        g.add(
            dist.clone(),
            &format!("{DCAT}accessService"),
            service_node(base),
        );
        let terms = DistributionTerms {
            file_type: *file_type,
            media_type,
            license,
            attribution,
            modified: &row.modified,
            hvd,
        };
        terms.add(g, dist);
    }
    // The bulk downloads of the served version, with size and checksum.
    for d in downloads.iter().filter(|d| d.version == c.version.id) {
        let dist: NamedOrBlankNode = iri(&format!(
            "{base}/catalog/datasets/{}#download-{}",
            c.id, d.name
        ))
        .into();
        g.add(node.clone(), &format!("{DCAT}distribution"), dist.clone());
        let g = &mut distributions;
        g.a(dist.clone(), format!("{DCAT}Distribution"));
        let crs = if d.kind.srid == crate::crs::WGS84_SRID {
            "WGS 84 / CRS84".to_string()
        } else {
            format!("EPSG:{}", d.kind.srid)
        };
        g.text(
            &dist,
            &format!("{DCT}title"),
            &Text {
                de: format!(
                    "{} als {}-Download ({crs})",
                    title.de,
                    d.kind.format.title()
                ),
                en: title
                    .en
                    .as_ref()
                    .map(|en| format!("{en} as {} download ({crs})", d.kind.format.title())),
            },
        );
        g.add(dist.clone(), &format!("{DCAT}accessURL"), iri(&d.href));
        g.add(dist.clone(), &format!("{DCAT}downloadURL"), iri(&d.href));
        g.add(
            dist.clone(),
            &format!("{DCAT}byteSize"),
            typed(&d.bytes.to_string(), "nonNegativeInteger"),
        );
        let checksum: NamedOrBlankNode = BlankNode::new_unchecked(format!(
            "{}_{}_checksum",
            blank(&c.id),
            d.name.replace(['.', '-'], "_")
        ))
        .into();
        g.add(dist.clone(), &format!("{SPDX}checksum"), checksum.clone());
        let terms = DistributionTerms {
            file_type: d.kind.format.eu_file_type(),
            media_type: d.media_type,
            license,
            attribution,
            modified: &d.created,
            hvd,
        };
        terms.add(g, dist);
        later.a(checksum.clone(), format!("{SPDX}Checksum"));
        let sha256 = format!("{SPDX}checksumAlgorithm_sha256");
        later.add(checksum.clone(), &format!("{SPDX}algorithm"), iri(&sha256));
        later
            .individuals
            .insert(sha256, format!("{SPDX}ChecksumAlgorithm"));
        later.add(
            checksum,
            &format!("{SPDX}checksumValue"),
            typed(&d.sha256, "hexBinary"),
        );
    }
    for part in [distributions, later] {
        g.triples.extend(part.triples);
        g.concepts.extend(part.concepts);
        g.individuals.extend(part.individuals);
    }
}

/// What every distribution states: format, media type, licence, attribution, last change.
struct DistributionTerms<'a> {
    /// EU file-type code, where the format has one.
    file_type: Option<&'a str>,
    media_type: &'a str,
    license: &'a str,
    attribution: Option<&'a str>,
    modified: &'a str,
    /// A distribution of a high-value dataset names the regulation too.
    hvd: bool,
}

impl DistributionTerms<'_> {
    fn add(&self, g: &mut Graph, dist: NamedOrBlankNode) {
        if let Some(t) = self.file_type {
            g.code(
                dist.clone(),
                &format!("{DCT}format"),
                &format!("{FILE_TYPE}{t}"),
                FILE_TYPE_SCHEME,
            );
        }
        g.add(
            dist.clone(),
            &format!("{DCAT}mediaType"),
            iri(&format!(
                "https://www.iana.org/assignments/media-types/{}",
                self.media_type
            )),
        );
        g.code(
            dist.clone(),
            &format!("{DCT}license"),
            self.license,
            LICENSE_SCHEME,
        );
        g.individuals
            .insert(self.license.to_string(), format!("{DCT}LicenseDocument"));
        if self.hvd {
            legislation(g, dist.clone());
        }
        if let Some(a) = self.attribution {
            g.add(
                dist.clone(),
                &format!("{DCATDE}licenseAttributionByText"),
                german(a),
            );
        }
        g.add(
            dist,
            &format!("{DCT}modified"),
            typed(self.modified, "dateTime"),
        );
    }
}

fn typed_gsp(wkt: &str) -> Literal {
    Literal::new_typed_literal(wkt, iri(&format!("{GSP}wktLiteral")))
}

/// A blank node label from a dataset id (ids may hold `-`, which labels may too, but not first).
fn blank(id: &str) -> String {
    format!("d_{}", id.replace('-', "_"))
}

fn contact_point(g: &mut Graph, node: NamedOrBlankNode, c: &Contact) {
    g.a(node.clone(), format!("{VCARD}Organization"));
    // Stated, not left to inference: validators without the vCard ontology check for Kind.
    g.a(node.clone(), format!("{VCARD}Kind"));
    g.add(
        node.clone(),
        &format!("{VCARD}fn"),
        Literal::from(c.name.as_str()),
    );
    if let Some(e) = c.email.as_deref().filter(|e| super::metadata::is_email(e)) {
        g.add(
            node.clone(),
            &format!("{VCARD}hasEmail"),
            iri(&format!("mailto:{e}")),
        );
    }
    if let Some(u) = c.url.as_deref().and_then(checked_iri) {
        g.add(node.clone(), &format!("{VCARD}hasURL"), u);
    }
    if let Some(p) = &c.phone {
        let tel: String = p
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect();
        g.add(
            node,
            &format!("{VCARD}hasTelephone"),
            iri(&format!("tel:{tel}")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::iri;

    #[test]
    fn an_iri_cannot_close_itself() {
        let hostile = "mailto:a@b.de> . <https://x/d> <http://purl.org/dc/terms/title> \"x\" . <a";
        let node = iri(hostile);
        assert!(!node.as_str().contains(['<', '>', '"', ' ']), "{node}");
        assert!(oxrdf::NamedNode::new(node.as_str()).is_ok(), "{node}");
        assert_eq!(iri("https://x.de/a").as_str(), "https://x.de/a");
        // No scheme even once escaped: not an IRI at all.
        assert!(super::checked_iri("a@b.de> . <http://x/> <p> \"o\" . <a").is_none());
        assert_eq!(iri("a@b.de> <").as_str(), super::INVALID_IRI);
    }
}
