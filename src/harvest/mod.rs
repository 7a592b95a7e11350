//! Datasets fed from other servers (issue 22): a source is another portal's OGC API Features
//! collection or a file by URL; a run fetches it (conditionally: an unchanged source makes no
//! new version) and loads it through the ingest like an upload, so it is validated, versioned
//! and switched to atomically. A failing source keeps the served version and says why in its
//! status and the audit log. Sources run on the server's schedule (`serve`) or by hand
//! (`kreisgeo sources run`).

pub mod catalogs;
pub mod fetch;
pub mod merge;
pub mod net;
pub mod ogcapi;
pub mod register;
pub mod store;
pub mod wfs;

use std::sync::Arc;
use std::time::Instant;

use reqwest::Url;
use serde::Serialize;
use sqlx::PgPool;

use crate::catalog::DatasetKind;
use crate::error::{Error, Result};
use crate::ingest::{self, IngestRequest, NoProgress};
use fetch::{Client, Fetched, Validators};
use store::{Ran, SourceRow};

/// What a source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// An OGC API Features collection, read page by page.
    OgcApi,
    /// A file in any format the ingest reads.
    File,
    /// A WFS 2.0 GetFeature request, read page by page.
    Wfs,
    /// An Overpass API query (its `query`), answered as Overpass JSON.
    Overpass,
    /// A CKAN package: its resource in the best format kreisgeo reads.
    Ckan,
    /// A DCAT-AP dataset document: its distribution in the best format kreisgeo reads.
    Dcat,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OgcApi => "ogcapi",
            Self::File => "file",
            Self::Wfs => "wfs",
            Self::Overpass => "overpass",
            Self::Ckan => "ckan",
            Self::Dcat => "dcat",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ogcapi" => Some(Self::OgcApi),
            "file" => Some(Self::File),
            "wfs" => Some(Self::Wfs),
            "overpass" => Some(Self::Overpass),
            "ckan" => Some(Self::Ckan),
            "dcat" => Some(Self::Dcat),
            _ => None,
        }
    }

    /// The kind a URL looks like: an OGC API collection by its `/collections/{id}` path, a WFS
    /// by its `REQUEST=GetFeature`, Overpass by its `/interpreter`.
    pub fn guess(url: &Url) -> Self {
        let get_feature = url.query_pairs().any(|(k, v)| {
            k.eq_ignore_ascii_case("request") && v.eq_ignore_ascii_case("GetFeature")
        });
        if get_feature {
            return Self::Wfs;
        }
        let path = url.path().trim_end_matches('/');
        if path.ends_with("/interpreter") {
            return Self::Overpass;
        }
        if path.ends_with("/api/3/action/package_show") || path.contains("/dataset/") {
            return Self::Ckan;
        }
        if path.contains("/catalog/datasets/") {
            return Self::Dcat;
        }
        let segments: Vec<&str> = path.split('/').collect();
        let collection = segments
            .iter()
            .rposition(|s| *s == "collections")
            .is_some_and(|i| {
                let rest = &segments[i + 1..];
                rest.len() == 1 || (rest.len() == 2 && rest[1] == "items")
            });
        if collection {
            Self::OgcApi
        } else {
            Self::File
        }
    }
}

/// How a run ended, for the CLI and the log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunReport {
    pub source: i64,
    pub dataset: String,
    /// new-version, unchanged or failed.
    #[schema(value_type = String, example = "new-version")]
    pub status: &'static str,
    pub version: Option<i64>,
    pub features: Option<u64>,
    pub pages: Option<u32>,
    pub error: Option<String>,
    pub seconds: f64,
}

