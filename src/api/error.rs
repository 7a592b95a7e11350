//! The one table from [`Error`] to HTTP status and body.
//!
//! Bodies follow the OGC exception shape (`code`, `description`) plus `status` and, for bad
//! parameters, the `parameter` at fault. Database details go to the log, never to the client.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::Error;
use crate::ingest::IngestError;

/// An error response body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// HTTP status code.
    #[schema(example = 400)]
    pub status: u16,
    /// Machine-readable error code.
    #[schema(example = "InvalidParameterValue")]
    pub code: &'static str,
    /// What was wrong, for people.
    #[schema(example = "invalid parameter 'bbox': expected 4 or 6 numbers, got 3")]
    pub description: String,
    /// The request parameter at fault, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "bbox")]
    pub parameter: Option<String>,
}

/// Marks a response that failed because the database was down.
#[derive(Debug, Clone, Copy)]
pub struct DatabaseDown;

/// Marks a response that found no free connection: the watch checks, on a connection of its
/// own, whether that was an outage.
#[derive(Debug, Clone, Copy)]
pub struct PoolBusy;

/// The status and OGC exception code of `e`.
pub fn classify(e: &Error) -> (StatusCode, &'static str) {
    match e {
        Error::NotFound { .. } => (StatusCode::NOT_FOUND, "NotFound"),
        Error::InvalidParameter { .. } => (StatusCode::BAD_REQUEST, "InvalidParameterValue"),
        Error::Gone(_) => (StatusCode::GONE, "Gone"),
        Error::NotModified { .. } => (StatusCode::NOT_MODIFIED, "NotModified"),
        Error::ShuttingDown => (StatusCode::SERVICE_UNAVAILABLE, "ShuttingDown"),
        Error::PreconditionFailed(_) => (StatusCode::PRECONDITION_FAILED, "PreconditionFailed"),
        Error::Conflict(_) => (StatusCode::CONFLICT, "Conflict"),
        Error::NotReady(_) => (StatusCode::SERVICE_UNAVAILABLE, "NotReady"),
        Error::RangeNotSatisfiable { .. } => {
            (StatusCode::RANGE_NOT_SATISFIABLE, "RangeNotSatisfiable")
        }
        Error::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "Unauthorized"),
        Error::Forbidden(_) => (StatusCode::FORBIDDEN, "Forbidden"),
        Error::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge"),
        Error::Ingest(IngestError::Io { .. }) => (StatusCode::INTERNAL_SERVER_ERROR, "ServerError"),
        Error::Ingest(_) => (StatusCode::UNPROCESSABLE_ENTITY, "InvalidInput"),
        Error::UriTooLong { .. } => (StatusCode::URI_TOO_LONG, "UriTooLong"),
        Error::HeadTooLarge => (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "RequestHeaderFieldsTooLarge",
        ),
        Error::MalformedRequest => (StatusCode::BAD_REQUEST, "BadRequest"),
        Error::RequestTimeout { .. } => (StatusCode::REQUEST_TIMEOUT, "RequestTimeout"),
        Error::UnsupportedMediaType(_) => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType")
        }
        Error::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
        Error::TooManyRequests { .. } | Error::TooManyInFlight { .. } => {
            (StatusCode::TOO_MANY_REQUESTS, "TooManyRequests")
        }
        e if e.is_busy() => (StatusCode::SERVICE_UNAVAILABLE, "ServerBusy"),
        e if e.is_database_down() => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
        e if e.is_timeout() => (StatusCode::SERVICE_UNAVAILABLE, "Timeout"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "ServerError"),
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        classify(self).0
    }

    fn error_response(&self) -> HttpResponse {
        if let Error::NotModified {
            etag,
            last_modified,
        } = self
        {
            return super::cache::Validators::not_modified_response(etag, *last_modified);
        }
        let (status, code) = classify(self);
        let description = match self {
            Error::NotReady(message) => message.clone(),
            e if e.is_timeout() => {
                tracing::warn!(error = %self, "query cancelled by the statement timeout");
                "the query took longer than the server allows; narrow it (bbox, limit, filter) \
                 or retry later"
                    .to_string()
            }
            Error::Busy(message) => message.clone(),
            e if e.is_busy() => {
                tracing::warn!(error = %self, "no database connection free in time");
                "the server is busy; retry shortly".to_string()
            }
            e if e.is_database_down() => {
                tracing::warn!(error = %self, "database unavailable");
                "the database is not reachable; retry shortly".to_string()
            }
            _ if status.is_server_error() => {
                tracing::error!(error = %self, "request failed");
                "internal server error; the details are in the server log".to_string()
            }
            _ => self.to_string(),
        };
        let parameter = match self {
            Error::InvalidParameter { parameter, .. } => Some(parameter.clone()),
            _ => None,
        };
        let mut response = HttpResponse::build(status);
        match self {
            Error::TooManyRequests { retry_after, .. } => {
                response.insert_header(("Retry-After", retry_after.to_string()));
            }
            Error::TooManyInFlight { .. } => {
                response.insert_header(("Retry-After", "1"));
            }
            e if e.is_busy() => {
                response.insert_header(("Retry-After", "1"));
                if matches!(e, Error::Database(sqlx::Error::PoolTimedOut)) {
                    response.extensions_mut().insert(PoolBusy);
                }
            }
            e if e.is_database_down() => {
                response.insert_header(("Retry-After", "2"));
                // Tells the middleware to watch the database until it answers again.
                response.extensions_mut().insert(DatabaseDown);
            }
            _ if status == StatusCode::SERVICE_UNAVAILABLE => {
                response.insert_header(("Retry-After", "5"));
            }
            _ => {}
        }
        if let Error::RangeNotSatisfiable { length } = self {
            response.insert_header(("Content-Range", format!("bytes */{length}")));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header(("WWW-Authenticate", "Bearer realm=\"kreisgeo admin\""));
        }
        response.json(ErrorBody {
            status: status.as_u16(),
            code,
            description,
            parameter,
        })
    }
}

