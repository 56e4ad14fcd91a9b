//! Convolutions and elementwise passes through bestiary's own CPU kernels (`bestiary-kernels`)
//! where they beat Burn Flex's: [`winograd`] for 3x3 stride-1 convolutions, [`gemm_conv`] for
//! strided, transposed and 1x1 ones, [`fir_op`] for FIR resampling, [`swap_op`] for the weight
//! transposition before a transposed convolution, [`rows_op`] for the style (de)modulation,
//! [`bias_act_op`] for the fused bias + activation; and [`try_adam_step`], one parallel pass per
//! parameter for the optimizer. Each op is a backend extension trait implemented for Flex (the
//! kernels) and for any `Autodiff<B>` (custom ops whose backward passes are again these ops).
//!
//! The networks stay generic over `Backend`: the `try_*` functions check at run time whether the
//! concrete backend is Flex or (nested) Autodiff of Flex and otherwise hand the tensors back for
//! Burn's own ops (the infallible helpers fall back by themselves). `BESTIARY_CPU_KERNELS=0`
//! turns the whole path off, for comparisons.

pub mod bias_act_op;
pub mod fir_op;
pub mod gemm_conv;
pub mod rows_op;
pub mod swap_op;
pub mod winograd;

use std::any::Any;

use burn::backend::{Autodiff, Flex};
use bestiary_kernels::adam::adam_step;
pub use bestiary_kernels::adam::AdamStep;
use bestiary_kernels::bias_act::BiasAct;
use burn::tensor::{backend::Backend, DType, Tensor, TensorMetadata, TensorPrimitive};

pub use bias_act_op::BiasActBackend;
pub use fir_op::FirBackend;
pub use gemm_conv::{ConvSpec, GemmConvBackend};
pub use rows_op::RowsBackend;
pub use swap_op::SwapBackend;
pub use winograd::Conv3x3Backend;

/// The kernels' view of a Flex tensor: f32 (the dispatch admits nothing else), contiguous.
fn flex_f32(t: burn::tensor::ops::FloatTensor<Flex>) -> burn_flex::FlexTensor {
    assert_eq!(t.dtype(), DType::F32, "bestiary CPU kernels: f32 tensors only");
    t.to_contiguous()
}

/// Moves `t` into type `U` when it already is one (a run-time check of a generic parameter).
fn cast<T: 'static, U: 'static>(t: T) -> Result<U, T> {
    let mut slot = Some(t);
    match (&mut slot as &mut dyn Any).downcast_mut::<Option<U>>() {
        Some(u) => Ok(u.take().expect("slot is filled")),
        None => Err(slot.expect("slot is filled")),
    }
}

type Pair<B> = (Tensor<B, 4>, Tensor<B, 4>);

/// Runs `op` on the pair when `B` is `F`, else hands the pair back.
fn run_as<B: Backend, F: Backend>(
    pair: Pair<B>,
    op: impl FnOnce(Tensor<F, 4>, Tensor<F, 4>) -> Tensor<F, 4>,
) -> Result<Tensor<B, 4>, Pair<B>> {
    let (x, w) = cast::<Pair<B>, Pair<F>>(pair)?;
    cast::<Tensor<F, 4>, Tensor<B, 4>>(op(x, w)).map_err(|_| unreachable!("F is B"))
}

fn float<B: Backend>(t: Tensor<B, 4>) -> burn::tensor::ops::FloatTensor<B> {
    t.into_primitive().tensor()
}

fn tensor<B: Backend>(t: burn::tensor::ops::FloatTensor<B>) -> Tensor<B, 4> {
    Tensor::from_primitive(TensorPrimitive::Float(t))
}

/// Whether `BESTIARY_CPU_KERNELS=0` turned our kernels off.
fn disabled() -> bool {
    static OFF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *OFF.get_or_init(|| std::env::var("BESTIARY_CPU_KERNELS").is_ok_and(|v| v == "0"))
}

fn eligible<B: Backend>(x: &Tensor<B, 4>, w: &Tensor<B, 4>) -> bool {
    x.dtype() == DType::F32 && w.dtype() == DType::F32 && !disabled()
}

