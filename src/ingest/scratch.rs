//! GeoJSON files kreisgeo writes for its own ingest (a register merged from several sources, a
//! dataset with an OsmChange file applied), so that they go through the same checks, versioning
//! and switch as an upload.

use std::io::Write;

use serde_json::{Map, Value};

/// Writes `features` — (GeoJSON geometry text in WGS 84, properties) — as one
/// FeatureCollection into a temporary file named `kreisgeo-{purpose}-….geojson`.
pub fn feature_collection<I, G>(
    purpose: &str,
    features: I,
) -> std::io::Result<tempfile::NamedTempFile>
where
    I: IntoIterator<Item = (G, Map<String, Value>)>,
    G: AsRef<str>,
{
    let file = tempfile::Builder::new()
        .prefix(&format!("kreisgeo-{purpose}-"))
        .suffix(".geojson")
        .tempfile()?;
    let mut out = std::io::BufWriter::new(file.as_file());
    out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[")?;
    for (i, (geometry, properties)) in features.into_iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        write!(
            out,
            "{{\"type\":\"Feature\",\"geometry\":{},\"properties\":{}}}",
            geometry.as_ref(),
            Value::Object(properties)
        )?;
    }
    out.write_all(b"]}")?;
    out.flush()?;
    drop(out);
    Ok(file)
}
