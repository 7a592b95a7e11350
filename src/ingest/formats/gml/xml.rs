//! XML as kreisgeo reads files it does not trust: streaming and namespace-aware, with no DTD
//! (a DOCTYPE is refused, so there are no external entities and no entity expansion; only the
//! five predefined entities and character references are read), nesting and text bounded, and
//! each feature read into a small owned tree that is dropped before the next one is read.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use crate::ingest::IngestError;

/// Deepest element nesting a file may have. CityGML nests about 20 deep; a crafted file with
/// millions of levels must not exhaust the stack of the recursive tree walks.
pub const MAX_DEPTH: usize = 256;

/// Most elements one feature may have (a LoD2 building has a few thousand).
pub const MAX_FEATURE_ELEMENTS: usize = 2_000_000;

/// Most bytes one feature may take as a tree: its text (coordinates included), its names and
/// attributes, and a fixed cost per element for the element itself (as for the other formats,
/// whose features may be at most 64 MiB).
pub const MAX_FEATURE_BYTES: usize = 64 << 20;

/// What an element costs beyond its names and text.
const ELEMENT_BYTES: usize = 128;

/// Most attributes one element may have.
pub const MAX_ATTRIBUTES: usize = 1024;

/// The namespaces kreisgeo reads, whatever prefix a file binds them to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ns {
    /// No namespace.
    None,
    /// GML 2, 3.1 and 3.2.
    Gml,
    Xlink,
    Xsi,
    /// WFS 1.x and 2.0.
    Wfs,
    /// CityGML 1.0 and 2.0: the core module.
    CityCore,
    /// CityGML 1.0 and 2.0: the building module.
    CityBuilding,
    /// CityGML 1.0 and 2.0: generic attributes.
    CityGeneric,
    /// OASIS xAL, the address schema of CityGML.
    Xal,
    /// The AdV's ALKIS/ATKIS schemas (NAS), any GeoInfoDok version.
    Adv,
    Other(Rc<str>),
}

/// Longest namespace URI accepted (real ones are under 200 bytes).
pub const MAX_NAMESPACE_BYTES: usize = 2048;

/// The namespaces met in a file, each made once: a file repeats a handful of URIs in every
/// element, and an unknown one must not be copied for each.
#[derive(Default)]
struct Namespaces(std::collections::HashMap<Vec<u8>, Ns>);

impl Namespaces {
    fn of(&mut self, uri: &[u8]) -> Result<Ns, String> {
        if let Some(ns) = self.0.get(uri) {
            return Ok(ns.clone());
        }
        if uri.len() > MAX_NAMESPACE_BYTES {
            return Err(format!(
                "a namespace URI of {} bytes (at most {MAX_NAMESPACE_BYTES})",
                uri.len()
            ));
        }
        if self.0.len() > 10_000 {
            return Err("more than 10,000 namespaces".into());
        }
        let ns = Ns::of(uri);
        self.0.insert(uri.to_vec(), ns.clone());
        Ok(ns)
    }
}

impl Ns {
    fn of(uri: &[u8]) -> Self {
        let uri = String::from_utf8_lossy(uri);
        match uri.as_ref() {
            "http://www.opengis.net/gml" | "http://www.opengis.net/gml/3.2" => Self::Gml,
            "http://www.w3.org/1999/xlink" => Self::Xlink,
            "http://www.w3.org/2001/XMLSchema-instance" => Self::Xsi,
            "http://www.opengis.net/wfs" | "http://www.opengis.net/wfs/2.0" => Self::Wfs,
            "http://www.opengis.net/citygml/1.0" | "http://www.opengis.net/citygml/2.0" => {
                Self::CityCore
            }
            "http://www.opengis.net/citygml/building/1.0"
            | "http://www.opengis.net/citygml/building/2.0" => Self::CityBuilding,
            "http://www.opengis.net/citygml/generics/1.0"
            | "http://www.opengis.net/citygml/generics/2.0" => Self::CityGeneric,
            "urn:oasis:names:tc:ciq:xsdschema:xAL:2.0" => Self::Xal,
            u if u.starts_with("http://www.adv-online.de/namespaces/adv/gid/") => Self::Adv,
            u => Self::Other(Rc::from(u)),
        }
    }
}

