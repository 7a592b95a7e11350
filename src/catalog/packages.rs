//! The catalog's search index in SQL: CKAN's package_search, package_show and package_list look
//! datasets up here and read only the page they answer, whatever the number of datasets. The
//! indexed values (resolved title, keywords, the CKAN id) are computed by the open-data layer;
//! this module stores them and queries them. Every filter value is a bound parameter.

use sqlx::{PgPool, Row};

use crate::error::Result;

/// A dataset whose index entry lags behind its row: what the open-data layer needs to compute
/// the entry.
pub struct Unindexed<M> {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub description: Option<String>,
    pub metadata: M,
    pub publisher: Option<String>,
    pub deleted: bool,
    pub generation: i64,
}

/// The values a dataset is found by.
pub struct IndexEntry {
    pub id: String,
    /// The row generation the values are of.
    pub generation: i64,
    pub ckan_id: String,
    pub title: String,
    pub tags: Vec<String>,
    /// Name, title, description and keywords: what `q` searches (stemmed in SQL).
    pub text: String,
}

/// Datasets (deleted ones included) whose index entry is missing or stale.
pub async fn unindexed<M: serde::de::DeserializeOwned>(pool: &PgPool) -> Result<Vec<Unindexed<M>>> {
    let rows = sqlx::query(
        "SELECT id, kind, title, description, metadata, publisher_id, \
           deleted_at IS NOT NULL AS deleted, search_generation \
         FROM catalog.datasets WHERE search_indexed IS DISTINCT FROM search_generation",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let metadata: sqlx::types::Json<M> = row.try_get("metadata")?;
            Ok(Unindexed {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                title: row.try_get("title")?,
                description: row.try_get("description")?,
                metadata: metadata.0,
                publisher: row.try_get("publisher_id")?,
                deleted: row.try_get("deleted")?,
                generation: row.try_get("search_generation")?,
            })
        })
        .collect()
}

/// Writes index entries; an entry whose row changed meanwhile is left stale for the next round.
pub async fn write_index(pool: &PgPool, entries: &[IndexEntry]) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&IndexEntry) -> String| entries.iter().map(f).collect::<Vec<_>>();
    let generations: Vec<i64> = entries.iter().map(|e| e.generation).collect();
    // Keywords are printable (validated), so a unit separator cannot occur in them.
    let tags = column(|e| e.tags.join("\u{1f}"));
    sqlx::query(
        "UPDATE catalog.datasets d SET search_indexed = u.generation, ckan_id = u.ckan_id, \
           search_title = u.title, \
           search_tags = CASE WHEN u.tags = '' THEN '{}'::text[] ELSE string_to_array(u.tags, E'\\x1f') END, \
           search_doc = to_tsvector('german', u.text), \
           search_modified = coalesce(d.deleted_at, \
             (SELECT greatest(v.created_at, d.metadata_modified) FROM catalog.versions v \
              WHERE v.id = d.active_version), d.created_at) \
         FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[]) \
           AS u(id, generation, ckan_id, title, tags, text) \
         WHERE d.id = u.id AND d.search_generation = u.generation",
    )
    .bind(column(|e| e.id.clone()))
    .bind(generations)
    .bind(column(|e| e.ckan_id.clone()))
    .bind(column(|e| e.title.clone()))
    .bind(tags)
    .bind(column(|e| e.text.clone()))
    .execute(pool)
    .await?;
    Ok(())
}

/// One clause of a package filter, as CKAN's `fq` says it.
#[derive(Debug, Clone, PartialEq)]
pub enum PackageFilter {
    /// Of one publisher (`""`: the portal's own).
    Publisher(String),
    Name(String),
    Tag(String),
    /// With a resource of one of these download formats (`geojson`, `csv`, `fgb`, `gpkg`), or
    /// with the OGC API resource every live package has (`api`).
    Format {
        downloads: Vec<String>,
        api: bool,
    },
    /// `metadata_modified` from and to (inclusive, naive UTC), either open.
    Modified {
        from: Option<String>,
        to: Option<String>,
    },
    Not(Box<PackageFilter>),
    Any(Vec<PackageFilter>),
    /// Matches nothing (an organization that does not exist).
    Nothing,
}