/// Dispatches `$op` (a generic function of the concrete backend) over Flex, Autodiff<Flex> and
/// Autodiff<Autodiff<Flex>>.
macro_rules! dispatch {
    ($pair:expr, $op:ident $(, $arg:expr)*) => {
        run_as::<B, Flex>($pair, |x, w| $op::<Flex>(x, w $(, $arg)*))
            .or_else(|p| run_as::<B, Autodiff<Flex>>(p, |x, w| $op::<Autodiff<Flex>>(x, w $(, $arg)*)))
            .or_else(|p| run_as::<B, Autodiff<Autodiff<Flex>>>(p, |x, w| $op::<Autodiff<Autodiff<Flex>>>(x, w $(, $arg)*)))
    };
}

fn conv3x3_on<F: Conv3x3Backend>(x: Tensor<F, 4>, w: Tensor<F, 4>) -> Tensor<F, 4> {
    tensor(F::conv3x3(float(x), float(w)))
}

fn conv_on<F: GemmConvBackend>(x: Tensor<F, 4>, w: Tensor<F, 4>, spec: ConvSpec) -> Tensor<F, 4> {
    tensor(F::conv(float(x), float(w), spec))
}

fn transposed_on<F: GemmConvBackend>(x: Tensor<F, 4>, w: Tensor<F, 4>, spec: ConvSpec, out_hw: [usize; 2]) -> Tensor<F, 4> {
    tensor(F::conv_adjoint(float(x), float(w), spec, out_hw))
}

/// `conv2d(x, w, padding=1)` through the Winograd kernels when `B` is Flex or (nested) Autodiff
/// of Flex and the tensors are f32 with a 3x3 kernel; otherwise the tensors come back unchanged.
pub fn try_conv3x3<B: Backend>(x: Tensor<B, 4>, w: Tensor<B, 4>) -> Result<Tensor<B, 4>, Pair<B>> {
    let [_, _, kh, kw] = w.dims();
    if kh != 3 || kw != 3 || !eligible(&x, &w) {
        return Err((x, w));
    }
    dispatch!((x, w), conv3x3_on)
}

/// `conv2d(x, w, stride, padding, groups)` through the fastest kernel that applies (Winograd for
/// 3x3 stride 1 padding 1, else im2col), or the tensors back for Burn's own convolution.
pub fn try_conv2d<B: Backend>(x: Tensor<B, 4>, w: Tensor<B, 4>, spec: ConvSpec, groups: usize) -> Result<Tensor<B, 4>, Pair<B>> {
    if groups != 1 {
        return Err((x, w));
    }
    if spec.stride == [1, 1] && spec.padding == [1, 1] {
        try_conv3x3(x, w).or_else(|(x, w)| try_conv(x, w, spec))
    } else {
        try_conv(x, w, spec)
    }
}

/// Channels below which Flex's own direct paths win for spatial kernels (FIR filters folded per
/// channel); 1x1 convolutions (RGB layers) are single GEMMs here whatever their width.
const MIN_CHANNELS: usize = 8;

/// `conv2d(x, w, stride, padding)` (one group) through the im2col kernels, or the tensors back.
pub fn try_conv<B: Backend>(x: Tensor<B, 4>, w: Tensor<B, 4>, spec: ConvSpec) -> Result<Tensor<B, 4>, Pair<B>> {
    let [_, c_in, h, wd] = x.dims();
    let [_, wc, kh, kw] = w.dims();
    let fits = h + 2 * spec.padding[0] >= kh && wd + 2 * spec.padding[1] >= kw && spec.stride.iter().all(|s| *s > 0);
    if (c_in < MIN_CHANNELS && kh * kw > 1) || wc != c_in || !fits || !eligible(&x, &w) {
        return Err((x, w));
    }
    dispatch!((x, w), conv_on, spec)
}

/// `conv_transpose2d(x, w, stride, padding, groups)` (no output padding; `w: [I, O, kh, kw]`)
/// through the im2col kernels when `groups` is 1, or the tensors back.
pub fn try_conv_transpose<B: Backend>(
    x: Tensor<B, 4>,
    w: Tensor<B, 4>,
    spec: ConvSpec,
    groups: usize,
) -> Result<Tensor<B, 4>, Pair<B>> {
    if groups != 1 {
        return Err((x, w));
    }
    let [_, c_in, h, wd] = x.dims();
    let [wi, c_out, kh, kw] = w.dims();
    let size = |n: usize, s: usize, p: usize, k: usize| ((n.max(1) - 1) * s + k).checked_sub(2 * p).filter(|v| *v > 0);
    let out = size(h, spec.stride[0], spec.padding[0], kh).zip(size(wd, spec.stride[1], spec.padding[1], kw));
    let Some((oh, ow)) = out else { return Err((x, w)) };
    if c_out < MIN_CHANNELS || wi != c_in || h == 0 || wd == 0 || !eligible(&x, &w) {
        return Err((x, w));
    }
    dispatch!((x, w), transposed_on, spec, [oh, ow])
}

