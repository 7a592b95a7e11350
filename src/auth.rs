//! API keys of the admin API: `kg_<prefix>_<secret>`. The prefix finds the key; only a SHA-256
//! of the secret is stored, and it is compared in constant time. Keys are 256-bit random, so a
//! fast hash is as safe as a slow one and keeps every admin request cheap.

use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::error::{Error, Result};

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

/// Creates a key named `name` and returns it with its secret.
pub async fn create_key(pool: &PgPool, name: &str) -> Result<NewKey> {
    let prefix = random_hex(6);
    let secret = random_hex(32);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO catalog.api_keys (name, prefix, secret_hash) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(name)
    .bind(&prefix)
    .bind(digest(&secret))
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
           revoked_at IS NOT NULL AS revoked \
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

/// The id of the active key `presented`, or `Unauthorized`.
pub async fn verify(pool: &PgPool, presented: &str) -> Result<i64> {
    let unauthorized = || Error::Unauthorized("the API key is not valid".into());
    let mut parts = presented.trim().splitn(3, '_');
    let (Some("kg"), Some(prefix), Some(secret)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(unauthorized());
    };
    let row: Option<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT id, secret_hash FROM catalog.api_keys WHERE prefix = $1 AND revoked_at IS NULL",
    )
    .bind(prefix)
    .fetch_optional(pool)
    .await?;
    match row {
        Some((id, hash)) if constant_time_eq(&hash, &digest(secret)) => Ok(id),
        _ => Err(unauthorized()),
    }
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
