//! Circular arcs (`gml:Arc`, `gml:ArcString`, `gml:Circle`, `gml:ArcByCenterPoint`) as the
//! straight segments PostGIS stores: chords whose distance from the true arc is at most the
//! tolerance (1 cm in projected CRSs) and at most 1/2000 of the radius. The area a chord cuts
//! off is about 4/3 of that distance per unit of radius, so even a whole circle keeps its
//! area within 0.07 %, and a parcel with a few arcs far better. Heights, where given, are
//! interpolated along the arc.

use std::f64::consts::TAU;

/// Largest distance of a chord from its arc: 1 cm in metres, about 1 cm in degrees.
pub const TOLERANCE_METRES: f64 = 0.01;
pub const TOLERANCE_DEGREES: f64 = 1e-7;

/// A position: x, y and perhaps z.
pub type Pos = [f64; 3];

/// The centre of the circle through three points, or `None` when they are on a line.
fn centre(a: Pos, b: Pos, c: Pos) -> Option<(f64, f64)> {
    // Relative to `a`, for precision with coordinates in the millions.
    let (bx, by) = (b[0] - a[0], b[1] - a[1]);
    let (cx, cy) = (c[0] - a[0], c[1] - a[1]);
    let d = 2.0 * (bx * cy - by * cx);
    let scale = (bx * bx + by * by).max(cx * cx + cy * cy);
    if d.abs() <= 1e-12 * scale || scale == 0.0 {
        return None;
    }
    let b2 = bx * bx + by * by;
    let c2 = cx * cx + cy * cy;
    let ux = (cy * b2 - by * c2) / d;
    let uy = (bx * c2 - cx * b2) / d;
    Some((a[0] + ux, a[1] + uy))
}

/// The largest share of the radius a chord may be off its arc.
const RELATIVE_TOLERANCE: f64 = 1.0 / 2000.0;

/// Most chords one arc becomes: a crafted radius makes the tolerance coarser, not the
/// geometry larger.
const MAX_CHORDS: f64 = 1000.0;

/// The largest angle one chord of a circle of radius `r` may span.
fn step(r: f64, tolerance: f64) -> f64 {
    let tolerance = tolerance.min(r * RELATIVE_TOLERANCE);
    if tolerance >= r || tolerance <= 0.0 {
        return std::f64::consts::FRAC_PI_2;
    }
    (2.0 * (1.0 - tolerance / r).acos()).clamp(1e-4, std::f64::consts::FRAC_PI_2)
}

/// Appends the arc from `a` through `b` to `c` to `out` (which ends with `a`): the chord
/// points after `a`, ending with `c` exactly. Three points on a line are a straight segment.
pub fn arc(a: Pos, b: Pos, c: Pos, tolerance: f64, out: &mut Vec<Pos>) {
    let Some((ux, uy)) = centre(a, b, c) else {
        out.push(b);
        out.push(c);
        return;
    };
    let angle = |p: Pos| (p[1] - uy).atan2(p[0] - ux);
    let (ta, tb, tc) = (angle(a), angle(b), angle(c));
    // Counter-clockwise sweeps from a to c; the arc runs the way that passes b.
    let ccw_to_c = (tc - ta).rem_euclid(TAU);
    let ccw_to_b = (tb - ta).rem_euclid(TAU);
    let sweep = if ccw_to_b <= ccw_to_c {
        ccw_to_c
    } else {
        ccw_to_c - TAU
    };
    sweep_from(a, (ux, uy), sweep, c, tolerance, out);
}

/// Appends the whole circle through `a`, `b` and `c`, starting and ending at `a`.
pub fn circle(a: Pos, b: Pos, c: Pos, tolerance: f64, out: &mut Vec<Pos>) -> bool {
    let Some((ux, uy)) = centre(a, b, c) else {
        return false;
    };
    let angle = |p: Pos| (p[1] - uy).atan2(p[0] - ux);
    let ccw = (angle(b) - angle(a)).rem_euclid(TAU) <= (angle(c) - angle(a)).rem_euclid(TAU);
    let sweep = if ccw { TAU } else { -TAU };
    sweep_from(a, (ux, uy), sweep, a, tolerance, out);
    true
}

/// Appends the arc of radius `r` around `centre` from `start` to `end` (degrees,
/// counter-clockwise when `end > start`), its first point included.
pub fn by_centre(
    centre: Pos,
    r: f64,
    start_deg: f64,
    end_deg: f64,
    tolerance: f64,
    out: &mut Vec<Pos>,
) {
    let (s, e) = (start_deg.to_radians(), end_deg.to_radians());
    let at = |t: f64| [centre[0] + r * t.cos(), centre[1] + r * t.sin(), centre[2]];
    let first = at(s);
    out.push(first);
    sweep_from(first, (centre[0], centre[1]), e - s, at(e), tolerance, out);
}

fn sweep_from(
    a: Pos,
    (ux, uy): (f64, f64),
    sweep: f64,
    end: Pos,
    tolerance: f64,
    out: &mut Vec<Pos>,
) {
    let r = (a[0] - ux).hypot(a[1] - uy);
    let t0 = (a[1] - uy).atan2(a[0] - ux);
    let n = (sweep.abs() / step(r, tolerance))
        .ceil()
        .clamp(1.0, MAX_CHORDS) as usize;
    for i in 1..n {
        let f = i as f64 / n as f64;
        let t = t0 + sweep * f;
        out.push([
            ux + r * t.cos(),
            uy + r * t.sin(),
            a[2] + (end[2] - a[2]) * f,
        ]);
    }
    out.push(end);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(ring: &[Pos]) -> f64 {
        ring.windows(2)
            .map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1])
            .sum::<f64>()
            / 2.0
    }

    #[test]
    fn a_half_circle_closes_on_its_diameter_with_the_true_area() {
        let r = 10.0;
        // Upper half, counter-clockwise from (r, 0) through (0, r) to (-r, 0).
        let mut ring = vec![[r, 0.0, 0.0]];
        arc(
            [r, 0.0, 0.0],
            [0.0, r, 0.0],
            [-r, 0.0, 0.0],
            TOLERANCE_METRES,
            &mut ring,
        );
        ring.push([r, 0.0, 0.0]);
        let exact = std::f64::consts::PI * r * r / 2.0;
        assert!(
            (area(&ring) - exact).abs() / exact < 1e-3,
            "{}",
            area(&ring)
        );
        // Every chord point is on the circle.
        for p in &ring {
            assert!((p[0].hypot(p[1]) - r).abs() < 1e-9 || p[1] == 0.0);
        }
        // Clockwise: the lower half, through (0, -r).
        let mut lower = vec![[r, 0.0, 0.0]];
        arc(
            [r, 0.0, 0.0],
            [0.0, -r, 0.0],
            [-r, 0.0, 0.0],
            TOLERANCE_METRES,
            &mut lower,
        );
        assert!(lower.iter().all(|p| p[1] <= 1e-9));
    }

    #[test]
    fn a_full_circle_and_a_straight_arc() {
        let mut ring = vec![[1.0, 0.0, 0.0]];
        assert!(circle(
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [-1.0, 0.0, 0.0],
            1e-4,
            &mut ring
        ));
        let exact = std::f64::consts::PI;
        assert!((area(&ring) - exact).abs() / exact < 7e-4);
        let mut line = vec![[0.0, 0.0, 0.0]];
        arc(
            [0.0, 0.0, 0.0],
            [1.0, 1.0, 0.0],
            [2.0, 2.0, 0.0],
            0.01,
            &mut line,
        );
        assert_eq!(line.len(), 3);
    }
}
