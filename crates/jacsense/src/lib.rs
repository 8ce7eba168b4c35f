//! # jacsense: Jacobians of blackbox functions from few calls
//!
//! A blackbox `f: Rⁿ → Rᵐ` can be called but not differentiated. jacsense calls it
//! along chosen directions `d_t` around `x0` and decodes `J = ∂f(x0)` from the
//! difference quotients `y_t ≈ J d_t` ("Jacobian sensing", Choromanski & Sindhwani,
//! NeurIPS 2017). Row `i` of `J` is seen only through `y_i = Dᵀ J_iᵀ`, restricted to
//! the columns where the row may be nonzero, so a known sparsity pattern turns the
//! `n` calls of finite differences into `χ` (a coloring, Curtis–Powell–Reid) or into
//! `ρ_max` plus a few (random directions, least squares per row).
//!
//! The flow: [`Structure`] → [`Plan`] (design and calls) → points → calls of the
//! blackbox (in process, or anywhere through ask/tell) → [`Measurements`] →
//! [`Decoder`](decode::Decoder) → [`Estimate`] (`J`, its [`Status`] and diagnostics).
//!
//! ```
//! use jacsense::{jacobian_with, from_fn, Pattern, Settings, Structure};
//! // Broyden tridiagonal: f_i = (3 − 2x_i) x_i − x_{i−1} − 2 x_{i+1} + 1.
//! let n = 1000;
//! let f = from_fn(n, n, move |x: &[f64], y: &mut [f64]| {
//!     for i in 0..n {
//!         let left = if i > 0 { x[i - 1] } else { 0.0 };
//!         let right = if i + 1 < n { x[i + 1] } else { 0.0 };
//!         y[i] = (3.0 - 2.0 * x[i]) * x[i] - left - 2.0 * right + 1.0;
//!     }
//! });
//! let structure = Structure::sparse(Pattern::banded(n, n, 1, 1));
//! let est = jacobian_with(&f, &vec![-1.0; n], &structure, &Settings::default())?;
//! assert_eq!(est.diagnostics().calls, 4); // f(x0) + 3 colors, not 1000
//! assert!((est.jacobian().get(5, 5) - 7.0).abs() < 1e-6); // 3 − 4x = 7
//! # Ok::<(), jacsense::Error>(())
//! ```
#![warn(missing_docs)]

mod blackbox;
pub mod coloring;
pub mod decode;
mod design;
mod error;
mod estimate;
mod measurements;
mod memory;
mod pattern;
mod plan;
mod planner;
mod projection;
mod sense;
mod session;
mod settings;
mod status;
mod structure;
mod track;
mod vjp;

// One path per item: the flow's types and functions here, graph coloring in
// `coloring`, decoders (for custom ones) in `decode`.
pub use blackbox::{Blackbox, CallError, Erasure, ErasureReason, FnBlackbox, TryFnBlackbox, from_fn, try_from_fn};
pub use decode::report::{DecodedBy, Outlier, RowReport, RowStatus, SolverLimit};
pub use design::{Design, Difference, RandomDistribution, Step};
pub use error::{Error, Result};
pub use estimate::{Diagnostics, Estimate};
pub use measurements::Measurements;
pub use pattern::{MAX_DIMENSION, MatrixMarketField, Pattern, SparseMatrix, read_matrix_market, write_matrix_market};
pub use plan::{Bounds, Plan, PlanOptions, SAVED_FORMAT_VERSION, Scheme};
pub use planner::robust_coordinate_calls;
pub use sense::{jacobian, jacobian_sequential, jacobian_with};
pub use session::{DEFAULT_PRIOR_TOLERANCE, Prior, Progress, Round, Session, SessionOptions, TOL_CALLS_FACTOR};
pub use settings::{
    CONDITION_FLOOR, ColoringSearch, DEFAULT_CONDITION_TOLERANCE, DEFAULT_SEARCH_MOVES, DecoderChoice,
    MAX_OUTLIER_FRACTION, SEARCH_FRACTION, Settings, SparseMethod,
};
pub use status::Status;
pub use structure::{Coupling, EntryTerms, Parametrization, Relation, Structure};
pub use track::{TrackSettings, Tracked, Tracker};
pub use vjp::{Route, VjpEstimate, VjpMeasurements, VjpPlan, VjpSettings, gradient, vjp, vjp_batch};

/// The README's Rust examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
