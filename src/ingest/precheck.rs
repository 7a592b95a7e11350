//! Geometry checks made while the features stream past, on the reader thread.
//!
//! Asking GEOS (`ST_IsValid`) about every feature of a million-parcel file costs more than the
//! COPY itself. Most features are points, lines or polygons with one small ring, whose validity
//! is decided exactly by a few orientation tests; only those are certified here, with the exact
//! (robust) predicates. Everything else — holes, several parts, big rings, collections, curves,
//! empty geometries, and whatever fails a test — is left to PostGIS, which also repairs. So a
//! feature certified here is one GEOS also finds valid; the reverse need not hold.

use geo::kernels::{Kernel, Orientation, RobustKernel};
use geo::Coord;

/// Rings with more vertices are left to PostGIS: the pairwise test is quadratic.
const MAX_RING_VERTICES: usize = 128;

/// Follows the geometry events of one feature.
#[derive(Debug, Default)]
// The flags of one geometry's event stream, each set by other events.
#[allow(clippy::struct_excessive_bools)]
pub struct GeometryCheck {
    /// Still possibly certified.
    plain: bool,
    in_polygon: bool,
    polygons: u32,
    rings: u32,
    in_line: bool,
    line: Vec<Coord<f64>>,
    coordinates: u64,
    bbox: [f64; 4],
    /// Arcs were seen: the bounds of the points are not the geometry's.
    curved: bool,
}

/// What the check found about one geometry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// Valid in the OGC simple-features sense, as GEOS would say: nothing to ask PostGIS.
    pub certified: bool,
    /// Bounds of its coordinates in the source CRS; `None` when it has none.
    pub bbox: Option<[f64; 4]>,
    /// Without arcs: `bbox` is the geometry's bounds (PostGIS's, to the last bit).
    pub straight: bool,
}

impl GeometryCheck {
    pub fn begin(&mut self) {
        self.plain = true;
        self.in_polygon = false;
        self.polygons = 0;
        self.rings = 0;
        self.in_line = false;
        self.line.clear();
        self.coordinates = 0;
        self.curved = false;
        self.bbox = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
    }

    pub fn finish(&self) -> Verdict {
        let has = self.coordinates > 0;
        Verdict {
            certified: self.plain && has,
            bbox: has.then_some(self.bbox),
            straight: !self.curved,
        }
    }

    /// An arc (circular string, compound curve, curve polygon): undecided, and its bounds are
    /// not those of its points.
    pub fn curved(&mut self) {
        self.plain = false;
        self.curved = true;
    }

    /// A kind of geometry this check does not decide (collections, curves, surfaces).
    pub fn undecided(&mut self) {
        self.plain = false;
    }

    pub fn coordinate(&mut self, x: f64, y: f64) {
        self.coordinates += 1;
        self.bbox[0] = self.bbox[0].min(x);
        self.bbox[1] = self.bbox[1].min(y);
        self.bbox[2] = self.bbox[2].max(x);
        self.bbox[3] = self.bbox[3].max(y);
        if self.in_line && self.plain {
            let c = Coord { x, y };
            // Repeated vertices are allowed and mean nothing; drop them here.
            if self.line.last() != Some(&c) {
                self.line.push(c);
            }
        }
    }

    pub fn polygon_begin(&mut self) {
        self.polygons += 1;
        self.rings = 0;
        self.in_polygon = true;
        // Parts of a multipolygon must not overlap: left to PostGIS.
        if self.polygons > 1 {
            self.plain = false;
        }
    }

    pub fn polygon_end(&mut self) {
        self.in_polygon = false;
    }

    pub fn line_begin(&mut self) {
        self.in_line = true;
        self.line.clear();
    }

    pub fn line_end(&mut self) {
        self.in_line = false;
        if !self.plain {
            return;
        }
        if self.in_polygon {
            self.rings += 1;
            // Holes must lie inside the shell and not cross it: left to PostGIS.
            self.plain = self.rings == 1 && simple_ring(&self.line);
        } else {
            // A line needs two distinct points.
            self.plain = self.line.len() >= 2;
        }
    }
}