fn fir_on<F: FirBackend>(x: Tensor<F, 4>, g: &std::sync::Arc<bestiary_kernels::fir::FirGeom>) -> Tensor<F, 4> {
    tensor(F::fir(float(x), g))
}

fn run_one<B: Backend, F: Backend>(x: Tensor<B, 4>, op: impl FnOnce(Tensor<F, 4>) -> Tensor<F, 4>) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
    let x = cast::<Tensor<B, 4>, Tensor<F, 4>>(x)?;
    cast::<Tensor<F, 4>, Tensor<B, 4>>(op(x)).map_err(|_| unreachable!("F is B"))
}

/// `upfirdn2d(x, kernel, up, down, pad)` with a correlation kernel `[kh][kw]` (already flipped
/// and scaled; optionally as two 1D factors) through the direct kernel, or `x` back.
pub fn try_fir<B: Backend>(
    x: Tensor<B, 4>,
    kernel: Vec<f32>,
    separable: Option<(Vec<f32>, Vec<f32>)>,
    [kh, kw]: [usize; 2],
    up: usize,
    down: usize,
    pad: [isize; 4],
) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
    let [n, c, height, width] = x.dims();
    let g = bestiary_kernels::fir::FirGeom { planes: n * c, height, width, up, down, pad, kernel, kh, kw, separable };
    if x.dtype() != DType::F32 || disabled() || g.output().is_none() || g.kernel.len() != kh * kw {
        return Err(x);
    }
    let g = std::sync::Arc::new(g);
    run_one::<B, Flex>(x, |x| fir_on::<Flex>(x, &g))
        .or_else(|x| run_one::<B, Autodiff<Flex>>(x, |x| fir_on::<Autodiff<Flex>>(x, &g)))
        .or_else(|x| run_one::<B, Autodiff<Autodiff<Flex>>>(x, |x| fir_on::<Autodiff<Autodiff<Flex>>>(x, &g)))
}

type BiasActArgs<B, const D: usize> = (Tensor<B, D>, Option<Tensor<B, 1>>);

fn bias_act_on<B: Backend, F: BiasActBackend>(args: BiasActArgs<B, 3>, p: &BiasAct) -> Result<Tensor<B, 3>, BiasActArgs<B, 3>> {
    let (x, b) = cast::<BiasActArgs<B, 3>, BiasActArgs<F, 3>>(args)?;
    let y = F::bias_act(x.into_primitive().tensor(), b.map(|b| b.into_primitive().tensor()), p);
    cast::<Tensor<F, 3>, Tensor<B, 3>>(Tensor::from_primitive(TensorPrimitive::Float(y))).map_err(|_| unreachable!("F is B"))
}

/// `clamp(act(x + b) * gain)` (`act` linear for `slope` 1, leaky ReLU otherwise; `b` along
/// dimension 1) through the fused kernel, or the arguments back for the composed ops.
pub fn try_bias_act<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    bias: Option<Tensor<B, 1>>,
    slope: f32,
    gain: f32,
    clamp: Option<f32>,
) -> Result<Tensor<B, D>, BiasActArgs<B, D>> {
    let dims = x.dims();
    let f32s = x.dtype() == DType::F32 && bias.as_ref().is_none_or(|b| b.dtype() == DType::F32);
    let fits = D >= 2 && bias.as_ref().is_none_or(|b| b.dims()[0] == dims[1]) && dims.iter().all(|d| *d > 0);
    // NaN gains and clamps fail these comparisons and take the composed path too.
    let constants_ok = gain > 0.0 && clamp.is_none_or(|c| c >= 0.0);
    if !f32s || !fits || disabled() || !constants_ok {
        return Err((x, bias));
    }
    let (n, channels) = (dims[0], dims[1]);
    let plane = dims[2..].iter().product();
    let p = BiasAct { channels, plane, slope, gain, clamp };
    let args = (x.reshape([n, channels, plane]), bias);
    bias_act_on::<B, Flex>(args, &p)
        .or_else(|a| bias_act_on::<B, Autodiff<Flex>>(a, &p))
        .or_else(|a| bias_act_on::<B, Autodiff<Autodiff<Flex>>>(a, &p))
        .map(|y| y.reshape(dims))
        .map_err(|(x, b)| (x.reshape(dims), b))
}

