//! The status of an estimate: how far `J` can be trusted (DESIGN.md §9), in the manner
//! of Clarabel's `SolverStatus` — how a decode went is reported, never hidden.
//!
//! Every row gets a [`RowStatus`]. Decoders say whether a row is determined,
//! underdetermined, or stopped at a solver limit; the estimate then judges each
//! determined row from its report and the plan's step:
//!
//! - **ill-conditioned** when the error its condition number `κ` implies, `κ · e`,
//!   exceeds [`Settings::condition_tolerance`] and `κ` exceeds [`CONDITION_FLOOR`].
//!   `e` is the finite-difference error of one measurement at the step, relative to the
//!   size of the derivative: truncation plus rounding plus noise, `h + (ε + σ)/h` for
//!   forward differences and `h² + (ε + σ)/h` for central ones, with `h` the relative
//!   step `h_c / max(1, |x0_c|)` (the largest error over the row's inputs) and `σ` the
//!   expected noise ([`Settings::noise`]). At the default steps that is `2√ε ≈ 3e-8`
//!   and `2ε^(2/3) ≈ 7e-11`: the error of coordinate differences, which `κ` multiplies.
//! - **unverified** when the row has no residual degrees of freedom (read off, or as
//!   many measurements as unknowns): a grossly wrong call fits it exactly and would
//!   not have been seen. For a joint decode (coupled structures) the degrees of freedom
//!   are those of the whole system, and so is `κ`.
//!
//! The estimate's [`Status`] is the most severe of its rows', in this order:
//!
//! > incomplete > solver limit > ill-conditioned > unverified > solved
//!
//! An estimate missing entries is first of all incomplete; one whose solver stopped
//! short may be wrong anywhere (an outlier judged from an unfinished fit); an
//! ill-conditioned row has a known, bounded loss of accuracy; an unverified one is
//! right unless a call was grossly wrong. Each row keeps its own status in
//! [`Diagnostics::rows`](crate::Diagnostics::rows).

use std::fmt;

use crate::decode::{RowReport, RowStatus, SolverLimit};
use crate::design::Difference;
use crate::plan::Plan;
use crate::settings::CONDITION_FLOOR;
#[cfg(doc)]
use crate::settings::Settings;

/// The status of an estimate: the most severe status of its rows (module docs:
/// incomplete > solver limit > ill-conditioned > unverified > solved), with the rows
/// that have it.
///
/// ```
/// use jacsense_problems::{BroydenTridiagonal, Problem};
/// use jacsense::{jacobian_with, Design, RandomDistribution, Settings, Status, Structure};
/// let p = BroydenTridiagonal { n: 50 };
/// let structure = Structure::sparse(p.pattern());
/// // A colored design reads every entry off once: right, but unchecked.
/// let est = jacobian_with(&p, &p.x0(), &structure, &Settings::default())?;
/// assert!(est.is_complete());
/// assert!(matches!(est.status(), Status::Unverified { ref rows } if rows.len() == 50));
/// // Random directions with redundancy: every row checked by its residual.
/// let design = Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(6) };
/// let est = jacobian_with(&p, &p.x0(), &structure, &Settings { design, ..Settings::default() })?;
/// assert_eq!(est.status(), Status::Solved);
/// # Ok::<(), jacsense::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Status {
    /// Every row determined, by solvers that reached their optimum, well conditioned,
    /// and checked by redundant measurements.
    Solved,
    /// Every row determined and well conditioned, but these rows had no redundancy: a
    /// grossly wrong call would not have been seen there.
    Unverified {
        /// The unverified rows.
        rows: Vec<usize>,
    },
    /// Every row determined, but these rows' conditioning implies an error beyond
    /// [`Settings::condition_tolerance`].
    IllConditioned {
        /// The ill-conditioned rows.
        rows: Vec<usize>,
        /// The largest condition number among them.
        condition: f64,
        /// The largest error their conditioning implies (relative to the row).
        predicted_error: f64,
    },
    /// Every row determined, but an iterative solver stopped at a limit on these rows
    /// before certifying its optimum.
    SolverLimit {
        /// The rows concerned.
        rows: Vec<usize>,
        /// The most serious limit reached.
        limit: SolverLimit,
    },
    /// These rows are undetermined (their missing entries are NaN).
    Incomplete {
        /// The undetermined rows.
        rows: Vec<usize>,
    },
}

impl Status {
    /// Whether the estimate is solved: every row determined, converged, well
    /// conditioned and verified.
    pub fn is_solved(&self) -> bool {
        *self == Status::Solved
    }