/// An attribute: namespace, local name, value.
#[derive(Debug, Clone)]
pub struct Attr {
    pub ns: Ns,
    pub name: String,
    pub value: String,
}

/// An element with everything inside it.
#[derive(Debug, Clone)]
pub struct Element {
    pub ns: Ns,
    /// The local name.
    pub name: String,
    pub attrs: Vec<Attr>,
    pub children: Vec<Element>,
    /// The element's own text (trimmed), for elements that hold text.
    pub text: String,
    /// Byte position of the end of the start tag in the file, for messages ([`line_of`]).
    pub offset: u64,
}

impl Element {
    pub fn is(&self, ns: &Ns, name: &str) -> bool {
        &self.ns == ns && self.name == name
    }

    /// The value of the attribute `name` in namespace `ns`.
    pub fn attr(&self, ns: &Ns, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| &a.ns == ns && a.name == name)
            .map(|a| a.value.as_str())
    }

    /// `gml:id`, the identity GML gives features and geometries.
    pub fn gml_id(&self) -> Option<&str> {
        self.attr(&Ns::Gml, "id")
    }

    /// The child elements with this namespace and name.
    pub fn children_named<'a>(
        &'a self,
        ns: &'a Ns,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    /// The first child with this namespace and name.
    pub fn child(&self, ns: &Ns, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    /// Every element of the tree, this one first, depth first.
    pub fn descendants(&self) -> Vec<&Element> {
        let mut out = vec![self];
        let mut i = 0;
        while i < out.len() {
            let e = out[i];
            out.extend(e.children.iter());
            i += 1;
        }
        out
    }

    /// `prefix:name` for messages.
    pub fn label(&self) -> String {
        match &self.ns {
            Ns::Gml => format!("gml:{}", self.name),
            _ => self.name.clone(),
        }
    }
}

/// What [`XmlStream::next`] meets at the level the caller walks.
pub enum Step {
    /// A start tag; its content follows unless the caller reads or skips it.
    Start(Element),
    /// The end of the element last started and not read.
    End,
    Eof,
}

/// A file read element by element.
pub struct XmlStream {
    reader: NsReader<BufReader<File>>,
    namespaces: Namespaces,
    buf: Vec<u8>,
    path: PathBuf,
    depth: usize,
    format: &'static str,
}

impl XmlStream {
    pub fn open(path: &Path, format: &'static str) -> Result<Self, IngestError> {
        let file = File::open(path).map_err(|e| IngestError::io(path, e))?;
        let mut reader = NsReader::from_reader(BufReader::with_capacity(1 << 16, file));
        let config = reader.config_mut();
        config.trim_text(true);
        config.expand_empty_elements = true;
        config.check_end_names = true;
        Ok(Self {
            reader,
            namespaces: Namespaces::default(),
            buf: Vec::with_capacity(1 << 12),
            path: path.to_path_buf(),
            depth: 0,
            format,
        })
    }

    /// Reads one event into owned form, with the byte position after it.
    fn read_raw(&mut self) -> Result<(Raw, u64), IngestError> {
        self.buf.clear();
        let (resolved, event) = match self.reader.read_resolved_event_into(&mut self.buf) {
            Ok(read) => read,
            Err(e) => {
                let at = self.reader.error_position();
                return Err(xml_error(self.format, &self.path, at, &e.to_string()));
            }
        };
        let raw = match event {
            Event::Start(start) => {
                let ns = namespace(&mut self.namespaces, &resolved, &start);
                let offset = self.reader.buffer_position();
                let element = ns
                    .and_then(|ns| head(&self.reader, &mut self.namespaces, ns, &start, offset))
                    .map_err(|m| xml_error(self.format, &self.path, offset, &m))?;
                Raw::Start(element)
            }
            Event::End(_) => Raw::End,
            Event::Text(t) => Raw::Text(
                t.unescape()
                    .map_err(|e| {
                        let at = self.reader.buffer_position();
                        xml_error(self.format, &self.path, at, &e.to_string())
                    })?
                    .into_owned(),
            ),
            Event::CData(c) => Raw::Text(String::from_utf8_lossy(&c).trim().to_string()),
            Event::Eof => Raw::Eof,
            Event::DocType(_) => {
                let at = self.reader.buffer_position();
                return Err(xml_error(
                    self.format,
                    &self.path,
                    at,
                    "a DOCTYPE is not accepted (DTDs and entities are refused)",
                ));
            }
            _ => Raw::Other,
        };
        Ok((raw, self.reader.buffer_position()))
    }

