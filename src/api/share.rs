//! Each client's share of the server: at most so many of its requests are handled at once,
//! so that one address cannot take every database connection (sixteen stalled or slow
//! requests once took the whole public pool). Up to eight times as many more of that client's
//! requests wait for one of its own to finish; beyond those, a flood is refused at once with
//! 429. A client that
//! sends one request at a time, however fast (GDAL paging, a harvester), never waits and is
//! never refused; other clients are not held up by anyone's flood.
//!
//! Clients are hashed (with a per-process random key) onto a fixed number of stripes, so the
//! memory is fixed whatever the number of addresses; two clients meeting on a stripe share it.

use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Result};

const STRIPES: usize = 4096;

/// Requests of one client that may wait for a place, per place.
pub const WAITING_PER_PLACE: usize = 8;

struct Stripe {
    places: Arc<Semaphore>,
    waiting: AtomicUsize,
}

pub struct ClientShare {
    stripes: Box<[Stripe]>,
    per_client: usize,
    max_waiting: usize,
    wait: Duration,
    hasher: std::collections::hash_map::RandomState,
}

impl std::fmt::Debug for ClientShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientShare")
            .field("per_client", &self.per_client)
            .field("max_waiting", &self.max_waiting)
            .field("wait", &self.wait)
            .finish()
    }
}

/// Counts a request as waiting until it has its place or gives up (or its client goes).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ClientShare {
    /// `per_client` requests of one client at once; up to [`WAITING_PER_PLACE`] times as many
    /// more wait up to `wait` for one of them.
    pub fn new(per_client: usize, wait: Duration) -> Self {
        let per_client = per_client.max(1);
        Self {
            stripes: (0..STRIPES)
                .map(|_| Stripe {
                    places: Arc::new(Semaphore::new(per_client)),
                    waiting: AtomicUsize::new(0),
                })
                .collect(),
            per_client,
            max_waiting: per_client.saturating_mul(WAITING_PER_PLACE),
            wait,
            hasher: Default::default(),
        }
    }

    pub fn per_client(&self) -> usize {
        self.per_client
    }

    fn stripe(&self, client: Option<IpAddr>) -> usize {
        // An IPv6 client is its /64: one host has all of those addresses to pick from.
        let client = client.map(|ip| match ip {
            IpAddr::V6(v6) => {
                let s = v6.segments();
                IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
            }
            v4 @ IpAddr::V4(_) => v4,
        });
        let mut hasher = self.hasher.build_hasher();
        client.hash(&mut hasher);
        (std::hash::Hasher::finish(&hasher) as usize) % STRIPES
    }

    /// A place for one request of `client`, held until the permit is dropped. Requests
    /// without an address (in-process services) share one stripe and are never refused.
    pub async fn enter(&self, client: Option<IpAddr>) -> Result<OwnedSemaphorePermit> {
        let stripe = &self.stripes[self.stripe(client)];
        if let Ok(permit) = stripe.places.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let waiting = stripe.waiting.fetch_add(1, Ordering::AcqRel);
        let _waiting = Waiting(&stripe.waiting);
        if client.is_some() && waiting >= self.max_waiting {
            crate::metrics::rate_limited();
            return Err(Error::TooManyInFlight {
                in_flight: self.per_client,
                waiting: self.max_waiting,
            });
        }
        match tokio::time::timeout(self.wait, stripe.places.clone().acquire_owned()).await {
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
        // One IPv6 host is its /64.
        let v6 = |last: u16| Some(IpAddr::from([0x2001, 0xdb8, 1, 2, 0, 0, 0, last]));
        assert_eq!(share.stripe(v6(1)), share.stripe(v6(0xffff)));
        drop(first);
        let _again = share
            .enter(a)
            .await
            .expect("a place again once one finished");
    }

    #[tokio::test]
    async fn a_flood_is_refused_at_once_a_sequence_never() {
        let share = Arc::new(ClientShare::new(2, Duration::from_secs(30)));
        let a = Some(IpAddr::from([192, 0, 2, 1]));
        let places = [
            share.enter(a).await.expect("place"),
            share.enter(a).await.expect("place"),
        ];
        // As many as may wait do; they get their places once the first ones are done.
        let waiters: Vec<_> = (0..2 * WAITING_PER_PLACE)
            .map(|_| {
                let share = share.clone();
                tokio::spawn(async move { share.enter(a).await.map(drop) })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let flood = share.enter(a).await;
        assert!(
            matches!(flood, Err(Error::TooManyInFlight { .. })),
            "{flood:?}"
        );
        drop(places);
        for w in waiters {
            w.await
                .expect("task")
                .expect("a waiting request gets its place");
        }
        // One at a time, however many: never refused, never waiting.
        for _ in 0..1000 {
            drop(share.enter(a).await.expect("sequential"));
        }
    }
}
