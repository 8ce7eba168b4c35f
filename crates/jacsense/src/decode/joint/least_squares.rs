//! Least squares on the whole joint system: column-pivoted QR when it is small enough
//! to hold densely, otherwise a sparse Cholesky factorization of the normal equations
//! with iterative refinement ([`NormalEquations`], which also give the standard errors
//! of combinations of unknowns and a condition estimate).

use faer::Mat;

use crate::decode::{Decoder, LeastSquares, RowStatus};
use crate::structure::{JointSystem, NormalEquations};

/// Largest `equations × unknowns` solved densely.
const DENSE_LIMIT: usize = 1 << 21;

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
    let (scaled, scale) = sys.scaled();
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
