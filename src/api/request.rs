//! What a handler answering a document about one collection starts from, extracted once: the
//! format asked for (`f`, else Accept), the served collection, the base URL of links. The
//! query may hold only `f` and `lang` (400 naming any other), as before in each handler.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};

use super::cache::Validators;
use super::state::AppState;
use crate::catalog::Collection;
use crate::error::Error;
use crate::features::params::{parameter_error, FormatParams};
use crate::html::DocFormat;

/// A request for a document about the collection named by the path's `collectionId`.
pub struct CollectionRequest {
    pub format: DocFormat,
    pub collection: Collection,
    /// The base URL for links, without a trailing slash.
    pub base: String,
}

impl FromRequest for CollectionRequest {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| Error::Internal("the app has no state".into()))?;
            let query = web::Query::<FormatParams>::from_query(req.query_string())
                .map_err(|e| parameter_error(&e.to_string()))?;
            let format = DocFormat::of(&req, query.f.as_deref())?;
            let id = req.match_info().get("collectionId").unwrap_or_default();
            let collection = state.collection(id).await?;
            let base = state.base_url(&req);
            Ok(Self {
                format,
                collection,
                base,
            })
        })
    }
}

impl CollectionRequest {
    /// The validators of an answer about the collection's served version.
    pub fn validators(&self, req: &HttpRequest) -> Validators {
        Validators::for_version(req, &self.base, &self.collection.version)
    }
}
