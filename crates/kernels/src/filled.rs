//! Output buffers written in parallel without being zeroed first.
//!
//! `vec![0.0; n]` zeroes a fresh feature map on the calling thread before the parallel kernel
//! overwrites it: for the elementwise kernels that memset was a third of their time, and all of
//! it serial. Here every row is written exactly once, from an iterator, by the parallel tasks.

use rayon::prelude::*;

/// `rows` rows of `row_len` values each; row `r` holds the values of `row(r)`, which must yield
/// exactly `row_len` of them (checked). Rows are handed out in parallel, at least `min_rows` to
/// a task.
pub fn par_rows<I, F>(rows: usize, row_len: usize, min_rows: usize, row: F) -> Vec<f32>
where
    I: Iterator<Item = f32>,
    F: Fn(usize) -> I + Sync,
{
    let len = rows.checked_mul(row_len).expect("par_rows: size overflows");
    let mut out: Vec<f32> = Vec::with_capacity(len);
    if len == 0 {
        return out;
    }
    out.spare_capacity_mut()[..len]
        .par_chunks_mut(row_len)
        .with_min_len(min_rows.max(1))
        .enumerate()
        .for_each(|(r, slots)| {
            let mut written = 0;
            for (slot, v) in slots.iter_mut().zip(row(r)) {
                slot.write(v);
                written += 1;
            }
            assert_eq!(
                written, row_len,
                "par_rows: row {r} yielded {written} of {row_len} values"
            );
        });
    // SAFETY: the first `len` slots of the capacity were each written above: every row counted
    // `row_len` writes into its own disjoint chunk, or its task panicked and the panic reached
    // this thread before this line.
    unsafe { out.set_len(len) };
    out
}

/// [`par_rows`] in the shape of the elementwise kernels: rows of ~16k values per task.
pub fn min_rows_for(row_len: usize) -> usize {
    (1usize << 14).div_ceil(row_len.max(1))
}

/// `len` zeros, written in parallel: for outputs that kernels accumulate into or fill by index.
pub fn par_zeros(len: usize) -> Vec<f32> {
    const ROW: usize = 1 << 14;
    // Whole rows, then cut to length: growing past the capacity would copy everything.
    let mut out = par_rows(len.div_ceil(ROW), ROW, 1, |_| std::iter::repeat_n(0.0, ROW));
    out.truncate(len);
    out
}
