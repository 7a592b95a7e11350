//! A dataset's record: the same catalog row, publisher and downloads as its DCAT-AP.de
//! description.

use super::{
    anchor, bbox_extent, code, constraints, day, element, head, language, online_resource, party,
    text,
};
use crate::catalog::repo::CatalogRow;
use crate::catalog::DatasetKind;
use crate::downloads::Download;
use crate::opendata::metadata::DatasetMetadata;
use crate::opendata::publishers::Publishers;
/// The INSPIRE interoperability regulation a dataset's conformity is reported against.
const REGULATION_1089: &str = "VERORDNUNG (EG) Nr. 1089/2010 DER KOMMISSION vom 23. November \
     2010 zur Durchführung der Richtlinie 2007/2/EG des Europäischen Parlaments und des Rates \
     hinsichtlich der Interoperabilität von Geodatensätzen und -diensten";

/// The INSPIRE theme (code, German label) and ISO topic category of a kind; `None` for a kind
/// that is no INSPIRE theme's.
fn theme(kind: DatasetKind) -> (Option<(&'static str, &'static str)>, &'static str) {
    match kind {
        DatasetKind::Parcels => (Some(("cp", "Flurstücke/Grundstücke")), "planningCadastre"),
        DatasetKind::Buildings | DatasetKind::Roofs => (Some(("bu", "Gebäude")), "structure"),
        DatasetKind::Addresses => (Some(("ad", "Adressen")), "location"),
        DatasetKind::Solar => (Some(("er", "Energiequellen")), "utilitiesCommunication"),
        DatasetKind::Aed | DatasetKind::Coverage => {
            (Some(("hh", "Gesundheit und Sicherheit")), "health")
        }
        DatasetKind::Osm | DatasetKind::Generic => (None, "location"),
    }
}

