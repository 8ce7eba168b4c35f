//! Robust sparse recovery: rows with few nonzeros at unknown places, from calls of
//! which a fraction is garbage (DESIGN.md §9, "Robust sparse recovery").
//!
//! A garbage call spoils its measurement in every row (DESIGN.md §8), so the evidence
//! is pooled over rows before any row is trusted:
//!
//! 1. **Screen.** On a sample of rows, orthogonal matching pursuit over an extended
//!    dictionary `[Â | I | 1]`: the unit-norm columns of `A`, one unit vector per call
//!    (a call's gross error is a sparse term `e_t` in `y = A z + e`: "justice
//!    pursuit", Laska, Davenport & Baraniuk 2009), and a constant (the offset that a
//!    wrong `f(x0)` adds to every forward difference), always first. Each row's choice
//!    of unit vectors is its vote against those calls.
//! 2. **Pool.** A call is garbage when at least half the screened rows that found a fit
//!    voted against it.
//! 3. **Recover.** Every row, by OMP with the offset on the clean calls only; a row that
//!    does not fit there searches the extended dictionary again for calls wrong in it
//!    alone. The support is pruned and refitted by least squares
//!    ([`SparseRecovery`]'s backward elimination), as difference quotients carry noise
//!    (DESIGN.md §8).
//! 4. **Check.** Residuals of the refits over the clean calls, scaled per row by a
//!    robust noise level (the median absolute deviation): a call far off in at least half
//!    the rows is garbage too, and step 3 runs again (at most [`PASSES`] times).
//! 5. **Validate.** Each row is refitted on its support without every tenth clean call,
//!    and predicts those: the relative residual on them is the row's validation residual
//!    (a session compares it with its tolerance to decide whether the row is done).
//!
//! Cost per row and pass: `O(k·d)` per support column chosen, as OMP.

use faer::{Col, ColRef, Mat, MatMut, MatRef};
use rayon::prelude::*;

use super::omp::Basis;
use super::{Found, SparseRecovery};
use crate::decode::{Decoder, LeastSquares, RowSolve, RowStatus};

/// Passes of steps 3–4 at most.
const PASSES: usize = 3;

/// Rounding of a value, in units of `ε` times its size: a row's residual per call
/// below this is never asked of a fit (rows whose change along the directions is tiny
/// against their value, whose relative noise exceeds the tolerance).
const ROUNDING: f64 = 64.0;

/// Rows screened in step 1 at most (evenly spread).
const SCREEN_ROWS: usize = 256;

/// Robust sparse recovery of rows sharing one measurement matrix `A` (k calls × d
/// unknowns), when some calls are grossly wrong.
///
/// A garbage call spoils its measurement in every row, so the evidence is pooled over
/// rows: (1) on a sample of up to 256 rows, orthogonal matching pursuit over `A`'s
/// unit-norm columns, one unit vector per call (its gross error) and a constant (the
/// offset a wrong `f(x0)` adds), a named call being deleted from the row's problem;
/// (2) a call is garbage when at least half the rows that found a fit named it;
/// (3) every row is recovered by OMP with the offset on the clean calls (a row that
/// does not fit names its own wrong calls the same way), its support pruned and
/// refitted by least squares; (4) a call whose residual is more than
/// [`outlier_threshold`](Self::outlier_threshold) robust noise levels off in at least
/// half the rows is garbage too, and (3) runs again, at most 3 times in all;
/// (5) each row is refitted without every tenth clean call and predicts those: its
/// validation residual.
///
/// As a [`Decoder`] it returns, per row, the recovered values (zero off the support,
/// NaN when the row did not fit), the support, and as outliers the calls judged
/// garbage (pooled over rows, plus those wrong in that row alone).
/// [`decode_rows`](Self::decode_rows) returns the same with the pooled verdict and each
/// row's validation residual, for a caller that decides from them (a session).
///
/// ```
/// use faer::Mat;
/// use jacsense::decode::{Decoder, RobustSparse};
/// use rand::{SeedableRng, rngs::StdRng};
/// use rand_distr::{Distribution, StandardNormal};
/// // 60 Gaussian calls, 200 unknowns, rows with 3 nonzeros; calls 5 and 17 garbage.
/// let mut rng = StdRng::seed_from_u64(3);
/// let a = Mat::from_fn(60, 200, |_, _| StandardNormal.sample(&mut rng));
/// let z_true = Mat::from_fn(200, 20, |j, i| if j % 20 == i % 20 && j < 60 { 1.0 + j as f64 / 100.0 } else { 0.0 });
/// let mut y = &a * &z_true;
/// for i in 0..20 {
///     y[(5, i)] = 1e6;
///     y[(17, i)] *= -1.0;
/// }
/// let decoder = RobustSparse { max_support: Some(3), outliers: 0.1, ..RobustSparse::default() };
/// let fit = decoder.decode_rows(a.as_ref(), y.as_ref());
/// assert_eq!(fit.outlier_calls, vec![5, 17]);
/// for i in 0..20 {
///     assert_eq!(fit.supports[i].as_deref(), Some(&[i, i + 20, i + 40][..]));
///     assert!(fit.validation[i] < 1e-9);
/// }
/// assert!((fit.values[(45, 5)] - 1.45).abs() < 1e-9);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RobustSparse {
    /// Most nonzeros of a row. `None`: `⌊k/4⌋`.
    pub max_support: Option<usize>,
    /// Expected fraction of garbage calls: a row's search may name up to
    /// `⌈2·outliers·k⌉ + 2` calls (and at least 2), at most a third of them.
    pub outliers: f64,
    /// Residual, relative to the norm of the clean measurements, judged as noise (as
    /// [`SparseRecovery::tolerance`]).
    pub tolerance: f64,
    /// A residual this many robust noise levels (1.4826 · median absolute deviation,
    /// at least the tolerance's share per call) off makes a call wrong in that row.
    pub outlier_threshold: f64,
    /// The least-squares refit on the support.
    pub refit: LeastSquares,
}

