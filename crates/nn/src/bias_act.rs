//! Bias + activation + gain + clamp, with the semantics of the official `bias_act` op.
//!
//! Order of operations (as in the reference implementation): add bias along dim 1, apply the
//! activation, multiply by the gain (default: the activation's `def_gain`), clamp to `±clamp`.
//! Every op used here is an ordinary differentiable Burn op, so the result stays twice
//! differentiable under nested autodiff.

use burn::tensor::{activation, backend::Backend, Tensor};

use crate::broadcast::add_channel_bias;
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
    let mut x = x;
    if let Some(b) = bias {
        x = add_channel_bias(x, b);
    }
    x = act.apply(x);
    let gain = gain.unwrap_or_else(|| act.def_gain());
    if gain != 1.0 {
        x = x * gain;
    }
    if let Some(c) = clamp {
        if c >= 0.0 {
            x = x.clamp(-c, c);
        }
    }
    x
}
