//! A bounds-checked front for the `gemm` crate's strided f32 product.

pub use gemm::Parallelism;

/// A strided view of a matrix inside a slice: element (r, c) is `data[r * row_stride + c * col_stride]`.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl View<'_> {
    /// One past the largest index the view touches (0 for an empty view).
    fn extent(&self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            0
        } else {
            (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride + 1
        }
    }
}

/// `dst = lhs · rhs` (or `dst += lhs · rhs` with `accumulate`), `dst` row-major with row stride
/// `dst_row_stride`.
pub fn matmul(
    dst: &mut [f32],
    dst_row_stride: usize,
    lhs: View,
    rhs: View,
    accumulate: bool,
    par: Parallelism,
) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert_eq!(rhs.rows, k, "matmul: inner dimensions differ");
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        lhs.extent() <= lhs.data.len() && rhs.extent() <= rhs.data.len(),
        "matmul: operand out of bounds"
    );
    assert!(
        n <= dst_row_stride || m == 1,
        "matmul: destination rows overlap"
    );
    assert!(
        (m - 1) * dst_row_stride + n <= dst.len(),
        "matmul: destination out of bounds"
    );
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                dst[r * dst_row_stride..r * dst_row_stride + n].fill(0.0);
            }
        }
        return;
    }
    // SAFETY: every index gemm reads or writes lies inside the extents asserted above, the
    // destination rows do not overlap, and `dst` is borrowed mutably apart from the operands.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_row_stride as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}