type AdamArgs<B> = [Tensor<B, 1>; 4];

/// One Adam step of a flat parameter `p` with gradient `g` and moments `m`, `v` through the
/// parallel kernel: the new `[p, m, v]`, or the arguments back when `B` is not Flex.
pub fn try_adam_step<B: Backend>(args: AdamArgs<B>, s: AdamStep) -> Result<[Tensor<B, 1>; 3], AdamArgs<B>> {
    if args.iter().any(|t| t.dtype() != DType::F32) || disabled() {
        return Err(args);
    }
    let [p, g, m, v] = cast::<AdamArgs<B>, AdamArgs<Flex>>(args)?.map(|t| flex_f32(t.into_primitive().tensor()));
    let (mut m, mut v) = (m, v);
    let p_new = adam_step(p.storage::<f32>(), g.storage::<f32>(), m.storage_mut::<f32>(), v.storage_mut::<f32>(), s);
    let p_new = burn_flex::FlexTensor::from_data(burn::tensor::TensorData::new(p_new, p.shape()));
    let out = [p_new, m, v].map(|t| Tensor::<Flex, 1>::from_primitive(TensorPrimitive::Float(t)));
    Ok(cast::<[Tensor<Flex, 1>; 3], [Tensor<B, 1>; 3]>(out).unwrap_or_else(|_| unreachable!("Flex is B")))
}

fn swap_on<B: Backend, F: SwapBackend>(x: Tensor<B, 4>) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
    run_one::<B, F>(x, |x| tensor(F::swap_leading(float(x))))
}

/// `x.swap_dims(0, 1)` materialised by a parallel copy on the CPU backend (a strided view there
/// makes every later op and gradient walk it element by element); a view elsewhere.
pub fn swap_leading<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    if x.dtype() != DType::F32 || disabled() {
        return x.swap_dims(0, 1);
    }
    swap_on::<B, Flex>(x)
        .or_else(swap_on::<B, Autodiff<Flex>>)
        .or_else(swap_on::<B, Autodiff<Autodiff<Flex>>>)
        .unwrap_or_else(|x| x.swap_dims(0, 1))
}

fn scale_on<B: Backend, F: RowsBackend>(x: Tensor<B, 4>, s: Tensor<B, 2>) -> Result<Tensor<B, 4>, (Tensor<B, 4>, Tensor<B, 2>)> {
    let (x, s) = cast::<(Tensor<B, 4>, Tensor<B, 2>), (Tensor<F, 4>, Tensor<F, 2>)>((x, s))?;
    let y = tensor(F::scale_channels(float(x), s.into_primitive().tensor()));
    cast::<Tensor<F, 4>, Tensor<B, 4>>(y).map_err(|_| unreachable!("F is B"))
}

/// `x * s` with `x: [N, C, H, W]` and one factor per (sample, channel) `s: [N, C]`: one parallel
/// pass (and one per gradient) on the CPU backend, a broadcast multiply elsewhere.
pub fn scale_channels<B: Backend>(x: Tensor<B, 4>, s: Tensor<B, 2>) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    assert_eq!(s.dims(), [n, c], "scale_channels: one factor per sample and channel");
    let fast = x.dtype() == DType::F32 && s.dtype() == DType::F32 && h * w > 0 && !disabled();
    let fallback = |(x, s): (Tensor<B, 4>, Tensor<B, 2>)| x * s.reshape([n, c, 1, 1]);
    if !fast {
        return fallback((x, s));
    }
    scale_on::<B, Flex>(x, s)
        .or_else(|(x, s)| scale_on::<B, Autodiff<Flex>>(x, s))
        .or_else(|(x, s)| scale_on::<B, Autodiff<Autodiff<Flex>>>(x, s))
        .unwrap_or_else(fallback)
}
