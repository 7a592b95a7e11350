//! GML geometries (2, 3.1 and 3.2, as WFS servers, NAS and CityGML write them) read from a
//! feature's tree into simple-feature geometries: curves of segments and rings of curve
//! members assembled, arcs stroked ([`super::arc`]), `xlink:href` references resolved within
//! the feature, axes put easting (longitude) first.

use std::collections::HashMap;

use geozero::error::Result as GeozeroResult;
use geozero::GeomProcessor;

use super::arc::{self, Pos};
use super::srs::{self, Srs};
use super::xml::{Element, Ns};

/// A geometry with its positions easting first.
#[derive(Debug, Clone, PartialEq)]
pub enum Geom {
    Point(Pos),
    LineString(Vec<Pos>),
    Polygon(Vec<Vec<Pos>>),
    MultiPoint(Vec<Pos>),
    MultiLineString(Vec<Vec<Pos>>),
    MultiPolygon(Vec<Vec<Vec<Pos>>>),
    Collection(Vec<Geom>),
}

/// What a geometry was read with: its CRS and whether it has heights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Read {
    pub srs: Option<Srs>,
    pub has_z: bool,
}

/// A geometry that cannot be read: the element at fault and why.
#[derive(Debug)]
pub struct GeomError {
    pub offset: u64,
    pub element: String,
    pub message: String,
}

type Result<T> = std::result::Result<T, GeomError>;

fn fail<T>(e: &Element, message: impl Into<String>) -> Result<T> {
    Err(GeomError {
        offset: e.offset,
        element: e.label(),
        message: message.into(),
    })
}

/// The GML geometry types, by local name.
pub fn is_geometry(e: &Element) -> bool {
    e.ns == Ns::Gml
        && matches!(
            e.name.as_str(),
            "Point"
                | "LineString"
                | "LinearRing"
                | "Curve"
                | "CompositeCurve"
                | "OrientableCurve"
                | "Polygon"
                | "Surface"
                | "PolygonPatch"
                | "OrientableSurface"
                | "CompositeSurface"
                | "MultiSurface"
                | "MultiPolygon"
                | "Shell"
                | "Solid"
                | "CompositeSolid"
                | "MultiSolid"
                | "MultiCurve"
                | "MultiLineString"
                | "MultiPoint"
                | "MultiGeometry"
                | "TriangulatedSurface"
                | "Tin"
        )
}

/// Reads geometries of one file: the CRS inherited from an enclosing `boundedBy` or the file
/// level, the axis order decided once for the file, the `gml:id`s of the feature being read.
pub struct Reader<'a> {
    /// The CRS of geometries that name none.
    pub default_srs: Option<Srs>,
    /// Decided at the file's first position whose order contradicts its CRS: swap every one.
    pub swap_axes: &'a mut Option<bool>,
    ids: HashMap<&'a str, &'a Element>,
    has_z: bool,
    srs: Option<Srs>,
    depth: usize,
    /// Positions read so far for this feature.
    positions: usize,
}

/// Deepest nesting of xlink references and aggregates followed.
const MAX_NESTING: usize = 32;

/// Most positions one feature's geometry may have, arcs stroked and references followed: a
/// few bytes of arcs or of references to references must not become gigabytes.
pub const MAX_POSITIONS: usize = 10_000_000;

impl<'a> Reader<'a> {
    /// A reader for geometries inside `feature`, whose `gml:id`s resolve `xlink:href="#id"`.
    pub fn new(
        feature: &'a Element,
        default_srs: Option<Srs>,
        swap_axes: &'a mut Option<bool>,
    ) -> Self {
        let ids = feature
            .descendants()
            .into_iter()
            .filter_map(|e| Some((e.gml_id()?, e)))
            .collect();
        Self {
            default_srs,
            swap_axes,
            ids,
            has_z: false,
            srs: None,
            depth: 0,
            positions: 0,
        }
    }

