//! CKAN's `package_search` over package dicts: `q` words, Solr-style `fq` clauses as
//! harvesters send them, `sort`, `rows` and `start`.

use serde_json::{json, Value as Json};

use crate::error::Error;

/// A `package_search` request.
#[derive(Debug, Clone, Copy)]
pub struct SearchQuery<'a> {
    pub q: &'a str,
    pub fq: &'a str,
    pub sort: Option<&'a str>,
    pub rows: usize,
    pub start: usize,
}

/// package_search over the packages: `q` (words that must all occur in name, title, notes or
/// tags; `*:*` or empty for all), `fq` (field clauses that must all hold), sort, rows, start.
pub fn search(packages: Vec<Json>, query: &SearchQuery<'_>) -> crate::Result<Json> {
    let (rows, start) = (query.rows, query.start);
    let q = query.q.trim();
    let words: Vec<String> = if q.is_empty() || q == "*:*" {
        Vec::new()
    } else {
        q.split_whitespace().map(str::to_lowercase).collect()
    };
    let clauses = parse_fq(query.fq)?;
    let mut found: Vec<Json> = packages
        .into_iter()
        .filter(|p| {
            let haystack = format!(
                "{} {} {} {}",
                p["name"].as_str().unwrap_or(""),
                p["title"].as_str().unwrap_or(""),
                p["notes"].as_str().unwrap_or(""),
                p["tags"]
                    .as_array()
                    .map(|t| t
                        .iter()
                        .filter_map(|t| t["name"].as_str())
                        .collect::<Vec<_>>()
                        .join(" "))
                    .unwrap_or_default()
            )
            .to_lowercase();
            words.iter().all(|w| haystack.contains(w.as_str()))
                && clauses.iter().all(|c| c.matches(p))
        })
        .collect();
    let sort = query.sort.unwrap_or("score desc, metadata_modified desc");
    let (field, descending) = match sort.split(',').next().map(str::trim) {
        Some(s) if s.starts_with("score") => ("metadata_modified", true),
        Some(s) => {
            let (f, dir) = s.split_once(' ').unwrap_or((s, "asc"));
            let descending = match dir.trim() {
                "asc" => false,
                "desc" => true,
                _ => return Err(Error::invalid("sort", format!("bad direction in '{s}'"))),
            };
            let field = match f {
                "metadata_modified" | "metadata_created" | "name" | "id" => f,
                "title_string" | "title" => "title",
                _ => return Err(Error::invalid("sort", format!("cannot sort by '{f}'"))),
            };
            (field, descending)
        }
        None => ("metadata_modified", true),
    };
    found.sort_by(|a, b| {
        let key = |p: &Json| p[field].as_str().unwrap_or("").to_string();
        let order = key(a)
            .cmp(&key(b))
            .then_with(|| key_name(a).cmp(&key_name(b)));
        if descending {
            order.reverse()
        } else {
            order
        }
    });
    let count = found.len();
    let results: Vec<Json> = found.into_iter().skip(start).take(rows).collect();
    Ok(json!({
        "count": count,
        "facets": {},
        "results": results,
        "sort": sort,
        "search_facets": {},
    }))
}

fn key_name(p: &Json) -> String {
    p["name"].as_str().unwrap_or("").to_string()
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
    fn matches(&self, p: &Json) -> bool {
        match self {
            Self::Equals { field, value } => match field.as_str() {
                "organization" => p["organization"]["name"] == value.as_str(),
                "name" => p["name"] == value.as_str(),
                "tags" => p["tags"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| t["name"] == value.as_str())),
                _ => p["resources"].as_array().is_some_and(|r| {
                    r.iter().any(|r| {
                        r["format"]
                            .as_str()
                            .is_some_and(|f| f.eq_ignore_ascii_case(value))
                    })
                }),
            },
            Self::Modified { from, to } => {
                let m = p["metadata_modified"].as_str().unwrap_or("");
                from.as_deref().is_none_or(|f| m >= f) && to.as_deref().is_none_or(|t| m <= t)
            }
            Self::Not(c) => !c.matches(p),
            Self::Any(cs) => cs.iter().any(|c| c.matches(p)),
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
        let package = |org: &str| json!({"organization": {"name": org}, "metadata_modified": "2026-02-01T00:00:00.000000"});
        // organizations_filter_include of two, with the incremental harvest's clause.
        let include = parse_fq(
            "organization:lauf OR organization:schwaig +metadata_modified:[2026-01-01T00:00:00Z TO *]",
        )
        .unwrap();
        assert_eq!(include.len(), 2);
        let hits = |clauses: &[Clause], org: &str| clauses.iter().all(|c| c.matches(&package(org)));
        assert!(hits(&include, "lauf") && hits(&include, "schwaig") && !hits(&include, "kreis"));
        // organizations_filter_exclude.
        let exclude = parse_fq("-organization:lauf -organization:schwaig").unwrap();
        assert!(!hits(&exclude, "lauf") && !hits(&exclude, "schwaig") && hits(&exclude, "kreis"));
        assert!(parse_fq("OR organization:x").is_err());
        assert!(parse_fq("organization:x OR").is_err());
    }
}
