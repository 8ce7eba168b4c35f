//! L1 (LP) decoder: `min ‖A z − y‖₁`, then outliers out and least squares on the rest.
//!
//! A measurement that is grossly wrong (garbage value, sign flip, stale repeat)
//! corrupts one equation of `A z = y`. Minimising the sum of absolute residuals
//! recovers `z` exactly when fewer than about 20–24 % of the equations are corrupted
//! and `A` is Gaussian (Candès & Tao, "Decoding by linear programming", 2005;
//! Dwork, McSherry & Talwar, STOC 2007). Three steps, shared by both decoders here:
//!
//! 1. **Solve the LP** to an optimal *vertex*: `r = rank A` measurements fitted
//!    exactly (the basis `B`) on `r` independent unknowns `C`.
//!    - [`LeastAbsoluteDeviations`] (the fast path) walks vertices with the
//!      Barrodale–Roberts descent (Barrodale & Roberts, SIAM J. Numer. Anal. 10, 1973):
//!      drop the basis measurement whose dual multiplier leaves `[−1, 1]`, follow that
//!      edge, and stop at the weighted median of the breakpoints, so that one pivot
//!      crosses many vertices. It is a simplex method, so it ends on an exact vertex
//!      with a certificate of optimality (every multiplier in `[−1, 1]`); IRLS would
//!      only approach it and still need a vertex step at the end. Work per pivot is
//!      `O(k·r)` with an explicitly updated `r × r` inverse, refreshed from scratch
//!      before the answer is read, so drift never reaches the result.
//!    - [`L1Reference`] hands the LP in variables `(z, t)`,
//!      `min Σt s.t. −t ≤ A z − y ≤ t`, to the Clarabel interior-point solver, then
//!      snaps to the vertex of the `r` measurements with the smallest residuals.
//! 2. **Judge outliers** ([`OutlierRule`]): with `m` the median of `|rᵢ|` over the
//!    `k − r` measurements outside the basis (the basis residuals are zero by
//!    construction and would drag the median down), measurement `i` is an outlier when
//!    `|rᵢ| > max(c · 1.4826 · m, f · ρ)` — `1.4826 m` estimates the noise standard
//!    deviation (median absolute deviation), and the floor `f · ρ` with
//!    `ρ = ε · κ∞(A_BC) · maxᵢ ‖aᵢ‖₁ · ‖z‖∞` is the rounding level of a residual at
//!    the vertex, so that exact data flag nothing. Basis measurements are never flagged,
//!    so the clean set always keeps rank `r`.
//! 3. **Polish**: [`LeastSquares`] on the clean measurements (columns with the same
//!    clean set share one factorization). The estimate is exact to rounding, not to
//!    solver tolerance, and averages the noise of the clean measurements; its status,
//!    residual, condition, degrees of freedom and variance factors are those of the
//!    clean system. Unknowns that the clean measurements do not determine are NaN and
//!    the status is `Underdetermined` — the same unknowns as for all measurements,
//!    since the basis spans the row space; the outliers stay listed, so a row where the
//!    judgement removed measurements is visible as such. A vertex that is not certified
//!    optimal (the simplex ran out of pivots, or its basis turned singular; Clarabel
//!    ended other than `Solved`) is still judged and polished, but a determined row then
//!    says so: [`RowStatus::SolverLimit`], never `Determined`.

mod reference;
mod simplex;

use std::collections::BTreeMap;

use faer::{Mat, MatMut, MatRef};

pub use reference::L1Reference;

use super::{Decoder, LeastSquares, RowSolve, RowStatus, SolverLimit};

/// When a residual of the L1 fit marks its measurement as grossly wrong.
///
/// Measurement `i` is an outlier when `|rᵢ| > max(threshold · 1.4826 · m, rounding · ρ)`,
/// where `m` is the median of `|r|` over the measurements outside the optimal basis and
/// `ρ` the rounding level of a residual at the vertex (module docs).
///
/// ```
/// use jacsense::decode::OutlierRule;
/// let rule = OutlierRule::default();
/// assert_eq!(rule.threshold, 4.0);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct OutlierRule {
    /// Multiple `c` of the robust standard deviation `1.4826 · median |r|` beyond which
    /// a residual is an outlier.
    pub threshold: f64,
    /// Multiple of the rounding level `ε · κ∞(A_BC) · maxᵢ ‖aᵢ‖₁ · ‖z‖∞` below which
    /// no residual is an outlier (exact data flag nothing).
    pub rounding: f64,
}

