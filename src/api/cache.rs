//! HTTP caching: validators (ETag, Last-Modified) derived from the dataset version, answers 304
//! before any query runs, and Cache-Control. A version never changes once loaded, so a response
//! is identified by the version and the request (path, query, base URL).

use std::time::{Duration, SystemTime};

use actix_web::http::header::{self, HttpDate};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// How long clients and proxies may reuse a data response without asking again. Short,
/// because a new version may arrive any time; revalidation with the ETag is cheap.
pub const MAX_AGE: Duration = Duration::from_secs(60);

/// `Cache-Control` of versioned responses ([`MAX_AGE`]).
const CACHE_CONTROL: &str = "public, max-age=60";
const _: () = assert!(MAX_AGE.as_secs() == 60, "CACHE_CONTROL spells out MAX_AGE");

/// The validators of one response.
#[derive(Debug, Clone)]
pub struct Validators {
    etag: String,
    last_modified: Option<SystemTime>,
}

impl Validators {
    /// Validators of a response that depends on `state` (e.g. the served versions) and on the
    /// request's path and query, with links under `base`.
    pub fn new(req: &HttpRequest, base: &str, state: &str, last_modified: Option<&str>) -> Self {
        let mut hasher = Sha256::new();
        // Accept and Accept-Language choose between JSON and HTML pages and their language:
        // each representation has a tag of its own.
        let header = |name| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
        };
        let negotiated = [
            header(actix_web::http::header::ACCEPT),
            header(actix_web::http::header::ACCEPT_LANGUAGE),
        ];
        for part in [state, base, req.path(), req.query_string()]
            .into_iter()
            .chain(negotiated)
        {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        let digest = hasher.finalize();
        Self {
            // Weak: the compression middleware may change the bytes, not the content.
            etag: format!("W/\"{}\"", hex::encode(&digest[..12])),
            last_modified: last_modified.and_then(|t| humantime::parse_rfc3339(t).ok()),
        }
    }

    /// Validators of a response about `collections` (their ids and versions), e.g. a listing.
    pub fn for_collections(
        req: &HttpRequest,
        base: &str,
        collections: &[crate::catalog::Collection],
    ) -> Self {
        let served: String = collections
            .iter()
            .map(|c| format!("{}={};", c.id, c.version.id))
            .collect();
        let newest = collections
            .iter()
            .map(|c| c.version.created_at.as_str())
            .max();
        Self::new(req, base, &served, newest)
    }

    /// Validators with a strong ETag the caller guarantees (the bytes behind it never change,
    /// as with a cached tile of a version), and the version's time as Last-Modified.
    pub fn strong(etag: String, last_modified: Option<&str>) -> Self {
        Self {
            etag,
            last_modified: last_modified.and_then(|t| humantime::parse_rfc3339(t).ok()),
        }
    }

    /// Validators of a response computed from one dataset version alone.
    pub fn for_version(req: &HttpRequest, base: &str, version: &crate::catalog::Version) -> Self {
        Self::new(
            req,
            base,
            &format!("v{}", version.id),
            Some(&version.created_at),
        )
    }

    /// The start of a 200 answer carrying these validators, or, when the client's copy is
    /// current (If-None-Match first, as RFC 9110 says), [`Error::NotModified`], which the one
    /// error table answers with a 304: `let mut response = validators.check(&req)?;`.
    pub fn check(&self, req: &HttpRequest) -> Result<HttpResponseBuilder> {
        if self.is_current(req) {
            return Err(Error::NotModified {
                etag: self.etag.clone(),
                last_modified: self.last_modified,
            });
        }
        let mut response = HttpResponse::Ok();
        self.apply(&mut response);
        Ok(response)
    }

    fn is_current(&self, req: &HttpRequest) -> bool {
        let headers = req.headers();
        if let Some(inm) = headers.get(header::IF_NONE_MATCH) {
            let tag = opaque(&self.etag);
            inm.to_str()
                .unwrap_or_default()
                .split(',')
                .any(|t| t.trim() == "*" || opaque(t.trim()) == tag)
        } else if let (Some(ims), Some(modified)) =
            (headers.get(header::IF_MODIFIED_SINCE), self.last_modified)
        {
            ims.to_str()
                .ok()
                .and_then(|v| v.parse::<HttpDate>().ok())
                .is_some_and(|since| SystemTime::from(since) >= modified)
        } else {
            false
        }
    }

    /// The 304 of [`Error::NotModified`].
    pub fn not_modified_response(etag: &str, last_modified: Option<SystemTime>) -> HttpResponse {
        let mut response = HttpResponse::NotModified();
        Self {
            etag: etag.to_string(),
            last_modified,
        }
        .apply(&mut response);
        response.finish()
    }

    /// Sets ETag, Last-Modified and Cache-Control.
    pub fn apply(&self, response: &mut HttpResponseBuilder) {
        response.insert_header((header::ETAG, self.etag.clone()));
        if let Some(modified) = self.last_modified {
            response.insert_header((header::LAST_MODIFIED, HttpDate::from(modified).to_string()));
        }
        response.insert_header((header::CACHE_CONTROL, CACHE_CONTROL));
    }
}

/// The opaque part of an entity tag, for weak comparison.
fn opaque(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}
