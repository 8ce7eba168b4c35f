//! Least-squares decoder: `min ‖A z − y‖₂` by Householder QR with column pivoting
//! (Businger & Golub 1965, via faer).
//!
//! The numerical rank is the number of diagonal entries of `R` above
//! `tolerance · max(k, d) · ε · |R₁₁|`. When the rank is below `d`, the unknowns that
//! the data still determine are those whose coordinate vanishes on the null space of
//! `A`; they get their (unique) values and the rest are NaN — never an arbitrary point
//! of the solution set.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::{Mat, MatMut, MatRef, Par};

use super::RowStatus;
use super::{Decoder, RowSolve};

/// Least squares by column-pivoted QR, for rows whose unknowns are independent.
///
/// ```
/// use faer::mat;
/// use jacsense::{RowStatus};
/// use jacsense::decode::{Decoder, LeastSquares};
/// let a = mat![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
/// let y = mat![[1.0], [2.0], [3.0]];
/// let mut z = faer::Mat::zeros(2, 1);
/// let s = LeastSquares::default().solve(a.as_ref(), y.as_ref(), z.as_mut());
/// assert_eq!(s[0].status, RowStatus::Determined);
/// assert!((z[(0, 0)] - 1.0).abs() < 1e-14 && (z[(1, 0)] - 2.0).abs() < 1e-14);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LeastSquares {
    /// Multiple of `max(k, d) · ε · |R₁₁|` below which a diagonal entry of `R` counts
    /// as zero.
    pub rank_tolerance: f64,
}

impl Default for LeastSquares {
    fn default() -> Self {
        LeastSquares { rank_tolerance: 8.0 }
    }
}

impl Decoder for LeastSquares {
    fn name(&self) -> &'static str {
        "least-squares"
    }

    fn solve(&self, a: MatRef<'_, f64>, y: MatRef<'_, f64>, mut z: MatMut<'_, f64>) -> Vec<RowSolve> {
        let (k, d) = a.shape();
        let nrhs = y.ncols();
        if d == 0 {
            return (0..nrhs)
                .map(|g| RowSolve {
                    status: RowStatus::Determined,
                    residual: y.col(g).norm_l2(),
                    condition: 1.0,
                    dof: k,
                    ..RowSolve::default()
                })
                .collect();
        }
        let qr = PivotedQr::new(a);
        let r = qr.r.as_ref();
        let size = k.min(d);
        let r00 = if size > 0 { r[(0, 0)].abs() } else { 0.0 };
        let tol = self.rank_tolerance * (k.max(d) as f64) * f64::EPSILON * r00;
        let rank = (0..size).take_while(|&j| r[(j, j)].abs() > tol && r[(j, j)] != 0.0).count();
        let perm_fwd = &qr.perm_fwd;

        // Basic solution in pivoted coordinates: w[..rank] = R₁₁⁻¹ (Qᵀ y)[..rank], w[rank..] = 0.
        let mut w = Mat::<f64>::zeros(d, nrhs);
        if rank > 0 {
            let qty = qr.apply_qt(y);
            w.get_mut(..rank, ..).copy_from(qty.get(..rank, ..));
            let r11 = r.get(..rank, ..rank);
            faer::linalg::triangular_solve::solve_upper_triangular_in_place(r11, w.get_mut(..rank, ..), faer::Par::Seq);
        }

        // Unknowns (pivoted positions < rank) that the null space does not touch.
        let mut determined = vec![false; d];
        if rank == d {
            determined.fill(true);
        } else if rank > 0 {
            let mut n12 = r.get(..rank, rank..).to_owned();
            let r11 = r.get(..rank, ..rank);
            faer::linalg::triangular_solve::solve_upper_triangular_in_place(r11, n12.as_mut(), faer::Par::Seq);
            let scale = self.rank_tolerance * (d as f64) * f64::EPSILON;
            for (p, det) in determined.iter_mut().enumerate().take(rank) {
                *det = (0..d - rank).all(|j| n12[(p, j)].abs() <= scale);
            }
        }
        for p in 0..d {
            let c = perm_fwd[p];
            for g in 0..nrhs {
                z[(c, g)] = if determined[p] { w[(p, g)] } else { f64::NAN };
            }
        }
        // Residuals from the basic solution (undetermined unknowns at zero).
        let mut zb = Mat::<f64>::zeros(d, nrhs);
        for p in 0..d {
            for g in 0..nrhs {
                zb[(perm_fwd[p], g)] = w[(p, g)];
            }
        }
        let res = &(a * &zb) - y;
        let condition = if rank == d && rank > 0 { r00 / r[(d - 1, d - 1)].abs() } else { f64::INFINITY };
        let undetermined = determined.iter().filter(|&&x| !x).count();
        let status = if undetermined == 0 {
            RowStatus::Determined
        } else {
            RowStatus::Underdetermined { determined: d - undetermined, unknowns: d }
        };
        // Variance factors [(AᵀA)⁻¹]_jj = ‖row j of R⁻¹‖² (in pivoted order) when determined.
        let mut variance_factors = Vec::new();
        if rank == d {
            let mut rinv = Mat::<f64>::identity(d, d);
            faer::linalg::triangular_solve::solve_upper_triangular_in_place(
                r.get(..d, ..d),
                rinv.as_mut(),
                faer::Par::Seq,
            );
            variance_factors = vec![0.0; d];
            for p in 0..d {
                variance_factors[perm_fwd[p]] = rinv.row(p).norm_l2().powi(2);
            }
        }
        let dof = k.saturating_sub(d - undetermined);
        (0..nrhs)
            .map(|g| RowSolve {
                status: status.clone(),
                residual: res.col(g).norm_l2(),
                condition,
                dof,
                variance_factors: variance_factors.clone(),
                ..RowSolve::default()
            })
            .collect()
    }
}

