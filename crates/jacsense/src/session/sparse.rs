//! Rows of a `J` nobody described, recovered by sparse recovery and validated on calls
//! held back from the fit (cross-validation for compressed sensing, Ward 2009).
//!
//! Every row sees every measurement: `Y = A Z`, `A` the `K × n` matrix of (effective,
//! scaled) directions and row `i` of `J` the sparse column `z_i` (`z_ic = J_ic h_c`).
//! The last `H` measurements are held back; a row's support is searched on the others:
//!
//! - **Stagewise matching pursuit** ([`search`]): the residuals of a block of rows are
//!   correlated with every column in one matrix product (`Aᵀ R`, a matrix product
//!   rather than a product per row), and every column that stands out of the noise
//!   joins the row's support at once, so a row with `s` nonzeros takes a few stages
//!   rather than `s` greedy steps.
//! - **Least squares on the support**, pruned of columns that noise brought in.
//!
//! A support that fits is **validated** when it predicts the held-back measurements
//! within the noise level seen in the fit: a wrong or missing column shows there, since
//! the held-back directions took no part in choosing it. Validated rows are refitted by
//! least squares on all measurements; the others wait for the next round.

use faer::{Accum, Mat, MatRef, Par};
use rayon::prelude::*;

use crate::decode::{Decoder, LeastSquares, RowSolve};

/// Rows whose residuals are correlated in one product.
const BLOCK: usize = 64;

/// Held-back residuals up to this many times the noise level seen in the fit validate
/// a support (a wrong support leaves residuals of the size of a missed entry).
pub(crate) const VALIDATION_FACTOR: f64 = 10.0;

/// The residual of a fit accepted as noise, relative to `‖y‖` (as
/// [`SparseRecovery::tolerance`]).
pub(crate) const FIT_TOLERANCE: f64 = 64.0 * 1.4901161193847656e-8;

/// Held-back measurements for `k` measurements in all.
pub(crate) fn holdback(k: usize) -> usize {
    3.max(k / 16)
}

/// The most nonzeros a row may have to be recovered from `k` measurements of `n`
/// unknowns: about `k / (2 ln(n/k))` (compressed sensing needs `k ≈ 2 s ln(n/s)`
/// Gaussian measurements for `s` nonzeros, Donoho & Tanner 2009), and never more than
/// `k/2` (beyond which the sparsest fit is not unique). A row denser than this waits
/// for more measurements rather than being fitted by a wrong support.
pub(crate) fn sparsity_limit(k: usize, n: usize) -> usize {
    let log = (n as f64 / k.max(1) as f64).ln().max(1.0);
    ((k as f64 / (2.0 * log)).floor() as usize).clamp(1, (k / 2).max(1))
}

/// The measurements of a session, every row seeing every one.
pub(crate) struct System {
    /// `K × n`: effective scaled coefficients, one row per valid measurement.
    pub(crate) a: Mat<f64>,
    /// `K × m`: the differences.
    pub(crate) y: Mat<f64>,
    /// Per output: the largest `|f_i|` seen, the unit of its rounding noise.
    pub(crate) level: Vec<f64>,
    /// Per measurement: its calls (numbered across rounds), `+` side first.
    pub(crate) calls: Vec<(usize, Option<usize>)>,
}

/// What the search found for one row.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Found {
    /// A support that fits the fit set and predicts the held-back measurements.
    Validated(Vec<usize>),
    /// A support that fits but mispredicts the held-back measurements (their residual
    /// relative to the noise level).
    Mispredicts(f64),
    /// No support of at most half the fit measurements fits at the noise level.
    NoFit,
}

/// The floor of the noise on one measurement of output `i`: rounding of `f` and of the
/// products `A z`.
pub(crate) fn noise_floor(level: f64, y: MatRef<'_, f64>) -> f64 {
    let ymax = y.col(0).iter().fold(0.0f64, |m, v| m.max(v.abs()));
    16.0 * f64::EPSILON * (level.max(1.0) + ymax)
}

