//! `GET /collections/{id}/downloads` and `…/downloads/{file}`: the bulk downloads of the served
//! version, with single byte ranges (RFC 9110), so that FlatGeobuf clients read a bounding box
//! through the index, and interrupted downloads resume.

use actix_web::http::header::{self, ContentEncoding};
use actix_web::http::StatusCode;
use actix_web::{get, web, HttpRequest, HttpResponse, HttpResponseBuilder};

use super::TAG_OPEN_DATA;
use crate::api::cache::Validators;
use crate::api::request::CollectionRequest;
use crate::api::state::{AppState, MinVersion};
use crate::catalog::Version;
use crate::downloads::store;
use crate::downloads::FileKind;
use crate::error::{Error, Result};
use crate::features::params::FormatParams;
use crate::html::answer;
use crate::ogc::{media, Link};

/// Downloads
///
/// The files of the served version: GeoJSON, CSV, FlatGeobuf (with its spatial index) and
/// GeoPackage in CRS84, FlatGeobuf and GeoPackage also in EPSG:25832; with size, SHA-256 and
/// feature count. Built in the background after each new version; until then the list is
/// shorter.
#[utoipa::path(
    tag = TAG_OPEN_DATA,
    params(("collectionId" = String, Path, description = "Collection (dataset) id", example = "aed"), FormatParams),
    responses(
        (status = 200, description = "The files", body = crate::ogc::DownloadsDoc),
        (status = 404, description = "No such collection", body = crate::api::error::ErrorBody)
    )
)]
#[get("/collections/{collectionId}/downloads")]
pub async fn get_downloads(
    req: HttpRequest,
    state: web::Data<AppState>,
    doc: CollectionRequest,
) -> Result<HttpResponse> {
    let CollectionRequest {
        format,
        collection,
        base,
    } = doc;
    let id = &collection.id;
    let files = store::files_of(&state.pool, &[collection.version.id]).await?;
    let downloads = crate::downloads::listing::listing(&base, id, &files);
    let doc = crate::ogc::DownloadsDoc {
        downloads,
        links: vec![
            Link::new(
                format!("{base}/collections/{id}/downloads"),
                "self",
                media::JSON,
                "The downloads",
            ),
            Link::to_collection(&base, id),
            Link::new(
                format!("{base}/catalog/datasets/{id}"),
                "describedby",
                media::JSON,
                "The dataset's metadata (DCAT-AP.de)",
            ),
        ],
    };
    let title = format!("{} – Downloads", collection.title);
    answer(format, &req, HttpResponse::Ok(), (&title, &title), &doc)
}

/// Download a file
///
/// One file of the served version, streamed; `Range: bytes=…` answers 206 with that part
/// (one range; 416 outside the file), `If-Range` with the ETag resumes safely. The ETag is
/// the file's SHA-256. 503 with `Retry-After` while the file of a new version is being built.
#[utoipa::path(
    tag = TAG_OPEN_DATA,
    params(
        ("collectionId" = String, Path, description = "Collection (dataset) id", example = "aed"),
        ("file" = String, Path, description = "File name from the list", example = "aed.fgb"),
        MinVersion
    ),
    responses(
        (status = 304, description = "Not modified: the `If-None-Match` or `If-Modified-Since` validators still hold"),
        (status = 200, description = "The file", content(
            (Vec<u8> = "application/flatgeobuf"), (Vec<u8> = "application/geopackage+sqlite3"),
            (String = "application/geo+json"), (String = "text/csv")
        )),
        (status = 206, description = "The requested range"),
        (status = 404, description = "No such collection or file", body = crate::api::error::ErrorBody),
        (status = 416, description = "The range is outside the file", body = crate::api::error::ErrorBody),
        (status = 503, description = "Still being built", body = crate::api::error::ErrorBody)
    )
)]
#[get("/collections/{collectionId}/downloads/{file}")]
pub async fn get_download(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (id, name) = path.into_inner();
    let (collection, _) = state.served(&req, &id).await?;
    let kind =
        FileKind::from_file_name(&id, &name).ok_or_else(|| Error::not_found("download", &name))?;
    let file = built_file(&state, &collection.version, kind, &name).await?;
    let (mut response, start, end) = file_head(&req, &file, &name, kind)?;
    // The file's row was read on the primary just now; its bytes may come from a replica
    // that has replayed as far.
    let lsn = state.catalog_lsn().await?;
    let bytes = state
        .read(lsn, |pool| {
            crate::api::streaming::started(store::read(pool, file.id, start, end))
        })
        .await?;
    Ok(response.streaming(bytes))
}

