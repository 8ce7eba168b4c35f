//! # jacsense-candle: blackbox layers for candle
//!
//! A layer `y = g(x; θ)` of a neural net whose `g` is a blackbox — a simulator, a
//! solver, a noisy or non-differentiable function implemented outside candle — can
//! still be trained through: backpropagation needs only `vᵀJ` of the layer for the
//! upstream gradient `v` of each sample, and jacsense obtains it from a few calls of
//! `g` ("Jacobian sensing", Choromanski & Sindhwani, NeurIPS 2017).
//!
//! - [`BatchBlackbox`]: the layer's function, given every point of a backward pass as
//!   one batch (run them in parallel, on an accelerator, anywhere); each call may fail.
//!   [`pointwise`] wraps a function of one point.
//! - [`Known`]: what is known of `∂y/∂x` — elementwise, local (banded or a pattern),
//!   tied across positions, sparse at unknown places, dense. Parameters `θ` add one
//!   column each.
//! - [`BlackboxLayer`]: the candle op. Its forward calls the blackbox; its backward
//!   places one jacsense scheme, planned once, at every sample's point `(x_b, θ)`,
//!   decodes each sample's Jacobian (failed calls are erasures, grossly wrong ones are
//!   voted out when `outliers > 0` is declared) and returns `∂L/∂x` and `∂L/∂θ`. A
//!   backward pass whose `vᵀJ` is undetermined for some sample returns an error and no
//!   gradient, so its step cannot be applied; [`StepReport`] has every step's calls per
//!   sample, erasures, outliers and worst row status.
//!
//! ```
//! use candle_core::{DType, Device, Tensor, Var};
//! use jacsense::{Settings, VjpSettings};
//! use jacsense_candle::{pointwise, BlackboxLayer, Known, LayerDims};
//! // y_i = θ₀ · softsign(x_i) + θ₁ x_i, elementwise, with 2 parameters of its own.
//! let n = 8;
//! let g = pointwise(LayerDims { inputs: n, parameters: 2, outputs: n }, move |p: &[f64], y: &mut [f64]| {
//!     let (x, theta) = p.split_at(n);
//!     for i in 0..n { y[i] = theta[0] * x[i] / (1.0 + x[i].abs()) + theta[1] * x[i]; }
//!     Ok(())
//! });
//! let layer = BlackboxLayer::with_parameters(g, &Known::Elementwise, &VjpSettings::default(), &[1.0, 0.5])?;
//! assert_eq!(layer.calls_per_sample(), 3); // one color for x, one per parameter
//! let x = Var::from_tensor(&Tensor::full(1.0, (2, n), &Device::Cpu)?)?;
//! let loss = layer.forward(x.as_tensor())?.sum_all()?;
//! let grads = loss.backward()?;
//! let gtheta = grads.get(layer.parameters().unwrap()).unwrap().to_vec1::<f64>()?;
//! assert!((gtheta[0] - 2.0 * 8.0 * 0.5).abs() < 1e-6); // Σ softsign(1) over 16 entries
//! assert!((gtheta[1] - 16.0).abs() < 1e-6);
//! # let _ = (DType::F64, Settings::default());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod blackbox;
mod error;
mod known;
mod layer;
mod report;

pub use blackbox::{BatchBlackbox, LayerDims, Pointwise, pointwise};
pub use error::{Error, Result};
pub use known::Known;
pub use layer::BlackboxLayer;
pub use report::StepReport;

/// The crate README's example runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