/// Least squares of `y` on the columns `support` of `a` (rows `rows`).
pub(crate) fn refit(a: MatRef<'_, f64>, y: MatRef<'_, f64>, support: &[usize]) -> (RowSolve, Vec<f64>) {
    let sub = Mat::<f64>::from_fn(a.nrows(), support.len(), |t, p| a[(t, support[p])]);
    let mut z = Mat::<f64>::zeros(support.len(), 1);
    let s = LeastSquares::default().solve(sub.as_ref(), y, z.as_mut()).pop().expect("one right-hand side");
    (s, (0..support.len()).map(|p| z[(p, 0)]).collect())
}

/// Searches and validates the supports of `rows`, holding back the last `held` of the
/// system's measurements.
///
/// Stagewise orthogonal matching pursuit (Donoho, Tsaig, Drori & Starck 2012), in
/// blocks of rows: each stage correlates every open row's residual with every column
/// in one matrix product, adds to the row's support every column whose correlation
/// stands out of the noise (above `(√(2 ln n) + 1) σ`, `σ = ‖r‖/√k`: no column of
/// noise reaches it, with high probability) — or the single best one when none does —
/// refits by least squares and stops when the residual is at the noise level. The
/// support is then pruned (backward elimination, as [`SparseRecovery`] does) and
/// validated on the held-back measurements.
pub(crate) fn search(system: &System, rows: &[usize], held: usize) -> Vec<Found> {
    let (k, n) = system.a.shape();
    let fit_len = k.saturating_sub(held);
    if fit_len == 0 || held == 0 {
        return vec![Found::NoFit; rows.len()];
    }
    let a_fit = system.a.get(..fit_len, ..);
    let a_held = system.a.get(fit_len.., ..);
    let norms: Vec<f64> = (0..n).map(|c| a_fit.col(c).norm_l2()).collect();
    let max_support = sparsity_limit(fit_len, n);
    let threshold = (2.0 * (n.max(2) as f64).ln()).sqrt() + 1.0;
    rows.par_chunks(BLOCK)
        .flat_map_iter(|block| {
            let b = block.len();
            let y_fit = Mat::<f64>::from_fn(fit_len, b, |t, g| system.y[(t, block[g])]);
            let mut residual = y_fit.clone();
            let mut supports: Vec<Vec<usize>> = vec![Vec::new(); b];
            let mut result: Vec<Option<Found>> = vec![None; b];
            let mut corr = Mat::<f64>::zeros(n, b);
            let targets: Vec<(f64, f64)> = (0..b)
                .map(|g| {
                    let y = y_fit.get(.., g..g + 1);
                    let floor = noise_floor(system.level[block[g]], y);
                    (FIT_TOLERANCE * y.norm_l2() + floor * (fit_len as f64).sqrt(), floor)
                })
                .collect();
            for g in 0..b {
                if y_fit.col(g).norm_l2() <= targets[g].0 {
                    // Nothing above the noise: the empty support.
                    result[g] = Some(validate(system, a_held, fit_len, block[g], &[], &[], 0.0, targets[g].1));
                }
            }
            for _ in 0..max_support {
                let active: Vec<usize> = (0..b).filter(|&g| result[g].is_none()).collect();
                if active.is_empty() {
                    break;
                }
                faer::linalg::matmul::matmul(
                    corr.as_mut(),
                    Accum::Replace,
                    a_fit.transpose(),
                    residual.as_ref(),
                    1.0,
                    Par::Seq,
                );
                for &g in &active {
                    let i = block[g];
                    let sigma = residual.col(g).norm_l2() / (fit_len as f64).sqrt();
                    let support = &mut supports[g];
                    let score = |c: usize| if norms[c] > 0.0 { corr[(c, g)].abs() / norms[c] } else { 0.0 };
                    let mut strong: Vec<(f64, usize)> = (0..n)
                        .map(|c| (score(c), c))
                        .filter(|&(v, c)| v > threshold * sigma && !support.contains(&c))
                        .collect();
                    let mut take = max_support - support.len();
                    if strong.is_empty() {
                        // Nothing stands out: the best columns, as many as half the
                        // support (at least one), so that a dense row reaches the limit
                        // in a few stages; pruning drops those noise brought in.
                        strong = (0..n).filter(|c| !support.contains(c)).map(|c| (score(c), c)).collect();
                        take = take.min((support.len() / 2).max(1));
                        if take < strong.len() {
                            strong.select_nth_unstable_by(take - 1, |x, y| y.0.total_cmp(&x.0));
                        }
                        strong.truncate(take);
                        strong.retain(|b| b.0 > 0.0);
                    }
                    strong.sort_unstable_by(|x, y| y.0.total_cmp(&x.0));
                    strong.truncate(take);
                    if strong.is_empty() {
                        result[g] = Some(Found::NoFit);
                        continue;
                    }
                    support.extend(strong.iter().map(|&(_, c)| c));
                    support.sort_unstable();
                    let y = y_fit.get(.., g..g + 1);
                    let (mut solve, mut values) = refit(a_fit, y, support);
                    let (target, floor) = targets[g];
                    if solve.residual <= target && solve.status.is_determined() {
                        prune(a_fit, y, support, &mut solve, &mut values, target);
                        let dof = fit_len.saturating_sub(support.len()).max(1);
                        let rms_fit = solve.residual / (dof as f64).sqrt();
                        result[g] = Some(validate(system, a_held, fit_len, i, support, &values, rms_fit, floor));
                        continue;
                    }
                    if support.len() >= max_support || !solve.status.is_determined() {
                        result[g] = Some(Found::NoFit);
                        continue;
                    }
                    for t in 0..fit_len {
                        let fitted: f64 = support.iter().zip(&values).map(|(&c, &v)| a_fit[(t, c)] * v).sum();
                        residual[(t, g)] = y_fit[(t, g)] - fitted;
                    }
                }
                for g in 0..b {
                    if result[g].is_some() {
                        residual.col_mut(g).fill(0.0);
                    }
                }
            }
            result.into_iter().map(|r| r.unwrap_or(Found::NoFit)).collect::<Vec<_>>()
        })
        .collect()
}

