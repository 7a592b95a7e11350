//! Admin requests: the API key presented, checked against the catalog, and its scope against
//! what the request does; every admitted request ends with its audit line.

use actix_web::{HttpMessage, HttpRequest};

use crate::api::error::classify;
use crate::api::state::AppState;
use crate::audit::{self, Outcome};
use crate::auth::{Action, Key};
use crate::error::{Error, Result};

/// The key presented with the request, checked against the catalog. A missing or wrong key is
/// logged but not written to the audit log: anyone on the internet can send one, and the log
/// must not be fillable by them.
pub(crate) async fn authenticate(req: &HttpRequest, state: &AppState) -> Result<Key> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let key = header("X-API-Key")
        .or_else(|| header("Authorization").and_then(|v| v.strip_prefix("Bearer ")))
        .ok_or_else(|| {
            Error::Unauthorized("an API key is required (Authorization: Bearer …)".into())
        });
    let verified = match key {
        Ok(key) => crate::auth::verify(&state.write_pool, key).await,
        Err(e) => Err(e),
    };
    if let Err(e @ Error::Unauthorized(_)) = &verified {
        // The peer, which a client cannot choose; the forwarded address beside it only when
        // the proxy is trusted.
        let peer = crate::api::client::peer(req).map(|a| a.to_string());
        let forwarded_for = crate::api::client::forwarded_for(req, state.config.trust_forwarded)
            .map(|a| a.to_string());
        tracing::warn!(path = req.path(), peer, forwarded_for, error = %e, "admin request without a valid key");
    }
    verified
}

/// An admin request whose key's scope covers it. It ends with [`Admitted::finish`], which
/// writes the audit line.
pub(crate) struct Admitted {
    pub key: Key,
    action: Action,
    dataset: Option<String>,
    pub request_id: Option<String>,
}

/// Authenticates the request and checks that its key may do `action` on `dataset` (`None`: the
/// catalog as a whole); a refusal is audited.
pub(crate) async fn admit(
    req: &HttpRequest,
    state: &AppState,
    action: Action,
    dataset: Option<&str>,
) -> Result<Admitted> {
    let key = authenticate(req, state).await?;
    let admitted = Admitted {
        key,
        action,
        dataset: dataset.map(str::to_string),
        request_id: req
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(std::string::ToString::to_string),
    };
    let allowed = match admitted.key.scope.allows(action, dataset) {
        Ok(()) => publisher_allows(state, &admitted.key, dataset).await,
        Err(e) => Err(e),
    };
    if let Err(e) = allowed {
        if !matches!(e, Error::Forbidden(_)) {
            return Err(e);
        }
        admitted.write(state, Outcome::Denied, &Err(&e)).await;
        return Err(e);
    }
    Ok(admitted)
}

/// A key bound to a publisher acts on that publisher's datasets and on new ones (which become
/// its when the ingest job ends), never on another's.
pub(crate) async fn publisher_allows(
    state: &AppState,
    key: &Key,
    dataset: Option<&str>,
) -> Result<()> {
    let (Some(bound), Some(dataset)) = (&key.scope.publisher, dataset) else {
        return Ok(());
    };
    match crate::catalog::repo::dataset_publisher(&state.write_pool, dataset).await? {
        None => Ok(()),
        Some(Some(owner)) if &owner == bound => Ok(()),
        Some(owner) => Err(Error::Forbidden(format!(
            "dataset '{dataset}' belongs to {}, and the API key to publisher '{bound}'",
            owner.map_or_else(
                || "the portal's publisher".to_string(),
                |o| format!("publisher '{o}'")
            )
        ))),
    }
}

impl Admitted {
    /// Audits the end of the request and passes its result on.
    pub async fn finish<T>(self, state: &AppState, result: Result<T>) -> Result<T> {
        self.finish_as(state, Outcome::Succeeded, result).await
    }

    /// As [`Admitted::finish`], with `done` as the outcome of success.
    pub async fn finish_as<T>(
        self,
        state: &AppState,
        done: Outcome,
        result: Result<T>,
    ) -> Result<T> {
        let outcome = if result.is_ok() {
            done
        } else {
            Outcome::Failed
        };
        self.write(state, outcome, &result.as_ref().map(|_| ()))
            .await;
        result
    }

    async fn write(&self, state: &AppState, outcome: Outcome, result: &Result<(), &Error>) {
        let (status, detail) = match result {
            Ok(()) if outcome == Outcome::Accepted => (202, None),
            Ok(()) => (200, None),
            Err(e) => (classify(e).0.as_u16(), Some(e.to_string())),
        };
        audit::write(
            &state.write_pool,
            audit::Record {
                key_id: self.key.id,
                action: self.action,
                dataset: self.dataset.as_deref(),
                outcome,
                status: Some(status),
                detail,
                request_id: self.request_id.clone(),
            },
        )
        .await;
    }
}
