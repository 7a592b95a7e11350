//! CKAN's `package_search` as harvesters send it — `q` words, Solr-style `fq` clauses, `sort`,
//! `rows` and `start` — turned into a query of the catalog's search index
//! ([`crate::catalog::packages`]), which PostgreSQL answers one page at a time.

use serde_json::{json, Value as Json};

use super::publishers::Publishers;
use crate::catalog::packages::{PackageFilter, PackageQuery, PackageSort};
use crate::downloads::Format;
use crate::error::Error;

/// A `package_search` request.
#[derive(Debug, Clone, Copy)]
pub struct SearchQuery<'a> {
    pub q: &'a str,
    pub fq: &'a str,
    pub sort: Option<&'a str>,
    pub rows: usize,
    pub start: usize,
    pub include_deleted: bool,
}

/// The default order, as CKAN's.
pub const DEFAULT_SORT: &str = "score desc, metadata_modified desc";

/// The index query of a package_search: `q` (words that must all occur in name, title, notes
/// or tags, or their German stems; `*:*` or empty for all), `fq` (field clauses that must all
/// hold; an organization is looked up among `publishers`), sort, rows, start.
pub fn package_query(
    query: &SearchQuery<'_>,
    publishers: &Publishers,
) -> crate::Result<PackageQuery> {
    let q = query.q.trim();
    let words: Vec<String> = if q.is_empty() || q == "*:*" {
        Vec::new()
    } else {
        q.split_whitespace().map(str::to_lowercase).collect()
    };
    let filters = parse_fq(query.fq)?
        .iter()
        .map(|c| c.to_filter(publishers))
        .collect();
    let sort = query.sort.unwrap_or(DEFAULT_SORT);
    let (sort, descending) = match sort.split(',').next().map(str::trim) {
        Some(s) if s.starts_with("score") => (PackageSort::Modified, true),
        Some(s) => {
            let (f, dir) = s.split_once(' ').unwrap_or((s, "asc"));
            let descending = match dir.trim() {
                "asc" => false,
                "desc" => true,
                _ => return Err(Error::invalid("sort", format!("bad direction in '{s}'"))),
            };
            let field = match f {
                "metadata_modified" => PackageSort::Modified,
                "metadata_created" => PackageSort::Created,
                "name" => PackageSort::Name,
                "id" => PackageSort::Id,
                "title_string" | "title" => PackageSort::Title,
                _ => return Err(Error::invalid("sort", format!("cannot sort by '{f}'"))),
            };
            (field, descending)
        }
        None => (PackageSort::Modified, true),
    };
    Ok(PackageQuery {
        words,
        filters,
        sort,
        descending,
        include_deleted: query.include_deleted,
        limit: i64::try_from(query.rows).unwrap_or(i64::MAX),
        offset: i64::try_from(query.start).unwrap_or(i64::MAX),
    })
}

/// package_search's result: the packages of the page and how many were found.
pub fn results(count: i64, packages: Vec<Json>, sort: Option<&str>) -> Json {
    json!({
        "count": count,
        "facets": {},
        "results": packages,
        "sort": sort.unwrap_or(DEFAULT_SORT),
        "search_facets": {},
    })
}

/// One `fq` clause.
enum Clause {
    /// `field:value` on organization, tags, name or res_format.
    Equals { field: String, value: String },
    /// `metadata_modified:[FROM TO TO]`, either end `*`.
    Modified {
        from: Option<String>,
        to: Option<String>,
    },
    /// `-clause`: it must not hold (ckanext-harvest's `organizations_filter_exclude`).
    Not(Box<Clause>),
    /// `a OR b …`: one must hold (its `organizations_filter_include` of several).
    Any(Vec<Clause>),
}

impl Clause {
    /// The clause as a filter of the search index.
    fn to_filter(&self, publishers: &Publishers) -> PackageFilter {
        match self {
            Self::Equals { field, value } => match field.as_str() {
                "organization" => publishers
                    .filter_for(value)
                    .map_or(PackageFilter::Nothing, |p| {
                        PackageFilter::Publisher(p.to_string())
                    }),
                "name" => PackageFilter::Name(value.clone()),
                "tags" => PackageFilter::Tag(value.clone()),
                _ => PackageFilter::Format {
                    downloads: [
                        Format::GeoJson,
                        Format::Csv,
                        Format::FlatGeobuf,
                        Format::GeoPackage,
                    ]
                    .into_iter()
                    .filter(|f| f.title().eq_ignore_ascii_case(value))
                    .map(|f| f.code().to_string())
                    .collect(),
                    api: value.eq_ignore_ascii_case(super::ckan::API_FORMAT),
                },
            },
            Self::Modified { from, to } => PackageFilter::Modified {
                from: from.clone(),
                to: to.clone(),
            },
            Self::Not(c) => PackageFilter::Not(Box::new(c.to_filter(publishers))),
            Self::Any(cs) => {
                PackageFilter::Any(cs.iter().map(|c| c.to_filter(publishers)).collect())
            }
        }
    }
}

