//! Settings: how to sense, chosen by the user before any structure is looked at.
//!
//! [`Settings`] says which design and decoder to use (or `Auto`, for the planner to
//! choose), the difference scheme and step, the seed, what to expect of the blackbox
//! (noise, outliers) and the budget. The planner ([`Scheme::new`](crate::Scheme::new))
//! resolves it against a [`Structure`](crate::Structure).

use crate::design::{Design, Difference, Step};

/// The largest expected fraction of grossly wrong calls the planner accepts: L1
/// decoding is exact below about 0.239 of corrupted measurements for Gaussian systems
/// (Dwork, McSherry & Talwar 2007); with the redundancy the planner buys, 0.35 still
/// decodes (the `robust` example).
pub const MAX_OUTLIER_FRACTION: f64 = 0.35;

/// How to sense a Jacobian: design, decoder, difference scheme, step, seed, and what
/// to expect of the blackbox (noise, outliers) and of the cost (budget).
///
/// With the defaults (`Design::Auto`, `DecoderChoice::Auto`) the planner chooses; see
/// [`Scheme::new`](crate::Scheme::new).
///
/// ```
/// use jacsense::{Design, Difference, Settings};
/// let settings = Settings { design: Design::Coordinate, difference: Difference::Central, ..Settings::default() };
/// assert_eq!(settings.seed, 0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Settings {
    /// Which directions to call.
    pub design: Design,
    /// Which decoder solves the rows.
    pub decoder: DecoderChoice,
    /// Forward or central differences.
    pub difference: Difference,
    /// The per-coordinate step.
    pub step: Step,
    /// Seed of every random choice; the same seed gives the same bits.
    pub seed: u64,
    /// Expected noise level on the outputs, relative to `max(1, |f|)` (0: exact).
    pub noise: f64,
    /// Expected fraction of calls that are grossly wrong (0 to [`MAX_OUTLIER_FRACTION`]).
    pub outliers: f64,
    /// The most calls the plan may make.
    pub budget: Option<usize>,
}

/// Which decoder solves the rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum DecoderChoice {
    /// Chosen by the planner from the expected noise, outliers and structure.
    #[default]
    Auto,
    /// Least squares ([`LeastSquares`](crate::LeastSquares)).
    LeastSquares,
    /// L1 decoding with the fast path ([`LeastAbsoluteDeviations`](crate::LeastAbsoluteDeviations)).
    L1,
    /// Sparse recovery of rows whose pattern is unknown ([`SparseRecovery`](crate::SparseRecovery)).
    Sparse(SparseMethod),
    /// Coupled structures: rows one at a time, fewest unknowns left first, solved
    /// unknowns substituted; least squares for uncoupled ones.
    Substitution,
}

impl DecoderChoice {
    /// A short name for tables and reports.
    pub fn name(&self) -> &'static str {
        match self {
            DecoderChoice::Auto => "auto",
            DecoderChoice::LeastSquares => "least-squares",
            DecoderChoice::L1 => "l1",
            DecoderChoice::Sparse(SparseMethod::Omp) => "sparse-omp",
            DecoderChoice::Sparse(SparseMethod::BasisPursuitDenoising) => "sparse-bpdn",
            DecoderChoice::Substitution => "substitution",
        }
    }
}

/// How sparse recovery finds the support of a row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SparseMethod {
    /// Orthogonal matching pursuit: greedy, fast (a few `Aᵀr` products per row).
    #[default]
    Omp,
    /// Basis pursuit denoising (`min ‖z‖₁ s.t. ‖A z − y‖₂ ≤ η`) by an interior-point
    /// cone solver: slower, finds supports OMP can miss when columns are correlated.
    BasisPursuitDenoising,
}
