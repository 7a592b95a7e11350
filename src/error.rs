//! The one error type of kreisgeo's library layers.
//!
//! Every layer reports through [`Error`]; it knows nothing about HTTP. The mapping to status codes
//! and JSON bodies lives in exactly one place, `api::error`.

use crate::db::embedded::EmbeddedError;
use crate::ingest::IngestError;

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in kreisgeo, grouped by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A named thing (collection, feature, tile matrix set …) does not exist.
    #[error("{what} '{id}' not found")]
    NotFound { what: &'static str, id: String },

    /// A request parameter is malformed or out of range; `parameter` names it.
    #[error("invalid parameter '{parameter}': {message}")]
    InvalidParameter { parameter: String, message: String },

    /// No or no valid API key for an admin endpoint.
    #[error("{0}")]
    Unauthorized(String),

    /// A valid API key whose scope does not cover the request.
    #[error("{0}")]
    Forbidden(String),

    /// An upload larger than the configured maximum.
    #[error("the upload exceeds the maximum of {max} bytes")]
    TooLarge { max: u64 },

    /// The thing existed once but is no longer kept (e.g. a paging cursor on a pruned version).
    #[error("{0}")]
    Gone(String),

    /// A condition the client set does not hold (e.g. the version it expects is not served).
    #[error("{0}")]
    PreconditionFailed(String),

    /// The resource is busy with the same work (a source's run already under way); retry
    /// when it is done.
    #[error("{0}")]
    Conflict(String),

    /// Not a failure: the client's cached copy is current, answered 304 with these
    /// validators before any work is done (`api::cache::Validators::check`).
    #[error("the client's copy is current")]
    NotModified {
        etag: String,
        last_modified: Option<std::time::SystemTime>,
    },

    /// This process is stopping (SIGTERM): another node, or a retry, answers.
    #[error("this node is shutting down; retry, another node will answer")]
    ShuttingDown,

    /// Something that will exist shortly (a download still being built); retry later.
    #[error("{0}")]
    NotReady(String),

    /// The database cannot be reached (or is restarting); retry shortly.
    #[error("{0}")]
    Unavailable(String),

    /// No database connection was free in time (the pool busy, or this client's share of it
    /// taken by its own requests): this request only, never a sign that the database is down.
    #[error("{0}")]
    Busy(String),

    /// A query ran past the statement timeout (seen by a request that shared its result).
    #[error("the query ran past the statement timeout")]
    TimedOut,

    /// The client sent more requests than its rate limit allows; retry after the given
    /// seconds.
    #[error("too many requests: at most {per_second} a second (bursts of {burst}); retry in {retry_after} s")]
    TooManyRequests {
        per_second: u32,
        burst: u32,
        retry_after: u64,
    },

    /// The client has more requests in flight and waiting than its share allows (a flood
    /// from one address); retry in a second.
    #[error("{in_flight} requests from your address are being handled and {waiting} more are waiting; send fewer at once (retry in 1 s)")]
    TooManyInFlight { in_flight: usize, waiting: usize },

    /// A request target longer than the server reads.
    #[error("the URL is longer than {max} bytes")]
    UriTooLong { max: usize },

    /// A request head over the parser's limits (answered below actix-web, api::connection).
    #[error("the request head is larger than 128 KiB or has more than 96 header fields")]
    HeadTooLarge,

    /// Bytes that are not an HTTP/1.1 request (answered below actix-web, api::connection).
    #[error("the request is not valid HTTP/1.1: its request line or a header field is malformed")]
    MalformedRequest,

    /// The request head did not arrive in time (answered below actix-web, api::connection).
    #[error("the request head did not arrive within {seconds} s")]
    RequestTimeout { seconds: f64 },

    /// A request body in a media type the endpoint does not take.
    #[error("{0}")]
    UnsupportedMediaType(String),

    /// A byte range outside the resource, which is `length` bytes long.
    #[error("the range is outside the {length} bytes of the file")]
    RangeNotSatisfiable { length: u64 },

    /// Ingest failed; the dataset's served version is unchanged.
    #[error(transparent)]
    Ingest(#[from] IngestError),

    /// The managed PostgreSQL instance could not be set up or started.
    #[error(transparent)]
    Embedded(#[from] EmbeddedError),

    /// Migrations could not be applied.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    /// Any other database failure. Details go to the log, never to HTTP clients.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),

    /// A bug or an impossible state: logged in full, answered as 500.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Shorthand for [`Error::InvalidParameter`].
    pub fn invalid(parameter: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidParameter {
            parameter: parameter.into(),
            message: message.into(),
        }
    }

    /// Whether the database was unreachable, restarting or shutting down — not whether the
    /// request was wrong. Such failures answer 503 and make the server watch the database
    /// until it is back.
    pub fn is_database_down(&self) -> bool {
        match self {
            Error::Unavailable(_) => true,
            Error::Database(e) => database_down(e),
            _ => false,
        }
    }

    /// Whether the connection broke under the query (an I/O or protocol error), as when the
    /// server closed it since it was last used.
    pub fn is_connection_lost(&self) -> bool {
        matches!(
            self,
            Error::Database(sqlx::Error::Io(_) | sqlx::Error::Protocol(_))
        )
    }

    /// Whether no connection was free in time: a 503 for this request only.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            Error::Busy(_) | Error::Database(sqlx::Error::PoolTimedOut)
        )
    }

    /// Whether a query ran past the statement timeout.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::TimedOut => true,
            Error::Database(sqlx::Error::Database(e)) => e.code().as_deref() == Some("57014"),
            _ => false,
        }
    }

    /// The same failure for another waiter of a shared computation (a tile that concurrent
    /// requests asked for at once): same class, same status, message kept.
    pub fn for_another(shared: &Error) -> Error {
        match shared {
            Error::NotFound { what, id } => Error::not_found(what, id.clone()),
            Error::InvalidParameter { parameter, message } => {
                Error::invalid(parameter.clone(), message.clone())
            }
            e if e.is_busy() => Error::Busy(e.to_string()),
            e if e.is_database_down() => Error::Unavailable(e.to_string()),
            e if e.is_timeout() => Error::TimedOut,
            e => Error::Internal(e.to_string()),
        }
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(what: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            what,
            id: id.into(),
        }
    }
}

/// Connection failures, and SQLSTATE classes 08 (connection exception) and 57P (the server
/// shutting down, restarting or not yet accepting connections). A pool that timed out is not
/// one: its connections may all be busy; the database watch finds out on a connection of its
/// own.
fn database_down(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}
