//! The backends training differentiates on: every module that builds a loss or steps a network names
//! them from here, so none has to import the loop to spell its types.

use burn::backend::Autodiff;

/// The autodiff backend the networks train on.
pub type Ad<B> = Autodiff<B>;
/// The nested backend used for gradient penalties (R1, path length).
pub type Ad2<B> = Autodiff<Autodiff<B>>;