impl Default for RobustSparse {
    fn default() -> Self {
        RobustSparse {
            max_support: None,
            outliers: 0.1,
            tolerance: 64.0 * f64::EPSILON.sqrt(),
            outlier_threshold: 10.0,
            refit: LeastSquares::default(),
        }
    }
}

/// What [`RobustSparse::decode_rows`] found.
#[derive(Clone, Debug)]
pub struct RobustSparseFit {
    /// The values, d × r (one column per row): zero off the support, NaN for a row
    /// that did not fit.
    pub values: Mat<f64>,
    /// Each row's support (ascending), `None` when it did not fit.
    pub supports: Vec<Option<Vec<usize>>>,
    /// The calls (rows of `A`) judged garbage for every row, ascending.
    pub outlier_calls: Vec<usize>,
    /// Each row's validation residual: `‖A_h z − y_h‖ / ‖y_h‖` on every tenth clean
    /// call `h`, with `z` fitted on the support without them (∞ when the row did not
    /// fit or has too few calls to hold any back).
    pub validation: Vec<f64>,
    /// Each row's solve: status, residual and condition of the refit, its outlier calls
    /// (the pooled ones and its own), degrees of freedom, variance factors, support.
    pub rows: Vec<RowSolve>,
}

impl RobustSparse {
    fn max_support(&self, k: usize, d: usize) -> usize {
        self.max_support.unwrap_or(k / 4).min(d)
    }

    fn max_outlier_calls(&self, k: usize) -> usize {
        let q = (2.0 * self.outliers.clamp(0.0, 1.0) * k as f64).ceil() as usize + 2;
        q.min(k / 3).max(2.min(k))
    }

    fn plain(&self, tolerance: f64) -> SparseRecovery {
        SparseRecovery { tolerance, refit: self.refit.clone(), ..SparseRecovery::default() }
    }

