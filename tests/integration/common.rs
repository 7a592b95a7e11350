//! Test harness: one real PostgreSQL + PostGIS per test run, a fresh database per test.
//!
//! The server is kreisgeo's own embedded instance in `target/tmp/pg` (or the server behind
//! `DATABASE_URL`, which must allow CREATE DATABASE). It is started once and reused by every
//! test process; `make test` stops it at the end. Each test gets a database cloned from a
//! template that already holds PostGIS and the migrations.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test;
use serde_json::Value as Json;
use sqlx::{Connection, PgConnection, PgPool};

use kreisgeo::api::state::{ApiConfig, AppState};
use kreisgeo::catalog::DatasetKind;
use kreisgeo::db::embedded::EmbeddedPostgres;
use kreisgeo::ingest::{IngestReport, IngestRequest, NoProgress};

/// Where the tests keep their PostgreSQL and scratch files: `target/tmp`, or, when running as
/// root in a tree the `postgres` user cannot enter (a clone under /root), a directory in /tmp.
/// The path of the PostgreSQL data directory is written to `target/tmp/test-pg-path` so that
/// `make test` can stop it afterwards.
pub fn scratch_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        use std::os::unix::fs::PermissionsExt;
        let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let reachable = target
            .ancestors()
            .all(|a| std::fs::metadata(a).is_ok_and(|m| m.permissions().mode() & 0o001 != 0));
        let root = if !nix::unistd::Uid::effective().is_root() || reachable {
            target.clone()
        } else {
            let tag = env!("CARGO_MANIFEST_DIR")
                .bytes()
                .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
                });
            std::env::temp_dir().join(format!("kreisgeo-test-{tag:016x}"))
        };
        std::fs::create_dir_all(&root).expect("scratch directory");
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let _ = std::fs::create_dir_all(&target);
        let _ = std::fs::write(
            target.join("test-pg-path"),
            root.join("pg").display().to_string(),
        );
        root
    })
}

/// Data directory of the test run's embedded PostgreSQL.
pub fn data_dir() -> PathBuf {
    scratch_root().join("pg")
}

/// Repository file path.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// The server URL without a database name, e.g. `postgres://u:p@127.0.0.1:5432`.
fn server_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        // Own thread and runtime: each test has its own runtime, and this outlives them all.
        std::thread::spawn(|| {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            rt.block_on(async {
                let url = match std::env::var("DATABASE_URL") {
                    Ok(url) if !url.is_empty() => url,
                    _ => EmbeddedPostgres::ensure_running(&data_dir())
                        .await
                        .unwrap_or_else(|e| panic!("cannot start the test PostgreSQL: {e}"))
                        .url("postgres"),
                };
                let base = url
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_string())
                    .expect("url");
                prepare_template(&base).await;
                base
            })
        })
        .join()
        .expect("database set-up thread")
    })
}

fn template_name() -> String {
    // Changing a migration yields a new template.
    let digest: u64 = kreisgeo::db::MIGRATOR
        .iter()
        .flat_map(|m| m.checksum.iter().copied())
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    // `_r`: templates with pgRouting.
    format!("kreisgeo_test_tpl_{digest:016x}_pgr")
}

async fn prepare_template(base: &str) {
    let mut admin = PgConnection::connect(&format!("{base}/postgres"))
        .await
        .expect("connect");
    // Serialise template creation between concurrently starting test processes.
    sqlx::query("SELECT pg_advisory_lock(424242)")
        .execute(&mut admin)
        .await
        .expect("lock");
    let name = template_name();
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .expect("query");
    if !exists {
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create template");
        let pool = PgPool::connect(&format!("{base}/{name}"))
            .await
            .expect("connect template");
        kreisgeo::db::MIGRATOR
            .run(&pool)
            .await
            .expect("migrate template");
        assert!(
            kreisgeo::routing::store::enable(&pool).await,
            "pgRouting is missing: run scripts/install-deps.sh"
        );
        pool.close().await;
    }
    // Databases of earlier test processes that are gone.
    let stale: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'kg_test_%'")
            .fetch_all(&mut admin)
            .await
            .expect("list");
    for db in stale {
        let pid: Option<i32> = db.split('_').nth(2).and_then(|p| p.parse().ok());
        let alive = pid
            .is_some_and(|p| nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), None).is_ok());
        if !alive {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                .execute(&mut admin)
                .await;
        }
    }
    sqlx::query("SELECT pg_advisory_unlock(424242)")
        .execute(&mut admin)
        .await
        .expect("unlock");
}

/// A fresh database with the schema applied.
pub struct TestDb {
    pub pool: PgPool,
    pub url: String,
}

