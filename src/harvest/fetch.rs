//! Fetching from other servers as a polite client: conditional requests (ETag,
//! Last-Modified), timeouts, a size limit on what is read, retries with back-off on what may
//! pass (timeouts, 429, 5xx), and only where [`net::Policy`] allows.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use reqwest::{StatusCode, Url};

use super::net::{self, Policy, Refused};

/// How the client behaves.
#[derive(Debug, Clone)]
pub struct Settings {
    pub policy: Policy,
    /// Per request, connecting and reading included.
    pub timeout: Duration,
    /// The most one answer may hold (after decompression).
    pub max_bytes: u64,
    /// Attempts of one request, the first included.
    pub attempts: u32,
    /// The wait before the second attempt; doubled before each further one.
    pub backoff: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            policy: Policy::default(),
            timeout: Duration::from_secs(60),
            max_bytes: 1 << 30,
            attempts: 3,
            backoff: Duration::from_secs(2),
        }
    }
}

/// What went wrong with a request, said so that the source's report can show it.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: more than {max} bytes; not read further")]
    TooLarge { url: String, max: u64 },
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    #[error("writing what was fetched: {0}")]
    Io(#[from] std::io::Error),
}

impl FetchError {
    /// Whether another attempt may succeed.
    fn passing(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            Self::Transport { .. } => true,
            _ => false,
        }
    }
}

/// The validators of an answer, for the next conditional request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validators {
    fn of(headers: &HeaderMap) -> Self {
        let text = |name| {
            headers
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        Self {
            etag: text(ETAG),
            last_modified: text(LAST_MODIFIED),
        }
    }
}

/// Where an answer's body goes: memory (a page), a temporary file (a download).
#[derive(Debug)]
pub enum Body {
    Memory(Vec<u8>),
    File(tempfile::NamedTempFile),
}

impl Body {
    fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        match self {
            Self::Memory(v) => v.write_all(chunk),
            Self::File(f) => f.write_all(chunk),
        }
    }
}

/// An answer read to its end.
#[derive(Debug)]
pub enum Fetched {
    /// 304: what we have is current.
    NotModified,
    Body {
        body: Body,
        validators: Validators,
        content_type: Option<String>,
        /// Where the answer came from after redirects.
        url: Url,
    },
}

/// Resolves names with the system's resolver and keeps only the addresses the policy admits.
struct Guarded(Policy);

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let admitted = policy
                .admit(&host, found)
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(admitted.into_iter()) as Addrs)
        }) as Pin<Box<dyn Future<Output = _> + Send>>
    }
}

/// How a source proves who asks: HTTP Basic or a bearer token. Never logged.
#[derive(Clone)]
pub enum Auth {
    Basic { user: String, password: String },
    Bearer(String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Basic { .. } => "Basic(…)",
            Self::Bearer(_) => "Bearer(…)",
        })
    }
}

impl Auth {
    /// `user:password` as Basic, `Bearer TOKEN` or a bare token as Bearer.
    pub fn parse(secret: &str) -> Option<Self> {
        let secret = secret.trim();
        if secret.is_empty() {
            return None;
        }
        if let Some(token) = secret.strip_prefix("Bearer ") {
            return Some(Self::Bearer(token.trim().to_string()));
        }
        match secret.split_once(':') {
            Some((user, password)) => Some(Self::Basic {
                user: user.to_string(),
                password: password.to_string(),
            }),
            None => Some(Self::Bearer(secret.to_string())),
        }
    }
}

/// An HTTP client for harvesting.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    settings: Settings,
    auth: Option<Auth>,
}

