//! GML 3.2 geometry output, as a geozero [`GeomProcessor`] fed straight from EWKB (geozero reads
//! GML but does not write it). Multi-geometries become `gml:MultiPoint`, `gml:MultiCurve` and
//! `gml:MultiSurface`; every geometry object gets the `gml:id` GML 3.2 requires, unique within a
//! document by the caller's prefix.

use std::io::Write;

use geozero::error::Result as GeoResult;
use geozero::{CoordDimensions, GeomProcessor, GeozeroGeometry};

use crate::error::{Error, Result};

/// Writes one geometry (EWKB) as GML into `out`: `srs_name` on its outermost element, ids
/// `{id_prefix}.1`, `{id_prefix}.2` … on every geometry object.
pub fn write_geometry(
    out: &mut Vec<u8>,
    ewkb: &[u8],
    srs_name: &str,
    id_prefix: &str,
    has_z: bool,
) -> Result<()> {
    let mut writer = GmlWriter {
        out,
        srs_name,
        id_prefix,
        next_id: 0,
        dims: if has_z {
            CoordDimensions::xyz()
        } else {
            CoordDimensions::xy()
        },
        stack: Vec::new(),
        first_coordinate: true,
    };
    geozero::wkb::Ewkb(ewkb)
        .process_geom(&mut writer)
        .map_err(|e| Error::Internal(format!("GML geometry encoding: {e}")))
}

/// What the writer is inside of.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Frame {
    MultiPoint,
    MultiCurve,
    MultiSurface,
    /// A polygon and how many of its rings were written (the first is the exterior).
    Polygon(usize),
}

struct GmlWriter<'a> {
    out: &'a mut Vec<u8>,
    srs_name: &'a str,
    id_prefix: &'a str,
    next_id: usize,
    dims: CoordDimensions,
    stack: Vec<Frame>,
    first_coordinate: bool,
}

impl GmlWriter<'_> {
    /// `<gml:{name} gml:id=… [srsName=…]>`: the SRS only on the outermost element.
    fn open(&mut self, name: &str) {
        self.next_id += 1;
        let _ = write!(
            self.out,
            "<gml:{name} gml:id=\"{}.{}\"",
            self.id_prefix, self.next_id
        );
        if self.stack.is_empty() {
            let _ = write!(self.out, " srsName=\"{}\"", self.srs_name);
            if self.dims.z {
                self.out.extend_from_slice(b" srsDimension=\"3\"");
            }
        }
        self.out.push(b'>');
    }

    fn member(&mut self) -> Option<&'static str> {
        match self.stack.last() {
            Some(Frame::MultiPoint) => Some("gml:pointMember"),
            Some(Frame::MultiCurve) => Some("gml:curveMember"),
            Some(Frame::MultiSurface) => Some("gml:surfaceMember"),
            _ => None,
        }
    }

    fn begin_member(&mut self) {
        if let Some(m) = self.member() {
            let _ = write!(self.out, "<{m}>");
        }
    }

    fn end_member(&mut self) {
        if let Some(m) = self.member() {
            let _ = write!(self.out, "</{m}>");
        }
    }

    fn coordinate_sep(&mut self) {
        if !self.first_coordinate {
            self.out.push(b' ');
        }
        self.first_coordinate = false;
    }
}

