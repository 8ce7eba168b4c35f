//! What a decode says of each row and of the calls: status, residual, condition,
//! outliers.

use super::JointMethod;
use crate::settings::DecoderChoice;

/// The status of one row of `J`: how far its values can be trusted.
///
/// Decoders say whether a row is [`Determined`](Self::Determined),
/// [`Underdetermined`](Self::Underdetermined) or stopped at a
/// [`SolverLimit`](Self::SolverLimit); the estimate then judges a determined row
/// [`IllConditioned`](Self::IllConditioned) or [`Unverified`](Self::Unverified) from its
/// report (condition, residual degrees of freedom) and the step
/// ([`Estimate::status`](crate::Estimate::status)). A row has one status, the most
/// severe that applies, in this order: underdetermined, solver limit, ill-conditioned,
/// unverified; a row with none of them is determined (solved).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum RowStatus {
    /// Solved: every unknown determined, by a solver that reached its optimum, on a
    /// well-conditioned system with redundancy that would have shown a gross error.
    #[default]
    Determined,
    /// The row's system is rank deficient (too few valid measurements, e.g. after
    /// erasures): `determined` of its `unknowns` entries are still determined; the
    /// others are NaN in the estimate.
    Underdetermined {
        /// Entries determined.
        determined: usize,
        /// Unknowns of the row.
        unknowns: usize,
    },
    /// Every unknown has a value, but an iterative solver stopped at a limit before
    /// certifying its optimum: the values are those of its last iterate (polished), and
    /// outliers may have been misjudged.
    SolverLimit(SolverLimit),
    /// Every unknown determined, but the row's system amplifies the error of the
    /// measurements beyond [`Settings::condition_tolerance`](crate::Settings::condition_tolerance).
    IllConditioned {
        /// Estimated condition number `κ` of the row's scaled system.
        condition: f64,
        /// The relative error of the row that `κ` implies: `κ` times the
        /// finite-difference error of one measurement at the plan's step.
        predicted_error: f64,
    },
    /// Every unknown determined, but from no more measurements than unknowns (a
    /// read-off or exactly determined row): a grossly wrong call would not have been
    /// seen.
    Unverified,
}

impl RowStatus {
    /// Whether every unknown of the row has a value (every status but
    /// [`Underdetermined`](Self::Underdetermined)).
    pub fn is_determined(&self) -> bool {
        !matches!(self, RowStatus::Underdetermined { .. })
    }

    /// A short name for tables and reports: `solved`, `underdetermined`,
    /// `solver-limit`, `ill-conditioned`, `unverified`.
    pub fn name(&self) -> &'static str {
        match self {
            RowStatus::Determined => "solved",
            RowStatus::Underdetermined { .. } => "underdetermined",
            RowStatus::SolverLimit(_) => "solver-limit",
            RowStatus::IllConditioned { .. } => "ill-conditioned",
            RowStatus::Unverified => "unverified",
        }
    }

    /// Severity, for the precedence above: 0 for solved, 4 for underdetermined.
    pub(crate) fn severity(&self) -> u8 {
        match self {
            RowStatus::Determined => 0,
            RowStatus::Unverified => 1,
            RowStatus::IllConditioned { .. } => 2,
            RowStatus::SolverLimit(_) => 3,
            RowStatus::Underdetermined { .. } => 4,
        }
    }
}

/// Why an iterative solver stopped short of a certified optimum (Clarabel's
/// `SolverStatus` beyond `Solved`, and the L1 simplex's pivot limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SolverLimit {
    /// The simplex ran out of pivots
    /// ([`LeastAbsoluteDeviations::max_pivots`](crate::decode::LeastAbsoluteDeviations::max_pivots)).
    Pivots,
    /// The iteration limit (Clarabel `MaxIterations`).
    Iterations,
    /// The time limit (Clarabel `MaxTime`).
    Time,
    /// The solver's tolerances were met only loosely (Clarabel `AlmostSolved`).
    ReducedAccuracy,
    /// Progress stalled (Clarabel `InsufficientProgress`).
    InsufficientProgress,
    /// A numerical failure: Clarabel `NumericalError`, a problem the solver rejected or
    /// called (almost) infeasible — the decoders' problems are always feasible — or a
    /// simplex basis that turned singular.
    NumericalError,
}

