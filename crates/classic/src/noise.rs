//! 2-D gradient (Perlin-style) noise with a seed-shuffled permutation table, and fractal sums of it.
//! Written from the algorithm's description; only exact IEEE arithmetic plus `floor`, so it is portable.

use crate::rng::Rng;

/// Twelve unit gradient directions spaced evenly around the circle (cos/sin of k*30°, rounded constants).
const GRADS: [(f64, f64); 12] = [
    (1.0, 0.0),
    (0.866_025_403_784_438_6, 0.5),
    (0.5, 0.866_025_403_784_438_6),
    (0.0, 1.0),
    (-0.5, 0.866_025_403_784_438_6),
    (-0.866_025_403_784_438_6, 0.5),
    (-1.0, 0.0),
    (-0.866_025_403_784_438_6, -0.5),
    (-0.5, -0.866_025_403_784_438_6),
    (0.0, -1.0),
    (0.5, -0.866_025_403_784_438_6),
    (0.866_025_403_784_438_6, -0.5),
];

#[derive(Clone)]
pub struct Perlin {
    perm: [u16; 512],
}

impl Perlin {
    pub fn new(rng: &mut Rng) -> Self {
        let mut p: Vec<u16> = (0..256).collect();
        rng.shuffle(&mut p);
        let mut perm = [0u16; 512];
        for i in 0..512 {
            perm[i] = p[i & 255];
        }
        Perlin { perm }
    }

    #[inline]
    fn grad(&self, ix: i64, iy: i64, dx: f64, dy: f64) -> f64 {
        let h = self.perm[(self.perm[(ix & 255) as usize] as i64 + (iy & 255)) as usize] as usize;
        let (gx, gy) = GRADS[h % 12];
        gx * dx + gy * dy
    }

    /// Noise at (x, y), roughly in [-1, 1], zero at integer lattice points, smooth (C2) everywhere.
    pub fn get(&self, x: f64, y: f64) -> f64 {
        let fx = x.floor();
        let fy = y.floor();
        let ix = fx as i64;
        let iy = fy as i64;
        let dx = x - fx;
        let dy = y - fy;
        let u = fade(dx);
        let v = fade(dy);
        let n00 = self.grad(ix, iy, dx, dy);
        let n10 = self.grad(ix + 1, iy, dx - 1.0, dy);
        let n01 = self.grad(ix, iy + 1, dx, dy - 1.0);
        let n11 = self.grad(ix + 1, iy + 1, dx - 1.0, dy - 1.0);
        let a = n00 + (n10 - n00) * u;
        let b = n01 + (n11 - n01) * u;
        // The 2-D gradient noise peaks near ±0.707; scale to use about [-1, 1].
        (a + (b - a) * v) * 1.41
    }
}

#[inline]
fn fade(t: f64) -> f64 {
    t * t * t * (t * (t * 6.0 - 15.0) + 10.0)
}

/// Fractal sum of several octaves, each with its own permutation and offset; normalized to about [-1, 1].
#[derive(Clone)]
pub struct Fbm {
    layers: Vec<(Perlin, f64, f64)>,
    lacunarity: f64,
    gain: f64,
}

impl Fbm {
    pub fn new(rng: &mut Rng, octaves: usize, lacunarity: f64, gain: f64) -> Self {
        let layers = (0..octaves.max(1))
            .map(|_| {
                let p = Perlin::new(rng);
                (p, rng.range(-1000.0, 1000.0), rng.range(-1000.0, 1000.0))
            })
            .collect();
        Fbm {
            layers,
            lacunarity,
            gain,
        }
    }

    pub fn get(&self, x: f64, y: f64) -> f64 {
        let mut freq = 1.0;
        let mut amp = 1.0;
        let mut sum = 0.0;
        let mut norm = 0.0;
        for (p, ox, oy) in &self.layers {
            sum += amp * p.get(x * freq + ox, y * freq + oy);
            norm += amp;
            freq *= self.lacunarity;
            amp *= self.gain;
        }
        sum / norm
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_on_lattice_and_bounded() {
        let n = Perlin::new(&mut Rng::new(1));
        assert_eq!(n.get(3.0, -7.0), 0.0);
        let mut r = Rng::new(2);
        let mut min: f64 = 0.0;
        let mut max: f64 = 0.0;
        for _ in 0..20000 {
            let v = n.get(r.range(-50.0, 50.0), r.range(-50.0, 50.0));
            min = min.min(v);
            max = max.max(v);
        }
        assert!(max <= 1.05 && min >= -1.05, "{min} {max}");
        assert!(max > 0.6 && min < -0.6, "noise uses its range: {min} {max}");
    }

    #[test]
    fn continuous_and_seeded() {
        let a = Perlin::new(&mut Rng::new(1));
        let b = Perlin::new(&mut Rng::new(2));
        let mut diff = 0.0;
        for i in 0..100 {
            let x = i as f64 * 0.173 + 0.05;
            let y = i as f64 * 0.091 + 0.3;
            assert!((a.get(x, y) - a.get(x + 1e-4, y)).abs() < 1e-3);
            diff += (a.get(x, y) - b.get(x, y)).abs();
        }
        assert!(diff > 1.0, "different seeds give different fields");
        let a2 = Perlin::new(&mut Rng::new(1));
        assert_eq!(a.get(1.2345, 6.789), a2.get(1.2345, 6.789));
    }

    #[test]
    fn fbm_is_normalized() {
        let f = Fbm::new(&mut Rng::new(9), 4, 2.0, 0.5);
        let mut r = Rng::new(10);
        for _ in 0..5000 {
            let v = f.get(r.range(-10.0, 10.0), r.range(-10.0, 10.0));
            assert!(v.abs() <= 1.05, "{v}");
        }
    }
}
