//! Layout changes done in parallel with contiguous inner copies, where a tensor library's
//! generic strided iteration walks one element at a time.

use crate::filled::par_rows;

/// `[a][b][inner]` -> `[b][a][inner]`: swaps the two leading axes (e.g. the output and input
/// channels of a convolution's weights).
pub fn swap_leading(x: &[f32], a: usize, b: usize, inner: usize) -> Vec<f32> {
    assert_eq!(
        x.len(),
        a * b * inner,
        "swap_leading: {} values for {a} x {b} x {inner}",
        x.len()
    );
    par_rows(b, a * inner, 1, |j| {
        (0..a).flat_map(move |i| x[(i * b + j) * inner..][..inner].iter().copied())
    })
}