impl Default for OutlierRule {
    fn default() -> Self {
        OutlierRule { threshold: 4.0, rounding: 64.0 }
    }
}

/// L1 decoding by the Barrodale–Roberts simplex, outlier judgement and a least-squares
/// polish on the clean measurements (module docs).
///
/// ```
/// use faer::Mat;
/// use jacsense::{RowStatus};
/// use jacsense::decode::{Decoder, LeastAbsoluteDeviations};
/// // 12 measurements of 3 unknowns; measurement 4 is garbage.
/// let a = Mat::from_fn(12, 3, |i, j| ((i * 7 + j * 3) % 11) as f64 - 5.0 + (i * j) as f64 * 0.1);
/// let truth = [1.0, -2.0, 0.5];
/// let mut y = Mat::from_fn(12, 1, |i, _| (0..3).map(|j| a[(i, j)] * truth[j]).sum::<f64>());
/// y[(4, 0)] = 1e6;
/// let mut z = Mat::zeros(3, 1);
/// let s = LeastAbsoluteDeviations::default().solve(a.as_ref(), y.as_ref(), z.as_mut());
/// assert_eq!(s[0].status, RowStatus::Determined);
/// assert_eq!(s[0].outliers, vec![4]);
/// assert!((0..3).all(|j| (z[(j, 0)] - truth[j]).abs() < 1e-12));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LeastAbsoluteDeviations {
    /// Which residuals mark outliers.
    pub outliers: OutlierRule,
    /// The least-squares polish; its rank tolerance also decides the rank of `A` for
    /// the simplex.
    pub polish: LeastSquares,
    /// Multiple of `k · ε` by which a dual multiplier may leave `[−1, 1]` at an optimum.
    pub optimality_tolerance: f64,
    /// Pivots allowed per right-hand side; `None`: `10 · (k + d)`. When reached, the
    /// last vertex is judged and polished, and the row's status is
    /// [`RowStatus::SolverLimit`](crate::RowStatus::SolverLimit) (never optimal).
    pub max_pivots: Option<usize>,
}

impl Default for LeastAbsoluteDeviations {
    fn default() -> Self {
        LeastAbsoluteDeviations {
            outliers: OutlierRule::default(),
            polish: LeastSquares::default(),
            optimality_tolerance: 1024.0,
            max_pivots: None,
        }
    }
}

impl Decoder for LeastAbsoluteDeviations {
    fn name(&self) -> &'static str {
        "l1"
    }

    fn solve(&self, a: MatRef<'_, f64>, y: MatRef<'_, f64>, z: MatMut<'_, f64>) -> Vec<RowSolve> {
        let rows = RowMajor::new(a);
        let (k, d) = a.shape();
        let (basis, cols) = echelon(&rows, 0..k, rank_tolerance(&rows, self.polish.rank_tolerance));
        let mut simplex = simplex::Simplex::new(&rows, &cols);
        let tol = self.optimality_tolerance * k as f64 * f64::EPSILON;
        let max_pivots = self.max_pivots.unwrap_or(10 * (k + d));
        let mut yg = vec![0.0; k];
        let (outliers, limits): (Vec<Vec<usize>>, Vec<Option<SolverLimit>>) = (0..y.ncols())
            .map(|g| {
                yg.iter_mut().enumerate().for_each(|(i, v)| *v = y[(i, g)]);
                let (vertex, limit) = simplex.solve(&rows, &yg, &basis, tol, max_pivots);
                (judge(&self.outliers, &vertex), limit)
            })
            .unzip();
        with_limits(polish(&self.polish, a, y, outliers, z), &limits)
    }
}

/// `a` copied row by row, so that a measurement's coefficients are contiguous.
pub(super) struct RowMajor {
    k: usize,
    d: usize,
    data: Vec<f64>,
}

impl RowMajor {
    fn new(a: MatRef<'_, f64>) -> Self {
        let (k, d) = a.shape();
        let mut data = vec![0.0; k * d];
        for j in 0..d {
            for i in 0..k {
                data[i * d + j] = a[(i, j)];
            }
        }
        RowMajor { k, d, data }
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.d..(i + 1) * self.d]
    }
}