    /// Decodes every column of `y` (k × r) against `a` (k × d): values, supports, the
    /// garbage calls, and validation residuals (see [`RobustSparse`]).
    pub fn decode_rows(&self, a: MatRef<'_, f64>, y: MatRef<'_, f64>) -> RobustSparseFit {
        let (k, d) = a.shape();
        let r = y.ncols();
        if k == 0 || d == 0 {
            // No call, or no unknown: nothing to recover (every row undetermined, or
            // trivially determined and empty).
            let status =
                if d == 0 { RowStatus::Determined } else { RowStatus::Underdetermined { determined: 0, unknowns: d } };
            return RobustSparseFit {
                values: Mat::from_fn(d, r, |_, _| f64::NAN),
                supports: vec![if d == 0 { Some(Vec::new()) } else { None }; r],
                outlier_calls: Vec::new(),
                validation: vec![f64::INFINITY; r],
                rows: vec![RowSolve { status, ..RowSolve::default() }; r],
            };
        }
        let s_max = self.max_support(k, d);
        // Pursuits may take up to twice the columns (a wrong early choice then does not
        // end the search); pruning takes them back to at most s_max.
        let slack = (2 * s_max).min(k / 3).max(s_max);
        let q_max = self.max_outlier_calls(k);
        // Each row shifted by its median: the offset absorbs any constant, and a wrong
        // f(x0) then does not inflate the norm the tolerance is relative to.
        let y = Mat::<f64>::from_fn(k, r, |t, i| y[(t, i)]);
        // Rounding floor per call of each row: the values' own rounding, ε times their
        // level (the median), which the shift cannot remove.
        let mut floors = vec![0.0; r];
        let y = {
            let mut y = y;
            for (i, floor) in floors.iter_mut().enumerate() {
                let mut col: Vec<f64> = y.col(i).iter().copied().filter(|v| v.is_finite()).collect();
                let shift = if col.is_empty() {
                    0.0
                } else {
                    let mid = col.len() / 2;
                    *col.select_nth_unstable_by(mid, f64::total_cmp).1
                };
                y.col_mut(i).iter_mut().for_each(|v| *v -= shift);
                *floor = ROUNDING * f64::EPSILON * shift.abs();
            }
            y
        };

        // 1–2. Screen a sample of rows on every call, pool their votes.
        let all: Vec<usize> = (0..k).collect();
        let dict = Dictionary::new(a, &all);
        let screened: Vec<usize> = if r <= SCREEN_ROWS { (0..r).collect() } else { spread(r, SCREEN_ROWS) };
        let votes: Vec<Option<Vec<usize>>> = screened
            .par_iter()
            .map(|&i| {
                let p = dict.pursue(y.col(i), slack, q_max, self.tolerance, floors[i]);
                p.fits.then_some(p.calls)
            })
            .collect();
        let mut garbage = vec![false; k];
        let fitted = votes.iter().flatten().count();
        if fitted > 0 {
            let mut count = vec![0usize; k];
            votes.iter().flatten().flatten().for_each(|&t| count[t] += 1);
            for t in 0..k {
                garbage[t] = count[t] > 0 && 2 * count[t] >= fitted;
            }
        }
        // Non-finite values are garbage wherever they are.
        for t in 0..k {
            if (0..r).any(|i| !y[(t, i)].is_finite()) && (0..r).filter(|&i| !y[(t, i)].is_finite()).count() * 2 >= r {
                garbage[t] = true;
            }
        }

        // 3–4. Recover every row on the clean calls; check residuals; again if needed.
        let mut rows: Vec<RowFit> = Vec::new();
        for _ in 0..PASSES {
            let clean: Vec<usize> = (0..k).filter(|&t| !garbage[t]).collect();
            let dict = Dictionary::new(a, &clean);
            rows = (0..r)
                .into_par_iter()
                .map(|i| self.recover(a, &dict, &clean, y.col(i), [s_max, slack, q_max], floors[i]))
                .collect();
            let new = self.check(&rows, &clean, &y, a);
            if new.is_empty() {
                break;
            }
            new.into_iter().for_each(|t| garbage[t] = true);
        }
        let outlier_calls: Vec<usize> = (0..k).filter(|&t| garbage[t]).collect();

        // 5. Validate on held-back clean calls.
        let validation: Vec<f64> = rows
            .par_iter()
            .enumerate()
            .map(|(i, fit)| match &fit.support {
                Some(support) => self.validate(a, y.col(i), &fit.used, support),
                None => f64::INFINITY,
            })
            .collect();

        let mut values = Mat::<f64>::zeros(d, r);
        let mut supports = Vec::with_capacity(r);
        let mut solves = Vec::with_capacity(r);
        for (i, fit) in rows.into_iter().enumerate() {
            values.col_mut(i).copy_from(&fit.z);
            supports.push(fit.support);
            let mut outliers: Vec<usize> = outlier_calls.iter().copied().chain(fit.own_outliers).collect();
            outliers.sort_unstable();
            outliers.dedup();
            solves.push(RowSolve { outliers, ..fit.solve });
        }
        RobustSparseFit { values, supports, outlier_calls, validation, rows: solves }
    }

