//! Streamed responses commit to their status with the first byte. A stream whose first item
//! already fails (the database went away between the request's checks and its rows) is turned
//! into an error response here instead of a 200 that breaks off.

use futures::stream::{BoxStream, StreamExt};

use crate::error::Result;

/// `rows` with its first item already fetched, or the error that item was.
pub async fn started<T: Send + 'static>(
    rows: BoxStream<'static, Result<T>>,
) -> Result<BoxStream<'static, Result<T>>> {
    let mut rows = rows.peekable();
    if let Some(Err(_)) = std::pin::Pin::new(&mut rows).peek().await {
        if let Some(Err(e)) = rows.next().await {
            return Err(e);
        }
    }
    Ok(rows.boxed())
}
