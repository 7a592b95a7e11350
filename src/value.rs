//! Attribute values and feature rows, shared by ingest (normalised stream) and serving (encoders).

/// A property value. A missing or null property is represented by its absence (`None`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    /// Nested objects and arrays (and anything stored in a jsonb column), as JSON text.
    Json(String),
}

/// One feature read back from a version table, ready for an encoder.
#[derive(Debug, Clone, Default)]
pub struct FeatureRow {
    pub fid: i64,
    /// One entry per catalog column, in catalog order.
    pub values: Vec<Option<Value>>,
    /// EWKB in the CRS the request asked for.
    pub geometry: Option<Vec<u8>>,
    /// Computed properties that follow the columns (e.g. `distance_m`).
    pub extra: Vec<(&'static str, Option<Value>)>,
}
