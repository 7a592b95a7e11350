//! What every request passes through, around the routes: refusals before routing (overlong or
//! malformed URLs, rate limits, a database known to be down), and after it the request id,
//! security headers, metrics and the database watch.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpMessage};

use super::error::{DatabaseDown, PoolBusy};
use super::state::AppState;
use crate::error::{Error, Result};

/// Longest request target read (path and query). A CQL2 filter of a few hundred conditions
/// fits; anything longer is refused before it costs work.
pub const MAX_URI_BYTES: usize = 16 * 1024;

/// Operational endpoints: never rate limited, never refused while the database is down (they
/// are how an operator learns of it).
fn operational(path: &str) -> bool {
    matches!(path, "/health" | "/ready" | "/metrics")
}

/// Tiles may still come from the tile cache during an outage; the rest needs the database.
fn may_serve_from_cache(path: &str) -> bool {
    path.contains("/tiles/")
}

/// `%00` in any case, or a raw NUL.
fn has_nul(raw: &str) -> bool {
    raw.contains('\0') || raw.as_bytes().windows(3).any(|w| w == b"%00")
}

/// A `..` segment, raw or percent-encoded.
fn has_dot_segment(path: &str) -> bool {
    // Read in place: every request passes here.
    path.split('/')
        .any(|segment| after_dot(segment).and_then(after_dot) == Some(""))
}

/// What follows a leading `.` or `%2e`.
fn after_dot(s: &str) -> Option<&str> {
    s.strip_prefix('.').or_else(|| {
        s.get(..3)
            .filter(|p| p.eq_ignore_ascii_case("%2e"))
            .and_then(|_| s.get(3..))
    })
}

/// Checks made before routing; an error answers at once.
pub fn before(req: &ServiceRequest) -> Result<()> {
    let target = req.uri().path_and_query().map_or("", |p| p.as_str());
    if target.len() > MAX_URI_BYTES {
        return Err(Error::UriTooLong { max: MAX_URI_BYTES });
    }
    let path = req.uri().path();
    if has_nul(path) {
        return Err(Error::invalid("path", "NUL bytes (%00) are not allowed"));
    }
    if req.uri().query().is_some_and(has_nul) {
        return Err(Error::invalid("query", "NUL bytes (%00) are not allowed"));
    }
    if has_dot_segment(path) {
        return Err(Error::invalid("path", "'..' segments are not allowed"));
    }
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return Ok(());
    };

    // A stopping node takes nothing new but liveness checks: a load balancer retries
    // elsewhere (and `/ready` tells it to stop sending).
    if state.in_flight.is_draining() && path != "/health" {
        return Err(Error::ShuttingDown);
    }
    if operational(path) {
        return Ok(());
    }
    // Links and IRIs are built from the host and scheme the request names: refuse what is not
    // one before anything is built or cached from it (health checks build nothing).
    if state.config.public_url.is_none() {
        super::client::check_authority(req.request(), state.config.trust_forwarded)?;
    }
    if let Some(limit) = &state.rate_limit {
        limit.check(req)?;
    }
    if state.watch.is_down() && !may_serve_from_cache(path) {
        return Err(Error::Unavailable(
            "the database is not reachable; retry shortly".into(),
        ));
    }
    Ok(())
}

/// Handles the request once its client has a place (`api::share`), or refuses it with 503.
/// Operational endpoints (how an operator sees a busy server) take no place.
pub async fn client_share(
    req: ServiceRequest,
    next: actix_web::middleware::Next<BoxBody>,
) -> std::result::Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let share = req
        .app_data::<web::Data<AppState>>()
        .filter(|_| !operational(req.path()))
        .map(|state| {
            let client = super::client::address(req.request(), state.config.trust_forwarded);
            (state.share.clone(), client)
        });
    let Some((share, client)) = share else {
        return next.call(req).await;
    };
    let state = req.app_data::<web::Data<AppState>>().cloned();
    match share.enter(client).await {
        Ok(place) => {
            let mut res = next.call(req).await?;
            if let Some(state) =
                state.filter(|_| res.response().extensions().contains::<PoolBusy>())
            {
                res = busy_or_down(res, &state).await;
            }
            // A small body already in memory (a tile, a document) frees the place at once;
            // a large or streamed one (a page of features) holds it until it is sent or
            // dropped, so a client that stops reading keeps its own place taken, and its
            // pages in memory, never anyone else's.
            let small = match actix_web::body::MessageBody::size(res.response().body()) {
                actix_web::body::BodySize::None => true,
                actix_web::body::BodySize::Sized(n) => n <= HELD_BODY_BYTES,
                actix_web::body::BodySize::Stream => false,
            };
            if small {
                return Ok(res);
            }
            Ok(res.map_body(|_, body| {
                BoxBody::new(Guarded {
                    body,
                    _guard: place,
                })
            }))
        }
        Err(e) => Ok(req.error_response(e)),
    }
}

/// A request found no free connection: the pool was busy, or the database is gone (a pool
/// keeps trying to connect until its timeout). Asked on a connection of its own, the database
/// decides which the client is told.
async fn busy_or_down(
    mut res: ServiceResponse<BoxBody>,
    state: &AppState,
) -> ServiceResponse<BoxBody> {
    res.response_mut().extensions_mut().remove::<PoolBusy>();
    if super::watch::ping_direct(&state.pool.connect_options()).await {
        return res;
    }
    let (req, _) = res.into_parts();
    let down = Error::Unavailable("the database is not reachable; retry shortly".into());
    ServiceResponse::new(req, actix_web::ResponseError::error_response(&down))
}

/// Bodies up to this size release their client's place when the handler ends.
const HELD_BODY_BYTES: u64 = 1 << 20;

