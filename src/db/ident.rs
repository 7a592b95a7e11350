//! SQL identifiers. The only place in kreisgeo that quotes a name into SQL text.
//!
//! Identifiers come from the catalog (sanitised at ingest) and are still quoted here, so that even
//! a catalog entry can never break out of its quotes. Values never pass through here: they are
//! bind parameters.

use std::fmt;

/// A PostgreSQL identifier, rendered double-quoted with embedded quotes doubled.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ident(String);

impl Ident {
    /// Wraps a name. NUL bytes cannot appear in PostgreSQL identifiers and are dropped.
    pub fn new(name: impl Into<String>) -> Self {
        let mut name = name.into();
        name.retain(|c| c != '\0');
        Self(name)
    }

    /// The raw, unquoted name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        f.write_str(&self.0.replace('"', "\"\""))?;
        f.write_str("\"")
    }
}

/// A table in a schema, rendered as `"schema"."table"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QualifiedTable {
    pub schema: Ident,
    pub table: Ident,
}

impl QualifiedTable {
    /// A feature table in the `data` schema.
    pub fn data(table: impl Into<String>) -> Self {
        Self {
            schema: Ident::new("data"),
            table: Ident::new(table),
        }
    }
}

impl fmt::Display for QualifiedTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(Ident::new("name").to_string(), "\"name\"");
        assert_eq!(Ident::new("a\"b").to_string(), "\"a\"\"b\"");
        assert_eq!(Ident::new("x\0y").to_string(), "\"xy\"");
        assert_eq!(
            QualifiedTable::data("aed_v1").to_string(),
            "\"data\".\"aed_v1\""
        );
    }
}
