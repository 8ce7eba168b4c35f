//! Rank trials on a parametrization, before any call: how many generic Gaussian
//! directions make the joint system `M z = y` of a coupled structure determined.
//!
//! The trial builds the equations with no data ([`system`]) and asks for their
//! numerical rank, by a column-pivoted QR of the column-scaled system when it is small
//! enough to hold densely, otherwise by a substitution in which every row's block has
//! full column rank (a sufficient test: the system is then block triangular with
//! full-rank diagonal blocks). Neither calls decoder code; they share with the
//! decoders only the equations.

use faer::{Mat, MatMut, MatRef};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;

use crate::structure::{JointSystem, NormalEquations, Parametrization, substitute, system};

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
/// pivoted QR when small, else the normal equations' estimate
/// ([`NormalEquations::condition`]).
fn condition(sys: &JointSystem, d: usize) -> f64 {
    if dense(sys) {
        let (rank, kappa) = dense_rank(sys);
        return if rank == d { kappa } else { f64::INFINITY };
    }
    let (scaled, _) = sys.scaled();
    NormalEquations::factor(&scaled).map_or(f64::INFINITY, |normal| normal.condition(&scaled))
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
    for (r, (_, terms)) in sys.scaled().0.rows.iter().enumerate() {
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