/// Backward elimination: drops the column whose removal raises the residual least
/// (`z_p² / [(AᵀA)⁻¹]_pp`) while the residual stays within `target`, so that a column
/// picked up by noise does not stay in the support.
fn prune(
    a: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    support: &mut Vec<usize>,
    solve: &mut RowSolve,
    values: &mut Vec<f64>,
    target: f64,
) {
    while !support.is_empty() && solve.variance_factors.len() == support.len() {
        let (p, rise) = (0..support.len())
            .map(|p| (p, values[p].powi(2) / solve.variance_factors[p]))
            .min_by(|x, y| x.1.total_cmp(&y.1))
            .expect("a nonempty support");
        if solve.residual.powi(2) + rise > target.powi(2) {
            break;
        }
        support.remove(p);
        (*solve, *values) = refit(a, y, support);
    }
}

/// Whether `support` with fitted `values` predicts the held-back measurements of row
/// `i` within the noise level (`rms_fit` seen in the fit, at least `floor`).
#[allow(clippy::too_many_arguments)]
fn validate(
    system: &System,
    a_held: MatRef<'_, f64>,
    fit_len: usize,
    i: usize,
    support: &[usize],
    values: &[f64],
    rms_fit: f64,
    floor: f64,
) -> Found {
    let held = a_held.nrows();
    let mut sum = 0.0;
    for v in 0..held {
        let predicted: f64 = support.iter().zip(values).map(|(&c, &z)| a_held[(v, c)] * z).sum();
        let r = system.y[(fit_len + v, i)] - predicted;
        sum += r * r;
    }
    let rms_held = (sum / held as f64).sqrt();
    let level = rms_fit.max(floor);
    let ratio = rms_held / level;
    if ratio <= VALIDATION_FACTOR { Found::Validated(support.to_vec()) } else { Found::Mispredicts(ratio) }
}
