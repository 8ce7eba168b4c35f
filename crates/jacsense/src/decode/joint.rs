//! Joint least-squares decoding of a coupled structure `vec(J) = P z + c`
//! (DESIGN.md §2, §4).
//!
//! Every valid measurement `t` gives one equation per row `i`:
//! `Σ_e Σ_(q, coef) coef · δ_t[col e] · z_q = y_it − Σ_e c_e δ_t[col e]` over the
//! row's entries `e`, with `δ_t` the perturbation actually made. Rows share unknowns
//! (symmetry, ties, relations), so the system is solved as a whole: by column-pivoted
//! QR when it is small enough to hold densely (unknowns the data cannot determine are
//! reported, the others keep their values), otherwise by a sparse Cholesky
//! factorization of the normal equations (faer).

use std::collections::BTreeMap;

use faer::Mat;
use faer::linalg::solvers::SolveCore;
use faer::sparse::{SparseColMat, Triplet};

use super::{Decoder, LeastSquares};
use crate::estimate::{RowReport, RowStatus};
use crate::measurements::Measurements;
use crate::structure::Parametrization;

/// Largest `equations × unknowns` solved densely.
const DENSE_LIMIT: usize = 1 << 21;

/// The joint system: sparse rows of `M` and the right-hand side.
pub(crate) struct JointSystem {
    /// Per equation: its row of `J`, and its `(unknown, value)` pairs.
    pub(crate) rows: Vec<(usize, Vec<(usize, f64)>)>,
    pub(crate) rhs: Vec<f64>,
    pub(crate) unknowns: usize,
}

/// Builds the equations from `direction(c, visit)`, which visits `(t, δ_t[c])` for the
/// perturbations of coordinate `c`, and `value(i, t)`, the measured difference of row
/// `i` in measurement `t`.
pub(crate) fn system(
    param: &Parametrization,
    mut perturbations: impl FnMut(usize, &mut dyn FnMut(usize, f64)),
    mut value: impl FnMut(usize, usize) -> f64,
) -> JointSystem {
    let pattern = param.pattern();
    let mut sys = JointSystem { rows: Vec::new(), rhs: Vec::new(), unknowns: param.intrinsic_dimension() };
    for i in 0..pattern.nrows() {
        if param.row_unknowns(i).is_empty() {
            continue;
        }
        let mut eqs: BTreeMap<usize, (Vec<(usize, f64)>, f64)> = BTreeMap::new();
        let p0 = pattern.row_ptr()[i];
        for (q, &c) in pattern.row(i).iter().enumerate() {
            let entry = param.entry(p0 + q);
            perturbations(c, &mut |t, delta| {
                let eq = eqs.entry(t).or_default();
                eq.0.extend(entry.terms.iter().map(|&(z, coef)| (z, coef * delta)));
                eq.1 += entry.constant * delta;
            });
        }
        for (t, (mut terms, known)) in eqs {
            terms.sort_unstable_by_key(|x| x.0);
            let mut merged: Vec<(usize, f64)> = Vec::with_capacity(terms.len());
            for (z, v) in terms {
                match merged.last_mut() {
                    Some(last) if last.0 == z => last.1 += v,
                    _ => merged.push((z, v)),
                }
            }
            sys.rows.push((i, merged));
            sys.rhs.push(value(i, t) - known);
        }
    }
    sys
}

/// The solution `z` (NaN where undetermined), its variance factors when available,
/// and the numerical rank.
pub(crate) struct JointSolution {
    pub(crate) z: Vec<f64>,
    pub(crate) variance_factors: Vec<f64>,
    pub(crate) rank: usize,
}

pub(crate) fn solve(sys: &JointSystem) -> JointSolution {
    let (k, d) = (sys.rows.len(), sys.unknowns);
    if k.saturating_mul(d) <= DENSE_LIMIT {
        let mut a = Mat::<f64>::zeros(k, d);
        for (r, (_, terms)) in sys.rows.iter().enumerate() {
            for &(q, v) in terms {
                a[(r, q)] = v;
            }
        }
        let y = Mat::<f64>::from_fn(k, 1, |r, _| sys.rhs[r]);
        let mut z = Mat::<f64>::zeros(d, 1);
        let s = LeastSquares::default().solve(a.as_ref(), y.as_ref(), z.as_mut()).remove(0);
        let rank = match s.status {
            RowStatus::Determined => d,
            RowStatus::Underdetermined { determined, .. } => determined,
        };
        return JointSolution { z: (0..d).map(|q| z[(q, 0)]).collect(), variance_factors: s.variance_factors, rank };
    }
    // Normal equations MᵀM z = Mᵀy, lower triangle, sparse.
    let mut triplets: Vec<Triplet<usize, usize, f64>> = Vec::new();
    let mut b = Mat::<f64>::zeros(d, 1);
    for ((_, terms), &y) in sys.rows.iter().zip(&sys.rhs) {
        for &(qa, va) in terms {
            b[(qa, 0)] += va * y;
            for &(qb, vb) in terms.iter().filter(|x| x.0 <= qa) {
                triplets.push(Triplet::new(qa, qb, va * vb));
            }
        }
    }
    let undetermined = || JointSolution { z: vec![f64::NAN; d], variance_factors: Vec::new(), rank: 0 };
    let Ok(n) = SparseColMat::<usize, f64>::try_new_from_triplets(d, d, &triplets) else { return undetermined() };
    match n.sp_cholesky(faer::Side::Lower) {
        Ok(llt) => {
            llt.solve_in_place_with_conj(faer::Conj::No, b.as_mut());
            let z: Vec<f64> = (0..d).map(|q| b[(q, 0)]).collect();
            if z.iter().all(|v| v.is_finite()) {
                JointSolution { z, variance_factors: Vec::new(), rank: d }
            } else {
                undetermined()
            }
        }
        Err(_) => undetermined(),
    }
}

