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

use bestiary_kernels::adam::adam_step;
pub use bestiary_kernels::adam::AdamStep;
use bestiary_kernels::bias_act::BiasAct;
use burn::backend::{Autodiff, Flex};
use burn::tensor::{backend::Backend, DType, Tensor, TensorMetadata, TensorPrimitive};

pub use bias_act_op::BiasActBackend;
pub use fir_op::FirBackend;
pub use gemm_conv::{ConvSpec, GemmConvBackend};
pub use rows_op::RowsBackend;
pub use swap_op::SwapBackend;
pub use winograd::Conv3x3Backend;

/// The kernels' view of a Flex tensor: f32 (the dispatch admits nothing else), contiguous.
fn flex_f32(t: burn::tensor::ops::FloatTensor<Flex>) -> burn_flex::FlexTensor {
    assert_eq!(
        t.dtype(),
        DType::F32,
        "bestiary CPU kernels: f32 tensors only"
    );
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

/// Runs `op` on `args` when they already are of type `A` (the same tensors on a concrete
/// backend `F`) and returns its result as `Out` (the same type on `B`); else hands `args` back.
fn run_on<In: 'static, A: 'static, R: 'static, Out: 'static>(
    args: In,
    op: impl FnOnce(A) -> R,
) -> Result<Out, In> {
    let a = cast::<In, A>(args)?;
    Ok(cast::<R, Out>(op(a))
        .unwrap_or_else(|_| unreachable!("the result lives on the arguments' backend")))
}

fn float<B: Backend>(t: Tensor<B, 4>) -> burn::tensor::ops::FloatTensor<B> {
    t.into_primitive().tensor()
}

fn tensor<B: Backend>(t: burn::tensor::ops::FloatTensor<B>) -> Tensor<B, 4> {
    Tensor::from_primitive(TensorPrimitive::Float(t))
}

/// Set while [`without_kernels`] runs.
static FORCED_OFF: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether `BESTIARY_CPU_KERNELS=0` (or [`without_kernels`]) turned our kernels off.
fn disabled() -> bool {
    static OFF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    FORCED_OFF.load(std::sync::atomic::Ordering::Relaxed)
        || *OFF.get_or_init(|| std::env::var("BESTIARY_CPU_KERNELS").is_ok_and(|v| v == "0"))
}

/// Runs `f` with bestiary's CPU kernels off in the whole process: Burn's own ops, the path every
/// other backend takes (what the CPU's device-parity check compares the kernels against).
pub fn without_kernels<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            FORCED_OFF.store(self.0, std::sync::atomic::Ordering::Relaxed);
        }
    }
    let _restore = Restore(FORCED_OFF.swap(true, std::sync::atomic::Ordering::Relaxed));
    f()
}

fn eligible<B: Backend>(x: &Tensor<B, 4>, w: &Tensor<B, 4>) -> bool {
    x.dtype() == DType::F32 && w.dtype() == DType::F32 && !disabled()
}

/// Tries `$on::<B, F>(args, extra...)` for `F` = Flex, Autodiff<Flex>, Autodiff<Autodiff<Flex>>
/// in turn (each `*_on` is a [`run_on`] that hands the arguments back unless `B` is `F`).
macro_rules! on_cpu_backends {
    ($args:expr, $on:ident $(, $extra:expr)*) => {
        $on::<B, Flex>($args $(, $extra)*)
            .or_else(|a| $on::<B, Autodiff<Flex>>(a $(, $extra)*))
            .or_else(|a| $on::<B, Autodiff<Autodiff<Flex>>>(a $(, $extra)*))
    };
}

fn conv3x3_on<B: Backend, F: Conv3x3Backend>(p: Pair<B>) -> Result<Tensor<B, 4>, Pair<B>> {
    run_on(p, |(x, w): Pair<F>| {
        tensor::<F>(F::conv3x3(float(x), float(w)))
    })
}

fn conv_on<B: Backend, F: GemmConvBackend>(
    p: Pair<B>,
    spec: ConvSpec,
) -> Result<Tensor<B, 4>, Pair<B>> {
    run_on(p, |(x, w): Pair<F>| {
        tensor::<F>(F::conv(float(x), float(w), spec))
    })
}

