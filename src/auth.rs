//! API keys of the admin API: `kg_<prefix>_<secret>`. The prefix finds the key; only a SHA-256
//! of the secret is stored, and it is compared in constant time. Keys are 256-bit random, so a
//! fast hash is as safe as a slow one and keeps every admin request cheap.

use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::error::{Error, Result};

/// What an admin request does; a key may do only the actions it was created for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Upload a new version (and watch its job).
    Ingest,
    /// Read and replace metadata; with every dataset in scope, the publisher too.
    Metadata,
    /// Serve an older kept version again.
    Rollback,
    /// Delete a dataset.
    Delete,
}

impl Action {
    pub const ALL: [Action; 4] = [
        Action::Ingest,
        Action::Metadata,
        Action::Rollback,
        Action::Delete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Ingest => "ingest",
            Action::Metadata => "metadata",
            Action::Rollback => "rollback",
            Action::Delete => "delete",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// What a key may do: some actions, on some datasets or on all (`datasets: None`, which
/// includes the catalog-wide settings); a key bound to a publisher only on that publisher's
/// datasets (and on new ones, which become its).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub datasets: Option<Vec<String>>,
    pub actions: Vec<Action>,
    pub publisher: Option<String>,
}

impl Scope {
    /// Every action on every dataset.
    pub fn all() -> Self {
        Self {
            datasets: None,
            actions: Action::ALL.to_vec(),
            publisher: None,
        }
    }

    /// `action` on `dataset` (`None`: the catalog as a whole), or `Forbidden` saying why not.
    pub fn allows(&self, action: Action, dataset: Option<&str>) -> Result<()> {
        if !self.actions.contains(&action) {
            return Err(Error::Forbidden(format!(
                "the API key may not {}",
                action.as_str()
            )));
        }
        if self.publisher.is_some() && dataset.is_none() {
            return Err(Error::Forbidden(
                "catalog-wide settings need a key that is not bound to a publisher".into(),
            ));
        }
        match (&self.datasets, dataset) {
            (None, _) => Ok(()),
            (Some(ids), Some(d)) if ids.iter().any(|i| i == d) => Ok(()),
            (Some(_), Some(d)) => Err(Error::Forbidden(format!(
                "the API key is not scoped to dataset '{d}'"
            ))),
            (Some(_), None) => Err(Error::Forbidden(
                "catalog-wide settings need a key scoped to every dataset".into(),
            )),
        }
    }

    fn actions_text(&self) -> Vec<&'static str> {
        self.actions.iter().map(|a| a.as_str()).collect()
    }
}

/// A freshly created key: the only moment the secret exists outside the client.
#[derive(Debug)]
pub struct NewKey {
    pub id: i64,
    pub key: String,
}

/// A stored key, for listings.
#[derive(Debug, serde::Serialize, sqlx::FromRow)]
pub struct KeyInfo {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created_at: String,
    pub revoked: bool,
    /// `None`: every dataset.
    pub datasets: Option<Vec<String>>,
    pub actions: Vec<String>,
    /// The publisher whose datasets it is bound to.
    pub publisher: Option<String>,
}

/// A key that a request presented and that is active.
#[derive(Debug, Clone)]
pub struct Key {
    pub id: i64,
    pub scope: Scope,
}

/// `bytes` random bytes from the thread's CSPRNG, as hex (keys here, passwords of the embedded
/// database).
pub(crate) fn random_hex(bytes: usize) -> String {
    hex::encode((0..bytes).map(|_| rand::random::<u8>()).collect::<Vec<_>>())
}

fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Equal in time independent of where the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Creates a key named `name` that may do what `scope` says, and returns it with its secret.
pub async fn create_key(pool: &PgPool, name: &str, scope: &Scope) -> Result<NewKey> {
    if scope.actions.is_empty() {
        return Err(Error::invalid("actions", "a key needs at least one action"));
    }
    if let Some(ids) = &scope.datasets {
        if ids.is_empty() {
            return Err(Error::invalid(
                "datasets",
                "a key needs at least one dataset",
            ));
        }
        for id in ids {
            crate::catalog::validate_dataset_id(id).map_err(|m| Error::invalid("datasets", m))?;
        }
    }
    if let Some(p) = &scope.publisher {
        let known: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM catalog.publishers WHERE id = $1)")
                .bind(p)
                .fetch_one(pool)
                .await?;
        if !known {
            return Err(Error::invalid(
                "publisher",
                format!("there is no publisher '{p}' (kreisgeo publishers set {p} FILE)"),
            ));
        }
    }
    let prefix = random_hex(6);
    let secret = random_hex(32);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO catalog.api_keys (name, prefix, secret_hash, datasets, actions, publisher_id) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(name)
    .bind(&prefix)
    .bind(digest(&secret))
    .bind(&scope.datasets)
    .bind(scope.actions_text())
    .bind(&scope.publisher)
    .fetch_one(pool)
    .await?;
    Ok(NewKey {
        id,
        key: format!("kg_{prefix}_{secret}"),
    })
}

/// Every key, newest first.
pub async fn list_keys(pool: &PgPool) -> Result<Vec<KeyInfo>> {
    Ok(sqlx::query_as(
        "SELECT id, name, prefix, \
           to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at, \
           revoked_at IS NOT NULL AS revoked, datasets, actions, publisher_id AS publisher \
         FROM catalog.api_keys ORDER BY id DESC",
    )
    .fetch_all(pool)
    .await?)
}

/// Revokes a key; it stops working at once.
pub async fn revoke_key(pool: &PgPool, id: i64) -> Result<()> {
    let done = sqlx::query(
        "UPDATE catalog.api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(id)
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found("active API key", id.to_string()));
    }
    Ok(())
}

/// The active key `presented`, or `Unauthorized`.
pub async fn verify(pool: &PgPool, presented: &str) -> Result<Key> {
    let unauthorized = || Error::Unauthorized("the API key is not valid".into());
    let mut parts = presented.trim().splitn(3, '_');
    let (Some("kg"), Some(prefix), Some(secret)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(unauthorized());
    };
    type Row = (
        i64,
        Vec<u8>,
        Option<Vec<String>>,
        Vec<String>,
        Option<String>,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, secret_hash, datasets, actions, publisher_id FROM catalog.api_keys \
         WHERE prefix = $1 AND revoked_at IS NULL",
    )
    .bind(prefix)
    .fetch_optional(pool)
    .await?;
    match row {
        Some((id, hash, datasets, actions, publisher))
            if constant_time_eq(&hash, &digest(secret)) =>
        {
            Ok(Key {
                id,
                scope: Scope {
                    datasets,
                    actions: actions.iter().filter_map(|a| Action::parse(a)).collect(),
                    publisher,
                },
            })
        }
        _ => Err(unauthorized()),
    }
}

#[cfg(test)]
mod tests {
    use super::{constant_time_eq, Action, Scope};

    #[test]
    fn equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn scopes() {
        let all = Scope::all();
        assert!(all.allows(Action::Delete, Some("aed")).is_ok());
        assert!(all.allows(Action::Metadata, None).is_ok());
        let narrow = Scope {
            datasets: Some(vec!["aed".into()]),
            actions: vec![Action::Ingest],
            publisher: None,
        };
        assert!(narrow.allows(Action::Ingest, Some("aed")).is_ok());
        assert!(narrow.allows(Action::Ingest, Some("parcels")).is_err());
        assert!(narrow.allows(Action::Delete, Some("aed")).is_err());
        assert!(narrow.allows(Action::Ingest, None).is_err());
        let municipal = Scope {
            publisher: Some("lauf".into()),
            ..Scope::all()
        };
        assert!(municipal.allows(Action::Metadata, Some("lauf-aed")).is_ok());
        assert!(municipal.allows(Action::Metadata, None).is_err());
    }
}
