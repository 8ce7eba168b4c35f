//! Least squares on the whole joint system: column-pivoted QR when it is small enough
//! to hold densely, otherwise a sparse Cholesky factorization of the normal equations
//! with iterative refinement; the normal equations also give the standard errors of
//! combinations of unknowns and a condition estimate.

use faer::Mat;
use faer::linalg::solvers::SolveCore;
use faer::sparse::{SparseColMat, Triplet};

use crate::decode::{Decoder, LeastSquares, RowStatus};
use crate::structure::JointSystem;

/// Largest `equations × unknowns` solved densely.
const DENSE_LIMIT: usize = 1 << 21;

/// Largest `combinations × unknowns` for which standard errors are computed from the
/// sparse factorization (a pair of triangular solves per combination).
const VARIANCE_LIMIT: usize = 1 << 27;

/// The solution (NaN where undetermined), the numerical rank, and the estimated
/// condition number of the (column-scaled) system: ∞ when rank deficient, NaN when not
/// estimated (substitution).
pub(crate) struct JointSolution {
    pub(crate) x: Vec<f64>,
    pub(crate) rank: usize,
    pub(crate) condition: f64,
}

/// Least squares on the whole system, its columns scaled to unit size first (offsets
/// and unknowns seen through steps of 1e-8 differ by that much, and the rank decision
/// is relative to the largest column).
pub(crate) fn solve(sys: &JointSystem) -> JointSolution {
    let mut scale = vec![0.0f64; sys.unknowns];
    for (_, terms) in &sys.rows {
        terms.iter().for_each(|&(q, v)| scale[q] = scale[q].max(v.abs()));
    }
    scale.iter_mut().for_each(|s| *s = if *s > 0.0 { 1.0 / *s } else { 1.0 });
    let scaled = JointSystem {
        rows: sys.rows.iter().map(|(i, terms)| (*i, terms.iter().map(|&(q, v)| (q, v * scale[q])).collect())).collect(),
        rhs: sys.rhs.clone(),
        meas: Vec::new(),
        ..*sys
    };
    let mut sol = solve_scaled(&scaled);
    sol.x.iter_mut().zip(&scale).for_each(|(x, s)| *x *= s);
    sol
}

fn solve_scaled(sys: &JointSystem) -> JointSolution {
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
            RowStatus::Underdetermined { determined, .. } => determined,
            _ => d,
        };
        return JointSolution { x: (0..d).map(|q| z[(q, 0)]).collect(), rank, condition: s.condition };
    }
    let undetermined = || JointSolution { x: vec![f64::NAN; d], rank: 0, condition: f64::INFINITY };
    let Some(normal) = NormalEquations::factor(sys) else { return undetermined() };
    let mut b = Mat::<f64>::zeros(d, 1);
    for ((_, terms), &y) in sys.rows.iter().zip(&sys.rhs) {
        terms.iter().for_each(|&(q, v)| b[(q, 0)] += v * y);
    }
    normal.solve_in_place(b.as_mut());
    let mut x: Vec<f64> = (0..d).map(|q| b[(q, 0)]).collect();
    // Iterative refinement: the normal equations square the condition number, the
    // corrections from the true residual win most of it back.
    for _ in 0..2 {
        let mut c = Mat::<f64>::zeros(d, 1);
        for e in 0..k {
            let r = -sys.residual(e, &x);
            sys.rows[e].1.iter().for_each(|&(q, v)| c[(q, 0)] += v * r);
        }
        normal.solve_in_place(c.as_mut());
        x.iter_mut().enumerate().for_each(|(q, v)| *v += c[(q, 0)]);
    }
    if x.iter().all(|v| v.is_finite()) {
        JointSolution { x, rank: d, condition: normal.condition(sys) }
    } else {
        undetermined()
    }
}

/// `MᵀM = L Lᵀ`, sparse.
pub(super) struct NormalEquations {
    llt: faer::sparse::linalg::solvers::Llt<usize, f64>,
    d: usize,
}