/// Entries of eliminated rows at or below this count as zero: the least-squares rule
/// `tolerance · max(k, d) · ε` relative to the largest entry of `A`.
fn rank_tolerance(rows: &RowMajor, tolerance: f64) -> f64 {
    let amax = rows.data.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    tolerance * (rows.k.max(rows.d) as f64) * f64::EPSILON * amax
}

/// Gaussian elimination over the rows of `A`, taken in `order`: returns the first
/// independent rows met (the basis `B`) and one pivot column per row (`C`), such that
/// `A_BC` is nonsingular and `|B| = |C| = rank A`.
pub(super) fn echelon(rows: &RowMajor, order: impl IntoIterator<Item = usize>, tol: f64) -> (Vec<usize>, Vec<usize>) {
    let d = rows.d;
    let mut reduced: Vec<f64> = Vec::new();
    let mut basis = Vec::new();
    let mut cols = Vec::new();
    let mut v = vec![0.0; d];
    for i in order {
        if basis.len() == d {
            break;
        }
        v.copy_from_slice(rows.row(i));
        for (p, &c) in cols.iter().enumerate() {
            let u = &reduced[p * d..(p + 1) * d];
            let f = v[c] / u[c];
            if f != 0.0 {
                v.iter_mut().zip(u).for_each(|(x, &ux)| *x -= f * ux);
            }
            v[c] = 0.0;
        }
        let (jmax, vmax) =
            v.iter().enumerate().fold((0, 0.0f64), |b, (j, x)| if x.abs() > b.1 { (j, x.abs()) } else { b });
        if vmax > tol {
            reduced.extend_from_slice(&v);
            basis.push(i);
            cols.push(jmax);
        }
    }
    (basis, cols)
}

/// `M = A_BC⁻¹` by Gauss–Jordan elimination with partial pivoting, stored by columns
/// (`M[(j, p)]` at `p · r + j`): column `p` is the edge direction that moves the
/// residual of basis measurement `p` by one and keeps the others at zero.
pub(super) fn invert_basis(rows: &RowMajor, basis: &[usize], cols: &[usize], minv: &mut Vec<f64>) -> bool {
    let r = basis.len();
    // Work on [A_BC | I], row-major r × 2r.
    let w = 2 * r;
    let mut t = vec![0.0; r * w];
    for (p, &i) in basis.iter().enumerate() {
        for (q, &c) in cols.iter().enumerate() {
            t[p * w + q] = rows.row(i)[c];
        }
        t[p * w + r + p] = 1.0;
    }
    for col in 0..r {
        let piv = (col..r).max_by(|&x, &y| t[x * w + col].abs().total_cmp(&t[y * w + col].abs())).unwrap_or(col);
        if t[piv * w + col] == 0.0 {
            return false;
        }
        if piv != col {
            for j in 0..w {
                t.swap(piv * w + j, col * w + j);
            }
        }
        let inv = 1.0 / t[col * w + col];
        for j in 0..w {
            t[col * w + j] *= inv;
        }
        for p in 0..r {
            let f = t[p * w + col];
            if p != col && f != 0.0 {
                for j in 0..w {
                    t[p * w + j] -= f * t[col * w + j];
                }
            }
        }
    }
    // Row q of the inverse belongs to unknown cols[q]; column p to basis measurement p.
    minv.clear();
    minv.resize(r * r, 0.0);
    for p in 0..r {
        for q in 0..r {
            minv[p * r + q] = t[q * w + r + p];
        }
    }
    true
}

/// An optimal vertex of the LP, read from scratch: the basis, the fitted unknowns and
/// every residual.
pub(super) struct Vertex {
    /// Basis size `r = rank A`.
    pub rank: usize,
    /// `A z − y` for every measurement.
    pub residuals: Vec<f64>,
    /// Rounding level of a residual at this vertex (`ρ` in the module docs).
    pub rounding: f64,
}

