//! Shading by the buildings around a roof: rays from points on the roof towards the sun,
//! tested against every roof polygon and wall of the scene within a search radius.
//!
//! The scene is triangles in a metric CRS (x east, y north, z up), registered in a grid of
//! square cells over the ground plan; a ray walks the cells its ground track crosses (2D DDA,
//! Amanatides and Woo 1987), nearest first, and stops at the first triangle it hits
//! (Möller–Trumbore 1997), at the search radius, or where it has risen above everything.

use std::collections::HashMap;

pub type Vec3 = [f64; 3];

fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Side of a grid cell, metres: about a house.
const CELL: f64 = 8.0;

/// Most vertices a ring is ear-clipped with.
const MAX_EAR_CLIPPED: usize = 2000;

/// The obstacles of a scene.
pub struct Scene {
    triangles: Vec<[Vec3; 3]>,
    /// The polygon each triangle belongs to, whose holes let the sun through.
    surface_of: Vec<u32>,
    /// The holes of each polygon (a courtyard, a light well).
    holes: Vec<Vec<Vec<Vec3>>>,
    cells: HashMap<(i64, i64), Vec<u32>>,
    /// The highest point of the scene.
    top: f64,
}

/// The obstacles of a scene as they are added: polygons with their holes, and triangles.
#[derive(Default)]
pub struct SceneBuilder {
    triangles: Vec<[Vec3; 3]>,
    surface_of: Vec<u32>,
    holes: Vec<Vec<Vec<Vec3>>>,
}

/// A triangle of no polygon with holes.
const SOLID: u32 = u32::MAX;

impl SceneBuilder {
    /// A planar polygon: its exterior ring cut into triangles, its holes kept open.
    pub fn polygon(&mut self, rings: &[Vec<Vec3>]) {
        let Some((exterior, holes)) = rings.split_first() else {
            return;
        };
        let start = self.triangles.len();
        triangulate(exterior, &mut self.triangles);
        #[allow(clippy::cast_possible_truncation)]
        let surface = if holes.is_empty() {
            SOLID
        } else {
            self.holes.push(holes.to_vec());
            (self.holes.len() - 1) as u32
        };
        self.surface_of
            .extend(std::iter::repeat_n(surface, self.triangles.len() - start));
    }

    /// A solid triangle (a piece of wall).
    pub fn triangle(&mut self, t: [Vec3; 3]) {
        self.triangles.push(t);
        self.surface_of.push(SOLID);
    }

    pub fn build(self) -> Scene {
        let mut scene = Scene::new(self.triangles);
        scene.surface_of = self.surface_of;
        scene.holes = self.holes;
        scene
    }
}

/// The normal of a planar ring by Newell's method (its length twice the ring's area; the ring
/// closed or not), relative to its first vertex for precision in UTM metres.
pub fn newell(ring: &[Vec3]) -> Vec3 {
    let Some(&o) = ring.first() else {
        return [0.0; 3];
    };
    let n = ring.len();
    let mut normal = [0.0; 3];
    for i in 0..n {
        let (a, b) = (sub(ring[i], o), sub(ring[(i + 1) % n], o));
        normal[0] += (a[1] - b[1]) * (a[2] + b[2]);
        normal[1] += (a[2] - b[2]) * (a[0] + b[0]);
        normal[2] += (a[0] - b[0]) * (a[1] + b[1]);
    }
    normal
}

/// The two axes of the projection a plane with `normal` is least foreshortened in.
fn dominant_axes(normal: Vec3) -> (usize, usize) {
    match (0..3).max_by(|&i, &j| normal[i].abs().total_cmp(&normal[j].abs())) {
        Some(0) => (1, 2),
        Some(1) => (2, 0),
        _ => (0, 1),
    }
}

/// Whether `p`, on the plane of `ring`, lies inside it (even-odd, in the projection the
/// plane is least foreshortened in).
fn inside(ring: &[Vec3], p: Vec3) -> bool {
    let n = ring.len();
    let (ax, ay) = dominant_axes(newell(ring));
    let (x, y) = (p[ax], p[ay]);
    let mut within = false;
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + 1) % n]);
        let (x0, y0, x1, y1) = (a[ax], a[ay], b[ax], b[ay]);
        if (y0 > y) != (y1 > y) && x < x0 + (y - y0) / (y1 - y0) * (x1 - x0) {
            within = !within;
        }
    }
    within
}

/// Whether a segment from `o` along `d` (up to `t_max`) crosses triangle `tri` (not at its
/// start: the point's own surface does not shade it).
fn hits(o: Vec3, d: Vec3, tri: &[Vec3; 3], t_max: f64) -> Option<f64> {
    const EPS: f64 = 1e-9;
    let e1 = sub(tri[1], tri[0]);
    let e2 = sub(tri[2], tri[0]);
    let p = cross(d, e2);
    let det = dot(e1, p);
    if det.abs() < EPS {
        return None;
    }
    let inv = 1.0 / det;
    let s = sub(o, tri[0]);
    let u = dot(s, p) * inv;
    if !(0.0..=1.0).contains(&u) {
        return None;
    }
    let q = cross(s, e1);
    let v = dot(d, q) * inv;
    if v < 0.0 || u + v > 1.0 {
        return None;
    }
    let t = dot(e2, q) * inv;
    (t > 1e-6 && t < t_max).then_some(t)
}

