//! Encodes the normalised stream as PostgreSQL `COPY … FROM STDIN` text rows.

use std::collections::HashMap;
use std::fmt::Write as _;

use bytes::Bytes;
use tokio::sync::mpsc::Sender;

use super::normalize::{FeatureSink, NormalizedFeature, Value};
use super::IngestError;
use crate::catalog::{Column, ColumnType};

/// Rows are sent to the database in chunks of about this size.
const CHUNK_BYTES: usize = 1 << 20;

/// A sink that writes one COPY row per feature (`fid`, the attribute columns, `geom`) and sends
/// full chunks down a bounded channel, so the reader thread waits when the database lags.
pub struct CopyEncoder {
    columns: Vec<ColumnType>,
    index: HashMap<String, usize>,
    slots: Vec<Option<usize>>,
    buf: Vec<u8>,
    tx: Sender<Bytes>,
    rows: u64,
    column_names: Vec<String>,
    line: String,
}

impl CopyEncoder {
    pub fn new(columns: &[Column], tx: Sender<Bytes>) -> Self {
        Self {
            columns: columns.iter().map(|c| c.ty).collect(),
            index: columns
                .iter()
                .enumerate()
                .map(|(i, c)| (c.original.clone(), i))
                .collect(),
            slots: vec![None; columns.len()],
            buf: Vec::with_capacity(CHUNK_BYTES + 64 * 1024),
            tx,
            rows: 0,
            column_names: columns.iter().map(|c| c.original.clone()).collect(),
            line: String::with_capacity(1024),
        }
    }

    /// Rows encoded so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Sends what is left in the buffer.
    pub fn flush(&mut self) -> Result<(), IngestError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(CHUNK_BYTES + 64 * 1024),
        ));
        self.tx
            .blocking_send(chunk)
            .map_err(|_| IngestError::Aborted("the database writer stopped".into()))
    }
}

impl FeatureSink for CopyEncoder {
    fn feature(&mut self, feature: &NormalizedFeature) -> Result<(), IngestError> {
        self.slots.iter_mut().for_each(|s| *s = None);
        for (pos, (name, _)) in feature.props().iter().enumerate() {
            if let Some(&col) = self.index.get(name) {
                self.slots[col] = Some(pos);
            }
        }
        self.rows += 1;
        // One buffer for every row: no allocation per feature on the hot path.
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        let _ = write!(line, "{}", self.rows);
        for (col, slot) in self.slots.iter().enumerate() {
            line.push('\t');
            match slot.and_then(|pos| feature.properties[pos].1.as_ref()) {
                None => line.push_str("\\N"),
                Some(value) => {
                    encode_value(&mut line, self.columns[col], value).map_err(|message| {
                        IngestError::Feature {
                            index: feature.index,
                            field: Some(self.column_names[col].clone()),
                            message,
                        }
                    })?;
                }
            }
        }
        line.push('\t');
        match &feature.geometry {
            Some(ewkb) => push_hex(&mut line, ewkb),
            None => line.push_str("\\N"),
        }
        line.push('\n');
        self.buf.extend_from_slice(line.as_bytes());
        self.line = line;
        if self.buf.len() >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(())
    }
}

fn encode_value(out: &mut String, ty: ColumnType, value: &Value) -> Result<(), String> {
    match (ty, value) {
        (ColumnType::Integer, Value::Int(n)) => {
            let _ = write!(out, "{n}");
        }
        (ColumnType::Float, Value::Int(n)) => {
            let _ = write!(out, "{n}");
        }
        (ColumnType::Float, Value::Float(f)) => push_float(out, *f),
        (ColumnType::Boolean, Value::Bool(b)) => out.push(if *b { 't' } else { 'f' }),
        (ColumnType::Text, Value::Text(s) | Value::Json(s))
        | (ColumnType::Date | ColumnType::Timestamp | ColumnType::TimestampTz, Value::Text(s)) => {
            push_escaped(out, s);
        }
        (ColumnType::Text, Value::Int(n)) => {
            let _ = write!(out, "{n}");
        }
        (ColumnType::Text, Value::Float(f)) => push_float(out, *f),
        (ColumnType::Text, Value::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
        (ColumnType::Json, v) => push_escaped(out, &to_json_text(v)),
        (ty, v) => {
            return Err(format!(
                "value {v:?} does not fit the column type {}",
                ty.sql_type()
            ))
        }
    }
    Ok(())
}

fn to_json_text(v: &Value) -> String {
    match v {
        Value::Json(s) => s.clone(),
        Value::Text(s) => serde_json::Value::String(s.clone()).to_string(),
        Value::Int(n) => n.to_string(),
        Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or_else(|| "null".to_string(), |n| n.to_string())
        }
        Value::Bool(b) => b.to_string(),
    }
}

fn push_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("NaN");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        // Rust prints the shortest text that parses back to the same f64.
        let _ = write!(out, "{f}");
    }
}

/// Lower-case hex, which PostGIS reads as (E)WKB.
fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

/// COPY text format escaping; NUL cannot be stored in PostgreSQL text and is dropped.
fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_matches_the_hex_crate() {
        let mut s = String::new();
        push_hex(&mut s, &[0x01, 0xab, 0xff, 0x00]);
        assert_eq!(s, hex::encode([0x01, 0xab, 0xff, 0x00]));
    }

    #[test]
    fn escapes_copy_specials() {
        let mut s = String::new();
        push_escaped(&mut s, "a\tb\\c\nd\0e");
        assert_eq!(s, "a\\tb\\\\c\\nde");
    }

    #[test]
    fn json_column_keeps_scalars_exact() {
        assert_eq!(to_json_text(&Value::Text("03355".into())), "\"03355\"");
        assert_eq!(to_json_text(&Value::Float(0.1)), "0.1");
        let mut s = String::new();
        encode_value(&mut s, ColumnType::Integer, &Value::Text("x".into())).unwrap_err();
    }
}
