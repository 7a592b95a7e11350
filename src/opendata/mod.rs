//! Open data: the county's and the datasets' metadata, and the DCAT-AP.de catalog that
//! harvesters (GovData, other portals) read.

pub mod ckan;
pub mod ckan_index;
pub mod ckan_search;
pub mod dcat;
pub mod iso19139;
pub mod metadata;
pub mod publishers;
pub mod rdf;
