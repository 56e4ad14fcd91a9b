//! Bias + activation + gain + clamp, with the semantics of the official `bias_act` op.
//!
//! Order of operations (as in the reference implementation): add bias along dim 1, apply the
//! activation, multiply by the gain (default: the activation's `def_gain`), clamp to `±clamp`.
//! Linear and leaky ReLU (every layer of the StyleGAN2 networks) run as one fused op on the CPU
//! backend (`cpu::try_bias_act`); the rest, and other backends, compose ordinary differentiable
//! Burn ops. Both stay twice differentiable under nested autodiff.

use burn::tensor::{activation, backend::Backend, Tensor};

use crate::broadcast::add_channel_bias;
use crate::cpu;
use serde::{Deserialize, Serialize};

/// Activation functions supported by the official networks (subset that the nets use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// Identity, default gain 1.
    #[default]
    Linear,
    /// ReLU, default gain sqrt(2).
    Relu,
    /// Leaky ReLU with slope 0.2, default gain sqrt(2).
    Lrelu,
    /// tanh, default gain 1.
    Tanh,
    /// Logistic sigmoid, default gain 1.
    Sigmoid,
    /// x * sigmoid(x), default gain sqrt(2).
    Swish,
}

impl Activation {
    /// The activation's default gain (`def_gain` in the official table).
    pub fn def_gain(self) -> f64 {
        match self {
            Activation::Linear | Activation::Tanh | Activation::Sigmoid => 1.0,
            Activation::Relu | Activation::Lrelu | Activation::Swish => std::f64::consts::SQRT_2,
        }
    }

    /// The activation's default alpha (`def_alpha`): 0.2 for lrelu, else 0.
    pub fn def_alpha(self) -> f64 {
        match self {
            Activation::Lrelu => 0.2,
            _ => 0.0,
        }
    }

    /// Official name ("linear", "lrelu", ...).
    pub fn name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Lrelu => "lrelu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Swish => "swish",
        }
    }

    /// Applies the bare activation (no gain).
    pub fn apply<B: Backend, const D: usize>(self, x: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            Activation::Linear => x,
            Activation::Relu => activation::relu(x),
            Activation::Lrelu => activation::leaky_relu(x, self.def_alpha()),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => activation::sigmoid(x),
            Activation::Swish => activation::sigmoid(x.clone()) * x,
        }
    }
}

/// `bias_act(x, b, act, gain, clamp)`: `b` is added along dimension 1 of `x`.
///
/// `gain = None` uses the activation's default gain; `clamp = None` disables clamping.
pub fn bias_act<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    bias: Option<Tensor<B, 1>>,
    act: Activation,
    gain: Option<f64>,
    clamp: Option<f64>,
) -> Tensor<B, D> {
    let gain = gain.unwrap_or_else(|| act.def_gain());
    let clamp = clamp.filter(|c| *c >= 0.0);
    let identity = act == Activation::Linear && bias.is_none() && gain == 1.0 && clamp.is_none();
    let (x, bias) = match act {
        Activation::Linear | Activation::Lrelu if !identity => {
            let slope = if act == Activation::Linear {
                1.0
            } else {
                act.def_alpha() as f32
            };
            match cpu::try_bias_act(x, bias, slope, gain as f32, clamp.map(|c| c as f32)) {
                Ok(y) => return y,
                Err(args) => args,
            }
        }
        _ => (x, bias),
    };
    let mut x = x;
    if let Some(b) = bias {
        x = add_channel_bias(x, b);
    }
    x = act.apply(x);
    if gain != 1.0 {
        x = x * gain;
    }
    if let Some(c) = clamp {
        x = x.clamp(-c, c);
    }
    x
}
