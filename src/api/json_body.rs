//! JSON request bodies of the admin API: read bounded, refused in JSON with where they are
//! wrong.

use actix_web::{web, HttpRequest};
use futures::StreamExt;

use crate::error::{Error, Result};

/// Largest metadata document read: a hundred times a rich one.
const MAX_JSON_BYTES: u64 = 1 << 20;

/// Reads a JSON request body of at most [`MAX_JSON_BYTES`]; the error says where it is wrong.
/// A body declared as anything but JSON is refused (415) rather than guessed at.
pub(crate) async fn json_body<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    payload: &mut web::Payload,
) -> Result<T> {
    if let Some(declared) = req.headers().get(actix_web::http::header::CONTENT_TYPE) {
        let essence = declared
            .to_str()
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(Error::UnsupportedMediaType(format!(
                "the body must be application/json, not '{essence}'"
            )));
        }
    }
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| Error::invalid("body", format!("body interrupted: {e}")))?;
        if (body.len() + chunk.len()) as u64 > MAX_JSON_BYTES {
            return Err(Error::TooLarge {
                max: MAX_JSON_BYTES,
            });
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| {
        Error::invalid(
            "body",
            format!("{e} (line {}, column {})", e.line(), e.column()),
        )
    })
}