fn transposed_on<B: Backend, F: GemmConvBackend>(
    p: Pair<B>,
    spec: ConvSpec,
    out_hw: [usize; 2],
) -> Result<Tensor<B, 4>, Pair<B>> {
    run_on(p, |(x, w): Pair<F>| {
        tensor::<F>(F::conv_adjoint(float(x), float(w), spec, out_hw))
    })
}

/// `conv2d(x, w, padding=1)` through the Winograd kernels when `B` is Flex or (nested) Autodiff
/// of Flex and the tensors are f32 with a 3x3 kernel; otherwise the tensors come back unchanged.
pub fn try_conv3x3<B: Backend>(x: Tensor<B, 4>, w: Tensor<B, 4>) -> Result<Tensor<B, 4>, Pair<B>> {
    let [_, _, kh, kw] = w.dims();
    if kh != 3 || kw != 3 || !eligible(&x, &w) {
        return Err((x, w));
    }
    on_cpu_backends!((x, w), conv3x3_on)
}

/// `conv2d(x, w, stride, padding, groups)` through the fastest kernel that applies (Winograd for
/// 3x3 stride 1 padding 1, else im2col), or the tensors back for Burn's own convolution.
pub fn try_conv2d<B: Backend>(
    x: Tensor<B, 4>,
    w: Tensor<B, 4>,
    spec: ConvSpec,
    groups: usize,
) -> Result<Tensor<B, 4>, Pair<B>> {
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
pub fn try_conv<B: Backend>(
    x: Tensor<B, 4>,
    w: Tensor<B, 4>,
    spec: ConvSpec,
) -> Result<Tensor<B, 4>, Pair<B>> {
    let [_, c_in, h, wd] = x.dims();
    let [_, wc, kh, kw] = w.dims();
    let fits = h + 2 * spec.padding[0] >= kh
        && wd + 2 * spec.padding[1] >= kw
        && spec.stride.iter().all(|s| *s > 0);
    if (c_in < MIN_CHANNELS && kh * kw > 1) || wc != c_in || !fits || !eligible(&x, &w) {
        return Err((x, w));
    }
    on_cpu_backends!((x, w), conv_on, spec)
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
    let size = |n: usize, s: usize, p: usize, k: usize| {
        ((n.max(1) - 1) * s + k)
            .checked_sub(2 * p)
            .filter(|v| *v > 0)
    };
    let out = size(h, spec.stride[0], spec.padding[0], kh).zip(size(
        wd,
        spec.stride[1],
        spec.padding[1],
        kw,
    ));
    let Some((oh, ow)) = out else {
        return Err((x, w));
    };
    if c_out < MIN_CHANNELS || wi != c_in || h == 0 || wd == 0 || !eligible(&x, &w) {
        return Err((x, w));
    }
    on_cpu_backends!((x, w), transposed_on, spec, [oh, ow])
}

fn fir_on<B: Backend, F: FirBackend>(
    x: Tensor<B, 4>,
    g: &std::sync::Arc<bestiary_kernels::fir::FirGeom>,
) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
    run_on(x, |x: Tensor<F, 4>| tensor::<F>(F::fir(float(x), g)))
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
    let g = bestiary_kernels::fir::FirGeom {
        planes: n * c,
        height,
        width,
        up,
        down,
        pad,
        kernel,
        kh,
        kw,
        separable,
    };
    if x.dtype() != DType::F32 || disabled() || g.output().is_none() || g.kernel.len() != kh * kw {
        return Err(x);
    }
    let g = std::sync::Arc::new(g);
    on_cpu_backends!(x, fir_on, &g)
}

type BiasActArgs<B, const D: usize> = (Tensor<B, D>, Option<Tensor<B, 1>>);

