//! The span of each request: its id, and — when `tracing_actix_web` is enabled at INFO — the
//! access-log line written when it closes. tracing-actix-web's default span computes its
//! fields (route, connection info, user agent) before it asks whether anyone listens; here
//! they are computed only when the span is enabled, so that turning the access log off
//! (`RUST_LOG=…,tracing_actix_web=warn`) also takes its cost away (about a sixth of the CPU
//! of a tile cache hit).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

pub struct LeanRootSpan;

impl RootSpanBuilder for LeanRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        // The field values are evaluated inside the macro only when the span is enabled.
        tracing::info_span!(
            target: "tracing_actix_web",
            "HTTP request",
            http.method = %request.method(),
            http.route = %request.match_pattern().unwrap_or_else(|| "default".into()),
            http.client_ip = %crate::api::client::peer(request.request()).map(|a| a.to_string()).unwrap_or_default(),
            http.forwarded_for = %crate::api::client::forwarded_for(request.request(), trusted(request))
                .map(|a| a.to_string())
                .unwrap_or_default(),
            http.user_agent = %request
                .headers()
                .get("User-Agent")
                .and_then(|h| h.to_str().ok())
                .unwrap_or(""),
            http.target = %request.uri().path_and_query().map_or("", actix_http::uri::PathAndQuery::as_str),
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            request_id = %request
                .extensions()
                .get::<RequestId>()
                .map(ToString::to_string)
                .unwrap_or_default(),
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// Whether the proxy in front is trusted with the client's address.
fn trusted(request: &ServiceRequest) -> bool {
    request
        .app_data::<actix_web::web::Data<crate::api::state::AppState>>()
        .is_some_and(|s| s.config.trust_forwarded)
}
