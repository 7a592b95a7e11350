//! OGC API - Features: request parameters, the SQL that answers them, and output encoders.

pub mod encode;
pub mod filter;
pub mod params;
pub mod query;

/// Default page size of `/items`.
pub const DEFAULT_LIMIT: u32 = 10;
/// Largest page size a client may ask for; larger values are clamped (OGC API Features 7.15.3).
pub const MAX_LIMIT: u32 = 10_000;
