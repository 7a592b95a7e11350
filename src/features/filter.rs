//! Filters of `/items` (OGC API Features Part 3 and CQL2): a `filter` in cql2-text or cql2-json,
//! parsed by the `cql2` crate, and property filters (`?name=value`). Both are compiled against
//! the collection's queryables into a [`Predicate`] before any row is read, so every error is a
//! 400 naming the parameter; the predicate then becomes SQL in which each literal is a bind
//! parameter and each property a catalog column.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime};
use cql2::Expr;
use sqlx::{Postgres, QueryBuilder};

use crate::catalog::{Column, ColumnType, DatasetKind, Version};
use crate::crs::{ApiCrs, Bbox};
use crate::db::spatial;
use crate::error::{Error, Result};

/// Nodes a filter may have: enough for any real query, small enough that no request can make
/// the planner's work explode.
pub const MAX_NODES: usize = 200;

/// Deepest nesting in a cql2-text filter: parentheses and the prefix operators (NOT, -, +)
/// stacked on a term count alike.
pub const MAX_DEPTH: usize = 32;

/// The name of the geometry in filters and queryables.
pub const GEOMETRY: &str = "geometry";

/// A filter as given: the text, its language and CRS, not yet checked against a collection.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterSpec {
    pub text: String,
    pub lang: FilterLang,
    /// The CRS of geometry literals (`filter-crs`), CRS84 by default.
    pub crs: ApiCrs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterLang {
    Cql2Text,
    Cql2Json,
}

impl FilterLang {
    pub fn parse(s: Option<&str>) -> Result<Self> {
        match s {
            None | Some("cql2-text") => Ok(Self::Cql2Text),
            Some("cql2-json") => Ok(Self::Cql2Json),
            Some(other) => Err(Error::invalid(
                "filter-lang",
                format!("'{other}' is not supported; use cql2-text or cql2-json"),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cql2Text => "cql2-text",
            Self::Cql2Json => "cql2-json",
        }
    }
}

/// A filter compiled against a collection.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    All(Vec<Predicate>),
    Any(Vec<Predicate>),
    Not(Box<Predicate>),
    Const(bool),
    Compare {
        column: Column,
        op: &'static str,
        value: Literal,
    },
    Like {
        column: Column,
        pattern: String,
    },
    /// Any of `columns` contains any of `terms`, case-insensitively (`q`).
    Text {
        columns: Vec<Column>,
        terms: Vec<String>,
    },
    Between {
        column: Column,
        low: Literal,
        high: Literal,
    },
    In {
        column: Column,
        values: Vec<Literal>,
    },
    IsNull(Column),
    Spatial {
        function: &'static str,
        geometry: GeometryLiteral,
    },
}

/// A value compared with a column, already of the column's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
    /// Checked text of a date or timestamp, cast in SQL to the column's type.
    Temporal(String, ColumnType),
}

#[derive(Debug, Clone, PartialEq)]
pub enum GeometryLiteral {
    Wkt { wkt: String, crs: ApiCrs },
    Envelope(Bbox),
}

/// Compiles a CQL2 filter against `version`'s columns.
pub fn compile(spec: &FilterSpec, version: &Version) -> Result<Predicate> {
    let expr = parse(spec)?;
    Compiler {
        version,
        crs: &spec.crs,
    }
    .predicate(&expr)
}

/// The free-text filter of `q`: any text attribute containing any of `terms`.
pub fn text_search(version: &Version, terms: &[String]) -> Predicate {
    Predicate::Text {
        columns: version
            .columns
            .iter()
            .filter(|c| c.ty == crate::catalog::ColumnType::Text)
            .cloned()
            .collect(),
        terms: terms.to_vec(),
    }
}

/// The equality filter of a query parameter named after a queryable (`?gemarkung=1234`).
/// Parcel keys may be given without their `_` padding.
pub fn property_equals(
    version: &Version,
    kind: DatasetKind,
    name: &str,
    raw: &str,
) -> Result<Option<Predicate>> {
    let Some(column) = queryable(version, name) else {
        return Ok(None);
    };
    let text = if kind == DatasetKind::Parcels
        && column.name == "flurstueckskennzeichen"
        && raw.len() < 20
        && raw.is_ascii()
    {
        format!("{raw:_<20}")
    } else {
        raw.to_string()
    };
    let value = literal_from_text(column, &text).map_err(|m| Error::invalid(name, m))?;
    Ok(Some(Predicate::Compare {
        column: column.clone(),
        op: "=",
        value,
    }))
}

/// The temporal attribute `datetime` filters on: the collection's first date or timestamp
/// attribute.
pub fn temporal_column(version: &Version) -> Option<&Column> {
    version.columns.iter().find(|c| {
        matches!(
            c.ty,
            ColumnType::Date | ColumnType::Timestamp | ColumnType::TimestampTz
        )
    })
}

