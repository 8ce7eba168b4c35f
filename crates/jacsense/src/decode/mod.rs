//! Decoders: how each row's small system `A_i z_i ≈ y_i` is solved (DESIGN.md §4).
//!
//! The driver here builds, for every row `i`, the measurement matrix `A_i` (valid
//! measurements × allowed columns, in the scaled unknowns `z = J[i, c] · h_c`) and the
//! right-hand side `y_i`, drops erased measurements, shares one system among rows
//! that have the same columns (dense directions), reads entries off directly when the
//! design is structurally orthogonal for that row (coordinate, colored), and hands the
//! rest to a [`Decoder`], in parallel over rows.

mod lstsq;
mod sparse;

pub use lstsq::LeastSquares;
pub use sparse::{SparseMethod, SparseRecovery};

use std::collections::HashMap;

use faer::{Mat, MatMut, MatRef};
use rayon::prelude::*;

use crate::design::Directions;
use crate::estimate::{Diagnostics, Estimate, RowReport, RowStatus};
use crate::measurements::Measurements;
use crate::pattern::SparseMatrix;

/// How a decoder solved one row (or one right-hand side).
///
/// Decoders fill what they know; the defaults mean "not available".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RowSolve {
    /// Whether every unknown was determined.
    pub status: RowStatus,
    /// `‖A z − y‖₂` over the measurements judged clean (all of them for least squares).
    pub residual: f64,
    /// Estimated 2-norm condition number of `A` over those measurements (∞ when rank
    /// deficient).
    pub condition: f64,
    /// Rows of `a` (measurements) judged grossly wrong, ascending.
    pub outliers: Vec<usize>,
    /// Degrees of freedom of the residual: clean measurements minus determined
    /// unknowns (0 when there is no redundancy).
    pub dof: usize,
    /// For each unknown, the factor `[(AᵀA)⁻¹]_jj` over the clean measurements: its
    /// variance is `σ² ·` this factor when the measurements carry noise of standard
    /// deviation `σ`. Empty when not available.
    pub variance_factors: Vec<f64>,
    /// For decoders that recover the support: the unknowns that may be nonzero
    /// (ascending); the others are exactly zero. `None`: all unknowns.
    pub support: Option<Vec<usize>>,
}

/// A per-row solver of `A z ≈ y`.
///
/// Rows that share the measurement matrix `a` (k × d) are solved together: `y` holds
/// one right-hand side per column (k × r), the solutions go to the columns of `z`
/// (d × r), and one [`RowSolve`] per column is returned. Unknowns that the data do not
/// determine are set to NaN and the status says so.
pub trait Decoder: Sync {
    /// A short name for reports.
    fn name(&self) -> &'static str;

