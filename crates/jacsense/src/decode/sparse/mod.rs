//! Sparse recovery (compressed sensing): rows of `J` with few nonzeros among many
//! candidate unknowns, decoded from fewer measurements than unknowns (DESIGN.md §4, §8).
//!
//! Each right-hand side is an underdetermined system `A z ≈ y` (k × d, k < d possible)
//! whose solution is assumed sparse. Two ways to find the support:
//!
//! - **Orthogonal matching pursuit** (Pati, Rezaiifar & Krishnaprasad 1993; Tropp &
//!   Gilbert 2007): greedily add the column most correlated with the residual, keep the
//!   residual orthogonal to every column chosen (incremental Gram–Schmidt), stop when
//!   the residual is at the noise level.
//! - **Basis pursuit denoising** (Chen, Donoho & Saunders 1998): `min ‖z‖₁` subject to
//!   `‖A z − y‖₂ ≤ η`, a second-order cone program solved by Clarabel (Goulart & Chen
//!   2024); its largest entries, in decreasing order, are taken until the residual of the
//!   least-squares fit on them is at the noise level.
//!
//! Difference quotients carry noise of about 1e-8 relative even for an exact `f`, so
//! neither method's own values are kept: columns whose removal keeps the residual at
//! the noise level are pruned (backward elimination), the rest are refitted by
//! [`LeastSquares`], and every unknown off the support is exactly zero.
//!
//! Both methods work on columns scaled to unit norm and on `y / ‖y‖`, so that
//! [`SparseRecovery::tolerance`] is a residual relative to `‖y‖`.

mod bpdn;
mod omp;
mod robust;

use faer::{Mat, MatMut, MatRef};
use rayon::prelude::*;

use super::{Decoder, LeastSquares, RowSolve};
use crate::decode::{RowStatus, SolverLimit};
pub use crate::settings::SparseMethod;
pub use robust::{RobustSparse, RobustSparseFit};

/// Sparse recovery of each row: find the few unknowns that are nonzero, then refit
/// them by least squares.
///
/// A right-hand side succeeds when a support of at most
/// `max_support` unknowns fits `y` to within
/// [`tolerance`](Self::tolerance)` · ‖y‖`. Then the unknowns off the support are
/// exactly zero, [`RowSolve::support`] lists the support, and residual, condition,
/// degrees of freedom and variance factors are those of the refit (variance factor 0
/// off the support). A support read from a cone program that Clarabel solved only to
/// reduced accuracy is kept but reported ([`RowStatus::SolverLimit`]); any other
/// failure of the cone solver leaves the row undetermined. When no such support is found (the row is denser than the
/// measurements can resolve, or the noise exceeds the tolerance), nothing is claimed:
/// every unknown is NaN, the status is `Underdetermined { determined: 0, .. }`, and
/// `support` and `residual` describe the best attempt. Unknowns whose column of `A` is
/// zero are never observed and are NaN as well.
///
/// A support that fits is the true one when the sparsest fit is unique: so it is, with
/// probability one, for random (Gaussian) directions and at most `k/2` nonzeros. With
/// structured or rank-deficient directions several sparse vectors can fit equally well;
/// the decoder returns one of them and cannot tell.
///
/// ```
/// use faer::Mat;
/// use jacsense::{RowStatus, SparseMethod};
/// use jacsense::decode::{Decoder, SparseRecovery};
/// use rand::{SeedableRng, rngs::StdRng};
/// use rand_distr::{Distribution, StandardNormal};
/// // 12 Gaussian measurements of 40 unknowns, 2 of them nonzero.
/// let mut rng = StdRng::seed_from_u64(1);
/// let a = Mat::from_fn(12, 40, |_, _| StandardNormal.sample(&mut rng));
/// let mut z_true = Mat::<f64>::zeros(40, 1);
/// z_true[(7, 0)] = 1.5;
/// z_true[(31, 0)] = -0.5;
/// let y = &a * &z_true;
/// for method in [SparseMethod::Omp, SparseMethod::BasisPursuitDenoising] {
///     let decoder = SparseRecovery { method, ..SparseRecovery::default() };
///     let mut z = Mat::zeros(40, 1);
///     let s = decoder.solve(a.as_ref(), y.as_ref(), z.as_mut());
///     assert_eq!(s[0].status, RowStatus::Determined);
///     assert_eq!(s[0].support, Some(vec![7, 31]));
///     assert!((z[(7, 0)] - 1.5).abs() < 1e-12 && (z[(31, 0)] + 0.5).abs() < 1e-12);
///     assert_eq!(z[(0, 0)], 0.0);
/// }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SparseRecovery {
    /// How the support is found.
    pub method: SparseMethod,
    /// Most unknowns a support may have. `None`: `d` when `d ≤ k` (then `A` has full
    /// column rank in general and any support is unique), else `⌊k/2⌋` — the largest
    /// sparsity for which the sparsest solution of a generic (e.g. Gaussian) `k × d`
    /// system is unique (spark `k + 1 > 2s`).
    pub max_support: Option<usize>,
    /// Residual, relative to `‖y‖`, judged as noise: a support is accepted once its
    /// least-squares fit leaves `‖A z − y‖₂ ≤ tolerance · ‖y‖`. For BPDN it is also `η`
    /// (relative). The default, `64 √ε ≈ 9.5e-7`, sits well above the ~1e-8 relative
    /// noise of forward differences; noisier data need a larger value, or rows are
    /// reported undetermined.
    pub tolerance: f64,
    /// The least-squares refit on the support (its rank tolerance).
    pub refit: LeastSquares,
}