/// Solr-style `fq` as harvesters send it: clauses separated by spaces (or `AND`), joined by
/// `OR`, each optionally `+`- or `-`-prefixed (must, must not), values optionally quoted.
fn parse_fq(fq: &str) -> crate::Result<Vec<Clause>> {
    let mut clauses: Vec<Clause> = Vec::new();
    let mut rest = fq.trim();
    let mut or_next = false;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("AND ") {
            rest = after.trim_start();
            continue;
        }
        if let Some(after) = rest.strip_prefix("OR ") {
            if clauses.is_empty() || or_next {
                return Err(Error::invalid(
                    "fq",
                    format!("OR without a clause before it at '{rest}'"),
                ));
            }
            or_next = true;
            rest = after.trim_start();
            continue;
        }
        let negated = rest.starts_with('-');
        rest = rest.trim_start_matches(['+', '-']);
        let (field, after) = rest
            .split_once(':')
            .ok_or_else(|| Error::invalid("fq", format!("expected field:value at '{rest}'")))?;
        let field = field.trim();
        let (value, remaining) = if let Some(range) = after.strip_prefix('[') {
            let (inner, remaining) = range
                .split_once(']')
                .ok_or_else(|| Error::invalid("fq", "unclosed range"))?;
            (format!("[{inner}]"), remaining)
        } else if let Some(quoted) = after.strip_prefix('"') {
            let (inner, remaining) = quoted
                .split_once('"')
                .ok_or_else(|| Error::invalid("fq", "unclosed quote"))?;
            (inner.to_string(), remaining)
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (after[..end].to_string(), &after[end..])
        };
        rest = remaining.trim_start();
        let clause = match field {
            "organization" | "tags" | "name" | "res_format" => Clause::Equals {
                field: field.to_string(),
                value,
            },
            "metadata_modified" => {
                let inner = value
                    .strip_prefix('[')
                    .and_then(|v| v.strip_suffix(']'))
                    .ok_or_else(|| Error::invalid("fq", "metadata_modified takes [FROM TO TO]"))?;
                let (from, to) = inner
                    .split_once(" TO ")
                    .ok_or_else(|| Error::invalid("fq", "metadata_modified takes [FROM TO TO]"))?;
                let end = |s: &str| -> crate::Result<Option<String>> {
                    let s = s.trim();
                    if s == "*" {
                        return Ok(None);
                    }
                    // CKAN compares its naive UTC times; normalise `…Z` to that form.
                    let t = chrono::DateTime::parse_from_rfc3339(s)
                        .map(|t| t.naive_utc())
                        .or_else(|_| {
                            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                        })
                        .map_err(|_| Error::invalid("fq", format!("'{s}' is not a time")))?;
                    Ok(Some(t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()))
                };
                Clause::Modified {
                    from: end(from)?,
                    to: end(to)?,
                }
            }
            other => {
                return Err(Error::invalid(
                    "fq",
                    format!(
                        "cannot filter on '{other}'; organization, tags, name, res_format and \
                         metadata_modified are supported"
                    ),
                ))
            }
        };
        let clause = if negated {
            Clause::Not(Box::new(clause))
        } else {
            clause
        };
        if std::mem::take(&mut or_next) {
            let joined = match clauses.pop() {
                Some(Clause::Any(mut alternatives)) => {
                    alternatives.push(clause);
                    Clause::Any(alternatives)
                }
                Some(previous) => Clause::Any(vec![previous, clause]),
                None => clause,
            };
            clauses.push(joined);
        } else {
            clauses.push(clause);
        }
    }
    if or_next {
        return Err(Error::invalid("fq", "OR without a clause after it"));
    }
    Ok(clauses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fq_clauses() {
        let c = parse_fq(r#"+organization:landkreis-x tags:"Erste Hilfe" metadata_modified:[2026-01-01T00:00:00Z TO *]"#)
            .unwrap();
        assert_eq!(c.len(), 3);
        assert!(matches!(&c[1], Clause::Equals { value, .. } if value == "Erste Hilfe"));
        assert!(
            matches!(&c[2], Clause::Modified { from: Some(f), to: None } if f == "2026-01-01T00:00:00.000000")
        );
        assert!(parse_fq("owner:x").is_err());
        assert!(parse_fq("metadata_modified:[yesterday TO *]").is_err());
        assert!(parse_fq("").unwrap().is_empty());
    }

    #[test]
    fn ckanext_harvest_organization_filters() {
        // organizations_filter_include of two, with the incremental harvest's clause.
        let include = parse_fq(
            "organization:lauf OR organization:schwaig +metadata_modified:[2026-01-01T00:00:00Z TO *]",
        )
        .unwrap();
        assert_eq!(include.len(), 2);
        assert!(matches!(&include[0], Clause::Any(a) if a.len() == 2));
        // organizations_filter_exclude.
        let exclude = parse_fq("-organization:lauf -organization:schwaig").unwrap();
        assert_eq!(exclude.len(), 2);
        assert!(exclude.iter().all(|c| matches!(c, Clause::Not(_))));
        assert!(parse_fq("OR organization:x").is_err());
        assert!(parse_fq("organization:x OR").is_err());
    }
}