impl TestDb {
    pub async fn new() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let base = server_url();
        let name = format!(
            "kg_test_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::connect(&format!("{base}/postgres"))
            .await
            .expect("connect");
        sqlx::query(&format!(
            "CREATE DATABASE {name} TEMPLATE {} STRATEGY FILE_COPY",
            template_name()
        ))
        .execute(&mut admin)
        .await
        .expect("create test database");
        let _ = admin.close().await;
        let url = format!("{base}/{name}");
        let pool = kreisgeo::db::connect(&url)
            .await
            .expect("connect test database");
        Self { pool, url }
    }

    /// Ingests a fixture file.
    pub async fn ingest(&self, file: &str, dataset: &str, kind: DatasetKind) -> IngestReport {
        self.try_ingest(IngestRequest {
            kind,
            ..IngestRequest::new(fixture(file), dataset)
        })
        .await
        .unwrap_or_else(|e| panic!("ingest of {file} failed: {e}"))
    }

    pub async fn try_ingest(&self, request: IngestRequest) -> kreisgeo::Result<IngestReport> {
        kreisgeo::ingest::ingest(&self.pool, &request, Arc::new(NoProgress)).await
    }

    /// The table of `dataset`'s served version.
    pub async fn table_of(&self, dataset: &str) -> String {
        sqlx::query_scalar(
            "SELECT v.table_name FROM catalog.datasets d \
             JOIN catalog.versions v ON v.id = d.active_version WHERE d.id = $1",
        )
        .bind(dataset)
        .fetch_one(&self.pool)
        .await
        .expect("table")
    }

    pub fn state(&self) -> AppState {
        AppState::new(self.pool.clone(), ApiConfig::default())
    }
}

/// The full application over a test database.
pub async fn app(
    db: &TestDb,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    test::init_service(kreisgeo::api::app(db.state())).await
}

/// The app as the in-process tests call it (`test::init_service` of [`app`]): one name for the
/// Service bound every helper needs.
pub trait TestApp:
    Service<actix_http::Request, Response = ServiceResponse<Self::Body>, Error = actix_web::Error>
{
    type Body: MessageBody;
}

impl<S, B> TestApp for S
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Body = B;
}

/// A GET answered by the app: status, content type and body.
pub async fn get(app: &impl TestApp, uri: &str) -> (u16, String, Vec<u8>) {
    let resp = test::call_service(app, test::TestRequest::get().uri(uri).to_request()).await;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = test::read_body(resp).await.to_vec();
    (status, content_type, body)
}

/// A GET with request headers: status, response headers (lower-case names), body.
pub async fn get_with_headers(
    app: &impl TestApp,
    uri: &str,
    headers: &[(&str, &str)],
) -> (u16, std::collections::HashMap<String, String>, Vec<u8>) {
    let mut req = test::TestRequest::get().uri(uri);
    for (name, value) in headers {
        req = req.insert_header((*name, *value));
    }
    let resp = test::call_service(app, req.to_request()).await;
    let status = resp.status().as_u16();
    let response_headers = resp
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let body = test::read_body(resp).await.to_vec();
    (status, response_headers, body)
}

/// A GET that must answer 200 with JSON.
pub async fn get_json(app: &impl TestApp, uri: &str) -> Json {
    let (status, _, body) = get(app, uri).await;
    assert_eq!(status, 200, "GET {uri}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap_or_else(|e| panic!("GET {uri}: invalid JSON: {e}"))
}

/// Follows `next` links from `uri` and returns every feature.
pub async fn harvest(app: &impl TestApp, uri: &str) -> Vec<Json> {
    let mut features = Vec::new();
    let mut next = Some(uri.to_string());
    let mut pages = 0;
    while let Some(uri) = next.take() {
        pages += 1;
        assert!(pages < 10_000, "paging does not end");
        let page = get_json(app, &uri).await;
        features.extend(
            page["features"]
                .as_array()
                .expect("features")
                .iter()
                .cloned(),
        );
        next = page["links"]
            .as_array()
            .expect("links")
            .iter()
            .find(|l| l["rel"] == "next")
            .map(|l| {
                let href = l["href"].as_str().expect("href");
                // Links are absolute; the test service wants the path and query.
                let start = href.find("/collections").expect("path");
                href[start..].to_string()
            });
    }
    features
}

/// Status, headers (lower-case names) and JSON body (Null when not JSON) of `req`.
pub async fn send(
    app: &impl TestApp,
    req: test::TestRequest,
) -> (u16, std::collections::HashMap<String, String>, Json) {
    let resp = test::call_service(app, req.to_request()).await;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let body = test::read_body(resp).await;
    (
        status,
        headers,
        serde_json::from_slice(&body).unwrap_or(Json::Null),
    )
}