/// Responses not yet sent to the end, bodies included: a graceful shutdown waits for them.
/// Once draining, new requests are refused and connections closed after their response.
#[derive(Debug, Clone, Default)]
pub struct InFlight(Arc<AtomicUsize>, Arc<std::sync::atomic::AtomicBool>);

impl InFlight {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }

    fn track(&self) -> InFlightGuard {
        self.0.fetch_add(1, Ordering::AcqRel);
        InFlightGuard(self.0.clone())
    }

    /// From now on new requests answer 503 `ShuttingDown` and every connection closes after
    /// its response, so that keep-alive clients (a load balancer's pool) move to other nodes.
    pub fn start_draining(&self) {
        self.1.store(true, Ordering::Release);
    }

    pub fn is_draining(&self) -> bool {
        self.1.load(Ordering::Acquire)
    }
}

/// Counts one response until its body is dropped: sent in full, or the client gone.
struct InFlightGuard(Arc<AtomicUsize>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A body that holds `G` (a count, a place) until it is sent or dropped.
struct Guarded<G> {
    body: BoxBody,
    _guard: G,
}

impl<G: Unpin> actix_web::body::MessageBody for Guarded<G> {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> actix_web::body::BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<std::result::Result<bytes::Bytes, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_next(cx)
    }
}

/// Errors that actix answers itself (a body over an extractor's limit, a malformed JSON body)
/// come as plain text: they get the JSON body every other error has.
fn json_errors(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = res.status();
    let plain = !res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    let Some(description) = res
        .response()
        .error()
        .filter(|_| plain && (status.is_client_error() || status.is_server_error()))
        .map(|e| {
            if status.is_server_error() {
                "internal server error; the details are in the server log".to_string()
            } else {
                e.to_string()
            }
        })
    else {
        return res;
    };
    let code = match status.as_u16() {
        413 => "PayloadTooLarge",
        415 => "UnsupportedMediaType",
        404 => "NotFound",
        s if s >= 500 => "ServerError",
        _ => "InvalidParameterValue",
    };
    let body = serde_json::to_vec(&super::error::ErrorBody {
        status: status.as_u16(),
        code,
        description,
        parameter: status
            .is_client_error()
            .then(|| "body".to_string())
            .filter(|_| status.as_u16() != 404),
    })
    .unwrap_or_default();
    res.map_body(|head, _| {
        head.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        BoxBody::new(body)
    })
}

/// Finishes every response: request id, security headers, metrics; a response that failed
/// because the database was down starts the database watch.
pub fn after(res: ServiceResponse<BoxBody>, started: Instant) -> ServiceResponse<BoxBody> {
    let route = res.request().match_pattern();
    after_route(res, started, route.as_deref().unwrap_or("unmatched"))
}

/// [`after`] for a request whose route pattern the caller knows (it was not routed).
pub fn after_route(
    res: ServiceResponse<BoxBody>,
    started: Instant,
    route: &str,
) -> ServiceResponse<BoxBody> {
    let mut res = json_errors(res);
    let state = res.request().app_data::<web::Data<AppState>>().cloned();
    if let Some(state) = &state {
        let extensions = res.response().extensions();
        if extensions.get::<DatabaseDown>().is_some() {
            state
                .watch
                .tripped(&state.pool, "a request found the database unreachable");
        } else if extensions.get::<PoolBusy>().is_some() {
            state.watch.verify(&state.pool);
        }
    }
    let request_id = res
        .request()
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .and_then(|id| {
            // Formatted on the stack: one header value per response, no temporary String.
            let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
            HeaderValue::from_bytes(id.hyphenated().encode_lower(&mut text).as_bytes()).ok()
        });
    let method = res.request().method().clone();
    let status = res.status().as_u16();
    if state.as_ref().is_some_and(|s| s.in_flight.is_draining()) {
        res.response_mut()
            .head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
    }
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = res.headers_mut();
    if let Some(id) = request_id {
        headers.insert(header::HeaderName::from_static("x-request-id"), id);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if html {
        // An external basemap style's origin is admitted, nothing else.
        let external = state
            .as_ref()
            .and_then(|s| s.config.basemap_style.as_deref())
            .and_then(|url| crate::basemap::external_origin(url).ok());
        let csp = crate::basemap::content_security_policy(external.as_deref());
        if let Ok(csp) = HeaderValue::from_str(&csp) {
            headers.insert(header::CONTENT_SECURITY_POLICY, csp);
        }
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        );
    }
    crate::metrics::record_request(route, &method, status, started.elapsed());
    match state {
        Some(state) => {
            let guard = state.in_flight.track();
            res.map_body(|_, body| {
                BoxBody::new(Guarded {
                    body,
                    _guard: guard,
                })
            })
        }
        None => res,
    }
}

#[cfg(test)]
mod tests {
    use super::{has_dot_segment, has_nul};

    #[test]
    fn refusals() {
        assert!(has_nul("/collections/a%00b"));
        assert!(has_nul("filter=x%00"));
        assert!(!has_nul("/collections/a100"));
        assert!(has_dot_segment("/collections/../admin"));
        assert!(has_dot_segment("/collections/%2E%2e/admin"));
        assert!(!has_dot_segment("/collections/a..b"));
        assert!(has_dot_segment("/a/.%2E"));
        assert!(has_dot_segment(".."));
        assert!(!has_dot_segment("/a/./b"));
        assert!(!has_dot_segment("/a/.../b"));
        assert!(!has_dot_segment("/a/%2e%2e%2e/b"));
        assert!(!has_dot_segment("/a/%2/b"));
        assert!(!has_dot_segment("/a/ä./b"));
    }
}