/// What packages are sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageSort {
    Modified,
    Created,
    Name,
    Id,
    Title,
}

/// A package_search.
#[derive(Debug, Clone)]
pub struct PackageQuery {
    /// Lower-case words that must all occur (or the text they make, stemmed).
    pub words: Vec<String>,
    pub filters: Vec<PackageFilter>,
    pub sort: PackageSort,
    pub descending: bool,
    pub include_deleted: bool,
    pub limit: i64,
    pub offset: i64,
}

/// A found package: its dataset id and whether it is deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub id: String,
    pub deleted: bool,
}

/// Values bound in the order their placeholders were written.
enum Bind {
    Text(String),
    Texts(Vec<String>),
    Int(i64),
}

struct Sql {
    binds: Vec<Bind>,
}

impl Sql {
    fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }

    fn filter(&mut self, f: &PackageFilter) -> String {
        const LIVE: &str = "(d.deleted_at IS NULL)";
        match f {
            // Said so that the index on publisher_id serves it.
            PackageFilter::Publisher(p) if p.is_empty() => "d.publisher_id IS NULL".into(),
            PackageFilter::Publisher(p) => {
                let p = self.bind(Bind::Text(p.clone()));
                format!("d.publisher_id = {p}")
            }
            PackageFilter::Name(n) => format!("d.id = {}", self.bind(Bind::Text(n.clone()))),
            PackageFilter::Tag(t) => {
                let t = self.bind(Bind::Text(t.clone()));
                format!("({LIVE} AND d.search_tags @> ARRAY[{t}::text])")
            }
            PackageFilter::Format { downloads, api } => {
                let formats = self.bind(Bind::Texts(downloads.clone()));
                format!(
                    "({LIVE} AND ({api} OR EXISTS (SELECT 1 FROM catalog.downloads f \
                     WHERE f.version_id = d.active_version AND f.format = ANY({formats}::text[]))))"
                )
            }
            PackageFilter::Modified { from, to } => {
                let mut parts = vec!["TRUE".to_string()];
                if let Some(from) = from {
                    let p = self.bind(Bind::Text(from.clone()));
                    parts.push(format!(
                        "d.search_modified AT TIME ZONE 'UTC' >= {p}::timestamp"
                    ));
                }
                if let Some(to) = to {
                    let p = self.bind(Bind::Text(to.clone()));
                    parts.push(format!(
                        "d.search_modified AT TIME ZONE 'UTC' <= {p}::timestamp"
                    ));
                }
                format!("({})", parts.join(" AND "))
            }
            PackageFilter::Not(inner) => format!("NOT {}", self.filter(inner)),
            PackageFilter::Any(alternatives) => {
                let parts: Vec<String> = alternatives.iter().map(|a| self.filter(a)).collect();
                format!("({})", parts.join(" OR "))
            }
            PackageFilter::Nothing => "FALSE".into(),
        }
    }
}