/// The `datetime` parameter (an instant, or an interval `start/end` with `..` for open ends) as a
/// condition on the temporal attribute. A date matches its whole day on a timestamp attribute;
/// a timestamp matches its day on a date attribute. Bounds are inclusive.
pub fn datetime(version: &Version, raw: &str) -> Result<Predicate> {
    let column = temporal_column(version).ok_or_else(|| {
        Error::invalid(
            "datetime",
            "this collection has no temporal attribute (no date or timestamp property)",
        )
    })?;
    let bad = |m: &str| Error::invalid("datetime", format!("'{raw}': {m}"));
    let (start, end) = if let Some((a, b)) = raw.split_once('/') {
        (
            bound(a).map_err(|m| bad(&m))?,
            bound(b).map_err(|m| bad(&m))?,
        )
    } else {
        let instant = bound(raw).map_err(|m| bad(&m))?;
        if instant.is_none() {
            return Err(bad("an instant cannot be open ('..')"));
        }
        (instant, instant)
    };
    if start.is_none() && end.is_none() {
        return Err(bad("at least one end of the interval must be given"));
    }
    if let (Some(a), Some(b)) = (start, end) {
        if a.first() > b.last() {
            return Err(bad("the interval ends before it starts"));
        }
    }
    let mut parts = Vec::new();
    if let Some(a) = start {
        parts.push(Predicate::Compare {
            column: column.clone(),
            op: ">=",
            value: a.literal(column.ty, false),
        });
    }
    if let Some(b) = end {
        parts.push(Predicate::Compare {
            column: column.clone(),
            op: if b.is_day() && column.ty != ColumnType::Date {
                "<"
            } else {
                "<="
            },
            value: b.literal(column.ty, true),
        });
    }
    Ok(Predicate::All(parts))
}

/// One end of a `datetime` interval: a day or a moment (in UTC).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Moment {
    Day(NaiveDate),
    At(NaiveDateTime),
}

impl Moment {
    fn is_day(self) -> bool {
        matches!(self, Self::Day(_))
    }

    fn first(self) -> NaiveDateTime {
        match self {
            Self::Day(d) => d.and_hms_opt(0, 0, 0).unwrap_or_default(),
            Self::At(t) => t,
        }
    }

    fn last(self) -> NaiveDateTime {
        match self {
            Self::Day(d) => d.and_hms_opt(23, 59, 59).unwrap_or_default(),
            Self::At(t) => t,
        }
    }

    /// The bound as a value of a column of type `ty`; `upper` for the end of an interval (a day
    /// then ends where the next begins, compared with `<`).
    fn literal(self, ty: ColumnType, upper: bool) -> Literal {
        let text = match (self, ty) {
            (Self::Day(d), ColumnType::Date) => d.format("%Y-%m-%d").to_string(),
            (Self::At(t), ColumnType::Date) => t.date().format("%Y-%m-%d").to_string(),
            (Self::Day(d), _) => {
                let day = if upper { d.succ_opt().unwrap_or(d) } else { d };
                day.format("%Y-%m-%dT00:00:00").to_string()
            }
            (Self::At(t), _) => t.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
        };
        let text = if ty == ColumnType::TimestampTz {
            format!("{text}Z")
        } else {
            text
        };
        Literal::Temporal(text, ty)
    }
}

/// A bound: `..` or empty (open), a date, or an RFC 3339 timestamp (converted to UTC).
fn bound(s: &str) -> std::result::Result<Option<Moment>, String> {
    let s = s.trim();
    if s.is_empty() || s == ".." {
        return Ok(None);
    }
    let moment = match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) => Moment::Day(d),
        Err(_) => DateTime::parse_from_rfc3339(s)
            .map(|t| Moment::At(t.naive_utc()))
            .map_err(|_| {
                format!("'{s}' is neither a date (YYYY-MM-DD) nor an RFC 3339 timestamp")
            })?,
    };
    // The day after the last is also written out (an interval's end).
    if !in_years(moment.first().date()) || moment.first().date().year() == 9999 {
        return Err(format!("'{s}' is outside the years 0001 to 9998"));
    }
    Ok(Some(moment))
}

/// Whether PostgreSQL reads the day as written (it has no year 0, and ISO text stops at 9999).
fn in_years(d: NaiveDate) -> bool {
    (1..=9999).contains(&d.year())
}

/// The attribute columns that can be filtered on (JSON columns cannot), by served name.
pub fn queryable<'v>(version: &'v Version, name: &str) -> Option<&'v Column> {
    version
        .columns
        .iter()
        .find(|c| c.original == name && c.ty != ColumnType::Json)
}

fn parse(spec: &FilterSpec) -> Result<Expr> {
    let lang = spec.lang;
    // The cql2 parser, its Pratt parser and every walk of the tree recurse per parenthesis,
    // per prefix operator and per operator of a chain; a stack overflow aborts the process,
    // which no `catch_unwind` can stop. So the text's shape is bounded before anything
    // recurses over it.
    let shape = match lang {
        FilterLang::Cql2Text => text_shape(&spec.text),
        FilterLang::Cql2Json => json_shape(&spec.text),
    }
    .ok_or_else(|| {
        Error::invalid(
            "filter",
            format!(
                "not valid {}: unbalanced parentheses, brackets or quotes",
                lang.as_str()
            ),
        )
    })?;
    shape.check(lang)?;
    let text = match lang {
        // The cql2 parser stops quietly at the first token it cannot use ("flur = 1 garbage"
        // reads as "flur = 1"). Wrapped in parentheses that only the last character can close,
        // the text must be read to its end.
        FilterLang::Cql2Text => format!("({})", spec.text),
        FilterLang::Cql2Json => spec.text.clone(),
    };
    // The shape check above refuses what anyone would write past the limits, with a clear
    // message; what slips past it (cql2 reads `notnot…x` and `1or1or…` without word
    // boundaries) still cannot take the server down: pest stops after a bounded number of
    // rule calls (its grammar backtracks exponentially on nested parentheses), and the parse
    // and every walk of a tree larger than MAX_NODES run on a thread with a stack that no
    // URL-sized input can exhaust. The tree that comes back has at most MAX_NODES nodes.
    PEST_LIMIT.call_once(|| pest::set_call_limit(std::num::NonZeroUsize::new(PEST_CALLS)));
    let parsed = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("cql2-parse".into())
            .stack_size(PARSE_STACK_BYTES)
            .spawn_scoped(scope, move || {
                let expr = match lang {
                    FilterLang::Cql2Text => cql2::parse_text(&text).map_err(|e| e.to_string()),
                    FilterLang::Cql2Json => cql2::parse_json(&text).map_err(|e| e.to_string()),
                }
                .map_err(|e| format!("not valid {}: {e}", lang.as_str()))?;
                match count_nodes(&expr) {
                    n if n > MAX_NODES => {
                        Err(format!("{n} terms; at most {MAX_NODES} are allowed"))
                    }
                    _ => Ok(expr),
                }
            })
            .map(std::thread::ScopedJoinHandle::join)
    });
    match parsed {
        Ok(Ok(Ok(expr))) => Ok(expr),
        Ok(Ok(Err(message))) => Err(Error::invalid("filter", message)),
        // The parser has `unreachable!`s: a panic is a malformed filter.
        Ok(Err(_)) => Err(Error::invalid(
            "filter",
            format!("not valid {}", lang.as_str()),
        )),
        Err(e) => Err(Error::Busy(format!("cannot start a parser thread: {e}"))),
    }
}