    /// The geometry `e` (a GML geometry element).
    pub fn read(&mut self, e: &'a Element) -> Result<(Geom, Read)> {
        self.has_z = false;
        self.srs = self.srs_of(e)?.or(self.default_srs);
        let g = self.geometry(e)?;
        Ok((
            g,
            Read {
                srs: self.srs,
                has_z: self.has_z,
            },
        ))
    }

    fn srs_of(&self, e: &Element) -> Result<Option<Srs>> {
        match e.attr(&Ns::None, "srsName") {
            None => Ok(None),
            Some(name) => match srs::parse(name) {
                Some(s) => Ok(Some(s)),
                None => fail(
                    e,
                    format!("unknown srsName \"{name}\"; give the CRS with --crs"),
                ),
            },
        }
    }

    /// Counts `n` more positions against [`MAX_POSITIONS`].
    fn spend(&mut self, e: &Element, n: usize) -> Result<()> {
        self.positions += n;
        if self.positions > MAX_POSITIONS {
            return fail(
                e,
                format!("a geometry of more than {MAX_POSITIONS} positions (arcs stroked, references followed)"),
            );
        }
        Ok(())
    }

    fn nested<T>(&mut self, e: &'a Element, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return fail(e, format!("geometry nested deeper than {MAX_NESTING}"));
        }
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// The element a property element holds: its only child, or what its `xlink:href`
    /// names in this feature.
    fn target(&self, property: &'a Element) -> Result<Option<&'a Element>> {
        if let Some(child) = property.children.first() {
            return Ok(Some(child));
        }
        match property.attr(&Ns::Xlink, "href") {
            Some(href) => match self.ids.get(href.trim_start_matches('#')) {
                Some(target) => Ok(Some(target)),
                None => fail(
                    property,
                    format!("xlink:href=\"{href}\" names no geometry of this feature"),
                ),
            },
            None => Ok(None),
        }
    }

    /// The polygons of the surface `e` (a polygon, a multi-surface, a solid …).
    pub fn polygons_of(&mut self, e: &'a Element, out: &mut Vec<Vec<Vec<Pos>>>) -> Result<()> {
        self.srs = self.srs_of(e)?.or(self.default_srs);
        self.polygons(e, out)
    }

    /// The CRS of the geometry read last.
    pub fn srs(&self) -> Option<Srs> {
        self.srs
    }

    /// The members of an aggregate: the geometries its `…Member` properties hold or name,
    /// and those a `…Members` element holds.
    pub fn members(&self, e: &'a Element) -> Result<Vec<&'a Element>> {
        let mut out = Vec::new();
        for c in &e.children {
            if c.name.ends_with("Members") {
                out.extend(c.children.iter());
            } else if c.name.ends_with("Member") || c.name.ends_with("member") {
                out.extend(self.target(c)?);
            }
        }
        Ok(out)
    }

    fn geometry(&mut self, e: &'a Element) -> Result<Geom> {
        self.nested(e, |r| r.geometry_inner(e))
    }

    fn geometry_inner(&mut self, e: &'a Element) -> Result<Geom> {
        if e.ns != Ns::Gml {
            return fail(e, "not a GML geometry");
        }
        Ok(match e.name.as_str() {
            "Point" => Geom::Point(self.point(e)?),
            "LineString" | "LinearRing" | "Curve" | "CompositeCurve" | "OrientableCurve"
            | "Ring" => Geom::LineString(self.curve(e)?),
            "Polygon" | "PolygonPatch" | "Rectangle" | "Triangle" => {
                Geom::Polygon(self.polygon(e)?)
            }
            "Surface"
            | "OrientableSurface"
            | "CompositeSurface"
            | "MultiSurface"
            | "MultiPolygon"
            | "Shell"
            | "Solid"
            | "CompositeSolid"
            | "MultiSolid"
            | "TriangulatedSurface"
            | "Tin" => {
                let mut polygons = Vec::new();
                self.polygons(e, &mut polygons)?;
                match e.name.as_str() {
                    "Surface" | "OrientableSurface" if polygons.len() == 1 => {
                        Geom::Polygon(polygons.remove(0))
                    }
                    _ => Geom::MultiPolygon(polygons),
                }
            }
            "MultiCurve" | "MultiLineString" => {
                let mut lines = Vec::new();
                for t in self.members(e)? {
                    lines.push(self.nested(t, |r| r.curve(t))?);
                }
                Geom::MultiLineString(lines)
            }
            "MultiPoint" => {
                let mut points = Vec::new();
                for t in self.members(e)? {
                    points.push(self.point(t)?);
                }
                Geom::MultiPoint(points)
            }
            "MultiGeometry" => {
                let mut parts = Vec::new();
                for t in self.members(e)? {
                    parts.push(self.geometry(t)?);
                }
                Geom::Collection(parts)
            }
            other => return fail(e, format!("the geometry type gml:{other} is not supported")),
        })
    }

    /// The polygons of a surface of any kind, appended to `out`.
    fn polygons(&mut self, e: &'a Element, out: &mut Vec<Vec<Vec<Pos>>>) -> Result<()> {
        self.nested(e, |r| match e.name.as_str() {
            "Polygon" | "PolygonPatch" | "Rectangle" | "Triangle" => {
                out.push(r.polygon(e)?);
                Ok(())
            }
            "Surface" | "TriangulatedSurface" | "Tin" => {
                let Some(patches) = e.children.iter().find(|c| {
                    matches!(
                        c.name.as_str(),
                        "patches" | "polygonPatches" | "trianglePatches"
                    )
                }) else {
                    return fail(e, "a surface without patches");
                };
                for p in &patches.children {
                    r.polygons(p, out)?;
                }
                Ok(())
            }
            "OrientableSurface" => {
                let Some(base) = e.child(&Ns::Gml, "baseSurface") else {
                    return fail(e, "an orientable surface without baseSurface");
                };
                let reverse = e.attr(&Ns::None, "orientation") == Some("-");
                let start = out.len();
                if let Some(t) = r.target(base)? {
                    r.polygons(t, out)?;
                }
                if reverse {
                    for polygon in &mut out[start..] {
                        for ring in polygon.iter_mut() {
                            ring.reverse();
                        }
                    }
                }
                Ok(())
            }
            "Solid" => {
                for shell in e.children_named(&Ns::Gml, "exterior") {
                    if let Some(t) = r.target(shell)? {
                        r.polygons(t, out)?;
                    }
                }
                Ok(())
            }
            "CompositeSurface" | "MultiSurface" | "MultiPolygon" | "Shell" | "CompositeSolid"
            | "MultiSolid" => {
                for t in r.members(e)? {
                    r.polygons(t, out)?;
                }
                Ok(())
            }
            other => fail(e, format!("gml:{other} is not a surface")),
        })
    }

    /// A polygon's rings, the exterior first.
    fn polygon(&mut self, e: &'a Element) -> Result<Vec<Vec<Pos>>> {
        if e.name == "Rectangle" || e.name == "Triangle" {
            let Some(exterior) = e.child(&Ns::Gml, "exterior") else {
                return fail(e, "no exterior");
            };
            return Ok(vec![self.ring(exterior)?]);
        }
        let mut rings = Vec::new();
        for boundary in &e.children {
            match boundary.name.as_str() {
                "exterior" | "outerBoundaryIs" => rings.insert(0, self.ring(boundary)?),
                "interior" | "innerBoundaryIs" => rings.push(self.ring(boundary)?),
                _ => {}
            }
        }
        if rings.is_empty() {
            return fail(e, "a polygon without exterior ring");
        }
        Ok(rings)
    }

    /// The ring in a boundary element, closed.
    fn ring(&mut self, boundary: &'a Element) -> Result<Vec<Pos>> {
        let Some(ring) = self.target(boundary)? else {
            return fail(boundary, "an empty ring");
        };
        let mut points = self.nested(ring, |r| r.curve(ring))?;
        if let (Some(&first), Some(last)) = (points.first(), points.last()) {
            if !same_xy(first, *last) {
                points.push(first);
            }
        }
        if points.len() < 4 {
            return fail(
                ring,
                format!("a ring of {} positions (at least 4 needed)", points.len()),
            );
        }
        Ok(points)
    }

    /// The positions of a curve of any kind: a line string, a linear ring, a curve of
    /// segments, a ring or composite of curve members.
    fn curve(&mut self, e: &'a Element) -> Result<Vec<Pos>> {
        match e.name.as_str() {
            "LineString" | "LinearRing" | "LineStringSegment" => self.positions(e),
            "Curve" => {
                let Some(segments) = e.child(&Ns::Gml, "segments") else {
                    return fail(e, "a curve without segments");
                };
                let mut out = Vec::new();
                for s in &segments.children {
                    let points = self.segment(s)?;
                    join(&mut out, points);
                }
                Ok(out)
            }
            "Ring" | "CompositeCurve" => {
                let mut out = Vec::new();
                for m in e.children_named(&Ns::Gml, "curveMember") {
                    if let Some(t) = self.target(m)? {
                        let points = self.nested(t, |r| r.curve(t))?;
                        join(&mut out, points);
                    }
                }
                Ok(out)
            }
            "OrientableCurve" => {
                let Some(base) = e.child(&Ns::Gml, "baseCurve") else {
                    return fail(e, "an orientable curve without baseCurve");
                };
                let Some(t) = self.target(base)? else {
                    return fail(base, "an empty baseCurve");
                };
                let mut points = self.nested(t, |r| r.curve(t))?;
                if e.attr(&Ns::None, "orientation") == Some("-") {
                    points.reverse();
                }
                Ok(points)
            }
            other => fail(e, format!("gml:{other} is not a curve")),
        }
    }

    /// The positions of one curve segment, arcs stroked.
    fn segment(&mut self, s: &'a Element) -> Result<Vec<Pos>> {
        let tolerance = if self.srs.is_some_and(|s| s.is_geographic()) {
            arc::TOLERANCE_DEGREES
        } else {
            arc::TOLERANCE_METRES
        };
        match s.name.as_str() {
            "LineStringSegment" | "GeodesicString" => self.positions(s),
            "Arc" | "ArcString" => {
                let p = self.positions(s)?;
                if p.len() < 3 || p.len() % 2 == 0 {
                    return fail(
                        s,
                        format!("an arc string of {} positions (3, 5, 7 … needed)", p.len()),
                    );
                }
                let mut out = vec![p[0]];
                for w in p.windows(3).step_by(2) {
                    arc::arc(w[0], w[1], w[2], tolerance, &mut out);
                }
                self.spend(s, out.len())?;
                Ok(out)
            }
            "Circle" => {
                let p = self.positions(s)?;
                let mut out = vec![p[0]];
                if p.len() != 3 || !arc::circle(p[0], p[1], p[2], tolerance, &mut out) {
                    return fail(s, "a circle needs three positions not on a line");
                }
                self.spend(s, out.len())?;
                Ok(out)
            }
            "ArcByCenterPoint" | "CircleByCenterPoint" => {
                let centre = self.positions(s)?;
                let number = |name: &str| {
                    s.child(&Ns::Gml, name)
                        .and_then(|c| c.text.trim().parse::<f64>().ok())
                        .filter(|v| v.is_finite())
                };
                let (Some(&c), Some(r)) = (centre.first(), number("radius")) else {
                    return fail(s, "an arc by centre point needs a position and a radius");
                };
                let (start, end) = if s.name == "CircleByCenterPoint" {
                    (0.0, 360.0)
                } else {
                    match (number("startAngle"), number("endAngle")) {
                        (Some(a), Some(b)) => (a, b),
                        _ => {
                            return fail(s, "an arc by centre point needs startAngle and endAngle")
                        }
                    }
                };
                if r <= 0.0 || (end - start).abs() > 360.0 {
                    return fail(
                        s,
                        "an arc by centre point needs a positive radius and at most 360°",
                    );
                }
                let mut out = Vec::new();
                arc::by_centre(c, r, start, end, tolerance, &mut out);
                self.spend(s, out.len())?;
                Ok(out)
            }
            other => fail(s, format!("the curve segment gml:{other} is not supported")),
        }
    }

    fn point(&mut self, e: &'a Element) -> Result<Pos> {
        let p = self.positions(e)?;
        match p.as_slice() {
            [one] => Ok(*one),
            _ => fail(e, format!("a point of {} positions", p.len())),
        }
    }

    /// The positions written in `e` as `posList`, `pos` elements, `coordinates` (GML 2) or
    /// `pointProperty`/`pointRep` elements.
    fn positions(&mut self, e: &'a Element) -> Result<Vec<Pos>> {
        let default_dimension = self.srs.map_or(2, |s| s.dimension);
        let dimension = |el: &Element| -> Result<usize> {
            match el
                .attr(&Ns::None, "srsDimension")
                .or(e.attr(&Ns::None, "srsDimension"))
            {
                Some(d) => match d.trim().parse::<usize>() {
                    Ok(n @ 2..=3) => Ok(n),
                    _ => fail(el, format!("srsDimension=\"{d}\" (2 or 3 expected)")),
                },
                None => Ok(default_dimension),
            }
        };
        let mut out = Vec::new();
        for c in &e.children {
            match c.name.as_str() {
                "posList" | "pos" => {
                    let dim = dimension(c)?;
                    let numbers = numbers(c, &c.text, ' ')?;
                    if numbers.len() % dim != 0 || numbers.is_empty() {
                        return fail(
                            c,
                            format!("{} numbers do not make positions of {dim}", numbers.len()),
                        );
                    }
                    for chunk in numbers.chunks(dim) {
                        out.push(self.position(c, chunk)?);
                    }
                }
                "coordinates" => {
                    let cs = c.attr(&Ns::None, "cs").unwrap_or(",");
                    let ts = c.attr(&Ns::None, "ts").unwrap_or(" ");
                    for tuple in c
                        .text
                        .split(|ch: char| ts.contains(ch) || ch.is_whitespace() && ts == " ")
                    {
                        if tuple.is_empty() {
                            continue;
                        }
                        let numbers = numbers(c, tuple, cs.chars().next().unwrap_or(','))?;
                        out.push(self.position(c, &numbers)?);
                    }
                }
                "pointProperty" | "pointRep" => {
                    if let Some(t) = self.target(c)? {
                        out.push(self.nested(t, |r| r.point(t))?);
                    }
                }
                _ => {}
            }
        }
        if out.is_empty() {
            return fail(e, "no positions");
        }
        self.spend(e, out.len())?;
        Ok(out)
    }

    /// One position, easting first.
    fn position(&mut self, e: &Element, n: &[f64]) -> Result<Pos> {
        let (a, b) = match n {
            [a, b] | [a, b, _] => (*a, *b),
            _ => return fail(e, format!("a position of {} numbers", n.len())),
        };
        let z = match n {
            [_, _, z] => {
                self.has_z = true;
                *z
            }
            _ => f64::NAN,
        };
        let mut swap = self.srs.is_some_and(|s| s.northing_first);
        // The first position of the file decides whether its axis order contradicts the CRS.
        let decided = *self.swap_axes.get_or_insert_with(|| {
            let Some(epsg) = self.srs.map(|s| s.epsg) else {
                return false;
            };
            let (x, y) = if swap { (b, a) } else { (a, b) };
            srs::plausible(epsg, x, y) == Some(false) && srs::plausible(epsg, y, x) == Some(true)
        });
        swap ^= decided;
        Ok(if swap { [b, a, z] } else { [a, b, z] })
    }
}

/// Whether two positions are the same point on the map (a missing height is NaN, which
/// equals nothing).
fn same_xy(a: Pos, b: Pos) -> bool {
    a[0] == b[0] && a[1] == b[1]
}

/// Appends a curve's positions, leaving out the first when it repeats the last.
fn join(out: &mut Vec<Pos>, points: Vec<Pos>) {
    let skip = match (out.last(), points.first()) {
        (Some(&last), Some(&first)) => usize::from(same_xy(last, first)),
        _ => 0,
    };
    out.extend(points.into_iter().skip(skip));
}

fn numbers(e: &Element, text: &str, separator: char) -> Result<Vec<f64>> {
    text.split(|c: char| c == separator || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(|t| match t.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(n),
            _ => fail(e, format!("'{t}' is not a coordinate")),
        })
        .collect()
}

/// Emits `g` as geozero events (Z where the geometry has heights).
pub fn emit<P: GeomProcessor>(g: &Geom, has_z: bool, out: &mut P) -> GeozeroResult<()> {
    emit_at(g, has_z, 0, out)
}

fn emit_at<P: GeomProcessor>(g: &Geom, has_z: bool, idx: usize, out: &mut P) -> GeozeroResult<()> {
    let coords = |out: &mut P, points: &[Pos]| -> GeozeroResult<()> {
        for (i, p) in points.iter().enumerate() {
            if has_z {
                out.coordinate(
                    p[0],
                    p[1],
                    Some(if p[2].is_nan() { 0.0 } else { p[2] }),
                    None,
                    None,
                    None,
                    i,
                )?;
            } else {
                out.xy(p[0], p[1], i)?;
            }
        }
        Ok(())
    };
    let polygon =
        |out: &mut P, rings: &[Vec<Pos>], tagged: bool, idx: usize| -> GeozeroResult<()> {
            out.polygon_begin(tagged, rings.len(), idx)?;
            for (i, ring) in rings.iter().enumerate() {
                out.linestring_begin(false, ring.len(), i)?;
                coords(out, ring)?;
                out.linestring_end(false, i)?;
            }
            out.polygon_end(tagged, idx)
        };
    match g {
        Geom::Point(p) => {
            out.point_begin(idx)?;
            coords(out, std::slice::from_ref(p))?;
            out.point_end(idx)
        }
        Geom::LineString(points) => {
            out.linestring_begin(true, points.len(), idx)?;
            coords(out, points)?;
            out.linestring_end(true, idx)
        }
        Geom::Polygon(rings) => polygon(out, rings, true, idx),
        Geom::MultiPoint(points) => {
            out.multipoint_begin(points.len(), idx)?;
            coords(out, points)?;
            out.multipoint_end(idx)
        }
        Geom::MultiLineString(lines) => {
            out.multilinestring_begin(lines.len(), idx)?;
            for (i, line) in lines.iter().enumerate() {
                out.linestring_begin(false, line.len(), i)?;
                coords(out, line)?;
                out.linestring_end(false, i)?;
            }
            out.multilinestring_end(idx)
        }
        Geom::MultiPolygon(polygons) => {
            out.multipolygon_begin(polygons.len(), idx)?;
            for (i, rings) in polygons.iter().enumerate() {
                polygon(out, rings, false, i)?;
            }
            out.multipolygon_end(idx)
        }
        Geom::Collection(parts) => {
            out.geometrycollection_begin(parts.len(), idx)?;
            for (i, part) in parts.iter().enumerate() {
                emit_at(part, has_z, i, out)?;
            }
            out.geometrycollection_end(idx)
        }
    }
}
