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

impl Value {
    /// The value as plain text (CSV cells, HTML, key checks): strings as they are, JSON as its
    /// text, numbers in Rust's shortest round-trip form.
    pub fn to_text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Self::Text(s) | Self::Json(s) => s.as_str().into(),
            Self::Int(n) => n.to_string().into(),
            Self::Float(f) => f.to_string().into(),
            Self::Bool(b) => b.to_string().into(),
        }
    }
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
