//! Gram matrices: the texture statistic of Gatys et al. (2015).

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// Gram matrices of feature maps `[N, C, H, W]`: `G[n] = F F^T / (H W)` with `F = x[n]` as `[C, H W]`,
/// i.e. the spatial average of the channel outer products (comparable across image sizes). Returns `[N, C, C]`.
pub fn gram<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 3> {
    let [n, c, h, w] = x.dims();
    let f = x.reshape([n, c, h * w]);
    f.clone().matmul(f.swap_dims(1, 2)) / (h * w) as f64
}

/// Relative Gram loss of one layer: `sum((G - T)^2) / sum(T^2)` summed over the batch, where `target` is
/// `[1, C, C]` (broadcast over the batch) or `[N, C, C]`. Dividing by the target's energy weighs every layer
/// equally whatever its activation scale; 1.0 means "as far as an all-zero image".
pub fn gram_loss<B: Backend>(g: Tensor<B, 3>, target: Tensor<B, 3>) -> Tensor<B, 1> {
    let energy = target.clone().powi_scalar(2).sum();
    (g - target).powi_scalar(2).sum() / (energy + 1e-12)
}