impl SolverLimit {
    /// A short name for reports: `pivots`, `iterations`, `time`, `reduced-accuracy`,
    /// `insufficient-progress`, `numerical-error`.
    pub fn name(&self) -> &'static str {
        match self {
            SolverLimit::Pivots => "pivots",
            SolverLimit::Iterations => "iterations",
            SolverLimit::Time => "time",
            SolverLimit::ReducedAccuracy => "reduced-accuracy",
            SolverLimit::InsufficientProgress => "insufficient-progress",
            SolverLimit::NumericalError => "numerical-error",
        }
    }

    /// The limit a Clarabel status means; `None` for `Solved`.
    pub(crate) fn of_clarabel(status: clarabel::solver::SolverStatus) -> Option<SolverLimit> {
        use clarabel::solver::SolverStatus as S;
        match status {
            S::Solved => None,
            S::MaxIterations => Some(SolverLimit::Iterations),
            S::MaxTime => Some(SolverLimit::Time),
            S::AlmostSolved => Some(SolverLimit::ReducedAccuracy),
            S::InsufficientProgress => Some(SolverLimit::InsufficientProgress),
            _ => Some(SolverLimit::NumericalError),
        }
    }

    /// The more serious of two limits (for a decode made of several solves).
    pub(crate) fn worst(a: Option<SolverLimit>, b: Option<SolverLimit>) -> Option<SolverLimit> {
        let rank = |l: &SolverLimit| match l {
            SolverLimit::ReducedAccuracy => 0,
            SolverLimit::Pivots | SolverLimit::Iterations | SolverLimit::Time => 1,
            SolverLimit::InsufficientProgress => 2,
            SolverLimit::NumericalError => 3,
        };
        match (a, b) {
            (Some(x), Some(y)) => Some(if rank(&y) > rank(&x) { y } else { x }),
            (x, None) => x,
            (None, y) => y,
        }
    }
}

/// How one row was decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct RowReport {
    /// The row's status ([`RowStatus`]).
    pub status: RowStatus,
    /// `‖A z − y‖₂` of the row's system, in units of output differences (zero when
    /// the row has no redundancy).
    pub residual: f64,
    /// Estimated condition number of the row's scaled system (1 for read-off rows,
    /// ∞ when rank deficient).
    pub condition: f64,
    /// Valid measurements the row was decoded from.
    pub measurements: usize,
    /// Residual degrees of freedom: clean measurements minus determined unknowns.
    pub dof: usize,
    /// Measurements this row judged grossly wrong.
    pub outliers: usize,
    /// Whether the row was decoded with an offset unknown absorbing the error of
    /// `f(x0)` (forward differences with redundancy, or without a valid `f(x0)`).
    pub offset: bool,
    /// Estimated standard deviation of the noise on this output of `f` (pooled with
    /// the other rows), when the decode had redundancy.
    pub noise: Option<f64>,
}

impl RowReport {
    pub(crate) fn empty() -> Self {
        RowReport {
            status: RowStatus::Determined,
            residual: 0.0,
            condition: 1.0,
            measurements: 0,
            dof: 0,
            outliers: 0,
            offset: false,
            noise: None,
        }
    }
}

/// A call judged grossly wrong: most rows that used it flagged it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outlier {
    /// Index of the call in the plan.
    pub call: usize,
    /// Rows that flagged it.
    pub rows_flagged: usize,
    /// Rows that used it.
    pub rows_seen: usize,
}

impl Default for RowReport {
    fn default() -> Self {
        RowReport::empty()
    }
}

/// The decoder that decoded an estimate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodedBy {
    /// A built-in decoder, row by row (entries read off where the design allows).
    Rows(DecoderChoice),
    /// The rows of a coupled structure together.
    Joint(JointMethod),
    /// A decoder the caller passed ([`Measurements::decode_with`](crate::Measurements::decode_with)), by its name.
    Custom(&'static str),
    /// Nothing to decode (no unknown anywhere).
    Nothing,
}

impl DecodedBy {
    /// A short name for tables and reports: `least-squares`, `l1`, `sparse-omp`,
    /// `sparse-bpdn`, `joint-least-squares`, `joint-l1`, `joint-substitution`, a custom
    /// decoder's own name, or `none`.
    pub fn name(&self) -> &'static str {
        match self {
            DecodedBy::Rows(DecoderChoice::Auto | DecoderChoice::Substitution) => "least-squares",
            DecodedBy::Rows(choice) => choice.name(),
            DecodedBy::Joint(method) => method.name(),
            DecodedBy::Custom(name) => name,
            DecodedBy::Nothing => "none",
        }
    }
}

impl std::fmt::Display for DecodedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