/// The stored file of `kind` of the version; 503 while it is still being built.
async fn built_file(
    state: &AppState,
    version: &Version,
    kind: FileKind,
    name: &str,
) -> Result<store::StoredFile> {
    store::files_of(&state.pool, &[version.id])
        .await?
        .into_iter()
        .find(|f| f.kind == kind)
        .ok_or_else(|| {
            Error::NotReady(format!(
                "{name} of version {} is being built; retry shortly",
                version.id
            ))
        })
}

/// The head of the answer for `file` (200, or 206 with the range asked for; 304 when the
/// client's copy is current) and the byte range to send.
fn file_head(
    req: &HttpRequest,
    file: &store::StoredFile,
    name: &str,
    kind: FileKind,
) -> Result<(HttpResponseBuilder, u64, u64)> {
    let etag = format!("\"{}\"", file.sha256);
    let mut response = Validators::strong(etag.clone(), Some(&file.created_at)).check(req)?;
    let length = u64::try_from(file.bytes).unwrap_or(0);
    let range = requested_range(req, &etag, length)?;
    let (start, end) = range.unwrap_or((0, length));
    if range.is_some() {
        response.status(StatusCode::PARTIAL_CONTENT).insert_header((
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{length}", end - 1),
        ));
    }
    response
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        // Stored as is: compressing would break the byte ranges.
        .insert_header(ContentEncoding::Identity)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .content_type(kind.format.media_type())
        .no_chunking(end - start);
    Ok((response, start, end))
}

/// The byte range `Range` asks for, when `If-Range` (if any) names this very file; otherwise the
/// whole file.
fn requested_range(req: &HttpRequest, etag: &str, length: u64) -> Result<Option<(u64, u64)>> {
    let field = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let same_file = field(header::IF_RANGE).is_none_or(|v| v.trim() == etag);
    match field(header::RANGE) {
        Some(r) if same_file => parse_range(r, length),
        _ => Ok(None),
    }
}

/// A single range `bytes=a-b`, `bytes=a-` or `bytes=-n` as `[start, end)`; `None` for a header
/// that is not one such range (several ranges: the whole file, as RFC 9110 allows).
fn parse_range(header: &str, length: u64) -> Result<Option<(u64, u64)>> {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (first, last) = (first.trim(), last.trim());
    let unsatisfiable = Error::RangeNotSatisfiable { length };
    let range = match (first.parse::<u64>(), last.parse::<u64>()) {
        // The last byte may be given as any number past the end (u64::MAX included).
        (Ok(a), Ok(b)) if a <= b => (a, b.saturating_add(1).min(length)),
        (Ok(a), Err(_)) if last.is_empty() => (a, length),
        (Err(_), Ok(n)) if first.is_empty() && n > 0 => (length.saturating_sub(n), length),
        (Err(_), Ok(_)) if first.is_empty() => return Err(unsatisfiable),
        _ => return Ok(None),
    };
    if range.0 >= length || range.0 >= range.1 {
        return Err(unsatisfiable);
    }
    Ok(Some(range))
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        let r = |h| parse_range(h, 1000).ok().flatten();
        assert_eq!(r("bytes=0-99"), Some((0, 100)));
        assert_eq!(r("bytes=900-"), Some((900, 1000)));
        assert_eq!(r("bytes=-10"), Some((990, 1000)));
        assert_eq!(r("bytes=990-5000"), Some((990, 1000)));
        assert_eq!(r("bytes=0-1,5-6"), None);
        assert_eq!(r("items=0-1"), None);
        assert_eq!(r("bytes=5-1"), None);
        assert!(parse_range("bytes=1000-", 1000).is_err());
        assert!(parse_range("bytes=-0", 1000).is_err());
        // The probe's overflow: the whole file, and from 5 on, not an empty or wrapped range.
        assert_eq!(r("bytes=0-18446744073709551615"), Some((0, 1000)));
        assert_eq!(r("bytes=5-18446744073709551615"), Some((5, 1000)));
        assert_eq!(r("bytes=-18446744073709551615"), Some((0, 1000)));
        assert!(parse_range("bytes=18446744073709551615-", 1000).is_err());
        assert!(parse_range("bytes=0-0", 0).is_err());
    }
}
