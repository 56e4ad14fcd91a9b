//! Small dense linear algebra in f64, shared by judging (FID's matrix square root) and exploring (SeFa,
//! GANSpace). Matrices are row-major `Vec<f64>`.
//!
//! The symmetric eigensolver reduces the matrix to tridiagonal form with Householder reflections and then
//! diagonalises it with the implicit-shift QL iteration: O(n^3) with a small constant, a few seconds at
//! n = 2048 where cyclic Jacobi took minutes.

mod eigen;
mod products;

pub use eigen::{symmetric_eigen, symmetric_eigenvalues, Eigen};
pub use products::{cholesky, matmul, matmul_bt, sqrtm_psd};