    /// One row on the clean calls: OMP with the offset; if it does not fit, the
    /// extended dictionary names the calls wrong in this row, and the rest are refitted.
    fn recover(
        &self,
        a: MatRef<'_, f64>,
        dict: &Dictionary,
        clean: &[usize],
        y: ColRef<'_, f64>,
        [s_max, slack, q_max]: [usize; 3],
        floor: f64,
    ) -> RowFit {
        let d = a.ncols();
        let yc = Col::<f64>::from_fn(clean.len(), |p| y[clean[p]]);
        let plain = dict.pursue(yc.as_ref(), slack, 0, self.tolerance, floor);
        let (pursuit, used) = if plain.fits {
            (plain, clean.to_vec())
        } else {
            let extended = dict.pursue(yc.as_ref(), slack, q_max, self.tolerance, floor);
            let wrong: Vec<usize> = extended.calls.iter().map(|&p| clean[p]).collect();
            let used: Vec<usize> = clean.iter().copied().filter(|t| !wrong.contains(t)).collect();
            (extended, used)
        };
        let own_outliers: Vec<usize> = clean.iter().copied().filter(|t| !used.contains(t)).collect();
        // Refit on the used calls: the columns chosen and the offset (last), pruned by
        // SparseRecovery's backward elimination.
        let mut columns = pursuit.columns.clone();
        columns.sort_unstable();
        let sub = Mat::<f64>::from_fn(used.len(), columns.len() + 1, |p, q| {
            if q < columns.len() { a[(used[p], columns[q])] } else { 1.0 }
        });
        let ys = Mat::<f64>::from_fn(used.len(), 1, |p, _| y[used[p]]);
        let zero: Vec<bool> = (0..=columns.len()).map(|q| sub.col(q).norm_l2() == 0.0).collect();
        let found = Found { support: (0..=columns.len()).collect(), fits: pursuit.fits, limit: None };
        let mut zs = Mat::<f64>::zeros(columns.len() + 1, 1);
        // The pruning's tolerance, relative to ‖y‖, raised to the rounding floor.
        let ynorm = ys.col(0).norm_l2();
        let tolerance =
            if ynorm > 0.0 { self.tolerance.max(floor * (used.len() as f64).sqrt() / ynorm) } else { self.tolerance };
        let mut solve = self.plain(tolerance).finish(sub.as_ref(), &zero, ys.as_ref(), found, zs.as_mut());
        let kept_columns =
            solve.support.as_ref().map_or(usize::MAX, |s| s.iter().filter(|&&q| q < columns.len()).count());
        let fits = pursuit.fits
            && kept_columns <= s_max
            && !matches!(solve.status, RowStatus::Underdetermined { determined: 0, .. });
        let mut z = Col::<f64>::from_fn(d, |_| if fits { 0.0 } else { f64::NAN });
        let mut support = None;
        let mut offset = 0.0;
        if fits {
            let kept = solve.support.take().unwrap_or_default();
            for &q in &kept {
                if q < columns.len() {
                    z[columns[q]] = zs[(q, 0)];
                } else {
                    offset = zs[(q, 0)];
                }
            }
            support = Some(kept.iter().filter(|&&q| q < columns.len()).map(|&q| columns[q]).collect::<Vec<_>>());
            if !solve.variance_factors.is_empty() {
                let mut v = vec![0.0; d];
                for q in 0..columns.len() {
                    v[columns[q]] = solve.variance_factors[q];
                }
                solve.variance_factors = v;
            }
            // Inputs no call perturbs are never observed.
            let unseen = dict.zero.iter().filter(|&&u| u).count();
            dict.zero.iter().enumerate().filter(|(_, u)| **u).for_each(|(j, _)| z[j] = f64::NAN);
            solve.status = if unseen == 0 {
                RowStatus::Determined
            } else {
                RowStatus::Underdetermined { determined: d - unseen, unknowns: d }
            };
        } else {
            solve.status = RowStatus::Underdetermined { determined: 0, unknowns: d };
            solve.variance_factors.clear();
        }
        solve.support = support.clone();
        RowFit { z, offset, support, used, own_outliers, solve }
    }

