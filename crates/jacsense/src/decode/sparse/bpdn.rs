//! Basis pursuit denoising (Chen, Donoho & Saunders 1998),
//! `min ‖u‖₁ s.t. ‖Â u − ŷ‖₂ ≤ η`, as a second-order cone program for Clarabel
//! (Goulart & Chen 2024, primal–dual interior point):
//!
//! ```text
//! minimise   Σ t_j          over (u, t) ∈ R^d × R^d
//! subject to t_j − u_j ≥ 0,  t_j + u_j ≥ 0             (nonnegative cone, 2d)
//!            (η, ŷ − Â u) ∈ second-order cone            (k + 1)
//! ```
//!
//! An interior-point solution is never exactly sparse: entries off the support are small
//! but not zero. The support is read off by taking entries in decreasing magnitude until
//! their least-squares fit leaves a residual at the noise level (a column at a time, on
//! the same growing orthonormal basis as OMP), so no magnitude threshold is guessed.
//! Rows sharing `Â` share the problem's structure: one solver per thread, whose data
//! `b = (0, η, ŷ)` is overwritten for each right-hand side.

use clarabel::algebra::CscMatrix;
use clarabel::solver::{DefaultSettingsBuilder, DefaultSolver, IPSolver, SupportedConeT};
use faer::{ColRef, MatRef};
use rayon::prelude::*;

use super::omp::Basis;
use super::{Found, Normalized};
use crate::decode::SolverLimit;

/// The cone program for `Â` with right-hand side `b`.
fn solver(a: MatRef<'_, f64>, b: &[f64]) -> DefaultSolver<f64> {
    let (k, d) = a.shape();
    let m = 2 * d + 1 + k;
    let mut colptr = Vec::with_capacity(2 * d + 1);
    let mut rowval = Vec::with_capacity(d * (k + 4));
    let mut nzval = Vec::with_capacity(d * (k + 4));
    colptr.push(0);
    for j in 0..d {
        rowval.extend([j, d + j]);
        nzval.extend([1.0, -1.0]);
        for i in 0..k {
            rowval.push(2 * d + 1 + i);
            nzval.push(a[(i, j)]);
        }
        colptr.push(rowval.len());
    }
    for j in 0..d {
        rowval.extend([j, d + j]);
        nzval.extend([-1.0, -1.0]);
        colptr.push(rowval.len());
    }
    let constraints = CscMatrix::new(m, 2 * d, colptr, rowval, nzval);
    let p = CscMatrix::zeros((2 * d, 2 * d));
    let q: Vec<f64> = (0..2 * d).map(|j| if j < d { 0.0 } else { 1.0 }).collect();
    let cones = [SupportedConeT::NonnegativeConeT(2 * d), SupportedConeT::SecondOrderConeT(k + 1)];
    // Presolve and zero dropping off, so that `b` can be replaced for the next row.
    let settings = DefaultSettingsBuilder::default()
        .verbose(false)
        .presolve_enable(false)
        .input_sparse_dropzeros(false)
        .build()
        .expect("valid Clarabel settings");
    DefaultSolver::new(&p, &q, &constraints, b, &cones, settings).expect("a well-formed cone program")
}

/// `b = (0, η, ŷ)` for a right-hand side, in units of `‖y‖`.
fn rhs(y: ColRef<'_, f64>, d: usize, tolerance: f64) -> Vec<f64> {
    let scale = y.norm_l2();
    let mut b = vec![0.0; 2 * d];
    b.push(tolerance);
    b.extend(y.iter().map(|v| v / scale));
    b
}

/// Supports of every right-hand side of `y`.
pub(super) fn pursue_all(norm: &Normalized, y: MatRef<'_, f64>, max_support: usize, tolerance: f64) -> Vec<Found> {
    (0..y.ncols())
        .into_par_iter()
        .map_init(
            || None,
            |solver_slot: &mut Option<DefaultSolver<f64>>, g| {
                pursue(norm, y.col(g), max_support, tolerance, solver_slot)
            },
        )
        .collect()
}

fn pursue(
    norm: &Normalized,
    y: ColRef<'_, f64>,
    max_support: usize,
    tolerance: f64,
    solver_slot: &mut Option<DefaultSolver<f64>>,
) -> Found {
    let d = norm.a.ncols();
    let ynorm = y.norm_l2();
    if !ynorm.is_finite() {
        return Found { support: Vec::new(), fits: false, limit: None };
    }
    // Within the tolerance of zero: the empty support fits, and the cone program would
    // be degenerate (`η ≥ ‖ŷ‖` admits u = 0).
    if ynorm == 0.0 || tolerance >= 1.0 {
        return Found { support: Vec::new(), fits: true, limit: None };
    }
    let b = rhs(y, d, tolerance);
    let solver = match solver_slot {
        Some(s) => {
            s.update_b(&b).expect("data updates are allowed without presolve");
            s
        }
        None => solver_slot.insert(solver(norm.a.as_ref(), &b)),
    };
    solver.solve();
    // A support is read only from a solved or almost solved program; an almost solved
    // one is reported (its support is still checked by the fit below).
    let limit = SolverLimit::of_clarabel(solver.solution.status);
    if !matches!(limit, None | Some(SolverLimit::ReducedAccuracy)) {
        return Found { support: Vec::new(), fits: false, limit };
    }
    let u = &solver.solution.x[..d];
    let mut order: Vec<usize> = (0..d).filter(|&j| !norm.zero[j] && u[j] != 0.0).collect();
    order.sort_by(|&i, &j| u[j].abs().total_cmp(&u[i].abs()).then(i.cmp(&j)));

    let target = tolerance * ynorm;
    let mut basis = Basis::new(y, max_support);
    let mut support = Vec::new();
    for &j in &order {
        if basis.residual_norm() <= target || support.len() == max_support {
            break;
        }
        if basis.push(norm.a.col(j)) {
            support.push(j);
        }
    }
    let fits = basis.residual_norm() <= target;
    Found { support, fits, limit }
}
