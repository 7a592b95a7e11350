//! Each client's share of the server: at most so many of its requests are handled at once,
//! so that one address cannot take every database connection (sixteen stalled or slow
//! requests once took the whole public pool). Further requests of that client wait for one of
//! its own to finish; other clients are not held up by them.
//!
//! Clients are hashed (with a per-process random key) onto a fixed number of stripes, so the
//! memory is fixed whatever the number of addresses; two clients meeting on a stripe share it.

use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Result};

const STRIPES: usize = 4096;

pub struct ClientShare {
    stripes: Box<[Arc<Semaphore>]>,
    per_client: usize,
    wait: Duration,
    hasher: std::collections::hash_map::RandomState,
}

impl std::fmt::Debug for ClientShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientShare")
            .field("per_client", &self.per_client)
            .field("wait", &self.wait)
            .finish()
    }
}

impl ClientShare {
    /// `per_client` requests of one client at once; a further one waits up to `wait`.
    pub fn new(per_client: usize, wait: Duration) -> Self {
        let per_client = per_client.max(1);
        Self {
            stripes: (0..STRIPES)
                .map(|_| Arc::new(Semaphore::new(per_client)))
                .collect(),
            per_client,
            wait,
            hasher: Default::default(),
        }
    }

    pub fn per_client(&self) -> usize {
        self.per_client
    }

    fn stripe(&self, client: Option<IpAddr>) -> usize {
        let mut hasher = self.hasher.build_hasher();
        client.hash(&mut hasher);
        (std::hash::Hasher::finish(&hasher) as usize) % STRIPES
    }

    /// A place for one request of `client` (`None`: requests without an address, which share
    /// one stripe), held until the permit is dropped.
    pub async fn enter(&self, client: Option<IpAddr>) -> Result<OwnedSemaphorePermit> {
        let stripe = &self.stripes[self.stripe(client)];
        if let Ok(permit) = stripe.clone().try_acquire_owned() {
            return Ok(permit);
        }
        match tokio::time::timeout(self.wait, stripe.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Error::Busy(format!(
                "more than {} requests from your address are being handled at once; retry when \
                 one has finished",
                self.per_client
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_client_waits_for_its_own_others_go_on() {
        let share = ClientShare::new(2, Duration::from_millis(50));
        let a = Some(IpAddr::from([192, 0, 2, 1]));
        // Another client on another stripe.
        let b = (2..=255)
            .map(|i| Some(IpAddr::from([192, 0, 2, i])))
            .find(|b| share.stripe(*b) != share.stripe(a))
            .expect("another stripe");
        let first = share.enter(a).await.expect("first");
        let _second = share.enter(a).await.expect("second");
        let third = share.enter(a).await;
        assert!(matches!(third, Err(Error::Busy(_))), "{third:?}");
        let _other = share.enter(b).await.expect("another client");
        drop(first);
        let _again = share
            .enter(a)
            .await
            .expect("a place again once one finished");
    }
}