/// Rule calls pest may make for one filter: the largest filters of the tests (a polygon of 400
/// points, 50 comparisons, 31 nested parentheses) pass with a fifth of it; parentheses that
/// make the grammar backtrack would need billions.
const PEST_CALLS: usize = 1_000_000;

static PEST_LIMIT: std::sync::Once = std::sync::Once::new();

/// Stack of the parser thread (address space, touched only as deep as a parse goes).
const PARSE_STACK_BYTES: usize = 256 << 20;

/// The geometry as WKT PostGIS will accept: read into `geo` types (which close rings), checked
/// for enough points (PostGIS would fail the whole query otherwise), written back.
fn canonical_wkt(g: &cql2::Geometry) -> Result<String> {
    use geo::{CoordsIter, Geometry as G, LineString};
    use geozero::{ToGeo, ToWkt};
    fn ok(g: &G<f64>) -> bool {
        let ring = |r: &LineString<f64>| r.0.len() >= 4;
        let shape = match g {
            G::LineString(l) => l.0.len() >= 2,
            G::Polygon(p) => ring(p.exterior()) && p.interiors().iter().all(ring),
            G::MultiLineString(m) => m.0.iter().all(|l| l.0.len() >= 2),
            G::MultiPolygon(m) => {
                m.0.iter()
                    .all(|p| ring(p.exterior()) && p.interiors().iter().all(ring))
            }
            G::GeometryCollection(c) => c.0.iter().all(ok),
            _ => true,
        };
        shape && g.coords_iter().all(|c| c.x.is_finite() && c.y.is_finite())
    }
    let bad = |m: String| Error::invalid("filter", format!("unusable geometry: {m}"));
    let wkt = g.to_wkt().map_err(|e| bad(e.to_string()))?;
    let geometry = geozero::wkt::Wkt(wkt.as_str())
        .to_geo()
        .map_err(|e| bad(e.to_string()))?;
    if !ok(&geometry) {
        return Err(bad(
            "too few points (a line needs 2, a polygon ring 4) or a non-finite coordinate".into(),
        ));
    }
    geometry.to_wkt().map_err(|e| bad(e.to_string()))
}

/// What makes a parser or a walk of a filter recurse, read off its text without recursing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Shape {
    /// The deepest nesting: parentheses (cql2-text) or brackets (cql2-json), plus the prefix
    /// operators (`NOT`, `-`, `+`) stacked on a term.
    depth: usize,
    /// Operators and keywords outside geometry literals; each makes at least one node.
    operators: usize,
}

impl Shape {
    fn check(self, lang: FilterLang) -> Result<()> {
        // cql2-json spends two levels per operation ({"op", "args": [...]}) and up to four
        // on a multipolygon's coordinates.
        let max_depth = match lang {
            FilterLang::Cql2Text => MAX_DEPTH,
            FilterLang::Cql2Json => 2 * MAX_DEPTH + 4,
        };
        if self.depth > max_depth {
            return Err(Error::invalid(
                "filter",
                format!(
                    "nested {} deep (parentheses and prefix operators such as NOT and -); at most {max_depth} levels are allowed",
                    self.depth
                ),
            ));
        }
        if self.operators > MAX_NODES {
            return Err(Error::invalid(
                "filter",
                format!(
                    "{} operators; at most {MAX_NODES} terms are allowed",
                    self.operators
                ),
            ));
        }
        Ok(())
    }
}

/// WKT geometry types: their coordinates hold signs that are not operators.
const WKT_TYPES: [&str; 7] = [
    "point",
    "linestring",
    "polygon",
    "multipoint",
    "multilinestring",
    "multipolygon",
    "geometrycollection",
];