impl Vertex {
    /// The vertex where the basis measurements are fitted exactly on the unknowns
    /// `cols` (the others zero), with `minv = A_BC⁻¹` as from [`invert_basis`].
    pub(super) fn new(rows: &RowMajor, y: &[f64], basis: &[usize], cols: &[usize], minv: &[f64]) -> Vertex {
        let r = basis.len();
        let mut z = vec![0.0; r];
        for (p, &i) in basis.iter().enumerate() {
            let yi = y[i];
            z.iter_mut().zip(&minv[p * r..(p + 1) * r]).for_each(|(zq, &m)| *zq += m * yi);
        }
        let residuals: Vec<f64> = (0..rows.k)
            .map(|i| {
                let row = rows.row(i);
                cols.iter().zip(&z).map(|(&c, &zq)| row[c] * zq).sum::<f64>() - y[i]
            })
            .collect();
        // κ∞(A_BC) = ‖A_BC‖∞ ‖A_BC⁻¹‖∞ (row sums).
        let norm_a = basis.iter().map(|&i| cols.iter().map(|&c| rows.row(i)[c].abs()).sum::<f64>()).fold(0.0, f64::max);
        let norm_m = (0..r).map(|q| (0..r).map(|p| minv[p * r + q].abs()).sum::<f64>()).fold(0.0, f64::max);
        let row1 = (0..rows.k).map(|i| rows.row(i).iter().map(|v| v.abs()).sum::<f64>()).fold(0.0, f64::max);
        let zmax = z.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let rounding = f64::EPSILON * (norm_a * norm_m).max(1.0) * row1 * zmax;
        Vertex { rank: r, residuals, rounding }
    }
}

/// The measurements whose residuals mark them as outliers (ascending), by `rule`.
pub(super) fn judge(rule: &OutlierRule, vertex: &Vertex) -> Vec<usize> {
    let k = vertex.residuals.len();
    if k <= vertex.rank {
        return Vec::new();
    }
    let mut mags: Vec<f64> = vertex.residuals.iter().map(|r| r.abs()).collect();
    mags.sort_unstable_by(f64::total_cmp);
    // The basis residuals are the r smallest (zero up to rounding).
    let rest = &mags[vertex.rank..];
    let n = rest.len();
    let median = if n % 2 == 1 { rest[n / 2] } else { 0.5 * (rest[n / 2 - 1] + rest[n / 2]) };
    let cut = (rule.threshold * 1.4826 * median).max(rule.rounding * vertex.rounding);
    (0..k).filter(|&i| vertex.residuals[i].abs() > cut || vertex.residuals[i].is_nan()).collect()
}

/// Least squares on the measurements not flagged, column by column of `y`; columns
/// with the same outliers share one factorization.
pub(super) fn polish(
    ls: &LeastSquares,
    a: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    outliers: Vec<Vec<usize>>,
    mut z: MatMut<'_, f64>,
) -> Vec<RowSolve> {
    let (k, d) = a.shape();
    let mut groups: BTreeMap<&[usize], Vec<usize>> = BTreeMap::new();
    for (g, o) in outliers.iter().enumerate() {
        groups.entry(o).or_default().push(g);
    }
    let mut solves = vec![RowSolve::default(); y.ncols()];
    for (flagged, members) in groups {
        let clean: Vec<usize> = {
            let mut is_out = vec![false; k];
            flagged.iter().for_each(|&i| is_out[i] = true);
            (0..k).filter(|&i| !is_out[i]).collect()
        };
        let ac = if flagged.is_empty() { None } else { Some(Mat::from_fn(clean.len(), d, |r, j| a[(clean[r], j)])) };
        let yc = Mat::from_fn(clean.len(), members.len(), |r, g| y[(clean[r], members[g])]);
        let mut zc = Mat::zeros(d, members.len());
        let a_clean = ac.as_ref().map_or(a, |m| m.as_ref());
        let group_solves = ls.solve(a_clean, yc.as_ref(), zc.as_mut());
        for (g, (&col, mut s)) in members.iter().zip(group_solves).enumerate() {
            for j in 0..d {
                z[(j, col)] = zc[(j, g)];
            }
            s.outliers = flagged.to_vec();
            solves[col] = s;
        }
    }
    solves
}

/// The solves of a decode whose LP stopped at `limits[g]` for right-hand side `g`: a
/// determined row says so ([`RowStatus::SolverLimit`]); an underdetermined one stays
/// underdetermined, the more severe status.
pub(super) fn with_limits(mut solves: Vec<RowSolve>, limits: &[Option<SolverLimit>]) -> Vec<RowSolve> {
    for (s, limit) in solves.iter_mut().zip(limits) {
        if let (Some(limit), RowStatus::Determined) = (limit, &s.status) {
            s.status = RowStatus::SolverLimit(*limit);
        }
    }
    solves
}
