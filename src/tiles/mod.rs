//! Vector tiles (OGC API - Tiles, Mapbox Vector Tiles) rendered by PostGIS.

pub mod cache;
pub mod mercator;
pub mod mvt;
pub mod seed;
pub mod tms;