/// Householder QR with column pivoting, `A P = Q R`, by faer's kernel with the
/// parallelism chosen here: the driver already runs rows in parallel, and small
/// factorizations handed to rayon run several times slower than sequential ones.
struct PivotedQr {
    /// Householder basis (k × min(k, d), unit lower trapezoidal) and block factors.
    basis: Mat<f64>,
    coeff: Mat<f64>,
    /// `R` (min(k, d) × d, upper trapezoidal).
    r: Mat<f64>,
    /// Column `p` of `R` is column `perm_fwd[p]` of `A`.
    perm_fwd: Vec<usize>,
    par: Par,
}

/// Below this many entries a factorization runs on the calling thread.
const SEQUENTIAL_BELOW: usize = 1 << 16;

impl PivotedQr {
    fn new(a: MatRef<'_, f64>) -> Self {
        use faer::linalg::qr::{col_pivoting::factor, no_pivoting::factor::recommended_block_size};
        let (k, d) = a.shape();
        let size = k.min(d);
        let par = if k * d < SEQUENTIAL_BELOW { Par::Seq } else { faer::get_global_parallelism() };
        let mut qr = a.to_owned();
        let block_size = recommended_block_size::<f64>(k, d);
        let mut coeff = Mat::<f64>::zeros(block_size, size);
        let mut perm_fwd = vec![0usize; d];
        let mut perm_bwd = vec![0usize; d];
        let scratch = factor::qr_in_place_scratch::<usize, f64>(k, d, block_size, par, Default::default());
        factor::qr_in_place(
            qr.as_mut(),
            coeff.as_mut(),
            &mut perm_fwd,
            &mut perm_bwd,
            par,
            MemStack::new(&mut MemBuffer::new(scratch)),
            Default::default(),
        );
        let r = Mat::<f64>::from_fn(size, d, |i, j| if i <= j { qr[(i, j)] } else { 0.0 });
        let basis = Mat::<f64>::from_fn(k, size, |i, j| match i.cmp(&j) {
            std::cmp::Ordering::Less => 0.0,
            std::cmp::Ordering::Equal => 1.0,
            std::cmp::Ordering::Greater => qr[(i, j)],
        });
        PivotedQr { basis, coeff, r, perm_fwd, par }
    }