    /// A short name for tables and reports: `solved`, `unverified`, `ill-conditioned`,
    /// `solver-limit`, `incomplete`.
    pub fn name(&self) -> &'static str {
        match self {
            Status::Solved => "solved",
            Status::Unverified { .. } => "unverified",
            Status::IllConditioned { .. } => "ill-conditioned",
            Status::SolverLimit { .. } => "solver-limit",
            Status::Incomplete { .. } => "incomplete",
        }
    }

    /// The rows with this status (none when solved).
    pub fn rows(&self) -> &[usize] {
        match self {
            Status::Solved => &[],
            Status::Unverified { rows }
            | Status::IllConditioned { rows, .. }
            | Status::SolverLimit { rows, .. }
            | Status::Incomplete { rows } => rows,
        }
    }

    /// The status of an estimate whose rows have these statuses.
    pub(crate) fn of_rows(rows: &[RowReport]) -> Status {
        let Some(worst) = rows.iter().map(|r| r.status.severity()).max().filter(|&s| s > 0) else {
            return Status::Solved;
        };
        let which: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].status.severity() == worst).collect();
        match &rows[which[0]].status {
            RowStatus::Underdetermined { .. } => Status::Incomplete { rows: which },
            RowStatus::SolverLimit(_) => {
                let limit = which
                    .iter()
                    .filter_map(|&i| match rows[i].status {
                        RowStatus::SolverLimit(l) => Some(l),
                        _ => None,
                    })
                    .fold(None, |acc, l| SolverLimit::worst(acc, Some(l)))
                    .expect("the rows have a solver limit");
                Status::SolverLimit { rows: which, limit }
            }
            RowStatus::IllConditioned { .. } => {
                let (mut condition, mut predicted_error) = (0.0f64, 0.0f64);
                for &i in &which {
                    if let RowStatus::IllConditioned { condition: c, predicted_error: e } = rows[i].status {
                        condition = condition.max(c);
                        predicted_error = predicted_error.max(e);
                    }
                }
                Status::IllConditioned { rows: which, condition, predicted_error }
            }
            _ => Status::Unverified { rows: which },
        }
    }
}

/// "3 rows (0, 4, 7)", naming at most ten.
fn list(rows: &[usize]) -> String {
    const SHOWN: usize = 10;
    let shown: Vec<String> = rows.iter().take(SHOWN).map(usize::to_string).collect();
    let more = if rows.len() > SHOWN { ", …" } else { "" };
    format!("{} row{} ({}{more})", rows.len(), if rows.len() == 1 { "" } else { "s" }, shown.join(", "))
}

impl fmt::Display for Status {
    /// One sentence for a summary: "solved", or what is wrong and where.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Solved => {
                write!(f, "solved: every row determined, well conditioned and checked by redundant calls")
            }
            Status::Unverified { rows } => write!(
                f,
                "unverified: {} determined without redundancy, so a grossly wrong call would not have been seen",
                list(rows)
            ),
            Status::IllConditioned { rows, condition, predicted_error } => write!(
                f,
                "ill-conditioned: {} with condition numbers up to {condition:.1e}, which imply relative errors up to {predicted_error:.1e}",
                list(rows)
            ),
            Status::SolverLimit { rows, limit } => write!(
                f,
                "solver limit: on {} the solver stopped before its optimum ({}), so outliers may be misjudged",
                list(rows),
                limit.name()
            ),
            Status::Incomplete { rows } => {
                write!(f, "incomplete: {} undetermined, their unknown entries are NaN", list(rows))
            }
        }
    }
}

/// The finite-difference error of one measurement along each input, relative to the
/// derivative (module docs): `h + (ε + σ)/h` forward, `h² + (ε + σ)/h` central, with
/// `h` the relative step.
pub(crate) fn step_errors(plan: &Plan) -> Vec<f64> {
    let settings = plan.settings();
    let floor = f64::EPSILON + settings.noise;
    plan.steps()
        .iter()
        .zip(plan.x0())
        .map(|(&h, &x)| {
            let h = h.abs() / x.abs().max(1.0);
            let truncation = match settings.difference {
                Difference::Forward => h,
                Difference::Central => h * h,
            };
            truncation + floor / h
        })
        .collect()
}

/// Judges every determined row of a decode of `plan` (module docs): ill-conditioned
/// or unverified, or left determined (solved).
pub(crate) fn judge_rows(plan: &Plan, rows: &mut [RowReport]) {
    judge_rows_in(plan, plan.structure().pattern(), rows);
}

/// As [`judge_rows`], for rows whose unknowns are the entries of `pattern` (a
/// session's recovered supports) rather than of the plan's structure.
pub(crate) fn judge_rows_in(plan: &Plan, pattern: &crate::pattern::Pattern, rows: &mut [RowReport]) {
    let tolerance = plan.settings().condition_tolerance;
    let errors = step_errors(plan);
    for (i, r) in rows.iter_mut().enumerate() {
        if r.status != RowStatus::Determined || r.measurements == 0 {
            continue;
        }
        let e = pattern.row(i).iter().map(|&c| errors[c]).fold(0.0, f64::max);
        let predicted_error = r.condition * e;
        r.status = if r.condition > CONDITION_FLOOR && predicted_error > tolerance {
            RowStatus::IllConditioned { condition: r.condition, predicted_error }
        } else if r.dof == 0 {
            RowStatus::Unverified
        } else {
            RowStatus::Determined
        };
    }
}
