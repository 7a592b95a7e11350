//! Integration tests through HTTP and the CLI against a real PostgreSQL + PostGIS.
//! One test binary (one link step) with a module per area.

// Tests stop at the first surprise, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod admin;
mod basemap;
mod caching;
mod ckan;
mod cli;
mod coverage;
mod crs;
mod dcat;
mod downloads;
mod features;
mod filter;
mod gdal;
mod gml;
mod harvest;
mod ingest;
mod inspire;
mod layout;
mod legal;
mod limits;
mod negotiation;
mod openapi;
mod osm;
mod osm_change;
mod policy;
mod publishers;
mod search;
mod security;
mod solar;
mod tiles;
mod walk;