    /// Calls whose residual is far off in at least half the rows that fit.
    fn check(&self, rows: &[RowFit], clean: &[usize], y: &Mat<f64>, a: MatRef<'_, f64>) -> Vec<usize> {
        let k = a.nrows();
        let fitted: Vec<(usize, &RowFit)> = rows.iter().enumerate().filter(|(_, f)| f.support.is_some()).collect();
        if fitted.is_empty() || clean.is_empty() {
            return Vec::new();
        }
        let far: Vec<Vec<usize>> = fitted
            .par_iter()
            .map(|&(i, fit)| {
                let support = fit.support.as_deref().unwrap_or(&[]);
                let residual: Vec<f64> = clean
                    .iter()
                    .map(|&t| {
                        let pred: f64 = support.iter().map(|&j| a[(t, j)] * fit.z[j]).sum::<f64>() + fit.offset;
                        y[(t, i)] - pred
                    })
                    .collect();
                let norm = clean.iter().map(|&t| y[(t, i)].powi(2)).sum::<f64>().sqrt();
                let floor = self.tolerance * norm / (clean.len() as f64).sqrt();
                let scale = (1.4826 * median_abs(&residual)).max(floor);
                clean
                    .iter()
                    .zip(&residual)
                    .filter(|(_, r)| r.abs() > self.outlier_threshold * scale)
                    .map(|(&t, _)| t)
                    .collect()
            })
            .collect();
        let mut count = vec![0usize; k];
        far.iter().flatten().for_each(|&t| count[t] += 1);
        (0..k).filter(|&t| count[t] > 0 && 2 * count[t] >= fitted.len()).collect()
    }

    /// The validation residual of a row: refit on `support` (and the offset) without
    /// every tenth of `used`, relative residual on those.
    fn validate(&self, a: MatRef<'_, f64>, y: ColRef<'_, f64>, used: &[usize], support: &[usize]) -> f64 {
        let held: Vec<usize> = used.iter().copied().skip(5).step_by(10).collect();
        let train: Vec<usize> = used.iter().copied().filter(|t| !held.contains(t)).collect();
        if held.is_empty() || train.len() <= support.len() + 1 {
            return f64::INFINITY;
        }
        let cols = |rows: &[usize]| {
            Mat::<f64>::from_fn(rows.len(), support.len() + 1, |p, q| {
                if q < support.len() { a[(rows[p], support[q])] } else { 1.0 }
            })
        };
        let at = cols(&train);
        let yt = Mat::<f64>::from_fn(train.len(), 1, |p, _| y[train[p]]);
        let mut z = Mat::<f64>::zeros(support.len() + 1, 1);
        let solve = self.refit.solve(at.as_ref(), yt.as_ref(), z.as_mut());
        if z.col(0).iter().any(|v| v.is_nan()) || solve.is_empty() {
            return f64::INFINITY;
        }
        let ah = cols(&held);
        let yh = Col::<f64>::from_fn(held.len(), |p| y[held[p]]);
        let pred = &ah * z.col(0);
        let num = (&pred - &yh).norm_l2();
        let den = yh.norm_l2();
        if den > 0.0 { num / den } else { num }
    }
}

/// One row's recovery.
struct RowFit {
    z: Col<f64>,
    offset: f64,
    support: Option<Vec<usize>>,
    /// Calls the refit used (clean and not wrong in this row).
    used: Vec<usize>,
    own_outliers: Vec<usize>,
    solve: RowSolve,
}

fn median_abs(v: &[f64]) -> f64 {
    let mut a: Vec<f64> = v.iter().map(|x| x.abs()).collect();
    if a.is_empty() {
        return 0.0;
    }
    let mid = a.len() / 2;
    *a.select_nth_unstable_by(mid, f64::total_cmp).1
}

/// `count` indices spread evenly over `0..n`.
fn spread(n: usize, count: usize) -> Vec<usize> {
    (0..count).map(|c| c * n / count).collect()
}

/// The rows `calls` of `A` with unit-norm columns, and the extended OMP on them.
struct Dictionary {
    a: Mat<f64>,
    zero: Vec<bool>,
}

/// What a pursuit chose.
struct Pursuit {
    /// Columns of `A` chosen.
    columns: Vec<usize>,
    /// Calls (positions among the dictionary's rows) named wrong.
    calls: Vec<usize>,
    fits: bool,
}

impl Dictionary {
    fn new(a: MatRef<'_, f64>, calls: &[usize]) -> Self {
        let d = a.ncols();
        let mut an = Mat::<f64>::from_fn(calls.len(), d, |p, j| a[(calls[p], j)]);
        let mut zero = vec![false; d];
        for (j, z) in zero.iter_mut().enumerate() {
            let norm = an.col(j).norm_l2();
            if norm > 0.0 && norm.is_finite() {
                an.col_mut(j).iter_mut().for_each(|x| *x /= norm);
            } else {
                *z = true;
                an.col_mut(j).fill(0.0);
            }
        }
        Dictionary { a: an, zero }
    }