/// A new source, checked: its URL is one the policy allows and its kind known.
pub async fn add(pool: &PgPool, policy: &net::Policy, s: &store::NewSource<'_>) -> Result<i64> {
    let url = Url::parse(s.url).map_err(|e| Error::invalid("url", format!("'{}': {e}", s.url)))?;
    policy
        .check(&url)
        .map_err(|e| Error::invalid("url", e.to_string()))?;
    let Some(kind) = SourceKind::parse(s.kind) else {
        return Err(Error::invalid(
            "kind",
            format!(
                "'{}' is not ogcapi, wfs, overpass, ckan, dcat or file",
                s.kind
            ),
        ));
    };
    match (kind, s.query) {
        (SourceKind::Overpass, None) => {
            return Err(Error::invalid(
                "query",
                "an overpass source needs its query (Overpass QL)",
            ))
        }
        (SourceKind::Overpass, Some(q)) => {
            overpass_query(q).map_err(|e| Error::invalid("query", e))?;
        }
        (_, Some(_)) => {
            return Err(Error::invalid(
                "query",
                "only overpass sources have a query",
            ))
        }
        (_, None) => {}
    }
    crate::catalog::validate_dataset_id(s.dataset_id).map_err(|e| Error::invalid("dataset", e))?;
    if DatasetKind::parse(s.dataset_kind).is_none() {
        return Err(Error::invalid(
            "as",
            format!("'{}' is not a dataset kind", s.dataset_kind),
        ));
    }
    if !(0..=1000).contains(&s.priority) {
        return Err(Error::invalid("priority", "from 0 to 1000"));
    }
    if let Some(c) = s.credentials {
        credentials_reference(c).map_err(|e| Error::invalid("credentials", e))?;
    }
    if !(10..=30 * 86_400).contains(&s.interval_s) {
        return Err(Error::invalid("interval", "from 10 seconds to 30 days"));
    }
    if !(1..=10_000).contains(&s.page_size) {
        return Err(Error::invalid("page-size", "from 1 to 10000"));
    }
    let id = store::add(pool, s).await?.ok_or_else(|| {
        Error::invalid(
            "url",
            format!("dataset '{}' has this source already", s.dataset_id),
        )
    })?;
    // From two sources on, the dataset is a merged register: every source answers in full
    // once more, so that each one's part is known.
    if store::list(pool, Some(s.dataset_id)).await?.len() > 1 {
        store::refetch_all(pool, s.dataset_id).await?;
    }
    Ok(id)
}

/// Removes a source; whether it was there. The dataset keeps its versions; a register of
/// several sources is merged anew from the others at their next run.
pub async fn remove(pool: &PgPool, id: i64) -> Result<bool> {
    let Some(source) = store::find(pool, id).await? else {
        return Ok(false);
    };
    let removed = store::remove(pool, id).await?;
    if removed {
        store::refetch_all(pool, &source.dataset_id).await?;
    }
    Ok(removed)
}

/// Checks a credentials reference: `env:NAME` or `file:/absolute/path`.
fn credentials_reference(c: &str) -> std::result::Result<(), String> {
    let ok = match c.split_once(':') {
        Some(("env", name)) => {
            name.starts_with(|ch: char| ch.is_ascii_alphabetic() || ch == '_')
                && name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        }
        Some(("file", path)) => path.starts_with('/'),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "'{c}' is not env:NAME or file:/absolute/path (credentials are read from there at \
             each run, never stored)"
        ))
    }
}

/// The credentials a source's reference points at, read now.
fn credentials(source: &SourceRow) -> std::result::Result<Option<fetch::Auth>, String> {
    let Some(reference) = &source.credentials else {
        return Ok(None);
    };
    let secret = match reference.split_once(':') {
        Some(("env", name)) => std::env::var(name)
            .map_err(|_| format!("the credentials variable {name} is not set"))?,
        Some(("file", path)) => std::fs::read_to_string(path)
            .map_err(|e| format!("the credentials file {path}: {e}"))?,
        _ => return Err(format!("credentials '{reference}' are not env: or file:")),
    };
    fetch::Auth::parse(&secret)
        .map(Some)
        .ok_or_else(|| format!("the credentials in {reference} are empty"))
}

/// Runs one source: fetches it, loads what is new, records how it ended. A source another
/// node is running is skipped (`Ok(None)`).
pub async fn run(pool: &PgPool, client: &Client, source: &SourceRow) -> Result<Option<RunReport>> {
    store::exclusively(pool, source.id, run_now(pool, client, source)).await
}