/// The shape of a cql2-text filter, if its parentheses pair up and its quotes close.
fn text_shape(text: &str) -> Option<Shape> {
    let mut shape = Shape::default();
    // Per open parenthesis, the prefix operators standing before it.
    let mut prefixes: Vec<usize> = Vec::new();
    let mut stacked = 0usize;
    let mut run = 0usize;
    // The depth at which a geometry literal began, while inside it.
    let mut geometry: Option<usize> = None;
    let mut geometry_next = false;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let depth = prefixes.len();
        match c {
            '\'' | '"' => {
                // A doubled quote inside a string reads as leaving and re-entering it.
                loop {
                    match chars.next() {
                        Some((_, q)) if q == c => break,
                        Some(_) => {}
                        None => return None,
                    }
                }
                run = 0;
                geometry_next = false;
            }
            '(' => {
                if geometry_next {
                    geometry = Some(depth);
                    geometry_next = false;
                }
                prefixes.push(run);
                stacked += run;
                run = 0;
            }
            ')' => {
                stacked -= prefixes.pop()?;
                run = 0;
                if geometry == Some(prefixes.len()) {
                    geometry = None;
                }
            }
            // Coordinates only; anything else ends the geometry (pest would read
            // `POINT(---…1)` as a function call, so nothing may hide in there).
            c if geometry.is_some()
                && (c.is_ascii_digit()
                    || c.is_whitespace()
                    || matches!(c, '.' | ',' | 'e' | 'E' | 'Z' | 'M' | 'z' | 'm')
                    || (matches!(c, '-' | '+')
                        && text[at + 1..]
                            .chars()
                            .next()
                            .is_some_and(|n| n.is_ascii_digit() || n == '.'))) => {}
            c if c.is_alphanumeric() || c == '_' => {
                geometry = None;
                let mut end = at + c.len_utf8();
                while let Some(&(i, n)) = chars.peek() {
                    if !(n.is_alphanumeric() || matches!(n, '_' | '.' | ':')) {
                        break;
                    }
                    end = i + n.len_utf8();
                    chars.next();
                }
                let word = text[at..end].to_ascii_lowercase();
                match word.as_str() {
                    "not" => {
                        shape.operators += 1;
                        run += 1;
                        geometry_next = false;
                    }
                    "and" | "or" | "between" | "like" | "in" | "is" | "div" => {
                        shape.operators += 1;
                        run = 0;
                        geometry_next = false;
                    }
                    w => {
                        // Z, M and ZM may stand between the type and its coordinates.
                        geometry_next = WKT_TYPES.contains(&w)
                            || (geometry_next && matches!(w, "z" | "m" | "zm"));
                        run = 0;
                    }
                }
                shape.depth = shape.depth.max(prefixes.len() + stacked + run);
                continue;
            }
            '-' | '+' => {
                shape.operators += 1;
                run += 1;
            }
            '*' | '/' | '%' | '^' | '=' | '<' | '>' | '!' | '|' => {
                // `<=`, `<>`, `||`: one operator.
                if !matches!(text[..at].chars().next_back(), Some('<' | '>' | '!' | '|')) {
                    shape.operators += 1;
                }
                run = 0;
            }
            _ => {}
        }
        if !c.is_whitespace() {
            geometry_next = false;
        }
        shape.depth = shape.depth.max(prefixes.len() + stacked + run);
    }
    prefixes.is_empty().then_some(shape)
}

/// The shape of a cql2-json filter, if its brackets pair up and its strings close; every
/// object is counted as an operator (an upper bound of its operations).
fn json_shape(text: &str) -> Option<Shape> {
    let mut shape = Shape::default();
    let mut depth = 0usize;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => loop {
                match chars.next()? {
                    '\\' => {
                        chars.next()?;
                    }
                    '"' => break,
                    _ => {}
                }
            },
            '{' | '[' => {
                depth += 1;
                shape.depth = shape.depth.max(depth);
                if c == '{' {
                    shape.operators += 1;
                }
            }
            '}' | ']' => depth = depth.checked_sub(1)?,
            _ => {}
        }
    }
    (depth == 0).then_some(shape)
}

fn count_nodes(e: &Expr) -> usize {
    1 + match e {
        Expr::Operation { args, .. } => args.iter().map(|a| count_nodes(a)).sum(),
        Expr::Array(items) => items.iter().map(|a| count_nodes(a)).sum(),
        Expr::Interval { interval } => interval.iter().map(|a| count_nodes(a)).sum(),
        Expr::BBox { bbox } => bbox.len(),
        _ => 0,
    }
}

struct Compiler<'a> {
    version: &'a Version,
    crs: &'a ApiCrs,
}

