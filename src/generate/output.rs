//! Writes generated features as GeoJSON (with the legacy `crs` member, since the coordinates are
//! EPSG:25832) or FlatGeobuf (CRS in the header, with a spatial index).

use std::io::Write;

use flatgeobuf::{ColumnType, FgbCrs, FgbWriter, FgbWriterOptions, GeometryType};
use geozero::{ColumnValue, PropertyProcessor};

use super::{FieldType, GenFeature, GenKind, SRID};
use crate::value::Value;

/// Output file formats of the generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Geojson,
    Fgb,
}

/// Streams a FeatureCollection; memory does not grow with the count.
pub fn write_geojson(
    kind: GenKind,
    features: &[GenFeature],
    out: &mut impl Write,
) -> std::io::Result<()> {
    let names: Vec<String> = kind
        .schema()
        .iter()
        .map(|(n, _)| serde_json::Value::String((*n).to_string()).to_string())
        .collect();
    write!(
        out,
        "{{\"type\":\"FeatureCollection\",\"crs\":{{\"type\":\"name\",\"properties\":{{\"name\":\"urn:ogc:def:crs:EPSG::{SRID}\"}}}},\"features\":["
    )?;
    for (n, f) in features.iter().enumerate() {
        if n > 0 {
            out.write_all(b",")?;
        }
        out.write_all(b"\n{\"type\":\"Feature\",\"properties\":{")?;
        for (i, (name, value)) in names.iter().zip(&f.values).enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            write!(out, "{name}:")?;
            match value {
                None => out.write_all(b"null")?,
                Some(Value::Int(v)) => write!(out, "{v}")?,
                Some(Value::Float(v)) => serde_json::to_writer(&mut *out, v)?,
                Some(Value::Text(s)) => serde_json::to_writer(&mut *out, s)?,
                Some(Value::Bool(b)) => write!(out, "{b}")?,
                Some(Value::Json(raw)) => out.write_all(raw.as_bytes())?,
            }
        }
        out.write_all(b"},\"geometry\":")?;
        let geometry = geojson::Geometry::from(&f.geometry);
        serde_json::to_writer(&mut *out, &geometry)?;
        out.write_all(b"}")?;
    }
    out.write_all(b"\n]}\n")
}

/// Writes FlatGeobuf with an index; the writer spools features to a temporary file first.
pub fn write_fgb(
    kind: GenKind,
    features: &[GenFeature],
    out: &mut impl Write,
) -> std::io::Result<()> {
    let to_io = |e: flatgeobuf::Error| std::io::Error::other(e.to_string());
    let geometry_type = match kind {
        GenKind::Aed => GeometryType::Point,
        GenKind::Parcels | GenKind::Solar => GeometryType::Polygon,
    };
    let mut fgb = FgbWriter::create_with_options(
        kind_name(kind),
        geometry_type,
        FgbWriterOptions {
            write_index: true,
            crs: FgbCrs {
                org: Some("EPSG"),
                code: SRID,
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .map_err(to_io)?;
    for (name, ty) in kind.schema() {
        let col = match ty {
            FieldType::Int => ColumnType::Long,
            FieldType::Float => ColumnType::Double,
            FieldType::Text => ColumnType::String,
        };
        fgb.add_column(name, col, |_, c| c.nullable = true);
    }
    for f in features {
        fgb.add_feature_geom(f.geometry.clone(), |w| {
            for (i, ((name, _), value)) in kind.schema().iter().zip(&f.values).enumerate() {
                let _ = match value {
                    None => Ok(false),
                    Some(Value::Int(v)) => w.property(i, name, &ColumnValue::Long(*v)),
                    Some(Value::Float(v)) => w.property(i, name, &ColumnValue::Double(*v)),
                    Some(Value::Text(s) | Value::Json(s)) => {
                        w.property(i, name, &ColumnValue::String(s))
                    }
                    Some(Value::Bool(b)) => w.property(i, name, &ColumnValue::Bool(*b)),
                };
            }
        })
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    }
    fgb.write(out).map_err(to_io)
}

fn kind_name(kind: GenKind) -> &'static str {
    match kind {
        GenKind::Parcels => "parcels",
        GenKind::Solar => "solar",
        GenKind::Aed => "aed",
    }
}