fn bias_act_on<B: Backend, F: BiasActBackend>(
    args: BiasActArgs<B, 3>,
    p: &BiasAct,
) -> Result<Tensor<B, 3>, BiasActArgs<B, 3>> {
    run_on(args, |(x, b): BiasActArgs<F, 3>| {
        let y = F::bias_act(
            x.into_primitive().tensor(),
            b.map(|b| b.into_primitive().tensor()),
            p,
        );
        Tensor::<F, 3>::from_primitive(TensorPrimitive::Float(y))
    })
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
    let fits = D >= 2
        && bias.as_ref().is_none_or(|b| b.dims()[0] == dims[1])
        && dims.iter().all(|d| *d > 0);
    // NaN gains and clamps fail these comparisons and take the composed path too.
    let constants_ok = gain > 0.0 && clamp.is_none_or(|c| c >= 0.0);
    if !f32s || !fits || disabled() || !constants_ok {
        return Err((x, bias));
    }
    let (n, channels) = (dims[0], dims[1]);
    let plane = dims[2..].iter().product();
    let p = BiasAct {
        channels,
        plane,
        slope,
        gain,
        clamp,
    };
    let args = (x.reshape([n, channels, plane]), bias);
    on_cpu_backends!(args, bias_act_on, &p)
        .map(|y| y.reshape(dims))
        .map_err(|(x, b)| (x.reshape(dims), b))
}

type AdamArgs<B> = [Tensor<B, 1>; 4];

/// One Adam step of a flat parameter `p` with gradient `g` and moments `m`, `v` through the
/// parallel kernel: the new `[p, m, v]`, or the arguments back when `B` is not Flex.
pub fn try_adam_step<B: Backend>(
    args: AdamArgs<B>,
    s: AdamStep,
) -> Result<[Tensor<B, 1>; 3], AdamArgs<B>> {
    if args.iter().any(|t| t.dtype() != DType::F32) || disabled() {
        return Err(args);
    }
    run_on(args, |args: AdamArgs<Flex>| {
        let [p, g, mut m, mut v] = args.map(|t| flex_f32(t.into_primitive().tensor()));
        let p_new = adam_step(
            p.storage::<f32>(),
            g.storage::<f32>(),
            m.storage_mut::<f32>(),
            v.storage_mut::<f32>(),
            s,
        );
        let p_new =
            burn_flex::FlexTensor::from_data(burn::tensor::TensorData::new(p_new, p.shape()));
        [p_new, m, v].map(|t| Tensor::<Flex, 1>::from_primitive(TensorPrimitive::Float(t)))
    })
}

fn swap_on<B: Backend, F: SwapBackend>(x: Tensor<B, 4>) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
    run_on(x, |x: Tensor<F, 4>| tensor::<F>(F::swap_leading(float(x))))
}

/// `x.swap_dims(0, 1)` materialised by a parallel copy on the CPU backend (a strided view there
/// makes every later op and gradient walk it element by element); a view elsewhere.
pub fn swap_leading<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    if x.dtype() != DType::F32 || disabled() {
        return x.swap_dims(0, 1);
    }
    on_cpu_backends!(x, swap_on).unwrap_or_else(|x| x.swap_dims(0, 1))
}

type ScaleArgs<B> = (Tensor<B, 4>, Tensor<B, 2>);

fn scale_on<B: Backend, F: RowsBackend>(args: ScaleArgs<B>) -> Result<Tensor<B, 4>, ScaleArgs<B>> {
    run_on(args, |(x, s): ScaleArgs<F>| {
        tensor::<F>(F::scale_channels(float(x), s.into_primitive().tensor()))
    })
}

/// `x * s` with `x: [N, C, H, W]` and one factor per (sample, channel) `s: [N, C]`: one parallel
/// pass (and one per gradient) on the CPU backend, a broadcast multiply elsewhere.
pub fn scale_channels<B: Backend>(x: Tensor<B, 4>, s: Tensor<B, 2>) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    assert_eq!(
        s.dims(),
        [n, c],
        "scale_channels: one factor per sample and channel"
    );
    let fast = x.dtype() == DType::F32 && s.dtype() == DType::F32 && h * w > 0 && !disabled();
    let fallback = |(x, s): ScaleArgs<B>| x * s.reshape([n, c, 1, 1]);
    if !fast {
        return fallback((x, s));
    }
    on_cpu_backends!((x, s), scale_on).unwrap_or_else(fallback)
}
