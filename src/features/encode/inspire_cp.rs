//! A parcels collection in the INSPIRE Cadastral Parcels data model (`cp:CadastralParcel`,
//! application schema 4.0), as the INSPIRE good practice for OGC API Features as download
//! service asks of a harmonised dataset: GeoJSON after the INSPIRE alternative encoding (the
//! properties under their INSPIRE names, `inspireId` as an object) and GML 3.2 in a WFS 2.0
//! FeatureCollection, the encoding the INSPIRE validator and GDAL read.
//!
//! From the parcels profile's canonical attributes (the AdV's mapping of ALKIS to INSPIRE):
//! `label` and `nationalCadastralReference` are the Flurstückskennzeichen, `areaValue` the
//! amtliche Fläche in m², `validFrom` the zeitpunktDerEntstehung, `beginLifespanVersion` the
//! ALKIS `beginnt`; `inspireId` is the object's ALKIS identifier (`gml_id`, else the
//! Flurstückskennzeichen) in the namespace of the dataset's IRI.

use std::io::Write;

use quick_xml::escape::escape;

use super::geojson::{collection_end, write_geometry as write_geojson_geometry};
use super::{gml, FeatureEncoder, PageEnd};
use crate::catalog::{DatasetKind, Version};
use crate::crs::ApiCrs;
use crate::error::{Error, Result};
use crate::ogc::media;
use crate::value::{FeatureRow, Value};

pub const GML: &str = "application/gml+xml; version=3.2";
const CP: &str = "http://inspire.ec.europa.eu/schemas/cp/4.0";
const CP_XSD: &str = "https://inspire.ec.europa.eu/schemas/cp/4.0/CadastralParcels.xsd";
const BASE: &str = "http://inspire.ec.europa.eu/schemas/base/3.3";
const UNPOPULATED: &str = "http://inspire.ec.europa.eu/codelist/VoidReasonValue/Unpopulated";

/// Where the INSPIRE properties are among a version's columns.
#[derive(Debug, Clone)]
pub struct CpColumns {
    key: usize,
    local_id: Option<usize>,
    area: Option<usize>,
    valid_from: Option<usize>,
    begin: Option<usize>,
    /// `inspireId.namespace`: the dataset's IRI.
    namespace: String,
}

impl CpColumns {
    /// The mapping for a collection; 400 for one that is no parcels dataset.
    pub fn of(kind: DatasetKind, version: &Version, dataset_iri: String) -> Result<Self> {
        let find = |names: &[&str]| {
            version.columns.iter().position(|c| {
                names
                    .iter()
                    .any(|n| c.name == *n || c.name.ends_with(&format!("_{n}")))
            })
        };
        let key = find(&["flurstueckskennzeichen"]).filter(|_| kind == DatasetKind::Parcels);
        let Some(key) = key else {
            return Err(Error::invalid(
                "profile",
                format!(
                    "the INSPIRE Cadastral Parcels model is served for parcels datasets (kind \
                     parcels, with a Flurstückskennzeichen); '{}' is of kind {}",
                    version.dataset_id,
                    kind.as_str()
                ),
            ));
        };
        Ok(Self {
            key,
            local_id: find(&["gml_id"]),
            area: find(&["amtlicheflaeche"]),
            valid_from: find(&["zeitpunktderentstehung"]),
            begin: find(&["beginnt"]),
            namespace: dataset_iri,
        })
    }

    fn text(&self, row: &FeatureRow, column: Option<usize>) -> Option<String> {
        match column
            .and_then(|i| row.values.get(i))
            .and_then(Option::as_ref)?
        {
            Value::Text(s) if s.trim().is_empty() => None,
            v => Some(v.to_text().into_owned()),
        }
    }

