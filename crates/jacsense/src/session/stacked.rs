//! Structured sessions after their first round: rows that top-up rounds touched are
//! decoded again by least squares over the valid measurements of every round,
//! stacked (the planner's design first, then the top-ups' random directions on the
//! columns that were missing), in the unknowns `z_c = J_ic h_c` of the first round's
//! steps.

use faer::Mat;
use rayon::prelude::*;

use super::Session;
use crate::decode::{Decoder, LeastSquares, RowReport, RowSolve, shrunk_variance, status_of};
use crate::design::Difference;
use crate::measurements::Measurements;

impl Session {
    /// Row `i`'s equations from every round: `a` (valid measurements × the row's
    /// columns) and `y`.
    fn stacked_row(&self, i: usize) -> (Mat<f64>, Vec<f64>) {
        let cols = self.structure.pattern().row(i);
        let scale = self.rounds[0].plan.steps();
        let central = self.settings.difference == Difference::Central;
        let base = self.base();
        let mut rows_a: Vec<Vec<f64>> = Vec::new();
        let mut ys = Vec::new();
        for r in &self.rounds {
            let plan = &r.plan;
            let meas = Measurements::from_told(plan, r.told.clone());
            let index = plan.index();
            let k = plan.measurements();
            let seen: Vec<usize> = if index.all {
                (0..k).collect()
            } else {
                index.meas[index.row_ptr[i]..index.row_ptr[i + 1]].iter().map(|&t| t as usize).collect()
            };
            let mut position = vec![usize::MAX; k];
            let first = rows_a.len();
            for (p, &t) in seen.iter().enumerate() {
                if !meas.measurement_valid(t) || (!central && base.is_none()) {
                    continue;
                }
                let slot = if index.all { i * k + t } else { index.row_ptr[i] + p };
                let y = if central {
                    0.5 * (r.told.values[2 * slot] - r.told.values[2 * slot + 1])
                } else {
                    r.told.values[slot] - base.expect("checked")[i]
                };
                position[t] = rows_a.len();
                rows_a.push(vec![0.0; cols.len()]);
                ys.push(y);
            }
            if rows_a.len() == first {
                continue;
            }
            for (j, &c) in cols.iter().enumerate() {
                plan.directions().for_each_in_coordinate(c, |t, coef| {
                    if position[t] != usize::MAX {
                        rows_a[position[t]][j] = plan.effective_coefficient(c, coef) * plan.steps()[c] / scale[c];
                    }
                });
            }
        }
        let a = Mat::from_fn(rows_a.len(), cols.len(), |t, j| rows_a[t][j]);
        (a, ys)
    }

    /// Decodes again, over every round, the rows whose columns a top-up round touched,
    /// and patches them into the first round's estimate.
    pub(super) fn decode_topups(&mut self) {
        let (n, m) = self.structure.dims();
        let mut touched = vec![false; n];
        for r in &self.rounds[1..] {
            for c in 0..n {
                r.plan.directions().for_each_in_coordinate(c, |_, _| touched[c] = true);
            }
        }
        let pattern = self.structure.pattern();
        let rows: Vec<usize> = (0..m).filter(|&i| pattern.row(i).iter().any(|&c| touched[c])).collect();
        let solved: Vec<(usize, Vec<f64>, RowSolve, usize, f64)> = rows
            .par_iter()
            .map(|&i| {
                let (a, y) = self.stacked_row(i);
                let unit = self.base().map_or(1.0, |b| b[i].abs().max(1.0));
                let ym = Mat::from_fn(y.len(), 1, |t, _| y[t]);
                let mut z = Mat::<f64>::zeros(a.ncols(), 1);
                let s = LeastSquares::default().solve(a.as_ref(), ym.as_ref(), z.as_mut()).pop().expect("one rhs");
                (i, (0..a.ncols()).map(|j| z[(j, 0)]).collect(), s, y.len(), unit)
            })
            .collect();
        let (mut rss, mut dof) = (0.0, 0usize);
        for (_, _, s, _, unit) in &solved {
            if s.dof > 0 {
                rss += (s.residual / unit).powi(2);
                dof += s.dof;
            }
        }
        let pooled = (dof > 0).then(|| rss / dof as f64);
        let scale = self.rounds[0].plan.steps().to_vec();
        let calls = self.calls();
        let erasures = self.erasures();
        let total_measurements: usize = self.rounds.iter().map(|r| r.plan.measurements()).sum();
        let first_plan = self.rounds[0].plan.clone();
        let est = self.estimate.as_mut().expect("the first round was decoded");
        let (jacobian, std_errors, diag) = est.parts_mut();
        let nnz = jacobian.pattern().nnz();
        let se = std_errors.get_or_insert_with(|| vec![f64::NAN; nnz]);
        for (i, z, s, k, unit) in solved {
            let range = jacobian.pattern().row_range(i);
            let cols: Vec<usize> = jacobian.pattern().row(i).to_vec();
            let var = pooled.map(|p| shrunk_variance(s.residual.powi(2), s.dof, p, unit));
            for (j, &c) in cols.iter().enumerate() {
                jacobian.values_mut()[range.start + j] = z[j] / scale[c];
                let vf = s.variance_factors.get(j).copied().unwrap_or(f64::NAN);
                se[range.start + j] = var.map_or(f64::NAN, |v| (v * vf).sqrt() / scale[c]);
            }
            let mut report = RowReport {
                status: status_of(&z),
                residual: s.residual,
                condition: s.condition,
                measurements: k,
                dof: s.dof,
                outliers: 0,
                offset: false,
                noise: var.map(f64::sqrt),
            };
            crate::status::judge_rows_in(&first_plan, &row_pattern(&cols, n), std::slice::from_mut(&mut report));
            diag.rows[i] = report;
        }
        if se.iter().all(|v| v.is_nan()) {
            *std_errors = None;
        }
        diag.calls = calls;
        diag.erasures = erasures;
        diag.measurements = total_measurements;
        if let Some(p) = pooled {
            diag.noise = Some(p.sqrt());
        }
    }
}

/// A one-row pattern of `cols`, to judge one row.
fn row_pattern(cols: &[usize], n: usize) -> crate::pattern::Pattern {
    crate::pattern::Pattern::from_rows(n, &[cols]).expect("columns in range")
}
