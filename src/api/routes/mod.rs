//! HTTP handlers, one file per OGC resource. Handlers parse, delegate and shape the response;
//! they hold no SQL.

pub mod admin;
pub mod api_doc;
pub mod at;
pub mod basemap;
pub mod catalog;
pub mod ckan;
pub mod collections;
pub mod conformance;
pub mod downloads;
pub mod items;
pub mod landing;
pub mod legal;
pub mod map;
pub mod nearest;
pub mod operations;
pub mod publishers;
pub mod queryables;
pub mod search;
pub mod sources;
pub mod tiles;
pub mod tilesets;

/// OpenAPI tags.
pub const TAG_CAPABILITIES: &str = "Capabilities";
pub const TAG_DATA: &str = "Data";
pub const TAG_TILES: &str = "Vector tiles";
pub const TAG_ADMIN: &str = "Admin";
pub const TAG_CITIZENS: &str = "Citizens";
pub const TAG_OPEN_DATA: &str = "Open data";
pub const TAG_OPERATIONS: &str = "Operations";