/// Decodes `meas` through `param`: values on `param.pattern()`, per-row reports, the
/// residual sum of squares and its degrees of freedom.
pub(crate) fn decode(
    meas: &Measurements<'_>,
    param: &Parametrization,
    valid: &[bool],
) -> (Vec<f64>, Vec<f64>, Vec<RowReport>, f64, usize) {
    let plan = meas.plan();
    let index = plan.index();
    let k = plan.measurements();
    let steps = plan.steps();
    let pattern = param.pattern();
    let base_valid = meas.base_valid();
    let sys = system(
        param,
        |c, visit| {
            plan.directions().for_each_in_coordinate(c, |t, coef| {
                if valid[t] && base_valid {
                    visit(t, plan.effective_coefficient(c, coef) * steps[c]);
                }
            })
        },
        |i, t| {
            let slot = if index.all {
                i * k + t
            } else {
                let seen = &index.meas[index.row_ptr[i]..index.row_ptr[i + 1]];
                index.row_ptr[i] + seen.binary_search(&t).expect("a row sees the measurements of its columns")
            };
            meas.difference(i, slot, true)
        },
    );
    let sol = solve(&sys);
    let values = param.assemble(&sol.z).values().to_vec();
    // Residuals per row over the determined part (undetermined unknowns at zero).
    let zb: Vec<f64> = sol.z.iter().map(|v| if v.is_nan() { 0.0 } else { *v }).collect();
    let mut rss_row = vec![0.0; pattern.nrows()];
    let mut eqs_row = vec![0usize; pattern.nrows()];
    for ((i, terms), &y) in sys.rows.iter().zip(&sys.rhs) {
        let r: f64 = terms.iter().map(|&(q, v)| v * zb[q]).sum::<f64>() - y;
        rss_row[*i] += r * r;
        eqs_row[*i] += 1;
    }
    let rss: f64 = rss_row.iter().sum();
    let dof = sys.rows.len().saturating_sub(sol.rank);
    let noise_var = if dof > 0 { rss / dof as f64 } else { f64::NAN };
    // Standard errors for entries that are one unknown times a factor.
    let std_errors: Vec<f64> = (0..pattern.nnz())
        .map(|e| match param.entry(e).terms {
            [(q, coef)] if !sol.variance_factors.is_empty() && dof > 0 => {
                coef.abs() * (noise_var * sol.variance_factors[*q]).sqrt()
            }
            _ => f64::NAN,
        })
        .collect();
    let reports = (0..pattern.nrows())
        .map(|i| {
            let row = &values[pattern.row_ptr()[i]..pattern.row_ptr()[i + 1]];
            let determined = row.iter().filter(|v| !v.is_nan()).count();
            let status = if determined == row.len() {
                RowStatus::Determined
            } else {
                RowStatus::Underdetermined { determined, unknowns: row.len() }
            };
            RowReport {
                status,
                residual: rss_row[i].sqrt(),
                condition: f64::NAN,
                measurements: eqs_row[i],
                noise: (dof > 0).then(|| noise_var.sqrt()),
                ..RowReport::empty()
            }
        })
        .collect();
    (values, std_errors, reports, rss, dof)
}

/// The fewest generic Gaussian directions for which the joint system of `param` has
/// full column rank, found by trial on the parametrization alone (no call of the
/// blackbox), when the system is small enough to test densely; otherwise
/// [`Parametrization::sufficient_measurements`].
pub(crate) fn measurements_needed(param: &Parametrization, seed: u64) -> usize {
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};
    use rand_distr::StandardNormal;
    let (m, n) = (param.pattern().nrows(), param.pattern().ncols());
    let d = param.intrinsic_dimension();
    let enough = param.sufficient_measurements();
    let start = param.lower_bound().max(usize::from(d > 0));
    for k in start..enough {
        if (m * k).saturating_mul(d) > DENSE_LIMIT {
            break;
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let dirs: Vec<f64> = (0..n * k).map(|_| rng.sample::<f64, _>(StandardNormal)).collect();
        let sys = system(param, |c, visit| (0..k).for_each(|t| visit(t, dirs[c * k + t])), |_, _| 0.0);
        if solve(&sys).rank == d {
            return k;
        }
    }
    enough
}
