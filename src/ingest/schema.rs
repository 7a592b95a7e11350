//! Attribute schema inference: which columns a version table gets and of which type.

use std::collections::HashMap;

use super::normalize::{FeatureSink, NormalizedFeature, Value};
use super::IngestError;
use crate::catalog::{Column, ColumnType};

/// Column names the version tables use themselves.
pub const RESERVED: [&str; 4] = [
    "fid",
    "geom",
    "tile_size",
    crate::tiles::mercator::GEOM_3857,
];

/// Most attributes a dataset may have: PostgreSQL's tables end at 1,600 columns, and a file
/// with more is refused when it says so (its header), not after its whole load.
pub const MAX_ATTRIBUTES: usize = 1_500;

/// The error of a file with more than [`MAX_ATTRIBUTES`] attributes.
pub fn too_many_attributes(count: usize) -> IngestError {
    IngestError::Parse {
        message: format!(
            "{count} attributes; at most {MAX_ATTRIBUTES} are allowed (PostgreSQL tables hold at most 1,600 columns)"
        ),
    }
}

/// Longest identifier PostgreSQL keeps (NAMEDATALEN - 1).
const MAX_IDENT_BYTES: usize = 63;

/// A sink that learns the columns and their types from the whole stream.
#[derive(Debug, Default, Clone)]
pub struct SchemaInferrer {
    columns: Vec<(String, Option<ColumnType>)>,
    index: HashMap<String, usize>,
    features: u64,
    with_geometry: u64,
    /// The first change after [`SchemaInferrer::watch`]: what a later feature added or widened.
    change: Option<String>,
    watching: bool,
}

impl SchemaInferrer {
    /// Features seen.
    pub fn features(&self) -> u64 {
        self.features
    }

    /// The inferred columns, in first-seen order, with sanitised unique SQL names.
    /// A column that only ever held nulls becomes text.
    pub fn columns(&self) -> Vec<Column> {
        let mut taken: Vec<String> = RESERVED.iter().map(ToString::to_string).collect();
        self.columns
            .iter()
            .map(|(original, ty)| {
                let name = unique_name(&sanitize(original), &taken);
                taken.push(name.clone());
                Column {
                    name,
                    original: original.clone(),
                    source: None,
                    ty: ty.unwrap_or(ColumnType::Text),
                }
            })
            .collect()
    }
}

impl SchemaInferrer {
    /// From now on, remember the first feature that changes the schema learnt so far.
    pub fn watch(&mut self) {
        self.watching = true;
        self.change = None;
    }

    /// What changed the schema since [`SchemaInferrer::watch`], if anything did.
    pub fn change(&self) -> Option<&str> {
        self.change.as_deref()
    }

    fn note_change(&mut self, what: impl FnOnce() -> String) {
        if self.watching && self.change.is_none() {
            self.change = Some(what());
        }
    }

    fn column_slot(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        self.note_change(|| format!("a new column '{name}'"));
        self.index.insert(name.to_string(), self.columns.len());
        self.columns.push((name.to_string(), None));
        self.columns.len() - 1
    }
}

impl FeatureSink for SchemaInferrer {
    fn declare_columns(&mut self, names: &[String]) {
        for name in names {
            self.column_slot(name);
        }
    }

    fn feature(&mut self, feature: &NormalizedFeature) -> Result<(), IngestError> {
        self.features += 1;
        if feature.geometry.is_some() {
            self.with_geometry += 1;
        }
        for (name, value) in feature.props() {
            let i = self.column_slot(name);
            if let Some(value) = value {
                let ty = value_type(value);
                let old = self.columns[i].1;
                let new = Some(old.map_or(ty, |old| merge(old, ty)));
                if new != old {
                    self.note_change(|| format!("column '{name}' holding {}", ty.sql_type()));
                    self.columns[i].1 = new;
                }
            }
        }
        if self.columns.len() > MAX_ATTRIBUTES {
            return Err(IngestError::Feature {
                index: self.features - 1,
                field: None,
                message: too_many_attributes(self.columns.len()).to_string(),
            });
        }
        Ok(())
    }
}

fn value_type(v: &Value) -> ColumnType {
    match v {
        Value::Bool(_) => ColumnType::Boolean,
        Value::Int(_) => ColumnType::Integer,
        Value::Float(_) => ColumnType::Float,
        Value::Text(s) => temporal_type(s).unwrap_or(ColumnType::Text),
        Value::Json(_) => ColumnType::Json,
    }
}

/// The narrowest type that holds both. JSON holds everything exactly; numbers mixed with
/// strings become text, which is what such columns are in real county data (house numbers).
fn merge(a: ColumnType, b: ColumnType) -> ColumnType {
    use ColumnType::{Float, Integer, Json, Text};
    match (a, b) {
        _ if a == b => a,
        (Integer, Float) | (Float, Integer) => Float,
        (Json, _) | (_, Json) => Json,
        _ => Text,
    }
}