impl Client {
    pub fn new(settings: Settings) -> Result<Self, FetchError> {
        let policy = settings.policy.clone();
        let redirects = policy.clone();
        let http = reqwest::Client::builder()
            .user_agent(concat!(
                "kreisgeo/",
                env!("CARGO_PKG_VERSION"),
                " (harvest; +https://github.com/kreisgeo)"
            ))
            .timeout(settings.timeout)
            .connect_timeout(Duration::from_secs(10).min(settings.timeout))
            // A proxy would resolve the names itself, past the policy.
            .no_proxy()
            .dns_resolver(std::sync::Arc::new(Guarded(policy)))
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= 5 {
                    attempt.error("more than 5 redirects")
                } else if let Err(e) = redirects.check(attempt.url()) {
                    attempt.error(e)
                } else {
                    attempt.follow()
                }
            }))
            .build()
            .map_err(|e| FetchError::Transport {
                url: String::new(),
                message: e.to_string(),
            })?;
        Ok(Self {
            http,
            settings,
            auth: None,
        })
    }

    /// The same client, sending `auth` with every request (reqwest drops it on a redirect to
    /// another host).
    pub fn with_auth(&self, auth: Option<Auth>) -> Self {
        Self {
            auth,
            ..self.clone()
        }
    }

    /// GETs `url` (conditionally, with `known`) into memory, retrying what may pass.
    pub async fn get(
        &self,
        url: &Url,
        accept: &str,
        known: Option<&Validators>,
    ) -> Result<Fetched, FetchError> {
        self.fetch(url, accept, known, false).await
    }

    /// GETs `url` (conditionally, with `known`) into a temporary file whose name ends as the
    /// URL's path does (the ingest knows formats by their endings), retrying what may pass.
    pub async fn download(
        &self,
        url: &Url,
        known: Option<&Validators>,
    ) -> Result<Fetched, FetchError> {
        self.fetch(url, "*/*", known, true).await
    }

    async fn fetch(
        &self,
        url: &Url,
        accept: &str,
        known: Option<&Validators>,
        to_file: bool,
    ) -> Result<Fetched, FetchError> {
        self.settings.policy.check(url)?;
        let mut wait = self.settings.backoff;
        let mut attempt = 1;
        loop {
            let body = if to_file {
                Body::File(
                    tempfile::Builder::new()
                        .prefix("kreisgeo-harvest-")
                        .suffix(&ending(url))
                        .tempfile()?,
                )
            } else {
                Body::Memory(Vec::new())
            };
            match self.once(url, accept, known, body).await {
                Err(e) if e.passing() && attempt < self.settings.attempts => {
                    tracing::info!(url = %net::without_credentials(url), error = %e, attempt, "retrying");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn once(
        &self,
        url: &Url,
        accept: &str,
        known: Option<&Validators>,
        mut body: Body,
    ) -> Result<Fetched, FetchError> {
        let shown = net::without_credentials(url);
        let transport = |e: reqwest::Error| {
            // The policy's refusal, from the resolver or a redirect, is said as such.
            let mut source: Option<&dyn std::error::Error> = Some(&e);
            while let Some(s) = source {
                if let Some(r) = s.downcast_ref::<Refused>() {
                    return FetchError::Refused(r.clone());
                }
                source = s.source();
            }
            FetchError::Transport {
                url: shown.clone(),
                message: if e.is_timeout() {
                    format!("no answer within {:?}", self.settings.timeout)
                } else {
                    error_chain(&e)
                },
            }
        };
        let mut request = self.http.get(url.clone()).header("Accept", accept);
        request = match &self.auth {
            Some(Auth::Basic { user, password }) => request.basic_auth(user, Some(password)),
            Some(Auth::Bearer(token)) => request.bearer_auth(token),
            None => request,
        };
        if let Some(v) = known {
            if let Some(etag) = &v.etag {
                request = request.header(IF_NONE_MATCH, etag);
            }
            if let Some(date) = &v.last_modified {
                request = request.header(IF_MODIFIED_SINCE, date);
            }
        }
        let mut response = request.send().await.map_err(transport)?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                url: shown,
                status: status.as_u16(),
            });
        }
        let max = self.settings.max_bytes;
        if response.content_length().is_some_and(|n| n > max) {
            return Err(FetchError::TooLarge { url: shown, max });
        }
        let validators = Validators::of(response.headers());
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let final_url = response.url().clone();
        let mut read: u64 = 0;
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            read += chunk.len() as u64;
            if read > max {
                return Err(FetchError::TooLarge { url: shown, max });
            }
            body.write(&chunk)?;
        }
        if let Body::File(f) = &mut body {
            f.flush()?;
        }
        Ok(Fetched::Body {
            body,
            validators,
            content_type,
            url: final_url,
        })
    }
}

/// The ending of the URL's last path segment (`.geojson`, `.csv`, `.zip` …), if it has one
/// of letters and digits.
fn ending(url: &Url) -> String {
    url.path_segments()
        .and_then(|mut s| s.next_back())
        .and_then(|name| {
            let dot = name.find('.')?;
            let ending = &name[dot..];
            (ending.len() <= 16
                && ending
                    .chars()
                    .all(|c| c == '.' || c.is_ascii_alphanumeric()))
            .then(|| ending.to_ascii_lowercase())
        })
        .unwrap_or_default()
}

/// An error with its causes, as one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}