    /// OMP over `[Â | I | 1]` with the constant first, at most `s_max` columns and
    /// `q_max` calls, until the residual is at most `tolerance` times the norm of `y`
    /// off the calls named.
    ///
    /// A call named is deleted from the problem (its row zeroed in `y` and in every
    /// atom, the basis rebuilt), not projected out: projecting a garbage value of 10¹⁴
    /// times the signal leaves rounding errors of that times `ε` on every other call.
    fn pursue(&self, y: ColRef<'_, f64>, s_max: usize, q_max: usize, tolerance: f64, floor: f64) -> Pursuit {
        let (k, d) = self.a.shape();
        let mut out = Pursuit { columns: Vec::new(), calls: Vec::new(), fits: false };
        let mut named: Vec<bool> = (0..k).map(|t| !y[t].is_finite()).collect();
        out.calls = (0..k).filter(|&t| named[t]).collect();
        if k == 0 || out.calls.len() > q_max {
            return out;
        }
        let mut blocked_col = self.zero.clone();
        let mut basis = self.basis(y, &named, &out.columns, s_max);
        loop {
            let clean_norm = (0..k).filter(|&t| !named[t]).map(|t| y[t] * y[t]).sum::<f64>().sqrt();
            let clean = (0..k).filter(|&t| !named[t]).count() as f64;
            if basis.residual_norm() <= (tolerance * clean_norm).max(floor * clean.sqrt()) {
                out.fits = true;
                return out;
            }
            let columns_left = out.columns.len() < s_max;
            let calls_left = out.calls.len() < q_max;
            if !columns_left && !calls_left {
                return out;
            }
            let res = basis.residual();
            let mut best: Option<(bool, usize, f64)> = None;
            if columns_left {
                let corr = self.a.transpose() * res;
                for j in 0..d {
                    let c = corr[j].abs();
                    if !blocked_col[j] && best.is_none_or(|(_, _, b)| c > b) {
                        best = Some((true, j, c));
                    }
                }
            }
            if calls_left {
                for t in 0..k {
                    let c = res[t].abs();
                    if !named[t] && best.is_none_or(|(_, _, b)| c > b) {
                        best = Some((false, t, c));
                    }
                }
            }
            let Some((is_column, j, c)) = best else { return out };
            if c.is_nan() || c == 0.0 {
                return out;
            }
            if is_column {
                blocked_col[j] = true;
                let mut col = self.a.col(j).to_owned();
                (0..k).filter(|&t| named[t]).for_each(|t| col[t] = 0.0);
                let norm = col.norm_l2();
                if norm > 0.0 && basis.push((col / norm).as_ref()) {
                    out.columns.push(j);
                }
            } else {
                named[j] = true;
                out.calls.push(j);
                basis = self.basis(y, &named, &out.columns, s_max);
            }
        }
    }

    /// The basis of the constant and `columns`, and the residual of `y`, with the
    /// `named` calls deleted.
    fn basis(&self, y: ColRef<'_, f64>, named: &[bool], columns: &[usize], s_max: usize) -> Basis {
        let k = y.nrows();
        let keep = |t: usize| !named[t];
        let yk = Col::<f64>::from_fn(k, |t| if keep(t) { y[t] } else { 0.0 });
        let mut basis = Basis::new(yk.as_ref(), 1 + s_max);
        let clean = (0..k).filter(|&t| keep(t)).count().max(1) as f64;
        let constant = Col::<f64>::from_fn(k, |t| if keep(t) { 1.0 / clean.sqrt() } else { 0.0 });
        basis.push(constant.as_ref());
        for &j in columns {
            let col = Col::<f64>::from_fn(k, |t| if keep(t) { self.a[(t, j)] } else { 0.0 });
            let norm = col.norm_l2();
            if norm > 0.0 {
                basis.push((col / norm).as_ref());
            }
        }
        basis
    }
}

impl Decoder for RobustSparse {
    fn name(&self) -> &'static str {
        "robust-sparse"
    }

    /// The offset is an unknown of its own here, never a candidate of the support.
    fn accepts_offset(&self) -> bool {
        false
    }

    fn pools_rows(&self) -> bool {
        true
    }

    fn own_offset(&self) -> bool {
        true
    }

    fn solve(&self, a: MatRef<'_, f64>, y: MatRef<'_, f64>, mut z: MatMut<'_, f64>) -> Vec<RowSolve> {
        let fit = self.decode_rows(a, y);
        z.copy_from(&fit.values);
        fit.rows
    }
}