impl Compiler<'_> {
    fn predicate(&self, e: &Expr) -> Result<Predicate> {
        let Expr::Operation { op, args } = e else {
            return match e {
                Expr::Bool(b) => Ok(Predicate::Const(*b)),
                other => Err(unsupported(format!(
                    "{} is not a condition",
                    describe(other)
                ))),
            };
        };
        let args: Vec<&Expr> = args.iter().map(AsRef::as_ref).collect();
        match (op.as_str(), args.as_slice()) {
            ("and", _) => Ok(Predicate::All(
                args.iter()
                    .map(|a| self.predicate(a))
                    .collect::<Result<_>>()?,
            )),
            ("or", _) => Ok(Predicate::Any(
                args.iter()
                    .map(|a| self.predicate(a))
                    .collect::<Result<_>>()?,
            )),
            ("not", [a]) => Ok(Predicate::Not(Box::new(self.predicate(a)?))),
            ("=" | "<>" | "<" | "<=" | ">" | ">=", [a, b]) => self.compare(op, a, b),
            ("like", [a, b]) => {
                let column = self.column(a)?;
                if column.ty != ColumnType::Text {
                    return Err(unsupported(format!(
                        "LIKE needs a text property; '{}' is {}",
                        column.original,
                        column.ty.name()
                    )));
                }
                match b {
                    Expr::Literal(pattern) => Ok(Predicate::Like {
                        column: column.clone(),
                        pattern: pattern.clone(),
                    }),
                    other => Err(unsupported(format!(
                        "LIKE needs a string pattern, not {}",
                        describe(other)
                    ))),
                }
            }
            ("between", [a, low, high]) => {
                let column = self.column(a)?;
                Ok(Predicate::Between {
                    column: column.clone(),
                    low: literal(column, low)?,
                    high: literal(column, high)?,
                })
            }
            ("in", [a, Expr::Array(items)]) => {
                let column = self.column(a)?;
                let values = items
                    .iter()
                    .map(|v| literal(column, v))
                    .collect::<Result<_>>()?;
                Ok(Predicate::In {
                    column: column.clone(),
                    values,
                })
            }
            ("isNull" | "isnull", [a]) => Ok(Predicate::IsNull(self.column(a)?.clone())),
            (
                "s_intersects" | "s_equals" | "s_disjoint" | "s_touches" | "s_within"
                | "s_overlaps" | "s_crosses" | "s_contains",
                [a, b],
            ) => self.spatial(op, a, b),
            (name, _) => Err(unsupported(format!(
                "'{name}' with {} argument(s) is not supported (supported: AND, OR, NOT, \
                 comparisons, LIKE, BETWEEN, IN, IS NULL, S_INTERSECTS, S_EQUALS, S_DISJOINT, \
                 S_TOUCHES, S_WITHIN, S_OVERLAPS, S_CROSSES, S_CONTAINS)",
                args.len()
            ))),
        }
    }

    fn compare(&self, op: &str, a: &Expr, b: &Expr) -> Result<Predicate> {
        // `5 < height` reads as `height > 5`.
        let (property, value, op) = match (a, b) {
            (Expr::Property { .. }, _) => (a, b, op),
            (_, Expr::Property { .. }) => (b, a, mirror(op)),
            _ => {
                return Err(unsupported(
                    "a comparison needs a property on one side".to_string(),
                ))
            }
        };
        let column = self.column(property)?;
        let op = match op {
            "=" => "=",
            "<>" => "<>",
            "<" => "<",
            "<=" => "<=",
            ">" => ">",
            _ => ">=",
        };
        Ok(Predicate::Compare {
            column: column.clone(),
            op,
            value: literal(column, value)?,
        })
    }

    fn spatial(&self, op: &str, a: &Expr, b: &Expr) -> Result<Predicate> {
        let function = match op {
            "s_intersects" => "ST_Intersects",
            "s_equals" => "ST_Equals",
            "s_disjoint" => "ST_Disjoint",
            "s_touches" => "ST_Touches",
            "s_within" => "ST_Within",
            "s_overlaps" => "ST_Overlaps",
            "s_crosses" => "ST_Crosses",
            _ => "ST_Contains",
        };
        let literal = match (a, b) {
            (Expr::Property { property }, other) if property == GEOMETRY => other,
            (other, Expr::Property { property }) if property == GEOMETRY => {
                // The relation is read from the geometry property's side.
                return self.spatial(mirror_spatial(op), b, other);
            }
            _ => {
                return Err(unsupported(format!(
                    "{} compares the property '{GEOMETRY}' with a geometry",
                    op.to_uppercase()
                )))
            }
        };
        let geometry = match literal {
            Expr::Geometry(g) => GeometryLiteral::Wkt {
                wkt: canonical_wkt(g)?,
                crs: self.crs.clone(),
            },
            // cql2-json says {"bbox": […]}; the text parser reads BBOX(…) as a function.
            Expr::BBox { bbox } => GeometryLiteral::Envelope(self.bbox(bbox)?),
            Expr::Operation { op, args } if op == "bbox" => {
                GeometryLiteral::Envelope(self.bbox(args)?)
            }
            other => {
                return Err(unsupported(format!(
                    "{} needs a geometry or BBOX, not {}",
                    op.to_uppercase(),
                    describe(other)
                )))
            }
        };
        Ok(Predicate::Spatial { function, geometry })
    }

    fn bbox(&self, items: &[Box<Expr>]) -> Result<Bbox> {
        let numbers: Vec<f64> = items
            .iter()
            .map(|e| number(e).ok_or_else(|| unsupported("BBOX takes numbers".into())))
            .collect::<Result<_>>()?;
        let [a, b, c, d] = match numbers.as_slice() {
            [a, b, c, d] | [a, b, _, c, d, _] => [*a, *b, *c, *d],
            _ => return Err(unsupported("BBOX takes 4 or 6 numbers".into())),
        };
        let [min_x, min_y, max_x, max_y] = if self.crs.lat_lon {
            [b, a, d, c]
        } else {
            [a, b, c, d]
        };
        Ok(Bbox {
            min_x,
            min_y,
            max_x,
            max_y,
            srid: self.crs.srid,
        })
    }

    fn column(&self, e: &Expr) -> Result<&Column> {
        match e {
            Expr::Property { property } => queryable(self.version, property).ok_or_else(|| {
                let known: Vec<&str> = self
                    .version
                    .columns
                    .iter()
                    .filter(|c| c.ty != ColumnType::Json)
                    .map(|c| c.original.as_str())
                    .collect();
                Error::invalid(
                    "filter",
                    format!(
                        "'{property}' is not a queryable of this collection (queryables: {}, {GEOMETRY})",
                        known.join(", ")
                    ),
                )
            }),
            other => Err(unsupported(format!(
                "expected a property, found {}",
                describe(other)
            ))),
        }
    }
}