impl Default for SparseRecovery {
    fn default() -> Self {
        SparseRecovery {
            method: SparseMethod::Omp,
            max_support: None,
            tolerance: 64.0 * f64::EPSILON.sqrt(),
            refit: LeastSquares::default(),
        }
    }
}

/// What both methods share for one measurement matrix: `A` with unit-norm columns.
pub(super) struct Normalized {
    /// `A` with each column divided by its norm (zero columns stay zero).
    a: Mat<f64>,
    /// Columns that are zero: never observed, never selected.
    zero: Vec<bool>,
}

impl Normalized {
    fn new(a: MatRef<'_, f64>) -> Self {
        let mut an = a.to_owned();
        let mut zero = vec![false; a.ncols()];
        for (j, z) in zero.iter_mut().enumerate() {
            let norm = a.col(j).norm_l2();
            if norm > 0.0 && norm.is_finite() {
                an.col_mut(j).iter_mut().for_each(|x| *x /= norm);
            } else {
                *z = true;
                an.col_mut(j).fill(0.0);
            }
        }
        Normalized { a: an, zero }
    }
}

/// A support search for one right-hand side.
pub(super) struct Found {
    /// The columns chosen (any order).
    support: Vec<usize>,
    /// Whether they fit `y` to within the tolerance.
    fits: bool,
    /// Where the cone solver stopped short of its optimum (basis pursuit denoising).
    limit: Option<SolverLimit>,
}

impl SparseRecovery {
    fn max_support(&self, k: usize, d: usize) -> usize {
        self.max_support.unwrap_or(if d <= k { d } else { k / 2 }).min(d)
    }

    /// Least squares on the columns `support` of `a` (one right-hand side).
    fn fit(&self, a: MatRef<'_, f64>, y: MatRef<'_, f64>, support: &[usize]) -> (RowSolve, Mat<f64>) {
        let sub = Mat::<f64>::from_fn(a.nrows(), support.len(), |i, p| a[(i, support[p])]);
        let mut zs = Mat::<f64>::zeros(support.len(), 1);
        let fit = self.refit.solve(sub.as_ref(), y, zs.as_mut()).into_iter().next().expect("one right-hand side");
        (fit, zs)
    }

