//! RDF output: the serialisations harvesters ask for, chosen by extension or Accept, written by
//! the oxigraph crates (oxttl, oxrdfxml, oxjsonld) from one list of triples.

use oxrdf::Triple;

use crate::error::{Error, Result};

/// Prefixes every serialisation declares, so that the output reads like hand-written DCAT.
pub const PREFIXES: &[(&str, &str)] = &[
    ("dcat", "http://www.w3.org/ns/dcat#"),
    ("dct", "http://purl.org/dc/terms/"),
    ("dcatde", "http://dcat-ap.de/def/dcatde/"),
    ("foaf", "http://xmlns.com/foaf/0.1/"),
    ("vcard", "http://www.w3.org/2006/vcard/ns#"),
    ("gsp", "http://www.opengis.net/ont/geosparql#"),
    ("spdx", "http://spdx.org/rdf/terms#"),
    ("hydra", "http://www.w3.org/ns/hydra/core#"),
    ("adms", "http://www.w3.org/ns/adms#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
    ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
];

/// An RDF serialisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RdfFormat {
    Turtle,
    RdfXml,
    JsonLd,
}

impl RdfFormat {
    pub const ALL: [Self; 3] = [Self::Turtle, Self::RdfXml, Self::JsonLd];

    pub fn media_type(self) -> &'static str {
        match self {
            Self::Turtle => "text/turtle",
            Self::RdfXml => "application/rdf+xml",
            Self::JsonLd => "application/ld+json",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Turtle => "ttl",
            Self::RdfXml => "rdf",
            Self::JsonLd => "jsonld",
        }
    }

    /// By extension (`catalog.ttl`), else by Accept; RDF/XML when neither says, as
    /// ckanext-dcat answers, so that harvesters that send no Accept get what they expect.
    pub fn negotiate(extension: Option<&str>, accept: Option<&str>) -> Result<Self> {
        if let Some(ext) = extension {
            return match ext {
                "ttl" => Ok(Self::Turtle),
                "rdf" | "xml" => Ok(Self::RdfXml),
                "jsonld" => Ok(Self::JsonLd),
                other => Err(Error::invalid(
                    "format",
                    format!("unknown extension '.{other}'; use .ttl, .rdf or .jsonld"),
                )),
            };
        }
        Ok(crate::negotiate::media(
            accept,
            &[
                (Self::RdfXml.media_type(), Self::RdfXml),
                (Self::Turtle.media_type(), Self::Turtle),
                (Self::JsonLd.media_type(), Self::JsonLd),
                ("application/json", Self::JsonLd),
            ],
        )
        .unwrap_or(Self::RdfXml))
    }

    /// Writes `triples` in this serialisation.
    pub fn write(self, triples: &[Triple]) -> Result<Vec<u8>> {
        fn failed(e: impl std::fmt::Display) -> Error {
            Error::Internal(format!("RDF serialisation: {e}"))
        }
        match self {
            Self::Turtle => {
                let mut s = oxttl::TurtleSerializer::new();
                for (name, iri) in PREFIXES {
                    s = s.with_prefix(*name, *iri).map_err(failed)?;
                }
                let mut w = s.for_writer(Vec::new());
                for t in triples {
                    w.serialize_triple(t).map_err(failed)?;
                }
                w.finish().map_err(failed)
            }
            Self::RdfXml => {
                let mut s = oxrdfxml::RdfXmlSerializer::new();
                for (name, iri) in PREFIXES {
                    s = s.with_prefix(*name, *iri).map_err(failed)?;
                }
                let mut w = s.for_writer(Vec::new());
                for t in triples {
                    w.serialize_triple(t).map_err(failed)?;
                }
                w.finish().map_err(failed)
            }
            Self::JsonLd => {
                let mut s = oxjsonld::JsonLdSerializer::new();
                for (name, iri) in PREFIXES {
                    s = s.with_prefix(*name, *iri).map_err(failed)?;
                }
                let mut w = s.for_writer(Vec::new());
                for t in triples {
                    w.serialize_quad(t.as_ref().in_graph(oxrdf::GraphNameRef::DefaultGraph))
                        .map_err(failed)?;
                }
                w.finish().map_err(failed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_wins_then_accept_then_rdf_xml() {
        let n = |e, a| RdfFormat::negotiate(e, a).unwrap();
        assert_eq!(
            n(Some("ttl"), Some("application/ld+json")),
            RdfFormat::Turtle
        );
        assert_eq!(
            n(None, Some("application/ld+json, text/turtle;q=0.5")),
            RdfFormat::JsonLd
        );
        assert_eq!(n(None, Some("text/turtle")), RdfFormat::Turtle);
        assert_eq!(n(None, None), RdfFormat::RdfXml);
        assert_eq!(n(None, Some("*/*")), RdfFormat::RdfXml);
        assert!(RdfFormat::negotiate(Some("n3"), None).is_err());
    }
}