    fn parcel(&self, row: &FeatureRow) -> Parcel {
        let key = self.text(row, Some(self.key)).unwrap_or_default();
        Parcel {
            local_id: self.text(row, self.local_id).unwrap_or_else(|| key.clone()),
            area: self
                .area
                .and_then(|i| row.values.get(i))
                .and_then(Option::as_ref)
                .and_then(|v| match v {
                    Value::Float(f) => Some(*f),
                    Value::Int(n) => Some(*n as f64),
                    Value::Text(s) => s.trim().parse().ok(),
                    _ => None,
                })
                .filter(|a| a.is_finite()),
            valid_from: self.text(row, self.valid_from).map(date_time),
            begin: self.text(row, self.begin).map(date_time),
            key,
        }
    }
}

/// One parcel's INSPIRE properties.
struct Parcel {
    key: String,
    local_id: String,
    area: Option<f64>,
    valid_from: Option<String>,
    begin: Option<String>,
}

/// An `xs:dateTime` of a date or timestamp value (a date is its day's start).
fn date_time(value: String) -> String {
    if value.len() == 10 {
        format!("{value}T00:00:00Z")
    } else {
        value
    }
}

/// The GeoJSON alternative encoding.
pub struct CpGeoJsonEncoder {
    columns: CpColumns,
    has_z: bool,
    first: bool,
}

impl CpGeoJsonEncoder {
    pub fn new(columns: CpColumns, version: &Version) -> Self {
        Self {
            columns,
            has_z: version.has_z,
            first: true,
        }
    }

    /// One `Feature`, with `links` when it is served on its own.
    pub fn write_feature(
        &self,
        out: &mut Vec<u8>,
        row: &FeatureRow,
        links: Option<&[crate::ogc::Link]>,
    ) -> Result<()> {
        let p = self.columns.parcel(row);
        out.extend_from_slice(b"{\"type\":\"Feature\",\"id\":");
        let _ = write!(out, "{}", row.fid);
        out.extend_from_slice(b",\"featureType\":\"CadastralParcel\",\"geometry\":");
        write_geojson_geometry(out, row, self.has_z)?;
        let properties = serde_json::json!({
            "inspireId": {"localId": p.local_id, "namespace": self.columns.namespace},
            "label": p.key,
            "nationalCadastralReference": p.key,
            "areaValue": p.area,
            "areaValue_uom": p.area.map(|_| "m2"),
            "validFrom": p.valid_from,
            "validTo": null,
            "beginLifespanVersion": p.begin,
            "endLifespanVersion": null,
        });
        out.extend_from_slice(b",\"properties\":");
        let _ = serde_json::to_writer(&mut *out, &properties);
        if let Some(links) = links {
            out.extend_from_slice(b",\"links\":");
            let _ = serde_json::to_writer(&mut *out, links);
        }
        out.push(b'}');
        Ok(())
    }
}

impl FeatureEncoder for CpGeoJsonEncoder {
    fn content_type(&self) -> &'static str {
        media::GEOJSON
    }

    fn begin(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"type\":\"FeatureCollection\",\"features\":[");
    }

    fn feature(&mut self, out: &mut Vec<u8>, row: &FeatureRow) -> Result<()> {
        if !self.first {
            out.push(b',');
        }
        self.first = false;
        self.write_feature(out, row, None)
    }

    fn end(&mut self, out: &mut Vec<u8>, page: &PageEnd) -> Result<()> {
        collection_end(out, page);
        Ok(())
    }
}

/// GML 3.2: a WFS 2.0 `FeatureCollection` of `cp:CadastralParcel` members. WFS wants the
/// numbers before the members, so a page's members are held until its end.
pub struct CpGmlEncoder {
    columns: CpColumns,
    srs_name: String,
    has_z: bool,
    members: Vec<u8>,
}

impl CpGmlEncoder {
    pub fn new(columns: CpColumns, version: &Version, crs: &ApiCrs) -> Self {
        Self {
            columns,
            srs_name: crs.uri.clone(),
            has_z: version.has_z,
            members: Vec::new(),
        }
    }