impl GeomProcessor for GmlWriter<'_> {
    fn dimensions(&self) -> CoordDimensions {
        self.dims
    }

    fn xy(&mut self, x: f64, y: f64, idx: usize) -> GeoResult<()> {
        self.coordinate(x, y, None, None, None, None, idx)
    }

    fn coordinate(
        &mut self,
        x: f64,
        y: f64,
        z: Option<f64>,
        _m: Option<f64>,
        _t: Option<f64>,
        _tm: Option<u64>,
        idx: usize,
    ) -> GeoResult<()> {
        // A multipoint's points come as bare coordinates.
        let in_multipoint = self.stack.last() == Some(&Frame::MultiPoint);
        if in_multipoint {
            self.point_begin(idx)?;
        }
        self.coordinate_sep();
        let _ = write!(self.out, "{x} {y}");
        if self.dims.z {
            let _ = write!(self.out, " {}", z.unwrap_or(0.0));
        }
        if in_multipoint {
            self.point_end(idx)?;
        }
        Ok(())
    }

    fn point_begin(&mut self, _idx: usize) -> GeoResult<()> {
        self.begin_member();
        self.open("Point");
        self.out.extend_from_slice(b"<gml:pos>");
        self.first_coordinate = true;
        Ok(())
    }

    fn point_end(&mut self, _idx: usize) -> GeoResult<()> {
        self.out.extend_from_slice(b"</gml:pos></gml:Point>");
        self.end_member();
        Ok(())
    }

    fn multipoint_begin(&mut self, _size: usize, _idx: usize) -> GeoResult<()> {
        self.begin_member();
        self.open("MultiPoint");
        self.stack.push(Frame::MultiPoint);
        Ok(())
    }

    fn multipoint_end(&mut self, _idx: usize) -> GeoResult<()> {
        self.stack.pop();
        self.out.extend_from_slice(b"</gml:MultiPoint>");
        self.end_member();
        Ok(())
    }

    fn linestring_begin(&mut self, tagged: bool, _size: usize, _idx: usize) -> GeoResult<()> {
        self.first_coordinate = true;
        if let Some(Frame::Polygon(rings)) = self.stack.last_mut() {
            let boundary = if *rings == 0 { "exterior" } else { "interior" };
            *rings += 1;
            let _ = write!(self.out, "<gml:{boundary}><gml:LinearRing><gml:posList>");
            return Ok(());
        }
        let _ = tagged;
        self.begin_member();
        self.open("LineString");
        self.out.extend_from_slice(b"<gml:posList>");
        Ok(())
    }

    fn linestring_end(&mut self, _tagged: bool, _idx: usize) -> GeoResult<()> {
        if let Some(Frame::Polygon(rings)) = self.stack.last() {
            let boundary = if *rings == 1 { "exterior" } else { "interior" };
            let _ = write!(self.out, "</gml:posList></gml:LinearRing></gml:{boundary}>");
            return Ok(());
        }
        self.out
            .extend_from_slice(b"</gml:posList></gml:LineString>");
        self.end_member();
        Ok(())
    }

    fn multilinestring_begin(&mut self, _size: usize, _idx: usize) -> GeoResult<()> {
        self.begin_member();
        self.open("MultiCurve");
        self.stack.push(Frame::MultiCurve);
        Ok(())
    }

    fn multilinestring_end(&mut self, _idx: usize) -> GeoResult<()> {
        self.stack.pop();
        self.out.extend_from_slice(b"</gml:MultiCurve>");
        self.end_member();
        Ok(())
    }

    fn polygon_begin(&mut self, _tagged: bool, _size: usize, _idx: usize) -> GeoResult<()> {
        self.begin_member();
        self.open("Polygon");
        self.stack.push(Frame::Polygon(0));
        Ok(())
    }

    fn polygon_end(&mut self, _tagged: bool, _idx: usize) -> GeoResult<()> {
        self.stack.pop();
        self.out.extend_from_slice(b"</gml:Polygon>");
        self.end_member();
        Ok(())
    }

    fn multipolygon_begin(&mut self, _size: usize, _idx: usize) -> GeoResult<()> {
        self.begin_member();
        self.open("MultiSurface");
        self.stack.push(Frame::MultiSurface);
        Ok(())
    }

    fn multipolygon_end(&mut self, _idx: usize) -> GeoResult<()> {
        self.stack.pop();
        self.out.extend_from_slice(b"</gml:MultiSurface>");
        self.end_member();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geozero::ToWkb;

    fn gml(wkt: &str) -> String {
        let ewkb = geozero::wkt::Wkt(wkt)
            .to_ewkb(CoordDimensions::xy(), Some(25832))
            .unwrap();
        let mut out = Vec::new();
        write_geometry(&mut out, &ewkb, "urn:ogc:def:crs:EPSG::25832", "g", false).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn polygons_with_holes_and_multi_surfaces() {
        assert_eq!(
            gml("POLYGON((0 0,10 0,10 10,0 0),(1 1,2 1,2 2,1 1))"),
            "<gml:Polygon gml:id=\"g.1\" srsName=\"urn:ogc:def:crs:EPSG::25832\">\
             <gml:exterior><gml:LinearRing><gml:posList>0 0 10 0 10 10 0 0</gml:posList>\
             </gml:LinearRing></gml:exterior><gml:interior><gml:LinearRing><gml:posList>\
             1 1 2 1 2 2 1 1</gml:posList></gml:LinearRing></gml:interior></gml:Polygon>"
        );
        assert_eq!(
            gml("MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))"),
            "<gml:MultiSurface gml:id=\"g.1\" srsName=\"urn:ogc:def:crs:EPSG::25832\">\
             <gml:surfaceMember><gml:Polygon gml:id=\"g.2\"><gml:exterior><gml:LinearRing>\
             <gml:posList>0 0 1 0 1 1 0 0</gml:posList></gml:LinearRing></gml:exterior>\
             </gml:Polygon></gml:surfaceMember><gml:surfaceMember><gml:Polygon gml:id=\"g.3\">\
             <gml:exterior><gml:LinearRing><gml:posList>5 5 6 5 6 6 5 5</gml:posList>\
             </gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember></gml:MultiSurface>"
        );
    }

    #[test]
    fn points_and_lines() {
        assert_eq!(
            gml("POINT(1.5 2)"),
            "<gml:Point gml:id=\"g.1\" srsName=\"urn:ogc:def:crs:EPSG::25832\"><gml:pos>1.5 2</gml:pos></gml:Point>"
        );
        assert_eq!(
            gml("MULTIPOINT(1 2,3 4)"),
            "<gml:MultiPoint gml:id=\"g.1\" srsName=\"urn:ogc:def:crs:EPSG::25832\">\
             <gml:pointMember><gml:Point gml:id=\"g.2\"><gml:pos>1 2</gml:pos></gml:Point>\
             </gml:pointMember><gml:pointMember><gml:Point gml:id=\"g.3\"><gml:pos>3 4</gml:pos>\
             </gml:Point></gml:pointMember></gml:MultiPoint>"
        );
        assert_eq!(
            gml("MULTILINESTRING((0 0,1 1),(2 2,3 3))"),
            "<gml:MultiCurve gml:id=\"g.1\" srsName=\"urn:ogc:def:crs:EPSG::25832\">\
             <gml:curveMember><gml:LineString gml:id=\"g.2\"><gml:posList>0 0 1 1</gml:posList>\
             </gml:LineString></gml:curveMember><gml:curveMember><gml:LineString gml:id=\"g.3\">\
             <gml:posList>2 2 3 3</gml:posList></gml:LineString></gml:curveMember></gml:MultiCurve>"
        );
    }
}