fn unsupported(message: String) -> Error {
    Error::invalid("filter", message)
}

fn mirror(op: &str) -> &str {
    match op {
        "<" => ">",
        "<=" => ">=",
        ">" => "<",
        ">=" => "<=",
        same => same,
    }
}

fn mirror_spatial(op: &str) -> &str {
    match op {
        "s_within" => "s_contains",
        "s_contains" => "s_within",
        same => same,
    }
}

fn describe(e: &Expr) -> String {
    match e {
        Expr::Property { property } => format!("the property '{property}'"),
        Expr::Literal(s) => format!("the string '{s}'"),
        Expr::Float(f) => format!("the number {f}"),
        Expr::Bool(b) => format!("the boolean {b}"),
        Expr::Null => "NULL".into(),
        Expr::Geometry(_) | Expr::BBox { .. } => "a geometry".into(),
        Expr::Date { .. } | Expr::Timestamp { .. } | Expr::Interval { .. } => {
            "a temporal value".into()
        }
        Expr::Array(_) => "a list".into(),
        Expr::Operation { op, .. } => format!("the expression '{op}'"),
    }
}

/// A number literal, with the parser's `-x` (`-1 * x`) folded.
fn number(e: &Expr) -> Option<f64> {
    match e {
        Expr::Float(f) => Some(*f),
        Expr::Operation { op, args } if op == "*" && args.len() == 2 => {
            Some(number(&args[0])? * number(&args[1])?)
        }
        _ => None,
    }
}

/// `e` as a value of `column`'s type, or a 400 saying why it is not one.
fn literal(column: &Column, e: &Expr) -> Result<Literal> {
    let mismatch = || {
        Error::invalid(
            "filter",
            format!(
                "'{}' is {}; {} cannot be compared with it",
                column.original,
                column.ty.name(),
                describe(e)
            ),
        )
    };
    if let Some(n) = number(e) {
        return match column.ty {
            #[allow(clippy::cast_possible_truncation)]
            ColumnType::Integer if n.fract() == 0.0 && n.abs() < 9.0e15 => {
                Ok(Literal::Int(n as i64))
            }
            ColumnType::Integer | ColumnType::Float => Ok(Literal::Float(n)),
            _ => Err(mismatch()),
        };
    }
    match (column.ty, e) {
        (ColumnType::Boolean, Expr::Bool(b)) => Ok(Literal::Bool(*b)),
        (ColumnType::Text, Expr::Literal(s)) => Ok(Literal::Text(s.clone())),
        (ColumnType::Date | ColumnType::Timestamp | ColumnType::TimestampTz, Expr::Literal(s)) => {
            literal_from_text(column, s).map_err(|m| Error::invalid("filter", m))
        }
        (
            ColumnType::Date | ColumnType::Timestamp | ColumnType::TimestampTz,
            Expr::Date { date: inner } | Expr::Timestamp { timestamp: inner },
        ) => match inner.as_ref() {
            Expr::Literal(s) => {
                literal_from_text(column, s).map_err(|m| Error::invalid("filter", m))
            }
            _ => Err(mismatch()),
        },
        _ => Err(mismatch()),
    }
}

/// Text from a query parameter (or a CQL2 string) as a value of `column`'s type.
fn literal_from_text(column: &Column, s: &str) -> std::result::Result<Literal, String> {
    let bad = |what: &str| {
        format!(
            "'{s}' is not {what} ('{}' is {})",
            column.original,
            column.ty.name()
        )
    };
    match column.ty {
        ColumnType::Integer => s
            .trim()
            .parse()
            .map(Literal::Int)
            .map_err(|_| bad("an integer")),
        ColumnType::Float => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Literal::Float)
            .ok_or_else(|| bad("a number")),
        ColumnType::Boolean => match s.trim() {
            "true" => Ok(Literal::Bool(true)),
            "false" => Ok(Literal::Bool(false)),
            _ => Err(bad("true or false")),
        },
        ColumnType::Text | ColumnType::Json => Ok(Literal::Text(s.to_string())),
        ColumnType::Date => NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d")
            .ok()
            .filter(|d| s.len() == 10 && in_years(*d))
            .map(|_| Literal::Temporal(s.to_string(), ColumnType::Date))
            .ok_or_else(|| bad("a date YYYY-MM-DD in the years 0001 to 9999")),
        ColumnType::Timestamp | ColumnType::TimestampTz => {
            let time = DateTime::parse_from_rfc3339(s)
                .map(|t| t.naive_utc())
                .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"));
            time.ok()
                .filter(|t| in_years(t.date()))
                .map(|_| Literal::Temporal(s.to_string(), column.ty))
                .ok_or_else(|| bad("an RFC 3339 timestamp in the years 0001 to 9999"))
        }
    }
}