/// The record of one dataset, its publisher's, with its distributions.
pub fn record(
    base: &str,
    publishers: &Publishers,
    row: &CatalogRow<DatasetMetadata>,
    downloads: &[Download],
) -> String {
    let c = &row.collection;
    let publisher = publishers.of(row.publisher.as_deref());
    let r = row.metadata.resolve(c.into(), publisher);
    let date = |iso: &str| day(iso).to_string();
    let id = record_id(base, &c.id);
    let mut x = String::with_capacity(16 * 1024);
    x.push_str(concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        "\n",
        r#"<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd" xmlns:gco="http://www.isotc211.org/2005/gco" xmlns:gmx="http://www.isotc211.org/2005/gmx" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.isotc211.org/2005/gmd http://schemas.opengis.net/iso/19139/20070417/gmd/gmd.xsd http://www.isotc211.org/2005/gmx http://schemas.opengis.net/iso/19139/20070417/gmx/gmx.xsd">"#,
        "\n"
    ));
    head(
        &mut x,
        &id.to_string(),
        "dataset",
        &publisher.name,
        r.contact,
        day(&row.modified),
    );
    let epsg = c.version.source_crs;
    element(
        &mut x,
        "gmd:referenceSystemInfo",
        &format!(
            "<gmd:MD_ReferenceSystem><gmd:referenceSystemIdentifier><gmd:RS_Identifier>\
             <gmd:code>{}</gmd:code></gmd:RS_Identifier></gmd:referenceSystemIdentifier>\
             </gmd:MD_ReferenceSystem>",
            anchor(
                &format!("http://www.opengis.net/def/crs/EPSG/0/{epsg}"),
                &format!("EPSG:{epsg}")
            )
        ),
    );

    // What the data is.
    let (inspire_theme, topic) = theme(c.kind);
    let mut ident = String::new();
    let mut citation = String::new();
    element(&mut citation, "gmd:title", &text(&r.title.de));
    for (day, kind) in [(&row.issued, "publication"), (&row.modified, "revision")] {
        element(
            &mut citation,
            "gmd:date",
            &format!(
                "<gmd:CI_Date><gmd:date><gco:Date>{}</gco:Date></gmd:date>\
                 <gmd:dateType>{}</gmd:dateType></gmd:CI_Date>",
                date(day),
                code("CI_DateTypeCode", kind)
            ),
        );
    }
    element(
        &mut citation,
        "gmd:identifier",
        &format!(
            "<gmd:MD_Identifier><gmd:code>{}</gmd:code></gmd:MD_Identifier>",
            text(&format!("{base}/catalog/datasets/{}", c.id))
        ),
    );
    element(
        &mut ident,
        "gmd:citation",
        &format!("<gmd:CI_Citation>{citation}</gmd:CI_Citation>"),
    );
    element(&mut ident, "gmd:abstract", &text(&r.description.de));
    element(
        &mut ident,
        "gmd:pointOfContact",
        &party(&publisher.name, r.contact),
    );
    if let Some((theme_code, label)) = inspire_theme {
        element(
            &mut ident,
            "gmd:descriptiveKeywords",
            &format!(
                "<gmd:MD_Keywords><gmd:keyword>{}</gmd:keyword><gmd:thesaurusName>\
                 <gmd:CI_Citation><gmd:title>{}</gmd:title><gmd:date><gmd:CI_Date><gmd:date>\
                 <gco:Date>2008-06-01</gco:Date></gmd:date><gmd:dateType>{}</gmd:dateType>\
                 </gmd:CI_Date></gmd:date></gmd:CI_Citation></gmd:thesaurusName></gmd:MD_Keywords>",
                anchor(
                    &format!("http://inspire.ec.europa.eu/theme/{theme_code}"),
                    label
                ),
                anchor(
                    "http://www.eionet.europa.eu/gemet/inspire_themes",
                    "GEMET - INSPIRE themes, version 1.0"
                ),
                code("CI_DateTypeCode", "publication")
            ),
        );
    }
    if !r.keywords.is_empty() {
        let mut keywords = String::new();
        for k in &r.keywords {
            element(&mut keywords, "gmd:keyword", &text(k));
        }
        element(
            &mut ident,
            "gmd:descriptiveKeywords",
            &format!("<gmd:MD_Keywords>{keywords}</gmd:MD_Keywords>"),
        );
    }
    constraints(&mut ident, r.license, r.attribution);
    element(
        &mut ident,
        "gmd:spatialRepresentationType",
        &code("MD_SpatialRepresentationTypeCode", "vector"),
    );
    element(&mut ident, "gmd:language", &language());
    element(
        &mut ident,
        "gmd:characterSet",
        &code("MD_CharacterSetCode", "utf8"),
    );
    element(
        &mut ident,
        "gmd:topicCategory",
        &format!("<gmd:MD_TopicCategoryCode>{topic}</gmd:MD_TopicCategoryCode>"),
    );
    if let Some(bbox) = c.version.bbox {
        element(&mut ident, "gmd:extent", &bbox_extent(bbox));
    }
    element(
        &mut x,
        "gmd:identificationInfo",
        &format!("<gmd:MD_DataIdentification>{ident}</gmd:MD_DataIdentification>"),
    );

    // Where to get it: the OGC API (the INSPIRE download service) and each bulk download.
    let own: Vec<&Download> = downloads
        .iter()
        .filter(|d| d.version == c.version.id)
        .collect();
    let mut distribution = String::new();
    let mut formats: Vec<&str> = vec!["GeoJSON"];
    formats.extend(own.iter().map(|d| d.kind.format.title()));
    formats.sort_unstable();
    formats.dedup();
    for f in formats {
        element(
            &mut distribution,
            "gmd:distributionFormat",
            &format!(
                "<gmd:MD_Format><gmd:name>{}</gmd:name><gmd:version>{}</gmd:version></gmd:MD_Format>",
                text(f),
                // ISO 19115 asks for a version; the formats kreisgeo writes name none.
                text("unbekannt")
            ),
        );
    }
    let mut online = String::new();
    online_resource(
        &mut online,
        &format!("{base}/collections/{}", c.id),
        Some(anchor(
            "http://www.opengis.net/def/docs/17-069r3",
            "OGC API-Features",
        )),
        &format!("{} (OGC API - Features)", r.title.de),
    );
    let inspire_model = c.kind == DatasetKind::Parcels
        && c.version
            .columns
            .iter()
            .any(|col| col.name == "flurstueckskennzeichen");
    if inspire_model {
        online_resource(
            &mut online,
            &format!("{base}/collections/{}/items?profile=inspire-cp&f=gml", c.id),
            Some(anchor(
                "http://www.opengis.net/def/docs/17-069r3",
                "OGC API-Features",
            )),
            &format!(
                "{} im INSPIRE-Datenmodell Flurstücke/Grundstücke (GML)",
                r.title.de
            ),
        );
    }
    for d in &own {
        online_resource(
            &mut online,
            &d.href,
            None,
            &format!("{} als {} ({})", r.title.de, d.kind.format.title(), d.crs),
        );
    }
    element(
        &mut distribution,
        "gmd:transferOptions",
        &format!("<gmd:MD_DigitalTransferOptions>{online}</gmd:MD_DigitalTransferOptions>"),
    );
    element(
        &mut x,
        "gmd:distributionInfo",
        &format!("<gmd:MD_Distribution>{distribution}</gmd:MD_Distribution>"),
    );

    // How good it is: not (yet) in the INSPIRE data model, and where it comes from.
    let lineage = row.metadata.provenance.as_ref().map_or_else(
        || {
            format!(
                "Bereitgestellt von {} mit kreisgeo; Version {} vom {}.",
                publisher.name,
                c.version.id,
                date(&c.version.created_at)
            )
        },
        |p| p.de.clone(),
    );
    // Parcels are also served in the INSPIRE model, whose conformity the county evaluates (the
    // INSPIRE validator); every other kind is not transformed.
    let (conformity, pass) = if inspire_model {
        (
            "Die Flurstücke werden zusätzlich im INSPIRE-Datenmodell Flurstücke/Grundstücke \
             (cp:CadastralParcel 4.0) bereitgestellt (OGC API Features mit profile=inspire-cp, \
             GeoJSON und GML); die Konformität ist nicht geprüft.",
            "<gmd:pass gco:nilReason=\"unknown\"/>",
        )
    } else {
        (
            "Der Datensatz ist nicht in das INSPIRE-Datenmodell transformiert.",
            "<gmd:pass><gco:Boolean>false</gco:Boolean></gmd:pass>",
        )
    };
    element(
        &mut x,
        "gmd:dataQualityInfo",
        &format!(
            "<gmd:DQ_DataQuality><gmd:scope><gmd:DQ_Scope><gmd:level>{}</gmd:level></gmd:DQ_Scope>\
             </gmd:scope><gmd:report><gmd:DQ_DomainConsistency><gmd:result><gmd:DQ_ConformanceResult>\
             <gmd:specification><gmd:CI_Citation><gmd:title>{}</gmd:title><gmd:date><gmd:CI_Date>\
             <gmd:date><gco:Date>2010-12-08</gco:Date></gmd:date><gmd:dateType>{}</gmd:dateType>\
             </gmd:CI_Date></gmd:date></gmd:CI_Citation></gmd:specification><gmd:explanation>{}\
             </gmd:explanation>{}\
             </gmd:DQ_ConformanceResult></gmd:result></gmd:DQ_DomainConsistency></gmd:report>\
             <gmd:lineage><gmd:LI_Lineage><gmd:statement>{}</gmd:statement></gmd:LI_Lineage>\
             </gmd:lineage></gmd:DQ_DataQuality>",
            code("MD_ScopeCode", "dataset"),
            anchor("http://data.europa.eu/eli/reg/2010/1089", REGULATION_1089),
            code("CI_DateTypeCode", "publication"),
            text(conformity),
            pass,
            text(&lineage)
        ),
    );
    x.push_str("</gmd:MD_Metadata>\n");
    x
}

/// A dataset record's file identifier: stable for the dataset's IRI.
pub(super) fn record_id(base: &str, dataset: &str) -> uuid::Uuid {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("{base}/catalog/datasets/{dataset}").as_bytes(),
    )
}