async fn run_now(pool: &PgPool, client: &Client, source: &SourceRow) -> RunReport {
    let started = Instant::now();
    let mut report = RunReport {
        source: source.id,
        dataset: source.dataset_id.clone(),
        status: "failed",
        version: None,
        features: None,
        pages: None,
        error: None,
        seconds: 0.0,
    };
    let done = fetch_and_load(pool, client, source, &mut report).await;
    let ran = match &done {
        Ok((Some(version), validators)) => Ran::NewVersion(*version, validators),
        Ok((None, validators)) => Ran::Unchanged(Some(validators)),
        Err(e) => Ran::Failed(e),
    };
    if let Err(e) = store::record(pool, source.id, &ran).await {
        tracing::error!(error = %e, source = source.id, "cannot record the source's run");
    }
    let shown = Url::parse(&source.url)
        .map(|u| net::without_credentials(&u))
        .unwrap_or_default();
    match &done {
        Ok((Some(version), _)) => {
            report.status = "new-version";
            report.version = Some(*version);
            tracing::info!(source = source.id, dataset = %source.dataset_id, version, url = %shown, "harvested a new version");
        }
        Ok((None, _)) => {
            report.status = "unchanged";
            tracing::info!(source = source.id, dataset = %source.dataset_id, url = %shown, "source unchanged");
        }
        Err(e) => {
            report.error = Some(e.clone());
            tracing::warn!(source = source.id, dataset = %source.dataset_id, url = %shown, error = %e, "harvest failed; the served version stays");
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    crate::metrics::record_harvest(report.status);
    let detail = format!(
        "source {} ({}): {}{}",
        source.id,
        shown,
        report.status,
        report
            .error
            .as_deref()
            .map(|e| format!(": {e}"))
            .or_else(|| report.version.map(|v| format!(", version {v}")))
            .unwrap_or_default()
    );
    let outcome = if report.status == "failed" {
        "failed"
    } else {
        "succeeded"
    };
    store::audit(pool, &source.dataset_id, outcome, &detail).await;
    report
}

/// Fetches and loads; the new version (`None`: unchanged) and the validators to keep.
async fn fetch_and_load(
    pool: &PgPool,
    client: &Client,
    source: &SourceRow,
    report: &mut RunReport,
) -> std::result::Result<(Option<i64>, Validators), String> {
    let url = Url::parse(&source.url).map_err(|e| format!("{}: {e}", source.url))?;
    let authed = client.with_auth(credentials(source)?);
    let client = &authed;
    let known = Validators {
        etag: source.etag.clone(),
        last_modified: source.last_modified.clone(),
    };
    // Validators only count when the last run loaded what they describe.
    let known = (source.last_status.as_deref() != Some("failed")).then_some(&known);
    let kind = SourceKind::parse(&source.kind).ok_or("unknown source kind")?;
    let unchanged = || Ok((None, known.cloned().unwrap_or_default()));
    let page_size = u32::try_from(source.page_size).unwrap_or(1000);
    let (files, validators) = match kind {
        SourceKind::OgcApi => {
            match ogcapi::harvest(client, &url, page_size, known)
                .await
                .map_err(|e| e.to_string())?
            {
                ogcapi::Outcome::NotModified => return unchanged(),
                ogcapi::Outcome::Harvested(h) => {
                    report.features = Some(h.features);
                    report.pages = Some(h.pages);
                    (vec![h.file], h.validators)
                }
            }
        }
        SourceKind::Wfs => match wfs::harvest(client, &url, page_size, known)
            .await
            .map_err(|e| e.to_string())?
        {
            wfs::Outcome::NotModified => return unchanged(),
            wfs::Outcome::Harvested(p) => {
                report.pages = Some(p.files.len() as u32);
                (p.files, p.validators)
            }
        },
        SourceKind::File | SourceKind::Overpass | SourceKind::Ckan | SourceKind::Dcat => {
            let url = match (kind, &source.query) {
                (SourceKind::Overpass, Some(q)) => {
                    let mut u = url.clone();
                    u.query_pairs_mut().append_pair("data", &overpass_query(q)?);
                    u
                }
                (SourceKind::Ckan, _) => catalogs::ckan(client, &url)
                    .await
                    .map_err(|e| e.to_string())?,
                (SourceKind::Dcat, _) => catalogs::dcat(client, &url)
                    .await
                    .map_err(|e| e.to_string())?,
                _ => url.clone(),
            };
            match client
                .download(&url, known)
                .await
                .map_err(|e| e.to_string())?
            {
                Fetched::NotModified => return unchanged(),
                Fetched::Body {
                    body: fetch::Body::File(file),
                    validators,
                    ..
                } => (vec![file], validators),
                Fetched::Body { .. } => return Err("a download kept in memory".into()),
            }
        }
    };
    let Some((first, more)) = files.split_first() else {
        return Err(format!("{}: no features", net::without_credentials(&url)));
    };
    let siblings = store::list(pool, Some(&source.dataset_id))
        .await
        .map_err(|e| e.to_string())?;
    if siblings.len() > 1 {
        let kind = DatasetKind::parse(&source.dataset_kind).unwrap_or(DatasetKind::Generic);
        let paths: Vec<_> = files.iter().map(|f| f.path().to_path_buf()).collect();
        let (crs, mapping) = (source.crs, source.mapping.0.clone());
        let answer =
            tokio::task::spawn_blocking(move || register::read(&paths, kind, crs, &mapping))
                .await
                .map_err(|e| format!("reading the answer: {e}"))?
                .map_err(|e| e.to_string())?;
        if report.features.is_none() {
            report.features = Some(answer.features.len() as u64);
        }
        // Boxed: the merge loads through the ingest.
        let (version, _) = Box::pin(register::update(pool, source, answer))
            .await
            .map_err(|e| e.to_string())?;
        return Ok((version, validators));
    }
    let mut request = IngestRequest {
        kind: DatasetKind::parse(&source.dataset_kind).unwrap_or(DatasetKind::Generic),
        crs: source.crs,
        mappings: source.mapping.0.clone(),
        ..IngestRequest::new(first.path(), &source.dataset_id)
    };
    request.read.more_files = more.iter().map(|f| f.path().to_path_buf()).collect();
    let loaded = ingest::ingest(pool, &request, Arc::new(NoProgress))
        .await
        .map_err(|e| e.to_string())?;
    if report.features.is_none() {
        report.features = Some(loaded.features);
    }
    Ok(((!loaded.unchanged).then_some(loaded.version), validators))
}

/// The query as sent: Overpass QL asking for JSON (`[out:json]` is put first when the query
/// names no output format).
pub fn overpass_query(query: &str) -> std::result::Result<String, String> {
    let q = query.trim();
    if q.is_empty() {
        return Err("the Overpass query is empty".into());
    }
    if q.len() > 20_000 {
        return Err("the Overpass query is longer than 20,000 characters".into());
    }
    if q.contains("[out:") {
        if q.contains("[out:json]") {
            Ok(q.to_string())
        } else {
            Err("the Overpass query asks for another output than [out:json]".into())
        }
    } else {
        Ok(format!("[out:json];{q}"))
    }
}

/// Looks for due sources every `tick` and runs them, until the runtime ends: the server's
/// schedule. A source is run at most `tick` after its interval has passed.
pub fn poll(
    pool: PgPool,
    client: Client,
    tick: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(tick);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = run_due(&pool, &client).await {
                tracing::warn!(error = %e, "cannot run the due sources");
            }
        }
    })
}

/// Runs every source whose interval has passed; the server calls it on its schedule.
pub async fn run_due(pool: &PgPool, client: &Client) -> Result<Vec<RunReport>> {
    let mut done = Vec::new();
    for source in store::due(pool).await? {
        if let Some(report) = run(pool, client, &source).await? {
            done.push(report);
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_guessed_from_the_url() {
        let g = |s: &str| SourceKind::guess(&Url::parse(s).unwrap());
        assert_eq!(g("https://a.de/collections/aed"), SourceKind::OgcApi);
        assert_eq!(
            g("https://a.de/ogc/collections/aed/items?limit=5"),
            SourceKind::OgcApi
        );
        assert_eq!(g("https://a.de/collections"), SourceKind::File);
        assert_eq!(g("https://a.de/data/aed.csv"), SourceKind::File);
        assert_eq!(g("https://a.de/collections/aed/items/7"), SourceKind::File);
    }
}
