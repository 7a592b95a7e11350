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

fn classify(e: &Error) -> (StatusCode, &'static str) {
    match e {
        Error::NotFound { .. } => (StatusCode::NOT_FOUND, "NotFound"),
        Error::InvalidParameter { .. } => (StatusCode::BAD_REQUEST, "InvalidParameterValue"),
        Error::Gone(_) => (StatusCode::GONE, "Gone"),
        Error::NotReady(_) => (StatusCode::SERVICE_UNAVAILABLE, "NotReady"),
        Error::RangeNotSatisfiable { .. } => {
            (StatusCode::RANGE_NOT_SATISFIABLE, "RangeNotSatisfiable")
        }
        Error::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "Unauthorized"),
        Error::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge"),
        Error::Ingest(IngestError::Io { .. }) => (StatusCode::INTERNAL_SERVER_ERROR, "ServerError"),
        Error::Ingest(_) => (StatusCode::UNPROCESSABLE_ENTITY, "InvalidInput"),
        Error::Database(
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed,
        ) => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "ServerError"),
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        classify(self).0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, code) = classify(self);
        let description = if let Error::NotReady(message) = self {
            message.clone()
        } else if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
            match status {
                StatusCode::SERVICE_UNAVAILABLE => {
                    "the database is not reachable; retry shortly".to_string()
                }
                _ => "internal server error; the details are in the server log".to_string(),
            }
        } else {
            self.to_string()
        };
        let parameter = match self {
            Error::InvalidParameter { parameter, .. } => Some(parameter.clone()),
            _ => None,
        };
        let mut response = HttpResponse::build(status);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header(("Retry-After", "5"));
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