/// The temporal type of an ISO 8601 text, if it is exactly one of the three forms that
/// round-trip: `YYYY-MM-DD`, `YYYY-MM-DDThh:mm:ss`, `YYYY-MM-DDThh:mm:ssZ`, and a real date.
fn temporal_type(s: &str) -> Option<ColumnType> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if year == 0 || day == 0 || day > days {
        return None;
    }
    let time_ok = || -> Option<()> {
        (b[10] == b'T' && b[13] == b':' && b[16] == b':').then_some(())?;
        (digits(11..13)? < 24 && digits(14..16)? < 60 && digits(17..19)? < 60).then_some(())
    };
    match b.len() {
        10 => Some(ColumnType::Date),
        19 => time_ok().map(|()| ColumnType::Timestamp),
        20 if b[19] == b'Z' => time_ok().map(|()| ColumnType::TimestampTz),
        _ => None,
    }
}

/// A lower-case ASCII SQL name for a source property name.
pub fn sanitize(original: &str) -> String {
    let mut out = String::with_capacity(original.len());
    for c in original.chars().flat_map(char::to_lowercase) {
        match c {
            'a'..='z' | '0'..='9' => out.push(c),
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            _ => {
                if !out.ends_with('_') {
                    out.push('_');
                }
            }
        }
    }
    let trimmed = out.trim_matches('_');
    let mut name = if trimmed.is_empty() {
        "col".to_string()
    } else if trimmed.starts_with(|c: char| c.is_ascii_digit()) {
        format!("c_{trimmed}")
    } else {
        trimmed.to_string()
    };
    name.truncate(MAX_IDENT_BYTES);
    name
}

fn unique_name(base: &str, taken: &[String]) -> String {
    if !taken.iter().any(|t| t == base) {
        return base.to_string();
    }
    // Among taken.len() + 1 suffixes one is free.
    (2..=taken.len() + 2)
        .map(|n| {
            let suffix = format!("_{n}");
            let mut stem = base.to_string();
            stem.truncate(MAX_IDENT_BYTES - suffix.len());
            format!("{stem}{suffix}")
        })
        .find(|candidate| !taken.iter().any(|t| t == candidate))
        .unwrap_or_else(|| base.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_real_names() {
        assert_eq!(sanitize("defibrillator:location"), "defibrillator_location");
        assert_eq!(sanitize("Flurstückskennzeichen"), "flurstueckskennzeichen");
        assert_eq!(sanitize("Größe (m²)"), "groesse_m");
        assert_eq!(sanitize("2020"), "c_2020");
        assert_eq!(sanitize("***"), "col");
        assert_eq!(sanitize(&"x".repeat(100)).len(), 63);
    }

    #[test]
    fn names_are_unique_and_avoid_reserved() {
        let mut s = SchemaInferrer::default();
        let f = NormalizedFeature {
            index: 0,
            properties: vec![
                ("geom".into(), Some(Value::Int(1))),
                ("A b".into(), Some(Value::Int(1))),
                ("a_b".into(), Some(Value::Float(1.5))),
                ("never".into(), None),
            ],
            len: 4,
            ..NormalizedFeature::default()
        };
        s.feature(&f).unwrap();
        let names: Vec<_> = s.columns().into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["geom_2", "a_b", "a_b_2", "never"]);
        assert_eq!(s.columns()[3].ty, ColumnType::Text);
    }

    #[test]
    fn temporal_values_are_recognised_only_when_exact() {
        use ColumnType::*;
        assert_eq!(temporal_type("2014-02-14"), Some(Date));
        assert_eq!(temporal_type("2024-02-29"), Some(Date));
        assert_eq!(temporal_type("2023-02-29"), None);
        assert_eq!(temporal_type("2014-13-01"), None);
        assert_eq!(temporal_type("2019-10-04T00:00:00"), Some(Timestamp));
        assert_eq!(temporal_type("2014-02-14T11:31:00Z"), Some(TimestampTz));
        assert_eq!(temporal_type("2014-02-14T25:31:00Z"), None);
        assert_eq!(temporal_type("2014-02-14T11:31:00+02:00"), None);
        assert_eq!(temporal_type("14.02.2014"), None);
        assert_eq!(temporal_type("0000-01-01"), None);
        assert_eq!(merge(Date, Text), Text);
        assert_eq!(merge(Date, Timestamp), Text);
    }

    #[test]
    fn types_merge() {
        use ColumnType::*;
        assert_eq!(merge(Integer, Float), Float);
        assert_eq!(merge(Integer, Text), Text);
        assert_eq!(merge(Boolean, Json), Json);
        assert_eq!(merge(Text, Text), Text);
    }
}