/// The status and JSON body of a client error the connection layer answers itself, where no
/// response builder runs (api::connection).
pub fn plain_body(e: &Error) -> (StatusCode, Vec<u8>) {
    let (status, code) = classify(e);
    let body = ErrorBody {
        status: status.as_u16(),
        code,
        description: e.to_string(),
        parameter: None,
    };
    (status, serde_json::to_vec(&body).unwrap_or_default())
}

/// An error of the CKAN Action API (`/api/3/action/…`), answered in CKAN's envelope
/// (`{"help", "success": false, "error": {"__type", "message"}}`) with CKAN's status codes, so
/// that CKAN clients understand it.
#[derive(Debug)]
pub struct CkanError {
    pub help: String,
    pub error: Error,
}

impl std::fmt::Display for CkanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl ResponseError for CkanError {
    fn status_code(&self) -> StatusCode {
        match &self.error {
            // CKAN answers an unknown action with 400, validation errors with 409 Conflict.
            Error::InvalidParameter { parameter, .. } if parameter == "action" => {
                StatusCode::BAD_REQUEST
            }
            Error::InvalidParameter { .. } => StatusCode::CONFLICT,
            other => classify(other).0,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let error = match &self.error {
            Error::NotFound { what, .. } => serde_json::json!({
                "__type": "Not Found Error",
                "message": format!("Not found: {what}"),
            }),
            Error::InvalidParameter { message, .. } if status == StatusCode::BAD_REQUEST => {
                serde_json::json!({"__type": "Bad Request", "message": message})
            }
            Error::InvalidParameter { parameter, message } => serde_json::json!({
                "__type": "Validation Error",
                parameter.clone(): [message],
            }),
            other if status.is_server_error() => {
                tracing::error!(error = %other, "CKAN API request failed");
                serde_json::json!({
                    "__type": "Internal Server Error",
                    "message": "internal server error; the details are in the server log",
                })
            }
            other => serde_json::json!({"__type": "Bad Request", "message": other.to_string()}),
        };
        HttpResponse::build(status).json(serde_json::json!({
            "help": self.help,
            "success": false,
            "error": error,
        }))
    }
}