impl NormalEquations {
    /// `None` when `MᵀM` is not (numerically) positive definite.
    pub(super) fn factor(sys: &JointSystem) -> Option<NormalEquations> {
        let d = sys.unknowns;
        let mut triplets: Vec<Triplet<usize, usize, f64>> = Vec::new();
        for (_, terms) in &sys.rows {
            for &(qa, va) in terms {
                for &(qb, vb) in terms.iter().filter(|x| x.0 <= qa) {
                    triplets.push(Triplet::new(qa, qb, va * vb));
                }
            }
        }
        let n = SparseColMat::<usize, f64>::try_new_from_triplets(d, d, &triplets).ok()?;
        let llt = n.sp_cholesky(faer::Side::Lower).ok()?;
        Some(NormalEquations { llt, d })
    }

    pub(super) fn solve_in_place(&self, b: faer::MatMut<'_, f64>) {
        self.llt.solve_in_place_with_conj(faer::Conj::No, b);
    }

    /// An estimate of the condition number of `M`, `√(λ_max / λ_min)` of `MᵀM`, by
    /// power iteration on `MᵀM` and on its inverse (through the factorization): a few
    /// products and solves, each as cheap as one refinement step. Like the ratio of
    /// `R`'s diagonal on the dense path it can only underestimate.
    fn condition(&self, sys: &JointSystem) -> f64 {
        const ITERATIONS: usize = 30;
        let d = self.d;
        if d == 0 {
            return 1.0;
        }
        // A deterministic start with a component along every eigenvector in practice.
        let start = || Mat::<f64>::from_fn(d, 1, |q, _| 1.0 + ((q as f64 + 1.0) * 0.618_033_988_75).fract());
        let normalize = |v: &mut Mat<f64>| {
            let norm = v.col(0).norm_l2();
            if norm > 0.0 && norm.is_finite() {
                v.col_mut(0).iter_mut().for_each(|x| *x /= norm);
            }
            norm
        };
        let mut v = start();
        normalize(&mut v);
        let mut lambda_max = 0.0;
        for _ in 0..ITERATIONS {
            let mut w = Mat::<f64>::zeros(d, 1);
            for (_, terms) in &sys.rows {
                let mv: f64 = terms.iter().map(|&(q, a)| a * v[(q, 0)]).sum();
                terms.iter().for_each(|&(q, a)| w[(q, 0)] += a * mv);
            }
            lambda_max = normalize(&mut w);
            v = w;
        }
        let mut v = start();
        normalize(&mut v);
        let mut inverse_max = 0.0;
        for _ in 0..ITERATIONS {
            self.solve_in_place(v.as_mut());
            inverse_max = normalize(&mut v);
        }
        let kappa2 = lambda_max * inverse_max;
        if kappa2.is_finite() { kappa2.max(1.0).sqrt() } else { f64::INFINITY }
    }

    /// `cᵀ (MᵀM)⁻¹ c` for each combination `c` of unknowns; `None` when that would
    /// take too long.
    pub(super) fn variances(&self, combinations: &[Vec<(usize, f64)>]) -> Option<Vec<f64>> {
        if combinations.len().saturating_mul(self.d) > VARIANCE_LIMIT {
            return None;
        }
        let mut out = Vec::with_capacity(combinations.len());
        const BLOCK: usize = 64;
        for chunk in combinations.chunks(BLOCK) {
            let mut b = Mat::<f64>::zeros(self.d, chunk.len());
            for (j, c) in chunk.iter().enumerate() {
                c.iter().for_each(|&(q, v)| b[(q, j)] += v);
            }
            let rhs = b.clone();
            self.solve_in_place(b.as_mut());
            out.extend((0..chunk.len()).map(|j| (0..self.d).map(|q| rhs[(q, j)] * b[(q, j)]).sum::<f64>()));
        }
        Some(out)
    }
}