impl Predicate {
    /// Appends the predicate as SQL over a version table stored in `srid`.
    pub fn push(&self, qb: &mut QueryBuilder<'_, Postgres>, srid: i32, extent: Option<[f64; 4]>) {
        match self {
            Self::All(parts) | Self::Any(parts) => {
                let (joiner, empty) = if matches!(self, Self::All(_)) {
                    (" AND ", "true")
                } else {
                    (" OR ", "false")
                };
                if parts.is_empty() {
                    qb.push(empty);
                    return;
                }
                qb.push("(");
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        qb.push(joiner);
                    }
                    p.push(qb, srid, extent);
                }
                qb.push(")");
            }
            Self::Not(p) => {
                // SQL's NOT of NULL is NULL, which a WHERE drops, as CQL2 wants.
                qb.push("(NOT ");
                p.push(qb, srid, extent);
                qb.push(")");
            }
            Self::Const(b) => {
                qb.push(if *b { "true" } else { "false" });
            }
            Self::Compare { column, op, value } => {
                qb.push(format!("({} {op} ", column.ident()));
                value.push(qb);
                qb.push(")");
            }
            Self::Like { column, pattern } => {
                qb.push(format!("({} LIKE ", column.ident()));
                qb.push_bind(pattern.clone());
                qb.push(")");
            }
            Self::Text { columns, terms } => {
                if columns.is_empty() {
                    qb.push("false");
                    return;
                }
                qb.push("(");
                let mut first = true;
                for term in terms {
                    // The term as a literal substring: LIKE's wildcards and escape escaped.
                    let escaped = term
                        .replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_");
                    let pattern = format!("%{escaped}%");
                    for column in columns {
                        if !first {
                            qb.push(" OR ");
                        }
                        first = false;
                        qb.push(format!("{} ILIKE ", column.ident()));
                        qb.push_bind(pattern.clone());
                    }
                }
                qb.push(")");
            }
            Self::Between { column, low, high } => {
                qb.push(format!("({} BETWEEN ", column.ident()));
                low.push(qb);
                qb.push(" AND ");
                high.push(qb);
                qb.push(")");
            }
            Self::In { column, values } => {
                qb.push(format!("({} IN (", column.ident()));
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        qb.push(", ");
                    }
                    v.push(qb);
                }
                qb.push("))");
            }
            Self::IsNull(column) => {
                qb.push(format!("({} IS NULL)", column.ident()));
            }
            Self::Spatial {
                function,
                geometry: GeometryLiteral::Envelope(b),
            } => {
                // A box beyond the data is clipped to it (so that it transforms into the
                // table's CRS): exact for every relation but containment and equality, which a
                // feature inside the data cannot have with a box reaching beyond it.
                let pieces = spatial::window(*b, extent);
                let clipped = b.to_lon_lat().is_some_and(|ll| pieces != [ll]);
                if pieces.is_empty() {
                    qb.push(if *function == "ST_Disjoint" {
                        "true"
                    } else {
                        "false"
                    });
                } else if clipped && matches!(*function, "ST_Contains" | "ST_Equals") {
                    qb.push("false");
                } else {
                    // Two pieces when the box crosses the antimeridian.
                    let joiner = if *function == "ST_Disjoint" {
                        " AND "
                    } else {
                        " OR "
                    };
                    qb.push("(");
                    for (i, w) in pieces.into_iter().enumerate() {
                        if i > 0 {
                            qb.push(joiner);
                        }
                        qb.push(format!("{function}(geom, "));
                        spatial::push_envelope(qb, w, srid);
                        qb.push(")");
                    }
                    qb.push(")");
                }
            }
            Self::Spatial {
                function,
                geometry: GeometryLiteral::Wkt { wkt, crs },
            } => {
                // The literal in a scalar subquery: built (and transformed) once per query.
                qb.push(format!("{function}(geom, (SELECT "));
                let transform = crs.srid != srid;
                if transform {
                    qb.push("ST_Transform(");
                }
                if crs.lat_lon {
                    qb.push("ST_FlipCoordinates(");
                }
                qb.push("ST_GeomFromText(");
                qb.push_bind(wkt.clone());
                qb.push(format!(", {})", crs.srid));
                if crs.lat_lon {
                    qb.push(")");
                }
                if transform {
                    qb.push(format!(", {srid})"));
                }
                qb.push("))");
            }
        }
    }
}