fn cell_of(x: f64, y: f64) -> (i64, i64) {
    #[allow(clippy::cast_possible_truncation)]
    ((x / CELL).floor() as i64, (y / CELL).floor() as i64)
}

impl Scene {
    pub fn new(triangles: Vec<[Vec3; 3]>) -> Self {
        let mut cells: HashMap<(i64, i64), Vec<u32>> = HashMap::new();
        let mut top = f64::NEG_INFINITY;
        for (i, t) in triangles.iter().enumerate() {
            let min_x = t.iter().map(|p| p[0]).fold(f64::INFINITY, f64::min);
            let max_x = t.iter().map(|p| p[0]).fold(f64::NEG_INFINITY, f64::max);
            let min_y = t.iter().map(|p| p[1]).fold(f64::INFINITY, f64::min);
            let max_y = t.iter().map(|p| p[1]).fold(f64::NEG_INFINITY, f64::max);
            top = t.iter().map(|p| p[2]).fold(top, f64::max);
            let (c0, c1) = (cell_of(min_x, min_y), cell_of(max_x, max_y));
            for cx in c0.0..=c1.0 {
                for cy in c0.1..=c1.1 {
                    #[allow(clippy::cast_possible_truncation)]
                    cells.entry((cx, cy)).or_default().push(i as u32);
                }
            }
        }
        Self {
            surface_of: vec![SOLID; triangles.len()],
            holes: Vec::new(),
            triangles,
            cells,
            top,
        }
    }

    pub fn triangles(&self) -> usize {
        self.triangles.len()
    }

    /// Whether the way from `o` towards the sun (`d`, a unit vector pointing up) is blocked
    /// within `radius` metres of ground distance.
    pub fn blocked(&self, o: Vec3, d: Vec3, radius: f64) -> bool {
        if d[2] <= 0.0 {
            return true;
        }
        let horizontal = d[0].hypot(d[1]);
        // Beyond this the ray is above every obstacle.
        let rise = ((self.top - o[2]).max(0.0) / d[2]) * horizontal;
        let reach = radius.min(rise);
        // The ray's parameter t is its length; `reach` is a ground distance.
        // A millimetre more, so that what stands exactly as high as the scene's top counts.
        let t_max = if horizontal > 1e-12 {
            reach / horizontal
        } else {
            (self.top - o[2]).max(0.0) / d[2]
        } + 1e-3;
        let mut cell = cell_of(o[0], o[1]);
        let step = (
            if d[0] > 0.0 { 1 } else { -1 },
            if d[1] > 0.0 { 1 } else { -1 },
        );
        // The ray's length to the next cell border in x and in y, and between borders.
        let next = |c: i64, s: i64, o: f64, d: f64| -> (f64, f64) {
            if d.abs() < 1e-15 {
                return (f64::INFINITY, f64::INFINITY);
            }
            #[allow(clippy::cast_precision_loss)]
            let border = if s > 0 {
                (c + 1) as f64 * CELL
            } else {
                c as f64 * CELL
            };
            ((border - o) / d, CELL / d.abs())
        };
        let (mut tx, dtx) = next(cell.0, step.0, o[0], d[0]);
        let (mut ty, dty) = next(cell.1, step.1, o[1], d[1]);
        let mut visited = 0usize;
        loop {
            if let Some(list) = self.cells.get(&cell) {
                for &i in list {
                    let Some(t) = hits(o, d, &self.triangles[i as usize], t_max) else {
                        continue;
                    };
                    let surface = self.surface_of[i as usize];
                    let through_a_hole = surface != SOLID && {
                        let p = [o[0] + t * d[0], o[1] + t * d[1], o[2] + t * d[2]];
                        self.holes[surface as usize].iter().any(|h| inside(h, p))
                    };
                    if !through_a_hole {
                        return true;
                    }
                }
            }
            let t_next = tx.min(ty);
            if t_next > t_max {
                return false;
            }
            if tx < ty {
                cell.0 += step.0;
                tx += dtx;
            } else {
                cell.1 += step.1;
                ty += dty;
            }
            visited += 1;
            // A vertical ray stays in its cell; a crafted scene must not loop for ever.
            if visited > 1_000_000 {
                return false;
            }
        }
    }
}