    /// Prunes and refits `found` by least squares on the original columns, and fills one
    /// solution.
    fn finish(
        &self,
        a: MatRef<'_, f64>,
        zero: &[bool],
        y: MatRef<'_, f64>,
        found: Found,
        mut z: MatMut<'_, f64>,
    ) -> RowSolve {
        let d = a.ncols();
        let mut support = found.support;
        support.sort_unstable();
        let (mut fit, mut zs) = self.fit(a, y, &support);
        if found.fits {
            // Backward pruning: a greedy or magnitude-ordered search can pick up a column
            // whose refitted value is at noise level (e.g. OMP's first choice, made
            // before the true columns were known). Removing column p of a full-rank fit
            // raises ‖r‖² by exactly z_p² / [(AᵀA)⁻¹]_pp; drop the cheapest while the
            // residual stays within the tolerance, so the support is the smallest one
            // the data require.
            let target = self.tolerance * y.norm_l2();
            while !support.is_empty() && !fit.variance_factors.is_empty() {
                let (p, rise) = (0..support.len())
                    .map(|p| (p, zs[(p, 0)].powi(2) / fit.variance_factors[p]))
                    .min_by(|x, y| x.1.total_cmp(&y.1))
                    .expect("a nonempty support");
                let still_fits = fit.residual.powi(2) + rise <= target.powi(2);
                if !still_fits {
                    break;
                }
                support.remove(p);
                (fit, zs) = self.fit(a, y, &support);
            }
        }
        if !found.fits {
            z.fill(f64::NAN);
            return RowSolve {
                status: RowStatus::Underdetermined { determined: 0, unknowns: d },
                residual: fit.residual,
                condition: fit.condition,
                dof: 0,
                support: Some(support),
                ..RowSolve::default()
            };
        }
        z.fill(0.0);
        for (p, &j) in support.iter().enumerate() {
            z[(j, 0)] = zs[(p, 0)];
        }
        for (j, &unseen) in zero.iter().enumerate() {
            if unseen {
                z[(j, 0)] = f64::NAN;
            }
        }
        let undetermined = (0..d).filter(|&j| z[(j, 0)].is_nan()).count();
        let status = if undetermined == 0 {
            found.limit.map_or(RowStatus::Determined, RowStatus::SolverLimit)
        } else {
            RowStatus::Underdetermined { determined: d - undetermined, unknowns: d }
        };
        let mut variance_factors = Vec::new();
        if !fit.variance_factors.is_empty() {
            variance_factors = vec![0.0; d];
            for (p, &j) in support.iter().enumerate() {
                variance_factors[j] = fit.variance_factors[p];
            }
        }
        RowSolve {
            status,
            residual: fit.residual,
            condition: fit.condition,
            dof: fit.dof,
            variance_factors,
            support: Some(support),
            ..RowSolve::default()
        }
    }
}

impl Decoder for SparseRecovery {
    fn name(&self) -> &'static str {
        match self.method {
            SparseMethod::Omp => "sparse-omp",
            SparseMethod::BasisPursuitDenoising => "sparse-bpdn",
        }
    }

    /// An offset column would compete for the support; sparse rows are decoded
    /// without one.
    fn accepts_offset(&self) -> bool {
        false
    }

    fn solve(&self, a: MatRef<'_, f64>, y: MatRef<'_, f64>, mut z: MatMut<'_, f64>) -> Vec<RowSolve> {
        let (k, d) = a.shape();
        let nrhs = y.ncols();
        let smax = self.max_support(k, d);
        let norm = Normalized::new(a);
        let found: Vec<Found> = match self.method {
            SparseMethod::Omp => {
                // Initial correlations of every right-hand side in one product.
                let c0 = norm.a.transpose() * y;
                (0..nrhs)
                    .into_par_iter()
                    .map(|g| omp::pursue(&norm, y.col(g), c0.col(g), smax, self.tolerance))
                    .collect()
            }
            SparseMethod::BasisPursuitDenoising => bpdn::pursue_all(&norm, y, smax, self.tolerance),
        };
        let mut out = Vec::with_capacity(nrhs);
        for (g, f) in found.into_iter().enumerate() {
            out.push(self.finish(a, &norm.zero, y.get(.., g..g + 1), f, z.as_mut().get_mut(.., g..g + 1)));
        }
        out
    }
}