impl Literal {
    fn push(&self, qb: &mut QueryBuilder<'_, Postgres>) {
        match self {
            Self::Int(n) => {
                qb.push_bind(*n);
            }
            Self::Float(f) => {
                qb.push_bind(*f);
            }
            Self::Bool(b) => {
                qb.push_bind(*b);
            }
            Self::Text(s) => {
                qb.push_bind(s.clone());
            }
            Self::Temporal(s, ty) => {
                qb.push_bind(s.clone());
                qb.push(format!("::{}", ty.sql_type()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(text: &str) -> FilterSpec {
        FilterSpec {
            text: text.into(),
            lang: FilterLang::Cql2Text,
            crs: ApiCrs::crs84(),
        }
    }

    fn json(body: &str) -> FilterSpec {
        FilterSpec {
            lang: FilterLang::Cql2Json,
            ..text(body)
        }
    }

    fn refusal(spec: &FilterSpec) -> String {
        match parse(spec) {
            Err(Error::InvalidParameter { parameter, message }) => {
                assert_eq!(parameter, "filter");
                message
            }
            other => panic!("{other:?}"),
        }
    }

    /// The probe's inputs, ten times deeper than the limits allow: each would overflow the
    /// stack of the parser or of a walk over its tree (and abort this test binary).
    #[test]
    fn deep_filters_are_refused_before_anything_recurses() {
        let deep = 10 * MAX_DEPTH.max(MAX_NODES);
        let minus = format!("access={}1", "-".repeat(deep));
        assert!(refusal(&text(&minus)).contains("nested"), "{minus}");
        let spaced = format!("access = {}1", "- ".repeat(deep));
        assert!(refusal(&text(&spaced)).contains("nested"));
        let nots = format!("{}flur = 1", "NOT ".repeat(deep));
        assert!(refusal(&text(&nots)).contains("nested"));
        let parens = format!("{}flur = 1{}", "(".repeat(deep), ")".repeat(deep));
        assert!(refusal(&text(&parens)).contains("nested"));
        let not_parens = format!("{}flur = 1{}", "NOT (".repeat(deep), ")".repeat(deep));
        assert!(refusal(&text(&not_parens)).contains("nested"));
        let chain = format!("flur = 1{}", " AND flur = 1".repeat(deep));
        assert!(refusal(&text(&chain)).contains("operators"));
        let power = format!("flur = 2{}", "^2".repeat(deep));
        assert!(refusal(&text(&power)).contains("operators"));
        let sum = format!("flur = 1{}", "+1".repeat(deep));
        assert!(refusal(&text(&sum)).contains("operators"));
        let json_not = format!(
            "{}{{\"op\":\"=\",\"args\":[{{\"property\":\"flur\"}},1]}}{}",
            "{\"op\":\"not\",\"args\":[".repeat(deep),
            "]}".repeat(deep)
        );
        assert!(refusal(&json(&json_not)).contains("nested"));
        let arrays = format!("{}1{}", "[".repeat(deep), "]".repeat(deep));
        assert!(refusal(&json(&arrays)).contains("nested"));
        let json_and = format!(
            "{{\"op\":\"and\",\"args\":[{}]}}",
            vec!["{\"op\":\"=\",\"args\":[{\"property\":\"flur\"},1]}"; deep].join(",")
        );
        assert!(refusal(&json(&json_and)).contains("operators"));
    }

    /// What the shape check does not see (cql2 reads keywords without word boundaries, and
    /// would read `POINT(…)` as a function call) is still refused, not recursed into.
    #[test]
    fn filters_that_hide_their_depth_from_the_shape_check_are_still_refused() {
        let deep = 5_000;
        for hidden in [
            format!("S_INTERSECTS(geometry, POINT({}1 2))", "-".repeat(deep)),
            format!("point AND ({}1 = 1)", "-".repeat(deep)),
            format!("{}flur = 1", "not".repeat(deep)),
            format!("flur = 1{}", "or1".repeat(deep)),
            format!("flur = 1{}", "oR flur = 1".repeat(deep / 4)),
            format!("flur = 2{}", "^2".repeat(deep)),
        ] {
            let message = refusal(&text(&hidden));
            assert!(
                ["nested", "operators", "terms", "not valid"]
                    .iter()
                    .any(|m| message.contains(m)),
                "{message}"
            );
        }
        // Parentheses that make the grammar backtrack at every level: stopped by the call
        // limit, not after 2^31 parses.
        let backtracking = format!("{}1{}", "(".repeat(31), ",1)".repeat(31));
        let message = refusal(&text(&backtracking));
        assert!(message.contains("not valid"), "{message}");
    }

    /// Filters up to the limits still parse: the bounds cut off only what no one writes.
    #[test]
    fn filters_within_the_limits_parse() {
        let nots = format!("{}flur = 1", "NOT ".repeat(MAX_DEPTH - 2));
        assert!(parse(&text(&nots)).is_ok(), "{nots}");
        let parens = format!(
            "{}flur = 1{}",
            "(".repeat(MAX_DEPTH - 1),
            ")".repeat(MAX_DEPTH - 1)
        );
        assert!(parse(&text(&parens)).is_ok());
        // Fifty comparisons under AND: 199 terms.
        let chain = format!("flur = 1{}", " AND flur = 1".repeat(MAX_NODES / 4 - 1));
        assert!(parse(&text(&chain)).is_ok(), "{:?}", parse(&text(&chain)));
        // Signs in a geometry are coordinates, not operators.
        let ring: Vec<String> = (0..400)
            .map(|i| format!("-{}.5 -{}.25", i % 7, i % 5))
            .chain(std::iter::once("-0.5 -0.25".to_string()))
            .collect();
        let polygon = format!("S_INTERSECTS(geometry, POLYGON(({})))", ring.join(", "));
        assert!(parse(&text(&polygon)).is_ok());
        let multi =
            "S_INTERSECTS(geometry, MULTIPOLYGON Z (((-1 -1 -1, -2 -1 -1, -2 -2 -1, -1 -1 -1))))";
        assert!(parse(&text(multi)).is_ok());
        let json_geometry = r#"{"op":"s_intersects","args":[{"property":"geometry"},{"type":"MultiPolygon","coordinates":[[[[-1,-1],[-2,-1],[-2,-2],[-1,-1]]]]}]}"#;
        assert!(parse(&json(json_geometry)).is_ok());
        assert!(parse(&text("name = 'NOT NOT NOT -- -- (((('")).is_ok());
    }

    #[test]
    fn trailing_garbage_is_refused() {
        let spec = |text: &str| FilterSpec {
            text: text.into(),
            lang: FilterLang::Cql2Text,
            crs: ApiCrs::crs84(),
        };
        for bad in [
            "flur = 1 garbage",
            "flur = 1 )))",
            "flur = 1 AND",
            "flur >",
            "(flur = 1",
            "flur = 1) OR (flur = 2",
            "name = 'x",
        ] {
            assert!(parse(&spec(bad)).is_err(), "{bad}");
        }
        for good in [
            "flur = 1",
            "(flur = 1) OR (flur = 2)",
            "name = 'a)b'",
            "name = 'x y'",
        ] {
            assert!(parse(&spec(good)).is_ok(), "{good}");
        }
    }
}
