//! How the kernels spread a batch over threads: runs of consecutive images, one per task when
//! there are several runs, otherwise threads inside each GEMM.

use rayon::prelude::*;

use crate::matmul::Parallelism;

/// Images per run (at most `max_images`, and few enough that every thread gets one) and the
/// GEMM threading that goes with it.
pub fn split(batch: usize, max_images: usize) -> (usize, Parallelism) {
    let threads = rayon::current_num_threads();
    let images = max_images.min(batch.div_ceil(threads)).max(1);
    if batch > images && threads > 1 {
        (images, Parallelism::None)
    } else if threads > 1 {
        (batch.max(1), Parallelism::Rayon(0))
    } else {
        (batch.max(1), Parallelism::None)
    }
}

/// Sums, over the runs of `run` images that start at 0, run, 2 run, ..., what `accumulate(first,
/// acc)` adds into a zeroed buffer of `len` values; runs proceed in parallel.
pub fn sum_over_runs(
    batch: usize,
    run: usize,
    len: usize,
    accumulate: impl Fn(usize, &mut Vec<f32>) + Sync,
) -> Vec<f32> {
    (0..batch)
        .into_par_iter()
        .step_by(run.max(1))
        .fold(
            || vec![0f32; len],
            |mut acc, first| {
                accumulate(first, &mut acc);
                acc
            },
        )
        .reduce(
            || vec![0f32; len],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(p, q)| *p += q);
                a
            },
        )
}
