//! Rank trials on a parametrization, before any call: how many generic Gaussian
//! directions make the joint system `M z = y` of a coupled structure determined.
//!
//! The trial builds the equations with no data ([`system`]) and asks for their
//! numerical rank, by a column-pivoted QR of the column-scaled system when it is small
//! enough to hold densely, otherwise by a substitution in which every row's block has
//! full column rank (a sufficient test: the system is then block triangular with
//! full-rank diagonal blocks). Neither calls decoder code; they share with the
//! decoders only the equations.

use faer::linalg::solvers::SolveCore;
use faer::sparse::{SparseColMat, Triplet};
use faer::{Mat, MatMut, MatRef};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;

use crate::structure::{JointSystem, Parametrization, substitute, system};

/// Largest `equations × unknowns` whose rank is tested densely.
const DENSE_LIMIT: usize = 1 << 21;

/// Multiple of `max(k, d) · ε · |R₁₁|` below which a diagonal entry of `R` counts as
/// zero (the least-squares decoder's default rank tolerance).
const RANK_TOLERANCE: f64 = 8.0;

/// The fewest generic Gaussian directions for which the joint system of `param` has
/// full column rank: a dense rank test when the system is small enough, otherwise a
/// substitution that solves every unknown; at most
/// [`Parametrization::sufficient_measurements`].
pub(crate) fn measurements_needed(param: &Parametrization, seed: u64) -> usize {
    first_determined(param, seed, |sys| if dense(sys) { dense_rank(sys).0 } else { substitution_rank(sys) })
}

/// The fewest directions from `first` on, below `limit`, whose joint system is
/// determined with condition number at most `max_condition`; `None` when every count
/// below `limit` is worse.
pub(crate) fn well_conditioned(
    param: &Parametrization,
    seed: u64,
    first: usize,
    limit: usize,
    max_condition: f64,
) -> Option<usize> {
    let d = param.intrinsic_dimension();
    (first..limit).find(|&k| condition(&gaussian_system(param, seed, k), d) <= max_condition)
}

/// The joint system of `k` Gaussian directions drawn from `seed`, in the order of the
/// random design's ([`random_directions`](crate::design)): coefficient of coordinate
/// `c` in direction `t` is the `(c k + t)`-th draw.
fn gaussian_system(param: &Parametrization, seed: u64, k: usize) -> JointSystem {
    let n = param.pattern().ncols();
    let mut rng = StdRng::seed_from_u64(seed);
    let dirs: Vec<f64> = (0..n * k).map(|_| rng.sample::<f64, _>(StandardNormal)).collect();
    system(param, |c, visit| (0..k).for_each(|t| visit(t, dirs[c * k + t])), |_, _| 0.0, None)
}

/// Condition number of the column-scaled system (∞ when rank deficient): from a
/// pivoted QR when small, else `√(λ_max / λ_min)` of the normal equations, by power
/// iteration and by inverse iteration on their sparse Cholesky factor.
fn condition(sys: &JointSystem, d: usize) -> f64 {
    if dense(sys) {
        let (rank, kappa) = dense_rank(sys);
        return if rank == d { kappa } else { f64::INFINITY };
    }
    let scaled = scaled(sys);
    let mut triplets = Vec::new();
    for (_, terms) in &scaled.rows {
        for &(qa, va) in terms {
            for &(qb, vb) in terms.iter().filter(|x| x.0 <= qa) {
                triplets.push(Triplet::new(qa, qb, va * vb));
            }
        }
    }
    let Ok(normal) = SparseColMat::<usize, f64>::try_new_from_triplets(d, d, &triplets) else {
        return f64::INFINITY;
    };
    let Ok(llt) = normal.sp_cholesky(faer::Side::Lower) else { return f64::INFINITY };
    // Mᵀ M v, from the lower triangle.
    let apply = |v: &Mat<f64>| {
        let mut out = Mat::<f64>::zeros(d, 1);
        for (_, terms) in &scaled.rows {
            let dot: f64 = terms.iter().map(|&(q, a)| a * v[(q, 0)]).sum();
            terms.iter().for_each(|&(q, a)| out[(q, 0)] += a * dot);
        }
        out
    };
    let iterate = |step: &dyn Fn(&Mat<f64>) -> Mat<f64>| {
        let mut v = Mat::<f64>::from_fn(d, 1, |q, _| 1.0 + (q % 7) as f64 / 7.0);
        let mut lambda = 0.0;
        for _ in 0..POWER_ITERATIONS {
            let norm = v.norm_l2();
            if norm == 0.0 || !norm.is_finite() {
                return f64::NAN;
            }
            v /= faer::Scale(norm);
            let w = step(&v);
            lambda = w.norm_l2();
            v = w;
        }
        lambda
    };
    let largest = iterate(&apply);
    let inverse_of_smallest = iterate(&|v: &Mat<f64>| {
        let mut w = v.clone();
        llt.solve_in_place_with_conj(faer::Conj::No, w.as_mut());
        w
    });
    let kappa = (largest * inverse_of_smallest).sqrt();
    if kappa.is_finite() { kappa } else { f64::INFINITY }
}

