//! Nearest neighbours in a feature space (Inception pool3 for images) and the memorization check built on
//! them: a generated image much closer to a training image than training images are to one another is
//! likely a copy.

use rayon::prelude::*;

/// One neighbour: its index in the reference set and the Euclidean distance to it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Neighbour {
    pub index: usize,
    pub distance: f64,
}

fn distance(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// The `k` nearest references of each query, nearest first (ties by index). Distances are computed
/// directly (not as |a|^2 + |b|^2 - 2ab), so an exact copy is at distance 0.
pub fn nearest(queries: &[Vec<f32>], refs: &[Vec<f32>], k: usize) -> Vec<Vec<Neighbour>> {
    queries
        .par_iter()
        .map(|q| k_nearest(q, refs, k, None))
        .collect()
}

fn k_nearest(q: &[f32], refs: &[Vec<f32>], k: usize, skip: Option<usize>) -> Vec<Neighbour> {
    let mut all: Vec<Neighbour> = refs
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != skip)
        .map(|(index, r)| Neighbour {
            index,
            distance: distance(q, r),
        })
        .collect();
    let k = k.min(all.len());
    let by = |a: &Neighbour, b: &Neighbour| {
        a.distance
            .total_cmp(&b.distance)
            .then(a.index.cmp(&b.index))
    };
    if k < all.len() && k > 0 {
        all.select_nth_unstable_by(k - 1, by);
    }
    all.truncate(k);
    all.sort_by(by);
    all
}

/// How far apart the references themselves are: the distance from each of (at most `max` evenly spaced)
/// references to its nearest other reference, sorted ascending. Needs at least two references.
pub fn reference_spacing(refs: &[Vec<f32>], max: usize) -> Vec<f64> {
    if refs.len() < 2 || max == 0 {
        return Vec::new();
    }
    let step = refs.len().div_ceil(max).max(1);
    let picked: Vec<usize> = (0..refs.len()).step_by(step).collect();
    let mut d: Vec<f64> = picked
        .par_iter()
        .map(|&i| k_nearest(&refs[i], refs, 1, Some(i))[0].distance)
        .collect();
    d.sort_by(f64::total_cmp);
    d
}

/// The memorization check: a query whose nearest reference is closer than `ratio` times the median
/// reference-to-reference spacing is flagged as a likely copy.
#[derive(Clone, Debug)]
pub struct CopyCheck {
    /// Median distance from a reference to its nearest other reference.
    pub median_spacing: f64,
    /// Distances below this are flagged.
    pub threshold: f64,
}

impl CopyCheck {
    /// `ratio` is typically 0.5; `max` bounds the references used to measure the spacing.
    pub fn calibrate(refs: &[Vec<f32>], ratio: f64, max: usize) -> Option<CopyCheck> {
        let spacing = reference_spacing(refs, max);
        if spacing.is_empty() {
            return None;
        }
        let median_spacing = spacing[spacing.len() / 2];
        Some(CopyCheck {
            median_spacing,
            threshold: ratio * median_spacing,
        })
    }

    pub fn is_copy(&self, distance: f64) -> bool {
        distance < self.threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_are_sorted_and_exact_copies_are_at_zero() {
        let refs = vec![
            vec![0.0, 0.0],
            vec![3.0, 4.0],
            vec![1.0, 0.0],
            vec![10.0, 0.0],
        ];
        let q = vec![vec![3.0, 4.0], vec![0.4, 0.0]];
        let n = nearest(&q, &refs, 2);
        assert_eq!(
            n[0][0],
            Neighbour {
                index: 1,
                distance: 0.0
            }
        );
        assert_eq!(n[0][1].index, 2);
        assert!((n[0][1].distance - 20f64.sqrt()).abs() < 1e-12);
        assert_eq!((n[1][0].index, n[1][1].index), (0, 2));
        assert_eq!(
            nearest(&q, &refs, 10)[0].len(),
            4,
            "k is capped at the reference count"
        );
    }

    #[test]
    fn copy_check_flags_points_much_closer_than_the_reference_spacing() {
        // References on a line, 1 apart: spacing 1 everywhere.
        let refs: Vec<Vec<f32>> = (0..20).map(|i| vec![i as f32, 0.0]).collect();
        let check = CopyCheck::calibrate(&refs, 0.5, 100).unwrap();
        assert_eq!(check.median_spacing, 1.0);
        let n = nearest(&[vec![7.1, 0.0], vec![7.5, 0.3]], &refs, 1);
        assert!(check.is_copy(n[0][0].distance));
        assert!(!check.is_copy(n[1][0].distance));
        assert!(CopyCheck::calibrate(&refs[..1], 0.5, 100).is_none());
    }
}
