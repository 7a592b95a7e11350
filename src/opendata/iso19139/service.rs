//! The download service's record (ISO 19119 `srv:SV_ServiceIdentification`): kreisgeo's OGC API
//! as an INSPIRE download service, coupled to each dataset's record by `srv:operatesOn`.

use quick_xml::escape::escape;

use super::{anchor, bbox_extent, code, constraints, day, element, head, party, text};
use crate::catalog::repo::CatalogRow;
use crate::opendata::metadata::DatasetMetadata;
use crate::opendata::publishers::Publishers;

/// The INSPIRE regulation on network services a download service's conformity is reported
/// against.
const REGULATION_976: &str = "VERORDNUNG (EG) Nr. 976/2009 DER KOMMISSION vom 19. Oktober 2009 \
     zur Durchführung der Richtlinie 2007/2/EG des Europäischen Parlaments und des Rates \
     hinsichtlich der Netzdienste";

/// The record of the service serving `rows` (the datasets it publishes).
pub fn service_record(
    base: &str,
    publishers: &Publishers,
    rows: &[CatalogRow<DatasetMetadata>],
) -> String {
    let publisher = &publishers.main;
    let id = service_id(base);
    let modified = rows
        .iter()
        .map(|r| r.modified.as_str())
        .max()
        .unwrap_or("1970-01-01");
    let mut x = String::with_capacity(8 * 1024 + rows.len() * 200);
    x.push_str(concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        "\n",
        r#"<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd" xmlns:gco="http://www.isotc211.org/2005/gco" xmlns:srv="http://www.isotc211.org/2005/srv" xmlns:gmx="http://www.isotc211.org/2005/gmx" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.isotc211.org/2005/gmd http://schemas.opengis.net/iso/19139/20060504/gmd/gmd.xsd http://www.isotc211.org/2005/srv http://schemas.opengis.net/iso/19139/20060504/srv/srv.xsd">"#,
        "\n"
    ));
    head(
        &mut x,
        &id.to_string(),
        "service",
        &publisher.name,
        &publisher.contact,
        day(modified),
    );

    let mut ident = String::new();
    let title = format!("OGC API Features und Tiles: {}", publisher.name);
    element(
        &mut ident,
        "gmd:citation",
        &format!(
            "<gmd:CI_Citation><gmd:title>{}</gmd:title><gmd:date><gmd:CI_Date><gmd:date>\
             <gco:Date>{}</gco:Date></gmd:date><gmd:dateType>{}</gmd:dateType></gmd:CI_Date>\
             </gmd:date><gmd:identifier><gmd:MD_Identifier><gmd:code>{}</gmd:code>\
             </gmd:MD_Identifier></gmd:identifier></gmd:CI_Citation>",
            text(&title),
            day(modified),
            code("CI_DateTypeCode", "revision"),
            text(&format!("{base}/"))
        ),
    );
    element(
        &mut ident,
        "gmd:abstract",
        &text(&format!(
            "Downloaddienst (INSPIRE) von {}: die offenen Geodaten des Portals über OGC API - \
             Features (GeoJSON, CSV, FlatGeobuf, je Objekt und seitenweise) und OGC API - Tiles \
             (Vektorkacheln), mit vordefinierten Gesamtdownloads je Datensatz.",
            publisher.name
        )),
    );
    element(
        &mut ident,
        "gmd:pointOfContact",
        &party(&publisher.name, &publisher.contact),
    );
    // The ISO 19119 service classification INSPIRE asks one keyword of.
    element(
        &mut ident,
        "gmd:descriptiveKeywords",
        &format!(
            "<gmd:MD_Keywords><gmd:keyword>{}</gmd:keyword><gmd:thesaurusName><gmd:CI_Citation>\
             <gmd:title>{}</gmd:title><gmd:date><gmd:CI_Date><gmd:date><gco:Date>2008-12-03\
             </gco:Date></gmd:date><gmd:dateType>{}</gmd:dateType></gmd:CI_Date></gmd:date>\
             </gmd:CI_Citation></gmd:thesaurusName></gmd:MD_Keywords>",
            anchor(
                "http://inspire.ec.europa.eu/metadata-codelist/SpatialDataServiceCategory/infoFeatureAccessService",
                "infoFeatureAccessService"
            ),
            text("Part D 4, Classification of Spatial data Services"),
            code("CI_DateTypeCode", "publication")
        ),
    );
    constraints(
        &mut ident,
        &publisher.license,
        publisher.license_attribution_by_text.as_deref(),
    );
    element(
        &mut ident,
        "srv:serviceType",
        "<gco:LocalName codeSpace=\"http://inspire.ec.europa.eu/metadata-codelist/SpatialDataServiceType\">download</gco:LocalName>",
    );
    element(
        &mut ident,
        "srv:serviceTypeVersion",
        &text("OGC API - Features - Part 1: Core 1.0"),
    );
    if let Some(bbox) = union(rows) {
        element(&mut ident, "srv:extent", &bbox_extent(bbox));
    }
    element(
        &mut ident,
        "srv:couplingType",
        "<srv:SV_CouplingType codeList=\"http://standards.iso.org/iso/19119/resources/Codelist/gmxCodelists.xml#SV_CouplingType\" codeListValue=\"tight\">tight</srv:SV_CouplingType>",
    );
    for (name, path) in [
        ("Landing page", "/"),
        ("Conformance", "/conformance"),
        ("Collections", "/collections"),
        ("Features", "/collections/{collectionId}/items"),
        ("API definition (OpenAPI 3.0)", "/api"),
    ] {
        element(
            &mut ident,
            "srv:containsOperations",
            &format!(
                "<srv:SV_OperationMetadata><srv:operationName>{}</srv:operationName><srv:DCP>\
                 <srv:DCPList codeList=\"http://standards.iso.org/iso/19119/resources/Codelist/gmxCodelists.xml#DCPList\" codeListValue=\"WebServices\">WebServices</srv:DCPList>\
                 </srv:DCP><srv:connectPoint><gmd:CI_OnlineResource><gmd:linkage><gmd:URL>{}</gmd:URL>\
                 </gmd:linkage></gmd:CI_OnlineResource></srv:connectPoint></srv:SV_OperationMetadata>",
                text(name),
                escape(format!("{base}{path}"))
            ),
        );
    }
    for row in rows {
        let dataset = format!("{base}/catalog/datasets/{}/iso19139.xml", row.collection.id);
        let _ = std::fmt::Write::write_fmt(
            &mut ident,
            format_args!(
                "<srv:operatesOn uuidref=\"{}\" xlink:href=\"{}\"/>\n",
                super::dataset::record_id(base, &row.collection.id),
                escape(&dataset)
            ),
        );
    }
    element(
        &mut x,
        "gmd:identificationInfo",
        &format!("<srv:SV_ServiceIdentification>{ident}</srv:SV_ServiceIdentification>"),
    );
    element(
        &mut x,
        "gmd:distributionInfo",
        &format!(
            "<gmd:MD_Distribution><gmd:transferOptions><gmd:MD_DigitalTransferOptions><gmd:onLine>\
             <gmd:CI_OnlineResource><gmd:linkage><gmd:URL>{}</gmd:URL></gmd:linkage><gmd:protocol>{}\
             </gmd:protocol><gmd:function>{}</gmd:function></gmd:CI_OnlineResource></gmd:onLine>\
             </gmd:MD_DigitalTransferOptions></gmd:transferOptions></gmd:MD_Distribution>",
            escape(format!("{base}/")),
            anchor(
                "http://www.opengis.net/def/docs/17-069r3",
                "OGC API-Features"
            ),
            code("CI_OnLineFunctionCode", "information")
        ),
    );
    // Conformity with the network services regulation is the county's to evaluate (the
    // INSPIRE validator): reported as not evaluated.
    element(
        &mut x,
        "gmd:dataQualityInfo",
        &format!(
            "<gmd:DQ_DataQuality><gmd:scope><gmd:DQ_Scope><gmd:level>{}</gmd:level>\
             <gmd:levelDescription><gmd:MD_ScopeDescription><gmd:other>{}</gmd:other>\
             </gmd:MD_ScopeDescription></gmd:levelDescription></gmd:DQ_Scope></gmd:scope>\
             <gmd:report><gmd:DQ_DomainConsistency><gmd:result><gmd:DQ_ConformanceResult>\
             <gmd:specification><gmd:CI_Citation><gmd:title>{}</gmd:title><gmd:date><gmd:CI_Date>\
             <gmd:date><gco:Date>2009-10-20</gco:Date></gmd:date><gmd:dateType>{}</gmd:dateType>\
             </gmd:CI_Date></gmd:date></gmd:CI_Citation></gmd:specification><gmd:explanation>{}\
             </gmd:explanation><gmd:pass gco:nilReason=\"unknown\"/></gmd:DQ_ConformanceResult>\
             </gmd:result></gmd:DQ_DomainConsistency></gmd:report></gmd:DQ_DataQuality>",
            code("MD_ScopeCode", "service"),
            text("Dienst"),
            anchor("http://data.europa.eu/eli/reg/2009/976", REGULATION_976),
            code("CI_DateTypeCode", "publication"),
            text("Die Konformität mit der Verordnung ist nicht geprüft.")
        ),
    );
    x.push_str("</gmd:MD_Metadata>\n");
    x
}

/// The service record's file identifier: stable for the portal's address.
fn service_id(base: &str) -> uuid::Uuid {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, format!("{base}/").as_bytes())
}

/// The extent of all datasets (CRS84).
fn union(rows: &[CatalogRow<DatasetMetadata>]) -> Option<[f64; 4]> {
    rows.iter()
        .filter_map(|r| r.collection.version.bbox)
        .reduce(|a, b| {
            [
                a[0].min(b[0]),
                a[1].min(b[1]),
                a[2].max(b[2]),
                a[3].max(b[3]),
            ]
        })
}