/// The triangles of a planar polygon's exterior ring, by ear clipping in the projection its
/// plane is least foreshortened in, so that concave roofs (L-shaped, with dormers cut out)
/// shade as they are.
pub fn triangulate(ring: &[Vec3], out: &mut Vec<[Vec3; 3]>) {
    let n = if ring.first() == ring.last() && ring.len() > 1 {
        ring.len() - 1
    } else {
        ring.len()
    };
    if n < 3 {
        return;
    }
    // Ear clipping costs n² and more; a ring of thousands of vertices is no roof or wall of a
    // building model, and is fanned instead.
    if n > MAX_EAR_CLIPPED {
        for k in 1..n - 1 {
            out.push([ring[0], ring[k], ring[k + 1]]);
        }
        return;
    }
    // Ear clipping in the plane's dominant projection.
    let normal = newell(&ring[..n]);
    let (ax, ay) = dominant_axes(normal);
    let sign = if normal[3 - ax - ay] >= 0.0 {
        1.0
    } else {
        -1.0
    };
    let p2 = |p: Vec3| (p[ax], p[ay]);
    let area2 = |a: Vec3, b: Vec3, c: Vec3| {
        let (a, b, c) = (p2(a), p2(b), p2(c));
        sign * ((b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0))
    };
    let mut idx: Vec<usize> = (0..n).collect();
    let mut guard = 0;
    while idx.len() > 3 && guard < n * n {
        guard += 1;
        let m = idx.len();
        let mut clipped = false;
        for k in 0..m {
            let (i0, i1, i2) = (idx[(k + m - 1) % m], idx[k], idx[(k + 1) % m]);
            let (a, b, c) = (ring[i0], ring[i1], ring[i2]);
            if area2(a, b, c) <= 0.0 {
                continue;
            }
            let inside = idx.iter().any(|&j| {
                j != i0 && j != i1 && j != i2 && {
                    let p = ring[j];
                    area2(a, b, p) >= 0.0 && area2(b, c, p) >= 0.0 && area2(c, a, p) >= 0.0
                }
            });
            if !inside {
                out.push([a, b, c]);
                idx.remove(k);
                clipped = true;
                break;
            }
        }
        if !clipped {
            break;
        }
    }
    // What is left (a triangle, or a degenerate rest) as a fan.
    for k in 1..idx.len().saturating_sub(1) {
        out.push([ring[idx[0]], ring[idx[k]], ring[idx[k + 1]]]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A vertical wall from (−50, 0) to (50, 0), 20 m high.
    fn wall() -> Scene {
        let mut t = Vec::new();
        triangulate(
            &[
                [-50.0, 0.0, 0.0],
                [50.0, 0.0, 0.0],
                [50.0, 0.0, 20.0],
                [-50.0, 0.0, 20.0],
                [-50.0, 0.0, 0.0],
            ],
            &mut t,
        );
        Scene::new(t)
    }

    #[test]
    fn a_wall_blocks_the_sun_behind_it_and_only_there() {
        let scene = wall();
        assert_eq!(scene.triangles(), 2);
        let south_low = super::super::irradiance::Sun {
            zenith: 70.0,
            azimuth: 180.0,
        }
        .direction();
        // 10 m north of the wall, the sun 20° high in the south: the wall's top is 45° up.
        assert!(scene.blocked([0.0, 10.0, 0.0], south_low, 300.0));
        // 80 m north: tan(20°)·80 = 29 m > 20 m, the sun clears the wall.
        assert!(!scene.blocked([0.0, 80.0, 0.0], south_low, 300.0));
        // The sun in the north does not pass the wall.
        let north = super::super::irradiance::Sun {
            zenith: 70.0,
            azimuth: 0.0,
        }
        .direction();
        assert!(!scene.blocked([0.0, 10.0, 0.0], north, 300.0));
        // Beyond the search radius nothing counts.
        assert!(!scene.blocked([0.0, 10.0, 0.0], south_low, 5.0));
        // Past the wall's end.
        assert!(!scene.blocked([60.0, 10.0, 0.0], south_low, 300.0));
    }

    #[test]
    fn the_sun_shines_through_a_courtyard() {
        // A flat roof at 10 m, 20 m × 20 m, with a 10 m × 10 m courtyard in its middle.
        let square = |a: f64, b: f64| {
            vec![
                [a, a, 10.0],
                [b, a, 10.0],
                [b, b, 10.0],
                [a, b, 10.0],
                [a, a, 10.0],
            ]
        };
        let mut builder = SceneBuilder::default();
        builder.polygon(&[square(-10.0, 10.0), square(-5.0, 5.0)]);
        let scene = builder.build();
        let up = [0.0, 0.0, 1.0];
        assert!(
            !scene.blocked([0.0, 0.0, 0.0], up, 300.0),
            "the courtyard is open"
        );
        assert!(scene.blocked([7.5, 7.5, 0.0], up, 300.0), "the roof is not");
    }

    #[test]
    fn an_l_shaped_ring_is_cut_into_triangles_that_cover_it_once() {
        let ring = [
            [0.0, 0.0, 0.0],
            [2.0, 0.0, 0.0],
            [2.0, 1.0, 0.0],
            [1.0, 1.0, 0.0],
            [1.0, 2.0, 0.0],
            [0.0, 2.0, 0.0],
            [0.0, 0.0, 0.0],
        ];
        let mut t = Vec::new();
        triangulate(&ring, &mut t);
        assert_eq!(t.len(), 4);
        let area: f64 = t
            .iter()
            .map(|[a, b, c]| {
                let n = cross(sub(*b, *a), sub(*c, *a));
                dot(n, n).sqrt() / 2.0
            })
            .sum();
        assert!((area - 3.0).abs() < 1e-12, "{area}");
    }
}