/// The packages a search finds, one page of them, and how many it finds in all.
pub async fn search(pool: &PgPool, q: &PackageQuery) -> Result<(Vec<Found>, i64)> {
    let mut sql = Sql { binds: Vec::new() };
    let mut conditions = vec![if q.include_deleted {
        "(d.active_version IS NOT NULL OR d.deleted_at IS NOT NULL)".to_string()
    } else {
        "(d.active_version IS NOT NULL AND d.deleted_at IS NULL)".to_string()
    }];
    // Every word, German-stemmed, as the beginning of a word of the text (so "Spielplätze"
    // and "spielpl" find "Spielplatz"): the GIN index answers. Words are letters and digits
    // only, so the query text is a valid tsquery; stop words drop out, and a query of stop
    // words alone asks for nothing.
    let words: Vec<String> = q
        .words
        .iter()
        .flat_map(|w| {
            w.split(|c: char| !c.is_alphanumeric())
                .filter(|part| !part.is_empty())
                .map(|part| format!("{part}:*"))
                .collect::<Vec<_>>()
        })
        .collect();
    if !words.is_empty() {
        let query = sql.bind(Bind::Text(words.join(" & ")));
        conditions.push(format!(
            "(d.search_doc @@ to_tsquery('german', {query}) \
              OR numnode(to_tsquery('german', {query})) = 0)"
        ));
    }
    for f in &q.filters {
        conditions.push(sql.filter(f));
    }
    let order = match q.sort {
        PackageSort::Modified => "d.search_modified",
        PackageSort::Created => "d.created_at",
        PackageSort::Name => "d.id",
        PackageSort::Id => "d.ckan_id",
        PackageSort::Title => "d.search_title",
    };
    let direction = if q.descending { "DESC" } else { "ASC" };
    let limit = sql.bind(Bind::Int(q.limit));
    let offset = sql.bind(Bind::Int(q.offset));
    let text = format!(
        "SELECT d.id, d.deleted_at IS NOT NULL AS deleted, count(*) OVER () AS total \
         FROM catalog.datasets d WHERE {} \
         ORDER BY {order} {direction}, d.id {direction} LIMIT {limit} OFFSET {offset}",
        conditions.join(" AND ")
    );
    let mut query = sqlx::query(&text);
    for b in sql.binds {
        query = match b {
            Bind::Text(t) => query.bind(t),
            Bind::Texts(t) => query.bind(t),
            Bind::Int(n) => query.bind(n),
        };
    }
    let rows = query.fetch_all(pool).await?;
    let total = match rows.first() {
        Some(r) => r.try_get("total")?,
        None if q.offset > 0 => {
            // Past the end: count without the page.
            let counted = Box::pin(search(
                pool,
                &PackageQuery {
                    offset: 0,
                    limit: 1,
                    ..q.clone()
                },
            ))
            .await?;
            counted.1
        }
        None => 0,
    };
    let found = rows
        .iter()
        .map(|r| {
            Ok(Found {
                id: r.try_get("id")?,
                deleted: r.try_get("deleted")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((found, total))
}

/// The package named `name_or_id` (its name or CKAN id), deleted ones included.
pub async fn find(pool: &PgPool, name_or_id: &str) -> Result<Option<Found>> {
    let row = sqlx::query(
        "SELECT id, deleted_at IS NOT NULL AS deleted FROM catalog.datasets d \
         WHERE (d.id = $1 OR d.ckan_id = $1) \
           AND (d.active_version IS NOT NULL OR d.deleted_at IS NOT NULL) \
         ORDER BY d.id = $1 DESC LIMIT 1",
    )
    .bind(name_or_id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(Found {
            id: r.try_get("id")?,
            deleted: r.try_get("deleted")?,
        })
    })
    .transpose()
}

/// The names of the live packages, in name order, one page.
pub async fn names(pool: &PgPool, limit: i64, offset: i64) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM catalog.datasets \
         WHERE active_version IS NOT NULL AND deleted_at IS NULL ORDER BY id LIMIT $1 OFFSET $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?)
}

/// Per publisher (`""`: the portal's own), its live packages: how many, and when the first was
/// created (ISO 8601 UTC).
pub async fn publisher_counts(pool: &PgPool) -> Result<Vec<(String, i64, String)>> {
    let rows = sqlx::query(
        "SELECT coalesce(publisher_id, '') AS publisher, count(*) AS packages, \
           to_char(min(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created \
         FROM catalog.datasets WHERE active_version IS NOT NULL AND deleted_at IS NULL \
         GROUP BY 1",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("publisher")?,
                r.try_get("packages")?,
                r.try_get("created")?,
            ))
        })
        .collect()
}
