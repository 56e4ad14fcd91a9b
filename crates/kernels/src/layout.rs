//! Layout changes done in parallel with contiguous inner copies, where a tensor library's
//! generic strided iteration walks one element at a time.

use rayon::prelude::*;

/// `[a][b][inner]` -> `[b][a][inner]`: swaps the two leading axes (e.g. the output and input
/// channels of a convolution's weights).
pub fn swap_leading(x: &[f32], a: usize, b: usize, inner: usize) -> Vec<f32> {
    assert_eq!(x.len(), a * b * inner, "swap_leading: {} values for {a} x {b} x {inner}", x.len());
    let mut y = vec![0f32; x.len()];
    if y.is_empty() {
        return y;
    }
    y.par_chunks_mut(a * inner).enumerate().for_each(|(j, row)| {
        for (i, out) in row.chunks_mut(inner).enumerate() {
            out.copy_from_slice(&x[(i * b + j) * inner..][..inner]);
        }
    });
    y
}