/// Whether a closed ring (consecutive duplicates removed) is a valid polygon shell: at least
/// three distinct vertices, and no two edges meet except consecutive ones at their shared vertex
/// without doubling back.
pub fn simple_ring(ring: &[Coord<f64>]) -> bool {
    let n = ring.len();
    if !(4..=MAX_RING_VERTICES).contains(&n) || ring[0] != ring[n - 1] {
        return false;
    }
    let edges = n - 1;
    for i in 0..edges {
        let (a, b) = (ring[i], ring[i + 1]);
        for j in i + 1..edges {
            let (c, d) = (ring[j], ring[j + 1]);
            let adjacent = j == i + 1 || (i == 0 && j == edges - 1);
            let meets = if adjacent {
                // They share one vertex; invalid only if collinear and folding back (a spike).
                let (shared, p, q) = if j == i + 1 { (b, a, d) } else { (a, b, c) };
                RobustKernel::orient2d(p, shared, q) == Orientation::Collinear
                    && (p.x - shared.x) * (q.x - shared.x) + (p.y - shared.y) * (q.y - shared.y)
                        > 0.0
            } else {
                segments_meet(a, b, c, d)
            };
            if meets {
                return false;
            }
        }
    }
    true
}

/// Whether the closed segments `ab` and `cd` have any point in common (touching included).
fn segments_meet(a: Coord<f64>, b: Coord<f64>, c: Coord<f64>, d: Coord<f64>) -> bool {
    let o1 = RobustKernel::orient2d(a, b, c);
    let o2 = RobustKernel::orient2d(a, b, d);
    let o3 = RobustKernel::orient2d(c, d, a);
    let o4 = RobustKernel::orient2d(c, d, b);
    let collinear = Orientation::Collinear;
    if o1 != o2
        && o3 != o4
        && o1 != collinear
        && o2 != collinear
        && o3 != collinear
        && o4 != collinear
    {
        return true;
    }
    (o1 == collinear && within_box(a, b, c))
        || (o2 == collinear && within_box(a, b, d))
        || (o3 == collinear && within_box(c, d, a))
        || (o4 == collinear && within_box(c, d, b))
}

/// For `p` collinear with `ab`: whether it lies on the segment.
fn within_box(a: Coord<f64>, b: Coord<f64>, p: Coord<f64>) -> bool {
    p.x >= a.x.min(b.x) && p.x <= a.x.max(b.x) && p.y >= a.y.min(b.y) && p.y <= a.y.max(b.y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(points: &[(f64, f64)]) -> Vec<Coord<f64>> {
        points.iter().map(|&(x, y)| Coord { x, y }).collect()
    }

    #[test]
    fn rings() {
        let square = ring(&[(0., 0.), (1., 0.), (1., 1.), (0., 1.), (0., 0.)]);
        assert!(simple_ring(&square));
        let collinear_vertex = ring(&[(0., 0.), (0.5, 0.), (1., 0.), (1., 1.), (0., 0.)]);
        assert!(simple_ring(&collinear_vertex));
        let bowtie = ring(&[(0., 0.), (1., 1.), (1., 0.), (0., 1.), (0., 0.)]);
        assert!(!simple_ring(&bowtie));
        let spike = ring(&[(0., 0.), (2., 0.), (1., 0.), (1., 1.), (0., 0.)]);
        assert!(!simple_ring(&spike));
        let flat = ring(&[(0., 0.), (1., 0.), (2., 0.), (0., 0.)]);
        assert!(!simple_ring(&flat));
        let too_few = ring(&[(0., 0.), (1., 0.), (0., 0.)]);
        assert!(!simple_ring(&too_few));
        // A shell touching itself at a vertex (an "inverted hole").
        let touching = ring(&[(0., 0.), (4., 0.), (4., 4.), (2., 0.), (0., 4.), (0., 0.)]);
        assert!(!simple_ring(&touching));
        let open = ring(&[(0., 0.), (1., 0.), (1., 1.), (0., 1.)]);
        assert!(!simple_ring(&open));
    }

    #[test]
    fn geometries() {
        let mut check = GeometryCheck::default();
        // A square with a hole is left to PostGIS.
        check.begin();
        check.polygon_begin();
        for r in [
            [(0., 0.), (4., 0.), (4., 4.), (0., 4.), (0., 0.)],
            [(1., 1.), (2., 1.), (2., 2.), (1., 2.), (1., 1.)],
        ] {
            check.line_begin();
            for &(x, y) in &r {
                check.coordinate(x, y);
            }
            check.line_end();
        }
        check.polygon_end();
        let v = check.finish();
        assert!(!v.certified);
        assert_eq!(v.bbox, Some([0., 0., 4., 4.]));
        // A point is certified; an empty geometry is not.
        check.begin();
        check.coordinate(10.0, 53.0);
        assert!(check.finish().certified);
        check.begin();
        assert_eq!(
            check.finish(),
            Verdict {
                certified: false,
                bbox: None,
                straight: true,
            }
        );
        // A line of one repeated point is not valid.
        check.begin();
        check.line_begin();
        check.coordinate(1.0, 1.0);
        check.coordinate(1.0, 1.0);
        check.line_end();
        assert!(!check.finish().certified);
    }
}
