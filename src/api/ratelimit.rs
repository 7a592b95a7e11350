//! Per-client rate limits of the public API: a token bucket per client address (GCRA, by the
//! governor crate), refused with 429 and Retry-After.

use std::net::IpAddr;
use std::num::NonZeroU32;

use actix_web::dev::ServiceRequest;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::{Error, Result};

/// How fast one client may ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Sustained requests a second.
    pub per_second: NonZeroU32,
    /// Requests a client may send at once after being quiet (a map view's tiles).
    pub burst: NonZeroU32,
    /// Take the client's address from `Forwarded`/`X-Forwarded-For` (set it only behind a
    /// proxy that writes these headers; otherwise any client could pick its own bucket).
    pub trust_forwarded: bool,
}

/// The buckets of every client seen recently.
pub struct RateLimit {
    config: RateLimitConfig,
    buckets: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl std::fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimit")
            .field("config", &self.config)
            .field("clients", &self.buckets.len())
            .finish()
    }
}

impl RateLimit {
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            buckets: RateLimiter::keyed(
                Quota::per_second(config.per_second).allow_burst(config.burst),
            ),
            config,
            clock: DefaultClock::default(),
        }
    }

    /// The client of `req`: its peer address, or the forwarded one if trusted.
    fn client(&self, req: &ServiceRequest) -> Option<IpAddr> {
        super::client::address(req.request(), self.config.trust_forwarded)
    }

    /// Takes a token of the request's client, or says when the next one is due.
    pub fn check(&self, req: &ServiceRequest) -> Result<()> {
        // Requests without an address (in-process tests) share one bucket.
        let client = self
            .client(req)
            .unwrap_or(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED));
        self.buckets.check_key(&client).map_err(|not_until| {
            crate::metrics::rate_limited();
            let wait = not_until.wait_time_from(self.clock.now());
            Error::TooManyRequests {
                per_second: self.config.per_second.get(),
                burst: self.config.burst.get(),
                retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            }
        })
    }

    /// Drops the buckets of clients that are full again, so that memory follows the clients
    /// of the last moments, not all that ever came.
    pub fn forget_idle(&self) {
        self.buckets.retain_recent();
        self.buckets.shrink_to_fit();
    }
}
