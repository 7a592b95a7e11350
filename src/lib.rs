//! kreisgeo: the geodata and open-data portal backend of a German county.
//!
//! Files go in through [`ingest`] into PostGIS ([`db`], [`catalog`]) and come out through the
//! HTTP [`api`]: OGC API Features ([`features`]) and vector tiles ([`tiles`]).

pub mod aed;
pub mod api;
pub mod audit;
pub mod auth;
pub mod basemap;
pub mod catalog;
pub mod crs;
pub mod db;
pub mod downloads;
pub mod error;
pub mod features;
pub mod generate;
pub mod harvest;
pub mod hours;
pub mod html;
pub mod ingest;
pub mod jobs;
pub mod legal;
pub mod logging;
pub mod metrics;
pub mod negotiate;
pub mod ogc;
pub mod opendata;
pub mod osm;
pub mod routing;
pub mod search;
pub mod server;
pub mod solar;
pub mod tiles;
pub mod time;
pub mod value;

pub use error::{Error, Result};
