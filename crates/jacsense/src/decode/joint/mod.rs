//! Joint decoding of a coupled structure `vec(J) = P z + c` (DESIGN.md §2, §4).
//!
//! Every valid measurement `t` gives one equation per row `i`:
//! `Σ_e Σ_(q, coef) coef · δ_t[col e] · z_q = y_it − Σ_e c_e δ_t[col e]` over the
//! row's entries `e`, with `δ_t` the perturbation actually made. Rows share unknowns
//! (symmetry, ties, relations), so the system is solved as a whole. Three methods
//! ([`JointMethod`]):
//!
//! - **Least squares**: column-pivoted QR when the system is small enough to hold
//!   densely (unknowns the data cannot determine are reported, the others keep their
//!   values), otherwise a sparse Cholesky factorization of the normal equations (faer)
//!   with two steps of iterative refinement on the residual.
//! - **L1**: `min ‖M z − y‖₁` as a sparse LP for Clarabel, the equations' residuals
//!   judged against their robust scale, a call dropped when most of its equations are
//!   judged wrong, then least squares on the calls left. Forward differences carry one
//!   offset unknown per row, with `f(x0)` as one more equation, so a wrong `f(x0)` is
//!   one more outlier, not a shift of every difference.
//! - **Substitution**: rows solved one at a time, always the row with the fewest
//!   unknowns not yet solved, by least squares on those alone with the solved ones
//!   substituted (Coleman & Moré's substitution idea, on any parametrization). Each
//!   system is small, so it reaches problems too large for the joint factorization, and
//!   a substitution that solves every unknown certifies that the joint system has full
//!   column rank (it is block triangular with full-rank diagonal blocks). Errors of
//!   early rows propagate to later ones.
//!
//! Each row's equations are weighted by `1 / max(1, |f_i|)`, the unit of relative noise
//! ([`Settings::noise`](crate::Settings::noise)): least squares then weighs rows by
//! their noise, and the residual pools in relative terms. Every row's report carries
//! the joint system's condition number (column-pivoted QR on the dense path, power
//! iteration through the Cholesky factor on the sparse one, not estimated for
//! substitution) and residual degrees of freedom; when the L1 fit's LP stops at a limit
//! or fails (least squares on every call is then all there is), every determined row's
//! status is [`RowStatus::SolverLimit`].

mod l1;
mod least_squares;
mod std_errors;
mod substitution;

use super::{LeastSquares, Outlier, RowReport, RowStatus, noise_unit};
use crate::design::Difference;
use crate::measurements::Measurements;
use crate::structure::{Parametrization, system};

use l1::robust_verdicts;
use least_squares::solve;
use std_errors::entry_std_errors;
use substitution::solve_substitution;

/// How the rows of a coupled structure are solved together
/// ([`Structure::with_coupling`](crate::Structure::with_coupling)), chosen from the
/// [`DecoderChoice`](crate::DecoderChoice): least squares, L1 or substitution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum JointMethod {
    /// The whole system by least squares.
    #[default]
    LeastSquares,
    /// The whole system by L1 (robust to a fraction of grossly wrong calls), then least
    /// squares on the calls judged clean.
    L1,
    /// Row after row, fewest unknowns left first, solved ones substituted.
    Substitution,
}

impl JointMethod {
    /// A short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            JointMethod::LeastSquares => "joint-least-squares",
            JointMethod::L1 => "joint-l1",
            JointMethod::Substitution => "joint-substitution",
        }
    }
}

/// What a joint decode returns to the driver. The residual sum of squares is relative
/// (each row's residuals in units of `max(1, |f_i|)`), and every row's report carries
/// the joint system's condition number and residual degrees of freedom.
pub(crate) struct JointDecode {
    pub(crate) values: Vec<f64>,
    pub(crate) std_errors: Vec<f64>,
    pub(crate) rows: Vec<RowReport>,
    pub(crate) rss: f64,
    pub(crate) dof: usize,
    pub(crate) outliers: Vec<Outlier>,
    pub(crate) valid_measurements: usize,
}