    fn too_large(&self, offset: u64) -> IngestError {
        xml_error(
            self.format,
            &self.path,
            offset,
            &format!(
                "a feature larger than {} MiB as read (text, names, attributes, elements)",
                MAX_FEATURE_BYTES >> 20
            ),
        )
    }

    fn ends_early(&self, offset: u64) -> IngestError {
        xml_error(
            self.format,
            &self.path,
            offset,
            "the file ends inside an element",
        )
    }

    /// The next start or end tag at the current level; text between elements there is
    /// ignored (containers hold only elements).
    pub fn next(&mut self) -> Result<Step, IngestError> {
        loop {
            match self.read_raw()? {
                (Raw::Start(element), offset) => {
                    self.depth += 1;
                    if self.depth > MAX_DEPTH {
                        return Err(xml_error(
                            self.format,
                            &self.path,
                            offset,
                            &format!("elements nested deeper than {MAX_DEPTH}"),
                        ));
                    }
                    return Ok(Step::Start(element));
                }
                (Raw::End, _) => {
                    self.depth = self.depth.saturating_sub(1);
                    return Ok(Step::End);
                }
                (Raw::Eof, offset) if self.depth > 0 => return Err(self.ends_early(offset)),
                (Raw::Eof, _) => return Ok(Step::Eof),
                (Raw::Text(_) | Raw::Other, _) => {}
            }
        }
    }

    /// Reads the content of `element`, just returned by [`XmlStream::next`], up to its end tag.
    pub fn read_tree(&mut self, mut element: Element) -> Result<Element, IngestError> {
        let mut stack: Vec<Element> = Vec::new();
        let mut count = 1usize;
        let cost = |e: &Element| {
            ELEMENT_BYTES
                + e.name.len()
                + e.attrs
                    .iter()
                    .map(|a| a.name.len() + a.value.len() + 32)
                    .sum::<usize>()
        };
        let mut bytes = cost(&element);
        loop {
            match self.read_raw()? {
                (Raw::Start(child), offset) => {
                    count += 1;
                    bytes += cost(&child);
                    if bytes > MAX_FEATURE_BYTES {
                        return Err(self.too_large(offset));
                    }
                    if self.depth + stack.len() + 1 > MAX_DEPTH || count > MAX_FEATURE_ELEMENTS {
                        return Err(xml_error(
                            self.format,
                            &self.path,
                            offset,
                            &format!(
                                "a feature nested deeper than {MAX_DEPTH} or with more than \
                                 {MAX_FEATURE_ELEMENTS} elements"
                            ),
                        ));
                    }
                    stack.push(std::mem::replace(&mut element, child));
                }
                (Raw::End, _) => {
                    let Some(mut parent) = stack.pop() else {
                        self.depth = self.depth.saturating_sub(1);
                        return Ok(element);
                    };
                    parent.children.push(element);
                    element = parent;
                }
                (Raw::Text(s), offset) => {
                    bytes += s.len();
                    if bytes > MAX_FEATURE_BYTES {
                        return Err(self.too_large(offset));
                    }
                    append_text(&mut element.text, &s);
                }
                (Raw::Eof, offset) => return Err(self.ends_early(offset)),
                (Raw::Other, _) => {}
            }
        }
    }