    /// Solves `a z = y` column by column.
    fn solve(&self, a: MatRef<'_, f64>, y: MatRef<'_, f64>, z: MatMut<'_, f64>) -> Vec<RowSolve>;
}

/// One row's decoded values and report.
struct RowResult {
    row: usize,
    values: Vec<f64>,
    report: RowReport,
}

pub(crate) fn decode(meas: &Measurements<'_>, decoder: &dyn Decoder) -> Estimate {
    let plan = meas.plan();
    let pattern = plan.structure().pattern();
    let k = plan.measurements();
    let valid: Vec<bool> = (0..k).map(|t| meas.measurement_valid(t)).collect();
    let groups = row_groups(meas);
    let results: Vec<Vec<RowResult>> = groups.par_iter().map(|rows| solve_group(meas, decoder, rows, &valid)).collect();

    let mut values = vec![f64::NAN; pattern.nnz()];
    let mut rows = vec![RowReport::default(); pattern.nrows()];
    for r in results.into_iter().flatten() {
        let p = pattern.row_ptr()[r.row];
        values[p..p + r.values.len()].copy_from_slice(&r.values);
        rows[r.row] = r.report;
    }
    let jacobian = SparseMatrix::new(pattern.clone(), values).expect("one value per pattern entry");
    let diagnostics = Diagnostics {
        design: plan.settings().design.name(),
        decoder: decoder.name(),
        calls: meas.calls_made(),
        measurements: k,
        valid_measurements: valid.iter().filter(|&&v| v).count(),
        colors: plan.coloring().map(|(o, c)| (o, c.num_colors())),
        erasures: meas.erasures(),
        rows,
        f0: meas.f0().map(<[f64]>::to_vec),
    };
    Estimate::new(jacobian, diagnostics)
}

/// Rows that share one measurement matrix: with dense directions, rows with the same
/// columns; otherwise every row alone.
fn row_groups(meas: &Measurements<'_>) -> Vec<Vec<usize>> {
    let plan = meas.plan();
    let pattern = plan.structure().pattern();
    if !plan.index().all {
        return (0..pattern.nrows()).map(|i| vec![i]).collect();
    }
    let mut id: HashMap<&[usize], usize> = HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in 0..pattern.nrows() {
        let g = *id.entry(pattern.row(i)).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    groups
}

fn solve_group(meas: &Measurements<'_>, decoder: &dyn Decoder, rows: &[usize], valid: &[bool]) -> Vec<RowResult> {
    let plan = meas.plan();
    let pattern = plan.structure().pattern();
    let index = plan.index();
    let steps = plan.steps();
    let cols = pattern.row(rows[0]);
    let d = cols.len();
    let k = plan.measurements();

    // The measurements this group sees, and where row `i`'s value of the p-th is stored.
    let seen: &[usize];
    let all: Vec<usize>;
    if index.all {
        all = (0..k).collect();
        seen = &all;
    } else {
        seen = &index.meas[index.row_ptr[rows[0]]..index.row_ptr[rows[0] + 1]];
    }
    let slot = |i: usize, p: usize| if index.all { i * k + p } else { index.row_ptr[i] + p };

    if d == 0 {
        return rows.iter().map(|&row| RowResult { row, values: Vec::new(), report: RowReport::empty() }).collect();
    }

    // Read-off: every column in its own measurement with nothing else of the row.
    if plan.directions().is_grouped() && seen.len() == d {
        let Directions::Grouped { group, .. } = plan.directions() else { unreachable!() };
        let i = rows[0];
        let mut undetermined = 0;
        let values = cols
            .iter()
            .map(|&c| {
                let p = seen.binary_search(&group[c]).expect("a column's group is among the row's measurements");
                if valid[group[c]] {
                    meas.difference(i, slot(i, p)) / (plan.effective_coefficient(c, 1.0) * steps[c])
                } else {
                    undetermined += 1;
                    f64::NAN
                }
            })
            .collect();
        let status = if undetermined == 0 {
            RowStatus::Determined
        } else {
            RowStatus::Underdetermined { determined: d - undetermined, unknowns: d }
        };
        let report = RowReport { status, residual: 0.0, condition: 1.0, measurements: d - undetermined };
        return vec![RowResult { row: i, values, report }];
    }

    // General system over the valid measurements.
    let used: Vec<usize> = (0..seen.len()).filter(|&p| valid[seen[p]]).collect();
    let mut position = vec![usize::MAX; seen.len()];
    for (r, &p) in used.iter().enumerate() {
        position[p] = r;
    }
    let mut a = Mat::<f64>::zeros(used.len(), d);
    for (j, &c) in cols.iter().enumerate() {
        plan.directions().for_each_in_coordinate(c, |t, coef| {
            let p = if index.all { t } else { seen.binary_search(&t).expect("measurement is among the row's") };
            if position[p] != usize::MAX {
                a[(position[p], j)] = plan.effective_coefficient(c, coef);
            }
        });
    }
    let y = Mat::<f64>::from_fn(used.len(), rows.len(), |r, g| meas.difference(rows[g], slot(rows[g], used[r])));
    let mut z = Mat::<f64>::zeros(d, rows.len());
    let solves = decoder.solve(a.as_ref(), y.as_ref(), z.as_mut());
    rows.iter()
        .zip(solves)
        .enumerate()
        .map(|(g, (&row, s))| RowResult {
            row,
            values: cols.iter().enumerate().map(|(j, &c)| z[(j, g)] / steps[c]).collect(),
            report: RowReport {
                status: s.status,
                residual: s.residual,
                condition: s.condition,
                measurements: used.len(),
            },
        })
        .collect()
}