/// Iterations of the power and inverse iterations: enough for the order of magnitude
/// the planner compares against.
const POWER_ITERATIONS: usize = 30;

/// The system with every unknown's column scaled to largest entry 1.
fn scaled(sys: &JointSystem) -> JointSystem {
    let mut scale = vec![0.0f64; sys.unknowns];
    for (_, terms) in &sys.rows {
        terms.iter().for_each(|&(q, v)| scale[q] = scale[q].max(v.abs()));
    }
    JointSystem {
        rows: sys
            .rows
            .iter()
            .map(|(i, terms)| {
                (*i, terms.iter().map(|&(q, v)| (q, if scale[q] > 0.0 { v / scale[q] } else { v })).collect())
            })
            .collect(),
        rhs: sys.rhs.clone(),
        meas: sys.meas.clone(),
        unknowns: sys.unknowns,
        d: sys.d,
    }
}

/// The fewest generic Gaussian directions for which substitution solves every unknown
/// of `param`; at most [`Parametrization::sufficient_measurements`].
pub(crate) fn substitution_needed(param: &Parametrization, seed: u64) -> usize {
    first_determined(param, seed, substitution_rank)
}

fn dense(sys: &JointSystem) -> bool {
    sys.rows.len().saturating_mul(sys.unknowns) <= DENSE_LIMIT
}

/// The first number of directions from the lower bound on for which `rank` of the
/// system of random Gaussian directions is the intrinsic dimension.
fn first_determined(param: &Parametrization, seed: u64, mut rank: impl FnMut(&JointSystem) -> usize) -> usize {
    let d = param.intrinsic_dimension();
    let enough = param.sufficient_measurements();
    let start = param.lower_bound().max(usize::from(d > 0));
    for k in start..enough {
        let sys = gaussian_system(param, seed, k);
        if rank(&sys) == d {
            return k;
        }
    }
    enough
}

/// Numerical rank of the column-scaled system and, when it is full, the condition
/// estimate `|R₁₁| / |R_dd|` of its pivoted QR.
fn dense_rank(sys: &JointSystem) -> (usize, f64) {
    let (k, d) = (sys.rows.len(), sys.unknowns);
    if d == 0 {
        return (0, 1.0);
    }
    let mut a = Mat::<f64>::zeros(k, d);
    for (r, (_, terms)) in scaled(sys).rows.iter().enumerate() {
        for &(q, v) in terms {
            a[(r, q)] += v;
        }
    }
    let diag = pivoted_r_diagonal(a.as_ref());
    let r00 = diag.first().map_or(0.0, |v| v.abs());
    let tol = RANK_TOLERANCE * (k.max(d) as f64) * f64::EPSILON * r00;
    let rank = diag.iter().take_while(|v| v.abs() > tol && **v != 0.0).count();
    let condition = if rank == d { r00 / diag[d - 1].abs() } else { f64::INFINITY };
    (rank, condition)
}

/// The diagonal of `R` in a column-pivoted QR of `a` (decreasing in magnitude).
fn pivoted_r_diagonal(a: MatRef<'_, f64>) -> Vec<f64> {
    let qr = a.col_piv_qr();
    let r = qr.R();
    (0..a.nrows().min(a.ncols())).map(|j| r[(j, j)]).collect()
}

/// Unknowns a substitution determines when every row's block must have full column
/// rank over its open unknowns (otherwise none of them counts as solved).
fn substitution_rank(sys: &JointSystem) -> usize {
    substitute(sys, |a: MatRef<'_, f64>, _y, mut z: MatMut<'_, f64>| {
        let (k, d) = a.shape();
        let diag = pivoted_r_diagonal(a);
        let r00 = diag.first().map_or(0.0, |v| v.abs());
        let tol = RANK_TOLERANCE * (k.max(d) as f64) * f64::EPSILON * r00;
        let full = d > 0 && k >= d && diag.iter().all(|v| v.abs() > tol && *v != 0.0);
        z.fill(if full { 0.0 } else { f64::NAN });
    })
    .1
}