    /// Skips the content of the element just started.
    pub fn skip(&mut self) -> Result<(), IngestError> {
        let mut depth = 0usize;
        loop {
            match self.read_raw()? {
                (Raw::Start(_), _) => depth += 1,
                (Raw::End, _) if depth == 0 => {
                    self.depth = self.depth.saturating_sub(1);
                    return Ok(());
                }
                (Raw::End, _) => depth -= 1,
                (Raw::Eof, offset) => return Err(self.ends_early(offset)),
                (Raw::Text(_) | Raw::Other, _) => {}
            }
        }
    }
}

/// One event, owned.
enum Raw {
    Start(Element),
    End,
    Text(String),
    Eof,
    Other,
}

fn append_text(to: &mut String, s: &str) {
    if s.is_empty() {
        return;
    }
    if !to.is_empty() {
        to.push(' ');
    }
    to.push_str(s);
}

/// The element's namespace; an unbound prefix is an error.
fn namespace(
    known: &mut Namespaces,
    resolved: &ResolveResult<'_>,
    start: &BytesStart<'_>,
) -> Result<Ns, String> {
    match resolved {
        ResolveResult::Bound(ns) => known.of(ns.0),
        ResolveResult::Unbound => Ok(Ns::None),
        ResolveResult::Unknown(prefix) => Err(format!(
            "<{}>: the prefix '{}' is bound to no namespace",
            String::from_utf8_lossy(start.name().as_ref()),
            String::from_utf8_lossy(prefix)
        )),
    }
}

/// The element of a start tag, with its attributes and without content.
fn head<R: BufRead>(
    reader: &NsReader<R>,
    known: &mut Namespaces,
    ns: Ns,
    start: &BytesStart<'_>,
    offset: u64,
) -> Result<Element, String> {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    let mut seen = std::collections::HashSet::new();
    // quick-xml's own duplicate check compares each attribute with every earlier one.
    for attr in start.attributes().with_checks(false) {
        let attr = attr.map_err(|e| format!("<{name}>: {e}"))?;
        let key = attr.key;
        if key.as_ref() == b"xmlns" || key.as_ref().starts_with(b"xmlns:") {
            continue;
        }
        let (resolved, local) = reader.resolve_attribute(key);
        let ns = match resolved {
            ResolveResult::Bound(ns) => known.of(ns.0)?,
            ResolveResult::Unbound => Ns::None,
            ResolveResult::Unknown(prefix) => {
                return Err(format!(
                    "<{name}>: the attribute prefix '{}' is bound to no namespace",
                    String::from_utf8_lossy(&prefix)
                ))
            }
        };
        if !seen.insert(key.as_ref().to_vec()) {
            return Err(format!(
                "<{name}>: the attribute {} is given twice",
                String::from_utf8_lossy(key.as_ref())
            ));
        }
        if attrs.len() >= MAX_ATTRIBUTES {
            return Err(format!("<{name}>: more than {MAX_ATTRIBUTES} attributes"));
        }
        let value: Cow<'_, str> = attr
            .decode_and_unescape_value(reader.decoder())
            .map_err(|e| format!("<{name}>: {e}"))?;
        attrs.push(Attr {
            ns,
            name: String::from_utf8_lossy(local.as_ref()).into_owned(),
            value: value.into_owned(),
        });
    }
    Ok(Element {
        ns,
        name,
        attrs,
        children: Vec::new(),
        text: String::new(),
        offset,
    })
}

/// The 1-based line of byte `offset` in `path` (read again only for a message).
pub fn line_of(path: &Path, offset: u64) -> u64 {
    let Ok(file) = File::open(path) else {
        return 0;
    };
    let mut line = 1;
    let mut reader = BufReader::new(file.take(offset));
    let mut buf = vec![0u8; 1 << 16];
    while let Ok(n) = reader.read(&mut buf) {
        if n == 0 {
            break;
        }
        line += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
    line
}

fn xml_error(format: &str, path: &Path, offset: u64, message: &str) -> IngestError {
    IngestError::Parse {
        message: format!("{format}: line {}: {message}", line_of(path, offset)),
    }
}