/// Decodes `meas` through `param` by `method`: values on `param.pattern()`, standard
/// errors, per-row reports, the residual sum of squares and its degrees of freedom,
/// and the calls judged grossly wrong.
pub(crate) fn decode(
    meas: &Measurements<'_>,
    param: &Parametrization,
    valid: &[bool],
    method: JointMethod,
) -> JointDecode {
    let plan = meas.plan();
    let index = plan.index();
    let k = plan.measurements();
    let steps = plan.steps();
    let pattern = param.pattern();
    let forward = plan.settings().difference == Difference::Forward;
    // Forward differences: one offset per row, with f(x0) as one more equation. The
    // equations of raw values are independent where differences would share the noise
    // of f(x0) (least squares then weighs them right and sees the noise of one call);
    // a wrong f(x0) is one more outlier for L1; a missing one leaves the offset to the
    // other equations. Exact data determine the same unknowns either way.
    let with_offsets = forward;
    let base = |i: usize| meas.f0().map_or(f64::NAN, |f0| f0[i]);
    let slot_of = |i: usize, t: usize| {
        if index.all {
            i * k + t
        } else {
            index.row_ptr[i] + index.position(i, t).expect("a row sees the measurements of its columns")
        }
    };
    let mut sys = system(
        param,
        |c, visit| {
            plan.directions().for_each_in_coordinate(c, |t, coef| {
                if valid[t] {
                    visit(t, plan.effective_coefficient(c, coef) * steps[c]);
                }
            })
        },
        |i, t| meas.difference(i, slot_of(i, t), !with_offsets),
        with_offsets.then_some(&base as &dyn Fn(usize) -> f64),
    );
    // Noise is relative to max(1, |f_i|) (Settings::noise): each row's equations are
    // weighted by the inverse of that unit, so that least squares weighs rows by their
    // noise and the residual pools in relative terms.
    let unit: Vec<f64> = (0..pattern.nrows())
        .map(|i| noise_unit(meas, index.seen(i, k).into_iter().filter(|&t| valid[t]).map(|t| slot_of(i, t))))
        .collect();
    for (e, (i, terms)) in sys.rows.iter_mut().enumerate() {
        let w = 1.0 / unit[*i];
        terms.iter_mut().for_each(|t| t.1 *= w);
        sys.rhs[e] *= w;
    }

    let mut outliers = Vec::new();
    let mut flagged_in_row = vec![0usize; pattern.nrows()];
    let mut limit = None;
    let (sys, sol) = match method {
        JointMethod::LeastSquares => {
            let sol = solve(&sys);
            (sys, sol)
        }
        JointMethod::Substitution => {
            let sol = solve_substitution(&sys, &LeastSquares::default());
            (sys, sol)
        }
        JointMethod::L1 => match robust_verdicts(&sys, k) {
            (None, failed) => {
                // No robust fit at all: least squares on every call, reported as the
                // LP solver's failure.
                limit = failed;
                let sol = solve(&sys);
                (sys, sol)
            }
            (Some(verdict), stopped) => {
                limit = stopped;
                if let Some((flagged, seen)) = verdict.base {
                    outliers.push(Outlier { call: 0, rows_flagged: flagged, rows_seen: seen });
                }
                for (t, v) in verdict.wrong.iter().enumerate() {
                    let Some((flagged, seen)) = *v else { continue };
                    let (plus, minus) = plan.calls_of(t);
                    for call in std::iter::once(plus).chain(minus) {
                        outliers.push(Outlier { call, rows_flagged: flagged, rows_seen: seen });
                    }
                }
                outliers.sort_unstable_by_key(|o| o.call);
                let keep = |e: usize| match sys.meas[e] {
                    Some(t) => verdict.wrong[t].is_none(),
                    None => verdict.base.is_none(),
                };
                for e in (0..sys.rows.len()).filter(|&e| !keep(e)) {
                    flagged_in_row[sys.rows[e].0] += 1;
                }
                let clean = sys.subset(keep);
                let sol = solve(&clean);
                (clean, sol)
            }
        },
    };
    let d = sys.d;
    let z = &sol.x[..d];
    let values = param.assemble(z).values().to_vec();
    // Residuals per row over the determined part (undetermined unknowns at zero).
    let xb: Vec<f64> = sol.x.iter().map(|v| if v.is_nan() { 0.0 } else { *v }).collect();
    let mut rss_row = vec![0.0; pattern.nrows()];
    let mut eqs_row = vec![0usize; pattern.nrows()];
    for e in 0..sys.rows.len() {
        let r = sys.residual(e, &xb);
        rss_row[sys.rows[e].0] += r * r;
        eqs_row[sys.rows[e].0] += 1;
    }
    let rss: f64 = rss_row.iter().sum();
    let dof = sys.rows.len().saturating_sub(sol.rank);
    let std_errors = if dof > 0 && sol.rank == sys.unknowns && method != JointMethod::Substitution {
        entry_std_errors(&sys, param, rss / dof as f64)
    } else {
        vec![f64::NAN; pattern.nnz()]
    };
    let noise_var = if dof > 0 { rss / dof as f64 } else { f64::NAN };
    let reports = (0..pattern.nrows())
        .map(|i| {
            let row = &values[pattern.row_range(i)];
            let determined = row.iter().filter(|v| !v.is_nan()).count();
            let status = match limit {
                _ if determined < row.len() => RowStatus::Underdetermined { determined, unknowns: row.len() },
                Some(limit) if eqs_row[i] > 0 => RowStatus::SolverLimit(limit),
                _ => RowStatus::Determined,
            };
            // The joint κ speaks for every row only when the system has full rank; a
            // rank-deficient one leaves its determined rows' conditioning unknown.
            let condition = match status {
                RowStatus::Underdetermined { .. } => f64::INFINITY,
                _ if sol.rank < sys.unknowns => f64::NAN,
                _ => sol.condition,
            };
            RowReport {
                status,
                residual: rss_row[i].sqrt() * unit[i],
                // The joint κ speaks for every row only when the system has full rank;
                // a rank-deficient one leaves its determined rows' conditioning unknown.
                condition,
                measurements: eqs_row[i],
                dof: if eqs_row[i] > 0 { dof } else { 0 },
                outliers: flagged_in_row[i],
                offset: with_offsets && !param.row_unknowns(i).is_empty(),
                noise: (dof > 0).then(|| noise_var.sqrt() * unit[i]),
            }
        })
        .collect();
    let valid_measurements = {
        let mut used = vec![false; k];
        sys.meas.iter().flatten().for_each(|&t| used[t] = true);
        used.iter().filter(|&&u| u).count()
    };
    JointDecode { values, std_errors, rows: reports, rss, dof, outliers, valid_measurements }
}
