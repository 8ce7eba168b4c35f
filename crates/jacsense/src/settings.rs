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
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
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
    /// How much larger than a read-off design's (coordinate, colored, star: every
    /// entry at the step's own error) the planner lets the predicted error of `J`
    /// grow to save calls. A design decoded by solving has error about `κ` times the
    /// step's, `κ` the condition number of its system; the planner takes the fewest
    /// calls with `κ` within this factor when it can predict `κ` before any call (the
    /// joint decoding of a symmetric structure). Default 10; `f64::INFINITY` for the
    /// fewest calls whatever their accuracy.
    pub max_error_growth: f64,
    /// The relative error of a row of `J` that its conditioning may imply before the
    /// row is reported ill-conditioned
    /// ([`RowStatus::IllConditioned`](crate::RowStatus::IllConditioned)): a row is
    /// ill-conditioned when `κ · e` exceeds this tolerance and `κ` exceeds
    /// [`CONDITION_FLOOR`], with `κ` the condition number of the row's scaled system
    /// and `e` the finite-difference error of one measurement at the step (truncation,
    /// rounding and noise: about `2√ε ≈ 3e-8` for forward differences at the default
    /// step, `2ε^(2/3) ≈ 7e-11` for central ones). Default
    /// [`DEFAULT_CONDITION_TOLERANCE`] (`1e-4`); must be positive (`∞`: never).
    #[serde(default = "default_condition_tolerance")]
    pub condition_tolerance: f64,
    /// How long the column coloring's local search
    /// ([`search_columns`](crate::coloring::search_columns): exact search at the lower
    /// bound, then tabu search) may run after greedy coloring and recoloring, when the
    /// planner colors. Default [`ColoringSearch::Auto`].
    #[serde(default)]
    pub coloring_search: ColoringSearch,
    /// The time one call of the blackbox takes, in seconds, when known (measured, or
    /// told): it sets the [`ColoringSearch::Auto`] budget. `None`: unknown.
    #[serde(default)]
    pub call_time: Option<f64>,
}

/// The budget of the column coloring's local search ([`Settings::coloring_search`]).
///
/// ```
/// use jacsense::{ColoringSearch, Settings};
/// let settings = Settings { coloring_search: ColoringSearch::Seconds(2.0), ..Settings::default() };
/// assert_eq!(Settings::default().coloring_search, ColoringSearch::Auto);
/// # let _ = settings;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum ColoringSearch {
    /// With [`Settings::call_time`] known: [`SEARCH_FRACTION`] of the time the calls it
    /// could save would take, `call_time · (χ − ρ_max)` (χ after recoloring, `ρ_max`
    /// the lower bound: one call per color saved), so the search costs a small fraction
    /// of what it can win per point, and nothing where calls are cheap. With no call
    /// time (plan-only, ask/tell): [`DEFAULT_SEARCH_MOVES`] `+ 2n` moves, deterministic.
    #[default]
    Auto,
    /// No local search: the coloring of greedy and recoloring.
    Off,
    /// At most this wall time (the coloring then depends on the machine's speed).
    Seconds(f64),
    /// At most this many moves (deterministic).
    Moves(u64),
}

/// The fraction of the cost of the calls it could save that [`ColoringSearch::Auto`]
/// spends on the search when the call time is known: a tenth.
pub const SEARCH_FRACTION: f64 = 0.1;

/// Moves of [`ColoringSearch::Auto`] with no call time known, beyond `2n`: the exact
/// search gets `n + 50,000` (enough to color every vertex once, with backtracks to
/// spare), tabu search the rest. About 0.1–0.3 s beyond the recoloring on patterns that
/// do not reach the lower bound (`examples/coloring.rs`).
pub const DEFAULT_SEARCH_MOVES: u64 = 100_000;