    /// One `cp:CadastralParcel` element, its properties in the schema's order; as a
    /// document's root (`root`) with the namespace declarations.
    pub fn write_parcel(&self, out: &mut Vec<u8>, row: &FeatureRow, root: bool) -> Result<()> {
        let p = self.columns.parcel(row);
        let id = format!("CadastralParcel.{}", row.fid);
        if root {
            let _ = write!(
                out,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<cp:CadastralParcel {} gml:id=\"{id}\">",
                Self::namespaces()
            );
        } else {
            let _ = write!(out, "<cp:CadastralParcel gml:id=\"{id}\">");
        }
        if let Some(area) = p.area {
            let _ = write!(out, "<cp:areaValue uom=\"m2\">{area}</cp:areaValue>");
        }
        match &p.begin {
            Some(t) => {
                let _ = write!(
                    out,
                    "<cp:beginLifespanVersion>{}</cp:beginLifespanVersion>",
                    escape(t)
                );
            }
            None => {
                let _ = write!(
                    out,
                    "<cp:beginLifespanVersion xsi:nil=\"true\" nilReason=\"{UNPOPULATED}\"/>"
                );
            }
        }
        out.extend_from_slice(b"<cp:geometry>");
        if let Some(ewkb) = &row.geometry {
            gml::write_geometry(out, ewkb, &self.srs_name, &format!("{id}.g"), self.has_z)?;
        }
        out.extend_from_slice(b"</cp:geometry>");
        let _ = write!(
            out,
            "<cp:inspireId><base:Identifier><base:localId>{}</base:localId><base:namespace>{}\
             </base:namespace></base:Identifier></cp:inspireId><cp:label>{}</cp:label>\
             <cp:nationalCadastralReference>{}</cp:nationalCadastralReference>",
            escape(&p.local_id),
            escape(&self.columns.namespace),
            escape(&p.key),
            escape(&p.key)
        );
        if let Some(t) = &p.valid_from {
            let _ = write!(out, "<cp:validFrom>{}</cp:validFrom>", escape(t));
        }
        out.extend_from_slice(b"</cp:CadastralParcel>");
        Ok(())
    }

    /// The namespace declarations and schema locations of a document's root.
    fn namespaces() -> String {
        format!(
            "xmlns:wfs=\"http://www.opengis.net/wfs/2.0\" xmlns:gml=\"http://www.opengis.net/gml/3.2\" \
             xmlns:cp=\"{CP}\" xmlns:base=\"{BASE}\" \
             xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
             xsi:schemaLocation=\"http://www.opengis.net/wfs/2.0 http://schemas.opengis.net/wfs/2.0/wfs.xsd {CP} {CP_XSD}\""
        )
    }
}

impl FeatureEncoder for CpGmlEncoder {
    fn content_type(&self) -> &'static str {
        GML
    }

    fn begin(&mut self, _out: &mut Vec<u8>) {}

    fn feature(&mut self, _out: &mut Vec<u8>, row: &FeatureRow) -> Result<()> {
        self.members.extend_from_slice(b"<wfs:member>");
        let mut member = std::mem::take(&mut self.members);
        let written = self.write_parcel(&mut member, row, false);
        self.members = member;
        written?;
        self.members.extend_from_slice(b"</wfs:member>\n");
        Ok(())
    }

    fn end(&mut self, out: &mut Vec<u8>, page: &PageEnd) -> Result<()> {
        let matched = page
            .number_matched
            .map_or_else(|| "unknown".to_string(), |m| m.to_string());
        let _ = write!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<wfs:FeatureCollection {} \
             timeStamp=\"{}\" numberMatched=\"{matched}\" numberReturned=\"{}\">\n",
            Self::namespaces(),
            crate::time::now_rfc3339(),
            page.number_returned
        );
        out.append(&mut self.members);
        out.extend_from_slice(b"</wfs:FeatureCollection>\n");
        Ok(())
    }
}