    /// `Qᵀ y` (k × r).
    fn apply_qt(&self, y: MatRef<'_, f64>) -> Mat<f64> {
        use faer::linalg::householder;
        let mut out = y.to_owned();
        let scratch = householder::apply_block_householder_sequence_transpose_on_the_left_in_place_scratch::<f64>(
            self.basis.nrows(),
            self.coeff.nrows(),
            out.ncols(),
        );
        householder::apply_block_householder_sequence_transpose_on_the_left_in_place_with_conj(
            self.basis.as_ref(),
            self.coeff.as_ref(),
            faer::Conj::No,
            out.as_mut(),
            self.par,
            MemStack::new(&mut MemBuffer::new(scratch)),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use faer::linalg::solvers::Solve;

    use super::*;

    /// A deterministic pseudo-random matrix (entries in [−1, 1), full rank in practice).
    fn spread(k: usize, d: usize) -> Mat<f64> {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        };
        let mut a = Mat::zeros(k, d);
        for j in 0..d {
            for i in 0..k {
                a[(i, j)] = next();
            }
        }
        a
    }

    #[test]
    fn overdetermined_consistent_systems_are_solved_to_rounding() {
        let a = spread(9, 4);
        let z_true = Mat::from_fn(4, 3, |j, g| (j as f64 + 1.0) * (g as f64 - 1.5));
        let y = &a * &z_true;
        let mut z = Mat::zeros(4, 3);
        let s = LeastSquares::default().solve(a.as_ref(), y.as_ref(), z.as_mut());
        for (g, sg) in s.iter().enumerate() {
            assert_eq!(sg.status, RowStatus::Determined);
            assert!(sg.residual <= 1e-13, "{sg:?}");
            for j in 0..4 {
                assert!((z[(j, g)] - z_true[(j, g)]).abs() <= 1e-13);
            }
        }
        assert!(s[0].condition.is_finite() && s[0].condition >= 1.0);
        assert_eq!(s[0].dof, 5);
        // Variance factors are the diagonal of (AᵀA)⁻¹.
        let inv = (a.transpose() * &a).partial_piv_lu().solve(Mat::<f64>::identity(4, 4));
        for j in 0..4 {
            assert!((s[0].variance_factors[j] - inv[(j, j)]).abs() <= 1e-12 * inv[(j, j)].abs().max(1.0));
        }
    }

    #[test]
    fn duplicated_columns_leave_only_their_unknowns_undetermined() {
        let mut a = spread(8, 4);
        for i in 0..8 {
            a[(i, 3)] = a[(i, 1)];
        }
        let z_true = [1.0, -2.0, 0.5, 3.0];
        let y = Mat::from_fn(8, 1, |i, _| (0..4).map(|j| a[(i, j)] * z_true[j]).sum());
        let mut z = Mat::zeros(4, 1);
        let s = LeastSquares::default().solve(a.as_ref(), y.as_ref(), z.as_mut());
        assert_eq!(
            s[0].status,
            RowStatus::Underdetermined { determined: 2, unknowns: 4 },
            "{:?}",
            (0..4).map(|j| z[(j, 0)]).collect::<Vec<_>>()
        );
        assert!(s[0].condition.is_infinite());
        assert!((z[(0, 0)] - 1.0).abs() <= 1e-13 && (z[(2, 0)] - 0.5).abs() <= 1e-13);
        assert!(z[(1, 0)].is_nan() && z[(3, 0)].is_nan());
    }

    #[test]
    fn fewer_measurements_than_unknowns_determine_nothing_in_general() {
        let a = spread(2, 3);
        let y = Mat::from_fn(2, 1, |i, _| i as f64);
        let mut z = Mat::zeros(3, 1);
        let s = LeastSquares::default().solve(a.as_ref(), y.as_ref(), z.as_mut());
        assert_eq!(s[0].status, RowStatus::Underdetermined { determined: 0, unknowns: 3 });
        assert!((0..3).all(|j| z[(j, 0)].is_nan()));
    }

    #[test]
    fn a_zero_column_leaves_the_others_determined() {
        let mut a = spread(5, 3);
        for i in 0..5 {
            a[(i, 0)] = 0.0;
        }
        let y = Mat::from_fn(5, 1, |i, _| 2.0 * a[(i, 1)] - a[(i, 2)]);
        let mut z = Mat::zeros(3, 1);
        let s = LeastSquares::default().solve(a.as_ref(), y.as_ref(), z.as_mut());
        assert_eq!(s[0].status, RowStatus::Underdetermined { determined: 2, unknowns: 3 });
        assert!(z[(0, 0)].is_nan() && (z[(1, 0)] - 2.0).abs() <= 1e-13 && (z[(2, 0)] + 1.0).abs() <= 1e-13);
    }
}
