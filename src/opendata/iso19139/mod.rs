//! ISO 19115 metadata records in the ISO 19139 XML encoding (`gmd:MD_Metadata`), as the
//! INSPIRE metadata Technical Guidelines 2.0 fill them: each dataset's ([`record`]), which an
//! INSPIRE download service links with `rel=describedby`, and the download service's own
//! ([`service_record`], ISO 19119), which the landing page links as service metadata. What the
//! Länder's geoportals (CSW) harvest; `tests/integration/inspire.rs` validates both against
//! the ISO schemas.

mod dataset;
mod service;

use std::fmt::Write;

use quick_xml::escape::escape;

use super::metadata::{license_title, Contact};

pub use dataset::record;
pub use service::service_record;

const CODELISTS: &str = "http://standards.iso.org/iso/19139/resources/gmxCodelists.xml";

/// The metadata about the record itself, shared by dataset and service records: its id,
/// language, scope, contact and date.
pub(super) fn head(
    x: &mut String,
    file_id: &str,
    scope: &str,
    organisation: &str,
    contact: &Contact,
    date: &str,
) {
    element(x, "gmd:fileIdentifier", &text(file_id));
    element(x, "gmd:language", &language());
    element(x, "gmd:characterSet", &code("MD_CharacterSetCode", "utf8"));
    element(x, "gmd:hierarchyLevel", &code("MD_ScopeCode", scope));
    element(x, "gmd:contact", &party(organisation, contact));
    element(x, "gmd:dateStamp", &format!("<gco:Date>{date}</gco:Date>"));
    element(x, "gmd:metadataStandardName", &text("ISO 19115:2003/19139"));
    element(x, "gmd:metadataStandardVersion", &text("1.0"));
}

/// The two constraints INSPIRE asks for: no limitations on public access, and the licence
/// (with its attribution) as the conditions for use.
pub(super) fn constraints(ident: &mut String, license: &str, attribution: Option<&str>) {
    element(
        ident,
        "gmd:resourceConstraints",
        &format!(
            "<gmd:MD_LegalConstraints><gmd:accessConstraints>{}</gmd:accessConstraints>\
             <gmd:otherConstraints>{}</gmd:otherConstraints></gmd:MD_LegalConstraints>",
            code("MD_RestrictionCode", "otherRestrictions"),
            anchor(
                "http://inspire.ec.europa.eu/metadata-codelist/LimitationsOnPublicAccess/noLimitations",
                "Es gelten keine Zugriffsbeschränkungen"
            )
        ),
    );
    let mut use_constraints = anchor(license, license_title(license).unwrap_or(license));
    if let Some(a) = attribution {
        use_constraints = format!(
            "{use_constraints}</gmd:otherConstraints><gmd:otherConstraints>{}",
            text(&format!("Quellenvermerk: {a}"))
        );
    }
    element(
        ident,
        "gmd:resourceConstraints",
        &format!(
            "<gmd:MD_LegalConstraints><gmd:useConstraints>{}</gmd:useConstraints>\
             <gmd:otherConstraints>{use_constraints}</gmd:otherConstraints></gmd:MD_LegalConstraints>",
            code("MD_RestrictionCode", "otherRestrictions")
        ),
    );
}

/// A geographic bounding box extent (CRS84 west, south, east, north).
pub(super) fn bbox_extent([w, s, e, n]: [f64; 4]) -> String {
    format!(
        "<gmd:EX_Extent><gmd:geographicElement><gmd:EX_GeographicBoundingBox>\
         <gmd:westBoundLongitude><gco:Decimal>{w}</gco:Decimal></gmd:westBoundLongitude>\
         <gmd:eastBoundLongitude><gco:Decimal>{e}</gco:Decimal></gmd:eastBoundLongitude>\
         <gmd:southBoundLatitude><gco:Decimal>{s}</gco:Decimal></gmd:southBoundLatitude>\
         <gmd:northBoundLatitude><gco:Decimal>{n}</gco:Decimal></gmd:northBoundLatitude>\
         </gmd:EX_GeographicBoundingBox></gmd:geographicElement></gmd:EX_Extent>"
    )
}

/// The day of an RFC 3339 timestamp.
pub(super) fn day(iso: &str) -> &str {
    iso.get(..10).unwrap_or(iso)
}

/// `<name>inner</name>` and a line break.
pub(super) fn element(out: &mut String, name: &str, inner: &str) {
    let _ = writeln!(out, "<{name}>{inner}</{name}>");
}

pub(super) fn text(s: &str) -> String {
    format!("<gco:CharacterString>{}</gco:CharacterString>", escape(s))
}

pub(super) fn anchor(href: &str, label: &str) -> String {
    format!(
        "<gmx:Anchor xlink:href=\"{}\">{}</gmx:Anchor>",
        escape(href),
        escape(label)
    )
}

/// A value of an ISO 19139 code list.
pub(super) fn code(list: &str, value: &str) -> String {
    format!("<gmd:{list} codeList=\"{CODELISTS}#{list}\" codeListValue=\"{value}\">{value}</gmd:{list}>")
}

pub(super) fn language() -> String {
    "<gmd:LanguageCode codeList=\"http://www.loc.gov/standards/iso639-2/\" codeListValue=\"ger\">ger</gmd:LanguageCode>".into()
}

/// The publisher's contact as the point of contact.
pub(super) fn party(organisation: &str, contact: &Contact) -> String {
    let mut info = String::new();
    if let Some(phone) = &contact.phone {
        let _ = write!(
            info,
            "<gmd:phone><gmd:CI_Telephone><gmd:voice>{}</gmd:voice></gmd:CI_Telephone></gmd:phone>",
            text(phone)
        );
    }
    if let Some(email) = &contact.email {
        let _ = write!(
            info,
            "<gmd:address><gmd:CI_Address><gmd:electronicMailAddress>{}</gmd:electronicMailAddress>\
             </gmd:CI_Address></gmd:address>",
            text(email)
        );
    }
    if let Some(url) = &contact.url {
        let _ = write!(
            info,
            "<gmd:onlineResource><gmd:CI_OnlineResource><gmd:linkage><gmd:URL>{}</gmd:URL>\
             </gmd:linkage></gmd:CI_OnlineResource></gmd:onlineResource>",
            escape(url.as_str())
        );
    }
    format!(
        "<gmd:CI_ResponsibleParty><gmd:individualName>{}</gmd:individualName>\
         <gmd:organisationName>{}</gmd:organisationName><gmd:contactInfo><gmd:CI_Contact>{info}\
         </gmd:CI_Contact></gmd:contactInfo><gmd:role>{}</gmd:role></gmd:CI_ResponsibleParty>",
        text(&contact.name),
        text(organisation),
        code("CI_RoleCode", "pointOfContact")
    )
}

pub(super) fn online_resource(out: &mut String, href: &str, protocol: Option<String>, name: &str) {
    let protocol = protocol
        .map(|p| format!("<gmd:protocol>{p}</gmd:protocol>"))
        .unwrap_or_default();
    element(
        out,
        "gmd:onLine",
        &format!(
            "<gmd:CI_OnlineResource><gmd:linkage><gmd:URL>{}</gmd:URL></gmd:linkage>{protocol}\
             <gmd:name>{}</gmd:name><gmd:function>{}</gmd:function></gmd:CI_OnlineResource>",
            escape(href),
            text(name),
            code("CI_OnLineFunctionCode", "download")
        ),
    );
}