impl ColoringSearch {
    /// The limit for a coloring of `n` columns with `chi` colors after recoloring and a
    /// lower bound `rho`, given the call time (seconds) when known; `None`: no search.
    ///
    /// ```
    /// use jacsense::ColoringSearch;
    /// let auto = ColoringSearch::Auto.limit(10_000, 7, 5, Some(1.0), 0).unwrap();
    /// assert_eq!(auto.time, Some(std::time::Duration::from_secs_f64(0.2)));
    /// assert_eq!(ColoringSearch::Auto.limit(10_000, 7, 5, None, 0).unwrap().moves, Some(120_000));
    /// assert!(ColoringSearch::Off.limit(10_000, 7, 5, None, 0).is_none());
    /// ```
    pub fn limit(
        &self,
        n: usize,
        chi: usize,
        rho: usize,
        call_time: Option<f64>,
        seed: u64,
    ) -> Option<crate::coloring::SearchLimit> {
        use crate::coloring::SearchLimit;
        use std::time::Duration;
        // (Seconds are validated by the planner; anything else searches for no time.)
        let seconds = |s: f64| {
            Some(SearchLimit {
                moves: None,
                time: Some(Duration::try_from_secs_f64(s).unwrap_or(Duration::ZERO)),
                seed,
            })
        };
        match *self {
            ColoringSearch::Off => None,
            ColoringSearch::Seconds(s) => seconds(s),
            ColoringSearch::Moves(m) => Some(SearchLimit { moves: Some(m), time: None, seed }),
            ColoringSearch::Auto => match call_time {
                Some(t) => seconds((SEARCH_FRACTION * t * chi.saturating_sub(rho) as f64).min(MAX_AUTO_SECONDS)),
                None => Some(SearchLimit {
                    moves: Some(DEFAULT_SEARCH_MOVES.saturating_add((n as u64).saturating_mul(2))),
                    time: None,
                    seed,
                }),
            },
        }
    }
}

/// The longest [`ColoringSearch::Auto`] budget from a call time: ten minutes.
const MAX_AUTO_SECONDS: f64 = 600.0;

/// The default [`Settings::condition_tolerance`]: `1e-4`, a quarter of the digits
/// forward differences give (`κ` up to about 3000 at the default step).
pub const DEFAULT_CONDITION_TOLERANCE: f64 = 1e-4;

/// Conditioning that costs fewer than two digits (`κ ≤ 100`) is never reported
/// ill-conditioned, however large the error of the step itself (a noisy blackbox
/// needs large steps whose truncation error no design removes).
pub const CONDITION_FLOOR: f64 = 100.0;

fn default_condition_tolerance() -> f64 {
    DEFAULT_CONDITION_TOLERANCE
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            design: Design::default(),
            decoder: DecoderChoice::default(),
            difference: Difference::default(),
            step: Step::default(),
            seed: 0,
            noise: 0.0,
            outliers: 0.0,
            budget: None,
            max_error_growth: 10.0,
            condition_tolerance: DEFAULT_CONDITION_TOLERANCE,
            coloring_search: ColoringSearch::Auto,
            call_time: None,
        }
    }
}

/// Which decoder solves the rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum DecoderChoice {
    /// Chosen by the planner from the expected noise, outliers and structure.
    #[default]
    Auto,
    /// Least squares ([`LeastSquares`](crate::decode::LeastSquares)).
    LeastSquares,
    /// L1 decoding with the fast path ([`LeastAbsoluteDeviations`](crate::decode::LeastAbsoluteDeviations)).
    L1,
    /// Sparse recovery of rows whose pattern is unknown ([`SparseRecovery`](crate::decode::SparseRecovery)).
    Sparse(SparseMethod),
    /// Sparse recovery of rows whose pattern is unknown when some calls are garbage
    /// ([`RobustSparse`](crate::decode::RobustSparse)): the outlier evidence pooled over
    /// rows, the garbage calls named.
    RobustSparse,
    /// Coupled structures: rows one at a time, fewest unknowns left first, solved
    /// unknowns substituted (Coleman & Moré's substitution idea); least squares for
    /// uncoupled ones.
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
            DecoderChoice::RobustSparse => "robust-sparse",
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
